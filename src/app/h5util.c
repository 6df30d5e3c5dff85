/* h5util.c - HDF5 helpers shared by paramfile.c, ckpt.c, dataset.c and info.c (see
 * include/s2s/h5util.h).
 *
 * Like the modules that use them, these functions keep HDF5 ids in locals initialized to -1 and
 * close whatever is open on their single exit path. */
#include "s2s/h5util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s2s/status.h"

/* ---- errors --------------------------------------------------------------------------------- */

static herr_t innermost_error(unsigned n, const H5E_error2_t *e, void *ctx)
{
    char *buf = ctx;
    (void)n;
    if (!buf[0] && e->desc && e->desc[0])
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

/* The innermost entry is the most specific one ("truncated file: eof = ..."); the automatic
 * printing, which h5u_quiet turns off, would otherwise have sent the stack to stderr. */
int h5u_fail(int code, const char *fmt, ...)
{
    char msg[768], detail[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, detail);
    for (char *c = detail; *c; c++) /* some HDF5 messages span lines */
        if (*c == '\n')
            *c = ' ';
    if (detail[0])
        return s2s_fail(code, "%s (HDF5: %s)", msg, detail);
    return s2s_fail(code, "%s", msg);
}

void h5u_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

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

herr_t h5u_write_int_attr(hid_t obj, const char *name, hid_t file_type, long long value)
{
    hid_t space = -1, attr = -1;
    herr_t st = -1;
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto done;
    st = H5Awrite(attr, H5T_NATIVE_LLONG, &value);
done:
    if (attr >= 0 && H5Aclose(attr) < 0)
        st = -1;
    if (space >= 0)
        H5Sclose(space);
    return st;
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

/* ---- opening -------------------------------------------------------------------------------- */

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

int h5u_open(const char *path, const char *what, const char *format, hid_t *file_out,
             long long *version)
{
    return h5u_open_any(path, what, &format, 1, file_out, version, NULL);
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

int h5u_open_any(const char *path, const char *what, const char *const *formats, int count,
                 hid_t *file_out, long long *version, int *which)
{
    int rc;
    hid_t file = -1;
    char *value = NULL;
    *file_out = -1;
    h5u_quiet();

    /* HDF5's own messages for these cases are vague ("unable to open file"), so the common
     * ones are told apart first. */
    struct stat st;
    if (stat(path, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return s2s_fail(S2S_EIO, "%s: is a directory, not a %s", path, what);
    if (access(path, R_OK) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot read %s: %s", path, what, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: not an HDF5 file (no HDF5 signature)", path);
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
