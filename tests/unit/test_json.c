/* test_json.c - the JSON writer (src/core/json.c): strings escape quotes, backslashes, control
 * characters and DEL, keep valid UTF-8 of every length (at the edges of each range) and turn
 * each byte of every kind of invalid UTF-8 (stray continuation bytes, overlong forms,
 * surrogates, code points above U+10FFFF, bytes that start nothing, truncated sequences) into
 * \ufffd; numbers read back exactly, figures and fixed decimals print as printf does, NaN and
 * infinities are null; separators in nested containers in both layouts; every misuse is
 * reported by json_writer_end and stops the output. Each output is compared with the expected
 * text and also checked as a document (json_valid, the reader, which shares nothing with the
 * writer but the UTF-8 decoder of src/core/utf8.c, tested on its own in test_utf8.c, and
 * utf8_valid on its bytes).
 *
 * The reader: json_valid accepts the grammar's values and refuses each kind of near miss
 * (including invalid UTF-8 in a string, a NUL, and nesting one level past
 * JSON_READ_MAX_DEPTH); json_number_at finds numbers by key paths of every length, says NaN
 * for what is missing or not a number, takes the first of two equal keys and no key at the
 * wrong level, reads nothing past n, converts exactly what JSON's number grammar spans, and
 * reads back exactly what json_num wrote. */
#include <criterion/criterion.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/json.h"
#include "s2s/status.h"
#include "s2s/utf8.h"

/* A writer into memory: begin, write through w, then finish for the text and the status. */
typedef struct {
    json_writer w;
    FILE *f;
    char *text;
    size_t size;
} sink;

static void sink_begin(sink *s, json_layout layout)
{
    memset(s, 0, sizeof *s);
    s->f = open_memstream(&s->text, &s->size);
    cr_assert_not_null(s->f, "open_memstream");
    json_writer_init(&s->w, s->f, layout);
}

/* The status of json_writer_end; s->text holds what was written (free it). */
static int sink_finish(sink *s)
{
    int rc = json_writer_end(&s->w);
    fclose(s->f);
    return rc;
}

/* The output is one valid JSON document in valid UTF-8. */
static void expect_document(const char *text)
{
    cr_expect(json_valid(text, strlen(text)), "not valid JSON: %s", text);
    cr_expect(utf8_valid(text, strlen(text)), "not UTF-8: %s", text);
}

/* s as a JSON string value: the writer's text, which must be `want` and a document. */
static void expect_string(const char *s, const char *want)
{
    sink k;
    sink_begin(&k, JSON_COMPACT);
    json_str(&k.w, s);
    cr_assert_eq(sink_finish(&k), 0, "json_str: %s", s2s_errmsg(S2S_EINVAL));
    cr_expect_str_eq(k.text, want);
    expect_document(k.text);
    free(k.text);
}

Test(json, escapes)
{
    expect_string("", "\"\"");
    expect_string("plain text / slash", "\"plain text / slash\"");
    expect_string("say \"hi\"", "\"say \\\"hi\\\"\"");
    expect_string("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    expect_string("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
    expect_string("\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\"");
    expect_string("del\x7f!", "\"del\\u007f!\"");
    expect_string(" ~", "\" ~\""); /* the printable ends of ASCII */
    expect_string("run\"q\\b\x01", "\"run\\\"q\\\\b\\u0001\"");
    expect_string(NULL, "null");
}

Test(json, valid_utf8_is_kept)
{
    /* Both ends of each length's range, and the neighbours of the surrogates. */
    static const char *const kept[] = {
        "\xc2\x80",         /* U+0080 */
        "\xdf\xbf",         /* U+07FF */
        "\xe0\xa0\x80",     /* U+0800 */
        "\xed\x9f\xbf",     /* U+D7FF */
        "\xee\x80\x80",     /* U+E000 */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf0\x90\x80\x80", /* U+10000 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac",
    };
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"%s\"", kept[i]);
        expect_string(kept[i], want);
    }
}

