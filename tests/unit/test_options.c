/* test_options.c - the option tables: defaults, both argument syntaxes, booleans, choices,
 * ranges, strict numbers, configuration files and their precedence, --help, the help text,
 * writing a configuration back out, malformed tables, and the wording of the errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/options.h"
#include "s2s/status.h"

typedef struct {
    int hidden;
    unsigned seed;
    long steps;
    double lr;
    bool bidir;
    char name[OPT_STRING_MAX];
    int cell;
    int sched;
} cfg;

static const char *const CELLS[] = {"rnn", "gru", "lstm", NULL};
static const char *const SCHEDS[] = {"constant", "linear", "inverse-sigmoid", "cosine-restarts",
                                     NULL};
static const char LONG_HELP[] = "a deliberately long description that cannot fit on one line of "
                                "the help output and so has to be wrapped onto a second line";
static const opt_spec SPECS[] = {
    {"hidden", OPT_INT, offsetof(cfg, hidden), "512", "hidden size", NULL, 1, 4096},
    {"seed", OPT_UINT, offsetof(cfg, seed), "7", "seed", NULL, 0, 0},
    {"steps", OPT_LONG, offsetof(cfg, steps), "100", "steps", NULL, 0, 0},
    {"lr", OPT_DOUBLE, offsetof(cfg, lr), "0.5", "learning rate", NULL, 0, 10},
    {"bidir", OPT_BOOL, offsetof(cfg, bidir), "true", "bidirectional", NULL, 0, 0},
    {"name", OPT_STRING, offsetof(cfg, name), "", LONG_HELP, NULL, 0, 0},
    {"cell", OPT_CHOICE, offsetof(cfg, cell), "gru", "cell", CELLS, 0, 0},
    {"sched", OPT_CHOICE, offsetof(cfg, sched), "linear", "schedule", SCHEDS, 0, 0},
};
#define N ((int)(sizeof SPECS / sizeof SPECS[0]))
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(cfg *c, int argc, char **argv)
{
    bool help;
    int rc = opts_parse(SPECS, N, c, argc, argv, NULL, &help);
    cr_assert(!help, "--help reported for arguments without it");
    return rc;
}

static const char *msg(void)
{
    return s2s_errmsg(S2S_EUSAGE);
}

/* Parsing must fail with S2S_EUSAGE and a message that contains each non-NULL needle. */
static void expect_error(int argc, char **argv, const char *needle1, const char *needle2)
{
    cfg c;
    cr_expect_eq(parse(&c, argc, argv), S2S_EUSAGE, "'%s %s' accepted", argv[0],
                 argc > 1 ? argv[1] : "");
    cr_expect(strstr(msg(), needle1) != NULL, "message '%s' lacks '%s'", msg(), needle1);
    if (needle2)
        cr_expect(strstr(msg(), needle2) != NULL, "message '%s' lacks '%s'", msg(), needle2);
}

/* Parsing `--name value` must fail with exactly this message. */
static void expect_message(const char *name, const char *value, const char *want)
{
    cfg c;
    char *argv[] = {(char *)name, (char *)value};
    cr_expect_eq(parse(&c, 2, argv), S2S_EUSAGE, "'%s %s' accepted", name, value);
    cr_expect_str_eq(msg(), want, "message for '%s %s'", name, value);
}

/* A temporary file holding `text`; the path is written to path[64]. */
static void write_file(char *path, const char *text)
{
    strcpy(path, "/tmp/s2s_opts_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp failed");
    FILE *f = fdopen(fd, "w");
    cr_assert(f != NULL, "fdopen failed");
    fputs(text, f);
    fclose(f);
}

Test(options, defaults)
{
    cfg c;
    memset(&c, 0x55, sizeof c);
    cr_assert_eq(parse(&c, 0, NULL), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 512, "hidden default");
    cr_expect_eq(c.seed, 7u, "seed default");
    cr_expect_eq(c.steps, 100, "steps default");
    cr_expect_eq(c.lr, 0.5, "lr default (0.5 is exact in binary)");
    cr_expect(c.bidir, "bidir default");
    cr_expect_str_eq(c.name, "", "name default");
    cr_expect_eq(c.cell, 1, "cell default is the index of gru");
    cr_expect_eq(c.sched, 1, "sched default is the index of linear");
    cfg d;
    memset(&d, 0x55, sizeof d);
    cr_assert_eq(opts_set_defaults(SPECS, N, &d), 0, "opts_set_defaults: %s", msg());
    cr_expect(d.hidden == c.hidden && d.lr == c.lr && d.cell == c.cell && !strcmp(d.name, c.name),
              "opts_set_defaults and opts_parse without arguments disagree");
}

