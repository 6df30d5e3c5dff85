/* rnn.c - recurrent cells (tanh RNN, GRU, LSTM): one step and one layer over time, forward and
 * backward. The math and the buffer contracts are in include/s2s/rnn.h. */
#include "s2s/rnn.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/blas.h"
#include "s2s/choice.h"
#include "s2s/layers.h"
#include "s2s/status.h"
#include "s2s/vmath.h"

const char *const cell_names[] = {CELL_CHOICES(CHOICE_NAME) NULL};

/* A zero state row. A NULL h_prev, c_prev or dc means zeros; pointing at this row instead of
 * testing for NULL inside the element-wise loops keeps those loops branch-free, so that they
 * vectorize. Never written. */
static real zero_row[RNN_MAX_HIDDEN];

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
    return choice_name(cell_names, (int)cell);
}

int cell_parse(const char *name, cell_type *out)
{
    int k = choice_parse("cell type", cell_names, name);
    if (k >= 0)
        *out = (cell_type)k;
    return k < 0 ? k : 0;
}

/* ---- one step ------------------------------------------------------------------------------
 * The element-wise work of a step, one batch row at a time. Each gate block gets its own
 * pointer so that GCC sees plain unit-stride accesses and vectorizes every loop; `ivdep` states
 * what GCC cannot prove for an unknown H: the gate blocks of a row are disjoint, so there is no
 * dependence between iterations (without it, the LSTM loops need more run-time alias checks
 * than GCC is willing to emit, and stay scalar). */

static void rnn_row_forward(int H, const real *restrict x, const real *restrict u,
                            real *restrict k, real *restrict ho)
{
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real v = v_tanh(x[j] + u[j]);
        k[j] = v;
        ho[j] = v;
    }
}

static void gru_row_forward(int H, const real *restrict x, const real *restrict u,
                            const real *restrict hp, real *restrict k, real *restrict ho)
{
    const real *xr = x, *xz = x + H, *xn = x + 2 * H, *ur = u, *uz = u + H, *un = u + 2 * H;
    real *kr = k, *kz = k + H, *kn = k + 2 * H, *ku = k + 3 * H;
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real r = v_sigmoid(xr[j] + ur[j]);
        real z = v_sigmoid(xz[j] + uz[j]);
        real n = v_tanh(xn[j] + r * un[j]);
        kr[j] = r;
        kz[j] = z;
        kn[j] = n;
        ku[j] = un[j];
        ho[j] = n + z * (hp[j] - n); /* (1 - z) n + z h */
    }
}

static void lstm_row_forward(int H, const real *restrict x, const real *restrict u,
                             const real *restrict cp, real *restrict k, real *restrict co,
                             real *restrict ho)
{
    const real *xi = x, *xf = x + H, *xg = x + 2 * H, *xo = x + 3 * H;
    const real *ui = u, *uf = u + H, *ug = u + 2 * H, *uo = u + 3 * H;
    real *ki = k, *kf = k + H, *kg = k + 2 * H, *ko = k + 3 * H, *kt = k + 4 * H;
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real i = v_sigmoid(xi[j] + ui[j]);
        real f = v_sigmoid(xf[j] + uf[j]);
        real g = v_tanh(xg[j] + ug[j]);
        real o = v_sigmoid(xo[j] + uo[j]);
        real c = f * cp[j] + i * g;
        real tc = v_tanh(c);
        ki[j] = i;
        kf[j] = f;
        kg[j] = g;
        ko[j] = o;
        kt[j] = tc;
        co[j] = c;
        ho[j] = o * tc;
    }
}

