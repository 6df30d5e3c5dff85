/* test_probe.c - a read done first in a child process (src/core/probe.c): the child's status,
 * message and result come back; a crash, an early exit and a hang become one clear error in
 * the parent, within the time limit; a stop signal ends the wait; an unchanged file is not
 * probed twice, a changed one is. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s2s/probe.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "scratch.h"

static char dir[256], file[512];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "probe"), 0, "mkdtemp of a scratch directory");
    scratch_path(file, sizeof file, dir, "f.h5");
    cr_assert_eq(scratch_write(file, "contents"), 0);
    probe_set_timeout(0);
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(probe, .init = setup, .fini = teardown);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int reads_fine(const char *path, void *ctx, int *result)
{
    (void)path;
    *result = *(int *)ctx;
    return probe_in_child() ? 0 : s2s_fail(S2S_EINVAL, "ran in the parent");
}

static int fails(const char *path, void *ctx, int *result)
{
    (void)ctx;
    (void)result;
    return s2s_fail(S2S_ERANGE, "%s: /vocab/src: too many tokens", path);
}

static int crashes(const char *path, void *ctx, int *result)
{
    (void)path;
    (void)ctx;
    (void)result;
    raise(SIGSEGV);
    return 0;
}

static int exits(const char *path, void *ctx, int *result)
{
    (void)path;
    (void)ctx;
    (void)result;
    _exit(3);
    return 0;
}

static int hangs(const char *path, void *ctx, int *result)
{
    (void)path;
    (void)ctx;
    (void)result;
    for (;;)
        pause();
    return 0;
}

Test(probe, status_message_and_result_come_back)
{
    int value = 42, result = 0;
    cr_assert_eq(probe_run(file, "dataset", reads_fine, &value, &result), 0, "%s",
                 s2s_errmsg(S2S_EINVAL));
    cr_assert_eq(result, 42);
    cr_assert(!probe_in_child());
    /* Another file, failing: the child's own status and message. */
    char other[512];
    scratch_path(other, sizeof other, dir, "g.h5");
    scratch_write(other, "x");
    cr_assert_eq(probe_run(other, "dataset", fails, NULL, NULL), S2S_ERANGE);
    cr_assert(strstr(s2s_errmsg(S2S_ERANGE), "/vocab/src: too many tokens"));
}

Test(probe, a_crash_is_one_error_naming_the_file)
{
    int rc = probe_run(file, "dataset", crashes, NULL, NULL);
    cr_assert_eq(rc, S2S_EFORMAT);
    const char *msg = s2s_errmsg(rc);
    /* Under AddressSanitizer the child reports the signal itself and exits 1. */
    cr_assert(strstr(msg, file) && strstr(msg, "damaged dataset") &&
                  (strstr(msg, "crashed reading it (SIGSEGV") || strstr(msg, "exited with status")),
              "%s", msg);
    rc = probe_run(file, "dataset", exits, NULL, NULL);
    cr_assert_eq(rc, S2S_EFORMAT);
    cr_assert(strstr(s2s_errmsg(rc), "exited with status 3"), "%s", s2s_errmsg(rc));
}

Test(probe, a_hang_ends_at_the_time_limit)
{
    probe_set_timeout(0.3);
    double t0 = now_s();
    int rc = probe_run(file, "dataset", hangs, NULL, NULL);
    double took = now_s() - t0;
    cr_assert_eq(rc, S2S_EFORMAT);
    cr_assert(strstr(s2s_errmsg(rc), "did not finish within 0.3 s"), "%s", s2s_errmsg(rc));
    cr_assert(took >= 0.25 && took < 3.0, "waited %.2f s for a 0.3 s limit", took);
}

Test(probe, automatic_limit_grows_with_the_file)
{
    cr_assert_float_eq(probe_timeout_for(0), 3.0, 1e-12);
    cr_assert_float_eq(probe_timeout_for(64ll << 20), 5.0, 1e-12);
    probe_set_timeout(7);
    cr_assert_float_eq(probe_timeout_for(64ll << 20), 7.0, 1e-12);
}

static void send_term(int sig)
{
    (void)sig;
    kill(getpid(), SIGTERM);
}

Test(probe, a_stop_signal_ends_the_wait)
{
    stop_install();
    signal(SIGALRM, send_term);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = now_s();
    int rc = probe_run(file, "dataset", hangs, NULL, NULL);
    double took = now_s() - t0;
    cr_assert_eq(rc, S2S_ESTOPPED, "%d: %s", rc, s2s_errmsg(rc));
    cr_assert(strstr(s2s_errmsg(rc), "SIGTERM"), "%s", s2s_errmsg(rc));
    cr_assert(took < 2.0, "took %.2f s after the signal at 0.2 s", took);
}

Test(probe, an_unchanged_file_is_probed_once)
{
    int value = 7, result = 0;
    cr_assert_eq(probe_run(file, "dataset", reads_fine, &value, &result), 0);
    /* Would crash if it ran again: it does not, and the earlier result comes back. */
    result = 0;
    cr_assert_eq(probe_run(file, "dataset", crashes, NULL, &result), 0);
    cr_assert_eq(result, 7);
    /* A changed file (size and time) is probed again. */
    sleep(0); /* the size changes even within one clock tick */
    scratch_write(file, "other contents");
    cr_assert_eq(probe_run(file, "dataset", crashes, NULL, NULL), S2S_EFORMAT);
}

/* Writes this process's pid into the file ctx names, then hangs. */
static int hangs_telling(const char *path, void *ctx, int *result)
{
    (void)path;
    (void)result;
    FILE *f = fopen(ctx, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    for (;;)
        pause();
    return 0;
}

/* A parent killed by a signal it cannot catch takes its stuck probe child with it. */
Test(probe, a_child_does_not_outlive_its_parent)
{
    char pidfile[512];
    scratch_path(pidfile, sizeof pidfile, dir, "child.pid");
    pid_t parent = fork();
    cr_assert(parent >= 0);
    if (parent == 0) {
        probe_set_timeout(100);
        probe_run(file, "dataset", hangs_telling, pidfile, NULL);
        _exit(0);
    }
    int child = 0;
    for (int i = 0; i < 500 && child <= 0; i++) { /* up to 5 s for the child to start */
        usleep(10000);
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%d", &child) != 1)
                child = 0;
            fclose(f);
        }
    }
    cr_assert(child > 0, "the probe child never started");
    kill(parent, SIGKILL);
    waitpid(parent, NULL, 0);
    bool gone = false;
    for (int i = 0; i < 300 && !gone; i++) { /* up to 3 s */
        gone = kill(child, 0) != 0;
        if (!gone)
            usleep(10000);
    }
    if (!gone)
        kill(child, SIGKILL);
    cr_assert(gone, "probe child %d still runs after its parent was killed", child);
}

Test(probe, missing_file)
{
    char missing[512];
    scratch_path(missing, sizeof missing, dir, "missing.h5");
    cr_assert_eq(probe_run(missing, "dataset", reads_fine, NULL, NULL), S2S_EIO);
}