Test(options, both_syntaxes_and_every_type)
{
    cfg c;
    char *argv[] = {
        "--hidden", "64",         "--lr=0.25",          "--name",  "run one",        "--cell=lstm",
        "--seed",   "4294967295", "--steps=9000000000", "--sched", "inverse-sigmoid"};
    cr_assert_eq(parse(&c, ARGC(argv), argv), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 64, "--hidden 64");
    cr_expect_eq(c.lr, 0.25, "--lr=0.25");
    cr_expect_str_eq(c.name, "run one", "--name with a space");
    cr_expect_eq(c.cell, 2, "--cell=lstm is index 2");
    cr_expect_eq(c.seed, 4294967295u, "--seed at UINT_MAX");
    cr_expect_eq(c.steps, 9000000000L, "--steps beyond 32 bits");
    cr_expect_eq(c.sched, 2, "--sched inverse-sigmoid is index 2");
    /* A value may itself start with dashes or contain '='. */
    char *a2[] = {"--name", "--odd", "--hidden=8", "--name=a=b"};
    cr_assert_eq(parse(&c, 2, a2), 0, "parse: %s", msg());
    cr_expect_str_eq(c.name, "--odd", "--name takes the next argument whatever it looks like");
    cr_assert_eq(parse(&c, 4, a2), 0, "parse: %s", msg());
    cr_expect_str_eq(c.name, "a=b", "--name=a=b splits at the first '='");
    cr_expect_eq(c.hidden, 8, "--hidden=8");
    /* Later occurrences win. */
    char *a3[] = {"--hidden", "8", "--hidden=9"};
    cr_assert_eq(parse(&c, 3, a3), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 9, "the last --hidden wins");
}

Test(options, booleans)
{
    cfg c;
    char *a1[] = {"--no-bidir"};
    cr_assert_eq(parse(&c, 1, a1), 0, "parse: %s", msg());
    cr_expect(!c.bidir, "--no-bidir");
    char *a2[] = {"--no-bidir", "--bidir"};
    cr_assert_eq(parse(&c, 2, a2), 0, "parse: %s", msg());
    cr_expect(c.bidir, "a later --bidir wins over --no-bidir");
    /* A bare flag does not swallow the next argument. */
    char *a3[] = {"--no-bidir", "--bidir", "--hidden", "3"};
    cr_assert_eq(parse(&c, 4, a3), 0, "parse: %s", msg());
    cr_expect(c.bidir && c.hidden == 3, "--bidir followed by --hidden 3");
    const char *trues[] = {"true", "1", "yes"}, *falses[] = {"false", "0", "no"};
    for (int k = 0; k < 3; k++) {
        char arg[32];
        snprintf(arg, sizeof arg, "--bidir=%s", falses[k]);
        char *a4[] = {arg};
        cr_assert_eq(parse(&c, 1, a4), 0, "parse %s: %s", arg, msg());
        cr_expect(!c.bidir, "%s gives false", arg);
        snprintf(arg, sizeof arg, "--bidir=%s", trues[k]);
        char *a5[] = {"--no-bidir", arg};
        cr_assert_eq(parse(&c, 2, a5), 0, "parse %s: %s", arg, msg());
        cr_expect(c.bidir, "%s gives true", arg);
    }
    char *a6[] = {"--bidir=maybe"};
    expect_error(1, a6, "--bidir: expected true or false, got 'maybe'", NULL);
    char *a7[] = {"--no-bidir=true"};
    expect_error(1, a7, "--no-bidir takes no value", NULL);
    char *a8[] = {"--no-hidden"};
    expect_error(1, a8, "unknown option '--no-hidden'", NULL);
    char *a9[] = {"--bidir=TRUE"};
    expect_error(1, a9, "--bidir", "TRUE");
}

Test(options, choices)
{
    cfg c;
    for (int k = 0; CELLS[k]; k++) {
        char *argv[] = {"--cell", (char *)CELLS[k]};
        cr_assert_eq(parse(&c, 2, argv), 0, "parse --cell %s: %s", CELLS[k], msg());
        cr_expect_eq(c.cell, k, "--cell %s stores index %d", CELLS[k], k);
    }
    expect_message("--cell", "gur", "--cell: 'gur' is not one of rnn, gru, lstm");
    expect_message("--cell", "GRU", "--cell: 'GRU' is not one of rnn, gru, lstm");
    expect_message("--cell", "", "--cell: '' is not one of rnn, gru, lstm");
}

