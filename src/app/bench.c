/* bench.c - timing training steps and relating them to the machine's sgemm peak. */
#include "s2s/bench.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "s2s/blas.h"
#include "s2s/loader.h"
#include "s2s/optim.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/timer.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_sgemm_peak(int n)
{
    enum { RUNS = 5 };
    /* The best of several runs after a warm-up: a shared machine only ever makes a run slower,
     * so the best is the closest to the true peak, and the MFU it gives is the conservative one. */
    float *a = malloc((size_t)n * n * sizeof(float));
    float *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i * 7) % 13) * 0.01f;
        b[i] = (float)((i * 5) % 11) * 0.01f;
        c[i] = 0;
    }
    blas_set_threads(1);
    double gflops[RUNS];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < RUNS; r++) {
        double t0 = wall_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        gflops[r] = 2.0 * n * n * (double)n / (wall_seconds() - t0) / 1e9;
    }
    free(a);
    free(b);
    free(c);
    qsort(gflops, RUNS, sizeof gflops[0], cmp_double);
    return gflops[RUNS - 1];
}

/* Random word ids (no padding), every sentence at full length. */
static int fill_random_batch(batch *bt, const bench_options *o, int *src, int *tgt)
{
    rng_stream s;
    rng_stream_init(&s, o->seed, RNG_BENCH, 0, 0, 0);
    const int *src_rows[o->batch], *tgt_rows[o->batch];
    int src_len[o->batch], tgt_len[o->batch];
    int sw = o->model.src_vocab - TOK_FIRST_WORD, tw = o->model.tgt_vocab - TOK_FIRST_WORD;
    for (int b = 0; b < o->batch; b++) {
        for (int t = 0; t < o->src_len; t++)
            src[b * o->src_len + t] = TOK_FIRST_WORD + (int)rng_below(&s, (uint32_t)sw);
        /* The decoder runs tgt_len steps: tgt_len - 1 words plus </s>. */
        for (int t = 0; t < o->tgt_len - 1; t++)
            tgt[b * o->tgt_len + t] = TOK_FIRST_WORD + (int)rng_below(&s, (uint32_t)tw);
        src_rows[b] = src + b * o->src_len;
        tgt_rows[b] = tgt + b * o->tgt_len;
        src_len[b] = o->src_len;
        tgt_len[b] = o->tgt_len - 1;
    }
    return batch_fill(bt, o->batch, src_rows, src_len, tgt_rows, tgt_len);
}

int bench_run(const bench_options *o, FILE *log, bench_result *res)
{
    int rc;
    model m = {0};
    optimizer opt = {0};
    batch bt = {0};
    double *step_t = NULL, *fb_t = NULL, *opt_t = NULL;
    int *src = NULL, *tgt = NULL;
    memset(res, 0, sizeof *res);
    if (o->steps < 1 || o->warmup < 0 || o->batch < 1 || o->src_len < 1 || o->tgt_len < 2 ||
        o->threads < 1)
        return s2s_fail(S2S_EINVAL,
                        "bench: need steps >= 1, warmup >= 0, batch >= 1, src-len >= 1, "
                        "tgt-len >= 2, threads >= 1");

    res->sgemm_peak_gflops = bench_sgemm_peak(o->peak_size);
    blas_set_threads(o->threads);

    if ((rc = model_init(&m, &o->model, o->batch, o->src_len, o->tgt_len)) < 0)
        goto fail;
    model_init_params(&m, o->seed, INIT_UNIFORM, 0.1);
    optim_config oc = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    step_t = malloc((size_t)o->steps * sizeof(double));
    fb_t = malloc((size_t)o->steps * sizeof(double));
    opt_t = malloc((size_t)o->steps * sizeof(double));
    src = malloc((size_t)o->batch * o->src_len * sizeof(int));
    tgt = malloc((size_t)o->batch * o->tgt_len * sizeof(int));
    if (!step_t || !fb_t || !opt_t || !src || !tgt) {
        rc = s2s_fail(S2S_ENOMEM, "bench: cannot allocate buffers");
        goto fail;
    }
    if ((rc = optimizer_init(&opt, &oc, m.n_params)) < 0 ||
        (rc = batch_init(&bt, o->batch, o->src_len, o->tgt_len)) < 0 ||
        (rc = fill_random_batch(&bt, o, src, tgt)) < 0)
        goto fail;

    for (int step = -o->warmup; step < o->steps; step++) {
        output_stats st;
        double t0 = wall_seconds();
        model_zero_grads(&m);
        train_context ctx = {.seed = o->seed, .step = (uint32_t)(step + o->warmup)};
        if ((rc = model_forward_backward(&m, &bt, &ctx, &st)) < 0)
            goto fail;
        double t1 = wall_seconds();
        scale_buffer(m.grads, m.n_params, (real)(1.0 / (double)st.tokens));
        clip_grad_norm(m.grads, m.n_params, 5.0);
        /* A tiny learning rate keeps the parameters (and so the work) essentially fixed. */
        optimizer_step(&opt, m.params, m.grads, 1e-6);
        double t2 = wall_seconds();
        if (step >= 0) {
            step_t[step] = (t2 - t0) * 1e3;
            fb_t[step] = (t1 - t0) * 1e3;
            opt_t[step] = (t2 - t1) * 1e3;
        }
        if (log)
            fprintf(log, "%s step %3d  %.1f ms  loss %.4f\n", step < 0 ? "warmup" : "bench ",
                    step, (t2 - t0) * 1e3, st.loss / (double)st.tokens);
    }
    res->step_ms = median(step_t, o->steps); /* sorts step_t: min first, max last */
    res->step_ms_min = step_t[0];
    res->step_ms_max = step_t[o->steps - 1];
    res->forward_backward_ms = median(fb_t, o->steps);
    res->optimizer_ms = median(opt_t, o->steps);
    res->params = param_table_count(&m.table);
    res->model_gflop_per_step =
        3.0 * model_forward_flops(&o->model, o->batch, o->src_len, o->tgt_len) / 1e9;
    res->achieved_gflops = res->model_gflop_per_step / (res->step_ms / 1e3);
    res->tokens_per_s = (double)o->batch * (o->src_len + o->tgt_len) / (res->step_ms / 1e3);
    res->mfu = res->sgemm_peak_gflops > 0
                   ? res->achieved_gflops / (res->sgemm_peak_gflops * o->threads)
                   : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->peak_rss_mb = (double)ru.ru_maxrss / 1024.0;
    rc = 0;
fail:
    free(step_t);
    free(fb_t);
    free(opt_t);
    free(src);
    free(tgt);
    batch_free(&bt);
    optimizer_free(&opt);
    model_free(&m);
    return rc;
}

