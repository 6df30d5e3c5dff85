/* rnn.h - recurrent cells (vanilla tanh RNN, GRU, LSTM) and one recurrent layer over time.
 *
 * Conventions (PyTorch's nn.RNN / nn.GRU / nn.LSTM, see docs/model.md):
 *   G gates per cell: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o); weight_ih [G*H, in],
 *   weight_hh [G*H, H], bias_ih [G*H], bias_hh [G*H].
 *   RNN : h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
 *   GRU : r = s(xw_r + hw_r), z = s(xw_z + hw_z), n = tanh(xw_n + r * hw_n), h' = (1-z) n + z h
 *         where xw = W_ih x + b_ih and hw = W_hh h + b_hh
 *   LSTM: i,f,o = s(.), g = tanh(.), c' = f c + i g, h' = o tanh(c')
 * Batches are time-major: row t*B + b of a [T, B, .] buffer is sentence b at time t.
 * Padding: a row whose step is not active (t >= lens[b]) carries its state unchanged, so a
 * forward-direction layer ends at each sentence's own last token and a reverse-direction layer
 * starts there. Padding never changes outputs or gradients of real positions.
 *
 * Speed: the input projections of all T steps are one GEMM before the recurrence; each step is
 * one GEMM [B, H] x [H, G*H] plus one fused element-wise loop; in backward, the weight gradients
 * are one GEMM per weight over all steps. No allocation after rnn_layer_ws_init. */
#ifndef S2S_RNN_H
#define S2S_RNN_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/choice.h"
#include "s2s/real.h"

/* The cells (include/s2s/choice.h); a new one also needs its step in rnn.c and its gate count. */
#define CELL_CHOICES(X) X(CELL_RNN, "rnn") X(CELL_GRU, "gru") X(CELL_LSTM, "lstm")
typedef enum { CELL_CHOICES(CHOICE_ENUM) CELL_COUNT } cell_type;
extern const char *const cell_names[]; /* NULL-terminated, indexed by cell_type */

#define RNN_MAX_HIDDEN 65536 /* largest hidden size */

int cell_gates(cell_type cell);               /* G */
int cell_cache_width(cell_type cell, int H);  /* floats cached per batch row per step */
const char *cell_name(cell_type cell);        /* "rnn", "gru", "lstm" */
int cell_parse(const char *name, cell_type *out); /* 0, or S2S_EINVAL with a message */

/* Weights of one layer and direction: pointers into the parameter buffer, and the gradients at
 * the same offsets in the gradient buffer (accumulated into, never overwritten). */
typedef struct {
    cell_type cell;
    int in, hidden;
    const real *w_ih, *w_hh, *b_ih, *b_hh;
    real *dw_ih, *dw_hh, *db_ih, *db_hh;
} rnn_weights;

/* ---- one step, whole batch ------------------------------------------------------------------
 * xw      [B, G*H]  W_ih x_t + b_ih (computed beforehand, for all steps at once)
 * h_prev  [B, H] row stride ld_hp, or NULL for a zero state (the recurrent GEMM is skipped)
 * c_prev  [B, H] contiguous (LSTM; NULL = zeros), else ignored
 * active  [B] or NULL (all active): inactive rows copy h_prev (and c_prev) to h (and c)
 * h       [B, H] row stride ld_h (output); c [B, H] (LSTM output)
 * cache   [B, cell_cache_width] what backward needs; hw [B, G*H] scratch (W_hh h_prev + b_hh) */
void cell_step_forward(const rnn_weights *w, int B, const real *xw, const real *h_prev, int ld_hp,
                       const real *c_prev, const unsigned char *active, real *h, int ld_h,
                       real *c, real *cache, real *hw);

/* Backward of one step.
 * dh      [B, H] contiguous: total gradient w.r.t. h_t;  dc [B, H] w.r.t. c_t (LSTM; NULL = 0)
 * dxw     [B, G*H] out: gradient w.r.t. xw (zero on inactive rows)
 * dhw     [B, G*H] out: gradient w.r.t. hw = W_hh h_prev + b_hh (equals dxw except GRU's n block)
 * dh_prev [B, H] out (overwritten): dhw W_hh, plus dh itself on inactive rows
 * dc_prev [B, H] out (LSTM, required): f * dc_total, or dc on inactive rows
 * h_prev, c_prev, dc may be NULL for zeros; dh_prev may be NULL when not needed (no GEMM).
 * Weight gradients are not touched: the layer accumulates them over all steps in single GEMMs.
 * dh_prev must not alias dh, nor dc_prev dc. */
void cell_step_backward(const rnn_weights *w, int B, const real *cache, const real *h_prev,
                        int ld_hp, const real *c_prev, const unsigned char *active,
                        const real *dh, const real *dc, real *dxw, real *dhw, real *dh_prev,
                        real *dc_prev);

