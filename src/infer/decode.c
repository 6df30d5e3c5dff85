/* decode.c - batched decoding of a corpus with one model or an ensemble, sharded over MPI ranks
 * by whole batches, with the results gathered on rank 0 in input order. */
#define _GNU_SOURCE /* qsort_r */
#include "s2s/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/batch.h"
#include "s2s/comm.h"
#include "s2s/status.h"

int decode_max_len(int n, double ratio)
{
    return (int)ceil(ratio * n) + 5;
}

void decode_results_free(decode_results *r)
{
    if (r->hyps)
        for (int i = 0; i < r->n * r->nbest; i++) {
            free(r->hyps[i].ids);
            free(r->hyps[i].attn);
        }
    free(r->hyps);
    free(r->nhyp);
    memset(r, 0, sizeof *r);
}

/* ---- a growing byte buffer: one rank's results on their way to rank 0 ---------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} bytes;

static int put(bytes *b, const void *x, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "decode: cannot hold %zu bytes of results", cap);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
    return 0;
}

/* Record of one sentence: int32 index, int32 count, then per hypothesis: double score,
 * double logprob, int32 finished, int32 len, int32 attention rows, int32 attention columns,
 * int32 ids[len], float attention[rows * columns]. */
static int put_sentence(bytes *b, int index, const beam_hyp *h, int count, int src_len)
{
    int32_t head[2] = {index, count};
    int rc = put(b, head, sizeof head);
    for (int k = 0; k < count && rc == 0; k++) {
        int32_t rows = h[k].attn ? h[k].len + h[k].finished : 0, cols = rows ? src_len : 0;
        int32_t meta[4] = {h[k].finished, h[k].len, rows, cols};
        double sc[2] = {h[k].score, h[k].logprob};
        if ((rc = put(b, sc, sizeof sc)) < 0 || (rc = put(b, meta, sizeof meta)) < 0 ||
            (rc = put(b, h[k].ids, (size_t)h[k].len * sizeof(int32_t))) < 0)
            break;
        if (rows)
            rc = put(b, h[k].attn, (size_t)rows * cols * sizeof(float));
    }
    return rc;
}

static const char *take(const char **p, size_t n)
{
    const char *at = *p;
    *p += n;
    return at;
}

/* Parses the records of [p, end) into out. */
static int read_sentences(const char *p, const char *end, decode_results *out)
{
    while (p < end) {
        int32_t head[2];
        memcpy(head, take(&p, sizeof head), sizeof head);
        int i = head[0];
        out->nhyp[i] = head[1];
        for (int k = 0; k < head[1]; k++) {
            beam_hyp *h = &out->hyps[(size_t)i * out->nbest + k];
            double sc[2];
            int32_t meta[4];
            memcpy(sc, take(&p, sizeof sc), sizeof sc);
            memcpy(meta, take(&p, sizeof meta), sizeof meta);
            h->score = sc[0];
            h->logprob = sc[1];
            h->finished = meta[0];
            h->len = meta[1];
            size_t nid = (size_t)meta[1], na = (size_t)meta[2] * meta[3];
            h->ids = malloc((nid ? nid : 1) * sizeof *h->ids);
            h->attn = na ? malloc(na * sizeof *h->attn) : NULL;
            if (!h->ids || (na && !h->attn))
                return s2s_fail(S2S_ENOMEM, "decode: results of sentence %d", i);
            memcpy(h->ids, take(&p, nid * sizeof(int32_t)), nid * sizeof(int32_t));
            if (na)
                memcpy(h->attn, take(&p, na * sizeof(float)), na * sizeof(float));
        }
    }
    return 0;
}

/* ---- the decoding ---------------------------------------------------------------------------- */

