/* trained.h - a trained model read back from a checkpoint for decoding and evaluation: its
 * configuration, vocabularies, the tokenizer settings of the data it was trained on, and the
 * parameters.
 *
 * Two stages, because the workspace size depends on what will be decoded: trained_open reads
 * the configuration and vocabularies (and verifies the checksum), trained_build allocates the
 * model for a batch capacity and reads the parameters. */
#ifndef S2S_TRAINED_H
#define S2S_TRAINED_H

#include <stdbool.h>
#include <stdint.h>

#include "s2s/model.h"
#include "s2s/vocab.h"

typedef struct {
    char path[4096];
    model_config cfg;
    vocab src, tgt;
    tokenizer_kind tokenizer; /* from the checkpoint's data.tokenizer (whitespace if absent) */
    bool lowercase;           /* data.lowercase */
    bool has_ema;             /* the checkpoint holds EMA weights (--ema) */
    bool ema;                 /* trained_build reads them instead of /params: set to has_ema
                               * by trained_open; a caller may clear it for the raw weights */
    model m;                  /* after trained_build (zeroed before) */
} trained_model;

/* Reads configuration, vocabularies and tokenizer settings; checks the file (ckpt_verify) and
 * notes whether it holds EMA weights, which decoding then uses.
 * S2S_EIO for a missing file, S2S_EFORMAT for anything that is not a valid checkpoint (a
 * parameter file has no vocabularies: the message says a checkpoint is needed). */
int trained_open(trained_model *tm, const char *path);

/* Allocates the model for max_B rows, sources of max_src tokens and max_tgt decoder steps, with
 * the parameters (the EMA weights if tm->ema): read from the file the first time, kept from
 * the previous model when called again for another capacity. */
int trained_build(trained_model *tm, int max_B, int max_src, int max_tgt);

void trained_free(trained_model *tm); /* safe on a zeroed or half-built struct */

/* Token ids of a line of text, tokenized as the training data was: ids[k] for k < *n, the
 * line modified in place; *n may be 0 for an empty line. ids grows as needed. */
int trained_encode(const trained_model *tm, char *line, token_list *tok, int32_t **ids,
                   int *cap, int *n);

#endif
