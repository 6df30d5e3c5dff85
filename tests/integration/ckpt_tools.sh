#!/usr/bin/env bash
# ckpt_tools.sh - the checkpoint tools through the s2s binary (issue 17), on a tiny model (each
# run well under a second):
#   1. parameters-only best.h5: smaller than the checkpoint of its step, without /optim, the
#      same translations as that checkpoint, refused by --resume with a clear message;
#   2. s2s average: k copies of a checkpoint average to it bit for bit; two checkpoints to
#      their element-wise mean (computed with h5py, when there is one); the order of the inputs
#      does not change a bit; --run-dir --last N averages the newest N; checkpoints of another
#      model size or vocabulary are refused in one line naming the file and what differs; the
#      averaged file translates, evaluates and says what it is in s2s info;
#   3. --init-from: a tensor of another shape refused naming the tensor and both shapes, other
#      vocabularies refused; --reset-optimizer gives zero moments and optimizer step 0,
#      --reset-schedule step 0, without them both continue the file's; a parameters-only file
#      implies both; a run started with --init-from, stopped by SIGTERM and run again with the
#      same command line resumes from its own checkpoint (--init-from not applied again) and
#      ends bit-identical to the uninterrupted run;
#   4. --ema: stopped and resumed on 1 and on 2 ranks, parameters and EMA weights bit-identical
#      to the uninterrupted run's; a 2-rank run's checkpoint resumed on 1 rank, within the
#      tolerance of another rank count; the EMA weights differ from the parameters, best.h5
#      holds them, validation and decoding use them (a run with --steps 0 from the exported
#      EMA weights validates to the EMA run's final figure exactly, from the raw ones not); a
#      changed --ema refused on resume.
# A failed check exits 1.
#
#   ckpt_tools.sh S2S_BINARY PARAMS_DIFF MPIEXEC
set -u
if [ $# -ne 3 ]; then
    echo "usage: ckpt_tools.sh S2S_BINARY PARAMS_DIFF MPIEXEC" >&2
    exit 2
fi
s2s=$1 params_diff=$2 mpiexec=$3
# train, translate and eval start MPI even on one rank; under AddressSanitizer (scripts/test.sh)
# Open MPI's own allocations left at exit would be reported as leaks, so leak checking is off
# for them (as in decode.sh) and stays on for s2s average and s2s info, which do not start MPI.
no_leaks="${ASAN_OPTIONS:-}:detect_leaks=0"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_begin ckpt_tools
here=$(pwd -P) # the scratch directory, physical: ranks are found by their cwd
python=
for p in /usr/bin/python3 python3; do
    if "$p" -c "import h5py, numpy" 2>/dev/null; then
        python=$p
        break
    fi
done
same() { # same A B [GROUP_A [GROUP_B]]: bit-identical tensors (default /params)
    local a=$1 b=$2
    shift 2
    "$params_diff" "$a" "$b" 0 "$@" > /dev/null
}
ckpt() { printf '%s/ckpt-%08d.h5' "$1" "$2"; }
size_of() { stat -c %s "$1"; }
# one error line (besides OpenBLAS's restart note): the last line of LOG, starting "s2s "
one_error() { drop_kernel_note "$1"; [ "$(grep -c '^s2s ' "$1")" -eq 1 ] && tail -1 "$1" | grep -q -- "$2"; }
# the s2s processes training into RUN_DIR from this test's directory
ranks_of() { pgrep -f -- "--run-dir $1( |$)" | while read -r p; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = s2s ] &&
            [ "$(readlink /proc/"$p"/cwd 2>/dev/null)" = "$here" ] && echo "$p"; done; }
final_valid() { sed -n 's/.*"type":"final".*"valid_loss":\([^,]*\),.*/\1/p' "$1/metrics.jsonl" | tail -1; }

