#!/usr/bin/env bash
# End-to-end tests of `mpct run` with the share cache (tiny synthetic model).
# usage: run_cache_test.sh CASE MPIEXEC MPCT SRCDIR WORKDIR  (cases: CMakeLists.txt)
set -u
case_=$1 MPIEXEC=$2 MPCT=$3 SRC=$4 WORK=$5
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
MPI=("$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
fail() { echo "FAIL: $*"; exit 1; }
"$MPCT" pack --synthetic tiny --labels 2 --vocab "$SRC/tests/data/vocab.txt" -o tiny.h5 >/dev/null || fail "pack"
head -8 "$SRC/tests/data/minilm_golden_text.txt" > in.txt
common=(--inputs in.txt --task classify --seq-len 48 --batch 4)
run() { timeout 300 "${MPI[@]}" "$@"; }
# crun NP OUT LOG [flags...]: a secure run with a report OUT.json
crun() { local np=$1 out=$2 log=$3; shift 3
    run -n "$np" "$MPCT" run --model tiny.h5 "${common[@]}" --output "$out" --report "$out.json" "$@" 2>"$log" \
        || { cat "$log"; fail "run $out"; }
    grep "share cache\|inferences in" "$log"; }
setting() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['settings'][sys.argv[2]])" "$1" "$2"; }
expect_hit() { [ "$(setting "$1" cache_used)" = 1 ] || fail "$1: expected a cache hit"; }
expect_miss() { [ "$(setting "$1" cache_used)" = 0 ] || fail "$1: expected a miss (re-sharing)"; }
plain() { "$MPCT" run --plaintext --model "${1:-tiny.h5}" "${common[@]}" --output plain.h5 --quiet || fail "plaintext"; }
close_to_plain() { "$MPCT" compare "$1" plain.h5 --min-cosine 0.995 --min-agreement 0.99 || fail "$1 differs from float64"; }

case $case_ in
cold_warm)
    crun 3 nocache.h5 l0.txt --test-seed 5
    crun 3 cold.h5 l1.txt --test-seed 5 --cache-dir cache
    crun 3 warm.h5 l2.txt --test-seed 5 --cache-dir cache
    expect_miss cold.h5.json; expect_hit warm.h5.json
    grep -q "share cache: hit" l2.txt || fail "no hit line"
    for d in embedding logits label; do
        h5diff cold.h5 warm.h5 /$d || fail "/$d: warm run differs from the cold run"
        h5diff nocache.h5 warm.h5 /$d || fail "/$d: warm run differs from a run without cache"
    done
    cb=$(setting cold.h5.json cache_share_bytes_sent) wb=$(setting warm.h5.json cache_share_bytes_sent)
    cs=$(setting cold.h5.json setup_s) ws=$(setting warm.h5.json setup_s)
    echo "weight-sharing bytes sent: cold $cb, warm $wb; setup: cold $cs s, warm $ws s"
    python3 -c "import sys; c,w=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if c > 1e6 and w < 0.01*c else 1)" "$cb" "$wb" \
        || fail "warm setup bytes $wb not < 1% of cold $cb"
    [ "$(setting warm.h5.json cache_hits)" = "$(setting cold.h5.json cache_misses)" ] || fail "hits != cold misses"
    [ "$(setting warm.h5.json cache_disk_misses)" = 0 ] || fail "warm run missed on disk"
    # compact form (owner P0): P1's shares are pure PRF (descriptors only), P0 and P2 store one
    # component each
    b0=$(du -sb cache/party0 | cut -f1) b1=$(du -sb cache/party1 | cut -f1) b2=$(du -sb cache/party2 | cut -f1)
    echo "cache bytes on disk: P0 $b0, P1 $b1, P2 $b2"
    python3 -c "import sys; a,b,c=map(int,sys.argv[1:]); sys.exit(0 if b*20 < a and b*20 < c and 0.8 < a/c < 1.25 else 1)" \
        "$b0" "$b1" "$b2" || fail "cache sizes P0 $b0 P1 $b1 P2 $b2 are not in compact form"
    # a test-key sharing is not used by a run with real keys (and vice versa)
    crun 3 real.h5 l3.txt --cache-dir cache
    expect_miss real.h5.json
    ;;
