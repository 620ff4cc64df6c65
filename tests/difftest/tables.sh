#!/bin/bash
# tests/difftest/tables.sh - `postern map` against Debian's postmap(1) on
# generated tables.  Each case runs the same arguments through
#     postmap -c DIR ARGS...          and     postern -c DIR map ARGS...
# and compares standard output and the exit status (postmap's "fatal:" exit
# and postern's exit status 2 both count as "error").  For cidr:, regexp:
# and pcre: tables the warnings are compared too, without the program name.
# Indexed tables are built by both tools first (NAME.db for postmap,
# NAME.lmdb for postern; they coexist).  `-s` output is compared sorted,
# because neither tool promises an order for hash tables.
#
# Prints "ok NAME" or "not ok NAME" with a short diff per case; exits 1 if
# any case failed, and prints "skip" and exits 0 when postmap is absent.
#     tests/difftest/tables.sh [-v] [CASE-PATTERN]
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

if ! command -v postmap >/dev/null 2>&1; then
    echo "skip tables.sh: postmap (Debian's postfix) is not installed"
    exit 0
fi
if [ ! -x "$postern" ]; then
    echo "not ok tables.sh: $postern is not built"
    exit 1
fi
postern=$(cd "$(dirname "$postern")" && pwd)/$(basename "$postern")

work=$(mktemp -d "${TMPDIR:-/tmp}/postern-difftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
touch "$work/main.cf"
cd "$work" || exit 1
failed=0
passed=0

# status_class TOOL RC ERRFILE - "0", "1" or "error"
status_class() {
    case "$1:$2" in
    postmap:0 | postern:0) echo 0 ;;
    postern:1) echo 1 ;;
    postern:2) echo error ;;
    postmap:1) if grep -q 'fatal:' "$3"; then echo error; else echo 1; fi ;;
    *) echo "other($2)" ;;
    esac
}

# run_both NAME MODE STDIN ARGS... - MODE: plain, sorted (sort stdout),
# warn (also compare warnings); STDIN: a file or /dev/null
run_both() {
    local name=$1 mode=$2 input=$3
    shift 3
    if [ -n "$only" ] && [[ "$name" != *$only* ]]; then
        return
    fi
    # Postfix waits while a source file is younger than a second or two
    # (it may still be being written); age the files instead of waiting.
    find "$work" -maxdepth 1 -type f -newermt '-3 seconds' -exec touch -d '1 minute ago' {} +
    postmap -c "$work" "$@" <"$input" >p.out 2>p.err
    local prc=$?
    "$postern" -c "$work" map "$@" <"$input" >n.out 2>n.err
    local nrc=$?
    if [ "$mode" = sorted ]; then
        LC_ALL=C sort -o p.out p.out
        LC_ALL=C sort -o n.out n.out
    fi
    local pc nc problem=""
    pc=$(status_class postmap $prc p.err)
    nc=$(status_class postern $nrc n.err)
    [ "$pc" = "$nc" ] || problem="exit status: postmap $prc ($pc), postern $nrc ($nc)"
    cmp -s p.out n.out || problem="$problem${problem:+; }standard output differs"
    if [ "$mode" = warn ]; then
        # A table that cannot be used ends postmap ("fatal:"); postern
        # reports it ("warning:" for a stand-in table, "error:") and exits 2.
        local last='$ s/^(fatal|error|warning): //'
        [ "$pc$nc" = errorerror ] || last=''
        sed -E -e 's/^postmap: //' -e "$last" p.err >p.warn
        sed -E -e 's/^postern map: //' -e "$last" n.err >n.warn
        cmp -s p.warn n.warn || problem="$problem${problem:+; }warnings differ"
    fi
    if [ -z "$problem" ]; then
        echo "ok $name"
        passed=$((passed + 1))
        if [ "$verbose" = yes ]; then
            sed 's/^/#   /' p.out | head -n 5
        fi
        return
    fi
    failed=$((failed + 1))
    echo "not ok $name"
    echo "#   args: $*"
    echo "#   $problem"
    diff -u p.out n.out | sed -n '3,14s/^/#   /p'
    if [ "$mode" = warn ]; then
        diff -u p.warn n.warn | sed -n '3,14s/^/#   /p'
    fi
}

