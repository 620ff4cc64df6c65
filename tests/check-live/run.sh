#!/bin/bash
# tests/check-live/run.sh - engine tests against a real DNS server: starts
# Debian's unbound on a free loopback port with tests/check-live/zone
# (tests/lib/unbound-server.sh), then plays each tests/check-live/NAME.in
# through `postern check --dns-servers 127.0.0.1@PORT` and compares the
# output with NAME.out (the format of tests/check, see
# tests/lib/check-cases.sh; the scripts have no "dns" lines: every answer
# comes from the server).  The expected replies are Postfix 3.7's for the
# same configuration, session and DNS data (tests/check-live/README.md).
# Prints "ok NAME" / "not ok NAME"; exits non-zero on any failure.  The
# DNS server is stopped on exit, whatever happens.
#   run.sh [--update] [NAME...]
# With POSTFIX_VERIFY=1, Postfix answers the cases instead (verify.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/../lib
dns_dir=$(mktemp -d)
cleanup() {
    "$lib/unbound-server.sh" stop "$dns_dir/dns" >/dev/null 2>&1
    rm -rf "$dns_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The watchdog stops the server even if this script is killed.
if ! port=$(UNBOUND_OWNER_PID=$$ "$lib/unbound-server.sh" start "$dns_dir/dns" "$here/zone"); then
    echo "not ok dns-server (unbound did not start)"
    exit 1
fi
if [ -n "${POSTFIX_VERIFY:-}" ]; then
    # tests/check-live/verify.sh: Postfix answers the same cases (README.md)
    paths=()
    for c in "$@"; do [ "$c" = --update ] || paths+=("$here/${c%.in}.in"); done
    [ ${#paths[@]} -gt 0 ] || paths=("$here"/*.in)
    python3 "$here/postfix-verify.py" --postern "${POSTERN_BIN:-$here/../../build/postern}" \
        --postern-arg="--dns-servers=127.0.0.1@$port" "${paths[@]}"
    exit
fi
CHECK_ARGS="--dns-servers 127.0.0.1@$port" "$lib/check-cases.sh" "$here" "$@"
