#!/usr/bin/env bash
# mpi_train.sh - distributed training as a user runs it, through mpiexec and the s2s binary:
#   1. N ranks (2, 3, 4) end with the parameters of 1 rank on the same global batches, for SGD
#      with momentum and for Adam, with clipping active, Bahdanau attention and dropout on;
#   2. a run stopped by SIGTERM (exit 75, checkpoint written) and resumed ends bit-identical to
#      the uninterrupted run; so does one killed by SIGKILL after a checkpoint; resumed on a
#      different number of ranks it matches to float tolerance;
#   3. faults: a truncated newest checkpoint is reported and the previous one used (still
#      bit-identical at the end); a checkpoint write into a full disk (ulimit -f) stops the run
#      with one clear message and leaves the previous checkpoint usable; a read-only run
#      directory likewise (as a normal user only: root ignores permissions); a changed model
#      shape is refused on resume, a changed step count is accepted and logged; a rank that
#      fails (its dataset is missing) ends the whole job within seconds, naming the rank.
# A failed check exits 1.
#
#   mpi_train.sh S2S_BINARY PARAMS_DIFF MPIEXEC
set -u
if [ $# -ne 3 ]; then
    echo "usage: mpi_train.sh S2S_BINARY PARAMS_DIFF MPIEXEC" >&2
    exit 2
fi
s2s=$1 params_diff=$2 mpiexec=$3
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_mpi_train.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

run() { # run NP ARGS...: s2s train on NP ranks
    local np=$1
    shift
    "$mpiexec" --oversubscribe -np "$np" "$s2s" train "$@"
}
final_hash() { sed -n 's/.*parameters hash \([0-9a-f]*\).*/\1/p' "$1" | tail -1; }

"$s2s" gen reverse --symbols 12 --min-len 3 --max-len 8 --train 2000 --valid 64 --test 0 \
    --seed 5 --out r >/dev/null || { echo "FAIL: s2s gen"; exit 1; }
"$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
    --valid-tgt r.valid.tgt --out r.h5 >/dev/null || { echo "FAIL: s2s prep"; exit 1; }

common=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --dropout 0.2 --batch 32
        --min-sents 4 --clip 0.1 --log-every 10 --valid-every 10 --samples 0 --progress plain)

# ---- 1. N ranks = 1 rank on the same global batches ------------------------------------------
for optim in sgd adam; do
    args=("${common[@]}" --optim "$optim" --lr 0.05 --steps 12 --ckpt-every 0)
    [ "$optim" = adam ] && args=("${common[@]}" --optim adam --lr 0.003 --steps 12 --ckpt-every 0)
    run 1 "${args[@]}" --run-dir "eq_${optim}_1" > "eq_${optim}_1.log" 2>&1 ||
        { cat "eq_${optim}_1.log"; fail "$optim on 1 rank"; continue; }
    grep -q "gnorm" "eq_${optim}_1.log" || fail "no progress line"
    for np in 2 3 4; do
        if run "$np" "${args[@]}" --run-dir "eq_${optim}_$np" > "eq_${optim}_$np.log" 2>&1; then
            if "$params_diff" "eq_${optim}_1/ckpt-00000012.h5" "eq_${optim}_$np/ckpt-00000012.h5" \
                   2e-4; then
                ok "$optim: $np ranks end with the parameters of 1 rank"
            else
                fail "$optim: $np ranks differ from 1 rank"
            fi
        else
            cat "eq_${optim}_$np.log"; fail "$optim on $np ranks"
        fi
    done
done
# The clipping was active (the global norm above --clip 0.1): the check above covered it.
awk '/gnorm/ { for (i = 1; i < NF; i++) if ($i == "gnorm" && $(i + 1) + 0 > 0.1) found = 1 }
     END { exit !found }' eq_adam_1.log && ok "clipping was active" || fail "clipping never active"

# ---- 2. stop and resume --------------------------------------------------------------------
resume_args=("${common[@]}" --optim adam --lr 0.003 --steps 60 --ckpt-every 10 --keep 10)
run 2 "${resume_args[@]}" --run-dir whole > whole.log 2>&1 || { cat whole.log; fail "uninterrupted run"; }
want=$(final_hash whole.log)
[ -n "$want" ] || fail "no parameters hash in the uninterrupted run's output"

