#!/usr/bin/env bash
# `mpct pack` of decoder checkpoints (GPT-2, LLaMA): the config options and
# tensors it must refuse (exit 1, a message naming the field or tensor, no
# model file), what it reports as not used, what it prints about its choices,
# the decoder attributes of the model file, and the encoder commands
# refusing a decoder model file.
# usage: pack_decoder_refusals.sh MPCT SRC WORK
set -u
MPCT=$1 SRC=$2 WORK=$3
mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
H=$SRC/tests/data/hf
variant() { # variant NAME FROM SED-EXPR: a copy of checkpoint FROM with config.json edited
    rm -rf "$1" && cp -r "$H/$2" "$1" && sed -i "$3" "$1/config.json"
    cmp -s "$1/config.json" "$H/$2/config.json" && fail "variant $1: the edit changed nothing"
    return 0
}
refuse() { # refuse "message" ARGS...
    local msg=$1; shift
    rm -f out.h5
    out=$("$MPCT" pack "$@" -o out.h5 2>&1); rc=$?
    [ $rc -eq 1 ] || { echo "$out"; fail "pack $*: exit $rc, want 1"; }
    grep -qF -- "$msg" <<<"$out" || { echo "$out"; fail "pack $*: message '$msg' missing"; }
    [ ! -e out.h5 ] || fail "pack $*: wrote a model file"
    echo "ok: refused $* -> $msg"
}
variant rs llama-gqa 's/"rope_parameters": {/"rope_scaling": {"rope_type": "llama3", "factor": 8.0}, "rope_parameters": {/'
refuse 'rope_scaling (type "llama3") is not supported' rs
variant rp llama-gqa 's/"rope_type": "default"/"rope_type": "linear"/'
refuse 'rope_parameters.rope_type "linear" is not supported' rp
variant ab llama-gqa 's/"attention_bias": false/"attention_bias": true/'
refuse 'attention_bias = true is not supported' ab
variant act llama-gqa 's/"hidden_act": "silu"/"hidden_act": "gelu"/'
refuse 'hidden_act "gelu" is not supported' act
variant gact gpt2-tied 's/"activation_function": "gelu_new"/"activation_function": "relu"/'
refuse 'activation_function "relu" is not supported' gact
variant inv gpt2-tied 's/"scale_attn_by_inverse_layer_idx": false/"scale_attn_by_inverse_layer_idx": true/'
refuse 'scale_attn_by_inverse_layer_idx = true is not supported' inv
variant seq gpt2-tied 's/GPT2LMHeadModel/GPT2ForSequenceClassification/'
refuse 'architectures "GPT2ForSequenceClassification" is not supported for model_type "gpt2"' seq
variant gqa llama-gqa 's/"num_key_value_heads": 2/"num_key_value_heads": 3/'
refuse 'kv_heads = 3, expected a divisor of heads = 4' gqa
# untied GPT-2 without its own head; tied LLaMA whose stored lm_head differs from the word table
variant untied gpt2-tied 's/"tie_word_embeddings": true/"tie_word_embeddings": false/'
refuse "missing tensor 'lm_head.weight'" untied
variant tied llama-gqa 's/"tie_word_embeddings": false/"tie_word_embeddings": true/'
refuse "tensor 'lm_head.weight' differs from 'model.embed_tokens.weight'" tied
# GPT-2's causal-mask buffers are reported as not used; any other extra tensor is refused
addt() { # addt DIR NAME: appends a float32 tensor [2] called NAME to DIR/model.safetensors (python3 stdlib)
    python3 - "$1/model.safetensors" "$2" <<'PY'
import json, struct, sys
p, name = sys.argv[1], sys.argv[2]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h, data = json.loads(b[8:8 + n]), b[8 + n:]
h[name] = {"dtype": "F32", "shape": [2], "data_offsets": [len(data), len(data) + 8]}
hb = json.dumps(h).encode()
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + data + struct.pack("<2f", 0, 0))
PY
}
rm -rf buf && cp -r "$H/gpt2-tied" buf && addt buf transformer.h.0.attn.bias && addt buf transformer.h.1.attn.masked_bias
out=$("$MPCT" pack buf -o buf.h5 2>&1) || { echo "$out"; fail "pack gpt2 with attn.bias buffers"; }
grep -q "^not used: transformer.h.0.attn.bias (a buffer, not a weight)" <<<"$out" &&
    grep -q "^not used: transformer.h.1.attn.masked_bias (a buffer" <<<"$out" || { echo "$out"; fail "buffers"; }
