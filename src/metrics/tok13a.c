/* tok13a.c - sacreBLEU's 13a tokenizer, Python-compatible whitespace splitting and UTF-8
 * decoding (include/s2s/utf8.h, with Python's surrogateescape for invalid bytes), and exact
 * n-gram counting, shared by the BLEU and chrF metrics.
 *
 * The 13a tokenizer is a literal emulation, pass by pass, of what sacreBLEU does with Python's
 * str.replace and re.sub: each regular expression of mteval-v13a matches one or two characters
 * of fixed kinds, so a left-to-right scan that takes the leftmost match and resumes after it is
 * exactly re.sub's non-overlapping matching. Doing the passes one after the other (rather than
 * one clever fused pass) keeps it obviously faithful; each is linear, and sentences are short. */
#include "s2s/tok13a.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/utf8.h"

/* Grows *p (elements of `size` bytes) to at least `need` elements, doubling so that a sequence
 * of growing sentences costs amortized linear time; newly added bytes are zero when `zero`. */
static int grow(void **p, size_t *cap, size_t need, size_t size, bool zero, const char *what)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return s2s_fail(S2S_ENOMEM, "%s: cannot hold %zu elements", what, need);
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (!q)
        return s2s_fail(S2S_ENOMEM, "%s: cannot allocate %zu bytes", what, c * size);
    if (zero)
        memset((char *)q + *cap * size, 0, (c - *cap) * size);
    *p = q;
    *cap = c;
    return 0;
}

/* ---- characters ---- */

bool tok13a_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t tok13a_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    size_t k = utf8_decode(s, n, cp);
    if (k > 0)
        return k;
    *cp = 0xDC00 + (unsigned char)s[0]; /* surrogateescape: never a real character */
    return 1;
}

/* Length of the whitespace character at s[0..n), or 0 when it is not whitespace. */
static size_t space_len(const char *s, size_t n)
{
    unsigned char b = (unsigned char)s[0];
    if (b < 0x80)
        return tok13a_is_space(b) ? 1 : 0;
    uint32_t cp;
    size_t k = tok13a_utf8_next(s, n, &cp);
    return tok13a_is_space(cp) ? k : 0;
}

/* ---- tokens ---- */

void tok13a_tokens_init(tok13a_tokens *t)
{
    memset(t, 0, sizeof *t);
}

void tok13a_tokens_free(tok13a_tokens *t)
{
    free(t->tok);
    free(t->len);
    free(t->out);
    free(t->work_a);
    free(t->work_b);
    tok13a_tokens_init(t);
}

