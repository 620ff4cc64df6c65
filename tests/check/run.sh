#!/bin/bash
# tests/check/run.sh - engine tests: each tests/check/NAME.in describes a
# configuration (main.cf lines appended to base.cf, tables) and a
# `postern check` script; NAME.out is the expected output.  Prints
# "ok NAME" or "not ok NAME" and a diff; exits non-zero on any failure.
#   run.sh [--update] [NAME...]     (--update rewrites the .out files)
#
# Case file sections (a line "=== KIND [ARG]" starts one):
#   === main.cf               appended to base.cf; TABLEDIR is the table directory
#   === table TYPE:NAME       a table source written to TABLEDIR/NAME (indexed
#                             types are built with `postern map`)
#   === file NAME             a plain file in TABLEDIR
#   === args                  extra arguments for `postern check` (one line)
#   === script                the check script
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${POSTERN_BIN:-$top/build/postern}
update=no
if [ "${1:-}" = "--update" ]; then update=yes; shift; fi
if [ $# -gt 0 ]; then
    cases=()
    for n in "$@"; do cases+=("$here/${n%.in}.in"); done
else
    cases=("$here"/*.in)
fi
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for case in "${cases[@]}"; do
    name=$(basename "$case" .in)
    dir=$work/$name
    mkdir -p "$dir/tables"
    cp "$here/base.cf" "$dir/main.cf"
    : > "$dir/args"
    : > "$dir/script"
    # Split the case file into its sections.
    python3 - "$case" "$dir" <<'PY'
import os, sys
case, d = sys.argv[1], sys.argv[2]
tabledir = os.path.join(d, "tables")
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
    out[(section, arg)].append(line.replace("TABLEDIR", tabledir))
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
    done < "$dir/build"
    # Tables are older than their sources would be a lint finding; not here.
    read -r -a args < "$dir/args" || true
    # Only the replies (stdout) are compared; warnings are shown on failure.
    (cd "$dir" && "$bin" -c "$dir" check "${args[@]}" "$dir/script") 2>"$dir/stderr" \
        | sed -e "s|$dir/tables|TABLEDIR|g" -e "s|$dir|WORKDIR|g" > "$dir/actual"
    if [ "$update" = yes ]; then
        cp "$dir/actual" "$here/$name.out"
        echo "ok $name (updated)"
    elif diff -u "$here/$name.out" "$dir/actual" > "$dir/diff" 2>&1; then
        echo "ok $name"
    else
        echo "not ok $name"
        sed 's/^/    /' "$dir/diff" | head -n 40
        sed -e "s|$dir/tables|TABLEDIR|g" -e 's/^/    stderr: /' "$dir/stderr" | head -n 10
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
