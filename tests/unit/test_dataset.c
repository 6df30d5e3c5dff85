/* test_dataset.c - HDF5 datasets (src/data/dataset.c): sentences written to three interleaved
 * splits, across chunk boundaries, read back exactly in any order with their lengths,
 * vocabularies and attributes; a writer that is aborted or fails at close leaves no file and no
 * temporary file (and an older file at the path untouched); and every kind of damaged file,
 * made by editing a good one with the HDF5 C API as real corruption would, gets one error that
 * names the HDF5 object. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s2s/dataset.h"
#include "s2s/rng.h"
#include "s2s/seal.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/tokens.h"
#include "scratch.h"

enum { VOCAB_SRC = 60, VOCAB_TGT = 50, MAX_LEN = 300 };

static const long COUNTS[SPLIT_COUNT] = {400, 150, 100};

static char dir[64], path[128];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "dataset"), 0, "scratch directory");
    scratch_path(path, sizeof path, dir, "data.h5");
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(dataset, .init = setup, .fini = teardown);

/* ---- a corpus that can be regenerated from (split, sentence, side) ------------------------- */

static int vocab_size(int side)
{
    return side ? VOCAB_TGT : VOCAB_SRC;
}

/* Sentence i of split on side: 1 to MAX_LEN tokens, <unk> and words. Returns the length. */
static int sentence(int split, long i, int side, int32_t *ids)
{
    rng_stream r;
    rng_stream_init(&r, 11, RNG_TEST, (uint32_t)(split * 2 + side), (uint32_t)i, 0);
    int len = 1 + (int)rng_below(&r, MAX_LEN);
    for (int k = 0; k < len; k++) {
        uint32_t v = rng_below(&r, (uint32_t)vocab_size(side) - TOK_FIRST_WORD + 1);
        ids[k] = v == 0 ? TOK_UNK : (int32_t)(TOK_FIRST_WORD - 1 + v);
    }
    return len;
}

static const char *const *vocab(int side)
{
    static char words[2][VOCAB_SRC][16];
    static const char *v[2][VOCAB_SRC];
    static const char *const reserved[] = {"<pad>", "<unk>", "<s>", "</s>"};
    for (int i = 0; i < vocab_size(side); i++) {
        snprintf(words[side][i], sizeof words[side][i], "%s%d", side ? "ü" : "w", i);
        v[side][i] = i < TOK_FIRST_WORD ? reserved[i] : words[side][i];
    }
    return v[side];
}

static ds_writer *open_writer(const char *p)
{
    ds_writer *w = NULL;
    int rc = dsw_open(&w, p);
    cr_assert_eq(rc, 0, "dsw_open: %s", s2s_errmsg(rc));
    cr_assert_eq(dsw_set_vocab(w, "src", vocab(0), VOCAB_SRC), 0, "%s", s2s_errmsg(-2));
    cr_assert_eq(dsw_set_vocab(w, "tgt", vocab(1), VOCAB_TGT), 0, "%s", s2s_errmsg(-2));
    return w;
}

/* Adds counts[s] sentences to each split, the splits interleaved in a random order. */
static void add_corpus(ds_writer *w, const long *counts)
{
    long next[SPLIT_COUNT] = {0};
    rng_stream r;
    rng_stream_init(&r, 12, RNG_TEST, 0, 0, 0);
    int32_t s[MAX_LEN], t[MAX_LEN];
    for (;;) {
        int open[SPLIT_COUNT], n = 0;
        for (int k = 0; k < SPLIT_COUNT; k++)
            if (next[k] < counts[k])
                open[n++] = k;
        if (n == 0)
            return;
        int k = open[rng_below(&r, (uint32_t)n)];
        int ls = sentence(k, next[k], 0, s), lt = sentence(k, next[k], 1, t);
        int rc = dsw_add(w, (split_id)k, s, ls, t, lt);
        cr_assert_eq(rc, 0, "dsw_add: %s", s2s_errmsg(rc));
        next[k]++;
    }
}

static void write_file(const char *p, const long *counts)
{
    ds_writer *w = open_writer(p);
    add_corpus(w, counts);
    cr_assert_eq(dsw_set_attr(w, "options", "first"), 0);
    cr_assert_eq(dsw_set_attr(w, "options", "cell = gru\nlayers = 2\n"), 0, "replaced");
    cr_assert_eq(dsw_set_attr(w, "inputs", "train.src train.tgt"), 0);
    int rc = dsw_close(w);
    cr_assert_eq(rc, 0, "dsw_close: %s", s2s_errmsg(rc));
}

static dataset *open_ok(const char *p)
{
    dataset *d = NULL;
    int rc = ds_open(&d, p);
    cr_assert_eq(rc, 0, "ds_open: %s", s2s_errmsg(rc));
    return d;
}

