#!/usr/bin/env bash
# data_pipeline.sh - the data path as a user runs it, end to end, through the s2s binary:
#   1. `s2s gen grammar` text -> `s2s prep` -> HDF5; h5dump reads the file; an independent reader
#      (h5py, if /usr/bin/python3 has it) turns every stored sentence back into the text's tokens;
#   2. bad inputs (line counts differ, invalid UTF-8, a NUL byte, empty file, missing file, --out
#      naming an input, a file that is not a dataset, train --lr 0) each give one error line, a
#      non-zero exit, and leave the previous dataset (and the input) intact;
#   3. scripts/prepare_corpus.sh on a generated TSV: its SentencePiece model trained by s2s prep,
#      inside the dataset and beside it, without any SentencePiece tool on PATH.
# Parts whose tool is missing say so; a failed check exits 1.
#
#   data_pipeline.sh S2S_BINARY SOURCE_DIR
set -u
if [ $# -ne 2 ]; then
    echo "usage: data_pipeline.sh S2S_BINARY SOURCE_DIR" >&2
    exit 2
fi
s2s=$1 root=$2
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_data_pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
cd "$work" || exit 1

# ---- 1. round trip --------------------------------------------------------------------------
"$s2s" gen grammar --train 3000 --valid 200 --test 200 --seed 7 --out g >/dev/null ||
    { echo "FAIL: s2s gen"; exit 1; }
if "$s2s" prep --train-src g.train.src --train-tgt g.train.tgt --valid-src g.valid.src \
        --valid-tgt g.valid.tgt --test-src g.test.src --test-tgt g.test.tgt --out g.h5 \
        > prep.log 2>&1; then
    ok "s2s prep wrote g.h5"
else
    cat prep.log; echo "FAIL: s2s prep"; exit 1
fi
grep -q "^train *3000 *3000 " prep.log || fail "prep report does not say 3000 read, 3000 kept"

if command -v h5dump >/dev/null; then
    if h5dump -H g.h5 > dump.txt 2>&1 && grep -q 'DATASET "src_tokens"' dump.txt &&
       h5dump -d /train/src_offsets -s 0 -c 3 g.h5 >/dev/null 2>&1; then
        ok "h5dump reads g.h5"
    else
        fail "h5dump cannot read g.h5"; head -20 dump.txt
    fi
else
    echo "skipped: h5dump (package hdf5-tools) is not installed"
fi

python=
for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import h5py' 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [ -n "$python" ]; then
    # The schema of docs/formats.md, read with nothing of s2s: tokens[offsets[i]:offsets[i+1]]
    # through the stored vocabulary must give each line's words (the generator's vocabulary is
    # closed, so the held-out splits have no <unk> either).
    if "$python" - g.h5 g <<'EOF'
import sys, h5py
path, prefix = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    assert f.attrs["format"] == "s2s-dataset" and int(f.attrs["version"]) == 1, "format attributes"
    vocab = {s: [t.decode() if isinstance(t, bytes) else t for t in f["vocab"][s][()]]
             for s in ("src", "tgt")}
    assert vocab["src"][:4] == ["<pad>", "<unk>", "<s>", "</s>"], vocab["src"][:4]
    for split in ("train", "valid", "test"):
        g = f[split]
        n = int(g.attrs["sentences"])
        for side in ("src", "tgt"):
            lines = open(f"{prefix}.{split}.{side}", encoding="utf-8").read().split("\n")[:-1]
            assert len(lines) == n, f"{split}.{side}: {len(lines)} lines, {n} sentences"
            tokens, offsets = g[f"{side}_tokens"][()], g[f"{side}_offsets"][()]
            assert len(offsets) == n + 1 and offsets[0] == 0 and offsets[-1] == len(tokens)
            for i, line in enumerate(lines):
                words = [vocab[side][t] for t in tokens[offsets[i]:offsets[i + 1]]]
                assert words == line.split(), f"{split}.{side} line {i + 1}: {words} != {line!r}"
    # Provenance: each input file with its CRC-32, as zlib computes it.
    import zlib
    inputs = f.attrs["inputs"]
    inputs = inputs.decode() if isinstance(inputs, bytes) else inputs
    rows = [line.split() for line in inputs.strip().split("\n")]
    assert len(rows) == 6, inputs
    for what, name, crc in rows:
        want = "crc32=%08x" % zlib.crc32(open(name, "rb").read())
        assert crc == want, f"{what} {name}: {crc}, zlib says {want}"
print("h5py: every sentence of every split matches its text; input checksums match")
EOF
    then ok "h5py round trip"; else fail "h5py round trip"; fi
else
    echo "skipped: h5py round trip (no python3 with h5py; scripts/deps.sh --python installs it)"
fi

# ---- 2. bad inputs --------------------------------------------------------------------------
cp g.h5 before.h5
# expect_fails NAME NEEDLE CMD...: CMD exits non-zero with one line on stderr holding NEEDLE
# (status 1 and a failure reported otherwise).
expect_fails() {
    local name=$1 needle=$2
    shift 2
    "$@" > out.txt 2> err.txt
    local rc=$?
    drop_kernel_note err.txt
    if [ "$rc" -eq 0 ]; then
        fail "$name: exit status 0"
    elif [ "$(wc -l < err.txt)" -ne 1 ] || ! grep -qF -- "$needle" err.txt; then
        fail "$name: expected one error line with '$needle', got:"; cat err.txt
    else
        return 0
    fi
    return 1
}
# expect_error NAME NEEDLE ARGS...: `s2s prep ARGS --out g.h5` fails as expect_fails says, g.h5
# and its vocabulary files as they were, no temporary file left.
expect_error() {
    local name=$1 needle=$2
    shift 2
    expect_fails "$name" "$needle" "$s2s" prep "$@" --out g.h5 || return
    if ! cmp -s g.h5 before.h5; then
        fail "$name: the previous dataset changed"
    elif ls ./*.tmp.* >/dev/null 2>&1; then
        fail "$name: temporary files left: $(ls ./*.tmp.*)"
    else
        ok "$name: $(cat err.txt)"
    fi
}
head -n 2999 g.train.tgt > short.tgt
printf 'ein gutes\xff wort\n' > bad_utf8.src
printf 'a good word\n' > one.tgt
printf 'ein\0wort\n' > nul.src
: > empty.src
: > empty.tgt
expect_error "line counts differ" "short.tgt" --train-src g.train.src --train-tgt short.tgt
expect_error "invalid UTF-8" "UTF-8" --train-src bad_utf8.src --train-tgt one.tgt
expect_error "NUL byte" "nul.src:1: NUL byte" --train-src nul.src --train-tgt one.tgt
expect_error "empty files" "empty.src" --train-src empty.src --train-tgt empty.tgt
expect_error "missing file" "nowhere.src" --train-src nowhere.src --train-tgt g.train.tgt
expect_error "mismatched TSV" "g.train.src" --train-tsv g.train.src
# --out in a directory that does not exist: said before any input is read (the input's invalid
# UTF-8 would be the error otherwise)
expect_fails "--out in a missing directory" "nowhere/g.h5: cannot create a temporary file" \
    "$s2s" prep --train-src bad_utf8.src --train-tgt one.tgt --tokenizer sentencepiece \
    --out nowhere/g.h5 && ok "--out nowhere/g.h5: $(cat err.txt)"
# Data too small for what is asked of it: warnings with the figures, and the dataset written.
# The generator repeats sources, so a carve-out by line shares some with training; by source none.
"$s2s" prep --train-src g.train.src --train-tgt g.train.tgt --valid-size 700 --test-size 300 \
    --max-vocab 5000 --out warn.h5 > warn.out 2> warn.err &&
    grep -q "^prep: warning: --valid-size 700 and --test-size 300 take 33% of the 3000 input pairs, leaving 2000 for training$" warn.err &&
    ok "prep warns of a large carve-out" || fail "prep's carve-out warning: $(cat warn.err)"
"$s2s" prep --train-src g.train.src --train-tgt g.train.tgt --valid-size 300 --carve-by source \
    --train-size 1000 --out warn2.h5 > warn2.out 2> warn2.err &&
    grep -q "^train: 1[0-9]* of the input's pairs left out (--train-size 1000)$" warn2.out &&
    ! grep -q "also occurs in the training split" warn2.err &&
    ok "prep --carve-by source --train-size: $(grep 'left out' warn2.out)" ||
    fail "prep --carve-by source --train-size: $(cat warn2.out warn2.err | tail -4)"
# --out naming an input, by its path, another path or a symbolic link: refused before anything
# is read, the input as it was.
cp g.train.src in.src
ln -s in.src link.h5
for out in in.src ./in.src link.h5; do
    if expect_fails "--out $out over --train-src" "--out $out is the same file as --train-src in.src" \
            "$s2s" prep --train-src in.src --train-tgt g.train.tgt --out "$out"; then
        if cmp -s in.src g.train.src; then
            ok "--out $out over its input: $(cat err.txt)"
        else
            fail "--out $out over --train-src: the input changed"
        fi
    fi
done
# s2s bench and train initialize MPI, whose allocations outlive MPI_Finalize by design: no leak
# check for them (scripts/test.sh explains), the rest of AddressSanitizer stays on.
no_leaks="${ASAN_OPTIONS:-}:detect_leaks=0"
expect_fails "a text file as a dataset" "g.train.src" \
    env ASAN_OPTIONS="$no_leaks" "$s2s" bench --data g.train.src && ok "not a dataset: $(cat err.txt)"
# An option out of range is named with its range, before training starts.
expect_fails "train --lr 0" "--lr: 0 is outside the allowed range (0, 1000]" \
    env ASAN_OPTIONS="$no_leaks" "$s2s" train --data g.h5 --lr 0 && ok "train --lr 0: $(cat err.txt)"

# ---- 3. a corpus through SentencePiece ------------------------------------------------------
# SentencePiece's tools first on PATH, as stand-ins that fail and leave a mark: the script must
# need s2s alone.
nospm=$work/nospm
mkdir -p "$nospm"
for t in spm_train spm_encode spm_decode; do
    printf '#!/bin/sh\ntouch "%s/called"\nexit 1\n' "$nospm" > "$nospm/$t"
    chmod +x "$nospm/$t"
done
paste g.train.src g.train.tgt > pairs.tsv
if PATH=$nospm:$PATH "$root/scripts/prepare_corpus.sh" --train-tsv pairs.tsv --vocab-size 300 \
        --valid-size 100 --test-size 100 --out sp --s2s "$s2s" > sp.log 2>&1 &&
   [ -s sp/data.h5 ] && [ -s sp/data.spm.model ] && grep -q "^valid *100 *100 " sp.log &&
   grep -q "^sentencepiece: joint unigram model, [0-9]* pieces, trained on 5600 sentences" sp.log &&
   [ ! -e "$nospm/called" ] &&
   "$s2s" info sp/data.h5 | grep -q "^sentencepiece  *joint unigram model"; then
    ok "prepare_corpus.sh: $(grep '^vocabulary' sp.log); $(grep '^sentencepiece' sp.log)"
else
    fail "prepare_corpus.sh"; tail -20 sp.log
fi

if [ "$failures" -gt 0 ]; then
    echo "data_pipeline: $failures check(s) failed"
    exit 1
fi
echo "data_pipeline: all checks passed"
