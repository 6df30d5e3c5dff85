/* h5err.h - HDF5's failures as s2s status codes: HDF5's own printing off, and its explanation of
 * a failure appended to the message. The lowest of the HDF5 helpers (h5util.h and h5limits.h
 * report through it). Internal to the library; include it only from code that also includes
 * <hdf5.h>. */
#ifndef S2S_H5ERR_H
#define S2S_H5ERR_H

#include <hdf5.h>

/* Turns off HDF5's automatic printing of errors: they are reported through s2s_fail. */
void h5u_quiet(void);

/* s2s_fail(code, fmt, ...) with HDF5's own explanation of its last failure appended (the
 * innermost entry of its error stack, e.g. "(HDF5: truncated file: eof = ...)"). */
int h5u_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
