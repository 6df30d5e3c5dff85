/* info_json.c - `s2s info --json`: an info_file (src/tools/info_internal.h) as the members of
 * one JSON object, through the writer of include/s2s/json.h: the same content as the text,
 * numbers as numbers, what could not be read as null, the prep report that a dataset stores
 * copied as it is when it is valid JSON. */
#include "tools/info_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/json.h"

static void json_header(const info_file *f, json_writer *w)
{
    json_kstr(w, "file", f->path);
    json_kstr(w, "kind", info_kind_keys[f->kind]);
    json_kstr(w, "format", info_formats[f->kind]);
    json_kint(w, "version", f->version);
    json_kint(w, "size_bytes", f->size);
    json_kstr(w, "integrity", f->sealed ? "verified" : "unverified");
    if (f->kind == INFO_ATTENTION)
        return;
    json_key(w, "vocab");
    json_open_object(w);
    json_kcount(w, "src", f->vocab[0]);
    json_kcount(w, "tgt", f->vocab[1]);
    if (f->kind != INFO_DATASET)
        json_kstr(w, "from", f->vocab_from);
    json_close_object(w);
    /* The SentencePiece models: null without any, else whether one serves both sides and each
     * side's (the joint model under src). */
    json_key(w, "spm");
    if (f->spm.n[0] == 0) {
        json_null(w);
        return;
    }
    json_open_object(w);
    json_kbool(w, "joint", f->spm.n[1] == 0);
    for (int s = 0; s < 2; s++) {
        json_key(w, s ? "tgt" : "src");
        if (f->spm.n[s] == 0) {
            json_null(w);
            continue;
        }
        json_open_object(w);
        json_kint(w, "bytes", (long long)f->spm.n[s]);
        json_kstr(w, "type", f->spm_error[s] ? NULL : f->spm_about[s].type);
        json_key(w, "pieces");
        if (f->spm_error[s])
            json_null(w);
        else
            json_int(w, f->spm_about[s].pieces);
        json_kstr(w, "error", f->spm_error[s]);
        json_close_object(w);
    }
    json_close_object(w);
}

/* ---- checkpoints and parameter files -------------------------------------------------------- */

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
        info_column_name(h, c, name, sizeof name);
        json_str(w, name);
    }
    json_close_array(w);
    int first = info_history_first(h, rows);
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

static void json_optimizer(json_writer *w, const ckpt_summary *s)
{
    json_open_object(w);
    json_kint(w, "step", s->optim_step);
    json_key(w, "moments");
    json_open_array(w);
    for (int k = 0; k < 2; k++)
        if (s->has_moment[k])
            json_str(w, info_moments[k]);
    json_close_array(w);
    json_close_object(w);
}

static void json_checksum(json_writer *w, const info_file *f)
{
    const ckpt_summary *s = &f->ckpt;
    char hex[20];
    snprintf(hex, sizeof hex, "%016" PRIx64, s->checksum);
    json_open_object(w);
    json_kbool(w, "valid", !f->checksum_error);
    json_kstr(w, "stored", s->complete ? hex : NULL);
    if (f->checksum_error)
        json_kstr(w, "error", f->checksum_error);
    json_close_object(w);
}

/* As the text's training state; what could not be read is null. */
static void json_checkpoint(const info_file *f, int rows, json_writer *w)
{
    const ckpt_summary *s = &f->ckpt;
    /* a training checkpoint or a parameters-only file, where its parameters come from, the
     * decay of its EMA weights */
    json_kstr(w, "contents", s->complete ? ckpt_kind_names[s->kind] : NULL);
    json_kstr(w, "origin", s->complete && s->origin[0] ? s->origin : NULL);
    json_key(w, "ema_decay");
    if (s->complete && s->has_ema)
        json_num(w, s->ema_decay);
    else
        json_null(w);
    /* the OpenBLAS kernels of the run that wrote it */
    json_kstr(w, "blas_core", s->complete && s->blas_core[0] ? s->blas_core : NULL);
    json_key(w, "state");
    if (s->complete)
        json_state(w, &s->progress);
    else
        json_null(w);
    /* The best validation as a figure of its metric (state's best_valid is stored "lower is
     * better": minus BLEU or exact match). */
    json_key(w, "best");
    if (s->complete && isfinite(s->progress.best_valid)) {
        valid_metric m = info_best_metric(f);
        json_open_object(w);
        json_kstr(w, "metric", valid_metric_names[m]);
        json_key(w, "value");
        json_num(w, valid_metric_value(m, s->progress.best_valid));
        json_kint(w, "step", s->progress.best_step);
        json_close_object(w);
    } else {
        json_null(w);
    }
    json_key(w, "optimizer");
    if (s->complete && s->kind == CKPT_TRAINING)
        json_optimizer(w, s);
    else
        json_null(w);
    json_key(w, "checksum");
    json_checksum(w, f);
    json_key(w, "history");
    if (s->complete)
        json_history(w, &s->history, rows);
    else
        json_null(w);
}

static void json_config(const info_file *f, json_writer *w)
{
    int *order = malloc(((size_t)f->n_config + 1) * sizeof *order);
    if (!order)
        return;
    info_config_order(f, order);
    json_key(w, "config");
    json_open_object(w);
    for (int j = 0; j < f->n_config; j++)
        json_kstr(w, f->config[order[j]].key, f->config[order[j]].value);
    json_close_object(w);
    free(order);
}

static void json_tensors(const info_file *f, json_writer *w)
{
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
}

static void json_model_file(const info_file *f, int rows, json_writer *w)
{
    json_config(f, w);
    json_key(w, "params");
    json_tensors(f, w);
    if (f->kind == INFO_CKPT)
        json_checkpoint(f, rows, w);
}

/* ---- datasets ------------------------------------------------------------------------------- */

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
    while (info_next_line(&text, &l, &n)) {
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

static void json_split(json_writer *w, const info_split *si)
{
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

static void json_dataset(const info_file *f, json_writer *w)
{
    json_key(w, "splits");
    json_open_object(w);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        json_key(w, split_name((split_id)s));
        json_split(w, &f->split[s]);
    }
    json_close_object(w);
    const char *report = info_report_json(f);
    json_key(w, "report");
    if (report)
        json_raw(w, report);
    else
        json_str(w, ds_attr(f->ds, "report")); /* null when absent; a string if it is not JSON */
    json_key(w, "options");
    json_lines(w, ds_attr(f->ds, "options"), true, json_option);
    json_key(w, "inputs");
    json_lines(w, ds_attr(f->ds, "inputs"), false, json_input);
    json_key(w, "attributes");
    json_open_object(w);
    for (int i = 0; i < f->n_root_attrs; i++) {
        const char *value = info_extra_attr(f, i);
        if (value)
            json_kstr(w, f->root_attrs[i], value);
    }
    json_close_object(w);
}

/* ---- attention files ------------------------------------------------------------------------ */

static void json_attention(const info_file *f, json_writer *w)
{
    json_kint(w, "sentences", f->attn_count);
    json_kint(w, "with_weights", f->attn_with_weights);
    json_kint(w, "max_target", f->attn_max_rows);
    json_kint(w, "max_source", f->attn_max_cols);
}

void info_json_file(const info_file *f, int history_rows, json_writer *w)
{
    json_header(f, w);
    if (f->kind == INFO_DATASET)
        json_dataset(f, w);
    else if (f->kind == INFO_ATTENTION)
        json_attention(f, w);
    else
        json_model_file(f, history_rows, w);
}
