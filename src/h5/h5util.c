/* h5util.c - HDF5 helpers shared by paramfile.c, ckpt.c, dataset.c and info.c (see
 * include/s2s/h5util.h).
 *
 * Like the modules that use them, these functions keep HDF5 ids in locals initialized to -1 and
 * close whatever is open on their single exit path. */
#include "s2s/h5util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/h5limits.h"
#include "s2s/probe.h"
#include "s2s/seal.h"
#include "s2s/status.h"
#include "s2s/stop.h"

/* ---- attributes ----------------------------------------------------------------------------- */

hid_t h5u_string_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 && (H5Tset_size(type, H5T_VARIABLE) < 0 ||
                      H5Tset_cset(type, H5T_CSET_UTF8) < 0)) {
        H5Tclose(type);
        return -1;
    }
    return type;
}

herr_t h5u_write_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t type = -1, space = -1, attr = -1;
    herr_t st = -1;
    if ((type = h5u_string_type()) < 0 || (space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto done;
    st = H5Awrite(attr, type, &value);
done:
    if (attr >= 0 && H5Aclose(attr) < 0)
        st = -1;
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

herr_t h5u_write_num_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                          const void *value)
{
    hid_t space = -1, attr = -1;
    herr_t st = -1;
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto done;
    st = H5Awrite(attr, mem_type, value);
done:
    if (attr >= 0 && H5Aclose(attr) < 0)
        st = -1;
    if (space >= 0)
        H5Sclose(space);
    return st;
}

herr_t h5u_write_int_attr(hid_t obj, const char *name, hid_t file_type, long long value)
{
    return h5u_write_num_attr(obj, name, file_type, H5T_NATIVE_LLONG, &value);
}

char *h5u_read_string_attr(hid_t attr, bool *is_string)
{
    hid_t ftype = -1, mtype = -1, space = -1;
    char *out = NULL, *vlen = NULL;
    *is_string = false;
    if ((ftype = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0)
        goto done;
    if (H5Tget_class(ftype) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1)
        goto done;
    *is_string = true;
    if ((mtype = H5Tcopy(H5T_C_S1)) < 0)
        goto done;
    if (H5Tis_variable_str(ftype) > 0) {
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 ||
            H5Aread(attr, mtype, &vlen) < 0)
            goto done;
        out = strdup(vlen ? vlen : "");
    } else {
        size_t n = H5Tget_size(ftype);
        if (n == 0 || H5Tset_size(mtype, n + 1) < 0 ||
            H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 || !(out = calloc(n + 1, 1)))
            goto done;
        if (H5Aread(attr, mtype, out) < 0) {
            free(out);
            out = NULL;
        }
    }
done:
    if (vlen)
        H5free_memory(vlen);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    return out;
}

int h5u_read_num_attr(hid_t obj, const char *name, H5T_class_t cls, hid_t mem_type, void *value)
{
    hid_t attr = -1, type = -1, space = -1;
    int rc = -1;
    /* The extent is checked so that an array attribute cannot overrun *value. */
    if (H5Aexists(obj, name) <= 0 || (attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 ||
        (type = H5Aget_type(attr)) < 0 || H5Tget_class(type) != cls ||
        (space = H5Aget_space(attr)) < 0 || H5Sget_simple_extent_npoints(space) != 1 ||
        H5Aread(attr, mem_type, value) < 0)
        goto done;
    rc = 0;
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

char *h5u_read_named_string_attr(hid_t obj, const char *name, bool *is_string)
{
    hid_t attr = -1;
    char *value = NULL;
    *is_string = false;
    /* Returns right after a failed call, so that h5u_fail still finds HDF5's reason. */
    if (H5Aexists(obj, name) <= 0 || (attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
        return NULL;
    value = h5u_read_string_attr(attr, is_string);
    H5Aclose(attr);
    return value;
}

int h5u_read_int_attr(hid_t obj, const char *name, long long *value)
{
    return h5u_read_num_attr(obj, name, H5T_INTEGER, H5T_NATIVE_LLONG, value);
}

/* ---- objects -------------------------------------------------------------------------------- */

bool h5u_has_link(hid_t loc, const char *path)
{
    char prefix[256];
    for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
        snprintf(prefix, sizeof prefix, "%.*s", (int)(p - path), path);
        if (H5Lexists(loc, prefix, H5P_DEFAULT) <= 0)
            return false;
    }
    return H5Lexists(loc, path, H5P_DEFAULT) > 0;
}

long long h5u_vector_length(hid_t loc, const char *path)
{
    hid_t dset = -1, space = -1;
    hsize_t dims[1];
    long long n = -1;
    if (h5u_has_link(loc, path) && (dset = H5Dopen2(loc, path, H5P_DEFAULT)) >= 0 &&
        (space = H5Dget_space(dset)) >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
        H5Sget_simple_extent_dims(space, dims, NULL) == 1)
        n = (long long)dims[0];
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return n;
}

/* "a", "a" or "b", "a", "b" or "c": the accepted formats, for messages. */
static void format_list(char *buf, size_t n, const char *const *formats, int count)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < count && used < n; i++) {
        const char *sep = i == 0 ? "" : i == count - 1 ? " or " : ", ";
        int w = snprintf(buf + used, n - used, "%s\"%s\"", sep, formats[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* ---- creating ------------------------------------------------------------------------------ */

hid_t h5u_create_fcpl(void)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0 && H5Pset_userblock(fcpl, SEAL_BLOCK) < 0) {
        H5Pclose(fcpl);
        return -1;
    }
    return fcpl;
}

herr_t h5u_set_create_bounds(hid_t fapl)
{
    /* The 1.8 file format and later give the superblock, object headers and B-trees checksums
     * that the library verifies when it reads them (the 1.6 format has none). */
    return H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
}

/* ---- the probe of files without an integrity record ---------------------------------------- */

/* The probe reads datasets in slabs of about this many bytes. */
#define PROBE_SLAB_BYTES ((size_t)8 << 20)

typedef struct {
    const char *path;
    h5l_budget budget;
    int rc;
} walk_state;

/* Whether values of memory type t hold library allocations that H5Dvlen_reclaim must free
 * (variable-length sequences or strings, also inside compounds and arrays). */
static bool holds_vlen(hid_t t)
{
    return H5Tdetect_class(t, H5T_VLEN) > 0 || H5Tis_variable_str(t) > 0;
}

/* Reads one attribute with its own type as memory type and releases what it allocated. */
static herr_t walk_attr(hid_t loc, const char *name, const H5A_info_t *ainfo, void *ctx)
{
    walk_state *w = ctx;
    (void)ainfo;
    hid_t attr = -1, ftype = -1, mtype = -1, space = -1;
    void *buf = NULL;
    herr_t st = -1;
    if ((attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
        (mtype = H5Tget_native_type(ftype, H5T_DIR_DEFAULT)) < 0 ||
        (space = H5Aget_space(attr)) < 0)
        goto done;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    size_t size = H5Tget_size(mtype);
    if (n < 0 || size == 0 || (n > 0 && (size_t)n > PROBE_SLAB_BYTES / size)) {
        w->rc = s2s_fail(S2S_EFORMAT, "%s: attribute '%s': %lld values of %zu bytes, more than "
                         "an attribute holds", w->path, name, (long long)n, size);
        goto done;
    }
    if (n > 0 && !(buf = calloc((size_t)n, size)))
        goto done;
    if (n == 0 || H5Aread(attr, mtype, buf) >= 0)
        st = 0;
    if (n > 0 && st == 0 && holds_vlen(mtype))
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
done:
    if (st < 0 && w->rc == 0)
        w->rc = h5u_fail(S2S_EFORMAT, "%s: attribute '%s': cannot read it", w->path, name);
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (attr >= 0)
        H5Aclose(attr);
    return st < 0 || w->rc < 0 ? -1 : 0;
}

/* Reads all of a dataset, slab by slab along its first dimension. */
static int walk_dataset(walk_state *w, hid_t dset, const char *name)
{
    hid_t ftype = -1, mtype = -1, fspace = -1, mspace = -1;
    void *buf = NULL;
    int rc = 0, rank;
    hsize_t dims[H5S_MAX_RANK];
    if ((ftype = H5Dget_type(dset)) < 0 ||
        (mtype = H5Tget_native_type(ftype, H5T_DIR_DEFAULT)) < 0 ||
        (fspace = H5Dget_space(dset)) < 0 ||
        (rank = H5Sget_simple_extent_dims(fspace, dims, NULL)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its type and shape", w->path, name);
        goto done;
    }
    size_t size = H5Tget_size(mtype);
    if (size == 0 || size > PROBE_SLAB_BYTES) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: elements of %zu bytes", w->path, name, size);
        goto done;
    }
    /* The readers' own limits first (h5limits.h): chunk sizes, filters, declared against
     * stored bytes, the file's budget; so nothing is inflated beyond what the file can hold. */
    if ((rc = h5l_check_storage(dset, w->path, name, &w->budget, NULL)) < 0)
        goto done;
    if (rank == 0) { /* a scalar */
        dims[0] = 1;
    }
    /* Elements per row of the first dimension, and rows per slab. */
    double row = 1;
    for (int k = 1; k < rank; k++)
        row *= (double)dims[k];
    if (row * (double)size > (double)PROBE_SLAB_BYTES) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: rows of %.0f bytes, more than the probe reads at "
                      "once", w->path, name, row * (double)size);
        goto done;
    }
    hsize_t rows = rank == 0 ? 1 : dims[0];
    hsize_t per = (hsize_t)((double)PROBE_SLAB_BYTES / (row * (double)size > 0 ? row * (double)size : 1));
    if (per < 1)
        per = 1;
    if (per > rows)
        per = rows ? rows : 1;
    bool vlen = holds_vlen(mtype);
    if (rows > 0 && !(buf = calloc((size_t)(per * (hsize_t)row), size))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: %s: out of memory to probe it", w->path, name);
        goto done;
    }
    for (hsize_t at = 0; at < rows && rc == 0; at += per) {
        if (stop_requested()) {
            rc = stop_fail(w->path);
            break;
        }
        hsize_t n = rows - at < per ? rows - at : per;
        hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        for (int k = 0; k < rank; k++)
            count[k] = dims[k];
        start[0] = at;
        count[0] = n;
        herr_t st;
        if (rank == 0) {
            st = H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            mspace = H5Screate(H5S_SCALAR);
        } else {
            st = (mspace = H5Screate_simple(rank, count, NULL)) < 0 ||
                         H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0
                     ? -1
                     : H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, buf);
        }
        if (st < 0)
            rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read elements from %llu", w->path, name,
                          (unsigned long long)at);
        else if (vlen)
            H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, buf);
        if (mspace >= 0)
            H5Sclose(mspace);
        mspace = -1;
    }
done:
    free(buf);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    return rc;
}

