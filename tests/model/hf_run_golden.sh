#!/usr/bin/env bash
# hf_run_golden.sh — `mpct run` end to end, from text, on a Hugging Face
# RoBERTa checkpoint against Hugging Face's own numbers: pack
# tests/data/hf/roberta-seqcls (its tokenizer.json, byte-level BPE, goes into
# the model file), then for sequence lengths 16 and 128 feed the texts of the
# golden rows made at that truncation length (golden.txt `text` lines) to a
# secure three-rank `mpct run --task classify`, and check that every row's
# /token_count equals HF's id count, every logit is within 1e-2 of HF's, every
# /label is HF's argmax and every /embedding has cosine >= 0.9999 with HF's.
# Needs only python3's standard library and h5dump (no numpy/h5py/torch).
# usage: hf_run_golden.sh MPIEXEC MPCT SRCDIR WORKDIR
set -u
MPIEXEC=$1 MPCT=$2 SRC=$3 WORK=$4
mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
command -v h5dump >/dev/null || fail "h5dump not found"
golden=$SRC/tests/data/hf/roberta-seqcls/golden.txt
"$MPCT" pack "$SRC/tests/data/hf/roberta-seqcls" --bits 16 -o roberta.h5 >pack.log 2>&1 || fail "pack: $(cat pack.log)"
grep -q "tokenizer.json" pack.log || fail "pack does not report the checkpoint's tokenizer.json: $(cat pack.log)"

# dump DATASET FILE: the dataset's values, one per line
dump() { h5dump -d "$1" -y -w 0 -m %.17g "$2" | sed -n '/DATA {/,/}/p' | tr ', ' '\n\n' | grep -E '^-?[0-9]'; }

for seq in 16 128; do
    # the inputs: the texts of the golden rows made at max_length $seq
    python3 - "$golden" "$seq" > inputs-$seq.txt <<'PY' || fail "cannot read $golden"
import sys
for line in open(sys.argv[1], encoding="ascii"):
    f = line.split()
    if f[0] == "text" and f[1] == sys.argv[2]:
        print(bytes.fromhex(f[2] if len(f) > 2 else "").decode("utf-8"))
PY
    rm -f out-$seq.h5
    timeout 300 "$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp -n 3 "$MPCT" run \
        --model roberta.h5 --inputs inputs-$seq.txt --task classify --seq-len $seq --batch 4 --test-seed 5 \
        --quiet --output out-$seq.h5 2>run-$seq.log || fail "mpct run at $seq tokens: $(cat run-$seq.log)"
    for d in embedding logits label token_count; do dump /$d out-$seq.h5 > $d-$seq.txt; done
    python3 - "$golden" "$seq" <<'PY' || fail "mpct run at $seq tokens differs from Hugging Face"
import math, sys
golden, seq = sys.argv[1], sys.argv[2]
rows, cur = [], None
for line in open(golden, encoding="ascii"):
    f = line.split()
    if f[0] == "text":
        cur = {"seq": f[1]}
    elif f[0] == "ids":
        if cur is not None and cur["seq"] == seq:
            cur["n"] = int(f[1])
            rows.append(cur)
        elif cur is not None:
            cur = None
    elif cur is not None and f[0] in ("emb", "logits") and rows and rows[-1] is cur:
        cur[f[0]] = [float(x) for x in f[1:]]
def read(name, conv=float):
    return [conv(x) for x in open("%s-%s.txt" % (name, seq))]
emb, logits, label, count = read("embedding"), read("logits"), read("label", int), read("token_count", int)
n, h, L = len(rows), len(rows[0]["emb"]), len(rows[0]["logits"])
ok = len(emb) == n * h and len(logits) == n * L and len(label) == n and len(count) == n
if not ok:
    sys.exit("FAIL: %d golden rows at %s tokens, output has %d/%d/%d/%d values" % (n, seq, len(emb), len(logits),
             len(label), len(count)))
worst_cos, worst_l, agree = 1.0, 0.0, 0
for r, g in enumerate(rows):
    e, l = emb[r * h:(r + 1) * h], logits[r * L:(r + 1) * L]
    if count[r] != g["n"]:
        sys.exit("FAIL: row %d at %s tokens: %d tokens, Hugging Face %d" % (r, seq, count[r], g["n"]))
    dot = sum(a * b for a, b in zip(e, g["emb"]))
    worst_cos = min(worst_cos, dot / math.sqrt(sum(a * a for a in e) * sum(b * b for b in g["emb"])))
    worst_l = max(worst_l, max(abs(a - b) for a, b in zip(l, g["logits"])))
    agree += label[r] == max(range(L), key=lambda j: g["logits"][j])
print("mpct run (secure, 3 ranks, text in) vs Hugging Face, roberta-seqcls, %d rows at %s tokens: min cosine %.7f, "
      "max abs logit error %.3e, labels %d/%d" % (n, seq, worst_cos, worst_l, agree, n))
if worst_cos < 0.9999 or worst_l > 1e-2 or agree != n:
    sys.exit("FAIL: outside the bounds (cosine >= 0.9999, logit error <= 1e-2, all labels)")
PY
done
echo "hf_run_golden: ok"
