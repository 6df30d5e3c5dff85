/* dataset_internal.h - what the dataset writer (dataset_write.c) and reader (dataset_read.c)
 * share: the layout's chunk sizes, the names of the sides and objects, and the check of a
 * stored vocabulary, so that neither accepts what the other refuses. Private to src/data. */
#ifndef S2S_DATASET_INTERNAL_H
#define S2S_DATASET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s2s/tokens.h"
#include "s2s/vocab.h"

/* Sizes for reading sentences in random order, which is how training reads: each sentence
 * read decompresses the chunks it lies in, so chunks are small. Measured (HDF5 1.10.8, 2 million
 * generated grammar pairs, 21.5 tokens a pair, `s2s bench --data` reading rank 0's share for 8
 * ranks), pairs read per second / file size:
 *   chunk 16384 tokens, 32 MiB cache   4,300 / 49.1 MB
 *   chunk  4096 tokens, 32 MiB cache  13,500 / 50.7 MB
 *   chunk  1024 tokens, 32 MiB cache   5,300 / 54.7 MB
 *   chunk  1024 tokens,  1 MiB cache  25,300 / 54.7 MB
 *   chunk   512 tokens,  1 MiB cache  38,500 / 58.9 MB
 * Inflating dominates with large chunks; with many small chunks in a large cache, HDF5's own
 * cache bookkeeping does (a profile shows it in H5Dchunk.c, not in zlib). 1024 tokens with a
 * 1 MiB cache keeps the file within 12% of the most compact layout at 6x its read speed. */
enum {
    TOK_CHUNK = 1024,           /* elements per chunk of a token dataset (4 KiB) */
    OFF_CHUNK = 4096,           /* elements per chunk of an offsets dataset (32 KiB) */
    DEFLATE_LEVEL = 4,          /* most of level 9's ratio on token ids at a fraction of the time */
    SCAN_BLOCK = 1 << 18,       /* tokens per read when ds_open checks every id (1 MiB) */
    UNION_MAX = 16,             /* sentences per H5Dread in ds_read (measured there) */
    UNION_SPAN = 2 * TOK_CHUNK  /* tokens a union of sentences may stretch over (ds_read) */
};

extern const char *const ds_sides[2];      /* "src", "tgt": the names in the file */
extern const char *const ds_side_words[2]; /* "source", "target": the names in messages */

/* The index of side ("src" or "tgt"), or -1. */
int ds_side_index(const char *side);

/* A stored sentence holds <unk> and word ids only: <pad>, <s> and </s> are added by batching. */
static inline bool ds_storable_id(int32_t id)
{
    return id == TOK_UNK || id >= TOK_FIRST_WORD;
}

/* "/train/src_tokens" and the like: the object names of messages and of the file. */
void ds_object_name(char *buf, size_t n, int split, int side, const char *what);

/* Builds *v from the n tokens of side's vocabulary in path: the reserved tokens first, then every
 * entry checked as `s2s translate` checks a checkpoint's (vocab_append), so that a dataset that
 * trains gives a model that translates; the writer and the reader share it, so neither accepts
 * what the other refuses. A bad entry is `code`, naming the file, the object, the entry and the
 * problem. A NULL token counts as empty. */
int ds_vocab_check(const char *path, int side, const char *const *tokens, size_t n, int code,
                   vocab *v);

#endif
