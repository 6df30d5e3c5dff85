/* status.c - status code descriptions and the thread-local last-error message. */
#include "s2s/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "s2s/hash.h"

static _Thread_local char last_msg[1024];
static _Thread_local int last_status;

const char *s2s_strerror(int status)
{
    switch (status) {
    case S2S_OK: return "success";
    case S2S_ENOMEM: return "out of memory";
    case S2S_EINVAL: return "invalid argument";
    case S2S_EIO: return "input/output error";
    case S2S_EFORMAT: return "malformed file";
    case S2S_ERANGE: return "value out of range";
    case S2S_ENUMERIC: return "non-finite value";
    case S2S_EMPI: return "MPI error";
    case S2S_EUSAGE: return "usage error";
    case S2S_EPEER: return "another rank failed";
    case S2S_ESTOPPED: return "stopped by a signal";
    default: return "unknown error";
    }
}

int s2s_fail(int status, const char *fmt, ...)
{
    char raw[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* A message is one line: control characters a damaged file or an input put into it (a
     * value holding a newline) are written as escapes, so that it stays one line. */
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof last_msg; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            last_msg[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            o += (size_t)snprintf(last_msg + o, sizeof last_msg - o, "\\%c",
                                  *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        else
            o += (size_t)snprintf(last_msg + o, sizeof last_msg - o, "\\x%02x", *p);
    }
    last_msg[o] = '\0';
    last_status = status;
    return status;
}

const char *s2s_errmsg(int status)
{
    if (last_msg[0] != '\0' && last_status == status)
        return last_msg;
    return s2s_strerror(status);
}

void s2s_clear_error(void)
{
    last_msg[0] = '\0';
    last_status = 0;
}

static int notes_on = 1;

void s2s_notes_enable(int on)
{
    notes_on = on;
}

void s2s_note_once(const char *key, const char *fmt, ...)
{
    /* The keys already noted, as hashes: a handful per run. */
    static uint64_t seen[64];
    static int n_seen;
    uint64_t h = hash64(HASH64_INIT, key, strlen(key));
    for (int i = 0; i < n_seen; i++)
        if (seen[i] == h)
            return;
    if (n_seen < (int)(sizeof seen / sizeof seen[0]))
        seen[n_seen++] = h;
    if (!notes_on)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "s2s: note: %s\n", msg);
}
