"""SMTP AUTH with real clients (smtplib, swaks) against both back ends: the
built-in passwd-file with each password scheme, and a real Dovecot.  The
login feeds permit_sasl_authenticated, the sender-login-mismatch check and
the Received header; AUTH= on MAIL changes nothing."""
import base64
import os
import smtplib
import time

import pytest

from helpers import (MESSAGE, certs, content, dovecot, envelope, export, only_message,  # noqa: F401
                     session_end, shared_dir, swaks, wait_log, write_file)

LOCAL = "postmaster@mx.postern.test"
REMOTE = "someone@example.com"
PASSWORD = "S3cret pw"

# Hashes of PASSWORD made with mkpasswd(1) and openssl passwd; fixed, so that
# the tests need neither tool.
HASHES = {
    "yescrypt": "$y$j9T$J55LOQfhOte5kwwLSfkED/$o8/iZ3olFVC3Fw76ki.ZppGWQ3B6FBMEq8YOfYvv1j.",
    "bcrypt": "{BLF-CRYPT}$2b$05$ZgD7YU/hMHoIfRdLS7587eGiDTnu9kenf1ZtXFsOB9heKCeU.gO/G",
    "sha512": "{SHA512-CRYPT}$6$tcWUuUEeJUX7WCCe$jlWHEr4T9vMQ9I7skxIzoZg/LVq7CtfMMXMoI3SYhjXwl2"
              "drO1IJJsADIIJ.ITHaP9OexayOt6AmHs1uJa4.31",
    "sha256": "{CRYPT}$5$DjvaA0oRXs0ZkFPw$oCuIMCBxApz082m/OpzeBlhg0LHyNME57CIoFXUkQaD",
    "md5": "{MD5-CRYPT}$1$ng3EuJ/0$PAJ0ij7pca1pp7U.HwfsM1",
    "plain": "{PLAIN}" + PASSWORD,
}


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def passwd_file_cf(path, extra=""):
    return ("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\n"
            "smtpd_sasl_path = %s\n" % path) + extra


RELAY_CF = """
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_authenticated_header = yes
"""


def try_login(srv, mechanism, user, password):
    """One AUTH exchange through smtplib; (code, text)."""
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.user, s.password = user, password
        method = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mechanism]
        try:
            return s.auth(mechanism, method, initial_response_ok=mechanism == "PLAIN")
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code, e.smtp_error


@pytest.mark.parametrize("scheme", sorted(HASHES))
def test_passwd_file_schemes(postern, shared_dir, scheme):
    """Each scheme of the passwd-file verifies the right password with PLAIN
    and LOGIN and refuses a wrong one."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES[scheme])
    srv = postern(main_cf=passwd_file_cf(users))
    ok = (235, b"2.7.0 Authentication successful")
    failed = (535, b"5.7.8 Error: authentication failed: (reason unavailable)")
    assert try_login(srv, "PLAIN", "alice", PASSWORD) == ok
    assert try_login(srv, "LOGIN", "alice", PASSWORD) == ok
    assert try_login(srv, "PLAIN", "alice", PASSWORD + "x") == failed
    assert try_login(srv, "LOGIN", "alice", "s3cret pw") == failed
    log = session_end(srv, 4)
    assert "warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: " \
        "(reason unavailable), sasl_username=alice" in log
    assert "warning: localhost[127.0.0.1]: SASL LOGIN authentication failed: " \
        "(reason unavailable), sasl_username=alice" in log


def test_unknown_user_and_exchange_forms(postern, shared_dir):
    """An unknown user fails like a wrong password; LOGIN step by step and
    with an initial response; "*" cancels."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["sha512"])
    srv = postern(main_cf=passwd_file_cf(users))
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    assert c.cmd("AUTH PLAIN " + plain("nobody", PASSWORD)) == \
        "535 5.7.8 Error: authentication failed: (reason unavailable)"
    assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
    assert c.cmd("*") == "501 5.7.0 Authentication aborted"
    assert c.cmd("AUTH LOGIN " + b64("alice")) == "334 UGFzc3dvcmQ6"
    assert c.cmd(b64(PASSWORD)) == "235 2.7.0 Authentication successful"
    assert c.cmd("AUTH PLAIN " + plain("alice", PASSWORD)) == \
        "503 5.5.1 Error: already authenticated"
    c.cmd("QUIT")


