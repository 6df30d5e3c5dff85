/* probe.c - a read done first in a child process with a time limit (probe.h). */
#define _GNU_SOURCE
#include "s2s/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/timer.h"

static bool in_child;
static double timeout_setting;

/* The last file probed successfully, to spare a second probe of the same unchanged file. */
static struct {
    bool set;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int result;
} last;

/* What the child sends: its status, fn's result, and the message. */
typedef struct {
    int status;
    int result;
    char message[1024];
} probe_report;

bool probe_in_child(void)
{
    return in_child;
}

void probe_set_timeout(double seconds)
{
    timeout_setting = seconds > 0 ? seconds : 0;
}

double probe_timeout_for(long long bytes)
{
    if (timeout_setting > 0)
        return timeout_setting;
    return 3.0 + (double)(bytes > 0 ? bytes : 0) / (double)(32 << 20);
}

static bool same_file(const struct stat *st)
{
    return last.set && last.dev == st->st_dev && last.ino == st->st_ino &&
           last.size == st->st_size && last.mtime.tv_sec == st->st_mtim.tv_sec &&
           last.mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL: out of memory?";
    default: return "a signal";
    }
}

/* The child's side: run fn, report, leave without running atexit handlers or flushing the
 * parent's stdio buffers a second time. */
static void child_main(int fd, const char *path, probe_fn fn, void *ctx, pid_t parent,
                       double limit)
{
    in_child = true;
    /* A child outlives neither its parent (killed by a signal s2s does not catch, the child
     * stuck in the library would spin on forever) nor its time limit. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    signal(SIGALRM, SIG_DFL);
    alarm((unsigned)limit + 2);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, STDERR_FILENO);
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    /* The parent kills the child with SIGKILL; stop signals are the parent's to handle. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    probe_report r;
    memset(&r, 0, sizeof r);
    s2s_clear_error();
    r.status = fn(path, ctx, &r.result);
    if (r.status < 0)
        snprintf(r.message, sizeof r.message, "%s", s2s_errmsg(r.status));
    write_full(fd, &r, sizeof r);
    close(fd);
    _exit(0);
}

int probe_run(const char *path, const char *what, probe_fn fn, void *ctx, int *result)
{
    if (in_child)
        return 0;
    struct stat st;
    if (stat(path, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (same_file(&st)) {
        if (result)
            *result = last.result;
        return 0;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot create a pipe to probe %s: %s", path, what,
                        strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    double limit = probe_timeout_for((long long)st.st_size), start = wall_seconds();
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return s2s_fail(S2S_EIO, "%s: cannot start a process to probe %s: %s", path, what,
                        strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], path, fn, ctx, parent, limit);
    }
    close(fds[1]);

    probe_report r;
    size_t got = 0;
    int killed_for = 0; /* 1: time limit, 2: stop signal */
    for (;;) {
        if (stop_requested()) {
            killed_for = 2;
            break;
        }
        double left = limit - (wall_seconds() - start);
        if (left <= 0) {
            killed_for = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int wait_ms = left < 0.05 ? (int)(left * 1000) + 1 : 50;
        int n = poll(&p, 1, wait_ms);
        if (n < 0 && errno != EINTR) {
            killed_for = 1;
            break;
        }
        if (n <= 0)
            continue;
        ssize_t r_n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (r_n < 0 && errno == EINTR)
            continue;
        if (r_n <= 0)
            break; /* the child closed the pipe: finished or died */
        got += (size_t)r_n;
        if (got == sizeof r)
            break;
    }
    close(fds[0]);
    if (killed_for)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (killed_for == 2)
        return stop_fail(path);
    if (killed_for == 1)
        return s2s_fail(S2S_EFORMAT, "%s: damaged %s: reading it did not finish within %.3g s "
                        "(the HDF5 library is stuck on it; if the file is sound but large or on "
                        "a slow file system, raise --probe-timeout)", path, what, limit);
    if (got != sizeof r) {
        if (WIFSIGNALED(status))
            return s2s_fail(S2S_EFORMAT, "%s: damaged %s: the HDF5 library crashed reading it "
                            "(%s, in a probe process; nothing was used)", path, what,
                            signal_name(WTERMSIG(status)));
        return s2s_fail(S2S_EFORMAT, "%s: damaged %s: the HDF5 library failed reading it (the "
                        "probe process exited with status %d before reporting; nothing was "
                        "used)", path, what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (r.status < 0) {
        r.message[sizeof r.message - 1] = '\0';
        return s2s_fail(r.status, "%s", r.message);
    }
    last.set = true;
    last.dev = st.st_dev;
    last.ino = st.st_ino;
    last.size = st.st_size;
    last.mtime = st.st_mtim;
    last.result = r.result;
    if (result)
        *result = r.result;
    return 0;
}
