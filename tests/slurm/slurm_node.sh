#!/usr/bin/env bash
# Brings up a private single-node Slurm cluster on this machine (own munged,
# slurmctld and slurmd, all state in a temp dir, free ports), then
#   1. submits slurm/mpct-node.sbatch (MPCT_SINGLE_NODE=1, MPCT_JOB: `mpct run`
#      on the tiny model) with `sbatch --wait` and checks its exit status, the
#      one-line warning that one node gives no isolation, and the output file;
#      then mpct-array.sbatch on one node without MPCT_SINGLE_NODE: must stop
#      (exit 2) because the parties of a replica need three nodes;
#   2. runs slurm/submit-array.sh (MPCT_SINGLE_NODE=1: the one-node cluster):
#      mpct-array.sbatch as a 2-task array plus
#      merge.sh with --dependency=afterok; checks the merged file; then the
#      same with MPCT_JOB: `mpct run --batch auto` on the tiny model per shard
#      (HDF5 outputs declaring their rows) joined by `mpct merge`, checked
#      against the float64 reference of the whole input;
#   3. submits a job whose mpct exits non-zero and checks that Slurm records
#      that exit code for the job (exit status propagated);
#   4. mpct-replicas.sbatch, layout pack, 6 ranks = 2 replicas on the node,
#      with its placement probe;
#   5. mpct-multinode.sbatch on one node: must stop with exit 2 and a clear
#      message (three parties need three nodes);
#   6. mpct-replicas.sbatch with MPCT_LAUNCHER=srun (srun --mpi=pmix).
# It stops every daemon it started, by pid, also on failure (trap), and every
# wait is bounded. Exit 77 (skip) only when Slurm/munge are not installed or
# cannot be started here.
# usage: slurm_node.sh MPCT_BIN SLURM_SCRIPT_DIR
set -uo pipefail
mpct=${1:?usage: slurm_node.sh MPCT_BIN SLURM_SCRIPT_DIR}
sdir=${2:?usage: slurm_node.sh MPCT_BIN SLURM_SCRIPT_DIR}
mpct=$(readlink -f "$mpct"); sdir=$(readlink -f "$sdir")
t0=$(date +%s)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "==== [$(( $(date +%s) - t0 )) s] $*"; }

for b in munged slurmctld slurmd sbatch sinfo squeue scancel scontrol; do
  command -v "$b" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
  command -v "$b" >/dev/null 2>&1 || skip "$b not installed (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd (SlurmUser=root)"
[ -x "$mpct" ] || fail "mpct binary '$mpct' missing"

tmp=$(mktemp -d /tmp/mpct-slurm-test.XXXXXX)
chmod 700 "$tmp"
munge_pid="" ctld_pid="" slurmd_pid=""

