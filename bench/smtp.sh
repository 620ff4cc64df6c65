#!/bin/bash
# bench/smtp.sh - postern against Postfix 3.7 over SMTP, in one run, the
# two servers taking turns:
#   - accepted messages/s with Debian's smtp-source at concurrency 1, 10
#     and 50 (5,120-byte bodies, one recipient, one message per session),
#     and the servers' CPU time per message;
#   - new sessions/s (connect, greeting, EHLO, QUIT) at concurrency 10
#     and 50 (bench/smtp_client.c), and CPU time per session;
#   - memory of all the server's processes (PSS and RSS from
#     /proc/PID/smaps_rollup, summed) with 1,000 and 10,000 idle sessions
#     (open after the EHLO reply).
# Each rate is the median of ROUNDS rounds; in each round the servers take
# turns, and the one that goes first changes from round to round.  Every
# run's rate is printed too, with the load average at its start and the
# share of the machine's CPU time that was idle during it.
#
#   bench/smtp.sh              the benchmark (as root; about 3 minutes, 8
#                              with Postfix at 10,000 idle sessions)
#   bench/smtp.sh --profile    where the time goes: perf (whole machine,
#                              and postern's processes), strace -c counts
#                              per message and per session for both
#                              servers, postern with and without fsync
#   bench/smtp.sh --run CMD    start both servers, run CMD (bash) beside
#                              them, stop (to look at something by hand)
#
# Set-up.  Everything runs in private mount, network and PID namespaces
# (unshare): a private loopback, so no packet can leave 127.0.0.0/8 and no
# port of the machine is taken; every process started here dies with the
# script.  Connections to 127.0.0.1 come from 127.0.0.3 (a route's source
# address), an outside client: it is not in mynetworks, so every
# restriction runs for every message, and Postfix looks its name up in
# DNS as postern does (it calls 127.0.0.1 "localhost" without asking).
# /etc/resolv.conf is bind-mounted to a local unbound
# (tests/lib/unbound-server.sh) that answers for the client's PTR and A
# and the local domains, and NXDOMAIN for the rest: the DNSBL queries of
# the restrictions are real queries that never leave the machine.  Both
# servers get the same main.cf: the restrictions of the two seed
# configurations after their fixes, with hash: and cidr: tables (1,000
# entries each, none matching), smtpd_delay_reject = yes (the default);
# the only per-server lines are directories, and for Postfix what keeps
# it from delivering.  Postfix runs without its queue manager (qmgr is
# left out of master.cf): accepted mail stays in incoming/, as postern's
# does (postern has no queue manager yet); nothing is delivered or
# bounced.  Without qmgr, cleanup gets no flow-control tokens, so
# in_flow_delay = 0 (as with a qmgr that keeps up), and cleanup's wake-up
# of qmgr goes to a FIFO that no one reads.  Both fsync every message
# before "250" (Postfix always does; postern by default).
# The queues are on a fresh ext4 file system (mkfs.ext4 defaults: with a
# journal) in an image file below the work directory, loop-mounted in the
# private mount namespace: files deleted lately by other programs on the
# machine's own file system (ext4 without a journal) would otherwise slow
# file creation, unevenly (see bench/RESULTS.md, queue commits).
#
# Environment: POSTERN_BIN (default build/postern; copied at the start),
# SMTP_BENCH_ROUNDS (5), SMTP_BENCH_MESSAGES ("600 2000 3000": messages
# per run at concurrency 1, 10, 50), SMTP_BENCH_SESSION_SECONDS (3),
# SMTP_BENCH_IDLE ("1000 10000": idle sessions for postern),
# SMTP_BENCH_IDLE_POSTFIX ("1000"; "1000 10000" for the full test:
# Postfix needs a process per session, 10,000 take about 14 GB and 4
# minutes to start), SMTP_BENCH_MIN_FREE_MB (6144: idle sessions stop
# when less memory is available, and a size the memory would not allow is
# not tried), SMTP_BENCH_HOLD_SECONDS (300: the most one idle-session
# set-up may take), SMTP_BENCH_FS (image; dir: queues in the work
# directory itself), SMTP_BENCH_DIR (/tmp: where the work directory goes),
# SMTP_BENCH_KEEP=1 (keep the work directory), SMTP_BENCH_PROFILE_MESSAGES
# (4000, --profile).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=bench
case "${1:-}" in
--profile) mode=profile ;;
--run) mode=run ;;
"") ;;
*) echo "usage: bench/smtp.sh [--profile | --run COMMAND]" >&2; exit 2 ;;
esac

