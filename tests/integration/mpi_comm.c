/* mpi_comm.c - the collectives of data-parallel training (src/parallel/comm.c) on several
 * ranks, run by ctest through mpiexec with 2 and 3 ranks.
 *
 * The bucketed gradient allreduce must equal one plain MPI_Allreduce of the whole buffer: to the
 * bit for integer-valued floats (every partial sum is exact, so no summation order can change
 * it) and, with 2 ranks, for any floats (a + b == b + a exactly); to float tolerance otherwise.
 * It must give the same bits on every rank and from one run to the next, whatever sequence of
 * comm_grads_ready calls each rank makes (the buckets start in one order on all ranks). The bf16
 * mode (test_bf16): the same bits on every rank and run to run, within the bound of its
 * roundings of the exact sum of the quantized inputs (bit-exact with 2 ranks), the kept
 * residual g - float(bf16(g)), and zero again after comm_grads_undo. Also:
 * the bucket plan, the one-rank path (MPI_COMM_SELF), comm_bcast_params, comm_check_same on a
 * one-bit difference, the sums and min/max/mean. Every failed check prints what failed; the
 * program exits non-zero on any rank's failure. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "s2s/bf16.h"
#include "s2s/comm.h"
#include "s2s/hash.h"
#include "s2s/rng.h"
#include "s2s/status.h"

static int rank, size, failures, checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "mpi_comm: rank %d of %d: FAILED %s:%d: ", rank, size, __FILE__,     \
                    __LINE__);                                                                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static real *alloc_grads(size_t n)
{
    size_t bytes = (n * sizeof(real) + 63) / 64 * 64;
    real *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "mpi_comm: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return p;
}

/* This rank's input: integer values in [-1000, 1000] (exact sums) or uniform floats. */
static void fill(real *x, size_t n, bool integers, uint32_t salt)
{
    rng_stream s;
    rng_stream_init(&s, 17, RNG_BENCH, (uint32_t)rank, salt, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = integers ? (real)((int)rng_below(&s, 2001) - 1000)
                        : (real)(2.0 * rng_uniform(&s) - 1.0);
}

/* The ways a rank reports backward progress before comm_grads_finish. */
enum { SEQ_NONE, SEQ_ALL_AT_ONCE, SEQ_HALVES, SEQ_POLLING, SEQ_BY_RANK, N_SEQ };
static const char *const SEQ_NAMES[] = {"finish only", "ready(0) at once", "n, n/2, 0",
                                        "many small steps with repeats",
                                        "different on every rank"};

static void report_progress(comm_grads *c, int seq)
{
    size_t n = c->n;
    switch (seq) {
    case SEQ_NONE:
        break;
    case SEQ_ALL_AT_ONCE:
        comm_grads_ready(c, 0);
        break;
    case SEQ_HALVES:
        comm_grads_ready(c, n);
        comm_grads_ready(c, n / 2);
        comm_grads_ready(c, 0);
        break;
    case SEQ_POLLING: /* a watermark falling in uneven steps, each reported three times */
        for (size_t k = n, step = 1; k > 0; k = k > step ? k - step : 0, step = step * 3 + 5)
            for (int r = 0; r < 3; r++)
                comm_grads_ready(c, k);
        break;
    case SEQ_BY_RANK: /* rank 0 reports nothing, others polling with rank-dependent steps */
        if (rank > 0)
            for (size_t k = n; k > 0; k = k > (size_t)rank * 997 ? k - (size_t)rank * 997 : 0)
                comm_grads_ready(c, k);
        break;
    }
}

/* The plan: boundaries from n down to 0, strictly decreasing, interior ones on 64-byte lines,
 * buckets no larger than the requested size rounded up to a line plus one line. */
static void check_plan(const comm_grads *c, size_t n, size_t bucket_bytes)
{
    const size_t line = 64 / sizeof(real);
    size_t per = bucket_bytes / sizeof(real);
    per = per < line ? line : (per + line - 1) / line * line;
    CHECK(c->lo[0] == n && c->lo[c->n_buckets] == 0, "plan of n=%zu, %zu-byte buckets: ends "
          "%zu and %zu", n, bucket_bytes, c->lo[0], c->lo[c->n_buckets]);
    CHECK(n == 0 ? c->n_buckets == 0 : c->n_buckets >= 1, "n=%zu: %d buckets", n, c->n_buckets);
    for (int b = 0; b < c->n_buckets; b++) {
        size_t len = c->lo[b] - c->lo[b + 1];
        CHECK(c->lo[b + 1] < c->lo[b], "n=%zu bucket %d: [%zu, %zu) is empty", n, b,
              c->lo[b + 1], c->lo[b]);
        CHECK(c->lo[b + 1] % line == 0, "n=%zu bucket %d starts at %zu, not on a line", n, b,
              c->lo[b + 1]);
        CHECK(len <= per + line, "n=%zu bucket %d holds %zu elements, more than %zu + %zu", n, b,
              len, per, line);
    }
}

/* Bucketed reduction of this rank's fill into out; returns the number of buckets. */
static int bucketed(real *out, size_t n, size_t bucket_bytes, bool integers, int seq,
                    uint32_t salt)
{
    comm_grads c;
    fill(out, n, integers, salt);
    int rc = comm_grads_init(&c, MPI_COMM_WORLD, out, n, bucket_bytes, COMM_GRAD_EXACT);
    CHECK(rc == 0, "comm_grads_init(n=%zu, %zu bytes): %s", n, bucket_bytes, s2s_errmsg(rc));
    if (rc < 0)
        return 0;
    check_plan(&c, n, bucket_bytes);
    for (int rep = 0; rep < 2; rep++) { /* a second step on the same object: begin resets */
        if (rep == 1)
            fill(out, n, integers, salt);
        comm_grads_begin(&c);
        report_progress(&c, seq);
        rc = comm_grads_finish(&c);
        CHECK(rc == 0, "comm_grads_finish: %s", s2s_errmsg(rc));
        CHECK(c.started == c.n_buckets, "%d of %d buckets started", c.started, c.n_buckets);
        CHECK(c.wait_s >= 0, "negative wait %g", c.wait_s);
    }
    int nb = c.n_buckets;
    comm_grads_free(&c);
    return nb;
}

/* Whether every rank holds the same bytes (min and max of the hashes agree). */
static bool same_on_all_ranks(const real *x, size_t n)
{
    uint64_t h = hash64(HASH64_INIT, x, n * sizeof(real)), lo, hi;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

static void test_allreduce(void)
{
    const size_t sizes[] = {1000003, 1001, 16, 1, 0};
    const size_t buckets[] = {(size_t)1 << 30, 1 << 20, 100000, 4100, 40, 1};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        real *ref = alloc_grads(n), *out = alloc_grads(n), *again = alloc_grads(n);
        for (int integers = 1; integers >= 0; integers--) {
            fill(ref, n, integers, (uint32_t)si);
            MPI_Allreduce(MPI_IN_PLACE, ref, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            for (size_t bi = 0; bi < sizeof buckets / sizeof buckets[0]; bi++) {
                size_t bb = buckets[bi];
                if (bb < 1000 && n > 10000)
                    continue; /* 60000 one-line buckets: slow, and nothing a 1001-long run
                               * does not already show */
                for (int seq = 0; seq < N_SEQ; seq++) {
                    int nb = bucketed(out, n, bb, integers, seq, (uint32_t)si);
                    const char *what = integers ? "integer-valued" : "random";
                    if (integers || size == 2) {
                        size_t bad = n;
                        for (size_t i = 0; i < n && bad == n; i++)
                            if (memcmp(&out[i], &ref[i], sizeof(real)) != 0)
                                bad = i;
                        CHECK(bad == n, "%s n=%zu, %zu-byte buckets (%d), %s: element %zu is "
                              "%.9g, MPI_Allreduce gives %.9g", what, n, bb, nb, SEQ_NAMES[seq],
                              bad, bad < n ? (double)out[bad] : 0, bad < n ? (double)ref[bad] : 0);
                    } else {
                        double worst = 0;
                        for (size_t i = 0; i < n; i++)
                            worst = fmax(worst, fabs((double)out[i] - (double)ref[i]));
                        CHECK(worst <= 4e-7 * size, "%s n=%zu, %zu-byte buckets, %s: differs "
                              "from MPI_Allreduce by %.3g", what, n, bb, SEQ_NAMES[seq], worst);
                    }
                    CHECK(same_on_all_ranks(out, n), "%s n=%zu, %zu-byte buckets, %s: the ranks "
                          "hold different sums", what, n, bb, SEQ_NAMES[seq]);
                    /* The same reduction again, with another progress sequence: same bits. */
                    bucketed(again, n, bb, integers, (seq + 2) % N_SEQ, (uint32_t)si);
                    CHECK(memcmp(out, again, n * sizeof(real)) == 0, "%s n=%zu, %zu-byte "
                          "buckets: two runs of the same reduction differ", what, n, bb);
                }
            }
        }
        free(ref);
        free(out);
        free(again);
    }
}

/* One bf16-mode step of a fresh comm_grads (zero residual) over this rank's random fill(salt):
 * out receives the sum. Checks that the residual kept is g - float(bf16(g)). */
static void bf16_step(real *out, real *g, size_t n, size_t bucket_bytes, int seq, uint32_t salt)
{
    comm_grads c;
    fill(out, n, false, salt);
    memcpy(g, out, n * sizeof(real));
    int rc = comm_grads_init(&c, MPI_COMM_WORLD, out, n, bucket_bytes, COMM_GRAD_BF16);
    CHECK(rc == 0, "bf16 comm_grads_init(n=%zu, %zu bytes): %s", n, bucket_bytes,
          s2s_errmsg(rc));
    if (rc < 0)
        return;
    CHECK(n == 0 || (c.resid && c.wire), "bf16 mode on %d ranks without its buffers", size);
    comm_grads_begin(&c);
    report_progress(&c, seq);
    rc = comm_grads_finish(&c);
    CHECK(rc == 0, "bf16 comm_grads_finish: %s", s2s_errmsg(rc));
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (c.resid[i] != g[i] - bf16_to_float(bf16_from_float(g[i])))
            bad = i;
    CHECK(bad == n, "bf16 n=%zu: residual %zu is %a, not g - float(bf16(g))", n, bad,
          bad < n ? (double)c.resid[bad] : 0);
    comm_grads_undo(&c); /* back to the residual before the step: zero */
    bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (c.resid[i] != 0)
            bad = i;
    CHECK(bad == n, "bf16 n=%zu: after comm_grads_undo residual %zu is %a, not 0", n, bad,
          bad < n ? (double)c.resid[bad] : 0);
    comm_grads_free(&c);
}

/* bf16 mode against the exact sum S of the ranks' quantized inputs q_r = bf16(g_r) (the
 * residuals start at zero). A sum over p ranks takes p - 1 additions, whatever the algorithm,
 * each computed in float (relative error <= 2^-24) and rounded to bf16 (<= 2^-8): u = 2^-8 +
 * 2^-24 + 2^-32 per hop. Every partial sum s_k is at most A (1 + u)^k with A = sum |q_r|, so
 * |result - S| <= (p - 1) u (1 + u)^(p - 1) A. With 2 ranks the one hop is bf16(float(q0 + q1))
 * on the rank that reduces that element, computed here for every element. Every rank must hold
 * the same bits, and a second run (another progress sequence) the same bits again. */
static void test_bf16(void)
{
    const size_t sizes[] = {1000003, 1001, 16, 1, 0};
    const size_t buckets[] = {(size_t)1 << 30, 1 << 20, 4100, 40};
    const int seqs[] = {SEQ_NONE, SEQ_POLLING, SEQ_BY_RANK};
    const double u = 0x1p-8 + 0x1p-24 + 0x1p-32;
    const double bound = (size - 1) * u * pow(1 + u, size - 1);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint32_t salt = 100 + (uint32_t)si;
        real *out = alloc_grads(n), *again = alloc_grads(n), *g = alloc_grads(n);
        double *exact = calloc(n ? n : 1, sizeof *exact), *abs_sum = calloc(n ? n : 1, sizeof
                                                                                       *abs_sum);
        float *pair = calloc(n ? n : 1, sizeof *pair);
        if (!exact || !abs_sum || !pair)
            MPI_Abort(MPI_COMM_WORLD, 1);
        int r0 = rank;
        for (rank = 0; rank < size; rank++) { /* every rank's inputs, computed here */
            fill(g, n, false, salt);
            for (size_t i = 0; i < n; i++) {
                float q = bf16_to_float(bf16_from_float(g[i]));
                exact[i] += q;
                abs_sum[i] += fabs((double)q);
                pair[i] = rank == 0 ? q : bf16_to_float(bf16_from_float(pair[i] + q));
            }
        }
        rank = r0;
        for (size_t bi = 0; bi < sizeof buckets / sizeof buckets[0]; bi++) {
            size_t bb = buckets[bi];
            if (bb < 1000 && n > 10000)
                continue; /* as in test_allreduce */
            for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
                bf16_step(out, g, n, bb, seqs[k], salt);
                size_t bad = n;
                double worst = 0;
                for (size_t i = 0; i < n; i++) {
                    double err = fabs((double)out[i] - exact[i]);
                    if (err > bound * abs_sum[i] && bad == n)
                        bad = i;
                    worst = fmax(worst, abs_sum[i] > 0 ? err / abs_sum[i] : 0);
                    if (size == 2 && memcmp(&out[i], &pair[i], sizeof(float)) != 0 && bad == n)
                        bad = i;
                }
                CHECK(bad == n, "bf16 n=%zu, %zu-byte buckets, %s: element %zu is %.9g, exact "
                      "sum of the quantized inputs %.9g (bound %.3g of %.3g%s)", n, bb,
                      SEQ_NAMES[seqs[k]], bad, bad < n ? (double)out[bad] : 0,
                      bad < n ? exact[bad] : 0, bound, bad < n ? abs_sum[bad] : 0,
                      size == 2 ? "; 2 ranks: bf16(q0 + q1) exactly" : "");
                CHECK(worst <= bound, "bf16: relative error %.3g above the bound %.3g", worst,
                      bound);
                CHECK(same_on_all_ranks(out, n), "bf16 n=%zu, %zu-byte buckets, %s: the ranks "
                      "hold different sums", n, bb, SEQ_NAMES[seqs[k]]);
                bf16_step(again, g, n, bb, seqs[(k + 1) % 3], salt);
                CHECK(memcmp(out, again, n * sizeof(real)) == 0, "bf16 n=%zu, %zu-byte "
                      "buckets: two runs of the same reduction differ", n, bb);
            }
        }
        free(out);
        free(again);
        free(g);
        free(exact);
        free(abs_sum);
        free(pair);
    }
}

