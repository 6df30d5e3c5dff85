#!/usr/bin/env bash
# grad_comm.sh - training with --grad-comm bf16 (bfloat16 gradients with error feedback,
# include/s2s/comm.h) through mpiexec and the s2s binary, on a tiny model (each run well under
# a second; the whole script a few seconds):
#   1. one rank: bf16 changes nothing (no communication, no quantization): the parameters hash
#      of --grad-comm exact;
#   2. two ranks: two runs give the same parameters hash, one that differs from the exact run's
#      (the option is in effect) while the loss stays close to it;
#   3. a resume that changes --grad-comm is refused;
#   4. stopped by SIGTERM on 2 ranks and resumed (the residuals are in the checkpoint): the
#      uninterrupted run's hash; resumed on another rank count: a note that the residuals start
#      at zero.
# A failed check exits 1.
#
#   grad_comm.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: grad_comm.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_begin grad_comm
here=$(pwd -P) # the scratch directory, physical: ranks are found by their cwd
run() { # run NP ARGS...: s2s train on NP ranks
    local np=$1
    shift
    "$mpiexec" --oversubscribe -np "$np" "$s2s" train "$@"
}
final_loss() { sed -n 's/^final:.*validation loss \([0-9.]*\).*/\1/p' "$1" | tail -1; }

reverse_corpus "$s2s" 5
args=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --dropout 0.2 --batch 32
      --min-sents 4 --clip 0.1 --log-every 10 --valid-every 20 --samples 0 --progress plain
      --optim adam --lr 0.01 --steps 60 --ckpt-every 10 --keep 10)

# ---- 1. one rank ---------------------------------------------------------------------------
run 1 "${args[@]}" --run-dir one_exact > one_exact.log 2>&1 || { cat one_exact.log; fail "1 rank exact"; }
run 1 "${args[@]}" --run-dir one_bf16 --grad-comm bf16 > one_bf16.log 2>&1 ||
    { cat one_bf16.log; fail "1 rank bf16"; }
h1=$(final_hash one_exact.log)
[ -n "$h1" ] && [ "$(final_hash one_bf16.log)" = "$h1" ] &&
    ok "1 rank: --grad-comm bf16 gives the exact run's parameters ($h1)" ||
    fail "1 rank: bf16 hash $(final_hash one_bf16.log), exact $h1"

# ---- 2. two ranks ----------------------------------------------------------------------------
run 2 "${args[@]}" --run-dir exact > exact.log 2>&1 || { cat exact.log; fail "2 ranks exact"; }
for k in a b; do
    run 2 "${args[@]}" --run-dir "bf16_$k" --grad-comm bf16 > "bf16_$k.log" 2>&1 ||
        { cat "bf16_$k.log"; fail "2 ranks bf16 ($k)"; }
done
want=$(final_hash bf16_a.log)
[ -n "$want" ] && [ "$(final_hash bf16_b.log)" = "$want" ] &&
    ok "2 ranks bf16: two runs give the same parameters ($want)" ||
    fail "2 ranks bf16: hashes $want and $(final_hash bf16_b.log)"
[ "$want" != "$(final_hash exact.log)" ] && ok "2 ranks: bf16 differs from exact (in effect)" ||
    fail "2 ranks: bf16 gave the exact run's parameters: the option does nothing"
# The same training within a little of the exact run's validation loss (about 2.0 after 60
# steps; bf16's rounding moves it in the third digit).
awk -v a="$(final_loss exact.log)" -v b="$(final_loss bf16_a.log)" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && b > 0 && d <= 0.05 * a) }' &&
    ok "2 ranks: validation loss exact $(final_loss exact.log), bf16 $(final_loss bf16_a.log)" ||
    fail "2 ranks: validation loss exact $(final_loss exact.log), bf16 $(final_loss bf16_a.log)"

# ---- 3. the choice is fixed on resume -------------------------------------------------------
cp -r bf16_a changed
if run 2 "${args[@]}" --steps 70 --run-dir changed --resume auto > changed.log 2>&1; then
    fail "resume of a bf16 run with --grad-comm exact accepted"
else
    grep -q "grad-comm" changed.log && ok "resume with another --grad-comm refused" ||
        { cat changed.log; fail "refusal does not name --grad-comm"; }
fi

# ---- 4. the residuals in the checkpoint: stop and resume --------------------------------------
n=$(h5ls -r bf16_a/ckpt-00000060.h5 2>/dev/null | sed -n 's|^/comm/residual *Dataset {\([0-9]*\), \([0-9]*\)}.*|\1 \2|p')
[ "${n%% *}" = 2 ] && ok "/comm/residual of the 2-rank checkpoint: [${n/ /, }]" ||
    fail "no [2, n] /comm/residual in the 2-rank bf16 checkpoint (h5ls: '$n')"
h5ls -r exact/ckpt-00000060.h5 | grep -q "^/comm" && fail "an exact run's checkpoint has /comm" ||
    ok "no /comm in the exact run's checkpoint"
# the s2s processes training into RUN_DIR from this test's directory
ranks_of() { pgrep -f -- "--run-dir $1( |$)" | while read -r p; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = s2s ] &&
            [ "$(readlink /proc/"$p"/cwd 2>/dev/null)" = "$here" ] && echo "$p"; done; }
# The test hook (docs/development.md) holds rank 0 for 0.3 s before each checkpoint write
# (the other rank waits to send its residual row): the signal lands during step 30's.
S2S_TRAIN_TEST_SLOW=ckpt:300 run 2 "${args[@]}" --grad-comm bf16 --run-dir term > term1.log 2>&1 &
job=$!
if wait_for term1.log "checkpoint of step 30: before writing" 60; then
    kill -TERM $(ranks_of term) 2>/dev/null
fi
wait $job
status=$?
[ $status -eq 75 ] && grep -q "checkpoint of step 30 written" term1.log &&
    ok "SIGTERM: exit 75 after the checkpoint of step 30" ||
    { cat term1.log; fail "SIGTERM: exit status $status (want 75 at step 30)"; }
run 2 "${args[@]}" --grad-comm bf16 --run-dir term --resume auto > term2.log 2>&1 ||
    { cat term2.log; fail "resume after SIGTERM"; }
grep -q "resumed from" term2.log && ! grep -q "residuals of" term2.log ||
    fail "resume on 2 ranks: not resumed, or residuals reported dropped"
[ "$(final_hash term2.log)" = "$want" ] &&
    ok "SIGTERM + resume (bf16, 2 ranks): the uninterrupted run's parameters" ||
    fail "SIGTERM + resume: hash $(final_hash term2.log), uninterrupted $want"
# On another rank count the residuals start at zero, with one note.
for np in 1 3; do
    mkdir "other$np" && cp bf16_a/ckpt-00000050.h5 "other$np/"
    run "$np" "${args[@]}" --grad-comm bf16 --run-dir "other$np" --resume auto > "other$np.log" 2>&1 ||
        { cat "other$np.log"; fail "resume on $np ranks"; continue; }
    grep -q "residuals of 2 ranks, this run has $np: they start at zero" "other$np.log" &&
        ok "resumed on $np ranks: $(grep -c 'residuals of' "other$np.log") note that the residuals start at zero" ||
        { cat "other$np.log"; fail "resume on $np ranks: no note about the residuals"; }
done

if [ $failures -gt 0 ]; then
    echo "grad_comm.sh: $failures check(s) failed"
    exit 1
fi
echo "grad_comm.sh: all checks passed"
