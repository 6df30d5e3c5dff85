/* test_progress.c - the progress display written to a memory stream: exact plain lines, ETA
 * arithmetic (fresh and resumed runs), duration formatting, the live bar's redraw, rate limit
 * (on an injected clock), truncation to the width, notes and the end of the bar. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/progress.h"

/* A memory stream: what the display wrote so far is buf[0..len) after each fflush. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} sink;

static void sink_open(sink *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    cr_assert_not_null(s->f, "open_memstream");
}

static const char *sink_text(sink *s)
{
    fflush(s->f);
    return s->buf;
}

static void sink_close(sink *s)
{
    fclose(s->f);
    free(s->buf);
}

static double fake_time;
static double fake_clock(void) { return fake_time; }

/* ETA: 3800 steps left at 1200 steps per 62.5 s = 197.9 s. */
static progress_info example(void)
{
    return (progress_info){.step = 1200, .steps = 5000, .epoch = 3, .loss = 2.34123,
                           .ppl = 10.3944, .tokens_per_s = 12345.4, .lr = 3e-4, .gnorm = 1.2341,
                           .elapsed_s = 62.5, .start_step = 0};
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *q = s; (q = strstr(q, what)); q += strlen(what))
        n++;
    return n;
}

Test(progress, plain_line_exact)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, false);
    progress_info i = example();
    progress_update(&p, &i, false);
    i.step = 1300;
    i.epoch = 4;
    i.elapsed_s = 3725;
    progress_update(&p, &i, false); /* plain: every call is a line, no rate limit */
    progress_done(&p);              /* and nothing to end */
    cr_expect_str_eq(sink_text(&s),
                     "step 1200/5000  epoch 3  loss 2.3412  ppl 10.394  tok/s 12345  lr 3.00e-04"
                     "  gnorm 1.234  elapsed 1m02s  eta 3m17s\n"
                     "step 1300/5000  epoch 4  loss 2.3412  ppl 10.394  tok/s 12345  lr 3.00e-04"
                     "  gnorm 1.234  elapsed 1h02m  eta 2h56m\n");
    sink_close(&s);
}

/* ETA = (steps - step) * elapsed / (step - start_step). */
Test(progress, eta_arithmetic)
{
    progress_info i = example();
    cr_expect(fabs(progress_eta(&i) - 3800 * 62.5 / 1200) < 1e-9, "fresh run: eta %g",
              progress_eta(&i));
    /* resumed at 1000: 200 steps in 50 s, 3800 left -> 950 s */
    i.start_step = 1000;
    i.elapsed_s = 50;
    cr_expect(fabs(progress_eta(&i) - 950) < 1e-9, "resumed run: eta %g, expected 950",
              progress_eta(&i));
    char buf[32];
    cr_expect_str_eq(progress_duration(progress_eta(&i), buf, sizeof buf), "15m50s");
    /* no step yet since the (re)start: unknown, not a division by zero */
    i.step = 1000;
    cr_expect_lt(progress_eta(&i), 0, "step == start_step: eta %g", progress_eta(&i));
    i.step = 1200;
    i.elapsed_s = 0;
    cr_expect_lt(progress_eta(&i), 0, "no time elapsed: eta %g", progress_eta(&i));
    i.elapsed_s = 50;
    i.steps = 0;
    cr_expect_lt(progress_eta(&i), 0, "no total: eta %g", progress_eta(&i));
    i.steps = 1200;
    cr_expect_eq(progress_eta(&i), 0, "at the last step: eta %g", progress_eta(&i));

    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, false);
    i = example();
    i.start_step = i.step;
    progress_update(&p, &i, false);
    cr_expect(strstr(sink_text(&s), "  eta -\n") != NULL, "unknown eta printed as: %s",
              sink_text(&s));
    sink_close(&s);
}

