/* file - small whole-file helpers used by configuration and table loading. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int file_read_all(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return -1;
    }
    buf_reset(out);
    if (st.st_size > 0)
        buf_reserve(out, (size_t) st.st_size);
    for (;;) {
        buf_reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        out->len += (size_t) n;
        out->data[out->len] = 0;
    }
    close(fd);
    return 0;
}

int file_fsync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd == -1)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int file_stat_id(const char *path, uint64_t *dev_ino, int64_t *mtime_ns)
{
    struct stat st;
    if (stat(path, &st) == -1)
        return -1;
    if (dev_ino)
        *dev_ino = ((uint64_t) st.st_dev << 40) ^ (uint64_t) st.st_ino;
    if (mtime_ns)
        *mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}
