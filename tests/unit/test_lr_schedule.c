/* test_lr_schedule.c - every schedule kind against values worked out by hand, warmup, the
 * min_lr floor, the plateau rule (threshold, patience, reset, floor), configuration errors.
 *
 * Most expected values are exact binary fractions (lr = 1, factors 0.5), compared with ==;
 * the others are compared to 1e-15 relative. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "s2s/lr_schedule.h"
#include "s2s/status.h"

static void expect_lr(const lr_config *c, const lr_state *s, long step, double want)
{
    double got = lr_value(c, s, step);
    cr_expect(fabs(got - want) <= 1e-15 * fabs(want) || got == want,
              "%s (warmup %ld, steps %ld, min_lr %g) at step %ld: %.17g, expected %.17g",
              lr_kind_names[c->kind], c->warmup, c->steps, c->min_lr, step, got, want);
}

static lr_state fresh(void)
{
    lr_state s;
    lr_state_init(&s);
    return s;
}

Test(lr_schedule, names_and_values)
{
    const char *want[] = {"constant", "linear", "inverse-sqrt", "step", "plateau"};
    cr_expect(LR_CONSTANT == 0 && LR_LINEAR == 1 && LR_INVSQRT == 2 && LR_STEP == 3 &&
                  LR_PLATEAU == 4,
              "enum values are persisted and must not change");
    for (int k = 0; k < 5; k++)
        cr_expect_str_eq(lr_kind_names[k], want[k], "name of kind %d", k);
    cr_expect_null(lr_kind_names[5], "lr_kind_names is not NULL-terminated");
}

Test(lr_schedule, state_init)
{
    lr_state s = {.scale = 7, .best = 1, .bad = 3};
    lr_state_init(&s);
    cr_expect(s.scale == 1 && isinf(s.best) && s.best > 0 && s.bad == 0,
              "lr_state_init: scale %g best %g bad %d", s.scale, s.best, s.bad);
}

/* Warmup W = 4 from lr / 4: 0.25, 0.5, 0.75, 1, then constant 1. */
Test(lr_schedule, constant_with_warmup)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_CONSTANT, .lr = 1, .warmup = 4};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    const double want[] = {0.25, 0.5, 0.75, 1, 1, 1};
    for (long t = 1; t <= 6; t++)
        expect_lr(&c, &s, t, want[t - 1]);
    expect_lr(&c, &s, 1000000, 1);
    c.warmup = 0;
    expect_lr(&c, &s, 1, 1);
    expect_lr(&c, &s, 0, 1); /* steps below 1 count as 1 */
    c.warmup = 4;
    expect_lr(&c, &s, 0, 0.25);
    expect_lr(&c, &s, -5, 0.25);
}

/* Without warmup, exactly the historical lr_at: lr * (steps - step + 1) / steps, computed in the
 * same order, so the default demo run is unchanged bit for bit. lr = 0.1, steps = 5:
 * 0.1, 0.08, 0.06, 0.04, 0.02, then 0 after the last step. */
Test(lr_schedule, linear_is_the_historical_decay)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_LINEAR, .lr = 0.1, .steps = 5};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    const double want[] = {0.1, 0.08, 0.06, 0.04, 0.02, 0};
    for (long t = 1; t <= 6; t++)
        expect_lr(&c, &s, t, want[t - 1]);
    c.lr = 3e-4;
    c.steps = 1200;
    for (long t = 1; t <= 1200; t++) {
        double old = c.lr * (double)(c.steps - t + 1) / (double)c.steps;
        cr_assert_eq(lr_value(&c, &s, t), old, "step %ld: %.17g, historical %.17g", t,
                     lr_value(&c, &s, t), old);
    }
}

/* W = 2, steps = 10, lr = 1: ramp 0.5, 1; then (10 - s + 1) / 8: s = 3 -> 1, 4 -> 0.875,
 * 9 -> 0.25, 10 -> 0.125; 0 after the last step. */
Test(lr_schedule, linear_with_warmup)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_LINEAR, .lr = 1, .warmup = 2, .steps = 10};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    expect_lr(&c, &s, 1, 0.5);
    expect_lr(&c, &s, 2, 1);
    expect_lr(&c, &s, 3, 1);
    expect_lr(&c, &s, 4, 0.875);
    expect_lr(&c, &s, 9, 0.25);
    expect_lr(&c, &s, 10, 0.125);
    expect_lr(&c, &s, 11, 0);
    /* a run no longer than its warmup is all ramp, and 0 (never a division by 0) after it */
    c.steps = 2;
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    expect_lr(&c, &s, 2, 1);
    expect_lr(&c, &s, 3, 0);
}

