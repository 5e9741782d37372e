#!/usr/bin/env python3
"""make_hf_goldens.py — small random-initialised Hugging Face BERT checkpoints
and their outputs from `transformers` itself, as committed goldens.

For each variant below it writes tests/data/hf/NAME/ with the checkpoint as a
user has it (config.json, model.safetensors in float32, vocab.txt,
tokenizer_config.json, and for sentence-transformers layouts modules.json and
1_Pooling/config.json) plus golden.txt: for each input text its token ids
from the Hugging Face tokenizer (truncated to SEQ tokens) and the outputs of
the float64 forward pass (the float32 weights cast to float64):

  bert-seqcls   BertForSequenceClassification, 3 labels: the embedding is
                BertPooler's tanh(W h_[CLS] + b) (pooler_output), the logits
                the classifier applied to it
  bert-st-cls   a sentence-transformers layout with CLS pooling and a
                Normalize module (BGE/GTE-style embedders): the embedding is
                the L2-normalised final hidden state of [CLS]

golden.txt format, one record per text (3 or 4 lines):
  ids <n> <id_0> ... <id_{n-1}>
  emb <h values, %.17g>
  logits <L values>          (only when the model has a classifier)
The texts are in tests/data/hf/texts.txt (one per line).

CI does not run this script (it needs torch + transformers); the C test
tests/secure/test_hf_golden.c compares mpct against its outputs.

usage: python3 datasets/make_hf_goldens.py [--out tests/data/hf]
"""
import argparse
import json
import os

import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEQ = 24
VOCAB_LINES = 3000  # [PAD] .. [MASK], characters, ## pieces, ~1000 common words


def texts():
    rows = open(os.path.join(ROOT, "datasets", "sample-reviews.txt"), encoding="utf-8").read().splitlines()[:6]
    return rows + ["", "Simply great fun!", "A tedious, overlong mess with wooden acting."]


def config(num_labels=None):
    kw = dict(vocab_size=VOCAB_LINES, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, initializer_range=0.1,
              hidden_act="gelu", layer_norm_eps=1e-12)
    if num_labels:
        kw.update(num_labels=num_labels, id2label={0: "negative", 1: "neutral", 2: "positive"},
                  label2id={"negative": 0, "neutral": 1, "positive": 2})
    return BertConfig(**kw)


def randomise_biases(model, gen):
    # default init sets biases and LayerNorm to 0/1; make them non-trivial
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(0.05 * torch.randn(p.shape, generator=gen))


def save_common(d, model, vocab):
    os.makedirs(d, exist_ok=True)
    model.float().save_pretrained(d, safe_serialization=True)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in vocab))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)
    return BertTokenizer(os.path.join(d, "vocab.txt"), do_lower_case=True)


def fmt(v):
    return " ".join("%.17g" % x for x in v)


def write_golden(d, tok, fwd):
    with open(os.path.join(d, "golden.txt"), "w") as f:
        for t in texts():
            ids = tok(t, truncation=True, max_length=SEQ)["input_ids"]
            x = torch.tensor([ids])
            with torch.no_grad():
                emb, logits = fwd(x)
            f.write("ids %d %s\n" % (len(ids), " ".join(map(str, ids))))
            f.write("emb %s\n" % fmt(emb[0].tolist()))
            if logits is not None:
                f.write("logits %s\n" % fmt(logits[0].tolist()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "hf"))
    a = ap.parse_args()
    vocab = open(os.path.join(ROOT, "tests", "data", "vocab.txt"), encoding="utf-8").read().splitlines()[:VOCAB_LINES]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "texts.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in texts()))

    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    d = os.path.join(a.out, "bert-seqcls")
    m = BertForSequenceClassification(config(3)).eval()
    randomise_biases(m, gen)
    tok = save_common(d, m, vocab)
    m = BertForSequenceClassification.from_pretrained(d).double().eval()

    def seqcls(x):
        out = m.bert(input_ids=x, attention_mask=torch.ones_like(x))
        return out.pooler_output, m.classifier(out.pooler_output)
    write_golden(d, tok, seqcls)

    torch.manual_seed(2)
    d = os.path.join(a.out, "bert-st-cls")
    e = BertModel(config(), add_pooling_layer=False).eval()
    randomise_biases(e, gen)
    tok = save_common(d, e, vocab)
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=2)
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    e = BertModel.from_pretrained(d, add_pooling_layer=False).double().eval()

    def stcls(x):
        h = e(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[:, 0]
        return torch.nn.functional.normalize(h, p=2, dim=1), None
    write_golden(d, tok, stcls)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