partial)
    plain
    crun 3 a.h5 la.txt --cache-dir cache; close_to_plain a.h5
    cp -a cache/party1 party1.genA
    # one party's cache deleted
    rm -rf cache/party2
    crun 3 b.h5 lb.txt --cache-dir cache; expect_miss b.h5.json; close_to_plain b.h5
    crun 3 c.h5 lc.txt --cache-dir cache; expect_hit c.h5.json; close_to_plain c.h5
    # one party's cache from another generation (complete and valid on its own)
    rm -rf cache/party1 && cp -a party1.genA cache/party1
    crun 3 d.h5 ld.txt --cache-dir cache; expect_miss d.h5.json; close_to_plain d.h5
    grep -q "does not hold the owner.s generation" ld.txt || fail "no reason given for the generation mismatch"
    # one tensor file of one party corrupted (flip bytes in the middle of the largest file)
    f=$(ls -S cache/party1/*.mce | head -1)
    python3 - "$f" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); m = len(b) // 2
b[m:m+8] = bytes(x ^ 0xff for x in b[m:m+8]); open(p, 'wb').write(b)
PY
    rm -f corrupt.link stale.link && ln "$f" corrupt.link # a second name sees what the removal leaves in the file
    crun 3 e.h5 le.txt --cache-dir cache; expect_miss e.h5.json; close_to_plain e.h5
    grep -q "removed, treated as a miss" le.txt || fail "no warning for the corrupted file"
    [ -s corrupt.link ] && ! tr -d '\000' < corrupt.link | grep -q . || fail "the corrupted file was not zeroed before its removal"
    [ "$(setting e.h5.json cache_corrupt)" -ge 1 ] || fail "corruption not counted"
    crun 3 f.h5 lf.txt --cache-dir cache; expect_hit f.h5.json; close_to_plain f.h5
    # a file that says format 2 (SHA-256 trailer, before format 3) is stale: removed, re-shared
    f=$(ls -S cache/party0/*.mce | head -1)
    printf '\002' | dd of="$f" bs=1 seek=8 conv=notrunc status=none
    ln "$f" stale.link
    crun 3 g.h5 lg.txt --cache-dir cache; expect_miss g.h5.json; close_to_plain g.h5
    grep -q "stale (file format 2" lg.txt || fail "no stale-format warning"
    [ -s stale.link ] && ! tr -d '\000' < stale.link | grep -q . || fail "the stale file was not zeroed before its removal"
    rm -f corrupt.link stale.link
    crun 3 h.h5 lh.txt --cache-dir cache; expect_hit h.h5.json; close_to_plain h.h5
    n0=$(ls cache/party0/*.mce | wc -l)
    [ "$n0" -le 40 ] || fail "old generations were not removed ($n0 files)"
    ;;
changed)
    plain
    crun 3 a.h5 la.txt --cache-dir cache
    "$MPCT" pack --synthetic tiny --labels 3 --vocab "$SRC/tests/data/vocab.txt" -o tiny.h5 >/dev/null || fail "pack 2"
    plain
    crun 3 b.h5 lb.txt --cache-dir cache; expect_miss b.h5.json; close_to_plain b.h5
    crun 3 c.h5 lc.txt --cache-dir cache --frac-bits 14; expect_miss c.h5.json
    crun 3 d.h5 ld.txt --cache-dir cache; expect_hit d.h5.json; close_to_plain d.h5
    # disk budget: three generations (~8 MB each on P0) in 12 MiB keep only the one just used
    crun 3 e.h5 le.txt --cache-dir cache --cache-disk-mb 12; expect_hit e.h5.json
    [ "$(setting e.h5.json cache_pruned_files)" != 0 ] || fail "nothing pruned to 12 MiB"
    b0=$(du -sb --exclude=index --exclude=index.lock cache/party0 | cut -f1)
    [ "$b0" -le $((12 << 20)) ] || fail "party0 holds $b0 bytes after pruning to 12 MiB"
    crun 3 f.h5 lf.txt --cache-dir cache --frac-bits 14; expect_miss f.h5.json
    crun 3 g.h5 lg.txt --cache-dir cache; expect_hit g.h5.json; close_to_plain g.h5
    crun 3 h.h5 lh.txt --cache-dir cache --cache-disk-mb 1
    grep -q "exceed cache_disk_mb" lh.txt || fail "no warning for a budget below one model's shares"
    # unusable cache directory: a warning, then the job runs without caching
    crun 3 u.h5 lu.txt --cache-dir in.txt/cache
    grep -q "share cache disabled" lu.txt || fail "no warning for the unusable cache directory"
    [ "$(setting u.h5.json cache_enabled)" = 0 ] || fail "cache reported enabled"
    close_to_plain u.h5
    ;;
replicas)
    crun 3 r1.h5 l1.txt --test-seed 7
    crun 6 r2.h5 l2.txt --test-seed 7 --cache-dir cache; expect_miss r2.h5.json
    crun 6 r3.h5 l3.txt --test-seed 7 --cache-dir cache; expect_hit r3.h5.json
    crun 3 r4.h5 l4.txt --test-seed 7 --cache-dir cache; expect_hit r4.h5.json
    for f in r2 r3 r4; do for d in embedding logits label; do
        h5diff r1.h5 $f.h5 /$d || fail "$f /$d differs from -np 3 without cache"; done; done
    ;;
warm)
    plain
    run -n 3 "$MPCT" warm --model tiny.h5 --cache-dir cache 2>w1.txt || { cat w1.txt; fail "warm"; }
    cat w1.txt; grep -q "stored generation" w1.txt || fail "warm did not store"
    run -n 3 "$MPCT" warm --model tiny.h5 --cache-dir cache 2>w2.txt || { cat w2.txt; fail "warm 2"; }
    cat w2.txt; grep -q "verified generation" w2.txt || fail "second warm did not verify"
    crun 3 a.h5 la.txt --cache-dir cache; expect_hit a.h5.json; close_to_plain a.h5
    [ "$(setting a.h5.json cache_share_bytes_sent)" = 0 ] || fail "weights sent after warm"
    run -n 3 "$MPCT" warm --model tiny.h5 2>w3.txt && fail "warm without a cache dir exited 0"
    grep -q "no cache directory" w3.txt || fail "no message for a missing cache dir"
    ;;
cli)
    # `mpct cache --dir D` with the D given to `mpct run --cache-dir D` acts on every party folder
    crun 3 a.h5 la.txt --cache-dir cache
    "$MPCT" cache stats --dir cache > stats.txt || { cat stats.txt; fail "stats on the run's cache dir"; }
    cat stats.txt
    for p in 0 1 2; do
        grep -q "^cache dir   cache/party$p\$" stats.txt || fail "stats does not show party$p"
        n=$(ls cache/party$p/*.mce | wc -l)
        grep -A1 "^cache dir   cache/party$p\$" stats.txt | grep -q "^entries     $n ($n valid" \
            || fail "stats of party$p does not count its $n entries"
    done
    grep -q "^total .*3 folder(s) (party0, party1, party2)" stats.txt || fail "stats has no total over the parties"
    "$MPCT" cache prune --dir cache --max-mb 1000 | grep -q "pruned cache: 3 folder(s) .*removed 0 file" \
        || fail "prune over the parties"
    "$MPCT" cache clear --dir cache > clear.txt || { cat clear.txt; fail "clear on the run's cache dir"; }
    cat clear.txt
    for p in 0 1 2; do grep -q "cleared cache/party$p: [1-9][0-9]* file(s)" clear.txt || fail "clear skipped party$p"; done
    left=$(find cache -type f | wc -l)
    [ "$left" -eq 0 ] || { find cache -type f; fail "$left share file(s) left after clear"; }
    # a directory that holds no cache is refused, not "cleared"
    rc=0; "$MPCT" cache clear --dir . 2>err.txt || rc=$?
    [ "$rc" -eq 1 ] && grep -q "holds no share cache" err.txt || { cat err.txt; fail "clear on a wrong dir: exit $rc"; }
    # the next run shares afresh and is correct
    plain
    crun 3 b.h5 lb.txt --cache-dir cache; expect_miss b.h5.json; close_to_plain b.h5
    ;;
*) fail "unknown case $case_" ;;
esac
echo "PASS: $case_"
