/* test_info.c - `s2s info` (src/tools/info*.c): on a dataset, a checkpoint and a parameter file
 * made with the library, the text and the JSON carry the key figures (pairs and tokens per
 * split, vocabulary sizes, the parameter count equal to the table's element count, step, world
 * size, history), the JSON is one valid document with numbers as numbers and +inf as null, a
 * checkpoint changed after it was written is described with its checksum reported invalid and
 * the status S2S_EFORMAT, "the checkpoint is invalid" (one whose training state cannot be
 * read, without the state and with the reason), and
 * a missing file, a directory, a file that is not HDF5, an HDF5 file without or with another
 * 'format' are one error each that names the file, with nothing written. A checkpoint names
 * the OpenBLAS kernels of its writer (or says an older one did not record them); --system
 * describes this machine's CPU and kernels. The command's argument handling (the path
 * anywhere, one only, --help, --system without a file) is checked through info_command. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas_core.h"
#include "s2s/ckpt.h"
#include "s2s/dataset.h"
#include "s2s/info.h"
#include "s2s/json.h"
#include "s2s/paramfile.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "scratch.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "info"), 0, "scratch directory");
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(info, .init = setup, .fini = teardown);

static const char *in_dir(const char *name)
{
    static char paths[8][128];
    static int next;
    return scratch_path(paths[next++ % 8], 128, dir, name);
}

/* info_write_rows into memory: the status, and the text in *text (free it). */
static int run_info(const char *path, bool json, int rows, char **text)
{
    size_t size = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &size);
    cr_assert_not_null(f, "open_memstream");
    int rc = info_write_rows(path, json, rows, f);
    fclose(f);
    return rc;
}

static char *info_ok(const char *path, bool json)
{
    char *text;
    int rc = run_info(path, json, INFO_HISTORY_ROWS, &text);
    cr_assert_eq(rc, 0, "info_write(%s): %s", path, s2s_errmsg(rc));
    return text;
}

static void expect_has(const char *text, const char *needle)
{
    cr_expect(strstr(text, needle) != NULL, "output lacks \"%s\":\n%s", needle, text);
}

/* The description of a checkpoint that is not valid: written in full, then S2S_EFORMAT with a
 * message that says the checkpoint is invalid. */
static char *info_invalid(const char *path, bool json)
{
    char *text;
    int rc = run_info(path, json, INFO_HISTORY_ROWS, &text);
    cr_expect_eq(rc, S2S_EFORMAT, "info_write(%s%s) of an invalid checkpoint: %d", path,
                 json ? ", json" : "", rc);
    char want[256];
    snprintf(want, sizeof want, "%s: the checkpoint is invalid: ", path);
    cr_expect(strstr(s2s_errmsg(rc), want) != NULL, "message \"%s\" lacks \"%s\"",
              s2s_errmsg(rc), want);
    return text;
}

/* An independent check of the JSON's shape: brackets balance outside strings, strings close,
 * one top-level object, no bare nan/inf. */
static void expect_json(const char *text)
{
    cr_expect(json_valid(text, strlen(text)), "not valid JSON:\n%s", text);
    int depth = 0, tops = 0;
    bool in_string = false;
    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = false;
            continue;
        }
        if (*p == '"')
            in_string = true;
        else if (*p == '{' || *p == '[')
            tops += depth++ == 0;
        else if (*p == '}' || *p == ']')
            cr_assert_gt(depth--, 0, "unbalanced JSON:\n%s", text);
    }
    cr_expect(!in_string && depth == 0 && tops == 1, "JSON not one closed object:\n%s", text);
    cr_expect(text[0] == '{', "JSON does not start with an object");
    static const char *const nonfinite[] = {":nan", ",nan", "[nan", ":inf", ",inf", "[inf",
                                            "-inf", ":-nan", "Infinity", "NaN"};
    for (size_t i = 0; i < sizeof nonfinite / sizeof *nonfinite; i++)
        cr_expect(!strstr(text, nonfinite[i]), "non-finite number in JSON:\n%s", text);
}

/* ---- a dataset ------------------------------------------------------------------------------ */

