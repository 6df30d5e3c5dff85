/* rng.h - counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * Every draw is a pure function of (seed, purpose, a, b, c, draw index): no generator state is
 * carried from one use to another, so results never depend on how many ranks or threads drew
 * before. A stream names what the numbers are for, e.g. dropout for
 * (seed, RNG_DROPOUT, step, sentence id, layer << 16 | position), and then yields its draws in
 * order. Key = (seed, purpose); counter = (block, a, b, c); each block gives four 32-bit words. */
#ifndef S2S_RNG_H
#define S2S_RNG_H

#include <stdint.h>

enum rng_purpose {
    RNG_INIT = 1,     /* parameter initialization: a = tensor index */
    RNG_DROPOUT = 2,  /* dropout masks */
    RNG_SHUFFLE = 3,  /* epoch permutations and batch order */
    RNG_SAMPLING = 4, /* scheduled-sampling coins */
    RNG_SYNTH = 5,    /* synthetic datasets: a = split, b = example index */
    RNG_BENCH = 6,    /* random tokens for benchmarks */
    RNG_TEST = 7,     /* test fixtures */
    RNG_PREP = 8,     /* s2s prep: the validation and test lines carved from training data */
};

/* The raw generator: out = Philox4x32-10(counter, key). */
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

typedef struct {
    uint32_t key[2];
    uint32_t counter[4]; /* counter[0] is the block index within the stream */
    uint32_t block[4];   /* the current block's output */
    int used;            /* words of block[] already returned */
} rng_stream;

void rng_stream_init(rng_stream *s, uint32_t seed, uint32_t purpose, uint32_t a, uint32_t b,
                     uint32_t c);
uint32_t rng_u32(rng_stream *s);
/* Uniform in [0, 1) with 24 random bits (exactly representable in float). */
float rng_uniform(rng_stream *s);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t rng_below(rng_stream *s, uint32_t n);
/* Standard normal (Box-Muller in double). */
double rng_normal(rng_stream *s);

#endif
