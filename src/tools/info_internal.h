/* info_internal.h - what `s2s info` gathers and how its files hand it on. info.c (the entry
 * points and the command) has a file read into an info_file by info_read.c, then rendered by
 * info_text.c or info_json.c; --system gathers an info_system in info_system.c, which renders
 * it too. The renderers only read what was gathered, so a file that fails half-way prints
 * nothing but the error. */
#ifndef S2S_TOOLS_INFO_INTERNAL_H
#define S2S_TOOLS_INFO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s2s/blas_core.h"
#include "s2s/ckpt.h"
#include "s2s/dataset.h"
#include "s2s/formats.h"
#include "s2s/json.h"
#include "s2s/spm.h"
#include "s2s/train.h"

/* The kinds of s2s file, recognized by their root attribute `format`. */
typedef enum { INFO_CKPT, INFO_PARAMS, INFO_DATASET, INFO_ATTENTION, INFO_NKINDS } info_kind;

extern const char *const info_formats[INFO_NKINDS];    /* the `format` attribute */
extern const char *const info_kind_names[INFO_NKINDS]; /* in messages and text */
extern const char *const info_kind_keys[INFO_NKINDS];  /* JSON "kind" */
extern const char *const info_moments[2];              /* ckpt_summary.has_moment[k] */

/* Width of the label column of the text (file and --system alike). */
enum { INFO_LABEL = 22, INFO_MAX_DIMS = 8 };

typedef struct {
    char *key, *value;
} info_kv;

typedef struct {
    char *name;
    int ndim;
    long long dims[INFO_MAX_DIMS];
    long long count;
} info_tensor;

typedef struct {
    long pairs;
    long long tokens[2]; /* [source, target] */
    int max_len[2];
} info_split;

typedef struct {
    info_kind kind;
    const char *path;
    long long size, version;
    bool sealed; /* its integrity record is intact and matches (include/s2s/seal.h) */
    uint64_t seal_hash;
    char **root_attrs; /* names of the root attributes */
    int n_root_attrs;

    /* attention files: sentences, those with weights, the largest [target, source] */
    long long attn_count, attn_with_weights, attn_max_rows, attn_max_cols;

    /* checkpoints and parameter files */
    info_kv *config; /* /config as stored */
    int n_config;
    info_tensor *tensors; /* /params in creation order */
    int n_tensors;
    long long total_params;
    long long vocab[2];     /* also datasets; -1: unknown */
    const char *vocab_from; /* "/vocab", "/config", "embeddings" */
    /* checkpoints and datasets: the SentencePiece models (/spm; sizes 0: none), each described
     * (spm_about) or, when its bytes are not a model, with the reason (spm_error) */
    spm_models spm;
    spm_info spm_about[2];
    char *spm_error[2];

    /* checkpoints */
    ckpt_summary ckpt;    /* ckpt.complete false: the state could not be read */
    char *checksum_error; /* NULL: the checksum is valid */

    /* datasets */
    dataset *ds;
    info_split split[SPLIT_COUNT];
} info_file;

/* ---- info_read.c ---- */

/* Reads path into *f (zeroed by the caller), which info_free frees whatever the status. A
 * checkpoint whose checksum does not match, or whose state cannot be read, is read all the
 * same, with the reason in f->checksum_error. */
int info_gather(info_file *f, const char *path);
void info_free(info_file *f);

/* What both renderers walk the same way. */

/* The config in display order, as indices into f->config: the model options present first, in
 * MODEL_OPTIONS's order, then the rest as stored. order holds n_config + 1; returns how many
 * are model options. */
int info_config_order(const info_file *f, int *order);
/* The first of the last `rows` rows of h (all of them if rows < 0). */
int info_history_first(const ckpt_history *h, int rows);

/* The validation figure a checkpoint's best_valid is of: its /config best-metric (loss when the
 * key is absent or unknown). */
valid_metric info_best_metric(const info_file *f);
/* The name of column i of h into buf ("col<i>" if the names lack it). */
void info_column_name(const ckpt_history *h, int i, char *buf, size_t n);
/* Splits the next line off *rest: true with the line at [*line, *line + *n) (without its
 * newline) and *rest past it; false at the end of the text or if there is none (NULL). */
bool info_next_line(const char **rest, const char **line, size_t *n);
/* The value of a dataset's root attribute i, NULL if it is one that prep writes and info shows
 * on its own (format, version, inputs, options, report) or it has no string value. */
const char *info_extra_attr(const info_file *f, int i);
/* The stored prep report if it is valid JSON, else NULL. */
const char *info_report_json(const info_file *f);

/* ---- info_text.c, info_json.c ---- */

void info_text_file(const info_file *f, int history_rows, FILE *out);
/* One labelled line of the text: indent spaces, label padded to column INFO_LABEL, then fmt
 * (which ends the line itself, or leaves it open for more). */
__attribute__((format(printf, 4, 5))) void info_text_row(FILE *out, int indent, const char *label,
                                                         const char *fmt, ...);
/* The members of the description, into the object open in w. */
void info_json_file(const info_file *f, int history_rows, json_writer *w);

/* ---- info_system.c: this machine (--system) ---- */

typedef struct {
    blas_core_input in;
    blas_core_decision startup; /* what train, bench, translate and eval would do */
    const blas_core_state *now;
} info_system;

void info_system_gather(info_system *s);
void info_system_text(const info_system *s, FILE *out);
void info_system_json(const info_system *s, json_writer *w);

#endif
