/* trainer.h - the inside of `s2s train` (include/s2s/train.h): the trainer that every file of
 * src/train shares, and the functions they call in each other. Internal to src/train (included
 * as "train/trainer.h"): nothing outside the training loop sees the trainer.
 *
 * Where things are, by job:
 *   train.c         the story of a run: start, the loop (step, log, validate, checkpoint), end
 *   train_setup.c   start-up: the options checked, the dataset, model and buffers, run directory
 *   train_step.c    one optimizer step over all ranks: forward, backward, allreduce, update
 *   train_valid.c   validation: loss and greedy decoding, best figure, early stop, history
 *   train_ckpt.c    starting fresh or from a checkpoint; writing and keeping checkpoints
 *   train_init.c    starting a new run from another run's file (--init-from)
 *   train_config.c  the configuration checkpoints store, and the check of a resumed one
 *   train_log.c     rank 0's lines and metrics.jsonl records; the run directory
 *   train_stop.c    leaving together: the ranks' agreement on errors and stop requests
 *
 * Who does what: every rank reads its share of each batch, trains on it and takes part in every
 * collective; rank 0 alone prints, writes the run directory (checkpoints, metrics.jsonl) and
 * reads a checkpoint to resume, broadcasting what it read. Where only rank 0 can fail (a file it
 * alone touches), its status is broadcast, so every rank leaves together: rank 0 with the
 * message, the others with S2S_EPEER. */
#ifndef S2S_TRAIN_TRAINER_H
#define S2S_TRAIN_TRAINER_H

#include <stdbool.h>
#include <stdio.h>

#include <mpi.h>

#include "s2s/batch.h"
#include "s2s/batcher.h"
#include "s2s/choice.h"
#include "s2s/ckpt.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/loader.h"
#include "s2s/progress.h"
#include "s2s/score.h"
#include "s2s/train.h"

/* Where a rank's time goes, per logging window (metrics.jsonl "phases", in this order). */
#define TRAIN_PHASES(X)                                                                            \
    X(PH_DATA, "data") X(PH_FORWARD, "forward") X(PH_BACKWARD, "backward")                        \
    X(PH_ALLREDUCE, "allreduce_wait") X(PH_OPTIM, "optimizer") X(PH_VALID, "validation")          \
    X(PH_CKPT, "checkpoint")
enum { TRAIN_PHASES(CHOICE_ENUM) N_PHASES };

/* The validation history that checkpoints carry: one row per validation. */
#define HISTORY_COLUMNS                                                                            \
    "step,train_loss,valid_loss,valid_ppl,valid_token_acc,lr,valid_bleu,valid_exact"
enum { HISTORY_COLS = 8 };

/* The phases the test hook S2S_TRAIN_TEST_SLOW slows down (train_stop.c). */
enum { SLOW_STARTUP, SLOW_VALID, SLOW_CKPT, N_SLOW };

