#!/bin/bash
# tests/lib/check-cases.sh - play `postern check` cases and compare their
# output with the expected one: the runner behind tests/check/run.sh and
# tests/check-live/.  Each SUITE/NAME.in describes a configuration (main.cf
# lines appended to a base main.cf, tables) and a check script; NAME.out is
# the expected output.  Prints "ok NAME" or "not ok NAME" and a diff; exits
# non-zero on any failure.
#   check-cases.sh SUITE [--update] [NAME...]     (--update rewrites .out)
#
# Case file sections (a line "=== KIND [ARG]" starts one):
#   === main.cf               appended to the base; TABLEDIR is the table directory
#   === table TYPE:NAME       a table source written to TABLEDIR/NAME (indexed
#                             types are built with `postern map`)
#   === file NAME             a plain file in TABLEDIR
#   === args                  extra arguments for `postern check` (one line)
#   === script                the check script
#
# Environment:
#   POSTERN_BIN   the binary (default: build/postern of the source tree)
#   CHECK_BASE    the base main.cf (default: SUITE/base.cf)
#   CHECK_ARGS    arguments for every `postern check` of the run, before the
#                 case's own (e.g. "--dns-servers 127.0.0.1@5353")
#   CHECK_SUBST   "NAME=VALUE ..." replaced in every section of every case
#                 (e.g. "POLICYPORT=10040"), after TABLEDIR
# Only the replies (stdout) are compared; stderr is shown on failure.
set -u
[ $# -ge 1 ] || {
    echo "usage: check-cases.sh SUITE [--update] [NAME...]" >&2
    exit 2
}
suite=$(cd "$1" && pwd)
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${POSTERN_BIN:-$top/build/postern}
base=${CHECK_BASE:-$suite/base.cf}
read -r -a common_args <<<"${CHECK_ARGS:-}"
update=no
if [ "${1:-}" = "--update" ]; then
    update=yes
    shift
fi
if [ $# -gt 0 ]; then
    cases=()
    for n in "$@"; do cases+=("$suite/$(basename "${n%.in}").in"); done
else
    cases=("$suite"/*.in)
fi
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for case in "${cases[@]}"; do
    name=$(basename "$case" .in)
    dir=$work/$name
    mkdir -p "$dir/tables"
    cp "$base" "$dir/main.cf"
    : >"$dir/args"
    : >"$dir/script"
    # Split the case file into its sections.
    python3 - "$case" "$dir" "${CHECK_SUBST:-}" <<'PY'
import os, sys
case, d, subst = sys.argv[1], sys.argv[2], sys.argv[3]
tabledir = os.path.join(d, "tables")
pairs = [("TABLEDIR", tabledir)]
for item in subst.split():
    k, _, v = item.partition("=")
    pairs.append((k, v))
section, arg, out = None, None, {}
order = []
for line in open(case, encoding="utf-8"):
    if line.startswith("=== "):
        parts = line[4:].split(None, 1)
        section = parts[0]
        arg = parts[1].strip() if len(parts) > 1 else ""
        order.append((section, arg))
        out[(section, arg)] = []
        continue
    if section is None:
        continue
    for k, v in pairs:
        line = line.replace(k, v)
    out[(section, arg)].append(line)
built = []
for (section, arg) in order:
    text = "".join(out[(section, arg)])
    if section == "main.cf":
        with open(os.path.join(d, "main.cf"), "a") as f:
            f.write("\n" + text)
    elif section in ("table", "file"):
        kind, _, name = arg.partition(":") if section == "table" else ("file", "", arg)
        with open(os.path.join(tabledir, name), "w") as f:
            f.write(text)
        if kind in ("hash", "btree", "lmdb"):
            built.append(kind + ":" + os.path.join(tabledir, name))
    elif section == "args":
        open(os.path.join(d, "args"), "w").write(text.strip())
    elif section == "script":
        open(os.path.join(d, "script"), "w").write(text)
open(os.path.join(d, "build"), "w").write("".join(b + "\n" for b in built))
PY
    while read -r spec; do
        [ -n "$spec" ] && "$bin" -c "$dir" map "$spec" >/dev/null 2>&1
    done <"$dir/build"
    # Tables are older than their sources would be a lint finding; not here.
    read -r -a args <"$dir/args" || true
    (cd "$dir" && "$bin" -c "$dir" check "${common_args[@]}" "${args[@]}" "$dir/script") \
        2>"$dir/stderr" |
        sed -e "s|$dir/tables|TABLEDIR|g" -e "s|$dir|WORKDIR|g" >"$dir/actual"
    if [ "$update" = yes ]; then
        cp "$dir/actual" "$suite/$name.out"
        echo "ok $name (updated)"
    elif diff -u "$suite/$name.out" "$dir/actual" >"$dir/diff" 2>&1; then
        echo "ok $name"
    else
        echo "not ok $name"
        sed 's/^/    /' "$dir/diff" | head -n 40
        sed -e "s|$dir/tables|TABLEDIR|g" -e 's/^/    stderr: /' "$dir/stderr" | head -n 10
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