/* Reads ids[0..n) of split in one call and compares every row with what was written. */
static void expect_sentences(dataset *d, int split, const long *ids, int n)
{
    int32_t *src = malloc((size_t)n * MAX_LEN * sizeof *src);
    int32_t *tgt = malloc((size_t)n * MAX_LEN * sizeof *tgt);
    int *ls = malloc((size_t)n * sizeof *ls), *lt = malloc((size_t)n * sizeof *lt);
    int rc = ds_read(d, (split_id)split, ids, n, MAX_LEN, src, ls, tgt, lt);
    cr_assert_eq(rc, 0, "ds_read: %s", s2s_errmsg(rc));
    int32_t want[MAX_LEN];
    for (int i = 0; i < n; i++) {
        int32_t *rows[2] = {src, tgt};
        int lens[2] = {ls[i], lt[i]};
        for (int side = 0; side < 2; side++) {
            int len = sentence(split, ids[i], side, want);
            cr_assert_eq(lens[side], len, "%s sentence %ld side %d: length", split_name(split),
                         ids[i], side);
            cr_assert_arr_eq(rows[side] + (size_t)i * MAX_LEN, want, (size_t)len * sizeof *want,
                             "%s sentence %ld side %d: tokens", split_name(split), ids[i], side);
        }
    }
    free(src);
    free(tgt);
    free(ls);
    free(lt);
}

static int temporaries(void)
{
    return scratch_count(dir, ".tmp.");
}

/* ---- round trip ----------------------------------------------------------------------------- */

Test(dataset, round_trip_of_interleaved_splits)
{
    write_file(path, COUNTS);
    cr_expect_eq(temporaries(), 0, "no temporary file after dsw_close");
    dataset *d = open_ok(path);
    for (int s = 0; s < SPLIT_COUNT; s++)
        cr_assert_eq(ds_count(d, (split_id)s), COUNTS[s], "%s count", split_name(s));
    for (int side = 0; side < 2; side++) {
        const char *name = side ? "tgt" : "src";
        cr_assert_eq(ds_vocab_size(d, name), vocab_size(side));
        for (int i = 0; i < vocab_size(side); i++)
            cr_expect_str_eq(ds_token(d, name, i), vocab(side)[i]);
        cr_expect_null(ds_token(d, name, vocab_size(side)));
        cr_expect_null(ds_token(d, name, -1));
    }
    cr_expect_eq(ds_vocab_size(d, "xx"), S2S_EINVAL);
    cr_expect_str_eq(ds_attr(d, "options"), "cell = gru\nlayers = 2\n");
    cr_expect_str_eq(ds_attr(d, "inputs"), "train.src train.tgt");
    cr_expect_str_eq(ds_attr(d, "format"), DATASET_FORMAT);
    cr_expect_null(ds_attr(d, "version"), "not a string attribute");
    cr_expect_null(ds_attr(d, "absent"));

    for (int s = 0; s < SPLIT_COUNT; s++) {
        long n = COUNTS[s];
        int *ls = malloc((size_t)n * sizeof *ls), *lt = malloc((size_t)n * sizeof *lt);
        cr_assert_eq(ds_lengths(d, (split_id)s, ls, lt), 0);
        int32_t buf[MAX_LEN];
        for (long i = 0; i < n; i++) {
            cr_assert_eq(ls[i], sentence(s, i, 0, buf), "%s %ld source length", split_name(s), i);
            cr_assert_eq(lt[i], sentence(s, i, 1, buf), "%s %ld target length", split_name(s), i);
        }
        free(ls);
        free(lt);
    }
    /* Random ids in random order, repeats included, in calls of 1 to 200 sentences. */
    rng_stream r;
    rng_stream_init(&r, 13, RNG_TEST, 1, 0, 0);
    const int sizes[] = {1, 2, 7, 64, 200};
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            long ids[200];
            for (int i = 0; i < sizes[k]; i++)
                ids[i] = (long)rng_below(&r, (uint32_t)COUNTS[s]);
            if (sizes[k] > 2)
                ids[sizes[k] - 1] = ids[0];
            expect_sentences(d, s, ids, sizes[k]);
        }
    /* Every training sentence, in one call. */
    long all[400];
    for (long i = 0; i < COUNTS[SPLIT_TRAIN]; i++)
        all[i] = COUNTS[SPLIT_TRAIN] - 1 - i;
    expect_sentences(d, SPLIT_TRAIN, all, (int)COUNTS[SPLIT_TRAIN]);
    ds_close(d);
}

Test(dataset, offsets_cross_chunk_boundaries)
{
    /* More sentences than an offsets chunk holds (4096), each of up to 300 tokens. */
    const long counts[SPLIT_COUNT] = {5000, 0, 0};
    write_file(path, counts);
    dataset *d = open_ok(path);
    cr_assert_eq(ds_count(d, SPLIT_TRAIN), 5000);
    long ids[] = {0, 4095, 4096, 4097, 4999, 1};
    expect_sentences(d, SPLIT_TRAIN, ids, 6);
    ds_close(d);
}

Test(dataset, empty_valid_and_test)
{
    const long counts[SPLIT_COUNT] = {3, 0, 0};
    write_file(path, counts);
    dataset *d = open_ok(path);
    cr_expect_eq(ds_count(d, SPLIT_TRAIN), 3);
    cr_expect_eq(ds_count(d, SPLIT_VALID), 0);
    cr_expect_eq(ds_count(d, SPLIT_TEST), 0);
    int ls[1], lt[1];
    cr_expect_eq(ds_lengths(d, SPLIT_TEST, ls, lt), 0);
    cr_expect_eq(ds_read(d, SPLIT_VALID, NULL, 0, MAX_LEN, NULL, ls, NULL, lt), 0);
    ds_close(d);
}

