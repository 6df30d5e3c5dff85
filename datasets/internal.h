/* internal.h - what the task files of datasets/ share (draw.c): building a line of words, and
 * the held-out rule that assigns content to a split and redraws examples until they fit it; and
 * each task family's entry points, which gen.c dispatches to. */
#ifndef S2S_DATASETS_INTERNAL_H
#define S2S_DATASETS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/gen.h"
#include "s2s/rng.h"

/* A line of words in a caller's buffer; `full` once something did not fit, so a task can
 * append without checking and report S2S_ERANGE once at the end. */
typedef struct {
    char *buf;
    size_t size, len;
    bool full;
} text_line;

void line_init(text_line *l, char *buf, size_t size);
void line_word(text_line *l, const char *word); /* a space first unless the line is empty */

/* FNV-1a over bytes, continuing from h (start with FNV_OFFSET): a stable content hash. */
#define FNV_OFFSET 2166136261u
uint32_t fnv1a(uint32_t h, const void *p, size_t n);

/* The split that content with hash h belongs to: train for 9 in 10 hashes, the rest valid or
 * test by the next decimal digit's parity. */
bool split_holds(int split, uint32_t hash);


/* Draws one candidate example from s into ctx and returns its content hash. */
typedef uint32_t (*draw_fn)(void *ctx, rng_stream *s);

/* Draws from the streams (seed, RNG_SYNTH, key, index, attempt) for attempt = 0, 1, ... until
 * the candidate belongs to `split`; ctx then holds it. After DRAW_ATTEMPTS misses ctx holds the
 * last candidate and the result is S2S_ERANGE, with a message naming `task` (a space too small
 * to have sources of every split would loop forever). */
enum { DRAW_ATTEMPTS = 1001 };
int draw_for_split(const char *task, uint32_t seed, uint32_t key, int split, uint32_t index,
                   draw_fn draw, void *ctx);

/* Stream keys (the `a` of RNG_SYNTH) per task family: a split number plus a base, so tasks
 * never share streams. Sequence tasks use the bare split (the keys the symbol tasks have always
 * drawn from, so that a seed's corpus stays what it was). */
enum { KEY_SEQUENCE = 0, KEY_NUMBERS = 0x100, KEY_GRAMMAR = 0x200 };

/* Longest sequence of the sequence tasks in `s2s gen` (a stack buffer holds one). */
enum { SEQ_MAX_LEN = 1000 };

/* gen_check for copy, reverse and sort: the alphabet and length ranges, max_len at most
 * SEQ_MAX_LEN. */
int sequence_check(const gen_task *t);

/* Example `index` of `split` of each task family, the source side (before --reverse) into src
 * and the target into tgt; 0 or a negative status. */
int sequence_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt);
int numbers_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt);
int grammar_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt);

#endif
