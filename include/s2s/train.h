/* train.h - synchronous data-parallel training on an HDF5 dataset, with checkpoints and resume.
 *
 * Every MPI rank runs this same loop (docs/training.md). One optimizer step:
 *   1. for each of `accum` micro-batches: the next global batch of the batch plan
 *      (include/s2s/batcher.h), of which this rank reads and trains on its share;
 *   2. forward and backpropagation through time, gradients of the summed loss accumulated;
 *      during the last micro-batch's backward the gradient buffer is summed across ranks in
 *      buckets (include/s2s/comm.h) as its parts become final;
 *   3. the summed gradients are divided by the global number of target tokens (known to every
 *      rank from the sentence lengths), so N ranks compute the update of one rank on the whole
 *      global batch; the global norm is computed once, a non-finite norm skips the step on every
 *      rank, otherwise clipping, the learning-rate schedule and the optimizer are applied
 *      identically everywhere.
 * Parameters are initialized from the seed on rank 0, broadcast and checked on every rank.
 * Every random draw is keyed by (seed, step, sentence id, ...), never by rank, so the same run
 * on any number of ranks follows the same trajectory (to float rounding of the sums), and a
 * resumed run continues the interrupted one bit for bit on the same number of ranks. */
#ifndef S2S_TRAIN_H
#define S2S_TRAIN_H

#include <stdbool.h>
#include <stdio.h>

#include <mpi.h>

#include "s2s/choice.h"
#include "s2s/lr_schedule.h"
#include "s2s/model.h"
#include "s2s/optim.h"
#include "s2s/options.h"
#include "s2s/progress.h"

/* Exit status of `s2s train` after a stop requested by SIGTERM, SIGINT or SIGUSR1: the
 * checkpoint of the last completed step was written (or the stop came before training began,
 * with nothing to save); run again with --resume auto (docs/training.md, "Signals"). */
#define TRAIN_EXIT_STOPPED 75

/* The choice lists of training (include/s2s/choice.h), each NULL-terminated names array
 * indexed by its enum and defined in train.c. */

/* Teacher-forcing schedules: tf_ratio_at. */
#define TF_CHOICES(X)                                                                              \
    X(TF_CONSTANT, "constant") X(TF_LINEAR, "linear") X(TF_INVERSE_SIGMOID, "inverse-sigmoid")
typedef enum { TF_CHOICES(CHOICE_ENUM) TF_COUNT } tf_schedule;
extern const char *const tf_schedule_names[];

/* What a failed checkpoint write does: stop the run, or log it and train on. */
#define CKPT_ERROR_CHOICES(X) X(CKPT_ERROR_STOP, "stop") X(CKPT_ERROR_CONTINUE, "continue")
typedef enum { CKPT_ERROR_CHOICES(CHOICE_ENUM) CKPT_ERROR_COUNT } ckpt_error_policy;
extern const char *const ckpt_error_names[];

/* The validation figure that decides the best checkpoint and early stopping: the loss (lower
 * is better), BLEU on the detokenized text (sacreBLEU's 13a), BLEU on the tokens as they are
 * (pieces, for SentencePiece data) or the exact-match rate (higher is better). */
#define METRIC_CHOICES(X)                                                                          \
    X(METRIC_LOSS, "loss") X(METRIC_BLEU, "bleu") X(METRIC_EXACT, "exact")                         \
    X(METRIC_BLEU_TOKENS, "bleu-tokens")
typedef enum { METRIC_CHOICES(CHOICE_ENUM) METRIC_COUNT } valid_metric;
extern const char *const valid_metric_names[];

/* The checkpoint's best_valid is "lower is better": the loss, or minus BLEU or the exact-match
 * rate. The figure itself back from what is stored. */
static inline double valid_metric_value(valid_metric m, double stored)
{
    return m == METRIC_LOSS ? stored : -stored;
}

/* Teacher-forcing ratio at step (1-based) of `steps`: constant r; linear from r at the start to
 * r_min at the end; inverse sigmoid k / (k + exp(step / k)) (Bengio et al., 2015). */
double tf_ratio_at(tf_schedule schedule, double r, double r_min, double k, long step, long steps);

