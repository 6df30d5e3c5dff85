/* decoder.h - the step-major decoder used with attention.
 *
 * With attention a decoder step needs the previous step's results before its input is known
 * (Bahdanau's query is s_{t-1}; input feeding reads h~_{t-1}), so the decoder runs step by step
 * through all its layers instead of layer by layer. What can still be batched is: the embedding
 * part of layer 0's input projection (one GEMM over all steps), the attention keys (one GEMM per
 * batch), the output layer (one pass over all positions) and, in backward, every weight
 * gradient (one GEMM per weight over all steps). See docs/model.md for the math. */
#ifndef S2S_DECODER_H
#define S2S_DECODER_H

#include "s2s/model.h"

/* Allocates the step-major buffers of m (sizes from m->cfg and m's capacities). */
int decoder_init(model *m);
void decoder_free(model *m); /* safe on a zeroed model */

/* Teacher-forced forward over all bt->tgt_T steps: fills m->feats [Tt, B, feat]. Needs the
 * encoder outputs and the decoder's initial states (m->dec_h0, m->dec_c0). */
void decoder_forward(model *m, const batch *bt);

/* Backward from m->d_feats: accumulates every decoder and attention gradient, writes
 * m->d_dec_h0 / m->d_dec_c0 and adds the memory's gradient into m->d_mem (which the caller
 * zeroes first), and the target embeddings' gradient into the gradient buffer. */
void decoder_backward(model *m, const batch *bt);

/* Greedy decoding with attention: like model_greedy (which calls it). */
void decoder_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len);

#endif