# query NAME MODE SPEC KEY... - one case per key (-q KEY) and one batch (-q -)
query() {
    local name=$1 mode=$2 spec=$3
    shift 3
    local i=0 key keys="keys.${name//\//_}"
    : >"$keys"
    for key in "$@"; do
        i=$((i + 1))
        run_both "$name/q$i" "$mode" /dev/null -q "$key" "$spec"
        printf '%s\n' "$key" >>"$keys"
    done
    run_both "$name/batch" "$mode" "$keys" -q - "$spec"
}

# build NAME OPTIONS... TYPE:FILE - both tools build; exit status compared
build() {
    local name=$1
    shift
    run_both "$name/build" plain /dev/null "$@"
}

# ---------------------------------------------------------------- hash

cat >"$work/mixed" <<'EOF'
Foo.Example.COM      OK
USER@Example.com     REJECT mixed case key
lower.example.org    550 5.7.1 Lower
1.2.3                REJECT partial ip
10                   REJECT one octet
192.168.1.1          OK full ip
2001:db8             REJECT ipv6 prefix
2001:DB8::1          OK ipv6 upper
example.com.         trailing dot
.example.net         leading dot
user@                localpart only
EOF
mixed_keys=(foo.example.com FOO.EXAMPLE.COM Foo.Example.COM user@example.com USER@EXAMPLE.COM
    lower.example.org LOWER.example.ORG 1.2.3 1.2.3.4 10 10.0.0.1 192.168.1.1 2001:db8
    2001:db8::1 2001:DB8::1 example.com. example.com .example.net example.net user@ nobody)
build hash-mixed hash:"$work/mixed"
query hash-mixed plain hash:"$work/mixed" "${mixed_keys[@]}"
run_both hash-mixed/dump sorted /dev/null -s hash:"$work/mixed"
query texthash-mixed warn texthash:"$work/mixed" "${mixed_keys[@]}"
run_both texthash-mixed/dump sorted /dev/null -s texthash:"$work/mixed"

# -f keeps the case of keys, in the built table and in queries.
cp "$work/mixed" "$work/nofold"
build hash-nofold -f hash:"$work/nofold"
for key in foo.example.com Foo.Example.COM USER@Example.com user@example.com; do
    run_both "hash-nofold/-fq:$key" plain /dev/null -f -q "$key" hash:"$work/nofold"
    run_both "texthash-nofold/-fq:$key" plain /dev/null -f -q "$key" texthash:"$work/nofold"
done

# Duplicates: the first wins; -r: the last; -w: the first, quietly.
printf 'a 1\nb 2\na 3\nA 4\nb 5\n' >"$work/dups"
build hash-dups hash:"$work/dups"
query hash-dups plain hash:"$work/dups" a A b
query texthash-dups warn texthash:"$work/dups" a A b
cp "$work/dups" "$work/dups-r"
build hash-dups-r -r hash:"$work/dups-r"
query hash-dups-r plain hash:"$work/dups-r" a b
cp "$work/dups" "$work/dups-w"
build hash-dups-w -w hash:"$work/dups-w"
query hash-dups-w plain hash:"$work/dups-w" a b

# Continuation lines, comments, blank lines, whitespace inside values.
printf '%s\n' '# comment' '' 'k1 v1' '  more' '' '# inside' $'\tand more' \
    'k2   spaced   value   ' '  # indented comment' 'k3 v3 # not a comment' \
    'k4' '   continues k4' $'k5\tv5' >"$work/cont"
build hash-cont hash:"$work/cont"
query hash-cont plain hash:"$work/cont" k1 k2 k3 k4 k5 more '# inside'
query texthash-cont warn texthash:"$work/cont" k1 k2 k3 k4 k5

