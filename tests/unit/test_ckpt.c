/* test_ckpt.c - training checkpoints: an exact round trip of everything a resumed run needs,
 * a checkpoint used as a parameter file, the checksum catching a changed tensor value or state
 * attribute, truncated files rejected, the summary read without a parameter table (kept for a
 * checkpoint whose checksum does not match, incomplete when the state cannot be read), the
 * OpenBLAS kernels of the writer (outside the checksum, absent in older files), the newest
 * valid checkpoint of a run directory found
 * past damaged newer ones, pruning, and atomic writes: a write that fails (file-size limit as
 * on a full disk, missing or unwritable directory) leaves the previous file byte-identical and
 * no temporary file behind; malformed arguments write nothing. The bf16 gradient residuals
 * (/comm/residual): rows asked for and handed back in order, their own checksum, a failing row
 * failing the write. The EMA weights (/ema) in the checksum and read back; parameters-only files
 * (kind params): smaller, read as parameters, refusing optimizer state, skipped by
 * ckpt_find_latest; an unknown kind refused; the ckpt-*.h5 listing.
 *
 * Criterion forks each test, so a file-size limit set in one does not leak into the others. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/ckpt.h"
#include "s2s/paramfile.h"
#include "s2s/status.h"
#include "scratch.h"
#include "testutil.h"

/* ---- fixture: a scratch directory, a small table with alignment gaps, full contents -------- */

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "ckpt"), 0, "mkdtemp of a scratch directory");
}

static void remove_dir(void)
{
    scratch_remove(dir);
}

TestSuite(ckpt, .init = make_dir, .fini = remove_dir);

static void in_dir(char *buf, size_t n, const char *name)
{
    scratch_path(buf, n, dir, name);
}

static void small_table(param_table *tab, int out_cols)
{
    cr_assert_eq(small_param_table(tab, out_cols), 0, "the small parameter table");
}

static real *filled_buffer(const param_table *tab, uint32_t seed)
{
    real *p = filled_param_buffer(tab, seed);
    cr_assert_not_null(p, "param_buffer_alloc");
    return p;
}

static const char *const CONFIG[] = {"cell=lstm", "layers=2", "optim=adam", "lr=0.001", NULL};
static const char *const SRC_VOCAB[] = {"<pad>", "<unk>", "<s>", "</s>", "der", "Hund", "ä"};
static const char *const TGT_VOCAB[] = {"<pad>", "<unk>", "<s>", "</s>", "the", "dog"};
static double HISTORY[] = {100, 2.5, 2.75, 200, 1.5, 1.625, 300, 1.25, 1.5};

/* Everything a checkpoint holds, with a distinct value in every progress field. */
typedef struct {
    param_table tab;
    real *params, *m, *v;
    ckpt_contents c;
} fixture;

static void fixture_init(fixture *f, int out_cols, bool moments)
{
    small_table(&f->tab, out_cols);
    f->params = filled_buffer(&f->tab, 1);
    f->m = moments ? filled_buffer(&f->tab, 2) : NULL;
    f->v = moments ? filled_buffer(&f->tab, 3) : NULL;
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
        .progress = {.step = 300,
                     .epoch = 2,
                     .next = 4096,
                     .world_size = 4,
                     .skipped = 3,
                     .nonfinite_streak = 1,
                     .tokens = 123456789,
                     .seconds = 61.25,
                     .lr_scale = 0.5,
                     .best_valid = 1.5,
                     .best_step = 200,
                     .bad_evals = 1,
                     .lr_best = 1.375,
                     .lr_bad = 2},
        .history = {.rows = 3, .cols = 3, .columns = "step,train_loss,valid_loss", .data = HISTORY},
    };
}

static void fixture_free(fixture *f)
{
    free(f->params);
    free(f->m);
    free(f->v);
    param_table_free(&f->tab);
}

static void write_ok(const char *path, const ckpt_contents *c)
{
    int rc = ckpt_write(path, c);
    cr_assert_eq(rc, 0, "ckpt_write(%s): %s", path, s2s_errmsg(rc));
}

/* A valid checkpoint of the fixture (with moments) at dir/name, progress.step = step. */
static void write_valid(char *path, size_t n, const char *name, int64_t step)
{
    fixture f;
    fixture_init(&f, 6, true);
    f.c.progress.step = step;
    in_dir(path, n, name);
    write_ok(path, &f.c);
    fixture_free(&f);
}

static bool tensors_equal(const param_table *tab, const real *a, const real *b)
{
    for (int i = 0; i < tab->n; i++)
        if (memcmp(a + tab->t[i].offset, b + tab->t[i].offset, tab->t[i].size * sizeof(real)))
            return false;
    return true;
}

static void expect_error(int rc, int code, const char *msg, const char *const *needles)
{
    cr_expect_eq(rc, code, "returned %d (%s), expected %d", rc, msg, code);
    for (int i = 0; needles && needles[i]; i++)
        cr_expect(strstr(msg, needles[i]) != NULL, "error message \"%s\" does not mention \"%s\"",
                  msg, needles[i]);
}

/* ---- round trip ----------------------------------------------------------------------------- */

typedef struct {
    char text[1024];
} collected;

static int collect_config(const char *key, const char *value, void *ctx)
{
    collected *c = ctx;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s=%s;", key, value);
    return 0;
}

static int collect_vocab(int id, const char *text, void *ctx)
{
    collected *c = ctx;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%d:%s;", id, text);
    return 0;
}

static void expect_vocab(const char *path, int side, const char *const *vocab, int n)
{
    collected got = {{0}}, want = {{0}};
    for (int i = 0; i < n; i++)
        collect_vocab(i, vocab[i], &want);
    int rc = ckpt_read_vocab(path, side, collect_vocab, &got);
    cr_assert_eq(rc, 0, "ckpt_read_vocab(%d): %s", side, s2s_errmsg(rc));
    cr_expect_str_eq(got.text, want.text, "vocabulary %d", side);
}

