/* train_valid.c - validation during training: the validation split sharded over the ranks,
 * teacher-forced loss and token accuracy, greedy decoding scored with BLEU (on the text, as
 * `s2s eval` scores it, and on the tokens) and exact match, samples printed as text;
 * the figure that picks best.h5 and drives --early-stop; the validation history that
 * checkpoints carry, including the row of a validation a stop abandoned.
 *
 * Separate because it is the one part of the loop that decodes and scores (src/infer/decode.h,
 * src/metrics/score.h) and the one that decides what "better" means for the run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/bleu.h"
#include "s2s/decode.h"
#include "s2s/spm.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "train/trainer.h"

/* The sums of a validation over ranks: the teacher-forced figures, then from V_SCORE the
 * scorer's (SCORE_NSUMS of them, only with greedy decoding). */
enum { V_LOSS, V_TOKENS, V_CORRECT, V_STOPPED, V_SENTENCES, V_SCORE };
enum { V_NSUMS = V_SCORE + SCORE_NSUMS };

/* ---- the detokenizers and the scorer ------------------------------------------------------- */

void trainer_bleu_signature(char *buf)
{
    bleu_config bc = bleu_config_default();
    bleu_signature(&bc, BLEU_TOK_13A, 1, buf, BLEU_SIGNATURE_MAX);
}

int trainer_valid_init(trainer *t)
{
    static const char *const side[2] = {"src", "tgt"};
    char name[64];
    const char *tok = ds_option(t->ds, "tokenizer", name, sizeof name);
    int k = tok ? choice_find(tokenizer_names, tok) : TOK_WHITESPACE;
    tokenizer_kind kind = k < 0 ? TOK_WHITESPACE : (tokenizer_kind)k;
    const spm_models *m = ds_spm(t->ds);
    if (kind == TOK_SPM && m->n[0] == 0)
        return s2s_fail(S2S_EFORMAT, "%s: tokenized by SentencePiece (its options say tokenizer = "
                        "sentencepiece) but holds no model (/spm)", t->o->data);
    for (int s = 0; s < 2; s++) {
        char what[OPT_STRING_MAX + 16];
        snprintf(what, sizeof what, "%s: /spm/%s", t->o->data, side[s]);
        int rc = m->n[s] ? spm_load(&t->spm[s], m->bytes[s], m->n[s], what) : 0;
        if (rc < 0)
            return rc;
        t->detok[s] = detok_guess(kind, ds_vocab(t->ds, side[s]));
    }
    return scorer_init(&t->score, t->tgt_vocab, t->detok[1], t->spm[1] ? t->spm[1] : t->spm[0],
                       true);
}

void trainer_valid_free(trainer *t)
{
    scorer_free(&t->score);
    for (int s = 0; s < 2; s++) {
        spm_free(t->spm[s]);
        t->spm[s] = NULL;
        free(t->text[s]);
        t->text[s] = NULL;
    }
    free(t->toks);
    t->toks = NULL;
}

/* Rank 0: ids[0..n) of side s as the text they stand for, as `s2s translate` writes it. */
static void print_text(trainer *t, int s, const int *ids, int n)
{
    if (n > t->toks_cap) {
        const char **p = realloc(t->toks, (size_t)n * sizeof *p);
        if (!p) {
            fprintf(t->log, "(%d tokens: out of memory)", n);
            return;
        }
        t->toks = p;
        t->toks_cap = n;
    }
    for (int i = 0; i < n; i++)
        t->toks[i] = ds_token(t->ds, s ? "tgt" : "src", ids[i]);
    const spm_model *spm = t->spm[s] ? t->spm[s] : t->spm[0];
    if (detokenize(t->detok[s], spm, t->toks, n, &t->text[s], &t->text_cap[s]) < 0) {
        fprintf(t->log, "(%s)", s2s_errmsg(S2S_ENOMEM));
        s2s_clear_error();
        return;
    }
    fputs(t->text[s], t->log);
}

