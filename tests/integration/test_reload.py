"""`postern reload`: a broken main.cf or master.cf is refused loudly and the
running configuration keeps serving; a good change reaches new sessions;
master.cf listeners come and go; sessions open across a reload finish
their transaction."""
import os
import signal
import socket

import pytest

from conftest import wait_for

MSG = "Subject: reload\r\nMessage-ID: <%s@example.net>\r\n\r\nbody\r\n"


def write_main(srv, extra):
    """Append lines to the main.cf the fixture wrote (later lines win)."""
    with open(os.path.join(srv.conf, "main.cf"), "a") as f:
        f.write("\n" + extra.replace("CONFDIR", srv.conf) + "\n")


def write_master(srv, text):
    for key, port in list(srv.ports.items()) + [("PORT", srv.port)]:
        text = text.replace(key, str(port))
    with open(os.path.join(srv.conf, "master.cf"), "w") as f:
        f.write(text)


def banner(srv, port=None):
    c = srv.raw(port)
    try:
        return c.reply()[0]
    finally:
        c.close()


def queued(srv):
    return srv.postern("queue", "list").stdout


# Errors that stop Postfix's daemons too.  (An unknown restriction or a
# missing table is not one: as in Postfix, it answers 4xx when used.)
BROKEN_MAIN = {
    "line without =": ("this line is not a parameter", "missing '='"),
    "bad boolean": ("smtpd_helo_required = maybe", "smtpd_helo_required"),
    "bad size": ("message_size_limit = lots", "message_size_limit"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_MAIN))
def test_broken_main_cf_is_refused_and_the_old_one_keeps_serving(postern, case):
    line, named = BROKEN_MAIN[case]
    srv = postern()
    workers = set(srv.listening_pids())
    session = srv.smtp()
    session.ehlo("client.example")
    write_main(srv, "smtpd_banner = broken.example ESMTP\n" + line)
    r = srv.postern("reload")
    assert r.returncode != 0, r.stdout
    assert named in r.stderr
    assert "refused" in r.stderr
    # The master refuses too when signalled directly.
    mark = len(srv.maillog())
    os.kill(srv.master_pid(), signal.SIGHUP)
    assert srv.wait_log("reload refused", 10, after=mark)
    assert set(srv.listening_pids()) == workers, "the running workers stay"
    assert banner(srv) == "220 mx.postern.test ESMTP"
    session.sendmail("a@example.net", ["postmaster@mx.postern.test"], MSG % "before")
    session.quit()
    assert "<before@example.net>" in srv.maillog()


def test_broken_master_cf_is_refused_loudly(postern):
    srv = postern()
    workers = set(srv.listening_pids())
    write_master(srv, "127.0.0.1:PORT inet n - n - - smtpd\nPORT2 inet n\n")
    r = srv.postern("reload")
    assert r.returncode != 0, r.stdout
    assert "master.cf" in r.stderr
    assert set(srv.listening_pids()) == workers
    assert banner(srv) == "220 mx.postern.test ESMTP"


def test_listener_that_cannot_bind_keeps_the_old_configuration(postern):
    """A new service on a port already taken: the master refuses the whole
    reload and the old services keep running."""
    srv = postern(main_cf="smtpd_helo_required = no")
    workers = set(srv.listening_pids())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        write_master(srv, "127.0.0.1:PORT inet n - n - - smtpd\n127.0.0.1:%d inet n - n - - smtpd\n"
                     % busy)
        write_main(srv, "smtpd_helo_required = yes")
        mark = len(srv.maillog())
        srv.postern("reload")
        assert srv.wait_log("reload refused", 10, after=mark)
        assert "%d" % busy in srv.maillog()[mark:]
    assert set(srv.listening_pids()) == workers
    with srv.smtp() as s:
        assert s.mail("a@example.net")[0] == 250, "old settings: HELO not required"


def test_good_change_reaches_new_sessions_and_spares_open_ones(postern):
    srv = postern(tables={"texthash:access": "blocked@mx.postern.test REJECT not here\n"})
    old = srv.smtp()
    old.ehlo("client.example")
    write_main(srv, "smtpd_recipient_restrictions = check_recipient_access texthash:CONFDIR/access,"
                    " permit_mynetworks, reject_unauth_destination")
    r = srv.reload()
    assert "refreshing" in r.stdout
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.mail("a@example.net")
        assert s.rcpt("blocked@mx.postern.test") == (
            554, b"5.7.1 <blocked@mx.postern.test>: Recipient address rejected: not here")
    # The session opened before the reload keeps the settings it started with.
    assert old.mail("a@example.net")[0] == 250
    assert old.rcpt("blocked@mx.postern.test")[0] == 250
    assert old.data(MSG % "old-session")[0] == 250
    old.quit()
    assert "blocked@mx.postern.test" in queued(srv)


def test_reload_adds_and_removes_listeners(postern):
    srv = postern(master_cf="127.0.0.1:PORT inet n - n - - smtpd\n# PORT2 later\n")
    port2 = srv.ports["PORT2"]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port2)) != 0
    write_master(srv, "127.0.0.1:PORT inet n - n - - smtpd\n"
                      "127.0.0.1:PORT2 inet n - n - - smtpd -o myhostname=two.postern.test\n")
    srv.reload()
    assert banner(srv, port2) == "220 two.postern.test ESMTP"
    assert banner(srv) == "220 mx.postern.test ESMTP"
    # A session on the listener about to go away is not cut by its removal.
    leaving = srv.smtp(port=port2)
    leaving.ehlo("client.example")
    write_master(srv, "127.0.0.1:PORT inet n - n - - smtpd\n")
    srv.reload()
    assert banner(srv) == "220 mx.postern.test ESMTP"
    leaving.sendmail("a@example.net", ["postmaster@mx.postern.test"], MSG % "leaving")
    leaving.quit()

    def closed():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port2)) != 0
    assert wait_for(closed, 10), "the removed listener is closed"
    assert "<leaving@example.net>" in srv.maillog()


def test_sessions_open_across_reloads_complete(postern):
    """Sessions in every state — after EHLO, mid-envelope, mid-DATA — keep
    going through three reloads and end with their message queued."""
    srv = postern()
    idle = srv.smtp()
    idle.ehlo("idle.example")
    envelope = srv.smtp()
    envelope.ehlo("envelope.example")
    envelope.mail("env@example.net")
    envelope.rcpt("postmaster@mx.postern.test")
    body = srv.raw()
    body.reply()
    assert body.cmd("EHLO body.example").startswith("250 ")
    assert body.cmd("MAIL FROM:<body@example.net>").startswith("250 ")
    assert body.cmd("RCPT TO:<postmaster@mx.postern.test>").startswith("250 ")
    assert body.cmd("DATA").startswith("354 ")
    body.send("Subject: half\r\nMessage-ID: <body@example.net>\r\n\r\nfirst half\r\n")
    for i in range(3):
        write_main(srv, "smtpd_banner = $myhostname ESMTP reload%d" % i)
        srv.reload()
        assert banner(srv) == "220 mx.postern.test ESMTP reload%d" % i
    body.send("second half\r\n.\r\n")
    assert body.reply()[-1].startswith("250 2.0.0 Ok: queued as ")
    assert body.cmd("QUIT").startswith("221 ")
    assert envelope.data(MSG % "envelope")[0] == 250
    envelope.quit()
    idle.sendmail("idle@example.net", ["postmaster@mx.postern.test"], MSG % "idle")
    idle.quit()
    listing = queued(srv)
    for sender in ("body@example.net", "env@example.net", "idle@example.net"):
        assert sender in listing