enum { V_SRC = 11, V_TGT = 9 };
static const long PAIRS[SPLIT_COUNT] = {40, 7, 0};

static int src_len(int split, long i)
{
    return 1 + (int)((i * 3 + split) % 7);
}

static int tgt_len(int split, long i)
{
    return 1 + (int)((i + 2 * split) % 5);
}

static void write_dataset(const char *path)
{
    static const char *const src[V_SRC] = {"<pad>", "<unk>", "<s>", "</s>", "a", "b",
                                           "c",     "d",     "e",   "f",    "g"};
    static const char *const tgt[V_TGT] = {"<pad>", "<unk>", "<s>", "</s>", "v",
                                           "w",     "x",     "y",   "z"};
    ds_writer *w = NULL;
    int rc = dsw_open(&w, path);
    cr_assert_eq(rc, 0, "dsw_open: %s", s2s_errmsg(rc));
    cr_assert_eq(dsw_set_vocab(w, "src", src, V_SRC), 0, "src vocab");
    cr_assert_eq(dsw_set_vocab(w, "tgt", tgt, V_TGT), 0, "tgt vocab");
    int32_t s[16], t[16];
    for (int split = 0; split < SPLIT_COUNT; split++)
        for (long i = 0; i < PAIRS[split]; i++) {
            int ls = src_len(split, i), lt = tgt_len(split, i);
            for (int k = 0; k < ls; k++)
                s[k] = k == 2 ? TOK_UNK : TOK_FIRST_WORD + (int32_t)((i + k) % (V_SRC - 4));
            for (int k = 0; k < lt; k++)
                t[k] = TOK_FIRST_WORD + (int32_t)((i * 2 + k) % (V_TGT - 4));
            rc = dsw_add(w, (split_id)split, s, ls, t, lt);
            cr_assert_eq(rc, 0, "dsw_add: %s", s2s_errmsg(rc));
        }
    cr_assert_eq(dsw_set_attr(w, "options", "min-freq = 1\nmax-len = 0\n"), 0, "options");
    cr_assert_eq(dsw_set_attr(w, "inputs", "train.src /x/a b.src crc32=0badf00d\n"), 0, "inputs");
    cr_assert_eq(dsw_set_attr(w, "report",
                              "{\"vocab\": {\"src\": 11, \"tgt\": 9}, \"train\": {\"read\": 45, "
                              "\"kept\": 40, \"empty\": 5, \"too_long\": 0, \"truncated\": 0, "
                              "\"ratio\": 0, \"src_tokens\": 100, \"tgt_tokens\": 80, "
                              "\"src_unk\": 10, \"tgt_unk\": 0}}"),
                 0, "report");
    cr_assert_eq(dsw_set_attr(w, "note", "made by \"test_info\""), 0, "note");
    rc = dsw_close(w);
    cr_assert_eq(rc, 0, "dsw_close: %s", s2s_errmsg(rc));
}

/* Expected figures of one split and side. */
static void split_figures(int split, int side, long long *tokens, int *max)
{
    *tokens = 0;
    *max = 0;
    for (long i = 0; i < PAIRS[split]; i++) {
        int l = side ? tgt_len(split, i) : src_len(split, i);
        *tokens += l;
        *max = l > *max ? l : *max;
    }
}

