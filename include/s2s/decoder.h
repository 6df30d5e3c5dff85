/* decoder.h - the step-major decoder used with attention.
 *
 * Also used without attention for scheduled sampling, where the input of step t is only known
 * once step t-1 is done. With attention a decoder step needs the previous step's results before its input is known
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

/* Forward over all bt->tgt_T steps: fills m->feats [Tt, B, feat]. Needs the encoder outputs
 * and the decoder's initial states (m->dec_h0, m->dec_c0). With scheduled sampling (ctx), each
 * sentence's input at step t >= 1 is the argmax of its step t-1 output with probability
 * ctx->sampling, else the gold token; the coin comes from (seed, RNG_SAMPLING, step, id, t). */
void decoder_forward(model *m, const batch *bt, const train_context *ctx);

/* Backward from m->d_feats: accumulates every decoder and attention gradient, writes
 * m->d_dec_h0 / m->d_dec_c0 and adds the memory's gradient into m->d_mem (which the caller
 * zeroes first), and the target embeddings' gradient into the gradient buffer. Polls
 * m->dec_ws[0].hook once per step (backward progress, set by the model). */
void decoder_backward(model *m, const batch *bt);

/* Greedy decoding with attention: like model_greedy (which calls it). */
void decoder_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len);

#endif
