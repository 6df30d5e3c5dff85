#!/usr/bin/env bash
# tcp.sh - training across nodes, as on a cluster, through the emulated network of
# scripts/netemu.sh (one network namespace per node, links limited to 1 Gb/s, MPI on TCP only):
#   1. 2 ranks on 2 nodes end bit-identical to the same 2-rank run over shared memory, and the
#      gradients really crossed the links: each node's link carried at least half of the
#      allreduced bytes (steps x parameters x 4 bytes), which a control run whose two ranks
#      share node0 stays far below;
#   2. a 2-rank shared-memory checkpoint resumed on 2 nodes ends bit-identical to the
#      uninterrupted run;
#   3. resumed on another number of ranks over TCP: a 1-rank checkpoint on 2 nodes (bit-identical
#      to the same resume over shared memory, and equal to the uninterrupted 2-rank run to
#      float tolerance), and a checkpoint of the TCP run on 3 ranks on 3 nodes (to tolerance).
# Exits 77 (skipped) with the reason where the network cannot be emulated (not root, no network
# namespaces, no tbf) or the launcher is not Open MPI's; a failed check exits 1.
#
#   tcp.sh S2S_BINARY PARAMS_DIFF MPIEXEC NETEMU_SH
set -u
if [ $# -ne 4 ]; then
    echo "usage: tcp.sh S2S_BINARY PARAMS_DIFF MPIEXEC NETEMU_SH" >&2
    exit 2
fi
s2s=$1 params_diff=$2 mpiexec=$3 netemu=$4
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! why=$("$netemu" --check); then
    echo "SKIP: $why"
    exit 77
fi
case "$("$mpiexec" --version 2>&1)" in
    *"Open MPI"*|*OpenRTE*) ;;
    *) echo "SKIP: $mpiexec is not Open MPI's launcher (netemu.sh sets up Open MPI)"; exit 77 ;;
esac
test_begin tcp

reverse_corpus "$s2s" 5
# mpi_train.sh's model and batches (drift_tol's derivation assumes them), 20 steps of Adam with
# a checkpoint at step 10 to resume from
steps=20
args=(--data r.h5 --cell gru --emb 16 --hidden 32 --attn bahdanau --dropout 0.2 --batch 32
      --min-sents 4 --clip 0.1 --log-every 10 --valid-every 10 --samples 0 --progress plain
      --optim adam --lr 0.003 --steps "$steps" --ckpt-every 10)

shm() { # shm NAME NP [ARGS...]: NP ranks on this machine, shared memory
    local name=$1 np=$2
    shift 2
    "$mpiexec" --oversubscribe -np "$np" "$s2s" train "${args[@]}" --run-dir "$name" "$@" \
        >"$name.log" 2>&1 || { cat "$name.log"; fail "$name: $np ranks over shared memory"; return 1; }
}
tcp() { # tcp NAME NODES SLOTS NP [ARGS...]: NP ranks on NODES emulated nodes of SLOTS slots
    local name=$1 nodes=$2 slots=$3 np=$4
    shift 4
    "$netemu" --nodes "$nodes" --slots "$slots" --link 1gbit --stats "$name.stats" -- \
        "$mpiexec" -np "$np" "$s2s" train "${args[@]}" --run-dir "$name" "$@" >"$name.log" 2>&1 ||
        { cat "$name.log"; fail "$name: $np ranks on $nodes emulated nodes"; return 1; }
}
# the least any node's link carried, in bytes
least_bytes() { awk 'NR == 1 || $2 < m { m = $2 } NR == 1 || $3 < m { m = $3 } END { print m + 0 }' "$1"; }
resume_from() { # resume_from CKPT DIR: DIR holds only CKPT, for --resume auto
    rm -rf "$2" && mkdir "$2" && cp "$1" "$2/"
}

