/* prep.c - `s2s prep`: reading parallel text, tokenizing, building vocabularies, filtering and
 * writing an HDF5 dataset, with a report of what was kept and dropped and why. */
#define _GNU_SOURCE /* qsort_r */
#include "s2s/prep.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/dataset.h"
#include "s2s/fsutil.h"
#include "s2s/json.h"
#include "s2s/hash.h"
#include "s2s/rng.h"
#include "s2s/status.h"
#include "s2s/timer.h"
#include "s2s/tokens.h"

const char *const long_policy_names[] = {LONG_CHOICES(CHOICE_NAME) NULL};
const char *const carve_kind_names[] = {CARVE_CHOICES(CHOICE_NAME) NULL};
const char *const spm_train_names[] = {SPM_TRAIN_CHOICES(CHOICE_NAME) NULL};

/* ---- reading pairs ----------------------------------------------------------------------- */

typedef struct {
    FILE *src, *tgt;   /* tgt NULL for a tab-separated file in src */
    const char *src_path, *tgt_path;
    char *line_s, *line_t;
    size_t cap_s, cap_t;
    long line;         /* 1-based number of the last line read */
    uint32_t crc_s, crc_t;
} pair_reader;

static uint32_t crc32_update(uint32_t crc, const char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void reader_close(pair_reader *r)
{
    if (r->src)
        fclose(r->src);
    if (r->tgt)
        fclose(r->tgt);
    free(r->line_s);
    free(r->line_t);
    memset(r, 0, sizeof *r);
}

/* Opens either two parallel files or one tab-separated file. */
static int reader_open(pair_reader *r, const prep_input *in)
{
    memset(r, 0, sizeof *r);
    r->src_path = in->tsv[0] ? in->tsv : in->src;
    r->tgt_path = in->tsv[0] ? NULL : in->tgt;
    if (!(r->src = fopen(r->src_path, "r")))
        return s2s_fail(S2S_EIO, "%s: cannot open: %s", r->src_path, strerror(errno));
    if (r->tgt_path && !(r->tgt = fopen(r->tgt_path, "r"))) {
        int rc = s2s_fail(S2S_EIO, "%s: cannot open: %s", r->tgt_path, strerror(errno));
        reader_close(r);
        return rc;
    }
    return 0;
}

/* Strips the line end; checks that the line is text (no NUL byte, valid UTF-8). */
static int clean_line(char *s, ssize_t n, const char *path, long line)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    const char *problem = text_line_problem(s, (size_t)n);
    if (problem)
        return s2s_fail(S2S_EFORMAT, "%s:%ld: %s", path, line, problem);
    return 0;
}

/* Next pair: 1 and *src, *tgt set; 0 at the end of both inputs; negative on error. */
static int reader_next(pair_reader *r, char **src, char **tgt)
{
    ssize_t ns = getline(&r->line_s, &r->cap_s, r->src);
    ssize_t nt = r->tgt ? getline(&r->line_t, &r->cap_t, r->tgt) : 0;
    if (ferror(r->src) || (r->tgt && ferror(r->tgt)))
        return s2s_fail(S2S_EIO, "%s: read error", ferror(r->src) ? r->src_path : r->tgt_path);
    if (ns < 0 && (!r->tgt || nt < 0))
        return 0;
    r->line++;
    if (r->tgt && (ns < 0) != (nt < 0))
        return s2s_fail(S2S_EFORMAT, "%s and %s have different line counts: %s ends at line %ld",
                        r->src_path, r->tgt_path, ns < 0 ? r->src_path : r->tgt_path,
                        r->line - 1);
    r->crc_s = crc32_update(r->crc_s, r->line_s, (size_t)ns);
    int rc = clean_line(r->line_s, ns, r->src_path, r->line);
    if (rc < 0)
        return rc;
    if (r->tgt) {
        r->crc_t = crc32_update(r->crc_t, r->line_t, (size_t)nt);
        if ((rc = clean_line(r->line_t, nt, r->tgt_path, r->line)) < 0)
            return rc;
        *src = r->line_s;
        *tgt = r->line_t;
        return 1;
    }
    char *tab = strchr(r->line_s, '\t');
    if (!tab || strchr(tab + 1, '\t'))
        return s2s_fail(S2S_EFORMAT, "%s:%ld: expected exactly one tab between source and target",
                        r->src_path, r->line);
    *tab = '\0';
    *src = r->line_s;
    *tgt = tab + 1;
    return 1;
}

/* ---- the preparation ----------------------------------------------------------------------- */

enum { SIDE_SRC = 0, SIDE_TGT = 1 };
static const char *const SIDE_NAME[2] = {"src", "tgt"};

typedef struct {
    const prep_options *o;
    vocab voc[2];             /* voc[1] unused when the vocabulary is shared */
    vocab *v[2];              /* the vocabulary of each side */
    uint8_t *carve;           /* [train_lines] split + 1 of each training line, CARVE_UNUSED for
                               * one --train-size leaves out; 0 or NULL: train */
    uint64_t *src_hash;       /* [train_lines] of each source line, for the carve-out */
    long hash_cap;
    long train_lines;
    long counted;             /* training pairs kept by the counting pass */
    uint32_t crc[SPLIT_COUNT][2]; /* of each input file, from its first reading */
    bool crc_known[SPLIT_COUNT];
    ds_writer *w;
    prep_report rep;
    token_list tok[2];
    int32_t *ids;             /* one side's ids */
    int ids_cap;
    /* --tokenizer sentencepiece: the models (bytes[1] none when joint), loaded; what they are,
     * and how many sentences each training read (0: the model came from a file) */
    spm_models spm;
    spm_model *spm_proc[2];   /* [1] NULL when joint */
    spm_info spm_about[2];
    const char *spm_file[2];  /* the file a model was read from; NULL: trained */
    long spm_sentences[2];
    double spm_seconds[2];
} prep_ctx;

