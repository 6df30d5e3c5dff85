/* model.c - the RNN encoder-decoder: parameter layout, forward, backward, greedy decoding.
 *
 * Data flow of one training step (B sentences, Ts source steps, Tt decoder steps, D directions):
 *   src_x [Ts,B,E] -> encoder layer l, direction d -> enc_out[l] [Ts,B,D*H] (halves by d)
 *   final states of every (l, d) -> bridge_in [B, L*D*H] -> tanh(Linear) -> bridge_h [B, L*H]
 *     -> dec_h0 [L,B,H] (and, for LSTM, the same from the final cell states -> dec_c0)
 *   tgt_x [Tt,B,E] -> decoder layer l -> dec_out[l] [Tt,B,H] -> output layer + loss
 * Backward runs the same path in reverse; every gradient lands in m->grads at the offset of its
 * parameter. */
#include "s2s/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/decoder.h"
#include "s2s/dropout.h"
#include "s2s/layers.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/timer.h"

/* Largest block of logits the output layer materializes: 16M floats (64 MB). */
#define OUTPUT_BLOCK_FLOATS (16L << 20)

/* Parameter and gradient of tensor i. */
static real *P(const model *m, int i) { return m->params + m->table.t[i].offset; }
static real *G(const model *m, int i) { return m->grads + m->table.t[i].offset; }

/* Adds weight_ih, weight_hh, bias_ih, bias_hh of one layer/direction (in that order) and returns
 * the index of the first, or a negative status. */
static int add_rnn_tensors(param_table *tab, const char *module, int layer, int reverse,
                           cell_type cell, int in, int H)
{
    const char *kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    int GH = cell_gates(cell) * H;
    int first = -1;
    for (int k = 0; k < 4; k++) {
        char name[PARAM_NAME_MAX];
        snprintf(name, sizeof name, "%s.%s_l%d%s", module, kinds[k], layer,
                 reverse ? "_reverse" : "");
        int idx = k == 0   ? param_table_add(tab, name, 2, GH, in)
                  : k == 1 ? param_table_add(tab, name, 2, GH, H)
                           : param_table_add(tab, name, 1, GH, 1);
        if (idx < 0)
            return idx;
        if (k == 0)
            first = idx;
    }
    return first;
}

static void bind_rnn(const model *m, rnn_weights *w, int first, int in)
{
    w->cell = m->cfg.cell;
    w->in = in;
    w->hidden = m->cfg.hidden;
    w->w_ih = P(m, first);
    w->w_hh = P(m, first + 1);
    w->b_ih = P(m, first + 2);
    w->b_hh = P(m, first + 3);
    w->dw_ih = G(m, first);
    w->dw_hh = G(m, first + 1);
    w->db_ih = G(m, first + 2);
    w->db_hh = G(m, first + 3);
}

static int build_table(model *m, int enc_first[][2], int dec_first[])
{
    const model_config *c = &m->cfg;
    param_table *tab = &m->table;
    int L = c->layers, Ld = m->dec_layers, D = m->dirs, H = c->hidden, E = c->emb, DM = D * H;
    int rc;
#define ADD(dst, name, ndim, rows, cols)                                                           \
    do {                                                                                           \
        if ((rc = param_table_add(tab, name, ndim, rows, cols)) < 0)                               \
            return rc;                                                                             \
        dst = rc;                                                                                  \
    } while (0)
    ADD(m->src_embed, "src_embed.weight", 2, c->src_vocab, E);
    for (int l = 0; l < L; l++)
        for (int d = 0; d < D; d++)
            if ((enc_first[l][d] = add_rnn_tensors(tab, "encoder", l, d, c->cell,
                                                   l ? D * H : E, H)) < 0)
                return enc_first[l][d];
    ADD(m->bridge_w, "bridge.weight", 2, Ld * H, L * D * H);
    ADD(m->bridge_b, "bridge.bias", 1, Ld * H, 1);
    m->bridge_c_w = m->bridge_c_b = -1;
    if (c->cell == CELL_LSTM) {
        ADD(m->bridge_c_w, "bridge_cell.weight", 2, Ld * H, L * D * H);
        ADD(m->bridge_c_b, "bridge_cell.bias", 1, Ld * H, 1);
    }
    ADD(m->tgt_embed, "tgt_embed.weight", 2, c->tgt_vocab, E);
    for (int l = 0; l < Ld; l++)
        if ((dec_first[l] = add_rnn_tensors(tab, "decoder", l, 0, c->cell,
                                            l ? H : model_dec_input_size(c), H)) < 0)
            return dec_first[l];
    m->att_q = m->att_k = m->att_kb = m->att_v = m->att_w = m->att_c = -1;
    if (c->attn == ATTN_BAHDANAU) {
        ADD(m->att_q, "attn.query.weight", 2, H, H);
        ADD(m->att_k, "attn.key.weight", 2, H, DM);
        ADD(m->att_kb, "attn.key.bias", 1, H, 1);
        ADD(m->att_v, "attn.v.weight", 2, 1, H);
    } else if (c->attn == ATTN_DOT || c->attn == ATTN_GENERAL) {
        if (c->attn == ATTN_GENERAL)
            ADD(m->att_w, "attn.W.weight", 2, H, DM);
        ADD(m->att_c, "attn.combine.weight", 2, H, DM + H);
    }
    if (c->tie_embeddings)
        m->out_w = m->tgt_embed; /* same tensor: both gradients land in one place */
    else
        ADD(m->out_w, "out.weight", 2, c->tgt_vocab, m->feat);
    ADD(m->out_b, "out.bias", 1, c->tgt_vocab, 1);
#undef ADD
    return 0;
}

