/* gen.h - deterministic synthetic translation tasks as parallel text (`s2s gen`, datasets/).
 *
 * Tasks: copy, reverse and sort over symbol sequences;
 * numbers, English number words to space-separated digits; grammar, English-like SVO
 * sentences to a made-up SOV language (datasets/README.md documents each mapping).
 *
 * An example is a pure function of (seed, split, index). Held-out data is kept apart by
 * content: a hash of the example's content (the source before any --reverse)
 * puts it in train (9 in 10 hashes), valid or test (1 in 20 each), and an example is redrawn
 * until its content belongs to its split, so the three splits never share a source sentence.
 * (Numbers below 1,000 are too few to hold out and are all training data.) */
#ifndef S2S_GEN_H
#define S2S_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s2s/formats.h"

/* The tasks (include/s2s/choice.h); a new one also needs its generator and a row of gen.c's
 * text functions. Splits are the corpus splits of formats.h. */
#define GEN_CHOICES(X)                                                                             \
    X(GEN_COPY, "copy") X(GEN_REVERSE, "reverse") X(GEN_SORT, "sort")                              \
    X(GEN_NUMBERS, "numbers") X(GEN_GRAMMAR, "grammar")
typedef enum { GEN_CHOICES(CHOICE_ENUM) GEN_N_KINDS } gen_kind;
extern const char *const gen_task_names[]; /* NULL-terminated, indexed by gen_kind */

typedef struct {
    gen_kind kind;
    int symbols, min_len, max_len; /* sequence tasks only: alphabet, source lengths */
    bool reverse;                  /* swap the sides: digits to words, target to English */
    uint32_t seed;
} gen_task;

/* 0, or S2S_EINVAL naming the task and the ones that exist. */
int gen_parse_task(const char *name, gen_kind *out);

/* S2S_EINVAL with a message on settings the task cannot use. */
int gen_check(const gen_task *t);

/* Example `index` (below 2^32) of `split` as two lines of text without newlines: words
 * separated by single spaces, NUL-terminated. S2S_ERANGE if a line does not fit its buffer
 * or the task has too few distinct sources to fill the split. */
int gen_example(const gen_task *t, int split, uint64_t index, char *src, size_t src_size, char *tgt,
                size_t tgt_size);

/* Writes PREFIX.{train,valid,test}.{src,tgt} with n_train, n_valid and n_test lines, in
 * constant memory. Each file is written beside its final name and renamed into place once
 * all six are complete; on failure none is replaced and no temporary file is left. */
int gen_write(const gen_task *t, const char *prefix, long n_train, long n_valid, long n_test);

/* The number task's two sides for n <= 999,999,999: "three hundred forty two" and "3 4 2".
 * S2S_ERANGE if n is too large or the text does not fit. */
int gen_number_words(uint32_t n, char *buf, size_t size);
int gen_number_digits(uint32_t n, char *buf, size_t size);

/* The grammar task's lexicon, one table per word class. */
typedef enum {
    GEN_LEX_DET,     /* determiners: src[] by number ("a" / "some"), one target word */
    GEN_LEX_NOUN,    /* src[] singular / plural; one target word (plural is a marker) */
    GEN_LEX_ADJ,     /* one form on each side */
    GEN_LEX_VERB,    /* transitive; src[] "sees" / "see", tgt[] singular / plural subject */
    GEN_LEX_INTRANS, /* intransitive verbs, forms as GEN_LEX_VERB */
    GEN_LEX_PREP,    /* English preposition, target postposition */
    GEN_LEX_MARK,    /* target function words: src[0] the English word or NULL */
    GEN_LEX_N_CLASSES
} gen_lex_class;

typedef struct {
    const char *src[2]; /* forms for a singular and a plural (subject); equal where number does
                           not show */
    const char *tgt[2];
} gen_lex_entry;

/* The entries of one class; *n gets their number. */
const gen_lex_entry *gen_lexicon(gen_lex_class cls, int *n);

/* The target function words, each also an entry of GEN_LEX_MARK. */
#define GEN_MARK_PLURAL "ri"   /* after a plural noun and its adjectives */
#define GEN_MARK_OBJECT "wo"   /* after the object noun phrase */
#define GEN_MARK_RELATIVE "ji" /* ends a relative clause, which precedes its noun ("that") */

/* Shortest and longest grammar source sentence, in words ("a dog sees the cat"; grammar.c). */
enum { GEN_GRAMMAR_MIN_WORDS = 5, GEN_GRAMMAR_MAX_WORDS = 29 };

/* `s2s gen`: argv without the program and command names; the summary line goes to `log`. */
int gen_command(int argc, char **argv, FILE *log);

#endif