Test(ckpt, round_trip_of_everything)
{
    fixture f;
    fixture_init(&f, 6, true);
    char path[128];
    cr_assert_eq(ckpt_step_path(path, sizeof path, dir, 300), 0, "ckpt_step_path");
    cr_expect(strstr(path, "/ckpt-00000300.h5") != NULL, "step path %s", path);
    write_ok(path, &f.c);

    ckpt_loaded l = {0};
    l.params = param_buffer_alloc(&f.tab);
    l.exp_avg = param_buffer_alloc(&f.tab);
    l.exp_avg_sq = param_buffer_alloc(&f.tab);
    int rc = ckpt_read(path, &f.tab, &l);
    cr_assert_eq(rc, 0, "ckpt_read: %s", s2s_errmsg(rc));
    cr_expect(tensors_equal(&f.tab, f.params, l.params), "parameters differ");
    cr_expect(tensors_equal(&f.tab, f.m, l.exp_avg), "first moments differ");
    cr_expect(tensors_equal(&f.tab, f.v, l.exp_avg_sq), "second moments differ");
    cr_expect_eq(l.optim_step, 297, "optimizer step");
    cr_expect(l.has_exp_avg && l.has_exp_avg_sq, "moments reported present");
    cr_expect_eq(l.src_vocab_n, 7, "source vocabulary size");
    cr_expect_eq(l.tgt_vocab_n, 6, "target vocabulary size");
    const train_progress *a = &f.c.progress, *b = &l.progress;
    cr_expect_eq(b->step, a->step, "step");
    cr_expect_eq(b->epoch, a->epoch, "epoch");
    cr_expect_eq(b->next, a->next, "next");
    cr_expect_eq(b->world_size, a->world_size, "world_size");
    cr_expect_eq(b->skipped, a->skipped, "skipped");
    cr_expect_eq(b->nonfinite_streak, a->nonfinite_streak, "nonfinite_streak");
    cr_expect_eq(b->tokens, a->tokens, "tokens");
    cr_expect_eq(b->seconds, a->seconds, "seconds");
    cr_expect_eq(b->lr_scale, a->lr_scale, "lr_scale");
    cr_expect_eq(b->best_valid, a->best_valid, "best_valid");
    cr_expect_eq(b->best_step, a->best_step, "best_step");
    cr_expect_eq(b->bad_evals, a->bad_evals, "bad_evals");
    cr_expect_eq(b->lr_best, a->lr_best, "lr_best");
    cr_expect_eq(b->lr_bad, a->lr_bad, "lr_bad");
    cr_expect_eq(l.history.rows, 3, "history rows");
    cr_expect_eq(l.history.cols, 3, "history cols");
    cr_assert_not_null(l.history.data, "history data");
    cr_expect_eq(memcmp(l.history.data, HISTORY, sizeof HISTORY), 0, "history values");
    cr_expect_str_eq(l.history.columns, "step,train_loss,valid_loss", "history columns");

    collected cfg = {{0}};
    rc = ckpt_read_config(path, collect_config, &cfg);
    cr_assert_eq(rc, 0, "ckpt_read_config: %s", s2s_errmsg(rc));
    cr_expect_str_eq(cfg.text, "cell=lstm;layers=2;optim=adam;lr=0.001;", "configuration");
    expect_vocab(path, 0, SRC_VOCAB, 7);
    expect_vocab(path, 1, TGT_VOCAB, 6);
    cr_expect_eq(ckpt_verify(path), 0, "ckpt_verify: %s", s2s_errmsg(S2S_EFORMAT));

    /* Moments the caller does not use are skipped, yet still checked by the checksum. */
    ckpt_loaded_free(&l);
    real *params_only = param_buffer_alloc(&f.tab);
    ckpt_loaded p = {.params = params_only};
    rc = ckpt_read(path, &f.tab, &p);
    cr_expect_eq(rc, 0, "ckpt_read without moments: %s", s2s_errmsg(rc));
    cr_expect(p.has_exp_avg && p.has_exp_avg_sq, "moments reported present");
    cr_expect(tensors_equal(&f.tab, f.params, params_only), "parameters differ");
    ckpt_loaded_free(&p);
    ckpt_loaded_free(&p); /* safe twice: the first call leaves it empty */
    free(params_only);
    free(l.params);
    free(l.exp_avg);
    free(l.exp_avg_sq);
    fixture_free(&f);
}

Test(ckpt, empty_history_and_no_moments)
{
    fixture f;
    fixture_init(&f, 6, false);
    f.c.history = (ckpt_history){0};
    f.c.progress.best_valid = INFINITY;
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000001.h5");
    write_ok(path, &f.c);
    ckpt_loaded l = {.params = param_buffer_alloc(&f.tab)};
    int rc = ckpt_read(path, &f.tab, &l);
    cr_assert_eq(rc, 0, "ckpt_read: %s", s2s_errmsg(rc));
    cr_expect(!l.has_exp_avg && !l.has_exp_avg_sq, "no moments in the file");
    cr_expect(isinf(l.progress.best_valid), "best_valid +inf");
    cr_expect_eq(l.history.rows, 0, "history rows");
    cr_expect_eq(ckpt_verify(path), 0, "ckpt_verify");
    free(l.params);
    ckpt_loaded_free(&l);
    fixture_free(&f);
}

