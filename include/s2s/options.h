/* options.h - table-driven command-line and configuration-file options.
 *
 * A command describes its options once, as a table of opt_spec: name, type, default, help and
 * the offset of the destination field in the command's option struct. The same table then
 * parses `--name value` / `--name=value` arguments and `key = value` configuration files,
 * prints --help, and writes the resolved configuration back out.
 *
 * Precedence, lowest first: the defaults, a base list (e.g. a benchmark preset), the file given
 * with --config, the rest of the command line. Field types: OPT_INT int, OPT_UINT unsigned,
 * OPT_LONG long, OPT_DOUBLE double, OPT_BOOL bool, OPT_STRING char[OPT_STRING_MAX],
 * OPT_CHOICE int (the index of the value in `choices`, so an enum whose values follow the
 * choices' order can be the field). */
#ifndef S2S_OPTIONS_H
#define S2S_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPT_STRING_MAX 256

typedef enum { OPT_INT, OPT_UINT, OPT_LONG, OPT_DOUBLE, OPT_BOOL, OPT_STRING, OPT_CHOICE } opt_type;

typedef struct {
    const char *name;  /* long name without dashes, e.g. "hidden" */
    opt_type type;
    size_t offset;     /* offsetof(struct, field) */
    const char *def;   /* default, in the same syntax as on the command line */
    const char *help;
    const char *const *choices; /* OPT_CHOICE: NULL-terminated list */
    double min, max;   /* numeric options: allowed range when min < max */
} opt_spec;

/* Sets one option from its text; `where` names the source for messages ("--hidden",
 * "run.conf:3"). S2S_EUSAGE with a message on a malformed or out-of-range value. */
int opts_set(const opt_spec *spec, void *dst, const char *value, const char *where);

/* Applies every default. */
int opts_set_defaults(const opt_spec *specs, int n, void *dst);

/* Applies `key = value` lines of a file; blank lines and # comments are skipped. */
int opts_parse_file(const opt_spec *specs, int n, void *dst, const char *path);

/* Parses argv[0..argc) (arguments only, no program or command name): defaults, then `base`
 * (NULL or a NULL-terminated list of "name=value"), then --config FILE, then the arguments.
 * --help sets *help and stops. Unknown options and positional arguments are S2S_EUSAGE. */
int opts_parse(const opt_spec *specs, int n, void *dst, int argc, char **argv,
               const char *const *base, bool *help);

/* The value following --name (or --name=value) in argv, or NULL; for options that decide the
 * base list (e.g. --preset) before the full parse. */
const char *opts_find_arg(int argc, char **argv, const char *name);

/* Help text: one line per option with its type or choices, default and description. */
void opts_print_help(FILE *f, const opt_spec *specs, int n);

/* The resolved values as `name = value` lines, readable back with --config. */
void opts_write(FILE *f, const opt_spec *specs, int n, const void *src);

#endif
