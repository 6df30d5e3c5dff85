/* trained_ensemble.h - the checkpoints of an ensemble read back for decoding and evaluation:
 * one trained_model per checkpoint (each with its own configuration, parameters and
 * workspaces: cells, sizes and attention may differ), checked to agree on what the ensemble
 * shares (the source and target vocabularies, token for token, and the tokenizer settings the
 * input is read with), and their weights. One checkpoint is an ensemble of one.
 *
 * Every rank of a decoding job opens every checkpoint: a rank decodes its batches with all the
 * models (include/s2s/decode.h). */
#ifndef S2S_TRAINED_ENSEMBLE_H
#define S2S_TRAINED_ENSEMBLE_H

#include "s2s/options.h"
#include "s2s/trained.h"

typedef struct {
    int n;
    trained_model *tm;           /* [n]; the first one's vocabularies and tokenizer serve all */
    double weight[OPT_LIST_MAX]; /* as given, 1 each when none were; normalized where the
                                  * scores are combined (include/s2s/ensemble.h) */
} trained_ensemble;

/* Opens the checkpoints of `paths` (--checkpoint, given once or more) with the weights of
 * `weights` (--weights: none, or one positive number per checkpoint). S2S_EUSAGE for no
 * checkpoint or weights that do not fit; S2S_EINVAL, in one line naming both files and the
 * first difference, for a checkpoint whose vocabularies or tokenizer settings are not the
 * first one's; what trained_open returns for a file it cannot read. */
int trained_ensemble_open(trained_ensemble *e, const opt_string_list *paths,
                          const opt_double_list *weights);

/* trained_build of every model for the same capacity. */
int trained_ensemble_build(trained_ensemble *e, int max_B, int max_src, int max_tgt);

void trained_ensemble_free(trained_ensemble *e); /* safe on a zeroed or half-built ensemble */

#endif