Test(ckpt, checkpoint_is_a_parameter_file)
{
    fixture f;
    fixture_init(&f, 6, true);
    char path[128];
    in_dir(path, sizeof path, "best.h5");
    write_ok(path, &f.c);
    real *back = param_buffer_alloc(&f.tab);
    int rc = paramfile_read(path, &f.tab, back);
    cr_assert_eq(rc, 0, "paramfile_read of a checkpoint: %s", s2s_errmsg(rc));
    cr_expect(tensors_equal(&f.tab, f.params, back), "parameters differ");
    collected cfg = {{0}};
    rc = paramfile_read_config(path, collect_config, &cfg);
    cr_assert_eq(rc, 0, "paramfile_read_config of a checkpoint: %s", s2s_errmsg(rc));
    cr_expect_str_eq(cfg.text, "cell=lstm;layers=2;optim=adam;lr=0.001;", "configuration");
    /* The other way round: a parameter file is not a checkpoint. */
    char pf[128];
    in_dir(pf, sizeof pf, "params.h5");
    cr_assert_eq(paramfile_write(pf, &f.tab, f.params, CONFIG), 0, "paramfile_write");
    rc = ckpt_verify(pf);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){pf, "s2s-params", NULL});
    free(back);
    fixture_free(&f);
}

/* ---- damage --------------------------------------------------------------------------------- */

/* Adds 1 to element `index` of dataset `name`, in place, through HDF5. */
static void bump_element(const char *path, const char *name, hsize_t row, hsize_t col)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fopen %s", path);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert_geq(dset, 0, "H5Dopen2 %s", name);
    hid_t fspace = H5Dget_space(dset);
    int nd = H5Sget_simple_extent_ndims(fspace);
    hsize_t start[2] = {row, col}, count[2] = {1, 1}, one = 1;
    cr_assert_geq(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL), 0,
                  "select element of %s (%d dimensions)", name, nd);
    hid_t mspace = H5Screate_simple(1, &one, NULL);
    float x;
    cr_assert_geq(H5Dread(dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, &x), 0, "read");
    x += 1;
    cr_assert_geq(H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, &x), 0, "write");
    H5Sclose(mspace);
    H5Sclose(fspace);
    H5Dclose(dset);
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);
}

static void set_state_attr(const char *path, const char *group, const char *name, int64_t v)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fopen %s", path);
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    hid_t attr = H5Aopen(g, name, H5P_DEFAULT);
    cr_assert_geq(attr, 0, "H5Aopen %s/%s", group, name);
    cr_assert_geq(H5Awrite(attr, H5T_NATIVE_INT64, &v), 0, "H5Awrite");
    H5Aclose(attr);
    H5Gclose(g);
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);
}

static void expect_rejected(const char *path, const char *needle)
{
    param_table tab;
    small_table(&tab, 6);
    ckpt_loaded l = {.params = param_buffer_alloc(&tab)};
    l.exp_avg = param_buffer_alloc(&tab);
    l.exp_avg_sq = param_buffer_alloc(&tab);
    int rc = ckpt_read(path, &tab, &l);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, needle, NULL});
    /* The moments unread: the verification reads them as stored. */
    ckpt_loaded p = {.params = l.params};
    rc = ckpt_read(path, &tab, &p);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, needle, NULL});
    rc = ckpt_verify(path);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, needle, NULL});
    cr_expect_null(l.history.data, "no history handed out on error");
    free(l.params);
    free(l.exp_avg);
    free(l.exp_avg_sq);
    param_table_free(&tab);
}

Test(ckpt, checksum_detects_changed_tensor_values)
{
    const char *tensors[] = {"params/out.weight", "params/rnn.bias_ih_l0",
                             "optim/exp_avg/embed.weight", "optim/exp_avg_sq/out.weight"};
    for (int i = 0; i < 4; i++) {
        char path[128];
        write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
        cr_assert_eq(ckpt_verify(path), 0, "fresh checkpoint verifies");
        bump_element(path, tensors[i], 2, 0);
        expect_rejected(path, "checksum mismatch");
    }
}

Test(ckpt, checksum_detects_changed_state)
{
    const char *attrs[][2] = {
        {"state", "tokens"}, {"state", "step"}, {"state", "lr_bad"}, {"optim", "step"}};
    for (int i = 0; i < 4; i++) {
        char path[128];
        write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
        set_state_attr(path, attrs[i][0], attrs[i][1], 12345);
        expect_rejected(path, "checksum mismatch");
    }
}

Test(ckpt, summary_without_a_parameter_table)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
    ckpt_summary s;
    int rc = ckpt_read_summary(path, &s);
    cr_assert_eq(rc, 0, "ckpt_read_summary: %s", s2s_errmsg(rc));
    cr_expect(s.complete, "complete");
    cr_expect_eq(s.optim_step, 297, "optimizer step");
    cr_expect(s.has_moment[0] && s.has_moment[1], "moments reported present");
    cr_expect_eq(s.progress.step, 300, "step");
    cr_expect_eq(s.progress.tokens, 123456789, "tokens");
    cr_expect_eq(s.progress.lr_bad, 2, "lr_bad");
    cr_expect_eq(s.history.rows, 3, "history rows");
    cr_assert_not_null(s.history.data, "history data");
    cr_expect_eq(memcmp(s.history.data, HISTORY, sizeof HISTORY), 0, "history values");
    cr_expect_str_eq(s.history.columns, "step,train_loss,valid_loss", "history columns");
    uint64_t checksum = s.checksum;
    ckpt_summary_free(&s);
    ckpt_summary_free(&s); /* safe twice */

    /* changed after the write: ckpt_verify's verdict, with what was read */
    set_state_attr(path, "state", "tokens", 12345);
    rc = ckpt_read_summary(path, &s);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, "checksum mismatch", NULL});
    cr_expect(s.complete, "complete despite the mismatch");
    cr_expect_eq(s.progress.tokens, 12345, "tokens as stored");
    cr_expect_eq(s.checksum, checksum, "stored checksum");
    ckpt_summary_free(&s);

    /* a state attribute missing: incomplete */
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fopen %s", path);
    cr_assert_geq(H5Adelete_by_name(file, "state", "lr_bad", H5P_DEFAULT), 0, "delete lr_bad");
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);
    rc = ckpt_read_summary(path, &s);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, "/state/lr_bad", NULL});
    cr_expect(!s.complete, "incomplete");
    ckpt_summary_free(&s);
}

