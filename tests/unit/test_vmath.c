/* test_vmath.c - accuracy of the vectorizable v_exp / v_tanh / v_sigmoid (float build) against
 * libm in double, over millions of inputs, plus their special values.
 *
 * Inputs are walked through the float bit patterns with a fixed stride, which samples every
 * binade evenly (tiny and large magnitudes alike), and evaluated through plain array loops, so
 * that the vectorized code the library runs is what is measured. Bounds are the documented
 * ones: exp <= 2 ulp on [-87, 88], tanh <= 2e-7 and sigmoid <= 1e-7 absolute. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/vmath.h"

#define CHUNK 65536

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* The array loops the library writes; GCC vectorizes them at -O3. */
static void exp_array(float *restrict y, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = v_exp(x[i]);
}

static void tanh_array(float *restrict y, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = v_tanh(x[i]);
}

static void sigmoid_array(float *restrict y, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = v_sigmoid(x[i]);
}

/* Error of y against the exact value r in units of the float spacing at r (for subnormal r,
 * the subnormal spacing 2^-149). */
static double ulp_error(float y, double r)
{
    int e;
    frexp(r, &e);
    double ulp = fabs(r) < 0x1p-126 ? 0x1p-149 : ldexp(1.0, e - 24);
    return fabs((double)y - r) / ulp;
}

typedef enum { F_EXP, F_TANH, F_SIGMOID } fn_kind;

/* Walks the non-negative bit patterns from 0 to `top` with `stride`, evaluating both x and -x
 * when |x| <= lim_neg (and x when x <= lim_pos). Returns the max error (ulps for exp,
 * absolute otherwise); *count gets the number of inputs. */
static double sweep(fn_kind f, float lim_neg, float lim_pos, uint32_t stride, long *count,
                    float *worst_x)
{
    float *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    cr_assert(x && y, "allocation");
    double worst = 0;
    *count = 0;
    uint32_t top = 0x7f800000u; /* +inf */
    uint32_t b = 0;
    while (b < top) {
        int n = 0;
        for (; n + 2 <= CHUNK && b < top; b += stride) {
            float v = from_bits(b);
            if (v <= lim_pos)
                x[n++] = v;
            if (v <= lim_neg)
                x[n++] = -v;
        }
        if (f == F_EXP)
            exp_array(y, x, n);
        else if (f == F_TANH)
            tanh_array(y, x, n);
        else
            sigmoid_array(y, x, n);
        for (int i = 0; i < n; i++) {
            double xd = x[i], err;
            if (f == F_EXP)
                err = ulp_error(y[i], exp(xd));
            else if (f == F_TANH)
                err = fabs((double)y[i] - tanh(xd));
            else
                err = fabs((double)y[i] - 1 / (1 + exp(-xd)));
            if (err > worst) {
                worst = err;
                *worst_x = x[i];
            }
        }
        *count += n;
    }
    free(x);
    free(y);
    return worst;
}

Test(vmath, exp_within_2ulp)
{
    long n;
    float wx = 0;
    double e = sweep(F_EXP, 87.0f, 88.0f, 97, &n, &wx);
    cr_log_info("v_exp: max error %.3f ulp over %ld inputs in [-87, 88] (at %a)", e, n,
                (double)wx);
    cr_expect_gt(n, 10000000, "too few exp inputs: %ld", n);
    cr_expect_leq(e, 2.0, "v_exp max error %.3f ulp at x = %a", e, (double)wx);
}

/* Results below 2^-126 come from the same polynomial scaled into the subnormal range: within
 * one subnormal spacing of exact (the final rounding plus a tiny relative error). */
Test(vmath, exp_subnormal_results)
{
    float *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    cr_assert(x && y, "allocation");
    for (int i = 0; i < CHUNK; i++)
        x[i] = -87.4f - 16.6f * (float)i / CHUNK; /* [-104, -87.4] */
    exp_array(y, x, CHUNK);
    double worst = 0;
    for (int i = 0; i < CHUNK; i++)
        worst = fmax(worst, fabs((double)y[i] - exp((double)x[i])) / 0x1p-149);
    cr_expect_leq(worst, 1.0, "v_exp in the subnormal range: max error %.3f spacings", worst);
    free(x);
    free(y);
}

Test(vmath, exp_special_values)
{
    const float max_finite = 0x1.62e42ep+6f;
    float in[] = {0.0f, -0.0f, 1.0f, INFINITY, -INFINITY, NAN, 89.0f, 1e30f, -104.0f, -1e30f,
                  max_finite, nextafterf(max_finite, INFINITY), -103.97f};
    enum { N = sizeof in / sizeof in[0] };
    float out[N];
    exp_array(out, in, N);
    cr_expect_eq(out[0], 1.0f, "exp(0) = %a", (double)out[0]);
    cr_expect_eq(out[1], 1.0f, "exp(-0) = %a", (double)out[1]);
    cr_expect(fabs(out[2] - M_E) <= 2.4e-7, "exp(1) = %.9g", (double)out[2]);
    cr_expect(isinf(out[3]) && out[3] > 0, "exp(inf) = %g", (double)out[3]);
    cr_expect_eq(out[4], 0.0f, "exp(-inf) = %g", (double)out[4]);
    cr_expect(isnan(out[5]), "exp(NaN) = %g", (double)out[5]);
    cr_expect(isinf(out[6]) && isinf(out[7]), "exp(89) = %g, exp(1e30) = %g", (double)out[6],
              (double)out[7]);
    cr_expect(out[8] == 0.0f && out[9] == 0.0f, "exp(-104) = %g, exp(-1e30) = %g",
              (double)out[8], (double)out[9]);
    cr_expect(isfinite(out[10]) && ulp_error(out[10], exp((double)max_finite)) <= 2,
              "exp at the largest finite input %a = %a", (double)max_finite, (double)out[10]);
    cr_expect(isinf(out[11]), "exp just above the overflow threshold = %g", (double)out[11]);
    cr_expect(out[12] > 0.0f, "exp(-103.97) = %g should be the smallest subnormal",
              (double)out[12]);
}

