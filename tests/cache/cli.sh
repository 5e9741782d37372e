#!/bin/sh
# `mpct cache stats|clear` on a directory that test_cache --populate filled.
# usage: cli.sh TEST_CACHE_EXE MPCT_EXE
set -eu
d=$(mktemp -d /tmp/mpct-cache-cli-XXXXXX)
trap 'rm -rf "$d"' EXIT
"$1" --populate "$d/c"
out=$("$2" cache stats --dir "$d/c" --json)
echo "$out"
echo "$out" | grep -q '"valid": 3' || { echo "FAIL: expected 3 valid entries"; exit 1; }
echo "$out" | grep -q '"compact_prf": 1' || { echo "FAIL: expected 1 compact entry"; exit 1; }
echo "$out" | grep -q '"lz4": 1' || { echo "FAIL: expected 1 lz4 entry"; exit 1; }
# corrupt one entry file: stats must count it
f=$(ls "$d"/c/*.mce | head -n 1)
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
"$2" cache stats --dir "$d/c" | tee /dev/stderr | grep -q '(2 valid, 1 corrupt)' || { echo "FAIL: corrupt not counted"; exit 1; }
"$2" cache clear --dir "$d/c"
left=$(ls -A "$d/c" | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left file(s) left after clear"; ls -A "$d/c"; exit 1; }
"$2" cache stats --dir "$d/nonexistent" 2>/dev/null && { echo "FAIL: missing dir accepted"; exit 1; }
rc=0; "$2" cache bogus --dir "$d/c" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: bad usage gave $rc"; exit 1; }
echo "cache cli ok"
