/* translate.c - `s2s translate`: reading source text, decoding it with a checkpoint on one or
 * many ranks, and writing detokenized translations, n-best lists and attention weights. */
#include "s2s/translate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "store/paramfile_io.h"
#include "s2s/blas.h"
#include "s2s/comm.h"
#include "s2s/decode.h"
#include "s2s/formats.h"
#include "s2s/fsutil.h"
#include "s2s/h5util.h"
#include "s2s/line_stream.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/trained.h"
#include "s2s/trained_ensemble.h"

const char *const stream_mode_names[] = {STREAM_CHOICES(CHOICE_NAME) NULL};

/* ---- input: read on rank 0, shared with every rank ----------------------------------------- */

/* Rank 0's n bytes at src (n < 0: rank 0 failed with status rc) into every rank's *buf
 * (grown to *cap, NUL after the bytes); *n_out the count. Elsewhere a failure of rank 0 is
 * S2S_EPEER. */
static int share_bytes(MPI_Comm comm, int rank, int rc, const char *src, long long n,
                       char **buf, size_t *cap, size_t *n_out)
{
    if (MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "translate: MPI_Bcast failed");
    if (n < 0)
        return rank == 0 ? rc : S2S_EPEER;
    if ((size_t)n + 1 > *cap) {
        char *b = realloc(*buf, (size_t)n + 1);
        if (!b) /* the others wait in the next broadcast: every rank has the same size to fail */
            return s2s_fail(S2S_ENOMEM, "translate: %lld bytes of input", n);
        *buf = b;
        *cap = (size_t)n + 1;
    }
    if (rank == 0 && n > 0)
        memcpy(*buf, src, (size_t)n);
    if (n > 0 && MPI_Bcast(*buf, (int)n, MPI_CHAR, 0, comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "translate: MPI_Bcast failed");
    (*buf)[n] = '\0';
    *n_out = (size_t)n;
    return 0;
}

/* The whole input: rank 0 reads the file (or stdin to its end); every rank gets the text. */
static int share_input(const char *path, MPI_Comm comm, int rank, char **text, size_t *cap,
                       size_t *size)
{
    char *mine = NULL;
    size_t n = 0;
    int rc = 0;
    if (rank == 0 && (rc = fs_read_text(path, &mine, &n)) == 0 && n > INT_MAX)
        rc = s2s_fail(S2S_ERANGE, "%s: %zu bytes of input (at most 2 GiB)", path, n);
    rc = share_bytes(comm, rank, rc, mine, rank == 0 && rc == 0 ? (long long)n : -1, text, cap,
                     size);
    free(mine);
    return rc;
}

/* ---- the sentences ------------------------------------------------------------------------ */

typedef struct {
    int n;
    int32_t **ids;   /* [n] source ids */
    int *len;        /* [n] */
    char **tokens;   /* [n] rank 0: the source tokens, NUL-separated (for <unk> and attention) */
} sources;

static void sources_free(sources *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->ids[i]);
        if (s->tokens)
            free(s->tokens[i]);
    }
    free(s->ids);
    free(s->len);
    free(s->tokens);
    memset(s, 0, sizeof *s);
}