Test(dataset, read_rejects_bad_ids_and_short_rows)
{
    write_file(path, COUNTS);
    dataset *d = open_ok(path);
    int32_t src[2 * MAX_LEN], tgt[2 * MAX_LEN];
    int ls[2], lt[2];
    long bad[] = {0, COUNTS[SPLIT_VALID]};
    int rc = ds_read(d, SPLIT_VALID, bad, 2, MAX_LEN, src, ls, tgt, lt);
    cr_expect_eq(rc, S2S_ERANGE);
    cr_expect(strstr(s2s_errmsg(rc), "/valid") && strstr(s2s_errmsg(rc), "150"), "%s",
              s2s_errmsg(rc));
    /* A row shorter than the first sentence's longer side. */
    int32_t buf[MAX_LEN];
    int longest = sentence(0, 0, 0, buf);
    if (sentence(0, 0, 1, buf) > longest)
        longest = sentence(0, 0, 1, buf);
    long first = 0;
    rc = ds_read(d, SPLIT_TRAIN, &first, 1, longest - 1, src, ls, tgt, lt);
    cr_expect_eq(rc, S2S_ERANGE);
    cr_expect(strstr(s2s_errmsg(rc), "/train/") && strstr(s2s_errmsg(rc), "sentence 0"), "%s",
              s2s_errmsg(rc));
    ds_close(d);
}

/* ---- writer: argument checks, abort, failed close ------------------------------------------- */

Test(dataset, add_rejects_reserved_ids_and_empty_sentences)
{
    ds_writer *w = open_writer(path);
    int32_t ok[] = {4, 1, 5}, pad[] = {4, 0}, eos[] = {3};
    int rc = dsw_add(w, SPLIT_TRAIN, ok, 3, pad, 2);
    cr_expect_eq(rc, S2S_ERANGE);
    cr_expect(strstr(s2s_errmsg(rc), "/train/tgt_tokens") && strstr(s2s_errmsg(rc), "id 0"),
              "%s", s2s_errmsg(rc));
    cr_expect_eq(dsw_add(w, SPLIT_TEST, eos, 1, ok, 3), S2S_ERANGE);
    cr_expect_eq(dsw_add(w, SPLIT_TRAIN, ok, 0, ok, 3), S2S_EINVAL);
    cr_expect_eq(dsw_add(w, SPLIT_COUNT, ok, 3, ok, 3), S2S_EINVAL);
    /* Longer than the reader accepts (DS_SENTENCE_MAX): refused, not written unreadable. */
    int32_t *longest = malloc((DS_SENTENCE_MAX + 1) * sizeof *longest);
    cr_assert(longest);
    for (int k = 0; k <= DS_SENTENCE_MAX; k++)
        longest[k] = 4;
    rc = dsw_add(w, SPLIT_TRAIN, ok, 3, longest, DS_SENTENCE_MAX + 1);
    cr_expect_eq(rc, S2S_ERANGE);
    cr_expect(strstr(s2s_errmsg(rc), "more than the 65536"), "%s", s2s_errmsg(rc));
    free(longest);
    cr_expect_eq(dsw_set_attr(w, "format", "x"), S2S_EINVAL);
    const char *bad_vocab[] = {"<pad>", "<s>", "<unk>", "</s>", "a"};
    cr_expect_eq(dsw_set_vocab(w, "src", bad_vocab, 5), S2S_EINVAL, "set twice");
    /* Rejected pairs leave no trace: the one good pair is all the file holds. */
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, ok, 3, ok, 2), 0, "%s", s2s_errmsg(-1));
    cr_assert_eq(dsw_close(w), 0, "%s", s2s_errmsg(-1));
    dataset *d = open_ok(path);
    cr_expect_eq(ds_count(d, SPLIT_TRAIN), 1);
    cr_expect_eq(ds_count(d, SPLIT_TEST), 0);
    ds_close(d);
}

Test(dataset, set_vocab_checks_reserved_tokens)
{
    ds_writer *w = NULL;
    cr_assert_eq(dsw_open(&w, path), 0);
    const char *swapped[] = {"<pad>", "<s>", "<unk>", "</s>", "a"};
    int rc = dsw_set_vocab(w, "src", swapped, 5);
    cr_expect_eq(rc, S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(rc), "/vocab/src") && strstr(s2s_errmsg(rc), "<unk>"), "%s",
              s2s_errmsg(rc));
    /* The reader's checks of every entry: a writer never makes a file its reader refuses. */
    const char *dup[] = {"<pad>", "<unk>", "<s>", "</s>", "a", "b", "a"};
    rc = dsw_set_vocab(w, "src", dup, 7);
    cr_expect_eq(rc, S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(rc), "/vocab/src: entry 6 of the source vocabulary: duplicate "
                                     "token \"a\" (also id 4)"), "%s", s2s_errmsg(rc));
    cr_expect_eq(dsw_set_vocab(w, "tgt", vocab(1), 4), S2S_EINVAL, "no word");
    cr_expect_eq(dsw_set_vocab(w, "both", vocab(1), 5), S2S_EINVAL);
    dsw_abort(w);
}

/* Puts a file at path and returns its bytes, to compare after a writer that must not touch it. */
static char *previous_file(size_t *n)
{
    cr_assert_eq(scratch_write(path, "an older file\n"), 0);
    return scratch_read(path, n);
}

