/* vocab.c - tokenizers, vocabularies (token text <-> id) and detokenization, shared by
 * `s2s prep` (which builds the vocabularies) and `s2s translate` (which must tokenize new text
 * exactly as prep did); SentencePiece's own encoding and decoding are src/data/spm.cc's. */
#include "s2s/vocab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/utf8.h"

const char *const vocab_reserved[4] = {"<pad>", "<unk>", "<s>", "</s>"};
const char *const tokenizer_names[] = {TOKENIZER_CHOICES(CHOICE_NAME) NULL};
const char *const detok_names[] = {DETOK_CHOICES(CHOICE_NAME) NULL};

_Static_assert(TOK_FIRST_WORD == 4, "vocab_reserved lists the reserved tokens");

const char *text_line_problem(const char *s, size_t n)
{
    /* C strings end at a NUL: the rest of the line would silently vanish. */
    if (memchr(s, '\0', n))
        return "NUL byte";
    return utf8_valid(s, n) ? NULL : "invalid UTF-8";
}

int text_lines(char *text, size_t size, const char *name, long first, char ***lines, int *n)
{
    int count = 0;
    for (size_t i = 0; i < size; i++)
        count += text[i] == '\n';
    count += size > 0 && text[size - 1] != '\n';
    char **l = malloc((size_t)(count ? count : 1) * sizeof *l);
    if (!l)
        return s2s_fail(S2S_ENOMEM, "%s: %d lines", name, count);
    char *p = text;
    for (int i = 0; i < count; i++) {
        char *end = memchr(p, '\n', size - (size_t)(p - text));
        size_t len = end ? (size_t)(end - p) : size - (size_t)(p - text);
        p[len] = '\0';
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        const char *problem = text_line_problem(p, len);
        if (problem) {
            free(l);
            return s2s_fail(S2S_EFORMAT, "%s:%ld: %s", name, first + i, problem);
        }
        l[i] = p;
        p = end ? end + 1 : p + len;
    }
    *lines = l;
    *n = count;
    return 0;
}

/* ---- tokenization ------------------------------------------------------------------------ */

void tokens_free(token_list *t)
{
    free(t->tok);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

static int tokens_push(token_list *t, char *s)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        char **p = realloc(t->tok, (size_t)cap * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "tokenizer: cannot hold %d tokens", cap);
        t->tok = p;
        t->cap = cap;
    }
    t->tok[t->n++] = s;
    return 0;
}

#define SPACES " \t\v\f\r"
#define SP_MARK "\xE2\x96\x81" /* U+2581, SentencePiece's word-boundary marker */

void text_lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

int tokenize(tokenizer_kind kind, bool lowercase, const spm_model *spm, char *line,
             token_list *t)
{
    t->n = 0;
    if (lowercase)
        text_lowercase(line);
    if (kind == TOK_SPM) {
        if (!spm)
            return s2s_fail(S2S_EINVAL, "tokenizer: sentencepiece without a model");
        int n, rc = spm_encode(spm, line, strlen(line), &t->buf, &t->buf_cap, &n);
        if (rc < 0)
            return rc;
        /* The pieces are in place: now point at them. */
        char *p = t->buf;
        for (int i = 0; i < n; i++, p += strlen(p) + 1)
            if (tokens_push(t, p) < 0)
                return S2S_ENOMEM;
        return 0;
    }
    if (kind == TOK_WHITESPACE) {
        char *save = NULL;
        for (char *s = strtok_r(line, SPACES, &save); s; s = strtok_r(NULL, SPACES, &save))
            if (tokens_push(t, s) < 0)
                return S2S_ENOMEM;
        return 0;
    }
    line += strspn(line, SPACES);
    size_t n = strlen(line);
    while (n > 0 && strchr(SPACES, line[n - 1]))
        line[--n] = '\0';
    if (t->buf_cap < 4 * n + 1) {
        char *b = realloc(t->buf, 4 * n + 1);
        if (!b)
            return s2s_fail(S2S_ENOMEM, "tokenizer: cannot tokenize a line of %zu bytes", n);
        t->buf = b;
        t->buf_cap = 4 * n + 1;
    }
    /* First copy every code point, then point at them: the buffer does not move meanwhile. */
    char *out = t->buf;
    for (size_t i = 0; i < n;) {
        /* Lines are valid UTF-8 (text_line_problem); a byte of anything else is a token of
         * its own rather than a length that runs past the line's end. */
        size_t len = utf8_decode(line + i, n - i, NULL);
        len = len ? len : 1;
        if (strchr(SPACES, line[i])) {
            memcpy(out, SP_MARK, 3);
            out += 3;
        } else {
            memcpy(out, line + i, len);
            out += len;
        }
        *out++ = '\0';
        i += len;
    }
    for (char *p = t->buf; p < out; p += strlen(p) + 1)
        if (tokens_push(t, p) < 0)
            return S2S_ENOMEM;
    return 0;
}

