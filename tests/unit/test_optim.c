/* test_optim.c - optimizer updates (SGD, Adam, AdamW, with and without weight decay) against
 * values worked out by hand from torch.optim's rules, gradient norms and clipping, names and
 * configuration errors, the moving average of the parameters (--ema): by hand, still where the
 * parameters stand still, and against double within its rounding bound.
 *
 * All update tests use two parameters p0 = [1, -2], lr = 0.1 and three gradients
 *   g1 = [0.5, -1],  g2 = [0.25, 2],  g3 = [-1, 0];
 * the weight-decay tests use wd = 0.5, large enough that a decay term applied wrongly (or not
 * at all, or to the caller's gradients) moves a result by 1e-2 or more.
 * Parameters are float, so expected values are compared with 1e-6 absolute tolerance (a few
 * ulps at magnitude 2); any wrong term moves a result by 1e-3 or more. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "s2s/optim.h"
#include "s2s/status.h"
#include "testutil.h"

static const real G[3][2] = {{0.5f, -1.0f}, {0.25f, 2.0f}, {-1.0f, 0.0f}};

static void run_three_steps(const optim_config *cfg, const double want[3][2])
{
    optimizer opt;
    real p[2] = {1.0f, -2.0f};
    cr_assert_eq(optimizer_init(&opt, cfg, 2), 0, "optimizer_init: %s", s2s_errmsg(-2));
    for (int t = 0; t < 3; t++) {
        real g[2] = {G[t][0], G[t][1]}; /* writable: the step must still leave it alone */
        optimizer_step(&opt, p, g, 0.1);
        for (int i = 0; i < 2; i++) {
            cr_expect(fabs(p[i] - want[t][i]) <= 1e-6,
                      "%s wd %g after step %d: p[%d] = %.9g, expected %.9g",
                      optim_name(cfg->kind), cfg->weight_decay, t + 1, i, (double)p[i],
                      want[t][i]);
            cr_expect_eq(g[i], G[t][i], "%s wd %g step %d changed the gradient g[%d] to %g",
                         optim_name(cfg->kind), cfg->weight_decay, t + 1, i, (double)g[i]);
        }
    }
    cr_expect_eq(opt.step, 3, "step counter is %ld after 3 updates", opt.step);
    optimizer_free(&opt);
}

/* p -= 0.1 g:
 *   p1 = [1 - 0.05, -2 + 0.1]      = [0.95, -1.9]
 *   p2 = [0.95 - 0.025, -1.9 - 0.2] = [0.925, -2.1]
 *   p3 = [0.925 + 0.1, -2.1 - 0]    = [1.025, -2.1] */
Test(optim, sgd_by_hand)
{
    optim_config cfg = {.kind = OPTIM_SGD};
    const double want[3][2] = {{0.95, -1.9}, {0.925, -2.1}, {1.025, -2.1}};
    run_three_steps(&cfg, want);
}

/* v = 0.9 v + g (v0 = 0, so v1 = g1 as in PyTorch), p -= 0.1 v:
 *   v1 = [0.5, -1]                          p1 = [0.95, -1.9]
 *   v2 = [0.45 + 0.25, -0.9 + 2] = [0.7, 1.1]     p2 = [0.95 - 0.07, -1.9 - 0.11] = [0.88, -2.01]
 *   v3 = [0.63 - 1, 0.99 + 0] = [-0.37, 0.99]    p3 = [0.88 + 0.037, -2.01 - 0.099]
 *                                                   = [0.917, -2.109] */
Test(optim, sgd_momentum_by_hand)
{
    optim_config cfg = {.kind = OPTIM_SGD, .momentum = 0.9};
    const double want[3][2] = {{0.95, -1.9}, {0.88, -2.01}, {0.917, -2.109}};
    run_three_steps(&cfg, want);
}

