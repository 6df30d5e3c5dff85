/* output.h - the output layer fused with log-softmax and the negative log-likelihood.
 *
 * For n target positions with features x [n, I] (the decoder's top states, or in later models
 * state ⊕ context ⊕ embedding): logits = x W^T + b, W [V, I] as nn.Linear; the loss is
 * sum over non-padding rows of -log softmax(logits)[target], optionally label-smoothed
 * (PyTorch's cross_entropy(..., label_smoothing=eps, reduction='sum')). The loss is a sum, not a mean: the
 * trainer divides by the global token count (over all ranks) once the gradients are reduced.
 *
 * Rows are processed in blocks of block_rows: one GEMM produces a block of logits, one fused
 * pass turns it into the loss and, when training, into d logits = softmax - onehot (in place),
 * and two GEMMs propagate it to dx and accumulate dW. Memory stays at one block of logits
 * whatever n is, and each GEMM is still large (block_rows x V x I). */
#ifndef S2S_OUTPUT_H
#define S2S_OUTPUT_H

#include "s2s/real.h"

typedef struct {
    int in, vocab, block_rows;
    real *logits; /* [block_rows, vocab] */
} output_ws;

int output_ws_init(output_ws *ws, int in, int vocab, int block_rows);
void output_ws_free(output_ws *ws); /* safe on a zeroed ws */

typedef struct {
    double loss;  /* the trained objective summed over counted rows: with label smoothing eps,
                   * (1 - eps)(-log p_target) + eps * mean_v(-log p_v); else equal to nll */
    double nll;   /* sum of -log p(target) (for perplexity) */
    long tokens;  /* number of non-padding targets */
    long correct; /* rows whose argmax equals the target */
} output_stats;

/* Forward only (evaluation): stats over the rows whose target is not TOK_PAD, the objective
 * with label smoothing `label_smoothing` (0: plain NLL). */
output_stats output_loss_forward(output_ws *ws, const real *x, int n, const int *targets,
                                 const real *W, const real *b, double label_smoothing);

/* Forward and backward of the summed loss in one pass over the blocks:
 * dx [n, I] written (overwritten; zero on padding rows); dW [V, I] and db [V] accumulated. */
output_stats output_loss_forward_backward(output_ws *ws, const real *x, int n,
                                          const int *targets, const real *W, const real *b,
                                          double label_smoothing, real *dx, real *dW, real *db);

/* Greedy choice: ids[i] = argmax_v logits[i, v] (lowest index on ties); optionally the log-prob
 * of the chosen token in logp[i] (may be NULL). n <= block_rows is not required. */
void output_argmax(output_ws *ws, const real *x, int n, const real *W, const real *b, int *ids,
                   real *logp);

/* Decoding's choice (greedy and beam search): for each row, the k most probable tokens among
 * those that can be outputs (every id but TOK_PAD and TOK_BOS), best first, ties to the lower
 * id (output_argmax's rule), in ids [n, k]; their log-probabilities (log-softmax over the whole
 * vocabulary, in double) in logp [n, k] unless logp is NULL. Entries beyond the number of such
 * tokens (k > V - 2) are id -1, log-probability -inf. */
void output_topk(output_ws *ws, const real *x, int n, const real *W, const real *b, int k,
                 int *ids, double *logp);

/* One row z [V] of logits as the output layer's GEMM left them: adds the bias b in place and
 * returns log sum_j exp(z[j]) in double, computed exactly as output_topk computes the
 * normalizer of its log-probabilities (so that combining several models' rows,
 * include/s2s/ensemble.h, can reproduce one model's figures bit for bit). */
double output_row_logsumexp(real *z, const real *b, int V);

#endif
