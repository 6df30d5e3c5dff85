#!/usr/bin/env bash
# fuzz.sh - the fuzz harness of issue 14 ("damaged or hostile files never crash, hang, or get
# used silently"): mutants of every kind of file s2s reads, run through every command that reads
# that kind, under a time limit.
#
#   tests/fuzz/fuzz.sh S2S_BINARY [--mutants N] [--seed S] [--jobs J] [--timeout SEC]
#                      [--kinds dataset,foreign,checkpoint,params,attention] [--keep DIR]
#                      [--tools DIR] [--plot]
#
# The originals are made with the binary itself in a scratch directory: a dataset (`s2s gen` +
# `s2s prep`), a run directory of a 2-step `s2s train` with two checkpoints, a parameter file
# (written from the checkpoint by fuzz_make_params through the library's paramfile_write: the
# binary writes none), an attention file (`s2s translate --attention`), and a FOREIGN dataset:
# the same content written by h5py (/usr/bin/python3) after docs/formats.md's schema, without
# anything s2s adds to the files it writes. Mutant i of a kind is `fuzz_mutate --seed S --index
# i` of its original (tests/fuzz/mutate.c: bit flips, byte overwrites, truncations, block
# duplications, changes confined to HDF5 metadata, to string storage, to the user block), and
# runs through:
#   dataset, foreign  s2s info; s2s train --steps 1 (one rank, its own run directory)
#   checkpoint        s2s info; s2s translate (a fixed input); s2s train --resume auto in a copy
#                     of the run directory where the mutant is the newest ckpt-*.h5 and the
#                     older checkpoint is valid
#   params            s2s info; s2s translate
#   attention         s2s info; with --plot also scripts/plot_attention.py --list (informational:
#                     Python is not s2s, so its row does not count towards the verdict; off by
#                     default because it is slow: 3-4 s a run against 0.2 s for s2s info, and
#                     libhdf5 hangs in it on 1% of the mutants)
#
# Every run is classified (the contract of issue 14):
#   hang       the time limit (--timeout, 20 s) was hit
#   crash      killed by a signal (exit >= 128), or a sanitizer's report of a fatal signal
#              (SEGV, BUS, FPE, stack overflow)
#   report     any other sanitizer report on stderr ("ERROR: AddressSanitizer", "runtime
#              error:", "LeakSanitizer")
#   refused    non-zero exit with a line "s2s...: MESSAGE" on stderr and no output file left
#   unclear    non-zero exit without such a line, or with a partial output file (translate's
#              --output, a checkpoint of train), or --resume auto that neither resumed from the
#              valid older checkpoint nor from the mutant
#   fellback   --resume auto skipped the mutant with a note ("skipping checkpoint") and resumed
#              from the older checkpoint
#   warned     exit 0 with a line containing "unverified" on stderr
#   silent     exit 0 without it (--resume auto: resumed from the mutant without a note, or
#              skipped it without a note)
# --mutants N runs the first N mutants of each kind that differ from their original (fuzz_mutate
# --select; the identical ones on the way are skipped and counted). The summary table has one row
# per kind and command; the exit status is 1 if any counted row has a crash, report, hang,
# unclear or silent run, 2 for usage errors or originals that cannot be made, 0 otherwise.
# Failing mutants are kept (the mutant, each command's line, stdout and stderr) in --keep DIR,
# or else in the scratch directory, which is then not removed.
#
# The sanitizer build is the one to fuzz (build/test/s2s, or any -DS2S_SANITIZE=ON build): its
# reports are what "crash" means for a read past a buffer that happens not to fault. MPI
# commands run as singletons (no mpirun: one rank); as root they need scripts/env.sh's
# variables, set here. Leak checking is on for `s2s info` (no MPI) and off for the MPI commands,
# whose Open MPI allocations at exit are not s2s's (as everywhere in the suite). Allocations
# above 1 GiB fail as malloc does in a normal build (allocator_may_return_null), so a damaged
# size field shows as s2s's refusal, not as ASan's; a process whose memory grows past 1.5 GiB is
# stopped by ASan with a report (hard_rss_limit_mb), which counts as a failure.
set -u

