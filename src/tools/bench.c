/* bench.c - timing training steps and relating them to the machine's sgemm peak. */
#include "s2s/bench.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "s2s/blas.h"
#include "s2s/blas_core.h"
#include "s2s/comm.h"
#include "s2s/json.h"
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

/* Random word ids (no padding), every sentence at full length: B sentences drawn from the
 * stream (seed, RNG_BENCH, rank), so every rank trains on its own tokens and rank 0's are those
 * of a single-process run. The row tables are on the heap: B comes from the command line. */
static int fill_random_batch(batch *bt, const bench_options *o, int B, int rank, int *src,
                             int *tgt)
{
    rng_stream s;
    rng_stream_init(&s, o->seed, RNG_BENCH, (uint32_t)rank, 0, 0);
    const int **src_rows = malloc((size_t)B * sizeof *src_rows);
    const int **tgt_rows = malloc((size_t)B * sizeof *tgt_rows);
    int *src_len = malloc((size_t)B * sizeof *src_len);
    int *tgt_len = malloc((size_t)B * sizeof *tgt_len);
    int rc = S2S_ENOMEM;
    if (!src_rows || !tgt_rows || !src_len || !tgt_len) {
        s2s_fail(rc, "bench: cannot allocate the row tables of a batch of %d sentences", B);
        goto done;
    }
    int sw = o->model.src_vocab - TOK_FIRST_WORD, tw = o->model.tgt_vocab - TOK_FIRST_WORD;
    for (int b = 0; b < B; b++) {
        int *sr = src + (size_t)b * o->src_len, *tr = tgt + (size_t)b * o->tgt_len;
        for (int t = 0; t < o->src_len; t++)
            sr[t] = TOK_FIRST_WORD + (int)rng_below(&s, (uint32_t)sw);
        /* The decoder runs tgt_len steps: tgt_len - 1 words plus </s>. */
        for (int t = 0; t < o->tgt_len - 1; t++)
            tr[t] = TOK_FIRST_WORD + (int)rng_below(&s, (uint32_t)tw);
        src_rows[b] = sr;
        tgt_rows[b] = tr;
        src_len[b] = o->src_len;
        tgt_len[b] = o->tgt_len - 1;
    }
    rc = batch_fill(bt, B, src_rows, src_len, tgt_rows, tgt_len);
done:
    free(src_rows);
    free(tgt_rows);
    free(src_len);
    free(tgt_len);
    return rc;
}

/* Sentences per step of one rank: --batch (weak scaling), or its share of a global --batch
 * (strong scaling; the first batch % ranks ranks take one more). */
static int bench_local_batch(const bench_options *o, int rank, int ranks)
{
    return o->strong ? o->batch / ranks + (rank < o->batch % ranks) : o->batch;
}

/* Per-step timings of one rank, in ms; the columns of one buffer. */
enum { T_STEP, T_FB, T_OPT, T_FWD, T_WAIT, T_IMB, T_WIN, T_COLS };

/* The full cost of the gradient allreduce: the bucketed reduction run blocking after a barrier
 * with no compute beside it, several times; the median on this rank, in seconds. */
static int blocking_allreduce_s(comm_grads *cg, double *out)
{
    enum { RUNS = 5 };
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        MPI_Barrier(cg->comm);
        double t0 = wall_seconds();
        comm_grads_begin(cg);
        int rc = comm_grads_finish(cg);
        if (rc < 0)
            return rc;
        t[r] = wall_seconds() - t0;
    }
    *out = median(t, RUNS);
    return 0;
}

/* How many ranks run rank 0's OpenBLAS kernels: each rank chose its own at start-up, and a
 * slower one holds back every step. */
