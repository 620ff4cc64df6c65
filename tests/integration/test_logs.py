"""Log lines in Postfix's format, to maillog_file and to syslog, named by
syslog_name; client text with control characters never reaches a log raw.

Syslog is caught without touching the system: the server runs in a private
mount namespace (`unshare -m`) whose /dev is a small tmpfs where /dev/log
is a datagram socket this test reads."""
import base64
import os
import re
import socket
import threading

import pytest

from conftest import wait_for
from helpers import shared_dir, write_file  # noqa: F401 (fixture)

LINE = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \S+ (\S+?)\[(\d+)\]: (.+)$")


@pytest.fixture
def sasl(shared_dir):
    """main.cf lines for AUTH against a passwd-file the workers can read,
    and for relay rejects from loopback (not in mynetworks)."""
    path = write_file(shared_dir, "passwd", "user@postern.test:{PLAIN}secret\n")
    return ("mynetworks = 10.0.0.0/8\nsmtpd_sasl_auth_enable = yes\n"
            "smtpd_sasl_type = passwd-file\nsmtpd_sasl_path = %s\n" % path)


def session_mix(srv):
    """A delivered message, a relay reject, a failed AUTH."""
    with srv.smtp() as s:
        s.ehlo("client.example")
        plain = base64.b64encode(b"\0user@postern.test\0wrong").decode()
        assert s.docmd("AUTH", "PLAIN " + plain)[0] == 535
        s.mail("a@example.net")
        assert s.rcpt("x@elsewhere.example")[0] == 454
        assert s.rcpt("postmaster@mx.postern.test")[0] == 250
        code, text = s.data("Subject: x\r\nMessage-ID: <mix@example.net>\r\n\r\nx\r\n")
        assert code == 250
    qid = text.decode().split()[-1]
    return qid


def expected_lines(qid, name="localhost[127.0.0.1]"):
    return [
        "connect from %s" % name,
        "warning: %s: SASL PLAIN authentication failed: " % name,
        "NOQUEUE: reject: RCPT from %s: 454 4.7.1 <x@elsewhere.example>: Relay access denied; "
        "from=<a@example.net> to=<x@elsewhere.example> proto=ESMTP helo=<client.example>" % name,
        "%s: client=%s" % (qid, name),
        "%s: message-id=<mix@example.net>" % qid,
        "disconnect from %s ehlo=1 auth=0/1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/7" % name,
    ]


def test_maillog_lines_have_postfix_format(postern, sasl):
    srv = postern(main_cf=sasl)
    qid = session_mix(srv)
    assert srv.wait_log("disconnect from localhost[127.0.0.1] ehlo=1")
    log = srv.maillog()
    for line in log.splitlines():
        m = LINE.match(line)
        assert m, line
        assert m.group(1) in ("postfix/master", "postfix/smtpd", "postfix/anvil", "postfix/cleanup"), line
    texts = [LINE.match(l).group(3) for l in log.splitlines()]
    for want in expected_lines(qid):
        assert any(t.startswith(want) for t in texts), want
    smtpd = {LINE.match(l).group(2) for l in log.splitlines() if "%s: client=" % qid in l}
    assert len(smtpd) == 1 and int(smtpd.pop()) in srv.pids(), "the pid is the worker's"


def test_syslog_name_names_every_line(postern):
    srv = postern(main_cf="syslog_name = postfix-edge")
    with srv.smtp() as s:
        s.sendmail("a@example.net", ["postmaster@mx.postern.test"], "Subject: x\r\n\r\nx\r\n")
    assert srv.wait_log("disconnect from localhost[127.0.0.1]")
    tags = {LINE.match(l).group(1) for l in srv.maillog().splitlines()}
    assert tags >= {"postfix-edge/master", "postfix-edge/smtpd"}, tags
    assert all(t.startswith("postfix-edge/") for t in tags), tags


def test_every_session_is_logged_from_connect_to_disconnect(postern):
    """Clients that leave at once (port scanners) still get `connect from`,
    and under the name the lookup found, as Postfix logs them: log tools
    pair the lines of a session by process and name."""
    srv = postern()
    for _ in range(3):
        socket.create_connection(("127.0.0.1", srv.port)).close()
    with srv.smtp() as s:
        s.noop()
    assert wait_for(lambda: srv.maillog().count("disconnect from ") >= 5, 10)
    open_sessions = {}
    for line in srv.maillog().splitlines():
        _, pid, text = LINE.match(line).groups()
        m = re.match(r"(connect|lost connection after \S+|disconnect) from (\S+)", text)
        if not m:
            continue
        what, client = m.groups()
        if what == "connect":
            open_sessions.setdefault(pid, []).append(client)
        else:
            assert client in open_sessions.get(pid, []), "%s without connect from" % line
            if what == "disconnect":
                open_sessions[pid].remove(client)
    assert "lost connection after CONNECT from localhost[127.0.0.1]" in srv.maillog()


CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")


