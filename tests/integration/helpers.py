"""Helpers for the SMTP server tests: waiting for events, the queue
directory, TLS clients, swaks, certificates and a real Dovecot.

Fixtures defined here (`certs`, `dovecot`) are imported by the test modules
that use them:

    from helpers import certs, dovecot  # noqa: F401 (fixtures)
"""
import atexit
import hashlib
import os
import stat
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, TOP, RawClient

DOVECOT = os.path.join(TOP, "tests", "lib", "dovecot-server.sh")
MAKE_CERT = os.path.join(TOP, "scripts", "make-test-cert.sh")
QUEUE_DIRS = ("incoming", "active", "deferred", "hold")
MESSAGE = "Subject: test\r\nMessage-ID: <t@example.net>\r\n\r\nbody\r\n"


def wait_until(predicate, timeout=10.0, what="condition"):
    """Poll predicate until it returns something true; return that value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def wait_log(srv, text, timeout=10.0, count=1):
    """Wait until text is in the server's log (count times); return the log."""
    return wait_until(lambda: srv.maillog().count(text) >= count and srv.maillog(), timeout,
                      "log text " + repr(text))


def session_end(srv, count=1):
    """Wait for the disconnect line of the count-th client session; return
    the log.  (The probe that waits for the server to listen sends no
    command: its line ends in "commands=0" and is not counted.)"""
    def ended():
        log = srv.maillog()
        lines = [line for line in log.splitlines()
                 if "disconnect from localhost[127.0.0.1] " in line
                 and not line.endswith(" commands=0")]
        return len(lines) >= count and log
    return wait_until(ended, 10, "the end of session %d" % count)


