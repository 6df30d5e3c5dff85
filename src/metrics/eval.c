/* eval.c - `s2s eval`: a dataset split scored through a checkpoint or an ensemble (perplexity,
 * then decoding and BLEU, chrF, exact match, on the text the translations stand for), or
 * hypothesis and reference files scored directly; every BLEU figure with its sacreBLEU-style
 * signature. */
#include "s2s/eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/batch.h"
#include "s2s/blas.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/decode.h"
#include "s2s/ensemble.h"
#include "s2s/fsutil.h"
#include "s2s/json.h"
#include "s2s/score.h"
#include "s2s/status.h"
#include "s2s/trained.h"
#include "s2s/trained_ensemble.h"

static bleu_config bleu_options(const eval_options *o)
{
    bleu_config c = bleu_config_default();
    c.smooth = (bleu_smooth)o->smooth;
    c.smooth_value = o->smooth_value < 0 ? NAN : o->smooth_value;
    return c;
}

/* A BLEU figure's line, then its signature's (bleu_signature, also into sig if not NULL). */
static void print_bleu(FILE *f, const char *what, const bleu_result *b, const bleu_config *c,
                       bleu_tokenizer tok, char *sig)
{
    char line[256], own[BLEU_SIGNATURE_MAX];
    sig = sig ? sig : own;
    bleu_format(b, line, sizeof line);
    bleu_signature(c, tok, 1, sig, BLEU_SIGNATURE_MAX);
    fprintf(f, "%-22s %s\n%-22s %s\n", what, line, "  signature", sig);
}

/* ---- hypothesis and reference files -------------------------------------------------------- */

typedef struct {
    char **line;
    int n;
    char *text;
} lines;

static void lines_free(lines *l)
{
    free(l->line);
    free(l->text);
    memset(l, 0, sizeof *l);
}

static int read_lines(const char *path, lines *l)
{
    memset(l, 0, sizeof *l);
    size_t size = 0;
    int rc = fs_read_text(path, &l->text, &size);
    return rc < 0 ? rc : text_lines(l->text, size, path, 1, &l->line, &l->n);
}

/* The end of a line without trailing whitespace. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\v\f", s[n - 1]))
        n--;
    return n;
}

static int eval_files(const eval_options *o, FILE *out)
{
    lines h = {0}, r = {0};
    bleu_scorer *bs = NULL;
    chrf_scorer *cs = NULL;
    chrf_config cc = chrf_config_default();
    double bleu_stats[BLEU_NSTATS], chrf_stats[3 * CHRF_MAX_ORDER];
    bleu_stats_zero(bleu_stats);
    chrf_stats_zero(&cc, chrf_stats);
    long exact = 0;
    int rc;
    if ((rc = read_lines(o->hyp, &h)) < 0 || (rc = read_lines(o->ref, &r)) < 0)
        goto done;
    if (h.n != r.n) {
        rc = s2s_fail(S2S_EFORMAT, "%s has %d lines but %s has %d: one hypothesis per reference "
                      "line expected", o->hyp, h.n, o->ref, r.n);
        goto done;
    }
    if ((rc = bleu_scorer_new((bleu_tokenizer)o->tokenize, &bs)) < 0 ||
        (rc = chrf_scorer_new(&cc, &cs)) < 0)
        goto done;
    for (int i = 0; i < h.n; i++) {
        const char *ref = r.line[i];
        if ((rc = bleu_add(bs, h.line[i], &ref, 1, bleu_stats)) < 0 ||
            (rc = chrf_add(cs, h.line[i], &ref, 1, chrf_stats)) < 0)
            goto done;
        size_t hl = trimmed_len(h.line[i]), rl = trimmed_len(ref);
        exact += hl == rl && !memcmp(h.line[i], ref, hl);
    }
    bleu_config bc = bleu_options(o);
    bleu_result b;
    double chrf;
    if ((rc = bleu_compute(bleu_stats, &bc, &b)) < 0 || (rc = chrf_compute(&cc, chrf_stats, &chrf)) < 0)
        goto done;
    double em = h.n ? (double)exact / h.n : 0;
    char sig[BLEU_SIGNATURE_MAX];
    fprintf(out, "%s against %s: %d sentences\n", o->hyp, o->ref, h.n);
    print_bleu(out, o->tokenize == BLEU_TOK_13A ? "BLEU (13a)" : "BLEU (tokens)", &b, &bc,
               (bleu_tokenizer)o->tokenize, sig);
    fprintf(out, "%-22s %.2f\n%-22s %.4f\n", "chrF", chrf, "exact match", em);
    json_writer j;
    json_writer_init(&j, out, JSON_COMPACT);
    json_open_object(&j);
    json_kint(&j, "sentences", h.n);
    json_kstr(&j, "tokenize", bleu_tokenizer_names[o->tokenize]);
    json_kstr(&j, "smooth", bleu_smooth_names[o->smooth]);
    json_kfigure(&j, "bleu", b.score);
    json_kfigure(&j, "bp", b.bp);
    json_kfigure(&j, "sys_len", b.sys_len);
    json_kfigure(&j, "ref_len", b.ref_len);
    json_kfigure(&j, "chrf", chrf);
    json_kfigure(&j, "exact_match", em);
    json_kstr(&j, "signature", sig);
    json_close_object(&j);
    fputc('\n', out);
    rc = json_writer_end(&j);
done:
    bleu_scorer_free(bs);
    chrf_scorer_free(cs);
    lines_free(&h);
    lines_free(&r);
    return rc;
}

/* ---- a dataset split through a checkpoint -------------------------------------------------- */

