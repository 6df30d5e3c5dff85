/* info.c - `s2s info`: describes a checkpoint, a parameter file or a dataset (see
 * include/s2s/info.h).
 *
 * Everything is gathered into an info_file first and rendered afterwards, as text or as JSON,
 * so that a file that fails half-way prints nothing but the error. The kind of file comes from
 * its root attribute `format`. The readers are the library's: /config and the tensors of
 * /params (listed as stored, in creation order: no parameter table is needed) with
 * paramfile.c's group functions, a checkpoint's state, optimizer step, history and checksum
 * with ckpt_read_summary, and datasets with ds_open, which validates the whole file. */
#include "s2s/info.h"

#include "store/paramfile_io.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/blas_core.h"
#include "s2s/ckpt.h"
#include "s2s/dataset.h"
#include "s2s/formats.h"
#include "s2s/h5util.h"
#include "s2s/json.h"
#include "s2s/model_options.h"
#include "s2s/options.h"
#include "s2s/paramfile.h"
#include "s2s/probe.h"
#include "s2s/seal.h"
#include "s2s/status.h"

typedef enum { KIND_CKPT, KIND_PARAMS, KIND_DATASET, KIND_ATTENTION, N_KINDS } info_kind;

static const char *const FORMATS[] = {CKPT_FORMAT, PARAMFILE_FORMAT, DATASET_FORMAT, ATTN_FORMAT};
static const char *const KIND_NAMES[] = {"checkpoint", "parameter file", "dataset",
                                          "attention file"};
static const char *const KIND_KEYS[] = {"checkpoint", "params", "dataset", "attention"};


static const char *const MOMENTS[2] = {"exp_avg", "exp_avg_sq"};

enum { MAX_DIMS = 8, LABEL = 22 };

typedef struct {
    char *key, *value;
} kv;

typedef struct {
    char *name;
    int ndim;
    long long dims[MAX_DIMS];
    long long count;
} tensor_info;

typedef struct {
    long pairs;
    long long tokens[2];
    int max_len[2];
} split_info;

typedef struct {
    info_kind kind;
    const char *path;
    long long size, version;
    bool sealed;       /* its integrity record is intact and matches (include/s2s/seal.h) */
    uint64_t seal_hash;

    /* attention files: sentences, those with weights, the largest [target, source] */
    long long attn_count, attn_with_weights, attn_max_rows, attn_max_cols;
    char **root_attrs; /* names of the root attributes */
    int n_root_attrs;

    /* checkpoints and parameter files */
    kv *config;
    int n_config;
    tensor_info *tensors;
    int n_tensors;
    long long total_params;
    long long vocab[2];     /* -1: unknown */
    const char *vocab_from; /* "/vocab", "/config", "embeddings" */

    /* checkpoints */
    ckpt_summary ckpt;    /* ckpt.complete false: the state could not be read */
    char *checksum_error; /* NULL: the checksum is valid */

    /* datasets */
    dataset *ds;
    split_info split[SPLIT_COUNT];
} info_file;

static void info_free(info_file *f)
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

/* Opens path as h5u_open does and finds its kind. The messages are this command's own (those
 * of h5u_open name the one kind expected): one for each way a file can fail to be s2s's. */
static int info_open(info_file *f, const char *path, hid_t *file_out)
{
    hid_t file = -1;
    char *format = NULL;
    bool is_string = false;
    int rc;
    *file_out = -1;
    h5u_quiet();
    /* The integrity record first (a damaged file goes no further); a file without one is read
     * whole by a probe process before this one parses it, and only a dataset may lack it. */
    seal_info seal;
    if ((rc = h5u_check(path, "s2s file", FORMATS, N_KINDS, H5U_FOREIGN_OK | H5U_QUIET_UNVERIFIED,
                        &seal)) < 0)
        return rc;
    f->size = seal.size;
    f->sealed = seal.state == SEAL_VALID;
    f->seal_hash = seal.hash;
    if ((rc = h5u_open_file(path, &file)) < 0)
        return rc;
    if (H5Aexists(file, "format") <= 0) {
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: not an s2s file: an HDF5 file without a 'format' attribute (s2s files "
                      "have format \"%s\", \"%s\", \"%s\" or \"%s\")",
                      path, FORMATS[0], FORMATS[1], FORMATS[2], FORMATS[3]);
        goto fail;
    }
    if (!(format = h5u_read_named_string_attr(file, "format", &is_string))) {
        rc = s2s_fail(S2S_EFORMAT, "%s: not an s2s file: its 'format' attribute is %s", path,
                      is_string ? "an unreadable string" : "not a string");
        goto fail;
    }
    int which = -1;
    for (int k = 0; k < N_KINDS && which < 0; k++)
        if (!strcmp(format, FORMATS[k]))
            which = k;
    if (which < 0) {
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: not an s2s file: format attribute '%s' (s2s files have \"%s\", \"%s\", "
                      "\"%s\" or \"%s\")",
                      path, format, FORMATS[0], FORMATS[1], FORMATS[2], FORMATS[3]);
        goto fail;
    }
    f->kind = (info_kind)which;
    if (!f->sealed && f->kind != KIND_DATASET && !probe_in_child()) {
        rc = h5u_unsealed_fail(path, KIND_NAMES[which]);
        goto fail;
    }
    if (h5u_read_int_attr(file, "version", &f->version) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s without an integer attribute 'version'", path,
                      KIND_NAMES[which]);
        goto fail;
    }
    hsize_t idx = 0;
    if (H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_root_attr, f) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot list the root attributes", path);
        goto fail;
    }
    free(format);
    *file_out = file;
    return 0;
