#!/bin/sh
# `mpct bench model --batch 1,2 --json` on 3 ranks: an array with one object
# per batch size, each throughput ratio equal to the first size's latency per
# inference over this one's, CPU per party and per op present and positive,
# and the single-size output still one object. A malformed list and a bad
# integer option are refused (the latter's message printed once, not per rank).
# Usage: bench_model_batches.sh MPIEXEC MPCT DIR [mpiexec flags...]
set -eu
MPIEXEC=$1 MPCT=$2 DIR=$3
shift 3
rm -rf "$DIR" && mkdir -p "$DIR"
fail() { echo "bench_model_batches: $*" >&2; exit 1; }
"$MPIEXEC" -n 3 "$@" "$MPCT" bench model --shape tiny --seq 16 --reps 1 --batch 1,2 --json > "$DIR/two.json"
"$MPIEXEC" -n 3 "$@" "$MPCT" bench model --shape tiny --seq 16 --reps 1 --json > "$DIR/one.json"
python3 - "$DIR/two.json" "$DIR/one.json" <<'PY' || fail "outputs inconsistent"
import json, sys
two = json.load(open(sys.argv[1]))
one = json.load(open(sys.argv[2]))
assert isinstance(two, list) and [x["batch"] for x in two] == [1, 2], "one object per batch size"
assert isinstance(one, dict) and "throughput_ratio_to_first_batch" not in one, "single size: one object"
base = two[0]["median_latency_per_inference_s"]
for x in two:
    want = base / x["median_latency_per_inference_s"]
    got = x["throughput_ratio_to_first_batch"]
    assert abs(got - want) <= 1e-6 * want, (got, want)
    assert len(x["cpu_s_per_party_per_batch"]) == 3 and min(x["cpu_s_per_party_per_batch"]) > 0
    assert all(len(o["cpu_s_per_party"]) == 3 for o in x["ops"])
    assert sum(sum(o["cpu_s_per_party"]) for o in x["ops"]) > 0
    assert x["transport"] == "mpi"
    # the three ranks share this node: the fraction is there, and the CPU of
    # all parties over the union of their cores cannot exceed 1 (10 % slack
    # for the per-rank CPU clocks' skew)
    assert 0 < x["node_cpu_busy_fraction"] <= 1.1, x["node_cpu_busy_fraction"]
assert two[0]["throughput_ratio_to_first_batch"] == 1
print("ratios", [round(x["throughput_ratio_to_first_batch"], 3) for x in two])
PY
if "$MPIEXEC" -n 3 "$@" "$MPCT" bench model --shape tiny --batch 1,,2 > "$DIR/bad.out" 2>&1; then
    fail "a malformed --batch list was accepted"
fi
grep -q "comma-separated sizes" "$DIR/bad.out" || fail "no message for a malformed --batch list"
# a bad integer option: refused, and said once (world rank 0), not once per rank
if "$MPIEXEC" -n 3 "$@" "$MPCT" bench model --shape tiny --seq 0 > "$DIR/badseq.out" 2>&1; then
    fail "--seq 0 was accepted"
fi
[ "$(grep -c -- "--seq expects an integer" "$DIR/badseq.out")" = 1 ] ||
    { cat "$DIR/badseq.out"; fail "--seq 0: want the message exactly once"; }
echo "bench_model_batches: ok"