if [ "${SMTP_BENCH_INNER:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "smtp.sh: run as root (namespaces, Postfix)" >&2; exit 1; }
    for t in /usr/sbin/smtp-source /usr/sbin/postfix /usr/sbin/postmap /usr/sbin/unbound gcc unshare ip mkfs.ext4 strace; do
        command -v "$t" >/dev/null || { echo "smtp.sh: $t is missing (apt-get install postfix unbound gcc util-linux iproute2 e2fsprogs strace)" >&2; exit 1; }
    done
    [ "$mode" = bench ] || command -v perf >/dev/null || { echo "smtp.sh: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
    bin=${POSTERN_BIN:-$top/build/postern}
    [ -x "$bin" ] || { echo "smtp.sh: no postern at $bin (make)" >&2; exit 1; }
    export SMTP_BENCH_INNER=1 POSTERN_BIN=$bin
    exec unshare --mount --net --pid --fork --kill-child --mount-proc bash "$0" "$@"
fi

# ---------------------------------------------------------------- set-up
rounds=${SMTP_BENCH_ROUNDS:-5}
read -r -a messages <<<"${SMTP_BENCH_MESSAGES:-600 2000 3000}"
concs=(1 10 50)
session_secs=${SMTP_BENCH_SESSION_SECONDS:-3}
session_concs=(10 50)
read -r -a idle_sizes <<<"${SMTP_BENCH_IDLE:-1000 10000}"
read -r -a idle_sizes_postfix <<<"${SMTP_BENCH_IDLE_POSTFIX:-1000}"
min_free_mb=${SMTP_BENCH_MIN_FREE_MB:-6144}
hold_secs=${SMTP_BENCH_HOLD_SECONDS:-300}
pt_port=2525 # postern
pf_port=2526 # Postfix
ns_port=2527 # postern without fsync (--profile)
sender=sender@example.com
rcpt=mick@first.local.domain
helo=client.bench.postern.test

ip link set lo up
# Connections to 127.0.0.1 come from 127.0.0.3: the client is an outside
# host (Postfix would call 127.0.0.1 "localhost" without asking DNS).
ip route replace local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.3
sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
ulimit -n "$(ulimit -Hn)" # 10,000 idle sessions: the client holds one descriptor each
work=$(mktemp -d "${SMTP_BENCH_DIR:-/tmp}/smtp-bench.XXXXXX")
chmod 755 "$work"
# The queues: on a fresh ext4 file system (default mkfs options: with a
# journal) in an image file under the work directory, mounted in this
# mount namespace only (the loop device goes away with the mount), so
# that files other programs deleted lately do not slow the creation of
# queue files (ext4 without a journal skips their inodes, see
# bench/RESULTS.md); SMTP_BENCH_FS=dir puts them in the work directory.
qfs=$work/fs
mkdir -p "$qfs"
if [ "${SMTP_BENCH_FS:-image}" = image ]; then
    truncate -s 4G "$work/fs.img"
    mkfs.ext4 -q -F "$work/fs.img"
    mount -o loop "$work/fs.img" "$qfs"
    chmod 755 "$qfs"
fi
holder_pid=
cleanup() {
    set +e
    [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
    [ -n "${pt_pid:-}" ] && stop_pid "$pt_pid"
    [ -n "${ns_pid:-}" ] && stop_pid "$ns_pid"
    if [ -f "$qfs/postfix/pid/master.pid" ]; then
        stop_pid "$(tr -dc 0-9 <"$qfs/postfix/pid/master.pid")"
    fi
    "$top/tests/lib/unbound-server.sh" stop "$work/dns" >/dev/null 2>&1
    # lazily if a process still works there: rm must not descend into it
    mountpoint -q "$qfs" && { umount "$qfs" 2>/dev/null || umount -l "$qfs"; }
    if [ "${SMTP_BENCH_KEEP:-}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# stop_pid PID - SIGTERM, wait up to 10 s, then SIGKILL
stop_pid() {
    local pid=$1 n=500
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && [ $n -gt 0 ]; do
        sleep 0.02
        n=$((n - 1))
    done
    [ $n -gt 0 ] || kill -KILL "$pid" 2>/dev/null || true
}

wait_listening() { # wait_listening PORT SECONDS
    local n=$(($2 * 50))
    while [ $n -gt 0 ]; do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.02
        n=$((n - 1))
    done
    return 1
}

gcc -O2 -Wall -o "$work/smtp-bench-client" "$top/bench/smtp_client.c"
client=$work/smtp-bench-client
mkdir "$work/bin"
install -m 755 "$POSTERN_BIN" "$work/bin/postern"
postern=$work/bin/postern
postern_version=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo unknown)
postfix_version=$(postconf -d -h mail_version 2>/dev/null)

# DNS: the client's PTR and A, the local domains' MX; everything else
# (the DNSBL queries) is NXDOMAIN from the local server.
cat >"$work/dns.zone" <<'EOF'
mx.bench.postern.test         A     127.0.0.1
3.0.0.127.in-addr.arpa        PTR   client.bench.postern.test
client.bench.postern.test     A     127.0.0.3
first.local.domain            MX    10 mx.bench.postern.test
second.local.domain           MX    10 mx.bench.postern.test
third.local.domain            MX    10 mx.bench.postern.test
example.com                   MX    10 mail.example.com
mail.example.com              A     192.0.2.25
EOF
UNBOUND_OWNER_PID=$$ "$top/tests/lib/unbound-server.sh" start "$work/dns" "$work/dns.zone" 53 >/dev/null
printf 'nameserver 127.0.0.1\n' >"$work/resolv.conf"
printf '127.0.0.1 localhost\n' >"$work/hosts"
mount --bind "$work/resolv.conf" /etc/resolv.conf
mount --bind "$work/hosts" /etc/hosts

# Tables: seed 1's local domains; seed 2's access tables with 1,000
# entries each, none of which matches the client.
mkdir -p "$work/tables"
printf '%s REJECT Oh no you don'"'"'t. You'"'"'re not local!\n' \
    first.local.domain second.local.domain third.local.domain >"$work/tables/localdomains"
awk 'BEGIN { for (i = 0; i < 500; i++) {
        printf "spammer%d.example REJECT no thanks\n", i
        printf "198.51.%d.%d REJECT no thanks\n", int(i / 250), i % 250 + 1 } }' >"$work/tables/access"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "10.%d.%d.0/24 REJECT listed network\n", int(i / 256), i % 256 }' \
    >"$work/tables/client_access.cidr"

# main.cf for both servers; @CONF@ is each server's configuration directory
cat >"$work/common.cf" <<'EOF'
compatibility_level = 3.6
myhostname = mx.bench.postern.test
mydomain = bench.postern.test
mydestination = $myhostname, localhost, first.local.domain, second.local.domain, third.local.domain
# The benchmark client (127.0.0.3) is an outside host: every restriction runs.
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
biff = no
# One client address makes all the load: no per-client limits for it.
smtpd_client_event_limit_exceptions = 127.0.0.0/8
# Enough sessions for the idle test (Postfix: processes; postern: sessions
# per worker), and idle sessions that outlast its set-up.
default_process_limit = 10100
smtpd_timeout = 3600s

# Seed 1, after its fix.
smtpd_sender_restrictions = permit_sasl_authenticated, permit_mynetworks,
    reject_non_fqdn_sender, check_sender_access hash:@CONF@/localdomains, permit

# Seed 2, after its fix.
smtpd_client_restrictions = permit_mynetworks
    reject_rbl_client zen.spamhaus.org=127.0.0.10
    reject_rbl_client zen.spamhaus.org=127.0.0.11
    reject_rbl_client zen.spamhaus.org
    reject_rbl_client bl.spamcop.net
    permit_sasl_authenticated
    reject_unknown_reverse_client_hostname
    check_client_access cidr:@CONF@/client_access.cidr
    check_client_access hash:@CONF@/access
    reject_unauth_pipelining
    permit
EOF

setup_conf() { # setup_conf DIR: main.cf body and table sources in DIR
    mkdir -p "$1"
    cp "$work/tables/"* "$1/"
    sed "s|@CONF@|$1|g" "$work/common.cf" >"$1/main.cf"
}

# postern
pt=$work/postern
setup_conf "$pt/conf"
cat >>"$pt/conf/main.cf" <<EOF

# ---- instance
queue_directory = $qfs/postern
data_directory = $pt/data
maillog_file = $pt/maillog
mail_owner = postern
EOF
echo "127.0.0.1:$pt_port inet n - n - - smtpd" >"$pt/conf/master.cf"
"$postern" -c "$pt/conf" map "hash:$pt/conf/localdomains"
"$postern" -c "$pt/conf" map "hash:$pt/conf/access"

# Postfix
pf=$work/postfix
setup_conf "$pf/conf"
mkdir -p "$qfs/postfix" "$pf/data"
chown postfix "$pf/data"
cat >>"$pf/conf/main.cf" <<EOF

# ---- instance
queue_directory = $qfs/postfix
data_directory = $pf/data
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
# Never delivered: no qmgr in master.cf; and should one run, nothing leaves.
# Without qmgr no one hands cleanup its flow-control tokens: no wait for them
# (as with a qmgr that keeps up).
in_flow_delay = 0
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
EOF
cat >"$pf/conf/master.cf" <<EOF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$pf_port inet n - n - - smtpd
cleanup   unix  n - n -    0 cleanup
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
proxymap  unix  - - n -    - proxymap
error     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
touch -d "@$(($(date +%s) - 10))" "$pf/conf/main.cf" "$pf/conf/master.cf"
postmap -c "$pf/conf" "hash:$pf/conf/localdomains"
postmap -c "$pf/conf" "hash:$pf/conf/access"

start_postern() {
    "$postern" -c "$pt/conf" run </dev/null >>"$pt/stderr.log" 2>&1 &
    pt_pid=$!
    wait_listening $pt_port 10 || { echo "smtp.sh: postern did not start" >&2; cat "$pt/stderr.log" >&2; exit 1; }
}
# start_nosync - for --profile: a second postern whose fsync calls do
# nothing (an LD_PRELOAD shim), to see what the durable commit costs
start_nosync() {
    cat >"$work/nosync.c" <<'EOF2'
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
int fsync(int fd) { (void) fd; return 0; }
int fdatasync(int fd) { (void) fd; return 0; }
int syncfs(int fd) { (void) fd; return 0; }
int sync_file_range(int fd, off64_t o, off64_t n, unsigned int f) { (void) fd, (void) o, (void) n, (void) f; return 0; }
EOF2
    gcc -O2 -shared -fPIC -o "$work/nosync.so" "$work/nosync.c"
    ns=$work/nosync
    setup_conf "$ns/conf"
    sed -e "s|$qfs/postern|$qfs/nosync|" -e "s|$pt/|$ns/|g" "$pt/conf/main.cf" >"$ns/conf/main.cf"
    echo "127.0.0.1:$ns_port inet n - n - - smtpd" >"$ns/conf/master.cf"
    "$postern" -c "$ns/conf" map "hash:$ns/conf/localdomains"
    "$postern" -c "$ns/conf" map "hash:$ns/conf/access"
    LD_PRELOAD=$work/nosync.so "$postern" -c "$ns/conf" run </dev/null >>"$ns/stderr.log" 2>&1 &
    ns_pid=$!
    wait_listening $ns_port 10 || { echo "smtp.sh: postern (nosync) did not start" >&2; cat "$ns/stderr.log" >&2; exit 1; }
}
start_postfix() {
    postfix -c "$pf/conf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log" >&2; exit 1; }
    wait_listening $pf_port 20 || { echo "smtp.sh: Postfix did not start" >&2; exit 1; }
    pf_pid=$(tr -dc 0-9 <"$qfs/postfix/pid/master.pid")
    # cleanup wakes qmgr after each message: a FIFO that no one reads makes
    # that call fail quietly (without it, a warning is logged per message)
    [ -e "$qfs/postfix/public/qmgr" ] || mkfifo -m 0622 "$qfs/postfix/public/qmgr"
}

# ---------------------------------------------------------------- measuring
master_of() { case $1 in postern) echo "$pt_pid" ;; postfix) echo "$pf_pid" ;; nosync) echo "$ns_pid" ;; esac; }
port_of() { case $1 in postern) echo $pt_port ;; postfix) echo $pf_port ;; nosync) echo $ns_port ;; esac; }
incoming_of() { echo "$qfs/$1/incoming"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# pids_of SERVER - the master and all its descendants
pids_of() {
    ps -e -o pid=,ppid= | awk -v root="$(master_of "$1")" '
        { parent[$1] = $2; pids[NR] = $1 }
        END { keep[root] = 1; print root
              do { more = 0
                   for (i in pids) { p = pids[i]
                       if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; more = 1 } }
              } while (more) }'
}