Test(options, ranges)
{
    cfg c;
    char *lo[] = {"--hidden", "1"}, *hi[] = {"--hidden", "4096"};
    cr_assert_eq(parse(&c, 2, lo), 0, "lower bound rejected: %s", msg());
    cr_expect_eq(c.hidden, 1, "--hidden 1 (inclusive lower bound)");
    cr_assert_eq(parse(&c, 2, hi), 0, "upper bound rejected: %s", msg());
    cr_expect_eq(c.hidden, 4096, "--hidden 4096 (inclusive upper bound)");
    expect_message("--hidden", "0", "--hidden: 0 is outside the allowed range [1, 4096]");
    expect_message("--hidden", "4097", "--hidden: 4097 is outside the allowed range [1, 4096]");
    expect_message("--lr", "10.5", "--lr: 10.5 is outside the allowed range [0, 10]");
    expect_message("--lr", "-1e-9", "--lr: -1e-9 is outside the allowed range [0, 10]");
    char *d[] = {"--lr", "10"};
    cr_assert_eq(parse(&c, 2, d), 0, "--lr at its upper bound rejected: %s", msg());
    /* min == max: no range, only the type's limits. */
    char *s[] = {"--steps", "-5"};
    cr_assert_eq(parse(&c, 2, s), 0, "--steps -5 without a range rejected: %s", msg());
    cr_expect_eq(c.steps, -5, "--steps -5");
}

Test(options, malformed_numbers)
{
    expect_message("--hidden", "abc", "--hidden: expected an integer, got 'abc'");
    expect_message("--hidden", "12x", "--hidden: expected an integer, got '12x'");
    expect_message("--hidden", "", "--hidden: expected an integer, got ''");
    expect_message("--hidden", " 12", "--hidden: expected an integer, got ' 12'");
    expect_message("--hidden", "1.5", "--hidden: expected an integer, got '1.5'");
    expect_message("--hidden", "0x10", "--hidden: expected an integer, got '0x10'");
    expect_message("--lr", "fast", "--lr: expected a number, got 'fast'");
    expect_message("--lr", "0.1.2", "--lr: expected a number, got '0.1.2'");
    expect_message("--lr", "nan", "--lr: expected a finite number, got 'nan'");
    expect_message("--lr", "inf", "--lr: expected a finite number, got 'inf'");
    char *a1[] = {"--hidden", "99999999999"};
    expect_error(2, a1, "--hidden: 99999999999 does not fit", NULL);
    char *a2[] = {"--seed", "-1"};
    expect_error(2, a2, "--seed: -1 does not fit", NULL);
    char *a3[] = {"--steps", "99999999999999999999"};
    expect_error(2, a3, "--steps: 99999999999999999999 does not fit", NULL);
    char *a4[] = {"--lr", "1e400"};
    expect_error(2, a4, "--lr: 1e400 is too large or too small", NULL);
    cfg c;
    char *ok[] = {"--lr", "2.5e-1", "--steps", "+12"};
    cr_assert_eq(parse(&c, 4, ok), 0, "exponent or sign rejected: %s", msg());
    cr_expect_eq(c.lr, 0.25, "--lr 2.5e-1");
    cr_expect_eq(c.steps, 12, "--steps +12");
}

Test(options, unknown_options_and_stray_arguments)
{
    char *a1[] = {"--hiden", "3"};
    expect_error(2, a1, "unknown option '--hiden'", NULL);
    char *a2[] = {"--hiden=3"};
    expect_error(1, a2, "unknown option '--hiden'", NULL);
    char *a3[] = {"stray"};
    expect_error(1, a3, "unexpected argument 'stray'", NULL);
    char *a4[] = {"-x"};
    expect_error(1, a4, "unexpected argument '-x'", NULL);
    char *a5[] = {"--hidden"};
    expect_error(1, a5, "--hidden: missing value", NULL);
    char *a6[] = {"--hidden", "3", "4"};
    expect_error(3, a6, "unexpected argument '4'", NULL);
    char *a7[] = {"--config"};
    expect_error(1, a7, "--config: missing file name", NULL);
    char *a8[] = {"--hid", "3"};
    expect_error(2, a8, "unknown option '--hid'", NULL);
}

Test(options, config_file_syntax)
{
    char path[64];
    write_file(path, "# a comment\n\n  hidden = 128   # trailing comment\n\tlr=0.125\r\n"
                     "bidir = false\ncell = rnn\nname =   two words  \n   # indented comment\n"
                     "hidden = 130\n");
    cfg c;
    char *a1[] = {"--config", path};
    cr_assert_eq(parse(&c, 2, a1), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 130, "a later line in the file wins");
    cr_expect_eq(c.lr, 0.125, "lr from a line with a tab and CRLF");
    cr_expect(!c.bidir, "bidir from file");
    cr_expect_eq(c.cell, 0, "cell from file");
    cr_expect_str_eq(c.name, "two words", "string value trimmed, inner space kept");
    cr_expect_eq(c.seed, 7u, "an option absent from the file keeps its default");
    remove(path);

    write_file(path, "name =\n");
    cr_assert_eq(parse(&c, 2, a1), 0, "parse: %s", msg());
    cr_expect_str_eq(c.name, "", "empty value for a string");
    remove(path);

    write_file(path, "");
    cr_assert_eq(parse(&c, 2, a1), 0, "empty file: %s", msg());
    cr_expect_eq(c.hidden, 512, "empty file leaves the defaults");
    remove(path);
}