/* calloc of n reals, recording failure in *ok. */
static real *alloc_reals(size_t n, int *ok)
{
    real *p = calloc(n ? n : 1, sizeof(real));
    if (!p)
        *ok = 0;
    return p;
}

int model_init(model *m, const model_config *cfg, int max_B, int max_src, int max_tgt)
{
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = model_config_check(cfg)) < 0)
        return rc;
    if (max_B < 1 || max_src < 1 || max_tgt < 1)
        return s2s_fail(S2S_EINVAL, "model: invalid workspace size B=%d src=%d tgt=%d", max_B,
                        max_src, max_tgt);
    m->cfg = *cfg;
    m->dirs = cfg->bidir ? 2 : 1;
    m->dec_layers = model_dec_layers(cfg);
    m->feat = model_feature_size(cfg);
    m->step_major = cfg->attn != ATTN_NONE;
    m->max_B = max_B;
    m->max_src = max_src;
    m->max_tgt = max_tgt;
    param_table_init(&m->table);

    int enc_first[MODEL_MAX_LAYERS][2], dec_first[MODEL_MAX_LAYERS];
    if ((rc = build_table(m, enc_first, dec_first)) < 0)
        goto fail;
    m->n_params = m->table.total;
    m->params = param_buffer_alloc(&m->table);
    m->grads = param_buffer_alloc(&m->table);
    if (!m->params || !m->grads) {
        rc = s2s_fail(S2S_ENOMEM, "model: cannot allocate %zu parameters", m->n_params);
        goto fail;
    }

    int L = cfg->layers, Ld = m->dec_layers, D = m->dirs, H = cfg->hidden, E = cfg->emb;
    int B = max_B;
    for (int l = 0; l < L; l++) {
        for (int d = 0; d < D; d++) {
            int in = l ? D * H : E;
            bind_rnn(m, &m->enc[l][d], enc_first[l][d], in);
            if ((rc = rnn_layer_ws_init(&m->enc_ws[l][d], cfg->cell, in, H, max_src, B)) < 0)
                goto fail;
        }
    }
    for (int l = 0; l < Ld; l++) {
        int in = l ? H : model_dec_input_size(cfg);
        bind_rnn(m, &m->dec[l], dec_first[l], in);
        if ((rc = rnn_layer_ws_init(&m->dec_ws[l], cfg->cell, in, H, max_tgt, B)) < 0)
            goto fail;
    }
    /* All target positions in one block while their logits fit in OUTPUT_BLOCK_FLOATS (the
     * weight-gradient GEMM then runs once with K = every row); larger batches or vocabularies
     * are cut into blocks so the logits never exceed that budget. */
    long rows = (long)max_tgt * max_B, block = OUTPUT_BLOCK_FLOATS / cfg->tgt_vocab;
    if (block > rows)
        block = rows;
    if (block < 64)
        block = 64;
    if ((rc = output_ws_init(&m->out_ws, m->feat, cfg->tgt_vocab, (int)block)) < 0)
        goto fail;

    int ok = 1;
    size_t src_rows = (size_t)max_src * B, tgt_rows = (size_t)max_tgt * B;
    m->src_x = alloc_reals(src_rows * E, &ok);
    m->d_src_x = alloc_reals(src_rows * E, &ok);
    m->tgt_x = alloc_reals(tgt_rows * E, &ok);
    m->d_tgt_x = alloc_reals(tgt_rows * E, &ok);
    for (int l = 0; l < L; l++) {
        m->enc_out[l] = alloc_reals(src_rows * D * H, &ok);
        m->d_enc_out[l] = alloc_reals(src_rows * D * H, &ok);
    }
    for (int l = 0; l < Ld; l++) {
        m->dec_out[l] = alloc_reals(tgt_rows * H, &ok);
        m->d_dec_out[l] = alloc_reals(tgt_rows * H, &ok);
    }
    size_t LDH = (size_t)L * D * H, LH = (size_t)Ld * H;
    m->bridge_in = alloc_reals(B * LDH, &ok);
    m->d_bridge_in = alloc_reals(B * LDH, &ok);
    m->bridge_h = alloc_reals(B * LH, &ok);
    m->d_bridge_h = alloc_reals(B * LH, &ok);
    m->dec_h0 = alloc_reals(B * LH, &ok);
    m->d_dec_h0 = alloc_reals(B * LH, &ok);
    if (cfg->cell == CELL_LSTM) {
        m->bridge_c_in = alloc_reals(B * LDH, &ok);
        m->d_bridge_c_in = alloc_reals(B * LDH, &ok);
        m->bridge_c = alloc_reals(B * LH, &ok);
        m->d_bridge_c = alloc_reals(B * LH, &ok);
        m->dec_c0 = alloc_reals(B * LH, &ok);
        m->d_dec_c0 = alloc_reals(B * LH, &ok);
        m->d_enc_c_final = alloc_reals((size_t)B * H, &ok);
    }
    if (cfg->dropout > 0) {
        m->mask_src = alloc_reals(src_rows * E, &ok);
        m->mask_tgt = alloc_reals(tgt_rows * E, &ok);
        m->mask_feat = alloc_reals(tgt_rows * m->feat, &ok);
        m->feat_drop = alloc_reals(tgt_rows * H, &ok);
        size_t scratch = src_rows * D > tgt_rows ? src_rows * D : tgt_rows;
        m->drop_scratch = alloc_reals(scratch * H, &ok);
        for (int l = 1; l < L; l++) {
            m->mask_enc[l] = alloc_reals(src_rows * D * H, &ok);
            m->enc_in[l] = alloc_reals(src_rows * D * H, &ok);
        }
        for (int l = 1; l < Ld; l++) {
            m->mask_dec[l] = alloc_reals(tgt_rows * H, &ok);
            m->dec_in[l] = alloc_reals(tgt_rows * H, &ok);
        }
    }
    if (ok && (rc = decoder_init(m)) < 0)
        goto fail;
    m->gd_ids = calloc((size_t)B, sizeof(int));
    if (!ok || !m->gd_ids) {
        rc = s2s_fail(S2S_ENOMEM, "model: cannot allocate activations for batch %d x %d/%d", B,
                      max_src, max_tgt);
        goto fail;
    }
    return 0;
