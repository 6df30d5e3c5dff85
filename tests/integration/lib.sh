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
