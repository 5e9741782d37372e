#!/usr/bin/env bash
# shellcheck disable=SC2001  # sed indents a multi-line text
# Asks Open MPI's own mapper where an mpirun line puts its ranks, without
# launching anything (mpirun --display-map --do-not-launch on made-up hosts),
# and checks that the three ranks 3r, 3r+1, 3r+2 of every replica r (parties
# P0, P1, P2) are on three different hosts. Prints one line per replica.
# usage: ompi_map_check.sh HOSTS MPIRUN_ARGS...
#   HOSTS  the allocation, as mpirun --host takes it: "a:2,b:2,c:2" (host:slots)
# Exit 0: every replica on 3 distinct hosts; 1: some replica is not (or a rank
# is missing from the map); 2: usage; 77: no mpirun.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: ompi_map_check.sh HOSTS MPIRUN_ARGS..." >&2; exit 2; }
hosts=$1; shift
command -v mpirun >/dev/null 2>&1 || { echo "ompi_map_check: mpirun not found" >&2; exit 77; }
root=(); [ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
map=$(timeout 60 mpirun "${root[@]}" --host "$hosts" --bind-to none --display-map --do-not-launch "$@" true 2>&1)
awk '
  /Data for node:/ { node = $4 }
  /Process rank:/ { for (i = 1; i <= NF; i++) if ($i == "rank:") { host[$(i + 1)] = node; if ($(i + 1) + 1 > n) n = $(i + 1) + 1 } }
  END {
    if (n == 0 || n % 3) { printf "no map of a multiple of 3 ranks (%d ranks)\n", n; exit 1 }
    bad = 0
    for (r = 0; r < n / 3; r++) {
      a = host[3*r]; b = host[3*r+1]; c = host[3*r+2]
      ok = a != "" && b != "" && c != "" && a != b && b != c && a != c
      printf "replica %d: P0 %s, P1 %s, P2 %s%s\n", r, a, b, c, ok ? "" : "   <-- two parties on one node"
      if (!ok) bad = 1
    }
    exit bad
  }' <<<"$map" || { echo "---- mpirun --host $hosts $* --display-map:"; sed 's/^/   | /' <<<"$map"; exit 1; }
