#!/usr/bin/env bash
# End-to-end tests of `mpct run` on the tiny synthetic model (real vocabulary).
# usage: run_test.sh CASE MPIEXEC MPCT SRCDIR WORKDIR
#   secure_vs_plain  secure output vs the float64 reference (cosine, labels)
#   replicas         -np 6 gives the same file as -np 3 (deterministic test keys)
#   roles            non-owner ranks get a model path that does not exist and
#                    non-client ranks an inputs path that does not exist
#   kill_resume      kill one rank midway: ranks exit, completed rows survive,
#                    --resume finishes and equals an uninterrupted run
#   bad_input        each bad input: one clear message, non-zero exit, no hang
#   batch_auto       --batch auto: same rows as --batch 1 and cosine > 0.9999 against it,
#                    the report shows > 1 probed size and a chosen size within the bounds,
#                    every batch within the bounds, bad bounds rejected clearly
#   auto_resume      kill an auto run midway; --resume --batch auto completes it; and
#                    -np 6 (two replicas, each with its own search) gives the same rows
#   merge            mpct merge of shard outputs: declared rows (given out of order) and
#                    plain concatenation equal the unsharded run; each error names the
#                    shard: missing, other model, overlapping rows, a gap, declared and
#                    undeclared mixed, garbage, truncated file; nothing written on error
#                    the same shard twice (same file or same inputs), a plaintext shard
#                    among secure ones, test-key shards among fresh-key ones
#   merge_incomplete the .partial of a killed run is refused as an incomplete shard
#   input_lines      empty / white-space-only lines: one warning (count, line numbers) from
#                    one rank, even with --quiet, and still one output row per line (secure and
#                    --plaintext); a NUL byte: exit 1 with FILE:LINE, once, nothing written
#   early_checks     an unwritable --report / --prometheus path fails on every rank before any work
#                    (one message, exit 1, no output, no progress); frac_bits outside 8..20 refused
#                    up front by run, bench ops, bench model, warm and job files, 8 and 20 run; invalid
#                    UTF-8 on line 3: run (secure and plaintext) and plan name PATH:3: and the reason
#   partial_choice   a rerun without --resume stops when OUTPUT.partial holds rows (naming them and
#                    both choices, the file untouched); --resume continues it, --overwrite starts
#                    afresh, both equal an uninterrupted run; --resume with --overwrite is refused
#   sigterm_resume   SIGTERM to mpirun mid-run: the rows kept and the command that resumes are
#                    printed, non-zero exit, the report is written (interrupted_by), and the printed
#                    command completes the run equal to an uninterrupted one; SIGINT to one rank of
#                    a 2-replica run stops both replicas, and --resume completes it
#   private_counts   what the owner (world rank 0) writes carries nothing from the client's inputs
#                    beyond the threat model's list: the report and Prometheus file of a --batch auto
#                    run have no token figure and not the real token total, which the client's own
#                    REPORT.client.json has; --hide-lengths (fixed and
#                    auto) pads every batch to seq_len and the rows to whole batches (report:
#                    hide_lengths 1, inferences 24 for 21 inputs; output attribute hide_lengths 1),
#                    with the same rows and labels; killed midway, it resumes with --hide-lengths
#                    to the uninterrupted rows, and a resume without it is refused
#   hygiene          every party process runs without core dumps (its /proc limits: core 0), and a
#                    cache directory holding more than one party's folder is warned about once; an
#                    input repeating an earlier line is warned about once (line numbers), and with
#                    --refuse-repeats the run stops before any work (exit 1, one message, no output);
#                    --plaintext says once that both flags have no effect there
#   input_formats    JSONL, CSV and TSV inputs (chosen by extension or --input-format) give the
#                    text run's rows bit for bit, their ids in /id, /truncated > 0 for the long row
#                    only; a quoted CSV field over two lines equals the JSON string; malformed
#                    records (bad JSON, missing member, wrong column count, stray quote, unknown
#                    column) fail with FILE:LINE once, exit 1, nothing written; --id-field with a
#                    text file is bad usage (exit 2); a resume reading another --text-field is refused
#   split            mpct split of a CSV corpus (quoted fields over several lines, ids): each shard
#                    run with its DIR/row-offsets entry, then mpct merge, equals one run of the
#                    corpus (rows to cosine 0.9999, labels; /id, /input_id exactly); text and JSONL shards concatenate back
#                    to the input byte for byte (--shards and --rows); a malformed record, more
#                    shards than rows and a bad flag fail clearly with nothing written
#   dedup            --dedup: 15 rows with 7 repeats compute 8 (the other parties' count), every row is
#                    bit for bit the plain run's row of the unique inputs it repeats, /input_id 0..14, no
#                    computed rows' file left; --result-cache: a second corpus answers its cached rows
#                    bit for bit from the store and computes only the new ones; an entry moved to another
#                    row's key is refused with one warning, recomputed and replaced; another model's rows
#                    are never answered; --plaintext says both have no effect
#   log_level        progress lines carry a UTC timestamp and an ETA, the summary names the party whose
#                    bytes it prints; --log-level warn: warnings, no progress; error: neither (the
#                    security WARNING of test keys stays); debug: a line per range; the job key too;
#                    a bad level is bad usage (exit 2, one message)
#   input_ids        --input-format ids (the lines of mpct tokenize) gives the text run's rows bit for bit,
#                    secure and --plaintext, input_format "ids"; a line of more than seq_len ids is cut
#                    (/truncated counts the rest); an id outside the vocabulary, a non-number and a line
#                    without ids fail with FILE:LINE once, exit 1, nothing written; --id-field is bad usage
#   minilm           the real MiniLM (when fetched): secure vs float64 fidelity
set -u
case_=$1 MPIEXEC=$2 MPCT=$3 SRC=$4 WORK=$5
mkdir -p "$WORK" && cd "$WORK" || exit 1
MPI=("$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
fail() { echo "FAIL: $*"; exit 1; }
model=tiny.h5
[ -f $model ] || "$MPCT" pack --synthetic tiny --labels 2 --vocab "$SRC/tests/data/vocab.txt" -o $model >/dev/null \
    || fail "cannot make the tiny model"
inputs=inputs.txt
# 20 real sentences plus one far longer than seq_len (truncated with a warning)
head -20 "$SRC/tests/data/minilm_golden_text.txt" > $inputs
python3 - >> $inputs <<'PY'
print(" ".join(["word%d" % i for i in range(200)]))
PY
common=(--model $model --inputs $inputs --task classify --seq-len 48 --batch 4)

run() { timeout 300 "${MPI[@]}" "$@"; }

# kill_midway OUT ARGS...: starts a run writing OUT with ARGS, kills one rank once
# >= 6 of the 21 rows are written, checks that every rank exits and OUT.partial stays
kill_midway() {
    local out=$1; shift
    "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" "$@" --output "$out" --test-seed 3 2>kill.log &
    local mpirun_pid=$! n victim t0
    for i in $(seq 1 600); do   # wait (<= 60 s) until a few rows are written
        n=$(grep -o "mpct run: [0-9]*/21" kill.log | tail -1 | sed 's/.*: \([0-9]*\)\/21/\1/')
        [ -n "$n" ] && [ "$n" -ge 6 ] && break
        sleep 0.1
    done
    victim=$(pgrep -f "mpct run .*--output $out" | sort -n | tail -1)
    [ -n "$victim" ] || fail "no rank to kill"
    kill -9 "$victim"
    t0=$(date +%s)
    for i in $(seq 1 600); do kill -0 $mpirun_pid 2>/dev/null || break; sleep 0.1; done
    kill -0 $mpirun_pid 2>/dev/null && { kill -9 $mpirun_pid; fail "ranks still running 60 s after a rank was killed"; }
    wait $mpirun_pid && fail "killed job exited 0"
    echo "ranks exited $(( $(date +%s) - t0 )) s after the kill"
    [ -f "$out.partial" ] || fail "no partial output kept"
    [ ! -f "$out" ] || fail "incomplete output presented as complete"
}

# auto_report REPORT MIN MAX: the batch_tuning section of an auto run's report
auto_report() {
    python3 - "$@" <<'PY' || fail "report $1: batch_tuning section wrong"
import json, sys
rep, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(rep))
assert d["settings"]["batch_mode"] == "auto", d["settings"]
t = d["batch_tuning"]
assert (t["batch_min"], t["batch_max"]) == (lo, hi), t
r = t["replicas"][0]
seq = r["sequence"]
assert sum(seq) == d["settings"]["inferences"], ("rows", seq)
# every batch within the bounds; only the last may be short (the inputs ran out)
assert all(lo <= b <= hi for b in seq[:-1]) and 1 <= seq[-1] <= hi, ("bounds", seq)
probed = [s["size"] for s in r["sizes"] if s["candidate"] and s["batches"] > 0]
assert len(probed) > 1 or lo == hi, ("probed", probed)
assert lo <= r["chosen"] <= hi and r["chosen"] in probed + [lo], ("chosen", r["chosen"], probed)
for s in r["sizes"]:
    assert s["rows_per_s"] > 0 and s["peak_rss_bytes"] > 0, s
print("report: sizes probed %s, chosen %d, sequence %s" % (probed, r["chosen"], seq))
PY
}

