/* options.c - table-driven command-line and configuration-file options (see options.h). */
#include "s2s/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/status.h"

#define HELP_COLUMNS 100 /* help lines are wrapped to this width */
#define HELP_LEFT_MAX 32 /* a longer syntax column puts its description on the next line */

static const opt_spec *find_spec(const opt_spec *specs, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

static bool name_is(const char *name, size_t len, const char *word)
{
    return strlen(word) == len && strncmp(name, word, len) == 0;
}

/* "a, b, c" (sep ", ") or "a|b|c" (sep "|"), truncated to the buffer. */
static void join_choices(const char *const *choices, const char *sep, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int k = 0; choices[k]; k++) {
        strncat(buf, k ? sep : "", size - strlen(buf) - 1);
        strncat(buf, choices[k], size - strlen(buf) - 1);
    }
}

static int check_range(const opt_spec *s, double v, const char *where, const char *value)
{
    if (s->min < s->max && (v < s->min || v > s->max))
        return s2s_fail(S2S_EUSAGE, "%s: %s is outside the allowed range [%g, %g]", where, value,
                        s->min, s->max);
    return 0;
}

/* Leading whitespace is refused because strtoll/strtod would skip it: the text must be exactly
 * a number. */
static int parse_integer(const opt_spec *s, const char *value, const char *where, long long lo,
                         long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || isspace((unsigned char)value[0]))
        return s2s_fail(S2S_EUSAGE, "%s: expected an integer, got '%s'", where, value);
    if (errno == ERANGE || v < lo || v > hi)
        return s2s_fail(S2S_EUSAGE, "%s: %s does not fit the option's type (%lld to %lld)", where,
                        value, lo, hi);
    *out = v;
    return check_range(s, (double)v, where, value);
}

/* A finite double, the whole text, within the option's range. */
static int parse_double(const opt_spec *s, const char *value, const char *where, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || isspace((unsigned char)value[0]))
        return s2s_fail(S2S_EUSAGE, "%s: expected a number, got '%s'", where, value);
    if (errno == ERANGE)
        return s2s_fail(S2S_EUSAGE, "%s: %s is too large or too small for a double", where, value);
    if (!isfinite(v))
        return s2s_fail(S2S_EUSAGE, "%s: expected a finite number, got '%s'", where, value);
    *out = v;
    return check_range(s, v, where, value);
}

static int too_many(const char *where)
{
    return s2s_fail(S2S_EUSAGE, "%s: at most %d values", where, OPT_LIST_MAX);
}

/* "0.6,0.4": every piece a number (an empty piece is not); "" the empty list. */
static int parse_double_list(const opt_spec *s, const char *value, const char *where,
                             opt_double_list *out)
{
    opt_double_list l = {0};
    for (const char *p = value; *value; p++) {
        size_t len = strcspn(p, ",");
        char piece[64];
        if (len >= sizeof piece)
            return s2s_fail(S2S_EUSAGE, "%s: expected a number, got '%.*s'", where, (int)len, p);
        memcpy(piece, p, len);
        piece[len] = '\0';
        if (l.n == OPT_LIST_MAX)
            return too_many(where);
        int rc = parse_double(s, piece, where, &l.v[l.n++]);
        if (rc < 0)
            return rc;
        p += len;
        if (*p == '\0')
            break;
    }
    *out = l;
    return 0;
}

static int set_string(char *field, const char *value, const char *where)
{
    if (strlen(value) >= OPT_STRING_MAX)
        return s2s_fail(S2S_EUSAGE, "%s: value longer than %d characters", where,
                        OPT_STRING_MAX - 1);
    strcpy(field, value);
    return 0;
}

