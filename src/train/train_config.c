/* train_config.c - the configuration that checkpoints store: the options text of this run as
 * "key=value" strings, with the dataset's tokenizer settings joined as data.<name>; and the
 * check of a resumed run's options against those its checkpoint was trained with (which may
 * change, which are refused, which are ignored as belonging to the invocation).
 *
 * Separate because it is text handling with rules of its own, the same whatever the loop does:
 * a newcomer who wants to know why a resume was refused reads this file only. */
#include <stdlib.h>
#include <string.h>

#include "s2s/model_options.h"
#include "s2s/status.h"
#include "train/trainer.h"

/* Appends "key=value" (key and value given by pointer and length) to the checkpoint config. */
static int config_add(trainer *t, const char *key, size_t klen, const char *value, size_t vlen)
{
    size_t n = 0;
    while (t->config && t->config[n])
        n++;
    char **grown = realloc(t->config, (n + 2) * sizeof *grown);
    if (!grown)
        return s2s_fail(S2S_ENOMEM, "train: options list");
    t->config = grown;
    t->config[n + 1] = NULL;
    if (!(t->config[n] = malloc(klen + vlen + 2)))
        return s2s_fail(S2S_ENOMEM, "train: options list");
    memcpy(t->config[n], key, klen);
    t->config[n][klen] = '=';
    memcpy(t->config[n] + klen + 1, value, vlen);
    t->config[n][klen + 1 + vlen] = '\0';
    return 0;
}

/* Calls fn(key, klen, value, vlen) for each "name = value" line of an options text (as written
 * by opts_write_config: blank lines and # comments skipped, spaces around '=' trimmed). */
typedef int (*config_line_fn)(trainer *t, const char *key, size_t klen, const char *value,
                              size_t vlen);
static int each_config_line(trainer *t, const char *text, config_line_fn fn)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *eq = memchr(line, '=', len);
        if (eq && line[0] != '#') {
            const char *ke = eq, *vs = eq + 1;
            while (ke > line && ke[-1] == ' ')
                ke--;
            while (vs < line + len && *vs == ' ')
                vs++;
            int rc = fn(t, line, (size_t)(ke - line), vs, (size_t)(line + len - vs));
            if (rc < 0)
                return rc;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* The options text ("name = value" lines) as "name=value" strings for checkpoints. */
int trainer_config_parse(trainer *t, const char *options_text)
{
    if (!(t->config = calloc(1, sizeof *t->config)))
        return s2s_fail(S2S_ENOMEM, "train: options list");
    return each_config_line(t, options_text, config_add);
}

/* The dataset's tokenizer settings join the checkpoint's config as data.<name>, so that
 * `s2s translate` can tokenize new text as `s2s prep` did. */
static int add_data_option(trainer *t, const char *key, size_t klen, const char *value,
                           size_t vlen)
{
    static const char *const KEEP[] = {"tokenizer", "lowercase", NULL};
    for (const char *const *k = KEEP; *k; k++) {
        if (strlen(*k) == klen && !strncmp(*k, key, klen)) {
            char name[64];
            snprintf(name, sizeof name, "data.%s", *k);
            return config_add(t, name, strlen(name), value, vlen);
        }
    }
    return 0;
}

/* dataset_options: the options text `s2s prep` stored in the dataset. */
int trainer_config_add_data(trainer *t, const char *dataset_options)
{
    return each_config_line(t, dataset_options, add_data_option);
}

static const char *config_value(char *const *config, const char *key)
{
    size_t k = strlen(key);
    for (char *const *c = config; c && *c; c++)
        if (!strncmp(*c, key, k) && (*c)[k] == '=')
            return *c + k + 1;
    return NULL;
}

/* ---- checking a resumed configuration against its checkpoint ------------------------------ */

/* Options besides the model's fixed ones (model_option_fixed) that decide the shape of the
 * optimizer state, what the kept best validation figure means, or the weights validated and
 * kept (the EMA's). */
static const char *const FIXED_KEYS[] = {"optim", "best-metric", "grad-comm", "ema", NULL};
/* Options that name this invocation, not the run (the kernels may differ from machine to
 * machine; each checkpoint records those of its writer), and those of how a new run began
 * (--init-from and its resets), which a resumed run does not apply again. */
static const char *const INVOCATION_KEYS[] = {"resume", "blas-core", "probe-timeout",
                                              "large-vocab", "init-from", "reset-optimizer",
                                              "reset-schedule", NULL};

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (!strcmp(*list, key))
            return true;
    return false;
}

typedef struct {
    trainer *t;
    const char *path;
} resume_check;

static int check_resumed_option(const char *key, const char *value, void *ctx)
{
    resume_check *chk = ctx;
    const char *now = config_value(chk->t->config, key);
    if (!now || !strcmp(now, value) || in_list(INVOCATION_KEYS, key))
        return 0;
    if (model_option_fixed(key) || in_list(FIXED_KEYS, key))
        return s2s_fail(S2S_EINVAL,
                        "resume: %s was trained with --%s %s, this run asks for --%s %s; the "
                        "model and optimizer shape, the best-checkpoint metric, the gradient "
                        "communication and the EMA cannot change on resume",
                        chk->path, key, value, key, now);
    trainer_note(chk->t, "resume: --%s changed from %s to %s", key, value, now);
    return 0;
}

/* Rank 0: the options the checkpoint at path was trained with against this run's: a change
 * that cannot be is S2S_EINVAL, one that can is noted. */
int trainer_config_check_resumed(trainer *t, const char *path)
{
    resume_check chk = {.t = t, .path = path};
    return ckpt_read_config(path, check_resumed_option, &chk);
}
