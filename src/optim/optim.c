/* optim.c - SGD (with momentum), Adam and AdamW over the flat parameter buffer, weight decay,
 * global-norm clipping, the exponential moving average of the parameters.
 *
 * Each update is one fused pass over params, grads and the moment buffers, with every
 * per-step scalar (learning rate, bias corrections, decay factor) computed once in double
 * outside the loop. Weight decay is a term inside that pass, never a second pass or a buffer.
 * The Adam loop vectorizes only when sqrt needs no errno check (-fno-math-errno); sqrt and
 * division are correctly rounded either way. */
#include "s2s/optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/status.h"

/* Independent partial sums so that the double reduction of grad_norm can vectorize. */
#define NORM_LANES 8

/* The update kernels take the weight-decay mode as an argument and are always inlined, so each
 * call site in optimizer_step compiles to its own loop with the mode a constant: the loop
 * without decay is exactly the plain update (same operations, bit for bit) and none of the
 * loops carries a branch that would keep it from vectorizing. */
#define OPTIM_KERNEL static inline __attribute__((always_inline))

typedef enum {
    OPTIM_DECAY_NONE,      /* weight_decay == 0 */
    OPTIM_DECAY_L2,        /* g + wd * p feeds the update (SGD, Adam) */
    OPTIM_DECAY_DECOUPLED, /* p *= 1 - lr * wd before the update (AdamW) */
} optim_decay;

const char *const optim_names[] = {OPTIM_CHOICES(CHOICE_NAME) NULL};

const char *optim_name(optim_kind kind)
{
    return choice_name(optim_names, (int)kind);
}

int optim_parse(const char *name, optim_kind *out)
{
    int k = choice_parse("optimizer", optim_names, name);
    if (k >= 0)
        *out = (optim_kind)k;
    return k < 0 ? k : 0;
}

static bool is_adam(optim_kind kind) { return kind == OPTIM_ADAM || kind == OPTIM_ADAMW; }

