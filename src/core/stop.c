/* stop.c - the stop-request flag set by SIGTERM, SIGINT and SIGUSR1 (see stop.h). */
#define _GNU_SOURCE
#include "s2s/stop.h"

#include "s2s/status.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

void stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* Past a file size limit a write then fails with EFBIG, which the writers report and
     * survive, instead of the signal ending the process. */
    signal(SIGXFSZ, SIG_IGN);
}

int stop_requested(void)
{
    return stop_signal;
}

const char *stop_signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : sig == SIGUSR1 ? "SIGUSR1"
                                                                    : "a signal";
}

int stop_fail(const char *what)
{
    return s2s_fail(S2S_ESTOPPED, "%s: stopped by %s", what, stop_signal_name(stop_signal));
}
