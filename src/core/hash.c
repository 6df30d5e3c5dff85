/* hash.c - hash64: four multiply-xorshift lanes over 32-byte blocks, then the tail. */
#include "s2s/hash.h"

#include <string.h>

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) /* little-endian by definition; compilers fuse this */
        v = v << 8 | p[i];
    return v;
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    return x ^ (x >> 32);
}

uint64_t hash64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    const uint64_t k = UINT64_C(0x9fb21c651e98df25);
    uint64_t lane[4] = {h, h ^ k, h + k, h - k};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 4; j++)
            lane[j] = (lane[j] ^ load64(p + i + 8 * j)) * k, lane[j] ^= lane[j] >> 29;
    uint64_t out = mix(lane[0]) ^ mix(lane[1] + 1) * 3 ^ mix(lane[2] + 2) * 5 ^ mix(lane[3] + 3) * 7;
    for (; i + 8 <= n; i += 8)
        out = mix(out ^ load64(p + i));
    if (i < n) {
        unsigned char tail[8] = {0};
        memcpy(tail, p + i, n - i);
        out = mix(out ^ load64(tail) ^ (uint64_t)(n - i) << 56);
    }
    return mix(out ^ (uint64_t)n);
}
