/* synth.h - the symbol-sequence tasks (copy, reverse, sort) as token ids, for training on the
 * fly (src/app/train.c). Implemented in datasets/sequence.c, which also writes the same tasks
 * as text for `s2s gen` (gen.h): the training examples of a seed are the same either way.
 *
 * An example is a pure function of (seed, split, index): its length and symbols come from the
 * Philox stream (seed, RNG_SYNTH, split, index, attempt). Held-out examples are kept apart by
 * content, not by index: a source sequence belongs to the held-out split when a hash of it falls
 * in one tenth of the hash space, and training examples are redrawn until they do not, so no
 * held-out sentence is ever trained on. (`s2s gen` divides that tenth into valid and test.) */
#ifndef S2S_SYNTH_H
#define S2S_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TASK_COPY = 0, TASK_REVERSE = 1, TASK_SORT = 2 } synth_kind;

const char *synth_name(synth_kind kind);
int synth_parse(const char *name, synth_kind *out); /* 0, or S2S_EINVAL naming the task */

typedef struct {
    synth_kind kind;
    int symbols;          /* alphabet size, 1..1000 */
    int min_len, max_len; /* source lengths, inclusive */
    uint32_t seed;
} synth_task;

int synth_check(const synth_task *task); /* S2S_EINVAL with a message on bad settings */

/* Vocabulary size on both sides: the reserved ids plus the symbols. */
int synth_vocab(const synth_task *task);

enum { SYNTH_TRAIN = 0, SYNTH_HELDOUT = 1 };

/* Example `index` of `split`: src[0..*src_len) and tgt[0..*tgt_len), token ids; both arrays
 * must hold task->max_len ids. */
void synth_example(const synth_task *task, int split, uint32_t index, int *src, int *src_len,
                   int *tgt, int *tgt_len);

/* Text of a token: symbols are "a".."z" for alphabets up to 26, else "w0", "w1", ...;
 * reserved ids print as <pad>, <unk>, <s>, </s>. */
void synth_token_text(const synth_task *task, int id, char *buf, size_t size);

#endif
