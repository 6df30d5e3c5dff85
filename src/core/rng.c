/* rng.c - Philox4x32-10 and streams over it. */
#include "s2s/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void rng_stream_init(rng_stream *s, uint32_t seed, uint32_t purpose, uint32_t a, uint32_t b,
                     uint32_t c)
{
    s->key[0] = seed;
    s->key[1] = purpose;
    s->counter[0] = 0;
    s->counter[1] = a;
    s->counter[2] = b;
    s->counter[3] = c;
    s->used = 4; /* no block generated yet */
}

uint32_t rng_u32(rng_stream *s)
{
    if (s->used == 4) {
        philox4x32_10(s->counter, s->key, s->block);
        s->counter[0]++;
        s->used = 0;
    }
    return s->block[s->used++];
}

float rng_uniform(rng_stream *s)
{
    return (float)(rng_u32(s) >> 8) * (1.0f / 16777216.0f);
}

uint32_t rng_below(rng_stream *s, uint32_t n)
{
    /* Reject the top partial range so that every residue is equally likely. */
    uint32_t limit = UINT32_MAX - UINT32_MAX % n;
    uint32_t x;
    do {
        x = rng_u32(s);
    } while (x >= limit);
    return x % n;
}

double rng_normal(rng_stream *s)
{
    /* u1 in (0, 1] so that log(u1) is finite. */
    double u1 = ((double)rng_u32(s) + 1.0) / 4294967296.0;
    double u2 = (double)rng_u32(s) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
