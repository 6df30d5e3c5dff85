#!/usr/bin/env bash
# launch.sh - stops from every entry point of a job (issue 16), on 2 ranks: the signal a user, a
# wrapper or a scheduler sends ends the run with its checkpoint and status 75 at the entry point
# too, and the resumed run is bit-identical to an uninterrupted one:
#   1. SIGTERM to scripts/launch.sh (mpirun under it): 75 from launch.sh; resumed: the same
#      parameters and validation records;
#   2. SIGINT to launch.sh during a validation (as a terminal's Ctrl-C), SIGTERM during a
#      checkpoint write: 75; resumed: the same;
#   3. SIGUSR1 straight to mpiexec (no wrapper): 75 from mpiexec;
#   4. a second SIGTERM to launch.sh aborts: neither 0 nor 75, and the newest checkpoint on
#      disk still resumes to the same parameters;
#   5. scripts/slurm/train.sbatch under a stand-in sbatch (tests/integration/fake_slurm) whose
#      time limit comes during the run: the job's SIGUSR1 warning stops it with 75, launch.sh
#      requeues it, the next start resumes, until the run is complete: the same parameters; the
#      job asked for the warning and the requeue, mpirun for core binding;
#   6. the same job with LAUNCH=srun (the stand-in srun).
#
#   launch.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: launch.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$repo/tests/integration/lib.sh"
test_begin launch

reverse_corpus "$s2s" 7

# 300 steps, validations and checkpoints at 100, 200 and 300
args=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --batch 32 --min-sents 4
      --steps 300 --log-every 10 --valid-every 100 --ckpt-every 100 --keep 10 --samples 0
      --progress plain)
launch=("$repo/scripts/launch.sh" --oversubscribe -np 2 "$s2s" train "${args[@]}")
# same_as_whole NAME DIR LOG: the run in DIR ended like the uninterrupted one
same_as_whole() {
    if [ "$(final_hash "$3")" = "$whole_hash" ] &&
           diff <(valid_records "$2/metrics.jsonl") <(valid_records whole/metrics.jsonl) >/dev/null; then
        ok "$1: resumed, parameter hash $whole_hash and validation records of the uninterrupted run"
    else
        fail "$1: resumed to hash $(final_hash "$3"), uninterrupted $whole_hash"
        diff <(valid_records "$2/metrics.jsonl") <(valid_records whole/metrics.jsonl) | head -5
    fi
}
# resumed NAME DIR: resume the run in DIR through launch.sh; it must end like the uninterrupted one
resumed() {
    "${launch[@]}" --run-dir "$2" --resume auto >"$2.resumed.log" 2>&1 ||
        { cat "$2.resumed.log"; fail "$1: the resumed run failed"; }
    same_as_whole "$1, from $(sed -n 's/^resumed from \([^:]*\):.*/\1/p' "$2.resumed.log")" "$2" \
        "$2.resumed.log"
}
# signalled NAME DIR PATTERN SIGNAL PID...: once DIR's log shows PATTERN, SIGNAL to the PIDs;
# then waits for the job ($job); sets status
signalled() {
    local name=$1 dir=$2 pattern=$3 sig=$4
    shift 4
    if ! wait_for "$dir.log" "$pattern" 60; then
        wait "$job"
        cat "$dir.log"
        fail "$name: never reached '$pattern'"
        return 1
    fi
    kill -"$sig" "$@"
    wait "$job"
    status=$?
}

# The uninterrupted run, with validations slowed as in the SLURM job below, to time it.
t0=$EPOCHREALTIME
S2S_TRAIN_TEST_SLOW=valid:200 "$mpiexec" --oversubscribe -np 2 "$s2s" train "${args[@]}" \
    --run-dir whole >whole.log 2>&1 || { cat whole.log; echo "FAIL: the uninterrupted run"; exit 1; }
whole_secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
whole_hash=$(final_hash whole.log)