/* The SentencePiece model that tokenizes side s (NULL for the other tokenizers). */
static const spm_model *side_spm(const prep_ctx *c, int s)
{
    return c->spm_proc[s] ? c->spm_proc[s] : c->spm_proc[0];
}

static bool input_given(const prep_input *in)
{
    return in->tsv[0] || in->src[0] || in->tgt[0];
}

static int check_input(const prep_input *in, const char *split)
{
    if (in->tsv[0] && (in->src[0] || in->tgt[0]))
        return s2s_fail(S2S_EUSAGE, "--%s-tsv and --%s-src/--%s-tgt exclude each other", split,
                        split, split);
    if (!in->tsv[0] && (!in->src[0] != !in->tgt[0]))
        return s2s_fail(S2S_EUSAGE, "--%s-%s is missing (give both sides, or --%s-tsv)", split,
                        in->src[0] ? "tgt" : "src", split);
    return 0;
}

static int check_options(const prep_options *o)
{
    int rc;
    for (int s = 0; s < SPLIT_COUNT; s++)
        if ((rc = check_input(&o->in[s], split_name((split_id)s))) < 0)
            return rc;
    if (!input_given(&o->in[SPLIT_TRAIN]))
        return s2s_fail(S2S_EUSAGE, "no training data: give --train-src and --train-tgt, or "
                                    "--train-tsv");
    if (!o->out[0])
        return s2s_fail(S2S_EUSAGE, "--out is missing");
    if (input_given(&o->in[SPLIT_VALID]) && o->valid_size > 0)
        return s2s_fail(S2S_EUSAGE, "--valid-size carves validation data out of the training "
                                    "data; it cannot be combined with validation files");
    if (input_given(&o->in[SPLIT_TEST]) && o->test_size > 0)
        return s2s_fail(S2S_EUSAGE, "--test-size carves test data out of the training data; it "
                                    "cannot be combined with test files");
    if (o->max_vocab > 0 && o->max_vocab <= TOK_FIRST_WORD)
        return s2s_fail(S2S_EUSAGE, "--max-vocab %d leaves no room for words beside the %d "
                                    "reserved tokens", o->max_vocab, TOK_FIRST_WORD);
    if (o->shared_vocab && (o->src_vocab[0] || o->tgt_vocab[0]) &&
        strcmp(o->src_vocab, o->tgt_vocab) != 0)
        return s2s_fail(S2S_EUSAGE, "--shared-vocab needs one vocabulary: give the same file as "
                                    "--src-vocab and --tgt-vocab, or neither");
    bool spm_files = o->spm_model[0] || o->spm_src_model[0] || o->spm_tgt_model[0];
    if (spm_files && o->tokenizer != TOK_SPM)
        return s2s_fail(S2S_EUSAGE, "--spm-model, --spm-src-model and --spm-tgt-model need "
                                    "--tokenizer sentencepiece");
    if (o->spm_model[0] && (o->spm_src_model[0] || o->spm_tgt_model[0]))
        return s2s_fail(S2S_EUSAGE, "--spm-model gives one model for both sides: it excludes "
                                    "--spm-src-model and --spm-tgt-model");
    if (!o->spm_src_model[0] != !o->spm_tgt_model[0])
        return s2s_fail(S2S_EUSAGE, "--spm-%s-model is missing (give a model for each side, or "
                        "one for both with --spm-model)", o->spm_src_model[0] ? "tgt" : "src");
    if (o->max_ratio != 0 && o->max_ratio < 1)
        return s2s_fail(S2S_EUSAGE, "--max-ratio must be at least 1 (or 0: off), got %g",
                        o->max_ratio);
    return 0;
}

#define CARVE_UNUSED (SPLIT_COUNT + 1) /* carve[] of a line --train-size leaves out */

/* Whether the training input needs a carve (held-out pairs or a sample of it). */
static bool carving(const prep_options *o)
{
    return o->valid_size + o->test_size > 0 || o->train_size > 0;
}

