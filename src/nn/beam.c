/* beam.c - batched beam search: every sentence's hypotheses are rows of one decoder batch.
 *
 * Rows (K = beam, W = K + 1 rows per sentence when K > 1, else W = 1; R = B * W):
 *   b*W + j, j < K   sentence b's open hypotheses, best first; the first n_open are live
 *   b*W + K          sentence b's greedy lane (K > 1): always its own most probable token
 * The encoder runs once over the B sentences; the attention memory and keys are copied to
 * [S, R, .] (a row reads its sentence's memory) and the initial decoder states to every row.
 * One step, all rows at once:
 *   decoder_step     rows' last tokens, states of slot 0 -> features and states in slot 1
 *   output_topk      per row the K best tokens and their log-probabilities ([R, K])
 *   selection        per sentence the K best (live row, token) pairs by cumulative
 *                    log-probability, merged from the rows' sorted lists; </s> ones finish
 *   gather           each new hypothesis's state, slot 1 row bp -> slot 0 row j
 * A row's best K tokens contain every token of the sentence's best K from that row, so the
 * [R, K] lists are all the selection needs. Histories tok, bp [T, R] (and alpha [T, R, S]) are
 * kept per step: a hypothesis is a (length, row) pair, traced back through bp at the end.
 * Dead rows (fewer than K open hypotheses, a finished greedy lane) and the rows of sentences
 * already done are stepped with the others and ignored, as greedy decoding steps finished
 * sentences: every step stays one GEMM per weight over a fixed set of rows.
 * An ensemble steps each of its models over the same rows: every model has its encoder pass,
 * its rows' memory, its decoder states in its own workspace, and the same gather reorders
 * them all; output_topk becomes ensemble_topk over the models' features (one model keeps
 * output_topk, which ensemble_topk reproduces bit for bit). The attention weights kept are the
 * first model's.
 * Everything is allocated in beam_search_init; a step allocates nothing. */
#include "s2s/beam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/decoder.h"
#include "s2s/ensemble.h"
#include "s2s/status.h"

/* One finished (or, at the length limit, unfinished) hypothesis: its tokens are
 * tok[len-1][row], tok[len-2][bp[len-1][row]], ... ; `row` is the row holding it after step
 * len - 1, i.e. the row that read its last token at step len (and, finished, chose </s>). */
typedef struct {
    int len, row;
    bool finished, lane;
    double logprob, score;
} beam_entry;

typedef struct {
    int n_open; /* live beam rows: b*W .. b*W + n_open - 1 */
    int n_kept; /* entries of the n-best list */
    bool lane_open, done;
} beam_sent;

/* One model of the search: its sentences' attention memory and keys copied to the rows
 * (beam > 1 with attention), and the rows' view of them during a search. */
typedef struct {
    model *m;
    real *mem, *keys; /* [max_src, max_rows, DM], [max_src, max_rows, KW] */
    attn_memory rows_mem;
} beam_model;

struct beam_search {
    int n_models;
    beam_model *bm;      /* [n_models]; the first one's attention weights are kept */
    ensemble_ws ens;     /* n_models > 1: the combination of their scores */
    ensemble_member *em; /* [n_models] their output layers */
    beam_config cfg;
    int max_B, max_len, max_rows;  /* capacity: sentences, tokens, rows = beam_rows(max_B) */
    int W;                         /* rows per sentence */
    bool attn;                     /* keep attention weights */
    int *lens, *sent;              /* [rows] source length and sentence of each row */
    int *ids, *gsrc;               /* [rows] next inputs; gather sources (-1: keep) */
    int *top;                      /* [rows, K] each row's best tokens */
    double *top_lp;                /* [rows, K] their log-probabilities */
    double *lp;                    /* [rows] log-probability of each row's hypothesis */
    int *tok, *bp;                 /* [max_len, rows] chosen tokens, backpointers */
    real *alpha;                   /* [max_len, rows, S] attention weights per step */
    beam_sent *st;                 /* [max_B] */
    beam_entry *kept;              /* [max_B, nbest] n-best lists, best first */
    int *heads, *new_tok, *new_bp; /* [K] selection scratch */
    double *new_lp;                /* [K] */
};

static const real *P(const model *m, int i)
{
    return m->params + m->table.t[i].offset;
}

int beam_rows(int B, int beam)
{
    return beam > 1 ? B * (beam + 1) : B;
}

