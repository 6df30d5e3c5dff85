/* batcher.c - epoch plans (shuffle, length bucketing, batch cutting) and rank shares. */
#include "s2s/batcher.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/rng.h"
#include "s2s/status.h"

int batcher_init(batcher *b, const batcher_config *cfg, long n, const int *src_len,
                 const int *tgt_len)
{
    memset(b, 0, sizeof *b);
    if (n < 1 || cfg->batch_sents < 1 || cfg->min_sents < 1 || cfg->window < 1 ||
        cfg->batch_tokens < 0 || cfg->min_sents > cfg->batch_sents)
        return s2s_fail(S2S_EINVAL,
                        "batcher: need sentences >= 1 (%ld), batch sentences >= 1 (%d), "
                        "1 <= min sentences <= batch sentences (%d), window >= 1 (%d), "
                        "batch tokens >= 0 (%ld)",
                        n, cfg->batch_sents, cfg->min_sents, cfg->window, cfg->batch_tokens);
    if (n < cfg->min_sents)
        return s2s_fail(S2S_EINVAL,
                        "batcher: %ld sentences cannot fill batches of at least %d sentences", n,
                        cfg->min_sents);
    if (n > UINT32_MAX)
        return s2s_fail(S2S_ERANGE, "batcher: %ld sentences exceed 2^32", n);
    b->cfg = *cfg;
    b->n = n;
    b->src_len = src_len;
    b->tgt_len = tgt_len;
    b->order = malloc((size_t)n * sizeof(long));
    b->start = malloc(((size_t)n + 1) * sizeof(long));
    b->perm_batches = malloc((size_t)n * sizeof(long));
    b->scratch = malloc((size_t)n * sizeof(long));
    if (!b->order || !b->start || !b->perm_batches || !b->scratch) {
        batcher_free(b);
        return s2s_fail(S2S_ENOMEM, "batcher: cannot allocate the plan for %ld sentences", n);
    }
    return 0;
}

void batcher_free(batcher *b)
{
    free(b->order);
    free(b->start);
    free(b->perm_batches);
    free(b->scratch);
    memset(b, 0, sizeof *b);
}

/* Fisher-Yates over a[0..n) from one stream: a pure function of the stream's key. */
static void shuffle(long *a, long n, uint32_t seed, uint32_t epoch, uint32_t which)
{
    rng_stream s;
    rng_stream_init(&s, seed, RNG_SHUFFLE, epoch, which, 0);
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rng_below(&s, (uint32_t)(i + 1));
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Stable merge sort of ids by (source length, target length): the same result everywhere,
 * unlike qsort, whose order of equal keys is unspecified. */
static int before(const batcher *b, long x, long y)
{
    if (b->src_len[x] != b->src_len[y])
        return b->src_len[x] < b->src_len[y];
    return b->tgt_len[x] < b->tgt_len[y];
}

static void sort_by_length(const batcher *b, long *a, long n, long *tmp)
{
    for (long width = 1; width < n; width *= 2) {
        for (long lo = 0; lo < n; lo += 2 * width) {
            long mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            long i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = before(b, a[j], a[i]) ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, (size_t)n * sizeof(long));
    }
}

static void plan(batcher *b, uint32_t epoch)
{
    if (b->has_plan && b->planned == epoch)
        return;
    const batcher_config *c = &b->cfg;
    for (long i = 0; i < b->n; i++)
        b->order[i] = i;
    shuffle(b->order, b->n, c->seed, epoch, 0);
    for (long w = 0; w < b->n; w += c->window) {
        long len = b->n - w < c->window ? b->n - w : c->window;
        sort_by_length(b, b->order + w, len, b->scratch);
    }
    /* Cut: close the batch when one more sentence would break a limit, but never below
     * min_sents. */
    long nb = 0, i = 0;
    while (i < b->n) {
        b->start[nb] = i;
        long count = 0, max_src = 0, max_tgt = 0;
        while (i < b->n && count < c->batch_sents) {
            long s = b->src_len[b->order[i]] > max_src ? b->src_len[b->order[i]] : max_src;
            long t = b->tgt_len[b->order[i]] > max_tgt ? b->tgt_len[b->order[i]] : max_tgt;
            if (count >= c->min_sents && c->batch_tokens > 0 &&
                (count + 1) * (s + t) > c->batch_tokens)
                break;
            max_src = s;
            max_tgt = t;
            count++;
            i++;
        }
        nb++;
    }
    /* A last batch too small for min_sents ranks joins the one before it. */
    if (nb > 1 && b->n - b->start[nb - 1] < c->min_sents)
        nb--;
    b->start[nb] = b->n;
    b->n_batches = nb;
    for (long k = 0; k < nb; k++)
        b->perm_batches[k] = k;
    shuffle(b->perm_batches, nb, c->seed, epoch, 1);
    b->planned = epoch;
    b->has_plan = 1;
}

long batcher_epoch_steps(batcher *b, uint32_t epoch)
{
    plan(b, epoch);
    return b->n_batches;
}

int batcher_next(batcher *b, batcher_state *st, int rank, int ranks, const long **ids,
                 int *global, int *first, int *count)
{
    if (ranks < 1 || rank < 0 || rank >= ranks || ranks > b->cfg.min_sents)
        return s2s_fail(S2S_EINVAL,
                        "batcher: rank %d of %d: every batch is planned for at most %d ranks "
                        "(min sentences per batch)",
                        rank, ranks, b->cfg.min_sents);
    plan(b, st->epoch);
    if (st->next >= (uint64_t)b->n_batches) { /* a state saved at the end of an epoch */
        st->epoch++;
        st->next = 0;
        plan(b, st->epoch);
    }
    long k = b->perm_batches[st->next];
    long m = b->start[k + 1] - b->start[k];
    *ids = b->order + b->start[k];
    *global = (int)m;
    *first = (int)(m * rank / ranks);
    *count = (int)(m * (rank + 1) / ranks) - *first;
    st->next++;
    return 0;
}
