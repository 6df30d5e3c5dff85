/* main.c - the s2s command-line front end: picks the command, parses its options, runs it, and
 * is the one place that turns an error status into a message and an exit code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <mpi.h>

#include "s2s/bench.h"
#include "s2s/blas_core.h"
#include "s2s/comm.h"
#include "s2s/options.h"
#include "s2s/dataset.h"
#include "s2s/eval.h"
#include "s2s/info.h"
#include "s2s/bleu.h"
#include "s2s/gen.h"
#include "s2s/model_options.h"
#include "s2s/prep.h"
#include "s2s/probe.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/train.h"
#include "s2s/translate.h"

/* OPT_CHOICE stores an int index; these enums are stored through it. */
_Static_assert(sizeof(cell_type) == sizeof(int), "cell_type must be int-sized");
_Static_assert(sizeof(optim_kind) == sizeof(int), "optim_kind must be int-sized");
_Static_assert(sizeof(init_kind) == sizeof(int), "init_kind must be int-sized");
_Static_assert(sizeof(lr_kind) == sizeof(int), "lr_kind must be int-sized");
_Static_assert(sizeof(attn_kind) == sizeof(int), "attn_kind must be int-sized");
_Static_assert(sizeof(tf_schedule) == sizeof(int), "tf_schedule must be int-sized");
_Static_assert(sizeof(valid_metric) == sizeof(int), "valid_metric must be int-sized");

static const char *const OPTIMS[] = {"sgd", "adam", "adamw", NULL};
static const char *const CKPT_ERRORS[] = {"stop", "continue", NULL};
static const char *const PROGRESS_MODES[] = {"auto", "live", "plain", NULL};
static const char *const INITS[] = {"uniform", "xavier", NULL};
static const char *const DETOKS[] = {"auto", "space", "pieces", NULL};
static const char *const TF_SCHEDULES[] = {"constant", "linear", "inverse-sigmoid", NULL};

/* STR(MACRO): a numeric macro's value as a string, for defaults and help texts. */
#define STR_(x) #x
#define STR(x) STR_(x)

/* --blas-core as the command line gave it (an index into blas_core_choices; 0: auto): what
 * start-up acted on before any option was parsed, which the full parse must agree with. */
static int blas_core_startup_choice;

/* The --blas-core entry of the computing commands; T has an int field blas_core. */
#define BLAS_CORE_OPTION(T)                                                                        \
    {"blas-core", OPT_CHOICE, offsetof(T, blas_core), "auto",                                     \
     "OpenBLAS kernels: auto (the best this CPU runs), or these; chosen at start-up, so only on "  \
     "the command line", blas_core_choices, 0, 0}

/* --probe-timeout of the commands that read datasets, which other tools may write without an
 * integrity record (include/s2s/probe.h); T has a double field probe_timeout. */
#define PROBE_TIMEOUT_OPTION(T)                                                                    \
    {"probe-timeout", OPT_DOUBLE, offsetof(T, probe_timeout), "0",                               \
     "seconds a probe process may take to read a dataset without an s2s integrity record "       \
     "before it counts as damaged (0: 3 s plus 1 s per 32 MiB)", NULL, 0, 1e6}

/* --large-vocab of the commands that read datasets (ds_limits, include/s2s/dataset.h); T has a
 * bool field large_vocab, which main hands to ds_set_limits before the command runs. */
#define LARGE_VOCAB_OPTION(T)                                                                      \
    {"large-vocab", OPT_BOOL, offsetof(T, large_vocab), "false",                                  \
     "accept a dataset vocabulary of more than 65536 entries with more words than the dataset "   \
     "has tokens (a reused vocabulary file on a small corpus)", NULL, 0, 0}

