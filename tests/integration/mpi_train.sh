#!/usr/bin/env bash
# mpi_train.sh - distributed training as a user runs it, through mpiexec and the s2s binary:
#   1. N ranks (2, 3, 4) end with the parameters of 1 rank on the same global batches, for SGD
#      with momentum and for Adam, with clipping active, Bahdanau attention and dropout on;
#   2. a run stopped by SIGTERM (exit 75, checkpoint written) and resumed ends bit-identical to
#      the uninterrupted run; so does one killed by SIGKILL after a checkpoint; resumed on a
#      different number of ranks it matches to float tolerance;
#   3. the plateau schedule and early stopping through the training loop, on a validation split
#      whose loss stops improving: every logged learning rate follows the rule of
#      docs/training.md (x --decay-factor after --patience validations without improvement,
#      never below --min-lr, each reduction announced), --early-stop ends the run with status 0
#      and a final checkpoint, best.h5 holds the step of the lowest validation loss; a run
#      stopped by SIGTERM after a reduction and resumed ends bit-identical, with the same rates;
#   4. faults: a truncated newest checkpoint is reported and the previous one used (still
#      bit-identical at the end); a checkpoint write into a full disk (ulimit -f) stops the run
#      with one clear message and leaves the previous checkpoint usable; a read-only run
#      directory likewise, or with --ckpt-error continue trains on, naming the intact
#      checkpoint (or saying there is none), and exits 1 when no write of the run succeeded,
#      0 when a later one did (as root, whom permissions do not bind, through an unprivileged
#      user); a changed model shape is refused on resume, a changed step count is accepted and
#      logged, and that run's first checkpoint write removes the temporary file of a dead writer
#      on this host (with a note), not those of a live one, another host or the older pattern; a rank that fails (its dataset is missing)
#      ends the whole job within seconds, naming the rank.
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
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_mpi_train.XXXXXX")
ro_how= # how section 4 makes a run directory read-only: chmod, setpriv or chattr
cleanup() {
    for d in "$work/ro" "$work/ro_new"; do
        if [ -d "$d" ]; then # writable again, or rm cannot empty it
            [ "$ro_how" = chattr ] && chattr -i "$d" 2>/dev/null
            chmod 0755 "$d" 2>/dev/null
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
here=$(pwd -P)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

run() { # run NP ARGS...: s2s train on NP ranks
    local np=$1
    shift
    "$mpiexec" --oversubscribe -np "$np" "$s2s" train "$@"
}

reverse_corpus "$s2s" 5

common=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --dropout 0.2 --batch 32
        --min-sents 4 --clip 0.1 --warmup 0 --log-every 10 --valid-every 10 --samples 0 --progress plain)

# drift_tol STEPS LR [CLIP MOMENTUM]: the tolerance of a run on other ranks than another on the
# same global batches (lib.sh: its derivation for these runs, --batch 32 and 9 target positions).
# Adam, 12 steps: 4.9e-4; SGD, 12 steps: 3.8e-3; Adam, 10 steps: 4.1e-4 (observed under all of
# OpenBLAS's kernels: 3.7e-5, 7.5e-8 and 1.4e-7). A rank's share lost or counted twice moves
# the parameters by a sizeable part of D instead: 1e-1 and more.

# ---- 1. N ranks = 1 rank on the same global batches ------------------------------------------
for optim in sgd adam; do
    args=("${common[@]}" --optim "$optim" --lr 0.05 --steps 12 --ckpt-every 0)
    tol=$(drift_tol 12 0.05 0.1 0.9) # --momentum 0.9 (the default), --clip 0.1
    if [ "$optim" = adam ]; then
        args=("${common[@]}" --optim adam --lr 0.003 --steps 12 --ckpt-every 0)
        tol=$(drift_tol 12 0.003)
    fi
    run 1 "${args[@]}" --run-dir "eq_${optim}_1" > "eq_${optim}_1.log" 2>&1 ||
        { cat "eq_${optim}_1.log"; fail "$optim on 1 rank"; continue; }
    grep -q "gnorm" "eq_${optim}_1.log" || fail "no progress line"
    for np in 2 3 4; do
        if run "$np" "${args[@]}" --run-dir "eq_${optim}_$np" > "eq_${optim}_$np.log" 2>&1; then
            if "$params_diff" "eq_${optim}_1/ckpt-00000012.h5" "eq_${optim}_$np/ckpt-00000012.h5" \
                   "$tol"; then
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