void cell_step_forward(const rnn_weights *w, int B, const real *xw, const real *h_prev, int ld_hp,
                       const real *c_prev, const unsigned char *active, real *h, int ld_h,
                       real *c, real *cache, real *hw)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    /* hw = h_prev W_hh^T + b_hh; a zero state (h_prev NULL) needs no product. */
    fill_rows(hw, w->b_hh, B, GH);
    if (h_prev)
        gemm(false, true, B, GH, H, 1, h_prev, ld_hp, w->w_hh, H, 1, hw, GH);

    for (int b = 0; b < B; b++) {
        const real *x = xw + (size_t)b * GH, *u = hw + (size_t)b * GH;
        const real *hp = h_prev ? h_prev + (size_t)b * ld_hp : zero_row;
        const real *cp = c_prev ? c_prev + (size_t)b * H : zero_row;
        real *ho = h + (size_t)b * ld_h, *k = cache + (size_t)b * CW;
        real *co = w->cell == CELL_LSTM ? c + (size_t)b * H : NULL;
        if (active && !active[b]) {
            /* Padding: carry the state. */
            memmove(ho, hp, (size_t)H * sizeof(real));
            if (co)
                memcpy(co, cp, (size_t)H * sizeof(real));
        } else if (w->cell == CELL_RNN) {
            rnn_row_forward(H, x, u, k, ho);
        } else if (w->cell == CELL_GRU) {
            gru_row_forward(H, x, u, hp, k, ho);
        } else {
            lstm_row_forward(H, x, u, cp, k, co, ho);
        }
    }
}

/* Backward row kernels: gx = d xw, gu = d hw, and for LSTM gcp = d c_prev. The gradient through
 * W_hh is added by the caller's GEMM; the direct paths h -> h' are set in cell_step_backward. */
static void rnn_row_backward(int H, const real *restrict k, const real *restrict dh,
                             real *restrict gx, real *restrict gu)
{
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real d = dh[j] * (1 - k[j] * k[j]);
        gx[j] = d;
        gu[j] = d;
    }
}

static void gru_row_backward(int H, const real *restrict k, const real *restrict hp,
                             const real *restrict dh, real *restrict gx, real *restrict gu)
{
    const real *kr = k, *kz = k + H, *kn = k + 2 * H, *ku = k + 3 * H;
    real *gxr = gx, *gxz = gx + H, *gxn = gx + 2 * H, *gur = gu, *guz = gu + H, *gun = gu + 2 * H;
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real r = kr[j], z = kz[j], n = kn[j];
        real dn = dh[j] * (1 - z) * (1 - n * n);
        real dz = dh[j] * (hp[j] - n) * z * (1 - z);
        real dr = dn * ku[j] * r * (1 - r);
        gxr[j] = dr;
        gur[j] = dr;
        gxz[j] = dz;
        guz[j] = dz;
        gxn[j] = dn;
        gun[j] = dn * r; /* r scales W_hn h + b_hn */
    }
}

static void lstm_row_backward(int H, const real *restrict k, const real *restrict cp,
                              const real *restrict dh, const real *restrict dc,
                              real *restrict gx, real *restrict gu, real *restrict gcp)
{
    const real *ki = k, *kf = k + H, *kg = k + 2 * H, *ko = k + 3 * H, *kt = k + 4 * H;
    real *gxi = gx, *gxf = gx + H, *gxg = gx + 2 * H, *gxo = gx + 3 * H;
    real *gui = gu, *guf = gu + H, *gug = gu + 2 * H, *guo = gu + 3 * H;
#pragma GCC ivdep
    for (int j = 0; j < H; j++) {
        real i = ki[j], f = kf[j], g = kg[j], o = ko[j], tc = kt[j];
        real dct = dh[j] * o * (1 - tc * tc) + dc[j];
        real di = dct * g * i * (1 - i), df = dct * cp[j] * f * (1 - f);
        real dg = dct * i * (1 - g * g), d_o = dh[j] * tc * o * (1 - o);
        gxi[j] = gui[j] = di;
        gxf[j] = guf[j] = df;
        gxg[j] = gug[j] = dg;
        gxo[j] = guo[j] = d_o;
        gcp[j] = dct * f;
    }
}