Test(progress, durations)
{
    struct {
        double s;
        const char *want;
    } cases[] = {
        {0, "0s"},          {0.99, "0s"},       {59.9, "59s"},      {60, "1m00s"},
        {62, "1m02s"},      {190.5, "3m10s"},   {3599.9, "59m59s"}, {3600, "1h00m"},
        {3725, "1h02m"},    {100000, "27h46m"}, {-1, "-"},          {NAN, "-"},
        {INFINITY, "-"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char buf[32];
        cr_expect_str_eq(progress_duration(cases[k].s, buf, sizeof buf), cases[k].want,
                         "duration of %g s", cases[k].s);
    }
}

Test(progress, live_redraws_in_place_and_rate_limits)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, true);
    p.now = fake_clock;
    p.width = 200;
    progress_info i = example();

    fake_time = 10.0;
    progress_update(&p, &i, false); /* nothing on screen yet: drawn */
    cr_expect_str_eq(sink_text(&s),
                     "\r[####................] 24% step 1200/5000 loss 2.341 ppl 10.39 tok/s "
                     "12345 lr 3.0e-04 eta 3m17s\033[K");
    size_t len = s.len;

    fake_time = 10.1;
    i.step = 1201;
    progress_update(&p, &i, false);
    cr_expect_eq(strlen(sink_text(&s)), len, "redrawn 0.1 s after the last draw");

    fake_time = 10.2;
    i.step = 1202;
    progress_update(&p, &i, true);
    cr_expect(strlen(sink_text(&s)) > len && strstr(s.buf + len, "step 1202/5000"),
              "forced update not drawn: %s", s.buf + len);
    len = s.len;

    fake_time = 10.2 + PROGRESS_INTERVAL_S * 0.9;
    i.step = 1203;
    progress_update(&p, &i, false);
    cr_expect_eq(strlen(sink_text(&s)), len, "redrawn within the interval of a forced draw");

    fake_time = 10.2 + PROGRESS_INTERVAL_S * 1.1;
    i.step = 1204;
    progress_update(&p, &i, false);
    cr_expect(strlen(sink_text(&s)) > len && strstr(s.buf + len, "step 1204/5000"),
              "not redrawn after the interval: %s", s.buf + len);
    cr_expect_eq(s.buf[len], '\r', "a redraw must start with \\r");
    cr_expect_eq(count(s.buf, "\r"), 3, "3 draws expected: %s", s.buf);
    cr_expect_null(strchr(s.buf, '\n'), "a live bar wrote a newline before the end");

    /* the last, rate-limited update is drawn by progress_done, which ends the line */
    fake_time += 0.01;
    i.step = 1205;
    progress_update(&p, &i, false);
    len = strlen(sink_text(&s));
    progress_done(&p);
    const char *tail = sink_text(&s) + len;
    cr_expect(tail[0] == '\r' && strstr(tail, "step 1205/5000") &&
                  tail[strlen(tail) - 1] == '\n' && count(tail, "\n") == 1,
              "progress_done should draw the held-back update and end the line: %s", tail);
    len = s.len;
    progress_done(&p); /* again: nothing on the screen, nothing to end */
    cr_expect_eq(strlen(sink_text(&s)), len, "a second progress_done wrote something");
    sink_close(&s);
}

Test(progress, live_bar_fills_and_truncates)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, true);
    p.now = fake_clock;
    p.width = 40;
    progress_info i = example();
    i.step = i.steps;
    progress_update(&p, &i, true);
    /* 39 columns: the last one stays empty */
    cr_expect_str_eq(sink_text(&s), "\r[####################] 100% step 5000/5\033[K");
    cr_expect_eq(p.drawn, 39, "drawn %d characters", p.drawn);
    sink_close(&s);
}

Test(progress, live_note_clears_the_bar)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, true);
    p.now = fake_clock;
    p.width = 200;
    progress_info i = example();
    fake_time = 5;
    progress_update(&p, &i, false);
    size_t len = strlen(sink_text(&s));
    progress_note(&p, "valid %ld  loss %.4f", 1200L, 1.5);
    cr_expect_str_eq(sink_text(&s) + len, "\r\033[Kvalid 1200  loss 1.5000\n");
    len = s.len;
    /* the bar comes back at the next update even within the rate limit */
    fake_time = 5.01;
    progress_update(&p, &i, false);
    cr_expect(strlen(sink_text(&s)) > len && s.buf[len] == '\r',
              "bar not redrawn after a note: %s", s.buf + len);
    progress_done(&p);
    cr_expect_eq(s.buf[strlen(sink_text(&s)) - 1], '\n', "bar not ended");
    /* a note with nothing on the screen has nothing to clear */
    len = s.len;
    progress_note(&p, "done\n");
    cr_expect_str_eq(sink_text(&s) + len, "done\n", "newline doubled or bar cleared");
    sink_close(&s);
}

Test(progress, plain_notes)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, false);
    progress_note(&p, "checkpoint %s", "run/ckpt-1200.h5");
    progress_note(&p, "with newline\n");
    progress_note(&p, "%s", "");
    cr_expect_str_eq(sink_text(&s), "checkpoint run/ckpt-1200.h5\nwith newline\n\n");
    size_t len = s.len;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    progress_note(&p, "%s!", big); /* longer than the stack buffer: still whole */
    const char *t = sink_text(&s) + len;
    cr_expect(strlen(t) == sizeof big + 1 && t[sizeof big - 1] == '!' && t[sizeof big] == '\n',
              "long note written as %zu characters", strlen(t));
    sink_close(&s);
}

