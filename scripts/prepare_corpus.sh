#!/usr/bin/env bash
# prepare_corpus.sh - a real parallel corpus, already downloaded, to an s2s dataset: optional
# column extraction from tab-separated pair lists, a joint SentencePiece subword model trained on
# the training text (spm_train), every split segmented with it (spm_encode), then `s2s prep` on
# the segmented text with one shared vocabulary.
#
#   scripts/prepare_corpus.sh --train SRC TGT [--valid SRC TGT] [--test SRC TGT] --out DIR
#   scripts/prepare_corpus.sh --train-tsv FILE [--columns 2,4] [--valid-size N] --out DIR
#
# Options:
#   --train SRC TGT, --valid SRC TGT, --test SRC TGT   parallel files, one sentence per line
#   --train-tsv F, --valid-tsv F, --test-tsv F         pairs in tab-separated columns
#   --columns A,B       columns of source and target in the TSV files (default 1,2; Tatoeba's
#                       "sentence pairs" download has id, text, id, text: use 2,4)
#   --vocab-size N      SentencePiece vocabulary size (default 8000)
#   --valid-size N, --test-size N   held-out pairs carved out of the training data by s2s prep
#                       when there are no such files
#   --out DIR           where everything goes: raw.*, spm.model, spm.vocab, *.sp.*, data.h5
#   --s2s PATH          the s2s binary (default: $S2S, build/release/s2s of this source tree,
#                       built if missing, or s2s on PATH)
#   -- ARGS             further options for `s2s prep` (e.g. --max-len 100 --max-ratio 3)
#
# Multi30k (files from github.com/multi30k/dataset, data/task1/raw, decompressed):
#   scripts/prepare_corpus.sh --train train.de train.en --valid val.de val.en \
#       --test test_2016_flickr.de test_2016_flickr.en --out data/multi30k -- --max-len 80
# Tatoeba (a "sentence pairs" TSV exported from tatoeba.org/downloads):
#   scripts/prepare_corpus.sh --train-tsv deu-eng.tsv --columns 2,4 --valid-size 2000 \
#       --test-size 2000 --out data/tatoeba-de-en
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
die() { echo "prepare_corpus.sh: $*" >&2; exit 2; }

declare -A src tgt tsv
columns=1,2 vocab_size=8000 out="" s2s="" carve=() prep_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --train|--valid|--test)
            [ $# -ge 3 ] || die "$1 needs two files (source and target)"
            src[${1#--}]=$2 tgt[${1#--}]=$3; shift 3 ;;
        --train-tsv|--valid-tsv|--test-tsv)
            [ $# -ge 2 ] || die "$1 needs a file"
            s=${1#--}; tsv[${s%-tsv}]=$2; shift 2 ;;
        --columns) columns=${2:?--columns needs A,B}; shift 2 ;;
        --vocab-size) vocab_size=${2:?--vocab-size needs a number}; shift 2 ;;
        --valid-size|--test-size) carve+=("$1" "${2:?$1 needs a number}"); shift 2 ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --s2s) s2s=${2:?--s2s needs a path}; shift 2 ;;
        --) shift; prep_extra=("$@"); break ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -n "$out" ] || die "--out is missing"
[ -n "${src[train]:-}${tsv[train]:-}" ] || die "no training data: give --train SRC TGT or --train-tsv FILE"
[[ "$columns" =~ ^[0-9]+,[0-9]+$ ]] || die "--columns must be two column numbers like 2,4"

# SentencePiece from the distribution (package sentencepiece), installed if missing.
if ! command -v spm_train >/dev/null || ! command -v spm_encode >/dev/null; then
    [ -x "$root/scripts/deps.sh" ] ||
        die "needs SentencePiece's spm_train and spm_encode (Debian package sentencepiece)"
    S2S_DEPS_EXTRA=sentencepiece "$root/scripts/deps.sh"
fi
if [ -z "$s2s" ]; then
    s2s=$(s2s_binary "$root")
    if [ -z "$s2s" ] && [ -f "$root/CMakeLists.txt" ]; then # a source tree: build it
        s2s="$root/build/release/s2s"
        "$root/scripts/deps.sh"
        cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$root/build/release" -j"$(nproc)" --target s2s
    fi
    [ -n "$s2s" ] || die "no s2s: set S2S, pass --s2s PATH, or put s2s on PATH"
fi
mkdir -p "$out"

# 1. raw text per split and side: TSV columns cut out, parallel files used as they are.
splits=()
for split in train valid test; do
    if [ -n "${tsv[$split]:-}" ]; then
        [ -r "${tsv[$split]}" ] || die "cannot read ${tsv[$split]}"
        a=${columns%,*} b=${columns#*,}
        awk -F '\t' -v a="$a" -v b="$b" -v f="${tsv[$split]}" -v o="$out/raw.$split" '
            NF < (a > b ? a : b) { printf "prepare_corpus.sh: %s:%d: fewer than %d columns\n", f, NR, (a > b ? a : b) > "/dev/stderr"; exit 1 }
            { print $a > (o ".src"); print $b > (o ".tgt") }' "${tsv[$split]}"
    elif [ -n "${src[$split]:-}" ]; then
        for f in "${src[$split]}" "${tgt[$split]}"; do [ -r "$f" ] || die "cannot read $f"; done
        cp "${src[$split]}" "$out/raw.$split.src"
        cp "${tgt[$split]}" "$out/raw.$split.tgt"
    else
        continue
    fi
    splits+=("$split")
done

# 2. one subword model for both languages, so that --shared-vocab and --tie-embeddings apply.
#    character_coverage 1.0 keeps every character of the (small) corpora used here.
spm_train --input="$out/raw.train.src,$out/raw.train.tgt" --model_prefix="$out/spm" \
    --vocab_size="$vocab_size" --character_coverage=1.0 --model_type=unigram \
    --input_sentence_size=2000000 --shuffle_input_sentence=true --minloglevel=1

# 3. segmentation: pieces separated by spaces, which s2s prep's whitespace tokenizer reads.
prep_args=()
for split in "${splits[@]}"; do
    for side in src tgt; do
        spm_encode --model="$out/spm.model" --output_format=piece \
            < "$out/raw.$split.$side" > "$out/$split.sp.$side"
    done
    prep_args+=("--$split-src" "$out/$split.sp.src" "--$split-tgt" "$out/$split.sp.tgt")
done

# 4. the dataset. Pieces are kept as they are (no lowercasing: the subword model saw the case).
"$s2s" prep "${prep_args[@]}" "${carve[@]}" --shared-vocab --out "$out/data.h5" \
    "${prep_extra[@]}"
echo "prepare_corpus.sh: $out/data.h5 is ready (subword model $out/spm.model; spm_decode turns" \
     "translations back into text)"