/* The file's first failing line must be reported as PATH:LINE with `detail`. */
static void expect_file_error(const char *text, int line, const char *detail)
{
    char path[64], want[160];
    write_file(path, text);
    cfg c;
    char *argv[] = {"--config", path};
    cr_expect_eq(parse(&c, 2, argv), S2S_EUSAGE, "file accepted:\n%s", text);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, detail);
    cr_expect_str_eq(msg(), want, "message for file:\n%s", text);
    remove(path);
}

Test(options, config_file_errors_name_file_and_line)
{
    expect_file_error("hidden = 64\n\n# x\nhiden = 3\n", 4, "unknown option 'hiden'");
    expect_file_error("hidden 64\n", 1, "expected 'name = value', got 'hidden 64'");
    expect_file_error("lr = 1\nhidden = abc\n", 2, "hidden: expected an integer, got 'abc'");
    expect_file_error("cell = gur\n", 1, "cell: 'gur' is not one of rnn, gru, lstm");
    expect_file_error("= 3\n", 1, "unknown option ''");
    expect_file_error("--hidden = 3\n", 1, "unknown option '--hidden'");
    expect_file_error("config = other.conf\n", 1, "unknown option 'config'");
    expect_file_error("hidden = 9999\n", 1, "hidden: 9999 is outside the allowed range [1, 4096]");
    char long_line[1200];
    memset(long_line, 'x', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = '\0';
    memcpy(long_line, "name = ", 7);
    expect_file_error(long_line, 1, "line longer than 1022 characters");

    cfg c;
    char *a3[] = {"--config", "/nonexistent/s2s.conf"};
    cr_expect_eq(parse(&c, 2, a3), S2S_EUSAGE, "missing file accepted");
    cr_expect(strstr(msg(), "/nonexistent/s2s.conf: cannot open") != NULL, "message: %s", msg());
}

Test(options, command_line_wins_over_file_wherever_config_stands)
{
    char path[64];
    write_file(path, "hidden = 128\nlr = 0.125\nbidir = false\n");
    cfg c;
    char *a1[] = {"--hidden", "32", "--config", path, "--bidir"};
    cr_assert_eq(parse(&c, 5, a1), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 32, "--hidden before --config must win over the file");
    cr_expect(c.bidir, "--bidir after --config must win over the file");
    cr_expect_eq(c.lr, 0.125, "lr from the file");
    char cfgarg[100];
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
    char *a2[] = {"--lr", "2", cfgarg};
    cr_assert_eq(parse(&c, 3, a2), 0, "parse: %s", msg());
    cr_expect_eq(c.lr, 2.0, "--lr before --config=FILE must win over the file");
    cr_expect_eq(c.hidden, 128, "hidden from --config=FILE");

    /* Several files apply in order; all of them lose to the command line. */
    char path2[64];
    write_file(path2, "hidden = 256\nseed = 3\n");
    char *a3[] = {"--seed", "11", "--config", path, "--config", path2};
    cr_assert_eq(parse(&c, 6, a3), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 256, "the second file overrides the first");
    cr_expect_eq(c.lr, 0.125, "the first file's lr stays");
    cr_expect_eq(c.seed, 11u, "the command line beats both files");

    /* A --config that is the value of another option is not a file. */
    char *a4[] = {"--name", "--config", "--hidden", "5"};
    cr_assert_eq(parse(&c, 4, a4), 0, "parse: %s", msg());
    cr_expect_str_eq(c.name, "--config", "--config as the value of --name");
    cr_expect_eq(c.hidden, 5, "--hidden after it");
    remove(path);
    remove(path2);
}

Test(options, base_list_between_defaults_and_file)
{
    char path[64];
    write_file(path, "lr = 0.125\n");
    cfg c;
    bool help;
    const char *base[] = {"hidden=256", "cell=rnn", "lr=1", NULL};
    char *argv[] = {"--hidden", "8", "--config", path};
    cr_assert_eq(opts_parse(SPECS, N, &c, 4, argv, base, &help), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 8, "argument overrides the base");
    cr_expect_eq(c.cell, 0, "base overrides the default");
    cr_expect_eq(c.lr, 0.125, "file overrides the base");
    remove(path);
    const char *bad[] = {"hiden=3", NULL};
    cr_expect_eq(opts_parse(SPECS, N, &c, 0, NULL, bad, &help), S2S_EINVAL,
                 "base entry naming no option accepted");
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "hiden=3") != NULL, "message: %s",
              s2s_errmsg(S2S_EINVAL));
}