reverse_corpus "$s2s" 5
mkdir other && (cd other && reverse_corpus "$s2s" 6) # the same symbols in another frequency order
args=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --batch 32 --min-sents 4
      --log-every 10 --valid-every 20 --samples 0 --progress plain --optim adam --lr 0.01
      --steps 60 --ckpt-every 10 --keep 10)
mpi() { ASAN_OPTIONS=$no_leaks "$@"; } # mpi CMD...: a command that starts MPI
train() { mpi "$s2s" train "${args[@]}" "$@"; }
mpi2() { mpi "$mpiexec" --oversubscribe -np 2 "$s2s" train "${args[@]}" "$@"; }
# train_stopped DIR LOG PATTERN ARGS...: s2s train in the background, SIGTERM to its ranks once
# LOG holds PATTERN (the test hook holds each checkpoint write for 0.3 s: the callers write few),
# the exit status in $status
train_stopped() {
    local dir=$1 log=$2 pattern=$3
    shift 3
    S2S_TRAIN_TEST_SLOW=ckpt:300 "$@" --run-dir "$dir" > "$log" 2>&1 &
    local job=$!
    wait_for "$log" "$pattern" 60 && kill -TERM $(ranks_of "$dir") 2>/dev/null
    wait $job
    status=$?
}

# ---- 1. parameters-only best.h5 ----------------------------------------------------------------
train --run-dir base > base.log 2>&1 || { cat base.log; echo "FAIL: the base run"; exit 1; }
state_step() { "$s2s" info --json "$1" | sed -n 's/.*"state":{[^}]*"step":\([0-9]*\).*/\1/p'; }
best=$(state_step base/best.h5)
full=$(ckpt base "$best")
if [ -n "$best" ] && [ -f "$full" ] && [ "$(size_of base/best.h5)" -lt "$(size_of "$full")" ] &&
       ! h5ls base/best.h5 2>/dev/null | grep -q "^optim" && h5ls "$full" | grep -q "^optim" &&
       same base/best.h5 "$full"; then
    ok "best.h5 (step $best): $(size_of base/best.h5) bytes without /optim, its checkpoint" \
       "$(size_of "$full") bytes; the same parameters"
else
    ls -l base; fail "best.h5 of step '$best': not smaller, /optim present, or other parameters"
fi
mpi "$s2s" translate --checkpoint base/best.h5 --input r.valid.src --output best.out 2>/dev/null &&
    mpi "$s2s" translate --checkpoint "$full" --input r.valid.src --output full.out 2>/dev/null &&
    [ "$(wc -l < best.out)" -eq 64 ] && cmp -s best.out full.out &&
    ok "best.h5 translates the 64 validation sentences as the checkpoint of its step" ||
    fail "best.h5 and $full translate differently"
mkdir rb && cp base/best.h5 rb/
if train --run-dir rb --resume rb/best.h5 > rb.log 2>&1; then
    fail "--resume of a parameters-only file accepted"
else
    one_error rb.log "parameters-only model file" &&
        ok "--resume best.h5 refused: $(tail -1 rb.log | cut -c1-110)..." ||
        { cat rb.log; fail "--resume best.h5: unclear refusal"; }
fi

# ---- 2. s2s average ----------------------------------------------------------------------------
for k in 1 2 3; do cp "$(ckpt base 60)" "copy$k.h5"; done
"$s2s" average copy1.h5 copy2.h5 copy3.h5 --out avg_copies.h5 > avg.log 2>&1 &&
    same avg_copies.h5 "$(ckpt base 60)" &&
    ok "the average of 3 copies of a checkpoint is that checkpoint, bit for bit" ||
    { cat avg.log; fail "average of 3 copies differs from the checkpoint"; }
"$s2s" average "$(ckpt base 50)" "$(ckpt base 60)" --out avg2.h5 > avg.log 2>&1 ||
    { cat avg.log; fail "average of two checkpoints"; }
if [ -n "$python" ]; then
    "$python" - "$(ckpt base 50)" "$(ckpt base 60)" avg2.h5 <<'EOF_PY' &&
