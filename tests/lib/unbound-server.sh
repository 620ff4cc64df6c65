#!/bin/bash
# tests/lib/unbound-server.sh - a real DNS server for tests: Debian's unbound
# answering from local-zone/local-data records generated from a small zone
# file, on 127.0.0.1 at a test-chosen port, in a private directory (no root
# paths, no privilege drop, no chroot, no remote control, no daemonizing).
#
#   unbound-server.sh start DIR ZONEFILE [PORT]   start; prints the port
#   unbound-server.sh stop DIR                    stop and wait for exit
#   unbound-server.sh config DIR ZONEFILE PORT    print the generated config
#
# Without PORT (or with PORT 0), start picks a free port at random and
# retries on a bind conflict.  DIR is created when missing; it receives
# unbound.conf, unbound.pid and unbound.log.  start returns once the server
# answers queries (it waits for unbound's "start of service" log line) and
# fails with the log on stderr when unbound does not come up.  With
# UNBOUND_OWNER_PID set in the environment, a watchdog stops the server
# once that process is gone, so a test that crashes before its teardown
# leaves no server behind.
#
# Zone file: one record per line, "NAME [TTL] TYPE DATA", '#' comments and
# blank lines ignored, names with or without the trailing dot, TTL 300 when
# omitted.
#   www.example      A      192.0.2.1
#   www.example      AAAA   2001:db8::1
#   example          MX     10 mx1.example
#   nullmx.example   MX     0 .                 (RFC 7505 null MX)
#   example          TXT    "v=spf1 " "-all"    (quoted strings; bare text
#                                                becomes one string)
#   1.2.0.192.in-addr.arpa PTR www.example
#   example          NS     ns1.example
#   alias.example    CNAME  www.example
#   short.example 5  A      192.0.2.9           (TTL 5 s)
# TXT data must not contain a single quote.
# Pseudo types (no DATA) for failures, each covering the name and below:
#   gone.example     NXDOMAIN    local-zone always_nxdomain with an SOA, so
#                                the name and everything below it answer
#                                NXDOMAIN with the line's TTL as the
#                                negative TTL (e.g. "gone.example 30 NXDOMAIN")
#   broken.example   SERVFAIL    forwarded to a server unbound may not
#                                query (127.0.0.1 with do-not-query-localhost),
#                                so the server answers SERVFAIL at once
#   closed.example   REFUSED     local-zone refuse: the server answers
#                                REFUSED.  A resolver that forwards to this
#                                server (libunbound, a stub resolver through
#                                a local unbound) reports SERVFAIL to its
#                                caller; a plain stub sees REFUSED.
#
# Names the zone file does not mention are NXDOMAIN (the root is a static
# local zone with an SOA: negative answers carry a 60 s TTL), so a test
# server never sends a query to the Internet.
# unbound's built-in local zones (localhost, 127.in-addr.arpa, test, ...)
# are turned off: the zone file is the whole truth, including for
# 1.0.0.127.in-addr.arpa.  A name that has records answers NOERROR with no
# records (NODATA) for the types it lacks.
set -eu

prog=unbound-server.sh
unbound_bin=${UNBOUND:-/usr/sbin/unbound}

die() {
    echo "$prog: $*" >&2
    exit 1
}

# fqdn NAME - NAME with exactly one trailing dot ("." stays ".")
fqdn() {
    case "$1" in
    .) echo . ;;
    *.) echo "$1" ;;
    *) echo "$1." ;;
    esac
}

# quote_txt DATA - TXT data as unbound wants it: quoted strings pass, bare
# text becomes one quoted string
quote_txt() {
    case "$1" in
    \"*) printf '%s' "$1" ;;
    *) printf '"%s"' "${1//\"/\\\"}" ;;
    esac
}

# strip_comment LINE - LINE without a '#' comment: '#' at the start or
# after white space, outside double quotes
strip_comment() {
    local line=$1 out="" c prev=" " quoted=no i
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [ "$c" = '"' ]; then
            [ $quoted = no ] && quoted=yes || quoted=no
        elif [ "$c" = "#" ] && [ $quoted = no ] && [[ $prev == [[:space:]] ]]; then
            break
        fi
        out+=$c
        prev=$c
    done
    printf '%s' "$out"
}

