/* testutil.c - small helpers shared by the test programs (see testutil.h). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

#include "s2s/rng.h"

void fill_uniform(real *x, size_t n, double lo, double hi, uint32_t seed, uint32_t stream)
{
    rng_stream s;
    rng_stream_init(&s, seed, RNG_TEST, stream, 0, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (real)(lo + (hi - lo) * ((double)rng_u32(&s) / 4294967296.0));
}

int small_param_table(param_table *tab, int out_cols)
{
    param_table_init(tab);
    int rc;
    if ((rc = param_table_add(tab, "embed.weight", 2, 5, 3)) < 0 ||
        (rc = param_table_add(tab, "rnn.bias_ih_l0", 1, 7, 1)) < 0 ||
        (rc = param_table_add(tab, "out.weight", 2, 4, out_cols)) < 0)
        return rc;
    return 0;
}

real *filled_param_buffer(const param_table *tab, uint32_t seed)
{
    real *p = param_buffer_alloc(tab);
    for (int i = 0; p && i < tab->n; i++)
        fill_uniform(p + tab->t[i].offset, tab->t[i].size, -2, 2, seed, (uint32_t)i);
    return p;
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

double gamma_k(int k)
{
    double ku = k * REAL_UNIT_ROUNDOFF;
    return ku / (1 - ku);
}

double model_error_bound(int depth, int k, double kappa)
{
    return 2.0 * depth * gamma_k(k) * kappa;
}

bool diff_ok(diff_stat *d, double observed, double tol)
{
    double ratio = tol > 0 ? observed / tol : (observed > 0 ? INFINITY : 0);
    /* NaN (observed or tolerance) is the worst case and stays it. */
    bool worse = d->n == 0 || isnan(ratio) || ratio > d->worst_ratio;
    if (worse && !(d->n > 0 && isnan(d->worst_ratio))) {
        d->worst = observed;
        d->worst_tol = tol;
        d->worst_ratio = ratio;
    }
    d->n++;
    return observed <= tol;
}

void diff_report(const diff_stat *d)
{
    /* One write, so that lines of tests running in parallel do not interleave. */
    char line[256];
    snprintf(line, sizeof line,
             "numeric: %s (%s): %ld comparisons, worst %.3g of tolerance %.3g (ratio %.3g)\n",
             d->what, REAL_NAME, d->n, d->worst, d->worst_tol, d->worst_ratio);
    fputs(line, stderr);
}