/* lr = 1, W = 4: ramp 0.25 .. 1 at step 4 (continuous), then sqrt(4 / s): s = 16 -> 0.5,
 * s = 100 -> 0.2, s = 5 -> sqrt(0.8). W = 0 uses max(W, 1) = 1: 1 / sqrt(s). */
Test(lr_schedule, inverse_sqrt)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_INVSQRT, .lr = 1, .warmup = 4};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    expect_lr(&c, &s, 1, 0.25);
    expect_lr(&c, &s, 4, 1);
    expect_lr(&c, &s, 5, sqrt(0.8));
    expect_lr(&c, &s, 16, 0.5);
    expect_lr(&c, &s, 100, 0.2);
    c.warmup = 0;
    expect_lr(&c, &s, 1, 1);
    expect_lr(&c, &s, 4, 0.5);
    expect_lr(&c, &s, 100, 0.1);
    c.warmup = 1; /* the same curve as W = 0: one warmup step of lr / 1 */
    expect_lr(&c, &s, 1, 1);
    expect_lr(&c, &s, 4, 0.5);
}

/* lr = 1, W = 2, every 3 steps x 0.5: ramp 0.5, 1; steps 3-5 at 1, 6-8 at 0.5, 9-11 at 0.25. */
Test(lr_schedule, step_decay)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_STEP, .lr = 1, .warmup = 2, .decay_every = 3, .decay_factor = 0.5};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    const double want[] = {0.5, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125};
    for (long t = 1; t <= 12; t++)
        expect_lr(&c, &s, t, want[t - 1]);
    c.warmup = 0; /* steps 1-3 at 1, then 0.5 from step 4 */
    expect_lr(&c, &s, 3, 1);
    expect_lr(&c, &s, 4, 0.5);
    expect_lr(&c, &s, 3 * 10 + 1, ldexp(1, -10));
}

Test(lr_schedule, min_lr_floor_after_warmup_only)
{
    lr_state s = fresh();
    /* linear, lr 1, 10 steps: 0.3 at step 8, 0.2 at step 9 -> floored to 0.25 */
    lr_config c = {.kind = LR_LINEAR, .lr = 1, .steps = 10, .min_lr = 0.25};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    expect_lr(&c, &s, 8, 0.3);
    expect_lr(&c, &s, 9, 0.25);
    expect_lr(&c, &s, 10, 0.25);
    expect_lr(&c, &s, 50, 0.25);
    /* inverse-sqrt at step 100 would be 0.1 */
    c = (lr_config){.kind = LR_INVSQRT, .lr = 1, .min_lr = 0.2};
    expect_lr(&c, &s, 100, 0.2);
    expect_lr(&c, &s, 16, 0.25);
    /* step decay: 0.5^k, floored */
    c = (lr_config){.kind = LR_STEP, .lr = 1, .decay_every = 1, .decay_factor = 0.5,
                    .min_lr = 0.3};
    expect_lr(&c, &s, 2, 0.5);
    expect_lr(&c, &s, 3, 0.3);
    /* the warmup ramp starts below the floor */
    c = (lr_config){.kind = LR_CONSTANT, .lr = 1, .warmup = 4, .min_lr = 0.6};
    expect_lr(&c, &s, 1, 0.25);
    expect_lr(&c, &s, 2, 0.5);
    expect_lr(&c, &s, 3, 0.75);
}

/* Improvement is loss < best - 1e-4 |best|. patience 2, factor 0.5, lr 1, min_lr 0.1. */
Test(lr_schedule, plateau_sequence)
{
    lr_state s = fresh();
    lr_config c = {.kind = LR_PLATEAU, .lr = 1, .decay_factor = 0.5, .patience = 2,
                   .min_lr = 0.1};
    cr_assert_eq(lr_config_check(&c), 0, "%s", s2s_errmsg(S2S_EINVAL));
    struct {
        double loss;
        bool reduced;
        double scale, best;
        int bad;
    } seq[] = {
        {5.0, false, 1, 5.0, 0},       /* anything beats +inf */
        {4.0, false, 1, 4.0, 0},
        {3.9997, false, 1, 4.0, 1},    /* within 1e-4 relative of 4: no improvement */
        {3.9995, false, 1, 3.9995, 0}, /* below 4 - 4e-4: improvement, streak reset */
        {4.5, false, 1, 3.9995, 1},
        {3.9995, true, 0.5, 3.9995, 0}, /* equal is no improvement: 2nd in a row, halve */
        {4.1, false, 0.5, 3.9995, 1},  /* counting again from 0 */
        {NAN, true, 0.25, 3.9995, 0},  /* NaN never improves */
        {3.0, false, 0.25, 3.0, 0},
        {3.1, false, 0.25, 3.0, 1},
        {3.2, true, 0.125, 3.0, 0},
        {3.1, false, 0.125, 3.0, 1},
        {3.1, true, 0.1, 3.0, 0},      /* 0.0625 would go below min_lr: stops at 0.1 */
        {3.1, false, 0.1, 3.0, 1},
        {3.1, false, 0.1, 3.0, 0},     /* at the floor: no reduction reported */
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        bool r = lr_observe(&c, &s, seq[i].loss);
        cr_expect_eq(r, seq[i].reduced, "validation %zu (loss %g): reduced %d, expected %d", i,
                     seq[i].loss, r, seq[i].reduced);
        cr_expect(fabs(s.scale - seq[i].scale) <= 1e-15 && s.best == seq[i].best &&
                      s.bad == seq[i].bad,
                  "after validation %zu (loss %g): scale %.17g best %g bad %d, expected %g %g %d",
                  i, seq[i].loss, s.scale, s.best, s.bad, seq[i].scale, seq[i].best,
                  seq[i].bad);
        expect_lr(&c, &s, 100, seq[i].scale);
    }
}