static int check_config(const optim_config *cfg)
{
    if (cfg->kind != OPTIM_SGD && !is_adam(cfg->kind))
        return s2s_fail(S2S_EINVAL, "optimizer: unknown kind %d", (int)cfg->kind);
    if (!(cfg->weight_decay >= 0 && isfinite(cfg->weight_decay)))
        return s2s_fail(S2S_EINVAL, "optimizer %s: weight decay must be finite and >= 0, got %g",
                        optim_name(cfg->kind), cfg->weight_decay);
    if (cfg->kind == OPTIM_SGD) {
        if (!(cfg->momentum >= 0 && cfg->momentum < 1))
            return s2s_fail(S2S_EINVAL, "optimizer sgd: momentum must be in [0, 1), got %g",
                            cfg->momentum);
        return 0;
    }
    if (!(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1))
        return s2s_fail(S2S_EINVAL, "optimizer %s: betas must be in [0, 1), got %g, %g",
                        optim_name(cfg->kind), cfg->beta1, cfg->beta2);
    if (!(cfg->eps > 0))
        return s2s_fail(S2S_EINVAL, "optimizer %s: eps must be positive, got %g",
                        optim_name(cfg->kind), cfg->eps);
    return 0;
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
    bool need_m = is_adam(cfg->kind) || cfg->momentum > 0;
    if (need_m && !(opt->m = calloc(1, bytes))) {
        rc = s2s_fail(S2S_ENOMEM, "optimizer %s: cannot allocate the first moment of %zu values",
                      optim_name(cfg->kind), n);
        goto fail;
    }
    if (is_adam(cfg->kind) && !(opt->v = calloc(1, bytes))) {
        rc = s2s_fail(S2S_ENOMEM, "optimizer %s: cannot allocate the second moment of %zu values",
                      optim_name(cfg->kind), n);
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

/* As torch.optim.SGD: with weight decay the L2 gradient d = g + wd * p replaces g (PyTorch's
 * grad.add(param, alpha=wd)), formed in a register so the caller's gradients stay untouched. */
OPTIM_KERNEL void sgd_step(real *restrict p, const real *restrict g, size_t n, real lr,
                           optim_decay decay, real wd)
{
    for (size_t i = 0; i < n; i++) {
        real gi = g[i];
        if (decay == OPTIM_DECAY_L2)
            gi += wd * p[i];
        p[i] -= lr * gi;
    }
}

OPTIM_KERNEL void sgd_momentum_step(real *restrict p, real *restrict buf, const real *restrict g,
                                    size_t n, real lr, real mu, optim_decay decay, real wd)
{
    for (size_t i = 0; i < n; i++) {
        real gi = g[i];
        if (decay == OPTIM_DECAY_L2)
            gi += wd * p[i];
        real b = mu * buf[i] + gi;
        buf[i] = b;
        p[i] -= lr * b;
    }
}

/* As torch.optim.Adam: p -= step_size * (m / (sqrt(v) / sqrt(bc2) + eps)) with
 * step_size = lr / bc1, bc_k = 1 - beta_k^t. 1 - beta_k comes in from double: formed in float
 * from beta2 = 0.999 it would be off by 1e-5 relative. `wd` is the L2 coefficient for
 * OPTIM_DECAY_L2 (Adam) and the factor 1 - lr * wd for OPTIM_DECAY_DECOUPLED (AdamW, applied
 * before the update as torch.optim.AdamW's param.mul_). */
OPTIM_KERNEL void adam_step(real *restrict p, real *restrict m, real *restrict v,
                            const real *restrict g, size_t n, real b1, real one_b1, real b2,
                            real one_b2, real step_size, real bc2_sqrt, real eps,
                            optim_decay decay, real wd)
{
    for (size_t i = 0; i < n; i++) {
        real pi = p[i], gi = g[i];
        if (decay == OPTIM_DECAY_L2)
            gi += wd * pi;
        if (decay == OPTIM_DECAY_DECOUPLED)
            pi *= wd;
        real mi = b1 * m[i] + one_b1 * gi;
        real vi = b2 * v[i] + one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * (mi / (r_sqrt(vi) / bc2_sqrt + eps));
    }
}

void optimizer_step(optimizer *opt, real *params, const real *grads, double lr)
{
    const optim_config *c = &opt->cfg;
    opt->step++;
    bool decay = c->weight_decay != 0;
    if (c->kind == OPTIM_SGD) {
        real l = (real)lr, mu = (real)c->momentum, wd = (real)c->weight_decay;
        if (opt->m && decay)
            sgd_momentum_step(params, opt->m, grads, opt->n, l, mu, OPTIM_DECAY_L2, wd);
        else if (opt->m)
            sgd_momentum_step(params, opt->m, grads, opt->n, l, mu, OPTIM_DECAY_NONE, 0);
        else if (decay)
            sgd_step(params, grads, opt->n, l, OPTIM_DECAY_L2, wd);
        else
            sgd_step(params, grads, opt->n, l, OPTIM_DECAY_NONE, 0);
        return;
    }
    double t = (double)opt->step;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    real b1 = (real)c->beta1, one_b1 = (real)(1 - c->beta1), b2 = (real)c->beta2,
         one_b2 = (real)(1 - c->beta2), step_size = (real)(lr / bc1), bc2_sqrt = (real)sqrt(bc2),
         eps = (real)c->eps;
    if (decay && c->kind == OPTIM_ADAMW)
        adam_step(params, opt->m, opt->v, grads, opt->n, b1, one_b1, b2, one_b2, step_size,
                  bc2_sqrt, eps, OPTIM_DECAY_DECOUPLED, (real)(1 - lr * c->weight_decay));
    else if (decay)
        adam_step(params, opt->m, opt->v, grads, opt->n, b1, one_b1, b2, one_b2, step_size,
                  bc2_sqrt, eps, OPTIM_DECAY_L2, (real)c->weight_decay);
    else
        adam_step(params, opt->m, opt->v, grads, opt->n, b1, one_b1, b2, one_b2, step_size,
                  bc2_sqrt, eps, OPTIM_DECAY_NONE, 0);
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

void ema_update(real *ema, const real *params, size_t n, double decay)
{
    real *restrict e = ema;
    const real *restrict p = params;
    const real w = (real)(1 - decay);
    for (size_t i = 0; i < n; i++)
        e[i] += w * (p[i] - e[i]);
}
