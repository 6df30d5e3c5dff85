/* score.h - how good decoded translations are against their references, from token ids: BLEU on
 * the tokens as given, BLEU with sacreBLEU's 13a tokenization and chrF on the detokenized text,
 * and the exact-match rate.
 *
 * Every figure is kept as sums (score_sums) that add over sentences and, with one
 * comm_sum_doubles, over MPI ranks; score_compute turns the sums into the figures. Training's
 * validation and `s2s eval` both score through here, so their figures agree. */
#ifndef S2S_SCORE_H
#define S2S_SCORE_H

#include <stdbool.h>

#include "s2s/bleu.h"
#include "s2s/chrf.h"
#include "s2s/vocab.h"

/* The sums: [0] sentences, [1] exact matches, then BLEU on tokens, BLEU 13a, chrF (defaults). */
#define SCORE_SENTENCES 0
#define SCORE_EXACT 1
#define SCORE_BLEU_TOKENS 2
#define SCORE_BLEU_13A (SCORE_BLEU_TOKENS + BLEU_NSTATS)
#define SCORE_CHRF (SCORE_BLEU_13A + BLEU_NSTATS)
#define SCORE_NSUMS (SCORE_CHRF + 3 * 6) /* chrF's default 6 character orders */

typedef struct {
    const char *const *vocab; /* target token text by id (borrowed) */
    detok_kind detok;
    const spm_model *spm;     /* the target side's model for DETOK_SPM (borrowed), or NULL */
    bool text;                /* also the detokenized-text figures (BLEU 13a, chrF) */
    bleu_scorer *bleu_tok, *bleu_13a;
    chrf_scorer *chrf;
    char *buf[4];             /* hypothesis and reference, as tokens and as text */
    size_t cap[4];
    const char **tok;         /* token pointers */
    int tok_cap;
} scorer;

/* text: also score the text detokenized by detok (with spm for DETOK_SPM; else those sums stay
 * 0). */
int scorer_init(scorer *s, const char *const *tgt_vocab, detok_kind detok, const spm_model *spm,
                bool text);
void scorer_free(scorer *s); /* safe on a zeroed scorer */

/* Adds one sentence: hypothesis hyp[0..hn) and reference ref[0..rn) as target ids. */
int scorer_add(scorer *s, const int *hyp, int hn, const int *ref, int rn, double *sums);

typedef struct {
    double sentences, exact_match;     /* exact_match: a fraction */
    bleu_result bleu_tokens, bleu_13a; /* scores 0-100 */
    double chrf;                       /* 0-100 */
} score_result;

/* The figures of summed sums, BLEU with the smoothing of c (NULL: sacreBLEU's default). */
int score_compute(const double *sums, const bleu_config *c, score_result *r);

/* Zeroes SCORE_NSUMS sums. */
void score_zero(double *sums);

#endif
