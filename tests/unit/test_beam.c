/* test_beam.c - batched beam search: beam 1 is greedy decoding token for token, wider beams never
 * score below greedy, reported log-probabilities and attention weights equal teacher-forced
 * scoring, a hand-built model where beam search finds what greedy misses, a beam covering every
 * candidate equals exhaustive search (so the early stop loses nothing), batching does not
 * change results, n-best lists and attention weights are well formed, length limits and
 * penalties, output_topk against a reference, ensembles (copies of one model are the model bit
 * for bit; different models: deterministic, scored and chosen by the weighted sum of their
 * teacher-forced log-probabilities), errors.
 *
 * Independent scoring goes through model_evaluate (teacher forcing over a one-sentence batch),
 * never through beam code. Its logits are GEMMs of other shapes than the search's (one
 * sentence against all hypotheses of a batch as rows), as are a batch's and a sentence's
 * searches: in float, scores then differ by the BLAS kernel's blocking (~1e-6), and two
 * hypotheses or tokens closer than that may swap. Built twice (tests/CMakeLists.txt), the
 * comparisons of different shapes run in unit.test_beam_f64 only (DOUBLE_BUILD_ONLY), with the
 * tolerance score_tolerance() derives (~1e-12); there, token-for-token checks (beam against
 * exhaustive search, a batch against its sentences) are safe: a near-tie within 1e-12 of two
 * scores of these seeded models (spread over ~0.1) has a chance of ~1e-11 per decision. Checks
 * of one code path (beam 1 against greedy, which step the same decoder on the same rows) and
 * of a search's own output (sorted, distinct, well-formed) run in both builds. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/beam.h"
#include "s2s/model.h"
#include "s2s/output.h"
#include "s2s/status.h"
#include "testutil.h"

/* Five sources of different lengths over a source vocabulary of 12 (ids 4..11). */
enum { NS = 5, MAX_SRC = 7 };
static const int s0[] = {4, 5, 6, 7, 8, 9, 10}, s1[] = {8, 4}, s2[] = {6, 6, 5, 11}, s3[] = {9},
                 s4[] = {11, 10, 4, 7, 5};
static const int *const SRC[NS] = {s0, s1, s2, s3, s4};
static const int SL[NS] = {7, 2, 4, 1, 5};

static model_config base_config(cell_type cell, int layers, bool bidir, attn_kind attn)
{
    model_config c = {.cell = cell,
                      .layers = layers,
                      .bidir = bidir,
                      .emb = 6,
                      .hidden = 8,
                      .src_vocab = 12,
                      .tgt_vocab = 13,
                      .attn = attn};
    return c;
}

/* Every configuration the decoders distinguish: cells, depths, separate decoder depth,
 * bidirectional encoders, no attention (layer-major training decoder), Bahdanau, dot and
 * general with and without input feeding, tied embeddings. */
enum { N_CONFIGS = 11 };
static model_config config_at(int i)
{
    model_config c;
    switch (i) {
    case 0: c = base_config(CELL_GRU, 2, true, ATTN_NONE); break;
    case 1: c = base_config(CELL_LSTM, 1, false, ATTN_NONE); break;
    case 2:
        c = base_config(CELL_RNN, 2, true, ATTN_NONE);
        c.dec_layers = 1;
        break;
    case 3: c = base_config(CELL_GRU, 1, true, ATTN_BAHDANAU); break;
    case 4: c = base_config(CELL_LSTM, 2, true, ATTN_BAHDANAU); break;
    case 5:
        c = base_config(CELL_RNN, 1, false, ATTN_DOT);
        c.input_feed = true;
        break;
    case 6:
        c = base_config(CELL_LSTM, 2, false, ATTN_DOT);
        c.dec_layers = 3;
        break;
    case 7:
        c = base_config(CELL_GRU, 2, true, ATTN_GENERAL);
        c.input_feed = true;
        break;
    case 8: c = base_config(CELL_RNN, 1, true, ATTN_GENERAL); break;
    case 9:
        c = base_config(CELL_GRU, 1, true, ATTN_NONE);
        c.emb = 8;
        c.tie_embeddings = true;
        break;
    default:
        c = base_config(CELL_LSTM, 1, false, ATTN_GENERAL);
        c.input_feed = true;
        c.emb = 8;
        c.tie_embeddings = true;
        break;
    }
    return c;
}

static const char *config_name(const model_config *c)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s L%d/%d %s attn %s%s%s", cell_name(c->cell), c->layers,
             model_dec_layers(c), c->bidir ? "bidir" : "unidir", attn_name(c->attn),
             c->input_feed ? " +feed" : "", c->tie_embeddings ? " tied" : "");
    return buf;
}

/* Tolerance (relative to max(1, |score|)) of a log-probability computed by two decoders whose
 * products differ in shape (beam search over its rows, teacher forcing over one sentence, a
 * batch's search and a sentence's): model_error_bound (testutil.h) of a forward pass with
 *   depth: per encoder layer and source step a GEMM and the gates (2 stages), per decoder
 *     layer and output step the same plus attention's scores, softmax, context and
 *     combination (4 stages), the bridge and the output layer's log-softmax (2 stages);
 *   k: the longest sum of one stage: the widest layer input (2H of a bidirectional memory,
 *     E + H with input feeding, the output features), the source positions of a context, the
 *     vocabulary of a log-softmax;
 *   kappa = 10 (the allowance of tests/unit/test_model.c's pass_tolerance; these models are
 *     U(-0.8, 0.8), still in the cells' contracting range); the sum of the log-probabilities
 *     of at most max_len tokens is then relative to max(1, |score|), as compared.
 * The model_error_bound's factor 2 already counts the two decoders. ~1e-12 in double (observed
 * under every OpenBLAS kernel: at most 1.8e-15); the formula also held in float
 * (-D"DOUBLE_BUILD_ONLY=.disabled=false"), ~1e-3 there against at most 5e-7 observed. */
static double score_tolerance(const model_config *c, int max_len)
{
    int H = c->hidden, L = c->layers, Ld = model_dec_layers(c);
    int depth = 2 * L * MAX_SRC + (2 + (c->attn != ATTN_NONE ? 4 : 0)) * Ld * max_len + 2;
    int k = 2 * H;
    int widths[] = {c->emb + H, model_feature_size(c), MAX_SRC, c->tgt_vocab};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        k = widths[i] > k ? widths[i] : k;
    return model_error_bound(depth, k, 10);
}

/* A model with room for a search over NS sentences with beams up to 5, seeded parameters from
 * U(-scale, scale): at 0.8 the distributions are peaked and vary between sentences and steps,
 * so greedy and beam paths differ. */
static void make_model(model *m, model_config cfg, int max_len, uint32_t seed)
{
    cr_assert_eq(model_init(m, &cfg, beam_rows(NS, 5), MAX_SRC, max_len + 1), 0,
                 "model_init %s: %s", config_name(&cfg), s2s_errmsg(S2S_EINVAL));
    model_init_params(m, seed, INIT_UNIFORM, 0.8);
}

