/* test_model.c - whole-model properties: padding invariance, independence of the sentences in
 * a batch, the step-wise and layer-wise decoders against each other, scheduled sampling, greedy
 * decoding against teacher forcing, determinism, attention on padding, configuration errors.
 *
 * Built twice (tests/CMakeLists.txt): unit.test_model on the float library and
 * unit.test_model_f64 on the double one. The comparisons of two passes whose matrix products
 * have different shapes (padded or not, one sentence or three, step by step or layer by layer)
 * run in double only (DOUBLE_BUILD_ONLY): their float results differ by the BLAS kernel's
 * blocking (up to 1.6e-5 relative in gradients under OpenBLAS's Prescott kernels), while in
 * double the same rounding is ~1e-14 and the tolerance pass_tolerance() derives stays below
 * 1e-10, far under what a wrong mask or a dropped term changes (1e-3 and more). The checks of
 * one code path against itself (determinism, exact zeros on padding) run in both builds. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "s2s/model.h"
#include "s2s/rnn.h"
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

/* Tolerance (relative, as max_rel_diff with a floor of 1e-3 measures it) of a comparison of two
 * passes over the model of c whose products differ in shape, on batches of up to B sentences
 * and Ts / Tt steps: model_error_bound (testutil.h) with
 *   depth: forward and backward (x 2) through, per encoder layer and source step, a GEMM and
 *     the gates (2 stages), per decoder layer and target step the same plus, with attention,
 *     scores, softmax, context and combination (4 stages), and the bridge, the output layer
 *     and the loss (4 stages);
 *   k: the longest sum of one stage: the widest layer input (2H of a bidirectional memory,
 *     E + H with input feeding), G*H gate gradients back to a layer input, the B*T rows a
 *     weight gradient sums over, the vocabulary of the output layer's backward pass;
 *   kappa = 10: these models' parameters are U(-0.3, 0.3) with 8 hidden units, their cells
 *     saturate (derivatives at most 1) and contract, so rounding errors do not grow along the
 *     path; the allowance covers sums whose terms exceed their result (cancellation) down to
 *     the floor of 1e-3.
 * In double this is ~5e-12 (the observed differences, under every OpenBLAS kernel, at most
 * 6e-14). Checked in the float build too (-D"DOUBLE_BUILD_ONLY=.disabled=false"): there the
 * formula gives ~3e-3 and the observed differences stay below 1.7e-5 under every kernel. */
static double pass_tolerance(const model_config *c, int B, int Ts, int Tt)
{
    int H = c->hidden, L = c->layers, Ld = model_dec_layers(c), T = Ts > Tt ? Ts : Tt;
    int depth = 2 * (2 * L * Ts + (2 + (c->attn != ATTN_NONE ? 4 : 0)) * Ld * Tt + 4);
    int k = 2 * H;
    int widths[] = {c->emb + H, cell_gates(c->cell) * H, B * T, c->tgt_vocab};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        k = widths[i] > k ? widths[i] : k;
    return model_error_bound(depth, k, 10);
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

static diff_stat pad_loss = {.what = "padding invariance: loss"},
                 pad_grads = {.what = "padding invariance: gradients"};

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
    /* The bound of the longer (padded) pass covers both. */
    double tol = pass_tolerance(&cfg, 3, 9, 8);
    double dl = fabs(sa.loss - sb.loss) / fabs(sa.loss);
    cr_expect(diff_ok(&pad_loss, dl, tol), "loss %.17g vs padded %.17g (rel %.3g, tolerance %.3g)",
              sa.loss, sb.loss, dl, tol);
    double d = max_rel_diff(a.grads, b.grads, a.n_params, 1e-3);
    cr_expect(diff_ok(&pad_grads, d, tol),
              "%s %d layers %s attn %s: gradients change with padding (max rel diff %.3g, "
              "tolerance %.3g)",
              cell_name(cell), layers, bidir ? "bidir" : "unidir", attn_name(cfg.attn), d, tol);
    batch_free(&ba);
    batch_free(&bb);
    model_free(&a);
    model_free(&b);
}

static void check_padding_invariance(cell_type cell, int layers, bool bidir)
{
    check_padding_invariance_cfg(small_config(cell, layers, bidir));
}

Test(model, padding_invariance_all_cells, DOUBLE_BUILD_ONLY)
{
    for (int c = 0; c < 3; c++)
        for (int layers = 1; layers <= 2; layers++) {
            check_padding_invariance((cell_type)c, layers, false);
            check_padding_invariance((cell_type)c, layers, true);
        }
    diff_report(&pad_loss);
    diff_report(&pad_grads);
}

Test(model, padding_invariance_with_attention, DOUBLE_BUILD_ONLY)
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
    diff_report(&pad_loss);
    diff_report(&pad_grads);
}

/* Attention weights: exactly zero on padding, summing to one over each sentence's own
 * positions, for every attention type. */
