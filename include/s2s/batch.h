/* batch.h - a padded, time-major batch of sentence pairs.
 *
 * Token ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s>, then the vocabulary proper (docs/model.md).
 * A target sentence y_1..y_m becomes m + 1 decoder steps: inputs <s> y_1 .. y_m and outputs
 * y_1 .. y_m </s>. Arrays are time-major ([T, B]: element t*B + b) because every layer works on
 * all sentences of one time step at once. */
#ifndef S2S_BATCH_H
#define S2S_BATCH_H

#include <stdint.h>

#include "s2s/tokens.h"

typedef struct {
    int max_B, max_src, max_tgt; /* capacity; max_tgt counts decoder steps (m + 1) */
    int B, src_T, tgt_T;         /* this batch: sentences, source steps, decoder steps */
    int *src;                    /* [src_T, B] */
    int *src_len;                /* [B] */
    int *tgt_in;                 /* [tgt_T, B] */
    int *tgt_out;                /* [tgt_T, B] */
    int *tgt_len;                /* [B] decoder steps of each sentence (m + 1) */
    uint32_t *ids;               /* [B] sentence ids (dataset indices): key dropout masks and
                                  * sampling coins; batch_fill sets 0..B-1, callers overwrite */
} batch;

int batch_init(batch *bt, int max_B, int max_src, int max_tgt);
void batch_free(batch *bt); /* safe on a zeroed batch */

/* Fills the batch from B pairs of token sequences (word ids only, no <s>/</s>): pads, adds <s>
 * and </s>, sets lengths. tgt may be NULL for a source-only batch (decoding). Errors when a
 * sentence is empty or longer than the capacity. */
int batch_fill(batch *bt, int B, const int *const *src, const int *src_len,
               const int *const *tgt, const int *tgt_len);

/* Number of target tokens (decoder outputs, </s> included) in the batch. */
long batch_target_tokens(const batch *bt);

#endif
