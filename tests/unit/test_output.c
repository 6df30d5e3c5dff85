/* test_output.c - the fused output layer + log-softmax + NLL against a naive double reference;
 * independence from the block size; padding rows; argmax ties; workspace errors.
 *
 * Built twice (tests/CMakeLists.txt): unit.test_output on the float library, whose output layer
 * has float-only code (integer keys for the maxima, the vectorized exponential), and
 * unit.test_output_f64 on the double one. The reference computes, next to every value, a
 * first-order bound of the rounding error of the layer's computation of it (error_bounds
 * below, from gamma_k of every sum in it), which holds for every BLAS kernel's order and
 * blocking of the GEMMs: the library must be within that bound of the reference (twice it
 * between two block sizes, each within it of the exact value). In float the bounds are ~1e-6
 * for these entries of O(0.1-1); a missing term or a wrong row is off by 1e-2 or more. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/output.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "testutil.h"

typedef struct {
    int n, I, V;
    real *x, *W, *b;
    int *t;
} problem;

typedef struct {
    output_stats st;
    real *dx, *dW, *db;
} result;

/* Bounds of the rounding errors of a result's entries (same layout as result). */
typedef struct {
    double loss;
    double *dx, *dW, *db;
} bounds;

/* Targets cycle over the vocabulary with every fourth row padding. */
static problem make_problem(int n, int I, int V, uint32_t seed)
{
    problem p = {.n = n, .I = I, .V = V};
    p.x = malloc((size_t)n * I * sizeof(real));
    p.W = malloc((size_t)V * I * sizeof(real));
    p.b = malloc((size_t)V * sizeof(real));
    p.t = malloc((size_t)n * sizeof(int));
    cr_assert(p.x && p.W && p.b && p.t, "allocation");
    fill_uniform(p.x, (size_t)n * I, -1, 1, seed, 1);
    fill_uniform(p.W, (size_t)V * I, -1, 1, seed, 2);
    fill_uniform(p.b, (size_t)V, -0.5, 0.5, seed, 3);
    for (int i = 0; i < n; i++)
        p.t[i] = i % 4 == 2 ? TOK_PAD : 1 + (i * 7) % (V - 1);
    return p;
}

static void free_problem(problem *p)
{
    free(p->x);
    free(p->W);
    free(p->b);
    free(p->t);
}

/* Gradient buffers start from a fixed nonzero pattern, to check that dW and db accumulate. */
static result alloc_result(const problem *p)
{
    result r = {{0}, NULL, NULL, NULL};
    r.dx = malloc((size_t)p->n * p->I * sizeof(real));
    r.dW = malloc((size_t)p->V * p->I * sizeof(real));
    r.db = malloc((size_t)p->V * sizeof(real));
    cr_assert(r.dx && r.dW && r.db, "allocation");
    for (int i = 0; i < p->n * p->I; i++)
        r.dx[i] = NAN; /* must be overwritten */
    fill_uniform(r.dW, (size_t)p->V * p->I, -0.1, 0.1, 99, 4);
    fill_uniform(r.db, (size_t)p->V, -0.1, 0.1, 99, 5);
    return r;
}

static void free_result(result *r)
{
    free(r->dx);
    free(r->dW);
    free(r->db);
}

static result run(const problem *p, int block_rows)
{
    output_ws ws;
    cr_assert_eq(output_ws_init(&ws, p->I, p->V, block_rows), 0, "output_ws_init: %s",
                 s2s_errmsg(S2S_EINVAL));
    result r = alloc_result(p);
    r.st = output_loss_forward_backward(&ws, p->x, p->n, p->t, p->W, p->b, 0, r.dx, r.dW, r.db);
    output_ws_free(&ws);
    return r;
}

