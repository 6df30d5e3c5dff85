/* test_blas.c - gemm() against the loop reference for every transpose combination, leading
 * dimensions wider than the matrices, alpha and beta; add_column_sums against double sums.
 * Built twice (tests/CMakeLists.txt): on the float library (sgemm) and on the double one
 * (dgemm). Each entry is checked against the rounding-error bound of its sum, which holds for
 * every BLAS kernel's order, blocking and use of FMA (Higham's gamma_k, tests/common/testutil.h):
 *   |C - C_exact| <= gamma_k(K + 2) (|alpha| sum_k |a_ik b_kj| + |beta c_ij|)
 * (K products, the scaled C and alpha's product as two more terms), plus the rounding of the
 * reference, computed in double, to real (u |C|). With entries in [-1, 1) and K <= 37 this is
 * at most ~1e-4 in float (typically 1e-5); a wrong transpose, stride or scaling produces errors
 * of order 0.1 or more. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "s2s/blas.h"
#include "testutil.h"

#define SENTINEL 12345.0f

/* Runs one case: C [M, N] inside a [M, ldc] buffer whose extra columns hold a sentinel that
 * gemm must not touch. With c_nan, C starts as NaN (only meaningful with beta = 0). The
 * comparisons go to d. */
static void check_gemm(diff_stat *d, bool ta, bool tb, int M, int N, int K, int pad, real alpha,
                       real beta, bool c_nan)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int arows = ta ? K : M, brows = tb ? N : K;
    real *A = malloc((size_t)arows * lda * sizeof *A);
    real *B = malloc((size_t)brows * ldb * sizeof *B);
    real *C = malloc((size_t)M * ldc * sizeof *C);
    real *R = malloc((size_t)M * ldc * sizeof *R);
    cr_assert(A && B && C && R, "allocation");
    fill_uniform(A, (size_t)arows * lda, -1, 1, 1, (uint32_t)(M * 1000 + K));
    fill_uniform(B, (size_t)brows * ldb, -1, 1, 2, (uint32_t)(N * 1000 + K));
    fill_uniform(C, (size_t)M * ldc, -1, 1, 3, (uint32_t)(M * 1000 + N));
    /* The bound of every entry, before C is overwritten. */
    double *bound = malloc((size_t)M * N * sizeof *bound);
    cr_assert(bound, "allocation");
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double a = 0;
            for (int k = 0; k < K; k++)
                a += fabs((double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                          (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]));
            double c = c_nan || beta == 0 ? 0 : fabs((double)beta * C[(size_t)i * ldc + j]);
            bound[(size_t)i * N + j] = gamma_k(K + 2) * (fabs((double)alpha) * a + c);
        }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            real *c = &C[(size_t)i * ldc + j];
            if (j >= N)
                *c = SENTINEL;
            else if (c_nan)
                *c = NAN;
        }
    for (size_t i = 0; i < (size_t)M * ldc; i++)
        R[i] = C[i];

    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);

    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            real c = C[(size_t)i * ldc + j], r = R[(size_t)i * ldc + j];
            if (j >= N) {
                cr_assert_eq(c, SENTINEL, "gemm wrote outside C at (%d, %d) (ldc %d, N %d)", i,
                             j, ldc, N);
                continue;
            }
            cr_assert(isfinite(c), "gemm ta=%d tb=%d beta=%g: C(%d,%d) = %g not finite", ta, tb,
                      (double)beta, i, j, (double)c);
            double tol = bound[(size_t)i * N + j] + REAL_UNIT_ROUNDOFF * fabs((double)r);
            cr_expect(diff_ok(d, fabs((double)c - (double)r), tol),
                      "gemm ta=%d tb=%d M=%d N=%d K=%d pad=%d alpha=%g beta=%g: C(%d,%d) %.9g, "
                      "reference %.9g (tolerance %.3g)",
                      ta, tb, M, N, K, pad, (double)alpha, (double)beta, i, j, (double)c,
                      (double)r, tol);
        }
    free(bound);
    free(A);
    free(B);
    free(C);
    free(R);
}

Test(blas, gemm_all_transposes_and_betas)
{
    diff_stat d = {.what = "gemm vs reference"};
    static const real betas[] = {0, 1, 0.5f};
    for (int t = 0; t < 4; t++)
        for (int bi = 0; bi < 3; bi++) {
            bool ta = t & 1, tb = t & 2;
            check_gemm(&d, ta, tb, 5, 7, 3, 0, 1, betas[bi], false);
            check_gemm(&d, ta, tb, 13, 4, 37, 3, 1.5f, betas[bi], false);
            check_gemm(&d, ta, tb, 1, 9, 8, 5, -0.5f, betas[bi], false);
            check_gemm(&d, ta, tb, 11, 1, 2, 2, 2, betas[bi], false);
        }
    diff_report(&d);
}

/* beta = 0 means C is output only: NaN in it must not leak into the result. */
Test(blas, gemm_beta_zero_ignores_nan)
{
    diff_stat d = {.what = "gemm (beta 0, C NaN) vs reference"};
    for (int t = 0; t < 4; t++) {
        check_gemm(&d, t & 1, t & 2, 6, 5, 4, 1, 1, 0, true);
        check_gemm(&d, t & 1, t & 2, 3, 17, 9, 0, 0.25f, 0, true);
    }
    diff_report(&d);
}

Test(blas, reference_matches_hand_product)
{
    /* [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50]; 2 * that + 0.5 * [1 1; 1 1] */
    const real A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
    real C[] = {1, 1, 1, 1};
    const real want[] = {38.5f, 44.5f, 86.5f, 100.5f};
    gemm_reference(false, false, 2, 2, 2, 2, A, 2, B, 2, 0.5f, C, 2);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(C[i], want[i], "gemm_reference element %d: %g, expected %g", i,
                     (double)C[i], (double)want[i]);
}

Test(blas, add_column_sums_accumulates)
{
    enum { M = 9, N = 6, LDX = 8 };
    real X[M * LDX], y[N];
    fill_uniform(X, M * LDX, -1, 1, 4, 0);
    fill_uniform(y, N, -1, 1, 5, 0);
    double want[N], mag[N];
    for (int j = 0; j < N; j++) {
        want[j] = y[j];
        mag[j] = fabs(y[j]);
        for (int i = 0; i < M; i++) {
            want[j] += X[i * LDX + j];
            mag[j] += fabs(X[i * LDX + j]);
        }
    }
    add_column_sums(y, X, M, N, LDX);
    /* M + 1 terms in any order, then the reference's rounding to real. */
    diff_stat d = {.what = "add_column_sums vs double sums"};
    for (int j = 0; j < N; j++) {
        double tol = gamma_k(M + 1) * mag[j] + REAL_UNIT_ROUNDOFF * fabs(want[j]);
        cr_expect(diff_ok(&d, fabs(y[j] - want[j]), tol),
                  "column %d: sum %.9g, expected %.9g (tolerance %.3g)", j, (double)y[j], want[j],
                  tol);
    }
    diff_report(&d);
}
