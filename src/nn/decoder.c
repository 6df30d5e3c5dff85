/* decoder.c - the step-major decoder with attention: forward, backward, and the stepping that
 * greedy decoding and beam search share.
 *
 * Per step t (B sentences, L layers, memory M = top encoder output):
 *   Bahdanau: q_t = W_q s_{t-1}; alpha_t, c_t = attend(q_t); x_t = [e_t ; c_t]
 *   Luong:    x_t = [e_t ; h~_{t-1}] with input feeding, else e_t
 *   layers:   h^0_t = cell(x_t, h^0_{t-1}), h^l_t = cell(h^{l-1}_t, h^l_{t-1}); s_t = h^{L-1}_t
 *   Luong:    alpha_t, c_t = attend(s_t); h~_t = tanh(W_c [c_t ; s_t])
 *   features: Bahdanau [s_t ; c_t ; e_t], Luong h~_t -> the output layer (src/nn/output.c)
 * Every quantity is kept per step in time-major buffers, so that backward can run the steps in
 * reverse and then form every weight gradient with one GEMM over all steps. */
#include "s2s/decoder.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/dropout.h"
#include "s2s/layers.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/tokens.h"

static real *P(const model *m, int i) { return m->params + m->table.t[i].offset; }
static real *G(const model *m, int i) { return m->grads + m->table.t[i].offset; }

/* Widths of the per-step quantities. */
typedef struct {
    int B, S, H, E, DM, KW, in0, extra, F, L, GH, CW;
    bool bahdanau, luong, lstm;
} dims;

static dims dims_of(const model *m, int B, int S)
{
    const model_config *c = &m->cfg;
    dims d;
    d.B = B;
    d.S = S;
    d.H = c->hidden;
    d.E = c->emb;
    d.DM = m->dirs * c->hidden;
    d.bahdanau = c->attn == ATTN_BAHDANAU;
    d.luong = c->attn == ATTN_DOT || c->attn == ATTN_GENERAL;
    d.KW = c->attn == ATTN_DOT ? d.DM : d.H;
    d.in0 = model_dec_input_size(c);
    d.extra = d.in0 - d.E;
    d.F = m->feat;
    d.L = m->dec_layers;
    d.GH = cell_gates(c->cell) * d.H;
    d.CW = cell_cache_width(c->cell, d.H);
    d.lstm = c->cell == CELL_LSTM;
    return d;
}

int decoder_init(model *m)
{
    const dims d = dims_of(m, m->max_B, m->max_src);
    size_t tgt_rows = (size_t)m->max_tgt * m->max_B, src_rows = (size_t)m->max_src * m->max_B;
    size_t B = (size_t)m->max_B, S = (size_t)m->max_src;
    int ok = 1;
#define ALLOC(ptr, n)                                                                              \
    do {                                                                                           \
        size_t count_ = (n);                                                                       \
        ptr = calloc(count_ ? count_ : 1, sizeof(real));                                           \
        ok = ok && ptr;                                                                            \
    } while (0)
    ALLOC(m->dec_x0, tgt_rows * d.in0);
    ALLOC(m->feats, tgt_rows * d.F);
    ALLOC(m->d_feats, tgt_rows * d.F);
    ALLOC(m->d_extra, B * (d.extra > 0 ? d.extra : 1));
    m->dec_ids = calloc(tgt_rows, sizeof(int));
    m->pred_ids = calloc(B, sizeof(int));
    ok = ok && m->dec_ids && m->pred_ids;
    if (m->cfg.attn != ATTN_NONE) {
        ALLOC(m->d_mem, src_rows * d.DM);
        ALLOC(m->att_alpha, tgt_rows * S);
        ALLOC(m->att_ctx, tgt_rows * d.DM);
        ALLOC(m->att_q_all, tgt_rows * d.KW);
        ALLOC(m->d_att_q, tgt_rows * d.KW);
        ALLOC(m->d_ctx, B * d.DM);
        ALLOC(m->d_s_q, B * d.H);
        ALLOC(m->att_scratch, B * S);
    }
    if (d.bahdanau || m->cfg.attn == ATTN_GENERAL) {
        ALLOC(m->att_keys, src_rows * d.KW);
        ALLOC(m->d_att_keys, src_rows * d.KW);
    }
    if (d.bahdanau)
        ALLOC(m->att_th, tgt_rows * S * d.KW);
    if (d.luong) {
        ALLOC(m->att_cs, tgt_rows * (d.DM + d.H));
        ALLOC(m->att_htil, tgt_rows * d.H);
        ALLOC(m->att_dpre, tgt_rows * d.H);
        ALLOC(m->d_cs, B * (d.DM + d.H));
    }
#undef ALLOC
    if (!ok)
        return s2s_fail(S2S_ENOMEM, "decoder: cannot allocate attention buffers for %d x %d/%d",
                        m->max_B, m->max_src, m->max_tgt);
    return 0;
}

