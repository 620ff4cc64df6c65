#!/bin/bash
# bench/queue.sh - durable queue commits (bench-queue-commit): commits per
# second at 1, 10 and 50 messages in flight, 5 KB each, with group commit
# on and off; then the same with churn (each message deleted as soon as it
# is committed, as in a busy queue); then spare files on and off.  Runs of
# the settings compared alternate, five rounds; the median is shown, and
# every round's rate.  The queue goes below build/, on the
# file system the build is on: point QUEUE_BENCH_DIR at the file system of
# queue_directory to measure that one.
#   bench/queue.sh [MESSAGES]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
messages=${1:-2000}
bench=${QUEUE_BENCH_BIN:-$top/build/bench/bench-queue-commit}
dir=${QUEUE_BENCH_DIR:-$top/build}/queue-bench.$$
[ -x "$bench" ] || { echo "build first: make" >&2; exit 1; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
common=(--dir "$dir" --messages "$messages" --repeat 5 --concurrency 1,10,50 --verbose)
"$bench" "${common[@]}" --group both
"$bench" "${common[@]}" --group both --churn
"$bench" "${common[@]}" --group on --spares both --churn
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