# the s2s processes training into RUN_DIR from this test's directory (not another copy of this
# test running on the same machine)
ranks_of() { pgrep -f -- "--run-dir $1( |$)" | while read -r p; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = s2s ] &&
            [ "$(readlink /proc/"$p"/cwd 2>/dev/null)" = "$here" ] && echo "$p"; done; }

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
for ((i = 0; i < 6000; i++)); do [ -e kill/ckpt-00000030.h5 ] && break; sleep 0.01; done
kill -KILL $(ranks_of kill) 2>/dev/null
wait $job 2>/dev/null
run 2 "${resume_args[@]}" --run-dir kill --resume auto > kill2.log 2>&1 || { cat kill2.log; fail "resume after SIGKILL"; }
[ "$(final_hash kill2.log)" = "$want" ] && ok "SIGKILL + resume: bit-identical ($(grep -o 'resumed from [^:]*' kill2.log))" ||
    fail "SIGKILL + resume: hash $(final_hash kill2.log), uninterrupted $want"

# a different number of ranks: the same global batches, equal to float tolerance (drift_tol:
# Adam, the 10 steps from 50 to 60)
tol=$(drift_tol 10 0.003)
for np in 1 3; do
    rm -rf "other$np"; mkdir "other$np"; cp whole/ckpt-00000050.h5 "other$np/"
    run "$np" "${resume_args[@]}" --run-dir "other$np" --resume auto > "other$np.log" 2>&1 ||
        { cat "other$np.log"; fail "resume on $np ranks"; continue; }
    grep -q "different number of ranks" "other$np.log" || fail "resume on $np ranks not reported"
    "$params_diff" whole/ckpt-00000060.h5 "other$np/ckpt-00000060.h5" "$tol" &&
        ok "resumed on $np ranks: equal to the 2-rank run to tolerance" ||
        fail "resumed on $np ranks differs"
done

# ---- 3. plateau schedule and early stopping ---------------------------------------------------
# c.h5 validates on copying the source while the model learns to reverse it: the validation loss
# falls for a while (symbols, lengths), then rises for good. The exact curve depends on the BLAS,
# so the checks replay the rules of docs/training.md on what metrics.jsonl recorded.
"$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
    --valid-tgt r.valid.src --out c.h5 >/dev/null || fail "s2s prep of the copy validation"
lr0=0.01 factor=0.5 min_lr=0.003 patience=2 every=4 # rates 0.01, 0.005, then 0.003 (not 0.0025)
plateau=("${common[@]}" --data c.h5 --optim adam --lr $lr0 --lr-schedule plateau
         --patience $patience --decay-factor $factor --min-lr $min_lr --valid-every $every
         --log-every 1)
reduced="validation loss has not improved for $patience validations: learning rate x $factor"
json_awk='function num(key) { # the value of "key" in a metrics.jsonl record
    if (!match($0, "\"" key "\":[^,}]*")) return ""
    return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) }
