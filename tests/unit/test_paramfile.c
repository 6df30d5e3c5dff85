/* test_paramfile.c - HDF5 parameter files: exact round trip of tensors and configuration, one
 * clear error for each kind of bad file (wrong shape, missing or extra tensor, wrong format or
 * version, missing, truncated or non-HDF5 file), and atomic writes: a write that fails at any
 * stage leaves the previous file byte-for-byte intact and no temporary file behind.
 *
 * Tests run as root, where permissions do not make writes fail; failures are provoked instead
 * by a tensor name HDF5 rejects (while the file is assembled), a file-size limit
 * (RLIMIT_FSIZE, as on a full disk: the temporary file is half written), a target that is a
 * directory (at the rename) and a directory that does not exist (before anything is written).
 * Criterion forks each test, so the limit does not leak into other tests. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/paramfile.h"
#include "s2s/status.h"
#include "scratch.h"
#include "testutil.h"

/* ---- fixture: a temporary directory and a small table with alignment gaps ------------------- */

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "paramfile"), 0, "mkdtemp of a scratch directory");
}

static void remove_dir(void)
{
    scratch_remove(dir);
}

TestSuite(paramfile, .init = make_dir, .fini = remove_dir);

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

static const char *const CONFIG[] = {"cell=lstm", "layers=2", "bidir=true", "attn=none", NULL};

/* Writes a valid file of small_table(out_cols = 6) at name; returns its full path in buf. */
static void write_valid(char *buf, size_t n, const char *name)
{
    param_table tab;
    small_table(&tab, 6);
    real *p = filled_buffer(&tab, 1);
    in_dir(buf, n, name);
    int rc = paramfile_write(buf, &tab, p, CONFIG);
    cr_assert_eq(rc, 0, "paramfile_write(%s): %s", buf, s2s_errmsg(rc));
    free(p);
    param_table_free(&tab);
}

static char *slurp(const char *path, size_t *n)
{
    char *b = scratch_read(path, n);
    cr_assert_not_null(b, "read the bytes of %s", path);
    return b;
}

/* Files in dir whose name contains ".tmp." (left-over temporaries). */
static int count_temporaries(void)
{
    return scratch_count(dir, ".tmp.");
}

/* Reads path with small_table(out_cols); expects status `code` and every `needles` substring in
 * the message. */
static void expect_read_error(const char *path, int out_cols, int code, const char *const *needles)
{
    param_table tab;
    small_table(&tab, out_cols);
    real *p = param_buffer_alloc(&tab);
    s2s_clear_error();
    int rc = paramfile_read(path, &tab, p);
    const char *msg = s2s_errmsg(rc);
    cr_expect_eq(rc, code, "paramfile_read(%s) returned %d (%s), expected %d", path, rc, msg,
                 code);
    for (int i = 0; needles[i]; i++)
        cr_expect(strstr(msg, needles[i]) != NULL, "error message \"%s\" does not mention \"%s\"",
                  msg, needles[i]);
    free(p);
    param_table_free(&tab);
}

/* ---- round trip ----------------------------------------------------------------------------- */

typedef struct {
    int n;
    char entries[8][64];
} config_list;

static int collect(const char *key, const char *value, void *ctx)
{
    config_list *c = ctx;
    if (c->n < 8)
        snprintf(c->entries[c->n], sizeof c->entries[0], "%s=%s", key, value);
    c->n++;
    return 0;
}

Test(paramfile, round_trip_is_exact)
{
    param_table tab;
    small_table(&tab, 6);
    real *p = filled_buffer(&tab, 3), *q = param_buffer_alloc(&tab);
    char path[128];
    in_dir(path, sizeof path, "model.h5");
    int rc = paramfile_write(path, &tab, p, CONFIG);
    cr_assert_eq(rc, 0, "paramfile_write: %s", s2s_errmsg(rc));
    rc = paramfile_read(path, &tab, q);
    cr_assert_eq(rc, 0, "paramfile_read: %s", s2s_errmsg(rc));
    for (int i = 0; i < tab.n; i++) {
        const param_tensor *t = &tab.t[i];
        /* float32 storage of a float buffer: the values must come back bit for bit. */
        cr_expect_eq(memcmp(p + t->offset, q + t->offset, t->size * sizeof(real)), 0,
                     "tensor %s differs after the round trip (max diff %g)", t->name,
                     max_abs_diff(p + t->offset, q + t->offset, t->size));
    }
    config_list c = {0};
    rc = paramfile_read_config(path, collect, &c);
    cr_assert_eq(rc, 0, "paramfile_read_config: %s", s2s_errmsg(rc));
    cr_assert_eq(c.n, 4, "configuration entries read back: %d, written 4", c.n);
    for (int i = 0; i < 4; i++)
        cr_expect_str_eq(c.entries[i], CONFIG[i], "configuration entry %d: got %s, wrote %s", i,
                         c.entries[i], CONFIG[i]);
    cr_expect_eq(count_temporaries(), 0, "a temporary file was left behind");
    free(p);
    free(q);
    param_table_free(&tab);
}

