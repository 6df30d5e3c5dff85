#!/usr/bin/env bash
# signals.sh - SIGTERM in every phase of `s2s train` on 2 ranks through mpiexec (issue 14): the
# process ends promptly (under 5 s from the signal) with the documented status, and leaves the
# checkpoint state the contract of docs/training.md ("Signals") promises:
#   1. during start-up (reading the dataset; a resume's checkpoint read, signalled on one rank
#      only): exit 75, one line saying it stopped before training began, nothing written;
#   2. during a validation: exit 75, the checkpoint of the step holding the validation as
#      pending; resumed, the run repeats it and ends with the uninterrupted run's parameter
#      hash, validation records, history and best.h5;
#   3. during a checkpoint write: the write finishes, exit 75 without a second write; resumed,
#      bit-identical;
#   4. a stop whose checkpoint write fails under --ckpt-error continue (at a step boundary, and
#      during a periodic write): exit 1 with one message saying the write failed and what is on
#      disk, never "checkpoint of step N written".
# The test hook S2S_TRAIN_TEST_SLOW (docs/development.md) slows the phase down so that the
# signal lands inside it; the check that ends the phase is the production one.
#
#   signals.sh S2S_BINARY PARAMS_DIFF MPIEXEC
set -u
if [ $# -ne 3 ]; then
    echo "usage: signals.sh S2S_BINARY PARAMS_DIFF MPIEXEC" >&2
    exit 2
fi
s2s=$1 params_diff=$2 mpiexec=$3
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_begin signals
here=$(pwd -P) # the scratch directory, physical: ranks are found by their cwd

reverse_corpus "$s2s" 5

# 40 steps, a validation (best) at step 20 and the final one at 40, checkpoints at 20 and 40
args=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --dropout 0.2 --batch 32
      --min-sents 4 --optim adam --lr 0.003 --steps 40 --log-every 10 --valid-every 20
      --ckpt-every 20 --keep 10 --samples 0 --progress plain)
run() { "$mpiexec" --oversubscribe -np 2 "$s2s" train "${args[@]}" "$@"; }
history_of() { "$s2s" info --history -1 "$1" | sed -n '/^history/,$p'; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# the s2s ranks training into RUN_DIR from this directory; with a rank number, that rank only
ranks_of() {
    pgrep -f -- "--run-dir $1( |$)" | while read -r p; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = s2s ] &&
            [ "$(readlink /proc/"$p"/cwd 2>/dev/null)" = "$here" ] || continue
        [ -z "${2:-}" ] || tr '\0' '\n' < /proc/"$p"/environ | grep -qx "OMPI_COMM_WORLD_RANK=$2" &&
            echo "$p"
    done
}
# stopped NAME LOG PATTERN [RANK] (the run in the background as $job): SIGTERM to the ranks
# (or to one) once LOG shows PATTERN; sets status and secs (signal to exit)
stopped() {
    local t0
    status=none secs=none
    if ! wait_for "$2" "$3" 60; then
        wait $job
        cat "$2"; fail "$1: never reached '$3'"
        return 1
    fi
    t0=$(now)
    kill -TERM $(ranks_of "$1" "${4:-}") 2>/dev/null
    wait $job
    status=$?
    secs=$(elapsed "$t0" "$(now)")
    awk -v s="$secs" 'BEGIN { exit !(s < 5) }' || fail "$1: exit $secs s after the signal (want < 5 s)"
}

run --run-dir whole > whole.log 2>&1 || { cat whole.log; echo "FAIL: the uninterrupted run"; exit 1; }
want=$(final_hash whole.log)
[ -n "$want" ] || { echo "FAIL: no parameters hash in the uninterrupted run's output"; exit 1; }