/* The OpenBLAS kernels of the writing run: read back, outside the checksum, and simply absent
 * from a file without them (written before they were recorded). */
Test(ckpt, blas_core_of_the_writer)
{
    fixture f;
    fixture_init(&f, 6, true);
    f.c.blas_core = "SkylakeX";
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000300.h5");
    write_ok(path, &f.c);
    ckpt_summary s;
    int rc = ckpt_read_summary(path, &s);
    cr_assert_eq(rc, 0, "ckpt_read_summary: %s", s2s_errmsg(rc));
    cr_expect_str_eq(s.blas_core, "SkylakeX", "blas_core read back");
    ckpt_summary_free(&s);

    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0, "H5Fopen %s", path);
    cr_assert_geq(H5Adelete_by_name(file, "state", "blas_core", H5P_DEFAULT), 0,
                  "delete blas_core");
    cr_assert_geq(H5Fclose(file), 0, "H5Fclose");
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);
    rc = ckpt_read_summary(path, &s);
    cr_assert_eq(rc, 0, "an older file without blas_core: %s", s2s_errmsg(rc));
    cr_expect(s.complete, "complete");
    cr_expect_str_eq(s.blas_core, "", "no blas_core");
    ckpt_summary_free(&s);
    ckpt_loaded l = {.params = param_buffer_alloc(&f.tab), .exp_avg = param_buffer_alloc(&f.tab),
                     .exp_avg_sq = param_buffer_alloc(&f.tab)};
    rc = ckpt_read(path, &f.tab, &l);
    cr_expect_eq(rc, 0, "ckpt_read without blas_core: %s", s2s_errmsg(rc));
    free(l.params);
    free(l.exp_avg);
    free(l.exp_avg_sq);
    ckpt_loaded_free(&l);
    fixture_free(&f);
}

static void truncate_half(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    cr_assert_eq(truncate(path, st.st_size / 2), 0, "truncate %s", path);
}

Test(ckpt, truncated_file_is_rejected)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
    truncate_half(path);
    expect_rejected(path, "truncated");
}

Test(ckpt, missing_file)
{
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000007.h5");
    int rc = ckpt_verify(path);
    expect_error(rc, S2S_EIO, s2s_errmsg(rc), (const char *[]){path, NULL});
}

/* ---- run directories ------------------------------------------------------------------------ */

static char *log_text(FILE *log)
{
    fflush(log);
    long n = ftell(log);
    char *buf = calloc((size_t)n + 1, 1);
    rewind(log);
    cr_assert_eq(fread(buf, 1, (size_t)n, log), (size_t)n, "read the log back");
    return buf;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

Test(ckpt, find_latest_skips_damaged_newer_checkpoints)
{
    char p100[128], p200[128], p300[128], p400[128], other[128], found[256];
    write_valid(p100, sizeof p100, "ckpt-00000100.h5", 100);
    write_valid(p200, sizeof p200, "ckpt-00000200.h5", 200);
    write_valid(p300, sizeof p300, "ckpt-00000300.h5", 300);
    write_valid(p400, sizeof p400, "ckpt-00000400.h5", 400);
    bump_element(p300, "params/embed.weight", 1, 1); /* corrupt */
    truncate_half(p400);                             /* truncated, the newest */
    /* Neither a temporary of a write in progress nor other files are candidates. */
    in_dir(other, sizeof other, "ckpt-00000500.h5.tmp.123.4");
    cr_assert_eq(scratch_write(other, "partial"), 0, "write %s", other);
    in_dir(other, sizeof other, "ckpt-notes.h5");
    cr_assert_eq(scratch_write(other, "x"), 0, "write %s", other);

    FILE *log = tmpfile();
    cr_assert_not_null(log, "tmpfile");
    int rc = ckpt_find_latest(dir, found, sizeof found, log);
    cr_assert_eq(rc, 0, "ckpt_find_latest: %s", s2s_errmsg(rc));
    cr_expect_str_eq(found, p200, "the newest valid checkpoint");
    char *text = log_text(log);
    cr_expect_eq(count_lines(text), 2, "one line per skipped checkpoint:\n%s", text);
    char line[400];
    snprintf(line, sizeof line, "s2s: skipping checkpoint %s: ", p400);
    cr_expect(strstr(text, line) != NULL, "log reports %s:\n%s", p400, text);
    snprintf(line, sizeof line, "s2s: skipping checkpoint %s: ", p300);
    cr_expect(strstr(text, line) != NULL, "log reports %s:\n%s", p300, text);
    cr_expect(strstr(text, "checksum mismatch") != NULL, "reason of %s:\n%s", p300, text);
    cr_expect(strstr(text, "truncated") != NULL, "reason of %s:\n%s", p400, text);
    cr_expect(strstr(text, p400) < strstr(text, p300), "newest reported first:\n%s", text);
    free(text);
    fclose(log);

    char small[8];
    rc = ckpt_find_latest(dir, small, sizeof small, NULL);
    cr_expect_eq(rc, S2S_ERANGE, "a buffer too small: %s", s2s_errmsg(rc));
}

Test(ckpt, find_latest_without_a_valid_checkpoint)
{
    char found[256], path[128];
    int rc = ckpt_find_latest(dir, found, sizeof found, NULL);
    expect_error(rc, S2S_EINVAL, s2s_errmsg(rc),
                 (const char *[]){"no valid checkpoint", dir, NULL});
    write_valid(path, sizeof path, "ckpt-00000100.h5", 100);
    truncate_half(path);
    FILE *log = tmpfile();
    rc = ckpt_find_latest(dir, found, sizeof found, log);
    expect_error(rc, S2S_EINVAL, s2s_errmsg(rc),
                 (const char *[]){"no valid checkpoint", dir, NULL});
    char *text = log_text(log);
    cr_expect_eq(count_lines(text), 1, "the damaged checkpoint is reported:\n%s", text);
    free(text);
    fclose(log);
    in_dir(path, sizeof path, "no_such_dir");
    rc = ckpt_find_latest(path, found, sizeof found, NULL);
    expect_error(rc, S2S_EIO, s2s_errmsg(rc), (const char *[]){path, NULL});
}

Test(ckpt, prune_keeps_newest_and_best)
{
    char path[160];
    /* Pruning goes by name, not contents; step 12 has more digits than the others sort by. */
    const int64_t steps[] = {5, 40, 12, 300, 7, 1000000000};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ckpt_step_path(path, sizeof path, dir, steps[i]), 0, "path");
        cr_assert_eq(scratch_write(path, "x"), 0, "write %s", path);
    }
    cr_assert_eq(ckpt_best_path(path, sizeof path, dir), 0, "best path");
    cr_assert_eq(scratch_write(path, "best"), 0, "write best.h5");
    in_dir(path, sizeof path, "train.log");
    cr_assert_eq(scratch_write(path, "log"), 0, "write train.log");

    cr_expect_eq(ckpt_prune(dir, 3, stderr), 0, "ckpt_prune");
    const int64_t kept[] = {1000000000, 300, 40}, gone[] = {12, 7, 5};
    for (int i = 0; i < 3; i++) {
        ckpt_step_path(path, sizeof path, dir, kept[i]);
        cr_expect_eq(access(path, F_OK), 0, "%s kept", path);
        ckpt_step_path(path, sizeof path, dir, gone[i]);
        cr_expect_neq(access(path, F_OK), 0, "%s removed", path);
    }
    cr_expect_eq(scratch_count(dir, "best.h5"), 1, "best.h5 kept");
    cr_expect_eq(scratch_count(dir, "train.log"), 1, "other files kept");
    cr_expect_eq(ckpt_prune(dir, 1, NULL), 0, "ckpt_prune 1");
    cr_expect_eq(scratch_count(dir, "ckpt-"), 1, "one checkpoint left");
    cr_expect_eq(scratch_count(dir, "best.h5"), 1, "best.h5 kept");
    cr_expect_eq(ckpt_prune(dir, 0, NULL), S2S_EINVAL, "keep 0 is refused");
    cr_expect_eq(scratch_count(dir, "ckpt-"), 1, "nothing removed by a refused prune");
}

