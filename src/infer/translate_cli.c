/* translate_cli.c - the `s2s translate` command: its option table. */
#include <stddef.h>

#include <mpi.h>

#include "s2s/cli.h"
#include "s2s/translate.h"
#include "s2s/vocab.h"

_Static_assert(sizeof(stream_mode) == sizeof(int), "stream_mode must be int-sized");

/* auto, then the detokenizers: index 0 guesses, index k is detok_kind k - 1. */
static const char *const DETOKS[] = {"auto", DETOK_CHOICES(CHOICE_NAME) NULL};

#define T translate_options
static const opt_spec translate_specs[] = {
    MODEL_FILE_OPTIONS(T),
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
     "detokenizer: space joins tokens, pieces joins SentencePiece pieces or characters, "
     "sentencepiece decodes with the checkpoint's model; auto picks from the training data's "
     "tokenizer and vocabulary", DETOKS, 0, 0},
    {"stream", OPT_CHOICE, offsetof(T, stream), "auto",
     "translate lines as they come and write each chunk at once (auto: unless the input is a "
     "regular file or --attention is given)", stream_mode_names, 0, 0},
    {"stream-wait", OPT_DOUBLE, offsetof(T, stream_wait), "0.05",
     "streaming: seconds a line waits for more lines to share its batch", NULL, 0, 60},
    PROGRESS_OPTION(T),
    BLAS_CORE_OPTION(T),
};
#undef T

int translate_command(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: [mpirun -np N] s2s translate --checkpoint CKPT [--checkpoint CKPT2 ...] "
        "[--input FILE] [options]\n\n"
        "Translates one sentence per line: tokenized as the training data was, decoded by beam "
        "search (batches spread over the ranks) with one model or an ensemble, written "
        "detokenized in input order (docs/decoding.md).\n\noptions:\n";
    translate_options o;
    bool help;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rc = cli_parse_command(translate_specs, CLI_N_SPECS(translate_specs), &o, argc, argv, NULL,
                               usage_text, &help);
    if (rc < 0 || help)
        return rc;
    return translate_run(&o, MPI_COMM_WORLD, rank == 0 ? stderr : NULL);
}
