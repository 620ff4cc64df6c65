"""The limits and defences of the SMTP server, each through a real client
or a byte-exact one: recipient limits, message_size_limit (SIZE= and while
streaming), timeouts and deadlines, error and junk limits with the error
sleep, anvil's connection and event limits with their exceptions, and the
cap on concurrent sessions.  Refused mail leaves nothing in the queue."""
import select
import smtplib
import time

from helpers import (MESSAGE, export, only_message, queued_ids, session_end,  # noqa: F401
                     shared_dir, wait_until, write_file, written_tmp_files)

RCPT = "postmaster@mx.postern.test"
# Limits that anvil enforces do not apply to mynetworks by default, nor
# (as in Postfix) to clients allowed to use XCLIENT.
NO_EXCEPTIONS = "smtpd_client_event_limit_exceptions =\nsmtpd_authorized_xclient_hosts =\n"


def greeted(srv):
    c = srv.raw()
    return c, c.reply()[-1]


def test_recipient_limit_with_smtplib(postern):
    """smtpd_recipient_limit: recipients beyond it get 452 4.5.3, the
    message goes to the others."""
    srv = postern(main_cf="smtpd_recipient_limit = 3\n")
    rcpts = ["r%d@mx.postern.test" % i for i in range(1, 6)]
    with srv.smtp() as s:
        refused = s.sendmail("alice@example.net", rcpts, MESSAGE)
    assert refused == {r: (452, b"4.5.3 Error: too many recipients") for r in rcpts[3:]}
    qid = only_message(srv)
    assert export(srv)[qid][1] == "from alice@example.net\n" + "".join(
        "to %s\n" % r for r in rcpts[:3])


def test_recipient_overshoot_counts_errors(postern):
    """Only recipients past limit + overshoot count as errors; with
    smtpd_hard_error_limit = 2 the second such error ends the session
    (the 421 comes at once, as Postfix sends it before reading on)."""
    srv = postern(main_cf="smtpd_recipient_limit = 2\nsmtpd_recipient_overshoot_limit = 1\n"
                          "smtpd_hard_error_limit = 2\n")
    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    replies = [c.cmd("RCPT TO:<r%d@mx.postern.test>" % i) for i in range(1, 6)]
    assert replies == ["250 2.1.5 Ok"] * 2 + ["452 4.5.3 Error: too many recipients"] * 3
    assert c.reply() == ["421 4.7.0 mx.postern.test Error: too many errors"]
    assert c.reply() == ["[connection closed]"]