Test(options, help_wins_anywhere)
{
    cfg c;
    bool help;
    char *a1[] = {"--hidden", "8", "--help"};
    cr_assert_eq(opts_parse(SPECS, N, &c, 3, a1, NULL, &help), 0, "parse: %s", msg());
    cr_expect(help, "--help at the end not reported");
    cr_expect_eq(c.hidden, 512, "with --help the struct keeps its defaults");
    char *a2[] = {"--hiden", "x", "--lr", "fast", "-h", "--config", "/nonexistent"};
    cr_assert_eq(opts_parse(SPECS, N, &c, 7, a2, NULL, &help), 0, "parse: %s", msg());
    cr_expect(help, "-h after bad arguments not reported");
    char *a3[] = {"--name", "--help"};
    cr_assert_eq(opts_parse(SPECS, N, &c, 2, a3, NULL, &help), 0, "parse: %s", msg());
    cr_expect(!help, "--help as the value of --name taken for help");
    cr_expect_str_eq(c.name, "--help", "--name --help");
}

/* The help text of SPECS, as one string. */
static void help_text(char *buf, size_t size)
{
    FILE *f = fmemopen(buf, size, "w");
    cr_assert(f != NULL, "fmemopen failed");
    opts_print_help(f, SPECS, N);
    cr_assert_lt(ftell(f), (long)size - 1, "help text filled the buffer");
    fclose(f);
}

Test(options, help_text_lists_every_option_with_its_default)
{
    char buf[8192] = "";
    help_text(buf, sizeof buf);
    const char *syntax[] = {
        "--hidden INT",        "--seed INT",
        "--steps INT",         "--lr NUM",
        "--[no-]bidir",        "--name TEXT",
        "--cell rnn|gru|lstm", "--sched constant|linear|inverse-sigmoid|cosine-restarts",
        "--config FILE",       "--help"};
    for (size_t k = 0; k < sizeof syntax / sizeof syntax[0]; k++)
        cr_expect(strstr(buf, syntax[k]) != NULL, "help lacks '%s':\n%s", syntax[k], buf);
    for (int i = 0; i < N; i++) {
        char def[64];
        snprintf(def, sizeof def, "(default: %s)", SPECS[i].def);
        if (SPECS[i].def[0])
            cr_expect(strstr(buf, def) != NULL, "help lacks '%s' of --%s:\n%s", def,
                      SPECS[i].name, buf);
    }
    /* An empty text default is no default: nothing to show. */
    cr_expect(strstr(buf, "(default: )") == NULL && strstr(buf, "(default: empty)") == NULL,
              "help shows an empty default:\n%s", buf);
    for (int i = 0; i < N; i++) {
        if (SPECS[i].help != LONG_HELP)
            cr_expect(strstr(buf, SPECS[i].help) != NULL, "help lacks the text of --%s",
                      SPECS[i].name);
    }
}

Test(options, help_text_is_aligned_and_wrapped)
{
    char buf[8192] = "";
    help_text(buf, sizeof buf);
    /* Every description starts in one column: find it from the --hidden line. */
    const char *hidden = strstr(buf, "  --hidden INT");
    cr_assert(hidden != NULL, "no --hidden line:\n%s", buf);
    int column = (int)(strstr(hidden, "hidden size") - hidden);
    cr_assert_gt(column, (int)strlen("  --hidden INT"), "description column");
    int lines = 0, continuation = 0;
    char copy[8192];
    strcpy(copy, buf);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        int len = (int)strlen(line);
        cr_expect_leq(len, 100, "line longer than 100 columns: '%s'", line);
        cr_expect_gt(len, column, "line ends before the description column: '%s'", line);
        if (len <= column)
            continue;
        bool syntax = !strncmp(line, "  --", 4);
        if (!strncmp(line, "  --sched ", 10))
            continue; /* too long for the column: the description follows on the next line */
        cr_expect(line[column - 2] == ' ' && line[column - 1] == ' ' && line[column] != ' ',
                  "description not at column %d: '%s'", column, line);
        if (!syntax) {
            continuation++;
            cr_expect(strspn(line, " ") == (size_t)column, "continuation not indented: '%s'", line);
        }
    }
    cr_expect_eq(lines, N + 2 + 2,
                 "one line per option, --config and --help, plus the wrapped "
                 "long description and the --sched description line");
    cr_expect_eq(continuation, 2, "continuation lines (long help, --sched description)");
    /* Wrapping only replaced spaces: joining the lines gives the help text back. */
    char joined[8192];
    size_t k = 0;
    for (const char *p = buf; *p; p++) {
        if (*p == '\n') {
            p += strspn(p + 1, " ");
            joined[k++] = ' ';
        } else {
            joined[k++] = *p;
        }
    }
    joined[k] = '\0';
    cr_expect(strstr(joined, LONG_HELP) != NULL, "long help lost words:\n%s", buf);
}