Test(info, dataset_text_and_json)
{
    const char *path = in_dir("data.h5");
    write_dataset(path);
    char *text = info_ok(path, false), *json = info_ok(path, true), want[256];

    expect_has(text, "dataset (format \"s2s-dataset\", schema version 1)");
    expect_has(text, "source 11, target 9 tokens");
    for (int split = 0; split < SPLIT_COUNT; split++) {
        long long tok[2];
        int max[2];
        split_figures(split, 0, &tok[0], &max[0]);
        split_figures(split, 1, &tok[1], &max[1]);
        /* "train   40   <src tokens>   <mean>   <max> ..." */
        char mean[2][16];
        for (int side = 0; side < 2; side++)
            snprintf(mean[side], sizeof mean[side], PAIRS[split] ? "%.2f" : "-",
                     PAIRS[split] ? (double)tok[side] / PAIRS[split] : 0.0);
        snprintf(want, sizeof want, "%-6s %12ld %13lld %9s %8d %13lld %9s %8d",
                 split_name((split_id)split), PAIRS[split], tok[0], mean[0], max[0], tok[1],
                 mean[1], max[1]);
        expect_has(text, want);

        snprintf(want, sizeof want,
                 "\"%s\":{\"pairs\":%ld,\"src_tokens\":%lld,", split_name((split_id)split),
                 PAIRS[split], tok[0]);
        expect_has(json, want);
        snprintf(want, sizeof want, "\"src_max_len\":%d,\"tgt_tokens\":%lld,", max[0], tok[1]);
        expect_has(json, want);
    }
    /* the stored report: parsed for the text, embedded as JSON */
    expect_has(text, "prep report");
    snprintf(want, sizeof want, "%-6s %12s %12s %8s %9s", "train", "45", "40", "5", "0");
    expect_has(text, want);
    expect_has(text, "10.00%"); /* 10 of 100 source tokens unknown */
    expect_has(json, "\"report\":{\"vocab\": {\"src\": 11, \"tgt\": 9}, \"train\": {\"read\": 45");
    /* options, inputs (a path with a space) and another attribute */
    expect_has(text, "  min-freq = 1\n");
    expect_has(json, "\"options\":{\"min-freq\":\"1\",\"max-len\":\"0\"}");
    expect_has(json, "\"inputs\":[{\"input\":\"train.src\",\"path\":\"/x/a b.src\","
                     "\"crc32\":\"0badf00d\"}]");
    expect_has(json, "\"attributes\":{\"note\":\"made by \\\"test_info\\\"\"}");
    expect_has(json, "\"vocab\":{\"src\":11,\"tgt\":9}");
    expect_has(json, "\"kind\":\"dataset\"");
    expect_has(json, "\"version\":1,");
    /* an empty split's mean length is not a number: null */
    expect_has(json, "\"test\":{\"pairs\":0,\"src_tokens\":0,\"src_mean_len\":null");
    expect_json(json);
    free(text);
    free(json);
}

/* ---- a checkpoint and a parameter file ------------------------------------------------------ */

static const char *const CONFIG[] = {"optim=adam",  "lr=0.001", "hidden=16", "cell=lstm",
                                     "data=d \"q\".h5", "layers=2", NULL};
static const char *const SRC_VOCAB[] = {"<pad>", "<unk>", "<s>", "</s>", "der", "Hund", "ä"};
static const char *const TGT_VOCAB[] = {"<pad>", "<unk>", "<s>", "</s>", "the", "dog"};

typedef struct {
    param_table tab;
    real *params, *m, *v;
    double history[3 * 4];
    ckpt_contents c;
    long long total;
} fixture;

static void fixture_init(fixture *f, int history_rows, double best_valid)
{
    param_table_init(&f->tab);
    cr_assert_geq(param_table_add(&f->tab, "src_embed.weight", 2, 7, 3), 0, "add");
    cr_assert_geq(param_table_add(&f->tab, "encoder.bias_ih_l0", 1, 5, 1), 0, "add");
    cr_assert_geq(param_table_add(&f->tab, "out.weight", 2, 6, 4), 0, "add");
    f->total = 0;
    for (int i = 0; i < f->tab.n; i++)
        f->total += (long long)f->tab.t[i].size;
    f->params = param_buffer_alloc(&f->tab);
    f->m = param_buffer_alloc(&f->tab);
    f->v = param_buffer_alloc(&f->tab);
    cr_assert(f->params && f->m && f->v, "param_buffer_alloc");
    fill_uniform(f->params, f->tab.total, -1, 1, 1, 0);
    fill_uniform(f->m, f->tab.total, -1, 1, 2, 0);
    fill_uniform(f->v, f->tab.total, 0, 1, 3, 0);
    for (int r = 0; r < 3; r++) {
        f->history[r * 4 + 0] = 100.0 * (r + 1);
        f->history[r * 4 + 1] = 3.0 - r;
        f->history[r * 4 + 2] = 3.25 - r;
        f->history[r * 4 + 3] = r == 2 ? NAN : 0.5 + r;
    }
    f->c = (ckpt_contents){
        .tab = &f->tab,
        .params = f->params,
        .exp_avg = f->m,
        .exp_avg_sq = f->v,
        .optim_step = 297,
        .config = CONFIG,
        .src_vocab = SRC_VOCAB,
        .src_vocab_n = 7,
        .tgt_vocab = TGT_VOCAB,
        .tgt_vocab_n = 6,
        .progress = {.step = 300, .epoch = 2, .next = 17, .world_size = 4, .skipped = 3,
                     .tokens = 123456789, .seconds = 3725.5, .lr_scale = 1,
                     .best_valid = best_valid, .best_step = 200, .lr_best = 1.5},
        .history = {.rows = history_rows, .cols = 4, .columns = "step,train_loss,valid_loss,x",
                    .data = f->history},
    };
}

