/* utf8.h - the one UTF-8 decoder of s2s. The vocabularies (which accept only valid UTF-8), the
 * JSON writer (which turns every byte outside a valid sequence into \ufffd) and reader (whose
 * strings must be valid), and the 13a tokenizer of BLEU and chrF (which decodes invalid bytes
 * as Python's surrogateescape does, on top of this) all decide what a valid sequence is here,
 * so they agree byte for byte.
 *
 * Valid means what Python's strict decoder and RFC 3629 accept: the shortest form of a Unicode
 * scalar value. Rejected: a byte that starts no sequence (0x80-0xBF alone: a stray
 * continuation; 0xC0, 0xC1 and 0xF5-0xFF: no shortest form of a scalar value starts with
 * them), an overlong form (E0 80-9F, F0 80-8F), a surrogate (ED A0-BF: U+D800-U+DFFF), a
 * value above U+10FFFF (F4 90-BF), and a sequence cut short, by the end of the bytes or by a
 * byte that is not a continuation (a NUL included). NUL itself is valid (U+0000): whether a
 * NUL may stand in some text is the caller's business. */
#ifndef S2S_UTF8_H
#define S2S_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the valid sequence at the start of s[0..n), its code point in *cp
 * (if cp is not NULL); 0 if s[0..n) does not start with one (n == 0 included), and then *cp is
 * left as it was. Reads no byte past s[n - 1], and none after the first byte that ends a
 * sequence early, so a NUL-terminated string can be given any n that covers its NUL. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Whether all of s[0..n) is valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

#endif
