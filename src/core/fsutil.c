/* fsutil.c - atomic replacement of files, the removal of temporary files that dead writers left,
 * and reading a whole text file (include/s2s/fsutil.h). */
#include "s2s/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s2s/hash.h"
#include "s2s/status.h"

/* This host and pid namespace, as a temporary name carries them: a pid says whether its writer
 * lives only where it was taken (another host, or a container with its own pids, shares the
 * directory but not the pids). Hashed to 12 hex digits, so that a long host name still leaves
 * the name within the 64 bytes that callers add to the target's length. */
const char *fs_temp_host(void)
{
    static char key[16];
    if (key[0])
        return key;
    char id[96] = "";
    if (gethostname(id, 64) != 0)
        id[0] = '\0';
    id[64] = '\0';
    struct stat ns;
    size_t len = strlen(id) + 1;
    snprintf(id + len, sizeof id - len, "%llu",
             stat("/proc/self/ns/pid", &ns) == 0 ? (unsigned long long)ns.st_ino : 0ULL);
    uint64_t h = hash64(HASH64_INIT, id, len + strlen(id + len));
    snprintf(key, sizeof key, "%012llx", (unsigned long long)(h >> 16));
    return key;
}

/* The writer's pid if name is an s2s temporary file of this host and pid namespace
 * ("TARGET.tmp.KEY.PID.UNIQUE", KEY = fs_temp_host(), digits after it), else 0. */
static long temp_writer(const char *name)
{
    char infix[32];
    snprintf(infix, sizeof infix, ".tmp.%s.", fs_temp_host());
    const char *at = strstr(name, infix);
    if (!at || at == name)
        return 0;
    const char *p = at + strlen(infix), *dot = strchr(p, '.');
    if (!dot || dot == p || !dot[1] || strspn(p, "0123456789") != (size_t)(dot - p) ||
        strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return 0;
    long pid = strtol(p, NULL, 10);
    return pid > 0 ? pid : 0;
}

/* Removes the temporary files in path's directory whose writers are dead: killed writers
 * leave them, and nothing else ever would. A writer counts as dead only if its pid names no
 * process here (ESRCH); a live one, or one this process cannot signal, keeps its file. */
static void remove_stale_temps(const char *path)
{
    char copy[4096];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return;
    const char *dir = dirname(copy); /* in copy, or a static "." */
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        long pid = temp_writer(e->d_name);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char stale[8192];
        if (snprintf(stale, sizeof stale, "%s/%s", dir, e->d_name) >= (int)sizeof stale)
            continue;
        if (unlink(stale) == 0)
            fprintf(stderr,
                    "s2s: note: removed %s, the temporary file of a writer that died (pid %ld "
                    "on this host)\n",
                    stale, pid);
    }
    closedir(d);
}

int fs_create_temp(const char *path, char *tmp, size_t n)
{
    static unsigned counter; /* distinguishes calls within one process; pid between processes */
    if (!tmp || n == 0) { /* also tells the compiler that snprintf below has a destination */
        errno = EINVAL;
        return -1;
    }
    remove_stale_temps(path);
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int len = snprintf(tmp, n, "%s.tmp.%s.%ld.%u%ld", path, fs_temp_host(), (long)getpid(),
                           counter++, (long)(ts.tv_nsec % 1000));
        if (len < 0 || (size_t)len >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
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

int fs_read_file(const char *path, char **bytes, size_t *size)
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
    *bytes = p;
    *size = n;
    return 0;
}

int fs_read_text(const char *path, char **text, size_t *size)
{
    int rc = fs_read_file(path, text, size);
    if (rc == 0 && memchr(*text, '\0', *size))
        rc = s2s_fail(S2S_EFORMAT, "%s: contains a NUL byte (not text)",
                      strcmp(path, "-") ? path : "standard input");
    return rc;
}
