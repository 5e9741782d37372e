#!/bin/sh
# uts_host.sh PREFIX MOD CMD...: runs CMD (one rank of an mpirun) in a UTS
# namespace of its own whose host name is PREFIX followed by the rank's world
# rank modulo MOD, so ranks look like processes on different nodes (as Slurm
# names nodes) while they share this machine. Needs root (unshare --uts).
p=$1 mod=$2
shift 2
exec unshare --uts sh -c 'hostname "$0$(($OMPI_COMM_WORLD_RANK % $1))" && shift && exec "$@"' "$p" "$mod" "$@"