static void expect_previous(const char *before, size_t n_before)
{
    size_t n;
    char *after = scratch_read(path, &n);
    cr_expect(after && n == n_before && !memcmp(before, after, n), "%s changed", path);
    cr_expect_eq(temporaries(), 0, "a temporary file was left behind");
    cr_expect_eq(scratch_count(dir, ""), 1, "only the older file is in %s", dir);
    free(after);
}

Test(dataset, abort_leaves_nothing)
{
    size_t n;
    char *before = previous_file(&n);
    ds_writer *w = open_writer(path);
    add_corpus(w, COUNTS);
    cr_expect_eq(temporaries(), 1, "the writer works in a temporary file");
    dsw_abort(w);
    expect_previous(before, n);
    dsw_abort(NULL);
    free(before);
}

Test(dataset, failed_close_leaves_nothing)
{
    size_t n;
    char *before = previous_file(&n);
    /* Sentences written, then a target vocabulary too small for their ids. */
    ds_writer *w = NULL;
    cr_assert_eq(dsw_open(&w, path), 0);
    add_corpus(w, COUNTS);
    cr_assert_eq(dsw_set_vocab(w, "src", vocab(0), VOCAB_SRC), 0);
    cr_assert_eq(dsw_set_vocab(w, "tgt", vocab(1), 10), 0);
    int rc = dsw_close(w);
    cr_expect_eq(rc, S2S_ERANGE);
    cr_expect(strstr(s2s_errmsg(rc), "_tokens") && strstr(s2s_errmsg(rc), "target vocabulary"),
              "%s", s2s_errmsg(rc));
    expect_previous(before, n);

    /* No target vocabulary at all. */
    cr_assert_eq(dsw_open(&w, path), 0);
    cr_assert_eq(dsw_set_vocab(w, "src", vocab(0), VOCAB_SRC), 0);
    add_corpus(w, COUNTS);
    rc = dsw_close(w);
    cr_expect_eq(rc, S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(rc), "/vocab/tgt"), "%s", s2s_errmsg(rc));
    expect_previous(before, n);

    /* An empty training split. */
    w = open_writer(path);
    const long counts[SPLIT_COUNT] = {0, 5, 5};
    add_corpus(w, counts);
    rc = dsw_close(w);
    cr_expect_eq(rc, S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(rc), "/train"), "%s", s2s_errmsg(rc));
    expect_previous(before, n);
    free(before);
}

Test(dataset, close_replaces_an_existing_file)
{
    size_t n;
    free(previous_file(&n));
    write_file(path, COUNTS);
    dataset *d = open_ok(path);
    cr_expect_eq(ds_count(d, SPLIT_TRAIN), COUNTS[SPLIT_TRAIN]);
    ds_close(d);
    cr_expect_eq(scratch_count(dir, ""), 1);
}

/* ---- damaged files -------------------------------------------------------------------------- */

static hid_t edit(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0, "H5Fopen %s for writing", path);
    return f;
}

/* Closes the edited file and seals it again (include/s2s/seal.h): the integrity record would
 * otherwise refuse any edit before the reader's own checks, which are what these tests are
 * about (they stand for a file damaged before it was sealed, or sealed by another hand). */
static void reseal(const char *p)
{
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0, "open %s", p);
    cr_assert_eq(seal_fd(fd, p, DATASET_FORMAT), 0, "seal %s: %s", p, s2s_errmsg(-1));
    close(fd);
}

static void done(hid_t f)
{
    cr_assert_geq(H5Fclose(f), 0, "close %s", path);
    reseal(path);
}

/* Element pos of the 1-D integer dataset obj. */
static long long get_element(hid_t f, const char *obj, long long pos)
{
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), space = H5Dget_space(d);
    cr_assert_geq(d, 0, "open %s", obj);
    hsize_t start = (hsize_t)pos, one = 1;
    hid_t mem = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &one, NULL);
    long long v = 0;
    cr_assert_geq(H5Dread(d, H5T_NATIVE_LLONG, mem, space, H5P_DEFAULT, &v), 0, "read %s", obj);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    return v;
}

static void set_element(hid_t f, const char *obj, long long pos, long long v)
{
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), space = H5Dget_space(d);
    cr_assert_geq(d, 0, "open %s", obj);
    hsize_t start = (hsize_t)pos, one = 1;
    hid_t mem = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &one, NULL);
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_LLONG, mem, space, H5P_DEFAULT, &v), 0, "write %s",
                  obj);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
}

static void resize(hid_t f, const char *obj, hsize_t len)
{
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT);
    cr_assert_geq(d, 0, "open %s", obj);
    cr_assert_geq(H5Dset_extent(d, &len), 0, "resize %s", obj);
    H5Dclose(d);
}

/* (Through H5Oopen: HDF5 1.10 cannot write an attribute of a group other than the root that
 * was opened with H5Aopen_by_name, "can't locate open attribute?".) */
static void set_int_attr(hid_t f, const char *obj, const char *name, long long v)
{
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT), a = H5Aopen(o, name, H5P_DEFAULT);
    cr_assert_geq(a, 0, "open attribute %s of %s", name, obj);
    cr_assert_geq(H5Awrite(a, H5T_NATIVE_LLONG, &v), 0, "write attribute %s", name);
    H5Aclose(a);
    H5Oclose(o);
}