/* The naive computation in double, row by row; gradients added to the same initial pattern.
 *
 * With it, *eb receives bounds of the rounding errors that output_loss_forward_backward (in
 * real, u its unit roundoff) can make, to first order, whatever the BLAS kernel (each sum of k
 * terms within gamma_k(k) of the sum of their magnitudes, in any order):
 *   logits z_j = b_j + x . W_j: dz_j = gamma_k(I + 1) (|b_j| + sum_k |x_k W_jk|); dz = max_j;
 *   the log-sum-exp lse = mx + log sum_j e^(z_j - mx): the logits' errors move it by at most
 *     dz; z_j - mx rounds by u |z_j - mx|, the exponential is within 2 ulp (4 u), the sum of V
 *     of them within gamma_k(V), the log within u: dlse = dz + e_s with
 *     e_s = gamma_k(V) + (6 + max_j |z_j - mx|) u;
 *   so every log-probability is within E = 2 dz + e_s, every probability p_j within p_j E and
 *     the logit gradient g_j = p_j - [j = t] (computed as e_j / s - [j = t], 3 more roundings
 *     of p_j and one of the difference) within dg_j = p_j (E + 3 u) + u [j = t];
 *   the loss (nll summed in double) within E + dz per token (+ the double sum);
 *   dx_k = sum_j g_j W_jk (a GEMM over V): sum_j dg_j |W_jk| + gamma_k(V) sum_j |g_j W_jk|;
 *   dW_jk and db_j accumulate n rows onto their initial values (n + 1 terms, in blocks):
 *     sum_i dg_ij |x_ik| + gamma_k(n + 1) (|dW0_jk| + sum_i |g_ij x_ik|), the same with x = 1;
 *   and the final rounding of every entry, u |value|. */
static result reference(const problem *p, bounds *eb)
{
    result r = alloc_result(p);
    int I = p->I, V = p->V, n = p->n;
    const double u = REAL_UNIT_ROUNDOFF;
    size_t nx = (size_t)n * I, nW = (size_t)V * I;
    double *z = malloc((size_t)V * sizeof *z), *dz = malloc((size_t)V * sizeof *dz);
    double *dx = calloc(nx, sizeof *dx), *dW = malloc(nW * sizeof *dW);
    double *db = malloc((size_t)V * sizeof *db);
    double *aW = calloc(nW, sizeof *aW), *ab = calloc((size_t)V, sizeof *ab);
    *eb = (bounds){0, calloc(nx, sizeof(double)), calloc(nW, sizeof(double)),
                   calloc((size_t)V, sizeof(double))};
    cr_assert(z && dz && dx && dW && db && aW && ab && eb->dx && eb->dW && eb->db, "allocation");
    for (size_t k = 0; k < nW; k++) {
        dW[k] = r.dW[k];
        aW[k] = fabs(r.dW[k]);
    }
    for (int j = 0; j < V; j++) {
        db[j] = r.db[j];
        ab[j] = fabs(r.db[j]);
    }
    for (int i = 0; i < n; i++) {
        const real *xi = p->x + (size_t)i * I;
        int t = p->t[i];
        if (t == TOK_PAD)
            continue;
        double mx = -INFINITY, mn = INFINITY, s = 0, dzmax = 0;
        int arg = 0;
        for (int j = 0; j < V; j++) {
            double a = fabs(p->b[j]);
            z[j] = p->b[j];
            for (int k = 0; k < I; k++) {
                z[j] += (double)xi[k] * p->W[(size_t)j * I + k];
                a += fabs((double)xi[k] * p->W[(size_t)j * I + k]);
            }
            dz[j] = gamma_k(I + 1) * a;
            dzmax = fmax(dzmax, dz[j]);
            mn = fmin(mn, z[j]);
            if (z[j] > mx) {
                mx = z[j];
                arg = j;
            }
        }
        for (int j = 0; j < V; j++)
            s += exp(z[j] - mx);
        double E = 2 * dzmax + gamma_k(V) + (6 + (mx - mn)) * u;
        r.st.loss += mx + log(s) - z[t];
        eb->loss += E;
        r.st.tokens++;
        r.st.correct += arg == t;
        for (int j = 0; j < V; j++) {
            double pj = exp(z[j] - mx) / s, g = pj - (j == t);
            double dg = pj * (E + 3 * u) + (j == t ? u : 0);
            db[j] += g;
            ab[j] += fabs(g);
            eb->db[j] += dg;
            for (int k = 0; k < I; k++) {
                double w = p->W[(size_t)j * I + k];
                dx[(size_t)i * I + k] += g * w;
                /* dx's share of the error of dg and of its GEMM's sum over V */
                eb->dx[(size_t)i * I + k] += dg * fabs(w) + gamma_k(V) * fabs(g * w);
                dW[(size_t)j * I + k] += g * xi[k];
                aW[(size_t)j * I + k] += fabs(g * xi[k]);
                eb->dW[(size_t)j * I + k] += dg * fabs(xi[k]);
            }
        }
    }
    eb->loss += gamma_k(n) * r.st.loss;
    for (size_t k = 0; k < nx; k++) {
        r.dx[k] = (real)dx[k];
        eb->dx[k] += u * fabs(dx[k]);
    }
    for (size_t k = 0; k < nW; k++) {
        r.dW[k] = (real)dW[k];
        eb->dW[k] += gamma_k(n + 1) * aW[k] + u * fabs(dW[k]);
    }
    for (int j = 0; j < V; j++) {
        r.db[j] = (real)db[j];
        eb->db[j] += gamma_k(n + 1) * ab[j] + u * fabs(db[j]);
    }
    free(z);
    free(dz);
    free(dx);
    free(dW);
    free(db);
    free(aW);
    free(ab);
    return r;
}

