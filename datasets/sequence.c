/* sequence.c - the symbol-sequence tasks of `s2s gen` (copy, reverse, sort) as text lines: a
 * source of random symbols and its copy, reversal or sorted order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/tokens.h"

/* FNV-1a over whole ids (not their bytes): the content hash that has always decided the split
 * of these tasks, kept so that the corpus of a seed stays what it was. */
static uint32_t hash_ids(const int *ids, int n)
{
    uint32_t h = FNV_OFFSET;
    for (int i = 0; i < n; i++) {
        h ^= (uint32_t)ids[i];
        h *= 16777619u;
    }
    return h;
}

typedef struct {
    const gen_task *task;
    int *src;
    int n;
} seq_draw;

static uint32_t draw_sequence(void *ctx, rng_stream *s)
{
    seq_draw *d = ctx;
    const gen_task *t = d->task;
    d->n = t->min_len + (int)rng_below(s, (uint32_t)(t->max_len - t->min_len + 1));
    for (int i = 0; i < d->n; i++)
        d->src[i] = TOK_FIRST_WORD + (int)rng_below(s, (uint32_t)t->symbols);
    return hash_ids(d->src, d->n);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The source of example `index` into src (n ids) and its target into tgt. Symbols are ids from
 * TOK_FIRST_WORD on, as they always were drawn, so that a seed's corpus stays what it was. */
static int sequence_ids(const gen_task *t, int split, uint32_t index, int *src, int *tgt, int *n)
{
    seq_draw d = {t, src, 0};
    int rc = draw_for_split(gen_task_names[t->kind], t->seed, (uint32_t)(KEY_SEQUENCE + split),
                            split, index, draw_sequence, &d);
    *n = d.n;
    for (int i = 0; i < d.n; i++)
        tgt[i] = t->kind == GEN_REVERSE ? src[d.n - 1 - i] : src[i];
    if (t->kind == GEN_SORT)
        qsort(tgt, (size_t)d.n, sizeof *tgt, cmp_int);
    return rc;
}

/* Text of a symbol: "a".."z" for alphabets up to 26, else "w0", "w1", .... */
static void ids_text(const gen_task *t, const int *ids, int n, text_line *l)
{
    char word[16];
    for (int i = 0; i < n; i++) {
        int k = ids[i] - TOK_FIRST_WORD;
        if (t->symbols <= 26)
            snprintf(word, sizeof word, "%c", 'a' + k);
        else
            snprintf(word, sizeof word, "w%d", k);
        line_word(l, word);
    }
}

int sequence_check(const gen_task *t)
{
    const char *name = gen_task_names[t->kind];
    if (t->symbols < 1 || t->symbols > 1000)
        return s2s_fail(S2S_EINVAL, "task: symbols must be in 1..1000, got %d", t->symbols);
    if (t->min_len < 1 || t->max_len < t->min_len)
        return s2s_fail(S2S_EINVAL, "task: need 1 <= min-len <= max-len, got %d and %d", t->min_len,
                        t->max_len);
    if (t->max_len > SEQ_MAX_LEN)
        return s2s_fail(S2S_EINVAL, "%s: max-len must be at most %d, got %d", name, SEQ_MAX_LEN,
                        t->max_len);
    return 0;
}

int sequence_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt)
{
    int ids[2 * SEQ_MAX_LEN], n; /* sequence_check bounds max_len */
    int rc = sequence_ids(t, split, index, ids, ids + SEQ_MAX_LEN, &n);
    if (rc == 0) {
        ids_text(t, ids, n, src);
        ids_text(t, ids + SEQ_MAX_LEN, n, tgt);
    }
    return rc;
}
