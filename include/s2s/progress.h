/* progress.h - progress displays: the trainer's steps, and counted work (sentences decoded or
 * scored by translate, eval and validation). Rank 0 only.
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
 * with the bar. Nothing here allocates except a note longer than 1 KiB.
 *
 * "auto" means live only on a terminal that is really the user's: Open MPI's mpirun hands every
 * rank a pseudo-terminal as stdout even when its own output goes to a file, so under an MPI
 * launcher auto is plain (progress_live). */
#ifndef S2S_PROGRESS_H
#define S2S_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "s2s/choice.h"

/* --progress (include/s2s/choice.h): a live bar where auto decides it is wanted, always live,
 * or plain lines. */
#define PROGRESS_CHOICES(X)                                                                        \
    X(PROGRESS_AUTO, "auto") X(PROGRESS_LIVE, "live") X(PROGRESS_PLAIN, "plain")
typedef enum { PROGRESS_CHOICES(CHOICE_ENUM) PROGRESS_COUNT } progress_mode;
extern const char *const progress_mode_names[]; /* NULL-terminated, indexed by progress_mode */

/* Whether mode means a live display on f: auto is live when f is a terminal and the process
 * was not started by an MPI launcher (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK set). */
bool progress_live(progress_mode mode, FILE *f);

/* Minimum time between two unforced live redraws: ~4 per second. */
#define PROGRESS_INTERVAL_S 0.25
/* Time between two plain lines of counted work (the first comes after this long, so work
 * that ends sooner prints none): often enough to show life, rarely enough for a log. */
#define PROGRESS_PLAIN_INTERVAL_S 10.0
#define PROGRESS_LINE_MAX 512

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
    bool pending;         /* a live update was skipped by the rate limit: `line` (of completion */
    double frac;          /* frac) is newer than the screen, and progress_done draws it */
    char line[PROGRESS_LINE_MAX];
} progress;

void progress_init(progress *p, FILE *out, bool live);   /* live: caller passes isatty(fileno(out)) normally */

/* live: redraws the bar, unless the last redraw is less than PROGRESS_INTERVAL_S old and `force`
 * is false (the bar is always drawn when none is on the screen); plain: prints a line. */
void progress_update(progress *p, const progress_info *i, bool force);

/* The live bar for completion frac (0..1) followed by text, under the same rate limit; does
 * nothing in plain mode. */
void progress_show(progress *p, double frac, const char *text, bool force);

/* A full message line (a trailing newline is added when missing). In live mode the bar is
 * cleared first and reappears on the next update. */
void progress_note(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends a live bar with a newline, first drawing an update the rate limit held back. */
void progress_done(progress *p);

/* ---- counted work ----
 * `total` items (sentences) of one task, counted as they are done, shown on p: live, the bar
 *   [#########...........] 45% eval: decoding 450/1000 sentences 41.2/s eta 13s
 * redrawn as above; plain, every PROGRESS_PLAIN_INTERVAL_S a line
 *   eval: decoding 450/1000 sentences  41.2 sentences/s  elapsed 11s  eta 13s
 * The rate and ETA are from the items done since init. */
typedef struct {
    progress *p;          /* NULL: every call does nothing */
    const char *what;     /* "eval: decoding"; borrowed */
    long total, done;
    double start, next_plain;
} progress_counter;

void progress_counter_init(progress_counter *c, progress *p, const char *what, long total);
void progress_counter_add(progress_counter *c, long items);
/* Ends the count: a live bar is drawn complete and its line ended (a later note or bar starts
 * on a fresh line); plain mode prints nothing more. */
void progress_counter_done(progress_counter *c);

/* Seconds left at the rate since start_step: (steps - step) * elapsed_s / (step - start_step);
 * 0 once step >= steps; negative when unknown (no step done yet in this process, no time
 * elapsed, or no total). */
double progress_eta(const progress_info *i);

/* Formats a duration as "42s", "3m10s" or "2h05m" into buf[size] ("-" if negative or not
 * finite); returns buf. */
char *progress_duration(double seconds, char *buf, size_t size);

#endif