double beam_length_penalty(int n, double alpha)
{
    return alpha == 0 ? 1.0 : pow((5.0 + n) / 6.0, alpha);
}

int beam_result_init(beam_result *r, int max_B, int nbest, int max_len, int max_src, bool attention)
{
    memset(r, 0, sizeof *r);
    if (max_B < 1 || nbest < 1 || max_len < 1 || max_src < 1)
        return s2s_fail(S2S_EINVAL,
                        "beam result: sentences, nbest, max_len and max_src must be positive, "
                        "got %d, %d, %d, %d",
                        max_B, nbest, max_len, max_src);
    r->max_B = max_B;
    r->nbest = nbest;
    r->max_len = max_len;
    r->max_src = max_src;
    size_t n = (size_t)max_B * nbest;
    r->hyps = calloc(n, sizeof *r->hyps);
    r->counts = calloc((size_t)max_B, sizeof *r->counts);
    r->ids_store = calloc(n * max_len, sizeof *r->ids_store);
    /* A hypothesis has at most max_len attention rows: len + 1 <= max_len when finished. */
    if (attention)
        r->attn_store = calloc(n * max_len * max_src, sizeof *r->attn_store);
    if (!r->hyps || !r->counts || !r->ids_store || (attention && !r->attn_store)) {
        beam_result_free(r);
        return s2s_fail(S2S_ENOMEM, "beam result: cannot allocate %d x %d hypotheses of %d tokens",
                        max_B, nbest, max_len);
    }
    return 0;
}

void beam_result_free(beam_result *r)
{
    free(r->hyps);
    free(r->counts);
    free(r->ids_store);
    free(r->attn_store);
    memset(r, 0, sizeof *r);
}

