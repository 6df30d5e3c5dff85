/* test_prep.c - `s2s prep` (src/prep/prep.c): text to dataset and back gives the same tokens for
 * both tokenizers and both input forms; vocabularies are ordered, cut and reused as documented;
 * the carve-out is exact, disjoint and a function of the seed; every filter counts what it
 * drops; and every malformed input gets one clear error with nothing left behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/dataset.h"
#include "s2s/prep.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "scratch.h"

static char dir[64];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "prep"), 0, "scratch directory");
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(prep, .init = setup, .fini = teardown);

/* Writes dir/name with the given text and returns its path in a static ring of buffers. */
static const char *file(const char *name, const char *text)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    scratch_path(p, 256, dir, name);
    cr_assert_eq(scratch_write(p, text), 0, "write %s", p);
    return p;
}

static void defaults(prep_options *o)
{
    memset(o, 0, sizeof *o);
    o->min_freq = 1;
    o->seed = 1;
    scratch_path(o->out, sizeof o->out, dir, "data.h5");
}

static void set_train(prep_options *o, const char *src_text, const char *tgt_text)
{
    snprintf(o->in[SPLIT_TRAIN].src, OPT_STRING_MAX, "%s", file("train.src", src_text));
    snprintf(o->in[SPLIT_TRAIN].tgt, OPT_STRING_MAX, "%s", file("train.tgt", tgt_text));
}

static int run(const prep_options *o, prep_report *rep)
{
    return prep_run(o, NULL, rep);
}

/* Sentence i of a split as its tokens' texts joined by single spaces. */
static void sentence_text(dataset *d, split_id split, long i, int side, char *buf, size_t n)
{
    int32_t src[512], tgt[512];
    int ls, lt;
    cr_assert_eq(ds_read(d, split, &i, 1, 512, src, &ls, tgt, &lt), 0, "read: %s",
                 s2s_errmsg(-1));
    const int32_t *ids = side ? tgt : src;
    int len = side ? lt : ls;
    buf[0] = '\0';
    for (int k = 0; k < len; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", k ? " " : "", ds_token(d, side ? "tgt" : "src",
                                                                     ids[k]));
    }
}

static dataset *open_out(const prep_options *o)
{
    dataset *d = NULL;
    int rc = ds_open(&d, o->out);
    cr_assert_eq(rc, 0, "open the prepared dataset: %s", s2s_errmsg(rc));
    return d;
}

Test(prep, whitespace_round_trip_and_vocabulary_order)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "the cat  sat\nA dog\n\tthe dog sat down \n", "le chat\nun chien\nle chien assis\n");
    prep_report rep;
    int rc = run(&o, &rep);
    cr_assert_eq(rc, 0, "prep: %s", s2s_errmsg(rc));
    cr_expect_eq(rep.split[SPLIT_TRAIN].kept, 3);
    dataset *d = open_out(&o);
    cr_assert_eq(ds_count(d, SPLIT_TRAIN), 3);
    cr_expect_eq(ds_count(d, SPLIT_VALID), 0);
    /* Reserved tokens, then by decreasing count, ties by text (byte order: "A" < "cat"). */
    const char *src_vocab[] = {"<pad>", "<unk>", "<s>", "</s>", "dog", "sat", "the",
                               "A", "cat", "down"};
    cr_assert_eq(ds_vocab_size(d, "src"), 10);
    for (int i = 0; i < 10; i++)
        cr_expect_str_eq(ds_token(d, "src", i), src_vocab[i], "source id %d", i);
    const char *want_src[] = {"the cat sat", "A dog", "the dog sat down"};
    const char *want_tgt[] = {"le chat", "un chien", "le chien assis"};
    char buf[512];
    for (long i = 0; i < 3; i++) {
        sentence_text(d, SPLIT_TRAIN, i, 0, buf, sizeof buf);
        cr_expect_str_eq(buf, want_src[i], "source sentence %ld", i);
        sentence_text(d, SPLIT_TRAIN, i, 1, buf, sizeof buf);
        cr_expect_str_eq(buf, want_tgt[i], "target sentence %ld", i);
    }
    /* The vocabulary files list the same tokens, one per line. */
    char path[256];
    char *text = scratch_read(scratch_path(path, sizeof path, dir, "data.src.vocab"), NULL);
    cr_assert_not_null(text, "data.src.vocab written");
    cr_expect_str_eq(text, "<pad>\n<unk>\n<s>\n</s>\ndog\nsat\nthe\nA\ncat\ndown\n");
    free(text);
    cr_expect_not_null(ds_attr(d, "inputs"), "inputs attribute");
    cr_expect_not_null(strstr(ds_attr(d, "report"), "\"kept\": 3"), "report attribute: %s",
                       ds_attr(d, "report"));
    ds_close(d);
}

