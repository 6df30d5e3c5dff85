#!/usr/bin/env bash
# netemu.sh - an emulated cluster on this machine, for running s2s as across real nodes: N
# "nodes" (network namespaces with their own host names node0 .. nodeN-1) cabled by veth pairs
# to a switch (a bridge in a namespace of its own), each cable limited with tc's tbf to RATE in
# both directions, and COMMAND (an mpirun line) started on node0 with Open MPI set up as for a
# multi-node job: a host file of the nodes, a stand-in for ssh that starts each node's orted in
# that node's namespace, MPI messages on the TCP transport only (no shared memory, no UCX) and
# the runtime's own connections on the emulated links too. Prints the bytes each node sent and
# received; removes the namespaces on exit, on signals, and when killed (a watchdog process).
#
#   scripts/netemu.sh [--nodes N] [--link RATE] [--slots S] [--stats FILE] [--quiet]
#                     -- COMMAND [ARGS...]
#   scripts/netemu.sh --check       can this machine emulate? exit 0, or 77 with one line why
#   scripts/netemu.sh --measure [--link RATE]   TCP throughput from node0 to node1 (python3)
#   scripts/netemu.sh --cleanup     remove namespaces left behind by runs that were killed
#
# RATE is a tc rate (1gbit, 10gbit, 100mbit, ...) or unlimited (default 1gbit); N nodes
# (default 2) of S slots each (default 1), so rank k runs on node k/S. COMMAND runs as
# `mpirun -np 2 s2s train ...` would on node0 of a cluster: nothing in it changes, the
# settings reach Open MPI as OMPI_MCA_* variables; NETEMU_HOSTFILE and NETEMU_NODES are set.
# --stats FILE writes "nodeK SENT RECEIVED" (bytes on its link) per node. The first INT, TERM
# or HUP goes on to COMMAND, a second one kills it; the exit status is COMMAND's (a stop ends
# in 75 when COMMAND is scripts/launch.sh in front of mpirun: docs/cluster.md). Needs root
# (network namespaces), iproute2 (ip, tc), unshare and setsid (util-linux).
set -euo pipefail
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

# The emulated network: one private subnet, the same in every run (each run has its own
# namespaces, so concurrent runs never see each other's addresses).
net_prefix=10.77.0
net_cidr=$net_prefix.0/24
ns_tag=s2snet # namespace names: s2snet-PID-hub, s2snet-PID-node0, ... (PID: this script's)

die() { echo "netemu.sh: $*" >&2; exit 2; }
say() { [ "$quiet" = 1 ] || echo "netemu.sh: $*" >&2; }
quiet=0

# ---- modes that the script runs itself as --------------------------------------------------

# Stand-in for ssh (Open MPI's plm_rsh_agent): `netemu.sh --agent PREFIX HOST COMMAND...` runs
# the shell command line COMMAND inside HOST's namespace with HOST as its host name, as ssh
# runs it in a login shell there.
if [ "${1:-}" = --agent ]; then
    prefix=$2 host=$3
    shift 3
    [[ "$host" =~ ^node[0-9]+$ ]] && [ -e "/run/netns/$prefix$host" ] ||
        die "agent: no emulated node '$host' in this run (the host file names node0, node1, ...)"
    exec ip netns exec "$prefix$host" unshare --uts -- \
        sh -c 'hostname "$1" && shift && exec sh -c "$*"' sh "$host" "$@"
fi

# The processes inside PREFIX's namespaces killed and the namespaces removed; every step
# tolerates what is already gone (the watchdog and the script may both get here).
remove_namespaces() { # remove_namespaces PREFIX
    local ns pids
    for ns in $(ip netns list 2>/dev/null | awk -v p="$1" 'index($1, p) == 1 { print $1 }'); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        # shellcheck disable=SC2086 # one pid per word
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

# Watchdog: `netemu.sh --watchdog PREFIX WORKDIR` reads its standard input, a pipe whose only
# writer is the script, until the script is gone (even by SIGKILL), then removes what it left.
# It ignores the terminal's signals, which reach the whole process group.
if [ "${1:-}" = --watchdog ]; then
    trap '' INT TERM HUP
    cat >/dev/null || true
    remove_namespaces "$2"
    rm -rf "$3"
    exit 0
fi

# Namespaces of earlier runs whose script no longer lives (killed with its watchdog).
reap_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk -v t="$ns_tag-" 'index($1, t) == 1 { print $1 }'); do
        pid=${ns#"$ns_tag"-}
        pid=${pid%%-*}
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        if ! kill -0 "$pid" 2>/dev/null; then
            say "removing $ns, left behind by run $pid"
            remove_namespaces "$ns_tag-$pid-"
        fi
    done
}