# ---- 1. start-up -------------------------------------------------------------------------------
before="stop requested by SIGTERM before training began"
S2S_TRAIN_TEST_SLOW=startup:700 run --run-dir su > su.log 2>&1 &
job=$!
if stopped su su.log "rank 0: start-up: reading the sentence lengths"; then
    line="$before (while reading the sentence lengths): there was nothing to save, no checkpoint was written"
    if [ $status -eq 75 ] && [ "$(grep -c "^$line" su.log)" -eq 1 ] && ! grep -q "^final:" su.log &&
           [ ! -e su ]; then
        ok "start-up (dataset): exit 75 in $secs s, nothing written, one line: $(grep -o "^$before.*" su.log)"
    else
        cat su.log; ls -la su 2>&1; fail "start-up (dataset): exit $status"
    fi
fi

# a resume, SIGTERM to rank 1 alone while rank 0 reads the checkpoint: rank 1 waits at the
# phase's agreement, where both learn of the stop
mkdir sr && cp whole/ckpt-00000020.h5 sr/ && : > sr/metrics.jsonl
sums=$(cd sr && md5sum ckpt-00000020.h5 metrics.jsonl)
S2S_TRAIN_TEST_SLOW=startup:700 run --run-dir sr --resume auto > sr.log 2>&1 &
job=$!
if stopped sr sr.log "rank 0: start-up: reading the checkpoint" 1; then
    line="$before (while reading the checkpoint to resume): there was nothing to save"
    if [ $status -eq 75 ] && [ "$(grep -c "^$line" sr.log)" -eq 1 ] && ! grep -q "^final:" sr.log &&
           [ "$(cd sr && md5sum ckpt-00000020.h5 metrics.jsonl)" = "$sums" ] &&
           [ "$(ls sr)" = "$(printf 'ckpt-00000020.h5\nmetrics.jsonl')" ]; then
        ok "start-up (resume, one rank signalled): exit 75 in $secs s, the run directory untouched"
    else
        cat sr.log; ls -la sr; fail "start-up (resume, one rank signalled): exit $status"
    fi
fi

# ---- 2. validation -----------------------------------------------------------------------------
S2S_TRAIN_TEST_SLOW=valid:500 run --run-dir v > v1.log 2>&1 &
job=$!
if stopped v v1.log "rank 0: validation of step 20"; then
    pending=$("$s2s" info --history 1 v/ckpt-00000020.h5 | awk '$1 == 20 && $3 == "nan"')
    if [ $status -eq 75 ] &&
           grep -q "^stop requested by a signal: checkpoint of step 20 written; resume with --resume auto (the validation of that step was abandoned" v1.log &&
           ! grep -q "^valid step" v1.log && [ "$(ls v)" = "$(printf 'ckpt-00000020.h5\nmetrics.jsonl')" ] &&
           "$s2s" info v/ckpt-00000020.h5 >/dev/null && [ -n "$pending" ] && [ -z "$(valid_records v/metrics.jsonl)" ]; then
        ok "validation: exit 75 in $secs s, valid ckpt-00000020.h5 (no best.h5) with the validation pending"
    else
        cat v1.log; ls v; "$s2s" info v/ckpt-00000020.h5; fail "validation: exit $status"
    fi
    run --run-dir v --resume auto > v2.log 2>&1 || { cat v2.log; fail "validation: the resumed run"; }
    if [ "$(final_hash v2.log)" = "$want" ] && grep -q "^valid step 20:" v2.log &&
           [ "$(valid_records v/metrics.jsonl)" = "$(valid_records whole/metrics.jsonl)" ] &&
           [ "$(history_of v/ckpt-00000040.h5)" = "$(history_of whole/ckpt-00000040.h5)" ] &&
           "$params_diff" whole/best.h5 v/best.h5 0 >/dev/null; then
        ok "validation + resume: the validation of step 20 repeated; hash, validation records," \
           "history and best.h5 are the uninterrupted run's"
    else
        cat v2.log; diff <(valid_records whole/metrics.jsonl) <(valid_records v/metrics.jsonl)
        diff <(history_of whole/ckpt-00000040.h5) <(history_of v/ckpt-00000040.h5)
        fail "validation + resume: hash $(final_hash v2.log) (uninterrupted $want), or the" \
             "validation records, history or best.h5 differ (above)"
    fi
fi