fail:
    free(format);
    H5Fclose(file);
    return rc;
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
    f->config[f->n_config++] = (kv){k, v};
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
    if (ndim > MAX_DIMS)
        return s2s_fail(S2S_EFORMAT, "%s: tensor '/params/%s' has %d dimensions", f->path, name,
                        ndim);
    tensor_info t = {.name = strdup(name), .ndim = ndim, .count = 1};
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

static int read_model_file(info_file *f, hid_t file)
{
    int rc;
    if ((rc = paramfile_read_group_config(file, f->path, add_config, f)) < 0 ||
        (rc = paramfile_each_tensor(file, f->path, "params", add_tensor, f)) < 0)
        return rc;
    find_vocab(f, file);
    return 0;
}

/* ---- datasets ------------------------------------------------------------------------------- */

static int read_dataset(info_file *f)
{
    int rc = ds_open(&f->ds, f->path);
    if (rc < 0)
        return rc;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        split_info *si = &f->split[s];
        si->pairs = ds_count(f->ds, (split_id)s);
        if (si->pairs == 0)
            continue;
        int *len = malloc(2 * (size_t)si->pairs * sizeof *len);
        if (!len)
            return s2s_fail(S2S_ENOMEM, "%s: out of memory for the lengths of /%s", f->path,
                            split_name((split_id)s));
        if ((rc = ds_lengths(f->ds, (split_id)s, len, len + si->pairs)) < 0) {
            free(len);
            return rc;
        }
        for (int side = 0; side < 2; side++)
            for (long i = 0; i < si->pairs; i++) {
                int l = len[(size_t)side * (size_t)si->pairs + (size_t)i];
                si->tokens[side] += l;
                if (l > si->max_len[side])
                    si->max_len[side] = l;
            }
        free(len);
    }
    for (int side = 0; side < 2; side++)
        f->vocab[side] = ds_vocab_size(f->ds, side ? "tgt" : "src");
    return 0;
}

/* report[outer][inner] as a number, or NAN. */
static double js_lookup2(const char *doc, const char *outer, const char *inner)
{
    const char *const path[] = {outer, inner, NULL};
    return json_number_at(doc, strlen(doc), path);
}

/* ---- rendering helpers ---------------------------------------------------------------------- */

/* 1234567 -> "1,234,567", in a ring of buffers so that a few can appear in one printf. */
static const char *grouped(long long v)
{
    static char ring[8][32];
    static int next;
    char *buf = ring[next++ % 8], tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v);
    size_t n = strlen(tmp), o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

/* "1.2 MiB" and the like. */
static const char *human_bytes(long long n)
{
    static char buf[32];
    if (n < 1024)
        snprintf(buf, sizeof buf, "%lld bytes", n);
    else if (n < 1024 * 1024)
        snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
    else if (n < 1024LL * 1024 * 1024)
        snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
    else
        snprintf(buf, sizeof buf, "%.2f GiB", n / 1073741824.0);
    return buf;
}

/* "1,234,567 bytes (1.2 MiB)" and the like. */
static const char *bytes_text(long long n)
{
    static char buf[64];
    if (n < 1024)
        snprintf(buf, sizeof buf, "%s bytes", grouped(n));
    else
        snprintf(buf, sizeof buf, "%s bytes (%s)", grouped(n), human_bytes(n));
    return buf;
}

/* A history value: whole numbers exactly, others with 6 significant digits. */
static void history_value(char *buf, size_t n, double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.6g", v);
}

static void shape_text(char *buf, size_t n, const tensor_info *t)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", d ? ", " : "", t->dims[d]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

/* The config in display order: the model options present first, in their table's order
 * (MODEL_OPTIONS), then the rest as stored. */
static int config_order(const info_file *f, int *order)
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

/* First history row shown. */
static int history_first(const ckpt_history *h, int rows)
{
    return rows < 0 || rows >= h->rows ? 0 : h->rows - rows;
}

/* Column i of the comma-separated names into buf, or "col<i>". */
static void column_name(const ckpt_history *h, int i, char *buf, size_t n)
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

/* ---- text ----------------------------------------------------------------------------------- */

static void text_header(const info_file *f, FILE *out)
{
    fprintf(out, "%-*s%s\n", LABEL, "file", f->path);
    fprintf(out, "%-*s%s (format \"%s\", %sversion %lld)\n", LABEL, "kind",
            KIND_NAMES[f->kind], FORMATS[f->kind], f->kind == KIND_DATASET ? "schema " : "",
            f->version);
    fprintf(out, "%-*s%s\n", LABEL, "size", bytes_text(f->size));
    if (f->sealed)
        fprintf(out, "%-*sverified (integrity record, hash %016llx)\n", LABEL, "integrity",
                (unsigned long long)f->seal_hash);
    else
        fprintf(out, "%-*sUNVERIFIED: no s2s integrity record (another tool wrote it?); a "
                "probe process read all of it without error\n", LABEL, "integrity");
}

static void text_vocab(const info_file *f, FILE *out)
{
    char s[32] = "unknown", t[32] = "unknown";
    if (f->vocab[0] >= 0)
        snprintf(s, sizeof s, "%s", grouped(f->vocab[0]));
    if (f->vocab[1] >= 0)
        snprintf(t, sizeof t, "%s", grouped(f->vocab[1]));
    fprintf(out, "%-*ssource %s, target %s tokens (4 reserved included)", LABEL, "vocabulary", s,
            t);
    if (f->kind != KIND_DATASET && f->vocab_from && strcmp(f->vocab_from, "/vocab"))
        fprintf(out, "; from %s", f->vocab_from);
    fputc('\n', out);
}

