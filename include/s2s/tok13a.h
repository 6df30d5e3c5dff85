/* tok13a.h - the text machinery that the BLEU and chrF metrics share, written to reproduce
 * sacreBLEU 2.x byte for byte: its "13a" tokenizer (mteval-v13a), whitespace splitting as
 * Python's str.split(), UTF-8 decoding, and exact clipped n-gram counting.
 *
 * Text is UTF-8. sacreBLEU works on Python strings (code points); everything here gives the
 * same result on the bytes: the 13a rules only ever match ASCII characters, and a multi-byte
 * character is "not a digit, not punctuation" in every one of its bytes. Whitespace is
 * Python's (str.isspace: ASCII \t \n \v \f \r, 0x1C-0x1F and space, plus U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), so a no-break space
 * separates tokens as it does in sacreBLEU. Invalid UTF-8 bytes, which a Python string cannot
 * hold, are kept as they are and count as one non-space character each.
 *
 * Both objects here keep their buffers between calls: after the longest sentence has been
 * seen once (the warm-up), tokenizing and counting allocate nothing, and every step is linear
 * in the length of the sentence. */
#ifndef S2S_TOK13A_H
#define S2S_TOK13A_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- tokens ---- */

/* The tokens of one sentence: tok[i] is a NUL-terminated copy of token i, len[i] its length in
 * bytes; all point into one buffer owned by the object, valid until its next use. */
typedef struct {
    size_t n;         /* number of tokens */
    const char **tok; /* tok[0..n) */
    size_t *len;      /* len[0..n) */
    /* private: the buffers kept from call to call */
    char *out, *work_a, *work_b;
    size_t out_cap, a_cap, b_cap, tok_cap;
} tok13a_tokens;

void tok13a_tokens_init(tok13a_tokens *t);
void tok13a_tokens_free(tok13a_tokens *t); /* and back to the initial state */

/* sacreBLEU's Tokenizer13a on text[0..n) (NUL bytes included, if any), in its order:
 *   1. "<skipped>" removed, then "-\n" removed (joins a word split over two lines), then each
 *      "\n" becomes a space; then "&quot;" "&amp;" "&lt;" "&gt;" become " & < >, one after the
 *      other (so "&amp;lt;" ends as "<", as in sacreBLEU);
 *   2. the line padded with a space on each side, then mteval-v13a's four regular expressions:
 *      each of { | } ~ [ \ ] ^ _ ` ! " # $ % & ( ) * + : ; < = > ? @ / becomes a token;
 *      "." and "," are split off unless preceded by a digit, and split off unless followed by
 *      a digit (so "1,000.5" stays whole but "3.14." gives "3.14" "."); "-" is split off when
 *      preceded by a digit ("5-3" gives "5" "-" "3", "e-mail" stays whole); the apostrophe
 *      is never split;
 *   3. split on whitespace.
 * Note that sacreBLEU's BLEU strips trailing whitespace before tokenizing (bleu_add does the
 * same); this function does not, as Tokenizer13a itself does not. S2S_ENOMEM on failure. */
int tok13a_tokenize(tok13a_tokens *t, const char *text, size_t n);

/* text[0..n) split on whitespace, as Python's str.split() with no argument: sacreBLEU's "none"
 * tokenizer. S2S_ENOMEM on failure. */
int tok13a_split(tok13a_tokens *t, const char *text, size_t n);

/* ---- characters ---- */

/* Python's str.isspace() for one code point. */
bool tok13a_is_space(uint32_t cp);

/* Decodes the character at s[0..n) (n >= 1) into *cp and returns its length in bytes (1 to 4).
 * A byte that does not start a valid, shortest-form UTF-8 sequence of a scalar value
 * (utf8_decode, include/s2s/utf8.h) decodes alone, as 0xDC00 + byte (Python's "surrogateescape" code points, never a real character), so
 * every byte string decodes and distinct bytes stay distinct. */
size_t tok13a_utf8_next(const char *s, size_t n, uint32_t *cp);

/* ---- n-gram counting ---- */

/* Exact clipped n-gram counts between one hypothesis and its references. The sequences of a
 * sentence (the hypothesis first, then each reference) are given symbol by symbol: strings
 * (word tokens, compared byte for byte) or 32-bit values (code points). Then for n = 1, 2, ...
 * in turn, tok13a_ngrams_order(g, n) gives every n-gram a dense id - two n-grams share an id
 * exactly when their symbols are equal, no hashing shortcut that could collide - and
 * tok13a_ngrams_match counts the clipped matches. A sentence holds at most 2^32 - 2 symbols. */
typedef struct {
    int nseq;  /* sequences of the current sentence */
    int order; /* n of the current ids (0: none computed yet) */
    /* private */
    uint32_t *sym, *id; /* symbols as pushed, and the ids of the current order, per position */
    size_t npos, pos_cap;
    size_t *start; /* sequence s >= 1 begins at position start[s - 1] */
    size_t start_cap;
    uint64_t *keys; /* open-addressing table: key -> dense id */
    uint32_t *vals;
    size_t tab_cap, tab_used; /* allocated; in use for the current sentence */
    uint32_t nids;
    uint32_t *cnt_h, *cnt_r, *cnt_max; /* all zero between calls */
    size_t cnt_cap;
    char *arena; /* interned strings */
    size_t arena_len, arena_cap;
    uint32_t *str_off, *str_len, *str_hash; /* per string id */
    size_t nstr, str_cap;
    uint32_t *str_tab; /* open-addressing table of string ids + 1 (0: empty) */
    size_t str_tab_cap, str_tab_used;
} tok13a_ngrams;

void tok13a_ngrams_init(tok13a_ngrams *g);
void tok13a_ngrams_free(tok13a_ngrams *g);

/* Starts a new sentence with an empty first sequence. */
void tok13a_ngrams_begin(tok13a_ngrams *g);
/* Ends the current sequence and starts the next one (empty). */
int tok13a_ngrams_next_seq(tok13a_ngrams *g);
/* Appends a string symbol s[0..len) / a numeric symbol to the current sequence. Do not mix the
 * two kinds in one sentence (a string's symbol is its intern id, which could equal a number).
 * S2S_ENOMEM, or S2S_ERANGE past 2^32 - 2 symbols. */
int tok13a_ngrams_push_str(tok13a_ngrams *g, const char *s, size_t len);
int tok13a_ngrams_push(tok13a_ngrams *g, uint32_t sym);

/* Computes the ids of the n-grams of order n; call with n = 1, 2, 3, ... after the last push
 * (n must be 1 or order + 1). S2S_EINVAL otherwise, S2S_ENOMEM. */
int tok13a_ngrams_order(tok13a_ngrams *g, int n);

/* Number of symbols of sequence s; number of n-grams of the current order in it (0 when the
 * sequence is shorter than n). */
size_t tok13a_ngrams_seq_len(const tok13a_ngrams *g, int s);
size_t tok13a_ngrams_count(const tok13a_ngrams *g, int s);

/* Sum over the distinct n-grams of sequence hyp of min(count in hyp, max over the sequences
 * ref0 .. ref0 + nref - 1 of the count there): BLEU's clipped matches against several
 * references, and with nref = 1 chrF's matches against one. */
size_t tok13a_ngrams_match(tok13a_ngrams *g, int hyp, int ref0, int nref);

#endif