# Long values (4 KB) and a long key.
long=$(head -c 3000 /dev/zero | tr '\0' 'x')
longer=$(head -c 4096 /dev/zero | tr '\0' 'y')
{
    echo "short $long"
    echo "big $longer"
    echo "$(head -c 400 /dev/zero | tr '\0' 'k') long key"
} >"$work/long"
build hash-long hash:"$work/long"
query hash-long plain hash:"$work/long" short big "$(head -c 400 /dev/zero | tr '\0' 'k')"
query texthash-long plain texthash:"$work/long" short big

# Changes in place: -i adds or replaces, -d deletes (each tool changes its
# own file: NAME.db and NAME.lmdb).
printf 'old1 v1\nold2 v2\nOld3 v3\n' >"$work/upd"
build hash-update hash:"$work/upd"
printf 'New1 n1\nold2 kept\n  continued\nnew4\tn4 with spaces\nnew1 again\n' >"$work/upd.in"
run_both hash-update/insert plain "$work/upd.in" -i hash:"$work/upd"
printf 'old1 replaced\nnew5 five\n' >"$work/upd.in-r"
run_both hash-update/insert-r plain "$work/upd.in-r" -r -i hash:"$work/upd"
query hash-update/after-insert plain hash:"$work/upd" new1 NEW1 old1 old2 old3 new4 new5
run_both hash-update/delete plain /dev/null -d OLD1 hash:"$work/upd"
run_both hash-update/delete-missing plain /dev/null -d nosuch hash:"$work/upd"
printf 'old2\nnosuch\n' >"$work/upd.del"
run_both hash-update/delete-batch plain "$work/upd.del" -d - hash:"$work/upd"
run_both hash-update/dump sorted /dev/null -s hash:"$work/upd"
run_both regexp-update/insert plain "$work/upd.in" -i regexp:"$work/upd"
run_both texthash-update/delete plain /dev/null -d old1 texthash:"$work/upd"

# A table that was never built, and a missing source.
run_both hash-unbuilt plain /dev/null -q x hash:"$work/never-built"
run_both texthash-missing plain /dev/null -q x texthash:"$work/no-such-file"

# Several tables: the first that has the key answers.
printf 'x from-first\n' >"$work/first"
printf 'x from-second\ny only-second\n' >"$work/second"
build multi-first hash:"$work/first"
build multi-second hash:"$work/second"
for key in x y z; do
    run_both "multi/$key" plain /dev/null -q "$key" hash:"$work/first" hash:"$work/second"
done
printf 'x\ny\nz\n' >"$work/multi.keys"
run_both multi/batch plain "$work/multi.keys" -q - hash:"$work/first" texthash:"$work/second"

# ---------------------------------------------------------- in-memory types

query inline plain 'inline:{a=b, {c = d e}, X=y, {k=v,w}}' a c x X k z ''
query inline-empty-value plain 'inline:{a=}' a
query inline-dups plain 'inline:{a=1, a=2, A=3, b=1, {b = 2}}' a b
query inline-empty-key plain 'inline:{=b, { = }, c=}' '' c
for spec in 'inline:{a=b, c=d e}' 'inline:a=b' 'inline:{a=b' 'inline:{a=b}}' 'inline:{}' \
    'inline:{ }' 'inline:{ , }' 'inline:{junk}' 'inline:{ a = b }' 'inline:{ {} }' \
    'inline:{ {a=b}x }' 'inline:{{a=b}{c=d}}' 'inline:{ {a} }' 'inline:{ {a=b} } '; do
    run_both "inline/bad:$spec" warn /dev/null -q a "$spec"