/* One rank: no MPI traffic, the buffer untouched. */
static void test_one_rank(void)
{
    size_t n = 1000;
    real *x = alloc_grads(n), *copy = alloc_grads(n);
    fill(x, n, false, 99);
    memcpy(copy, x, n * sizeof(real));
    comm_grads c;
    CHECK(comm_grads_init(&c, MPI_COMM_SELF, x, n, 256, COMM_GRAD_EXACT) == 0, "init on MPI_COMM_SELF");
    comm_grads_begin(&c);
    comm_grads_ready(&c, n / 2);
    comm_grads_ready_cb(&c, 0);
    CHECK(c.started == 0, "one rank started %d buckets", c.started);
    CHECK(comm_grads_finish(&c) == 0 && c.wait_s == 0, "finish on one rank");
    CHECK(memcmp(x, copy, n * sizeof(real)) == 0, "one rank changed the gradients");
    comm_grads_free(&c);
    comm_grads_free(&c); /* safe twice (zeroed) */
    /* bf16 on one rank: no buffers, no quantization */
    CHECK(comm_grads_init(&c, MPI_COMM_SELF, x, n, 256, COMM_GRAD_BF16) == 0, "bf16 init on one "
          "rank");
    CHECK(!c.resid && !c.wire, "bf16 on one rank allocated its buffers");
    comm_grads_begin(&c);
    comm_grads_ready(&c, 0);
    CHECK(comm_grads_finish(&c) == 0, "bf16 finish on one rank");
    CHECK(memcmp(x, copy, n * sizeof(real)) == 0, "bf16 on one rank changed the gradients");
    comm_grads_free(&c);
    CHECK(comm_grads_init(&c, MPI_COMM_SELF, x, n, 256, COMM_GRAD_COUNT) == S2S_EINVAL,
          "an unknown mode accepted");
    comm_grads_free(&c);
    double d[2] = {1.5, -2};
    long l[1] = {7};
    CHECK(comm_sum_doubles(MPI_COMM_SELF, d, 2) == 0 && d[0] == 1.5 && d[1] == -2,
          "sum of doubles on one rank");
    CHECK(comm_sum_longs(MPI_COMM_SELF, l, 1) == 0 && l[0] == 7, "sum of longs on one rank");
    CHECK(comm_bcast_params(MPI_COMM_SELF, x, n) == 0 &&
              comm_check_same(MPI_COMM_SELF, x, n, "x") == 0,
          "broadcast and check on one rank");
    free(x);
    free(copy);
}

