/* average.h - `s2s average`: the weights of several checkpoints of one model averaged into a
 * parameters-only model file (include/s2s/ckpt.h, kind "params"), which translate, eval, info
 * and train --init-from read like a checkpoint; with one input, the export of that checkpoint's
 * weights without its optimizer state.
 *
 * The inputs are the newest `last` checkpoints of a run directory, or files named on the command
 * line (any s2s checkpoint or parameters-only file with vocabularies). They must be of one
 * model: the same model options (all but dropout), tokenizer settings, vocabularies (token by
 * token) and tensor shapes; the first difference is refused in one line naming the file and
 * what differs. The output's configuration, /state and /history are the newest input's.
 *
 * Determinism: the inputs are summed in a fixed order, sorted by (step, stored checksum, path),
 * in double, and the sum divided by their number in double and rounded once to float: the same
 * files give the same bits in any order on the command line. The average of k copies of one
 * checkpoint is that checkpoint, bit for bit (k x is exact in double for k < 2^29, and so is the
 * division back); two checkpoints give (a + b) / 2 computed in double and rounded to float,
 * which is the float nearest the exact mean (the double sum of two floats is exact unless
 * their exponents are more than 28 apart). */
#ifndef S2S_AVERAGE_H
#define S2S_AVERAGE_H

#include <stddef.h>
#include <stdio.h>

#include "s2s/choice.h"
#include "s2s/options.h"
#include "s2s/real.h"

/* Which weights of each input are averaged: the EMA weights when the inputs have them (auto),
 * the raw parameters, or the EMA weights (refused for an input without). */
#define AVG_WEIGHTS_CHOICES(X)                                                                     \
    X(AVG_WEIGHTS_AUTO, "auto") X(AVG_WEIGHTS_RAW, "raw") X(AVG_WEIGHTS_EMA, "ema")
typedef enum { AVG_WEIGHTS_CHOICES(CHOICE_ENUM) AVG_WEIGHTS_COUNT } avg_weights;
extern const char *const avg_weights_names[]; /* NULL-terminated, indexed by avg_weights */

typedef struct {
    char run_dir[OPT_STRING_MAX]; /* the newest `last` checkpoints of this directory, or "" */
    int last;
    char out[OPT_STRING_MAX];     /* the model file written */
    int weights;                  /* avg_weights */
    const char *const *files;     /* the inputs named on the command line (without run_dir) */
    int n_files;
} average_options;

/* Averages the inputs of o into o->out; one line on log (if non-NULL) says what was averaged
 * and written. S2S_EUSAGE for inputs given both ways or not at all; S2S_EINVAL naming the file
 * for inputs of different models, a --weights choice an input cannot give, or o->out naming an
 * input; otherwise the statuses of the readers and of ckpt_write (nothing is written on any
 * error). */
int average_run(const average_options *o, FILE *log);

/* `s2s average`: argv without the program and command names (src/tools/average_cli.c). */
int average_command(int argc, char **argv);

/* The two loops: sum[i] += x[i] in double, and out[i] = sum[i] / k rounded once to real. */
void average_add(double *sum, const real *x, size_t n);
void average_finish(real *out, const double *sum, size_t n, int k);

#endif
