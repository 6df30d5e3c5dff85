/* train_ckpt.c - the trainer's checkpoints: where a run starts (fresh from the seed, from a
 * checkpoint that rank 0 finds, checks and reads, and every rank receives, or from
 * --init-from's file, train_init.c), and how the run writes them (the regular ones, kept to
 * --keep, and best.h5, the parameters-only file of the best validation: the EMA weights with
 * --ema), with what a failed write does under --ckpt-error and during a stop.
 *
 * Separate because it is the one part of the loop that touches the run's saved state: the file
 * format is src/store/ckpt.c's, the policy of when to write is the loop's (train.c), and what
 * lies between (which file, what is on disk after a failure, what a resume may change) is
 * here.
 *
 * With --grad-comm bf16 on several ranks each rank's error-feedback residual (comm.h) is part of
 * the state: a checkpoint stores it as row r of /comm/residual, and rank 0 never holds more than
 * one row outside the file. Writing, every other rank sends its row once per regular file
 * (best.h5, parameters only, has none) and rank 0 receives each as ckpt_write asks for it; rows a
 * failed write did not ask for are received afterwards, so no rank is left waiting. Resuming
 * on the same number of ranks, rank 0 reads the rows in turn and sends each to its rank; on
 * another number the residuals start at zero (one note says so). */
#include <string.h>

#include "s2s/blas_core.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/timer.h"
#include "train/trainer.h"

/* ---- start: fresh or from a checkpoint ---------------------------------------------------- */

static int bcast(trainer *t, void *buf, size_t bytes)
{
    /* MPI counts are int: large buffers go in pieces */
    for (size_t done = 0; done < bytes;) {
        size_t piece = bytes - done < (1u << 30) ? bytes - done : (1u << 30);
        if (MPI_Bcast((char *)buf + done, (int)piece, MPI_BYTE, 0, t->comm) != MPI_SUCCESS)
            return s2s_fail(S2S_EMPI, "train: broadcast of the checkpoint failed");
        done += piece;
    }
    return 0;
}

/* Rank 0: which checkpoint to resume from ("" for none), as the options ask. */
static int resume_path(trainer *t, char *path, size_t size)
{
    const train_options *o = t->o;
    path[0] = '\0';
    if (!o->resume[0])
        return 0;
    if (strcmp(o->resume, "auto") != 0) {
        if (snprintf(path, size, "%s", o->resume) >= (int)size)
            return s2s_fail(S2S_ERANGE, "checkpoint path too long: %s", o->resume);
        return 0;
    }
    int rc = ckpt_find_latest(o->run_dir, path, size, t->log);
    if (rc < 0 && stop_requested()) /* the search gave up on the signal, not "none there" */
        return stop_fail(o->run_dir);
    if (rc == S2S_EINVAL) { /* nothing to resume: the first run of a requeued job */
        trainer_note(t, "resume auto: no checkpoint in %s, starting from scratch", o->run_dir);
        path[0] = '\0';
        s2s_clear_error();
        return 0;
    }
    return rc;
}

/* ---- the bf16 residuals ------------------------------------------------------------------ */

#define RESID_TAG 16 /* MPI tag of residual rows (issue 16) */

