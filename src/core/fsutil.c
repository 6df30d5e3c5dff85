/* fsutil.c - atomic replacement of files (see include/s2s/fsutil.h). */
#include "s2s/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
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