def test_failed_logins_slow_down_that_client_only(postern, shared_dir):
    """Past smtpd_soft_error_limit each failed AUTH is answered after
    smtpd_error_sleep_time; another client logs in meanwhile at once."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["plain"])
    srv = postern(main_cf=passwd_file_cf(users, "smtpd_soft_error_limit = 1\n"
                                                "smtpd_error_sleep_time = 1s\n"
                                                "postern_smtpd_workers = 1\n"))
    guesser = srv.raw()
    guesser.reply()
    guesser.cmd("EHLO client.example")
    start = time.time()
    assert guesser.cmd("AUTH PLAIN " + plain("alice", "guess1")).startswith("535 ")
    assert time.time() - start < 0.5
    start = time.time()
    guesser.send("AUTH PLAIN %s\r\n" % plain("alice", "guess2"))
    assert try_login(srv, "PLAIN", "alice", PASSWORD)[0] == 235
    assert time.time() - start < 0.5
    assert guesser.reply()[-1].startswith("535 ")
    assert time.time() - start >= 0.9


def test_swaks_plain_and_login(postern, shared_dir):
    """swaks authenticates with PLAIN and LOGIN and relays as the user."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["yescrypt"])
    srv = postern(main_cf=passwd_file_cf(users, RELAY_CF))
    for mech in ("PLAIN", "LOGIN"):
        out = swaks(srv, "--auth", mech, "--auth-user", "alice", "--auth-password", PASSWORD,
                    "--from", "alice@example.net", "--to", REMOTE)
        assert "<~  235 2.7.0 Authentication successful" in out.stdout or \
            "<-  235 2.7.0 Authentication successful" in out.stdout, out.stdout
        assert "<-  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    out = swaks(srv, "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "wrong",
                "--from", "alice@example.net", "--to", REMOTE)
    assert "<** 535 5.7.8 Error: authentication failed: (reason unavailable)" in out.stdout


def test_permit_sasl_authenticated_and_received_header(postern, shared_dir):
    """Only a logged-in client relays; its message carries the login in the
    envelope and (smtpd_sasl_authenticated_header) the Received header,
    and the protocol is ESMTPA."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["plain"])
    srv = postern(main_cf=passwd_file_cf(users, RELAY_CF))
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.mail("alice@example.net")
        assert s.rcpt(REMOTE) == (554, b"5.7.1 <%s>: Relay access denied" % REMOTE.encode())
        s.rset()
        s.login("alice", PASSWORD)
        s.sendmail("alice@example.net", [REMOTE], MESSAGE)
    qid = only_message(srv)
    text = content(srv, qid).decode()
    assert "\t(Authenticated sender: alice)\r\n\tby mx.postern.test (postern) with ESMTPA id " \
        + qid in text
    env = envelope(srv, qid)
    assert "sasl_username=alice" in env or "sasl_username: alice" in env, env
    log = wait_log(srv, qid + ": client=")
    assert qid + ": client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=alice" in log


def test_sender_login_mismatch(postern, shared_dir):
    """smtpd_sender_login_maps with reject_sender_login_mismatch: the owner
    may send as the address, another user and an anonymous client may not
    (the seed story: a spoofed local sender from outside)."""
    users = write_file(shared_dir, "passwd",
                       "alice:%s\nbob:{PLAIN}bobpw\n" % HASHES["plain"])
    srv = postern(main_cf=passwd_file_cf(users, """
smtpd_sender_login_maps = hash:CONFDIR/logins
smtpd_sender_restrictions = reject_sender_login_mismatch
"""), tables={"hash:logins": "alice@postern.test alice\n"})
    anon = swaks(srv, "--from", "alice@postern.test", "--to", LOCAL)
    assert "<** 553 5.7.1 <alice@postern.test>: Sender address rejected: not logged in" \
        in anon.stdout, anon.stdout
    bob = swaks(srv, "--auth", "PLAIN", "--auth-user", "bob", "--auth-password", "bobpw",
                "--from", "alice@postern.test", "--to", LOCAL)
    assert "<** 553 5.7.1 <alice@postern.test>: Sender address rejected: not owned by user bob" \
        in bob.stdout, bob.stdout
    alice = swaks(srv, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", PASSWORD,
                  "--from", "alice@postern.test", "--to", LOCAL)
    assert "<-  250 2.0.0 Ok: queued as " in alice.stdout, alice.stdout
    assert export(srv)[only_message(srv)][1] == "from alice@postern.test\nto %s\n" % LOCAL


def test_auth_parameter_on_mail(postern, shared_dir):
    """MAIL FROM AUTH= is accepted and changes nothing: it does not log a
    client in, and a logged-in client stays itself."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["plain"])
    srv = postern(main_cf=passwd_file_cf(users, RELAY_CF))
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<alice@example.net> AUTH=alice@example.net") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<%s>" % REMOTE) == "554 5.7.1 <%s>: Relay access denied" % REMOTE
    c.cmd("RSET")
    assert c.cmd("AUTH PLAIN " + plain("alice", PASSWORD)) == "235 2.7.0 Authentication successful"
    assert c.cmd("MAIL FROM:<alice@example.net> AUTH=<>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<%s>" % REMOTE) == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354 ")
    assert c.cmd("Subject: x\r\n\r\nbody\r\n.").startswith("250 2.0.0 Ok: queued as ")
    c.cmd("QUIT")
    assert "(Authenticated sender: alice)" in content(srv, only_message(srv)).decode()


