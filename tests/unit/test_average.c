/* test_average.c - the loops of `s2s average` (include/s2s/average.h): the average of k copies
 * of a buffer is that buffer bit for bit (k x is exact in double and so is the division back),
 * for values from the smallest normal float to the largest; the average of two buffers is the
 * float nearest their exact mean (computed here in long double: a sum of two floats within a
 * factor 16 of each other is exact there and in double); three values by hand. */
#include <criterion/criterion.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/average.h"
#include "testutil.h"

enum { N = 4096 };

Test(average, copies_average_to_themselves)
{
    static real x[N], out[N];
    static double sum[N];
    fill_uniform(x, N, -2, 2, 3, 0);
    x[0] = FLT_MIN;
    x[1] = -FLT_MAX;
    x[2] = FLT_MAX;
    x[3] = 0x1p-20f * 3;
    x[4] = 0;
    for (int k = 1; k <= 9; k++) {
        memset(sum, 0, sizeof sum);
        for (int c = 0; c < k; c++)
            average_add(sum, x, N);
        average_finish(out, sum, N, k);
        cr_expect_eq(memcmp(out, x, sizeof x), 0, "the average of %d copies differs", k);
    }
}

Test(average, two_buffers_give_the_nearest_float_to_their_mean)
{
    static real a[N], b[N], out[N];
    static double sum[N];
    fill_uniform(a, N, 0.25, 4, 5, 0);
    fill_uniform(b, N, 0.25, 4, 5, 1);
    for (int i = 0; i < N; i += 2)
        b[i] = -b[i]; /* differences and sums alike */
    average_add(sum, a, N);
    average_add(sum, b, N);
    average_finish(out, sum, N, 2);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        real want = (real)(((long double)a[i] + (long double)b[i]) / 2);
        wrong += out[i] != want;
        cr_expect_eq(out[i], want, "element %d: (%.9g + %.9g) / 2 = %.9g, expected %.9g", i,
                     (double)a[i], (double)b[i], (double)out[i], (double)want);
        if (wrong > 5)
            break;
    }
}

Test(average, three_values_by_hand)
{
    const real x[3] = {1, 2, 4}, y[3] = {2, -2, 4}, z[3] = {4, 3, 4};
    double sum[3] = {0};
    real out[3];
    average_add(sum, x, 3);
    average_add(sum, y, 3);
    average_add(sum, z, 3);
    average_finish(out, sum, 3, 3);
    cr_expect_eq(out[0], (real)(7.0 / 3.0), "(1 + 2 + 4) / 3 = %.9g", (double)out[0]);
    cr_expect_eq(out[1], 1, "(2 - 2 + 3) / 3 = %.9g", (double)out[1]);
    cr_expect_eq(out[2], 4, "(4 + 4 + 4) / 3 = %.9g", (double)out[2]);
}