# cpu_ticks SERVER - CPU clock ticks of the server so far: its live
# processes plus the children its master has reaped (Postfix's smtpd
# processes end after max_use sessions)
cpu_ticks() {
    pids_of "$1" | sed 's|.*|/proc/&/stat|' | xargs cat 2>/dev/null |
        awk '{ sub(/^[^)]*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 } END { print t }'
}

# mem_of SERVER - "processes N rss_kb R pss_kb P", summed over the
# master and all its descendants
mem_of() {
    pids_of "$1" | sed 's|.*|/proc/&/smaps_rollup|' | xargs cat 2>/dev/null |
        awk '/^Rss:/ { r += $2; n++ } /^Pss:/ { p += $2 } END { printf "processes %d rss_kb %d pss_kb %d\n", n, r, p }'
}

# count_files - complete queue files (mode 0700: both servers write a file
# in place with 0600 and mark it 0700 when it is whole)
count_files() { find "$1" -maxdepth 1 -type f -perm -u=x | wc -l; }

hz=$(getconf CLK_TCK)

# machine_ticks - "BUSY IDLE" clock ticks of all CPUs (iowait counts as idle)
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
idle_pct() { # idle_pct "B0 I0" "B1 I1"
    echo "$1 $2" | awk '{ b = $3 - $1; i = $4 - $2; printf "%.0f", (b + i) ? 100 * i / (b + i) : 0 }'
}

