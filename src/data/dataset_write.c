/* dataset_write.c - writing a dataset file (ds_writer, include/s2s/dataset.h): sentences
 * appended to extendible chunked datasets one whole chunk at a time, from a chunk-sized buffer
 * per split and side, so that memory does not grow with the corpus; a temporary file beside
 * the target, sealed and renamed at dsw_close. */
#include "s2s/dataset.h"

#include <errno.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/fsutil.h"
#include "s2s/h5util.h"
#include "s2s/seal.h"
#include "s2s/spm_store.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/vocab.h"

#include "dataset_internal.h"

/* One extendible dataset and the part of it not yet written. */
typedef struct {
    hid_t dset;
    void *buf;       /* a chunk: int32 tokens or int64 offsets */
    int buffered;    /* elements in buf */
    hsize_t written; /* elements in the dataset */
} stream;

struct ds_writer {
    char *path, *tmp;
    int fd;           /* the temporary file, kept open to fsync it once HDF5 has closed it */
    bool tmp_created;
    hid_t file, group[SPLIT_COUNT];
    stream tok[SPLIT_COUNT][2], off[SPLIT_COUNT][2];
    int64_t total[SPLIT_COUNT][2]; /* tokens appended: the next offset */
    long count[SPLIT_COUNT];
    int vocab_n[2];                /* 0 until set */
    /* The largest id of each side and where it first occurs, for dsw_close's range check. */
    int32_t max_id[2];
    int max_split[2], max_pos[2];
    long max_sent[2];
    spm_models spm;  /* written at dsw_close; none until dsw_set_spm */
    bool spm_set;
    int rc;          /* after a failed write: every later call fails with this code ... */
    char err[1024];  /* ... and message */
};

/* Makes the failure rc (whose message was just recorded) the writer's permanent state: after a
 * failed HDF5 write the file is in an unknown state, so nothing may be committed. */
static int stick(ds_writer *w, int rc)
{
    w->rc = rc;
    snprintf(w->err, sizeof w->err, "%s", s2s_errmsg(rc));
    return rc;
}

static int check_writer(const ds_writer *w, const char *fn)
{
    if (!w)
        return s2s_fail(S2S_EINVAL, "%s: no dataset writer", fn);
    if (w->rc < 0)
        return s2s_fail(w->rc, "%s", w->err);
    return 0;
}

/* An empty 1-D dataset of unlimited length, chunked, shuffled and deflated. */
static hid_t create_stream(hid_t group, const char *name, hid_t type, hsize_t chunk, hid_t dapl)
{
    hsize_t dims = 0, maxdims = H5S_UNLIMITED;
    hid_t space = -1, dcpl = -1, dset = -1;
    /* Shuffling the bytes of small integers groups their zero high bytes, which deflate then
     * compresses far better. */
    if ((space = H5Screate_simple(1, &dims, &maxdims)) >= 0 &&
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) >= 0 && H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
        H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0)
        dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return dset;
}