/* The last `rows` rows of the history (all if rows < 0), in columns as wide as needed. */
static void text_history(const ckpt_history *h, int rows, FILE *out)
{
    int first = history_first(h, rows);
    fprintf(out, "%-*s%d row%s", LABEL, "history", h->rows, h->rows == 1 ? "" : "s");
    if (h->rows > 0)
        fprintf(out, first > 0 ? ", the last %d:" : ":", h->rows - first);
    fputc('\n', out);
    if (h->rows == 0 || h->cols == 0)
        return;
    /* Column widths: the widest of the name and the values shown. */
    int *wid = calloc((size_t)h->cols, sizeof *wid);
    if (!wid)
        return;
    char cell[64];
    for (int c = 0; c < h->cols; c++) {
        column_name(h, c, cell, sizeof cell);
        wid[c] = (int)strlen(cell);
        for (int r = first; r < h->rows; r++) {
            history_value(cell, sizeof cell, h->data[(size_t)r * h->cols + c]);
            int l = (int)strlen(cell);
            wid[c] = l > wid[c] ? l : wid[c];
        }
    }
    fputs(" ", out);
    for (int c = 0; c < h->cols; c++) {
        column_name(h, c, cell, sizeof cell);
        fprintf(out, " %*s", wid[c], cell);
    }
    fputc('\n', out);
    for (int r = first; r < h->rows; r++) {
        fputs(" ", out);
        for (int c = 0; c < h->cols; c++) {
            history_value(cell, sizeof cell, h->data[(size_t)r * h->cols + c]);
            fprintf(out, " %*s", wid[c], cell);
        }
        fputc('\n', out);
    }
    free(wid);
}

/* The training state and the checksum; without the state (it could not be read), the
 * checksum's error says why. */
static void text_checkpoint(const info_file *f, int rows, FILE *out)
{
    const ckpt_summary *s = &f->ckpt;
    const train_progress *p = &s->progress;
    fprintf(out, "training state\n");
#define LINE(label, ...) (fprintf(out, "  %-*s", LABEL - 2, label), fprintf(out, __VA_ARGS__))
    if (s->complete) {
        LINE("step", "%s\n", grouped(p->step));
        LINE("optimizer updates", "%s\n", grouped(s->optim_step));
        LINE("epoch", "%lld (next batch %s)\n", (long long)p->epoch, grouped(p->next));
        LINE("tokens trained", "%s\n", grouped(p->tokens));
        LINE("training time", "%.1f s", p->seconds);
        if (p->seconds >= 60)
            fprintf(out, " (%dh %02dm %02ds)", (int)(p->seconds / 3600),
                    (int)fmod(p->seconds / 60, 60), (int)fmod(p->seconds, 60));
        fputc('\n', out);
        LINE("world size", "%lld rank%s (when written)\n", (long long)p->world_size,
             p->world_size == 1 ? "" : "s");
        LINE("OpenBLAS kernels", "%s\n",
             s->blas_core[0] ? s->blas_core : "not recorded (written by an older s2s)");
        LINE("skipped steps", "%lld (current streak %lld)\n", (long long)p->skipped,
             (long long)p->nonfinite_streak);
        if (isfinite(p->best_valid))
            LINE("best valid loss", "%.6g at step %s\n", p->best_valid, grouped(p->best_step));
        else
            LINE("best valid loss", "none yet\n");
        if (p->lr_scale != 1)
            LINE("lr scale", "%.6g (plateau schedule)\n", p->lr_scale);
        if (s->has_moment[0] || s->has_moment[1])
            LINE("optimizer state", "moments %s%s%s\n", s->has_moment[0] ? MOMENTS[0] : "",
                 s->has_moment[0] && s->has_moment[1] ? ", " : "",
                 s->has_moment[1] ? MOMENTS[1] : "");
        else
            LINE("optimizer state", "no moments (SGD without momentum, or not saved)\n");
    }
    if (!f->checksum_error)
        LINE("checksum", "valid (%016" PRIx64 ")\n", s->checksum);
    else
        LINE("checksum", "INVALID: %s\n", f->checksum_error);
#undef LINE
    if (s->complete)
        text_history(&s->history, rows, out);
}

static void text_model_file(const info_file *f, int rows, FILE *out)
{
    int *order = malloc(((size_t)f->n_config + 1) * sizeof *order);
    int n_model = order ? config_order(f, order) : 0;
    int kw = LABEL - 2; /* key column: wider for a long key */
    for (int i = 0; i < f->n_config; i++) {
        int l = (int)strlen(f->config[i].key) + 1;
        kw = l > kw ? l : kw;
    }
    if (order) {
        fprintf(out, "model\n");
        if (n_model == 0)
            fprintf(out, "  (no model options in /config)\n");
        for (int j = 0; j < f->n_config; j++) {
            if (j == n_model)
                fprintf(out, "%s\n", f->kind == KIND_CKPT ? "training options" : "other options");
            const kv *c = &f->config[order[j]];
            fprintf(out, "  %-*s%s\n", kw, c->key, c->value);
        }
        free(order);
    }
    text_vocab(f, out);
    fprintf(out, "%-*s%s tensors, %s values (%s as float32)\n", LABEL, "parameters",
            grouped(f->n_tensors), grouped(f->total_params), human_bytes(f->total_params * 4));
    int w = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        int l = (int)strlen(f->tensors[i].name);
        w = l > w ? l : w;
    }
    for (int i = 0; i < f->n_tensors; i++) {
        char shape[128];
        shape_text(shape, sizeof shape, &f->tensors[i]);
        fprintf(out, "  %-*s  %-14s %12s\n", w, f->tensors[i].name, shape,
                grouped(f->tensors[i].count));
    }
    if (f->kind == KIND_CKPT)
        text_checkpoint(f, rows, out);
}

/* Splits the next line off *rest: true with the line at [*line, *line + *n) (without its
 * newline) and *rest past it; false at the end of the text or if there is none (NULL). */
