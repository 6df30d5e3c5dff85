#!/usr/bin/env bash
# blas_core.sh - the OpenBLAS kernel choice at start-up (include/s2s/blas_core.h), through the
# s2s binary; the best and the runnable kernels of this CPU come from `s2s info --system --json`:
#   a. OpenBLAS "falls back" to Prescott (OPENBLAS_CORETYPE=Prescott with the test hook
#      S2S_BLAS_TEST_FALLBACK=1): s2s bench restarts itself with the best kernels, says so in
#      exactly one line on stderr, and its JSON names them;
#   a2. the restarted process keeps the program's name (exec of /proc/self/exe's target);
#   b. the same on 2 ranks through mpiexec: both ranks restart (the JSON counts the ranks that
#      run rank 0's kernels), one line;
#   c. --blas-core Prescott runs Prescott, without a line;
#   d. a user's OPENBLAS_CORETYPE (Haswell, when this CPU runs it) is kept, without a line;
#   e. kernels this CPU cannot run are refused, through --blas-core and OPENBLAS_CORETYPE:
#      non-zero exit, one line naming them (skipped on a CPU that runs every kernel s2s knows);
#   f. blas-core in a --config file is a usage error; g. so is --blas-core bogus, listing the
#      choices;
#   h. train's start-up line names the kernels and their origin, and notes kernels below the
#      best; `s2s info` of its checkpoint names them (text and JSON).
# Exits 77 (skipped) when this CPU's best kernels are Prescott's: there is nothing to restart to.
#
#   blas_core.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: blas_core.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1
# bench and train start MPI even on one rank: under AddressSanitizer Open MPI's allocations left
# at exit would be reported as leaks (as in decode.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
# The cases set these themselves.
unset OPENBLAS_CORETYPE S2S_BLAS_TEST_FALLBACK S2S_BLAS_RESTARTED
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_blas_core.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# field FILE EXPR: EXPR (Python, on the JSON object d of the last line of FILE), printed
field() { python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
v = eval(sys.argv[2])
print(" ".join(v) if isinstance(v, list) else v)' "$1" "$2" 2>/dev/null; }
# s2s's own lines on stderr (the benchmark logs its steps there too)
said() { grep '^s2s' "$1"; }
tiny=(--emb 8 --hidden 8 --src-vocab 16 --tgt-vocab 16 --batch 4 --src-len 4 --tgt-len 4
      --steps 1 --warmup 0 --peak-size 64)
bench() { "$s2s" bench "${tiny[@]}" "$@"; }

"$s2s" info --system --json > system.json || { echo "FAIL: s2s info --system --json"; exit 1; }
best=$(field system.json 'd["blas_core_best"]')
runnable=" $(field system.json 'd["runnable"]') "
known=$(field system.json 'd["known"]')
echo "this CPU: $(field system.json 'd["cpu"]["description"]'); best kernels $best;" \
     "runs:$runnable"
if [ "$best" = Prescott ]; then
    echo "SKIP: this CPU's best kernels are Prescott's: no restart to test"
    exit 77
fi
[ -n "$best" ] && [ "$best" != None ] || { echo "FAIL: no best kernels in system.json"; exit 1; }

# ---- a. OpenBLAS fell back: one restart, the best kernels -----------------------------------
if OPENBLAS_CORETYPE=Prescott S2S_BLAS_TEST_FALLBACK=1 bench > a.out 2> a.err; then
    line=$(said a.err)
    if [ "$(said a.err | wc -l)" -eq 1 ] && [[ $line == *"picked its Prescott kernels"* ]] &&
       [[ $line == *"restarted with OPENBLAS_CORETYPE=$best "* ]]; then
        ok "one line: $line"
    else
        fail "expected one restart line naming Prescott and $best, got: $(said a.err)"
    fi
    core=$(field a.out 'd["blas_core"]') origin=$(field a.out 'd["blas_core_origin"]')
    [ "$core" = "$best" ] && [[ $origin == "restarted automatically: OpenBLAS had picked Prescott" ]] &&
        ok "bench ran $core ($origin)" || fail "bench ran '$core' ($origin), expected $best"
    [ "$(field a.out 'd["blas_core_best"]')" = "$best" ] || fail "blas_core_best in the JSON"
    [ -n "$(field a.out 'd["openblas"]')" ] || fail "no openblas config string in the JSON"
    grep -q "on OpenBLAS's $best kernels" a.out || fail "the summary line does not name $best"
else
    cat a.err
    fail "bench after a fall-back"
fi

# ---- a2. the restarted process keeps its name (ps, pgrep -x s2s, schedulers) ---------------------
OPENBLAS_CORETYPE=Prescott S2S_BLAS_TEST_FALLBACK=1 "$s2s" bench "${tiny[@]}" --steps 100000 \
    --tgt-len 64 > a2.out 2> a2.err &
pid=$!
name=
for _ in $(seq 100); do # the restart line says the new program runs
    grep -q "restarted with" a2.err 2>/dev/null && { name=$(cat /proc/$pid/comm); break; }
    sleep 0.1
done
kill $pid 2>/dev/null; wait $pid 2>/dev/null
[ "$name" = "$(basename "$s2s")" ] && ok "the restarted process is still called $name" ||
    fail "the restarted process is called '$name', not $(basename "$s2s")"

# ---- b. the same on 2 ranks --------------------------------------------------------------------
if OPENBLAS_CORETYPE=Prescott S2S_BLAS_TEST_FALLBACK=1 "$mpiexec" --oversubscribe -np 2 \
       "$s2s" bench "${tiny[@]}" > b.out 2> b.err; then
    ranks=$(field b.out 'd["ranks"]') same=$(field b.out 'd["blas_core_ranks"]')
    core=$(field b.out 'd["blas_core"]')
    [ "$ranks" = 2 ] && [ "$same" = 2 ] && [ "$core" = "$best" ] &&
        ok "2 ranks: both run $core" ||
        fail "2 ranks: $same of $ranks run rank 0's kernels '$core', expected 2 on $best"
    n=$(said b.err | grep -c 'restarted with')
    [ "$n" -eq 1 ] && ok "2 ranks: one restart line" ||
        fail "2 ranks: $n restart lines: $(said b.err)"
else
    cat b.err
    fail "bench on 2 ranks after a fall-back"
fi

# ---- c. --blas-core Prescott -------------------------------------------------------------------
if bench --blas-core Prescott > c.out 2> c.err; then
    core=$(field c.out 'd["blas_core"]') origin=$(field c.out 'd["blas_core_origin"]')
    [ "$core" = Prescott ] && [ "$origin" = --blas-core ] && ok "--blas-core Prescott runs $core" ||
        fail "--blas-core Prescott ran '$core' ($origin)"
    [ -z "$(said c.err)" ] || fail "--blas-core printed: $(said c.err)"
else
    cat c.err
    fail "bench --blas-core Prescott"
fi

# ---- d. the user's OPENBLAS_CORETYPE -----------------------------------------------------------
if [[ $runnable == *" Haswell "* ]]; then
    if OPENBLAS_CORETYPE=Haswell bench > d.out 2> d.err; then
        core=$(field d.out 'd["blas_core"]') origin=$(field d.out 'd["blas_core_origin"]')
        [ "$core" = Haswell ] && [ "$origin" = OPENBLAS_CORETYPE ] && [ -z "$(said d.err)" ] &&
            ok "OPENBLAS_CORETYPE=Haswell kept, silently" ||
            fail "OPENBLAS_CORETYPE=Haswell: ran '$core' ($origin); said: $(said d.err)"
    else
        cat d.err
        fail "bench with OPENBLAS_CORETYPE=Haswell"
    fi
else
    echo "skipped d: this CPU does not run Haswell's kernels"
fi

# ---- e. kernels this CPU cannot run --------------------------------------------------------------
bad=
for k in $known; do
    [[ $runnable == *" $k "* ]] || { bad=$k; break; }
done
if [ -z "$bad" ]; then
    echo "skipped e: this CPU runs every kernel s2s knows ($known)"
else
    refused() { # refused NAME FILE STATUS: one line naming the kernels, a non-zero status
        if [ "$3" -ne 0 ] && [ "$(wc -l < "$2")" -eq 1 ] && grep -q "cannot run OpenBLAS's $bad kernels" "$2"; then
            ok "$1 refused: $(cat "$2")"
        else
            fail "$1: status $3, said: $(cat "$2")"
        fi
    }
    bench --blas-core "$bad" > e1.out 2> e1.err
    refused "--blas-core $bad" e1.err $?
    OPENBLAS_CORETYPE=$bad bench > e2.out 2> e2.err
    refused "OPENBLAS_CORETYPE=$bad" e2.err $?
fi

# ---- f, g. usage errors ------------------------------------------------------------------------
echo "blas-core = Prescott" > k.conf
bench --config k.conf > f.out 2> f.err
st=$?
[ "$st" -eq 2 ] && grep -q "comes from a --config file" f.err &&
    grep -q "give --blas-core Prescott on the command line" f.err &&
    ok "blas-core in a --config file: $(cat f.err)" || fail "--config: status $st, $(cat f.err)"
bench --blas-core bogus > g.out 2> g.err
st=$?
[ "$st" -eq 2 ] && grep -q "'bogus' is not one of auto, Prescott, Core2" g.err &&
    ok "--blas-core bogus: $(cat g.err)" || fail "--blas-core bogus: status $st, $(cat g.err)"

# ---- h. train's start-up line and the checkpoint -------------------------------------------------
"$s2s" gen reverse --symbols 8 --min-len 3 --max-len 6 --train 300 --valid 20 --test 0 \
    --out r >/dev/null 2>&1 &&
"$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
    --valid-tgt r.valid.tgt --out r.h5 >/dev/null || { echo "FAIL: data"; exit 1; }
train=(--data r.h5 --emb 8 --hidden 8 --batch 16 --steps 2 --samples 0 --progress plain
       --log-every 0)
if "$s2s" train "${train[@]}" --run-dir run > h1.out 2>&1; then
    grep -q "^s2s train: OpenBLAS .*, $best kernels (" h1.out &&
        ok "train: $(grep 'kernels (' h1.out)" || fail "train's start-up line: $(head -3 h1.out)"
    "$s2s" info run/ckpt-00000002.h5 > h1.info 2>&1
    grep -q "OpenBLAS kernels *$best\$" h1.info && ok "s2s info: the checkpoint's kernels" ||
        fail "s2s info: $(grep -i openblas h1.info)"
    "$s2s" info --json run/ckpt-00000002.h5 > h1.json 2>&1
    [ "$(field h1.json 'd["blas_core"]')" = "$best" ] && ok "s2s info --json: blas_core $best" ||
        fail "s2s info --json: blas_core $(field h1.json 'd["blas_core"]')"
else
    cat h1.out
    fail "train"
fi
if "$s2s" train "${train[@]}" --blas-core Prescott --no-save > h2.out 2>&1; then
    grep -q "Prescott kernels (--blas-core); note: this CPU runs the faster $best kernels" h2.out &&
        ok "train with Prescott notes the faster $best" ||
        fail "train --blas-core Prescott: $(grep 'kernels' h2.out)"
else
    cat h2.out
    fail "train --blas-core Prescott"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
