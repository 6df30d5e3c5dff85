/* vmath.h - exp, tanh and sigmoid that GCC can vectorize inside element-wise loops.
 *
 * libm's expf/tanhf are opaque calls, so a loop that uses them runs one element at a time; the
 * softmax over the vocabulary and the RNN gates spend most of their element-wise time there.
 * These versions are straight-line float code that a loop vectorizes at -O3, with plain SSE2 as
 * well as with -march=native.
 *
 * Why the code has no ternaries on floats: without -ffast-math GCC treats every float operation
 * as possibly trapping, so it will not execute one unconditionally that the source (or its own
 * optimizations) put on one side of a branch, and such a loop is not vectorized on targets
 * without masked vector instructions. Clamping x to a constant, for example, lets GCC fold the
 * whole computation on the clamped path and leaves the rest conditional. So everything is
 * computed for every input and results are chosen with integer bit masks (v_select_).
 *
 * Accuracy (float build, checked against libm in double by tests/unit/test_vmath.c): v_exp
 * within 2 ulp over [-87, 88] (measured 0.96), with IEEE overflow to +inf, gradual underflow to
 * 0, and NaN propagated; v_tanh within 2e-7 absolute (measured 8.2e-8) and 2 ulp relative for
 * |x| < 0.55; v_sigmoid within 1e-7 absolute (measured 7.1e-8). NaN propagates through all.
 * In the double-precision test build they are libm, so that gradient checks stay exact. */
#ifndef S2S_VMATH_H
#define S2S_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "s2s/real.h"

#ifdef S2S_REAL_DOUBLE

static inline real v_exp(real x) { return exp(x); }
static inline real v_tanh(real x) { return tanh(x); }
static inline real v_sigmoid(real x) { return 1.0 / (1.0 + exp(-x)); }

#else

/* cond ? a : b, both already computed; a branch-free blend once vectorized. */
static inline float v_select_(int cond, float a, float b)
{
    uint32_t ab, bb, mask = -(uint32_t)(cond != 0);
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    bb = (ab & mask) | (bb & ~mask);
    memcpy(&b, &bb, sizeof b);
    return b;
}

/* e^x = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2].
 * - n is rounded by adding 1.5 * 2^23: the sum's low mantissa bits then hold n as an integer,
 *   which gives both n as a float and its bits without a float-to-int conversion (undefined
 *   for NaN and huge x).
 * - ln 2 is split Cody-Waite style: ln2_hi has 15 significant bits, so n * ln2_hi is exact for
 *   |n| <= 2^9 (finite nonzero results have |n| <= 150), and x - n * ln2_hi is exact by
 *   Sterbenz' lemma.
 * - e^r = 1 + r + r^2 P(r), P of degree 4 fitted minimax (Lawson's iteratively reweighted least
 *   squares) for relative error 3e-9 on [-ln2/2, ln2/2], far below float rounding.
 * - 2^n is applied as two power-of-two factors 2^(n>>1) and 2^(n - (n>>1)), each a normal
 *   float for n in [-150, 128]: the first product is exact and the second rounds once, so the
 *   result overflows to +inf or underflows through the subnormals to 0 as a correctly rounded
 *   exp would. Beyond that range of n (x > 89 or x < -104) the computation yields garbage that
 *   the final selects replace by +inf or 0. NaN fails both comparisons and has propagated. */
static inline float v_exp(float x)
{
    const float shift = 0x1.8p23f, log2e = 0x1.715476p0f;
    const float ln2_hi = 0x1.62e4p-1f, ln2_lo = 0x1.7f7d1cp-20f;
    const float c0 = 0x1.fffffcp-2f, c1 = 0x1.555492p-3f, c2 = 0x1.5558f2p-5f,
                c3 = 0x1.1239d4p-7f, c4 = 0x1.6a244cp-10f;
    const float max_finite = 0x1.62e42ep+6f; /* largest x whose e^x rounds to a finite float */
    const float min_nonzero = -104.0f;       /* e^-104 < 2^-150 rounds to 0 */

    float t = x * log2e + shift;
    float n = t - shift;
    float r = x - n * ln2_hi;
    r = r - n * ln2_lo;

    float p = c4;
    p = p * r + c3;
    p = p * r + c2;
    p = p * r + c1;
    p = p * r + c0;
    float e = 1.0f + (r + (r * r) * p);

    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    int32_t ni = (int32_t)(tb - 0x4B400000u); /* minus the bits of 1.5 * 2^23 */
    int32_t n1 = ni >> 1, n2 = ni - n1;
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    float y = (e * s1) * s2;

    y = v_select_(x > max_finite, (float)INFINITY, y);
    return v_select_(x < min_nonzero, 0.0f, y);
}

/* For |x| >= 0.55, tanh|x| = 1 - 2 / (e^{2|x|} + 1): no cancellation-prone e - 1, and it
 * saturates to exactly 1 when e^{2|x|} overflows. Below, where 1 - q would cancel, an odd
 * polynomial |x| + |x|^3 P(x^2) (P of degree 4, minimax relative error 1e-9 on [0, 0.55])
 * keeps the relative accuracy too. Both are computed and one selected, to stay branch-free. */
static inline float v_tanh(float x)
{
    const float c0 = -0x1.55554ap-2f, c1 = 0x1.110d26p-3f, c2 = -0x1.b92878p-5f,
                c3 = 0x1.593cf4p-6f, c4 = -0x1.9b2fe2p-8f;
    float ax = fabsf(x);
    float e = v_exp(2.0f * ax);
    float big = 1.0f - 2.0f / (e + 1.0f);
    float u = ax * ax;
    float p = c4;
    p = p * u + c3;
    p = p * u + c2;
    p = p * u + c1;
    p = p * u + c0;
    float small = ax + ax * (u * p);
    return copysignf(v_select_(ax < 0.55f, small, big), x);
}

/* With e = e^{-|x|} <= 1 and a = e / (1 + e) = sigmoid(-|x|): the negative side is a with its
 * full relative accuracy, the positive side 1 - a, which near 1 only rounds once (forming
 * 1 / (1 + e) instead would carry the rounding of 1 + e as well). Nothing overflows. */
static inline float v_sigmoid(float x)
{
    float e = v_exp(-fabsf(x));
    float a = e / (1.0f + e);
    return v_select_(x < 0.0f, a, 1.0f - a);
}

#endif

#endif