Test(json, invalid_utf8_becomes_replacement_characters)
{
    /* Each byte that is not part of a valid sequence is one U+FFFD; what follows is read
     * afresh, so a valid character after a broken one survives. */
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* stray continuation bytes */
        {"a\x80z", "\"a\\ufffdz\""},
        {"\xbf", "\"\\ufffd\""},
        {"\xc3\xa9\xa9", "\"\xc3\xa9\\ufffd\""},
        /* overlong forms */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
        {"\xc1\xbf", "\"\\ufffd\\ufffd\""},
        {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        {"\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        /* surrogates */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""},
        /* above U+10FFFF, and bytes that start no sequence */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        {"\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        {"\xf8\xfe\xff", "\"\\ufffd\\ufffd\\ufffd\""},
        /* truncated: at the end of the string, and before an ASCII byte or a new sequence */
        {"\xc3", "\"\\ufffd\""},
        {"\xe2\x82", "\"\\ufffd\\ufffd\""},
        {"\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xe2\x82\x61", "\"\\ufffd\\ufffda\""},
        {"\xf0\x9f\xc3\xa9", "\"\\ufffd\\ufffd\xc3\xa9\""},
        /* mixed with escapes: the run directory of tests/integration/decode.sh */
        {"run\"q\\b\x01\xff\xc3(", "\"run\\\"q\\\\b\\u0001\\ufffd\\ufffd(\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_string(cases[i].in, cases[i].want);
}

/* v written by fn alone: its text (free it). */
static char *number_text(void (*fn)(json_writer *, double), double v)
{
    sink k;
    sink_begin(&k, JSON_COMPACT);
    fn(&k.w, v);
    cr_assert_eq(sink_finish(&k), 0);
    expect_document(k.text);
    return k.text;
}

static void expect_number(void (*fn)(json_writer *, double), double v, const char *want)
{
    char *text = number_text(fn, v);
    cr_expect_str_eq(text, want, "%.17g", v);
    free(text);
}

/* json_num's text reads back as the same bits. */
static void expect_round_trip(double v)
{
    char *text = number_text(json_num, v);
    double back = strtod(text, NULL);
    cr_expect(memcmp(&back, &v, sizeof v) == 0, "%.17g written as %s, read back as %.17g", v, text,
              back);
    cr_expect(strlen(text) <= 24, "%s: longer than %%.17g can be", text);
    free(text);
}

Test(json, numbers_round_trip_exactly)
{
    expect_number(json_num, 0.1, "0.1");
    expect_number(json_num, 0.1 + 0.2, "0.30000000000000004");
    expect_number(json_num, 100, "100");
    expect_number(json_num, 1e21, "1e+21");
    expect_number(json_num, -0.0, "-0");
    expect_number(json_num, 5.5785, "5.5785");
    static const double edges[] = {0.0,      -0.0,    1.0 / 3,
                                   2.0 / 3,  M_PI,    DBL_MAX,
                                   -DBL_MAX, DBL_MIN, 4.9e-324,
                                   1e-300,   1e300,   9007199254740993.0,
                                   0.003f,   1e-7f,   123456789012345678.0};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        expect_round_trip(edges[i]);
    /* Doubles of every exponent and mantissa from a fixed sequence of bit patterns. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 2000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        double v;
        memcpy(&v, &x, sizeof v);
        if (isfinite(v))
            expect_round_trip(v);
    }
}

Test(json, figures_and_fixed_decimals_print_as_printf)
{
    /* json_figure is metrics.jsonl's and eval's %.6g. */
    expect_number(json_figure, 2.548771234, "2.54877");
    expect_number(json_figure, 0.003, "0.003");
    expect_number(json_figure, 1e6, "1e+06");
    expect_number(json_figure, 292252.4, "292252");
    expect_number(json_figure, 0, "0");
    sink k;
    sink_begin(&k, JSON_COMPACT);
    json_open_array(&k.w);
    json_fixed(&k.w, 0.00004, 4);
    json_fixed(&k.w, 0.0396, 3);
    json_fixed(&k.w, 699018.14, 1);
    json_fixed(&k.w, -2.5, 0);
    json_close_array(&k.w);
    cr_assert_eq(sink_finish(&k), 0);
    cr_expect_str_eq(k.text, "[0.0000,0.040,699018.1,-2]");
    expect_document(k.text);
    free(k.text);
}

Test(json, non_finite_numbers_are_null)
{
    static const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sink k;
        sink_begin(&k, JSON_COMPACT);
        json_open_array(&k.w);
        json_num(&k.w, bad[i]);
        json_figure(&k.w, bad[i]);
        json_fixed(&k.w, bad[i], 3);
        json_close_array(&k.w);
        cr_assert_eq(sink_finish(&k), 0);
        cr_expect_str_eq(k.text, "[null,null,null]", "%g", bad[i]);
        expect_document(k.text);
        free(k.text);
    }
}

Test(json, integers_and_counts)
{
    sink k;
    sink_begin(&k, JSON_COMPACT);
    json_open_array(&k.w);
    json_int(&k.w, LLONG_MIN);
    json_int(&k.w, LLONG_MAX);
    json_int(&k.w, 0);
    json_count(&k.w, 12);
    json_count(&k.w, 0);
    json_count(&k.w, -1); /* unknown */
    json_close_array(&k.w);
    cr_assert_eq(sink_finish(&k), 0);
    cr_expect_str_eq(k.text, "[-9223372036854775808,9223372036854775807,0,12,0,null]");
    expect_document(k.text);
    free(k.text);
}

/* A document with every kind of value, nested and empty containers, keyed shorthands. */
static void write_nested(json_writer *w)
{
    json_open_object(w);
    json_kstr(w, "type", "checkpoint");
    json_kint(w, "step", 12);
    json_key(w, "empty_list");
    json_open_array(w);
    json_close_array(w);
    json_key(w, "empty_map");
    json_open_object(w);
    json_close_object(w);
    json_key(w, "list");
    json_open_array(w);
    json_int(w, 1);
    json_open_array(w);
    json_int(w, 2);
    json_int(w, 3);
    json_close_array(w);
    json_open_object(w);
    json_key(w, "k");
    json_null(w);
    json_close_object(w);
    json_str(w, "s");
    json_close_array(w);
    json_kbool(w, "ok", true);
    json_kbool(w, "stopped", false);
    json_kcount(w, "vocab", -1);
    json_knum(w, "x", 0.25);
    json_kfigure(w, "loss", 2.548771234);
    json_kfixed(w, "seconds", 0.0123, 3);
    json_key(w, "report");
    json_raw(w, "{\"read\": 3}");
    json_key(w, "we\"ird\xff");
    json_str(w, "v");
    json_close_object(w);
}

Test(json, nesting_and_separators)
{
    sink k;
    sink_begin(&k, JSON_COMPACT);
    write_nested(&k.w);
    cr_assert_eq(sink_finish(&k), 0, "%s", s2s_errmsg(S2S_EINVAL));
    cr_expect_str_eq(k.text, "{\"type\":\"checkpoint\",\"step\":12,\"empty_list\":[],"
                             "\"empty_map\":{},\"list\":[1,[2,3],{\"k\":null},\"s\"],"
                             "\"ok\":true,\"stopped\":false,\"vocab\":null,\"x\":0.25,"
                             "\"loss\":2.54877,\"seconds\":0.012,\"report\":{\"read\": 3},"
                             "\"we\\\"ird\\ufffd\":\"v\"}");
    expect_document(k.text);
    free(k.text);

    sink_begin(&k, JSON_SPACED);
    write_nested(&k.w);
    cr_assert_eq(sink_finish(&k), 0);
    cr_expect_str_eq(k.text, "{\"type\": \"checkpoint\", \"step\": 12, \"empty_list\": [], "
                             "\"empty_map\": {}, \"list\": [1, [2, 3], {\"k\": null}, \"s\"], "
                             "\"ok\": true, \"stopped\": false, \"vocab\": null, \"x\": 0.25, "
                             "\"loss\": 2.54877, \"seconds\": 0.012, \"report\": {\"read\": 3}, "
                             "\"we\\\"ird\\ufffd\": \"v\"}");
    expect_document(k.text);
    free(k.text);
}

Test(json, top_level_values_and_depth)
{
    sink k;
    sink_begin(&k, JSON_COMPACT);
    json_int(&k.w, 5);
    cr_assert_eq(sink_finish(&k), 0);
    cr_expect_str_eq(k.text, "5");
    free(k.text);

    /* JSON_MAX_DEPTH containers nest; one more is refused. */
    sink_begin(&k, JSON_COMPACT);
    for (int d = 0; d < JSON_MAX_DEPTH; d++)
        json_open_array(&k.w);
    for (int d = 0; d < JSON_MAX_DEPTH; d++)
        json_close_array(&k.w);
    cr_assert_eq(sink_finish(&k), 0, "%s", s2s_errmsg(S2S_EINVAL));
    cr_expect_eq(strlen(k.text), 2 * JSON_MAX_DEPTH);
    expect_document(k.text);
    free(k.text);
}

/* Misuse: the text up to it, and json_writer_end's S2S_EINVAL naming it. Misuse found while
 * writing stops the output: the calls after it (late) add nothing. */
typedef struct {
    const char *name, *written, *message;
    void (*fn)(json_writer *w);
    bool at_end; /* found only by json_writer_end: no late calls */
} misuse_case;

static void value_without_key(json_writer *w)
{
    json_open_object(w);
    json_kint(w, "a", 1);
    json_int(w, 2);
}

static void key_at_top(json_writer *w)
{
    json_key(w, "a");
}

static void key_in_array(json_writer *w)
{
    json_open_array(w);
    json_key(w, "a");
}

static void key_after_key(json_writer *w)
{
    json_open_object(w);
    json_key(w, "a");
    json_key(w, "b");
}

static void null_key(json_writer *w)
{
    json_open_object(w);
    json_key(w, NULL);
}

static void close_after_key(json_writer *w)
{
    json_open_object(w);
    json_key(w, "a");
    json_close_object(w);
}

static void close_mismatched(json_writer *w)
{
    json_open_array(w);
    json_close_object(w);
}

static void close_unopened(json_writer *w)
{
    json_open_object(w);
    json_close_object(w);
    json_close_array(w);
}

static void second_top_value(json_writer *w)
{
    json_open_object(w);
    json_close_object(w);
    json_open_object(w);
}

static void too_deep(json_writer *w)
{
    for (int d = 0; d <= JSON_MAX_DEPTH; d++) {
        json_open_object(w);
        json_key(w, "k");
    }
}

static void left_open(json_writer *w)
{
    json_open_array(w);
    json_int(w, 1);
}

static void nothing(json_writer *w)
{
    (void)w;
}

Test(json, misuse_is_reported_and_stops_the_output)
{
    static char deep[8 * JSON_MAX_DEPTH];
    deep[0] = '\0';
    for (int d = 0; d < JSON_MAX_DEPTH; d++)
        strcat(deep, "{\"k\":");
    const misuse_case cases[] = {
        {"value without key", "{\"a\":1", "a value in an object without a key", value_without_key,
         false},
        {"key at top level", "", "a key outside an object", key_at_top, false},
        {"key in array", "[", "a key outside an object", key_in_array, false},
        {"key after key", "{\"a\":", "a key without a value", key_after_key, false},
        {"NULL key", "{", "a NULL key", null_key, false},
        {"close after key", "{\"a\":", "a key without a value", close_after_key, false},
        {"mismatched close", "[", "an object closed that is not open", close_mismatched, false},
        {"close of nothing", "{}", "an array closed that is not open", close_unopened, false},
        {"second top-level value", "{}", "a second value at the top level", second_top_value,
         false},
        {"too deep", deep, "containers nested too deep", too_deep, false},
        {"left open", "[1", "a container left open", left_open, true},
        {"nothing", "", "nothing written", nothing, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const misuse_case *c = &cases[i];
        sink k;
        sink_begin(&k, JSON_COMPACT);
        c->fn(&k.w);
        if (!c->at_end) {
            json_int(&k.w, 7);
            json_kstr(&k.w, "late", "x");
            json_close_object(&k.w);
            json_close_array(&k.w);
            json_open_array(&k.w);
        }
        int rc = sink_finish(&k);
        cr_expect_eq(rc, S2S_EINVAL, "%s: status %d", c->name, rc);
        cr_expect_str_eq(k.text, c->written, "%s", c->name);
        char want[128];
        snprintf(want, sizeof want, "JSON writer: %s", c->message);
        cr_expect_str_eq(s2s_errmsg(rc), want, "%s", c->name);
        free(k.text);
    }
}

/* ---- the reader ---- */

static bool valid(const char *text)
{
    return json_valid(text, strlen(text));
}

Test(json, reader_accepts_values_and_refuses_near_misses)
{
    static const char *const good[] = {"{}",
                                       " [ ] ",
                                       "{\"a\":[1,-2.5e+3,0.25,true,false,null,\"\\u00e9\\n\"]}",
                                       "\"x\"",
                                       "0",
                                       "{\"a\":{\"b\":{}}}",
                                       "-0",
                                       "1E-2",
                                       "[\"\\/\\b\\f\\r\\t\\\"\\\\\"]",
                                       " {\"a\" :\n 1 }\n",
                                       "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
                                       "[\"\\uD83D\\uDE00\"]",
                                       "123456789012345678901234567890"};
    static const char *const bad[] = {"",
                                      "{",
                                      "{\"a\":1,}",
                                      "[1 2]",
                                      "{a:1}",
                                      "01",
                                      "1.",
                                      ".5",
                                      "nan",
                                      "[Infinity]",
                                      "\"\\x\"",
                                      "\"a\nb\"",
                                      "{} {}",
                                      "[1,]",
                                      "tru",
                                      "{\"a\"}",
                                      "-",
                                      "[\"\\u12\"]",
                                      "+1",
                                      "1e",
                                      "-01",
                                      "tRue",
                                      " \t",
                                      "{\"a\":}",
                                      "[,1]",
                                      "\"\t\"",
                                      "\"\xff\"",
                                      "\"\xc3\"",
                                      "\"\xed\xa0\x80\"",
                                      "[1]]",
                                      "{\"a\":1 \"b\":2}",
                                      "\"abc",
                                      "'a'"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect(valid(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect(!valid(bad[i]), "accepted %s", bad[i]);
    cr_expect(!json_valid(NULL, 0));
    cr_expect(!json_valid("\"a\0b\"", 5), "a NUL in a string");
    cr_expect(!json_valid("[1]\0", 4), "a NUL after the value");
    cr_expect(json_valid("12", 1) && !json_valid("[1]", 2), "n bytes count, not the string");
}

/* k nested arrays around `inner` ("" for an empty innermost array). */
static char *nested(int k, const char *inner)
{
    size_t n = strlen(inner);
    char *s = malloc(2 * (size_t)k + n + 1);
    cr_assert_not_null(s);
    memset(s, '[', (size_t)k);
    memcpy(s + k, inner, n);
    memset(s + k + n, ']', (size_t)k);
    s[2 * k + n] = '\0';
    return s;
}

Test(json, reader_nesting_limit)
{
    static const struct {
        int k;
        const char *inner;
        bool want;
    } cases[] = {
        {JSON_READ_MAX_DEPTH, "1", true},      /* a value inside 64 containers */
        {JSON_READ_MAX_DEPTH + 1, "1", false}, /* inside 65 */
        {JSON_READ_MAX_DEPTH + 1, "", true},   /* the empty 65th array lies inside 64 */
        {JSON_READ_MAX_DEPTH + 2, "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = nested(cases[i].k, cases[i].inner);
        cr_expect_eq(valid(s), cases[i].want, "%d arrays around \"%s\"", cases[i].k,
                     cases[i].inner);
        free(s);
    }
}

/* json_number_at over a whole string, the path given as arguments. */
#define NUMBER_AT(text, ...)                                                                       \
    json_number_at((text), strlen(text), (const char *const[]){__VA_ARGS__, NULL})

Test(json, lookup_by_key_path)
{
    static const char doc[] =
        "{\"train\": {\"read\": 200, \"kept\": 199, \"ratio\": 1.5e0, \"name\": \"x\", "
        "\"flag\": true, \"none\": null, \"obj\": {}, \"list\": [1]}, "
        "\"valid\": {\"read\": -3.25}, \"read\": 7, \"rea\": 1, \"trai\": {\"read\": 9}}";
    cr_assert(valid(doc));
    cr_expect_eq(NUMBER_AT(doc, "train", "read"), 200);
    cr_expect_eq(NUMBER_AT(doc, "train", "kept"), 199);
    cr_expect_eq(NUMBER_AT(doc, "train", "ratio"), 1.5);
    cr_expect_eq(NUMBER_AT(doc, "valid", "read"), -3.25);
    cr_expect_eq(NUMBER_AT(doc, "read"), 7, "the top level's own key, not a nested one");
    cr_expect_eq(NUMBER_AT(doc, "trai", "read"), 9, "no prefix matching");
    static const char *const not_numbers[] = {"name", "flag", "none", "obj", "list", "missing"};
    for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++)
        cr_expect(isnan(NUMBER_AT(doc, "train", not_numbers[i])), "train.%s", not_numbers[i]);
    cr_expect(isnan(NUMBER_AT(doc, "missing", "read")));
    cr_expect(isnan(NUMBER_AT(doc, "read", "x")), "a number has no members");
    cr_expect(isnan(NUMBER_AT(doc, "train")), "an object is not a number");
    cr_expect(isnan(NUMBER_AT(doc, "train", "read", "deeper")));
    /* The value itself: no path, or an empty one. */
    cr_expect_eq(json_number_at(" -1e3 ", 6, NULL), -1000);
    cr_expect_eq(json_number_at("42", 2, (const char *const[]){NULL}), 42);
}

Test(json, lookup_keys_and_levels)
{
    cr_expect_eq(NUMBER_AT("{\"a\":1,\"a\":2}", "a"), 1, "the first of two equal keys");
    cr_expect(isnan(NUMBER_AT("{\"x\":{\"k\":1}}", "k")), "a key of a nested object");
    cr_expect_eq(NUMBER_AT("{\"x\":\"k\",\"k\":5}", "k"), 5, "a string value is no key");
    cr_expect_eq(NUMBER_AT("{\"x\":[{\"k\":1}],\"k\":6}", "k"), 6);
    cr_expect_eq(NUMBER_AT("{\"kept_extra\":1,\"kept\":2}", "kept"), 2);
    cr_expect_eq(NUMBER_AT("{ \"a\" :\n { \"b\" :\t 3 } }", "a", "b"), 3);
    /* Keys are compared as written: an escaped key is found by its escaped form only. */
    cr_expect(isnan(NUMBER_AT("{\"a\\u0062\":1}", "ab")));
    cr_expect_eq(NUMBER_AT("{\"a\\u0062\":1}", "a\\u0062"), 1);
    cr_expect(isnan(NUMBER_AT("[1,2]", "0")), "arrays have no keys");
}

Test(json, lookup_reads_the_number_and_nothing_past_n)
{
    cr_expect_eq(json_number_at("12345", 3, NULL), 123, "n ends the number");
    cr_expect_eq(json_number_at("{\"v\":98}7", 8, (const char *const[]){"v", NULL}), 98);
    cr_expect_eq(json_number_at("0x10", 4, NULL), 0, "JSON's grammar, not strtod's");
    cr_expect(isnan(json_number_at("1.e5", 4, NULL)), "\"1.\" is no JSON number");
    cr_expect(isnan(json_number_at("", 0, NULL)));
    cr_expect(isnan(json_number_at(NULL, 0, NULL)));
    cr_expect(isnan(NUMBER_AT("{\"a\" 1}", "a")));
    cr_expect(isnan(NUMBER_AT("{\"a\":", "a")));
    cr_expect(isnan(NUMBER_AT("\"12\"", "a")));
    /* A number longer than any fixed buffer: 0.(99 zeros)1. */
    char longnum[128] = "0.";
    memset(longnum + 2, '0', 99);
    strcpy(longnum + 101, "1");
    cr_expect_eq(json_number_at(longnum, strlen(longnum), NULL), 1e-100);
}

/* What json_num writes (in either layout) the reader gives back exactly. */
Test(json, writer_numbers_read_back_exactly)
{
    static const double values[] = {
        0.1, -2.5e-7, 1e300, 123456789.125, DBL_MIN, DBL_MAX, -DBL_TRUE_MIN, 1.0 / 3.0, 0.0};
    for (int layout = 0; layout < 2; layout++)
        for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
            sink k;
            sink_begin(&k, layout ? JSON_SPACED : JSON_COMPACT);
            json_open_object(&k.w);
            json_key(&k.w, "train");
            json_open_object(&k.w);
            json_knum(&k.w, "v", values[i]);
            json_close_object(&k.w);
            json_close_object(&k.w);
            cr_assert_eq(sink_finish(&k), 0);
            expect_document(k.text);
            double got = NUMBER_AT(k.text, "train", "v");
            cr_expect(got == values[i], "%s: %.17g", k.text, got);
            free(k.text);
        }
}
