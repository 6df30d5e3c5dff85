/* test_utf8.c - the UTF-8 decoder (src/core/utf8.c): every class of sequence at the edges of
 * its range (ASCII, 2-, 3- and 4-byte characters; overlong forms, surrogates, values above
 * U+10FFFF, stray continuation bytes, bytes that start nothing; sequences cut short by n, by a
 * NUL and by another byte), the code points decoded, and utf8_valid over whole strings. Then
 * two independent checks: every scalar value encoded by the test's own encoder decodes back to
 * itself with its length, and every 1-, 2- and 3-byte string is accepted exactly when it is
 * such an encoding. The bounds on reading are checked on buffers of the exact size (under
 * AddressSanitizer in scripts/test.sh a read past them fails). About 0.2 s. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/utf8.h"

typedef struct {
    const char *s;
    size_t n;    /* bytes given to utf8_decode */
    size_t want; /* its answer */
    uint32_t cp; /* the code point when want > 0 */
} decode_case;

static void expect_cases(const decode_case *c, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t cp = 0xFFFFFFFF;
        size_t k = utf8_decode(c[i].s, c[i].n, &cp);
        cr_expect_eq(k, c[i].want, "%s, case %zu: length %zu, expected %zu", what, i, k, c[i].want);
        if (c[i].want > 0)
            cr_expect_eq(cp, c[i].cp, "%s, case %zu: U+%04X, expected U+%04X", what, i,
                         (unsigned)cp, (unsigned)c[i].cp);
        else
            cr_expect_eq(cp, 0xFFFFFFFF, "%s, case %zu: *cp changed on a refusal", what, i);
        cr_expect_eq(utf8_decode(c[i].s, c[i].n, NULL), k, "%s, case %zu: cp NULL", what, i);
    }
}

#define CASES(what, ...)                                                                           \
    do {                                                                                           \
        static const decode_case cases_[] = {__VA_ARGS__};                                         \
        expect_cases(cases_, sizeof cases_ / sizeof *cases_, what);                                \
    } while (0)