/* beta1 = 0.9, beta2 = 0.999, eps = 1e-8; bc1 = 1 - 0.9^t, bc2 = 1 - 0.999^t;
 * step = 0.1 * (m / bc1) / (sqrt(v / bc2) + 1e-8).
 * t = 1: bc1 = 0.1, bc2 = 0.001
 *   p[0]: m = 0.05, v = 0.00025; m/bc1 = 0.5, v/bc2 = 0.25, sqrt 0.5; step 0.099999998
 *         -> 0.900000002
 *   p[1]: m = -0.1, v = 0.001; m/bc1 = -1, v/bc2 = 1; step -0.099999999 -> -1.900000001
 * t = 2: bc1 = 0.19, bc2 = 0.001999
 *   p[0]: m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225;
 *         m/bc1 = 0.368421053, v/bc2 = 0.156203102, sqrt 0.395225381; step 0.0932179615
 *         -> 0.806782040
 *   p[1]: m = -0.09 + 0.2 = 0.11, v = 0.000999 + 0.004 = 0.004999;
 *         m/bc1 = 0.578947368, v/bc2 = 2.50075038, sqrt 1.58137610; step 0.0366103525
 *         -> -1.93661035
 * t = 3: bc1 = 0.271, bc2 = 0.002997001
 *   p[0]: m = 0.063 - 0.1 = -0.037, v = 0.00031193775 + 0.001 = 0.00131193775;
 *         m/bc1 = -0.136531365, v/bc2 = 0.437750188, sqrt 0.661626925; step -0.0206357024
 *         -> 0.827417743
 *   p[1]: m = 0.099, v = 0.004994001 (g = 0);
 *         m/bc1 = 0.365313653, v/bc2 = 1.66633278, sqrt 1.29086513; step 0.0282999085
 *         -> -1.96491026 */
Test(optim, adam_by_hand)
{
    optim_config cfg = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    const double want[3][2] = {
        {0.900000002, -1.900000001}, {0.806782040, -1.93661035}, {0.827417743, -1.96491026}};
    run_three_steps(&cfg, want);
}

/* L2 decay, d = g + 0.5 p, p -= 0.1 d:
 *   d1 = [0.5 + 0.5, -1 - 1] = [1, -2]                 p1 = [0.9, -1.8]
 *   d2 = [0.25 + 0.45, 2 - 0.9] = [0.7, 1.1]           p2 = [0.83, -1.91]
 *   d3 = [-1 + 0.415, 0 - 0.955] = [-0.585, -0.955]    p3 = [0.8885, -1.8145] */
Test(optim, sgd_weight_decay_by_hand)
{
    optim_config cfg = {.kind = OPTIM_SGD, .weight_decay = 0.5};
    const double want[3][2] = {{0.9, -1.8}, {0.83, -1.91}, {0.8885, -1.8145}};
    run_three_steps(&cfg, want);
}

/* The L2 gradient goes into the momentum buffer (torch.optim.SGD): d = g + 0.5 p,
 * v = 0.9 v + d, p -= 0.1 v:
 *   d1 = [1, -2]            v1 = [1, -2]                              p1 = [0.9, -1.8]
 *   d2 = [0.7, 1.1]         v2 = [0.9 + 0.7, -1.8 + 1.1] = [1.6, -0.7]  p2 = [0.74, -1.73]
 *   d3 = [-1 + 0.37, -0.865] = [-0.63, -0.865]
 *                           v3 = [1.44 - 0.63, -0.63 - 0.865] = [0.81, -1.495]
 *                                                   p3 = [0.74 - 0.081, -1.73 + 0.1495]
 *                                                      = [0.659, -1.5805] */
Test(optim, sgd_momentum_weight_decay_by_hand)
{
    optim_config cfg = {.kind = OPTIM_SGD, .momentum = 0.9, .weight_decay = 0.5};
    const double want[3][2] = {{0.9, -1.8}, {0.74, -1.73}, {0.659, -1.5805}};
    run_three_steps(&cfg, want);
}