int opts_set(const opt_spec *s, void *dst, const char *value, const char *where)
{
    char *field = (char *)dst + s->offset;
    long long iv;
    int rc;
    switch (s->type) {
    case OPT_INT:
        if ((rc = parse_integer(s, value, where, INT_MIN, INT_MAX, &iv)) < 0)
            return rc;
        *(int *)field = (int)iv;
        return 0;
    case OPT_UINT:
        if ((rc = parse_integer(s, value, where, 0, UINT_MAX, &iv)) < 0)
            return rc;
        *(unsigned *)field = (unsigned)iv;
        return 0;
    case OPT_LONG:
        if ((rc = parse_integer(s, value, where, LONG_MIN, LONG_MAX, &iv)) < 0)
            return rc;
        *(long *)field = (long)iv;
        return 0;
    case OPT_DOUBLE: return parse_double(s, value, where, (double *)field);
    case OPT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(bool *)field = false;
        else
            return s2s_fail(S2S_EUSAGE, "%s: expected true or false, got '%s'", where, value);
        return 0;
    case OPT_STRING: return set_string(field, value, where);
    case OPT_CHOICE: {
        int k = choice_find(s->choices, value);
        if (k >= 0) {
            *(int *)field = k;
            return 0;
        }
        char list[512];
        join_choices(s->choices, ", ", list, sizeof list);
        return s2s_fail(S2S_EUSAGE, "%s: '%s' is not one of %s", where, value, list);
    }
    case OPT_STRING_LIST: {
        opt_string_list *l = (opt_string_list *)field;
        if (!value[0]) {
            l->n = 0;
            return 0;
        }
        if (l->n >= OPT_LIST_MAX)
            return too_many(where);
        if ((rc = set_string(l->item[l->n], value, where)) == 0)
            l->n++;
        return rc;
    }
    case OPT_DOUBLE_LIST: return parse_double_list(s, value, where, (opt_double_list *)field);
    }
    return s2s_fail(S2S_EINVAL, "%s: option has an unknown type", where);
}

/* The table is written by hand next to a struct; a mistake there should be a clear error at
 * the first parse rather than an option that silently cannot be set. */
static int check_specs(const opt_spec *specs, int n)
{
    for (int i = 0; i < n; i++) {
        const opt_spec *s = &specs[i];
        if (!s->name || !s->name[0] || strpbrk(s->name, "= \t#") || !strncmp(s->name, "-", 1))
            return s2s_fail(S2S_EINVAL, "option table: entry %d has an unusable name '%s'", i,
                            s->name ? s->name : "(null)");
        if (!strcmp(s->name, "config") || !strcmp(s->name, "help"))
            return s2s_fail(S2S_EINVAL, "option table: '%s' is reserved", s->name);
        if (find_spec(specs, i, s->name, strlen(s->name)))
            return s2s_fail(S2S_EINVAL, "option table: '%s' is defined twice", s->name);
        if ((unsigned)s->type > OPT_DOUBLE_LIST || !s->def || !s->help)
            return s2s_fail(S2S_EINVAL, "option table: '%s' lacks a type, default or help text",
                            s->name);
        if (s->type == OPT_CHOICE && (!s->choices || !s->choices[0]))
            return s2s_fail(S2S_EINVAL, "option table: choice option '%s' has no choices", s->name);
    }
    return 0;
}