case $case_ in
secure_vs_plain)
    run -n 3 "$MPCT" run "${common[@]}" --output sec.h5 --report rep.json 2>log.txt || { cat log.txt; fail "secure run"; }
    grep -q "truncated to 48 tokens" log.txt || fail "no truncation warning for the long line"
    "$MPCT" run --plaintext "${common[@]}" --output plain.h5 --quiet 2>>log.txt || fail "plaintext run"
    "$MPCT" compare sec.h5 plain.h5 --min-cosine 0.995 --mean-cosine 0.999 --min-agreement 0.95 || fail "fidelity"
    "$MPCT" report rep.json --quiet >/dev/null 2>&1 || "$MPCT" report rep.json > /dev/null || fail "report unreadable"
    [ ! -e sec.h5.partial ] || fail "complete run left a .partial file"
    # every output and report says how its rows were computed, and by which mpct and model
    h5dump -a /mode sec.h5 | grep -q '"secure"' || fail "secure output lacks mode = secure"
    h5dump -a /mode plain.h5 | grep -q '"plaintext"' || fail "plaintext output lacks mode = plaintext"
    h5dump -a /insecure_test_keys sec.h5 | grep -q "(0): 0" || fail "fresh-key output lacks insecure_test_keys = 0"
    h5dump -a /mpct_version sec.h5 | grep -q '"[0-9]*\.[0-9]*\.[0-9]*"' || fail "output lacks mpct_version"
    python3 - rep.json <<'PY' || fail "report lacks mode / insecure_test_keys / model_hash / mpct_version"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["settings"]
assert s["mode"] == "secure" and s["insecure_test_keys"] == 0 and len(s["model_hash"]) == 64, s
assert d["mpct_version"], d.keys()
PY
    ;;
replicas)
    run -n 3 "$MPCT" run "${common[@]}" --output r1.h5 --test-seed 7 --quiet 2>warn3.log || fail "np 3"
    run -n 6 "$MPCT" run "${common[@]}" --output r2.h5 --test-seed 7 --quiet --report r2.json 2>warn6.log || fail "np 6"
    # the copy of the weight shares to replica 1 is counted, as a setup region, per party:
    # replica 0 sends what replica 1 receives (16 bytes per share word), one round per broadcast
    python3 - r2.json <<'PY' || fail "np 6: replicate_weights not counted"
import json, sys
d = json.load(open(sys.argv[1]))
reg = {}
for p in d["parties"]:
    rs = [r for r in p["regions"] if r["kind"] == "replicate_weights"]
    assert len(rs) == 1 and rs[0]["phase"] == "setup", (p["world_rank"], rs)
    reg[(p["replica"], p["party"])] = rs[0]
for party in range(3):
    a, b = reg[(0, party)], reg[(1, party)]
    assert a["bytes_sent"] > 0 and a["bytes_recv"] == 0, a
    assert b["bytes_recv"] == a["bytes_sent"] and b["bytes_sent"] == 0, (a, b)
    assert a["rounds"] == b["rounds"] > 0 and a["bytes_sent"] % 16 == 0, (a, b)
PY
    # insecure test keys: every rank says so, and the output records it
    [ "$(grep -c 'WARNING: rank [0-9] .*deterministic test keys (--test-seed): INSECURE' warn3.log)" = 3 ] \
        || { cat warn3.log; fail "np 3: not every rank warned about --test-seed"; }
    [ "$(grep -c 'WARNING: rank [0-9] .*INSECURE' warn6.log)" = 6 ] || { cat warn6.log; fail "np 6: not 6 warnings"; }
    h5dump -a /insecure_test_keys r1.h5 | grep -q "(0): 1" || fail "test-key output lacks insecure_test_keys = 1"
    printf '[job]\ntest_seed = 7\n[model]\npath = %s\n' "$PWD/$model" > seeded.ini
    out=$(run -n 3 "$MPCT" run seeded.ini --inputs $inputs --output rs.h5 2>&1) && fail "a job file turned on test keys"
    grep -q "seeded.ini:2: 'test_seed' cannot be set in a job file" <<<"$out" || { echo "$out"; fail "job-file test_seed message"; }
    h5diff r1.h5 r2.h5 /embedding || fail "embeddings differ between 1 and 2 replicas"
    h5diff r1.h5 r2.h5 /logits || fail "logits differ between 1 and 2 replicas"
    h5diff r1.h5 r2.h5 /label || fail "labels differ"
    ;;
roles)
    # rank 0 = owner (real model, no inputs), rank 1 = client (no model, real
    # inputs), rank 2 = neither
    run -n 1 "$MPCT" run --model $model --inputs /nonexistent/in.txt --output roles.h5 --task classify --seq-len 48 --quiet : \
        -n 1 "$MPCT" run --model /nonexistent/m.h5 --inputs $inputs --output roles.h5 --task classify --seq-len 48 --quiet : \
        -n 1 "$MPCT" run --model /nonexistent/m.h5 --inputs /nonexistent/in.txt --output roles.h5 --task classify --seq-len 48 --quiet \
        || fail "roles run"
    "$MPCT" run --plaintext --model $model --inputs $inputs --output roles_p.h5 --task classify --seq-len 48 --quiet || fail "plain"
    "$MPCT" compare roles.h5 roles_p.h5 --min-cosine 0.995 || fail "roles output"
    ;;
kill_resume)
    rm -f k.h5 k.h5.partial full.h5
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output full.h5 --test-seed 3 --quiet || fail "reference run"
    kill_midway k.h5 --batch 1
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output k.h5 --test-seed 3 --resume 2>resume.log || { cat resume.log; fail "resume"; }
    grep "resuming" resume.log
    grep -q "resuming: [1-9][0-9]* of 21 inputs already done" resume.log || fail "resume recomputed everything"
    h5diff full.h5 k.h5 /embedding || fail "resumed embeddings differ from an uninterrupted run"
    h5diff full.h5 k.h5 /logits || fail "resumed logits differ"
    # rows of another mode or other keys never join: refused, file untouched
    out=$("$MPCT" run --plaintext "${common[@]}" --batch 1 --output k.h5 --resume 2>&1) && fail "plaintext resumed a secure output"
    grep -q "cannot resume: the mode (secure MPC or --plaintext) changed.*mode secure (then) vs plaintext (now)" <<<"$out" \
        || { echo "$out"; fail "plaintext resume message"; }
    out=$(run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output k.h5 --resume 2>&1) && fail "fresh keys resumed test-key rows"
    grep -q "insecure_test_keys 1 (then) vs 0 (now)" <<<"$out" || { echo "$out"; fail "test-key resume message"; }
    h5diff full.h5 k.h5 /embedding || fail "a refused resume changed the output"
    ;;
bad_input)
    expect() { # expect "message" cmd...: non-zero exit within the timeout, message in the output
        local msg=$1; shift
        out=$(timeout 120 "$@" 2>&1); rc=$?
        [ $rc -ne 0 ] || fail "exit 0 for: $*"
        [ $rc -ne 124 ] || fail "hang for: $*"
        grep -q -- "$msg" <<<"$out" || { echo "$out"; fail "message '$msg' missing for: $*"; }
        echo "ok: $msg"
    }
    : > empty.txt
    printf '[job]\nbatchsize = 4\n' > badkey.ini
    expect "not a multiple of 3" "${MPI[@]}" -n 4 "$MPCT" run "${common[@]}" --output x.h5
    expect "two job files given" "$MPCT" run badkey.ini --plaintext badkey.ini
    # the job file may follow the flags (README: mpct run --plaintext JOB.ini ...); flags still win
    printf '[job]\ntask = classify\nseq_len = 48\n[model]\npath = %s\n[inputs]\npath = %s\n[output]\npath = %s\n' \
        "$PWD/$model" "$PWD/$inputs" "$PWD/order-wrong.h5" > order.ini
    rm -f order.h5 order-wrong.h5
    "$MPCT" run --plaintext --output order.h5 order.ini --quiet || fail "job file after the flags"
    [ -f order.h5 ] || fail "job file after the flags: no output"
    [ ! -e order-wrong.h5 ] || fail "job file after the flags: the job file's output path won over --output"
    echo "ok: job file after the flags"
    expect "cannot open the inputs file" "${MPI[@]}" -n 3 "$MPCT" run --model $model --inputs missing.txt --output x.h5 --seq-len 48
    expect "is empty" "${MPI[@]}" -n 3 "$MPCT" run --model $model --inputs empty.txt --output x.h5 --seq-len 48
    expect "exceeds the model's 64 positions" "${MPI[@]}" -n 3 "$MPCT" run --model $model --inputs $inputs --output x.h5 --seq-len 100
    expect "cannot create output file" "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --output $inputs/x.h5
    expect "unknown key 'batchsize'" "${MPI[@]}" -n 3 "$MPCT" run badkey.ini
    expect "no such file\|cannot open\|No such file" "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --model missing.h5 --output x.h5
    "$MPCT" pack --synthetic tiny --vocab "$SRC/tests/data/vocab.txt" -o nohead.h5 >/dev/null
    expect "needs a model with a classification head" "${MPI[@]}" -n 3 "$MPCT" run --model nohead.h5 --inputs $inputs --output x.h5 --task classify --seq-len 48
    [ ! -e x.h5 ] || fail "a failed run left x.h5"
    ;;