void decoder_free(model *m)
{
    real *bufs[] = {m->dec_x0, m->d_mem, m->att_alpha, m->att_ctx, m->att_q_all, m->d_att_q,
                    m->feats, m->d_feats, m->d_ctx, m->d_extra, m->d_s_q, m->att_scratch,
                    m->att_keys, m->d_att_keys, m->att_th, m->att_cs, m->att_htil, m->att_dpre,
                    m->d_cs};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(m->dec_ids);
    free(m->pred_ids);
}

/* The memory and its keys (one GEMM over all source rows; dot attention uses M itself). */
static attn_memory attend_setup(model *m, const batch *bt, const dims *d)
{
    attn_memory mem = {.kind = m->cfg.attn, .S = d->S, .B = d->B, .DM = d->DM, .KW = d->KW,
                       .M = m->enc_out[m->cfg.layers - 1], .lens = bt->src_len};
    if (d->bahdanau) {
        linear_forward(m->att_keys, mem.M, P(m, m->att_k), P(m, m->att_kb), d->S * d->B, d->DM,
                       d->KW);
        mem.v = P(m, m->att_v);
    } else if (m->cfg.attn == ATTN_GENERAL) {
        linear_forward(m->att_keys, mem.M, P(m, m->att_w), NULL, d->S * d->B, d->DM, d->KW);
    }
    mem.K = m->cfg.attn == ATTN_DOT ? mem.M : m->att_keys; /* NULL without attention */
    return mem;
}

/* State of layer l before the step writing slot `cur`: the initial state, or slot `prev`. */
static const real *h_before(const model *m, const dims *d, int l, int prev)
{
    return prev < 0 ? m->dec_h0 + (size_t)l * d->B * d->H
                    : m->dec_out[l] + (size_t)prev * d->B * d->H;
}

static const real *c_before(const model *m, const dims *d, int l, int prev)
{
    if (!d->lstm)
        return NULL;
    return prev < 0 ? m->dec_c0 + (size_t)l * d->B * d->H
                    : m->dec_ws[l].c + (size_t)prev * d->B * d->H;
}

/* One decoder step into slot `cur` (previous slot `prev`, -1 at the start). Layer 0's input
 * embeddings must already be in dec_x0[cur][:, :E]; if emb_projected, its xw slot already holds
 * W_ih[:, :E] e_t + b_ih (the training path batches that over all steps). */
