/* test_options.c - the option tables: defaults, both argument syntaxes, booleans, choices,
 * ranges, configuration files and their precedence, and the error messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

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
} cfg;

static const char *const CELLS[] = {"rnn", "gru", "lstm", NULL};
static const opt_spec SPECS[] = {
    {"hidden", OPT_INT, offsetof(cfg, hidden), "512", "hidden size", NULL, 1, 4096},
    {"seed", OPT_UINT, offsetof(cfg, seed), "7", "seed", NULL, 0, 0},
    {"steps", OPT_LONG, offsetof(cfg, steps), "100", "steps", NULL, 0, 0},
    {"lr", OPT_DOUBLE, offsetof(cfg, lr), "0.5", "learning rate", NULL, 0, 10},
    {"bidir", OPT_BOOL, offsetof(cfg, bidir), "true", "bidirectional", NULL, 0, 0},
    {"name", OPT_STRING, offsetof(cfg, name), "", "a name", NULL, 0, 0},
    {"cell", OPT_CHOICE, offsetof(cfg, cell), "gru", "cell", CELLS, 0, 0},
};
#define N ((int)(sizeof SPECS / sizeof SPECS[0]))

static int parse(cfg *c, int argc, char **argv)
{
    bool help;
    return opts_parse(SPECS, N, c, argc, argv, NULL, &help);
}

static const char *msg(void) { return s2s_errmsg(S2S_EUSAGE); }

Test(options, defaults)
{
    cfg c;
    cr_assert_eq(parse(&c, 0, NULL), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 512, "hidden default");
    cr_expect_eq(c.seed, 7u, "seed default");
    cr_expect_eq(c.steps, 100, "steps default");
    cr_expect_float_eq(c.lr, 0.5, 1e-15, "lr default");
    cr_expect(c.bidir, "bidir default");
    cr_expect_str_eq(c.name, "", "name default");
    cr_expect_eq(c.cell, 1, "cell default is index of gru");
}

Test(options, both_syntaxes_and_types)
{
    cfg c;
    char *argv[] = {"--hidden", "64", "--lr=0.25", "--name", "run one", "--cell=lstm",
                    "--seed", "4294967295", "--steps=9000000000"};
    cr_assert_eq(parse(&c, 9, argv), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 64, "hidden");
    cr_expect_float_eq(c.lr, 0.25, 1e-15, "lr");
    cr_expect_str_eq(c.name, "run one", "name");
    cr_expect_eq(c.cell, 2, "cell");
    cr_expect_eq(c.seed, 4294967295u, "seed");
    cr_expect_eq(c.steps, 9000000000L, "steps");
}

Test(options, booleans)
{
    cfg c;
    char *a1[] = {"--no-bidir"};
    cr_assert_eq(parse(&c, 1, a1), 0, "parse: %s", msg());
    cr_expect(!c.bidir, "--no-bidir");
    char *a2[] = {"--no-bidir", "--bidir"};
    cr_assert_eq(parse(&c, 2, a2), 0, "parse: %s", msg());
    cr_expect(c.bidir, "later --bidir wins");
    char *a3[] = {"--bidir=false"};
    cr_assert_eq(parse(&c, 1, a3), 0, "parse: %s", msg());
    cr_expect(!c.bidir, "--bidir=false");
    char *a4[] = {"--bidir=maybe"};
    cr_expect_eq(parse(&c, 1, a4), S2S_EUSAGE, "--bidir=maybe accepted");
    cr_expect(strstr(msg(), "--bidir") && strstr(msg(), "maybe"), "message: %s", msg());
    char *a5[] = {"--no-hidden"};
    cr_expect_eq(parse(&c, 1, a5), S2S_EUSAGE, "--no- on a non-boolean accepted");
}

static void expect_error(int argc, char **argv, const char *needle1, const char *needle2)
{
    cfg c;
    cr_expect_eq(parse(&c, argc, argv), S2S_EUSAGE, "'%s' accepted", argv[0]);
    cr_expect(strstr(msg(), needle1) != NULL, "message '%s' lacks '%s'", msg(), needle1);
    if (needle2)
        cr_expect(strstr(msg(), needle2) != NULL, "message '%s' lacks '%s'", msg(), needle2);
}

Test(options, errors_name_the_option)
{
    char *a1[] = {"--hiden", "3"};
    expect_error(2, a1, "--hiden", "unknown");
    char *a2[] = {"--hidden", "abc"};
    expect_error(2, a2, "--hidden", "abc");
    char *a3[] = {"--hidden", "12x"};
    expect_error(2, a3, "--hidden", "12x");
    char *a4[] = {"--hidden", "0"};
    expect_error(2, a4, "--hidden", "range");
    char *a5[] = {"--lr", "nan"};
    expect_error(2, a5, "--lr", "nan");
    char *a6[] = {"--cell", "gur"};
    expect_error(2, a6, "gur", "rnn, gru, lstm");
    char *a7[] = {"--hidden"};
    expect_error(1, a7, "--hidden", "missing");
    char *a8[] = {"stray"};
    expect_error(1, a8, "stray", NULL);
    char *a9[] = {"--seed", "-1"};
    expect_error(2, a9, "--seed", "-1");
    char *a10[] = {"--hidden", "99999999999"};
    expect_error(2, a10, "--hidden", NULL);
}

static char *write_file(const char *text)
{
    static char path[] = "/tmp/s2s_opts_XXXXXX";
    strcpy(path, "/tmp/s2s_opts_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

Test(options, config_file_and_precedence)
{
    char *path = write_file("# a comment\n\nhidden = 128   # trailing comment\n  lr=0.125\n"
                            "bidir = false\ncell = rnn\n");
    cfg c;
    char *a1[] = {"--config", path};
    cr_assert_eq(parse(&c, 2, a1), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 128, "hidden from file");
    cr_expect_float_eq(c.lr, 0.125, 1e-15, "lr from file");
    cr_expect(!c.bidir, "bidir from file");
    cr_expect_eq(c.cell, 0, "cell from file");
    /* The command line wins whether it comes before or after --config. */
    char *a2[] = {"--hidden", "32", "--config", path};
    cr_assert_eq(parse(&c, 4, a2), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 32, "command line before --config must win");
    char cfgarg[300];
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
    char *a3[] = {cfgarg, "--lr", "2"};
    cr_assert_eq(parse(&c, 3, a3), 0, "parse: %s", msg());
    cr_expect_float_eq(c.lr, 2.0, 1e-15, "command line after --config must win");
    remove(path);
}