static void free_bounds(bounds *eb)
{
    free(eb->dx);
    free(eb->dW);
    free(eb->db);
}

/* Entry-wise |a - b| <= scale * bound; the worst ratio goes to d. */
static void expect_within(diff_stat *d, const char *what, const char *name, const real *a,
                          const real *b, const double *bound, double scale, size_t n)
{
    diff_stat one = {.what = name};
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        diff_ok(d, e, scale * bound[i]);
        double before = one.worst_ratio;
        diff_ok(&one, e, scale * bound[i]);
        if (one.worst_ratio != before || i == 0)
            worst = i;
    }
    cr_expect(one.worst_ratio <= 1, "%s: %s[%zu] %.9g vs %.9g: |diff| %.3g > tolerance %.3g",
              what, name, worst, (double)a[worst], (double)b[worst], one.worst, one.worst_tol);
}

/* a against b within scale times the bounds eb (scale 2: two computations each within eb of
 * the exact values; for the reference, whose own error is that of the same sums in double,
 * also 2). Counts and correct predictions must be equal: the argmax of a row can only differ
 * at a near-tie, which these seeded problems do not have. */
static void expect_close(diff_stat *d, const char *what, const result *a, const result *b,
                         const problem *p, const bounds *eb, double scale)
{
    double el = fabs(a->st.loss - b->st.loss), tl = scale * eb->loss;
    cr_expect(diff_ok(&d[0], el, tl), "%s: loss %.17g vs %.17g (|diff| %.3g, tolerance %.3g)",
              what, a->st.loss, b->st.loss, el, tl);
    cr_expect_eq(a->st.tokens, b->st.tokens, "%s: tokens %ld vs %ld", what, a->st.tokens,
                 b->st.tokens);
    cr_expect_eq(a->st.correct, b->st.correct, "%s: correct %ld vs %ld", what, a->st.correct,
                 b->st.correct);
    expect_within(&d[1], what, "dx", a->dx, b->dx, eb->dx, scale, (size_t)p->n * p->I);
    expect_within(&d[1], what, "dW", a->dW, b->dW, eb->dW, scale, (size_t)p->V * p->I);
    expect_within(&d[1], what, "db", a->db, b->db, eb->db, scale, (size_t)p->V);
}

Test(output, matches_naive_reference)
{
    /* Small vocabulary, and one not a multiple of the 16 lanes with many blocks. */
    static const int shapes[][4] = {{13, 6, 11, 4}, {40, 16, 1003, 7}, {5, 3, 16, 5}};
    diff_stat d[2] = {{.what = "output layer vs reference: loss"},
                      {.what = "output layer vs reference: gradients"}};
    for (int s = 0; s < 3; s++) {
        problem p = make_problem(shapes[s][0], shapes[s][1], shapes[s][2], 10 + (uint32_t)s);
        bounds eb;
        result got = run(&p, shapes[s][3]), want = reference(&p, &eb);
        char what[64];
        snprintf(what, sizeof what, "n=%d I=%d V=%d blocks of %d", p.n, p.I, p.V, shapes[s][3]);
        expect_close(d, what, &got, &want, &p, &eb, 2);
        free_bounds(&eb);
        free_result(&got);
        free_result(&want);
        free_problem(&p);
    }
    diff_report(&d[0]);
    diff_report(&d[1]);
}

Test(output, block_size_does_not_matter)
{
    problem p = make_problem(23, 8, 37, 20);
    bounds eb;
    result base = run(&p, 3), ref = reference(&p, &eb);
    diff_stat d[2] = {{.what = "output layer, block sizes: loss"},
                      {.what = "output layer, block sizes: gradients"}};
    static const int blocks[] = {1, 2, 5, 22, 23, 64};
    for (int k = 0; k < 6; k++) {
        result r = run(&p, blocks[k]);
        char what[64];
        snprintf(what, sizeof what, "blocks of %d vs 3", blocks[k]);
        expect_close(d, what, &r, &base, &p, &eb, 2);
        free_result(&r);
    }
    diff_report(&d[0]);
    diff_report(&d[1]);
    free_bounds(&eb);
    free_result(&ref);
    free_result(&base);
    free_problem(&p);
}