static bool next_line(const char **rest, const char **line, size_t *n)
{
    if (!*rest || !**rest)
        return false;
    *line = *rest;
    *n = strcspn(*rest, "\n");
    *rest += *n + ((*rest)[*n] == '\n');
    return true;
}

/* Prints the lines of text indented, skipping empty ones. */
static void text_lines(FILE *out, const char *text)
{
    const char *line;
    size_t n;
    while (next_line(&text, &line, &n))
        if (n > 0)
            fprintf(out, "  %.*s\n", (int)n, line);
}

static bool is_prep_attr(const char *name)
{
    return !strcmp(name, "format") || !strcmp(name, "version") || !strcmp(name, "inputs") ||
           !strcmp(name, "options") || !strcmp(name, "report");
}

static void text_dataset(const info_file *f, FILE *out)
{
    text_vocab(f, out);
    fprintf(out, "%-6s %12s %13s %9s %8s %13s %9s %8s\n", "split", "pairs", "src tokens",
            "src mean", "src max", "tgt tokens", "tgt mean", "tgt max");
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const split_info *si = &f->split[s];
        char mean[2][32];
        for (int side = 0; side < 2; side++) {
            if (si->pairs > 0)
                snprintf(mean[side], sizeof mean[side], "%.2f",
                         (double)si->tokens[side] / (double)si->pairs);
            else
                snprintf(mean[side], sizeof mean[side], "-");
        }
        fprintf(out, "%-6s %12s %13s %9s %8d %13s %9s %8d\n", split_name((split_id)s),
                grouped(si->pairs), grouped(si->tokens[0]), mean[0], si->max_len[0],
                grouped(si->tokens[1]), mean[1], si->max_len[1]);
    }
    const char *report = ds_attr(f->ds, "report");
    if (report && json_valid(report, strlen(report))) {
        static const char *const keys[] = {"read", "kept", "empty", "too_long", "truncated",
                                           "ratio"};
        fprintf(out, "prep report (stored by s2s prep)\n");
        fprintf(out, "%-6s %12s %12s %8s %9s %10s %8s %8s %8s\n", "split", "read", "kept",
                "empty", "too long", "truncated", "ratio", "src unk", "tgt unk");
        for (int s = 0; s < SPLIT_COUNT; s++) {
            const char *name = split_name((split_id)s);
            fprintf(out, "%-6s", name);
            for (int k = 0; k < 6; k++) {
                double v = js_lookup2(report, name, keys[k]);
                static const int w[] = {12, 12, 8, 9, 10, 8};
                if (isnan(v))
                    fprintf(out, " %*s", w[k], "?");
                else
                    fprintf(out, " %*s", w[k], grouped((long long)v));
            }
            for (int side = 0; side < 2; side++) {
                double unk = js_lookup2(report, name, side ? "tgt_unk" : "src_unk");
                double tok = js_lookup2(report, name, side ? "tgt_tokens" : "src_tokens");
                if (isnan(unk) || isnan(tok))
                    fprintf(out, " %8s", "?");
                else
                    fprintf(out, " %7.2f%%", tok > 0 ? 100 * unk / tok : 0.0);
            }
            fputc('\n', out);
        }
    } else if (report) {
        fprintf(out, "prep report (stored, not valid JSON)\n");
        text_lines(out, report);
    } else {
        fprintf(out, "%-*snone stored\n", LABEL, "prep report");
    }
    const char *inputs = ds_attr(f->ds, "inputs");
    fprintf(out, "inputs%s\n", inputs && *inputs ? " (file, CRC-32 when read)" : ": none stored");
    text_lines(out, inputs);
    const char *options = ds_attr(f->ds, "options");
    fprintf(out, "prep options%s\n", options && *options ? "" : ": none stored");
    text_lines(out, options);
    for (int i = 0; i < f->n_root_attrs; i++) {
        const char *name = f->root_attrs[i], *value = ds_attr(f->ds, name);
        if (is_prep_attr(name) || !value)
            continue;
        fprintf(out, "attribute %s\n", name);
        text_lines(out, value);
    }
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void json_header(const info_file *f, json_writer *w)
{
    json_kstr(w, "file", f->path);
    json_kstr(w, "kind", KIND_KEYS[f->kind]);
    json_kstr(w, "format", FORMATS[f->kind]);
    json_kint(w, "version", f->version);
    json_kint(w, "size_bytes", f->size);
    json_kstr(w, "integrity", f->sealed ? "verified" : "unverified");
    if (f->kind == KIND_ATTENTION)
        return;
    json_key(w, "vocab");
    json_open_object(w);
    json_kcount(w, "src", f->vocab[0]);
    json_kcount(w, "tgt", f->vocab[1]);
    if (f->kind != KIND_DATASET)
        json_kstr(w, "from", f->vocab_from);
    json_close_object(w);
}

/* Order of the /state fields by name, as HDF5 lists attributes (and `s2s info` shows them). */
static int field_name_order(const void *a, const void *b)
{
    return strcmp(ckpt_fields[*(const int *)a].name, ckpt_fields[*(const int *)b].name);
}

static void json_state(json_writer *w, const train_progress *p)
{
    int order[CKPT_NFIELDS];
    for (int i = 0; i < CKPT_NFIELDS; i++)
        order[i] = i;
    qsort(order, CKPT_NFIELDS, sizeof *order, field_name_order);
    json_open_object(w);
    for (int i = 0; i < CKPT_NFIELDS; i++) {
        const ckpt_field *field = &ckpt_fields[order[i]];
        const char *value = (const char *)p + field->offset;
        json_key(w, field->name);
        if (field->is_double)
            json_num(w, *(const double *)value);
        else
            json_int(w, *(const int64_t *)value);
    }
    json_close_object(w);
}

