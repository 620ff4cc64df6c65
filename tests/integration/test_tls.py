"""TLS in the SMTP server with real TLS clients (Python's ssl module,
smtplib and swaks): STARTTLS and implicit TLS, what a session forgets at
the handshake, plaintext injected after STARTTLS, security levels, the
TLS facts in the Received header and the log, protocol limits and the
handshake timeout."""
import ssl

from helpers import (MESSAGE, certs, content, hangup_time, only_message,  # noqa: F401
                     session_end, shared_dir, smtp_ssl, starttls, swaks, write_file)

RCPT = "postmaster@mx.postern.test"


def test_starttls_with_smtplib(postern, certs):
    """STARTTLS is offered, the handshake shows the configured certificate,
    EHLO after TLS no longer offers it, and the message is queued."""
    srv = postern(main_cf=certs.main_cf("rsa"))
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")
        code, text = s.starttls(context=certs.context())
        assert (code, text) == (220, b"2.0.0 Ready to start TLS")
        assert s.sock.version() == "TLSv1.3"
        peer = s.sock.getpeercert()
        assert dict(x[0] for x in peer["subject"])["commonName"] == "mx.postern.test"
        s.ehlo("client.example")
        assert not s.has_extn("starttls")
        s.sendmail("alice@example.net", [RCPT], MESSAGE)
    qid = only_message(srv)
    assert b"\tby mx.postern.test (postern) with ESMTPS id " + qid.encode() in content(srv, qid)
    log = session_end(srv)
    assert ("Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher "
            in log)


def test_starttls_with_swaks_and_ecdsa_certificate(postern, certs):
    """A real client (swaks) through STARTTLS to a server with an ECDSA key."""
    srv = postern(main_cf=certs.main_cf("ec"))
    out = swaks(srv, "--tls", "--from", "alice@example.net", "--to", RCPT,
                "--ehlo", "client.example")
    assert "<~  220 2.0.0 Ready" not in out.stdout  # the 220 comes in the clear
    assert "<-  220 2.0.0 Ready to start TLS" in out.stdout, out.stdout
    assert "<~  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    assert out.returncode == 0
    only_message(srv)
    log = session_end(srv)
    assert "server-signature ECDSA (prime256v1) server-digest SHA256" in log


def test_chain_files_with_rsa_and_ecdsa_keys(postern, certs):
    """smtpd_tls_chain_files with both keys: a TLS 1.3 client gets the ECDSA
    certificate (as from Postfix), a TLS 1.2 client that only takes RSA
    ciphers the RSA one."""
    srv = postern(main_cf="smtpd_tls_security_level = may\n"
                          "smtpd_tls_chain_files = %s/chain.pem, %s/chain.pem\n"
                          % (certs.ec, certs.rsa))
    rsa_only = certs.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    rsa_only.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    keys = {}
    for name, context in (("tls13", certs.context()), ("rsa12", rsa_only)):
        with srv.smtp() as s:
            s.starttls(context=context)
            der = s.sock.getpeercert(binary_form=True)
            keys[name] = ssl.DER_cert_to_PEM_cert(der)
    with open(certs.ec + "/cert.pem") as f:
        ec_pem = f.read()
    with open(certs.rsa + "/cert.pem") as f:
        rsa_pem = f.read()
    assert keys["tls13"].split() == ec_pem.split()
    assert keys["rsa12"].split() == rsa_pem.split()


def test_implicit_tls_service(postern, certs):
    """A second master.cf service in wrapper mode speaks TLS from the first
    byte, offers no STARTTLS, and accepts mail (smtplib and swaks)."""
    master = ("127.0.0.1:PORT inet n - n - - smtpd\n"
              "127.0.0.1:PORT2 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n")
    srv = postern(main_cf=certs.main_cf("rsa", level="none"), master_cf=master)
    tls_port = srv.ports["PORT2"]
    with smtp_ssl(tls_port, certs.context()) as s:
        assert s.sock.version() == "TLSv1.3"
        s.ehlo("client.example")
        assert not s.has_extn("starttls")
        s.sendmail("alice@example.net", [RCPT], MESSAGE)
    out = swaks(srv, "--tls-on-connect", "--from", "bob@example.net", "--to", RCPT,
                port=tls_port)
    assert "<~  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    # the plain service next to it has no TLS at level none
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("starttls")
        assert s.docmd("STARTTLS") == (502, b"5.5.1 Error: command not implemented")
    assert len(srv.postern("queue", "list").stdout.split("\n\n")) == 3


