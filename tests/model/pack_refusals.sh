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
# sharded checkpoints: the index and the shards must agree
R=roberta-seqcls S1=model-00001-of-00002.safetensors S2=model-00002-of-00002.safetensors
rm -rf shard && cp -r "$H/$R" shard && rm shard/$S2
refuse "shard/model.safetensors.index.json: shard shard/$S2 (weight_map's file for tensor" shard
variant shard $R "s/\"$S2\"/\"model-00003-of-00003.safetensors\"/" model.safetensors.index.json
refuse "shard/model.safetensors.index.json: shard shard/model-00003-of-00003.safetensors (weight_map's file for tensor" shard
variant shard $R '/"roberta.embeddings.LayerNorm.bias"/d' model.safetensors.index.json
refuse "tensor 'roberta.embeddings.LayerNorm.bias' of shard $S2 is in no weight_map entry" shard
variant shard $R "s/\"weight_map\": {/\"weight_map\": {\"roberta.extra\": \"$S1\",/" model.safetensors.index.json
refuse "weight_map maps tensor 'roberta.extra' to $S1, which has no such tensor" shard
variant shard $R 's/"weight_map": {/"weight_map": {"roberta.extra": "..\/x.safetensors",/' model.safetensors.index.json
refuse "weight_map maps tensor 'roberta.extra' to \"../x.safetensors\", not a file of the checkpoint's directory" shard
rm -rf shard && cp -r "$H/$R" shard && cp "$H/roberta-st-mean/model.safetensors" shard/
refuse "both model.safetensors and model.safetensors.index.json are present" shard
# an unused tensor in a third shard
rm -rf shard && cp -r "$H/$R" shard
hdr='{"extra.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
printf "\\x$(printf %02x ${#hdr})\\x00\\x00\\x00\\x00\\x00\\x00\\x00%s\\x00\\x00\\x00\\x00" "$hdr" > shard/extra.safetensors
sed -i 's/"weight_map": {/"weight_map": {"extra.weight": "extra.safetensors",/' shard/model.safetensors.index.json
refuse "tensor 'extra.weight' is not used by a roberta encoder with pooler pooling and a classifier" shard
# other families' options
variant sinus distilbert-st-mean 's/"sinusoidal_pos_embds": false/"sinusoidal_pos_embds": true/'
refuse "sinusoidal_pos_embds = true is not supported" sinus
variant dact distilbert-st-mean 's/"activation": "gelu"/"activation": "relu"/'
refuse 'activation "relu" is not supported' dact
variant rel roberta-st-mean 's/"model_type"/"position_embedding_type": "relative_key", "model_type"/'
refuse 'position_embedding_type "relative_key" is not supported' rel
variant pad roberta-st-mean 's/"pad_token_id": 1/"pad_token_id": 0/'
refuse 'pad_token_id 0 is not supported (expected 1' pad
variant t5 roberta-st-mean 's/"model_type": "roberta"/"model_type": "t5"/'
refuse 'model_type "t5" is not supported (expected "bert", "distilbert", "roberta", "xlm-roberta", "gpt2" or "llama")' t5
variant rtok xlmr-seqcls 's/XLMRobertaForSequenceClassification/XLMRobertaForTokenClassification/'
refuse 'architectures "XLMRobertaForTokenClassification" is not supported' rtok
variant mix roberta-st-mean 's/"RobertaModel"/"BertModel"/'
refuse 'architectures "BertModel" is not supported for model_type "roberta"' mix
# head pruning (config.json pruned_heads): one attention width per model
pruned() { # pruned NAME JSON: bert-pruned with pruned_heads replaced by JSON
    rm -rf "$1" && cp -r "$H/bert-pruned" "$1" && sed -z -i "s/\"pruned_heads\": {[^}]*}/\"pruned_heads\": $2/" "$1/config.json"
}
pruned uneven '{"0": [1], "1": [0, 3]}'
refuse "pruned_heads removes 1 heads from layer 0 but 2 from layer 1; mpct runs one attention width per model" uneven
pruned unlisted '{"0": [1, 2]}'
refuse "pruned_heads removes 2 heads from layer 0 but 0 from layer 1" unlisted
pruned badhead '{"0": [1, 4], "1": [0, 3]}'
refuse 'pruned_heads["0"] has an entry that is not a distinct head index 0..3' badhead
pruned twice '{"0": [1, 1], "1": [0, 3]}'
refuse 'pruned_heads["0"] has an entry that is not a distinct head index 0..3' twice
pruned badlayer '{"0": [1, 2], "1": [0, 3], "2": [0, 1]}'
refuse 'pruned_heads has key "2", expected a layer index 0..1' badlayer
pruned allheads '{"0": [0, 1, 2, 3], "1": [0, 1, 2, 3]}'
refuse "pruned_heads removes all 4 heads of every layer" allheads
pruned shape '{"0": [1], "1": [0]}'
refuse "attention.self.query.weight" shape
# MPC-friendly substitutions (config.json mpct_activation / mpct_attention): known names only
variant subact bert-quad 's/"mpct_activation": "quad"/"mpct_activation": "cubic"/'
refuse 'mpct_activation "cubic" is not supported (expected "gelu", "relu" or "quad")' subact
variant subatt bert-quad 's/"mpct_attention": "2quad"/"mpct_attention": "relu"/'
refuse 'mpct_attention "relu" is not supported (expected "softmax" or "2quad")' subatt
variant subnum bert-quad 's/"mpct_attention": "2quad"/"mpct_attention": 2/'
refuse 'mpct_attention "(not a string)" is not supported' subnum
variant subgelu bert-relu 's/"hidden_act": "relu"/"hidden_act": "gelu"/'
refuse 'mpct_activation "relu" contradicts hidden_act "gelu"' subgelu
variant subrelu bert-quad 's/"hidden_act": "gelu"/"hidden_act": "relu"/'
refuse 'mpct_activation "quad" contradicts hidden_act "relu"' subrelu
variant subdec gpt2-tied 's/"model_type"/"mpct_activation": "quad", "model_type"/'
refuse 'mpct_activation is supported for encoders only' subdec
variant subdis distilbert-st-mean 's/"model_type"/"mpct_attention": "2quad", "model_type"/'
refuse 'mpct_attention is not supported for this model_type' subdis
variant dplain distilbert-seqcls 's/DistilBertForSequenceClassification/DistilBertModel/'
refuse "has tensor 'classifier.weight' but config.json architectures is DistilBertModel" dplain
rm -rf none && cp -r "$H/bert-st-cls" none && rm none/model.safetensors
refuse "none/model.safetensors: cannot open: No such file or directory" none
# what pack says it chose
out=$("$MPCT" pack "$H/bert-seqcls" -o seqcls.h5 2>&1) || { echo "$out"; fail "pack bert-seqcls"; }
grep -q "^pooling: pooler: tanh(W_pool h_\[CLS\] + b_pool)" <<<"$out" || { echo "$out"; fail "pooling not printed"; }
grep -q "^classifier: 3 labels, applied to the pooler output" <<<"$out" || { echo "$out"; fail "head not printed"; }
out=$("$MPCT" pack "$H/bert-st-cls" -o stcls.h5 2>&1) || { echo "$out"; fail "pack bert-st-cls"; }
grep -q "^pooling: cls" <<<"$out" && grep -q "^normalize: yes" <<<"$out" || { echo "$out"; fail "st-cls choice"; }
h5dump -a /pooling seqcls.h5 | grep -q '"pooler"' || fail "model file lacks pooling = pooler"
out=$("$MPCT" pack "$H/roberta-seqcls" -o rob.h5 2>&1) || { echo "$out"; fail "pack roberta-seqcls"; }
grep -q "^weights: 2 shards" <<<"$out" && grep -q "^pooling: pooler: tanh(W_dense h_\[<s>\]" <<<"$out" \
    && grep -q "^tokenizer: .*/roberta-seqcls/tokenizer.json (BPE, 1001 ids" <<<"$out" \
    || { echo "$out"; fail "roberta-seqcls choices"; }
