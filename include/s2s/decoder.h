/* decoder.h - the step-major decoder used with attention.
 *
 * Also used without attention for scheduled sampling, where the input of step t is only known
 * once step t-1 is done, and for decoding (greedy here, beam search in src/nn/beam.c). With attention a decoder step needs the previous step's results before its input is known
 * (Bahdanau's query is s_{t-1}; input feeding reads h~_{t-1}), so the decoder runs step by step
 * through all its layers instead of layer by layer. What can still be batched is: the embedding
 * part of layer 0's input projection (one GEMM over all steps), the attention keys (one GEMM per
 * batch), the output layer (one pass over all positions) and, in backward, every weight
 * gradient (one GEMM per weight over all steps). See docs/model.md for the math. */
#ifndef S2S_DECODER_H
#define S2S_DECODER_H

#include "s2s/batch.h"
#include "s2s/model_config.h"

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

/* ---- decoding, one step at a time (greedy and beam search) ----------------------------------
 * The decoder runs on `rows` rows (rows <= m->max_B: one per sentence for greedy, several per
 * sentence for beam search) in two step slots: a step reads its states from one slot and writes
 * the other. A slot holds, per row, what the next step needs: every layer's state h (in
 * m->dec_out[l]), the LSTM cell state (m->dec_ws[l].c) and, with input feeding, h~ (m->att_htil),
 * each at row slot * rows + r of its [Tt, B, .] buffer; so 2 * rows <= m->max_tgt * m->max_B. */

/* The attention memory of the batch just encoded (model_encode): the top encoder output
 * [S, B, DM], its keys (computed here, one GEMM) and the source lengths; without attention
 * only kind (ATTN_NONE), S and B are meaningful. */
attn_memory decoder_memory(model *m, const batch *bt);

/* One step of `rows` rows reading ids [rows] (embedded here), with mem->B == rows: into slot
 * `cur` from the states of slot `prev` (-1: the initial states m->dec_h0 / dec_c0, laid out
 * [L, rows, H], and a zero input-feed state). Leaves the output layer's input in
 * m->feats + cur * rows * m->feat ([rows, feat]) and, with attention, the weights in
 * m->att_alpha + cur * rows * mem->S ([rows, S]). Dropout must be off (m->training false). */
void decoder_step(model *m, const attn_memory *mem, int rows, const int *ids, int cur, int prev);

/* Row r of slot `slot` gets the initial state of sentence sent[r] < B (m->dec_h0 / dec_c0 as
 * model_encode left them for B sentences, [L, B, H]) and a zero input-feed state. */
void decoder_state_expand(model *m, int B, int rows, int slot, const int *sent);

/* Reordering by backpointer: row r of slot `to` gets the state of row src[r] of slot `from`;
 * rows with src[r] < 0 keep theirs. */
void decoder_state_gather(model *m, int rows, int from, int to, const int *src);

/* Greedy decoding, with or without attention: model_greedy after model_encode. Chooses each
 * step's most probable output token (output_topk with k = 1: never <pad> or <s>). */
void decoder_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len);

#endif