void beam_search_free(beam_search *bs)
{
    if (!bs)
        return;
    for (int j = 0; bs->bm && j < bs->n_models; j++) {
        free(bs->bm[j].mem);
        free(bs->bm[j].keys);
    }
    void *bufs[] = {bs->bm,  bs->em,     bs->lens,  bs->sent,    bs->ids,    bs->gsrc,
                    bs->top, bs->top_lp, bs->lp,    bs->tok,     bs->bp,     bs->alpha,
                    bs->st,  bs->kept,   bs->heads, bs->new_tok, bs->new_bp, bs->new_lp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    ensemble_ws_free(&bs->ens);
    free(bs);
}

/* Whether model j (of n) can step `rows` rows: the decoder batch and its two step slots. */
static int check_model(const model *m, int j, int n, int max_B, int K, long rows)
{
    char who[32] = "";
    if (n > 1)
        snprintf(who, sizeof who, "model %d: ", j + 1);
    if (rows > m->max_B)
        return s2s_fail(S2S_EINVAL,
                        "beam: %s%d sentences with beam %d need %ld decoder rows (beam_rows), but "
                        "the model was initialized for %d (model_init max_B)",
                        who, max_B, K, rows, m->max_B);
    if (2 * rows > (long)m->max_tgt * m->max_B)
        return s2s_fail(S2S_EINVAL,
                        "beam: %stwo decoder step slots of %ld rows exceed the model's decoder "
                        "workspace (model_init max_tgt %d x max_B %d)",
                        who, rows, m->max_tgt, m->max_B);
    return 0;
}

int beam_search_init(beam_search **out, model *m, const beam_config *cfg, int max_B, int max_len)
{
    return beam_search_init_ensemble(out, &m, NULL, 1, cfg, max_B, max_len);
}

int beam_search_init_ensemble(beam_search **out, model *const *models, const double *weights, int n,
                              const beam_config *cfg, int max_B, int max_len)
{
    *out = NULL;
    const int K = cfg->beam;
    if (n < 1)
        return s2s_fail(S2S_EINVAL, "beam: an ensemble needs at least one model, got %d", n);
    if (K < 1)
        return s2s_fail(S2S_EINVAL, "beam: beam size must be at least 1, got %d", K);
    if (cfg->nbest < 1 || cfg->nbest > K)
        return s2s_fail(S2S_EINVAL, "beam: nbest must be in 1..beam (%d), got %d", K, cfg->nbest);
    if (!(cfg->length_penalty >= 0 && isfinite(cfg->length_penalty)))
        return s2s_fail(S2S_EINVAL, "beam: length penalty alpha must be finite and >= 0, got %g",
                        cfg->length_penalty);
    if (max_B < 1 || max_len < 1)
        return s2s_fail(S2S_EINVAL, "beam: sentences and max_len must be positive, got %d, %d",
                        max_B, max_len);
    long rows = (long)max_B * (K > 1 ? K + 1 : 1);
    int rc;
    for (int j = 0; j < n; j++) {
        if ((rc = check_model(models[j], j, n, max_B, K, rows)) < 0)
            return rc;
        if (models[j]->cfg.tgt_vocab != models[0]->cfg.tgt_vocab)
            return s2s_fail(S2S_EINVAL,
                            "beam: model %d has a target vocabulary of %d tokens, model 1 %d: an "
                            "ensemble's models share one",
                            j + 1, models[j]->cfg.tgt_vocab, models[0]->cfg.tgt_vocab);
    }

    beam_search *bs = calloc(1, sizeof *bs);
    if (!bs)
        return s2s_fail(S2S_ENOMEM, "beam: cannot allocate the search");
    const model *m0 = models[0];
    bs->cfg = *cfg;
    bs->max_B = max_B;
    bs->max_len = max_len;
    bs->max_rows = (int)rows;
    bs->W = K > 1 ? K + 1 : 1;
    bs->attn = cfg->attention && m0->cfg.attn != ATTN_NONE;

    const size_t R = (size_t)rows, T = (size_t)max_len;
    bool ok = true;
#define ALLOC(ptr, n)                                                                              \
    do {                                                                                           \
        size_t count_ = (n);                                                                       \
        ptr = calloc(count_ ? count_ : 1, sizeof *(ptr));                                          \
        ok = ok && ptr;                                                                            \
    } while (0)
    ALLOC(bs->bm, (size_t)n);
    ALLOC(bs->em, (size_t)n);
    if (ok)
        bs->n_models = n;
    for (int j = 0; ok && j < n; j++) {
        model *m = models[j];
        const size_t S = (size_t)m->max_src, DM = (size_t)m->dirs * m->cfg.hidden,
                     H = (size_t)m->cfg.hidden;
        bs->bm[j].m = m;
        if (m->cfg.attn != ATTN_NONE && bs->W > 1)
            ALLOC(bs->bm[j].mem, S * R * DM);
        if ((m->cfg.attn == ATTN_BAHDANAU || m->cfg.attn == ATTN_GENERAL) && bs->W > 1)
            ALLOC(bs->bm[j].keys, S * R * H);
        bs->em[j] = (ensemble_member){.ws = &m->out_ws, .W = P(m, m->out_w), .b = P(m, m->out_b)};
    }
    ALLOC(bs->lens, R);
    ALLOC(bs->sent, R);
    ALLOC(bs->ids, R);
    ALLOC(bs->gsrc, R);
    ALLOC(bs->top, R * K);
    ALLOC(bs->top_lp, R * K);
    ALLOC(bs->lp, R);
    ALLOC(bs->tok, T * R);
    ALLOC(bs->bp, T * R);
    if (bs->attn)
        ALLOC(bs->alpha, T * R * (size_t)m0->max_src);
    ALLOC(bs->st, (size_t)max_B);
    ALLOC(bs->kept, (size_t)max_B * cfg->nbest);
    ALLOC(bs->heads, (size_t)K);
    ALLOC(bs->new_tok, (size_t)K);
    ALLOC(bs->new_bp, (size_t)K);
    ALLOC(bs->new_lp, (size_t)K);
#undef ALLOC
    if (!ok) {
        beam_search_free(bs);
        return s2s_fail(S2S_ENOMEM, "beam: cannot allocate a search of %ld rows x %d steps", rows,
                        max_len);
    }
    if (n > 1 && ((rc = ensemble_ws_init(&bs->ens, n, weights, m0->cfg.tgt_vocab)) < 0 ||
                  (rc = ensemble_check_members(&bs->ens, bs->em)) < 0)) {
        beam_search_free(bs);
        return rc;
    }
    *out = bs;
    return 0;
}

/* dst [S, R, w] row (i, r) = src [S, B, w] row (i, sent[r]). */
static void expand_rows(real *dst, const real *src, int S, int B, int R, const int *sent, int w)
{
    const size_t sz = (size_t)w * sizeof(real);
    for (int i = 0; i < S; i++)
        for (int r = 0; r < R; r++)
            memcpy(dst + ((size_t)i * R + r) * w, src + ((size_t)i * B + sent[r]) * w, sz);
}

/* The attention memory of model bm seen by the rows: each row reads its sentence's positions
 * (their lengths in bs->lens). It never changes during the search (a hypothesis only moves
 * between rows of its own sentence), so it is copied once; with one row per sentence the
 * model's own memory is the rows' memory. */
static attn_memory rows_memory(const beam_search *bs, beam_model *bm, const attn_memory *src, int R)
{
    attn_memory mem = *src;
    mem.B = R;
    if (bs->W == 1)
        return mem;
    mem.lens = bs->lens;
    if (src->kind == ATTN_NONE)
        return mem;
    expand_rows(bm->mem, src->M, src->S, src->B, R, bs->sent, src->DM);
    mem.M = bm->mem;
    if (src->K == src->M) { /* dot attention: the keys are the memory */
        mem.K = mem.M;
    } else {
        expand_rows(bm->keys, src->K, src->S, src->B, R, bs->sent, src->KW);
        mem.K = bm->keys;
    }
    return mem;
}

/* Step t's scores: per row the K best tokens and their log-probabilities in bs->top, top_lp;
 * the models' features are in slot 1 of their workspaces. */
static void score_rows(beam_search *bs, int R)
{
    const int K = bs->cfg.beam;
    if (bs->n_models == 1) {
        model *m = bs->bm[0].m;
        output_topk(&m->out_ws, m->feats + (size_t)R * m->feat, R, P(m, m->out_w), P(m, m->out_b),
                    K, bs->top, bs->top_lp);
        return;
    }
    for (int j = 0; j < bs->n_models; j++)
        bs->em[j].x = bs->bm[j].m->feats + (size_t)R * bs->bm[j].m->feat;
    ensemble_topk(&bs->ens, bs->em, R, K, bs->top, bs->top_lp);
}

/* Whether entries a and b are the same hypothesis (the greedy lane may find one of the beam's). */
static bool same_hyp(const beam_search *bs, int R, const beam_entry *a, const beam_entry *b)
{
    if (a->len != b->len || a->finished != b->finished)
        return false;
    int ra = a->row, rb = b->row;
    for (int s = a->len - 1; s >= 0; s--) {
        const size_t o = (size_t)s * R;
        if (bs->tok[o + ra] != bs->tok[o + rb])
            return false;
        ra = bs->bp[o + ra];
        rb = bs->bp[o + rb];
    }
    return true;
}

/* Offers e to sentence b's n-best list (sorted by score, best first; on equal scores the
 * earlier entry stays ahead). A hypothesis already there from the other source (greedy lane
 * or beam) is kept once, with the higher score. */
static void keep(beam_search *bs, int b, int R, beam_entry e)
{
    beam_sent *s = &bs->st[b];
    beam_entry *list = bs->kept + (size_t)b * bs->cfg.nbest;
    int n = s->n_kept;
    for (int i = 0; i < n; i++) {
        if (list[i].lane == e.lane || !same_hyp(bs, R, &list[i], &e))
            continue;
        if (!(e.score > list[i].score))
            return;
        memmove(list + i, list + i + 1, (size_t)(n - i - 1) * sizeof *list);
        n--;
        break;
    }
    if (n == bs->cfg.nbest) {
        if (!(e.score > list[n - 1].score))
            return;
        n--; /* the worst makes room */
    }
    int p = n;
    for (; p > 0 && e.score > list[p - 1].score; p--)
        list[p] = list[p - 1];
    list[p] = e;
    s->n_kept = n + 1;
}

static beam_entry entry(int len, int row, bool finished, bool lane, double logprob, double alpha)
{
    return (beam_entry){.len = len,
                        .row = row,
                        .finished = finished,
                        .lane = lane,
                        .logprob = logprob,
                        .score = logprob / beam_length_penalty(len + finished, alpha)};
}

/* Step t's choices for sentence b (limit: its max_len): new open hypotheses into its rows,
 * finished ones into its n-best list. Returns whether the sentence's search is over. */
static bool select_sentence(beam_search *bs, int b, int t, int R, int limit)
{
    const int K = bs->cfg.beam, base = b * bs->W;
    const double alpha = bs->cfg.length_penalty;
    beam_sent *s = &bs->st[b];
    int *tok = bs->tok + (size_t)t * R, *bp = bs->bp + (size_t)t * R;
    double *lp = bs->lp;

    /* Merge the live rows' lists (each sorted by log-probability, then id): the K best pairs,
     * ties to the lower row. */
    for (int k = 0; k < s->n_open; k++)
        bs->heads[k] = 0;
    int n_new = 0;
    for (int pick = 0; pick < K; pick++) {
        int best = -1;
        double best_lp = 0;
        for (int k = 0; k < s->n_open; k++) {
            if (bs->heads[k] == K)
                continue;
            size_t q = (size_t)(base + k) * K + bs->heads[k];
            if (bs->top[q] < 0) /* fewer legal tokens than K */
                continue;
            double c = lp[base + k] + bs->top_lp[q];
            if (best < 0 || c > best_lp) {
                best = k;
                best_lp = c;
            }
        }
        if (best < 0)
            break;
        int id = bs->top[(size_t)(base + best) * K + bs->heads[best]++];
        if (id == TOK_EOS) {
            keep(bs, b, R, entry(t, base + best, true, false, best_lp, alpha));
        } else {
            bs->new_tok[n_new] = id;
            bs->new_bp[n_new] = base + best;
            bs->new_lp[n_new] = best_lp;
            n_new++;
        }
    }
    for (int j = 0; j < K; j++) {
        int row = base + j;
        if (j < n_new) {
            tok[row] = bs->ids[row] = bs->new_tok[j];
            bp[row] = bs->gsrc[row] = bs->new_bp[j];
            lp[row] = bs->new_lp[j];
        } else { /* dead row: never traced back, its state left as is */
            tok[row] = TOK_PAD;
            bp[row] = row;
            bs->gsrc[row] = -1;
        }
    }
    s->n_open = n_new;

    /* The greedy lane follows its own best token; it lives in one row, so bp is the row. */
    const int g = base + K;
    if (bs->W > 1) {
        tok[g] = TOK_PAD;
        bp[g] = g;
        bs->gsrc[g] = -1;
        if (s->lane_open) {
            int id = bs->top[(size_t)g * K];
            double c = lp[g] + bs->top_lp[(size_t)g * K];
            tok[g] = id;
            if (id == TOK_EOS) {
                keep(bs, b, R, entry(t, g, true, true, c, alpha));
                s->lane_open = false;
            } else {
                bs->ids[g] = id;
                bs->gsrc[g] = g;
                lp[g] = c;
            }
        }
    }

    if (t + 1 >= limit) { /* length limit: open hypotheses compete unfinished */
        for (int j = 0; j < s->n_open; j++)
            keep(bs, b, R, entry(t + 1, base + j, false, false, lp[base + j], alpha));
        if (s->lane_open)
            keep(bs, b, R, entry(t + 1, g, false, true, lp[g], alpha));
        return true;
    }
    if (s->n_open == 0 && !s->lane_open)
        return true;
    if (s->n_kept < bs->cfg.nbest)
        return false;
    /* The open rows are sorted, so row base holds the best of the beam. */
    double best_open = s->n_open > 0 ? lp[base] : -INFINITY;
    if (s->lane_open && lp[g] > best_open)
        best_open = lp[g];
    const beam_entry *worst = bs->kept + (size_t)b * bs->cfg.nbest + s->n_kept - 1;
    return best_open / beam_length_penalty(limit, alpha) <= worst->score;
}

/* Writes entry e of sentence b (source length src_len, S source steps in the histories) into
 * hypothesis h: tokens, and attention rows when kept. */
static void trace_back(const beam_search *bs, const beam_entry *e, int R, int S, int src_len,
                       beam_hyp *h)
{
    h->len = e->len;
    h->finished = e->finished;
    h->logprob = e->logprob;
    h->score = e->score;
    int row = e->row;
    if (h->attn && e->finished) { /* </s> was chosen at step len by the row holding the hyp */
        const real *a = bs->alpha + ((size_t)e->len * R + row) * S;
        for (int i = 0; i < src_len; i++)
            h->attn[(size_t)e->len * src_len + i] = (float)a[i];
    }
    for (int s = e->len - 1; s >= 0; s--) {
        const size_t o = (size_t)s * R;
        h->ids[s] = bs->tok[o + row];
        row = bs->bp[o + row]; /* the row that read token s - 1 and predicted token s */
        if (h->attn) {
            const real *a = bs->alpha + (o + row) * S;
            for (int i = 0; i < src_len; i++)
                h->attn[(size_t)s * src_len + i] = (float)a[i];
        }
    }
}

int beam_search_run(beam_search *bs, const batch *bt, const int *max_len, beam_result *r)
{
    const int B = bt->B, W = bs->W, S = bt->src_T;
    if (B < 1 || B > bs->max_B || B > r->max_B)
        return s2s_fail(S2S_EINVAL,
                        "beam: batch of %d sentences exceeds the search (%d) or the result (%d)", B,
                        bs->max_B, r->max_B);
    if (r->nbest < bs->cfg.nbest)
        return s2s_fail(S2S_EINVAL, "beam: result holds %d hypotheses per sentence, nbest is %d",
                        r->nbest, bs->cfg.nbest);
    if (bs->attn && (!r->attn_store || S > r->max_src))
        return s2s_fail(S2S_EINVAL,
                        "beam: attention of %d source positions does not fit the result (%s)", S,
                        r->attn_store ? "max_src too small" : "initialized without attention");
    int T = 0;
    for (int b = 0; b < B; b++) {
        if (max_len[b] < 1 || max_len[b] > bs->max_len || max_len[b] > r->max_len)
            return s2s_fail(S2S_EINVAL,
                            "beam: max_len[%d] = %d must be in 1..%d (search) and ..%d (result)", b,
                            max_len[b], bs->max_len, r->max_len);
        T = max_len[b] > T ? max_len[b] : T;
    }
    for (int j = 0; j < bs->n_models; j++) {
        int rc = model_encode(bs->bm[j].m, bt);
        if (rc < 0)
            return rc;
    }

    const int R = B * W;
    for (int row = 0; row < R; row++) {
        bs->sent[row] = row / W;
        bs->lens[row] = bt->src_len[row / W];
        bs->ids[row] = TOK_BOS;
        bs->lp[row] = 0;
    }
    for (int j = 0; j < bs->n_models; j++) {
        beam_model *bm = &bs->bm[j];
        const attn_memory enc_mem = decoder_memory(bm->m, bt);
        bm->rows_mem = rows_memory(bs, bm, &enc_mem, R);
        decoder_state_expand(bm->m, B, R, 0, bs->sent);
    }
    for (int b = 0; b < B; b++)
        bs->st[b] = (beam_sent){.n_open = 1, .lane_open = W > 1};

    /* Step t reads slot 0 and writes slot 1; the chosen states go back to slot 0. */
    int active = B;
    for (int t = 0; t < T && active > 0; t++) {
        for (int j = 0; j < bs->n_models; j++)
            decoder_step(bs->bm[j].m, &bs->bm[j].rows_mem, R, bs->ids, 1, 0);
        score_rows(bs, R);
        if (bs->attn)
            memcpy(bs->alpha + (size_t)t * R * S, bs->bm[0].m->att_alpha + (size_t)R * S,
                   (size_t)R * S * sizeof(real));
        for (int b = 0; b < B; b++) {
            beam_sent *s = &bs->st[b];
            if (s->done) {
                for (int j = 0; j < W; j++)
                    bs->gsrc[b * W + j] = -1;
                continue;
            }
            s->done = select_sentence(bs, b, t, R, max_len[b]);
            active -= s->done;
        }
        for (int j = 0; j < bs->n_models; j++)
            decoder_state_gather(bs->bm[j].m, R, 1, 0, bs->gsrc);
    }

    r->B = B;
    for (int b = 0; b < B; b++) {
        const beam_sent *s = &bs->st[b];
        r->counts[b] = s->n_kept;
        for (int i = 0; i < r->nbest; i++) {
            const size_t k = (size_t)b * r->nbest + i;
            beam_hyp *h = &r->hyps[k];
            memset(h, 0, sizeof *h);
            h->ids = r->ids_store + k * r->max_len;
            if (i >= s->n_kept)
                continue;
            if (bs->attn)
                h->attn = r->attn_store + k * r->max_len * r->max_src;
            trace_back(bs, bs->kept + (size_t)b * bs->cfg.nbest + i, R, S, bt->src_len[b], h);
        }
    }
    return 0;
}
