# env.sh - environment shared by the scripts (sourced, not run).
# Open MPI refuses to run as root unless told to; one OpenBLAS thread per process unless the
# caller chose otherwise (OpenBLAS would otherwise start one thread per core in every rank).
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

# s2s_binary ROOT: the s2s the scripts run: $S2S if set, else ROOT's own build
# (ROOT/build/release/s2s, in a source tree), else the s2s on PATH (an installed copy, whose
# scripts live in share/s2s/scripts); prints nothing when there is none.
s2s_binary() {
    if [ -n "${S2S:-}" ]; then
        echo "$S2S"
    elif [ -x "$1/build/release/s2s" ]; then
        echo "$1/build/release/s2s"
    else
        command -v s2s || true
    fi
}
