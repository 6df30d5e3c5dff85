/* eval.h - `s2s eval`: how good a model or a set of translations is.
 *
 * Two modes. With --checkpoint and --data, a split of the dataset is scored through the model:
 * teacher-forced loss, perplexity and token accuracy, then the split is decoded (as `s2s
 * translate` would, batches spread over the MPI ranks) and the output scored against the
 * references: BLEU on the tokens as given, BLEU with sacreBLEU's 13a tokenization of the
 * detokenized text, chrF, exact match. With --hyp and --ref, two text files, one sentence per
 * line, are scored (BLEU with --tokenize, chrF, exact match of the lines).
 * A human-readable summary is printed, then as the last line one JSON object of the figures. */
#ifndef S2S_EVAL_H
#define S2S_EVAL_H

#include <stdbool.h>
#include <stdio.h>

#include <mpi.h>

#include "s2s/options.h"
#include "s2s/progress.h"

typedef struct {
    opt_string_list checkpoint;     /* one, or several: an ensemble (trained_ensemble.h) */
    opt_double_list weights;        /* the ensemble's weights (none: equal) */
    char data[OPT_STRING_MAX];
    int split;                      /* split_id */
    char hyp[OPT_STRING_MAX], ref[OPT_STRING_MAX];
    char output[OPT_STRING_MAX];    /* write the decoded split here ("": no) */
    int tokenize;                   /* bleu_tokenizer, file mode */
    int smooth;                     /* bleu_smooth */
    double smooth_value;            /* NAN: the method's default */
    int beam, nbest, batch, threads;
    progress_mode progress;         /* the display on stderr while the split is decoded */
    double length_penalty, max_len_ratio;
    double probe_timeout;     /* --probe-timeout: set by eval_command (probe.h) */
    bool large_vocab;         /* --large-vocab: set by eval_command (ds_set_limits) */
    int blas_core;                  /* --blas-core: acted on at start-up (blas_core.h) */
} eval_options;

/* Collective over comm (file mode runs on rank 0, the others wait). Output on `out` (rank 0). */
int eval_run(const eval_options *o, MPI_Comm comm, FILE *out);

/* `s2s eval`: argv without the program and command names; MPI is initialized; the last line of
 * stdout is JSON (src/metrics/eval_cli.c holds the option table). */
int eval_command(int argc, char **argv);

#endif
