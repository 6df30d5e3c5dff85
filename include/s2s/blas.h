/* blas.h - the one entry point for matrix products.
 *
 * Every matrix product in s2s goes through gemm(), which calls cblas_sgemm (cblas_dgemm in the
 * double-precision test build). Matrices are row-major; ld* are row strides in elements, so a
 * block of columns of a wider matrix can be passed without copying.
 *
 *   C[M,N] = alpha * op(A) op(B) + beta * C,   op(A) is [M,K], op(B) is [K,N]
 *   A is stored [M,K] (lda >= K), or [K,M] when trans_a (lda >= M); likewise B.  */
#ifndef S2S_BLAS_H
#define S2S_BLAS_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/real.h"

void gemm(bool trans_a, bool trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc);

/* y[N] += column sums of X[M,N] (row stride ldx): the bias gradient of a batched linear map. */
void add_column_sums(real *y, const real *X, int M, int N, int ldx);

/* Y[r, :] = b for every row r < rows of Y [rows, cols]: a bias written before a GEMM with
 * beta = 1 adds the product to it. */
void fill_rows(real *Y, const real *b, int rows, int cols);

/* Sets the number of OpenBLAS threads of this process (n >= 1). */
void blas_set_threads(int n);

#endif
