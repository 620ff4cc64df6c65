"""The log tools admins run on a Postfix log read postern's: Debian's
fail2ban (the postfix filter in its modes, as the postfix and postfix-sasl
jails use it) bans the right addresses and only those, and pflogsumm
counts received and rejected mail and its senders.  Clients get their own
addresses through XCLIENT."""
import base64
import collections
import re
import subprocess

import pytest

from helpers import shared_dir, write_file  # noqa: F401 (fixture)

AUTH_FAILER = "192.0.2.10"
AUTH_FAILER6 = "2001:db8::7"
RELAY_PROBER = "198.51.100.20"
BLOCKED = "198.51.100.21"
GOOD = "203.0.113.30"

# The submission service is named as in Debian's master.cf.
MASTER_CF = """\
127.0.0.1:PORT  inet n - n - - smtpd
127.0.0.1:PORT2 inet n - n - - smtpd
  -o syslog_name=%s/submission
"""


def main_cf(passwd, syslog_name="postfix"):
    return """
syslog_name = %s
inet_protocols = all
mynetworks = 10.0.0.0/8
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = passwd-file
smtpd_sasl_path = %s
smtpd_client_restrictions = check_client_access texthash:CONFDIR/clients
""" % (syslog_name, passwd)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def as_client(srv, addr, name, port=None):
    c = srv.raw(port)
    assert c.reply()[0].startswith("220")
    proto_addr = "IPV6:" + addr if ":" in addr else addr
    assert c.cmd("XCLIENT ADDR=%s NAME=%s" % (proto_addr, name)).startswith("220")
    assert c.cmd("EHLO %s" % name).startswith("250")
    return c


def session_mix(srv):
    """Failed AUTH from two addresses (one on the submission service),
    relay probes, a blocked client, and accepted mail; the returned counts
    are what the tools must find."""
    port2 = srv.ports["PORT2"]
    c = as_client(srv, AUTH_FAILER, "attacker.example")
    for user in ("admin", "info", "test"):
        assert c.cmd("AUTH PLAIN " + b64("\0%s@postern.test\0guess" % user)).startswith("535")
    c.cmd("QUIT")
    c = as_client(srv, AUTH_FAILER6, "attacker6.example", port=port2)
    assert c.cmd("AUTH LOGIN").startswith("334")
    assert c.cmd(b64("user@postern.test")).startswith("334")
    assert c.cmd(b64("guess")).startswith("535")
    c.cmd("QUIT")
    c = as_client(srv, RELAY_PROBER, "prober.example")
    assert c.cmd("MAIL FROM:<spam@prober.example>").startswith("250")
    for rcpt in ("victim1@elsewhere.example", "victim2@elsewhere.example"):
        assert c.cmd("RCPT TO:<%s>" % rcpt).startswith("454 4.7.1")
    c.cmd("QUIT")
    c = as_client(srv, BLOCKED, "blocked.example")
    assert c.cmd("MAIL FROM:<spam@blocked.example>").startswith("250")
    assert c.cmd("RCPT TO:<postmaster@mx.postern.test>").startswith("554 5.7.1")
    c.cmd("QUIT")
    c = as_client(srv, GOOD, "good.example", port=port2)
    assert c.cmd("AUTH PLAIN " + b64("\0user@postern.test\0secret")).startswith("235")
    for sender, rcpt in (("user@postern.test", "friend@elsewhere.example"),
                         ("user@postern.test", "postmaster@mx.postern.test"),
                         ("other@postern.test", "postmaster@mx.postern.test")):
        assert c.cmd("MAIL FROM:<%s>" % sender).startswith("250")
        assert c.cmd("RCPT TO:<%s>" % rcpt).startswith("250")
        assert c.cmd("DATA").startswith("354")
        c.send("Subject: hello\r\n\r\n%s\r\n.\r\n" % ("x" * 500))
        assert c.reply()[-1].startswith("250")
    c.cmd("QUIT")
    assert srv.wait_log("disconnect from good.example[%s]" % GOOD)
    return {"received": 3, "rejected": 3, "senders": {"user@postern.test": 2,
                                                     "other@postern.test": 1}}


@pytest.fixture
def mixlog(postern, shared_dir):
    def make(syslog_name="postfix"):
        passwd = write_file(shared_dir, "passwd", "user@postern.test:{PLAIN}secret\n")
        srv = postern(main_cf=main_cf(passwd, syslog_name), master_cf=MASTER_CF % syslog_name,
                      tables={"texthash:clients": "%s REJECT\n" % BLOCKED})
        counts = session_mix(srv)
        return srv.log, counts
    return make


