/* test_model.c - finite-difference check of every parameter gradient of the whole model, for
 * every cell type, one and two layers, unidirectional and bidirectional encoders. Runs on the
 * double-precision build, so the tolerance (1e-6 relative) leaves no room for a missing term. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "s2s/model.h"
#include "s2s/status.h"

typedef struct {
    model m;
    batch bt;
    const train_context *ctx; /* NULL: no dropout, no label smoothing */
} fixture;

/* The objective that model_forward_backward differentiates, with the same dropout masks. */
static double eval_loss(void *ctx)
{
    fixture *f = ctx;
    output_stats st;
    cr_assert_eq(model_train_loss(&f->m, &f->bt, f->ctx, &st), 0, "model_train_loss failed: %s",
                 s2s_errmsg(S2S_EINVAL));
    return st.loss;
}

/* Three pairs of different lengths, so that both encoders' masks and the decoder's padding are
 * exercised; token ids cover the vocabulary. */
static void make_batch(batch *bt)
{
    static const int s0[] = {4, 5, 6, 7}, s1[] = {8, 4}, s2[] = {6, 6, 5};
    static const int t0[] = {5, 9, 4}, t1[] = {7}, t2[] = {4, 8};
    const int *src[] = {s0, s1, s2}, *tgt[] = {t0, t1, t2};
    int sl[] = {4, 2, 3}, tl[] = {3, 1, 2};
    cr_assert_eq(batch_init(bt, 3, 4, 4), 0, "batch_init");
    cr_assert_eq(batch_fill(bt, 3, src, sl, tgt, tl), 0, "batch_fill");
}

static void check_config_ctx(model_config cfg, const train_context *ctx);

static void check_config(model_config cfg)
{
    check_config_ctx(cfg, NULL);
}

static void check_model(cell_type cell, int layers, bool bidir)
{
    model_config cfg = {.cell = cell, .layers = layers, .bidir = bidir, .emb = 3, .hidden = 4,
                        .src_vocab = 9, .tgt_vocab = 10};
    check_config(cfg);
}

static void check_config_ctx(model_config cfg, const train_context *ctx)
{
    fixture f = {0};
    f.ctx = ctx;
    cell_type cell = cfg.cell;
    int layers = cfg.layers;
    bool bidir = cfg.bidir;
    cr_assert_eq(model_init(&f.m, &cfg, 3, 4, 4), 0, "model_init: %s", s2s_errmsg(-2));
    make_batch(&f.bt);
    model_init_params(&f.m, 7, INIT_UNIFORM, 0.5);

    model_zero_grads(&f.m);
    output_stats st;
    cr_assert_eq(model_forward_backward(&f.m, &f.bt, ctx, &st), 0, "forward_backward");
    cr_assert_eq(st.tokens, 4 + 2 + 3, "token count: got %ld", st.tokens);
    cr_assert_float_eq(st.loss, eval_loss(&f), 1e-12, "training pass and loss-only pass differ");

    int failures = 0;
    for (int i = 0; i < f.m.table.n; i++) {
        const param_tensor *t = &f.m.table.t[i];
        char what[160];
        snprintf(what, sizeof what, "%s/%d+%d layers/%s/attn %s%s%s: %s", cell_name(cell),
                 layers, cfg.dec_layers, bidir ? "bidir" : "unidir", attn_name(cfg.attn),
                 cfg.input_feed ? "+feed" : "", cfg.tie_embeddings ? "/tied" : "", t->name);
        failures += gradcheck(what, eval_loss, &f, f.m.params + t->offset,
                              f.m.grads + t->offset, t->size, NULL);
    }
    cr_expect_eq(failures, 0, "%s, %d layers, %s, attention %s: %d gradient mismatches (see stderr)",
                 cell_name(cell), layers, bidir ? "bidirectional" : "unidirectional",
                 attn_name(cfg.attn), failures);
    batch_free(&f.bt);
    model_free(&f.m);
}