wait_for() { # wait_for FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
ranks_of() { pgrep -f -- "--run-dir $1( |$)" | while read -r p; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = s2s ] && echo "$p"; done; }

# SIGTERM to every rank (what a scheduler does before the time limit)
run 2 "${resume_args[@]}" --run-dir term --log-every 1 > term1.log 2>&1 &
job=$!
if wait_for term1.log "^step *2[0-9]/" 60; then
    kill -TERM $(ranks_of term) 2>/dev/null
fi
wait $job
status=$?
if [ $status -eq 75 ] && grep -q "stop requested" term1.log; then
    ok "SIGTERM: exit 75 after a checkpoint ($(ls term | grep -c ckpt-) kept)"
else
    cat term1.log; fail "SIGTERM: exit status $status (want 75)"
fi
run 2 "${resume_args[@]}" --run-dir term --resume auto > term2.log 2>&1 || { cat term2.log; fail "resume after SIGTERM"; }
grep -q "resumed from" term2.log || fail "resume after SIGTERM did not say where it resumed"
[ "$(final_hash term2.log)" = "$want" ] && ok "SIGTERM + resume: bit-identical to the uninterrupted run" ||
    fail "SIGTERM + resume: hash $(final_hash term2.log), uninterrupted $want"

# SIGKILL after a checkpoint: no chance to write anything more
run 2 "${resume_args[@]}" --run-dir kill > kill1.log 2>&1 &
job=$!
for ((i = 0; i < 600; i++)); do [ -e kill/ckpt-00000030.h5 ] && break; sleep 0.1; done
kill -KILL $(ranks_of kill) 2>/dev/null
wait $job 2>/dev/null
run 2 "${resume_args[@]}" --run-dir kill --resume auto > kill2.log 2>&1 || { cat kill2.log; fail "resume after SIGKILL"; }
[ "$(final_hash kill2.log)" = "$want" ] && ok "SIGKILL + resume: bit-identical ($(grep -o 'resumed from [^:]*' kill2.log))" ||
    fail "SIGKILL + resume: hash $(final_hash kill2.log), uninterrupted $want"

# a different number of ranks: the same global batches, equal to float tolerance
for np in 1 3; do
    rm -rf "other$np"; mkdir "other$np"; cp whole/ckpt-00000050.h5 "other$np/"
    run "$np" "${resume_args[@]}" --run-dir "other$np" --resume auto > "other$np.log" 2>&1 ||
        { cat "other$np.log"; fail "resume on $np ranks"; continue; }
    grep -q "different number of ranks" "other$np.log" || fail "resume on $np ranks not reported"
    "$params_diff" whole/ckpt-00000060.h5 "other$np/ckpt-00000060.h5" 2e-4 &&
        ok "resumed on $np ranks: equal to the 2-rank run to tolerance" ||
        fail "resumed on $np ranks differs"
done

# ---- 3. faults -------------------------------------------------------------------------------
# truncated newest checkpoint: reported, the previous one used, still bit-identical at the end
rm -rf trunc; mkdir trunc
cp whole/ckpt-00000030.h5 whole/ckpt-00000040.h5 trunc/
size=$(stat -c %s trunc/ckpt-00000040.h5)
truncate -s $((size / 2)) trunc/ckpt-00000040.h5
run 2 "${resume_args[@]}" --run-dir trunc --resume auto > trunc.log 2>&1 || { cat trunc.log; fail "resume past a truncated checkpoint"; }
grep -q "skipping checkpoint .*ckpt-00000040.h5" trunc.log && grep -q "resumed from .*ckpt-00000030.h5" trunc.log &&
    ok "truncated newest checkpoint reported, the previous one used" || { cat trunc.log; fail "truncated checkpoint not handled"; }
[ "$(final_hash trunc.log)" = "$want" ] && ok "... and the run still ends bit-identical" || fail "resume from the older checkpoint differs"

# full disk: once rank 0 trains, its file size limit drops below a checkpoint's size (prlimit:
# the limit binds the writer alone, not Open MPI's shared-memory files); the next checkpoint
# write fails, the run stops with a message naming the file, no temporary file is left, and the
# checkpoints before stay usable
rm -rf full; mkdir full
full_args=("${common[@]}" --optim adam --lr 0.003 --steps 5000 --ckpt-every 10 --keep 10
           --log-every 1 --run-dir full)
