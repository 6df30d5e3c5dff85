/* dataset.h - tokenized parallel corpora in HDF5 files, as `s2s prep` writes them and training
 * reads them.
 *
 * A dataset holds a source and a target vocabulary and three splits (train, valid, test) of
 * sentence pairs as token ids; the layout (schema version 1), readable with h5py, is in
 * docs/formats.md ("Dataset files"). Token ids are those of include/s2s/tokens.h: a stored
 * sentence holds word ids (4 .. vocabulary size - 1) and <unk> (1) only, never <pad>, <s> or
 * </s>, and has at least one token.
 *
 * Writing streams: memory stays bounded (a chunk per split and side) whatever the corpus size,
 * and the file appears at its path complete or not at all (built under a temporary name beside
 * it, renamed at dsw_close). Reading validates the whole file at ds_open, keeps every
 * sentence's offsets in memory (16 bytes a pair) and reads tokens on demand. */
#ifndef S2S_DATASET_H
#define S2S_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "s2s/formats.h"
#include "s2s/spm.h"

struct vocab; /* include/s2s/vocab.h */

/* split_names[s] (also the group names in the file); "?" for anything else. */
const char *split_name(split_id s);

/* ---- writing -------------------------------------------------------------------------------- */

typedef struct ds_writer ds_writer; /* opaque */

/* Starts a dataset that dsw_close commits to path (an existing file there is replaced then, and
 * untouched until then). S2S_EIO if the temporary file cannot be created. */
int dsw_open(ds_writer **w, const char *path);

/* Appends one sentence pair to split. Lengths >= 1 (S2S_EINVAL); every id must be <unk> (1) or a
 * word id (>= 4) (S2S_ERANGE); ids are checked against the vocabulary sizes at dsw_close.
 * Splits may be added to in any order, interleaved. A failure to write (S2S_EIO) makes every
 * later call and dsw_close fail with the same message. */
int dsw_add(ds_writer *w, split_id split, const int32_t *src, int src_len, const int32_t *tgt,
            int tgt_len);

/* Sets the vocabulary of side "src" or "tgt", once: tokens[i] is the token of id i; n >= 5 and
 * tokens 0..3 must be exactly <pad> <unk> <s> </s> (S2S_EINVAL otherwise). */
int dsw_set_vocab(ds_writer *w, const char *side, const char *const *tokens, int n);

/* Sets the SentencePiece models of the dataset (/spm, include/s2s/spm_store.h), once; m's bytes
 * are copied. S2S_EINVAL for a target model without a source one, or a second call. */
int dsw_set_spm(ds_writer *w, const spm_models *m);

/* Sets the string attribute key of the root group (replacing an earlier value). The key is
 * non-empty, without '/', and not "format" or "version" (S2S_EINVAL). */
int dsw_set_attr(ds_writer *w, const char *key, const char *value);

/* Validates (both vocabularies set, every id < its vocabulary's size, a non-empty training
 * split), flushes, closes every HDF5 handle, fsyncs, renames the temporary file into place and
 * fsyncs the directory. Frees w either way; on failure the temporary file is removed and
 * nothing appears at path. */
int dsw_close(ds_writer *w);

/* Discards everything written: removes the temporary file and frees w. NULL-safe. */
void dsw_abort(ds_writer *w);

/* The most tokens a side of a stored sentence may have: the writer refuses more and the reader
 * refuses files with more (training and decoding allocate per batch the longest sentence times
 * the batch; 65536 is 64 times the 1k-token sentences of real corpora). */
#define DS_SENTENCE_MAX (1 << 16)

/* ---- reading -------------------------------------------------------------------------------- */

typedef struct dataset dataset; /* opaque */

/* The reader's limits a user may legitimately exceed (the others are in docs/formats.md,
 * "Limits"); zero-initialized means the defaults. */
typedef struct {
    /* Accept a vocabulary of more than 65536 entries with more words than the dataset has
     * tokens (both sides, all splits), e.g. a reused vocabulary file on a small corpus. */
    bool large_vocab;
} ds_limits;

/* Opens path read-only and validates all of it: format and version, every group, dataset, type
 * and rank, the offsets, every token id (read in blocks), a non-empty training split. Before
 * anything is allocated or inflated, every dataset's storage is checked (h5limits.h: chunk
 * sizes, filters, declared against stored bytes), the vocabulary sizes against the file's size,
 * an absolute bound and the token counts, the sentence counts against the token counts; sentence
 * lengths are bounded. lim NULL: the defaults. S2S_EIO: the file is missing or unreadable.
 * S2S_ESTOPPED: a stop signal (stop.h) arrived while it was read ("PATH: reading OBJ: stopped
 * by SIGTERM"). S2S_EFORMAT: anything else, with one message that names the file, the HDF5
 * object and the problem (and, for a limit, the value and the bound). */
int ds_open_with(dataset **d, const char *path, const ds_limits *lim);

/* ds_open_with the limits of the last ds_set_limits (the defaults before any): for commands,
 * whose main sets them once from the options before anything is read. */
int ds_open(dataset **d, const char *path);
void ds_set_limits(const ds_limits *lim); /* NULL: the defaults */
void ds_close(dataset *d); /* NULL-safe */

/* Sentence pairs in split. */
long ds_count(const dataset *d, split_id split);

/* Size of the vocabulary of side "src" or "tgt" (reserved tokens included); S2S_EINVAL for
 * another side. */
int ds_vocab_size(const dataset *d, const char *side);

/* The vocabulary of side "src" or "tgt" (NULL for another side). Valid until ds_close. */
const struct vocab *ds_vocab(const dataset *d, const char *side);

/* The token of id on side "src" or "tgt"; NULL if side or id is out of range. Valid until
 * ds_close. */
const char *ds_token(const dataset *d, const char *side, int id);

/* Token counts of every sentence of split: src_len[i], tgt_len[i] for i < ds_count. */
int ds_lengths(dataset *d, split_id split, int *src_len, int *tgt_len);

/* Reads the sentences ids[0..n) of split (any order, repeats allowed): sentence ids[i]'s source
 * tokens go to src + i*max_len and its length to src_len[i], likewise for the target; the rest
 * of each row is untouched. S2S_ERANGE if an id is outside the split or a sentence is longer
 * than max_len (nothing useful is then in the buffers); S2S_EIO if reading fails. */
int ds_read(dataset *d, split_id split, const long *ids, int n, int max_len, int32_t *src,
            int *src_len, int32_t *tgt, int *tgt_len);

/* The string attribute key of the root group, or NULL. Valid until ds_close. */
const char *ds_attr(const dataset *d, const char *key);

/* The value of option `name` in the options `s2s prep` stored (the attribute "options", lines
 * "name = value"), into buf[size]; NULL when the dataset has no such option (a dataset written
 * by another tool, or by an older prep). */
const char *ds_option(const dataset *d, const char *name, char *buf, size_t size);

/* The dataset's SentencePiece models (/spm; none: both sizes 0). Valid until ds_close. */
const spm_models *ds_spm(const dataset *d);

#endif
