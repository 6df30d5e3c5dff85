/* test_rng.c - Philox4x32-10 against the published known answers, and the properties the rest
 * of s2s relies on: streams are pure functions of their key and counter, different purposes or
 * indices give unrelated streams, and the derived draws have the right ranges and moments.
 * Statistical bounds are loose (several standard deviations) and the seeds fixed, so the tests
 * are deterministic and fail only on real defects (a bias, a wrong range, a repeated stream). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "s2s/rng.h"

/* Known answers for philox4x32 with 10 rounds from Random123's kat_vectors (D. E. Shaw
 * Research), as also listed in Random123-Boost libs/random/test/test_philox.cpp:
 * counter[4], key[2] -> output[4]. */
static const struct {
    uint32_t ctr[4], key[2], out[4];
} KAT[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

Test(rng, philox_known_answers)
{
    for (size_t v = 0; v < sizeof KAT / sizeof KAT[0]; v++) {
        uint32_t out[4];
        philox4x32_10(KAT[v].ctr, KAT[v].key, out);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(out[i], KAT[v].out[i], "KAT vector %zu word %d: got %08x, expected %08x",
                         v, i, out[i], KAT[v].out[i]);
    }
}

/* The stream contract of rng.h: key (seed, purpose), counter (block, a, b, c), four words per
 * block in order. */
Test(rng, stream_is_philox_of_key_and_counter)
{
    rng_stream s;
    rng_stream_init(&s, 0xdeadbeef, RNG_DROPOUT, 17, 4242, (3u << 16) | 9);
    const uint32_t key[2] = {0xdeadbeef, RNG_DROPOUT};
    for (uint32_t block = 0; block < 5; block++) {
        uint32_t ctr[4] = {block, 17, 4242, (3u << 16) | 9}, out[4];
        philox4x32_10(ctr, key, out);
        for (int i = 0; i < 4; i++) {
            uint32_t got = rng_u32(&s);
            cr_expect_eq(got, out[i], "block %u word %d: stream gave %08x, philox %08x", block,
                         i, got, out[i]);
        }
    }
}

Test(rng, streams_are_deterministic)
{
    rng_stream a, b;
    rng_stream_init(&a, 5, RNG_SHUFFLE, 1, 2, 3);
    rng_stream_init(&b, 5, RNG_SHUFFLE, 1, 2, 3);
    for (int i = 0; i < 1000; i++) {
        uint32_t x = rng_u32(&a), y = rng_u32(&b);
        cr_assert_eq(x, y, "draw %d of two identical streams differs: %08x vs %08x", i, x, y);
    }
}

/* Streams that differ in any one field of (seed, purpose, a, b, c) share no run of words:
 * equal words at the same position happen with probability 2^-32 each. */
Test(rng, streams_are_independent)
{
    enum { N = 4096, VARIANTS = 6 };
    static const uint32_t fields[VARIANTS][5] = {
        {7, RNG_INIT, 0, 0, 0},    {8, RNG_INIT, 0, 0, 0},    {7, RNG_DROPOUT, 0, 0, 0},
        {7, RNG_INIT, 1, 0, 0},    {7, RNG_INIT, 0, 1, 0},    {7, RNG_INIT, 0, 0, 1},
    };
    static uint32_t words[VARIANTS][N];
    for (int v = 0; v < VARIANTS; v++) {
        rng_stream s;
        rng_stream_init(&s, fields[v][0], fields[v][1], fields[v][2], fields[v][3], fields[v][4]);
        for (int i = 0; i < N; i++)
            words[v][i] = rng_u32(&s);
    }
    for (int v = 0; v < VARIANTS; v++)
        for (int w = v + 1; w < VARIANTS; w++) {
            int same = 0;
            for (int i = 0; i < N; i++)
                same += words[v][i] == words[w][i];
            cr_expect_leq(same, 1, "streams %d and %d agree in %d of %d positions", v, w, same, N);
        }
}

Test(rng, below_stays_in_range)
{
    static const uint32_t ns[] = {1, 2, 3, 7, 10, 1000, 65537, 0x80000001u, 0xfffffffeu,
                                  UINT32_MAX};
    rng_stream s;
    rng_stream_init(&s, 11, RNG_TEST, 0, 0, 0);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int i = 0; i < 2000; i++) {
            uint32_t x = rng_below(&s, ns[k]);
            cr_assert_lt(x, ns[k], "rng_below(%u) returned %u", ns[k], x);
        }
}