/* Rank 0, writing: row r of /comm/residual, rank 0's own or received from rank r. */
static int resid_gather_row(void *ctx, int r, float *buf)
{
    trainer *t = ctx;
    size_t n = t->m.n_params;
    if (r == 0) {
        memcpy(buf, t->cg.resid, n * sizeof *buf);
        return 0;
    }
    t->resid_moved++;
    if (MPI_Recv(buf, (int)n, MPI_FLOAT, r, RESID_TAG, t->comm, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: receiving the gradient residual of rank %d failed", r);
    return 0;
}

/* Rank 0, resuming: row r of /comm/residual to rank r (its own into place). */
static int resid_scatter_row(void *ctx, int r, float *buf)
{
    trainer *t = ctx;
    size_t n = t->m.n_params;
    if (r == 0) {
        memcpy(t->cg.resid, buf, n * sizeof *buf);
        return 0;
    }
    t->resid_moved++;
    if (MPI_Send(buf, (int)n, MPI_FLOAT, r, RESID_TAG, t->comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: sending rank %d its gradient residual failed", r);
    return 0;
}

/* Every rank: the residual rows of the checkpoint at path (rank 0's) when it holds one per rank
 * of this run; rows rank 0 could not read reach their ranks as zeros before all agree on the
 * status. */
static int resid_resume(trainer *t, const char *path)
{
    if (!t->cg.resid)
        return 0;
    if (bcast(t, &t->resid_ranks, sizeof t->resid_ranks) < 0)
        return S2S_EMPI;
    if (t->resid_ranks != t->size)
        return 0;
    int rc = 0;
    size_t n = t->m.n_params;
    if (t->rank == 0) {
        t->resid_moved = 0;
        ckpt_residual res = {.ranks = t->size, .n = n, .buf = t->resid_row,
                             .row = resid_scatter_row, .ctx = t};
        rc = ckpt_read_residual(path, &res);
        if (rc == 0 && res.ranks != t->size) /* the file changed under us */
            rc = s2s_fail(S2S_EFORMAT, "%s: /comm/residual no longer holds %d rows", path,
                          t->size);
        memset(t->resid_row, 0, n * sizeof *t->resid_row);
        for (long k = t->resid_moved; k < t->size - 1; k++)
            MPI_Send(t->resid_row, (int)n, MPI_FLOAT, (int)k + 1, RESID_TAG, t->comm);
    } else if (MPI_Recv(t->cg.resid, (int)n, MPI_FLOAT, 0, RESID_TAG, t->comm,
                        MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        rc = s2s_fail(S2S_EMPI, "train: receiving this rank's gradient residual failed");
    }
    return comm_agree(t->comm, rc);
}

/* Rank 0: whether the file at path can be resumed from: a training checkpoint, with EMA
 * weights exactly when this run keeps them. */
static int check_resumable(trainer *t, const char *path)
{
    ckpt_summary head;
    int rc = ckpt_read_head(path, &head);
    if (rc == 0 && head.kind != CKPT_TRAINING)
        rc = s2s_fail(S2S_EINVAL, "resume: %s is a parameters-only model file (best.h5 or s2s "
                      "average): it holds no optimizer state or position in the data to resume; "
                      "resume from a ckpt-*.h5 of the run, or start a new run from it with "
                      "--init-from %s", path, path);
    else if (rc == 0 && head.has_ema != (t->ema != NULL))
        rc = s2s_fail(S2S_EINVAL, "resume: %s was trained %s EMA weights, this run asks for "
                      "%s; --ema cannot change on resume", path, head.has_ema ? "with" : "without",
                      t->ema ? "them (--ema)" : "none (--ema 0)");
    ckpt_summary_free(&head);
    return rc;
}

/* Rank 0 reads the checkpoint at path into the trainer. */
static int read_checkpoint(trainer *t, const char *path)
{
    int rc = check_resumable(t, path);
    if (rc < 0 || (rc = trainer_config_check_resumed(t, path)) < 0)
        return rc;
    if (t->o->init_from[0])
        trainer_note(t, "resume: the run has a checkpoint: --init-from %s applied to its start "
                     "only, not again", t->o->init_from);
    ckpt_loaded ld = {.params = t->m.params, .exp_avg = t->opt.m, .exp_avg_sq = t->opt.v,
                      .ema = t->ema};
    if ((rc = ckpt_read(path, &t->m.table, &ld)) < 0)
        goto done;
    if (ld.src_vocab_n != t->m.cfg.src_vocab || ld.tgt_vocab_n != t->m.cfg.tgt_vocab) {
        rc = s2s_fail(S2S_EINVAL,
                      "resume: %s has vocabularies of %d and %d tokens, the dataset %s has %d "
                      "and %d; the model shape cannot change on resume",
                      path, ld.src_vocab_n, ld.tgt_vocab_n, t->o->data, t->m.cfg.src_vocab,
                      t->m.cfg.tgt_vocab);
        goto done;
    }
    if (ld.history.rows > 0 && ld.history.cols != HISTORY_COLS) {
        rc = s2s_fail(S2S_EFORMAT, "%s: history has %d columns, expected %d", path,
                      ld.history.cols, HISTORY_COLS);
        goto done;
    }
    if ((rc = trainer_history_reserve(t, ld.history.rows)) < 0)
        goto done;
    if (ld.history.rows > 0)
        memcpy(t->history, ld.history.data,
               (size_t)ld.history.rows * HISTORY_COLS * sizeof(double));
    t->history_rows = ld.history.rows;
    t->opt.step = ld.optim_step;
    t->pr = ld.progress;
    snprintf(t->intact_ckpt, sizeof t->intact_ckpt, "%s", path);
    if (t->o->grad_comm == COMM_GRAD_BF16) { /* also on one rank, which keeps none */
        ckpt_residual res = {.n = t->m.n_params};
        if ((rc = ckpt_read_residual(path, &res)) < 0)
            goto done;
        t->resid_ranks = res.ranks;
        if (res.ranks != t->size && (res.ranks > 0 || t->size > 1))
            trainer_note(t, "resume: %s holds the bf16 gradient residuals of %d rank%s, this run "
                         "has %d: they start at zero (what the last steps' rounding left over "
                         "is dropped once)", path, res.ranks, res.ranks == 1 ? "" : "s", t->size);
    }
    trainer_note(t, "resumed from %s: step %lld, epoch %lld, written by %lld rank%s%s", path,
                 (long long)t->pr.step, (long long)t->pr.epoch, (long long)t->pr.world_size,
                 t->pr.world_size == 1 ? "" : "s",
                 t->pr.world_size != t->size ? " (now a different number of ranks: the same "
                                               "global batches, results equal to float rounding)"
                                             : "");
done:
    ckpt_loaded_free(&ld);
    return rc;
}

/* Every rank: the state rank 0 read (parameters, moments, EMA weights, optimizer step,
 * progress, history), broadcast. */
static int share_state(trainer *t)
{
    size_t n = t->m.n_params;
    int rows = t->history_rows, rc;
    if ((rc = comm_bcast_params(t->comm, t->m.params, n)) < 0 ||
        (t->opt.m && (rc = bcast(t, t->opt.m, n * sizeof(real))) < 0) ||
        (t->opt.v && (rc = bcast(t, t->opt.v, n * sizeof(real))) < 0) ||
        (t->ema && (rc = bcast(t, t->ema, n * sizeof(real))) < 0) ||
        (rc = bcast(t, &t->opt.step, sizeof t->opt.step)) < 0 ||
        (rc = bcast(t, &t->pr, sizeof t->pr)) < 0 || (rc = bcast(t, &rows, sizeof rows)) < 0 ||
        (rc = trainer_history_reserve(t, rows)) < 0 ||
        (rows && (rc = bcast(t, t->history, (size_t)rows * HISTORY_COLS * sizeof(double))) < 0))
        return rc;
    t->history_rows = rows;
    return 0;
}

/* Every rank: the checkpoint at path (rank 0's), read by rank 0 and broadcast. */
static int resume_from(trainer *t, const char *path)
{
    int rc = 0;
    if (t->rank == 0) {
        trainer_slow(t, SLOW_STARTUP, "start-up: reading the checkpoint");
        rc = read_checkpoint(t, path);
    }
    if ((rc = trainer_startup_check(t, rc, "while reading the checkpoint to resume")) < 0 ||
        (rc = share_state(t)) < 0)
        return rc;
    return resid_resume(t, path);
}

/* Every rank: a new run from --init-from's file, read by rank 0 and broadcast. */
static int init_from(trainer *t)
{
    int rc = 0;
    if (t->rank == 0) {
        trainer_slow(t, SLOW_STARTUP, "start-up: reading the checkpoint to start from");
        rc = trainer_read_init(t, t->o->init_from);
    }
    if ((rc = trainer_startup_check(t, rc, "while reading the checkpoint to start from")) < 0)
        return rc;
    t->initialized = true;
    return share_state(t);
}

/* The loop's bookkeeping from the progress record, fresh or resumed: the plateau schedule's
 * state (which checkpoints carry there), the data iterator, the steps already on disk. */
static void start_from_progress(trainer *t)
{
    t->lrs.scale = t->pr.lr_scale;
    t->lrs.best = t->pr.lr_best;
    t->lrs.bad = (int)t->pr.lr_bad;
    t->st = (batcher_state){.epoch = (uint32_t)t->pr.epoch, .next = (uint64_t)t->pr.next};
    t->start_step = t->pr.step;
    /* A fresh start's step 0 and a resumed checkpoint's step are on disk or rebuilt by the
     * options; so is --init-from's (the next run applies it again while the run directory has
     * no checkpoint), but a stop before the first step of a run that continues the file's step
     * count writes that step, so that the stop's line and status promise what is there. */
    t->saved_step = t->initialized && t->pr.step > 0 ? -1 : t->pr.step;
    t->last_ckpt_time = wall_seconds();
}

int trainer_start(trainer *t)
{
    char path[OPT_STRING_MAX + 64] = "";
    int rc = 0;
    if (t->rank == 0 && t->o->resume[0]) {
        trainer_slow(t, SLOW_STARTUP, "start-up: looking for the checkpoint to resume");
        rc = resume_path(t, path, sizeof path);
    }
    if ((rc = trainer_startup_check(t, rc, "while looking for the checkpoint to resume")) < 0)
        return rc;
    if ((rc = bcast(t, path, sizeof path)) < 0)
        return rc;
    if (path[0]) {
        rc = resume_from(t, path);
    } else if (t->o->init_from[0]) {
        rc = init_from(t);
    } else {
        /* Fresh: rank 0 draws the initial parameters; everyone gets them and checks. The
         * moving average starts at them. */
        if (t->rank == 0)
            model_init_params(&t->m, t->o->seed, t->o->init, t->o->init_scale);
        rc = comm_bcast_params(t->comm, t->m.params, t->m.n_params);
        if (rc == 0 && t->ema)
            memcpy(t->ema, t->m.params, t->m.n_params * sizeof *t->ema);
    }
    if (rc == 0)
        start_from_progress(t);
    return rc;
}

/* ---- writing checkpoints ---------------------------------------------------------------- */

/* Rank 0 writes the checkpoint of the current state to path (after the test hook's pause), or
 * with `best` the parameters-only file of it. */
static int write_checkpoint(trainer *t, const char *path, bool best)
{
    char what[OPT_STRING_MAX + 128];
    snprintf(what, sizeof what, "checkpoint of step %lld: before writing %s",
             (long long)t->pr.step, path);
    trainer_slow(t, SLOW_CKPT, what);
    t->pr.epoch = t->st.epoch;
    t->pr.next = (int64_t)t->st.next;
    t->pr.world_size = t->size;
    ckpt_contents c = {
        .tab = &t->m.table, .params = t->m.params, .exp_avg = t->opt.m, .exp_avg_sq = t->opt.v,
        .ema = t->ema, .ema_decay = t->o->ema,
        .optim_step = t->opt.step, .config = (const char *const *)t->config,
        .src_vocab = t->src_vocab, .src_vocab_n = t->src_vocab_n, .tgt_vocab = t->tgt_vocab,
        .tgt_vocab_n = t->tgt_vocab_n, .progress = t->pr, .blas_core = blas_core_get()->kernel,
        .spm = ds_spm(t->ds),
        .history = {.rows = t->history_rows, .cols = HISTORY_COLS, .columns = HISTORY_COLUMNS,
                    .data = t->history}};
    if (t->cg.resid)
        c.residual = (ckpt_residual){.ranks = t->size, .n = t->m.n_params, .buf = t->resid_row,
                                     .row = resid_gather_row, .ctx = t};
    if (!best)
        return ckpt_write(path, &c);
    /* best.h5: the weights decoding uses (the EMA's with --ema), without the optimizer */
    char origin[128];
    snprintf(origin, sizeof origin, "%s of step %lld, the best validation %s so far",
             t->ema ? "EMA weights" : "parameters", (long long)t->pr.step,
             valid_metric_names[t->o->best_metric]);
    c.kind = CKPT_PARAMS;
    c.origin = origin;
    c.params = t->ema ? t->ema : t->m.params;
    c.exp_avg = c.exp_avg_sq = c.ema = NULL;
    c.residual = (ckpt_residual){0};
    return ckpt_write(path, &c);
}

/* What rank 0 tells every rank about a checkpoint's regular file. */
enum { REGULAR_OK = 1, REGULAR_FAILED = 2 };

/* Rank 0: the files of one checkpoint: the regular one of the current step (then the oldest
 * beyond --keep removed) and/or best.h5; *flags says how the regular one went, path the last
 * file tried. */
static int write_files(trainer *t, bool regular, bool best, char *path, size_t size, int *flags)
{
    const train_options *o = t->o;
    int rc = 0;
    if (regular && (rc = ckpt_step_path(path, size, o->run_dir, t->pr.step)) == 0)
        rc = write_checkpoint(t, path, false);
    if (regular && rc == 0) {
        snprintf(t->intact_ckpt, sizeof t->intact_ckpt, "%s", path);
        t->ckpts_written++;
        *flags |= REGULAR_OK;
        rc = ckpt_prune(o->run_dir, o->keep, t->log);
    } else if (regular) {
        *flags |= REGULAR_FAILED;
    }
    if (rc == 0 && best && (rc = ckpt_best_path(path, size, o->run_dir)) == 0 &&
        (rc = write_checkpoint(t, path, true)) == 0)
        t->ckpts_written++;
    return rc;
}

/* Rank 0, after its writes ended with rc: a failure counted, and either kept (returned) or, under
 * --ckpt-error continue, turned into a message in failure[size] and 0. */
static int failure_policy(trainer *t, int rc, char *failure, size_t size)
{
    if (rc < 0)
        t->ckpt_failures++;
    /* A writer that gave up on the signal (S2S_ESTOPPED) failed to write all the same. */
    if (rc == S2S_ESTOPPED) {
        snprintf(failure, size, "%s", s2s_errmsg(rc));
        rc = s2s_fail(S2S_EIO, "%s", failure);
    }
    if (rc < 0 && t->o->ckpt_error == CKPT_ERROR_CONTINUE) {
        snprintf(failure, size, "%s", s2s_errmsg(rc));
        s2s_clear_error();
        rc = 0;
    }
    return rc;
}

/* Rank 0's error for a stop whose regular checkpoint could not be written (sig: the stop's). */
static int stop_unsaved(trainer *t, int sig, const char *failure)
{
    char kept[sizeof t->intact_ckpt + 80] = "there is no checkpoint of this run on disk";
    if (t->intact_ckpt[0])
        snprintf(kept, sizeof kept,
                 "the newest checkpoint on disk is %s (--resume auto continues from it)",
                 t->intact_ckpt);
    return s2s_fail(S2S_EIO,
                    "train: stop requested by %s at step %lld, but the checkpoint of that "
                    "step could not be written (%s); %s",
                    stop_signal_name(sig), (long long)t->pr.step, failure, kept);
}

/* Every rank: a checkpoint of the current step (`regular`) and/or best.h5 (`best`), written by
 * rank 0. The parameters (and EMA weights) are first checked to be identical on every rank. A failed write keeps
 * the previous files; the run stops or goes on as --ckpt-error says, except that a run that
 * stops (CK_STOP, or CK_GO_ON with a stop request agreed at the end, t->stop_sig) and failed
 * to write its regular checkpoint ends with an error naming what is on disk: there is no
 * training left to go on with, and exit 75 would promise a checkpoint that is not there. */
int trainer_checkpoint(trainer *t, bool regular, bool best, int after)
{
    if (!t->o->run_dir[0] || (!regular && !best))
        return 0;
    double t0 = wall_seconds();
    int rc = comm_check_same(t->comm, t->m.params, t->m.n_params, "parameters");
    if (rc == 0 && t->ema)
        rc = comm_check_same(t->comm, t->ema, t->m.n_params, "EMA weights");
    if (rc < 0)
        return rc;
    char path[OPT_STRING_MAX + 64] = "", failure[1024] = "";
    int flags = 0;
    /* bf16 residuals: a row from every other rank for the regular file (best.h5 has none) */
    long resid_rows = t->cg.resid && regular ? t->size - 1 : 0;
    if (t->rank != 0)
        for (long k = 0; k < resid_rows / (t->size - 1) && rc == 0; k++)
            if (MPI_Send(t->cg.resid, (int)t->m.n_params, MPI_FLOAT, 0, RESID_TAG, t->comm) !=
                MPI_SUCCESS)
                rc = s2s_fail(S2S_EMPI, "train: sending the gradient residual to rank 0 failed");
    if (t->rank == 0) {
        t->resid_moved = 0;
        rc = write_files(t, regular, best, path, sizeof path, &flags);
        /* the rows a failed write did not ask for, in the order it would have (rank 1, 2, ..) */
        for (long k = t->resid_moved; k < resid_rows; k++)
            MPI_Recv(t->resid_row, (int)t->m.n_params, MPI_FLOAT, (int)(k % (t->size - 1)) + 1,
                     RESID_TAG, t->comm, MPI_STATUS_IGNORE);
        int st = trainer_log_checkpoint(t, path, wall_seconds() - t0, rc);
        if (st < 0)
            return st;
        rc = failure_policy(t, rc, failure, sizeof failure);
    }
    t->last_ckpt_time = wall_seconds();
    t->phase[PH_CKPT] += t->last_ckpt_time - t0;
    int sig = 0;
    if ((rc = trainer_agree_stop(t, rc, &sig, &flags)) < 0)
        return rc;
    if (flags & REGULAR_OK)
        t->saved_step = t->pr.step;
    if (sig && !t->stop_sig)
        t->stop_sig = sig;
    bool stopping = after == CK_STOP || (after == CK_GO_ON && sig);
    if (stopping && (flags & REGULAR_FAILED))
        return t->rank != 0 ? S2S_EPEER : stop_unsaved(t, sig, failure);
    if (failure[0]) {
        char kept[sizeof t->intact_ckpt + 48] = "there is no previous checkpoint";
        if (t->intact_ckpt[0])
            snprintf(kept, sizeof kept, "the previous checkpoint %s is intact", t->intact_ckpt);
        trainer_note(t, "checkpoint at step %lld FAILED, %s (%s): %s", (long long)t->pr.step,
                     stopping ? "the run stops" : "training goes on", kept, failure);
    }
    return 0;
}

/* Rank 0 at the end: --ckpt-error continue lets every write fail; a run that leaves nothing to
 * resume from or decode must not look like a success. */
int trainer_check_written(const trainer *t)
{
    if (t->rank != 0 || !t->o->run_dir[0] || t->ckpts_written > 0 || t->ckpt_failures == 0)
        return 0;
    return s2s_fail(S2S_EIO,
                    "train: no checkpoint was written to %s during this run: every write "
                    "failed (--ckpt-error continue)%s%s",
                    t->o->run_dir, t->intact_ckpt[0] ? "; the newest one is still " : "",
                    t->intact_ckpt);
}