/* Appends the buffered elements to the dataset, extending it. */
static herr_t flush_stream(stream *s, hid_t mem_type)
{
    hsize_t n = (hsize_t)s->buffered, end = s->written + n;
    hid_t fspace = -1, mspace = -1;
    herr_t st = -1;
    if (n == 0)
        return 0;
    if (H5Dset_extent(s->dset, &end) < 0 || (fspace = H5Dget_space(s->dset)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &s->written, NULL, &n, NULL) < 0 ||
        (mspace = H5Screate_simple(1, &n, NULL)) < 0)
        goto done;
    st = H5Dwrite(s->dset, mem_type, mspace, fspace, H5P_DEFAULT, s->buf);
    if (st >= 0) {
        s->written = end;
        s->buffered = 0;
    }
done:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

static int write_failed(ds_writer *w, int split, int side, const char *what)
{
    char obj[64];
    ds_object_name(obj, sizeof obj, split, side, what);
    return stick(w, h5u_fail(S2S_EIO, "%s: %s: cannot write", w->path, obj));
}

/* Appends one sentence of one side: its tokens, then its end offset. */
static int append_sentence(ds_writer *w, int split, int side, const int32_t *ids, int len)
{
    stream *t = &w->tok[split][side], *o = &w->off[split][side];
    for (int k = 0; k < len;) {
        int take = len - k < TOK_CHUNK - t->buffered ? len - k : TOK_CHUNK - t->buffered;
        memcpy((int32_t *)t->buf + t->buffered, ids + k, (size_t)take * sizeof *ids);
        t->buffered += take;
        k += take;
        if (t->buffered == TOK_CHUNK && flush_stream(t, H5T_NATIVE_INT32) < 0)
            return write_failed(w, split, side, "tokens");
    }
    w->total[split][side] += len;
    ((int64_t *)o->buf)[o->buffered++] = w->total[split][side];
    if (o->buffered == OFF_CHUNK && flush_stream(o, H5T_NATIVE_INT64) < 0)
        return write_failed(w, split, side, "offsets");
    return 0;
}

void dsw_abort(ds_writer *w)
{
    if (!w)
        return;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        for (int side = 0; side < 2; side++) {
            if (w->tok[s][side].dset >= 0)
                H5Dclose(w->tok[s][side].dset);
            if (w->off[s][side].dset >= 0)
                H5Dclose(w->off[s][side].dset);
            free(w->tok[s][side].buf);
            free(w->off[s][side].buf);
        }
        if (w->group[s] >= 0)
            H5Gclose(w->group[s]);
    }
    if (w->file >= 0)
        H5Fclose(w->file);
    if (w->fd >= 0)
        close(w->fd);
    spm_models_free(&w->spm);
    if (w->tmp_created)
        unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w);
}

/* The groups and empty datasets of every split. */
static int create_splits(ds_writer *w)
{
    int rc = 0;
    hid_t dapl = -1;
    /* Whole chunks are written once and never read back: a chunk cache would only hold copies
     * (and grow the writer's memory by up to 1 MiB per dataset). */
    if ((dapl = H5Pcreate(H5P_DATASET_ACCESS)) < 0 ||
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot set up dataset access", w->path);
        goto done;
    }
    for (int s = 0; s < SPLIT_COUNT; s++) {
        if ((w->group[s] = H5Gcreate2(w->file, split_names[s], H5P_DEFAULT, H5P_DEFAULT,
                                      H5P_DEFAULT)) < 0) {
            rc = h5u_fail(S2S_EIO, "%s: /%s: cannot create the group", w->path, split_names[s]);
            goto done;
        }
        for (int side = 0; side < 2; side++) {
            char obj[64];
            ds_object_name(obj, sizeof obj, s, side, "tokens");
            if ((w->tok[s][side].dset = create_stream(w->file, obj, H5T_STD_I32LE, TOK_CHUNK,
                                                      dapl)) < 0) {
                rc = h5u_fail(S2S_EIO, "%s: %s: cannot create the dataset", w->path, obj);
                goto done;
            }
            ds_object_name(obj, sizeof obj, s, side, "offsets");
            if ((w->off[s][side].dset = create_stream(w->file, obj, H5T_STD_I64LE, OFF_CHUNK,
                                                      dapl)) < 0) {
                rc = h5u_fail(S2S_EIO, "%s: %s: cannot create the dataset", w->path, obj);
                goto done;
            }
            /* offsets[0] = 0: every sentence i then adds offsets[i + 1]. */
            ((int64_t *)w->off[s][side].buf)[0] = 0;
            w->off[s][side].buffered = 1;
        }
    }
done:
    if (dapl >= 0)
        H5Pclose(dapl);
    return rc;
}