/* Expects ds_open(path) to fail with code and a message holding every needle and the path. */
static void expect_open_error(const char *p, int code, const char *const *needles)
{
    dataset *d = (dataset *)1;
    s2s_clear_error();
    int rc = ds_open(&d, p);
    const char *msg = s2s_errmsg(rc);
    cr_expect_eq(rc, code, "ds_open returned %d (%s), expected %d", rc, msg, code);
    cr_expect_null(d, "no dataset after a failed open");
    cr_expect(strstr(msg, p) != NULL, "message \"%s\" does not name the file", msg);
    for (int i = 0; needles[i]; i++)
        cr_expect(strstr(msg, needles[i]) != NULL, "message \"%s\" does not mention \"%s\"", msg,
                  needles[i]);
}

#define EXPECT_OPEN_ERROR(code, ...) expect_open_error(path, code, (const char *[]){__VA_ARGS__, NULL})

Test(dataset, missing_file)
{
    EXPECT_OPEN_ERROR(S2S_EIO, "No such file");
}

Test(dataset, not_hdf5)
{
    cr_assert_eq(scratch_write(path, "a b c\t1 2 3\n"), 0);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "not an HDF5 file");
}

Test(dataset, truncated_file)
{
    write_file(path, COUNTS);
    size_t n;
    char *bytes = scratch_read(path, &n);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, n / 2, f), n / 2);
    fclose(f);
    free(bytes);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "truncated");
}

Test(dataset, wrong_format)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    hid_t a = H5Aopen(f, "format", H5P_DEFAULT), type = H5Aget_type(a);
    const char *other = "s2s-params";
    cr_assert_geq(H5Awrite(a, type, &other), 0);
    H5Tclose(type);
    H5Aclose(a);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "'format'", "s2s-params", DATASET_FORMAT);
}

Test(dataset, version_2)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_int_attr(f, "/", "version", 2);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "schema version 2", "version 1");
}

Test(dataset, last_offset_beyond_tokens)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    long long last = get_element(f, "/train/src_offsets", COUNTS[SPLIT_TRAIN]);
    set_element(f, "/train/src_offsets", COUNTS[SPLIT_TRAIN], last + 5);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train/src_offsets", "last offset");
}

Test(dataset, offsets_decreasing)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    long long before = get_element(f, "/valid/tgt_offsets", 16);
    set_element(f, "/valid/tgt_offsets", 17, before - 1);
    done(f);
    char want[64];
    snprintf(want, sizeof want, "not increasing at sentence 16 (%lld then %lld)", before,
             before - 1);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/valid/tgt_offsets", want);
}

Test(dataset, offsets_length_mismatch)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_int_attr(f, "/test", "sentences", COUNTS[SPLIT_TEST] + 3);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/test/src_offsets", "entries");
}

Test(dataset, token_id_beyond_vocabulary)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_element(f, "/valid/tgt_tokens", 1000, VOCAB_TGT);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/valid/tgt_tokens", "token 1000", "is 50");
}

Test(dataset, padding_inside_a_sentence)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    long long at = get_element(f, "/train/src_offsets", 20) + 1;
    set_element(f, "/train/src_tokens", at, TOK_PAD);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train/src_tokens", "sentence 20, word 1", "is 0");
}

Test(dataset, source_and_target_counts_differ)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    resize(f, "/train/tgt_offsets", COUNTS[SPLIT_TRAIN]);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train", "source and target sentence counts differ");
}

Test(dataset, missing_target_vocabulary)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    cr_assert_geq(H5Ldelete(f, "/vocab/tgt", H5P_DEFAULT), 0);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/tgt", "missing");
}

Test(dataset, missing_split_group)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    cr_assert_geq(H5Ldelete(f, "/test", H5P_DEFAULT), 0);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/test", "missing");
}

/* Writes `text` as entry i of the vocabulary dataset obj of a file open for editing. */
static void set_token(hid_t f, const char *obj, hsize_t i, const char *text)
{
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), type = H5Dget_type(d);
    hid_t space = H5Dget_space(d);
    hsize_t one = 1;
    hid_t mem = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &i, NULL, &one, NULL);
    cr_assert_geq(H5Dwrite(d, type, mem, space, H5P_DEFAULT, &text), 0);
    H5Sclose(mem);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
}

Test(dataset, wrong_reserved_token)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_token(f, "/vocab/src", 2, "<bos>");
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", "token 2", "<bos>", "<s>");
}

/* Entries that `s2s translate` would refuse in a checkpoint are refused when the dataset opens,
 * with the file, the vocabulary, the entry and the problem. */
Test(dataset, bad_vocabulary_tokens)
{
    static const struct {
        const char *obj, *text, *side, *entry, *problem;
        hsize_t i;
    } cases[] = {
        {"/vocab/src", "", "source", "entry 7 ", "empty token", 7},
        {"/vocab/tgt", "\xc3\x28", "target", "entry 9 ", "invalid UTF-8", 9},
        {"/vocab/src", "w5", "source", "entry 30 ", "duplicate token \"w5\" (also id 5)", 30},
        {"/vocab/tgt", "a b", "target", "entry 4 ", "holds whitespace (byte 2 is 0x20)", 4},
        {"/vocab/tgt", "a\tb", "target", "entry 40 ", "holds whitespace (byte 2 is 0x09)", 40},
        {"/vocab/src", "a\nb", "source", "entry 59 ", "holds whitespace (byte 2 is 0x0a)", 59},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_file(path, COUNTS);
        hid_t f = edit();
        set_token(f, cases[k].obj, cases[k].i, cases[k].text);
        done(f);
        EXPECT_OPEN_ERROR(S2S_EFORMAT, path, cases[k].obj, cases[k].side, cases[k].entry,
                          cases[k].problem);
    }
}

