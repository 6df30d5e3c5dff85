/* draw.c - what the task files of datasets/ share (internal.h): building a line of words, the
 * content hash, and the held-out rule that assigns content to a split and redraws an example
 * until it fits. Below gen.c, which dispatches to the tasks, and the tasks, which use it. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "s2s/status.h"


void line_init(text_line *l, char *buf, size_t size)
{
    *l = (text_line){buf, size, 0, size == 0};
    if (size)
        buf[0] = '\0';
}

void line_word(text_line *l, const char *word)
{
    size_t n = strlen(word), sep = l->len > 0;
    if (l->full || l->len + sep + n >= l->size) {
        l->full = true;
        return;
    }
    if (sep)
        l->buf[l->len++] = ' ';
    memcpy(l->buf + l->len, word, n + 1);
    l->len += n;
}

uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

bool split_holds(int split, uint32_t hash)
{
    if (hash % 10 != 0)
        return split == SPLIT_TRAIN;
    /* The held-out tenth: the next decimal digit's parity splits it evenly into valid and test. */
    return split == ((hash / 10) % 2 ? SPLIT_TEST : SPLIT_VALID);
}

int draw_for_split(const char *task, uint32_t seed, uint32_t key, int split, uint32_t index,
                   draw_fn draw, void *ctx)
{
    for (uint32_t attempt = 0; attempt < DRAW_ATTEMPTS; attempt++) {
        rng_stream s;
        rng_stream_init(&s, seed, RNG_SYNTH, key, index, attempt);
        /* Each split holds a fixed share of all contents (9/10, 1/20, 1/20), so this loop ends
         * after a few draws unless the task has very few distinct contents. */
        if (split_holds(split, draw(ctx, &s)))
            return 0;
    }
    return s2s_fail(S2S_ERANGE,
                    "%s: example %u of the %s split: no source of that split in %d draws; the "
                    "task has too few distinct sources (raise --symbols or --max-len)",
                    task, index, split_names[split], DRAW_ATTEMPTS);
}
