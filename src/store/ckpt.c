/* ckpt.c - training checkpoints (layout and guarantees in include/s2s/ckpt.h; the checksum
 * is defined in docs/formats.md, "Checkpoints").
 *
 * A checkpoint is a parameter file with more groups, so /params, the moment groups and /config
 * are written and read by paramfile.c's group functions (src/store/paramfile_io.h), and the file
 * is assembled in memory and put on disk atomically by paramfile_write_image, which keeps HDF5
 * away from disk errors it cannot recover from. Datasets use HDF5's default contiguous layout
 * without filters: the parameters and moments are copied, never compressed or chunked.
 *
 * The checksum is computed from the caller's buffers when writing and from what was read when
 * reading. Its pieces are cut the same way everywhere (hash64 depends on the cut): one piece
 * per tensor in the order /params (and each moment group) was created, which is the writer's
 * table order, then one 120-byte piece of counters, then the history. ckpt_read hashes its
 * buffers in the file's order, so it agrees with ckpt_verify (ckpt_read_summary, which keeps
 * what it reads for s2s info), which hashes the tensors as stored and needs no table. Every
 * function keeps HDF5 ids in locals initialized to -1 and closes whatever is open on its
 * single exit path. */
#include "s2s/ckpt.h"

#include "paramfile_io.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/h5limits.h"
#include "s2s/h5util.h"
#include "s2s/hash.h"
#include "s2s/spm_store.h"
#include "s2s/status.h"

/* The checksum hashes tensors straight from the caller's buffers and counters straight from
 * memory, which are the stored bytes (float32, int64, double, little-endian) only on such a
 * host; the library is built in float (src/store is not part of the double build). */
_Static_assert(sizeof(real) == 4, "checkpoints hash parameters as float32");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksums assume a little-endian host");

const ckpt_field ckpt_fields[] = {
    {"step", offsetof(train_progress, step), false},
    {"epoch", offsetof(train_progress, epoch), false},
    {"next", offsetof(train_progress, next), false},
    {"world_size", offsetof(train_progress, world_size), false},
    {"skipped", offsetof(train_progress, skipped), false},
    {"nonfinite_streak", offsetof(train_progress, nonfinite_streak), false},
    {"tokens", offsetof(train_progress, tokens), false},
    {"seconds", offsetof(train_progress, seconds), true},
    {"lr_scale", offsetof(train_progress, lr_scale), true},
    {"best_valid", offsetof(train_progress, best_valid), true},
    {"best_step", offsetof(train_progress, best_step), false},
    {"bad_evals", offsetof(train_progress, bad_evals), false},
    {"lr_best", offsetof(train_progress, lr_best), true},
    {"lr_bad", offsetof(train_progress, lr_bad), false},
};
/* Every field is 8 bytes without padding: a field added to train_progress but not to the table
 * above fails here, instead of being silently left out of checkpoints. */
_Static_assert(sizeof ckpt_fields / sizeof ckpt_fields[0] == CKPT_NFIELDS &&
                   sizeof(train_progress) == 8 * CKPT_NFIELDS,
               "ckpt_fields must list every field of train_progress");

const char *const ckpt_kind_names[] = {CKPT_KIND_CHOICES(CHOICE_NAME) NULL};

/* The moment groups, in checksum order, with the name a caller knows them by. */
static const char *const CKPT_MOMENT[2] = {"optim/exp_avg", "optim/exp_avg_sq"};
/* The EMA weights' group, hashed after the moments. */
#define CKPT_EMA "ema"

/* ---- checksum ------------------------------------------------------------------------------ */

/* The optimizer step, then every train_progress field in declaration order, each as 8 bytes
 * (int64 or IEEE double, little-endian): one piece of 8 * (1 + CKPT_NFIELDS) bytes. */
static uint64_t ckpt_hash_counters(uint64_t h, int64_t optim_step, const train_progress *p)
{
    unsigned char buf[8 * (1 + CKPT_NFIELDS)];
    memcpy(buf, &optim_step, 8);
    for (int i = 0; i < CKPT_NFIELDS; i++)
        memcpy(buf + 8 * (i + 1), (const char *)p + ckpt_fields[i].offset, 8);
    return hash64(h, buf, sizeof buf);
}

/* rows and cols as two int64 (one piece), the float64 values (one piece), the column names
 * without their terminating NUL (one piece). */
static uint64_t ckpt_hash_history(uint64_t h, const ckpt_history *hist)
{
    int64_t dims[2] = {hist->rows, hist->cols};
    size_t n = (size_t)hist->rows * (size_t)hist->cols;
    const char *columns = hist->columns ? hist->columns : "";
    h = hash64(h, dims, sizeof dims);
    h = hash64(h, n ? (const void *)hist->data : "", n * sizeof(double));
    return hash64(h, columns, strlen(columns));
}

/* The tensors of tab from buf, one piece each in table order: what the writer creates. */
static uint64_t ckpt_hash_table(uint64_t h, const param_table *tab, const real *buf)
{
    for (int i = 0; i < tab->n; i++)
        h = hash64(h, buf + tab->t[i].offset, tab->t[i].size * sizeof(float));
    return h;
}

/* What ckpt_hash_tensor adds to: the checksum so far, from buf (tab's layout) when tab is
 * given, else from the tensors as stored (float32 little-endian). */
typedef struct {
    const char *path, *gpath;
    const param_table *tab;
    const real *buf;
    uint64_t h;
} ckpt_hasher;

