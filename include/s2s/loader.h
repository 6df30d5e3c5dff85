/* loader.h - a rank's share of each global batch, read from an HDF5 dataset into a padded batch.
 *
 * The loader keeps every sentence's length in memory (8 bytes a pair, for the batch plan of
 * include/s2s/batcher.h, which every rank computes identically) and reads from the file only
 * the tokens of its own share of each step's global batch: a rank never reads the rest of the
 * corpus. It also reports the global batch's size and target-token count, which every rank can
 * compute from the lengths alone, so normalizing the loss by the global token count needs no
 * communication. */
#ifndef S2S_LOADER_H
#define S2S_LOADER_H

#include "s2s/batch.h"
#include "s2s/batcher.h"
#include "s2s/dataset.h"

typedef struct {
    dataset *ds;             /* borrowed */
    split_id split;
    int ranks;
    batcher bat;
    int *src_len, *tgt_len;  /* [n] lengths of every sentence of the split */
    int max_src, max_tgt;    /* longest source, target sentence of the split */
    int max_share;           /* most sentences one rank can get in a step */
    int row;                 /* max(max_src, max_tgt): the row width of the read buffers */
    int32_t *src, *tgt;      /* [max_share, row] tokens as read */
    int *share_src_len, *share_tgt_len; /* [max_share] */
    const int **src_rows, **tgt_rows;   /* [max_share] row pointers for batch_fill */
} loader;

/* Plans batches of `split` for `ranks` ranks (cfg->min_sents is raised to ranks if below).
 * S2S_EINVAL with a clear message if the split has fewer sentences than ranks. */
int loader_init(loader *l, dataset *ds, split_id split, const batcher_config *cfg, int ranks);
void loader_free(loader *l); /* safe on a zeroed loader */

/* A batch with room for any share this loader produces: initialize it with these capacities. */
void loader_batch_capacity(const loader *l, int *max_B, int *max_src, int *max_tgt);

/* The next step: reads rank's share of the global batch at *st into bt (sentence ids in
 * bt->ids), advances *st. *global_sents and *global_tgt_tokens (decoder outputs, </s> included)
 * describe the whole global batch. */
int loader_next(loader *l, batcher_state *st, int rank, batch *bt, int *global_sents,
                long *global_tgt_tokens);

#endif
