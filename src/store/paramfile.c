/* paramfile.c - HDF5 parameter files (layout and guarantees in include/s2s/paramfile.h), and
 * the group-level writers and readers that checkpoints and s2s info reuse
 * (src/store/paramfile_io.h).
 *
 * Every function that opens HDF5 objects keeps their ids in locals initialized to -1 and closes
 * whatever is open on its single exit path, so a failure at any point leaks nothing. Files are
 * opened with the "strong" close degree (closing the file closes any object still open in it).
 * Writing builds the file in memory and puts it on disk with plain system calls; see
 * paramfile_write_image for why. */
#include "s2s/paramfile.h"

#include "paramfile_io.h"

#include <errno.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/formats.h"
#include "s2s/fsutil.h"
#include "s2s/h5limits.h"
#include "s2s/h5util.h"
#include "s2s/seal.h"
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

static void shape_text(char *buf, size_t n, int ndim, const hsize_t *dims)
{
    if (ndim == 1)
        snprintf(buf, n, "[%llu]", (unsigned long long)dims[0]);
    else if (ndim == 2)
        snprintf(buf, n, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    else
        snprintf(buf, n, "(%d dimensions)", ndim);
}

/* ---- writing -------------------------------------------------------------------------------- */

int paramfile_check_config(const char *path, const char *const *attrs)
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

/* Creation order is tracked so that readers see tensors and configuration entries in the
 * order of the parameter buffer and of the caller's list. */
static hid_t create_ordered_group(hid_t loc, const char *gpath)
{
    hid_t gcpl = -1, group = -1;
    if ((gcpl = H5Pcreate(H5P_GROUP_CREATE)) >= 0 &&
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        group = H5Gcreate2(loc, gpath, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return group;
}

int paramfile_write_tensors(hid_t loc, const char *path, const char *gpath,
                            const param_table *tab, const real *buf)
{
    hid_t group = -1, space = -1, dset = -1;
    int rc = 0;
    if ((group = create_ordered_group(loc, gpath)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create group /%s", path, gpath);
        goto done;
    }
    /* Default dataset properties: contiguous storage, no filters, so the data is one block
     * that is written and read at memory (or disk) speed. */
    for (int i = 0; i < tab->n; i++) {
        const param_tensor *t = &tab->t[i];
        hsize_t dims[2] = {(hsize_t)t->rows, (hsize_t)t->cols};
        const real *src = buf + t->offset;
        if ((space = H5Screate_simple(t->ndim, dims, NULL)) < 0 ||
            (dset = H5Dcreate2(group, t->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT)) < 0 ||
            H5Dwrite(dset, real_mem_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, src) < 0 ||
            H5Dclose(dset) < 0) {
            rc = h5u_fail(S2S_EIO, "%s: cannot write tensor '/%s/%s'", path, gpath, t->name);
            goto done;
        }
        dset = -1;
        H5Sclose(space);
        space = -1;
    }
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    if (group >= 0 && H5Gclose(group) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot close a group", path);
    return rc;
}

int paramfile_write_config(hid_t file, const char *path, const char *const *attrs)
{
    int rc = 0;
    hid_t group = create_ordered_group(file, "config");
    if (group < 0)
        return h5u_fail(S2S_EIO, "%s: cannot create group /config", path);
    for (int i = 0; attrs && attrs[i]; i++) {
        const char *eq = strchr(attrs[i], '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - attrs[i]), attrs[i]);
        if (h5u_write_string_attr(group, key, eq + 1) < 0) {
            rc = h5u_fail(S2S_EIO, "%s: cannot write configuration attribute '/config/%s'", path,
                         key);
            break;
        }
    }
    if (H5Gclose(group) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot close a group", path);
    return rc;
}

typedef struct {
    const char *path;
    const param_table *tab;
    const real *params;
    const char *const *attrs;
} paramfile_contents;

/* The tensors and attributes of a parameter file, into the already created file. */
static int write_contents(hid_t file, void *ctx)
{
    const paramfile_contents *c = ctx;
    int rc;
    if (h5u_write_string_attr(file, "format", PARAMFILE_FORMAT) < 0 ||
        h5u_write_int_attr(file, "version", H5T_STD_I32LE, PARAMFILE_VERSION) < 0)
        return h5u_fail(S2S_EIO, "%s: cannot write the format attributes", c->path);
    if ((rc = paramfile_write_tensors(file, c->path, "params", c->tab, c->params)) < 0)
        return rc;
    return paramfile_write_config(file, c->path, c->attrs);
}

/* HDF5 builds the whole file in memory (the "core" driver without a backing store) and the
 * bytes are written here with plain system calls. HDF5 then never meets an I/O error: besides
 * giving errno-precise messages, this matters because HDF5 1.10 cannot recover from a file
 * whose close failed (e.g. on a full disk): the file stays open and the library crashes when it
 * shuts down at exit. The price is transient memory of about twice the file's size (HDF5's
 * image and the copy handed out by H5Fget_file_image). */
int paramfile_write_image(const char *path, const char *kind, size_t payload,
                          paramfile_build_fn build, void *ctx)
{
    int rc, fd = -1;
    bool tmp_created = false;
    char *tmp = NULL, *image = NULL;
    hid_t fapl = -1, fcpl = -1, file = -1;
    h5u_quiet();

    size_t n = strlen(path), tmp_n = n + 64;
    tmp = malloc(tmp_n);
    if (!tmp) {
        rc = s2s_fail(S2S_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* The image grows in steps of the payload plus room for metadata, so usually once. */
    payload += 64u << 10;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, payload, 0) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || (fcpl = h5u_create_fcpl()) < 0 ||
        (file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        rc = h5u_fail(S2S_EIO, "%s: cannot create an HDF5 file in memory", path);
        goto fail;
    }
    if ((rc = build(file, ctx)) < 0)
        goto fail;
    /* The image is only complete once the metadata cache is written out to it. */
    ssize_t size = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(file, NULL, 0);
    /* The image starts at the superblock: the user block, which the superblock counts on
     * finding before it, is put in front of it here and holds the integrity record over the
     * rest (seal.h). These files keep HDF5's default (1.6-compatible) format bounds: with the
     * 1.8 bounds and later, HDF5 1.10.8's file images fail the library's own metadata checksums
     * when read back (tried with and without a user block); the record covers every byte. */
    if (size <= 0 || !(image = calloc(1, (size_t)size + SEAL_BLOCK)) ||
        H5Fget_file_image(file, image + SEAL_BLOCK, (size_t)size) != size) {
        rc = h5u_fail(size > 0 && !image ? S2S_ENOMEM : S2S_EIO,
                     "%s: cannot obtain the file image (%zd bytes)", path, size);
        goto fail;
    }
    H5Fclose(file);
    file = -1;
    size += SEAL_BLOCK;
    if ((rc = seal_image((unsigned char *)image, (size_t)size, kind)) < 0)
        goto fail;

    /* The temporary file sits in the target's directory, so rename() replaces the target in
     * one step and never crosses a file system. */
    if ((fd = fs_create_temp(path, tmp, tmp_n)) < 0) {
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
    /* fs_commit removes tmp itself if the rename fails, and syncs the directory after it. */
    tmp_created = false;
    rc = fs_commit(tmp, path);
fail:
    if (fd >= 0)
        close(fd);
    if (tmp_created)
        unlink(tmp);
    if (file >= 0)
        H5Fclose(file);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    free(image);
    free(tmp);
    return rc;
}

int paramfile_write(const char *path, const param_table *tab, const real *params,
                    const char *const *attrs)
{
    int rc = paramfile_check_config(path, attrs);
    if (rc < 0)
        return rc;
    paramfile_contents c = {.path = path, .tab = tab, .params = params, .attrs = attrs};
    return paramfile_write_image(path, PARAMFILE_FORMAT, param_table_count(tab) * 4,
                                 write_contents, &c);
}

/* ---- reading -------------------------------------------------------------------------------- */

/* Opens path read-only and checks the format and version attributes. A checkpoint holds a
 * parameter file's groups unchanged, so it is accepted too (with its own version). */
static int open_checked(const char *path, hid_t *file_out)
{
    static const char *const formats[] = {PARAMFILE_FORMAT, CKPT_FORMAT};
    static const int versions[] = {PARAMFILE_VERSION, CKPT_VERSION};
    long long version = 0;
    int which = 0;
    int rc = h5u_open_any(path, "parameter file", formats, 2, 0, file_out, &version, &which);
    if (rc == 0 && version != versions[which]) {
        H5Fclose(*file_out);
        *file_out = -1;
        rc = s2s_fail(S2S_EFORMAT, "%s: format version %lld, but this program reads version %d",
                      path, version, versions[which]);
    }
    return rc;
}

int paramfile_link_name(hid_t group, hsize_t i, char *buf, size_t n)
{
    hid_t gcpl = H5Gget_create_plist(group);
    unsigned flags = 0;
    if (gcpl < 0 || H5Pget_link_creation_order(gcpl, &flags) < 0)
        flags = 0;
    if (gcpl >= 0)
        H5Pclose(gcpl);
    H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, buf, n, H5P_DEFAULT);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int paramfile_each_tensor(hid_t file, const char *path, const char *gpath, paramfile_tensor_fn fn,
                          void *ctx)
{
    hid_t group = -1, dset = -1, space = -1;
    H5G_info_t info;
    int rc = 0;
    if (!h5u_has_link(file, gpath) || (group = H5Gopen2(file, gpath, H5P_DEFAULT)) < 0 ||
        H5Gget_info(group, &info) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: no readable group /%s", path, gpath);
        goto done;
    }
    for (hsize_t i = 0; i < info.nlinks && rc == 0; i++) {
        char name[256];
        if (paramfile_link_name(group, i, name, sizeof name) < 0) {
            rc = h5u_fail(S2S_EFORMAT, "%s: cannot read the name of entry %llu of /%s", path,
                          (unsigned long long)i, gpath);
            goto done;
        }
        if ((dset = H5Dopen2(group, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0) {
            rc = h5u_fail(S2S_EFORMAT, "%s: '/%s/%s' is not a readable dataset", path, gpath, name);
            goto done;
        }
        rc = fn(name, dset, space, ctx);
        H5Sclose(space);
        H5Dclose(dset);
        space = dset = -1;
    }
done:
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    if (group >= 0)
        H5Gclose(group);
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

static int read_tensor(hid_t group, const char *path, const char *gpath, const param_tensor *t,
                       real *dst)
{
    int rc = 0;
    hid_t dset = -1, space = -1, type = -1;
    hsize_t want[2] = {(hsize_t)t->rows, (hsize_t)t->cols};
    char want_s[64], have_s[64];
    shape_text(want_s, sizeof want_s, t->ndim, want);
    if (H5Lexists(group, t->name, H5P_DEFAULT) <= 0)
        return s2s_fail(S2S_EFORMAT, "%s: tensor '%s' (shape %s) is missing from /%s", path,
                        t->name, want_s, gpath);
    if ((dset = H5Dopen2(group, t->name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0 ||
        (type = H5Dget_type(dset)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: '/%s/%s' is not a readable dataset", path, gpath,
                      t->name);
        goto done;
    }
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot read the shape of tensor '%s'", path, t->name);
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
    char obj[600];
    snprintf(obj, sizeof obj, "/%s/%s", gpath, t->name);
    if ((rc = h5l_check_storage(dset, path, obj, NULL, NULL)) < 0)
        goto done;
    if (H5Dread(dset, real_mem_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot read tensor '%s' (truncated file?)", path, t->name);
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

int paramfile_read_tensors(hid_t file, const char *path, const char *gpath,
                           const param_table *tab, real *buf)
{
    hid_t group = -1;
    int rc = 0;
    if (H5Lexists(file, gpath, H5P_DEFAULT) <= 0 ||
        (group = H5Gopen2(file, gpath, H5P_DEFAULT)) < 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: no group /%s", path, gpath);
        goto done;
    }
    for (int i = 0; i < tab->n; i++)
        if ((rc = read_tensor(group, path, gpath, &tab->t[i], buf + tab->t[i].offset)) < 0)
            goto done;
    /* Every tensor of tab is present, so any further link is one the model does not have. */
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot list /%s", path, gpath);
        goto done;
    }
    if (info.nlinks != (hsize_t)tab->n) {
        char extra[256];
        find_extra(group, info.nlinks, tab, extra, sizeof extra);
        rc = s2s_fail(S2S_EFORMAT,
                      "%s: /%s holds %llu tensors, the model %d: '%s' is not a tensor of "
                      "this model",
                      path, gpath, (unsigned long long)info.nlinks, tab->n, extra);
        goto done;
    }
done:
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

int paramfile_read_group(const char *path, const char *gpath, const param_table *tab, real *buf)
{
    hid_t file = -1;
    int rc = open_checked(path, &file);
    if (rc < 0)
        return rc;
    rc = paramfile_read_tensors(file, path, gpath, tab, buf);
    H5Fclose(file);
    return rc;
}

int paramfile_read(const char *path, const param_table *tab, real *params)
{
    return paramfile_read_group(path, "params", tab, params);
}

typedef struct {
    const char *path;
    paramfile_config_fn fn;
    void *ctx;
    int rc;
} config_walk;

/* The longest configuration value read: s2s writes option values (at most OPT_STRING_MAX, 256
 * bytes); a fixed-length string attribute declaring more is refused before its buffer is
 * allocated (a variable-length one is no longer than the file, whose global heap holds it). */
#define CONFIG_VALUE_MAX 65536

static herr_t config_entry(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    config_walk *w = ctx;
    bool is_string;
    (void)info;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT), type = attr >= 0 ? H5Aget_type(attr) : -1;
    size_t declared = type >= 0 && H5Tis_variable_str(type) == 0 ? H5Tget_size(type) : 0;
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    if (declared > CONFIG_VALUE_MAX) {
        w->rc = s2s_fail(S2S_EFORMAT, "%s: attribute '/config/%s' is a string of %zu bytes, more "
                         "than the %d a configuration value may have", w->path, name, declared,
                         CONFIG_VALUE_MAX);
        return 1;
    }
    char *value = h5u_read_named_string_attr(loc, name, &is_string);
    if (!value) {
        w->rc = is_string ? h5u_fail(S2S_EFORMAT, "%s: cannot read attribute '/config/%s'",
                                    w->path, name)
                          : s2s_fail(S2S_EFORMAT, "%s: attribute '/config/%s' is not a string",
                                     w->path, name);
        return 1;
    }
    w->rc = w->fn(name, value, w->ctx);
    free(value);
    return w->rc < 0 ? 1 : 0;
}

int paramfile_read_group_config(hid_t file, const char *path, paramfile_config_fn fn, void *ctx)
{
    hid_t group = -1, gcpl = -1;
    int rc = 0;
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
        rc = h5u_fail(S2S_EFORMAT, "%s: cannot list the attributes of /config", path);
done:
    if (gcpl >= 0)
        H5Pclose(gcpl);
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

int paramfile_read_config(const char *path, paramfile_config_fn fn, void *ctx)
{
    hid_t file = -1;
    int rc = open_checked(path, &file);
    if (rc < 0)
        return rc;
    rc = paramfile_read_group_config(file, path, fn, ctx);
    H5Fclose(file);
    return rc;
}
