/* bench_cli.c - the `s2s bench` command: its option table and presets, and the report lines
 * (the last one JSON). */
#include <stddef.h>
#include <stdio.h>

#include <mpi.h>

#include "s2s/bench.h"
#include "s2s/cli.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/json.h"
#include "s2s/model_options.h"

#define EMB_DEFAULT "256"
#define HIDDEN_DEFAULT "512"
static const char *const PRESETS[] = {"none",       "plain-512", "attn-512",
                                      "lstm-2x512", "small-256", NULL};
typedef struct {
    bench_options b;
    int preset; /* index into PRESETS; its values are applied before the file and arguments */
    int input_feed_mode;
    bool large_vocab; /* --large-vocab, with --data: ds_set_limits */
    int blas_core;    /* acted on at start-up */
} bench_cli;
static const opt_spec bench_specs[] = {
    {"preset", OPT_CHOICE, offsetof(bench_cli, preset), "none",
     "a benchmark configuration of docs/performance.md (explicit options override it)", PRESETS, 0,
     0},
    MODEL_OPTIONS(bench_cli, b.model),
    {"src-vocab", OPT_INT, offsetof(bench_cli, b.model.src_vocab), "8000", "source vocabulary size",
     NULL, 5, 1 << 24},
    {"tgt-vocab", OPT_INT, offsetof(bench_cli, b.model.tgt_vocab), "8000", "target vocabulary size",
     NULL, 5, 1 << 24},
    {"batch", OPT_INT, offsetof(bench_cli, b.batch), "64", "sentences per step", NULL, 1, 1 << 20},
    {"src-len", OPT_INT, offsetof(bench_cli, b.src_len), "24", "source length (every sentence)",
     NULL, 1, 1 << 16},
    {"tgt-len", OPT_INT, offsetof(bench_cli, b.tgt_len), "24",
     "decoder steps (every sentence; words + </s>)", NULL, 2, 1 << 16},
    {"threads", OPT_INT, offsetof(bench_cli, b.threads), "1", "OpenBLAS threads", NULL, 1, 1024},
    {"steps", OPT_INT, offsetof(bench_cli, b.steps), "10", "timed steps", NULL, 1, 1 << 20},
    {"warmup", OPT_INT, offsetof(bench_cli, b.warmup), "2", "untimed steps first", NULL, 0,
     1 << 20},
    {"peak-size", OPT_INT, offsetof(bench_cli, b.peak_size), "2048",
     "n of the n x n x n sgemm that measures the peak", NULL, 64, 16384},
    {"seed", OPT_UINT, offsetof(bench_cli, b.seed), "1", "seed of parameters and tokens", NULL, 0,
     0},
    {"data", OPT_STRING, offsetof(bench_cli, b.data), "",
     "instead of training steps, time reading one epoch of this dataset's training split", NULL, 0,
     0},
    {"batch-tokens", OPT_LONG, offsetof(bench_cli, b.batch_tokens), "0",
     "with --data: padded tokens per global batch at most (0: no limit)", NULL, 0, 1e12},
    {"data-ranks", OPT_INT, offsetof(bench_cli, b.data_ranks), "1",
     "with --data: read rank 0's share of batches for this many ranks", NULL, 1, 1 << 20},
    LARGE_VOCAB_OPTION(bench_cli),
    {"bucket-mb", OPT_DOUBLE, offsetof(bench_cli, b.bucket_mb), STR(COMM_BUCKET_MB_DEFAULT),
     "under mpirun: gradient allreduce bucket size in MiB", NULL, 0.001, 1e6},
    {"grad-comm", OPT_CHOICE, offsetof(bench_cli, b.grad_comm), "exact",
     "under mpirun: gradients on the wire: exact float32, or bf16 with error feedback",
     comm_grad_names, 0, 0},
    {"strong", OPT_BOOL, offsetof(bench_cli, b.strong), "false",
     "under mpirun: --batch is the global batch, split over the ranks (strong scaling); else "
     "every rank runs --batch sentences (weak scaling)",
     NULL, 0, 0},
    BLAS_CORE_OPTION(bench_cli),
};

/* The values each preset sets (docs/performance.md lists the configurations). */
static const char *const PRESET_PLAIN_512[] = {
    "cell=gru",  "layers=1",       "bidir=true",     "emb=256",  "hidden=512", "attn=none",
    "dropout=0", "src-vocab=8000", "tgt-vocab=8000", "batch=64", "src-len=24", "tgt-len=24",
    NULL};
static const char *const PRESET_ATTN_512[] = {
    "cell=gru",  "layers=1",       "bidir=true",     "emb=256",  "hidden=512", "attn=bahdanau",
    "dropout=0", "src-vocab=8000", "tgt-vocab=8000", "batch=64", "src-len=24", "tgt-len=24",
    NULL};
static const char *const PRESET_LSTM_2X512[] = {
    "cell=lstm",     "layers=2",  "bidir=true",     "emb=256",        "hidden=512", "attn=general",
    "input-feed=on", "dropout=0", "src-vocab=8000", "tgt-vocab=8000", "batch=64",   "src-len=24",
    "tgt-len=24",    NULL};