import sys, h5py, numpy as np
a, b, avg = (h5py.File(p, "r") for p in sys.argv[1:])
assert avg.attrs["kind"] == "params" and "optim" not in avg, "not a parameters-only file"
for name in a["params"]:
    want = ((a["params"][name][()].astype(np.float64) + b["params"][name][()]) / 2).astype(np.float32)
    got = avg["params"][name][()]
    assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), want.view(np.uint32)), name
print(len(a["params"]), "tensors")
EOF_PY
        ok "the average of two checkpoints is their element-wise mean (numpy, float64 rounded to float32)" ||
        fail "the average of two checkpoints is not their element-wise mean"
else
    echo "skipped: the element-wise mean checked with h5py (no python3 with h5py and numpy)"
fi
"$s2s" average "$(ckpt base 40)" "$(ckpt base 60)" "$(ckpt base 50)" --out avg_a.h5 > /dev/null 2>&1 &&
    "$s2s" average "$(ckpt base 60)" "$(ckpt base 50)" "$(ckpt base 40)" --out avg_b.h5 > /dev/null 2>&1 &&
    "$s2s" average --run-dir base --last 3 --out avg_c.h5 > /dev/null 2>&1 &&
    same avg_a.h5 avg_b.h5 && same avg_a.h5 avg_c.h5 && ! same avg_a.h5 avg2.h5 &&
    ok "3 checkpoints in two orders and --run-dir --last 3: the same bits" ||
    fail "the average depends on the order of its inputs, or --last 3 took others"
# refusals: another model size, another vocabulary, weights an input has not (the inputs of
# one step sort by their checksums: the message names the second)
train --run-dir wide --hidden 48 --steps 10 > wide.log 2>&1 || { cat wide.log; fail "the wider run"; }
train --run-dir voc --data other/r.h5 --steps 10 > voc.log 2>&1 || { cat voc.log; fail "the other vocabulary's run"; }
"$s2s" average "$(ckpt base 10)" "$(ckpt wide 10)" --out x.h5 > wide_avg.log 2>&1
[ $? -ne 0 ] && one_error wide_avg.log "ckpt-00000010.h5: /config hidden is [0-9]*, but [0-9]* in" && [ ! -e x.h5 ] &&
    ok "another hidden size refused: $(tail -1 wide_avg.log)" ||
    { cat wide_avg.log; fail "average of two model sizes: not refused in one clear line"; }
"$s2s" average "$(ckpt base 10)" "$(ckpt voc 10)" --out x.h5 > voc_avg.log 2>&1
[ $? -ne 0 ] && one_error voc_avg.log "ckpt-00000010.h5: source vocabulary differs from .*'s at id [0-9]* ('[a-z]*' vs '[a-z]*'): averaged checkpoints need" && [ ! -e x.h5 ] &&
    ok "another vocabulary refused: $(tail -1 voc_avg.log)" ||
    { cat voc_avg.log; fail "average of two vocabularies: not refused in one clear line"; }
"$s2s" average "$(ckpt base 10)" --weights ema --out x.h5 > ema_avg.log 2>&1
[ $? -ne 0 ] && one_error ema_avg.log "has no EMA weights" ||
    { cat ema_avg.log; fail "--weights ema of a checkpoint without EMA accepted"; }
"$s2s" average "$(ckpt base 10)" --out "$(ckpt base 10)" > self_avg.log 2>&1
[ $? -ne 0 ] && one_error self_avg.log "is the input" ||
    { cat self_avg.log; fail "--out naming an input accepted"; }