done
query inline-braces plain 'inline:{a={b}, {c = {d} e}, x=y=z}' a c x
run_both inline/dump sorted /dev/null -s 'inline:{a=b, c=d}'
query static plain 'static:{hello world}' anything ''
query static-word plain 'static:OK' x
run_both static/dump plain /dev/null -s 'static:x'
run_both fail plain /dev/null -q x 'fail:broken'
run_both static/empty warn /dev/null -q x 'static:'
run_both hash/empty-name warn /dev/null -q x 'hash:'
run_both empty-type warn /dev/null -q x ':name'

query unionmap plain 'unionmap:{inline:{a=x, b=y}, inline:{a=z}, static:s}' a b c
query unionmap-empty plain 'unionmap:{inline:{a=}, inline:{a=x}}' a
query unionmap-empty2 plain 'unionmap:{inline:{a=x}, inline:{a=}, inline:{a=y}}' a
query unionmap-only-empty plain 'unionmap:{inline:{a=}}' a
query unionmap-case plain 'unionmap:{inline:{A=b}}' a A
for spec in 'unionmap:inline:{a=b}' 'unionmap:{}' 'unionmap:{ }' 'unionmap:{inline:{a=b}' \
    'pipemap:{inline:{a=b}}}' 'unionmap:{inline:{a=b} junk}' 'unionmap:{static}' \
    'pipemap:{}' 'unionmap:{:x}' 'unionmap:{static:}' 'static:{a' 'static:{a}b' 'static:{a}}'; do
    run_both "nested-static/bad:$spec" warn /dev/null -q a "$spec"
done
query nested-static/ok plain 'unionmap:{inline:{a=b},,static:{{a}}, static:{a {b} c}}' a
run_both unionmap/unknown-member plain /dev/null -q a 'unionmap:{nosuch:x}'
run_both unionmap/dump plain /dev/null -s 'unionmap:{inline:{a=b}}'
query pipemap plain 'pipemap:{inline:{a=b, x=y}, inline:{b=c}}' a x q
query pipemap-one plain 'pipemap:{inline:{a=b}}' a
query pipemap-hash plain "pipemap:{hash:$work/first, inline:{from-first=piped}}" x y
run_both pipemap/bad plain /dev/null -q a 'pipemap:{}'

# ---------------------------------------------------------------- cidr

cat >"$work/net.cidr" <<'EOF'
# Rule order matters.
192.168.1.1             one
192.168.0.0/16          sixteen
192.168.1.0/24          never reached
[10.1.2.3]              bracketed
[10.1.2.0]/24           bracket-prefix
[10.1.3.0/24]           bracket-all
2001:db8::1             v6-host
2001:DB8:0:1::/64       v6-64
2001:db8::/32           v6-32
::ffff:0:0/96           mapped
::1.2.3.4               compat
!172.16.0.0/12          not-private
::/0                    any-v6
EOF
cidr_keys=(192.168.1.1 192.168.2.2 10.1.2.3 10.1.2.9 10.1.3.5 2001:db8::1 2001:DB8:0:0::1
    2001:0db8::0001 2001:db8:0:1::9 2001:db8:5::1 ::ffff:1.2.3.4 ::FFFF:102:304
    0:0:0:0:0:ffff:1.2.3.4 ::1.2.3.4 1.2.3.4 172.16.1.1 172.31.255.255 8.8.8.8 ::1 fe80::1
    '[10.1.2.3]' '10.1.2.3 ' ' 10.1.2.3' 1.2.3 010.1.2.3 1.2.3.04 'fe80::1%eth0' foo ''
    2001:db8::1:2:3:4:5:6 '::ffff:1.2.3.4%lo' 192.168.1.1.)
query cidr warn cidr:"$work/net.cidr" "${cidr_keys[@]}"

