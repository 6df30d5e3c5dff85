/* train.h - single-process training on a built-in synthetic task, and its evaluation.
 *
 * One step: draw the next global batch (examples step*batch .. step*batch + batch-1 of the
 * training split), forward and backward through time, divide the summed gradients by the number
 * of target tokens, clip by global norm, one optimizer step. Every draw is keyed by the seed and
 * example index, so a run is reproducible bit for bit. */
#ifndef S2S_TRAIN_H
#define S2S_TRAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "s2s/model.h"
#include "s2s/optim.h"
#include "s2s/synth.h"

typedef enum { LR_CONSTANT = 0, LR_LINEAR = 1 } lr_schedule;
typedef enum { TF_CONSTANT = 0, TF_LINEAR = 1, TF_INVERSE_SIGMOID = 2 } tf_schedule;

/* Teacher-forcing ratio at step (1-based) of `steps`: constant r; linear from r at the start to
 * r_min at the end; inverse sigmoid k / (k + exp(step / k)) (Bengio et al., 2015). */
double tf_ratio_at(tf_schedule schedule, double r, double r_min, double k, long step, long steps);

/* Learning rate at step (1-based) of `steps`: constant, or decaying linearly from lr to 0. */
double lr_at(lr_schedule schedule, double lr, long step, long steps);

typedef struct {
    model_config model;     /* vocabularies are set from the task */
    synth_task task;
    int batch;              /* sentences per step */
    long steps;
    optim_kind optim;
    double lr, momentum, beta1, beta2, eps;
    lr_schedule schedule;   /* constant, or linear decay to zero at the last step */
    double clip;            /* max global gradient norm; <= 0 disables */
    double label_smoothing;
    double teacher_forcing;    /* ratio of gold previous tokens: 1 is teacher forcing (set it:
                                * 0, the zero value, means always the model's own prediction) */
    tf_schedule tf_schedule;
    double tf_min, tf_k;
    init_kind init;
    double init_scale;
    unsigned seed;
    int log_every, eval_every; /* in steps; 0 disables */
    int eval_size;             /* held-out sentences for evaluation */
    int samples;               /* sample translations printed at the end */
    int threads;               /* OpenBLAS threads */
    int input_feed_mode;       /* command line only: auto/on/off, resolved into model */
} train_options;

typedef struct {
    long steps;
    double train_loss;     /* per-token loss of the last logged window */
    double eval_loss;      /* held-out per-token loss (teacher forced) */
    double eval_token_acc; /* held-out per-token accuracy (teacher forced) */
    double exact_match;    /* held-out share of greedy translations equal to the reference */
    double seconds;        /* wall time of the training loop */
    double tokens_per_s;   /* source + target tokens per second of training */
} train_result;

/* Trains and evaluates; progress lines go to `log` (NULL: silent). */
int train_run(const train_options *o, FILE *log, train_result *res);

/* Greedy evaluation of `m` on the first n held-out examples of `task`: loss, token accuracy and
 * exact match (written into res). If `log` is non-NULL, prints `samples` example translations. */
int train_evaluate(model *m, const synth_task *task, int n, int batch_size, int samples,
                   FILE *log, train_result *res);

#endif
