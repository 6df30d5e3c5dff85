#!/usr/bin/env bash
# integrity.sh - the integrity record of s2s files through the binary (docs/formats.md,
# "Integrity: damaged and foreign files"):
#   1. files s2s writes carry the record and stay readable by h5dump and h5py;
#   2. one changed byte in a checkpoint's string storage (its vocabulary, in HDF5's global heap,
#      which HDF5 never checksums) is refused by info and translate in one line, and
#      --resume auto falls back to the previous checkpoint;
#   3. a checkpoint without the record (h5unjam strips the user block) is refused;
#   4. a dataset written by another tool (h5py, no record) trains after a probe, with one note
#      on 2 ranks; the same dataset with its global heap overwritten is refused in one line,
#      within 5 s, whatever the library does with it in the probe.
#
#   integrity.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: integrity.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_begin integrity
# MPI programs under AddressSanitizer: Open MPI's own allocations left at exit are not ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
# one_line FILE WHAT NEEDLE: FILE (stderr, the kernel note dropped) is one line holding NEEDLE
one_line() {
    drop_kernel_note "$1"
    if [ "$(grep -c . "$1")" -eq 1 ] && grep -q -- "$3" "$1"; then
        ok "$2: $(cat "$1")"
    else
        fail "$2: expected one line with '$3', got:"; sed 's/^/    /' "$1"
    fi
}
python=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null && "$p" -c "import h5py, numpy" 2>/dev/null; then
        python=$p
        break
    fi
done

"$s2s" gen reverse --symbols 12 --min-len 3 --max-len 8 --train 2000 --valid 100 --test 100 \
    --out g >/dev/null 2>&1 &&
"$s2s" prep --train-src g.train.src --train-tgt g.train.tgt --valid-src g.valid.src \
    --valid-tgt g.valid.tgt --out g.h5 >/dev/null || { echo "FAIL: data"; exit 1; }
train() { # train RUN_DIR STEPS [options]: 1 rank, a tiny model
    local dir=$1 steps=$2
    shift 2
    "$s2s" train --data g.h5 --run-dir "$dir" --hidden 16 --emb 8 --batch 16 --steps "$steps" \
        --ckpt-every 5 --valid-every 0 --no-valid-decode --samples 0 --progress plain \
        --log-every 0 "$@"
}
train run 10 > train.log 2>&1 || { echo "FAIL: training"; cat train.log; exit 1; }

# ---- 1. the record, and other readers ---------------------------------------------------------
for f in g.h5 run/ckpt-00000010.h5; do
    if head -c 23 "$f" | grep -q "^s2s integrity record 1" && h5dump -A "$f" >/dev/null 2>&1; then
        ok "$f carries the record and h5dump reads it"
    else
        fail "$f: no record, or h5dump cannot read it"
    fi
done
if [ -n "$python" ]; then
    if "$python" -c "
import h5py, sys
with h5py.File('run/ckpt-00000010.h5', 'r') as f:
    assert f.userblock_size == 512 and f.attrs['format'] == 's2s-checkpoint'
    assert len(f['vocab/src']) > 4
"; then ok "h5py reads a sealed checkpoint (user block 512)"; else fail "h5py"; fi
fi
"$s2s" info run/ckpt-00000010.h5 > info.txt 2>&1 && grep -q "^integrity *verified" info.txt &&
    ok "info: integrity verified" || { fail "info of a sealed checkpoint"; cat info.txt; }

# ---- 2. one byte of a checkpoint's vocabulary changed --------------------------------------------
cp run/ckpt-00000010.h5 good10.h5
# The vocabulary's strings sit in a global heap collection ("GCOL"); the token "w5" there
# becomes "w6" (a valid token: only the record can tell).
at=$(grep -obUaP "GCOL" run/ckpt-00000010.h5 | head -1 | cut -d: -f1)
tok=$(grep -obUaP "w5" run/ckpt-00000010.h5 | awk -F: -v at="${at:-0}" '$1 > at { print $1; exit }')
if [ -z "$at" ] || [ -z "$tok" ]; then
    fail "no global heap collection or token in the checkpoint"