static void fixture_free(fixture *f)
{
    free(f->params);
    free(f->m);
    free(f->v);
    param_table_free(&f->tab);
}

static void write_ckpt(const char *path, fixture *f)
{
    int rc = ckpt_write(path, &f->c);
    cr_assert_eq(rc, 0, "ckpt_write: %s", s2s_errmsg(rc));
}

Test(info, checkpoint_text)
{
    fixture f;
    fixture_init(&f, 3, 1.25);
    f.c.blas_core = "Haswell";
    const char *path = in_dir("ckpt-00000300.h5");
    write_ckpt(path, &f);
    char *text = info_ok(path, false), want[128];

    expect_has(text, "checkpoint (format \"s2s-checkpoint\", version 1)");
    /* model shape options first, in their order, then the rest as stored */
    const char *hidden = strstr(text, "  hidden"), *cell = strstr(text, "  cell"),
               *layers = strstr(text, "  layers"), *optim = strstr(text, "  optim"),
               *data = strstr(text, "  data");
    cr_assert(hidden && cell && layers && optim && data, "config entries missing:\n%s", text);
    cr_expect(cell < layers && layers < hidden && hidden < optim && optim < data,
              "config order:\n%s", text);
    expect_has(text, "source 7, target 6 tokens");
    snprintf(want, sizeof want, "3 tensors, %lld values", f.total);
    expect_has(text, want);
    expect_has(text, "src_embed.weight");
    expect_has(text, "[7, 3]");
    expect_has(text, "step                300\n");
    expect_has(text, "optimizer updates   297\n");
    expect_has(text, "epoch               2 (next batch 17)");
    expect_has(text, "tokens trained      123,456,789");
    expect_has(text, "3725.5 s (1h 02m 05s)");
    expect_has(text, "world size          4 ranks");
    expect_has(text, "OpenBLAS kernels    Haswell\n");
    expect_has(text, "skipped steps       3");
    expect_has(text, "best valid loss     1.25 at step 200");
    expect_has(text, "moments exp_avg, exp_avg_sq");
    expect_has(text, "checksum            valid");
    expect_has(text, "3 rows");
    expect_has(text, "step train_loss valid_loss");
    expect_has(text, " 300          1       1.25 nan\n");
    free(text);

    /* the last row only */
    cr_assert_eq(run_info(path, false, 1, &text), 0, "one history row");
    expect_has(text, "3 rows, the last 1:");
    cr_expect(!strstr(text, "   100 "), "row 1 shown:\n%s", text);
    free(text);
    fixture_free(&f);
}

