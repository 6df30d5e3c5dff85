/* timer.c - wall-clock time for per-phase timers. */
#include "s2s/timer.h"

#include <time.h>

double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