static void step_forward(model *m, const attn_memory *mem, const dims *d, int cur, int prev,
                         const unsigned char *active, bool emb_projected)
{
    const int B = d->B, H = d->H, E = d->E, in0 = d->in0, GH = d->GH;
    const size_t rc = (size_t)cur * B;
    real *x0 = m->dec_x0 + rc * in0;
    real *alpha = m->att_alpha + rc * d->S, *ctx = m->att_ctx + rc * d->DM;

    if (d->bahdanau) {
        real *q = m->att_q_all + rc * d->KW;
        gemm(false, true, B, d->KW, H, 1, h_before(m, d, d->L - 1, prev), H, P(m, m->att_q), H, 0,
             q, d->KW);
        attn_step_forward(mem, q, alpha, ctx, m->att_th + rc * d->S * d->KW);
        for (int b = 0; b < B; b++)
            memcpy(x0 + (size_t)b * in0 + E, ctx + (size_t)b * d->DM, d->DM * sizeof(real));
    } else if (d->extra > 0) { /* input feeding */
        for (int b = 0; b < B; b++) {
            real *dst = x0 + (size_t)b * in0 + E;
            if (prev < 0)
                memset(dst, 0, H * sizeof(real));
            else
                memcpy(dst, m->att_htil + ((size_t)prev * B + b) * H, H * sizeof(real));
        }
    }

    for (int l = 0; l < d->L; l++) {
        const rnn_weights *w = &m->dec[l];
        rnn_layer_ws *ws = &m->dec_ws[l];
        real *xw = ws->xw + rc * GH;
        if (l == 0) {
            if (!emb_projected) {
                fill_rows(xw, w->b_ih, B, GH);
                gemm(false, true, B, GH, E, 1, x0, in0, w->w_ih, in0, 1, xw, GH);
            }
            if (d->extra > 0)
                gemm(false, true, B, GH, d->extra, 1, x0 + E, in0, w->w_ih + E, in0, 1, xw, GH);
        } else {
            const real *in = m->dec_out[l - 1] + rc * H;
            if (model_dropping(m)) {
                dropout_apply(m->dec_in[l] + rc * H, in, m->mask_dec[l] + rc * H, (size_t)B * H);
                in = m->dec_in[l] + rc * H;
            }
            linear_forward(xw, in, w->w_ih, w->b_ih, B, H, GH);
        }
        cell_step_forward(w, B, xw, h_before(m, d, l, prev), H, c_before(m, d, l, prev), active,
                          m->dec_out[l] + rc * H, H, d->lstm ? ws->c + rc * H : NULL,
                          ws->cache + rc * d->CW, ws->hw);
    }

    const real *s = m->dec_out[d->L - 1] + rc * H;
    real *feat = m->feats + rc * d->F;
    if (d->luong) {
        attn_step_forward(mem, s, alpha, ctx, NULL);
        real *cs = m->att_cs + rc * (d->DM + H), *htil = m->att_htil + rc * H;
        for (int b = 0; b < B; b++) {
            memcpy(cs + (size_t)b * (d->DM + H), ctx + (size_t)b * d->DM, d->DM * sizeof(real));
            memcpy(cs + (size_t)b * (d->DM + H) + d->DM, s + (size_t)b * H, H * sizeof(real));
        }
        linear_forward(htil, cs, P(m, m->att_c), NULL, B, d->DM + H, H);
        tanh_forward(htil, (long)B * H);
        memcpy(feat, htil, (size_t)B * H * sizeof(real));
    } else if (!d->bahdanau) { /* no attention: the top state */
        memcpy(feat, s, (size_t)B * H * sizeof(real));
    } else { /* Bahdanau: [s_t ; c_t ; e_t] */
        for (int b = 0; b < B; b++) {
            real *f = feat + (size_t)b * d->F;
            memcpy(f, s + (size_t)b * H, H * sizeof(real));
            memcpy(f + H, ctx + (size_t)b * d->DM, d->DM * sizeof(real));
            memcpy(f + H + d->DM, x0 + (size_t)b * in0, E * sizeof(real));
        }
    }
    if (model_dropping(m))
        dropout_apply(feat, feat, m->mask_feat + rc * d->F, (size_t)B * d->F);
}

/* Embeds the decoder inputs of step t (ids [B]) into tgt_x, drops them out, and copies them
 * into layer 0's input rows. */
static void embed_step(model *m, const dims *d, int t, const int *ids)
{
    const size_t rc = (size_t)t * d->B;
    real *e = m->tgt_x + rc * d->E;
    embedding_forward(e, ids, d->B, P(m, m->tgt_embed), d->E);
    if (model_dropping(m))
        dropout_apply(e, e, m->mask_tgt + rc * d->E, (size_t)d->B * d->E);
    for (int b = 0; b < d->B; b++)
        memcpy(m->dec_x0 + (rc + b) * d->in0, e + (size_t)b * d->E, d->E * sizeof(real));
}

