/* bf16.h - bfloat16 (the upper 16 bits of an IEEE float32: sign, 8 exponent bits, 7 fraction
 * bits) as a wire format for reduced-precision gradient communication (include/s2s/comm.h).
 *
 * float -> bf16 rounds to nearest, ties to even, from the float's bits: the exponent range is
 * float's, so nothing overflows except values within half a bf16 step of FLT_MAX, which round
 * to Inf like any round-to-nearest format; subnormals round like normals (the same bit
 * arithmetic); Inf stays Inf; NaN stays NaN (its sign kept and its quiet bit set, so that
 * dropping the low fraction bits cannot turn it into Inf). bf16 -> float is exact.
 *
 * The loops of comm.c's buckets (one pass each, no allocation):
 *   bf16_feedback  v = e + g; q = bf16(v); e' = v - float(q)  (error feedback: what the
 *                  rounding loses this step is sent in the next; e' may be e itself; where v
 *                  is not finite the residual is reset to 0, so one overflowing step cannot
 *                  poison every later one)
 *   bf16_add       inout = bf16(float(in) + float(inout))  (the reduction of the MPI_Op)
 *   bf16_expand    out = float(q) */
#ifndef S2S_BF16_H
#define S2S_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t bf16_from_float(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and top payload, force quiet */
        return (uint16_t)(u >> 16 | 0x0040u);
    /* Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate. A carry out of
     * the fraction correctly bumps the exponent (up to Inf for the largest values). */
    u += 0x7fffu + (u >> 16 & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_to_float(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Error feedback over n values: v = e[i] + g[i]; q[i] = bf16(v); e_out[i] = v - float(q[i]).
 * e_out == e (in place) or does not overlap it. */
void bf16_feedback(const float *e, float *e_out, const float *g, uint16_t *q, size_t n);

/* inout[i] = bf16(float(in[i]) + float(inout[i])). */
void bf16_add(const uint16_t *in, uint16_t *inout, size_t n);

/* out[i] = float(q[i]). */
void bf16_expand(const uint16_t *q, float *out, size_t n);

#endif