# the averaged file is a model: translate, eval, info
mpi "$s2s" translate --checkpoint avg_c.h5 --input r.valid.src --output avg.out 2>/dev/null &&
    [ "$(wc -l < avg.out)" -eq 64 ] &&
    mpi "$s2s" eval --checkpoint avg_c.h5 --data r.h5 --split valid --beam 1 > avg_eval.log 2>&1 &&
    "$s2s" info avg_c.h5 | grep -q "optimizer state *none: a parameters-only file, average of 3 checkpoints (steps 40, 50, 60; parameters)" &&
    ok "the averaged file translates, evaluates ($(tail -1 avg_eval.log | cut -c1-60)...) and says what it is" ||
    { cat avg_eval.log; "$s2s" info avg_c.h5; fail "the averaged file as a model"; }

# ---- 3. --init-from ----------------------------------------------------------------------------
src=$(ckpt base 30)
train --run-dir shape --hidden 48 --init-from "$src" > shape.log 2>&1
[ $? -ne 0 ] && one_error shape.log "init-from: $src: tensor '[^']*' has shape \[[0-9, ]*\] in the file, but the model expects \[[0-9, ]*\]" &&
    ok "another shape refused: $(tail -1 shape.log | cut -c1-140)..." ||
    { cat shape.log; fail "--init-from with another shape: not refused naming the tensor and both shapes"; }
train --run-dir vocab --data other/r.h5 --init-from "$src" > vocab.log 2>&1
[ $? -ne 0 ] && one_error vocab.log "init-from: vocabulary mismatch: source token" &&
    ok "other vocabularies refused: $(tail -1 vocab.log | cut -c1-120)..." ||
    { cat vocab.log; fail "--init-from with other vocabularies: not refused clearly"; }
# the resets, each on its own: /optim step and /state step after the new run's 1 or 0 steps
step_of() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): \([0-9]*\)$/\1/p'; }
train --run-dir zero --steps 0 > zero.log 2>&1 || { cat zero.log; fail "a run of 0 steps"; }
train --run-dir r0 --steps 0 --init-from "$src" --reset-optimizer --reset-schedule > r0.log 2>&1 &&
    same "$(ckpt r0 0)" "$src" && same "$(ckpt r0 0)" "$(ckpt zero 0)" optim/exp_avg &&
    same "$(ckpt r0 0)" "$(ckpt zero 0)" optim/exp_avg_sq && [ "$(step_of "$(ckpt r0 0)" /optim/step)" = 0 ] &&
    ok "--reset-optimizer --reset-schedule: the file's parameters, zero moments, optimizer and run at step 0" ||
    { cat r0.log; fail "--reset-optimizer --reset-schedule: not the file's parameters with fresh moments at step 0"; }
train --run-dir keep --steps 31 --init-from "$src" > keep.log 2>&1 &&
    [ "$(step_of "$(ckpt keep 31)" /optim/step)" = 31 ] && [ "$(step_of "$(ckpt keep 31)" /state/step)" = 31 ] &&
    grep -q "its optimizer moments (30 updates), continuing its step count at step 30" keep.log &&
    ok "without resets: the moments and the step count go on (step 31, update 31)" ||
    { cat keep.log; fail "--init-from without resets: not continued from step 30"; }
train --run-dir ro --steps 31 --init-from "$src" --reset-optimizer > ro.log 2>&1 &&
    [ "$(step_of "$(ckpt ro 31)" /optim/step)" = 1 ] &&
    train --run-dir rs --steps 1 --init-from "$src" --reset-schedule > rs.log 2>&1 &&
    [ "$(step_of "$(ckpt rs 1)" /optim/step)" = 31 ] && [ "$(step_of "$(ckpt rs 1)" /state/step)" = 1 ] &&
    ok "--reset-optimizer alone: update 1 at step 31; --reset-schedule alone: update 31 at step 1" ||
    { cat ro.log rs.log; fail "the resets, each on its own"; }
train --run-dir fromp --steps 1 --init-from base/best.h5 > fromp.log 2>&1 &&
    grep -q "is a parameters-only file: .*(--reset-optimizer and --reset-schedule implied)" fromp.log &&
    [ "$(step_of "$(ckpt fromp 1)" /optim/step)" = 1 ] &&
    ok "a parameters-only file implies both resets, and says so" ||
    { cat fromp.log; fail "--init-from best.h5"; }
