/* ckpt.h - training checkpoints: everything a killed run needs to continue as if it had never
 * stopped, in one HDF5 file that is also a parameter file (include/s2s/paramfile.h); and
 * parameters-only model files (best.h5, `s2s average`), the same file without the optimizer.
 *
 * Layout (docs/formats.md, "Checkpoints"):
 *   /                      format = "s2s-checkpoint", version = 1, checksum (uint64, below),
 *                          kind = "training" or "params" (ckpt_kind; absent in older files:
 *                          training), origin (params only: where the parameters come from)
 *   /params/<name>         the parameters, exactly as in a parameter file
 *   /config                the training options as string attributes (key = option name)
 *   /optim/exp_avg/<name>     optimizer first moment (SGD momentum buffer), per tensor, when used
 *   /optim/exp_avg_sq/<name>  Adam second moment, per tensor, when used
 *   /optim                 attribute step (updates applied); training checkpoints only
 *   /ema/<name>            the exponential moving average of the parameters (--ema), per
 *                          tensor, attribute decay (float64); training checkpoints only
 *   /vocab/src, /vocab/tgt one variable-length string per token id
 *   /spm/src, /spm/tgt     the dataset's SentencePiece models, copied (include/s2s/spm_store.h;
 *                          only when the data was tokenized with one; not in the checksum,
 *                          like /vocab: the integrity record covers them)
 *   /state                 one attribute per field of train_progress, and the string
 *                          blas_core: the OpenBLAS kernels of the run that wrote it (not in
 *                          the checksum: it describes the machine, not the state; absent in
 *                          files of older versions)
 *   /history               float64 [rows, cols] of validation results, attribute columns
 *   /comm/residual         float32 [ranks, n]: the error-feedback residual of each rank's
 *                          bf16 gradients (--grad-comm bf16 on more than one rank only),
 *                          attributes ranks (int) and checksum (its own: below)
 * The checksum is hash64 (include/s2s/hash.h) over, in this order: the parameter buffer, the
 * moments, the EMA weights, the optimizer step (0 in a parameters-only file), the
 * train_progress fields and the history, as the reader holds them in memory; a
 * file whose contents do not reproduce it is rejected (S2S_EFORMAT, "checksum mismatch").
 * /comm/residual has a checksum of its own, hash64 over its rows in order (one piece per row),
 * because the rows are produced one at a time while the file is built; ckpt_verify checks both.
 *
 * Writes are atomic as for parameter files (temporary file in the same directory, every HDF5
 * handle closed, fsync, rename, fsync of the directory): after any failure - disk full, no
 * permission - the temporary file is removed and every existing file is untouched.
 *
 * A run directory holds ckpt-<step, 8 digits>.h5 files (the last `keep` of them are kept) and
 * best.h5, the parameters-only file of the best validation so far. */
#ifndef S2S_CKPT_H
#define S2S_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s2s/choice.h"
#include "s2s/formats.h"
#include "s2s/params.h"
#include "s2s/spm.h"

/* What a checkpoint file holds (root attribute kind): everything a run needs to continue, or
 * the model's parameters only, which translate, eval, info and --init-from read and --resume
 * refuses. A parameters-only file has no /optim, /ema or /comm; its /state and /history are
 * those of the checkpoint it was made from (for reference: it resumes nothing). */
#define CKPT_KIND_CHOICES(X) X(CKPT_TRAINING, "training") X(CKPT_PARAMS, "params")
typedef enum { CKPT_KIND_CHOICES(CHOICE_ENUM) CKPT_KIND_COUNT } ckpt_kind;
extern const char *const ckpt_kind_names[]; /* NULL-terminated, indexed by ckpt_kind */

/* The longest origin text kept by the readers (ckpt_summary.origin). */
#define CKPT_ORIGIN_MAX 512

/* Where training stands after `step` optimizer steps: with the parameters, the optimizer
 * moments and the configuration, all a resumed run needs (every random draw is keyed by seed
 * and step, so there is no generator state beyond these counters). */
typedef struct {
    int64_t step;            /* optimizer steps completed (skipped steps included) */
    int64_t epoch, next;     /* training data iterator (batcher_state, batcher.h) */
    int64_t world_size;      /* ranks of the run that wrote the checkpoint */
    int64_t skipped;         /* steps skipped for non-finite gradients, in total */
    int64_t nonfinite_streak;/* consecutive skipped steps up to now */
    int64_t tokens;          /* target tokens trained on so far */
    double seconds;          /* training wall time so far */
    double lr_scale;         /* learning-rate factor of the plateau schedule (1: none yet) */
    double best_valid;       /* best validation loss so far; +inf before the first */
    int64_t best_step;       /* step of best_valid; 0 before the first */
    int64_t bad_evals;       /* validations since the last improvement (early stopping) */
    double lr_best;          /* plateau schedule state (lr_state of lr_schedule.h): best loss */
    int64_t lr_bad;          /* and validations without improvement since the last reduction */
} train_progress;