record_re='^[[:space:]]*([^[:space:]]+)[[:space:]]+(([0-9]+)[[:space:]]+)?([A-Za-z]+)([[:space:]]+(.*))?$'

# zone_config ZONEFILE - the local-zone/local-data lines for the zone file
zone_config() {
    local line name ttl type data lineno=0
    set -f # no pathname expansion of zone data
    # unbound's default zones, turned off so the zone file decides
    local z
    for z in localhost. 127.in-addr.arpa. \
        1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. \
        home.arpa. onion. test. invalid. resolver.arpa.; do
        echo "    local-zone: \"$z\" nodefault"
    done
    echo '    local-zone: "." static'
    echo "    local-data: \". 300 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 60\""
    forwards=()
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        line=$(strip_comment "$line")
        # shellcheck disable=SC2086
        set -- $line
        [ $# -eq 0 ] && continue
        [[ $line =~ $record_re ]] || die "$zonefile:$lineno: expected NAME [TTL] TYPE DATA"
        name=$(fqdn "${BASH_REMATCH[1]}")
        ttl=${BASH_REMATCH[3]:-300}
        type=${BASH_REMATCH[4]^^}
        data=${BASH_REMATCH[6]:-}
        data=${data%"${data##*[![:space:]]}"}
        # shellcheck disable=SC2086
        set -- $data
        case "$type" in
        NXDOMAIN)
            echo "    local-zone: \"$name\" always_nxdomain"
            echo "    local-data: \"$name $ttl IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 $ttl\""
            ;;
        REFUSED)
            echo "    local-zone: \"$name\" refuse"
            ;;
        SERVFAIL)
            echo "    local-zone: \"$name\" transparent"
            forwards+=("$name")
            ;;
        A | AAAA)
            [ $# -eq 1 ] || die "$zonefile:$lineno: $type wants one address"
            echo "    local-data: \"$name $ttl IN $type $1\""
            ;;
        MX)
            [ $# -eq 2 ] || die "$zonefile:$lineno: MX wants PREFERENCE NAME"
            echo "    local-data: \"$name $ttl IN MX $1 $(fqdn "$2")\""
            ;;
        NS | PTR | CNAME)
            [ $# -eq 1 ] || die "$zonefile:$lineno: $type wants one name"
            echo "    local-data: \"$name $ttl IN $type $(fqdn "$1")\""
            ;;
        TXT)
            [ -n "$data" ] || die "$zonefile:$lineno: TXT wants text"
            case "$data" in *"'"*) die "$zonefile:$lineno: TXT with a single quote" ;; esac
            # unbound reads single-quoted strings verbatim
            echo "    local-data: '$name $ttl IN TXT $(quote_txt "$data")'"
            ;;
        *)
            die "$zonefile:$lineno: unsupported type $type"
            ;;
        esac
    done <"$zonefile"
    # every SERVFAIL name: forward to 127.0.0.1, which unbound refuses to
    # query (do-not-query-localhost), so it has no server to ask
    for name in "${forwards[@]+"${forwards[@]}"}"; do
        printf 'forward-zone:\n    name: "%s"\n    forward-addr: 127.0.0.1@1\n' "$name"
    done
}

# server_config DIR ZONEFILE PORT - the whole unbound.conf
server_config() {
    local dir=$1 port=$3
    zonefile=$2
    [ -r "$zonefile" ] || die "cannot read zone file $zonefile"
    local zones
    zones=$(zone_config) || exit 1
    # the server: section must come before the forward-zone clauses
    cat <<EOF
# generated by $prog from $zonefile
server:
    verbosity: 1
    username: ""
    chroot: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    logfile: "$dir/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    do-daemonize: no
    interface: 127.0.0.1@$port
    port: $port
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    so-reuseport: no
    num-threads: 1
    outgoing-range: 64
    num-queries-per-thread: 32
    msg-cache-size: 1m
    rrset-cache-size: 1m
    key-cache-size: 1m
    neg-cache-size: 1m
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: yes
    minimal-responses: yes
    rrset-roundrobin: no
    hide-identity: yes
    hide-version: yes
EOF
    printf '%s\n' "$zones" | grep -v '^forward-zone:\|^    name:\|^    forward-addr:' || true
    cat <<EOF
remote-control:
    control-enable: no
EOF
    printf '%s\n' "$zones" | grep '^forward-zone:\|^    name:\|^    forward-addr:' || true
}

