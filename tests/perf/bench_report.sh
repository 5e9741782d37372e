#!/bin/sh
# `mpct bench ops --report/--prometheus` on 3 ranks, then `mpct report` reads
# the result. Usage: bench_report.sh MPIEXEC MPCT DIR [mpiexec flags...]
set -eu
MPIEXEC=$1 MPCT=$2 DIR=$3
shift 3
rm -rf "$DIR" && mkdir -p "$DIR"
"$MPIEXEC" -n 3 "$@" "$MPCT" bench ops --reps 2 --filter mul --report "$DIR/r.json" --prometheus "$DIR/r.prom"
fail() { echo "bench_report: $*" >&2; exit 1; }
grep -q '"schema_version": 1' "$DIR/r.json" || fail "no report"
[ "$(grep -c '"world_rank"' "$DIR/r.json")" = 3 ] || fail "report does not hold 3 parties"
grep -q '"kind": "mul"' "$DIR/r.json" || fail "no mul region"
grep -q '"available": [01]' "$DIR/r.json" || fail "no papi status"
"$MPCT" report "$DIR/r.json" | grep -q "bench/mul" || fail "summary lacks bench/mul"
grep -q '^mpct_party_rounds_total{rank="2"' "$DIR/r.prom" || fail "prometheus lacks party 2"
echo "bench_report: ok"