Test(model, attention_ignores_padding)
{
    const attn_kind kinds[] = {ATTN_BAHDANAU, ATTN_DOT, ATTN_GENERAL};
    diff_stat sums = {.what = "attention weights: sum - 1"};
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
                /* One pass, so no shapes differ; the bound is the softmax's own rounding: the
                 * exponentials are summed in double (at most SL[b] - 1 roundings, in the double
                 * build of u), inverted and multiplied in real (2 u), and summed here again in
                 * double: at most 2 SL[b] + 2 roundings of u. Exact exponentials are not
                 * needed: the weights are normalized by the sum of the same values. */
                double tol = gamma_k(2 * SL[b] + 2);
                cr_expect(diff_ok(&sums, fabs(sum - 1), tol),
                          "%s: weights sum to 1 + %.3g (tolerance %.3g)", attn_name(kinds[k]),
                          sum - 1, tol);
            }
        batch_free(&bt);
        model_free(&m);
    }
    diff_report(&sums);
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
Test(model, stepwise_decoder_matches_layerwise, DOUBLE_BUILD_ONLY)
{
    diff_stat dl = {.what = "step-wise vs layer-wise decoder: loss"},
              dg = {.what = "step-wise vs layer-wise decoder: gradients"};
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
        double tol = pass_tolerance(&cfg, 3, 5, 5), rl = fabs(a.loss - b.loss) / a.loss;
        cr_expect(diff_ok(&dl, rl, tol), "%s: loss %.17g vs %.17g (rel %.3g, tolerance %.3g)",
                  cell_name(cfg.cell), a.loss, b.loss, rl, tol);
        double d = max_rel_diff(layerwise, m.grads, m.n_params, 1e-3);
        cr_expect(diff_ok(&dg, d, tol),
                  "%s: gradients differ between the decoders (%.3g, tolerance %.3g)",
                  cell_name(cfg.cell), d, tol);
        free(layerwise);
        batch_free(&bt);
        model_free(&m);
    }
    diff_report(&dl);
    diff_report(&dg);
}

/* Scheduled sampling with probability 1 reads the model's own argmax at every step after the
 * first: re-running teacher-forced on those inputs gives the same loss. The sampling pass runs
 * step by step, the teacher-forced one layer by layer: different shapes. */
Test(model, sampling_reads_own_predictions, DOUBLE_BUILD_ONLY)
{
    model m;
    batch bt;
    model_config cfg = small_config(CELL_GRU, 1, true);
    init_model(&m, cfg, 5, 5);
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
    diff_stat dl = {.what = "sampling vs teacher forcing on its inputs: loss"};
    double tol = pass_tolerance(&cfg, 3, 5, 5), rl = fabs(st.loss - st2.loss) / st.loss;
    cr_expect(diff_ok(&dl, rl, tol), "loss %.17g vs %.17g (rel %.3g, tolerance %.3g)", st.loss,
              st2.loss, rl, tol);
    diff_report(&dl);
    batch_free(&tf);
    batch_free(&bt);
    model_free(&m);
}

/* Loss and gradients of a batch are the sums over its sentences taken alone. */
Test(model, sentences_are_independent, DOUBLE_BUILD_ONLY)
{
    model m;
    model_config cfg = small_config(CELL_LSTM, 2, true);
    init_model(&m, cfg, 5, 5);
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
    /* The sum over three single-sentence passes adds 2 roundings of u to each entry (covered
     * by the allowance). */
    diff_stat dl = {.what = "batch vs sum over its sentences: loss"},
              dg = {.what = "batch vs sum over its sentences: gradients"};
    double tol = pass_tolerance(&cfg, 3, 5, 5), rl = fabs(st.loss - loss_sum) / loss_sum;
    cr_expect(diff_ok(&dl, rl, tol), "batch loss %.17g vs sum %.17g (rel %.3g, tolerance %.3g)",
              st.loss, loss_sum, rl, tol);
    double d = max_rel_diff(m.grads, sum, m.n_params, 1e-3);
    cr_expect(diff_ok(&dg, d, tol),
              "batch gradient differs from the sum over sentences (%.3g, tolerance %.3g)", d, tol);
    diff_report(&dl);
    diff_report(&dg);
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
 * hypothesis back as the target, every position's argmax is the hypothesis token. Greedy steps
 * three sentences at a time, teacher forcing scores one: in float a near-tie of the two best
 * logits (they differ by less than the kernels' rounding, ~1e-6, at some step of some
 * sentence) would flip the argmax, so this runs in double only, where the rounding is ~1e-15
 * and no near-tie that close occurs for these seeded models (the margins of U(-0.3, 0.3)
 * logits are spread over ~0.1, so a tie within 1e-12 has a chance of ~1e-11 per decision). */
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

Test(model, greedy_consistent_with_teacher_forcing, DOUBLE_BUILD_ONLY)
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