# ---- 1. TCP across 2 nodes = shared memory -------------------------------------------------
shm whole 2 || exit 1
want=$(final_hash whole.log)
[ -n "$want" ] || { cat whole.log; echo "FAIL: no parameters hash"; exit 1; }
params=$(sed -n 's/.*, \([0-9]*\) parameters;.*/\1/p' whole.log | head -1)
[ -n "$params" ] || { cat whole.log; echo "FAIL: no parameter count in the start-up line"; exit 1; }
# A 2-rank allreduce of n floats makes each rank send and receive at least n x 4 bytes (each
# needs the other's contribution to every sum, or half of them and the other half's sums), so
# the gradients of the run carry steps x n x 4 bytes each way. Half of it still tells them from
# the runtime's own messages (kilobytes), and leaves room for gradients sent in a narrower type.
need=$((steps * params * 2))
if tcp tcp 2 1 2; then
    got=$(final_hash tcp.log)
    if [ "$got" = "$want" ] && "$params_diff" whole/ckpt-00000020.h5 tcp/ckpt-00000020.h5 0 >/dev/null; then
        ok "2 ranks on 2 nodes over TCP: bit-identical to shared memory (hash $got)"
    else
        fail "2 ranks over TCP: hash $got, over shared memory $want"
    fi
    least=$(least_bytes tcp.stats)
    if [ "$least" -ge "$need" ]; then
        ok "the gradients crossed the 1 Gb/s links: at least $least bytes each way per node (need $need)"
    else
        cat tcp.stats; fail "the links carried only $least bytes one way, less than $need: the gradients did not cross the emulated links"
    fi
fi
# The control: the same job with both ranks on node0 (2 slots) keeps its messages off the links
# (Open MPI's loopback inside the node), so the check above can tell.
if tcp local 2 2 2; then
    max=$(awk '{ if ($2 > m) m = $2; if ($3 > m) m = $3 } END { print m + 0 }' local.stats)
    [ "$max" -lt "$need" ] && ok "control, both ranks on node0: at most $max bytes on a link (< $need)" ||
        fail "control: ranks sharing a node put $max bytes on a link: the traffic check cannot tell"
    [ "$(final_hash local.log)" = "$want" ] || fail "control run: hash $(final_hash local.log), want $want"
fi

# ---- 2. a shared-memory checkpoint resumed over TCP ----------------------------------------
resume_from whole/ckpt-00000010.h5 same
if tcp same 2 1 2 --resume auto; then
    grep -q "resumed from same/ckpt-00000010.h5" same.log || fail "same: did not resume from step 10"
    [ "$(final_hash same.log)" = "$want" ] &&
        ok "resumed at step 10 on 2 nodes over TCP: bit-identical to the uninterrupted run" ||
        fail "resumed over TCP: hash $(final_hash same.log), uninterrupted $want"
fi

# ---- 3. resumed over TCP on another number of ranks ----------------------------------------
tol=$(drift_tol 10 0.003) # Adam, the 10 steps from 10 to 20 on other ranks
if shm one 1; then
    resume_from one/ckpt-00000010.h5 one_tcp
    resume_from one/ckpt-00000010.h5 one_shm
    if tcp one_tcp 2 1 2 --resume auto && shm one_shm 2 --resume auto; then
        grep -q "different number of ranks" one_tcp.log || fail "1 -> 2 ranks: the change not reported"
        [ "$(final_hash one_tcp.log)" = "$(final_hash one_shm.log)" ] &&
            ok "1-rank checkpoint resumed on 2 nodes over TCP: bit-identical to the same resume over shared memory" ||
            fail "1 -> 2 ranks: over TCP hash $(final_hash one_tcp.log), over shared memory $(final_hash one_shm.log)"
        "$params_diff" whole/ckpt-00000020.h5 one_tcp/ckpt-00000020.h5 "$tol" &&
            ok "1 -> 2 ranks over TCP: equal to the uninterrupted 2-rank run to tolerance $tol" ||
            fail "1 -> 2 ranks over TCP: differs from the uninterrupted run by more than $tol"
    fi
fi
if [ -e tcp/ckpt-00000010.h5 ]; then
    resume_from tcp/ckpt-00000010.h5 three
    if tcp three 3 1 3 --resume auto; then
        grep -q "different number of ranks" three.log || fail "2 -> 3 ranks: the change not reported"
        "$params_diff" whole/ckpt-00000020.h5 three/ckpt-00000020.h5 "$tol" &&
            ok "the TCP run's checkpoint resumed on 3 ranks on 3 nodes: equal to the uninterrupted run to tolerance $tol" ||
            fail "2 -> 3 ranks over TCP: differs from the uninterrupted run by more than $tol"
        [ "$(least_bytes three.stats)" -ge $((10 * params * 2)) ] ||
            { cat three.stats; fail "3 nodes: a link carried less than the gradients' share"; }
    fi
fi

echo "tcp: $failures failure(s)"
[ $failures -eq 0 ]
