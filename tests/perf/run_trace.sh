#!/usr/bin/env bash
# `mpct run --trace`: a secure run of the tiny model on two replicas writes
# a Chrome trace JSON file; trace_check.py (standard library only) checks it
# parses, follows the trace event format (ph/ts/dur/pid/tid/name, complete
# events with dur >= 0, spans nested per rank), names every rank and every
# op region of the run's report. Then the refusals: trace with --plaintext,
# trace equal to the report, an unwritable trace path (before any work).
# Usage: run_trace.sh MPIRUN MPCT SOURCE_DIR DIR MPIRUN_FLAGS...
set -euo pipefail
MPIRUN=$1 MPCT=$2 SRC=$3 DIR=$4
shift 4
fail() { echo "run_trace: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
"$MPCT" pack --synthetic tiny --labels 2 --vocab "$SRC/tests/data/vocab.txt" -o tiny.h5 >/dev/null
common=(--model tiny.h5 --inputs "$SRC/datasets/sample-reviews.txt" --task classify --batch 4 --seq-len 32 --quiet)
"$MPIRUN" -np 6 "$@" "$MPCT" run "${common[@]}" --output out.h5 --report rep.json --trace trace.json --test-seed 3 \
    || fail "mpct run --trace failed"
python3 "$SRC/tests/perf/trace_check.py" trace.json rep.json 6 || fail "trace.json does not check"
# refusals: bad settings exit 2, an unwritable path 1; the message names the key, once
expect_fail() {
  local want_rc=$1 want=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" = "$want_rc" ] || fail "$* exited $rc, expected $want_rc: $out"
  echo "$out" | grep -qF -- "$want" || fail "$*: message lacks '$want': $out"
  [ "$(echo "$out" | grep -cF -- "$want")" = 1 ] || fail "$*: message printed more than once: $out"
}
expect_fail 2 "a plaintext run executes no protocol to trace" \
    "$MPCT" run "${common[@]}" --output p.h5 --plaintext --trace t.json
expect_fail 2 "trace 'same.json' is also the report" \
    "$MPIRUN" -np 3 "$@" "$MPCT" run "${common[@]}" --output o3.h5 --report same.json --trace same.json
expect_fail 1 "no-such-dir/t.json" \
    "$MPIRUN" -np 3 "$@" "$MPCT" run "${common[@]}" --output o4.h5 --trace no-such-dir/t.json --test-seed 3
echo "run_trace: ok"