def test_noplaintext_offers_auth_only_inside_tls(postern, shared_dir, certs):
    """smtpd_sasl_security_options = noanonymous, noplaintext with the TLS
    options allowing plaintext: PLAIN and LOGIN only after STARTTLS."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["plain"])
    srv = postern(main_cf=certs.main_cf() + passwd_file_cf(users, """
smtpd_sasl_security_options = noanonymous, noplaintext
smtpd_sasl_tls_security_options = noanonymous
"""))
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("auth")
        s.starttls(context=certs.context())
        s.ehlo("client.example")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert s.login("alice", PASSWORD)[0] == 235


def test_sasl_exceptions_networks(postern, shared_dir):
    """No AUTH for clients in smtpd_sasl_exceptions_networks."""
    users = write_file(shared_dir, "passwd", "alice:%s\n" % HASHES["plain"])
    srv = postern(main_cf=passwd_file_cf(users, "smtpd_sasl_exceptions_networks = 127.0.0.1\n"))
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("auth")


def test_passwd_file_changes_apply_without_reload(postern, shared_dir):
    """An edited passwd-file counts at the next AUTH."""
    users = write_file(shared_dir, "passwd", "alice:{PLAIN}old password\n")
    srv = postern(main_cf=passwd_file_cf(users))
    assert try_login(srv, "PLAIN", "alice", "old password")[0] == 235
    write_file(shared_dir, "passwd.new", "alice:%s\n" % HASHES["bcrypt"])
    os.rename(os.path.join(shared_dir, "passwd.new"), users)
    assert try_login(srv, "PLAIN", "alice", "old password")[0] == 535
    assert try_login(srv, "PLAIN", "alice", PASSWORD)[0] == 235


def dovecot_cf(socket, extra=""):
    return ("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n"
            "smtpd_sasl_path = %s\n" % socket) + extra


def test_dovecot_plain_and_login(postern, dovecot):
    """A real Dovecot checks the passwords; its mechanisms are offered."""
    dv = dovecot("alice:{PLAIN}alicepw\nbob:{SHA512-CRYPT}%s\n"
                 % HASHES["sha512"].split("}", 1)[1])
    srv = postern(main_cf=dovecot_cf(dv.socket, RELAY_CF))
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    ok = (235, b"2.7.0 Authentication successful")
    assert try_login(srv, "PLAIN", "alice", "alicepw") == ok
    assert try_login(srv, "LOGIN", "bob", PASSWORD) == ok
    assert try_login(srv, "PLAIN", "bob", "wrong") == \
        (535, b"5.7.8 Error: authentication failed: (reason unavailable)")
    out = swaks(srv, "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "alicepw",
                "--from", "alice@example.net", "--to", REMOTE)
    assert "<-  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    # Dovecot did the check, and knew the client's address
    assert "passwd-file(bob,127.0.0.1): Password mismatch" in dv.log()


def test_dovecot_away_and_back(postern, dovecot):
    """While Dovecot is down AUTH fails temporarily (454) and the session
    goes on; when it is back, logins work again."""
    dv = dovecot("alice:{PLAIN}alicepw\n")
    srv = postern(main_cf=dovecot_cf(dv.socket))
    assert try_login(srv, "PLAIN", "alice", "alicepw")[0] == 235
    dv.stop()
    code, text = try_login(srv, "PLAIN", "alice", "alicepw")
    assert code == 454 and text.startswith(b"4.7.0 Temporary authentication failure: "), text
    dv.start()
    assert try_login(srv, "PLAIN", "alice", "alicepw")[0] == 235