stop_pid() { # stop_pid PID NAME: TERM, bounded wait, then KILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "cleanup: $2 ($pid) ignored TERM, killing"; kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  trap '' PIPE   # a closed stdout must not stop the clean-up half way
  if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
    scancel --full --quiet --user=root 2>/dev/null
    for i in $(seq 1 50); do  # jobs gone (bounded 5 s)
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1
    done
  fi
  stop_pid "$slurmd_pid" slurmd
  stop_pid "$ctld_pid" slurmctld
  stop_pid "$munge_pid" munged
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for f in "$tmp"/slurmctld.log "$tmp"/slurmd.log "$tmp"/*.out; do
      [ -f "$f" ] && { echo "---- $f (tail)"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$tmp"
  echo "slurm_node: $(( $(date +%s) - t0 )) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- free TCP ports (munge uses a unix socket in $tmp) -----------------------
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $(( 20000 + RANDOM % 20000 ))
}
ctld_port=$(free_port); slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

# --- munge ----------------------------------------------------------------------
key=$tmp/munge.key
if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile="$key" >/dev/null 2>&1; fi
[ -s "$key" ] || dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
chmod 400 "$key"
munged --foreground --force --key-file="$key" --socket="$tmp/munge.sock" \
  --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed" \
  >"$tmp/munged.out" 2>&1 &
munge_pid=$!
for i in $(seq 1 50); do [ -S "$tmp/munge.sock" ] && break; kill -0 "$munge_pid" 2>/dev/null || break; sleep 0.1; done
[ -S "$tmp/munge.sock" ] || { cat "$tmp/munged.out" "$tmp/munged.log" 2>/dev/null; skip "munged would not start"; }

# --- slurm.conf -------------------------------------------------------------------
host=$(hostname -s)
ncpu=$(nproc)
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/jobs"
conf=$tmp/slurm.conf
cat >"$conf" <<EOF
ClusterName=mpcttest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=100 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=UNLIMITED State=UP OverSubscribe=YES
EOF
export SLURM_CONF=$conf

slurmctld -D -c -i -f "$conf" >"$tmp/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -f "$conf" -N "$host" >"$tmp/slurmd.out" 2>&1 &
slurmd_pid=$!

# --- wait for the node to be idle (bounded 30 s) ------------------------------------
state=""
for i in $(seq 1 60); do
  kill -0 "$ctld_pid" 2>/dev/null || { cat "$tmp/slurmctld.out"; tail "$tmp/slurmctld.log"; skip "slurmctld exited at start-up"; }
  kill -0 "$slurmd_pid" 2>/dev/null || { cat "$tmp/slurmd.out"; tail "$tmp/slurmd.log"; skip "slurmd exited at start-up"; }
  state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null | head -n1)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || { tail -n 20 "$tmp/slurmctld.log" "$tmp/slurmd.log"; skip "node did not become idle within 30 s (state '$state')"; }
echo "slurm up: node $host idle after $(( $(date +%s) - t0 )) s (ctld port $ctld_port, slurmd port $slurmd_port)"


# submit_wait LIMIT_S OUTFILE SBATCH_ARGS...: submits, polls every 0.25 s
# (sbatch --wait polls every 2-10 s) and returns the job's exit code as
# Slurm recorded it (scontrol ExitCode), 124 when it did not end in LIMIT_S.
submit_wait() {
  local limit=$1 outf=$2 id i st; shift 2
  id=$(timeout 20 sbatch --parsable --output="$outf" "$@") || return 125
  id=${id%%;*}
  for ((i = 0; i < limit * 4; i++)); do
    [ -z "$(squeue -h -j "$id" -o %i 2>/dev/null)" ] && break; sleep 0.25
  done
  [ -z "$(squeue -h -j "$id" -o %i 2>/dev/null)" ] || return 124
  st=$(scontrol -o show job "$id" | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p')
  return "${st:-126}"
}

export MPCT_BIN=$mpct
export MPCT_MPIRUN_ARGS="--oversubscribe --allow-run-as-root --mca btl self,vader,tcp"
cd "$tmp/jobs" || fail "cd $tmp/jobs"

# the tiny model, shard inputs (one text per line) and job files of steps 1 and 2b
h5d=$tmp/jobs/h5
mkdir -p "$h5d"
"$mpct" pack --synthetic tiny --labels 2 --vocab "$sdir/../tests/data/vocab.txt" -o "$h5d/tiny.h5" >/dev/null ||
  fail "cannot make the tiny model"
printf 'the movie was great\nterrible acting and a dull plot\nI loved every minute\n' >"$h5d/in-000.txt"
printf 'boring\na wonderful story, well told\n' >"$h5d/in-001.txt"
printf '[job]\ntask = classify\nseq_len = 32\nbatch = auto\n[model]\npath = %s\n' "$h5d/tiny.h5" >"$h5d/job.ini"
printf '[job]\ntask = classify\nseq_len = 32\nbatch = 2\n[model]\npath = tiny.h5\n[inputs]\npath = in-000.txt\n[output]\npath = node-out.h5\n' \
  >"$h5d/node.ini"

# --- 1. single-node script: mpct run $MPCT_JOB, only with MPCT_SINGLE_NODE=1 ---------------------
step "1. mpct-node.sbatch (MPCT_SINGLE_NODE=1, MPCT_JOB)"
out=$tmp/jobs/node.out
MPCT_SINGLE_NODE=1 MPCT_JOB=$h5d/node.ini timeout 120 sbatch --wait --quiet --output="$out" "$sdir/mpct-node.sbatch"
rc=$?
echo "---- mpct-node.sbatch output (sbatch --wait exit $rc)"; cat "$out" 2>/dev/null
[ "$rc" -ne 124 ] || fail "mpct-node.sbatch did not finish within 120 s"
[ "$rc" -eq 0 ] || fail "mpct-node.sbatch job failed (sbatch --wait exit $rc)"
grep -q "mpct-node: .*/mpct run $h5d/node.ini$" "$out" || fail "mpct-node.sbatch did not run 'mpct run \$MPCT_JOB'"
[ "$(grep -c "warning: MPCT_SINGLE_NODE=1: .* no isolation" "$out")" -eq 1 ] || fail "no single warning that one node gives no isolation"
grep -q "mpct-node: exit status 0" "$out" || fail "job output lacks the exit status line"
"$mpct" run --plaintext --model "$h5d/tiny.h5" --inputs "$h5d/in-000.txt" --task classify --seq-len 32 \
  --output "$h5d/plain-000.h5" --quiet || fail "plaintext reference of in-000.txt"
"$mpct" compare "$h5d/node-out.h5" "$h5d/plain-000.h5" --min-cosine 0.995 --min-agreement 1 ||
  fail "mpct-node.sbatch's output $h5d/node-out.h5 differs from the reference of its job's inputs"

step "1b. mpct-array.sbatch on one node without MPCT_SINGLE_NODE: refused"
submit_wait 60 "$tmp/jobs/array1.out" --nodes=1 --ntasks=3 --overcommit --array=0 \
  --export=ALL,MPCT_CMD=demo,MPCT_OUT_DIR="$tmp/jobs/a1" "$sdir/mpct-array.sbatch"
rc=$?
echo "---- mpct-array.sbatch on 1 node (job exit code $rc)"; cat "$tmp/jobs/array1.out" 2>/dev/null
[ "$rc" -eq 2 ] || fail "mpct-array.sbatch on one node: expected exit 2, got $rc"
grep -q "3 different nodes, but the job has 1 node" "$tmp/jobs/array1.out" || fail "no clear message for one node"

# --- 2. job array over 2 shards + merge (afterok), via slurm/submit-array.sh ---------------
step "2. submit-array.sh (array + merge)"
res=$tmp/jobs/results
sub=$(MPCT_SINGLE_NODE=1 MPCT_CMD=demo MPCT_OUT_DIR=$res MPCT_MERGE_HEADERS=1 timeout 30 "$sdir/submit-array.sh" 2 "$res/merged.out" \
      --output="$tmp/jobs/array-%A_%a.out") || fail "submit-array.sh failed: $sub"
echo "$sub"
merge_id=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' <<<"$sub")
[ -n "$merge_id" ] || fail "no merge job id in: $sub"
for i in $(seq 1 180); do  # bounded 90 s: until the merge job has left the queue
  [ -z "$(squeue -h -j "$merge_id" -o %i 2>/dev/null)" ] && break; sleep 0.5
done
[ -z "$(squeue -h -j "$merge_id" -o %i 2>/dev/null)" ] || fail "array + merge did not finish within 90 s"
echo "---- array + merge"; cat "$tmp"/jobs/array-*.out
[ -f "$res/merged.out" ] || fail "merge produced no $res/merged.out"
n=$(grep -c "result OK" "$res/merged.out")
[ "$n" -eq 2 ] || fail "merged output has $n 'result OK' lines, expected 2"
[ "$(grep '^# shard' "$res/merged.out" | awk '{print $3}' | tr '\n' ' ')" = "0 1 " ] ||
  fail "shards not merged in order"
echo "merged: $(wc -l <"$res/merged.out") lines, shards 0 1 in order"

step "2b. submit-array.sh with MPCT_JOB: mpct run shards (HDF5) + mpct merge"
sub=$(cd "$tmp/jobs" && MPCT_SINGLE_NODE=1 MPCT_JOB=$h5d/job.ini MPCT_SHARD_INPUTS="$h5d/in-%03d.txt" MPCT_OUT_DIR=$h5d/shards \
      MPCT_CACHE_DIR=$h5d/cache timeout 30 "$sdir/submit-array.sh" 2 "$h5d/merged.h5" \
      --output="$tmp/jobs/h5array-%A_%a.out") ||
  fail "submit-array.sh (MPCT_JOB) failed: $sub"
echo "$sub"
merge_id=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' <<<"$sub")
[ -n "$merge_id" ] || fail "no merge job id in: $sub"
for i in $(seq 1 240); do  # bounded 120 s
  [ -z "$(squeue -h -j "$merge_id" -o %i 2>/dev/null)" ] && break; sleep 0.5
done
[ -z "$(squeue -h -j "$merge_id" -o %i 2>/dev/null)" ] || fail "HDF5 array + merge did not finish within 120 s"
echo "---- HDF5 array + merge"; cat "$tmp"/jobs/h5array-*.out "$tmp"/jobs/mpct-merge-*.out 2>/dev/null | grep -v "inferences, "
[ -f "$h5d/merged.h5" ] || fail "merge produced no $h5d/merged.h5"
grep -q "warm job" <<<"$sub" || fail "no warm job submitted with MPCT_CACHE_DIR"
cat "$tmp"/jobs/mpct-warm-*.out 2>/dev/null
[ "$(cat "$tmp"/jobs/h5array-*.out | grep -c "share cache: hit")" -eq 2 ] ||
  fail "the array's shards did not both load the weights from the cache the warm job filled"
cat "$h5d/in-000.txt" "$h5d/in-001.txt" >"$h5d/all.txt"
"$mpct" run --plaintext --model "$h5d/tiny.h5" --inputs "$h5d/all.txt" --task classify --seq-len 32 \
  --output "$h5d/plain.h5" --quiet || fail "plaintext reference"
"$mpct" compare "$h5d/merged.h5" "$h5d/plain.h5" --min-cosine 0.995 --min-agreement 1 ||
  fail "merged HDF5 shards differ from the reference of the whole input"

# --- 3. failure propagates ----------------------------------------------------------------
step "3. failing job"
submit_wait 60 "$tmp/jobs/bad.out" --export=ALL,MPCT_SINGLE_NODE=1,MPCT_CMD="no-such-command" "$sdir/mpct-node.sbatch"
rc=$?
echo "---- failing job (job exit code $rc)"; cat "$tmp/jobs/bad.out" 2>/dev/null
[ "$rc" -ne 124 ] || fail "failing job did not finish within 60 s"
[ "$rc" -ne 0 ] || fail "a failing mpct run gave job exit 0"
[ "$rc" -lt 124 ] || fail "failing job: could not submit or read its exit code ($rc)"
grep -q "mpct-node: exit status [1-9]" "$tmp/jobs/bad.out" || fail "failing job did not report its exit status"

# --- 4. replicas script, pack layout: 2 replicas on the one node, probe checks it ----------
step "4. mpct-replicas.sbatch pack"
submit_wait 90 "$tmp/jobs/replicas.out" --nodes=1 --ntasks=6 --overcommit \
  --export=ALL,MPCT_LAYOUT=pack,MPCT_CMD=demo "$sdir/mpct-replicas.sbatch"
rc=$?
echo "---- mpct-replicas.sbatch, pack (job exit code $rc)"; cat "$tmp/jobs/replicas.out" 2>/dev/null
[ "$rc" -eq 0 ] || fail "mpct-replicas.sbatch (pack, 6 ranks) failed (exit $rc)"
[ "$(grep -c "result OK" "$tmp/jobs/replicas.out")" -ge 1 ] || fail "replicas job output lacks 'result OK'"
grep -q "^replica 1: P0 $host, P1 $host, P2 $host\$" "$tmp/jobs/replicas.out" || fail "placement probe output missing"
grep -q "warning: layout 'pack': .* no isolation" "$tmp/jobs/replicas.out" || fail "pack: no warning that one node gives no isolation"

# --- 5. multinode script on one node: must refuse, clearly ----------------------------------
step "5. mpct-multinode.sbatch on one node"
submit_wait 60 "$tmp/jobs/multi.out" --nodes=1 --ntasks=3 --overcommit --export=ALL,MPCT_CMD=demo \
  "$sdir/mpct-multinode.sbatch"
rc=$?
echo "---- mpct-multinode.sbatch on 1 node (job exit code $rc)"; cat "$tmp/jobs/multi.out" 2>/dev/null
[ "$rc" -eq 2 ] || fail "mpct-multinode.sbatch on one node: expected exit 2, got $rc"
grep -q "on 3 different nodes, but the job has 1 node" "$tmp/jobs/multi.out" || fail "no clear message for too few nodes"

# --- 6. srun --mpi=pmix direct launch (MPCT_LAUNCHER=srun) -------------------------------
step "6. mpct-replicas.sbatch with MPCT_LAUNCHER=srun"
( export MPCT_LAYOUT=pack MPCT_LAUNCHER=srun OMPI_MCA_btl=self,vader,tcp MPCT_CMD=demo
  submit_wait 60 "$tmp/jobs/srun.out" --nodes=1 --ntasks=3 --overcommit "$sdir/mpct-replicas.sbatch" )
rc=$?
echo "---- mpct-replicas.sbatch, srun --mpi=pmix (job exit code $rc)"; cat "$tmp/jobs/srun.out" 2>/dev/null
[ "$rc" -eq 0 ] || fail "srun --mpi=pmix launch failed (exit $rc)"
grep -q "result OK" "$tmp/jobs/srun.out" || fail "srun job output lacks 'result OK'"

echo "PASS: node, array + merge (afterok; text and HDF5 via mpct merge), failure propagation, replicas (pack, mpirun and srun) and multinode refusal under a real Slurm"