/* Splits the text into lines (in place) and tokenizes each; keep_tokens: also their text. */
static int make_sources(const trained_model *tm, char *text, size_t size, bool keep_tokens,
                        const char *name, long first, sources *s, input_stats *st)
{
    memset(s, 0, sizeof *s);
    char **lines = NULL;
    int n = 0, rc = text_lines(text, size, name, first, &lines, &n);
    if (rc < 0)
        return rc;
    s->ids = calloc((size_t)(n ? n : 1), sizeof *s->ids);
    s->len = calloc((size_t)(n ? n : 1), sizeof *s->len);
    s->tokens = keep_tokens ? calloc((size_t)(n ? n : 1), sizeof *s->tokens) : NULL;
    if (!s->ids || !s->len || (keep_tokens && !s->tokens)) {
        free(lines);
        return s2s_fail(S2S_ENOMEM, "translate: %d sentences", n);
    }
    s->n = n;
    token_list tok = {0};
    for (int i = 0; i < n && rc == 0; i++) {
        int cap = 0;
        if ((rc = trained_encode(tm, lines[i], &tok, &s->ids[i], &cap, &s->len[i], st)) < 0 ||
            !keep_tokens)
            continue;
        size_t bytes = 1;
        for (int k = 0; k < tok.n; k++)
            bytes += strlen(tok.tok[k]) + 1;
        char *p = s->tokens[i] = malloc(bytes);
        if (!p) {
            rc = s2s_fail(S2S_ENOMEM, "translate: tokens of line %ld", first + i);
            break;
        }
        for (int k = 0; k < tok.n; k++)
            p = stpcpy(p, tok.tok[k]) + 1;
    }
    tokens_free(&tok);
    free(lines);
    return rc;
}

/* The k-th token of a NUL-separated list. */
static const char *nth_token(const char *list, int k)
{
    while (k-- > 0)
        list += strlen(list) + 1;
    return list;
}

/* ---- output -------------------------------------------------------------------------------- */

/* Target token texts of a hypothesis; <unk> replaced by the most-attended source token when
 * asked (and attention is there). */
static void hyp_tokens(const trained_model *tm, const beam_hyp *h, const char *src_tokens,
                       int src_len, bool replace_unk, const char **out)
{
    for (int t = 0; t < h->len; t++) {
        out[t] = tm->tgt.by_id[h->ids[t]];
        if (h->ids[t] == TOK_UNK && replace_unk && h->attn && src_tokens) {
            const float *row = h->attn + (size_t)t * src_len;
            int best = 0;
            for (int j = 1; j < src_len; j++)
                if (row[j] > row[best])
                    best = j;
            out[t] = nth_token(src_tokens, best);
        }
    }
}

typedef struct {
    const trained_model *tm;
    const sources *src;
    const decode_results *res;
} attn_file;

/* /00000000 ... one group per sentence: weights [target, source], source and target tokens,
 * score; an empty source gets an empty group (no datasets) to keep the numbering. */
static int write_strings(hid_t g, const char *name, const char *const *s, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL), type = h5u_string_type(), d = -1;
    int rc = 0;
    if (space < 0 || type < 0 ||
        (d = H5Dcreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (n > 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0))
        rc = -1;
    if (d >= 0)
        H5Dclose(d);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int build_attention(hid_t file, void *ctx)
{
    const attn_file *a = ctx;
    const decode_results *res = a->res;
    if (h5u_write_string_attr(file, "format", ATTN_FORMAT) < 0 ||
        h5u_write_int_attr(file, "version", H5T_STD_I32LE, ATTN_VERSION) < 0 ||
        h5u_write_int_attr(file, "count", H5T_STD_I64LE, res->n) < 0)
        return h5u_fail(S2S_EIO, "attention file: cannot write the root attributes");
    const char **src = NULL, **tgt = NULL;
    int rc = 0;
    for (int i = 0; i < res->n && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof name, "%08d", i);
        hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0)
            return h5u_fail(S2S_EIO, "attention file: cannot create /%s", name);
        const beam_hyp *h = &res->hyps[(size_t)i * res->nbest];
        int S = a->src->len[i];
        if (res->nhyp[i] > 0 && h->attn) {
            int rows = h->len + h->finished;
            free(src);
            free(tgt);
            src = malloc((size_t)(S ? S : 1) * sizeof *src);
            tgt = malloc((size_t)(rows ? rows : 1) * sizeof *tgt);
            if (!src || !tgt) {
                H5Gclose(g);
                rc = s2s_fail(S2S_ENOMEM, "attention file: sentence %d", i);
                break;
            }
            for (int j = 0; j < S; j++)
                src[j] = nth_token(a->src->tokens[i], j);
            hyp_tokens(a->tm, h, NULL, S, false, tgt);
            if (h->finished)
                tgt[h->len] = "</s>";
            hsize_t dims[2] = {(hsize_t)rows, (hsize_t)S};
            hid_t space = H5Screate_simple(2, dims, NULL), d = -1;
            if (space < 0 ||
                (d = H5Dcreate2(g, "weights", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT)) < 0 ||
                H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, h->attn) < 0 ||
                write_strings(g, "source", src, S) < 0 || write_strings(g, "target", tgt, rows) < 0)
                rc = h5u_fail(S2S_EIO, "attention file: cannot write /%s", name);
            double score = h->score;
            if (rc == 0 &&
                h5u_write_num_attr(g, "score", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &score) < 0)
                rc = h5u_fail(S2S_EIO, "attention file: cannot write /%s score", name);
            if (d >= 0)
                H5Dclose(d);
            if (space >= 0)
                H5Sclose(space);
        }
        H5Gclose(g);
    }
    free(src);
    free(tgt);
    return rc;
}

