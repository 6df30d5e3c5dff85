/* probe.h - a risky read done first in a child process with a time limit.
 *
 * Files that carry no integrity record (seal.h), such as a dataset built with h5py, cannot be
 * verified before the HDF5 library parses them, and some damage makes the library crash or loop
 * forever. probe_run forks a child that performs the read and reports its status and message
 * through a pipe; the parent waits at most the time limit, watching for stop signals (stop.h).
 * A child that crashes, dies or runs out of time becomes a clear error in the parent, never a
 * dead or stuck job; a child that succeeds means the same read is safe in the parent. The child
 * never returns from probe_run (it leaves with _exit), touches no MPI state, dies with its
 * parent (PR_SET_PDEATHSIG: a parent killed outright leaves no child spinning in the library)
 * and at its time limit plus 2 s whatever the parent does (alarm), and its standard
 * error goes to /dev/null so that the library's or a sanitizer's report of the crash does not
 * reach the user (the parent's one line says what happened). */
#ifndef S2S_PROBE_H
#define S2S_PROBE_H

#include <stdbool.h>

/* The read to try: 0 or a negative S2S_E* status with its message set; *result (may be left
 * alone) is handed back to the parent. */
typedef int (*probe_fn)(const char *path, void *ctx, int *result);

/* Runs fn(path, ctx, result) in a child. Returns fn's status and message (S2S_ESTOPPED if a
 * stop signal arrived meanwhile; the child is killed), or S2S_EFORMAT "PATH: damaged WHAT: the
 * HDF5 library crashed reading it (SIGSEGV) ..." / "... did not finish within N s ...". A file
 * that was probed successfully before by this process and has not changed since (device,
 * inode, size, modification time) is not probed again: 0 and the earlier *result. Inside a
 * probe's child, probe_run returns 0 at once (the child is the probe). */
int probe_run(const char *path, const char *what, probe_fn fn, void *ctx, int *result);

/* Whether this process is a probe's child. */
bool probe_in_child(void);

/* The time limit of later probes in seconds; 0 (the default) means automatic: 3 s plus 1 s for
 * every 32 MiB of the file. */
void probe_set_timeout(double seconds);

/* The time limit a probe of a file of `bytes` bytes gets. */
double probe_timeout_for(long long bytes);

#endif