Test(output, forward_only_equals_training_loss)
{
    problem p = make_problem(17, 5, 29, 30);
    output_ws ws;
    cr_assert_eq(output_ws_init(&ws, p.I, p.V, 4), 0, "output_ws_init");
    output_stats f = output_loss_forward(&ws, p.x, p.n, p.t, p.W, p.b, 0);
    result r = run(&p, 4);
    /* The same code computes both (the backward pass only adds work after the loss): equal up
     * to the order of a double sum, far inside 1e-12. */
    cr_expect(fabs(f.loss - r.st.loss) <= 1e-12 * fabs(r.st.loss),
              "forward loss %.12g, forward_backward loss %.12g", f.loss, r.st.loss);
    cr_expect(f.tokens == r.st.tokens && f.correct == r.st.correct,
              "forward tokens/correct %ld/%ld vs %ld/%ld", f.tokens, f.correct, r.st.tokens,
              r.st.correct);
    output_ws_free(&ws);
    free_result(&r);
    free_problem(&p);
}

/* Padding rows: zero dx, no contribution to dW or db whatever their features are, not counted. */
Test(output, padding_rows_contribute_nothing)
{
    problem p = make_problem(12, 7, 19, 40);
    result a = run(&p, 5);
    for (int i = 0; i < p.n; i++) {
        if (p.t[i] != TOK_PAD)
            continue;
        for (int k = 0; k < p.I; k++)
            cr_expect_eq(a.dx[(size_t)i * p.I + k], 0.0f, "dx[%d][%d] = %g on a padding row", i,
                         k, (double)a.dx[(size_t)i * p.I + k]);
        for (int k = 0; k < p.I; k++)
            p.x[(size_t)i * p.I + k] = 1000.0f * (real)(k + 1); /* huge features */
    }
    result b = run(&p, 5);
    cr_expect_eq(a.st.tokens, 9, "12 rows with 3 padding counted %ld tokens", a.st.tokens);
    cr_expect_eq(a.st.loss, b.st.loss, "loss changed with padding features: %.9g vs %.9g",
                 a.st.loss, b.st.loss);
    cr_expect(memcmp(a.dW, b.dW, (size_t)p.V * p.I * sizeof(real)) == 0,
              "dW changed with the features of padding rows");
    cr_expect(memcmp(a.db, b.db, (size_t)p.V * sizeof(real)) == 0,
              "db changed with the features of padding rows");
    free_result(&a);
    free_result(&b);

    /* All padding: nothing counted, dW and db untouched. */
    for (int i = 0; i < p.n; i++)
        p.t[i] = TOK_PAD;
    result c = run(&p, 5), init = alloc_result(&p);
    cr_expect(c.st.tokens == 0 && c.st.loss == 0 && c.st.correct == 0,
              "all-padding stats: tokens %ld loss %g correct %ld", c.st.tokens, c.st.loss,
              c.st.correct);
    cr_expect(memcmp(c.dW, init.dW, (size_t)p.V * p.I * sizeof(real)) == 0 &&
                  memcmp(c.db, init.db, (size_t)p.V * sizeof(real)) == 0,
              "all-padding batch changed dW or db");
    free_result(&c);
    free_result(&init);
    free_problem(&p);
}