static void json_history(json_writer *w, const ckpt_history *h, int rows)
{
    json_open_object(w);
    json_kint(w, "rows", h->rows);
    json_key(w, "columns");
    json_open_array(w);
    for (int c = 0; c < h->cols; c++) {
        char name[64];
        column_name(h, c, name, sizeof name);
        json_str(w, name);
    }
    json_close_array(w);
    int first = history_first(h, rows);
    json_kint(w, "first_row", first);
    json_key(w, "last");
    json_open_array(w);
    for (int r = first; r < h->rows; r++) {
        json_open_array(w);
        for (int c = 0; c < h->cols; c++)
            json_num(w, h->data[(size_t)r * h->cols + c]);
        json_close_array(w);
    }
    json_close_array(w);
    json_close_object(w);
}

/* As text_checkpoint; what could not be read is null. */
static void json_checkpoint(const info_file *f, int rows, json_writer *w)
{
    const ckpt_summary *s = &f->ckpt;
    /* the OpenBLAS kernels of the run that wrote it */
    json_kstr(w, "blas_core", s->complete && s->blas_core[0] ? s->blas_core : NULL);
    json_key(w, "state");
    if (s->complete)
        json_state(w, &s->progress);
    else
        json_null(w);
    json_key(w, "optimizer");
    if (s->complete) {
        json_open_object(w);
        json_kint(w, "step", s->optim_step);
        json_key(w, "moments");
        json_open_array(w);
        for (int k = 0; k < 2; k++)
            if (s->has_moment[k])
                json_str(w, MOMENTS[k]);
        json_close_array(w);
        json_close_object(w);
    } else {
        json_null(w);
    }
    json_key(w, "checksum");
    json_open_object(w);
    json_kbool(w, "valid", !f->checksum_error);
    json_key(w, "stored");
    if (s->complete) {
        char hex[20];
        snprintf(hex, sizeof hex, "%016" PRIx64, s->checksum);
        json_str(w, hex);
    } else {
        json_null(w);
    }
    if (f->checksum_error)
        json_kstr(w, "error", f->checksum_error);
    json_close_object(w);
    json_key(w, "history");
    if (s->complete)
        json_history(w, &s->history, rows);
    else
        json_null(w);
}

static void json_model_file(const info_file *f, int rows, json_writer *w)
{
    int *order = malloc(((size_t)f->n_config + 1) * sizeof *order);
    if (order) {
        config_order(f, order);
        json_key(w, "config");
        json_open_object(w);
        for (int j = 0; j < f->n_config; j++)
            json_kstr(w, f->config[order[j]].key, f->config[order[j]].value);
        json_close_object(w);
        free(order);
    }
    json_key(w, "params");
    json_open_object(w);
    json_kint(w, "tensors", f->n_tensors);
    json_kint(w, "total", f->total_params);
    json_key(w, "list");
    json_open_array(w);
    for (int i = 0; i < f->n_tensors; i++) {
        json_open_object(w);
        json_kstr(w, "name", f->tensors[i].name);
        json_key(w, "shape");
        json_open_array(w);
        for (int d = 0; d < f->tensors[i].ndim; d++)
            json_int(w, f->tensors[i].dims[d]);
        json_close_array(w);
        json_kint(w, "count", f->tensors[i].count);
        json_close_object(w);
    }
    json_close_array(w);
    json_close_object(w);
    if (f->kind == KIND_CKPT)
        json_checkpoint(f, rows, w);
}

/* The lines of text as a JSON object (or array) of what fn writes for each non-empty line,
 * given a copy that it may change; null when there is no text. */
static void json_lines(json_writer *w, const char *text, bool object,
                       void (*fn)(json_writer *w, char *line))
{
    const char *l;
    size_t n;
    if (!text) {
        json_null(w);
        return;
    }
    if (object)
        json_open_object(w);
    else
        json_open_array(w);
    while (next_line(&text, &l, &n)) {
        char *line = n > 0 ? strndup(l, n) : NULL;
        if (line)
            fn(w, line);
        free(line);
    }
    if (object)
        json_close_object(w);
    else
        json_close_array(w);
}

/* An inputs line "<split>.<side> <path> crc32=<hex>" as an object; another as {"line": ...}. */
static void json_input(json_writer *w, char *line)
{
    char *sp = strchr(line, ' '), *crc = strstr(line, " crc32=");
    char *last_crc = crc;
    while (crc && (crc = strstr(crc + 1, " crc32=")))
        last_crc = crc;
    json_open_object(w);
    if (sp && last_crc && last_crc > sp) {
        *sp = '\0';
        *last_crc = '\0';
        json_kstr(w, "input", line);
        json_kstr(w, "path", sp + 1);
        json_kstr(w, "crc32", last_crc + 7);
    } else {
        json_kstr(w, "line", line);
    }
    json_close_object(w);
}

/* An options line "name = value" as a string member (comments skipped). */
static void json_option(json_writer *w, char *line)
{
    char *hash = strchr(line, '#'), *eq;
    if (hash)
        *hash = '\0';
    if (!(eq = strchr(line, '=')))
        return;
    char *k = line, *v = eq + 1, *ke = eq;
    while (*k == ' ' || *k == '\t')
        k++;
    while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
        ke--;
    *ke = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
        v[--vl] = '\0';
    if (*k)
        json_kstr(w, k, v);
}

