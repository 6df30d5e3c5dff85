/* gradcheck.h - central finite-difference checks of analytic gradients.
 *
 * Used by the tests in tests/grad, which link the double-precision build of the numerical code
 * (real == double). There, a central difference with h = 1e-5 is accurate to about 1e-9
 * relative, so the default tolerance (1e-6 relative) catches a missing term, a transposed
 * matrix or a wrong gate long before it could hide in rounding. */
#ifndef S2S_GRADCHECK_H
#define S2S_GRADCHECK_H

#include <stddef.h>

#include "s2s/real.h"

/* Evaluates the scalar loss at the current values of the parameters being checked. */
typedef double (*gradcheck_loss_fn)(void *ctx);

typedef struct {
    double h;           /* finite-difference step (default 1e-5) */
    double rtol, atol;  /* pass if |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|) */
    size_t max_elems;   /* check every element when n <= max_elems, else a random sample */
    int n_dirs;         /* random directions checked in addition to elements */
    unsigned seed;
} gradcheck_opts;

gradcheck_opts gradcheck_defaults(void);

/* Compares grad[n] (d loss / d x) with central differences of f over x[n], which f must read.
 * x is restored on return. Prints each failure (up to a few) with `what` and the element index.
 * Returns the number of failing elements/directions (0 = pass). */
int gradcheck(const char *what, gradcheck_loss_fn f, void *ctx, real *x, const real *grad,
              size_t n, const gradcheck_opts *opts);

#endif
