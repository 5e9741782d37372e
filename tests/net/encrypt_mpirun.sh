#!/usr/bin/env bash
# Encrypted links of a single mpirun (--encrypt, job key encrypt): Open MPI is
# made to carry everything over TCP on the loopback interface, which tcpdump
# captures while the three parties run the tiny model.
# usage: encrypt_mpirun.sh MPIEXEC MPCT SRCDIR WORKDIR
#   - without encryption the capture shows planted markers (vocabulary lines
#     the owner sends to the other parties), so the check can fail;
#   - with --encrypt it shows none of them, the output is bit-identical to the
#     unencrypted run (test keys), and the report says link_encryption
#     aes-128-gcm ("none" without);
#   - encrypt with --party is refused (separately launched parties use TLS);
#   - nodes told apart by host name: each rank in a UTS namespace of its own
#     (tests/net/uts_host.sh) with a host name that is also a marker (the
#     report's gather carries every rank's host name to world rank 0). The
#     default (encrypt = auto) encrypts there, the capture shows neither the
#     vocabulary nor the host-name markers (nothing of the report crosses in
#     the clear), the output equals the plain run; with --no-encrypt every
#     rank warns and the capture shows the host names (the check can fail);
#     one host name per party with 2 replicas encrypts too, the same output;
#     one host name per rank (a party spread over nodes) is refused.
set -u
MPIEXEC=$1 MPCT=$2 SRC=$3 WORK=$4
mkdir -p "$WORK" && cd "$WORK" || exit 1
rm -f ./*.h5 ./*.h5.partial ./*.pcap ./*.json log*.txt
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: capturing on the loopback interface needs root"; exit 77; }
command -v tcpdump >/dev/null || fail "tcpdump is not installed (deps.sh installs it)"
M=("$MPIEXEC" -np 3 --oversubscribe --allow-run-as-root --mca pml ob1 --mca btl tcp,self
   --mca btl_tcp_if_include lo)

"$MPCT" pack --synthetic tiny -o tiny.h5 >/dev/null || fail "pack"
for i in $(seq 1 6); do echo "line $i: the weather in the city was fine and the river quiet"; done > in.txt
h5dump -d /tokenizer/vocab_txt -b -o vocab.bin tiny.h5 >/dev/null || fail "h5dump vocab"
python3 "$SRC/tests/net/pcap_check.py" --vocab-markers vocab.bin markers.hex || fail "markers"

# capture NAME ARGS...: tcpdump on lo while one mpirun runs the tiny model
capture() {
    local name=$1
    shift
    tcpdump -i lo -w "$name.pcap" -U -B 131072 >/dev/null 2>"tcpdump_$name.txt" &
    local tp=$!
    sleep 1
    "${M[@]}" ${WRAP:+"${WRAP[@]}"} "$MPCT" run --model tiny.h5 --inputs in.txt --output "$name.h5" --seq-len 32 --test-seed 7 \
        --report "$name.json" --quiet "$@" > "log_$name.txt" 2>&1
    local rc=$? last=-1 t=0
    # tcpdump writes what the kernel buffered after the run ended: wait until the file stops growing
    while [ "$(stat -c %s "$name.pcap")" != "$last" ] && [ $t -lt 60 ]; do
        last=$(stat -c %s "$name.pcap")
        sleep 1
        t=$((t + 1))
    done
    kill $tp
    wait $tp 2>/dev/null
    # a packet the kernel dropped would hide a marker: such a capture proves nothing
    grep -q "^0 packets dropped by kernel" "tcpdump_$name.txt" || { cat "tcpdump_$name.txt"; fail "$name: capture lost packets"; }
    [ $rc = 0 ] || { cat "log_$name.txt"; fail "$name: mpirun over TCP on lo exited $rc"; }
}

capture plain
python3 "$SRC/tests/net/pcap_check.py" plain.pcap --markers markers.hex &&
    fail "the unencrypted capture shows no marker: the check cannot fail"
grep -q '"link_encryption": *"none"' plain.json || fail "report of the plain run: link_encryption none"

capture enc --encrypt
python3 "$SRC/tests/net/pcap_check.py" enc.pcap --markers markers.hex || fail "the encrypted capture leaks markers"
h5diff plain.h5 enc.h5 /embedding || fail "the encrypted run's output differs"
grep -q '"link_encryption": *"aes-128-gcm"' enc.json || fail "report of the encrypted run: link_encryption"

"$MPCT" run --party 0 --peers none.ini --encrypt --model tiny.h5 --inputs in.txt --output x.h5 2>party.err &&
    fail "--encrypt accepted with --party"
grep -q "encrypt = on is for the links of a single mpirun" party.err || { cat party.err; fail "--party --encrypt: message"; }

# nodes by host name: ranks 1 and 2's host names are the markers
hp="mpctnode$$x"
WRAP=("$SRC/tests/net/uts_host.sh" "$hp" 3)
unshare --uts true 2>/dev/null || fail "unshare --uts does not work here (the test runs as root)"
printf '%s%s\n' "$hp" 1 "$hp" 2 | while read -r h; do printf '%s' "$h" | od -An -tx1 | tr -d ' \n'; echo; done > hosts.hex
capture nodes_off --no-encrypt
[ "$(grep -c 'run on different nodes and their links are not encrypted' log_nodes_off.txt)" = 3 ] ||
    { cat log_nodes_off.txt; fail "--no-encrypt across host names: a warning from every rank"; }
grep -q '"link_encryption": *"none"' nodes_off.json || fail "--no-encrypt across host names: link_encryption none"
python3 "$SRC/tests/net/pcap_check.py" nodes_off.pcap --markers hosts.hex &&
    fail "the unencrypted capture shows no host name: the check cannot fail"
capture nodes_auto
grep -q '"link_encryption": *"aes-128-gcm"' nodes_auto.json ||
    fail "encrypt = auto with the parties on different host names did not encrypt"
grep -q "run on different nodes" log_nodes_auto.txt && fail "encrypt = auto across host names warned"
cat markers.hex hosts.hex > all.hex
python3 "$SRC/tests/net/pcap_check.py" nodes_auto.pcap --markers all.hex ||
    fail "encrypt = auto across host names leaks markers (a clear gather or work counter?)"
h5diff plain.h5 nodes_auto.h5 /embedding || fail "encrypt = auto across host names: the output differs"
M2=("$MPIEXEC" -np 6 --oversubscribe --allow-run-as-root)
"${M2[@]}" "${WRAP[@]}" "$MPCT" run --model tiny.h5 --inputs in.txt --output rep2.h5 --seq-len 32 --test-seed 7 \
    --report rep2.json --quiet > log_rep2.txt 2>&1 || { cat log_rep2.txt; fail "2 replicas, a node per party"; }
grep -q '"link_encryption": *"aes-128-gcm"' rep2.json || fail "2 replicas, a node per party: not encrypted"
grep -q '"blocks_replica_1"' rep2.json || fail "2 replicas: the report lacks replica 1's ranges"
h5diff plain.h5 rep2.h5 /embedding || fail "2 replicas, a node per party: the output differs"
"${M2[@]}" "$SRC/tests/net/uts_host.sh" "$hp" 6 "$MPCT" run --model tiny.h5 --inputs in.txt --output spread.h5 \
    --seq-len 32 --test-seed 7 --quiet > log_spread.txt 2>&1 && fail "a party spread over two host names was accepted"
grep -q "party 0's 2 ranks run on more than one node" log_spread.txt || { cat log_spread.txt; fail "spread: message"; }
[ ! -e spread.h5 ] || fail "a refused run wrote its output"
echo "PASS"