# ---- 1. SIGTERM to launch.sh -------------------------------------------------------------------
"${launch[@]}" --run-dir term >term.log 2>&1 &
job=$!
if signalled "SIGTERM to launch.sh" term "^step 50/" TERM "$job"; then
    if [ "$status" -eq 75 ] && grep -q "^launch.sh: SIGTERM: asking the job to stop" term.log &&
           grep -q "^stop requested by a signal: checkpoint of step [0-9]* written" term.log &&
           grep -q "^final: .*; no final validation; " term.log &&
           grep '"type":"final"' term/metrics.jsonl |
               grep -q '"stopped":true,"valid_loss":null,"bleu":null,"exact_match":null'; then
        ok "SIGTERM to launch.sh: exit 75, $(grep -o 'checkpoint of step [0-9]*' term.log), no validation figures made up"
    else
        cat term.log; fail "SIGTERM to launch.sh: exit $status (want 75 and the stop lines)"
    fi
    resumed "SIGTERM to launch.sh" term
    # the run is complete now: resuming it again says so and changes nothing
    records=$(wc -l < term/metrics.jsonl) files=$(ls -l --time-style=+%s.%N term | md5sum)
    if "${launch[@]}" --run-dir term --resume auto > term3.log 2>&1 &&
           grep -q "^resume: term/ckpt-00000300.h5 is the end of the run (step 300 of 300" term3.log &&
           [ "$(wc -l < term/metrics.jsonl)" -eq "$records" ] &&
           [ "$(ls -l --time-style=+%s.%N term | md5sum)" = "$files" ]; then
        ok "resuming the complete run: exit 0, says it is the end, writes nothing"
    else
        cat term3.log; fail "resuming a complete run: exit $?, or records or files changed"
    fi
fi

# ---- 2. SIGINT to launch.sh during a validation ---------------------------------------------
# As a terminal's Ctrl-C: with job control on, so that the background job does not start with
# SIGINT ignored (what bash does to background jobs of scripts).
set -m
S2S_TRAIN_TEST_SLOW=valid:400 "${launch[@]}" --run-dir int >int.log 2>&1 &
job=$!
set +m
if signalled "SIGINT during a validation" int "^step 100/" INT "$job"; then
    if [ "$status" -eq 75 ] && ! grep -q '^valid step 100' int.log &&
           "$s2s" info --history -1 int/ckpt-00000100.h5 >/dev/null 2>&1; then
        ok "SIGINT to launch.sh during the validation of step 100: exit 75, its checkpoint written"
    else
        cat int.log; fail "SIGINT during a validation: exit $status (want 75, ckpt-00000100.h5)"
    fi
    resumed "SIGINT during a validation" int
fi

# ---- 2b. SIGTERM to launch.sh during a checkpoint write ----------------------------------------
S2S_TRAIN_TEST_SLOW=ckpt:600 "${launch[@]}" --run-dir ckpt >ckpt.log 2>&1 &
job=$!
if signalled "SIGTERM during a checkpoint write" ckpt \
       "rank 0: checkpoint of step 100: before writing ckpt/ckpt-00000100.h5" TERM "$job"; then
    if [ "$status" -eq 75 ] && grep -q "^stop requested by a signal: checkpoint of step 100 written" ckpt.log &&
           [ "$(grep -c '"type":"checkpoint"' ckpt/metrics.jsonl)" -eq 1 ]; then
        ok "SIGTERM to launch.sh during the checkpoint write of step 100: finished, exit 75"
    else
        cat ckpt.log; fail "SIGTERM during a checkpoint write: exit $status (want 75, one write)"
    fi
    resumed "SIGTERM during a checkpoint write" ckpt
fi

# ---- 3. SIGUSR1 straight to mpiexec ------------------------------------------------------------
"$mpiexec" --oversubscribe -np 2 "$s2s" train "${args[@]}" --run-dir usr1 >usr1.log 2>&1 &
job=$!
if signalled "SIGUSR1 to mpiexec" usr1 "^step 50/" USR1 "$job"; then
    if [ "$status" -eq 75 ] && grep -q "^stop requested by a signal" usr1.log; then
        ok "SIGUSR1 to mpiexec (forwarded to the ranks): exit 75 from mpiexec"
    else
        cat usr1.log; fail "SIGUSR1 to mpiexec: exit $status (want 75)"
    fi
