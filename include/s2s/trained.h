/* trained.h - a trained model read back from a checkpoint for decoding and evaluation: its
 * configuration, vocabularies, the tokenizer settings of the data it was trained on (with the
 * SentencePiece models, when the data was tokenized with them), and the parameters.
 *
 * Two stages, because the workspace size depends on what will be decoded: trained_open reads
 * the configuration and vocabularies (and verifies the checksum), trained_build allocates the
 * model for a batch capacity and reads the parameters. */
#ifndef S2S_TRAINED_H
#define S2S_TRAINED_H

#include <stdbool.h>
#include <stdint.h>

#include "s2s/model.h"
#include "s2s/spm.h"
#include "s2s/vocab.h"

typedef struct {
    char path[4096];
    model_config cfg;
    vocab src, tgt;
    tokenizer_kind tokenizer; /* from the checkpoint's data.tokenizer (whitespace if absent) */
    bool lowercase;           /* data.lowercase */
    spm_models spm;           /* /spm: the SentencePiece models (sizes 0: none) */
    spm_model *spm_proc[2];   /* loaded; [1] NULL when one joint model serves both sides */
    bool has_ema;             /* the checkpoint holds EMA weights (--ema) */
    bool ema;                 /* trained_build reads them instead of /params: set to has_ema
                               * by trained_open; a caller may clear it for the raw weights */
    model m;                  /* after trained_build (zeroed before) */
} trained_model;

/* The SentencePiece model of side 0 (source) or 1 (target), NULL without one. */
const spm_model *trained_spm(const trained_model *tm, int side);

/* The detokenizer of the target side for --detok: choice 0 guesses (detok_guess), choice k is
 * detok_kind k - 1. S2S_EUSAGE for sentencepiece with a checkpoint without a model. */
int trained_detok(const trained_model *tm, int choice, detok_kind *out);

/* Whether b reads and writes text as a does: the same vocabularies token by token, tokenizer,
 * SentencePiece models and lowercasing. S2S_EINVAL naming b, a and what differs first, ending
 * "WHO need the same ..." (who: "an ensemble's models", "averaged checkpoints"). */
int trained_same_text(const trained_model *a, const trained_model *b, const char *who);

/* Reads configuration, vocabularies and tokenizer settings, and loads the SentencePiece models;
 * checks the file (ckpt_verify) and notes whether it holds EMA weights, which decoding then
 * uses. S2S_EIO for a missing file, S2S_EFORMAT for anything that is not a valid checkpoint (a
 * parameter file has no vocabularies: the message says a checkpoint is needed), also for
 * data.tokenizer sentencepiece without /spm. */
int trained_open(trained_model *tm, const char *path);

/* Allocates the model for max_B rows, sources of max_src tokens and max_tgt decoder steps, with
 * the parameters (the EMA weights if tm->ema): read from the file the first time, kept from
 * the previous model when called again for another capacity. */
int trained_build(trained_model *tm, int max_B, int max_src, int max_tgt);

void trained_free(trained_model *tm); /* safe on a zeroed or half-built struct */

/* What the source text given to a model looked like to its vocabulary: the figures of the
 * warning that it is not tokenized as the training data was (input_warning). */
typedef struct {
    long tokens, unk; /* source tokens, of which <unk> */
    long marked;      /* tokens that begin with SentencePiece's U+2581 marker */
} input_stats;

/* Adds a line's tokens to s: their texts in tok, or (tok NULL: only ids are known, as for a
 * dataset split) the texts of their ids in tm's source vocabulary. */
void input_stats_add(input_stats *s, const trained_model *tm, const token_list *tok,
                     const int32_t *ids, int n);

/* The warning line for s, "WHO: 83% of input tokens are <unk> (412 of 496): ..." into buf,
 * or false when the input looks as the model expects. Two checks, the first that fires:
 *  - a source vocabulary of SentencePiece pieces (vocab_marked) read by the whitespace
 *    tokenizer, and under INPUT_MARKED_MIN of the tokens marked: in encoded text every word
 *    starts with a marked piece, so the share is one over the pieces per word (over 1/3 with
 *    any vocabulary of practical size; 3/4 at 8000 pieces), and raw text has none;
 *  - over INPUT_UNK_MAX of the tokens <unk>: in-domain text tokenized as the training data was
 *    stays at a few percent (the rate prep reports for the held-out splits), while text
 *    tokenized another way (raw words for a pieces vocabulary, punctuation left on words,
 *    other case) loses a third or more of its tokens. */
#define INPUT_MARKED_MIN 0.10
#define INPUT_UNK_MAX 0.20
bool input_warning(const trained_model *tm, const input_stats *s, const char *who, char *buf,
                   size_t size);

/* Token ids of a line of text, tokenized as the training data was: ids[k] for k < *n, the
 * line modified in place; *n may be 0 for an empty line. ids grows as needed; st (if not NULL)
 * counts the tokens. */
int trained_encode(const trained_model *tm, char *line, token_list *tok, int32_t **ids,
                   int *cap, int *n, input_stats *st);

#endif
