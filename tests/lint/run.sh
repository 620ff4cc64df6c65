#!/bin/bash
# tests/lint/run.sh - `postern lint` tests: each tests/lint/NAME.in describes a
# configuration (main.cf lines appended to base.cf, tables, files) and
# NAME.out is the expected output of `postern lint` on it, followed by a line
# "[exit status N]".  Prints "ok NAME" or "not ok NAME" and a diff; exits
# non-zero on any failure.
#   run.sh [--update] [NAME...]     (--update rewrites the .out files)
#
# Case file sections (a line "=== KIND [ARG]" starts one; lines before the
# first section are comments):
#   === main.cf               appended to base.cf; TABLEDIR is the table directory
#   === table TYPE:NAME       a table source written to TABLEDIR/NAME; indexed
#                             types (hash, btree, lmdb) are built with `postern map`
#   === nobuild               build no table: the case is about missing indexes
#   === file NAME             a plain file in TABLEDIR (written before building)
#   === edit NAME             lines appended to TABLEDIR/NAME after building, and
#                             its index dated an hour back: an edit without
#                             `postern map`
#   === args                  extra arguments for `postern lint` (one line)
# Paths in the output are normalized: TABLEDIR for the table directory,
# WORKDIR for the configuration directory.  Only stdout and the exit status
# are compared; stderr (the engine's own warnings) is shown on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${POSTERN_BIN:-$top/build/postern}
update=no
if [ "${1:-}" = "--update" ]; then
    update=yes
    shift
fi
if [ $# -gt 0 ]; then
    cases=()
    for n in "$@"; do cases+=("$here/${n%.in}.in"); done
else
    cases=("$here"/*.in)
fi
if [ ! -x "$bin" ]; then
    echo "not ok setup: no postern binary at $bin (set POSTERN_BIN)"
    exit 1
fi
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for case in "${cases[@]}"; do
    name=$(basename "$case" .in)
    dir=$work/$name
    mkdir -p "$dir/tables"
    cp "$here/base.cf" "$dir/main.cf"
    : >"$dir/args"
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
build, edits = [], []
nobuild = any(s == "nobuild" for (s, _) in order)
for (section, arg) in order:
    text = "".join(out[(section, arg)])
    if section == "main.cf":
        with open(os.path.join(d, "main.cf"), "a") as f:
            f.write("\n" + text)
    elif section == "table":
        kind, _, name = arg.partition(":")
        with open(os.path.join(tabledir, name), "w") as f:
            f.write(text)
        if kind in ("hash", "btree", "lmdb") and not nobuild:
            build.append(kind + ":" + os.path.join(tabledir, name))
    elif section == "file":
        with open(os.path.join(tabledir, arg), "w") as f:
            f.write(text)
    elif section == "edit":
        edits.append((os.path.join(tabledir, arg), text))
    elif section == "args":
        open(os.path.join(d, "args"), "w").write(text.strip())
    elif section != "nobuild":
        sys.exit("%s: unknown section \"%s\"" % (case, section))
open(os.path.join(d, "build"), "w").write("".join(b + "\n" for b in build))
for i, (path, text) in enumerate(edits):
    open(os.path.join(d, "edit.%d" % i), "w").write(path + "\n" + text)
PY
    if [ $? -ne 0 ]; then
        echo "not ok $name (bad case file)"
        failed=$((failed + 1))
        continue
    fi
    while read -r spec; do
        [ -n "$spec" ] && "$bin" -c "$dir" map "$spec" >/dev/null 2>&1
    done <"$dir/build"
    # Edits after building: the source changes, its index stays as it was.
    for edit in "$dir"/edit.*; do
        [ -f "$edit" ] || continue
        target=$(head -n 1 "$edit")
        tail -n +2 "$edit" >>"$target"
        [ -f "$target.lmdb" ] && touch -d '1 hour ago' "$target.lmdb"
    done
    read -r -a args <"$dir/args" || true
    (cd "$dir" && "$bin" -c "$dir" lint "${args[@]}") >"$dir/stdout" 2>"$dir/stderr"
    rc=$?
    {
        sed -e "s|$dir/tables|TABLEDIR|g" -e "s|$dir|WORKDIR|g" "$dir/stdout"
        echo "[exit status $rc]"
    } >"$dir/actual"
    if [ "$update" = yes ]; then
        cp "$dir/actual" "$here/$name.out"
        echo "ok $name (updated)"
    elif diff -u "$here/$name.out" "$dir/actual" >"$dir/diff" 2>&1; then
        echo "ok $name"
    else
        echo "not ok $name"
        sed 's/^/    /' "$dir/diff" | head -n 40
        sed -e "s|$dir/tables|TABLEDIR|g" -e 's/^/    stderr: /' "$dir/stderr" | head -n 10
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
