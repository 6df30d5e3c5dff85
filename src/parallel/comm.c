/* comm.c - the gradient allreduce in buckets overlapped with backward, and the small collectives
 * of data-parallel training (include/s2s/comm.h).
 *
 * With one rank every function returns before any MPI call: a single process pays nothing and
 * works without a launcher. */
#include "s2s/comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/bf16.h"
#include "s2s/hash.h"
#include "s2s/status.h"
#include "s2s/timer.h"

/* Bucket boundaries fall on whole cache lines of the (64-byte aligned) gradient buffer, so two
 * buckets never share a line that the backward pass may still be writing. */
#define COMM_LINE_ELEMS (64 / sizeof(real))

/* Largest element count one MPI call takes (MPI counts are int), a whole number of lines. */
#define COMM_MAX_COUNT ((size_t)INT_MAX / COMM_LINE_ELEMS * COMM_LINE_ELEMS)

const char *const comm_grad_names[] = {COMM_GRAD_CHOICES(CHOICE_NAME) NULL};

/* bf16 mode needs the gradients in float32 (the library's `real`; only the numerical test
 * library is built in double, and it has no comm.c). */
_Static_assert(sizeof(real) == sizeof(float), "comm.c: bf16 gradients need float real");

static MPI_Datatype real_type(void)
{
    return sizeof(real) == sizeof(double) ? MPI_DOUBLE : MPI_FLOAT;
}

/* Records MPI's message for error code err of call `what`. */
static int comm_fail(int err, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "MPI error %d", err);
    return s2s_fail(S2S_EMPI, "comm: %s failed: %s", what, msg);
}

/* Open MPI's non-blocking allreduce (coll/libnbc) chooses a binomial tree for fewer than 4
 * ranks and for every in-place reduction, which the buckets are: a reduce to rank 0 and a
 * broadcast back, so each link carries a bucket's n bytes one way and then the other, 2n/B
 * seconds on links of B bytes/s. Rabenseifner's reduce-scatter and allgather (its algorithm 3;
 * the ring where a bucket has fewer elements than ranks) sends n/2 both ways at once at 2
 * ranks and about 2n(p-1)/p in all, in log2(p) rounds: measured over emulated 1 Gb/s links at
 * 2 ranks, docs/scaling.md. Every rank still gets the same sum, in an order fixed by the rank
 * count. Chosen only where the environment does not already name an algorithm; MPIs other
 * than Open MPI ignore the variable. */
#define COMM_NBC_ALGORITHM_VAR "OMPI_MCA_coll_libnbc_iallreduce_algorithm"
#define COMM_NBC_REDSCAT_ALLGATHER "3"

void comm_before_init(void)
{
    setenv(COMM_NBC_ALGORITHM_VAR, COMM_NBC_REDSCAT_ALLGATHER, 0);
}

/* The MPI_Op of bf16 mode: the float32 sum of two bf16 values rounded to bf16. Commutative
 * (float addition is), so MPI may combine in either order; the algorithm, and so the rounding
 * of each partial sum, is fixed by the rank count. */
static void bf16_sum_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    bf16_add(in, inout, (size_t)*len);
}

/* The residual, the wire buffer, the datatype and the op of bf16 mode. */
static int bf16_init(comm_grads *c)
{
    c->resid = calloc(c->n ? c->n : 1, sizeof *c->resid);
    c->resid_next = calloc(c->n ? c->n : 1, sizeof *c->resid_next);
    c->wire = malloc((c->n ? c->n : 1) * sizeof *c->wire);
    if (!c->resid || !c->resid_next || !c->wire)
        return s2s_fail(S2S_ENOMEM, "comm: cannot allocate the bf16 buffers of %zu gradients",
                        c->n);
    int rc = MPI_Type_contiguous(1, MPI_UINT16_T, &c->bf16_type);
    if (rc == MPI_SUCCESS && (rc = MPI_Type_commit(&c->bf16_type)) != MPI_SUCCESS)
        MPI_Type_free(&c->bf16_type);
    if (rc != MPI_SUCCESS) {
        c->bf16_type = MPI_DATATYPE_NULL;
        return comm_fail(rc, "MPI_Type_contiguous/MPI_Type_commit (bf16)");
    }
    if ((rc = MPI_Op_create(bf16_sum_op, 1, &c->bf16_op)) != MPI_SUCCESS) {
        c->bf16_op = MPI_OP_NULL;
        return comm_fail(rc, "MPI_Op_create (bf16 sum)");
    }
    return 0;
}

