#!/usr/bin/env bash
# ensemble.sh - ensemble decoding through the s2s binary (docs/decoding.md, "Ensembles"):
#   1. two small models of different architectures (GRU with a bidirectional encoder, LSTM;
#      hidden 32 and 24) trained briefly with different seeds on one dataset, a byte copy of the
#      first, and three more trained for one step: on other text, on the same text prepared
#      lowercased, and one without attention;
#   2. an ensemble of one is the model: --weights 1 and a --config file naming the checkpoint
#      give translate's output and scores byte for byte;
#   3. the model and its copy with equal weights are the model: translate (beam and greedy,
#      n-best lists with scores), the attention file (the first model's weights), and eval's
#      figures, bit for bit;
#   4. the two different models: output that differs from each model alone on some sentences,
#      the same run to run and on 1 and 2 ranks (translate and eval), eval decoding as
#      translate does, weights that change the output;
#   5. refusals in one line naming both files: other vocabularies, other lowercasing, weights
#      that do not fit, --attention with a first model without attention.
#
#   ensemble.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: ensemble.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_begin ensemble
# MPI's own allocations left at exit would count as leaks under AddressSanitizer (decode.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
# figures FILE: eval's JSON figures of the last line, without the model keys
figures() { tail -n 1 "$1" | sed 's/^{.*"data":/{"data":/'; }
# differing A B: the number of lines that differ between two files of as many lines (no tabs)
differing() { paste "$1" "$2" | awk -F '\t' '$1 != $2' | wc -l; }
# refused WHAT NEEDLE... -- COMMAND: COMMAND fails with one error line holding every NEEDLE
refused() {
    local what=$1 needles=() line
    shift
    while [ "$1" != "--" ]; do needles+=("$1"); shift; done
    shift
    if "$@" > refused.out 2> refused.err; then
        fail "$what: accepted"
        return
    fi
    drop_kernel_note refused.err
    line=$(cat refused.err)
    if [ "$(wc -l < refused.err)" -ne 1 ]; then
        fail "$what: $(wc -l < refused.err) lines on stderr: $line"
        return
    fi
    for n in "${needles[@]}"; do
        case $line in *"$n"*) ;; *) fail "$what: '$line' lacks '$n'"; return ;; esac
    done
    ok "$what refused: $line"
}

# ---- 1. data and models ------------------------------------------------------------------------
train() { # train NAME DATA STEPS SEED OPTIONS...: the checkpoint of the last step as NAME.h5
    local name=$1 data=$2 steps=$3 seed=$4
    shift 4
    if ! "$s2s" train --data "$data" --run-dir "run_$name" --emb 16 --batch 32 --steps "$steps" \
           --optim adam --lr 0.01 --attn none --dropout 0 --label-smoothing 0 --warmup 0 \
           --valid-every "$steps" --seed "$seed" --progress plain \
           --log-every 0 --samples 0 "$@" > "train_$name.log" 2>&1; then
        cat "train_$name.log"
        echo "FAIL: training $name"
        exit 1
    fi
    cp "run_$name/ckpt-$(printf %08d "$steps").h5" "$name.h5"
}
"$s2s" gen reverse --symbols 12 --min-len 3 --max-len 8 --train 2000 --valid 64 --test 100 \
    --seed 5 --out r >/dev/null 2>&1 &&
"$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
    --valid-tgt r.valid.tgt --test-src r.test.src --test-tgt r.test.tgt --out r.h5 >/dev/null &&
"$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --lowercase --out rl.h5 >/dev/null &&
"$s2s" gen copy --symbols 10 --min-len 3 --max-len 8 --train 500 --valid 16 --test 0 --seed 9 \
    --out c >/dev/null 2>&1 &&
"$s2s" prep --train-src c.train.src --train-tgt c.train.tgt --out c.h5 >/dev/null ||
    { echo "FAIL: data"; exit 1; }
train A r.h5 150 1 --attn bahdanau --hidden 32
train B r.h5 200 2 --attn bahdanau --cell lstm --hidden 24
train other c.h5 1 3 --attn bahdanau --hidden 16
train lower rl.h5 1 3 --attn bahdanau --hidden 16
train plain r.h5 1 3 --hidden 16
cp A.h5 A2.h5
echo "A: $(grep '^final:' train_A.log)"
echo "B: $(grep '^final:' train_B.log)"

