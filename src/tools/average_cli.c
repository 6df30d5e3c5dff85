/* average_cli.c - the `s2s average` command: its option table and the checkpoint files as
 * positional arguments (shell globs work: `s2s average run/ckpt-*.h5 --out avg.h5`). */
#include <stdio.h>
#include <stdlib.h>

#include "s2s/average.h"
#include "s2s/cli.h"
#include "s2s/status.h"

#define T average_options
static const opt_spec average_specs[] = {
    {"run-dir", OPT_STRING, offsetof(T, run_dir), "",
     "average the newest --last checkpoints (ckpt-*.h5) of this run directory", NULL, 0, 0},
    {"last", OPT_INT, offsetof(T, last), "0",
     "with --run-dir: how many of its newest checkpoints (1: export the newest)", NULL, 0,
     1 << 20},
    {"out", OPT_STRING, offsetof(T, out), "", "the parameters-only model file to write (required)",
     NULL, 0, 0},
    {"weights", OPT_CHOICE, offsetof(T, weights), "auto",
     "the weights taken from each checkpoint: auto (its EMA weights when it has them), raw (its "
     "parameters), ema", avg_weights_names, 0, 0},
};
#undef T

int average_command(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: s2s average CKPT... --out MODEL.h5 [--weights auto|raw|ema]\n"
        "       s2s average --run-dir DIR --last N --out MODEL.h5\n\n"
        "Averages the weights of checkpoints of one model (the same options, vocabularies and "
        "shapes; the EMA weights of checkpoints trained with --ema) in double, in a fixed order "
        "(by step), into a parameters-only model file without optimizer state, which translate, "
        "eval, info and train --init-from read like a checkpoint. One checkpoint exports its "
        "weights (docs/training.md, \"Averaging and exporting\").\n\noptions:\n";
    average_options o;
    bool help = false;
    char **args = calloc(2 * ((size_t)argc + 1), sizeof *args);
    if (!args)
        return s2s_fail(S2S_ENOMEM, "out of memory");
    int n_opts, n_files;
    char **opts = args, **files = args + argc + 1;
    cli_split_args(average_specs, CLI_N_SPECS(average_specs), argc, argv, opts, &n_opts, files,
                   &n_files);
    int rc = cli_parse_command(average_specs, CLI_N_SPECS(average_specs), &o, n_opts, opts, NULL,
                               usage_text, &help);
    if (rc == 0 && !help) {
        o.files = (const char *const *)files;
        o.n_files = n_files;
        rc = average_run(&o, stdout);
    }
    free(args);
    return rc;
}
