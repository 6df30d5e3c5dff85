/* train.c - the single-process training loop on a synthetic task, and held-out evaluation. */
#include "s2s/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/status.h"
#include "s2s/timer.h"

/* Host-side storage for one batch of synthetic examples before padding. */
typedef struct {
    int n, cap_len;
    int *src, *tgt;         /* [n, cap_len] */
    int *src_len, *tgt_len; /* [n] */
    const int **src_rows, **tgt_rows;
} example_buf;

static void example_buf_free(example_buf *e)
{
    free(e->src);
    free(e->tgt);
    free(e->src_len);
    free(e->tgt_len);
    free(e->src_rows);
    free(e->tgt_rows);
    memset(e, 0, sizeof *e);
}

static int example_buf_init(example_buf *e, int n, int cap_len)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    e->cap_len = cap_len;
    e->src = malloc((size_t)n * cap_len * sizeof(int));
    e->tgt = malloc((size_t)n * cap_len * sizeof(int));
    e->src_len = malloc((size_t)n * sizeof(int));
    e->tgt_len = malloc((size_t)n * sizeof(int));
    e->src_rows = malloc((size_t)n * sizeof(int *));
    e->tgt_rows = malloc((size_t)n * sizeof(int *));
    if (!e->src || !e->tgt || !e->src_len || !e->tgt_len || !e->src_rows || !e->tgt_rows) {
        example_buf_free(e);
        return s2s_fail(S2S_ENOMEM, "train: cannot allocate %d examples", n);
    }
    for (int i = 0; i < n; i++) {
        e->src_rows[i] = e->src + (size_t)i * cap_len;
        e->tgt_rows[i] = e->tgt + (size_t)i * cap_len;
    }
    return 0;
}

/* Examples first .. first+n-1 of a split into e, then padded into bt. */
static int load_batch(const synth_task *task, int split, uint32_t first, int n, example_buf *e,
                      batch *bt)
{
    for (int i = 0; i < n; i++)
        synth_example(task, split, first + (uint32_t)i, e->src + (size_t)i * e->cap_len,
                      &e->src_len[i], e->tgt + (size_t)i * e->cap_len, &e->tgt_len[i]);
    int rc = batch_fill(bt, n, e->src_rows, e->src_len, e->tgt_rows, e->tgt_len);
    for (int i = 0; i < n && rc == 0; i++)
        bt->ids[i] = first + (uint32_t)i; /* the example index keys its dropout masks */
    return rc;
}

static void print_tokens(FILE *f, const synth_task *task, const int *ids, int n)
{
    char buf[32];
    for (int i = 0; i < n; i++) {
        synth_token_text(task, ids[i], buf, sizeof buf);
        fprintf(f, "%s%s", i ? " " : "", buf);
    }
}

int train_evaluate(model *m, const synth_task *task, int n, int batch_size, int samples,
                   FILE *log, train_result *res)
{
    int rc, max_out = 2 * task->max_len + 2;
    int *hyp = malloc((size_t)batch_size * max_out * sizeof(int));
    int *hyp_len = malloc((size_t)batch_size * sizeof(int));
    example_buf e = {0};
    batch bt = {0};
    if (!hyp || !hyp_len) {
        rc = s2s_fail(S2S_ENOMEM, "evaluate: cannot allocate %d hypotheses", batch_size);
        goto fail;
    }
    if ((rc = example_buf_init(&e, batch_size, task->max_len)) < 0 ||
        (rc = batch_init(&bt, batch_size, task->max_len, task->max_len + 1)) < 0)
        goto fail;

    double loss = 0;
    long tokens = 0, correct = 0, exact = 0, shown = 0;
    for (int first = 0; first < n; first += batch_size) {
        int B = n - first < batch_size ? n - first : batch_size;
        output_stats st;
        if ((rc = load_batch(task, SYNTH_HELDOUT, (uint32_t)first, B, &e, &bt)) < 0 ||
            (rc = model_evaluate(m, &bt, &st)) < 0 ||
            (rc = model_greedy(m, &bt, max_out, hyp, hyp_len)) < 0)
            goto fail;
        loss += st.loss;
        tokens += st.tokens;
        correct += st.correct;
        for (int b = 0; b < B; b++) {
            const int *h = hyp + (size_t)b * max_out;
            int ok = hyp_len[b] == e.tgt_len[b] &&
                     memcmp(h, e.tgt_rows[b], (size_t)e.tgt_len[b] * sizeof(int)) == 0;
            exact += ok;
            if (log && shown < samples) {
                fprintf(log, "  src: ");
                print_tokens(log, task, e.src_rows[b], e.src_len[b]);
                fprintf(log, "\n  out: ");
                print_tokens(log, task, h, hyp_len[b]);
                fprintf(log, "   [%s]\n", ok ? "correct" : "wrong");
                shown++;
            }
        }
    }
    res->eval_loss = tokens ? loss / (double)tokens : 0;
    res->eval_token_acc = tokens ? (double)correct / (double)tokens : 0;
    res->exact_match = n ? (double)exact / n : 0;
    rc = 0;
fail:
    batch_free(&bt);
    example_buf_free(&e);
    free(hyp);
    free(hyp_len);
    return rc;
}

double lr_at(lr_schedule schedule, double lr, long step, long steps)
{
    if (schedule == LR_LINEAR && steps > 0)
        return lr * (double)(steps - step + 1) / (double)steps;
    return lr;
}

double tf_ratio_at(tf_schedule schedule, double r, double r_min, double k, long step, long steps)
{
    switch (schedule) {
    case TF_LINEAR: return steps > 0 ? r + (r_min - r) * (double)step / (double)steps : r;
    case TF_INVERSE_SIGMOID: return k / (k + exp((double)step / k));
    default: return r;
    }
}