# a requeued job: the same command line after a stop resumes; --init-from is not applied again
ft=(--init-from "$src" --reset-schedule --steps 40 --resume auto)
train "${ft[@]}" --run-dir ftA > ftA.log 2>&1 || { cat ftA.log; fail "the uninterrupted fine-tuning run"; }
train_stopped ftB ftB1.log "checkpoint of step 20: before writing" train "${ft[@]}" --ckpt-every 20
train "${ft[@]}" --run-dir ftB > ftB2.log 2>&1 || { cat ftB2.log; fail "the fine-tuning run, again"; }
[ $status -eq 75 ] && grep -q "^init-from: a new run from" ftB1.log &&
    grep -q "resumed from ftB/ckpt-00000020.h5" ftB2.log && grep -q "applied to its start only, not again" ftB2.log &&
    [ -n "$(final_hash ftA.log)" ] && [ "$(final_hash ftB2.log)" = "$(final_hash ftA.log)" ] &&
    ok "--init-from stopped at step 20 (exit 75) and run again: resumed, not re-initialized; the uninterrupted run's parameters" ||
    { cat ftB1.log ftB2.log; fail "--init-from + stop + the same command: status $status, hash $(final_hash ftB2.log), want $(final_hash ftA.log)"; }

# ---- 4. --ema --------------------------------------------------------------------------------
ema=(--ema 0.95)
train "${ema[@]}" --run-dir e1 > e1.log 2>&1 || { cat e1.log; fail "the EMA run"; }
train_stopped e1s e1s1.log "checkpoint of step 30: before writing" train "${ema[@]}" --ckpt-every 30
train "${ema[@]}" --run-dir e1s --resume auto > e1s2.log 2>&1 || { cat e1s2.log; fail "the EMA run resumed"; }
[ $status -eq 75 ] && [ "$(final_hash e1s2.log)" = "$(final_hash e1.log)" ] &&
    same "$(ckpt e1s 60)" "$(ckpt e1 60)" ema && same "$(ckpt e1s 60)" "$(ckpt e1 60)" &&
    ok "1 rank: stopped at step 30 and resumed, parameters and EMA weights bit-identical" ||
    { cat e1s1.log e1s2.log; fail "1 rank: EMA resume differs (status $status)"; }
mpi2 "${ema[@]}" --run-dir e2 > e2.log 2>&1 || { cat e2.log; fail "the EMA run on 2 ranks"; }
train_stopped e2s e2s1.log "checkpoint of step 30: before writing" mpi2 "${ema[@]}" --ckpt-every 30
[ $status -eq 75 ] && same "$(ckpt e2s 30)" "$(ckpt e2 30)" ema && same "$(ckpt e2s 30)" "$(ckpt e2 30)" ||
    { cat e2s1.log; fail "2 ranks: the stop (status $status) or its checkpoint differs from the uninterrupted one's"; }
mkdir e2to1 && cp "$(ckpt e2s 30)" e2to1/
mpi2 "${ema[@]}" --run-dir e2s --resume auto > e2s2.log 2>&1 || { cat e2s2.log; fail "the EMA run resumed on 2 ranks"; }
[ "$(final_hash e2s2.log)" = "$(final_hash e2.log)" ] && same "$(ckpt e2s 60)" "$(ckpt e2 60)" ema &&
    ok "2 ranks: stopped at step 30 and resumed, parameters and EMA weights bit-identical" ||
    { cat e2s2.log; fail "2 ranks: EMA resume differs"; }
