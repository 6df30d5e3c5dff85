# env.sh - environment shared by the scripts (sourced, not run).
# Open MPI refuses to run as root unless told to; one OpenBLAS thread per process unless the
# caller chose otherwise (OpenBLAS would otherwise start one thread per core in every rank).
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