/* Rank 0: sentence b of the batch, its reference and its translation h[0..len). */
static void print_sample(trainer *t, int b, const int *h, int len, bool correct)
{
    FILE *f = t->log;
    fprintf(f, "  src: ");
    print_text(t, 0, t->valid.src_rows[b], t->valid.share_src_len[b]);
    fprintf(f, "\n  ref: ");
    print_text(t, 1, t->valid.tgt_rows[b], t->valid.share_tgt_len[b]);
    fprintf(f, "\n  out: ");
    print_text(t, 1, h, len);
    fprintf(f, "   [%s]\n", correct ? "correct" : "wrong");
}

/* The batch in t->bt decoded greedily and each translation added to the scorer's sums `score`;
 * rank 0 prints sentences while *shown < samples. */
static int score_batch(trainer *t, int samples, int *shown, double *score)
{
    int rc = model_greedy(&t->m, &t->bt, t->max_out, t->hyp, t->hyp_len);
    if (rc < 0)
        return rc;
    for (int b = 0; b < t->bt.B; b++) {
        const int *h = t->hyp + (size_t)b * t->max_out;
        const int *ref = t->valid.tgt_rows[b];
        int ref_len = t->valid.share_tgt_len[b];
        /* Greedy output is a prefix-closed sequence: cutting it is decoding to the limit. */
        int limit = decode_max_len(t->valid.share_src_len[b], DECODE_DEFAULT_RATIO);
        int len = t->hyp_len[b] < limit ? t->hyp_len[b] : limit;
        double exact_before = score[SCORE_EXACT];
        if ((rc = scorer_add(&t->score, h, len, ref, ref_len, score)) < 0)
            return rc;
        if (t->log && *shown < samples) {
            print_sample(t, b, h, len, score[SCORE_EXACT] > exact_before);
            (*shown)++;
        }
    }
    return 0;
}

/* The figures of a whole validation from its sums over ranks. */
static int valid_figures(const double *sums, bool greedy, valid_result *vr)
{
    const double *score = sums + V_SCORE;
    vr->tokens = (long)sums[V_TOKENS];
    vr->sentences = (long)sums[V_SENTENCES];
    vr->loss = sums[V_TOKENS] > 0 ? sums[V_LOSS] / sums[V_TOKENS] : 0;
    vr->ppl = exp(vr->loss);
    vr->token_acc = sums[V_TOKENS] > 0 ? sums[V_CORRECT] / sums[V_TOKENS] : 0;
    if (!greedy)
        return 0;
    bleu_result b, bt;
    bleu_config bc = bleu_config_default();
    int rc = bleu_compute(score + SCORE_BLEU_13A, &bc, &b);
    if (rc == 0)
        rc = bleu_compute(score + SCORE_BLEU_TOKENS, &bc, &bt);
    if (rc < 0)
        return rc;
    vr->decoded = true;
    vr->bleu = b.score;
    vr->bleu_tokens = bt.score;
    vr->exact_match =
        score[SCORE_SENTENCES] > 0 ? score[SCORE_EXACT] / score[SCORE_SENTENCES] : 0;
    return 0;
}

/* The validation split, sharded over the ranks: teacher-forced NLL and token accuracy, and with
 * `greedy` BLEU on the text and on the tokens and the exact-match rate of greedy decoding (each translation cut
 * at decode_max_len of its source, as `s2s eval` decodes); rank 0 prints `samples` of its
 * sentences. A stop request ends a rank's batches at the next batch; the one sum at the end,
 * which every rank reaches, carries it, so that every rank abandons the validation together
 * (vr->abandoned) without a collective per batch. */
