/* test_ensemble.c - the combination of several models' next-token scores (src/nn/ensemble.c):
 * one model is output_topk and output_loss_forward bit for bit, copies of one model with equal
 * weights are one model bit for bit, different models against a double reference of the
 * weighted sum of log-probabilities (ranking, ties, illegal tokens, values), the loss against
 * the same reference and the choice, the weights' normalization and errors.
 *
 * The bit-for-bit checks compare one code path with itself (the same GEMM of the same shape on
 * the same rows, the same per-row arithmetic): exact under every BLAS kernel. The reference
 * checks use inputs and weights that are multiples of 1/16 in [-1, 1] (as test_beam.c's
 * output_topk test), so that every logit GEMM is exact whatever the kernel's order and blocking,
 * and derive their tolerance from the roundings that remain. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/ensemble.h"
#include "s2s/output.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "testutil.h"

enum { N = 7, V = 11, MAXM = 4 };

/* One model's output layer on N rows: inputs x [N, I], W [V, I], b [V] and a workspace whose
 * blocks hold `block` rows. */
typedef struct {
    int I;
    real *x, *W, *b;
    output_ws ws;
} layer;

static void to_sixteenths(real *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = (real)(round(x[i] * 16) / 16);
}

static void make_layer(layer *l, int I, int block, uint32_t seed, bool exact)
{
    l->I = I;
    l->x = malloc((size_t)N * I * sizeof(real));
    l->W = malloc((size_t)V * I * sizeof(real));
    l->b = malloc(V * sizeof(real));
    cr_assert(l->x && l->W && l->b, "allocation");
    fill_uniform(l->x, (size_t)N * I, -1, 1, seed, 1);
    fill_uniform(l->W, (size_t)V * I, -1, 1, seed, 2);
    fill_uniform(l->b, V, -0.5, 0.5, seed, 3);
    if (exact) {
        to_sixteenths(l->x, N * I);
        to_sixteenths(l->W, V * I);
    }
    cr_assert_eq(output_ws_init(&l->ws, I, V, block), 0, "output_ws_init");
}

/* A copy of l in buffers of its own, with a workspace of its own. */
static void copy_layer(layer *c, const layer *l)
{
    make_layer(c, l->I, l->ws.block_rows, 99, false);
    memcpy(c->x, l->x, (size_t)N * l->I * sizeof(real));
    memcpy(c->W, l->W, (size_t)V * l->I * sizeof(real));
    memcpy(c->b, l->b, V * sizeof(real));
}

static void free_layer(layer *l)
{
    free(l->x);
    free(l->W);
    free(l->b);
    output_ws_free(&l->ws);
}

static ensemble_member member(layer *l)
{
    return (ensemble_member){.ws = &l->ws, .x = l->x, .W = l->W, .b = l->b};
}

/* Targets of the loss tests: a few padding rows, the others any token. */
static void targets_of(int *t)
{
    for (int i = 0; i < N; i++)
        t[i] = i % 3 == 1 ? TOK_PAD : (5 * i + 2) % V;
}

/* The combination of n members with these weights equals output_topk and output_loss_forward
 * of `one`, bit for bit, for every k. */
