/* info.c - `s2s info`'s entry points and command line (include/s2s/info.h): a file is read
 * whole into an info_file (info_read.c) and only then rendered, as text (info_text.c) or as
 * JSON (info_json.c), so that a file that fails half-way prints nothing but the error;
 * `--system` describes this machine instead (info_system.c). The kinds of file, what is read
 * of each and how the parts share the gathered data: src/tools/info_internal.h. */
#include "s2s/info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/cli.h"
#include "s2s/dataset.h"
#include "s2s/json.h"
#include "s2s/options.h"
#include "s2s/probe.h"
#include "s2s/status.h"
#include "tools/info_internal.h"

/* ---- entry points --------------------------------------------------------------------------- */

/* The one object of --json: begun here, its members written by the caller, ended by
 * document_end with the writer's status. */
static void document_begin(json_writer *w, FILE *out)
{
    json_writer_init(w, out, JSON_COMPACT);
    json_open_object(w);
}

static int document_end(json_writer *w, FILE *out)
{
    json_close_object(w);
    int rc = json_writer_end(w);
    fputc('\n', out);
    return rc;
}

/* rc, unless out could not be written. */
static int flushed(FILE *out, int rc)
{
    if (fflush(out) != 0 || ferror(out))
        return s2s_fail(S2S_EIO, "cannot write the output: %s", strerror(errno));
    return rc;
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
        document_begin(&w, out);
        info_json_file(&f, history_rows, &w);
        rc = document_end(&w, out);
    } else {
        info_text_file(&f, history_rows, out);
    }
    rc = flushed(out, rc);
    /* Described all the same, but a script that checks the status must not take a damaged
     * checkpoint for a usable one. */
    if (rc == 0 && f.checksum_error)
        rc = s2s_fail(S2S_EFORMAT, "%s: the checkpoint is invalid: %s", path, f.checksum_error);
    info_free(&f);
    return rc;
}

int info_write(const char *path, bool json, FILE *out)
{
    return info_write_rows(path, json, INFO_HISTORY_ROWS, out);
}

int info_write_system(bool json, FILE *out)
{
    info_system s;
    info_system_gather(&s);
    if (!json) {
        info_system_text(&s, out);
        return flushed(out, 0);
    }
    json_writer w;
    document_begin(&w, out);
    info_system_json(&s, &w);
    return flushed(out, document_end(&w, out));
}

/* ---- the command ---------------------------------------------------------------------------- */

typedef struct {
    bool json;
    int history;
    bool system;
    double probe_timeout;
    bool large_vocab;
} info_options;

// clang-format off
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
// clang-format on
#define N_INFO_SPECS ((int)(sizeof info_specs / sizeof info_specs[0]))

/* The command line split into the options (with their values) and the positional arguments:
 * the file is the one positional argument, wherever it stands (after --: anything); *extra is
 * a second one, NULL if none. opts and pos hold argc + 1 entries; returns the options' count. */
static int split_args(int argc, char **argv, char **opts, char **pos, const char **path,
                      const char **extra)
{
    int n, n_pos;
    cli_split_args(info_specs, N_INFO_SPECS, argc, argv, opts, &n, pos, &n_pos);
    *path = n_pos > 0 ? pos[0] : NULL;
    *extra = n_pos > 1 ? pos[1] : NULL;
    return n;
}

static void print_help(void)
{
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
}

int info_command(int argc, char **argv)
{
    info_options o;
    bool help = false;
    const char *path, *extra;
    char **opts = calloc(2 * ((size_t)argc + 1), sizeof *opts);
    if (!opts)
        return s2s_fail(S2S_ENOMEM, "out of memory");
    int n = split_args(argc, argv, opts, opts + argc + 1, &path, &extra);
    /* A second file is reported after the options are parsed, so that --help wins over
     * everything, a wrong positional argument included. */
    int rc = extra ? s2s_fail(S2S_EUSAGE, "one file at a time: got '%s' and '%s'", path, extra) : 0;
    int st = opts_parse(info_specs, N_INFO_SPECS, &o, n, opts, NULL, &help);
    free(opts);
    if (help) {
        print_help();
        return 0;
    }
    if (rc < 0 || st < 0)
        return st < 0 ? st : rc; /* the message of the last failure stands */
    if (o.system && path)
        return s2s_fail(S2S_EUSAGE, "--system describes this machine, not a file: got '%s'", path);
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
