/* blas.c - gemm() over CBLAS, and small BLAS-like helpers. */
#include "s2s/blas.h"

#include <cblas.h>
#include <string.h>

void gemm(bool trans_a, bool trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
#ifdef S2S_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void add_column_sums(real *y, const real *X, int M, int N, int ldx)
{
    for (int i = 0; i < M; i++) {
        const real *row = X + (size_t)i * ldx;
        for (int j = 0; j < N; j++)
            y[j] += row[j];
    }
}

void fill_rows(real *Y, const real *b, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        memcpy(Y + (size_t)r * cols, b, (size_t)cols * sizeof(real));
}

void blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}
