/* test_rnn.c - finite-difference checks of one recurrent layer (every cell, both directions,
 * with and without initial states, writing into part of a wider output buffer) and of one cell
 * step on its own. Double-precision build: the tolerance is 1e-6 relative. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "s2s/rnn.h"
#include "testutil.h"

enum { T = 5, B = 3, IN = 4, H = 3, LDO = 2 * H + 1 };
static const int LENS[B] = {5, 2, 4};

/* Everything one layer needs, in one struct so the loss function can reach it. */
typedef struct {
    cell_type cell;
    bool reverse, with_h0;
    int GH;
    real *w_ih, *w_hh, *b_ih, *b_hh, *dw_ih, *dw_hh, *db_ih, *db_hh;
    real x[T * B * IN], h0[B * H], c0[B * H];
    real out[T * B * LDO];
    real R[T * B * LDO];   /* loss weights on the outputs */
    real Rc[B * H];        /* loss weights on the final cell state (LSTM) */
    rnn_layer_ws ws;
    rnn_weights w;
} layer_fixture;

/* L = sum over real positions of R . out + Rc . c_final: every output and the final cell state
 * get a distinct random weight, so no gradient can cancel by symmetry. The layer writes columns
 * 1..H of rows LDO wide, so an offset start and a row stride wider than H are both exercised. */
static double layer_loss(void *ctx)
{
    layer_fixture *f = ctx;
    rnn_layer_forward(&f->w, &f->ws, T, B, f->x, LENS, f->reverse, f->with_h0 ? f->h0 : NULL,
                      f->with_h0 ? f->c0 : NULL, f->out + 1, LDO);
    double L = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            if (t < LENS[b])
                for (int j = 0; j < H; j++) {
                    size_t k = ((size_t)t * B + b) * LDO + 1 + j;
                    L += (double)f->R[k] * f->out[k];
                }
    const real *c = rnn_layer_final_c(&f->ws, T, B, f->reverse);
    if (c)
        for (int i = 0; i < B * H; i++)
            L += (double)f->Rc[i] * c[i];
    return L;
}

static void check_layer(cell_type cell, bool reverse, bool with_h0)
{
    layer_fixture *f = calloc(1, sizeof *f);
    f->cell = cell;
    f->reverse = reverse;
    f->with_h0 = with_h0;
    f->GH = cell_gates(cell) * H;
    size_t n_ih = (size_t)f->GH * IN, n_hh = (size_t)f->GH * H;
    real *params = calloc(2 * (n_ih + n_hh + 2 * f->GH), sizeof(real));
    f->w_ih = params;
    f->w_hh = f->w_ih + n_ih;
    f->b_ih = f->w_hh + n_hh;
    f->b_hh = f->b_ih + f->GH;
    f->dw_ih = f->b_hh + f->GH;
    f->dw_hh = f->dw_ih + n_ih;
    f->db_ih = f->dw_hh + n_hh;
    f->db_hh = f->db_ih + f->GH;
    fill_uniform(params, n_ih + n_hh + 2 * f->GH, -0.8, 0.8, 3, 1);
    fill_uniform(f->x, T * B * IN, -1, 1, 3, 2);
    fill_uniform(f->h0, B * H, -0.9, 0.9, 3, 3);
    fill_uniform(f->c0, B * H, -1.5, 1.5, 3, 4);
    fill_uniform(f->R, T * B * LDO, -1, 1, 3, 5);
    fill_uniform(f->Rc, B * H, -1, 1, 3, 6);
    f->w = (rnn_weights){cell, IN, H, f->w_ih, f->w_hh, f->b_ih, f->b_hh,
                         f->dw_ih, f->dw_hh, f->db_ih, f->db_hh};
    cr_assert_eq(rnn_layer_ws_init(&f->ws, cell, IN, H, T, B), 0, "ws init");

    /* Analytic gradients: dout = R on real positions (the layer's output at offset 1 of each
     * row, so that ldo > H and an offset start are both exercised), dc_final = Rc. */
    layer_loss(f);
    real dout[T * B * LDO], dx[T * B * IN], dh0[B * H], dc0[B * H];
    memset(dout, 0, sizeof dout);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            if (t < LENS[b])
                for (int j = 0; j < H; j++) {
                    size_t k = ((size_t)t * B + b) * LDO + 1 + j;
                    dout[k] = f->R[k];
                }
    memset(dx, 0, sizeof dx);
    rnn_layer_backward(&f->w, &f->ws, T, B, f->x, LENS, reverse, with_h0 ? f->h0 : NULL,
                       with_h0 ? f->c0 : NULL, f->out + 1, LDO, dout + 1,
                       cell == CELL_LSTM ? f->Rc : NULL, dx, dh0, cell == CELL_LSTM ? dc0 : NULL);

    char what[96];
    snprintf(what, sizeof what, "%s %s %s", cell_name(cell), reverse ? "reverse" : "forward",
             with_h0 ? "h0" : "zero-state");
    int fails = 0;
    fails += gradcheck(what, layer_loss, f, f->w_ih, f->dw_ih, n_ih, NULL);
    fails += gradcheck(what, layer_loss, f, f->w_hh, f->dw_hh, n_hh, NULL);
    fails += gradcheck(what, layer_loss, f, f->b_ih, f->db_ih, f->GH, NULL);
    fails += gradcheck(what, layer_loss, f, f->b_hh, f->db_hh, f->GH, NULL);
    fails += gradcheck(what, layer_loss, f, f->x, dx, T * B * IN, NULL);
    if (with_h0) {
        fails += gradcheck(what, layer_loss, f, f->h0, dh0, B * H, NULL);
        if (cell == CELL_LSTM)
            fails += gradcheck(what, layer_loss, f, f->c0, dc0, B * H, NULL);
    }
    cr_expect_eq(fails, 0, "%s: %d gradient mismatches (see stderr)", what, fails);
    rnn_layer_ws_free(&f->ws);
    free(params);
    free(f);
}