Test(options, write_config_reads_back_to_the_same_values)
{
    cfg a, b;
    char *argv[] = {"--hidden", "77",  "--lr",    "0.1", "--no-bidir", "--cell",    "lstm",
                    "--name",   "x y", "--steps", "-3",  "--seed",     "4000000000"};
    cr_assert_eq(parse(&a, ARGC(argv), argv), 0, "parse: %s", msg());
    char path[64];
    write_file(path, "");
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "fopen %s", path);
    cr_assert_eq(opts_write_config(f, SPECS, N, &a), 0, "write: %s", s2s_errmsg(S2S_EINVAL));
    fclose(f);
    char text[1024] = "";
    f = fopen(path, "r");
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cr_expect(strstr(text, "lr = 0.1\n") != NULL, "0.1 not written in shortest form:\n%s", text);
    cr_expect(strstr(text, "cell = lstm\n") && strstr(text, "bidir = false\n"),
              "choice or bool not written by name:\n%s", text);
    char *a2[] = {"--config", path};
    cr_assert_eq(parse(&b, 2, a2), 0, "reading back: %s", msg());
    cr_expect(a.hidden == b.hidden && a.lr == b.lr && a.bidir == b.bidir && a.cell == b.cell &&
                  !strcmp(a.name, b.name) && a.seed == b.seed && a.steps == b.steps &&
                  a.sched == b.sched,
              "values differ after a write/read round trip:\n%s", text);
    remove(path);

    /* A double that needs 17 digits survives exactly. */
    a.lr = 1.0 / 3.0;
    char buf[1024];
    f = fmemopen(buf, sizeof buf, "w");
    cr_assert_eq(opts_write_config(f, SPECS, N, &a), 0, "write: %s", s2s_errmsg(S2S_EINVAL));
    fclose(f);
    const char *lr = strstr(buf, "lr = ");
    cr_assert(lr != NULL, "no lr line");
    cr_expect_eq(strtod(lr + 5, NULL), 1.0 / 3.0, "1/3 does not read back exactly: %s", lr);
}

Test(options, write_config_refuses_values_it_cannot_read_back)
{
    const char *bad[] = {"a # b", " lead", "trail ", "two\nlines"};
    for (int k = 0; k < 4; k++) {
        cfg c;
        cr_assert_eq(opts_set_defaults(SPECS, N, &c), 0, "defaults: %s", msg());
        strcpy(c.name, bad[k]);
        char buf[1024];
        FILE *f = fmemopen(buf, sizeof buf, "w");
        cr_expect_eq(opts_write_config(f, SPECS, N, &c), S2S_EINVAL, "name '%s' written", bad[k]);
        fclose(f);
        cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "--name") != NULL, "message: %s",
                  s2s_errmsg(S2S_EINVAL));
    }
    cfg c;
    cr_assert_eq(opts_set_defaults(SPECS, N, &c), 0, "defaults: %s", msg());
    c.cell = 3;
    char buf[1024];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cr_expect_eq(opts_write_config(f, SPECS, N, &c), S2S_EINVAL, "choice index 3 of 3 written");
    fclose(f);
}

/* A table with a mistake must be refused with S2S_EINVAL and a message containing `needle`. */
static void expect_bad_table(const opt_spec *specs, int n, const char *needle)
{
    cfg c;
    bool help;
    cr_expect_eq(opts_parse(specs, n, &c, 0, NULL, NULL, &help), S2S_EINVAL, "table accepted (%s)",
                 needle);
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), needle) != NULL, "message '%s' lacks '%s'",
              s2s_errmsg(S2S_EINVAL), needle);
}

Test(options, malformed_tables_are_refused)
{
    opt_spec twice[] = {SPECS[0], SPECS[0]};
    expect_bad_table(twice, 2, "'hidden' is defined twice");
    opt_spec reserved[] = {SPECS[0]};
    reserved[0].name = "config";
    expect_bad_table(reserved, 1, "'config' is reserved");
    opt_spec bad_default[] = {SPECS[0]};
    bad_default[0].def = "big";
    expect_bad_table(bad_default, 1, "default of --hidden: expected an integer, got 'big'");
    opt_spec no_choices[] = {SPECS[6]};
    no_choices[0].choices = NULL;
    expect_bad_table(no_choices, 1, "'cell' has no choices");
    opt_spec bad_name[] = {SPECS[0]};
    bad_name[0].name = "a=b";
    expect_bad_table(bad_name, 1, "unusable name 'a=b'");
}

Test(options, find_arg)
{
    char *argv[] = {"--preset", "a", "--presets", "x", "--hidden", "3", "--preset=b", "--preset"};
    cr_expect_str_eq(opts_find_arg(6, argv, "preset"), "a", "--preset a");
    cr_expect_str_eq(opts_find_arg(7, argv, "preset"), "b", "the last --preset=b wins");
    cr_expect_str_eq(opts_find_arg(8, argv, "preset"), "b",
                     "a trailing --preset without a value is ignored");
    cr_expect_null(opts_find_arg(6, argv, "pre"), "a prefix of a name matched");
    cr_expect_null(opts_find_arg(0, NULL, "preset"), "found in an empty argv");
}

