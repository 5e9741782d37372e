#!/usr/bin/env bash
# Tests of `mpct plan` and of replica backpressure in `mpct run` (tiny model).
# usage: plan_test.sh CASE MPIEXEC MPCT SRCDIR WORKDIR
#   model         the cost model of src/tools/PLAN.md on synthetic calibrations:
#                 the hand-computed times, bytes, slowdowns and recommendation;
#                 the memory model (fit, per party and node, --node-mem warning,
#                 deadline skipping what does not fit, #SBATCH --mem) and the
#                 measured round latency (used for alpha, a floor under the fit);
#                 --network adds rounds x one-way delay and the busiest party's
#                 bytes / rate per block
#   bad_input     each bad input: one clear message, non-zero exit
#   end_to_end    bench model -> plan -> the real run; prediction within 2x
#                 (the +-25 % validation is a measured report in PLAN.md, not
#                 a CI assertion: CI machines are loaded); and over an emulated
#                 1 Gbit/s, 2 ms link, plan (from the loopback calibration)
#                 within 25 % of bench model on that link, whose time split
#                 adds up and whose waiting covers the latency floor
#   backpressure  -np 6 with replica 1 slowed (MPCT_TEST_SLOW_REPLICA=1:MS):
#                 same output as -np 3, replica 1 computed fewer blocks
set -u
case_=$1 MPIEXEC=$2 MPCT=$3 SRC=$4 WORK=$5
mkdir -p "$WORK" && cd "$WORK" || exit 1
MPI=("$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
fail() { echo "FAIL: $*"; exit 1; }
[ -f tiny.h5 ] || "$MPCT" pack --synthetic tiny --labels 2 --vocab "$SRC/tests/data/vocab.txt" -o tiny.h5 >/dev/null \
    || fail "cannot make the tiny model"
# jget FILE EXPR: a value of the JSON in FILE (python expression on d)
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# near A B [rel]: |A - B| <= rel * |B| (default 1e-6)
near() { python3 -c "import sys; a,b,r=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); sys.exit(0 if abs(a-b)<=r*abs(b)+1e-12 else 1)" "$1" "$2" "${3:-1e-6}"; }
# cal FILE LAYERS HIDDEN HEADS FFN VOCAB SEQ BATCH SECONDS ROUNDS BYTES SETUP_S
cal() {
    cat > "$1" <<J
{"benchmark": "model", "shape": "file", "layers": $2, "hidden": $3, "heads": $4, "ffn": $5, "vocab": $6,
 "seq": $7, "batch": $8, "reps": 3, "setup_share_weights_s": ${12}, "median_batch_s": $9,
 "bytes_sent_per_party_per_batch": [$(( ${11} / 4 )), $(( ${11} / 2 )), $(( ${11} / 4 ))],
 "bytes_total_per_batch": ${11}, "rounds_per_batch": ${10}}
J
}

case $case_ in
model)
    # 1. a calibration of another shape: warning, and the model's vocabulary size
    cal other.json 6 384 12 1536 30522 16 1 1.0 1800 1000000 1.0
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration other.json --json \
        > p0.json 2> p0.err || { cat p0.err; fail "plan with another shape"; }
    grep -q "another model shape" p0.err || fail "no warning for a calibration of another shape"
    grep -q "one batch size calibrated" p0.err || fail "no warning for the default round latency"
    printf '[parties]\nencrypt = on\n[inputs]\nhide_lengths = 1\n' > enc.ini
    "$MPCT" plan enc.ini --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration other.json --json \
        > /dev/null 2> p0e.err || { cat p0e.err; fail "plan with encrypt and hide_lengths"; }
    grep -q "not in the cost model: encrypt = on .*; hide_lengths = 1" p0e.err || { cat p0e.err; fail "encrypt/hide_lengths not reported"; }
    "$MPCT" pack "$SRC/tests/data/hf/bert-quad" -o quad.h5 >/dev/null || fail "cannot pack bert-quad"
    "$MPCT" plan --model quad.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration other.json --json \
        > /dev/null 2> pq.err || { cat pq.err; fail "plan of a model with substitutions"; }
    grep -q "not in the cost model: the model's substitutions (activation quad, attention 2quad" pq.err \
        || { cat pq.err; fail "substitutions not reported"; }
    near "$(jget p0.json 'd["alpha_s_per_round"]')" 1e-4 || fail "default alpha"
    V=$(jget p0.json 'd["vocab"]')
    # 2. two calibrations of the model's own shape at seq 16: batch 1 in 0.10 s,
    #    batch 4 in 0.25 s, 600 rounds, 1 MB per inference, weight sharing 0.2 s
    #    -> alpha*rho = 0.05 s, alpha = 0.05/600, c = 0.05 s per inference
    cal c1.json 2 32 4 64 "$V" 16 1 0.10 600 1000000 0.2
    cal c4.json 2 32 4 64 "$V" 16 4 0.25 600 4000000 0.2
    P=("$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1.json
       --calibration c4.json --startup 1 --json)
    "${P[@]}" --replicas 1,2 --slowdown 1.5 > p1.json 2> p1.err || { cat p1.err; fail "plan"; }
    # --network 1gbit:2ms: each block of 4 adds 600 rounds x 1 ms one-way and its busiest party's bytes
    # (half of 4 MB) at 1 Gbit/s = 0.6 + 0.016 s; 8 inputs = 2 blocks on one replica
    "${P[@]}" --replicas 1 --network 1gbit:2ms > pn.json 2> pn.err || { cat pn.err; fail "plan --network"; }
    "${P[@]}" --replicas 1 > pl.json 2> pl.err || { cat pl.err; fail "plan (loopback)"; }
    near "$(jget pn.json 'd["predictions"][0]["inference_s"] - 0')" \
         "$(python3 -c "print($(jget pl.json 'd["predictions"][0]["inference_s"]') + 2 * (0.6 + 0.016))")" 1e-9 \
        || fail "--network: inference_s $(jget pn.json 'd["predictions"][0]["inference_s"]') is not loopback + 2 x 0.616 s"
    [ "$(jget pn.json 'd["network"]')" = 1gbit:2ms ] && near "$(jget pn.json 'd["network_rtt_s"]')" 0.002 ||
        fail "--network: not recorded in the plan"
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --calibration c1.json --network 2ms 2>&1 | grep -q "network '2ms': give lan" ||
        fail "a malformed --network is not refused with the accepted forms"
    [ ! -s p1.err ] || { cat p1.err; fail "warnings for matching calibrations"; }
    # the same two as one array (what `bench model --batch 1,4 --json` prints): the same plan
    python3 -c "import json; print(json.dumps([json.load(open('c1.json')), json.load(open('c4.json'))]))" > c14.json
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c14.json --startup 1 --json \
        --replicas 1,2 --slowdown 1.5 > pa.json 2> pa.err || { cat pa.err; fail "plan with an array calibration"; }
    [ ! -s pa.err ] || { cat pa.err; fail "warnings for an array of matching calibrations"; }
    for k in alpha_s_per_round seconds_per_inference rounds_per_block; do
        near "$(jget pa.json "d['$k']")" "$(jget p1.json "d['$k']")" || fail "array calibration: $k differs"
    done
    near "$(jget pa.json 'd["predictions"][1]["wall_s"]')" 1.775 || fail "array calibration: R=2 wall"
    near "$(jget p1.json 'd["alpha_s_per_round"]')" "$(python3 -c 'print(0.05/600)')" || fail "fitted alpha"
    near "$(jget p1.json 'd["seconds_per_inference"]')" 0.0625 || fail "seconds per inference (0.25/4)"
    near "$(jget p1.json 'd["rounds_per_block"]')" 600 || fail "rounds per block"
    # R=1: 2 blocks x 0.25 s; setup 0.2 s; start-up 1 s; 8 MB
    near "$(jget p1.json 'd["predictions"][0]["inference_s"]')" 0.5 || fail "R=1 inference"
    near "$(jget p1.json 'd["predictions"][0]["setup_s"]')" 0.2 || fail "R=1 setup"
    near "$(jget p1.json 'd["predictions"][0]["wall_s"]')" 1.7 || fail "R=1 wall"
    near "$(jget p1.json 'd["predictions"][0]["bytes_total"]')" 8e6 || fail "R=1 bytes"
    near "$(jget p1.json 'd["predictions"][0]["bytes_max_party"]')" 4e6 || fail "R=1 bytes of the busiest party"
    # R=2, slowdown 1.5: one block each, 0.375 s; setup 0.2 + copy 0.2 x log2(2) = 0.4 s
    near "$(jget p1.json 'd["predictions"][1]["inference_s"]')" 0.375 || fail "R=2 inference"
    near "$(jget p1.json 'd["predictions"][1]["setup_s"]')" 0.4 || fail "R=2 setup"
    near "$(jget p1.json 'd["predictions"][1]["wall_s"]')" 1.775 || fail "R=2 wall"
    # uneven blocks: 9 inputs = blocks of 4, 4, 1 rows; R=2: replica 0 takes blocks 0 and 2, the block
    # of 1 row costs alpha*rho + c = 0.05 + 0.05 = 0.10 s -> makespan 0.25 + 0.10 = 0.35 s
    "${P[@]}" --inputs-count 9 --replicas 2 --slowdown 1 > p2.json || fail "plan 9 inputs"
    near "$(jget p2.json 'd["predictions"][0]["inference_s"]')" 0.35 || fail "list scheduling of uneven blocks"
    # slowdown 2 only while both replicas are busy: blocks 0 and 1 together (0.25 x 2 = 0.5 s),
    # then block 2 alone at full speed (0.10 s) -> 0.60 s (a constant slowdown would say 0.70)
    "${P[@]}" --inputs-count 9 --replicas 2 --slowdown 2 > p2b.json || fail "plan 9 inputs, slowdown 2"
    near "$(jget p2b.json 'd["predictions"][0]["inference_s"]')" 0.60 || fail "processor sharing: the tail runs alone"
    # default slowdown: 3R ranks on C cores, relative to the calibration's 3 ranks (all on one node here)
    "${P[@]}" --replicas 1,2,4 --cores-per-node 2 --single-node > p3.json 2> p3.err || fail "plan cores 2"
    near "$(jget p3.json 'd["predictions"][0]["slowdown"]')" 1 || fail "slowdown R=1"
    near "$(jget p3.json 'd["predictions"][1]["slowdown"]')" 2 || fail "slowdown R=2 on 2 cores (6/2 / 3/2)"
    near "$(jget p3.json 'd["predictions"][2]["slowdown"]')" 4 || fail "slowdown R=4 on 2 cores"
    [ "$(grep -c 'single-node: the three parties of each replica share one node, which gives no isolation' p3.err)" = 1 ] \
        || { cat p3.err; fail "--single-node: not exactly one warning that one node gives no isolation"; }
    [ "$(jget p3.json '[p["nodes"] for p in d["predictions"]]')" = "[1, 1, 1]" ] || fail "--single-node: not 1 node"
    # the default placement: the parties of every replica on 3 different nodes, every node the same rank
    # count (3R = nodes x per node, at most C and R per node), fewest nodes first
    "${P[@]}" --replicas 1,2,3,4,8 --cores-per-node 2 > p3s.json 2> p3s.err || fail "plan spread, cores 2"
    ! grep -q "single-node" p3s.err || fail "single-node warning without --single-node"
    [ "$(jget p3s.json 'd["placement"]')" = spread ] || fail "default placement is not spread"
    [ "$(jget p3s.json '[(p["nodes"], p["ntasks_per_node"]) for p in d["predictions"]]')" = \
      "[(3, 1), (3, 2), (9, 1), (6, 2), (12, 2)]" ] || { jget p3s.json 'd["predictions"]'; fail "spread node counts"; }
    "${P[@]}" --replicas 4 --cores-per-node 64 > p4.json || fail "plan cores 64"
    near "$(jget p4.json 'd["predictions"][0]["slowdown"]')" 1 || fail "slowdown R=4 on 64 cores"
    # a measured slowdown in the calibration wins over the formula
    python3 - <<'PY' || fail "edit calibration"
