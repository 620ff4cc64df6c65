#!/bin/bash
# tests/difftest/conf.sh - `postern conf` against Debian's postconf(1) on
# generated configurations.  Each case writes DIR/main.cf (and master.cf),
# then runs the same arguments through
#     postconf -c DIR ARGS...        and     postern -c DIR conf ARGS...
# and compares standard output (warnings go to stderr and differ on
# purpose: postern names the line).  The full listings (no option, -x) are
# compared for every parameter postern registers, except the ones whose
# defaults postern changes on purpose (its own paths, name and version,
# alias_maps without nis:, see docs/parameters.md) and what derives from
# them.  -e and -X are compared on the files they leave behind.
#
# Prints "ok NAME" or "not ok NAME" with a diff per case; exits 1 if any case
# failed; prints "skip" and exits 0 when postconf is not installed.
#     tests/difftest/conf.sh [-v] [CASE-PATTERN]     (-v: show both tools' warnings;
#                                                    KEEP=1 keeps the work directory)
set -u
export PATH="$PATH:/usr/sbin:/sbin"
top=$(cd "$(dirname "$0")/../.." && pwd)
postern=${POSTERN_BIN:-$top/build/postern}
verbose=no
if [ "${1:-}" = -v ]; then
    verbose=yes
    shift
fi
only=${1:-}

if ! command -v postconf >/dev/null 2>&1; then
    echo "skip conf.sh: postconf (Debian's postfix) is not installed"
    exit 0
fi
if [ ! -x "$postern" ]; then
    echo "not ok conf.sh: no postern binary at $postern"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/postern-difftest-conf.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
failures=0

# Defaults postern sets differently on purpose, and parameters whose
# expanded value follows from them.
deviating="mail_name mail_version queue_directory data_directory alias_maps smtpd_forbid_bare_newline"
derived="smtpd_banner address_verify_map local_recipient_maps"

# Parameters whose defaults do not depend on the machine or on postern's
# own choices, for -d.
defaults_params="smtpd_delay_reject smtpd_helo_required smtpd_recipient_limit smtpd_timeout
  smtpd_starttls_timeout smtpd_hard_error_limit smtpd_soft_error_limit smtpd_error_sleep_time
  smtpd_relay_restrictions relay_domains mynetworks_style default_rbl_reply
  smtpd_relay_before_recipient_restrictions smtpd_null_access_lookup_key
  maximal_queue_lifetime bounce_queue_lifetime delay_warning_time message_size_limit
  smtpd_forbidden_commands smtpd_sasl_security_options smtpd_tls_protocols
  unknown_client_reject_code access_map_reject_code maps_rbl_reject_code
  parent_domain_matches_subdomains smtputf8_enable append_dot_mydomain
  smtpd_tls_fingerprint_digest syslog_name smtpd_per_request_deadline
  virtual_alias_domains virtual_mailbox_domains smtpd_client_connection_count_limit
  notify_classes double_bounce_sender mydestination myorigin smtpd_expansion_filter"

# report NAME EXPECTED-FILE ACTUAL-FILE
report() {
    if cmp -s "$2" "$3"; then
        echo "ok $1"
    else
        echo "not ok $1"
        diff -u --label postconf --label postern "$2" "$3" | head -n 40 | sed 's/^/    /'
        failures=$((failures + 1))
    fi
}

# filter NAMES-FILE < LISTING - lines of the parameters named in NAMES-FILE
filter() {
    awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' "$1" -
}

# compare CASE LABEL ARGS... - same arguments to both tools
compare() {
    local case=$1 label=$2
    shift 2
    postconf -c "$work/$case" "$@" >"$work/expected" 2>"$work/expected.err"
    "$postern" -c "$work/$case" conf "$@" >"$work/actual" 2>"$work/actual.err"
    report "$case $label" "$work/expected" "$work/actual"
    if [ $verbose = yes ]; then
        sed 's/^/    postconf: /' "$work/expected.err"
        sed 's/^/    postern: /' "$work/actual.err"
    fi
}

# compare_listing CASE LABEL [-x] - every registered parameter, effective value
compare_listing() {
    local case=$1 label=$2 excluded="$deviating"
    shift 2
    [ "${1:-}" = -x ] && excluded="$deviating $derived"
    "$postern" -c "$work/$case" conf "$@" 2>/dev/null >"$work/listing.postern"
    postconf -c "$work/$case" "$@" 2>/dev/null >"$work/listing.postconf"
    # the parameters both know (postconf has more, postern has postern_*)
    awk '{ print $1 }' "$work/listing.postern" | grep -vxF -f <(tr ' ' '\n' <<<"$excluded" | grep .) \
        | filter <(awk '{ print $1 }' "$work/listing.postconf") >"$work/names"
    filter "$work/names" <"$work/listing.postconf" >"$work/expected"
    filter "$work/names" <"$work/listing.postern" >"$work/actual"
    report "$case $label" "$work/expected" "$work/actual"
}

