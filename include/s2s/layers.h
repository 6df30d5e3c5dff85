/* layers.h - token embeddings and affine (nn.Linear) maps over batched rows.
 *
 * Backward functions accumulate into parameter gradients (+=), llm.c style, so that one
 * gradient buffer collects every contribution of a step. */
#ifndef S2S_LAYERS_H
#define S2S_LAYERS_H

#include "s2s/real.h"

#include "s2s/tokens.h"


/* out [n, E] = table[ids[i]] for i < n; table [V, E]. */
void embedding_forward(real *out, const int *ids, int n, const real *table, int E);

/* dtable[ids[i]] += dout[i] for every i with ids[i] != TOK_PAD, as nn.Embedding with
 * padding_idx = 0 does: the padding row never receives a gradient. */
void embedding_backward(real *dtable, const real *dout, const int *ids, int n, int E);

/* out [n, O] = x [n, I] W^T + b;  W [O, I], b [O] or NULL. */
void linear_forward(real *out, const real *x, const real *W, const real *b, int n, int I, int O);

/* dx [n, I] += dout W (skipped if dx is NULL); dW [O, I] += dout^T x; db [O] += column sums of
 * dout (skipped if db is NULL). */
void linear_backward(real *dx, real *dW, real *db, const real *dout, const real *x,
                     const real *W, int n, int I, int O);

/* In place: y = tanh(y) and its backward dy = dy * (1 - y^2), y being the tanh output. */
void tanh_forward(real *y, long n);
void tanh_backward(real *dy, const real *y, long n);

#endif
