/* utf8.c - the UTF-8 decoder of include/s2s/utf8.h: the lead byte gives the length, the range
 * of the second byte rules out overlong forms, surrogates and values above U+10FFFF, and every
 * later byte must be a continuation (0x80-0xBF). */
#include "s2s/utf8.h"

/* The length of a sequence that starts with lead byte b, 0 for a byte that starts none. */
static size_t lead_length(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF)
        return 3;
    if (b >= 0xF0 && b <= 0xF4)
        return 4;
    return 0; /* a continuation byte, or 0xC0, 0xC1, 0xF5-0xFF */
}

size_t utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = n > 0 ? lead_length(s[0]) : 0;
    if (len == 0)
        return 0;
    /* The second byte's range: after E0 and F0 the lower values would be overlong forms, after
     * ED the higher ones surrogates, after F4 the higher ones above U+10FFFF. */
    unsigned char lo = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = s[0] == 0xED ? 0x9F : s[0] == 0xF4 ? 0x8F : 0xBF;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
        if (k >= n || s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF))
            return 0;
        v = v << 6 | (s[k] & 0x3Fu);
    }
    if (cp)
        *cp = v;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_decode(s + i, n - i, NULL)) == 0)
            return false;
    return true;
}
