#!/bin/bash
# scripts/gen-param-docs.sh - regenerate docs/parameters.md from the
# parameter registry, as `postern conf -dD` prints it (one "# doc [flags]"
# comment line, then "name = default", per parameter).
#     scripts/gen-param-docs.sh [POSTERN-BINARY]      (default: build/postern)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/postern}
out=$top/docs/parameters.md
[ -x "$bin" ] || { echo "gen-param-docs.sh: no postern binary at $bin" >&2; exit 1; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
    cat <<'HEAD'
# Parameters

Every main.cf parameter postern knows, generated from its registry by
`scripts/gen-param-docs.sh` (`postern conf -dD`); do not edit by hand.
Names, value syntax and defaults are Postfix 3.7's (`postconf -d` on
Debian 12) except where noted below. `postern conf -d` shows the same
defaults, `postern conf` the effective values.

Types: booleans are `yes` or `no` (any case); times are a number with an
optional unit `s`, `m`, `h`, `d` or `w`, and a bare number is in the unit
of the default (`maximal_queue_lifetime = 3` is three days); sizes are
bytes; lists are separated by commas and/or whitespace, `{ ... }` keeps
a group together. Values may refer to other parameters (`$name` and the
other forms in [postern-conf.md](postern-conf.md#values)).

- *no effect*: accepted so that a Postfix main.cf works unchanged, but
  postern does not act on it (`postern conf -d` marks these).
- *postern only*: not a Postfix parameter.
- *computed*: the default is worked out at run time, as Postfix does
  (host name, domain, the networks of the machine's interfaces).

Defaults that differ from Postfix's, on purpose:

| parameter | postern | Postfix 3.7 (Debian) | why |
|-----------|---------|----------------------|-----|
| `config_directory` | `/etc/postern` | `/etc/postfix` | postern's own files |
| `queue_directory` | `/var/spool/postern` | `/var/spool/postfix` | a different queue format; both can be installed |
| `data_directory` | `/var/lib/postern` | `/var/lib/postfix` | as above |
| `mail_name` | `postern` | `Postfix` | the name in the greeting and Received: headers |
| `mail_version` | postern's version | `3.7.11` | |
| `alias_maps` | `hash:/etc/aliases` | `hash:/etc/aliases, nis:mail.aliases` | postern has no `nis:` tables; one that cannot open would make every lookup fail temporarily |
| `smtpd_forbid_bare_newline` | `normalize` | `no` | SMTP smuggling: only CR LF . CR LF ends DATA, so no second message can hide in a body (a bare LF still ends a line) |

`syslog_name` stays `postfix`, so that log lines read
`postfix/smtpd[pid]` and log tools written for Postfix keep working.

Postfix parameters that are not listed here are accepted too; postern
warns once that it ignores them. Any other name in main.cf gets an
"unused parameter" warning unless it is referred to as `$name` or listed
in `smtpd_restriction_classes`.

| parameter | default | description |
|-----------|---------|-------------|
HEAD
    "$bin" -c /nonexistent conf -dD | awk '
        function code(s) {
            if (s == "") return ""
            gsub(/\|/, "\\|", s)
            if (index(s, "`") > 0) return "`` " s " ``"
            return "`" s "`"
        }
        /^# / {
            doc = substr($0, 3)
            flags = ""
            if (sub(/ \[no effect in postern\]/, "", doc)) flags = flags " *(no effect)*"
            computed = sub(/ \[computed\]/, "", doc)
            if (doc ~ /^postern only: /) { sub(/^postern only: /, "", doc); flags = flags " *(postern only)*" }
            gsub(/\|/, "\\|", doc)
            next
        }
        {
            eq = index($0, " =")
            name = substr($0, 1, eq - 1)
            value = substr($0, eq + 3)
            shown = computed ? "*computed*" : code(value)
            printf "| `%s` | %s | %s%s |\n", name, shown, doc, flags
        }'
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out ($(grep -c '^| `' "$out") rows)"
