#!/usr/bin/env bash
# demo.sh - the main job: installs missing packages, builds a release binary, and trains the
# default model (a GRU encoder-decoder learning to reverse sequences), printing progress,
# held-out accuracy and sample translations. Extra arguments go to `s2s train`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh

scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target s2s
build/release/s2s train "$@"