# run_messages SERVER CONC COUNT - prints "RATE CPU_MS_PER_MESSAGE IDLE%"
run_messages() {
    local srv=$1 c=$2 m=$3 dir before after t0 t1 c0 c1 m0 m1
    dir=$(incoming_of "$srv")
    before=$(count_files "$dir")
    c0=$(cpu_ticks "$srv")
    m0=$(machine_ticks)
    t0=$(date +%s.%N)
    /usr/sbin/smtp-source -s "$c" -m "$m" -l 5120 -f $sender -t $rcpt -M $helo "127.0.0.1:$(port_of "$srv")" \
        >"$work/smtp-source.out" 2>&1 || { echo "smtp.sh: smtp-source against $srv failed:" >&2; cat "$work/smtp-source.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    m1=$(machine_ticks)
    c1=$(cpu_ticks "$srv")
    after=$(count_files "$dir")
    [ $((after - before)) -eq "$m" ] || { echo "smtp.sh: $srv: $m sent, $((after - before)) in the queue" >&2; exit 1; }
    awk -v n="$m" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$hz" -v idle="$(idle_pct "$m0" "$m1")" \
        'BEGIN { printf "%.0f %.2f %s\n", n / (t1 - t0), c * 1000 / hz / n, idle }'
}

run_sessions() { # run_sessions SERVER CONC - prints "RATE CPU_US_PER_SESSION IDLE%"
    local out m0 m1 c0 c1 srv=$1
    c0=$(cpu_ticks "$srv")
    m0=$(machine_ticks)
    out=$("$client" rate 127.0.0.1 "$(port_of "$srv")" "$2" "$session_secs" $helo) ||
        { echo "smtp.sh: session run against $srv: $out" >&2; exit 1; }
    m1=$(machine_ticks)
    sleep 0.2 # the server's last sessions end
    c1=$(cpu_ticks "$srv")
    set -- $out
    echo "$8 $(awk -v c=$((c1 - c0)) -v n="$2" -v hz="$hz" 'BEGIN { printf "%.0f", c * 1e6 / hz / n }') $(idle_pct "$m0" "$m1")"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mem_available_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

# hold SERVER COUNT - hold COUNT idle sessions; prints
# "held H errors E seconds S processes N rss_kb R pss_kb P"; the memory
# guard ends the attempt early (Postfix needs a process per session)
hold() {
    local srv=$1 n=$2 fifo=$work/hold.fifo out=$work/hold.out line
    rm -f "$fifo" "$out"
    mkfifo "$fifo"
    "$client" hold 127.0.0.1 "$(port_of "$srv")" "$n" $helo <"$fifo" >"$out" 2>&1 &
    holder_pid=$!
    exec 7>"$fifo"
    local guard="" deadline=$((SECONDS + hold_secs))
    while ! grep -q '^held' "$out" 2>/dev/null; do
        if ! kill -0 "$holder_pid" 2>/dev/null; then break; fi
        if [ "$(mem_available_mb)" -lt "$min_free_mb" ]; then guard=" stopped_by_memory_guard"; break; fi
        if [ $SECONDS -ge $deadline ]; then guard=" stopped_after_${hold_secs}s"; break; fi
        sleep 0.2
    done
    sleep 1 # let the server settle (Postfix: the last processes start)
    line=$(grep '^held' "$out" || echo "held $(ss -Htn state established "( sport = :$(port_of "$srv") )" | wc -l) errors ? seconds $((SECONDS - deadline + hold_secs))")
    echo "$line $(mem_of "$srv")$guard"
    exec 7>&-
    wait "$holder_pid" 2>/dev/null || true
    holder_pid=
    # wait for the server to see the sessions end
    sleep 2
}

# ---------------------------------------------------------------- profile mode
# user_sys SERVER - "USER SYS" clock ticks so far (as cpu_ticks)
user_sys() {
    pids_of "$1" | sed 's|.*|/proc/&/stat|' | xargs cat 2>/dev/null |
        awk '{ sub(/^[^)]*\) /, ""); u += $12; s += $13; if (NR == 1) { u += $14; s += $15 } } END { print u, s }'
}
profile() { # profile SERVER CONC MESSAGES
    local srv=$1 c=$2 n=$3 t0 t1 u0 s0 u1 s1 data=$work/perf.$1.$2.data
    read -r u0 s0 <<<"$(user_sys "$srv")"
    perf record -q -a -g -o "$data" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.5
    t0=$(date +%s.%N)
    /usr/sbin/smtp-source -s "$c" -m "$n" -l 5120 -f $sender -t $rcpt -M $helo "127.0.0.1:$(port_of "$srv")"
    t1=$(date +%s.%N)
    kill -INT $perf_pid
    wait $perf_pid || true
    read -r u1 s1 <<<"$(user_sys "$srv")"
    echo "-- $srv, concurrency $c, $n messages under perf record -a -g (load $(load))"
    awk -v n="$n" -v t0="$t0" -v t1="$t1" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN {
        printf "messages/s %.0f; server CPU per message: user %.3f ms, system %.3f ms\n",
            n / (t1 - t0), u * 1000 / hz / n, s * 1000 / hz / n }'
    echo "CPU samples by command, whole machine (swapper = idle):"
    perf report -i "$data" --no-children --sort comm -g none --percent-limit 0.5 --stdio 2>/dev/null |
        grep -v '^#' | grep . || true
    if [ "$srv" = postern ]; then
        # the same load again, recording only postern's processes (with
        # their threads), for its symbols
        perf record -q -g -o "$data.p" -p "$(pids_of postern | paste -sd,)" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
        /usr/sbin/smtp-source -s "$c" -m "$n" -l 5120 -f $sender -t $rcpt -M $helo "127.0.0.1:$(port_of "$srv")"
        kill -INT $perf_pid
        wait $perf_pid || true
        echo "postern's processes alone (perf record -g -p), self time by symbol:"
        perf report -i "$data.p" --no-children --sort dso,symbol -g none \
            --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^#' | grep . | head -40 || true
        echo "postern's processes alone, inclusive time by symbol:"
        perf report -i "$data.p" --children --sort symbol -g none \
            --percent-limit 2.5 --stdio 2>/dev/null | grep -v '^#' | grep . | head -90 || true
    fi
}
strace_count() { # strace_count SERVER MESSAGES: syscalls of every server process
    local srv=$1 n=$2 args=() p
    for p in $(pids_of "$srv"); do args+=(-p "$p"); done
    strace -c -f -o "$work/strace.$srv" "${args[@]}" 2>/dev/null &
    local sp=$!
    sleep 1
    /usr/sbin/smtp-source -s 10 -m "$n" -l 5120 -f $sender -t $rcpt -M $helo "127.0.0.1:$(port_of "$srv")"
    sleep 0.5
    kill -INT $sp
    wait $sp || true
    echo "-- $srv: strace -c -f of all its processes, concurrency 10, $n messages; calls per message:"
    awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[$NF] += $4; tot += $4 }
                   END { printf "%-20s %8.2f\n", "all", tot / n
                         for (k in c) if (c[k] / n >= 0.05) printf "%-20s %8.2f\n", k, c[k] / n }' "$work/strace.$srv" |
        sort -k2 -rn | head -25
}
strace_sessions() { # strace_sessions SERVER: syscalls per new session
    local srv=$1 args=() p out
    for p in $(pids_of "$srv"); do args+=(-p "$p"); done
    strace -c -f -o "$work/strace.ses.$srv" "${args[@]}" 2>/dev/null &
    local sp=$!
    sleep 1
    out=$("$client" rate 127.0.0.1 "$(port_of "$srv")" 10 2 $helo)
    sleep 0.5
    kill -INT $sp
    wait $sp || true
    set -- $out
    echo "-- $srv: strace -c -f of all its processes, new sessions at concurrency 10 ($2 sessions); calls per session:"
    awk -v n="$2" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[$NF] += $4; tot += $4 }
                   END { printf "%-20s %8.2f\n", "all", tot / n
                         for (k in c) if (c[k] / n >= 0.05) printf "%-20s %8.2f\n", k, c[k] / n }' "$work/strace.ses.$srv" |
        sort -k2 -rn | head -25
}
session_profile() { # session_profile: perf of postern's processes under new sessions
    perf record -q -g -o "$work/perf.ses" -p "$(pids_of postern | paste -sd,)" >/dev/null 2>&1 &
    local pp=$!
    sleep 0.5
    echo "-- postern, new sessions at concurrency 50 under perf record -g -p: $("$client" rate 127.0.0.1 $pt_port 50 3 $helo)"
    kill -INT $pp
    wait $pp || true
    echo "self time by symbol:"
    perf report -i "$work/perf.ses" --no-children --sort dso,symbol -g none \
        --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^#' | grep . | head -40 || true
    echo "inclusive time by symbol:"
    perf report -i "$work/perf.ses" --children --sort symbol -g none \
        --percent-limit 2.5 --stdio 2>/dev/null | grep -v '^#' | grep . | head -70 || true
}
if [ "$mode" = profile ]; then
    start_postern
    start_postfix
    echo "== $(date -u '+%Y-%m-%d %H:%M') UTC bench/smtp.sh --profile: postern $postern_version, Postfix $postfix_version ($(nproc) cores)"
    for srv in postern postfix; do run_messages $srv 10 300 >/dev/null; done
    n=${SMTP_BENCH_PROFILE_MESSAGES:-4000}
    for c in 10 50; do
        for srv in postern postfix; do profile $srv $c "$n"; done
    done
    for srv in postern postfix; do strace_count $srv 1000; done
    for srv in postern postfix; do strace_sessions $srv; done
    session_profile
    start_nosync
    run_messages nosync 10 300 >/dev/null
    echo "-- postern with and without fsync (LD_PRELOAD shim), messages/s, alternating, 3 rounds"
    for c in 1 10 50; do
        a="" b=""
        for r in 1 2 3; do
            read -r rate _ <<<"$(run_messages postern $c "$n")"; a+="$rate "
            read -r rate _ <<<"$(run_messages nosync $c "$n")"; b+="$rate "
        done
        echo "concurrency $c: fsync $a(median $(echo "$a" | median)), no fsync $b(median $(echo "$b" | median))"
    done
    exit 0