/* W = 0 makes the logits equal b = [0, 1, 3, 3, 2]: ids 2 and 3 tie for the maximum. */
Test(output, argmax_ties_pick_lowest_index)
{
    enum { I = 2, V = 5, N = 3 };
    real W[V * I] = {0}, b[V] = {0, 1, 3, 3, 2}, x[N * I] = {1, 2, -3, 4, 0.5f, 0};
    output_ws ws;
    cr_assert_eq(output_ws_init(&ws, I, V, 2), 0, "output_ws_init");
    int ids[N];
    real logp[N];
    output_argmax(&ws, x, N, W, b, ids, logp);
    double lse = log(exp(0.0) + exp(1.0) + 2 * exp(3.0) + exp(2.0));
    /* W = 0: the logits are b exactly, so only the log-sum-exp rounds (reference(): e_s with a
     * range of 3), and the result once more: gamma_k(V) + 10 u per token. */
    const double tol = gamma_k(V) + 10 * REAL_UNIT_ROUNDOFF;
    for (int i = 0; i < N; i++) {
        cr_expect_eq(ids[i], 2, "row %d: argmax %d, expected 2 (lowest of the tie 2, 3)", i,
                     ids[i]);
        cr_expect(fabs(logp[i] - (3 - lse)) <= tol, "row %d: log p %.9g, expected %.9g", i,
                  (double)logp[i], 3 - lse);
    }
    output_argmax(&ws, x, N, W, b, ids, NULL); /* logp is optional */
    cr_expect_eq(ids[0], 2, "argmax without logp: %d", ids[0]);

    /* A tie between the first and the last index. */
    real b0[V] = {3, 1, 0, 2, 3};
    output_argmax(&ws, x, N, W, b0, ids, logp);
    for (int i = 0; i < N; i++)
        cr_expect_eq(ids[i], 0, "row %d: argmax %d, expected 0 (tie 0, 4)", i, ids[i]);

    int targets[N] = {2, 3, TOK_PAD};
    output_stats st = output_loss_forward(&ws, x, N, targets, W, b, 0);
    cr_expect_eq(st.correct, 1, "with a tie only the lowest index counts as correct: %ld",
                 st.correct);
    cr_expect(fabs(st.loss - 2 * (lse - 3)) <= 2 * tol, "tie loss %.9g, expected %.9g", st.loss,
              2 * (lse - 3));
    output_ws_free(&ws);
}

Test(output, argmax_matches_reference)
{
    problem p = make_problem(29, 9, 41, 50);
    output_ws ws;
    cr_assert_eq(output_ws_init(&ws, p.I, p.V, 8), 0, "output_ws_init");
    int ids[29];
    real logp[29];
    output_argmax(&ws, p.x, p.n, p.W, p.b, ids, logp);
    diff_stat dlp = {.what = "output_argmax: log-probabilities"};
    int compared = 0;
    for (int i = 0; i < p.n; i++) {
        double z[41], mx = -INFINITY, second = -INFINITY, mn = INFINITY, s = 0, dz = 0;
        int arg = 0;
        for (int j = 0; j < p.V; j++) {
            double a = fabs(p.b[j]);
            z[j] = p.b[j];
            for (int k = 0; k < p.I; k++) {
                z[j] += (double)p.x[i * p.I + k] * p.W[j * p.I + k];
                a += fabs((double)p.x[i * p.I + k] * p.W[j * p.I + k]);
            }
            dz = fmax(dz, gamma_k(p.I + 1) * a); /* reference(): the logits' error */
            mn = fmin(mn, z[j]);
            if (z[j] > mx) {
                second = mx;
                mx = z[j];
                arg = j;
            } else if (z[j] > second) {
                second = z[j];
            }
        }
        for (int j = 0; j < p.V; j++)
            s += exp(z[j] - mx);
        /* Logits within dz of the reference's cannot reorder a winner ahead by more than 2 dz;
         * the log-probability is within E of reference(), and rounds once more. */
        if (mx - second > 2 * dz) {
            cr_expect_eq(ids[i], arg, "row %d: argmax %d, reference %d", i, ids[i], arg);
            compared++;
        }
        double tol = 2 * dz + gamma_k(p.V) + (7 + (mx - mn)) * REAL_UNIT_ROUNDOFF;
        cr_expect(diff_ok(&dlp, fabs(logp[i] + log(s)), tol),
                  "row %d: log p %.9g, reference %.9g (tolerance %.3g)", i, (double)logp[i],
                  -log(s), tol);
    }
    cr_expect_gt(compared, 25, "only %d of 29 argmaxes compared", compared);
    diff_report(&dlp);
    output_ws_free(&ws);
    free_problem(&p);
}

Test(output, workspace_errors)
{
    output_ws ws;
    cr_expect_eq(output_ws_init(&ws, 0, 10, 4), S2S_EINVAL, "input size 0 accepted");
    cr_expect_eq(output_ws_init(&ws, 4, -1, 4), S2S_EINVAL, "negative vocabulary accepted");
    cr_expect_eq(output_ws_init(&ws, 4, 10, 0), S2S_EINVAL, "block_rows 0 accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "output") != NULL,
              "message does not name the output layer: %s", s2s_errmsg(S2S_EINVAL));
    output_ws_free(&ws); /* after a failed init */
    memset(&ws, 0, sizeof ws);
    output_ws_free(&ws); /* zeroed */
}