#define EMB_DEFAULT "64"
#define HIDDEN_DEFAULT "256"
#define T train_options
static const opt_spec train_specs[] = {
    MODEL_OPTIONS(T, model),
    {"data", OPT_STRING, offsetof(T, data), "", "the dataset (HDF5, made by s2s prep)", NULL, 0,
     0},
    {"run-dir", OPT_STRING, offsetof(T, run_dir), "",
     "directory for checkpoints and metrics.jsonl (\"\": neither)", NULL, 0, 0},
    {"resume", OPT_STRING, offsetof(T, resume), "",
     "continue from this checkpoint, or from the newest valid one in --run-dir (auto)", NULL, 0,
     0},
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
    {"steps", OPT_LONG, offsetof(T, steps), "1200", "optimizer steps of the whole run", NULL, 0,
     1e12},
    {"optim", OPT_CHOICE, offsetof(T, optim), "adam", "optimizer", OPTIMS, 0, 0},
    {"lr", OPT_DOUBLE, offsetof(T, lr), "0.003", "learning rate (peak, after warmup)", NULL, 0,
     1e3},
    {"lr-schedule", OPT_CHOICE, offsetof(T, lr_schedule), "linear",
     "constant; linear decay to 0; inverse-sqrt after warmup; step decay; plateau halving",
     lr_kind_names, 0, 0},
    {"warmup", OPT_LONG, offsetof(T, warmup), "0",
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
    {"label-smoothing", OPT_DOUBLE, offsetof(T, label_smoothing), "0",
     "label smoothing of the training loss", NULL, 0, 1},
    {"teacher-forcing", OPT_DOUBLE, offsetof(T, teacher_forcing), "1",
     "share of gold previous tokens the decoder reads (below 1: scheduled sampling)", NULL, 0,
     1},
    {"tf-schedule", OPT_CHOICE, offsetof(T, tf_schedule), "constant",
     "teacher-forcing ratio over the run: constant, linear to --tf-min, inverse sigmoid",
     TF_SCHEDULES, 0, 0},
    {"tf-min", OPT_DOUBLE, offsetof(T, tf_min), "0",
     "teacher-forcing ratio at the last step of the linear schedule", NULL, 0, 1},
    {"tf-k", OPT_DOUBLE, offsetof(T, tf_k), "500",
     "k of the inverse sigmoid schedule k / (k + exp(step / k))", NULL, 1, 1e12},
    {"init", OPT_CHOICE, offsetof(T, init), "uniform", "parameter initialization", INITS, 0, 0},
    {"init-scale", OPT_DOUBLE, offsetof(T, init_scale), "0.1",
     "uniform initialization range (-a, a)", NULL, 0, 10},
    {"seed", OPT_UINT, offsetof(T, seed), "1",
     "seed of initialization, batch order, dropout and sampling", NULL, 0, 0},
    {"log-every", OPT_INT, offsetof(T, log_every), "100",
     "progress line and metrics record every N steps (0: never)", NULL, 0, 1 << 30},
    {"valid-every", OPT_INT, offsetof(T, valid_every), "500",
     "validation loss every N steps (0: only at the end)", NULL, 0, 1 << 30},
    {"valid-decode", OPT_BOOL, offsetof(T, valid_decode), "true",
     "each validation also decodes greedily: BLEU (on the tokens) and exact match", NULL, 0, 0},
    {"best-metric", OPT_CHOICE, offsetof(T, best_metric), "loss",
     "validation figure that picks best.h5 and drives --early-stop", valid_metric_names, 0, 0},
    {"early-stop", OPT_INT, offsetof(T, early_stop), "0",
     "stop after N validations without improvement (0: never)", NULL, 0, 1 << 20},
    {"samples", OPT_INT, offsetof(T, samples), "5",
     "validation translations printed at the end", NULL, 0, 1 << 20},
    {"ckpt-every", OPT_INT, offsetof(T, ckpt_every), "500",
     "checkpoint every N steps (0: only by time, on a stop and at the end)", NULL, 0, 1 << 30},
    {"ckpt-minutes", OPT_DOUBLE, offsetof(T, ckpt_minutes), "0",
     "also checkpoint when this many minutes have passed since the last (0: off)", NULL, 0,
     1e9},
    {"keep", OPT_INT, offsetof(T, keep), "3", "checkpoints kept (best.h5 besides)", NULL, 1,
     1 << 20},
    {"ckpt-error", OPT_CHOICE, offsetof(T, ckpt_error), "stop",
     "after a failed checkpoint write: stop, or continue training", CKPT_ERRORS, 0, 0},
    {"bucket-mb", OPT_DOUBLE, offsetof(T, bucket_mb), STR(COMM_BUCKET_MB_DEFAULT),
     "gradient allreduce bucket size in MiB", NULL, 0.001, 1e6},
    {"threads", OPT_INT, offsetof(T, threads), "1", "OpenBLAS threads per rank", NULL, 1, 1024},
    {"oversubscribe", OPT_BOOL, offsetof(T, oversubscribe), "false",
     "allow ranks x threads above the cores of a node", NULL, 0, 0},
    {"progress", OPT_CHOICE, offsetof(T, progress), "auto",
     "progress display: auto (a live bar on a terminal), live, plain lines", PROGRESS_MODES, 0,
     0},
    PROBE_TIMEOUT_OPTION(T),
    LARGE_VOCAB_OPTION(T),
    BLAS_CORE_OPTION(T),
};
#undef T
#undef EMB_DEFAULT
#undef HIDDEN_DEFAULT

#define EMB_DEFAULT "256"
#define HIDDEN_DEFAULT "512"
static const char *const PRESETS[] = {"none", "plain-512", "attn-512", "lstm-2x512", "small-256",
                                      NULL};
typedef struct {
    bench_options b;
    int preset; /* index into PRESETS; its values are applied before the file and arguments */
    int input_feed_mode;
    bool large_vocab; /* --large-vocab, with --data: ds_set_limits */
    int blas_core; /* acted on at start-up */
} bench_cli;
static const opt_spec bench_specs[] = {
    {"preset", OPT_CHOICE, offsetof(bench_cli, preset), "none",
     "a benchmark configuration of docs/performance.md (explicit options override it)", PRESETS,
     0, 0},
    MODEL_OPTIONS(bench_cli, b.model),
    {"src-vocab", OPT_INT, offsetof(bench_cli, b.model.src_vocab), "8000",
     "source vocabulary size", NULL, 5, 1 << 24},
    {"tgt-vocab", OPT_INT, offsetof(bench_cli, b.model.tgt_vocab), "8000",
     "target vocabulary size", NULL, 5, 1 << 24},
    {"batch", OPT_INT, offsetof(bench_cli, b.batch), "64", "sentences per step", NULL, 1,
     1 << 20},
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
    {"seed", OPT_UINT, offsetof(bench_cli, b.seed), "1", "seed of parameters and tokens", NULL,
     0, 0},
    {"data", OPT_STRING, offsetof(bench_cli, b.data), "",
     "instead of training steps, time reading one epoch of this dataset's training split", NULL,
     0, 0},
    {"batch-tokens", OPT_LONG, offsetof(bench_cli, b.batch_tokens), "0",
     "with --data: padded tokens per global batch at most (0: no limit)", NULL, 0, 1e12},
    {"data-ranks", OPT_INT, offsetof(bench_cli, b.data_ranks), "1",
     "with --data: read rank 0's share of batches for this many ranks", NULL, 1, 1 << 20},
    LARGE_VOCAB_OPTION(bench_cli),
    {"bucket-mb", OPT_DOUBLE, offsetof(bench_cli, b.bucket_mb), STR(COMM_BUCKET_MB_DEFAULT),
     "under mpirun: gradient allreduce bucket size in MiB", NULL, 0.001, 1e6},
    {"strong", OPT_BOOL, offsetof(bench_cli, b.strong), "false",
     "under mpirun: --batch is the global batch, split over the ranks (strong scaling); else "
     "every rank runs --batch sentences (weak scaling)", NULL, 0, 0},
    BLAS_CORE_OPTION(bench_cli),
};

static const char *const TOKENIZERS[] = {"whitespace", "chars", NULL};
static const char *const LONG_POLICIES[] = {"drop", "truncate", NULL};
#define PREP_INPUT(split, i)                                                                       \
    {split "-src", OPT_STRING, offsetof(prep_options, in[i].src), "",                              \
     split " source sentences, one per line", NULL, 0, 0},                                         \
    {split "-tgt", OPT_STRING, offsetof(prep_options, in[i].tgt), "",                              \
     split " target sentences, line by line parallel to the source", NULL, 0, 0},                  \
    {split "-tsv", OPT_STRING, offsetof(prep_options, in[i].tsv), "",                              \
     split " pairs as source<TAB>target lines (instead of the two files)", NULL, 0, 0}
static const opt_spec prep_specs[] = {
    PREP_INPUT("train", SPLIT_TRAIN),
    PREP_INPUT("valid", SPLIT_VALID),
    PREP_INPUT("test", SPLIT_TEST),
    {"out", OPT_STRING, offsetof(prep_options, out), "",
     "the dataset to write (HDF5); vocabularies also go to <out stem>.src.vocab and .tgt.vocab",
     NULL, 0, 0},
    {"valid-size", OPT_LONG, offsetof(prep_options, valid_size), "0",
     "validation pairs carved out of the training data (without validation files)", NULL, 0,
     1e15},
    {"test-size", OPT_LONG, offsetof(prep_options, test_size), "0",
     "test pairs carved out of the training data (without test files)", NULL, 0, 1e15},
    {"seed", OPT_UINT, offsetof(prep_options, seed), "1", "seed of the carve-out", NULL, 0, 0},
    {"tokenizer", OPT_CHOICE, offsetof(prep_options, tokenizer), "whitespace",
     "split on whitespace (also for SentencePiece/BPE output), or into UTF-8 characters",
     TOKENIZERS, 0, 0},
    {"lowercase", OPT_BOOL, offsetof(prep_options, lowercase), "false",
     "lowercase ASCII letters A-Z", NULL, 0, 0},
    {"shared-vocab", OPT_BOOL, offsetof(prep_options, shared_vocab), "false",
     "one vocabulary for both sides", NULL, 0, 0},
    {"src-vocab", OPT_STRING, offsetof(prep_options, src_vocab), "",
     "use this source vocabulary (one token per line) instead of building one", NULL, 0, 0},
    {"tgt-vocab", OPT_STRING, offsetof(prep_options, tgt_vocab), "",
     "use this target vocabulary instead of building one", NULL, 0, 0},
    {"min-freq", OPT_INT, offsetof(prep_options, min_freq), "1",
     "keep tokens seen at least this often in the training data", NULL, 1, 1 << 30},
    {"max-vocab", OPT_INT, offsetof(prep_options, max_vocab), "0",
     "at most this many tokens per vocabulary, the 4 reserved included (0: no limit)", NULL, 0,
     1 << 30},
    {"max-len", OPT_INT, offsetof(prep_options, max_len), "0",
     "longest training sentence in tokens, per side (0: no limit)", NULL, 0, 1 << 30},
    {"long", OPT_CHOICE, offsetof(prep_options, long_policy), "drop",
     "what happens to a training pair with a side longer than --max-len", LONG_POLICIES, 0, 0},
    {"max-ratio", OPT_DOUBLE, offsetof(prep_options, max_ratio), "0",
     "drop training pairs whose longer side exceeds this multiple of the shorter (0: off)", NULL,
     0, 1e9},
};

/* The values each preset sets (docs/performance.md lists the configurations). */
static const char *const PRESET_PLAIN_512[] = {
    "cell=gru",        "layers=1",      "bidir=true", "emb=256",   "hidden=512",
    "src-vocab=8000",  "tgt-vocab=8000", "batch=64",   "src-len=24", "tgt-len=24", NULL};
static const char *const PRESET_ATTN_512[] = {
    "cell=gru",        "layers=1",      "bidir=true", "emb=256",   "hidden=512", "attn=bahdanau",
    "src-vocab=8000",  "tgt-vocab=8000", "batch=64",   "src-len=24", "tgt-len=24", NULL};
static const char *const PRESET_LSTM_2X512[] = {
    "cell=lstm",      "layers=2",       "bidir=true", "emb=256",    "hidden=512",
    "attn=general",   "input-feed=on",  "src-vocab=8000", "tgt-vocab=8000", "batch=64",
    "src-len=24",     "tgt-len=24",     NULL};
static const char *const PRESET_SMALL_256[] = {
    "cell=gru",        "layers=1",      "bidir=true", "emb=128",   "hidden=256", "attn=bahdanau",
    "src-vocab=4000",  "tgt-vocab=4000", "batch=32",   "src-len=24", "tgt-len=24", NULL};
static const char *const *const PRESET_VALUES[] = {NULL, PRESET_PLAIN_512, PRESET_ATTN_512,
                                                   PRESET_LSTM_2X512, PRESET_SMALL_256};

/* Decoding options shared by translate and eval (T has the fields of translate_options). */
#define DECODE_OPTIONS(T)                                                                          \
    {"beam", OPT_INT, offsetof(T, beam), "5", "beam size (1: greedy decoding)", NULL, 1, 256},     \
    {"length-penalty", OPT_DOUBLE, offsetof(T, length_penalty), "0.6",                            \
     "GNMT length normalization alpha: score = log P / ((5 + length) / 6)^alpha", NULL, 0, 10},   \
    {"max-len-ratio", OPT_DOUBLE, offsetof(T, max_len_ratio), "2",                                \
     "a translation has at most ceil(ratio x source tokens) + 5 tokens", NULL, 0, 1000},         \
    {"batch", OPT_INT, offsetof(T, batch), "32", "sentences decoded together", NULL, 1, 65536},   \
    {"threads", OPT_INT, offsetof(T, threads), "1", "OpenBLAS threads per rank", NULL, 1, 1024}

#define T translate_options
static const opt_spec translate_specs[] = {
    {"checkpoint", OPT_STRING, offsetof(T, checkpoint), "", "the trained checkpoint (required)",
     NULL, 0, 0},
    {"input", OPT_STRING, offsetof(T, input), "-", "source sentences, one per line (-: stdin)",
     NULL, 0, 0},
    {"output", OPT_STRING, offsetof(T, output), "-", "translations (-: stdout)", NULL, 0, 0},
    DECODE_OPTIONS(T),
    {"nbest", OPT_INT, offsetof(T, nbest), "1",
     "translations per sentence; above 1 as lines 'INDEX ||| TEXT ||| SCORE'", NULL, 1, 256},
    {"scores", OPT_BOOL, offsetof(T, scores), "false",
     "append a tab and the score to each translation", NULL, 0, 0},
    {"replace-unk", OPT_BOOL, offsetof(T, replace_unk), "false",
     "replace <unk> by the source token with the highest attention weight", NULL, 0, 0},
    {"attention", OPT_STRING, offsetof(T, attention), "",
     "write the attention weights of every translation to this HDF5 file", NULL, 0, 0},
    {"detok", OPT_CHOICE, offsetof(T, detok), "auto",
     "detokenizer: space joins tokens, pieces joins SentencePiece pieces or characters; auto "
     "picks from the training data's tokenizer and vocabulary", DETOKS, 0, 0},
    BLAS_CORE_OPTION(T),
};
#undef T

static const char *const SPLITS[] = {"train", "valid", "test", NULL};
#define T eval_options
static const opt_spec eval_specs[] = {
    {"checkpoint", OPT_STRING, offsetof(T, checkpoint), "", "the trained checkpoint", NULL, 0,
     0},
    {"data", OPT_STRING, offsetof(T, data), "", "the dataset (with --checkpoint)", NULL, 0, 0},
    {"split", OPT_CHOICE, offsetof(T, split), "test", "the split of --data to score", SPLITS, 0,
     0},
    {"output", OPT_STRING, offsetof(T, output), "",
     "write the decoded split, detokenized, to this file", NULL, 0, 0},
    {"hyp", OPT_STRING, offsetof(T, hyp), "", "translations, one per line (with --ref)", NULL, 0,
     0},
    {"ref", OPT_STRING, offsetof(T, ref), "", "references, one per line (with --hyp)", NULL, 0,
     0},
    {"tokenize", OPT_CHOICE, offsetof(T, tokenize), "13a",
     "BLEU tokenization of --hyp/--ref: sacreBLEU's 13a, or none (tokens as given)",
     bleu_tokenizer_names, 0, 0},
    {"smooth", OPT_CHOICE, offsetof(T, smooth), "exp", "BLEU smoothing (sacreBLEU's methods)",
     bleu_smooth_names, 0, 0},
    {"smooth-value", OPT_DOUBLE, offsetof(T, smooth_value), "-1",
     "value of floor (0.1) and add-k (1) smoothing; negative: that default", NULL, 0, 0},
    DECODE_OPTIONS(T),
    PROBE_TIMEOUT_OPTION(T),
    LARGE_VOCAB_OPTION(T),
    BLAS_CORE_OPTION(T),
};
#undef T

#define N_SPECS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void usage(FILE *f)
{
    fprintf(f, "usage: s2s <command> [options]\n\n"
               "commands:\n"
               "  gen        write a synthetic translation task as parallel text files\n"
               "  prep       turn parallel text into an HDF5 dataset with vocabularies\n"
               "  train      train an encoder-decoder on a dataset, on one or many MPI ranks\n"
               "  translate  translate text with a trained checkpoint (beam search)\n"
               "  eval       BLEU, chrF, perplexity and exact match of a model or of translations\n"
               "  info       what a checkpoint or dataset holds\n"
               "  bench      time training steps and compare with the machine's sgemm peak\n\n"
               "`s2s <command> --help` lists the options of a command with their defaults.\n");
}

/* The resolved options as `name = value` lines (what --config reads), or NULL with a note on
 * stderr if a value cannot be written back (a path with '#'). */
static char *options_text(const opt_spec *specs, int n, const void *src, const char *cmd)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    int rc = opts_write_config(f, specs, n, src);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "s2s %s: options not stored: %s\n", cmd, s2s_errmsg(rc));
        free(text);
        return NULL;
    }
    return text;
}

