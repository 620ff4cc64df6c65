#!/bin/bash
# tests/cli/queue.sh - `postern queue` through the real binary: messages are
# written by tests/cli/queue_inject (the queue writer the server uses), then
# list, cat, export, hold, release and delete are checked against expected
# output.  Prints "ok NAME" or "not ok NAME" with a diff; exits 1 if any
# case failed.  POSTERN_BIN names the binary (default build/postern); the
# helper is looked for beside it, in tests/cli/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
postern=${POSTERN_BIN:-$top/build/postern}
postern=$(cd "$(dirname "$postern")" && pwd)/$(basename "$postern")
inject=$(dirname "$postern")/tests/cli/queue_inject
for f in "$postern" "$inject"; do
    if [ ! -x "$f" ]; then
        echo "not ok queue.sh: $f is not built"
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/postern-queue-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir cfg queue
echo "queue_directory = $work/queue" >cfg/main.cf
export TZ=UTC
failed=0

pq() { "$postern" -c cfg queue "$@"; }

# check NAME EXPECTED-FILE ACTUAL-FILE
check() {
    if diff -u "$2" "$3" >diff.out 2>&1; then
        echo "ok $1"
    else
        echo "not ok $1"
        sed 's/^/# /' diff.out
        failed=1
    fi
}

# expect_status NAME WANT GOT
expect_status() {
    if [ "$2" = "$3" ]; then
        echo "ok $1"
    else
        echo "not ok $1: exit status $3, expected $2"
        failed=1
    fi
}

# -- an empty queue, and a queue directory that is not there
pq list >out 2>err
echo "Mail queue is empty" >want
check "list: empty queue" want out
expect_status "list: empty queue exit status" 0 $?

mkdir cfg2
echo "queue_directory = $work/absent" >cfg2/main.cf
"$postern" -c cfg2 queue list >out 2>err
expect_status "list: missing queue_directory exit status" 2 $?
echo "postern queue: error: queue_directory $work/absent: No such file or directory" >want
check "list: missing queue_directory message" want err

# -- three messages: plain, null sender on hold, binary content
printf 'Subject: one\r\n\r\nfirst message\r\n' >one.txt
printf 'Subject: two\n\n\000\001binary\377 and no final newline' >two.txt
head -c 3000 /dev/zero | tr '\0' 'x' >three.txt
id1=$("$inject" --arrival 1700000000 queue alice@example.org bob@example.com carol@example.com <one.txt)
id2=$("$inject" --hold --arrival 1700000100 queue '' postmaster@example.com <two.txt)
id3=$("$inject" --arrival 1700000200 queue 'odd sender%@example.org' 'x@example.com' <three.txt)
if [ -n "$id1" ] && [ -n "$id2" ] && [ -n "$id3" ]; then
    echo "ok inject: three messages"
else
    echo "not ok inject: three messages"
    exit 1
fi

pq list >out 2>err
cat >want <<EOF
----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
$(printf '%-17s %8d %s' "$id1 " 31 "Tue Nov 14 22:13:20") alice@example.org
                                               bob@example.com
                                               carol@example.com

$(printf '%-17s %8d %s' "$id2!" 44 "Tue Nov 14 22:15:00") MAILER-DAEMON
                                               postmaster@example.com

$(printf '%-17s %8d %s' "$id3 " 3000 "Tue Nov 14 22:16:40") odd sender%@example.org
                                               x@example.com

-- 3 Kbytes in 3 Requests.
EOF
check "list: three messages, hold marked with !" want out
: >want
check "list: no warnings" want err

# -- cat
pq cat "$id1" >out 2>err
{
    echo "*** ENVELOPE RECORDS incoming/$id1 ***"
    echo "message_size: 31"
    echo "queue_id: $id1"
    echo "message_arrival_time: Tue Nov 14 22:13:20 2023"
    echo "sender: alice@example.org"
    echo "named_attribute: client_name=localhost"
    echo "named_attribute: client_addr=127.0.0.1"
    echo "named_attribute: protocol=ESMTP"
    echo "recipient: bob@example.com"
    echo "recipient: carol@example.com"
    echo "*** MESSAGE CONTENTS incoming/$id1 ***"
    cat one.txt
    echo "*** MESSAGE FILE END incoming/$id1 ***"
} >want
check "cat: envelope then content" want out

pq cat -m "$id2" >out 2>err
check "cat -m: binary content exactly as queued" two.txt out

