#!/bin/sh
# gguf_pack.sh MPCT DATA_DIR WORK_DIR CASE — `mpct pack` of a GGUF file (io/GGUF.md).
#   cleanup  pack tiny_llama.gguf: the conversion is reported (architecture, tensor
#            types, bytes) and its temporary directory next to the output is gone
#            afterwards, whether the pack step succeeded or failed
#   pack     the same pack succeeds and writes the model
set -u
mpct=$1 data=$2 work=$3 case=$4
dir="$work/gguf_pack_$case"
rm -rf "$dir" && mkdir -p "$dir"
out=$("$mpct" pack "$data/gguf/tiny_llama.gguf" -o "$dir/tiny.h5" 2>&1)
rc=$?
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
echo "$out" | grep -q "gguf: converted 20 tensors (5 F32, 2 F16, 2 Q4_0, 6 Q4_1, 3 Q8_0, 2 BF16)" ||
    fail "no conversion report"
echo "$out" | grep -q "architecture llama: 2 layers" || fail "no architecture line"
left=$(ls -A "$dir" | grep '^\.mpct-gguf-' || true)
[ -z "$left" ] || fail "temporary directory left behind: $left"
case $case in
cleanup) [ $rc -le 1 ] || fail "exit $rc" ;;
pack)
    [ $rc -eq 0 ] || fail "exit $rc"
    [ -s "$dir/tiny.h5" ] || fail "no model written"
    echo "$out" | grep -q "wrote $dir/tiny.h5" || fail "no 'wrote' line" ;;
*) fail "unknown case $case" ;;
esac
echo "gguf_pack $case: ok"
