/* status.h - status codes and error messages.
 *
 * Library functions return 0 on success or a negative S2S_E* code. The function that detects
 * a problem records one message naming the file, object and what is wrong with s2s_fail();
 * callers pass the code up unchanged, and only main() decides to stop (in MPI runs, for the
 * whole job). The message buffer is thread-local, so concurrent threads do not mix messages. */
#ifndef S2S_STATUS_H
#define S2S_STATUS_H

enum {
    S2S_OK = 0,
    S2S_ENOMEM = -1,   /* allocation failed */
    S2S_EINVAL = -2,   /* invalid argument or configuration value */
    S2S_EIO = -3,      /* reading or writing a file failed */
    S2S_EFORMAT = -4,  /* a file's contents are malformed */
    S2S_ERANGE = -5,   /* a value is out of its allowed range */
    S2S_ENUMERIC = -6, /* NaN or Inf where a finite value is required */
    S2S_EMPI = -7,     /* an MPI call failed */
    S2S_EUSAGE = -8,   /* bad command line: unknown option, missing value */
    S2S_EPEER = -9,    /* another MPI rank failed and reports the cause itself */
    S2S_ESTOPPED = -10, /* a stop signal arrived (stop.h); not a failure of the input */
};

/* Short fixed description of a status code ("out of memory", ...). */
const char *s2s_strerror(int status);

/* Records a printf-style message for `status` and returns `status`, so that failing code reads
 *     return s2s_fail(S2S_EINVAL, "%s: hidden size must be positive, got %d", path, h);   */
int s2s_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message recorded by the last s2s_fail on this thread, or the code's strerror if none. */
const char *s2s_errmsg(int status);

void s2s_clear_error(void);

/* Prints "s2s: note: MESSAGE" on stderr, once per key and process (later calls with the same
 * key are silent), unless notes are off. Notes are for what the user should know while the
 * command goes on (a file used unverified); errors go through s2s_fail. */
void s2s_note_once(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Turns notes on (the default) or off: under MPI, main leaves them to rank 0. */
void s2s_notes_enable(int on);

#endif