Test(progress, width_from_columns)
{
    progress p;
    setenv("COLUMNS", "60", 1);
    progress_init(&p, stdout, true);
    cr_expect_eq(p.width, 60, "COLUMNS=60 gave width %d", p.width);
    const char *junk[] = {"abc", "5", "", "80x"};
    for (int k = 0; k < 4; k++) {
        setenv("COLUMNS", junk[k], 1);
        progress_init(&p, stdout, true);
        cr_expect_eq(p.width, 100, "COLUMNS='%s' gave width %d", junk[k], p.width);
    }
    unsetenv("COLUMNS");
    progress_init(&p, stdout, true);
    cr_expect_eq(p.width, 100, "no COLUMNS gave width %d", p.width);
}

Test(progress, zeroed_or_null_stream_is_silent)
{
    progress p = {0};
    progress_info i = example();
    progress_update(&p, &i, true);
    progress_note(&p, "x");
    progress_done(&p);
    progress_init(&p, NULL, true);
    progress_update(&p, &i, true);
    progress_note(&p, "x");
    progress_done(&p);
}

/* Counted work in plain mode: nothing before PROGRESS_PLAIN_INTERVAL_S, then one line per
 * interval with the rate and ETA since the start. */
Test(progress, counter_plain_lines)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, false);
    p.now = fake_clock;
    fake_time = 100;
    progress_counter c;
    progress_counter_init(&c, &p, "eval: decoding", 1000);
    fake_time = 105;
    progress_counter_add(&c, 150);
    cr_expect_str_eq(sink_text(&s), "", "a line before the interval");
    fake_time = 100 + PROGRESS_PLAIN_INTERVAL_S + 0.5; /* 300 done in 10.5 s: 28.6/s */
    progress_counter_add(&c, 150);
    fake_time += 1;
    progress_counter_add(&c, 10);
    progress_counter_done(&c);
    cr_expect_str_eq(sink_text(&s), "eval: decoding 300/1000 sentences  28.6 sentences/s  "
                                    "elapsed 10s  eta 24s\n");
    sink_close(&s);
}

/* Live: a bar with the fraction done, ended by progress_counter_done. */
Test(progress, counter_live_bar)
{
    sink s;
    sink_open(&s);
    progress p;
    progress_init(&p, s.f, true);
    p.now = fake_clock;
    fake_time = 0;
    progress_counter c;
    progress_counter_init(&c, &p, "translate", 200);
    fake_time = 2;
    progress_counter_add(&c, 90);
    cr_expect_str_eq(sink_text(&s), "\r[#########...........] 45% translate 90/200 sentences "
                                    "45.0/s eta 2s\033[K");
    fake_time = 2.1; /* within the rate limit: held back, then drawn by done */
    progress_counter_add(&c, 110);
    progress_counter_done(&c);
    const char *t = sink_text(&s);
    cr_expect(strstr(t, "[####################] 100% translate 200/200 sentences") != NULL,
              "the complete bar was not drawn: %s", t);
    cr_expect_eq(t[strlen(t) - 1], '\n', "the bar's line was not ended: %s", t);
    sink_close(&s);
}

Test(progress, counter_without_display_is_silent)
{
    progress_counter c;
    progress_counter_init(&c, NULL, "x", 10);
    progress_counter_add(&c, 5);
    progress_counter_done(&c);
    progress p = {0};
    progress_counter_init(&c, &p, "x", 10);
    progress_counter_add(&c, 5);
    progress_counter_done(&c);
}

/* auto is live on a real terminal only when no MPI launcher started the process. */
Test(progress, live_mode_decision)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0, "no pseudo-terminal");
    FILE *tty = fopen(ptsname(master), "w");
    cr_assert_not_null(tty, "opening %s", ptsname(master));
    sink s;
    sink_open(&s);
    const char *launch_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (int k = 0; k < 3; k++)
        unsetenv(launch_vars[k]);
    cr_expect(progress_live(PROGRESS_AUTO, tty), "auto on a terminal");
    cr_expect(!progress_live(PROGRESS_AUTO, s.f), "auto on a memory stream");
    cr_expect(progress_live(PROGRESS_LIVE, s.f), "live");
    cr_expect(!progress_live(PROGRESS_PLAIN, tty), "plain");
    for (int k = 0; k < 3; k++) {
        setenv(launch_vars[k], "2", 1);
        cr_expect(!progress_live(PROGRESS_AUTO, tty), "auto on a terminal under %s",
                  launch_vars[k]);
        cr_expect(progress_live(PROGRESS_LIVE, tty), "live under %s", launch_vars[k]);
        unsetenv(launch_vars[k]);
    }
    fclose(tty);
    close(master);
    sink_close(&s);
}
