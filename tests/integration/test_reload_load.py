"""Reload under load: clients send without pause while the configuration
is reloaded several times.  No client may see an error or a dropped
connection, and every message that got 250 is in the queue, intact."""
import os

from senders import Senders, check_queue

RELOADS = 6


def test_reloads_while_clients_send(postern, tmp_path):
    srv = postern()
    senders = Senders(srv.port, threads=4, per_session=3).start()
    try:
        assert senders.wait_acked(10), senders.errors[:5]
        for i in range(RELOADS):
            with open(os.path.join(srv.conf, "main.cf"), "a") as f:
                f.write("\nsmtpd_banner = $myhostname ESMTP generation %d\n" % i)
            srv.reload()
            assert senders.wait_acked(25), "no progress after reload %d: %s" % (i, senders.errors[:5])
    finally:
        senders.stop()
    assert senders.errors == []
    srv.stop()
    found = check_queue(srv, senders, str(tmp_path / "export"))
    assert len(found) == len(senders.acked), "messages in the queue that nobody saw acknowledged"
    assert srv.maillog().count("reload -- version") == RELOADS
