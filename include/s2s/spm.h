/* spm.h - SentencePiece subword models inside s2s: training one from sentences, loading one
 * from its serialized bytes, encoding a line into pieces and decoding pieces back into text.
 *
 * A C interface over the SentencePiece C++ library (src/data/spm.cc, the one C++ file): no
 * exception and no C++ type crosses it; failures are s2s status codes with a message
 * (include/s2s/status.h), the library's own util::Status text included.
 *
 * A model is its serialized bytes (the ModelProto that spm_train writes as a .model file): s2s
 * stores them in datasets and checkpoints (/spm, docs/formats.md) and loads a processor from
 * them wherever text is encoded or decoded (prep, training's validation, translate, eval).
 *
 * Determinism: spm_train gives the same bytes for the same sentences, in the same order, and
 * the same options, threads included; another thread count may give another model (the
 * trainers split their sums per thread). The sample of at most `sentences` sentences is drawn
 * by SentencePiece with a fixed seed of its own (0.1.97), so it does not depend on `seed`;
 * `seed` goes to SentencePiece's random generator, which every training starts afresh from it
 * (on a thread of its own), so that whatever else a version draws is the same each time. */
#ifndef S2S_SPM_H
#define S2S_SPM_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/choice.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SentencePiece's model types that s2s trains (include/s2s/choice.h). */
#define SPM_TYPE_CHOICES(X) X(SPM_UNIGRAM, "unigram") X(SPM_BPE, "bpe")
typedef enum { SPM_TYPE_CHOICES(CHOICE_ENUM) SPM_TYPE_COUNT } spm_type;
extern const char *const spm_type_names[]; /* NULL-terminated, indexed by spm_type */

typedef struct {
    spm_type type;
    int vocab_size;   /* pieces of the model at most (fewer when the text has fewer; >= 8) */
    double coverage;  /* character coverage: the share of characters the pieces cover, (0, 1] */
    long sentences;   /* train on a sample of at most this many sentences (0: all of them) */
    unsigned seed;    /* of SentencePiece's random generator */
    int threads;      /* the trainer's threads (>= 1); part of what determines the model */
} spm_train_options;

/* The next training sentence: 1 with *text (not necessarily NUL-terminated) and *len set, valid
 * until the next call; 0 at the end; a negative status (with its message) on failure. */
typedef int (*spm_sentence_fn)(void *ctx, const char **text, size_t *len);

/* Trains a model on the sentences next() hands out; *model (malloc'ed, free()) and *size get
 * its serialized bytes. `what` names the training in messages ("data.h5: joint model").
 * S2S_EINVAL for bad options or text SentencePiece cannot train on; next()'s own status. */
int spm_train(const spm_train_options *o, spm_sentence_fn next, void *ctx, const char *what,
              unsigned char **model, size_t *size);

/* A loaded model. */
typedef struct spm_model spm_model;

/* Loads the serialized model bytes[0..n). S2S_EFORMAT "WHAT: not a SentencePiece model (...)"
 * for anything else. */
int spm_load(spm_model **m, const void *bytes, size_t n, const char *what);
void spm_free(spm_model *m); /* NULL is fine */

/* The pieces of text[0..len) (SentencePiece's normalization applied), NUL-separated into *buf
 * (grown as needed, *cap its size): *n pieces. A character the model does not know comes out
 * as itself (its surface), as SentencePiece's EncodeAsPieces gives it. */
int spm_encode(const spm_model *m, const char *text, size_t len, char **buf, size_t *cap,
               int *n);

/* The text of pieces[0..n), NUL-terminated into *buf (grown as needed): SentencePiece's
 * decoding (markers to spaces, the first one dropped); a piece the model does not know is
 * written as it is, with its markers as spaces. Returns the length, or S2S_ENOMEM. */
long spm_decode(const spm_model *m, const char *const *pieces, int n, char **buf, size_t *cap);

/* What a model is, from its bytes. */
typedef struct {
    int pieces;        /* in the model */
    const char *type;  /* "unigram", "bpe", "word", "char" (its trainer spec) */
    double coverage;   /* character coverage it was trained with */
} spm_info;

/* Loads bytes[0..n) to describe them (the errors of spm_load). */
int spm_describe(const void *bytes, size_t n, const char *what, spm_info *info);

/* The models of one dataset or checkpoint: bytes[0] the source side's, bytes[1] the target
 * side's, or n[1] == 0 when one joint model serves both sides; n[0] == 0: none. These two
 * helpers and the models' HDF5 group are src/data/spm_store.c's (include/s2s/spm_store.h). */
typedef struct {
    unsigned char *bytes[2];
    size_t n[2];
} spm_models;

void spm_models_free(spm_models *m); /* frees the bytes; safe on a zeroed struct */

/* The model of side 0 (source) or 1 (target): the joint model for either side when there is
 * one; *n 0 when m has none. */
const unsigned char *spm_models_side(const spm_models *m, int side, size_t *n);

/* Whether a and b hold the same model (byte for byte) for side 0 or 1, or both none. */
bool spm_models_same(const spm_models *a, const spm_models *b, int side);

#ifdef __cplusplus
}
#endif

#endif
