"""Durable acceptance: every "250 ... queued as ID" names a complete queue
file that `postern queue cat` reads back byte for byte at the moment the
client sees the reply; `queue export` writes ID.eml and ID.env; a message
that is refused or abandoned leaves nothing behind, tmp/ included; BDAT
from a chunking client is stored as sent."""
import re
import socket
import threading

from helpers import (after_received, content, export, queue_files, queued_id, queued_ids,
                     session_end, wait_until, written_tmp_files)

RCPT = "postmaster@mx.postern.test"


def message(i):
    """A message with the things that must survive: dot lines, 8-bit
    bytes, a long line, an empty line at the end."""
    return (b"Subject: message %d\r\nMessage-ID: <m%d@example.net>\r\n\r\n"
            b".leading dot\r\n..two dots\r\n\xc3\xa9t\xc3\xa9 8-bit\r\n" % (i, i)
            + b"L" * 5000 + b"\r\n\r\n")


def stuffed(data):
    """Dot-stuffing as a client does it."""
    return re.sub(rb"(?m)^\.", b"..", data)


def qid_from_log(srv, count=1):
    """The queue ID of the count-th transaction (its "ID: client=" line)."""
    ids = wait_until(lambda: re.findall(r"(\w+): client=localhost\[127\.0\.0\.1\]",
                                        srv.maillog())[count - 1:] or None, 10, "client= line")
    return ids[0]


def gone_from_queue(srv, qid):
    """No file of qid anywhere in the queue directory (files being written
    included)."""
    return all(qid not in queue_files(srv, d, complete=None)
               for d in ("tmp", "incoming", "active", "deferred", "hold", "corrupt"))


def test_every_250_has_a_complete_queue_file(postern):
    """Right after each 250 (before the client does anything else) the
    file is in incoming/ and reads back as the Received header plus exactly
    the message; IDs differ; several messages share a session."""
    srv = postern()
    seen = {}
    with srv.smtp() as s:
        s.ehlo("client.example")
        for i in range(5):
            assert s.mail("alice@example.net", ["BODY=8BITMIME"])[0] == 250
            assert s.rcpt(RCPT)[0] == 250
            code, text = s.data(message(i))
            assert code == 250, text
            qid = queued_id(text)
            assert qid in queue_files(srv, "incoming")
            stored = content(srv, qid)
            assert stored.startswith(b"Received: from client.example (localhost [127.0.0.1])\r\n")
            assert after_received(stored) == message(i)
            seen[qid] = i
    assert len(seen) == 5
    assert sorted(seen) == queued_ids(srv)
    assert written_tmp_files(srv) == []


def test_concurrent_clients_get_distinct_complete_files(postern):
    """Four clients at once, on both workers: every 250 names its own file
    with its own content."""
    srv = postern()
    results, errors = {}, []

    def client(n):
        try:
            with srv.smtp() as s:
                s.ehlo("client%d.example" % n)
                for i in range(5):
                    s.mail("c%d@example.net" % n)
                    s.rcpt(RCPT)
                    code, text = s.data(message(n * 100 + i))
                    assert code == 250, text
                    results[queued_id(text)] = n * 100 + i
        except Exception as e:  # reported below, in the main thread
            errors.append(e)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20 and sorted(results) == queued_ids(srv)
    for qid, i in results.items():
        assert after_received(content(srv, qid)) == message(i)


def test_export(postern):
    """queue export: ID.eml is the stored content, ID.env the envelope
    (the null sender as an empty from, one to line per recipient)."""
    srv = postern()
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.sendmail("alice@example.net", [RCPT, "abuse@mx.postern.test"], message(1))
        s.sendmail("<>", [RCPT], message(2))
    files = export(srv)
    assert sorted(files) == queued_ids(srv)
    envs = sorted(env for _, env in files.values())
    assert envs == ["from \nto %s\n" % RCPT,
                    "from alice@example.net\nto %s\nto abuse@mx.postern.test\n" % RCPT]
    for qid, (eml, _) in files.items():
        assert eml == content(srv, qid)


def test_refused_at_end_of_data_leaves_nothing(postern):
    """An end-of-data reject: the file that was being written is gone."""
    srv = postern(main_cf="smtpd_end_of_data_restrictions = "
                          "check_sender_access inline:{{spam@example.net=REJECT No}}\n")
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<spam@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    assert c.cmd("Subject: x\r\n\r\nbody\r\n.") == \
        "554 5.7.1 <spam@example.net>: Sender address rejected: No"
    qid = qid_from_log(srv)
    wait_until(lambda: gone_from_queue(srv, qid), 5, "the refused file to go")
    c.cmd("QUIT")
    assert queued_ids(srv) == [] and written_tmp_files(srv) == []


