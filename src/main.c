/* main.c - the s2s executable: chooses the OpenBLAS kernels of the computing commands before
 * MPI_Init, initializes MPI, dispatches to the command (each command's option table and
 * X_command live beside its module, include/s2s/cli.h), and is the one place that turns an error
 * status into a message and an exit code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <mpi.h>

#include "s2s/average.h"
#include "s2s/bench.h"
#include "s2s/blas_core.h"
#include "s2s/cli.h"
#include "s2s/comm.h"
#include "s2s/eval.h"
#include "s2s/gen.h"
#include "s2s/info.h"
#include "s2s/options.h"
#include "s2s/prep.h"
#include "s2s/status.h"
#include "s2s/train.h"
#include "s2s/translate.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: s2s <command> [options]\n\n"
               "commands:\n"
               "  gen        write a synthetic translation task as parallel text files\n"
               "  prep       turn parallel text into an HDF5 dataset with vocabularies\n"
               "  train      train an encoder-decoder on a dataset, on one or many MPI ranks\n"
               "  translate  translate text with a trained checkpoint (beam search)\n"
               "  eval       BLEU, chrF, perplexity and exact match of a model or of translations\n"
               "  average    average or export checkpoints as a parameters-only model file\n"
               "  info       what a checkpoint or dataset holds\n"
               "  bench      time training steps and compare with the machine's sgemm peak\n\n"
               "`s2s <command> --help` lists the options of a command with their defaults;\n"
               "`s2s --version` prints the version of s2s and of the libraries it runs with.\n");
}

static int cmd_gen(int argc, char **argv)
{
    return gen_command(argc, argv, stderr);
}

/* This process's rank as the launcher (mpirun, srun, Hydra) tells it before MPI_Init: only
 * rank 0 speaks at start-up. */
static int launcher_rank(void)
{
    static const char *const VARS[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) {
        const char *v = getenv(VARS[i]);
        if (v && v[0])
            return atoi(v);
    }
    return 0;
}

/* The file this program runs from, for restarting it: the target of /proc/self/exe, whose
 * name becomes the new process's name (ps, pgrep and schedulers see "s2s", not "exe"), or
 * /proc/self/exe itself if the file was replaced or removed since it started. */
static const char *self_path(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0 || (size_t)n >= sizeof path - 1)
        return "/proc/self/exe";
    path[n] = '\0';
    return access(path, X_OK) == 0 ? path : "/proc/self/exe";
}

/* Chooses the OpenBLAS kernels of a computing command before MPI_Init (include/s2s/blas_core.h):
 * keeps them, refuses (exit status 2 on every rank, rank 0 says why), or restarts this program
 * with OPENBLAS_CORETYPE set, which OpenBLAS reads only when it is loaded. execv keeps the pid,
 * so mpirun and srun keep tracking the process; every rank restarts on its own. Returns 0 to go
 * on, or the exit status. */
static int blas_core_startup(int argc, char **argv)
{
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 0; /* the help whatever the kernels */
    const char *request = opts_find_arg(argc - 2, argv + 2, "blas-core");
    if (request) {
        int k = 0;
        while (blas_core_choices[k] && strcmp(blas_core_choices[k], request) != 0)
            k++;
        if (!blas_core_choices[k])
            return 0; /* the option parse reports it, with the choices */
        blas_core_startup_choice = k;
    }
    blas_core_input in;
    blas_core_decision d;
    blas_core_gather(&in, request);
    blas_core_decide(&in, &d);
    bool speak = launcher_rank() == 0;
    if (d.action == BLAS_REFUSE) {
        if (speak)
            fprintf(stderr, "s2s %s: %s\n", cmd, d.message);
        return 2;
    }
    if (d.action == BLAS_RESTART) {
        const char *user = getenv(BLAS_CORE_ENV);
        char *saved = user ? strdup(user) : NULL;
        int err = ENOMEM;
        errno = 0;
        if ((!user || saved) && setenv(BLAS_CORE_ENV, d.kernel, 1) == 0 &&
            setenv(BLAS_CORE_MARKER, in.running, 1) == 0) {
            fflush(NULL);
            execv(self_path(), argv);
        }
        err = errno ? errno : err;
        if (saved)
            setenv(BLAS_CORE_ENV, saved, 1);
        else
            unsetenv(BLAS_CORE_ENV);
        unsetenv(BLAS_CORE_MARKER);
        free(saved);
        if (speak)
            fprintf(stderr,
                    "s2s: warning: restarting with %s=%s failed (%s); going on with OpenBLAS's "
                    "%s kernels\n",
                    BLAS_CORE_ENV, d.kernel, strerror(err), in.running);
        blas_core_record(&in, "OpenBLAS's own choice (the restart for other kernels failed)");
        return 0;
    }
    if (speak && d.message[0])
        fprintf(stderr, "s2s: %s\n", d.message);
    blas_core_record(&in, d.origin);
    return 0;
}

/* Commands that run under MPI (one process per rank, started by mpirun or alone) choose their
 * OpenBLAS kernels and then initialize MPI here. An error on any rank then ends the whole job
 * with MPI_Abort, so no rank is left waiting in a collective for one that has stopped; the
 * message names the rank. */
int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
        bool mpi;
    } commands[] = {{"train", train_command, true},         {"prep", prep_command, false},
                    {"bench", bench_command, true},         {"gen", cmd_gen, false},
                    {"translate", translate_command, true}, {"eval", eval_command, true},
                    {"info", info_command, false},          {"average", average_command, false}};
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        s2s_print_version(stdout);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        int rank = 0, ranks = 1;
        if (commands[i].mpi) {
            int st = blas_core_startup(argc, argv);
            if (st != 0)
                return st;
            comm_before_init();
            if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
                fprintf(stderr, "s2s %s: MPI_Init failed\n", argv[1]);
                return 1;
            }
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &ranks);
            s2s_notes_enable(rank == 0); /* one note per job, not one per rank */
        }
        int rc = commands[i].run(argc - 2, argv + 2);
        int status = rc >= 0 ? rc : rc == S2S_EUSAGE ? 2 : 1;
        if (rc == S2S_EPEER) {
            /* Another rank failed and reports why: give it time to print and abort the job. */
            sleep(5);
            MPI_Abort(MPI_COMM_WORLD, status);
        }
        if (rc < 0) {
            if (ranks > 1)
                fprintf(stderr, "s2s %s: rank %d of %d: %s\n", argv[1], rank, ranks,
                        s2s_errmsg(rc));
            else
                fprintf(stderr, "s2s %s: %s\n", argv[1], s2s_errmsg(rc));
            if (ranks > 1) {
                fflush(stderr);
                MPI_Abort(MPI_COMM_WORLD, status);
            }
        }
        if (commands[i].mpi)
            MPI_Finalize();
        return status;
    }
    fprintf(stderr, "s2s: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
