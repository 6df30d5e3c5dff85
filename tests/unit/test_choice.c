/* test_choice.c - choice lists (include/s2s/choice.h, src/core/choice.c): the lookups, and
 * every list of the program checked for what a hand edit could break: a names array whose
 * length is not its enum's count, an empty or repeated name. */
#include <criterion/criterion.h>

#include <string.h>

#include "s2s/attention.h"
#include "s2s/average.h"
#include "s2s/bleu.h"
#include "s2s/choice.h"
#include "s2s/ckpt.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/formats.h"
#include "s2s/gen.h"
#include "s2s/lr_schedule.h"
#include "s2s/model.h"
#include "s2s/model_options.h"
#include "s2s/optim.h"
#include "s2s/prep.h"
#include "s2s/rnn.h"
#include "s2s/spm.h"
#include "s2s/status.h"
#include "s2s/train.h"
#include "s2s/vocab.h"

static const char *const COLORS[] = {"red", "green", "blue", NULL};

Test(choice, find_parse_name_count)
{
    cr_expect_eq(choice_count(COLORS), 3);
    cr_expect_eq(choice_find(COLORS, "green"), 1);
    cr_expect_eq(choice_find(COLORS, "Green"), -1, "lookups are case-sensitive");
    cr_expect_eq(choice_find(COLORS, ""), -1);
    cr_expect_eq(choice_parse("color", COLORS, "blue"), 2);
    cr_expect_str_eq(choice_name(COLORS, 0), "red");
    cr_expect_str_eq(choice_name(COLORS, 3), "?", "the NULL end is not a name");
    cr_expect_str_eq(choice_name(COLORS, -1), "?");
}

Test(choice, unknown_name_lists_the_choices)
{
    cr_assert_eq(choice_parse("color", COLORS, "pink"), S2S_EINVAL);
    cr_expect_str_eq(s2s_errmsg(S2S_EINVAL),
                     "unknown color 'pink' (expected red, green or blue)");
}

typedef struct {
    const char *what;
    const char *const *names;
    int count;
} list;

Test(choice, every_list_matches_its_enum)
{
    const list lists[] = {
        {"cells", cell_names, CELL_COUNT},
        {"attention", attn_names, ATTN_COUNT},
        {"input feed", model_feed_names, FEED_COUNT},
        {"optimizers", optim_names, OPTIM_COUNT},
        {"lr schedules", lr_kind_names, LR_COUNT},
        {"tf schedules", tf_schedule_names, TF_COUNT},
        {"checkpoint errors", ckpt_error_names, CKPT_ERROR_COUNT},
        {"validation metrics", valid_metric_names, METRIC_COUNT},
        {"progress modes", progress_mode_names, PROGRESS_COUNT},
        {"initializations", init_names, INIT_COUNT},
        {"tokenizers", tokenizer_names, TOKENIZER_COUNT},
        {"detokenizers", detok_names, DETOK_COUNT},
        {"SentencePiece model types", spm_type_names, SPM_TYPE_COUNT},
        {"SentencePiece training", spm_train_names, SPM_TRAIN_COUNT},
        {"long policies", long_policy_names, LONG_COUNT},
        {"BLEU tokenizers", bleu_tokenizer_names, BLEU_TOK_COUNT},
        {"BLEU smoothing", bleu_smooth_names, BLEU_SMOOTH_COUNT},
        {"splits", split_names, SPLIT_COUNT},
        {"gradient communication", comm_grad_names, COMM_GRAD_COUNT},
        {"generator tasks", gen_task_names, GEN_N_KINDS},
        {"checkpoint kinds", ckpt_kind_names, CKPT_KIND_COUNT},
        {"averaged weights", avg_weights_names, AVG_WEIGHTS_COUNT},
    };
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        const list *c = &lists[l];
        cr_expect_eq(choice_count(c->names), c->count, "%s: %d names for %d values", c->what,
                     choice_count(c->names), c->count);
        for (int i = 0; i < c->count && c->names[i]; i++) {
            cr_expect(c->names[i][0] != '\0', "%s: value %d has an empty name", c->what, i);
            cr_expect_eq(choice_find(c->names, c->names[i]), i, "%s: '%s' named twice", c->what,
                         c->names[i]);
        }
    }
}

/* The accessors that modules export agree with the lists. */
Test(choice, module_names_and_parsers)
{
    cr_expect_str_eq(cell_name(CELL_LSTM), "lstm");
    cr_expect_str_eq(cell_name((cell_type)CELL_COUNT), "?");
    cr_expect_str_eq(attn_name(ATTN_GENERAL), "general");
    cr_expect_str_eq(optim_name(OPTIM_ADAMW), "adamw");
    cell_type c;
    cr_expect_eq(cell_parse("gru", &c), 0);
    cr_expect_eq(c, CELL_GRU);
    cr_expect_eq(cell_parse("GRU", &c), S2S_EINVAL);
    cr_expect_str_eq(s2s_errmsg(S2S_EINVAL), "unknown cell type 'GRU' (expected rnn, gru or lstm)");
    attn_kind a;
    cr_expect_eq(attn_parse("dot", &a), 0);
    cr_expect_eq(a, ATTN_DOT);
    cr_expect_str_eq(split_name(SPLIT_VALID), "valid");
}
