#!/usr/bin/env bash
# torch_parity.sh - runs the PyTorch parity test (torch_parity.c) with a Python that can import
# torch, h5py and numpy: /usr/bin/python3 first (Debian's python3-torch installs there), then
# python3 on PATH. Without one the test is skipped: exit status 77, which ctest reports as
# skipped (SKIP_RETURN_CODE in tests/integration/CMakeLists.txt).
#
#   torch_parity.sh PARITY_BINARY TWIN_SCRIPT [CASE_SUBSTRING]
set -u
if [ $# -lt 2 ]; then
    echo "usage: torch_parity.sh PARITY_BINARY TWIN_SCRIPT [CASE_SUBSTRING]" >&2
    exit 2
fi
binary=$1
twin=$2
shift 2

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! python=$(python_importing "torch, h5py, numpy"); then
    echo "torch_parity: SKIPPED: PyTorch/h5py not importable by /usr/bin/python3" \
         "(install python3-torch python3-h5py)"
    exit 77
fi
echo "torch_parity: using $python ($("$python" -c 'import torch, h5py; print("torch", torch.__version__, "h5py", h5py.__version__)'))"
exec "$binary" "$python" "$twin" "$@"
