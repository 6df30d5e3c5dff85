/* cli.c - the helpers of the commands' option tables (include/s2s/cli.h): the parse with
 * --help and the --blas-core agreement with start-up, the split of options from positional
 * arguments, an option's table bound, and the resolved options as configuration text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "s2s/cli.h"
#include "s2s/status.h"

/* Set by main's start-up before any option is parsed (include/s2s/cli.h). */
int blas_core_startup_choice;

/* The resolved options as `name = value` lines (what --config reads), or NULL with a note on
 * stderr if a value cannot be written back (a path with '#'). */
char *cli_options_text(const opt_spec *specs, int n, const void *src, const char *cmd)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    int rc = opts_write_config(f, specs, n, src);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "s2s %s: options not stored: %s\n", cmd, s2s_errmsg(rc));
        free(text);
        return NULL;
    }
    return text;
}

/* Parses a command's options into dst. With --help sets *help and prints `usage` and the option
 * list (on rank 0 only when MPI runs, so that mpirun prints them once). */
int cli_parse_command(const opt_spec *specs, int n, void *dst, int argc, char **argv,
                      const char *const *base, const char *usage_text, bool *help)
{
    int rc = opts_parse(specs, n, dst, argc, argv, base, help);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && !*help; i++) {
        if (strcmp(specs[i].name, "blas-core") != 0)
            continue;
        int chosen = *(const int *)((const char *)dst + specs[i].offset);
        if (chosen != blas_core_startup_choice)
            return s2s_fail(S2S_EUSAGE,
                            "blas-core = %s comes from a --config file, but the OpenBLAS kernels "
                            "are chosen at start-up, before configuration files are read: give "
                            "--blas-core %s on the command line",
                            blas_core_choices[chosen], blas_core_choices[chosen]);
    }
    if (!*help)
        return 0;
    int rank = 0, mpi_on = 0;
    MPI_Initialized(&mpi_on);
    if (mpi_on)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        fputs(usage_text, stdout);
        opts_print_help(stdout, specs, n);
    }
    return 0;
}

/* Whether arg is an option of specs (or --config) that takes the next argument as its value. */
static bool takes_value(const opt_spec *specs, int n, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
        return false;
    if (!strcmp(arg + 2, "config"))
        return true;
    for (int k = 0; k < n; k++)
        if (!strcmp(arg + 2, specs[k].name))
            return specs[k].type != OPT_BOOL;
    return false;
}

void cli_split_args(const opt_spec *specs, int n, int argc, char **argv, char **opts,
                    int *n_opts, char **pos, int *n_pos)
{
    bool dashdash = false;
    *n_opts = *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && !strcmp(a, "--")) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || !a[1]) {
            pos[(*n_pos)++] = argv[i];
            continue;
        }
        opts[(*n_opts)++] = argv[i];
        if (takes_value(specs, n, a) && i + 1 < argc)
            opts[(*n_opts)++] = argv[++i];
    }
}

/* The upper bound of option `name` in its table, so that a message quotes the table's range. */
double cli_spec_max(const opt_spec *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(specs[i].name, name))
            return specs[i].max;
    return 0;
}