hygiene)
    rm -rf hcache
    run -n 3 "$MPCT" run "${common[@]}" --output hy1.h5 --test-seed 3 --cache-dir hcache --quiet 2>/dev/null \
        || fail "first cache run"
    run -n 3 "$MPCT" run "${common[@]}" --output hy2.h5 --test-seed 3 --cache-dir hcache --quiet 2>hy.log \
        || { cat hy.log; fail "second cache run"; }
    [ "$(grep -c "holds the folders of 3 parties (party0/, party1/, party2/)" hy.log)" = 1 ] \
        || { cat hy.log; fail "no single warning about one cache root for three parties"; }
    "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --batch 1 --output hycore.h5 --test-seed 3 --quiet 2>/dev/null &
    mp=$! ok=" " last=""
    while kill -0 $mp 2>/dev/null && [ "$(echo $ok | wc -w)" -lt 3 ]; do # each rank's limits once set up
        for pid in $(pgrep -f "output hycore.h5" || true); do
            [ "$pid" = "$mp" ] || [ "$(cat /proc/$pid/comm 2>/dev/null)" != mpct ] && continue
            lim=$(awk '/Max core file size/ {print $5, $6}' /proc/$pid/limits 2>/dev/null)
            last="rank $pid: $lim"
            [ "$lim" = "0 0" ] && [ "${ok#* $pid }" = "$ok" ] && ok="$ok$pid "
        done
        sleep 0.05
    done
    wait $mp || fail "the core-limit run"
    [ "$(echo $ok | wc -w)" -ge 3 ] || fail "ranks with core dumps off: $ok (last seen: $last)"
    { cat $inputs; sed -n 3p $inputs; } > repeats.txt
    run -n 3 "$MPCT" run --model $model --inputs repeats.txt --seq-len 48 --batch 4 --output rp.h5 --test-seed 3 \
        --quiet 2>rp.log || { cat rp.log; fail "a run with a repeated input"; }
    [ "$(grep -c "1 input repeats an earlier line's tokens (line 22 (= 3))" rp.log)" = 1 ] \
        || { cat rp.log; fail "no single warning naming the repeated line"; }
    run -n 3 "$MPCT" run --model $model --inputs repeats.txt --seq-len 48 --batch 4 --output rr.h5 --test-seed 3 \
        --refuse-repeats 2>rr.log && fail "--refuse-repeats ran"
    [ "$(grep -c "error: repeats.txt: 1 input repeats .* refuse_repeats is set" rr.log)" = 1 ] \
        || { cat rr.log; fail "--refuse-repeats: not one message"; }
    [ ! -e rr.h5 ] && [ ! -e rr.h5.partial ] || fail "--refuse-repeats wrote an output"
    "$MPCT" run --plaintext "${common[@]}" --output pl.h5 --hide-lengths --refuse-repeats --quiet 2>pl.log \
        || { cat pl.log; fail "plaintext run"; }
    [ "$(grep -c "plaintext computes in one process .*: --hide-lengths and --refuse-repeats have no effect" pl.log)" = 1 ] \
        || { cat pl.log; fail "--plaintext did not say that --hide-lengths and --refuse-repeats have no effect"; }
    echo "every rank: core file size 0 0; one shared-cache warning; repeats warned about and refused"
    ;;
private_counts)
    total=$("$MPCT" tokenize --model $model --max-len 48 --input $inputs 2>/dev/null | awk '{s += NF} END {print s}')
    [ "${total:-0}" -gt 0 ] || fail "no token total"
    run -n 3 "$MPCT" run "${common[@]}" --batch auto --batch-max 8 --output pa.h5 --test-seed 3 --report pa.json \
        --prometheus pa.prom --quiet || fail "auto run"
    python3 - pa.json pa.prom "$total" <<'PY' || fail "the owner's report carries the client's token counts"
import json, sys
rep, prom, total = sys.argv[1], sys.argv[2], float(sys.argv[3])
def walk(x, path):
    if isinstance(x, dict):
        for k, v in x.items():
            assert "token" not in k, "a token figure in the report: " + path + "/" + k
            walk(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            walk(v, "%s[%d]" % (path, i))
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        assert x != total, "the real token total %d at %s" % (total, path)
walk(json.load(open(rep)), "")
text = open(prom).read()
assert "token" not in text, "a token figure in the Prometheus file"
c = json.load(open(rep + ".client.json"))  # the client's own figures, written by the client
assert c["role"] == "client" and c["inputs"] == 21, c
assert sum(z["rows"] for z in c["sizes"]) == 21 and sum(z["real_tokens"] for z in c["sizes"]) == total, c
print("report and Prometheus file: no token figure, no real token total (%d); the client's file has it" % total)
PY
    for b in "--batch 4" "--batch auto --batch-max 8"; do
        run -n 3 "$MPCT" run "${common[@]}" $b --hide-lengths --output ph.h5 --test-seed 3 --report ph.json \
            --overwrite 2>ph.log || { cat ph.log; fail "hide-lengths run ($b)"; }
        grep -q "lengths hidden: every batch padded to 48 tokens, 3 of the 24 rows" ph.log || { cat ph.log; fail "no hide-lengths summary ($b)"; }
        python3 - ph.json "$total" <<'PY' || fail "hide-lengths report ($b)"
import json, sys
d = json.load(open(sys.argv[1]))["settings"]
assert d["hide_lengths"] == 1 and d["inferences"] == 24, d
c = json.load(open(sys.argv[1] + ".client.json"))
assert c["hide_lengths"] == 1 and c["inputs"] == 21 and sum(z["rows"] for z in c["sizes"]) == 24, c
assert sum(z["real_tokens"] for z in c["sizes"]) == float(sys.argv[2]), c
PY
        h5dump -a /hide_lengths ph.h5 | grep -q "(0): 1" || fail "the output does not record hide_lengths ($b)"
        "$MPCT" compare ph.h5 pa.h5 --min-cosine 0.9999 --min-agreement 1 || fail "hide-lengths rows differ ($b)"
        rm -f ph.h5
    done
    # a hidden-lengths run killed midway resumes with --hide-lengths to the uninterrupted rows; without it, refused
    rm -f phf.h5 phk.h5 phk.h5.partial
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --hide-lengths --output phf.h5 --test-seed 3 --quiet \
        || fail "hide-lengths reference run"
    kill_midway phk.h5 --batch 1 --hide-lengths
    out=$(run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output phk.h5 --test-seed 3 --resume 2>&1) \
        && fail "a resume without --hide-lengths continued a hidden-lengths run"
    grep -q "cannot resume: the length hiding (--hide-lengths) changed" <<<"$out" || { echo "$out"; fail "resume message"; }
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --hide-lengths --output phk.h5 --test-seed 3 --resume 2>phr.log \
        || { cat phr.log; fail "hide-lengths resume"; }
    grep -q "resuming: [1-9][0-9]* of 21 inputs already done" phr.log || { cat phr.log; fail "resume message"; }
    h5diff phf.h5 phk.h5 /embedding && h5diff phf.h5 phk.h5 /logits || fail "resumed hidden-lengths rows differ"
    ;;
batch_auto)
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output f1.h5 --test-seed 3 --quiet || fail "batch 1 run"
    run -n 3 "$MPCT" run "${common[@]}" --batch auto --batch-max 8 --output auto.h5 --test-seed 3 \
        --report auto.json 2>auto.log || { cat auto.log; fail "auto run"; }
    grep "batch auto" auto.log
    grep -q "batch auto: chose [1-8] rows per batch" auto.log || fail "no summary line of the chosen size"
    [ -f auto.h5 ] && [ ! -e auto.h5.partial ] || fail "auto run left no complete output"
    # compare checks the shapes too: the same 21 rows as the batch-1 run
    "$MPCT" compare auto.h5 f1.h5 --min-cosine 0.9999 --min-agreement 1 || fail "auto vs batch 1"
    auto_report auto.json 1 8
    "$MPCT" report auto.json --json re.json >/dev/null && auto_report re.json 1 8 || fail "mpct report drops batch_tuning"
    run -n 3 "$MPCT" run "${common[@]}" --batch auto --batch-min 2 --batch-max 3 --output b23.h5 --test-seed 3 \
        --report b23.json --quiet || fail "auto run with bounds 2..3"
    auto_report b23.json 2 3
    "$MPCT" compare b23.h5 f1.h5 --min-cosine 0.9999 --min-agreement 1 || fail "auto 2..3 vs batch 1"
    bad() { # bad "message" flags...: exit 2 with the message, no output
        out=$(timeout 60 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --output bad.h5 "${@:2}" 2>&1); rc=$?
        [ $rc -eq 2 ] || { echo "$out"; fail "exit $rc (want 2) for ${*:2}"; }
        grep -q -- "$1" <<<"$out" || { echo "$out"; fail "message '$1' missing for ${*:2}"; }
        echo "ok: ${*:2} -> $1"
    }
    bad "batch_min 9 > batch_max 4" --batch auto --batch-min 9 --batch-max 4
    bad "batch_min = '0': expected an integer from 1 to 1024" --batch auto --batch-min 0
    bad "batch_max = 'lots': expected an integer from 1 to 1024" --batch auto --batch-max lots
    bad "batch = 'automatic': expected an integer from 1 to 1024 or 'auto'" --batch automatic
    bad "mem_limit_mb = '-5'" --batch auto --mem-limit-mb -5
    [ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "a rejected run left an output"
    ;;
auto_resume)
    rm -f ka.h5 ka.h5.partial
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output f1.h5 --test-seed 3 --quiet || fail "batch 1 run"
    kill_midway ka.h5 --batch auto --batch-max 4
    run -n 3 "$MPCT" run "${common[@]}" --batch auto --batch-max 4 --output ka.h5 --test-seed 3 --resume \
        --report ka.json 2>resume.log || { cat resume.log; fail "resume"; }
    grep "resuming" resume.log
    grep -q "resuming: [1-9][0-9]* of 21 inputs already done" resume.log || fail "resume recomputed everything"
    done_now=$(sed -n 's/.*resuming: \([0-9]*\) of 21.*/\1/p' resume.log)
    python3 -c "import json; d = json.load(open('ka.json')); assert d['settings']['inferences'] == 21 - $done_now, d['settings']" \
        || fail "the resumed auto run did not compute exactly the rows not done"
    "$MPCT" compare ka.h5 f1.h5 --min-cosine 0.9999 --min-agreement 1 || fail "resumed auto run vs batch 1"
    run -n 6 "$MPCT" run "${common[@]}" --batch auto --batch-max 4 --output a6.h5 --test-seed 3 --report a6.json \
        --quiet || fail "auto run with 2 replicas"
    "$MPCT" compare a6.h5 f1.h5 --min-cosine 0.9999 --min-agreement 1 || fail "2 replicas, auto vs batch 1"
    python3 -c "
