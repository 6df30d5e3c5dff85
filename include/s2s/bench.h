/* bench.h - the training-step benchmark behind `s2s bench`.
 *
 * Times full training steps (forward, backward through time, clipping, optimizer) on random
 * tokens with every sentence at full length, and relates them to this machine's measured
 * cblas_sgemm peak: mfu = (model GEMM FLOPs per step / step time) / (single-thread sgemm peak x
 * threads). FLOPs are counted analytically, 3x the forward GEMMs (docs/performance.md).
 *
 * Under MPI (mpirun -np R s2s bench) every rank runs the same steps on its own random tokens and
 * the gradients are summed over the ranks with the bucketed allreduce of include/s2s/comm.h,
 * started during backward; the result then also says how long each rank waited for it, how
 * much of its cost backward hid, and the MFU against R x the sgemm peak (docs/scaling.md). */
#ifndef S2S_BENCH_H
#define S2S_BENCH_H

#include <stdbool.h>
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
    /* data-parallel runs (more than one MPI rank) */
    double bucket_mb; /* gradient allreduce bucket size in MiB */
    int grad_comm;    /* comm_grad_mode: the gradients on the wire (include/s2s/comm.h) */
    bool strong;      /* batch is the global batch, split over the ranks (strong scaling);
                       * else every rank runs `batch` sentences (weak scaling) */
} bench_options;

/* Times are medians over the timed steps; under MPI, of rank 0 unless they say otherwise, and
 * the per-rank quantities are summarized as min/max/mean over the ranks. */
typedef struct {
    double step_ms, step_ms_min, step_ms_max; /* median, min, max over timed steps */
    double forward_backward_ms, optimizer_ms; /* medians of the two phases (forward_backward:
                                               * compute, mean over ranks) */
    double forward_ms, backward_ms;           /* the two parts of forward_backward_ms */
    double tokens_per_s;                      /* source + target tokens per second, all ranks */
    int ranks, local_batch;                   /* local_batch: rank 0's sentences per step */
    /* communication (zero with one rank) */
    double wait_ms[3];         /* time blocked in comm_grads_finish: min, max, mean over ranks */
    double imbalance_ms;       /* part of the wait spent on slower ranks' compute: median of
                                * (slowest rank's compute - own compute), mean over ranks */
    double exposed_comm_ms;    /* mean wait - imbalance (>= 0): allreduce time not hidden */
    double allreduce_ms;       /* the same allreduce run blocking after backward, all ranks at
                                * once, no compute: its full cost (median of 5, slowest rank) */
    double overlap_window_ms;  /* first bucket started -> end of backward (mean over ranks) */
    double hidden_share;       /* 1 - exposed_comm_ms / allreduce_ms, in [0, 1] */
    size_t buckets;
    double model_gflop_per_step;
    double achieved_gflops;
    double sgemm_peak_gflops; /* single thread; under MPI the mean of the ranks' peaks, all
                               * measured at the same time */
    double sgemm_peak_min, sgemm_peak_max;
    double mfu;
    double peak_rss_mb;
    size_t params;
    int blas_core_ranks;      /* ranks running rank 0's OpenBLAS kernels (each chose at start-up) */
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

/* The result as one line of JSON (no trailing newline), the benchmark's machine-readable output;
 * with the OpenBLAS kernels of rank 0 and where they come from (include/s2s/blas_core.h).
 * S2S_EINVAL if the JSON writer was misused (include/s2s/json.h). */
int bench_print_json(FILE *f, const bench_options *o, const bench_result *res);

/* `s2s bench`: argv without the program and command names; MPI is initialized. The report goes
 * to stdout, its last line JSON (src/tools/bench_cli.c holds the option table and presets). */
int bench_command(int argc, char **argv);

#endif
