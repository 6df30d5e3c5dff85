/* bleu.c - corpus BLEU with sacreBLEU's tokenization, reference handling, smoothing and
 * arithmetic.
 *
 * The floating-point operations of bleu_compute are sacreBLEU's, in the same order (100. * m
 * / t, the log sum from left to right, ...), so scores agree to the last bit or nearly, not
 * just to the two printed decimals. */
#include "s2s/bleu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/tok13a.h"

#ifndef S2S_VERSION
#error "S2S_VERSION is defined by CMakeLists.txt"
#endif

/* sacreBLEU's my_log(0): a finite stand-in for log 0 that still sends exp(mean) to 0. */
#define BLEU_LOG_ZERO (-9999999999.0)

const char *const bleu_tokenizer_names[] = {BLEU_TOK_CHOICES(CHOICE_NAME) NULL};
const char *const bleu_smooth_names[] = {BLEU_SMOOTH_CHOICES(CHOICE_NAME) NULL};

struct bleu_scorer {
    bleu_tokenizer tok;
    tok13a_tokens toks;
    tok13a_ngrams ngrams;
};

bleu_config bleu_config_default(void)
{
    return (bleu_config){.smooth = BLEU_SMOOTH_EXP, .smooth_value = NAN, .effective_order = false};
}

int bleu_scorer_new(bleu_tokenizer tok, bleu_scorer **out)
{
    *out = NULL;
    if (tok != BLEU_TOK_13A && tok != BLEU_TOK_NONE)
        return s2s_fail(S2S_EINVAL, "bleu: unknown tokenizer %d", (int)tok);
    bleu_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return s2s_fail(S2S_ENOMEM, "bleu: cannot allocate a scorer");
    s->tok = tok;
    tok13a_tokens_init(&s->toks);
    tok13a_ngrams_init(&s->ngrams);
    *out = s;
    return 0;
}

void bleu_scorer_free(bleu_scorer *s)
{
    if (!s)
        return;
    tok13a_tokens_free(&s->toks);
    tok13a_ngrams_free(&s->ngrams);
    free(s);
}

void bleu_stats_zero(double *stats)
{
    for (int i = 0; i < BLEU_NSTATS; i++)
        stats[i] = 0;
}

/* Length of text without trailing whitespace (Python's str.rstrip()). Whitespace characters
 * are at most 3 bytes long, so looking back 1 to 3 bytes for one that decodes to whitespace
 * ending exactly here is enough. */
static size_t rstrip_len(const char *text)
{
    size_t n = strlen(text);
    for (;;) {
        size_t k = 0;
        for (size_t w = 1; w <= 3 && w <= n && !k; w++) {
            uint32_t cp;
            if (tok13a_utf8_next(text + n - w, w, &cp) == w && tok13a_is_space(cp))
                k = w;
        }
        if (!k)
            return n;
        n -= k;
    }
}

/* Tokenizes one segment as the scorer is configured and appends its tokens to the current
 * sequence of the n-gram counter. */
static int push_segment(bleu_scorer *s, const char *text, size_t *ntok)
{
    size_t n = rstrip_len(text);
    int rc = s->tok == BLEU_TOK_13A ? tok13a_tokenize(&s->toks, text, n)
                                    : tok13a_split(&s->toks, text, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->toks.n; i++)
        if ((rc = tok13a_ngrams_push_str(&s->ngrams, s->toks.tok[i], s->toks.len[i])))
            return rc;
    *ntok = s->toks.n;
    return 0;
}

int bleu_add(bleu_scorer *s, const char *hyp, const char *const *refs, int nrefs, double *stats)
{
    if (!hyp || !refs || nrefs < 1)
        return s2s_fail(S2S_EINVAL, "bleu: a sentence needs a hypothesis and a reference (got %d)",
                        nrefs);
    tok13a_ngrams *g = &s->ngrams;
    tok13a_ngrams_begin(g);
    size_t hyp_len, ref_len = 0;
    int rc = push_segment(s, hyp, &hyp_len), used = 0;
    /* sacreBLEU keeps, of equally close references, the shorter. */
    size_t best_diff = SIZE_MAX;
    for (int k = 0; k < nrefs && !rc; k++) {
        if (!refs[k] || refs[k][0] == '\0')
            continue;
        size_t len;
        if ((rc = tok13a_ngrams_next_seq(g)) || (rc = push_segment(s, refs[k], &len)))
            break;
        used++;
        size_t diff = len > hyp_len ? len - hyp_len : hyp_len - len;
        if (diff < best_diff || (diff == best_diff && len < ref_len)) {
            best_diff = diff;
            ref_len = len;
        }
    }
    if (!rc && used == 0)
        rc = tok13a_ngrams_next_seq(g); /* one empty reference */
    double add[BLEU_NSTATS] = {0};
    add[BLEU_STAT_HYP_LEN] = (double)hyp_len;
    add[BLEU_STAT_REF_LEN] = (double)ref_len;
    for (int n = 1; n <= BLEU_ORDER && !rc; n++) {
        if ((rc = tok13a_ngrams_order(g, n)))
            break;
        add[BLEU_STAT_TOTAL + n - 1] = (double)tok13a_ngrams_count(g, 0);
        add[BLEU_STAT_MATCH + n - 1] = (double)tok13a_ngrams_match(g, 0, 1, used ? used : 1);
    }
    if (rc)
        return rc;
    for (int i = 0; i < BLEU_NSTATS; i++)
        stats[i] += add[i];
    return 0;
}

