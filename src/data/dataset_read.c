/* dataset_read.c - reading a dataset file (ds_open .. ds_close, include/s2s/dataset.h):
 * everything checked at ds_open (the tokens in blocks), the offsets kept in memory, and the
 * tokens of the sentences asked for read on demand, several sentences per HDF5 read. */
#include "s2s/dataset.h"

#include <hdf5.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/h5limits.h"
#include "s2s/h5util.h"
#include "s2s/spm_store.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/tokens.h"
#include "s2s/vocab.h"

#include "dataset_internal.h"

/* Chunk cache of each token dataset while reading: 256 chunks, so that sentences read in file
 * order (evaluation) inflate each chunk once; the slot count is a prime ~100x that, as HDF5
 * advises. */
#define READ_CACHE_BYTES ((size_t)1 << 20)
#define READ_CACHE_SLOTS 25013

/* The reader's bounds, checked before the memory they bound is allocated (docs/formats.md,
 * "Limits", says why each is what it is):
 *  - DS_VOCAB_MAX entries per vocabulary: s2s bench's own --src-vocab bound; an embedding of
 *    that many rows is 4 GiB at 64 dimensions.
 *  - DS_VOCAB_ENTRY_BYTES bytes of file per entry: every entry must be a non-empty string, and
 *    a non-empty variable-length string is an object of the HDF5 global heap, whose header
 *    alone is 16 bytes; so a vocabulary of n entries in a file smaller than 16 n bytes is
 *    impossible, and is refused before its n pointers are allocated.
 *  - DS_VOCAB_FREE: a vocabulary up to this size is accepted whatever the dataset's size; a
 *    larger one needs at least as many tokens (both sides, all splits) as it has entries,
 *    unless ds_limits.large_vocab: more words than tokens means most can never be seen, which
 *    a vocabulary built from the data never has, but a reused vocabulary file on a small
 *    corpus may.
 *  - DS_SENTENCE_MAX tokens per sentence: training and decoding allocate per batch the longest
 *    sentence times the batch; 65536 is 64 times the 1k-token sentences of real corpora. */
#define DS_VOCAB_MAX (1 << 24)
#define DS_VOCAB_ENTRY_BYTES 16
#define DS_VOCAB_FREE (1 << 16)

typedef struct {
    long n;            /* sentence pairs */
    int64_t *off[2];   /* [n + 1] offsets of each side */
    hid_t tok[2];      /* token datasets, with the read chunk cache */
    hsize_t ntok[2];   /* tokens of each side (the token datasets' lengths) */
} split_data;

/* A requested sentence and its place in ds_read's arguments. */
typedef struct {
    long id;
    int idx;
} pick;

struct dataset {
    char *path;
    hid_t file;
    h5l_budget budget; /* the file's size and the storage its datasets claim */
    ds_limits lim;
    split_data split[SPLIT_COUNT];
    hsize_t vocab_len[2]; /* entries of each vocabulary dataset, checked before reading */
    int vocab_n[2];
    vocab voc[2];      /* from ds_vocab_check */
    spm_models spm;    /* /spm; none: sizes 0 */
    int nattrs;
    char **attr_key, **attr_value;
    /* ds_read's scratch, grown as needed. */
    int32_t *buf;
    size_t buf_cap;
    pick *picks;
    int picks_cap;
};

/* What ds_open applies: the defaults until ds_set_limits. */
static ds_limits process_limits;

void ds_set_limits(const ds_limits *lim)
{
    process_limits = lim ? *lim : (ds_limits){0};
}

void ds_close(dataset *d)
{
    if (!d)
        return;
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (int side = 0; side < 2; side++) {
            if (d->split[s].tok[side] >= 0)
                H5Dclose(d->split[s].tok[side]);
            free(d->split[s].off[side]);
        }
    if (d->file >= 0)
        H5Fclose(d->file);
    for (int side = 0; side < 2; side++)
        vocab_free(&d->voc[side]);
    spm_models_free(&d->spm);
    for (int i = 0; i < d->nattrs; i++) {
        free(d->attr_key[i]);
        free(d->attr_value[i]);
    }
    free(d->attr_key);
    free(d->attr_value);
    free(d->buf);
    free(d->picks);
    free(d->path);
    free(d);
}