/* Overwriting replaces the contents entirely. */
Test(paramfile, overwrite_replaces_values)
{
    param_table tab;
    small_table(&tab, 6);
    real *p1 = filled_buffer(&tab, 1), *p2 = filled_buffer(&tab, 2), *q = param_buffer_alloc(&tab);
    char path[128];
    in_dir(path, sizeof path, "model.h5");
    cr_assert_eq(paramfile_write(path, &tab, p1, NULL), 0, "first write");
    cr_assert_eq(paramfile_write(path, &tab, p2, CONFIG), 0, "second write: %s",
                 s2s_errmsg(-3));
    cr_assert_eq(paramfile_read(path, &tab, q), 0, "read: %s", s2s_errmsg(-4));
    const param_tensor *t = &tab.t[2];
    cr_expect_eq(memcmp(p2 + t->offset, q + t->offset, t->size * sizeof(real)), 0,
                 "tensor %s holds the first write's values, not the second's", t->name);
    free(p1);
    free(p2);
    free(q);
    param_table_free(&tab);
}

static int stop_at_layers(const char *key, const char *value, void *ctx)
{
    (void)value;
    ++*(int *)ctx;
    return strcmp(key, "layers") ? 0 : s2s_fail(S2S_ERANGE, "stop requested at %s", key);
}

Test(paramfile, config_callback_can_stop)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    int calls = 0;
    int rc = paramfile_read_config(path, stop_at_layers, &calls);
    cr_expect_eq(rc, S2S_ERANGE, "the callback's status is returned, got %d", rc);
    cr_expect_eq(calls, 2, "iteration stops at the failing entry: %d calls, expected 2", calls);
}

/* ---- bad files ------------------------------------------------------------------------------ */

Test(paramfile, wrong_shape_names_tensor_and_both_shapes)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    expect_read_error(path, 5, S2S_EFORMAT,
                      (const char *[]){path, "out.weight", "[4, 6]", "[4, 5]", NULL});
}

Test(paramfile, missing_tensor_is_named)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    param_table tab;
    small_table(&tab, 6);
    cr_assert_geq(param_table_add(&tab, "bridge.bias", 1, 3, 1), 0, "add bridge.bias");
    real *p = param_buffer_alloc(&tab);
    int rc = paramfile_read(path, &tab, p);
    const char *msg = s2s_errmsg(rc);
    cr_expect_eq(rc, S2S_EFORMAT, "read with an extra model tensor: %d (%s)", rc, msg);
    cr_expect(strstr(msg, "bridge.bias") && strstr(msg, "missing"),
              "message \"%s\" names the missing tensor bridge.bias", msg);
    free(p);
    param_table_free(&tab);
}

Test(paramfile, extra_tensor_is_named)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    param_table tab;
    param_table_init(&tab);
    cr_assert_geq(param_table_add(&tab, "embed.weight", 2, 5, 3), 0, "add");
    cr_assert_geq(param_table_add(&tab, "out.weight", 2, 4, 6), 0, "add");
    real *p = param_buffer_alloc(&tab);
    int rc = paramfile_read(path, &tab, p);
    const char *msg = s2s_errmsg(rc);
    cr_expect_eq(rc, S2S_EFORMAT, "read with a tensor fewer: %d (%s)", rc, msg);
    cr_expect(strstr(msg, "rnn.bias_ih_l0") != NULL,
              "message \"%s\" names the unexpected tensor rnn.bias_ih_l0", msg);
    free(p);
    param_table_free(&tab);
}