Test(ckpt, paths_that_do_not_fit)
{
    char buf[24];
    cr_expect_eq(ckpt_step_path(buf, sizeof buf, "/a/rather/long/run/dir", 1), S2S_ERANGE,
                 "step path");
    cr_expect_eq(ckpt_best_path(buf, sizeof buf, "/a/rather/long/run/dir"), S2S_ERANGE,
                 "best path");
    cr_expect_eq(ckpt_step_path(buf, sizeof buf, "/r", 42), 0, "step path that fits");
    cr_expect_str_eq(buf, "/r/ckpt-00000042.h5", "step path text");
}

/* ---- failed writes -------------------------------------------------------------------------- */

static void expect_write_fails(const char *path, const ckpt_contents *c, int code,
                               const char *needle, const char *scan_dir)
{
    s2s_clear_error();
    int rc = ckpt_write(path, c);
    expect_error(rc, code, s2s_errmsg(rc), (const char *[]){needle, NULL});
    cr_expect_eq(scratch_count(scan_dir, ".tmp"), 0, "a temporary file was left behind in %s",
                 scan_dir);
}

static void expect_unchanged(const char *path, const char *before, size_t n_before)
{
    size_t n;
    char *after = scratch_read(path, &n);
    cr_expect(after && n == n_before && memcmp(before, after, n) == 0,
              "%s changed after a failed write (%zu bytes before, %zu after)", path, n_before, n);
    free(after);
}

Test(ckpt, write_on_full_disk_keeps_previous)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
    size_t n;
    char *before = scratch_read(path, &n);
    cr_assert_not_null(before, "read %s", path);
    /* 3 x 256 KB of tensors under a 64 KB file-size limit: writes fail with EFBIG (SIGXFSZ
     * ignored) as they would on a full disk. */
    fixture f;
    fixture_init(&f, 6, false);
    param_table big;
    param_table_init(&big);
    cr_assert_geq(param_table_add(&big, "big.weight", 2, 256, 256), 0, "add");
    real *p = filled_buffer(&big, 6), *m = filled_buffer(&big, 7), *v = filled_buffer(&big, 8);
    f.c.tab = &big;
    f.c.params = p;
    f.c.exp_avg = m;
    f.c.exp_avg_sq = v;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 64 << 10, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "setrlimit(RLIMIT_FSIZE)");
    expect_write_fails(path, &f.c, S2S_EIO, path, dir);
    lim.rlim_cur = RLIM_INFINITY; /* Criterion's own files in the teardown */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "restore RLIMIT_FSIZE");
    expect_unchanged(path, before, n);
    cr_expect_eq(ckpt_verify(path), 0, "the previous checkpoint still verifies");
    free(p);
    free(m);
    free(v);
    param_table_free(&big);
    free(before);
    fixture_free(&f);
}

Test(ckpt, write_into_missing_or_unwritable_directory)
{
    fixture f;
    fixture_init(&f, 6, true);
    char path[160], file[128];
    in_dir(path, sizeof path, "no_such_dir/ckpt-00000001.h5");
    expect_write_fails(path, &f.c, S2S_EIO, path, dir);
    cr_expect_neq(access(path, F_OK), 0, "%s exists after a failed write", path);

    in_dir(file, sizeof file, "plain_file");
    cr_assert_eq(scratch_write(file, "not a directory"), 0, "write %s", file);
    snprintf(path, sizeof path, "%s/ckpt-00000001.h5", file);
    expect_write_fails(path, &f.c, S2S_EIO, path, dir);
    size_t n;
    char *text = scratch_read(file, &n);
    cr_expect(text && !strcmp(text, "not a directory"), "%s untouched", file);
    free(text);

    /* Root writes into a read-only directory anyway; only others can test it. */
    if (geteuid() != 0) {
        char ro[128];
        in_dir(ro, sizeof ro, "read_only");
        cr_assert_eq(mkdir(ro, 0755), 0, "mkdir %s", ro);
        snprintf(path, sizeof path, "%s/ckpt-00000001.h5", ro);
        write_ok(path, &f.c);
        char *before = scratch_read(path, &n);
        cr_assert_eq(chmod(ro, 0555), 0, "chmod %s", ro);
        f.c.progress.step = 2;
        expect_write_fails(path, &f.c, S2S_EIO, path, ro);
        chmod(ro, 0755);
        expect_unchanged(path, before, n);
        free(before);
    }
    fixture_free(&f);
}