int comm_grads_init(comm_grads *c, MPI_Comm comm, real *grads, size_t n, size_t bucket_bytes,
                    int mode)
{
    memset(c, 0, sizeof *c);
    c->bf16_type = MPI_DATATYPE_NULL;
    c->bf16_op = MPI_OP_NULL;
    if (mode < 0 || mode >= COMM_GRAD_COUNT)
        return s2s_fail(S2S_EINVAL, "comm: unknown gradient communication mode %d", mode);
    c->mode = mode;
    c->comm = comm;
    c->grads = grads;
    c->n = n;
    int rc = MPI_Comm_rank(comm, &c->rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(comm, &c->size);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Comm_rank/size on the gradient communicator");
    if (bucket_bytes < 1)
        return s2s_fail(S2S_EINVAL, "comm: bucket size must be at least 1 byte, got %zu",
                        bucket_bytes);
    /* Elements per bucket: a whole number of lines, at least one, at most one MPI count. */
    size_t want = bucket_bytes / sizeof(real), per = COMM_MAX_COUNT;
    if (want < COMM_MAX_COUNT)
        per = want <= COMM_LINE_ELEMS ? COMM_LINE_ELEMS
                                      : (want + COMM_LINE_ELEMS - 1) / COMM_LINE_ELEMS *
                                            COMM_LINE_ELEMS;
    size_t most = n / per + 2;
    c->lo = malloc((most + 1) * sizeof *c->lo);
    c->req = malloc(most * sizeof *c->req);
    if (!c->lo || !c->req) {
        comm_grads_free(c);
        return s2s_fail(S2S_ENOMEM, "comm: cannot allocate %zu gradient buckets", most);
    }
    /* From the end: lo[b] = n - b * per rounded down to a line; a boundary that would leave a
     * bucket empty (the last few elements before 0) is dropped, so the first bucket of the
     * buffer absorbs them. */
    int nb = 0;
    c->lo[0] = n;
    while (c->lo[nb] > 0) {
        size_t prev = c->lo[nb], next = 0;
        if (prev > per) {
            next = (prev - per) / COMM_LINE_ELEMS * COMM_LINE_ELEMS;
            if (next >= prev) /* cannot happen with per >= one line; keeps the loop finite */
                next = 0;
        }
        c->lo[++nb] = next;
    }
    c->n_buckets = nb;
    for (int b = 0; b < nb; b++)
        c->req[b] = MPI_REQUEST_NULL;
    if (mode == COMM_GRAD_BF16 && c->size > 1 && (rc = bf16_init(c)) < 0) {
        comm_grads_free(c);
        return rc;
    }
    return 0;
}

void comm_grads_free(comm_grads *c)
{
    free(c->lo);
    free(c->req);
    free(c->resid);
    free(c->resid_next);
    free(c->wire);
    /* MPI handles exist only between MPI_Init and MPI_Finalize; a zeroed struct has none. */
    int finalized = 1;
    MPI_Finalized(&finalized);
    if (!finalized) {
        if (c->bf16_op != MPI_OP_NULL && c->bf16_op != 0)
            MPI_Op_free(&c->bf16_op);
        if (c->bf16_type != MPI_DATATYPE_NULL && c->bf16_type != 0)
            MPI_Type_free(&c->bf16_type);
    }
    memset(c, 0, sizeof *c);
}

void comm_grads_begin(comm_grads *c)
{
    c->started = 0;
    c->wait_s = 0;
    c->first_start_s = 0;
    c->mpi_err = MPI_SUCCESS;
}

/* Starts bucket c->started (the next in order). */
static void start_bucket(comm_grads *c)
{
    int b = c->started;
    size_t lo = c->lo[b + 1], count = c->lo[b] - lo;
    if (b == 0)
        c->first_start_s = wall_seconds();
    int rc;
    if (c->wire) { /* bf16: one fused pass adds the residual, rounds and keeps what was lost */
        bf16_feedback(c->resid + lo, c->resid_next + lo, c->grads + lo, c->wire + lo, count);
        rc = MPI_Iallreduce(MPI_IN_PLACE, c->wire + lo, (int)count, c->bf16_type, c->bf16_op,
                            c->comm, &c->req[b]);
    } else
        rc = MPI_Iallreduce(MPI_IN_PLACE, c->grads + lo, (int)count, real_type(), MPI_SUM,
                            c->comm, &c->req[b]);
    if (rc != MPI_SUCCESS && c->mpi_err == MPI_SUCCESS)
        c->mpi_err = rc;
    c->started++;
}

void comm_grads_ready(comm_grads *c, size_t final_from)
{
    if (c->size <= 1)
        return;
    while (c->started < c->n_buckets && c->lo[c->started + 1] >= final_from)
        start_bucket(c);
    if (c->started == 0)
        return;
    /* Open MPI moves non-blocking collectives forward only inside MPI calls: each test lets the
     * started reductions advance while this rank goes on with backward. Completed requests
     * become MPI_REQUEST_NULL, which later tests skip. */
    int flag, rc = MPI_Testall(c->started, c->req, &flag, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS && c->mpi_err == MPI_SUCCESS)
        c->mpi_err = rc;
}

void comm_grads_ready_cb(void *ctx, size_t final_from)
{
    comm_grads_ready(ctx, final_from);
}

int comm_grads_finish(comm_grads *c)
{
    c->wait_s = 0;
    if (c->size <= 1)
        return 0;
    while (c->started < c->n_buckets)
        start_bucket(c);
    double t0 = wall_seconds();
    int rc = MPI_Waitall(c->started, c->req, MPI_STATUSES_IGNORE);
    c->wait_s = wall_seconds() - t0;
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Waitall on the gradient buckets");
    if (c->mpi_err != MPI_SUCCESS)
        return comm_fail(c->mpi_err, "starting or testing a gradient bucket (MPI_Iallreduce)");
    if (c->wire) {
        bf16_expand(c->wire, c->grads, c->n);
        float *kept = c->resid; /* the step's residual becomes the current one */
        c->resid = c->resid_next;
        c->resid_next = kept;
    }
    return 0;
}

void comm_grads_undo(comm_grads *c)
{
    if (!c->wire)
        return;
    float *r = c->resid;
    c->resid = c->resid_next;
    c->resid_next = r;
}

/* Compares hash64 of params on every rank with one MAX reduction of (h, ~h): max(~h) = ~min(h). */
static int check_same(MPI_Comm comm, const real *params, size_t n, const char *what, int size)
{
    uint64_t h = hash64(HASH64_INIT, params, n * sizeof(real));
    uint64_t v[2] = {h, ~h};
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, comm);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Allreduce of the parameter hashes");
    uint64_t hmax = v[0], hmin = ~v[1];
    if (hmin != hmax) {
        int rank = 0;
        MPI_Comm_rank(comm, &rank);
        return s2s_fail(S2S_EMPI,
                        "comm: %s (%zu values) differ across the %d ranks: hash64 from %016llx "
                        "to %016llx, this rank (%d) has %016llx",
                        what, n, size, (unsigned long long)hmin, (unsigned long long)hmax, rank,
                        (unsigned long long)h);
    }
    return 0;
}

