/* comm.h - the MPI communication of data-parallel training: the gradient allreduce, started in
 * buckets while backward is still running, and the small collectives around it.
 *
 * Gradient buckets. The gradient buffer [0, n) is cut into buckets of about `bucket_bytes`
 * (boundaries rounded to whole 64-byte lines), numbered from the END of the buffer: the model's
 * backward pass finishes the output layer (the last tensors of the layout) first and the source
 * embeddings (the first) last, so buckets become final from the end. The model reports progress
 * through comm_grads_ready(c, final_from): every gradient at index >= final_from is final. Each
 * bucket lying wholly in [final_from, n) that has not been started is started as a non-blocking
 * MPI_Iallreduce (MPI_SUM, in place), in bucket order, and outstanding requests are tested so
 * that MPI makes progress while the rank computes. comm_grads_finish starts what is left and
 * waits. The buckets and their order depend only on n and bucket_bytes, so every run with the
 * same ranks sums in the same order (Open MPI picks its reduction algorithm from the message
 * size and the number of ranks), and the result is identical on every rank.
 *
 * What goes on the wire (comm_grad_mode, --grad-comm): "exact" sums the float32 buckets with
 * MPI_SUM. "bf16" halves the bytes: when a bucket starts, this rank's error-feedback residual
 * e is added to it and the result rounded to bfloat16 (e += g; q = bf16(e); e -= float(q), so
 * what the rounding loses this step is sent in the next: over many steps nothing is lost), the
 * 2-byte values are reduced with a commutative MPI_Op that adds in float32 and rounds each
 * partial sum to bf16 (p - 1 roundings per element over p ranks, whatever the algorithm), and
 * comm_grads_finish converts the sums back into grads. The staging buffers (residual [n] float,
 * wire [n] bf16) are allocated by comm_grads_init; the residual is training state (checkpoints
 * save it per rank, src/train/train_ckpt.c).
 *
 * With one rank every call is a cheap no-op (no MPI call at all, no quantization), so
 * single-process runs pay nothing. */
#ifndef S2S_COMM_H
#define S2S_COMM_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "s2s/choice.h"
#include "s2s/real.h"

#define COMM_BUCKET_MB_DEFAULT 8

/* The gradient wire format (include/s2s/choice.h). */
#define COMM_GRAD_CHOICES(X) X(COMM_GRAD_EXACT, "exact") X(COMM_GRAD_BF16, "bf16")
typedef enum { COMM_GRAD_CHOICES(CHOICE_ENUM) COMM_GRAD_COUNT } comm_grad_mode;
extern const char *const comm_grad_names[];

typedef struct {
    MPI_Comm comm;          /* borrowed */
    int rank, size;
    real *grads;            /* borrowed, [n] */
    size_t n;
    int n_buckets;
    size_t *lo;             /* [n_buckets + 1]: bucket b is [lo[b+1], lo[b]) counted from the end:
                             * lo[0] = n, lo[n_buckets] = 0 */
    MPI_Request *req;       /* [n_buckets] */
    int started;            /* buckets started this step (0 .. n_buckets) */
    double wait_s;          /* seconds blocked in comm_grads_finish this step */
    double first_start_s;   /* wall_seconds() when the first bucket of this step started */
    int mpi_err;            /* first MPI error of comm_grads_ready this step (it returns
                             * nothing): reported by comm_grads_finish */
    int mode;               /* comm_grad_mode */
    /* bf16 mode with more than one rank only (else NULL / null handles): */
    float *resid;           /* [n] this rank's error-feedback residual, zero at init */
    float *resid_next;      /* [n] the residual this step leaves, written as buckets start;
                             * comm_grads_finish swaps it with resid (comm_grads_undo back) */
    uint16_t *wire;         /* [n] the bf16 values being reduced */
    MPI_Datatype bf16_type; /* 2 bytes */
    MPI_Op bf16_op;         /* float32 sum rounded to bf16 */
} comm_grads;

/* Before MPI_Init: the algorithm of the buckets' non-blocking allreduce, where the MPI leaves
 * it to the environment and the user has not chosen (comm.c says why). */
void comm_before_init(void);

/* Plans the buckets of grads[n]; bucket_bytes >= 1 (a single bucket if it exceeds the buffer;
 * below 64 bytes, buckets of one 64-byte line). grads must be 64-byte aligned (as
 * param_buffer_alloc's buffers are) for the boundaries to fall on cache lines. mode is a
 * comm_grad_mode; in bf16 mode with more than one rank, also allocates the residual (zeroed)
 * and the wire buffer and creates the MPI datatype and op. */
int comm_grads_init(comm_grads *c, MPI_Comm comm, real *grads, size_t n, size_t bucket_bytes,
                    int mode);
void comm_grads_free(comm_grads *c); /* safe on a zeroed struct; waits for nothing: only call
                                      * between steps */

/* A new step: no bucket started. */
void comm_grads_begin(comm_grads *c);

/* grads[final_from .. n) are final: starts the buckets inside that range and tests outstanding
 * requests. Called by the model's backward pass (model.grad_ready) and safe to call often: a
 * call with nothing new to start costs one MPI_Testall. */
void comm_grads_ready(comm_grads *c, size_t final_from);

/* Starts any bucket not yet started and waits for all; afterwards grads holds the sum over all
 * ranks. S2S_EMPI with MPI's message on failure. Records the blocked time in wait_s. */
int comm_grads_finish(comm_grads *c);

/* Right after comm_grads_finish: puts back the residual from before the step (in bf16 mode; a
 * no-op otherwise), for a step that is not applied (a stop abandoned it) and is repeated after
 * the resume exactly as the first time. */
void comm_grads_undo(comm_grads *c);

/* The callback shape of model.grad_ready: ctx is a comm_grads. */
void comm_grads_ready_cb(void *ctx, size_t final_from);

/* Broadcasts params[n] from rank 0 and checks that every rank then holds the same bytes
 * (hash64 of include/s2s/hash.h compared with MPI_MIN/MPI_MAX reductions). S2S_EMPI on MPI
 * failure or, with the differing hashes in the message, if the ranks disagree. */
int comm_bcast_params(MPI_Comm comm, real *params, size_t n);

/* Checks without broadcasting that every rank holds the same params[n] (as above). */
int comm_check_same(MPI_Comm comm, const real *params, size_t n, const char *what);

/* In-place sums of small arrays on every rank (blocking). */
int comm_sum_doubles(MPI_Comm comm, double *x, int n);
int comm_sum_longs(MPI_Comm comm, long *x, int n);

/* Every rank's status after a step that may fail on some ranks only: rc where this rank failed,
 * S2S_EPEER where only another did (that rank reports the cause), 0 where all succeeded.
 * Collective: call it on every rank, also after a failure, so that no rank is left waiting. */
int comm_agree(MPI_Comm comm, int rc);

/* Per-phase timing across ranks: for each of n values, the min, max and mean over ranks
 * (outputs of length n, not overlapping x; every rank gets them). */
int comm_min_max_mean(MPI_Comm comm, const double *x, int n, double *min, double *max,
                      double *mean);

#endif