Test(ckpt, malformed_arguments_write_nothing)
{
    fixture f;
    fixture_init(&f, 6, true);
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000001.h5");
    const char *no_eq[] = {"cell=gru", "layers", NULL};
    f.c.config = no_eq;
    expect_write_fails(path, &f.c, S2S_EINVAL, "'layers'", dir);
    const char *twice[] = {"cell=gru", "cell=lstm", NULL};
    f.c.config = twice;
    expect_write_fails(path, &f.c, S2S_EINVAL, "'cell'", dir);
    const char *slash[] = {"a/b=1", NULL};
    f.c.config = slash;
    expect_write_fails(path, &f.c, S2S_EINVAL, "'a/b=1'", dir);
    f.c.config = CONFIG;
    f.c.history.columns = "step,loss";
    expect_write_fails(path, &f.c, S2S_EINVAL, "column", dir);
    f.c.history.columns = "step,train_loss,valid_loss";
    const char *holes[] = {"<pad>", NULL, "x"};
    f.c.tgt_vocab = holes;
    f.c.tgt_vocab_n = 3;
    expect_write_fails(path, &f.c, S2S_EINVAL, "token 1", dir);
    cr_expect_eq(scratch_count(dir, ""), 0, "the directory is still empty");
    fixture_free(&f);
}

/* ---- reading the wrong model ---------------------------------------------------------------- */

Test(ckpt, requested_moments_that_are_absent)
{
    fixture f;
    fixture_init(&f, 6, false);
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000001.h5");
    write_ok(path, &f.c);
    ckpt_loaded l = {.params = param_buffer_alloc(&f.tab)};
    l.exp_avg = param_buffer_alloc(&f.tab);
    l.exp_avg_sq = param_buffer_alloc(&f.tab);
    int rc = ckpt_read(path, &f.tab, &l);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc),
                 (const char *[]){path, "/optim/exp_avg and /optim/exp_avg_sq", NULL});
    real *sq = l.exp_avg_sq;
    l.exp_avg_sq = NULL;
    rc = ckpt_read(path, &f.tab, &l);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, "/optim/exp_avg ", NULL});
    free(l.params);
    free(l.exp_avg);
    free(sq);
    ckpt_loaded_free(&l);
    fixture_free(&f);
}

Test(ckpt, shape_mismatch_names_tensor_and_both_shapes)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
    param_table tab;
    small_table(&tab, 5);
    ckpt_loaded l = {.params = param_buffer_alloc(&tab)};
    int rc = ckpt_read(path, &tab, &l);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc),
                 (const char *[]){path, "'out.weight'", "[4, 6]", "[4, 5]", NULL});
    /* Moments are checked the same way, under their own group. */
    param_table one;
    param_table_init(&one);
    cr_assert_geq(param_table_add(&one, "embed.weight", 2, 5, 3), 0, "add");
    free(l.params);
    l.params = param_buffer_alloc(&one);
    rc = ckpt_read(path, &one, &l);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){path, "/params", NULL});
    free(l.params);
    param_table_free(&one);
    param_table_free(&tab);
}

/* ---- the bf16 gradient residuals (/comm/residual) --------------------------------------------- */

enum { RES_N = 37, RES_RANKS = 3 };

/* Row r of the residuals the tests write: distinct in every row and element. */
static float residual_value(int r, size_t i) { return (float)(r + 1) * 0.001f - (float)i * 1e-6f; }

typedef struct {
    int calls;   /* rows handed over so far */
    int fail_at; /* this row's call fails (-1: none) */
    bool bad;    /* a row arrived out of order or with other values */
} residual_rows;

static int make_row(void *ctx, int r, float *buf)
{
    residual_rows *s = ctx;
    if (r != s->calls++)
        s->bad = true;
    if (r == s->fail_at)
        return s2s_fail(S2S_EMPI, "row %d: the sending rank is gone", r);
    for (size_t i = 0; i < RES_N; i++)
        buf[i] = residual_value(r, i);
    return 0;
}

static int take_row(void *ctx, int r, float *buf)
{
    residual_rows *s = ctx;
    if (r != s->calls++)
        s->bad = true;
    for (size_t i = 0; i < RES_N; i++)
        if (buf[i] != residual_value(r, i))
            s->bad = true;
    return 0;
}

/* A valid checkpoint with residuals of RES_RANKS ranks at dir/name. */
static void write_with_residual(char *path, size_t n, const char *name)
{
    fixture f;
    float buf[RES_N];
    residual_rows rows = {.fail_at = -1};
    fixture_init(&f, 6, true);
    f.c.residual = (ckpt_residual){.ranks = RES_RANKS, .n = RES_N, .buf = buf, .row = make_row,
                                   .ctx = &rows};
    in_dir(path, n, name);
    write_ok(path, &f.c);
    cr_assert(rows.calls == RES_RANKS && !rows.bad, "rows asked for in order, once each");
    fixture_free(&f);
}