int dsw_open(ds_writer **out, const char *path)
{
    int rc = 0;
    hid_t fapl = -1, fcpl = -1, vgroup = -1;
    *out = NULL;
    h5u_quiet();
    ds_writer *w = calloc(1, sizeof *w);
    if (!w)
        return s2s_fail(S2S_ENOMEM, "%s: out of memory for a dataset writer", path);
    w->fd = -1;
    w->file = -1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        w->group[s] = -1;
        for (int side = 0; side < 2; side++) {
            w->tok[s][side].dset = w->off[s][side].dset = -1;
            w->tok[s][side].buf = malloc(TOK_CHUNK * sizeof(int32_t));
            w->off[s][side].buf = malloc(OFF_CHUNK * sizeof(int64_t));
            if (!w->tok[s][side].buf || !w->off[s][side].buf)
                rc = S2S_ENOMEM;
        }
    }
    size_t tmp_n = strlen(path) + 64;
    w->path = strdup(path);
    w->tmp = malloc(tmp_n);
    if (rc < 0 || !w->path || !w->tmp) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory for a dataset writer", path);
        goto fail;
    }
    /* Beside the target, so that the rename at dsw_close replaces it in one step. */
    if ((w->fd = fs_create_temp(path, w->tmp, tmp_n)) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot create a temporary file in its directory: %s", path,
                      strerror(errno));
        goto fail;
    }
    w->tmp_created = true;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || h5u_set_create_bounds(fapl) < 0 ||
        (fcpl = h5u_create_fcpl()) < 0 ||
        (w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create the HDF5 file %s", path, w->tmp);
        goto fail;
    }
    if (h5u_write_string_attr(w->file, "format", DATASET_FORMAT) < 0 ||
        h5u_write_int_attr(w->file, "version", H5T_STD_I32LE, DATASET_SCHEMA_VERSION) < 0 ||
        (vgroup = H5Gcreate2(w->file, "vocab", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot write the format attributes and /vocab", path);
        goto fail;
    }
    if ((rc = create_splits(w)) < 0)
        goto fail;
    *out = w;
    w = NULL;
fail:
    if (vgroup >= 0)
        H5Gclose(vgroup);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    dsw_abort(w);
    return rc;
}

int dsw_add(ds_writer *w, split_id split, const int32_t *src, int src_len, const int32_t *tgt,
            int tgt_len)
{
    int rc = check_writer(w, "dsw_add");
    if (rc < 0)
        return rc;
    if ((unsigned)split >= SPLIT_COUNT)
        return s2s_fail(S2S_EINVAL, "%s: no split %d", w->path, (int)split);
    const int32_t *ids[2] = {src, tgt};
    int len[2] = {src_len, tgt_len};
    long sent = w->count[split];
    /* Everything is checked before anything is appended, so a rejected pair leaves no trace. */
    for (int side = 0; side < 2; side++) {
        if (len[side] < 1)
            return s2s_fail(S2S_EINVAL,
                            "%s: /%s: sentence %ld: the %s side has %d tokens (at least 1 needed)",
                            w->path, split_names[split], sent, ds_side_words[side], len[side]);
        if (len[side] > DS_SENTENCE_MAX) /* the reader would refuse the file */
            return s2s_fail(S2S_ERANGE,
                            "%s: /%s: sentence %ld: the %s side has %d tokens, more than the %d a "
                            "dataset sentence may hold (s2s prep: set --max-len)",
                            w->path, split_names[split], sent, ds_side_words[side], len[side],
                            DS_SENTENCE_MAX);
        for (int k = 0; k < len[side]; k++)
            if (!ds_storable_id(ids[side][k]))
                return s2s_fail(S2S_ERANGE,
                                "%s: /%s/%s_tokens: sentence %ld, word %d: id %d is neither "
                                "<unk> (1) nor a word id (>= 4)",
                                w->path, split_names[split], ds_sides[side], sent, k,
                                (int)ids[side][k]);
    }
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < len[side]; k++)
            if (ids[side][k] > w->max_id[side]) {
                w->max_id[side] = ids[side][k];
                w->max_split[side] = split;
                w->max_sent[side] = sent;
                w->max_pos[side] = k;
            }
        if ((rc = append_sentence(w, split, side, ids[side], len[side])) < 0)
            return rc;
    }
    w->count[split]++;
    return 0;
}

