/* make_params.c - fuzz_make_params CKPT OUT: writes the parameters and configuration of a
 * checkpoint as a parameter file (format "s2s-params") through the library's own writer,
 * paramfile_write. The s2s binary writes no parameter file itself (PyTorch's side does, through
 * scripts/torch_twin.py), so the fuzz harness (tests/fuzz/fuzz.sh) makes its original here:
 * a file written by s2s's code, with whatever integrity record that writer gives its files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/h5util.h"
#include "s2s/paramfile.h"
#include "s2s/status.h"
#include "s2s/trained.h"

typedef struct {
    char **items;
    int n, cap;
} attr_list;

static int collect(const char *key, const char *value, void *ctx)
{
    attr_list *l = ctx;
    if (l->n + 2 > l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        char **p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "cannot hold %d configuration entries", cap);
        l->items = p;
        l->cap = cap;
    }
    size_t len = strlen(key) + strlen(value) + 2;
    if (!(l->items[l->n] = malloc(len)))
        return s2s_fail(S2S_ENOMEM, "cannot hold configuration entry %s", key);
    snprintf(l->items[l->n], len, "%s=%s", key, value);
    l->items[++l->n] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_make_params CHECKPOINT OUT.h5\n");
        return 2;
    }
    h5u_quiet();
    trained_model tm;
    attr_list attrs = {0};
    int rc;
    /* trained_open checks the checkpoint; the smallest capacity suffices to hold the
     * parameters, whose layout depends on the configuration only. */
    if ((rc = trained_open(&tm, argv[1])) < 0 || (rc = trained_build(&tm, 1, 1, 1)) < 0 ||
        (rc = paramfile_read_config(argv[1], collect, &attrs)) < 0 ||
        (rc = paramfile_write(argv[2], &tm.m.table, tm.m.params,
                              (const char *const *)attrs.items)) < 0)
        fprintf(stderr, "fuzz_make_params: %s\n", s2s_errmsg(rc));
    trained_free(&tm);
    for (int i = 0; i < attrs.n; i++)
        free(attrs.items[i]);
    free(attrs.items);
    return rc < 0 ? 1 : 0;
}
