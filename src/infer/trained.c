/* trained.c - reading a trained model back from a checkpoint for decoding and evaluation. */
#include "s2s/trained.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/ckpt.h"
#include "s2s/model_options.h"
#include "s2s/paramfile.h"
#include "s2s/status.h"

typedef struct {
    vocab *v;
    const char *path, *side;
} vocab_ctx;

static int add_token(int id, const char *text, void *ctx)
{
    vocab_ctx *c = ctx;
    char where[4200];
    snprintf(where, sizeof where, "%s: /vocab/%s[%d]", c->path, c->side, id);
    return vocab_append(c->v, text, where);
}

static int data_option(const char *key, const char *value, void *ctx)
{
    trained_model *tm = ctx;
    if (!strcmp(key, "data.tokenizer")) {
        int k = choice_parse("tokenizer", tokenizer_names, value);
        if (k < 0) { /* the file's content: a format error naming the file */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", s2s_errmsg(k));
            return s2s_fail(S2S_EFORMAT, "%s: /config data.tokenizer: %s", tm->path, msg);
        }
        tm->tokenizer = (tokenizer_kind)k;
    } else if (!strcmp(key, "data.lowercase")) {
        tm->lowercase = !strcmp(value, "true");
    }
    return 0;
}

int trained_open(trained_model *tm, const char *path)
{
    memset(tm, 0, sizeof *tm);
    if (snprintf(tm->path, sizeof tm->path, "%s", path) >= (int)sizeof tm->path)
        return s2s_fail(S2S_ERANGE, "checkpoint path too long: %s", path);
    vocab_ctx vs = {&tm->src, path, "src"}, vt = {&tm->tgt, path, "tgt"};
    ckpt_summary head;
    int rc = ckpt_read_summary(path, &head); /* ckpt_verify, keeping whether it has EMA weights */
    tm->has_ema = tm->ema = rc == 0 && head.has_ema;
    ckpt_summary_free(&head);
    if (rc < 0 || (rc = model_config_read(path, &tm->cfg)) < 0 ||
        (rc = ckpt_read_config(path, data_option, tm)) < 0 ||
        (rc = ckpt_read_vocab(path, 0, add_token, &vs)) < 0 ||
        (rc = ckpt_read_vocab(path, 1, add_token, &vt)) < 0)
        return rc;
    tm->cfg.src_vocab = tm->src.size;
    tm->cfg.tgt_vocab = tm->tgt.size;
    tm->cfg.dropout = 0; /* decoding never drops out; no mask buffers needed */
    return model_config_check(&tm->cfg);
}

int trained_build(trained_model *tm, int max_B, int max_src, int max_tgt)
{
    /* A rebuild for another capacity (eval scores, then decodes) keeps the parameters already
     * read: their layout depends on the configuration only, so the file is read once. */
    size_t n = tm->m.n_params;
    real *kept = tm->m.params;
    tm->m.params = NULL;
    model_free(&tm->m); /* safe on the zeroed model of the first build */
    int rc = model_init(&tm->m, &tm->cfg, max_B, max_src, max_tgt);
    if (rc == 0 && kept)
        memcpy(tm->m.params, kept, n * sizeof(real));
    else if (rc == 0)
        rc = paramfile_read_group(tm->path, tm->ema ? "ema" : "params", &tm->m.table,
                                  tm->m.params);
    free(kept);
    return rc;
}

void trained_free(trained_model *tm)
{
    model_free(&tm->m);
    vocab_free(&tm->src);
    vocab_free(&tm->tgt);
}

int trained_encode(const trained_model *tm, char *line, token_list *tok, int32_t **ids,
                   int *cap, int *n)
{
    int rc = tokenize(tm->tokenizer, tm->lowercase, line, tok);
    if (rc < 0)
        return rc;
    if (tok->n > *cap) {
        int32_t *p = realloc(*ids, (size_t)tok->n * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "cannot hold %d token ids", tok->n);
        *ids = p;
        *cap = tok->n;
    }
    for (int i = 0; i < tok->n; i++)
        (*ids)[i] = vocab_id(&tm->src, tok->tok[i]);
    *n = tok->n;
    return 0;
}