/* Splits s[0..n) on whitespace into t->out, one NUL-terminated copy per token. */
static int split_into(tok13a_tokens *t, const char *s, size_t n)
{
    /* Sized before writing: tokens plus their NULs never exceed n + 1 bytes, so the pointers
     * taken below stay valid. */
    int rc = grow((void **)&t->out, &t->out_cap, n + 1, 1, false, "tokenizer");
    if (rc)
        return rc;
    t->n = 0;
    size_t w = 0, i = 0;
    while (i < n) {
        size_t k = space_len(s + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        size_t b = i;
        while (i < n && space_len(s + i, n - i) == 0)
            i++;
        size_t tc = t->tok_cap;
        if ((rc = grow((void **)&t->tok, &tc, t->n + 1, sizeof *t->tok, false, "tokenizer")))
            return rc;
        tc = t->tok_cap;
        if ((rc = grow((void **)&t->len, &tc, t->n + 1, sizeof *t->len, false, "tokenizer")))
            return rc;
        t->tok_cap = tc;
        memcpy(t->out + w, s + b, i - b);
        t->out[w + (i - b)] = '\0';
        t->tok[t->n] = t->out + w;
        t->len[t->n] = i - b;
        t->n++;
        w += i - b + 1;
    }
    return 0;
}

int tok13a_split(tok13a_tokens *t, const char *text, size_t n)
{
    return split_into(t, text, n);
}

/* Python's s.replace(pat, rep) in place for len(rep) <= len(pat): leftmost non-overlapping
 * matches, the replacement never rescanned. The write position never passes the read one. */
static size_t replace_all(char *s, size_t n, const char *pat, const char *rep)
{
    size_t pn = strlen(pat), rn = strlen(rep), r = 0, w = 0;
    while (r < n) {
        if (s[r] == pat[0] && r + pn <= n && memcmp(s + r, pat, pn) == 0) {
            memcpy(s + w, rep, rn);
            w += rn;
            r += pn;
        } else {
            s[w++] = s[r++];
        }
    }
    return w;
}

/* The first regular expression's class [\{-\~\[-\` -\&\(-\+\:-\@\/]: all ASCII punctuation
 * and the space except ' , - . which the later rules treat by context. */
static bool is_sym(unsigned char c)
{
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
           (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static bool is_pc(unsigned char c)
{
    return c == '.' || c == ',';
}

int tok13a_tokenize(tok13a_tokens *t, const char *text, size_t n)
{
    int rc;
    if (n > SIZE_MAX / 32)
        return s2s_fail(S2S_ENOMEM, "tokenizer: a sentence of %zu bytes is too long", n);
    if ((rc = grow((void **)&t->work_a, &t->a_cap, n + 3, 1, false, "tokenizer")))
        return rc;
    char *a = t->work_a;
    memcpy(a + 1, text, n);
    size_t len = replace_all(a + 1, n, "<skipped>", "");
    len = replace_all(a + 1, len, "-\n", "");
    for (size_t i = 1; i <= len; i++)
        if (a[i] == '\n')
            a[i] = ' ';
    if (memchr(a + 1, '&', len)) {
        len = replace_all(a + 1, len, "&quot;", "\"");
        len = replace_all(a + 1, len, "&amp;", "&");
        len = replace_all(a + 1, len, "&lt;", "<");
        len = replace_all(a + 1, len, "&gt;", ">");
    }
    a[0] = ' ';
    a[len + 1] = ' ';
    len += 2;

    /* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 " */
    if ((rc = grow((void **)&t->work_b, &t->b_cap, 3 * len + 1, 1, false, "tokenizer")))
        return rc;
    char *b = t->work_b;
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];
        if (is_sym(c)) {
            b[m++] = ' ';
            b[m++] = (char)c;
            b[m++] = ' ';
        } else {
            b[m++] = (char)c;
        }
    }
    len = m;

    /* ([^0-9])([\.,]) -> "\1 \2 ". A multi-byte character before the "." matches through its
     * last byte here instead of as a whole in Python; the output and the position where the
     * scan resumes are the same. */
    if ((rc = grow((void **)&t->work_a, &t->a_cap, 2 * len + 1, 1, false, "tokenizer")))
        return rc;
    a = t->work_a;
    m = 0;
    for (size_t i = 0; i < len;) {
        if (i + 1 < len && !is_digit((unsigned char)b[i]) && is_pc((unsigned char)b[i + 1])) {
            a[m++] = b[i];
            a[m++] = ' ';
            a[m++] = b[i + 1];
            a[m++] = ' ';
            i += 2;
        } else {
            a[m++] = b[i++];
        }
    }
    len = m;

    /* ([\.,])([^0-9]) -> " \1 \2". When the character after the "." is multi-byte, only its
     * first byte is consumed here; its other bytes cannot start a match, so nothing differs. */
    if ((rc = grow((void **)&t->work_b, &t->b_cap, 2 * len + 1, 1, false, "tokenizer")))
        return rc;
    b = t->work_b;
    m = 0;
    for (size_t i = 0; i < len;) {
        if (i + 1 < len && is_pc((unsigned char)a[i]) && !is_digit((unsigned char)a[i + 1])) {
            b[m++] = ' ';
            b[m++] = a[i];
            b[m++] = ' ';
            b[m++] = a[i + 1];
            i += 2;
        } else {
            b[m++] = a[i++];
        }
    }
    len = m;

    /* ([0-9])(-) -> "\1 \2 " */
    if ((rc = grow((void **)&t->work_a, &t->a_cap, 2 * len + 1, 1, false, "tokenizer")))
        return rc;
    a = t->work_a;
    m = 0;
    for (size_t i = 0; i < len;) {
        if (i + 1 < len && is_digit((unsigned char)b[i]) && b[i + 1] == '-') {
            a[m++] = b[i];
            a[m++] = ' ';
            a[m++] = '-';
            a[m++] = ' ';
            i += 2;
        } else {
            a[m++] = b[i++];
        }
    }
    return split_into(t, a, m);
}

/* ---- n-gram counting ---- */

#define NG_EMPTY UINT64_MAX /* no key is ever this: ids stay below 2^32 - 1 */
#define NG_MAX_POS (UINT32_MAX - 1)

void tok13a_ngrams_init(tok13a_ngrams *g)
{
    memset(g, 0, sizeof *g);
    g->nseq = 1;
}

void tok13a_ngrams_free(tok13a_ngrams *g)
{
    free(g->sym);
    free(g->id);
    free(g->start);
    free(g->keys);
    free(g->vals);
    free(g->cnt_h);
    free(g->cnt_r);
    free(g->cnt_max);
    free(g->arena);
    free(g->str_off);
    free(g->str_len);
    free(g->str_hash);
    free(g->str_tab);
    tok13a_ngrams_init(g);
}

void tok13a_ngrams_begin(tok13a_ngrams *g)
{
    g->nseq = 1;
    g->order = 0;
    g->npos = 0;
    /* The string table is per sentence, so that ids stay dense and small. Only the part the
     * last sentence used is cleared: one long sentence does not slow down the later ones. */
    if (g->str_tab_used)
        memset(g->str_tab, 0, g->str_tab_used * sizeof *g->str_tab);
    g->str_tab_used = 0;
    g->nstr = 0;
    g->arena_len = 0;
}

static size_t seq_begin(const tok13a_ngrams *g, int s)
{
    return s == 0 ? 0 : g->start[s - 1];
}
static size_t seq_end(const tok13a_ngrams *g, int s)
{
    return s + 1 < g->nseq ? g->start[s] : g->npos;
}

int tok13a_ngrams_next_seq(tok13a_ngrams *g)
{
    /* start[s - 1] is where sequence s begins (sequence 0 always begins at 0) */
    if (g->nseq == INT32_MAX)
        return s2s_fail(S2S_ERANGE, "n-grams: too many sequences in a sentence");
    int rc = grow((void **)&g->start, &g->start_cap, (size_t)g->nseq, sizeof *g->start, false,
                  "n-grams");
    if (rc)
        return rc;
    g->start[g->nseq - 1] = g->npos;
    g->nseq++;
    g->order = 0;
    return 0;
}

int tok13a_ngrams_push(tok13a_ngrams *g, uint32_t sym)
{
    if (g->npos >= NG_MAX_POS)
        return s2s_fail(S2S_ERANGE, "n-grams: a sentence of more than %lu symbols",
                        (unsigned long)NG_MAX_POS);
    if (g->npos + 1 > g->pos_cap) {
        size_t c1 = g->pos_cap, c2 = g->pos_cap;
        int rc = grow((void **)&g->sym, &c1, g->npos + 1, sizeof *g->sym, false, "n-grams");
        if (!rc)
            rc = grow((void **)&g->id, &c2, g->npos + 1, sizeof *g->id, false, "n-grams");
        if (rc)
            return rc;
        g->pos_cap = c1 < c2 ? c1 : c2;
    }
    g->sym[g->npos++] = sym;
    g->order = 0;
    return 0;
}

/* FNV-1a: short strings, quality is plenty for a table that compares the bytes anyway. */
static uint32_t str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Doubles the part of the string table in use (allocating more if needed) and re-inserts the
 * strings of the sentence so far. */
static int str_table_grow(tok13a_ngrams *g)
{
    size_t used = g->str_tab_used ? g->str_tab_used * 2 : 64;
    if (used > g->str_tab_cap) {
        uint32_t *tab = realloc(g->str_tab, used * sizeof *tab);
        if (!tab)
            return s2s_fail(S2S_ENOMEM, "n-grams: cannot allocate a table of %zu strings", used);
        g->str_tab = tab;
        g->str_tab_cap = used;
    }
    memset(g->str_tab, 0, used * sizeof *g->str_tab);
    g->str_tab_used = used;
    for (size_t i = 0; i < g->nstr; i++) {
        size_t j = g->str_hash[i] & (used - 1);
        while (g->str_tab[j])
            j = (j + 1) & (used - 1);
        g->str_tab[j] = (uint32_t)i + 1;
    }
    return 0;
}

int tok13a_ngrams_push_str(tok13a_ngrams *g, const char *s, size_t len)
{
    int rc;
    if (len > UINT32_MAX)
        return s2s_fail(S2S_ERANGE, "n-grams: a token of %zu bytes", len);
    if (2 * (g->nstr + 1) > g->str_tab_used && (rc = str_table_grow(g)))
        return rc;
    uint32_t h = str_hash(s, len);
    size_t mask = g->str_tab_used - 1, j = h & mask;
    for (; g->str_tab[j]; j = (j + 1) & mask) {
        uint32_t id = g->str_tab[j] - 1;
        if (g->str_hash[id] == h && g->str_len[id] == len &&
            memcmp(g->arena + g->str_off[id], s, len) == 0)
            return tok13a_ngrams_push(g, id);
    }
    if (g->arena_len + len > UINT32_MAX)
        return s2s_fail(S2S_ERANGE, "n-grams: more than 4 GiB of distinct tokens in a sentence");
    if ((rc = grow((void **)&g->arena, &g->arena_cap, g->arena_len + len, 1, false, "n-grams")))
        return rc;
    if (g->nstr + 1 > g->str_cap) {
        size_t c1 = g->str_cap, c2 = g->str_cap, c3 = g->str_cap;
        rc = grow((void **)&g->str_off, &c1, g->nstr + 1, sizeof *g->str_off, false, "n-grams");
        if (!rc)
            rc = grow((void **)&g->str_len, &c2, g->nstr + 1, sizeof *g->str_len, false, "n-grams");
        if (!rc)
            rc = grow((void **)&g->str_hash, &c3, g->nstr + 1, sizeof *g->str_hash, false,
                      "n-grams");
        if (rc)
            return rc;
        g->str_cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    }
    uint32_t id = (uint32_t)g->nstr++;
    memcpy(g->arena + g->arena_len, s, len);
    g->str_off[id] = (uint32_t)g->arena_len;
    g->str_len[id] = (uint32_t)len;
    g->str_hash[id] = h;
    g->arena_len += len;
    g->str_tab[j] = id + 1;
    return tok13a_ngrams_push(g, id);
}

/* splitmix64's finalizer: spreads the packed (id, symbol) keys over the table. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint32_t key_id(tok13a_ngrams *g, uint64_t key)
{
    size_t mask = g->tab_used - 1, j = (size_t)mix64(key) & mask;
    for (; g->keys[j] != NG_EMPTY; j = (j + 1) & mask)
        if (g->keys[j] == key)
            return g->vals[j];
    g->keys[j] = key;
    g->vals[j] = g->nids;
    return g->nids++;
}

int tok13a_ngrams_order(tok13a_ngrams *g, int n)
{
    if (n != 1 && n != g->order + 1)
        return s2s_fail(S2S_EINVAL, "n-grams: order %d requested after order %d", n, g->order);
    /* At most npos distinct keys per order: a table twice as large keeps probes short. Only
     * the part in use this time is cleared, so a past long sentence does not slow later ones. */
    size_t use = 16;
    while (use < 2 * g->npos)
        use *= 2;
    if (use > g->tab_cap) {
        uint64_t *k = realloc(g->keys, use * sizeof *k);
        if (k)
            g->keys = k;
        uint32_t *v = k ? realloc(g->vals, use * sizeof *v) : NULL;
        if (v)
            g->vals = v;
        if (!k || !v)
            return s2s_fail(S2S_ENOMEM, "n-grams: cannot allocate a table of %zu n-grams", use);
        g->tab_cap = use;
    }
    g->tab_used = use;
    for (size_t j = 0; j < use; j++)
        g->keys[j] = NG_EMPTY;
    g->nids = 0;
    if (n == 1) {
        for (size_t p = 0; p < g->npos; p++)
            g->id[p] = key_id(g, g->sym[p]);
    } else {
        /* id_n[p] = id of the pair (id_{n-1}[p], symbol p + n - 1): equal exactly when the n
         * symbols are equal. In place, since id_{n-1}[p] is needed for position p only. */
        for (int s = 0; s < g->nseq; s++) {
            size_t b = seq_begin(g, s), e = seq_end(g, s);
            for (size_t p = b; p + (size_t)n <= e; p++)
                g->id[p] = key_id(g, (uint64_t)g->id[p] << 32 | g->sym[p + (size_t)n - 1]);
        }
    }
    int rc = 0;
    size_t c1 = g->cnt_cap, c2 = g->cnt_cap, c3 = g->cnt_cap;
    if (g->nids > g->cnt_cap) {
        rc = grow((void **)&g->cnt_h, &c1, g->nids, sizeof *g->cnt_h, true, "n-grams");
        if (!rc)
            rc = grow((void **)&g->cnt_r, &c2, g->nids, sizeof *g->cnt_r, true, "n-grams");
        if (!rc)
            rc = grow((void **)&g->cnt_max, &c3, g->nids, sizeof *g->cnt_max, true, "n-grams");
        if (rc)
            return rc;
        g->cnt_cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    }
    g->order = n;
    return 0;
}