import json; d = json.load(open("c4.json")); d["replica_slowdown"] = {"2": 1.25}; json.dump(d, open("c4s.json", "w"))
PY
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1.json --calibration c4s.json \
        --startup 1 --json --replicas 2 --cores-per-node 2 > p5.json || fail "plan calibrated slowdown"
    near "$(jget p5.json 'd["predictions"][0]["slowdown"]')" 1.25 || fail "calibrated slowdown"
    # seq scaling: calibration at 16, job at 32 -> every class by its size (PLAN.md);
    # without an ops breakdown all work is in 'other' (MACs): ratio r = macs(32)/macs(16)
    "${P[@]}" --seq-len 32 --replicas 1 > p6.json 2>p6.err || fail "plan seq 32"
    r=$(python3 -c "
L,H,F,V=2,32,64,$V
m=lambda T: T*V*H + L*(T*(4*H*H+2*H*F)+2*T*T*H)
print(m(32)/m(16))")
    near "$(jget p6.json 'd["predictions"][0]["inference_s"]')" "$(python3 -c "print(2*(0.05+4*0.05*$r))")" \
        || fail "seq scaling"
    # deadline: 1 s cannot be met (start-up alone is 1 s); 1h -> 1 replica, #SBATCH lines
    "${P[@]}" --deadline 1s > p7.json || fail "plan deadline 1s"
    [ "$(jget p7.json 'd["recommendation"]["feasible"]')" = 0 ] || fail "1 s deadline reported feasible"
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1.json \
        --calibration c4.json --startup 1 --deadline 1h --cores-per-node 16 > p8.txt || fail "plan deadline 1h"
    cat p8.txt
    grep -q "^#SBATCH --ntasks=3$" p8.txt || fail "no #SBATCH --ntasks=3"
    grep -q "^#SBATCH --nodes=3$" p8.txt || fail "no #SBATCH --nodes=3 (P0, P1, P2 on three nodes)"
    grep -q "^#SBATCH --ntasks-per-node=1$" p8.txt || fail "no #SBATCH --ntasks-per-node=1"
    grep -q "^#SBATCH --time=00:0" p8.txt || fail "no #SBATCH --time"
    grep -q "^mpirun -np 3 --map-by node mpct run .* --batch [0-9]*$" p8.txt || fail "no mpirun line with --map-by node"
    ! grep -q "^#SBATCH --overcommit" p8.txt || fail "--overcommit for one rank per node"
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1.json \
        --calibration c4.json --startup 1 --deadline 1h --cores-per-node 2 --single-node > p8s.txt 2> p8s.err \
        || fail "plan deadline 1h --single-node"
    grep -q "^#SBATCH --nodes=1$" p8s.txt || fail "--single-node: no #SBATCH --nodes=1"
    grep -q "^#SBATCH --overcommit$" p8s.txt || fail "--single-node: 3 ranks on 2 cores without --overcommit"
    grep -q "^mpirun -np 3 --oversubscribe mpct run .* --batch [0-9]*$" p8s.txt || fail "--single-node: mpirun line"
    grep -q "warning: --single-node: .* no isolation" p8s.err || fail "--single-node: no warning"
    # the recommended line, given to Open MPI's own mapper with the allocation Slurm gives for the #SBATCH
    # lines (nodes x ntasks-per-node slots): every replica's three ranks on three different nodes
    mapcheck() { # mapcheck PLAN.json: the recommendation's mpirun line through mpirun --display-map
        local np nodes k hosts
        np=$(jget "$1" 'd["recommendation"]["ntasks"]') nodes=$(jget "$1" 'd["recommendation"]["nodes"]')
        k=$(jget "$1" 'd["recommendation"]["ntasks_per_node"]')
        [ $((nodes * k)) = "$np" ] || { echo "nodes $nodes x $k != $np ranks"; return 1; }
        hosts=$(python3 -c "print(','.join('node%d:%d' % (i, $k) for i in range($nodes)))")
        read -r -a line <<<"$(jget "$1" 'd["recommendation"]["mpirun"]')"
        [ "${line[0]}" = mpirun ] || return 1
        "$SRC/tests/slurm/ompi_map_check.sh" "$hosts" "${line[@]:1:${#line[@]}-5}"
    }
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1.json \
        --calibration c4.json --startup 1 --deadline 1h --cores-per-node 16 --json > p8.json || fail "deadline json"
    [ "$(jget p8.json 'd["recommendation"]["replicas"]')" = 1 ] || fail "1 h: not 1 replica"
    mapcheck p8.json || fail "Open MPI maps the recommended mpirun line with two parties of a replica on one node"
    # a tight deadline on 2 cores per node: more replicas, several ranks per node
    "$MPCT" plan --model tiny.h5 --inputs-count 512 --seq-len 16 --batch 4 --calibration c1.json \
        --calibration c4.json --startup 1 --deadline 8s --cores-per-node 2 --json > p9.json 2>/dev/null \
        || fail "deadline 8s"
    [ "$(jget p9.json 'd["recommendation"]["replicas"] > 2 and d["recommendation"]["ntasks_per_node"] > 1')" = True ] \
        || { jget p9.json 'd["recommendation"]'; fail "8 s on 2 cores: expected > 2 replicas, > 1 rank per node"; }
    mapcheck p9.json || fail "Open MPI maps the recommended line (several replicas) with two parties on one node"
    grep -q "memory: not predicted" p8.txt || fail "no note that memory is not predicted without peak RSS"
    # memory: after weight sharing 50 MB; peak = 50 MB + 2 x the one-hot shares (16 B x B x T x V): k = 2
    python3 - "$V" <<'PY' || fail "edit calibrations"
import json, sys
V = int(sys.argv[1])
for name, B in (("c1", 1), ("c4", 4)):
    d = json.load(open(name + ".json"))
    d["rss_after_weights_bytes_per_party"] = [50 << 20, 48 << 20, 48 << 20]
    d["peak_rss_secure_bytes_per_party"] = [(50 << 20) + 2 * 16 * B * 16 * V, 1, 1]
    json.dump(d, open(name + "m.json", "w"))
PY
    M=("$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1m.json
       --calibration c4m.json --startup 1 --json --single-node)
    "${M[@]}" --replicas 1,2 > m1.json 2>m1.err || { cat m1.err; fail "plan with peak RSS"; }
    near "$(jget m1.json 'd["memory_model"]["activation_factor"]')" 2 || fail "fitted activation factor"
    near "$(jget m1.json 'd["memory_model"]["base_bytes_per_party"]')" $((50 << 20)) || fail "memory base"
    party=$(python3 -c "print((50 << 20) + 2 * 16 * 4 * 16 * $V)")
    near "$(jget m1.json 'd["predictions"][0]["mem_party_bytes"]')" "$party" || fail "peak per party, batch 4"
    near "$(jget m1.json 'd["predictions"][1]["mem_node_bytes"]')" "$(python3 -c "print(6 * $party)")" \
        || fail "peak per node: 2 replicas = 6 ranks on 1 node"
    # a node too small for 6 ranks: flagged; the deadline search skips batches that do not fit
    gb=$(python3 -c "print(4.5 * $party / 2**30)")   # 1 replica at batch 4 (3 ranks) fits, 2 replicas do not
    "${M[@]}" --replicas 1,2 --node-mem "$gb" > m2.json 2>m2.err || fail "plan --node-mem"
    grep -q "2 replicas on 1 node, batch 4: predicted peak .* exceeds the node memory" m2.err || { cat m2.err; fail "no warning"; }
    [ "$(jget m2.json '[p["fits_node_mem"] for p in d["predictions"]]')" = "[1, 0]" ] || fail "fits_node_mem flags"
    "$MPCT" plan --model tiny.h5 --inputs-count 64 --seq-len 16 --batch 4 --calibration c1m.json --calibration c4m.json \
        --startup 1 --deadline 1h --cores-per-node 64 --node-mem "$gb" --json > m3.json || fail "deadline with --node-mem"
    python3 - "$gb" <<'PY' || fail "deadline recommendation over the node memory"
import json, math, sys
d = json.load(open("m3.json")); r = d["recommendation"]; node = float(sys.argv[1]) * 2**30
assert r["feasible"] == 1 and r["mem_node_bytes"] <= node, r
assert r["sbatch_mem_mib"] == math.ceil(1.2 * r["mem_node_bytes"] / 2**20), r
assert r["sbatch_mem_mib"] * 2**20 <= node, r
PY
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1m.json --calibration c4m.json \
        --startup 1 --deadline 1h --cores-per-node 16 > m4.txt || fail "deadline text"
    grep -q "^#SBATCH --mem=[0-9]*M$" m4.txt || { cat m4.txt; fail "no #SBATCH --mem line"; }
    # #SBATCH --mem (1.2 x the predicted node peak) never above --node-mem: a node of 1.25 x the peak of one
    # party at batch 1 takes batch 1 (78 MiB), not batch 2, whose peak fits but whose --mem would not
    party1=$(python3 -c "print((50 << 20) + 2 * 16 * 1 * 16 * $V)")
    D=("$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1m.json --calibration c4m.json
       --startup 1 --deadline 1h --cores-per-node 1)
    "${D[@]}" --node-mem "$(python3 -c "print(1.25 * $party1 / 2**30)")" > mm1.txt 2> mm1.err || { cat mm1.err; fail "mem 1.25"; }
    mem=$(sed -n 's/^#SBATCH --mem=\([0-9]*\)M$/\1/p' mm1.txt)
    python3 -c "import sys; sys.exit(0 if 0 < int('${mem:-0}') <= 1.25 * $party1 / 2**20 else 1)" ||
        { cat mm1.txt; fail "#SBATCH --mem=${mem}M is above --node-mem ($(python3 -c "print(1.25 * $party1 / 2**20)") MiB)"; }
    grep -q "^recommended .*batch 1, " mm1.txt || { cat mm1.txt; fail "not batch 1 under a tight --node-mem"; }
    # a node smaller than 1.2 x one party at batch 1: nothing fits, said clearly, exit 1
    out=$("${D[@]}" --node-mem "$(python3 -c "print(1.1 * $party1 / 2**30)")" 2>&1); rc=$?
    [ $rc = 1 ] || { echo "$out"; fail "a job that fits no node: exit $rc, not 1"; }
    grep -q "error: the job does not fit in the node memory: one party needs 0.06 GiB at batch 1 .*even with one rank per node" \
        <<<"$out" || { echo "$out"; fail "no clear message for a job that fits no node"; }
    ! grep -q "^#SBATCH" <<<"$out" || fail "#SBATCH lines for a job that fits no node"
    # one unit family, binary (MiB, GiB), in all output: no MB or GB
    "${D[@]}" --replicas 1,2 --node-mem 64 > units.txt 2>&1 || { cat units.txt; fail "plan for the units"; }
    grep -q "MiB total .* GiB/node" units.txt && grep -q "node memory 64.0 GiB" units.txt || { cat units.txt; fail "units"; }
    ! grep -nE "[0-9 ](MB|GB|kB|KB|TB)\b" units.txt || fail "decimal units (MB, GB) in the output"
    # --node-mem with a unit (binary, as Slurm's --mem); a bare number is GiB
    for v in 256 256G 256GiB 262144M 262144MiB 0.25T; do
        "${M[@]}" --node-mem "$v" > nm.json || fail "--node-mem $v"
        near "$(jget nm.json 'd["node_mem_bytes"]')" $((256 << 30)) || fail "--node-mem $v is not 256 GiB"
    done
    # --deadline forms
    for f in 90s:90 30m:1800 2h:7200 1d:86400 1h30m:5400 1:30:00:5400 0:00:45:45; do
        "${P[@]}" --deadline "${f%:*}" > dl.json 2>/dev/null || fail "--deadline ${f%:*}"
        near "$(jget dl.json 'd["recommendation"]["deadline_s"]')" "${f##*:}" || fail "--deadline ${f%:*} != ${f##*:} s"
    done
    # a batch size that no calibration measured: one line naming the calibrated sizes it comes from
    "${P[@]}" --batch 8 --replicas 1 > x8.json 2> x8.err || fail "plan batch 8"
    grep -q "warning: batch 8 is not calibrated: extrapolated from the calibrated batch sizes 1, 4 (seq 16" x8.err ||
        { cat x8.err; fail "no extrapolation line for batch 8"; }
    [ "$(jget x8.json 'd["calibrated_batches"]')" = "[1, 4]" ] || fail "calibrated_batches"
    [ "$(jget x8.json 'd["predictions"][0]["batch_calibrated"]')" = 0 ] || fail "batch 8 marked calibrated"
    [ "$(jget p1.json 'd["predictions"][0]["batch_calibrated"]')" = 1 ] || fail "batch 4 not marked calibrated"
    # batch = auto: the fastest candidate within the bounds (latency-bound here: the largest, 8)
    printf '[job]\nbatch = auto\n[batch]\nmax = 8\n[model]\npath = tiny.h5\n' > auto.ini
    "$MPCT" plan auto.ini --inputs-count 16 --seq-len 16 --calibration c1m.json --calibration c4m.json --replicas 1 \
        --json > m5.json || fail "plan batch auto"
    [ "$(jget m5.json 'd["predictions"][0]["batch"]')" = 8 ] || fail "batch auto: predicted size not 8"
    # measured round latency: with one calibration it replaces the default (no warning); it is a floor
    # under a fitted value (here the fit gives 0.05/600 = 83 us, the measurement 120 us)
    python3 - <<'PY' || fail "edit calibrations"
import json
for name in ("c1", "c4"):
    d = json.load(open(name + ".json")); d["round_latency_s"] = 1.2e-4; json.dump(d, open(name + "l.json", "w"))
PY
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1l.json --json > l1.json 2>l1.err \
        || fail "plan with latency"
    ! grep -q "one batch size calibrated" l1.err || fail "default-alpha warning although the latency was measured"
    near "$(jget l1.json 'd["alpha_s_per_round"]')" 1.2e-4 || fail "alpha = measured latency"
    [ "$(jget l1.json 'd["alpha_source"]')" = measured ] || fail "alpha source"
    "$MPCT" plan --model tiny.h5 --inputs-count 8 --seq-len 16 --batch 4 --calibration c1l.json --calibration c4l.json \
        --json > l2.json || fail "plan with latency, 2 calibrations"
    near "$(jget l2.json 'd["alpha_s_per_round"]')" 1.2e-4 || fail "the measured latency is not a floor under the fit"
    ;;
bad_input)
    expect() { # expect "message" cmd...: non-zero exit, message in the output
        local msg=$1; shift
        out=$(timeout 60 "$@" 2>&1); rc=$?
        [ $rc -ne 0 ] || fail "exit 0 for: $*"
        grep -q -- "$msg" <<<"$out" || { echo "$out"; fail "message '$msg' missing for: $*"; }
        echo "ok: $msg"
    }
    cal good.json 2 32 4 64 100 16 1 0.10 600 1000000 0.2
    echo '{"benchmark": "model", "layers": 2}' > partial.json
    echo 'not json' > garbage.json
    echo '{"benchmark": "ops"}' > ops.json
    sed 's/"rounds_per_batch": 600/"rounds_per_batch": "many"/' good.json > badnum.json
    printf 'a\nb\n' > in.txt
    : > empty.txt
    B=("$MPCT" plan --model tiny.h5 --inputs in.txt --seq-len 16)
    expect "no calibration" "${B[@]}"
    expect "cannot open the calibration file 'missing.json'" "${B[@]}" --calibration missing.json
    expect "'garbage.json' is not a JSON object" "${B[@]}" --calibration garbage.json
    echo '[]' > emptyarr.json
    expect "'emptyarr.json' is not a JSON object or a non-empty array" "${B[@]}" --calibration emptyarr.json
    python3 -c "import json; print(json.dumps([json.load(open('good.json')), 3]))" > arr3.json
    expect "'arr3.json\[1\]' is not a JSON object" "${B[@]}" --calibration arr3.json
    python3 -c "import json; print(json.dumps([json.load(open('good.json')), json.load(open('partial.json'))]))" \
        > arrpart.json
    expect "'arrpart.json\[1\]': missing field 'hidden'" "${B[@]}" --calibration arrpart.json
    expect "'benchmark' must be \"model\"" "${B[@]}" --calibration ops.json
    expect "missing field 'hidden'" "${B[@]}" --calibration partial.json
    expect "field 'rounds_per_batch' must be a number" "${B[@]}" --calibration badnum.json
    expect "no model" "$MPCT" plan --inputs-count 4 --calibration good.json
    expect "no inputs" "$MPCT" plan --model tiny.h5 --calibration good.json
    expect "missing.h5" "$MPCT" plan --model missing.h5 --inputs-count 4 --calibration good.json
    expect "cannot open the inputs file 'nope.txt'" "$MPCT" plan --model tiny.h5 --inputs nope.txt --seq-len 16 \
        --calibration good.json
    expect "is empty" "$MPCT" plan --model tiny.h5 --inputs empty.txt --seq-len 16 --calibration good.json
    printf 'a\nb\0c\n' > nul.txt
    expect "nul.txt:2: NUL byte" "$MPCT" plan --model tiny.h5 --inputs nul.txt --seq-len 16 --calibration good.json
    printf 'a\n\nb\n' > blank.txt
    "$MPCT" plan --model tiny.h5 --inputs blank.txt --seq-len 16 --calibration good.json 2>&1 >/dev/null \
        | grep -q "warning: blank.txt: 1 line without text (.*): line 2;" || fail "no warning for the empty line 2"
    echo "ok: empty line warned"
    expect "exceeds the model's 64 positions" "${B[@]}" --seq-len 100 --calibration good.json
    expect "--deadline expects a duration" "${B[@]}" --calibration good.json --deadline soon
    expect "--replicas expects" "${B[@]}" --calibration good.json --replicas 2,x
    expect "--slowdown expects a number >= 1" "${B[@]}" --calibration good.json --slowdown 0.5
    expect "unknown option '--fast'" "${B[@]}" --calibration good.json --fast
    expect "needs a value" "${B[@]}" --calibration
    expect "--node-mem expects the memory of a node in GiB" "${B[@]}" --calibration good.json --node-mem 0
    expect "--node-mem expects the memory of a node in GiB" "${B[@]}" --calibration good.json --node-mem lots
    expect "--node-mem expects .* 262144M, 262144MiB, 256G, 256GiB, 1T; got '256GB'" "${B[@]}" --calibration good.json \
        --node-mem 256GB
    # a duration without a unit is refused (is 2 seconds, minutes or hours?), as is a number without one
    expect "--deadline '2' has no unit (seconds? minutes? hours?): write it as 90s, 30m, 2h, 1d, 1h30m or 1:30:00" \
        "${B[@]}" --calibration good.json --deadline 2
    expect "--deadline expects a duration such as 90s, 30m, 2h, 1d, 1h30m or 1:30:00" "${B[@]}" \
        --calibration good.json --deadline 2h30
    expect "--deadline expects a duration" "${B[@]}" --calibration good.json --deadline 1:30
    expect "--deadline expects a duration" "${B[@]}" --calibration good.json --deadline 1:75:00
    expect "--deadline expects a duration" "${B[@]}" --calibration good.json --deadline 0s
    expect "--nodes 2: the parties P0, P1, P2 of a replica run on 3 different nodes" "${B[@]}" --calibration good.json \
        --nodes 2
    expect "--single-node puts every rank on one node, but --nodes asks for 4" "${B[@]}" --calibration good.json --nodes 4 --single-node
    ;;
