/* testutil.h - small helpers shared by the test programs: fills, comparisons, rounding-error
 * bounds and the report of observed differences against their tolerances. */
#ifndef S2S_TESTUTIL_H
#define S2S_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/params.h"
#include "s2s/real.h"

/* Fills x[n] with uniform values in [lo, hi) drawn from (seed, RNG_TEST, stream). */
void fill_uniform(real *x, size_t n, double lo, double hi, uint32_t seed, uint32_t stream);

/* The parameter table of the file-format tests (checkpoints, parameter files, info): three
 * tensors embed.weight [5, 3], rnn.bias_ih_l0 [7] and out.weight [4, out_cols], each starting
 * at a multiple of PARAM_ALIGN, so the buffer has gaps; 0 or a negative status. */
int small_param_table(param_table *tab, int out_cols);

/* A parameter buffer of tab's layout, every tensor i filled by fill_uniform(-2, 2, seed, i);
 * NULL if it cannot be allocated. */
real *filled_param_buffer(const param_table *tab, uint32_t seed);

/* max_i |a[i] - b[i]| */
double max_abs_diff(const real *a, const real *b, size_t n);

/* max_i |a[i] - b[i]| / max(|a[i]|, |b[i]|, floor) */
double max_rel_diff(const real *a, const real *b, size_t n, double floor);

/* gemm()'s contract (include/s2s/blas.h) computed with plain loops in double accumulators: the
 * reference the CBLAS wrapper is tested against. */
void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, real alpha, const real *A,
                    int lda, const real *B, int ldb, real beta, real *C, int ldc);

/* ---- rounding-error bounds ------------------------------------------------------------------
 * Tolerances of comparisons between computations that differ in the shapes, blockings or
 * summation orders of their matrix products are written with these, so that they hold for every
 * BLAS kernel (OpenBLAS picks one per CPU; OPENBLAS_CORETYPE overrides it) and scale with the
 * precision of the build. u is the unit roundoff of `real`: 2^-24 in float, 2^-53 in double.
 *
 * gamma_k(k) = k u / (1 - k u) (Higham, Accuracy and Stability of Numerical Algorithms, 3.1):
 * a sum of k terms (a dot product of length k, one GEMM entry of inner dimension k) computed in
 * any order and blocking, with or without FMA, is within gamma_k(k) * sum |terms| of the exact
 * sum. Rigorous, and loose by about sqrt(k) for rounding errors that do not all push one way.
 *
 * Whole-model comparisons (padding, batch composition, decoders of different shapes) chain many
 * such sums through nonlinear layers. model_error_bound(depth, k, kappa) = 2 depth gamma_k(k)
 * kappa bounds, to first order, the relative difference of two computations of one result that
 * each lie within depth gamma_k(k) kappa of the exact value: `depth` dependent stages on the
 * longest path from the inputs to the result, each a sum of at most k terms (k >= 8 also
 * covers the few roundings of a stage's element-wise work), and kappa the allowance by which
 * the sizes of the summed terms times the sensitivities along the path may exceed the size of
 * the result. kappa is the one constant that is not derived: the tests state theirs (the
 * formula, loose in float, also held there for tests/unit/test_model.c under every kernel). */
#define REAL_UNIT_ROUNDOFF (sizeof(real) == sizeof(float) ? 0x1p-24 : 0x1p-53)
double gamma_k(int k);
double model_error_bound(int depth, int k, double kappa);

/* ---- observed differences ---------------------------------------------------------------------
 * A check of observed <= tolerance that remembers its worst case (the largest ratio), so that a
 * test can report how close its comparisons came to their tolerances:
 *     diff_stat d = {.what = "padding: gradients"};
 *     cr_expect(diff_ok(&d, observed, tol), ...);
 *     diff_report(&d);
 * prints one line to stderr: "numeric: padding: gradients: 30 comparisons, worst 1.2e-15 of
 * tolerance 8.6e-12 (ratio 0.00014)". */
typedef struct {
    const char *what;
    long n;
    double worst, worst_tol, worst_ratio;
} diff_stat;

bool diff_ok(diff_stat *d, double observed, double tol);
void diff_report(const diff_stat *d);

/* Options of a Criterion test that compares computations of different shapes (for example
 * Test(model, padding_invariance, DOUBLE_BUILD_ONLY)). In float such comparisons are at the
 * mercy of the BLAS kernel's blocking (one kernel's rounding differs from another's by many
 * float ulps, and a near-tie of two logits can flip an argmax), so they run in the test
 * programs built on the double-precision library (unit.test_*_f64); the float program lists
 * them as skipped. */
#if defined(DOUBLE_BUILD_ONLY)
/* given on the command line: -D"DOUBLE_BUILD_ONLY=.disabled=false" runs them in float too */
#elif defined(S2S_REAL_DOUBLE)
#define DOUBLE_BUILD_ONLY .description = "compares computations of different shapes"
#else
#define DOUBLE_BUILD_ONLY                                                                          \
    .disabled = true, .description = "compares computations of different shapes: runs in the "    \
                                     "double build (unit.test_*_f64)"
#endif

#endif
