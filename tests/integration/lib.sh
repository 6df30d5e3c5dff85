# lib.sh - shell functions the integration scripts share (sourced, not run).

# drop_kernel_note FILE: removes from FILE (a command's stderr) the line in which s2s says that it
# restarted with other OpenBLAS kernels (include/s2s/blas_core.h). On a machine where OpenBLAS
# falls back to slow kernels every computing command prints it first, so a check for "one error
# line" looks at the rest.
drop_kernel_note() {
    sed -i '/^s2s: OpenBLAS .* kernels for this CPU .*; restarted with OPENBLAS_CORETYPE=/d' "$1"
}