else
    printf 'w6' | dd of=run/ckpt-00000010.h5 bs=1 seek="$tok" conv=notrunc 2>/dev/null
    "$s2s" info run/ckpt-00000010.h5 > out.txt 2> err.txt && fail "info accepted it"
    one_line err.txt "info of a changed vocabulary byte" "contents changed after s2s wrote it"
    echo "w1 w2" | "$s2s" translate --checkpoint run/ckpt-00000010.h5 > out.txt 2> err.txt &&
        fail "translate accepted it"
    one_line err.txt "translate of it" "damaged checkpoint"
    [ -s out.txt ] && fail "translate wrote output"
    train run 15 --resume auto > resume.log 2>&1 || fail "resume auto: exit $?"
    if grep -q "skipping checkpoint run/ckpt-00000010.h5: .*contents changed" resume.log &&
       grep -q "resumed from run/ckpt-00000005.h5" resume.log; then
        ok "resume auto skipped it and resumed from step 5"
    else
        fail "resume auto did not fall back:"; sed 's/^/    /' resume.log
    fi
fi

# ---- 3. no record --------------------------------------------------------------------------------
if h5unjam -i good10.h5 -o unsealed.h5 >/dev/null 2>&1 && h5dump -A unsealed.h5 >/dev/null 2>&1; then
    echo "w1 w2" | "$s2s" translate --checkpoint unsealed.h5 > out.txt 2> err.txt &&
        fail "translate accepted a checkpoint without a record"
    one_line err.txt "translate of a checkpoint without the record" "must carry s2s's integrity record"
    "$s2s" info unsealed.h5 > out.txt 2> err.txt && fail "info accepted it"
    one_line err.txt "info of it" "must carry s2s's integrity record"
else
    fail "h5unjam could not strip the user block"
fi

# ---- 4. a dataset from another tool ----------------------------------------------------------------
if [ -z "$python" ]; then
    echo "skipped: foreign datasets (no python3 with h5py and numpy)"
else
    "$python" - <<'PY' || fail "writing the foreign dataset"
import h5py, numpy as np
# The dataset schema of docs/formats.md, written as a user's own script would (no record).
with h5py.File("g.h5", "r") as src, h5py.File("foreign.h5", "w") as dst:
    for k in ("format", "version"):
        dst.attrs[k] = src.attrs[k]
    for side in ("src", "tgt"):
        toks = [t.decode() for t in src["vocab/" + side][()]]
        dst.create_dataset("vocab/" + side, data=toks, dtype=h5py.string_dtype())
    for split in ("train", "valid", "test"):
        g = dst.create_group(split)
        g.attrs["sentences"] = src[split].attrs["sentences"]
        for name in ("src_tokens", "src_offsets", "tgt_tokens", "tgt_offsets"):
            g.create_dataset(name, data=src[split + "/" + name][()])
PY
    "$s2s" info foreign.h5 > info.txt 2> err.txt && grep -q "^integrity *UNVERIFIED" info.txt &&
        ok "info: a foreign dataset is described as unverified" ||
        { fail "info of the foreign dataset"; cat info.txt err.txt; }
    if "$mpiexec" -np 2 "$s2s" train --data foreign.h5 --hidden 16 --emb 8 --batch 16 --steps 2 --no-save \
           --valid-every 0 --no-valid-decode --samples 0 --progress plain --log-every 0 \
           > ftrain.log 2> ferr.txt; then
        notes=$(grep -c "note: foreign.h5: unverified dataset" ferr.txt)
        [ "$notes" -eq 1 ] && ok "2 ranks train on it after a probe, with one note" ||
            { fail "expected one 'unverified' note, got $notes:"; cat ferr.txt; }
    else
        fail "training on the foreign dataset: exit $?"; cat ferr.txt
    fi
    # Its global heap (the vocabulary's strings) overwritten with 0xff: the library may crash,
    # loop or fail in the probe; s2s reports one line either way.
    cp foreign.h5 heap.h5
    at=$(grep -obUaP "GCOL" heap.h5 | head -1 | cut -d: -f1)
    if [ -n "$at" ]; then
        head -c 64 /dev/zero | tr '\0' '\377' | dd of=heap.h5 bs=1 seek=$((at + 16)) conv=notrunc 2>/dev/null
        start=$(date +%s.%N)
        "$s2s" train --data heap.h5 --steps 1 --hidden 16 --emb 8 --progress plain --no-save > out.txt 2> err.txt
        st=$?
        took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        [ "$st" -ne 0 ] && [ "$st" -lt 128 ] || fail "train on a damaged foreign dataset: exit $st"
        one_line err.txt "train on a foreign dataset with a damaged heap (${took} s)" "heap.h5"
        awk -v t="$took" 'BEGIN { exit !(t < 5) }' || fail "took ${took} s, not under 5 s"
    else
        fail "no global heap collection in the foreign dataset"
    fi
fi

[ "$failures" -eq 0 ] && echo "integrity: all checks passed" || echo "integrity: $failures failed"
exit $((failures > 0))