static void json_dataset(const info_file *f, json_writer *w)
{
    json_key(w, "splits");
    json_open_object(w);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const split_info *si = &f->split[s];
        json_key(w, split_name((split_id)s));
        json_open_object(w);
        json_kint(w, "pairs", si->pairs);
        for (int side = 0; side < 2; side++) {
            const char *p = side ? "tgt" : "src";
            char key[32];
            snprintf(key, sizeof key, "%s_tokens", p);
            json_kint(w, key, si->tokens[side]);
            snprintf(key, sizeof key, "%s_mean_len", p);
            json_knum(w, key, si->pairs > 0 ? (double)si->tokens[side] / (double)si->pairs : NAN);
            snprintf(key, sizeof key, "%s_max_len", p);
            json_kint(w, key, si->max_len[side]);
        }
        json_close_object(w);
    }
    json_close_object(w);
    const char *report = ds_attr(f->ds, "report");
    json_key(w, "report");
    if (report && json_valid(report, strlen(report)))
        json_raw(w, report);
    else
        json_str(w, report); /* null when absent; a string if it is not JSON */
    json_key(w, "options");
    json_lines(w, ds_attr(f->ds, "options"), true, json_option);
    json_key(w, "inputs");
    json_lines(w, ds_attr(f->ds, "inputs"), false, json_input);
    json_key(w, "attributes");
    json_open_object(w);
    for (int i = 0; i < f->n_root_attrs; i++) {
        const char *name = f->root_attrs[i], *value = ds_attr(f->ds, name);
        if (is_prep_attr(name) || !value)
            continue;
        json_kstr(w, name, value);
    }
    json_close_object(w);
}

/* ---- this machine (--system) ---------------------------------------------------------------- */

typedef struct {
    blas_core_input in;
    blas_core_decision startup; /* what train, bench, translate and eval would do */
    const blas_core_state *now;
} system_info;

static void system_gather(system_info *s)
{
    memset(s, 0, sizeof *s);
    blas_core_gather(&s->in, NULL);
    blas_core_decide(&s->in, &s->startup);
    s->now = blas_core_get();
}

static bool runs(const system_info *s, const char *kernel)
{
    return !blas_core_missing(kernel, &s->in.cpu);
}

/* The names of the CPU's features that are (has) or are not there, space-separated. */
static void feature_keys(const blas_cpu *cpu, bool has, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int f = 0; f < CPU_NFEATURES; f++)
        if (!(cpu->features & CPU_HAS(f)) == !has) {
            size_t len = strlen(buf);
            snprintf(buf + len, n - len, "%s%s", len ? " " : "", cpu_features[f].key);
        }
    if (!buf[0])
        snprintf(buf, n, "none");
}