/* By source length, ties by position: the batch plan depends on the input alone. */
static int cmp_by_len(const void *a, const void *b, void *len_v)
{
    const int *len = len_v;
    int x = *(const int *)a, y = *(const int *)b;
    if (len[x] != len[y])
        return len[x] < len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Decodes this rank's batches into b. */
static int decode_share(trained_ensemble *e, const int *order, int n_order,
                        const int32_t *const *src, const int *src_len, const decode_options *o,
                        int rank, int size, bytes *b)
{
    int max_src = 0, max_out = 0, rc;
    for (int k = 0; k < n_order; k++) {
        int l = src_len[order[k]];
        max_src = l > max_src ? l : max_src;
        int ml = decode_max_len(l, o->max_len_ratio);
        max_out = ml > max_out ? ml : max_out;
    }
    int B = o->batch < n_order ? o->batch : n_order;
    beam_config bc = {.beam = o->beam,
                      .nbest = o->nbest,
                      .length_penalty = o->length_penalty,
                      .attention = o->attention && e->tm[0].cfg.attn != ATTN_NONE};
    model *models[OPT_LIST_MAX];
    for (int j = 0; j < e->n; j++)
        models[j] = &e->tm[j].m;
    batch bt = {0};
    beam_result res = {0};
    beam_search *bs = NULL;
    const int **ptr = malloc((size_t)B * sizeof *ptr);
    int *len = malloc((size_t)B * sizeof *len), *lim = malloc((size_t)B * sizeof *lim);
    if (!ptr || !len || !lim) {
        rc = s2s_fail(S2S_ENOMEM, "decode: batch of %d sentences", B);
        goto fail;
    }
    if ((rc = trained_ensemble_build(e, beam_rows(B, o->beam), max_src, 2)) < 0 ||
        (rc = batch_init(&bt, B, max_src, 2)) < 0 ||
        (rc = beam_search_init_ensemble(&bs, models, e->weight, e->n, &bc, B, max_out)) < 0 ||
        (rc = beam_result_init(&res, B, o->nbest, max_out, max_src, bc.attention)) < 0)
        goto fail;
    for (int first = rank * B; first < n_order; first += size * B) {
        int nb = n_order - first < B ? n_order - first : B;
        for (int k = 0; k < nb; k++) {
            int i = order[first + k];
            ptr[k] = (const int *)src[i];
            len[k] = src_len[i];
            lim[k] = decode_max_len(src_len[i], o->max_len_ratio);
        }
        if ((rc = batch_fill(&bt, nb, ptr, len, NULL, NULL)) < 0 ||
            (rc = beam_search_run(bs, &bt, lim, &res)) < 0)
            goto fail;
        for (int k = 0; k < nb; k++)
            if ((rc = put_sentence(b, order[first + k], &res.hyps[(size_t)k * o->nbest],
                                   res.counts[k], len[k])) < 0)
                goto fail;
        /* The other ranks decode their batches of this round alongside: rank 0 counts them. */
        if (o->progress) {
            int round_end = first - rank * B + size * B;
            progress_counter_add(o->progress, (round_end < n_order ? round_end : n_order) -
                                                  (first - rank * B));
        }
    }
fail:
    beam_search_free(bs);
    beam_result_free(&res);
    batch_free(&bt);
    free(ptr);
    free(len);
    free(lim);
    return rc;
}

int decode_corpus(trained_ensemble *e, int n, const int32_t *const *src, const int *src_len,
                  const decode_options *o, MPI_Comm comm, decode_results *out)
{
    _Static_assert(sizeof(int32_t) == sizeof(int), "token ids are ints in batches");
    int rank, size, rc = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(out, 0, sizeof *out);
    bytes b = {0};
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order), n_order = 0;
    int *counts = NULL, *displs = NULL;
    char *all = NULL;
    if (!order) {
        rc = s2s_fail(S2S_ENOMEM, "decode: order of %d sentences", n);
    } else {
        for (int i = 0; i < n; i++)
            if (src_len[i] > 0) /* an empty source gets an empty translation, no decoding */
                order[n_order++] = i;
        qsort_r(order, (size_t)n_order, sizeof *order, cmp_by_len, (void *)src_len);
        if (o->progress)
            progress_counter_add(o->progress, n - n_order); /* empty sources: done */
        if (n_order > 0)
            rc = decode_share(e, order, n_order, src, src_len, o, rank, size, &b);
    }

    if (rc == 0 && b.n > (size_t)INT32_MAX)
        rc = s2s_fail(S2S_ERANGE, "decode: %zu bytes of results on rank %d (at most 2 GiB)", b.n,
                      rank);
    if (rc == 0 && rank == 0 && (!(counts = malloc((size_t)size * sizeof *counts)) ||
                                 !(displs = malloc((size_t)size * sizeof *displs))))
        rc = s2s_fail(S2S_ENOMEM, "decode: gather of %d ranks", size);
    /* Every rank learns whether all succeeded before the collective gather. */
    if ((rc = comm_agree(comm, rc)) < 0)
        goto done;
    int mine = (int)b.n;
    if (MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm) != MPI_SUCCESS) {
        rc = s2s_fail(S2S_EMPI, "decode: MPI_Gather failed");
        goto done;
    }
    long total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        if (total > INT32_MAX || !(all = malloc((size_t)(total ? total : 1))))
            rc = s2s_fail(S2S_ENOMEM, "decode: %ld bytes of results on rank 0", total);
    }
    int root_rc = rc; /* rank 0 says whether it can receive */
    if (MPI_Bcast(&root_rc, 1, MPI_INT, 0, comm) != MPI_SUCCESS) {
        rc = s2s_fail(S2S_EMPI, "decode: MPI_Bcast failed");
        goto done;
    }
    if (root_rc < 0) {
        rc = rank == 0 ? rc : S2S_EPEER;
        goto done;
    }
    if (MPI_Gatherv(b.p, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, comm) !=
        MPI_SUCCESS) {
        rc = s2s_fail(S2S_EMPI, "decode: MPI_Gatherv failed");
        goto done;
    }
    if (rank == 0) {
        out->n = n;
        out->nbest = o->nbest;
        out->nhyp = calloc((size_t)(n ? n : 1), sizeof *out->nhyp);
        out->hyps = calloc((size_t)(n ? n : 1) * o->nbest, sizeof *out->hyps);
        if (!out->nhyp || !out->hyps)
            rc = s2s_fail(S2S_ENOMEM, "decode: results of %d sentences", n);
        else
            rc = read_sentences(all, all + total, out);
    }
done:
    if (rc < 0)
        decode_results_free(out);
    free(b.p);
    free(order);
    free(counts);
    free(displs);
    free(all);
    return rc;
}