Test(options, config_file_errors_name_file_and_line)
{
    char *path = write_file("hidden = 64\nhiden = 3\n");
    cfg c;
    char *a1[] = {"--config", path};
    cr_expect_eq(parse(&c, 2, a1), S2S_EUSAGE, "unknown key accepted");
    char where[300];
    snprintf(where, sizeof where, "%s:2", path);
    cr_expect(strstr(msg(), where) && strstr(msg(), "hiden"), "message: %s", msg());
    remove(path);
    path = write_file("hidden 64\n");
    char *a2[] = {"--config", path};
    cr_expect_eq(parse(&c, 2, a2), S2S_EUSAGE, "line without '=' accepted");
    cr_expect(strstr(msg(), "key = value") != NULL, "message: %s", msg());
    remove(path);
    char *a3[] = {"--config", "/nonexistent/s2s.conf"};
    cr_expect_eq(parse(&c, 2, a3), S2S_EUSAGE, "missing file accepted");
    cr_expect(strstr(msg(), "/nonexistent/s2s.conf") != NULL, "message: %s", msg());
}

Test(options, base_list_sits_between_defaults_and_arguments)
{
    cfg c;
    bool help;
    const char *base[] = {"hidden=256", "cell=rnn", NULL};
    char *argv[] = {"--hidden", "8"};
    cr_assert_eq(opts_parse(SPECS, N, &c, 2, argv, base, &help), 0, "parse: %s", msg());
    cr_expect_eq(c.hidden, 8, "argument overrides base");
    cr_expect_eq(c.cell, 0, "base overrides default");
}

Test(options, help_flag_and_text)
{
    cfg c;
    bool help;
    char *argv[] = {"--hidden", "8", "--help"};
    cr_assert_eq(opts_parse(SPECS, N, &c, 3, argv, NULL, &help), 0, "parse");
    cr_expect(help, "--help not reported");
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    opts_print_help(f, SPECS, N);
    fclose(f);
    for (int i = 0; i < N; i++) {
        cr_expect(strstr(buf, SPECS[i].name) != NULL, "help lacks %s", SPECS[i].name);
        cr_expect(strstr(buf, SPECS[i].help) != NULL, "help lacks text of %s", SPECS[i].name);
    }
    cr_expect(strstr(buf, "(default: 512)") && strstr(buf, "rnn|gru|lstm"), "help:\n%s", buf);
}

Test(options, write_then_read_back)
{
    cfg a, b;
    char *argv[] = {"--hidden", "77", "--lr", "0.1", "--no-bidir", "--cell", "lstm", "--name", "x"};
    cr_assert_eq(parse(&a, 9, argv), 0, "parse: %s", msg());
    char *path = write_file("");
    FILE *f = fopen(path, "w");
    opts_write(f, SPECS, N, &a);
    fclose(f);
    char *a2[] = {"--config", path};
    cr_assert_eq(parse(&b, 2, a2), 0, "reading back: %s", msg());
    cr_expect(a.hidden == b.hidden && a.lr == b.lr && a.bidir == b.bidir && a.cell == b.cell &&
                  !strcmp(a.name, b.name) && a.seed == b.seed && a.steps == b.steps,
              "values differ after a write/read round trip");
    remove(path);
}