/* The choosable kernels this CPU runs (runnable) or does not, space-separated. */
static void kernel_names(const system_info *s, bool runnable, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int k = 1; blas_core_choices[k]; k++) {
        if (runs(s, blas_core_choices[k]) != runnable)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", len ? " " : "", blas_core_choices[k]);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

static void text_system(const system_info *s, FILE *out)
{
    const blas_core_state *now = s->now;
    const blas_core_decision *d = &s->startup;
    char cpu[96], list[512];
    blas_cpu_describe(&s->in.cpu, cpu, sizeof cpu);
    fprintf(out, "%-*s%s (stepping %d)\n", LABEL, "cpu", cpu, s->in.cpu.stepping);
    feature_keys(&s->in.cpu, true, list, sizeof list);
    fprintf(out, "  %-*s%s\n", LABEL - 2, "features", list);
    feature_keys(&s->in.cpu, false, list, sizeof list);
    fprintf(out, "  %-*s%s\n", LABEL - 2, "lacks", list);
    fprintf(out, "%-*s%s\n", LABEL, "openblas", now->config);
    fprintf(out, "  %-*s%s (%s)\n", LABEL - 2, "kernels now", now->kernel, now->origin);
    fprintf(out, "  %-*s%s\n", LABEL - 2, "best for this CPU", d->best ? d->best : "none known");
    kernel_names(s, true, list, sizeof list);
    fprintf(out, "  %-*s%s\n", LABEL - 2, "runnable", list);
    kernel_names(s, false, list, sizeof list);
    fprintf(out, "  %-*s%s\n", LABEL - 2, "not runnable", list);
    fprintf(out, "%-*strain, bench, translate and eval ", LABEL, "start-up");
    if (d->action == BLAS_RESTART)
        fprintf(out, "restart with %s=%s\n", BLAS_CORE_ENV, d->kernel);
    else if (d->action == BLAS_REFUSE)
        fprintf(out, "refuse to start: %s\n", d->message);
    else
        fprintf(out, "keep the %s kernels (%s)%s%s\n", now->kernel, d->origin,
                d->message[0] ? ": " : "", d->message);
}

static void json_system(const system_info *s, json_writer *w)
{
    static const char *const ACTIONS[] = {[BLAS_KEEP] = "keep", [BLAS_RESTART] = "restart",
                                          [BLAS_REFUSE] = "refuse"};
    const blas_core_state *now = s->now;
    const blas_core_decision *d = &s->startup;
    char cpu[96];
    blas_cpu_describe(&s->in.cpu, cpu, sizeof cpu);
    json_kstr(w, "kind", "system");
    json_key(w, "cpu");
    json_open_object(w);
    json_kstr(w, "vendor", s->in.cpu.vendor);
    json_kint(w, "family", s->in.cpu.family);
    json_kint(w, "model", s->in.cpu.model);
    json_kint(w, "stepping", s->in.cpu.stepping);
    json_kstr(w, "description", cpu);
    json_key(w, "features");
    json_open_object(w);
    for (int f = 0; f < CPU_NFEATURES; f++)
        json_kbool(w, cpu_features[f].key, s->in.cpu.features & CPU_HAS(f));
    json_close_object(w);
    json_close_object(w);
    json_kstr(w, "openblas", now->config);
    json_kbool(w, "dynamic_arch", s->in.dynamic);
    json_kstr(w, "blas_core", now->kernel);
    json_kstr(w, "blas_core_origin", now->origin);
    json_kstr(w, "blas_core_best", d->best);
    json_key(w, "known");
    json_open_array(w);
    for (int k = 1; blas_core_choices[k]; k++)
        json_str(w, blas_core_choices[k]);
    json_close_array(w);
    json_key(w, "runnable");
    json_open_array(w);
    const char *names[16];
    int n = blas_core_runnable(&s->in.cpu, names, 16);
    for (int k = 0; k < n; k++)
        json_str(w, names[k]);
    json_close_array(w);
    json_key(w, "startup");
    json_open_object(w);
    json_kstr(w, "action", ACTIONS[d->action]);
    json_kstr(w, "kernel",
              d->action == BLAS_RESTART ? d->kernel : d->action == BLAS_KEEP ? now->kernel : NULL);
    json_kstr(w, "origin", d->action == BLAS_KEEP ? d->origin : NULL);
    json_kstr(w, "message", d->message[0] ? d->message : NULL);
    json_close_object(w);
}

int info_write_system(bool json, FILE *out)
{
    system_info s;
    system_gather(&s);
    int rc = 0;
    if (json) {
        json_writer w;
        json_writer_init(&w, out, JSON_COMPACT);
        json_open_object(&w);
        json_system(&s, &w);
        json_close_object(&w);
        rc = json_writer_end(&w);
        fputc('\n', out);
    } else {
        text_system(&s, out);
    }
    if (fflush(out) != 0 || ferror(out))
        return s2s_fail(S2S_EIO, "cannot write the output: %s", strerror(errno));
    return rc;
}

/* ---- attention files ------------------------------------------------------------------------- */

/* The sentences of an attention file (docs/decoding.md) and the shapes of their weights. */
static int read_attention(info_file *f, hid_t file)
{
    if (f->version != ATTN_VERSION)
        return s2s_fail(S2S_EFORMAT, "%s: attention file format version %lld, this s2s reads "
                        "version %d", f->path, f->version, ATTN_VERSION);
    H5G_info_t gi;
    if (h5u_read_int_attr(file, "count", &f->attn_count) < 0 || f->attn_count < 0 ||
        H5Gget_info(file, &gi) < 0 || (long long)gi.nlinks != f->attn_count)
        return s2s_fail(S2S_EFORMAT, "%s: attribute 'count' does not give the number of "
                        "sentence groups", f->path);
    for (long long i = 0; i < f->attn_count; i++) {
        char name[32];
        snprintf(name, sizeof name, "%08lld/weights", i);
        if (!h5u_has_link(file, name))
            continue;
        hid_t d = H5Dopen2(file, name, H5P_DEFAULT), space = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t dims[2];
        int nd = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
        if (space >= 0)
            H5Sclose(space);
        if (d >= 0)
            H5Dclose(d);
        if (nd != 2)
            return h5u_fail(S2S_EFORMAT, "%s: /%s: not a [target, source] matrix", f->path,
                            name);
        f->attn_with_weights++;
        if ((long long)dims[0] > f->attn_max_rows)
            f->attn_max_rows = (long long)dims[0];
        if ((long long)dims[1] > f->attn_max_cols)
            f->attn_max_cols = (long long)dims[1];
    }
    return 0;
}

static void text_attention(const info_file *f, FILE *out)
{
    fprintf(out, "%-*s%s, %s with weights\n", LABEL, "sentences", grouped(f->attn_count),
            grouped(f->attn_with_weights));
    fprintf(out, "%-*s%lld target x %lld source tokens\n", LABEL, "largest", f->attn_max_rows,
            f->attn_max_cols);
}

static void json_attention(const info_file *f, json_writer *w)
{
    json_kint(w, "sentences", f->attn_count);
    json_kint(w, "with_weights", f->attn_with_weights);
    json_kint(w, "max_target", f->attn_max_rows);
    json_kint(w, "max_source", f->attn_max_cols);
}

/* ---- entry points --------------------------------------------------------------------------- */

static int info_gather(info_file *f, const char *path)
{
    hid_t file = -1;
    f->path = path;
    f->vocab[0] = f->vocab[1] = -1;
    int rc = info_open(f, path, &file);
    if (rc < 0)
        return rc;
    if (f->kind == KIND_DATASET) {
        H5Fclose(file); /* ds_open opens it again and checks all of it */
        return read_dataset(f);
    }
    if (f->kind == KIND_ATTENTION) {
        rc = read_attention(f, file);
        H5Fclose(file);
        return rc;
    }
    static const long long versions[] = {CKPT_VERSION, PARAMFILE_VERSION};
    if (f->version != versions[f->kind]) {
        H5Fclose(file);
        return s2s_fail(S2S_EFORMAT, "%s: %s format version %lld, this s2s reads version %lld",
                        path, KIND_NAMES[f->kind], f->version, versions[f->kind]);
    }
    rc = read_model_file(f, file);
    H5Fclose(file);
    if (rc < 0 || f->kind != KIND_CKPT)
        return rc;
    /* ckpt_verify keeping what it reads: a checkpoint that is not valid is described all the
     * same, with the reason. */
    int st = ckpt_read_summary(path, &f->ckpt);
    if (st < 0 && !(f->checksum_error = strdup(s2s_errmsg(st))))
        return s2s_fail(S2S_ENOMEM, "%s: out of memory", path);
    s2s_clear_error();
    return 0;
}

int info_write_rows(const char *path, bool json, int history_rows, FILE *out)
{
    info_file f;
    memset(&f, 0, sizeof f);
    if (!path || !out)
        return s2s_fail(S2S_EINVAL, "info_write: no file or output stream");
    int rc = info_gather(&f, path);
    if (rc < 0) {
        info_free(&f);
        return rc;
    }
    if (json) {
        json_writer w;
        json_writer_init(&w, out, JSON_COMPACT);
        json_open_object(&w);
        json_header(&f, &w);
        if (f.kind == KIND_DATASET)
            json_dataset(&f, &w);
        else if (f.kind == KIND_ATTENTION)
            json_attention(&f, &w);
        else
            json_model_file(&f, history_rows, &w);
        json_close_object(&w);
        rc = json_writer_end(&w);
        fputc('\n', out);
    } else {
        text_header(&f, out);
        if (f.kind == KIND_DATASET)
            text_dataset(&f, out);
        else if (f.kind == KIND_ATTENTION)
            text_attention(&f, out);
        else
            text_model_file(&f, history_rows, out);
    }
    int rc_out = fflush(out) != 0 || ferror(out)
                     ? s2s_fail(S2S_EIO, "cannot write the output: %s", strerror(errno))
                     : rc;
    /* Described all the same, but a script that checks the status must not take a damaged
     * checkpoint for a usable one. */
    if (rc_out == 0 && f.checksum_error)
        rc_out = s2s_fail(S2S_EFORMAT, "%s: the checkpoint is invalid: %s", path,
                          f.checksum_error);
    info_free(&f);
    return rc_out;
}

int info_write(const char *path, bool json, FILE *out)
{
    return info_write_rows(path, json, INFO_HISTORY_ROWS, out);
}

/* ---- the command ---------------------------------------------------------------------------- */

typedef struct {
    bool json;
    int history;
    bool system;
    double probe_timeout;
    bool large_vocab;
} info_options;

static const opt_spec info_specs[] = {
    {"json", OPT_BOOL, offsetof(info_options, json), "false",
     "print one JSON object instead of text", NULL, 0, 0},
    {"history", OPT_INT, offsetof(info_options, history), "5",
     "rows of a checkpoint's validation history shown, the last ones (-1: all)", NULL, -1,
     1 << 30},
    {"system", OPT_BOOL, offsetof(info_options, system), "false",
     "instead of a file, this machine: CPU features, OpenBLAS and its kernels, what the "
     "computing commands do at start-up", NULL, 0, 0},
    {"probe-timeout", OPT_DOUBLE, offsetof(info_options, probe_timeout), "0",
     "seconds a probe process may take to read a file without an s2s integrity record before "
     "it counts as damaged (0: 3 s plus 1 s per 32 MiB)", NULL, 0, 1e6},
    {"large-vocab", OPT_BOOL, offsetof(info_options, large_vocab), "false",
     "accept a dataset vocabulary of more than 65536 entries with more words than the dataset "
     "has tokens (docs/formats.md, Limits)", NULL, 0, 0},
};
#define N_INFO_SPECS ((int)(sizeof info_specs / sizeof info_specs[0]))

/* Whether argv[i] is an option that takes the next argument as its value. */
static bool takes_value(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
        return false;
    if (!strcmp(arg + 2, "config"))
        return true;
    for (int k = 0; k < N_INFO_SPECS; k++)
        if (!strcmp(arg + 2, info_specs[k].name))
            return info_specs[k].type != OPT_BOOL;
    return false;
}

int info_command(int argc, char **argv)
{
    info_options o;
    bool help = false;
    const char *path = NULL;
    char **opts = calloc((size_t)argc + 1, sizeof *opts);
    int n = 0, rc = 0;
    if (!opts)
        return s2s_fail(S2S_ENOMEM, "out of memory");
    /* The file is the one positional argument, wherever it stands (after --: anything). A
     * second one is an error, reported after the options are parsed, so that --help wins. */
    const char *extra = NULL;
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && !strcmp(a, "--")) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || !a[1]) {
            if (!path)
                path = a;
            else if (!extra)
                extra = a;
            continue;
        }
        opts[n++] = argv[i];
        if (takes_value(a) && i + 1 < argc)
            opts[n++] = argv[++i];
    }
    if (extra)
        rc = s2s_fail(S2S_EUSAGE, "one file at a time: got '%s' and '%s'", path, extra);
    /* --help wins over everything, a wrong positional argument included. */
    int st = opts_parse(info_specs, N_INFO_SPECS, &o, n, opts, NULL, &help);
    free(opts);
    if (!help && (rc < 0 || st < 0))
        return st < 0 ? st : rc; /* the message of the last failure stands */
    if (help) {
        printf("usage: s2s info FILE [--json] [--history N]\n"
               "       s2s info --system [--json]\n\n"
               "Describes an s2s file, recognized by its 'format' attribute: a checkpoint or "
               "parameter file\n(configuration, vocabulary sizes, parameter tensors and count; "
               "for a checkpoint also the\ntraining state, optimizer moments, checksum and "
               "validation history) or a dataset (pairs,\ntokens and lengths per split, "
               "vocabularies, and the report, options and inputs of s2s prep).\nWith --system: "
               "this machine's CPU features, OpenBLAS and the kernels it runs, and what\nthe "
               "computing commands do at start-up (restart with other kernels, or refuse).\n\n"
               "options:\n");
        opts_print_help(stdout, info_specs, N_INFO_SPECS);
        return 0;
    }
    if (o.system && path)
        return s2s_fail(S2S_EUSAGE, "--system describes this machine, not a file: got '%s'",
                        path);
    if (o.system)
        return info_write_system(o.json, stdout);
    probe_set_timeout(o.probe_timeout);
    ds_set_limits(&(ds_limits){.large_vocab = o.large_vocab});
    if (!path)
        return s2s_fail(S2S_EUSAGE,
                        "name the file to describe: s2s info FILE [--json] (a checkpoint, "
                        "parameter file or dataset), or s2s info --system");
    return info_write_rows(path, o.json, o.history, stdout);
}
