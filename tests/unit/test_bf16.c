/* test_bf16.c - bfloat16 conversion and the error-feedback passes (include/s2s/bf16.h,
 * src/core/bf16.c): round to nearest even against a reference that picks the nearer of the two
 * neighbouring bf16 values in double; ties, NaN, Inf, subnormals, the largest finite values,
 * negative zero; every bf16 value round-trips; the error-feedback identity over many steps. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "s2s/bf16.h"
#include "s2s/rng.h"

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint16_t cvt(uint32_t u) { return bf16_from_float(from_bits(u)); }

Test(bf16, exact_values_and_signs)
{
    cr_expect_eq(bf16_from_float(1.0f), 0x3f80);
    cr_expect_eq(bf16_from_float(-2.0f), 0xc000);
    cr_expect_eq(bf16_from_float(0.0f), 0x0000);
    cr_expect_eq(bf16_from_float(-0.0f), 0x8000, "negative zero keeps its sign");
    cr_expect(signbit(bf16_to_float(0x8000)) && bf16_to_float(0x8000) == 0.0f);
    cr_expect_eq(bf16_to_float(0x3f80), 1.0f);
    cr_expect_eq(bf16_to_float(0x4049), 3.140625f);
}

Test(bf16, ties_to_even)
{
    /* 1 + 2^-8 lies halfway between 1 (0x3f80, even) and 1 + 2^-7 (0x3f81): down to even. */
    cr_expect_eq(cvt(0x3f808000u), 0x3f80);
    /* 1 + 3 * 2^-8 lies halfway between 0x3f81 (odd) and 0x3f82: up to even. */
    cr_expect_eq(cvt(0x3f818000u), 0x3f82);
    cr_expect_eq(cvt(0x3f808001u), 0x3f81, "just above the tie rounds up");
    cr_expect_eq(cvt(0x3f807fffu), 0x3f80, "just below the tie rounds down");
    cr_expect_eq(cvt(0xbf818000u), 0xbf82, "negative ties to even too");
    /* A carry out of the fraction bumps the exponent: 2 - 2^-9 rounds to 2. */
    cr_expect_eq(cvt(0x3fffc000u), 0x4000);
}

Test(bf16, nan_and_inf)
{
    cr_expect_eq(bf16_from_float(INFINITY), 0x7f80);
    cr_expect_eq(bf16_from_float(-INFINITY), 0xff80);
    /* NaNs whose payload is only in the dropped bits must not become Inf. */
    const uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0x7f80ffffu, 0xff800001u, 0x7fffffffu,
                             0xffc12345u};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t b = cvt(nans[i]);
        cr_expect(isnan(bf16_to_float(b)), "NaN %08x became %04x", nans[i], b);
        cr_expect_eq(b >> 15, nans[i] >> 31, "NaN %08x lost its sign", nans[i]);
    }
    cr_expect_eq(cvt(0x7fc00000u), 0x7fc0, "the default quiet NaN is kept as it is");
}

Test(bf16, largest_finite)
{
    cr_expect_eq(cvt(0x7f7f0000u), 0x7f7f, "the largest bf16 value is exact");
    cr_expect_eq(cvt(0x7f7f7fffu), 0x7f7f, "below the tie with 2^128: stays finite");
    cr_expect_eq(cvt(0x7f7f8000u), 0x7f80, "the tie rounds to even, which is Inf");
    cr_expect_eq(bf16_from_float(FLT_MAX), 0x7f80, "FLT_MAX is above the tie: Inf");
    cr_expect_eq(bf16_from_float(-FLT_MAX), 0xff80);
    cr_expect_eq(bf16_to_float(0x7f7f), 0x1.fep127f);
}

Test(bf16, subnormals)
{
    cr_expect_eq(cvt(0x00000001u), 0x0000, "the smallest float subnormal rounds to zero");
    cr_expect_eq(cvt(0x80000001u), 0x8000, "... to negative zero when negative");
    cr_expect_eq(cvt(0x00010000u), 0x0001, "the smallest bf16 subnormal is exact");
    cr_expect_eq(cvt(0x00008000u), 0x0000, "tie between 0 and the smallest: to even 0");
    cr_expect_eq(cvt(0x00008001u), 0x0001);
    cr_expect_eq(cvt(0x00018000u), 0x0002, "tie between 0x0001 and 0x0002: to even");
    cr_expect_eq(cvt(0x007fffffu), 0x0080, "the largest subnormal rounds up to the smallest "
                                           "normal");
    cr_expect_eq(bf16_to_float(0x0001), 0x1p-133f);
}

Test(bf16, every_value_round_trips)
{
    for (uint32_t b = 0; b < 65536; b++) {
        float x = bf16_to_float((uint16_t)b);
        uint16_t back = bf16_from_float(x);
        if (isnan(x))
            cr_assert(isnan(bf16_to_float(back)) && (back & 0x8000) == (b & 0x8000),
                      "NaN %04x -> %04x", b, back);
        else
            cr_assert_eq(back, b, "%04x -> %a -> %04x", b, (double)x, back);
    }
}

