#!/usr/bin/env bash
# tls_bench.sh — parties launched separately over TCP, TLS 1.3 (tls = on) against
# plain TCP (tls = off), one mpirun (MPI) and one mpirun with --encrypt
# (AES-128-GCM links): INPUTS inputs (default 4) of ~140 words from
# tests/data/minilm_golden_text.txt, seq 128, batch 1, loopback. Rounds
# interleave the modes; prints the client's settings.inference_s and setup_s per
# mode, and each round's ratios. With NETWORK=lan (or any --network value) only the
# two single-mpirun modes run, over that emulated link (a separately launched
# party refuses --network: the emulation needs one clock). perf/RESULTS.md quotes it.
# usage: [INPUTS=N] [NETWORK=lan] perf/tls_bench.sh MPCT MODEL.h5 WORKDIR [ROUNDS]   (from the repository root)
set -eu
B=$(readlink -f "$1") ML=$(readlink -f "$2") ROUNDS=${4:-3} SRC=$PWD
mkdir -p "$3" && cd "$3"
python3 - "$SRC/tests/data/minilm_golden_text.txt" <<'PY'
import random, sys
random.seed(3)
w = open(sys.argv[1]).read().split()
with open('in.txt', 'w') as f:
    for i in range(int(__import__('os').environ.get('INPUTS', '4'))):
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
NET=${NETWORK:-}
one() { # mode round [flags]: the three parties in one mpirun
    local m=$1 r=$2
    shift 2
    mpirun -np 3 --oversubscribe --allow-run-as-root "$B" run --model "$ML" --inputs in.txt --output "m-$m-$r.h5" \
        --seq-len 128 --batch 1 --report "r-$m-$r.json" --quiet --overwrite ${NET:+--network "$NET"} "$@" 2>/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
    one mpi "$r" --no-encrypt
    one enc "$r" --encrypt
    if [ -z "$NET" ]; then
        sep on "$r"
        sep off "$r"
    fi
done
ROUNDS=$ROUNDS NET=$NET python3 - <<'PY'
import json, os, statistics
n = int(os.environ["ROUNDS"])
modes = ('mpi', 'enc') + (() if os.environ["NET"] else ('on', 'off'))
names = {'mpi': 'one mpirun', 'enc': 'one mpirun --encrypt', 'on': 'TLS', 'off': 'plain TCP'}
t = {}
for mode in modes:
    xs = [json.load(open('r-%s-%d.json' % (mode, r) if mode in ('mpi', 'enc') else 'r-%s-%d-1.json' % (mode, r)))['settings']
          for r in range(1, n + 1)]
    t[mode] = [x['inference_s'] for x in xs]
    print(names[mode], 'inference_s', [round(v, 3) for v in t[mode]], 'median', round(statistics.median(t[mode]), 3),
          'setup_s', [round(x['setup_s'], 3) for x in xs])
for a, b in (('enc', 'mpi'), ('on', 'off'), ('on', 'mpi')):
    if a in t and b in t:
        rs = [x / y for x, y in zip(t[a], t[b])]
        print('%s / %s per round' % (names[a], names[b]), [round(v, 3) for v in rs], 'median', round(statistics.median(rs), 3))
PY
