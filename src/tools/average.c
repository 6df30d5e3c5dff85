/* average.c - `s2s average` (include/s2s/average.h): checkpoints of one model read one at a
 * time as for decoding (src/infer/trained.c: configuration, vocabularies, the EMA or raw
 * weights), checked against the first, summed in double in a fixed order, and written as a
 * parameters-only file with the newest input's configuration and state.
 *
 * Memory: the first input's model and weights, one other input's at a time, and the sum (8
 * bytes a parameter). The order of the sum is the inputs sorted by (step, stored checksum,
 * path), so it does not depend on the order the user gave them in; only identical files
 * (same step and checksum) can tie on the first two keys, and their order changes nothing. */
#include "s2s/average.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "s2s/ckpt.h"
#include "s2s/model_options.h"
#include "s2s/status.h"
#include "s2s/trained.h"

const char *const avg_weights_names[] = {AVG_WEIGHTS_CHOICES(CHOICE_NAME) NULL};

void average_add(double *restrict sum, const real *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum[i] += (double)x[i];
}

void average_finish(real *restrict out, const double *restrict sum, size_t n, int k)
{
    const double d = (double)k;
    for (size_t i = 0; i < n; i++)
        out[i] = (real)(sum[i] / d);
}

/* One input: its path, what sorts it, and its /config as "key=value" strings. */
typedef struct {
    const char *path;
    int64_t step;
    uint64_t checksum;
    char **config; /* NULL-terminated */
    int n_config;
} avg_input;

static void inputs_free(avg_input *in, int n)
{
    for (int i = 0; in && i < n; i++) {
        for (int k = 0; k < in[i].n_config; k++)
            free(in[i].config[k]);
        free(in[i].config);
    }
    free(in);
}

static int add_config(const char *key, const char *value, void *ctx)
{
    avg_input *in = ctx;
    char **grown = realloc(in->config, (size_t)(in->n_config + 2) * sizeof *grown);
    if (!grown)
        return s2s_fail(S2S_ENOMEM, "%s: out of memory reading /config", in->path);
    in->config = grown;
    size_t len = strlen(key) + strlen(value) + 2;
    if (!(grown[in->n_config] = malloc(len)))
        return s2s_fail(S2S_ENOMEM, "%s: out of memory reading /config", in->path);
    snprintf(grown[in->n_config++], len, "%s=%s", key, value);
    grown[in->n_config] = NULL;
    return 0;
}

/* The step and checksum that sort the input, and its configuration. */
static int read_input(avg_input *in)
{
    ckpt_summary head;
    int rc = ckpt_read_head(in->path, &head);
    in->step = head.progress.step;
    in->checksum = head.checksum;
    ckpt_summary_free(&head);
    return rc < 0 ? rc : ckpt_read_config(in->path, add_config, in);
}

static int input_order(const void *a, const void *b)
{
    const avg_input *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    if (x->checksum != y->checksum)
        return x->checksum < y->checksum ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* ---- the inputs ------------------------------------------------------------------------- */

/* The paths to average: the files given, or the newest `last` of the run directory (*listed
 * holds those, for the caller to free). */
static int input_paths(const average_options *o, const char ***paths, int *n, char ***listed,
                       int *n_listed)
{
    *paths = NULL;
    *n = 0;
    if (o->run_dir[0] && o->n_files > 0)
        return s2s_fail(S2S_EUSAGE, "give checkpoint files or --run-dir, not both (got %s and "
                        "--run-dir %s)", o->files[0], o->run_dir);
    if (o->n_files > 0) {
        if (o->last > 0)
            return s2s_fail(S2S_EUSAGE, "--last counts a --run-dir's checkpoints: with files "
                            "named, every one is averaged");
        *paths = (const char **)o->files;
        *n = o->n_files;
        return 0;
    }
    if (!o->run_dir[0])
        return s2s_fail(S2S_EUSAGE, "nothing to average: give checkpoint files, or --run-dir DIR "
                        "--last N");
    if (o->last < 1)
        return s2s_fail(S2S_EUSAGE, "--run-dir %s needs --last N: how many of its newest "
                        "checkpoints to average", o->run_dir);
    int rc = ckpt_list_paths(o->run_dir, listed, n_listed);
    if (rc < 0)
        return rc;
    if (*n_listed < o->last)
        return s2s_fail(S2S_EINVAL, "%s holds %d checkpoint%s (ckpt-*.h5), --last asks for %d",
                        o->run_dir, *n_listed, *n_listed == 1 ? "" : "s", o->last);
    *paths = (const char **)*listed; /* newest first: the first `last` */
    *n = o->last;
    return 0;
}

/* --out must not replace an input: it would be gone before another run could average it. */
static int check_out(const char *out, const char *const *paths, int n)
{
    if (!out[0])
        return s2s_fail(S2S_EUSAGE, "--out FILE is required: the model file to write");
    struct stat so, si;
    bool exists = stat(out, &so) == 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(out, paths[i]) ||
            (exists && stat(paths[i], &si) == 0 && si.st_dev == so.st_dev &&
             si.st_ino == so.st_ino))
            return s2s_fail(S2S_EINVAL, "--out %s is the input %s: write the average to another "
                            "file", out, paths[i]);
    return 0;
}

