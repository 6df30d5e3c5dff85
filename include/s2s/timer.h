/* timer.h - wall-clock time for per-phase timers. */
#ifndef S2S_TIMER_H
#define S2S_TIMER_H

/* Seconds on a monotonic clock (arbitrary origin). */
double wall_seconds(void);

#endif
