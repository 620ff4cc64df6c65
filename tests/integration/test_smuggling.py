"""SMTP smuggling: end-of-data variants with bare LF and bare CR under each
smtpd_forbid_bare_newline mode and its exclusions.  Besides the replies,
the queue must show that no second message came out of a body and what
exactly was stored (Postfix 3.7.11 stores the same lines; postern writes
them with CR LF).  cleanup_replace_stray_cr_lf turns stray CRs into
spaces."""
import pytest

from helpers import after_received, content, queued_ids

RCPT = "postmaster@mx.postern.test"
HIDDEN = (b"MAIL FROM:<b@example.net>\r\nRCPT TO:<%s>\r\nDATA\r\nhidden\r\n" % RCPT.encode())

# name -> (DATA content up to and including the final CR LF . CR LF,
#          body as stored under normalize)
VARIANTS = {
    "LF.LF": (b"Subject: s\r\n\r\nbody\n.\n" + HIDDEN + b".\r\n",
              b"body\r\n" + HIDDEN),
    "CRLF.LF": (b"Subject: s\r\n\r\nbody\r\n.\nNOOP\r\nx\r\n.\r\n",
                b"body\r\nNOOP\r\nx\r\n"),
    "LF.CRLF": (b"Subject: s\r\n\r\nbody\n.\r\nNOOP\r\nx\r\n.\r\n",
                b"body\r\nNOOP\r\nx\r\n"),
    "CR.CR": (b"Subject: s\r\n\r\nbody\r.\rNOOP\r\nmid\rline\r\n.\r\n",
              b"body . NOOP\r\nmid line\r\n"),
    "CRLF.CRCRLF": (b"Subject: s\r\n\r\nbody\r\n.\r\r\nNOOP\r\n.\r\n",
                    b"body\r\n \r\nNOOP\r\n"),
    "dots after LF": (b"Subject: s\r\n\r\nline\nnext\n..dots\n.\r\n.\r\n",
                      b"line\r\nnext\r\n.dots\r\n"),
}


def session(srv, data, xclient=None):
    """One transaction with data sent as it is, then NOOP; the replies to
    the end of data and to everything after it, up to the NOOP's."""
    c = srv.raw()
    c.reply()
    if xclient:
        assert c.cmd("XCLIENT " + xclient).startswith("220 ")
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<%s>" % RCPT) == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354 ")
    c.send(data + b"NOOP\r\n")
    replies = []
    while not replies or replies[-1] not in ("250 2.0.0 Ok", "[connection closed]") \
            and not replies[-1].startswith("221 "):
        replies.append(c.reply()[-1])
    c.close()
    return replies


def body(srv, qid):
    """The stored message body: after the header/body separator, or after
    the Received header when the message has no header of its own."""
    data = after_received(content(srv, qid))
    return data.split(b"\r\n\r\n", 1)[1] if data.startswith(b"Subject:") else data


@pytest.mark.parametrize("mode", ["normalize", "yes", None])
def test_normalize_only_crlf_dot_crlf_ends_data(postern, mode):
    """normalize (the default; yes is the same): every variant is one
    message, the hidden commands are text in it, nothing else is queued."""
    setting = "smtpd_forbid_bare_newline = %s\n" % mode if mode else ""
    srv = postern(main_cf=setting + "smtpd_forbid_bare_newline_exclusions =\n")
    got, expected = {}, {}
    for name, (data, stored) in VARIANTS.items():
        before = set(queued_ids(srv))
        replies = session(srv, data)
        new = sorted(set(queued_ids(srv)) - before)
        got[name] = ([r.split(" queued as ")[0] for r in replies], len(new),
                     body(srv, new[0]) if new else None)
        expected[name] = (["250 2.0.0 Ok:", "250 2.0.0 Ok"], 1, stored)
    assert got == expected


def test_no_lets_bare_lf_dot_end_data(postern):
    """smtpd_forbid_bare_newline = no, as in Postfix 3.7: <LF>.<LF> ends the
    message and the text after it runs as commands (a second message);
    a bare CR still ends nothing."""
    srv = postern(main_cf="smtpd_forbid_bare_newline = no\n")
    replies = session(srv, VARIANTS["LF.LF"][0])
    assert [r.split(" queued as ")[0] for r in replies] == [
        "250 2.0.0 Ok:", "250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>",
        "250 2.0.0 Ok:", "250 2.0.0 Ok"]
    first, second = replies[0].split()[-1], replies[4].split()[-1]
    assert sorted(queued_ids(srv)) == sorted([first, second])
    assert body(srv, first) == b"body\r\n"
    assert body(srv, second) == b"hidden\r\n"

    data, stored = VARIANTS["CR.CR"]
    replies = session(srv, data)
    assert replies[1:] == ["250 2.0.0 Ok"]
    assert body(srv, replies[0].split()[-1]) == stored