# What this machine lacks for the emulation, in one line (empty: nothing).
missing() {
    local probe="$ns_tag-$$-probe" why=""
    if [ "$(id -u)" -ne 0 ]; then
        echo "needs root (network namespaces and tc); run it as root, e.g. with sudo"
        return
    fi
    for tool in ip tc unshare setsid; do
        command -v "$tool" >/dev/null || { echo "needs '$tool' (packages iproute2, util-linux)"; return; }
    done
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "cannot create network namespaces here (ip netns add failed: a container without CAP_SYS_ADMIN?)"
        return
    fi
    if ! ip -n "$probe" link add probe0 type veth peer name probe1 2>/dev/null; then
        why="cannot create veth pairs (kernel module veth)"
    elif ! tc -n "$probe" qdisc add dev probe0 root tbf rate 1gbit burst 256kb latency 50ms 2>/dev/null; then
        why="cannot shape a link with tc's tbf (kernel module sch_tbf)"
    elif ! ip netns exec "$probe" unshare --uts true 2>/dev/null; then
        why="cannot give a namespace its own host name (unshare --uts failed)"
    fi
    ip netns del "$probe" 2>/dev/null || true
    echo "$why"
}

# ---- options -------------------------------------------------------------------------------
mode=run
nodes=2
link=1gbit
slots=1
stats=""
while [ $# -gt 0 ]; do
    case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --link) link="$2"; shift 2 ;;
        --slots) slots="$2"; shift 2 ;;
        --stats) stats="$2"; shift 2 ;;
        --quiet) quiet=1; shift ;;
        --check) mode=check; shift ;;
        --measure) mode=measure; shift ;;
        --cleanup) mode=cleanup; shift ;;
        -h|--help) sed -n '2,23p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$nodes" =~ ^[1-9][0-9]?$ ]] && [ "$nodes" -le 64 ] || die "--nodes takes 1 to 64, not '$nodes'"
[[ "$slots" =~ ^[1-9][0-9]*$ ]] || die "--slots takes a positive integer, not '$slots'"
# tc's rate units in bits per second; the shaper's bucket holds 2 ms at the rate (at least 64 kB,
# more than one 64 kB segment of the veth's offloads), its queue 50 ms.
rate_bits=""
case "$link" in
    unlimited) ;;
    *) rate_bits=$(awk -v r="$link" 'BEGIN {
           if (!match(r, /^[0-9]+(\.[0-9]+)?(kbit|mbit|gbit|tbit)$/)) exit 1
           n = r + 0; u = substr(r, length(n "") + 1)
           m = u == "kbit" ? 1e3 : u == "mbit" ? 1e6 : u == "gbit" ? 1e9 : 1e12
           printf "%.0f\n", n * m }') ||
           die "--link takes a rate such as 100mbit, 1gbit, 10gbit, or unlimited, not '$link'" ;;
esac

case "$mode" in
    check)
        why=$(missing)
        if [ -n "$why" ]; then echo "netemu.sh: cannot emulate a network here: $why"; exit 77; fi
        echo "netemu.sh: this machine can emulate a network (root, namespaces, veth, tbf)"
        exit 0 ;;
    cleanup)
        [ "$(id -u)" -eq 0 ] || die "needs root to remove network namespaces"
        reap_stale
        exit 0 ;;
    measure)
        [ "$nodes" -ge 2 ] || nodes=2
        command -v python3 >/dev/null || die "--measure needs python3" ;;
    run)
        [ $# -gt 0 ] || die "no command to run (see --help): netemu.sh [options] -- mpirun ..." ;;
esac
why=$(missing)
if [ -n "$why" ]; then echo "netemu.sh: cannot emulate a network here: $why" >&2; exit 77; fi
case "$self" in *[[:space:]]*) die "cannot run from a path with blanks ($self): Open MPI splits its ssh agent's command line" ;; esac
reap_stale

# ---- the network ---------------------------------------------------------------------------
prefix="$ns_tag-$$-"
work=$(mktemp -d "${TMPDIR:-/tmp}/netemu.XXXXXX")
# The watchdog holds the read end of a pipe; the write end stays in this shell only.
exec {watch_fd}> >(exec setsid "$self" --watchdog "$prefix" "$work" >/dev/null 2>&1)
child=""
teardown() {
    local status=$?
    trap '' INT TERM HUP
    [ -z "$child" ] || kill -KILL -- "$child" 2>/dev/null || true
    remove_namespaces "$prefix"
    rm -rf "$work"
    exec {watch_fd}>&-
    exit "$status"
}
trap teardown EXIT

shape() { # shape NS DEV: egress of DEV limited to the rate
    [ -n "$rate_bits" ] || return 0
    local burst=$((rate_bits / 8 / 500))
    [ "$burst" -ge 65536 ] || burst=65536
    tc -n "$1" qdisc add dev "$2" root tbf rate "$rate_bits"bit burst "$burst" latency 50ms
}
hub="${prefix}hub"
ip netns add "$hub"
ip -n "$hub" link set lo up
ip -n "$hub" link add sw type bridge
ip -n "$hub" link set sw up
hosts="$work/hostfile"
: >"$hosts"
for ((k = 0; k < nodes; k++)); do
    ns="${prefix}node$k"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # eth0 in the node, port$k on the switch; both ends shaped: a full-duplex cable
    ip link add eth0 netns "$ns" type veth peer name "port$k" netns "$hub"
    ip -n "$hub" link set "port$k" master sw up
    ip -n "$ns" addr add "$net_prefix.$((k + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    shape "$ns" eth0
    shape "$hub" "port$k"
    echo "node$k slots=$slots" >>"$hosts"
