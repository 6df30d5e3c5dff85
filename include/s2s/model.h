/* model.h - the RNN encoder-decoder: parameters, forward, backward, greedy decoding.
 *
 *   source ids -> src_embed -> encoder (L layers, optionally bidirectional)
 *   final encoder states (layers x directions) -> bridge: tanh(Linear) -> decoder initial states
 *   target inputs -> tgt_embed -> decoder (L layers) -> out (Linear) -> log-softmax -> NLL
 *
 * Parameter names and shapes are PyTorch's for the same modules (docs/model.md lists them all);
 * all parameters sit in one buffer (model.params) and all gradients in one buffer of the same
 * layout (model.grads). Workspaces are sized at init for the largest batch; nothing is
 * allocated per step. */
#ifndef S2S_MODEL_H
#define S2S_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "s2s/batch.h"
#include "s2s/choice.h"
#include "s2s/model_config.h"

/* Parameter initializations (include/s2s/choice.h): model_init_params. */
#define INIT_CHOICES(X) X(INIT_UNIFORM, "uniform") X(INIT_XAVIER, "xavier")
typedef enum { INIT_CHOICES(CHOICE_ENUM) INIT_COUNT } init_kind;
extern const char *const init_names[]; /* NULL-terminated, indexed by init_kind */

/* Builds the parameter table and allocates parameters (zeroed), gradients and workspaces. */
int model_init(model *m, const model_config *cfg, int max_B, int max_src, int max_tgt);
void model_free(model *m); /* safe on a zeroed or half-built model */

/* Seeded initialization; every tensor's values are drawn from its own stream
 * (seed, RNG_INIT, tensor index), so they do not depend on anything but the configuration.
 * INIT_UNIFORM: U(-scale, scale) everywhere. INIT_XAVIER: matrices U(+-sqrt(6/(fan_in+fan_out))),
 * biases 0. The <pad> rows of both embeddings are zero (nn.Embedding with padding_idx=0). */
void model_init_params(model *m, uint32_t seed, init_kind kind, double scale);

void model_zero_grads(model *m);

/* Teacher-forced forward pass and full backpropagation through time for one batch. Gradients of
 * the SUMMED loss are accumulated into m->grads; stats returns loss sums, token count, correct.
 * ctx may be NULL: no dropout draws (dropout must then be 0) and no label smoothing. */
int model_forward_backward(model *m, const batch *bt, const train_context *ctx,
                           output_stats *stats);

/* Forward only (evaluation: no dropout, plain NLL). */
int model_evaluate(model *m, const batch *bt, output_stats *stats);

/* The output layer's inputs [tgt_T, B, model_feature_size] of the last teacher-forced pass (what
 * model_evaluate scored), for scoring them otherwise (an ensemble's loss, ensemble.h). */
const real *model_features(const model *m);

/* The training objective of model_forward_backward (same dropout masks, label smoothing)
 * without the backward pass: what gradient checks differentiate numerically. */
int model_train_loss(model *m, const batch *bt, const train_context *ctx, output_stats *stats);

/* Decoding's first half (greedy, beam search): the encoder and the bridges over the sources of
 * bt (targets ignored), dropout off. Leaves the memory in m->enc_out[layers - 1] and the
 * decoder's initial states in m->dec_h0, m->dec_c0 ([L, B, H]). */
int model_encode(model *m, const batch *bt);

/* Greedy decoding of the sources in bt (targets ignored): out[b * max_len + t] for t < out_len[b]
 * (</s> not included; out_len[b] == max_len means no </s> was produced). Each step takes the
 * most probable token that can be an output (never <pad> or <s>), the lowest id on ties. */
int model_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len);

/* Forward matrix-product FLOPs of one training batch with every sentence at full length
 * (2 m n k per product); a training step costs 3x that (see docs/performance.md). */
double model_forward_flops(const model_config *cfg, int B, int src_T, int tgt_T);

#endif