def hostile_session(srv):
    """Client text with control characters in every place that is logged."""
    c = srv.raw()
    c.reply()
    c.cmd("EHLO evil\x1b[31mhelo\x07\rx")
    user = base64.b64encode(b"\0us\x1b[2Jer\x07\0wrong").decode()
    c.cmd("AUTH PLAIN " + user)
    c.cmd("MAIL FROM:<x\x1by@example.net>")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<r\x07@elsewhere.example>")
    c.cmd("RCPT TO:<x@elsewhere.example>")
    assert c.cmd("RCPT TO:<postmaster@mx.postern.test>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: x\r\nMessage-ID: <id\x1b[2J\x07@example.net>\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[-1].startswith("250")
    c.cmd("XCLIENT HELO=bad+1Bxclient+0Dhelo")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<y@elsewhere.example>")
    c.cmd("QUIT")
    c.close()


def test_control_characters_never_reach_the_log(postern, sasl):
    srv = postern(main_cf=sasl)
    hostile_session(srv)
    assert srv.wait_log("disconnect from ")
    with open(srv.log, "rb") as f:
        raw = f.read()
    bad = [l for l in raw.split(b"\n") if CONTROL.search(l)]
    assert not bad, bad
    log = raw.decode("utf-8", "replace")
    # The text is there, made printable as Postfix does it ('?').
    assert "helo=<evil?[31mhelo??x>" in log
    assert "message-id=<id?[2J?@example.net>" in log
    assert "sasl_username=us?[2Jer?" in log
    assert "helo=<bad?xclient?helo>" in log


class SyslogCatcher:
    """A datagram socket standing in for /dev/log; lines() are the messages
    received so far as (priority, ident, pid, text)."""
    MSG = re.compile(rb"^<(\d+)>[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d (\S+?)\[(\d+)\]: (.*)$", re.S)

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.raw = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            self.raw.append(data)

    def lines(self):
        out = []
        for data in list(self.raw):
            m = self.MSG.match(data.rstrip(b"\n"))
            assert m, data
            out.append((int(m.group(1)), m.group(2).decode(), int(m.group(3)), m.group(4)))
        return out

    def close(self):
        self.sock.close()


PRIVATE_DEV = r"""
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs "$1"
for n in null zero full random urandom tty; do
    touch "$1/$n"
    mount --bind "/dev/$n" "$1/$n"
done
touch "$1/log"
mount --bind "$2" "$1/log"
mount --rbind "$1" /dev
shift 2
exec "$@"
"""


@pytest.fixture
def syslog_server(postern, tmp_path):
    """postern(main_cf) started with maillog_file empty, its syslog caught."""
    if os.geteuid() != 0:
        pytest.skip("a private /dev/log needs root (unshare -m, mount)")
    caught = []

    def make(main_cf=""):
        catcher = SyslogCatcher(str(tmp_path / "log.sock"))
        caught.append(catcher)
        newdev = tmp_path / "dev"
        newdev.mkdir()
        srv = postern(main_cf="maillog_file =\n" + main_cf, start=False)
        srv.start(wrap=["unshare", "-m", "sh", "-c", PRIVATE_DEV, "sh", str(newdev),
                        str(tmp_path / "log.sock")])
        return srv, catcher

    yield make
    for catcher in caught:
        catcher.close()


def test_syslog_gets_the_lines_with_ident_facility_and_severity(syslog_server, sasl):
    srv, catcher = syslog_server(sasl)
    qid = session_mix(srv)
    assert wait_for(lambda: any(t.startswith(b"disconnect from localhost[127.0.0.1] ehlo=1")
                                for _, _, _, t in catcher.lines()), 10)
    assert not os.path.exists(srv.log), "maillog_file is empty: nothing written there"
    lines = catcher.lines()
    idents = {ident for _, ident, _, _ in lines}
    assert {"postfix/master", "postfix/smtpd"} <= idents, idents
    texts = [t.decode() for _, _, _, t in lines]
    for want in expected_lines(qid):
        assert any(t.startswith(want) for t in texts), want
    for prio, ident, _, text in lines:
        assert prio >> 3 == 2, "facility mail: %r" % text
        severity = prio & 7
        if text.startswith(b"warning: "):
            assert severity == 4, text
        elif text.startswith((b"fatal: ", b"panic: ")):
            assert severity in (2, 0), text
        elif text.startswith(b"error: "):
            assert severity == 3, text
        else:
            assert severity == 6, text


def test_syslog_facility_and_name(syslog_server):
    srv, catcher = syslog_server("syslog_facility = local3\nsyslog_name = postfix-edge")
    with srv.smtp() as s:
        s.ehlo("client.example")
    assert wait_for(lambda: any(t.startswith(b"disconnect from localhost")
                                for _, _, _, t in catcher.lines()), 10)
    for prio, ident, _, text in catcher.lines():
        assert ident.startswith("postfix-edge/"), (ident, text)
        assert prio >> 3 == 19, "facility local3: <%d> %r" % (prio, text)


def test_syslog_gets_no_control_characters(syslog_server, sasl):
    srv, catcher = syslog_server(sasl)
    hostile_session(srv)
    assert wait_for(lambda: any(t.startswith(b"disconnect from ")
                                for _, _, _, t in catcher.lines()), 10)
    bad = [t for _, _, _, t in catcher.lines() if CONTROL.search(t)]
    assert not bad, bad


def test_namespace_leaves_the_system_dev_alone(syslog_server):
    """The private /dev exists only inside the server's namespace."""
    before = os.path.exists("/dev/log")
    srv, catcher = syslog_server()
    with srv.smtp() as s:
        s.noop()
    assert catcher.lines(), "the server logged through the private /dev/log"
    assert os.path.exists("/dev/log") == before
    assert os.path.exists("/dev/null") and os.path.exists("/dev/urandom")
