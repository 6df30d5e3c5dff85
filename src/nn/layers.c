/* layers.c - token embeddings, affine maps and tanh over batched rows (see layers.h). */
#include "s2s/layers.h"

#include <string.h>

#include "s2s/blas.h"
#include "s2s/vmath.h"

/* out [n, E] <- table [V, E] rows ids[i] */
void embedding_forward(real *out, const int *ids, int n, const real *table, int E)
{
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * E, table + (size_t)ids[i] * E, (size_t)E * sizeof(real));
}

/* dtable [V, E] += scatter of dout [n, E] by ids, skipping padding */
void embedding_backward(real *dtable, const real *dout, const int *ids, int n, int E)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] == TOK_PAD)
            continue;
        real *restrict d = dtable + (size_t)ids[i] * E;
        const real *restrict g = dout + (size_t)i * E;
        for (int j = 0; j < E; j++)
            d[j] += g[j];
    }
}

/* out [n, O] = x [n, I] W^T [I, O] + b [O] */
void linear_forward(real *out, const real *x, const real *W, const real *b, int n, int I, int O)
{
    gemm(false, true, n, O, I, 1, x, I, W, I, 0, out, O);
    if (!b)
        return;
    for (int i = 0; i < n; i++) {
        real *restrict o = out + (size_t)i * O;
        const real *restrict bb = b;
        for (int j = 0; j < O; j++)
            o[j] += bb[j];
    }
}

/* dx [n, I] += dout [n, O] W [O, I];  dW [O, I] += dout^T [O, n] x [n, I];  db [O] += colsum */
void linear_backward(real *dx, real *dW, real *db, const real *dout, const real *x,
                     const real *W, int n, int I, int O)
{
    if (dx)
        gemm(false, false, n, I, O, 1, dout, O, W, I, 1, dx, I);
    gemm(true, false, O, I, n, 1, dout, O, x, I, 1, dW, I);
    if (db)
        add_column_sums(db, dout, n, O, O);
}

void tanh_forward(real *y, long n)
{
    real *restrict p = y;
    for (long i = 0; i < n; i++)
        p[i] = v_tanh(p[i]);
}

void tanh_backward(real *dy, const real *y, long n)
{
    real *restrict d = dy;
    const real *restrict t = y;
    for (long i = 0; i < n; i++)
        d[i] *= 1 - t[i] * t[i];
}
