#!/bin/bash
# tests/lib/dovecot-server.sh - a real Dovecot auth server for tests: Debian's
# dovecot-core with a private configuration in DIR (base_dir and state_dir
# there, no mail protocols, no TLS, auth_failure_delay = 0), a passwd-file
# passdb read from USERS, and the auth-client socket DIR/auth (mode 0666).
#
#   dovecot-server.sh start DIR USERS    start; prints the socket path
#   dovecot-server.sh stop DIR           stop and wait for exit
#   dovecot-server.sh config DIR USERS   print the generated configuration
#
# USERS is a Dovecot passwd-file ("alice:{PLAIN}alicepw"); lines without a
# {SCHEME} are crypt(3) hashes, as in Dovecot.  Dovecot's auth process runs
# as its unprivileged user when started by root, so DIR and USERS (and the
# directories above them) must be readable by others.  start returns once
# the socket exists and fails with the log on stderr when Dovecot does not
# come up.  With DOVECOT_OWNER_PID set in the environment, a watchdog stops
# the server once that process is gone, so a test that crashes before its
# teardown leaves no server behind.  Restarting in the same DIR reuses the
# socket path.
set -eu

prog=dovecot-server.sh
dovecot_bin=${DOVECOT:-/usr/sbin/dovecot}

die() {
    echo "$prog: $*" >&2
    exit 1
}

alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

config() {
    local dir=$1 users=$2
    cat <<CONF
base_dir = $dir/run
state_dir = $dir/run
log_path = $dir/dovecot.log
instance_name = postern-test-$(basename "$dir")-$$
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = username_format=%u $users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $dir/auth {
    mode = 0666
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
CONF
    if [ "$(id -u)" != 0 ]; then
        # not root: every Dovecot process runs as the caller
        echo "default_internal_user = $(id -un)"
        echo "default_internal_group = $(id -gn)"
        echo "default_login_user = $(id -un)"
    fi
}

cmd_start() {
    [ $# -eq 2 ] || die "usage: $prog start DIR USERS"
    local dir=$1 users=$2 pid i
    mkdir -p "$dir/run"
    dir=$(cd "$dir" && pwd)
    case "$users" in /*) ;; *) users="$(pwd)/$users" ;; esac
    [ -r "$users" ] || die "cannot read $users"
    if [ -s "$dir/server.pid" ] && alive "$(cat "$dir/server.pid")"; then
        die "a server already runs in $dir"
    fi
    chmod 755 "$dir" "$dir/run"
    config "$dir" "$users" >"$dir/dovecot.conf"
    rm -f "$dir/auth"
    # foreground (-F) so that the pid is ours; no stdio shared with the caller
    "$dovecot_bin" -F -c "$dir/dovecot.conf" </dev/null >>"$dir/dovecot.stderr" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/server.pid"
    if [ -n "${DOVECOT_OWNER_PID:-}" ]; then
        (
            while alive "$DOVECOT_OWNER_PID" && alive "$pid"; do
                sleep 1
            done
            kill "$pid" 2>/dev/null
        ) </dev/null >/dev/null 2>&1 &
    fi
    for i in $(seq 1 250); do
        if [ -S "$dir/auth" ]; then
            echo "$dir/auth"
            return 0
        fi
        if ! alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            rm -f "$dir/server.pid"
            cat "$dir/dovecot.stderr" "$dir/dovecot.log" >&2 2>/dev/null || true
            die "dovecot did not start"
        fi
        sleep 0.02
    done
    kill "$pid" 2>/dev/null || true
    cat "$dir/dovecot.stderr" "$dir/dovecot.log" >&2 2>/dev/null || true
    die "the auth socket $dir/auth did not appear"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: $prog stop DIR"
    local dir=$1 pid i
    [ -s "$dir/server.pid" ] || return 0
    pid=$(cat "$dir/server.pid")
    if alive "$pid"; then
        # the master and its children (auth, anvil, log ...): a child with
        # clients connected lingers for seconds after the master's TERM, so
        # each gets a TERM of its own, then a KILL after a second
        local all p
        all="$pid $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')"
        kill -TERM $all 2>/dev/null || true
        for p in $all; do
            for i in $(seq 1 50); do
                alive "$p" || break
                sleep 0.02
            done
            alive "$p" && kill -KILL "$p" 2>/dev/null
        done
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/server.pid" "$dir/auth"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
config) shift; [ $# -eq 2 ] || die "usage: $prog config DIR USERS"; config "$1" "$2" ;;
*) die "usage: $prog start DIR USERS | stop DIR | config DIR USERS" ;;
esac