fi

# ---------------------------------------------------------------- the benchmark
start_postern
start_postfix
if [ "$mode" = run ]; then # a command in the benchmark's set-up, for debugging
    export work pt pf pt_port pf_port pt_pid pf_pid client
    bash -c "$2" || true
    exit 0
fi
echo "== $(date -u '+%Y-%m-%d %H:%M') UTC bench/smtp.sh: postern $postern_version vs Postfix $postfix_version"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); queues on $(df -T "$qfs" | awk 'NR == 2 { print $2 " " $1 }'); load at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds $rounds; messages per run ${messages[*]} at concurrency ${concs[*]}; sessions ${session_secs}s per run"
echo "each run: RATE(load average at its start, % of the machine's CPU time idle during it)"

# warm-up, not counted: DNS cache, Postfix's processes, the file system
for srv in postern postfix; do run_messages $srv 10 200 >/dev/null; done

declare -A res cpu
order() { if [ $(($1 % 2)) -eq 1 ]; then echo postern postfix; else echo postfix postern; fi; }
for r in $(seq 1 "$rounds"); do
    for i in "${!concs[@]}"; do
        c=${concs[$i]}
        for srv in $(order "$r"); do
            l=$(load)
            read -r rate ms idle <<<"$(run_messages $srv "$c" "${messages[$i]}")"
            res[msg,$srv,$c]+="$rate "
            cpu[msg,$srv,$c]+="$ms "
            res[msgload,$srv,$c]+="$rate($l,$idle%) "
        done
    done
    for c in "${session_concs[@]}"; do
        for srv in $(order "$r"); do
            l=$(load)
            read -r rate us idle <<<"$(run_sessions $srv "$c")"
            res[ses,$srv,$c]+="$rate "
            cpu[ses,$srv,$c]+="$us "
            res[sesload,$srv,$c]+="$rate($l,$idle%) "
        done
    done
