/* info_read.c - `s2s info`'s reading: a file opened with the integrity check, its kind from
 * the root attribute `format`, and its contents gathered into an info_file
 * (src/tools/info_internal.h); also the few walks over that data that the text and the JSON
 * renderers share.
 *
 * The readers are the library's: /config and the tensors of /params (listed as stored, in
 * creation order: no parameter table is needed) with paramfile.c's group functions, a
 * checkpoint's state, optimizer step, history and checksum with ckpt_read_summary, and
 * datasets with ds_open, which validates the whole file. */
#include "tools/info_internal.h"

#include "store/paramfile_io.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/h5util.h"
#include "s2s/json.h"
#include "s2s/model_options.h"
#include "s2s/paramfile.h"
#include "s2s/probe.h"
#include "s2s/seal.h"
#include "s2s/spm_store.h"
#include "s2s/status.h"

const char *const info_formats[INFO_NKINDS] = {CKPT_FORMAT, PARAMFILE_FORMAT, DATASET_FORMAT,
                                               ATTN_FORMAT};
const char *const info_kind_names[INFO_NKINDS] = {"checkpoint", "parameter file", "dataset",
                                                  "attention file"};
const char *const info_kind_keys[INFO_NKINDS] = {"checkpoint", "params", "dataset", "attention"};
const char *const info_moments[2] = {"exp_avg", "exp_avg_sq"};

void info_free(info_file *f)
{
    for (int i = 0; i < f->n_root_attrs; i++)
        free(f->root_attrs[i]);
    free(f->root_attrs);
    for (int i = 0; i < f->n_config; i++) {
        free(f->config[i].key);
        free(f->config[i].value);
    }
    free(f->config);
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    ckpt_summary_free(&f->ckpt);
    free(f->checksum_error);
    spm_models_free(&f->spm);
    for (int s = 0; s < 2; s++)
        free(f->spm_error[s]);
    ds_close(f->ds);
    memset(f, 0, sizeof *f);
}

/* Grows *arr (elements of size elem) to hold n + 1; false on allocation failure. */
static bool grow(void **arr, int n, size_t elem)
{
    void *p = realloc(*arr, (size_t)(n + 1) * elem);
    if (!p)
        return false;
    *arr = p;
    return true;
}

/* ---- opening: what kind of file ------------------------------------------------------------- */

static herr_t collect_root_attr(hid_t loc, const char *name, const H5A_info_t *ai, void *ctx)
{
    info_file *f = ctx;
    (void)loc;
    (void)ai;
    char *copy = strdup(name);
    if (!copy || !grow((void **)&f->root_attrs, f->n_root_attrs, sizeof *f->root_attrs)) {
        free(copy);
        return -1;
    }
    f->root_attrs[f->n_root_attrs++] = copy;
    return 0;
}

/* f->kind from the `format` attribute: one message for each way it can fail to be s2s's. */
static int read_kind(info_file *f, hid_t file, const char *path)
{
    const char *const *fm = info_formats;
    bool is_string = false;
    char *format;
    if (H5Aexists(file, "format") <= 0)
        return s2s_fail(S2S_EFORMAT,
                        "%s: not an s2s file: an HDF5 file without a 'format' attribute (s2s "
                        "files have format \"%s\", \"%s\", \"%s\" or \"%s\")",
                        path, fm[0], fm[1], fm[2], fm[3]);
    if (!(format = h5u_read_named_string_attr(file, "format", &is_string)))
        return s2s_fail(S2S_EFORMAT, "%s: not an s2s file: its 'format' attribute is %s", path,
                        is_string ? "an unreadable string" : "not a string");
    int which = -1, rc = 0;
    for (int k = 0; k < INFO_NKINDS && which < 0; k++)
        if (!strcmp(format, fm[k]))
            which = k;
    if (which < 0)
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: not an s2s file: format attribute '%s' (s2s files have \"%s\", \"%s\", "
                      "\"%s\" or \"%s\")",
                      path, format, fm[0], fm[1], fm[2], fm[3]);
    else
        f->kind = (info_kind)which;
    free(format);
    return rc;
}

/* What every kind needs before its contents: the record (only a dataset may lack it), an
 * integer version, the names of the root attributes. */