Test(prep, tsv_characters_and_lowercase)
{
    prep_options o;
    defaults(&o);
    snprintf(o.in[SPLIT_TRAIN].tsv, OPT_STRING_MAX, "%s",
             file("train.tsv", "Ab c\tX\xC3\xA9\nbA\tY Y\n"));
    o.tokenizer = TOK_CHARS;
    o.lowercase = true;
    int rc = run(&o, NULL);
    cr_assert_eq(rc, 0, "prep: %s", s2s_errmsg(rc));
    dataset *d = open_out(&o);
    char buf[512];
    sentence_text(d, SPLIT_TRAIN, 0, 0, buf, sizeof buf);
    cr_expect_str_eq(buf, "a b \xE2\x96\x81 c", "spaces become U+2581 tokens");
    sentence_text(d, SPLIT_TRAIN, 0, 1, buf, sizeof buf);
    cr_expect_str_eq(buf, "x \xC3\xA9", "a two-byte code point is one token");
    sentence_text(d, SPLIT_TRAIN, 1, 1, buf, sizeof buf);
    cr_expect_str_eq(buf, "y \xE2\x96\x81 y");
    ds_close(d);
}

Test(prep, frequency_cut_size_cut_and_shared_vocabulary)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a a a b b c\nd\n", "x x y\na\n");
    o.min_freq = 2;
    prep_report rep;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(rep.vocab[0], 6, "a, b kept; c, d below --min-freq");
    cr_expect_eq(rep.vocab[1], 5, "x kept");
    cr_expect_eq(rep.split[SPLIT_TRAIN].unk[0], 2, "c and d are <unk>");
    cr_expect_eq(rep.split[SPLIT_TRAIN].unk[1], 2, "y and a are <unk>");

    defaults(&o);
    set_train(&o, "a a a b b c\nd\n", "x x y\na\n");
    o.max_vocab = 5;
    o.shared_vocab = true;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(rep.vocab[0], 5, "only the most frequent word fits");
    cr_expect_eq(rep.vocab[1], 5);
    dataset *d = open_out(&o);
    cr_expect_str_eq(ds_token(d, "src", 4), "a", "a occurs 4 times over both sides");
    cr_expect_str_eq(ds_token(d, "tgt", 4), "a");
    ds_close(d);
}