/* ---- one model ---------------------------------------------------------------------------- */

static const char *config_value(const avg_input *in, const char *key)
{
    size_t k = strlen(key);
    for (int i = 0; i < in->n_config; i++)
        if (!strncmp(in->config[i], key, k) && in->config[i][k] == '=')
            return in->config[i] + k + 1;
    return NULL;
}

/* The model options that fix the shapes (all but dropout) and the tokenizer settings of b, as
 * those of a (keys either has). */
static int check_config(const avg_input *a, const avg_input *b)
{
    for (int pass = 0; pass < 2; pass++) {
        const avg_input *from = pass ? b : a;
        for (int i = 0; i < from->n_config; i++) {
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)strcspn(from->config[i], "="),
                     from->config[i]);
            if (!model_option_fixed(key) && strncmp(key, "data.", 5) != 0)
                continue;
            const char *va = config_value(a, key), *vb = config_value(b, key);
            if (!va || !vb || strcmp(va, vb) != 0)
                return s2s_fail(S2S_EINVAL, "%s: /config %s is %s, but %s in %s: averaged "
                                "checkpoints must be of one model (options, tokenizer, "
                                "vocabularies, shapes)", b->path, key, vb ? vb : "not set",
                                va ? va : "not set", a->path);
        }
    }
    return 0;
}

static int check_table(const trained_model *a, const trained_model *b)
{
    const param_table *ta = &a->m.table, *tb = &b->m.table;
    if (ta->n != tb->n)
        return s2s_fail(S2S_EINVAL, "%s: %d tensors, but %d in %s", b->path, tb->n, ta->n,
                        a->path);
    for (int i = 0; i < ta->n; i++) {
        const param_tensor *x = &ta->t[i], *y = &tb->t[i];
        if (strcmp(x->name, y->name) != 0 || x->rows != y->rows || x->cols != y->cols)
            return s2s_fail(S2S_EINVAL, "%s: tensor %d is '%s' [%d, %d], but '%s' [%d, %d] in %s",
                            b->path, i, y->name, y->rows, y->cols, x->name, x->rows, x->cols,
                            a->path);
    }
    return 0;
}

/* Which weights of tm are averaged (tm->ema), as --weights and the first input (first, NULL
 * for the first itself) ask. */
static int choose_weights(int weights, trained_model *tm, const trained_model *first)
{
    bool want = weights == AVG_WEIGHTS_EMA ||
                (weights == AVG_WEIGHTS_AUTO && (first ? first->ema : tm->has_ema));
    if (want && !tm->has_ema)
        return s2s_fail(S2S_EINVAL, "%s has no EMA weights (trained without --ema)%s%s%s",
                        tm->path, first ? ", but " : "", first ? first->path : "",
                        weights == AVG_WEIGHTS_AUTO ? " has: give --weights raw to average the "
                                                      "parameters of all"
                                                    : "");
    if (!want && weights == AVG_WEIGHTS_AUTO && tm->has_ema)
        return s2s_fail(S2S_EINVAL, "%s has EMA weights, but %s has none: give --weights raw "
                        "(the parameters of all) or --weights ema", tm->path, first->path);
    tm->ema = want;
    return 0;
}

/* Opens and reads the weights of path into tm (zeroed), checked against first (NULL: it is
 * the first). */
static int open_model(trained_model *tm, const char *path, int weights,
                      const trained_model *first)
{
    int rc = trained_open(tm, path);
    if (rc == 0)
        rc = choose_weights(weights, tm, first);
    if (rc == 0 && first)
        rc = trained_same_text(first, tm, "averaged checkpoints");
    /* the smallest workspace: only the parameters are wanted */
    if (rc == 0)
        rc = trained_build(tm, 1, 1, 1);
    if (rc == 0 && first)
        rc = check_table(first, tm);
    return rc;
}

