#!/bin/sh
# `mpct report` on synthetic reports: summary, --plot, --prometheus, --json,
# diff, --set, --calibration, and clear errors for bad input.
# Usage: report_cli.sh MPCT TEST_PERF DIR
set -eu
MPCT=$1 GEN=$2 DIR=$3
rm -rf "$DIR" && mkdir -p "$DIR"
"$GEN" "$DIR" >/dev/null
fail() { echo "report_cli: $*" >&2; exit 1; }
# report_to OUT ARGS...: mpct report ARGS > OUT; it must succeed and print
# its hints section, so that a negated grep on OUT cannot pass on a crash
report_to() {
    local out=$1; shift
    "$MPCT" report "$@" > "$out" || fail "mpct report $* failed"
    grep -q "^hints:" "$out" || fail "mpct report $*: no hints section"
}
out=$("$MPCT" report "$DIR/a.json" --top 3 --plot "$DIR/p.svg" --prometheus "$DIR/p.prom" --json "$DIR/re.json")
echo "$out"
for s in "top regions by time" "top regions by bytes" "compute" "rounds x latency" "per party" \
         "imbalance" "[latency_bound]" "run/L0/softmax"; do
  echo "$out" | grep -qF -- "$s" || fail "summary lacks '$s'"
done
# --top 3 keeps three rows in the time table
n=$(echo "$out" | sed -n '/top regions by time/,/^$/p' | grep -c '^  run/') || true
[ "$n" = 3 ] || fail "--top 3 printed $n rows"
grep -q '^<svg ' "$DIR/p.svg" || fail "no SVG"
# the settings as a block: "settings:" alone, then one "  key   value" line each
echo "$out" | grep -qx 'settings:' || fail "settings are not a block"
echo "$out" | grep -Eq '^  model +tiny "bert"$' || fail "settings block lacks the model line"
echo "$out" | grep -Eq '^  inferences +8$' || fail "settings block lacks the inferences line"
# the plot's title names the run: model, inputs and, where the report has it, the date
grep -q '>mpct profile: .* — model tiny &quot;bert&quot;, 8 inputs' "$DIR/p.svg" ||
  { grep '<text x="20" y="26"' "$DIR/p.svg"; fail "plot title lacks model and inputs"; }
grep -q '^mpct_run_seconds{job=' "$DIR/p.prom" || fail "no Prometheus metrics"
grep -q '"schema": "mpct-report"' "$DIR/re.json" || fail "re-export lacks schema"
# --latency-us overrides the estimate
"$MPCT" report "$DIR/a.json" --latency-us 10 | grep -qF "x 10.0 us (--latency-us)" || fail "--latency-us ignored"
d=$("$MPCT" report diff "$DIR/a.json" "$DIR/b.json")
echo "$d"
echo "$d" | grep -E '^run/L0/softmax +0.5 +0.3 +0.600 .* 400 +200 +0.500' >/dev/null || fail "diff row for softmax wrong"
echo "$d" | grep -q '^TOTAL' || fail "diff lacks TOTAL"
# bad input: clear message, nonzero exit
echo '{"schema":"other"}' > "$DIR/bad.json"
if "$MPCT" report "$DIR/bad.json" 2> "$DIR/err.txt"; then fail "accepted a foreign schema"; fi
grep -q "bad.json: field 'schema'" "$DIR/err.txt" || fail "error does not name file and field"
if "$MPCT" report "$DIR/missing.json" 2>/dev/null; then fail "accepted a missing file"; fi
if "$MPCT" report "$DIR/a.json" --latency-us abc 2>/dev/null; then fail "accepted --latency-us abc"; fi
# --set overrides a threshold: a.json's comm is 84% of wall, latency-bound
# by default, neither latency- nor compute-bound from 90% on; the setting
# persists in the --json re-export
"$MPCT" report "$DIR/a.json" --set comm_share_min=0.9 --json "$DIR/set.json" > "$DIR/set.txt"
grep -q "^hints:" "$DIR/set.txt" || fail "--set: no hints section"
! grep -qF "[latency_bound]" "$DIR/set.txt" || fail "--set comm_share_min=0.9 left latency_bound"
grep -q '"comm_share_min": 0.9' "$DIR/set.json" || fail "--set not kept in the --json re-export"
report_to "$DIR/reload.txt" "$DIR/set.json"
! grep -qF "[latency_bound]" "$DIR/reload.txt" || fail "re-exported setting ignored on reload"
"$MPCT" report "$DIR/a.json" --set latency_us=10 --set batch_size=4 | grep -qF "x 10.0 us (setting)" \
    || fail "--set latency_us ignored"