/* The checkpoint's vocabularies must be the dataset's, token for token. */
static int check_vocab(const trained_model *tm, const dataset *ds, const char *data)
{
    static const char *const side[2] = {"src", "tgt"}, *const name[2] = {"source", "target"};
    for (int s = 0; s < 2; s++) {
        const vocab *v = s ? &tm->tgt : &tm->src;
        int n = ds_vocab_size(ds, side[s]);
        if (n != v->size)
            return s2s_fail(S2S_EINVAL, "vocabulary mismatch: %s has %d %s tokens, the "
                            "checkpoint %s has %d", data, n, name[s], tm->path, v->size);
        for (int i = 0; i < n; i++)
            if (strcmp(ds_token(ds, side[s], i), v->by_id[i]) != 0)
                return s2s_fail(S2S_EINVAL, "vocabulary mismatch: %s token %d is '%s' in %s but "
                                "'%s' in the checkpoint %s", name[s], i, ds_token(ds, side[s], i),
                                data, v->by_id[i], tm->path);
    }
    /* The same ids with other SentencePiece models would mean other text. */
    for (int s = 0; s < 2; s++) {
        size_t a, b;
        spm_models_side(&tm->spm, s, &a);
        spm_models_side(ds_spm(ds), s, &b);
        if (a && b && !spm_models_same(&tm->spm, ds_spm(ds), s))
            return s2s_fail(S2S_EINVAL, "SentencePiece model mismatch: the %s model of %s is "
                            "not the checkpoint %s's", name[s], data, tm->path);
    }
    return 0;
}

typedef struct {
    long n;
    int max_src, max_tgt;
    int32_t *src, *tgt; /* [n, max] */
    int *src_len, *tgt_len;
    int32_t **src_row;  /* [n] */
} split_data;

static void split_free(split_data *s)
{
    free(s->src);
    free(s->tgt);
    free(s->src_len);
    free(s->tgt_len);
    free(s->src_row);
    memset(s, 0, sizeof *s);
}

