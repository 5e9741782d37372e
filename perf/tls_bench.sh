#!/usr/bin/env bash
# tls_bench.sh — parties launched separately over TCP, TLS 1.3 (tls = on) against
# plain TCP (tls = off), and one mpirun (MPI) as the baseline: MiniLM, 4 inputs of
# ~140 words from tests/data/minilm_golden_text.txt, seq 128, batch 1, loopback.
# Rounds interleave the three modes; prints the client's settings.inference_s and
# setup_s per mode. perf/RESULTS.md quotes it.
# usage: perf/tls_bench.sh MPCT MODEL.h5 WORKDIR [ROUNDS]   (from the repository root)
set -eu
B=$(readlink -f "$1") ML=$(readlink -f "$2") ROUNDS=${4:-3} SRC=$PWD
mkdir -p "$3" && cd "$3"
python3 - "$SRC/tests/data/minilm_golden_text.txt" <<'PY'
import random, sys
random.seed(3)
w = open(sys.argv[1]).read().split()
with open('in.txt', 'w') as f:
    for i in range(4):
        f.write(' '.join(random.choice(w) for _ in range(140)) + '\n')
PY
for p in 0 1 2; do [ -f p$p.key ] || "$B" keygen --name party$p --key p$p.key --cert p$p.crt >/dev/null; done
mk() {
    printf '[session]\nid = tlsbench\ntls = %s\n' "$1"
    for p in 0 1 2; do
        printf '[party%d]\nhost = 127.0.0.1\nport = %d\n' $p $((46000 + 10 * p + $2))
        [ "$1" = off ] || printf 'cert = p%d.crt\n' $p
    done
}
sep() { # mode round
    mk "$1" "$2" > "peers-$1-$2.ini"
    for p in 0 1 2; do
        mpirun -np 1 --oversubscribe --allow-run-as-root "$B" run --model "$ML" --inputs in.txt --output "s-$1-$2.h5" \
            --seq-len 128 --batch 1 --party $p --peers "peers-$1-$2.ini" $([ "$1" = off ] || echo --tls-key p$p.key) \
            --report "r-$1-$2-$p.json" \
            --quiet --overwrite > "log-$1-$2-$p.txt" 2>&1 &
    done
    wait
}
for r in $(seq 1 "$ROUNDS"); do
    mpirun -np 3 --oversubscribe --allow-run-as-root "$B" run --model "$ML" --inputs in.txt --output "m-$r.h5" --seq-len 128 \
        --batch 1 --report "r-mpi-$r.json" --quiet --overwrite 2>/dev/null
    sep on "$r"
    sep off "$r"
done
ROUNDS=$ROUNDS python3 - <<'PY'
import json, os
n = int(os.environ["ROUNDS"])
for mode in ('mpi', 'on', 'off'):
    xs = [json.load(open('r-mpi-%d.json' % r if mode == 'mpi' else 'r-%s-%d-1.json' % (mode, r)))['settings']
          for r in range(1, n + 1)]
    print({'mpi': 'one mpirun', 'on': 'TLS', 'off': 'plain TCP'}[mode], 'inference_s',
          [round(x['inference_s'], 3) for x in xs], 'setup_s', [round(x['setup_s'], 3) for x in xs])
PY