/* S2S_ESTOPPED "PATH: reading OBJ: stopped by SIGTERM" once a stop signal has arrived: the
 * loops that read a dataset in blocks ask between blocks. */
static int check_stop(const dataset *d, const char *obj)
{
    if (!stop_requested())
        return 0;
    char what[1200];
    snprintf(what, sizeof what, "%s: reading %s", d->path, obj);
    return stop_fail(what);
}

/* 0 if every link on the way to obj ("/train/src_tokens") exists; otherwise S2S_EFORMAT naming
 * the first missing one (H5Lexists cannot look through a missing group). */
static int need(const dataset *d, const char *obj)
{
    char prefix[64];
    for (const char *p = strchr(obj + 1, '/');; p = strchr(p + 1, '/')) {
        int len = p ? (int)(p - obj) : (int)strlen(obj);
        snprintf(prefix, sizeof prefix, "%.*s", len, obj);
        if (H5Lexists(d->file, prefix, H5P_DEFAULT) <= 0)
            return s2s_fail(S2S_EFORMAT, "%s: %s: missing", d->path, prefix);
        if (!p)
            return 0;
    }
}

/* Opens obj as a 1-D dataset of class cls: its id (closed by the caller), length and elements
 * per chunk (0: not chunked; chunk may be NULL), after h5l_check_storage, which also adds its
 * storage to the file's budget when `claim` (once per dataset: a reopened one is not). */
static int open_vector(dataset *d, const char *obj, H5T_class_t cls, hid_t dapl, bool claim,
                       hid_t *dset, hsize_t *len, unsigned long long *chunk)
{
    hid_t type = -1, space = -1;
    int rc = need(d, obj);
    if (rc < 0)
        return rc;
    if ((*dset = H5Dopen2(d->file, obj, dapl)) < 0)
        return h5u_fail(S2S_EFORMAT, "%s: %s: not a readable dataset", d->path, obj);
    int ndims = -1;
    if ((type = H5Dget_type(*dset)) < 0 || (space = H5Dget_space(*dset)) < 0 ||
        (ndims = H5Sget_simple_extent_ndims(space)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its type and shape", d->path, obj);
        goto done;
    }
    if (H5Tget_class(type) != cls) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: not %s dataset", d->path, obj,
                      cls == H5T_STRING ? "a string" : "an integer");
        goto done;
    }
    if (ndims != 1) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: %d dimensions, expected 1", d->path, obj, ndims);
        goto done;
    }
    H5Sget_simple_extent_dims(space, len, NULL);
    rc = h5l_check_storage(*dset, d->path, obj, claim ? &d->budget : NULL, chunk);
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (rc < 0) {
        H5Dclose(*dset);
        *dset = -1;
    }
    return rc;
}

/* Reads elements [start, start + n) of the 1-D dataset dset into buf as mem_type. */
static herr_t read_range(hid_t dset, hid_t mem_type, hsize_t start, hsize_t n, void *buf)
{
    hid_t fspace = -1, mspace = -1;
    herr_t st = -1;
    if ((fspace = H5Dget_space(dset)) >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &n, NULL) >= 0 &&
        (mspace = H5Screate_simple(1, &n, NULL)) >= 0)
        st = H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

/* Elements per read of a dataset read in blocks of about `block` elements: whole chunks, so
 * that each chunk is inflated once by a handle without a chunk cache (a chunk larger than the
 * block is read whole). */
static hsize_t block_elems(hsize_t block, unsigned long long chunk)
{
    if (chunk == 0)
        return block;
    if (chunk >= block)
        return (hsize_t)chunk;
    return block - block % (hsize_t)chunk;
}

/* The size of side's vocabulary, from the dataset's extent, against the bounds above (all but
 * the one that needs the token counts, see check_vocab_use), before anything of it is read. */
