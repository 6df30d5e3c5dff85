#!/usr/bin/env bash
# man_page.sh - the s2s(1) manual page, generated from the binary's own --help texts (as the
# README's option reference is, scripts/options_reference.sh), so that it cannot drift from the
# code: NAME, SYNOPSIS, the command list, each command's usage and options, exit statuses,
# environment, files. The build runs it (CMakeLists.txt) and `cmake --install` installs the
# page as share/man/man1/s2s.1.
#
#   scripts/man_page.sh S2S_BINARY > s2s.1
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: man_page.sh S2S_BINARY > s2s.1" >&2
    exit 2
fi
s2s=$1
if [ "$(id -u)" -eq 0 ]; then # the MPI commands start MPI even for --help
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" # as in options_reference.sh

# Text as roff: backslashes written as \e, hyphens as \- (so that options stay ASCII when
# copied from the rendered page), and a line that starts with . or ' escaped so that it is not
# read as a request.
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/[[:space:]]*$//'; }

version=$("$s2s" --version | sed -n '1s/^s2s //p')
cat <<EOF
.TH S2S 1 "" "s2s $version" "User Commands"
.SH NAME
s2s \\- distributed data-parallel trainer for RNN encoder-decoder models
.SH SYNOPSIS
.B s2s
.I command
.RI [ options ]
.br
.B mpirun -np
.I N
.B s2s train
.RI [ options ]
.br
.B s2s \\-\\-version
.SH DESCRIPTION
s2s trains recurrent encoder-decoder models (RNN, GRU, LSTM; Bahdanau and Luong attention) on
one or many MPI ranks, each running forward and backpropagation through time on its shard of
the data, with gradients summed by allreduce; datasets and checkpoints are HDF5 files, and a
stopped run resumes bit for bit. Options come from the command line or from
.B \\-\\-config
.IR FILE
(name = value lines); every command lists its own with
.BR \\-\\-help .
.SH COMMANDS
.nf
EOF
"$s2s" --help | sed -n '/^commands:/,/^$/p' | sed '1d;$d' | roff
echo ".fi"
# the commands `s2s --help` lists (src/main.c's table is the one list)
for cmd in $("$s2s" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
    echo ".SS s2s $cmd"
    echo ".nf"
    "$s2s" "$cmd" --help | roff
    echo ".fi"
done
cat <<'EOF'
.SH EXIT STATUS
.TP
.B 0
success (a training run: complete, or stopped early by \-\-early\-stop)
.TP
.B 1
an error; the message names the rank, the file and the cause
.TP
.B 2
a usage error (unknown option, missing value)
.TP
.B 75
a training run stopped by a signal after writing the checkpoint of its step: run the same
command with \-\-resume auto (scripts/launch.sh makes mpirun return it too)
.SH ENVIRONMENT
.TP
.B OPENBLAS_NUM_THREADS
OpenBLAS threads per process when \-\-threads is not given
.TP
.B OPENBLAS_CORETYPE
the OpenBLAS kernels, kept unless \-\-blas\-core says otherwise
.SH FILES
Datasets (s2s prep), checkpoints and parameter files (s2s train), attention files (s2s
translate \-\-attention) are HDF5 files that start with an integrity record; s2s info
describes any of them.
.SH SEE ALSO
.BR mpirun (1);
the README and docs/ of the source tree (share/doc/s2s when installed): training.md,
decoding.md, formats.md, cluster.md, scaling.md.
EOF