def test_reject_refuses_bare_lf_content(postern):
    """reject: a body with a bare LF is read to its real end and refused;
    nothing is queued and the session goes on.  Bare CRs are no bare LF."""
    srv = postern(main_cf="smtpd_forbid_bare_newline = reject\n"
                          "smtpd_forbid_bare_newline_exclusions =\n")
    for name in ("LF.LF", "CRLF.LF", "LF.CRLF", "dots after LF"):
        replies = session(srv, VARIANTS[name][0])
        assert replies == ["550 5.5.2 mx.postern.test Error: bare <LF> received",
                           "250 2.0.0 Ok"], name
    assert queued_ids(srv) == []
    for name in ("CR.CR", "CRLF.CRCRLF"):
        data, stored = VARIANTS[name]
        replies = session(srv, data)
        assert replies[1:] == ["250 2.0.0 Ok"], name
        assert body(srv, replies[0].split()[-1]) == stored, name
    assert srv.maillog().count(": reject: END-OF-MESSAGE from localhost[127.0.0.1]: bare <LF> "
                               "received; from=<a@example.net> to=<%s> proto=ESMTP "
                               "helo=<client.example>" % RCPT) == 4


def test_reject_refuses_bare_lf_command(postern):
    """reject: a command line ending in a bare LF ends the session."""
    srv = postern(main_cf="smtpd_forbid_bare_newline = reject\n"
                          "smtpd_forbid_bare_newline_exclusions =\n")
    c = srv.raw()
    c.reply()
    c.send("EHLO client.example\n")
    assert c.reply() == ["550 5.5.2 mx.postern.test Error: bare <LF> received"]
    assert c.reply() == ["[connection closed]"]


def test_exclusions(postern):
    """Clients in smtpd_forbid_bare_newline_exclusions ($mynetworks by
    default, so 127.0.0.1 here) are treated as with "no"; a client outside
    (via XCLIENT) is not."""
    srv = postern(main_cf="smtpd_forbid_bare_newline = reject\n")
    replies = session(srv, VARIANTS["LF.LF"][0])
    assert len([r for r in replies if "queued as" in r]) == 2
    assert len(queued_ids(srv)) == 2
    replies = session(srv, VARIANTS["LF.LF"][0], xclient="ADDR=203.0.113.9 NAME=mail.example.net")
    assert replies == ["550 5.5.2 mx.postern.test Error: bare <LF> received", "250 2.0.0 Ok"]
    assert len(queued_ids(srv)) == 2


def test_stray_cr_kept_when_not_replaced(postern):
    """cleanup_replace_stray_cr_lf = no stores a stray CR as it came."""
    srv = postern(main_cf="cleanup_replace_stray_cr_lf = no\n"
                          "smtpd_forbid_bare_newline_exclusions =\n")
    replies = session(srv, VARIANTS["CR.CR"][0])
    assert body(srv, replies[0].split()[-1]) == b"body\r.\rNOOP\r\nmid\rline\r\n"


def test_bdat_content_is_not_dot_processed(postern):
    """BDAT counts bytes: an end-of-data line and commands inside a chunk
    are content, stored once, in one message."""
    srv = postern(main_cf="smtpd_forbid_bare_newline_exclusions =\n")
    chunk = b"Subject: s\r\n\r\nbody\r\n.\r\n" + HIDDEN + b".\r\n"
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n"
           % (RCPT.encode(), len(chunk)) + chunk + b"NOOP\r\n")
    assert c.reply() == ["250 2.1.0 Ok"]
    assert c.reply() == ["250 2.1.5 Ok"]
    reply = c.reply()[-1]
    assert reply.startswith("250 2.0.0 Ok: %d bytes queued as " % len(chunk)), reply
    assert c.reply() == ["250 2.0.0 Ok"]
    qid = reply.split()[-1]
    assert queued_ids(srv) == [qid]
    assert body(srv, qid) == b"body\r\n.\r\n" + HIDDEN + b".\r\n"