static int read_root(info_file *f, hid_t file, const char *path)
{
    if (!f->sealed && f->kind != INFO_DATASET && !probe_in_child())
        return h5u_unsealed_fail(path, info_kind_names[f->kind]);
    if (h5u_read_int_attr(file, "version", &f->version) < 0)
        return s2s_fail(S2S_EFORMAT, "%s: %s without an integer attribute 'version'", path,
                        info_kind_names[f->kind]);
    hsize_t idx = 0;
    if (H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_root_attr, f) < 0)
        return h5u_fail(S2S_EFORMAT, "%s: cannot list the root attributes", path);
    return 0;
}

/* Opens path as h5u_open does and finds its kind. The messages are this command's own (those
 * of h5u_open name the one kind expected). */
static int info_open(info_file *f, const char *path, hid_t *file_out)
{
    hid_t file = -1;
    int rc;
    *file_out = -1;
    h5u_quiet();
    /* The integrity record first (a damaged file goes no further); a file without one is read
     * whole by a probe process before this one parses it, and only a dataset may lack it. */
    seal_info seal;
    if ((rc = h5u_check(path, "s2s file", info_formats, INFO_NKINDS,
                        H5U_FOREIGN_OK | H5U_QUIET_UNVERIFIED, &seal)) < 0)
        return rc;
    f->size = seal.size;
    f->sealed = seal.state == SEAL_VALID;
    f->seal_hash = seal.hash;
    if ((rc = h5u_open_file(path, &file)) < 0)
        return rc;
    if ((rc = read_kind(f, file, path)) < 0 || (rc = read_root(f, file, path)) < 0) {
        H5Fclose(file);
        return rc;
    }
    *file_out = file;
    return 0;
}

/* ---- checkpoints and parameter files -------------------------------------------------------- */

static int add_config(const char *key, const char *value, void *ctx)
{
    info_file *f = ctx;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v || !grow((void **)&f->config, f->n_config, sizeof *f->config)) {
        free(k);
        free(v);
        return s2s_fail(S2S_ENOMEM, "%s: out of memory reading /config", f->path);
    }
    f->config[f->n_config++] = (info_kv){k, v};
    return 0;
}

static const char *config_value(const info_file *f, const char *key)
{
    for (int i = 0; i < f->n_config; i++)
        if (!strcmp(f->config[i].key, key))
            return f->config[i].value;
    return NULL;
}

/* One dataset of /params with its shape (paramfile_each_tensor). */
static int add_tensor(const char *name, hid_t dset, hid_t space, void *ctx)
{
    info_file *f = ctx;
    hsize_t dims[H5S_MAX_RANK];
    int ndim = H5Sget_simple_extent_dims(space, dims, NULL);
    (void)dset;
    if (ndim < 0)
        return h5u_fail(S2S_EFORMAT, "%s: '/params/%s' is not a readable dataset", f->path, name);
    if (ndim > INFO_MAX_DIMS)
        return s2s_fail(S2S_EFORMAT, "%s: tensor '/params/%s' has %d dimensions", f->path, name,
                        ndim);
    info_tensor t = {.name = strdup(name), .ndim = ndim, .count = 1};
    for (int d = 0; d < ndim; d++) {
        t.dims[d] = (long long)dims[d];
        t.count *= (long long)dims[d];
    }
    if (!t.name || !grow((void **)&f->tensors, f->n_tensors, sizeof *f->tensors)) {
        free(t.name);
        return s2s_fail(S2S_ENOMEM, "%s: out of memory listing /params", f->path);
    }
    f->tensors[f->n_tensors++] = t;
    f->total_params += t.count;
    return 0;
}

static long long tensor_rows(const info_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name) && f->tensors[i].ndim >= 1)
            return f->tensors[i].dims[0];
    return -1;
}

/* Vocabulary sizes: a checkpoint's /vocab, else src-vocab/tgt-vocab of /config, else the rows
 * of the embedding tensors. */
static void find_vocab(info_file *f, hid_t file)
{
    static const char *const links[2] = {"vocab/src", "vocab/tgt"};
    static const char *const keys[2] = {"src-vocab", "tgt-vocab"};
    static const char *const embeds[2] = {"src_embed.weight", "tgt_embed.weight"};
    f->vocab[0] = h5u_vector_length(file, links[0]);
    f->vocab[1] = h5u_vector_length(file, links[1]);
    if (f->vocab[0] >= 0 || f->vocab[1] >= 0) {
        f->vocab_from = "/vocab";
        return;
    }
    for (int s = 0; s < 2; s++) {
        const char *v = config_value(f, keys[s]);
        char *end;
        long long n = v ? strtoll(v, &end, 10) : -1;
        f->vocab[s] = v && *v && !*end && n >= 0 ? n : -1;
    }
    if (f->vocab[0] >= 0 || f->vocab[1] >= 0) {
        f->vocab_from = "/config";
        return;
    }
    for (int s = 0; s < 2; s++)
        f->vocab[s] = tensor_rows(f, embeds[s]);
    f->vocab_from = "embeddings";
}