# ---- 3. checkpoint write -----------------------------------------------------------------------
S2S_TRAIN_TEST_SLOW=ckpt:800 run --run-dir c > c1.log 2>&1 &
job=$!
if stopped c c1.log "rank 0: checkpoint of step 20: before writing c/ckpt-00000020.h5"; then
    if [ $status -eq 75 ] &&
           grep -q "^stop requested by a signal: checkpoint of step 20 written; resume with --resume auto (the signal came during that checkpoint's write)" c1.log &&
           [ "$(ls c)" = "$(printf 'best.h5\nckpt-00000020.h5\nmetrics.jsonl')" ] &&
           "$s2s" info c/ckpt-00000020.h5 >/dev/null &&
           [ "$(grep -c '"type":"checkpoint"' c/metrics.jsonl)" -eq 1 ] &&
           [ "$(grep -c 'checkpoint of step 20: before writing c/ckpt-' c1.log)" -eq 1 ]; then
        ok "checkpoint write: finished, exit 75 in $secs s, no second write"
    else
        cat c1.log; ls c; fail "checkpoint write: exit $status"
    fi
    run --run-dir c --resume auto > c2.log 2>&1 || { cat c2.log; fail "checkpoint write: the resumed run"; }
    [ "$(final_hash c2.log)" = "$want" ] && grep -q "resumed from c/ckpt-00000020.h5" c2.log &&
        ok "checkpoint write + resume: bit-identical to the uninterrupted run" ||
        { cat c2.log; fail "checkpoint write + resume: hash $(final_hash c2.log), uninterrupted $want"; }
fi

# ---- 4. a stop whose checkpoint write fails, --ckpt-error continue ------------------------------
# At a step boundary: every checkpoint name of the run is taken by a directory (the rename fails)
mkdir cb && for ((s = 1; s <= 400; s++)); do mkdir "$(printf 'cb/ckpt-%08d.h5' $s)"; done
run --run-dir cb --steps 400 --ckpt-every 0 --valid-every 0 --log-every 1 --ckpt-error continue \
    > cb.log 2>&1 &
job=$!
if stopped cb cb.log "^step *2[0-9]/"; then
    msg="train: stop requested by SIGTERM at step [0-9]*, but the checkpoint of that step could not be written (cb/ckpt-[0-9]*.h5: cannot rename .*); there is no checkpoint of this run on disk\$"
    if [ $status -eq 1 ] && [ "$(grep -c "rank 0 of 2: $msg" cb.log)" -eq 1 ] &&
           ! grep -q "checkpoint of step [0-9]* written" cb.log && ! grep -q "training goes on" cb.log; then
        ok "stop at a step boundary, write failed (continue): exit 1 in $secs s: $(grep -o 'stop requested by SIGTERM at step [0-9]*' cb.log)"
    else
        cat cb.log; fail "stop at a step boundary, write failed (continue): exit $status"
    fi
fi
# During a periodic write (step 20's name taken; step 10's written): the message names step 10's
mkdir -p cp/ckpt-00000020.h5
S2S_TRAIN_TEST_SLOW=ckpt:800 run --run-dir cp --ckpt-every 10 --valid-every 0 --ckpt-error continue \
    > cp.log 2>&1 &
job=$!
if stopped cp cp.log "rank 0: checkpoint of step 20: before writing"; then
    msg="train: stop requested by SIGTERM at step 20, but the checkpoint of that step could not be written (cp/ckpt-00000020.h5: cannot rename .*); the newest checkpoint on disk is cp/ckpt-00000010.h5 (--resume auto continues from it)\$"
    if [ $status -eq 1 ] && [ "$(grep -c "rank 0 of 2: $msg" cp.log)" -eq 1 ] &&
           ! grep -q "checkpoint of step 20 written" cp.log && "$s2s" info cp/ckpt-00000010.h5 >/dev/null; then
        ok "stop during a periodic write that fails (continue): exit 1 in $secs s, names cp/ckpt-00000010.h5"
    else
        cat cp.log; fail "stop during a periodic write that fails (continue): exit $status"
    fi
fi

echo "signals: $failures failure(s)"
[ $failures -eq 0 ]
