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
# prune: least recently used first. Oldest file by mtime goes when the budget
# is the sum of the other two; a budget of 0 empties the directory.
files=$(ls "$d"/c/*.mce)
i=0
for f in $files; do i=$((i + 1)); touch -d "2026-01-0$i 00:00" "$f"; done
oldest=$(ls -tr "$d"/c/*.mce | head -n 1)
keep=$(ls -t "$d"/c/*.mce | head -n 2 | xargs stat -c %s | awk '{s+=$1} END {printf "%.6f", (s + 8) / 1048576}')
"$2" cache prune --dir "$d/c" --max-mb "$keep" | tee /dev/stderr | grep -q "removed 1 file" || { echo "FAIL: prune"; exit 1; }
[ ! -e "$oldest" ] || { echo "FAIL: prune kept the oldest file"; exit 1; }
[ "$(ls "$d"/c/*.mce | wc -l)" -eq 2 ] || { echo "FAIL: prune removed the wrong number of files"; exit 1; }
[ "$(wc -l < "$d/c/index")" -eq 2 ] || { echo "FAIL: index not rebuilt after prune"; exit 1; }
! grep -q "^$(basename "$oldest") " "$d/c/index" || { echo "FAIL: the pruned file is still in the index"; exit 1; }
rc=0; "$2" cache prune --dir "$d/c" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: prune without --max-mb gave $rc"; exit 1; }
rc=0; "$2" cache prune --dir "$d/c" --max-mb -3 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: negative budget gave $rc"; exit 1; }
"$2" cache clear --dir "$d/c"
left=$(ls -A "$d/c" | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left file(s) left after clear"; ls -A "$d/c"; exit 1; }
"$2" cache stats --dir "$d/nonexistent" 2>/dev/null && { echo "FAIL: missing dir accepted"; exit 1; }
rc=0; "$2" cache bogus --dir "$d/c" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: bad usage gave $rc"; exit 1; }
echo "cache cli ok"
