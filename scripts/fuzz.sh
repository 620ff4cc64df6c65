#!/bin/bash
# scripts/fuzz.sh - build the libFuzzer targets of tests/fuzz with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer (in build-fuzz/), then run
# each for SECONDS (default 60), one after the other.  Each target keeps its
# corpus in build-fuzz/corpus/NAME, starting from the seeds in
# tests/fuzz/corpus/NAME when there are any; crashes are written to
# build-fuzz/crashes/.  Exit status 1 if anything did not build or any
# target found a problem.
#   scripts/fuzz.sh [SECONDS] [NAME-PATTERN]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
seconds=${1:-60}
only=${2:-}
dir=${FUZZ_BUILD:-build-fuzz}

if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
failed=0
# Keep going past a target that does not build: the others still run.
if ! ninja -k 0 -C "$dir" >"$dir.ninja.log" 2>&1; then
    echo "not ok build (log: $dir.ninja.log)"
    grep -E '^FAILED|error:' "$dir.ninja.log" | head -n 10
    failed=1
fi

mkdir -p "$dir/crashes"
for exe in "$dir"/tests/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    if [ -n "$only" ] && [[ "$name" != *$only* ]]; then
        continue
    fi
    corpus=$dir/corpus/$name
    mkdir -p "$corpus"
    args=("$corpus")
    [ -d "tests/fuzz/corpus/$name" ] && args+=("tests/fuzz/corpus/$name")
    log=$dir/$name.log
    if "$exe" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/$name-" "${args[@]}" >"$log" 2>&1; then
        echo "ok $name: $(grep -m1 '^Done' "$log")"
    else
        echo "not ok $name (log: $log)"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 10
        failed=1
    fi
done
exit "$failed"