function abs(x) { return x < 0 ? -x : x }'
# per_step METRICS TYPE KEY: "step value" of the records of TYPE, the later record of a step
# counting (a resumed run appends to the file)
per_step() {
    awk -v type="$2" -v key="$3" "$json_awk"'
        index($0, "\"type\":\"" type "\"") { v[num("step") + 0] = num(key) }
        END { for (s in v) print s, v[s] }' "$1" | sort -n
}
# The plateau rule replayed on the validation losses of METRICS in order, every train record's
# rate checked against it, and the reductions LOGS announce against it; sets red_n, red_at (their
# steps, comma-separated, or -), at_floor (plateaus that reduced nothing) and last_lr.
check_rates() { # check_rates NAME METRICS LOG...
    local name=$1 metrics=$2 wrong below unclear said
    shift 2
    read -r red_n red_at at_floor wrong below unclear last_lr < <(awk -v lr0=$lr0 -v f=$factor \
        -v min_lr=$min_lr -v pat=$patience "$json_awk"'
        BEGIN { scale = 1 }
        /"type":"train"/ {
            lr = num("lr") + 0; want = lr0 * scale; if (want < min_lr) want = min_lr
            if (abs(lr - want) > 1e-5 * want && wrong++ < 3)
                printf "  step %s: lr %s, the rule gives %.6g\n", num("step"), num("lr"),
                       want > "/dev/stderr"
            below += lr < min_lr * (1 - 1e-6); last = lr
        }
        /"type":"valid"/ {
            L = num("loss") + 0
            if (!seen++) { best = L; next } # any finite loss improves on +inf
            bar = best - 1e-4 * abs(best)
            unclear += abs(L - bar) < 1e-5 * abs(best) # 6 digits cannot tell
            if (L < bar) { best = L; bad = 0; next }
            if (++bad < pat) next
            bad = 0; s = scale * f; if (s < min_lr / lr0) s = min_lr / lr0
            if (s < scale) { scale = s; n++; at = at (n > 1 ? "," : "") num("step") } else floor++
        }
        END { print n + 0, (n ? at : "-"), floor + 0, wrong + 0, below + 0, unclear + 0, last }
        ' "$metrics")
    said=$(cat "$@" | awk -v msg="$reduced" '$0 == msg { r = 1; next }
        r && /^valid step/ { printf "%s%d", (n++ ? "," : ""), $3; r = 0 } END { if (!n) print "-" }')
    if [ "${wrong:-1}" -eq 0 ] && [ "${below:-1}" -eq 0 ] && [ "$said" = "$red_at" ]; then
        ok "$name: every rate follows the plateau rule (x $factor at steps $red_at, floor" \
           "$min_lr), each reduction announced: \"$reduced\""
    elif [ "${below:-1}" -eq 0 ] && [ "${unclear:-0}" -gt 0 ]; then
        echo "skipped: $name: rates not checked: a validation loss within rounding of the plateau threshold"
    else
        fail "$name: ${wrong:-?} rate(s) off the plateau rule, ${below:-?} below --min-lr" \
             "$min_lr; reductions announced at steps $said, the rule gives ${red_at:-?}"
    fi
}
ckpt_of() { printf '%s/ckpt-%08d.h5' "$1" "$2"; }

# early stop after 8 validations without a new best; a checkpoint at every validation, so that
# best.h5 can be compared with the one of its step
run 2 "${plateau[@]}" --early-stop 8 --steps 400 --ckpt-every $every --keep 1000 --run-dir early \
    > early.log 2>&1
status=$?
check_rates "plateau" early/metrics.jsonl early.log
# 8 validations without a new best are 8 without improvement, so >= 4 plateaus: two reductions
# (0.01 -> 0.005 -> 0.003, the floor) and at least one at the floor that reduces nothing
[ "${red_n:-0}" -ge 2 ] && [ "${at_floor:-0}" -ge 1 ] &&
    awk -v a="$last_lr" -v b=$min_lr 'BEGIN { exit a != b }' &&
    ok "plateau: $red_n reductions, then $at_floor plateau(s) at --min-lr $min_lr, not announced" ||
    fail "plateau: $red_n reductions, $at_floor at the floor, last rate $last_lr (want $min_lr)"
first=${red_at%%,*}
[[ $first =~ ^[0-9]+$ ]] && grep -q "^step *$((first + 1))/.* lr 5.00e-03 " early.log &&
    ok "plateau: the progress line after the first reduction shows lr 5.00e-03" ||
    fail "plateau: no progress line with the halved rate after step $first"
said=$(grep -o "early stop: no improvement in 8 validations (best [^)]* at step [0-9]*)" early.log)
final=$(sed -n 's/^final: step \([0-9]*\),.*/\1/p' early.log)
best=${said##* } best=${best%)}
if [ $status -eq 0 ] && [ -n "$said" ] && [ -n "$final" ] && [ "$final" -lt 400 ] &&
       [ "$final" -eq $((best + 8 * every)) ]; then
    ok "--early-stop 8: exit 0 at step $final of 400: $said"
else
    cat early.log; fail "--early-stop: exit $status, final step '$final', message '$said'"
fi
[ "$(per_step early/metrics.jsonl valid loss | grep -c .)" -eq \
  "$(grep -c '"type":"valid"' early/metrics.jsonl)" ] &&
    ok "early stop: each validation recorded once" || fail "early stop: a validation recorded twice"
if [ "$(ls early/ckpt-*.h5 | tail -1)" = "$(ckpt_of early "$final")" ] &&
       grep -q "\"type\":\"checkpoint\",\"step\":$final,.*\"ok\":true" early/metrics.jsonl &&
       grep -q "\"type\":\"final\",\"step\":$final,\"stopped\":false" early/metrics.jsonl; then
    ok "early stop: final checkpoint $(ckpt_of early "$final")"
else
    ls early; fail "early stop: no final checkpoint of step $final"
fi
lowest=$(awk "$json_awk"' /"type":"valid"/ { L = num("loss") + 0
    if (!n++ || L < min) { min = L; at = num("step") } } END { print at }' early/metrics.jsonl)
if [ "$lowest" = "$best" ] && "$params_diff" early/best.h5 "$(ckpt_of early "$best")" 0 >/dev/null &&
       ! "$params_diff" early/best.h5 "$(ckpt_of early "$final")" 0 >/dev/null; then
    ok "best.h5 = the checkpoint of step $best, the lowest validation loss in metrics.jsonl"
else
    fail "best.h5: lowest validation loss at step $lowest, reported best $best, parameters differ"
fi
if command -v h5dump >/dev/null; then
    step=$(h5dump -a /state/step early/best.h5 2>/dev/null | sed -n 's/^ *(0): \([0-9]*\)$/\1/p')
    [ "$step" = "$best" ] && ok "best.h5 says step $step" || fail "best.h5 says step '$step', want $best"
fi

# resume across a reduction: SIGTERM once a reduction is announced, resume, compare
run 2 "${plateau[@]}" --steps 400 --ckpt-every 0 --run-dir whole_p > whole_p.log 2>&1 ||
    { cat whole_p.log; fail "plateau: uninterrupted run"; }
check_rates "plateau, 400 steps" whole_p/metrics.jsonl whole_p.log
first=${red_at%%,*}
run 2 "${plateau[@]}" --steps 400 --ckpt-every 0 --run-dir term_p > term_p1.log 2>&1 &
job=$!
wait_for term_p1.log "^$reduced\$" 60 && kill -TERM $(ranks_of term_p) 2>/dev/null
wait $job
status=$?
stop=$(sed -n 's/^stop requested by a signal: checkpoint of step \([0-9]*\) written.*/\1/p' term_p1.log)
if [ $status -eq 75 ] && [ -n "$stop" ] && [ "$stop" -gt "$first" ] && [ -e "$(ckpt_of term_p "$stop")" ]; then
    ok "plateau: SIGTERM at step $stop, after the reduction at step $first: exit 75, checkpoint written"
else
    cat term_p1.log; fail "plateau: SIGTERM: exit $status (want 75), stopped at step '$stop'"
fi
run 2 "${plateau[@]}" --steps 400 --ckpt-every 0 --run-dir term_p --resume auto > term_p2.log 2>&1 ||
    { cat term_p2.log; fail "plateau: resume after SIGTERM"; }
grep -q "resumed from $(ckpt_of term_p "$stop")" term_p2.log || fail "plateau: did not resume from step $stop"
[ "$(final_hash term_p2.log)" = "$(final_hash whole_p.log)" ] &&
    ok "plateau: SIGTERM + resume: bit-identical to the uninterrupted run" ||
    fail "plateau: SIGTERM + resume: hash $(final_hash term_p2.log), uninterrupted $(final_hash whole_p.log)"
lr_next=$(per_step term_p/metrics.jsonl train lr | awk -v s=$((stop + 1)) '$1 == s { print $2 }')
if [ "$(per_step term_p/metrics.jsonl train lr)" = "$(per_step whole_p/metrics.jsonl train lr)" ] &&
       [ "$(per_step term_p/metrics.jsonl valid loss)" = "$(per_step whole_p/metrics.jsonl valid loss)" ] &&
       [ "$(grep -c . < <(per_step term_p/metrics.jsonl train lr))" -eq 400 ]; then
    ok "plateau: after resume the rates (lr $lr_next at step $((stop + 1))) and the validation" \
       "losses are the uninterrupted run's"
else
    diff <(per_step whole_p/metrics.jsonl train lr) <(per_step term_p/metrics.jsonl train lr) | head -5
    fail "plateau: the resumed run's rates or validation losses differ"
fi
[ "$(grep -c "^$reduced\$" term_p1.log term_p2.log | awk -F: '{ n += $2 } END { print n }')" -eq \
  "$(grep -c "^$reduced\$" whole_p.log)" ] && ok "plateau: the resumed run announced the same reductions" ||
    fail "plateau: the resumed run announced other reductions"

# ---- 4. faults -------------------------------------------------------------------------------
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

# read-only run directory: the checkpoint write fails with one message naming the file, the
# previous checkpoint stays byte-identical, no temporary file is left; --ckpt-error stop ends the
# run with a non-zero status, continue trains on. Permission bits do not bind root, so as root
# the runs go through an unprivileged user (setpriv to nobody) who owns the directory; if that
# user cannot run the job here (a build or temporary directory it cannot enter), an immutable
# directory (chattr +i, which binds root too) is the fault instead.
ro_as=()
ro_run() { ${ro_as[@]+"${ro_as[@]}"} "$mpiexec" --oversubscribe -np 2 "$s2s" train \
               "${resume_args[@]}" --run-dir ro "$@"; }
ro_first() { # the run that writes ro/ckpt-00000010.h5
    rm -rf ro && mkdir ro || return 1
    if [ "$ro_how" = setpriv ]; then chown 65534:65534 ro || return 1; fi
    ro_run --steps 10 > ro0.log 2>&1 && [ -e ro/ckpt-00000010.h5 ]
}
ro_lock() { if [ "$ro_how" = chattr ]; then chattr +i "${1:-ro}"; else chmod 0555 "${1:-ro}"; fi; }
ro_unlock() { if [ "$ro_how" = chattr ]; then chattr -i "${1:-ro}"; else chmod 0755 "${1:-ro}"; fi; }
ro_skip=
if [ "$(id -u)" -ne 0 ]; then
    ro_how=chmod
    ro_first || { cat ro0.log; fail "read-only: the first run"; }
else
    if command -v setpriv >/dev/null && chmod a+rx . && chmod a+r r.h5; then
        ro_how=setpriv ro_as=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
        if ! ro_first; then
            echo "note: the job does not run as nobody here, trying chattr +i: $(grep -m1 . ro0.log)"
            ro_how= ro_as=()
        fi
    fi
    if [ -z "$ro_how" ]; then
        rm -rf ro_probe && mkdir ro_probe
        if chattr +i ro_probe 2>/dev/null; then
            touch ro_probe/x 2>/dev/null || ro_how=chattr
            chattr -i ro_probe
        fi
        rm -rf ro_probe
        if [ "$ro_how" = chattr ]; then
            ro_first || { cat ro0.log; fail "read-only: the first run"; }
        else
            ro_skip="as root: no setpriv to an unprivileged user that can run the job, and no"
            ro_skip+=" chattr +i on this file system"
        fi
    fi
fi
if [ -n "$ro_skip" ]; then
    echo "skipped: read-only run directory: $ro_skip"
elif [ -e ro/ckpt-00000010.h5 ]; then
    cp ro/ckpt-00000010.h5 ro-before.h5
    ro_lock
    msg="ro/ckpt-00000020.h5: cannot create a temporary file in its directory"
    kept="the previous checkpoint ro/ckpt-00000010.h5 is intact"
    none="train: no checkpoint was written to ro during this run: every write failed"
    ro_run --steps 30 --resume auto --ckpt-error stop > ro_stop.log 2>&1
    status=$?
    if [ $status -ne 0 ] && [ "$(grep -c "$msg" ro_stop.log)" -eq 1 ] &&
           grep -q "rank 0 of 2: $msg" ro_stop.log && ! grep -q "^final:" ro_stop.log; then
        ok "read-only run directory ($ro_how): exit $status: $(grep -o "rank 0 of 2: $msg.*" ro_stop.log)"
    else
        cat ro_stop.log; fail "read-only run directory ($ro_how), --ckpt-error stop: exit $status"
    fi
    ro_run --steps 30 --resume auto --ckpt-error continue > ro_continue.log 2>&1
    status=$?
    # Every write of the run failed (steps 20 and 30): it trains to the end, then exits 1 with
    # an error line that says so (stderr: mpiexec does not keep its order with stdout's final:).
    if [ $status -eq 1 ] && [ "$(grep -c "$msg" ro_continue.log)" -eq 1 ] &&
           grep -q "^checkpoint at step 20 FAILED, training goes on ($kept): $msg" ro_continue.log &&
           grep -q "^final: step 30," ro_continue.log &&
           grep -q "^s2s train: rank 0 of 2: $none (--ckpt-error continue); the newest one is still ro/ckpt-00000010.h5\$" ro_continue.log; then
        ok "read-only run directory, --ckpt-error continue: trains on to step 30, then exit 1: $none"
    else
        cat ro_continue.log; fail "read-only run directory ($ro_how), --ckpt-error continue: exit $status"
    fi
    leftover=$(ls -A ro | grep -v -x -E 'ckpt-00000010\.h5|best\.h5|metrics\.jsonl')
    cmp -s ro-before.h5 ro/ckpt-00000010.h5 && [ -z "$leftover" ] &&
        ok "read-only run directory: the previous checkpoint byte-identical, no file left behind" ||
        fail "read-only run directory: checkpoint changed or files left behind: $leftover"
    ro_unlock
    # A run with no checkpoint before it says so when a write fails (the metrics file exists,
    # the directory admits no new file).
    rm -rf ro_new && mkdir ro_new && : > ro_new/metrics.jsonl
    if [ "$ro_how" = setpriv ]; then chown -R 65534:65534 ro_new; fi
    ro_lock ro_new
    ro_run --steps 10 --ckpt-error continue --run-dir ro_new > ro_new.log 2>&1
    status=$?
    ro_unlock ro_new
    if [ $status -eq 1 ] &&
           grep -q "^checkpoint at step 10 FAILED, training goes on (there is no previous checkpoint): ro_new/ckpt-00000010.h5: cannot create" ro_new.log &&
           grep -q "^s2s train: rank 0 of 2: train: no checkpoint was written to ro_new during this run: every write failed (--ckpt-error continue)\$" ro_new.log &&
           [ -z "$(ls -A ro_new | grep -v -x metrics.jsonl)" ]; then
        ok "read-only run directory, no earlier checkpoint: says so, exit 1"
    else
        cat ro_new.log; fail "read-only run directory, no earlier checkpoint: exit $status"
    fi
fi

# --ckpt-error continue where one write fails (its name is taken by a directory, so the rename
# fails) and a later one succeeds: the run says there was no previous checkpoint and exits 0.
rm -rf part && mkdir -p part/ckpt-00000010.h5
run 2 "${resume_args[@]}" --steps 20 --ckpt-error continue --run-dir part > part.log 2>&1
status=$?
if [ $status -eq 0 ] && [ -f part/ckpt-00000020.h5 ] &&
       grep -q "^checkpoint at step 10 FAILED, training goes on (there is no previous checkpoint): part/ckpt-00000010.h5: cannot rename" part.log &&
       ! grep -q "no checkpoint was written" part.log && grep -q "^final: step 20," part.log; then
    ok "--ckpt-error continue, a later write succeeds: exit 0"
else
    cat part.log; fail "--ckpt-error continue, a later write succeeds: exit $status"
fi

# resume with another model shape is refused; another step count is accepted and logged
run 1 "${resume_args[@]}" --hidden 48 --run-dir whole --resume auto > shape.log 2>&1 &&
    fail "resume with another --hidden was not refused"
grep -q "hidden 32, this run asks for --hidden 48" shape.log && ok "changed model shape refused: $(grep -m1 -o 'resume:.*' shape.log | cut -c1-100)" ||
    { cat shape.log; fail "no clear message for a changed shape"; }
# ... and the temporary files of writers killed before: one of a dead pid of this host (the
# host key read from the failed rename's message above) is removed with a note, one of a live
# process, one of another host and one of the older pid-only pattern stay.
key=$(sed -n 's/.*ckpt-00000010\.h5\.tmp\.\([0-9a-f]\{12\}\)\.[0-9]*\.[0-9]* into place.*/\1/p' part.log | head -1)
sh -c 'exit 0' & dead=$!
wait $dead
sleep 300 & live=$!
other=000000000000
[ "$key" = $other ] && other=000000000001
stale="ckpt-00000055.h5.tmp.$key.$dead.1"
keep=("ckpt-00000055.h5.tmp.$key.$live.1" "ckpt-00000055.h5.tmp.$other.$dead.1"
      "ckpt-00000055.h5.tmp.$dead.1")
for f in "$stale" "${keep[@]}"; do : > "whole/$f"; done
run 1 "${resume_args[@]}" --steps 62 --run-dir whole --resume auto > steps.log 2>&1 &&
    grep -q "steps changed from 60 to 62" steps.log && ok "changed --steps accepted and logged" ||
    { cat steps.log; fail "changed --steps"; }
kill $live 2>/dev/null
wait $live 2>/dev/null
kept=0
for f in "${keep[@]}"; do [ -e "whole/$f" ] && kept=$((kept + 1)); done
if [ -n "$key" ] && [ ! -e "whole/$stale" ] && [ $kept -eq 3 ] &&
       grep -q "^s2s: note: removed whole/$stale, the temporary file of a writer that died (pid $dead on this host)\$" steps.log; then
    ok "a dead writer's temporary file removed with a note, 3 others kept"
else
    cat steps.log; ls whole; fail "stale temporary files: key '$key', $kept of 3 kept"
fi
rm -f "${keep[@]/#/whole/}"

# one rank fails (its dataset is missing): the whole job ends promptly with a message
SECONDS=0
"$mpiexec" --oversubscribe -np 1 "$s2s" train "${common[@]}" --steps 5 --no-save : \
    -np 1 "$s2s" train "${common[@]}" --steps 5 --no-save --data missing.h5 > peer.log 2>&1
status=$?
if [ $status -ne 0 ] && [ $SECONDS -lt 30 ] && grep -q "rank 1 of 2: .*missing.h5" peer.log; then
    ok "a failing rank ends the job in ${SECONDS}s: $(grep -m1 -o 'rank 1 of 2: .*' peer.log | cut -c1-100)"
else
    cat peer.log; fail "failing rank: exit $status after ${SECONDS}s"
fi

echo "mpi_train: $failures failure(s)"
[ $failures -eq 0 ]