Test(ckpt, residual_rows_round_trip)
{
    char path[128];
    write_with_residual(path, sizeof path, "ckpt-00000300.h5");
    cr_assert_eq(ckpt_verify(path), 0, "a checkpoint with residuals verifies");
    float buf[RES_N];
    residual_rows got = {.fail_at = -1};
    ckpt_residual res = {.n = RES_N};
    int rc = ckpt_read_residual(path, &res);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    cr_expect_eq(res.ranks, RES_RANKS, "rows stored: %d", res.ranks);
    res = (ckpt_residual){.ranks = RES_RANKS, .n = RES_N, .buf = buf, .row = take_row,
                          .ctx = &got};
    rc = ckpt_read_residual(path, &res);
    cr_assert_eq(rc, 0, "read: %s", s2s_errmsg(rc));
    cr_expect(got.calls == RES_RANKS && !got.bad, "every row back, in order, as written");
    /* another rank count: nothing handed out, the stored count reported */
    got = (residual_rows){.fail_at = -1};
    res = (ckpt_residual){.ranks = 2, .n = RES_N, .buf = buf, .row = take_row, .ctx = &got};
    cr_assert_eq(ckpt_read_residual(path, &res), 0);
    cr_expect(res.ranks == RES_RANKS && got.calls == 0, "2 ranks asked for: %d rows handed out",
              got.calls);
    res = (ckpt_residual){.n = RES_N + 1};
    cr_expect_eq(ckpt_read_residual(path, &res), S2S_EFORMAT, "rows of another length");
    /* a file without residuals */
    write_valid(path, sizeof path, "ckpt-00000400.h5", 400);
    res = (ckpt_residual){.ranks = 7, .n = RES_N};
    cr_assert_eq(ckpt_read_residual(path, &res), 0);
    cr_expect_eq(res.ranks, 0, "no /comm/residual: 0 rows");
}

Test(ckpt, residual_checksum_detects_a_changed_value)
{
    char path[128];
    write_with_residual(path, sizeof path, "ckpt-00000300.h5");
    bump_element(path, "comm/residual", 2, 5);
    cr_expect_eq(ckpt_verify(path), S2S_EFORMAT, "changed residual accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EFORMAT), "/comm/residual") != NULL, "message: %s",
              s2s_errmsg(S2S_EFORMAT));
    float buf[RES_N];
    residual_rows got = {.fail_at = -1};
    ckpt_residual res = {.ranks = RES_RANKS, .n = RES_N, .buf = buf, .row = take_row,
                         .ctx = &got};
    cr_expect_eq(ckpt_read_residual(path, &res), S2S_EFORMAT, "read of a changed residual");
}

Test(ckpt, residual_row_failure_fails_the_write)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000300.h5", 300);
    fixture f;
    float buf[RES_N];
    residual_rows rows = {.fail_at = 1};
    fixture_init(&f, 6, true);
    f.c.residual = (ckpt_residual){.ranks = RES_RANKS, .n = RES_N, .buf = buf, .row = make_row,
                                   .ctx = &rows};
    int rc = ckpt_write(path, &f.c);
    cr_expect_eq(rc, S2S_EMPI, "a row that fails fails the write (%d)", rc);
    cr_expect_eq(rows.calls, 2, "no row asked for after the failed one");
    cr_expect_eq(ckpt_verify(path), 0, "the previous file is intact");
    ckpt_residual res = {.n = RES_N};
    cr_expect(ckpt_read_residual(path, &res) == 0 && res.ranks == 0, "and has no residuals");
    f.c.residual.row = NULL;
    cr_expect_eq(ckpt_write(path, &f.c), S2S_EINVAL, "residual rows without a row function");
    fixture_free(&f);
}

/* ---- EMA weights and parameters-only files ---------------------------------------------------- */

Test(ckpt, ema_weights_round_trip_in_the_checksum)
{
    fixture f;
    fixture_init(&f, 6, true);
    real *ema = filled_buffer(&f.tab, 4);
    f.c.ema = ema;
    f.c.ema_decay = 0.999;
    char path[128];
    in_dir(path, sizeof path, "ckpt-00000300.h5");
    write_ok(path, &f.c);

    ckpt_summary s;
    int rc = ckpt_read_summary(path, &s);
    cr_expect_eq(rc, 0, "ckpt_read_summary: %s", s2s_errmsg(rc));
    cr_expect(s.has_ema && s.ema_decay == 0.999 && s.kind == CKPT_TRAINING,
              "summary: has_ema %d, decay %g, kind %d", s.has_ema, s.ema_decay, s.kind);
    ckpt_summary_free(&s);
    real *got = param_buffer_alloc(&f.tab), *params = param_buffer_alloc(&f.tab);
    ckpt_loaded l = {.params = params, .ema = got};
    rc = ckpt_read(path, &f.tab, &l);
    cr_assert_eq(rc, 0, "ckpt_read: %s", s2s_errmsg(rc));
    cr_expect(l.has_ema && l.ema_decay == 0.999, "EMA reported with its decay");
    cr_expect(tensors_equal(&f.tab, ema, got), "EMA weights differ");
    cr_expect(tensors_equal(&f.tab, f.params, params), "parameters differ");
    ckpt_loaded_free(&l);
    /* the EMA group is a plain parameter group to other readers */
    memset(got, 0, f.tab.total * sizeof *got);
    rc = paramfile_read_group(path, "ema", &f.tab, got);
    cr_expect_eq(rc, 0, "paramfile_read_group: %s", s2s_errmsg(rc));
    cr_expect(tensors_equal(&f.tab, ema, got), "EMA weights through paramfile_read_group");

    /* a changed EMA value fails the checksum, whether read or not */
    bump_element(path, "ema/embed.weight", 0, 0);
    expect_rejected(path, "checksum mismatch");
    ckpt_loaded p = {.params = params};
    rc = ckpt_read(path, &f.tab, &p);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){"checksum mismatch", NULL});
    ckpt_loaded_free(&p);

    /* asked for but absent: a checkpoint written without --ema */
    f.c.ema = NULL;
    write_ok(path, &f.c);
    ckpt_loaded q = {.params = params, .ema = got};
    rc = ckpt_read(path, &f.tab, &q);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){"/ema", "--ema", NULL});
    ckpt_loaded_free(&q);
    free(got);
    free(params);
    free(ema);
    fixture_free(&f);
}

