/* options.c - table-driven command-line and configuration-file options. */
#include "s2s/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

static const opt_spec *find_spec(const opt_spec *specs, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

static int check_range(const opt_spec *s, double v, const char *where, const char *value)
{
    if (s->min < s->max && (v < s->min || v > s->max))
        return s2s_fail(S2S_EUSAGE, "%s: %s is outside the allowed range [%g, %g]", where, value,
                        s->min, s->max);
    return 0;
}

static int parse_integer(const opt_spec *s, const char *value, const char *where, long long lo,
                         long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        return s2s_fail(S2S_EUSAGE, "%s: expected an integer, got '%s'", where, value);
    *out = v;
    return check_range(s, (double)v, where, value);
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
    case OPT_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v))
            return s2s_fail(S2S_EUSAGE, "%s: expected a number, got '%s'", where, value);
        if ((rc = check_range(s, v, where, value)) < 0)
            return rc;
        *(double *)field = v;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(bool *)field = false;
        else
            return s2s_fail(S2S_EUSAGE, "%s: expected true or false, got '%s'", where, value);
        return 0;
    case OPT_STRING:
        if (strlen(value) >= OPT_STRING_MAX)
            return s2s_fail(S2S_EUSAGE, "%s: value longer than %d characters", where,
                            OPT_STRING_MAX - 1);
        strcpy(field, value);
        return 0;
    case OPT_CHOICE:
        for (int k = 0; s->choices[k]; k++)
            if (!strcmp(value, s->choices[k])) {
                *(int *)field = k;
                return 0;
            }
        {
            char list[512] = "";
            for (int k = 0; s->choices[k]; k++) {
                strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, s->choices[k], sizeof list - strlen(list) - 1);
            }
            return s2s_fail(S2S_EUSAGE, "%s: '%s' is not one of %s", where, value, list);
        }
    }
    return s2s_fail(S2S_EINVAL, "%s: option has an unknown type", where);
}