Test(prep, reused_vocabularies_keep_ids_and_map_new_words_to_unk)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "one two three\ntwo three\nthree\n", "uno dos tres\ndos tres\ntres\n");
    cr_assert_eq(run(&o, NULL), 0, "%s", s2s_errmsg(-1));
    char sv[256], tv[256];
    scratch_path(sv, sizeof sv, dir, "data.src.vocab");
    scratch_path(tv, sizeof tv, dir, "data.tgt.vocab");
    char *src_before = scratch_read(sv, NULL);

    prep_options p;
    defaults(&p);
    scratch_path(p.out, sizeof p.out, dir, "again.h5");
    set_train(&p, "three four\n<s> one\n", "tres cuatro\nuno\n");
    snprintf(p.src_vocab, OPT_STRING_MAX, "%s", sv);
    snprintf(p.tgt_vocab, OPT_STRING_MAX, "%s", tv);
    prep_report rep;
    cr_assert_eq(run(&p, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(rep.split[SPLIT_TRAIN].unk[0], 2, "four and a literal <s> are <unk>");
    cr_expect_eq(rep.split[SPLIT_TRAIN].unk[1], 1, "cuatro is <unk>");
    dataset *d = open_out(&p);
    int32_t src[8], tgt[8];
    int ls, lt;
    long id = 0;
    cr_assert_eq(ds_read(d, SPLIT_TRAIN, &id, 1, 8, src, &ls, tgt, &lt), 0);
    cr_expect_eq(ls, 2);
    cr_expect_eq(src[0], 4, "three keeps the id of the first vocabulary");
    cr_expect_eq(src[1], TOK_UNK);
    ds_close(d);
    char *src_after = scratch_read(sv, NULL);
    cr_expect_str_eq(src_after, src_before, "the reused vocabulary is unchanged");
    free(src_before);
    free(src_after);
}

/* 1000 distinct lines "w<i>" carved into train/valid/test. Returns the split of each line.
 * Tokenized into characters, so that every digit is in the vocabulary (built from the training
 * split) and valid/test lines come back whole rather than as <unk>. */
static void carve(unsigned seed, int *split_of)
{
    char *src = malloc(1000 * 8), *p = src;
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "w%d\n", i);
    prep_options o;
    defaults(&o);
    set_train(&o, src, src);
    free(src);
    o.valid_size = 100;
    o.test_size = 50;
    o.seed = seed;
    o.tokenizer = TOK_CHARS;
    prep_report rep;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(rep.split[SPLIT_TRAIN].kept, 850);
    cr_expect_eq(rep.split[SPLIT_VALID].kept, 100);
    cr_expect_eq(rep.split[SPLIT_TEST].kept, 50);
    for (int i = 0; i < 1000; i++)
        split_of[i] = -1;
    dataset *d = open_out(&o);
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (long i = 0; i < ds_count(d, (split_id)s); i++) {
            char buf[64];
            sentence_text(d, (split_id)s, i, 0, buf, sizeof buf);
            int line = buf[0] == 'w' ? 0 : -1;
            for (const char *c = buf + 1; *c && line >= 0; c++) /* "w 1 2 3" */
                if (*c >= '0' && *c <= '9')
                    line = line * 10 + (*c - '0');
                else if (*c != ' ' || line > 1000)
                    line = -1;
            cr_assert(line >= 0 && line < 1000 && split_of[line] == -1, "line %s seen once", buf);
            split_of[line] = s;
        }
    ds_close(d);
    for (int i = 0; i < 1000; i++)
        cr_assert_neq(split_of[i], -1, "line %d is in some split", i);
}

Test(prep, carve_out_is_exact_disjoint_and_seeded)
{
    int a[1000], b[1000], c[1000];
    carve(1, a);
    carve(1, b);
    carve(2, c);
    int same = 0, differ = 0;
    for (int i = 0; i < 1000; i++) {
        same += a[i] == b[i];
        differ += a[i] != c[i];
    }
    cr_expect_eq(same, 1000, "the same seed carves the same lines");
    cr_expect_gt(differ, 100, "another seed carves other lines");
}

/* 300 source sentences "s<k>", sentence k with 1 + k % 3 translations "t<k> <j>": by source,
 * no held-out source has a training pair; by line, some have. --train-size keeps a sample. */
static void carve_groups(int by, long train_size, prep_report *rep, int *mixed)
{
    char *src = malloc(600 * 12), *tgt = malloc(600 * 16), *p = src, *q = tgt;
    for (int k = 0; k < 300; k++)
        for (int j = 0; j <= k % 3; j++) {
            p += sprintf(p, "s%d\n", k);
            q += sprintf(q, "t%d %d\n", k, j);
        }
    prep_options o;
    defaults(&o);
    set_train(&o, src, tgt);
    free(src);
    free(tgt);
    o.valid_size = 60;
    o.test_size = 30;
    o.carve_by = by;
    o.train_size = train_size;
    o.tokenizer = TOK_CHARS;
    cr_assert_eq(run(&o, rep), 0, "%s", s2s_errmsg(-1));
    int where[300] = {0}; /* bit s: source k has a pair in split s */
    dataset *d = open_out(&o);
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (long i = 0; i < ds_count(d, (split_id)s); i++) {
            char buf[64];
            sentence_text(d, (split_id)s, i, 0, buf, sizeof buf);
            int k = 0;
            for (const char *c = buf + 1; *c; c++)
                if (*c >= '0' && *c <= '9')
                    k = k * 10 + (*c - '0');
            cr_assert(k < 300, "source %s", buf);
            where[k] |= 1 << s;
        }
    ds_close(d);
    *mixed = 0;
    for (int k = 0; k < 300; k++)
        *mixed += (where[k] & 1) && where[k] != 1;
}

