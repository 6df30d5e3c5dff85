/* cli.h - what the commands' option tables and cmd functions share: the option entries that
 * several commands carry (--blas-core, --probe-timeout, --large-vocab, --progress, the decoding
 * options), the parse with --help and the --blas-core agreement with start-up, and the resolved
 * options as configuration text. Each command's table lives beside its command (X_command in its module);
 * src/main.c only dispatches. */
#ifndef S2S_CLI_H
#define S2S_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/blas_core.h"
#include "s2s/options.h"
#include "s2s/progress.h"

/* STR(MACRO): a numeric macro's value as a string, for defaults and help texts. */
#define STR_(x) #x
#define STR(x) STR_(x)

/* The number of entries of an opt_spec array. */
#define CLI_N_SPECS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --blas-core as the command line gave it (an index into blas_core_choices; 0: auto): what
 * start-up acted on before any option was parsed, which the full parse must agree with. main
 * sets it before MPI_Init; cli_parse_command checks every command's parse against it. */
extern int blas_core_startup_choice;

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
 * bool field large_vocab, which the command hands to ds_set_limits before it runs. */
#define LARGE_VOCAB_OPTION(T)                                                                      \
    {"large-vocab", OPT_BOOL, offsetof(T, large_vocab), "false",                                  \
     "accept a dataset vocabulary of more than 65536 entries with more words than the dataset "   \
     "has tokens (a reused vocabulary file on a small corpus)", NULL, 0, 0}

/* --progress of train, translate and eval (include/s2s/progress.h); T has an int-sized
 * progress_mode field progress. */
#define PROGRESS_OPTION(T)                                                                         \
    {"progress", OPT_CHOICE, offsetof(T, progress), "auto",                                       \
     "progress display: auto (a live bar on a terminal, plain lines when redirected or under an "  \
     "MPI launcher), live, plain lines", progress_mode_names, 0, 0}
/* The model options of translate and eval: T has an opt_string_list checkpoint and an
 * opt_double_list weights (include/s2s/trained_ensemble.h). */
#define MODEL_FILE_OPTIONS(T)                                                                      \
    {"checkpoint", OPT_STRING_LIST, offsetof(T, checkpoint), "",                                  \
     "the trained checkpoint; repeated, an ensemble whose models' log-probabilities are summed "   \
     "with --weights at every step", NULL, 0, 0},                                                  \
    {"weights", OPT_DOUBLE_LIST, offsetof(T, weights), "",                                        \
     "the ensemble's weights, one per --checkpoint in their order, normalized to sum 1 "           \
     "(default: equal)", NULL, 0, 1e6}

/* Decoding options shared by translate and eval (T has the fields of translate_options). */
#define DECODE_OPTIONS(T)                                                                          \
    {"beam", OPT_INT, offsetof(T, beam), "5", "beam size (1: greedy decoding)", NULL, 1, 256},     \
    {"length-penalty", OPT_DOUBLE, offsetof(T, length_penalty), "0.6",                            \
     "GNMT length normalization alpha: score = log P / ((5 + length) / 6)^alpha", NULL, 0, 10},   \
    {"max-len-ratio", OPT_DOUBLE, offsetof(T, max_len_ratio), "2",                                \
     "a translation has at most ceil(ratio x source tokens) + 5 tokens", NULL, 0, 1000},         \
    {"batch", OPT_INT, offsetof(T, batch), "32", "sentences decoded together", NULL, 1, 65536},   \
    {"threads", OPT_INT, offsetof(T, threads), "1", "OpenBLAS threads per rank", NULL, 1, 1024}


/* Parses a command's options into dst. With --help sets *help and prints `usage_text` and the
 * option list (on rank 0 only when MPI runs, so that mpirun prints them once). A table with a
 * blas-core entry must parse to the choice start-up acted on (blas_core_startup_choice). */
int cli_parse_command(const opt_spec *specs, int n, void *dst, int argc, char **argv,
                      const char *const *base, const char *usage_text, bool *help);

/* The command line of a command that takes files as positional arguments (s2s info, s2s
 * average) split into the options with their values, for opts_parse, and the positional
 * arguments in their order: an argument is positional when it does not start with '-' (or is
 * "-" alone) or comes after "--", unless it is the value of the option before it (an option of
 * specs that is not OPT_BOOL, or --config, given without '='). opts and pos hold argc entries
 * each; *n_opts and *n_pos get their counts. */
void cli_split_args(const opt_spec *specs, int n, int argc, char **argv, char **opts,
                    int *n_opts, char **pos, int *n_pos);

/* The upper bound of option `name` in its table, so that a message quotes the table's range. */
double cli_spec_max(const opt_spec *specs, int n, const char *name);

/* The resolved options as `name = value` lines (what --config reads), or NULL with a note on
 * stderr naming command `cmd` if a value cannot be written back (a path with '#'). The caller
 * frees it. */
char *cli_options_text(const opt_spec *specs, int n, const void *src, const char *cmd);

#endif
