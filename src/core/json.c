/* json.c - the JSON writer and reader of include/s2s/json.h. The writer: separators from a
 * small state (the open containers, whether the innermost holds a value, whether a key waits
 * for its value), string escaping with UTF-8 validation, and the number formats. The reader: a
 * validator of the RFC 8259 grammar and the lookup of a number by its keys. */
#include "s2s/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/utf8.h"

void json_writer_init(json_writer *w, FILE *out, json_layout layout)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->comma = layout == JSON_SPACED ? ", " : ",";
    w->colon = layout == JSON_SPACED ? ": " : ":";
}

int json_writer_end(json_writer *w)
{
    if (!w->error && w->depth > 0)
        w->error = "a container left open";
    if (!w->error && !w->members)
        w->error = "nothing written";
    return w->error ? s2s_fail(S2S_EINVAL, "JSON writer: %s", w->error) : 0;
}

/* Records the first misuse; from then on the writer writes nothing. Returns false. */
static bool misuse(json_writer *w, const char *what)
{
    if (!w->error)
        w->error = what;
    return false;
}

static void write_string(FILE *out, const char *s);

/* Before any value: checks that one may stand here and writes the separator before it. */
static bool value_start(json_writer *w)
{
    if (w->error)
        return false;
    if (w->depth == 0) {
        if (w->members)
            return misuse(w, "a second value at the top level");
    } else if (w->close[w->depth - 1] == '}') {
        if (!w->after_key)
            return misuse(w, "a value in an object without a key");
        w->after_key = false; /* the key placed the separator */
    } else if (w->members) {
        fputs(w->comma, w->out);
    }
    w->members = true;
    return true;
}

void json_key(json_writer *w, const char *key)
{
    if (w->error)
        return;
    if (w->depth == 0 || w->close[w->depth - 1] != '}') {
        misuse(w, "a key outside an object");
        return;
    }
    if (w->after_key) {
        misuse(w, "a key without a value");
        return;
    }
    if (!key) {
        misuse(w, "a NULL key");
        return;
    }
    if (w->members)
        fputs(w->comma, w->out);
    w->members = true;
    write_string(w->out, key);
    fputs(w->colon, w->out);
    w->after_key = true;
}

static void open_container(json_writer *w, char open, char close)
{
    if (!w->error && w->depth == JSON_MAX_DEPTH) {
        misuse(w, "containers nested too deep");
        return;
    }
    if (!value_start(w))
        return;
    fputc(open, w->out);
    w->close[w->depth++] = close;
    w->members = false;
}

static void close_container(json_writer *w, char close)
{
    if (w->error)
        return;
    if (w->depth == 0 || w->close[w->depth - 1] != close) {
        misuse(w, close == '}' ? "an object closed that is not open"
                               : "an array closed that is not open");
        return;
    }
    if (w->after_key) {
        misuse(w, "a key without a value");
        return;
    }
    fputc(close, w->out);
    w->depth--;
    w->members = true; /* the container just closed is a value of its parent */
}

void json_open_object(json_writer *w)
{
    open_container(w, '{', '}');
}

void json_close_object(json_writer *w)
{
    close_container(w, '}');
}

void json_open_array(json_writer *w)
{
    open_container(w, '[', ']');
}

void json_close_array(json_writer *w)
{
    close_container(w, ']');
}

/* s as a JSON string: runs of bytes that need no escape are written in one piece. */
static void write_string(FILE *out, const char *s)
{
    size_t n = strlen(s), i = 0, run = 0;
    fputc('"', out);
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7F;
        size_t k = plain ? utf8_decode(s + i, n - i, NULL) : 0;
        if (k > 0) {
            i += k;
            continue;
        }
        fwrite(s + run, 1, i - run, out);
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", out);
        else if (ch == '\t')
            fputs("\\t", out);
        else if (ch == '\r')
            fputs("\\r", out);
        else if (ch < 0x20 || ch == 0x7F)
            fprintf(out, "\\u%04x", ch);
        else
            fputs("\\ufffd", out); /* one byte that is not UTF-8 */
        run = ++i;
    }
    fwrite(s + run, 1, i - run, out);
    fputc('"', out);
}

void json_str(json_writer *w, const char *s)
{
    if (!value_start(w))
        return;
    if (s)
        write_string(w->out, s);
    else
        fputs("null", w->out);
}

void json_int(json_writer *w, long long v)
{
    if (value_start(w))
        fprintf(w->out, "%lld", v);
}

void json_count(json_writer *w, long long v)
{
    if (v < 0)
        json_null(w);
    else
        json_int(w, v);
}

void json_num(json_writer *w, double v)
{
    if (!value_start(w))
        return;
    if (!isfinite(v)) {
        fputs("null", w->out);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, w->out);
}

/* v with prec digits in %g (fixed false) or prec decimals in %f, or null. */
static void finite_or_null(json_writer *w, bool fixed, int prec, double v)
{
    if (!value_start(w))
        return;
    if (!isfinite(v))
        fputs("null", w->out);
    else if (fixed)
        fprintf(w->out, "%.*f", prec, v);
    else
        fprintf(w->out, "%.*g", prec, v);
}

void json_figure(json_writer *w, double v)
{
    finite_or_null(w, false, 6, v);
}

void json_fixed(json_writer *w, double v, int decimals)
{
    finite_or_null(w, true, decimals, v);
}

void json_bool(json_writer *w, bool v)
{
    json_raw(w, v ? "true" : "false");
}

void json_null(json_writer *w)
{
    json_raw(w, "null");
}

void json_raw(json_writer *w, const char *text)
{
    if (value_start(w))
        fputs(text, w->out);
}