def test_plaintext_after_starttls_is_discarded(postern, certs):
    """Commands sent in the same packet as STARTTLS are not executed inside
    TLS (CVE-2011-0411): neither RSET nor a MAIL that would open a
    transaction."""
    srv = postern(main_cf=certs.main_cf())
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send("STARTTLS\r\nRSET\r\n")
    assert c.reply() == ["220 2.0.0 Ready to start TLS"]
    assert c.buf == b""
    c.sock = certs.context().wrap_socket(c.sock, server_hostname="mx.postern.test")
    # the first reply inside TLS must be the one to this EHLO
    c.send("EHLO client.example\r\n")
    assert c.reply()[0] == "250-mx.postern.test"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    log = session_end(srv)
    assert "disconnect from localhost[127.0.0.1] ehlo=2 starttls=1 quit=1 commands=4" in log

    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n")
    assert c.reply() == ["220 2.0.0 Ready to start TLS"]
    c.sock = certs.context().wrap_socket(c.sock, server_hostname="mx.postern.test")
    assert c.cmd("RCPT TO:<%s>" % RCPT) == "503 5.5.1 Error: need MAIL command"
    c.close()


def test_session_forgets_helo_and_login_at_tls(postern, certs, shared_dir):
    """RFC 3207 4.2: after the handshake the server knows nothing the client
    said before: the HELO name (smtpd_helo_required asks again) and the
    SASL login (AUTH works again instead of "already authenticated")."""
    users = write_file(shared_dir, "passwd", "alice:{PLAIN}alicepw\n")
    srv = postern(main_cf=certs.main_cf() + f"""
smtpd_helo_required = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = passwd-file
smtpd_sasl_path = {users}
""")
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    assert c.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=") == "235 2.7.0 Authentication successful"
    starttls(c, certs.context())
    assert c.cmd("MAIL FROM:<alice@example.net>") == "503 5.5.1 Error: send HELO/EHLO first"
    c.cmd("EHLO client.example")
    assert c.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=") == "235 2.7.0 Authentication successful"
    assert c.cmd("MAIL FROM:<alice@example.net>") == "250 2.1.0 Ok"
    c.cmd("QUIT")


def test_tls_auth_only(postern, certs, shared_dir):
    """smtpd_tls_auth_only: no AUTH in the clear, AUTH offered and working
    inside TLS."""
    users = write_file(shared_dir, "passwd", "alice:{PLAIN}alicepw\n")
    srv = postern(main_cf=certs.main_cf() + f"""
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = passwd-file
smtpd_sasl_path = {users}
""")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("auth")
        assert s.docmd("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=") == \
            (503, b"5.5.1 Error: authentication not enabled")
        s.starttls(context=certs.context())
        s.ehlo("client.example")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert s.login("alice", "alicepw") == (235, b"2.7.0 Authentication successful")


def test_encrypt_level_requires_starttls(postern, certs):
    """smtpd_tls_security_level = encrypt: 530 until STARTTLS, then mail
    flows; the Received header names ESMTPS."""
    srv = postern(main_cf=certs.main_cf(level="encrypt"))
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")
        assert s.mail("alice@example.net") == \
            (530, b"5.7.0 Must issue a STARTTLS command first")
        assert s.noop()[0] == 250
        s.starttls(context=certs.context())
        s.ehlo("client.example")
        s.sendmail("alice@example.net", [RCPT], MESSAGE)
    assert b"with ESMTPS id" in content(srv, only_message(srv))


def test_encrypt_level_uses_mandatory_protocols(postern, certs):
    """At level encrypt smtpd_tls_mandatory_protocols applies, not
    smtpd_tls_protocols: a TLS 1.2 client cannot start TLS when only 1.3 is
    mandatory."""
    srv = postern(main_cf=certs.main_cf(level="encrypt") + """
smtpd_tls_protocols = >=TLSv1
smtpd_tls_mandatory_protocols = >=TLSv1.3
""")
    ctx = certs.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    try:
        starttls(c, ctx)
        handshake = "succeeded with " + c.sock.version()
    except (ssl.SSLError, ConnectionResetError):
        handshake = "failed"
    assert handshake == "failed"