fi

# ---- 4. a second SIGTERM aborts ----------------------------------------------------------------
S2S_TRAIN_TEST_SLOW=valid:1000 "${launch[@]}" --run-dir abort >abort.log 2>&1 &
job=$!
if wait_for abort.log "^step 200/" 60; then
    kill -TERM "$job"
    wait_for abort.log "^launch.sh: SIGTERM: asking" 5
    kill -TERM "$job"
    wait "$job"
    status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 75 ] &&
           grep -q "^launch.sh: SIGTERM again: aborting" abort.log; then
        ok "a second SIGTERM to launch.sh aborts the job (exit $status)"
    else
        cat abort.log; fail "two SIGTERMs: exit $status (want an abort, neither 0 nor 75)"
    fi
    resumed "after an abort" abort
else
    wait "$job"; cat abort.log; fail "two SIGTERMs: never reached step 200"
fi

# ---- 5, 6. the SLURM job under stand-ins -------------------------------------------------------
# The warning comes after 60% of the time the uninterrupted run took (the time limit is that
# plus --signal's 180 s), so the run needs at least one requeue and each start gets further.
limit=$(awk -v w="$whole_secs" 'BEGIN { printf "%.2f", 180 + 0.6 * w }')
slurm_job() { # slurm_job NAME LAUNCH
    local name=$1 dir=$1
    mkdir -p "$dir"
    (cd "$dir" && cp ../r.h5 . &&
         FAKE_SLURM_DIR=$PWD/slurm FAKE_SLURM_TIME_LIMIT=$limit FAKE_SLURM_NTASKS=2 \
         FAKE_SLURM_MPIEXEC=$mpiexec PATH="$repo/tests/integration/fake_slurm:$PATH" \
         S2S_ROOT=$repo S2S=$s2s LAUNCH=$2 S2S_TRAIN_TEST_SLOW=valid:200 \
         sbatch --ntasks-per-node=2 "$repo/scripts/slurm/train.sbatch" "${args[@]}" --run-dir run \
         >sbatch.out 2>&1)
    status=$?
    local log=$dir/s2s-train-1001.log
    local requeues
    requeues=$(grep -c '^requeue 1001$' "$dir/slurm/scontrol.log" 2>/dev/null)
    if [ "$status" -eq 0 ] && [ "${requeues:-0}" -ge 1 ] &&
           grep -q -- "--signal=B:USR1@180 --requeue" "$dir/slurm/sbatch.log" &&
           [ "$(grep -c '^launch.sh: stopped (75): job 1001 requeued' "$log")" -eq "$requeues" ]; then
        ok "$name: the job completed after $requeues requeue(s) on its SIGUSR1 warnings"
    else
        cat "$dir/sbatch.out" "$dir"/slurm/*.log "$log" 2>/dev/null | tail -40
        fail "$name: sbatch exit $status, $requeues requeue(s) (want 0 and at least one)"
    fi
    same_as_whole "$name" "$dir/run" "$log"
}
slurm_job "train.sbatch with mpirun" mpirun
if grep -q -- "--bind-to core" "train.sbatch with mpirun/slurm/mpirun.log"; then
    ok "train.sbatch: mpirun binds each rank to its cores"
else
    fail "train.sbatch: mpirun without core binding"
fi
slurm_job "train.sbatch with srun" srun
if grep -q -- "^--mpi=pmix --cpu-bind=cores" "train.sbatch with srun/slurm/srun.log"; then
    ok "train.sbatch: srun --mpi=pmix with core binding"
else
    fail "train.sbatch: srun without --mpi=pmix --cpu-bind=cores"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all launch checks passed"