import json; d = json.load(open('a6.json')); r = d['batch_tuning']['replicas']
assert len(r) == 2 and sum(sum(x['sequence']) for x in r) == 21, r" || fail "2 replicas: sequences do not cover the 21 rows"
    ;;
merge)
    sed -n 1,8p $inputs > s0.txt; sed -n 9,15p $inputs > s1.txt; sed -n 16,21p $inputs > s2.txt
    sed -n 1,10p $inputs > u0.txt; sed -n 11,21p $inputs > u1.txt
    rm -f full.h5 ./*.h5.partial m*.h5
    run -n 3 "$MPCT" run "${common[@]}" --output full.h5 --test-seed 3 --quiet || fail "unsharded run"
    off=0
    for s in s0 s1 s2; do
        run -n 3 "$MPCT" run "${common[@]}" --inputs $s.txt --output $s.h5 --row-offset $off --test-seed 3 --quiet 2>/dev/null \
            || fail "shard $s"
        off=$((off + $(wc -l < $s.txt)))
    done
    for s in u0 u1; do
        run -n 3 "$MPCT" run "${common[@]}" --inputs $s.txt --output $s.h5 --test-seed 3 --quiet 2>/dev/null || fail "shard $s"
    done
    "$MPCT" merge m.h5 s2.h5 s0.h5 s1.h5 || fail "merge of declared shards"
    "$MPCT" compare m.h5 full.h5 --min-cosine 0.9999 --min-agreement 1 || fail "declared shards merged != unsharded run"
    h5dump -d /input_id -y -o ids.txt m.h5 >/dev/null || fail "h5dump /input_id"
    [ "$(tr -cs '0-9' ' ' < ids.txt | xargs)" = "$(seq 0 20 | xargs)" ] || fail "merged /input_id is not 0..20"
    h5dump -a /shards m.h5 | grep -q "s2.h5" || fail "no shards attribute"
    "$MPCT" merge mu.h5 u0.h5 u1.h5 --quiet || fail "merge of undeclared shards"
    "$MPCT" compare mu.h5 full.h5 --min-cosine 0.9999 --min-agreement 1 || fail "concatenated shards != unsharded run"
    # a merged file is an output like any other: merging merged files works
    "$MPCT" merge mm.h5 m.h5 --quiet && "$MPCT" compare mm.h5 full.h5 --min-cosine 0.9999 >/dev/null || fail "re-merge"
    "$MPCT" pack --synthetic tiny --labels 2 --seed 9 --vocab "$SRC/tests/data/vocab.txt" -o other.h5 >/dev/null
    run -n 3 "$MPCT" run "${common[@]}" --model other.h5 --inputs s1.txt --output o1.h5 --row-offset 8 --quiet 2>/dev/null \
        || fail "shard of another model"
    cp s0.h5 s0copy.h5
    head -c 3000 s1.h5 > trunc.h5
    echo "not an hdf5 file" > garbage.h5
    bad() { # bad "message" SHARD...: exit 1, the message, no output written
        out=$("$MPCT" merge mx.h5 "$@" 2>&1); rc=$?
        [ $rc -eq 1 ] || { echo "$out"; fail "merge $*: exit $rc, want 1"; }
        grep -q -- "$msg" <<<"$out" || { echo "$out"; fail "merge $*: message '$msg' missing"; }
        [ ! -e mx.h5 ] && [ ! -e mx.h5.partial ] || fail "merge $*: wrote an output"
        echo "ok: merge $* -> $msg"
    }
    msg="shard 1 ('s9.h5'): missing" bad s0.h5 s9.h5 s1.h5
    msg="nothing merged; mx.h5 not written" bad s0.h5 s9.h5 s1.h5
    msg="shard 1 ('o1.h5'): model_hash '[0-9a-f]*' differs from shard 0 ('s0.h5')" bad s0.h5 o1.h5 s2.h5
    msg="shards 0 ('s0.h5') and 1 ('s0copy.h5') overlap: rows 0..7 are in both" bad s0.h5 s0copy.h5 s1.h5 s2.h5
    msg="rows 8..14 are in no shard (after shard 0 ('s0.h5') and before shard 1 ('s2.h5')): is a shard missing?" \
        bad s0.h5 s2.h5
    msg="shard 1 ('u1.h5'): declares no row_offset but shard 0 ('s0.h5') does" bad s0.h5 u1.h5
    msg="shard 1 ('garbage.h5'): garbage.h5: not an HDF5 file" bad s0.h5 garbage.h5
    msg="shard 2 ('trunc.h5'): trunc.h5: " bad s0.h5 s1.h5 trunc.h5 s2.h5
    # the same shard twice (same file, or a copy of undeclared rows); another mode; other keys
    cp u0.h5 u0copy.h5
    msg="shard 2 ('u0.h5'): is the same file as shard 0 ('u0.h5')" bad u0.h5 u1.h5 u0.h5
    msg="shard 1 ('u0copy.h5'): has the same inputs (inputs_sha256 [0-9a-f]*...) as shard 0 ('u0.h5')" bad u0.h5 u0copy.h5 u1.h5
    "$MPCT" run --plaintext "${common[@]}" --inputs u1.txt --output p1.h5 --quiet || fail "plaintext shard"
    msg="shard 1 ('p1.h5'): mode 'plaintext' differs from shard 0 ('u0.h5'): 'secure'" bad u0.h5 p1.h5
    run -n 3 "$MPCT" run "${common[@]}" --inputs u1.txt --output f1.h5 --quiet 2>/dev/null || fail "fresh-key shard"
    msg="shard 1 ('f1.h5'): insecure_test_keys 0 differs from shard 0 ('u0.h5'): 1" bad u0.h5 f1.h5
    out=$("$MPCT" merge s0.h5 s0.h5 s1.h5 2>&1); [ $? -eq 2 ] && grep -q "is also shard 0" <<<"$out" || fail "output = a shard"
    out=$("$MPCT" merge mx.h5 2>&1); [ $? -eq 2 ] && grep -q "no shard files given" <<<"$out" || fail "no shards"
    ;;
merge_incomplete)
    rm -f k.h5 k.h5.partial
    kill_midway k.h5 --batch 1
    out=$("$MPCT" merge mk.h5 k.h5.partial 2>&1); rc=$?
    echo "$out"
    [ $rc -eq 1 ] && grep -q "shard 0 ('k.h5.partial'): incomplete: [0-9]* of 21 rows done" <<<"$out" ||
        fail "an incomplete shard was not refused (exit $rc)"
    [ ! -e mk.h5 ] || fail "merge of an incomplete shard wrote an output"
    ;;
input_lines)
    printf 'hello world\n\nthe cat sat\n \t \r\nlast line\n' > blank.txt
    # rows FILE: the number of rows of /embedding and /input_id
    rows() { echo "$(h5ls "$1/embedding" | sed 's/.*{\([0-9]*\).*/\1/') $(h5ls "$1/input_id" | sed 's/.*{\([0-9]*\).*/\1/')"; }
    bl=(--model $model --inputs blank.txt --task classify --seq-len 48 --batch 2)
    run -n 3 "$MPCT" run "${bl[@]}" --output blank.h5 --test-seed 3 --quiet 2>blank.log || { cat blank.log; fail "secure run"; }
    "$MPCT" run --plaintext "${bl[@]}" --output blank_p.h5 --quiet 2>blank_p.log || { cat blank_p.log; fail "plaintext run"; }
    for l in blank.log blank_p.log; do
        cat $l
        [ "$(grep -c "warning: blank.txt: 2 lines without text" $l)" -eq 1 ] || fail "$l: not one warning for 2 lines"
        grep -q "without text (.*): lines 2, 4;" $l || fail "$l: the warning does not name lines 2 and 4"
    done
    [ "$(rows blank.h5)" = "5 5" ] || fail "secure run: $(rows blank.h5) rows, expected 5 (one per line)"
    [ "$(rows blank_p.h5)" = "5 5" ] || fail "plaintext run: $(rows blank_p.h5) rows, expected 5"
    "$MPCT" compare blank.h5 blank_p.h5 --min-cosine 0.995 || fail "blank lines: secure differs from float64"
    run -n 3 "$MPCT" run "${common[@]}" --output full.h5 --test-seed 3 --quiet 2>full.log || fail "run without blank lines"
    ! grep -q "without text" full.log || fail "warning without blank lines"
    printf 'hello world\nab\0cd\nlast\n' > nul.txt
    rm -f nul.h5 nul_p.h5
    rc=0; run -n 3 "$MPCT" run --model $model --inputs nul.txt --output nul.h5 --seq-len 48 2>nul.log || rc=$?
    cat nul.log
    [ $rc -eq 1 ] || fail "secure run over a NUL byte: exit $rc, expected 1"
    [ "$(grep -c "nul.txt:2: NUL byte at byte offset 2 of the line" nul.log)" -eq 1 ] || fail "not one file:line message"
    rc=0; "$MPCT" run --plaintext --model $model --inputs nul.txt --output nul_p.h5 --seq-len 48 2>nul_p.log || rc=$?
    cat nul_p.log
    [ $rc -eq 1 ] || fail "plaintext run over a NUL byte: exit $rc, expected 1"
    grep -q "nul.txt:2: NUL byte" nul_p.log || fail "plaintext: no file:line message"
    [ ! -e nul.h5 ] && [ ! -e nul_p.h5 ] && [ ! -e nul.h5.partial ] || fail "output written for a NUL input"
    ;;
input_formats)
    python3 - $inputs <<'PY'
