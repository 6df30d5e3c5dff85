/* train_cli.c - the `s2s train` command: its option table, the checks the table cannot state,
 * and the exit status of a stopped run. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "s2s/cli.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/model_options.h"
#include "s2s/probe.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/train.h"

/* OPT_CHOICE stores an int index; these enums are stored through it. */
_Static_assert(sizeof(cell_type) == sizeof(int), "cell_type must be int-sized");
_Static_assert(sizeof(optim_kind) == sizeof(int), "optim_kind must be int-sized");
_Static_assert(sizeof(init_kind) == sizeof(int), "init_kind must be int-sized");
_Static_assert(sizeof(lr_kind) == sizeof(int), "lr_kind must be int-sized");
_Static_assert(sizeof(attn_kind) == sizeof(int), "attn_kind must be int-sized");
_Static_assert(sizeof(tf_schedule) == sizeof(int), "tf_schedule must be int-sized");
_Static_assert(sizeof(valid_metric) == sizeof(int), "valid_metric must be int-sized");
_Static_assert(sizeof(ckpt_error_policy) == sizeof(int), "ckpt_error_policy must be int-sized");
_Static_assert(sizeof(progress_mode) == sizeof(int), "progress_mode must be int-sized");


#define EMB_DEFAULT "256"
#define HIDDEN_DEFAULT "256"
#define T train_options
static const opt_spec train_specs[] = {
    MODEL_OPTIONS(T, model),
    {"data", OPT_STRING, offsetof(T, data), "", "the dataset (HDF5, made by s2s prep)", NULL, 0,
     0},
    {"run-dir", OPT_STRING, offsetof(T, run_dir), "",
     "directory for checkpoints and metrics.jsonl (required unless --no-save)", NULL, 0, 0},
    {"save", OPT_BOOL, offsetof(T, save), "true",
     "keep the run: --no-save trains without --run-dir, writing no checkpoint or record", NULL,
     0, 0},
    {"resume", OPT_STRING, offsetof(T, resume), "",
     "continue from this checkpoint, or from the newest valid one in --run-dir (auto)", NULL, 0,
     0},
    {"init-from", OPT_STRING, offsetof(T, init_from), "",
     "start a new run from this checkpoint's or model file's parameters (fine-tuning; not again "
     "once --run-dir has a checkpoint)", NULL, 0, 0},
    {"reset-optimizer", OPT_BOOL, offsetof(T, reset_optimizer), "false",
     "with --init-from: fresh optimizer moments instead of the checkpoint's", NULL, 0, 0},
    {"reset-schedule", OPT_BOOL, offsetof(T, reset_schedule), "false",
     "with --init-from: steps and learning-rate schedule from 0 instead of from the "
     "checkpoint's step", NULL, 0, 0},
    {"batch", OPT_INT, offsetof(T, batch), "64",
     "sentences per global batch (all ranks together) at most", NULL, 1, 1 << 24},
    {"batch-tokens", OPT_LONG, offsetof(T, batch_tokens), "0",
     "padded tokens per global batch at most (0: no limit)", NULL, 0, 1e12},
    {"min-sents", OPT_INT, offsetof(T, min_sents), "16",
     "sentences per global batch at least: the most ranks the run can use", NULL, 1, 1 << 24},
    {"bucket-window", OPT_INT, offsetof(T, bucket_window), "100",
     "length bucketing window, in global batches (1: none)", NULL, 1, 1 << 20},
    {"accum", OPT_INT, offsetof(T, accum), "1",
     "global batches (micro-batches) summed per optimizer step", NULL, 1, 1 << 16},
    {"steps", OPT_LONG, offsetof(T, steps), "8000", "optimizer steps of the whole run", NULL, 0,
     1e12},
    {"optim", OPT_CHOICE, offsetof(T, optim), "adam", "optimizer", optim_names, 0, 0},
    {"lr", OPT_DOUBLE, offsetof(T, lr), "0.002", "learning rate (peak, after warmup)", NULL, 0,
     1e3},
    {"lr-schedule", OPT_CHOICE, offsetof(T, lr_schedule), "linear",
     "constant; linear decay to 0; inverse-sqrt after warmup; step decay; plateau halving",
     lr_kind_names, 0, 0},
    {"warmup", OPT_LONG, offsetof(T, warmup), "200",
     "steps of linear learning-rate warmup (any schedule)", NULL, 0, 1e12},
    {"decay-every", OPT_LONG, offsetof(T, decay_every), "1000",
     "step schedule: multiply the rate by --decay-factor every N steps", NULL, 1, 1e12},
    {"decay-factor", OPT_DOUBLE, offsetof(T, decay_factor), "0.5",
     "factor of the step and plateau schedules", NULL, 0, 1},
    {"patience", OPT_INT, offsetof(T, patience), "2",
     "plateau schedule: validations without improvement before the rate drops", NULL, 1,
     1 << 20},
    {"min-lr", OPT_DOUBLE, offsetof(T, min_lr), "0", "no schedule goes below this rate", NULL,
     0, 1e3},
    {"momentum", OPT_DOUBLE, offsetof(T, momentum), "0.9", "SGD momentum (0: none)", NULL, 0,
     1},
    {"beta1", OPT_DOUBLE, offsetof(T, beta1), "0.9", "Adam beta1", NULL, 0, 1},
    {"beta2", OPT_DOUBLE, offsetof(T, beta2), "0.999", "Adam beta2", NULL, 0, 1},
    {"eps", OPT_DOUBLE, offsetof(T, eps), "1e-8", "Adam epsilon", NULL, 0, 1},
    {"weight-decay", OPT_DOUBLE, offsetof(T, weight_decay), "0",
     "L2 penalty (SGD, Adam) or decoupled decay (AdamW)", NULL, 0, 10},
    {"clip", OPT_DOUBLE, offsetof(T, clip), "5",
     "clip gradients to this global L2 norm (0: off)", NULL, 0, 1e9},
    {"max-skips", OPT_INT, offsetof(T, max_skips), "5",
     "stop after this many steps in a row with non-finite gradients", NULL, 1, 1 << 20},
    {"ema", OPT_DOUBLE, offsetof(T, ema), "0",
     "decay of a moving average of the weights that validation, best.h5 and decoding use (0: "
     "none; e.g. 0.999)", NULL, 0, 1},
    {"label-smoothing", OPT_DOUBLE, offsetof(T, label_smoothing), "0.1",
     "label smoothing of the training loss", NULL, 0, 1},
    {"teacher-forcing", OPT_DOUBLE, offsetof(T, teacher_forcing), "1",
     "share of gold previous tokens the decoder reads (below 1: scheduled sampling)", NULL, 0,
     1},
    {"tf-schedule", OPT_CHOICE, offsetof(T, tf_schedule), "constant",
     "teacher-forcing ratio over the run: constant, linear to --tf-min, inverse sigmoid",
     tf_schedule_names, 0, 0},
    {"tf-min", OPT_DOUBLE, offsetof(T, tf_min), "0",
     "teacher-forcing ratio at the last step of the linear schedule", NULL, 0, 1},
    {"tf-k", OPT_DOUBLE, offsetof(T, tf_k), "500",
     "k of the inverse sigmoid schedule k / (k + exp(step / k))", NULL, 1, 1e12},
    {"init", OPT_CHOICE, offsetof(T, init), "uniform", "parameter initialization", init_names, 0, 0},
    {"init-scale", OPT_DOUBLE, offsetof(T, init_scale), "0.1",
     "uniform initialization range (-a, a)", NULL, 0, 10},
    {"seed", OPT_UINT, offsetof(T, seed), "1",
     "seed of initialization, batch order, dropout and sampling", NULL, 0, 0},
    {"log-every", OPT_INT, offsetof(T, log_every), "100",
     "progress line and metrics record every N steps (0: never)", NULL, 0, 1 << 30},
    {"valid-every", OPT_INT, offsetof(T, valid_every), "1000",
     "validation loss every N steps (0: only at the end)", NULL, 0, 1 << 30},
    {"valid-decode", OPT_BOOL, offsetof(T, valid_decode), "true",
     "each validation also decodes greedily: BLEU (on the text and on the tokens) and exact "
     "match", NULL, 0, 0},
    {"best-metric", OPT_CHOICE, offsetof(T, best_metric), "loss",
     "validation figure that picks best.h5 and drives --early-stop", valid_metric_names, 0, 0},
    {"early-stop", OPT_INT, offsetof(T, early_stop), "0",
     "stop after N validations without improvement (0: never)", NULL, 0, 1 << 20},
    {"samples", OPT_INT, offsetof(T, samples), "5",
     "validation translations printed at the end", NULL, 0, 1 << 20},
    {"ckpt-every", OPT_INT, offsetof(T, ckpt_every), "1000",
     "checkpoint every N steps (0: only by time, on a stop and at the end)", NULL, 0, 1 << 30},
    {"ckpt-minutes", OPT_DOUBLE, offsetof(T, ckpt_minutes), "0",
     "also checkpoint when this many minutes have passed since the last (0: off)", NULL, 0,
     1e9},
    {"keep", OPT_INT, offsetof(T, keep), "3", "checkpoints kept (best.h5 besides)", NULL, 1,
     1 << 20},
    {"ckpt-error", OPT_CHOICE, offsetof(T, ckpt_error), "stop",
     "after a failed checkpoint write: stop, or continue training", ckpt_error_names, 0, 0},
    {"bucket-mb", OPT_DOUBLE, offsetof(T, bucket_mb), STR(COMM_BUCKET_MB_DEFAULT),
     "gradient allreduce bucket size in MiB", NULL, 0.001, 1e6},
    {"grad-comm", OPT_CHOICE, offsetof(T, grad_comm), "exact",
     "gradients on the wire: exact float32, or bf16 with error feedback (half the bytes)",
     comm_grad_names, 0, 0},
    {"threads", OPT_INT, offsetof(T, threads), "1", "OpenBLAS threads per rank", NULL, 1, 1024},
    {"oversubscribe", OPT_BOOL, offsetof(T, oversubscribe), "false",
     "allow ranks x threads above the cores of a node", NULL, 0, 0},
    PROGRESS_OPTION(T),
    PROBE_TIMEOUT_OPTION(T),
    LARGE_VOCAB_OPTION(T),
    BLAS_CORE_OPTION(T),
};
#undef T
#undef EMB_DEFAULT
#undef HIDDEN_DEFAULT

