/* translate.h - `s2s translate`: source text in, translations out, with a trained checkpoint
 * or an ensemble of them (--checkpoint repeated, include/s2s/trained_ensemble.h).
 *
 * Rank 0 reads the input (a file or stdin) and shares it; every rank tokenizes it as the
 * training data was tokenized (include/s2s/trained.h), the sentences are decoded by whole
 * batches spread over the ranks (include/s2s/decode.h), and rank 0 writes the detokenized
 * translations in input order: one line per input line, or with nbest > 1 the lines
 * "INDEX ||| TRANSLATION ||| SCORE" (Moses' n-best format, INDEX from 0). A regular file is
 * read whole; a pipe or a terminal is streamed: lines are translated and written in chunks as
 * they come (include/s2s/line_stream.h), a chunk at most one batch per rank, its lines waiting
 * at most stream_wait seconds for one another. */
#ifndef S2S_TRANSLATE_H
#define S2S_TRANSLATE_H

#include <stdbool.h>

#include <mpi.h>

#include "s2s/choice.h"
#include "s2s/options.h"
#include "s2s/progress.h"

/* --stream (include/s2s/choice.h): auto streams unless the input is a regular file or an
 * attention file is asked for (it holds the whole input). */
#define STREAM_CHOICES(X) X(STREAM_AUTO, "auto") X(STREAM_ON, "on") X(STREAM_OFF, "off")
typedef enum { STREAM_CHOICES(CHOICE_ENUM) STREAM_COUNT } stream_mode;
extern const char *const stream_mode_names[]; /* NULL-terminated, indexed by stream_mode */

typedef struct {
    opt_string_list checkpoint;     /* one, or several: an ensemble (trained_ensemble.h) */
    opt_double_list weights;        /* the ensemble's weights (none: equal) */
    char input[OPT_STRING_MAX];     /* "-": standard input */
    char output[OPT_STRING_MAX];    /* "-": standard output */
    char attention[OPT_STRING_MAX]; /* HDF5 file of attention weights ("": none) */
    int beam, nbest, batch;
    double length_penalty, max_len_ratio;
    bool replace_unk;
    bool scores;                    /* 1-best: append a tab and the score to each line */
    int detok;                      /* 0 auto, then detok_kind + 1 (vocab.h) */
    stream_mode stream;
    progress_mode progress;         /* the display on stderr while a whole input is decoded */
    double stream_wait;             /* seconds a streamed line waits for others to share its batch */
    int threads;
    int blas_core;                  /* --blas-core: acted on at start-up (blas_core.h) */
} translate_options;

/* Collective over comm. Prints a one-line summary to `log` on rank 0 (NULL: none). */
int translate_run(const translate_options *o, MPI_Comm comm, FILE *log);

/* `s2s translate`: argv without the program and command names; MPI is initialized
 * (src/infer/translate_cli.c holds the option table). */
int translate_command(int argc, char **argv);

#endif
