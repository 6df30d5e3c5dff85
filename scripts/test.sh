#!/usr/bin/env bash
# test.sh - the test command: installs missing packages, builds build/test (Release flags with
# AddressSanitizer and UBSan) and runs the whole suite through ctest, two tests at a time.
# Arguments go to ctest: scripts/test.sh -L unit, scripts/test.sh -R options, scripts/test.sh -j1.
# Exits non-zero if the build or any test fails, or if a sanitizer reported anything.
#
# Leak checking. Programs that ctest runs itself (Criterion unit and gradient tests, learning
# tests) run with LeakSanitizer. MPI ranks run without it: Open MPI leaves allocations behind at
# MPI_Finalize by design, many of them in plugins it has already unloaded, so those reports
# cannot be suppressed by library name. mpiexec sets variables of its ranks' environment from
# OMPI_MCA_mca_base_env_list, so detect_leaks=0 reaches exactly the processes mpiexec launches,
# whatever the test's CMake properties. (MPI tests must therefore go through mpiexec.)
# Criterion reports a test's result before the forked test process exits, so a leak found at
# that exit is printed but does not fail the test: the test log is searched for sanitizer
# reports afterwards, and any report fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# OMPI_ALLOW_RUN_AS_ROOT* when root (mpiexec refuses to run as root otherwise).
# shellcheck source=scripts/env.sh
. scripts/env.sh
# The tests' tolerances and timings assume one OpenBLAS thread per process.
export OPENBLAS_NUM_THREADS=1

SECONDS=0
trap 'echo "test.sh: total wall time $((SECONDS / 60))m $((SECONDS % 60))s"' EXIT

# --python: PyTorch and h5py for the parity tests (optional: without them those tests skip)
scripts/deps.sh --python
build=build/test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DS2S_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# Later settings win inside ASAN_OPTIONS, so the caller's own options override these defaults.
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
export OMPI_MCA_mca_base_env_list="${OMPI_MCA_mca_base_env_list:+$OMPI_MCA_mca_base_env_list;}ASAN_OPTIONS=${ASAN_OPTIONS}:detect_leaks=0"

logdir="$build/Testing/Temporary"
rm -f "$logdir"/LastTest*.log
status=0
ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 "$@" || status=$?

# Sanitizer reports inside the tests' output (not in the command lines ctest also logs).
reports=$(awk '
    /^[0-9]+\/[0-9]+ Test: / { name = $3 }
    /^Output:$/ { inside = 1; next }
    /^<end of output>$/ { inside = 0 }
    inside && /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer/ {
        if (!(name in seen)) { seen[name] = 1; print "  " name ":" }
        print "    " $0
    }' "$logdir"/LastTest*.log 2>/dev/null || true)
if [ -n "$reports" ]; then
    echo "test.sh: sanitizer reports in the test output (full text in $logdir/LastTest.log):"
    head -n 60 <<<"$reports"
    [ "$status" -ne 0 ] || status=1
fi

echo "test.sh: ctest exit status $status"
exit "$status"