static void fill_sources(batch *bt, int B, const int *const *src, const int *len)
{
    cr_assert_eq(batch_init(bt, B, MAX_SRC, 2), 0, "batch_init");
    cr_assert_eq(batch_fill(bt, B, src, len, NULL, NULL), 0, "batch_fill");
}

/* Teacher-forced log-probability of hypothesis y (len tokens) given src: minus model_evaluate's
 * NLL over one sentence. Finished, the </s> term counts; unfinished, its target is made padding
 * (the decoder still runs that step, the loss skips it). */
static double teacher_logprob(model *m, const int *src, int sl, const int *y, int len,
                              bool finished)
{
    batch one;
    int dummy = TOK_FIRST_WORD, tl = len > 0 ? len : 1;
    const int *tgt = len > 0 ? y : &dummy;
    cr_assert_eq(batch_init(&one, 1, MAX_SRC, m->max_tgt), 0, "batch_init");
    cr_assert_eq(batch_fill(&one, 1, &src, &sl, &tgt, &tl), 0, "batch_fill: %s",
                 s2s_errmsg(S2S_EINVAL));
    if (len == 0) { /* </s> at once: batch_fill cannot express an empty target */
        one.tgt_T = 1;
        one.tgt_len[0] = 1;
        one.tgt_out[0] = TOK_EOS;
    }
    if (!finished)
        one.tgt_out[len] = TOK_PAD;
    output_stats st;
    cr_assert_eq(model_evaluate(m, &one, &st), 0, "evaluate: %s", s2s_errmsg(S2S_EINVAL));
    cr_assert_eq(st.tokens, len + finished, "scored %ld tokens, expected %d", st.tokens,
                 len + finished);
    batch_free(&one);
    return -st.nll;
}

static void run_beam(model *m, const batch *bt, int K, int nbest, double alpha, bool attention,
                     const int *max_len, int cap_len, beam_result *r)
{
    beam_config bc = {.beam = K, .nbest = nbest, .length_penalty = alpha, .attention = attention};
    beam_search *bs;
    cr_assert_eq(beam_search_init(&bs, m, &bc, bt->B, cap_len), 0, "beam_search_init: %s",
                 s2s_errmsg(S2S_EINVAL));
    cr_assert_eq(beam_result_init(r, bt->B, nbest, cap_len, MAX_SRC, attention), 0,
                 "beam_result_init");
    cr_assert_eq(beam_search_run(bs, bt, max_len, r), 0, "beam_search_run: %s",
                 s2s_errmsg(S2S_EINVAL));
    beam_search_free(bs);
}

static void fill_ints(int *a, int n, int v)
{
    for (int i = 0; i < n; i++)
        a[i] = v;
}

/* 1. Beam 1 is model_greedy, token for token and length for length, in every configuration. */
Test(beam, beam1_equals_greedy)
{
    enum { MAXLEN = 9 };
    int produced = 0, finished = 0, unfinished = 0;
    for (int i = 0; i < N_CONFIGS; i++) {
        model_config cfg = config_at(i);
        for (uint32_t seed = 1; seed <= 3; seed++) {
            model m;
            batch bt;
            make_model(&m, cfg, MAXLEN, seed);
            fill_sources(&bt, NS, SRC, SL);
            int out[NS * MAXLEN], out_len[NS], ml[NS];
            cr_assert_eq(model_greedy(&m, &bt, MAXLEN, out, out_len), 0, "greedy");
            fill_ints(ml, NS, MAXLEN);
            beam_result r;
            run_beam(&m, &bt, 1, 1, 0.6, false, ml, MAXLEN, &r);
            for (int b = 0; b < NS; b++) {
                const beam_hyp *h = &r.hyps[b];
                cr_assert_eq(r.counts[b], 1, "%s: %d hypotheses", config_name(&cfg), r.counts[b]);
                cr_expect_eq(h->len, out_len[b], "%s seed %u sentence %d: length %d vs greedy %d",
                             config_name(&cfg), seed, b, h->len, out_len[b]);
                cr_expect_eq(h->finished, out_len[b] < MAXLEN, "%s: finished flag",
                             config_name(&cfg));
                int n = h->len < out_len[b] ? h->len : out_len[b];
                cr_expect(memcmp(h->ids, out + b * MAXLEN, (size_t)n * sizeof(int)) == 0,
                          "%s seed %u sentence %d: tokens differ from greedy", config_name(&cfg),
                          seed, b);
                produced += h->len;
                finished += h->finished;
                unfinished += !h->finished;
            }
            beam_result_free(&r);
            batch_free(&bt);
            model_free(&m);
        }
    }
    /* The comparison means something only if greedy produced tokens, ends and cut-offs. */
    cr_expect_gt(produced, 100, "only %d tokens decoded", produced);
    cr_expect_gt(finished, 10, "only %d hypotheses ended with </s>", finished);
    cr_expect_gt(unfinished, 10, "only %d hypotheses hit the length limit", unfinished);
}

/* 2. The best hypothesis of a wider beam scores at least greedy's, greedy scored independently
 * (teacher forcing) under the same length penalty. */
Test(beam, never_below_greedy, DOUBLE_BUILD_ONLY)
{
    enum { MAXLEN = 8 };
    const int beams[] = {2, 3, 5};
    const double alphas[] = {0, 0.6};
    int better = 0;
    diff_stat below = {.what = "beam: greedy's teacher-forced score above the best"};
    for (int i = 0; i < N_CONFIGS; i++) {
        model_config cfg = config_at(i);
        model m;
        batch bt;
        make_model(&m, cfg, MAXLEN, 7);
        fill_sources(&bt, NS, SRC, SL);
        int out[NS * MAXLEN], out_len[NS], ml[NS];
        cr_assert_eq(model_greedy(&m, &bt, MAXLEN, out, out_len), 0, "greedy");
        double glp[NS];
        for (int b = 0; b < NS; b++)
            glp[b] = teacher_logprob(&m, SRC[b], SL[b], out + b * MAXLEN, out_len[b],
                                     out_len[b] < MAXLEN);
        fill_ints(ml, NS, MAXLEN);
        for (int k = 0; k < 3; k++)
            for (int a = 0; a < 2; a++) {
                beam_result r;
                run_beam(&m, &bt, beams[k], beams[k] > 2 ? 2 : 1, alphas[a], false, ml, MAXLEN, &r);
                for (int b = 0; b < NS; b++) {
                    bool fin = out_len[b] < MAXLEN;
                    double gs = glp[b] / beam_length_penalty(out_len[b] + fin, alphas[a]);
                    double bs = r.hyps[b * r.nbest].score;
                    double tol = score_tolerance(&cfg, MAXLEN) * fmax(1, fabs(gs));
                    cr_expect(diff_ok(&below, fmax(0, gs - bs), tol),
                              "%s beam %d alpha %g sentence %d: best %.17g below greedy %.17g "
                              "(tolerance %.3g)",
                              config_name(&cfg), beams[k], alphas[a], b, bs, gs, tol);
                    better += bs > gs + 1e-3;
                }
                beam_result_free(&r);
            }
        batch_free(&bt);
        model_free(&m);
    }
    cr_expect_gt(better, 10, "beam search never beat greedy (%d): the test has no power", better);
    diff_report(&below);
}