/* ---- the output ------------------------------------------------------------------------- */

/* "average of 3 checkpoints (steps 800, 900, 1000; EMA weights)", or for one input "EMA
 * weights of step 1200 (ckpt-00001200.h5)"; steps that do not fit end in "...". */
static void origin_text(char *buf, size_t size, const avg_input *in, int n, bool ema)
{
    const char *what = ema ? "EMA weights" : "parameters";
    if (n == 1) {
        const char *base = strrchr(in[0].path, '/');
        snprintf(buf, size, "%s of step %" PRId64 " (%s)", what, in[0].step,
                 base ? base + 1 : in[0].path);
        return;
    }
    size_t at = (size_t)snprintf(buf, size, "average of %d checkpoints (steps ", n);
    for (int i = 0; i < n && at < size; i++) {
        if (at + 48 >= size) {
            at += (size_t)snprintf(buf + at, size - at, "...");
            break;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s%" PRId64, i ? ", " : "", in[i].step);
    }
    if (at < size)
        snprintf(buf + at, size - at, "; %s)", what);
}

static int write_average(const average_options *o, const avg_input *in, int n,
                         const trained_model *tm)
{
    ckpt_summary newest;
    int rc = ckpt_read_head(in[n - 1].path, &newest);
    if (rc < 0) {
        ckpt_summary_free(&newest);
        return rc;
    }
    char origin[CKPT_ORIGIN_MAX];
    origin_text(origin, sizeof origin, in, n, tm->ema);
    ckpt_contents c = {.kind = CKPT_PARAMS, .origin = origin, .tab = &tm->m.table,
                       .params = tm->m.params, .config = (const char *const *)in[n - 1].config,
                       .src_vocab = (const char *const *)tm->src.by_id,
                       .src_vocab_n = tm->src.size,
                       .tgt_vocab = (const char *const *)tm->tgt.by_id,
                       .tgt_vocab_n = tm->tgt.size, .spm = &tm->spm,
                       .progress = newest.progress,
                       .history = newest.history, .blas_core = newest.blas_core[0]
                                                                   ? newest.blas_core
                                                                   : NULL};
    rc = ckpt_write(o->out, &c);
    ckpt_summary_free(&newest);
    return rc;
}

int average_run(const average_options *o, FILE *log)
{
    const char **paths;
    char **listed = NULL;
    int n = 0, n_listed = 0;
    avg_input *in = NULL;
    trained_model first = {0}, other = {0};
    double *sum = NULL;
    int rc = input_paths(o, &paths, &n, &listed, &n_listed);
    if (rc < 0 || (rc = check_out(o->out, paths, n)) < 0)
        goto done;
    if (!(in = calloc((size_t)n, sizeof *in))) {
        rc = s2s_fail(S2S_ENOMEM, "out of memory for %d inputs", n);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        in[i].path = paths[i];
        if ((rc = read_input(&in[i])) < 0)
            goto done;
    }
    qsort(in, (size_t)n, sizeof *in, input_order);
    if ((rc = open_model(&first, in[0].path, o->weights, NULL)) < 0)
        goto done;
    size_t size = first.m.n_params;
    if (!(sum = calloc(size ? size : 1, sizeof *sum))) {
        rc = s2s_fail(S2S_ENOMEM, "out of memory for the sum of %zu parameters", size);
        goto done;
    }
    average_add(sum, first.m.params, size);
    for (int i = 1; i < n; i++) {
        if ((rc = check_config(&in[0], &in[i])) < 0 ||
            (rc = open_model(&other, in[i].path, o->weights, &first)) < 0)
            goto done;
        average_add(sum, other.m.params, size);
        trained_free(&other);
        memset(&other, 0, sizeof other);
    }
    average_finish(first.m.params, sum, size, n);
    if ((rc = write_average(o, in, n, &first)) < 0)
        goto done;
    if (log) {
        char steps[64];
        snprintf(steps, sizeof steps, n == 1 ? "step %" PRId64 : "steps %" PRId64 " to %" PRId64,
                 in[0].step, in[n - 1].step);
        fprintf(log, "s2s average: %s of %d checkpoint%s (%s) written to %s: %zu parameters, no "
                "optimizer state\n", first.ema ? "EMA weights" : "parameters", n,
                n == 1 ? "" : "s", steps, o->out, param_table_count(&first.m.table));
    }
done:
    free(sum);
    trained_free(&other);
    trained_free(&first);
    inputs_free(in, n);
    ckpt_paths_free(listed, n_listed);
    return rc;
}