Test(info, checkpoint_json)
{
    fixture f;
    fixture_init(&f, 2, INFINITY); /* no validation yet: best_valid is +inf */
    const char *path = in_dir("c.h5");
    write_ckpt(path, &f);
    char *json = info_ok(path, true), want[128];
    expect_json(json);
    expect_has(json, "\"kind\":\"checkpoint\"");
    snprintf(want, sizeof want, "\"params\":{\"tensors\":3,\"total\":%lld,", f.total);
    expect_has(json, want);
    expect_has(json, "{\"name\":\"out.weight\",\"shape\":[6,4],\"count\":24}");
    expect_has(json, "\"vocab\":{\"src\":7,\"tgt\":6,\"from\":\"/vocab\"}");
    expect_has(json, "\"config\":{\"cell\":\"lstm\",\"layers\":\"2\",\"hidden\":\"16\","
                     "\"optim\":\"adam\",\"lr\":\"0.001\",\"data\":\"d \\\"q\\\".h5\"}");
    expect_has(json, "\"step\":300,");
    expect_has(json, "\"world_size\":4");
    expect_has(json, "\"tokens\":123456789,");
    expect_has(json, "\"seconds\":3725.5,");
    expect_has(json, "\"best_valid\":null,");
    expect_has(json, "\"blas_core\":null,\"state\":{"); /* not recorded: as in older files */
    expect_has(json, "\"optimizer\":{\"step\":297,\"moments\":[\"exp_avg\",\"exp_avg_sq\"]}");
    expect_has(json, "\"checksum\":{\"valid\":true,");
    expect_has(json, "\"history\":{\"rows\":2,\"columns\":[\"step\",\"train_loss\","
                     "\"valid_loss\",\"x\"],\"first_row\":0,\"last\":[[100,3,3.25,0.5],"
                     "[200,2,2.25,1.5]]}");
    free(json);
    fixture_free(&f);
}

/* A checkpoint of the fixture at path, opened for changing it after the write. */
static hid_t ckpt_to_change(const char *path)
{
    fixture f;
    fixture_init(&f, 3, 1.25);
    write_ckpt(path, &f);
    fixture_free(&f);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fopen");
    return file;
}

Test(info, changed_checkpoint_has_an_invalid_checksum)
{
    const char *path = in_dir("c.h5");
    hid_t file = ckpt_to_change(path);
    /* the tokens counter changed after the write */
    hid_t group = H5Gopen2(file, "state", H5P_DEFAULT);
    hid_t attr = H5Aopen(group, "tokens", H5P_DEFAULT);
    cr_assert_geq(attr, 0, "open /state tokens");
    int64_t tokens = 5;
    cr_assert_geq(H5Awrite(attr, H5T_NATIVE_INT64, &tokens), 0, "write");
    H5Aclose(attr);
    H5Gclose(group);
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);

    char *text = info_invalid(path, false), *json = info_invalid(path, true);
    expect_has(text, "checksum            INVALID: ");
    expect_has(text, "checksum mismatch");
    expect_has(text, "tokens trained      5\n");
    expect_has(json, "\"checksum\":{\"valid\":false,");
    expect_has(json, "checksum mismatch");
    expect_json(json);
    free(text);
    free(json);
}

Test(info, checkpoint_without_a_readable_state)
{
    const char *path = in_dir("c.h5");
    hid_t file = ckpt_to_change(path);
    cr_assert_geq(H5Adelete_by_name(file, "state", "lr_bad", H5P_DEFAULT), 0, "delete lr_bad");
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);

    char *text = info_invalid(path, false), *json = info_invalid(path, true);
    expect_has(text, "3 tensors");
    expect_has(text, "training state\n  checksum            INVALID: ");
    expect_has(text, "'/state/lr_bad'");
    cr_expect(!strstr(text, "tokens trained") && !strstr(text, "history"),
              "state shown without being read:\n%s", text);
    expect_json(json);
    expect_has(json, "\"state\":null,\"best\":null,\"optimizer\":null,\"checksum\":{\"valid\":false,"
                     "\"stored\":null,\"error\":");
    expect_has(json, "\"history\":null}");
    free(text);
    free(json);
}