# bad --set: usage error (2) naming the valid keys or the range, before the file is read
for bad in "nosuch=1" "peak_gops" "peak_gops=abc" "comm_share_min=2" "batch_size=1.5"; do
  rc=0; "$MPCT" report "$DIR/missing.json" --set "$bad" 2> "$DIR/err.txt" || rc=$?
  [ "$rc" = 2 ] || fail "--set $bad: exit $rc, expected 2"
  grep -q "^mpct report: error: --set: " "$DIR/err.txt" || fail "--set $bad: no clear error: $(cat "$DIR/err.txt")"
done
"$MPCT" report "$DIR/a.json" --set nosuch=1 2>&1 | grep -q "valid keys: latency_us, .*peak_gops, .*peak_fraction_min" \
    || fail "unknown --set key: the valid keys are not listed"
"$MPCT" report "$DIR/a.json" --set comm_share_min=2 2>&1 | grep -qF "expected a number in (0, 1]" \
    || fail "--set out of range: the range is not given"
"$MPCT" report --help | grep -q "^  peak_fraction_min " || fail "--help does not list the --set keys"
# --calibration: the measured peak from a bench --json file makes below_peak
# fire on c.json (matmul at 11 Gop/s: 11% of 100), not with a peak of 30
report_to "$DIR/nopeak.txt" "$DIR/c.json"
! grep -qF "[below_peak]" "$DIR/nopeak.txt" || fail "below_peak without any peak"
printf '{"benchmark": "ops", "calibration": {"peak_gops": 100}, "ops": []}\n' > "$DIR/cal100.json"
printf '{"benchmark": "ops", "calibration": {"peak_gops": 30}, "ops": []}\n' > "$DIR/cal30.json"
"$MPCT" report "$DIR/c.json" --calibration "$DIR/cal100.json" | grep "\[below_peak\]" | grep -qF "cal100.json" \
    || fail "--calibration: below_peak did not fire citing the file"
report_to "$DIR/cal30.txt" "$DIR/c.json" --calibration "$DIR/cal30.json"
! grep -qF "[below_peak]" "$DIR/cal30.txt" || fail "--calibration 30 Gop/s: below_peak fired at 37% of peak"
# the array that `bench model --batch 1,8 --json --calibrate` prints serves too (its first object)
printf '[{"benchmark": "model", "batch": 1, "calibration": {"peak_gops": 100}},\n {"benchmark": "model", "batch": 8, "calibration": {"peak_gops": 100}}]\n' > "$DIR/calarr.json"
"$MPCT" report "$DIR/c.json" --calibration "$DIR/calarr.json" | grep "\[below_peak\]" | grep -qF "calarr.json" \
    || fail "--calibration with a bench model array: below_peak did not fire citing the file"
# --set peak_gops wins over the calibration
report_to "$DIR/over.txt" "$DIR/c.json" --calibration "$DIR/cal100.json" --set peak_gops=30
! grep -qF "[below_peak]" "$DIR/over.txt" || fail "--set peak_gops did not override --calibration"
if "$MPCT" report "$DIR/c.json" --calibration "$DIR/a.json" 2> "$DIR/err.txt"; then fail "a report without a peak accepted as calibration"; fi
grep -q "no measured peak" "$DIR/err.txt" || fail "calibration without a peak: unclear error"
if "$MPCT" report "$DIR/c.json" --calibration "$DIR/missing.json" 2>/dev/null; then fail "missing calibration accepted"; fi
echo "report_cli: ok"
