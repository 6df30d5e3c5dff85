/* test_output.c - the fused output layer + log-softmax + NLL in float against a naive double
 * reference; independence from the block size; padding rows; argmax ties; workspace errors.
 *
 * Float tolerances: losses 1e-5 relative, gradients 1e-5 absolute (entries are O(0.1-1) and
 * the reference is exact to double precision, so this is ~100 float ulps; a missing term or a
 * wrong row is off by 1e-2 or more). */
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

/* The naive computation in double, row by row; gradients added to the same initial pattern. */
static result reference(const problem *p)
{
    result r = alloc_result(p);
    int I = p->I, V = p->V;
    size_t nx = (size_t)p->n * I, nW = (size_t)V * I;
    double *z = malloc((size_t)V * sizeof *z), *dx = calloc(nx, sizeof *dx);
    double *dW = malloc(nW * sizeof *dW), *db = malloc((size_t)V * sizeof *db);
    cr_assert(z && dx && dW && db, "allocation");
    for (size_t k = 0; k < nW; k++)
        dW[k] = r.dW[k];
    for (int j = 0; j < V; j++)
        db[j] = r.db[j];
    for (int i = 0; i < p->n; i++) {
        const real *xi = p->x + (size_t)i * I;
        int t = p->t[i];
        if (t == TOK_PAD)
            continue;
        double mx = -INFINITY, s = 0;
        int arg = 0;
        for (int j = 0; j < V; j++) {
            z[j] = p->b[j];
            for (int k = 0; k < I; k++)
                z[j] += (double)xi[k] * p->W[(size_t)j * I + k];
            if (z[j] > mx) {
                mx = z[j];
                arg = j;
            }
        }
        for (int j = 0; j < V; j++)
            s += exp(z[j] - mx);
        r.st.loss += mx + log(s) - z[t];
        r.st.tokens++;
        r.st.correct += arg == t;
        for (int j = 0; j < V; j++) {
            double g = exp(z[j] - mx) / s - (j == t);
            db[j] += g;
            for (int k = 0; k < I; k++) {
                dx[(size_t)i * I + k] += g * p->W[(size_t)j * I + k];
                dW[(size_t)j * I + k] += g * xi[k];
            }
        }
    }
    for (size_t k = 0; k < nx; k++)
        r.dx[k] = (real)dx[k];
    for (size_t k = 0; k < nW; k++)
        r.dW[k] = (real)dW[k];
    for (int j = 0; j < V; j++)
        r.db[j] = (real)db[j];
    free(z);
    free(dx);
    free(dW);
    free(db);
    return r;
}

static void expect_close(const char *what, const result *a, const result *b, const problem *p,
                         double tol)
{
    double rl = fabs(a->st.loss - b->st.loss) / fmax(fabs(b->st.loss), 1e-30);
    cr_expect(rl <= 1e-5, "%s: loss %.9g vs %.9g (rel %.3g)", what, a->st.loss, b->st.loss, rl);
    cr_expect_eq(a->st.tokens, b->st.tokens, "%s: tokens %ld vs %ld", what, a->st.tokens,
                 b->st.tokens);
    cr_expect_eq(a->st.correct, b->st.correct, "%s: correct %ld vs %ld", what, a->st.correct,
                 b->st.correct);
    double ex = max_abs_diff(a->dx, b->dx, (size_t)p->n * p->I);
    double eW = max_abs_diff(a->dW, b->dW, (size_t)p->V * p->I);
    double eb = max_abs_diff(a->db, b->db, (size_t)p->V);
    cr_log_info("%s: loss rel diff %.3g, max |diff| dx %.3g dW %.3g db %.3g", what, rl, ex, eW,
                eb);
    cr_expect(ex <= tol && eW <= tol && eb <= tol,
              "%s: max |diff| dx %.3g, dW %.3g, db %.3g (tolerance %.1g)", what, ex, eW, eb, tol);
}

Test(output, matches_naive_reference)
{
    /* Small vocabulary, and one not a multiple of the 16 lanes with many blocks. */
    static const int shapes[][4] = {{13, 6, 11, 4}, {40, 16, 1003, 7}, {5, 3, 16, 5}};
    for (int s = 0; s < 3; s++) {
        problem p = make_problem(shapes[s][0], shapes[s][1], shapes[s][2], 10 + (uint32_t)s);
        result got = run(&p, shapes[s][3]), want = reference(&p);
        char what[64];
        snprintf(what, sizeof what, "n=%d I=%d V=%d blocks of %d", p.n, p.I, p.V, shapes[s][3]);
        expect_close(what, &got, &want, &p, 1e-5);
        free_result(&got);
        free_result(&want);
        free_problem(&p);
    }
}

Test(output, block_size_does_not_matter)
{
    problem p = make_problem(23, 8, 37, 20);
    result base = run(&p, 3);
    static const int blocks[] = {1, 2, 5, 22, 23, 64};
    for (int k = 0; k < 6; k++) {
        result r = run(&p, blocks[k]);
        char what[64];
        snprintf(what, sizeof what, "blocks of %d vs 3", blocks[k]);
        expect_close(what, &r, &base, &p, 1e-6);
        free_result(&r);
    }
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
    for (int i = 0; i < N; i++) {
        cr_expect_eq(ids[i], 2, "row %d: argmax %d, expected 2 (lowest of the tie 2, 3)", i,
                     ids[i]);
        cr_expect(fabs(logp[i] - (3 - lse)) <= 1e-6, "row %d: log p %.8g, expected %.8g", i,
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
    cr_expect(fabs(st.loss - 2 * (lse - 3)) <= 1e-5, "tie loss %.8g, expected %.8g", st.loss,
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
    for (int i = 0; i < p.n; i++) {
        double z[41], mx = -INFINITY, second = -INFINITY, s = 0;
        int arg = 0;
        for (int j = 0; j < p.V; j++) {
            z[j] = p.b[j];
            for (int k = 0; k < p.I; k++)
                z[j] += (double)p.x[i * p.I + k] * p.W[j * p.I + k];
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
        if (mx - second > 1e-4) /* float rounding cannot reorder a clear winner */
            cr_expect_eq(ids[i], arg, "row %d: argmax %d, reference %d", i, ids[i], arg);
        cr_expect(fabs(logp[i] + log(s)) <= 1e-5, "row %d: log p %.8g, reference %.8g", i,
                  (double)logp[i], -log(s));
    }
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