void decoder_forward(model *m, const batch *bt, const train_context *ctx)
{
    const dims d = dims_of(m, bt->B, bt->src_T);
    const int B = d.B, T = bt->tgt_T, in0 = d.in0;
    attn_memory mem = attend_setup(m, bt, &d);
    unsigned char *active = m->dec_ws[0].active;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            active[(size_t)t * B + b] = t < bt->tgt_len[b];

    if (!(m->training && train_sampling(ctx))) {
        /* Teacher forcing: every input is known, so W_ih[:, :E] e + b_ih is one GEMM. */
        memcpy(m->dec_ids, bt->tgt_in, (size_t)T * B * sizeof(int));
        for (int t = 0; t < T; t++)
            embed_step(m, &d, t, bt->tgt_in + (size_t)t * B);
        const rnn_weights *w0 = &m->dec[0];
        fill_rows(m->dec_ws[0].xw, w0->b_ih, T * B, d.GH);
        gemm(false, true, T * B, d.GH, d.E, 1, m->dec_x0, in0, w0->w_ih, in0, 1,
             m->dec_ws[0].xw, d.GH);
        for (int t = 0; t < T; t++)
            step_forward(m, &mem, &d, t, t - 1, active + (size_t)t * B, true);
        return;
    }
    /* Scheduled sampling: step t's input is decided by a coin and step t-1's argmax. */
    for (int t = 0; t < T; t++) {
        int *ids = m->dec_ids + (size_t)t * B;
        const int *gold = bt->tgt_in + (size_t)t * B;
        if (t > 0)
            output_argmax(&m->out_ws, m->feats + (size_t)(t - 1) * B * d.F, B, P(m, m->out_w),
                          P(m, m->out_b), m->pred_ids, NULL);
        for (int b = 0; b < B; b++) {
            ids[b] = gold[b];
            if (t == 0 || t >= bt->tgt_len[b])
                continue; /* <s>, and padding, are always the gold token */
            rng_stream coin;
            rng_stream_init(&coin, ctx->seed, RNG_SAMPLING, ctx->step, bt->ids[b], (uint32_t)t);
            if (rng_uniform(&coin) < ctx->sampling)
                ids[b] = m->pred_ids[b];
        }
        embed_step(m, &d, t, ids);
        step_forward(m, &mem, &d, t, t - 1, active + (size_t)t * B, false);
    }
}