typedef struct {
    const train_options *o;
    MPI_Comm comm;
    int rank, size;
    FILE *log;          /* rank 0 only; NULL elsewhere or when silent */
    FILE *metrics;      /* rank 0: run_dir/metrics.jsonl */
    progress prog;

    dataset *ds;
    loader train, valid;
    bool has_valid;
    model m;
    real *ema;          /* --ema: the moving average of m.params (same layout), NULL without;
                         * trainer_swap_ema exchanges the two around validations */
    optimizer opt;
    comm_grads cg;
    /* bf16 gradients on several ranks (t->cg.resid set): the residuals in checkpoints
     * (train_ckpt.c) pass through rank 0 one row at a time */
    float *resid_row;   /* rank 0: [n_params], one rank's residual on its way to or from a file */
    long resid_moved;   /* rank 0: rows received from (writing) or sent to (resuming) other
                         * ranks in the current checkpoint operation */
    int resid_ranks;    /* every rank: the rows of the checkpoint being resumed (0: none) */
    batch bt;
    lr_config lrc;
    lr_state lrs;

    train_progress pr;  /* step, data iterator, counters: what a checkpoint carries */
    batcher_state st;
    double *history;    /* [rows, HISTORY_COLS] validation results */
    int history_rows, history_cap;

    char **config;      /* NULL-terminated "key=value" strings of the options */
    /* Token text by id: the source's on rank 0 with a run directory (for checkpoints), the
     * target's on every rank (for the scorer, and checkpoints). */
    const char **src_vocab, **tgt_vocab;
    int src_vocab_n, tgt_vocab_n;

    int *hyp, *hyp_len; /* greedy decoding output [max_B, max_out], [max_B] */
    int max_out;
    scorer score;       /* BLEU and exact match of the greedy translations */
    /* The dataset's detokenizer of each side (text BLEU, samples; train_valid.c), with its
     * SentencePiece models loaded from /spm (spm[1] NULL when one joint model serves both) */
    detok_kind detok[2];
    spm_model *spm[2];
    char *text[2];      /* a sample's text */
    size_t text_cap[2];
    const char **toks;  /* a sample's token texts */
    int toks_cap;

    double phase[N_PHASES]; /* this rank's seconds per phase in the current logging window */
    double last_ckpt_time;
    /* Rank 0: the newest checkpoint known to be whole, written by this run or resumed from
     * ("" for none), named when a later write fails; and how many writes succeeded. */
    char intact_ckpt[OPT_STRING_MAX + 64];
    long ckpts_written;
    double t_start;     /* when this process's training loop began */
    long start_step;    /* the step it began from (0, or a resumed checkpoint's) */
    bool initialized;   /* this run began now from --init-from (not resumed, not fresh) */
    /* Every rank: the newest step whose state is on disk as a regular checkpoint (written by
     * this run, or resumed from; a fresh start's step 0 needs none: the options rebuild it),
     * so that a stop writes no second copy of it. */
    long saved_step;
    long ckpt_failures; /* rank 0: writes that failed */
    int stop_sig;       /* a stop request agreed by every rank during a checkpoint (signal) */
    /* Test hook S2S_TRAIN_TEST_SLOW (docs/development.md): milliseconds slept per start-up
     * phase, per validation batch, before each checkpoint file; 0: none. */
    int slow_ms[N_SLOW];
} trainer;

/* One validation's figures (train_valid.c). */
typedef struct {
    double loss, ppl, token_acc;
    bool decoded;            /* the figures below are there */
    double exact_match;
    double bleu;             /* on the detokenized text, sacreBLEU's 13a (0-100) */
    double bleu_tokens;      /* on the tokens as they are (0-100) */
    long sentences, tokens;
    bool abandoned;          /* a stop request on some rank ended it early: no figures */
} valid_result;

/* The training figures summed since the last progress line (train_log.c). */
typedef struct {
    double loss, nll, tokens, all_tokens; /* window sums over all ranks */
    double t_start;
} log_window;

/* What every rank learns at the end of a step's backward, in one small allreduce. */
enum { S_LOSS, S_NLL, S_CORRECT, S_ALL_TOKENS, S_STOP, S_CKPT_DUE, S_ABANDON, N_STEP_SUMS };

/* What happens after a checkpoint: training goes on (a stop request agreed during the write
 * then stops the run: CK_GO_ON), the run stops (CK_STOP), or the run is complete (CK_FINAL: a
 * signal changes nothing). */
enum { CK_GO_ON, CK_STOP, CK_FINAL };

/* ---- train_setup.c ---------------------------------------------------------------------- */

/* Every rank: the trainer for options o, through the start-up phases (each ends with
 * trainer_startup_check); trainer_free undoes it, also after a failure part-way. */
int trainer_init(trainer *t, const train_options *o, MPI_Comm comm, FILE *log);
void trainer_free(trainer *t);

/* ---- train_step.c ----------------------------------------------------------------------- */