static int vocab_extent(dataset *d, int side)
{
    char obj[32];
    hid_t dset = -1, ftype = -1;
    hsize_t n = 0;
    snprintf(obj, sizeof obj, "/vocab/%s", ds_sides[side]);
    int rc = open_vector(d, obj, H5T_STRING, H5P_DEFAULT, true, &dset, &n, NULL);
    if (rc < 0)
        return rc;
    if ((ftype = H5Dget_type(dset)) < 0 || H5Tis_variable_str(ftype) <= 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: not a dataset of variable-length strings", d->path,
                      obj);
        goto done;
    }
    if (n < TOK_FIRST_WORD + 1 || n > DS_VOCAB_MAX) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: %llu tokens, expected at least %d (the %d reserved "
                      "ones and a word) and at most %d", d->path, obj, (unsigned long long)n,
                      TOK_FIRST_WORD + 1, TOK_FIRST_WORD, DS_VOCAB_MAX);
        goto done;
    }
    if ((unsigned long long)n * DS_VOCAB_ENTRY_BYTES > d->budget.file_size) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: %llu tokens cannot be in a file of %llu bytes: each "
                      "non-empty variable-length string takes at least %d bytes of it", d->path,
                      obj, (unsigned long long)n, d->budget.file_size, DS_VOCAB_ENTRY_BYTES);
        goto done;
    }
    d->vocab_len[side] = n;
done:
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return rc;
}

/* A vocabulary above DS_VOCAB_FREE entries against the dataset's tokens: both sides count,
 * since a shared vocabulary (prep --shared-vocab) is built from both. */
static int check_vocab_use(const dataset *d, int side)
{
    unsigned long long tokens = 0;
    for (int s = 0; s < SPLIT_COUNT; s++)
        tokens += d->split[s].ntok[0] + d->split[s].ntok[1];
    unsigned long long n = d->vocab_len[side], words = n - TOK_FIRST_WORD;
    if (n <= DS_VOCAB_FREE || words <= tokens || d->lim.large_vocab)
        return 0;
    return s2s_fail(S2S_EFORMAT, "%s: /vocab/%s: %llu words, but the dataset holds only %llu "
                    "tokens (both sides, all splits); a vocabulary of more than %d entries "
                    "needs at least one token per word (give --large-vocab to accept it, e.g. "
                    "for a reused vocabulary file)", d->path, ds_sides[side], words, tokens,
                    DS_VOCAB_FREE);
}

/* Reads and checks side's vocabulary, whose extent vocab_extent has bounded: one read of all
 * entries (at most 8 bytes of pointer per 16 bytes of file, and strings no longer than the
 * file), handed to ds_vocab_check as one array. */
static int read_vocab(dataset *d, int side)
{
    char obj[32], **strs = NULL;
    hid_t dset = -1, ftype = -1, mtype = -1, space = -1;
    hsize_t n = 0;
    snprintf(obj, sizeof obj, "/vocab/%s", ds_sides[side]);
    int rc = check_stop(d, obj);
    if (rc < 0 ||
        (rc = open_vector(d, obj, H5T_STRING, H5P_DEFAULT, false, &dset, &n, NULL)) < 0)
        return rc;
    if (n != d->vocab_len[side] || (ftype = H5Dget_type(dset)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its type", d->path, obj);
        goto done;
    }
    if (!(strs = calloc(n, sizeof *strs))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: %s: out of memory for %llu tokens", d->path, obj,
                      (unsigned long long)n);
        goto done;
    }
    if ((mtype = h5u_string_type()) < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 ||
        (space = H5Dget_space(dset)) < 0 ||
        H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, strs) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read the tokens", d->path, obj);
        goto done;
    }
    if ((rc = check_stop(d, obj)) < 0 ||
        (rc = ds_vocab_check(d->path, side, (const char *const *)strs, n, S2S_EFORMAT,
                          &d->voc[side])) < 0)
        goto done;
    d->vocab_n[side] = (int)n;
done:
    if (strs && space >= 0)
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, strs);
    free(strs);
    if (space >= 0)
        H5Sclose(space);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return rc;
}

/* The token count of one side of split s, from its dataset's extent, checked and claimed
 * against the file's size before any split is read. */