run 2 "${full_args[@]}" > full1.log 2>&1 &
job=$!
rank0=
if wait_for full1.log "^step *1[5-9]/" 60; then
    for p in $(ranks_of full); do # rank 0: mpiexec tells each process its rank in its environment
        tr '\0' '\n' < /proc/"$p"/environ | grep -qx OMPI_COMM_WORLD_RANK=0 && rank0=$p
    done
    limit=$(($(stat -c %s full/ckpt-00000010.h5) / 2))
    before=$(md5sum < full/ckpt-00000010.h5)
    prlimit --pid "$rank0" --fsize="$limit"
fi
wait $job
status=$?
if [ -n "$rank0" ] && [ $status -ne 0 ] && grep -q "File too large" full1.log; then
    ok "disk full: exit $status: $(grep -m1 -o 'rank 0 of 2: .*' full1.log | cut -c1-120)"
else
    cat full1.log; fail "disk full: exit $status"
fi
[ "$(md5sum < full/ckpt-00000010.h5)" = "$before" ] && ok "disk full: previous checkpoint untouched" || fail "disk full damaged the previous checkpoint"
leftover=$(ls full | grep -v -E '^(ckpt-0000[0-9]*\.h5|best\.h5|metrics\.jsonl)$')
[ -z "$leftover" ] || fail "disk full left files behind: $leftover"
last=$(ls full/ckpt-*.h5 | tail -1)
run 2 "${full_args[@]}" --steps $((10#$(basename "$last" .h5 | cut -c6-) + 3)) --resume auto > full2.log 2>&1 &&
    grep -q "resumed from $last" full2.log && ok "disk full: the run resumes from $last" ||
    { cat full2.log; fail "disk full: resume afterwards failed"; }

# read-only run directory (permissions bind a normal user only)
if [ "$(id -u)" -ne 0 ]; then
    rm -rf ro; mkdir ro
    run 2 "${resume_args[@]}" --steps 10 --run-dir ro > ro0.log 2>&1
    chmod 0555 ro
    run 2 "${resume_args[@]}" --steps 20 --run-dir ro --resume auto > ro1.log 2>&1 &&
        fail "read-only run directory: the run did not fail" || ok "read-only run directory: the run stops"
    chmod 0755 ro
    [ -e ro/ckpt-00000010.h5 ] && ok "read-only: previous checkpoint kept" || fail "read-only: checkpoint gone"
else
    echo "skipped: read-only directory (root ignores permissions; the full-disk case covers it)"
fi

# resume with another model shape is refused; another step count is accepted and logged
run 1 "${resume_args[@]}" --hidden 48 --run-dir whole --resume auto > shape.log 2>&1 &&
    fail "resume with another --hidden was not refused"
grep -q "hidden 32, this run asks for --hidden 48" shape.log && ok "changed model shape refused: $(grep -m1 -o 'resume:.*' shape.log | cut -c1-100)" ||
    { cat shape.log; fail "no clear message for a changed shape"; }
run 1 "${resume_args[@]}" --steps 62 --run-dir whole --resume auto > steps.log 2>&1 &&
    grep -q "steps changed from 60 to 62" steps.log && ok "changed --steps accepted and logged" ||
    { cat steps.log; fail "changed --steps"; }

# one rank fails (its dataset is missing): the whole job ends promptly with a message
SECONDS=0
"$mpiexec" --oversubscribe -np 1 "$s2s" train "${common[@]}" --steps 5 : \
    -np 1 "$s2s" train "${common[@]}" --steps 5 --data missing.h5 > peer.log 2>&1
status=$?
if [ $status -ne 0 ] && [ $SECONDS -lt 30 ] && grep -q "rank 1 of 2: .*missing.h5" peer.log; then
    ok "a failing rank ends the job in ${SECONDS}s: $(grep -m1 -o 'rank 1 of 2: .*' peer.log | cut -c1-100)"
else
    cat peer.log; fail "failing rank: exit $status after ${SECONDS}s"
fi

echo "mpi_train: $failures failure(s)"
[ $failures -eq 0 ]
