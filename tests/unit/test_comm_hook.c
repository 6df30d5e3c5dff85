/* test_comm_hook.c - the backward progress hook (model.grad_ready) that data-parallel training
 * uses to start gradient buckets during backward (include/s2s/comm.h), tested without MPI.
 *
 * A recording callback snapshots the whole gradient buffer at every call. After the pass, the
 * watermark must never have increased and must end at 0, and every gradient at index >= k at a
 * call must already equal its value at the end of the pass: bucket [k, n) is then safe to send.
 * The hook itself must not change any arithmetic: gradients with and without it are identical
 * to the bit. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/model.h"
#include "s2s/status.h"
#include "testutil.h"

#define MAX_CALLS 4096

typedef struct {
    const model *m;
    int calls;
    size_t k[MAX_CALLS];
    real *snap; /* [MAX_CALLS][n_params] */
} recorder;

static void record(void *ctx, size_t final_from)
{
    recorder *r = ctx;
    cr_assert_lt(r->calls, MAX_CALLS, "more than %d hook calls in one pass", MAX_CALLS);
    r->k[r->calls] = final_from;
    memcpy(r->snap + (size_t)r->calls * r->m->n_params, r->m->grads,
           r->m->n_params * sizeof(real));
    r->calls++;
}

static const int s0[] = {4, 5, 6, 7, 8}, s1[] = {8, 4}, s2[] = {6, 6, 5};
static const int t0[] = {5, 9, 4, 10}, t1[] = {7}, t2[] = {4, 8};
static const int *const SRC[] = {s0, s1, s2}, *const TGT[] = {t0, t1, t2};
static const int SL[] = {5, 2, 3}, TL[] = {4, 1, 2};

static model_config config(cell_type cell, int layers, bool bidir)
{
    model_config c = {.cell = cell, .layers = layers, .bidir = bidir, .emb = 6, .hidden = 8,
                      .src_vocab = 12, .tgt_vocab = 13};
    return c;
}

/* Name of the tensor holding gradient index i (for messages). */
static const char *tensor_at(const model *m, size_t i)
{
    for (int t = 0; t < m->table.n; t++)
        if (i >= m->table.t[t].offset && i < m->table.t[t].offset + m->table.t[t].size)
            return m->table.t[t].name;
    return "(alignment gap)";
}

static void check_hook(const char *what, model_config cfg, train_context ctx)
{
    model m;
    batch bt;
    cr_assert_eq(model_init(&m, &cfg, 3, 5, 5), 0, "%s: model_init: %s", what,
                 s2s_errmsg(S2S_EINVAL));
    model_init_params(&m, 7, INIT_UNIFORM, 0.3);
    cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
    cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    size_t n = m.n_params;
    real *plain = malloc(n * sizeof(real));
    recorder *r = calloc(1, sizeof *r);
    cr_assert(plain && r, "allocation");
    r->m = &m;
    r->snap = malloc((size_t)MAX_CALLS * n * sizeof(real));
    cr_assert(r->snap, "allocation of %d snapshots of %zu gradients", MAX_CALLS, n);

    /* Without the hook, then with it: the same bits. */
    output_stats st_plain, st_hook;
    model_zero_grads(&m);
    cr_assert_eq(model_forward_backward(&m, &bt, &ctx, &st_plain), 0, "%s: %s", what,
                 s2s_errmsg(S2S_EINVAL));
    memcpy(plain, m.grads, n * sizeof(real));
    m.grad_ready = record;
    m.grad_ready_ctx = r;
    model_zero_grads(&m);
    cr_assert_eq(model_forward_backward(&m, &bt, &ctx, &st_hook), 0, "%s", what);
    cr_expect(memcmp(plain, m.grads, n * sizeof(real)) == 0,
              "%s: gradients with the hook differ from those without it", what);
    cr_expect(st_plain.loss == st_hook.loss, "%s: loss %.9g with the hook, %.9g without", what,
              st_hook.loss, st_plain.loss);

    /* Watermarks: some reports below n, never increasing, 0 at the end; the distinct values
     * are at least output, decoder, bridge, one per encoder layer, and 0; the recurrent
     * backward polled in between. */
    cr_assert_gt(r->calls, 0, "%s: the hook was never called", what);
    int distinct = 1;
    for (int c = 1; c < r->calls; c++) {
        cr_expect_leq(r->k[c], r->k[c - 1], "%s: watermark rose from %zu to %zu at call %d",
                      what, r->k[c - 1], r->k[c], c);
        distinct += r->k[c] != r->k[c - 1];
    }
    cr_expect_eq(r->k[r->calls - 1], 0, "%s: the last watermark is %zu, not 0", what,
                 r->k[r->calls - 1]);
    cr_expect_lt(r->k[0], n, "%s: the first watermark %zu reports nothing final", what, r->k[0]);
    cr_expect_geq(distinct, cfg.layers + 4, "%s: only %d distinct watermarks for %d layers",
                  what, distinct, cfg.layers);
    cr_expect_gt(r->calls, distinct + bt.src_T, "%s: %d calls: no per-step polls", what,
                 r->calls);

    /* Everything reported final was final. */
    for (int c = 0; c < r->calls; c++) {
        const real *s = r->snap + (size_t)c * n;
        for (size_t i = r->k[c]; i < n; i++)
            if (memcmp(&s[i], &m.grads[i], sizeof(real)) != 0) {
                cr_expect(false, "%s: call %d reported gradients from %zu (%s) final, but gradient %zu "
                        "(%s) changed afterwards: %.9g then %.9g",
                        what, c, r->k[c], tensor_at(&m, r->k[c]), i, tensor_at(&m, i),
                        (double)s[i], (double)m.grads[i]);
                break;
            }
    }
    free(r->snap);
    free(r);
    free(plain);
    batch_free(&bt);
    model_free(&m);
}

