/* lr_schedule.h - learning rate as a function of the step, and reduce-on-plateau.
 *
 * A schedule is a pure function of its configuration, the 1-based step and a small state that
 * only validations change (lr_state, saved in checkpoints), so a resumed run continues the
 * very same curve. With W = warmup, every kind starts with a linear ramp lr * step / W for
 * steps 1..W, then (s = step):
 *   constant      lr
 *   linear        lr * (steps - s + 1) / (steps - W)   (lr at s = W + 1, lr / (steps - W) at the
 *                                                       last step, 0 after it; W = 0: the
 *                                                       historical lr * (steps - s + 1) / steps)
 *   inverse-sqrt  lr * sqrt(max(W, 1) / s)              (continuous at the end of the warmup;
 *                                                       W = 0: lr / sqrt(s))
 *   step          lr * decay_factor ^ floor((s - W - 1) / decay_every)
 *   plateau       lr * scale                            (scale from lr_observe; it also scales
 *                                                       the warmup ramp)
 * After the warmup no value is below min_lr. Formulas and the plateau rule: docs/training.md. */
#ifndef S2S_LR_SCHEDULE_H
#define S2S_LR_SCHEDULE_H

#include <stdbool.h>

#include "s2s/choice.h"

/* The schedules (include/s2s/choice.h); a new one also needs its curve in lr_schedule.c. */
#define LR_CHOICES(X)                                                                              \
    X(LR_CONSTANT, "constant") X(LR_LINEAR, "linear") X(LR_INVSQRT, "inverse-sqrt")                \
    X(LR_STEP, "step") X(LR_PLATEAU, "plateau")
typedef enum { LR_CHOICES(CHOICE_ENUM) LR_COUNT } lr_kind;
extern const char *const lr_kind_names[]; /* NULL-terminated, indexed by lr_kind */

typedef struct {
    lr_kind kind;
    double lr;            /* peak / base learning rate */
    long warmup;          /* steps of linear warmup from lr/warmup to lr (0: none); applies to every kind */
    long steps;           /* total steps of the run (LR_LINEAR decays to 0 at the last step) */
    long decay_every;     /* LR_STEP: multiply by decay_factor every decay_every steps after warmup */
    double decay_factor;  /* LR_STEP factor; LR_PLATEAU factor (0.5: halving) */
    int patience;         /* LR_PLATEAU: validations without improvement before reducing */
    double min_lr;        /* no schedule goes below this (except during warmup) */
} lr_config;

/* Plateau state; persisted in checkpoints. best and bad are kept for every kind (they are
 * useful in logs); only LR_PLATEAU ever changes scale. */
typedef struct {
    double scale; /* multiplies an LR_PLATEAU schedule; 1 until the first reduction */
    double best;  /* lowest validation loss seen; +inf before the first */
    int bad;      /* validations in a row without improvement since the last improvement or
                   * reduction */
} lr_state;

/* Validates c; S2S_EINVAL naming the field. Needed: a known kind, finite lr > 0, warmup >= 0,
 * steps >= 0, 0 <= min_lr <= lr; step: decay_every >= 1, 0 < decay_factor <= 1; plateau:
 * 0 < decay_factor < 1, patience >= 1. Fields a kind does not use are not checked. */
int lr_config_check(const lr_config *c);

void lr_state_init(lr_state *s); /* scale 1, best +inf, bad 0 */

/* Learning rate at `step` (1-based; values below 1 count as 1) of a checked configuration. */
double lr_value(const lr_config *c, const lr_state *s, long step);

/* Records a validation loss. It improves when loss < best - 1e-4 * |best| (a relative 1e-4, as
 * PyTorch's ReduceLROnPlateau; any finite loss improves on +inf, NaN never improves): then best
 * = loss and bad = 0. Otherwise bad counts up, and LR_PLATEAU multiplies scale by decay_factor
 * when bad reaches `patience` (the patience-th validation in a row without improvement), then
 * counts again from 0. A reduction that would take lr * scale below min_lr stops at min_lr; at
 * the floor nothing is reduced any more. Returns true when scale was reduced. */
bool lr_observe(const lr_config *c, lr_state *s, double valid_loss);

#endif
