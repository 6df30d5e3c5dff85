/* score.c - translation figures from token ids, as sums that add over sentences and ranks. */
#include "s2s/score.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

_Static_assert(SCORE_NSUMS == SCORE_CHRF + 18, "chrF's default configuration has 18 sums");

void score_zero(double *sums)
{
    memset(sums, 0, SCORE_NSUMS * sizeof *sums);
}

int scorer_init(scorer *s, const char *const *tgt_vocab, detok_kind detok, const spm_model *spm,
                bool text)
{
    memset(s, 0, sizeof *s);
    s->vocab = tgt_vocab;
    s->detok = detok;
    s->spm = spm;
    s->text = text;
    chrf_config cc = chrf_config_default();
    int rc = bleu_scorer_new(BLEU_TOK_NONE, &s->bleu_tok);
    if (rc == 0 && text && (rc = bleu_scorer_new(BLEU_TOK_13A, &s->bleu_13a)) == 0)
        rc = chrf_scorer_new(&cc, &s->chrf);
    if (rc < 0)
        scorer_free(s);
    return rc;
}

void scorer_free(scorer *s)
{
    bleu_scorer_free(s->bleu_tok);
    bleu_scorer_free(s->bleu_13a);
    chrf_scorer_free(s->chrf);
    for (int k = 0; k < 4; k++)
        free(s->buf[k]);
    free(s->tok);
    memset(s, 0, sizeof *s);
}

/* ids as text into s->buf[k]: joined by spaces (tokens) or detokenized. */
static int as_text(scorer *s, const int *ids, int n, detok_kind kind, int k)
{
    if (n > s->tok_cap) {
        const char **p = realloc(s->tok, (size_t)n * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "score: %d tokens", n);
        s->tok = p;
        s->tok_cap = n;
    }
    for (int i = 0; i < n; i++)
        s->tok[i] = s->vocab[ids[i]];
    long len = detokenize(kind, s->spm, s->tok, n, &s->buf[k], &s->cap[k]);
    return len < 0 ? (int)len : 0;
}

int scorer_add(scorer *s, const int *hyp, int hn, const int *ref, int rn, double *sums)
{
    int rc;
    sums[SCORE_SENTENCES] += 1;
    sums[SCORE_EXACT] += hn == rn && !memcmp(hyp, ref, (size_t)hn * sizeof *hyp);
    if ((rc = as_text(s, hyp, hn, DETOK_SPACE, 0)) < 0 ||
        (rc = as_text(s, ref, rn, DETOK_SPACE, 1)) < 0 ||
        (rc = bleu_add(s->bleu_tok, s->buf[0], (const char *const *)&s->buf[1], 1,
                       sums + SCORE_BLEU_TOKENS)) < 0)
        return rc;
    if (!s->text)
        return 0;
    if ((rc = as_text(s, hyp, hn, s->detok, 2)) < 0 || (rc = as_text(s, ref, rn, s->detok, 3)) < 0 ||
        (rc = bleu_add(s->bleu_13a, s->buf[2], (const char *const *)&s->buf[3], 1,
                       sums + SCORE_BLEU_13A)) < 0 ||
        (rc = chrf_add(s->chrf, s->buf[2], (const char *const *)&s->buf[3], 1,
                       sums + SCORE_CHRF)) < 0)
        return rc;
    return 0;
}

int score_compute(const double *sums, const bleu_config *c, score_result *r)
{
    memset(r, 0, sizeof *r);
    bleu_config def = bleu_config_default();
    chrf_config cc = chrf_config_default();
    if (!c)
        c = &def;
    r->sentences = sums[SCORE_SENTENCES];
    r->exact_match = r->sentences > 0 ? sums[SCORE_EXACT] / r->sentences : 0;
    int rc = bleu_compute(sums + SCORE_BLEU_TOKENS, c, &r->bleu_tokens);
    if (rc == 0)
        rc = bleu_compute(sums + SCORE_BLEU_13A, c, &r->bleu_13a);
    if (rc == 0)
        rc = chrf_compute(&cc, sums + SCORE_CHRF, &r->chrf);
    return rc;
}