#define MODEL_GRAD_TEST(cell, layers, bidir)                                                      \
    Test(model_grad, cell##_l##layers##_##bidir) { check_model(CELL_##cell, layers, bidir); }

MODEL_GRAD_TEST(RNN, 1, false)
MODEL_GRAD_TEST(RNN, 1, true)
MODEL_GRAD_TEST(RNN, 2, false)
MODEL_GRAD_TEST(RNN, 2, true)
MODEL_GRAD_TEST(GRU, 1, false)
MODEL_GRAD_TEST(GRU, 1, true)
MODEL_GRAD_TEST(GRU, 2, false)
MODEL_GRAD_TEST(GRU, 2, true)
MODEL_GRAD_TEST(LSTM, 1, false)
MODEL_GRAD_TEST(LSTM, 1, true)
MODEL_GRAD_TEST(LSTM, 2, false)
MODEL_GRAD_TEST(LSTM, 2, true)

/* Attention: every type with every cell; Luong with and without input feeding; two decoder
 * layers over one encoder layer and the reverse; tied embeddings where sizes allow. */
static model_config attn_config(cell_type cell, attn_kind attn, bool feed, bool bidir)
{
    model_config c = {.cell = cell, .layers = 1, .bidir = bidir, .emb = 3, .hidden = 4,
                      .src_vocab = 9, .tgt_vocab = 10, .attn = attn, .input_feed = feed};
    return c;
}

#define ATTN_GRAD_TEST(cell, attn, feed, bidir)                                                   \
    Test(model_grad_attn, cell##_##attn##_feed##feed##_bidir##bidir)                               \
    {                                                                                              \
        check_config(attn_config(CELL_##cell, ATTN_##attn, feed, bidir));                          \
    }

ATTN_GRAD_TEST(RNN, BAHDANAU, 0, 1)
ATTN_GRAD_TEST(GRU, BAHDANAU, 0, 1)
ATTN_GRAD_TEST(LSTM, BAHDANAU, 0, 1)
ATTN_GRAD_TEST(GRU, BAHDANAU, 0, 0)
ATTN_GRAD_TEST(RNN, DOT, 0, 0)
ATTN_GRAD_TEST(GRU, DOT, 1, 0)
ATTN_GRAD_TEST(LSTM, DOT, 1, 0)
ATTN_GRAD_TEST(RNN, GENERAL, 1, 1)
ATTN_GRAD_TEST(GRU, GENERAL, 0, 1)
ATTN_GRAD_TEST(GRU, GENERAL, 1, 1)
ATTN_GRAD_TEST(LSTM, GENERAL, 1, 1)

Test(model_grad_attn, two_decoder_layers)
{
    model_config c = attn_config(CELL_LSTM, ATTN_GENERAL, true, true);
    c.dec_layers = 2;
    check_config(c);
    c = attn_config(CELL_GRU, ATTN_BAHDANAU, false, true);
    c.layers = 2;
    c.dec_layers = 2;
    check_config(c);
    c = attn_config(CELL_GRU, ATTN_NONE, false, true);
    c.layers = 2;
    c.dec_layers = 1;
    check_config(c);
}

Test(model_grad_attn, tied_embeddings)
{
    model_config c = attn_config(CELL_GRU, ATTN_GENERAL, true, true);
    c.emb = c.hidden; /* the output layer reads h~ (size H), so E must equal H */
    c.tie_embeddings = true;
    check_config(c);
    c = attn_config(CELL_LSTM, ATTN_NONE, false, false);
    c.emb = c.hidden;
    c.tie_embeddings = true;
    check_config(c);
}

/* Dropout (its masks are a pure function of seed, step and sentence, so every evaluation of the
 * loss sees the same ones) and label smoothing, through every kind of decoder. */
Test(model_grad_train, dropout_and_label_smoothing)
{
    const train_context ctx = {.seed = 5, .step = 17, .label_smoothing = 0.1};
    model_config c = {.cell = CELL_GRU, .layers = 2, .dec_layers = 2, .bidir = true, .emb = 3,
                      .hidden = 4, .src_vocab = 9, .tgt_vocab = 10, .dropout = 0.3};
    check_config_ctx(c, &ctx);
    c.cell = CELL_LSTM;
    c.attn = ATTN_BAHDANAU;
    check_config_ctx(c, &ctx);
    c.attn = ATTN_GENERAL;
    c.input_feed = true;
    check_config_ctx(c, &ctx);
    c.cell = CELL_RNN;
    c.bidir = false;
    c.attn = ATTN_DOT;
    check_config_ctx(c, &ctx);
}

/* Scheduled sampling: the coins are a pure function of (seed, step, sentence, position), and
 * the argmax choice carries no gradient, so the objective is differentiable almost everywhere
 * and the finite differences see the same inputs as the analytic pass. */
Test(model_grad_train, scheduled_sampling)
{
    const train_context ctx = {.seed = 9, .step = 3, .sampling = 0.5};
    model_config c = {.cell = CELL_GRU, .layers = 1, .bidir = true, .emb = 3, .hidden = 4,
                      .src_vocab = 9, .tgt_vocab = 10};
    check_config_ctx(c, &ctx);
    c.cell = CELL_LSTM;
    c.dec_layers = 2;
    c.attn = ATTN_BAHDANAU;
    c.dropout = 0.2;
    check_config_ctx(c, &ctx);
    c.attn = ATTN_GENERAL;
    c.input_feed = true;
    check_config_ctx(c, &ctx);
}

/* The check must be able to fail: corrupt one gradient entry and expect gradcheck to see it. */
Test(model_grad, detects_corrupted_gradient)
{
    fixture f = {0};
    model_config cfg = {.cell = CELL_GRU, .layers = 1, .bidir = true, .emb = 3, .hidden = 4,
                        .src_vocab = 9, .tgt_vocab = 10};
    cr_assert_eq(model_init(&f.m, &cfg, 3, 4, 4), 0, "model_init");
    make_batch(&f.bt);
    model_init_params(&f.m, 7, INIT_UNIFORM, 0.5);
    model_zero_grads(&f.m);
    output_stats st;
    cr_assert_eq(model_forward_backward(&f.m, &f.bt, NULL, &st), 0, "forward_backward");
    int i = param_table_find(&f.m.table, "encoder.weight_hh_l0_reverse");
    cr_assert_geq(i, 0, "tensor encoder.weight_hh_l0_reverse exists");
    const param_tensor *t = &f.m.table.t[i];
    size_t worst = 0; /* the largest gradient, so that 0.1% of it is well above rounding */
    for (size_t k = 1; k < t->size; k++)
        if (fabs(f.m.grads[t->offset + k]) > fabs(f.m.grads[t->offset + worst]))
            worst = k;
    f.m.grads[t->offset + worst] *= 1.001; /* a 0.1% error in one element */
    gradcheck_opts o = gradcheck_defaults();
    int failures = gradcheck("corrupted", eval_loss, &f, f.m.params + t->offset,
                             f.m.grads + t->offset, t->size, &o);
    cr_expect_gt(failures, 0, "a 0.1%% error in one gradient element went unnoticed");
    batch_free(&f.bt);
    model_free(&f.m);
}