usage() {
    { printf "usage: "; sed -n "6,8p" "${BASH_SOURCE[0]}" | sed "s/^# *//"; } >&2
    exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
ALL_KINDS="dataset foreign checkpoint params attention"

# Model options of the originals' training and of the runs on mutants: small, with attention so
# that translate can write attention files.
MODEL=(--attn bahdanau --hidden 8 --emb 8 --batch 16 --bucket-window 1 --valid-every 0
       --no-valid-decode --samples 0 --progress plain --log-every 0 --keep 5)

# ---- one mutant (run by xargs in parallel: fuzz.sh --one KIND INDEX) --------------------------

# run NAME CMD...: runs CMD under the time limit in the mutant's directory $d; leaves
# $d/NAME.{cmd,out,err,rc,sec}. A run ended by SIGTERM or SIGKILL before the time limit was
# stopped from outside (s2s sends neither to itself; Open MPI's singleton daemon does, when the
# machine is overloaded): it runs once more, and counts as a crash if that happens twice.
run() {
    local name=$1
    shift
    printf '%q ' "$@" >"$d/$name.cmd"
    echo >>"$d/$name.cmd"
    local t0 t1 rc try
    for try in 1 2; do
        t0=$(date +%s.%N)
        # in a subshell whose stderr is discarded: bash's own "Segmentation fault" line for a
        # killed child would otherwise clutter the output
        rc=$( (timeout -k 3 "$FUZZ_TIMEOUT" "$@" >"$d/$name.out" 2>"$d/$name.err" </dev/null
               echo $?) 2>/dev/null)
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }' >"$d/$name.sec"
        if [ "$rc" -ne 143 ] && [ "$rc" -ne 137 ] ||
            awk -v s="$(cat "$d/$name.sec")" -v t="$FUZZ_TIMEOUT" 'BEGIN { exit !(s >= t) }'; then
            break
        fi
        echo "try $try: exit status $rc after $(cat "$d/$name.sec") s" >>"$d/$name.retry"
    done
    echo "$rc" >"$d/$name.rc"
}