fail:
    model_free(m);
    return rc;
}

void model_free(model *m)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
        rnn_layer_ws_free(&m->enc_ws[l][0]);
        rnn_layer_ws_free(&m->enc_ws[l][1]);
        rnn_layer_ws_free(&m->dec_ws[l]);
        free(m->enc_out[l]);
        free(m->d_enc_out[l]);
        free(m->dec_out[l]);
        free(m->d_dec_out[l]);
        free(m->mask_enc[l]);
        free(m->enc_in[l]);
        free(m->mask_dec[l]);
        free(m->dec_in[l]);
    }
    output_ws_free(&m->out_ws);
    decoder_free(m);
    real *bufs[] = {m->params, m->grads, m->src_x, m->d_src_x, m->tgt_x, m->d_tgt_x,
                    m->bridge_in, m->d_bridge_in, m->bridge_h, m->d_bridge_h, m->bridge_c_in,
                    m->d_bridge_c_in, m->bridge_c, m->d_bridge_c, m->dec_h0, m->dec_c0,
                    m->d_dec_h0, m->d_dec_c0, m->d_enc_c_final,
                    m->mask_src, m->mask_tgt, m->mask_feat, m->feat_drop, m->drop_scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(m->gd_ids);
    param_table_free(&m->table);
    memset(m, 0, sizeof *m);
}

