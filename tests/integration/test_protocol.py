"""The SMTP protocol with real clients: PIPELINING (swaks and a raw
pipelined group), 8BITMIME, SMTPUTF8, DSN parameters, VRFY, ETRN, and
the effect of smtpd_discard_ehlo_keywords on a client."""
import smtplib

import pytest

from helpers import (after_received, content, envelope, export, only_message,  # noqa: F401
                     queued_id, session_end, swaks)

RCPT = "postmaster@mx.postern.test"
REFUSE_NOBODY = ("smtpd_recipient_restrictions = "
                 "check_recipient_access inline:{nobody@mx.postern.test=REJECT}\n")
NOBODY_REFUSED = "554 5.7.1 <nobody@mx.postern.test>: Recipient address rejected: Access denied"


def test_swaks_pipelining(postern):
    """swaks --pipeline sends MAIL, RCPT and DATA as one group: accepted,
    and not taken for improper pipelining (reject_unauth_pipelining in
    force)."""
    srv = postern(main_cf="smtpd_data_restrictions = reject_unauth_pipelining\n")
    out = swaks(srv, "--pipeline", "--from", "alice@example.net", "--to",
                RCPT + ",abuse@mx.postern.test", "--ehlo", "client.example")
    assert "<-  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    # swaks shows a pipelined group as several commands before their replies
    assert " -> MAIL FROM:<alice@example.net>\n -> RCPT TO:<%s>\n" % RCPT in out.stdout
    qid = only_message(srv)
    assert export(srv)[qid][1] == "from alice@example.net\nto %s\nto abuse@mx.postern.test\n" % RCPT
    assert "improper command pipelining" not in session_end(srv)


def test_pipelined_group_in_one_write(postern):
    """RFC 2920: MAIL, RCPT, RCPT, DATA in one write get their replies in
    order; the message follows the 354."""
    srv = postern(main_cf="smtpd_data_restrictions = reject_unauth_pipelining\n" + REFUSE_NOBODY)
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send("MAIL FROM:<a@example.net>\r\nRCPT TO:<%s>\r\nRCPT TO:<nobody@mx.postern.test>\r\n"
           "RCPT TO:<abuse@mx.postern.test>\r\nDATA\r\n" % RCPT)
    replies = [c.reply()[-1] for _ in range(5)]
    assert replies == ["250 2.1.0 Ok", "250 2.1.5 Ok", NOBODY_REFUSED, "250 2.1.5 Ok",
                       "354 End data with <CR><LF>.<CR><LF>"]
    reply = c.cmd("Subject: p\r\n\r\nbody\r\n.")
    assert reply.startswith("250 2.0.0 Ok: queued as ")
    assert "improper command pipelining" not in c.cmd("QUIT") + srv.maillog()


def test_pipelining_without_ehlo_is_improper(postern):
    """A HELO client that pipelines is flagged; reject_unauth_pipelining
    then refuses DATA with Postfix's reply."""
    srv = postern(main_cf="smtpd_data_restrictions = reject_unauth_pipelining\n")
    c = srv.raw()
    c.reply()
    c.cmd("HELO client.example")
    c.send("MAIL FROM:<a@example.net>\r\nRCPT TO:<%s>\r\nDATA\r\n" % RCPT)
    replies = [c.reply()[-1] for _ in range(3)]
    assert replies == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                       "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command "
                       "pipelining"]
    assert "improper command pipelining after MAIL from localhost[127.0.0.1]: " \
        "RCPT TO:<%s>\\r\\nDATA\\r\\n" % RCPT in srv.maillog()


def test_8bitmime(postern):
    """BODY=8BITMIME: 8-bit content stored byte for byte; the body type is
    kept in the envelope."""
    srv = postern()
    body = b"Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" \
           b"\xc3\xa9\xe2\x82\xac\xff\x80 raw bytes\r\n"
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("8bitmime")
        s.sendmail("alice@example.net", [RCPT], body, mail_options=["BODY=8BITMIME"])
    qid = only_message(srv)
    assert after_received(content(srv, qid)) == body
    assert "named_attribute: body_type=8BITMIME" in envelope(srv, qid)