# site ERR: where a sanitizer report points: the first frame of its first stack that is not the
# sanitizer's own (a function name, or library+offset), and the first frame in s2s below it.
site() {
    LC_ALL=C awk -v bin="$FUZZ_S2S" '
        /^    #[0-9]+ / {
            if (done) next
            f = ""
            for (i = 3; i <= NF; i++) if ($i == "in") { f = $(i + 1); break }
            if (f ~ /^(__interceptor_|__asan|__ubsan|__sanitizer|__lsan)/) next
            if (f == "" || f ~ /^\(/) { f = $NF; gsub(/.*\//, "", f); gsub(/\)$/, "", f) }
            if (first == "") { first = f; if (index($0, bin)) done = 1 }
            else if (index($0, bin)) { own = f; done = 1 }
            next
        }
        /^$/ { if (first != "") done = 1 }
        END { if (first != "") printf "at %s%s", first, own != "" ? " <- " own : "" }' "$1"
}

# classify NAME [OUTPUT_FILE...]: the outcome of run NAME (see the header); OUTPUT_FILEs must not
# exist after a refusal. Prints "OUTCOME DETAIL".
classify() {
    local name=$1 rc err
    shift
    rc=$(cat "$d/$name.rc")
    err=$d/$name.err
    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] &&
        awk -v s="$(cat "$d/$name.sec")" -v t="$FUZZ_TIMEOUT" 'BEGIN { exit !(s >= t) }'; }; then
        echo "hang time limit of ${FUZZ_TIMEOUT}s"
        return
    fi
    local sig
    sig=$(grep -a -m1 -E 'ERROR: AddressSanitizer: (SEGV|BUS|FPE|stack-overflow|ABRT|ILL)' "$err")
    if [ -n "$sig" ]; then
        echo "crash ${sig#==*==ERROR: } $(site "$err")"
        return
    fi
    local rep
    rep=$(grep -a -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|LeakSanitizer|SUMMARY: [A-Za-z]+Sanitizer' "$err")
    if [ -n "$rep" ]; then
        echo "report ${rep#==*==ERROR: } $(site "$err")"
        return
    fi
    if [ "$rc" -ge 128 ]; then
        echo "crash exit status $rc (signal $((rc - 128)))"
        return
    fi
    if [ "$rc" -ne 0 ]; then
        local f
        for f in "$@"; do
            if compgen -G "$f" >/dev/null; then
                echo "unclear exit $rc but left $(compgen -G "$f" | head -n 1 | sed "s|^$d/||")"
                return
            fi
        done
        # the last line (the kernel restart note aside) is "s2s: ..." or "s2s CMD: ...": the
        # error that main prints
        local last
        last=$(grep -a -v -e '^s2s: OpenBLAS .* kernels for this CPU' -e '^[[:space:]]*$' "$err" | tail -n 1)
        if [[ $last =~ ^s2s(\ [a-z]+)?:\ .{8,} ]]; then
            echo "refused $(cut -c1-160 <<<"$last")"
        else
            echo "unclear exit $rc without an 's2s: ...' line: $(cut -c1-120 <<<"$last")"
        fi
        return
    fi
    if grep -a -q unverified "$err"; then
        echo "warned $(grep -a -m1 unverified "$err" | cut -c1-160)"
    else
        echo "silent exit 0 without a warning"
    fi
}

# classify_resume: --resume auto's outcome: which checkpoint it resumed from, with what note.
classify_resume() {
    local c
    c=$(classify resume "$d/rd/ckpt-00000003.h5")
    case $c in
    warned* | silent*) ;;
    *) echo "$c"; return ;;
    esac
    local from
    from=$(cat "$d/resume.out" "$d/resume.err" | LC_ALL=C sed -n 's/.*resumed from .*ckpt-\([0-9]*\)\.h5: step.*/\1/p' | head -n 1)
    case $from in
    00000002)
        if grep -a -q unverified "$d/resume.err"; then
            echo "warned resumed from the mutant: $(grep -a -m1 unverified "$d/resume.err" | cut -c1-140)"
        else
            echo "silent resumed from the mutant (step 2) without a note"
        fi ;;
    00000001)
        # rank 0's notes go to stdout, errors to stderr: the note may be in either
        if grep -a -q -h 'skipping checkpoint' "$d/resume.out" "$d/resume.err"; then
            echo "fellback $(grep -a -m1 -h 'skipping checkpoint' "$d/resume.out" "$d/resume.err" | cut -c1-160)"
        else
            echo "silent skipped the mutant without a note"
        fi ;;
    *)
        echo "unclear exit 0 without resuming from either checkpoint: $(grep -a -h -m1 -E 'resum|scratch' "$d/resume.out" "$d/resume.err" | cut -c1-120)" ;;
    esac
}

# original KIND: the original file of a kind
original() {
    local o=$FUZZ_WORK/orig
    case $1 in
    dataset) echo "$o/data.h5" ;;
    foreign) echo "$o/foreign.h5" ;;
    checkpoint) echo "$o/run/ckpt-00000002.h5" ;;
    params) echo "$o/params.h5" ;;
    attention) echo "$o/att.h5" ;;
    esac
}

