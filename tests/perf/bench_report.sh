#!/bin/sh
# `mpct bench ops --calibrate --report/--prometheus --json` on 3 ranks, then
# `mpct report` reads the result: the measured ring-GEMM peak reaches the
# --json output and the report, and below_peak fires against that real
# figure when the threshold says so and not otherwise; `mpct bench model
# --calibrate` gives a file that `mpct report --calibration` takes.
# Usage: bench_report.sh MPIEXEC MPCT DIR [mpiexec flags...]
set -eu
MPIEXEC=$1 MPCT=$2 DIR=$3
shift 3
rm -rf "$DIR" && mkdir -p "$DIR"
"$MPIEXEC" -n 3 "$@" "$MPCT" bench ops --reps 2 --filter mul --calibrate --json --report "$DIR/r.json" \
    --prometheus "$DIR/r.prom" > "$DIR/ops.json"
fail() { echo "bench_report: $*" >&2; exit 1; }
grep -q '"schema_version": 2' "$DIR/r.json" || fail "no report"
[ "$(grep -c '"world_rank"' "$DIR/r.json")" = 3 ] || fail "report does not hold 3 parties"
grep -q '"kind": "mul"' "$DIR/r.json" || fail "no mul region"
grep -q '"available": [01]' "$DIR/r.json" || fail "no papi status"
"$MPCT" report "$DIR/r.json" | grep -q "bench/mul" || fail "summary lacks bench/mul"
grep -q '^mpct_party_rounds_total{job=.*,rank="2"' "$DIR/r.prom" || fail "prometheus lacks party 2"
# the calibration: one peak in both files; 2 ops per multiply-add per rank
python3 - "$DIR/ops.json" "$DIR/r.json" <<'PY' || fail "calibration figures inconsistent"
import json, sys
c = json.load(open(sys.argv[1]))["calibration"]
s = json.load(open(sys.argv[2]))["settings"]
print("calibration:", {k: v for k, v in c.items() if k != "shapes"})
assert c["peak_gops"] > 0 and c["gemm_gmacs_per_core"] > 0 and c["gemm_gmacs_all_cores"] > 0
assert abs(c["peak_gops"] - 2 * c["gemm_gmacs_per_rank"]) <= 1e-6 * c["peak_gops"]
assert c["gemm_gmacs_per_rank"] == max(x["gmacs_per_rank"] for x in c["shapes"])
assert [(x["m"], x["k"], x["n"]) for x in c["shapes"]] == [(128, 768, 768), (128, 768, 3072), (128, 3072, 768)]
assert abs(s["calibration_peak_gops"] - c["peak_gops"]) <= 1e-6 * c["peak_gops"]
assert s["calibration_cores"] == c["cores"] and s["calibration_threads_per_rank"] == c["threads_per_rank"]
PY
# A secure matmul runs two local GEMMs per plaintext one (plus truncation and
# waiting for peers), so it reaches at most about half the peak. The test
# recomputes the matmul region's achieved rate from the report (slowest
# party's wall - comm, as the hints aggregate) and checks the hint against it
# with the real peak: at threshold 100% it must fire and cite the peak; with
# a "peak" of a hundredth of it, it must not.
peak=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calibration"]["peak_gops"])' "$DIR/ops.json")
achieved=$(python3 - "$DIR/r.json" <<'PY'
import json, sys
best = None
for p in json.load(open(sys.argv[1]))["parties"]:
    for g in p["regions"]:
        if g["name"] == "bench/matmul" and (best is None or g["wall_s"] > best["wall_s"]):
            best = g
print(best["work_ops"] / (best["wall_s"] - best["comm_s"]) / 1e9)
PY
)
echo "matmul achieved $achieved Gop/s against a measured peak of $peak Gop/s"
"$MPCT" report "$DIR/r.json" --set peak_fraction_min=1 --set peak_reachable=1 --json "$DIR/s1.json" > "$DIR/s1.txt"
if python3 -c "import sys; sys.exit(0 if $achieved < 0.95 * $peak else 1)"; then
  grep "\[below_peak\]" "$DIR/s1.txt" | grep -q "measured ring-GEMM peak" || fail "below_peak did not fire at threshold 1"
  python3 - "$DIR/s1.json" "$peak" "$achieved" <<'PY' || fail "below_peak does not cite the measured figures"
import json, sys
h = [h for h in json.load(open(sys.argv[1]))["hints"] if h["id"] == "below_peak"][0]
peak, achieved = float(sys.argv[2]), float(sys.argv[3])
assert abs(h["figures"]["peak_gops"] - peak) <= 1e-6 * peak, h
assert abs(h["figures"]["achieved_gops"] - achieved) <= 1e-6 * achieved, h
PY
else
  # only when the machine's load starved the calibration itself
  echo "bench_report: matmul ran at >= 95% of the measured peak (calibration disturbed by load?): fire case skipped"
  fire_skipped=1
fi
low=$(python3 -c "print($peak / 100)")
"$MPCT" report "$DIR/r.json" --set peak_gops="$low" > "$DIR/low.txt" || fail "report with a low peak failed"
grep -q "^hints:" "$DIR/low.txt" || fail "report with a low peak: no hints section"
! grep -qF "[below_peak]" "$DIR/low.txt" || fail "below_peak fired above peak"
# bench model --calibrate: a plan calibration file that also carries the peak
"$MPIEXEC" -n 3 "$@" "$MPCT" bench model --shape tiny --seq 16 --reps 1 --calibrate --json > "$DIR/model.json"
grep -q '"rounds_per_batch"' "$DIR/model.json" || fail "bench model --calibrate lost its plan fields"
"$MPCT" report "$DIR/r.json" --calibration "$DIR/model.json" --set peak_fraction_min=1 --json "$DIR/m1.json" --quiet
python3 - "$DIR/model.json" "$DIR/m1.json" <<'PY' || fail "--calibration from bench model not used"
import json, sys
peak = json.load(open(sys.argv[1]))["calibration"]["peak_gops"]
r = json.load(open(sys.argv[2]))
assert r["settings"]["calibration_peak_gops"] == peak and r["settings"]["calibration_source"] == sys.argv[1], r["settings"]
h = [h for h in r["hints"] if h["id"] == "below_peak"]
assert not h or abs(h[0]["figures"]["peak_gops"] - peak) <= 1e-6 * peak, h
PY
if [ "${fire_skipped:-0}" = 1 ]; then
  echo "bench_report: everything else passed; reported as skipped since the below_peak fire case did not run"
  exit 77
fi
echo "bench_report: ok"