cat >"$work/bad.cidr" <<'EOF'
10.0.0.1/8 bits-beyond-prefix
10.0.0.0/33 bad-length
1.2.3 short
010.0.0.1 octal
1.2.3.4/ empty-mask
1.2.3.4/ab junk-mask
1.2.3/8 bad-network
1.2.3/99 length-before-network
1.2.3.4
1.2.3.5/32	
noresult
2001:db8::/129 v6-length
2001:db8::1/32 v6-bits
::ffff:1.2.3.4/96 mapped-bits
[10.1.2.3 open-bracket
[[1.2.3.4]] double-bracket
[] empty
[1.2.3.4]x junk-after
[1.2.3.4]/ no-mask
10.1.2.3/8] bracket-after
! noaddr
!
fe80::1%eth0 scoped
1.2.3.6/032 leading-zero-mask
1.2.3.7/+32 plus
1.2.3.8/ 32 space
1.2.3.9 /32 value-starts-with-slash
1.2.3.10/32/32 double
1.2.3.11/0x20 hex
0.0.0.0/-0 negative
1.2.3.12/4294967328 wraps-to-32
1.2.3.13/99999999999 huge
1.2.3.14/32 extra words in the value
EOF
query cidr-bad warn cidr:"$work/bad.cidr" 1.2.3.4 1.2.3.5 1.2.3.6 1.2.3.9 1.2.3.12 1.2.3.13 \
    1.2.3.14 10.0.0.1 2001:db8::1 fe80::1

cat >"$work/if.cidr" <<'EOF'
if 10.0.0.0/8
if !10.1.0.0/16
10.2.0.0/16 in-10-not-10.1-in-10.2
endif
10.0.0.0/8 in-10
endif
endif
if 1.2.3.4/ab
1.2.3.4 inside-bad-if
endif
!!8.0.0.0/8 double-negation
! 9.0.0.0/8 space-after-bang
! !7.0.0.0/8 bang-space-bang
if! 6.0.0.0/8
6.0.0.0/8 never
endif
If 5.0.0.0/8
5.5.0.0/16 five
ENDIF
if
endif junk
if 7.0.0.0/8 junk
ifx 1.0.0.0/8
endif1
if_1.0.0.0/8
if ::/0
2001:db8::/32 v6-in-if
endif
if 11.0.0.0/8
11.0.0.0/8 unclosed
EOF
query cidr-if warn cidr:"$work/if.cidr" 10.2.3.4 10.1.2.3 10.3.0.1 1.2.3.4 8.1.1.1 9.1.1.1 \
    7.1.1.1 6.1.1.1 5.5.5.5 5.6.6.6 1.1.1.1 2001:db8::1 11.1.1.1 ::1

# A larger table: many prefixes, overlapping, in an order that matters.
python3 - "$work" <<'PY'
import random, sys, ipaddress
random.seed(7)
rules, keys = [], []
for i in range(3000):
    if random.random() < 0.8:
        plen = random.choice([8, 12, 16, 20, 24, 24, 24, 28, 30, 32])
        addr = ipaddress.IPv4Address(random.randrange(2**32) & 0x0fffffff | 0x0a000000)
        net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    else:
        plen = random.choice([32, 48, 56, 64, 96, 128])
        addr = ipaddress.IPv6Address(random.randrange(2**128) & ((1 << 100) - 1) | (0x2001 << 112))
        net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    neg = "!" if random.random() < 0.002 else ""
    rules.append(f"{neg}{net} r{i}")
    host = net.network_address + random.randrange(min(net.num_addresses, 2**20))
    keys.append(str(host))
for i in range(200):
    keys.append(str(ipaddress.IPv4Address(random.randrange(2**32))))
with open(f"{sys.argv[1]}/big.cidr", "w") as f:
    f.write("\n".join(rules) + "\n")
with open(f"{sys.argv[1]}/big.keys", "w") as f:
    f.write("\n".join(keys) + "\n")
