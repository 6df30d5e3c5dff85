/* spm_store.c - the SentencePiece models of datasets and checkpoints in HDF5 (/spm, layout in
 * include/s2s/spm_store.h), and the small helpers of spm_models (include/s2s/spm.h). Shared by
 * the dataset writer and reader (dataset_write.c, dataset_read.c) and the checkpoints
 * (src/store/ckpt.c), so that all of them store the models the same way. */
#include "s2s/spm_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/h5util.h"
#include "s2s/status.h"

static const char *const SPM_SIDES[2] = {"src", "tgt"};

void spm_models_free(spm_models *m)
{
    for (int s = 0; s < 2; s++)
        free(m->bytes[s]);
    memset(m, 0, sizeof *m);
}

const unsigned char *spm_models_side(const spm_models *m, int side, size_t *n)
{
    int s = side == 1 && m->n[1] > 0 ? 1 : 0;
    *n = m->n[s];
    return m->n[s] > 0 ? m->bytes[s] : NULL;
}

bool spm_models_same(const spm_models *a, const spm_models *b, int side)
{
    size_t na, nb;
    const unsigned char *x = spm_models_side(a, side, &na), *y = spm_models_side(b, side, &nb);
    return na == nb && (na == 0 || memcmp(x, y, na) == 0);
}

int spm_models_write(hid_t file, const char *path, const spm_models *m)
{
    if (m->n[0] == 0) {
        if (m->n[1] > 0)
            return s2s_fail(S2S_EINVAL, "%s: a target SentencePiece model without a source one",
                            path);
        return 0;
    }
    hid_t group = H5Gcreate2(file, "spm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return h5u_fail(S2S_EIO, "%s: cannot create the group /spm", path);
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        if (m->n[s] == 0)
            continue;
        hsize_t dims = (hsize_t)m->n[s];
        hid_t space = H5Screate_simple(1, &dims, NULL), dset = -1;
        if (space < 0 ||
            (dset = H5Dcreate2(group, SPM_SIDES[s], H5T_STD_U8LE, space, H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            H5Dwrite(dset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->bytes[s]) < 0)
            rc = h5u_fail(S2S_EIO, "%s: cannot write /spm/%s", path, SPM_SIDES[s]);
        if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0)
            rc = h5u_fail(S2S_EIO, "%s: cannot write /spm/%s", path, SPM_SIDES[s]);
        if (space >= 0)
            H5Sclose(space);
    }
    if (H5Gclose(group) < 0 && rc == 0)
        rc = h5u_fail(S2S_EIO, "%s: cannot write the group /spm", path);
    return rc;
}

/* One model: /spm/<side> as a vector of single bytes, its storage checked before the read. */
static int read_model(hid_t file, const char *path, h5l_budget *b, int side, spm_models *m)
{
    char obj[16], link[16];
    snprintf(obj, sizeof obj, "/spm/%s", SPM_SIDES[side]);
    snprintf(link, sizeof link, "spm/%s", SPM_SIDES[side]);
    hid_t dset = -1, type = -1, space = -1;
    int rc = 0;
    if ((dset = H5Dopen2(file, link, H5P_DEFAULT)) < 0 || (type = H5Dget_type(dset)) < 0 ||
        (space = H5Dget_space(dset)) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: not a readable dataset", path, obj);
        goto done;
    }
    hsize_t n = 0;
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
        H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &n, NULL) != 1) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: not a one-dimensional dataset of bytes (a serialized "
                      "SentencePiece model)", path, obj);
        goto done;
    }
    if (n == 0 || n > SPM_MODEL_MAX) {
        rc = s2s_fail(S2S_EFORMAT, "%s: %s: %llu bytes, expected 1 to %zu", path, obj,
                      (unsigned long long)n, SPM_MODEL_MAX);
        goto done;
    }
    if ((rc = h5l_check_storage(dset, path, obj, b, NULL)) < 0)
        goto done;
    if (!(m->bytes[side] = malloc((size_t)n))) {
        rc = s2s_fail(S2S_ENOMEM, "%s: %s: %llu bytes", path, obj, (unsigned long long)n);
        goto done;
    }
    if (H5Dread(dset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->bytes[side]) < 0) {
        rc = h5u_fail(S2S_EFORMAT, "%s: %s: cannot read it", path, obj);
        goto done;
    }
    m->n[side] = (size_t)n;
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

int spm_models_read(hid_t file, const char *path, h5l_budget *b, spm_models *m)
{
    memset(m, 0, sizeof *m);
    if (!h5u_has_link(file, "spm"))
        return 0;
    bool has[2];
    for (int s = 0; s < 2; s++) {
        char link[16];
        snprintf(link, sizeof link, "spm/%s", SPM_SIDES[s]);
        has[s] = h5u_has_link(file, link);
    }
    if (!has[0])
        return s2s_fail(S2S_EFORMAT, "%s: /spm: no source model /spm/src%s", path,
                        has[1] ? " (only /spm/tgt)" : "");
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++)
        if (has[s])
            rc = read_model(file, path, b, s, m);
    if (rc < 0)
        spm_models_free(m);
    return rc;
}
