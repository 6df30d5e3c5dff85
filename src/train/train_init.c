/* train_init.c - a new run started from another run's file (--init-from CKPT, fine-tuning on
 * new data): rank 0 checks that the file fits this run (the new dataset's vocabularies equal
 * the file's token by token, every tensor has this model's shape, the optimizer state is of
 * this run's optimizer) and reads from it the parameters and, unless --reset-optimizer, the
 * optimizer moments and step, and unless --reset-schedule, the step count and the plateau
 * schedule's state; everything else of the run (data position, counters, validation history,
 * best figure) starts afresh. A parameters-only file (best.h5, s2s average) has neither
 * moments nor a position: it implies both resets, and a note says so.
 *
 * Separate from train_ckpt.c because it reads another run's file under this run's options: its
 * checks are about what may cross from one run to another, and a resume never makes them (the
 * run's own checkpoints fit it by construction; train_config.c checks their options). */
#include <stdio.h>
#include <string.h>

#include "s2s/status.h"
#include "train/trainer.h"

/* ---- the vocabularies: equal to the new dataset's, token by token ------------------------- */

typedef struct {
    const trainer *t;
    const char *path;
    int side;  /* 0: source, 1: target */
    int count; /* tokens the file has (seen so far) */
} vocab_check;

static const char *const SIDE[2] = {"src", "tgt"}, *const SIDE_NAME[2] = {"source", "target"};

static int check_token(int id, const char *text, void *ctx)
{
    vocab_check *c = ctx;
    const char *side = SIDE[c->side];
    c->count = id + 1;
    if (id >= ds_vocab_size(c->t->ds, side) || !strcmp(ds_token(c->t->ds, side, id), text))
        return 0; /* one more than the dataset has: the sizes are compared at the end */
    return s2s_fail(S2S_EINVAL,
                    "init-from: vocabulary mismatch: %s token %d is '%s' in %s but '%s' in %s; "
                    "fine-tuning needs the checkpoint's vocabularies token by token (s2s prep "
                    "--src-vocab, --tgt-vocab with the vocabulary files of its dataset)",
                    SIDE_NAME[c->side], id, ds_token(c->t->ds, side, id), c->t->o->data, text,
                    c->path);
}

static int check_vocab(const trainer *t, const char *path, int side)
{
    vocab_check c = {.t = t, .path = path, .side = side};
    int rc = ckpt_read_vocab(path, side, check_token, &c);
    int n = ds_vocab_size(t->ds, SIDE[side]);
    if (rc == 0 && c.count != n)
        rc = s2s_fail(S2S_EINVAL,
                      "init-from: vocabulary mismatch: %s has %d %s tokens, %s has %d; "
                      "fine-tuning needs the checkpoint's vocabularies token by token (s2s prep "
                      "--src-vocab, --tgt-vocab with the vocabulary files of its dataset)",
                      t->o->data, n, SIDE_NAME[side], path, c.count);
    return rc;
}

/* ---- the optimizer: its moments are of this run's kind ------------------------------------- */

typedef struct {
    char optim[OPT_STRING_MAX];
} stored_optim;

static int find_optim(const char *key, const char *value, void *ctx)
{
    stored_optim *s = ctx;
    if (!strcmp(key, "optim"))
        snprintf(s->optim, sizeof s->optim, "%s", value);
    return 0;
}

static int check_optim(const trainer *t, const char *path)
{
    stored_optim s = {""};
    int rc = ckpt_read_config(path, find_optim, &s);
    const char *now = optim_name(t->o->optim);
    if (rc == 0 && s.optim[0] && strcmp(s.optim, now) != 0)
        rc = s2s_fail(S2S_EINVAL, "init-from: %s was trained with --optim %s, this run uses --optim "
                      "%s: its optimizer moments do not fit; add --reset-optimizer to start them "
                      "afresh", path, s.optim, now);
    return rc;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* rc with its message prefixed by "init-from: " and followed by hint. */
static int init_failure(int rc, const char *hint)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", s2s_errmsg(rc));
    return s2s_fail(rc, "init-from: %s%s", msg, hint);
}

/* The file's state that this run keeps, into the trainer: the parameters (read already), and
 * as the resets allow the optimizer step and the step count with the plateau state. */
static void take_state(trainer *t, const ckpt_loaded *ld, bool moments, bool schedule)
{
    if (moments)
        t->opt.step = ld->optim_step;
    if (schedule) {
        t->pr.step = ld->progress.step;
        t->pr.lr_scale = ld->progress.lr_scale;
        t->pr.lr_best = ld->progress.lr_best;
        t->pr.lr_bad = ld->progress.lr_bad;
    }
    if (t->ema) /* the new run's average starts at its first parameters */
        memcpy(t->ema, t->m.params, t->m.n_params * sizeof *t->ema);
}

int trainer_read_init(trainer *t, const char *path)
{
    const train_options *o = t->o;
    ckpt_summary head;
    int rc = ckpt_read_head(path, &head);
    bool params_only = head.kind == CKPT_PARAMS;
    long long step = head.progress.step;
    ckpt_summary_free(&head);
    if (rc < 0)
        return init_failure(rc, "");
    bool moments = !o->reset_optimizer && !params_only, schedule = !o->reset_schedule && !params_only;
    if (params_only && (!o->reset_optimizer || !o->reset_schedule))
        trainer_note(t, "init-from: %s is a parameters-only file: it has no optimizer moments or "
                     "step count, so the run starts with fresh moments at step 0 "
                     "(--reset-optimizer and --reset-schedule implied)", path);
    if ((rc = check_vocab(t, path, 0)) < 0 || (rc = check_vocab(t, path, 1)) < 0 ||
        (moments && (rc = check_optim(t, path)) < 0))
        return rc;
    if (schedule && step >= o->steps)
        return s2s_fail(S2S_EINVAL, "init-from: %s is at step %lld and --steps is %ld: the run "
                        "continues its step count (without --reset-schedule), so --steps must "
                        "be larger; or add --reset-schedule to count from 0", path, step,
                        o->steps);
    ckpt_loaded ld = {.params = t->m.params, .exp_avg = moments ? t->opt.m : NULL,
                      .exp_avg_sq = moments ? t->opt.v : NULL};
    rc = ckpt_read(path, &t->m.table, &ld);
    if (rc < 0) {
        const char *why = s2s_errmsg(rc), *hint = "";
        if (moments && strstr(why, "optimizer state"))
            hint = "; add --reset-optimizer to start the moments afresh";
        else if (strstr(why, "tensor"))
            hint = "; this run's model options must give the checkpoint's shapes (s2s info "
                   "lists its options and tensors)";
        rc = init_failure(rc, hint);
        ckpt_loaded_free(&ld);
        return rc;
    }
    take_state(t, &ld, moments, schedule);
    ckpt_loaded_free(&ld);
    char opt_what[96], sched_what[96];
    if (moments)
        snprintf(opt_what, sizeof opt_what, "its optimizer moments (%lld updates)",
                 (long long)t->opt.step);
    else
        snprintf(opt_what, sizeof opt_what, "fresh optimizer moments");
    if (schedule)
        snprintf(sched_what, sizeof sched_what, "continuing its step count at step %lld", step);
    else
        snprintf(sched_what, sizeof sched_what, "steps and schedule from 0");
    trainer_note(t, "init-from: a new run from %s (step %lld): its parameters, %s, %s%s", path,
                 step, opt_what, sched_what, t->ema ? "; the EMA starts at these parameters" : "");
    return 0;
}