const char *const init_names[] = {INIT_CHOICES(CHOICE_NAME) NULL};

void model_init_params(model *m, uint32_t seed, init_kind kind, double scale)
{
    for (int i = 0; i < m->table.n; i++) {
        const param_tensor *t = &m->table.t[i];
        double a = scale;
        if (kind == INIT_XAVIER)
            a = t->ndim == 2 ? sqrt(6.0 / (t->rows + t->cols)) : 0.0;
        rng_stream s;
        rng_stream_init(&s, seed, RNG_INIT, (uint32_t)i, 0, 0);
        real *p = P(m, i);
        for (size_t k = 0; k < t->size; k++)
            p[k] = a == 0.0 ? 0 : (real)(a * (2.0 * rng_uniform(&s) - 1.0));
    }
    memset(P(m, m->src_embed), 0, (size_t)m->cfg.emb * sizeof(real));
    memset(P(m, m->tgt_embed), 0, (size_t)m->cfg.emb * sizeof(real));
}

void model_zero_grads(model *m)
{
    memset(m->grads, 0, m->n_params * sizeof(real));
}

static int check_batch(const model *m, const batch *bt, bool need_target)
{
    if (bt->B < 1 || bt->B > m->max_B || bt->src_T < 1 || bt->src_T > m->max_src ||
        (need_target && (bt->tgt_T < 1 || bt->tgt_T > m->max_tgt)))
        return s2s_fail(S2S_EINVAL,
                        "model: batch of %d sentences x %d/%d steps exceeds the workspace "
                        "(%d x %d/%d)",
                        bt->B, bt->src_T, bt->tgt_T, m->max_B, m->max_src, m->max_tgt);
    return 0;
}

/* Row (t, b) of a [T, B, width] buffer. */
static inline size_t row(int t, int b, int B) { return (size_t)t * B + b; }

/* Input of encoder layer l: the embeddings, or the layer below's output (dropped out). */
static const real *enc_input(const model *m, int l)
{
    return l == 0 ? m->src_x : model_dropping(m) ? m->enc_in[l] : m->enc_out[l - 1];
}

static const real *dec_input(const model *m, int l)
{
    return l == 0 ? m->tgt_x : model_dropping(m) ? m->dec_in[l] : m->dec_out[l - 1];
}

/* Every dropout mask of a training step, drawn before the forward pass. */
static void make_masks(model *m, const batch *bt, const train_context *ctx)
{
    int B = bt->B, Ts = bt->src_T, Tt = bt->tgt_T, E = m->cfg.emb, H = m->cfg.hidden;
    double p = m->cfg.dropout;
    dropout_mask(m->mask_src, Ts, B, E, bt->ids, ctx->seed, ctx->step, DROP_SRC_EMBED, p);
    dropout_mask(m->mask_tgt, Tt, B, E, bt->ids, ctx->seed, ctx->step, DROP_TGT_EMBED, p);
    dropout_mask(m->mask_feat, Tt, B, m->feat, bt->ids, ctx->seed, ctx->step, DROP_FEATURES, p);
    for (int l = 1; l < m->cfg.layers; l++)
        dropout_mask(m->mask_enc[l], Ts, B, m->dirs * H, bt->ids, ctx->seed, ctx->step,
                     DROP_ENC_LAYER + l, p);
    for (int l = 1; l < m->dec_layers; l++)
        dropout_mask(m->mask_dec[l], Tt, B, H, bt->ids, ctx->seed, ctx->step,
                     DROP_DEC_LAYER + l, p);
}

static void encoder_forward(model *m, const batch *bt)
{
    int B = bt->B, T = bt->src_T, E = m->cfg.emb, H = m->cfg.hidden, D = m->dirs;
    size_t rows = (size_t)T * B;
    embedding_forward(m->src_x, bt->src, T * B, P(m, m->src_embed), E);
    if (model_dropping(m))
        dropout_apply(m->src_x, m->src_x, m->mask_src, rows * E);
    for (int l = 0; l < m->cfg.layers; l++) {
        if (l > 0 && model_dropping(m))
            dropout_apply(m->enc_in[l], m->enc_out[l - 1], m->mask_enc[l], rows * D * H);
        const real *x = enc_input(m, l);
        for (int d = 0; d < D; d++)
            rnn_layer_forward(&m->enc[l][d], &m->enc_ws[l][d], T, B, x, bt->src_len, d == 1,
                              NULL, NULL, m->enc_out[l] + d * H, D * H);
    }
}

