/* rnn.c - recurrent cells (tanh RNN, GRU, LSTM): one step and one layer over time, forward and
 * backward. The math and the buffer contracts are in include/s2s/rnn.h. */
#include "s2s/rnn.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/layers.h"
#include "s2s/status.h"
#include "s2s/vmath.h"

static const char *const cell_names[] = {"rnn", "gru", "lstm"};

int cell_gates(cell_type cell)
{
    return cell == CELL_GRU ? 3 : cell == CELL_LSTM ? 4 : 1;
}

/* What a step keeps for backward, per row: RNN its output h'; GRU r, z, n and hw_n (the
 * recurrent part of n before r scales it); LSTM the activated gates i, f, g, o and tanh(c'). */
int cell_cache_width(cell_type cell, int H)
{
    return cell == CELL_GRU ? 4 * H : cell == CELL_LSTM ? 5 * H : H;
}

const char *cell_name(cell_type cell)
{
    return (unsigned)cell < 3 ? cell_names[cell] : "?";
}

int cell_parse(const char *name, cell_type *out)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, cell_names[k]) == 0) {
            *out = (cell_type)k;
            return 0;
        }
    return s2s_fail(S2S_EINVAL, "unknown cell type '%s' (expected rnn, gru or lstm)", name);
}

/* ---- one step ------------------------------------------------------------------------------ */

void cell_step_forward(const rnn_weights *w, int B, const real *xw, const real *h_prev, int ld_hp,
                       const real *c_prev, const unsigned char *active, real *h, int ld_h,
                       real *c, real *cache, real *hw)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    /* hw = h_prev W_hh^T + b_hh; a zero state (h_prev NULL) needs no product. */
    for (int b = 0; b < B; b++)
        memcpy(hw + (size_t)b * GH, w->b_hh, (size_t)GH * sizeof(real));
    if (h_prev)
        gemm(false, true, B, GH, H, 1, h_prev, ld_hp, w->w_hh, H, 1, hw, GH);

    for (int b = 0; b < B; b++) {
        const real *restrict x = xw + (size_t)b * GH;
        const real *restrict u = hw + (size_t)b * GH;
        const real *restrict hp = h_prev ? h_prev + (size_t)b * ld_hp : NULL;
        real *restrict ho = h + (size_t)b * ld_h;
        real *restrict k = cache + (size_t)b * CW;
        if (active && !active[b]) {
            /* Padding: carry the state. */
            for (int j = 0; j < H; j++)
                ho[j] = hp ? hp[j] : 0;
            if (w->cell == CELL_LSTM)
                for (int j = 0; j < H; j++)
                    c[(size_t)b * H + j] = c_prev ? c_prev[(size_t)b * H + j] : 0;
            continue;
        }
        switch (w->cell) {
        case CELL_RNN:
            for (int j = 0; j < H; j++) {
                real v = v_tanh(x[j] + u[j]);
                k[j] = v;
                ho[j] = v;
            }
            break;
        case CELL_GRU:
            for (int j = 0; j < H; j++) {
                real r = v_sigmoid(x[j] + u[j]);
                real z = v_sigmoid(x[H + j] + u[H + j]);
                real n = v_tanh(x[2 * H + j] + r * u[2 * H + j]);
                real hj = hp ? hp[j] : 0;
                k[j] = r;
                k[H + j] = z;
                k[2 * H + j] = n;
                k[3 * H + j] = u[2 * H + j];
                ho[j] = n + z * (hj - n); /* (1 - z) n + z h */
            }
            break;
        case CELL_LSTM: {
            const real *restrict cp = c_prev ? c_prev + (size_t)b * H : NULL;
            real *restrict co = c + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                real i = v_sigmoid(x[j] + u[j]);
                real f = v_sigmoid(x[H + j] + u[H + j]);
                real g = v_tanh(x[2 * H + j] + u[2 * H + j]);
                real o = v_sigmoid(x[3 * H + j] + u[3 * H + j]);
                real cn = f * (cp ? cp[j] : 0) + i * g;
                real tc = v_tanh(cn);
                k[j] = i;
                k[H + j] = f;
                k[2 * H + j] = g;
                k[3 * H + j] = o;
                k[4 * H + j] = tc;
                co[j] = cn;
                ho[j] = o * tc;
            }
            break;
        }
        }
    }
}

