/* trained_ensemble.c - the checkpoints of an ensemble: opened one by one, each checked against
 * the first for what the models share. */
#include "s2s/trained_ensemble.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

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
            rc = trained_same_text(&e->tm[0], &e->tm[j], "an ensemble's models");
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