one() {
    local kind=$1 i=$2 o=$FUZZ_WORK/orig
    d=$FUZZ_WORK/m/$kind.$i
    mkdir -p "$d"
    local ext=h5 src
    src=$(original "$kind")
    local m=$d/mutant.$ext desc mrc
    desc=$("$FUZZ_TOOLS/fuzz_mutate" --seed "$FUZZ_SEED" --index "$i" "$src" "$m")
    mrc=$?
    local res=$FUZZ_WORK/res/$kind.$i
    if [ "$mrc" -eq 3 ]; then
        printf '%s\t-\tidentical\t%s\t%s\n' "$kind" "$i" "$desc" >"$res"
        rm -rf "$d"
        return 0
    elif [ "$mrc" -ne 0 ]; then
        printf '%s\t-\terror\t%s\tfuzz_mutate failed (%s)\n' "$kind" "$i" "$mrc" >"$res"
        return 0
    fi
    echo "$desc" >"$d/mutation.txt"
    local cmds=() outcomes=()
    case $kind in
    dataset | foreign)
        ASAN_OPTIONS="$ASAN_INFO" run info "$FUZZ_S2S" info "$m"
        cmds+=(info) outcomes+=("$(classify info)")
        run train "$FUZZ_S2S" train --data "$m" --run-dir "$d/run" --steps 1 "${MODEL[@]}"
        cmds+=(train) outcomes+=("$(classify train "$d/run/*.h5")")
        ;;
    checkpoint | params)
        ASAN_OPTIONS="$ASAN_INFO" run info "$FUZZ_S2S" info "$m"
        cmds+=(info) outcomes+=("$(classify info)")
        run translate "$FUZZ_S2S" translate --checkpoint "$m" --input "$o/in.txt" \
            --output "$d/out.txt"
        cmds+=(translate) outcomes+=("$(classify translate "$d/out.txt")")
        if [ "$kind" = checkpoint ]; then
            mkdir -p "$d/rd"
            cp "$o/resume/"* "$d/rd/" && cp "$m" "$d/rd/ckpt-00000002.h5"
            run resume "$FUZZ_S2S" train --data "$o/data.h5" --run-dir "$d/rd" --resume auto \
                --steps 3 "${MODEL[@]}"
            cmds+=(resume) outcomes+=("$(classify_resume)")
        fi
        ;;
    attention)
        ASAN_OPTIONS="$ASAN_INFO" run info "$FUZZ_S2S" info "$m"
        cmds+=(info) outcomes+=("$(classify info)")
        if [ -n "$FUZZ_PLOT" ]; then
            run plot "$FUZZ_PLOT" "$m" --list
            local c
            c=$(classify plot)
            # Python prints tracebacks, not "s2s: ..." lines: a non-zero exit is a refusal.
            case $c in unclear*) c="refused ${c#unclear }" ;; esac
            cmds+=(plot) outcomes+=("$c")
        fi
        ;;
    esac
    local k bad=0
    : >"$res"
    for k in "${!cmds[@]}"; do
        # the detail quotes s2s's message, which may quote damaged text: no tabs or controls
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "${cmds[$k]}" "${outcomes[$k]%% *}" "$i" \
            "$(printf '%s' "${outcomes[$k]#* }" | LC_ALL=C tr '\000-\037\177' '?' | head -c 300)" \
            "$(cat "$d/${cmds[$k]}.sec")" >>"$res"
        case ${outcomes[$k]%% *} in
        hang | crash | report | unclear | silent) [ "${cmds[$k]}" = plot ] || bad=1 ;;
        esac
    done
    if [ $bad -eq 1 ]; then
        local keep=$FUZZ_KEEP/$kind.$i
        mkdir -p "$keep"
        cp "$m" "$keep/" && cp "$d"/*.cmd "$d"/*.err "$d"/*.out "$d"/*.rc "$d"/*.sec "$d/mutation.txt" "$keep/"
        cp "$d"/*.retry "$keep/" 2>/dev/null
    fi
    rm -rf "$d"
}

if [ "${1:-}" = --one ]; then
    one "$2" "$3"
    exit 0
fi

# ---- the whole run ----------------------------------------------------------------------------

[ $# -ge 1 ] || usage
s2s=$1
shift
mutants=200 seed=1 jobs=4 kinds=$ALL_KINDS keep="" tools="" limit=20 want_plot=0
while [ $# -gt 0 ]; do
    if [ "$1" = --plot ]; then
        want_plot=1
        shift
        continue
    fi
    [ $# -ge 2 ] || usage
    case $1 in
    --mutants) mutants=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --kinds) kinds=$(tr ',' ' ' <<<"$2"); shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    *) usage ;;
    esac
done
for v in "$mutants" "$seed" "$jobs" "$limit"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "fuzz.sh: '$v' is not a number" >&2; exit 2; }
done
[ "$jobs" -ge 1 ] || { echo "fuzz.sh: --jobs must be at least 1" >&2; exit 2; }
for k in $kinds; do
    [[ " $ALL_KINDS " == *" $k "* ]] || { echo "fuzz.sh: unknown kind '$k' (kinds: $ALL_KINDS)" >&2; exit 2; }
done
[ -x "$s2s" ] || { echo "fuzz.sh: $s2s is not an executable" >&2; exit 2; }
s2s=$(cd "$(dirname "$s2s")" && pwd)/$(basename "$s2s")
# fuzz_mutate and fuzz_make_params: beside the binary's build (BUILD/tests/fuzz) unless --tools
[ -n "$tools" ] || tools=$(dirname "$s2s")/tests/fuzz
if [ ! -x "$tools/fuzz_mutate" ]; then
    echo "fuzz.sh: no fuzz_mutate in $tools: build it (cmake --build BUILD --target fuzz_mutate fuzz_make_params) or pass --tools DIR" >&2
    exit 2
fi
tools=$(cd "$tools" && pwd)

SECONDS=0
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
export OPENBLAS_NUM_THREADS=1
# Sanitizer settings of every run (see the header): the caller's ASAN_OPTIONS override the
# allocation limits, but not the leak checking (scripts/test.sh turns it on for everything).
asan_base="allocator_may_return_null=1:max_allocation_size_mb=1024:hard_rss_limit_mb=1536"
export ASAN_INFO="$asan_base:${ASAN_OPTIONS:-}:detect_leaks=1"
export ASAN_OPTIONS="$asan_base:${ASAN_OPTIONS:-}:detect_leaks=0"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"

work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_fuzz.XXXXXX")
o=$work/orig
mkdir -p "$o" "$work/res" "$work/m"
if [ -n "$keep" ]; then
    mkdir -p "$keep" || exit 2
    keep=$(cd "$keep" && pwd)
else
    keep=$work/failures
fi
cleanup() {
    if [ -z "$(ls -A "$keep" 2>/dev/null)" ] || [ "$keep" != "$work/failures" ]; then
        rm -rf "$work"
    else
        echo "fuzz.sh: failing mutants kept in $keep"
        rm -rf "$work/m" "$work/orig"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "fuzz.sh: $*" >&2
    exit 2
}

# ---- the originals ----
(
    cd "$o" || exit 1
    "$s2s" gen reverse --symbols 10 --min-len 2 --max-len 6 --train 200 --valid 20 --test 0 \
        --seed 3 --out t >gen.log 2>&1 &&
        "$s2s" prep --train-src t.train.src --train-tgt t.train.tgt --valid-src t.valid.src \
            --valid-tgt t.valid.tgt --out data.h5 >prep.log 2>&1
) || die "cannot make the dataset: $(tail -n 3 "$o"/*.log)"
"$s2s" train --data "$o/data.h5" --run-dir "$o/run" --steps 2 --ckpt-every 1 "${MODEL[@]}" \
    >"$o/train.log" 2>&1 || die "cannot train the run directory: $(tail -n 5 "$o/train.log")"
[ -f "$o/run/ckpt-00000001.h5" ] && [ -f "$o/run/ckpt-00000002.h5" ] ||
    die "training wrote no checkpoints 1 and 2: $(ls "$o/run")"
mkdir -p "$o/resume"
cp "$o/run/ckpt-00000001.h5" "$o/resume/"
[ ! -f "$o/run/metrics.jsonl" ] || cp "$o/run/metrics.jsonl" "$o/resume/"
head -n 3 "$o/t.valid.src" >"$o/in.txt"
"$s2s" translate --checkpoint "$o/run/ckpt-00000002.h5" --input "$o/in.txt" \
    --output "$o/out.txt" --attention "$o/att.h5" >"$o/translate.log" 2>&1 ||
    die "cannot write the attention file: $(tail -n 3 "$o/translate.log")"
notes=()
if [[ " $kinds " == *" params "* ]]; then
    if [ -x "$tools/fuzz_make_params" ]; then
        "$tools/fuzz_make_params" "$o/run/ckpt-00000002.h5" "$o/params.h5" >"$o/params.log" 2>&1 ||
            die "cannot write the parameter file: $(cat "$o/params.log")"
    else
        notes+=("params skipped: no fuzz_make_params in $tools")
        kinds=$(sed 's/\bparams\b//' <<<"$kinds")
    fi
fi
# The foreign dataset: data.h5's content written by h5py after docs/formats.md, nothing more.
if [[ " $kinds " == *" foreign "* ]]; then
    if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
        /usr/bin/python3 - "$o/data.h5" "$o/foreign.h5" >"$o/foreign.log" 2>&1 <<'EOF' ||
import sys
import h5py
import numpy as np

src, dst = sys.argv[1], sys.argv[2]
text = h5py.string_dtype("utf-8")
with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
    for key in ("format", "inputs", "options", "report"):
        v = a.attrs[key]
        b.attrs.create(key, v.decode() if isinstance(v, bytes) else str(v), dtype=text)
    b.attrs.create("version", 1, dtype=np.int32)
    for side in ("src", "tgt"):
        b.create_dataset("vocab/" + side,
                         data=[t.decode() if isinstance(t, bytes) else t for t in a["vocab/" + side][()]],
                         dtype=text)
    for split in ("train", "valid", "test"):
        if split not in a:
            continue
        g = b.create_group(split)
        g.attrs.create("sentences", int(a[split].attrs["sentences"]), dtype=np.int64)
        for name, dt, chunk in (("src_tokens", np.int32, 1024), ("tgt_tokens", np.int32, 1024),
                                ("src_offsets", np.int64, 4096), ("tgt_offsets", np.int64, 4096)):
            v = a[split + "/" + name][()].astype(dt)
            g.create_dataset(name, data=v, dtype=dt, maxshape=(None,), chunks=(chunk,),
                             shuffle=True, compression="gzip", compression_opts=4)
EOF
            die "cannot write the foreign dataset: $(tail -n 3 "$o/foreign.log")"
    else
        notes+=("foreign skipped: /usr/bin/python3 has no h5py and numpy")
        kinds=$(sed 's/\bforeign\b//' <<<"$kinds")
    fi
fi
plot=""
if [ $want_plot -eq 1 ] && [[ " $kinds " == *" attention "* ]]; then
    if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
        plot=$root/scripts/plot_attention.py
    else
        notes+=("plot_attention.py --list skipped: no /usr/bin/python3 with h5py and numpy")
    fi
fi

export FUZZ_WORK=$work FUZZ_S2S=$s2s FUZZ_TOOLS=$tools FUZZ_SEED=$seed FUZZ_TIMEOUT=$limit
export FUZZ_KEEP=$keep FUZZ_PLOT=$plot

# ---- the originals through the same commands: what an undamaged file gets ----
# Every command must accept the files s2s wrote, without "unverified" (else a warned mutant
# would prove nothing); the foreign dataset must be accepted, warned or not. s2s info does not
# describe attention files and translate needs a checkpoint: their refusals of the originals
# are shown, and their mutants must be refused as clearly.
base_fail=0
baseline() {
    local kind=$1 name=$2 expect=$3 outcome
    d=$work/base
    outcome=$4
    printf '  %-10s %-9s %s\n' "$kind" "$name" "$(cut -c1-150 <<<"$outcome")"
    case $expect in
    accept) [[ $outcome == silent* ]] || base_fail=1 ;;
    either) [[ $outcome == silent* || $outcome == warned* ]] || base_fail=1 ;;
    resume) [[ $outcome == silent*"mutant (step 2)"* ]] || base_fail=1 ;;
    esac
}
echo "fuzz.sh: $s2s, seed $seed, $mutants mutants per kind ($kinds), $jobs jobs, time limit ${limit}s"
for n in "${notes[@]}"; do echo "fuzz.sh: $n"; done
echo "fuzz.sh: the originals:"
d=$work/base
mkdir -p "$d"
for kind in $kinds; do
    case $kind in
    dataset | foreign)
        f=$o/data.h5 expect=accept
        [ "$kind" = dataset ] || { f=$o/foreign.h5 expect=either; }
        ASAN_OPTIONS="$ASAN_INFO" run info "$s2s" info "$f"
        baseline "$kind" info "$expect" "$(classify info)"
        run train "$s2s" train --data "$f" --run-dir "$d/run-$kind" --steps 1 "${MODEL[@]}"
        baseline "$kind" train "$expect" "$(classify train)"
        ;;
    checkpoint | params)
        f=$o/run/ckpt-00000002.h5 expect=accept
        [ "$kind" = checkpoint ] || { f=$o/params.h5 expect=show; }
        ASAN_OPTIONS="$ASAN_INFO" run info "$s2s" info "$f"
        baseline "$kind" info accept "$(classify info)"
        run translate "$s2s" translate --checkpoint "$f" --input "$o/in.txt" --output "$d/out-$kind.txt"
        baseline "$kind" translate "$expect" "$(classify translate)"
        if [ "$kind" = checkpoint ]; then
            mkdir -p "$d/rd" && cp "$o/resume/"* "$d/rd/" && cp "$f" "$d/rd/"
            run resume "$s2s" train --data "$o/data.h5" --run-dir "$d/rd" --resume auto --steps 3 "${MODEL[@]}"
            baseline "$kind" resume resume "$(classify_resume)"
        fi
        ;;
    attention)
        ASAN_OPTIONS="$ASAN_INFO" run info "$s2s" info "$o/att.h5"
        baseline "$kind" info show "$(classify info)"
        if [ -n "$plot" ]; then
            run plot "$plot" "$o/att.h5" --list
            baseline "$kind" plot accept "$(classify plot)"
        fi
        ;;
    esac
done
[ $base_fail -eq 0 ] || die "an original is not accepted as it should be (above): the mutants would prove nothing"

# ---- the mutants ----
# The first N indices whose mutants differ from the original (the others are counted), spread
# over the jobs.
for kind in $kinds; do
    "$tools/fuzz_mutate" --seed "$seed" --select "$mutants" "$(original "$kind")" >"$work/select.$kind" ||
        die "fuzz_mutate --select failed on the $kind original"
    printf '%s\t-\tskipped\t%s\n' "$kind" "$(sed -n 's/^identical //p' "$work/select.$kind")" \
        >"$work/res/$kind.skipped"
done
for kind in $kinds; do
    grep -v '^identical' "$work/select.$kind" | sed "s/^/$kind /"
done | xargs -P "$jobs" -n 2 "$here/fuzz.sh" --one

# ---- the summary ----
cat "$work"/res/* >"$work/results.tsv" 2>/dev/null
[ -z "$keep" ] || [ "$keep" = "$work/failures" ] || cp "$work/results.tsv" "$keep/results.tsv"
LC_ALL=C awk -F'\t' -v kinds="$kinds" -v secs="$SECONDS" '
    BEGIN {
        nc = split("refused fellback warned silent crash report hang unclear", cols, " ")
        printf "%-10s %-9s %6s %8s %8s %7s %7s %6s %7s %5s %8s %7s\n", "kind", "command", "runs",
               "refused", "fellback", "warned", "silent", "crash", "report", "hang", "unclear",
               "mean s"
    }
    $3 == "identical" { same[$1]++; next }
    $3 == "skipped" { same[$1] += $4; next }
    $3 == "error" { errors++; next }
    {
        key = $1 SUBSEP $2
        if (!(key in runs)) { order[++n] = key }
        runs[key]++; count[key, $3]++; secs_of[key] += $6
        if ($2 == "plot") has_plot = 1
        if ($3 ~ /^(crash|report|hang|unclear|silent)$/ && $2 != "plot") {
            bad++
            # the class of a failure: the sanitizer error and its site, or the outcome
            c = $5
            if ($3 == "crash" || $3 == "report") {
                site = c ~ / at / ? c : ""
                sub(/.* at /, "at ", site)
                sub(/^(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): /, "", c)
                sub(/ on (unknown )?address.*| at .*|: memory ranges.*|:.*/, "", c)
                c = c " " site
            } else if ($3 == "hang") {
                c = ""
            } else if ($3 == "unclear") {
                gsub(/\/[^ :]*\//, "", c); gsub(/[0-9]+/, "N", c); gsub(/sNs/, "s2s", c); c = substr(c, 1, 70)
            }
            cls = $3 (c != "" ? ": " c : "")
            if (!(cls in ncls)) corder[++ncl] = cls
            ncls[cls]++
            if (index(where[cls], $1 " " $2) == 0) where[cls] = where[cls] (where[cls] == "" ? "" : ", ") $1 " " $2
            if (!(cls in first)) first[cls] = $1 "." $4
        }
        mutant[$1, $4] = 1
    }
    END {
        nk = split(kinds, ks, " ")
        for (k = 1; k <= nk; k++)
        for (i = 1; i <= n; i++) {
            split(order[i], kc, SUBSEP)
            if (kc[1] != ks[k]) continue
            printf "%-10s %-9s %6d", kc[1], kc[2] (kc[2] == "plot" ? "*" : ""), runs[order[i]]
            w[1] = 8; w[2] = 8; w[3] = 7; w[4] = 7; w[5] = 6; w[6] = 7; w[7] = 5; w[8] = 8
            for (c = 1; c <= nc; c++) printf " %*d", w[c], count[order[i], cols[c]]
            printf " %7.2f\n", secs_of[order[i]] / runs[order[i]]
        }
        line = ""
        for (k = 1; k <= nk; k++) {
            m = 0
            for (key in mutant) { split(key, km, SUBSEP); if (km[1] == ks[k]) m++ }
            line = line sprintf("%s%s %d run, %d identical to the original skipped",
                                line == "" ? "" : "; ", ks[k], m, same[ks[k]])
        }
        print "mutants: " line
        if (errors) print "fuzz_mutate failed on " errors " mutants"
        if (has_plot) print "* Python, not s2s: not counted in the verdict"
        for (i = 1; i <= ncl; i++)
            for (j = i + 1; j <= ncl; j++)
                if (ncls[corder[j]] > ncls[corder[i]]) { t = corder[i]; corder[i] = corder[j]; corder[j] = t }
        if (ncl) print "failures by class (runs; kinds and commands; first mutant):"
        for (i = 1; i <= ncl; i++)
            printf "  %5d  %s\n         in %s; e.g. %s\n", ncls[corder[i]], corder[i], where[corder[i]], first[corder[i]]
        printf "failures: %d runs (crash, report, hang, unclear, silent); wall time %dm %02ds\n",
               bad, secs / 60, secs % 60
        exit (bad > 0 || errors > 0)
    }' "$work/results.tsv"
status=$?
[ "$status" -eq 0 ] || echo "fuzz.sh: failing mutants (mutant, commands, stderr) in $keep"
exit "$status"