/* One optimizer step at rate lr and teacher-forcing ratio tf; *gnorm gets the gradient norm,
 * sums the N_STEP_SUMS values summed over ranks; *abandoned: a stop request interrupted the
 * data read, the step was not applied and is redone. */
int trainer_step(trainer *t, double lr, double tf, double *gnorm, double *sums,
                 bool *abandoned);

/* With --ema, exchanges the contents of the model's parameters and the EMA weights: called
 * around a validation, so that it runs on the EMA weights, and again after it, which restores
 * both exactly. No-op without --ema. */
void trainer_swap_ema(trainer *t);

/* ---- train_valid.c ---------------------------------------------------------------------- */

/* Every rank: validation's scorer and detokenizers, from the dataset (its tokenizer option and
 * /spm); trainer_valid_free frees them (safe on a zeroed trainer). */
int trainer_valid_init(trainer *t);
void trainer_valid_free(trainer *t);
/* The signature of validation's BLEU (bleu_signature) into buf[BLEU_SIGNATURE_MAX]. */
void trainer_bleu_signature(char *buf);
int trainer_validate(trainer *t, bool greedy, int samples, valid_result *vr);
int trainer_record_validation(trainer *t, const valid_result *vr, double train_loss, double lr,
                              bool *best);
bool trainer_report_validation(trainer *t, const valid_result *vr, bool best);
bool trainer_early_stop_due(const trainer *t);
int trainer_mark_validation_pending(trainer *t, double train_loss, double lr);
bool trainer_take_pending_validation(trainer *t, double *train_loss, double *lr);
/* Whether the newest history row is a (not pending) validation of the current step. */
bool trainer_validated_at_step(const trainer *t);
int trainer_history_reserve(trainer *t, int rows);

/* ---- train_ckpt.c ----------------------------------------------------------------------- */

/* Every rank: the state to train from (fresh, or a checkpoint rank 0 reads), and the loop's
 * bookkeeping set from it. */
int trainer_start(trainer *t);
int trainer_checkpoint(trainer *t, bool regular, bool best, int after);
int trainer_check_written(const trainer *t);

/* ---- train_init.c ----------------------------------------------------------------------- */

/* Rank 0: the start of a new run from --init-from's file at path (parameters, and the moments
 * and step count unless reset), into the trainer, after the checks of the vocabularies, the
 * shapes and the optimizer. */
int trainer_read_init(trainer *t, const char *path);

/* ---- train_config.c --------------------------------------------------------------------- */

int trainer_config_parse(trainer *t, const char *options_text);
int trainer_config_add_data(trainer *t, const char *dataset_options);
int trainer_config_check_resumed(trainer *t, const char *path);

/* ---- train_log.c ------------------------------------------------------------------------ */

/* Rank 0 with a log: one message line (through the progress display); elsewhere nothing. */
void trainer_note(trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int trainer_make_run_dir(const char *dir);
int trainer_open_metrics(trainer *t);
void trainer_log_start(trainer *t);
int trainer_log_step(trainer *t, log_window *w, double lr, double gnorm, train_result *res);
int trainer_log_skip(trainer *t, double gnorm);
int trainer_log_valid(trainer *t, const valid_result *vr, bool best);
int trainer_log_checkpoint(trainer *t, const char *file, double seconds, int rc);
int trainer_log_final(trainer *t, const train_result *res, const valid_result *vr);

/* ---- train_stop.c ----------------------------------------------------------------------- */

int trainer_agree(const trainer *t, int rc);
int trainer_agree_stop(trainer *t, int rc, int *sig, int *flags);
int trainer_startup_check(trainer *t, int rc, const char *during);
int trainer_phase_done(trainer *t, int rc, const char *during);
void trainer_note_stop(trainer *t, const char *why);
int trainer_parse_slow(trainer *t);
void trainer_slow(const trainer *t, int which, const char *what);

#endif
