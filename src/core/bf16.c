/* bf16.c - the element-wise passes over bfloat16 buffers (include/s2s/bf16.h). Plain float, not
 * `real`: bf16 is a float32 format, and the double-precision test build compiles this file too. */
#include "s2s/bf16.h"

#include <math.h>

void bf16_feedback(const float *e, float *e_out, const float *g, uint16_t *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = e[i] + g[i];
        uint16_t b = bf16_from_float(v);
        float r = v - bf16_to_float(b);
        q[i] = b;
        /* Inf - Inf or NaN would stay in the residual for ever: the non-finite value itself is
         * sent this step, and the next starts from nothing. */
        e_out[i] = isfinite(r) ? r : 0.0f;
    }
}

void bf16_add(const uint16_t *in, uint16_t *inout, size_t n)
{
    for (size_t i = 0; i < n; i++)
        inout[i] = bf16_from_float(bf16_to_float(in[i]) + bf16_to_float(inout[i]));
}

void bf16_expand(const uint16_t *q, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = bf16_to_float(q[i]);
}