Test(prep, carve_by_source_keeps_a_source_on_one_side)
{
    prep_report rep;
    int mixed;
    carve_groups(CARVE_SOURCE, 0, &rep, &mixed);
    cr_expect_eq(mixed, 0, "%d held-out sources also in training", mixed);
    cr_expect_eq(rep.shared_src, 0);
    /* a group of up to 3 pairs may pass a size by less than its size */
    cr_expect(rep.split[SPLIT_VALID].kept >= 60 && rep.split[SPLIT_VALID].kept < 63, "valid %ld",
              rep.split[SPLIT_VALID].kept);
    cr_expect(rep.split[SPLIT_TEST].kept >= 30 && rep.split[SPLIT_TEST].kept < 33, "test %ld",
              rep.split[SPLIT_TEST].kept);
    cr_expect_eq(rep.split[SPLIT_TRAIN].kept + rep.split[SPLIT_VALID].kept +
                     rep.split[SPLIT_TEST].kept, 600);
    carve_groups(CARVE_LINE, 0, &rep, &mixed);
    cr_expect_gt(mixed, 0, "by line, some held-out source has a training pair");
    cr_expect_gt(rep.shared_src, 0, "and the report counts them");
    cr_expect_eq(rep.split[SPLIT_VALID].kept, 60);
    cr_expect_eq(rep.split[SPLIT_TEST].kept, 30);
}

Test(prep, train_size_keeps_a_sample)
{
    prep_report rep;
    int mixed;
    carve_groups(CARVE_LINE, 200, &rep, &mixed);
    cr_expect_eq(rep.split[SPLIT_TRAIN].kept, 200);
    cr_expect_eq(rep.unused, 600 - 90 - 200);
    carve_groups(CARVE_SOURCE, 200, &rep, &mixed);
    cr_expect(rep.split[SPLIT_TRAIN].kept >= 200 && rep.split[SPLIT_TRAIN].kept < 203, "train %ld",
              rep.split[SPLIT_TRAIN].kept);
    cr_expect_eq(mixed, 0);
}

Test(prep, filters_count_what_they_drop)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a b c d e\na b\n \na\na b c\n", "x\ny z\nx\nx y z w\nx y\n");
    snprintf(o.in[SPLIT_VALID].src, OPT_STRING_MAX, "%s", file("valid.src", "a b c d e f\n"));
    snprintf(o.in[SPLIT_VALID].tgt, OPT_STRING_MAX, "%s", file("valid.tgt", "x\n"));
    o.max_len = 3;
    prep_report rep;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    const prep_split_report *t = &rep.split[SPLIT_TRAIN];
    cr_expect_eq(t->read, 5);
    cr_expect_eq(t->empty, 1, "a line of spaces is empty");
    cr_expect_eq(t->too_long, 2, "5 source tokens, 4 target tokens");
    cr_expect_eq(t->kept, 2);
    cr_expect_eq(rep.split[SPLIT_VALID].kept, 1, "held-out pairs are not length-filtered");

    o.long_policy = LONG_TRUNCATE;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(t->truncated, 2);
    cr_expect_eq(t->kept, 4);
    dataset *d = open_out(&o);
    int sl[4], tl[4];
    cr_assert_eq(ds_lengths(d, SPLIT_TRAIN, sl, tl), 0);
    cr_expect_eq(sl[0], 3, "cut to --max-len");
    cr_expect_eq(tl[2], 3, "cut to --max-len");
    ds_close(d);

    o.long_policy = LONG_DROP;
    o.max_len = 0;
    o.max_ratio = 2;
    cr_assert_eq(run(&o, &rep), 0, "%s", s2s_errmsg(-1));
    cr_expect_eq(t->ratio, 2, "5:1 and 1:4 exceed 2; 2:2 and 3:2 do not");
    cr_expect_eq(t->kept, 2);
}

/* Expects prep to fail with `code` and a message holding every needle, leaving no dataset,
 * vocabulary or temporary file behind. */
static void expect_failure(const prep_options *o, int code, const char *needle1,
                           const char *needle2)
{
    int before = scratch_count(dir, "");
    int rc = run(o, NULL);
    const char *msg = s2s_errmsg(rc);
    cr_assert_eq(rc, code, "status %d (%s), expected %d", rc, msg, code);
    cr_expect(strstr(msg, needle1) != NULL, "'%s' in: %s", needle1, msg);
    cr_expect(!needle2 || strstr(msg, needle2) != NULL, "'%s' in: %s", needle2, msg);
    cr_expect_eq(scratch_count(dir, ""), before, "no file left behind (%s)", msg);
}

