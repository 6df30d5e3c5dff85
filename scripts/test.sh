#!/usr/bin/env bash
# test.sh - the test command: installs missing packages, builds with AddressSanitizer and UBSan,
# and runs the whole suite through ctest. Extra arguments go to ctest (e.g. -L unit, -R model).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
start=$(date +%s)

# --python: PyTorch and h5py for the parity tests (optional: without them those tests skip)
scripts/deps.sh --python
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DS2S_SANITIZE=ON >/dev/null
cmake --build build/test -j"$(nproc)"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
status=0
ctest --test-dir build/test --output-on-failure -j2 "$@" || status=$?
echo "test.sh: $(( $(date +%s) - start ))s in total, ctest exit status $status"
exit "$status"