/* Adam with L2 decay: Adam (as adam_by_hand, same bias corrections) on d = g + 0.5 p.
 * t = 1: bc1 = 0.1, bc2 = 0.001
 *   p[0]: d = 1, m = 0.1, v = 0.001; m/bc1 = 1, v/bc2 = 1; step 0.099999999 -> 0.900000001
 *   p[1]: d = -2, m = -0.2, v = 0.004; m/bc1 = -2, v/bc2 = 4, sqrt 2; step -0.0999999995
 *         -> -1.9 (to 5e-10)
 * t = 2: bc1 = 0.19, bc2 = 0.001999
 *   p[0]: d = 0.25 + 0.4500000005 = 0.7000000005, m = 0.09 + 0.07 = 0.16,
 *         v = 0.000999 + 0.00049 = 0.001489; m/bc1 = 0.842105263, v/bc2 = 0.744872437,
 *         sqrt 0.863059926; step 0.0975720489 -> 0.802427952
 *   p[1]: d = 2 - 0.95 = 1.05, m = -0.18 + 0.105 = -0.075, v = 0.003996 + 0.0011025 =
 *         0.0050985; m/bc1 = -0.394736842, v/bc2 = 2.55052526, sqrt 1.5970364;
 *         step -0.0247168342 -> -1.87528317
 * t = 3: bc1 = 0.271, bc2 = 0.002997001
 *   p[0]: d = -1 + 0.401213976 = -0.598786024, m = 0.144 - 0.0598786024 = 0.0841213976,
 *         v = 0.001487511 + 0.000358544704 = 0.00184605570; m/bc1 = 0.310411061,
 *         v/bc2 = 0.615967663, sqrt 0.784836074; step 0.039551069 -> 0.762876883
 *   p[1]: d = -0.937641583, m = -0.0675 - 0.0937641583 = -0.161264158,
 *         v = 0.0050934015 + 0.000879171736 = 0.00597257324; m/bc1 = -0.595070695,
 *         v/bc2 = 1.99284993, sqrt 1.41168337; step -0.0421532692 -> -1.8331299 */
Test(optim, adam_weight_decay_by_hand)
{
    optim_config cfg = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                        .weight_decay = 0.5};
    const double want[3][2] = {
        {0.900000001, -1.9}, {0.802427952, -1.87528317}, {0.762876883, -1.8331299}};
    run_three_steps(&cfg, want);
}

/* AdamW: p *= 1 - 0.1 * 0.5 = 0.95, then the Adam step of the raw gradient. The moments never
 * see p, so the steps u_t are exactly those of adam_by_hand (bias corrections included):
 *   u1 = [0.099999998, -0.099999999], u2 = [0.0932179615, 0.0366103525],
 *   u3 = [-0.0206357024, 0.0282999085]
 *   p1 = [0.95 - 0.099999998, -1.9 + 0.099999999]            = [0.850000002, -1.800000001]
 *   p2 = [0.8075000019 - 0.0932179615, -1.71000000095 - 0.0366103525]
 *      = [0.7142820404, -1.74661035345]
 *   p3 = [0.67856793838 + 0.0206357024, -1.65927983578 - 0.0282999085]
 *      = [0.69920364078, -1.68757974428] */
Test(optim, adamw_by_hand)
{
    optim_config cfg = {.kind = OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                        .weight_decay = 0.5};
    const double want[3][2] = {{0.850000002, -1.800000001},
                               {0.7142820404, -1.74661035345},
                               {0.69920364078, -1.68757974428}};
    run_three_steps(&cfg, want);
}

