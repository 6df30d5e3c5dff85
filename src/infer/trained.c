/* trained.c - reading a trained model back from a checkpoint for decoding and evaluation, with
 * its tokenizer (SentencePiece models included); the check of the text it is given. */
#include "s2s/trained.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/ckpt.h"
#include "s2s/model_options.h"
#include "s2s/paramfile.h"
#include "s2s/status.h"
#include "s2s/tokens.h"

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
        (rc = ckpt_read_vocab(path, 1, add_token, &vt)) < 0 ||
        (rc = ckpt_read_spm(path, &tm->spm)) < 0)
        return rc;
    if (tm->tokenizer == TOK_SPM && tm->spm.n[0] == 0)
        return s2s_fail(S2S_EFORMAT, "%s: trained on data tokenized by SentencePiece "
                        "(data.tokenizer sentencepiece) but holds no model (/spm)", path);
    for (int s = 0; s < 2; s++) {
        char what[4200];
        snprintf(what, sizeof what, "%s: /spm/%s", path, s ? "tgt" : "src");
        if (tm->spm.n[s] > 0 &&
            (rc = spm_load(&tm->spm_proc[s], tm->spm.bytes[s], tm->spm.n[s], what)) < 0)
            return rc;
    }
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
    for (int s = 0; s < 2; s++)
        spm_free(tm->spm_proc[s]);
    spm_models_free(&tm->spm);
    memset(tm->spm_proc, 0, sizeof tm->spm_proc);
}

const spm_model *trained_spm(const trained_model *tm, int side)
{
    return tm->spm_proc[side] ? tm->spm_proc[side] : tm->spm_proc[0];
}

int trained_detok(const trained_model *tm, int choice, detok_kind *out)
{
    *out = choice == 0 ? detok_guess(tm->tokenizer, &tm->tgt) : (detok_kind)(choice - 1);
    if (*out == DETOK_SPM && !trained_spm(tm, 1))
        return s2s_fail(S2S_EUSAGE, "--detok sentencepiece: %s holds no SentencePiece model (it "
                        "was trained on data of the %s tokenizer)", tm->path,
                        tokenizer_names[tm->tokenizer]);
    return 0;
}

void input_stats_add(input_stats *s, const trained_model *tm, const token_list *tok,
                     const int32_t *ids, int n)
{
    s->tokens += n;
    for (int i = 0; i < n; i++) {
        s->unk += ids[i] == TOK_UNK;
        s->marked += token_marked(tok ? tok->tok[i] : tm->src.by_id[ids[i]]);
    }
}

bool input_warning(const trained_model *tm, const input_stats *s, const char *who, char *buf,
                   size_t size)
{
    if (s->tokens == 0)
        return false;
    double marked = (double)s->marked / (double)s->tokens;
    double unk = (double)s->unk / (double)s->tokens;
    if (tm->tokenizer == TOK_WHITESPACE && vocab_marked(&tm->src) && marked < INPUT_MARKED_MIN) {
        snprintf(buf, size, "%s: %.0f%% of input tokens carry SentencePiece's \xE2\x96\x81 "
                 "marker (%ld of %ld), but the model's source vocabulary is made of such "
                 "pieces: is the input encoded as the training data was?", who, 100 * marked,
                 s->marked, s->tokens);
        return true;
    }
    if (unk > INPUT_UNK_MAX) {
        snprintf(buf, size, "%s: %.0f%% of input tokens are <unk> (%ld of %ld): is the input "
                 "tokenized as the training data was?", who, 100 * unk, s->unk, s->tokens);
        return true;
    }
    return false;
}

int trained_encode(const trained_model *tm, char *line, token_list *tok, int32_t **ids,
                   int *cap, int *n, input_stats *st)
{
    int rc = tokenize(tm->tokenizer, tm->lowercase, trained_spm(tm, 0), line, tok);
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
    if (st)
        input_stats_add(st, tm, tok, *ids, tok->n);
    return 0;
}

/* ---- two models that read and write the same text ---- */

/* Side `side` ("source", "target") of b against a's: the first id whose token differs, or the
 * sizes when one vocabulary is the beginning of the other. */
static int check_vocab(const trained_model *a, const trained_model *b, const vocab *va,
                       const vocab *vb, const char *side, const char *who)
{
    int n = va->size < vb->size ? va->size : vb->size;
    for (int i = 0; i < n; i++)
        if (strcmp(va->by_id[i], vb->by_id[i]) != 0)
            return s2s_fail(S2S_EINVAL,
                            "%s: %s vocabulary differs from %s's at id %d ('%s' vs "
                            "'%s'): %s need the same vocabularies",
                            b->path, side, a->path, i, vb->by_id[i], va->by_id[i], who);
    if (va->size != vb->size)
        return s2s_fail(S2S_EINVAL,
                        "%s: %s vocabulary has %d tokens, %s's %d: %s need the same "
                        "vocabularies",
                        b->path, side, vb->size, a->path, va->size, who);
    return 0;
}

int trained_same_text(const trained_model *a, const trained_model *b, const char *who)
{
    int rc;
    if ((rc = check_vocab(a, b, &a->src, &b->src, "source", who)) < 0 ||
        (rc = check_vocab(a, b, &a->tgt, &b->tgt, "target", who)) < 0)
        return rc;
    if (a->tokenizer != b->tokenizer)
        return s2s_fail(S2S_EINVAL,
                        "%s: tokenizer differs from %s's (%s vs %s): %s need the same "
                        "tokenizer settings",
                        b->path, a->path, tokenizer_names[b->tokenizer],
                        tokenizer_names[a->tokenizer], who);
    for (int side = 0; side < 2; side++)
        if (!spm_models_same(&a->spm, &b->spm, side))
            return s2s_fail(S2S_EINVAL,
                            "%s: its %s SentencePiece model differs from %s's: %s need the "
                            "same tokenizer settings",
                            b->path, side ? "target" : "source", a->path, who);
    if (a->lowercase != b->lowercase)
        return s2s_fail(S2S_EINVAL,
                        "%s: lowercasing differs from %s's (%s vs %s): %s need the same "
                        "tokenizer settings",
                        b->path, a->path, b->lowercase ? "on" : "off",
                        a->lowercase ? "on" : "off", who);
    return 0;
}