/* ---- backward progress ----------------------------------------------------------------------
 * The model's report to data-parallel communication (model.grad_ready, include/s2s/comm.h):
 * fn(ctx, final_from) says that every gradient at index >= final_from of the model's gradient
 * buffer is final for this pass. The recurrent backward calls it once per time step with the
 * final_from its caller set, which starts nothing new but lets the callee poll messages in
 * flight. fn NULL: no calls (the default of a zeroed struct). */
typedef struct {
    void (*fn)(void *ctx, size_t final_from);
    void *ctx;
    size_t final_from;
} grad_hook;

static inline void grad_hook_poll(const grad_hook *h)
{
    if (h->fn)
        h->fn(h->ctx, h->final_from);
}

/* ---- one layer, one direction, over time ----------------------------------------------------
 * Workspace sized for at most max_T steps of max_B rows; allocated once. */
typedef struct {
    cell_type cell;
    int in, hidden, max_T, max_B;
    real *xw;      /* [T, B, G*H] input projections */
    real *hw;      /* [B, G*H] recurrent projection scratch */
    real *cache;   /* [T, B, cache_width] */
    real *c;       /* [T, B, H] cell states (LSTM), else NULL */
    real *dxw;     /* [T, B, G*H] */
    real *dhw;     /* [T, B, G*H] */
    real *dh;      /* [B, H] running gradient w.r.t. the state */
    real *dh_prev; /* [B, H] */
    real *dc;      /* [B, H] (LSTM) running gradient w.r.t. the cell state */
    real *dc_prev; /* [B, H] (LSTM) */
    unsigned char *active; /* [T, B] */
    grad_hook hook;        /* polled once per step of rnn_layer_backward; set by the owner */
} rnn_layer_ws;

int rnn_layer_ws_init(rnn_layer_ws *ws, cell_type cell, int in, int hidden, int max_T, int max_B);
void rnn_layer_ws_free(rnn_layer_ws *ws); /* safe on a zeroed or half-built ws */

/* After a backward step wrote ws->dh_prev (and dc_prev), makes them the running gradients
 * (ws->dh, ws->dc) for the step before. */
void rnn_layer_ws_step_back(rnn_layer_ws *ws);

/* x    [T, B, in] contiguous; lens [B] real lengths (1..T)
 * h0   [B, H] or NULL (zeros); c0 [B, H] or NULL (LSTM)
 * out  h_t of row (t, b) at out[(t*B + b) * ldo + j], j < H (so two directions can write the
 *      two halves of one [T, B, 2H] buffer). The final state is row t = T-1 for the forward
 *      direction and t = 0 for the reverse one (carried over padding); for LSTM the final cell
 *      state is rnn_layer_final_c(). */
void rnn_layer_forward(const rnn_weights *w, rnn_layer_ws *ws, int T, int B, const real *x,
                       const int *lens, bool reverse, const real *h0, const real *c0, real *out,
                       int ldo);

const real *rnn_layer_final_c(const rnn_layer_ws *ws, int T, int B, bool reverse);

/* dout     [T, B, .] row stride ldo: gradient w.r.t. out (includes the final state's gradient)
 * dc_final [B, H] or NULL: gradient w.r.t. the final cell state (LSTM)
 * dx       [T, B, in] or NULL: accumulated (+=)
 * dh0, dc0 [B, H] or NULL: written (overwritten)
 * Weight gradients accumulated into w->dw_ih, dw_hh, db_ih, db_hh.
 * Must follow rnn_layer_forward with the same arguments (it reads ws->cache, ws->c, ws->xw). */
void rnn_layer_backward(const rnn_weights *w, rnn_layer_ws *ws, int T, int B, const real *x,
                        const int *lens, bool reverse, const real *h0, const real *c0,
                        const real *out, int ldo, const real *dout, const real *dc_final,
                        real *dx, real *dh0, real *dc0);

/* The weight-gradient part of rnn_layer_backward, for callers that run the steps themselves (the
 * step-major decoder): from the per-step gradients dxw, dhw [T, B, G*H] of a layer with inputs
 * x [T, B, in], initial state h0 (NULL = zeros) and outputs out (row stride ldo):
 * dW_ih += dxw^T x, db_ih += colsum(dxw), dW_hh += sum_t dhw_t^T h_prev_t, db_hh += colsum(dhw),
 * and dx += dxw W_ih when dx is not NULL. */
void rnn_weight_grads(const rnn_weights *w, int T, int B, const real *x, const real *dxw,
                      const real *dhw, bool reverse, const real *h0, const real *out, int ldo,
                      real *dx);

#endif