rm -rf extra && cp -r "$H/gpt2-tied" extra && addt extra transformer.h.0.attn.rotary
refuse "tensor 'transformer.h.0.attn.rotary' is not used by a gpt2 decoder" extra
# what pack says, and what the model file records
out=$("$MPCT" pack "$H/llama-gqa" -o gqa.h5 2>&1) || { echo "$out"; fail "pack llama-gqa"; }
grep -q "^decoder: 4 heads, 2 key/value heads, head_dim 8, rotary positions, LM head its own tensor" <<<"$out" ||
    { echo "$out"; fail "llama-gqa choices"; }
h5dump -a /kv_heads gqa.h5 | grep -q "(0): 2" && h5dump -a /rope_theta gqa.h5 | grep -q "(0): 500000" ||
    fail "model file lacks kv_heads = 2 or rope_theta = 500000"
h5dump -d /weights/lm_head/weight -H gqa.h5 | grep -q "( 300, 32 )" || fail "untied lm_head not packed"
out=$("$MPCT" pack "$H/gpt2-tied" -o gpt2.h5 2>&1) || { echo "$out"; fail "pack gpt2-tied"; }
grep -q "LM head tied to the word embedding" <<<"$out" || { echo "$out"; fail "gpt2 tie not printed"; }
h5dump -A gpt2.h5 | grep -q "lm_head" && fail "a tied head was stored"
"$MPCT" pack --synthetic tiny -o tiny.h5 >/dev/null 2>&1 || fail "pack tiny"
h5dump -A tiny.h5 | grep -q "kv_heads" && fail "an encoder file carries decoder attributes"
# the encoder commands refuse a decoder model file
printf '1 2 3\n' > ids.txt
out=$("$MPCT" embed gpt2.h5 --input ids.txt 2>&1); rc=$?
[ $rc -eq 1 ] && grep -qF "architecture 'gpt2' is a decoder" <<<"$out" || { echo "$out"; fail "embed: exit $rc"; }
printf 'hello\n' > in.txt
out=$("$MPCT" run --plaintext --model gqa.h5 --inputs in.txt --output o.h5 2>&1); rc=$?
[ $rc -eq 1 ] && grep -qF "architecture 'llama' is a decoder" <<<"$out" || { echo "$out"; fail "run --plaintext: exit $rc"; }
[ $(grep -c "error:" <<<"$out") -eq 1 ] || { echo "$out"; fail "run --plaintext: the error printed more than once"; }
cat > cal.json <<'J'
{"benchmark": "model", "shape": "file", "layers": 2, "hidden": 64, "heads": 4, "ffn": 128, "vocab": 512,
 "seq": 16, "batch": 1, "reps": 3, "setup_share_weights_s": 1, "median_batch_s": 1,
 "bytes_sent_per_party_per_batch": [1, 1, 1], "bytes_total_per_batch": 3, "rounds_per_batch": 10}
J
out=$("$MPCT" plan --model gqa.h5 --inputs-count 4 --seq-len 8 --calibration cal.json 2>&1); rc=$?
[ $rc -eq 1 ] && grep -qF "architecture 'llama' is a decoder" <<<"$out" || { echo "$out"; fail "plan: exit $rc"; }
echo "pack_decoder_refusals: all passed"
