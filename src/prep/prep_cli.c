/* prep_cli.c - the `s2s prep` command: its option table; the resolved options go into the
 * dataset. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "s2s/cli.h"
#include "s2s/dataset.h"
#include "s2s/prep.h"

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
     "the dataset to write (HDF5); vocabularies also go to <out stem>.src.vocab and .tgt.vocab, "
     "SentencePiece models to <out stem>.spm.model (or .src.spm.model and .tgt.spm.model)",
     NULL, 0, 0},
    {"valid-size", OPT_LONG, offsetof(prep_options, valid_size), "0",
     "validation pairs carved out of the training data (without validation files)", NULL, 0,
     1e15},
    {"test-size", OPT_LONG, offsetof(prep_options, test_size), "0",
     "test pairs carved out of the training data (without test files)", NULL, 0, 1e15},
    {"carve-by", OPT_CHOICE, offsetof(prep_options, carve_by), "line",
     "carve-out unit: single lines, or all pairs of a source sentence together (no held-out "
     "source also in training)", carve_kind_names, 0, 0},
    {"train-size", OPT_LONG, offsetof(prep_options, train_size), "0",
     "training pairs kept, a sample chosen by --seed after the carve-out (0: all)", NULL, 0,
     1e15},
    {"seed", OPT_UINT, offsetof(prep_options, seed), "1",
     "seed of the carve-out and of --train-size's sample (and of SentencePiece's random "
     "generator)", NULL, 0, 0},
    {"tokenizer", OPT_CHOICE, offsetof(prep_options, tokenizer), "whitespace",
     "split on whitespace (also for text segmented beforehand), into UTF-8 characters, or into "
     "the pieces of a SentencePiece model trained here (or given: --spm-model)",
     tokenizer_names, 0, 0},
    {"spm-train", OPT_CHOICE, offsetof(prep_options, spm_train), "joint",
     "sentencepiece: train one joint model on both sides, or one model per side",
     spm_train_names, 0, 0},
    {"spm-type", OPT_CHOICE, offsetof(prep_options, spm_type), "unigram",
     "sentencepiece: the model type to train", spm_type_names, 0, 0},
    {"spm-vocab-size", OPT_INT, offsetof(prep_options, spm_vocab_size), "8000",
     "sentencepiece: pieces per trained model, at most (fewer if the text has fewer)", NULL, 8,
     1 << 24},
    {"spm-coverage", OPT_DOUBLE, offsetof(prep_options, spm_coverage), "0.9995",
     "sentencepiece: character coverage of a trained model (1: every character; below: the "
     "rarest are left to <unk>)", NULL, 1e-6, 1},
    {"spm-sentences", OPT_LONG, offsetof(prep_options, spm_sentences), "2000000",
     "sentencepiece: train each model on a sample of at most this many sentences (0: all)",
     NULL, 0, 1e15},
    {"spm-threads", OPT_INT, offsetof(prep_options, spm_threads), "1",
     "sentencepiece: training threads (the model depends on their number)", NULL, 1, 1024},
    {"spm-model", OPT_STRING, offsetof(prep_options, spm_model), "",
     "sentencepiece: use this model file for both sides instead of training one", NULL, 0, 0},
    {"spm-src-model", OPT_STRING, offsetof(prep_options, spm_src_model), "",
     "sentencepiece: use this model file for the source side (with --spm-tgt-model)", NULL, 0,
     0},
    {"spm-tgt-model", OPT_STRING, offsetof(prep_options, spm_tgt_model), "",
     "sentencepiece: use this model file for the target side (with --spm-src-model)", NULL, 0,
     0},
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
     "what happens to a training pair with a side longer than --max-len", long_policy_names, 0, 0},
    {"max-ratio", OPT_DOUBLE, offsetof(prep_options, max_ratio), "0",
     "drop training pairs whose longer side exceeds this multiple of the shorter (0: off)", NULL,
     0, 1e9},
};

int prep_command(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: s2s prep --train-src FILE --train-tgt FILE --out DATA.h5 [options]\n\n"
        "Tokenizes parallel text, builds vocabularies, filters, and writes an HDF5 dataset "
        "(docs/formats.md).\n\noptions:\n";
    prep_options o;
    bool help;
    int rc = cli_parse_command(prep_specs, CLI_N_SPECS(prep_specs), &o, argc, argv, NULL,
                               usage_text, &help);
    if (rc < 0 || help)
        return rc;
    /* The resolved options go into the file, so a dataset says how it was made. */
    char *config = cli_options_text(prep_specs, CLI_N_SPECS(prep_specs), &o, "prep");
    o.config_text = config;
    rc = prep_run(&o, stdout, NULL);
    free(config);
    return rc;
}