static int ckpt_hash_tensor(const char *name, hid_t dset, hid_t space, void *ctx)
{
    ckpt_hasher *c = ctx;
    if (c->tab) {
        int j = param_table_find(c->tab, name);
        if (j < 0) /* the readers have checked the group against tab already */
            return s2s_fail(S2S_EFORMAT, "%s: '/%s/%s' is not a tensor of this model", c->path,
                            c->gpath, name);
        c->h = hash64(c->h, c->buf + c->tab->t[j].offset, c->tab->t[j].size * sizeof(float));
        return 0;
    }
    hid_t type = -1;
    unsigned char *data = NULL;
    hssize_t npoints;
    int rc = 0;
    if ((type = H5Dget_type(dset)) < 0 || (npoints = H5Sget_simple_extent_npoints(space)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: '/%s/%s' is not a readable dataset", c->path, c->gpath,
                      name);
        goto done;
    }
    if (H5Tget_class(type) != H5T_FLOAT) {
        rc = s2s_fail(S2S_EFORMAT, "%s: tensor '/%s/%s' is not floating-point", c->path, c->gpath,
                      name);
        goto done;
    }
    /* The buffer below is as large as the extent says: the file must hold that much. */
    char obj[600];
    snprintf(obj, sizeof obj, "/%s/%s", c->gpath, name);
    if ((rc = h5l_check_storage(dset, c->path, obj, NULL, NULL)) < 0)
        goto done;
    size_t bytes = (size_t)npoints * sizeof(float);
    if (!(data = malloc(bytes ? bytes : 1))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory reading '/%s/%s' (%zu bytes)", c->path,
                      c->gpath, name, bytes);
        goto done;
    }
    if (npoints > 0 && H5Dread(dset, H5T_IEEE_F32LE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot read tensor '/%s/%s' (truncated file?)", c->path,
                      c->gpath, name);
        goto done;
    }
    c->h = hash64(c->h, data, bytes);
done:
    free(data);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