def test_size_parameter_over_the_limit(postern):
    """A client that announces SIZE= above message_size_limit is refused at
    MAIL (smtplib sends SIZE= by itself); nothing reaches the queue."""
    srv = postern(main_cf="message_size_limit = 2000\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.esmtp_features["size"] == "2000"
        try:
            s.sendmail("alice@example.net", [RCPT], MESSAGE + "x" * 3000 + "\r\n")
            outcome = "sent"
        except smtplib.SMTPSenderRefused as e:
            outcome = (e.smtp_code, e.smtp_error)
    assert outcome == (552, b"5.3.4 Message size exceeds fixed limit")
    assert queued_ids(srv) == []


def test_size_limit_while_streaming(postern):
    """Without SIZE=, a body over message_size_limit is read to its end and
    refused with 552 5.3.4; the queue and tmp/ keep nothing of it, and the
    session can send a small message next."""
    srv = postern(main_cf="message_size_limit = 100000\n")
    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    assert c.cmd("DATA").startswith("354 ")
    line = b"x" * 998 + b"\r\n"
    c.send(b"Subject: big\r\n\r\n" + line * 400 + b".\r\n")
    assert c.reply() == ["552 5.3.4 Error: message file too big"]
    assert queued_ids(srv) == [] and written_tmp_files(srv) == []
    assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    assert c.cmd("Subject: small\r\n\r\nbody\r\n.").startswith("250 2.0.0 Ok: queued as ")
    assert len(queued_ids(srv)) == 1
    assert "warning: " in srv.maillog() and ": queue file size limit exceeded" in srv.maillog()


def test_size_limit_bdat(postern):
    """BDAT chunks count too: the chunk that goes over fails."""
    srv = postern(main_cf="message_size_limit = 3000\n")
    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.send(b"BDAT 2000\r\n" + b"a" * 1998 + b"\r\n")
    assert c.reply() == ["250 2.0.0 Ok: 2000 bytes"]
    c.send(b"BDAT 2000 LAST\r\n" + b"b" * 1998 + b"\r\n")
    assert c.reply() == ["552 5.3.4 Chunk exceeds message size limit"]
    assert queued_ids(srv) == [] and written_tmp_files(srv) == []


def test_smtpd_timeout(postern):
    """An idle client gets 421 4.4.2 after smtpd_timeout and is dropped;
    a client that goes quiet inside DATA too, leaving nothing behind."""
    srv = postern(main_cf="smtpd_timeout = 1s\n")
    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    start = time.time()
    assert c.reply() == ["421 4.4.2 mx.postern.test Error: timeout exceeded"]
    assert 0.8 < time.time() - start < 5
    assert c.reply() == ["[connection closed]"]
    assert "timeout after EHLO from localhost[127.0.0.1]" in session_end(srv)

    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    c.send("Subject: unfinished\r\n\r\nbody\r\n")
    assert c.reply() == ["421 4.4.2 mx.postern.test Error: timeout exceeded"]
    assert "timeout after DATA from localhost[127.0.0.1]" in session_end(srv, 2)
    assert queued_ids(srv) == []
    wait_until(lambda: written_tmp_files(srv) == [], 5, "tmp/ to be empty")


def server_spoke(c):
    """True when the server has sent something (a reply, or its hang-up)."""
    return bool(select.select([c.sock], [], [], 0)[0])


def trickle(c, data, pause):
    """Send data one byte at a time, pause seconds apart, unless the server
    speaks first (then sending on could reset the connection)."""
    for i in range(len(data)):
        if server_spoke(c):
            return
        c.sock.sendall(data[i:i + 1])
        time.sleep(pause)


def test_per_request_deadline(postern):
    """smtpd_timeout limits each read by default, so a command trickled a
    byte at a time is answered; with smtpd_per_request_deadline it limits
    the whole command, and the trickler is cut off."""
    srv = postern(main_cf="smtpd_timeout = 1s\n")
    c, _ = greeted(srv)
    trickle(c, b"NOOP\r\n", 0.35)
    assert c.reply() == ["250 2.0.0 Ok"]

    srv = postern(main_cf="smtpd_timeout = 1s\nsmtpd_per_request_deadline = yes\n")
    c, _ = greeted(srv)
    trickle(c, b"NOOP\r\n", 0.35)
    assert c.reply()[0] == "421 4.4.2 mx.postern.test Error: timeout exceeded"


def test_min_data_rate(postern):
    """With deadlines on, message content earns time at smtpd_min_data_rate:
    a client sending 2000 bytes every 0.4 s keeps going at a rate of 1000
    bytes/s and is cut off at 100000 bytes/s."""
    part = b"x" * 1998 + b"\r\n"
    results = {}
    for rate in (1000, 100000):
        srv = postern(main_cf="smtpd_timeout = 1s\nsmtpd_per_request_deadline = yes\n"
                              "smtpd_min_data_rate = %d\n" % rate)
        c, _ = greeted(srv)
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@example.net>")
        c.cmd("RCPT TO:<%s>" % RCPT)
        c.cmd("DATA")
        c.send(b"Subject: slow\r\n\r\n")
        for piece in [part] * 6 + [b".\r\n"]:
            time.sleep(0.4)
            if server_spoke(c):
                break
            c.send(piece)
        results[rate] = c.reply()[-1].split(" queued as ")[0]
    assert results == {1000: "250 2.0.0 Ok:",
                       100000: "421 4.4.2 mx.postern.test Error: timeout exceeded"}


def test_hard_error_limit(postern):
    """smtpd_hard_error_limit: right after the last allowed error the
    server says 421 4.7.0 and ends the connection."""
    srv = postern(main_cf="smtpd_hard_error_limit = 3\n")
    c, _ = greeted(srv)
    assert [c.cmd("BOGUS%d" % i) for i in range(3)] == \
        ["500 5.5.2 Error: command not recognized"] * 3
    assert c.reply() == ["421 4.7.0 mx.postern.test Error: too many errors"]
    assert c.reply() == ["[connection closed]"]
    assert "too many errors after UNKNOWN from localhost[127.0.0.1]" in session_end(srv)


def timed(c, line):
    start = time.time()
    reply = c.cmd(line)
    return reply, time.time() - start


def test_error_sleep_after_soft_limit(postern):
    """From smtpd_soft_error_limit errors on, every reply waits
    smtpd_error_sleep_time; meanwhile another session is answered at once."""
    srv = postern(main_cf="smtpd_soft_error_limit = 2\nsmtpd_hard_error_limit = 10\n"
                          "smtpd_error_sleep_time = 1s\npostern_smtpd_workers = 1\n")
    c, _ = greeted(srv)
    for _ in range(2):
        reply, took = timed(c, "BOGUS")
        assert reply == "500 5.5.2 Error: command not recognized" and took < 0.5
    other, _ = greeted(srv)
    start = time.time()
    c.send("BOGUS\r\n")
    reply, took = timed(other, "NOOP")
    assert reply == "250 2.0.0 Ok" and took < 0.5
    assert c.reply() == ["500 5.5.2 Error: command not recognized"]
    assert time.time() - start >= 0.9
    reply, took = timed(c, "NOOP")
    assert reply == "250 2.0.0 Ok" and took >= 0.9


def test_junk_command_limit(postern):
    """smtpd_junk_command_limit with a real client's NOOPs: past the limit
    each one is an error, until the hard limit ends the session."""
    srv = postern(main_cf="smtpd_junk_command_limit = 2\nsmtpd_hard_error_limit = 3\n")
    codes = []
    with srv.smtp() as s:
        try:
            for _ in range(10):
                codes.append(s.noop()[0])
        except smtplib.SMTPServerDisconnected:
            codes.append("closed")
    assert codes == [250] * 6 + [421, "closed"]


def test_connection_count_limit(postern):
    """smtpd_client_connection_count_limit: the connection over the limit
    gets 421 4.7.0 and is closed; once one goes, a new one is served."""
    srv = postern(main_cf=NO_EXCEPTIONS + "smtpd_client_connection_count_limit = 2\n")
    first, g1 = greeted(srv)
    second, g2 = greeted(srv)
    third, g3 = greeted(srv)
    assert [g1, g2, g3] == ["220 mx.postern.test ESMTP"] * 2 + \
        ["421 4.7.0 mx.postern.test Error: too many connections from 127.0.0.1"]
    assert third.reply() == ["[connection closed]"]
    assert "warning: Connection concurrency limit exceeded: 3 from localhost[127.0.0.1] " \
        "for service " in srv.maillog()
    first.cmd("QUIT")
    session_end(srv)

    def served():
        c, g = greeted(srv)
        c.close()
        return g == "220 mx.postern.test ESMTP"
    assert wait_until(served, 5, "a connection to be served again")
    second.close()


def test_connection_rate_limit(postern):
    """smtpd_client_connection_rate_limit counts connections per time unit."""
    srv = postern(main_cf=NO_EXCEPTIONS + "smtpd_client_connection_rate_limit = 2\n")
    greetings = []
    for _ in range(3):
        c, g = greeted(srv)
        greetings.append(g)
        c.close()
    assert greetings == ["220 mx.postern.test ESMTP"] * 2 + \
        ["421 4.7.0 mx.postern.test Error: too many connections from 127.0.0.1"]


def test_message_and_recipient_rate_limits(postern):
    """smtpd_client_message_rate_limit and _recipient_rate_limit, with
    Postfix 3.7's replies: 450 4.7.1, and the session goes on."""
    srv = postern(main_cf=NO_EXCEPTIONS + "smtpd_client_message_rate_limit = 2\n"
                                          "smtpd_client_recipient_rate_limit = 3\n")
    c, _ = greeted(srv)
    c.cmd("EHLO client.example")
    replies = [c.cmd("MAIL FROM:<a@example.net>")]
    replies += [c.cmd("RCPT TO:<r%d@mx.postern.test>" % i) for i in range(4)]
    replies += [c.cmd("RSET"), c.cmd("MAIL FROM:<a@example.net>"), c.cmd("RSET"),
                c.cmd("MAIL FROM:<a@example.net>"), c.cmd("NOOP")]
    assert replies == ["250 2.1.0 Ok"] + ["250 2.1.5 Ok"] * 3 + [
        "450 4.7.1 Error: too many recipients from 127.0.0.1",
        "250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.0.0 Ok",
        "450 4.7.1 Error: too much mail from 127.0.0.1",
        "250 2.0.0 Ok"]
    log = srv.maillog()
    assert "warning: Recipient address rate limit exceeded: 4 from localhost[127.0.0.1] " \
        "for service " in log
    assert "warning: Message delivery request rate limit exceeded: 3 from " \
        "localhost[127.0.0.1] for service " in log


def test_auth_rate_limit(postern, shared_dir):
    """smtpd_client_auth_rate_limit counts AUTH commands, good or bad."""
    users = write_file(shared_dir, "passwd", "alice:{PLAIN}alicepw\n")
    srv = postern(main_cf=NO_EXCEPTIONS + "smtpd_client_auth_rate_limit = 2\n"
                  "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\n"
                  "smtpd_sasl_path = %s\n" % users)
    codes = []
    for password in ("wrong", "wrong", "alicepw"):
        with srv.smtp() as s:
            s.ehlo("client.example")
            s.user, s.password = "alice", password
            try:
                codes.append(s.auth("PLAIN", s.auth_plain)[0])
            except smtplib.SMTPAuthenticationError as e:
                codes.append((e.smtp_code, e.smtp_error))
    assert codes == [
        (535, b"5.7.8 Error: authentication failed: (reason unavailable)")] * 2 + [
        (450, b"4.7.1 Error: too many AUTH commands from 127.0.0.1")]


def test_event_limit_exceptions(postern):
    """Clients in smtpd_client_event_limit_exceptions are not counted."""
    srv = postern(main_cf="smtpd_authorized_xclient_hosts =\n"
                          "smtpd_client_event_limit_exceptions = 127.0.0.1\n"
                          "smtpd_client_connection_count_limit = 1\n"
                          "smtpd_client_connection_rate_limit = 1\n"
                          "smtpd_client_message_rate_limit = 1\n")
    sessions = [greeted(srv) for _ in range(3)]
    assert [g for _, g in sessions] == ["220 mx.postern.test ESMTP"] * 3
    c = sessions[0][0]
    for _ in range(3):
        assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
        c.cmd("RSET")


def test_xclient_hosts_are_not_rate_limited(postern):
    """As in Postfix 3.7, a client allowed to use XCLIENT (a proxy speaking
    for many clients) is exempt from anvil's limits."""
    srv = postern(main_cf="smtpd_client_event_limit_exceptions =\n"
                          "smtpd_client_connection_rate_limit = 1\n"
                          "smtpd_client_message_rate_limit = 1\n")
    greetings = []
    for _ in range(2):
        c, g = greeted(srv)
        greetings.append(g)
        if g.startswith("220"):
            greetings.append(c.cmd("MAIL FROM:<a@example.net>"))
            c.cmd("RSET")
            greetings.append(c.cmd("MAIL FROM:<a@example.net>"))
        c.close()
    assert greetings == ["220 mx.postern.test ESMTP", "250 2.1.0 Ok", "250 2.1.0 Ok"] * 2


def test_process_limit_caps_sessions(postern):
    """default_process_limit caps the concurrent sessions of a worker: the
    next client gets 421 4.3.2 and is closed; a freed place is reused."""
    srv = postern(main_cf="default_process_limit = 2\npostern_smtpd_workers = 1\n")
    sessions = [greeted(srv) for _ in range(3)]
    greetings = [g for _, g in sessions]
    assert greetings[:2] == ["220 mx.postern.test ESMTP"] * 2
    assert greetings[2].startswith("421 4.3.2 ") and \
        greetings[2].endswith("Service temporarily unavailable"), greetings[2]
    assert sessions[2][0].reply() == ["[connection closed]"]
    sessions[0][0].cmd("QUIT")
    session_end(srv)

    def served():
        c, g = greeted(srv)
        c.close()
        return g == "220 mx.postern.test ESMTP"
    assert wait_until(served, 5, "a free session place")