void bench_print_json(FILE *f, const bench_options *o, const bench_result *r)
{
    struct utsname un;
    char host[256] = "unknown";
    if (uname(&un) == 0)
        snprintf(host, sizeof host, "%s %s", un.nodename, un.machine);
    const model_config *c = &o->model;
    fprintf(f,
            "{\"cell\":\"%s\",\"layers\":%d,\"bidir\":%s,\"emb\":%d,\"hidden\":%d,"
            "\"src_vocab\":%d,\"tgt_vocab\":%d,\"batch\":%d,\"src_len\":%d,\"tgt_len\":%d,"
            "\"threads\":%d,\"ranks\":1,\"steps\":%d,\"params\":%zu,\"host\":\"%s\","
            "\"cores\":%ld,\"tokens_per_s\":%.1f,\"step_ms\":%.3f,\"step_ms_min\":%.3f,"
            "\"step_ms_max\":%.3f,\"forward_backward_ms\":%.3f,\"optimizer_ms\":%.3f,"
            "\"model_gflop_per_step\":%.4f,\"achieved_gflops\":%.2f,"
            "\"sgemm_peak_gflops\":%.2f,\"mfu\":%.4f,\"peak_rss_mb\":%.1f}",
            cell_name(c->cell), c->layers, c->bidir ? "true" : "false", c->emb, c->hidden,
            c->src_vocab, c->tgt_vocab, o->batch, o->src_len, o->tgt_len, o->threads, o->steps,
            r->params, host, sysconf(_SC_NPROCESSORS_ONLN), r->tokens_per_s, r->step_ms,
            r->step_ms_min, r->step_ms_max, r->forward_backward_ms, r->optimizer_ms,
            r->model_gflop_per_step, r->achieved_gflops, r->sgemm_peak_gflops, r->mfu,
            r->peak_rss_mb);
}

int bench_data(const bench_options *o, FILE *log, bench_data_result *res)
{
    memset(res, 0, sizeof *res);
    dataset *ds = NULL;
    loader l = {0};
    batch bt = {0};
    double t0 = wall_seconds();
    int rc = ds_open(&ds, o->data);
    if (rc < 0)
        return rc;
    batcher_config cfg = {.seed = o->seed, .batch_sents = o->batch,
                          .batch_tokens = o->batch_tokens, .min_sents = o->data_ranks,
                          .window = 100 * o->batch};
    if ((rc = loader_init(&l, ds, SPLIT_TRAIN, &cfg, o->data_ranks)) < 0)
        goto fail;
    int max_B, max_src, max_tgt;
    loader_batch_capacity(&l, &max_B, &max_src, &max_tgt);
    if ((rc = batch_init(&bt, max_B, max_src, max_tgt)) < 0)
        goto fail;
    batcher_state st = {0};
    long steps = batcher_epoch_steps(&l.bat, 0);
    res->open_seconds = wall_seconds() - t0;
    t0 = wall_seconds();
    for (long s = 0; s < steps; s++) {
        int global;
        long global_tokens;
        if ((rc = loader_next(&l, &st, 0, &bt, &global, &global_tokens)) < 0)
            goto fail;
        res->sentences += bt.B;
        for (int b = 0; b < bt.B; b++)
            res->tokens += bt.src_len[b] + bt.tgt_len[b] - 1;
    }
    res->seconds = wall_seconds() - t0;
    res->steps = steps;
    res->sentences_per_s = (double)res->sentences / res->seconds;
    res->tokens_per_s = (double)res->tokens / res->seconds;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->peak_rss_mb = (double)ru.ru_maxrss / 1024.0;
    if (log)
        fprintf(log, "bench --data: %s, %ld train pairs, %ld steps for rank 0 of %d\n", o->data,
                ds_count(ds, SPLIT_TRAIN), steps, o->data_ranks);
fail:
    batch_free(&bt);
    loader_free(&l);
    ds_close(ds);
    return rc;
}
