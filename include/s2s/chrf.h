/* chrf.h - corpus chrF (Popović, 2015) and chrF++ (Popović, 2017) exactly as sacreBLEU 2.x
 * computes them.
 *
 * As for BLEU (bleu.h), chrf_add turns one sentence into sufficient statistics added to an
 * array of doubles, arrays are summed over sentences and MPI ranks, and chrf_compute gives the
 * score of the sums. The statistics are sacreBLEU's: for each order, character n-grams
 * n = 1..char_order first and then word n-grams n = 1..word_order, three numbers
 *   [3 i] hypothesis n-grams  [3 i + 1] reference n-grams  [3 i + 2] matches (clipped counts)
 * so chrf_nstats(c) = 3 (char_order + word_order) of them.
 *
 * Characters are Unicode code points (the text is decoded from UTF-8), not bytes; with
 * whitespace off (sacreBLEU's default) all whitespace is removed before the character n-grams
 * are taken. Word n-grams (chrF++) use the words of the text split on whitespace, with one
 * punctuation character split off the end of each word, or else off its start (sacreBLEU's
 * rule, from Popović's chrF++.py). Case is kept (sacreBLEU's lowercase option is not
 * provided).
 *
 * With the defaults, chrf_compute of the summed stats is `sacrebleu.corpus_chrf(hyps, refs)`:
 * precision and recall of each order are computed from the corpus sums, averaged over the
 * orders that have both hypothesis and reference n-grams, and combined into the F-beta score
 * of the averages. With eps_smoothing (sacreBLEU's option, chrF++.py's, NLTK's and Moses'
 * formula), the F-beta of each order is computed (an order without hypothesis or reference
 * n-grams uses 1e-16 for its precision or recall) and these are averaged over all orders. */
#ifndef S2S_CHRF_H
#define S2S_CHRF_H

#include <stdbool.h>

#define CHRF_MAX_ORDER 32 /* char_order + word_order */

typedef struct {
    int char_order;     /* character n-gram order, >= 1 (6) */
    int word_order;     /* word n-gram order, >= 0 (0; 2 is chrF++) */
    double beta;        /* recall weight, > 0 (2) */
    bool whitespace;    /* keep whitespace in character n-grams (false) */
    bool eps_smoothing; /* per-order F averaged with epsilon smoothing (false) */
} chrf_config;

/* sacreBLEU's CHRF() defaults: 6, 0, 2, false, false. */
chrf_config chrf_config_default(void);

/* S2S_EINVAL naming the field: char_order >= 1, word_order >= 0, their sum at most
 * CHRF_MAX_ORDER, beta finite and > 0. */
int chrf_config_check(const chrf_config *c);

/* Number of statistics of a configuration: 3 (char_order + word_order). */
int chrf_nstats(const chrf_config *c);

/* Sets the chrf_nstats(c) statistics to 0. */
void chrf_stats_zero(const chrf_config *c, double *stats);

typedef struct chrf_scorer chrf_scorer;

/* A scorer for configuration c (copied). S2S_EINVAL as chrf_config_check, S2S_ENOMEM. */
int chrf_scorer_new(const chrf_config *c, chrf_scorer **out);
void chrf_scorer_free(chrf_scorer *s); /* NULL is fine */

/* Adds the statistics of one sentence to stats[chrf_nstats]: hyp and refs[0..nrefs) are UTF-8
 * text, NUL-terminated. A NULL or empty ("") reference is skipped, as in sacreBLEU; of several
 * references, the statistics of the one with the best sentence-level score (under this
 * configuration; the first on a tie) are added. As in sacreBLEU, an order for which the
 * reference has no n-gram (a reference shorter than n) counts no hypothesis n-grams either.
 * Where sacreBLEU would refuse - no non-empty reference at all - one empty reference is used.
 * S2S_EINVAL when nrefs < 1 or hyp is NULL; S2S_ENOMEM, S2S_ERANGE. On error, stats are
 * unchanged. Allocates nothing once its buffers have grown to the longest sentence. */
int chrf_add(chrf_scorer *s, const char *hyp, const char *const *refs, int nrefs, double *stats);

/* The score, 0-100, of summed statistics (sacreBLEU's CHRF._compute_f_score). S2S_EINVAL for
 * an invalid configuration or negative or non-finite statistics. */
int chrf_compute(const chrf_config *c, const double *stats, double *score);

#endif