static void expect_same_as_one(layer *one, ensemble_member *mb, int n, const double *weights,
                               const char *what)
{
    ensemble_ws e;
    cr_assert_eq(ensemble_ws_init(&e, n, weights, V), 0, "%s: init: %s", what,
                 s2s_errmsg(S2S_EINVAL));
    cr_assert_eq(ensemble_check_members(&e, mb), 0, "%s: members", what);
    const int ks[] = {1, 3, V};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
        const int k = ks[q];
        int ids[N * V], ref_ids[N * V];
        double lp[N * V], ref_lp[N * V];
        output_topk(&one->ws, one->x, N, one->W, one->b, k, ref_ids, ref_lp);
        ensemble_topk(&e, mb, N, k, ids, lp);
        cr_expect(!memcmp(ids, ref_ids, (size_t)N * k * sizeof *ids), "%s, k %d: ids differ", what,
                  k);
        cr_expect(!memcmp(lp, ref_lp, (size_t)N * k * sizeof *lp),
                  "%s, k %d: log-probabilities differ (first %.17g vs %.17g)", what, k, lp[0],
                  ref_lp[0]);
        ensemble_topk(&e, mb, N, k, ids, NULL);
        cr_expect(!memcmp(ids, ref_ids, (size_t)N * k * sizeof *ids),
                  "%s, k %d: ids without log-probabilities differ", what, k);
    }
    int t[N];
    targets_of(t);
    output_stats ref = output_loss_forward(&one->ws, one->x, N, t, one->W, one->b, 0);
    output_stats st = ensemble_loss(&e, mb, N, t);
    cr_expect(st.nll == ref.nll && st.loss == ref.loss && st.tokens == ref.tokens &&
                  st.correct == ref.correct,
              "%s: loss %.17g/%.17g, %ld/%ld tokens, %ld/%ld correct, output_loss_forward's", what,
              st.nll, ref.nll, st.tokens, ref.tokens, st.correct, ref.correct);
    ensemble_ws_free(&e);
}

/* An ensemble of one is the model: any weight normalizes to 1. Rows in three blocks. */
Test(ensemble, one_model_is_the_model)
{
    layer l;
    make_layer(&l, 9, 3, 1, false);
    ensemble_member mb = member(&l);
    expect_same_as_one(&l, &mb, 1, NULL, "one model");
    expect_same_as_one(&l, &mb, 1, (double[]){2.5}, "one model, weight 2.5");
    free_layer(&l);
}

/* Copies of one model (buffers and workspaces of their own) with equal weights: the halves and
 * quarters are exact (include/s2s/ensemble.h). */
Test(ensemble, copies_with_equal_weights_are_one_model)
{
    layer l, c[MAXM - 1];
    make_layer(&l, 9, 3, 2, false);
    ensemble_member mb[MAXM] = {member(&l)};
    for (int j = 0; j < MAXM - 1; j++) {
        copy_layer(&c[j], &l);
        mb[j + 1] = member(&c[j]);
    }
    expect_same_as_one(&l, mb, 2, NULL, "two copies");
    expect_same_as_one(&l, mb, 2, (double[]){0.7, 0.7}, "two copies, weights 0.7, 0.7");
    expect_same_as_one(&l, mb, 4, NULL, "four copies");
    for (int j = 0; j < MAXM - 1; j++)
        free_layer(&c[j]);
    free_layer(&l);
}

/* The double reference: s(v) = sum_j w_j (z_j(v) - lse_j) with exact logits, and the size
 * sum_j w_j (|z_j(v)| + |lse_j|) of its terms, for row i. */
static void reference_row(layer *const *ls, const double *w, int n, int i, double *s, double *size)
{
    for (int v = 0; v < V; v++)
        s[v] = size[v] = 0;
    for (int j = 0; j < n; j++) {
        const layer *l = ls[j];
        double z[V], mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) {
            z[v] = l->b[v];
            for (int q = 0; q < l->I; q++)
                z[v] += (double)l->x[i * l->I + q] * l->W[v * l->I + q];
            mx = fmax(mx, z[v]);
        }
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        double lse = mx + log(sum);
        for (int v = 0; v < V; v++) {
            s[v] += w[j] * (z[v] - lse);
            size[v] += w[j] * (fabs(z[v]) + fabs(lse));
        }
    }
}

/* Tolerance of s(v) against the reference. Each model's log-probability is within gamma_k(12)
 * of its exact value (test_beam.c, output_topk_against_reference: the logit rounded once when
 * the bias is added, |z| < 6, and lse's exponentials, sum, log and subtraction); the weights
 * sum to 1, so the weighted sum is too; the combination's own products and sums, 2n + 2
 * roundings in double, add gamma_{2n+2} in double of the size of its terms. */
static double combination_tol(int n, double size)
{
    const double ud = 0x1p-53, k = 2 * n + 2;
    return gamma_k(12) + k * ud / (1 - k * ud) * size;
}

/* Different models (widths, block sizes) against the reference: ranking by s then id, the tie
 * of two tokens equal in every model broken to the lower id, <pad> and <s> never chosen though
 * the most probable, -1 and -inf beyond the legal tokens. */
