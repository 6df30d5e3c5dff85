/* output.c - output layer, log-softmax and NLL, fused and processed in blocks of rows.
 *
 * Shapes: x [n, I], W [V, I], b [V], targets [n]; per block of m <= block_rows rows the logits
 * live in ws->logits [m, V]. The per-row work is the largest element-wise cost of a training
 * step (rows x vocabulary), so each logit row is visited in as few fused, vectorizable passes as
 * the math allows: (1) bias + max, (2) exp + sum (stored in place when training), (3) scaling to
 * softmax - onehot with db accumulated in the same loop. A row is 4 V bytes, so passes 2 and 3
 * read it from cache rather than memory. */
#include "s2s/output.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/vmath.h"

/* Independent partial sums: without -ffast-math GCC vectorizes a float sum only if the source
 * already splits it into lanes; 16 fill one AVX-512 register or two AVX ones. */
#define LANES 16

int output_ws_init(output_ws *ws, int in, int vocab, int block_rows)
{
    memset(ws, 0, sizeof *ws);
    if (in < 1 || vocab < 1 || block_rows < 1)
        return s2s_fail(S2S_EINVAL,
                        "output layer: input size, vocabulary and block rows must be positive, "
                        "got %d, %d, %d",
                        in, vocab, block_rows);
    size_t elems = (size_t)block_rows * (size_t)vocab;
    if (elems > SIZE_MAX / sizeof(real))
        return s2s_fail(S2S_ERANGE, "output layer: a block of %d x %d logits is too large",
                        block_rows, vocab);
    ws->logits = malloc(elems * sizeof(real));
    if (!ws->logits)
        return s2s_fail(S2S_ENOMEM, "output layer: cannot allocate %d x %d logits", block_rows,
                        vocab);
    ws->in = in;
    ws->vocab = vocab;
    ws->block_rows = block_rows;
    return 0;
}

void output_ws_free(output_ws *ws)
{
    free(ws->logits);
    memset(ws, 0, sizeof *ws);
}

/* Maxima are taken over integer keys that order like the floats: a float's bits read as a
 * signed integer already order non-negative values; negative ones have the order of their
 * magnitude bits reversed by the xor. GCC cannot vectorize a float max reduction without
 * -ffast-math (NaN semantics) but does vectorize an integer one. Positive NaN sorts above +inf,
 * so a row holding NaN gets a NaN maximum and a NaN loss, as it should. */
#ifdef S2S_REAL_DOUBLE
typedef int64_t real_key;
#define REAL_KEY_MIN INT64_MIN
#define REAL_KEY_MAX INT64_MAX
#else
typedef int32_t real_key;
#define REAL_KEY_MIN INT32_MIN
#define REAL_KEY_MAX INT32_MAX
#endif

static inline real_key key_of(real v)
{
    real_key k;
    memcpy(&k, &v, sizeof k);
    return k < 0 ? k ^ REAL_KEY_MAX : k;
}

static inline real real_of(real_key k)
{
    real v;
    k = k < 0 ? k ^ REAL_KEY_MAX : k;
    memcpy(&v, &k, sizeof v);
    return v;
}

/* z [V] += b [V], returning max_j z[j]; *sum receives sum_j z[j] (label smoothing needs the
 * mean logit). */
static real add_bias_max(real *restrict z, const real *restrict b, int V, double *sum)
{
    real_key mk = REAL_KEY_MIN;
    real acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= V; j += LANES)
        for (int k = 0; k < LANES; k++) {
            real v = z[j + k] + b[j + k];
            z[j + k] = v;
            acc[k] += v;
            real_key key = key_of(v);
            mk = key > mk ? key : mk;
        }
    for (; j < V; j++) {
        real v = z[j] + b[j];
        z[j] = v;
        acc[0] += v;
        real_key key = key_of(v);
        mk = key > mk ? key : mk;
    }
    double s = 0;
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    *sum = s;
    return real_of(mk);
}