/* Offset in enc_out[l] (and d_enc_out[l]) of direction d's final state: row T-1 for the forward
 * direction, row 0 for the reverse one, in that direction's half of each row. */
static size_t enc_final_offset(const model *m, int d, int T, int B)
{
    return row(d ? 0 : T - 1, 0, B) * m->dirs * m->cfg.hidden + (size_t)d * m->cfg.hidden;
}

/* One tanh(Linear) bridge: gathers the per-(layer, direction) final states [B, H] (row stride
 * src_ld) into in [B, L*D*H], maps them to out [B, L*H] and scatters layer l to dst + l*B*H. */
static void bridge_forward(const model *m, int B, const real *const *finals, int src_ld, real *in,
                           real *out, int w, int b, real *dst)
{
    int L = m->cfg.layers, Ld = m->dec_layers, D = m->dirs, H = m->cfg.hidden;
    int LDH = L * D * H, LH = Ld * H;
    for (int k = 0; k < L * D; k++)
        for (int s = 0; s < B; s++)
            memcpy(in + (size_t)s * LDH + k * H, finals[k] + (size_t)s * src_ld, H * sizeof(real));
    linear_forward(out, in, P(m, w), P(m, b), B, LDH, LH);
    tanh_forward(out, (long)B * LH);
    for (int l = 0; l < Ld; l++)
        for (int s = 0; s < B; s++)
            memcpy(dst + ((size_t)l * B + s) * H, out + (size_t)s * LH + l * H, H * sizeof(real));
}

/* Backward of bridge_forward: d_dst [L,B,H] -> gradients of the bridge and d_in [B, L*D*H]. */
static void bridge_backward(const model *m, int B, const real *d_dst, const real *in,
                            const real *out, real *d_out, real *d_in, int w, int b)
{
    int Ld = m->dec_layers, H = m->cfg.hidden, LDH = m->cfg.layers * m->dirs * H, LH = Ld * H;
    for (int l = 0; l < Ld; l++)
        for (int s = 0; s < B; s++)
            memcpy(d_out + (size_t)s * LH + l * H, d_dst + ((size_t)l * B + s) * H,
                   H * sizeof(real));
    tanh_backward(d_out, out, (long)B * LH);
    memset(d_in, 0, (size_t)B * LDH * sizeof(real));
    linear_backward(d_in, G(m, w), G(m, b), d_out, in, P(m, w), B, LDH, LH);
}

static void bridges_forward(model *m, int B, int T)
{
    int L = m->cfg.layers, D = m->dirs, H = m->cfg.hidden;
    const real *finals[2 * MODEL_MAX_LAYERS] = {0};
    for (int l = 0; l < L; l++)
        for (int d = 0; d < D; d++)
            finals[l * D + d] = m->enc_out[l] + enc_final_offset(m, d, T, B);
    bridge_forward(m, B, finals, D * H, m->bridge_in, m->bridge_h, m->bridge_w, m->bridge_b,
                   m->dec_h0);
    if (m->cfg.cell != CELL_LSTM)
        return;
    for (int l = 0; l < L; l++)
        for (int d = 0; d < D; d++)
            finals[l * D + d] = rnn_layer_final_c(&m->enc_ws[l][d], T, B, d == 1);
    bridge_forward(m, B, finals, H, m->bridge_c_in, m->bridge_c, m->bridge_c_w, m->bridge_c_b,
                   m->dec_c0);
}

static const real *dec_c0_of(const model *m, int l, int B)
{
    return m->dec_c0 ? m->dec_c0 + (size_t)l * B * m->cfg.hidden : NULL;
}

/* The decoder without attention, layer by layer: each layer's input projections for all steps
 * are one GEMM (rnn_layer_forward). */