def test_smtputf8(postern):
    """SMTPUTF8 with UTF-8 addresses: accepted, the envelope says so, the
    export keeps the addresses as sent, and the Received header says
    UTF8SMTP as Postfix writes it."""
    srv = postern()
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("smtputf8")
        s.sendmail("jörg@example.net", ["pöstmaster@mx.postern.test"],
                   "Subject: grüße\r\n\r\nbody\r\n".encode(), mail_options=["SMTPUTF8"])
    qid = only_message(srv)
    assert export(srv)[qid][1] == "from jörg@example.net\nto pöstmaster@mx.postern.test\n"
    assert "named_attribute: smtputf8=yes" in envelope(srv, qid)
    assert "\tby mx.postern.test (postern) with UTF8SMTP id %s\r\n" % qid in \
        content(srv, qid).decode()


def test_smtputf8_disabled(postern):
    """smtputf8_enable = no: not offered; a client that insists is refused."""
    srv = postern(main_cf="smtputf8_enable = no\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("smtputf8")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            s.mail("jörg@example.net", ["SMTPUTF8"])
        assert s.docmd("MAIL FROM:<a@example.net> SMTPUTF8") == \
            (555, b"5.5.4 Unsupported option: SMTPUTF8")


def test_dsn_parameters(postern):
    """DSN parameters from a real client are accepted and RET/ENVID kept."""
    srv = postern()
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("dsn")
        s.sendmail("alice@example.net", [RCPT], b"Subject: dsn\r\n\r\nbody\r\n",
                   mail_options=["RET=HDRS", "ENVID=QQ+2B1"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@example.net"])
    env = envelope(srv, only_message(srv))
    assert "named_attribute: ret=HDRS" in env and "named_attribute: envid=QQ+2B1" in env


def test_vrfy(postern):
    """VRFY answers 252 with the address; disable_vrfy_command removes it."""
    srv = postern()
    with srv.smtp() as s:
        assert s.verify("postmaster") == (252, b"2.0.0 postmaster")
        assert s.verify("alice@example.net") == (252, b"2.0.0 alice@example.net")
        assert s.docmd("VRFY <alice@example.net>") == (252, b"2.0.0 <alice@example.net>")
    srv = postern(main_cf="disable_vrfy_command = yes\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("vrfy")
        assert s.verify("postmaster") == (502, b"5.5.1 VRFY command is disabled")


def test_etrn(postern):
    """ETRN for a domain in fast_flush_domains starts the queue; another
    is refused, as Postfix does (no enhanced code)."""
    srv = postern(main_cf="relay_domains = relay.example\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("etrn")
        assert s.docmd("ETRN", "relay.example") == (250, b"Queuing started")
        assert s.docmd("ETRN", "other.example") == (459, b"<other.example>: service unavailable")
        assert s.docmd("ETRN") == (500, b"Syntax: ETRN domain")


def test_discarded_keywords_change_the_client(postern):
    """smtpd_discard_ehlo_keywords hides PIPELINING and CHUNKING from a
    client: swaks then sends commands one by one and uses DATA."""
    srv = postern(main_cf="smtpd_discard_ehlo_keywords = pipelining, chunking, silent-discard\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert not s.has_extn("pipelining") and not s.has_extn("chunking")
        assert s.has_extn("size")
    out = swaks(srv, "--pipeline", "--from", "alice@example.net", "--to", RCPT)
    assert "<-  250 2.0.0 Ok: queued as " in out.stdout, out.stdout
    assert "discarding EHLO keywords" not in srv.maillog()


def test_several_transactions_in_one_session(postern):
    """One connection, three messages, a refused recipient between them:
    three queue files with their own envelopes."""
    srv = postern(main_cf=REFUSE_NOBODY)
    ids = []
    with srv.smtp() as s:
        s.ehlo("client.example")
        for i in range(3):
            s.mail("s%d@example.net" % i)
            s.rcpt(RCPT)
            assert s.rcpt("nobody@mx.postern.test") == (554, NOBODY_REFUSED[4:].encode())
            code, text = s.data(b"Subject: %d\r\n\r\nbody\r\n" % i)
            ids.append(queued_id(text))
    files = export(srv)
    assert sorted(files) == sorted(ids)
    for i, qid in enumerate(ids):
        assert files[qid][1] == "from s%d@example.net\nto %s\n" % (i, RCPT)
    assert "disconnect from localhost[127.0.0.1] ehlo=1 mail=3 rcpt=3/6 data=3 quit=1 " \
        "commands=11/14" in session_end(srv)