/* AdamW without decay is Adam, bit for bit (the decay mode is chosen outside the loop). */
Test(optim, adamw_without_decay_is_adam)
{
    enum { N = 517, STEPS = 5 };
    optim_config adam = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
                 adamw = adam;
    adamw.kind = OPTIM_ADAMW;
    static real pa[N], pw[N], g[N];
    fill_uniform(pa, N, -1, 1, 3, 0);
    memcpy(pw, pa, sizeof pa);
    optimizer oa, ow;
    cr_assert_eq(optimizer_init(&oa, &adam, N), 0, "init adam");
    cr_assert_eq(optimizer_init(&ow, &adamw, N), 0, "init adamw");
    for (int t = 0; t < STEPS; t++) {
        fill_uniform(g, N, -2, 2, 3, 1 + (uint32_t)t);
        optimizer_step(&oa, pa, g, 1e-2);
        optimizer_step(&ow, pw, g, 1e-2);
    }
    cr_expect(memcmp(pa, pw, sizeof pa) == 0, "adamw with weight decay 0 differs from adam");
    optimizer_free(&oa);
    optimizer_free(&ow);
}

/* eps matters where v is tiny: with g = 1e-6 the first Adam step is
 * 0.1 * 1e-6 / (1e-6 + eps); eps = 1e-6 halves it. */
Test(optim, adam_eps_enters_denominator)
{
    optim_config cfg = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6};
    optimizer opt;
    real p[1] = {0}, g[1] = {1e-6f};
    cr_assert_eq(optimizer_init(&opt, &cfg, 1), 0, "optimizer_init");
    optimizer_step(&opt, p, g, 0.1);
    cr_expect(fabs(p[0] + 0.05) <= 1e-6, "first step with g = eps: p = %.9g, expected -0.05",
              (double)p[0]);
    optimizer_free(&opt);
}

Test(optim, moment_buffers_only_when_needed)
{
    optimizer opt;
    optim_config sgd = {.kind = OPTIM_SGD, .weight_decay = 0.1},
                 mom = {.kind = OPTIM_SGD, .momentum = 0.5},
                 adam = {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8},
                 adamw = {.kind = OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8,
                          .weight_decay = 0.01};
    cr_assert_eq(optimizer_init(&opt, &sgd, 10), 0, "init sgd");
    cr_expect(opt.m == NULL && opt.v == NULL, "plain sgd allocated moment buffers");
    optimizer_free(&opt);
    cr_assert_eq(optimizer_init(&opt, &mom, 10), 0, "init sgd momentum");
    cr_expect(opt.m != NULL && opt.v == NULL, "sgd with momentum: m %p v %p", (void *)opt.m,
              (void *)opt.v);
    optimizer_free(&opt);
    cr_assert_eq(optimizer_init(&opt, &adam, 10), 0, "init adam");
    cr_expect(opt.m != NULL && opt.v != NULL, "adam: m %p v %p", (void *)opt.m, (void *)opt.v);
    optimizer_free(&opt);
    cr_assert_eq(optimizer_init(&opt, &adamw, 10), 0, "init adamw");
    cr_expect(opt.m != NULL && opt.v != NULL, "adamw: m %p v %p", (void *)opt.m, (void *)opt.v);
    optimizer_free(&opt);
    optimizer_free(&opt); /* freeing twice (a zeroed optimizer) is safe */
}