def fail2ban(log, filt):
    """The address of every failure fail2ban-regex finds, with its count."""
    r = subprocess.run(["fail2ban-regex", "-r", "-o", "ip", log, filt],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return collections.Counter(line.strip() for line in r.stdout.splitlines() if line.strip())


def test_fail2ban_postfix_sasl_jail_finds_failed_auth(mixlog):
    log, _ = mixlog()
    # The postfix-sasl jail: filter = postfix[mode=auth].
    found = fail2ban(log, "postfix[mode=auth]")
    assert found == {AUTH_FAILER: 3, AUTH_FAILER6: 1}, found


def test_fail2ban_postfix_jail_finds_rejects(mixlog):
    log, _ = mixlog()
    # The postfix jail's default mode, and the filter's strictest.
    more = fail2ban(log, "postfix")
    assert more == {RELAY_PROBER: 2, BLOCKED: 1}, more
    aggressive = fail2ban(log, "postfix[mode=aggressive]")
    for addr, n in ((AUTH_FAILER, 3), (AUTH_FAILER6, 1), (RELAY_PROBER, 2), (BLOCKED, 1)):
        assert aggressive[addr] >= n, (addr, aggressive)
    assert GOOD not in aggressive, aggressive


def test_fail2ban_with_another_syslog_name_needs_daemon_override(mixlog):
    log, _ = mixlog(syslog_name="postern")
    assert fail2ban(log, "postfix[mode=auth]") == {}, "the stock filter wants postfix/..."
    found = fail2ban(log, r'postfix[mode=auth, _daemon="postern(-\w+)?/\w+(?:/smtp[ds])?"]')
    assert found == {AUTH_FAILER: 3, AUTH_FAILER6: 1}, found


def pflogsumm(log, *options):
    r = subprocess.run(["pflogsumm"] + list(options) + [log], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def total(report, what):
    """A figure of the Grand Totals: `N   received`."""
    m = re.search(r"^ +(\d+) +%s\b" % what, report, re.M)
    assert m, report
    return int(m.group(1))


def section(report, title):
    """One section of a pflogsumm report, up to the next titled one."""
    lines = report.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(title))
    end = start + 1
    while end < len(lines) and not (lines[end] and lines[end][0] != " "
                                    and not lines[end].startswith("-")):
        end += 1
    return "\n".join(lines[start:end])


def test_pflogsumm_counts_received_and_rejected(mixlog):
    log, counts = mixlog()
    report = pflogsumm(log, "--rej-add-from", "--smtpd-stats")
    assert total(report, "received") == counts["received"]
    assert total(report, "rejected") == counts["rejected"]
    rejects = section(report, "message reject detail")
    assert re.search(r"Relay access denied \(total: 2\)\n +2 +prober\.example +"
                     r"\(spam@prober\.example\)", rejects), rejects
    assert re.search(r"Client host rejected: Access denied \(total: 1\)\n +1 +blocked\.example",
                     rejects), rejects
    warnings = section(report, "Warnings")
    assert re.search(r"3 +attacker\.example\[192\.0\.2\.10\]: SASL PLAIN authentication failed",
                     warnings), warnings
    assert "SASL LOGIN authentication faile" in warnings, warnings
    connections = section(report, "Host/Domain Summary: SMTPD Connections")
    for name in ("good.example", "prober.example", "blocked.example", "attacker.example"):
        assert re.search(r"^ +1 .* %s$" % re.escape(name), connections, re.M), connections


def test_pflogsumm_with_another_syslog_name(mixlog):
    log, counts = mixlog(syslog_name="postern")
    report = pflogsumm(log, "--syslog-name=postern")
    assert total(report, "received") == counts["received"]
    assert total(report, "rejected") == counts["rejected"]


def test_pflogsumm_counts_senders(mixlog):
    """Per-sender figures come from the line Postfix's queue manager writes
    when a message enters the queue (`ID: from=<...>, size=N, nrcpt=N`)."""
    log, counts = mixlog()
    report = pflogsumm(log)
    assert total(report, "senders") == len(counts["senders"])
    senders = section(report, "Senders by message count")
    for sender, n in counts["senders"].items():
        assert re.search(r"^ +%d +%s$" % (n, re.escape(sender)), senders, re.M), senders