# ---- 2. an ensemble of one ------------------------------------------------------------------
tr() { "$s2s" translate --input r.test.src "$@" 2>/dev/null; }
tr --checkpoint A.h5 --beam 4 --nbest 3 > a_nb.txt &&
tr --checkpoint A.h5 --weights 1 --beam 4 --nbest 3 > a1_nb.txt &&
printf 'checkpoint = A.h5\n' > a.conf && tr --config a.conf --beam 4 --nbest 3 > ac_nb.txt ||
    fail "translate with one model"
[ -s a_nb.txt ] && cmp -s a_nb.txt a1_nb.txt && cmp -s a_nb.txt ac_nb.txt &&
    ok "an ensemble of one (--weights 1, --config) is the model: n-best lists and scores" ||
    fail "an ensemble of one differs from the model"

# ---- 3. a model and its copy -----------------------------------------------------------------
for beam in 1 5; do
    tr --checkpoint A.h5 --beam "$beam" --scores > "a_$beam.txt" &&
    tr --checkpoint A.h5 --checkpoint A2.h5 --beam "$beam" --scores > "aa_$beam.txt" ||
        fail "translate beam $beam"
    cmp -s "a_$beam.txt" "aa_$beam.txt" &&
        ok "beam $beam: the model and its copy translate as the model, scores to the last digit" ||
        fail "beam $beam: the model and its copy differ from the model"
done
tr --checkpoint A.h5 --checkpoint A2.h5 --beam 4 --nbest 3 > aa_nb.txt
cmp -s a_nb.txt aa_nb.txt && ok "the model and its copy: the same n-best lists" ||
    fail "the model and its copy: other n-best lists"
"$s2s" eval --checkpoint A.h5 --data r.h5 --split test > ev_a.txt 2>&1 &&
"$s2s" eval --checkpoint A.h5 --checkpoint A2.h5 --data r.h5 --split test > ev_aa.txt 2>&1 ||
    { cat ev_a.txt ev_aa.txt; fail "eval with the copy"; }
[ "$(figures ev_a.txt)" = "$(figures ev_aa.txt)" ] &&
    ok "eval: the model and its copy give the model's loss, accuracy, BLEU and exact match" ||
    fail "eval: $(figures ev_aa.txt) against the model's $(figures ev_a.txt)"
grep -q '"ensemble":\[{"checkpoint":"A.h5","weight":0.5' ev_aa.txt &&
    ok "eval's JSON names the ensemble's models and weights" || fail "eval JSON: $(tail -n 1 ev_aa.txt)"
head -n 20 r.test.src > few.src
"$s2s" translate --checkpoint A.h5 --input few.src --attention att_a.h5 >/dev/null 2>&1 &&
"$s2s" translate --checkpoint A.h5 --checkpoint A2.h5 --input few.src --attention att_aa.h5 \
    >/dev/null 2>&1 || fail "translate --attention"
if ! python=$(python_importing "h5py, numpy"); then
    fail "no python3 with h5py and numpy to read the attention files (scripts/deps.sh installs them)"
else
    "$python" - att_a.h5 att_aa.h5 <<'EOF' && ok "the ensemble's attention file holds its first model's weights" || fail "attention files differ"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert int(a.attrs["count"]) == int(b.attrs["count"]) == 20
for i in range(20):
    g, h = a["%08d" % i], b["%08d" % i]
    assert np.array_equal(g["weights"][()], h["weights"][()]), i
    assert list(g["target"][()]) == list(h["target"][()]), i
EOF
fi
"$s2s" translate --checkpoint A.h5 --checkpoint plain.h5 --input few.src --attention att_ap.h5 \
    >/dev/null 2>&1 && [ -s att_ap.h5 ] &&
    ok "--attention with a model without attention after the first: the first model's weights" ||
    fail "--attention refused with a first model that has attention"

