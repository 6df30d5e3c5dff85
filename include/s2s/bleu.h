/* bleu.h - corpus BLEU (Papineni et al., 2002) exactly as sacreBLEU 2.x computes it.
 *
 * Scoring is split in two so that it can be spread over MPI ranks: bleu_add turns one sentence
 * (a detokenized hypothesis and its references) into sufficient statistics and adds them to an
 * array of BLEU_NSTATS doubles; the arrays of all sentences and ranks are summed (by addition,
 * MPI_Allreduce with MPI_SUM included: the values are integers, exact in doubles up to 2^53);
 * bleu_compute turns the sums into the score. Tokenization, reference handling and the
 * arithmetic follow sacreBLEU's BLEU class (sacrebleu/metrics/bleu.py), so that for the same
 * text and options the score is sacreBLEU's: bleu_compute with bleu_config_default() on stats
 * from a BLEU_TOK_13A scorer is `sacrebleu.corpus_bleu(hyps, refs)`. Case is kept (sacreBLEU's
 * lowercase option is not provided) and the maximum order is 4.
 *
 * The statistics, in sacreBLEU's own order:
 *   [0] hypothesis length (tokens)   [1] reference length (the closest reference per sentence)
 *   [2 + k] clipped matches of (k+1)-grams, k = 0..3   [6 + k] hypothesis (k+1)-grams */
#ifndef S2S_BLEU_H
#define S2S_BLEU_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/choice.h"

#define BLEU_ORDER 4
#define BLEU_NSTATS (2 + 2 * BLEU_ORDER)
#define BLEU_STAT_HYP_LEN 0
#define BLEU_STAT_REF_LEN 1
#define BLEU_STAT_MATCH 2 /* first of BLEU_ORDER */
#define BLEU_STAT_TOTAL 6 /* first of BLEU_ORDER */

/* BLEU's tokenizers, sacreBLEU's names (include/s2s/choice.h). */
#define BLEU_TOK_CHOICES(X) X(BLEU_TOK_13A, "13a") X(BLEU_TOK_NONE, "none")
typedef enum { BLEU_TOK_CHOICES(CHOICE_ENUM) BLEU_TOK_COUNT } bleu_tokenizer;
extern const char *const bleu_tokenizer_names[]; /* NULL-terminated, indexed by bleu_tokenizer */

/* sacreBLEU's smoothing methods (Chen and Cherry, 2014), with their names:
 *   none   no smoothing: a precision with no match is 0, and so is the score
 *   floor  a precision with no match is smooth_value / total (default 0.1)
 *   add-k  for n >= 2, smooth_value is added to matches and totals (default 1)
 *   exp    the k-th precision with no match is 1 / (2^k total) (mteval-v13a's; sacreBLEU's
 *          default for corpus BLEU)
 * Whatever the method, a corpus without a single matching n-gram scores 0. */
#define BLEU_SMOOTH_CHOICES(X)                                                                     \
    X(BLEU_SMOOTH_NONE, "none") X(BLEU_SMOOTH_FLOOR, "floor") X(BLEU_SMOOTH_ADD_K, "add-k")        \
    X(BLEU_SMOOTH_EXP, "exp")
typedef enum { BLEU_SMOOTH_CHOICES(CHOICE_ENUM) BLEU_SMOOTH_COUNT } bleu_smooth;
extern const char *const bleu_smooth_names[]; /* NULL-terminated, indexed by bleu_smooth */

typedef struct {
    bleu_smooth smooth;
    double smooth_value;  /* floor and add-k; NAN: sacreBLEU's default for the method */
    bool effective_order; /* geometric mean over the orders up to the last one with a
                           * hypothesis n-gram (sacreBLEU's effective_order; meant for
                           * sentence-level BLEU) */
} bleu_config;

/* sacreBLEU's defaults for corpus BLEU: exp smoothing, no effective order. */
bleu_config bleu_config_default(void);

typedef struct {
    double score;                  /* 0-100 */
    double precisions[BLEU_ORDER]; /* percentages, after smoothing, as sacreBLEU reports them */
    double bp;                     /* brevity penalty */
    double sys_len, ref_len;       /* corpus hypothesis and reference lengths */
    double ratio;                  /* sys_len / ref_len (0 when ref_len is 0) */
} bleu_result;

/* Tokenizer and scratch buffers; one per thread. */
typedef struct bleu_scorer bleu_scorer;

/* S2S_EINVAL for an unknown tokenizer, S2S_ENOMEM. */
int bleu_scorer_new(bleu_tokenizer tok, bleu_scorer **out);
void bleu_scorer_free(bleu_scorer *s); /* NULL is fine */

/* Sets all BLEU_NSTATS statistics to 0. */
void bleu_stats_zero(double *stats);

/* Adds the statistics of one sentence to stats[BLEU_NSTATS]: hyp and refs[0..nrefs) are
 * detokenized UTF-8 text, NUL-terminated. As sacreBLEU, trailing whitespace is stripped and the
 * text tokenized; a NULL or empty ("") reference is skipped (sacreBLEU's way to give sentences
 * fewer references); with several references, the clipped counts use each n-gram's largest
 * count in any one reference, and the reference length is the one closest to the hypothesis
 * length (the shorter one on a tie). Where sacreBLEU would refuse - no non-empty reference at
 * all - this counts one empty reference (length 0, no n-grams), as a reference of only spaces
 * counts in sacreBLEU. An empty hypothesis adds only its reference length.
 * S2S_EINVAL when nrefs < 1 or hyp is NULL; S2S_ENOMEM, S2S_ERANGE (absurdly long text). On
 * error, stats are unchanged. Allocates nothing once its buffers have grown to the longest
 * sentence. */
int bleu_add(bleu_scorer *s, const char *hyp, const char *const *refs, int nrefs, double *stats);

/* The score of summed statistics, as sacreBLEU's BLEU.compute_bleu: precisions 100 m / t with
 * the configured smoothing, brevity penalty exp(1 - ref_len / sys_len) when sys_len < ref_len
 * (0 for an empty corpus hypothesis), score = bp * exp(mean of log precisions) with log 0
 * taken as -9999999999. S2S_EINVAL for negative or non-finite statistics, an unknown smoothing
 * method, or a negative or non-finite smooth_value. */
int bleu_compute(const double *stats, const bleu_config *c, bleu_result *out);

/* sacreBLEU's one-line report, "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944
 * hyp_len = 17 ref_len = 18)", into buf[size] (truncated to fit, always NUL-terminated when
 * size > 0). Returns the length the whole line needs, as snprintf. */
int bleu_format(const bleu_result *r, char *buf, size_t size);

/* sacreBLEU's signature of a score computed with c and tok against nrefs references per
 * sentence, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:s2s-0.1.0" (floor and add-k
 * with their value: "smooth:floor[0.10]"), into buf[size] as bleu_format does. The version is
 * s2s's own (`s2s --version`): the score is s2s's computation of sacreBLEU's. */
#define BLEU_SIGNATURE_MAX 128
int bleu_signature(const bleu_config *c, bleu_tokenizer tok, int nrefs, char *buf, size_t size);

#endif
