#!/bin/bash
# scripts/demo.sh - install what is missing, build, and run postern on the
# embedded demo configuration: an instance under demo/ in the checkout with
# the restrictions of the two seed stories (after their fixes).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh --build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$top/demo
conf=$demo/conf
mkdir -p "$conf"
sed "s|@DEMO@|$demo|g" demo-template/main.cf > "$conf/main.cf"
cp demo-template/master.cf "$conf/master.cf"
cp demo-template/localdomains demo-template/access demo-template/client_access.cidr "$conf/"
build/postern -c "$conf" map "hash:$conf/localdomains"
build/postern -c "$conf" map "hash:$conf/access"

echo "== postern conf -n (the demo configuration)"
build/postern -c "$conf" conf -n
echo
echo "== seed 1: the local domains table"
for d in first.local.domain example.com; do
    printf '%-22s -> ' "$d"
    build/postern -c "$conf" map -q "$d" "hash:$conf/localdomains" || echo "(not found)"
done