/* The plateau scale multiplies the warmup ramp too: no jump at its end. */
Test(lr_schedule, plateau_scale_and_warmup)
{
    lr_config c = {.kind = LR_PLATEAU, .lr = 1, .warmup = 4, .decay_factor = 0.5, .patience = 1};
    lr_state s = fresh();
    cr_expect(!lr_observe(&c, &s, 2.0), "first validation reduced");
    cr_expect(lr_observe(&c, &s, 2.0), "patience 1: one validation without improvement must "
                                       "reduce");
    expect_lr(&c, &s, 2, 0.25);
    expect_lr(&c, &s, 4, 0.5);
    expect_lr(&c, &s, 5, 0.5);
}

/* Other kinds keep best and bad for the logs but never change their learning rate. */
Test(lr_schedule, observe_on_other_kinds)
{
    lr_config c = {.kind = LR_CONSTANT, .lr = 1, .decay_factor = 0.5, .patience = 1};
    lr_state s = fresh();
    for (int i = 0; i < 5; i++)
        cr_expect(!lr_observe(&c, &s, 1.0 + i), "constant schedule reported a reduction");
    cr_expect(s.scale == 1 && s.best == 1.0 && s.bad == 4, "state: scale %g best %g bad %d",
              s.scale, s.best, s.bad);
    expect_lr(&c, &s, 10, 1);
}

Test(lr_schedule, invalid_configs_name_the_field)
{
    struct {
        lr_config c;
        const char *field;
    } bad[] = {
        {{.kind = (lr_kind)9, .lr = 1}, "kind"},
        {{.kind = LR_CONSTANT, .lr = 0}, "lr"},
        {{.kind = LR_CONSTANT, .lr = INFINITY}, "lr"},
        {{.kind = LR_CONSTANT, .lr = NAN}, "lr"},
        {{.kind = LR_CONSTANT, .lr = 1, .warmup = -1}, "warmup"},
        {{.kind = LR_LINEAR, .lr = 1, .steps = -1}, "steps"},
        {{.kind = LR_CONSTANT, .lr = 1, .min_lr = -1e-3}, "min_lr"},
        {{.kind = LR_CONSTANT, .lr = 1, .min_lr = 2}, "min_lr"},
        {{.kind = LR_STEP, .lr = 1, .decay_every = 0, .decay_factor = 0.5}, "decay_every"},
        {{.kind = LR_STEP, .lr = 1, .decay_every = 5, .decay_factor = 0}, "decay_factor"},
        {{.kind = LR_STEP, .lr = 1, .decay_every = 5, .decay_factor = 1.5}, "decay_factor"},
        {{.kind = LR_PLATEAU, .lr = 1, .decay_factor = 1, .patience = 2}, "decay_factor"},
        {{.kind = LR_PLATEAU, .lr = 1, .decay_factor = 0.5, .patience = 0}, "patience"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(lr_config_check(&bad[i].c), S2S_EINVAL, "config %zu accepted", i);
        cr_expect(strstr(s2s_errmsg(S2S_EINVAL), bad[i].field) != NULL,
                  "config %zu: message does not name %s: %s", i, bad[i].field,
                  s2s_errmsg(S2S_EINVAL));
    }
    lr_config ok[] = {
        {.kind = LR_STEP, .lr = 1, .decay_every = 1, .decay_factor = 1},
        {.kind = LR_PLATEAU, .lr = 1, .decay_factor = 0.1, .patience = 1, .min_lr = 1},
        {.kind = LR_LINEAR, .lr = 1, .steps = 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(lr_config_check(&ok[i]), 0, "valid config %zu rejected: %s", i,
                     s2s_errmsg(S2S_EINVAL));
}