static void decoder_forward_layers(model *m, const batch *bt)
{
    int B = bt->B, T = bt->tgt_T, E = m->cfg.emb, H = m->cfg.hidden;
    size_t rows = (size_t)T * B;
    embedding_forward(m->tgt_x, bt->tgt_in, T * B, P(m, m->tgt_embed), E);
    if (model_dropping(m))
        dropout_apply(m->tgt_x, m->tgt_x, m->mask_tgt, rows * E);
    for (int l = 0; l < m->dec_layers; l++) {
        if (l > 0 && model_dropping(m))
            dropout_apply(m->dec_in[l], m->dec_out[l - 1], m->mask_dec[l], rows * H);
        const real *x = dec_input(m, l);
        rnn_layer_forward(&m->dec[l], &m->dec_ws[l], T, B, x, bt->tgt_len, false,
                          m->dec_h0 + (size_t)l * B * H, dec_c0_of(m, l, B), m->dec_out[l], H);
    }
    if (model_dropping(m))
        dropout_apply(m->feat_drop, m->dec_out[m->dec_layers - 1], m->mask_feat, rows * H);
}

/* Backward of decoder_forward_layers from d_dec_out[top], top layer first; each layer's dx is
 * the gradient of the output of the layer below. */
static void decoder_backward_layers(model *m, const batch *bt)
{
    int B = bt->B, Tt = bt->tgt_T, E = m->cfg.emb, H = m->cfg.hidden;
    bool lstm = m->cfg.cell == CELL_LSTM;
    size_t rows = (size_t)Tt * B;
    bool drop = model_dropping(m);
    if (drop) /* the output layer read the dropped-out top states */
        dropout_apply(m->d_dec_out[m->dec_layers - 1], m->d_dec_out[m->dec_layers - 1],
                      m->mask_feat, rows * H);
    for (int l = m->dec_layers - 1; l >= 0; l--) {
        /* dx: straight into the gradient of the layer below, or through its dropout mask. */
        real *dx = l == 0 ? m->d_tgt_x : drop ? m->drop_scratch : m->d_dec_out[l - 1];
        memset(dx, 0, rows * (l ? H : E) * sizeof(real));
        rnn_layer_backward(&m->dec[l], &m->dec_ws[l], Tt, B, dec_input(m, l), bt->tgt_len, false,
                           m->dec_h0 + (size_t)l * B * H, dec_c0_of(m, l, B), m->dec_out[l], H,
                           m->d_dec_out[l], NULL, dx, m->d_dec_h0 + (size_t)l * B * H,
                           lstm ? m->d_dec_c0 + (size_t)l * B * H : NULL);
        if (l > 0 && drop)
            dropout_apply(m->d_dec_out[l - 1], dx, m->mask_dec[l], rows * H);
    }
    if (drop)
        dropout_apply(m->d_tgt_x, m->d_tgt_x, m->mask_tgt, rows * E);
    embedding_backward(G(m, m->tgt_embed), m->d_tgt_x, bt->tgt_in, Tt * B, E);
}

/* Rows the output layer reads: the top decoder states, or with attention the features. */
static real *features(const model *m)
{
    if (m->stepwise)
        return m->feats;
    return model_dropping(m) ? m->feat_drop : m->dec_out[m->dec_layers - 1];
}

const real *model_features(const model *m)
{
    return features(m);
}

static real *d_features(const model *m)
{
    return m->stepwise ? m->d_feats : m->d_dec_out[m->dec_layers - 1];
}

/* The whole forward pass up to the output layer's input. The decoder runs step by step with
 * attention or scheduled sampling, else layer by layer (the faster path). */
static void forward(model *m, const batch *bt, const train_context *ctx)
{
    m->stepwise = m->step_major || (m->training && train_sampling(ctx));
    encoder_forward(m, bt);
    bridges_forward(m, bt->B, bt->src_T);
    if (m->stepwise)
        decoder_forward(m, bt, ctx);
    else
        decoder_forward_layers(m, bt);
}

int model_evaluate(model *m, const batch *bt, output_stats *stats)
{
    int rc = check_batch(m, bt, true);
    if (rc < 0)
        return rc;
    m->training = false;
    forward(m, bt, NULL);
    *stats = output_loss_forward(&m->out_ws, features(m), bt->tgt_T * bt->B, bt->tgt_out,
                                 P(m, m->out_w), P(m, m->out_b), 0);
    return 0;
}

/* Checks, sets training mode and draws the dropout masks of a training pass. */
static int start_training_pass(model *m, const batch *bt, const train_context *ctx)
{
    int rc = check_batch(m, bt, true);
    if (rc < 0)
        return rc;
    if (m->cfg.dropout > 0 && !ctx)
        return s2s_fail(S2S_EINVAL, "model: dropout %g needs a training context (seed, step)",
                        m->cfg.dropout);
    m->training = true;
    if (model_dropping(m))
        make_masks(m, bt, ctx);
    return 0;
}

