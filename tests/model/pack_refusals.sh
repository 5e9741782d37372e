#!/usr/bin/env bash
# `mpct pack` on Hugging Face checkpoints it must not pack as they are:
# every case exits 1 (2 for conflicting options) with a message naming the field (or tensor) and
# writes no model file. Also: what pack prints about its choices.
# usage: pack_refusals.sh MPCT SRC WORK
set -u
MPCT=$1 SRC=$2 WORK=$3
mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
H=$SRC/tests/data/hf
variant() { # variant NAME FROM SED-EXPR [FILE]: a copy of checkpoint FROM with FILE (config.json) edited
    rm -rf "$1" && cp -r "$H/$2" "$1" && sed -i "$3" "$1/${4:-config.json}"
}
refuse() { # refuse "message" ARGS...
    local msg=$1; shift
    rm -f out.h5
    out=$("$MPCT" pack "$@" -o out.h5 2>&1); rc=$?
    [ $rc -eq "${RC:-1}" ] || { echo "$out"; fail "pack $*: exit $rc, want ${RC:-1}"; }
    grep -qF -- "$msg" <<<"$out" || { echo "$out"; fail "pack $*: message '$msg' missing"; }
    [ ! -e out.h5 ] || fail "pack $*: wrote a model file"
    echo "ok: refused $* -> $msg"
}
variant tokcls bert-seqcls 's/BertForSequenceClassification/BertForTokenClassification/'
refuse 'architectures "BertForTokenClassification" is not supported' tokcls
variant plain bert-seqcls 's/BertForSequenceClassification/BertModel/'
refuse "has tensor 'classifier.weight' but config.json architectures is BertModel" plain
RC=2 refuse "the checkpoint $H/bert-seqcls/model.safetensors is a BertForSequenceClassification with its own classifier" \
    "$H/bert-seqcls" --head "$H/bert-seqcls/model.safetensors"
variant regr bert-seqcls 's/"model_type"/"problem_type": "regression", "model_type"/'
refuse 'problem_type "regression" is not supported' regr
variant maxpool bert-st-cls 's/"pooling_mode_max_tokens": false/"pooling_mode_max_tokens": true/' 1_Pooling/config.json
refuse "pooling_mode_max_tokens is true" maxpool
variant both bert-st-cls 's/"pooling_mode_mean_tokens": false/"pooling_mode_mean_tokens": true/' 1_Pooling/config.json
refuse "several pooling modes are true" both
variant dense bert-st-cls 's/sentence_transformers.models.Normalize/sentence_transformers.models.Dense/' modules.json
refuse 'module type "sentence_transformers.models.Dense" is not supported' dense
variant act bert-st-cls 's/"hidden_act": "gelu"/"hidden_act": "gelu_new"/'
refuse 'hidden_act "gelu_new" is not supported' act
# weights in another layout: what to do instead of "cannot open"
rm -rf pt && cp -r "$H/bert-st-cls" pt && mv pt/model.safetensors pt/pytorch_model.bin
refuse "pt/pytorch_model.bin: PyTorch pickle weights: mpct pack reads safetensors only" pt
grep -qF "safe" <<<"$out" && grep -qF "torch.load('pt/pytorch_model.bin', weights_only=True)" <<<"$out" \
    || { echo "$out"; fail "no conversion command for pytorch_model.bin"; }
rm -rf shard && cp -r "$H/bert-st-cls" shard && mv shard/model.safetensors shard/model-00001-of-00001.safetensors
echo '{"weight_map": {}}' > shard/model.safetensors.index.json
refuse "shard/model.safetensors.index.json: a sharded checkpoint: mpct pack reads one model.safetensors" shard
rm -rf none && cp -r "$H/bert-st-cls" none && rm none/model.safetensors
refuse "none/model.safetensors: cannot open: No such file or directory" none
# what pack says it chose
out=$("$MPCT" pack "$H/bert-seqcls" -o seqcls.h5 2>&1) || { echo "$out"; fail "pack bert-seqcls"; }
grep -q "^pooling: pooler: tanh(W_pool h_\[CLS\] + b_pool)" <<<"$out" || { echo "$out"; fail "pooling not printed"; }
grep -q "^classifier: 3 labels, applied to the pooler output" <<<"$out" || { echo "$out"; fail "head not printed"; }
out=$("$MPCT" pack "$H/bert-st-cls" -o stcls.h5 2>&1) || { echo "$out"; fail "pack bert-st-cls"; }
grep -q "^pooling: cls" <<<"$out" && grep -q "^normalize: yes" <<<"$out" || { echo "$out"; fail "st-cls choice"; }
h5dump -a /pooling seqcls.h5 | grep -q '"pooler"' || fail "model file lacks pooling = pooler"
echo "pack_refusals: all passed"