def test_protocols_and_received_header(postern, certs):
    """smtpd_tls_protocols = !TLSv1.3 makes the session TLS 1.2, as the log
    and the Received header (smtpd_tls_received_header) say."""
    srv = postern(main_cf=certs.main_cf() + """
smtpd_tls_protocols = !TLSv1.3
smtpd_tls_received_header = yes
""")
    with srv.smtp() as s:
        s.starttls(context=certs.context())
        assert s.sock.version() == "TLSv1.2"
        s.ehlo("client.example")
        s.sendmail("alice@example.net", [RCPT], MESSAGE)
    text = content(srv, only_message(srv)).decode()
    received = text.split("\r\n\tby ", 1)[0]
    assert received.startswith("Received: from client.example (localhost [127.0.0.1])\r\n"
                               "\t(using TLSv1.2 with cipher ECDHE-RSA-"), text
    assert received.endswith("\r\n\t(No client certificate requested)"), received
    assert "\tby mx.postern.test (postern) with ESMTPS id " in text
    assert "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.2 with " \
        "cipher ECDHE-RSA-" in session_end(srv)


def test_received_header_tls13(postern, certs):
    """The TLS 1.3 Received header carries the key exchange and the server
    signature, as Postfix 3.7 writes it."""
    srv = postern(main_cf=certs.main_cf() + "smtpd_tls_received_header = yes\n")
    with srv.smtp() as s:
        s.starttls(context=certs.context())
        cipher, _, bits = s.sock.cipher()
        s.ehlo("client.example")
        s.sendmail("alice@example.net", [RCPT], MESSAGE)
    text = content(srv, only_message(srv)).decode()
    assert text.startswith(
        "Received: from client.example (localhost [127.0.0.1])\r\n"
        "\t(using TLSv1.3 with cipher %s (%d/%d bits)\r\n"
        "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
        "\t(No client certificate requested)\r\n"
        "\tby mx.postern.test (postern) with ESMTPS id " % (cipher, bits, bits)), text


def test_excluded_cipher_is_not_negotiated(postern, certs):
    """smtpd_tls_exclude_ciphers removes a TLS 1.2 cipher: a client that
    offers only that cipher cannot complete the handshake."""
    srv = postern(main_cf=certs.main_cf() + "smtpd_tls_exclude_ciphers = AESGCM\n")
    ctx = certs.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    try:
        starttls(c, ctx)
        handshake = "succeeded with " + str(c.sock.cipher())
    except (ssl.SSLError, ConnectionResetError):
        handshake = "failed"
    assert handshake == "failed"
    # a client that also offers a CBC cipher gets that one
    ctx = certs.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA384")
    with srv.smtp() as s:
        s.starttls(context=ctx)
        assert s.sock.cipher()[0] == "ECDHE-RSA-AES256-SHA384"


def test_starttls_handshake_timeout(postern, certs):
    """smtpd_starttls_timeout bounds the handshake: a client that says
    STARTTLS and then nothing is dropped after it, not after smtpd_timeout."""
    srv = postern(main_cf=certs.main_cf() + """
smtpd_starttls_timeout = 1s
smtpd_timeout = 60s
""")
    c = srv.raw()
    c.reply()
    assert c.cmd("STARTTLS") == "220 2.0.0 Ready to start TLS"
    assert hangup_time(c, 5) < 5
    assert "after STARTTLS from localhost[127.0.0.1]" in session_end(srv)


def test_implicit_tls_handshake_timeout(postern, certs):
    """On a wrapper-mode service the handshake is bounded the same way."""
    master = ("127.0.0.1:PORT inet n - n - - smtpd\n"
              "127.0.0.1:PORT2 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n")
    srv = postern(main_cf=certs.main_cf() + "smtpd_starttls_timeout = 1s\nsmtpd_timeout = 60s\n",
                  master_cf=master)
    c = srv.raw(srv.ports["PORT2"])
    assert hangup_time(c, 5) < 5