/* Parses a command's options into dst. With --help sets *help and prints `usage` and the option
 * list (on rank 0 only when MPI runs, so that mpirun prints them once). */
static int parse_command(const opt_spec *specs, int n, void *dst, int argc, char **argv,
                         const char *const *base, const char *usage_text, bool *help)
{
    int rc = opts_parse(specs, n, dst, argc, argv, base, help);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && !*help; i++) {
        if (strcmp(specs[i].name, "blas-core") != 0)
            continue;
        int chosen = *(const int *)((const char *)dst + specs[i].offset);
        if (chosen != blas_core_startup_choice)
            return s2s_fail(S2S_EUSAGE,
                            "blas-core = %s comes from a --config file, but the OpenBLAS kernels "
                            "are chosen at start-up, before configuration files are read: give "
                            "--blas-core %s on the command line",
                            blas_core_choices[chosen], blas_core_choices[chosen]);
    }
    if (!*help)
        return 0;
    int rank = 0, mpi_on = 0;
    MPI_Initialized(&mpi_on);
    if (mpi_on)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        fputs(usage_text, stdout);
        opts_print_help(stdout, specs, n);
    }
    return 0;
}

/* The upper bound of option `name` in its table, so that a message quotes the table's range. */
static double spec_max(const opt_spec *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(specs[i].name, name))
            return specs[i].max;
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s train --data DATA.h5 [--run-dir DIR] [options]\n\n"
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
    int rc = parse_command(train_specs, N_SPECS(train_specs), &o, argc, argv, NULL, usage_text,
                           &help);
    if (rc < 0 || help)
        return rc;
    /* opt_spec ranges are closed, and a rate of 0 trains nothing: the open bound is checked
     * here, where the message can name the option rather than train_run's summary of all. */
    if (!(o.lr > 0))
        return s2s_fail(S2S_EUSAGE, "--lr: %g is outside the allowed range (0, %g]", o.lr,
                        spec_max(train_specs, N_SPECS(train_specs), "lr"));
    model_resolve_input_feed(&o.model, o.input_feed_mode);
    char *config = options_text(train_specs, N_SPECS(train_specs), &o, "train");
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