/* Rank 0: the translations of s (sentences numbered from `first` in n-best lines) to f. */
static int write_output(const translate_options *o, const trained_model *tm, const sources *s,
                        const decode_results *res, detok_kind dk, long first, FILE *f)
{
    int max_len = 1;
    for (int i = 0; i < res->n; i++)
        for (int k = 0; k < res->nhyp[i]; k++)
            if (res->hyps[(size_t)i * res->nbest + k].len > max_len)
                max_len = res->hyps[(size_t)i * res->nbest + k].len;
    const char **tok = malloc((size_t)max_len * sizeof *tok);
    char *text = NULL;
    size_t cap = 0;
    int rc = tok ? 0 : s2s_fail(S2S_ENOMEM, "translate: output of %d tokens", max_len);
    for (int i = 0; i < res->n && rc == 0; i++) {
        int shown = res->nhyp[i] ? res->nhyp[i] : 1; /* an empty source: one empty line */
        for (int k = 0; k < shown && rc == 0; k++) {
            const beam_hyp *h = res->nhyp[i] ? &res->hyps[(size_t)i * res->nbest + k] : NULL;
            int n = h ? h->len : 0;
            if (h)
                hyp_tokens(tm, h, s->tokens ? s->tokens[i] : NULL, s->len[i], o->replace_unk,
                           tok);
            long len = detokenize(dk, trained_spm(tm, 1), tok, n, &text, &cap);
            if (len < 0) {
                rc = (int)len;
                break;
            }
            double score = h ? h->score : 0;
            if (o->nbest > 1)
                fprintf(f, "%ld ||| %s ||| %.6f\n", first + i, text, score);
            else if (o->scores)
                fprintf(f, "%s\t%.6f\n", text, score);
            else
                fprintf(f, "%s\n", text);
        }
    }
    free(tok);
    free(text);
    /* Flushed every time: streamed translations leave as soon as they are done. */
    if ((fflush(f) != 0 || ferror(f)) && rc == 0)
        rc = s2s_fail(S2S_EIO, "%s: write error: %s", o->output, strerror(errno));
    return rc;
}

static int check_options(const translate_options *o, const trained_model *tm)
{
    if (o->checkpoint.n == 0)
        return s2s_fail(S2S_EUSAGE, "--checkpoint is required");
    if (o->nbest > o->beam)
        return s2s_fail(S2S_EUSAGE, "--nbest %d exceeds --beam %d", o->nbest, o->beam);
    if (o->stream == STREAM_ON && o->attention[0])
        return s2s_fail(S2S_EUSAGE, "--attention writes one file for the whole input: it needs "
                        "--stream off (or auto, which reads a regular file whole)");
    /* An ensemble's attention weights are its first model's (include/s2s/decode.h). */
    if (tm && tm->cfg.attn == ATTN_NONE && (o->replace_unk || o->attention[0]))
        return s2s_fail(S2S_EUSAGE, "%s: %s needs a model with attention (this one has none%s)",
                        tm->path, o->replace_unk ? "--replace-unk" : "--attention",
                        o->checkpoint.n > 1 ? "; an ensemble uses its first model's" : "");
    return 0;
}

