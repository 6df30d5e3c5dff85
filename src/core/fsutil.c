/* fsutil.c - atomic replacement of files, and reading a whole text file (include/s2s/fsutil.h). */
#include "s2s/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s2s/status.h"

int fs_create_temp(const char *path, char *tmp, size_t n)
{
    static unsigned counter; /* distinguishes calls within one process; pid between processes */
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int len = snprintf(tmp, n, "%s.tmp.%ld.%u%ld", path, (long)getpid(), counter++,
                           (long)(ts.tv_nsec % 1000));
        if (len < 0 || (size_t)len >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int fs_sync_dir_of(const char *path)
{
    char copy[4096];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(dirname(copy), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int fs_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return s2s_fail(S2S_EIO, "%s: cannot rename %s into place: %s", path, tmp,
                        strerror(err));
    }
    if (fs_sync_dir_of(path) != 0)
        return s2s_fail(S2S_EIO, "%s: written, but syncing its directory failed: %s", path,
                        strerror(errno));
    return 0;
}

int fs_read_text(const char *path, char **text, size_t *size)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        return s2s_fail(S2S_EIO, "%s: cannot open: %s", path, strerror(errno));
    const char *name = f == stdin ? "standard input" : path;
    size_t n = 0, cap = 1 << 16;
    char *p = malloc(cap);
    int rc = p ? 0 : s2s_fail(S2S_ENOMEM, "%s: cannot hold the input", name);
    while (rc == 0) {
        if (n + 1 == cap) {
            char *q = realloc(p, cap *= 2);
            if (!q) {
                rc = s2s_fail(S2S_ENOMEM, "%s: cannot hold %zu bytes of input", name, cap);
                break;
            }
            p = q;
        }
        size_t got = fread(p + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = s2s_fail(S2S_EIO, "%s: read error: %s", name, strerror(errno));
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    if (memchr(p, '\0', n))
        rc = s2s_fail(S2S_EFORMAT, "%s: contains a NUL byte (not text)", name);
    *text = p;
    *size = n;
    return rc;
}