int opts_set_defaults(const opt_spec *specs, int n, void *dst)
{
    int rc = check_specs(specs, n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++) {
        char where[96];
        snprintf(where, sizeof where, "default of --%s", specs[i].name);
        if (specs[i].type == OPT_STRING_LIST) /* the default is the whole list */
            ((opt_string_list *)((char *)dst + specs[i].offset))->n = 0;
        /* A bad default is a table error, not the user's. */
        if (opts_set(&specs[i], dst, specs[i].def, where) < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", s2s_errmsg(S2S_EUSAGE));
            return s2s_fail(S2S_EINVAL, "option table: %s", msg);
        }
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* One source of values (the base list, a file, the command line): the first occurrence of a
 * repeatable option in it replaces what the earlier sources gave, the later ones add to it. */
typedef struct {
    const opt_spec *specs;
    bool *seen; /* [n] */
} source_pass;

static int pass_start(source_pass *p, const opt_spec *specs, int n)
{
    p->specs = specs;
    p->seen = calloc((size_t)(n > 0 ? n : 1), sizeof *p->seen);
    return p->seen ? 0 : s2s_fail(S2S_ENOMEM, "options: cannot allocate %d flags", n);
}

static int pass_set(source_pass *p, const opt_spec *s, void *dst, const char *value,
                    const char *where)
{
    bool *seen = &p->seen[s - p->specs];
    if (s->type == OPT_STRING_LIST && !*seen)
        ((opt_string_list *)((char *)dst + s->offset))->n = 0;
    *seen = true;
    return opts_set(s, dst, value, where);
}

int opts_parse_file(const opt_spec *specs, int n, void *dst, const char *path)
{
    source_pass pass;
    int prc = pass_start(&pass, specs, n);
    if (prc < 0)
        return prc;
    FILE *f = fopen(path, "r");
    if (!f) {
        free(pass.seen);
        return s2s_fail(S2S_EUSAGE, "%s: cannot open configuration file: %s", path,
                        strerror(errno));
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char where[320];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            rc =
                s2s_fail(S2S_EUSAGE, "%s: line longer than %zu characters", where, sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = s2s_fail(S2S_EUSAGE, "%s: expected 'name = value', got '%s'", where, s);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        const opt_spec *spec = find_spec(specs, n, key, strlen(key));
        if (!spec) {
            rc = s2s_fail(S2S_EUSAGE, "%s: unknown option '%s'", where, key);
            break;
        }
        snprintf(where, sizeof where, "%s:%d: %s", path, lineno, key);
        if ((rc = pass_set(&pass, spec, dst, value, where)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = s2s_fail(S2S_EIO, "%s: read error", path);
    fclose(f);
    free(pass.seen);
    return rc;
}

const char *opts_find_arg(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    const char *found = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
            continue;
        if (a[2 + len] == '=')
            found = a + 3 + len;
        else if (a[2 + len] == '\0' && i + 1 < argc)
            found = argv[++i];
    }
    return found;
}

/* One command-line argument, split but not yet applied. */
typedef struct {
    const opt_spec *spec; /* the option, or NULL for --config and unknown names */
    const char *name;     /* as written, after the dashes; `len` characters */
    size_t len;
    const char *value; /* after '=', or NULL */
    bool negated;      /* --no-NAME of a boolean */
    bool is_config;
    bool takes_next; /* the value is the next argument */
} arg_info;

/* Splits "--name[=value]"; false for anything that does not start with "--". */
static bool split_arg(const opt_spec *specs, int n, const char *a, arg_info *ai)
{
    memset(ai, 0, sizeof *ai);
    if (strncmp(a, "--", 2) != 0)
        return false;
    ai->name = a + 2;
    const char *eq = strchr(ai->name, '=');
    ai->len = eq ? (size_t)(eq - ai->name) : strlen(ai->name);
    ai->value = eq ? eq + 1 : NULL;
    ai->is_config = name_is(ai->name, ai->len, "config");
    ai->spec = find_spec(specs, n, ai->name, ai->len);
    if (!ai->spec && ai->len > 3 && !strncmp(ai->name, "no-", 3)) {
        const opt_spec *s = find_spec(specs, n, ai->name + 3, ai->len - 3);
        if (s && s->type == OPT_BOOL) {
            ai->spec = s;
            ai->negated = true;
        }
    }
    ai->takes_next = !eq && (ai->is_config || (ai->spec && ai->spec->type != OPT_BOOL));
    return true;
}

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

int opts_parse(const opt_spec *specs, int n, void *dst, int argc, char **argv,
               const char *const *base, bool *help)
{
    int rc;
    *help = false;
    if ((rc = opts_set_defaults(specs, n, dst)) < 0)
        return rc;

    /* --help wins over everything, even over arguments that are wrong, so that it is looked
     * for first; values are skipped so that `--name --help` sets a string rather than asking
     * for help. */
    arg_info ai;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            *help = true;
            return 0;
        }
        if (split_arg(specs, n, argv[i], &ai) && ai.takes_next)
            i++;
    }

    source_pass pass = {0};
    if ((rc = pass_start(&pass, specs, n)) < 0)
        return rc;
    for (int i = 0; base && base[i]; i++) {
        const char *eq = strchr(base[i], '=');
        const opt_spec *spec = eq ? find_spec(specs, n, base[i], (size_t)(eq - base[i])) : NULL;
        if (!spec) {
            rc = s2s_fail(S2S_EINVAL, "preset entry '%s' names no option", base[i]);
            goto done;
        }
        if ((rc = pass_set(&pass, spec, dst, eq + 1, base[i])) < 0)
            goto done;
    }

    /* The files before any argument, wherever --config stands, so the command line wins. */
    for (int i = 0; i < argc; i++) {
        if (!split_arg(specs, n, argv[i], &ai) || !ai.is_config) {
            i += ai.takes_next;
            continue;
        }
        const char *path = ai.value;
        if (!path && i + 1 < argc)
            path = argv[++i];
        if (!path || !path[0]) {
            rc = s2s_fail(S2S_EUSAGE, "--config: missing file name");
            goto done;
        }
        if ((rc = opts_parse_file(specs, n, dst, path)) < 0)
            goto done;
    }

    memset(pass.seen, 0, (size_t)n * sizeof *pass.seen); /* the command line: a new source */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!split_arg(specs, n, a, &ai)) {
            rc = s2s_fail(S2S_EUSAGE, "unexpected argument '%s' (options start with --)", a);
            goto done;
        }
        if (ai.is_config) {
            i += ai.takes_next;
            continue;
        }
        if (!ai.spec) {
            rc = s2s_fail(S2S_EUSAGE, "unknown option '--%.*s' (see --help)", (int)ai.len, ai.name);
            goto done;
        }
        char where[96];
        snprintf(where, sizeof where, "--%s", ai.spec->name);
        const char *value = ai.value;
        if (ai.negated) {
            if (value) {
                rc = s2s_fail(S2S_EUSAGE, "--no-%s takes no value", ai.spec->name);
                goto done;
            }
            value = "false";
        } else if (!value && ai.spec->type == OPT_BOOL) {
            value = "true";
        } else if (!value) {
            if (i + 1 >= argc) {
                rc = s2s_fail(S2S_EUSAGE, "--%s: missing value", ai.spec->name);
                goto done;
            }
            value = argv[++i];
        }
        if ((rc = pass_set(&pass, ai.spec, dst, value, where)) < 0)
            goto done;
    }
done:
    free(pass.seen);
    return rc;
}

/* The syntax column: "--name TYPE", "--name a|b|c" or "--[no-]name". */
static void syntax_text(const opt_spec *s, char *buf, size_t size)
{
    static const char *const type_names[] = {"INT",  "INT", "INT",     "NUM",    "",
                                             "TEXT", "",    "TEXT...", "NUM,..."};
    if (s->type == OPT_BOOL) {
        snprintf(buf, size, "--[no-]%s", s->name);
    } else if (s->type == OPT_CHOICE) {
        char list[256];
        join_choices(s->choices, "|", list, sizeof list);
        snprintf(buf, size, "--%s %s", s->name, list);
    } else {
        snprintf(buf, size, "--%s %s", s->name, type_names[s->type]);
    }
}

/* Appends `word` (len characters) at column *col, starting a new line indented to `indent`
 * when it would pass HELP_COLUMNS. */
static void put_word(FILE *f, const char *word, int len, int indent, int *col)
{
    if (*col > indent && *col + 1 + len > HELP_COLUMNS) {
        fprintf(f, "\n%*s", indent, "");
        *col = indent;
    } else if (*col > indent) {
        fputc(' ', f);
        (*col)++;
    }
    fprintf(f, "%.*s", len, word);
    *col += len;
}

static void print_entry(FILE *f, const char *syntax, int width, const char *help, const char *def)
{
    int indent = 2 + width + 2;
    fprintf(f, "  %s", syntax);
    int col = 2 + (int)strlen(syntax);
    if (col + 2 > indent)
        fprintf(f, "\n");
    fprintf(f, "%*s", col + 2 > indent ? indent : indent - col, "");
    col = indent;
    for (const char *p = help; *p;) {
        while (*p == ' ')
            p++;
        int len = (int)strcspn(p, " ");
        if (len > 0)
            put_word(f, p, len, indent, &col);
        p += len;
    }
    if (def) {
        /* One unit, so the default is never split from its label. */
        char text[OPT_STRING_MAX + 16];
        snprintf(text, sizeof text, "(default: %s)", def);
        put_word(f, text, (int)strlen(text), indent, &col);
    }
    fputc('\n', f);
}

void opts_print_help(FILE *f, const opt_spec *specs, int n)
{
    char syntax[320];
    int width = (int)strlen("--config FILE");
    for (int i = 0; i < n; i++) {
        syntax_text(&specs[i], syntax, sizeof syntax);
        int len = (int)strlen(syntax);
        if (len <= HELP_LEFT_MAX && len > width)
            width = len;
    }
    print_entry(f, "--config FILE", width, "read options from FILE (name = value lines)", NULL);
    for (int i = 0; i < n; i++) {
        syntax_text(&specs[i], syntax, sizeof syntax);
        const char *def = specs[i].def;
        /* An empty text is no default: the option is required or off, as its help says. */
        bool text = specs[i].type == OPT_STRING || specs[i].type == OPT_STRING_LIST ||
                    specs[i].type == OPT_DOUBLE_LIST;
        print_entry(f, syntax, width, specs[i].help, text && !def[0] ? NULL : def);
    }
    print_entry(f, "--help", width, "show this help", NULL);
}

/* The shortest of %.15g..%.17g that reads back as the same double, so 0.1 is written as 0.1. */
static void format_double(double v, char *buf, size_t size)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A `name = value` line of a string that reads back as itself: no # or line break, no
 * whitespace at either end (trimmed on reading), not truncated. */
static int write_string(FILE *f, const opt_spec *s, const char *value)
{
    size_t len = strnlen(value, OPT_STRING_MAX);
    if (len == OPT_STRING_MAX || strpbrk(value, "#\n\r") ||
        (len > 0 && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[len - 1]))))
        return s2s_fail(S2S_EINVAL, "--%s: value '%.*s' cannot be written to a configuration file",
                        s->name, (int)len, value);
    fprintf(f, "%s = %s\n", s->name, value);
    return 0;
}

