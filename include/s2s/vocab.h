/* vocab.h - tokenizing text and mapping tokens to ids and back, as `s2s prep` made the dataset
 * and as `s2s translate` must repeat it.
 *
 * Tokenizers (docs/formats.md): whitespace-separated words (also for SentencePiece pieces made
 * by spm_encode), or UTF-8 code points with each space written as U+2581, the marker
 * SentencePiece uses. Optional ASCII lowercasing. A vocabulary lists token texts by id; ids
 * 0..3 are the reserved tokens of include/s2s/tokens.h. */
#ifndef S2S_VOCAB_H
#define S2S_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/choice.h"

/* Tokenizers (include/s2s/choice.h): tokenize. */
#define TOKENIZER_CHOICES(X) X(TOK_WHITESPACE, "whitespace") X(TOK_CHARS, "chars")
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

/* Splits a line (modified in place: lowercased, cut at token ends) into t. */
int tokenize(tokenizer_kind kind, bool lowercase, char *line, token_list *t);

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

typedef struct {
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
 * leading and trailing spaces. */
#define DETOK_CHOICES(X) X(DETOK_SPACE, "space") X(DETOK_PIECES, "pieces")
typedef enum { DETOK_CHOICES(CHOICE_ENUM) DETOK_COUNT } detok_kind;

/* The detokenizer that undoes the tokenizer for this target vocabulary: PIECES for character
 * tokens, or for whitespace tokens when most words (over half the non-reserved entries) carry
 * SentencePiece's U+2581 marker; SPACE otherwise. */
detok_kind detok_guess(tokenizer_kind kind, const vocab *tgt);

/* Writes the tokens as text into *buf (grown as needed, NUL-terminated); returns the length
 * or S2S_ENOMEM. */
long detokenize(detok_kind kind, const char *const *tok, int n, char **buf, size_t *cap);

#endif
