/* learn_common.h - the training settings the learning tests share: Adam with a linearly
 * decaying learning rate, clipping, teacher forcing, one OpenBLAS thread. Each test sets the
 * model, the task and the number of steps. */
#ifndef S2S_LEARN_COMMON_H
#define S2S_LEARN_COMMON_H

#include "s2s/train.h"

static inline train_options learn_defaults(void)
{
    train_options o = {
        .optim = OPTIM_ADAM,
        .lr = 3e-3,
        .schedule = LR_LINEAR,
        .teacher_forcing = 1.0,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .clip = 5.0,
        .init = INIT_UNIFORM,
        .init_scale = 0.1,
        .log_every = 100,
        .samples = 3,
        .threads = 1,
    };
    return o;
}

#endif
