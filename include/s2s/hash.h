/* hash.h - a fast non-cryptographic 64-bit hash for checksums of large buffers (checkpoint
 * contents, the parameters every rank must hold identically).
 *
 * Four independent multiply-xorshift lanes over 32-byte blocks keep the CPU busy (several
 * GB/s), so hashing hundreds of megabytes of parameters and optimizer moments costs well under
 * a second. It detects corruption and disagreement; it is not meant to resist an adversary.
 * The value is defined byte by byte (little-endian words), the same on every machine. */
#ifndef S2S_HASH_H
#define S2S_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH64_INIT UINT64_C(0x9e3779b97f4a7c15)

/* Continues hash h over n more bytes; chaining calls over consecutive pieces gives a value that
 * depends on how the data was cut (each call is one unit), so hash the same pieces to compare. */
uint64_t hash64(uint64_t h, const void *data, size_t n);

#endif