Test(info, parameter_file)
{
    fixture f;
    fixture_init(&f, 0, 1);
    const char *path = in_dir("model.h5");
    static const char *const attrs[] = {"dropout=0.1", "src-vocab=7", "tgt-vocab=6",
                                        "label-smoothing=0.1", "emb=3", NULL};
    int rc = paramfile_write(path, &f.tab, f.params, attrs);
    cr_assert_eq(rc, 0, "paramfile_write: %s", s2s_errmsg(rc));
    char *text = info_ok(path, false), *json = info_ok(path, true), want[128];
    expect_has(text, "parameter file (format \"s2s-params\", version 1)");
    expect_has(text, "source 7, target 6 tokens");
    snprintf(want, sizeof want, "3 tensors, %lld values", f.total);
    expect_has(text, want);
    cr_expect(!strstr(text, "checksum") && !strstr(text, "training state"),
              "checkpoint parts in a parameter file's text:\n%s", text);
    cr_expect(strstr(text, "  emb") < strstr(text, "  dropout") &&
                  strstr(text, "  dropout") < strstr(text, "  src-vocab"),
              "config order:\n%s", text);
    expect_json(json);
    expect_has(json, "\"kind\":\"params\"");
    expect_has(json, "\"vocab\":{\"src\":7,\"tgt\":6,\"from\":\"/config\"}");
    snprintf(want, sizeof want, "\"total\":%lld,", f.total);
    expect_has(json, want);
    cr_expect(!strstr(json, "\"checksum\""), "checksum in a parameter file's JSON");
    free(text);
    free(json);
    fixture_free(&f);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void expect_error(const char *path, int code, const char *needle)
{
    for (int json = 0; json < 2; json++) {
        char *text;
        int rc = run_info(path, json, INFO_HISTORY_ROWS, &text);
        const char *msg = s2s_errmsg(rc);
        cr_expect_eq(rc, code, "%s: returned %d (%s), expected %d", path, rc, msg, code);
        cr_expect(strstr(msg, path) != NULL, "message \"%s\" does not name %s", msg, path);
        cr_expect(strstr(msg, needle) != NULL, "message \"%s\" lacks \"%s\"", msg, needle);
        cr_expect(text == NULL || text[0] == '\0', "output on error: %s", text);
        free(text);
    }
}

static void make_hdf5(const char *path, const char *format)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fcreate");
    if (format) {
        hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
        H5Tset_size(type, strlen(format));
        hid_t attr = H5Acreate2(file, "format", type, space, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert_geq(H5Awrite(attr, type, format), 0, "write format");
        H5Aclose(attr);
        H5Sclose(space);
        H5Tclose(type);
    }
    H5Fclose(file);
}

Test(info, errors_name_the_file)
{
    expect_error(in_dir("missing.h5"), S2S_EIO, "No such file");
    expect_error(dir, S2S_EIO, "is a directory");

    const char *text = in_dir("text.h5");
    cr_assert_eq(scratch_write(text, "just text\n"), 0, "write");
    expect_error(text, S2S_EFORMAT, "not an HDF5 file");
    const char *empty = in_dir("empty.h5");
    cr_assert_eq(scratch_write(empty, ""), 0, "write");
    expect_error(empty, S2S_EFORMAT, "not an HDF5 file");

    const char *plain = in_dir("plain.h5");
    make_hdf5(plain, NULL);
    expect_error(plain, S2S_EFORMAT, "not an s2s file: an HDF5 file without a 'format'");
    const char *other = in_dir("other.h5");
    make_hdf5(other, "netcdf4"); /* fixed-length string, as other tools write */
    expect_error(other, S2S_EFORMAT, "not an s2s file: format attribute 'netcdf4'");
}

Test(info, truncated_checkpoint_is_an_error)
{
    fixture f;
    fixture_init(&f, 3, 1.25);
    const char *path = in_dir("c.h5");
    write_ckpt(path, &f);
    fixture_free(&f);
    size_t n;
    char *bytes = scratch_read(path, &n);
    cr_assert_not_null(bytes, "read back");
    FILE *out = fopen(path, "wb");
    cr_assert_not_null(out, "rewrite");
    fwrite(bytes, 1, n / 2, out);
    fclose(out);
    free(bytes);
    expect_error(path, S2S_EFORMAT, "truncated");
}

/* ---- the command and the JSON checker ------------------------------------------------------- */

static int command(int argc, const char *const *args)
{
    char *argv[8];
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)args[i];
    return info_command(argc, argv);
}