# compare_edit CASE LABEL ARGS... - the file -e/-X leave behind
compare_edit() {
    local case=$1 label=$2
    shift 2
    rm -rf "$work/edit.postconf" "$work/edit.postern"
    cp -r "$work/$case" "$work/edit.postconf"
    cp -r "$work/$case" "$work/edit.postern"
    postconf -c "$work/edit.postconf" "$@" >/dev/null 2>&1
    "$postern" -c "$work/edit.postern" conf "$@" >/dev/null 2>&1
    report "$case $label" "$work/edit.postconf/main.cf" "$work/edit.postern/main.cf"
}

# run_case NAME - every comparison on the configuration in $work/NAME
run_case() {
    local case=$1
    compare "$case" "-n" -n
    compare "$case" "-nx" -nx
    compare "$case" "-nf" -nf
    compare "$case" "-nh" -nh
    compare_listing "$case" "all parameters"
    compare_listing "$case" "all parameters -x" -x
    # shellcheck disable=SC2086
    compare "$case" "-d" -d $defaults_params
    # shellcheck disable=SC2086
    compare "$case" "-dx" -dx $defaults_params
    # shellcheck disable=SC2086
    compare "$case" "-dh" -dh $defaults_params
    local set_names
    set_names=$(postconf -c "$work/$case" -n 2>/dev/null | awk '{ print $1 }' | head -n 12)
    # shellcheck disable=SC2086
    compare "$case" "NAME..." $set_names
    # shellcheck disable=SC2086
    compare "$case" "-x NAME..." -x $set_names
    # shellcheck disable=SC2086
    compare "$case" "-hx NAME..." -hx $set_names
    compare "$case" "-M" -M
    compare "$case" "-Mf" -Mf
    # postconf appends new names in hash-table order, postern in the order
    # given: replace set names in one run, append one name in another
    local -a replace=()
    for name in $set_names; do
        [ "$name" = config_directory ] || replace+=("$name= replaced  value ")
    done
    compare_edit "$case" "-e (replace)" -e "${replace[@]:0:3}"
    compare_edit "$case" "-e (append)" -e "relay_domains = a.example  b.example"
    compare_edit "$case" "-X" -X smtpd_client_restrictions myorigin not_set_anywhere
}

# new_case NAME - create $work/NAME with main.cf from stdin and a master.cf
new_case() {
    mkdir -p "$work/$1"
    cat >"$work/$1/main.cf"
    cat >"$work/$1/master.cf" <<'EOF'
# a master.cf in the layouts people write
smtp      inet  n       -       y       -       -       smtpd
127.0.0.1:10025 inet n - n - 10 smtpd -o smtpd_banner=$myhostname  -o  mynetworks=127.0.0.0/8
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  # comment between continuation lines
  -o smtpd_tls_security_level=encrypt -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
  -o smtpd_recipient_restrictions=$mua_recipient_restrictions
pickup    unix  n       -       y       60      1       pickup
maildrop  unix  -       n       n       -       -       pipe
  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
s1 inet n - n - - smtpd -v -o smtpd_delay_reject=no foo -o c=d
averyveryverylongservicename inet n - n - - smtpd -o biff=no
edge80 inet n - n - - smtpd aaaaaaaaaaaaaaaaa b
edge79 inet n - n - - smtpd aaaaaaaaaaaaaaaa b
EOF
}

cases=()

new_case basic <<'EOF'
# comments and blank lines
myhostname = mx.example.com
mydomain = example.com

myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_banner = $myhostname ESMTP
smtpd_delay_reject=yes
smtpd_helo_required   =   yes
biff = no
mua_recipient_restrictions = permit_sasl_authenticated, reject
EOF
cases+=(basic)

new_case continuation <<'EOF'
myhostname = mx.example.org
smtpd_client_restrictions = permit_mynetworks,
	permit_sasl_authenticated,

# a comment inside the value
    reject_unknown_reverse_client_hostname
  # an indented comment
   check_client_access hash:/etc/postern/access
smtpd_recipient_restrictions =
    permit_mynetworks
    reject_unauth_destination
smtpd_sender_restrictions = reject_non_fqdn_sender    reject_unknown_sender_domain
smtpd_banner = $myhostname   ESMTP	$myorigin
EOF
cases+=(continuation)