static void test_params(void)
{
    size_t n = 123457;
    real *p = alloc_grads(n), *want = alloc_grads(n);
    int r0 = rank;
    fill(p, n, false, 5); /* different on every rank */
    rank = 0;             /* rank 0's values, as every rank must hold them after the broadcast */
    fill(want, n, false, 5);
    rank = r0;
    int rc = comm_check_same(MPI_COMM_WORLD, p, n, "parameters before the broadcast");
    CHECK(rc == S2S_EMPI, "different parameters not detected before the broadcast (%d)", rc);
    rc = comm_bcast_params(MPI_COMM_WORLD, p, n);
    CHECK(rc == 0, "comm_bcast_params: %s", s2s_errmsg(rc));
    CHECK(memcmp(p, want, n * sizeof(real)) == 0, "after the broadcast: not rank 0's values");
    rc = comm_check_same(MPI_COMM_WORLD, p, n, "parameters");
    CHECK(rc == 0, "identical parameters reported different: %s", s2s_errmsg(rc));
    /* One bit of one value on one rank (the last, then rank 0, at both ends of the buffer). */
    const size_t where[] = {0, n / 2 + 3, n - 1};
    for (int w = 0; w < 3; w++)
        for (int culprit = size - 1; culprit >= 0; culprit -= size - 1) {
            uint32_t bits;
            if (rank == culprit) {
                memcpy(&bits, &p[where[w]], sizeof bits);
                bits ^= 1u << (w * 11);
                memcpy(&p[where[w]], &bits, sizeof bits);
            }
            rc = comm_check_same(MPI_COMM_WORLD, p, n, "parameters");
            CHECK(rc == S2S_EMPI, "bit %d of value %zu flipped on rank %d not detected (%d)",
                  w * 11, where[w], culprit, rc);
            if (rc == S2S_EMPI)
                CHECK(strstr(s2s_errmsg(rc), "differ across") != NULL, "message: %s",
                      s2s_errmsg(rc));
            if (rank == culprit)
                memcpy(&p[where[w]], &want[where[w]], sizeof(real));
            if (culprit == 0)
                break;
        }
    CHECK(comm_check_same(MPI_COMM_WORLD, p, n, "parameters") == 0, "restored values differ");
    free(p);
    free(want);
}

