#!/usr/bin/env bash
# launch.sh - starts an s2s job under mpirun (or srun) so that a stop request from outside ends
# it the documented way: the ranks write the checkpoint of their step and every process,
# this one included, exits 75 ("stopped, resume me"). docs/cluster.md explains the signals.
#
#   scripts/launch.sh [--srun] [--requeue] [--max-restarts N] [--] LAUNCHER-ARGUMENTS...
#   scripts/launch.sh -np 4 build/release/s2s train --data d.h5 --run-dir run --resume auto
#
# Why it exists: Open MPI's mpirun takes SIGTERM, SIGINT or SIGHUP sent to itself as an abort:
# it passes SIGTERM to the ranks, kills them a second later (odls_base_sigkill_timeout) whether
# or not their checkpoint is written, and exits 1. SIGUSR1 it forwards to every rank on every
# node and then lets the job end by itself, with the ranks' status; srun forwards it too, and
# returns the highest status of its tasks. So this script runs the launcher in a session of
# its own (a terminal's Ctrl-C reaches this script only) and turns the first SIGTERM, SIGINT,
# SIGHUP, SIGUSR1 or SIGUSR2 it receives into SIGUSR1 for the launcher; a second one aborts
# the launcher (SIGTERM), a third kills it. The exit status is the launcher's.
#
# Under SLURM (SLURM_JOB_ID set), after a stop (status 75):
#   --requeue        `scontrol requeue` this job: it starts again from the top of its script,
#                    whose `--resume auto` continues the run (the job needs sbatch --requeue)
#   --max-restarts N no more than N requeues of one job (default 50, SLURM_RESTART_COUNT)
# A complete run (status 0) or an error is not requeued. The launcher commands can be
# replaced (the tests do): S2S_MPIRUN, S2S_SRUN, S2S_SCONTROL.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"

me=launch.sh
launcher=${S2S_MPIRUN:-mpirun}
requeue=false
max_restarts=50
while [ $# -gt 0 ]; do
    case "$1" in
        --srun) launcher=${S2S_SRUN:-srun}; shift ;;
        --requeue) requeue=true; shift ;;
        --max-restarts) max_restarts=${2:?--max-restarts needs a number}; shift 2 ;;
        -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "$me: nothing to launch (see --help)" >&2
    exit 2
fi
case "$max_restarts" in ''|*[!0-9]*) echo "$me: --max-restarts wants a number" >&2; exit 2 ;; esac

# The launcher in a session of its own: no controlling terminal, so a Ctrl-C at the terminal
# reaches only this script, and reading a terminal stdin (mpirun forwards stdin to rank 0)
# never stops it. A background child of a non-interactive shell leads no process group, so
# setsid needs no fork and $! is the launcher itself.
setsid "$launcher" "$@" &
pid=$!
signals=0
# shellcheck disable=SC2317 # called by the traps below
on_signal() {
    signals=$((signals + 1))
    case $signals in
        1) echo "$me: SIG$1: asking the job to stop at its next safe point (the checkpoint of" \
                "the step is written, then every rank exits 75); a second signal aborts it" >&2
           kill -USR1 "$pid" 2>/dev/null ;;
        2) echo "$me: SIG$1 again: aborting the job (the newest checkpoint on disk stays valid)" >&2
           kill -TERM "$pid" 2>/dev/null ;;
        *) kill -KILL "$pid" 2>/dev/null ;;
    esac
}
for sig in TERM INT HUP USR1 USR2; do
    # shellcheck disable=SC2064
    trap "on_signal $sig" "$sig"
done

# wait returns early (above 128) whenever a trapped signal arrives: wait again until the
# launcher is gone. Its status: bash keeps the status of a background job it reaped while
# this script ran a trap, and gives it to the next wait (127: already collected).
status=0
while :; do
    wait "$pid"
    status=$?
    kill -0 "$pid" 2>/dev/null && continue
    if [ "$status" -gt 128 ]; then
        wait "$pid" 2>/dev/null
        again=$?
        [ "$again" -ne 127 ] && status=$again
    fi
    break
done
trap - TERM INT HUP USR1 USR2

if [ "$status" -eq 75 ] && $requeue; then
    count=${SLURM_RESTART_COUNT:-0}
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        echo "$me: stopped (75); --requeue needs a SLURM job (SLURM_JOB_ID is not set)" >&2
    elif [ "$count" -ge "$max_restarts" ]; then
        echo "$me: stopped (75) after $count requeues, the most --max-restarts allows; resume" \
             "with --resume auto" >&2
    elif "${S2S_SCONTROL:-scontrol}" requeue "$SLURM_JOB_ID"; then
        echo "$me: stopped (75): job $SLURM_JOB_ID requeued (restart $((count + 1)))" >&2
    else
        echo "$me: stopped (75), but scontrol requeue $SLURM_JOB_ID failed; resume with" \
             "--resume auto" >&2
    fi
fi
exit "$status"
