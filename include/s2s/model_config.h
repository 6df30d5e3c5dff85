/* model_config.h - a model's configuration and the state it sizes: the shape options
 * (model_config) with their checks and derived widths, what a training step passes besides the
 * batch (train_context), and the model struct: parameters, gradients and workspaces. Both
 * halves of the model work on it, the encoder, bridges and layer-major decoder (model.c,
 * include/s2s/model.h) and the step-major decoder (decoder.c, include/s2s/decoder.h), so it
 * sits below both of them. The configuration functions are in src/nn/model_config.c. */
#ifndef S2S_MODEL_CONFIG_H
#define S2S_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/attention.h"
#include "s2s/output.h"
#include "s2s/params.h"
#include "s2s/rnn.h"

#define MODEL_MAX_LAYERS 8

typedef struct {
    cell_type cell;
    int layers;     /* encoder layers */
    int dec_layers; /* decoder layers; 0 means the same as the encoder */
    bool bidir;
    int emb, hidden;
    int src_vocab, tgt_vocab; /* including the 4 reserved ids */
    attn_kind attn;
    bool input_feed;     /* Luong only: h~_{t-1} joins layer 0's input */
    bool tie_embeddings; /* out.weight is tgt_embed.weight */
    double dropout;      /* training-time dropout probability (docs/model.md); 0: none */
} model_config;

/* What a training step needs besides the batch: the keys of its random draws and the loss. */
typedef struct {
    uint32_t seed, step;    /* dropout masks and sampling coins are keyed by these */
    double label_smoothing; /* 0: plain NLL */
    double sampling;        /* scheduled sampling: probability of reading the model's own
                             * previous prediction, 1 - the teacher-forcing ratio; 0: pure
                             * teacher forcing */
} train_context;

/* Whether a context asks for scheduled sampling. */
static inline bool train_sampling(const train_context *ctx)
{
    return ctx && ctx->sampling > 0;
}

/* Decoder layers, output-layer input width and layer-0 input width of a configuration. */
int model_dec_layers(const model_config *cfg);
int model_feature_size(const model_config *cfg);
int model_dec_input_size(const model_config *cfg);

/* Checks ranges and consistency; S2S_EINVAL with a message naming the field. */
int model_config_check(const model_config *cfg);

typedef struct {
    model_config cfg;
    int dirs; /* 1 or 2 */
    param_table table;
    real *params, *grads;
    size_t n_params; /* table.total: buffer length including alignment gaps */

    int dec_layers;  /* resolved */
    int feat;        /* output-layer input width */
    bool step_major; /* attention: the decoder always runs step by step (src/nn/decoder.c) */
    bool stepwise;   /* the current pass runs step by step (attention or scheduled sampling) */

    /* Tensor indices into table, resolved at init (-1: absent). */
    int src_embed, tgt_embed, bridge_w, bridge_b, bridge_c_w, bridge_c_b, out_w, out_b;
    int att_q, att_k, att_kb, att_v, att_w, att_c;
    rnn_weights enc[MODEL_MAX_LAYERS][2]; /* [layer][direction] */
    rnn_weights dec[MODEL_MAX_LAYERS];

    /* Workspace, sized for max_B sentences of max_src source and max_tgt decoder steps. */
    int max_B, max_src, max_tgt;
    rnn_layer_ws enc_ws[MODEL_MAX_LAYERS][2], dec_ws[MODEL_MAX_LAYERS];
    output_ws out_ws;
    real *src_x, *d_src_x;                       /* [Ts, B, E] source embeddings and gradient */
    real *tgt_x, *d_tgt_x;                       /* [Tt, B, E] */
    real *enc_out[MODEL_MAX_LAYERS];             /* [Ts, B, D*H] */
    real *d_enc_out[MODEL_MAX_LAYERS];
    real *dec_out[MODEL_MAX_LAYERS];             /* [Tt, B, H] */
    real *d_dec_out[MODEL_MAX_LAYERS];
    real *bridge_in, *bridge_h, *d_bridge_in, *d_bridge_h;     /* [B, L*D*H], [B, L*H] */
    real *bridge_c_in, *bridge_c, *d_bridge_c_in, *d_bridge_c; /* LSTM cell-state bridge */
    real *dec_h0, *dec_c0, *d_dec_h0, *d_dec_c0;               /* [L, B, H] */
    real *d_enc_c_final;                                       /* [B, H] scratch */
    /* dropout (allocated when cfg.dropout > 0); `training` is set during forward_backward */
    bool training;
    real *mask_src, *mask_tgt, *mask_feat;  /* [Ts,B,E], [Tt,B,E], [Tt,B,feat] */
    real *mask_enc[MODEL_MAX_LAYERS], *enc_in[MODEL_MAX_LAYERS]; /* l >= 1: [Ts, B, D*H] */
    real *mask_dec[MODEL_MAX_LAYERS], *dec_in[MODEL_MAX_LAYERS]; /* l >= 1: [Tt, B, H] */
    real *feat_drop;                        /* [Tt, B, H] layer-major decoder only */
    real *drop_scratch;                     /* [max(Ts*D, Tt) * B * H] */

    /* step-major decoder (attention): see src/nn/decoder.c */
    real *dec_x0;            /* [Tt, B, in0] layer-0 inputs [e_t ; extra_t] */
    real *att_keys, *d_att_keys; /* [Ts, B, KW] */
    real *d_mem;             /* [Ts, B, D*H] gradient w.r.t. the memory (top encoder output) */
    real *att_q_all;         /* [Tt, B, KW] queries */
    real *att_alpha;         /* [Tt, B, Ts] */
    real *att_ctx;           /* [Tt, B, D*H] */
    real *att_th;            /* [Tt, B, Ts, A] Bahdanau tanh values */
    real *att_cs;            /* [Tt, B, D*H + H] Luong [c_t ; s_t] */
    real *att_htil;          /* [Tt, B, H] Luong attentional states */
    real *att_dpre;          /* [Tt, B, H] Luong gradient before tanh */
    real *d_att_q;           /* [Tt, B, KW] */
    real *feats, *d_feats;   /* [Tt, B, feat] output-layer inputs */
    int *dec_ids, *pred_ids; /* [Tt, B] decoder inputs actually read; [B] argmax scratch */
    real *d_ctx, *d_extra, *d_s_q, *d_cs, *att_scratch; /* per-step scratch */
    int *gd_ids; /* [B] greedy decoding's current tokens */

    /* Backward progress (data-parallel overlap, include/s2s/comm.h): when non-NULL,
     * model_forward_backward calls grad_ready(grad_ready_ctx, k) whenever grads[k .. n_params)
     * have received their last contribution of the pass, and also between time steps of the
     * recurrent backward with an unchanged k, so that the callee can poll communication. k never
     * increases during a pass and is 0 when the pass returns. */
    void (*grad_ready)(void *ctx, size_t final_from);
    void *grad_ready_ctx;
    double forward_seconds; /* wall time of the last model_forward_backward's forward part */
} model;

/* Whether the current pass drops out: training with a dropout probability. */
static inline bool model_dropping(const model *m)
{
    return m->training && m->cfg.dropout > 0;
}

#endif
