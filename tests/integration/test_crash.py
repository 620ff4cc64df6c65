"""Crash safety: every postern process is killed with SIGKILL, repeatedly,
while clients send.  After each restart every message that got 250 is in
the queue, byte for byte; nothing half-written shows up as a message; and
the temporary files the crash left behind are gone once the server is up."""
import os
import stat
import random
import signal
import time

from conftest import wait_for
from senders import Senders, check_queue, kill_all

ROUNDS = 6


def tmp_files(srv):
    """Files being written: in tmp/, or in incoming/ still with mode 0600."""
    names = set(os.listdir(os.path.join(srv.queue, "tmp")))
    incoming = os.path.join(srv.queue, "incoming")
    for n in os.listdir(incoming):
        try:
            if not os.stat(os.path.join(incoming, n)).st_mode & stat.S_IXUSR:
                names.add(n)
        except FileNotFoundError:
            pass
    return names


def test_kill_everything_while_clients_send(postern, tmp_path):
    srv = postern()
    rng = random.Random(4)
    senders = Senders(srv.port, threads=4, per_session=2).start()
    try:
        for rnd in range(ROUNDS):
            assert senders.wait_acked(15), "round %d: no progress: %s" % (rnd, senders.errors[-3:])
            # Land the kill at varied points of the transactions in flight.
            time.sleep(rng.uniform(0, 0.2))
            kill_all(srv)
            left = tmp_files(srv)
            srv.start()
            assert senders.wait_acked(5), "round %d: no progress after restart" % rnd
            stale = left & tmp_files(srv)
            assert not stale, "round %d: tmp/ files from before the crash: %s" % (rnd, sorted(stale))
    finally:
        senders.stop()
    srv.stop()
    found = check_queue(srv, senders, str(tmp_path / "export"))
    assert len(found) >= len(senders.acked) > 0


def test_killed_workers_are_replaced(postern, tmp_path):
    """A worker that dies loses only its open sessions: the master starts
    another and no acknowledged message is lost."""
    srv = postern()
    senders = Senders(srv.port, threads=4, per_session=2).start()
    try:
        for rnd in range(3):
            assert senders.wait_acked(15), "round %d: no progress: %s" % (rnd, senders.errors[-3:])
            workers = set(srv.listening_pids())
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda: srv.listening_pids() and workers.isdisjoint(srv.listening_pids()),
                            10), "round %d: no new workers" % rnd
            assert senders.wait_acked(5), "round %d: no progress with new workers" % rnd
    finally:
        senders.stop()
    srv.stop()
    found = check_queue(srv, senders, str(tmp_path / "export"))
    assert len(found) >= len(senders.acked) > 0


def test_restart_after_crash_needs_no_cleanup(postern):
    """The pid file and the anvil socket of a killed instance do not stop
    `postern start`."""
    srv = postern()
    kill_all(srv)
    r = srv.postern("status")
    assert r.returncode == 1, r.stdout
    r = srv.postern("start")
    assert r.returncode == 0, r.stderr
    with srv.smtp() as s:
        s.sendmail("a@example.net", ["postmaster@mx.postern.test"], "Subject: x\r\n\r\nx\r\n")
    assert srv.postern("stop").returncode == 0
