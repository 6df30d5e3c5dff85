/* paramfile.c - HDF5 parameter files (layout and guarantees in include/s2s/paramfile.h).
 *
 * Every function that opens HDF5 objects keeps their ids in locals initialized to -1 and closes
 * whatever is open on its single exit path, so a failure at any point leaks nothing. Files are
 * opened with the "strong" close degree (closing the file closes any object still open in it).
 * Writing builds the file in memory and puts it on disk with plain system calls; see
 * paramfile_write for why. */
#include "s2s/paramfile.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s2s/status.h"

/* Memory type matching `real`; the file type is always IEEE float32 little-endian. */
static hid_t real_mem_type(void)
{
#ifdef S2S_REAL_DOUBLE
    return H5T_NATIVE_DOUBLE;
#else
    return H5T_NATIVE_FLOAT;
#endif
}

/* ---- errors --------------------------------------------------------------------------------- */

static herr_t innermost_error(unsigned n, const H5E_error2_t *e, void *ctx)
{
    char *buf = ctx;
    (void)n;
    if (!buf[0] && e->desc && e->desc[0])
        snprintf(buf, 200, "%s", e->desc);
    return 0;
}

/* Records `fmt` followed by HDF5's own explanation of its last failure (the innermost entry of
 * its error stack, e.g. "truncated file: eof = ..."), which the automatic printing would
 * otherwise have sent to stderr. */
__attribute__((format(printf, 2, 3))) static int h5_fail(int code, const char *fmt, ...)
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

