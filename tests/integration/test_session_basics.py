"""A whole session through smtplib: greeting, EHLO keywords, a message
queued durably and readable with `postern queue`, the log lines."""


def test_message_is_queued_and_logged(postern):
    srv = postern()
    with srv.smtp() as s:
        code, text = s.ehlo("client.example")
        assert code == 250
        for kw in ("pipelining", "size", "8bitmime", "chunking", "enhancedstatuscodes"):
            assert s.has_extn(kw), kw
        s.sendmail("alice@example.net", ["postmaster@mx.postern.test"],
                   "Subject: hello\r\nMessage-ID: <m1@example.net>\r\n\r\nbody\r\n")
    out = srv.postern("queue", "list")
    assert out.returncode == 0
    assert "alice@example.net" in out.stdout
    qid = out.stdout.split("\n")[1].split()[0].rstrip("*!")
    cat = srv.postern("queue", "cat", "-m", qid).stdout
    assert cat.startswith("Received: from client.example (localhost [127.0.0.1])")
    assert "Subject: hello\r\n" in cat or "Subject: hello\n" in cat
    log = srv.maillog()
    assert "connect from localhost[127.0.0.1]" in log
    assert qid + ": client=localhost[127.0.0.1]" in log
    assert qid + ": message-id=<m1@example.net>" in log
    assert "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" in log