done

echo
echo "accepted messages/s (5,120-byte body, 1 recipient, one message per session), median of $rounds rounds"
printf '%-6s %9s %9s %7s   %s\n' conc postern postfix ratio "CPU ms/message: postern postfix (medians)"
for c in "${concs[@]}"; do
    a=$(echo "${res[msg,postern,$c]}" | median)
    b=$(echo "${res[msg,postfix,$c]}" | median)
    ca=$(echo "${cpu[msg,postern,$c]}" | median)
    cb=$(echo "${cpu[msg,postfix,$c]}" | median)
    printf '%-6s %9s %9s %6.1fx   %s %s\n' "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')" "$ca" "$cb"
    echo "       postern runs (load, idle): ${res[msgload,postern,$c]}"
    echo "       postfix runs (load, idle): ${res[msgload,postfix,$c]}"
done
echo
echo "new sessions/s (connect, greeting, EHLO, QUIT; ${session_secs}s per run), median of $rounds rounds"
printf '%-6s %9s %9s %7s   %s\n' conc postern postfix ratio "CPU us/session: postern postfix (medians)"
for c in "${session_concs[@]}"; do
    a=$(echo "${res[ses,postern,$c]}" | median)
    b=$(echo "${res[ses,postfix,$c]}" | median)
    ca=$(echo "${cpu[ses,postern,$c]}" | median)
    cb=$(echo "${cpu[ses,postfix,$c]}" | median)
    printf '%-6s %9s %9s %6.1fx   %s %s\n' "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')" "$ca" "$cb"
    echo "       postern runs (load, idle): ${res[sesload,postern,$c]}"
    echo "       postfix runs (load, idle): ${res[sesload,postfix,$c]}"
