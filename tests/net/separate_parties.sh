#!/usr/bin/env bash
# Parties launched separately (`--party P --peers FILE`), each its own mpirun,
# connected over TCP with mutual TLS 1.3.
# usage: separate_parties.sh CASE MPIEXEC MPCT SRCDIR WORKDIR
#   loopback   three launches on 127.0.0.1 give the output of one mpirun
#              bit for bit (test keys); so do three launches of 2 ranks each
#              (2 replicas per party); a refused certificate (a party presents
#              one nobody pinned) stops all three, nothing written
#   kill       party 0 killed mid-job: the others stop within seconds naming
#              it, the client keeps OUTPUT.partial with the finished rows, and
#              the three relaunched with --resume complete it, equal to an
#              uninterrupted run
#   generate   mpct generate: three launches (the owner given only the model,
#              the client only the prompts and the output, the third party
#              neither) give the ids and text of one mpirun byte for byte
#              (test keys, the tiny GPT-2 of tests/data/hf)
#   netns      (root) the three parties in three network namespaces on a
#              bridge: the same output; a capture of the bridge shows TLS 1.3
#              on every stream and none of the planted markers (vocabulary
#              lines the owner sends); the same run with tls = off shows them
#              (so the check can fail); two replicas per party, each party
#              its own mpirun -np 2 in its namespace, give the same output; a
#              link cut mid-job (ip link set down) stops the others within
#              the timeout naming the peer
set -u
case_=$1 MPIEXEC=$2 MPCT=$3 SRC=$4 WORK=$5
mkdir -p "$WORK" && cd "$WORK" || exit 1
rm -f ./*.h5 ./*.h5.partial log*.txt # a rerun starts afresh
fail() { echo "FAIL: $*" >&2; exit 1; }
M1=("$MPIEXEC" --oversubscribe --allow-run-as-root)
base=$((20000 + ($$ % 2000) * 10))

"$MPCT" pack --synthetic tiny -o tiny.h5 >/dev/null || fail "pack"
for i in $(seq 1 12); do echo "line $i: the weather in the city was fine and the river quiet"; done > in.txt
for p in 0 1 2 3; do
    rm -f p$p.key p$p.crt
    "$MPCT" keygen --name party$p.test --key p$p.key --cert p$p.crt >/dev/null || fail "keygen $p"
done

# peers HOST0 HOST1 HOST2 PORTBASE TLS > peers.ini
peers() {
    printf '[session]\nid = separate-parties-test\ntls = %s\n' "$5"
    for p in 0 1 2; do
        eval h=\$$((p + 1))
        printf '[party%d]\nhost = %s\nport = %d\n' $p "$h" $(($4 + 3 * p))
        [ "$5" = off ] || printf 'cert = p%d.crt\n' $p # plain TCP takes no certificate
    done
}
# launch P NP PEERS OUT [more flags]: one party, in the background, with a log
launch() {
    local p=$1 np=$2 pf=$3 out=$4
    shift 4
    ${NETNS_PREFIX:+$NETNS_PREFIX$p} "${M1[@]}" -np "$np" "$MPCT" run --model tiny.h5 --inputs in.txt --output "$out" \
        --seq-len 32 --batch 2 --test-seed 7 ${QUIET---quiet} --party $p --peers "$pf" \
        $([ "${PLAIN:-0}" = 1 ] || echo --tls-key p$p.key) "$@" \
        >"log$p.txt" 2>&1 &
    pids[$p]=$!
}
wait3() { rc=(); for p in 0 1 2; do wait ${pids[$p]}; rc[$p]=$?; done; }

reference() { # one mpirun, the same settings
    [ -f one.h5 ] || "${M1[@]}" -np 3 "$MPCT" run --model tiny.h5 --inputs in.txt --output one.h5 --seq-len 32 \
        --batch 2 --test-seed 7 --quiet 2>/dev/null || fail "single mpirun"
}

case "$case_" in
loopback)
    reference
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $base on > peers.ini
    for p in 0 1 2; do launch $p 1 peers.ini sep.h5; done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "separate launches: exit ${rc[*]}"; }
    h5diff one.h5 sep.h5 || fail "separate launches differ from one mpirun"
    # two replicas per party: each party its own mpirun -np 2 (ports base + 3p + r)
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $((base + 100)) on > peers2.ini
    for p in 0 1 2; do launch $p 2 peers2.ini sep2.h5; done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "2 replicas per party: exit ${rc[*]}"; }
    h5diff one.h5 sep2.h5 || fail "2 replicas per party differ from one mpirun"
    # warm: each party stores its own shares; a run then uses them and gives the same output
    rm -rf wc
    for p in 0 1 2; do
        ${NETNS_PREFIX:+$NETNS_PREFIX$p} "${M1[@]}" -np 1 "$MPCT" warm --model tiny.h5 --cache-dir wc --test-seed 7 --party $p \
            --peers peers.ini --tls-key p$p.key >"warm$p.txt" 2>&1 &
        pids[$p]=$!
    done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat warm*.txt; fail "separate warm: exit ${rc[*]}"; }
    for p in 0 1 2; do
        grep -q "stored generation [0-9a-f]* (.*) in wc/party$p " warm$p.txt || { cat warm$p.txt; fail "warm party $p"; }
    done
    for p in 0 1 2; do launch $p 1 peers.ini cached.h5 --cache-dir wc --report rep$p.json; done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "run from the cache: exit ${rc[*]}"; }
    h5diff one.h5 cached.h5 || fail "run from the warmed cache differs"
    python3 -c "import json; d = json.load(open('rep1.json')); assert d['settings']['cache_used'] == 1, d['settings']" ||
        fail "the run did not use the warmed shares"
    # the client's own input error is printed by the client (it is the writer of its launch)
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $((base + 250)) on > peers4.ini
    launch 0 1 peers4.ini miss.h5 --timeout 20
    launch 1 1 peers4.ini miss.h5 --timeout 20 --inputs missing.txt
    launch 2 1 peers4.ini miss.h5 --timeout 20
    wait3
    [ "${rc[1]}" != 0 ] && grep -q "missing.txt" log1.txt || { cat log*.txt; fail "the client did not say its input is missing"; }
    # emulated links need one clock: refused for a party launched alone
    "$MPCT" run --party 0 --peers peers.ini --tls-key p0.key --model tiny.h5 --inputs in.txt --output n.h5 \
        --network lan 2>net.err && fail "--network accepted with --party"
    grep -q "network = lan emulates links between parties that share one clock" net.err || { cat net.err; fail "--network message"; }
    # party 2 presents a certificate nobody pinned: refused, nothing computed
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $((base + 200)) on > peers3.ini
    launch 0 1 peers3.ini bad.h5 --timeout 8
    launch 1 1 peers3.ini bad.h5 --timeout 8
    launch 2 1 peers3.ini bad.h5 --timeout 8 --tls-cert p3.crt --tls-key p3.key
    wait3
    [ "${rc[0]}" != 0 ] && [ "${rc[1]}" != 0 ] && [ "${rc[2]}" != 0 ] || { cat log*.txt; fail "an unknown certificate was not refused by all: ${rc[*]}"; }
    grep -q "not a pinned peer certificate" log0.txt || { cat log0.txt; fail "party 0 does not say why it refused"; }
    grep -q "not a pinned peer certificate" log1.txt || { cat log1.txt; fail "party 1 does not say why it refused"; }
    grep -q "no acceptable connection from party 2 .* the last one was refused" log0.txt ||
        { cat log0.txt; fail "party 0's final error does not give the refusal"; }
    [ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "a refused job wrote an output"
    ;;
kill)
    reference
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $((base + 300)) on > peers.ini
    export MPCT_TEST_SLOW_REPLICA=0:500 # 0.5 s per range (12 ranges): time to kill midway
    for p in 0 1 2; do launch $p 1 peers.ini k.h5 --batch 1 --timeout 20; done
    for _ in $(seq 1 100); do # until the writer has opened its output, then a few rows
        [ -f k.h5.partial ] && break
        sleep 0.1
    done
    sleep 2
    t0=$(date +%s.%N)
    kill -9 ${pids[0]}
    pkill -9 -f "mpct run .*--party 0 " 2>/dev/null
    wait ${pids[1]}; r1=$?
    wait ${pids[2]}; r2=$?
    t1=$(date +%s.%N)
    wait ${pids[0]} 2>/dev/null
    unset MPCT_TEST_SLOW_REPLICA
    [ "$r1" != 0 ] && [ "$r2" != 0 ] || { cat log*.txt; fail "parties 1 and 2 did not fail: $r1 $r2"; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 10) }' || fail "the others took more than 10 s to stop"
    grep -q "party 0 .*closed the link\|party 0 .*did not answer" log1.txt || { cat log1.txt; fail "party 1 does not name party 0"; }
    [ -f k.h5.partial ] || fail "the client lost OUTPUT.partial"
    QUIET=
    for p in 0 1 2; do launch $p 1 peers.ini k.h5 --batch 1 --resume; done
    unset QUIET
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "resume: exit ${rc[*]}"; }
    grep -q "resuming: [1-9][0-9]* of 12 inputs already done" log1.txt || { cat log1.txt; fail "resume recomputed everything"; }
    "${M1[@]}" -np 3 "$MPCT" run --model tiny.h5 --inputs in.txt --output one1.h5 --seq-len 32 --batch 1 \
        --test-seed 7 --quiet 2>/dev/null || fail "single mpirun batch 1"
    h5diff one1.h5 k.h5 /embedding || fail "resumed output differs from an uninterrupted run"
    ;;
generate)
    "$MPCT" pack "$SRC/tests/data/hf/gpt2-tied" -o dec.h5 >/dev/null 2>&1 || fail "pack gpt2-tied"
    printf 'The quick brown fox\nSecure computation of a decoder, one token at a time.\nhello hello hello\n' > p.txt
    G=(generate --max-new-tokens 8 --stop none --test-seed 7 -q)
    rm -f gen_*.jsonl*
    "${M1[@]}" -np 3 "$MPCT" "${G[@]}" --model dec.h5 --inputs p.txt -o gen_one.jsonl 2>/dev/null || fail "generate, one mpirun"
    peers 127.0.0.1 127.0.0.1 127.0.0.1 $((base + 700)) on > peers.ini
    for p in 0 1 2; do
        m=/dev/null i=/dev/null o=gen_unused$p.jsonl
        [ $p = 0 ] && m=dec.h5
        [ $p = 1 ] && i=p.txt o=gen_sep.jsonl
        "${M1[@]}" -np 1 "$MPCT" "${G[@]}" --model $m --inputs $i -o $o --party $p --peers peers.ini \
            --tls-key p$p.key --timeout 60 > log$p.txt 2>&1 &
        pids[$p]=$!
    done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "generate, separate launches: exit ${rc[*]}"; }
    cmp gen_one.jsonl gen_sep.jsonl || fail "generate: separate launches differ from one mpirun"
    [ "$(wc -l < gen_sep.jsonl)" = 3 ] || fail "generate: not 3 prompts"
    ls gen_unused*.jsonl* 2>/dev/null && fail "a party other than the client wrote an output"
    ;;
netns)
    [ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
    command -v tcpdump >/dev/null || fail "tcpdump is not installed (deps.sh installs it)"
    tag=m$$
    cleanup() {
        pkill -f "tcpdump -i ${tag}br" 2>/dev/null
        for p in 0 1 2; do ip netns del ${tag}p$p 2>/dev/null; ip link del ${tag}v$p 2>/dev/null; done
        ip link del ${tag}br 2>/dev/null
    }
    trap cleanup EXIT
    if ! ip link add ${tag}br type bridge 2>bridge.err || ! ip netns add ${tag}probe 2>>bridge.err; then
        cat bridge.err
        echo "SKIP: this machine does not let root create network namespaces and bridges"
        exit 77
    fi
    ip netns del ${tag}probe
    ip link set ${tag}br up || fail "bridge"
    for p in 0 1 2; do
        ip netns add ${tag}p$p && ip link add ${tag}v$p type veth peer name eth0 netns ${tag}p$p &&
            ip link set ${tag}v$p master ${tag}br up && ip -n ${tag}p$p addr add 10.78.0.1$p/24 dev eth0 &&
            ip -n ${tag}p$p link set eth0 up && ip -n ${tag}p$p link set lo up || fail "namespace $p"
    done
    NETNS_PREFIX="ip netns exec ${tag}p"
    reference
    # markers: lines of the vocabulary the owner sends to the other parties
    h5dump -d /tokenizer/vocab_txt -b -o vocab.bin tiny.h5 >/dev/null || fail "h5dump vocab"
    python3 "$SRC/tests/net/pcap_check.py" --vocab-markers vocab.bin markers.hex || fail "markers"
    capture() { # capture NAME: tcpdump on the bridge while the three parties run
        tcpdump -i ${tag}br -w "$1.pcap" -U >/dev/null 2>&1 &
        local tp=$!
        sleep 1
        for p in 0 1 2; do launch $p 1 "$2" "$1.h5"; done
        wait3
        sleep 0.5
        kill $tp; wait $tp 2>/dev/null
    }
    peers 10.78.0.10 10.78.0.11 10.78.0.12 $((base + 400)) on > peers_tls.ini
    capture tls peers_tls.ini
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "namespaces: exit ${rc[*]}"; }
    h5diff one.h5 tls.h5 || fail "namespaces: output differs from one mpirun"
    python3 "$SRC/tests/net/pcap_check.py" tls.pcap --markers markers.hex --tls13 || fail "the TLS capture leaks or is not TLS 1.3"
    # two replicas per party: each namespace runs its party's mpirun -np 2 (ports base + 3p + r)
    peers 10.78.0.10 10.78.0.11 10.78.0.12 $((base + 450)) on > peers_rep2.ini
    for p in 0 1 2; do launch $p 2 peers_rep2.ini rep2.h5; done
    wait3
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "namespaces, 2 replicas per party: exit ${rc[*]}"; }
    h5diff one.h5 rep2.h5 || fail "namespaces, 2 replicas per party: output differs from one mpirun"
    peers 10.78.0.10 10.78.0.11 10.78.0.12 $((base + 500)) off > peers_plain.ini
    PLAIN=1 # and a key given with tls = off is refused, not ignored
    "$MPCT" run --party 0 --peers peers_plain.ini --tls-key p0.key --model tiny.h5 --inputs in.txt --output k.h5 \
        2>key.err && fail "--tls-key accepted with tls = off"
    grep -q "says tls = off, but --tls-key is given" key.err || { cat key.err; fail "--tls-key with tls = off: message"; }
    capture plain peers_plain.ini
    PLAIN=0
    [ "${rc[*]}" = "0 0 0" ] || { cat log*.txt; fail "plain: exit ${rc[*]}"; }
    grep -q "tls = off: the links to the other parties are plain TCP, INSECURE" log0.txt || fail "tls = off is not loud"
    python3 "$SRC/tests/net/pcap_check.py" plain.pcap --markers markers.hex && fail "the plain capture shows no marker: the check cannot fail"
    # a link cut mid-job: party 2's veth goes down
    export MPCT_TEST_SLOW_REPLICA=0:400
    peers 10.78.0.10 10.78.0.11 10.78.0.12 $((base + 600)) on > peers_cut.ini
    for p in 0 1 2; do launch $p 1 peers_cut.ini cut.h5 --batch 1 --timeout 5; done
    sleep 3
    ip link set ${tag}v2 down
    t0=$(date +%s)
    wait ${pids[0]}; r0=$?
    wait ${pids[1]}; r1=$?
    t1=$(date +%s)
    ip link set ${tag}v2 up
    wait ${pids[2]}
    unset MPCT_TEST_SLOW_REPLICA
    [ "$r0" != 0 ] && [ "$r1" != 0 ] || { cat log*.txt; fail "link cut: parties 0 and 1 did not stop: $r0 $r1"; }
    [ $((t1 - t0)) -le 20 ] || fail "link cut: the others took $((t1 - t0)) s to stop"
    grep -q "party 2 .*did not answer within 5 s" log0.txt log1.txt || { cat log0.txt log1.txt; fail "link cut: no message naming party 2"; }
    ;;
*) fail "unknown case $case_" ;;
esac
echo "separate_parties $case_: ok"