static int cmp_by_hash(const void *x, const void *y, void *ctx)
{
    const uint64_t *h = ctx;
    long a = *(const long *)x, b = *(const long *)y;
    if (h[a] != h[b])
        return h[a] < h[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Units by their first line: ctx is {by_src, start}. */
static int cmp_by_first(const void *x, const void *y, void *ctx)
{
    const long *const *g = ctx;
    long a = g[0][g[1][*(const long *)x]], b = g[0][g[1][*(const long *)y]];
    return a < b ? -1 : a > b;
}

/* Chooses the split of every training line. Units are single lines (--carve-by line) or all
 * the lines of one source sentence (source); they are shuffled by Fisher-Yates from (seed,
 * RNG_PREP) in the order of their first lines, so the choice depends on the seed and the
 * input's source lines only. In that order units go to validation until valid_size pairs are
 * reached, then to test, then (with train_size) to training until train_size, and the rest is
 * left out; a unit of several pairs can pass a size by less than its own size. */
static int carve_out(prep_ctx *c)
{
    const prep_options *o = c->o;
    long k = o->valid_size + o->test_size, n = c->train_lines;
    if (!carving(o))
        return 0;
    if (k >= n)
        return s2s_fail(S2S_EUSAGE, "%s: --valid-size %ld + --test-size %ld leave no training "
                        "data out of %ld lines", o->in[SPLIT_TRAIN].tsv[0] ?
                        o->in[SPLIT_TRAIN].tsv : o->in[SPLIT_TRAIN].src, o->valid_size,
                        o->test_size, n);
    long *by_src = malloc((size_t)n * sizeof *by_src), *start = malloc((size_t)(n + 1) *
                                                                        sizeof *start);
    long *unit = malloc((size_t)n * sizeof *unit), units = 0;
    c->carve = calloc((size_t)n, 1);
    int rc = 0;
    if (!by_src || !start || !unit || !c->carve) {
        rc = s2s_fail(S2S_ENOMEM, "prep: cannot mark %ld lines", n);
        goto done;
    }
    /* Lines grouped by source text, each group in line order: by_src[start[u] .. start[u+1]). */
    for (long i = 0; i < n; i++)
        by_src[i] = i;
    qsort_r(by_src, (size_t)n, sizeof *by_src, cmp_by_hash, c->src_hash);
    for (long i = 0; i < n; i++)
        if (o->carve_by == CARVE_LINE || i == 0 ||
            c->src_hash[by_src[i]] != c->src_hash[by_src[i - 1]])
            start[units++] = i;
    start[units] = n;
    /* Units in the order of their first lines (by_src's groups are in hash order). */
    for (long u = 0; u < units; u++)
        unit[u] = u;
    const long *groups[2] = {by_src, start};
    qsort_r(unit, (size_t)units, sizeof *unit, cmp_by_first, (void *)groups);
    rng_stream r;
    rng_stream_init(&r, o->seed, RNG_PREP, 0, 0, 0);
    for (long j = units - 1; j > 0; j--) {
        /* A 64-bit draw (rng_below is 32-bit); its modulo bias is below 2^-24 for any n < 2^40. */
        long x = (long)(((uint64_t)rng_u32(&r) << 32 | rng_u32(&r)) % (uint64_t)(j + 1));
        long t = unit[j];
        unit[j] = unit[x];
        unit[x] = t;
    }
    long filled[SPLIT_COUNT] = {0};
    for (long q = 0; q < units; q++) {
        long u = unit[q], size = start[u + 1] - start[u];
        int mark = filled[SPLIT_VALID] < o->valid_size  ? SPLIT_VALID + 1
                   : filled[SPLIT_TEST] < o->test_size ? SPLIT_TEST + 1
                   : o->train_size > 0 && filled[SPLIT_TRAIN] >= o->train_size ? CARVE_UNUSED
                                                                             : 0;
        if (mark != CARVE_UNUSED)
            filled[mark ? mark - 1 : SPLIT_TRAIN] += size;
        for (long i = start[u]; i < start[u + 1]; i++)
            c->carve[by_src[i]] = (uint8_t)mark;
    }
    if (filled[SPLIT_TRAIN] == 0) {
        rc = s2s_fail(S2S_EUSAGE, "%s: the carve-out by source leaves no training data out of "
                      "%ld lines (%ld distinct sources)", o->in[SPLIT_TRAIN].tsv[0] ?
                      o->in[SPLIT_TRAIN].tsv : o->in[SPLIT_TRAIN].src, n, units);
        goto done;
    }
    /* Held-out pairs carved by line whose source sentence also has a training pair. */
    for (long i = 0, g = 0; i < n; i = g) {
        bool train = false;
        long held = 0;
        for (g = i; g < n && c->src_hash[by_src[g]] == c->src_hash[by_src[i]]; g++) {
            uint8_t m = c->carve[by_src[g]];
            train |= m == 0;
            held += m == SPLIT_VALID + 1 || m == SPLIT_TEST + 1;
        }
        if (train)
            c->rep.shared_src += held;
    }
done:
    free(by_src);
    free(start);
    free(unit);
    free(c->src_hash);
    c->src_hash = NULL;
    return rc;
}

/* Which split a line of the training input goes to. */
static split_id line_split(const prep_ctx *c, long line)
{
    /* Lines beyond the counted ones only exist if the file grew: the checksum reports that. */
    return c->carve && line < c->train_lines && c->carve[line] ? (split_id)(c->carve[line] - 1)
                                                               : SPLIT_TRAIN;
}

typedef enum { KEEP, DROP_EMPTY, DROP_LONG, DROP_RATIO } verdict;

/* The filters, on the token counts; may shorten them (truncation). Training split only but for
 * empty sides. */
static verdict filter(const prep_options *o, split_id split, int len[2], bool *truncated)
{
    *truncated = false;
    if (len[0] == 0 || len[1] == 0)
        return DROP_EMPTY;
    if (split != SPLIT_TRAIN)
        return KEEP;
    if (o->max_len > 0 && (len[0] > o->max_len || len[1] > o->max_len)) {
        if (o->long_policy == LONG_DROP)
            return DROP_LONG;
        for (int s = 0; s < 2; s++)
            len[s] = len[s] > o->max_len ? o->max_len : len[s];
        *truncated = true;
    }
    if (o->max_ratio > 0) {
        int lo = len[0] < len[1] ? len[0] : len[1], hi = len[0] ^ len[1] ^ lo;
        if (hi > o->max_ratio * lo)
            return DROP_RATIO;
    }
    return KEEP;
}

static void count_verdict(prep_split_report *r, verdict v, bool truncated)
{
    r->read++;
    r->kept += v == KEEP;
    r->empty += v == DROP_EMPTY;
    r->too_long += v == DROP_LONG;
    r->ratio += v == DROP_RATIO;
    r->truncated += truncated;
}

static int ensure_ids(prep_ctx *c, int n)
{
    if (n <= c->ids_cap)
        return 0;
    int32_t *p = realloc(c->ids, (size_t)n * sizeof *p);
    if (!p)
        return s2s_fail(S2S_ENOMEM, "prep: cannot hold a sentence of %d tokens", n);
    c->ids = p;
    c->ids_cap = n;
    return 0;
}

typedef enum {
    PASS_LINES, /* read and check only: line count and checksum */
    PASS_COUNT, /* token frequencies of the kept training pairs, into the vocabularies built */
    PASS_WRITE, /* every kept pair into its split of the dataset */
} pass_kind;

/* The end of a reading of input through r: a file without lines is an error; the first reading
 * keeps the line count and the checksums, every later one must find them again. */
static int reading_done(prep_ctx *c, split_id input, const pair_reader *r)
{
    if (r->line == 0)
        return s2s_fail(S2S_EFORMAT, "%s: empty file (no sentence pairs)", r->src_path);
    if (input == SPLIT_TRAIN)
        c->train_lines = r->line;
    if (!c->crc_known[input]) {
        c->crc[input][0] = r->crc_s;
        c->crc[input][1] = r->crc_t;
        c->crc_known[input] = true;
    } else if (c->crc[input][0] != r->crc_s || c->crc[input][1] != r->crc_t) {
        return s2s_fail(S2S_EIO, "%s: the file changed while s2s prep was reading it",
                        r->src_path);
    }
    return 0;
}

/* One pass over one input. Every pass checksums the file and compares with the first reading,
 * so an input that changes while s2s prep reads it is an error rather than a silently
 * inconsistent dataset. */
/* PASS_LINES: the hash of training line `line`'s source text, for carve_out. */
static int keep_source_hash(prep_ctx *c, long line, const char *src)
{
    if (line >= c->hash_cap) {
        long cap = c->hash_cap ? 2 * c->hash_cap : 1 << 16;
        uint64_t *h = realloc(c->src_hash, (size_t)cap * sizeof *h);
        if (!h)
            return s2s_fail(S2S_ENOMEM, "prep: source hashes of %ld lines", cap);
        c->src_hash = h;
        c->hash_cap = cap;
    }
    c->src_hash[line] = hash64(0, src, strlen(src));
    return 0;
}

static int pass(prep_ctx *c, split_id input, pass_kind kind)
{
    const prep_options *o = c->o;
    pair_reader r;
    int rc = reader_open(&r, &o->in[input]);
    if (rc < 0)
        return rc;
    char *text[2];
    while ((rc = reader_next(&r, &text[0], &text[1])) > 0) {
        split_id split = input == SPLIT_TRAIN ? line_split(c, r.line - 1) : input;
        if (kind == PASS_LINES) {
            if ((rc = keep_source_hash(c, r.line - 1, text[0])) < 0)
                goto done;
            continue;
        }
        if (split == SPLIT_COUNT) { /* left out by --train-size */
            c->rep.unused += kind == PASS_WRITE;
            continue;
        }
        if (kind == PASS_COUNT && split != SPLIT_TRAIN)
            continue;
        int len[2];
        for (int s = 0; s < 2; s++) {
            if ((rc = tokenize(o->tokenizer, o->lowercase, side_spm(c, s), text[s],
                               &c->tok[s])) < 0)
                goto done;
            len[s] = c->tok[s].n;
        }
        bool truncated;
        verdict v = filter(o, split, len, &truncated);
        if (kind == PASS_WRITE)
            count_verdict(&c->rep.split[split], v, truncated);
        if (v != KEEP)
            continue;
        for (int s = 0; s < 2; s++)
            if (len[s] > DS_SENTENCE_MAX) { /* the dataset reader would refuse the file */
                rc = s2s_fail(S2S_ERANGE, "%s:%ld: %d tokens, more than the %d a dataset "
                              "sentence may hold: give --max-len to drop such pairs (or "
                              "--long truncate to cut them)",
                              s == 0 || !r.tgt_path ? r.src_path : r.tgt_path, (long)r.line,
                              len[s], DS_SENTENCE_MAX);
                goto done;
            }
        if (kind == PASS_COUNT) {
            c->counted++;
            for (int s = 0; s < 2; s++)
                for (int i = 0; c->v[s]->size == 0 && i < len[s]; i++) /* size 0: being built */
                    if (!vocab_count(c->v[s], c->tok[s].tok[i], 1)) {
                        rc = s2s_fail(S2S_ENOMEM, "prep: vocabulary of %zu tokens",
                                      c->v[s]->map.n);
                        goto done;
                    }
            continue;
        }
        if ((rc = ensure_ids(c, len[0] + len[1])) < 0)
            goto done;
        int32_t *ids[2] = {c->ids, c->ids + len[0]};
        prep_split_report *rep = &c->rep.split[split];
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < len[s]; i++) {
                ids[s][i] = vocab_id(c->v[s], c->tok[s].tok[i]);
                rep->unk[s] += ids[s][i] == TOK_UNK;
            }
            rep->tokens[s] += len[s];
        }
        if ((rc = dsw_add(c->w, split, ids[0], len[0], ids[1], len[1])) < 0)
            goto done;
    }
    if (rc == 0)
        rc = reading_done(c, input, &r);
done:
    reader_close(&r);
    return rc;
}