/* sum_j exp(z[j] - mx); the exponentials replace z when `store`. */
static double exp_sum(real *restrict z, int V, real mx, bool store)
{
    real acc[LANES] = {0};
    int j = 0;
    if (store) {
        for (; j + LANES <= V; j += LANES)
            for (int k = 0; k < LANES; k++) {
                real e = v_exp(z[j + k] - mx);
                z[j + k] = e;
                acc[k] += e;
            }
        for (; j < V; j++) {
            real e = v_exp(z[j] - mx);
            z[j] = e;
            acc[0] += e;
        }
    } else {
        for (; j + LANES <= V; j += LANES)
            for (int k = 0; k < LANES; k++)
                acc[k] += v_exp(z[j + k] - mx);
        for (; j < V; j++)
            acc[0] += v_exp(z[j] - mx);
    }
    double s = 0;
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

/* Index of the first j with z[j] == mx, or 0 if none (a row holding NaN). */
static int first_max(const real *z, int V, real mx)
{
    for (int j = 0; j < V; j++)
        if (z[j] == mx)
            return j;
    return 0;
}

/* Whether `target` is the argmax (lowest index on ties) of z, whose maximum is mx. Most rows
 * fail the first test; the count over j < target is a vectorizable reduction. */
static bool is_argmax(const real *restrict z, int target, real mx)
{
    if (!(z[target] == mx))
        return false;
    int before = 0;
    for (int j = 0; j < target; j++)
        before += z[j] == mx;
    return before == 0;
}

/* z[j] = z[j] * inv - sub and db[j] += z[j] over [from, to). */
static void scale_accumulate(real *restrict z, real *restrict db, real inv, real sub, int from,
                             int to)
{
    for (int j = from; j < to; j++) {
        real g = z[j] * inv - sub;
        z[j] = g;
        db[j] += g;
    }
}

/* Both entry points: dx == NULL means forward only (dW, db are then ignored). */
static output_stats loss_blocks(output_ws *ws, const real *x, int n, const int *targets,
                                const real *W, const real *b, double eps, real *dx, real *dW,
                                real *db)
{
    output_stats st = {0};
    int I = ws->in, V = ws->vocab;
    bool train = dx != NULL;
    for (int r0 = 0; r0 < n; r0 += ws->block_rows) {
        int m = n - r0 < ws->block_rows ? n - r0 : ws->block_rows;
        const real *xb = x + (size_t)r0 * I;
        gemm(false, true, m, V, I, 1, xb, I, W, I, 0, ws->logits, V);

        for (int i = 0; i < m; i++) {
            real *z = ws->logits + (size_t)i * V;
            int t = targets[r0 + i];
            if (t == TOK_PAD) {
                /* Zero dlogits: no dx, dW or db from this row. */
                if (train)
                    memset(z, 0, (size_t)V * sizeof(real));
                continue;
            }
            double zsum;
            real mx = add_bias_max(z, b, V, &zsum);
            real zt = z[t];
            st.correct += is_argmax(z, t, mx);
            double s = exp_sum(z, V, mx, train);
            double lse = (double)mx + log(s), nll = lse - (double)zt;
            /* Label smoothing: (1 - eps) NLL + eps * mean over v of -log p_v. */
            st.nll += nll;
            st.loss += (1 - eps) * nll + eps * (lse - zsum / V);
            st.tokens++;
            if (train) {
                real inv = (real)(1.0 / s), sub = (real)(eps / V);
                scale_accumulate(z, db, inv, sub, 0, t);
                z[t] = z[t] * inv - sub - (real)(1 - eps);
                db[t] += z[t];
                scale_accumulate(z, db, inv, sub, t + 1, V);
            }
        }

        if (train) {
            gemm(false, false, m, I, V, 1, ws->logits, V, W, I, 0, dx + (size_t)r0 * I, I);
            gemm(true, false, V, I, m, 1, ws->logits, V, xb, I, 1, dW, I);
        }
    }
    return st;
}

output_stats output_loss_forward(output_ws *ws, const real *x, int n, const int *targets,
                                 const real *W, const real *b, double label_smoothing)
{
    return loss_blocks(ws, x, n, targets, W, b, label_smoothing, NULL, NULL, NULL);
}

output_stats output_loss_forward_backward(output_ws *ws, const real *x, int n,
                                          const int *targets, const real *W, const real *b,
                                          double label_smoothing, real *dx, real *dW, real *db)
{
    return loss_blocks(ws, x, n, targets, W, b, label_smoothing, dx, dW, db);
}

void output_argmax(output_ws *ws, const real *x, int n, const real *W, const real *b, int *ids,
                   real *logp)
{
    int I = ws->in, V = ws->vocab;
    for (int r0 = 0; r0 < n; r0 += ws->block_rows) {
        int m = n - r0 < ws->block_rows ? n - r0 : ws->block_rows;
        gemm(false, true, m, V, I, 1, x + (size_t)r0 * I, I, W, I, 0, ws->logits, V);
        for (int i = 0; i < m; i++) {
            real *z = ws->logits + (size_t)i * V;
            double zsum;
            real mx = add_bias_max(z, b, V, &zsum);
            ids[r0 + i] = first_max(z, V, mx);
            /* log p(argmax) = z[argmax] - mx - log sum exp(z - mx) = -log sum exp(z - mx) */
            if (logp)
                logp[r0 + i] = (real)-log(exp_sum(z, V, mx, false));
        }
    }
}

double output_row_logsumexp(real *z, const real *b, int V)
{
    double zsum;
    real mx = add_bias_max(z, b, V, &zsum);
    return (double)mx + log(exp_sum(z, V, mx, false)); /* as output_topk's lse */
}

/* Inserts token j into top[0 .. *have) (at most k entries, ordered by z descending; the caller
 * has checked that j beats the k-th when the list is full). Strict comparisons keep the earlier,
 * lower id first on ties. */
static inline void topk_insert(const real *z, int j, int *top, int k, int *have)
{
    int p = *have < k ? (*have)++ : k - 1;
    for (; p > 0 && z[j] > z[top[p - 1]]; p--)
        top[p] = top[p - 1];
    top[p] = j;
}

void output_topk(output_ws *ws, const real *x, int n, const real *W, const real *b, int k,
                 int *ids, double *logp)
{
    int I = ws->in, V = ws->vocab;
    for (int r0 = 0; r0 < n; r0 += ws->block_rows) {
        int m = n - r0 < ws->block_rows ? n - r0 : ws->block_rows;
        gemm(false, true, m, V, I, 1, x + (size_t)r0 * I, I, W, I, 0, ws->logits, V);
        for (int i = 0; i < m; i++) {
            real *z = ws->logits + (size_t)i * V;
            int *top = ids + (size_t)(r0 + i) * k, have = 0;
            double zsum;
            real mx = add_bias_max(z, b, V, &zsum);
            /* Until the list is full every token enters (so a row of NaN still yields valid
             * ids); then only those above the k-th, which most of a large vocabulary is not. */
            real kth = 0;
            for (int j = 0; j < V; j++) {
                if (j == TOK_PAD || j == TOK_BOS || (have == k && !(z[j] > kth)))
                    continue;
                topk_insert(z, j, top, k, &have);
                kth = z[top[have - 1]];
            }
            for (int q = have; q < k; q++)
                top[q] = -1;
            if (!logp)
                continue;
            /* log p_j = z_j - logsumexp(z), normalized over every token (pad and <s> included:
             * they are part of the model's distribution, only never chosen). */
            double lse = (double)mx + log(exp_sum(z, V, mx, false));
            double *lp = logp + (size_t)(r0 + i) * k;
            for (int q = 0; q < k; q++)
                lp[q] = q < have ? (double)z[top[q]] - lse : -INFINITY;
        }
    }
}
