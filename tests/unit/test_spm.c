/* test_spm.c - SentencePiece inside s2s (include/s2s/spm.h, src/data/spm.cc; the /spm group of
 * include/s2s/spm_store.h): training on generated text gives the same model bytes every time,
 * also after other trainings in the same process, with and without a sample of the sentences;
 * text goes to pieces and back (through spm.h and through the tokenizer and
 * detokenizer of vocab.h); bad model bytes, bad options and a failing sentence source are
 * errors with messages, not crashes; the models survive a dataset file; the warning about input
 * that is not tokenized as the training data was fires where it should and only there. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/dataset.h"
#include "s2s/rng.h"
#include "s2s/spm.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/trained.h"
#include "s2s/vocab.h"
#include "scratch.h"

/* ---- generated text ------------------------------------------------------------------------ */

static const char *const WORDS[] = {
    "the",    "a",      "small",   "dogs",   "see",    "cat",      "cats",   "runs",
    "quickly", "under",  "bridge",  "river",  "green",  "houses",   "walked", "towards",
    "singer", "singers", "bright", "morning", "evening", "thousand", "hundred", "seventy",
    "kisses", "strange", "forgets", "chairs", "eagle",  "eagles",   "market", "soldier"};
enum { N_WORDS = sizeof WORDS / sizeof WORDS[0], N_SENTENCES = 1500 };

/* Sentence i: 3 to 10 words drawn from (seed 5, RNG_TEST, i), first word capitalized every
 * third sentence (the model keeps case). */
static void sentence(long i, char *buf, size_t n)
{
    rng_stream r;
    rng_stream_init(&r, 5, RNG_TEST, 0, (uint32_t)i, 0);
    int len = 3 + (int)rng_below(&r, 8);
    size_t at = 0;
    for (int k = 0; k < len; k++) {
        const char *w = WORDS[rng_below(&r, N_WORDS)];
        at += (size_t)snprintf(buf + at, n - at, "%s%s", k ? " " : "", w);
    }
    if (i % 3 == 0)
        buf[0] = (char)(buf[0] - 'a' + 'A');
}

typedef struct {
    long next, count, fail_at; /* fail_at: the call that fails (-1: none) */
    char buf[256];
} feed;

static int feed_next(void *ctx, const char **text, size_t *len)
{
    feed *f = ctx;
    if (f->next == f->fail_at)
        return s2s_fail(S2S_EIO, "corpus.txt:%ld: read error (made up)", f->next + 1);
    if (f->next >= f->count)
        return 0;
    sentence(f->next++, f->buf, sizeof f->buf);
    *text = f->buf;
    *len = strlen(f->buf);
    return 1;
}

static spm_train_options options(spm_type type, long sample, unsigned seed)
{
    return (spm_train_options){.type = type, .vocab_size = 80, .coverage = 1.0,
                               .sentences = sample, .seed = seed, .threads = 1};
}

static void train(const spm_train_options *o, unsigned char **bytes, size_t *n)
{
    feed f = {.count = N_SENTENCES, .fail_at = -1};
    int rc = spm_train(o, feed_next, &f, "test", bytes, n);
    cr_assert_eq(rc, 0, "training: %s", s2s_errmsg(rc));
    cr_assert_gt(*n, 0);
}

static bool same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* ---- training ------------------------------------------------------------------------------ */