/* Writes a dataset whose source vocabulary has n entries (w0 ... after the reserved ones) and
 * whose one pair has a source token of id n - 1 and a target token: 2 tokens in all. */
static void write_big_vocab(int n)
{
    char (*words)[16] = malloc((size_t)n * sizeof *words);
    const char **v = malloc((size_t)n * sizeof *v);
    cr_assert(words && v);
    for (int i = 0; i < n; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        v[i] = i < TOK_FIRST_WORD ? vocab(0)[i] : words[i];
    }
    ds_writer *w = NULL;
    cr_assert_eq(dsw_open(&w, path), 0);
    cr_assert_eq(dsw_set_vocab(w, "src", v, n), 0, "%s", s2s_errmsg(-2));
    cr_assert_eq(dsw_set_vocab(w, "tgt", vocab(1), VOCAB_TGT), 0, "%s", s2s_errmsg(-2));
    int32_t s[1] = {n - 1}, t[1] = {TOK_FIRST_WORD};
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, s, 1, t, 1), 0);
    cr_assert_eq(dsw_close(w), 0, "%s", s2s_errmsg(-2));
    free(words);
    free(v);
}

/* Duplicates are found through a hash map: a vocabulary of 100,000 words opens, and a
 * duplicate as its last entry is found. Its 2 tokens are far fewer than its words, so it opens
 * only with ds_limits.large_vocab, given to ds_open_with or, as main does for the commands'
 * --large-vocab, through ds_set_limits. */
Test(dataset, large_vocabulary)
{
    enum { BIG = 100000 };
    write_big_vocab(BIG);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", "99996 words", "only 2 tokens",
                      "more than 65536 entries", "--large-vocab");
    dataset *d = NULL;
    int rc = ds_open_with(&d, path, &(ds_limits){.large_vocab = true});
    cr_assert_eq(rc, 0, "ds_open_with large_vocab: %s", s2s_errmsg(rc));
    cr_expect_eq(ds_vocab_size(d, "src"), BIG);
    cr_expect_str_eq(ds_token(d, "src", BIG - 1), "w99999");
    ds_close(d);
    ds_set_limits(&(ds_limits){.large_vocab = true});
    d = open_ok(path);
    ds_close(d);
    hid_t f = edit();
    set_token(f, "/vocab/src", BIG - 1, "w12345");
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", "entry 99999 ", "duplicate token \"w12345\"");
    ds_set_limits(NULL);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", "--large-vocab");
}

/* Up to 65536 entries a vocabulary needs no tokens: a reused vocabulary of the usual subword
 * sizes opens with a corpus of any size. */
Test(dataset, vocabulary_of_65536_without_tokens)
{
    write_big_vocab(65536);
    dataset *d = open_ok(path);
    cr_expect_eq(ds_vocab_size(d, "src"), 65536);
    ds_close(d);
    write_big_vocab(65537);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", "65533 words", "--large-vocab");
}

Test(dataset, empty_training_split)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_int_attr(f, "/train", "sentences", 0);
    const char *objs[] = {"/train/src_offsets", "/train/tgt_offsets", "/train/src_tokens",
                          "/train/tgt_tokens"};
    for (int i = 0; i < 4; i++)
        resize(f, objs[i], i < 2 ? 1 : 0);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train", "no sentences");
}

/* ---- limits before allocation --------------------------------------------------------------- */

/* Bits of a deflate stream, least significant first (RFC 1951 3.1.1). */
typedef struct {
    unsigned char *buf;
    size_t n;
    uint64_t acc;
    int bits;
} bit_writer;

static void put_bits(bit_writer *w, uint32_t v, int n)
{
    w->acc |= (uint64_t)v << w->bits;
    for (w->bits += n; w->bits >= 8; w->bits -= 8) {
        w->buf[w->n++] = (unsigned char)(w->acc & 0xff);
        w->acc >>= 8;
    }
}

/* A Huffman code, which deflate stores most significant bit first. */
static void put_code(bit_writer *w, uint32_t code, int n)
{
    uint32_t r = 0;
    for (int i = 0; i < n; i++)
        r |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(w, r, n);
}

/* A zlib stream (RFC 1950) that inflates to `total` bytes of the 4-byte pattern pat repeated:
 * one block of fixed Huffman codes holding the 4 literals, then matches of 258 bytes at
 * distance 4 (13 bits each), so that a 1 GiB chunk is made in a fraction of a second instead of
 * being compressed. total - 4 must be a multiple of 258 and total of 4. */