int train_run(const train_options *o, FILE *log, train_result *res)
{
    int rc;
    model m = {0};
    optimizer opt = {0};
    example_buf e = {0};
    batch bt = {0};
    memset(res, 0, sizeof *res);

    if ((rc = synth_check(&o->task)) < 0)
        return rc;
    if (o->batch < 1 || o->steps < 0 || o->lr <= 0 || o->eval_size < 0)
        return s2s_fail(S2S_EINVAL, "train: need batch >= 1, steps >= 0, lr > 0 (got %d, %ld, %g)",
                        o->batch, o->steps, o->lr);
    blas_set_threads(o->threads > 0 ? o->threads : 1);

    model_config cfg = o->model;
    cfg.src_vocab = cfg.tgt_vocab = synth_vocab(&o->task);
    int max_len = o->task.max_len;
    if ((rc = model_init(&m, &cfg, o->batch, max_len, max_len + 1)) < 0)
        goto fail;
    model_init_params(&m, o->seed, o->init, o->init_scale);
    optim_config oc = {.kind = o->optim, .momentum = o->momentum, .beta1 = o->beta1,
                       .beta2 = o->beta2, .eps = o->eps};
    if ((rc = optimizer_init(&opt, &oc, m.n_params)) < 0 ||
        (rc = example_buf_init(&e, o->batch, max_len)) < 0 ||
        (rc = batch_init(&bt, o->batch, max_len, max_len + 1)) < 0)
        goto fail;

    if (log)
        fprintf(log,
                "s2s train: task %s (%d symbols, lengths %d-%d), %s x%d%s, emb %d, hidden %d, "
                "%zu parameters, batch %d, %s lr %g\n",
                synth_name(o->task.kind), o->task.symbols, o->task.min_len, o->task.max_len,
                cell_name(cfg.cell), cfg.layers, cfg.bidir ? " bidirectional" : "", cfg.emb,
                cfg.hidden, param_table_count(&m.table), o->batch, optim_name(o->optim), o->lr);

    double t_start = wall_seconds(), win_loss = 0, win_nll = 0;
    long win_tokens = 0, all_tokens = 0;
    for (long step = 1; step <= o->steps; step++) {
        output_stats st;
        if ((rc = load_batch(&o->task, SYNTH_TRAIN, (uint32_t)((step - 1) * o->batch), o->batch,
                             &e, &bt)) < 0)
            goto fail;
        model_zero_grads(&m);
        double tf = tf_ratio_at(o->tf_schedule, o->teacher_forcing, o->tf_min, o->tf_k, step,
                                o->steps);
        train_context ctx = {.seed = o->seed, .step = (uint32_t)step,
                             .label_smoothing = o->label_smoothing, .sampling = 1 - tf};
        if ((rc = model_forward_backward(&m, &bt, &ctx, &st)) < 0)
            goto fail;
        if (!isfinite(st.loss)) {
            rc = s2s_fail(S2S_ENUMERIC, "train: loss is %g at step %ld", st.loss, step);
            goto fail;
        }
        /* Gradients are of the summed loss: normalize per target token. */
        scale_buffer(m.grads, m.n_params, (real)(1.0 / (double)st.tokens));
        double gnorm = clip_grad_norm(m.grads, m.n_params, o->clip);
        double lr = lr_at(o->schedule, o->lr, step, o->steps);
        optimizer_step(&opt, m.params, m.grads, lr);

        win_loss += st.loss;
        win_nll += st.nll;
        win_tokens += st.tokens;
        for (int b = 0; b < bt.B; b++)
            all_tokens += bt.src_len[b] + bt.tgt_len[b];
        if (log && o->log_every > 0 && step % o->log_every == 0) {
            double el = wall_seconds() - t_start;
            res->train_loss = win_loss / (double)win_tokens;
            /* loss is the trained objective (label-smoothed if asked); ppl is from the NLL */
            fprintf(log,
                    "step %6ld  loss %.4f  ppl %8.3f  lr %.2e  gnorm %7.3f  tok/s %8.0f  %.1fs\n",
                    step, res->train_loss, exp(win_nll / (double)win_tokens), lr, gnorm,
                    (double)all_tokens / el, el);
            fflush(log);
            win_loss = win_nll = 0;
            win_tokens = 0;
        }
        if (o->eval_every > 0 && step % o->eval_every == 0 && step < o->steps) {
            if ((rc = train_evaluate(&m, &o->task, o->eval_size, o->batch, 0, NULL, res)) < 0)
                goto fail;
            if (log) {
                fprintf(log, "eval  %6ld  loss %.4f  token acc %.4f  exact match %.4f\n", step,
                        res->eval_loss, res->eval_token_acc, res->exact_match);
                fflush(log);
            }
        }
        res->steps = step;
    }
    res->seconds = wall_seconds() - t_start;
    res->tokens_per_s = res->seconds > 0 ? (double)all_tokens / res->seconds : 0;
    if (log)
        fprintf(log, "held-out examples:\n");
    if ((rc = train_evaluate(&m, &o->task, o->eval_size, o->batch, o->samples, log, res)) < 0)
        goto fail;
    if (log)
        fprintf(log,
                "final: %ld steps in %.1fs, held-out loss %.4f, token accuracy %.4f, exact "
                "match %.4f (%d sentences)\n",
                res->steps, res->seconds, res->eval_loss, res->eval_token_acc, res->exact_match,
                o->eval_size);
    rc = 0;
fail:
    batch_free(&bt);
    example_buf_free(&e);
    optimizer_free(&opt);
    model_free(&m);
    return rc;
}
