# lib.sh - shell functions the integration scripts share (sourced, not run).

# drop_kernel_note FILE: removes from FILE (a command's stderr) the line in which s2s says that it
# restarted with other OpenBLAS kernels (include/s2s/blas_core.h). On a machine where OpenBLAS
# falls back to slow kernels every computing command prints it first, so a check for "one error
# line" looks at the rest.
drop_kernel_note() {
    sed -i '/^s2s: OpenBLAS .* kernels for this CPU .*; restarted with OPENBLAS_CORETYPE=/d' "$1"
}

# final_hash LOG: the parameters hash of the last "final:" line of a training log.
final_hash() { sed -n 's/.*parameters hash \([0-9a-f]*\).*/\1/p' "$1" | tail -1; }

# valid_records METRICS: the validation records of a metrics.jsonl (they hold no timings).
valid_records() { grep '"type":"valid"' "$1"; }

# wait_for FILE PATTERN SECONDS: until FILE holds a line matching PATTERN (checked every 10 ms,
# so a signal lands within a step or two of the line); 1 if it never does.
wait_for() {
    local i
    for ((i = 0; i < $3 * 100; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.01
    done
    return 1
}

# Tolerance of a training run on other ranks than another on the same global batches
# (params_diff: the largest |difference| in a tensor over the tensor's largest |value|), for the
# runs of mpi_train.sh and tcp.sh (--batch 32, targets of at most 9 positions, --init-scale 0.1).
# The runs differ only in rounding: the ranks sum the gradient of the global batch as partial
# sums over their sentences, added by the allreduce, and their forward passes multiply matrices
# of fewer rows.
#  - A gradient component is a sum of at most k = 32 x 9 terms (--batch 32, 9 target
#    positions); computed in any order it is within gamma_k = k u / (1 - k u) (u = 2^-24) of
#    the sum of its terms' magnitudes (Higham), so the runs' components differ by
#    eps = 2 gamma_k kappa relative to themselves, kappa = 10 the allowance for terms that
#    cancel (the one constant not derived).
#  - A step's update then differs by at most 2 eps relative: Adam's m/sqrt(v) (bias-corrected
#    averages of the gradients and their squares) moves by eps through m and eps through v;
#    SGD's clipped step by eps through the gradient and eps through the clipping factor.
#  - Summed over the steps, |difference| <= 2 eps D, D the most a component can move: S lr for
#    Adam (|m/sqrt(v)| <= 1), lr c sum_t (1 - b^t) / (1 - b) for SGD with momentum b whose
#    gradients have norm at most c (--clip). The changed parameters feed back into later
#    gradients by lr |Hessian| per step, a second-order term over these few steps.
#  - Relative to a tensor's largest |value|, at least w = 0.05: the seeded U(-0.1, 0.1)
#    initialization (--init-scale 0.1) gives every tensor (16 entries and more) one near 0.1,
#    which these few steps change by less than 0.01 (the smallest after 12 steps: 0.093).
# drift_tol STEPS LR [CLIP MOMENTUM]: 2 eps D / w for Adam, or for SGD with CLIP and MOMENTUM.
drift_tol() {
    awk -v S="$1" -v lr="$2" -v c="${3:-}" -v b="${4:-}" 'BEGIN {
        u = 2 ^ -24; k = 32 * 9; kappa = 10; w = 0.05
        eps = 2 * k * u / (1 - k * u) * kappa
        if (c == "") D = S * lr
        else for (t = 1; t <= S; t++) D += lr * c * (1 - b ^ t) / (1 - b)
        printf "%.2g\n", 2 * eps * D / w }'
}

# reverse_corpus S2S SEED: the small corpus of the MPI training tests in this directory,
# r.{train,valid}.{src,tgt} (reversing 3-8 of 12 symbols; 2000 training, 64 validation pairs)
# and the dataset r.h5; exits the script on failure.
reverse_corpus() {
    "$1" gen reverse --symbols 12 --min-len 3 --max-len 8 --train 2000 --valid 64 --test 0 \
        --seed "$2" --out r >/dev/null || { echo "FAIL: s2s gen"; exit 1; }
    "$1" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
        --valid-tgt r.valid.tgt --out r.h5 >/dev/null || { echo "FAIL: s2s prep"; exit 1; }
}

# python_importing MODULES: the first of /usr/bin/python3 (where Debian's python3-* packages
# install) and python3 on PATH that imports MODULES ("h5py, numpy"), or nothing (status 1):
# tests that need it skip without one.
python_importing() {
    local candidate
    for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] &&
           "$candidate" -c "import $1" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# test_begin NAME: the start every integration script shares, after sourcing this file: Open
# MPI's root variables when run as root, one OpenBLAS thread per process, a scratch directory
# $work (s2s_NAME.XXXXXX, removed at exit) as the current directory, and fail/ok, which print
# a check's outcome and count failures in $failures.
test_begin() {
    if [ "$(id -u)" -eq 0 ]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    export OPENBLAS_NUM_THREADS=1
    work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_$1.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT
    cd "$work" || exit 1
    failures=0
}
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