static int token_extent(dataset *d, int s, int side)
{
    char obj[64];
    hid_t dset = -1;
    ds_object_name(obj, sizeof obj, s, side, "tokens");
    int rc = open_vector(d, obj, H5T_INTEGER, H5P_DEFAULT, true, &dset, &d->split[s].ntok[side],
                         NULL);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

/* Reads and checks the offsets of one side of a split whose count is known, from its open
 * dataset of len entries with `chunk` elements per chunk, in blocks of whole chunks. */
static int read_offsets(dataset *d, int s, int side, hid_t dset, hsize_t len,
                        unsigned long long chunk)
{
    char obj[64];
    split_data *sp = &d->split[s];
    ds_object_name(obj, sizeof obj, s, side, "offsets");
    if (len != (hsize_t)sp->n + 1) {
        return s2s_fail(S2S_EFORMAT,
                        "%s: %s: %llu entries, expected %ld (attribute /%s "
                        "'sentences' + 1)",
                        d->path, obj, (unsigned long long)len, sp->n + 1, split_names[s]);
    }
    int64_t *off = sp->off[side] = malloc(len * sizeof *off);
    if (!off) {
        return s2s_fail(S2S_ENOMEM, "%s: %s: out of memory for %llu offsets", d->path, obj,
                        (unsigned long long)len);
    }
    hsize_t step = block_elems(SCAN_BLOCK, chunk);
    for (hsize_t at = 0; at < len; at += step) {
        hsize_t n = len - at < step ? len - at : step;
        int rc = check_stop(d, obj);
        if (rc < 0)
            return rc;
        if (read_range(dset, H5T_NATIVE_INT64, at, n, off + at) < 0)
            return h5u_fail(S2S_EFORMAT, "%s: %s: cannot read offsets %llu to %llu", d->path,
                            obj, (unsigned long long)at, (unsigned long long)(at + n));
    }
    if (off[0] != 0) {
        return s2s_fail(S2S_EFORMAT, "%s: %s: offsets[0] is %lld, expected 0", d->path, obj,
                        (long long)off[0]);
    }
    for (long i = 0; i < sp->n; i++) {
        /* Strictly: every sentence has at least one token. */
        if (off[i + 1] <= off[i]) {
            return s2s_fail(S2S_EFORMAT,
                            "%s: %s: offsets not increasing at sentence %ld (%lld "
                            "then %lld)",
                            d->path, obj, i, (long long)off[i], (long long)off[i + 1]);
        }
        if (off[i + 1] - off[i] > DS_SENTENCE_MAX) {
            return s2s_fail(S2S_EFORMAT, "%s: %s: sentence %ld has %lld tokens, more than the "
                            "%d a sentence may have", d->path, obj, i,
                            (long long)(off[i + 1] - off[i]), DS_SENTENCE_MAX);
        }
    }
    return 0;
}

/* The sentence that holds token pos of a side: the last i with off[i] <= pos. */
static long sentence_at(const int64_t *off, long n, int64_t pos)
{
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo + 1) / 2;
        if (off[mid] <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Checks that the token dataset matches the offsets and holds valid ids only, reading it in
 * blocks of whole chunks, then keeps it open with the read chunk cache. The check reads through
 * a handle without a cache, so that opening a dataset leaves no chunk of it in memory; block
 * holds SCAN_BLOCK ids, and a dataset of larger chunks gets a block of one chunk (at most
 * H5L_CHUNK_MAX bytes) for the scan. */
static int check_tokens(dataset *d, int s, int side, int32_t *block)
{
    char obj[64];
    hid_t scan = -1, dapl = -1;
    hsize_t len = 0;
    unsigned long long chunk = 0;
    int32_t *big = NULL;
    const split_data *sp = &d->split[s];
    const int64_t *off = sp->off[side];
    int vocab_size = d->vocab_n[side];
    ds_object_name(obj, sizeof obj, s, side, "tokens");
    int rc = 0;
    if ((dapl = H5Pcreate(H5P_DATASET_ACCESS)) < 0 ||
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot set up dataset access", d->path);
        goto done;
    }
    if ((rc = open_vector(d, obj, H5T_INTEGER, dapl, false, &scan, &len, &chunk)) < 0)
        goto done;
    if (len != (hsize_t)off[sp->n]) {
        rc = s2s_fail(S2S_EFORMAT, "%s: /%s/%s_offsets: last offset %lld, but %s holds %llu "
                      "tokens", d->path, split_names[s], ds_sides[side], (long long)off[sp->n], obj,
                      (unsigned long long)len);
        goto done;
    }
    hsize_t step = block_elems(SCAN_BLOCK, chunk);
    if (step > SCAN_BLOCK && len > SCAN_BLOCK) {
        if (!(big = malloc(step * sizeof *big))) {
            rc = s2s_fail(S2S_ENOMEM, "%s: %s: out of memory for a chunk of %llu tokens",
                          d->path, obj, (unsigned long long)step);
            goto done;
        }
        block = big;
    }
    for (hsize_t at = 0; at < len; at += step) {
        hsize_t n = len - at < step ? len - at : step;
        if ((rc = check_stop(d, obj)) < 0)
            goto done;
        if (read_range(scan, H5T_NATIVE_INT32, at, n, block) < 0) {
            rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read tokens %llu to %llu", d->path, obj,
                          (unsigned long long)at, (unsigned long long)(at + n));
            goto done;
        }
        for (hsize_t k = 0; k < n; k++) {
            int32_t id = block[k];
            if (ds_storable_id(id) && id < vocab_size)
                continue;
            int64_t pos = (int64_t)(at + k);
            long i = sentence_at(off, sp->n, pos);
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: token %lld (sentence %ld, word %lld) is %d; "
                          "stored sentences hold <unk> (1) and word ids 4..%d of the %s "
                          "vocabulary", d->path, obj, (long long)pos, i,
                          (long long)(pos - off[i]), (int)id, vocab_size - 1, ds_side_words[side]);
            goto done;
        }
    }
    H5Dclose(scan);
    scan = -1;
    if (H5Pset_chunk_cache(dapl, READ_CACHE_SLOTS, READ_CACHE_BYTES,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0 ||
        (d->split[s].tok[side] = H5Dopen2(d->file, obj, dapl)) < 0)
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot open", d->path, obj);
done:
    free(big);
    if (scan >= 0)
        H5Dclose(scan);
    if (dapl >= 0)
        H5Pclose(dapl);
    return rc;
}

/* The 'sentences' attribute of split s, before its datasets are opened: a count of sentences
 * that each have at least one token cannot exceed either side's token count. */
static int read_count(dataset *d, int s)
{
    char obj[16];
    hid_t group = -1;
    long long n = -1;
    snprintf(obj, sizeof obj, "/%s", split_names[s]);
    int rc = need(d, obj);
    if (rc < 0)
        return rc;
    if ((group = H5Gopen2(d->file, obj, H5P_DEFAULT)) < 0)
        return h5u_fail(S2S_EFORMAT, "%s: %s: not a group", d->path, obj);
    int st = h5u_read_int_attr(group, "sentences", &n);
    H5Gclose(group);
    if (st < 0 || n < 0 || n >= LONG_MAX)
        return s2s_fail(S2S_EFORMAT, "%s: %s: no attribute 'sentences' (a non-negative integer)",
                        d->path, obj);
    d->split[s].n = (long)n;
    return 0;
}

static int read_split(dataset *d, int s, int32_t *block)
{
    char obj[16];
    int rc = 0;
    snprintf(obj, sizeof obj, "/%s", split_names[s]);
    split_data *sp = &d->split[s];
    /* Sides of different lengths are named as such before either is compared with the count. */
    hsize_t len[2] = {0, 0};
    unsigned long long chunk[2] = {0, 0};
    hid_t off[2] = {-1, -1};
    for (int side = 0; side < 2 && rc == 0; side++) {
        char name[64];
        ds_object_name(name, sizeof name, s, side, "offsets");
        rc = open_vector(d, name, H5T_INTEGER, H5P_DEFAULT, true, &off[side], &len[side],
                         &chunk[side]);
    }
    if (rc == 0 && len[0] != len[1])
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: source and target sentence counts differ "
                      "(src_offsets has %llu entries, tgt_offsets %llu)", d->path, obj,
                      (unsigned long long)len[0], (unsigned long long)len[1]);
    for (int side = 0; side < 2 && rc == 0; side++)
        if ((hsize_t)sp->n > sp->ntok[side])
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: attribute 'sentences' is %ld, but %s_tokens "
                          "holds only %llu tokens (every sentence has at least one)", d->path,
                          obj, sp->n, ds_sides[side], (unsigned long long)sp->ntok[side]);
    for (int side = 0; side < 2 && rc == 0; side++)
        rc = read_offsets(d, s, side, off[side], len[side], chunk[side]);
    for (int side = 0; side < 2; side++)
        if (off[side] >= 0)
            H5Dclose(off[side]);
    if (rc < 0)
        return rc;
    for (int side = 0; side < 2; side++)
        if ((rc = check_tokens(d, s, side, block)) < 0)
            return rc;
    return 0;
}

