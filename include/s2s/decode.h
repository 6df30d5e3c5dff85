/* decode.h - decoding a list of source sentences with a trained model or an ensemble of them,
 * on one or many MPI ranks.
 *
 * The sentences are ordered by length (ties by position) and cut into batches of `batch`
 * sentences; rank r decodes batches r, r + N, r + 2N, ... and rank 0 gathers every result back
 * into input order. A batch's composition depends only on the input and `batch`, never on the
 * number of ranks, so N ranks produce exactly the output of one. An ensemble decodes each batch
 * with all its models at once (beam_search_init_ensemble): every rank holds every model. */
#ifndef S2S_DECODE_H
#define S2S_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "s2s/beam.h"
#include "s2s/progress.h"
#include "s2s/trained_ensemble.h"

typedef struct {
    int beam, nbest;
    double length_penalty;
    double max_len_ratio; /* a translation has at most decode_max_len(source length) tokens */
    int batch;            /* sentences per decoding batch */
    bool attention;       /* keep attention weights (models with attention) */
    progress_counter *progress; /* rank 0: counts the sentences decoded (NULL: none); from rank
                                 * 0's batches, each round of all ranks' batches at once */
} decode_options;

/* The default of --max-len-ratio, also the limit of training's validation decoding. */
#define DECODE_DEFAULT_RATIO 2.0

/* The output-length limit for a source of n tokens: ceil(ratio * n) + 5 (the constant lets
 * short sources have longer translations). */
int decode_max_len(int n, double ratio);

/* Results on rank 0: sentence i has nhyp[i] hypotheses (0 for an empty source) at
 * hyps[i * nbest], best first. Everything is owned (ids and attention of each hypothesis). */
typedef struct {
    int n, nbest;
    int *nhyp;
    beam_hyp *hyps;
} decode_results;

void decode_results_free(decode_results *r); /* safe on a zeroed struct */

/* Decodes src[i][0 .. src_len[i]) for i < n (every rank passes the same sentences) with the
 * models of e (one: that model's decoding), which this builds for the batch capacity
 * (trained_ensemble_build). With attention, a hypothesis carries the first model's weights
 * (none when it has no attention). Collective over comm; an error on any rank makes every rank
 * return (S2S_EPEER on the ranks that did not fail). */
int decode_corpus(trained_ensemble *e, int n, const int32_t *const *src, const int *src_len,
                  const decode_options *o, MPI_Comm comm, decode_results *out);

#endif