void cell_step_backward(const rnn_weights *w, int B, const real *cache, const real *h_prev,
                        int ld_hp, const real *c_prev, const unsigned char *active,
                        const real *dh, const real *dc, real *dxw, real *dhw, real *dh_prev,
                        real *dc_prev)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    for (int b = 0; b < B; b++) {
        const real *restrict k = cache + (size_t)b * CW;
        const real *restrict d_h = dh + (size_t)b * H;
        const real *restrict hp = h_prev ? h_prev + (size_t)b * ld_hp : NULL;
        real *restrict gx = dxw + (size_t)b * GH;
        real *restrict gu = dhw + (size_t)b * GH;
        /* dc and dc_prev may be the same buffer: each element is read before it is written. */
        const real *d_c = dc ? dc + (size_t)b * H : NULL;
        real *d_cp = dc_prev ? dc_prev + (size_t)b * H : NULL;
        bool on = !active || active[b];
        if (!on) {
            /* The state was carried: no gate saw it, and its gradient passes through. */
            memset(gx, 0, (size_t)GH * sizeof(real));
            memset(gu, 0, (size_t)GH * sizeof(real));
            if (w->cell == CELL_LSTM && d_cp)
                for (int j = 0; j < H; j++)
                    d_cp[j] = d_c ? d_c[j] : 0;
        } else if (w->cell == CELL_RNN) {
            for (int j = 0; j < H; j++)
                gx[j] = gu[j] = d_h[j] * (1 - k[j] * k[j]);
        } else if (w->cell == CELL_GRU) {
            for (int j = 0; j < H; j++) {
                real r = k[j], z = k[H + j], n = k[2 * H + j], un = k[3 * H + j];
                real hj = hp ? hp[j] : 0;
                real dn = d_h[j] * (1 - z) * (1 - n * n);
                real dz = d_h[j] * (hj - n) * z * (1 - z);
                real dr = dn * un * r * (1 - r);
                gx[j] = gu[j] = dr;
                gx[H + j] = gu[H + j] = dz;
                gx[2 * H + j] = dn;
                gu[2 * H + j] = dn * r;
            }
        } else {
            const real *restrict cp = c_prev ? c_prev + (size_t)b * H : NULL;
            for (int j = 0; j < H; j++) {
                real i = k[j], f = k[H + j], g = k[2 * H + j], o = k[3 * H + j];
                real tc = k[4 * H + j];
                real dct = d_h[j] * o * (1 - tc * tc) + (d_c ? d_c[j] : 0);
                gx[j] = gu[j] = dct * g * i * (1 - i);
                gx[H + j] = gu[H + j] = dct * (cp ? cp[j] : 0) * f * (1 - f);
                gx[2 * H + j] = gu[2 * H + j] = dct * i * (1 - g * g);
                gx[3 * H + j] = gu[3 * H + j] = d_h[j] * tc * o * (1 - o);
                if (d_cp)
                    d_cp[j] = dct * f;
            }
        }
        if (!dh_prev)
            continue;
        /* The direct paths h -> h': all of dh on carried rows, z dh through GRU's interpolation;
         * the path through W_hh is added for all rows by one GEMM below. */
        real *restrict gp = dh_prev + (size_t)b * H;
        if (!on)
            memcpy(gp, d_h, (size_t)H * sizeof(real));
        else if (w->cell == CELL_GRU)
            for (int j = 0; j < H; j++)
                gp[j] = d_h[j] * k[H + j];
        else
            memset(gp, 0, (size_t)H * sizeof(real));
    }
    if (dh_prev)
        gemm(false, false, B, H, GH, 1, dhw, GH, w->w_hh, H, 1, dh_prev, H);
}

