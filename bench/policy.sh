#!/bin/bash
# bench/policy.sh - the cost of one RCPT decision of the policy engine with
# the seed configurations after their fixes (four DNSBL lookups from a warm
# cache, cidr: and hash: client tables, a hash: sender table, 10,000
# entries each), on one core: median and 99th percentile of one
# policy_check_rcpt call, decisions per second (bench-policy-decisions).
# Each run is pinned to one CPU when taskset exists; the best of RUNS runs
# (by median) is printed.
#   bench/policy.sh [CLIENTS] [ENTRIES] [RUNS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
clients=${1:-100000}
entries=${2:-10000}
runs=${3:-3}
bench=${BENCH_POLICY_BIN:-$top/build/bench/bench-policy-decisions}
[ -x "$bench" ] || { echo "build first: make" >&2; exit 1; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
best=""
best_median=""
for _ in $(seq "$runs"); do
    out=$("${pin[@]}" "$bench" "$clients" "$entries" 3)
    median=$(echo "$out" | sed -n 's/.*median_ns \([0-9]*\).*/\1/p')
    if [ -z "$best_median" ] || [ "$median" -lt "$best_median" ]; then
        best=$out
        best_median=$median
    fi
done
echo "$best"
