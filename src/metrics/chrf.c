/* chrf.c - chrF and chrF++ with sacreBLEU's n-gram extraction, reference selection and
 * scoring.
 *
 * The character and word n-grams are counted exactly (tok13a_ngrams: dense ids, no hash
 * collisions), and the score is sacreBLEU's _compute_f_score operation for operation, so that
 * the choice among several references - which compares sentence scores - and the corpus score
 * come out as sacreBLEU's. */
#include "s2s/chrf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/tok13a.h"

/* chrF++.py's smoothing for an order without hypothesis or reference n-grams. */
#define CHRF_EPS 1e-16

struct chrf_scorer {
    chrf_config cfg;
    tok13a_tokens toks;
    tok13a_ngrams ngrams;
    double *ref_stats; /* statistics against each reference, chrf_nstats apiece */
    size_t ref_stats_cap;
};

chrf_config chrf_config_default(void)
{
    return (chrf_config){
        .char_order = 6, .word_order = 0, .beta = 2, .whitespace = false, .eps_smoothing = false};
}

int chrf_config_check(const chrf_config *c)
{
    if (c->char_order < 1)
        return s2s_fail(S2S_EINVAL, "chrf: char_order must be >= 1, got %d", c->char_order);
    if (c->word_order < 0)
        return s2s_fail(S2S_EINVAL, "chrf: word_order must be >= 0, got %d", c->word_order);
    if (c->char_order > CHRF_MAX_ORDER - c->word_order)
        return s2s_fail(S2S_EINVAL, "chrf: char_order + word_order must be at most %d, got %d + %d",
                        CHRF_MAX_ORDER, c->char_order, c->word_order);
    if (!(c->beta > 0 && isfinite(c->beta)))
        return s2s_fail(S2S_EINVAL, "chrf: beta must be finite and > 0, got %g", c->beta);
    return 0;
}

int chrf_nstats(const chrf_config *c)
{
    return 3 * (c->char_order + c->word_order);
}

void chrf_stats_zero(const chrf_config *c, double *stats)
{
    for (int i = 0; i < chrf_nstats(c); i++)
        stats[i] = 0;
}

int chrf_scorer_new(const chrf_config *c, chrf_scorer **out)
{
    *out = NULL;
    int rc = chrf_config_check(c);
    if (rc)
        return rc;
    chrf_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return s2s_fail(S2S_ENOMEM, "chrf: cannot allocate a scorer");
    s->cfg = *c;
    tok13a_tokens_init(&s->toks);
    tok13a_ngrams_init(&s->ngrams);
    *out = s;
    return 0;
}

void chrf_scorer_free(chrf_scorer *s)
{
    if (!s)
        return;
    tok13a_tokens_free(&s->toks);
    tok13a_ngrams_free(&s->ngrams);
    free(s->ref_stats);
    free(s);
}

/* sacreBLEU's _compute_f_score, with its operations in its order. */
static double f_score(const chrf_config *c, const double *st)
{
    int order = c->char_order + c->word_order, eff = 0;
    double factor = c->beta * c->beta, score = 0, avg_prec = 0, avg_rec = 0;
    for (int i = 0; i < order; i++) {
        double n_hyp = st[3 * i], n_ref = st[3 * i + 1], n_match = st[3 * i + 2];
        double prec = n_hyp > 0 ? n_match / n_hyp : CHRF_EPS;
        double rec = n_ref > 0 ? n_match / n_ref : CHRF_EPS;
        double denom = factor * prec + rec;
        score += denom > 0 ? (1 + factor) * prec * rec / denom : CHRF_EPS;
        if (n_hyp > 0 && n_ref > 0) {
            avg_prec += prec;
            avg_rec += rec;
            eff++;
        }
    }
    if (c->eps_smoothing)
        return 100 * score / order;
    if (eff == 0) {
        avg_prec = avg_rec = 0;
    } else {
        avg_prec /= eff;
        avg_rec /= eff;
    }
    if (avg_prec + avg_rec == 0)
        return 0.0;
    score = (1 + factor) * avg_prec * avg_rec;
    score /= factor * avg_prec + avg_rec;
    return 100 * score;
}

int chrf_compute(const chrf_config *c, const double *stats, double *score)
{
    *score = 0;
    int rc = chrf_config_check(c);
    if (rc)
        return rc;
    for (int i = 0; i < chrf_nstats(c); i++)
        if (!(stats[i] >= 0 && isfinite(stats[i])))
            return s2s_fail(S2S_EINVAL, "chrf: statistic %d is %g, expected a finite value >= 0", i,
                            stats[i]);
    *score = f_score(c, stats);
    return 0;
}

/* Appends the code points of text to the current sequence, without whitespace unless the
 * configuration keeps it (sacreBLEU: "".join(line.split())). */
static int push_chars(chrf_scorer *s, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += tok13a_utf8_next(text + i, n - i, &cp);
        if (!s->cfg.whitespace && tok13a_is_space(cp))
            continue;
        int rc = tok13a_ngrams_push(&s->ngrams, cp);
        if (rc)
            return rc;
    }
    return 0;
}