int model_train_loss(model *m, const batch *bt, const train_context *ctx, output_stats *stats)
{
    int rc = start_training_pass(m, bt, ctx);
    if (rc < 0)
        return rc;
    forward(m, bt, ctx);
    *stats = output_loss_forward(&m->out_ws, features(m), bt->tgt_T * bt->B, bt->tgt_out,
                                 P(m, m->out_w), P(m, m->out_b), ctx ? ctx->label_smoothing : 0);
    return 0;
}

/* Backward progress (model.grad_ready): reports that grads[k ..) are final and makes k the
 * watermark the recurrent layers in `ws[0 .. n)` poll with, one call per time step. */
static void grads_final_from(const model *m, size_t k)
{
    if (m->grad_ready)
        m->grad_ready(m->grad_ready_ctx, k);
}

static void set_layer_hooks(const model *m, rnn_layer_ws *ws, int n, size_t k)
{
    for (int i = 0; i < n; i++)
        ws[i].hook = (grad_hook){.fn = m->grad_ready, .ctx = m->grad_ready_ctx, .final_from = k};
}

/* Start of tensor i in the gradient buffer. */
static size_t grad_offset(const model *m, int i)
{
    return m->table.t[i].offset;
}

int model_forward_backward(model *m, const batch *bt, const train_context *ctx,
                           output_stats *stats)
{
    int rc = start_training_pass(m, bt, ctx);
    if (rc < 0)
        return rc;
    int B = bt->B, Ts = bt->src_T, Tt = bt->tgt_T, L = m->cfg.layers, D = m->dirs;
    int E = m->cfg.emb, H = m->cfg.hidden;
    bool lstm = m->cfg.cell == CELL_LSTM;

    double t_start = wall_seconds();
    forward(m, bt, ctx);
    m->forward_seconds = wall_seconds() - t_start;
    *stats = output_loss_forward_backward(&m->out_ws, features(m), Tt * B, bt->tgt_out,
                                          P(m, m->out_w), P(m, m->out_b),
                                          ctx ? ctx->label_smoothing : 0, d_features(m),
                                          G(m, m->out_w), G(m, m->out_b));
    /* Watermarks, from the end of the layout (model_init's table): the output layer is done
     * with out.weight and out.bias; tied, out.weight is tgt_embed, which the decoder still
     * adds to, so only out.bias. The decoder (with attention and the target embeddings) then
     * finishes everything from tgt_embed on, the bridges everything from bridge.weight on, and
     * encoder layer l (both directions) its own tensors. */
    size_t k = grad_offset(m, m->out_w == m->tgt_embed ? m->out_b : m->out_w);
    grads_final_from(m, k);
    set_layer_hooks(m, m->dec_ws, m->dec_layers, k); /* both decoders poll through these */
    if (m->stepwise) {
        if (m->d_mem)
            memset(m->d_mem, 0, (size_t)Ts * B * D * H * sizeof(real));
        decoder_backward(m, bt);
    } else {
        decoder_backward_layers(m, bt);
    }
    grads_final_from(m, k = grad_offset(m, m->tgt_embed));

    bridge_backward(m, B, m->d_dec_h0, m->bridge_in, m->bridge_h, m->d_bridge_h, m->d_bridge_in,
                    m->bridge_w, m->bridge_b);
    if (lstm)
        bridge_backward(m, B, m->d_dec_c0, m->bridge_c_in, m->bridge_c, m->d_bridge_c,
                        m->d_bridge_c_in, m->bridge_c_w, m->bridge_c_b);
    grads_final_from(m, k = grad_offset(m, m->bridge_w));

    /* The bridge's gradient enters each encoder layer at its final rows, attention's at every
     * row of the top layer; the layer above adds its dx on top. */
    int LDH = L * D * H;
    for (int l = 0; l < L; l++) {
        if (m->d_mem && l == L - 1)
            memcpy(m->d_enc_out[l], m->d_mem, (size_t)Ts * B * D * H * sizeof(real));
        else
            memset(m->d_enc_out[l], 0, (size_t)Ts * B * D * H * sizeof(real));
        for (int d = 0; d < D; d++) {
            real *dst = m->d_enc_out[l] + enc_final_offset(m, d, Ts, B);
            for (int s = 0; s < B; s++) {
                const real *g = m->d_bridge_in + (size_t)s * LDH + (l * D + d) * H;
                real *o = dst + (size_t)s * D * H;
                for (int j = 0; j < H; j++)
                    o[j] += g[j];
            }
        }
    }
    bool drop = model_dropping(m);
    size_t src_rows = (size_t)Ts * B;
    memset(m->d_src_x, 0, src_rows * E * sizeof(real));
    for (int l = L - 1; l >= 0; l--) {
        const real *x = enc_input(m, l);
        /* dx: into the gradient of the layer below, or through its dropout mask. */
        real *dx = l == 0 ? m->d_src_x : drop ? m->drop_scratch : m->d_enc_out[l - 1];
        if (l > 0 && drop)
            memset(dx, 0, src_rows * D * H * sizeof(real));
        set_layer_hooks(m, m->enc_ws[l], D, k);
        for (int d = 0; d < D; d++) {
            const real *dc_final = NULL;
            if (lstm) {
                for (int s = 0; s < B; s++)
                    memcpy(m->d_enc_c_final + (size_t)s * H,
                           m->d_bridge_c_in + (size_t)s * LDH + (l * D + d) * H,
                           H * sizeof(real));
                dc_final = m->d_enc_c_final;
            }
            rnn_layer_backward(&m->enc[l][d], &m->enc_ws[l][d], Ts, B, x, bt->src_len, d == 1,
                               NULL, NULL, m->enc_out[l] + d * H, D * H, m->d_enc_out[l] + d * H,
                               dc_final, dx, NULL, NULL);
        }
        if (l > 0 && drop)
            dropout_accumulate(m->d_enc_out[l - 1], dx, m->mask_enc[l], src_rows * D * H);
        grads_final_from(m, k = (size_t)(m->enc[l][0].dw_ih - m->grads));
    }
    if (drop)
        dropout_apply(m->d_src_x, m->d_src_x, m->mask_src, src_rows * E);
    embedding_backward(G(m, m->src_embed), m->d_src_x, bt->src, Ts * B, E);
    grads_final_from(m, 0);
    return 0;
}

