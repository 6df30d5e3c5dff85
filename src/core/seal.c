/* seal.c - writing and checking the integrity record in an s2s file's user block (seal.h). */
#define _GNU_SOURCE /* memmem */
#include "s2s/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/hash.h"
#include "s2s/status.h"
#include "s2s/stop.h"

static const char MAGIC[] = "s2s integrity record ";
static const unsigned char HDF5_SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* The record's text for the given fields, NUL-padded into block[SEAL_BLOCK]. */
static int format_record(char *block, const char *kind, long long size, uint64_t hash)
{
    memset(block, 0, SEAL_BLOCK);
    int n = snprintf(block, SEAL_BLOCK, "%s%d\nkind %s\nsize %lld\nhash %016" PRIx64 "\n",
                     MAGIC, SEAL_VERSION, kind, size, hash);
    if (n < 0 || n + 32 > SEAL_BLOCK)
        return -1;
    uint64_t check = hash64(HASH64_INIT, block, (size_t)n);
    snprintf(block + n, (size_t)(SEAL_BLOCK - n), "check %016" PRIx64 "\n", check);
    return 0;
}

static bool kind_ok(const char *kind)
{
    size_t n = strlen(kind);
    return n > 0 && n < sizeof ((seal_info *)0)->kind && strspn(kind,
           "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int seal_image(unsigned char *image, size_t size, const char *kind)
{
    if (!image || size < SEAL_BLOCK + sizeof HDF5_SIGNATURE || !kind || !kind_ok(kind))
        return s2s_fail(S2S_EINVAL, "seal_image: an image of %zu bytes of kind '%s' cannot be "
                        "sealed", size, kind ? kind : "(null)");
    uint64_t h = HASH64_INIT;
    for (size_t at = SEAL_BLOCK; at < size; at += SEAL_PIECE)
        h = hash64(h, image + at, size - at < SEAL_PIECE ? size - at : SEAL_PIECE);
    char block[SEAL_BLOCK];
    if (format_record(block, kind, (long long)size, h) < 0)
        return s2s_fail(S2S_EINVAL, "seal_image: kind '%s' too long", kind);
    memcpy(image, block, SEAL_BLOCK);
    return 0;
}

/* pread of exactly n bytes at off: 0, or -1 with errno (EIO-like 0 for a short file). */
static int read_at(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* hash64 of fd's bytes [SEAL_BLOCK, size) in SEAL_PIECE pieces into *h; -1 with errno, or -2
 * if `stoppable` and a stop signal arrived (checking a large file on a slow disk takes seconds;
 * a writer finishes what it writes). */
static int hash_file(int fd, long long size, unsigned char *buf, bool stoppable, uint64_t *h)
{
    uint64_t v = HASH64_INIT;
    for (long long at = SEAL_BLOCK; at < size; at += (long long)SEAL_PIECE) {
        if (stoppable && stop_requested())
            return -2;
        size_t n = size - at < (long long)SEAL_PIECE ? (size_t)(size - at) : SEAL_PIECE;
        if (read_at(fd, buf, n, (off_t)at) < 0)
            return -1;
        v = hash64(v, buf, n);
    }
    *h = v;
    return 0;
}

int seal_fd(int fd, const char *path, const char *kind)
{
    struct stat st;
    if (!kind_ok(kind))
        return s2s_fail(S2S_EINVAL, "seal_fd: invalid kind '%s'", kind);
    if (fstat(fd, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot stat it to seal it: %s", path, strerror(errno));
    if (st.st_size < SEAL_BLOCK + (off_t)sizeof HDF5_SIGNATURE)
        return s2s_fail(S2S_EINVAL, "%s: %lld bytes, too small to seal", path,
                        (long long)st.st_size);
    unsigned char *buf = malloc(SEAL_PIECE);
    if (!buf)
        return s2s_fail(S2S_ENOMEM, "%s: out of memory to seal it", path);
    uint64_t h;
    int rc = 0;
    if (hash_file(fd, (long long)st.st_size, buf, false, &h) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot read it back to seal it: %s", path,
                      errno ? strerror(errno) : "it shrank");
        goto done;
    }
    char block[SEAL_BLOCK];
    format_record(block, kind, (long long)st.st_size, h);
    for (size_t put = 0; put < SEAL_BLOCK;) {
        ssize_t w = pwrite(fd, block + put, SEAL_BLOCK - put, (off_t)put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = s2s_fail(S2S_EIO, "%s: cannot write its integrity record: %s", path,
                          w < 0 ? strerror(errno) : "no progress");
            goto done;
        }
        put += (size_t)w;
    }
done:
    free(buf);
    return rc;
}

/* Parses "NAME VALUE\n" at *p into value (n bytes), advancing *p. */
static bool field(const char **p, const char *name, char *value, size_t n)
{
    size_t len = strlen(name);
    if (strncmp(*p, name, len) != 0 || (*p)[len] != ' ')
        return false;
    const char *v = *p + len + 1, *end = strchr(v, '\n');
    if (!end || end == v || (size_t)(end - v) >= n)
        return false;
    memcpy(value, v, (size_t)(end - v));
    value[end - v] = '\0';
    *p = end + 1;
    return true;
}

static bool parse_u64(const char *s, int base, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Parses a record that starts with MAGIC: 0 or a reason in why. */
static int parse_record(const char *block, seal_info *info, const char **why)
{
    char text[SEAL_BLOCK + 1];
    memcpy(text, block, SEAL_BLOCK);
    text[SEAL_BLOCK] = '\0';
    char version[16], kind[64], size[32], hash[32], check[32];
    const char *p = text + strlen(MAGIC);
    const char *v_end = strchr(p, '\n');
    if (!v_end || (size_t)(v_end - p) >= sizeof version) {
        *why = "its first line is damaged";
        return -1;
    }
    memcpy(version, p, (size_t)(v_end - p));
    version[v_end - p] = '\0';
    uint64_t ver;
    if (!parse_u64(version, 10, &ver)) {
        *why = "its version is damaged";
        return -1;
    }
    p = v_end + 1;
    if (!field(&p, "kind", kind, sizeof kind) || !field(&p, "size", size, sizeof size) ||
        !field(&p, "hash", hash, sizeof hash)) {
        *why = ver != SEAL_VERSION ? "it has another version (a newer s2s?)" : "a line is damaged";
        return -1;
    }
    size_t body = (size_t)(p - text);
    uint64_t sz, h, c;
    if (!field(&p, "check", check, sizeof check) || !parse_u64(size, 10, &sz) ||
        !parse_u64(hash, 16, &h) || !parse_u64(check, 16, &c) || !kind_ok(kind)) {
        *why = "a line is damaged";
        return -1;
    }
    for (const char *q = p; q < text + SEAL_BLOCK; q++)
        if (*q) {
            *why = "bytes after it are not zero";
            return -1;
        }
    if (hash64(HASH64_INIT, text, body) != c) {
        *why = "its own check does not match";
        return -1;
    }
    if (ver != SEAL_VERSION) {
        *why = "it is of another version (written by a newer s2s?)";
        return -1;
    }
    snprintf(info->kind, sizeof info->kind, "%s", kind);
    info->size = (long long)sz;
    info->hash = h;
    return 0;
}

/* Whether a user block that does not start with MAGIC still looks like a damaged s2s record
 * (rather than another tool's user block). */
static bool looks_like_record(const unsigned char *block)
{
    static const char *const marks[] = {"integrity record", "\nkind s2s-", "\nhash ", "\ncheck "};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
        if (memmem(block, SEAL_BLOCK, marks[k], strlen(marks[k])))
            return true;
    return false;
}

int seal_check(const char *path, const char *what, seal_info *info)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open %s: %s", path, what, strerror(errno));
    unsigned char *buf = NULL;
    unsigned char block[SEAL_BLOCK];
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot stat %s: %s", path, what, strerror(errno));
        goto done;
    }
    info->size = (long long)st.st_size;
    /* A file too short for a record, or one that starts with the HDF5 superblock, has none:
     * the HDF5 checks that follow say what it is. */
    if (st.st_size < SEAL_BLOCK || read_at(fd, block, SEAL_BLOCK, 0) < 0 ||
        memcmp(block, HDF5_SIGNATURE, sizeof HDF5_SIGNATURE) == 0)
        goto done;
    if (memcmp(block, MAGIC, strlen(MAGIC)) != 0) {
        if (looks_like_record(block))
            rc = s2s_fail(S2S_EFORMAT, "%s: damaged %s: its integrity record (the first %d "
                          "bytes) is damaged", path, what, SEAL_BLOCK);
        goto done;
    }
    const char *why = NULL;
    if (parse_record((const char *)block, info, &why) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: damaged %s: its integrity record is unreadable (%s)",
                      path, what, why);
        goto done;
    }
    if (info->size != (long long)st.st_size) {
        rc = s2s_fail(S2S_EFORMAT, "%s: damaged %s: %lld bytes, but s2s wrote %lld (%s)", path,
                      what, (long long)st.st_size, info->size,
                      (long long)st.st_size < info->size ? "truncated: an interrupted copy or "
                      "a full disk?" : "extended after it was written");
        info->size = (long long)st.st_size;
        goto done;
    }
    uint64_t h = 0;
    if (!(buf = malloc(SEAL_PIECE))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory to verify %s", path, what);
        goto done;
    }
    int got = hash_file(fd, info->size, buf, true, &h);
    if (got == -2) {
        rc = stop_fail(path);
        goto done;
    }
    if (got < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot read %s: %s", path, what,
                      errno ? strerror(errno) : "it shrank while being read");
        goto done;
    }
    if (h != info->hash) {
        rc = s2s_fail(S2S_EFORMAT, "%s: damaged %s: its contents changed after s2s wrote it "
                      "(hash %016" PRIx64 ", its integrity record says %016" PRIx64 ")",
                      path, what, h, info->hash);
        goto done;
    }
    info->state = SEAL_VALID;
done:
    free(buf);
    close(fd);
    if (rc < 0)
        info->state = SEAL_NONE;
    return rc;
}
