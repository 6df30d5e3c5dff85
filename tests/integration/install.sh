#!/usr/bin/env bash
# install.sh - `cmake --install` into a temporary prefix, and s2s used from there as an installed
# tool (issue 17): the binary's --version, the manual page (rendered without a warning where
# groff is present), the scripts in share/s2s/scripts finding the installed s2s on PATH, the
# source tree's own scripts left out, and a gen -> prep -> train -> translate -> info run of the
# installed binary outside the source tree.
#
#   install.sh CMAKE BUILD_DIR VERSION
set -u
if [ $# -ne 3 ]; then
    echo "usage: install.sh CMAKE BUILD_DIR VERSION" >&2
    exit 2
fi
cmake=$1 build=$2 version=$3
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_install.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
prefix=$work/prefix

if ! "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    echo "FAIL: cmake --install"
    exit 1
fi
s2s=$prefix/bin/s2s
first=$("$s2s" --version | head -n 1)
if [ "$first" = "s2s $version" ] && "$s2s" --version | grep -q '^MPI: ' &&
       "$s2s" --version | grep -q '^HDF5: [0-9]' && "$s2s" --version | grep -q '^OpenBLAS: '; then
    ok "installed bin/s2s --version: $first, with its MPI, HDF5 and OpenBLAS"
else
    "$s2s" --version; fail "bin/s2s --version: '$first' (want 's2s $version' and the libraries)"
fi

page=$prefix/share/man/man1/s2s.1
if [ ! -s "$page" ]; then
    fail "no manual page at share/man/man1/s2s.1"
elif ! grep -q '^\.SS s2s train$' "$page" || ! grep -q -- '\\-\\-resume' "$page"; then
    fail "the manual page lacks the train command's section or its options"
elif command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] && ok "manual page: every command's section, rendered by groff without a warning" ||
        fail "groff warns on the manual page: $warnings"
else
    ok "manual page: every command's section (groff not installed: not rendered)"
fi

scripts=$prefix/share/s2s/scripts
for s in env.sh launch.sh netemu.sh scaling.sh prepare_corpus.sh torch_twin.py s2s_pyutil.py \
         plot_metrics.py plot_attention.py slurm/train.sbatch; do
    [ -f "$scripts/$s" ] || fail "share/s2s/scripts/$s is not installed"
done
for c in README.md tatoeba-small.conf tatoeba-small.prep.conf tatoeba-medium.conf; do
    [ -f "$prefix/share/s2s/configs/$c" ] || fail "share/s2s/configs/$c is not installed"
done
for s in deps.sh test.sh demo.sh options_reference.sh man_page.sh; do
    [ ! -e "$scripts/$s" ] || fail "share/s2s/scripts/$s (the source tree's own) is installed"
done
found=$(cd "$work" && env -u S2S PATH="$prefix/bin:$PATH" bash -c \
        ". '$scripts/env.sh'; s2s_binary '$prefix/share/s2s'")
[ "$found" = "$s2s" ] && ok "installed scripts find the installed s2s on PATH" ||
    fail "installed scripts find '$found', not $s2s"
found=$(cd "$work" && S2S=/opt/other/s2s bash -c ". '$scripts/env.sh'; s2s_binary '$prefix/share/s2s'")
[ "$found" = /opt/other/s2s ] && ok "S2S overrides the s2s the scripts run" ||
    fail "with S2S set the scripts run '$found'"
"$scripts/launch.sh" --help >/dev/null && "$scripts/scaling.sh" --help >/dev/null &&
    ok "installed launch.sh and scaling.sh run" || fail "installed launch.sh or scaling.sh --help"

cd "$work" || exit 1
if "$s2s" gen reverse --symbols 8 --min-len 3 --max-len 6 --train 400 --valid 20 --test 20 \
       --out r >/dev/null 2>&1 &&
       "$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
           --valid-tgt r.valid.tgt --out r.h5 >/dev/null 2>&1 &&
       "$s2s" train --data r.h5 --run-dir run --emb 8 --hidden 16 --steps 10 --valid-every 0 \
           --progress plain >train.log 2>&1 &&
       "$s2s" translate --checkpoint run/best.h5 <r.test.src >out.txt 2>/dev/null &&
       [ "$(wc -l <out.txt)" -eq 20 ] && "$s2s" info run/best.h5 >/dev/null; then
    ok "the installed binary: gen, prep, train, translate, info outside the source tree"
else
    cat train.log 2>/dev/null | tail -5; fail "a run of the installed binary"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all install checks passed"