static herr_t walk_object(hid_t loc, const char *name, const H5O_info_t *info, void *ctx)
{
    walk_state *w = ctx;
    char obj_name[512]; /* "/train/src_tokens", as the readers name objects */
    snprintf(obj_name, sizeof obj_name, "/%s", strcmp(name, ".") ? name : "");
    name = obj_name;
    hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
    if (obj < 0) {
        w->rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot open it", w->path, name);
        return -1;
    }
    hsize_t idx = 0;
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, walk_attr, w) < 0 && w->rc == 0)
        w->rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot list its attributes", w->path, name);
    if (w->rc == 0 && info->type == H5O_TYPE_DATASET)
        w->rc = walk_dataset(w, obj, name);
    H5Oclose(obj);
    return w->rc < 0 ? -1 : 0;
}

/* The probe: opens the file and reads every attribute and every dataset in it, which is all
 * any s2s reader can ask the library to parse. */
static int walk_file(const char *path, void *ctx, int *result)
{
    (void)ctx;
    (void)result;
    hid_t file = -1;
    int rc = h5u_open_file(path, &file);
    if (rc < 0)
        return rc;
    walk_state w = {.path = path, .rc = 0};
    if ((rc = h5l_budget_init(&w.budget, path)) < 0) {
        H5Fclose(file);
        return rc;
    }
    if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, walk_object, &w, H5O_INFO_BASIC) < 0 &&
        w.rc == 0)
        w.rc = h5u_fail(S2S_EFORMAT, "%s: cannot walk its objects", path);
    H5Fclose(file);
    return w.rc;
}