/* The fields of train_progress as the attributes of /state, in declaration order (the
 * checksum's): attribute name, offset in train_progress, and whether a double (else int64). */
typedef struct {
    const char *name;
    size_t offset;
    bool is_double;
} ckpt_field;

#define CKPT_NFIELDS 14
extern const ckpt_field ckpt_fields[]; /* [CKPT_NFIELDS] */

/* A table of numbers kept with the checkpoint: rows of `cols` doubles. */
typedef struct {
    int rows, cols;
    const char *columns; /* comma-separated column names, e.g. "step,train_loss,valid_loss" */
    double *data;        /* [rows * cols] */
} ckpt_history;

/* The per-rank residuals (/comm/residual), passed one row at a time through buf so that the
 * caller never holds more than one row: when writing, row(ctx, r, buf) fills buf[n] with row r
 * (r = 0 .. ranks - 1, in order; a negative return stops the write and is returned); when
 * reading, row(ctx, r, buf) receives it. */
typedef struct {
    int ranks;  /* rows; 0: no residuals */
    size_t n;   /* floats per row */
    float *buf; /* [n], the caller's */
    int (*row)(void *ctx, int r, float *buf);
    void *ctx;
} ckpt_residual;

/* What ckpt_write stores. Everything is borrowed. */
typedef struct {
    ckpt_kind kind;                 /* CKPT_TRAINING (the zero value) or CKPT_PARAMS: then the
                                     * moments, EMA weights and residuals must be absent and
                                     * optim_step is not stored */
    const char *origin;             /* CKPT_PARAMS: one line saying where the parameters come
                                     * from ("EMA weights of step 1200"), or NULL */
    const param_table *tab;
    const real *params;             /* [tab->total] */
    const real *exp_avg, *exp_avg_sq; /* optimizer moments in the same layout, NULL if unused */
    const real *ema;                /* EMA weights in the same layout (--ema), NULL if unused */
    double ema_decay;               /* their decay (/ema attribute decay) */
    int64_t optim_step;
    const char *const *config;      /* NULL-terminated "key=value" strings (paramfile rules) */
    const char *const *src_vocab;   /* token text by id */
    int src_vocab_n;
    const char *const *tgt_vocab;
    int tgt_vocab_n;
    train_progress progress;
    ckpt_history history;
    const char *blas_core;          /* OpenBLAS kernels of the writing run ("SkylakeX"), or NULL */
    ckpt_residual residual;         /* ranks 0 (zeroed): none written */
    const spm_models *spm;          /* the data's SentencePiece models, or NULL (none) */
} ckpt_contents;

/* Writes the checkpoint atomically to path. S2S_EINVAL for malformed arguments (nothing
 * written); S2S_EIO when the file cannot be created, written, synced or renamed, with the
 * path and the cause (strerror / HDF5's message). */
int ckpt_write(const char *path, const ckpt_contents *c);

/* What ckpt_read fills. The caller provides params (and the moments and EMA weights, if the
 * run uses them) sized for tab; history is allocated by the reader and freed by
 * ckpt_loaded_free. */
typedef struct {
    real *params, *exp_avg, *exp_avg_sq; /* caller's buffers; a NULL moment is not read */
    real *ema;                           /* caller's buffer; NULL: not read */
    ckpt_kind kind;
    int64_t optim_step;
    int has_exp_avg, has_exp_avg_sq;     /* present in the file */
    int has_ema;
    double ema_decay;                    /* when has_ema */
    int src_vocab_n, tgt_vocab_n;
    train_progress progress;
    ckpt_history history;                /* owned: data and columns */
} ckpt_loaded;

void ckpt_loaded_free(ckpt_loaded *l); /* frees the owned parts; safe on a zeroed struct */

/* Reads a checkpoint written for tab. Verifies format, version, every tensor's shape and the
 * checksum. A moment or the EMA weights requested (non-NULL buffer) but absent from the file
 * are S2S_EFORMAT naming them (and saying so of a parameters-only file). S2S_EIO: missing or unreadable; S2S_EFORMAT: not HDF5, truncated, wrong format,
 * shape mismatch or checksum mismatch (the message names the file and the object). */