Test(options, set_names_the_source)
{
    cfg c;
    cr_assert_eq(opts_set_defaults(SPECS, N, &c), 0, "defaults: %s", msg());
    cr_expect_eq(opts_set(&SPECS[0], &c, "7", "x.conf:9: hidden"), 0, "opts_set: %s", msg());
    cr_expect_eq(c.hidden, 7, "opts_set stores the value");
    cr_expect_eq(opts_set(&SPECS[0], &c, "q", "x.conf:9: hidden"), S2S_EUSAGE, "q accepted");
    cr_expect_str_eq(msg(), "x.conf:9: hidden: expected an integer, got 'q'", "message");
    char big[OPT_STRING_MAX + 1];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_expect_eq(opts_set(&SPECS[5], &c, big, "--name"), S2S_EUSAGE, "overlong string accepted");
    cr_expect(strstr(msg(), "--name: value longer than 255 characters") != NULL, "message: %s",
              msg());
    big[OPT_STRING_MAX - 1] = '\0';
    cr_expect_eq(opts_set(&SPECS[5], &c, big, "--name"), 0, "255 characters refused: %s", msg());
    cr_expect_eq(strlen(c.name), (size_t)OPT_STRING_MAX - 1, "255-character string stored");
}

/* ---- list options ------------------------------------------------------------------------- */

typedef struct {
    opt_string_list ckpt, extra;
    opt_double_list w;
    int hidden;
} lists;

static const opt_spec LIST_SPECS[] = {
    {"ckpt", OPT_STRING_LIST, offsetof(lists, ckpt), "", "checkpoints", NULL, 0, 0},
    {"extra", OPT_STRING_LIST, offsetof(lists, extra), "base.h5", "extras", NULL, 0, 0},
    {"w", OPT_DOUBLE_LIST, offsetof(lists, w), "", "weights", NULL, 0, 100},
    {"hidden", OPT_INT, offsetof(lists, hidden), "4", "hidden size", NULL, 0, 0},
};
#define NL ((int)(sizeof LIST_SPECS / sizeof LIST_SPECS[0]))

static int parse_lists(lists *l, int argc, char **argv)
{
    bool help;
    memset(l, 0x55, sizeof *l); /* the defaults must set every count */
    return opts_parse(LIST_SPECS, NL, l, argc, argv, NULL, &help);
}

static void expect_items(const opt_string_list *l, int n, const char *const *want, const char *what)
{
    cr_expect_eq(l->n, n, "%s: %d entries, expected %d", what, l->n, n);
    for (int k = 0; k < n && k < l->n; k++)
        cr_expect_str_eq(l->item[k], want[k], "%s: entry %d", what, k);
}

Test(options, repeated_option_collects_every_occurrence)
{
    lists l;
    cr_assert_eq(parse_lists(&l, 0, NULL), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 0, NULL, "empty default");
    expect_items(&l.extra, 1, (const char *[]){"base.h5"}, "default of one entry");
    cr_expect_eq(l.w.n, 0, "empty number list");

    char *a1[] = {"--ckpt", "a.h5", "--hidden", "3", "--ckpt=b,c.h5", "--ckpt", "--odd"};
    cr_assert_eq(parse_lists(&l, 7, a1), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 3, (const char *[]){"a.h5", "b,c.h5", "--odd"},
                 "each occurrence one entry, commas kept, any text");
    char *a2[] = {"--extra", "x", "--extra", "y"};
    cr_assert_eq(parse_lists(&l, 4, a2), 0, "parse: %s", msg());
    expect_items(&l.extra, 2, (const char *[]){"x", "y"}, "the command line replaces the default");
    char *a3[] = {"--ckpt", "a", "--ckpt=", "--ckpt", "b"};
    cr_assert_eq(parse_lists(&l, 5, a3), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 1, (const char *[]){"b"}, "an empty value empties the list");

    char *many[2 * (OPT_LIST_MAX + 1)];
    for (int k = 0; k <= OPT_LIST_MAX; k++) {
        many[2 * k] = "--ckpt";
        many[2 * k + 1] = "f.h5";
    }
    cr_assert_eq(parse_lists(&l, 2 * OPT_LIST_MAX, many), 0, "%d entries: %s", OPT_LIST_MAX, msg());
    cr_expect_eq(l.ckpt.n, OPT_LIST_MAX, "entries");
    cr_expect_eq(parse_lists(&l, 2 * (OPT_LIST_MAX + 1), many), S2S_EUSAGE, "17 entries taken");
    cr_expect_str_eq(msg(), "--ckpt: at most 16 values", "message");
}