/* Rewrites one root attribute of a valid file with HDF5 directly. */
static void set_root_attr(const char *path, const char *name, bool as_string, const char *s,
                          int v)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0, "H5Fopen %s for writing", path);
    cr_assert_geq(H5Adelete(f, name), 0, "delete attribute %s", name);
    hid_t space = H5Screate(H5S_SCALAR), type = H5Tcopy(as_string ? H5T_C_S1 : H5T_NATIVE_INT);
    if (as_string)
        H5Tset_size(type, strlen(s) + 1);
    hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "create attribute %s", name);
    cr_assert_geq(H5Awrite(a, type, as_string ? (const void *)s : (const void *)&v), 0,
                  "write attribute %s", name);
    H5Aclose(a);
    H5Tclose(type);
    H5Sclose(space);
    cr_assert_geq(H5Fclose(f), 0, "close %s", path);
    cr_assert_eq(scratch_reseal(path), 0, "reseal %s", path);
}

Test(paramfile, wrong_format_is_rejected)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    /* A fixed-length string, as other tools write them: read, compared, rejected. */
    set_root_attr(path, "format", true, "other-params", 0);
    expect_read_error(path, 6, S2S_EFORMAT,
                      (const char *[]){path, "other-params", PARAMFILE_FORMAT, NULL});
}

Test(paramfile, wrong_version_is_rejected)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    set_root_attr(path, "version", false, NULL, 2);
    expect_read_error(path, 6, S2S_EFORMAT, (const char *[]){path, "version 2", NULL});
}

/* The limits before allocation (docs/formats.md, "Limits"), on a resealed file: a /config
 * value declared longer than any option value, a tensor whose storage was never written. */
Test(paramfile, config_value_beyond_its_bound)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), g = H5Gopen2(f, "config", H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR), type = H5Tcopy(H5T_C_S1);
    size_t big = 70000;
    H5Tset_size(type, big);
    char *value = calloc(1, big);
    memset(value, 'x', big - 1);
    hid_t a = H5Acreate2(g, "huge", type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(H5Awrite(a, type, value), 0, "write /config/huge");
    H5Aclose(a);
    H5Tclose(type);
    H5Sclose(space);
    H5Gclose(g);
    cr_assert_geq(H5Fclose(f), 0);
    cr_assert_eq(scratch_reseal(path), 0);
    free(value);
    config_list c = {0};
    int rc = paramfile_read_config(path, collect, &c);
    cr_expect_eq(rc, S2S_EFORMAT, "read_config: %d (%s)", rc, s2s_errmsg(rc));
    cr_expect(strstr(s2s_errmsg(rc), "/config/huge") &&
                  strstr(s2s_errmsg(rc), "string of 70000 bytes"),
              "%s", s2s_errmsg(rc));
}

Test(paramfile, tensor_without_stored_data)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(H5Ldelete(f, "/params/out.weight", H5P_DEFAULT), 0);
    hsize_t dims[2] = {4, 6};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "/params/out.weight", H5T_IEEE_F32LE, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT); /* never written: no storage */
    cr_assert_geq(d, 0);
    H5Dclose(d);
    H5Sclose(space);
    cr_assert_geq(H5Fclose(f), 0);
    cr_assert_eq(scratch_reseal(path), 0);
    expect_read_error(path, 6, S2S_EFORMAT,
                      (const char *[]){path, "/params/out.weight", "0 bytes stored", NULL});
}

Test(paramfile, missing_file)
{
    char path[128];
    in_dir(path, sizeof path, "absent.h5");
    expect_read_error(path, 6, S2S_EIO, (const char *[]){path, "No such file", NULL});
    config_list c = {0};
    int rc = paramfile_read_config(path, collect, &c);
    cr_expect_eq(rc, S2S_EIO, "read_config of a missing file: %d", rc);
}

Test(paramfile, truncated_file)
{
    char path[128], cut[128];
    write_valid(path, sizeof path, "model.h5");
    size_t n;
    char *bytes = slurp(path, &n);
    in_dir(cut, sizeof cut, "cut.h5");
    FILE *f = fopen(cut, "wb");
    cr_assert_not_null(f, "create %s", cut);
    cr_assert_eq(fwrite(bytes, 1, n / 2, f), n / 2, "write half of the file");
    fclose(f);
    expect_read_error(cut, 6, S2S_EFORMAT, (const char *[]){cut, "truncated", NULL});
    free(bytes);
}

Test(paramfile, not_hdf5)
{
    char path[128];
    in_dir(path, sizeof path, "text.h5");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "create %s", path);
    fputs("cell = gru\n", f);
    fclose(f);
    expect_read_error(path, 6, S2S_EFORMAT, (const char *[]){path, "not an HDF5 file", NULL});
}

