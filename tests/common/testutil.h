/* testutil.h - small helpers shared by the test programs. */
#ifndef S2S_TESTUTIL_H
#define S2S_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/real.h"

/* Fills x[n] with uniform values in [lo, hi) drawn from (seed, RNG_TEST, stream). */
void fill_uniform(real *x, size_t n, double lo, double hi, uint32_t seed, uint32_t stream);

/* max_i |a[i] - b[i]| */
double max_abs_diff(const real *a, const real *b, size_t n);

/* max_i |a[i] - b[i]| / max(|a[i]|, |b[i]|, floor) */
double max_rel_diff(const real *a, const real *b, size_t n, double floor);

/* gemm()'s contract (include/s2s/blas.h) computed with plain loops in double accumulators: the
 * reference the CBLAS wrapper is tested against. */
void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, real alpha, const real *A,
                    int lda, const real *B, int ldb, real beta, real *C, int ldc);

#endif