typedef struct {
    dataset *d;
    int rc;
} attr_walk;

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    attr_walk *w = ctx;
    dataset *d = w->d;
    bool is_string = false;
    char *value = NULL;
    (void)info;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr >= 0) {
        value = h5u_read_string_attr(attr, &is_string);
        H5Aclose(attr);
    }
    if (!value && !is_string && attr >= 0)
        return 0; /* not a string (the version): not for ds_attr */
    if (!value) {
        w->rc = h5u_fail(S2S_EFORMAT, "%s: /: cannot read attribute '%s'", d->path, name);
        return 1;
    }
    char **keys = realloc(d->attr_key, (size_t)(d->nattrs + 1) * sizeof *keys);
    if (keys)
        d->attr_key = keys;
    char **values = keys ? realloc(d->attr_value, (size_t)(d->nattrs + 1) * sizeof *values) : NULL;
    if (values)
        d->attr_value = values;
    char *key = values ? strdup(name) : NULL;
    if (!key) {
        free(value);
        w->rc = s2s_fail(S2S_ENOMEM, "%s: out of memory for attribute '%s'", d->path, name);
        return 1;
    }
    d->attr_key[d->nattrs] = key;
    d->attr_value[d->nattrs++] = value;
    return 0;
}

/* The order of ds_open: first everything that bounds what the file can make the reader
 * allocate (the extents of the vocabularies and token datasets against the file's size, the
 * sentence counts), then the vocabularies, then each split's offsets and tokens in blocks. */
