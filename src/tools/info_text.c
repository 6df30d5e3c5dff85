/* info_text.c - `s2s info` as text: an info_file (src/tools/info_internal.h) in aligned lines,
 * a label column INFO_LABEL wide and tables with columns as wide as their contents, numbers
 * grouped by thousands for reading. */
#include "tools/info_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/json.h"

/* ---- pieces --------------------------------------------------------------------------------- */

void info_text_row(FILE *out, int indent, const char *label, const char *fmt, ...)
{
    va_list ap;
    fprintf(out, "%*s%-*s", indent, "", INFO_LABEL - indent, label);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
}

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

/* Prints the lines of text indented, skipping empty ones. */
static void text_lines(FILE *out, const char *text)
{
    const char *line;
    size_t n;
    while (info_next_line(&text, &line, &n))
        if (n > 0)
            fprintf(out, "  %.*s\n", (int)n, line);
}

/* ---- every file ----------------------------------------------------------------------------- */

static void text_header(const info_file *f, FILE *out)
{
    info_text_row(out, 0, "file", "%s\n", f->path);
    info_text_row(out, 0, "kind", "%s (format \"%s\", %sversion %lld)\n", info_kind_names[f->kind],
                  info_formats[f->kind], f->kind == INFO_DATASET ? "schema " : "", f->version);
    info_text_row(out, 0, "size", "%s\n", bytes_text(f->size));
    if (f->sealed)
        info_text_row(out, 0, "integrity", "verified (integrity record, hash %016llx)\n",
                      (unsigned long long)f->seal_hash);
    else
        info_text_row(out, 0, "integrity",
                      "UNVERIFIED: no s2s integrity record (another tool wrote it?); a probe "
                      "process read all of it without error\n");
}

static void text_vocab(const info_file *f, FILE *out)
{
    char s[32] = "unknown", t[32] = "unknown";
    if (f->vocab[0] >= 0)
        snprintf(s, sizeof s, "%s", grouped(f->vocab[0]));
    if (f->vocab[1] >= 0)
        snprintf(t, sizeof t, "%s", grouped(f->vocab[1]));
    info_text_row(out, 0, "vocabulary", "source %s, target %s tokens (4 reserved included)", s, t);
    if (f->kind != INFO_DATASET && f->vocab_from && strcmp(f->vocab_from, "/vocab"))
        fprintf(out, "; from %s", f->vocab_from);
    fputc('\n', out);
    for (int k = 0; k < 2 && f->spm.n[k]; k++) {
        const char *label = f->spm.n[1] ? (k ? "sentencepiece tgt" : "sentencepiece src")
                                        : "sentencepiece";
        if (f->spm_error[k])
            info_text_row(out, 0, label, "%s bytes, unreadable: %s\n",
                          grouped((long long)f->spm.n[k]), f->spm_error[k]);
        else
            info_text_row(out, 0, label, "%s%s model, %s pieces, character coverage %.4g, %s "
                          "bytes (/spm/%s)\n", f->spm.n[1] ? "" : "joint ",
                          f->spm_about[k].type, grouped(f->spm_about[k].pieces),
                          f->spm_about[k].coverage, grouped((long long)f->spm.n[k]),
                          k ? "tgt" : "src");
    }
}

/* ---- checkpoints and parameter files -------------------------------------------------------- */

/* A history value: whole numbers exactly, others with 6 significant digits. */
static void history_value(char *buf, size_t n, double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.6g", v);
}

/* wid[c]: the widest of column c's name and of its values in rows first.. */
static void history_widths(const ckpt_history *h, int first, int *wid)
{
    char cell[64];
    for (int c = 0; c < h->cols; c++) {
        info_column_name(h, c, cell, sizeof cell);
        wid[c] = (int)strlen(cell);
        for (int r = first; r < h->rows; r++) {
            history_value(cell, sizeof cell, h->data[(size_t)r * h->cols + c]);
            int l = (int)strlen(cell);
            wid[c] = l > wid[c] ? l : wid[c];
        }
    }
}