static int cmd_prep(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: s2s prep --train-src FILE --train-tgt FILE --out DATA.h5 [options]\n\n"
        "Tokenizes parallel text, builds vocabularies, filters, and writes an HDF5 dataset "
        "(docs/formats.md).\n\noptions:\n";
    prep_options o;
    bool help;
    int rc = parse_command(prep_specs, N_SPECS(prep_specs), &o, argc, argv, NULL, usage_text,
                           &help);
    if (rc < 0 || help)
        return rc;
    /* The resolved options go into the file, so a dataset says how it was made. */
    char *config = options_text(prep_specs, N_SPECS(prep_specs), &o, "prep");
    o.config_text = config;
    rc = prep_run(&o, stdout, NULL);
    free(config);
    return rc;
}

static int cmd_bench(int argc, char **argv)
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
    int rc = parse_command(bench_specs, N_SPECS(bench_specs), &c, argc, argv, base,
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
        printf("{\"data\":\"%s\",\"ranks\":%d,\"steps\":%ld,\"sentences\":%ld,"
               "\"tokens\":%ld,\"seconds\":%.4f,\"open_seconds\":%.4f,"
               "\"tokens_per_s\":%.1f,\"peak_rss_mb\":%.1f}\n",
               c.b.data, c.b.data_ranks, d.steps, d.sentences, d.tokens, d.seconds,
               d.open_seconds, d.tokens_per_s, d.peak_rss_mb);
        return 0;
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
        printf("%d ranks (%s scaling, %d sentences per rank, %zu buckets of %g MiB): compute "
               "%.2f ms (forward %.2f, backward %.2f), waiting for the allreduce %.2f ms "
               "(min %.2f, max %.2f over ranks) = imbalance %.2f + exposed communication "
               "%.2f; the allreduce alone takes %.2f ms, %.0f%% of it hidden behind backward "
               "(window %.2f ms); sgemm peak %.1f-%.1f GFLOP/s per rank\n",
               r.ranks, c.b.strong ? "strong" : "weak", r.local_batch, r.buckets,
               c.b.bucket_mb, r.forward_backward_ms, r.forward_ms, r.backward_ms, r.wait_ms[2],
               r.wait_ms[0], r.wait_ms[1], r.imbalance_ms, r.exposed_comm_ms, r.allreduce_ms,
               100 * r.hidden_share, r.overlap_window_ms, r.sgemm_peak_min, r.sgemm_peak_max);
    bench_print_json(stdout, &c.b, &r);
    printf("\n");
    return 0;
}