/* ---- the hash map ------------------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static vocab_entry *map_find(const vocab_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].key)
            return NULL;
        if (strcmp(m->e[i].key, key) == 0)
            return &m->e[i];
    }
}

vocab_entry *vocab_count(vocab *v, const char *key, long count)
{
    vocab_map *m = &v->map;
    if (m->n + 1 > m->cap * 7 / 10) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        vocab_entry *e = calloc(cap, sizeof *e);
        if (!e)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].key)
                continue;
            size_t j = hash_str(m->e[i].key) & (cap - 1);
            while (e[j].key)
                j = (j + 1) & (cap - 1);
            e[j] = m->e[i];
        }
        free(m->e);
        m->e = e;
        m->cap = cap;
    }
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->e[i].key && strcmp(m->e[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->e[i].key) {
        if (!(m->e[i].key = strdup(key)))
            return NULL;
        m->e[i].id = -1;
        m->n++;
    }
    m->e[i].count += count;
    return &m->e[i];
}

/* ---- vocabularies -------------------------------------------------------------------------- */

void vocab_free(vocab *v)
{
    for (size_t i = 0; i < v->map.cap; i++)
        free(v->map.e[i].key);
    free(v->map.e);
    free(v->by_id);
    memset(v, 0, sizeof *v);
}