static const char *const PRESET_SMALL_256[] = {
    "cell=gru",  "layers=1",       "bidir=true",     "emb=128",  "hidden=256", "attn=bahdanau",
    "dropout=0", "src-vocab=4000", "tgt-vocab=4000", "batch=32", "src-len=24", "tgt-len=24",
    NULL};
static const char *const *const PRESET_VALUES[] = {NULL, PRESET_PLAIN_512, PRESET_ATTN_512,
                                                   PRESET_LSTM_2X512, PRESET_SMALL_256};

int bench_command(int argc, char **argv)
{
    bench_cli c;
    bool help;
    /* The preset decides the base values, so it is found before the full parse. */
    const char *preset = opts_find_arg(argc, argv, "preset");
    const char *const *base = NULL;
    if (preset) {
        int rc = opts_set(&bench_specs[0], &c, preset, "--preset");
        if (rc < 0)
            return rc;
        base = PRESET_VALUES[c.preset];
    }
    int rc =
        cli_parse_command(bench_specs, CLI_N_SPECS(bench_specs), &c, argc, argv, base,
                          "usage: s2s bench [options]\n\nTimes full training steps (forward, "
                          "backward, clipping, Adam) on random tokens at full length; the last "
                          "line is JSON.\n\noptions:\n",
                          &help);
    if (rc < 0 || help)
        return rc;
    if (c.b.data[0]) {
        ds_set_limits(&(ds_limits){.large_vocab = c.large_vocab});
        bench_data_result d;
        if ((rc = bench_data(&c.b, stderr, &d)) < 0)
            return rc;
        printf("read %ld sentence pairs (%ld tokens) in %ld steps: %.3f s, %.0f pairs/s, %.0f "
               "tokens/s; opening and planning %.3f s; peak RSS %.1f MB\n",
               d.sentences, d.tokens, d.steps, d.seconds, d.sentences_per_s, d.tokens_per_s,
               d.open_seconds, d.peak_rss_mb);
        json_writer j;
        json_writer_init(&j, stdout, JSON_COMPACT);
        json_open_object(&j);
        json_kstr(&j, "data", c.b.data);
        json_kint(&j, "ranks", c.b.data_ranks);
        json_kint(&j, "steps", d.steps);
        json_kint(&j, "sentences", d.sentences);
        json_kint(&j, "tokens", d.tokens);
        json_kfixed(&j, "seconds", d.seconds, 4);
        json_kfixed(&j, "open_seconds", d.open_seconds, 4);
        json_kfixed(&j, "tokens_per_s", d.tokens_per_s, 1);
        json_kfixed(&j, "peak_rss_mb", d.peak_rss_mb, 1);
        json_close_object(&j);
        printf("\n");
        return json_writer_end(&j);
    }
    model_resolve_input_feed(&c.b.model, c.input_feed_mode);
    bench_result r;
    if ((rc = bench_run(&c.b, stderr, &r)) < 0)
        return rc;
    int rank = 0, mpi_on = 0; /* under mpirun every rank runs the steps; rank 0 reports */
    MPI_Initialized(&mpi_on);
    if (mpi_on)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0)
        return 0;
    printf("%s: %.1f tokens/s, %.2f ms/step (min %.2f, max %.2f), %.3f GFLOP/step, "
           "%.1f GFLOP/s, sgemm peak %.1f GFLOP/s x %d threads on OpenBLAS's %s kernels, MFU "
           "%.3f, peak RSS %.0f MB\n",
           PRESETS[c.preset], r.tokens_per_s, r.step_ms, r.step_ms_min, r.step_ms_max,
           r.model_gflop_per_step, r.achieved_gflops, r.sgemm_peak_gflops, c.b.threads,
           blas_core_get()->kernel, r.mfu, r.peak_rss_mb);
    if (r.ranks > 1)
        printf("%d ranks (%s scaling, %d sentences per rank, %zu buckets of %g MiB, %s "
               "gradients): compute "
               "%.2f ms (forward %.2f, backward %.2f), waiting for the allreduce %.2f ms "
               "(min %.2f, max %.2f over ranks) = imbalance %.2f + exposed communication "
               "%.2f; the allreduce alone takes %.2f ms, %.0f%% of it hidden behind backward "
               "(window %.2f ms); sgemm peak %.1f-%.1f GFLOP/s per rank\n",
               r.ranks, c.b.strong ? "strong" : "weak", r.local_batch, r.buckets, c.b.bucket_mb,
               choice_name(comm_grad_names, c.b.grad_comm), r.forward_backward_ms, r.forward_ms,
               r.backward_ms, r.wait_ms[2], r.wait_ms[0], r.wait_ms[1], r.imbalance_ms,
               r.exposed_comm_ms, r.allreduce_ms, 100 * r.hidden_share, r.overlap_window_ms,
               r.sgemm_peak_min, r.sgemm_peak_max);
    rc = bench_print_json(stdout, &c.b, &r);
    printf("\n");
    return rc;
}