static int cmd_translate(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s translate --checkpoint CKPT [--input FILE] [options]\n\n"
        "Translates one sentence per line: tokenized as the training data was, decoded by beam "
        "search (batches spread over the ranks), written detokenized in input order "
        "(docs/decoding.md).\n\noptions:\n";
    translate_options o;
    bool help;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rc = parse_command(translate_specs, N_SPECS(translate_specs), &o, argc, argv, NULL,
                           usage_text, &help);
    if (rc < 0 || help)
        return rc;
    return translate_run(&o, MPI_COMM_WORLD, rank == 0 ? stderr : NULL);
}

static int cmd_eval(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s eval --checkpoint CKPT --data DATA.h5 [--split S]\n"
        "       s2s eval --hyp FILE --ref FILE\n\nScores a dataset split through a checkpoint "
        "(loss, perplexity, token accuracy; then decodes it: BLEU, chrF, exact match), or "
        "translations against references. The last line is JSON (docs/decoding.md).\n\n"
        "options:\n";
    eval_options o;
    bool help;
    int rc = parse_command(eval_specs, N_SPECS(eval_specs), &o, argc, argv, NULL, usage_text,
                           &help);
    if (rc < 0 || help)
        return rc;
    probe_set_timeout(o.probe_timeout);
    ds_set_limits(&(ds_limits){.large_vocab = o.large_vocab});
    return eval_run(&o, MPI_COMM_WORLD, stdout);
}

