"""The client a session stands for when a proxy is in front: XCLIENT (as
a mail proxy sends it) and the HAProxy PROXY protocol, versions 1 and 2
(headers built here byte by byte).  The proxied client must reach the
restrictions, the log, the Received header and the queue file."""
import ipaddress
import socket
import struct

from helpers import (certs, content, envelope, only_message, queued_ids,  # noqa: F401
                     shared_dir, wait_log, write_file)
from conftest import RawClient

RCPT = "postmaster@mx.postern.test"
REMOTE = "someone@example.com"
PROXY_MASTER = ("127.0.0.1:PORT inet n - n - - smtpd\n"
                "127.0.0.1:PORT2 inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy\n")
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(command=1, family=0x11, src="203.0.113.9", dst="127.0.0.1", sport=40000,
             dport=25, tlvs=b""):
    """A PROXY v2 header: command 1 PROXY / 0 LOCAL, family 0x11 TCP4."""
    addrs = b""
    if family == 0x11:
        addrs = (ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
                 + struct.pack("!HH", sport, dport))
    body = addrs + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def proxied(srv, header):
    """Connect to the PROXY service and send header; a RawClient."""
    sock = socket.create_connection(("127.0.0.1", srv.ports["PORT2"]), timeout=10)
    sock.sendall(header)
    return RawClient(sock)


def send_message(c, helo="client.example", rcpt=RCPT):
    """EHLO, one message to rcpt, QUIT; the reply to the end of data."""
    c.cmd("EHLO " + helo)
    assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
    reply = c.cmd("RCPT TO:<%s>" % rcpt)
    if not reply.startswith("250 "):
        c.cmd("QUIT")
        return reply
    assert c.cmd("DATA").startswith("354 ")
    reply = c.cmd("Subject: proxied\r\n\r\nbody\r\n.")
    c.cmd("QUIT")
    return reply


def check_client(srv, name, addr, port):
    """The one queued message was received from name[addr]:port."""
    qid = only_message(srv)
    text = content(srv, qid).decode()
    assert text.startswith("Received: from client.example (%s [%s])\r\n" % (name, addr)), text
    env = envelope(srv, qid)
    for attr in ("client_addr=%s" % addr, "client_port=%d" % port, "client_name=%s" % name):
        assert attr in env, (attr, env)
    log = wait_log(srv, qid + ": client=")
    assert qid + ": client=%s[%s]" % (name, addr) in log
    assert "connect from %s[%s]" % (name, addr) in log


def test_xclient_as_a_mail_proxy_sends_it(postern, shared_dir):
    """EHLO, XCLIENT with the real client's facts and its login, EHLO again,
    then the message: the new client relays as the logged-in user and the
    queue file names it."""
    users = write_file(shared_dir, "passwd", "alice:{PLAIN}alicepw\n")
    srv = postern(main_cf="""
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = passwd-file
smtpd_sasl_path = %s
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_authenticated_header = yes
""" % users)
    c = srv.raw()
    c.reply()
    c.send("EHLO proxy.example\r\n")
    assert "250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT" \
        in c.reply()
    assert c.cmd("XCLIENT ADDR=203.0.113.9 NAME=mail.example.net PORT=40000 LOGIN=alice") == \
        "220 mx.postern.test ESMTP"
    assert send_message(c, rcpt=REMOTE).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "mail.example.net", "203.0.113.9", 40000)
    text = content(srv, only_message(srv)).decode()
    assert "\t(Authenticated sender: alice)\r\n\tby mx.postern.test (postern) with ESMTPA id" \
        in text


def test_xclient_helo_and_proto(postern):
    """XCLIENT HELO= and PROTO= stand for the client's own EHLO: the
    message can follow at once, and the Received header shows them."""
    srv = postern()
    c = srv.raw()
    c.reply()
    assert c.cmd("XCLIENT ADDR=203.0.113.9 NAME=mail.example.net HELO=relay.client.example "
                 "PROTO=ESMTP") == "220 mx.postern.test ESMTP"
    assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    qid = c.cmd("Subject: x\r\n\r\nbody\r\n.").split()[-1]
    text = content(srv, qid).decode()
    assert text.startswith("Received: from relay.client.example (mail.example.net "
                           "[203.0.113.9])\r\n\tby mx.postern.test (postern) with ESMTP id "), text
    assert "named_attribute: helo=relay.client.example" in envelope(srv, qid)


def test_xclient_client_meets_the_restrictions(postern):
    """Client restrictions judge the XCLIENT address, not the proxy's."""
    srv = postern(main_cf="smtpd_client_restrictions = check_client_access cidr:CONFDIR/clients\n",
                  tables={"cidr:clients": "203.0.113.0/24 REJECT\n"})
    c = srv.raw()
    c.reply()
    assert c.cmd("XCLIENT ADDR=203.0.113.9 NAME=mail.example.net") == "220 mx.postern.test ESMTP"
    assert send_message(c) == \
        "554 5.7.1 <mail.example.net[203.0.113.9]>: Client host rejected: Access denied"
    assert queued_ids(srv) == []


