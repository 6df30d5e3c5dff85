/* paramfile.h - model parameters in an HDF5 file that PyTorch (h5py) can read as a state_dict.
 *
 * Layout of a parameter file:
 *   /                 attributes format = "s2s-params" (string), version = 1 (integer)
 *   /params/<name>    one float32 dataset per tensor of the parameter table, named exactly as
 *                     the tensor ("encoder.weight_ih_l0"), shape [rows, cols], or [rows] for
 *                     one-dimensional tensors; alignment gaps of the buffer are not stored
 *   /config           one string attribute per configuration entry (name = key, e.g. "cell",
 *                     value = text, e.g. "gru"), in the order given; the keys are the command
 *                     line option names, so the model can be rebuilt from them
 * Strings are variable-length UTF-8, as h5py writes them; readers also accept fixed-length
 * strings. docs/model.md ("Using s2s models from PyTorch") shows the Python side.
 *
 * Writes are atomic: the file is built under a temporary name in the target's directory,
 * closed, fsync'ed and renamed over the target, and the directory is fsync'ed; after a failure
 * the temporary file is removed and an existing target is untouched. Every error is reported
 * through s2s_fail with the file and the object (tensor, attribute) it concerns, with HDF5's
 * own explanation appended; HDF5's automatic error printing is turned off. */
#ifndef S2S_PARAMFILE_H
#define S2S_PARAMFILE_H

#include "s2s/formats.h"
#include "s2s/params.h"

/* Writes every tensor of tab from params (a buffer of tab's layout) and the configuration
 * attrs: NULL or a NULL-terminated list of "key=value" strings (a key is non-empty, has no '='
 * or '/', and appears once). S2S_EINVAL for malformed attrs (nothing is written), S2S_EIO when
 * the file cannot be created, written or renamed. */
int paramfile_write(const char *path, const param_table *tab, const real *params,
                    const char *const *attrs);

/* Reads the tensors of tab into params (a buffer of tab's layout; alignment gaps untouched).
 * The file must hold format/version as above, every tensor of tab with exactly its shape, and
 * no other tensor. Stored values of any floating-point type are converted to real.
 * A checkpoint (format "s2s-checkpoint", include/s2s/ckpt.h) is accepted as well: its /params
 * and /config are those of a parameter file.
 * S2S_EIO: the file is missing or unreadable. S2S_EFORMAT: not HDF5, truncated, wrong format
 * or version, a missing, extra or misshapen tensor (the message names the tensor and, for a
 * shape mismatch, both shapes). On error params may be partly overwritten. */
int paramfile_read(const char *path, const param_table *tab, real *params);

/* paramfile_read of another group of tensors in the file's layout, e.g. "ema": a checkpoint's
 * EMA weights (include/s2s/ckpt.h). A missing group is S2S_EFORMAT naming it. */
int paramfile_read_group(const char *path, const char *gpath, const param_table *tab, real *buf);

/* Called once per /config entry, in the order they were written (name order for files written
 * without creation-order tracking, e.g. by h5py defaults). A negative return stops the
 * iteration and is returned by paramfile_read_config unchanged. */
typedef int (*paramfile_config_fn)(const char *key, const char *value, void *ctx);

/* Reads the /config attributes back (format and version are checked first). S2S_EIO or
 * S2S_EFORMAT as for paramfile_read; a file without /config is S2S_EFORMAT. */
int paramfile_read_config(const char *path, paramfile_config_fn fn, void *ctx);

#endif