/* 3. Every returned hypothesis's log-probability is its teacher-forced log-probability, </s>
 * included exactly when finished; its score is that over the length penalty; its attention
 * rows are the teacher-forced pass's attention weights (traced back through the right rows). */
Test(beam, logprob_equals_teacher_forcing, DOUBLE_BUILD_ONLY)
{
    enum { CAP = 8 };
    const int ml[NS] = {8, 3, 6, 2, 8};
    int fin = 0, unfin = 0, attn_rows = 0;
    diff_stat dlp = {.what = "beam vs teacher forcing: log-probability"},
              datt = {.what = "beam vs teacher forcing: attention weights"};
    for (int i = 0; i < N_CONFIGS; i++) {
        model_config cfg = config_at(i);
        model m;
        batch bt;
        make_model(&m, cfg, CAP, 21);
        fill_sources(&bt, NS, SRC, SL);
        beam_result r;
        run_beam(&m, &bt, 4, 4, 0.6, true, ml, CAP, &r);
        for (int b = 0; b < NS; b++)
            for (int j = 0; j < r.counts[b]; j++) {
                const beam_hyp *h = &r.hyps[b * r.nbest + j];
                double ref = teacher_logprob(&m, SRC[b], SL[b], h->ids, h->len, h->finished);
                double tol = score_tolerance(&cfg, CAP);
                cr_expect(diff_ok(&dlp, fabs(h->logprob - ref) / fmax(1, fabs(ref)), tol),
                          "%s sentence %d hyp %d (len %d, %s): logprob %.17g, teacher-forced "
                          "%.17g (tolerance %.3g)",
                          config_name(&cfg), b, j, h->len, h->finished ? "finished" : "cut",
                          h->logprob, ref, tol);
                double pen = beam_length_penalty(h->len + h->finished, 0.6);
                cr_expect(fabs(h->score - h->logprob / pen) <= 1e-12 * fabs(h->score) + 1e-15,
                          "score %.9g is not logprob / lp", h->score);
                /* model_evaluate left its weights [Tt, 1, Ts] in m.att_alpha (Ts = SL[b]).
                 * The beam's are kept as float: weights are at most 1, so storing one rounds
                 * it by at most 2^-24 on top of the decoders' difference (weights at most 1:
                 * the relative bound is an absolute one). */
                double atol = tol + 0x1p-24;
                for (int t = 0; h->attn && t < h->len + h->finished; t++)
                    for (int s = 0; s < SL[b]; s++) {
                        double want = m.att_alpha[t * SL[b] + s];
                        float got = h->attn[t * SL[b] + s];
                        cr_expect(diff_ok(&datt, fabs(got - want), atol),
                                  "%s sentence %d hyp %d: attention [%d, %d] %.9g, "
                                  "teacher-forced %.9g (tolerance %.3g)",
                                  config_name(&cfg), b, j, t, s, got, want, atol);
                    }
                attn_rows += h->attn ? h->len + h->finished : 0;
                fin += h->finished;
                unfin += !h->finished;
            }
        beam_result_free(&r);
        batch_free(&bt);
        model_free(&m);
    }
    cr_expect_gt(fin, 10, "only %d finished hypotheses checked", fin);
    cr_expect_gt(unfin, 10, "only %d unfinished hypotheses checked", unfin);
    cr_expect_gt(attn_rows, 100, "only %d attention rows checked", attn_rows);
    diff_report(&dlp);
    diff_report(&datt);
}

/* Parameter tensor `name` of m. */
static real *param(model *m, const char *name)
{
    int i = param_table_find(&m->table, name);
    cr_assert_geq(i, 0, "no tensor %s", name);
    return m->params + m->table.t[i].offset;
}

/* 4. A hand-built bigram model where greedy walks into a trap. Vanilla RNN, 6 target tokens
 * (pad, unk, <s>, </s>, a = 4, b = 5), E = H = 6, every parameter zero except: target embedding
 * of token v = 3 e_v, decoder W_ih = I, out.weight[v][p] = L[p][v] / tanh(3). The decoder state
 * after reading token p is tanh(3) e_p whatever came before (W_hh = 0), so the logits are
 * L[p][.]: p(next | previous) is a table.
 *   after <s>: a 0.40, b 0.35, </s> 0.20, unk 0.05
 *   after a:   </s> 0.30, unk 0.24, a 0.23, b 0.23
 *   after b:   </s> 0.90, unk, a, b 0.1/3 each
 * Greedy takes a (0.40) and then </s>: P = 0.12. Beam 2 keeps b as well, and b </s> has
 * P = 0.315. */
