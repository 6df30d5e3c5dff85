/* dropout.h - inverted dropout with masks drawn from the counter-based generator.
 *
 * The mask of row (t, b) of a time-major [T, B, width] buffer is drawn from the stream
 * (seed, RNG_DROPOUT, step, id[b], site << 16 | t): it depends on the training step, the
 * sentence's own id, the place in the network (`site`) and the position, never on which batch,
 * rank or thread the sentence landed in. Kept values are scaled by 1 / (1 - p), so nothing
 * changes at evaluation time, when dropout is simply off. */
#ifndef S2S_DROPOUT_H
#define S2S_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "s2s/real.h"

enum dropout_site {
    DROP_SRC_EMBED = 1,
    DROP_TGT_EMBED = 2,
    DROP_FEATURES = 3,   /* the output layer's input */
    DROP_ENC_LAYER = 16, /* + l: input of encoder layer l >= 1 */
    DROP_DEC_LAYER = 32, /* + l: input of decoder layer l >= 1 */
};

/* mask [T, B, width] in {0, 1/(1-p)}; p in [0, 1). */
void dropout_mask(real *mask, int T, int B, int width, const uint32_t *ids, uint32_t seed,
                  uint32_t step, uint32_t site, double p);

/* y[i] = x[i] * mask[i] (y may be x). */
void dropout_apply(real *y, const real *x, const real *mask, size_t n);

/* y[i] += x[i] * mask[i] */
void dropout_accumulate(real *y, const real *x, const real *mask, size_t n);

#endif