# without its tokenizer.json the checkpoint packs for token ids only, and says so
rm -rf notok && cp -r "$H/roberta-seqcls" notok && rm notok/tokenizer.json
out=$("$MPCT" pack notok -o notok.h5 2>&1) || { echo "$out"; fail "pack roberta-seqcls without tokenizer.json"; }
grep -q "^tokenizer: none" <<<"$out" || { echo "$out"; fail "roberta-seqcls without tokenizer.json"; }
h5dump -a /architecture rob.h5 | grep -q '"roberta"' || fail "model file lacks architecture = roberta"
out=$("$MPCT" pack "$H/roberta-st-mean" -o robm.h5 2>&1) || { echo "$out"; fail "pack roberta-st-mean"; }
grep -q "^not used: pooler.dense.weight (the pooler" <<<"$out" || { echo "$out"; fail "RobertaModel pooler not named"; }
out=$("$MPCT" pack "$H/distilbert-seqcls" -o dis.h5 2>&1) || { echo "$out"; fail "pack distilbert-seqcls"; }
grep -q "^pooling: pooler: ReLU(W_pre h_\[CLS\] + b_pre)" <<<"$out" || { echo "$out"; fail "distilbert head"; }
out=$("$MPCT" pack "$H/bert-quad" -o quad.h5 2>&1) || { echo "$out"; fail "pack bert-quad"; }
grep -q "^substitutions: activation quad, attention 2quad (config.json)" <<<"$out" || { echo "$out"; fail "bert-quad"; }
h5dump -a /activation quad.h5 | grep -q '"quad"' && h5dump -a /attention quad.h5 | grep -q '"2quad"' \
    || fail "model file lacks activation = quad, attention = 2quad"
h5dump -a /activation stcls.h5 >/dev/null 2>&1 && fail "a model without substitutions stores an activation"
echo "pack_refusals: all passed"
