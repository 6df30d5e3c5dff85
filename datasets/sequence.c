/* sequence.c - the symbol-sequence tasks (copy, reverse, sort): as token ids for training on
 * the fly (synth.h) and as text lines for `s2s gen` (gen.h); one draw serves both. */
#include "s2s/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
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
        return s2s_fail(S2S_EINVAL, "task: need 1 <= min-len <= max-len, got %d and %d", t->min_len,
                        t->max_len);
    return 0;
}

int synth_vocab(const synth_task *t)
{
    return TOK_FIRST_WORD + t->symbols;
}

/* FNV-1a over whole ids (not their bytes): the content hash that has always decided the split
 * of these tasks, kept so that the training data of a seed stays what it was. */
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
    const synth_task *task;
    int *src;
    int n;
} seq_draw;

static uint32_t draw_sequence(void *ctx, rng_stream *s)
{
    seq_draw *d = ctx;
    const synth_task *t = d->task;
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

/* The source of example `index` into src (n ids) and its target into tgt. The stream key is the
 * split number itself. */
static int sequence_ids(const synth_task *t, const char *name, int key, int split, uint32_t index,
                        int *src, int *tgt, int *n)
{
    seq_draw d = {t, src, 0};
    int rc = draw_for_split(name, t->seed, (uint32_t)key, split, index, draw_sequence, &d);
    *n = d.n;
    for (int i = 0; i < d.n; i++)
        tgt[i] = t->kind == TASK_REVERSE ? src[d.n - 1 - i] : src[i];
    if (t->kind == TASK_SORT)
        qsort(tgt, (size_t)d.n, sizeof *tgt, cmp_int);
    return rc;
}

void synth_example(const synth_task *t, int split, uint32_t index, int *src, int *src_len, int *tgt,
                   int *tgt_len)
{
    /* A space too small to hold sequences of both splits gives up after DRAW_ATTEMPTS and keeps
     * the last draw: training on such a task is still defined, only not held out. */
    sequence_ids(t, NULL, split, split == SYNTH_HELDOUT ? HELDOUT_ANY : GEN_TRAIN, index, src, tgt,
                 src_len);
    *tgt_len = *src_len;
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

static void ids_text(const synth_task *t, const int *ids, int n, text_line *l)
{
    char word[16];
    for (int i = 0; i < n; i++) {
        synth_token_text(t, ids[i], word, sizeof word);
        line_word(l, word);
    }
}

/* The synth.h task of a gen.h sequence task. */
static synth_task synth_of(const gen_task *g)
{
    _Static_assert(GEN_COPY == (int)TASK_COPY && GEN_REVERSE == (int)TASK_REVERSE &&
                       GEN_SORT == (int)TASK_SORT,
                   "gen_kind lists the sequence tasks first, in synth_kind's order");
    return (synth_task){(synth_kind)g->kind, g->symbols, g->min_len, g->max_len, g->seed};
}

int sequence_check(const gen_task *g)
{
    synth_task t = synth_of(g);
    int rc = synth_check(&t);
    if (rc == 0 && t.max_len > SEQ_MAX_LEN)
        rc = s2s_fail(S2S_EINVAL, "%s: max-len must be at most %d, got %d", synth_name(t.kind),
                      SEQ_MAX_LEN, t.max_len);
    return rc;
}

int sequence_text(const gen_task *g, int split, uint32_t index, text_line *src, text_line *tgt)
{
    synth_task t = synth_of(g);
    int ids[2 * SEQ_MAX_LEN], n; /* sequence_check bounds max_len */
    int rc = sequence_ids(&t, synth_name(t.kind), KEY_SEQUENCE + split, split, index, ids,
                          ids + SEQ_MAX_LEN, &n);
    if (rc == 0) {
        ids_text(&t, ids, n, src);
        ids_text(&t, ids + SEQ_MAX_LEN, n, tgt);
    }
    return rc;
}
