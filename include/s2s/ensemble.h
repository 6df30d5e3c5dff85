/* ensemble.h - the next-token scores of several models combined (ensemble decoding).
 *
 * Rule: the weighted sum of the models' log-probabilities (Marian's rule; OpenNMT-py averages
 * log-probabilities, the same with equal weights), with the weights normalized to sum to 1:
 *
 *     s(v) = sum_j w_j log p_j(v),   w_j = given_j / sum_k given_k
 *
 * computed from each model's logits z_j [V] and their log-sum-exp lse_j as
 *
 *     s(v) = sum_j w_j z_j(v)  -  sum_j w_j lse_j      (in double, models in their order)
 *
 * so that a token's part is one multiply-add per model and the normalizers one term per row;
 * tokens are ranked by s(v) (ties to the lower id, as output_topk). s is not normalized (by the
 * weighted AM-GM inequality sum_v exp s(v) <= 1, the models' product of experts before
 * renormalization): a hypothesis's score is the weighted mean of the models' log-probabilities
 * of it, on a single model's scale, and the length penalty applies unchanged.
 *
 * Exactness. With one model (w = 1) every term is the model's own: s(v) = z(v) - lse, the
 * figure output_topk and output_loss_forward compute, and the ranking by s is the ranking by z.
 * With two copies of one model and equal weights, w = 1/2: z/2 + z/2 and lse/2 + lse/2 are
 * exact in binary floating point (halving and doubling only change the exponent, and the sum,
 * with or without a fused multiply-add, is exactly z), so s(v) is again z(v) - lse bit for bit,
 * and so are every choice and score of a search (four copies at 1/4 too: 3z/4 needs 26 bits).
 * A log of the mean of probabilities (fairseq's rule) has no such identity: exp and log round,
 * and it costs an exponential per model and token more.
 *
 * Nothing is allocated after ensemble_ws_init. */
#ifndef S2S_ENSEMBLE_H
#define S2S_ENSEMBLE_H

#include "s2s/output.h"
#include "s2s/real.h"

typedef struct {
    int n, vocab;
    double *w;   /* [n] normalized weights */
    double *acc; /* [vocab] one row's sum_j w_j z_j */
} ensemble_ws;

/* One model's side of a combination: its output workspace (whose logits are overwritten; each
 * member needs its own), the rows' output-layer inputs x [rows, ws->in], and its output layer
 * W [V, ws->in], b [V]. */
typedef struct {
    output_ws *ws;
    const real *x;
    const real *W, *b;
} ensemble_member;

/* n >= 1 models over a vocabulary of `vocab`; weights [n] positive and finite (NULL: equal),
 * normalized here. S2S_EINVAL naming the weight otherwise. */
int ensemble_ws_init(ensemble_ws *e, int n, const double *weights, int vocab);
void ensemble_ws_free(ensemble_ws *e); /* safe on a zeroed or half-built ws */

/* Every member's vocabulary must be e->vocab (S2S_EINVAL naming the member otherwise): the
 * check of a search's start, not of every step. */
int ensemble_check_members(const ensemble_ws *e, const ensemble_member *mb);

/* output_topk of the combination: per row the k best tokens by s (never <pad> or <s>, ties to
 * the lower id) in ids [rows, k], and s of each in logp [rows, k] unless logp is NULL; -1 and
 * -inf beyond the legal tokens. Rows go in blocks of the smallest member's block_rows. */
void ensemble_topk(ensemble_ws *e, const ensemble_member *mb, int rows, int k, int *ids,
                   double *logp);

/* output_loss_forward of the combination: over rows whose target is not <pad>, nll = loss =
 * sum of -s(target), tokens, and correct (target is the first maximum of s). */
output_stats ensemble_loss(ensemble_ws *e, const ensemble_member *mb, int rows, const int *targets);

#endif