Test(prep, malformed_inputs_fail_clearly_and_leave_nothing)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a\nb\nc\n", "x\ny\n");
    expect_failure(&o, S2S_EFORMAT, "different line counts", "train.tgt");

    set_train(&o, "a\nb \xC3\x28 c\n", "x\ny\n");
    expect_failure(&o, S2S_EFORMAT, "train.src:2", "invalid UTF-8");
    set_train(&o, "a\nb\n", "x\n\xED\xA0\x80\n"); /* an encoded surrogate */
    expect_failure(&o, S2S_EFORMAT, "train.tgt:2", "invalid UTF-8");

    set_train(&o, "", "");
    expect_failure(&o, S2S_EFORMAT, "empty file", NULL);

    set_train(&o, "a\n", "x\n");
    snprintf(o.in[SPLIT_TRAIN].tgt, OPT_STRING_MAX, "%s/absent.tgt", dir);
    expect_failure(&o, S2S_EIO, "absent.tgt", "cannot open");

    defaults(&o);
    snprintf(o.in[SPLIT_TRAIN].tsv, OPT_STRING_MAX, "%s", file("t.tsv", "a\tx\nb x\n"));
    expect_failure(&o, S2S_EFORMAT, "t.tsv:2", "tab");

    defaults(&o);
    snprintf(o.in[SPLIT_TRAIN].src, OPT_STRING_MAX, "%s", file("only.src", "a\n"));
    expect_failure(&o, S2S_EUSAGE, "--train-tgt", NULL);

    defaults(&o);
    set_train(&o, "a\n", "x\n");
    snprintf(o.src_vocab, OPT_STRING_MAX, "%s", file("bad.vocab", "<pad>\n<s>\n"));
    expect_failure(&o, S2S_EFORMAT, "bad.vocab:2", "<unk>");
    snprintf(o.src_vocab, OPT_STRING_MAX, "%s", file("dup.vocab",
                                                     "<pad>\n<unk>\n<s>\n</s>\nw\nw\n"));
    expect_failure(&o, S2S_EFORMAT, "dup.vocab:6", "duplicate");

    defaults(&o);
    set_train(&o, "a b c\n", "x y z\n");
    o.max_len = 2;
    expect_failure(&o, S2S_EINVAL, "dropped all 1 training pairs", NULL);

    defaults(&o);
    set_train(&o, "a\nb\n", "x\ny\n");
    o.valid_size = 2;
    expect_failure(&o, S2S_EUSAGE, "leave no training data", NULL);
}

/* Writes n bytes (NULs included, which scratch_write cannot) to dir/name; returns its path. */
static const char *binary_file(const char *name, const char *bytes, size_t n)
{
    static char p[256];
    scratch_path(p, sizeof p, dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "create %s", p);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    return p;
}

#define BINARY_FILE(name, literal) binary_file(name, literal, sizeof literal - 1)

/* A NUL byte would end the C string of the line: refused with FILE:LINE, not silently cut. */
Test(prep, a_nul_byte_is_an_error)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a\nb\n", "x\ny\n");
    snprintf(o.in[SPLIT_TRAIN].src, OPT_STRING_MAX, "%s",
             BINARY_FILE("nul.src", "a\nb\0c d\n"));
    expect_failure(&o, S2S_EFORMAT, "nul.src:2", "NUL byte");

    defaults(&o);
    snprintf(o.in[SPLIT_TRAIN].tsv, OPT_STRING_MAX, "%s",
             BINARY_FILE("nul.tsv", "a\tx\nb\ty\0\n"));
    expect_failure(&o, S2S_EFORMAT, "nul.tsv:2", "NUL byte");

    defaults(&o);
    set_train(&o, "a\n", "x\n");
    snprintf(o.src_vocab, OPT_STRING_MAX, "%s",
             BINARY_FILE("nul.vocab", "<pad>\n<unk>\n<s>\n</s>\nw\0v\n"));
    expect_failure(&o, S2S_EFORMAT, "nul.vocab:5", "NUL byte");
}

/* A line longer than a dataset sentence may be (DS_SENTENCE_MAX) is refused naming the line,
 * before anything is written, unless --max-len drops or cuts it. */
