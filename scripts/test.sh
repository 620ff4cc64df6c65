#!/bin/bash
# scripts/test.sh - build postern and run every test suite: unit tests
# (cmocka), engine tests (postern check golden files), lint tests (postern
# lint golden files), CLI suites (tests/cli/*.sh), differential tests
# against Debian's Postfix tools, integration tests (pytest against the real
# daemon), and the unit, engine and differential suites again under
# AddressSanitizer + UndefinedBehaviorSanitizer.  The last line is
# "N passed, N failed"; the exit status is non-zero when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/setup.sh || exit 1

pass=0
fail=0
failed_names=()

# count_tap FILE SUITE - add "ok"/"not ok" lines of FILE to the totals
count_tap() {
    local p f
    p=$(grep -cE '^ok( |$)' "$1" || true)
    f=$(grep -cE '^not ok( |$)' "$1" || true)
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$f" -gt 0 ]; then
        while IFS= read -r line; do failed_names+=("$2: ${line#not ok }"); done \
            < <(grep -E '^not ok( |$)' "$1")
    fi
}

# suite_failed SUITE WHY - a whole suite that could not run counts as a failure
suite_failed() {
    fail=$((fail + 1))
    failed_names+=("$1: $2")
    echo "FAILED: $1: $2"
}

build() { # build DIR [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
    ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -n 40 "$dir.ninja.log"; return 1; }
}

# run_units BUILD SUITE - every cmocka executable, TAP output
run_units() {
    local out=$1/unit.tap
    : >"$out"
    for exe in "$1"/tests/unit/test_*; do
        [ -x "$exe" ] || continue
        (cd "$1/tests/unit" && CMOCKA_MESSAGE_OUTPUT=TAP "$exe") >>"$out" 2>&1 || true
    done
    grep -E '^not ok' "$out" || true
    count_tap "$out" "$2"
}

# run_scripts BUILD SUITE GLOB - TAP-style shell suites (check, difftest)
run_scripts() {
    local bin=$1/postern suite=$2 out
    shift 2
    for script in "$@"; do
        [ -x "$script" ] || continue
        out=$(mktemp)
        POSTERN_BIN="$top/$bin" "$script" >"$out" 2>&1
        local rc=$?
        grep -E '^(not ok|skip)' "$out" || true
        count_tap "$out" "$suite/$(basename "$script")"
        if [ $rc -ne 0 ] && ! grep -qE '^not ok' "$out"; then
            tail -n 20 "$out"
            suite_failed "$suite/$(basename "$script")" "exit status $rc"
        fi
        rm -f "$out"
    done
}

echo "== build"
if ! build build; then
    suite_failed build "the build failed"
    echo "$pass passed, $fail failed"
    exit 1
fi

echo "== format (clang-format with .clang-format)"
if command -v clang-format >/dev/null; then
    unformatted=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror 2>&1 |
        sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
    if [ -n "$unformatted" ]; then
        for f in $unformatted; do suite_failed format "$f is not formatted"; done
    else
        pass=$((pass + 1))
    fi
else
    suite_failed format "clang-format is missing"
fi

echo "== unit tests"
run_units build unit

echo "== engine tests (postern check)"
if [ -x tests/check/run.sh ]; then run_scripts build check tests/check/run.sh; fi
# against real servers on loopback: unbound with a test zone, postfwd
run_scripts build check-live tests/check-live/run.sh tests/check-live/policy.sh

echo "== lint tests (postern lint)"
if [ -x tests/lint/run.sh ]; then run_scripts build lint tests/lint/run.sh; fi

echo "== CLI tests"
run_scripts build cli tests/cli/*.sh

echo "== differential tests (Postfix tools)"
run_scripts build difftest tests/difftest/*.sh

echo "== integration tests"
if ls tests/integration/test_*.py >/dev/null 2>&1; then
    out=$(mktemp)
    POSTERN_BIN="$top/build/postern" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        -rfE tests/integration >"$out" 2>&1
    tail -n 30 "$out"
    summary=$(grep -E '[0-9]+ (passed|failed|errors?)( |,|$)' "$out" | tail -n 1)
    p=$(echo "$summary" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) n += $i} END {print n + 0}')
    f=$(echo "$summary" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^(failed|error)/) n += $i} END {print n + 0}')
    pass=$((pass + p))
    fail=$((fail + f))
    [ -n "$summary" ] || suite_failed integration "pytest did not report"
    rm -f "$out"
fi

# run_compat BIN SUITE - replay tests/scenarios against BIN; a scenario passes
# when every reply has Postfix's code and enhanced code.  The scenarios of
# deliberate differences (docs/differences.md) are left out.
compat_skip="data-end-variants-default data-smuggle-lf-dot-lf-default"
run_compat() {
    local bin=$1 suite=$2 out names=()
    if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
        suite_failed "$suite" "needs root and unshare(1)"
        return
    fi
    for f in tests/scenarios/*.scn; do
        n=$(basename "$f" .scn)
        case " $compat_skip " in *" $n "*) continue ;; esac
        names+=("$n")
    done
    out=$(mktemp)
    POSTERN_BIN="$bin" HARNESS_SCENARIOS="$top/tests/scenarios" \
        tests/harness/run.sh postern --timeout 15 "${names[@]}" >"$out" 2>&1
    grep -E '^(MISMATCH|ERROR)' "$out" || true
    tail -n 1 "$out"
    local p f
    p=$(grep -cE '^(MATCH|CODES) ' "$out" || true)
    f=$(grep -cE '^(MISMATCH|ERROR) ' "$out" || true)
    pass=$((pass + p))
    fail=$((fail + f))
    while IFS= read -r line; do failed_names+=("$suite: $line"); done \
        < <(grep -E '^(MISMATCH|ERROR) ' "$out" | awk '{print $2}')
    [ "$p" -gt 0 ] || suite_failed "$suite" "the harness did not run"
    rm -f "$out"
}

echo "== compat (replies against Postfix's recorded ones)"
run_compat "$top/build/postern" compat

echo "== sanitizers (ASan + UBSan)"
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_units build-asan unit-asan
    if [ -x tests/check/run.sh ]; then run_scripts build-asan check-asan tests/check/run.sh; fi
    run_scripts build-asan check-live-asan tests/check-live/run.sh tests/check-live/policy.sh
    if [ -x tests/lint/run.sh ]; then run_scripts build-asan lint-asan tests/lint/run.sh; fi
    run_scripts build-asan cli-asan tests/cli/*.sh
    run_scripts build-asan difftest-asan tests/difftest/*.sh
    # The server under the sanitizers: every report fails the suite.
    asan_logs=$(mktemp -d)
    chmod 777 "$asan_logs"
    ASAN_OPTIONS="detect_leaks=1:log_path=$asan_logs/asan" \
        UBSAN_OPTIONS="print_stacktrace=1:log_path=$asan_logs/ubsan" \
        run_compat "$top/build-asan/postern" compat-asan
    for report in "$asan_logs"/*; do
        [ -e "$report" ] || continue
        grep -m1 -E 'SUMMARY|runtime error' "$report"
        suite_failed compat-asan "sanitizer report $(basename "$report")"
    done
    rm -rf "$asan_logs"
    unset ASAN_OPTIONS UBSAN_OPTIONS
else
    suite_failed asan "the sanitizer build failed"
fi

if [ "${#failed_names[@]}" -gt 0 ]; then
    echo "== failures"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