Test(vmath, tanh_within_2e7)
{
    long n;
    float wx = 0;
    double e = sweep(F_TANH, 1e30f, 1e30f, 331, &n, &wx);
    cr_log_info("v_tanh: max abs error %.3g over %ld inputs (at %a)", e, n, (double)wx);
    cr_expect_gt(n, 10000000, "too few tanh inputs: %ld", n);
    cr_expect_leq(e, 2e-7, "v_tanh max abs error %.3g at x = %a", e, (double)wx);
}

Test(vmath, sigmoid_within_1e7)
{
    long n;
    float wx = 0;
    double e = sweep(F_SIGMOID, 1e30f, 1e30f, 331, &n, &wx);
    cr_log_info("v_sigmoid: max abs error %.3g over %ld inputs (at %a)", e, n, (double)wx);
    cr_expect_gt(n, 10000000, "too few sigmoid inputs: %ld", n);
    cr_expect_leq(e, 1e-7, "v_sigmoid max abs error %.3g at x = %a", e, (double)wx);
}

/* Dense sampling where the gates actually live. */
Test(vmath, tanh_sigmoid_dense_core)
{
    enum { N = 1 << 22 };
    float *x = malloc(N * sizeof *x), *t = malloc(N * sizeof *t), *s = malloc(N * sizeof *s);
    cr_assert(x && t && s, "allocation");
    for (int i = 0; i < N; i++)
        x[i] = -12.0f + 24.0f * (float)i / N;
    tanh_array(t, x, N);
    sigmoid_array(s, x, N);
    double et = 0, es = 0;
    for (int i = 0; i < N; i++) {
        et = fmax(et, fabs((double)t[i] - tanh((double)x[i])));
        es = fmax(es, fabs((double)s[i] - 1 / (1 + exp(-(double)x[i]))));
    }
    cr_expect_leq(et, 2e-7, "v_tanh on [-12, 12]: max abs error %.3g", et);
    cr_expect_leq(es, 1e-7, "v_sigmoid on [-12, 12]: max abs error %.3g", es);
    free(x);
    free(t);
    free(s);
}

/* Near 0 tanh keeps its relative accuracy (the polynomial branch): 2.4e-7 is 2 ulp. */
Test(vmath, tanh_relative_near_zero)
{
    float *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    cr_assert(x && y, "allocation");
    double worst = 0;
    float wx = 0;
    /* every 16th float in (0, 0.55), both signs */
    for (uint32_t b = 1; b < 0x3f0ccccdu;) {
        int n = 0;
        for (; n + 2 <= CHUNK && b < 0x3f0ccccdu; b += 16) {
            x[n++] = from_bits(b);
            x[n++] = -from_bits(b);
        }
        tanh_array(y, x, n);
        for (int i = 0; i < n; i++) {
            double r = tanh((double)x[i]), err = fabs((double)y[i] - r) / fabs(r);
            if (err > worst) {
                worst = err;
                wx = x[i];
            }
        }
    }
    cr_log_info("v_tanh: max relative error %.3g on |x| < 0.55 (at %a)", worst, (double)wx);
    cr_expect_leq(worst, 2.4e-7, "v_tanh relative error %.3g at x = %a", worst, (double)wx);
    free(x);
    free(y);
}

Test(vmath, tanh_sigmoid_special_values)
{
    float in[] = {0.0f, INFINITY, -INFINITY, NAN, 100.0f, -100.0f};
    enum { N = sizeof in / sizeof in[0] };
    float t[N], s[N];
    tanh_array(t, in, N);
    sigmoid_array(s, in, N);
    cr_expect_eq(t[0], 0.0f, "tanh(0) = %g", (double)t[0]);
    cr_expect_eq(s[0], 0.5f, "sigmoid(0) = %g", (double)s[0]);
    cr_expect(t[1] == 1.0f && t[2] == -1.0f, "tanh(+-inf) = %g, %g", (double)t[1],
              (double)t[2]);
    cr_expect(s[1] == 1.0f && s[2] == 0.0f, "sigmoid(+-inf) = %g, %g", (double)s[1],
              (double)s[2]);
    cr_expect(isnan(t[3]) && isnan(s[3]), "tanh(NaN) = %g, sigmoid(NaN) = %g", (double)t[3],
              (double)s[3]);
    cr_expect(t[4] == 1.0f && t[5] == -1.0f, "tanh(+-100) = %g, %g", (double)t[4],
              (double)t[5]);
    cr_expect(s[4] == 1.0f && s[5] > 0.0f && s[5] < 1e-40f,
              "sigmoid(100) = %g, sigmoid(-100) = %g", (double)s[4], (double)s[5]);
}