Test(ensemble, different_models_against_reference)
{
    layer a, b, c;
    make_layer(&a, 5, 3, 3, true);
    make_layer(&b, 6, 5, 4, true);
    make_layer(&c, 4, 64, 5, true);
    layer *ls[3] = {&a, &b, &c};
    for (int j = 0; j < 3; j++) {
        layer *l = ls[j];
        l->b[TOK_PAD] = l->b[TOK_BOS] = 50;
        memcpy(l->W + 8 * l->I, l->W + 5 * l->I, (size_t)l->I * sizeof(real));
        l->b[8] = l->b[5];
    }
    ensemble_member mb[3] = {member(&a), member(&b), member(&c)};
    const double given[2][3] = {{0.6, 0.4, 0}, {1, 2, 3}};
    const int counts[2] = {2, 3};
    diff_stat d = {.what = "ensemble: combined log-probabilities against the reference"};
    int differs = 0;
    for (int g = 0; g < 2; g++) {
        const int n = counts[g];
        double w[3], sum = 0;
        for (int j = 0; j < n; j++)
            sum += given[g][j];
        for (int j = 0; j < n; j++)
            w[j] = given[g][j] / sum;
        ensemble_ws e;
        cr_assert_eq(ensemble_ws_init(&e, n, given[g], V), 0, "init");
        int ids[N * V], one[N * V];
        double lp[N * V];
        ensemble_topk(&e, mb, N, V, ids, lp);
        output_topk(&a.ws, a.x, N, a.W, a.b, V, one, NULL);
        differs += memcmp(ids, one, sizeof ids) != 0;
        for (int i = 0; i < N; i++) {
            double s[V], size[V];
            reference_row(ls, w, n, i, s, size);
            const int *top = ids + i * V;
            for (int q = 0; q < V - 2; q++) {
                const int t = top[q];
                cr_assert(t > 0 && t < V && t != TOK_PAD && t != TOK_BOS, "row %d: id %d", i, t);
                double tol = combination_tol(n, size[t]);
                cr_expect(diff_ok(&d, fabs(lp[i * V + q] - s[t]), tol),
                          "%d models, row %d, token %d: %.17g, reference %.17g (tolerance %.3g)", n,
                          i, t, lp[i * V + q], s[t], tol);
                if (q > 0) {
                    const int p = top[q - 1];
                    cr_expect(s[t] < s[p] + 2 * tol + 2 * combination_tol(n, size[p]) &&
                                  (lp[i * V + q] != lp[i * V + q - 1] || t > p),
                              "%d models, row %d: not ranked by score then id at %d", n, i, q);
                }
            }
            int p5 = -1, p8 = -1;
            for (int q = 0; q < V - 2; q++) {
                p5 = top[q] == 5 ? q : p5;
                p8 = top[q] == 8 ? q : p8;
            }
            cr_expect(p8 == p5 + 1, "row %d: the tie of 5 and 8 not broken to the lower id", i);
            for (int q = V - 2; q < V; q++)
                cr_expect(top[q] == -1 && isinf(lp[i * V + q]) && lp[i * V + q] < 0,
                          "row %d: entry %d beyond the legal tokens", i, q);
        }
        ensemble_ws_free(&e);
    }
    cr_expect_gt(differs, 0, "the ensembles ranked as the first model alone: the test cannot tell");
    diff_report(&d);
    free_layer(&a);
    free_layer(&b);
    free_layer(&c);
}

/* The loss of different models: the sum of -s(target) against the reference, and a target
 * counted correct exactly when it is the combination's choice (<pad> and <s> made improbable,
 * so that the first maximum is a legal token). */