done

echo
echo "memory with idle sessions (open after the EHLO reply), summed over all the server's processes"
echo "(PSS and RSS from /proc/PID/smaps_rollup; per session = (PSS with N - PSS with none) / N;"
echo " kernel socket buffers, the same for both, are not counted)"
printf '%-7s %-8s %8s %9s %9s %9s %9s %11s  %s\n' server sessions held "set-up_s" processes rss_mb pss_mb pss_kb/sess load
mem_row() { # mem_row SERVER N "held H errors E seconds S processes P rss_kb R pss_kb P [note]" LOAD
    echo "$3" | awk -v srv="$1" -v n="$2" -v base="${base[$1]}" -v l="$4" '{
        for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
        note = (NF % 2) ? $NF : ""
        held = (n == "none") ? 0 : v["held"]
        per = (held > 0) ? sprintf("%.1f", (v["pss_kb"] - base) / held) : "-"
        printf "%-7s %-8s %8s %9s %9d %9.1f %9.1f %11s  %s %s\n", srv, n, (n == "none") ? "-" : held,
            (n == "none") ? "-" : v["seconds"], v["processes"], v["rss_kb"] / 1024, v["pss_kb"] / 1024, per, l, note }'
}
declare -A base per
for srv in postern postfix; do
    m=$(mem_of $srv)
    base[$srv]=$(echo "$m" | awk '{ print $6 }')
    mem_row $srv none "held 0 errors 0 seconds 0 $m" "$(load)"
