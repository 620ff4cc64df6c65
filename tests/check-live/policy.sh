#!/bin/bash
# tests/check-live/policy.sh - policy delegation against a real policy
# server: starts Debian's postfwd on a free loopback port with
# tests/check-live/policy/postfwd.rules (pid file in a temporary
# directory, no root paths, no privilege change), then plays each
# tests/check-live/policy/NAME.in through `postern check`, whose
# check_policy_service asks the server for real.  In the cases, POLICYPORT
# is postfwd's port and DEADPORT one where nothing listens.  The expected
# replies are Postfix 3.7's (README.md).  Prints "ok NAME" / "not ok NAME";
# exits non-zero on any failure; stops postfwd on exit.
#   policy.sh [--update] [NAME...]
# With POSTFIX_VERIFY=1, Postfix answers the cases instead (verify.sh).
#
# postfwd1 serves the network only as a daemon: it detaches, and is
# stopped by the pid it writes.  A watchdog stops it too when this script
# dies without its exit trap.  The "timeout" case runs last: the server
# is busy with it for a few seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/../lib
postfwd=${POSTFWD:-/usr/sbin/postfwd1}
if [ ! -x "$postfwd" ]; then
    echo "not ok postfwd (no $postfwd: install Debian's postfwd, scripts/setup.sh)"
    exit 1
fi
work=$(mktemp -d)
chmod 755 "$work"
pidfile=$work/postfwd.pid

server_pid() { [ -s "$pidfile" ] && tr -dc 0-9 <"$pidfile"; }
stop_server() {
    local pid
    pid=$(server_pid)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null
    rm -f "$pidfile"
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# listening PORT - something accepts connections on 127.0.0.1:PORT
listening() {
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$1" 2>/dev/null
}

cp "$here/policy/postfwd.rules" "$work/rules"
started=no
for _ in $(seq 1 10); do
    port=$(free_port)
    rm -f "$pidfile"
    # -c 0: no request cache, every request is answered by the rules
    "$postfwd" -d -f "$work/rules" -i 127.0.0.1 -p "$port" --pidfile "$pidfile" -c 0 \
        -u "$(id -un)" -g "$(id -gn)" -l postfwd-test </dev/null >"$work/postfwd.out" 2>&1
    for _ in $(seq 1 100); do
        if [ -n "$(server_pid)" ] && listening "$port"; then
            started=yes
            break
        fi
        sleep 0.05
    done
    [ $started = yes ] && break
    stop_server
done
if [ $started != yes ]; then
    echo "not ok postfwd (did not start)"
    sed 's/^/    /' "$work/postfwd.out"
    exit 1
fi
owner=$$
(
    while kill -0 "$owner" 2>/dev/null; do sleep 1; done
    pid=$(server_pid) && [ -n "$pid" ] && kill "$pid"
) </dev/null >/dev/null 2>&1 &
dead=$(free_port)

if [ $# -gt 0 ] && [ "$1" != --update ] || [ $# -gt 1 ]; then
    cases=("$@")
else
    cases=("$@")
    for c in "$here"/policy/*.in; do
        [ "$(basename "$c" .in)" = timeout ] || cases+=("$(basename "$c" .in)")
    done
    [ -f "$here/policy/timeout.in" ] && cases+=(timeout)
fi
if [ -n "${POSTFIX_VERIFY:-}" ]; then
    # tests/check-live/verify.sh: Postfix answers the same cases (README.md)
    paths=()
    for c in "${cases[@]}"; do [ "$c" = --update ] || paths+=("$here/policy/${c%.in}.in"); done
    exec python3 "$here/postfix-verify.py" --shared-net --subst "POLICYPORT=$port" \
        --subst "DEADPORT=$dead" --postern "${POSTERN_BIN:-$here/../../build/postern}" "${paths[@]}"
fi
CHECK_BASE=$here/base.cf CHECK_SUBST="POLICYPORT=$port DEADPORT=$dead" \
    "$lib/check-cases.sh" "$here/policy" "${cases[@]}"