# ---- 4. two different models ---------------------------------------------------------------
for beam in 1 5; do
    tr --checkpoint B.h5 --beam "$beam" --scores > "b_$beam.txt"
    tr --checkpoint A.h5 --checkpoint B.h5 --beam "$beam" --scores > "ab_$beam.txt" &&
    tr --checkpoint A.h5 --checkpoint B.h5 --beam "$beam" --scores > "ab_again_$beam.txt" &&
    "$mpiexec" -np 2 "$s2s" translate --checkpoint A.h5 --checkpoint B.h5 --beam "$beam" \
        --scores --input r.test.src > "ab_2r_$beam.txt" 2>/dev/null ||
        fail "translate A + B, beam $beam"
    cut -f1 "a_$beam.txt" > a_text.txt
    cut -f1 "b_$beam.txt" > b_text.txt
    cut -f1 "ab_$beam.txt" > ab_text.txt
    da=$(differing a_text.txt ab_text.txt) db=$(differing b_text.txt ab_text.txt)
    [ "$da" -gt 0 ] && [ "$db" -gt 0 ] &&
        ok "beam $beam: the ensemble differs from A on $da and from B on $db of 100 sentences" ||
        fail "beam $beam: the ensemble differs from A on $da and from B on $db sentences"
    cmp -s "ab_$beam.txt" "ab_again_$beam.txt" && ok "beam $beam: the same run to run" ||
        fail "beam $beam: two runs differ"
    cmp -s "ab_$beam.txt" "ab_2r_$beam.txt" && ok "beam $beam: 2 ranks give the output of 1 rank" ||
        fail "beam $beam: 2 ranks differ from 1"
done
tr --checkpoint A.h5 --checkpoint B.h5 --weights 0.9,0.1 > ab_w.txt
[ "$(differing ab_w.txt ab_text.txt)" -gt 0 ] && ok "weights 0.9,0.1 change the output" ||
    fail "weights 0.9,0.1 decode as equal weights"
"$s2s" eval --checkpoint A.h5 --checkpoint B.h5 --data r.h5 --split test --output ev_ab.out \
    > ev_ab.txt 2>&1 &&
"$mpiexec" -np 2 "$s2s" eval --checkpoint A.h5 --checkpoint B.h5 --data r.h5 --split test \
    > ev_ab2.txt 2>&1 || { cat ev_ab.txt ev_ab2.txt; fail "eval A + B"; }
cat ev_ab.txt
cmp -s ev_ab.out ab_text.txt && ok "eval decodes the ensemble as translate does (beam 5)" ||
    fail "eval --output differs from translate's ensemble output"
[ "$(figures ev_ab.txt | sed 's/"ranks":[0-9]*,//')" = \
  "$(figures ev_ab2.txt | sed 's/"ranks":[0-9]*,//')" ] &&
    ok "eval of the ensemble: 2 ranks give the figures of 1" ||
    fail "eval of the ensemble on 2 ranks: $(figures ev_ab2.txt)"

# ---- 5. refusals -----------------------------------------------------------------------------
refused "other vocabularies" "other.h5" "A.h5" "vocabulary differs" -- \
    "$s2s" translate --checkpoint A.h5 --checkpoint other.h5 --input few.src
refused "other vocabularies (eval)" "other.h5" "A.h5" "vocabulary differs" -- \
    "$s2s" eval --checkpoint A.h5 --checkpoint other.h5 --data r.h5
refused "other lowercasing" "lower.h5" "A.h5" "lowercasing differs" -- \
    "$s2s" translate --checkpoint A.h5 --checkpoint lower.h5 --input few.src
refused "weights that do not fit" "--weights gives 3 weights for 2 checkpoints" -- \
    "$s2s" translate --checkpoint A.h5 --checkpoint B.h5 --weights 1,2,3 --input few.src
refused "a zero weight" "B.h5" "positive" -- \
    "$s2s" translate --checkpoint A.h5 --checkpoint B.h5 --weights 1,0 --input few.src
refused "--attention of a first model without attention" "plain.h5" "attention" -- \
    "$s2s" translate --checkpoint plain.h5 --checkpoint A.h5 --input few.src --attention x.h5

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all ensemble checks passed"
