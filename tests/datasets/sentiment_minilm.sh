#!/usr/bin/env bash
# The sentiment head of datasets/train_sentiment_head.py on the real MiniLM, when it has
# been made (datasets/fetch_minilm.sh, fetch_reviews.sh, train_sentiment_head.py; needs
# h5py to read the outputs); skipped (exit 77) otherwise.
#   - held-out set (float64 reference): balanced (majority baseline 0.5), balanced
#     accuracy >= 0.70 and each class's recall >= 0.60 (measured with the default seed:
#     0.765, 0.76 and 0.77): a head that answers one class
#     for everything scores 0.5 and recall 0
#   - a clearly negative and a clearly positive sentence, secure (three parties) and
#     float64: negative and positive
# usage: sentiment_minilm.sh MPIEXEC MPCT SRCDIR CACHEDIR WORKDIR
set -u
MPIEXEC=$1 MPCT=$2 SRC=$3 CACHE=$4 WORK=$5
mkdir -p "$WORK" && cd "$WORK" || exit 1
MPI=("$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
fail() { echo "FAIL: $*"; exit 1; }
m="$CACHE/minilm-cls-16.h5" held="$CACHE/sentiment/heldout.txt" labels="$CACHE/sentiment/heldout.labels"
for f in "$m" "$held" "$labels"; do
    [ -f "$f" ] || { echo "SKIP: $f missing (datasets/train_sentiment_head.py has not run)"; exit 77; }
done
python3 -c "import h5py" 2>/dev/null || { echo "SKIP: python3 has no h5py (pip install h5py)"; exit 77; }
score=(python3 "$SRC/datasets/train_sentiment_head.py" --labels "$labels" --score)

rm -f held_p.h5 held_p.h5.partial
"$MPCT" run --plaintext --model "$m" --inputs "$held" --output held_p.h5 --task classify --batch 1 --quiet \
    || fail "plaintext run on the held-out set"
out=$("${score[@]}" held_p.h5) || fail "scoring: $out"
echo "$out"
python3 - "$out" <<'PY' || fail "held-out figures"
import re, sys
line = sys.argv[1]
num = lambda k: float(re.search(k + r" ([0-9.]+)", line).group(1))
acc, maj, bal = num("accuracy"), num("majority-class baseline"), num("balanced accuracy")
rn = num("recall negative")
rp = float(re.search(r"recall negative [0-9.]+ positive ([0-9.]+)", line).group(1))
ok = abs(maj - 0.5) < 1e-9 and bal >= 0.70 and rn >= 0.60 and rp >= 0.60
print("majority %.4f (want 0.5), balanced accuracy %.4f (want >= 0.70), recall %.4f / %.4f (want >= 0.60)"
      % (maj, bal, rn, rp))
sys.exit(0 if ok else 1)
PY

printf '%s\n' "A tedious, overlong mess with wooden acting." \
    "A warm, funny and beautifully acted film that I loved from start to finish." > probe.txt
printf '0\n1\n' > probe.labels
rm -f probe.h5 probe_p.h5 probe.h5.partial probe_p.h5.partial
timeout 600 "${MPI[@]}" -n 3 "$MPCT" run --model "$m" --inputs probe.txt --output probe.h5 --task classify \
    --seq-len 32 --batch 2 --quiet || fail "secure run on the probe sentences"
"$MPCT" run --plaintext --model "$m" --inputs probe.txt --output probe_p.h5 --task classify --seq-len 32 --quiet \
    || fail "plaintext run on the probe sentences"
for f in probe.h5 probe_p.h5; do
    python3 - "$f" <<'PY' || fail "$f: probe labels"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    lab, logits = list(f["label"][:]), f["logits"][:]
names = ["negative", "positive"]
for i, (want, text) in enumerate(((0, "tedious, overlong mess"), (1, "warm, funny"))):
    print("%s: '%s...': %s (logits %.3f %.3f), want %s"
          % (sys.argv[1], text, names[lab[i]], logits[i][0], logits[i][1], names[want]))
sys.exit(0 if lab == [0, 1] else 1)
PY
done
echo "PASS: sentiment_minilm"
