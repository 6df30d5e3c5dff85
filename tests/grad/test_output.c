/* test_output.c - finite-difference check of the fused output layer's gradients w.r.t. x, W
 * and b (double build), with padding targets and blocks that split the rows unevenly, and of
 * its loss against a direct computation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "s2s/output.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "testutil.h"

enum { N = 7, I = 5, V = 9 };

typedef struct {
    output_ws ws;
    real x[N * I], W[V * I], b[V];
    int t[N];
    double eps; /* label smoothing */
} fixture;

static double eval_loss(void *ctx)
{
    fixture *f = ctx;
    return output_loss_forward(&f->ws, f->x, N, f->t, f->W, f->b, f->eps).loss;
}

static void setup(fixture *f, int block_rows)
{
    static const int targets[N] = {4, TOK_PAD, 8, 1, TOK_PAD, 3, 6};
    cr_assert_eq(output_ws_init(&f->ws, I, V, block_rows), 0, "output_ws_init: %s",
                 s2s_errmsg(S2S_EINVAL));
    fill_uniform(f->x, N * I, -1, 1, 3, 1);
    fill_uniform(f->W, V * I, -1, 1, 3, 2);
    fill_uniform(f->b, V, -0.5, 0.5, 3, 3);
    memcpy(f->t, targets, sizeof targets);
    f->eps = 0;
}

/* The loss written out directly: sum over non-padding rows of
 * (1 - eps)(lse(z) - z[target]) + eps (lse(z) - mean(z)). */
static double direct_loss(const fixture *f)
{
    double loss = 0;
    for (int i = 0; i < N; i++) {
        if (f->t[i] == TOK_PAD)
            continue;
        double z[V], s = 0, zsum = 0;
        for (int j = 0; j < V; j++) {
            z[j] = f->b[j];
            for (int k = 0; k < I; k++)
                z[j] += f->x[i * I + k] * f->W[j * I + k];
            s += exp(z[j]);
            zsum += z[j];
        }
        loss += (1 - f->eps) * (log(s) - z[f->t[i]]) + f->eps * (log(s) - zsum / V);
    }
    return loss;
}

static void check_eps(int block_rows, double eps)
{
    fixture f;
    setup(&f, block_rows);
    f.eps = eps;
    real dx[N * I], dW[V * I] = {0}, db[V] = {0};
    for (int i = 0; i < N * I; i++)
        dx[i] = NAN; /* output only */
    output_stats st =
        output_loss_forward_backward(&f.ws, f.x, N, f.t, f.W, f.b, f.eps, dx, dW, db);

    double want = direct_loss(&f);
    cr_expect(fabs(st.loss - want) <= 1e-12 * fabs(want),
              "blocks of %d: loss %.15g, direct %.15g", block_rows, st.loss, want);
    cr_expect_eq(st.tokens, 5, "blocks of %d: %ld tokens, expected 5", block_rows, st.tokens);
    cr_expect_eq(st.loss, eval_loss(&f), "training and evaluation losses differ");

    char what[64];
    snprintf(what, sizeof what, "output blocks of %d: dx", block_rows);
    cr_expect_eq(gradcheck(what, eval_loss, &f, f.x, dx, N * I, NULL), 0, "%s", what);
    snprintf(what, sizeof what, "output blocks of %d: dW", block_rows);
    cr_expect_eq(gradcheck(what, eval_loss, &f, f.W, dW, V * I, NULL), 0, "%s", what);
    snprintf(what, sizeof what, "output blocks of %d: db", block_rows);
    cr_expect_eq(gradcheck(what, eval_loss, &f, f.b, db, V, NULL), 0, "%s", what);

    /* A second call adds the same gradients on top: dW and db accumulate, dx is overwritten. */
    real dx2[N * I], dW2[V * I], db2[V];
    memcpy(dW2, dW, sizeof dW);
    memcpy(db2, db, sizeof db);
    output_loss_forward_backward(&f.ws, f.x, N, f.t, f.W, f.b, f.eps, dx2, dW2, db2);
    cr_expect(max_abs_diff(dx2, dx, N * I) == 0, "dx is not overwritten");
    for (int i = 0; i < V * I; i++)
        cr_expect(fabs(dW2[i] - 2 * dW[i]) <= 1e-14, "dW[%d] did not accumulate: %g vs 2 * %g",
                  i, dW2[i], dW[i]);
    for (int j = 0; j < V; j++)
        cr_expect(fabs(db2[j] - 2 * db[j]) <= 1e-14, "db[%d] did not accumulate: %g vs 2 * %g",
                  j, db2[j], db[j]);
    output_ws_free(&f.ws);
}

static void check(int block_rows)
{
    check_eps(block_rows, 0);
}

Test(output_grad, label_smoothing)
{
    check_eps(3, 0.1);
    check_eps(16, 0.3);
}

Test(output_grad, blocks_of_3)
{
    check(3); /* blocks of 3, 3 and a partial 1 */
}

Test(output_grad, one_block_of_16)
{
    check(16);
}
