/* gradcheck.c - central finite-difference checks of analytic gradients. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "s2s/rng.h"

gradcheck_opts gradcheck_defaults(void)
{
    gradcheck_opts o = {.h = 1e-5, .rtol = 1e-6, .atol = 1e-9, .max_elems = 4096, .n_dirs = 4,
                        .seed = 1234};
    return o;
}

static int compare(const char *what, const char *kind, size_t index, double analytic,
                   double numeric, const gradcheck_opts *o, int failures)
{
    double err = fabs(analytic - numeric);
    double allowed = o->atol + o->rtol * fmax(fabs(analytic), fabs(numeric));
    if (err <= allowed)
        return 0;
    if (failures < 5)
        fprintf(stderr, "gradcheck %s: %s %zu: analytic %.10g numeric %.10g (err %.3g > %.3g)\n",
                what, kind, index, analytic, numeric, err, allowed);
    return 1;
}

int gradcheck(const char *what, gradcheck_loss_fn f, void *ctx, real *x, const real *grad,
              size_t n, const gradcheck_opts *opts)
{
    gradcheck_opts o = opts ? *opts : gradcheck_defaults();
    rng_stream s;
    rng_stream_init(&s, o.seed, RNG_TEST, 0xfd, (uint32_t)n, 0);
    int failures = 0;

    /* Single elements: every one for small tensors, a random sample for large ones. */
    size_t n_elems = n <= o.max_elems ? n : o.max_elems;
    for (size_t k = 0; k < n_elems; k++) {
        size_t i = n <= o.max_elems ? k : (size_t)rng_below(&s, (uint32_t)n);
        real saved = x[i];
        x[i] = saved + (real)o.h;
        double up = f(ctx);
        x[i] = saved - (real)o.h;
        double down = f(ctx);
        x[i] = saved;
        failures += compare(what, "element", i, grad[i], (up - down) / (2 * o.h), &o, failures);
    }

    /* Random directions d: d.grad against (f(x + h d) - f(x - h d)) / 2h. */
    real *saved = malloc(n * sizeof *saved);
    real *dir = malloc(n * sizeof *dir);
    if (!saved || !dir) {
        fprintf(stderr, "gradcheck %s: out of memory\n", what);
        free(saved);
        free(dir);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        saved[i] = x[i];
    for (int d = 0; d < o.n_dirs; d++) {
        double dot = 0, norm = 0;
        for (size_t i = 0; i < n; i++) {
            dir[i] = (real)rng_normal(&s);
            norm += (double)dir[i] * dir[i];
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < n; i++) {
            dir[i] = (real)(dir[i] / norm);
            dot += (double)dir[i] * grad[i];
        }
        for (size_t i = 0; i < n; i++)
            x[i] = saved[i] + (real)o.h * dir[i];
        double up = f(ctx);
        for (size_t i = 0; i < n; i++)
            x[i] = saved[i] - (real)o.h * dir[i];
        double down = f(ctx);
        failures += compare(what, "direction", (size_t)d, dot, (up - down) / (2 * o.h), &o, failures);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = saved[i];
    free(saved);
    free(dir);
    return failures;
}
