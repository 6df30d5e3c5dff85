/* test_model.c - whole-model properties in float: padding invariance, independence of the
 * sentences in a batch, determinism, greedy decoding bookkeeping, configuration errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "s2s/model.h"
#include "s2s/status.h"
#include "testutil.h"

static const int s0[] = {4, 5, 6, 7, 8}, s1[] = {8, 4}, s2[] = {6, 6, 5};
static const int t0[] = {5, 9, 4, 10}, t1[] = {7}, t2[] = {4, 8};
static const int *const SRC[] = {s0, s1, s2}, *const TGT[] = {t0, t1, t2};
static const int SL[] = {5, 2, 3}, TL[] = {4, 1, 2};

static model_config small_config(cell_type cell, int layers, bool bidir)
{
    model_config c = {.cell = cell, .layers = layers, .bidir = bidir, .emb = 6, .hidden = 8,
                      .src_vocab = 12, .tgt_vocab = 13};
    return c;
}

static void init_model(model *m, model_config cfg, int max_src, int max_tgt)
{
    cr_assert_eq(model_init(m, &cfg, 3, max_src, max_tgt), 0, "model_init: %s",
                 s2s_errmsg(S2S_EINVAL));
    model_init_params(m, 11, INIT_UNIFORM, 0.3);
}

/* Pads a filled batch to src_T / tgt_T steps: the extra time steps are appended rows of <pad>. */
static void pad_batch(batch *bt, int src_T, int tgt_T)
{
    for (int i = bt->src_T * bt->B; i < src_T * bt->B; i++)
        bt->src[i] = TOK_PAD;
    for (int i = bt->tgt_T * bt->B; i < tgt_T * bt->B; i++)
        bt->tgt_in[i] = bt->tgt_out[i] = TOK_PAD;
    bt->src_T = src_T;
    bt->tgt_T = tgt_T;
}

