/* loader.c - a rank's share of each global batch, from the dataset file into a padded batch. */
#include "s2s/loader.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

int loader_init(loader *l, dataset *ds, split_id split, const batcher_config *cfg, int ranks)
{
    memset(l, 0, sizeof *l);
    l->ds = ds;
    l->split = split;
    l->ranks = ranks;
    long n = ds_count(ds, split);
    int rc;
    if (ranks < 1)
        return s2s_fail(S2S_EINVAL, "loader: %d ranks", ranks);
    if (n < ranks)
        return s2s_fail(S2S_EINVAL, "%s split: %ld sentence pairs cannot give each of %d ranks "
                        "work", split_name(split), n, ranks);
    batcher_config c = *cfg;
    if (c.min_sents < ranks)
        c.min_sents = ranks;
    l->src_len = malloc((size_t)n * sizeof *l->src_len);
    l->tgt_len = malloc((size_t)n * sizeof *l->tgt_len);
    if (!l->src_len || !l->tgt_len) {
        rc = s2s_fail(S2S_ENOMEM, "loader: lengths of %ld sentences", n);
        goto fail;
    }
    if ((rc = ds_lengths(ds, split, l->src_len, l->tgt_len)) < 0)
        goto fail;
    for (long i = 0; i < n; i++) {
        l->max_src = l->src_len[i] > l->max_src ? l->src_len[i] : l->max_src;
        l->max_tgt = l->tgt_len[i] > l->max_tgt ? l->tgt_len[i] : l->max_tgt;
    }
    if ((rc = batcher_init(&l->bat, &c, n, l->src_len, l->tgt_len)) < 0)
        goto fail;
    /* A global batch holds at most batch_sents sentences, plus fewer than min_sents when the
     * epoch's remainder joins it (include/s2s/batcher.h); a share is its ceiling over ranks. */
    long most = (long)c.batch_sents + c.min_sents - 1;
    if (most > n)
        most = n;
    l->max_share = (int)((most + ranks - 1) / ranks);
    size_t m = (size_t)l->max_share;
    l->row = l->max_src > l->max_tgt ? l->max_src : l->max_tgt;
    l->src = malloc(m * (size_t)l->row * sizeof *l->src);
    l->tgt = malloc(m * (size_t)l->row * sizeof *l->tgt);
    l->share_src_len = malloc(m * sizeof(int));
    l->share_tgt_len = malloc(m * sizeof(int));
    l->src_rows = malloc(m * sizeof *l->src_rows);
    l->tgt_rows = malloc(m * sizeof *l->tgt_rows);
    if (!l->src || !l->tgt || !l->share_src_len || !l->share_tgt_len ||
        !l->src_rows || !l->tgt_rows) {
        rc = s2s_fail(S2S_ENOMEM, "loader: buffers for %d sentences of up to %d + %d tokens",
                      l->max_share, l->max_src, l->max_tgt);
        goto fail;
    }
    for (size_t i = 0; i < m; i++) {
        l->src_rows[i] = (const int *)(l->src + i * (size_t)l->row);
        l->tgt_rows[i] = (const int *)(l->tgt + i * (size_t)l->row);
    }
    return 0;
fail:
    loader_free(l);
    return rc;
}

void loader_free(loader *l)
{
    batcher_free(&l->bat);
    free(l->src_len);
    free(l->tgt_len);
    free(l->src);
    free(l->tgt);
    free(l->share_src_len);
    free(l->share_tgt_len);
    free(l->src_rows);
    free(l->tgt_rows);
    memset(l, 0, sizeof *l);
}

void loader_batch_capacity(const loader *l, int *max_B, int *max_src, int *max_tgt)
{
    *max_B = l->max_share;
    *max_src = l->max_src;
    *max_tgt = l->max_tgt + 1; /* decoder steps: the words and </s> */
}

int loader_next(loader *l, batcher_state *st, int rank, batch *bt, int *global_sents,
                long *global_tgt_tokens)
{
    const long *ids;
    int global, first, count;
    int rc = batcher_next(&l->bat, st, rank, l->ranks, &ids, &global, &first, &count);
    if (rc < 0)
        return rc;
    long tokens = 0;
    for (int i = 0; i < global; i++)
        tokens += l->tgt_len[ids[i]] + 1;
    /* The share keeps the plan's order (ds_read itself reads in file order). */
    const long *share = ids + first;
    _Static_assert(sizeof(int) == sizeof(int32_t), "token rows are read as int32 and used as int");
    if ((rc = ds_read(l->ds, l->split, share, count, l->row, l->src, l->share_src_len, l->tgt,
                      l->share_tgt_len)) < 0)
        return rc;
    if ((rc = batch_fill(bt, count, l->src_rows, l->share_src_len, l->tgt_rows,
                         l->share_tgt_len)) < 0)
        return rc;
    for (int i = 0; i < count; i++)
        bt->ids[i] = (uint32_t)share[i];
    *global_sents = global;
    *global_tgt_tokens = tokens;
    return 0;
}
