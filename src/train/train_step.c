/* train_step.c - one optimizer step of data-parallel training (include/s2s/train.h, steps 1 to
 * 3): `accum` global batches, of which each rank reads its share, forward and backward; the
 * gradients summed over the ranks in buckets during the last backward; then the update, the
 * same on every rank, and with --ema the moving average of the parameters after it (and the
 * swap that lets a validation read the average).
 *
 * Separate because it is the hot path: it runs every step, allocates nothing, and all that the
 * rest of the loop adds (logging, validation, checkpoints) happens between its calls. */
#include <math.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/timer.h"
#include "train/trainer.h"

/* The step's micro-batches, forward and backward, and the allreduce of the gradients: sums gets
 * this rank's training figures, *global_tokens the global batches' target tokens; *t0, the
 * clock at the step's start, the clock at the allreduce's end (each phase's time is the clock
 * from the previous one's end). A data read that gave up on a stop request ends the
 * micro-batches (sums[S_ABANDON]); the allreduce still runs, as on every other rank. */
static int forward_backward(trainer *t, const train_context *ctx, double *sums,
                            long *global_tokens, double *t0)
{
    const train_options *o = t->o;
    model *m = &t->m;
    for (int k = 0; k < o->accum; k++) {
        int global, rc;
        long tokens;
        rc = loader_next(&t->train, &t->st, t->rank, &t->bt, &global, &tokens);
        if (rc == S2S_ESTOPPED) {
            s2s_clear_error();
            sums[S_ABANDON] = 1;
            comm_grads_begin(&t->cg); /* nothing started yet: finish sums whatever is there */
            break;
        }
        if (rc < 0)
            return rc;
        *global_tokens += tokens;
        double t1 = wall_seconds();
        t->phase[PH_DATA] += t1 - *t0;
        /* Only the last micro-batch's backward finishes gradients: it drives the allreduce. */
        bool last = k == o->accum - 1;
        if (last)
            comm_grads_begin(&t->cg);
        m->grad_ready = last && t->size > 1 ? comm_grads_ready_cb : NULL;
        m->grad_ready_ctx = &t->cg;
        output_stats st;
        if ((rc = model_forward_backward(m, &t->bt, ctx, &st)) < 0)
            return rc;
        *t0 = wall_seconds();
        t->phase[PH_FORWARD] += m->forward_seconds;
        t->phase[PH_BACKWARD] += *t0 - t1 - m->forward_seconds;
        sums[S_LOSS] += st.loss;
        sums[S_NLL] += st.nll;
        sums[S_CORRECT] += (double)st.correct;
        for (int b = 0; b < t->bt.B; b++)
            sums[S_ALL_TOKENS] += t->bt.src_len[b] + t->bt.tgt_len[b];
    }
    m->grad_ready = NULL;
    int rc = comm_grads_finish(&t->cg);
    double t2 = wall_seconds();
    t->phase[PH_ALLREDUCE] += t2 - *t0;
    *t0 = t2;
    return rc;
}

/* The update from the summed gradients of global_tokens target tokens: per token, clipped, and
 * applied, or skipped on a non-finite norm (too many in a row stop the run). */
static int update(trainer *t, double lr, long global_tokens, double *gnorm)
{
    const train_options *o = t->o;
    model *m = &t->m;
    /* The gradients are of the loss summed over the global batch: per target token. */
    scale_buffer(m->grads, m->n_params, (real)(1.0 / (double)global_tokens));
    *gnorm = clip_grad_norm(m->grads, m->n_params, o->clip);
    t->pr.step++;
    t->pr.tokens += global_tokens;
    if (isfinite(*gnorm)) {
        optimizer_step(&t->opt, m->params, m->grads, lr);
        if (t->ema) /* the same on every rank: the parameters are */
            ema_update(t->ema, m->params, m->n_params, o->ema);
        t->pr.nonfinite_streak = 0;
        return 0;
    }
    t->pr.skipped++;
    t->pr.nonfinite_streak++;
    int rc = trainer_log_skip(t, *gnorm);
    if (rc < 0)
        return rc;
    if (t->pr.nonfinite_streak >= o->max_skips)
        return s2s_fail(S2S_ENUMERIC,
                        "train: %lld steps in a row had non-finite gradients (last: step "
                        "%lld); stopping. Lower --lr or --clip, or resume from an earlier "
                        "checkpoint",
                        (long long)t->pr.nonfinite_streak, (long long)t->pr.step);
    return 0;
}

/* The contents, not the pointers: the model's layers hold pointers into m.params (its RNN
 * weights are bound once, at model_init). An exchange in place needs no third buffer, and done
 * twice gives back both buffers bit for bit. */
void trainer_swap_ema(trainer *t)
{
    if (!t->ema)
        return;
    real *restrict p = t->m.params, *restrict e = t->ema;
    for (size_t i = 0; i < t->m.n_params; i++) {
        real x = p[i];
        p[i] = e[i];
        e[i] = x;
    }
}

/* One optimizer step: `accum` global batches, rank's shares forward and backward, gradients
 * summed over ranks and normalized by the global target tokens, then clip and update (or skip
 * on a non-finite norm). sums gets the step's N_STEP_SUMS values summed over ranks. A rank
 * whose data read gave up on a stop request (S2S_ESTOPPED) still takes part in the step's
 * collectives and says so in sums[S_ABANDON]: then no rank applies the step, the data
 * iterator goes back to where the step began, and *abandoned is set. */
int trainer_step(trainer *t, double lr, double tf, double *gnorm, double *sums, bool *abandoned)
{
    const train_options *o = t->o;
    long global_tokens = 0;
    double tick = wall_seconds();
    memset(sums, 0, N_STEP_SUMS * sizeof *sums);
    model_zero_grads(&t->m);
    train_context ctx = {.seed = o->seed, .step = (uint32_t)(t->pr.step + 1),
                         .label_smoothing = o->label_smoothing, .sampling = 1 - tf};
    const batcher_state st0 = t->st;
    *abandoned = false;
    int rc = forward_backward(t, &ctx, sums, &global_tokens, &tick);
    if (rc < 0)
        return rc;
    sums[S_STOP] = stop_requested() != 0;
    sums[S_CKPT_DUE] = t->rank == 0 && o->ckpt_minutes > 0 &&
                       tick - t->last_ckpt_time >= o->ckpt_minutes * 60.0;
    if ((rc = comm_sum_doubles(t->comm, sums, N_STEP_SUMS)) < 0)
        return rc;
    if (sums[S_ABANDON] > 0) {
        comm_grads_undo(&t->cg); /* the residual of bf16 gradients, too, as before the step */
        t->st = st0;
        *abandoned = true;
        return 0;
    }
    rc = update(t, lr, global_tokens, gnorm);
    t->phase[PH_OPTIM] += wall_seconds() - tick;
    return rc;
}
