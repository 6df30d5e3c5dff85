/* scratch.c - scratch directories and small file helpers for tests (see scratch.h). */
#include "scratch.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/seal.h"

int scratch_make(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "/tmp/s2s_%s_XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

void scratch_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (remove(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

char *scratch_path(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

int scratch_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *scratch_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        buf[len] = '\0';
        if (n)
            *n = (size_t)len;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int scratch_count(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, part))
            n++;
    closedir(d);
    return n;
}

int scratch_reseal(const char *path)
{
    char block[SEAL_BLOCK + 1] = "", kind[64];
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    ssize_t got = pread(fd, block, SEAL_BLOCK, 0);
    const char *k = got == SEAL_BLOCK ? strstr(block, "\nkind ") : NULL;
    int rc = -1;
    if (k && sscanf(k, "\nkind %63s", kind) == 1)
        rc = seal_fd(fd, path, kind) == 0 ? 0 : -1;
    close(fd);
    return rc;
}