static int read_split(dataset *ds, split_id split, const char *data, split_data *s)
{
    memset(s, 0, sizeof *s);
    s->n = ds_count(ds, split);
    if (s->n <= 0)
        return s2s_fail(S2S_EINVAL, "%s: the %s split is empty", data, split_name(split));
    size_t n = (size_t)s->n;
    long *ids = malloc(n * sizeof *ids);
    s->src_len = malloc(n * sizeof(int));
    s->tgt_len = malloc(n * sizeof(int));
    s->src_row = malloc(n * sizeof *s->src_row);
    int rc = 0;
    if (!ids || !s->src_len || !s->tgt_len || !s->src_row ||
        (rc = ds_lengths(ds, split, s->src_len, s->tgt_len)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        ids[i] = (long)i;
        s->max_src = s->src_len[i] > s->max_src ? s->src_len[i] : s->max_src;
        s->max_tgt = s->tgt_len[i] > s->max_tgt ? s->tgt_len[i] : s->max_tgt;
    }
    int w = s->max_src > s->max_tgt ? s->max_src : s->max_tgt;
    s->src = malloc(n * w * sizeof(int32_t));
    s->tgt = malloc(n * w * sizeof(int32_t));
    if (!s->src || !s->tgt)
        goto done;
    if ((rc = ds_read(ds, split, ids, (int)n, w, s->src, s->src_len, s->tgt, s->tgt_len)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        s->src_row[i] = s->src + i * w;
    s->max_src = w; /* row stride */
    s->max_tgt = w;
done:
    free(ids);
    if (rc == 0 && (!s->src || !s->tgt || !s->src_row))
        rc = s2s_fail(S2S_ENOMEM, "%s: cannot hold the %s split", data, split_name(split));
    return rc;
}

/* Adds a pass's figures to sums[0..3): loss, tokens, correct. */
static void add_stats(double *sums, const output_stats *st)
{
    sums[0] += st->loss;
    sums[1] += (double)st->tokens;
    sums[2] += (double)st->correct;
}

/* Teacher-forced loss over the split: batches of o->batch sentences in file order, batch k on
 * rank k mod N. sums[0..3): loss, tokens, correct of the model, or with several (ew, their
 * combination) of the ensemble under its rule, and then sums[3 + 3 j ..) of model j alone. */
static int score_split(trained_ensemble *e, ensemble_ws *ew, const split_data *s, int batch_n,
                       int longest_src, int longest_tgt, MPI_Comm comm, double *sums)
{
    int rank, size, rc;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    batch bt = {0};
    ensemble_member mb[OPT_LIST_MAX];
    const int **sp = malloc((size_t)batch_n * sizeof *sp), **tp = malloc((size_t)batch_n * sizeof *tp);
    int *sl = malloc((size_t)batch_n * sizeof *sl), *tl = malloc((size_t)batch_n * sizeof *tl);
    if (!sp || !tp || !sl || !tl) {
        rc = s2s_fail(S2S_ENOMEM, "eval: batch of %d", batch_n);
        goto done;
    }
    if ((rc = trained_ensemble_build(e, batch_n, longest_src, longest_tgt + 1)) < 0 ||
        (rc = batch_init(&bt, batch_n, longest_src, longest_tgt + 1)) < 0)
        goto done;
    for (int j = 0; j < e->n; j++) {
        model *m = &e->tm[j].m;
        mb[j] = (ensemble_member){.ws = &m->out_ws,
                                  .W = m->params + m->table.t[m->out_w].offset,
                                  .b = m->params + m->table.t[m->out_b].offset};
    }
    if (ew && (rc = ensemble_check_members(ew, mb)) < 0)
        goto done;
    for (long first = (long)rank * batch_n; first < s->n; first += (long)size * batch_n) {
        int nb = s->n - first < batch_n ? (int)(s->n - first) : batch_n;
        for (int k = 0; k < nb; k++) {
            long i = first + k;
            sp[k] = (const int *)s->src + (size_t)i * s->max_src;
            tp[k] = (const int *)s->tgt + (size_t)i * s->max_tgt;
            sl[k] = s->src_len[i];
            tl[k] = s->tgt_len[i];
        }
        output_stats st;
        if ((rc = batch_fill(&bt, nb, sp, sl, tp, tl)) < 0)
            goto done;
        for (int j = 0; j < e->n; j++) {
            if ((rc = model_evaluate(&e->tm[j].m, &bt, &st)) < 0)
                goto done;
            add_stats(sums + (ew ? 3 + 3 * j : 0), &st);
            mb[j].x = model_features(&e->tm[j].m);
        }
        if (ew) {
            st = ensemble_loss(ew, mb, bt.tgt_T * bt.B, bt.tgt_out);
            add_stats(sums, &st);
        }
    }
done:
    batch_free(&bt);
    free(sp);
    free(tp);
    free(sl);
    free(tl);
    return rc;
}

static int write_hyps(const char *path, const trained_model *tm, const decode_results *res)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return s2s_fail(S2S_EIO, "%s: cannot create: %s", path, strerror(errno));
    detok_kind dk = detok_guess(tm->tokenizer, &tm->tgt);
    const spm_model *spm = trained_spm(tm, 1);
    const char **tok = NULL;
    char *text = NULL;
    size_t cap = 0;
    int rc = 0, tok_cap = 0;
    for (int i = 0; i < res->n && rc == 0; i++) {
        const beam_hyp *h = &res->hyps[(size_t)i * res->nbest];
        int n = res->nhyp[i] ? h->len : 0;
        if (n > tok_cap) {
            const char **p = realloc(tok, (size_t)n * sizeof *p);
            if (!p) {
                rc = s2s_fail(S2S_ENOMEM, "eval: output of %d tokens", n);
                break;
            }
            tok = p;
            tok_cap = n;
        }
        for (int t = 0; t < n; t++)
            tok[t] = tm->tgt.by_id[h->ids[t]];
        long len = detokenize(dk, spm, tok, n, &text, &cap);
        if (len < 0)
            rc = (int)len;
        else
            fprintf(f, "%s\n", text);
    }
    free(tok);
    free(text);
    if (fclose(f) != 0 && rc == 0)
        rc = s2s_fail(S2S_EIO, "%s: write error: %s", path, strerror(errno));
    return rc;
}

/* Loss, perplexity and token accuracy of the sums at sums[0..3). */
static void loss_figures(const double *sums, double *nll, double *acc)
{
    *nll = sums[1] > 0 ? sums[0] / sums[1] : 0;
    *acc = sums[1] > 0 ? sums[2] / sums[1] : 0;
}

/* An ensemble's models, one line each: file, weight and teacher-forced figures alone. */
static void print_members(FILE *out, const trained_ensemble *e, const ensemble_ws *ew,
                          const double *loss)
{
    for (int j = 0; j < e->n; j++) {
        double nll, acc;
        loss_figures(loss + 3 + 3 * j, &nll, &acc);
        fprintf(out,
                "  model %d, weight %.4g: loss %.4f, perplexity %.3f, token accuracy %.4f "
                "(%s)\n",
                j + 1, ew->w[j], nll, exp(nll), acc, e->tm[j].path);
    }
}

/* JSON "ensemble": per model its checkpoint, normalized weight and figures alone. */
static void json_members(json_writer *j, const trained_ensemble *e, const ensemble_ws *ew,
                         const double *loss)
{
    json_key(j, "ensemble");
    json_open_array(j);
    for (int k = 0; k < e->n; k++) {
        double nll, acc;
        loss_figures(loss + 3 + 3 * k, &nll, &acc);
        json_open_object(j);
        json_kstr(j, "checkpoint", e->tm[k].path);
        json_knum(j, "weight", ew->w[k]);
        json_kfigure(j, "loss", nll);
        json_kfigure(j, "ppl", exp(nll));
        json_kfigure(j, "token_acc", acc);
        json_close_object(j);
    }
    json_close_array(j);
}

static int eval_dataset(const eval_options *o, MPI_Comm comm, FILE *out)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    trained_ensemble ens = {0};
    ensemble_ws ew = {0};
    dataset *ds = NULL;
    split_data s = {0};
    decode_results res = {0};
    scorer sc = {0};
    double t0 = MPI_Wtime();
    int rc = trained_ensemble_open(&ens, &o->checkpoint, &o->weights);
    const trained_model *tm = ens.tm; /* the first model: vocabularies, tokenizer */
    if (rc == 0 && (rc = ds_open(&ds, o->data)) == 0 && (rc = check_vocab(tm, ds, o->data)) == 0)
        rc = read_split(ds, (split_id)o->split, o->data, &s);
    if (rc == 0 && ens.n > 1)
        rc = ensemble_ws_init(&ew, ens.n, ens.weight, tm->tgt.size);
    if ((rc = comm_agree(comm, rc)) < 0)
        goto done;
    int longest_src = 0, longest_tgt = 0;
    for (long i = 0; i < s.n; i++) {
        longest_src = s.src_len[i] > longest_src ? s.src_len[i] : longest_src;
        longest_tgt = s.tgt_len[i] > longest_tgt ? s.tgt_len[i] : longest_tgt;
    }
    double loss[3 + 3 * OPT_LIST_MAX] = {0};
    const int n_loss = ens.n > 1 ? 3 + 3 * ens.n : 3;
    rc = score_split(&ens, ens.n > 1 ? &ew : NULL, &s, o->batch, longest_src, longest_tgt, comm,
                     loss);
    if ((rc = comm_agree(comm, rc)) < 0 || (rc = comm_sum_doubles(comm, loss, n_loss)) < 0)
        goto done;
    /* Decoding is most of eval's time: rank 0 shows its progress on stderr. */
    progress prog;
    progress_init(&prog, rank == 0 ? stderr : NULL, progress_live(o->progress, stderr));
    progress_counter count;
    progress_counter_init(&count, &prog, "eval: decoding", s.n);
    decode_options d = {.beam = o->beam, .nbest = 1, .length_penalty = o->length_penalty,
                        .max_len_ratio = o->max_len_ratio, .batch = o->batch,
                        .progress = rank == 0 ? &count : NULL};
    rc = decode_corpus(&ens, (int)s.n, (const int32_t *const *)s.src_row, s.src_len, &d, comm,
                       &res);
    progress_counter_done(&count);
    if (rc < 0)
        goto done;
    if (rank == 0) {
        double sums[SCORE_NSUMS];
        score_zero(sums);
        score_result r;
        detok_kind dk = detok_guess(tm->tokenizer, &tm->tgt);
        bleu_config bc = bleu_options(o);
        char sig[BLEU_SIGNATURE_MAX], sig_tokens[BLEU_SIGNATURE_MAX], warning[512];
        input_stats in = {0};
        for (long i = 0; i < s.n; i++)
            input_stats_add(&in, tm, NULL, s.src_row[i], s.src_len[i]);
        if (input_warning(tm, &in, "eval", warning, sizeof warning))
            fprintf(stderr, "%s\n", warning);
        rc = scorer_init(&sc, (const char *const *)tm->tgt.by_id, dk, trained_spm(tm, 1), true);
        for (long i = 0; i < s.n && rc == 0; i++) {
            const beam_hyp *h = &res.hyps[(size_t)i * res.nbest];
            rc = scorer_add(&sc, h->ids, h->len, (const int *)s.tgt + (size_t)i * s.max_tgt,
                            s.tgt_len[i], sums);
        }
        if (rc == 0)
            rc = score_compute(sums, &bc, &r);
        if (rc == 0 && o->output[0])
            rc = write_hyps(o->output, tm, &res);
        if (rc == 0) {
            double nll, acc;
            loss_figures(loss, &nll, &acc);
            char what[64];
            snprintf(what, sizeof what, "an ensemble of %d", ens.n);
            fprintf(out,
                    "%s on %s (%s split, %ld sentences, %.0f target tokens), beam %d, "
                    "%d rank%s, %.1f s\n",
                    ens.n > 1 ? what : tm->path, o->data, split_name((split_id)o->split), s.n,
                    loss[1], o->beam, size, size == 1 ? "" : "s", MPI_Wtime() - t0);
            if (ens.n > 1)
                print_members(out, &ens, &ew, loss);
            fprintf(out, "%-22s %.4f\n%-22s %.3f\n%-22s %.4f\n", "loss (nats/token)", nll,
                    "perplexity", exp(nll), "token accuracy", acc);
            print_bleu(out, "BLEU (13a, detok.)", &r.bleu_13a, &bc, BLEU_TOK_13A, sig);
            print_bleu(out, "BLEU (tokens)", &r.bleu_tokens, &bc, BLEU_TOK_NONE, sig_tokens);
            fprintf(out, "%-22s %.2f\n%-22s %.4f\n", "chrF", r.chrf, "exact match", r.exact_match);
            json_writer j;
            json_writer_init(&j, out, JSON_COMPACT);
            json_open_object(&j);
            if (ens.n > 1)
                json_members(&j, &ens, &ew, loss);
            else
                json_kstr(&j, "checkpoint", tm->path);
            json_kstr(&j, "data", o->data);
            json_kstr(&j, "split", split_name((split_id)o->split));
            json_kint(&j, "sentences", s.n);
            json_kint(&j, "beam", o->beam);
            json_kint(&j, "ranks", size);
            json_kfigure(&j, "loss", nll);
            json_kfigure(&j, "ppl", exp(nll));
            json_kfigure(&j, "token_acc", acc);
            json_kfigure(&j, "bleu", r.bleu_13a.score);
            json_kfigure(&j, "bleu_tokens", r.bleu_tokens.score);
            json_kfigure(&j, "chrf", r.chrf);
            json_kfigure(&j, "exact_match", r.exact_match);
            json_kstr(&j, "signature", sig);
            json_kstr(&j, "signature_tokens", sig_tokens);
            json_close_object(&j);
            fputc('\n', out);
            rc = json_writer_end(&j);
        }
    }
    rc = comm_agree(comm, rc);
done:
    scorer_free(&sc);
    decode_results_free(&res);
    split_free(&s);
    ds_close(ds);
    ensemble_ws_free(&ew);
    trained_ensemble_free(&ens);
    return rc;
}

int eval_run(const eval_options *o, MPI_Comm comm, FILE *out)
{
    bool files = o->hyp[0] || o->ref[0], through = o->checkpoint.n > 0 || o->data[0];
    if (files == through || (files && (!o->hyp[0] || !o->ref[0])) ||
        (through && (o->checkpoint.n == 0 || !o->data[0])))
        return s2s_fail(S2S_EUSAGE, "give either --checkpoint and --data (score a dataset split "
                        "through the model) or --hyp and --ref (score translation files)");
    blas_set_threads(o->threads);
    if (through)
        return eval_dataset(o, comm, out);
    int rank;
    MPI_Comm_rank(comm, &rank);
    return comm_agree(comm, rank == 0 ? eval_files(o, out) : 0);
}