static void check_padding_invariance_cfg(model_config cfg)
{
    model a, b;
    batch ba, bb;
    cell_type cell = cfg.cell;
    int layers = cfg.layers;
    bool bidir = cfg.bidir;
    init_model(&a, cfg, 5, 5);
    init_model(&b, cfg, 9, 8);
    cr_assert_eq(batch_init(&ba, 3, 5, 5), 0, "batch_init");
    cr_assert_eq(batch_init(&bb, 3, 9, 8), 0, "batch_init");
    cr_assert_eq(batch_fill(&ba, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    cr_assert_eq(batch_fill(&bb, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    pad_batch(&bb, 9, 8);

    output_stats sa, sb;
    model_zero_grads(&a);
    model_zero_grads(&b);
    cr_assert_eq(model_forward_backward(&a, &ba, NULL, &sa), 0, "forward_backward");
    cr_assert_eq(model_forward_backward(&b, &bb, NULL, &sb), 0, "forward_backward (padded)");
    cr_expect_eq(sa.tokens, sb.tokens, "token counts differ: %ld vs %ld", sa.tokens, sb.tokens);
    cr_expect(fabs(sa.loss - sb.loss) <= 1e-5 * fabs(sa.loss), "loss %.9g vs padded %.9g",
              sa.loss, sb.loss);
    double d = max_rel_diff(a.grads, b.grads, a.n_params, 1e-3);
    cr_expect(d <= 1e-5,
              "%s %d layers %s attn %s: gradients change with padding (max rel diff %.3g)",
              cell_name(cell), layers, bidir ? "bidir" : "unidir", attn_name(cfg.attn), d);
    batch_free(&ba);
    batch_free(&bb);
    model_free(&a);
    model_free(&b);
}

static void check_padding_invariance(cell_type cell, int layers, bool bidir)
{
    check_padding_invariance_cfg(small_config(cell, layers, bidir));
}

Test(model, padding_invariance_all_cells)
{
    for (int c = 0; c < 3; c++)
        for (int layers = 1; layers <= 2; layers++) {
            check_padding_invariance((cell_type)c, layers, false);
            check_padding_invariance((cell_type)c, layers, true);
        }
}

Test(model, padding_invariance_with_attention)
{
    for (int c = 0; c < 3; c++) {
        model_config cfg = small_config((cell_type)c, 1, true);
        cfg.attn = ATTN_BAHDANAU;
        check_padding_invariance_cfg(cfg);
        cfg.attn = ATTN_GENERAL;
        cfg.input_feed = true;
        cfg.dec_layers = 2;
        check_padding_invariance_cfg(cfg);
        cfg = small_config((cell_type)c, 2, false);
        cfg.attn = ATTN_DOT;
        cfg.input_feed = true;
        check_padding_invariance_cfg(cfg);
    }
}

/* Attention weights: exactly zero on padding, summing to one over each sentence's own
 * positions, for every attention type. */
Test(model, attention_ignores_padding)
{
    const attn_kind kinds[] = {ATTN_BAHDANAU, ATTN_DOT, ATTN_GENERAL};
    for (int k = 0; k < 3; k++) {
        model m;
        batch bt;
        model_config cfg = small_config(CELL_GRU, 1, kinds[k] != ATTN_DOT);
        cfg.attn = kinds[k];
        init_model(&m, cfg, 5, 5);
        cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
        cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
        output_stats st;
        cr_assert_eq(model_evaluate(&m, &bt, &st), 0, "evaluate");
        for (int t = 0; t < bt.tgt_T; t++)
            for (int b = 0; b < 3; b++) {
                const real *a = m.att_alpha + ((size_t)t * 3 + b) * bt.src_T;
                double sum = 0;
                for (int i = 0; i < bt.src_T; i++) {
                    if (i >= SL[b])
                        cr_expect_eq(a[i], 0, "%s: weight %g on padding (t %d, b %d, i %d)",
                                     attn_name(kinds[k]), a[i], t, b, i);
                    sum += a[i];
                }
                cr_expect(fabs(sum - 1) < 1e-5, "%s: weights sum to %g", attn_name(kinds[k]),
                          sum);
            }
        batch_free(&bt);
        model_free(&m);
    }
}

Test(model, attention_config_errors)
{
    model m;
    model_config c = small_config(CELL_GRU, 1, true);
    c.attn = ATTN_DOT;
    cr_expect_eq(model_init(&m, &c, 2, 3, 3), S2S_EINVAL, "dot attention with 2H memory accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "dot attention") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    c = small_config(CELL_GRU, 1, true);
    c.attn = ATTN_BAHDANAU;
    c.tie_embeddings = true;
    cr_expect_eq(model_init(&m, &c, 2, 3, 3), S2S_EINVAL, "impossible tying accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "tied embeddings") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    c.tie_embeddings = false;
    c.input_feed = true;
    cr_expect_eq(model_init(&m, &c, 2, 3, 3), S2S_EINVAL, "input feeding with Bahdanau accepted");
}

/* Two implementations of the decoder without attention agree: layer by layer (teacher forcing)
 * and step by step (scheduled sampling whose coins never pick the model's prediction: the
 * coins are multiples of 2^-24, so a sampling probability of 2^-26 never wins). */
Test(model, stepwise_decoder_matches_layerwise)
{
    for (int c = 0; c < 3; c++) {
        model m;
        batch bt;
        model_config cfg = small_config((cell_type)c, 2, true);
        init_model(&m, cfg, 5, 5);
        cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
        cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
        real *layerwise = calloc(m.n_params, sizeof(real));
        output_stats a, b;
        model_zero_grads(&m);
        cr_assert_eq(model_forward_backward(&m, &bt, NULL, &a), 0, "layer-wise pass");
        memcpy(layerwise, m.grads, m.n_params * sizeof(real));
        train_context ctx = {.seed = 1, .step = 1, .sampling = 0x1p-26};
        model_zero_grads(&m);
        cr_assert_eq(model_forward_backward(&m, &bt, &ctx, &b), 0, "step-wise pass");
        cr_expect(m.stepwise, "the sampling pass did not run step by step");
        cr_expect(fabs(a.loss - b.loss) <= 1e-5 * a.loss, "%s: loss %.9g vs %.9g",
                  cell_name(cfg.cell), a.loss, b.loss);
        double d = max_rel_diff(layerwise, m.grads, m.n_params, 1e-3);
        cr_expect(d <= 1e-4, "%s: gradients differ between the decoders (%.3g)",
                  cell_name(cfg.cell), d);
        free(layerwise);
        batch_free(&bt);
        model_free(&m);
    }
}

/* Scheduled sampling with probability 1 reads the model's own argmax at every step after the
 * first: re-running teacher-forced on those inputs gives the same loss. */
Test(model, sampling_reads_own_predictions)
{
    model m;
    batch bt;
    init_model(&m, small_config(CELL_GRU, 1, true), 5, 5);
    cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
    cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    train_context ctx = {.seed = 1, .step = 1, .sampling = 1.0};
    output_stats st;
    model_zero_grads(&m);
    cr_assert_eq(model_forward_backward(&m, &bt, &ctx, &st), 0, "sampling pass");
    int changed = 0;
    for (int t = 1; t < bt.tgt_T; t++)
        for (int b = 0; b < 3; b++)
            if (t < bt.tgt_len[b])
                changed += m.dec_ids[t * 3 + b] != bt.tgt_in[t * 3 + b];
    cr_expect_gt(changed, 0, "no input was replaced by a prediction");
    /* The inputs it read become the gold inputs of a teacher-forced pass: same loss. */
    batch tf;
    cr_assert_eq(batch_init(&tf, 3, 5, 5), 0, "batch_init");
    cr_assert_eq(batch_fill(&tf, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    memcpy(tf.tgt_in, m.dec_ids, (size_t)bt.tgt_T * 3 * sizeof(int));
    output_stats st2;
    cr_assert_eq(model_evaluate(&m, &tf, &st2), 0, "evaluate");
    cr_expect(fabs(st.loss - st2.loss) <= 1e-5 * st.loss, "loss %.9g vs %.9g", st.loss, st2.loss);
    batch_free(&tf);
    batch_free(&bt);
    model_free(&m);
}

/* Loss and gradients of a batch are the sums over its sentences taken alone. */
Test(model, sentences_are_independent)
{
    model m;
    init_model(&m, small_config(CELL_LSTM, 2, true), 5, 5);
    batch bt;
    cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
    real *sum = calloc(m.n_params, sizeof(real));
    double loss_sum = 0;
    output_stats st;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(batch_fill(&bt, 1, &SRC[i], &SL[i], &TGT[i], &TL[i]), 0, "batch_fill");
        model_zero_grads(&m);
        cr_assert_eq(model_forward_backward(&m, &bt, NULL, &st), 0, "forward_backward");
        loss_sum += st.loss;
        for (size_t k = 0; k < m.n_params; k++)
            sum[k] += m.grads[k];
    }
    cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    model_zero_grads(&m);
    cr_assert_eq(model_forward_backward(&m, &bt, NULL, &st), 0, "forward_backward");
    cr_expect(fabs(st.loss - loss_sum) <= 1e-5 * loss_sum, "batch loss %.9g vs sum %.9g",
              st.loss, loss_sum);
    double d = max_rel_diff(m.grads, sum, m.n_params, 1e-3);
    cr_expect(d <= 1e-4, "batch gradient differs from the sum over sentences (%.3g)", d);
    free(sum);
    batch_free(&bt);
    model_free(&m);
}

Test(model, deterministic)
{
    model a, b;
    batch bt;
    init_model(&a, small_config(CELL_GRU, 2, true), 5, 5);
    init_model(&b, small_config(CELL_GRU, 2, true), 5, 5);
    cr_assert_eq(memcmp(a.params, b.params, a.n_params * sizeof(real)), 0,
                 "same seed, different initial parameters");
    cr_assert_eq(batch_init(&bt, 3, 5, 5), 0, "batch_init");
    cr_assert_eq(batch_fill(&bt, 3, SRC, SL, TGT, TL), 0, "batch_fill");
    output_stats sa, sb;
    model_zero_grads(&a);
    model_zero_grads(&b);
    cr_assert_eq(model_forward_backward(&a, &bt, NULL, &sa), 0, "forward_backward");
    cr_assert_eq(model_forward_backward(&b, &bt, NULL, &sb), 0, "forward_backward");
    cr_expect_eq(sa.loss, sb.loss, "loss differs between identical runs");
    cr_expect_eq(memcmp(a.grads, b.grads, a.n_params * sizeof(real)), 0,
                 "gradients differ between identical runs");
    batch_free(&bt);
    model_free(&a);
    model_free(&b);
}

/* Greedy decoding must agree with teacher forcing on its own output: feeding the greedy
 * hypothesis back as the target, every position's argmax is the hypothesis token. */
static void check_greedy(model_config cfg)
{
    model m;
    batch bt;
    init_model(&m, cfg, 5, 8);
    cr_assert_eq(batch_init(&bt, 3, 5, 8), 0, "batch_init");
    cr_assert_eq(batch_fill(&bt, 3, SRC, SL, NULL, NULL), 0, "batch_fill (source only)");
    enum { MAXLEN = 6 };
    int out[3 * MAXLEN], out_len[3];
    cr_assert_eq(model_greedy(&m, &bt, MAXLEN, out, out_len), 0, "greedy");
    int checked = 0;
    for (int b = 0; b < 3; b++) {
        cr_assert(out_len[b] >= 0 && out_len[b] <= MAXLEN, "length %d", out_len[b]);
        if (out_len[b] == 0)
            continue; /* </s> first: nothing to re-score */
        const int *src = SRC[b], *hyp = out + b * MAXLEN;
        int sl = SL[b], hl = out_len[b];
        bool finished = hl < MAXLEN;
        checked += hl;
        batch one;
        cr_assert_eq(batch_init(&one, 1, 5, 8), 0, "batch_init");
        cr_assert_eq(batch_fill(&one, 1, &src, &sl, &hyp, &hl), 0, "batch_fill");
        output_stats st;
        cr_assert_eq(model_evaluate(&m, &one, &st), 0, "evaluate");
        /* Every hypothesis token is the argmax at its position; so is the final </s> if greedy
         * produced one (an unfinished hypothesis ends without it). */
        cr_expect_eq(st.correct, st.tokens - (finished ? 0 : 1),
                     "sentence %d: teacher-forced argmax disagrees with greedy (%ld of %ld)", b,
                     st.correct, st.tokens);
        batch_free(&one);
    }
    cr_expect_gt(checked, 0, "no greedy token was checked");
    batch_free(&bt);
    model_free(&m);
}

Test(model, greedy_consistent_with_teacher_forcing)
{
    check_greedy(small_config(CELL_GRU, 1, true));
    model_config c = small_config(CELL_LSTM, 2, true);
    c.attn = ATTN_BAHDANAU;
    check_greedy(c);
    c.attn = ATTN_GENERAL;
    c.input_feed = true;
    check_greedy(c);
}

Test(model, config_errors_name_the_field)
{
    model m;
    model_config c = small_config(CELL_GRU, 0, false);
    cr_expect_eq(model_init(&m, &c, 2, 3, 3), S2S_EINVAL, "zero layers accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "layers") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    c = small_config(CELL_GRU, 1, false);
    c.tgt_vocab = 4;
    cr_expect_eq(model_init(&m, &c, 2, 3, 3), S2S_EINVAL, "vocabulary of 4 accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "vocabularies") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
}

Test(model, parameter_names_follow_pytorch)
{
    model m;
    init_model(&m, small_config(CELL_LSTM, 2, true), 5, 5);
    const char *names[] = {"src_embed.weight", "encoder.weight_ih_l0", "encoder.weight_hh_l1_reverse",
                           "encoder.bias_hh_l1_reverse", "bridge.weight", "bridge_cell.bias",
                           "tgt_embed.weight", "decoder.weight_ih_l1", "out.weight", "out.bias"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_expect_geq(param_table_find(&m.table, names[i]), 0, "missing tensor %s", names[i]);
    const param_tensor *t = &m.table.t[param_table_find(&m.table, "encoder.weight_ih_l1")];
    cr_expect(t->rows == 4 * 8 && t->cols == 2 * 8, "encoder.weight_ih_l1 is [%d, %d]", t->rows,
              t->cols);
    t = &m.table.t[param_table_find(&m.table, "bridge.weight")];
    cr_expect(t->rows == 2 * 8 && t->cols == 2 * 2 * 8, "bridge.weight is [%d, %d]", t->rows,
              t->cols);
    model_free(&m);
}