void decoder_backward(model *m, const batch *bt)
{
    const dims d = dims_of(m, bt->B, bt->src_T);
    const int B = d.B, T = bt->tgt_T, H = d.H, E = d.E, in0 = d.in0, GH = d.GH, L = d.L;
    const size_t BH = (size_t)B * H;
    attn_memory mem = attend_setup(m, bt, &d);
    const unsigned char *active = m->dec_ws[0].active;
    real *dK = m->cfg.attn == ATTN_DOT ? m->d_mem : m->d_att_keys;

    for (int l = 0; l < L; l++) {
        memset(m->dec_ws[l].dh, 0, BH * sizeof(real));
        if (d.lstm)
            memset(m->dec_ws[l].dc, 0, BH * sizeof(real));
    }
    memset(m->d_tgt_x, 0, (size_t)T * B * E * sizeof(real));
    if (m->d_s_q)
        memset(m->d_s_q, 0, BH * sizeof(real));
    if (m->d_att_keys)
        memset(m->d_att_keys, 0, (size_t)d.S * B * d.KW * sizeof(real));
    if (d.extra > 0)
        memset(m->d_extra, 0, (size_t)B * d.extra * sizeof(real));
    const bool drop = model_dropping(m);
    if (drop) /* the output layer read dropped-out features */
        dropout_apply(m->d_feats, m->d_feats, m->mask_feat, (size_t)T * B * d.F);

    for (int t = T - 1; t >= 0; t--) {
        const size_t rc = (size_t)t * B;
        const real *dfeat = m->d_feats + rc * d.F;
        const real *s = m->dec_out[L - 1] + rc * H;
        real *dtop = m->dec_ws[L - 1].dh; /* gradient w.r.t. s_t, from step t+1 so far */

        if (d.luong) {
            /* h~_t = tanh(W_c [c_t ; s_t]); its gradient: the output layer's plus, with input
             * feeding, what step t+1 sent back through its input (kept in d_extra). */
            real *dpre = m->att_dpre + rc * H;
            const real *htil = m->att_htil + rc * H;
            for (size_t k = 0; k < BH; k++) {
                real g = dfeat[k] + (d.extra > 0 ? m->d_extra[k] : 0);
                dpre[k] = g * (1 - htil[k] * htil[k]);
            }
            gemm(false, false, B, d.DM + H, H, 1, dpre, H, P(m, m->att_c), d.DM + H, 0, m->d_cs,
                 d.DM + H);
            for (int b = 0; b < B; b++) {
                memcpy(m->d_ctx + (size_t)b * d.DM, m->d_cs + (size_t)b * (d.DM + H),
                       d.DM * sizeof(real));
                const real *g = m->d_cs + (size_t)b * (d.DM + H) + d.DM;
                for (int j = 0; j < H; j++)
                    dtop[(size_t)b * H + j] += g[j];
            }
            attn_step_backward(&mem, s, m->att_alpha + rc * d.S, NULL, m->d_ctx,
                               m->d_att_q + rc * d.KW, dK, m->d_mem, NULL, m->att_scratch);
            const real *dq = m->d_att_q + rc * d.KW;
            for (size_t k = 0; k < BH; k++)
                dtop[k] += dq[k];
        } else if (!d.bahdanau) { /* no attention: the features are s_t */
            for (size_t k = 0; k < BH; k++)
                dtop[k] += dfeat[k];
        } else { /* Bahdanau: features [s_t ; c_t ; e_t] */
            for (int b = 0; b < B; b++) {
                const real *f = dfeat + (size_t)b * d.F;
                real *g = dtop + (size_t)b * H;
                for (int j = 0; j < H; j++)
                    g[j] += f[j] + m->d_s_q[(size_t)b * H + j];
                memcpy(m->d_ctx + (size_t)b * d.DM, f + H, d.DM * sizeof(real));
                memcpy(m->d_tgt_x + (rc + b) * E, f + H + d.DM, E * sizeof(real));
            }
        }

        for (int l = L - 1; l >= 0; l--) {
            const rnn_weights *w = &m->dec[l];
            rnn_layer_ws *ws = &m->dec_ws[l];
            real *dxw = ws->dxw + rc * GH;
            cell_step_backward(w, B, ws->cache + rc * d.CW, h_before(m, &d, l, t - 1), H,
                               c_before(m, &d, l, t - 1), active + rc, ws->dh,
                               d.lstm ? ws->dc : NULL, dxw, ws->dhw + rc * GH, ws->dh_prev,
                               ws->dc_prev);
            rnn_layer_ws_step_back(ws);
            if (l > 0 && drop) { /* the layer below's output, dropped out, fed this layer */
                gemm(false, false, B, H, GH, 1, dxw, GH, w->w_ih, H, 0, m->drop_scratch, H);
                dropout_accumulate(m->dec_ws[l - 1].dh, m->drop_scratch,
                                   m->mask_dec[l] + rc * H, BH);
            } else if (l > 0) {
                gemm(false, false, B, H, GH, 1, dxw, GH, w->w_ih, H, 1, m->dec_ws[l - 1].dh, H);
            }
            else if (d.extra > 0)
                gemm(false, false, B, d.extra, GH, 1, dxw, GH, w->w_ih + E, in0, 0, m->d_extra,
                     d.extra);
        }

        if (d.bahdanau) {
            /* c_t entered both the features and layer 0's input; it came from q_t = W_q s_{t-1},
             * whose gradient goes to the previous step's top state. */
            for (size_t k = 0; k < (size_t)B * d.DM; k++)
                m->d_ctx[k] += m->d_extra[k];
            real *dq = m->d_att_q + rc * d.KW;
            attn_step_backward(&mem, m->att_q_all + rc * d.KW, m->att_alpha + rc * d.S,
                               m->att_th + rc * d.S * d.KW, m->d_ctx, dq, dK, m->d_mem,
                               G(m, m->att_v), m->att_scratch);
            gemm(false, false, B, H, d.KW, 1, dq, d.KW, P(m, m->att_q), H, 0, m->d_s_q, H);
        }
        /* One poll of the data-parallel communication per step (the model set the hook and
         * its watermark in the decoder layers' workspaces before this pass). */
        grad_hook_poll(&m->dec_ws[0].hook);
    }

    /* What reached the initial states goes to the bridge. */
    for (int l = 0; l < L; l++) {
        real *dh0 = m->d_dec_h0 + (size_t)l * BH;
        memcpy(dh0, m->dec_ws[l].dh, BH * sizeof(real));
        if (d.bahdanau && l == L - 1)
            for (size_t k = 0; k < BH; k++)
                dh0[k] += m->d_s_q[k];
        if (d.lstm)
            memcpy(m->d_dec_c0 + (size_t)l * BH, m->dec_ws[l].dc, BH * sizeof(real));
    }

    /* Weight gradients, one GEMM per weight over all steps. */
    for (int l = 0; l < L; l++) {
        const real *x = l == 0 ? m->dec_x0 : drop ? m->dec_in[l] : m->dec_out[l - 1];
        rnn_weight_grads(&m->dec[l], T, B, x, m->dec_ws[l].dxw, m->dec_ws[l].dhw, false,
                         m->dec_h0 + (size_t)l * BH, m->dec_out[l], H, NULL);
    }
    /* Target embeddings: layer 0's input gradient restricted to its first E columns. */
    gemm(false, false, T * B, E, GH, 1, m->dec_ws[0].dxw, GH, m->dec[0].w_ih, in0, 1, m->d_tgt_x,
         E);
    if (drop)
        dropout_apply(m->d_tgt_x, m->d_tgt_x, m->mask_tgt, (size_t)T * B * E);
    embedding_backward(G(m, m->tgt_embed), m->d_tgt_x, m->dec_ids, T * B, E);

    const real *M = mem.M;
    if (d.bahdanau) {
        /* dW_q += sum_t dq_t^T s_{t-1}: s_{-1} is the initial top state, s_0..s_{T-2} are
         * contiguous in dec_out. */
        real *dWq = G(m, m->att_q);
        gemm(true, false, d.KW, H, B, 1, m->d_att_q, d.KW, m->dec_h0 + (size_t)(L - 1) * BH, H, 1,
             dWq, H);
        if (T > 1)
            gemm(true, false, d.KW, H, (T - 1) * B, 1, m->d_att_q + (size_t)B * d.KW, d.KW,
                 m->dec_out[L - 1], H, 1, dWq, H);
        linear_backward(m->d_mem, G(m, m->att_k), G(m, m->att_kb), m->d_att_keys, M,
                        P(m, m->att_k), d.S * B, d.DM, d.KW);
    } else if (d.luong) {
        if (m->cfg.attn == ATTN_GENERAL)
            linear_backward(m->d_mem, G(m, m->att_w), NULL, m->d_att_keys, M, P(m, m->att_w),
                            d.S * B, d.DM, d.KW);
        gemm(true, false, H, d.DM + H, T * B, 1, m->att_dpre, H, m->att_cs, d.DM + H, 1,
             G(m, m->att_c), d.DM + H);
    }
}