/* ---- the files beside the dataset --------------------------------------------------------- */

/* What prep writes beside the dataset: the two vocabularies, then the SentencePiece models (one
 * joint model, or one per side). Each is <stem>.<suffix>, the stem being --out without its
 * .h5/.hdf5 suffix. A file may be the input it was read from (--src-vocab, --spm-model, ...):
 * it is rewritten with what was read from it. */
enum { BESIDE_MAX = 4 };
typedef struct {
    int n;
    char path[BESIDE_MAX][4096], tmp[BESIDE_MAX][4096];
    const char *input[BESIDE_MAX]; /* the option's value that may be the same file, or NULL */
} beside_files;

static void beside_path(const char *out, const char *suffix, char *buf, size_t n)
{
    size_t len = strlen(out);
    const char *suffixes[] = {".h5", ".hdf5"};
    for (int k = 0; k < 2; k++) {
        size_t sl = strlen(suffixes[k]);
        if (len > sl && strcmp(out + len - sl, suffixes[k]) == 0) {
            len -= sl;
            break;
        }
    }
    snprintf(buf, n, "%.*s.%s", (int)len, out, suffix);
}

/* Whether the SentencePiece models are one joint model: one file for both sides, or trained
 * joint. */
static bool spm_joint(const prep_options *o)
{
    return o->spm_model[0] || (!o->spm_src_model[0] && o->spm_train == SPM_TRAIN_JOINT);
}

