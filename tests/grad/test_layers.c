/* test_layers.c - finite-difference checks of linear, embedding and tanh (double build).
 *
 * Each layer is checked through the scalar loss L = sum(out * R) for a fixed random R, so that
 * d L / d out = R is the upstream gradient handed to the backward function. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "gradcheck.h"
#include "s2s/layers.h"
#include "testutil.h"

static double dot(const real *a, const real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* ---- linear: out [n, O] = x [n, I] W^T + b ---- */

enum { LN = 4, LI = 5, LO = 3 };

typedef struct {
    real x[LN * LI], W[LO * LI], b[LO], R[LN * LO], out[LN * LO];
    bool with_bias;
} linear_fx;

static double linear_loss(void *ctx)
{
    linear_fx *f = ctx;
    linear_forward(f->out, f->x, f->W, f->with_bias ? f->b : NULL, LN, LI, LO);
    return dot(f->out, f->R, LN * LO);
}

static void linear_setup(linear_fx *f, bool with_bias)
{
    fill_uniform(f->x, LN * LI, -1, 1, 1, 1);
    fill_uniform(f->W, LO * LI, -1, 1, 1, 2);
    fill_uniform(f->b, LO, -1, 1, 1, 3);
    fill_uniform(f->R, LN * LO, -1, 1, 1, 4);
    f->with_bias = with_bias;
}

Test(layers_grad, linear)
{
    linear_fx f;
    linear_setup(&f, true);
    real dx[LN * LI] = {0}, dW[LO * LI] = {0}, db[LO] = {0};
    linear_backward(dx, dW, db, f.R, f.x, f.W, LN, LI, LO);
    cr_expect_eq(gradcheck("linear dx", linear_loss, &f, f.x, dx, LN * LI, NULL), 0, "linear dx");
    cr_expect_eq(gradcheck("linear dW", linear_loss, &f, f.W, dW, LO * LI, NULL), 0, "linear dW");
    cr_expect_eq(gradcheck("linear db", linear_loss, &f, f.b, db, LO, NULL), 0, "linear db");

    /* Backward accumulates into all three; dx and db may be skipped with NULL. */
    real dx2[LN * LI], dW2[LO * LI], db2[LO];
    memcpy(dx2, dx, sizeof dx);
    memcpy(dW2, dW, sizeof dW);
    memcpy(db2, db, sizeof db);
    linear_backward(dx2, dW2, db2, f.R, f.x, f.W, LN, LI, LO);
    linear_backward(NULL, dW2, NULL, f.R, f.x, f.W, LN, LI, LO);
    for (int i = 0; i < LN * LI; i++)
        cr_expect(fabs(dx2[i] - 2 * dx[i]) <= 1e-14, "dx[%d] %g, expected 2 * %g", i, dx2[i],
                  dx[i]);
    for (int i = 0; i < LO * LI; i++)
        cr_expect(fabs(dW2[i] - 3 * dW[i]) <= 1e-14, "dW[%d] %g, expected 3 * %g", i, dW2[i],
                  dW[i]);
    for (int i = 0; i < LO; i++)
        cr_expect(fabs(db2[i] - 2 * db[i]) <= 1e-14, "db[%d] %g, expected 2 * %g", i, db2[i],
                  db[i]);
}

Test(layers_grad, linear_without_bias)
{
    linear_fx f;
    linear_setup(&f, false);
    real dx[LN * LI] = {0}, dW[LO * LI] = {0};
    linear_backward(dx, dW, NULL, f.R, f.x, f.W, LN, LI, LO);
    cr_expect_eq(gradcheck("linear (no bias) dx", linear_loss, &f, f.x, dx, LN * LI, NULL), 0,
                 "linear without bias dx");
    cr_expect_eq(gradcheck("linear (no bias) dW", linear_loss, &f, f.W, dW, LO * LI, NULL), 0,
                 "linear without bias dW");
}

/* ---- embedding: out [n, E] = table[ids] ---- */

enum { EV = 6, EE = 3, EN = 7 };

typedef struct {
    real table[EV * EE], R[EN * EE], out[EN * EE];
    int ids[EN];
} embed_fx;

static double embed_loss(void *ctx)
{
    embed_fx *f = ctx;
    embedding_forward(f->out, f->ids, EN, f->table, EE);
    return dot(f->out, f->R, EN * EE);
}

Test(layers_grad, embedding)
{
    /* Repeated ids accumulate; id 0 is padding and appears twice. */
    static const int ids[EN] = {3, TOK_PAD, 5, 3, 1, TOK_PAD, 2};
    embed_fx f;
    memcpy(f.ids, ids, sizeof ids);
    fill_uniform(f.table, EV * EE, -1, 1, 2, 1);
    fill_uniform(f.R, EN * EE, -1, 1, 2, 2);
    real dtable[EV * EE] = {0};
    embedding_backward(dtable, f.R, f.ids, EN, EE);

    /* The padding row gets no gradient by design (nn.Embedding padding_idx), even though the
     * forward reads it; every other row is checked against finite differences. */
    for (int k = 0; k < EE; k++)
        cr_expect_eq(dtable[TOK_PAD * EE + k], 0.0, "padding row gradient [%d] = %g", k,
                     dtable[TOK_PAD * EE + k]);
    cr_expect_eq(gradcheck("embedding dtable", embed_loss, &f, f.table + EE, dtable + EE,
                           (EV - 1) * EE, NULL),
                 0, "embedding dtable (rows 1..V-1)");

    /* Accumulation: a second backward doubles the gradient. */
    real d2[EV * EE];
    memcpy(d2, dtable, sizeof d2);
    embedding_backward(d2, f.R, f.ids, EN, EE);
    for (int i = 0; i < EV * EE; i++)
        cr_expect(fabs(d2[i] - 2 * dtable[i]) <= 1e-14, "dtable[%d] %g, expected 2 * %g", i,
                  d2[i], dtable[i]);
}

Test(layers_grad, embedding_forward_copies_rows)
{
    static const int ids[3] = {4, 0, 4};
    real table[EV * EE], out[3 * EE];
    fill_uniform(table, EV * EE, -1, 1, 2, 3);
    embedding_forward(out, ids, 3, table, EE);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < EE; k++)
            cr_expect_eq(out[i * EE + k], table[ids[i] * EE + k], "out[%d][%d] is not row %d", i,
                         k, ids[i]);
}

/* ---- tanh, in place ---- */

enum { TN = 11 };

typedef struct {
    real x[TN], y[TN], R[TN];
} tanh_fx;

static double tanh_loss(void *ctx)
{
    tanh_fx *f = ctx;
    memcpy(f->y, f->x, sizeof f->x);
    tanh_forward(f->y, TN);
    return dot(f->y, f->R, TN);
}

Test(layers_grad, tanh)
{
    tanh_fx f;
    fill_uniform(f.x, TN, -3, 3, 4, 1);
    fill_uniform(f.R, TN, -1, 1, 4, 2);
    tanh_loss(&f);
    for (int i = 0; i < TN; i++)
        cr_expect(fabs(f.y[i] - tanh(f.x[i])) <= 1e-15, "tanh_forward(%g) = %.17g", f.x[i],
                  f.y[i]);
    real dy[TN];
    memcpy(dy, f.R, sizeof dy);
    tanh_backward(dy, f.y, TN);
    cr_expect_eq(gradcheck("tanh", tanh_loss, &f, f.x, dy, TN, NULL), 0, "tanh dx");
}