Test(options, repeated_option_sources_replace_each_other)
{
    char p1[64], p2[64];
    write_file(p1, "ckpt = f1.h5\nckpt = f2.h5\nextra = e.h5\n");
    write_file(p2, "ckpt = g.h5\n");
    lists l;
    char *a1[] = {"--config", p1};
    cr_assert_eq(parse_lists(&l, 2, a1), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 2, (const char *[]){"f1.h5", "f2.h5"}, "a file's lines add up");
    expect_items(&l.extra, 1, (const char *[]){"e.h5"}, "a file replaces the default");
    char *a2[] = {"--config", p1, "--config", p2};
    cr_assert_eq(parse_lists(&l, 4, a2), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 1, (const char *[]){"g.h5"}, "the second file replaces the first");
    expect_items(&l.extra, 1, (const char *[]){"e.h5"}, "what the second file leaves stays");
    char *a3[] = {"--ckpt", "c1.h5", "--config", p1, "--ckpt", "c2.h5"};
    cr_assert_eq(parse_lists(&l, 6, a3), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 2, (const char *[]){"c1.h5", "c2.h5"},
                 "the command line replaces the file wherever --config stands");
    bool help;
    const char *base[] = {"ckpt=p.h5", "ckpt=q.h5", NULL};
    memset(&l, 0, sizeof l);
    cr_assert_eq(opts_parse(LIST_SPECS, NL, &l, 0, NULL, base, &help), 0, "parse: %s", msg());
    expect_items(&l.ckpt, 2, (const char *[]){"p.h5", "q.h5"}, "a base list adds up");
    remove(p1);
    remove(p2);
}

Test(options, number_list)
{
    lists l;
    char *a1[] = {"--w", "0.6,0.4"};
    cr_assert_eq(parse_lists(&l, 2, a1), 0, "parse: %s", msg());
    cr_expect(l.w.n == 2 && l.w.v[0] == 0.6 && l.w.v[1] == 0.4, "0.6,0.4: %d values", l.w.n);
    char *a2[] = {"--w", "1", "--w=2,3,4"};
    cr_assert_eq(parse_lists(&l, 3, a2), 0, "parse: %s", msg());
    cr_expect(l.w.n == 3 && l.w.v[0] == 2 && l.w.v[2] == 4, "a later --w replaces");
    char *a3[] = {"--w", "1", "--w="};
    cr_assert_eq(parse_lists(&l, 3, a3), 0, "parse: %s", msg());
    cr_expect_eq(l.w.n, 0, "an empty value is the empty list");
    const struct {
        const char *value, *message;
    } bad[] = {
        {"0.6,,0.4", "--w: expected a number, got ''"},
        {"1,", "--w: expected a number, got ''"},
        {",1", "--w: expected a number, got ''"},
        {"1, 2", "--w: expected a number, got ' 2'"},
        {"1,x", "--w: expected a number, got 'x'"},
        {"1,nan", "--w: expected a finite number, got 'nan'"},
        {"1,101", "--w: 101 is outside the allowed range [0, 100]"},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "--w: at most 16 values"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *a[] = {"--w", (char *)bad[k].value};
        cr_expect_eq(parse_lists(&l, 2, a), S2S_EUSAGE, "'%s' accepted", bad[k].value);
        cr_expect_str_eq(msg(), bad[k].message, "message for '%s'", bad[k].value);
    }
}

Test(options, lists_in_help_and_written_config)
{
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    opts_print_help(f, LIST_SPECS, NL);
    fclose(f);
    cr_expect(strstr(buf, "--ckpt TEXT...") && strstr(buf, "--w NUM,..."),
              "list syntax missing:\n%s", buf);
    cr_expect(strstr(buf, "(default: base.h5)") && !strstr(buf, "(default: )"),
              "list defaults:\n%s", buf);

    /* Written back and read again: the same lists, the empty ones included. */
    lists a, b;
    char *argv[] = {
        "--ckpt", "x.h5", "--ckpt", "y,z.h5", "--extra=", "--w", "0.1,0.3333333333333333"};
    cr_assert_eq(parse_lists(&a, 7, argv), 0, "parse: %s", msg());
    char path[64];
    write_file(path, "");
    f = fopen(path, "w");
    cr_assert_eq(opts_write_config(f, LIST_SPECS, NL, &a), 0, "write: %s", s2s_errmsg(S2S_EINVAL));
    fclose(f);
    char *a2[] = {"--config", path};
    cr_assert_eq(parse_lists(&b, 2, a2), 0, "reading back: %s", msg());
    expect_items(&b.ckpt, 2, (const char *[]){"x.h5", "y,z.h5"}, "list read back");
    expect_items(&b.extra, 0, NULL, "emptied list read back (not the default)");
    cr_expect(b.w.n == 2 && b.w.v[0] == 0.1 && b.w.v[1] == a.w.v[1], "numbers read back");
    a.w.n = 0;
    strcpy(a.ckpt.item[1], "bad # name");
    f = fopen(path, "w");
    cr_expect_eq(opts_write_config(f, LIST_SPECS, NL, &a), S2S_EINVAL, "'#' in an entry written");
    fclose(f);
    remove(path);
}