static double my_log(double x)
{
    return x == 0.0 ? BLEU_LOG_ZERO : log(x);
}

/* The smoothing value in effect: the configured one, or sacreBLEU's default for the method. */
static double smooth_value_of(const bleu_config *c)
{
    if (!isnan(c->smooth_value))
        return c->smooth_value;
    return c->smooth == BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
}

int bleu_compute(const double *stats, const bleu_config *c, bleu_result *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < BLEU_NSTATS; i++)
        if (!(stats[i] >= 0 && isfinite(stats[i])))
            return s2s_fail(S2S_EINVAL, "bleu: statistic %d is %g, expected a finite value >= 0", i,
                            stats[i]);
    if (c->smooth < BLEU_SMOOTH_NONE || c->smooth > BLEU_SMOOTH_EXP)
        return s2s_fail(S2S_EINVAL, "bleu: unknown smoothing method %d", (int)c->smooth);
    double value = smooth_value_of(c);
    if (!(value >= 0 && isfinite(value)))
        return s2s_fail(S2S_EINVAL, "bleu: %s smoothing value must be finite and >= 0, got %g",
                        bleu_smooth_names[c->smooth], value);

    double sys_len = stats[BLEU_STAT_HYP_LEN], ref_len = stats[BLEU_STAT_REF_LEN];
    double correct[BLEU_ORDER], total[BLEU_ORDER];
    bool any = false;
    for (int k = 0; k < BLEU_ORDER; k++) {
        correct[k] = stats[BLEU_STAT_MATCH + k];
        total[k] = stats[BLEU_STAT_TOTAL + k];
        any = any || correct[k] != 0;
    }
    out->sys_len = sys_len;
    out->ref_len = ref_len;
    out->ratio = ref_len != 0 ? sys_len / ref_len : 0;
    if (sys_len < ref_len)
        out->bp = sys_len > 0 ? exp(1 - ref_len / sys_len) : 0.0;
    else
        out->bp = 1.0;
    /* sacreBLEU's early exit (its issue #141): without a single match, smoothing would still
     * make up a score, so it is 0 whatever the method. */
    if (!any)
        return 0;

    double smooth_mteval = 1.0;
    int eff_order = BLEU_ORDER;
    for (int n = 1; n <= BLEU_ORDER; n++) {
        if (c->smooth == BLEU_SMOOTH_ADD_K && n > 1) {
            correct[n - 1] += value;
            total[n - 1] += value;
        }
        /* No hypothesis n-grams at all: this and the higher precisions stay 0 (and then count
         * as log 0 unless effective_order leaves them out). */
        if (total[n - 1] == 0)
            break;
        if (c->effective_order)
            eff_order = n;
        if (correct[n - 1] == 0) {
            if (c->smooth == BLEU_SMOOTH_EXP) {
                smooth_mteval *= 2;
                out->precisions[n - 1] = 100. / (smooth_mteval * total[n - 1]);
            } else if (c->smooth == BLEU_SMOOTH_FLOOR) {
                out->precisions[n - 1] = 100. * value / total[n - 1];
            }
        } else {
            out->precisions[n - 1] = 100. * correct[n - 1] / total[n - 1];
        }
    }
    double sum = 0;
    for (int k = 0; k < eff_order; k++)
        sum += my_log(out->precisions[k]);
    out->score = out->bp * exp(sum / eff_order);
    return 0;
}

int bleu_format(const bleu_result *r, char *buf, size_t size)
{
    return snprintf(buf, size,
                    "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %.0f "
                    "ref_len = %.0f)",
                    r->score, r->precisions[0], r->precisions[1], r->precisions[2],
                    r->precisions[3], r->bp, r->ratio, r->sys_len, r->ref_len);
}

int bleu_signature(const bleu_config *c, bleu_tokenizer tok, int nrefs, char *buf, size_t size)
{
    /* sacreBLEU's BLEUSignature: the methods that take a value show it with two decimals. */
    char smooth[48];
    if (c->smooth == BLEU_SMOOTH_FLOOR || c->smooth == BLEU_SMOOTH_ADD_K)
        snprintf(smooth, sizeof smooth, "%s[%.2f]", choice_name(bleu_smooth_names, c->smooth),
                 smooth_value_of(c));
    else
        snprintf(smooth, sizeof smooth, "%s", choice_name(bleu_smooth_names, c->smooth));
    return snprintf(buf, size, "nrefs:%d|case:mixed|eff:%s|tok:%s|smooth:%s|version:s2s-%s",
                    nrefs, c->effective_order ? "yes" : "no",
                    choice_name(bleu_tokenizer_names, tok), smooth, S2S_VERSION);
}