/* string.punctuation */
static bool is_punct(unsigned char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

/* Appends the words of text to the current sequence with sacreBLEU's _remove_punctuation: a
 * word of one character stays whole; otherwise a punctuation character at its end is split
 * off, or else one at its start ("(hi)" gives "(hi" and ")"). Punctuation is ASCII, so the
 * first and last bytes decide; a word of one multi-byte character has neither punctuation
 * byte and stays whole too. */
static int push_words(chrf_scorer *s, const char *text)
{
    int rc = tok13a_split(&s->toks, text, strlen(text));
    for (size_t i = 0; i < s->toks.n && !rc; i++) {
        const char *w = s->toks.tok[i];
        size_t len = s->toks.len[i];
        if (len > 1 && is_punct((unsigned char)w[len - 1])) {
            rc = tok13a_ngrams_push_str(&s->ngrams, w, len - 1);
            if (!rc)
                rc = tok13a_ngrams_push_str(&s->ngrams, w + len - 1, 1);
        } else if (len > 1 && is_punct((unsigned char)w[0])) {
            rc = tok13a_ngrams_push_str(&s->ngrams, w, 1);
            if (!rc)
                rc = tok13a_ngrams_push_str(&s->ngrams, w + 1, len - 1);
        } else {
            rc = tok13a_ngrams_push_str(&s->ngrams, w, len);
        }
    }
    return rc;
}

/* Fills the statistics of orders first .. first + norder - 1 against each of the nref
 * references (sequences 1..nref) from the sequences in the n-gram counter. */
static int count_orders(chrf_scorer *s, int first, int norder, int nref, int nstats)
{
    tok13a_ngrams *g = &s->ngrams;
    for (int n = 1; n <= norder; n++) {
        int rc = tok13a_ngrams_order(g, n);
        if (rc)
            return rc;
        double hyp = (double)tok13a_ngrams_count(g, 0);
        for (int k = 0; k < nref; k++) {
            double *st = s->ref_stats + (size_t)k * (size_t)nstats + 3 * (size_t)(first + n - 1);
            double ref = (double)tok13a_ngrams_count(g, k + 1);
            /* sacreBLEU's _get_match_statistics: "don't count hits if no reference exists for
             * that n-gram" - an order the reference is too short for counts no hypothesis
             * n-grams, which matters once sentences are summed into a corpus. */
            st[0] = ref > 0 ? hyp : 0;
            st[1] = ref;
            st[2] = (double)tok13a_ngrams_match(g, 0, k + 1, 1);
        }
    }
    return 0;
}

int chrf_add(chrf_scorer *s, const char *hyp, const char *const *refs, int nrefs, double *stats)
{
    if (!hyp || !refs || nrefs < 1)
        return s2s_fail(S2S_EINVAL, "chrf: a sentence needs a hypothesis and a reference (got %d)",
                        nrefs);
    const chrf_config *c = &s->cfg;
    int nstats = chrf_nstats(c), used = 0;
    for (int k = 0; k < nrefs; k++)
        used += refs[k] && refs[k][0] != '\0';
    int nref = used ? used : 1; /* no usable reference: one empty one */
    size_t need = (size_t)nref * (size_t)nstats;
    if (need > s->ref_stats_cap) {
        double *p = realloc(s->ref_stats, need * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "chrf: cannot allocate statistics for %d references", nref);
        s->ref_stats = p;
        s->ref_stats_cap = need;
    }

    tok13a_ngrams *g = &s->ngrams;
    tok13a_ngrams_begin(g);
    int rc = push_chars(s, hyp);
    for (int k = 0; k < nrefs && !rc; k++)
        if (refs[k] && refs[k][0] != '\0' && !(rc = tok13a_ngrams_next_seq(g)))
            rc = push_chars(s, refs[k]);
    if (!rc && !used)
        rc = tok13a_ngrams_next_seq(g);
    if (!rc)
        rc = count_orders(s, 0, c->char_order, nref, nstats);
    if (!rc && c->word_order > 0) {
        tok13a_ngrams_begin(g);
        rc = push_words(s, hyp);
        for (int k = 0; k < nrefs && !rc; k++)
            if (refs[k] && refs[k][0] != '\0' && !(rc = tok13a_ngrams_next_seq(g)))
                rc = push_words(s, refs[k]);
        if (!rc && !used)
            rc = tok13a_ngrams_next_seq(g);
        if (!rc)
            rc = count_orders(s, c->char_order, c->word_order, nref, nstats);
    }
    if (rc)
        return rc;

    /* sacreBLEU keeps the reference whose sentence score is strictly the best so far. */
    int best = 0;
    double best_f = -1.0;
    for (int k = 0; k < nref; k++) {
        double f = f_score(c, s->ref_stats + (size_t)k * (size_t)nstats);
        if (f > best_f) {
            best_f = f;
            best = k;
        }
    }
    const double *st = s->ref_stats + (size_t)best * (size_t)nstats;
    for (int i = 0; i < nstats; i++)
        stats[i] += st[i];
    return 0;
}