end_to_end)
    head -12 "$SRC/tests/data/minilm_golden_text.txt" > in.txt
    timeout 300 "${MPI[@]}" -n 3 "$MPCT" bench model --model tiny.h5 --seq 16 --batch 1 --reps 3 --json > cal.json \
        || fail "bench model"
    "$MPCT" plan --model tiny.h5 --inputs in.txt --seq-len 16 --batch 4 --calibration cal.json --replicas 1 --json \
        > plan.json || fail "plan"
    pred=$(jget plan.json 'd["predictions"][0]["wall_s"]')
    t0=$(date +%s.%N)
    timeout 300 "${MPI[@]}" -n 3 "$MPCT" run --model tiny.h5 --inputs in.txt --output out.h5 --task classify \
        --seq-len 16 --batch 4 --quiet || fail "run"
    meas=$(python3 -c "import time; print(time.time() - $t0)")
    echo "predicted $pred s, measured $meas s"
    python3 -c "import sys; p,m=$pred,$meas; sys.exit(0 if m/2 <= p <= 2*m else 1)" \
        || fail "prediction $pred s not within 2x of the measured $meas s"
    # over an emulated 1 Gbit/s, 2 ms link: plan from the loopback calibration vs bench model on that link
    # (the link's waits dominate, so this holds under load: within 25 %)
    timeout 300 "${MPI[@]}" -n 3 "$MPCT" bench model --model tiny.h5 --seq 16 --batch 1 --reps 3 --json \
        --network 1gbit:2ms > net.json || fail "bench model --network"
    "$MPCT" plan --model tiny.h5 --inputs-count 1 --seq-len 16 --batch 1 --calibration cal.json --replicas 1 \
        --network 1gbit:2ms --json > plannet.json || fail "plan --network"
    # bench model's time split: local + waiting = the batch, and the waiting covers the link's latency floor
    python3 - net.json <<'PY' || fail "bench model --network: time split wrong"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["time_split_party0_s"]