Test(utf8, valid_sequences_at_the_edges_of_each_length)
{
    CASES("ASCII", {"\0", 1, 1, 0}, {"a", 1, 1, 'a'}, {"\x7f", 1, 1, 0x7F}, {"ab", 2, 1, 'a'});
    CASES("2 bytes", {"\xc2\x80", 2, 2, 0x80}, {"\xc3\xa9", 2, 2, 0xE9}, {"\xdf\xbf", 2, 2, 0x7FF},
          {"\xc3\xa9z", 3, 2, 0xE9});
    CASES("3 bytes", {"\xe0\xa0\x80", 3, 3, 0x800}, {"\xe1\x80\x80", 3, 3, 0x1000},
          {"\xe6\x97\xa5", 3, 3, 0x65E5}, {"\xed\x9f\xbf", 3, 3, 0xD7FF},
          {"\xee\x80\x80", 3, 3, 0xE000}, {"\xef\xbf\xbf", 3, 3, 0xFFFF});
    CASES("4 bytes", {"\xf0\x90\x80\x80", 4, 4, 0x10000}, {"\xf0\x9f\x98\x80", 4, 4, 0x1F600},
          {"\xf1\x80\x80\x80", 4, 4, 0x40000}, {"\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF});
}

Test(utf8, invalid_sequences_are_refused)
{
    CASES("overlong", {"\xc0\x80", 2, 0, 0}, {"\xc1\xbf", 2, 0, 0}, {"\xe0\x80\x80", 3, 0, 0},
          {"\xe0\x9f\xbf", 3, 0, 0}, {"\xf0\x80\x80\x80", 4, 0, 0}, {"\xf0\x8f\xbf\xbf", 4, 0, 0});
    CASES("surrogates", {"\xed\xa0\x80", 3, 0, 0}, {"\xed\xaf\xbf", 3, 0, 0},
          {"\xed\xb0\x80", 3, 0, 0}, {"\xed\xbf\xbf", 3, 0, 0});
    CASES("above U+10FFFF", {"\xf4\x90\x80\x80", 4, 0, 0}, {"\xf4\xbf\xbf\xbf", 4, 0, 0},
          {"\xf5\x80\x80\x80", 4, 0, 0}, {"\xf7\xbf\xbf\xbf", 4, 0, 0},
          {"\xf8\x88\x80\x80\x80", 5, 0, 0}, {"\xfe", 1, 0, 0}, {"\xff", 1, 0, 0});
    CASES("stray continuation", {"\x80", 1, 0, 0}, {"\xbf", 1, 0, 0}, {"\x80\x80", 2, 0, 0},
          {"\xa9z", 2, 0, 0});
    CASES("a continuation missing", {"\xc3z", 2, 0, 0}, {"\xe2\x82z", 3, 0, 0},
          {"\xe2z\xac", 3, 0, 0}, {"\xf0\x9f\x98z", 4, 0, 0}, {"\xc3\xc3\xa9", 3, 0, 0},
          {"\xe2\xc3\xa9", 3, 0, 0}, {"\xc3\xff", 2, 0, 0});
    CASES("nothing", {"", 0, 0, 0}, {"a", 0, 0, 0});
}

Test(utf8, truncated_at_n_and_at_a_nul)
{
    /* The bytes after n would complete the sequence: n alone must decide. */
    CASES("cut by n", {"\xc3\xa9", 1, 0, 0}, {"\xe2\x82\xac", 1, 0, 0}, {"\xe2\x82\xac", 2, 0, 0},
          {"\xf0\x9f\x98\x80", 1, 0, 0}, {"\xf0\x9f\x98\x80", 2, 0, 0},
          {"\xf0\x9f\x98\x80", 3, 0, 0});
    /* A NUL is not a continuation byte: a string cut there is refused, whatever n says. */
    CASES("cut by a NUL", {"\xc3\0\xa9", 3, 0, 0}, {"\xe2\x82\0\xac", 4, 0, 0},
          {"\xe2\0\x82\xac", 4, 0, 0}, {"\xf0\x9f\x98\0\x80", 5, 0, 0});
}

/* A buffer of exactly n bytes on the heap, so that a read past it is a sanitizer error. */
static char *exact(const char *bytes, size_t n)
{
    char *p = malloc(n);
    cr_assert_not_null(p);
    memcpy(p, bytes, n);
    return p;
}

Test(utf8, reads_stop_at_n_and_at_the_byte_that_ends_a_sequence)
{
    static const struct {
        const char *bytes;
        size_t size, n, want;
    } cases[] = {
        {"\xf0\x9f\x98", 3, 3, 0}, /* n is the buffer: the missing byte is not read */
        {"\xe2\x82", 2, 2, 0},
        {"\xe2\0", 2, 4, 0},     /* n beyond the buffer, as for a NUL-terminated string */
        {"\xf0\x9f\0", 3, 4, 0}, /* whose NUL ends the sequence before the buffer ends */
        {"\xc3\xa9", 2, 2, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = exact(cases[i].bytes, cases[i].size);
        cr_expect_eq(utf8_decode(p, cases[i].n, NULL), cases[i].want, "case %zu", i);
        free(p);
    }
}

Test(utf8, valid_strings)
{
    static const char good[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5";
    cr_expect(utf8_valid(good, strlen(good)));
    cr_expect(utf8_valid("", 0));
    cr_expect(utf8_valid("a\0b", 3), "NUL is U+0000");
    cr_expect(utf8_valid("\xc3\xa9\xff", 2), "only n bytes count");
    static const char *const bad[] = {
        "caf\xc3",           /* truncated at the end */
        "\xc3\xa9\x80",      /* a stray continuation after a character */
        "ab\xed\xa0\x80z",   /* a surrogate in the middle */
        "\xc0\xaf",          /* overlong '/' */
        "x\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect(!utf8_valid(bad[i], strlen(bad[i])), "accepted bad[%zu]", i);
    cr_expect(!utf8_valid("\xc3\0", 2), "cut by a NUL");
}

/* The test's own encoder, after RFC 3629's table: the bytes of cp into b, their count. */
static size_t encode(uint32_t cp, unsigned char *b)
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t k = n - 1; k > 0; k--, cp >>= 6)
        b[k] = (unsigned char)(0x80 | (cp & 0x3F));
    b[0] = (unsigned char)(lead[n] | cp);
    return n;
}

static bool is_scalar(uint32_t cp)
{
    return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

Test(utf8, every_scalar_value_round_trips)
{
    long decoded = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (!is_scalar(cp))
            continue;
        unsigned char b[4];
        size_t n = encode(cp, b);
        uint32_t got = 0;
        size_t k = utf8_decode((const char *)b, n, &got);
        if (k != n || got != cp)
            cr_assert_fail("U+%04X: length %zu U+%04X, expected %zu", (unsigned)cp, k,
                           (unsigned)got, n);
        decoded++;
    }
    cr_expect_eq(decoded, 0x110000 - 0x800, "every scalar value once");
}

/* Every string of 1, 2 and 3 bytes is accepted as a whole exactly when it is the encoding of a
 * scalar value: a bitmap of the encodings (by the test's encoder) against the decoder. */
Test(utf8, every_short_string_is_judged_as_the_encoder_says)
{
    uint8_t *is_encoding = calloc(1u << 24, 1);
    cr_assert_not_null(is_encoding);
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        unsigned char b[4];
        size_t n = is_scalar(cp) ? encode(cp, b) : 0;
        uint32_t key = 0;
        for (size_t k = 0; k < n; k++)
            key = key << 8 | b[k];
        if (n > 0)
            is_encoding[key] |= (uint8_t)(1u << n);
    }
    long mismatches = 0;
    for (uint32_t key = 0; key < (1u << 24); key++) {
        unsigned char b[3] = {(unsigned char)(key >> 16), (unsigned char)(key >> 8),
                              (unsigned char)key};
        for (size_t n = 1; n <= 3; n++) {
            if (n < 3 && key >> (8 * n)) /* the shorter strings once, as the low bytes */
                continue;
            const char *s = (const char *)b + (3 - n);
            bool whole = utf8_decode(s, n, NULL) == n;
            bool want = (is_encoding[key] >> n) & 1;
            if (whole != want && mismatches++ < 5)
                cr_expect_fail("%zu bytes %06X: %s", n, (unsigned)key,
                               want ? "refused" : "accepted");
        }
    }
    cr_expect_eq(mismatches, 0, "%ld strings judged wrongly", mismatches);
    free(is_encoding);
}