static void test_small_collectives(void)
{
    double d[3] = {rank + 0.5, -rank, 1e-3};
    long l[2] = {rank * 1000000000000L, 1};
    CHECK(comm_sum_doubles(MPI_COMM_WORLD, d, 3) == 0, "comm_sum_doubles");
    double tri = (double)size * (size - 1) / 2;
    CHECK(d[0] == tri + 0.5 * size && d[1] == -tri && fabs(d[2] - 1e-3 * size) < 1e-15,
          "sum of doubles: %g %g %g", d[0], d[1], d[2]);
    CHECK(comm_sum_longs(MPI_COMM_WORLD, l, 2) == 0, "comm_sum_longs");
    CHECK(l[0] == (long)tri * 1000000000000L && l[1] == size, "sum of longs: %ld %ld", l[0],
          l[1]);
    double x[2] = {rank, 10.0 * rank + 1}, mn[2], mx[2], mean[2];
    CHECK(comm_min_max_mean(MPI_COMM_WORLD, x, 2, mn, mx, mean) == 0, "comm_min_max_mean");
    CHECK(mn[0] == 0 && mn[1] == 1 && mx[0] == size - 1 && mx[1] == 10.0 * (size - 1) + 1,
          "min %g %g, max %g %g", mn[0], mn[1], mx[0], mx[1]);
    CHECK(fabs(mean[0] - (size - 1) / 2.0) < 1e-12 && fabs(mean[1] - (5.0 * (size - 1) + 1)) < 1e-12,
          "mean %g %g", mean[0], mean[1]);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2 && rank == 0)
        fprintf(stderr, "mpi_comm: running on one rank: only the one-rank paths are meaningful; "
                        "run it with mpiexec -n 2 or more\n");
    double t0 = MPI_Wtime();
    test_one_rank();
    test_small_collectives();
    test_params();
    test_allreduce();
    test_bf16();
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("mpi_comm: %d ranks, %d checks per rank, %d failed over all ranks, %.1f s\n", size,
               checks, total, MPI_Wtime() - t0);
    MPI_Finalize();
    return total ? 1 : 0;
}