int ds_open_with(dataset **out, const char *path, const ds_limits *lim)
{
    int32_t *block = NULL;
    long long version = 0;
    int rc;
    *out = NULL;
    dataset *d = calloc(1, sizeof *d);
    if (!d)
        return s2s_fail(S2S_ENOMEM, "%s: out of memory", path);
    d->file = -1;
    d->lim = lim ? *lim : (ds_limits){0};
    for (int s = 0; s < SPLIT_COUNT; s++)
        d->split[s].tok[0] = d->split[s].tok[1] = -1;
    if (!(d->path = strdup(path)) || !(block = malloc(SCAN_BLOCK * sizeof *block))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    if ((rc = h5u_open(path, "dataset", DATASET_FORMAT, H5U_FOREIGN_OK, &d->file,
                       &version)) < 0)
        goto fail;
    if (version != DATASET_SCHEMA_VERSION) {
        rc = s2s_fail(S2S_EFORMAT, "%s: schema version %lld, this s2s reads version %d", path,
                      version, DATASET_SCHEMA_VERSION);
        goto fail;
    }
    if ((rc = h5l_budget_init(&d->budget, d->path)) < 0)
        goto fail;
    for (int side = 0; side < 2; side++)
        if ((rc = vocab_extent(d, side)) < 0)
            goto fail;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        if ((rc = read_count(d, s)) < 0)
            goto fail;
        for (int side = 0; side < 2; side++)
            if ((rc = token_extent(d, s, side)) < 0)
                goto fail;
    }
    for (int side = 0; side < 2; side++)
        if ((rc = check_vocab_use(d, side)) < 0 || (rc = read_vocab(d, side)) < 0)
            goto fail;
    if ((rc = check_stop(d, "/spm")) < 0 ||
        (rc = spm_models_read(d->file, d->path, &d->budget, &d->spm)) < 0)
        goto fail;
    for (int s = 0; s < SPLIT_COUNT; s++)
        if ((rc = read_split(d, s, block)) < 0)
            goto fail;
    if (d->split[SPLIT_TRAIN].n == 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: /train: no sentences (the training split must not be "
                      "empty)", path);
        goto fail;
    }
    attr_walk aw = {.d = d, .rc = 0};
    hsize_t idx = 0;
    if (H5Aiterate2(d->file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &aw) < 0 &&
        aw.rc == 0)
        aw.rc = h5u_fail(S2S_EFORMAT, "%s: /: cannot list the attributes", path);
    if ((rc = aw.rc) < 0)
        goto fail;
    free(block);
    *out = d;
    return 0;
fail:
    free(block);
    ds_close(d);
    return rc;
}

int ds_open(dataset **out, const char *path)
{
    return ds_open_with(out, path, &process_limits);
}