Test(beam, finds_what_greedy_misses)
{
    model_config cfg = {
        .cell = CELL_RNN, .layers = 1, .emb = 6, .hidden = 6, .src_vocab = 5, .tgt_vocab = 6};
    model m;
    cr_assert_eq(model_init(&m, &cfg, beam_rows(1, 2), 3, 6), 0, "model_init");
    real *emb = param(&m, "tgt_embed.weight"), *wih = param(&m, "decoder.weight_ih_l0");
    real *wout = param(&m, "out.weight");
    for (int v = 1; v < 6; v++)
        emb[v * 6 + v] = 3;
    for (int j = 0; j < 6; j++)
        wih[j * 6 + j] = 1;
    double P[6][6] = {{0}};
    const double third = 0.1 / 3;
    P[TOK_BOS][4] = 0.40, P[TOK_BOS][5] = 0.35, P[TOK_BOS][TOK_EOS] = 0.20, P[TOK_BOS][1] = 0.05;
    P[4][TOK_EOS] = 0.30, P[4][1] = 0.24, P[4][4] = 0.23, P[4][5] = 0.23;
    P[5][TOK_EOS] = 0.90, P[5][1] = third, P[5][4] = third, P[5][5] = third;
    for (int p = 0; p < 6; p++)
        for (int v = 0; v < 6; v++) {
            double logit = P[p][v] > 0 ? log(P[p][v]) : -30; /* pad, <s>: never */
            if (p != TOK_BOS && p != 4 && p != 5)
                logit = 0;
            wout[v * 6 + p] = (real)(logit / tanh(3.0));
        }

    static const int src[] = {4, 4};
    const int *srcs[1] = {src}, sl = 2, ml = 4;
    batch bt;
    cr_assert_eq(batch_init(&bt, 1, 3, 2), 0, "batch_init");
    cr_assert_eq(batch_fill(&bt, 1, srcs, &sl, NULL, NULL), 0, "batch_fill");
    int out[4], out_len;
    cr_assert_eq(model_greedy(&m, &bt, 4, out, &out_len), 0, "greedy");
    cr_assert_eq(out_len, 1, "greedy length %d", out_len);
    cr_assert_eq(out[0], 4, "greedy chose %d", out[0]);

    beam_result r;
    run_beam(&m, &bt, 1, 1, 0, false, &ml, 4, &r);
    cr_expect(r.hyps[0].finished && r.hyps[0].len == 1 && r.hyps[0].ids[0] == 4,
              "beam 1 is not greedy's 'a </s>'");
    beam_result_free(&r);

    run_beam(&m, &bt, 2, 2, 0, false, &ml, 4, &r);
    cr_assert_eq(r.counts[0], 2, "%d hypotheses (greedy's duplicate must be dropped)", r.counts[0]);
    const beam_hyp *h0 = &r.hyps[0], *h1 = &r.hyps[1];
    /* The model computes the table's logits up to rounding: a logit is one product
     * out.weight[v][p] * h_p (the other terms are exact zeros) of the stored L / tanh(3) and
     * h_p = tanh(3), each within 3 u (rounding of the quotient, tanh within 2 u in float,
     * the product), so |delta z| <= 8 u |L| with |L| <= 30; a log-softmax moves by at most
     * twice the largest logit error plus the rounding of its exponentials, sum and log
     * (V + 4 = 10 u). Two steps: 2 (2 * 8 * 30 + 10) u (5.8e-5 in float). Besides rounding,
     * the table is the model's only up to the "never" tokens pad and <s>: their logits of -30
     * take e^-30 of probability each, so log P of a step is off by 2 e^-30 (2e-13). */
    const double tol = 2 * (2 * 8 * 30 + 10) * REAL_UNIT_ROUNDOFF + 2 * 2 * exp(-30.0);
    diff_stat dlp = {.what = "hand-built bigram model: log-probabilities"};
    cr_expect(h0->finished && h0->len == 1 && h0->ids[0] == 5, "best is not 'b </s>'");
    cr_expect(diff_ok(&dlp, fabs(h0->logprob - log(0.315)), tol),
              "best log-probability %.9f vs %.9f (tolerance %.3g)", h0->logprob, log(0.315), tol);
    cr_expect(h1->finished && h1->len == 1 && h1->ids[0] == 4, "second is not 'a </s>'");
    cr_expect(diff_ok(&dlp, fabs(h1->logprob - log(0.12)), tol),
              "second log-probability %.9f vs %.9f (tolerance %.3g)", h1->logprob, log(0.12), tol);
    diff_report(&dlp);
    cr_expect_null(h0->attn, "attention without an attention model");
    beam_result_free(&r);
    batch_free(&bt);
    model_free(&m);
}

/* A beam wide enough to keep every candidate is exhaustive search, and the early stop (an open
 * hypothesis's score bounded by its log-probability over the largest penalty) loses nothing:
 * with 6 target tokens (3 words besides </s>) and at most 4 output tokens there are 121
 * hypotheses (40 finished, 81 cut) and never more than 108 candidates per step. The n-best
 * list of beam 108 must be the best 1, 2 or 10 of all of them, scored by teacher forcing; the
 * short lists let the search stop early, and a large alpha makes the bound matter. */
enum { EX_LIMIT = 4, EX_ALL = 1 + 3 + 9 + 27 + 81 };
typedef struct {
    int len, ids[EX_LIMIT];
    bool finished;
    double score;
} enumerated;

