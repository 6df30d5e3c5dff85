/* lr_schedule.c - learning-rate schedules with warmup and a floor, and reduce-on-plateau.
 *
 * Everything is computed in double from the step number alone (no running products), so the
 * value at a step does not depend on how the run got there: a resumed run and a fresh one agree
 * exactly, and the double-precision test build computes the same numbers as the float one. */
#include "s2s/lr_schedule.h"

#include <math.h>
#include <stddef.h>

#include "s2s/status.h"

/* Relative improvement a validation loss needs over the best so far (PyTorch's default
 * threshold): noise-level wiggles of a flat loss curve count as "no improvement". */
#define LR_PLATEAU_THRESHOLD 1e-4

const char *const lr_kind_names[] = {LR_CHOICES(CHOICE_NAME) NULL};

int lr_config_check(const lr_config *c)
{
    if ((unsigned)c->kind >= LR_COUNT)
        return s2s_fail(S2S_EINVAL, "lr schedule: unknown kind %d", (int)c->kind);
    const char *k = lr_kind_names[c->kind];
    if (!(c->lr > 0 && isfinite(c->lr)))
        return s2s_fail(S2S_EINVAL, "lr schedule %s: lr must be positive and finite, got %g", k,
                        c->lr);
    if (c->warmup < 0)
        return s2s_fail(S2S_EINVAL, "lr schedule %s: warmup must be >= 0, got %ld", k, c->warmup);
    if (c->steps < 0)
        return s2s_fail(S2S_EINVAL, "lr schedule %s: steps must be >= 0, got %ld", k, c->steps);
    if (!(c->min_lr >= 0 && c->min_lr <= c->lr))
        return s2s_fail(S2S_EINVAL, "lr schedule %s: min_lr must be in [0, lr = %g], got %g", k,
                        c->lr, c->min_lr);
    /* LR_LINEAR needs no more: with steps <= warmup (a run of 0 steps, say) every step after
     * the warmup is past the end and gets 0, floored at min_lr, never a division by zero. */
    switch (c->kind) {
    case LR_STEP:
        if (c->decay_every < 1)
            return s2s_fail(S2S_EINVAL, "lr schedule step: decay_every must be >= 1, got %ld",
                            c->decay_every);
        if (!(c->decay_factor > 0 && c->decay_factor <= 1))
            return s2s_fail(S2S_EINVAL, "lr schedule step: decay_factor must be in (0, 1], got %g",
                            c->decay_factor);
        break;
    case LR_PLATEAU:
        if (!(c->decay_factor > 0 && c->decay_factor < 1))
            return s2s_fail(S2S_EINVAL,
                            "lr schedule plateau: decay_factor must be in (0, 1), got %g",
                            c->decay_factor);
        if (c->patience < 1)
            return s2s_fail(S2S_EINVAL, "lr schedule plateau: patience must be >= 1, got %d",
                            c->patience);
        break;
    default: break;
    }
    return 0;
}

void lr_state_init(lr_state *s)
{
    s->scale = 1;
    s->best = INFINITY;
    s->bad = 0;
}

double lr_value(const lr_config *c, const lr_state *s, long step)
{
    if (step < 1)
        step = 1;
    double scale = c->kind == LR_PLATEAU ? s->scale : 1;
    long w = c->warmup;
    /* The ramp reaches lr exactly at step W; the floor does not apply, or a min_lr above lr/W
     * would flatten its start. */
    if (step <= w)
        return c->lr * scale * (double)step / (double)w;
    double x = (double)step, v;
    switch (c->kind) {
    case LR_LINEAR:
        v = step > c->steps ? 0 : c->lr * (double)(c->steps - step + 1) / (double)(c->steps - w);
        break;
    case LR_INVSQRT: v = c->lr * sqrt((double)(w > 1 ? w : 1) / x); break;
    case LR_STEP: v = c->lr * pow(c->decay_factor, (double)((step - w - 1) / c->decay_every)); break;
    case LR_PLATEAU: v = c->lr * scale; break;
    default: v = c->lr; break;
    }
    return v > c->min_lr ? v : c->min_lr;
}

bool lr_observe(const lr_config *c, lr_state *s, double valid_loss)
{
    /* +inf - 1e-4 * inf would be NaN, and nothing compares below NaN. */
    double bar = isinf(s->best) ? s->best : s->best - LR_PLATEAU_THRESHOLD * fabs(s->best);
    if (valid_loss < bar) {
        s->best = valid_loss;
        s->bad = 0;
        return false;
    }
    s->bad++;
    if (c->kind != LR_PLATEAU || s->bad < c->patience)
        return false;
    s->bad = 0;
    /* Clamp at the floor so that scale keeps meaning "the factor in use" and a run stuck at
     * min_lr does not report reductions that change nothing. */
    double floor_scale = c->min_lr / c->lr, next = s->scale * c->decay_factor;
    if (next < floor_scale)
        next = floor_scale;
    if (!(next < s->scale))
        return false;
    s->scale = next;
    return true;
}