int opts_write_config(FILE *f, const opt_spec *specs, int n, const void *src)
{
    int rc;
    for (int i = 0; i < n; i++) {
        const opt_spec *s = &specs[i];
        const char *field = (const char *)src + s->offset;
        char num[64];
        switch (s->type) {
        case OPT_INT: fprintf(f, "%s = %d\n", s->name, *(const int *)field); break;
        case OPT_UINT: fprintf(f, "%s = %u\n", s->name, *(const unsigned *)field); break;
        case OPT_LONG: fprintf(f, "%s = %ld\n", s->name, *(const long *)field); break;
        case OPT_DOUBLE:
            format_double(*(const double *)field, num, sizeof num);
            fprintf(f, "%s = %s\n", s->name, num);
            break;
        case OPT_BOOL:
            fprintf(f, "%s = %s\n", s->name, *(const bool *)field ? "true" : "false");
            break;
        case OPT_STRING:
            if ((rc = write_string(f, s, field)) < 0)
                return rc;
            break;
        case OPT_STRING_LIST: {
            const opt_string_list *l = (const opt_string_list *)field;
            if (l->n == 0) /* the empty value empties the list */
                fprintf(f, "%s =\n", s->name);
            for (int k = 0; k < l->n; k++)
                if ((rc = write_string(f, s, l->item[k])) < 0)
                    return rc;
            break;
        }
        case OPT_DOUBLE_LIST: {
            const opt_double_list *l = (const opt_double_list *)field;
            fprintf(f, "%s =%s", s->name, l->n ? " " : "");
            for (int k = 0; k < l->n; k++) {
                format_double(l->v[k], num, sizeof num);
                fprintf(f, "%s%s", k ? "," : "", num);
            }
            fputc('\n', f);
            break;
        }
        case OPT_CHOICE: {
            int k = *(const int *)field;
            if (k < 0 || k >= choice_count(s->choices))
                return s2s_fail(S2S_EINVAL, "--%s: value %d is not a valid choice index", s->name,
                                k);
            fprintf(f, "%s = %s\n", s->name, s->choices[k]);
            break;
        }
        }
    }
    if (fflush(f) != 0 || ferror(f))
        return s2s_fail(S2S_EIO, "writing the configuration failed: %s", strerror(errno));
    return 0;
}
