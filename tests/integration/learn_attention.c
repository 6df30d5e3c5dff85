/* learn_attention.c - the attention learning test: reversing sequences of 15-30 symbols, a
 * reordering whose alignments an encoder-decoder without attention must squeeze through one
 * fixed-size state. A GRU model with Bahdanau attention must reach at least 95% held-out exact
 * match by greedy decoding; the same-size model without attention, trained identically, is
 * reported beside it for comparison (not asserted). */
#include <stdio.h>

#include "s2s/status.h"
#include "learn_common.h"

static train_options options(attn_kind attn)
{
    train_options o = learn_defaults();
    o.model = (model_config){.cell = CELL_GRU, .layers = 1, .bidir = true, .emb = 64,
                             .hidden = 128, .attn = attn};
    o.task = (synth_task){.kind = TASK_REVERSE, .symbols = 20, .min_len = 15, .max_len = 30,
                          .seed = 3};
    o.batch = 64;
    o.steps = 500;
    o.seed = 3;
    o.eval_every = 0;
    o.eval_size = 500;
    o.samples = 2;
    return o;
}

int main(void)
{
    train_result with, without;
    train_options o = options(ATTN_BAHDANAU);
    int rc = train_run(&o, stdout, &with);
    if (rc == 0) {
        o = options(ATTN_NONE);
        rc = train_run(&o, stdout, &without);
    }
    if (rc < 0) {
        fprintf(stderr, "learn_attention: %s\n", s2s_errmsg(rc));
        return 1;
    }
    const double required = 0.95;
    printf("learn_attention: lengths 15-30, %ld steps: held-out exact match %.4f with Bahdanau "
           "attention (required %.2f), %.4f without attention (token accuracy %.4f vs %.4f)\n",
           with.steps, with.exact_match, required, without.exact_match, with.eval_token_acc,
           without.eval_token_acc);
    if (with.exact_match < required) {
        fprintf(stderr, "learn_attention: FAILED: exact match %.4f < %.2f\n", with.exact_match,
                required);
        return 1;
    }
    return 0;
}
