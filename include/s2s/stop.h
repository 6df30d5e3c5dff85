/* stop.h - stop requests by signal (SIGTERM, SIGINT, SIGUSR1), seen by every long loop.
 *
 * The handler only records the signal; code that runs for long (training steps, reading a
 * dataset, validation, writing a checkpoint, waiting for a child) polls stop_requested() at
 * points where stopping is safe and returns S2S_ESTOPPED from there, so that main decides what
 * the stop means for the command (train: checkpoint contract and exit 75). */
#ifndef S2S_STOP_H
#define S2S_STOP_H

/* Installs the recording handler for SIGTERM, SIGINT and SIGUSR1 (SA_RESTART), and ignores
 * SIGXFSZ, so that a write past a file size limit fails with EFBIG instead of killing. */
void stop_install(void);

/* The signal number of the first stop request received, or 0. */
int stop_requested(void);

/* "SIGTERM", "SIGINT", "SIGUSR1" (the stop signals), else "a signal": for messages. */
const char *stop_signal_name(int sig);

/* S2S_ESTOPPED with the message "WHAT: stopped by signal NAME", for loops that give up. */
int stop_fail(const char *what);

#endif
