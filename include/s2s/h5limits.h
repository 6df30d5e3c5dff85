/* h5limits.h - what an HDF5 dataset may cost to read, checked from its metadata before the
 * first H5Dread: the readers of datasets, checkpoints and parameter files (dataset.c, ckpt.c,
 * paramfile.c) call h5l_check_storage on every dataset they are about to read, so that a small
 * file cannot make s2s allocate or inflate far more than the file holds (docs/formats.md,
 * "Limits").
 * Internal to the library; include it only from code that also includes <hdf5.h>. */
#ifndef S2S_H5LIMITS_H
#define S2S_H5LIMITS_H

#include <hdf5.h>
#include <stddef.h>

/* A chunk that inflates to more than this is refused: reading any element of a chunk inflates
 * all of it into one buffer. s2s writes chunks of 4 KiB (tokens) and 32 KiB (offsets); h5py's
 * automatic chunks are at most 1 MiB. The probe of files without an integrity record
 * (h5util.c) uses the same bound. */
#define H5L_CHUNK_MAX ((size_t)64 << 20)

/* A chunk larger than its whole dataset is refused above this size (below it, a small split in
 * s2s's own 4 KiB chunks is normal). */
#define H5L_CHUNK_SLACK ((size_t)1 << 20)

/* Deflate emits at least 2 bits for a match of at most 258 bytes, so no deflate stream is
 * smaller than 1/1032 of what it inflates to (zlib's "maximum compression factor" is 1032:1). */
#define H5L_DEFLATE_MAX_RATIO 1032

/* The file's size and the storage its datasets claim so far: two datasets cannot share bytes, so
 * the sum never exceeds the file (chunk indexes that point many chunks at the same bytes would
 * otherwise multiply what a file inflates to). */
typedef struct {
    const char *path; /* for messages */
    unsigned long long file_size;
    unsigned long long claimed;
} h5l_budget;

/* Sets b->file_size to the size of the file at path (stat) and b->claimed to 0. S2S_EIO if it
 * cannot be read. */
int h5l_budget_init(h5l_budget *b, const char *path);

/* Checks dataset dset (named obj in messages) before anything of it is read:
 *  - its storage lies in this file (not virtual, no external files);
 *  - chunked: a chunk inflates to at most H5L_CHUNK_MAX bytes, and is not larger than the whole
 *    dataset when above H5L_CHUNK_SLACK; its filters are only shuffle, fletcher32 and deflate,
 *    each at most once (the ratios of other filters are unbounded);
 *  - the bytes its extent declares (elements x element size) are at most what its storage can
 *    hold: the stored bytes, times H5L_DEFLATE_MAX_RATIO when deflated (so unallocated storage,
 *    which reads as fill values, is refused);
 *  - with b: its stored bytes, added to b->claimed, fit in the file.
 * *chunk_elems (if non-NULL) gets the elements per chunk, 0 if not chunked. S2S_EFORMAT with a
 * message naming b's path (or `path`), obj, the value and the bound. */
int h5l_check_storage(hid_t dset, const char *path, const char *obj, h5l_budget *b,
                      unsigned long long *chunk_elems);

#endif
