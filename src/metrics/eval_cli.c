/* eval_cli.c - the `s2s eval` command: its option table. */
#include <stddef.h>
#include <stdio.h>

#include <mpi.h>

#include "s2s/bleu.h"
#include "s2s/cli.h"
#include "s2s/dataset.h"
#include "s2s/eval.h"
#include "s2s/probe.h"

#define T eval_options
static const opt_spec eval_specs[] = {
    MODEL_FILE_OPTIONS(T),
    {"data", OPT_STRING, offsetof(T, data), "", "the dataset (with --checkpoint)", NULL, 0, 0},
    {"split", OPT_CHOICE, offsetof(T, split), "test", "the split of --data to score", split_names, 0,
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
    PROGRESS_OPTION(T),
    BLAS_CORE_OPTION(T),
};
#undef T

int eval_command(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s eval --checkpoint CKPT --data DATA.h5 [--split S]\n"
        "       s2s eval --hyp FILE --ref FILE\n\nScores a dataset split through a checkpoint "
        "(loss, perplexity, token accuracy; then decodes it: BLEU, chrF, exact match), or "
        "translations against references. The last line is JSON (docs/decoding.md).\n\n"
        "options:\n";
    eval_options o;
    bool help;
    int rc = cli_parse_command(eval_specs, CLI_N_SPECS(eval_specs), &o, argc, argv, NULL,
                               usage_text, &help);
    if (rc < 0 || help)
        return rc;
    probe_set_timeout(o.probe_timeout);
    ds_set_limits(&(ds_limits){.large_vocab = o.large_vocab});
    return eval_run(&o, MPI_COMM_WORLD, stdout);
}