attn_memory decoder_memory(model *m, const batch *bt)
{
    const dims d = dims_of(m, bt->B, bt->src_T);
    return attend_setup(m, bt, &d);
}

void decoder_step(model *m, const attn_memory *mem, int rows, const int *ids, int cur, int prev)
{
    const dims d = dims_of(m, rows, mem->S);
    embed_step(m, &d, cur, ids);
    step_forward(m, mem, &d, cur, prev, NULL, false);
}

void decoder_state_expand(model *m, int B, int rows, int slot, const int *sent)
{
    const dims d = dims_of(m, rows, 0);
    const size_t H = (size_t)d.H, sz = H * sizeof(real);
    for (int l = 0; l < d.L; l++) {
        real *h = m->dec_out[l] + (size_t)slot * rows * H, *c = NULL;
        const real *h0 = m->dec_h0 + (size_t)l * B * H, *c0 = NULL;
        if (d.lstm) {
            c = m->dec_ws[l].c + (size_t)slot * rows * H;
            c0 = m->dec_c0 + (size_t)l * B * H;
        }
        for (int r = 0; r < rows; r++) {
            memcpy(h + r * H, h0 + sent[r] * H, sz);
            if (c)
                memcpy(c + r * H, c0 + sent[r] * H, sz);
        }
    }
    if (d.luong && d.extra > 0) /* input feeding starts from h~_{-1} = 0 */
        memset(m->att_htil + (size_t)slot * rows * H, 0, rows * sz);
}

