#!/usr/bin/env bash
# A world size that is not a multiple of 3 must give one clear line on rank 0
# and a non-zero exit, within a bounded time (no hang).
# usage: worldsize.sh MPIEXEC MPCT NP
set -u
mpiexec=$1 mpct=$2 np=$3
out=$(timeout 60 "$mpiexec" -n "$np" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp \
      "$mpct" demo 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 124 ]; then echo "FAIL: mpct hung with $np ranks"; exit 1; fi
if [ "$rc" -eq 0 ]; then echo "FAIL: mpct exited 0 with $np ranks"; exit 1; fi
n=$(grep -c "world size $np is not a multiple of 3" <<<"$out")
if [ "$n" -ne 1 ]; then echo "FAIL: expected the message exactly once, got $n"; exit 1; fi
echo "PASS: $np ranks -> exit $rc with one clear message"
