/* synth.c - built-in synthetic translation tasks (copy, reverse, sort). */
#include "s2s/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/tokens.h"

static const char *const task_names[] = {"copy", "reverse", "sort"};

const char *synth_name(synth_kind kind)
{
    return (unsigned)kind < 3 ? task_names[kind] : "?";
}

int synth_parse(const char *name, synth_kind *out)
{
    int k = s2s_choice("task", task_names, 3, name);
    if (k >= 0)
        *out = (synth_kind)k;
    return k < 0 ? k : 0;
}

int synth_check(const synth_task *t)
{
    if (t->symbols < 1 || t->symbols > 1000)
        return s2s_fail(S2S_EINVAL, "task: symbols must be in 1..1000, got %d", t->symbols);
    if (t->min_len < 1 || t->max_len < t->min_len)
        return s2s_fail(S2S_EINVAL, "task: need 1 <= min-len <= max-len, got %d and %d",
                        t->min_len, t->max_len);
    return 0;
}

int synth_vocab(const synth_task *t)
{
    return TOK_FIRST_WORD + t->symbols;
}

/* FNV-1a over the ids: a stable content hash that decides the split. */
static uint32_t hash_ids(const int *ids, int n)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) {
        h ^= (uint32_t)ids[i];
        h *= 16777619u;
    }
    return h;
}

static int is_heldout(const int *ids, int n)
{
    return hash_ids(ids, n) % 10 == 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void synth_example(const synth_task *t, int split, uint32_t index, int *src, int *src_len,
                   int *tgt, int *tgt_len)
{
    int n = 0;
    for (uint32_t attempt = 0;; attempt++) {
        rng_stream s;
        rng_stream_init(&s, t->seed, RNG_SYNTH, (uint32_t)split, index, attempt);
        n = t->min_len + (int)rng_below(&s, (uint32_t)(t->max_len - t->min_len + 1));
        for (int i = 0; i < n; i++)
            src[i] = TOK_FIRST_WORD + (int)rng_below(&s, (uint32_t)t->symbols);
        /* Redraw until the example lands in its split; the loop ends quickly because each
         * split holds a fixed share (90% / 10%) of all sequences. A space too small to have
         * any held-out sequence would loop; 1000 attempts bound it. */
        if (is_heldout(src, n) == (split == SYNTH_HELDOUT) || attempt == 1000)
            break;
    }
    *src_len = n;
    *tgt_len = n;
    for (int i = 0; i < n; i++)
        tgt[i] = t->kind == TASK_REVERSE ? src[n - 1 - i] : src[i];
    if (t->kind == TASK_SORT)
        qsort(tgt, (size_t)n, sizeof *tgt, cmp_int);
}

void synth_token_text(const synth_task *t, int id, char *buf, size_t size)
{
    static const char *const reserved[] = {"<pad>", "<unk>", "<s>", "</s>"};
    if (id < TOK_FIRST_WORD)
        snprintf(buf, size, "%s", id >= 0 ? reserved[id] : "<?>");
    else if (t->symbols <= 26)
        snprintf(buf, size, "%c", 'a' + (id - TOK_FIRST_WORD));
    else
        snprintf(buf, size, "w%d", id - TOK_FIRST_WORD);
}