int ckpt_read(const char *path, const param_table *tab, ckpt_loaded *out);

/* The residuals of a checkpoint whose tensors have n floats. With res->row NULL, only sets
 * res->ranks to the rows stored (0 when the file has none). Otherwise, if the file holds
 * exactly res->ranks rows, hands each to res->row in order and then checks their checksum
 * (S2S_EFORMAT on a mismatch, after the rows went out: the caller discards them); if it holds
 * another number, sets res->ranks to it and hands out nothing. S2S_EFORMAT also for rows of
 * another length than n. */
int ckpt_read_residual(const char *path, ckpt_residual *res);

/* The /config attributes, as paramfile_read_config (checkpoints are accepted there too). */
typedef int (*ckpt_config_fn)(const char *key, const char *value, void *ctx);
int ckpt_read_config(const char *path, ckpt_config_fn fn, void *ctx);

/* Token text of the stored vocabularies: fn(id, text, ctx) for every id of side 0 (source) or
 * 1 (target), in id order; a negative return stops and is returned. */
int ckpt_read_vocab(const char *path, int side, int (*fn)(int id, const char *text, void *ctx),
                    void *ctx);

/* The SentencePiece models of a checkpoint into *m (free with spm_models_free; none: sizes 0,
 * as in every checkpoint of data tokenized otherwise). */
int ckpt_read_spm(const char *path, spm_models *m);

/* Opens the file and checks format, version and checksum without a parameter table (the
 * tensors are hashed as stored). 0 if valid. */
int ckpt_verify(const char *path);

/* What ckpt_verify reads besides the tensors: enough to describe a checkpoint (s2s info). */
typedef struct {
    bool complete;         /* everything below was read (else some of it is missing) */
    uint64_t checksum;     /* as stored */
    ckpt_kind kind;
    char origin[CKPT_ORIGIN_MAX]; /* parameters-only files: /origin ("" if none) */
    int64_t optim_step;    /* 0 in a parameters-only file */
    bool has_moment[2];    /* /optim/exp_avg, /optim/exp_avg_sq present */
    bool has_ema;          /* /ema present */
    double ema_decay;      /* its decay attribute */
    train_progress progress;
    ckpt_history history;  /* owned: data and columns */
    char blas_core[32];    /* /state/blas_core; "" when the file has none */
} ckpt_summary;

/* ckpt_verify that keeps what it reads in *s; returns ckpt_verify's status. The summary is
 * read before the tensors are hashed, so a checkpoint whose checksum does not match still has
 * s->complete set. Free *s with ckpt_summary_free whatever the status. */
int ckpt_read_summary(const char *path, ckpt_summary *s);
void ckpt_summary_free(ckpt_summary *s);

/* What ckpt_read_summary reads, without hashing the tensors: nothing is verified, for deciding
 * what to do with a file before reading it (a parameters-only file, EMA weights, the step and
 * the moments there are). The same statuses otherwise; free *s with ckpt_summary_free. */
int ckpt_read_head(const char *path, ckpt_summary *s);

/* "DIR/ckpt-%08lld.h5" and "DIR/best.h5". S2S_ERANGE if it does not fit. */
int ckpt_step_path(char *buf, size_t size, const char *dir, int64_t step);
int ckpt_best_path(char *buf, size_t size, const char *dir);

/* The newest training checkpoint of dir that passes ckpt_verify, into buf. Each newer one
 * that fails, or is a parameters-only file, is reported on `log` (if non-NULL) as one line
 * with the file and the reason, and skipped. S2S_EIO if dir cannot be listed; S2S_EINVAL "no
 * valid checkpoint in DIR" if there is none. */
int ckpt_find_latest(const char *dir, char *buf, size_t size, FILE *log);

/* The ckpt-<step>.h5 files of dir (not checked), newest first, as *n malloc'd paths
 * "dir/name" in a malloc'd array; free them with ckpt_paths_free. S2S_EIO if dir cannot be
 * listed (0 files is not an error). */
int ckpt_list_paths(const char *dir, char ***paths, int *n);
void ckpt_paths_free(char **paths, int n);

/* Removes the ckpt-*.h5 files of dir except the newest `keep` (>= 1); best.h5 is never
 * removed. Files that cannot be removed are reported on log and skipped (not an error). */
int ckpt_prune(const char *dir, int keep, FILE *log);

#endif