/* The last `rows` rows of the history (all if rows < 0), in columns as wide as needed. */
static void text_history(const ckpt_history *h, int rows, FILE *out)
{
    int first = info_history_first(h, rows);
    info_text_row(out, 0, "history", "%d row%s", h->rows, h->rows == 1 ? "" : "s");
    if (h->rows > 0)
        fprintf(out, first > 0 ? ", the last %d:" : ":", h->rows - first);
    fputc('\n', out);
    if (h->rows == 0 || h->cols == 0)
        return;
    int *wid = calloc((size_t)h->cols, sizeof *wid);
    if (!wid)
        return;
    history_widths(h, first, wid);
    char cell[64];
    fputs(" ", out);
    for (int c = 0; c < h->cols; c++) {
        info_column_name(h, c, cell, sizeof cell);
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

static void text_moments(const ckpt_summary *s, FILE *out)
{
    if (s->has_ema)
        info_text_row(out, 2, "EMA weights", "decay %.9g (what translate and eval use)\n",
                      s->ema_decay);
    if (s->kind == CKPT_PARAMS)
        info_text_row(out, 2, "optimizer state", "none: a parameters-only file%s%s\n",
                      s->origin[0] ? ", " : "", s->origin);
    else if (s->has_moment[0] || s->has_moment[1])
        info_text_row(out, 2, "optimizer state", "moments %s%s%s\n",
                      s->has_moment[0] ? info_moments[0] : "",
                      s->has_moment[0] && s->has_moment[1] ? ", " : "",
                      s->has_moment[1] ? info_moments[1] : "");
    else
        info_text_row(out, 2, "optimizer state",
                      "no moments (SGD without momentum, or not saved)\n");
}

/* The training state of a checkpoint whose state could be read. */
static void text_state(const info_file *f, const ckpt_summary *s, FILE *out)
{
    const train_progress *p = &s->progress;
    info_text_row(out, 2, "step", "%s\n", grouped(p->step));
    if (s->kind == CKPT_TRAINING)
        info_text_row(out, 2, "optimizer updates", "%s\n", grouped(s->optim_step));
    info_text_row(out, 2, "epoch", "%lld (next batch %s)\n", (long long)p->epoch, grouped(p->next));
    info_text_row(out, 2, "tokens trained", "%s\n", grouped(p->tokens));
    info_text_row(out, 2, "training time", "%.1f s", p->seconds);
    if (p->seconds >= 60)
        fprintf(out, " (%dh %02dm %02ds)", (int)(p->seconds / 3600), (int)fmod(p->seconds / 60, 60),
                (int)fmod(p->seconds, 60));
    fputc('\n', out);
    info_text_row(out, 2, "world size", "%lld rank%s (when written)\n", (long long)p->world_size,
                  p->world_size == 1 ? "" : "s");
    info_text_row(out, 2, "OpenBLAS kernels", "%s\n",
                  s->blas_core[0] ? s->blas_core : "not recorded (written by an older s2s)");
    info_text_row(out, 2, "skipped steps", "%lld (current streak %lld)\n", (long long)p->skipped,
                  (long long)p->nonfinite_streak);
    valid_metric m = info_best_metric(f);
    char label[48];
    snprintf(label, sizeof label, "best valid %s", m == METRIC_BLEU          ? "BLEU"
                                                   : m == METRIC_BLEU_TOKENS ? "token BLEU"
                                                   : m == METRIC_EXACT       ? "exact match"
                                                                             : "loss");
    if (isfinite(p->best_valid))
        info_text_row(out, 2, label, "%.6g at step %s\n", valid_metric_value(m, p->best_valid),
                      grouped(p->best_step));
    else
        info_text_row(out, 2, label, "none yet\n");
    if (p->lr_scale != 1)
        info_text_row(out, 2, "lr scale", "%.6g (plateau schedule)\n", p->lr_scale);
    text_moments(s, out);
}

/* The training state and the checksum; without the state (it could not be read), the
 * checksum's error says why. */
static void text_checkpoint(const info_file *f, int rows, FILE *out)
{
    const ckpt_summary *s = &f->ckpt;
    fprintf(out, "training state\n");
    if (s->complete)
        text_state(f, s, out);
    if (!f->checksum_error)
        info_text_row(out, 2, "checksum", "valid (%016" PRIx64 ")\n", s->checksum);
    else
        info_text_row(out, 2, "checksum", "INVALID: %s\n", f->checksum_error);
    if (s->complete)
        text_history(&s->history, rows, out);
}

/* /config: the model options, then the others, keys in a column wide enough for the longest. */
static void text_config(const info_file *f, FILE *out)
{
    int *order = malloc(((size_t)f->n_config + 1) * sizeof *order);
    if (!order)
        return;
    int n_model = info_config_order(f, order);
    int kw = INFO_LABEL - 2;
    for (int i = 0; i < f->n_config; i++) {
        int l = (int)strlen(f->config[i].key) + 1;
        kw = l > kw ? l : kw;
    }
    fprintf(out, "model\n");
    if (n_model == 0)
        fprintf(out, "  (no model options in /config)\n");
    for (int j = 0; j < f->n_config; j++) {
        if (j == n_model)
            fprintf(out, "%s\n", f->kind == INFO_CKPT ? "training options" : "other options");
        const info_kv *c = &f->config[order[j]];
        fprintf(out, "  %-*s%s\n", kw, c->key, c->value);
    }
    free(order);
}

static void shape_text(char *buf, size_t n, const info_tensor *t)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", d ? ", " : "", t->dims[d]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static void text_tensors(const info_file *f, FILE *out)
{
    info_text_row(out, 0, "parameters", "%s tensors, %s values (%s as float32)\n",
                  grouped(f->n_tensors), grouped(f->total_params),
                  human_bytes(f->total_params * 4));
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
}

static void text_model_file(const info_file *f, int rows, FILE *out)
{
    text_config(f, out);
    text_vocab(f, out);
    text_tensors(f, out);
    if (f->kind == INFO_CKPT)
        text_checkpoint(f, rows, out);
}

/* ---- datasets ------------------------------------------------------------------------------- */

static void text_splits(const info_file *f, FILE *out)
{
    fprintf(out, "%-6s %12s %13s %9s %8s %13s %9s %8s\n", "split", "pairs", "src tokens",
            "src mean", "src max", "tgt tokens", "tgt mean", "tgt max");
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const info_split *si = &f->split[s];
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
}

/* report[split][key] as a number, or NaN. */
static double report_number(const char *report, const char *split, const char *key)
{
    const char *const path[] = {split, key, NULL};
    return json_number_at(report, strlen(report), path);
}

/* One split's row of the prep report: counts, and the unknown tokens' share per side. */
static void text_report_row(const char *report, const char *split, FILE *out)
{
    static const char *const keys[] = {"read", "kept", "empty", "too_long", "truncated", "ratio"};
    static const int w[] = {12, 12, 8, 9, 10, 8};
    fprintf(out, "%-6s", split);
    for (int k = 0; k < 6; k++) {
        double v = report_number(report, split, keys[k]);
        if (isnan(v))
            fprintf(out, " %*s", w[k], "?");
        else
            fprintf(out, " %*s", w[k], grouped((long long)v));
    }
    for (int side = 0; side < 2; side++) {
        double unk = report_number(report, split, side ? "tgt_unk" : "src_unk");
        double tok = report_number(report, split, side ? "tgt_tokens" : "src_tokens");
        if (isnan(unk) || isnan(tok))
            fprintf(out, " %8s", "?");
        else
            fprintf(out, " %7.2f%%", tok > 0 ? 100 * unk / tok : 0.0);
    }
    fputc('\n', out);
}

/* The report that prep stored: a table if it is JSON, its lines if not. */
static void text_report(const info_file *f, FILE *out)
{
    const char *report = ds_attr(f->ds, "report"), *json = info_report_json(f);
    if (json) {
        fprintf(out, "prep report (stored by s2s prep)\n");
        fprintf(out, "%-6s %12s %12s %8s %9s %10s %8s %8s %8s\n", "split", "read", "kept", "empty",
                "too long", "truncated", "ratio", "src unk", "tgt unk");
        for (int s = 0; s < SPLIT_COUNT; s++)
            text_report_row(json, split_name((split_id)s), out);
    } else if (report) {
        fprintf(out, "prep report (stored, not valid JSON)\n");
        text_lines(out, report);
    } else {
        info_text_row(out, 0, "prep report", "none stored\n");
    }
}

static void text_dataset(const info_file *f, FILE *out)
{
    text_vocab(f, out);
    text_splits(f, out);
    text_report(f, out);
    const char *inputs = ds_attr(f->ds, "inputs");
    fprintf(out, "inputs%s\n", inputs && *inputs ? " (file, CRC-32 when read)" : ": none stored");
    text_lines(out, inputs);
    const char *options = ds_attr(f->ds, "options");
    fprintf(out, "prep options%s\n", options && *options ? "" : ": none stored");
    text_lines(out, options);
    for (int i = 0; i < f->n_root_attrs; i++) {
        const char *value = info_extra_attr(f, i);
        if (!value)
            continue;
        fprintf(out, "attribute %s\n", f->root_attrs[i]);
        text_lines(out, value);
    }
}

/* ---- attention files ------------------------------------------------------------------------ */

static void text_attention(const info_file *f, FILE *out)
{
    info_text_row(out, 0, "sentences", "%s, %s with weights\n", grouped(f->attn_count),
                  grouped(f->attn_with_weights));
    info_text_row(out, 0, "largest", "%lld target x %lld source tokens\n", f->attn_max_rows,
                  f->attn_max_cols);
}

void info_text_file(const info_file *f, int history_rows, FILE *out)
{
    text_header(f, out);
    if (f->kind == INFO_DATASET)
        text_dataset(f, out);
    else if (f->kind == INFO_ATTENTION)
        text_attention(f, out);
    else
        text_model_file(f, history_rows, out);
}
