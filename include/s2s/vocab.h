/* vocab.h - tokenizing text and mapping tokens to ids and back, as `s2s prep` made the dataset
 * and as `s2s translate` must repeat it.
 *
 * Tokenizers (docs/formats.md): whitespace-separated words (also for text segmented into
 * pieces beforehand), UTF-8 code points with each space written as U+2581, the marker
 * SentencePiece uses, or the pieces of a SentencePiece model (include/s2s/spm.h) that the
 * dataset and checkpoint carry. Optional ASCII lowercasing, before any of them. A vocabulary
 * lists token texts by id; ids 0..3 are the reserved tokens of include/s2s/tokens.h.
 *
 * With SentencePiece, s2s's vocabulary is built as for any tokenizer, from the pieces the
 * encoded training text holds (counted, cut by --min-freq and --max-vocab), and pieces map to
 * ids through it by their text. So the reserved ids 0..3 stay s2s's whatever ids the model
 * gives its own special pieces (SentencePiece's defaults put <unk> at 0), a model trained
 * elsewhere works unchanged, and a piece the training text never holds gets no embedding. */
#ifndef S2S_VOCAB_H
#define S2S_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/choice.h"
#include "s2s/spm.h"

/* Tokenizers (include/s2s/choice.h): tokenize. */
#define TOKENIZER_CHOICES(X)                                                                       \
    X(TOK_WHITESPACE, "whitespace") X(TOK_CHARS, "chars") X(TOK_SPM, "sentencepiece")
typedef enum { TOKENIZER_CHOICES(CHOICE_ENUM) TOKENIZER_COUNT } tokenizer_kind;
extern const char *const tokenizer_names[]; /* NULL-terminated, indexed by tokenizer_kind */

/* "<pad>", "<unk>", "<s>", "</s>" by id. */
extern const char *const vocab_reserved[4];

/* Why a line of n bytes cannot be read as text ("NUL byte", "invalid UTF-8"), or NULL. */
const char *text_line_problem(const char *s, size_t n);

/* Splits text[0..size) into lines in place (each '\n' and a '\r' before it become NUL; a last
 * line without '\n' counts, and needs text[size] writable) and checks each is valid UTF-8:
 * *lines is a malloc'ed array of *n pointers into text. `name` and `first`, the number of the
 * first line in its file, are for messages ("FILE:LINE: invalid UTF-8", "FILE:LINE: NUL
 * byte"). */
int text_lines(char *text, size_t size, const char *name, long first, char ***lines, int *n);

/* ---- tokens of one line ---- */
typedef struct {
    char **tok; /* [n]: into the line or into buf */
    int n, cap;
    char *buf;  /* character tokens, NUL-separated */
    size_t buf_cap;
} token_list;

void tokens_free(token_list *t); /* safe on a zeroed list */

/* Lowercases the ASCII letters A-Z of s in place (--lowercase: before any tokenizer, and before
 * SentencePiece training). */
void text_lowercase(char *s);

/* Splits a line (modified in place: lowercased, cut at token ends) into t; spm is the model of
 * TOK_SPM (S2S_EINVAL without one), unused by the others. */
int tokenize(tokenizer_kind kind, bool lowercase, const spm_model *spm, char *line,
             token_list *t);

/* ---- vocabularies ---- */
typedef struct {
    char *key;
    long count;
    int id; /* -1 until the vocabulary is built */
} vocab_entry;

typedef struct {
    vocab_entry *e;
    size_t cap, n;
} vocab_map; /* open addressing on the token text */

typedef struct vocab {
    vocab_map map; /* token -> count, id */
    char **by_id;  /* [size]: the map's keys */
    int size;
} vocab;

void vocab_free(vocab *v); /* safe on a zeroed vocabulary */

/* Adds `count` to the count of key (inserting it with id -1); NULL when out of memory. */
vocab_entry *vocab_count(vocab *v, const char *key, long count);

/* Ids from the counts: the reserved tokens, then tokens seen at least min_freq times by
 * decreasing count (ties by text), at most max_vocab in all (0: no limit). */
int vocab_build(vocab *v, int min_freq, int max_vocab);

/* Appends `text` as the next id. The first four must be the reserved tokens; tokens must be
 * non-empty, valid UTF-8, free of whitespace (no tokenizer makes such a token) and distinct.
 * `where` names the source in messages ("FILE:LINE", "DATA.h5: /vocab/src: entry 7 of the
 * source vocabulary"). The one check of a vocabulary: prep's --src-vocab files, dataset files
 * and checkpoints all go through it. */
int vocab_append(vocab *v, const char *text, const char *where);

/* A vocabulary file: one token per line, line i is id i, the first four the reserved tokens. */
int vocab_load(vocab *v, const char *path);

/* The id of a token: its id, or <unk> for unknown words, words below the frequency cut, and
 * reserved tokens met in the text (a literal "<s>" is not a sentence boundary). */
int32_t vocab_id(const vocab *v, const char *tok);

/* ---- back to text ---- */
/* Detokenizers (include/s2s/choice.h): space joins the tokens with one space; pieces
 * concatenates them, turns U+2581 into spaces (characters and SentencePiece pieces) and drops
 * leading and trailing spaces; sentencepiece decodes them with the model (spm_decode). */
#define DETOK_CHOICES(X)                                                                           \
    X(DETOK_SPACE, "space") X(DETOK_PIECES, "pieces") X(DETOK_SPM, "sentencepiece")
typedef enum { DETOK_CHOICES(CHOICE_ENUM) DETOK_COUNT } detok_kind;

extern const char *const detok_names[]; /* NULL-terminated, indexed by detok_kind */

/* The detokenizer that undoes the tokenizer for this target vocabulary: SPM for SentencePiece
 * tokens; PIECES for character tokens, or for whitespace tokens when the vocabulary carries
 * SentencePiece's markers (vocab_marked); SPACE otherwise. */
detok_kind detok_guess(tokenizer_kind kind, const vocab *tgt);

/* Whether most words of v (over half the non-reserved entries) begin with SentencePiece's
 * U+2581 marker: a vocabulary of pieces. */
bool vocab_marked(const vocab *v);

/* Whether a token begins with U+2581. */
bool token_marked(const char *tok);

/* Writes the tokens as text into *buf (grown as needed, NUL-terminated); returns the length
 * or a negative status (S2S_ENOMEM; S2S_EINVAL for DETOK_SPM without spm, the model of the
 * tokens' side). */
long detokenize(detok_kind kind, const spm_model *spm, const char *const *tok, int n, char **buf,
                size_t *cap);

#endif
