#!/bin/bash
# bench/run.sh - run every benchmark; figures go to stdout (copy them, with
# the date and command, into bench/RESULTS.md).
set -eu
cd "$(dirname "$0")/.."
echo "== $(date -u +%Y-%m-%d) bench/tables.sh"
bench/tables.sh
echo "== $(date -u +%Y-%m-%d) bench/cidr.sh"
bench/cidr.sh
echo "== $(date -u +%Y-%m-%d) bench/policy.sh"
bench/policy.sh
echo "== $(date -u +%Y-%m-%d) bench/queue.sh"
bench/queue.sh
echo "== $(date -u +%Y-%m-%d) bench/smtp.sh"
bench/smtp.sh
