/* testutil.c - small helpers shared by the test programs. */
#include "testutil.h"

#include <math.h>

#include "s2s/rng.h"

void fill_uniform(real *x, size_t n, double lo, double hi, uint32_t seed, uint32_t stream)
{
    rng_stream s;
    rng_stream_init(&s, seed, RNG_TEST, stream, 0, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (real)(lo + (hi - lo) * ((double)rng_u32(&s) / 4294967296.0));
}

double max_abs_diff(const real *a, const real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

double max_rel_diff(const real *a, const real *b, size_t n, double floor)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double s = fmax(fmax(fabs((double)a[i]), fabs((double)b[i])), floor);
        m = fmax(m, d / s);
    }
    return m;
}

void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, real alpha, const real *A,
                    int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) {
                double a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += a * b;
            }
            real *c = &C[(size_t)i * ldc + j];
            /* beta == 0 must ignore C entirely (it may hold NaN), as BLAS does. */
            *c = (real)(alpha * acc + (beta == 0 ? 0.0 : (double)beta * *c));
        }
    }
}