Test(optim, invalid_configs_are_rejected)
{
    optimizer opt;
    const optim_config bad[] = {
        {.kind = OPTIM_SGD, .momentum = -0.1},
        {.kind = OPTIM_SGD, .momentum = 1.0},
        {.kind = OPTIM_ADAM, .beta1 = 1.0, .beta2 = 0.999, .eps = 1e-8},
        {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = -0.5, .eps = 1e-8},
        {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 0},
        {.kind = OPTIM_ADAMW, .beta1 = 1.5, .beta2 = 0.999, .eps = 1e-8},
        {.kind = OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = -1},
        {.kind = OPTIM_SGD, .weight_decay = -0.1},
        {.kind = OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = NAN},
        {.kind = OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
         .weight_decay = INFINITY},
        {.kind = (optim_kind)7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(optimizer_init(&opt, &bad[i], 4), S2S_EINVAL,
                     "config %zu was accepted", i);
        cr_expect(opt.m == NULL && opt.v == NULL, "config %zu left buffers allocated", i);
        optimizer_free(&opt);
    }
}

Test(optim, names_round_trip)
{
    optim_kind k;
    cr_expect_eq(optim_parse("sgd", &k), 0, "parse sgd");
    cr_expect_eq(k, OPTIM_SGD, "sgd parsed as %d", (int)k);
    cr_expect_eq(optim_parse("adam", &k), 0, "parse adam");
    cr_expect_eq(k, OPTIM_ADAM, "adam parsed as %d", (int)k);
    cr_expect_eq(optim_parse("adamw", &k), 0, "parse adamw");
    cr_expect_eq(k, OPTIM_ADAMW, "adamw parsed as %d", (int)k);
    cr_expect_str_eq(optim_name(OPTIM_SGD), "sgd", "name of OPTIM_SGD");
    cr_expect_str_eq(optim_name(OPTIM_ADAM), "adam", "name of OPTIM_ADAM");
    cr_expect_str_eq(optim_name(OPTIM_ADAMW), "adamw", "name of OPTIM_ADAMW");
    cr_expect(OPTIM_SGD == 0 && OPTIM_ADAM == 1 && OPTIM_ADAMW == 2,
              "enum values are persisted and must not change");
    cr_expect_eq(optim_parse("adagrad", &k), S2S_EINVAL, "unknown name accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "adagrad") != NULL,
              "error message does not name the input: %s", s2s_errmsg(S2S_EINVAL));
}

Test(optim, grad_norm_matches_direct_sum)
{
    enum { N = 1003 }; /* not a multiple of the lane count */
    real g[N];
    fill_uniform(g, N, -3, 3, 21, 0);
    double s = 0;
    for (int i = 0; i < N; i++)
        s += (double)g[i] * (double)g[i];
    /* Both sum the same N squares in double in other orders (grad_norm in lanes): each within
     * gamma_k(N) (double: 1.1e-13) of the exact sum of these positive terms, the square roots
     * within half that plus a rounding, so they agree to 1.2e-13 relative. */
    double want = sqrt(s), got = grad_norm(g, N);
    cr_expect(fabs(got - want) <= 1e-12 * want, "grad_norm %.15g, direct %.15g", got, want);
    cr_expect_eq(grad_norm(g, 0), 0.0, "norm of an empty buffer");
}

/* g = [3, 4] has norm 5. */
Test(optim, clip_grad_norm_scales_only_above)
{
    real g[2] = {3, 4};
    double n = clip_grad_norm(g, 2, 10);
    cr_expect_eq(n, 5.0, "returned norm %.9g below the limit", n);
    cr_expect(g[0] == 3 && g[1] == 4, "below the limit g changed to [%g, %g]", (double)g[0],
              (double)g[1]);

    n = clip_grad_norm(g, 2, 1);
    cr_expect_eq(n, 5.0, "returned norm %.9g is not the pre-clip norm", n);
    cr_expect(fabs(g[0] - 0.6) <= 1e-7 && fabs(g[1] - 0.8) <= 1e-7,
              "clipped to norm 1: g = [%.9g, %.9g], expected [0.6, 0.8]", (double)g[0],
              (double)g[1]);
    cr_expect(fabs(grad_norm(g, 2) - 1) <= 1e-7, "norm after clipping %.9g",
              grad_norm(g, 2));

    real h[2] = {30, 40};
    n = clip_grad_norm(h, 2, 0);
    cr_expect(n == 50.0 && h[0] == 30 && h[1] == 40,
              "max_norm 0 must disable clipping: norm %g, h = [%g, %g]", n, (double)h[0],
              (double)h[1]);
}

Test(optim, scale_buffer_multiplies)
{
    real x[5] = {1, -2, 0.5f, 0, 8};
    scale_buffer(x, 5, 0.25f);
    const real want[5] = {0.25f, -0.5f, 0.125f, 0, 2};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(x[i], want[i], "x[%d] = %g, expected %g", i, (double)x[i],
                     (double)want[i]);
}

Test(optim, weight_decay_error_names_the_field)
{
    optimizer opt;
    optim_config c = {.kind = OPTIM_SGD, .weight_decay = -1};
    cr_assert_eq(optimizer_init(&opt, &c, 3), S2S_EINVAL, "negative weight decay accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "weight decay") != NULL,
              "error message does not name weight decay: %s", s2s_errmsg(S2S_EINVAL));
}

/* ---- the moving average of the parameters (--ema) ---------------------------------------- */

Test(optim, ema_update_by_hand)
{
    real e[3] = {1, 0, -8}, p[3] = {3, 4, -8};
    ema_update(e, p, 3, 0.5);
    const real after_half[3] = {2, 2, -8};
    for (int i = 0; i < 3; i++)
        cr_expect_eq(e[i], after_half[i], "decay 0.5: e[%d] = %g, expected %g", i, (double)e[i],
                     (double)after_half[i]);
    ema_update(e, p, 3, 0.75); /* 1 - 0.75 is exact: e += (p - e) / 4 */
    const real after_quarter[3] = {2.25f, 2.5f, -8};
    for (int i = 0; i < 3; i++)
        cr_expect_eq(e[i], after_quarter[i], "decay 0.75: e[%d] = %g, expected %g", i,
                     (double)e[i], (double)after_quarter[i]);
    ema_update(e, p, 0, 0.5); /* nothing to do */
    cr_expect_eq(e[0], 2.25f);
}

/* Where the parameters equal the average (they did not move since it caught up) it stays
 * exactly where it is, whatever the decay: p - e is 0. */
Test(optim, ema_of_parameters_at_the_average_is_unchanged)
{
    enum { N = 1000 };
    real e[N], p[N];
    fill_uniform(e, N, -2, 2, 7, 0);
    memcpy(p, e, sizeof p);
    for (int k = 0; k < 20; k++)
        ema_update(e, p, N, k % 2 ? 0.999 : 0.3);
    cr_expect_eq(memcmp(e, p, sizeof e), 0, "the average moved off parameters that stood still");
}

/* One update against the same formula in double, with the weight 1 - decay rounded to float
 * once as the contract says. Per element the float computation rounds p - e, the product and
 * the sum once each (u = 2^-24; a fused multiply-add rounds less), so it lies within
 * gamma_2 |w (p - e)| + u (|exact| + gamma_2 |w (p - e)|) of the exact value; an update that
 * lost or doubled its step is off by |w (p - e)|, up to 0.4 here. */
Test(optim, ema_update_against_double)
{
    enum { N = 4096 };
    static real e[N], p[N];
    const double decays[] = {0.999, 0.9, 0.5, 0.1};
    diff_stat d = {.what = "ema_update against double"};
    for (size_t k = 0; k < sizeof decays / sizeof decays[0]; k++) {
        fill_uniform(e, N, -2, 2, 11, (uint32_t)k);
        fill_uniform(p, N, -2, 2, 12, (uint32_t)k);
        double want[N], w = (double)(real)(1 - decays[k]);
        for (int i = 0; i < N; i++)
            want[i] = (double)e[i] + w * ((double)p[i] - (double)e[i]);
        double step[N];
        for (int i = 0; i < N; i++)
            step[i] = fabs(w * ((double)p[i] - (double)e[i]));
        ema_update(e, p, N, decays[k]);
        for (int i = 0; i < N; i++) {
            double g2 = gamma_k(2), tol = g2 * step[i] + 0x1p-24 * (fabs(want[i]) + g2 * step[i]);
            cr_expect(diff_ok(&d, fabs((double)e[i] - want[i]), tol),
                      "decay %g: e[%d] = %.9g, expected %.17g (tolerance %.3g)", decays[k], i,
                      (double)e[i], want[i], tol);
        }
    }
    diff_report(&d);
}
