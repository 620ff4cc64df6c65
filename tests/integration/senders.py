"""Clients that send mail continuously from threads and remember what the
server acknowledged, for the reload and crash tests; and the check that
the queue holds each acknowledged message intact (`postern queue export`)."""
import os
import re
import smtplib
import threading
import time

RCPTS = ["postmaster@mx.postern.test", "alice@mx.postern.test", "bob@mx.postern.test"]


def message(tag, n):
    """A message whose body varies in size and has lines that need dot-stuffing."""
    lines = [b"Subject: test %s" % tag.encode(), b"Message-ID: <%s@example.net>" % tag.encode(),
             b"", b"first line"]
    for i in range(n % 7 * 40):
        lines.append(b".%05d dotted line %s" % (i, b"x" * (i % 90)) if i % 5 == 0 else
                     b"%05d body line %s" % (i, b"y" * (i % 70)))
    lines.append(b".")
    lines.append(b"last line")
    return b"\r\n".join(lines) + b"\r\n"


class Senders:
    """threads clients, each sending per_session messages per connection
    until stop().  acked: queue ID -> (sender, recipients, content) for every
    250 reply to DATA; sent: Message-ID tag -> content for every message
    whose DATA was started; errors: what went wrong, in order."""

    def __init__(self, port, threads=4, per_session=3):
        self.port = port
        self.threads = threads
        self.per_session = per_session
        self.acked = {}
        self.sent = {}
        self.errors = []
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.workers = []

    def start(self):
        self.running.set()
        for t in range(self.threads):
            th = threading.Thread(target=self._run, args=(t,), daemon=True)
            th.start()
            self.workers.append(th)
        return self

    def stop(self):
        self.running.clear()
        for th in self.workers:
            th.join(30)
        assert not any(th.is_alive() for th in self.workers), "a client hangs"

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, more, timeout=20.0):
        """Wait until `more` further messages are acknowledged."""
        target = self.count() + more
        deadline = time.time() + timeout
        while self.count() < target and time.time() < deadline:
            time.sleep(0.02)
        return self.count() >= target

    def _run(self, t):
        n = 0
        while self.running.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
            except OSError as e:
                with self.lock:
                    self.errors.append("client %d: connect: %r" % (t, e))
                time.sleep(0.05)
                continue
            try:
                s.ehlo("client%d.example" % t)
                for _ in range(self.per_session):
                    if not self.running.is_set():
                        break
                    n += 1
                    self._one(s, t, n)
                s.quit()
            except (OSError, smtplib.SMTPException) as e:
                with self.lock:
                    self.errors.append("client %d message %d: %r" % (t, n, e))
                time.sleep(0.05)
            finally:
                s.close()

    def _one(self, s, t, n):
        tag = "c%dm%d" % (t, n)
        sender = "sender-%s@example.net" % tag
        rcpts = RCPTS[: 1 + n % len(RCPTS)]
        content = message(tag, n)
        code, text = s.mail(sender)
        if code != 250:
            raise smtplib.SMTPResponseException(code, b"MAIL: " + text)
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"RCPT: " + text)
        with self.lock:
            self.sent[tag] = content
        code, text = s.data(content)
        if code != 250:
            raise smtplib.SMTPResponseException(code, b"DATA: " + text)
        m = re.search(rb"queued as (\S+)", text)
        if not m:
            raise smtplib.SMTPResponseException(code, b"no queue ID: " + text)
        with self.lock:
            self.acked[m.group(1).decode()] = (sender, rcpts, content)


def strip_received(stored):
    """The content without the Received: header the server prepended."""
    assert stored.startswith(b"Received: "), stored[:80]
    lines = stored.split(b"\r\n")
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


def export(srv, outdir):
    """`postern queue export`: {queue ID: (envelope text, content bytes)}."""
    r = srv.postern("queue", "export", outdir)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    found = {}
    for name in os.listdir(outdir):
        qid, ext = os.path.splitext(name)
        if ext == ".eml":
            with open(os.path.join(outdir, name), "rb") as f:
                content = f.read()
            with open(os.path.join(outdir, qid + ".env")) as f:
                found[qid] = (f.read(), content)
    return found


def check_queue(srv, senders, outdir):
    """Every acknowledged message is in the queue with its envelope and its
    content byte for byte; every message in the queue is whole (one that a
    client sent, not a fragment).  Returns the exported messages."""
    listing = srv.postern("queue", "list")
    assert listing.returncode == 0, listing.stderr
    assert "warning" not in listing.stderr, listing.stderr
    found = export(srv, outdir)
    missing = sorted(set(senders.acked) - set(found))
    assert not missing, "acknowledged but not in the queue: %s" % missing
    for qid, (sender, rcpts, content) in senders.acked.items():
        envelope, stored = found[qid]
        assert envelope == "from %s\n" % sender + "".join("to %s\n" % r for r in rcpts), qid
        assert strip_received(stored) == content, "%s differs from what was sent" % qid
    for qid, (envelope, stored) in found.items():
        m = re.search(rb"^Message-ID: <(\S+)@example.net>\r$", stored, re.M)
        assert m, "%s: not a message any client sent" % qid
        assert strip_received(stored) == senders.sent.get(m.group(1).decode()), \
            "%s: stored content is not the message sent" % qid
        assert qid in listing.stdout
    return found


def exited(pid):
    """True once a process has closed its files: every thread gone or a
    zombie.  (A killed thread in the middle of an fsync finishes it first,
    and keeps the files, the listening sockets among them, until then.)"""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return True
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    return False
        except OSError:
            pass
    return True


def kill_all(srv):
    """SIGKILL every process of the instance, the master first so that it
    cannot replace the others, and wait until each has closed its sockets."""
    master = srv.master_pid()
    victims = srv.pids()
    if master in victims:
        victims.remove(master)
        victims.insert(0, master)
    for _ in range(250):
        for pid in victims:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        victims += [p for p in srv.pids() if p not in victims]
        if all(exited(p) for p in victims):
            break
        time.sleep(0.02)
    assert all(exited(p) for p in victims), "processes survived SIGKILL"
    if srv.proc:
        srv.proc.wait()
        srv.proc = None
