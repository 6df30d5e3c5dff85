/* learn_reverse.c - the learning test: a GRU encoder-decoder trained single-process on reversing
 * sequences of 20 symbols (lengths 4-12) must translate held-out sequences exactly in at least
 * 95% of cases, by greedy decoding. Held-out sequences are never trained on (synth.h). */
#include <stdio.h>

#include "s2s/status.h"
#include "learn_common.h"

int main(void)
{
    train_options o = learn_defaults();
    o.model = (model_config){.cell = CELL_GRU, .layers = 1, .bidir = true, .emb = 64,
                             .hidden = 256};
    o.task = (synth_task){.kind = TASK_REVERSE, .symbols = 20, .min_len = 4, .max_len = 12,
                          .seed = 1};
    o.batch = 128;
    o.steps = 1200;
    o.seed = 1;
    o.eval_every = 500;
    o.eval_size = 1000;
    train_result r;
    int rc = train_run(&o, stdout, &r);
    if (rc < 0) {
        fprintf(stderr, "learn_reverse: %s\n", s2s_errmsg(rc));
        return 1;
    }
    const double required = 0.95;
    printf("learn_reverse: held-out exact match %.4f (required %.2f) after %ld steps, %.1fs\n",
           r.exact_match, required, r.steps, r.seconds);
    if (r.exact_match < required) {
        fprintf(stderr, "learn_reverse: FAILED: exact match %.4f < %.2f\n", r.exact_match,
                required);
        return 1;
    }
    return 0;
}