long ds_count(const dataset *d, split_id split)
{
    return (unsigned)split < SPLIT_COUNT ? d->split[split].n : 0;
}

int ds_vocab_size(const dataset *d, const char *side)
{
    int s = ds_side_index(side);
    if (s < 0)
        return s2s_fail(S2S_EINVAL, "%s: vocabulary side '%s' (expected src or tgt)", d->path,
                        side ? side : "(null)");
    return d->vocab_n[s];
}

const vocab *ds_vocab(const dataset *d, const char *side)
{
    int s = ds_side_index(side);
    return s < 0 ? NULL : &d->voc[s];
}

const char *ds_token(const dataset *d, const char *side, int id)
{
    int s = ds_side_index(side);
    if (s < 0 || id < 0 || id >= d->vocab_n[s])
        return NULL;
    return d->voc[s].by_id[id];
}

const char *ds_attr(const dataset *d, const char *key)
{
    for (int i = 0; key && i < d->nattrs; i++)
        if (!strcmp(d->attr_key[i], key))
            return d->attr_value[i];
    return NULL;
}

const char *ds_option(const dataset *d, const char *name, char *buf, size_t size)
{
    size_t k = strlen(name);
    for (const char *line = ds_attr(d, "options"); line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        /* "name = value", as cli_options_text writes the lines */
        if (len > k && !strncmp(line, name, k) && strchr(" =", line[k])) {
            const char *v = line + k, *stop = line + len;
            while (v < stop && *v == ' ')
                v++;
            if (v < stop && *v == '=') {
                for (v++; v < stop && *v == ' '; v++)
                    ;
                while (stop > v && stop[-1] == ' ')
                    stop--;
                snprintf(buf, size, "%.*s", (int)(stop - v), v);
                return buf;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

const spm_models *ds_spm(const dataset *d)
{
    return &d->spm;
}

int ds_lengths(dataset *d, split_id split, int *src_len, int *tgt_len)
{
    if ((unsigned)split >= SPLIT_COUNT)
        return s2s_fail(S2S_EINVAL, "%s: no split %d", d->path, (int)split);
    const split_data *sp = &d->split[split];
    int *lens[2] = {src_len, tgt_len};
    for (int side = 0; side < 2; side++)
        for (long i = 0; i < sp->n; i++)
            lens[side][i] = (int)(sp->off[side][i + 1] - sp->off[side][i]);
    return 0;
}

static int cmp_pick(const void *a, const void *b)
{
    long x = ((const pick *)a)->id, y = ((const pick *)b)->id;
    return (x > y) - (x < y);
}

/* Grows ds_read's scratch to n picks and `tokens` tokens of one union. */
static int reserve(dataset *d, int n, size_t tokens)
{
    if (n > d->picks_cap) {
        pick *p = realloc(d->picks, (size_t)n * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "%s: out of memory for reading %d sentences", d->path, n);
        d->picks = p;
        d->picks_cap = n;
    }
    if (tokens > d->buf_cap) {
        int32_t *b = realloc(d->buf, tokens * sizeof *b);
        if (!b)
            return s2s_fail(S2S_ENOMEM, "%s: out of memory for reading %zu tokens", d->path,
                            tokens);
        d->buf = b;
        d->buf_cap = tokens;
    }
    return 0;
}

/* One side of the sentences d->picks[0..n) (sorted by id): one read of the union of their
 * token ranges into d->buf, then a copy of each sentence into its row. A union is delivered
 * in file order, which is the order of the sorted ids, and holds a repeated id once. */
static int read_union(dataset *d, const pick *picks, int n, int s, int side, int max_len,
                      int32_t *rows)
{
    const int64_t *off = d->split[s].off[side];
    hid_t dset = d->split[s].tok[side], fspace = -1, mspace = -1;
    herr_t st = -1;
    hsize_t total = 0;
    if ((fspace = H5Dget_space(dset)) < 0 || H5Sselect_none(fspace) < 0)
        goto done;
    for (int i = 0; i < n; i++) {
        long id = picks[i].id;
        if (i > 0 && id == picks[i - 1].id)
            continue;
        hsize_t start = (hsize_t)off[id], count = (hsize_t)(off[id + 1] - off[id]);
        if (H5Sselect_hyperslab(fspace, H5S_SELECT_OR, &start, NULL, &count, NULL) < 0)
            goto done;
        total += count;
    }
    if ((mspace = H5Screate_simple(1, &total, NULL)) < 0 ||
        (st = H5Dread(dset, H5T_NATIVE_INT32, mspace, fspace, H5P_DEFAULT, d->buf)) < 0)
        goto done;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        long id = picks[i].id;
        size_t len = (size_t)(off[id + 1] - off[id]);
        if (i > 0 && id == picks[i - 1].id)
            at -= len; /* the same tokens again */
        memcpy(rows + (size_t)picks[i].idx * (size_t)max_len, d->buf + at,
               len * sizeof(int32_t));
        at += len;
    }
done:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (st < 0) {
        char obj[64];
        ds_object_name(obj, sizeof obj, s, side, "tokens");
        return h5u_fail(S2S_EIO, "%s: %s: cannot read %d sentences", d->path, obj, n);
    }
    return 0;
}

/* How to read: measured (HDF5 1.10.8, Release build) on 300,000 pairs of 1-100 tokens and on
 * 100,000 pairs of 1-300, ids drawn from a window of 20,000 sentences whose chunks the cache
 * holds, per sentence read:
 *                                  n = 1     8     64    256   1024
 *   one H5Dread per sentence        4.2   2.9   2.9   2.9   3.1 us  (1-100 tokens)
 *   one union per side for all n    4.2   1.9   1.9   2.8   8.5 us
 *   unions of at most 16 sentences  4.1   1.8   1.4   1.0   0.8 us
 *   (1-300 tokens, n = 1024: 3.3, 9.8 and 1.0 us)
 * Each H5Dread costs about 2 us however little it reads, but building an H5S_SELECT_OR union
 * costs time quadratic in its number of ranges, so a union of a whole batch loses to
 * per-sentence reads from a few hundred sentences on. Reading the sorted ids in unions of
 * UNION_MAX (16 was the best of 1 to 128) gets both savings. A union is also cut where it would
 * stretch over more than UNION_SPAN tokens: HDF5 maps a selection onto every chunk of its
 * bounding box, so a union of sentences spread over the corpus (training's random order) cost
 * time in proportion to the corpus size. */
int ds_read(dataset *d, split_id split, const long *ids, int n, int max_len, int32_t *src,
            int *src_len, int32_t *tgt, int *tgt_len)
{
    if ((unsigned)split >= SPLIT_COUNT || n < 0 || max_len < 1)
        return s2s_fail(S2S_EINVAL, "%s: ds_read of %d sentences of split %d into rows of %d",
                        d->path, n, (int)split, max_len);
    const split_data *sp = &d->split[split];
    int32_t *rows[2] = {src, tgt};
    int *lens[2] = {src_len, tgt_len};
    for (int i = 0; i < n; i++) {
        long id = ids[i];
        if (id < 0 || id >= sp->n)
            return s2s_fail(S2S_ERANGE, "%s: /%s: sentence id %ld out of range (%ld sentences)",
                            d->path, split_names[split], id, sp->n);
        for (int side = 0; side < 2; side++) {
            int64_t len = sp->off[side][id + 1] - sp->off[side][id];
            if (len > max_len)
                return s2s_fail(S2S_ERANGE, "%s: /%s/%s_tokens: sentence %ld has %lld tokens, "
                                "more than the %d of a row", d->path, split_names[split],
                                ds_sides[side], id, (long long)len, max_len);
            lens[side][i] = (int)len;
        }
    }
    if (n == 0)
        return 0;
    int rc = reserve(d, n, (size_t)(n < UNION_MAX ? n : UNION_MAX) * (size_t)max_len);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        d->picks[i] = (pick){.id = ids[i], .idx = i};
    qsort(d->picks, (size_t)n, sizeof *d->picks, cmp_pick);
    for (int side = 0; side < 2; side++) {
        const int64_t *off = sp->off[side];
        for (int g = 0, m; g < n; g += m) {
            int64_t first = off[d->picks[g].id];
            for (m = 1; g + m < n && m < UNION_MAX &&
                        off[d->picks[g + m].id + 1] - first <= UNION_SPAN;
                 m++)
                ;
            if ((rc = read_union(d, d->picks + g, m, split, side, max_len, rows[side])) < 0)
                return rc;
        }
    }
    return 0;
}