int trainer_validate(trainer *t, bool greedy, int samples, valid_result *vr)
{
    memset(vr, 0, sizeof *vr);
    if (!t->has_valid)
        return 0;
    double sums[V_NSUMS] = {0};
    batcher_state vs = {0, 0};
    long steps = batcher_epoch_steps(&t->valid.bat, 0);
    int shown = 0, rc;
    char what[96];
    snprintf(what, sizeof what, "validation of step %lld: each of its %ld batches",
             (long long)t->pr.step, steps);
    /* Rank 0 counts the global batches' sentences on the trainer's display (a live bar, or a
     * line every PROGRESS_PLAIN_INTERVAL_S: a long validation shows life). */
    progress_counter count;
    progress_counter_init(&count, t->log ? &t->prog : NULL, "validation:",
                          ds_count(t->ds, SPLIT_VALID));
    for (long s = 0; s < steps; s++) {
        int global;
        long global_tokens;
        output_stats st;
        trainer_slow(t, SLOW_VALID, s == 0 ? what : NULL);
        if (stop_requested()) {
            sums[V_STOPPED] = 1;
            break;
        }
        rc = loader_next(&t->valid, &vs, t->rank, &t->bt, &global, &global_tokens);
        if (rc == S2S_ESTOPPED) { /* the reader gave up on the signal: the same stop */
            s2s_clear_error();
            sums[V_STOPPED] = 1;
            break;
        }
        if (rc < 0 || (rc = model_evaluate(&t->m, &t->bt, &st)) < 0)
            return rc;
        sums[V_LOSS] += st.loss;
        sums[V_TOKENS] += (double)st.tokens;
        sums[V_CORRECT] += (double)st.correct;
        sums[V_SENTENCES] += t->bt.B;
        if (greedy && (rc = score_batch(t, samples, &shown, sums + V_SCORE)) < 0)
            return rc;
        progress_counter_add(&count, global);
    }
    progress_counter_done(&count);
    if ((rc = comm_sum_doubles(t->comm, sums, greedy ? V_NSUMS : V_SCORE)) < 0)
        return rc;
    if (sums[V_STOPPED] > 0) {
        vr->abandoned = true;
        return 0;
    }
    return valid_figures(sums, greedy, vr);
}

/* ---- the best figure, early stopping ----------------------------------------------------- */

/* The chosen figure of a validation as "lower is better" (BLEU and exact match negated), the
 * form kept in train_progress.best_valid; metric_shown turns it back. */
static double metric_key(int metric, const valid_result *vr)
{
    switch (metric) {
    case METRIC_BLEU: return -vr->bleu;
    case METRIC_BLEU_TOKENS: return -vr->bleu_tokens;
    case METRIC_EXACT: return -vr->exact_match;
    default: return vr->loss;
    }
}

static double metric_shown(int metric, double key)
{
    return metric == METRIC_LOSS ? key : -key;
}

/* Whether --early-stop has run out: that many validations in a row without a new best. */
bool trainer_early_stop_due(const trainer *t)
{
    return t->o->early_stop > 0 && t->pr.bad_evals >= t->o->early_stop;
}

/* A validation recorded in the loop: its line, and the early stop's when it is due; returns
 * whether the run stops early. */
bool trainer_report_validation(trainer *t, const valid_result *vr, bool best)
{
    const train_options *o = t->o;
    char decoded[128] = "", sig[BLEU_SIGNATURE_MAX];
    if (vr->decoded)
        snprintf(decoded, sizeof decoded, "  BLEU %.2f  token BLEU %.2f  exact %.4f", vr->bleu,
                 vr->bleu_tokens, vr->exact_match);
    trainer_note(t, "valid step %lld: loss %.4f  ppl %.3f  token acc %.4f%s%s",
                 (long long)t->pr.step, vr->loss, vr->ppl, vr->token_acc, decoded,
                 best ? "  (best)" : "");
    if (vr->decoded) {
        trainer_bleu_signature(sig);
        trainer_note(t, "  BLEU signature %s", sig);
    }
    if (!trainer_early_stop_due(t))
        return false;
    trainer_note(t, "early stop: no improvement in %d validations (best %s %.4f at step %lld)",
                 o->early_stop, valid_metric_names[o->best_metric],
                 metric_shown(o->best_metric, t->pr.best_valid), (long long)t->pr.best_step);
    return true;
}

