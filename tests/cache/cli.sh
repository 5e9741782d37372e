#!/bin/sh
# `mpct cache stats|clear|prune` on directories that test_cache --populate filled: one party's
# folder, the party folders of a run's cache directory, and a directory without a cache.
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
# a directory that is neither a party's cache nor a run's cache directory is refused (exit 1),
# for every verb, and nothing in it is touched
mkdir -p "$d/wrong" && echo keep > "$d/wrong/notes.txt"
for verb in stats clear "prune --max-mb 0"; do
    rc=0; "$2" cache $verb --dir "$d/wrong" 2>"$d/err" || rc=$?
    [ "$rc" -eq 1 ] || { echo "FAIL: cache $verb on a directory without a cache gave $rc"; exit 1; }
    grep -q "holds no share cache: give the directory of .mpct run --cache-dir DIR." "$d/err" \
        || { cat "$d/err"; echo "FAIL: no message saying what to give"; exit 1; }
done
[ -f "$d/wrong/notes.txt" ] || { echo "FAIL: a file of the refused directory was removed"; exit 1; }
# the layout of `mpct run --cache-dir R`: R/party<i>; the verbs act on every party folder
"$1" --populate "$d/r/party0" >/dev/null
"$1" --populate "$d/r/party2" >/dev/null
mkdir -p "$d/r/party1"
out=$("$2" cache stats --dir "$d/r")
echo "$out"
for p in 0 1 2; do echo "$out" | grep -q "^cache dir   $d/r/party$p\$" || { echo "FAIL: stats lacks party$p"; exit 1; }; done
echo "$out" | grep -q "total .*3 folder(s) (party0, party1, party2): 6 entries (6 valid" \
    || { echo "FAIL: stats total"; exit 1; }
"$2" cache stats --dir "$d/r" --json | python3 -c "import json,sys; d=json.load(sys.stdin); \
assert d['valid'] == 6 and [p['valid'] for p in d['parties']] == [3, 0, 3], d" || { echo "FAIL: stats --json"; exit 1; }
out=$("$2" cache clear --dir "$d/r")
echo "$out"
echo "$out" | grep -q "cleared $d/r: 3 folder(s) (party0, party1, party2): [1-9][0-9]* file(s), [1-9][0-9]* bytes" \
    || { echo "FAIL: clear does not name the folders and totals"; exit 1; }
[ "$(find "$d/r" -type f | wc -l)" -eq 0 ] || { echo "FAIL: files left after clear"; find "$d/r" -type f; exit 1; }
"$2" cache stats --dir "$d/r/party0" >/dev/null || { echo "FAIL: an empty party folder refused"; exit 1; }
rc=0; "$2" cache bogus --dir "$d/c" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL: bad usage gave $rc"; exit 1; }
echo "cache cli ok"