# alive PID - the process runs (a zombie does not count: an orphaned
# server may wait a while for init to reap it)
alive() {
    local state
    if [ -r "/proc/$1/status" ]; then
        state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
        [ -n "$state" ] && [ "$state" != Z ]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

# pid_of DIR - the server's pid, or nothing
pid_of() {
    local pid=""
    [ -s "$1/unbound.pid" ] && pid=$(cat "$1/unbound.pid")
    [ -z "$pid" ] && [ -s "$1/server.pid" ] && pid=$(cat "$1/server.pid")
    echo "$pid"
}

# start_on DIR ZONEFILE PORT - start unbound; 0 up, 1 failed, 2 port in use
start_on() {
    local dir=$1 port=$3 pid i
    server_config "$dir" "$2" "$port" >"$dir/unbound.conf"
    "$unbound_bin"-checkconf "$dir/unbound.conf" >"$dir/checkconf.log" 2>&1 || {
        cat "$dir/checkconf.log" >&2
        return 1
    }
    : >"$dir/unbound.log"
    rm -f "$dir/unbound.pid"
    # stdin/stdout/stderr away from the caller, so a caller that reads our
    # output (the port) is not held open by the server
    "$unbound_bin" -d -c "$dir/unbound.conf" </dev/null >>"$dir/unbound.stderr" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/server.pid"
    if [ -n "${UNBOUND_OWNER_PID:-}" ]; then
        (
            while alive "$UNBOUND_OWNER_PID" && alive "$pid"; do
                sleep 1
            done
            kill "$pid" 2>/dev/null
        ) </dev/null >/dev/null 2>&1 &
    fi
    for i in $(seq 1 200); do
        if grep -q "start of service" "$dir/unbound.log" 2>/dev/null; then
            return 0
        fi
        if ! alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            rm -f "$dir/server.pid"
            if grep -q "could not open ports\|Address already in use\|bind:" \
                "$dir/unbound.log" "$dir/unbound.stderr" 2>/dev/null; then
                return 2
            fi
            cat "$dir/unbound.log" "$dir/unbound.stderr" >&2
            return 1
        fi
        sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    cat "$dir/unbound.log" "$dir/unbound.stderr" >&2
    return 1
}

cmd_start() {
    [ $# -ge 2 ] || die "usage: $prog start DIR ZONEFILE [PORT]"
    local dir=$1 zone=$2 port=${3:-0} rc tries
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    case "$zone" in /*) ;; *) zone="$(pwd)/$zone" ;; esac
    [ -z "$(pid_of "$dir")" ] || ! alive "$(pid_of "$dir")" ||
        die "a server already runs in $dir"
    if [ "$port" != 0 ]; then
        rc=0
        start_on "$dir" "$zone" "$port" || rc=$?
        [ $rc -eq 0 ] || die "unbound did not start on port $port (see $dir/unbound.log)"
        echo "$port"
        return 0
    fi
    for tries in $(seq 1 20); do
        port=$((20000 + RANDOM % 40000))
        rc=0
        start_on "$dir" "$zone" "$port" || rc=$?
        case $rc in
        0)
            echo "$port"
            return 0
            ;;
        2) continue ;;
        *) die "unbound did not start (see $dir/unbound.log)" ;;
        esac
    done
    die "no free port after $tries tries"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: $prog stop DIR"
    local dir=$1 pid i
    pid=$(pid_of "$dir")
    [ -n "$pid" ] || return 0
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/unbound.pid" "$dir/server.pid"
}

case "${1:-}" in
start)
    shift
    cmd_start "$@"
    ;;
stop)
    shift
    cmd_stop "$@"
    ;;
config)
    shift
    [ $# -eq 3 ] || die "usage: $prog config DIR ZONEFILE PORT"
    server_config "$@"
    ;;
*)
    die "usage: $prog start DIR ZONEFILE [PORT] | stop DIR | config DIR ZONEFILE PORT"
    ;;
esac
