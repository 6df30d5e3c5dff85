/* trained_ensemble.c - the checkpoints of an ensemble: opened one by one, each checked against
 * the first for what the models share. */
#include "s2s/trained_ensemble.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/spm.h"
#include "s2s/status.h"

/* Side `side` ("source", "target") of b against a's: the first id whose token differs, or the
 * sizes when one vocabulary is the beginning of the other. */
static int check_vocab(const trained_model *a, const trained_model *b, const vocab *va,
                       const vocab *vb, const char *side)
{
    int n = va->size < vb->size ? va->size : vb->size;
    for (int i = 0; i < n; i++)
        if (strcmp(va->by_id[i], vb->by_id[i]) != 0)
            return s2s_fail(S2S_EINVAL,
                            "%s: %s vocabulary differs from %s's at id %d ('%s' vs "
                            "'%s'): an ensemble's models need the same vocabularies",
                            b->path, side, a->path, i, vb->by_id[i], va->by_id[i]);
    if (va->size != vb->size)
        return s2s_fail(S2S_EINVAL,
                        "%s: %s vocabulary has %d tokens, %s's %d: an ensemble's "
                        "models need the same vocabularies",
                        b->path, side, vb->size, a->path, va->size);
    return 0;
}

/* Everything the input's reading and the output's writing take from a checkpoint must be the
 * first one's: the vocabularies, the tokenizer and lowercasing (a setting that joins them in
 * trained_model belongs here too). */
static int check_compatible(const trained_model *a, const trained_model *b)
{
    int rc;
    if ((rc = check_vocab(a, b, &a->src, &b->src, "source")) < 0 ||
        (rc = check_vocab(a, b, &a->tgt, &b->tgt, "target")) < 0)
        return rc;
    if (a->tokenizer != b->tokenizer)
        return s2s_fail(S2S_EINVAL,
                        "%s: tokenizer differs from %s's (%s vs %s): an ensemble's "
                        "models need the same tokenizer settings",
                        b->path, a->path, tokenizer_names[b->tokenizer],
                        tokenizer_names[a->tokenizer]);
    for (int side = 0; side < 2; side++)
        if (!spm_models_same(&a->spm, &b->spm, side))
            return s2s_fail(S2S_EINVAL,
                            "%s: its %s SentencePiece model differs from %s's: an ensemble's "
                            "models need the same tokenizer settings",
                            b->path, side ? "target" : "source", a->path);
    if (a->lowercase != b->lowercase)
        return s2s_fail(S2S_EINVAL,
                        "%s: lowercasing differs from %s's (%s vs %s): an "
                        "ensemble's models need the same tokenizer settings",
                        b->path, a->path, b->lowercase ? "on" : "off", a->lowercase ? "on" : "off");
    return 0;
}

int trained_ensemble_open(trained_ensemble *e, const opt_string_list *paths,
                          const opt_double_list *weights)
{
    memset(e, 0, sizeof *e);
    const int n = paths->n;
    if (n < 1)
        return s2s_fail(S2S_EUSAGE, "--checkpoint is required");
    if (weights->n > 0 && weights->n != n)
        return s2s_fail(S2S_EUSAGE,
                        "--weights gives %d weight%s for %d checkpoint%s: one per "
                        "--checkpoint, in their order",
                        weights->n, weights->n == 1 ? "" : "s", n, n == 1 ? "" : "s");
    for (int j = 0; j < n; j++) {
        e->weight[j] = weights->n ? weights->v[j] : 1;
        if (!(e->weight[j] > 0))
            return s2s_fail(S2S_EUSAGE,
                            "--weights: the weight of %s is %g: weights must be "
                            "positive",
                            paths->item[j], e->weight[j]);
    }
    e->tm = calloc((size_t)n, sizeof *e->tm);
    if (!e->tm)
        return s2s_fail(S2S_ENOMEM, "cannot hold %d models", n);
    e->n = n;
    int rc = 0;
    for (int j = 0; j < n && rc == 0; j++)
        if ((rc = trained_open(&e->tm[j], paths->item[j])) == 0 && j > 0)
            rc = check_compatible(&e->tm[0], &e->tm[j]);
    return rc;
}

int trained_ensemble_build(trained_ensemble *e, int max_B, int max_src, int max_tgt)
{
    int rc = 0;
    for (int j = 0; j < e->n && rc == 0; j++)
        rc = trained_build(&e->tm[j], max_B, max_src, max_tgt);
    return rc;
}

void trained_ensemble_free(trained_ensemble *e)
{
    for (int j = 0; e->tm && j < e->n; j++)
        trained_free(&e->tm[j]);
    free(e->tm);
    memset(e, 0, sizeof *e);
}
