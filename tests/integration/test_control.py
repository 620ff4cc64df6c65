"""Process control: `run` in the foreground until SIGTERM, the `start`,
`status`, `stop` daemon commands through the pid file, privileges dropped
to mail_owner, master.cf services with -o overrides, inet_interfaces and
inet_protocols, and workers that do not outlive their master."""
import os
import stat
import pwd
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, wait_for, wait_listening


def greeting(host, port, family=socket.AF_INET):
    """The 220 line of a service, or None when nothing listens there."""
    s = socket.socket(family)
    s.settimeout(10)
    try:
        s.connect((host, port))
    except OSError:
        s.close()
        return None
    with s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.sendall(b"QUIT\r\n")
        return data.decode().strip()


def uids(pid):
    """Real, effective, saved and file-system uids of a process."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def test_run_serves_until_sigterm(postern):
    srv = postern()
    pid = srv.proc.pid
    assert srv.master_pid() == pid, "run writes its pid to data_directory/postern.pid"
    assert greeting("127.0.0.1", srv.port) == "220 mx.postern.test ESMTP"
    workers = [p for p in srv.pids() if p != pid]
    assert len(workers) >= 2, "postern_smtpd_workers = 2"
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    assert wait_for(lambda: not srv.pids(), 10), "workers stop with the master"
    assert srv.postern("status").returncode == 1
    assert greeting("127.0.0.1", srv.port) is None
    assert "terminating on signal" in srv.maillog()


def test_start_status_stop(postern):
    srv = postern(start=False)
    assert srv.postern("status").returncode == 1
    r = srv.postern("start")
    assert r.returncode == 0, r.stderr
    assert "running" in r.stdout
    assert wait_listening(srv.port)
    pid = srv.master_pid()
    assert pid and pid in srv.pids()
    st = srv.postern("status")
    assert st.returncode == 0
    assert "PID: %d" % pid in st.stdout
    again = srv.postern("start")
    assert again.returncode == 1
    assert "already running" in again.stderr
    assert greeting("127.0.0.1", srv.port) == "220 mx.postern.test ESMTP"
    stopper = subprocess.Popen([BIN, "-c", srv.conf, "stop"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    begun = time.time()
    assert wait_for(lambda: not srv.pids(), 10), "no process outlives `stop`"
    took = time.time() - begun
    out, err = stopper.communicate(timeout=20)
    assert stopper.returncode == 0, err
    assert "stopped" in out
    assert took < 3, "the daemon took %.1f s to exit after SIGTERM" % took
    assert greeting("127.0.0.1", srv.port) is None
    st = srv.postern("status")
    assert st.returncode == 1
    assert "not running" in st.stdout


def test_commands_without_a_running_server(postern):
    srv = postern(start=False)
    for cmd in ("stop", "reload"):
        r = srv.postern(cmd)
        assert r.returncode == 1, cmd
        assert "not running" in r.stderr, cmd


def test_stale_pid_file_does_not_block_start(postern):
    """A pid file left by a crash names a dead process: start goes ahead."""
    srv = postern(start=False)
    os.makedirs(os.path.join(srv.root, "data"), exist_ok=True)
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    with open(os.path.join(srv.root, "data", "postern.pid"), "w") as f:
        f.write("%d\n" % dead)
    assert srv.postern("status").returncode == 1
    r = srv.postern("start")
    assert r.returncode == 0, r.stderr
    assert wait_listening(srv.port)
    assert srv.master_pid() != dead
    assert srv.postern("stop").returncode == 0


@pytest.fixture
def root_only():
    if os.geteuid() != 0:
        pytest.skip("privileges are dropped only when started as root")


def children_run_as(srv, uid):
    """Every process but the master (which keeps root to bind new ports on
    reload, as Postfix's does) runs as uid once it is set up."""
    def check():
        children = [p for p in srv.pids() if p != srv.master_pid()]
        return len(children) >= 3 and all(uids(p) == [uid] * 4 for p in children)
    return wait_for(check, 5)


def test_privileges_dropped_to_mail_owner(postern, root_only):
    srv = postern()
    owner = pwd.getpwnam("postfix")
    assert greeting("127.0.0.1", srv.port)
    assert children_run_as(srv, owner.pw_uid), \
        {p: uids(p) for p in srv.pids() if p != srv.master_pid()}
    with srv.smtp() as s:
        s.sendmail("alice@example.net", ["postmaster@mx.postern.test"], "Subject: x\r\n\r\nx\r\n")
    # the message and the spare files made ahead of the next ones: all
    # belong to mail_owner
    incoming = os.path.join(srv.queue, "incoming")
    files = os.listdir(incoming)
    assert len([f for f in files
                if os.stat(os.path.join(incoming, f)).st_mode & stat.S_IXUSR]) == 1
    for f in files:
        assert os.stat(os.path.join(incoming, f)).st_uid == owner.pw_uid


def test_mail_owner_parameter_is_honoured(postern, root_only):
    srv = postern(main_cf="mail_owner = nobody")
    assert greeting("127.0.0.1", srv.port)
    assert children_run_as(srv, pwd.getpwnam("nobody").pw_uid)
    with srv.smtp() as s:
        code, _ = s.ehlo("client.example")
        assert code == 250


def test_unknown_mail_owner_fails_start_loudly(postern, root_only):
    """`start` must not report success for a daemon that cannot run."""
    srv = postern(main_cf="mail_owner = no-such-user-postern", start=False)
    r = srv.postern("start")
    assert r.returncode != 0, r.stdout
    assert "mail_owner" in r.stderr
    assert wait_for(lambda: not srv.pids(), 5), "nothing keeps running"


def test_master_cf_services_with_overrides(postern):
    srv = postern(master_cf="""\
# comment lines and non-smtpd services are ignored
127.0.0.1:PORT  inet  n  -  n  -  -  smtpd
127.0.0.1:PORT2 inet  n  -  n  -  -  smtpd
  -o syslog_name=postfix/submission
  -o smtpd_helo_required=yes
  -o myhostname=submission.postern.test
pickup    unix  n  -  y  60  1  pickup
""")
    port2 = srv.ports["PORT2"]
    assert greeting("127.0.0.1", srv.port) == "220 mx.postern.test ESMTP"
    assert greeting("127.0.0.1", port2) == "220 submission.postern.test ESMTP"
    with srv.smtp() as s:
        assert s.mail("a@example.net")[0] == 250
    with srv.smtp(port=port2) as s:
        code, text = s.mail("a@example.net")
        assert (code, text) == (503, b"5.5.1 Error: send HELO/EHLO first")
    assert wait_for(lambda: "postfix/submission/smtpd[" in srv.maillog(), 5), \
        "-o syslog_name names the service's log lines"
    plain = [l for l in srv.maillog().splitlines() if " postfix/smtpd[" in l]
    assert any("connect from" in l for l in plain)


def test_inet_interfaces_limits_bare_port_services(postern):
    srv = postern(main_cf="inet_interfaces = 127.0.0.2", master_cf="""\
127.0.0.1:PORT inet n - n - - smtpd
PORT2          inet n - n - - smtpd
""")
    port2 = srv.ports["PORT2"]
    assert greeting("127.0.0.2", port2) == "220 mx.postern.test ESMTP"
    assert greeting("127.0.0.1", port2) is None


@pytest.mark.parametrize("protocols,v6", [("ipv4", False), ("all", True), ("ipv4, ipv6", True)])
def test_inet_protocols(postern, protocols, v6):
    srv = postern(main_cf="inet_interfaces = loopback-only\ninet_protocols = " + protocols,
                  master_cf="127.0.0.1:PORT inet n - n - - smtpd\nPORT2 inet n - n - - smtpd\n")
    port2 = srv.ports["PORT2"]
    assert greeting("127.0.0.1", port2) == "220 mx.postern.test ESMTP"
    got = greeting("::1", port2, socket.AF_INET6)
    assert (got == "220 mx.postern.test ESMTP") == v6, got


def test_workers_exit_when_the_master_dies(postern):
    """As Postfix's daemons do when their master goes away: orphans would
    keep the ports bound and a new master could not start."""
    srv = postern()
    master = srv.master_pid()
    os.kill(master, signal.SIGKILL)
    srv.proc.wait()
    assert wait_for(lambda: not srv.pids(), 10), "left running: %s" % srv.pids()
    srv.start()
    assert greeting("127.0.0.1", srv.port) == "220 mx.postern.test ESMTP"


def test_peername_lookup_off(postern):
    """smtpd_peername_lookup = no: the client is `unknown` in the log and the
    Received header, without asking DNS."""
    srv = postern(main_cf="smtpd_peername_lookup = no")
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.sendmail("a@example.net", ["postmaster@mx.postern.test"],
                   "Subject: x\r\nMessage-ID: <peer@example.net>\r\n\r\nx\r\n")
    assert srv.wait_log("disconnect from unknown[127.0.0.1]")
    assert "connect from unknown[127.0.0.1]" in srv.maillog()
    qid = srv.postern("queue", "list").stdout.split("\n")[1].split()[0].rstrip("*!")
    content = srv.postern("queue", "cat", "-m", qid).stdout
    assert content.startswith("Received: from client.example (unknown [127.0.0.1])")