/* The tensors of group gpath into *h, one piece each in the group's creation order. */
static int ckpt_hash_group(hid_t file, const char *path, const char *gpath, const param_table *tab,
                           const real *buf, uint64_t *h)
{
    ckpt_hasher c = {.path = path, .gpath = gpath, .tab = tab, .buf = buf, .h = *h};
    int rc = paramfile_each_tensor(file, path, gpath, ckpt_hash_tensor, &c);
    *h = c.h;
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Comma-separated names in columns (an empty string has none). */
static int ckpt_count_columns(const char *columns)
{
    if (!columns || !columns[0])
        return 0;
    int n = 1;
    for (const char *c = columns; *c; c++)
        n += *c == ',';
    return n;
}

static int ckpt_check_vocab(const char *path, const char *side, const char *const *vocab, int n)
{
    if (n < 0 || (n > 0 && !vocab))
        return s2s_fail(S2S_EINVAL, "%s: %s vocabulary of %d tokens without token texts", path,
                        side, n);
    for (int i = 0; i < n; i++)
        if (!vocab[i])
            return s2s_fail(S2S_EINVAL, "%s: %s vocabulary: token %d has no text", path, side, i);
    return 0;
}

/* Everything ckpt_write can reject before creating anything. */
static int ckpt_check_contents(const char *path, const ckpt_contents *c)
{
    int rc;
    if (!path || !c || !c->tab || !c->params)
        return s2s_fail(S2S_EINVAL,
                        "%s: checkpoint without a path, parameter table or "
                        "parameters",
                        path ? path : "(no path)");
    if ((rc = paramfile_check_config(path, c->config)) < 0 ||
        (rc = ckpt_check_vocab(path, "source", c->src_vocab, c->src_vocab_n)) < 0 ||
        (rc = ckpt_check_vocab(path, "target", c->tgt_vocab, c->tgt_vocab_n)) < 0)
        return rc;
    const ckpt_history *hist = &c->history;
    if (hist->rows < 0 || hist->cols < 0 || (hist->rows > 0 && hist->cols > 0 && !hist->data))
        return s2s_fail(S2S_EINVAL, "%s: history of %d x %d values without data", path, hist->rows,
                        hist->cols);
    int named = ckpt_count_columns(hist->columns);
    if (named != hist->cols)
        return s2s_fail(S2S_EINVAL, "%s: history has %d columns but %d column names (\"%s\")", path,
                        hist->cols, named, hist->columns ? hist->columns : "");
    const ckpt_residual *res = &c->residual;
    if (res->ranks < 0 || (res->ranks > 0 && (!res->row || !res->buf)))
        return s2s_fail(S2S_EINVAL, "%s: residuals of %d ranks without a row function or buffer",
                        path, res->ranks);
    if (c->kind != CKPT_TRAINING && c->kind != CKPT_PARAMS)
        return s2s_fail(S2S_EINVAL, "%s: checkpoint of unknown kind %d", path, (int)c->kind);
    if (c->kind == CKPT_PARAMS && (c->exp_avg || c->exp_avg_sq || c->ema || res->ranks > 0))
        return s2s_fail(S2S_EINVAL, "%s: a parameters-only file with optimizer moments, EMA "
                        "weights or gradient residuals", path);
    if (c->origin && strlen(c->origin) >= CKPT_ORIGIN_MAX)
        return s2s_fail(S2S_EINVAL, "%s: origin text of %zu bytes (at most %d)", path,
                        strlen(c->origin), CKPT_ORIGIN_MAX - 1);
    return 0;
}

typedef struct {
    const char *path;
    const ckpt_contents *c;
    uint64_t checksum;
} ckpt_writer;

static int ckpt_write_vocab(hid_t group, const char *path, const char *name,
                            const char *const *vocab, int n)
{
    hid_t type = -1, space = -1, dset = -1;
    hsize_t dims[1] = {(hsize_t)n};
    int rc = 0;
    if ((type = h5u_string_type()) < 0 || (space = H5Screate_simple(1, dims, NULL)) < 0 ||
        (dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (n > 0 && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, vocab) < 0))
        rc = h5u_fail(S2S_EIO, "%s: cannot write the vocabulary /vocab/%s", path, name);
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write the vocabulary /vocab/%s", path, name);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

static int ckpt_write_history(hid_t file, const char *path, const ckpt_history *hist)
{
    hid_t space = -1, dset = -1;
    hsize_t dims[2] = {(hsize_t)hist->rows, (hsize_t)hist->cols};
    int rc = 0;
    if ((space = H5Screate_simple(2, dims, NULL)) < 0 ||
        (dset = H5Dcreate2(file, "history", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT)) < 0 ||
        (dims[0] * dims[1] > 0 &&
         H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, hist->data) < 0) ||
        h5u_write_string_attr(dset, "columns", hist->columns ? hist->columns : "") < 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write /history", path);
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write /history", path);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* /comm/residual: each row from the caller in turn, written into its row of the dataset and
 * hashed; then the attributes. */
static int ckpt_write_residual(hid_t file, const char *path, const ckpt_residual *res)
{
    hid_t group = -1, space = -1, mem = -1, dset = -1;
    hsize_t dims[2] = {(hsize_t)res->ranks, (hsize_t)res->n}, row[2] = {1, (hsize_t)res->n};
    uint64_t h = HASH64_INIT;
    int rc = 0;
    if ((group = H5Gcreate2(file, "comm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (space = H5Screate_simple(2, dims, NULL)) < 0 ||
        (mem = H5Screate_simple(2, row, NULL)) < 0 ||
        (dset = H5Dcreate2(group, "residual", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create /comm/residual", path);
        goto done;
    }
    for (int r = 0; r < res->ranks; r++) {
        hsize_t start[2] = {(hsize_t)r, 0};
        if ((rc = res->row(res->ctx, r, res->buf)) < 0)
            goto done;
        h = hash64(h, res->buf, res->n * sizeof(float));
        if (res->n > 0 &&
            (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, row, NULL) < 0 ||
             H5Dwrite(dset, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, res->buf) < 0)) {
            rc = h5u_fail(S2S_EIO, "%s: cannot write row %d of /comm/residual", path, r);
            goto done;
        }
    }
    if (h5u_write_int_attr(dset, "ranks", H5T_STD_I32LE, res->ranks) < 0 ||
        h5u_write_num_attr(dset, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &h) < 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write the attributes of /comm/residual", path);
done:
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write /comm/residual", path);
    if (mem >= 0)
        H5Sclose(mem);
    if (space >= 0)
        H5Sclose(space);
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

/* The numeric attribute name (file type ftype, memory type mtype) of group gpath of file,
 * which is created first with `create` (else it exists: a tensor group just written). */
static int ckpt_write_group_attr(hid_t file, const char *path, const char *gpath, bool create,
                                 const char *name, hid_t ftype, hid_t mtype, const void *value)
{
    hid_t group = create ? H5Gcreate2(file, gpath, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                         : H5Gopen2(file, gpath, H5P_DEFAULT);
    int rc = 0;
    if (group < 0 || h5u_write_num_attr(group, name, ftype, mtype, value) < 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write the attribute %s of /%s", path, name, gpath);
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

/* The whole checkpoint, into the in-memory file of paramfile_write_image. */
static int ckpt_build(hid_t file, void *ctx)
{
    const ckpt_writer *w = ctx;
    const ckpt_contents *c = w->c;
    const char *path = w->path;
    const real *moment[2] = {c->exp_avg, c->exp_avg_sq};
    hid_t group = -1;
    int rc;
    if (h5u_write_string_attr(file, "format", CKPT_FORMAT) < 0 ||
        h5u_write_int_attr(file, "version", H5T_STD_I32LE, CKPT_VERSION) < 0 ||
        h5u_write_num_attr(file, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &w->checksum) < 0 ||
        h5u_write_string_attr(file, "kind", ckpt_kind_names[c->kind]) < 0 ||
        (c->origin && h5u_write_string_attr(file, "origin", c->origin) < 0))
        return h5u_fail(S2S_EIO, "%s: cannot write the format attributes", path);
    if ((rc = paramfile_write_tensors(file, path, "params", c->tab, c->params)) < 0 ||
        (rc = paramfile_write_config(file, path, c->config)) < 0)
        return rc;

    if (c->kind == CKPT_TRAINING &&
        (rc = ckpt_write_group_attr(file, path, "optim", true, "step", H5T_STD_I64LE,
                                    H5T_NATIVE_INT64, &c->optim_step)) < 0)
        goto done;
    for (int k = 0; k < 2; k++)
        if (moment[k] &&
            (rc = paramfile_write_tensors(file, path, CKPT_MOMENT[k], c->tab, moment[k])) < 0)
            goto done;
    if (c->ema &&
        ((rc = paramfile_write_tensors(file, path, CKPT_EMA, c->tab, c->ema)) < 0 ||
         (rc = ckpt_write_group_attr(file, path, CKPT_EMA, false, "decay", H5T_IEEE_F64LE,
                                     H5T_NATIVE_DOUBLE, &c->ema_decay)) < 0))
        goto done;

    if ((group = H5Gcreate2(file, "vocab", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create group /vocab", path);
        goto done;
    }
    if ((rc = ckpt_write_vocab(group, path, "src", c->src_vocab, c->src_vocab_n)) < 0 ||
        (rc = ckpt_write_vocab(group, path, "tgt", c->tgt_vocab, c->tgt_vocab_n)) < 0)
        goto done;
    H5Gclose(group);
    group = -1;
    if (c->spm && (rc = spm_models_write(file, path, c->spm)) < 0)
        goto done;

    if ((group = H5Gcreate2(file, "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create group /state", path);
        goto done;
    }
    for (int i = 0; i < CKPT_NFIELDS; i++) {
        const ckpt_field *f = &ckpt_fields[i];
        const void *value = (const char *)&c->progress + f->offset;
        if (h5u_write_num_attr(group, f->name, f->is_double ? H5T_IEEE_F64LE : H5T_STD_I64LE,
                                f->is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, value) < 0) {
            rc = h5u_fail(S2S_EIO, "%s: cannot write attribute '/state/%s'", path, f->name);
            goto done;
        }
    }
    if (c->blas_core && h5u_write_string_attr(group, "blas_core", c->blas_core) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot write attribute '/state/blas_core'", path);
        goto done;
    }
    if ((rc = ckpt_write_history(file, path, &c->history)) < 0)
        goto done;
    if (c->residual.ranks > 0)
        rc = ckpt_write_residual(file, path, &c->residual);
done:
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

int ckpt_write(const char *path, const ckpt_contents *c)
{
    int rc = ckpt_check_contents(path, c);
    if (rc < 0)
        return rc;
    const real *stored[3] = {c->exp_avg, c->exp_avg_sq, c->ema}; /* in checksum order */
    ckpt_writer w = {.path = path, .c = c};
    uint64_t h = ckpt_hash_table(HASH64_INIT, c->tab, c->params);
    size_t tensors = 1;
    for (int k = 0; k < 3; k++)
        if (stored[k]) {
            h = ckpt_hash_table(h, c->tab, stored[k]);
            tensors++;
        }
    h = ckpt_hash_counters(h, c->kind == CKPT_TRAINING ? c->optim_step : 0, &c->progress);
    w.checksum = ckpt_hash_history(h, &c->history);

    /* The size of the file, roughly, so that the in-memory image grows once. */
    size_t payload = tensors * param_table_count(c->tab) * 4 +
                     (size_t)c->history.rows * (size_t)c->history.cols * 8 +
                     (size_t)c->residual.ranks * c->residual.n * 4;
    for (int i = 0; i < c->src_vocab_n; i++)
        payload += strlen(c->src_vocab[i]) + 32;
    for (int i = 0; i < c->tgt_vocab_n; i++)
        payload += strlen(c->tgt_vocab[i]) + 32;
    if (c->spm)
        payload += c->spm->n[0] + c->spm->n[1];
    return paramfile_write_image(path, CKPT_FORMAT, payload, ckpt_build, &w);
}

/* ---- reading ------------------------------------------------------------------------------- */

static void ckpt_history_free(ckpt_history *h)
{
    free(h->data);
    free((char *)h->columns);
    h->data = NULL;
    h->columns = NULL;
    h->rows = h->cols = 0;
}

void ckpt_loaded_free(ckpt_loaded *l)
{
    if (l)
        ckpt_history_free(&l->history);
}

void ckpt_summary_free(ckpt_summary *s)
{
    if (s)
        ckpt_history_free(&s->history);
}

static int ckpt_open(const char *path, hid_t *file)
{
    long long version = 0;
    int rc = h5u_open(path, "checkpoint", CKPT_FORMAT, 0, file, &version);
    if (rc == 0 && version != CKPT_VERSION) {
        H5Fclose(*file);
        *file = -1;
        rc = s2s_fail(S2S_EFORMAT, "%s: checkpoint version %lld, but this program reads version %d",
                      path, version, CKPT_VERSION);
    }
    return rc;
}

/* /history into hist (allocated; the caller frees it on error too). */
static int ckpt_read_history(hid_t file, const char *path, ckpt_history *hist)
{
    hid_t dset = -1, space = -1, type = -1;
    int rc = 0;
    hsize_t dims[2];
    bool is_string;
    if (H5Lexists(file, "history", H5P_DEFAULT) <= 0 ||
        (dset = H5Dopen2(file, "history", H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0 ||
        (type = H5Dget_type(dset)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: no readable dataset /history", path);
        goto done;
    }
    if (H5Sget_simple_extent_ndims(space) != 2 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 || H5Tget_class(type) != H5T_FLOAT ||
        dims[0] > (1u << 30) || dims[1] > (1u << 20)) {
        rc = s2s_fail(S2S_EFORMAT, "%s: /history is not a [rows, cols] floating-point table", path);
        goto done;
    }
    if ((rc = h5l_check_storage(dset, path, "/history", NULL, NULL)) < 0)
        goto done;
    size_t n = (size_t)(dims[0] * dims[1]);
    if (n > 0 && !(hist->data = malloc(n * sizeof(double)))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory reading /history", path);
        goto done;
    }
    if (n > 0 && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, hist->data) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot read /history (truncated file?)", path);
        goto done;
    }
    hist->rows = (int)dims[0];
    hist->cols = (int)dims[1];
    if (!(hist->columns = h5u_read_named_string_attr(dset, "columns", &is_string)))
        rc = h5u_fail(S2S_EFORMAT, "%s: /history has no string attribute 'columns'", path);
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

/* The root attributes kind (absent: a training checkpoint, as every file before it) and
 * origin (optional, informational) into m. */
static int ckpt_read_kind(hid_t file, const char *path, ckpt_summary *m)
{
    bool is_string;
    m->kind = CKPT_TRAINING;
    if (H5Aexists(file, "kind") > 0) {
        char *kind = h5u_read_named_string_attr(file, "kind", &is_string);
        int k = kind ? choice_find(ckpt_kind_names, kind) : -1;
        int rc = k >= 0 ? 0
                        : s2s_fail(S2S_EFORMAT, "%s: root attribute kind is %s%s%s, not one of "
                                   "training, params", path, kind ? "'" : "not a string",
                                   kind ? kind : "", kind ? "'" : "");
        free(kind);
        if (rc < 0)
            return rc;
        m->kind = (ckpt_kind)k;
    }
    char *origin = H5Aexists(file, "origin") > 0
                       ? h5u_read_named_string_attr(file, "origin", &is_string)
                       : NULL;
    snprintf(m->origin, sizeof m->origin, "%s", origin ? origin : "");
    free(origin);
    return 0;
}

/* What ckpt_read and ckpt_verify both read besides the tensors: the stored checksum, the
 * kind, the optimizer step, which moment and EMA groups exist, the progress fields and the
 * history. Sets
 * m->complete when all of it is read. */
static int ckpt_read_meta(hid_t file, const char *path, ckpt_summary *m)
{
    hid_t group = -1;
    int rc = 0;
    if (h5u_read_num_attr(file, "checksum", H5T_INTEGER, H5T_NATIVE_UINT64, &m->checksum) < 0)
        return s2s_fail(S2S_EFORMAT, "%s: no integer attribute 'checksum'", path);
    if ((rc = ckpt_read_kind(file, path, m)) < 0)
        return rc;
    if (H5Lexists(file, "params", H5P_DEFAULT) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: no group /params", path);
    /* A parameters-only file has no optimizer, EMA or residuals: whatever else it holds is not
     * part of it (the checksum does not cover it), so it is not looked at. */
    if (m->kind == CKPT_TRAINING) {
        if (H5Lexists(file, "optim", H5P_DEFAULT) <= 0 ||
            (group = H5Gopen2(file, "optim", H5P_DEFAULT)) < 0 ||
            h5u_read_num_attr(group, "step", H5T_INTEGER, H5T_NATIVE_INT64, &m->optim_step) < 0) {
            rc = s2s_fail(S2S_EFORMAT, "%s: no group /optim with an integer attribute 'step'",
                          path);
            goto done;
        }
        H5Gclose(group);
        group = -1;
        for (int k = 0; k < 2; k++)
            m->has_moment[k] = h5u_has_link(file, CKPT_MOMENT[k]);
        m->has_ema = h5u_has_link(file, CKPT_EMA);
    }
    if (m->has_ema &&
        ((group = H5Gopen2(file, CKPT_EMA, H5P_DEFAULT)) < 0 ||
         h5u_read_num_attr(group, "decay", H5T_FLOAT, H5T_NATIVE_DOUBLE, &m->ema_decay) < 0)) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no group /ema with a floating-point attribute 'decay'",
                      path);
        goto done;
    }
    if (group >= 0)
        H5Gclose(group);
    group = -1;
    if (H5Lexists(file, "state", H5P_DEFAULT) <= 0 ||
        (group = H5Gopen2(file, "state", H5P_DEFAULT)) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no group /state", path);
        goto done;
    }
    for (int i = 0; i < CKPT_NFIELDS; i++) {
        const ckpt_field *f = &ckpt_fields[i];
        void *value = (char *)&m->progress + f->offset;
        if (h5u_read_num_attr(group, f->name, f->is_double ? H5T_FLOAT : H5T_INTEGER,
                               f->is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, value) < 0) {
            rc = s2s_fail(S2S_EFORMAT, "%s: no %s attribute '/state/%s'", path,
                          f->is_double ? "floating-point" : "integer", f->name);
            goto done;
        }
    }
    /* Informational, and absent from older files: not an error either way. */
    bool is_string;
    char *core = h5u_read_named_string_attr(group, "blas_core", &is_string);
    if (core)
        snprintf(m->blas_core, sizeof m->blas_core, "%s", core);
    free(core);
    rc = ckpt_read_history(file, path, &m->history);
    m->complete = rc == 0;
done:
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

static int ckpt_compare(const char *path, uint64_t stored, uint64_t computed)
{
    if (stored == computed)
        return 0;
    return s2s_fail(S2S_EFORMAT,
                    "%s: checksum mismatch (stored %016" PRIx64 ", contents give %016" PRIx64
                    "): the file was changed or damaged after it was written",
                    path, stored, computed);
}

/* A checkpoint's vocabulary is a dataset's (dataset.c bounds those to the same size), and
 * embeddings of more rows than this are 4 GiB at 64 dimensions. */
#define CKPT_VOCAB_MAX (1 << 24)

/* Entries of a vocabulary read at once by ckpt_read_vocab: its memory is this many strings, not
 * the whole vocabulary's. */
#define CKPT_VOCAB_BLOCK 65536

static int ckpt_vocab_size(hid_t file, const char *path, const char *name, int *n)
{
    char link[16];
    snprintf(link, sizeof link, "vocab/%s", name);
    long long len = h5u_vector_length(file, link);
    if (len < 0)
        return s2s_fail(S2S_EFORMAT, "%s: no one-dimensional dataset /vocab/%s", path, name);
    if (len > CKPT_VOCAB_MAX)
        return s2s_fail(S2S_EFORMAT, "%s: /vocab/%s: %lld tokens, more than the %d a vocabulary "
                        "may have", path, name, len, CKPT_VOCAB_MAX);
    *n = (int)len;
    return 0;
}

int ckpt_read(const char *path, const param_table *tab, ckpt_loaded *out)
{
    hid_t file = -1;
    /* the groups besides /params, in checksum order */
    real *group[3] = {out->exp_avg, out->exp_avg_sq, out->ema};
    static const char *const gpath[3] = {"optim/exp_avg", "optim/exp_avg_sq", CKPT_EMA};
    ckpt_summary m = {0};
    int rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    if ((rc = ckpt_read_meta(file, path, &m)) < 0)
        goto fail;
    const bool present[3] = {m.has_moment[0], m.has_moment[1], m.has_ema};
    bool missing[2] = {group[0] && !present[0], group[1] && !present[1]};
    if (m.kind == CKPT_PARAMS && (missing[0] || missing[1] || group[2])) {
        rc = s2s_fail(S2S_EFORMAT, "%s is a parameters-only file (kind params): it holds no "
                      "optimizer state or EMA weights", path);
        goto fail;
    }
    if (group[2] && !present[2]) {
        rc = s2s_fail(S2S_EFORMAT, "%s: the EMA weights /ema are requested but not in the "
                      "checkpoint (trained without --ema)", path);
        goto fail;
    }
    if (missing[0] || missing[1]) {
        rc = s2s_fail(
            S2S_EFORMAT,
            "%s: the optimizer state %s%s%s %s requested but not in the checkpoint "
            "(written by a run with another optimizer?)",
            path, missing[0] ? "/optim/exp_avg" : "", missing[0] && missing[1] ? " and " : "",
            missing[1] ? "/optim/exp_avg_sq" : "", missing[0] && missing[1] ? "are" : "is");
        goto fail;
    }
    if ((rc = paramfile_read_tensors(file, path, "params", tab, out->params)) < 0)
        goto fail;
    for (int k = 0; k < 3; k++)
        if (group[k] && (rc = paramfile_read_tensors(file, path, gpath[k], tab, group[k])) < 0)
            goto fail;
    if ((rc = ckpt_vocab_size(file, path, "src", &out->src_vocab_n)) < 0 ||
        (rc = ckpt_vocab_size(file, path, "tgt", &out->tgt_vocab_n)) < 0)
        goto fail;

    /* A group the caller did not ask for is still part of the checksum: hashed as stored. */
    uint64_t h = HASH64_INIT;
    if ((rc = ckpt_hash_group(file, path, "params", tab, out->params, &h)) < 0)
        goto fail;
    for (int k = 0; k < 3; k++)
        if (present[k] &&
            (rc = ckpt_hash_group(file, path, gpath[k], group[k] ? tab : NULL, group[k], &h)) < 0)
            goto fail;
    h = ckpt_hash_counters(h, m.optim_step, &m.progress);
    h = ckpt_hash_history(h, &m.history);
    if ((rc = ckpt_compare(path, m.checksum, h)) < 0)
        goto fail;

    out->kind = m.kind;
    out->optim_step = m.optim_step;
    out->has_exp_avg = m.has_moment[0];
    out->has_exp_avg_sq = m.has_moment[1];
    out->has_ema = m.has_ema;
    out->ema_decay = m.ema_decay;
    out->progress = m.progress;
    out->history = m.history;
    H5Fclose(file);
    return 0;
fail:
    ckpt_summary_free(&m);
    H5Fclose(file);
    return rc;
}

/* /comm/residual of the open file: res->ranks set to the rows stored (0: none); with
 * `deliver`, when that equals the rows asked for (*want), each row goes through res->buf to
 * res->row (NULL: only hashed) and the rows' checksum is compared. res->n: the row length
 * the caller expects, or 0 to take the stored one (ckpt_verify, which then allocates buf). */
static int ckpt_residual_rows(hid_t file, const char *path, ckpt_residual *res, int want,
                              bool deliver)
{
    hid_t dset = -1, space = -1, mem = -1;
    float *own = NULL;
    int rc = 0;
    res->ranks = 0;
    if (!h5u_has_link(file, "comm/residual"))
        return 0;
    hsize_t dims[2] = {0, 0};
    long long ranks = -1;
    uint64_t stored = 0;
    if ((dset = H5Dopen2(file, "comm/residual", H5P_DEFAULT)) < 0 ||
        (space = H5Dget_space(dset)) < 0 || H5Sget_simple_extent_ndims(space) != 2 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
        h5u_read_int_attr(dset, "ranks", &ranks) < 0 ||
        h5u_read_num_attr(dset, "checksum", H5T_INTEGER, H5T_NATIVE_UINT64, &stored) < 0 ||
        ranks != (long long)dims[0] || ranks < 1 || ranks > INT32_MAX) {
        rc = s2s_fail(S2S_EFORMAT, "%s: /comm/residual is not a two-dimensional float dataset "
                      "with integer attributes ranks (its rows) and checksum", path);
        goto done;
    }
    if (res->n == 0)
        res->n = (size_t)dims[1];
    if ((hsize_t)res->n != dims[1]) {
        rc = s2s_fail(S2S_EFORMAT, "%s: /comm/residual has rows of %llu values, the model %zu",
                      path, (unsigned long long)dims[1], res->n);
        goto done;
    }
    res->ranks = (int)ranks;
    if (!deliver || res->ranks != want)
        goto done;
    if (!res->buf && !(res->buf = own = malloc((res->n ? res->n : 1) * sizeof *own))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: no memory for a row of /comm/residual", path);
        goto done;
    }
    hsize_t row[2] = {1, dims[1]};
    uint64_t h = HASH64_INIT;
    if ((mem = H5Screate_simple(2, row, NULL)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot read /comm/residual", path);
        goto done;
    }
    for (int r = 0; r < res->ranks; r++) {
        hsize_t start[2] = {(hsize_t)r, 0};
        if (res->n > 0 &&
            (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, row, NULL) < 0 ||
             H5Dread(dset, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, res->buf) < 0)) {
            rc = h5u_fail(S2S_EFORMAT, "%s: cannot read row %d of /comm/residual", path, r);
            goto done;
        }
        h = hash64(h, res->buf, res->n * sizeof(float));
        if (res->row && (rc = res->row(res->ctx, r, res->buf)) < 0)
            goto done;
    }
    if (h != stored)
        rc = s2s_fail(S2S_EFORMAT, "%s: checksum mismatch in /comm/residual (stored %016" PRIx64
                      ", contents give %016" PRIx64 ")", path, stored, h);
done:
    if (own)
        res->buf = NULL;
    free(own);
    if (mem >= 0)
        H5Sclose(mem);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

int ckpt_read_residual(const char *path, ckpt_residual *res)
{
    hid_t file = -1;
    int want = res->ranks, rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    if (res->n == 0) /* no model has 0 parameters; 0 would mean "take the stored length" */
        rc = s2s_fail(S2S_EINVAL, "%s: residual rows of 0 values asked for", path);
    else
        rc = ckpt_residual_rows(file, path, res, want, res->row != NULL);
    H5Fclose(file);
    return rc;
}

int ckpt_read_summary(const char *path, ckpt_summary *s)
{
    hid_t file = -1;
    uint64_t h = HASH64_INIT;
    memset(s, 0, sizeof *s);
    int rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    if ((rc = ckpt_read_meta(file, path, s)) < 0 ||
        (rc = ckpt_hash_group(file, path, "params", NULL, NULL, &h)) < 0)
        goto done;
    for (int k = 0; k < 2; k++)
        if (s->has_moment[k] &&
            (rc = ckpt_hash_group(file, path, CKPT_MOMENT[k], NULL, NULL, &h)) < 0)
            goto done;
    if (s->has_ema && (rc = ckpt_hash_group(file, path, CKPT_EMA, NULL, NULL, &h)) < 0)
        goto done;
    h = ckpt_hash_counters(h, s->optim_step, &s->progress);
    h = ckpt_hash_history(h, &s->history);
    rc = ckpt_compare(path, s->checksum, h);
    if (rc == 0) { /* the residuals (checksummed on their own), hashed as stored */
        ckpt_residual res = {0};
        rc = ckpt_residual_rows(file, path, &res, -1, false);
        if (rc == 0 && res.ranks > 0)
            rc = ckpt_residual_rows(file, path, &res, res.ranks, true);
    }
done:
    H5Fclose(file);
    return rc;
}

int ckpt_read_head(const char *path, ckpt_summary *s)
{
    hid_t file = -1;
    memset(s, 0, sizeof *s);
    int rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    rc = ckpt_read_meta(file, path, s);
    H5Fclose(file);
    return rc;
}

int ckpt_verify(const char *path)
{
    ckpt_summary s;
    int rc = ckpt_read_summary(path, &s);
    ckpt_summary_free(&s);
    return rc;
}

int ckpt_read_config(const char *path, ckpt_config_fn fn, void *ctx)
{
    hid_t file = -1;
    int rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    rc = paramfile_read_group_config(file, path, fn, ctx);
    H5Fclose(file);
    return rc;
}

int ckpt_read_spm(const char *path, spm_models *m)
{
    hid_t file = -1;
    memset(m, 0, sizeof *m);
    int rc = ckpt_open(path, &file);
    if (rc < 0)
        return rc;
    rc = spm_models_read(file, path, NULL, m);
    H5Fclose(file);
    return rc;
}

int ckpt_read_vocab(const char *path, int side, int (*fn)(int id, const char *text, void *ctx),
                    void *ctx)
{
    const char *name = side == 0 ? "src" : "tgt";
    hid_t file = -1, dset = -1, ftype = -1, mtype = -1, fspace = -1, mspace = -1;
    char **text = NULL;
    int n = 0, rc;
    if (side != 0 && side != 1)
        return s2s_fail(S2S_EINVAL, "%s: vocabulary side %d (expected 0 or 1)", path, side);
    if ((rc = ckpt_open(path, &file)) < 0)
        return rc;
    if ((rc = ckpt_vocab_size(file, path, name, &n)) < 0)
        goto done;
    char link[16], obj[16];
    snprintf(link, sizeof link, "vocab/%s", name);
    snprintf(obj, sizeof obj, "/vocab/%s", name);
    if ((dset = H5Dopen2(file, link, H5P_DEFAULT)) < 0 || (ftype = H5Dget_type(dset)) < 0 ||
        (fspace = H5Dget_space(dset)) < 0 || H5Tget_class(ftype) != H5T_STRING ||
        H5Tis_variable_str(ftype) <= 0 || (mtype = h5u_string_type()) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: /vocab/%s is not a list of variable-length strings", path,
                      name);
        goto done;
    }
    if ((rc = h5l_check_storage(dset, path, obj, NULL, NULL)) < 0)
        goto done;
    int per = n < CKPT_VOCAB_BLOCK ? n : CKPT_VOCAB_BLOCK;
    if (n > 0 && !(text = calloc((size_t)per, sizeof *text))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory reading /vocab/%s", path, name);
        goto done;
    }
    for (int at = 0; at < n && rc == 0; at += per) {
        hsize_t start = (hsize_t)at, count = (hsize_t)(n - at < per ? n - at : per);
        if (H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
            (mspace = H5Screate_simple(1, &count, NULL)) < 0 ||
            H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, text) < 0) {
            rc = h5u_fail(S2S_EFORMAT, "%s: cannot read /vocab/%s (truncated file?)", path, name);
            if (mspace >= 0)
                H5Sclose(mspace);
            mspace = -1;
            break;
        }
        for (int i = 0; i < (int)count && rc == 0; i++) {
            int r = fn(at + i, text[i] ? text[i] : "", ctx);
            if (r < 0)
                rc = r;
        }
        H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, text);
        memset(text, 0, (size_t)per * sizeof *text);
        H5Sclose(mspace);
        mspace = -1;
    }
    rc = rc < 0 ? rc : 0;
done:
    free(text);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (dset >= 0)
        H5Dclose(dset);
    H5Fclose(file);
    return rc;
}

/* ---- run directories ----------------------------------------------------------------------- */

int ckpt_step_path(char *buf, size_t size, const char *dir, int64_t step)
{
    if (step < 0)
        return s2s_fail(S2S_EINVAL, "%s: checkpoint of negative step %" PRId64, dir, step);
    int n = snprintf(buf, size, "%s/ckpt-%08" PRId64 ".h5", dir, step);
    if (n < 0 || (size_t)n >= size)
        return s2s_fail(S2S_ERANGE, "%s: checkpoint path longer than %zu characters", dir,
                        size ? size - 1 : 0);
    return 0;
}

int ckpt_best_path(char *buf, size_t size, const char *dir)
{
    int n = snprintf(buf, size, "%s/best.h5", dir);
    if (n < 0 || (size_t)n >= size)
        return s2s_fail(S2S_ERANGE, "%s: checkpoint path longer than %zu characters", dir,
                        size ? size - 1 : 0);
    return 0;
}

typedef struct {
    int64_t step;
    char *path;
} ckpt_entry;

static void ckpt_entries_free(ckpt_entry *e, int n)
{
    for (int i = 0; i < n; i++)
        free(e[i].path);
    free(e);
}

static int ckpt_entry_newer_first(const void *a, const void *b)
{
    const ckpt_entry *x = a, *y = b;
    return x->step > y->step ? -1 : x->step < y->step ? 1 : strcmp(x->path, y->path);
}

/* The step of a name "ckpt-<digits>.h5", or -1 for anything else (best.h5, temporaries
 * "ckpt-....h5.tmp.*" of writes in progress, other files). */
static int64_t ckpt_name_step(const char *name)
{
    if (strncmp(name, "ckpt-", 5) != 0)
        return -1;
    const char *d = name + 5;
    size_t digits = strspn(d, "0123456789");
    if (digits == 0 || digits > 18 || strcmp(d + digits, ".h5") != 0)
        return -1;
    return strtoll(d, NULL, 10);
}

/* The checkpoints of dir, newest first, as paths "dir/name". */
static int ckpt_list(const char *dir, ckpt_entry **out, int *count)
{
    DIR *d = opendir(dir);
    ckpt_entry *e = NULL;
    int n = 0, cap = 0, rc = 0;
    *out = NULL;
    *count = 0;
    if (!d)
        return s2s_fail(S2S_EIO, "%s: cannot list the checkpoint directory: %s", dir,
                        strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t step = ckpt_name_step(de->d_name);
        if (step < 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            ckpt_entry *grown = realloc(e, (size_t)cap * sizeof *e);
            if (!grown) {
                rc = s2s_fail(S2S_ENOMEM, "%s: out of memory listing checkpoints", dir);
                goto fail;
            }
            e = grown;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        if (!(e[n].path = malloc(len))) {
            rc = s2s_fail(S2S_ENOMEM, "%s: out of memory listing checkpoints", dir);
            goto fail;
        }
        snprintf(e[n].path, len, "%s/%s", dir, de->d_name);
        e[n++].step = step;
    }
    closedir(d);
    if (n > 1)
        qsort(e, (size_t)n, sizeof *e, ckpt_entry_newer_first);
    *out = e;
    *count = n;
    return 0;
fail:
    closedir(d);
    ckpt_entries_free(e, n);
    return rc;
}

int ckpt_find_latest(const char *dir, char *buf, size_t size, FILE *log)
{
    ckpt_entry *e;
    int n, rc = ckpt_list(dir, &e, &n);
    if (rc < 0)
        return rc;
    rc = s2s_fail(S2S_EINVAL, "no valid checkpoint in %s", dir);
    for (int i = 0; i < n; i++) {
        ckpt_summary s;
        int st = ckpt_read_summary(e[i].path, &s);
        ckpt_summary_free(&s);
        if (st == S2S_ESTOPPED) { /* not the file's fault: no "skipping" line */
            rc = st;
            break;
        }
        if (st == 0 && s.kind != CKPT_TRAINING)
            st = s2s_fail(S2S_EINVAL, "a parameters-only file (kind %s), not a training "
                          "checkpoint", ckpt_kind_names[s.kind]);
        if (st < 0) {
            if (log)
                fprintf(log, "s2s: skipping checkpoint %s: %s\n", e[i].path, s2s_errmsg(st));
            continue;
        }
        if (strlen(e[i].path) >= size)
            rc = s2s_fail(S2S_ERANGE, "%s: checkpoint path longer than %zu characters", e[i].path,
                          size ? size - 1 : 0);
        else {
            memcpy(buf, e[i].path, strlen(e[i].path) + 1);
            rc = 0;
        }
        break;
    }
    if (rc == S2S_EINVAL) /* the verifications since have replaced the message */
        rc = s2s_fail(S2S_EINVAL, "no valid checkpoint in %s", dir);
    ckpt_entries_free(e, n);
    return rc;
}

int ckpt_list_paths(const char *dir, char ***paths, int *n)
{
    ckpt_entry *e;
    int count, rc = ckpt_list(dir, &e, &count);
    *paths = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    char **p = malloc((size_t)(count ? count : 1) * sizeof *p);
    if (!p) {
        ckpt_entries_free(e, count);
        return s2s_fail(S2S_ENOMEM, "%s: out of memory listing checkpoints", dir);
    }
    for (int i = 0; i < count; i++)
        p[i] = e[i].path; /* handed over */
    free(e);
    *paths = p;
    *n = count;
    return 0;
}

void ckpt_paths_free(char **paths, int n)
{
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

int ckpt_prune(const char *dir, int keep, FILE *log)
{
    if (keep < 1)
        return s2s_fail(S2S_EINVAL, "%s: keeping %d checkpoints (at least 1 is needed)", dir, keep);
    ckpt_entry *e;
    int n, rc = ckpt_list(dir, &e, &n);
    if (rc < 0)
        return rc;
    for (int i = keep; i < n; i++)
        if (unlink(e[i].path) != 0 && log)
            fprintf(log, "s2s: cannot remove checkpoint %s: %s\n", e[i].path, strerror(errno));
    ckpt_entries_free(e, n);
    return 0;
}
