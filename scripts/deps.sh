#!/usr/bin/env bash
# deps.sh - installs the Debian/Ubuntu packages s2s needs to build and test, if any are missing.
#
#   scripts/deps.sh            compiler (C and C++), CMake, OpenBLAS, Open MPI, HDF5,
#                              SentencePiece's library, Criterion
#   scripts/deps.sh --python   also Python 3 with PyTorch, h5py, NumPy and matplotlib (for
#                              /usr/bin/python3: the parity test and helper scripts); optional,
#                              so failures there are warnings
#
# Checks with dpkg-query and returns at once when nothing is missing (no apt-get update then).
# Installs with apt-get as root, or through sudo (without a password prompt if possible);
# otherwise, and on systems without dpkg/apt-get, stops with the list of packages to install.
# S2S_DEPS_EXTRA adds package names to the required list (to exercise the install path).
set -euo pipefail

required=(cmake pkg-config libopenblas-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libsentencepiece-dev libcriterion-dev)
optional=(python3 python3-torch python3-h5py python3-numpy python3-matplotlib)
# shellcheck disable=SC2206 # word splitting of the extra list is intended
required+=(${S2S_DEPS_EXTRA:-})

want_python=0
for arg in "$@"; do
    case "$arg" in
        --python) want_python=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "deps.sh: $*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "this is not a Debian/Ubuntu system (no dpkg-query/apt-get); install the equivalents of:"
    say "  build-essential ${required[*]}"
    [ "$want_python" = 1 ] && say "  and optionally: ${optional[*]}"
    exit 1
fi

# Prints the packages among the arguments that are not installed. One dpkg-query call for all:
# it fails when some name is unknown, which only means "not installed" here.
missing_of() {
    local status pkg
    status=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
    for pkg in "$@"; do
        grep -Fqx "$pkg install ok installed" <<<"$status" || printf '%s\n' "$pkg"
    done
}

mapfile -t missing < <(missing_of "${required[@]}")
# A C and C++ toolchain: build-essential, or at least gcc, g++, make and the C library headers.
if [ -n "$(missing_of build-essential)" ] && [ -n "$(missing_of gcc g++ make libc6-dev)" ]; then
    missing=(build-essential "${missing[@]}")
fi
missing_opt=()
if [ "$want_python" = 1 ]; then
    mapfile -t missing_opt < <(missing_of "${optional[@]}")
fi
all_missing=("${missing[@]}" "${missing_opt[@]}")
if [ ${#all_missing[@]} -eq 0 ]; then
    exit 0
fi

# sudo resets the environment, so DEBIAN_FRONTEND is passed on its command line.
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    say "sudo will ask for your password to install packages"
    as_root=(sudo DEBIAN_FRONTEND=noninteractive)
else
    if [ ${#missing[@]} -eq 0 ]; then
        say "warning: cannot install the optional packages ${missing_opt[*]}" \
            "(not root, no usable sudo); as root: apt-get install ${missing_opt[*]}"
        exit 0
    fi
    say "missing packages: ${all_missing[*]}"
    say "not root and no usable sudo; as root run: apt-get install ${all_missing[*]}"
    exit 1
fi

say "installing: ${all_missing[*]}"
if ! "${as_root[@]}" apt-get update -q >/dev/null; then
    if [ ${#missing[@]} -gt 0 ]; then
        say "apt-get update failed; cannot install ${missing[*]}"
        exit 1
    fi
    say "warning: apt-get update failed; trying the optional packages with the old lists"
fi
if [ ${#missing[@]} -gt 0 ]; then
    if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        say "apt-get install failed for: ${missing[*]}"
        exit 1
    fi
fi
if [ ${#missing_opt[@]} -gt 0 ] &&
   ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing_opt[@]}"; then
    # One unavailable package (python3-torch is missing from some releases) fails the whole
    # command; the others are still worth having.
    for pkg in "${missing_opt[@]}"; do
        "${as_root[@]}" apt-get install -y -q --no-install-recommends "$pkg" >/dev/null 2>&1 ||
            say "warning: could not install optional package $pkg"
    done
fi
exit 0
