#!/usr/bin/env bash
# scaling.sh - data-parallel scaling experiments: runs `s2s bench` for a fixed number of steps
# at 1, 2, ... N MPI ranks, with weak scaling (a fixed batch per rank) and strong scaling (a
# fixed global batch split over the ranks), and writes OUT/scaling.csv (throughput, step time
# split into compute, exposed communication and waiting for slower ranks, speedup, efficiency)
# and OUT/scaling.png (speedup and efficiency against ideal). docs/scaling.md explains the
# columns and how to read them. With --link RATE every point runs on an emulated cluster of
# this machine (scripts/netemu.sh: one rank per network namespace, links limited to RATE, MPI
# on TCP only; needs root), so that the network, not shared memory, carries the gradients.
#
#   scripts/scaling.sh [--ranks 1,2,4] [--preset attn-512] [--threads 1] [--out DIR]
#                      [--hostfile FILE] [--mode weak|strong|both] [--batch N]
#                      [--strong-batch N] [--steps N] [--warmup N] [--repeat R]
#                      [--bucket-mb M] [--link RATE] [--s2s PATH] [-- extra s2s bench options]
#
# Defaults: ranks 1..(cores of this machine), preset attn-512, 1 thread per rank, out
# scaling-out, both modes, the preset's batch per rank (weak) and as the global batch (strong),
# 10 timed steps after 2 warm-up steps, each point run once (--repeat 3 keeps the run with the
# median throughput and reports the spread). With a host file the ranks are placed by mpirun
# from it; without, on this machine, with --oversubscribe when ranks x threads exceed its cores.
# --link 1gbit|10gbit|unlimited|<tc rate> (not with --hostfile): P ranks on P emulated nodes of
# one slot, every link shaped to RATE in both directions (unlimited: veth at the machine's speed);
# the bytes each node's link carried go to OUT/raw/*.links.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"

cores=$(nproc)
ranks_list=""
preset=attn-512
threads=1
out=scaling-out
hostfile=""
mode=both
batch=""
strong_batch=""
steps=10
warmup=2
repeat=1
bucket_mb=""
link=""
s2s=$(s2s_binary "$root")
extra=()

die() { echo "scaling.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --ranks) ranks_list="$2"; shift 2 ;;
        --preset) preset="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --hostfile) hostfile="$2"; shift 2 ;;
        --mode) mode="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --strong-batch) strong_batch="$2"; shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --bucket-mb) bucket_mb="$2"; shift 2 ;;
        --link) link="$2"; shift 2 ;;
        --s2s) s2s="$2"; shift 2 ;;
        -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
case "$mode" in weak) modes=(weak) ;; strong) modes=(strong) ;; both) modes=(weak strong) ;;
    *) die "--mode must be weak, strong or both, not '$mode'" ;; esac
[ -n "$s2s" ] && [ -x "$s2s" ] || die "no s2s binary${s2s:+ at $s2s} (build it: cmake -S . -B build/release && cmake --build build/release --target s2s; or set S2S, pass --s2s PATH, or put s2s on PATH)"
[ -z "$hostfile" ] || [ -r "$hostfile" ] || die "cannot read host file '$hostfile'"
command -v mpirun >/dev/null || die "mpirun not found (install Open MPI: scripts/deps.sh)"
netemu="$root/scripts/netemu.sh"
if [ -n "$link" ]; then
    [ -z "$hostfile" ] || die "--link emulates the nodes on this machine: it does not take --hostfile"
    why=$("$netemu" --check) || die "--link: ${why#netemu.sh: }"
fi
py=$(command -v python3 || true)
[ -n "$py" ] || die "python3 is needed to turn the benchmark's JSON into the CSV"
if [ -z "$ranks_list" ]; then
    ranks_list=$(seq -s, 1 "$cores")
fi
IFS=, read -r -a ranks <<<"$ranks_list"

