/* params_diff.c - compares the parameters of two s2s parameter files or checkpoints, read with
 * nothing but the HDF5 library: every tensor under /params of A must exist in B with the same
 * size; prints the largest absolute difference and the largest difference relative to the
 * tensor's largest magnitude, and exits 1 if the latter exceeds TOL (0: must be bit-identical).
 * GROUP_A and GROUP_B compare other tensor groups instead ("ema", "optim/exp_avg"; B's defaults
 * to A's).
 *
 *   params_diff A.h5 B.h5 TOL [GROUP_A [GROUP_B]] */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t other;    /* B's /params group */
    double tol, worst_rel, worst_abs;
    char worst[256];
    int tensors, failed;
} diff_state;

static float *read_all(hid_t group, const char *name, hssize_t *n)
{
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0)
        return NULL;
    hid_t s = H5Dget_space(d);
    *n = H5Sget_simple_extent_npoints(s);
    float *v = malloc((size_t)(*n > 0 ? *n : 1) * sizeof(float));
    if (v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        free(v);
        v = NULL;
    }
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

static herr_t compare(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)info;
    diff_state *st = ctx;
    hssize_t na = 0, nb = 0;
    float *a = read_all(group, name, &na), *b = read_all(st->other, name, &nb);
    if (!a || !b || na != nb) {
        fprintf(stderr, "params_diff: tensor %s: %s\n", name,
                !a || !b ? "missing or unreadable" : "sizes differ");
        st->failed = 1;
    } else {
        double scale = 0, dmax = 0;
        int bits_differ = memcmp(a, b, (size_t)na * sizeof(float)) != 0;
        for (hssize_t i = 0; i < na; i++) {
            scale = fmax(scale, fabs(a[i]));
            dmax = fmax(dmax, fabs((double)a[i] - b[i]));
        }
        double rel = scale > 0 ? dmax / scale : dmax;
        if (bits_differ && st->tol == 0)
            st->failed = 1;
        if (rel > st->worst_rel || !st->tensors) {
            st->worst_rel = rel;
            snprintf(st->worst, sizeof st->worst, "%s", name);
        }
        st->worst_abs = fmax(st->worst_abs, dmax);
        st->tensors++;
    }
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: params_diff A.h5 B.h5 TOL [GROUP_A [GROUP_B]]\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fa = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fa < 0 || fb < 0) {
        fprintf(stderr, "params_diff: cannot open %s\n", fa < 0 ? argv[1] : argv[2]);
        return 2;
    }
    const char *group_a = argc > 4 ? argv[4] : "params", *group_b = argc > 5 ? argv[5] : group_a;
    hid_t ga = H5Gopen2(fa, group_a, H5P_DEFAULT);
    diff_state st = {.other = H5Gopen2(fb, group_b, H5P_DEFAULT), .tol = atof(argv[3])};
    if (ga < 0 || st.other < 0) {
        fprintf(stderr, "params_diff: no /%s group\n", ga < 0 ? group_a : group_b);
        return 2;
    }
    H5Literate(ga, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, compare, &st);
    if (st.tol > 0 && st.worst_rel > st.tol)
        st.failed = 1;
    printf("params_diff: %d tensors, max abs diff %.3g, max relative diff %.3g (%s), "
           "tolerance %g: %s\n",
           st.tensors, st.worst_abs, st.worst_rel, st.worst, st.tol,
           st.failed ? "FAIL" : "ok");
    H5Gclose(ga);
    H5Gclose(st.other);
    H5Fclose(fa);
    H5Fclose(fb);
    return st.failed || st.tensors == 0;
}