int train_command(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s train --data DATA.h5 --run-dir DIR|--no-save [options]\n\n"
        "Trains an encoder-decoder on the dataset's training split with synchronous data "
        "parallelism over the MPI ranks, validates, checkpoints into the run directory and "
        "resumes (docs/training.md). Exit status " STR(TRAIN_EXIT_STOPPED) ": stopped by "
        "SIGTERM, SIGINT or SIGUSR1 (after writing the checkpoint of the current step, or before "
        "training began: nothing to save); run the same command with --resume auto to go "
        "on.\n\noptions:\n";
    train_options o;
    bool help;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rc = cli_parse_command(train_specs, CLI_N_SPECS(train_specs), &o, argc, argv, NULL,
                               usage_text, &help);
    if (rc < 0 || help)
        return rc;
    /* opt_spec ranges are closed, and a rate of 0 trains nothing: the open bound is checked
     * here, where the message can name the option rather than train_run's summary of all. */
    if (!(o.lr > 0))
        return s2s_fail(S2S_EUSAGE, "--lr: %g is outside the allowed range (0, %g]", o.lr,
                        cli_spec_max(train_specs, CLI_N_SPECS(train_specs), "lr"));
    /* A run without a directory throws the model away: only on request. */
    if (o.save && !o.run_dir[0])
        return s2s_fail(S2S_EUSAGE, "no --run-dir: the trained model would be thrown away; give "
                                    "--run-dir DIR, or --no-save to train without keeping it");
    if (!o.save && o.run_dir[0])
        return s2s_fail(S2S_EUSAGE, "--no-save and --run-dir %s contradict each other", o.run_dir);
    model_resolve_input_feed(&o.model, o.input_feed_mode);
    char *config = cli_options_text(train_specs, CLI_N_SPECS(train_specs), &o, "train");
    o.config_text = config;
    probe_set_timeout(o.probe_timeout);
    ds_set_limits(&(ds_limits){.large_vocab = o.large_vocab});
    stop_install();
    train_result r;
    rc = train_run(&o, MPI_COMM_WORLD, rank == 0 ? stdout : NULL, &r);
    free(config);
    if (rc == S2S_ESTOPPED) {
        /* Stopped before training began, on every rank together: nothing to save, not an
         * error; rank 0 prints the line that says so with the other stop notes (stdout). */
        if (rank == 0) {
            printf("%s\n", s2s_errmsg(rc));
            fflush(stdout);
        }
        s2s_clear_error();
        return TRAIN_EXIT_STOPPED;
    }
    if (rc < 0)
        return rc;
    return r.stopped ? TRAIN_EXIT_STOPPED : 0;
}