def shared_tmpdir(prefix):
    """A directory that unprivileged server processes can traverse."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


@pytest.fixture
def shared_dir():
    """A temporary directory that the server can read after dropping its
    privileges to mail_owner (pytest's tmp_path is private to root)."""
    path = shared_tmpdir("postern-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_file(directory, name, text, mode=0o644):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# ---- the queue ----

def queue_files(srv, sub, complete=True):
    """Names of the files in one queue subdirectory (incoming, hold ...).
    A message is written in place with mode 0600 and marked complete with
    0700 (as Postfix marks its queue files): complete=True lists only
    complete files, False only those being written (or left by a crash),
    None all of them."""
    path = os.path.join(srv.queue, sub)
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        try:
            done = bool(os.stat(os.path.join(path, n)).st_mode & stat.S_IXUSR)
        except FileNotFoundError:
            continue
        if complete is None or done == complete:
            out.append(n)
    return sorted(out)


def queued_ids(srv):
    """Queue IDs of every committed message, from the queue directories."""
    return sorted(f for d in QUEUE_DIRS for f in queue_files(srv, d))


def written_tmp_files(srv):
    """Files being written that hold data: a message in progress or left
    behind (the empty spare files made ahead of time are not counted)."""
    out = []
    for d in ("tmp", "incoming"):
        path = os.path.join(srv.queue, d)
        for f in queue_files(srv, d, complete=None if d == "tmp" else False):
            try:
                if os.path.getsize(os.path.join(path, f)) > 0:
                    out.append(f)
            except FileNotFoundError:
                pass
    return sorted(out)


def content(srv, qid):
    """A committed message's content, byte for byte (`queue cat -m`)."""
    out = subprocess.run([BIN, "-c", srv.conf, "queue", "cat", "-m", qid],
                         capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def after_received(data):
    """Message content without the Received header the server prepended."""
    i = 0
    while True:
        j = data.index(b"\r\n", i)
        if data[j + 2:j + 3] not in (b"\t", b" "):
            return data[j + 2:]
        i = j + 2


def envelope(srv, qid):
    """`queue cat -e` output as text."""
    out = srv.postern("queue", "cat", "-e", qid)
    assert out.returncode == 0, out.stderr
    return out.stdout


def export(srv):
    """`queue export` into a fresh directory: {ID: (eml bytes, env text)}."""
    out = tempfile.mkdtemp(prefix="postern-export-")
    try:
        r = srv.postern("queue", "export", out)
        assert r.returncode == 0, r.stderr
        result = {}
        for name in os.listdir(out):
            qid, ext = name.rsplit(".", 1)
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            eml, env = result.get(qid, (None, None))
            result[qid] = (data, env) if ext == "eml" else (eml, data.decode())
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def only_message(srv):
    """The ID of the one committed message (asserting there is exactly one)."""
    ids = queued_ids(srv)
    assert len(ids) == 1, ids
    return ids[0]


def queued_id(reply):
    """The queue ID in "250 2.0.0 Ok: queued as ID" (also BDAT's form)."""
    text = reply.decode() if isinstance(reply, bytes) else reply
    assert "queued as " in text, text
    return text.rsplit("queued as ", 1)[1].split()[0]


# ---- clients ----

def swaks(srv, *args, port=None, timeout=30):
    """Run swaks against the server; its transcript (stdout and stderr)."""
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(port or srv.port),
           "--timeout", "10"] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def starttls(raw, context, server_hostname="mx.postern.test"):
    """STARTTLS on a RawClient, then the handshake; returns the 220 line."""
    line = raw.cmd("STARTTLS")
    assert line.startswith("220 "), line
    assert raw.buf == b"", "bytes after the 220 reply, before the handshake"
    raw.sock = context.wrap_socket(raw.sock, server_hostname=server_hostname)
    return line


def smtp_ssl(port, context):
    return smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=context)


def hangup_time(raw, timeout=5.0):
    """Seconds until the server closes the connection (whatever it sends
    first); fails when it is still open after timeout."""
    start = time.time()
    raw.sock.settimeout(timeout)
    try:
        while raw.sock.recv(65536):
            if time.time() - start > timeout:
                break
        else:
            return time.time() - start
    except (ConnectionResetError, ssl.SSLError):
        return time.time() - start
    except socket.timeout:
        pass
    raise AssertionError("the connection is still open after %.1f s" % timeout)


# ---- TLS certificates ----

def _openssl(*args):
    return subprocess.run(["openssl"] + list(args), check=True, capture_output=True,
                          text=True).stdout


def fingerprints(cert):
    """(certificate, public key) SHA-256 fingerprints in Postfix's notation."""
    out = _openssl("x509", "-in", cert, "-noout", "-fingerprint", "-sha256")
    cert_fp = out.strip().split("=", 1)[1].upper()
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    digest = hashlib.sha256(der).hexdigest().upper()
    return cert_fp, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


class Certs:
    """Server certificates (RSA and ECDSA, CN mx.postern.test), a test CA,
    a client certificate it signed (CN client.example) and a self-signed
    client certificate (CN self.example)."""

    def __init__(self, root):
        self.root = root
        for kind in ("rsa", "ec"):
            subprocess.run([MAKE_CERT, os.path.join(root, kind), "mx.postern.test", kind],
                           check=True, capture_output=True)
        self.rsa = os.path.join(root, "rsa")
        self.ec = os.path.join(root, "ec")
        self.ca = os.path.join(root, "ca.pem")
        ca_key = os.path.join(root, "ca-key.pem")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-days", "3650", "-subj", "/O=Postern Tests/CN=Postern Test CA",
                 "-keyout", ca_key, "-out", self.ca)
        self.client_key = os.path.join(root, "client-key.pem")
        self.client_cert = os.path.join(root, "client.pem")
        csr = os.path.join(root, "client.csr")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-subj", "/CN=client.example", "-keyout", self.client_key,
                 "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key,
                 "-CAcreateserial", "-days", "3650", "-out", self.client_cert)
        subprocess.run([MAKE_CERT, os.path.join(root, "self"), "self.example", "ec"],
                       check=True, capture_output=True)
        self.self_cert = os.path.join(root, "self", "cert.pem")
        self.self_key = os.path.join(root, "self", "key.pem")
        self.client_fp, self.client_pkey_fp = fingerprints(self.client_cert)
        self.self_fp, self.self_pkey_fp = fingerprints(self.self_cert)
        for dirpath, dirs, _ in os.walk(root):
            for name in dirs:
                os.chmod(os.path.join(dirpath, name), 0o755)

    def main_cf(self, kind="rsa", level="may"):
        """main.cf lines for a server with the certificate of kind."""
        d = getattr(self, kind)
        return ("smtpd_tls_security_level = %s\nsmtpd_tls_cert_file = %s/cert.pem\n"
                "smtpd_tls_key_file = %s/key.pem\n" % (level, d, d))

    def context(self, cert=None, key=None, **settings):
        """A client context that verifies the server's certificate chain
        (not the name: clients connect to 127.0.0.1); cert/key: a client
        certificate to present."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.rsa, "cert.pem"))
        ctx.load_verify_locations(os.path.join(self.ec, "cert.pem"))
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(cert, key)
        for name, value in settings.items():
            setattr(ctx, name, value)
        return ctx


_certs = None


@pytest.fixture(scope="session")
def certs():
    """Made once per test run (openssl takes a moment)."""
    global _certs
    if _certs is None:
        _certs = Certs(shared_tmpdir("postern-certs-"))
    yield _certs


def _remove_certs():
    if _certs is not None:
        shutil.rmtree(_certs.root, ignore_errors=True)


atexit.register(_remove_certs)


# ---- Dovecot ----

class Dovecot:
    """A private Dovecot auth server (tests/lib/dovecot-server.sh) with a
    passwd-file of USERS ("name:{PLAIN}password" lines)."""

    def __init__(self, users):
        self.dir = shared_tmpdir("postern-dovecot-")
        self.users = os.path.join(self.dir, "users")
        with open(self.users, "w") as f:
            f.write(users)
        os.chmod(self.users, 0o644)
        self.start()

    def start(self):
        """Start (again: on the same socket path)."""
        env = dict(os.environ, DOVECOT_OWNER_PID=str(os.getpid()))
        out = subprocess.run([DOVECOT, "start", os.path.join(self.dir, "srv"), self.users],
                             capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        self.socket = out.stdout.strip().splitlines()[-1]

    def log(self):
        try:
            with open(os.path.join(self.dir, "srv", "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        subprocess.run([DOVECOT, "stop", os.path.join(self.dir, "srv")], capture_output=True)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dovecot():
    """dovecot(users) starts a Dovecot; every one is stopped afterwards."""
    servers = []

    def make(users):
        d = Dovecot(users)
        servers.append(d)
        return d

    yield make
    for d in servers:
        d.remove()