/* ---- failed writes leave the previous file intact ------------------------------------------ */

static void write_expect_failure(const char *path, const param_table *tab, const real *p,
                                 const char *const *attrs, int code, const char *needle)
{
    s2s_clear_error();
    int rc = paramfile_write(path, tab, p, attrs);
    const char *msg = s2s_errmsg(rc);
    cr_expect_eq(rc, code, "paramfile_write(%s) returned %d (%s), expected %d", path, rc, msg,
                 code);
    cr_expect(strstr(msg, needle) != NULL, "error message \"%s\" does not mention \"%s\"", msg,
              needle);
    cr_expect_eq(count_temporaries(), 0, "a temporary file was left behind in %s", dir);
}

static void expect_unchanged(const char *path, const char *before, size_t n_before)
{
    size_t n;
    char *after = slurp(path, &n);
    cr_expect(n == n_before && memcmp(before, after, n) == 0,
              "%s changed after a failed write (%zu bytes before, %zu after)", path, n_before, n);
    free(after);
}

Test(paramfile, failed_write_mid_file_keeps_previous)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    size_t n;
    char *before = slurp(path, &n);
    /* The second tensor's name refers to a group that does not exist: HDF5 refuses it after the
     * first tensor is in the file. */
    param_table tab;
    param_table_init(&tab);
    cr_assert_geq(param_table_add(&tab, "embed.weight", 2, 5, 3), 0, "add");
    cr_assert_geq(param_table_add(&tab, "no_such_group/w", 2, 2, 2), 0, "add");
    real *p = filled_buffer(&tab, 5);
    write_expect_failure(path, &tab, p, CONFIG, S2S_EIO, "no_such_group/w");
    expect_unchanged(path, before, n);
    free(p);
    free(before);
    param_table_free(&tab);
}

Test(paramfile, failed_write_on_full_disk_keeps_previous)
{
    char path[128];
    write_valid(path, sizeof path, "model.h5");
    size_t n;
    char *before = slurp(path, &n);
    /* A 256 KB tensor under a 64 KB file-size limit: writes fail with EFBIG (SIGXFSZ ignored)
     * as they would on a full disk. */
    param_table tab;
    param_table_init(&tab);
    cr_assert_geq(param_table_add(&tab, "big.weight", 2, 256, 256), 0, "add");
    real *p = filled_buffer(&tab, 6);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 64 << 10, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "setrlimit(RLIMIT_FSIZE)");
    write_expect_failure(path, &tab, p, NULL, S2S_EIO, path);
    lim.rlim_cur = RLIM_INFINITY; /* Criterion's own files in the teardown */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "restore RLIMIT_FSIZE");
    expect_unchanged(path, before, n);
    free(p);
    free(before);
    param_table_free(&tab);
}

Test(paramfile, target_is_directory)
{
    char path[128];
    in_dir(path, sizeof path, "adir.h5");
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
    param_table tab;
    small_table(&tab, 6);
    real *p = filled_buffer(&tab, 1);
    write_expect_failure(path, &tab, p, CONFIG, S2S_EIO, path);
    struct stat st;
    cr_expect(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "%s is still a directory", path);
    expect_read_error(path, 6, S2S_EIO, (const char *[]){path, "directory", NULL});
    free(p);
    param_table_free(&tab);
}

Test(paramfile, directory_does_not_exist)
{
    char path[160];
    in_dir(path, sizeof path, "missing_dir/model.h5");
    param_table tab;
    small_table(&tab, 6);
    real *p = filled_buffer(&tab, 1);
    write_expect_failure(path, &tab, p, CONFIG, S2S_EIO, path);
    cr_expect_neq(access(path, F_OK), 0, "%s exists after a failed write", path);
    free(p);
    param_table_free(&tab);
}

Test(paramfile, malformed_config_writes_nothing)
{
    char path[128];
    in_dir(path, sizeof path, "model.h5");
    param_table tab;
    small_table(&tab, 6);
    real *p = filled_buffer(&tab, 1);
    const char *no_eq[] = {"cell=gru", "layers", NULL};
    write_expect_failure(path, &tab, p, no_eq, S2S_EINVAL, "'layers'");
    const char *twice[] = {"cell=gru", "cell=lstm", NULL};
    write_expect_failure(path, &tab, p, twice, S2S_EINVAL, "'cell'");
    cr_expect_neq(access(path, F_OK), 0, "%s was created by a rejected write", path);
    free(p);
    param_table_free(&tab);
}
