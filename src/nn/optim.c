/* optim.c - SGD (with momentum) and Adam over the flat parameter buffer, global-norm clipping.
 *
 * Each update is one fused pass over params, grads and the moment buffers, with every
 * per-step scalar (learning rate, bias corrections) computed once in double outside the loop.
 * The Adam loop vectorizes only when sqrt needs no errno check (-fno-math-errno); sqrt and
 * division are correctly rounded either way. */
#include "s2s/optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

/* Independent partial sums so that the double reduction of grad_norm can vectorize. */
#define NORM_LANES 8

const char *optim_name(optim_kind kind)
{
    switch (kind) {
    case OPTIM_SGD: return "sgd";
    case OPTIM_ADAM: return "adam";
    }
    return "unknown";
}

int optim_parse(const char *name, optim_kind *out)
{
    static const char *const names[] = {"sgd", "adam"};
    int k = s2s_choice("optimizer", names, 2, name);
    if (k >= 0)
        *out = (optim_kind)k;
    return k < 0 ? k : 0;
}

static int check_config(const optim_config *cfg)
{
    if (cfg->kind == OPTIM_SGD) {
        if (!(cfg->momentum >= 0 && cfg->momentum < 1))
            return s2s_fail(S2S_EINVAL, "optimizer sgd: momentum must be in [0, 1), got %g",
                            cfg->momentum);
        return 0;
    }
    if (cfg->kind == OPTIM_ADAM) {
        if (!(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1))
            return s2s_fail(S2S_EINVAL, "optimizer adam: betas must be in [0, 1), got %g, %g",
                            cfg->beta1, cfg->beta2);
        if (!(cfg->eps > 0))
            return s2s_fail(S2S_EINVAL, "optimizer adam: eps must be positive, got %g", cfg->eps);
        return 0;
    }
    return s2s_fail(S2S_EINVAL, "optimizer: unknown kind %d", (int)cfg->kind);
}

int optimizer_init(optimizer *opt, const optim_config *cfg, size_t n)
{
    int rc;
    memset(opt, 0, sizeof *opt);
    if ((rc = check_config(cfg)) < 0)
        return rc;
    opt->cfg = *cfg;
    opt->n = n;
    size_t bytes = (n ? n : 1) * sizeof(real);
    bool need_m = cfg->kind == OPTIM_ADAM || cfg->momentum > 0;
    if (need_m && !(opt->m = calloc(1, bytes))) {
        rc = s2s_fail(S2S_ENOMEM, "optimizer %s: cannot allocate the first moment of %zu values",
                      optim_name(cfg->kind), n);
        goto fail;
    }
    if (cfg->kind == OPTIM_ADAM && !(opt->v = calloc(1, bytes))) {
        rc = s2s_fail(S2S_ENOMEM, "optimizer adam: cannot allocate the second moment of %zu values",
                      n);
        goto fail;
    }
    return 0;
fail:
    optimizer_free(opt);
    return rc;
}

void optimizer_free(optimizer *opt)
{
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof *opt);
}

static void sgd_step(real *restrict p, const real *restrict g, size_t n, real lr)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

static void sgd_momentum_step(real *restrict p, real *restrict buf, const real *restrict g,
                              size_t n, real lr, real mu)
{
    for (size_t i = 0; i < n; i++) {
        real b = mu * buf[i] + g[i];
        buf[i] = b;
        p[i] -= lr * b;
    }
}

/* As torch.optim.Adam: p -= step_size * (m / (sqrt(v) / sqrt(bc2) + eps)) with
 * step_size = lr / bc1, bc_k = 1 - beta_k^t. 1 - beta_k comes in from double: formed in float
 * from beta2 = 0.999 it would be off by 1e-5 relative. */
static void adam_step(real *restrict p, real *restrict m, real *restrict v,
                      const real *restrict g, size_t n, real b1, real one_b1, real b2,
                      real one_b2, real step_size, real bc2_sqrt, real eps)
{
    for (size_t i = 0; i < n; i++) {
        real gi = g[i];
        real mi = b1 * m[i] + one_b1 * gi;
        real vi = b2 * v[i] + one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * (mi / (r_sqrt(vi) / bc2_sqrt + eps));
    }
}

void optimizer_step(optimizer *opt, real *params, const real *grads, double lr)
{
    const optim_config *c = &opt->cfg;
    opt->step++;
    if (c->kind == OPTIM_SGD) {
        if (opt->m)
            sgd_momentum_step(params, opt->m, grads, opt->n, (real)lr, (real)c->momentum);
        else
            sgd_step(params, grads, opt->n, (real)lr);
        return;
    }
    double t = (double)opt->step;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    adam_step(params, opt->m, opt->v, grads, opt->n, (real)c->beta1, (real)(1 - c->beta1),
              (real)c->beta2, (real)(1 - c->beta2), (real)(lr / bc1), (real)sqrt(bc2),
              (real)c->eps);
}

double grad_norm(const real *g, size_t n)
{
    double acc[NORM_LANES] = {0};
    size_t i = 0;
    for (; i + NORM_LANES <= n; i += NORM_LANES)
        for (int k = 0; k < NORM_LANES; k++)
            acc[k] += (double)g[i + k] * g[i + k];
    for (; i < n; i++)
        acc[0] += (double)g[i] * g[i];
    double s = 0;
    for (int k = 0; k < NORM_LANES; k++)
        s += acc[k];
    return sqrt(s);
}

double clip_grad_norm(real *g, size_t n, double max_norm)
{
    double norm = grad_norm(g, n);
    if (max_norm > 0 && norm > max_norm)
        scale_buffer(g, n, (real)(max_norm / norm));
    return norm;
}

void scale_buffer(real *x, size_t n, real s)
{
    real *restrict p = x;
    for (size_t i = 0; i < n; i++)
        p[i] *= s;
}
