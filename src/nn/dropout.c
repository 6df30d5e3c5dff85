/* dropout.c - inverted dropout masks from Philox streams, and applying them. */
#include "s2s/dropout.h"

#include "s2s/rng.h"

void dropout_mask(real *mask, int T, int B, int width, const uint32_t *ids, uint32_t seed,
                  uint32_t step, uint32_t site, double p)
{
    const real keep = (real)(1.0 / (1.0 - p));
    /* Compare 24-bit uniforms against p rounded to the same grid. */
    const float threshold = (float)p;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            rng_stream s;
            rng_stream_init(&s, seed, RNG_DROPOUT, step, ids[b], site << 16 | (uint32_t)t);
            real *row = mask + ((size_t)t * B + b) * width;
            for (int j = 0; j < width; j++)
                row[j] = rng_uniform(&s) >= threshold ? keep : 0;
        }
}

void dropout_apply(real *y, const real *x, const real *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * mask[i];
}

void dropout_accumulate(real *y, const real *x, const real *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i] * mask[i];
}