#define LAYER_TEST(cell, dir, h0)                                                                \
    Test(rnn_layer_grad, cell##_##dir##_##h0)                                                    \
    {                                                                                            \
        check_layer(CELL_##cell, #dir[0] == 'r', #h0[0] == 'h');                                  \
    }

LAYER_TEST(RNN, forward, h0)
LAYER_TEST(RNN, forward, zero)
LAYER_TEST(RNN, reverse, h0)
LAYER_TEST(RNN, reverse, zero)
LAYER_TEST(GRU, forward, h0)
LAYER_TEST(GRU, forward, zero)
LAYER_TEST(GRU, reverse, h0)
LAYER_TEST(GRU, reverse, zero)
LAYER_TEST(LSTM, forward, h0)
LAYER_TEST(LSTM, forward, zero)
LAYER_TEST(LSTM, reverse, h0)
LAYER_TEST(LSTM, reverse, zero)

/* One step on its own, with half the rows inactive: gradients w.r.t. xw, h_prev, c_prev of
 * L = R . h' + Rc . c', where cell_step_backward's dxw and dh_prev are checked directly. */
typedef struct {
    rnn_weights w;
    real xw[B * 4 * H], hp[B * H], cp[B * H], h[B * H], c[B * H], cache[B * 5 * H], hw[B * 4 * H];
    real R[B * H], Rc[B * H];
} step_fixture;

static const unsigned char ACTIVE[B] = {1, 0, 1};

static double step_loss(void *ctx)
{
    step_fixture *f = ctx;
    cell_step_forward(&f->w, B, f->xw, f->hp, H, f->w.cell == CELL_LSTM ? f->cp : NULL, ACTIVE,
                      f->h, H, f->c, f->cache, f->hw);
    double L = 0;
    for (int i = 0; i < B * H; i++)
        L += (double)f->R[i] * f->h[i] + (f->w.cell == CELL_LSTM ? (double)f->Rc[i] * f->c[i] : 0);
    return L;
}

static void check_step(cell_type cell)
{
    step_fixture f;
    memset(&f, 0, sizeof f);
    int GH = cell_gates(cell) * H;
    real *w_hh = calloc((size_t)GH * H, sizeof(real)), *b_hh = calloc((size_t)GH, sizeof(real));
    fill_uniform(w_hh, (size_t)GH * H, -0.8, 0.8, 9, 1);
    fill_uniform(b_hh, (size_t)GH, -0.5, 0.5, 9, 2);
    f.w = (rnn_weights){.cell = cell, .in = IN, .hidden = H, .w_hh = w_hh, .b_hh = b_hh};
    fill_uniform(f.xw, sizeof f.xw / sizeof(real), -1.5, 1.5, 9, 3);
    fill_uniform(f.hp, B * H, -0.9, 0.9, 9, 4);
    fill_uniform(f.cp, B * H, -1, 1, 9, 5);
    fill_uniform(f.R, B * H, -1, 1, 9, 6);
    fill_uniform(f.Rc, B * H, -1, 1, 9, 7);
    step_loss(&f);
    real dxw[B * 4 * H], dhw[B * 4 * H], dhp[B * H], dcp[B * H];
    cell_step_backward(&f.w, B, f.cache, f.hp, H, cell == CELL_LSTM ? f.cp : NULL, ACTIVE, f.R,
                       cell == CELL_LSTM ? f.Rc : NULL, dxw, dhw, dhp,
                       cell == CELL_LSTM ? dcp : NULL);
    int fails = gradcheck(cell_name(cell), step_loss, &f, f.xw, dxw, (size_t)B * GH, NULL);
    fails += gradcheck(cell_name(cell), step_loss, &f, f.hp, dhp, B * H, NULL);
    if (cell == CELL_LSTM)
        fails += gradcheck(cell_name(cell), step_loss, &f, f.cp, dcp, B * H, NULL);
    cr_expect_eq(fails, 0, "%s step: %d gradient mismatches (see stderr)", cell_name(cell), fails);
    for (int j = 0; j < GH; j++)
        cr_expect_eq(dxw[1 * GH + j], 0, "inactive row has a non-zero input gradient");
    free(w_hh);
    free(b_hh);
}

Test(rnn_step_grad, rnn) { check_step(CELL_RNN); }
Test(rnn_step_grad, gru) { check_step(CELL_GRU); }
Test(rnn_step_grad, lstm) { check_step(CELL_LSTM); }