/* The files of o, in the order above. */
static void beside_plan(const prep_options *o, beside_files *b)
{
    memset(b, 0, sizeof *b);
    for (int side = 0; side < 2; side++, b->n++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "%s.vocab", SIDE_NAME[side]);
        beside_path(o->out, suffix, b->path[b->n], sizeof b->path[b->n]);
        b->input[b->n] = side ? o->tgt_vocab : o->src_vocab;
    }
    if (o->tokenizer != TOK_SPM)
        return;
    if (spm_joint(o)) {
        beside_path(o->out, "spm.model", b->path[b->n], sizeof b->path[b->n]);
        b->input[b->n++] = o->spm_model;
        return;
    }
    for (int side = 0; side < 2; side++, b->n++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "%s.spm.model", SIDE_NAME[side]);
        beside_path(o->out, suffix, b->path[b->n], sizeof b->path[b->n]);
        b->input[b->n] = side ? o->spm_tgt_model : o->spm_src_model;
    }
}

/* Whether a and b name one existing file, through whatever paths, hard or symbolic links. */
static bool same_file(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Outputs replace their paths only at the end, so an output that is also an input would be
 * read in full and then overwritten: refused before anything is read, but for a file beside
 * the dataset that is its own input (beside_files). */
static int check_outputs(const prep_options *o)
{
    enum { N_INPUTS = 3 * SPLIT_COUNT + 5 };
    char names[N_INPUTS][32];
    const char *inputs[N_INPUTS];
    int n = 0;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const char *kinds[3] = {"src", "tgt", "tsv"};
        const char *paths[3] = {o->in[s].src, o->in[s].tgt, o->in[s].tsv};
        for (int k = 0; k < 3; k++, n++) {
            snprintf(names[n], sizeof names[n], "--%s-%s", split_name((split_id)s), kinds[k]);
            inputs[n] = paths[k];
        }
    }
    const char *more[5][2] = {{"--src-vocab", o->src_vocab}, {"--tgt-vocab", o->tgt_vocab},
                              {"--spm-model", o->spm_model}, {"--spm-src-model", o->spm_src_model},
                              {"--spm-tgt-model", o->spm_tgt_model}};
    for (int k = 0; k < 5; k++, n++) {
        snprintf(names[n], sizeof names[n], "%s", more[k][0]);
        inputs[n] = more[k][1];
    }
    beside_files b;
    beside_plan(o, &b);
    for (int k = 0; k <= b.n; k++) {
        const char *output = k == 0 ? o->out : b.path[k - 1];
        for (int i = 0; i < n; i++) {
            if (!inputs[i][0] || (k > 0 && inputs[i] == b.input[k - 1]) ||
                !same_file(output, inputs[i]))
                continue;
            if (k == 0)
                return s2s_fail(S2S_EUSAGE, "--out %s is the same file as %s %s: s2s prep would "
                                "overwrite its input", o->out, names[i], inputs[i]);
            return s2s_fail(S2S_EUSAGE, "--out %s writes the %s %s, the same file as %s %s: "
                            "s2s prep would overwrite its input", o->out,
                            k <= 2 ? "vocabulary" : "SentencePiece model", output, names[i],
                            inputs[i]);
        }
    }
    return 0;
}