Test(ckpt, parameters_only_file)
{
    fixture full;
    fixture_init(&full, 6, true);
    char pfull[128], pmodel[128];
    in_dir(pfull, sizeof pfull, "ckpt-00000300.h5");
    write_ok(pfull, &full.c);
    fixture f;
    fixture_init(&f, 6, false);
    f.c.kind = CKPT_PARAMS;
    f.c.origin = "EMA weights of step 300";
    in_dir(pmodel, sizeof pmodel, "model.h5");
    write_ok(pmodel, &f.c);

    struct stat a, b;
    cr_assert(stat(pfull, &a) == 0 && stat(pmodel, &b) == 0, "stat");
    cr_expect(b.st_size < a.st_size, "parameters only: %lld bytes, the checkpoint %lld",
              (long long)b.st_size, (long long)a.st_size);
    ckpt_summary s;
    int rc = ckpt_read_summary(pmodel, &s);
    cr_expect_eq(rc, 0, "verified: %s", s2s_errmsg(rc));
    cr_expect_eq(s.kind, CKPT_PARAMS, "kind");
    cr_expect_str_eq(s.origin, "EMA weights of step 300", "origin");
    cr_expect(!s.has_moment[0] && !s.has_moment[1] && !s.has_ema && s.optim_step == 0,
              "no optimizer state");
    cr_expect_eq(s.progress.step, 300, "the state of the step it was made from");
    ckpt_summary_free(&s);
    rc = ckpt_read_summary(pfull, &s);
    cr_expect(rc == 0 && s.kind == CKPT_TRAINING && s.origin[0] == '\0', "the full one");
    ckpt_summary_free(&s);

    /* parameters read as from a checkpoint; the optimizer state or EMA weights are refused */
    real *params = param_buffer_alloc(&f.tab), *m = param_buffer_alloc(&f.tab);
    ckpt_loaded l = {.params = params};
    rc = ckpt_read(pmodel, &f.tab, &l);
    cr_expect_eq(rc, 0, "ckpt_read: %s", s2s_errmsg(rc));
    cr_expect(tensors_equal(&f.tab, f.params, params), "parameters");
    cr_expect_eq(l.kind, CKPT_PARAMS, "kind read");
    ckpt_loaded_free(&l);
    ckpt_loaded w = {.params = params, .exp_avg = m};
    rc = ckpt_read(pmodel, &f.tab, &w);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){"parameters-only", NULL});
    ckpt_loaded_free(&w);
    cr_expect_eq(paramfile_read(pmodel, &f.tab, params), 0, "a parameter file");

    /* the newest ckpt-*.h5 being a parameters-only file, --resume auto takes the one before */
    char p400[128], found[256];
    in_dir(p400, sizeof p400, "ckpt-00000400.h5");
    write_ok(p400, &f.c);
    FILE *log = tmpfile();
    rc = ckpt_find_latest(dir, found, sizeof found, log);
    cr_expect(rc == 0 && !strcmp(found, pfull), "found %s: %s", found, s2s_errmsg(rc));
    char *text = log_text(log);
    cr_expect(strstr(text, p400) && strstr(text, "parameters-only"), "reported:\n%s", text);
    free(text);
    fclose(log);

    /* no optimizer state, EMA or residuals in a parameters-only file */
    f.c.exp_avg = m;
    expect_write_fails(pmodel, &f.c, S2S_EINVAL, "parameters-only", dir);
    free(params);
    free(m);
    fixture_free(&f);
    fixture_free(&full);
}

/* Files written before the kind attribute are training checkpoints; an unknown kind is
 * refused. */
Test(ckpt, kind_absent_or_unknown)
{
    char path[128];
    write_valid(path, sizeof path, "ckpt-00000001.h5", 1);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0 && H5Adelete(file, "kind") >= 0, "delete the kind attribute");
    H5Fclose(file);
    cr_assert_eq(scratch_reseal(path), 0, "reseal");
    ckpt_summary old;
    int rc = ckpt_read_summary(path, &old);
    cr_expect(rc == 0 && old.kind == CKPT_TRAINING, "without kind: %s", s2s_errmsg(rc));
    ckpt_summary_free(&old);

    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0, "open");
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, 5);
    hid_t attr = H5Acreate2(file, "kind", type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(attr >= 0 && H5Awrite(attr, type, "delta") >= 0, "kind attribute");
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
    cr_assert_eq(scratch_reseal(path), 0, "reseal");
    ckpt_summary s;
    rc = ckpt_read_summary(path, &s);
    expect_error(rc, S2S_EFORMAT, s2s_errmsg(rc), (const char *[]){"kind", "delta", NULL});
    ckpt_summary_free(&s);
}

Test(ckpt, list_paths_newest_first)
{
    char p[128], **paths = NULL;
    int n = -1;
    cr_expect_eq(ckpt_list_paths(dir, &paths, &n), 0, "an empty directory");
    cr_expect_eq(n, 0);
    ckpt_paths_free(paths, n);
    write_valid(p, sizeof p, "ckpt-00000100.h5", 100);
    write_valid(p, sizeof p, "ckpt-00000020.h5", 20);
    write_valid(p, sizeof p, "best.h5", 100);
    cr_assert_eq(ckpt_list_paths(dir, &paths, &n), 0, "list");
    cr_assert_eq(n, 2, "best.h5 is not a ckpt-*.h5 (%d listed)", n);
    cr_expect(strstr(paths[0], "ckpt-00000100.h5") && strstr(paths[1], "ckpt-00000020.h5"),
              "newest first: %s, %s", paths[0], paths[1]);
    ckpt_paths_free(paths, n);
}
