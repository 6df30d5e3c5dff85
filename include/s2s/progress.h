/* progress.h - the trainer's progress display (rank 0 only).
 *
 * On a terminal a live one-line bar is redrawn in place ("\r", the line, clear to end of line),
 * at most PROGRESS_INTERVAL_S apart unless forced, cut to the terminal width; anywhere else
 * (files, pipes, mpiexec's forwarded output) every update is one plain line with a fixed field
 * order, so that logs can be grepped and parsed:
 *   step 1200/5000  epoch 3  loss 2.3412  ppl 10.394  tok/s 12345  lr 3.00e-04  gnorm 1.234  elapsed 1m02s  eta 3m10s
 * and the live bar reads
 *   [####................] 24% step 1200/5000 loss 2.341 ppl 10.39 tok/s 12345 lr 3.0e-04 eta 3m10s
 * Durations are "42s", "3m10s" or "2h05m" (whole seconds, rounded down); an unknown ETA is "-".
 * Messages (validation results, checkpoints) go through progress_note so they do not collide
 * with the bar. Nothing here allocates except a note longer than 1 KiB. */
#ifndef S2S_PROGRESS_H
#define S2S_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Minimum time between two unforced live redraws: ~4 per second. */
#define PROGRESS_INTERVAL_S 0.25

typedef struct {
    long step, steps;     /* steps done, total */
    long epoch;
    double loss, ppl;     /* training loss (objective) and perplexity of the window */
    double tokens_per_s, lr, gnorm;
    double elapsed_s;     /* since this process started training */
    long start_step;      /* step the process started from (resume): ETA from the rate since then */
} progress_info;

typedef struct {
    FILE *out;            /* NULL (or a zeroed struct): every call does nothing */
    bool live;
    double last_draw;     /* clock time of the last live redraw */
    int drawn;            /* characters of the live bar now on the screen; 0: none */
    int width;            /* columns: $COLUMNS when it is a number >= 20, else 100 */
    double (*now)(void);  /* clock in seconds; progress_init sets wall_seconds, tests their own */
    bool pending;         /* a live update was skipped by the rate limit: `last` is newer than */
    progress_info last;   /* the screen, and progress_done draws it before ending the bar */
} progress;

void progress_init(progress *p, FILE *out, bool live);   /* live: caller passes isatty(fileno(out)) normally */

/* live: redraws the bar, unless the last redraw is less than PROGRESS_INTERVAL_S old and `force`
 * is false (the bar is always drawn when none is on the screen); plain: prints a line. */
void progress_update(progress *p, const progress_info *i, bool force);

/* A full message line (a trailing newline is added when missing). In live mode the bar is
 * cleared first and reappears on the next update. */
void progress_note(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends a live bar with a newline, first drawing an update the rate limit held back. */
void progress_done(progress *p);

/* Seconds left at the rate since start_step: (steps - step) * elapsed_s / (step - start_step);
 * 0 once step >= steps; negative when unknown (no step done yet in this process, no time
 * elapsed, or no total). */
double progress_eta(const progress_info *i);

/* Formats a duration as "42s", "3m10s" or "2h05m" into buf[size] ("-" if negative or not
 * finite); returns buf. */
char *progress_duration(double seconds, char *buf, size_t size);

#endif
