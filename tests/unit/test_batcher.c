/* test_batcher.c - epoch plans and rank shares: every sentence exactly once per epoch for 1 to
 * 8 ranks, equal step counts, limits, determinism, and resuming a saved iterator state on a
 * different number of ranks. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/batcher.h"
#include "s2s/rng.h"
#include "s2s/status.h"

enum { N = 1003 };
static int SRC[N], TGT[N];

static void lengths(void)
{
    rng_stream s;
    rng_stream_init(&s, 5, RNG_TEST, 0, 0, 0);
    for (int i = 0; i < N; i++) {
        SRC[i] = 1 + (int)rng_below(&s, 40);
        TGT[i] = 1 + (int)rng_below(&s, 40);
    }
}

static batcher_config config(void)
{
    batcher_config c = {.seed = 11, .batch_sents = 64, .batch_tokens = 2000, .min_sents = 8,
                        .window = 200};
    return c;
}

/* Runs one epoch on `ranks` simulated ranks; checks that every rank has work at every step and
 * that the union of the shares covers every sentence exactly once. Returns the steps. */
static long run_epoch(batcher *b, batcher_state *st, int ranks)
{
    int *seen = calloc(N, sizeof(int));
    uint32_t epoch = st->epoch;
    long steps = batcher_epoch_steps(b, epoch);
    for (long k = 0; k < steps; k++) {
        batcher_state per_rank = *st;
        int global_seen = -1;
        for (int r = 0; r < ranks; r++) {
            batcher_state mine = *st;
            const long *ids;
            int global, first, count;
            cr_assert_eq(batcher_next(b, &mine, r, ranks, &ids, &global, &first, &count), 0,
                         "batcher_next: %s", s2s_errmsg(S2S_EINVAL));
            cr_assert_gt(count, 0, "%d ranks: rank %d has no work at step %ld", ranks, r, k);
            if (global_seen < 0)
                global_seen = global;
            cr_assert_eq(global, global_seen, "ranks disagree on the global batch size");
            for (int i = first; i < first + count; i++)
                seen[ids[i]]++;
            per_rank = mine;
        }
        *st = per_rank;
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(seen[i], 1, "%d ranks, epoch %u: sentence %d used %d times", ranks, epoch, i,
                     seen[i]);
    free(seen);
    return steps;
}

Test(batcher, every_sentence_once_for_1_to_8_ranks)
{
    lengths();
    batcher_config c = config();
    for (int ranks = 1; ranks <= 8; ranks++) {
        batcher b;
        cr_assert_eq(batcher_init(&b, &c, N, SRC, TGT), 0, "init: %s", s2s_errmsg(S2S_EINVAL));
        batcher_state st = {0, 0};
        long steps0 = run_epoch(&b, &st, ranks);
        cr_expect_eq(st.epoch, 0, "epoch advanced early");
        long steps1 = run_epoch(&b, &st, ranks); /* rolls over into epoch 1 */
        cr_expect_eq(st.epoch, 1, "did not move to epoch 1");
        cr_expect_gt(steps0, 0, "no steps");
        (void)steps1;
        batcher_free(&b);
    }
}

Test(batcher, limits_hold)
{
    lengths();
    batcher_config c = config();
    batcher b;
    cr_assert_eq(batcher_init(&b, &c, N, SRC, TGT), 0, "init");
    batcher_state st = {0, 0};
    long steps = batcher_epoch_steps(&b, 0);
    for (long k = 0; k < steps; k++) {
        const long *ids;
        int global, first, count;
        cr_assert_eq(batcher_next(&b, &st, 0, 1, &ids, &global, &first, &count), 0, "next");
        int ms = 0, mt = 0;
        for (int i = 0; i < global; i++) {
            ms = SRC[ids[i]] > ms ? SRC[ids[i]] : ms;
            mt = TGT[ids[i]] > mt ? TGT[ids[i]] : mt;
        }
        cr_expect_geq(global, c.min_sents, "batch of %d sentences", global);
        /* The epoch's last planned batch may have absorbed a remainder (batcher.h). */
        bool last = ids + global == b.order + N;
        cr_expect(global <= c.batch_sents + (last ? c.min_sents : 0), "batch of %d sentences",
                  global);
        if (!last && global > c.min_sents)
            cr_expect_leq((long)global * (ms + mt), c.batch_tokens,
                          "batch of %d x (%d + %d) tokens over the limit", global, ms, mt);
    }
    batcher_free(&b);
}

/* The global sequence of batches, as sorted id lists, from a state on `ranks` ranks. */
static void collect(batcher *b, batcher_state st, int ranks, int steps, long *out, int *sizes)
{
    long pos = 0;
    for (int k = 0; k < steps; k++) {
        batcher_state next = st;
        for (int r = 0; r < ranks; r++) {
            batcher_state mine = st;
            const long *ids;
            int global, first, count;
            cr_assert_eq(batcher_next(b, &mine, r, ranks, &ids, &global, &first, &count), 0,
                         "next");
            memcpy(out + pos, ids + first, (size_t)count * sizeof(long));
            pos += count;
            sizes[k] = global;
            next = mine;
        }
        st = next;
    }
}

Test(batcher, resume_on_other_rank_counts_continues_the_sequence)
{
    lengths();
    batcher_config c = config();
    batcher b;
    cr_assert_eq(batcher_init(&b, &c, N, SRC, TGT), 0, "init");
    long steps = batcher_epoch_steps(&b, 0);
    int total = (int)steps + 7; /* crosses into the next epoch */
    long *ref = malloc(sizeof(long) * 3 * N), *got = malloc(sizeof(long) * 3 * N);
    int *ref_sizes = calloc((size_t)total, sizeof(int)), *got_sizes = calloc((size_t)total, sizeof(int));
    batcher_state start = {0, 0};
    collect(&b, start, 1, total, ref, ref_sizes);
    for (int k_save = 1; k_save < total; k_save += 9) {
        for (int n_ranks = 1; n_ranks <= 8; n_ranks += 3) {
            for (int m_ranks = 1; m_ranks <= 8; m_ranks += 2) {
                /* Run k_save steps on N ranks, "save" the state, continue on M ranks. */
                batcher_state st = {0, 0};
                for (int k = 0; k < k_save; k++) {
                    const long *ids;
                    int global, first, count;
                    batcher_state mine = st;
                    for (int r = 0; r < n_ranks; r++) {
                        mine = st;
                        cr_assert_eq(batcher_next(&b, &mine, r, n_ranks, &ids, &global, &first,
                                                  &count), 0, "next");
                    }
                    st = mine;
                }
                batcher_state saved = st; /* what a checkpoint stores */
                batcher fresh;            /* a new process */
                cr_assert_eq(batcher_init(&fresh, &c, N, SRC, TGT), 0, "init");
                collect(&fresh, saved, m_ranks, total - k_save, got, got_sizes);
                long off = 0;
                for (int k = 0; k < k_save; k++)
                    off += ref_sizes[k];
                for (int k = 0; k < total - k_save; k++)
                    cr_assert_eq(got_sizes[k], ref_sizes[k_save + k], "batch size differs");
                long len = 0;
                for (int k = k_save; k < total; k++)
                    len += ref_sizes[k];
                cr_assert_eq(memcmp(got, ref + off, (size_t)len * sizeof(long)), 0,
                             "saved at step %d on %d ranks, resumed on %d: sequence differs",
                             k_save, n_ranks, m_ranks);
                batcher_free(&fresh);
            }
        }
    }
    free(ref);
    free(got);
    free(ref_sizes);
    free(got_sizes);
    batcher_free(&b);
}

Test(batcher, deterministic_and_epochs_differ)
{
    lengths();
    batcher_config c = config();
    batcher a, b;
    cr_assert_eq(batcher_init(&a, &c, N, SRC, TGT), 0, "init");
    cr_assert_eq(batcher_init(&b, &c, N, SRC, TGT), 0, "init");
    batcher_epoch_steps(&a, 0);
    batcher_epoch_steps(&b, 0);
    cr_expect_eq(memcmp(a.order, b.order, N * sizeof(long)), 0, "same seed, different plans");
    long *e0 = malloc(N * sizeof(long));
    memcpy(e0, a.order, N * sizeof(long));
    batcher_epoch_steps(&a, 1);
    cr_expect_neq(memcmp(a.order, e0, N * sizeof(long)), 0, "epochs 0 and 1 share a plan");
    free(e0);
    batcher_free(&a);
    batcher_free(&b);
}

Test(batcher, errors)
{
    lengths();
    batcher_config c = config();
    batcher b;
    cr_assert_eq(batcher_init(&b, &c, N, SRC, TGT), 0, "init");
    batcher_state st = {0, 0};
    const long *ids;
    int g, f, n;
    cr_expect_eq(batcher_next(&b, &st, 0, 9, &ids, &g, &f, &n), S2S_EINVAL,
                 "9 ranks accepted for batches planned for 8");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "at most 8 ranks") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    batcher_free(&b);
    c.min_sents = 100;
    c.batch_sents = 50;
    cr_expect_eq(batcher_init(&b, &c, N, SRC, TGT), S2S_EINVAL, "min > batch accepted");
}