pq cat -e "$id2" >out 2>err
{
    echo "*** ENVELOPE RECORDS hold/$id2 ***"
    echo "message_size: 44"
    echo "queue_id: $id2"
    echo "message_arrival_time: Tue Nov 14 22:15:00 2023"
    echo "sender: "
    echo "named_attribute: client_name=localhost"
    echo "named_attribute: client_addr=127.0.0.1"
    echo "named_attribute: protocol=ESMTP"
    echo "recipient: postmaster@example.com"
} >want
check "cat -e: envelope only, null sender" want out

pq cat 4SVLCh0000z1 >out 2>err
expect_status "cat: unknown ID exit status" 1 $?
echo "postern queue: warning: 4SVLCh0000z1: no such message" >want
check "cat: unknown ID message" want err

pq cat ../cfg/main.cf >out 2>err
expect_status "cat: a path is not an ID" 1 $?
echo "postern queue: warning: ../cfg/main.cf: not a queue ID" >want
check "cat: a path is not an ID, message" want err

# -- export
pq export exported >out 2>err
expect_status "export: exit status" 0 $?
ls exported >out
printf '%s\n' "$id1.eml" "$id1.env" "$id2.eml" "$id2.env" "$id3.eml" "$id3.env" | sort >want
check "export: one .eml and one .env per message" want out
check "export: .eml is the content (plain)" one.txt "exported/$id1.eml"
check "export: .eml is the content (binary)" two.txt "exported/$id2.eml"
printf 'from alice@example.org\nto bob@example.com\nto carol@example.com\n' >want
check "export: .env from and to lines" want "exported/$id1.env"
printf 'from \nto postmaster@example.com\n' >want
check "export: .env null sender is 'from ' and nothing" want "exported/$id2.env"
printf 'from odd sender%%@example.org\nto x@example.com\n' >want
check "export: .env address as stored" want "exported/$id3.env"
echo "postern queue: exported 3 messages to exported" >want
check "export: summary" want err

# -- a file cut short but marked complete (a damaged disk) is never shown
# as a message (one still being written, mode 0600, is not even listed)
idcut=4SVLCh0000z2
head -c 150 "queue/incoming/$id1" >"queue/incoming/$idcut"
chmod 0700 "queue/incoming/$idcut"
pq list >out 2>err
grep -c "^[0-9A-Za-z]" out >count
echo 3 >want
check "truncated: list shows only the whole messages" want count
echo "postern queue: warning: incoming/$idcut: incomplete or damaged queue file (no matching end record); not listed" >want
check "truncated: list warns" want err
pq cat "$idcut" >out 2>err
expect_status "truncated: cat refuses" 1 $?
: >want
check "truncated: cat prints nothing" want out
rm -rf exported
pq export exported >out 2>err
expect_status "truncated: export exit status" 1 $?
[ ! -e "exported/$idcut.eml" ] && [ -e "exported/$id1.eml" ]
expect_status "truncated: export skips only it" 0 $?

# -- hold and release
pq hold "$id1" >out 2>err
echo "postern queue: Placed on hold: 1 message" >want
check "hold: summary" want err
[ -e "queue/hold/$id1" ] && [ ! -e "queue/incoming/$id1" ]
expect_status "hold: moved to hold/" 0 $?
pq release ALL >out 2>err
echo "postern queue: Released from hold: 2 messages" >want
check "release ALL: summary" want err
pq list 2>/dev/null | grep -c '!' >count
echo 0 >want
check "release ALL: nothing on hold" want count
[ -e "queue/incoming/$id2" ]
expect_status "release: back in incoming/" 0 $?

# -- delete
pq delete "$id3" >out 2>err
echo "postern queue: $id3: removed" >want
echo "postern queue: Deleted: 1 message" >>want
check "delete ID" want err
[ ! -e "queue/incoming/$id3" ]
expect_status "delete ID: file gone" 0 $?
pq delete "$id3" >out 2>err
expect_status "delete: missing ID exit status" 1 $?
echo "$id2" | pq delete - >out 2>err
echo "postern queue: $id2: removed" >want
echo "postern queue: Deleted: 1 message" >>want
check "delete -: IDs from stdin" want err
pq delete ALL >out 2>err
tail -n 1 err >last
echo "postern queue: Deleted: 2 messages" >want
check "delete ALL: the message and the damaged file" want last
pq list >out 2>err
echo "Mail queue is empty" >want
check "delete ALL: queue empty" want out

# -- usage
pq frobnicate >out 2>err
expect_status "usage: unknown operation exit status" 2 $?
pq >out 2>err
expect_status "usage: no operation exit status" 2 $?

exit $failed