Test(info, command_arguments)
{
    const char *path = in_dir("data.h5");
    write_dataset(path);
    /* stdout goes nowhere useful under Criterion; the statuses are what is checked */
    cr_assert(freopen("/dev/null", "w", stdout), "redirect stdout");
    cr_expect_eq(command(1, (const char *[]){path}), 0, "path alone");
    cr_expect_eq(command(2, (const char *[]){"--json", path}), 0, "path last");
    cr_expect_eq(command(4, (const char *[]){"--history", "2", path, "--no-json"}), 0,
                 "option value before the path");
    cr_expect_eq(command(2, (const char *[]){"--", path}), 0, "after --");
    cr_expect_eq(command(0, NULL), S2S_EUSAGE, "no path");
    cr_expect(strstr(s2s_errmsg(S2S_EUSAGE), "name the file") != NULL, "%s",
              s2s_errmsg(S2S_EUSAGE));
    cr_expect_eq(command(2, (const char *[]){path, path}), S2S_EUSAGE, "two paths");
    cr_expect(strstr(s2s_errmsg(S2S_EUSAGE), "one file at a time") != NULL, "%s",
              s2s_errmsg(S2S_EUSAGE));
    cr_expect_eq(command(2, (const char *[]){path, "--bogus"}), S2S_EUSAGE, "unknown option");
    cr_expect_eq(command(3, (const char *[]){path, path, "--help"}), 0, "--help wins");
    cr_expect_eq(command(1, (const char *[]){in_dir("none.h5")}), S2S_EIO, "missing file");
    cr_expect_eq(command(1, (const char *[]){"--system"}), 0, "--system");
    cr_expect_eq(command(2, (const char *[]){"--system", path}), S2S_EUSAGE, "--system FILE");
    cr_expect(strstr(s2s_errmsg(S2S_EUSAGE), "not a file") != NULL, "%s",
              s2s_errmsg(S2S_EUSAGE));
}

/* info_write_system into memory. */
static char *system_ok(bool json)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    cr_assert_not_null(f, "open_memstream");
    int rc = info_write_system(json, f);
    fclose(f);
    cr_assert_eq(rc, 0, "info_write_system: %s", s2s_errmsg(rc));
    return text;
}

Test(info, system_text_and_json)
{
    const blas_core_state *bc = blas_core_get();
    char want[128];
    char *text = system_ok(false);
    expect_has(text, bc->config);
    snprintf(want, sizeof want, "kernels now         %s (", bc->kernel);
    expect_has(text, want);
    expect_has(text, "  runnable            Prescott");
    expect_has(text, "start-up              train, bench, translate and eval ");
    free(text);
    char *json = system_ok(true);
    expect_json(json);
    expect_has(json, "\"kind\":\"system\"");
    snprintf(want, sizeof want, "\"blas_core\":\"%s\"", bc->kernel);
    expect_has(json, want);
    expect_has(json, "\"known\":[\"Prescott\",\"Core2\",");
    expect_has(json, "\"SapphireRapids\"]");
    expect_has(json, "\"runnable\":[\"Prescott\""); /* every x86-64 CPU has SSE3 */
    expect_has(json, "\"startup\":{\"action\":");
    free(json);
}

/* best_valid is stored "lower is better": under --best-metric bleu it is minus BLEU, and info
 * shows the figure by its metric's name, in the text and as JSON "best". */
Test(info, best_validation_by_its_metric)
{
    static const char *const BLEU_CONFIG[] = {"cell=gru", "best-metric=bleu", NULL};
    fixture f;
    fixture_init(&f, 2, -31.5);
    f.c.config = BLEU_CONFIG;
    const char *path = in_dir("bleu.h5");
    write_ckpt(path, &f);
    char *text = info_ok(path, false), *json = info_ok(path, true);
    expect_has(text, "best valid BLEU     31.5 at step 200");
    expect_json(json);
    expect_has(json, "\"best\":{\"metric\":\"bleu\",\"value\":31.5,\"step\":200}");
    free(text);
    free(json);
    fixture_free(&f);
}
