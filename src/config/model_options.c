/* model_options.c - the model-shape options' choices, and rebuilding a model configuration
 * from the options a checkpoint stored. */
#include "s2s/model_options.h"

#include <stdio.h>
#include <string.h>

#include "s2s/paramfile.h"
#include "s2s/status.h"

const char *const model_feed_names[] = {FEED_CHOICES(CHOICE_NAME) NULL};

void model_resolve_input_feed(model_config *c, int mode)
{
    c->input_feed = mode == FEED_ON || (mode == FEED_AUTO && (c->attn == ATTN_DOT ||
                                                              c->attn == ATTN_GENERAL));
}

typedef struct {
    model_config model;
    int input_feed_mode;
} stored_model;

#define EMB_DEFAULT "256"
#define HIDDEN_DEFAULT "256"
static const opt_spec stored_specs[] = {MODEL_OPTIONS(stored_model, model)};
#define N_STORED ((int)(sizeof stored_specs / sizeof stored_specs[0]))

typedef struct {
    const char *path;
    stored_model *dst;
} read_ctx;

int model_option_count(void)
{
    return N_STORED;
}

int model_option_index(const char *key)
{
    for (int i = 0; i < N_STORED; i++)
        if (!strcmp(stored_specs[i].name, key))
            return i;
    return -1;
}

bool model_option_fixed(const char *key)
{
    return model_option_index(key) >= 0 && strcmp(key, "dropout") != 0;
}

static int apply(const char *key, const char *value, void *ctx)
{
    read_ctx *c = ctx;
    int i = model_option_index(key);
    if (i < 0)
        return 0;
    char where[OPT_STRING_MAX + 64];
    snprintf(where, sizeof where, "%s: /config %s", c->path, key);
    int rc = opts_set(&stored_specs[i], c->dst, value, where);
    if (rc < 0) { /* a file's content, not a usage error: reported as a format error */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", s2s_errmsg(rc));
        return s2s_fail(S2S_EFORMAT, "%s", msg);
    }
    return 0;
}

int model_config_read(const char *path, model_config *cfg)
{
    stored_model s;
    int rc = opts_set_defaults(stored_specs, N_STORED, &s);
    read_ctx c = {.path = path, .dst = &s};
    if (rc < 0 || (rc = paramfile_read_config(path, apply, &c)) < 0)
        return rc;
    model_resolve_input_feed(&s.model, s.input_feed_mode);
    *cfg = s.model;
    return 0;
}