/* A checkpoint or parameter file, still open as file. */
/* What the SentencePiece models in f->spm are; bytes that are no model are described as such. */
static int describe_spm(info_file *f)
{
    for (int s = 0; s < 2; s++) {
        if (f->spm.n[s] == 0)
            continue;
        char what[64];
        snprintf(what, sizeof what, "/spm/%s", s ? "tgt" : "src");
        if (spm_describe(f->spm.bytes[s], f->spm.n[s], what, &f->spm_about[s]) < 0 &&
            !(f->spm_error[s] = strdup(s2s_errmsg(S2S_EFORMAT))))
            return s2s_fail(S2S_ENOMEM, "%s: out of memory", f->path);
        s2s_clear_error();
    }
    return 0;
}

static int read_model_file(info_file *f, hid_t file)
{
    static const long long versions[] = {
        [INFO_CKPT] = CKPT_VERSION, [INFO_PARAMS] = PARAMFILE_VERSION};
    int rc;
    if (f->version != versions[f->kind])
        return s2s_fail(S2S_EFORMAT, "%s: %s format version %lld, this s2s reads version %lld",
                        f->path, info_kind_names[f->kind], f->version, versions[f->kind]);
    if ((rc = paramfile_read_group_config(file, f->path, add_config, f)) < 0 ||
        (rc = paramfile_each_tensor(file, f->path, "params", add_tensor, f)) < 0)
        return rc;
    find_vocab(f, file);
    if ((rc = spm_models_read(file, f->path, NULL, &f->spm)) < 0)
        return rc;
    return describe_spm(f);
}

/* What a checkpoint holds besides its parameters. ckpt_verify keeping what it reads: a
 * checkpoint that is not valid is described all the same, with the reason. */
static int read_checkpoint(info_file *f)
{
    int st = ckpt_read_summary(f->path, &f->ckpt);
    if (st < 0 && !(f->checksum_error = strdup(s2s_errmsg(st))))
        return s2s_fail(S2S_ENOMEM, "%s: out of memory", f->path);
    s2s_clear_error();
    return 0;
}

/* ---- datasets ------------------------------------------------------------------------------- */

/* Token counts and longest sentence of split s, both sides. */
static int read_split(info_file *f, split_id s)
{
    info_split *si = &f->split[s];
    si->pairs = ds_count(f->ds, s);
    if (si->pairs == 0)
        return 0;
    int *len = malloc(2 * (size_t)si->pairs * sizeof *len);
    if (!len)
        return s2s_fail(S2S_ENOMEM, "%s: out of memory for the lengths of /%s", f->path,
                        split_name(s));
    int rc = ds_lengths(f->ds, s, len, len + si->pairs);
    for (int side = 0; side < 2 && rc == 0; side++)
        for (long i = 0; i < si->pairs; i++) {
            int l = len[(size_t)side * (size_t)si->pairs + (size_t)i];
            si->tokens[side] += l;
            if (l > si->max_len[side])
                si->max_len[side] = l;
        }
    free(len);
    return rc;
}

static int read_dataset(info_file *f)
{
    int rc = ds_open(&f->ds, f->path);
    for (int s = 0; s < SPLIT_COUNT && rc == 0; s++)
        rc = read_split(f, (split_id)s);
    if (rc < 0)
        return rc;
    for (int side = 0; side < 2; side++)
        f->vocab[side] = ds_vocab_size(f->ds, side ? "tgt" : "src");
    const spm_models *m = ds_spm(f->ds);
    for (int s = 0; s < 2; s++) {
        if (m->n[s] == 0)
            continue;
        if (!(f->spm.bytes[s] = malloc(m->n[s])))
            return s2s_fail(S2S_ENOMEM, "%s: out of memory", f->path);
        memcpy(f->spm.bytes[s], m->bytes[s], m->n[s]);
        f->spm.n[s] = m->n[s];
    }
    return describe_spm(f);
}

/* ---- attention files ------------------------------------------------------------------------ */

