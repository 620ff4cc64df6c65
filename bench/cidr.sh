#!/bin/bash
# bench/cidr.sh - cidr: table lookups on a 10,000-network table shaped like
# a block list (IPv4 /8../32 with many /24 and /32, a tenth IPv6):
#   - the in-process cost of one lookup (bench-table-lookup), half of the
#     keys inside some network, half random;
#   - the same keys through `-q -`, postern against Debian's postmap, whose
#     answers must be identical.
#   bench/cidr.sh [NETWORKS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
networks=${1:-10000}
postern=${POSTERN_BIN:-$top/build/postern}
lookup=${LOOKUP_BIN:-$top/build/bench/bench-table-lookup}
export PATH="$PATH:/usr/sbin"
[ -x "$postern" ] && [ -x "$lookup" ] || { echo "build first: make" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/main.cf"
python3 - "$work" "$networks" <<'PY'
import ipaddress, random, sys
work, count = sys.argv[1], int(sys.argv[2])
random.seed(1)
lens = [8, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 24, 24, 24, 24, 25, 26, 27, 28,
        29, 30, 32, 32, 32, 32]
rules, keys, seen = [], [], set()
while len(rules) < count:
    if random.random() < 0.9:
        a = ipaddress.IPv4Address(random.randrange(1 << 32))
        n = ipaddress.ip_network(f"{a}/{random.choice(lens)}", strict=False)
    else:
        a = ipaddress.IPv6Address(random.randrange(1 << 100) | (0x2001 << 112))
        n = ipaddress.ip_network(f"{a}/{random.choice([32, 48, 56, 64, 128])}", strict=False)
    if n in seen:
        continue
    seen.add(n)
    rules.append(f"{n} REJECT listed {len(rules)}")
    keys.append(str(n.network_address + random.randrange(min(n.num_addresses, 1 << 20))))
keys += [str(ipaddress.IPv4Address(random.randrange(1 << 32))) for _ in range(count)]
random.shuffle(keys)
open(f"{work}/block.cidr", "w").write("\n".join(rules) + "\n")
open(f"{work}/keys", "w").write("\n".join(keys) + "\n")
PY
# Postfix waits while main.cf or a table is younger than a second or so.
touch -d "1 minute ago" "$work/block.cidr" "$work/main.cf"

printf 'table: %d networks, %d keys\n' "$networks" "$(wc -l <"$work/keys")"
printf 'in-process lookup: %s\n' "$("$lookup" "cidr:$work/block.cidr" "$work/keys" 20)"
if command -v postmap >/dev/null; then
    s=$(date +%s.%N)
    postmap -c "$work" -q - "cidr:$work/block.cidr" <"$work/keys" >"$work/p.out"
    m=$(date +%s.%N)
    "$postern" -c "$work" map -q - "cidr:$work/block.cidr" <"$work/keys" >"$work/n.out"
    e=$(date +%s.%N)
    awk -v s="$s" -v m="$m" -v e="$e" 'BEGIN {
        printf "query -q -: postmap %.3f s, postern %.3f s, postern is %.1fx faster\n",
            m - s, e - m, (m - s) / (e - m) }'
    cmp -s "$work/p.out" "$work/n.out" || { echo "MISMATCH: different answers" >&2; exit 1; }
fi
