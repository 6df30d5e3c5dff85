/* h5limits.c - the storage of an HDF5 dataset checked against what reading it costs, before
 * the first H5Dread (see include/s2s/h5limits.h; the limits and their reasons are in
 * docs/formats.md, "Limits").
 *
 * Everything here reads metadata only (the creation property list, the dataspace, the chunk
 * index for the storage size), so checking a dataset costs no allocation that depends on what
 * the file declares. Sizes are compared in long double where a product of file-controlled
 * numbers could overflow 64 bits. */
#include "s2s/h5limits.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "s2s/h5err.h"
#include "s2s/status.h"

int h5l_budget_init(h5l_budget *b, const char *path)
{
    struct stat st;
    b->path = path;
    b->claimed = 0;
    b->file_size = 0;
    if (stat(path, &st) < 0)
        return s2s_fail(S2S_EIO, "%s: cannot read its size: %s", path, strerror(errno));
    b->file_size = (unsigned long long)st.st_size;
    return 0;
}

/* "4 KiB", "64 MiB", "1.5 GiB": sizes in messages. */
static const char *bytes_text(char *buf, size_t n, long double bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0Lf bytes", bytes);
    else
        snprintf(buf, n, "%.4Lg %s", bytes, units[u]);
    return buf;
}

/* The filters of a chunked dataset: only those whose output size is bounded, each once. Sets
 * *ratio to the factor by which its stored bytes may be smaller than the data. */
static int check_filters(hid_t dcpl, const char *path, const char *obj, long double *ratio)
{
    int n = H5Pget_nfilters(dcpl);
    bool seen[4] = {false, false, false, false};
    *ratio = 1;
    if (n < 0)
        return h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its filters", path, obj);
    for (int i = 0; i < n; i++) {
        unsigned flags = 0, config = 0;
        size_t nvalues = 0;
        char name[64] = "";
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvalues, NULL, sizeof name,
                                        name, &config);
        if (f < 0)
            return h5u_fail(S2S_EFORMAT, "%s: %s: cannot read filter %d", path, obj, i);
        if (f != H5Z_FILTER_DEFLATE && f != H5Z_FILTER_SHUFFLE && f != H5Z_FILTER_FLETCHER32)
            return s2s_fail(S2S_EFORMAT, "%s: %s: compressed with filter %d (\"%s\"); this reader "
                            "accepts only deflate, shuffle and fletcher32, whose output sizes "
                            "are bounded", path, obj, (int)f, name);
        if (seen[f])
            return s2s_fail(S2S_EFORMAT, "%s: %s: filter %d (\"%s\") applied twice", path, obj,
                            (int)f, name);
        seen[f] = true;
        if (f == H5Z_FILTER_DEFLATE)
            *ratio = H5L_DEFLATE_MAX_RATIO;
    }
    return 0;
}

int h5l_check_storage(hid_t dset, const char *path, const char *obj, h5l_budget *b,
                      unsigned long long *chunk_elems)
{
    hid_t dcpl = -1, type = -1, space = -1;
    int rc = 0;
    char t1[32], t2[32];
    if (b)
        path = b->path;
    if (chunk_elems)
        *chunk_elems = 0;
    if ((dcpl = H5Dget_create_plist(dset)) < 0 || (type = H5Dget_type(dset)) < 0 ||
        (space = H5Dget_space(dset)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its storage properties", path, obj);
        goto done;
    }
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    size_t elem = H5Tget_size(type);
    int rank = H5Sget_simple_extent_ndims(space);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (npoints < 0 || elem == 0 || rank < 0 || layout < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its shape and layout", path, obj);
        goto done;
    }
    if (layout == H5D_VIRTUAL) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: a virtual dataset (its data would come from other "
                      "files); this reader accepts data stored in the file only", path, obj);
        goto done;
    }
    if (H5Pget_external_count(dcpl) != 0) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: stored in external files; this reader accepts data "
                      "stored in the file only", path, obj);
        goto done;
    }
    long double declared = (long double)npoints * (long double)elem, ratio = 1;
    if (layout == H5D_CHUNKED) {
        hsize_t dims[H5S_MAX_RANK];
        int crank = H5Pget_chunk(dcpl, H5S_MAX_RANK, dims);
        if (crank < 1 || crank != rank) {
            rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read its chunk shape", path, obj);
            goto done;
        }
        long double celems = 1;
        for (int k = 0; k < crank; k++)
            celems *= (long double)dims[k];
        long double cbytes = celems * (long double)elem;
        if (cbytes > (long double)H5L_CHUNK_MAX) {
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: chunks of %s, more than the %s a chunk may "
                          "inflate to (s2s writes 4 KiB and 32 KiB chunks)", path, obj,
                          bytes_text(t1, sizeof t1, cbytes),
                          bytes_text(t2, sizeof t2, (long double)H5L_CHUNK_MAX));
            goto done;
        }
        if (celems > (long double)npoints && cbytes > (long double)H5L_CHUNK_SLACK) {
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: chunks of %.0Lf elements (%s) for a dataset of "
                          "%lld; a chunk above %s may not be larger than its dataset", path, obj,
                          celems, bytes_text(t1, sizeof t1, cbytes), (long long)npoints,
                          bytes_text(t2, sizeof t2, (long double)H5L_CHUNK_SLACK));
            goto done;
        }
        if ((rc = check_filters(dcpl, path, obj, &ratio)) < 0)
            goto done;
        if (chunk_elems)
            *chunk_elems = (unsigned long long)celems;
    }
    /* The storage size of a chunked dataset is the sum of its allocated chunks as the chunk
     * index records them; 0 also for storage never allocated, which reads as fill values. */
    unsigned long long stored = H5Dget_storage_size(dset);
    if (b) {
        b->claimed += stored;
        if (stored > b->file_size || b->claimed > b->file_size) {
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: its storage (%llu bytes) and the datasets' read "
                          "before it (%llu bytes in all) exceed the file's %llu bytes", path,
                          obj, stored, b->claimed, b->file_size);
            goto done;
        }
    }
    if (declared > ratio * (long double)stored) {
        if (ratio > 1)
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: %lld elements (%s) in %llu stored bytes: more "
                          "than deflate's largest ratio of %d:1 allows", path, obj,
                          (long long)npoints, bytes_text(t1, sizeof t1, declared), stored,
                          H5L_DEFLATE_MAX_RATIO);
        else
            rc = s2s_fail(S2S_EFORMAT, "%s: %s: %lld elements (%s) but only %llu bytes stored "
                          "for them (uncompressed)", path, obj, (long long)npoints,
                          bytes_text(t1, sizeof t1, declared), stored);
    }
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return rc;
}
