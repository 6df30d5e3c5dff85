/* real.h - the floating-point type of all model arithmetic.
 *
 * Training runs in float. The numerical sources (src/core, src/nn, src/optim: S2S_DOUBLE_DIRS in
 * CMakeLists.txt) are also compiled a second time with S2S_REAL_DOUBLE into a test-only
 * library, so that finite-difference gradient checks run in double precision on the very same
 * code: in double, central differences are accurate to ~1e-9 relative, which lets the checks
 * use tolerances that catch a missing term of any size. */
#ifndef S2S_REAL_H
#define S2S_REAL_H

#include <math.h>

#ifdef S2S_REAL_DOUBLE
typedef double real;
#define REAL_NAME "double"
static inline real r_exp(real x) { return exp(x); }
static inline real r_log(real x) { return log(x); }
static inline real r_tanh(real x) { return tanh(x); }
static inline real r_sqrt(real x) { return sqrt(x); }
#else
typedef float real;
#define REAL_NAME "float"
static inline real r_exp(real x) { return expf(x); }
static inline real r_log(real x) { return logf(x); }
static inline real r_tanh(real x) { return tanhf(x); }
static inline real r_sqrt(real x) { return sqrtf(x); }
#endif

static inline real r_sigmoid(real x) { return (real)1 / ((real)1 + r_exp(-x)); }

#endif