size_t tok13a_ngrams_seq_len(const tok13a_ngrams *g, int s)
{
    return seq_end(g, s) - seq_begin(g, s);
}

size_t tok13a_ngrams_count(const tok13a_ngrams *g, int s)
{
    size_t len = tok13a_ngrams_seq_len(g, s), n = (size_t)(g->order > 0 ? g->order : 1);
    return len >= n ? len - n + 1 : 0;
}

size_t tok13a_ngrams_match(tok13a_ngrams *g, int hyp, int ref0, int nref)
{
    /* The count arrays are zero on entry and are left zero: each is cleared through the same
     * positions that raised it. */
    size_t hb = seq_begin(g, hyp), hn = tok13a_ngrams_count(g, hyp);
    for (size_t p = hb; p < hb + hn; p++)
        g->cnt_h[g->id[p]]++;
    for (int r = ref0; r < ref0 + nref; r++) {
        size_t rb = seq_begin(g, r), rn = tok13a_ngrams_count(g, r);
        for (size_t p = rb; p < rb + rn; p++)
            g->cnt_r[g->id[p]]++;
        for (size_t p = rb; p < rb + rn; p++) {
            uint32_t id = g->id[p];
            if (g->cnt_r[id] > g->cnt_max[id])
                g->cnt_max[id] = g->cnt_r[id];
        }
        for (size_t p = rb; p < rb + rn; p++)
            g->cnt_r[g->id[p]] = 0;
    }
    size_t match = 0;
    for (size_t p = hb; p < hb + hn; p++) {
        uint32_t id = g->id[p];
        if (g->cnt_h[id]) { /* first position of this n-gram: count it once, then clear */
            match += g->cnt_h[id] < g->cnt_max[id] ? g->cnt_h[id] : g->cnt_max[id];
            g->cnt_h[id] = 0;
        }
    }
    for (int r = ref0; r < ref0 + nref; r++) {
        size_t rb = seq_begin(g, r), rn = tok13a_ngrams_count(g, r);
        for (size_t p = rb; p < rb + rn; p++)
            g->cnt_max[g->id[p]] = 0;
    }
    return match;
}
