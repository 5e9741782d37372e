#!/bin/sh
# smollm2_generate.sh MPCT SRC WORK MPIRUN... — the decoder issue's acceptance
# check on the real SmolLM2-135M-Instruct (Q4_1 GGUF, packed here at 16 bits,
# pack's default): secure greedy ids (mpct generate) against the float64
# reference's (--plaintext) over every token, --stop none. Prompts:
# tests/data/generate/smollm2_prompts.txt. Passes when >= 95 % of the
# prompts agree on every token; prints the first divergence of any other.
# Default: the first 2 prompts x 8 tokens. MPCT_SMOLLM2_FULL=1: all 20 x 32
# (about 2 s per token on a 2-core machine). Skips (77) without the GGUF
# (datasets/fetch_smollm2.sh).
set -u
mpct=$1 src=$2 work=$3
shift 3
gguf="$src/datasets/cache/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$gguf" ] || { echo "no $gguf (datasets/fetch_smollm2.sh): skipped"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
dir="$work/smollm2_generate"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
if [ "${MPCT_SMOLLM2_FULL:-0}" = 1 ]; then np=20 nt=32; else np=2 nt=8; fi
head -$np "$src/tests/data/generate/smollm2_prompts.txt" > p.txt
"$mpct" pack "$gguf" -o smol.h5 > pack.log 2>&1 || { cat pack.log; fail "pack"; }
"$mpct" generate --plaintext --model smol.h5 --inputs p.txt -o ref.jsonl --max-new-tokens $nt --stop none -q ||
    fail "plaintext run"
t0=$(date +%s)
"$@" "$mpct" generate --model smol.h5 --inputs p.txt -o sec.jsonl --max-new-tokens $nt --stop none || fail "secure run"
echo "secure: $np prompts x $nt tokens in $(( $(date +%s) - t0 )) s"
ids() { sed 's/.*"generated_ids":\[\([0-9,]*\)\].*/\1/' "$1"; }
ids ref.jsonl > ref.txt
ids sec.jsonl > sec.txt
same=0 i=0
while IFS= read -r r <&3 && IFS= read -r s <&4; do
    i=$((i + 1))
    if [ "$r" = "$s" ]; then
        same=$((same + 1))
    else
        k=1
        while [ "$(echo "$r" | cut -d, -f$k)" = "$(echo "$s" | cut -d, -f$k)" ]; do k=$((k + 1)); done
        echo "prompt $i: first divergence at new token $k: reference $(echo "$r" | cut -d, -f$k), secure $(echo "$s" | cut -d, -f$k)"
    fi
done 3< ref.txt 4< sec.txt
echo "identical over all $nt tokens: $same of $np prompts"
[ $((100 * same)) -ge $((95 * np)) ] || fail "fewer than 95 % of the prompts identical"
echo "smollm2 generate: ok"
