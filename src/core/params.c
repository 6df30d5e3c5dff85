/* params.c - the parameter table. */
#include "s2s/params.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

void param_table_init(param_table *tab)
{
    memset(tab, 0, sizeof *tab);
}

void param_table_free(param_table *tab)
{
    free(tab->t);
    memset(tab, 0, sizeof *tab);
}

int param_table_add(param_table *tab, const char *name, int ndim, int rows, int cols)
{
    if (strlen(name) >= PARAM_NAME_MAX)
        return s2s_fail(S2S_EINVAL, "parameter name '%s' is longer than %d characters", name,
                        PARAM_NAME_MAX - 1);
    if ((ndim != 1 && ndim != 2) || rows <= 0 || cols <= 0 || (ndim == 1 && cols != 1))
        return s2s_fail(S2S_EINVAL, "parameter '%s': invalid shape [%d, %d] (ndim %d)", name,
                        rows, cols, ndim);
    if (param_table_find(tab, name) >= 0)
        return s2s_fail(S2S_EINVAL, "parameter '%s' is defined twice", name);
    if (tab->n == tab->cap) {
        int cap = tab->cap ? 2 * tab->cap : 32;
        param_tensor *t = realloc(tab->t, (size_t)cap * sizeof *t);
        if (!t)
            return s2s_fail(S2S_ENOMEM, "parameter table: cannot grow to %d tensors", cap);
        tab->t = t;
        tab->cap = cap;
    }
    param_tensor *p = &tab->t[tab->n];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->ndim = ndim;
    p->rows = rows;
    p->cols = cols;
    p->size = (size_t)rows * (size_t)cols;
    p->offset = (tab->total + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    tab->total = p->offset + p->size;
    return tab->n++;
}

int param_table_find(const param_table *tab, const char *name)
{
    for (int i = 0; i < tab->n; i++)
        if (strcmp(tab->t[i].name, name) == 0)
            return i;
    return -1;
}

size_t param_table_count(const param_table *tab)
{
    size_t n = 0;
    for (int i = 0; i < tab->n; i++)
        n += tab->t[i].size;
    return n;
}

real *param_buffer_alloc(const param_table *tab)
{
    size_t bytes = (tab->total * sizeof(real) + 63) / 64 * 64;
    if (bytes == 0)
        bytes = 64;
    real *buf = aligned_alloc(64, bytes);
    if (buf)
        memset(buf, 0, bytes);
    return buf;
}
