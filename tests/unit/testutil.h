/* testutil - helpers shared by the unit tests: temporary directories and
 * files, captured warnings. */
#ifndef POSTERN_TESTUTIL_H
#define POSTERN_TESTUTIL_H

#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/util.h"

/* test_tmpdir - a fresh directory under $TMPDIR, removed at exit */
const char *test_tmpdir(void);
/* test_write_file - write text to DIR/name; returns the path (static buffer
 * per call is not kept: caller frees) */
char *test_write_file(const char *name, const char *text);
/* test_capture_begin / test_capture_end - collect warnings into a string
 * (caller frees) */
void test_capture_begin(void);
char *test_capture_end(void);

#endif