Test(prep, a_sentence_beyond_the_dataset_bound)
{
    size_t n = 2 * (DS_SENTENCE_MAX + 1) + 16;
    char *src = malloc(n);
    cr_assert(src);
    size_t at = (size_t)sprintf(src, "a b\n");
    for (int i = 0; i <= DS_SENTENCE_MAX; i++)
        at += (size_t)sprintf(src + at, i ? " w" : "w");
    sprintf(src + at, "\n");
    prep_options o;
    defaults(&o);
    set_train(&o, src, "x\ny\n");
    expect_failure(&o, S2S_ERANGE, "train.src:2: 65537 tokens", "--max-len");
    o.max_len = 100;
    cr_assert_eq(run(&o, NULL), 0, "%s", s2s_errmsg(-1));
    free(src);
}

/* Reads dir/name whole (NULL if absent). */
static char *contents(const char *name, size_t *n)
{
    char p[256];
    return scratch_read(scratch_path(p, sizeof p, dir, name), n);
}

/* --out that is one of the inputs, by any path, is refused before anything is read or written;
 * the input stays byte for byte. */
Test(prep, out_must_not_be_an_input)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a b\n", "x y\n");
    char p[256], link[256];
    size_t n0;
    char *before = contents("train.src", &n0);
    const char *outs[3];
    outs[0] = o.in[SPLIT_TRAIN].src;                                  /* the same path */
    snprintf(p, sizeof p, "%s/./train.src", dir);                     /* another path */
    outs[1] = p;
    scratch_path(link, sizeof link, dir, "link.h5");                  /* a symbolic link */
    cr_assert_eq(symlink(o.in[SPLIT_TRAIN].src, link), 0);
    outs[2] = link;
    for (int k = 0; k < 3; k++) {
        snprintf(o.out, sizeof o.out, "%s", outs[k]);
        expect_failure(&o, S2S_EUSAGE, "--out", "the same file as --train-src");
        size_t n;
        char *after = contents("train.src", &n);
        cr_expect(after && n == n0 && memcmp(after, before, n) == 0, "train.src intact");
        free(after);
    }
    /* The target side, a validation file and a --src-vocab: named by their options. */
    snprintf(o.out, sizeof o.out, "%s", o.in[SPLIT_TRAIN].tgt);
    expect_failure(&o, S2S_EUSAGE, "--out", "--train-tgt");
    defaults(&o);
    set_train(&o, "a b\n", "x y\n");
    snprintf(o.in[SPLIT_VALID].tsv, OPT_STRING_MAX, "%s", file("v.tsv", "a\tx\n"));
    snprintf(o.out, sizeof o.out, "%s", o.in[SPLIT_VALID].tsv);
    expect_failure(&o, S2S_EUSAGE, "--out", "--valid-tsv");
    /* A vocabulary written beside the dataset over an input. */
    defaults(&o);
    snprintf(o.in[SPLIT_TRAIN].src, OPT_STRING_MAX, "%s", file("d.tgt.vocab", "a b\n"));
    snprintf(o.in[SPLIT_TRAIN].tgt, OPT_STRING_MAX, "%s", file("t.tgt", "x y\n"));
    scratch_path(o.out, sizeof o.out, dir, "d.h5");
    expect_failure(&o, S2S_EUSAGE, "writes the vocabulary", "--train-src");

    /* Outputs that do not exist yet, and rewriting the vocabulary a run reuses, are fine. */
    defaults(&o);
    set_train(&o, "a b\n", "x y\n");
    cr_assert_eq(run(&o, NULL), 0, "%s", s2s_errmsg(-1));
    scratch_path(o.src_vocab, sizeof o.src_vocab, dir, "data.src.vocab");
    cr_assert_eq(run(&o, NULL), 0, "the same side's vocabulary: %s", s2s_errmsg(-1));
    free(before);
}

Test(prep, a_failed_run_keeps_the_previous_dataset)
{
    prep_options o;
    defaults(&o);
    set_train(&o, "a b\n", "x y\n");
    cr_assert_eq(run(&o, NULL), 0, "%s", s2s_errmsg(-1));
    size_t n_before;
    char *before = scratch_read(o.out, &n_before);
    set_train(&o, "a b\nc\n", "x y\n");
    expect_failure(&o, S2S_EFORMAT, "different line counts", NULL);
    size_t n_after;
    char *after = scratch_read(o.out, &n_after);
    cr_assert_not_null(after);
    cr_expect(n_before == n_after && memcmp(before, after, n_before) == 0,
              "the dataset of the earlier run is byte for byte intact");
    free(before);
    free(after);
}