static int count_same_kernels(MPI_Comm comm, int *count)
{
    const char *mine = blas_core_get()->kernel;
    char first[sizeof blas_core_get()->kernel];
    snprintf(first, sizeof first, "%s", mine);
    if (MPI_Bcast(first, (int)sizeof first, MPI_CHAR, 0, comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "bench: MPI_Bcast of rank 0's OpenBLAS kernels failed");
    int same = strcmp(first, mine) == 0;
    if (MPI_Allreduce(&same, count, 1, MPI_INT, MPI_SUM, comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "bench: MPI_Allreduce of the OpenBLAS kernels failed");
    return 0;
}

int bench_run(const bench_options *o, FILE *log, bench_result *res)
{
    int rc;
    model m = {0};
    optimizer opt = {0};
    batch bt = {0};
    comm_grads cg = {0};
    double *times = NULL;
    int *src = NULL, *tgt = NULL;
    memset(res, 0, sizeof *res);
    if (o->steps < 1 || o->warmup < 0 || o->batch < 1 || o->src_len < 1 || o->tgt_len < 2 ||
        o->threads < 1)
        return s2s_fail(S2S_EINVAL,
                        "bench: need steps >= 1, warmup >= 0, batch >= 1, src-len >= 1, "
                        "tgt-len >= 2, threads >= 1");

    /* Data-parallel when started by mpirun with several ranks; a single process (MPI
     * initialized or not) makes no MPI call at all and runs exactly as a plain benchmark. */
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank = 0, ranks = 1, mpi_on = 0;
    MPI_Initialized(&mpi_on);
    if (mpi_on) {
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &ranks);
    }
    bool dp = ranks > 1;
    if (o->strong && o->batch < ranks)
        return s2s_fail(S2S_EINVAL, "bench: --strong splits --batch %d over %d ranks: need at "
                                    "least one sentence per rank", o->batch, ranks);
    if (dp && !(o->bucket_mb > 0))
        return s2s_fail(S2S_EINVAL, "bench: --bucket-mb must be positive, got %g", o->bucket_mb);
    int B = bench_local_batch(o, rank, ranks);
    int global_B = o->strong ? o->batch : o->batch * ranks;
    FILE *out = rank == 0 ? log : NULL;

    /* The ranks measure the peak at the same time: during training they share the machine's
     * memory system, caches and power budget, so a peak measured alone would overstate what
     * each can reach when all run. The MFU denominator is the sum of their peaks. */
    if (dp)
        MPI_Barrier(comm);
    double peak = bench_sgemm_peak(o->peak_size);
    res->sgemm_peak_gflops = res->sgemm_peak_min = res->sgemm_peak_max = peak;
    if (dp && (rc = comm_min_max_mean(comm, &peak, 1, &res->sgemm_peak_min,
                                      &res->sgemm_peak_max, &res->sgemm_peak_gflops)) < 0)
        return rc;
    blas_set_threads(o->threads);
    res->blas_core_ranks = 1;
    if (dp && (rc = count_same_kernels(comm, &res->blas_core_ranks)) < 0)
        return rc;

    if ((rc = model_init(&m, &o->model, B, o->src_len, o->tgt_len)) < 0)
        goto fail;
    model_init_params(&m, o->seed, INIT_UNIFORM, 0.1);
    optim_config oc = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    times = calloc((size_t)o->steps * T_COLS, sizeof(double));
    src = malloc((size_t)B * o->src_len * sizeof(int));
    tgt = malloc((size_t)B * o->tgt_len * sizeof(int));
    if (!times || !src || !tgt) {
        rc = s2s_fail(S2S_ENOMEM, "bench: cannot allocate buffers");
        goto fail;
    }
    if ((rc = optimizer_init(&opt, &oc, m.n_params)) < 0 ||
        (rc = batch_init(&bt, B, o->src_len, o->tgt_len)) < 0 ||
        (rc = fill_random_batch(&bt, o, B, rank, src, tgt)) < 0)
        goto fail;
    if (dp) {
        if ((rc = comm_bcast_params(comm, m.params, m.n_params)) < 0 ||
            (rc = comm_grads_init(&cg, comm, m.grads, m.n_params,
                                  (size_t)(o->bucket_mb * 1048576.0), o->grad_comm)) < 0)
            goto fail;
        m.grad_ready = comm_grads_ready_cb;
        m.grad_ready_ctx = &cg;
        res->buckets = (size_t)cg.n_buckets;
    }

    double *col[T_COLS];
    for (int c = 0; c < T_COLS; c++)
        col[c] = times + (size_t)c * o->steps;
    for (int step = -o->warmup; step < o->steps; step++) {
        output_stats st;
        double t0 = wall_seconds();
        model_zero_grads(&m);
        if (dp)
            comm_grads_begin(&cg);
        train_context ctx = {.seed = o->seed, .step = (uint32_t)(step + o->warmup)};
        if ((rc = model_forward_backward(&m, &bt, &ctx, &st)) < 0)
            goto fail;
        double t1 = wall_seconds(), t1w = t1;
        if (dp) {
            if ((rc = comm_grads_finish(&cg)) < 0)
                goto fail;
            t1w = wall_seconds();
        }
        /* The mean over every target token of the global batch (all sentences have one
         * length, so this rank's count scales to the global one). */
        double tokens = (double)st.tokens * global_B / B;
        scale_buffer(m.grads, m.n_params, (real)(1.0 / tokens));
        clip_grad_norm(m.grads, m.n_params, 5.0);
        /* A tiny learning rate keeps the parameters (and so the work) essentially fixed. */
        optimizer_step(&opt, m.params, m.grads, 1e-6);
        double t2 = wall_seconds();
        /* Outside the timed step: how long the slowest rank computed, so that this rank's wait
         * can be split into imbalance and communication. */
        double fb = t1 - t0, fb_max = fb;
        if (dp && MPI_Allreduce(&fb, &fb_max, 1, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS) {
            rc = s2s_fail(S2S_EMPI, "bench: MPI_Allreduce of the compute times failed");
            goto fail;
        }
        if (step >= 0) {
            col[T_STEP][step] = (t2 - t0) * 1e3;
            col[T_FB][step] = fb * 1e3;
            col[T_OPT][step] = (t2 - t1w) * 1e3;
            col[T_FWD][step] = m.forward_seconds * 1e3;
            col[T_WAIT][step] = (t1w - t1) * 1e3;
            col[T_IMB][step] = (fb_max - fb) * 1e3;
            col[T_WIN][step] = dp && cg.first_start_s > 0 ? (t1 - cg.first_start_s) * 1e3 : 0;
        }
        if (out)
            fprintf(out, "%s step %3d  %.1f ms  loss %.4f\n", step < 0 ? "warmup" : "bench ",
                    step, (t2 - t0) * 1e3, st.loss / (double)st.tokens);
    }
    double med[T_COLS];
    res->step_ms = med[T_STEP] = median(col[T_STEP], o->steps); /* sorts: min first, max last */
    res->step_ms_min = col[T_STEP][0];
    res->step_ms_max = col[T_STEP][o->steps - 1];
    for (int c = T_FB; c < T_COLS; c++)
        med[c] = median(col[c], o->steps);
    res->optimizer_ms = med[T_OPT];
    res->ranks = ranks;
    res->local_batch = B;
    if (dp) {
        /* Per-rank medians summarized over the ranks (every rank takes part). */
        double lo[T_COLS], hi[T_COLS], mean[T_COLS], a_s, a_max;
        if ((rc = comm_min_max_mean(comm, med, T_COLS, lo, hi, mean)) < 0 ||
            (rc = blocking_allreduce_s(&cg, &a_s)) < 0)
            goto fail;
        if (MPI_Allreduce(&a_s, &a_max, 1, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS) {
            rc = s2s_fail(S2S_EMPI, "bench: MPI_Allreduce of the allreduce times failed");
            goto fail;
        }
        res->forward_backward_ms = mean[T_FB];
        res->forward_ms = mean[T_FWD];
        res->wait_ms[0] = lo[T_WAIT];
        res->wait_ms[1] = hi[T_WAIT];
        res->wait_ms[2] = mean[T_WAIT];
        res->imbalance_ms = mean[T_IMB];
        res->overlap_window_ms = mean[T_WIN];
        res->allreduce_ms = a_max * 1e3;
        double exposed = mean[T_WAIT] - mean[T_IMB];
        res->exposed_comm_ms = exposed > 0 ? exposed : 0;
        double hidden = res->allreduce_ms > 0 ? 1 - res->exposed_comm_ms / res->allreduce_ms : 0;
        res->hidden_share = hidden < 0 ? 0 : hidden > 1 ? 1 : hidden;
    } else {
        res->forward_backward_ms = med[T_FB];
        res->forward_ms = med[T_FWD];
    }
    res->backward_ms = res->forward_backward_ms - res->forward_ms;
    res->params = param_table_count(&m.table);
    res->model_gflop_per_step =
        3.0 * model_forward_flops(&o->model, global_B, o->src_len, o->tgt_len) / 1e9;
    res->achieved_gflops = res->model_gflop_per_step / (res->step_ms / 1e3);
    res->tokens_per_s = (double)global_B * (o->src_len + o->tgt_len) / (res->step_ms / 1e3);
    res->mfu = res->sgemm_peak_gflops > 0
                   ? res->achieved_gflops / (res->sgemm_peak_gflops * o->threads * ranks)
                   : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->peak_rss_mb = (double)ru.ru_maxrss / 1024.0;
    rc = 0;
fail:
    m.grad_ready = NULL;
    comm_grads_free(&cg);
    free(times);
    free(src);
    free(tgt);
    batch_free(&bt);
    optimizer_free(&opt);
    model_free(&m);
    return rc;
}

int bench_print_json(FILE *f, const bench_options *o, const bench_result *r)
{
    struct utsname un;
    char host[256] = "unknown";
    if (uname(&un) == 0)
        snprintf(host, sizeof host, "%s %s", un.nodename, un.machine);
    const model_config *c = &o->model;
    int ranks = r->ranks > 0 ? r->ranks : 1;
    json_writer j;
    json_writer_init(&j, f, JSON_COMPACT);
    json_open_object(&j);
    json_kstr(&j, "cell", cell_name(c->cell));
    json_kint(&j, "layers", c->layers);
    json_kbool(&j, "bidir", c->bidir);
    json_kint(&j, "emb", c->emb);
    json_kint(&j, "hidden", c->hidden);
    json_kint(&j, "src_vocab", c->src_vocab);
    json_kint(&j, "tgt_vocab", c->tgt_vocab);
    json_kint(&j, "batch", o->batch);
    json_kint(&j, "src_len", o->src_len);
    json_kint(&j, "tgt_len", o->tgt_len);
    json_kint(&j, "threads", o->threads);
    json_kint(&j, "ranks", ranks);
    json_kint(&j, "steps", o->steps);
    json_kint(&j, "params", (long long)r->params);
    json_kstr(&j, "host", host);
    json_kint(&j, "cores", sysconf(_SC_NPROCESSORS_ONLN));
    /* Timings and rates keep the decimals they always had: enough for their resolution. */
    json_kfixed(&j, "tokens_per_s", r->tokens_per_s, 1);
    json_kfixed(&j, "step_ms", r->step_ms, 3);
    json_kfixed(&j, "step_ms_min", r->step_ms_min, 3);
    json_kfixed(&j, "step_ms_max", r->step_ms_max, 3);
    json_kfixed(&j, "forward_backward_ms", r->forward_backward_ms, 3);
    json_kfixed(&j, "optimizer_ms", r->optimizer_ms, 3);
    json_kfixed(&j, "model_gflop_per_step", r->model_gflop_per_step, 4);
    json_kfixed(&j, "achieved_gflops", r->achieved_gflops, 2);
    json_kfixed(&j, "sgemm_peak_gflops", r->sgemm_peak_gflops, 2);
    json_kfixed(&j, "mfu", r->mfu, 4);
    json_kfixed(&j, "peak_rss_mb", r->peak_rss_mb, 1);
    json_kbool(&j, "strong", o->strong);
    json_kint(&j, "local_batch", r->local_batch);
    json_kint(&j, "global_batch", o->strong ? o->batch : o->batch * ranks);
    json_kfigure(&j, "bucket_mb", o->bucket_mb);
    json_kint(&j, "buckets", (long long)r->buckets);
    json_kstr(&j, "grad_comm", choice_name(comm_grad_names, o->grad_comm));
    json_kfixed(&j, "tokens_per_s_per_rank", r->tokens_per_s / ranks, 1);
    json_kfixed(&j, "compute_ms", r->forward_backward_ms, 3);
    json_kfixed(&j, "forward_ms", r->forward_ms, 3);
    json_kfixed(&j, "backward_ms", r->backward_ms, 3);
    json_kfixed(&j, "wait_ms_min", r->wait_ms[0], 3);
    json_kfixed(&j, "wait_ms_max", r->wait_ms[1], 3);
    json_kfixed(&j, "wait_ms_mean", r->wait_ms[2], 3);
    json_kfixed(&j, "imbalance_ms", r->imbalance_ms, 3);
    json_kfixed(&j, "exposed_comm_ms", r->exposed_comm_ms, 3);
    json_kfixed(&j, "allreduce_ms", r->allreduce_ms, 3);
    json_kfixed(&j, "overlap_window_ms", r->overlap_window_ms, 3);
    json_kfixed(&j, "hidden_share", r->hidden_share, 3);
    json_kfixed(&j, "sgemm_peak_min", r->sgemm_peak_min, 2);
    json_kfixed(&j, "sgemm_peak_max", r->sgemm_peak_max, 2);
    const blas_core_state *bc = blas_core_get();
    json_kstr(&j, "blas_core", bc->kernel);
    json_kstr(&j, "blas_core_origin", bc->origin);
    json_kstr(&j, "blas_core_best", bc->best);
    json_kint(&j, "blas_core_ranks", r->blas_core_ranks > 0 ? r->blas_core_ranks : 1);
    json_kstr(&j, "openblas", bc->config);
    json_close_object(&j);
    return json_writer_end(&j);
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