static int cmd_gen(int argc, char **argv)
{
    return gen_command(argc, argv, stderr);
}

/* This process's rank as the launcher (mpirun, srun, Hydra) tells it before MPI_Init: only
 * rank 0 speaks at start-up. */
static int launcher_rank(void)
{
    static const char *const VARS[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) {
        const char *v = getenv(VARS[i]);
        if (v && v[0])
            return atoi(v);
    }
    return 0;
}

/* The file this program runs from, for restarting it: the target of /proc/self/exe, whose
 * name becomes the new process's name (ps, pgrep and schedulers see "s2s", not "exe"), or
 * /proc/self/exe itself if the file was replaced or removed since it started. */
static const char *self_path(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0 || (size_t)n >= sizeof path - 1)
        return "/proc/self/exe";
    path[n] = '\0';
    return access(path, X_OK) == 0 ? path : "/proc/self/exe";
}

/* Chooses the OpenBLAS kernels of a computing command before MPI_Init (include/s2s/blas_core.h):
 * keeps them, refuses (exit status 2 on every rank, rank 0 says why), or restarts this program
 * with OPENBLAS_CORETYPE set, which OpenBLAS reads only when it is loaded. execv keeps the pid,
 * so mpirun and srun keep tracking the process; every rank restarts on its own. Returns 0 to go
 * on, or the exit status. */