Test(spm, training_is_deterministic)
{
    /* A sample of 600 of the 1500 sentences (drawn at random), a training on all of them in
     * between, then the sample again: the same bytes. */
    spm_train_options o1 = options(SPM_UNIGRAM, 600, 1), o2 = options(SPM_UNIGRAM, 0, 1);
    unsigned char *a, *b, *c, *d;
    size_t na, nb, nc, nd;
    train(&o1, &a, &na);
    train(&o2, &b, &nb);
    train(&o1, &c, &nc);
    cr_expect(same_bytes(a, na, c, nc), "the same training twice in one process: %zu and %zu "
              "bytes, or the same size and other bytes", na, nc);
    cr_expect(!same_bytes(a, na, b, nb), "the sample is a sample: another model than all "
              "sentences give");
    /* Without a sample (every sentence), BPE too. */
    spm_train_options ob = options(SPM_BPE, 0, 7);
    train(&ob, &d, &nd);
    unsigned char *e;
    size_t ne;
    train(&ob, &e, &ne);
    cr_expect(same_bytes(d, nd, e, ne), "BPE on all sentences, twice");
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

Test(spm, describe_gives_type_and_pieces)
{
    const spm_type types[2] = {SPM_UNIGRAM, SPM_BPE};
    for (int k = 0; k < 2; k++) {
        spm_train_options o = options(types[k], 0, 1);
        unsigned char *m;
        size_t n;
        train(&o, &m, &n);
        spm_info info;
        cr_assert_eq(spm_describe(m, n, "test", &info), 0, "%s", s2s_errmsg(S2S_EFORMAT));
        cr_expect_str_eq(info.type, spm_type_names[types[k]]);
        cr_expect(info.pieces > 20 && info.pieces <= 80, "%d pieces, at most the 80 asked for",
                  info.pieces);
        cr_expect_float_eq(info.coverage, 1.0, 1e-6);
        free(m);
    }
}

Test(spm, bad_options_and_a_failing_source_are_errors)
{
    unsigned char *m = (unsigned char *)"x";
    size_t n = 1;
    spm_train_options o = options(SPM_UNIGRAM, 0, 1);
    o.vocab_size = 4;
    feed f = {.count = N_SENTENCES, .fail_at = -1};
    cr_expect_eq(spm_train(&o, feed_next, &f, "test", &m, &n), S2S_EINVAL);
    cr_expect(m == NULL && n == 0, "no model after a failure");
    o = options(SPM_UNIGRAM, 0, 1);
    o.threads = 0;
    cr_expect_eq(spm_train(&o, feed_next, &f, "test", &m, &n), S2S_EINVAL);
    /* The source's failure comes back with its status and message, from the training thread. */
    o = options(SPM_UNIGRAM, 0, 1);
    f = (feed){.count = N_SENTENCES, .fail_at = 40};
    cr_assert_eq(spm_train(&o, feed_next, &f, "data.h5: the joint model", &m, &n), S2S_EIO);
    cr_expect(strstr(s2s_errmsg(S2S_EIO), "corpus.txt:41: read error") &&
                  strstr(s2s_errmsg(S2S_EIO), "data.h5: the joint model"),
              "%s", s2s_errmsg(S2S_EIO));
    cr_expect(m == NULL);
    /* No sentences at all. */
    f = (feed){.count = 0, .fail_at = -1};
    cr_expect_lt(spm_train(&o, feed_next, &f, "empty", &m, &n), 0);
    cr_expect(m == NULL);
}

/* ---- encoding and decoding ----------------------------------------------------------------- */

static spm_model *test_model(void)
{
    spm_train_options o = options(SPM_UNIGRAM, 0, 1);
    unsigned char *bytes;
    size_t n;
    train(&o, &bytes, &n);
    spm_model *m;
    int rc = spm_load(&m, bytes, n, "test");
    free(bytes);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    return m;
}

/* text -> pieces -> text: `want` back. */
static void round_trip(const spm_model *m, const char *text, const char *want)
{
    char *buf = NULL, *out = NULL;
    size_t cap = 0, ocap = 0;
    int n;
    cr_assert_eq(spm_encode(m, text, strlen(text), &buf, &cap, &n), 0);
    const char **pieces = malloc((size_t)(n ? n : 1) * sizeof *pieces);
    const char *p = buf;
    for (int i = 0; i < n; i++, p += strlen(p) + 1)
        pieces[i] = p;
    long len = spm_decode(m, pieces, n, &out, &ocap);
    cr_assert_geq(len, 0);
    cr_expect_str_eq(out, want, "'%s': %d pieces back to '%s'", text, n, out);
    cr_expect_eq((size_t)len, strlen(out));
    free(pieces);
    free(buf);
    free(out);
}

Test(spm, text_to_pieces_and_back)
{
    spm_model *m = test_model();
    round_trip(m, "The small dogs see a cat", "The small dogs see a cat");
    round_trip(m, "singers walked towards the bright river", "singers walked towards the bright river");
    /* Words the text never had, split into smaller pieces and glued back. */
    round_trip(m, "greenhouses seventeen", "greenhouses seventeen");
    /* Characters outside the model come out as themselves (their surface). */
    round_trip(m, "the \xD0\xB6 cat", "the \xD0\xB6 cat");
    /* SentencePiece's normalization: runs of spaces are one, the ends trimmed. */
    round_trip(m, "  the   cat  ", "the cat");
    round_trip(m, "", "");
    spm_free(m);
}

Test(spm, unknown_pieces_decode_without_markers)
{
    spm_model *m = test_model();
    /* A piece the model does not know (in s2s's vocabulary from a model trained elsewhere, say)
     * is written as it is, its markers as spaces: no U+2581 in the text. */
    const char *pieces[] = {"\xE2\x96\x81the", "\xE2\x96\x81zq\xE2\x96\x81xw", "\xE2\x96\x81" "cat"};
    char *out = NULL;
    size_t cap = 0;
    cr_assert_geq(spm_decode(m, pieces, 3, &out, &cap), 0);
    cr_expect(!strstr(out, "\xE2\x96\x81"), "no marker left: '%s'", out);
    cr_expect(strstr(out, "the") == out && strstr(out, "zq xw") && strstr(out, "cat"), "'%s'", out);
    free(out);
    spm_free(m);
}

Test(spm, tokenizer_and_detokenizer_of_vocab_h)
{
    spm_model *m = test_model();
    token_list t = {0};
    char line[] = "The SMALL dogs";
    cr_assert_eq(tokenize(TOK_SPM, true, m, line, &t), 0);
    cr_assert_gt(t.n, 2);
    bool marked = false;
    for (int i = 0; i < t.n; i++) {
        cr_expect(!strchr(t.tok[i], ' '), "piece '%s' without spaces", t.tok[i]);
        marked |= token_marked(t.tok[i]);
    }
    cr_expect(marked, "word pieces carry the marker");
    char *buf = NULL;
    size_t cap = 0;
    cr_assert_geq(detokenize(DETOK_SPM, m, (const char *const *)t.tok, t.n, &buf, &cap), 0);
    cr_expect_str_eq(buf, "the small dogs", "lowercased (ASCII), then pieces, then text");
    cr_expect(detokenize(DETOK_PIECES, NULL, (const char *const *)t.tok, t.n, &buf, &cap) >= 0 &&
                  !strcmp(buf, "the small dogs"),
              "the pieces detokenizer agrees on plain pieces");
    /* sentencepiece without a model is an error, not a crash */
    char again[] = "the cat";
    cr_expect_eq(tokenize(TOK_SPM, false, NULL, again, &t), S2S_EINVAL);
    cr_expect_eq(detokenize(DETOK_SPM, NULL, (const char *const *)t.tok, 0, &buf, &cap),
                 S2S_EINVAL);
    free(buf);
    tokens_free(&t);
    spm_free(m);
}

Test(spm, bad_model_bytes_are_refused)
{
    spm_model *m = (spm_model *)1;
    const char garbage[] = "this is not a model at all";
    cr_expect_eq(spm_load(&m, garbage, sizeof garbage - 1, "x.model"), S2S_EFORMAT);
    cr_expect(m == NULL);
    cr_expect(strstr(s2s_errmsg(S2S_EFORMAT), "x.model: not a SentencePiece model"), "%s",
              s2s_errmsg(S2S_EFORMAT));
    cr_expect_eq(spm_load(&m, "", 0, "empty.model"), S2S_EFORMAT, "no bytes: no model");
    spm_info info;
    cr_expect_eq(spm_describe(garbage, sizeof garbage - 1, "x", &info), S2S_EFORMAT);
    /* A real model cut short, and one with a byte changed in its first field's length. */
    spm_train_options o = options(SPM_UNIGRAM, 0, 1);
    unsigned char *bytes;
    size_t n;
    train(&o, &bytes, &n);
    for (size_t cut = 1; cut < n; cut += n / 7)
        if (spm_load(&m, bytes, cut, "cut.model") == 0) {
            /* a prefix can be a whole message; then it must still work as a model */
            int k;
            char *buf = NULL;
            size_t cap = 0;
            cr_expect_eq(spm_encode(m, "the cat", 7, &buf, &cap, &k), 0);
            free(buf);
            spm_free(m);
        }
    bytes[1] ^= 0x7f;
    if (spm_load(&m, bytes, n, "flipped.model") == 0)
        spm_free(m);
    free(bytes);
}

/* ---- the models in a dataset file ---------------------------------------------------------- */

static char dir[64];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "spm"), 0);
}