int dsw_set_vocab(ds_writer *w, const char *side, const char *const *tokens, int n)
{
    int rc = check_writer(w, "dsw_set_vocab"), s = ds_side_index(side);
    hid_t type = -1, space = -1, dset = -1;
    if (rc < 0)
        return rc;
    if (s < 0)
        return s2s_fail(S2S_EINVAL, "%s: vocabulary side '%s' (expected src or tgt)", w->path,
                        side ? side : "(null)");
    if (w->vocab_n[s])
        return s2s_fail(S2S_EINVAL, "%s: /vocab/%s: set twice", w->path, ds_sides[s]);
    if (n < TOK_FIRST_WORD + 1)
        return s2s_fail(S2S_EINVAL, "%s: /vocab/%s: %d tokens, at least %d needed (the %d "
                        "reserved ones and a word)", w->path, ds_sides[s], n, TOK_FIRST_WORD + 1,
                        TOK_FIRST_WORD);
    for (int i = 0; i < n; i++)
        if (!tokens[i])
            return s2s_fail(S2S_EINVAL, "%s: /vocab/%s: token %d is NULL", w->path, ds_sides[s], i);
    vocab check = {0};
    rc = ds_vocab_check(w->path, s, tokens, (size_t)n, S2S_EINVAL, &check);
    vocab_free(&check);
    if (rc < 0)
        return rc;
    char obj[32];
    snprintf(obj, sizeof obj, "/vocab/%s", ds_sides[s]);
    hsize_t dims = (hsize_t)n;
    if ((type = h5u_string_type()) < 0 || (space = H5Screate_simple(1, &dims, NULL)) < 0 ||
        (dset = H5Dcreate2(w->file, obj, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, tokens) < 0) {
        rc = stick(w, h5u_fail(S2S_EIO, "%s: %s: cannot write", w->path, obj));
        goto done;
    }
    w->vocab_n[s] = n;
done:
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0)
        rc = stick(w, h5u_fail(S2S_EIO, "%s: %s: cannot close", w->path, obj));
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

int dsw_set_spm(ds_writer *w, const spm_models *m)
{
    int rc = check_writer(w, "dsw_set_spm");
    if (rc < 0)
        return rc;
    if (w->spm_set)
        return s2s_fail(S2S_EINVAL, "%s: /spm: set twice", w->path);
    if (m->n[0] == 0 && m->n[1] > 0)
        return s2s_fail(S2S_EINVAL, "%s: /spm: a target SentencePiece model without a source "
                        "one", w->path);
    for (int s = 0; s < 2; s++) {
        if (m->n[s] == 0)
            continue;
        if (!(w->spm.bytes[s] = malloc(m->n[s])))
            return s2s_fail(S2S_ENOMEM, "%s: /spm: a model of %zu bytes", w->path, m->n[s]);
        memcpy(w->spm.bytes[s], m->bytes[s], m->n[s]);
        w->spm.n[s] = m->n[s];
    }
    w->spm_set = true;
    return 0;
}

int dsw_set_attr(ds_writer *w, const char *key, const char *value)
{
    int rc = check_writer(w, "dsw_set_attr");
    if (rc < 0)
        return rc;
    if (!key || !key[0] || strchr(key, '/') || !strcmp(key, "format") || !strcmp(key, "version"))
        return s2s_fail(S2S_EINVAL, "%s: '%s' cannot be a dataset attribute (empty, with '/', "
                        "or reserved)", w->path, key ? key : "(null)");
    if (!value)
        return s2s_fail(S2S_EINVAL, "%s: attribute '%s' without a value", w->path, key);
    htri_t exists = H5Aexists(w->file, key);
    if (exists < 0 || (exists > 0 && H5Adelete(w->file, key) < 0) ||
        h5u_write_string_attr(w->file, key, value) < 0)
        return stick(w, h5u_fail(S2S_EIO, "%s: cannot write root attribute '%s'", w->path, key));
    return 0;
}

/* What dsw_close requires before it writes anything more. */
static int check_complete(const ds_writer *w)
{
    for (int side = 0; side < 2; side++) {
        if (!w->vocab_n[side])
            return s2s_fail(S2S_EINVAL, "%s: /vocab/%s: the %s vocabulary was never set",
                            w->path, ds_sides[side], ds_side_words[side]);
        if (w->max_id[side] >= w->vocab_n[side])
            return s2s_fail(S2S_ERANGE,
                            "%s: /%s/%s_tokens: sentence %ld, word %d: id %d is outside the %s "
                            "vocabulary (%d tokens)",
                            w->path, split_names[w->max_split[side]], ds_sides[side],
                            w->max_sent[side], w->max_pos[side], (int)w->max_id[side],
                            ds_side_words[side], w->vocab_n[side]);
    }
    if (w->count[SPLIT_TRAIN] == 0)
        return s2s_fail(S2S_EINVAL, "%s: /train: no sentences (the training split must not be "
                        "empty)", w->path);
    return 0;
}

/* Writes the buffered rest and the sentence counts, and closes every HDF5 object and the file,
 * checking each close: a close is where HDF5 writes its cached metadata. */
static int finish_file(ds_writer *w)
{
    int rc = spm_models_write(w->file, w->path, &w->spm);
    if (rc < 0)
        return rc;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        for (int side = 0; side < 2; side++) {
            stream *t = &w->tok[s][side], *o = &w->off[s][side];
            if (flush_stream(t, H5T_NATIVE_INT32) < 0 || H5Dclose(t->dset) < 0) {
                t->dset = -1;
                return write_failed(w, s, side, "tokens");
            }
            t->dset = -1;
            if (flush_stream(o, H5T_NATIVE_INT64) < 0 || H5Dclose(o->dset) < 0) {
                o->dset = -1;
                return write_failed(w, s, side, "offsets");
            }
            o->dset = -1;
        }
        herr_t st = h5u_write_int_attr(w->group[s], "sentences", H5T_STD_I64LE, w->count[s]);
        if (H5Gclose(w->group[s]) < 0)
            st = -1;
        w->group[s] = -1;
        if (st < 0)
            return h5u_fail(S2S_EIO, "%s: /%s: cannot write attribute 'sentences'", w->path,
                            split_names[s]);
    }
    herr_t st = H5Fclose(w->file);
    w->file = -1;
    if (st < 0)
        return h5u_fail(S2S_EIO, "%s: cannot close the HDF5 file %s", w->path, w->tmp);
    return 0;
}

int dsw_close(ds_writer *w)
{
    int rc = check_writer(w, "dsw_close");
    if (rc < 0 || (rc = check_complete(w)) < 0 || (rc = finish_file(w)) < 0)
        goto done;
    /* The integrity record goes into the user block once HDF5 has written everything. */
    if ((rc = seal_fd(w->fd, w->tmp, DATASET_FORMAT)) < 0)
        goto done;
    /* HDF5 does not fsync; the data must be on disk before the rename makes them the target. */
    int st = fsync(w->fd);
    if (st == 0) {
        st = close(w->fd);
        w->fd = -1;
    }
    if (st < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot sync %s: %s", w->path, w->tmp, strerror(errno));
        goto done;
    }
    w->tmp_created = false; /* fs_commit removes it if the rename fails */
    rc = fs_commit(w->tmp, w->path);
done:
    dsw_abort(w);
    return rc;
}