/* ---- opening -------------------------------------------------------------------------------- */

int h5u_open(const char *path, const char *what, const char *format, unsigned flags,
             hid_t *file_out, long long *version)
{
    return h5u_open_any(path, what, &format, 1, flags, file_out, version, NULL);
}

int h5u_open_file(const char *path, hid_t *file)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    int rc = 0;
    *file = -1;
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (*file < 0) /* before H5Pclose, which clears HDF5's error stack */
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot open as HDF5 (truncated or damaged file?)", path);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

int h5u_unsealed_fail(const char *path, const char *what)
{
    return s2s_fail(S2S_EFORMAT, "%s: a %s must carry s2s's integrity record and this file has "
                    "none: written by an s2s older than the record, by another tool, or its "
                    "first %d bytes were overwritten; s2s does not use a %s it cannot verify",
                    path, what, SEAL_BLOCK, what);
}

int h5u_check(const char *path, const char *what, const char *const *formats, int count,
              unsigned flags, seal_info *seal)
{
    /* HDF5's own messages for these cases are vague ("unable to open file"), so the common
     * ones are told apart first. */
    struct stat st;
    memset(seal, 0, sizeof *seal);
    if (stat(path, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return s2s_fail(S2S_EIO, "%s: is a directory, not a %s", path, what);
    if (access(path, R_OK) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot read %s: %s", path, what, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return s2s_fail(S2S_EFORMAT, "%s: not a regular file", path);
    int rc = seal_check(path, what, seal);
    if (rc < 0)
        return rc;
    if (seal->state == SEAL_VALID) {
        for (int i = 0; i < count; i++)
            if (!strcmp(seal->kind, formats[i]))
                return 0;
        char expected[256];
        format_list(expected, sizeof expected, formats, count);
        return s2s_fail(S2S_EFORMAT, "%s: an s2s file of kind \"%s\", not a %s (%s)", path,
                        seal->kind, what, expected);
    }
    if (H5Fis_hdf5(path) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: not an HDF5 file (no HDF5 signature)", path);
    if (probe_in_child())
        return 0; /* the caller is the probe: its parent checked the record */
    if (!(flags & H5U_FOREIGN_OK))
        return h5u_unsealed_fail(path, what);
    if ((rc = probe_run(path, what, walk_file, NULL, NULL)) < 0)
        return rc;
    if (!(flags & H5U_QUIET_UNVERIFIED))
        s2s_note_once(path, "%s: unverified %s: it carries no s2s integrity record (written by "
                      "another tool, or its record was lost); a probe process read all of it "
                      "without error first", path, what);
    return 0;
}

int h5u_open_any(const char *path, const char *what, const char *const *formats, int count,
                 unsigned flags, hid_t *file_out, long long *version, int *which)
{
    int rc;
    hid_t file = -1;
    char *value = NULL;
    *file_out = -1;
    h5u_quiet();

    seal_info seal;
    if ((rc = h5u_check(path, what, formats, count, flags, &seal)) < 0)
        return rc;
    if ((rc = h5u_open_file(path, &file)) < 0)
        return rc;

    bool is_string;
    char expected[256];
    if (!(value = h5u_read_named_string_attr(file, "format", &is_string))) {
        format_list(expected, sizeof expected, formats, count);
        rc = s2s_fail(S2S_EFORMAT, "%s: not an s2s %s (no string attribute 'format' = %s)",
                      path, what, expected);
        goto done;
    }
    int found = -1;
    for (int i = 0; i < count && found < 0; i++)
        if (strcmp(value, formats[i]) == 0)
            found = i;
    if (found < 0) {
        format_list(expected, sizeof expected, formats, count);
        rc = s2s_fail(S2S_EFORMAT, "%s: attribute 'format' is \"%s\", expected %s", path,
                      value, expected);
        goto done;
    }
    if (which)
        *which = found;
    if (h5u_read_int_attr(file, "version", version) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no integer attribute 'version'", path);
        goto done;
    }
    *file_out = file;
    file = -1;
done:
    free(value);
    if (file >= 0)
        H5Fclose(file);
    return rc;
}