void cell_step_backward(const rnn_weights *w, int B, const real *cache, const real *h_prev,
                        int ld_hp, const real *c_prev, const unsigned char *active,
                        const real *dh, const real *dc, real *dxw, real *dhw, real *dh_prev,
                        real *dc_prev)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, CW = cell_cache_width(w->cell, H);
    for (int b = 0; b < B; b++) {
        const real *k = cache + (size_t)b * CW, *d_h = dh + (size_t)b * H;
        const real *hp = h_prev ? h_prev + (size_t)b * ld_hp : zero_row;
        const real *cp = c_prev ? c_prev + (size_t)b * H : zero_row;
        const real *d_c = dc ? dc + (size_t)b * H : zero_row;
        real *gx = dxw + (size_t)b * GH, *gu = dhw + (size_t)b * GH;
        real *gcp = w->cell == CELL_LSTM ? dc_prev + (size_t)b * H : NULL;
        bool on = !active || active[b];
        if (!on) {
            /* The state was carried: no gate saw it, and its gradient passes through. */
            memset(gx, 0, (size_t)GH * sizeof(real));
            memset(gu, 0, (size_t)GH * sizeof(real));
            if (gcp)
                memcpy(gcp, d_c, (size_t)H * sizeof(real));
        } else if (w->cell == CELL_RNN) {
            rnn_row_backward(H, k, d_h, gx, gu);
        } else if (w->cell == CELL_GRU) {
            gru_row_backward(H, k, hp, d_h, gx, gu);
        } else {
            lstm_row_backward(H, k, cp, d_h, d_c, gx, gu, gcp);
        }
        if (!dh_prev)
            continue;
        /* The direct paths h -> h': all of dh on carried rows, z dh through GRU's interpolation;
         * the path through W_hh is added for all rows by one GEMM below. */
        real *restrict gp = dh_prev + (size_t)b * H;
        if (!on) {
            memcpy(gp, d_h, (size_t)H * sizeof(real));
        } else if (w->cell == CELL_GRU) {
            const real *restrict kz = k + H;
            for (int j = 0; j < H; j++)
                gp[j] = d_h[j] * kz[j];
        } else {
            memset(gp, 0, (size_t)H * sizeof(real));
        }
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
        ws->dc_prev = malloc(BH * sizeof(real));
        ok = ok && ws->c && ws->dc && ws->dc_prev;
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
    free(ws->dc_prev);
    free(ws->active);
    memset(ws, 0, sizeof *ws);
}

void rnn_layer_ws_step_back(rnn_layer_ws *ws)
{
    real *tmp = ws->dh;
    ws->dh = ws->dh_prev;
    ws->dh_prev = tmp;
    tmp = ws->dc;
    ws->dc = ws->dc_prev;
    ws->dc_prev = tmp;
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
    const bool lstm = w->cell == CELL_LSTM;
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
                           ws->dhw + r0 * GH, want_prev ? ws->dh_prev : NULL, ws->dc_prev);
        rnn_layer_ws_step_back(ws);
        grad_hook_poll(&ws->hook);
    }
    if (dh0)
        memcpy(dh0, ws->dh, BH * sizeof(real));
    if (dc0)
        memcpy(dc0, ws->dc, BH * sizeof(real));

    rnn_weight_grads(w, T, B, x, ws->dxw, ws->dhw, reverse, h0, out, ldo, dx);
}

void rnn_weight_grads(const rnn_weights *w, int T, int B, const real *x, const real *dxw,
                      const real *dhw, bool reverse, const real *h0, const real *out, int ldo,
                      real *dx)
{
    const int H = w->hidden, GH = cell_gates(w->cell) * H, rows = T * B;
    /* Weight gradients and dx, each one GEMM over all T*B rows. */
    linear_backward(dx, w->dw_ih, w->db_ih, dxw, x, w->w_ih, rows, w->in, GH);
    add_column_sums(w->db_hh, dhw, rows, GH, GH);
    /* dW_hh += sum_t dhw_t^T h_prev_t. The previous states of steps 1..T-1 are the outputs of
     * steps 0..T-2, which sit one block of B rows away in `out`: one GEMM over (T-1)*B rows. */
    if (T > 1) {
        const real *d = reverse ? dhw : dhw + (size_t)B * GH;
        const real *hprev = reverse ? out + (size_t)B * ldo : out;
        gemm(true, false, GH, H, (T - 1) * B, 1, d, GH, hprev, ldo, 1, w->dw_hh, H);
    }
    if (h0) {
        const real *d = dhw + (size_t)step_time(0, T, reverse) * B * GH;
        gemm(true, false, GH, H, B, 1, d, GH, h0, H, 1, w->dw_hh, H);
    }
}