# on another rank count: rounding only (lib.sh's drift_tol, for the 30 steps after the resume);
# the EMA weights are averages of parameters within it, so they are within it too
train "${ema[@]}" --run-dir e2to1 --resume auto > e2to1.log 2>&1 || { cat e2to1.log; fail "resume on 1 rank"; }
tol=$(drift_tol 30 0.01)
"$params_diff" "$(ckpt e2to1 60)" "$(ckpt e2 60)" "$tol" ema > drift.log &&
    "$params_diff" "$(ckpt e2to1 60)" "$(ckpt e2 60)" "$tol" >> drift.log &&
    grep -q "written by 2 ranks (now a different number" e2to1.log &&
    ok "2 ranks resumed on 1: EMA weights and parameters within $tol ($(grep -o 'max relative diff [^ ]*' drift.log | tr '\n' ' '))" ||
    { cat e2to1.log drift.log; fail "2 ranks resumed on 1: beyond the tolerance $tol"; }
# what the EMA is and who uses it
! same "$(ckpt e1 60)" "$(ckpt e1 60)" params ema && same "$(ckpt e1 60)" "$(ckpt e1 60)" ema ema &&
    ok "the EMA weights differ from the parameters" || fail "the EMA weights are the parameters"
ebest=$(state_step e1/best.h5)
same e1/best.h5 "$(ckpt e1 "$ebest")" params ema &&
    ok "best.h5 of the EMA run holds the EMA weights of step $ebest" || fail "best.h5 of the EMA run"
"$s2s" average "$(ckpt e1 60)" --out e60.h5 > /dev/null 2>&1 &&
    "$s2s" average "$(ckpt e1 60)" --weights raw --out raw60.h5 > /dev/null 2>&1 &&
    same e60.h5 "$(ckpt e1 60)" params ema && same raw60.h5 "$(ckpt e1 60)" ||
    fail "the export of the EMA weights (default) and of the raw parameters (--weights raw)"
train --run-dir ve --steps 0 --init-from e60.h5 > ve.log 2>&1 &&
    train --run-dir vr --steps 0 --init-from raw60.h5 > vr.log 2>&1 ||
    { cat ve.log vr.log; fail "validation runs of 0 steps"; }
[ -n "$(final_valid e1)" ] && [ "$(final_valid ve)" = "$(final_valid e1)" ] && [ "$(final_valid vr)" != "$(final_valid e1)" ] &&
    ok "validation uses the EMA weights: final loss $(final_valid e1), the EMA weights' $(final_valid ve), the parameters' $(final_valid vr)" ||
    fail "validation: EMA run $(final_valid e1), its EMA weights $(final_valid ve), its parameters $(final_valid vr)"
mpi "$s2s" translate --checkpoint "$(ckpt e1 60)" --input r.valid.src --output e_ckpt.out 2>/dev/null &&
    mpi "$s2s" translate --checkpoint e60.h5 --input r.valid.src --output e_ema.out 2>/dev/null &&
    mpi "$s2s" translate --checkpoint raw60.h5 --input r.valid.src --output e_raw.out 2>/dev/null &&
    cmp -s e_ckpt.out e_ema.out && ! cmp -s e_ckpt.out e_raw.out &&
    ok "translate uses a checkpoint's EMA weights" || fail "translate of an EMA checkpoint"
mkdir changed && cp "$(ckpt e1 30)" changed/
refused() { # refused LOG PATTERN ARGS...: s2s train ARGS fails with one line matching PATTERN
    local log=$1 pattern=$2
    shift 2
    ! train "$@" > "$log" 2>&1 && one_error "$log" "$pattern"
}
refused changed.log "was trained with --ema 0.95, this run asks for --ema 0.9" --ema 0.9 \
        --run-dir changed --resume auto &&
    refused changed0.log "trained with EMA weights, this run asks for none" --run-dir changed \
        --resume auto &&
    ok "a changed --ema refused on resume: $(tail -1 changed.log | cut -c1-100)..." ||
    { cat changed.log changed0.log; fail "a changed --ema on resume"; }

if [ $failures -gt 0 ]; then
    echo "ckpt_tools.sh: $failures check(s) failed"
    exit 1
fi
echo "ckpt_tools.sh: all checks passed"
