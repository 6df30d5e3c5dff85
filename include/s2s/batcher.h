/* batcher.h - the global batch sequence of an epoch, and each rank's share of every batch.
 *
 * An epoch's plan is a pure function of (seed, epoch) and the sentence lengths, the same on
 * every rank and for any number of ranks:
 *   1. a permutation of all sentence ids from (seed, RNG_SHUFFLE, epoch, 0);
 *   2. length bucketing: within windows of `window` consecutive ids of the permutation, ids are
 *      sorted by (source length, target length), so batches hold sentences of similar length;
 *   3. cut into global batches: sentences are added while the batch holds at most batch_sents
 *      sentences and at most batch_tokens padded tokens (count x (longest source + longest
 *      target)); a batch always gets at least min_sents sentences (the token limit gives way),
 *      so that up to min_sents ranks all have work at every step;
 *   4. the order of the batches is shuffled from (seed, RNG_SHUFFLE, epoch, 1).
 * Every sentence is in exactly one batch of the epoch. Remainder policy: an epoch's last batch
 * holding fewer than min_sents sentences joins the batch before it (which may then exceed the
 * limits by fewer than min_sents sentences). A global batch is what one optimizer step
 * sees; rank r of R takes the contiguous share [floor(r m / R), floor((r+1) m / R)) of its m
 * sentences, so all ranks run the same number of steps and the shares differ by at most one.
 * The iterator state (epoch, next batch) is all a checkpoint needs: restored on any number of
 * ranks, it continues the identical global sequence. */
#ifndef S2S_BATCHER_H
#define S2S_BATCHER_H

#include <stdint.h>

typedef struct {
    uint32_t seed;
    int batch_sents;   /* at most this many sentences per global batch (>= 1) */
    long batch_tokens; /* at most this many padded tokens per global batch (0: no limit) */
    int min_sents;     /* at least this many sentences (ranks that must have work), >= 1 */
    int window;        /* bucketing window in sentences (1: no bucketing) */
} batcher_config;

typedef struct {
    uint32_t epoch;
    uint64_t next; /* index of the next global batch within the epoch */
} batcher_state;

typedef struct {
    batcher_config cfg;
    long n;                      /* sentences */
    const int *src_len, *tgt_len; /* [n], borrowed */
    uint32_t planned;            /* epoch the plan below is for */
    int has_plan;
    long *order;                 /* [n] sentence ids, batch by batch */
    long *start;                 /* [n_batches + 1] batch b = order[start[b] .. start[b+1]) */
    long n_batches;
    long *perm_batches;          /* [n_batches] shuffled batch order */
    long *scratch;               /* [n] */
} batcher;

/* lens are borrowed and must outlive the batcher. */
int batcher_init(batcher *b, const batcher_config *cfg, long n, const int *src_len,
                 const int *tgt_len);
void batcher_free(batcher *b); /* safe on a zeroed batcher */

/* Number of global batches (steps) in epoch e. */
long batcher_epoch_steps(batcher *b, uint32_t epoch);

/* The global batch at *st: *ids points at its `*global` sentence ids (valid until the next call),
 * of which rank `rank` of `ranks` takes [*first, *first + *count). Advances *st, moving to the
 * next epoch after the last batch. S2S_EINVAL if ranks exceeds min_sents. */
int batcher_next(batcher *b, batcher_state *st, int rank, int ranks, const long **ids,
                 int *global, int *first, int *count);

#endif
