/* optim.h - optimizers and gradient clipping over the flat parameter buffer.
 *
 * Update rules follow PyTorch's torch.optim so that results can be compared:
 *   SGD  : v = momentum * v + g;  p -= lr * v        (plain p -= lr * g when momentum == 0)
 *   Adam : m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  t += 1
 *          p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   AdamW: p *= 1 - lr * wd, then the Adam update with the raw gradient
 * Weight decay wd as torch.optim does it: SGD and Adam take the L2 gradient g + wd * p (formed
 * inside the update; the caller's gradient buffer is not modified), AdamW decays the parameters
 * directly ("decoupled", Loshchilov & Hutter 2019), so its decay is not rescaled by Adam's
 * denominator. It applies to every parameter of the buffer, biases and embeddings included, as
 * with a single PyTorch parameter group. With wd = 0 all three are bit for bit the plain update.
 * Moments live in arrays with the parameter buffer's layout (docs/training.md). */
#ifndef S2S_OPTIM_H
#define S2S_OPTIM_H

#include <stddef.h>

#include "s2s/choice.h"
#include "s2s/real.h"

/* The optimizers (include/s2s/choice.h); a new one also needs its update in optim.c. */
#define OPTIM_CHOICES(X) X(OPTIM_SGD, "sgd") X(OPTIM_ADAM, "adam") X(OPTIM_ADAMW, "adamw")
typedef enum { OPTIM_CHOICES(CHOICE_ENUM) OPTIM_COUNT } optim_kind;
extern const char *const optim_names[]; /* NULL-terminated, indexed by optim_kind */

const char *optim_name(optim_kind kind);          /* "sgd", "adam", "adamw" */
int optim_parse(const char *name, optim_kind *out); /* 0, or S2S_EINVAL with a message */

typedef struct {
    optim_kind kind;
    double momentum;            /* SGD */
    double beta1, beta2, eps;   /* Adam and AdamW */
    double weight_decay;        /* >= 0; L2 for SGD and Adam, decoupled for AdamW; 0: none */
} optim_config;

typedef struct {
    optim_config cfg;
    size_t n;
    long step;  /* updates applied so far (Adam's t) */
    real *m;    /* SGD momentum buffer or Adam(W) first moment; NULL when unused */
    real *v;    /* Adam(W) second moment; NULL when unused */
} optimizer;

int optimizer_init(optimizer *opt, const optim_config *cfg, size_t n);
void optimizer_free(optimizer *opt); /* safe on a zeroed optimizer */

/* One update of params[n] from grads[n] with learning rate lr; grads is only read. */
void optimizer_step(optimizer *opt, real *params, const real *grads, double lr);

/* L2 norm of g[n], accumulated in double. */
double grad_norm(const real *g, size_t n);

/* If the norm of g exceeds max_norm (> 0), scales g by max_norm / norm. Returns the norm before
 * clipping. max_norm <= 0 disables clipping. */
double clip_grad_norm(real *g, size_t n, double max_norm);

/* x[n] *= s */
void scale_buffer(real *x, size_t n, real s);

/* One step of the exponential moving average of the parameters (train --ema DECAY, after each
 * applied optimizer step): ema += (1 - decay) * (params - ema) over ema[n], params[n], one
 * fused pass with 1 - decay formed in double and rounded once. This is torch.lerp's form
 * (ema.lerp_(params, 1 - decay)), which leaves the average exactly where it is when the
 * parameters do not move; decay in (0, 1). */
void ema_update(real *ema, const real *params, size_t n, double decay);

#endif
