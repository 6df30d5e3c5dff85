/* paramfile_io.h - the pieces of paramfile.c that work on an open HDF5 file, for checkpoints
 * (ckpt.c), which are parameter files with more groups, and for `s2s info` (info.c): a group of
 * tensors of a parameter table or as stored, the /config attributes, and the atomic in-memory
 * file writer they are assembled in.
 * Internal to the library (src/store; included from elsewhere as "store/paramfile_io.h");
 * messages are exactly those of paramfile_write and paramfile_read, with the group's path in
 * place of /params. */
#ifndef S2S_PARAMFILE_IO_H
#define S2S_PARAMFILE_IO_H

#include <hdf5.h>
#include <stddef.h>

#include "s2s/paramfile.h"

/* S2S_EINVAL unless attrs is NULL or a NULL-terminated list of "key=value" strings with a
 * non-empty key without '/', at most 255 characters, each key once. path is for messages. */
int paramfile_check_config(const char *path, const char *const *attrs);

/* Creates the group gpath ("params", "optim/exp_avg"; its parent must exist) on loc with
 * creation order tracked, and one float32 dataset per tensor of tab from buf (tab's layout),
 * contiguous, in table order. S2S_EIO naming the tensor on failure. */
int paramfile_write_tensors(hid_t loc, const char *path, const char *gpath, const param_table *tab,
                            const real *buf);

/* Creates /config on file with one string attribute per entry of attrs (already checked by
 * paramfile_check_config), in the given order. */
int paramfile_write_config(hid_t file, const char *path, const char *const *attrs);

/* Builds a file in memory with build(file, ctx), seals it as `kind` (its format attribute:
 * "s2s-checkpoint"; include/s2s/seal.h) and puts it at path atomically (temporary file in the
 * same directory, fsync, rename, fsync of the directory); after any failure the temporary file
 * is gone and an existing path untouched. payload: the expected size in bytes (the in-memory
 * image grows in steps of it). Returns build's status or S2S_EIO/S2S_ENOMEM. */
typedef int (*paramfile_build_fn)(hid_t file, void *ctx);
int paramfile_write_image(const char *path, const char *kind, size_t payload,
                          paramfile_build_fn build, void *ctx);

/* The tensors of group gpath of file into buf (tab's layout): every tensor of tab with its
 * exact shape and nothing else, as paramfile_read. S2S_EFORMAT naming the tensor otherwise. */
int paramfile_read_tensors(hid_t file, const char *path, const char *gpath, const param_table *tab,
                           real *buf);

/* fn for every /config attribute of file, as paramfile_read_config. */
int paramfile_read_group_config(hid_t file, const char *path, paramfile_config_fn fn, void *ctx);

/* fn(name, dset, space, ctx) for every entry of group gpath of file, in the order of
 * paramfile_link_name, with the entry open as a dataset and its dataspace. S2S_EFORMAT naming
 * the group or the entry when the group cannot be listed or an entry is not a readable
 * dataset. fn returns 0 to go on, or a negative status, which stops the walk and is returned. */
typedef int (*paramfile_tensor_fn)(const char *name, hid_t dset, hid_t space, void *ctx);
int paramfile_each_tensor(hid_t file, const char *path, const char *gpath, paramfile_tensor_fn fn,
                          void *ctx);

/* The name of link i of group in creation order (name order if the group does not track
 * creation order, e.g. written by h5py defaults): the order paramfile_write_tensors wrote. */
int paramfile_link_name(hid_t group, hsize_t i, char *buf, size_t n);

#endif