Test(ensemble, loss_against_reference_and_choice)
{
    layer a, b;
    make_layer(&a, 5, 3, 6, true);
    make_layer(&b, 7, 2, 7, true);
    layer *ls[2] = {&a, &b};
    for (int j = 0; j < 2; j++)
        ls[j]->b[TOK_PAD] = ls[j]->b[TOK_BOS] = -50;
    ensemble_member mb[2] = {member(&a), member(&b)};
    const double w[2] = {0.25, 0.75};
    ensemble_ws e;
    cr_assert_eq(ensemble_ws_init(&e, 2, (double[]){1, 3}, V), 0, "init");
    int top[N];
    ensemble_topk(&e, mb, N, 1, top, NULL);
    int t[N];
    targets_of(t);
    for (int i = 0; i < N; i += 3)
        t[i] = top[i]; /* some targets are the choice */
    output_stats st = ensemble_loss(&e, mb, N, t);
    double nll = 0, tol = 0;
    long tokens = 0, correct = 0;
    for (int i = 0; i < N; i++) {
        if (t[i] == TOK_PAD)
            continue;
        double s[V], size[V];
        reference_row(ls, w, 2, i, s, size);
        nll -= s[t[i]];
        tol += combination_tol(2, size[t[i]]) + 0x1p-53 * fabs(nll); /* and the running sum */
        tokens++;
        correct += top[i] == t[i];
    }
    cr_expect_eq(st.tokens, tokens, "tokens %ld, expected %ld", st.tokens, tokens);
    cr_expect_eq(st.correct, correct, "correct %ld, expected %ld", st.correct, correct);
    cr_expect_gt(correct, 0, "no target was the choice: the count is untested");
    cr_expect_lt(correct, tokens, "every target was the choice: the count is untested");
    cr_expect(fabs(st.nll - nll) <= tol && st.loss == st.nll,
              "loss %.17g, reference %.17g (tolerance %.3g)", st.nll, nll, tol);
    ensemble_ws_free(&e);
    free_layer(&a);
    free_layer(&b);
}

Test(ensemble, weights_normalized_and_checked)
{
    ensemble_ws e;
    cr_assert_eq(ensemble_ws_init(&e, 2, (double[]){3, 1}, V), 0, "init");
    cr_expect(e.w[0] == 0.75 && e.w[1] == 0.25, "3, 1 normalized to %g, %g", e.w[0], e.w[1]);
    ensemble_ws_free(&e);
    cr_assert_eq(ensemble_ws_init(&e, 2, (double[]){0.6, 0.4}, V), 0, "init");
    cr_expect(e.w[0] == 0.6 && e.w[1] == 0.4, "0.6, 0.4 kept: %.17g, %.17g", e.w[0], e.w[1]);
    ensemble_ws_free(&e);
    cr_assert_eq(ensemble_ws_init(&e, 4, NULL, V), 0, "init");
    cr_expect(e.w[0] == 0.25 && e.w[3] == 0.25, "equal weights");
    ensemble_ws_free(&e);
    const double bad[][2] = {{1, 0}, {1, -2}, {1, NAN}, {1, INFINITY}, {1e308, 1e308}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_expect_eq(ensemble_ws_init(&e, 2, bad[k], V), S2S_EINVAL, "weights %g, %g taken",
                     bad[k][0], bad[k][1]);
        cr_expect(k == 4 ? strstr(s2s_errmsg(S2S_EINVAL), "sum") != NULL
                         : strstr(s2s_errmsg(S2S_EINVAL), "weight of model 2") != NULL,
                  "message: %s", s2s_errmsg(S2S_EINVAL));
        cr_expect_null(e.w, "weights kept after an error");
        ensemble_ws_free(&e);
    }
    cr_expect_eq(ensemble_ws_init(&e, 0, NULL, V), S2S_EINVAL, "no models");

    layer a, b;
    make_layer(&a, 3, 4, 8, false);
    make_layer(&b, 3, 4, 9, false);
    output_ws_free(&b.ws);
    cr_assert_eq(output_ws_init(&b.ws, 3, V + 1, 4), 0, "output_ws_init");
    ensemble_member mb[2] = {member(&a), member(&b)};
    cr_assert_eq(ensemble_ws_init(&e, 2, NULL, V), 0, "init");
    cr_expect_eq(ensemble_check_members(&e, mb), S2S_EINVAL, "a vocabulary of V + 1 taken");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "model 2") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
    ensemble_ws_free(&e);
    free_layer(&a);
    free_layer(&b);
}