/* ---- one layer over time ------------------------------------------------------------------- */

int rnn_layer_ws_init(rnn_layer_ws *ws, cell_type cell, int in, int hidden, int max_T, int max_B)
{
    memset(ws, 0, sizeof *ws);
    if (in < 1 || hidden < 1 || max_T < 1 || max_B < 1)
        return s2s_fail(S2S_EINVAL, "rnn layer: invalid size in=%d hidden=%d T=%d B=%d", in,
                        hidden, max_T, max_B);
    ws->cell = cell;
    ws->in = in;
    ws->hidden = hidden;
    ws->max_T = max_T;
    ws->max_B = max_B;
    size_t rows = (size_t)max_T * max_B, GH = (size_t)cell_gates(cell) * hidden;
    size_t BH = (size_t)max_B * hidden;
    ws->xw = malloc(rows * GH * sizeof(real));
    ws->hw = malloc((size_t)max_B * GH * sizeof(real));
    ws->cache = malloc(rows * cell_cache_width(cell, hidden) * sizeof(real));
    ws->dxw = malloc(rows * GH * sizeof(real));
    ws->dhw = malloc(rows * GH * sizeof(real));
    ws->dh = malloc(BH * sizeof(real));
    ws->dh_prev = malloc(BH * sizeof(real));
    ws->active = malloc(rows);
    bool ok = ws->xw && ws->hw && ws->cache && ws->dxw && ws->dhw && ws->dh && ws->dh_prev &&
              ws->active;
    if (cell == CELL_LSTM) {
        ws->c = malloc(rows * hidden * sizeof(real));
        ws->dc = malloc(BH * sizeof(real));
        ok = ok && ws->c && ws->dc;
    }
    if (!ok) {
        rnn_layer_ws_free(ws);
        return s2s_fail(S2S_ENOMEM, "rnn layer: cannot allocate workspace for %d steps x %d rows",
                        max_T, max_B);
    }
    return 0;
}

void rnn_layer_ws_free(rnn_layer_ws *ws)
{
    free(ws->xw);
    free(ws->hw);
    free(ws->cache);
    free(ws->c);
    free(ws->dxw);
    free(ws->dhw);
    free(ws->dh);
    free(ws->dh_prev);
    free(ws->dc);
    free(ws->active);
    memset(ws, 0, sizeof *ws);
}

/* The time index of processing step s, and of the step before it. */
static inline int step_time(int s, int T, bool reverse) { return reverse ? T - 1 - s : s; }

/* State before processing step s: h0 (possibly NULL = zeros) for the first, else the output of
 * the previous step; ld receives its row stride. */
static const real *state_before(int s, int T, int B, bool reverse, const real *h0, const real *out,
                                int ldo, int H, int *ld)
{
    if (s == 0) {
        *ld = H;
        return h0;
    }
    *ld = ldo;
    return out + (size_t)step_time(s - 1, T, reverse) * B * ldo;
}

static const real *cell_before(const rnn_layer_ws *ws, int s, int T, int B, bool reverse,
                               const real *c0)
{
    if (ws->cell != CELL_LSTM)
        return NULL;
    return s == 0 ? c0 : ws->c + (size_t)step_time(s - 1, T, reverse) * B * ws->hidden;
}