/* ---- the run: the whole input at once, or chunk by chunk as lines come ---------------------- */

typedef struct {
    const translate_options *o;
    trained_ensemble *ens;
    trained_model *tm; /* the first model: vocabularies, tokenizer */
    MPI_Comm comm;
    int rank, size;
    const char *name; /* of the input, for messages */
    detok_kind dk;
    FILE *out;        /* rank 0 */
    long lines;       /* translated so far */
    long tokens;      /* in their 1-best translations */
    input_stats in;   /* of the source lines so far */
    bool judged;      /* whether they were checked (input_warning: once) */
    progress *prog;   /* rank 0, a whole input: the display on stderr (NULL: none) */
} translator;

/* The source tokens read so far are checked once (input_warning), when there are enough of them
 * to tell (a streamed input's first chunks may be single lines) or at the end of the input. */
#define JUDGE_TOKENS 20

static void judge_input(translator *t, bool at_end)
{
    char line[512];
    if (t->judged || (!at_end && t->in.tokens < JUDGE_TOKENS))
        return;
    t->judged = true;
    if (t->rank == 0 && input_warning(t->tm, &t->in, "translate", line, sizeof line))
        fprintf(stderr, "%s\n", line);
}

/* Translates text[0..bytes), the same on every rank (text[bytes] writable), its lines the next
 * after t->lines; rank 0 writes them. s and res keep the sentences and the results (for the
 * attention file); the caller frees them. Collective. */
static int translate_text(translator *t, char *text, size_t bytes, sources *s,
                          decode_results *res)
{
    const translate_options *o = t->o;
    bool keep = t->rank == 0 && (o->replace_unk || o->attention[0]);
    int rc = make_sources(t->tm, text, bytes, keep, t->name, t->lines + 1, s, &t->in);
    if ((rc = comm_agree(t->comm, rc)) < 0)
        return rc;
    progress_counter count;
    progress_counter_init(&count, t->prog, "translate:", s->n);
    decode_options d = {.beam = o->beam, .nbest = o->nbest, .length_penalty = o->length_penalty,
                        .max_len_ratio = o->max_len_ratio, .batch = o->batch,
                        .attention = o->replace_unk || o->attention[0],
                        .progress = t->prog ? &count : NULL};
    rc = decode_corpus(t->ens, s->n, (const int32_t *const *)s->ids, s->len, &d, t->comm, res);
    progress_counter_done(&count);
    if (rc < 0)
        return rc;
    if (t->rank == 0)
        rc = write_output(o, t->tm, s, res, t->dk, t->lines, t->out);
    for (int i = 0; i < res->n; i++)
        t->tokens += res->nhyp[i] ? res->hyps[(size_t)i * res->nbest].len : 0;
    t->lines += s->n;
    judge_input(t, false);
    return comm_agree(t->comm, rc);
}

/* The whole input read first, then translated (and the attention file written). */
static int translate_whole(translator *t)
{
    sources s = {0};
    decode_results res = {0};
    char *text = NULL;
    size_t cap = 0, bytes = 0;
    int rc = share_input(t->o->input, t->comm, t->rank, &text, &cap, &bytes);
    if (rc == 0)
        rc = translate_text(t, text, bytes, &s, &res); /* the same status on every rank */
    if (rc == 0)
        judge_input(t, true);
    if (rc == 0 && t->o->attention[0]) {
        if (t->rank == 0) {
            attn_file a = {t->tm, &s, &res};
            rc = paramfile_write_image(t->o->attention, ATTN_FORMAT, 1 << 20, build_attention,
                                       &a);
        }
        rc = comm_agree(t->comm, rc);
    }
    decode_results_free(&res);
    sources_free(&s);
    free(text);
    return rc;
}

/* Lines translated as they come (a pipe, a terminal): rank 0 reads chunks of at most one batch
 * per rank, waiting at most --stream-wait for each line after a chunk's first, and shares
 * them; every chunk's translations are written and flushed before the next is read. */
