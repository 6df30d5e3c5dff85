#!/usr/bin/env bash
# learn.sh - the learning tests, through the s2s binary on 2 MPI ranks: a generated task is
# prepared into a dataset, trained with `mpiexec -np 2 s2s train`, and the greedy translations of
# the validation split (never trained on: the generator keeps the splits' sources apart) must be
# exactly right in at least 95% of cases.
#   reverse    GRU, reversing 4-12 symbols of 20
#   attention  GRU + Bahdanau attention, reversing 15-30 symbols; the same model without
#              attention, trained identically, is reported beside it (not asserted)
#
#   learn.sh S2S_BINARY MPIEXEC reverse|attention
set -u
if [ $# -ne 3 ]; then
    echo "usage: learn.sh S2S_BINARY MPIEXEC reverse|attention" >&2
    exit 2
fi
s2s=$1 mpiexec=$2 mode=$3
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_learn.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

data() { # data MIN MAX TRAIN
    "$s2s" gen reverse --symbols 20 --min-len "$1" --max-len "$2" --train "$3" --valid 1000 \
        --test 0 --seed 1 --out t >/dev/null &&
    "$s2s" prep --train-src t.train.src --train-tgt t.train.tgt --valid-src t.valid.src \
        --valid-tgt t.valid.tgt --out t.h5 >/dev/null
}
train() { # train LOG ARGS...: prints the exact-match rate of the final line
    local log=$1
    shift
    if ! "$mpiexec" -np 2 "$s2s" train --data t.h5 --optim adam --lr 0.003 --lr-schedule linear \
           --clip 5 --seed 1 --samples 3 --progress plain --ckpt-every 0 --bucket-window 1 --no-save "$@" > "$log" 2>&1; then
        cat "$log" >&2
        return 1
    fi
    cat "$log" >&2
    sed -n 's/^final: .*exact match \([0-9.]*\).*/\1/p' "$log"
}
pass() { awk -v x="$1" 'BEGIN { exit !(x >= 0.95) }'; }

case $mode in
reverse)
    data 4 12 150000 || { echo "FAIL: data"; exit 1; }
    em=$(train r.log --cell gru --emb 64 --hidden 256 --batch 128 --steps 1200 \
             --valid-every 500) || exit 1
    echo "learn.reverse: validation exact match $em (required 0.95), 2 ranks"
    pass "$em" || { echo "FAIL: exact match $em < 0.95"; exit 1; }
    ;;
attention)
    data 15 30 32000 || { echo "FAIL: data"; exit 1; }
    set -- --cell gru --emb 64 --hidden 128 --batch 64 --steps 500 --valid-every 0
    with=$(train a.log "$@" --attn bahdanau) || exit 1
    without=$(train n.log "$@" --attn none) || exit 1
    echo "learn.attention: lengths 15-30, 500 steps on 2 ranks: validation exact match $with" \
         "with Bahdanau attention (required 0.95), $without without attention"
    pass "$with" || { echo "FAIL: exact match $with < 0.95"; exit 1; }
    ;;
*)
    echo "learn.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
