#!/usr/bin/env bash
# shellcheck disable=SC2001,SC2015,SC2016  # ok() never fails; single quotes are meant
# Checks the Slurm scripts without a Slurm cluster: syntax, settings, clear
# errors, exit status propagation (through a stand-in mpirun), merge.sh, and
# the rank placement plans of mpct-multinode/mpct-replicas (dry runs with a
# made-up node list). Uses `scontrol show hostnames` with a throw-away
# slurm.conf when scontrol is installed; those cases are skipped otherwise.
# usage: slurm_scripts.sh SLURM_SCRIPT_DIR
set -uo pipefail
sdir=$(readlink -f "${1:?usage: slurm_scripts.sh SLURM_SCRIPT_DIR}")
here=$(cd "$(dirname "$0")" && pwd)   # ompi_map_check.sh
tmp=$(mktemp -d /tmp/mpct-slurm-scripts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fails=0 checks=0
ok()  { checks=$((checks + 1)); echo "ok   $*"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL $*"; }
# expect NAME RC PATTERN -- command...: exit status RC and PATTERN in the output
expect() {
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$(env -u SLURM_JOB_ID "$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$pat" <<<"$out"; then ok "$name"
  else bad "$name (exit $rc, want $want; pattern '$pat')"; sed 's/^/     | /' <<<"$out"; fi
}

scripts=(mpct-node.sbatch mpct-multinode.sbatch mpct-replicas.sbatch mpct-array.sbatch merge.sh submit-array.sh
         mpct-warm.sbatch mpct-party.sbatch)
for s in "${scripts[@]}"; do
  f=$sdir/$s
  [ -x "$f" ] || { bad "$s missing or not executable"; continue; }
  bash -n "$f" && ok "$s: syntax" || bad "$s: syntax"
  grep -q '^set -euo pipefail' "$f" && ok "$s: set -euo pipefail" || bad "$s: no 'set -euo pipefail'"
done
for s in "${scripts[@]}"; do
  ! grep -q 'once `mpct run' "$sdir/$s" && ok "$s: no note on a 'run' still to land" || bad "$s: stale note that mpct run has not landed"
done
! grep -rn '%03d.jsonl\|shard-[0-9]*\.jsonl' "$sdir" && ok "no .jsonl shard names (inputs are one text per line)" || bad ".jsonl in slurm/"
if diff <(sed -n '/^# ---- placement/,/^# ---- end of placement/p' "$sdir/mpct-array.sbatch") \
        <(sed -n '/^# ---- placement/,/^# ---- end of placement/p' "$sdir/mpct-warm.sbatch") >/dev/null &&
   grep -q '^placement() ' "$sdir/mpct-array.sbatch"; then
  ok "array and warm share an identical placement block"
else bad "mpct-array.sbatch and mpct-warm.sbatch placement blocks differ"; fi
if diff <(sed -n '/^# ---- common body/,$p' "$sdir/mpct-multinode.sbatch") \
        <(sed -n '/^# ---- common body/,$p' "$sdir/mpct-replicas.sbatch") >/dev/null; then
  ok "multinode and replicas share an identical body"
else bad "mpct-multinode.sbatch and mpct-replicas.sbatch bodies differ below '# ---- common body'"; fi

# stand-in mpct and mpirun: the fake launcher prints its arguments and exits $FAKE_RC
printf '#!/bin/sh\necho "fake mpct $*"\n' >"$tmp/mpct"
cat >"$tmp/mpirun" <<'FAKE'
#!/bin/sh
# stand-in mpirun: prints its arguments; writes "output of FILE" to the file
# after --out unless FAKE_NO_OUT=1; exits $FAKE_RC
echo "fake mpirun $*"
echo "result OK"
prev=""
for a in "$@"; do
  if [ "$prev" = --out ] && [ "${FAKE_NO_OUT:-0}" != 1 ]; then echo "output of $a" >"$a"; fi
  prev=$a
done
exit ${FAKE_RC:-0}
FAKE
chmod +x "$tmp/mpct" "$tmp/mpirun"
F=(MPCT_MPIRUN="$tmp/mpirun" MPCT_BIN="$tmp/mpct" PATH="/usr/bin:/bin:/usr/sbin:/sbin")
printf '[model]\npath = m.h5\n' >"$tmp/j.ini"   # MPCT_JOB=j.ini (relative: the scripts run in $tmp)
# launchline OUTPUT: the mpirun arguments of a script's printed launch command (between mpirun and mpct)
launchline() { sed -n "s|.*: $tmp/mpirun \(.*\) $tmp/mpct .*|\1|p" <<<"$1" | head -n1; }
# mapped NAME HOSTS OUTPUT: Open MPI's own mapper (ompi_map_check.sh, no launch) on the printed line with the
# allocation HOSTS: every replica's three parties on three different nodes
mapped() {
  local line o rc
  line=$(launchline "$3")
  [ -n "$line" ] || { bad "$1: no launch line in the output"; sed 's/^/     | /' <<<"$3"; return; }
  read -r -a la <<<"$line"
  o=$("$here/ompi_map_check.sh" "$2" "${la[@]}" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then ok "$1 (Open MPI maps '$line' on $2: $(grep -c '^replica' <<<"$o") replica(s), 3 nodes each)"
  elif [ $rc -eq 77 ]; then echo "note: $1 skipped (no mpirun)"
  else bad "$1: Open MPI maps '$line' with two parties of a replica on one node"; sed 's/^/     | /' <<<"$o"; fi
}

# --- mpct-node.sbatch (one node: only when asked for, MPCT_SINGLE_NODE=1) -------------------
N=("${F[@]}" MPCT_SINGLE_NODE=1)
expect "node: one node refused unless asked for (MPCT_SINGLE_NODE=1)" 2 \
  "runs the 3 parties of a replica on ONE node, which gives no isolation.*mpct-multinode.sbatch.*MPCT_SINGLE_NODE=1" -- \
  "${F[@]}" MPCT_JOB=j.ini bash "$sdir/mpct-node.sbatch"
o=$(env "${N[@]}" MPCT_JOB=j.ini bash "$sdir/mpct-node.sbatch" 2>&1)
[ "$(grep -c 'warning: MPCT_SINGLE_NODE=1: the 3 parties of each replica share one node, which gives no isolation' <<<"$o")" = 1 ] &&
  ok "node: MPCT_SINGLE_NODE=1 -> one warning line that one node gives no isolation" || { bad "node: warning"; echo "$o"; }
expect "node: MPCT_JOB -> 'mpirun -np 3 ... mpct run \$MPCT_JOB'" 0 "fake mpirun -np 3 --oversubscribe $tmp/mpct run j.ini$" -- \
  "${N[@]}" MPCT_JOB=j.ini bash "$sdir/mpct-node.sbatch"
read -r -a la <<<"$(launchline "$(env "${N[@]}" MPCT_JOB=j.ini MPCT_DRY_RUN=1 bash "$sdir/mpct-node.sbatch" 2>&1)")"
o=$("$here/ompi_map_check.sh" n1:3 "${la[@]}" 2>&1)
[ $? -eq 1 ] && grep -q "replica 0: P0 n1, P1 n1, P2 n1   <-- two parties on one node" <<<"$o" &&
  ok "node: MPCT_SINGLE_NODE=1 line: all parties on the one node, as asked (and the mapper check sees it)" ||
  { bad "node: the map check did not flag the single-node line"; echo "$o"; }
expect "node: neither MPCT_JOB nor MPCT_CMD -> clear error" 2 "MPCT_JOB is not set: set MPCT_JOB=job.ini.*or MPCT_CMD" -- \
  "${N[@]}" bash "$sdir/mpct-node.sbatch"
expect "node: MPCT_JOB file missing -> clear error" 1 "job file not found: 'nope.ini' \(MPCT_JOB\)" -- \
  "${N[@]}" MPCT_JOB=nope.ini bash "$sdir/mpct-node.sbatch"
expect "node: runs 'mpirun -np 3 ... mpct demo'" 0 "fake mpirun -np 3 --oversubscribe $tmp/mpct demo" -- \
  "${N[@]}" MPCT_CMD=demo bash "$sdir/mpct-node.sbatch"
expect "node: MPCT_CMD and MPCT_MPIRUN_ARGS passed" 0 "-np 3 -x Y $tmp/mpct bench ops --json" -- \
  "${N[@]}" MPCT_CMD="bench ops --json" MPCT_MPIRUN_ARGS="-x Y" bash "$sdir/mpct-node.sbatch"
expect "node: MPI job exit status 5 propagated" 5 "exit status 5" -- \
  "${N[@]}" MPCT_JOB=j.ini FAKE_RC=5 bash "$sdir/mpct-node.sbatch"
expect "node: mpct not found -> 127, clear message" 127 "mpct not found.*MPCT_BIN" -- \
  "${N[@]}" MPCT_JOB=j.ini MPCT_BIN="$tmp/nope/mpct" bash "$sdir/mpct-node.sbatch"
expect "node: default MPCT_BIN from SLURM_SUBMIT_DIR/build" 127 "'$tmp/sub/build/mpct'" -- \
  MPCT_SINGLE_NODE=1 MPCT_JOB=j.ini MPCT_MPIRUN="$tmp/mpirun" PATH=/usr/bin:/bin SLURM_SUBMIT_DIR="$tmp/sub" bash "$sdir/mpct-node.sbatch"
expect "node: 4 ranks refused" 2 "not a positive multiple of 3" -- \
  "${N[@]}" MPCT_JOB=j.ini SLURM_NTASKS=4 bash "$sdir/mpct-node.sbatch"
expect "node: 6 ranks = 2 replicas" 0 "6 ranks = 2 replica" -- \
  "${N[@]}" MPCT_JOB=j.ini SLURM_NTASKS=6 bash "$sdir/mpct-node.sbatch"
expect "node: an allocation of 3 nodes refused (one-node script)" 2 "runs on one node, but the job has 3 nodes" -- \
  "${N[@]}" MPCT_JOB=j.ini SLURM_JOB_NUM_NODES=3 bash "$sdir/mpct-node.sbatch"

# --- mpct-array.sbatch (inside a 3-node allocation: one node per party) ---------------------------
out=$tmp/out
A=("${F[@]}" SLURM_JOB_NUM_NODES=3 SLURM_TASKS_PER_NODE='1(x3)')
expect "array: neither MPCT_JOB nor MPCT_CMD -> clear error" 2 "MPCT_JOB is not set: set MPCT_JOB=job.ini.*or MPCT_CMD" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
expect "array: MPCT_JOB file missing -> clear error" 1 "job file not found: 'nope.ini'" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" MPCT_JOB=nope.ini bash "$sdir/mpct-array.sbatch"
expect "array: not in an allocation -> refused (3 nodes needed)" 2 "not inside a Slurm allocation.*MPCT_SINGLE_NODE=1" -- \
  "${F[@]}" MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
expect "array: 1 node -> refused" 2 "3 different nodes, but the job has 1 node" -- \
  "${F[@]}" SLURM_JOB_NUM_NODES=1 MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
expect "array: uneven tasks per node -> refused" 2 "needs 2 task\(s\) on node 3 of the job, but it has 3" -- \
  "${F[@]}" SLURM_JOB_NUM_NODES=4 SLURM_TASKS_PER_NODE='3,2,3,1' MPCT_NP=9 MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 \
  MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
o=$(env "${F[@]}" MPCT_SINGLE_NODE=1 MPCT_DRY_RUN=1 MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch" 2>&1)
[ "$(grep -c 'warning: MPCT_SINGLE_NODE=1: the 3 parties of each replica share one node, which gives no isolation' <<<"$o")" = 1 ] &&
  grep -q "mpirun -np 3 --oversubscribe $tmp/mpct demo" <<<"$o" &&
  ok "array: MPCT_SINGLE_NODE=1 -> one node, one warning line" || { bad "array: MPCT_SINGLE_NODE=1"; echo "$o"; }
expect "array: shard 2 writes shard-2.out" 0 "shard 2 exit status 0" -- \
  "${A[@]}" MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
grep -q "fake mpirun -np 3 --map-by node --oversubscribe $tmp/mpct demo" "$out/shard-2.out" 2>/dev/null &&
  ok "array: shard-2.out holds mpct's output" || bad "array: shard-2.out content"
mkdir -p "$tmp/in"; echo x >"$tmp/in/shard-007.txt"
expect "array: {shard} {input} {output} substituted" 0 "mpct run j.ini --shard 7 --in $tmp/in/shard-007.txt --out $out/shard-7.partial.[0-9]+.h5 > $out/shard-7.log" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=7 MPCT_OUT_DIR="$out" MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" MPCT_SHARD_EXT=h5 \
  MPCT_CMD="run j.ini --shard {shard} --in {input} --out {output}" bash "$sdir/mpct-array.sbatch"
grep -q "output of $out/shard-7.partial" "$out/shard-7.h5" 2>/dev/null && grep -q "result OK" "$out/shard-7.log" &&
  ok "array: mpct-written {output} renamed to shard-7.h5, stdout in shard-7.log" || bad "array: {output} handling"
expect "array: {output} not written -> error" 1 "exited 0 but wrote no" -- \
  "${A[@]}" FAKE_NO_OUT=1 SLURM_ARRAY_TASK_ID=8 MPCT_OUT_DIR="$out" MPCT_CMD="run j.ini --out {output}" bash "$sdir/mpct-array.sbatch"
[ ! -e "$out/shard-8.out" ] && ok "array: ... and no shard-8.out" || bad "array: shard-8.out exists"
expect "array: missing shard input named" 1 "input of shard 3 not found: '$tmp/in/shard-003.txt'" -- \
  "${A[@]}" MPCT_CMD=demo SLURM_ARRAY_TASK_ID=3 MPCT_OUT_DIR="$out" MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" bash "$sdir/mpct-array.sbatch"
expect "array: failing shard -> its exit status" 3 "shard 4 exit status 3" -- \
  "${A[@]}" MPCT_CMD=demo FAKE_RC=3 SLURM_ARRAY_TASK_ID=4 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
[ ! -e "$out/shard-4.out" ] && ok "array: failed shard leaves no shard-4.out" || bad "array: failed shard left shard-4.out"
expect "array: no shard number -> clear error" 2 "no shard number" -- \
  "${A[@]}" MPCT_CMD=demo MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch"
printf 'a\nb\nc\n' >"$tmp/in/shard-000.txt"; printf 'd\ne\nf\ng' >"$tmp/in/shard-001.txt"; echo h >"$tmp/in/shard-002.txt"
expect "array: MPCT_JOB -> mpct run, HDF5 shard, --row-offset = lines of shards 0..i-1" 0 \
  "mpirun -np 3 --map-by node --oversubscribe $tmp/mpct run j.ini --inputs $tmp/in/shard-002.txt --output $out/shard-2.partial.[0-9]+.h5 --row-offset 7 > $out/shard-2.log" -- \
  "${A[@]}" MPCT_DRY_RUN=1 SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  bash "$sdir/mpct-array.sbatch"
expect "array: MPCT_CACHE_DIR adds --cache-dir to the run" 0 "--row-offset 7 --cache-dir /scratch/c >" -- \
  "${A[@]}" MPCT_DRY_RUN=1 SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-array.sbatch"
printf '[model]\npath = m.h5\n' >"$tmp/warm.ini"
expect "warm: mpct warm JOB --cache-dir DIR on 3 ranks, one node each" 0 \
  "-np 3 --map-by node .*warm $tmp/warm.ini --cache-dir /scratch/c" -- \
  "${A[@]}" MPCT_DRY_RUN=1 MPCT_JOB="$tmp/warm.ini" MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-warm.sbatch"
expect "warm: 2 nodes -> refused" 2 "3 different nodes, but the job has 2 node" -- \
  "${F[@]}" SLURM_JOB_NUM_NODES=2 MPCT_DRY_RUN=1 MPCT_JOB="$tmp/warm.ini" MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-warm.sbatch"
o=$(env "${F[@]}" MPCT_SINGLE_NODE=1 MPCT_DRY_RUN=1 MPCT_JOB="$tmp/warm.ini" MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-warm.sbatch" 2>&1)
[ "$(grep -c 'warning: MPCT_SINGLE_NODE=1: .* no isolation' <<<"$o")" = 1 ] && ! grep -q -- '--map-by node' <<<"$o" &&
  ok "warm: MPCT_SINGLE_NODE=1 -> one node, one warning line" || { bad "warm: MPCT_SINGLE_NODE=1"; echo "$o"; }
expect "warm: no MPCT_CACHE_DIR -> clear error" 2 "MPCT_CACHE_DIR .* is not set" -- \
  "${A[@]}" MPCT_JOB="$tmp/warm.ini" bash "$sdir/mpct-warm.sbatch"
expect "warm: missing job file -> clear error" 1 "job file not found" -- \
  "${A[@]}" MPCT_JOB="$tmp/nope.ini" MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-warm.sbatch"
mapped "array: the default launch line" "n1:1,n2:1,n3:1" \
  "$(env "${A[@]}" MPCT_DRY_RUN=1 MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" bash "$sdir/mpct-array.sbatch" 2>&1)"
mapped "array: 2 replicas per shard on 3 nodes" "n1:2,n2:2,n3:2" \
  "$(env "${A[@]}" SLURM_TASKS_PER_NODE='2(x3)' MPCT_NP=6 MPCT_DRY_RUN=1 MPCT_CMD=demo SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" \
     bash "$sdir/mpct-array.sbatch" 2>&1)"
mapped "warm: the default launch line" "n1:1,n2:1,n3:1" \
  "$(env "${A[@]}" MPCT_DRY_RUN=1 MPCT_JOB="$tmp/warm.ini" MPCT_CACHE_DIR=/scratch/c bash "$sdir/mpct-warm.sbatch" 2>&1)"
expect "array: shard 0's --row-offset is 0" 0 "--row-offset 0 >" -- \
  "${A[@]}" MPCT_DRY_RUN=1 SLURM_ARRAY_TASK_ID=0 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  bash "$sdir/mpct-array.sbatch"
expect "array: {row_offset} without MPCT_SHARD_INPUTS -> clear error" 2 "needs MPCT_SHARD_INPUTS" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=1 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini bash "$sdir/mpct-array.sbatch"
echo i >"$tmp/in/shard-004.txt"
expect "array: {row_offset} with an earlier shard's input missing" 1 "input of shard 3 not found.*shard 4's \{row_offset\}" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=4 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  bash "$sdir/mpct-array.sbatch"

printf '0\n3\n100\n' >"$tmp/offsets"
expect "array: MPCT_ROW_OFFSETS file gives shard 2's offset (no counting)" 0 "--row-offset 100 >" -- \
  "${A[@]}" MPCT_DRY_RUN=1 SLURM_ARRAY_TASK_ID=2 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  MPCT_ROW_OFFSETS="$tmp/offsets" bash "$sdir/mpct-array.sbatch"
expect "array: MPCT_ROW_OFFSETS without shard 4's line -> clear error" 1 "no number on line 5 \(shard 4\)" -- \
  "${A[@]}" SLURM_ARRAY_TASK_ID=4 MPCT_OUT_DIR="$out" MPCT_JOB=j.ini MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt" \
  MPCT_ROW_OFFSETS="$tmp/offsets" bash "$sdir/mpct-array.sbatch"

# --- submit-array.sh (a stand-in sbatch logs its calls and prints a job id) ---------------------
cat >"$tmp/sbatch" <<'FAKE'
#!/bin/sh
echo "sbatch $* ROW_OFFSETS=${MPCT_ROW_OFFSETS:-none}" >>"$SBATCH_LOG"
echo 4242
FAKE
chmod +x "$tmp/sbatch"
S=(PATH="$tmp:/usr/bin:/bin" SBATCH_LOG="$tmp/sbatch.log" MPCT_OUT_DIR="$tmp/sub-out" MPCT_JOB=j.ini
   MPCT_SHARD_INPUTS="$tmp/in/shard-%03d.txt")
expect "submit-array: array and merge submitted" 0 "array job 4242 \(shards 0-2 .*merge job 4242" -- \
  "${S[@]}" bash "$sdir/submit-array.sh" 3 "$tmp/merged-sub.h5"
[ "$(tr '\n' ' ' <"$tmp/sub-out/row-offsets" 2>/dev/null)" = "0 3 7 " ] &&
  ok "submit-array: row offsets of all shards counted once (0 3 7)" || bad "submit-array: row-offsets file"
grep -q -- "--array=0-2 .*mpct-array.sbatch ROW_OFFSETS=$tmp/sub-out/row-offsets" "$tmp/sbatch.log" &&
  ok "submit-array: the array tasks get MPCT_ROW_OFFSETS" || { bad "submit-array: MPCT_ROW_OFFSETS not passed"; cat "$tmp/sbatch.log"; }
rm -f "$tmp/sbatch.log"
printf '0\n5\n9\n' >"$tmp/split-offsets"   # as mpct split writes it: rows, not lines
expect "submit-array: a given MPCT_ROW_OFFSETS (mpct split's) is used, not line counts" 0 "array job 4242" -- \
  "${S[@]}" MPCT_ROW_OFFSETS="$tmp/split-offsets" bash "$sdir/submit-array.sh" 3 "$tmp/merged-sub.h5"
grep -q -- "--array=0-2 .*ROW_OFFSETS=$tmp/split-offsets" "$tmp/sbatch.log" &&
  ok "submit-array: ... and passed to the tasks" || { bad "submit-array: given MPCT_ROW_OFFSETS not passed"; cat "$tmp/sbatch.log"; }
rm -f "$tmp/sbatch.log"
expect "submit-array: a given MPCT_ROW_OFFSETS with too few lines -> error" 1 "fewer than 5 lines" -- \
  "${S[@]}" MPCT_ROW_OFFSETS="$tmp/split-offsets" MPCT_SHARD_INPUTS="$tmp/in/shard-000.txt" bash "$sdir/submit-array.sh" 5 "$tmp/m.h5"
expect "submit-array: a missing shard input -> nothing submitted" 1 "input of shard 3 not found.*nothing submitted" -- \
  "${S[@]}" bash "$sdir/submit-array.sh" 5 "$tmp/merged-sub.h5"
[ ! -e "$tmp/sbatch.log" ] && [ ! -e "$tmp/sub-out/row-offsets.tmp" ] && ok "submit-array: ... sbatch never called, no temporary left" ||
  bad "submit-array: sbatch was called or row-offsets.tmp left"
expect "submit-array: a command without {row_offset} needs no inputs yet" 0 "array job 4242" -- \
  "${S[@]}" MPCT_CMD="run j.ini --inputs {input} --output {output}" bash "$sdir/submit-array.sh" 5 "$tmp/merged-sub.h5"
expect "submit-array: shard count with a leading 0 refused" 2 "no leading 0" -- \
  "${S[@]}" bash "$sdir/submit-array.sh" 08
rm -f "$tmp/sbatch.log"
expect "submit-array: MPCT_SINGLE_NODE=1 -> warning" 0 "warning: MPCT_SINGLE_NODE=1: .* no isolation" -- \
  "${S[@]}" MPCT_SINGLE_NODE=1 MPCT_CACHE_DIR=/scratch/c bash "$sdir/submit-array.sh" 3 "$tmp/merged-sub.h5"
[ "$(grep -c -- '--nodes=1 --overcommit .*mpct-\(warm\|array\).sbatch' "$tmp/sbatch.log")" = 2 ] &&
  ok "submit-array: MPCT_SINGLE_NODE=1 -> warm and array jobs asked for one node" || { bad "submit-array: one node"; cat "$tmp/sbatch.log"; }
rm -f "$tmp/sbatch.log"
env "${S[@]}" MPCT_CACHE_DIR=/scratch/c bash "$sdir/submit-array.sh" 3 "$tmp/merged-sub.h5" >/dev/null 2>&1
! grep -q -- '--nodes=1' "$tmp/sbatch.log" && [ "$(grep -c 'mpct-\(warm\|array\).sbatch' "$tmp/sbatch.log")" = 2 ] &&
  ok "submit-array: by default the warm and array jobs keep their 3 nodes" || { bad "submit-array: default nodes"; cat "$tmp/sbatch.log"; }

# --- merge.sh ------------------------------------------------------------------------------------
m=$tmp/m; mkdir -p "$m"
for i in $(seq 0 11); do echo "line of shard $i" >"$m/shard-$i.out"; done
expect "merge: 12 shards" 0 "12 shard\(s\)" -- bash "$sdir/merge.sh" "$m" 12 "$tmp/merged"
if [ "$(cat "$tmp/merged")" = "$(for i in $(seq 0 11); do echo "line of shard $i"; done)" ]; then
  ok "merge: plain concatenation in numeric shard order (0..11, not 0,1,10,11,2..)"
else bad "merge: wrong content/order"; cat "$tmp/merged"; fi
for i in 0 1; do echo "h5 $i" >"$m/shard-$i.h5"; done
expect "merge: MPCT_SHARD_EXT=h5" 0 "2 shard" -- env MPCT_SHARD_EXT=h5 bash "$sdir/merge.sh" "$m" 2 "$tmp/merged.h5"
expect "merge: MPCT_SHARD_EXT=h5, missing shard 2 named" 1 "no $m/shard-2.h5" -- env MPCT_SHARD_EXT=h5 bash "$sdir/merge.sh" "$m" 3 "$tmp/merged.h5"
expect "merge: headers" 0 "merged|shard" -- env MPCT_MERGE_HEADERS=1 bash "$sdir/merge.sh" "$m" 2 "$tmp/merged2"
[ "$(head -n1 "$tmp/merged2")" = "# shard 0" ] && ok "merge: '# shard i' headers" || bad "merge: headers"
rm "$m/shard-3.out" "$m/shard-10.out"; rm -f "$tmp/merged"
expect "merge: names the missing shards" 1 "shard 3 is missing.*" -- bash "$sdir/merge.sh" "$m" 12 "$tmp/merged"
expect "merge: ... each of them" 1 "shard 10 is missing" -- bash "$sdir/merge.sh" "$m" 12 "$tmp/merged"
expect "merge: ... and a summary" 1 "2 of 12 shard\(s\) missing: 3 10" -- bash "$sdir/merge.sh" "$m" 12 "$tmp/merged"
[ ! -e "$tmp/merged" ] && ok "merge: nothing written when a shard is missing" || bad "merge: wrote output despite missing shard"
expect "merge: bad usage" 2 "usage" -- bash "$sdir/merge.sh" "$m"
# HDF5 shards (the signature) go to `mpct merge DEST shard-0 ... shard-N-1`, in numeric order
h=$tmp/h; mkdir -p "$h"
for i in $(seq 0 10); do printf '\211HDF\r\n\032\n shard %s' "$i" >"$h/shard-$i.h5"; done
expect "merge: HDF5 shards -> mpct merge, numeric order" 0 \
  "fake mpct merge $tmp/merged.h5 $h/shard-0.h5 $h/shard-1.h5 $h/shard-2.h5 .* $h/shard-9.h5 $h/shard-10.h5$" -- \
  env MPCT_BIN="$tmp/mpct" MPCT_SHARD_EXT=h5 bash "$sdir/merge.sh" "$h" 11 "$tmp/merged.h5"
expect "merge: MPCT_JOB set -> shards are .h5" 0 "fake mpct merge $tmp/merged.h5 $h/shard-0.h5 $h/shard-1.h5$" -- \
  env MPCT_BIN="$tmp/mpct" MPCT_JOB=j.ini bash "$sdir/merge.sh" "$h" 2 "$tmp/merged.h5"
printf '#!/bin/sh\necho "mpct merge: error: shard 1 (x): incomplete" >&2\nexit 1\n' >"$tmp/mpct-fail"; chmod +x "$tmp/mpct-fail"
expect "merge: mpct merge's failure and message propagated" 1 "shard 1 \(x\): incomplete" -- \
  env MPCT_BIN="$tmp/mpct-fail" MPCT_SHARD_EXT=h5 bash "$sdir/merge.sh" "$h" 2 "$tmp/merged.h5"
expect "merge: HDF5 shards, mpct not found -> 127" 127 "mpct not found" -- \
  env MPCT_BIN="$tmp/nope/mpct" MPCT_SHARD_EXT=h5 bash "$sdir/merge.sh" "$h" 2 "$tmp/merged.h5"
expect "merge: no shard dir" 1 "not found" -- bash "$sdir/merge.sh" "$tmp/none" 2 "$tmp/merged"

# --- placement plans (dry runs) ---------------------------------------------------------------------
PATH=$PATH:/usr/sbin:/sbin
if command -v scontrol >/dev/null 2>&1; then
  printf 'ClusterName=dry\nSlurmctldHost=localhost\n' >"$tmp/slurm.conf"
  D=("${F[@]}" PATH="$PATH" SLURM_CONF="$tmp/slurm.conf" MPCT_DRY_RUN=1 MPCT_CMD=demo)
  for s in mpct-multinode.sbatch mpct-replicas.sbatch; do
    expect "${s%.sbatch}: neither MPCT_JOB nor MPCT_CMD -> clear error" 2 "MPCT_JOB is not set: set MPCT_JOB=job.ini" -- \
      "${F[@]}" PATH="$PATH" SLURM_CONF="$tmp/slurm.conf" MPCT_DRY_RUN=1 SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 bash "$sdir/$s"
    expect "${s%.sbatch}: MPCT_JOB -> mpct run \$MPCT_JOB" 0 "mpirun -np 3 --map-by node $tmp/mpct run j.ini$" -- \
      "${D[@]}" MPCT_CMD= MPCT_JOB=j.ini SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 bash "$sdir/$s"
    expect "${s%.sbatch}: MPCT_JOB file missing -> clear error" 1 "job file not found: 'nope.ini'" -- \
      "${D[@]}" MPCT_CMD= MPCT_JOB=nope.ini SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 bash "$sdir/$s"
  done
  expect "multinode: uneven tasks per node (2,2,2,3 for 9 ranks) refused before launch" 2 \
    "needs 3 task\(s\) on node n1, but it has 2" -- \
    "${D[@]}" SLURM_JOB_NODELIST='n[1-4]' SLURM_NTASKS=9 SLURM_TASKS_PER_NODE='2(x3),3' bash "$sdir/mpct-multinode.sbatch"
  o=$(env "${D[@]}" MPCT_LAYOUT=pack SLURM_JOB_NODELIST='a' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE=3 bash "$sdir/mpct-replicas.sbatch" 2>&1)
  [ "$(grep -c "warning: layout 'pack': the 3 parties of each replica share one node, which gives no isolation" <<<"$o")" = 1 ] &&
    ok "replicas: pack -> one warning line that one node gives no isolation" || { bad "replicas: pack warning"; echo "$o"; }
  o=$(env "${D[@]}" SLURM_JOB_NODELIST='a,b,c' SLURM_NTASKS=3 bash "$sdir/mpct-replicas.sbatch" 2>&1)
  ! grep -q "warning" <<<"$o" && ok "replicas: spread -> no warning" || { bad "replicas: spread warned"; echo "$o"; }
  # each script's printed launch line through Open MPI's own mapper, with the allocation Slurm gives
  mapped "multinode: 1 replica on 3 nodes" "n1:1,n2:1,n3:1" \
    "$(env "${D[@]}" SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE='1(x3)' bash "$sdir/mpct-multinode.sbatch" 2>&1)"
  mapped "multinode: 5 replicas on 4 nodes" "n1:4,n2:4,n3:4,n4:3" \
    "$(env "${D[@]}" SLURM_JOB_NODELIST='n[1-4]' SLURM_NTASKS=15 SLURM_TASKS_PER_NODE='4(x3),3' bash "$sdir/mpct-multinode.sbatch" 2>&1)"
  mapped "replicas: spread, 10 replicas on 5 nodes" "h1:6,h2:6,h3:6,h4:6,h5:6" \
    "$(env "${D[@]}" SLURM_JOB_NODELIST='h[1-5]' SLURM_NTASKS=30 SLURM_TASKS_PER_NODE='6(x5)' bash "$sdir/mpct-replicas.sbatch" 2>&1)"
  expect "multinode: 1 replica on 3 nodes" 0 "replica 0: P0 n1, P1 n2, P2 n3$" -- \
    "${D[@]}" SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE='1(x3)' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: mpirun --map-by node" 0 "mpirun -np 3 --map-by node $tmp/mpct demo" -- \
    "${D[@]}" SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE='1(x3)' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: 5 replicas on 4 nodes, cyclic" 0 "replica 1: P0 n4, P1 n1, P2 n2" -- \
    "${D[@]}" SLURM_JOB_NODELIST='n[1-4]' SLURM_NTASKS=15 SLURM_TASKS_PER_NODE='4(x3),3' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: 2 nodes refused" 2 "3 different nodes, but the job has 2 node" -- \
    "${D[@]}" SLURM_JOB_NODELIST='n[1-2]' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE='2,1' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: MPCT_LAYOUT=pack ignored (always spread)" 0 "layout spread" -- \
    "${D[@]}" MPCT_LAYOUT=pack SLURM_JOB_NODELIST='n[1-3]' SLURM_NTASKS=3 SLURM_TASKS_PER_NODE='1(x3)' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: rankfile rank i -> node i mod N" 0 "rank 3=a slot=1" -- \
    "${D[@]}" MPCT_LAUNCHER=rankfile SLURM_JOB_NODELIST='a,b,c' SLURM_NTASKS=6 SLURM_TASKS_PER_NODE='2(x3)' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: srun --distribution=cyclic" 0 "srun --ntasks=6 --distribution=cyclic --mpi=pmix $tmp/mpct demo" -- \
    "${D[@]}" MPCT_LAUNCHER=srun SLURM_JOB_NODELIST='a,b,c' SLURM_NTASKS=6 SLURM_TASKS_PER_NODE='2(x3)' bash "$sdir/mpct-multinode.sbatch"
  expect "multinode: not in an allocation" 2 "not inside a Slurm allocation" -- \
    "${F[@]}" MPCT_CMD=demo bash "$sdir/mpct-multinode.sbatch"
  expect "replicas: pack, 2 nodes x 6" 0 "replica 2: P0 b, P1 b, P2 b" -- \
    "${D[@]}" MPCT_LAYOUT=pack SLURM_JOB_NODELIST='a,b' SLURM_NTASKS=12 SLURM_TASKS_PER_NODE='6(x2)' bash "$sdir/mpct-replicas.sbatch"
  expect "replicas: pack, srun --distribution=block" 0 "srun --ntasks=12 --distribution=block" -- \
    "${D[@]}" MPCT_LAYOUT=pack MPCT_LAUNCHER=srun SLURM_JOB_NODELIST='a,b' SLURM_NTASKS=12 SLURM_TASKS_PER_NODE='6(x2)' bash "$sdir/mpct-replicas.sbatch"
  expect "replicas: pack with 4 tasks on a node refused" 2 "multiple of 3 tasks on every node, node a has 4" -- \
    "${D[@]}" MPCT_LAYOUT=pack SLURM_JOB_NODELIST='a,b' SLURM_NTASKS=6 SLURM_TASKS_PER_NODE='4,2' bash "$sdir/mpct-replicas.sbatch"
  expect "replicas: unknown layout refused" 2 "MPCT_LAYOUT must be spread or pack" -- \
    "${D[@]}" MPCT_LAYOUT=mixed SLURM_JOB_NODELIST='a,b,c' SLURM_NTASKS=3 bash "$sdir/mpct-replicas.sbatch"
  # every replica spread over 3 distinct nodes, for many node/rank counts
  allgood=1
  for nn in 3 4 5 7; do for np in 3 6 9 12 21 30; do
    o=$(env "${D[@]}" SLURM_JOB_NODELIST="h[1-$nn]" SLURM_NTASKS=$np bash "$sdir/mpct-replicas.sbatch" 2>&1) || { allgood=0; echo "$o"; }
    [ "$(grep -c '^replica' <<<"$o")" -eq $((np / 3)) ] || allgood=0
    grep -q 'against layout' <<<"$o" && allgood=0
  done; done
  [ $allgood = 1 ] && ok "replicas: spread plans keep every replica on 3 distinct nodes (3-7 nodes, 3-30 ranks)" ||
    bad "replicas: some spread plan put two parties on one node"
else
  echo "note: scontrol not installed, placement dry runs skipped"
fi

# --- mpct-party.sbatch (one party of a job whose parties run at three sites) ------------------------
printf '[session]\nid = t\n' >"$tmp/peers.ini"
printf '[session]\nid = t\ntls = off\n' >"$tmp/peers_plain.ini"
: >"$tmp/p1.key"
P=("${F[@]}" MPCT_JOB=j.ini MPCT_PEERS=peers.ini)
expect "party: MPCT_PARTY unset -> clear error" 2 "MPCT_PARTY is not set: set MPCT_PARTY=0, 1 or 2" -- \
  "${P[@]}" MPCT_KEY=p1.key bash "$sdir/mpct-party.sbatch"
expect "party: MPCT_PARTY=3 refused" 2 "MPCT_PARTY='3': expected 0, 1 or 2" -- \
  "${P[@]}" MPCT_PARTY=3 MPCT_KEY=p1.key bash "$sdir/mpct-party.sbatch"
expect "party: peers file missing -> clear error" 1 "peers file not found: 'nope.ini'" -- \
  "${F[@]}" MPCT_JOB=j.ini MPCT_PEERS=nope.ini MPCT_PARTY=1 MPCT_KEY=p1.key bash "$sdir/mpct-party.sbatch"
expect "party: no key with TLS -> clear error" 2 "MPCT_KEY .* is not set" -- \
  "${P[@]}" MPCT_PARTY=1 bash "$sdir/mpct-party.sbatch"
expect "party: key missing -> clear error" 1 "key file not found: 'nope.key'" -- \
  "${P[@]}" MPCT_PARTY=1 MPCT_KEY=nope.key bash "$sdir/mpct-party.sbatch"
expect "party: 2 nodes refused" 2 "runs? on the one node .* has 2 nodes" -- \
  "${P[@]}" MPCT_PARTY=1 MPCT_KEY=p1.key SLURM_JOB_NUM_NODES=2 bash "$sdir/mpct-party.sbatch"
expect "party: 4 tasks = 4 replicas of party 1, with its key and the peers file" 0 \
  "fake mpirun -np 4 $tmp/mpct run j.ini --party 1 --peers peers.ini --tls-key p1.key --resume$" -- \
  "${P[@]}" MPCT_PARTY=1 MPCT_KEY=p1.key SLURM_NTASKS=4 MPCT_ARGS=--resume bash "$sdir/mpct-party.sbatch"
expect "party: tls = off needs no key" 0 "fake mpirun -np 1 $tmp/mpct run j.ini --party 2 --peers peers_plain.ini$" -- \
  "${F[@]}" MPCT_JOB=j.ini MPCT_PEERS=peers_plain.ini MPCT_PARTY=2 bash "$sdir/mpct-party.sbatch"
expect "party: exit status 5 propagated" 5 "exit status 5" -- \
  "${P[@]}" MPCT_PARTY=0 MPCT_KEY=p1.key FAKE_RC=5 bash "$sdir/mpct-party.sbatch"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