int model_encode(model *m, const batch *bt)
{
    int rc = check_batch(m, bt, false);
    if (rc < 0)
        return rc;
    m->training = false;
    encoder_forward(m, bt);
    bridges_forward(m, bt->B, bt->src_T);
    return 0;
}

int model_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len)
{
    int rc = model_encode(m, bt);
    if (rc < 0)
        return rc;
    /* Step by step through the step-major decoder in every configuration: beam search steps
     * the same code, so that beam 1 reproduces greedy decoding exactly. */
    decoder_greedy(m, bt, max_len, out, out_len);
    return 0;
}

double model_forward_flops(const model_config *c, int B, int src_T, int tgt_T)
{
    double H = c->hidden, E = c->emb, L = c->layers, Ld = model_dec_layers(c);
    double D = c->bidir ? 2 : 1, DM = D * H, S = src_T, T = tgt_T;
    double GH = cell_gates(c->cell) * H;
    double f = 0;
    for (int l = 0; l < c->layers; l++) /* input and recurrent projections, every direction */
        f += D * 2.0 * B * S * GH * ((l ? DM : E) + H);
    for (int l = 0; l < (int)Ld; l++)
        f += 2.0 * B * T * GH * ((l ? H : model_dec_input_size(c)) + H);
    f += (c->cell == CELL_LSTM ? 2 : 1) * 2.0 * B * (Ld * H) * (L * DM); /* bridge(s) */
    /* Attention: keys once per batch; per step the query (Bahdanau), the scores (vᵀ tanh(.) or
     * s·K: one product of length A or H per position), the context and Luong's combination. */
    if (c->attn == ATTN_BAHDANAU)
        f += 2.0 * B * S * DM * H + 2.0 * B * T * H * H + 2.0 * B * T * S * H;
    if (c->attn == ATTN_GENERAL)
        f += 2.0 * B * S * DM * H + 2.0 * B * T * S * H;
    if (c->attn == ATTN_DOT)
        f += 2.0 * B * T * S * DM;
    if (c->attn != ATTN_NONE)
        f += 2.0 * B * T * S * DM;
    if (c->attn == ATTN_DOT || c->attn == ATTN_GENERAL)
        f += 2.0 * B * T * (DM + H) * H;
    f += 2.0 * B * T * c->tgt_vocab * model_feature_size(c); /* output layer */
    return f;
}