void rnn_layer_forward(const rnn_weights *w, rnn_layer_ws *ws, int T, int B, const real *x,
                       const int *lens, bool reverse, const real *h0, const real *c0, real *out,
                       int ldo)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    /* The input projections of all steps in one GEMM. */
    linear_forward(ws->xw, x, w->w_ih, w->b_ih, T * B, w->in, GH);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            ws->active[(size_t)t * B + b] = t < lens[b];
    for (int s = 0; s < T; s++) {
        int t = step_time(s, T, reverse), ld;
        const real *hp = state_before(s, T, B, reverse, h0, out, ldo, H, &ld);
        size_t r0 = (size_t)t * B;
        cell_step_forward(w, B, ws->xw + r0 * GH, hp, ld, cell_before(ws, s, T, B, reverse, c0),
                          ws->active + r0, out + r0 * ldo, ldo, ws->c ? ws->c + r0 * H : NULL,
                          ws->cache + r0 * CW, ws->hw);
    }
}

const real *rnn_layer_final_c(const rnn_layer_ws *ws, int T, int B, bool reverse)
{
    if (!ws->c)
        return NULL;
    return ws->c + (size_t)(reverse ? 0 : T - 1) * B * ws->hidden;
}

void rnn_layer_backward(const rnn_weights *w, rnn_layer_ws *ws, int T, int B, const real *x,
                        const int *lens, bool reverse, const real *h0, const real *c0,
                        const real *out, int ldo, const real *dout, const real *dc_final,
                        real *dx, real *dh0, real *dc0)
{
    (void)lens; /* the mask computed by the forward pass is still in ws->active */
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    const size_t BH = (size_t)B * H;
    bool lstm = w->cell == CELL_LSTM;
    memset(ws->dh, 0, BH * sizeof(real));
    if (lstm) {
        if (dc_final)
            memcpy(ws->dc, dc_final, BH * sizeof(real));
        else
            memset(ws->dc, 0, BH * sizeof(real));
    }
    for (int s = T - 1; s >= 0; s--) {
        int t = step_time(s, T, reverse), ld;
        size_t r0 = (size_t)t * B;
        /* Total gradient of this step's output: carried from later steps plus its own. */
        for (int b = 0; b < B; b++) {
            real *restrict g = ws->dh + (size_t)b * H;
            const real *restrict d = dout + (r0 + b) * ldo;
            for (int j = 0; j < H; j++)
                g[j] += d[j];
        }
        const real *hp = state_before(s, T, B, reverse, h0, out, ldo, H, &ld);
        bool want_prev = s > 0 || dh0 != NULL;
        cell_step_backward(w, B, ws->cache + r0 * CW, hp, ld, cell_before(ws, s, T, B, reverse, c0),
                           ws->active + r0, ws->dh, lstm ? ws->dc : NULL, ws->dxw + r0 * GH,
                           ws->dhw + r0 * GH, want_prev ? ws->dh_prev : NULL,
                           lstm ? ws->dc : NULL);
        real *tmp = ws->dh;
        ws->dh = ws->dh_prev;
        ws->dh_prev = tmp;
    }
    if (dh0)
        memcpy(dh0, ws->dh, BH * sizeof(real));
    if (dc0)
        memcpy(dc0, ws->dc, BH * sizeof(real));

    /* Weight gradients and dx, each one GEMM over all T*B rows. */
    const int rows = T * B;
    linear_backward(dx, w->dw_ih, w->db_ih, ws->dxw, x, w->w_ih, rows, w->in, GH);
    add_column_sums(w->db_hh, ws->dhw, rows, GH, GH);
    /* dW_hh += sum_t dhw_t^T h_prev_t. The previous states of steps 1..T-1 are the outputs of
     * steps 0..T-2, which sit one block of B rows away in `out`: one GEMM over (T-1)*B rows. */
    if (T > 1) {
        const real *d = reverse ? ws->dhw : ws->dhw + (size_t)B * GH;
        const real *hprev = reverse ? out + (size_t)B * ldo : out;
        gemm(true, false, GH, H, (T - 1) * B, 1, d, GH, hprev, ldo, 1, w->dw_hh, H);
    }
    if (h0) {
        const real *d = ws->dhw + (size_t)step_time(0, T, reverse) * B * GH;
        gemm(true, false, GH, H, B, 1, d, GH, h0, H, 1, w->dw_hh, H);
    }
}
