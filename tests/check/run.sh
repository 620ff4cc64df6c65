#!/bin/bash
# tests/check/run.sh - engine tests: each tests/check/NAME.in describes a
# configuration (main.cf lines appended to base.cf, tables) and a
# `postern check` script whose DNS answers are "dns" lines; NAME.out is the
# expected output.  Prints "ok NAME" or "not ok NAME" and a diff; exits
# non-zero on any failure.
#   run.sh [--update] [NAME...]     (--update rewrites the .out files)
# The case format and the runner: tests/lib/check-cases.sh.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../lib/check-cases.sh" "$here" "$@"