def test_xclient_needs_authorization(postern):
    """Outside smtpd_authorized_xclient_hosts: not offered, refused."""
    srv = postern(main_cf="smtpd_authorized_xclient_hosts = 192.0.2.1\n")
    c = srv.raw()
    c.reply()
    c.send("EHLO proxy.example\r\n")
    assert not [line for line in c.reply() if "XCLIENT" in line]
    assert c.cmd("XCLIENT ADDR=203.0.113.9") == "550 5.7.0 Error: insufficient authorization"
    assert send_message(c).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "localhost", "127.0.0.1", c.sock.getsockname()[1])


def test_proxy_v1(postern):
    """A v1 header: the client's address and port come from it, its name
    from DNS (PTR and forward-confirming A of 203.0.113.9)."""
    srv = postern(master_cf=PROXY_MASTER)
    c = proxied(srv, b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 25\r\n")
    assert c.reply() == ["220 mx.postern.test ESMTP"]
    assert send_message(c).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "mail.example.net", "203.0.113.9", 40000)


def test_proxy_v2_with_tlvs(postern):
    """A v2 PROXY header with TLVs after the addresses (skipped)."""
    srv = postern(master_cf=PROXY_MASTER)
    c = proxied(srv, proxy_v2(tlvs=b"\x04\x00\x03abc" + b"\x02\x00\x09authority"))
    assert c.reply() == ["220 mx.postern.test ESMTP"]
    assert send_message(c).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "mail.example.net", "203.0.113.9", 40000)


def test_proxy_v2_client_meets_the_restrictions(postern):
    """Restrictions see the proxied client: 203.0.113.66 is refused by a
    cidr table and named from DNS in the reply."""
    srv = postern(master_cf=PROXY_MASTER,
                  main_cf="smtpd_client_restrictions = check_client_access cidr:CONFDIR/c\n",
                  tables={"cidr:c": "203.0.113.66/32 REJECT Dynamic address\n"})
    c = proxied(srv, proxy_v2(src="203.0.113.66", sport=5555))
    c.reply()
    assert send_message(c) == "554 5.7.1 <dynamic-66.pool.example.net[203.0.113.66]>: " \
                              "Client host rejected: Dynamic address"
    assert queued_ids(srv) == []


def test_proxy_v2_local(postern):
    """A v2 LOCAL header (a proxy's health check, or a connection it makes
    itself): as in Postfix, the session is the real connection's."""
    srv = postern(master_cf=PROXY_MASTER)
    c = proxied(srv, proxy_v2(command=0, family=0))
    assert c.reply() == ["220 mx.postern.test ESMTP"]
    assert send_message(c).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "localhost", "127.0.0.1", c.sock.getsockname()[1])


def test_proxy_bad_headers(postern):
    """What is not a usable header ends the session as Postfix does:
    421 4.3.0 and a warning; an IPv6 client while inet_protocols has no
    IPv6 too."""
    srv = postern(master_cf=PROXY_MASTER)
    for header in (b"EHLO client.example\r\n", b"PROXY UNKNOWN\r\n",
                   b"PROXY TCP6 2001:db8::1 ::1 40000 25\r\n",
                   b"PROXY TCP4 203.0.113.999 127.0.0.1 40000 25\r\n",
                   V2_SIGNATURE + b"\x11\x11\x00\x00"):
        c = proxied(srv, header)
        assert c.reply() == ["421 4.3.0 mx.postern.test Server local error"], header
        assert c.reply() == ["[connection closed]"], header
    assert "warning: haproxy read: " in srv.maillog()
    assert queued_ids(srv) == []


def test_proxy_header_timeout(postern):
    """smtpd_upstream_proxy_timeout: no header in time, 421 4.3.0."""
    srv = postern(master_cf=PROXY_MASTER, main_cf="smtpd_upstream_proxy_timeout = 1s\n")
    c = proxied(srv, b"")
    assert c.reply() == ["421 4.3.0 mx.postern.test Server local error"]
    assert "warning: haproxy read: timeout error" in srv.maillog()


def test_proxy_in_front_of_implicit_tls(postern, certs):
    """haproxy in front of a wrapper-mode service: the header comes in the
    clear, then the TLS handshake."""
    master = ("127.0.0.1:PORT inet n - n - - smtpd\n"
              "127.0.0.1:PORT2 inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy"
              " -o smtpd_tls_wrappermode=yes\n")
    srv = postern(master_cf=master, main_cf=certs.main_cf())
    sock = socket.create_connection(("127.0.0.1", srv.ports["PORT2"]), timeout=10)
    sock.sendall(b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 465\r\n")
    c = RawClient(certs.context().wrap_socket(sock, server_hostname="mx.postern.test"))
    assert c.reply() == ["220 mx.postern.test ESMTP"]
    assert send_message(c).startswith("250 2.0.0 Ok: queued as ")
    check_client(srv, "mail.example.net", "203.0.113.9", 40000)