/* Chi-square over 10 bins with 9 degrees of freedom: mean 9, sd 4.2. 40 is p < 1e-5. */
Test(rng, below_is_uniform_chi_square)
{
    enum { BINS = 10, DRAWS = 100000 };
    long count[BINS] = {0};
    rng_stream s;
    rng_stream_init(&s, 12, RNG_TEST, 1, 0, 0);
    for (int i = 0; i < DRAWS; i++)
        count[rng_below(&s, BINS)]++;
    double chi2 = 0, expected = (double)DRAWS / BINS;
    for (int b = 0; b < BINS; b++)
        chi2 += (count[b] - expected) * (count[b] - expected) / expected;
    cr_expect_lt(chi2, 40.0, "chi-square of rng_below(10) over %d draws is %.2f", DRAWS, chi2);
}

/* n = 3 * 2^30: plain x % n would put [0, 2^30) twice as often (probability 1/2 instead of
 * 1/3); the rejection step must remove that bias. 30000 draws: sd of the fraction 0.0027. */
Test(rng, below_has_no_modulo_bias)
{
    enum { DRAWS = 30000 };
    const uint32_t n = 3u << 30;
    rng_stream s;
    rng_stream_init(&s, 13, RNG_TEST, 2, 0, 0);
    int low = 0;
    for (int i = 0; i < DRAWS; i++)
        low += rng_below(&s, n) < (1u << 30);
    double frac = (double)low / DRAWS;
    cr_expect(fabs(frac - 1.0 / 3) < 0.02,
              "fraction of rng_below(3*2^30) below 2^30 is %.4f, expected 1/3", frac);
}

Test(rng, uniform_range_and_mean)
{
    enum { DRAWS = 100000 };
    rng_stream s;
    rng_stream_init(&s, 14, RNG_TEST, 3, 0, 0);
    double sum = 0;
    float lo = 1, hi = 0;
    for (int i = 0; i < DRAWS; i++) {
        float u = rng_uniform(&s);
        cr_assert(u >= 0.0f && u < 1.0f, "rng_uniform returned %.9g outside [0, 1)", u);
        float scaled = u * 16777216.0f;
        cr_assert_eq(scaled, floorf(scaled), "rng_uniform %.9g is not a multiple of 2^-24", u);
        sum += u;
        lo = fminf(lo, u);
        hi = fmaxf(hi, u);
    }
    /* sd of the mean: 0.29 / sqrt(1e5) = 0.0009 */
    cr_expect(fabs(sum / DRAWS - 0.5) < 0.005, "mean of rng_uniform is %.5f", sum / DRAWS);
    cr_expect(lo < 0.001f && hi > 0.999f, "rng_uniform spans only [%.5f, %.5f]", lo, hi);
}

Test(rng, normal_moments)
{
    enum { DRAWS = 100000 };
    rng_stream s;
    rng_stream_init(&s, 15, RNG_TEST, 4, 0, 0);
    double sum = 0, sum2 = 0, sum4 = 0;
    for (int i = 0; i < DRAWS; i++) {
        double z = rng_normal(&s);
        cr_assert(isfinite(z), "rng_normal returned %g", z);
        sum += z;
        sum2 += z * z;
        sum4 += z * z * z * z;
    }
    double mean = sum / DRAWS, var = sum2 / DRAWS - mean * mean, kurt = sum4 / DRAWS;
    /* sd: mean 0.0032, variance 0.0045, fourth moment (3) 0.03 */
    cr_expect(fabs(mean) < 0.02, "mean of rng_normal is %.4f", mean);
    cr_expect(fabs(var - 1) < 0.03, "variance of rng_normal is %.4f", var);
    cr_expect(fabs(kurt - 3) < 0.2, "fourth moment of rng_normal is %.4f, expected 3", kurt);
}
