/* options.h - table-driven command-line and configuration-file options.
 *
 * A command describes its options once, as a table of opt_spec: name, type, default, help and
 * the offset of the destination field in the command's option struct. The same table parses
 * the command line and configuration files, prints --help, and writes the resolved values back
 * out as a configuration file.
 *
 * Command line (argv without the program and command names):
 *   --name value, --name=value     any option
 *   --flag, --no-flag, --flag=V    booleans; V is true|false|1|0|yes|no
 *   --config FILE                  read `name = value` lines from FILE (may be repeated)
 *   --help, -h                     reported to the caller through *help; wins anywhere it stands
 * A later occurrence of an option overrides an earlier one.
 *
 * Configuration file: one `name = value` per line, names as on the command line without the
 * dashes; blank lines and everything after a # are ignored, whitespace around names and values
 * is trimmed. Values are taken literally (no quoting), so a string value cannot contain #.
 *
 * Precedence, lowest first: the defaults, a base list (e.g. a benchmark preset), the files
 * given with --config in their order, the rest of the command line. The files are read before
 * any argument is applied, so the command line wins wherever --config stands.
 *
 * Field types (the destination field must have exactly this C type):
 *   OPT_INT int, OPT_UINT unsigned, OPT_LONG long, OPT_DOUBLE double, OPT_BOOL bool,
 *   OPT_STRING char[OPT_STRING_MAX] (a fixed array, so the struct owns its strings and needs no
 *   free function), OPT_CHOICE int: the index of the value in `choices`, so an enum whose
 *   values follow the order of the choices can be the field.
 * Two list types hold up to OPT_LIST_MAX values, in fixed arrays too:
 *   OPT_STRING_LIST opt_string_list, a repeatable option: every occurrence adds one entry, its
 *   whole text (commas included: a path may hold them); an empty value empties the list. The
 *   occurrences of one source (the base list, one file, the command line) add up, and a later
 *   source's first occurrence replaces what the earlier sources gave, so the command line still
 *   wins over the files. --help shows it as "--name TEXT...", a configuration file repeats its
 *   line.
 *   OPT_DOUBLE_LIST opt_double_list, numbers separated by commas in one value ("0.6,0.4"), each
 *   parsed as OPT_DOUBLE is (and within [min, max]); like the scalar types a later occurrence
 *   replaces an earlier one; an empty value is the empty list.
 * Numbers are parsed strictly: the whole text must be a decimal integer (or a finite number for
 * OPT_DOUBLE) that fits the field and, when min < max, lies in [min, max].
 *
 * Errors are S2S_EUSAGE, with one message (s2s_errmsg) naming the option and where its value
 * came from: "--hidden: expected an integer, got 'abc'", "run.conf:3: unknown option 'hiden'".
 * A malformed table (a programming error) is S2S_EINVAL. */
#ifndef S2S_OPTIONS_H
#define S2S_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPT_STRING_MAX 256
#define OPT_LIST_MAX 16 /* values of a list option */

typedef enum {
    OPT_INT,
    OPT_UINT,
    OPT_LONG,
    OPT_DOUBLE,
    OPT_BOOL,
    OPT_STRING,
    OPT_CHOICE,
    OPT_STRING_LIST,
    OPT_DOUBLE_LIST
} opt_type;

typedef struct {
    int n;
    char item[OPT_LIST_MAX][OPT_STRING_MAX];
} opt_string_list;

typedef struct {
    int n;
    double v[OPT_LIST_MAX];
} opt_double_list;

typedef struct {
    const char *name;           /* without dashes, e.g. "hidden"; not "config" or "help" */
    opt_type type;              /* the C type of the field, see above */
    size_t offset;              /* offsetof(struct, field) */
    const char *def;            /* default, in the same syntax as on the command line */
    const char *help;           /* one sentence, no trailing period */
    const char *const *choices; /* OPT_CHOICE: NULL-terminated list */
    double min, max;            /* numeric options: allowed range when min < max */
} opt_spec;

/* Sets one option from its text; `where` names the source for messages ("--hidden",
 * "run.conf:3: hidden"). S2S_EUSAGE on a malformed or out-of-range value. An OPT_STRING_LIST
 * gets one more entry (an empty text empties it). */
int opts_set(const opt_spec *spec, void *dst, const char *value, const char *where);

/* Checks the table (names unique and usable, defaults valid) and applies every default. */
int opts_set_defaults(const opt_spec *specs, int n, void *dst);

/* Applies the `name = value` lines of a file over the current values of dst. */
int opts_parse_file(const opt_spec *specs, int n, void *dst, const char *path);

/* Fills dst from nothing: defaults, then `base` (NULL or a NULL-terminated list of "name=value"),
 * then the --config files, then argv[0..argc). With --help anywhere, sets *help, leaves dst at
 * its defaults and returns 0 without looking at the other arguments. Unknown options and
 * positional arguments are S2S_EUSAGE. */
int opts_parse(const opt_spec *specs, int n, void *dst, int argc, char **argv,
               const char *const *base, bool *help);

/* The value of the last --name value / --name=value in argv, or NULL: for an option that must
 * be known before the full parse (e.g. --preset, which decides the base list). A plain scan:
 * it does not know which other options take a value. */
const char *opts_find_arg(int argc, char **argv, const char *name);

/* The option list of --help: per option its syntax with the type or the choices, the help text
 * and the default, in two aligned columns wrapped at 100 characters. Includes --config and
 * --help; the caller prints the usage line and summary above it. */
void opts_print_help(FILE *f, const opt_spec *specs, int n);

/* Writes the values in src as `name = value` lines that --config reads back to the same values.
 * S2S_EINVAL if a string value could not be read back (it contains # or a line break, or
 * starts or ends with whitespace), S2S_EIO if writing fails. */
int opts_write_config(FILE *f, const opt_spec *specs, int n, const void *src);

#endif