static int blas_core_startup(int argc, char **argv)
{
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 0; /* the help whatever the kernels */
    const char *request = opts_find_arg(argc - 2, argv + 2, "blas-core");
    if (request) {
        int k = 0;
        while (blas_core_choices[k] && strcmp(blas_core_choices[k], request) != 0)
            k++;
        if (!blas_core_choices[k])
            return 0; /* the option parse reports it, with the choices */
        blas_core_startup_choice = k;
    }
    blas_core_input in;
    blas_core_decision d;
    blas_core_gather(&in, request);
    blas_core_decide(&in, &d);
    bool speak = launcher_rank() == 0;
    if (d.action == BLAS_REFUSE) {
        if (speak)
            fprintf(stderr, "s2s %s: %s\n", cmd, d.message);
        return 2;
    }
    if (d.action == BLAS_RESTART) {
        const char *user = getenv(BLAS_CORE_ENV);
        char *saved = user ? strdup(user) : NULL;
        int err = ENOMEM;
        errno = 0;
        if ((!user || saved) && setenv(BLAS_CORE_ENV, d.kernel, 1) == 0 &&
            setenv(BLAS_CORE_MARKER, in.running, 1) == 0) {
            fflush(NULL);
            execv(self_path(), argv);
        }
        err = errno ? errno : err;
        if (saved)
            setenv(BLAS_CORE_ENV, saved, 1);
        else
            unsetenv(BLAS_CORE_ENV);
        unsetenv(BLAS_CORE_MARKER);
        free(saved);
        if (speak)
            fprintf(stderr,
                    "s2s: warning: restarting with %s=%s failed (%s); going on with OpenBLAS's "
                    "%s kernels\n",
                    BLAS_CORE_ENV, d.kernel, strerror(err), in.running);
        blas_core_record(&in, "OpenBLAS's own choice (the restart for other kernels failed)");
        return 0;
    }
    if (speak && d.message[0])
        fprintf(stderr, "s2s: %s\n", d.message);
    blas_core_record(&in, d.origin);
    return 0;
}