/* ---- the history ------------------------------------------------------------------------ */

int trainer_history_reserve(trainer *t, int rows)
{
    if (rows <= t->history_cap)
        return 0;
    int cap = t->history_cap ? t->history_cap : 64;
    while (cap < rows)
        cap *= 2;
    double *h = realloc(t->history, (size_t)cap * HISTORY_COLS * sizeof(double));
    if (!h)
        return s2s_fail(S2S_ENOMEM, "train: validation history of %d rows", cap);
    t->history = h;
    t->history_cap = cap;
    return 0;
}

/* *row: a new last row of the history, of the current step, with the training loss and the
 * rate; the other columns are the caller's. */
static int history_append(trainer *t, double train_loss, double lr, double **row)
{
    int rc = trainer_history_reserve(t, t->history_rows + 1);
    if (rc < 0)
        return rc;
    *row = t->history + (size_t)t->history_rows++ * HISTORY_COLS;
    (*row)[0] = (double)t->pr.step;
    (*row)[1] = train_loss;
    (*row)[5] = lr;
    return 0;
}

/* Records a validation in the schedule, the early-stopping counters, the history and
 * metrics.jsonl; returns whether it is the best so far. */
int trainer_record_validation(trainer *t, const valid_result *vr, double train_loss, double lr,
                              bool *best)
{
    double key = metric_key(t->o->best_metric, vr);
    *best = key < t->pr.best_valid;
    if (*best) {
        t->pr.best_valid = key;
        t->pr.best_step = t->pr.step;
        t->pr.bad_evals = 0;
    } else {
        t->pr.bad_evals++;
    }
    if (lr_observe(&t->lrc, &t->lrs, vr->loss))
        trainer_note(t, "validation loss has not improved for %d validations: learning rate x %g",
                     t->lrc.patience, t->lrc.decay_factor);
    t->pr.lr_scale = t->lrs.scale;
    t->pr.lr_best = t->lrs.best;
    t->pr.lr_bad = t->lrs.bad;
    double *row;
    int rc = history_append(t, train_loss, lr, &row);
    if (rc < 0)
        return rc;
    row[2] = vr->loss;
    row[3] = vr->ppl;
    row[4] = vr->token_acc;
    row[6] = vr->decoded ? vr->bleu : NAN;
    row[7] = vr->decoded ? vr->exact_match : NAN;
    return trainer_log_valid(t, vr, *best);
}

/* A validation abandoned by a stop request: a history row of its step with the training loss
 * and the rate, and NaN figures (a real validation's token accuracy is never NaN), goes into
 * the stop's checkpoint, so that the resumed run finds the validation pending and repeats it,
 * recording what an uninterrupted run records (trainer_take_pending_validation). */
int trainer_mark_validation_pending(trainer *t, double train_loss, double lr)
{
    double *row;
    int rc = history_append(t, train_loss, lr, &row);
    if (rc < 0)
        return rc;
    row[2] = row[3] = row[4] = row[6] = row[7] = NAN;
    return 0;
}

bool trainer_validated_at_step(const trainer *t)
{
    if (t->history_rows < 1)
        return false;
    const double *row = t->history + (size_t)(t->history_rows - 1) * HISTORY_COLS;
    return row[0] == (double)t->pr.step && !isnan(row[4]);
}

/* On resume: whether the checkpoint's newest history row is a pending validation of its step;
 * if so the row is taken off, and its training loss and rate returned. */
bool trainer_take_pending_validation(trainer *t, double *train_loss, double *lr)
{
    if (t->history_rows < 1)
        return false;
    const double *row = t->history + (size_t)(t->history_rows - 1) * HISTORY_COLS;
    if (row[0] != (double)t->pr.step || !isnan(row[4]))
        return false;
    *train_loss = row[1];
    *lr = row[5];
    t->history_rows--;
    return true;
}
