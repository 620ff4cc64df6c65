#!/bin/bash
# tests/check-live/verify.sh - check the expected outputs of the live
# engine tests against Postfix 3.7 (Debian's postfix, through the
# compatibility harness in shared/compat; needs root): the DNS cases with
# the test zone, the policy cases with postfwd.  Prints "ok NAME (Postfix
# agrees)" or the differences, and Postfix's warnings next to postern's.
#   verify.sh        (POSTERN_BIN: the postern whose warnings are compared)
set -u
here=$(cd "$(dirname "$0")" && pwd)
rc=0
POSTFIX_VERIFY=1 "$here/run.sh" || rc=1
POSTFIX_VERIFY=1 "$here/policy.sh" || rc=1
exit $rc