def test_abandoned_transactions_leave_nothing(postern):
    """RSET after recipients, QUIT after recipients, and a connection lost
    in the middle of DATA: no file of those transactions remains."""
    srv = postern()
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    c.send("Subject: half\r\n\r\nbody\r\nRSET\r\n")  # RSET is body text here
    c.close()
    first = qid_from_log(srv, 1)
    session_end(srv, 1)

    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    second = qid_from_log(srv, 2)
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    third = qid_from_log(srv, 3)

    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<%s>" % RCPT)
    c.cmd("DATA")
    c.send(b"Subject: cut\r\n\r\n" + b"y" * 200000)
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    fourth = qid_from_log(srv, 4)
    assert "lost connection after DATA from localhost[127.0.0.1]" in session_end(srv, 3)
    for qid in (first, second, third, fourth):
        wait_until(lambda: gone_from_queue(srv, qid), 5, "no file of " + qid)
    assert queued_ids(srv) == [] and written_tmp_files(srv) == []


def test_discard_and_hold(postern):
    """DISCARD answers 250 and stores nothing; HOLD stores the message in
    hold/, which `queue list` marks with "!"."""
    srv = postern(main_cf="smtpd_end_of_data_restrictions = check_sender_access "
                          "inline:{{d@example.net=DISCARD}, {h@example.net=HOLD}}\n")
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.mail("d@example.net")
        s.rcpt(RCPT)
        code, text = s.data(message(1))
        assert code == 250
        discarded = queued_id(text)
        s.mail("h@example.net")
        s.rcpt(RCPT)
        code, text = s.data(message(2))
        held = queued_id(text)
    assert queue_files(srv, "hold") == [held]
    assert queue_files(srv, "incoming") == []
    assert gone_from_queue(srv, discarded)
    assert held + "!" in srv.postern("queue", "list").stdout
    assert after_received(content(srv, held)) == message(2)


def test_bdat_from_a_chunking_client(postern):
    """A chunking client pipelines MAIL, RCPT and BDAT with its data in one
    write, then more chunks: replies in order, the content stored exactly
    as sent (no dot handling), the size in the reply."""
    srv = postern()
    data = message(7) * 20 + b".\r\nnot the end\r\n"
    chunks = [data[:70000], data[70000:70001], data[70001:]]
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send(b"MAIL FROM:<a@example.net> BODY=8BITMIME\r\nRCPT TO:<%s>\r\nBDAT %d\r\n"
           % (RCPT.encode(), len(chunks[0])) + chunks[0])
    assert c.reply() == ["250 2.1.0 Ok"]
    assert c.reply() == ["250 2.1.5 Ok"]
    assert c.reply() == ["250 2.0.0 Ok: %d bytes" % len(chunks[0])]
    c.send(b"BDAT %d\r\n" % len(chunks[1]) + chunks[1]
           + b"BDAT %d LAST\r\n" % len(chunks[2]) + chunks[2])
    assert c.reply() == ["250 2.0.0 Ok: 1 bytes"]  # per chunk; the total at LAST
    last = c.reply()[-1]
    assert last.startswith("250 2.0.0 Ok: %d bytes queued as " % len(data)), last
    qid = queued_id(last)
    assert qid in queue_files(srv, "incoming")
    assert after_received(content(srv, qid)) == data
    assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_data_in_one_write_with_the_commands(postern):
    """A client that sends MAIL, RCPT, DATA and the message in one write
    (not allowed, but common) still gets one message, stored intact."""
    srv = postern()
    c = srv.raw()
    c.reply()
    c.cmd("EHLO client.example")
    c.send(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<%s>\r\nDATA\r\n" % RCPT.encode()
           + stuffed(message(3)) + b".\r\nQUIT\r\n")
    replies = [c.reply()[-1] for _ in range(5)]
    assert replies[:3] == ["250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]
    assert replies[3].startswith("250 2.0.0 Ok: queued as ") and replies[4] == "221 2.0.0 Bye"
    assert after_received(content(srv, queued_id(replies[3]))) == message(3)