static unsigned char *deflate_repeat(const unsigned char pat[4], uint64_t total, size_t *size)
{
    uint64_t k = (total - 4) / 258;
    cr_assert(total % 4 == 0 && 4 + 258 * k == total, "deflate_repeat: %llu bytes",
              (unsigned long long)total);
    bit_writer w = {.buf = malloc(2 + (32 + 13 * k + 7 + 7) / 8 + 4)};
    cr_assert_not_null(w.buf);
    w.buf[w.n++] = 0x78; /* deflate, 32 KiB window; (0x78 * 256 + 0x01) % 31 == 0 */
    w.buf[w.n++] = 0x01;
    put_bits(&w, 1, 1); /* the final block */
    put_bits(&w, 1, 2); /* fixed Huffman codes */
    for (int i = 0; i < 4; i++)
        put_code(&w, 0x30u + pat[i], 8); /* literals 0..143 */
    for (uint64_t i = 0; i < k; i++) {
        put_code(&w, 0xc5, 8); /* length code 285: 258 bytes */
        put_code(&w, 3, 5);    /* distance code 3: 4 bytes back */
    }
    put_code(&w, 0, 7); /* end of block */
    if (w.bits)
        put_bits(&w, 0, 8 - w.bits);
    /* Adler-32 of the pattern repeated m times: a = 1 + sum of the bytes, b = the sum of a after
     * each byte = total + sum over byte positions q of x_q (total - q). */
    const uint64_t M = 65521, m = total / 4;
    uint64_t a = 1, b = total % M;
    for (int r = 0; r < 4; r++) {
        a = (a + (m % M) * pat[r]) % M;
        /* sum over j < m of (total - 4j - r) = m (total - r) - 4 m (m - 1) / 2 */
        uint64_t t = ((m % M) * ((total - (uint64_t)r) % M) + M * M - (2 * (m % M) % M) *
                      ((m - 1) % M) % M) % M;
        b = (b + t * pat[r]) % M;
    }
    uint32_t adler = (uint32_t)(b << 16 | a);
    for (int i = 3; i >= 0; i--)
        w.buf[w.n++] = (unsigned char)(adler >> (8 * i));
    *size = w.n;
    return w.buf;
}

/* Replaces the 1-D dataset obj of an open file by one of n elements of file type `type` in
 * deflated chunks of `chunk` elements, each chunk written raw as z (zn bytes), as a writer of
 * compressed chunks would. */
static void replace_chunked(hid_t f, const char *obj, hid_t type, hsize_t n, hsize_t chunk,
                            const unsigned char *z, size_t zn)
{
    cr_assert_geq(H5Ldelete(f, obj, H5P_DEFAULT), 0, "delete %s", obj);
    hid_t space = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert_geq(H5Pset_chunk(dcpl, 1, &chunk), 0);
    cr_assert_geq(H5Pset_deflate(dcpl, 1), 0);
    hid_t d = H5Dcreate2(f, obj, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "create %s", obj);
    for (hsize_t at = 0; at < n; at += chunk)
        cr_assert_geq(H5Dwrite_chunk(d, H5P_DEFAULT, 0, &at, zn, z), 0, "chunk at %llu",
                      (unsigned long long)at);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
}

/* Replaces the 1-D integer dataset obj by the n values v: contiguous, or extendible with
 * dcpl's chunks and filters (a chunk may then be larger than the dataset, as in s2s's own
 * files). */
static void replace_values(hid_t f, const char *obj, hid_t type, const long long *v, hsize_t n,
                           hid_t dcpl)
{
    cr_assert_geq(H5Ldelete(f, obj, H5P_DEFAULT), 0, "delete %s", obj);
    hsize_t max = H5S_UNLIMITED;
    hid_t space = H5Screate_simple(1, &n, dcpl == H5P_DEFAULT ? NULL : &max);
    hid_t d = H5Dcreate2(f, obj, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "create %s", obj);
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Sclose(space);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* The training split as 4096 source sentences of 65536 tokens (id 4) in one deflated chunk of
 * 1 GiB (a 7 MB file), each a sentence the limits allow, and 4096 one-token targets: without
 * the chunk bound the file is valid and opening it inflates 1 GiB into one buffer. It is
 * refused from its metadata, at once. */
Test(dataset, one_gib_chunk_refused_before_inflating)
{
    enum { SENTS = 4096, LEN = 65536 };
    const hsize_t tokens = (hsize_t)SENTS * LEN; /* 2^28 ids: 1 GiB */
    size_t zn;
    unsigned char *z = deflate_repeat((const unsigned char[]){4, 0, 0, 0}, tokens * 4, &zn);
    long long *off = malloc((SENTS + 1) * sizeof *off), *tgt = malloc(SENTS * sizeof *tgt);
    long long *tgt_off = malloc((SENTS + 1) * sizeof *tgt_off);
    cr_assert(off && tgt && tgt_off);
    for (int i = 0; i <= SENTS; i++) {
        off[i] = (long long)i * LEN;
        tgt_off[i] = i;
        if (i < SENTS)
            tgt[i] = TOK_FIRST_WORD;
    }
    write_file(path, COUNTS);
    hid_t f = edit();
    replace_chunked(f, "/train/src_tokens", H5T_STD_I32LE, tokens, tokens, z, zn);
    replace_values(f, "/train/src_offsets", H5T_STD_I64LE, off, SENTS + 1, H5P_DEFAULT);
    replace_values(f, "/train/tgt_tokens", H5T_STD_I32LE, tgt, SENTS, H5P_DEFAULT);
    replace_values(f, "/train/tgt_offsets", H5T_STD_I64LE, tgt_off, SENTS + 1, H5P_DEFAULT);
    set_int_attr(f, "/train", "sentences", SENTS);
    done(f);
    free(z);
    free(off);
    free(tgt);
    free(tgt_off);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train/src_tokens", "chunks of 1 GiB", "more than the 64 MiB");
    double t = seconds_since(&t0);
    cr_expect_lt(t, 1.0, "refused after %.2f s: it was read", t);
}

/* Stores the int32 dataset obj of the open file f again with the creation properties dcpl
 * (same values); its length into *len. */
static void restore_with(hid_t f, const char *obj, hid_t dcpl, hsize_t *len)
{
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT), space = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, NULL);
    long long *v = malloc(n * sizeof *v);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(space);
    H5Dclose(d);
    replace_values(f, obj, H5T_STD_I32LE, v, n, dcpl);
    free(v);
    *len = n;
}

