/* gen_cli.c - the `s2s gen` command: its options, and one summary line after writing. */
#include <stddef.h>
#include <stdio.h>

#include "s2s/gen.h"
#include "s2s/options.h"
#include "s2s/status.h"
#include "s2s/timer.h"

typedef struct {
    gen_task task;
    char out[OPT_STRING_MAX];
    long lines[3]; /* train, valid, test */
} gen_options;

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "--seed is parsed as unsigned");

// clang-format off
static const opt_spec gen_specs[] = {
    {"out", OPT_STRING, offsetof(gen_options, out), "",
     "prefix of the files written: PREFIX.{train,valid,test}.{src,tgt}", NULL, 0, 0},
    {"train", OPT_LONG, offsetof(gen_options, lines[0]), "10000", "training pairs", NULL, 0,
     4294967295.0},
    {"valid", OPT_LONG, offsetof(gen_options, lines[1]), "500", "validation pairs", NULL, 0,
     4294967295.0},
    {"test", OPT_LONG, offsetof(gen_options, lines[2]), "500", "test pairs", NULL, 0, 4294967295.0},
    {"seed", OPT_UINT, offsetof(gen_options, task.seed), "1",
     "seed: every pair is a function of (seed, split, line number)", NULL, 0, 0},
    {"symbols", OPT_INT, offsetof(gen_options, task.symbols), "20",
     "copy, reverse, sort: alphabet size (a..z up to 26, else w0, w1, ...)", NULL, 1, 1000},
    {"min-len", OPT_INT, offsetof(gen_options, task.min_len), "4",
     "copy, reverse, sort: shortest source sequence", NULL, 1, 1000},
    {"max-len", OPT_INT, offsetof(gen_options, task.max_len), "12",
     "copy, reverse, sort: longest source sequence", NULL, 1, 1000},
    {"reverse", OPT_BOOL, offsetof(gen_options, task.reverse), "false",
     "swap source and target: digits to words, the made-up language to English", NULL, 0, 0},
};
// clang-format on
#define N_SPECS ((int)(sizeof gen_specs / sizeof gen_specs[0]))

static void print_help(void)
{
    printf("usage: s2s gen TASK --out PREFIX [options]\n\n"
           "Writes a synthetic parallel corpus: PREFIX.{train,valid,test}.{src,tgt}, one sentence "
           "per line, words\nseparated by spaces. Every pair is a function of (seed, split, line "
           "number), and the splits never\nshare a source sentence. Tasks (datasets/README.md):\n"
           "  copy, reverse, sort   a sequence of symbols, copied, reversed or sorted\n"
           "  numbers               English number words to digits: forty two -> 4 2\n"
           "  grammar               English-like sentences to a made-up SOV language\n\n"
           "options:\n");
    opts_print_help(stdout, gen_specs, N_SPECS);
}

int gen_command(int argc, char **argv, FILE *log)
{
    gen_options o;
    bool help;
    /* The task is the one positional argument, first, as in `s2s gen grammar --out data/g`. */
    const char *name = argc > 0 && argv[0][0] != '-' ? argv[0] : NULL;
    int skip = name != NULL;
    int rc = opts_parse(gen_specs, N_SPECS, &o, argc - skip, argv + skip, NULL, &help);
    if (rc < 0)
        return rc;
    if (help) {
        print_help();
        return 0;
    }
    if (!name)
        return s2s_fail(S2S_EUSAGE, "name a task: copy, reverse, sort, numbers or grammar");
    if ((rc = gen_parse_task(name, &o.task.kind)) < 0) {
        char msg[256]; /* the same message, as a usage error */
        snprintf(msg, sizeof msg, "%s", s2s_errmsg(rc));
        return s2s_fail(S2S_EUSAGE, "%s", msg);
    }
    if (!o.out[0])
        return s2s_fail(S2S_EUSAGE, "--out PREFIX is required");
    double t0 = wall_seconds();
    if ((rc = gen_write(&o.task, o.out, o.lines[0], o.lines[1], o.lines[2])) < 0)
        return rc;
    fprintf(log,
            "s2s gen: %s%s, seed %u: %ld + %ld + %ld lines in %s.{train,valid,test}.{src,tgt}"
            " (%.2f s)\n",
            name, o.task.reverse ? " --reverse" : "", (unsigned)o.task.seed, o.lines[0], o.lines[1],
            o.lines[2], o.out, wall_seconds() - t0);
    return 0;
}