# The two configurations of seed 004; the later one wins.
new_case seed004 <<'EOF'
smtpd_client_restrictions = permit_mynetworks
    permit_sasl_authenticated
    reject_unknown_reverse_client_hostname
    check_client_access cidr:/etc/postfix/cidr_table_access.cidr
    check_client_access hash:/etc/postfix/access
    reject_rbl_client zen.spamhaus.org=127.0.0.10
    reject_rbl_client zen.spamhaus.org=127.0.0.11
    reject_rbl_client zen.spamhaus.org
    reject_rbl_client bl.spamcop.net
    reject_unauth_pipelining
    permit
smtpd_client_restrictions = permit_mynetworks
    reject_rbl_client zen.spamhaus.org=127.0.0.10
    reject_rbl_client zen.spamhaus.org=127.0.0.11
    reject_rbl_client zen.spamhaus.org
    reject_rbl_client bl.spamcop.net
    permit_sasl_authenticated
    reject_unknown_reverse_client_hostname
    check_client_access cidr:/etc/postfix/cidr_table_access.cidr
    check_client_access hash:/etc/postfix/access
    reject_unauth_pipelining
    permit
EOF
cases+=(seed004)

new_case expansion <<'EOF'
myhostname = h.example
mydomain = example
empty =
smtpd_banner = $$x ${myhostname}-$(mydomain) ${empty?yes}|${empty:no}|${myhostname?{Y}:{N}}|${empty?{Y}:{N}}|${empty?{Y}:N2}
smtpd_reject_footer = ${myhostname:{a}}${myhostname?{a}} $client_address
smtpd_policy_service_default_action = ${{$mydomain} == {example} ? {eq} : {ne}} ${{10} < {9}?{lt}:{ge}} ${{abc}!={abd}?{x}}
smtpd_sasl_local_domain = ${{a}=={a}?x:y} ${myhostname? x } [${myhostname?{ x }}] ${myhostname?{a} :  {b} }
smtpd_proxy_ehlo = ${{3.6} <level {3.10} ? {a} : {b}} ${{2} >=level {1}} $(myhostname?(a)) ${ myhostname }
relay_domains = $mydestination, ${empty:$mydomain}
indirect = $empty
smtpd_sasl_path = ${indirect?set}${indirect:unset}
smtpd_restriction_classes = ${myhostname?strict}
strict = reject
EOF
cases+=(expansion)

for level in 0 2 3.6; do
    new_case "level-$level" <<EOF
compatibility_level = $level
myhostname = mx.example.net
EOF
    cases+=("level-$level")
done

new_case stress <<'EOF'
stress = yes
smtpd_per_record_deadline = yes
EOF
cases+=(stress)

if [ -f /work/shared/compat/base/main.cf ]; then
    new_case compat-base </work/shared/compat/base/main.cf
    cases+=(compat-base)
fi

# Debian's master.cf as installed (pipe services with long argv= lines).
if [ -f /etc/postfix/master.cf ]; then
    new_case debian-master <<'EOF'
myhostname = mx.example.com
EOF
    cp /etc/postfix/master.cf "$work/debian-master/master.cf"
    cases+=(debian-master)
fi

# Random layouts of restriction lists: separators, continuation lines,
# comments and blank lines in between (fixed seed: the same files each run).
RANDOM=4004
words=(permit_mynetworks permit_sasl_authenticated reject_unauth_destination
    "check_client_access hash:/etc/postern/access" "reject_rbl_client zen.spamhaus.org"
    reject_non_fqdn_sender '$extra_checks' 'reject_unknown_client_hostname' permit reject)
seps=(" " ", " "," "	" "
    " "
  " ",
	" "

    " "
# comment
  ")
for n in 1 2 3 4 5 6; do
    {
        echo "myhostname = r$n.example.com"
        echo "extra_checks = reject_unauth_pipelining"
        for p in smtpd_client_restrictions smtpd_recipient_restrictions smtpd_sender_restrictions; do
            printf '%s =' "$p"
            count=$((RANDOM % 7 + 1))
            for ((i = 0; i < count; i++)); do
                printf '%s%s' "${seps[RANDOM % ${#seps[@]}]}" "${words[RANDOM % ${#words[@]}]}"
            done
            printf '\n'
            if [ $((RANDOM % 2)) = 0 ]; then printf '\n# between parameters\n'; fi
        done
        printf 'smtpd_recipient_limit = %d\n' $((RANDOM % 500 + 1))
    } | new_case "random-$n"
    cases+=("random-$n")
done

for case in "${cases[@]}"; do
    if [ -n "$only" ] && [[ $case != *$only* ]]; then continue; fi
    run_case "$case"
done

[ "$failures" -eq 0 ]
