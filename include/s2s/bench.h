/* bench.h - the training-step benchmark behind `s2s bench`.
 *
 * Times full training steps (forward, backward through time, clipping, optimizer) on random
 * tokens with every sentence at full length, and relates them to this machine's measured
 * cblas_sgemm peak: mfu = (model GEMM FLOPs per step / step time) / (single-thread sgemm peak x
 * threads). FLOPs are counted analytically, 3x the forward GEMMs (docs/performance.md). */
#ifndef S2S_BENCH_H
#define S2S_BENCH_H

#include <stdio.h>

#include "s2s/batcher.h"
#include "s2s/model.h"
#include "s2s/options.h"

typedef struct {
    model_config model;
    int batch, src_len, tgt_len;
    int threads;
    int steps, warmup;
    int peak_size; /* n of the n x n x n sgemm that measures the peak */
    unsigned seed;
    /* the data benchmark (`s2s bench --data FILE`) */
    char data[OPT_STRING_MAX]; /* a dataset: time reading one epoch instead of training steps */
    long batch_tokens;         /* token limit of a global batch (0: none) */
    int data_ranks;            /* read rank 0's share of batches planned for this many ranks */
} bench_options;

typedef struct {
    double step_ms, step_ms_min, step_ms_max; /* median, min, max over timed steps */
    double forward_backward_ms, optimizer_ms; /* medians of the two phases */
    double tokens_per_s;                      /* source + target tokens per second */
    double model_gflop_per_step;
    double achieved_gflops;
    double sgemm_peak_gflops; /* single thread */
    double mfu;
    double peak_rss_mb;
    size_t params;
} bench_result;

/* Single-thread cblas_sgemm GFLOP/s on an n x n x n product: the best of several timed runs
 * after a warm-up. Leaves OpenBLAS at one thread. */
double bench_sgemm_peak(int n);

int bench_run(const bench_options *o, FILE *log, bench_result *res);

typedef struct {
    long steps, sentences, tokens; /* read by rank 0 over one epoch; tokens: source + target */
    double open_seconds;           /* opening and validating the file, planning the epoch */
    double seconds;                /* reading the epoch into padded batches */
    double sentences_per_s, tokens_per_s;
    double peak_rss_mb;
} bench_data_result;

/* Reads one epoch of the training split of o->data into padded batches as rank 0 of
 * o->data_ranks would (batches of o->batch sentences and o->batch_tokens tokens). */
int bench_data(const bench_options *o, FILE *log, bench_data_result *res);

/* The result as one line of JSON (no trailing newline), the benchmark's machine-readable output. */
void bench_print_json(FILE *f, const bench_options *o, const bench_result *res);

#endif
