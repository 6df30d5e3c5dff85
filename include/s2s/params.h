/* params.h - the parameter table: named tensors at offsets in one contiguous buffer.
 *
 * All parameters of a model live in one float buffer; gradients and optimizer moments live in
 * buffers of the same length at the same offsets, so "the gradient of tensor i" is
 * grads + table.t[i].offset. Names and shapes follow PyTorch's modules (see docs/model.md);
 * shapes are row-major [rows, cols], or [rows] for vectors (cols == 1, ndim == 1). Offsets are
 * aligned to PARAM_ALIGN elements so that every tensor starts on a cache line. */
#ifndef S2S_PARAMS_H
#define S2S_PARAMS_H

#include <stddef.h>

#include "s2s/real.h"

#define PARAM_NAME_MAX 64
#define PARAM_ALIGN 16

typedef struct {
    char name[PARAM_NAME_MAX];
    size_t offset; /* in elements from the start of the buffer */
    int ndim;      /* 1 or 2 */
    int rows, cols;
    size_t size; /* rows * cols */
} param_tensor;

typedef struct {
    param_tensor *t;
    int n, cap;
    size_t total; /* buffer length in elements, including alignment gaps */
} param_table;

void param_table_init(param_table *tab);
void param_table_free(param_table *tab);

/* Appends a tensor; returns its index (>= 0) or a negative status. cols = 1 with ndim = 1 for
 * vectors. Duplicate names are an error. */
int param_table_add(param_table *tab, const char *name, int ndim, int rows, int cols);

/* Index of the tensor called `name`, or -1. */
int param_table_find(const param_table *tab, const char *name);

/* Number of parameters, not counting alignment gaps. */
size_t param_table_count(const param_table *tab);

/* Allocates a zeroed, 64-byte aligned buffer of tab->total elements; NULL on failure. Free it
 * with free(). */
real *param_buffer_alloc(const param_table *tab);

#endif
