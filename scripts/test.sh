#!/usr/bin/env bash
# test.sh - the test command: installs missing packages, builds build/test (Release flags with
# AddressSanitizer and UBSan) and runs the whole suite through ctest, two tests at a time; then
# runs the BLAS-dependent numerical tests (ctest label `numeric`) again under other OpenBLAS
# kernels, so that a tolerance that only holds for one kernel cannot come back unnoticed.
# Arguments go to ctest: scripts/test.sh -L unit, scripts/test.sh -R options, scripts/test.sh -j1.
# Exits non-zero if a build or any test fails, or if a sanitizer reported anything.
#
# Where the time goes (2 cores): the learning tests (label `learn`) train for minutes; they prove
# what the model learns, and every code path they run is also run under the sanitizers by the
# shorter tests, so they train with a Release binary of the same sources (build/test-release,
# S2S_LEARN_BINARY). Everything else runs on the sanitizer build.
#
# Kernels. OpenBLAS picks its kernels from the CPU at load time, and OPENBLAS_CORETYPE overrides
# that. After the suite, `ctest -L numeric` runs once more per kernel in S2S_TEST_KERNELS
# (default: up to three of Prescott, Sandybridge, Haswell, SkylakeX that this CPU runs, other
# than the default kernel, as `s2s info --system --json` reports them; "none" skips this). With
# ctest arguments only the selected tests run and the kernel runs are skipped, unless
# S2S_TEST_KERNELS names kernels.
#
# Leak checking. Programs that ctest runs itself (Criterion unit and gradient tests, learning
# tests) run with LeakSanitizer. MPI ranks run without it: Open MPI leaves allocations behind at
# MPI_Finalize by design, many of them in plugins it has already unloaded, so those reports
# cannot be suppressed by library name. mpiexec sets variables of its ranks' environment from
# OMPI_MCA_mca_base_env_list, so detect_leaks=0 reaches exactly the processes mpiexec launches,
# whatever the test's CMake properties. (MPI tests must therefore go through mpiexec.)
# Criterion reports a test's result before the forked test process exits, so a leak found at
# that exit is printed but does not fail the test: the test log is searched for sanitizer
# reports after every ctest run, and any report fails the run.
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
fast=build/test-release
cmake -S . -B "$fast" -DCMAKE_BUILD_TYPE=Release -DS2S_BUILD_TESTS=OFF >/dev/null
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DS2S_SANITIZE=ON \
      -DS2S_LEARN_BINARY="$root/$fast/s2s" >/dev/null
cmake --build "$fast" -j"$(nproc)" --target s2s
cmake --build "$build" -j"$(nproc)"
echo "test.sh: built in ${SECONDS}s"

# Later settings win inside ASAN_OPTIONS, so the caller's own options override these defaults.
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
export OMPI_MCA_mca_base_env_list="${OMPI_MCA_mca_base_env_list:+$OMPI_MCA_mca_base_env_list;}ASAN_OPTIONS=${ASAN_OPTIONS}:detect_leaks=0"

logdir="$build/Testing/Temporary"
status=0

# run_ctest WHAT ARGS...: one ctest run; a failure or a sanitizer report in its log sets status.
run_ctest() {
    local what=$1 rc=0 reports
    shift
    rm -f "$logdir"/LastTest*.log
    ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 "$@" || rc=$?
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
        echo "test.sh: $what: sanitizer reports in the test output (full text in $logdir/LastTest.log):"
        head -n 60 <<<"$reports"
        [ "$rc" -ne 0 ] || rc=1
    fi
    echo "test.sh: $what: ctest exit status $rc"
    [ "$rc" -eq 0 ] || status=$rc
}

run_ctest "suite (default kernel)" "$@"

# The kernels of the extra numerical runs: those this CPU runs, other than the default one.
kernels=${S2S_TEST_KERNELS:-}
if [ -z "$kernels" ] && [ $# -eq 0 ]; then
    system=$(ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS}" "$build/s2s" info --system --json) || {
        echo "test.sh: s2s info --system failed: cannot choose the kernels of the numerical runs"
        exit 1
    }
    default=$(sed -n 's/.*"blas_core" *: *"\([^"]*\)".*/\1/p' <<<"$system")
    runnable=$(sed -n 's/.*"runnable" *: *\[\([^]]*\)\].*/\1/p' <<<"$system" | tr -d '" ' | tr ',' ' ')
    picked=()
    for k in Prescott Sandybridge Haswell SkylakeX; do
        [ "${#picked[@]}" -lt 3 ] || break
        [ "$k" != "$default" ] && [[ " $runnable " == *" $k "* ]] && picked+=("$k")
    done
    kernels=${picked[*]:-none}
    echo "test.sh: default OpenBLAS kernel ${default:-unknown}; this CPU runs: $runnable"
fi
if [ -n "$kernels" ] && [ "$kernels" != none ]; then
    for k in $kernels; do
        OPENBLAS_CORETYPE=$k run_ctest "numerical tests under OPENBLAS_CORETYPE=$k" -L numeric
    done
fi

echo "test.sh: exit status $status"
exit "$status"
