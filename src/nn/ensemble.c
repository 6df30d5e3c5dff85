/* ensemble.c - several models' next-token scores combined by the weighted sum of their
 * log-probabilities (include/s2s/ensemble.h has the rule and why it is exact).
 *
 * Per block of rows each member's output layer is one GEMM into its own logits buffer, as in
 * output_topk; then per row every member's logits get their bias and log-sum-exp
 * (output_row_logsumexp, output_topk's arithmetic) and are added, weighted, into one row of
 * doubles, which the choice (top k) or the loss reads. */
#include "s2s/ensemble.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/status.h"
#include "s2s/tokens.h"

int ensemble_ws_init(ensemble_ws *e, int n, const double *weights, int vocab)
{
    memset(e, 0, sizeof *e);
    if (n < 1 || vocab < 1)
        return s2s_fail(S2S_EINVAL, "ensemble: models and vocabulary must be positive, got %d, %d",
                        n, vocab);
    double sum = 0;
    for (int j = 0; weights && j < n; j++) {
        if (!(weights[j] > 0 && isfinite(weights[j])))
            return s2s_fail(S2S_EINVAL,
                            "ensemble: the weight of model %d is %g: weights must be positive "
                            "and finite",
                            j + 1, weights[j]);
        sum += weights[j];
    }
    if (weights && !isfinite(sum))
        return s2s_fail(S2S_EINVAL, "ensemble: the weights sum to %g", sum);
    e->w = malloc((size_t)n * sizeof *e->w);
    e->acc = malloc((size_t)vocab * sizeof *e->acc);
    if (!e->w || !e->acc) {
        ensemble_ws_free(e);
        return s2s_fail(S2S_ENOMEM, "ensemble: cannot allocate a row of %d scores", vocab);
    }
    for (int j = 0; j < n; j++)
        e->w[j] = weights ? weights[j] / sum : 1.0 / n;
    e->n = n;
    e->vocab = vocab;
    return 0;
}

void ensemble_ws_free(ensemble_ws *e)
{
    free(e->w);
    free(e->acc);
    memset(e, 0, sizeof *e);
}

int ensemble_check_members(const ensemble_ws *e, const ensemble_member *mb)
{
    for (int j = 0; j < e->n; j++)
        if (mb[j].ws->vocab != e->vocab)
            return s2s_fail(S2S_EINVAL,
                            "ensemble: model %d has a target vocabulary of %d tokens, the "
                            "ensemble %d",
                            j + 1, mb[j].ws->vocab, e->vocab);
    return 0;
}

/* Rows per block: every member's logits buffer holds a block. */
static int block_rows(const ensemble_ws *e, const ensemble_member *mb)
{
    int rows = mb[0].ws->block_rows;
    for (int j = 1; j < e->n; j++)
        rows = mb[j].ws->block_rows < rows ? mb[j].ws->block_rows : rows;
    return rows;
}

/* Rows r0 .. r0 + m of every member through its output layer's GEMM. */
static void block_logits(const ensemble_ws *e, const ensemble_member *mb, int r0, int m)
{
    const int V = e->vocab;
    for (int j = 0; j < e->n; j++) {
        const int I = mb[j].ws->in;
        gemm(false, true, m, V, I, 1, mb[j].x + (size_t)r0 * I, I, mb[j].W, I, 0, mb[j].ws->logits,
             V);
    }
}

/* Row i of the block: e->acc = sum_j w_j z_j (z_j with its bias); returns sum_j w_j lse_j. */
static double combine_row(ensemble_ws *e, const ensemble_member *mb, int i)
{
    const int V = e->vocab;
    double *restrict acc = e->acc, shift = 0;
    for (int j = 0; j < e->n; j++) {
        real *z = mb[j].ws->logits + (size_t)i * V;
        const double w = e->w[j];
        shift += w * output_row_logsumexp(z, mb[j].b, V);
        if (j == 0)
            for (int v = 0; v < V; v++)
                acc[v] = w * (double)z[v];
        else
            for (int v = 0; v < V; v++)
                acc[v] += w * (double)z[v];
    }
    return shift;
}

/* output_topk's selection over a row of doubles: strict comparisons keep the lower id first on
 * ties; until the list is full every legal token enters (a NaN row still yields valid ids). */
static void topk_row(const double *s, int V, int k, int *top, double *lp, double shift)
{
    int have = 0;
    double kth = 0;
    for (int j = 0; j < V; j++) {
        if (j == TOK_PAD || j == TOK_BOS || (have == k && !(s[j] > kth)))
            continue;
        int p = have < k ? have++ : k - 1;
        for (; p > 0 && s[j] > s[top[p - 1]]; p--)
            top[p] = top[p - 1];
        top[p] = j;
        kth = s[top[have - 1]];
    }
    for (int q = have; q < k; q++)
        top[q] = -1;
    if (lp)
        for (int q = 0; q < k; q++)
            lp[q] = q < have ? s[top[q]] - shift : -INFINITY;
}

void ensemble_topk(ensemble_ws *e, const ensemble_member *mb, int rows, int k, int *ids,
                   double *logp)
{
    const int blk = block_rows(e, mb);
    for (int r0 = 0; r0 < rows; r0 += blk) {
        const int m = rows - r0 < blk ? rows - r0 : blk;
        block_logits(e, mb, r0, m);
        for (int i = 0; i < m; i++) {
            const size_t r = (size_t)(r0 + i);
            double shift = combine_row(e, mb, i);
            topk_row(e->acc, e->vocab, k, ids + r * k, logp ? logp + r * k : NULL, shift);
        }
    }
}

/* Whether t is the first maximum of s (output.c's is_argmax on doubles; a row holding NaN has
 * none). */
static bool first_max_is(const double *s, int V, int t)
{
    for (int j = 0; j < V; j++)
        if (isnan(s[j]) || (j < t && s[j] >= s[t]) || (j > t && s[j] > s[t]))
            return false;
    return true;
}

output_stats ensemble_loss(ensemble_ws *e, const ensemble_member *mb, int rows, const int *targets)
{
    output_stats st = {0};
    const int blk = block_rows(e, mb);
    for (int r0 = 0; r0 < rows; r0 += blk) {
        const int m = rows - r0 < blk ? rows - r0 : blk;
        block_logits(e, mb, r0, m);
        for (int i = 0; i < m; i++) {
            const int t = targets[r0 + i];
            if (t == TOK_PAD)
                continue;
            double nll = combine_row(e, mb, i) - e->acc[t];
            st.nll += nll;
            st.loss += nll;
            st.tokens++;
            st.correct += first_max_is(e->acc, e->vocab, t);
        }
    }
    return st;
}
