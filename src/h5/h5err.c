/* h5err.c - HDF5 failures reported through s2s_fail (see include/s2s/h5err.h): below both
 * h5util.c and h5limits.c, which report with it. */
#include "s2s/h5err.h"

#include <stdarg.h>
#include <stdio.h>

#include "s2s/status.h"

static herr_t innermost_error(unsigned n, const H5E_error2_t *e, void *ctx)
{
    char *buf = ctx;
    (void)n;
    if (!buf[0] && e->desc && e->desc[0])
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

/* The innermost entry is the most specific one ("truncated file: eof = ..."); the automatic
 * printing, which h5u_quiet turns off, would otherwise have sent the stack to stderr. */
int h5u_fail(int code, const char *fmt, ...)
{
    char msg[768], detail[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, detail);
    for (char *c = detail; *c; c++) /* some HDF5 messages span lines */
        if (*c == '\n')
            *c = ' ';
    if (detail[0])
        return s2s_fail(code, "%s (HDF5: %s)", msg, detail);
    return s2s_fail(code, "%s", msg);
}

void h5u_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