typedef struct {
    model_config model;       /* vocabulary sizes come from the dataset */
    int input_feed_mode;      /* command line only: auto/on/off, resolved into model */
    char data[OPT_STRING_MAX];    /* the HDF5 dataset (s2s prep) */
    char run_dir[OPT_STRING_MAX]; /* checkpoints and metrics.jsonl; "" for neither */
    bool save;                    /* false (--no-save): no run directory, nothing kept */
    char resume[OPT_STRING_MAX];  /* "", "auto" or a checkpoint file */
    char init_from[OPT_STRING_MAX]; /* a new run starts from this checkpoint's parameters (""
                                     * for none; not again once the run has checkpoints) */
    bool reset_optimizer;     /* with init_from: fresh optimizer moments and step */
    bool reset_schedule;      /* with init_from: the step count and schedule from 0 */

    /* batches */
    int batch;                /* sentences per global batch (all ranks together) at most */
    long batch_tokens;        /* padded tokens per global batch at most; 0: no limit */
    int min_sents;            /* sentences per global batch at least: the most ranks a run
                               * may use; part of the batch plan, so it must not change with
                               * the number of ranks */
    int bucket_window;        /* length bucketing window, in global batches */
    int accum;                /* micro-batches (global batches) per optimizer step */
    long steps;               /* optimizer steps of the whole run */

    /* optimization */
    optim_kind optim;
    double lr, momentum, beta1, beta2, eps, weight_decay;
    lr_kind lr_schedule;
    long warmup, decay_every;
    double decay_factor, min_lr;
    int patience;             /* plateau schedule: validations without improvement */
    double clip;              /* max global gradient norm; <= 0 disables */
    int max_skips;            /* consecutive non-finite steps that stop the run */
    double label_smoothing;
    double ema;               /* decay of the parameters' moving average (0: none), which
                               * validation, best.h5 and decoding use */
    double teacher_forcing;   /* ratio of gold previous tokens: 1 is teacher forcing (set it:
                               * 0, the zero value, means always the model's own prediction) */
    tf_schedule tf_schedule;
    double tf_min, tf_k;
    init_kind init;
    double init_scale;
    unsigned seed;

    /* validation, logging, checkpoints */
    int log_every;            /* progress line and metrics record every N steps; 0: never */
    int valid_every;          /* validation every N steps; 0: only at the end */
    bool valid_decode;        /* validations also decode greedily: BLEU and exact match */
    int best_metric;          /* valid_metric: what "improvement" and best.h5 are judged by */
    int early_stop;           /* stop after N validations without improvement; 0: never */
    int samples;              /* sample translations printed at the end */
    int ckpt_every;           /* checkpoint every N steps; 0: only by time, at the end, on stop */
    double ckpt_minutes;      /* checkpoint when this many minutes passed since the last; 0: off */
    int keep;                 /* last checkpoints kept (best.h5 is kept besides) */
    int ckpt_error;           /* ckpt_error_policy */
    double bucket_mb;         /* gradient allreduce bucket size */
    int grad_comm;            /* comm_grad_mode: the gradients on the wire (include/s2s/comm.h) */
    int threads;              /* OpenBLAS threads per rank */
    bool oversubscribe;       /* allow ranks x threads above the node's cores */
    progress_mode progress;
    double probe_timeout;     /* --probe-timeout: set by train_command (probe.h) */
    bool large_vocab;         /* --large-vocab: set by train_command (ds_set_limits) */
    int blas_core;            /* --blas-core (blas_core_choices): acted on at start-up, by main
                               * (include/s2s/blas_core.h) */

    const char *config_text;  /* not an option: the resolved options as `name = value` lines,
                               * stored in checkpoints and compared on resume (NULL: none) */
} train_options;

typedef struct {
    long steps;            /* optimizer steps done by the run (resumed ones included) */
    long skipped;          /* steps skipped for non-finite gradients */
    bool stopped;          /* ended early by a signal (the checkpoint of `steps` on disk, with a
                            * validation the stop abandoned marked pending) */
    bool early_stopped;    /* ended early by --early-stop */
    double train_loss;     /* per-token training objective of the last logging window */
    double valid_loss;     /* per-token NLL on the validation split (teacher forced) */
    double valid_token_acc;
    double exact_match;    /* share of greedy translations equal to the reference */
    double valid_bleu;     /* BLEU (13a) of the greedy translations as text (0-100) */
    double seconds;        /* wall time of this process's training loop */
    double tokens_per_s;   /* source + target tokens per second, all ranks */
    unsigned long long params_hash; /* hash64 of the final parameter buffer */
} train_result;

/* Trains on comm (every rank calls it with the same options); rank 0 writes progress to log
 * (NULL: silent) and owns the run directory. Returns 0 when the run completed or stopped early
 * (see res), or a negative status; S2S_EPEER on the ranks that did not detect an error another
 * rank reports. A stop request (stop.h; the caller installs the handler) is honoured in every
 * phase, agreed by all ranks: before training began it returns S2S_ESTOPPED on every rank
 * with the message to print (nothing was written); a stop whose checkpoint could not be
 * written is S2S_EIO, whatever --ckpt-error says. With a run directory and --ckpt-error
 * continue, a run in which no checkpoint write succeeded returns S2S_EIO after its final line
 * and record (res filled in). */
int train_run(const train_options *o, MPI_Comm comm, FILE *log, train_result *res);

/* `s2s train`: argv without the program and command names; MPI is initialized. Returns 0,
 * TRAIN_EXIT_STOPPED, or a negative status (src/train/train_cli.c holds the option table). */
int train_command(int argc, char **argv);

#endif
