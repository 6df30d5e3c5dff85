/* h5util.h - HDF5 helpers shared by the modules that read and write HDF5 files (parameter
 * files, checkpoints, datasets): error reporting (h5err.h), string and integer
 * attributes as h5py writes and reads them, and opening a file whose root attribute 'format'
 * says what it is.
 * Internal to the library; include it only from code that also includes <hdf5.h>. */
#ifndef S2S_H5UTIL_H
#define S2S_H5UTIL_H

#include <hdf5.h>
#include <stdbool.h>

#include "s2s/h5err.h"
#include "s2s/seal.h"

/* A new copy of the variable-length UTF-8 string type (what h5py uses for Python str); the
 * caller closes it. Negative on failure. */
hid_t h5u_string_type(void);

/* Creates the scalar attribute name = value on obj: a variable-length UTF-8 string, an
 * integer stored as file_type (e.g. H5T_STD_I32LE), or any number *value of memory type
 * mem_type stored as file_type. Negative on failure. */
herr_t h5u_write_string_attr(hid_t obj, const char *name, const char *value);
herr_t h5u_write_int_attr(hid_t obj, const char *name, hid_t file_type, long long value);
herr_t h5u_write_num_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                          const void *value);

/* The value of a scalar string attribute, fixed- or variable-length, as a malloc'ed string.
 * NULL with *is_string = false when the attribute is not a single string. */
char *h5u_read_string_attr(hid_t attr, bool *is_string);

/* The attribute name of obj if it exists, has class cls (H5T_INTEGER, H5T_FLOAT) and one
 * element: 0 and the value converted to mem_type in *value, else -1. */
int h5u_read_num_attr(hid_t obj, const char *name, H5T_class_t cls, hid_t mem_type, void *value);

/* h5u_read_string_attr of the attribute name of obj; NULL with *is_string = false also when
 * obj has no such attribute. */
char *h5u_read_named_string_attr(hid_t obj, const char *name, bool *is_string);

/* h5u_read_num_attr of a scalar integer as long long. */
int h5u_read_int_attr(hid_t obj, const char *name, long long *value);

/* Whether path ("vocab/src") names an object under loc: false, not an error, when a group on
 * the way is missing (where H5Lexists alone fails). */
bool h5u_has_link(hid_t loc, const char *path);

/* The length of the one-dimensional dataset path under loc, or -1 if there is none. */
long long h5u_vector_length(hid_t loc, const char *path);

/* ---- creating: what every file s2s writes shares ---- */

/* A file-creation property list with the SEAL_BLOCK user block that holds the integrity record
 * (include/s2s/seal.h); the caller closes it. Negative on failure. */
hid_t h5u_create_fcpl(void);

/* Sets fapl's format bounds for new files: the 1.8 format or later, whose superblock, object
 * headers and B-trees carry checksums the library verifies. */
herr_t h5u_set_create_bounds(hid_t fapl);

/* ---- opening ---- */

/* Flags of h5u_check and the h5u_open functions. */
enum {
    /* A file without s2s's integrity record is accepted (after a probe process has read all of
     * it without error, include/s2s/probe.h) with a note that it is unverified: for datasets,
     * which other tools may write. Without it such a file is refused. */
    H5U_FOREIGN_OK = 1,
    /* With H5U_FOREIGN_OK: no note (the caller reports it itself). */
    H5U_QUIET_UNVERIFIED = 2,
};

/* What every open does before the HDF5 library parses a byte: path is a readable regular file;
 * its integrity record (seal_check) is intact, matches the file and names one of
 * formats[0..count) as its kind; or it has no record and flags allow that (see above) and the
 * probe found no damage. seal->state says which (SEAL_NONE for an accepted file without a
 * record). S2S_EIO: missing, a directory, unreadable. S2S_EFORMAT: damaged (the record's
 * reason), another kind, not HDF5, no record where one is needed, the probe's finding.
 * S2S_ESTOPPED: a stop signal during the probe. */
int h5u_check(const char *path, const char *what, const char *const *formats, int count,
              unsigned flags, seal_info *seal);

/* S2S_EFORMAT "PATH: a WHAT must carry s2s's integrity record and this file has none: ...": the
 * refusal of a file without a record where one is required. */
int h5u_unsealed_fail(const char *path, const char *what);

/* Opens path read-only with the "strong" close degree (closing the file closes every object
 * still open in it) after h5u_check, and checks that the root string attribute 'format' is
 * `format`. The integer root attribute 'version' goes to *version unchecked, so callers word a
 * mismatch in their terms. `what` names the kind of file in messages ("parameter file").
 * Errors: those of h5u_check; S2S_EFORMAT: truncated or damaged, wrong or no format, no
 * version. */
int h5u_open(const char *path, const char *what, const char *format, unsigned flags,
             hid_t *file, long long *version);

/* The last step of h5u_open, for callers that check the file themselves (h5u_check first):
 * opens path read-only with the strong close degree. S2S_EFORMAT "cannot open as HDF5
 * (truncated or damaged file?)" with HDF5's reason. */
int h5u_open_file(const char *path, hid_t *file);

/* h5u_open accepting any of formats[0..count) (a checkpoint is also a parameter file); the
 * index of the one found goes to *which (if non-NULL), and messages list them all. */
int h5u_open_any(const char *path, const char *what, const char *const *formats, int count,
                 unsigned flags, hid_t *file, long long *version, int *which);

#endif
