/* progress.c - progress displays (training steps, counted work): a live bar on terminals,
 * plain lines elsewhere. */
#include "s2s/progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/timer.h"

#define PROGRESS_BAR_CELLS 20
#define PROGRESS_DEFAULT_WIDTH 100
/* Narrower than this, $COLUMNS is more likely junk than a real terminal. */
#define PROGRESS_MIN_WIDTH 20

const char *const progress_mode_names[] = {PROGRESS_CHOICES(CHOICE_NAME) NULL};

/* Erase from the cursor to the end of the line (ANSI EL). Written after the new text rather
 * than before it, so the old bar never flickers away between two redraws. */
static const char progress_clear_eol[] = "\033[K";

bool progress_live(progress_mode mode, FILE *f)
{
    if (mode != PROGRESS_AUTO)
        return mode == PROGRESS_LIVE;
    /* Open MPI sets OMPI_COMM_WORLD_SIZE, MPICH and Intel MPI PMI_SIZE, PMIx launchers
     * PMIX_RANK: a rank's terminal may be the launcher's pseudo-terminal, not the user's. */
    static const char *const launched[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t k = 0; k < sizeof launched / sizeof *launched; k++)
        if (getenv(launched[k]))
            return false;
    return f && isatty(fileno(f));
}

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

static void progress_draw(progress *p)
{
    char bar[PROGRESS_BAR_CELLS + 1];
    double frac = p->frac < 0 ? 0 : p->frac > 1 ? 1 : p->frac;
    /* Rounded down: the bar is full and the percentage 100 only when all is done. */
    int cells = (int)(frac * PROGRESS_BAR_CELLS);
    for (int k = 0; k < PROGRESS_BAR_CELLS; k++)
        bar[k] = k < cells ? '#' : '.';
    bar[PROGRESS_BAR_CELLS] = '\0';
    char line[PROGRESS_LINE_MAX];
    int n = snprintf(line, sizeof line, "[%s] %d%% %s", bar, (int)(frac * 100), p->line);
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

void progress_show(progress *p, double frac, const char *text, bool force)
{
    if (!p->out || !p->live)
        return;
    p->frac = frac;
    snprintf(p->line, sizeof p->line, "%s", text);
    double t = p->now();
    if (!force && p->drawn && t - p->last_draw < PROGRESS_INTERVAL_S) {
        p->pending = true;
        return;
    }
    progress_draw(p);
    p->last_draw = t;
}

void progress_update(progress *p, const progress_info *i, bool force)
{
    if (!p->out)
        return;
    if (!p->live) {
        progress_plain(p, i);
        return;
    }
    char text[PROGRESS_LINE_MAX], eta[32];
    snprintf(text, sizeof text, "step %ld/%ld loss %.3f ppl %.2f tok/s %.0f lr %.1e eta %s",
             i->step, i->steps, i->loss, i->ppl, i->tokens_per_s, i->lr,
             progress_duration(progress_eta(i), eta, sizeof eta));
    progress_show(p, i->steps > 0 ? (double)i->step / (double)i->steps : 0, text, force);
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
        progress_draw(p);
    if (p->drawn) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}

/* ---- counted work ------------------------------------------------------------------------ */

void progress_counter_init(progress_counter *c, progress *p, const char *what, long total)
{
    *c = (progress_counter){.p = p && p->out ? p : NULL, .what = what, .total = total};
    if (c->p) {
        c->start = p->now();
        c->next_plain = c->start + PROGRESS_PLAIN_INTERVAL_S;
    }
}

void progress_counter_add(progress_counter *c, long items)
{
    if (!c->p)
        return;
    c->done += items;
    double t = c->p->now(), el = t - c->start;
    double rate = el > 0 ? (double)c->done / el : 0;
    double left = c->done >= c->total ? 0 : rate > 0 ? (double)(c->total - c->done) / rate : -1;
    char eta[32], elapsed[32], text[PROGRESS_LINE_MAX];
    progress_duration(left, eta, sizeof eta);
    if (c->p->live) {
        snprintf(text, sizeof text, "%s %ld/%ld sentences %.1f/s eta %s", c->what, c->done,
                 c->total, rate, eta);
        progress_show(c->p, c->total > 0 ? (double)c->done / (double)c->total : 1, text, false);
    } else if (t >= c->next_plain) {
        progress_note(c->p, "%s %ld/%ld sentences  %.1f sentences/s  elapsed %s  eta %s", c->what,
                      c->done, c->total, rate, progress_duration(el, elapsed, sizeof elapsed),
                      eta);
        c->next_plain = t + PROGRESS_PLAIN_INTERVAL_S;
    }
}

void progress_counter_done(progress_counter *c)
{
    if (!c->p || !c->p->live || !c->p->drawn)
        return;
    progress_done(c->p);
}