static int cmp_entries(const void *a, const void *b)
{
    const vocab_entry *x = *(const vocab_entry *const *)a, *y = *(const vocab_entry *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

int vocab_build(vocab *v, int min_freq, int max_vocab)
{
    /* The reserved tokens first: inserting them may grow, and so move, the map. */
    for (int k = 0; k < TOK_FIRST_WORD; k++) {
        vocab_entry *e = vocab_count(v, vocab_reserved[k], 0);
        if (!e)
            return s2s_fail(S2S_ENOMEM, "vocabulary: out of memory");
        e->id = k;
    }
    vocab_entry **list = malloc(v->map.n * sizeof *list);
    if (!list)
        return s2s_fail(S2S_ENOMEM, "vocabulary: cannot sort %zu tokens", v->map.n);
    size_t n = 0;
    for (size_t i = 0; i < v->map.cap; i++) {
        vocab_entry *e = &v->map.e[i];
        if (e->key && e->id < 0 && e->count >= min_freq)
            list[n++] = e;
    }
    qsort(list, n, sizeof *list, cmp_entries);
    if (max_vocab > 0 && n > (size_t)(max_vocab - TOK_FIRST_WORD))
        n = (size_t)(max_vocab - TOK_FIRST_WORD);
    v->size = (int)n + TOK_FIRST_WORD;
    v->by_id = malloc((size_t)v->size * sizeof *v->by_id);
    if (!v->by_id) {
        free(list);
        return s2s_fail(S2S_ENOMEM, "vocabulary: cannot index %d tokens", v->size);
    }
    for (int k = 0; k < TOK_FIRST_WORD; k++)
        v->by_id[k] = map_find(&v->map, vocab_reserved[k])->key;
    for (size_t i = 0; i < n; i++) {
        list[i]->id = TOK_FIRST_WORD + (int)i;
        v->by_id[TOK_FIRST_WORD + i] = list[i]->key;
    }
    free(list);
    return 0;
}

int vocab_append(vocab *v, const char *text, const char *where)
{
    int id = v->size;
    if (id < TOK_FIRST_WORD && strcmp(text, vocab_reserved[id]) != 0)
        return s2s_fail(S2S_EFORMAT, "%s: expected the reserved token %s", where,
                        vocab_reserved[id]);
    if (!text[0])
        return s2s_fail(S2S_EFORMAT, "%s: empty token", where);
    if (!utf8_valid(text, strlen(text)))
        return s2s_fail(S2S_EFORMAT, "%s: invalid UTF-8", where);
    /* Neither tokenizer makes such a token (chars turns each space into U+2581), so it could
     * never be looked up, and a line break would also split the vocabulary's text file. */
    size_t ws = strcspn(text, SPACES "\n");
    if (text[ws])
        return s2s_fail(S2S_EFORMAT, "%s: token holds whitespace (byte %zu is 0x%02x)", where,
                        ws + 1, (unsigned char)text[ws]);
    const vocab_entry *dup = map_find(&v->map, text);
    if (dup && dup->id >= 0)
        return s2s_fail(S2S_EFORMAT, "%s: duplicate token \"%s\" (also id %d)", where, text,
                        dup->id);
    /* by_id grows in powers of two from 1024, so its capacity follows from the size. */
    if (id == 0 || (id >= 1024 && (id & (id - 1)) == 0)) {
        size_t cap = id ? 2 * (size_t)id : 1024;
        char **p = realloc(v->by_id, cap * sizeof *p);
        if (!p)
            return s2s_fail(S2S_ENOMEM, "%s: vocabulary too large", where);
        v->by_id = p;
    }
    vocab_entry *e = vocab_count(v, text, 0);
    if (!e)
        return s2s_fail(S2S_ENOMEM, "%s: vocabulary too large", where);
    e->id = id;
    v->by_id[id] = e->key; /* keys are separate allocations: they stay put as the map grows */
    v->size++;
    return 0;
}

int vocab_load(vocab *v, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return s2s_fail(S2S_EIO, "%s: cannot open vocabulary: %s", path, strerror(errno));
    char *line = NULL, where[4200];
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        snprintf(where, sizeof where, "%s:%d", path, v->size + 1);
        const char *problem = text_line_problem(line, (size_t)len);
        if (problem) {
            rc = s2s_fail(S2S_EFORMAT, "%s: %s", where, problem);
            break;
        }
        if ((rc = vocab_append(v, line, where)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = s2s_fail(S2S_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    if (rc == 0 && v->size <= TOK_FIRST_WORD)
        rc = s2s_fail(S2S_EFORMAT, "%s: vocabulary has no words (reserved tokens and at least "
                      "one word expected)", path);
    return rc;
}

int32_t vocab_id(const vocab *v, const char *tok)
{
    const vocab_entry *e = map_find(&v->map, tok);
    return e && e->id >= TOK_FIRST_WORD ? e->id : TOK_UNK;
}

/* ---- detokenization ------------------------------------------------------------------------ */

bool token_marked(const char *tok)
{
    return strncmp(tok, SP_MARK, 3) == 0;
}

bool vocab_marked(const vocab *v)
{
    int marked = 0, words = v->size - TOK_FIRST_WORD;
    for (int i = TOK_FIRST_WORD; i < v->size; i++)
        marked += token_marked(v->by_id[i]);
    return words > 0 && 2 * marked > words;
}

detok_kind detok_guess(tokenizer_kind kind, const vocab *tgt)
{
    if (kind == TOK_SPM)
        return DETOK_SPM;
    if (kind == TOK_CHARS)
        return DETOK_PIECES;
    return vocab_marked(tgt) ? DETOK_PIECES : DETOK_SPACE;
}

long detokenize(detok_kind kind, const spm_model *spm, const char *const *tok, int n, char **buf,
                size_t *cap)
{
    if (kind == DETOK_SPM) {
        if (!spm)
            return s2s_fail(S2S_EINVAL, "detokenize: sentencepiece without a model");
        return spm_decode(spm, tok, n, buf, cap);
    }
    size_t need = 1;
    for (int i = 0; i < n; i++)
        need += strlen(tok[i]) + 1;
    if (*cap < need) {
        char *b = realloc(*buf, need);
        if (!b)
            return s2s_fail(S2S_ENOMEM, "detokenize: cannot hold %zu bytes", need);
        *buf = b;
        *cap = need;
    }
    char *out = *buf;
    for (int i = 0; i < n; i++) {
        const char *s = tok[i];
        if (kind == DETOK_SPACE) {
            if (i > 0)
                *out++ = ' ';
            size_t len = strlen(s);
            memcpy(out, s, len);
            out += len;
            continue;
        }
        for (; *s; s++) {
            if (strncmp(s, SP_MARK, 3) == 0) { /* a marker: one space, never two in a row */
                if (out > *buf && out[-1] != ' ')
                    *out++ = ' ';
                s += 2;
            } else {
                *out++ = *s;
            }
        }
    }
    while (out > *buf && out[-1] == ' ')
        out--;
    *out = '\0';
    return (long)(out - *buf);
}