/* A chunk of 4 MiB for a dataset of a few thousand tokens. */
Test(dataset, chunk_larger_than_its_dataset)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk = 1 << 20, n;
    cr_assert_geq(H5Pset_chunk(dcpl, 1, &chunk), 0);
    cr_assert_geq(H5Pset_deflate(dcpl, 1), 0);
    restore_with(f, "/valid/src_tokens", dcpl, &n);
    H5Pclose(dcpl);
    done(f);
    char want[64];
    snprintf(want, sizeof want, "for a dataset of %llu", (unsigned long long)n);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/valid/src_tokens", "chunks of 1048576 elements (4 MiB)", want,
                      "larger than its dataset");
}

/* A token dataset extended to 2^30 ids without data: unallocated chunks read as fill values,
 * so its 4 GiB would come from a few kilobytes of file. */
Test(dataset, declared_beyond_its_storage)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    resize(f, "/train/src_tokens", (hsize_t)1 << 30);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train/src_tokens", "1073741824 elements (4 GiB)",
                      "deflate's largest ratio of 1032:1");
}

/* The vocabulary's 10^7 empty entries in deflated chunks: a 1 MB file whose vocabulary would
 * take 80 MB of pointers to read. Refused from its extent and the file's size. */
Test(dataset, huge_vocabulary_in_a_small_file)
{
    /* 65500 references of 16 bytes per chunk: 4 + 258 k bytes, as deflate_repeat needs. */
    enum { CHUNK = 65500, N = 10000000 };
    size_t zn;
    unsigned char *z = deflate_repeat((const unsigned char[]){0, 0, 0, 0}, (uint64_t)CHUNK * 16,
                                      &zn);
    write_file(path, COUNTS);
    hid_t f = edit();
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    replace_chunked(f, "/vocab/src", type, N, CHUNK, z, zn);
    H5Tclose(type);
    done(f);
    free(z);
    size_t size;
    free(scratch_read(path, &size));
    cr_assert_lt(size, 2000000, "the file has %zu bytes", size);
    char want[96];
    snprintf(want, sizeof want, "10000000 tokens cannot be in a file of %zu bytes", size);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/vocab/src", want, "at least 16 bytes");
}

/* A count of sentences that each need a token, beyond the tokens there are: refused before
 * offsets are allocated for it. */
Test(dataset, sentences_beyond_tokens)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    set_int_attr(f, "/valid", "sentences", 1000000000000LL);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/valid", "'sentences' is 1000000000000",
                      "src_tokens holds only", "at least one");
}

Test(dataset, sentence_longer_than_the_bound)
{
    /* The writer refuses such a sentence (add_rejects_reserved_ids_and_empty_sentences), so
     * the file is made of two legal ones whose boundary is then moved: 1 + 69999 tokens. */
    enum { HALF = 35000 };
    int32_t *s = malloc(HALF * sizeof *s), t[1] = {TOK_FIRST_WORD};
    for (int i = 0; i < HALF; i++)
        s[i] = TOK_FIRST_WORD + i % (VOCAB_SRC - TOK_FIRST_WORD);
    ds_writer *w = open_writer(path);
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, t, 1, t, 1), 0);
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, s, HALF, t, 1), 0);
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, s, HALF, t, 1), 0);
    cr_assert_eq(dsw_close(w), 0, "%s", s2s_errmsg(-1));
    free(s);
    hid_t f = edit();
    cr_assert_eq(get_element(f, "/train/src_offsets", 2), 1 + HALF);
    set_element(f, "/train/src_offsets", 2, 2);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/train/src_offsets", "sentence 2 has 69999 tokens",
                      "more than the 65536");
}

/* The scale-offset filter stores constant data in no bits at all: no ratio bounds it. */
Test(dataset, filter_without_a_bound)
{
    write_file(path, COUNTS);
    hid_t f = edit();
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk = 1024, n;
    cr_assert_geq(H5Pset_chunk(dcpl, 1, &chunk), 0);
    cr_assert_geq(H5Pset_scaleoffset(dcpl, H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT), 0);
    restore_with(f, "/test/tgt_tokens", dcpl, &n);
    H5Pclose(dcpl);
    done(f);
    EXPECT_OPEN_ERROR(S2S_EFORMAT, "/test/tgt_tokens", "filter 6", "only deflate, shuffle and "
                      "fletcher32");
}

/* A stop signal that has arrived ends the reading at the next block with S2S_ESTOPPED. */
Test(dataset, stop_signal_ends_reading)
{
    write_file(path, COUNTS);
    stop_install();
    raise(SIGTERM);
    /* The integrity check, the first loop over the file, is the one that sees it here. */
    EXPECT_OPEN_ERROR(S2S_ESTOPPED, "data.h5: stopped by SIGTERM");
}
