#!/usr/bin/env bash
# bench_cli.sh - `s2s bench` at the edges of its options, through the binary: a batch of 2^20
# one-token sentences (the row tables of a batch once lived on the stack, and this size
# overflowed it with SIGSEGV), and help texts without internal names.
#
#   bench_cli.sh S2S_BINARY
set -u
if [ $# -ne 1 ]; then
    echo "usage: bench_cli.sh S2S_BINARY" >&2
    exit 2
fi
s2s=$1
export OPENBLAS_NUM_THREADS=1
# bench initializes MPI, whose allocations at exit are not s2s's (scripts/test.sh, leak checking).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
failures=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

out=$("$s2s" bench --batch 1048576 --emb 1 --hidden 1 --src-vocab 8 --tgt-vocab 8 --src-len 1 \
          --tgt-len 2 --steps 1 --warmup 0 --peak-size 64 --no-bidir 2>&1)
rc=$?
if [ $rc -eq 0 ] && tail -n 1 <<<"$out" | grep -q '"batch":1048576,'; then
    ok "bench with a batch of 1048576 sentences: exit 0, JSON summary"
else
    bad "bench with a batch of 1048576 sentences: exit $rc"
    tail -n 5 <<<"$out"
fi

# Help texts speak to users: no C identifiers such as (COMM_BUCKET_MB_DEFAULT). Environment
# variables a user sets (OPENBLAS_*, OMPI_*, SLURM_*, S2S_*) may be named.
# the commands `s2s --help` lists (src/main.c's table is the one list)
for cmd in $("$s2s" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
    help=$("$s2s" "$cmd" --help 2>&1)
    internal=$(grep -oE '\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b' <<<"$help" |
               grep -vE '^(OPENBLAS|OMPI|SLURM|S2S)_' | sort -u | tr '\n' ' ')
    if [ -n "$internal" ]; then
        bad "$cmd --help shows internal names: $internal"
    else
        ok "$cmd --help names no internal identifiers"
    fi
done

[ $failures -eq 0 ] && echo "bench_cli: all checks passed" || echo "bench_cli: $failures failed"
[ $failures -eq 0 ]