void json_kstr(json_writer *w, const char *key, const char *s)
{
    json_key(w, key);
    json_str(w, s);
}

void json_kint(json_writer *w, const char *key, long long v)
{
    json_key(w, key);
    json_int(w, v);
}

void json_kcount(json_writer *w, const char *key, long long v)
{
    json_key(w, key);
    json_count(w, v);
}

void json_knum(json_writer *w, const char *key, double v)
{
    json_key(w, key);
    json_num(w, v);
}

void json_kfigure(json_writer *w, const char *key, double v)
{
    json_key(w, key);
    json_figure(w, v);
}

void json_kfixed(json_writer *w, const char *key, double v, int decimals)
{
    json_key(w, key);
    json_fixed(w, v, decimals);
}

void json_kbool(json_writer *w, const char *key, bool v)
{
    json_key(w, key);
    json_bool(w, v);
}

/* ---- the reader ------------------------------------------------------------------------------
 * A recursive descent over [p, end) that only says whether the grammar holds; the lookup walks
 * the same way and converts the one number it is after. */

typedef struct {
    const char *p, *end;
} read_cursor;

static void skip_ws(read_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Steps over ch if it comes next. */
static bool eat(read_cursor *c, char ch)
{
    if (c->p >= c->end || *c->p != ch)
        return false;
    c->p++;
    return true;
}

static bool read_literal(read_cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* An escape, c at its backslash: one of \" \\ \/ \b \f \n \r \t, or \u and four hex digits. */
static bool read_escape(read_cursor *c)
{
    c->p++;
    if (c->p >= c->end)
        return false;
    char e = *c->p++;
    if (e != 'u')
        return e != '\0' && strchr("\"\\/bfnrt", e) != NULL;
    for (int k = 0; k < 4; k++, c->p++)
        if (c->p >= c->end || !is_hex(*c->p))
            return false;
    return true;
}

/* A string: no control character, escapes as above, everything else valid UTF-8 (RFC 8259's
 * grammar is over code points, so bytes that decode to none are not JSON). */
static bool read_string(read_cursor *c)
{
    if (!eat(c, '"'))
        return false;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        size_t k;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            if (!read_escape(c))
                return false;
        } else if ((k = utf8_decode(c->p, (size_t)(c->end - c->p), NULL)) > 0) {
            c->p += k;
        } else {
            return false;
        }
    }
    return false;
}

static bool read_digits(read_cursor *c)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool read_number(read_cursor *c)
{
    eat(c, '-');
    if (!eat(c, '0') && !read_digits(c))
        return false;
    if (eat(c, '.') && !read_digits(c))
        return false;
    if (eat(c, 'e') || eat(c, 'E')) {
        if (!eat(c, '+'))
            eat(c, '-');
        if (!read_digits(c))
            return false;
    }
    return true;
}

static bool read_value(read_cursor *c, int depth);

/* The members of an object or the elements of an array, c just past the opening bracket. */
static bool read_container(read_cursor *c, char open, int depth)
{
    char close = open == '{' ? '}' : ']';
    skip_ws(c);
    if (eat(c, close))
        return true;
    do {
        if (open == '{') {
            skip_ws(c);
            if (!read_string(c))
                return false;
            skip_ws(c);
            if (!eat(c, ':'))
                return false;
        }
        if (!read_value(c, depth + 1))
            return false;
        skip_ws(c);
    } while (eat(c, ','));
    return eat(c, close);
}

/* One value with the whitespace before it; depth: the containers around it. */
static bool read_value(read_cursor *c, int depth)
{
    skip_ws(c);
    if (c->p >= c->end || depth > JSON_READ_MAX_DEPTH)
        return false;
    switch (*c->p) {
    case '{':
    case '[': return read_container(c, *c->p++, depth);
    case '"': return read_string(c);
    case 't': return read_literal(c, "true");
    case 'f': return read_literal(c, "false");
    case 'n': return read_literal(c, "null");
    default: return read_number(c);
    }
}

bool json_valid(const char *text, size_t n)
{
    if (!text)
        return false;
    read_cursor c = {text, text + n};
    if (!read_value(&c, 0))
        return false;
    skip_ws(&c);
    return c.p == c.end;
}

/* From the object at c to the value of its first member named key (compared as stored between
 * the quotes); false if c is not at an object or the object has no such member. */
static bool find_member(read_cursor *c, const char *key)
{
    size_t klen = strlen(key);
    skip_ws(c);
    if (!eat(c, '{'))
        return false;
    for (;;) {
        skip_ws(c);
        const char *k = c->p;
        if (!read_string(c))
            return false;
        bool match = (size_t)(c->p - k) == klen + 2 && !memcmp(k + 1, key, klen);
        skip_ws(c);
        if (!eat(c, ':'))
            return false;
        if (match)
            return true;
        if (!read_value(c, 0))
            return false;
        skip_ws(c);
        if (!eat(c, ','))
            return false;
    }
}

double json_number_at(const char *text, size_t n, const char *const *path)
{
    if (!text)
        return NAN;
    read_cursor c = {text, text + n};
    for (; path && *path; path++)
        if (!find_member(&c, *path))
            return NAN;
    skip_ws(&c);
    const char *start = c.p;
    if (!read_number(&c))
        return NAN;
    /* A copy that ends where the number does: strtod would read on past n, and past a JSON
     * number into what it alone accepts ("0x1p3", "1.e5"). */
    char *copy = strndup(start, (size_t)(c.p - start));
    double v = copy ? strtod(copy, NULL) : NAN;
    free(copy);
    return v;
}
