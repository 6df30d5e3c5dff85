/* attention.h - Bahdanau (additive) and Luong (dot, general) attention over the encoder memory.
 *
 * Memory M [S, B, DM] is the top encoder layer's output, time-major (row i*B + b is source
 * position i of sentence b); lens[b] source positions of sentence b are real, the rest padding.
 * Keys are computed once per batch, one GEMM over all S*B rows:
 *   Bahdanau  K = M W_k^T + b_k   [S, B, A]
 *   general   K = M W_a^T         [S, B, H]
 *   dot       K = M               (no parameters)
 * Per decoder step, for a query q [B, Q] (Bahdanau: W_q s_{t-1}, [B, A]; Luong: s_t, [B, H]):
 *   scores e[b, i] (i < lens[b]): Bahdanau v . tanh(q_b + K_ib); Luong q_b . K_ib
 *   alpha[b, :] = softmax over the sentence's own positions (exactly 0 on padding)
 *   ctx[b, :] = sum_i alpha[b, i] M_ib
 * Each sentence's scores and context are small products over its rows of M (stride B*DM),
 * done with gemm(); the Bahdanau tanh layer is a fused element-wise loop. */
#ifndef S2S_ATTENTION_H
#define S2S_ATTENTION_H

#include "s2s/choice.h"
#include "s2s/real.h"

/* The attention kinds (include/s2s/choice.h); a new one also needs its scores in attention.c
 * and its parameters in model_config.c. */
#define ATTN_CHOICES(X)                                                                            \
    X(ATTN_NONE, "none") X(ATTN_BAHDANAU, "bahdanau") X(ATTN_DOT, "dot") X(ATTN_GENERAL, "general")
typedef enum { ATTN_CHOICES(CHOICE_ENUM) ATTN_COUNT } attn_kind;
extern const char *const attn_names[]; /* NULL-terminated, indexed by attn_kind */

const char *attn_name(attn_kind kind);           /* "none", "bahdanau", "dot", "general" */
int attn_parse(const char *name, attn_kind *out); /* 0, or S2S_EINVAL naming the value */

typedef struct {
    attn_kind kind;
    int S, B;     /* this batch's source steps and sentences */
    int DM;       /* memory width (D*H) */
    int KW;       /* key width: A (Bahdanau), H (general), DM (dot) */
    const real *M;    /* [S, B, DM] */
    const int *lens;  /* [B] */
    const real *K;    /* [S, B, KW] keys (== M for dot) */
    const real *v;    /* Bahdanau score vector [KW] */
} attn_memory;

/* One step forward. q [B, KW]; out: alpha [B, S] (row stride S), ctx [B, DM]; Bahdanau also
 * keeps tanh(q_b + K_ib) in th [B, S, KW] for backward (NULL for Luong). */
void attn_step_forward(const attn_memory *mem, const real *q, real *alpha, real *ctx, real *th);

/* One step backward, given dctx [B, DM] (and alpha, th of that step).
 * dq [B, KW]: written. dK [S, B, KW]: accumulated (Bahdanau, general; for dot it is dM).
 * dM [S, B, DM]: accumulated (context path). dv [KW]: accumulated (Bahdanau).
 * scratch: [B, S] floats. */
void attn_step_backward(const attn_memory *mem, const real *q, const real *alpha, const real *th,
                        const real *dctx, real *dq, real *dK, real *dM, real *dv, real *scratch);

#endif
