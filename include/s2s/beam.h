/* beam.h - batched beam search over a trained model (greedy is beam 1).
 *
 * Every sentence of a batch keeps up to `beam` open hypotheses, all sentences' hypotheses
 * stepped together as rows of one decoder batch. A hypothesis y_1..y_n (</s> included when
 * finished) is scored by its log-probability normalized by GNMT's length penalty:
 *
 *   score = log P(y) / lp(n),   lp(n) = ((5 + n) / 6)^alpha   (alpha = 0: raw log-probability)
 *
 * Each step takes, per sentence, the `beam` best extensions of its open hypotheses by
 * log-probability (every token but <pad> and <s>: <unk> is a legal output); those ending in </s>
 * are finished and leave the beam, the others are the next step's open hypotheses (at step 0
 * the one hypothesis "<s>" is extended, not `beam` copies of it). Finished hypotheses are kept
 * until no open hypothesis can still beat the best `nbest` of them (an open one's
 * log-probability can only fall, so its best reachable score is bounded by its log-probability
 * over the largest penalty it can still get, lp(max_len[b])). The greedy hypothesis of each
 * sentence is carried alongside the beams (beam > 1) and competes at the end (once, if the beam
 * found it too), so the returned best never scores below greedy's under the same scoring;
 * beam 1 is greedy decoding (model_greedy), token for token.
 *
 * With attention, the attention weights of each returned hypothesis (one row per output token,
 * </s> included when finished, over the sentence's source positions) are kept for inspection
 * and for replacing <unk> by the most-attended source word. */
#ifndef S2S_BEAM_H
#define S2S_BEAM_H

#include <stdbool.h>

#include "s2s/batch.h"
#include "s2s/model.h"

typedef struct {
    int beam;              /* K >= 1 */
    int nbest;             /* hypotheses returned per sentence, 1..beam */
    double length_penalty; /* alpha >= 0 */
    bool attention;        /* keep attention weights (ignored for models without attention,
                            * whose hypotheses have attn NULL) */
} beam_config;

typedef struct {
    int len;        /* output tokens, </s> excluded */
    bool finished;  /* ended with </s>; otherwise cut at the sentence's length limit */
    double logprob; /* sum of the tokens' log-probabilities, </s> included when finished */
    double score;   /* logprob / lp(len + finished) */
    int *ids;       /* [len] */
    float *attn;    /* [len + finished, src_len] or NULL */
} beam_hyp;

typedef struct {
    int max_B, nbest, max_len, max_src; /* capacity */
    int B;                              /* sentences of the last search */
    beam_hyp *hyps;                     /* [B * nbest]: sentence b's n-best, best first, at
                                         * b * nbest */
    int *counts;                        /* [B] hypotheses of sentence b: the search's nbest,
                                         * fewer only when the target vocabulary has fewer
                                         * legal tokens (V - 2) than beam; entries past it are
                                         * empty (len 0, attn NULL) */
    /* private storage behind hyps */
    int *ids_store;
    float *attn_store;
} beam_result;

/* Rows of the decoder batch a search over B sentences uses: B * (beam + 1) (the beams and each
 * sentence's greedy hypothesis), or B for beam 1. The model must have been initialized
 * (model_init) with max_B at least this, max_src at least the longest source and max_tgt >= 2
 * (two step slots of these rows). */
int beam_rows(int B, int beam);

/* Storage for up to max_B sentences, nbest hypotheses each of at most max_len tokens, with
 * attention over at most max_src positions when `attention`. */
int beam_result_init(beam_result *r, int max_B, int nbest, int max_len, int max_src,
                     bool attention);
void beam_result_free(beam_result *r); /* safe on a zeroed or half-built result */

/* Decodes the sources of bt (targets ignored; bt->B <= r->max_B); sentence b produces at most
 * max_len[b] tokens (1 <= max_len[b] <= r->max_len). r must hold the search's nbest
 * (r->nbest >= cfg->nbest) and, when attention is kept, bt->src_T <= r->max_src (r initialized
 * with attention). Deterministic: ties are broken by the lower row, then the lower token id.
 * S2S_EINVAL for a configuration the model or r cannot hold (message names the field).
 * Allocation happens in beam_search_init only. */
typedef struct beam_search beam_search;
int beam_search_init(beam_search **bs, model *m, const beam_config *cfg, int max_B, int max_len);

/* Ensemble decoding: one search over n models at once, each initialized as above (they may
 * differ in cells, sizes and attention, not in the target vocabulary). Every model keeps its own
 * encoder outputs, rows' memory and decoder states, reordered by the same backpointers; a step
 * ranks the tokens by the weighted sum of the models' log-probabilities (include/s2s/ensemble.h;
 * weights [n] positive, normalized to sum 1, NULL: equal), which is also what the hypotheses'
 * log-probabilities and scores sum. The attention weights kept are the first model's (none if
 * it has no attention). n = 1 is beam_search_init, and two copies of one model with equal
 * weights give its search bit for bit. */
int beam_search_init_ensemble(beam_search **bs, model *const *models, const double *weights, int n,
                              const beam_config *cfg, int max_B, int max_len);
void beam_search_free(beam_search *bs); /* safe on NULL */
int beam_search_run(beam_search *bs, const batch *bt, const int *max_len, beam_result *r);

/* GNMT length penalty lp(n) for alpha. */
double beam_length_penalty(int n, double alpha);

#endif