int comm_check_same(MPI_Comm comm, const real *params, size_t n, const char *what)
{
    int size = 1, rc = MPI_Comm_size(comm, &size);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Comm_size");
    if (size <= 1)
        return 0;
    return check_same(comm, params, n, what ? what : "values", size);
}

int comm_bcast_params(MPI_Comm comm, real *params, size_t n)
{
    int size = 1, rc = MPI_Comm_size(comm, &size);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Comm_size");
    if (size <= 1)
        return 0;
    for (size_t off = 0; off < n; off += COMM_MAX_COUNT) { /* MPI counts are int */
        size_t count = n - off < COMM_MAX_COUNT ? n - off : COMM_MAX_COUNT;
        if ((rc = MPI_Bcast(params + off, (int)count, real_type(), 0, comm)) != MPI_SUCCESS)
            return comm_fail(rc, "MPI_Bcast of the parameters from rank 0");
    }
    return check_same(comm, params, n, "parameters after the broadcast from rank 0", size);
}

/* In-place sum of x[n] of type t over the ranks of comm; nothing with one rank. */
static int sum_in_place(MPI_Comm comm, void *x, int n, MPI_Datatype t, const char *what)
{
    int size = 1, rc = MPI_Comm_size(comm, &size);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Comm_size");
    if (size <= 1 || n <= 0)
        return 0;
    if ((rc = MPI_Allreduce(MPI_IN_PLACE, x, n, t, MPI_SUM, comm)) != MPI_SUCCESS)
        return comm_fail(rc, what);
    return 0;
}

int comm_sum_doubles(MPI_Comm comm, double *x, int n)
{
    return sum_in_place(comm, x, n, MPI_DOUBLE, "MPI_Allreduce (sum of doubles)");
}

int comm_sum_longs(MPI_Comm comm, long *x, int n)
{
    return sum_in_place(comm, x, n, MPI_LONG, "MPI_Allreduce (sum of longs)");
}

int comm_agree(MPI_Comm comm, int rc)
{
    int worst = rc, err = MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, comm);
    if (err != MPI_SUCCESS)
        return comm_fail(err, "MPI_Allreduce (status)");
    return rc < 0 ? rc : worst < 0 ? S2S_EPEER : 0;
}

int comm_min_max_mean(MPI_Comm comm, const double *x, int n, double *min, double *max,
                      double *mean)
{
    int size = 1, rc = MPI_Comm_size(comm, &size);
    if (rc != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Comm_size");
    if (n <= 0)
        return 0;
    if (size <= 1) {
        memmove(min, x, (size_t)n * sizeof *x);
        memmove(max, x, (size_t)n * sizeof *x);
        memmove(mean, x, (size_t)n * sizeof *x);
        return 0;
    }
    if ((rc = MPI_Allreduce(x, min, n, MPI_DOUBLE, MPI_MIN, comm)) != MPI_SUCCESS ||
        (rc = MPI_Allreduce(x, max, n, MPI_DOUBLE, MPI_MAX, comm)) != MPI_SUCCESS ||
        (rc = MPI_Allreduce(x, mean, n, MPI_DOUBLE, MPI_SUM, comm)) != MPI_SUCCESS)
        return comm_fail(rc, "MPI_Allreduce of per-rank timings");
    for (int i = 0; i < n; i++)
        mean[i] /= size;
    return 0;
}
