/* test_loader.c - reading ranks' shares of global batches from a dataset file (src/data/loader.c):
 * for 1 to 4 ranks, the shares of every step add up to the global batch, every sentence is read
 * exactly once an epoch with its own tokens, and the global target-token count every rank
 * computes alone is the true one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/dataset.h"
#include "s2s/loader.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "scratch.h"

enum { N = 500, VOCAB = 60 };

static char dir[64], path[128];

/* Token i of a sentence: a function of its id, side and position, so content can be checked. */
static int32_t token(long id, int side, int i)
{
    return 4 + (int32_t)((id * 7 + i * 3 + side) % (VOCAB - 4));
}

static void lengths(long id, int *ls, int *lt)
{
    rng_stream r;
    rng_stream_init(&r, 5, RNG_TEST, (uint32_t)id, 0, 0);
    *ls = 1 + (int)rng_below(&r, 40);
    *lt = 1 + (int)rng_below(&r, 40);
}

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "loader"), 0);
    scratch_path(path, sizeof path, dir, "data.h5");
    ds_writer *w;
    cr_assert_eq(dsw_open(&w, path), 0, "%s", s2s_errmsg(-1));
    const char *vocab[VOCAB];
    static char words[VOCAB][8];
    const char *reserved[] = {"<pad>", "<unk>", "<s>", "</s>"};
    for (int i = 0; i < VOCAB; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        vocab[i] = i < 4 ? reserved[i] : words[i];
    }
    cr_assert_eq(dsw_set_vocab(w, "src", vocab, VOCAB), 0);
    cr_assert_eq(dsw_set_vocab(w, "tgt", vocab, VOCAB), 0);
    for (long id = 0; id < N; id++) {
        int32_t s[40], t[40];
        int ls, lt;
        lengths(id, &ls, &lt);
        for (int i = 0; i < ls; i++)
            s[i] = token(id, 0, i);
        for (int i = 0; i < lt; i++)
            t[i] = token(id, 1, i);
        cr_assert_eq(dsw_add(w, SPLIT_TRAIN, s, ls, t, lt), 0, "%s", s2s_errmsg(-1));
    }
    cr_assert_eq(dsw_close(w), 0, "%s", s2s_errmsg(-1));
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(loader, .init = setup, .fini = teardown);

Test(loader, shares_cover_each_epoch_once_with_the_right_tokens)
{
    dataset *ds;
    cr_assert_eq(ds_open(&ds, path), 0, "%s", s2s_errmsg(-1));
    for (int ranks = 1; ranks <= 4; ranks++) {
        batcher_config cfg = {.seed = 3, .batch_sents = 32, .batch_tokens = 1500, .min_sents = 1,
                              .window = 128};
        loader l;
        cr_assert_eq(loader_init(&l, ds, SPLIT_TRAIN, &cfg, ranks), 0, "%s", s2s_errmsg(-1));
        int max_B, max_src, max_tgt;
        loader_batch_capacity(&l, &max_B, &max_src, &max_tgt);
        batch bt;
        cr_assert_eq(batch_init(&bt, max_B, max_src, max_tgt), 0);
        batcher_state st[4] = {{0}};
        int seen[N] = {0};
        for (int epoch = 0; epoch < 2; epoch++) {
            memset(seen, 0, sizeof seen);
            long steps = batcher_epoch_steps(&l.bat, (uint32_t)epoch);
            for (long step = 0; step < steps; step++) {
                int sum = 0, global = 0;
                long tokens = 0, global_tokens = 0;
                for (int r = 0; r < ranks; r++) {
                    int g;
                    long gt;
                    cr_assert_eq(loader_next(&l, &st[r], r, &bt, &g, &gt), 0, "%s",
                                 s2s_errmsg(-1));
                    cr_assert_gt(bt.B, 0, "rank %d of %d has work at step %ld", r, ranks, step);
                    cr_assert(r == 0 || (g == global && gt == global_tokens),
                              "every rank computes the same global figures");
                    global = g;
                    global_tokens = gt;
                    sum += bt.B;
                    for (int b = 0; b < bt.B; b++) {
                        long id = bt.ids[b];
                        int ls, lt;
                        lengths(id, &ls, &lt);
                        seen[id]++;
                        cr_assert_eq(bt.src_len[b], ls, "source length of %ld", id);
                        cr_assert_eq(bt.tgt_len[b], lt + 1, "decoder steps of %ld", id);
                        tokens += lt + 1;
                        for (int i = 0; i < ls; i++)
                            cr_assert_eq(bt.src[i * bt.B + b], token(id, 0, i),
                                         "source token %d of sentence %ld", i, id);
                        for (int i = 0; i < lt; i++)
                            cr_assert_eq(bt.tgt_out[i * bt.B + b], token(id, 1, i),
                                         "target token %d of sentence %ld", i, id);
                    }
                }
                cr_assert_eq(sum, global, "the shares make up the global batch");
                cr_assert_eq(tokens, global_tokens, "global target tokens");
            }
            for (long id = 0; id < N; id++)
                cr_assert_eq(seen[id], 1, "%d ranks, epoch %d: sentence %ld read %d times",
                             ranks, epoch, id, seen[id]);
        }
        batch_free(&bt);
        loader_free(&l);
    }
    ds_close(ds);
}

Test(loader, more_ranks_than_sentences_is_a_clear_error)
{
    dataset *ds;
    cr_assert_eq(ds_open(&ds, path), 0, "%s", s2s_errmsg(-1));
    batcher_config cfg = {.seed = 1, .batch_sents = 8, .min_sents = 1, .window = 1};
    loader l;
    int rc = loader_init(&l, ds, SPLIT_VALID, &cfg, 2);
    cr_expect_eq(rc, S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(rc), "valid split: 0 sentence pairs") != NULL, "%s",
              s2s_errmsg(rc));
    loader_free(&l);
    ds_close(ds);
}