import csv, json, sys
rows = [l.rstrip("\n") for l in open(sys.argv[1])]
with open("in.jsonl", "w") as f:
    for i, t in enumerate(rows):
        f.write(json.dumps({"n": i, "body": t, "key": "row-%d" % i} if i % 2 else {"key": 1000 + i, "body": t}) + "\n")
for name, d in (("in.csv", ","), ("in.tsv", "\t")):
    with open(name, "w", newline="") as f:
        w = csv.writer(f, delimiter=d, lineterminator="\r\n" if d == "," else "\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["key", "body", "extra"])
        for i, t in enumerate(rows):
            w.writerow(["k,%d" % i, t, 'x "y"'])
with open("two.csv", "w", newline="") as f:
    f.write('body,key\n"first, ""quoted""\nsecond line",a\nplain,b\n')
with open("two.jsonl", "w") as f:
    f.write(json.dumps({"body": 'first, "quoted"\nsecond line'}) + "\n" + json.dumps({"body": "plain"}) + "\n")
PY
    sh5() { h5dump -A 0 -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p'; }
    run -n 3 "$MPCT" run "${common[@]}" --output txt.h5 --test-seed 3 --quiet 2>txt.log || { cat txt.log; fail "text run"; }
    for f in in.jsonl in.csv in.tsv; do
        run -n 3 "$MPCT" run "${common[@]}" --inputs $f --text-field body --id-field key --output $f.h5 --test-seed 3 \
            --quiet 2>$f.log || { cat $f.log; fail "$f run"; }
        [ "$(sh5 $f.h5 /embedding)" = "$(sh5 txt.h5 /embedding)" ] || fail "$f: embeddings differ from the text run"
        [ "$(sh5 $f.h5 /label)" = "$(sh5 txt.h5 /label)" ] || fail "$f: labels differ from the text run"
        h5dump -a /input_format $f.h5 | grep -q "\"${f#in.}\"" || fail "$f: input_format not recorded"
    done
    sh5 in.jsonl.h5 /id | tr -d ' \n' | grep -q '"1000","row-1","1002","row-3"' || fail "jsonl ids: $(sh5 in.jsonl.h5 /id)"
    sh5 in.csv.h5 /id | tr -d ' \n' | grep -q '"k,0","k,1","k,2"' || fail "csv ids: $(sh5 in.csv.h5 /id)"
    trunc=$(sh5 txt.h5 /truncated | tr -d ' \n' | sed 's/.*{\(.*\)}/\1/')
    echo "truncated: $trunc"
    # line 2 of the golden text and the 200-word line are longer than 48 tokens
    [[ "$trunc" =~ ^0,[1-9][0-9]*,(0,){18}[1-9][0-9]{2}$ ]] || fail "/truncated: $trunc, expected rows 2 and 21 only"
    h5dump -a /truncated/units txt.h5 | grep -q "word pieces" || fail "/truncated without units"
    ! h5ls txt.h5 | grep -q "^id " || fail "a text run has /id"
    run -n 3 "$MPCT" run --model $model --seq-len 48 --inputs two.csv --text-field body --output two_c.h5 --test-seed 3 \
        --quiet 2>/dev/null || fail "two.csv run"
    run -n 3 "$MPCT" run --model $model --seq-len 48 --inputs two.jsonl --text-field body --output two_j.h5 \
        --test-seed 3 --quiet 2>/dev/null || fail "two.jsonl run"
    [ "$(sh5 two_c.h5 /embedding)" = "$(sh5 two_j.h5 /embedding)" ] || fail "a quoted CSV field over two lines differs"
    cp in.jsonl in_jsonl.data
    run -n 3 "$MPCT" run "${common[@]}" --inputs in_jsonl.data --input-format jsonl --text-field body --output data.h5 \
        --test-seed 3 --quiet 2>/dev/null || fail "--input-format jsonl"
    [ "$(sh5 data.h5 /embedding)" = "$(sh5 txt.h5 /embedding)" ] || fail "--input-format jsonl: rows differ"
    # bad FILE FIELD MESSAGE: exit 1, the message once, nothing written
    bad() {
        rm -f bad.h5 bad.h5.partial
        local rc=0
        run -n 3 "$MPCT" run --model $model --seq-len 48 --inputs $1 --text-field $2 --output bad.h5 2>bad.log || rc=$?
        [ $rc -eq 1 ] || { cat bad.log; fail "$1: exit $rc, expected 1"; }
        [ "$(grep -c -F "$3" bad.log)" -eq 1 ] || { cat bad.log; fail "$1: not one message '$3'"; }
        [ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "$1: output written"
    }
    printf '{"text": "a"}\n{"text": "b"}\n{"text": "c"\n' > b1.jsonl; bad b1.jsonl text "b1.jsonl:3: not valid JSON"
    printf '{"text": "a"}\n{"txt": "b"}\n' > b2.jsonl;              bad b2.jsonl text "b2.jsonl:2: no member 'text'"
    printf '{"text": 5}\n' > b3.jsonl;                              bad b3.jsonl text "b3.jsonl:1: not a string: member 'text'"
    printf '["a"]\n' > b4.jsonl;                                    bad b4.jsonl text "b4.jsonl:1: not a JSON object"
    printf 'id,text\n1,a\n2\n' > b1.csv;                           bad b1.csv text "b1.csv:3: 1 field, the header has 2"
    printf 'id,text\n1,a "b"\n' > b2.csv;                           bad b2.csv text "b2.csv:2: field 2: a quote inside"
    printf 'id,text\n1,"a\n' > b3.csv;                              bad b3.csv text "b3.csv:2: a quoted field is not closed"
    bad in.csv text "in.csv:1: no column 'text' in the header (columns: 'key', 'body', 'extra')"
    rc=0; run -n 3 "$MPCT" run "${common[@]}" --id-field key --output bad.h5 2>bad.log || rc=$?
    [ $rc -eq 2 ] && grep -q "id_field 'key' needs JSON Lines, CSV or TSV" bad.log || { cat bad.log; fail "--id-field on text: exit $rc"; }
    rc=0; run -n 3 "$MPCT" run "${common[@]}" --input-format xml --output bad.h5 2>bad.log || rc=$?
    [ $rc -eq 2 ] && grep -q "format = 'xml'" bad.log || { cat bad.log; fail "--input-format xml: exit $rc"; }
    # merge carries /id and /truncated: two shards of in.jsonl give the whole run's
    head -10 in.jsonl > s0.jsonl && tail -n +11 in.jsonl > s1.jsonl
    for k in 0 1; do
        run -n 3 "$MPCT" run "${common[@]}" --inputs s$k.jsonl --text-field body --id-field key --row-offset $((10 * k)) \
            --output s$k.h5 --test-seed 3 --quiet 2>s$k.log || { cat s$k.log; fail "shard $k run"; }
    done
    rm -f m.h5
    "$MPCT" merge m.h5 s0.h5 s1.h5 --quiet 2>m.log || { cat m.log; fail "merge of the jsonl shards"; }
    for d in /id /truncated; do # (the embeddings differ by the rounding: other random streams)
        [ "$(sh5 m.h5 $d)" = "$(sh5 in.jsonl.h5 $d)" ] || fail "merged $d differs from the whole run's"
    done
    # a resume that reads the rows from another member is refused before any work
    rm -f fmt.h5 fmt.h5.partial
    kill_midway fmt.h5 --inputs in.csv --text-field body
    rc=0; run -n 3 "$MPCT" run "${common[@]}" --inputs in.csv --text-field extra --resume --output fmt.h5 \
        --test-seed 3 2>fmt.log || rc=$?
    [ $rc -eq 1 ] && grep -q "inputs are read differently: text_field 'body' (then) vs 'extra' (now)" fmt.log \
        || { cat fmt.log; fail "resume with another text field: exit $rc"; }
    ;;
early_checks)
    rm -f e.h5 e.h5.partial
    # once (first word of) msg in out, exit status want, no output, no sign of work
    early() { # early WANT "message" flags...
        local want=$1 msg=$2; shift 2
        local t0=$SECONDS
        out=$(timeout 120 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --output e.h5 "$@" 2>&1); rc=$?
        [ $rc -eq "$want" ] || { echo "$out"; fail "exit $rc (want $want) for $*"; }
        [ "$(grep -c -- "$msg" <<<"$out")" -eq 1 ] || { echo "$out"; fail "message '$msg' not printed once for $*"; }
        ! grep -q "inferences\|sharing weights\|truncated" <<<"$out" || { echo "$out"; fail "work done before: $*"; }
        [ ! -e e.h5 ] && [ ! -e e.h5.partial ] || fail "an output was written for $*"
        echo "ok ($((SECONDS - t0)) s): $* -> $msg"
    }
    early 1 "error: nodir/r.json: cannot write the report file: No such file or directory" --report nodir/r.json
    early 1 "error: $inputs/x.prom: cannot write the Prometheus file: Not a directory" --prometheus $inputs/x.prom
    mkdir -p adir
    early 1 "error: adir: cannot write the report file: it is a directory" --report adir
    early 2 "report 'e.h5' is also the output" --report e.h5
    early 2 "prometheus '$model' is also the model" --prometheus $model
    # frac_bits: 8..20 (the L2 normalisation's rsqrt); 21..24 used to fail mid-run on every rank
    for f in 7 21 24; do early 2 "frac_bits = '$f': expected an integer from 8 to 20" --frac-bits $f; done
    printf '[job]\nfrac_bits = 22\n' > frac.ini
    early 2 "frac.ini:2: frac_bits = '22': expected an integer from 8 to 20" frac.ini
    for b in ops model; do
        out=$(timeout 60 "${MPI[@]}" -n 3 "$MPCT" bench $b --frac-bits 21 2>&1); rc=$?
        [ $rc -eq 2 ] && [ "$(grep -c -- "--frac-bits expects an integer in \[8, 20\], got '21'" <<<"$out")" -eq 1 ] ||
            { echo "$out"; fail "bench $b --frac-bits 21: exit $rc"; }
    done
    out=$(timeout 60 "${MPI[@]}" -n 3 "$MPCT" warm --model $model --cache-dir wc --frac-bits 23 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "frac_bits = '23': expected an integer from 8 to 20" <<<"$out" ||
        { echo "$out"; fail "warm --frac-bits 23: exit $rc"; }
    head -3 $inputs > in3.txt
    for tf in "embed 8" "classify 20"; do
        set -- $tf
        run -n 3 "$MPCT" run --model $model --inputs in3.txt --task $1 --seq-len 48 --frac-bits $2 --output f$2.h5 \
            --quiet || fail "frac_bits $2 ($1)"
        "$MPCT" run --plaintext --model $model --inputs in3.txt --task $1 --seq-len 48 --output fp$2.h5 --quiet ||
            fail "plaintext $1"
        "$MPCT" compare f$2.h5 fp$2.h5 --min-cosine 0.99 || fail "frac_bits $2 ($1) fidelity"
    done
    # invalid UTF-8 on line 3: the path, :3: and the tokenizer's reason (was garbled)
    printf 'first line\nsecond line\nbad \377\376 bytes\nfourth\n' > badutf.txt
    want="badutf.txt:3: input is not valid UTF-8 at byte offset 4: byte 0xFF cannot start a UTF-8 sequence"
    out=$(timeout 120 "${MPI[@]}" -n 3 "$MPCT" run --model $model --inputs badutf.txt --output e.h5 --seq-len 48 2>&1)
    [ $? -eq 1 ] && grep -qF "mpct run: error: $want" <<<"$out" || { echo "$out"; fail "secure run: invalid UTF-8"; }
    out=$("$MPCT" run --plaintext --model $model --inputs badutf.txt --output e.h5 --seq-len 48 2>&1)
    [ $? -eq 1 ] && grep -qF "mpct run: error: $want" <<<"$out" || { echo "$out"; fail "plaintext run: invalid UTF-8"; }
    cat > cal.json <<'J'
{"benchmark": "model", "shape": "file", "layers": 6, "hidden": 384, "heads": 12, "ffn": 1536, "vocab": 30522,
 "seq": 16, "batch": 1, "reps": 3, "setup_share_weights_s": 1.0, "median_batch_s": 1.0,
 "bytes_sent_per_party_per_batch": [250000, 500000, 250000], "bytes_total_per_batch": 1000000, "rounds_per_batch": 1800}
J
    out=$("$MPCT" plan --model $model --inputs badutf.txt --seq-len 16 --batch 4 --calibration cal.json 2>&1)
    [ $? -eq 1 ] && grep -qF "mpct plan: error: $want" <<<"$out" || { echo "$out"; fail "plan: invalid UTF-8"; }
    echo "ok: invalid UTF-8 -> $want"
    ;;
partial_choice)
    rm -f p.h5 p.h5.partial p2.h5 p2.h5.partial full.h5
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output full.h5 --test-seed 3 --quiet || fail "reference run"
    kill_midway p.h5 --batch 1
    cp p.h5.partial saved.partial
    out=$(timeout 120 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --batch 1 --output p.h5 --test-seed 3 2>&1); rc=$?
    echo "$out" | grep "error"
    [ $rc -eq 1 ] || { echo "$out"; fail "a rerun without --resume or --overwrite: exit $rc, want 1"; }
    kept=$(sed -n 's/.*error: p\.h5\.partial holds \([0-9]*\) of 21 rows of an earlier run: add --resume to continue it, or --overwrite to discard them and start again.*/\1/p' <<<"$out")
    [ -n "$kept" ] && [ "$kept" -ge 1 ] && [ "$kept" -lt 21 ] || { echo "$out"; fail "no message naming the rows kept"; }
    ! grep -q "inferences" <<<"$out" || fail "the refused run computed rows"
    cmp -s p.h5.partial saved.partial || fail "the refused run changed p.h5.partial"
    [ ! -e p.h5 ] || fail "the refused run wrote p.h5"
    # choice 1: --resume continues the rows kept
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output p.h5 --test-seed 3 --resume 2>resume.log ||
        { cat resume.log; fail "--resume"; }
    grep -q "resuming: $kept of 21 inputs already done" resume.log || { cat resume.log; fail "--resume: rows kept"; }
    h5diff full.h5 p.h5 /embedding && h5diff full.h5 p.h5 /logits || fail "--resume differs from an uninterrupted run"
    # choice 2: --overwrite discards them and computes every row
    cp saved.partial p2.h5.partial
    out=$(timeout 60 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" --output p2.h5 --resume --overwrite 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "error: --resume and --overwrite both given" <<<"$out" || { echo "$out"; fail "both"; }
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output p2.h5 --test-seed 3 --overwrite 2>ow.log ||
        { cat ow.log; fail "--overwrite"; }
    ! grep -q "resuming" ow.log || fail "--overwrite resumed"
    grep -q "mpct run: 21 inferences" ow.log || { cat ow.log; fail "--overwrite did not compute all 21 rows"; }
    [ ! -e p2.h5.partial ] || fail "--overwrite left p2.h5.partial"
    h5diff full.h5 p2.h5 /embedding && h5diff full.h5 p2.h5 /logits || fail "--overwrite differs from an uninterrupted run"
    echo "ok: $kept rows kept; --resume and --overwrite"
    ;;
sigterm_resume)
    rm -f t.h5 t.h5.partial t.json t6.h5 t6.h5.partial full.h5
    run -n 3 "$MPCT" run "${common[@]}" --batch 1 --output full.h5 --test-seed 3 --quiet || fail "reference run"
    # wait_rows LOG N: until the progress in LOG reaches N of 21 rows (<= 60 s)
    wait_rows() {
        local n
        for i in $(seq 1 600); do
            n=$(grep -o "mpct run: [0-9]*/21" "$1" | tail -1 | sed 's/.*: \([0-9]*\)\/21/\1/')
            [ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
            sleep 0.1
        done
        cat "$1"; fail "no progress in $1"
    }
    # Open MPI's mpirun passes SIGTERM on to the ranks after odls_base_sigkill_timeout seconds and
    # sends SIGKILL about as long after; each block is slowed by 300 ms so that the run is still going
    OMPI_MCA_odls_base_sigkill_timeout=3 MPCT_TEST_SLOW_REPLICA=0:300 "${MPI[@]}" -n 3 "$MPCT" run "${common[@]}" \
        --batch 1 --output t.h5 --test-seed 3 --report t.json 2>term.log &
    pid=$!
    wait_rows term.log 3
    kill -TERM $pid
    wait $pid; rc=$?
    cat term.log
    [ $rc -ne 0 ] || fail "interrupted run exited 0"
    kept=$(sed -n 's/^mpct run: error: interrupted by SIGTERM: \([0-9]*\) of 21 rows are kept in t\.h5\.partial$/\1/p' term.log)
    [ -n "$kept" ] && [ "$kept" -ge 3 ] && [ "$kept" -lt 21 ] || fail "no message naming the rows kept"
    [ -f t.h5.partial ] && [ ! -e t.h5 ] || fail "t.h5.partial not kept (or t.h5 presented as complete)"
    python3 -c "
import json; s = json.load(open('t.json'))['settings']
assert s['interrupted_by'] == 'SIGTERM' and s['inferences'] == $kept, s" || fail "report of the interrupted run"
    cmd=$(sed -n "s/^mpct run: to compute the other $((21 - kept)), resume with: mpirun -np 3 //p" term.log)
    [ -n "$cmd" ] && [ "${cmd% --resume}" != "$cmd" ] || fail "no resume command"
    eval "run -n 3 $cmd" 2>resume.log || { cat resume.log; fail "the printed resume command"; }
    grep -q "resuming: $kept of 21 inputs already done" resume.log || { cat resume.log; fail "resume: rows kept"; }
    h5diff full.h5 t.h5 /embedding && h5diff full.h5 t.h5 /logits || fail "resumed output differs from an uninterrupted run"
    python3 -c "
import json; s = json.load(open('t.json'))['settings']
assert 'interrupted_by' not in s and s['inferences'] == 21 - $kept, s" || fail "report of the resumed run"
    # SIGINT to one rank of a 2-replica run: the replicas agree to stop, the writer keeps the rows
    MPCT_TEST_SLOW_REPLICA=1:300 "${MPI[@]}" -n 6 "$MPCT" run "${common[@]}" --batch 1 --output t6.h5 --test-seed 3 \
        2>int.log &
    pid=$!
    wait_rows int.log 3
    victim=$(pgrep -f "mpct run .*--output t6.h5" | sort -n | tail -1)
    kill -INT "$victim"
    for i in $(seq 1 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -9 $pid; fail "ranks still running 60 s after SIGINT"; }
    wait $pid; rc=$?
    cat int.log
    [ $rc -ne 0 ] || fail "SIGINT: exit 0"
    kept=$(sed -n 's/^mpct run: error: interrupted by SIGINT: \([0-9]*\) of 21 rows are kept in t6\.h5\.partial$/\1/p' int.log)
    [ -n "$kept" ] && [ "$kept" -lt 21 ] || fail "SIGINT: no message naming the rows kept"
    run -n 6 "$MPCT" run "${common[@]}" --batch 1 --output t6.h5 --test-seed 3 --resume 2>resume6.log ||
        { cat resume6.log; fail "resume of the SIGINT run"; }
    grep -q "resuming: $kept of 21 inputs already done" resume6.log || { cat resume6.log; fail "SIGINT resume: rows"; }
    h5diff full.h5 t6.h5 /embedding && h5diff full.h5 t6.h5 /logits || fail "SIGINT run resumed differs"
    ;;
split)
    python3 - $inputs <<'PY'
import csv, json, sys
rows = [l.rstrip("\n") for l in open(sys.argv[1])]
with open("corpus.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["key", "body"])
    for i, t in enumerate(rows):
        w.writerow(["id-%d" % i, t.replace(" ", "\n", 1) if i % 3 == 0 else t])  # some records span 2 lines
with open("corpus.jsonl", "w") as f:
    for i, t in enumerate(rows):
        f.write(json.dumps({"body": t, "n": i}) + "\n")
PY
    rm -rf sh full.h5 m.h5 ./*.partial
    "$MPCT" split --shards 3 --text-field body --id-field key -d sh corpus.csv > split.log || { cat split.log; fail "split"; }
    grep -q "21 rows of 'corpus.csv' (csv) -> 3 shards sh/shard-%03d.csv" split.log || { cat split.log; fail "split summary"; }
    [ "$(tr '\n' ' ' < sh/row-offsets)" = "0 7 14 " ] || fail "row-offsets: $(cat sh/row-offsets)"
    for k in 0 1 2; do head -1 sh/shard-00$k.csv | grep -q "^key,body" || fail "shard $k lacks the header"; done
    [ "$(head -1 corpus.csv; for k in 0 1 2; do tail -n +2 sh/shard-00$k.csv; done)" = "$(cat corpus.csv)" ] ||
        fail "the shards' records are not the corpus's"
    run -n 3 "$MPCT" run "${common[@]}" --inputs corpus.csv --text-field body --id-field key --output full.h5 \
        --test-seed 3 --quiet 2>/dev/null || fail "unsharded run"
    mapfile -t offs < sh/row-offsets
    for k in 0 1 2; do
        run -n 3 "$MPCT" run "${common[@]}" --inputs sh/shard-00$k.csv --text-field body --id-field key \
            --output sh/shard-$k.h5 --row-offset "${offs[$k]}" --test-seed 3 --quiet 2>/dev/null || fail "shard $k"
    done
    "$MPCT" merge --quiet m.h5 sh/shard-2.h5 sh/shard-0.h5 sh/shard-1.h5 || fail "merge"
    sh5() { h5dump -A 0 -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p'; }
    # the batches differ from the one run's (other padded lengths, other random rounding): the rows agree to
    # the fixed-point noise and the labels exactly, as the merge case asks; what the inputs give is exact
    "$MPCT" compare m.h5 full.h5 --min-cosine 0.9999 --min-agreement 1 || fail "split+merge rows differ from one run"
    for d in /id /input_id /truncated; do
        [ "$(sh5 m.h5 $d)" = "$(sh5 full.h5 $d)" ] || fail "split+merge $d differs from one run"
    done
    echo "ok: split -> 3 shard runs -> merge == one run (rows, labels, id, input_id, truncated)"
    "$MPCT" split --rows 5 --quiet -d tx $inputs && [ "$(ls tx | xargs)" = "row-offsets shard-000.txt shard-001.txt shard-002.txt shard-003.txt shard-004.txt" ] ||
        fail "--rows 5 of 21 lines: $(ls tx | xargs)"
    cat tx/shard-*.txt | cmp - $inputs || fail "text shards do not concatenate to the input"
    [ "$(tr '\n' ' ' < tx/row-offsets)" = "0 5 10 15 20 " ] || fail "text row-offsets: $(cat tx/row-offsets)"
    "$MPCT" split -n 4 --text-field body --quiet -d js corpus.jsonl && cat js/shard-*.jsonl | cmp - corpus.jsonl ||
        fail "jsonl shards do not concatenate to the input"
    printf '{"body": "ok"}\n{"body": 3}\n' > badrec.jsonl
    out=$("$MPCT" split -n 1 --text-field body -d bad badrec.jsonl 2>&1); rc=$?
    [ $rc -eq 1 ] && grep -q "badrec.jsonl:2:" <<<"$out" && [ ! -e bad/shard-000.jsonl ] || { echo "$out"; fail "malformed record: exit $rc"; }
    out=$("$MPCT" split -n 30 -d bad $inputs 2>&1); rc=$?
    [ $rc -eq 1 ] && grep -q "has 21 rows, fewer than the 30 shards" <<<"$out" && [ ! -e bad ] || { echo "$out"; fail "too many shards: exit $rc"; }
    out=$("$MPCT" split -n 2 --rows 3 $inputs 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "exactly one of --shards N or --rows M" <<<"$out" || { echo "$out"; fail "both sizes: exit $rc"; }
    ;;
dedup)
    head -8 "$SRC/tests/data/minilm_golden_text.txt" > u.txt
    (cat u.txt; sed -n 2,5p u.txt; sed -n 1,3p u.txt) > rep.txt   # 15 rows, 7 of them repeats
    (sed -n 6,8p u.txt; sed -n 9,10p "$SRC/tests/data/minilm_golden_text.txt") > mix.txt  # 3 cached, 2 new
    rm -rf rc rc8 ./*.h5.partial u.h5 d.h5 c?.h5
    # rows FILE DATASET N: the N rows of a dataset, one line each, every value exact (%.17g)
    rows() {
        h5dump -A 0 -d "$2" -y -w 0 -m %.17g "$1" | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr -d ' ,' | grep . |
            awk -v n="$3" '{ v[NR] = $1 } END { w = NR / n; for (i = 1; i <= NR; i++) printf "%s%s", v[i], (i % w ? " " : "\n") }'
    }
    pick() { local f=$1 d=$2 n=$3; shift 3; local all; all=$(rows "$f" "$d" "$n"); for k in "$@"; do sed -n "${k}p" <<<"$all"; done; }
    c=(--model $model --task classify --seq-len 48 --batch 4 --test-seed 3)
    run -n 3 "$MPCT" run "${c[@]}" --inputs u.txt --output u.h5 --quiet 2>/dev/null || fail "run of the unique rows"
    run -n 3 "$MPCT" run "${c[@]}" --inputs rep.txt --output d.h5 --dedup 2>d.log || { cat d.log; fail "--dedup run"; }
    grep -q "dedup: 15 rows: 7 repeat an earlier row, 0 from the result cache, 8 to compute" d.log || { cat d.log; fail "dedup plan line"; }
    grep -q "^mpct run: 8 inferences" d.log || { cat d.log; fail "the job did not compute exactly 8 rows"; }
    for d in /embedding /logits /label /token_count; do
        [ "$(rows d.h5 $d 15)" = "$(pick u.h5 $d 8 1 2 3 4 5 6 7 8 2 3 4 5 1 2 3)" ] || fail "--dedup $d: not the unique rows' results"
    done
    [ "$(rows d.h5 /input_id 15 | xargs)" = "$(seq 0 14 | xargs)" ] || fail "--dedup /input_id: $(rows d.h5 /input_id 15 | xargs)"
    [ ! -e d.h5.unique.h5 ] && [ ! -e d.h5.unique.h5.partial ] || fail "computed rows' file left behind"
    echo "ok: --dedup computes 8 of 15 rows, each row = its unique row's result"
    run -n 3 "$MPCT" run "${c[@]}" --inputs rep.txt --output c1.h5 --result-cache rc --quiet 2>/dev/null || fail "cache run 1"
    [ "$(rows c1.h5 /embedding 15)" = "$(rows d.h5 /embedding 15)" ] || fail "first --result-cache run differs from --dedup"
    [ "$(find rc -name '*.row' | wc -l)" -eq 8 ] || fail "cache holds $(find rc -name '*.row' | wc -l) entries, want 8"
    [ "$(stat -c %a rc)" = 700 ] || fail "cache directory mode $(stat -c %a rc), want 700"
    cp -a rc rc8   # the 8 entries of rep.txt's distinct rows
    run -n 3 "$MPCT" run "${c[@]}" --inputs mix.txt --output c2.h5 --result-cache rc 2>c2.log || { cat c2.log; fail "cache run 2"; }
    grep -q "dedup: 5 rows: 0 repeat an earlier row, 3 from the result cache, 2 to compute" c2.log || { cat c2.log; fail "cache plan line"; }
    grep -q "^mpct run: 2 inferences" c2.log || { cat c2.log; fail "the job did not compute exactly the 2 new rows"; }
    for d in /embedding /logits /label /token_count; do
        [ "$(pick c2.h5 $d 5 1 2 3)" = "$(pick u.h5 $d 8 6 7 8)" ] || fail "cached rows' $d differ from the stored results"
    done
    echo "ok: --result-cache answers 3 of 5 rows bit for bit from the store, computes 2"
    # an entry moved to another row's key: checked (ids, model, settings), refused, recomputed, replaced
    set -- $(find rc8 -name '*.row' | sort)
    cp "$1" "$2"
    run -n 3 "$MPCT" run "${c[@]}" --inputs rep.txt --output c3.h5 --result-cache rc8 2>c3.log || { cat c3.log; fail "cache run 3"; }
    [ "$(grep -c "is not this row's entry (stale, foreign or damaged)" c3.log)" -eq 1 ] || { cat c3.log; fail "no single warning for the moved entry"; }
    grep -q "7 from the result cache, 1 to compute" c3.log || { cat c3.log; fail "moved entry: plan"; }
    "$MPCT" compare c3.h5 d.h5 --min-cosine 0.9999 --min-agreement 1 >/dev/null || fail "moved entry: wrong rows"
    run -n 3 "$MPCT" run "${c[@]}" --inputs rep.txt --output c4.h5 --result-cache rc8 2>c4.log || { cat c4.log; fail "cache run 4"; }
    grep -q "7 from the result cache, 1 to compute" c4.log && ! grep -q "not this row's entry" c4.log ||
        { cat c4.log; fail "the moved entry was not replaced"; }
    "$MPCT" pack --synthetic tiny --labels 2 --seed 9 --vocab "$SRC/tests/data/vocab.txt" -o other.h5 >/dev/null
    run -n 3 "$MPCT" run "${c[@]}" --model other.h5 --inputs u.txt --output c5.h5 --result-cache rc 2>c5.log || { cat c5.log; fail "other model"; }
    grep -q "0 from the result cache, 8 to compute" c5.log || { cat c5.log; fail "another model's rows answered from the cache"; }
    "$MPCT" run --plaintext "${c[@]}" --inputs u.txt --output p.h5 --result-cache rc --quiet 2>p.log || fail "plaintext"
    grep -q "dedup and --result-cache have no effect" p.log || { cat p.log; fail "plaintext: no warning"; }
    ;;
log_level)
    lv() { local name=$1; shift; run -n 3 "$MPCT" run "${common[@]}" --output "ll-$name.h5" --test-seed 3 "$@" 2>"ll-$name.log" ||
        { cat "ll-$name.log"; fail "run $name"; }; }
    lv info
    grep -Eq '^mpct run: [0-9]+/21 inferences \[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\], [0-9.]+ inf/s, ETA [0-9]+ (s|min)' ll-info.log ||
        { cat ll-info.log; fail "progress line without timestamp or ETA"; }
    grep -q "^mpct run: 21/21 inferences \[.*ETA 0 s$" ll-info.log || { cat ll-info.log; fail "final progress line"; }
    grep -q "P1 (the client, world rank 1) sent [0-9.]* MB" ll-info.log || { cat ll-info.log; fail "summary does not name the party"; }
    lv warn --log-level warn
    grep -q "warning: .*truncated to 48 tokens" ll-warn.log && ! grep -q "inferences" ll-warn.log ||
        { cat ll-warn.log; fail "--log-level warn: want the warning and no progress"; }
    lv error --log-level=error
    [ -z "$(grep -v '^mpct: WARNING: rank [0-2] (party [0-2] of replica 0): deterministic test keys' ll-error.log)" ] &&
        [ "$(grep -c WARNING ll-error.log)" -eq 3 ] || { cat ll-error.log; fail "--log-level error: want only the 3 test-key WARNINGs"; }
    lv debug --log-level debug
    grep -q "^mpct run: debug: replica 0: rows 0..3 (PRF stream [0-9]*), padded length [0-9]*, [0-9.]* s$" ll-debug.log ||
        { cat ll-debug.log; fail "--log-level debug: no range line"; }
    printf '[job]\nlog_level = warn\n' > ll.ini
    lv job ll.ini
    ! grep -q "inferences" ll-job.log || { cat ll-job.log; fail "job key log_level = warn printed progress"; }
    out=$(run -n 3 "$MPCT" run "${common[@]}" --output ll-bad.h5 --log-level loud 2>&1); rc=$?
    [ $rc -eq 2 ] && [ "$(grep -c "log level 'loud': expected error, warn, info or debug" <<<"$out")" -eq 1 ] ||
        { echo "$out"; fail "bad --log-level: exit $rc"; }
    ;;
input_ids)
    sh5() { h5dump -A 0 -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p'; }
    "$MPCT" tokenize --model $model --max-len 48 -i $inputs > in.ids 2>/dev/null || fail "tokenize"
    run -n 3 "$MPCT" run "${common[@]}" --output txt.h5 --test-seed 3 --quiet 2>/dev/null || fail "text run"
    run -n 3 "$MPCT" run "${common[@]}" --inputs in.ids --input-format ids --output ids.h5 --test-seed 3 --quiet 2>ids.log ||
        { cat ids.log; fail "ids run"; }
    for d in /embedding /logits /label /token_count; do
        [ "$(sh5 ids.h5 $d)" = "$(sh5 txt.h5 $d)" ] || fail "ids run: $d differs from the text run"
    done
    h5dump -a /input_format ids.h5 | grep -q '"ids"' || fail "input_format ids not recorded"
    "$MPCT" run --plaintext "${common[@]}" --inputs in.ids --input-format ids --output pids.h5 --quiet 2>/dev/null &&
        "$MPCT" run --plaintext "${common[@]}" --output ptxt.h5 --quiet 2>/dev/null || fail "plaintext runs"
    [ "$(sh5 pids.h5 /embedding)" = "$(sh5 ptxt.h5 /embedding)" ] || fail "plaintext ids run differs from the text run"
    (head -1 in.ids; echo "101 $(seq 1000 1059 | xargs) 102") > long.ids   # 62 ids at seq_len 48: 14 dropped
    run -n 3 "$MPCT" run "${common[@]}" --inputs long.ids --input-format ids --output long.h5 --test-seed 3 --quiet \
        2>/dev/null || fail "long ids run"
    [ "$(sh5 long.h5 /truncated | tr -d ' \n' | sed 's/.*{\(.*\)}/\1/')" = "0,14" ] || fail "long line: /truncated $(sh5 long.h5 /truncated)"
    [ "$(sh5 long.h5 /token_count | tr -d ' \n' | sed 's/.*{\(.*\)}/\1/')" = "$(head -1 in.ids | wc -w),48" ] ||
        fail "long line: /token_count $(sh5 long.h5 /token_count)"
    bad() { # bad FILE "message"
        rm -f bad.h5
        out=$(run -n 3 "$MPCT" run "${common[@]}" --inputs "$1" --input-format ids --output bad.h5 2>&1); rc=$?
        [ $rc -ne 0 ] && [ "$(grep -c -- "$2" <<<"$out")" -eq 1 ] && [ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] ||
            { echo "$out"; fail "$1: exit $rc, want one '$2' and no output"; }
        echo "ok: $1 -> $2"
    }
    printf '101 7592 102\n101 30522 102\n' > big.ids;   bad big.ids "big.ids:2: token id 30522 is outside the vocabulary (0..30521)"
    printf '101 7x92 102\n' > nan.ids;                  bad nan.ids "nan.ids:1: token id '7x92' is not a non-negative integer"
    printf '101 -5 102\n' > neg.ids;                    bad neg.ids "neg.ids:1: token id '-5' is not a non-negative integer"
    printf '101 102\n\n' > empty.ids;                   bad empty.ids "empty.ids:2: no token ids on the line"
    out=$(run -n 3 "$MPCT" run "${common[@]}" --inputs in.ids --input-format ids --id-field k --output bad.h5 2>&1); rc=$?
    [ $rc -eq 2 ] || { echo "$out"; fail "--id-field with ids: exit $rc, want 2"; }
    ;;
minilm)
    m="$SRC/datasets/cache/minilm-16.h5"
    [ -f "$m" ] || { echo "SKIP: $m not fetched (datasets/fetch_minilm.sh)"; exit 77; }
    head -8 "$SRC/datasets/sample-reviews.txt" > mini.txt
    run -n 3 "$MPCT" run --model "$m" --inputs mini.txt --output mini.h5 --batch 8 --quiet || fail "secure MiniLM run"
    "$MPCT" run --plaintext --model "$m" --inputs mini.txt --output mini_p.h5 --quiet || fail "plaintext MiniLM run"
    "$MPCT" compare mini.h5 mini_p.h5 --mean-cosine 0.999 --min-cosine 0.995 || fail "MiniLM fidelity"
    ;;
*) fail "unknown case $case_" ;;
esac
echo "PASS: $case_"
