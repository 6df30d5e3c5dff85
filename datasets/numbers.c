/* numbers.c - the numbers task: English number words to digits, "three hundred forty two" to
 * "3 4 2", for 0 .. 999,999,999. The digits are separate words so that whitespace tokenization
 * gives a ten-symbol target vocabulary. */
#include <stdio.h>

#include "internal.h"
#include "s2s/status.h"

enum { NUMBER_MAX = 999999999 };

static const char *const ones[20] = {"zero",    "one",     "two",       "three",    "four",
                                     "five",    "six",     "seven",     "eight",    "nine",
                                     "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                     "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[10] = {"",      "",      "twenty",  "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty", "ninety"};

/* 1..999 without "and" or hyphens: "one hundred one", "forty two". */
static void words_below_1000(unsigned n, text_line *l)
{
    if (n >= 100) {
        line_word(l, ones[n / 100]);
        line_word(l, "hundred");
        n %= 100;
    }
    if (n >= 20) {
        line_word(l, tens[n / 10]);
        n %= 10;
    }
    if (n > 0)
        line_word(l, ones[n]);
}

static void number_words(uint32_t n, text_line *l)
{
    static const struct {
        uint32_t scale;
        const char *name;
    } groups[] = {{1000000, "million"}, {1000, "thousand"}, {1, NULL}};
    if (n == 0)
        line_word(l, ones[0]);
    for (int i = 0; i < 3; i++) {
        unsigned g = n / groups[i].scale % 1000;
        if (g == 0)
            continue;
        words_below_1000(g, l);
        if (groups[i].name)
            line_word(l, groups[i].name);
    }
}

static void number_digits(uint32_t n, text_line *l)
{
    char digits[16], one[2] = {0, 0};
    snprintf(digits, sizeof digits, "%u", (unsigned)n);
    for (const char *c = digits; *c; c++) {
        one[0] = *c;
        line_word(l, one);
    }
}

/* Writes one side of n into buf; the public spellings (gen.h) are these. */
static int number_text(uint32_t n, char *buf, size_t size, void (*side)(uint32_t, text_line *))
{
    if (n > NUMBER_MAX)
        return s2s_fail(S2S_ERANGE, "numbers: %u is beyond %d", (unsigned)n, NUMBER_MAX);
    text_line l;
    line_init(&l, buf, size);
    side(n, &l);
    return l.full ? s2s_fail(S2S_ERANGE, "numbers: %u does not fit in %zu bytes", (unsigned)n, size)
                  : 0;
}

int gen_number_words(uint32_t n, char *buf, size_t size)
{
    return number_text(n, buf, size, number_words);
}

int gen_number_digits(uint32_t n, char *buf, size_t size)
{
    return number_text(n, buf, size, number_digits);
}

/* Held-out data is numbers of 4..9 digits; every number below 1,000 is training data. There
 * are too few small numbers to hold some out: the redraw loop would make a held-out "seven"
 * fill a fifth of the validation set, one line repeated. */
enum { HELDOUT_MIN_DIGITS = 4, HELDOUT_MIN = 1000 };

typedef struct {
    uint32_t n;
    bool heldout; /* drawing for valid or test */
} number_draw;

/* The number of digits is uniform (1..9 in training, 4..9 held out), then the digits are (no
 * leading zero), so "seven" is as common a shape as "six hundred million ...". */
static uint32_t draw_number(void *ctx, rng_stream *s)
{
    number_draw *d = ctx;
    uint32_t first = d->heldout ? HELDOUT_MIN_DIGITS : 1;
    uint32_t digits = first + rng_below(s, 10 - first);
    uint32_t n = digits == 1 ? rng_below(s, 10) : 1 + rng_below(s, 9);
    for (uint32_t i = 1; i < digits; i++)
        n = n * 10 + rng_below(s, 10);
    d->n = n;
    if (n < HELDOUT_MIN)
        return 1; /* a hash of the training split (split_holds) */
    const unsigned char bytes[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                                    (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
    return fnv1a(FNV_OFFSET, bytes, sizeof bytes);
}

int numbers_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt)
{
    number_draw d = {0, split != SPLIT_TRAIN};
    int rc = draw_for_split("numbers", t->seed, KEY_NUMBERS + (uint32_t)split, split, index,
                            draw_number, &d);
    if (rc < 0)
        return rc;
    number_words(d.n, src);
    number_digits(d.n, tgt);
    return 0;
}