static void teardown(void)
{
    scratch_remove(dir);
}

/* A dataset of one pair with the models m; read back into *d. */
static void dataset_with(const spm_models *m, const char *name, dataset **d)
{
    char path[128];
    scratch_path(path, sizeof path, dir, name);
    static const char *const tokens[] = {"<pad>", "<unk>", "<s>", "</s>", "\xE2\x96\x81" "cat"};
    int32_t ids[1] = {4};
    ds_writer *w;
    cr_assert_eq(dsw_open(&w, path), 0);
    cr_assert_eq(dsw_set_vocab(w, "src", tokens, 5), 0);
    cr_assert_eq(dsw_set_vocab(w, "tgt", tokens, 5), 0);
    if (m)
        cr_assert_eq(dsw_set_spm(w, m), 0);
    cr_assert_eq(dsw_add(w, SPLIT_TRAIN, ids, 1, ids, 1), 0);
    cr_assert_eq(dsw_close(w), 0, "%s", s2s_errmsg(S2S_EIO));
    int rc = ds_open(d, path);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
}

Test(spm, models_survive_a_dataset, .init = setup, .fini = teardown)
{
    unsigned char src[] = "source model bytes \x00\x01\xff", tgt[] = "target \x00 model";
    spm_models separate = {{src, tgt}, {sizeof src, sizeof tgt}};
    spm_models joint = {{src, NULL}, {sizeof src, 0}};
    dataset *d;
    size_t n;
    dataset_with(&separate, "separate.h5", &d);
    const spm_models *got = ds_spm(d);
    cr_expect(same_bytes(got->bytes[0], got->n[0], src, sizeof src), "source model");
    cr_expect(same_bytes(got->bytes[1], got->n[1], tgt, sizeof tgt), "target model");
    cr_expect(spm_models_side(got, 1, &n) == got->bytes[1] && n == sizeof tgt);
    ds_close(d);
    dataset_with(&joint, "joint.h5", &d);
    got = ds_spm(d);
    cr_expect(got->n[1] == 0 && same_bytes(got->bytes[0], got->n[0], src, sizeof src),
              "one joint model, stored once");
    cr_expect(spm_models_side(got, 1, &n) == got->bytes[0] && n == sizeof src,
              "the joint model serves the target side");
    ds_close(d);
    dataset_with(NULL, "none.h5", &d);
    cr_expect(ds_spm(d)->n[0] == 0 && spm_models_side(ds_spm(d), 0, &n) == NULL && n == 0,
              "a dataset without models has none");
    ds_close(d);
    /* a target model alone is refused by the writer */
    spm_models tgt_only = {{NULL, tgt}, {0, sizeof tgt}};
    char path[128];
    ds_writer *w;
    cr_assert_eq(dsw_open(&w, scratch_path(path, sizeof path, dir, "bad.h5")), 0);
    cr_expect_eq(dsw_set_spm(w, &tgt_only), S2S_EINVAL);
    dsw_abort(w);
}

