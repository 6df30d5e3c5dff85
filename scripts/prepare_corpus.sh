#!/usr/bin/env bash
# prepare_corpus.sh - a real parallel corpus, already downloaded, to an s2s dataset: optional
# column extraction from tab-separated pair lists, then `s2s prep --tokenizer sentencepiece`,
# which trains one joint SentencePiece subword model on the training text, segments every split
# with it and stores the model in the dataset (one shared vocabulary). Checkpoints trained on it
# carry the model: `s2s translate` and `s2s eval` take and write raw text.
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
#   --coverage F        SentencePiece character coverage (default 1.0: every character of
#                       the training text)
#   --out DIR           where everything goes: raw.* (TSV columns), data.h5, data.spm.model,
#                       data.{src,tgt}.vocab
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
columns=1,2 vocab_size=8000 coverage=1.0 out="" s2s="" carve=() prep_extra=()
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
        --coverage) coverage=${2:?--coverage needs a number}; shift 2 ;;
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

# 1. text per split and side: TSV columns cut out into raw.*, parallel files used as they are.
prep_args=()
for split in train valid test; do
    if [ -n "${tsv[$split]:-}" ]; then
        [ -r "${tsv[$split]}" ] || die "cannot read ${tsv[$split]}"
        a=${columns%,*} b=${columns#*,}
        awk -F '\t' -v a="$a" -v b="$b" -v f="${tsv[$split]}" -v o="$out/raw.$split" '
            NF < (a > b ? a : b) { printf "prepare_corpus.sh: %s:%d: fewer than %d columns\n", f, NR, (a > b ? a : b) > "/dev/stderr"; exit 1 }
            { print $a > (o ".src"); print $b > (o ".tgt") }' "${tsv[$split]}"
        prep_args+=("--$split-src" "$out/raw.$split.src" "--$split-tgt" "$out/raw.$split.tgt")
    elif [ -n "${src[$split]:-}" ]; then
        for f in "${src[$split]}" "${tgt[$split]}"; do [ -r "$f" ] || die "cannot read $f"; done
        prep_args+=("--$split-src" "${src[$split]}" "--$split-tgt" "${tgt[$split]}")
    fi
done

# 2. the dataset: one SentencePiece model for both languages, trained by s2s prep on the
#    training split (so that --shared-vocab and --tie-embeddings apply), every split segmented
#    with it. Pieces are kept as they are (no lowercasing: the subword model sees the case).
"$s2s" prep "${prep_args[@]}" "${carve[@]}" --tokenizer sentencepiece --spm-train joint \
    --spm-vocab-size "$vocab_size" --spm-coverage "$coverage" --shared-vocab \
    --out "$out/data.h5" "${prep_extra[@]}"
echo "prepare_corpus.sh: $out/data.h5 is ready (its SentencePiece model is inside, and in" \
     "$out/data.spm.model; checkpoints trained on it translate raw text)"
