/* testutil - see testutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char *tmpdir;
static struct buf captured;

static void remove_tmpdir(void)
{
    if (tmpdir) {
        char *cmd = xasprintf("rm -rf '%s'", tmpdir);
        int unused = system(cmd);
        (void) unused;
        free(cmd);
    }
}

const char *test_tmpdir(void)
{
    if (tmpdir == NULL) {
        const char *base = getenv("TMPDIR");
        char *templ = xasprintf("%s/postern-test.XXXXXX", base ? base : "/tmp");
        if (mkdtemp(templ) == NULL) {
            perror("mkdtemp");
            exit(1);
        }
        tmpdir = templ;
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

char *test_write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return path;
}

void test_capture_begin(void)
{
    buf_reset(&captured);
    log_capture(&captured);
}

char *test_capture_end(void)
{
    log_capture(NULL);
    char *s = xstrdup(buf_cstr(&captured));
    buf_reset(&captured);
    return s;
}
