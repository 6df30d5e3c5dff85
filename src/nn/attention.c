/* attention.c - attention scores, masked softmax and context, forward and backward, one decoder
 * step for the whole batch. Shapes and formulas are in include/s2s/attention.h. */
#include "s2s/attention.h"

#include <string.h>

#include "s2s/blas.h"
#include "s2s/choice.h"
#include "s2s/status.h"
#include "s2s/vmath.h"

const char *const attn_names[] = {ATTN_CHOICES(CHOICE_NAME) NULL};

const char *attn_name(attn_kind kind)
{
    return choice_name(attn_names, (int)kind);
}

int attn_parse(const char *name, attn_kind *out)
{
    int k = choice_parse("attention", attn_names, name);
    if (k >= 0)
        *out = (attn_kind)k;
    return k < 0 ? k : 0;
}

/* e[i] = v . tanh(q + K_i) for the n real positions of one sentence; th[i, :] keeps the tanh.
 * K rows are `stride` apart (B * KW in time-major memory). */
static void bahdanau_scores(int n, int KW, const real *restrict q, const real *K, size_t stride,
                            const real *restrict v, real *restrict th, real *restrict e)
{
    for (int i = 0; i < n; i++) {
        const real *restrict k = K + (size_t)i * stride;
        real *restrict t = th + (size_t)i * KW;
        real acc = 0;
        for (int a = 0; a < KW; a++) {
            real y = v_tanh(q[a] + k[a]);
            t[a] = y;
            acc += v[a] * y;
        }
        e[i] = acc;
    }
}

/* In place: e[0..n) becomes softmax(e[0..n)), e[n..S) zero. */
static void masked_softmax(real *e, int n, int S)
{
    real mx = e[0];
    for (int i = 1; i < n; i++)
        mx = e[i] > mx ? e[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        e[i] = v_exp(e[i] - mx);
        sum += e[i];
    }
    real inv = (real)(1.0 / sum);
    for (int i = 0; i < n; i++)
        e[i] *= inv;
    for (int i = n; i < S; i++)
        e[i] = 0;
}

void attn_step_forward(const attn_memory *mem, const real *q, real *alpha, real *ctx, real *th)
{
    const int S = mem->S, B = mem->B, DM = mem->DM, KW = mem->KW;
    const size_t kstride = (size_t)B * KW, mstride = (size_t)B * DM;
    for (int b = 0; b < B; b++) {
        int n = mem->lens[b];
        const real *qb = q + (size_t)b * KW;
        real *e = alpha + (size_t)b * S;
        if (mem->kind == ATTN_BAHDANAU)
            bahdanau_scores(n, KW, qb, mem->K + (size_t)b * KW, kstride, mem->v,
                            th + (size_t)b * S * KW, e);
        else /* e[1, n] = q_b [1, KW] K_b^T */
            gemm(false, true, 1, n, KW, 1, qb, KW, mem->K + (size_t)b * KW, (int)kstride, 0, e, S);
        masked_softmax(e, n, S);
        /* ctx_b [1, DM] = alpha_b [1, n] M_b [n, DM] */
        gemm(false, false, 1, DM, n, 1, e, S, mem->M + (size_t)b * DM, (int)mstride, 0,
             ctx + (size_t)b * DM, DM);
    }
}

void attn_step_backward(const attn_memory *mem, const real *q, const real *alpha, const real *th,
                        const real *dctx, real *dq, real *dK, real *dM, real *dv, real *scratch)
{
    const int S = mem->S, B = mem->B, DM = mem->DM, KW = mem->KW;
    const size_t kstride = (size_t)B * KW, mstride = (size_t)B * DM;
    for (int b = 0; b < B; b++) {
        int n = mem->lens[b];
        const real *a = alpha + (size_t)b * S, *dc = dctx + (size_t)b * DM;
        const real *Mb = mem->M + (size_t)b * DM;
        real *de = scratch + (size_t)b * S, *dqb = dq + (size_t)b * KW;
        /* Context: dalpha_i = dc . M_i, dM_i += alpha_i dc. */
        gemm(false, true, 1, n, DM, 1, dc, DM, Mb, (int)mstride, 0, de, S);
        gemm(true, false, n, DM, 1, 1, a, S, dc, DM, 1, dM + (size_t)b * DM, (int)mstride);
        /* Softmax: de_i = alpha_i (dalpha_i - sum_j alpha_j dalpha_j). */
        double dot = 0;
        for (int i = 0; i < n; i++)
            dot += (double)a[i] * de[i];
        for (int i = 0; i < n; i++)
            de[i] = a[i] * (de[i] - (real)dot);
        if (mem->kind == ATTN_BAHDANAU) {
            /* e_i = v . tanh(q + K_i): d(pre)_ia = de_i v_a (1 - th_ia^2), shared by q and K_i. */
            memset(dqb, 0, (size_t)KW * sizeof(real));
            for (int i = 0; i < n; i++) {
                const real *restrict t = th + ((size_t)b * S + i) * KW;
                real *restrict dk = dK + (size_t)i * kstride + (size_t)b * KW;
                real g = de[i];
                for (int j = 0; j < KW; j++) {
                    real d = g * mem->v[j] * (1 - t[j] * t[j]);
                    dqb[j] += d;
                    dk[j] += d;
                    dv[j] += g * t[j];
                }
            }
        } else {
            /* e_i = q . K_i: dq = de K_b, dK_i += de_i q. For dot, K is M and dK is dM. */
            const real *Kb = mem->K + (size_t)b * KW;
            gemm(false, false, 1, KW, n, 1, de, S, Kb, (int)kstride, 0, dqb, KW);
            gemm(true, false, n, KW, 1, 1, de, S, q + (size_t)b * KW, KW, 1,
                 dK + (size_t)b * KW, (int)kstride);
        }
    }
}