static const train_context PLAIN = {.seed = 3, .step = 1};

Test(comm_hook, layer_major_decoder)
{
    check_hook("gru 1 layer", config(CELL_GRU, 1, false), PLAIN);
    check_hook("rnn 2 layers bidir", config(CELL_RNN, 2, true), PLAIN);
    check_hook("lstm 2 layers bidir", config(CELL_LSTM, 2, true), PLAIN);
    model_config c = config(CELL_LSTM, 1, true);
    c.dec_layers = 2;
    check_hook("lstm 1+2 layers bidir", c, PLAIN);
}

Test(comm_hook, attention)
{
    model_config c = config(CELL_GRU, 2, true);
    c.attn = ATTN_BAHDANAU;
    check_hook("gru 2 layers bidir bahdanau", c, PLAIN);
    c = config(CELL_LSTM, 1, true);
    c.attn = ATTN_GENERAL;
    c.input_feed = true;
    c.dec_layers = 2;
    check_hook("lstm bidir general input-feed 2 decoder layers", c, PLAIN);
    c = config(CELL_LSTM, 2, true);
    c.attn = ATTN_BAHDANAU;
    check_hook("lstm 2 layers bidir bahdanau", c, PLAIN);
}

Test(comm_hook, tied_embeddings)
{
    model_config c = config(CELL_GRU, 2, true);
    c.emb = c.hidden; /* tying needs the output layer's input to be the embedding size */
    c.tie_embeddings = true;
    check_hook("gru 2 layers bidir tied", c, PLAIN);
    c = config(CELL_LSTM, 1, false);
    c.emb = c.hidden;
    c.tie_embeddings = true;
    c.attn = ATTN_DOT;
    c.input_feed = true;
    check_hook("lstm dot attention tied", c, PLAIN);
}

Test(comm_hook, dropout_and_sampling)
{
    train_context ctx = {.seed = 5, .step = 2, .label_smoothing = 0.1};
    model_config c = config(CELL_LSTM, 2, true);
    c.dropout = 0.3;
    check_hook("lstm 2 layers bidir dropout", c, ctx);
    c = config(CELL_GRU, 2, true);
    c.attn = ATTN_GENERAL;
    c.dropout = 0.2;
    check_hook("gru 2 layers general dropout", c, ctx);
    ctx.sampling = 0.5;
    c = config(CELL_GRU, 2, true);
    check_hook("gru 2 layers scheduled sampling", c, ctx);
    c.attn = ATTN_BAHDANAU;
    c.dropout = 0.2;
    check_hook("gru bahdanau dropout scheduled sampling", c, ctx);
}