/* ---- the warning about input that is not tokenized as the training data was ------------------ */

/* A model of the whitespace tokenizer whose source vocabulary is pieces (`marked`) or words. */
static void model_with_vocab(trained_model *tm, tokenizer_kind kind, bool marked)
{
    memset(tm, 0, sizeof *tm);
    tm->tokenizer = kind;
    static const char *const words[] = {"cat", "dog", "s", "see"};
    for (int i = 0; i < TOK_FIRST_WORD; i++)
        cr_assert_eq(vocab_append(&tm->src, vocab_reserved[i], "test"), 0);
    for (int i = 0; i < 4; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "%s%s", marked && i != 2 ? "\xE2\x96\x81" : "", words[i]);
        cr_assert_eq(vocab_append(&tm->src, tok, "test"), 0);
    }
}

Test(spm, input_warnings)
{
    trained_model tm;
    char line[512];
    model_with_vocab(&tm, TOK_WHITESPACE, true);
    input_stats none = {0}, raw = {.tokens = 50, .unk = 4, .marked = 0},
                encoded = {.tokens = 50, .unk = 4, .marked = 30},
                mostly_unk = {.tokens = 50, .unk = 15, .marked = 30},
                few_unk = {.tokens = 50, .unk = 10, .marked = 30};
    cr_expect(!input_warning(&tm, &none, "translate", line, sizeof line), "no input: no warning");
    cr_assert(input_warning(&tm, &raw, "translate", line, sizeof line));
    cr_expect_str_eq(line, "translate: 0% of input tokens carry SentencePiece's \xE2\x96\x81 marker "
                     "(0 of 50), but the model's source vocabulary is made of such pieces: is "
                     "the input encoded as the training data was?");
    cr_expect(!input_warning(&tm, &encoded, "translate", line, sizeof line), "encoded: %s", line);
    cr_assert(input_warning(&tm, &mostly_unk, "eval", line, sizeof line));
    cr_expect_str_eq(line, "eval: 30% of input tokens are <unk> (15 of 50): is the input "
                     "tokenized as the training data was?");
    cr_expect(!input_warning(&tm, &few_unk, "eval", line, sizeof line), "20%% is not above it");
    trained_free(&tm);
    /* A plain vocabulary, or SentencePiece inside: no marker expected from the input. */
    model_with_vocab(&tm, TOK_WHITESPACE, false);
    cr_expect(!input_warning(&tm, &raw, "translate", line, sizeof line), "%s", line);
    trained_free(&tm);
    model_with_vocab(&tm, TOK_SPM, true);
    cr_expect(!input_warning(&tm, &raw, "translate", line, sizeof line), "%s", line);
    /* Counting from ids alone (a dataset split) takes the markers from the vocabulary. */
    input_stats s = {0};
    const int32_t ids[4] = {4, 6, TOK_UNK, 7};
    input_stats_add(&s, &tm, NULL, ids, 4);
    cr_expect(s.tokens == 4 && s.unk == 1 && s.marked == 2, "%ld tokens, %ld <unk>, %ld marked",
              s.tokens, s.unk, s.marked);
    trained_free(&tm);
}