/* The shape of one sentence's weights (name: "<i>/weights") into the largest seen. */
static int add_attention_shape(info_file *f, hid_t file, const char *name)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), space = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[2];
    int nd = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    if (nd != 2)
        return h5u_fail(S2S_EFORMAT, "%s: /%s: not a [target, source] matrix", f->path, name);
    f->attn_with_weights++;
    if ((long long)dims[0] > f->attn_max_rows)
        f->attn_max_rows = (long long)dims[0];
    if ((long long)dims[1] > f->attn_max_cols)
        f->attn_max_cols = (long long)dims[1];
    return 0;
}

/* The sentences of an attention file (docs/decoding.md) and the shapes of their weights. */
static int read_attention(info_file *f, hid_t file)
{
    if (f->version != ATTN_VERSION)
        return s2s_fail(S2S_EFORMAT,
                        "%s: attention file format version %lld, this s2s reads "
                        "version %d",
                        f->path, f->version, ATTN_VERSION);
    H5G_info_t gi;
    if (h5u_read_int_attr(file, "count", &f->attn_count) < 0 || f->attn_count < 0 ||
        H5Gget_info(file, &gi) < 0 || (long long)gi.nlinks != f->attn_count)
        return s2s_fail(S2S_EFORMAT,
                        "%s: attribute 'count' does not give the number of "
                        "sentence groups",
                        f->path);
    int rc = 0;
    for (long long i = 0; i < f->attn_count && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "%08lld/weights", i);
        if (h5u_has_link(file, name))
            rc = add_attention_shape(f, file, name);
    }
    return rc;
}

/* ---- the whole file ------------------------------------------------------------------------- */

int info_gather(info_file *f, const char *path)
{
    hid_t file = -1;
    f->path = path;
    f->vocab[0] = f->vocab[1] = -1;
    int rc = info_open(f, path, &file);
    if (rc < 0)
        return rc;
    if (f->kind == INFO_DATASET) {
        H5Fclose(file); /* ds_open opens it again and checks all of it */
        return read_dataset(f);
    }
    rc = f->kind == INFO_ATTENTION ? read_attention(f, file) : read_model_file(f, file);
    H5Fclose(file);
    return rc < 0 || f->kind != INFO_CKPT ? rc : read_checkpoint(f);
}

/* ---- what both renderers walk --------------------------------------------------------------- */

int info_config_order(const info_file *f, int *order)
{
    int n = 0;
    for (int k = 0; k < model_option_count(); k++)
        for (int i = 0; i < f->n_config; i++)
            if (model_option_index(f->config[i].key) == k)
                order[n++] = i;
    int n_model = n;
    for (int i = 0; i < f->n_config; i++)
        if (model_option_index(f->config[i].key) < 0)
            order[n++] = i;
    return n_model;
}

valid_metric info_best_metric(const info_file *f)
{
    for (int i = 0; i < f->n_config; i++)
        if (!strcmp(f->config[i].key, "best-metric")) {
            int k = choice_find(valid_metric_names, f->config[i].value);
            return k < 0 ? METRIC_LOSS : (valid_metric)k;
        }
    return METRIC_LOSS;
}

int info_history_first(const ckpt_history *h, int rows)
{
    return rows < 0 || rows >= h->rows ? 0 : h->rows - rows;
}

void info_column_name(const ckpt_history *h, int i, char *buf, size_t n)
{
    const char *c = h->columns ? h->columns : "";
    for (int k = 0; k < i && c; k++) {
        c = strchr(c, ',');
        if (c)
            c++;
    }
    size_t len = c ? strcspn(c, ",") : 0;
    if (!c || len == 0)
        snprintf(buf, n, "col%d", i);
    else
        snprintf(buf, n, "%.*s", (int)len, c);
}

bool info_next_line(const char **rest, const char **line, size_t *n)
{
    if (!*rest || !**rest)
        return false;
    *line = *rest;
    *n = strcspn(*rest, "\n");
    *rest += *n + ((*rest)[*n] == '\n');
    return true;
}

const char *info_extra_attr(const info_file *f, int i)
{
    static const char *const prep_attrs[] = {"format", "version", "inputs", "options", "report"};
    const char *name = f->root_attrs[i];
    for (size_t k = 0; k < sizeof prep_attrs / sizeof *prep_attrs; k++)
        if (!strcmp(name, prep_attrs[k]))
            return NULL;
    return ds_attr(f->ds, name);
}

const char *info_report_json(const info_file *f)
{
    const char *report = ds_attr(f->ds, "report");
    return report && json_valid(report, strlen(report)) ? report : NULL;
}
