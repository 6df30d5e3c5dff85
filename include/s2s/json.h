/* json.h - the one JSON writer of s2s: metrics.jsonl, the last line of eval and bench,
 * prep's stored report and `s2s info --json` all go through it, so that every string is escaped
 * one way and every output is valid JSON whatever bytes a path or a message holds.
 *
 * A caller-owned json_writer streams one value (usually an object) to a FILE and places the
 * separators itself:
 *
 *     json_writer j;
 *     json_writer_init(&j, f, JSON_COMPACT);
 *     json_open_object(&j);
 *     json_kstr(&j, "type", "valid");
 *     json_kint(&j, "step", step);
 *     json_kfigure(&j, "loss", loss);
 *     json_close_object(&j);
 *     rc = json_writer_end(&j);        -> {"type":"valid","step":12,"loss":2.5488}
 *
 * Strings: quotes and backslashes are escaped, \n \t \r by name, the other control characters
 * and DEL as \u00XX; valid UTF-8 passes through, and each byte that does not belong to a valid
 * sequence (a stray continuation byte, an overlong form, a surrogate, a code point above
 * U+10FFFF, a truncated sequence, 0xF5-0xFF) becomes \ufffd. NULL is written as null.
 * Numbers that JSON cannot hold (NaN, infinities) are null.
 *
 * Misuse (a value in an object without its key, a key outside an object, a close that matches
 * no open, nesting deeper than JSON_MAX_DEPTH, a second top-level value) writes nothing more:
 * the writer remembers the first one and json_writer_end reports it. The writer allocates
 * nothing; it does not check the stream for write errors (the caller flushes and checks).
 *
 * The reader beside it is as small as s2s's one use needs (`s2s info` shows the report that
 * prep stored in a dataset): json_valid says whether a text is one JSON value, and
 * json_number_at finds one number in it by its keys. */
#ifndef S2S_JSON_H
#define S2S_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef enum {
    JSON_COMPACT, /* {"a":1,"b":[1,2]}: metrics.jsonl, the commands' last lines, info --json */
    JSON_SPACED,  /* {"a": 1, "b": [1, 2]}: prep's stored report (docs/formats.md shows it) */
} json_layout;

typedef struct {
    FILE *out;
    const char *comma, *colon;  /* separators of the layout */
    int depth;                  /* containers open */
    char close[JSON_MAX_DEPTH]; /* '}' or ']' for each open container, innermost last */
    bool members;               /* the innermost container (or the top level) holds a value */
    bool after_key;             /* a key was written; its value comes next */
    const char *error;          /* the first misuse, NULL if none */
} json_writer;

void json_writer_init(json_writer *w, FILE *out, json_layout layout);

/* 0 if exactly one complete value was written without misuse; otherwise S2S_EINVAL with a
 * message naming the first misuse. Writes nothing (no newline either). */
int json_writer_end(json_writer *w);

void json_open_object(json_writer *w);
void json_close_object(json_writer *w);
void json_open_array(json_writer *w);
void json_close_array(json_writer *w);

/* The key of the next value; the writer must be inside an object. */
void json_key(json_writer *w, const char *key);

void json_str(json_writer *w, const char *s); /* escaped as above; NULL: null */
void json_int(json_writer *w, long long v);
void json_count(json_writer *w, long long v); /* a count that may be unknown: negative -> null */
/* The shorter of %.15g and %.17g that reads back as exactly v: every double survives a round
 * trip, and a value that 15 significant digits hold prints as short as it can. */
void json_num(json_writer *w, double v);
/* %.6g: a figure for people and plots (losses, BLEU, rates in metrics.jsonl and eval). */
void json_figure(json_writer *w, double v);
/* %.*f with `decimals` places: timings in seconds or milliseconds. */
void json_fixed(json_writer *w, double v, int decimals);
void json_bool(json_writer *w, bool v);
void json_null(json_writer *w);
/* text as it is: a value the caller knows to be valid JSON (info's copy of a stored report
 * that it has validated). */
void json_raw(json_writer *w, const char *text);

/* A key and its value in one call: json_kstr(w, "k", s) is json_key(w, "k"); json_str(w, s). */
void json_kstr(json_writer *w, const char *key, const char *s);
void json_kint(json_writer *w, const char *key, long long v);
void json_kcount(json_writer *w, const char *key, long long v);
void json_knum(json_writer *w, const char *key, double v);
void json_kfigure(json_writer *w, const char *key, double v);
void json_kfixed(json_writer *w, const char *key, double v, int decimals);
void json_kbool(json_writer *w, const char *key, bool v);

/* ---- the reader ---- */

/* Containers around a value that json_valid accepts: any value lies inside at most this many
 * (a scalar in 65 nested arrays is refused, an empty array inside 64 is not). */
#define JSON_READ_MAX_DEPTH 64

/* Whether text[0..n) is exactly one JSON value (RFC 8259), with whitespace around it allowed:
 * strings are valid UTF-8 without control characters, escapes and numbers as the grammar has
 * them, no NaN or Infinity, nothing after the value. A NUL byte is never valid. */
bool json_valid(const char *text, size_t n);

/* The number reached from the value text[0..n) through the object members named by path, a
 * NULL-terminated list of keys ({"train", "kept", NULL}: text["train"]["kept"]; NULL or empty:
 * the value itself); NaN if a key is missing (or not in an object), or the value there is not
 * a number. Keys match the text between a member's quotes byte for byte (a key written with
 * escapes is found only by its escaped form) and the first member of that name counts. For a
 * text that json_valid refuses the answer is NaN or a number found before the fault; nothing
 * past text[n - 1] is read. */
double json_number_at(const char *text, size_t n, const char *const *path);

#endif
