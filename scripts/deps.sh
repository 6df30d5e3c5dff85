#!/usr/bin/env bash
# deps.sh - installs the Debian/Ubuntu packages s2s needs to build and test, if any are missing.
#
#   scripts/deps.sh            build and test dependencies
#   scripts/deps.sh --python   also Python, PyTorch, h5py, NumPy, matplotlib for the helper
#                              scripts (optional: failures there are warnings)
#
# Fast and silent when everything is present. Installs with apt-get as root, or through sudo;
# elsewhere it stops with the list of packages to install. S2S_DEPS_EXTRA adds package names
# (used to exercise the install path in tests of this script).
set -euo pipefail

required=(gcc make cmake pkg-config libopenblas-dev libopenmpi-dev openmpi-bin libhdf5-dev
          hdf5-tools libcriterion-dev)
optional=(python3 python3-torch python3-h5py python3-numpy python3-matplotlib)
# shellcheck disable=SC2206 # word splitting of the extra list is intended
required+=(${S2S_DEPS_EXTRA:-})

want_python=0
for arg in "$@"; do
    case "$arg" in
        --python) want_python=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

missing_of() {
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: this is not a Debian/Ubuntu system (no dpkg/apt-get)." >&2
    echo "deps.sh: install the equivalents of: ${required[*]}" >&2
    exit 1
fi

mapfile -t missing < <(missing_of "${required[@]}")
mapfile -t missing_opt < <(if [ "$want_python" = 1 ]; then missing_of "${optional[@]}"; fi)
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_opt[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    as_root=(sudo)
else
    echo "deps.sh: missing packages: ${missing[*]} ${missing_opt[*]}" >&2
    echo "deps.sh: run as root, or install them with: sudo apt-get install ${missing[*]} ${missing_opt[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]} ${missing_opt[*]}" >&2
"${as_root[@]}" apt-get update -q >/dev/null
if [ ${#missing[@]} -gt 0 ]; then
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_opt[@]} -gt 0 ]; then
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing_opt[@]}" ||
        echo "deps.sh: warning: could not install optional packages: ${missing_opt[*]}" >&2
fi
