/* progress.c - the trainer's progress display: a live bar on terminals, plain lines elsewhere. */
#include "s2s/progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/timer.h"

#define PROGRESS_BAR_CELLS 20
#define PROGRESS_DEFAULT_WIDTH 100
/* Narrower than this, $COLUMNS is more likely junk than a real terminal. */
#define PROGRESS_MIN_WIDTH 20
#define PROGRESS_LINE_MAX 512

/* Erase from the cursor to the end of the line (ANSI EL). Written after the new text rather
 * than before it, so the old bar never flickers away between two redraws. */
static const char progress_clear_eol[] = "\033[K";

void progress_init(progress *p, FILE *out, bool live)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->live = live;
    p->last_draw = -INFINITY;
    p->now = wall_seconds;
    p->width = PROGRESS_DEFAULT_WIDTH;
    const char *cols = getenv("COLUMNS");
    if (cols) {
        char *end;
        long w = strtol(cols, &end, 10);
        if (end != cols && *end == '\0' && w >= PROGRESS_MIN_WIDTH && w < PROGRESS_LINE_MAX)
            p->width = (int)w;
    }
}

double progress_eta(const progress_info *i)
{
    if (i->steps <= 0)
        return -1;
    if (i->step >= i->steps)
        return 0;
    long done = i->step - i->start_step;
    if (done <= 0 || !(i->elapsed_s > 0))
        return -1;
    return (double)(i->steps - i->step) * i->elapsed_s / (double)done;
}

char *progress_duration(double seconds, char *buf, size_t size)
{
    /* beyond ~3e14 years long overflows; such an ETA is as good as unknown */
    if (!(seconds >= 0 && seconds < 1e16)) {
        snprintf(buf, size, "-");
        return buf;
    }
    long s = (long)seconds;
    if (s < 60)
        snprintf(buf, size, "%lds", s);
    else if (s < 3600)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    return buf;
}

static void progress_plain(progress *p, const progress_info *i)
{
    char el[32], eta[32];
    fprintf(p->out,
            "step %ld/%ld  epoch %ld  loss %.4f  ppl %.3f  tok/s %.0f  lr %.2e  gnorm %.3f  "
            "elapsed %s  eta %s\n",
            i->step, i->steps, i->epoch, i->loss, i->ppl, i->tokens_per_s, i->lr, i->gnorm,
            progress_duration(i->elapsed_s, el, sizeof el),
            progress_duration(progress_eta(i), eta, sizeof eta));
    fflush(p->out);
}

static void progress_draw(progress *p, const progress_info *i)
{
    char line[PROGRESS_LINE_MAX], bar[PROGRESS_BAR_CELLS + 1], eta[32];
    double frac = i->steps > 0 ? (double)i->step / (double)i->steps : 0;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    /* Rounded down: the bar is full and the percentage 100 only at the last step. */
    int cells = (int)(frac * PROGRESS_BAR_CELLS);
    for (int k = 0; k < PROGRESS_BAR_CELLS; k++)
        bar[k] = k < cells ? '#' : '.';
    bar[PROGRESS_BAR_CELLS] = '\0';
    int n = snprintf(line, sizeof line,
                     "[%s] %d%% step %ld/%ld loss %.3f ppl %.2f tok/s %.0f lr %.1e eta %s", bar,
                     (int)(frac * 100), i->step, i->steps, i->loss, i->ppl, i->tokens_per_s,
                     i->lr, progress_duration(progress_eta(i), eta, sizeof eta));
    if (n < 0)
        return;
    /* The last column stays empty: on some terminals a character there wraps the cursor to the
     * next line at once, and "\r" would then no longer return to the bar. */
    int max = p->width - 1 < (int)sizeof line - 1 ? p->width - 1 : (int)sizeof line - 1;
    if (n > max)
        n = max;
    fprintf(p->out, "\r%.*s%s", n, line, progress_clear_eol);
    fflush(p->out);
    p->drawn = n > 0 ? n : 1;
    p->pending = false;
}

void progress_update(progress *p, const progress_info *i, bool force)
{
    if (!p->out)
        return;
    if (!p->live) {
        progress_plain(p, i);
        return;
    }
    double t = p->now();
    if (!force && p->drawn && t - p->last_draw < PROGRESS_INTERVAL_S) {
        p->last = *i;
        p->pending = true;
        return;
    }
    progress_draw(p, i);
    p->last_draw = t;
}

void progress_note(progress *p, const char *fmt, ...)
{
    if (!p->out)
        return;
    char small[1024], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* Long messages are rare (a path or two): a heap buffer then, the whole text always. */
    if ((size_t)n >= sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        } else {
            n = (int)sizeof small - 1; /* out of memory: the truncated text rather than nothing */
        }
    }
    if (p->live && p->drawn) {
        fprintf(p->out, "\r%s", progress_clear_eol);
        p->drawn = 0;
    }
    fputs(msg, p->out);
    if (n == 0 || msg[n - 1] != '\n')
        fputc('\n', p->out);
    fflush(p->out);
    if (msg != small)
        free(msg);
}

void progress_done(progress *p)
{
    if (!p->out || !p->live)
        return;
    if (p->pending)
        progress_draw(p, &p->last);
    if (p->drawn) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}
