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
#   - encrypt with --party is refused (separately launched parties use TLS).
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
    tcpdump -i lo -w "$name.pcap" -U >/dev/null 2>&1 &
    local tp=$!
    sleep 1
    "${M[@]}" "$MPCT" run --model tiny.h5 --inputs in.txt --output "$name.h5" --seq-len 32 --test-seed 7 \
        --report "$name.json" --quiet "$@" > "log_$name.txt" 2>&1
    local rc=$?
    sleep 0.5
    kill $tp
    wait $tp 2>/dev/null
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
echo "PASS"