/* The nearer of the two bf16 neighbours of finite x (truncation t and t + 1 away from zero),
 * even on a tie, by double arithmetic (exact for these differences). */
static uint16_t reference(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t t = (uint16_t)(u >> 16), up = (uint16_t)(t + 1);
    double dt = fabs((double)x - (double)bf16_to_float(t));
    /* one step past the largest finite magnitude is 2^128 (where rounding gives Inf) */
    double du = (up & 0x7fff) == 0x7f80 ? fabs(0x1p128 - fabs((double)x))
                                 : fabs((double)bf16_to_float(up) - (double)x);
    if (dt < du || (dt == du && (t & 1) == 0))
        return t;
    return up;
}

Test(bf16, random_bits_against_reference)
{
    rng_stream s;
    rng_stream_init(&s, 3, RNG_BENCH, 0, 0, 0);
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = rng_u32(&s);
        if ((u & 0x7f800000u) == 0x7f800000u)
            continue; /* Inf and NaN: tested above */
        float x = from_bits(u);
        cr_assert_eq(bf16_from_float(x), reference(x), "%08x: %04x, nearest even is %04x", u,
                     bf16_from_float(x), reference(x));
    }
}

Test(bf16, add_rounds_the_float_sum)
{
    uint16_t a[4] = {0x3f80, 0x3b80, 0x7f7f, 0xbf80}, b[4] = {0x3b80, 0x3f80, 0x7f7f, 0x3f80};
    uint16_t c[4];
    memcpy(c, b, sizeof c);
    bf16_add(a, c, 4);
    cr_expect_eq(c[0], 0x3f80, "1 + 2^-8 is a tie: to even 1");
    cr_expect_eq(c[1], 0x3f80, "commutative");
    cr_expect_eq(c[2], 0x7f80, "overflow is Inf");
    cr_expect_eq(c[3], 0x0000, "-1 + 1 = +0");
    float out[4];
    bf16_expand(c, out, 4);
    cr_expect(out[0] == 1.0f && isinf(out[2]) && out[3] == 0.0f);
}

/* Over many steps: sum of what was sent + the final residual == sum of the gradients, up to the
 * float rounding of e += g (v - float(bf16(v)) is exact); the residual stays within half a bf16
 * step of the value it came from. */
Test(bf16, error_feedback_identity)
{
    enum { N = 257, STEPS = 2000 };
    static float e[N], g[N];
    static uint16_t q[N];
    static double sent[N], total[N], slack[N];
    rng_stream s;
    rng_stream_init(&s, 4, RNG_BENCH, 0, 0, 0);
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N; i++) {
            /* magnitudes over 2^-20 .. 2^10, a mean that differs from element to element */
            double mag = ldexp(1.0, (int)rng_below(&s, 31) - 20);
            g[i] = (float)(mag * (2.0 * rng_uniform(&s) - 1.0) + 1e-3 * (i % 7));
            total[i] += g[i];
            slack[i] += 0x1p-24 * (fabs((double)e[i]) + fabs((double)g[i]));
        }
        float before[N];
        for (int i = 0; i < N; i++)
            before[i] = e[i] + g[i];
        bf16_feedback(e, e, g, q, N);
        for (int i = 0; i < N; i++) {
            sent[i] += bf16_to_float(q[i]);
            cr_assert(fabs((double)e[i]) <= 0x1p-8 * fabs((double)before[i]),
                      "step %d element %d: residual %a of %a", t, i, (double)e[i],
                      (double)before[i]);
            cr_assert_eq((double)before[i], (double)bf16_to_float(q[i]) + (double)e[i],
                         "v == float(q) + e exactly");
        }
    }
    for (int i = 0; i < N; i++)
        cr_expect(fabs(sent[i] + e[i] - total[i]) <= slack[i] + 1e-30,
                  "element %d: sent %.9g + residual %.3g vs gradients %.9g (slack %.3g)", i,
                  sent[i], (double)e[i], total[i], slack[i]);
}

Test(bf16, feedback_of_non_finite_values)
{
    float e[3] = {0.25f, 1e-3f, 1e-3f}, g[3] = {INFINITY, NAN, 1.0f};
    uint16_t q[3];
    bf16_feedback(e, e, g, q, 3);
    cr_expect_eq(q[0], 0x7f80, "Inf is sent");
    cr_expect(isnan(bf16_to_float(q[1])), "NaN is sent");
    cr_expect(e[0] == 0.0f && e[1] == 0.0f, "their residuals restart at 0, not NaN");
    cr_expect(e[2] == (1e-3f + 1.0f) - bf16_to_float(q[2]), "finite ones keep theirs");
}