done
say "$nodes nodes (node0 .. node$((nodes - 1)), $net_prefix.1 ..), links $link, $slots slot(s) each"

node_bytes() { # node_bytes K: "SENT RECEIVED" on node K's link
    ip netns exec "${prefix}node$1" sh -c \
        'echo "$(cat /sys/class/net/eth0/statistics/tx_bytes) $(cat /sys/class/net/eth0/statistics/rx_bytes)"'
}

# in_node0 COMMAND...: on node0 with its host name. Every process that outlives this script
# must not hold the watchdog's pipe: a simple command given {watch_fd}>&- (bash runs it without
# a shell of its own in between, also in the background).
in_node0=(ip netns exec "${prefix}node0" unshare --uts -- sh -c 'hostname node0 && exec "$@"' sh)

if [ "$mode" = measure ]; then
    # One TCP stream from node0 to node1 for about 2 s: what a large message can get.
    ip netns exec "${prefix}node1" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201)); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
while c.recv(1 << 20): pass' "$net_prefix.2" {watch_fd}>&- >"$work/listen.out" &
    child=$!
    for ((i = 0; i < 100; i++)); do grep -q ready "$work/listen.out" && break; sleep 0.05; done
    "${in_node0[@]}" python3 -c '
import socket, sys, time
s = socket.socket(); s.connect((sys.argv[1], 5201)); b = b"\0" * (1 << 20)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < 2: s.sendall(b); n += len(b)
s.shutdown(socket.SHUT_WR); s.recv(1); t = time.monotonic() - t0
print("netemu.sh: node0 -> node1 over a %s link: %.3f Gbit/s (one TCP stream, %d MB in %.2f s)"
      % (sys.argv[2], n * 8 / t / 1e9, n >> 20, t))' "$net_prefix.2" "$link" {watch_fd}>&-
    wait "$child"
    child=""
    exit 0
fi

# Open MPI as on a cluster of these nodes, set through its environment so that COMMAND needs no
# change: the host file; ssh replaced by this script's agent mode; ranks not bound to cores
# (every node's orted sees all of this machine's cores and would bind its ranks to the same
# ones); MPI messages through ob1 on the TCP BTL on the emulated subnet only (no vader shared
# memory, no UCX, whose own shared-memory transports bypass the BTL list); the runtime's TCP on
# that subnet too; session directories in this run's own directory; the rsh launcher even under
# a scheduler's allocation.
export NETEMU_HOSTFILE="$hosts" NETEMU_NODES="$nodes"
export OMPI_MCA_orte_default_hostfile="$hosts"
export OMPI_MCA_plm=rsh OMPI_MCA_ras=^slurm,gridengine
export OMPI_MCA_plm_rsh_agent="$self --agent $prefix"
export OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=$net_cidr
export OMPI_MCA_oob_tcp_if_include=$net_cidr
export OMPI_MCA_orte_tmpdir_base="$work"
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# COMMAND in the background, so that a signal's trap runs at once: the first INT, TERM or HUP
# goes on to COMMAND (mpirun passes it to the ranks, which checkpoint and stop), a second one
# ends it outright; either way the network comes down after COMMAND. COMMAND gets a session of
# its own, so that a signal to this script's whole process group (a terminal's Ctrl-C, a
# scheduler) reaches it once, through here, not twice (mpirun takes a second INT or TERM as
# "abort now"); and the default action for INT and QUIT, which bash ignores in background
# commands.
signalled=0
on_signal() {
    signalled=$((signalled + 1))
    if [ "$signalled" -eq 1 ]; then kill -"$1" "$child" 2>/dev/null || true
    else kill -KILL "$child" 2>/dev/null || true; fi
}
for sig in INT TERM HUP; do
    # shellcheck disable=SC2064 # the signal's name now
    trap "on_signal $sig" "$sig"
done
setsid env --default-signal=INT,QUIT "${in_node0[@]}" "$@" <&0 {watch_fd}>&- &
child=$!
# A trapped signal interrupts wait (status 128+N) with COMMAND still running: wait again. When
# COMMAND ended just before the signal, its status was collected already (127 then).
status=0 collected=0
while :; do
    before=$signalled
    wait "$child" && st=0 || st=$?
    [ "$st" -eq 127 ] && [ "$collected" = 1 ] && break
    status=$st collected=1
    [ "$signalled" -ne "$before" ] || break
done
child=""
{
    for ((k = 0; k < nodes; k++)); do echo "node$k $(node_bytes $k)"; done
} >"$work/stats"
[ -z "$stats" ] || cp "$work/stats" "$stats"
say "bytes on the links: $(awk '{ printf "%s%s sent %.1f MB, received %.1f MB", (NR > 1 ? "; " : ""),
    $1, $2 / 1e6, $3 / 1e6 }' "$work/stats")"
exit "$status"
