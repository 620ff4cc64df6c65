#!/bin/bash
# scripts/demo.sh - install what is missing, build, and run postern on its
# embedded demo configuration: an instance under demo/ in the checkout,
# listening on 127.0.0.1:2525 (smtp) and 127.0.0.1:2587 (submission:
# STARTTLS and AUTH required), with the restrictions of the two seed
# stories after their fixes, a demo user "mick" (password "demo") and a
# self-signed certificate.  A small DNS server for the demo runs beside
# it (127.0.0.2 is on its DNSBLs, 127.0.0.3 is an ordinary outside host).
# Stop with Ctrl-C.  The README shows swaks commands to try.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh --demo
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$top/demo
conf=$demo/conf
mkdir -p "$conf" "$demo/dns"
# The DNS server for the demo (unbound on a free loopback port).
tests/lib/unbound-server.sh stop "$demo/dns" >/dev/null 2>&1 || true
dns_port=$(UNBOUND_OWNER_PID=$$ tests/lib/unbound-server.sh start "$demo/dns" demo-template/dns.zone)
trap 'tests/lib/unbound-server.sh stop "$demo/dns" >/dev/null 2>&1 || true' EXIT

sed -e "s|@DEMO@|$demo|g" -e "s|@DNS@|127.0.0.1@$dns_port|" demo-template/main.cf > "$conf/main.cf"
cp demo-template/master.cf "$conf/master.cf"
cp demo-template/localdomains demo-template/access demo-template/client_access.cidr "$conf/"
build/postern -c "$conf" map "hash:$conf/localdomains"
build/postern -c "$conf" map "hash:$conf/access"
[ -f "$conf/cert.pem" ] || scripts/make-test-cert.sh "$conf" mx.demo.postern.test >/dev/null
# The demo user: mick / demo (SHA-512 crypt).
printf 'mick:{CRYPT}%s\n' "$(openssl passwd -6 demo)" > "$conf/passwd"

echo "postern demo: smtp on 127.0.0.1:2525, submission on 127.0.0.1:2587"
echo "  configuration $conf, log $demo/maillog; lint:"
build/postern -c "$conf" lint || true
echo "  serving; Ctrl-C stops"
exec_status=0
build/postern -c "$conf" run || exec_status=$?
exit $exec_status