PY
run_both cidr-big/batch warn "$work/big.keys" -q - cidr:"$work/big.cidr"
run_both cidr-inline warn /dev/null -q 1.2.3.9 'cidr:{{1.2.3.0/24 net}, { 10.0.0.0/8  ten }}'
run_both cidr-inline/warning warn /dev/null -q 1.2.3.4 'cidr:{{1.2.3.4/8 x}, {1.2.3.4 yes}}'
run_both cidr-inline/bad warn /dev/null -q 1.2.3.4 'cidr:{1.2.3.4 x}'
run_both cidr/dump warn /dev/null -s cidr:"$work/net.cidr"
run_both cidr/missing plain /dev/null -q 1.2.3.4 cidr:"$work/no-such.cidr"

# ------------------------------------------------------- regexp and pcre

cat >"$work/subst.re" <<'EOF'
/^(.*)@example\.com$/ user=$1 dollar=$$ braced=${1}x paren=$(1)y
/^foo(bar)?$/ optional=[$1]
/^CASE$/ case-insensitive
/^Sense$/i case-sensitive
/^([a-z]+)-([a-z]+)$/ $2-$1
/^j(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$/ ten=${10} also-ten=$10
/^g$/ dd=$$$$ 
/^(e)(.)$/ $2$1$2$1
/^c(d)?$/ $1
/^o(.)$/ $4294967297
/^(.)(.)y$/ $4294967298 $2
/^nosub$/ 
/^multi$/
 550 this is
  # a comment inside
	one line
/^\$dollar$/ dollar-key
!/@/ no-at-sign
EOF
re_keys=(Joe@Example.COM foo foobar FOOBAR case CASE Sense sense abc-def jabcdefghij g eXY c cd
    oK xXy nosub multi '$dollar' x@y none '' ' ' 'a b')
query regexp-subst warn regexp:"$work/subst.re" "${re_keys[@]}"
query pcre-subst warn pcre:"$work/subst.re" "${re_keys[@]}"

cat >"$work/bad.re" <<'EOF'
/^a(b)$/ ref2=$2
/^a(b)$/ ref0=$0
/^ab$/ noparen=$1
/^c$/ trailing$
/^d$/ brace=${1
/^e$/ brace=${x}
/^f(x)?$/ dollarname=$name
/^h(.)$/ $10
/^i([a-z]+)$/ ${10}
!/^k(.)$/ negsub=$1
!/^k$/ $5
!/^k$/ $0
!/^ok$/ $$ok
/^l$/ paren=$(1
/^m(.)$/ p=$(1)$(1x)
/^n(.)$/ sp=${ 1 }
/^q$/ ${1?yes} ${1:no}
/^r$/ $x ${y} $z
/^s$/ ${x} $y
/^t$/ $x ${1}${y
/^u$/ $x ${1
/^v$/ ${}
/^w$/ $()
/^x$/ $ x
/^(y)$/ $-1 $1
/^(z)$/ $99999999999999999999 $1
/^(zz)$/ $1 $2147483648
x^gx$x alnum-delimiter
/^i/x$/ unescaped
/^j$/q bad-flag
/^l
/[/ bad-regex
/[/ $x
!/[/ $1
/[/q $1
/[/
/(/ paren
!abc x
!
EOF
bad_keys=(ab c d e f fx hx iabc k ok l mq nq q r s t u v w x y z zz j i/x zz)
query regexp-bad warn regexp:"$work/bad.re" "${bad_keys[@]}"
query pcre-bad warn pcre:"$work/bad.re" "${bad_keys[@]}"

cat >"$work/if.re" <<'EOF'
if /^a/
if !/b$/
/^a.*c$/ a-not-b-c
endif
/^a/ a
endif
endif
IF /^x/ extra text
endif
if /[/
/^y/ y
endif
if
endif junk
if/^z/
/^zz$/ zz
ENDIF
if !!/^w/
/^w/ w-double
endif
if /^v/i
/^v$/ v
endif
if x^qx
/^qq$/ alnum-delimiter-after-if
endif
ifx /q/ not-a-keyword
if /^p/
/^pp$/ pp
endif junk after endif
if !
endif
if /^t/
/^tt$/ unclosed
EOF
if_keys=(axc axb abc a x y zz z w ww v V qq pp tt t u)
query regexp-if warn regexp:"$work/if.re" "${if_keys[@]}"
query pcre-if warn pcre:"$work/if.re" "${if_keys[@]}"

cat >"$work/flags.re" <<'EOF'
/^Sense$/i sensitive
/^k$/ix toggled-twice
/^\(x\)y$/x basic=$1
/^(w)\1$/ backref=$1
/^i$/mi multi
|^a\|b$| escaped-delimiter
/^x\/y$/ escaped-slash
%^t\%u$% percent
/^p\q$/ unknown-escape
// empty-regex
EOF
flag_keys=(Sense sense k K xy '(x)y' ww 'a|b' a b x/y t%u pq 'p\q' anything)
query regexp-flags warn regexp:"$work/flags.re" "${flag_keys[@]}"

cat >"$work/flags.pcre" <<'EOF'
/^(?!internal-)(.*)-bounces@(.*)$/ 550 Write to ${1}@${2}
/^(?<name>a)(b)$/ named=$1-$2
/^f.g$/ dotall
/^h.i$/s no-dotall
/^ j $/x extended
/k/A anchored
/^(m+?)/U greedy=$1
/^n$/E endonly
/^o$/ dollar-before-newline
/^p$/m multiline
/^d$/X obsolete
/^e$/XX twice-obsolete
/^(?i)F$/i inline-flag
/(c)|(d)/ [$1][$2]
/^(x)(?:y)(z)$/ $1$2
/\Qa.b\E/ quoted
/^\w+\d$/ word-digit
EOF
pcre_keys=(ab AB f$'\n'g h$'\n'i j xk k mmm n$'\n' n o$'\n' q$'\n'p d e F f c d ba xyz a.b axb
    abc1 list-bounces@Example.org internal-list-bounces@example.org)
query pcre-flags warn pcre:"$work/flags.pcre" "${pcre_keys[@]}"

for type in regexp pcre; do
    run_both "$type-inline" warn /dev/null -q ab "$type:{{/^(a)b\$/ x=\$1}, {/c/ y}}"
    run_both "$type-inline/blank-rules" warn /dev/null -q b \
        "$type:{{/a/ x}, {  /b/ y  }, {}, {#c}, { }, {/q/ \$1}}"
    run_both "$type-inline/if" warn /dev/null -q cd \
        "$type:{{/^(a)b\$/ x=\$1}, {if /c/}, {/^c(d)\$/ \$1}, {endif}}"
    run_both "$type-inline/no-brace" warn /dev/null -q ab "$type:{ /^(a)b\$/ x=\$1 }"
    run_both "$type-inline/junk" warn /dev/null -q ab "$type:{{/a/ x}, junk}"
    run_both "$type-inline/after" warn /dev/null -q ab "$type:{{/a/ x}x}"
    run_both "$type-inline/nested" warn /dev/null -q ab "$type:{{/a/ {x}}}"
    run_both "$type/dump" warn /dev/null -s "$type:$work/subst.re"
    run_both "$type/build" plain /dev/null "$type:$work/subst.re"
    run_both "$type/missing" plain /dev/null -q x "$type:$work/no-such-file"
done

# Random rules from a grammar of valid and broken pieces: whatever postmap
# makes of them (results, skipped rules, warnings), postern must too.
random_tables=30
python3 - "$work" "$random_tables" <<'PY'
import random, sys
work, TABLES = sys.argv[1], int(sys.argv[2])
random.seed(2024)
R = random.choice
nets4 = ["10.0.0.0", "10.1.2.3", "192.168.0.0", "0.0.0.0", "1.2.3", "256.1.1.1", "10.1.2.0",
         "[10.2.0.0]", "[10.3.0.0", "010.0.0.0", "::", ""]
nets6 = ["2001:db8::", "2001:DB8::1", "::ffff:10.0.0.0", "::1", "fe80::", "2001:db8:::1",
         "[2001:db8::]", "2001:db8::g"]
masks = ["", "", "/8", "/16", "/24", "/32", "/0", "/33", "/x", "/", "/024", "/64", "/128", "/129"]
def cidr_pattern():
    p = R(nets4 + nets6) + R(masks)
    return R(["", "", "", "!", "! ", "!!"]) + p
def cidr_table(n):
    lines = []
    for i in range(n):
        k = random.random()
        if k < 0.06:
            lines.append("if " + cidr_pattern())
        elif k < 0.12:
            lines.append(R(["endif", "ENDIF", "endif x", "endif  "]))
        else:
            lines.append(cidr_pattern() + R([" r%d" % i, "", " r%d extra words" % i]))
    return lines
for t in range(TABLES):
    lines = cidr_table(400 if t == 0 else 12)
    open(f"{work}/rand{t}.cidr", "w").write("\n".join(lines) + "\n")
keys = ["10.0.0.1", "10.1.2.3", "10.2.0.5", "10.3.0.1", "192.168.0.1", "1.1.1.1", "::1",
        "2001:db8::1", "2001:db8::5", "::ffff:10.0.0.1", "fe80::1", "x", "10.0.0.0", "::"]
open(f"{work}/rand-cidr.keys", "w").write("\n".join(keys) + "\n")

res = ["^a", "a(b)", "(a)(b)?", "^(x|y)$", "[", "(", "a\\/b", "\\(q\\)", "", ".", "(.*)@(.*)",
       "^\\w+$", "(?i)z", "a{2}", "^$"]
delims = ["/", "/", "/", "|", "#", "%", "x"]
flags = ["", "", "", "i", "x", "m", "ix", "s", "A", "E", "U", "X", "q", "ii"]
results = ["r", "$1", "$2", "${1}", "$(2)", "$$", "$0", "$x", "${1", "$", "${}", "a$1b", "$10",
           "${1}${2}", "$1 $2", "", "$01", "${ 1 }", "$_"]
def re_table(n):
    lines = []
    for i in range(n):
        d = R(delims)
        pat = d + R(res) + d + R(flags)
        neg = R(["", "", "", "!", "! ", "!!"])
        k = random.random()
        if k < 0.07:
            lines.append("if " + neg + pat + R(["", "", " junk"]))
        elif k < 0.14:
            lines.append(R(["endif", "ENDIF", "endif x"]))
        else:
            r = " ".join(R(results) for _ in range(random.randint(0, 2)))
            lines.append(neg + pat + " " + ("r%d " % i) + r)
    return lines
for t in range(TABLES):
    lines = re_table(400 if t == 0 else 12)
    open(f"{work}/rand{t}.re", "w").write("\n".join(lines) + "\n")
keys = ["a", "ab", "AB", "x", "y", "q", "(q)", "a/b", "u@example.com", "zz", "", "aa", "word"]
open(f"{work}/rand-re.keys", "w").write("\n".join(keys) + "\n")
PY
for ((i = 0; i < random_tables; i++)); do
    run_both "random/cidr$i" warn "$work/rand-cidr.keys" -q - cidr:"$work/rand$i.cidr"
    run_both "random/regexp$i" warn "$work/rand-re.keys" -q - regexp:"$work/rand$i.re"
    run_both "random/pcre$i" warn "$work/rand-re.keys" -q - pcre:"$work/rand$i.re"
done

# btree: is another name for the same LMDB file in postern.
printf 'Key1 v1\nkey2 v2\n' >"$work/bt"
build btree btree:"$work/bt"
query btree plain btree:"$work/bt" key1 KEY2 key3

# A pattern table among others: first found wins, keys unfolded.
run_both mixed-types/regexp-first warn /dev/null -q Joe@example.com \
    regexp:"$work/subst.re" hash:"$work/mixed"
run_both mixed-types/hash-first plain /dev/null -q USER@Example.com \
    hash:"$work/mixed" regexp:"$work/subst.re"

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