/* Commands that run under MPI (one process per rank, started by mpirun or alone) choose their
 * OpenBLAS kernels and then initialize MPI here. An error on any rank then ends the whole job
 * with MPI_Abort, so no rank is left waiting in a collective for one that has stopped; the
 * message names the rank. */
int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
        bool mpi;
    } commands[] = {{"train", cmd_train, true}, {"prep", cmd_prep, false},
                    {"bench", cmd_bench, true}, {"gen", cmd_gen, false},
                    {"translate", cmd_translate, true},
                    {"eval", cmd_eval, true}, {"info", info_command, false}};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        int rank = 0, ranks = 1;
        if (commands[i].mpi) {
            int st = blas_core_startup(argc, argv);
            if (st != 0)
                return st;
            if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
                fprintf(stderr, "s2s %s: MPI_Init failed\n", argv[1]);
                return 1;
            }
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &ranks);
            s2s_notes_enable(rank == 0); /* one note per job, not one per rank */
        }
        int rc = commands[i].run(argc - 2, argv + 2);
        int status = rc >= 0 ? rc : rc == S2S_EUSAGE ? 2 : 1;
        if (rc == S2S_EPEER) {
            /* Another rank failed and reports why: give it time to print and abort the job. */
            sleep(5);
            MPI_Abort(MPI_COMM_WORLD, status);
        }
        if (rc < 0) {
            if (ranks > 1)
                fprintf(stderr, "s2s %s: rank %d of %d: %s\n", argv[1], rank, ranks,
                        s2s_errmsg(rc));
            else
                fprintf(stderr, "s2s %s: %s\n", argv[1], s2s_errmsg(rc));
            if (ranks > 1) {
                fflush(stderr);
                MPI_Abort(MPI_COMM_WORLD, status);
            }
        }
        if (commands[i].mpi)
            MPI_Finalize();
        return status;
    }
    fprintf(stderr, "s2s: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