/* A temporary file for path that fs_commit later renames into place, open for writing. */
static int open_temp(const char *path, char *tmp, size_t n, FILE **f)
{
    int fd = fs_create_temp(path, tmp, n);
    if (fd < 0)
        return s2s_fail(S2S_EIO, "%s: cannot create: %s", path, strerror(errno));
    if (!(*f = fdopen(fd, "w"))) {
        close(fd);
        unlink(tmp);
        return s2s_fail(S2S_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    return 0;
}

/* Closes a file of open_temp after `ok` writes, synced; removes it on any failure. */
static int close_temp(FILE *f, const char *tmp, bool ok)
{
    ok = ok && !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        unlink(tmp);
        return s2s_fail(S2S_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    return 0;
}

/* The vocabulary as text, one token per line (id order), under a temporary name. */
static int write_vocab_text(const vocab *v, const char *path, char *tmp, size_t n)
{
    FILE *f;
    int rc = open_temp(path, tmp, n, &f);
    if (rc < 0)
        return rc;
    for (int i = 0; i < v->size; i++)
        fprintf(f, "%s\n", v->by_id[i]);
    return close_temp(f, tmp, true);
}

/* A SentencePiece model as the .model file spm_train writes (its serialized bytes). */
static int write_model_file(const unsigned char *bytes, size_t size, const char *path, char *tmp,
                            size_t n)
{
    FILE *f;
    int rc = open_temp(path, tmp, n, &f);
    if (rc < 0)
        return rc;
    return close_temp(f, tmp, fwrite(bytes, 1, size, f) == size);
}

/* ---- SentencePiece -------------------------------------------------------------------------- */

/* The training text of one model as spm_train's sentences: the training split's lines (the
 * carved-out ones skipped) of one side, or of both (a pair's source, then its target),
 * lowercased with --lowercase. The reading is checked as every pass is (reading_done). */
typedef struct {
    prep_ctx *c;
    pair_reader r;
    int side;      /* 0, 1; 2: both */
    char *pending; /* both: the target of the pair whose source went out last */
    long sentences;
} spm_feed;

static int spm_feed_next(void *ctx, const char **text, size_t *len)
{
    spm_feed *f = ctx;
    if (f->pending) {
        *text = f->pending;
        f->pending = NULL;
    } else {
        char *t[2];
        int rc;
        while ((rc = reader_next(&f->r, &t[0], &t[1])) > 0 &&
               line_split(f->c, f->r.line - 1) != SPLIT_TRAIN)
            ;
        if (rc <= 0)
            return rc < 0 ? rc : reading_done(f->c, SPLIT_TRAIN, &f->r);
        if (f->c->o->lowercase) {
            text_lowercase(t[0]);
            text_lowercase(t[1]);
        }
        *text = t[f->side == 2 ? 0 : f->side];
        f->pending = f->side == 2 ? t[1] : NULL;
    }
    *len = strlen(*text);
    f->sentences++;
    return 1;
}

/* Trains model `slot` (0: the source's or the joint one, 1: the target's) on side's text (2:
 * both). */
static int train_spm(prep_ctx *c, int slot, int side)
{
    const prep_options *o = c->o;
    spm_feed f = {.c = c, .side = side};
    int rc = reader_open(&f.r, &o->in[SPLIT_TRAIN]);
    if (rc < 0)
        return rc;
    char what[OPT_STRING_MAX + 64];
    snprintf(what, sizeof what, "%s: the %s SentencePiece model", o->out,
             side == 2 ? "joint" : side ? "target" : "source");
    spm_train_options so = {.type = (spm_type)o->spm_type, .vocab_size = o->spm_vocab_size,
                            .coverage = o->spm_coverage, .sentences = o->spm_sentences,
                            .seed = o->seed, .threads = o->spm_threads};
    rc = spm_train(&so, spm_feed_next, &f, what, &c->spm.bytes[slot], &c->spm.n[slot]);
    c->spm_sentences[slot] = f.sentences;
    reader_close(&f.r);
    return rc;
}

/* The models, trained or read from their files, loaded and described. */
static int prepare_spm(prep_ctx *c)
{
    const prep_options *o = c->o;
    const char *files[2] = {o->spm_model[0] ? o->spm_model : o->spm_src_model, o->spm_tgt_model};
    bool joint = spm_joint(o);
    int rc = 0;
    for (int slot = 0; slot < (joint ? 1 : 2) && rc == 0; slot++) {
        double t0 = wall_seconds();
        char *bytes = NULL;
        if (!files[slot][0]) {
            rc = train_spm(c, slot, joint ? 2 : slot);
        } else if ((rc = fs_read_file(files[slot], &bytes, &c->spm.n[slot])) == 0) {
            c->spm.bytes[slot] = (unsigned char *)bytes;
            c->spm_file[slot] = files[slot];
        }
        c->spm_seconds[slot] = wall_seconds() - t0;
    }
    for (int slot = 0; slot < (joint ? 1 : 2) && rc == 0; slot++) {
        char what[OPT_STRING_MAX + 64];
        if (c->spm_file[slot])
            snprintf(what, sizeof what, "%s", c->spm_file[slot]);
        else
            snprintf(what, sizeof what, "%s: the trained model", o->out);
        if ((rc = spm_load(&c->spm_proc[slot], c->spm.bytes[slot], c->spm.n[slot], what)) == 0)
            rc = spm_describe(c->spm.bytes[slot], c->spm.n[slot], what, &c->spm_about[slot]);
    }
    return rc;
}

static const char *input_name(const prep_input *in, int side)
{
    return in->tsv[0] ? in->tsv : side == 0 ? in->src : in->tgt;
}

/* Attributes that say where the data came from and what was done to it. */
static int set_attrs(prep_ctx *c)
{
    const prep_options *o = c->o;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return s2s_fail(S2S_ENOMEM, "prep: attributes");
    /* inputs: one line per file with its CRC-32 (as computed by zlib's crc32 or `rhash`). */
    for (int s = 0; s < SPLIT_COUNT; s++)
        for (int side = 0; side < (o->in[s].tsv[0] ? 1 : 2); side++)
            if (c->crc_known[s])
                fprintf(f, "%s.%s %s crc32=%08x\n", split_name((split_id)s),
                        o->in[s].tsv[0] ? "tsv" : SIDE_NAME[side], input_name(&o->in[s], side),
                        c->crc[s][side]);
    fclose(f);
    int rc = dsw_set_attr(c->w, "inputs", buf);
    free(buf);
    if (rc < 0)
        return rc;
    if (o->config_text && (rc = dsw_set_attr(c->w, "options", o->config_text)) < 0)
        return rc;
    if (!(f = open_memstream(&buf, &size)))
        return s2s_fail(S2S_ENOMEM, "prep: attributes");
    /* Spaced as docs/formats.md shows it. */
    json_writer j;
    json_writer_init(&j, f, JSON_SPACED);
    json_open_object(&j);
    json_key(&j, "vocab");
    json_open_object(&j);
    json_kint(&j, "src", c->rep.vocab[0]);
    json_kint(&j, "tgt", c->rep.vocab[1]);
    json_close_object(&j);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const prep_split_report *r = &c->rep.split[s];
        json_key(&j, split_name((split_id)s));
        json_open_object(&j);
        json_kint(&j, "read", r->read);
        json_kint(&j, "kept", r->kept);
        json_kint(&j, "empty", r->empty);
        json_kint(&j, "too_long", r->too_long);
        json_kint(&j, "truncated", r->truncated);
        json_kint(&j, "ratio", r->ratio);
        json_kint(&j, "src_tokens", r->tokens[0]);
        json_kint(&j, "tgt_tokens", r->tokens[1]);
        json_kint(&j, "src_unk", r->unk[0]);
        json_kint(&j, "tgt_unk", r->unk[1]);
        json_close_object(&j);
    }
    json_close_object(&j);
    fclose(f);
    if ((rc = json_writer_end(&j)) == 0)
        rc = dsw_set_attr(c->w, "report", buf);
    free(buf);
    return rc;
}

static double percent(long part, long whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_report(const prep_ctx *c, FILE *log, const beside_files *b)
{
    const prep_options *o = c->o;
    fprintf(log, "%-6s %10s %10s %8s %9s %10s %8s %12s %7s %12s %7s\n", "split", "read", "kept",
            "empty", "too long", "truncated", "ratio", "src tokens", "unk", "tgt tokens", "unk");
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const prep_split_report *r = &c->rep.split[s];
        fprintf(log, "%-6s %10ld %10ld %8ld %9ld %10ld %8ld %12ld %6.2f%% %12ld %6.2f%%\n",
                split_name((split_id)s), r->read, r->kept, r->empty, r->too_long, r->truncated,
                r->ratio, r->tokens[0], percent(r->unk[0], r->tokens[0]), r->tokens[1],
                percent(r->unk[1], r->tokens[1]));
    }
    if (c->rep.unused > 0)
        fprintf(log, "train: %ld of the input's pairs left out (--train-size %ld)\n",
                c->rep.unused, o->train_size);
    fprintf(log, "vocabulary: source %d, target %d tokens (with 4 reserved)%s\n", c->rep.vocab[0],
            c->rep.vocab[1], o->shared_vocab ? ", shared" : "");
    for (int slot = 0; o->tokenizer == TOK_SPM && slot < 2 && c->spm.n[slot]; slot++) {
        const spm_info *in = &c->spm_about[slot];
        fprintf(log, "sentencepiece: %s %s model, %d pieces, ",
                c->spm.n[1] ? SIDE_NAME[slot] : "joint", in->type, in->pieces);
        if (c->spm_file[slot])
            fprintf(log, "from %s\n", c->spm_file[slot]);
        else
            fprintf(log, "trained on %ld sentences in %.1f s\n", c->spm_sentences[slot],
                    c->spm_seconds[slot]);
    }
    fprintf(log, "wrote %s", o->out);
    for (int k = 0; k < b->n; k++)
        fprintf(log, ", %s", b->path[k]);
    fputc('\n', log);
}

/* Warnings on stderr about data the run is unlikely to learn well from, with the figures: a
 * vocabulary large for the training text, a carve-out that takes much of the data, held-out
 * text the vocabulary misses, held-out sources also found in training. */
static void warn_about_data(const prep_ctx *c)
{
    const prep_options *o = c->o;
    const prep_report *r = &c->rep;
    const prep_split_report *tr = &r->split[SPLIT_TRAIN];
    /* Below ~10 occurrences per entry most embeddings and output rows see too few examples:
     * a vocabulary of 8000 on 5000 sentences gives about 6. */
    for (int s = 0; s < (o->shared_vocab ? 1 : 2); s++) {
        long tokens = o->shared_vocab ? tr->tokens[0] + tr->tokens[1] : tr->tokens[s];
        long entries = r->vocab[s] - TOK_FIRST_WORD;
        if (entries > 0 && tokens < 10 * entries)
            fprintf(stderr, "prep: warning: the %svocabulary has %ld entries for %ld training "
                    "tokens (%.1f per entry): most are seen too rarely to learn; a smaller "
                    "vocabulary (--spm-vocab-size, --max-vocab, --min-freq) suits this data\n",
                    o->shared_vocab ? "" : s ? "target " : "source ", entries, tokens,
                    (double)tokens / (double)entries);
    }
    long held = o->valid_size + o->test_size, n = c->train_lines;
    if (held > 0 && 5 * held > n)
        fprintf(stderr, "prep: warning: --valid-size %ld and --test-size %ld take %.0f%% of the "
                "%ld input pairs, leaving %ld for training\n", o->valid_size, o->test_size,
                percent(held, n), n, tr->kept);
    for (int s = SPLIT_VALID; s < SPLIT_COUNT; s++)
        for (int side = 0; side < 2; side++)
            if (percent(r->split[s].unk[side], r->split[s].tokens[side]) > 5)
                fprintf(stderr, "prep: warning: %.1f%% of the %s split's %s tokens are <unk>: "
                        "the vocabulary, from %ld training pairs, misses many of its words\n",
                        percent(r->split[s].unk[side], r->split[s].tokens[side]),
                        split_name((split_id)s), SIDE_NAME[side], tr->kept);
    if (r->shared_src > 0)
        fprintf(stderr, "prep: warning: %ld of the %ld carved-out pairs have a source sentence "
                "that also occurs in the training split (--carve-by source keeps them apart)\n",
                r->shared_src, held);
}

static int all_dropped(const prep_ctx *c)
{
    return s2s_fail(S2S_EINVAL, "%s: the filters dropped all %ld training pairs (see --max-len, "
                    "--max-ratio; empty lines are always dropped)",
                    input_name(&c->o->in[SPLIT_TRAIN], 0),
                    c->train_lines - c->o->valid_size - c->o->test_size);
}

/* Whether the dataset can be written where --out says, tried with the temporary file the writer
 * will create: a missing or read-only directory is reported before the input is read and a
 * SentencePiece model trained, not after. */
static int check_out_dir(const prep_options *o)
{
    char tmp[4096];
    int fd = fs_create_temp(o->out, tmp, sizeof tmp);
    if (fd < 0)
        return s2s_fail(S2S_EIO, "%s: cannot create a temporary file in its directory: %s",
                        o->out, strerror(errno));
    close(fd);
    unlink(tmp);
    return 0;
}

int prep_run(const prep_options *o, FILE *log, prep_report *rep)
{
    prep_ctx c = {.o = o};
    beside_files b;
    int rc = check_options(o);
    if (rc < 0 || (rc = check_outputs(o)) < 0 || (rc = check_out_dir(o)) < 0)
        return rc;
    beside_plan(o, &b);
    c.v[0] = &c.voc[0];
    c.v[1] = o->shared_vocab ? &c.voc[0] : &c.voc[1];
    if (o->src_vocab[0] && (rc = vocab_load(c.v[0], o->src_vocab)) < 0)
        goto fail;
    if (o->tgt_vocab[0] && c.v[1]->size == 0 && (rc = vocab_load(c.v[1], o->tgt_vocab)) < 0)
        goto fail;
    /* The carve-out needs the line count before anything else is read. */
    if (carving(o) &&
        ((rc = pass(&c, SPLIT_TRAIN, PASS_LINES)) < 0 || (rc = carve_out(&c)) < 0))
        goto fail;
    /* The tokenizer's models before the first tokenization. */
    if (o->tokenizer == TOK_SPM && (rc = prepare_spm(&c)) < 0)
        goto fail;
    if (c.v[0]->size == 0 || c.v[1]->size == 0) {
        if ((rc = pass(&c, SPLIT_TRAIN, PASS_COUNT)) < 0)
            goto fail;
        if (c.counted == 0) {
            rc = all_dropped(&c);
            goto fail;
        }
        for (int s = 0; s < 2; s++) {
            if (c.v[s]->size > 0)
                continue;
            if ((rc = vocab_build(c.v[s], o->min_freq, o->max_vocab)) < 0)
                goto fail;
            if (c.v[s]->size == TOK_FIRST_WORD) {
                rc = s2s_fail(S2S_EINVAL, "prep: no%s token of the training data occurs %d "
                              "times (--min-freq)", o->shared_vocab ? "" : s ? " target" :
                              " source", o->min_freq);
                goto fail;
            }
        }
    }
    for (int s = 0; s < 2; s++)
        c.rep.vocab[s] = c.v[s]->size;

    if ((rc = dsw_open(&c.w, o->out)) < 0)
        goto fail;
    for (int s = 0; s < 2; s++)
        if ((rc = dsw_set_vocab(c.w, SIDE_NAME[s], (const char *const *)c.v[s]->by_id,
                                c.v[s]->size)) < 0)
            goto fail;
    if (o->tokenizer == TOK_SPM && (rc = dsw_set_spm(c.w, &c.spm)) < 0)
        goto fail;
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (input_given(&o->in[s]) && (rc = pass(&c, (split_id)s, PASS_WRITE)) < 0)
            goto fail;
    if (c.rep.split[SPLIT_TRAIN].kept == 0) {
        rc = all_dropped(&c);
        goto fail;
    }
    if ((rc = set_attrs(&c)) < 0)
        goto fail;
    /* The files beside the dataset are complete before it is committed, and renamed after. */
    for (int k = 0; k < b.n; k++) {
        rc = k < 2 ? write_vocab_text(c.v[k], b.path[k], b.tmp[k], sizeof b.tmp[k])
                   : write_model_file(c.spm.bytes[k - 2], c.spm.n[k - 2], b.path[k], b.tmp[k],
                                      sizeof b.tmp[k]);
        if (rc < 0)
            goto fail;
    }
    rc = dsw_close(c.w);
    c.w = NULL;
    if (rc < 0)
        goto fail;
    for (int k = 0; k < b.n; k++) {
        if ((rc = fs_commit(b.tmp[k], b.path[k])) < 0)
            goto fail;
        b.tmp[k][0] = '\0';
    }
    if (log) { /* the command's run: its report, and the warnings on stderr */
        print_report(&c, log, &b);
        warn_about_data(&c);
    }
    if (rep)
        *rep = c.rep;
fail:
    dsw_abort(c.w);
    for (int k = 0; k < b.n; k++)
        if (b.tmp[k][0])
            unlink(b.tmp[k]);
    for (int s = 0; s < 2; s++) {
        vocab_free(&c.voc[s]);
        tokens_free(&c.tok[s]);
        spm_free(c.spm_proc[s]);
    }
    spm_models_free(&c.spm);
    free(c.carve);
    free(c.src_hash);
    free(c.ids);
    return rc;
}
