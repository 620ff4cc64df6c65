"""TLS client certificates: what smtpd_tls_ask_ccert and smtpd_tls_CAfile
make of a CA-signed, a self-signed and a missing certificate, in the log,
the Received header and the restrictions permit_tls_all_clientcerts,
permit_tls_clientcerts (relay_clientcerts) and check_ccert_access; and
smtpd_tls_req_ccert at level encrypt."""
from helpers import certs, content, only_message, queued_ids, session_end, starttls  # noqa: F401

LOCAL = "postmaster@mx.postern.test"
REMOTE = "someone@example.com"


def ask_ccert(certs, extra=""):
    return certs.main_cf() + ("smtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = %s\n"
                              "smtpd_tls_received_header = yes\n" % certs.ca) + extra


def clients(certs):
    """name -> client context: CA-signed, self-signed, no certificate."""
    return {
        "signed": certs.context(certs.client_cert, certs.client_key),
        "self": certs.context(certs.self_cert, certs.self_key),
        "none": certs.context(),
    }


def rcpt_replies(srv, context, rcpts):
    """STARTTLS with context, then MAIL and one RCPT per address."""
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    starttls(c, context)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<alice@example.net>") == "250 2.1.0 Ok"
    replies = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
    c.cmd("QUIT")
    c.close()
    return replies


def test_certificates_in_log_and_received_header(postern, certs):
    """Trusted, Untrusted and Anonymous sessions, and the Received comment
    naming the client's certificate, as Postfix 3.7 writes them."""
    srv = postern(main_cf=ask_ccert(certs))
    expected = {
        "signed": ("Trusted", '(Client CN "client.example", Issuer "Postern Test CA" '
                              '(verified OK))'),
        "self": ("Untrusted", '(Client CN "self.example", Issuer "self.example" '
                              '(not verified))'),
        "none": ("Anonymous", "(Client did not present a certificate)"),
    }
    for n, (name, context) in enumerate(clients(certs).items(), 1):
        with srv.smtp() as s:
            s.starttls(context=context)
            s.ehlo("client.example")
            s.sendmail("alice@example.net", [LOCAL], "Subject: %s\r\n\r\nbody\r\n" % name)
        log = session_end(srv, n)
        trust = expected[name][0]
        assert log.count("%s TLS connection established from localhost[127.0.0.1]" % trust) == 1
        if name != "none":
            assert "client-signature ECDSA (prime256v1) client-digest SHA256" in log
    texts = [content(srv, qid).decode() for qid in queued_ids(srv)]
    for name, (_, comment) in expected.items():
        mine = [t for t in texts if "Subject: %s\r\n" % name in t]
        assert len(mine) == 1
        header = mine[0].split("\r\n\tby ", 1)[0]
        assert header.endswith(")\r\n\t" + comment), header


def test_permit_tls_all_clientcerts(postern, certs):
    """Only a certificate that verifies against smtpd_tls_CAfile relays."""
    srv = postern(main_cf=ask_ccert(certs, """
smtpd_relay_restrictions = permit_tls_all_clientcerts, reject_unauth_destination
"""))
    denied = "554 5.7.1 <%s>: Relay access denied" % REMOTE
    got = {name: rcpt_replies(srv, ctx, [REMOTE, LOCAL]) for name, ctx in clients(certs).items()}
    assert got == {
        "signed": ["250 2.1.5 Ok", "250 2.1.5 Ok"],
        "self": [denied, "250 2.1.5 Ok"],
        "none": [denied, "250 2.1.5 Ok"],
    }


def test_permit_tls_clientcerts_with_relay_clientcerts(postern, certs):
    """relay_clientcerts lists certificate or public-key fingerprints; a
    listed certificate relays even when no CA vouches for it, a trusted one
    that is not listed does not."""
    table = "%s self-signed, listed\n" % certs.self_fp
    srv = postern(main_cf=ask_ccert(certs, """
relay_clientcerts = hash:CONFDIR/relay_clientcerts
smtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination
"""), tables={"hash:relay_clientcerts": table})
    denied = "554 5.7.1 <%s>: Relay access denied" % REMOTE
    got = {name: rcpt_replies(srv, ctx, [REMOTE]) for name, ctx in clients(certs).items()}
    assert got == {"signed": [denied], "self": ["250 2.1.5 Ok"], "none": [denied]}

    table = "%s public key of the signed one\n" % certs.client_pkey_fp
    srv = postern(main_cf=ask_ccert(certs, """
relay_clientcerts = hash:CONFDIR/relay_clientcerts
smtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination
"""), tables={"hash:relay_clientcerts": table})
    got = {name: rcpt_replies(srv, ctx, [REMOTE]) for name, ctx in clients(certs).items()}
    assert got == {"signed": ["250 2.1.5 Ok"], "self": [denied], "none": [denied]}


def test_check_ccert_access(postern, certs):
    """check_ccert_access looks up the fingerprint of any certificate,
    verified or not; the reply names the certificate's CN."""
    table = "%s REJECT Go away\n%s OK\n" % (certs.self_fp, certs.client_fp)
    srv = postern(main_cf=ask_ccert(certs, """
smtpd_client_restrictions = check_ccert_access hash:CONFDIR/ccert, reject
"""), tables={"hash:ccert": table})
    got = {name: rcpt_replies(srv, ctx, [LOCAL]) for name, ctx in clients(certs).items()}
    assert got == {
        "signed": ["250 2.1.5 Ok"],
        "self": ["554 5.7.1 <self.example>: Client certificate rejected: Go away"],
        "none": ["554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied"],
    }


def test_no_certificate_without_ask_ccert(postern, certs):
    """Without smtpd_tls_ask_ccert no certificate is requested, so even a
    CA-signed one the client holds does not count."""
    srv = postern(main_cf=certs.main_cf() + """
smtpd_tls_CAfile = %s
smtpd_tls_received_header = yes
smtpd_relay_restrictions = permit_tls_all_clientcerts, reject_unauth_destination
""" % certs.ca)
    signed = clients(certs)["signed"]
    assert rcpt_replies(srv, signed, [REMOTE]) == \
        ["554 5.7.1 <%s>: Relay access denied" % REMOTE]
    with srv.smtp() as s:
        s.starttls(context=signed)
        s.ehlo("client.example")
        s.sendmail("alice@example.net", [LOCAL], "Subject: x\r\n\r\nbody\r\n")
    header = content(srv, only_message(srv)).decode().split("\r\n\tby ", 1)[0]
    assert header.endswith(")\r\n\t(No client certificate requested)"), header


def test_req_ccert(postern, certs):
    """smtpd_tls_req_ccert at level encrypt: right after the handshake a
    client without a trusted certificate gets 421 and is disconnected."""
    srv = postern(main_cf=certs.main_cf(level="encrypt") + """
smtpd_tls_req_ccert = yes
smtpd_tls_CAfile = %s
""" % certs.ca)
    expected = {
        "signed": ["250 2.0.0 Ok"],
        "self": ["421 4.7.1 mx.postern.test Error: Client certificate not trusted",
                 "[connection closed]"],
        "none": ["421 4.7.1 mx.postern.test Error: No client certificate presented",
                 "[connection closed]"],
    }
    for name, context in clients(certs).items():
        c = srv.raw()
        c.reply()
        c.cmd("EHLO client.example")
        starttls(c, context)
        c.send("NOOP\r\n")
        got = [c.reply()[-1]]
        if got[0].startswith("421"):
            got.append(c.reply()[-1])
        assert got == expected[name], name
        c.close()