mkdir -p "$out/raw"
mpi_version=$(mpirun --version 2>&1 | head -n1)
is_ompi=0
case "$mpi_version" in *"Open MPI"*|*OpenRTE*) is_ompi=1 ;; esac
{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -nm), $cores cores; $(uptime)"
    echo "mpi: $mpi_version"
    echo "s2s: $s2s; preset $preset, threads $threads, steps $steps, warmup $warmup, repeat $repeat"
    echo "hostfile: ${hostfile:-none}; extra bench options: ${extra[*]:-none}"
    if [ -n "$link" ]; then
        echo "network: emulated by scripts/netemu.sh, one rank per node, links $link, MPI on TCP"
    else
        echo "network: as mpirun chooses (shared memory within a node)"
    fi
} >"$out/environment.txt"

# One benchmark run; prints the path of its JSON line.
run_point() { # mode ranks rep
    local m=$1 p=$2 rep=$3 name args=()
    name="$out/raw/${m}_r${p}_t${threads}_${rep}"
    args=(-np "$p")
    [ -n "$hostfile" ] && args+=(--hostfile "$hostfile")
    if [ "$is_ompi" = 1 ]; then
        # OpenBLAS threads reach every rank, also on other nodes.
        args+=(-x "OPENBLAS_NUM_THREADS=$threads")
        # (emulated nodes have one slot per rank: mpirun sees no oversubscription)
        [ -n "$hostfile" ] || [ -n "$link" ] || [ $((p * threads)) -le "$cores" ] || args+=(--oversubscribe)
        [ "$threads" -eq 1 ] || args+=(--bind-to none)
    fi
    local bench=(bench --preset "$preset" --threads "$threads" --steps "$steps" --warmup "$warmup")
    [ -z "$bucket_mb" ] || bench+=(--bucket-mb "$bucket_mb")
    if [ "$m" = strong ]; then
        bench+=(--strong)
        [ -z "$strong_batch" ] || bench+=(--batch "$strong_batch")
    else
        [ -z "$batch" ] || bench+=(--batch "$batch")
    fi
    local launch=()
    [ -z "$link" ] || launch=("$netemu" --quiet --nodes "$p" --link "$link" --stats "$name.links" --)
    echo "scaling.sh: $m scaling, $p ranks x $threads threads (run $rep)${link:+, $p nodes on $link links}: mpirun ${args[*]} s2s ${bench[*]} ${extra[*]}" >&2
    OPENBLAS_NUM_THREADS=$threads ${launch[@]+"${launch[@]}"} mpirun "${args[@]}" "$s2s" "${bench[@]}" \
        "${extra[@]}" >"$name.out" 2>"$name.log" ||
        { tail -n 20 "$name.log" >&2; die "benchmark failed ($name.log)"; }
    tail -n 1 "$name.out" >"$name.json"
    grep -q '"tokens_per_s"' "$name.json" || die "no JSON result in $name.out"
    grep -v '^{' "$name.out" >&2 || true
}

for m in "${modes[@]}"; do
    for p in "${ranks[@]}"; do
        [[ "$p" =~ ^[1-9][0-9]*$ ]] || die "--ranks takes positive integers, got '$p'"
        for rep in $(seq 1 "$repeat"); do
            run_point "$m" "$p" "$rep"
        done
    done
done

"$py" "$root/scripts/plot_scaling.py" csv "$out/raw" "$out/scaling.csv"
echo "scaling.sh: wrote $out/scaling.csv"

# The plot needs matplotlib: the first python that imports it.
plot_py=""
for cand in "${PYTHON:-}" /usr/bin/python3 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null && "$cand" -c 'import matplotlib' 2>/dev/null; then
        plot_py=$cand
        break
    fi
done
if [ -n "$plot_py" ]; then
    MPLBACKEND=Agg "$plot_py" "$root/scripts/plot_scaling.py" plot "$out/scaling.csv" "$out/scaling.png"
    echo "scaling.sh: wrote $out/scaling.png"
else
    echo "scaling.sh: no plot: no python3 here imports matplotlib (tried \$PYTHON, /usr/bin/python3" \
         "and python3 on PATH); install it (apt-get install python3-matplotlib, or pip install" \
         "matplotlib) and run: python3 scripts/plot_scaling.py plot $out/scaling.csv $out/scaling.png" >&2
fi