/* Errors are reported through s2s_fail, never printed by the library. */
static void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void shape_text(char *buf, size_t n, int ndim, const hsize_t *dims)
{
    if (ndim == 1)
        snprintf(buf, n, "[%llu]", (unsigned long long)dims[0]);
    else if (ndim == 2)
        snprintf(buf, n, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    else
        snprintf(buf, n, "(%d dimensions)", ndim);
}

/* ---- attributes ----------------------------------------------------------------------------- */

/* Scalar variable-length UTF-8 string attribute, the type h5py gives Python strings. */
static herr_t write_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t type = -1, space = -1, attr = -1;
    herr_t st = -1;
    if ((type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
        H5Tset_cset(type, H5T_CSET_UTF8) < 0 || (space = H5Screate(H5S_SCALAR)) < 0 ||
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

static herr_t write_int_attr(hid_t obj, const char *name, int value)
{
    hid_t space = -1, attr = -1;
    herr_t st = -1;
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto done;
    st = H5Awrite(attr, H5T_NATIVE_INT, &value);
done:
    if (attr >= 0 && H5Aclose(attr) < 0)
        st = -1;
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* The value of a scalar string attribute, fixed- or variable-length, as a malloc'ed string.
 * NULL with *is_string = false when the attribute is not a single string. */
static char *read_string_attr(hid_t attr, bool *is_string)
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

/* ---- writing -------------------------------------------------------------------------------- */

static int check_attrs(const char *path, const char *const *attrs)
{
    for (int i = 0; attrs && attrs[i]; i++) {
        const char *eq = strchr(attrs[i], '=');
        if (!eq || eq == attrs[i] || memchr(attrs[i], '/', (size_t)(eq - attrs[i])))
            return s2s_fail(S2S_EINVAL,
                            "%s: configuration entry '%s' is not of the form key=value (with a "
                            "non-empty key without '/')",
                            path, attrs[i]);
        size_t klen = (size_t)(eq - attrs[i]);
        if (klen > 255)
            return s2s_fail(S2S_EINVAL, "%s: configuration key '%.40s...' is longer than 255 "
                                        "characters",
                            path, attrs[i]);
        for (int j = 0; j < i; j++)
            if (!strncmp(attrs[j], attrs[i], klen) && attrs[j][klen] == '=')
                return s2s_fail(S2S_EINVAL, "%s: configuration key '%.*s' is given twice", path,
                                (int)klen, attrs[i]);
    }
    return 0;
}

/* fsync of a directory, so that a rename in it is durable. */
static int sync_dir(const char *d)
{
    int fd = open(d, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* All of buf to fd, across partial writes and interruptions. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates a new file next to path (O_EXCL, mode 0666 less the umask, like the target would
 * get); its name goes to tmp (n bytes). */
static int create_temp(const char *path, char *tmp, size_t n)
{
    static unsigned counter; /* distinguishes calls within one process; pid between processes */
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(tmp, n, "%s.tmp.%ld.%u%ld", path, (long)getpid(), counter++,
                 (long)(ts.tv_nsec % 1000));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* The tensors and attributes, into the already created file. */
static int write_contents(hid_t file, const char *path, const param_table *tab,
                          const real *params, const char *const *attrs)
{
    hid_t group = -1, gcpl = -1, space = -1, dset = -1;
    int rc = 0;
    if (write_string_attr(file, "format", PARAMFILE_FORMAT) < 0 ||
        write_int_attr(file, "version", PARAMFILE_VERSION) < 0) {
        rc = h5_fail(S2S_EIO, "%s: cannot write the format attributes", path);
        goto done;
    }
    /* Creation order is tracked so that readers see tensors and configuration entries in the
     * order of the parameter buffer and of the caller's list. */
    if ((gcpl = H5Pcreate(H5P_GROUP_CREATE)) < 0 ||
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        (group = H5Gcreate2(file, "params", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        rc = h5_fail(S2S_EIO, "%s: cannot create group /params", path);
        goto done;
    }
    for (int i = 0; i < tab->n; i++) {
        const param_tensor *t = &tab->t[i];
        hsize_t dims[2] = {(hsize_t)t->rows, (hsize_t)t->cols};
        const real *src = params + t->offset;
        if ((space = H5Screate_simple(t->ndim, dims, NULL)) < 0 ||
            (dset = H5Dcreate2(group, t->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT)) < 0 ||
            H5Dwrite(dset, real_mem_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, src) < 0 ||
            H5Dclose(dset) < 0) {
            rc = h5_fail(S2S_EIO, "%s: cannot write tensor '/params/%s'", path, t->name);
            goto done;
        }
        dset = -1;
        H5Sclose(space);
        space = -1;
    }
    H5Gclose(group);
    if ((group = H5Gcreate2(file, "config", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        rc = h5_fail(S2S_EIO, "%s: cannot create group /config", path);
        goto done;
    }
    for (int i = 0; attrs && attrs[i]; i++) {
        const char *eq = strchr(attrs[i], '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - attrs[i]), attrs[i]);
        if (write_string_attr(group, key, eq + 1) < 0) {
            rc = h5_fail(S2S_EIO, "%s: cannot write configuration attribute '/config/%s'", path,
                         key);
            goto done;
        }
    }
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    if (group >= 0 && H5Gclose(group) < 0 && rc == 0)
        rc = h5_fail(S2S_EIO, "%s: cannot close a group", path);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return rc;
}

/* HDF5 builds the whole file in memory (the "core" driver without a backing store) and the
 * bytes are written here with plain system calls. HDF5 then never meets an I/O error: besides
 * giving errno-precise messages, this matters because HDF5 1.10 cannot recover from a file
 * whose close failed (e.g. on a full disk): the file stays open and the library crashes when it
 * shuts down at exit. The price is a transient copy of the file in memory, about twice the
 * size of the float32 parameters. */
int paramfile_write(const char *path, const param_table *tab, const real *params,
                    const char *const *attrs)
{
    int rc, fd = -1;
    bool tmp_created = false;
    char *tmp = NULL, *dir = NULL, *image = NULL;
    hid_t fapl = -1, file = -1;
    h5_quiet();
    if ((rc = check_attrs(path, attrs)) < 0)
        return rc;

    size_t n = strlen(path), tmp_n = n + 64;
    tmp = malloc(tmp_n);
    dir = malloc(n + 2);
    if (!tmp || !dir) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* The image grows in steps of the tensor payload plus room for metadata, so usually once. */
    size_t payload = param_table_count(tab) * 4 + (64u << 10);
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, payload, 0) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        (file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        rc = h5_fail(S2S_EIO, "%s: cannot create an HDF5 file in memory", path);
        goto fail;
    }
    if ((rc = write_contents(file, path, tab, params, attrs)) < 0)
        goto fail;
    /* The image is only complete once the metadata cache is written out to it. */
    ssize_t size = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(file, NULL, 0);
    if (size <= 0 || !(image = malloc((size_t)size)) ||
        H5Fget_file_image(file, image, (size_t)size) != size) {
        rc = h5_fail(size > 0 && !image ? S2S_ENOMEM : S2S_EIO,
                     "%s: cannot obtain the file image (%zd bytes)", path, size);
        goto fail;
    }
    H5Fclose(file);
    file = -1;

    /* The temporary file sits in the target's directory, so rename() replaces the target in
     * one step and never crosses a file system. */
    if ((fd = create_temp(path, tmp, tmp_n)) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot create a temporary file in its directory: %s", path,
                      strerror(errno));
        goto fail;
    }
    tmp_created = true;
    if (write_all(fd, image, (size_t)size) < 0 || fsync(fd) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot write %zd bytes to %s: %s", path, size, tmp,
                      strerror(errno));
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: cannot replace it with %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    tmp_created = false; /* renamed: nothing to remove */

    /* The rename is durable only once the directory entry is on disk. */
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    if (sync_dir(dir) < 0) {
        rc = s2s_fail(S2S_EIO, "%s: written, but cannot flush directory %s: %s", path, dir,
                      strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    if (fd >= 0)
        close(fd);
    if (tmp_created)
        unlink(tmp);
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    free(image);
    free(tmp);
    free(dir);
    return rc;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* Opens path read-only and checks the format and version attributes. */
static int open_checked(const char *path, hid_t *file_out)
{
    int rc = 0;
    hid_t fapl = -1, file = -1, attr = -1, type = -1;
    char *format = NULL;
    *file_out = -1;
    h5_quiet();

    struct stat st;
    if (stat(path, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot open parameter file: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return s2s_fail(S2S_EIO, "%s: is a directory, not a parameter file", path);
    if (access(path, R_OK) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot read parameter file: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: not an HDF5 file (no HDF5 signature)", path);
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        (file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
        rc = h5_fail(S2S_EFORMAT, "%s: cannot open as HDF5 (truncated or damaged file?)", path);
        goto done;
    }

    bool is_string;
    if (H5Aexists(file, "format") <= 0 || (attr = H5Aopen(file, "format", H5P_DEFAULT)) < 0 ||
        !(format = read_string_attr(attr, &is_string))) {
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: not an s2s parameter file (no string attribute 'format' = \"%s\")",
                      path, PARAMFILE_FORMAT);
        goto done;
    }
    if (strcmp(format, PARAMFILE_FORMAT) != 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: attribute 'format' is \"%s\", expected \"%s\"", path,
                      format, PARAMFILE_FORMAT);
        goto done;
    }
    H5Aclose(attr);
    attr = -1;
    long long version = 0;
    if (H5Aexists(file, "version") <= 0 || (attr = H5Aopen(file, "version", H5P_DEFAULT)) < 0 ||
        (type = H5Aget_type(attr)) < 0 || H5Tget_class(type) != H5T_INTEGER ||
        H5Aread(attr, H5T_NATIVE_LLONG, &version) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no integer attribute 'version'", path);
        goto done;
    }
    if (version != PARAMFILE_VERSION) {
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: format version %lld, but this program reads version %d", path,
                      version, PARAMFILE_VERSION);
        goto done;
    }
    *file_out = file;
    file = -1;
done:
    free(format);
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

/* Name of the first link of group (in name order) that is not a tensor of tab, into buf. */
static void find_extra(hid_t group, hsize_t nlinks, const param_table *tab, char *buf, size_t n)
{
    snprintf(buf, n, "?");
    for (hsize_t i = 0; i < nlinks; i++) {
        char name[256];
        if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0)
            continue;
        if (param_table_find(tab, name) < 0) {
            snprintf(buf, n, "%s", name);
            return;
        }
    }
}

static int read_tensor(hid_t group, const char *path, const param_tensor *t, real *dst)
{
    int rc = 0;
    hid_t dset = -1, space = -1, type = -1;
    hsize_t want[2] = {(hsize_t)t->rows, (hsize_t)t->cols};
    char want_s[64], have_s[64];
    shape_text(want_s, sizeof want_s, t->ndim, want);
    if (H5Lexists(group, t->name, H5P_DEFAULT) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: tensor '%s' (shape %s) is missing from /params", path,
                        t->name, want_s);
    if ((dset = H5Dopen2(group, t->name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0 ||
        (type = H5Dget_type(dset)) < 0) {
        rc = h5_fail(S2S_EFORMAT, "%s: '/params/%s' is not a readable dataset", path, t->name);
        goto done;
    }
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = h5_fail(S2S_EFORMAT, "%s: cannot read the shape of tensor '%s'", path, t->name);
        goto done;
    }
    if (nd != t->ndim || dims[0] != want[0] || (nd == 2 && dims[1] != want[1])) {
        shape_text(have_s, sizeof have_s, nd, dims);
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: tensor '%s' has shape %s in the file, but the model expects %s", path,
                      t->name, have_s, want_s);
        goto done;
    }
    if (H5Tget_class(type) != H5T_FLOAT) {
        rc = s2s_fail(S2S_EFORMAT, "%s: tensor '%s' is not floating-point", path, t->name);
        goto done;
    }
    if (H5Dread(dset, real_mem_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        rc = h5_fail(S2S_EFORMAT, "%s: cannot read tensor '%s' (truncated file?)", path, t->name);
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

int paramfile_read(const char *path, const param_table *tab, real *params)
{
    hid_t file = -1, group = -1;
    int rc = open_checked(path, &file);
    if (rc < 0)
        return rc;
    if (H5Lexists(file, "params", H5P_DEFAULT) <= 0 ||
        (group = H5Gopen2(file, "params", H5P_DEFAULT)) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no group /params", path);
        goto done;
    }
    for (int i = 0; i < tab->n; i++)
        if ((rc = read_tensor(group, path, &tab->t[i], params + tab->t[i].offset)) < 0)
            goto done;
    /* Every tensor of tab is present, so any further link is one the model does not have. */
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) {
        rc = h5_fail(S2S_EFORMAT, "%s: cannot list /params", path);
        goto done;
    }
    if (info.nlinks != (hsize_t)tab->n) {
        char extra[256];
        find_extra(group, info.nlinks, tab, extra, sizeof extra);
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: /params holds %llu tensors, the model %d: '%s' is not a tensor of "
                      "this model",
                      path, (unsigned long long)info.nlinks, tab->n, extra);
        goto done;
    }
done:
    if (group >= 0)
        H5Gclose(group);
    H5Fclose(file);
    return rc;
}

typedef struct {
    const char *path;
    paramfile_config_fn fn;
    void *ctx;
    int rc;
} config_walk;

static herr_t config_entry(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    config_walk *w = ctx;
    bool is_string = false;
    char *value = NULL;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    (void)info;
    if (attr >= 0)
        value = read_string_attr(attr, &is_string);
    if (attr >= 0)
        H5Aclose(attr);
    if (!value) {
        w->rc = is_string ? h5_fail(S2S_EFORMAT, "%s: cannot read attribute '/config/%s'",
                                    w->path, name)
                          : s2s_fail(S2S_EFORMAT, "%s: attribute '/config/%s' is not a string",
                                     w->path, name);
        return 1;
    }
    w->rc = w->fn(name, value, w->ctx);
    free(value);
    return w->rc < 0 ? 1 : 0;
}

int paramfile_read_config(const char *path, paramfile_config_fn fn, void *ctx)
{
    hid_t file = -1, group = -1, gcpl = -1;
    int rc = open_checked(path, &file);
    if (rc < 0)
        return rc;
    if (H5Lexists(file, "config", H5P_DEFAULT) <= 0 ||
        (group = H5Gopen2(file, "config", H5P_DEFAULT)) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no group /config", path);
        goto done;
    }
    unsigned flags = 0;
    if ((gcpl = H5Gget_create_plist(group)) < 0 || H5Pget_attr_creation_order(gcpl, &flags) < 0)
        flags = 0;
    config_walk w = {.path = path, .fn = fn, .ctx = ctx, .rc = 0};
    hsize_t idx = 0;
    herr_t st = H5Aiterate2(group, (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER
                                                                  : H5_INDEX_NAME,
                            H5_ITER_INC, &idx, config_entry, &w);
    if (w.rc < 0)
        rc = w.rc;
    else if (st < 0)
        rc = h5_fail(S2S_EFORMAT, "%s: cannot list the attributes of /config", path);
done:
    if (gcpl >= 0)
        H5Pclose(gcpl);
    if (group >= 0)
        H5Gclose(group);
    H5Fclose(file);
    return rc;
}
