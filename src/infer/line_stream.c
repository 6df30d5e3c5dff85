/* line_stream.c - whole lines from a pipe or a terminal with a latency bound
 * (include/s2s/line_stream.h). Reads with read(2) on the descriptor, not stdio, so that poll(2)
 * tells the truth about what is waiting; bytes after the last complete line stay for the next
 * chunk. */
#include "s2s/line_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/status.h"

enum { READ_BYTES = 1 << 16 };

int line_stream_open(line_stream *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    bool std = !strcmp(path, "-");
    snprintf(s->name, sizeof s->name, "%s", std ? "standard input" : path);
    s->fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open: %s", path, strerror(errno));
    s->own_fd = !std;
    return 0;
}

void line_stream_free(line_stream *s)
{
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    free(s->buf);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

bool line_stream_is_regular(const char *path)
{
    struct stat st;
    int rc = strcmp(path, "-") ? stat(path, &st) : fstat(STDIN_FILENO, &st);
    return rc == 0 && S_ISREG(st.st_mode);
}

/* Room for `need` bytes in buf. */
static int reserve(line_stream *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap * 2 > need ? s->cap * 2 : need;
    char *b = realloc(s->buf, cap);
    if (!b)
        return s2s_fail(S2S_ENOMEM, "%s: a line of more than %zu bytes", s->name, s->len);
    s->buf = b;
    s->cap = cap;
    return 0;
}

/* Reads what the descriptor has, waiting at most timeout_ms (-1: as long as it takes); 0 also
 * when nothing came in time. */
static int fill(line_stream *s, int timeout_ms)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int ready;
    do
        ready = poll(&p, 1, timeout_ms);
    while (ready < 0 && errno == EINTR && timeout_ms < 0);
    if (ready < 0 && errno != EINTR)
        return s2s_fail(S2S_EIO, "%s: poll failed: %s", s->name, strerror(errno));
    if (ready <= 0)
        return 0;
    int rc = reserve(s, s->len + READ_BYTES);
    if (rc < 0)
        return rc;
    ssize_t got;
    do
        got = read(s->fd, s->buf + s->len, READ_BYTES);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return s2s_fail(S2S_EIO, "%s: read failed: %s", s->name, strerror(errno));
    if (got == 0)
        s->eof = true;
    s->len += (size_t)got;
    return 0;
}

/* Complete lines at the start of buf, at most max_lines: the bytes they take. */
static size_t complete_lines(const line_stream *s, int max_lines, int *lines)
{
    size_t end = 0;
    *lines = 0;
    for (size_t i = 0; i < s->len && *lines < max_lines; i++)
        if (s->buf[i] == '\n') {
            end = i + 1;
            ++*lines;
        }
    return end;
}

int line_stream_next(line_stream *s, int max_lines, double wait_s, char **text, size_t *size)
{
    /* Drop the chunk handed out last time (none yet: no buffer either). */
    if (s->handed) {
        memmove(s->buf, s->buf + s->handed, s->len - s->handed);
        s->len -= s->handed;
        s->handed = 0;
    }
    int lines = 0, rc;
    size_t end = complete_lines(s, max_lines, &lines);
    while (lines == 0 && !s->eof) { /* the first line: as long as it takes */
        if ((rc = fill(s, -1)) < 0)
            return rc;
        end = complete_lines(s, max_lines, &lines);
    }
    /* More lines: each may come at most wait_s after the one before. */
    while (lines > 0 && lines < max_lines && !s->eof) {
        size_t had = s->len;
        if ((rc = fill(s, (int)(wait_s * 1000))) < 0)
            return rc;
        if (s->len == had && !s->eof)
            break;
        end = complete_lines(s, max_lines, &lines);
    }
    if (lines == 0 && s->eof && s->len > 0) { /* a last line without its newline */
        if ((rc = reserve(s, s->len + 1)) < 0)
            return rc;
        s->buf[s->len++] = '\n';
        end = s->len;
    }
    if (end == 0) {
        *text = NULL;
        *size = 0;
        return 0;
    }
    s->handed = end;
    *text = s->buf;
    *size = end;
    return 0;
}