void decoder_state_gather(model *m, int rows, int from, int to, const int *src)
{
    const dims d = dims_of(m, rows, 0);
    const size_t H = (size_t)d.H, sz = H * sizeof(real);
    const size_t f = (size_t)from * rows * H, o = (size_t)to * rows * H;
    for (int l = 0; l < d.L; l++)
        for (int r = 0; r < rows; r++) {
            if (src[r] < 0)
                continue;
            memcpy(m->dec_out[l] + o + r * H, m->dec_out[l] + f + src[r] * H, sz);
            if (d.lstm)
                memcpy(m->dec_ws[l].c + o + r * H, m->dec_ws[l].c + f + src[r] * H, sz);
        }
    if (d.luong && d.extra > 0)
        for (int r = 0; r < rows; r++)
            if (src[r] >= 0)
                memcpy(m->att_htil + o + r * H, m->att_htil + f + src[r] * H, sz);
}

/* Greedy-decoding bookkeeping: greedy_start sets every input to <s> and every length to "open";
 * greedy_record stores step t's choices, a sentence ending at its first </s>, and returns how
 * many ended; greedy_finish gives open sentences length max_len. */
static void greedy_start(int *ids, int *out_len, int B)
{
    for (int b = 0; b < B; b++) {
        ids[b] = TOK_BOS;
        out_len[b] = -1;
    }
}

static int greedy_record(const int *ids, int B, int t, int max_len, int *out, int *out_len)
{
    int ended = 0;
    for (int b = 0; b < B; b++) {
        if (out_len[b] >= 0)
            continue;
        if (ids[b] == TOK_EOS) {
            out_len[b] = t;
            ended++;
        } else {
            out[(size_t)b * max_len + t] = ids[b];
        }
    }
    return ended;
}

static void greedy_finish(int *out_len, int B, int max_len)
{
    for (int b = 0; b < B; b++)
        if (out_len[b] < 0)
            out_len[b] = max_len;
}

void decoder_greedy(model *m, const batch *bt, int max_len, int *out, int *out_len)
{
    const int B = bt->B;
    const attn_memory mem = decoder_memory(m, bt);
    int *ids = m->gd_ids, open = B;
    greedy_start(ids, out_len, B);
    /* Two slots: step t writes slot t % 2 and reads the other (the initial states at t = 0). */
    for (int t = 0; t < max_len && open > 0; t++) {
        int cur = t % 2, prev = t == 0 ? -1 : (t - 1) % 2;
        decoder_step(m, &mem, B, ids, cur, prev);
        output_topk(&m->out_ws, m->feats + (size_t)cur * B * m->feat, B, P(m, m->out_w),
                    P(m, m->out_b), 1, ids, NULL);
        open -= greedy_record(ids, B, t, max_len, out, out_len);
    }
    greedy_finish(out_len, B, max_len);
}
