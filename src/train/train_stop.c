/* train_stop.c - leaving together: how the ranks agree on an error or a stop request (SIGTERM,
 * SIGINT, SIGUSR1) at the points where every rank meets, the check that ends each start-up
 * phase, rank 0's line after a stop, and the test hook that slows a phase down so that a
 * test's signal lands inside it.
 *
 * Separate because every other file of the trainer calls it and it holds the one rule they
 * share: no rank leaves a collective alone, and a stop is acted on by all ranks at the same
 * point (docs/training.md, "Signals"). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s2s/status.h"
#include "s2s/stop.h"
#include "train/trainer.h"

/* Rank 0's status, known to every rank: rank 0 gets its own, the others S2S_EPEER if it failed
 * (rank 0 reports the cause). Every rank must call it at the same point. */
int trainer_agree(const trainer *t, int rc)
{
    if (t->size == 1)
        return rc;
    int shared = rc;
    if (MPI_Bcast(&shared, 1, MPI_INT, 0, t->comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: broadcast of rank 0's status failed");
    return t->rank == 0 ? rc : shared < 0 ? S2S_EPEER : 0;
}

/* Every rank at the same point: an error on any rank (rank 0's, where only rank 0 can fail),
 * the stop requests of all ranks and rank 0's *flags, in one small allreduce. Returns rc where
 * this rank failed, S2S_EPEER where only another did; otherwise 0 with *sig the highest signal
 * number of a stop request on any rank (0: none; a rank whose own rc is S2S_ESTOPPED counts as
 * one) and *flags, if given, rank 0's. */
int trainer_agree_stop(trainer *t, int rc, int *sig, int *flags)
{
    int mine = stop_requested();
    if (rc == S2S_ESTOPPED) {
        mine = mine ? mine : SIGTERM;
        s2s_clear_error();
        rc = 0;
    }
    int v[3] = {rc < 0, mine, flags && t->rank == 0 ? *flags : 0}, all[3] = {v[0], v[1], v[2]};
    if (t->size > 1 && MPI_Allreduce(v, all, 3, MPI_INT, MPI_MAX, t->comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: agreement on the ranks' status failed");
    if (rc < 0)
        return rc;
    if (all[0])
        return S2S_EPEER;
    /* A rank's request counts as of when it entered: one that came while it waited for the
     * others (rank 0 writing a checkpoint, say) is in a second, short, agreement. */
    if (t->size > 1 && !all[1]) {
        mine = stop_requested();
        if (MPI_Allreduce(&mine, &all[1], 1, MPI_INT, MPI_MAX, t->comm) != MPI_SUCCESS)
            return s2s_fail(S2S_EMPI, "train: agreement on stop requests failed");
    }
    *sig = all[1];
    if (flags)
        *flags = all[2];
    return 0;
}

/* The end of a start-up phase (`during` names it): every rank learns of a stop request on any
 * rank, or of rank 0's error, and leaves. Before training began there is nothing to save, so a
 * stop is S2S_ESTOPPED with the message main prints (exit TRAIN_EXIT_STOPPED). A rank's own
 * error in a phase every rank runs is returned before this point (main then ends the job), so
 * that no rank waits for the slower ones to report it. */
int trainer_startup_check(trainer *t, int rc, const char *during)
{
    int sig = 0;
    if ((rc = trainer_agree_stop(t, rc, &sig, NULL)) < 0)
        return rc;
    if (!sig)
        return 0;
    return s2s_fail(S2S_ESTOPPED,
                    "stop requested by %s before training began (%s): there was nothing to "
                    "save, no checkpoint was written; run the same command again to start",
                    stop_signal_name(sig), during);
}

/* trainer_startup_check after a phase that every rank runs: an error (not a stop) leaves at
 * once. */
int trainer_phase_done(trainer *t, int rc, const char *during)
{
    if (rc < 0 && rc != S2S_ESTOPPED)
        return rc;
    return trainer_startup_check(t, rc, during);
}

/* Rank 0's line after a stop request: what is on disk and what the stop interrupted. */
void trainer_note_stop(trainer *t, const char *why)
{
    if (!t->o->run_dir[0])
        trainer_note(t,
                     "stop requested by a signal at step %lld: no --run-dir, nothing was "
                     "written%s",
                     (long long)t->pr.step, why);
    else if (t->saved_step != t->pr.step || t->pr.step == 0)
        trainer_note(t,
                     "stop requested by a signal at step %lld: there was nothing new to save, "
                     "no checkpoint was written%s",
                     (long long)t->pr.step, why);
    else
        trainer_note(t,
                     "stop requested by a signal: checkpoint of step %lld written; resume with "
                     "--resume auto%s",
                     (long long)t->pr.step, why);
}

/* Test hook: S2S_TRAIN_TEST_SLOW="startup:MS,valid:MS,ckpt:MS" (any of them) slows the real
 * loops down so that a test's signal lands inside one: MS milliseconds at the start of each
 * start-up phase, before each validation batch and before each checkpoint file is written. */
int trainer_parse_slow(trainer *t)
{
    static const char *const NAMES[N_SLOW] = {"startup", "valid", "ckpt"};
    const char *env = getenv("S2S_TRAIN_TEST_SLOW");
    for (const char *p = env; p && *p;) {
        int which = -1;
        for (int i = 0; i < N_SLOW; i++)
            if (!strncmp(p, NAMES[i], strlen(NAMES[i])) && p[strlen(NAMES[i])] == ':')
                which = i;
        char *end = NULL;
        long ms = which < 0 ? -1 : strtol(p + strlen(NAMES[which]) + 1, &end, 10);
        if (which < 0 || ms < 0 || ms > 600000 || (*end && *end != ','))
            return s2s_fail(S2S_EUSAGE,
                            "S2S_TRAIN_TEST_SLOW=%s: want startup:MS, valid:MS or ckpt:MS, "
                            "comma-separated (0 <= MS <= 600000)",
                            env);
        t->slow_ms[which] = (int)ms;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The hook's sleep, whole whatever signals come (as real work would be: only the loop's own
 * check acts on them); `what` (NULL: say nothing) goes to stderr so that a test knows where
 * the process is. */
void trainer_slow(const trainer *t, int which, const char *what)
{
    int ms = t->slow_ms[which];
    if (ms <= 0)
        return;
    if (what) {
        fprintf(stderr, "s2s train: test hook: rank %d: %s: sleeping %d ms\n", t->rank, what, ms);
        fflush(stderr);
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