done
for n in "${idle_sizes[@]}"; do
    for srv in postern postfix; do
        if [ $srv = postfix ] && ! [[ " ${idle_sizes_postfix[*]} " == *" $n "* ]]; then
            echo "postfix $n: not run (SMTP_BENCH_IDLE_POSTFIX=\"${idle_sizes_postfix[*]}\")"
            continue
        fi
        if [ -n "${per[$srv]:-}" ]; then
            need=$(awk -v n="$n" -v k="${per[$srv]}" 'BEGIN { print int(n * k / 1024) }')
            avail=$(mem_available_mb)
            if [ $((avail - need)) -lt "$min_free_mb" ]; then
                echo "$srv $n: not tried: needs about $need MB, $avail MB available, guard $min_free_mb MB"
                continue
            fi
        fi
        l=$(load)
        out=$(hold $srv "$n")
        per[$srv]=$(echo "$out" | awk -v b="${base[$srv]}" '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
            if (v["held"] > 0) printf "%.1f", (v["pss_kb"] - b) / v["held"]; else print 0 }')
        mem_row $srv "$n" "$out" "$l"
    done
done

echo
echo "goals"
goal() { # goal TEXT VALUE OP LIMIT
    awk -v t="$1" -v v="$2" -v op="$3" -v lim="$4" 'BEGIN {
        ok = (op == ">=") ? (v >= lim) : (v < lim)
        printf "  %-44s %8s  (goal %s %s)  %s\n", t, v, op, lim, ok ? "met" : "NOT met" }'
}
ratio() { awk -v a="$(echo "${res[$1,postern,$2]}" | median)" -v b="$(echo "${res[$1,postfix,$2]}" | median)" 'BEGIN { printf "%.1f", a / b }'; }
goal "accepted messages/s, concurrency 10: x Postfix" "$(ratio msg 10)" ">=" 3
goal "accepted messages/s, concurrency 50: x Postfix" "$(ratio msg 50)" ">=" 3
for c in "${session_concs[@]}"; do goal "new sessions/s, concurrency $c: x Postfix" "$(ratio ses "$c")" ">=" 3; done
goal "KB per idle session (postern, ${idle_sizes[-1]})" "${per[postern]:-?}" "<" 20
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