static int translate_stream(translator *t)
{
    line_stream ls = {0};
    int rc = t->rank == 0 ? line_stream_open(&ls, t->o->input) : 0;
    char *chunk = NULL;
    size_t cap = 0, bytes = 0;
    long max_lines = (long)t->o->batch * t->size;
    for (rc = comm_agree(t->comm, rc); rc == 0;) {
        char *text = NULL;
        size_t n = 0;
        int mine = 0;
        if (t->rank == 0)
            mine = line_stream_next(&ls, max_lines > INT_MAX ? INT_MAX : (int)max_lines,
                                    t->o->stream_wait, &text, &n);
        if ((rc = share_bytes(t->comm, t->rank, mine, text, mine < 0 ? -1 : (long long)n, &chunk,
                              &cap, &bytes)) < 0 || bytes == 0)
            break;
        sources s = {0};
        decode_results res = {0};
        rc = translate_text(t, chunk, bytes, &s, &res);
        decode_results_free(&res);
        sources_free(&s);
    }
    if (rc == 0)
        judge_input(t, true);
    line_stream_free(&ls);
    free(chunk);
    return rc;
}

int translate_run(const translate_options *o, MPI_Comm comm, FILE *log)
{
    translator t = {.o = o, .comm = comm};
    MPI_Comm_rank(comm, &t.rank);
    MPI_Comm_size(comm, &t.size);
    trained_ensemble ens = {0};
    t.ens = &ens;
    t.name = strcmp(o->input, "-") ? o->input : "standard input";
    double t0 = MPI_Wtime();
    blas_set_threads(o->threads);
    int rc = check_options(o, NULL);
    if (rc < 0)
        return rc;
    rc = trained_ensemble_open(&ens, &o->checkpoint, &o->weights);
    t.tm = ens.tm; /* NULL when nothing could be allocated */
    if (rc == 0)
        rc = check_options(o, t.tm);
    if (rc == 0)
        rc = trained_detok(t.tm, o->detok, &t.dk);
    if (rc == 0 && t.rank == 0) {
        t.out = strcmp(o->output, "-") ? fopen(o->output, "w") : stdout;
        if (!t.out)
            rc = s2s_fail(S2S_EIO, "%s: cannot create: %s", o->output, strerror(errno));
    }
    /* Rank 0 decides, from what the input is: every rank must take the same path. */
    int stream = o->stream == STREAM_ON ||
                 (o->stream == STREAM_AUTO && !o->attention[0] && !line_stream_is_regular(o->input));
    if (MPI_Bcast(&stream, 1, MPI_INT, 0, comm) != MPI_SUCCESS && rc == 0)
        rc = s2s_fail(S2S_EMPI, "translate: MPI_Bcast failed");
    /* Streamed lines are answered as they come: a count of them has no total to show. */
    progress prog;
    if (t.rank == 0 && !stream) {
        progress_init(&prog, stderr, progress_live(o->progress, stderr));
        t.prog = &prog;
    }
    if ((rc = comm_agree(comm, rc)) == 0)
        rc = stream ? translate_stream(&t) : translate_whole(&t);
    if (t.out && t.out != stdout && fclose(t.out) != 0 && rc == 0)
        rc = s2s_fail(S2S_EIO, "%s: write error: %s", o->output, strerror(errno));
    double el = MPI_Wtime() - t0;
    char models[32] = "";
    if (ens.n > 1)
        snprintf(models, sizeof models, ", ensemble of %d", ens.n);
    if (rc == 0 && log)
        fprintf(log,
                "translated %ld sentence%s (%ld tokens) in %.2f s on %d rank%s, beam %d%s: "
                "%.1f sentences/s\n",
                t.lines, t.lines == 1 ? "" : "s", t.tokens, el, t.size, t.size == 1 ? "" : "s",
                o->beam, models, el > 0 ? t.lines / el : 0.0);
    trained_ensemble_free(&ens);
    return rc;
}
