#!/bin/bash
# bench/tables.sh - hash: table build and query speed, postern against
# Debian's postmap, in one run on the same data:
#   - build a 1,000,000-line table from its source;
#   - look up 100,000 keys (half of them misses) through `-q -`;
#   - the in-process cost of one lookup (bench-table-lookup).
# Each timing is the best of RUNS runs.  Prints the figures and the ratios.
#   bench/tables.sh [LINES] [RUNS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lines=${1:-1000000}
runs=${2:-3}
postern=${POSTERN_BIN:-$top/build/postern}
lookup=$top/build/bench/bench-table-lookup
command -v postmap >/dev/null || { echo "postmap (Debian's postfix) is not installed" >&2; exit 1; }
[ -x "$postern" ] && [ -x "$lookup" ] || { echo "build first: make" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/main.cf"
python3 - "$work" "$lines" <<'PY'
import random, sys
work, lines = sys.argv[1], int(sys.argv[2])
random.seed(42)
with open(f"{work}/access", "w") as f:
    for i in range(lines):
        f.write(f"user{i}@Example{i % 997}.com REJECT spam source {i}\n")
keys = []
for _ in range(50000):
    j = random.randrange(lines)
    keys.append(f"user{j}@example{j % 997}.com")
keys += [f"nobody{i}@miss.example.org" for i in range(50000)]
random.shuffle(keys)
with open(f"{work}/keys", "w") as f:
    f.write("\n".join(keys) + "\n")
PY

# best TIMEFILE CMD... - run CMD RUNS times, print the best wall time (s)
best() {
    local b=""
    for _ in $(seq "$runs"); do
        local s e t
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | awk '{print $1 - $3}')
        if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t < b)}'; then b=$t; fi
    done
    echo "$b"
}

cd "$work"
pb=$(best postmap -c "$work" hash:access)
nb=$(best "$postern" -c "$work" map hash:access)
pq=$(best sh -c "postmap -c '$work' -q - hash:access < keys")
nq=$(best sh -c "'$postern' -c '$work' map -q - hash:access < keys")
found_p=$(postmap -c "$work" -q - hash:access < keys | wc -l)
found_n=$("$postern" -c "$work" map -q - hash:access < keys | wc -l)
inproc=$("$lookup" "hash:$work/access" keys 5)

printf 'table: %d lines, %d keys looked up (%d found by postmap, %d by postern)\n' \
    "$lines" "$(wc -l < keys)" "$found_p" "$found_n"
printf 'build   postmap %6.3f s   postern %6.3f s   postern is %5.1fx faster\n' \
    "$pb" "$nb" "$(awk -v a="$pb" -v b="$nb" 'BEGIN{print a / b}')"
printf 'query   postmap %6.3f s   postern %6.3f s   postern is %5.1fx faster\n' \
    "$pq" "$nq" "$(awk -v a="$pq" -v b="$nq" 'BEGIN{print a / b}')"
printf 'in-process lookup: %s\n' "$inproc"
[ "$found_p" = "$found_n" ] || { echo "MISMATCH: the tools found different numbers of keys" >&2; exit 1; }
