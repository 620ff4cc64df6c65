"""Fixtures for integration tests: the real postern daemon on loopback.

    def test_something(postern):
        srv = postern(main_cf="smtpd_helo_required = yes")
        with srv.smtp() as s:          # smtplib.SMTP connected to the server
            ...
        srv.maillog()                  # the server's log so far

A real DNS server (Debian's unbound via tests/lib/unbound-server.sh) serves
tests/integration/zone; the server under test asks only it.
"""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("POSTERN_BIN", os.path.join(TOP, "build", "postern"))
UNBOUND = os.path.join(TOP, "tests", "lib", "unbound-server.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll predicate until it returns something true; that value, or None on timeout."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value or None
        time.sleep(interval)


def wait_listening(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            try:
                s.connect(("127.0.0.1", port))
                return True
            except OSError:
                time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def dns_server():
    work = tempfile.mkdtemp(prefix="postern-dns-")
    env = dict(os.environ, UNBOUND_OWNER_PID=str(os.getpid()))
    out = subprocess.run([UNBOUND, "start", work, os.path.join(HERE, "zone")],
                         capture_output=True, text=True, env=env, check=True)
    port = int(out.stdout.strip().splitlines()[-1])
    yield "127.0.0.1@%d" % port
    subprocess.run([UNBOUND, "stop", work], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


class Server:
    """One postern instance: configuration, queue and log under a temp dir."""

    def __init__(self, root, main_cf, master_cf, dns, tables, env):
        self.root = root
        self.conf = os.path.join(root, "conf")
        self.port = free_port()
        self.ports = {}
        os.makedirs(self.conf)
        self.queue = os.path.join(root, "queue")
        self.log = os.path.join(root, "maillog")
        base = f"""
compatibility_level = 3.6
myhostname = mx.postern.test
mydomain = postern.test
mydestination = $myhostname, localhost.$mydomain, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_banner = $myhostname ESMTP
alias_maps =
alias_database =
local_recipient_maps =
smtpd_authorized_xclient_hosts = 127.0.0.1
queue_directory = {self.queue}
data_directory = {os.path.join(root, "data")}
maillog_file = {self.log}
postern_dns_servers = {dns}
postern_smtpd_workers = 2
smtpd_error_sleep_time = 0
"""
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(base + "\n" + (main_cf or "").replace("CONFDIR", self.conf) + "\n")
        for name, text in (tables or {}).items():
            path = os.path.join(self.conf, name.split(":", 1)[-1])
            with open(path, "w") as f:
                f.write(text)
            if name.split(":", 1)[0] in ("hash", "btree", "lmdb"):
                subprocess.run([BIN, "-c", self.conf, "map", name.split(":", 1)[0] + ":" + path],
                               check=True, capture_output=True)
        if master_cf is None:
            master_cf = "127.0.0.1:%d inet n - n - - smtpd\n" % self.port
        else:
            # PORT, PORT2, ... placeholders get free ports.
            for key in ("PORT3", "PORT2", "PORT"):
                if key in master_cf:
                    p = self.port if key == "PORT" else free_port()
                    self.ports[key] = p
                    master_cf = master_cf.replace(key, str(p))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master_cf)
        self.proc = None
        self.env = env

    def start(self, wrap=()):
        """`postern run` in the foreground; wrap: a command line to run it under."""
        self.stderr = open(os.path.join(self.root, "stderr.log"), "w")
        self.proc = subprocess.Popen(list(wrap) + [BIN, "-c", self.conf, "run"], stdout=self.stderr,
                                     stderr=subprocess.STDOUT, env=self.env)
        # The socket listens (the kernel queues connections) a moment before
        # the master writes its pid file: wait for both.
        if not wait_listening(self.port) or not wait_for(lambda: self.master_pid(), 10) \
                or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("postern did not start:\n" + self.output())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc:
            self.proc.wait()
        self.proc = None
        # A daemon from `postern start`, or processes a test left behind.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if wait_for(lambda: not self.pids(), 10):
                break

    def pids(self):
        """Every process of this instance (master, anvil, workers): they all
        carry the command line `postern -c CONF run|start`."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % name) as f:
                    zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                continue
            if (not zombie and len(argv) >= 4 and argv[1:3] == [b"-c", self.conf.encode()]
                    and argv[3] in (b"run", b"start")):
                found.append(int(name))
        return found

    def master_pid(self):
        """The pid in data_directory/postern.pid, or None."""
        try:
            with open(os.path.join(self.root, "data", "postern.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def listening_pids(self, port=None):
        """Processes other than the master that hold the listening socket of
        port (default: the main one), i.e. the workers that can accept there."""
        port = port or self.port
        sockets = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                field = row.split()
                if field[3] == "0A" and int(field[1].rsplit(":", 1)[1], 16) == port:
                    sockets.add("socket:[%s]" % field[9])
        master = self.master_pid()
        found = []
        for pid in self.pids():
            if pid == master:
                continue
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in sockets:
                        found.append(pid)
                        break
                except OSError:
                    pass
        return found

    def reload(self):
        """`postern reload`, then wait until only new workers accept."""
        before = set(self.listening_pids())
        mark = len(self.maillog())
        r = self.postern("reload")
        assert r.returncode == 0, r.stderr
        assert self.wait_log("reload --", 10, after=mark), "the master did not reload"
        renewed = wait_for(lambda: set(self.listening_pids()).isdisjoint(before)
                           and self.listening_pids(), 10)
        assert renewed, "workers of the old configuration still accept"
        return r

    def wait_log(self, text, timeout=10.0, after=0):
        """Wait until the maillog holds text (after offset `after`); True if it does."""
        return wait_for(lambda: text in self.maillog()[after:], timeout)

    def output(self):
        try:
            return open(os.path.join(self.root, "stderr.log")).read()
        except OSError:
            return ""

    def maillog(self):
        try:
            return open(self.log).read()
        except OSError:
            return ""

    def smtp(self, port=None, **kw):
        return smtplib.SMTP("127.0.0.1", port or self.port, timeout=10, **kw)

    def raw(self, port=None):
        """A plain socket for byte-exact tests."""
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        return RawClient(s)

    def postern(self, *args, input=None):
        return subprocess.run([BIN, "-c", self.conf] + list(args), capture_output=True,
                              text=True, input=input)


class RawClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply as a list of lines."""
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return lines if lines else ["[connection closed]"]
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()[-1]

    def close(self):
        self.sock.close()


@pytest.fixture
def postern(dns_server, tmp_path):
    servers = []

    def make(main_cf="", master_cf=None, tables=None, start=True, env=None):
        srv = Server(str(tmp_path / ("srv%d" % len(servers))), main_cf, master_cf, dns_server,
                     tables, env or os.environ.copy())
        servers.append(srv)
        return srv.start() if start else srv

    yield make
    for srv in servers:
        srv.stop()