static int by_score(const void *a, const void *b)
{
    double x = ((const enumerated *)a)->score, y = ((const enumerated *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

Test(beam, wide_beam_is_exhaustive, DOUBLE_BUILD_ONLY)
{
    enum { B = 2, K = 108 };
    static const int words[3] = {1, 4, 5};
    model_config cfg = base_config(CELL_GRU, 1, true, ATTN_BAHDANAU);
    cfg.tgt_vocab = 6;
    model m;
    cr_assert_eq(model_init(&m, &cfg, beam_rows(B, K), MAX_SRC, EX_LIMIT + 1), 0, "model_init");
    model_init_params(&m, 9, INIT_UNIFORM, 1.0);
    batch bt;
    fill_sources(&bt, B, SRC, SL);
    const int ml[B] = {EX_LIMIT, EX_LIMIT}, nbests[] = {1, 2, 10};
    const double alphas[] = {0, 0.6, 1.5, 4};
    static enumerated all[B][EX_ALL];
    const double tol = score_tolerance(&cfg, EX_LIMIT);
    diff_stat dsc = {.what = "beam 108 vs exhaustive search: scores"};
    for (int a = 0; a < 4; a++) {
        for (int b = 0; b < B; b++) {
            int n = 0;
            for (int len = 0; len <= EX_LIMIT; len++)
                for (int code = 0, count = (int)pow(3, len); code < count; code++) {
                    enumerated *e = &all[b][n++];
                    e->len = len;
                    e->finished = len < EX_LIMIT;
                    for (int t = 0, c = code; t < len; t++, c /= 3)
                        e->ids[t] = words[c % 3];
                    e->score = teacher_logprob(&m, SRC[b], SL[b], e->ids, len, e->finished) /
                               beam_length_penalty(len + e->finished, alphas[a]);
                }
            cr_assert_eq(n, EX_ALL, "enumerated %d", n);
            qsort(all[b], (size_t)n, sizeof all[b][0], by_score);
        }
        for (int k = 0; k < 3; k++) {
            const int nb = nbests[k];
            beam_result r;
            run_beam(&m, &bt, K, nb, alphas[a], false, ml, EX_LIMIT, &r);
            for (int b = 0; b < B; b++) {
                cr_assert_eq(r.counts[b], nb, "alpha %g sentence %d: %d hypotheses", alphas[a], b,
                             r.counts[b]);
                for (int j = 0; j < nb; j++) {
                    const beam_hyp *h = &r.hyps[b * r.nbest + j];
                    const enumerated *e = &all[b][j];
                    cr_expect(h->len == e->len && h->finished == e->finished &&
                                  !memcmp(h->ids, e->ids, (size_t)e->len * sizeof(int)),
                              "alpha %g nbest %d sentence %d: hypothesis %d is not the %d-th "
                              "best overall",
                              alphas[a], nb, b, j, j + 1);
                    double d = fabs(h->score - e->score) / fmax(1, fabs(e->score));
                    cr_expect(diff_ok(&dsc, d, tol),
                              "alpha %g sentence %d rank %d: score %.17g, exhaustive %.17g "
                              "(tolerance %.3g)",
                              alphas[a], b, j, h->score, e->score, tol);
                }
            }
            beam_result_free(&r);
        }
    }
    diff_report(&dsc);
    batch_free(&bt);
    model_free(&m);
}

/* 5. A batch decodes as its sentences alone do: same hypotheses, same scores. */
Test(beam, batched_equals_one_at_a_time, DOUBLE_BUILD_ONLY)
{
    enum { CAP = 8, B = 4 };
    const int cfgs[] = {0, 4, 7, 1};
    const int ml[NS] = {8, 5, 7, 3};
    diff_stat dsc = {.what = "batched vs one at a time: scores"},
              datt = {.what = "batched vs one at a time: attention weights"};
    for (int c = 0; c < 4; c++) {
        model_config cfg = config_at(cfgs[c]);
        model m;
        batch bt;
        make_model(&m, cfg, CAP, 5);
        fill_sources(&bt, B, SRC, SL);
        beam_result all;
        run_beam(&m, &bt, 3, 3, 0.6, true, ml, CAP, &all);
        /* Attention weights (at most 1) are kept as float: each side rounds once more, by at
         * most 2^-24. */
        const double tol = score_tolerance(&cfg, CAP), atol = tol + 0x1p-23;
        for (int b = 0; b < B; b++) {
            batch one;
            beam_result r;
            fill_sources(&one, 1, &SRC[b], &SL[b]);
            run_beam(&m, &one, 3, 3, 0.6, true, &ml[b], CAP, &r);
            cr_assert_eq(r.counts[0], all.counts[b], "%s sentence %d: %d vs %d hypotheses",
                         config_name(&cfg), b, r.counts[0], all.counts[b]);
            for (int j = 0; j < r.counts[0]; j++) {
                const beam_hyp *x = &r.hyps[j], *y = &all.hyps[b * all.nbest + j];
                cr_expect(x->len == y->len && x->finished == y->finished &&
                              !memcmp(x->ids, y->ids, (size_t)x->len * sizeof(int)),
                          "%s sentence %d hyp %d differs alone and in the batch", config_name(&cfg),
                          b, j);
                double d = fabs(x->score - y->score) / fmax(1, fabs(x->score));
                cr_expect(diff_ok(&dsc, d, tol),
                          "%s sentence %d hyp %d: score %.17g alone, %.17g in the batch "
                          "(tolerance %.3g)",
                          config_name(&cfg), b, j, x->score, y->score, tol);
                if (x->attn && y->attn && x->len == y->len)
                    for (int k = 0; k < (x->len + x->finished) * SL[b]; k++)
                        cr_expect(diff_ok(&datt, fabs((double)x->attn[k] - y->attn[k]), atol),
                                  "%s sentence %d hyp %d: attention differs (%.9g vs %.9g, "
                                  "tolerance %.3g)",
                                  config_name(&cfg), b, j, x->attn[k], y->attn[k], atol);
            }
            beam_result_free(&r);
            batch_free(&one);
        }
        beam_result_free(&all);
        batch_free(&bt);
        model_free(&m);
    }
    diff_report(&dsc);
    diff_report(&datt);
}

static bool same_tokens(const beam_hyp *a, const beam_hyp *b)
{
    return a->len == b->len && a->finished == b->finished &&
           !memcmp(a->ids, b->ids, (size_t)a->len * sizeof(int));
}

/* 6. n-best lists: sorted by score, distinct, legal tokens, nbest of them; attention rows are
 * distributions over each sentence's own source positions; no attention, no weights. */
Test(beam, nbest_lists_and_attention)
{
    enum { CAP = 8 };
    const int ml[NS] = {8, 4, 8, 6, 8};
    const int nbests[] = {5, 3};
    int multi = 0;
    diff_stat dsum = {.what = "n-best attention rows: sum - 1"};
    for (int i = 0; i < N_CONFIGS; i++) {
        model_config cfg = config_at(i);
        model m;
        batch bt;
        make_model(&m, cfg, CAP, 33);
        fill_sources(&bt, NS, SRC, SL);
        for (int n = 0; n < 2; n++) {
            beam_result r;
            run_beam(&m, &bt, 5, nbests[n], 0.6, true, ml, CAP, &r);
            for (int b = 0; b < NS; b++) {
                int cnt = r.counts[b];
                /* 11 legal tokens >= beam 5: always the full n-best */
                cr_expect_eq(cnt, nbests[n], "%s: %d hypotheses", config_name(&cfg), cnt);
                multi += cnt > 1;
                for (int j = 0; j < cnt; j++) {
                    const beam_hyp *h = &r.hyps[b * r.nbest + j];
                    if (j > 0)
                        cr_expect(h->score <= h[-1].score, "%s sentence %d: not sorted",
                                  config_name(&cfg), b);
                    for (int k = 0; k < j; k++)
                        cr_expect(!same_tokens(h, &r.hyps[b * r.nbest + k]),
                                  "%s sentence %d: hypotheses %d and %d are the same",
                                  config_name(&cfg), b, k, j);
                    for (int t = 0; t < h->len; t++)
                        cr_expect(h->ids[t] >= 1 && h->ids[t] < cfg.tgt_vocab &&
                                      h->ids[t] != TOK_BOS && h->ids[t] != TOK_EOS,
                                  "%s: token %d in a hypothesis", config_name(&cfg), h->ids[t]);
                    if (cfg.attn == ATTN_NONE) {
                        cr_expect_null(h->attn, "%s: attention weights without attention",
                                       config_name(&cfg));
                        continue;
                    }
                    cr_assert_not_null(h->attn, "%s: no attention weights", config_name(&cfg));
                    for (int t = 0; t < h->len + h->finished; t++) {
                        double sum = 0;
                        for (int s = 0; s < SL[b]; s++) {
                            float a = h->attn[t * SL[b] + s];
                            cr_expect(a >= 0 && a <= 1, "weight %g", a);
                            sum += a;
                        }
                        /* One softmax (tests/unit/test_model.c, attention_ignores_padding:
                         * 2 SL + 2 roundings of u), stored as float: each weight rounds by at
                         * most 2^-24 of itself, the row by 2^-24 in all. */
                        double tol = gamma_k(2 * SL[b] + 2) + 0x1p-24;
                        cr_expect(diff_ok(&dsum, fabs(sum - 1), tol),
                                  "%s sentence %d hyp %d row %d sums to 1 + %.3g (tolerance %.3g)",
                                  config_name(&cfg), b, j, t, sum - 1, tol);
                    }
                }
            }
            beam_result_free(&r);
        }
        batch_free(&bt);
        model_free(&m);
    }
    cr_expect_gt(multi, 20, "n-best lists of one hypothesis only (%d)", multi);
    diff_report(&dsum);
}

/* 7. The length penalty, and per-sentence length limits: no hypothesis is longer, a cut one is
 * exactly at the limit, a finished one below it. */
Test(beam, length_penalty_and_limits)
{
    cr_expect_eq(beam_length_penalty(0, 0), 1.0, "alpha 0");
    cr_expect_eq(beam_length_penalty(17, 0), 1.0, "alpha 0");
    cr_expect(fabs(beam_length_penalty(1, 0.6) - 1) < 1e-15, "lp(1) = 1");
    cr_expect(fabs(beam_length_penalty(7, 1) - 2) < 1e-15, "lp(7, 1) = 2");
    cr_expect(fabs(beam_length_penalty(10, 0.6) - pow(2.5, 0.6)) < 1e-15, "lp(10, 0.6)");
    cr_expect(beam_length_penalty(9, 0.6) > beam_length_penalty(8, 0.6), "increasing in n");

    enum { CAP = 9 };
    const int ml[NS] = {1, 2, 9, 3, 5};
    int cut = 0;
    for (int i = 0; i < N_CONFIGS; i += 3) {
        model_config cfg = config_at(i);
        model m;
        batch bt;
        make_model(&m, cfg, CAP, 3);
        fill_sources(&bt, NS, SRC, SL);
        for (int K = 1; K <= 4; K += 3) {
            beam_result r;
            run_beam(&m, &bt, K, K, 1.0, true, ml, CAP, &r);
            for (int b = 0; b < NS; b++)
                for (int j = 0; j < r.counts[b]; j++) {
                    const beam_hyp *h = &r.hyps[b * r.nbest + j];
                    if (h->finished)
                        cr_expect_lt(h->len, ml[b], "finished at %d, limit %d", h->len, ml[b]);
                    else
                        cr_expect_eq(h->len, ml[b], "cut at %d, limit %d", h->len, ml[b]);
                    cut += !h->finished;
                }
            beam_result_free(&r);
        }
        batch_free(&bt);
        model_free(&m);
    }
    cr_expect_gt(cut, 5, "the limits cut only %d hypotheses", cut);
}

/* ---- ensembles ------------------------------------------------------------------------------ */

/* The search of an ensemble of n models with these weights (NULL: equal). */
static void run_ensemble(model *const *models, int n, const double *weights, const batch *bt, int K,
                         int nbest, bool attention, const int *max_len, int cap_len, beam_result *r)
{
    beam_config bc = {.beam = K, .nbest = nbest, .length_penalty = 0.6, .attention = attention};
    beam_search *bs;
    cr_assert_eq(beam_search_init_ensemble(&bs, models, weights, n, &bc, bt->B, cap_len), 0,
                 "beam_search_init_ensemble: %s", s2s_errmsg(S2S_EINVAL));
    cr_assert_eq(beam_result_init(r, bt->B, nbest, cap_len, MAX_SRC, attention), 0,
                 "beam_result_init");
    cr_assert_eq(beam_search_run(bs, bt, max_len, r), 0, "beam_search_run: %s",
                 s2s_errmsg(S2S_EINVAL));
    beam_search_free(bs);
}

/* A second model with m's configuration and parameters, in buffers of its own. */
static void copy_model(model *c, const model *m, int max_len)
{
    make_model(c, m->cfg, max_len, 1);
    memcpy(c->params, m->params, m->n_params * sizeof(real));
}

/* Whether sentence b's hypotheses are the same in a and b, bit for bit (attention too). */
static bool same_sentence(const beam_result *x, const beam_result *y, int b, int src_len)
{
    if (x->counts[b] != y->counts[b])
        return false;
    for (int j = 0; j < x->counts[b]; j++) {
        const beam_hyp *h = &x->hyps[b * x->nbest + j], *g = &y->hyps[b * y->nbest + j];
        if (h->len != g->len || h->finished != g->finished ||
            memcmp(&h->logprob, &g->logprob, sizeof h->logprob) ||
            memcmp(&h->score, &g->score, sizeof h->score) ||
            memcmp(h->ids, g->ids, (size_t)h->len * sizeof *h->ids) || !h->attn != !g->attn ||
            (h->attn &&
             memcmp(h->attn, g->attn, (size_t)(h->len + h->finished) * src_len * sizeof(float))))
            return false;
    }
    return true;
}

/* 8. Copies of one model (parameters in buffers of their own) with equal weights are the model:
 * every hypothesis, log-probability, score and attention weight bit for bit, greedy and beam,
 * in every configuration (include/s2s/ensemble.h: the halves and quarters are exact). */
Test(beam, ensemble_of_copies_is_one_model)
{
    enum { MAXLEN = 9 };
    int ml[NS], compared = 0;
    fill_ints(ml, NS, MAXLEN);
    for (int i = 0; i < N_CONFIGS; i++) {
        model_config cfg = config_at(i);
        model m, c[3];
        batch bt;
        make_model(&m, cfg, MAXLEN, 11 + i);
        for (int j = 0; j < 3; j++)
            copy_model(&c[j], &m, MAXLEN);
        model *const ms[4] = {&m, &c[0], &c[1], &c[2]};
        fill_sources(&bt, NS, SRC, SL);
        for (int K = 1; K <= 4; K += 3) {
            beam_result one, two, four;
            run_beam(&m, &bt, K, K, 0.6, true, ml, MAXLEN, &one);
            run_ensemble(ms, 2, NULL, &bt, K, K, true, ml, MAXLEN, &two);
            run_ensemble(ms, 4, (const double[]){2, 2, 2, 2}, &bt, K, K, true, ml, MAXLEN, &four);
            for (int b = 0; b < NS; b++) {
                cr_expect(same_sentence(&one, &two, b, SL[b]),
                          "%s beam %d sentence %d: two copies differ from the model",
                          config_name(&cfg), K, b);
                cr_expect(same_sentence(&one, &four, b, SL[b]),
                          "%s beam %d sentence %d: four copies differ from the model",
                          config_name(&cfg), K, b);
                compared += one.counts[b];
            }
            beam_result_free(&one);
            beam_result_free(&two);
            beam_result_free(&four);
        }
        batch_free(&bt);
        model_free(&m);
        for (int j = 0; j < 3; j++)
            model_free(&c[j]);
    }
    cr_expect_gt(compared, 200, "only %d hypotheses compared", compared);
}

/* Pairs of different architectures (cells, depths, attention kinds; the first with attention
 * in some, without in others), seeded differently. */
static void ensemble_pair(int p, model *a, model *b, int max_len)
{
    make_model(a, config_at(p), max_len, 31 + p);
    make_model(b, config_at((p + 4) % N_CONFIGS), max_len, 47 + p);
}

/* 9. Different models: the search is deterministic (bit for bit run to run), differs from each
 * model alone on some sentences, and is well formed: sorted n-best lists of legal tokens, the
 * first model's attention weights (none when it has no attention). */
Test(beam, ensemble_of_different_models)
{
    enum { MAXLEN = 8 };
    int ml[NS], differ_a = 0, differ_b = 0, weighted = 0, checked = 0;
    fill_ints(ml, NS, MAXLEN);
    for (int p = 0; p < N_CONFIGS; p++) {
        model a, b;
        batch bt;
        ensemble_pair(p, &a, &b, MAXLEN);
        model *const ms[2] = {&a, &b};
        fill_sources(&bt, NS, SRC, SL);
        for (int K = 1; K <= 4; K += 3) {
            beam_result ra, rb, e1, e2, ew;
            run_beam(&a, &bt, K, K, 0.6, true, ml, MAXLEN, &ra);
            run_beam(&b, &bt, K, K, 0.6, true, ml, MAXLEN, &rb);
            run_ensemble(ms, 2, NULL, &bt, K, K, true, ml, MAXLEN, &e1);
            run_ensemble(ms, 2, NULL, &bt, K, K, true, ml, MAXLEN, &e2);
            run_ensemble(ms, 2, (const double[]){0.9, 0.1}, &bt, K, K, true, ml, MAXLEN, &ew);
            for (int s = 0; s < NS; s++) {
                cr_expect(same_sentence(&e1, &e2, s, SL[s]),
                          "pair %d beam %d sentence %d: two runs differ", p, K, s);
                differ_a += !same_sentence(&e1, &ra, s, SL[s]);
                differ_b += !same_sentence(&e1, &rb, s, SL[s]);
                weighted += !same_sentence(&e1, &ew, s, SL[s]);
                for (int j = 0; j < e1.counts[s]; j++) {
                    const beam_hyp *h = &e1.hyps[s * e1.nbest + j];
                    if (j > 0)
                        cr_expect_leq(h->score, e1.hyps[s * e1.nbest + j - 1].score,
                                      "pair %d: n-best list not sorted", p);
                    for (int t = 0; t < h->len; t++)
                        cr_expect(h->ids[t] >= 1 && h->ids[t] < 13 && h->ids[t] != TOK_BOS &&
                                      h->ids[t] != TOK_EOS,
                                  "pair %d: token %d", p, h->ids[t]);
                    cr_expect_eq(!h->attn, a.cfg.attn == ATTN_NONE,
                                 "pair %d: attention weights %s, the first model %s attention", p,
                                 h->attn ? "kept" : "missing",
                                 a.cfg.attn == ATTN_NONE ? "has no" : "has");
                    checked++;
                }
            }
            beam_result_free(&ra);
            beam_result_free(&rb);
            beam_result_free(&e1);
            beam_result_free(&e2);
            beam_result_free(&ew);
        }
        batch_free(&bt);
        model_free(&a);
        model_free(&b);
    }
    cr_expect_gt(checked, 100, "only %d hypotheses checked", checked);
    cr_expect_gt(differ_a, 5, "the ensemble decoded as its first model (%d sentences differ)",
                 differ_a);
    cr_expect_gt(differ_b, 5, "the ensemble decoded as its second model (%d sentences differ)",
                 differ_b);
    cr_expect_gt(weighted, 5, "weights 0.9, 0.1 decoded as equal weights (%d differ)", weighted);
}

/* Teacher-forced log-probability of token v after the prefix y[0 .. t) (v = </s>: finishing). */
static double teacher_next(model *m, int b, const int *y, int t, int v)
{
    int ext[16];
    double before = teacher_logprob(m, SRC[b], SL[b], y, t, false);
    if (v == TOK_EOS)
        return teacher_logprob(m, SRC[b], SL[b], y, t, true) - before;
    memcpy(ext, y, (size_t)t * sizeof *ext);
    ext[t] = v;
    return teacher_logprob(m, SRC[b], SL[b], ext, t + 1, false) - before;
}

/* 10. An ensemble's scores are the weighted sums of its models' teacher-forced
 * log-probabilities (beam 3, n-best lists, weights 3 : 1), and greedy decoding takes at every
 * step the token of the highest weighted sum, both scored by teacher forcing of each model. */
Test(beam, ensemble_scores_are_weighted_teacher_forcing, DOUBLE_BUILD_ONLY)
{
    enum { MAXLEN = 6 };
    const double w[2] = {0.75, 0.25};
    int ml[NS], steps = 0, hyps = 0;
    fill_ints(ml, NS, MAXLEN);
    diff_stat dlp = {.what = "ensemble vs teacher forcing: log-probability"},
              dch = {.what = "ensemble greedy: teacher-forced shortfall of the choice"};
    for (int p = 0; p < N_CONFIGS; p += 2) {
        model a, b;
        batch bt;
        ensemble_pair(p, &a, &b, MAXLEN);
        model *const ms[2] = {&a, &b};
        fill_sources(&bt, NS, SRC, SL);
        double tol = fmax(score_tolerance(&a.cfg, MAXLEN), score_tolerance(&b.cfg, MAXLEN));
        beam_result r, g;
        run_ensemble(ms, 2, (const double[]){3, 1}, &bt, 3, 3, false, ml, MAXLEN, &r);
        run_ensemble(ms, 2, (const double[]){3, 1}, &bt, 1, 1, false, ml, MAXLEN, &g);
        for (int s = 0; s < NS; s++) {
            for (int j = 0; j < r.counts[s]; j++) {
                const beam_hyp *h = &r.hyps[s * r.nbest + j];
                double ref = 0;
                for (int k = 0; k < 2; k++)
                    ref +=
                        w[k] * teacher_logprob(ms[k], SRC[s], SL[s], h->ids, h->len, h->finished);
                cr_expect(diff_ok(&dlp, fabs(h->logprob - ref) / fmax(1, fabs(ref)), tol),
                          "pair %d sentence %d hyp %d: logprob %.17g, weighted teacher-forced "
                          "%.17g (tolerance %.3g)",
                          p, s, j, h->logprob, ref, tol);
                hyps++;
            }
            const beam_hyp *h = &g.hyps[s];
            for (int t = 0; t < h->len + h->finished; t++) {
                double best = -INFINITY, chosen = 0;
                int pick = t < h->len ? h->ids[t] : TOK_EOS;
                for (int v = 0; v < 13; v++) {
                    if (v == TOK_PAD || v == TOK_BOS)
                        continue;
                    double sc = w[0] * teacher_next(&a, s, h->ids, t, v) +
                                w[1] * teacher_next(&b, s, h->ids, t, v);
                    best = fmax(best, sc);
                    chosen = v == pick ? sc : chosen;
                }
                cr_expect(diff_ok(&dch, best - chosen, 2 * tol * fmax(1, fabs(best))),
                          "pair %d sentence %d step %d: token %d scores %.17g, the best %.17g", p,
                          s, t, pick, chosen, best);
                steps++;
            }
        }
        beam_result_free(&r);
        beam_result_free(&g);
        batch_free(&bt);
        model_free(&a);
        model_free(&b);
    }
    cr_expect_gt(hyps, 40, "only %d hypotheses checked", hyps);
    cr_expect_gt(steps, 40, "only %d greedy steps checked", steps);
    diff_report(&dlp);
    diff_report(&dch);
}

/* Rounds x[n] to multiples of 1/16. */
static void to_sixteenths(real *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = (real)(round(x[i] * 16) / 16);
}

/* output_topk, beam search's view of the output layer: per row the k best legal tokens (never
 * <pad> or <s>, even when they are the most probable), ties to the lower id, log-probabilities
 * normalized over the whole vocabulary, -1 / -inf beyond the legal tokens; rows in several
 * blocks of the workspace.
 * Inputs and weights are multiples of 1/16 in [-1, 1], so every product is a multiple of 2^-8
 * and every partial sum of I = 5 of them is exact in float: the logits' GEMM is exact in any
 * BLAS kernel's order and blocking, with or without FMA. So the tie of tokens 5 and 8 is exact
 * (a kernel may compute two columns of the product by different code, which in general rounds
 * them differently), and each logit is the double reference's rounded once when the bias is
 * added: |z| < 6, at most 3 u off. */
Test(beam, output_topk_against_reference)
{
    enum { N = 7, I = 5, V = 11, K = V };
    output_ws ws;
    cr_assert_eq(output_ws_init(&ws, I, V, 3), 0, "output_ws_init");
    real x[N * I], W[V * I], b[V];
    fill_uniform(x, N * I, -1, 1, 4, 1);
    fill_uniform(W, V * I, -1, 1, 4, 2);
    to_sixteenths(x, N * I);
    to_sixteenths(W, V * I);
    fill_uniform(b, V, -0.5, 0.5, 4, 3);
    b[TOK_PAD] = b[TOK_BOS] = 50;                   /* the most probable, yet never chosen */
    memcpy(W + 8 * I, W + 5 * I, I * sizeof(real)); /* tokens 5 and 8: equal logits */
    b[8] = b[5];
    int ids[N * K];
    double lp[N * K];
    output_topk(&ws, x, N, W, b, K, ids, lp);
    /* Order: a logit rounded once (3 u at |z| < 6) may tie with or cross a neighbour closer
     * than 6 u. Log-probabilities z_j - lse: the logit's 3 u, and lse = mx + log(sum) with the
     * pad and <s> terms exp(0) = 1 exact, the others' exponentials within 2 ulp (4 u) of
     * themselves and their sum in double: 4 u; with the roundings of log and the subtraction
     * 10 u, tol = gamma_k(12). */
    const double order_slack = 6 * REAL_UNIT_ROUNDOFF, lp_tol = gamma_k(12);
    diff_stat dlp = {.what = "output_topk: log-probabilities"};
    for (int i = 0; i < N; i++) {
        double z[V], mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) {
            z[v] = b[v];
            for (int j = 0; j < I; j++)
                z[v] += (double)x[i * I + j] * W[v * I + j];
            mx = fmax(mx, z[v]);
        }
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        double lse = mx + log(sum);
        const int *top = ids + i * K;
        for (int q = 0; q < V - 2; q++) {
            cr_expect(top[q] != TOK_PAD && top[q] != TOK_BOS && top[q] > 0 && top[q] < V,
                      "row %d: id %d", i, top[q]);
            if (q > 0)
                cr_expect(z[top[q]] < z[top[q - 1]] + order_slack &&
                              (z[top[q]] != z[top[q - 1]] || top[q] > top[q - 1]),
                          "row %d: not sorted by logit then id at %d", i, q);
            cr_expect(diff_ok(&dlp, fabs(lp[i * K + q] - (z[top[q]] - lse)), lp_tol),
                      "row %d: log-prob %.17g, reference %.17g (tolerance %.3g)", i,
                      lp[i * K + q], z[top[q]] - lse, lp_tol);
        }
        int pos5 = -1, pos8 = -1;
        for (int q = 0; q < V - 2; q++) {
            pos5 = top[q] == 5 ? q : pos5;
            pos8 = top[q] == 8 ? q : pos8;
        }
        cr_expect(pos8 == pos5 + 1, "row %d: tie of 5 and 8 not broken to the lower id", i);
        for (int q = V - 2; q < K; q++)
            cr_expect(top[q] == -1 && isinf(lp[i * K + q]) && lp[i * K + q] < 0,
                      "row %d: entry %d beyond the legal tokens", i, q);
    }
    /* k = 1 is greedy's choice; logp is optional. */
    int one[N];
    output_topk(&ws, x, N, W, b, 1, one, NULL);
    for (int i = 0; i < N; i++)
        cr_expect_eq(one[i], ids[i * K], "row %d: top-1 %d vs %d", i, one[i], ids[i * K]);
    diff_report(&dlp);
    output_ws_free(&ws);
}

/* Errors name what is wrong. */
Test(beam, errors_name_the_field)
{
    model m;
    make_model(&m, config_at(3), 6, 1);
    beam_search *bs = NULL;
    beam_config bc = {.beam = 5, .nbest = 2};
    cr_expect_eq(beam_search_init(&bs, &m, &bc, NS + 1, 6), S2S_EINVAL, "too many rows");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "max_B") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    cr_expect_null(bs, "search returned on error");
    bc.nbest = 6;
    cr_expect_eq(beam_search_init(&bs, &m, &bc, NS, 6), S2S_EINVAL, "nbest > beam");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "nbest") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    bc = (beam_config){.beam = 0, .nbest = 1};
    cr_expect_eq(beam_search_init(&bs, &m, &bc, NS, 6), S2S_EINVAL, "beam 0");
    bc = (beam_config){.beam = 2, .nbest = 1, .length_penalty = -1};
    cr_expect_eq(beam_search_init(&bs, &m, &bc, NS, 6), S2S_EINVAL, "negative alpha");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "penalty") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));

    bc = (beam_config){.beam = 2, .nbest = 2, .attention = true};
    cr_assert_eq(beam_search_init(&bs, &m, &bc, NS, 6), 0, "init");
    batch bt;
    fill_sources(&bt, NS, SRC, SL);
    beam_result r;
    int ml[NS];
    fill_ints(ml, NS, 6);
    cr_assert_eq(beam_result_init(&r, NS, 2, 4, MAX_SRC, true), 0, "result");
    cr_expect_eq(beam_search_run(bs, &bt, ml, &r), S2S_EINVAL, "max_len beyond the result");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "max_len") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    beam_result_free(&r);
    cr_assert_eq(beam_result_init(&r, NS, 2, 6, MAX_SRC, false), 0, "result");
    cr_expect_eq(beam_search_run(bs, &bt, ml, &r), S2S_EINVAL, "no attention storage");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "attention") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    beam_result_free(&r);
    cr_assert_eq(beam_result_init(&r, NS, 1, 6, MAX_SRC, true), 0, "result");
    cr_expect_eq(beam_search_run(bs, &bt, ml, &r), S2S_EINVAL, "result nbest too small");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "nbest") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    beam_result_free(&r);
    beam_search_free(bs);
    batch_free(&bt);

    /* An ensemble: models of one target vocabulary, positive weights. */
    model v, *ms[2] = {&m, &v};
    model_config other = config_at(3);
    other.tgt_vocab = 14;
    cr_assert_eq(model_init(&v, &other, beam_rows(NS, 5), MAX_SRC, 7), 0, "model_init");
    bc = (beam_config){.beam = 2, .nbest = 1};
    cr_expect_eq(beam_search_init_ensemble(&bs, ms, NULL, 2, &bc, NS, 6), S2S_EINVAL,
                 "two target vocabularies");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "model 2 has a target vocabulary of 14") != NULL,
              "message: %s", s2s_errmsg(S2S_EINVAL));
    cr_expect_eq(beam_search_init_ensemble(&bs, ms, NULL, 0, &bc, NS, 6), S2S_EINVAL, "no model");
    ms[1] = &m;
    cr_expect_eq(beam_search_init_ensemble(&bs, ms, (const double[]){1, -1}, 2, &bc, NS, 6),
                 S2S_EINVAL, "a negative weight");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "weight of model 2") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    cr_expect_null(bs, "search returned on error");
    model_free(&v);
    model_free(&m);
}