assert abs(t["local"] + t["waiting"] - t["batch"]) < 1e-9, t
assert abs(t["latency_floor"] - d["rounds_per_batch"] * 0.001) < 1e-9, (t, d["rounds_per_batch"])
busiest = max(d["bytes_sent_per_party_per_batch"])
assert abs(t["bandwidth_floor"] - 8 * busiest / 1e9) < 1e-9, (t, busiest)
assert t["waiting"] >= 0.95 * t["latency_floor"], t
PY
    pn=$(jget plannet.json 'd["predictions"][0]["inference_s"]') mn=$(jget net.json 'd["median_batch_s"]')
    echo "over 1gbit:2ms: predicted $pn s per inference, measured $mn s"
    python3 -c "import sys; p,m=$pn,$mn; sys.exit(0 if abs(p - m) <= 0.25 * m else 1)" \
        || fail "network prediction $pn s not within 25 % of the measured $mn s"
    ;;
backpressure)
    head -24 "$SRC/tests/data/minilm_golden_text.txt" > in.txt
    common=(--model tiny.h5 --inputs in.txt --task classify --seq-len 16 --batch 2 --test-seed 11 --quiet)
    timeout 300 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --output r1.h5 || fail "np 3"
    MPCT_TEST_SLOW_REPLICA=1:1500 timeout 300 "${MPI[@]}" -x MPCT_TEST_SLOW_REPLICA -n 6 "$MPCT" run "${common[@]}" \
        --output r2.h5 --report rep.json || fail "np 6 with replica 1 slowed"
    h5diff r1.h5 r2.h5 /embedding || fail "embeddings differ"
    h5diff r1.h5 r2.h5 /logits || fail "logits differ"
    h5diff r1.h5 r2.h5 /label || fail "labels differ"
    b0=$(jget rep.json 'd["settings"]["blocks_replica_0"]') b1=$(jget rep.json 'd["settings"]["blocks_replica_1"]')
    echo "blocks: replica 0 $b0, replica 1 (slowed) $b1"
    python3 -c "import sys; sys.exit(0 if float($b0)+float($b1)==12 else 1)" || fail "blocks do not add up to 12"
    python3 -c "import sys; sys.exit(0 if float($b1) < float($b0) else 1)" || fail "the slowed replica took as many blocks"
    ;;
*) fail "unknown case $case_" ;;
esac
echo "PASS: $case_"