int opts_set_defaults(const opt_spec *specs, int n, void *dst)
{
    for (int i = 0; i < n; i++) {
        char where[96];
        snprintf(where, sizeof where, "default of --%s", specs[i].name);
        int rc = opts_set(&specs[i], dst, specs[i].def, where);
        if (rc < 0)
            return rc;
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

int opts_parse_file(const opt_spec *specs, int n, void *dst, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return s2s_fail(S2S_EUSAGE, "%s: cannot open configuration file: %s", path,
                        strerror(errno));
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char where[300];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            rc = s2s_fail(S2S_EUSAGE, "%s: line longer than %zu characters", where,
                          sizeof line - 2);
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
            rc = s2s_fail(S2S_EUSAGE, "%s: expected 'key = value', got '%s'", where, s);
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
        if ((rc = opts_set(spec, dst, value, where)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = s2s_fail(S2S_EIO, "%s: read error", path);
    fclose(f);
    return rc;
}

const char *opts_find_arg(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
            continue;
        if (a[2 + len] == '=')
            return a + 3 + len;
        if (a[2 + len] == '\0' && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

int opts_parse(const opt_spec *specs, int n, void *dst, int argc, char **argv,
               const char *const *base, bool *help)
{
    int rc;
    *help = false;
    if ((rc = opts_set_defaults(specs, n, dst)) < 0)
        return rc;
    for (int i = 0; base && base[i]; i++) {
        const char *eq = strchr(base[i], '=');
        const opt_spec *spec = eq ? find_spec(specs, n, base[i], (size_t)(eq - base[i])) : NULL;
        if (!spec)
            return s2s_fail(S2S_EINVAL, "preset entry '%s' names no option", base[i]);
        if ((rc = opts_set(spec, dst, eq + 1, base[i])) < 0)
            return rc;
    }
    /* The file first, wherever --config stands, so that the command line always wins. */
    const char *config = opts_find_arg(argc, argv, "config");
    if (config && (rc = opts_parse_file(specs, n, dst, config)) < 0)
        return rc;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return s2s_fail(S2S_EUSAGE, "unexpected argument '%s' (options start with --)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 6 && !strncmp(name, "config", 6)) {
            if (!eq && ++i >= argc)
                return s2s_fail(S2S_EUSAGE, "--config: missing file name");
            continue;
        }
        const opt_spec *spec = find_spec(specs, n, name, len);
        bool negated = false;
        if (!spec && len > 3 && !strncmp(name, "no-", 3)) {
            spec = find_spec(specs, n, name + 3, len - 3);
            negated = spec && spec->type == OPT_BOOL;
            if (!negated)
                spec = NULL;
        }
        if (!spec)
            return s2s_fail(S2S_EUSAGE, "unknown option '--%.*s' (see --help)", (int)len, name);
        char where[96];
        snprintf(where, sizeof where, "--%s", spec->name);
        const char *value;
        if (negated) {
            if (eq)
                return s2s_fail(S2S_EUSAGE, "--no-%s takes no value", spec->name);
            value = "false";
        } else if (eq) {
            value = eq + 1;
        } else if (spec->type == OPT_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return s2s_fail(S2S_EUSAGE, "--%s: missing value", spec->name);
        }
        if ((rc = opts_set(spec, dst, value, where)) < 0)
            return rc;
    }
    return 0;
}

static const char *type_text(const opt_spec *s, char *buf, size_t size)
{
    static const char *const names[] = {"INT", "INT", "INT", "NUM", "", "TEXT", ""};
    if (s->type != OPT_CHOICE)
        return names[s->type];
    buf[0] = '\0';
    for (int k = 0; s->choices[k]; k++) {
        strncat(buf, k ? "|" : "", size - strlen(buf) - 1);
        strncat(buf, s->choices[k], size - strlen(buf) - 1);
    }
    return buf;
}

void opts_print_help(FILE *f, const opt_spec *specs, int n)
{
    char left[n > 0 ? n : 1][96];
    int width = 0;
    for (int i = 0; i < n; i++) {
        char types[256];
        const char *t = type_text(&specs[i], types, sizeof types);
        if (specs[i].type == OPT_BOOL)
            snprintf(left[i], sizeof left[i], "--[no-]%s", specs[i].name);
        else
            snprintf(left[i], sizeof left[i], "--%s %s", specs[i].name, t);
        int len = (int)strlen(left[i]);
        width = len > width ? len : width;
    }
    fprintf(f, "  %-*s  %s\n", width, "--config FILE", "read options from FILE (key = value lines)");
    for (int i = 0; i < n; i++)
        fprintf(f, "  %-*s  %s (default: %s)\n", width, left[i], specs[i].help,
                specs[i].type == OPT_STRING && !specs[i].def[0] ? "none" : specs[i].def);
    fprintf(f, "  %-*s  %s\n", width, "--help", "show this help");
}

void opts_write(FILE *f, const opt_spec *specs, int n, const void *src)
{
    for (int i = 0; i < n; i++) {
        const opt_spec *s = &specs[i];
        const char *field = (const char *)src + s->offset;
        fprintf(f, "%s = ", s->name);
        switch (s->type) {
        case OPT_INT: fprintf(f, "%d\n", *(const int *)field); break;
        case OPT_UINT: fprintf(f, "%u\n", *(const unsigned *)field); break;
        case OPT_LONG: fprintf(f, "%ld\n", *(const long *)field); break;
        case OPT_DOUBLE: fprintf(f, "%.17g\n", *(const double *)field); break;
        case OPT_BOOL: fprintf(f, "%s\n", *(const bool *)field ? "true" : "false"); break;
        case OPT_STRING: fprintf(f, "%s\n", field); break;
        case OPT_CHOICE: fprintf(f, "%s\n", s->choices[*(const int *)field]); break;
        }
    }
}
