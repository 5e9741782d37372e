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

and the other families (hidden 32, 2 layers; weights as users have them):

  distilbert-seqcls   DistilBertForSequenceClassification, 3 labels: the
                      embedding is ReLU(pre_classifier(h_[CLS])), the logits
                      the classifier on it (float32); vocab.txt plus the
                      tokenizer.json `tokenizers` makes of it (as
                      distilbert-base-uncased ships both)
  distilbert-st-mean  DistilBertModel, sentence-transformers mean pooling
                      (weights stored BF16; vocab.txt only)
  roberta-seqcls      RobertaForSequenceClassification, 2 labels: the
                      embedding is tanh(classifier.dense(h_[<s>])), the
                      logits classifier.out_proj on it (float32, sharded:
                      model-0000x-of-0000y.safetensors + index)
  roberta-st-mean     RobertaModel, mean pooling + Normalize (weights F16)
  xlmr-seqcls         XLMRobertaForSequenceClassification, 3 labels,
                      max_position_embeddings 514 (rows up to 512 tokens)
  bert-pruned         BertModel pruned by python/mpct/optimize/prune.py
                      (the layout `python3 -m mpct.optimize` writes): 2 of
                      4 heads removed in each layer (other heads in each;
                      config.json "pruned_heads"), 48 of 64 FFN neurons
                      kept; sentence-transformers mean pooling + Normalize
                      (all-MiniLM-L6-v2's layout)
  bert-quad           BertModel with mpct.optimize's substitutions (its
                      python/mpct/optimize/subst.py): Quad GeLU
                      (config.json "mpct_activation": "quad") and 2Quad
                      attention ("mpct_attention": "2quad"); mean pooling
                      + Normalize; two extra random rows of 60 and 40 tokens
  bert-relu           the same with ReLU ("hidden_act" and
                      "mpct_activation": "relu"), golden from plain
                      transformers

The RoBERTa checkpoints carry a tiny byte-level BPE tokenizer.json as
roberta-base has it (ByteLevel pre-tokenizer, RobertaProcessing <s> X </s>,
<mask> with lstrip), the XLM-R one a tiny SentencePiece Unigram converted
as xlm-roberta-base's is (Precompiled + Strip + Replace normalizers,
Metaspace, <s> X </s>); both trained by datasets/make_tok_goldens.py's
trainers, and the model's vocab_size is the tokenizer's.

golden.txt format, one record per row (3 to 5 lines):
  text <max_length> <UTF-8 text in hex>   (rows made from a text, see below)
  ids <n> <id_0> ... <id_{n-1}>
  emb <h values, %.17g>
  logits <L values>          (only when the model has a classifier)
A `text` line gives the text and the truncation length the row's ids were
made with by Hugging Face's fast tokenizer loaded from the checkpoint's own
tokenizer.json (AutoTokenizer, truncation=True, max_length). Such rows are
every text of tests/data/hf/texts.txt at 16 tokens, the texts longer than
16 tokens at 128, and all texts joined (repeated) at 128 (and 512 for
XLM-R). Checkpoints without tokenizer.json (BERT, distilbert-st-mean) have
no `text` lines: their rows begin with one row per text of texts.txt,
tokenised by BertTokenizer and truncated to the optional first line
`tokseq <N>` (24 without it). Rows without a text line are random token
ids framed by [CLS] .. [SEP] (101 .. 102), of 100..128 tokens.

CI does not run this script (it needs torch + transformers); the C test
tests/secure/test_hf_golden.c compares mpct against its outputs.

usage: python3 datasets/make_hf_goldens.py [--out tests/data/hf] [--only NAME[,NAME..]]
  --only: build every checkpoint (the random streams are shared, so this keeps
  each one as a full run makes it) but write only the named directories.
  Tokenizer training is not bit-reproducible: rewriting a RoBERTa or XLM-R
  directory gives another, equally valid, tokenizer and golden.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
from transformers import (BertConfig, BertForSequenceClassification, BertModel, BertTokenizer, DistilBertConfig,
                          DistilBertForSequenceClassification, DistilBertModel, RobertaConfig,
                          RobertaForSequenceClassification, RobertaModel, XLMRobertaConfig,
                          AutoTokenizer, PreTrainedTokenizerFast, XLMRobertaForSequenceClassification)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tok_goldens  # noqa: E402  (its trainers: the families' real tokenizer layouts)

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


def save_common(d, model, vocab, dtype=torch.float32):
    os.makedirs(d, exist_ok=True)
    model.to(dtype).save_pretrained(d, safe_serialization=True)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in vocab))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)
    return BertTokenizer(os.path.join(d, "vocab.txt"), do_lower_case=True)


def fmt(v):
    return " ".join("%.17g" % x for x in v)


def write_rows(f, rows, fwd, texts=None):
    for k, ids in enumerate(rows):
        x = torch.tensor([ids])
        with torch.no_grad():
            emb, logits = fwd(x)
        if texts:
            f.write("text %d %s\n" % (texts[k][1], texts[k][0].encode("utf-8").hex()))
        f.write("ids %d %s\n" % (len(ids), " ".join(map(str, ids))))
        f.write("emb %s\n" % fmt(emb[0].tolist()))
        if logits is not None:
            f.write("logits %s\n" % fmt(logits[0].tolist()))


def write_golden(d, tok, fwd, seq=SEQ, extra=()):
    with open(os.path.join(d, "golden.txt"), "w") as f:
        if seq != SEQ:
            f.write("tokseq %d\n" % seq)
        write_rows(f, [tok(t, truncation=True, max_length=seq)["input_ids"] for t in texts()] if tok else [], fwd)
        write_rows(f, extra, fwd)


def save_tokenizer_json(d, t, max_len):
    """The checkpoint's tokenizer as users have it (tokenizer.json,
    tokenizer_config.json), reloaded from d by
    AutoTokenizer: the tokenizer that makes the golden ids."""
    names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
             "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"}
    if t.token_to_id("[CLS]") is not None:
        names = {"unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]", "cls_token": "[CLS]",
                 "sep_token": "[SEP]"}
    PreTrainedTokenizerFast(tokenizer_object=t, model_max_length=max_len, **names).save_pretrained(d)
    tok = AutoTokenizer.from_pretrained(d)
    # registering the special tokens may list more added tokens, never new ids
    assert tok.is_fast and len(tok) == t.get_vocab_size(), d
    return tok


def text_rows(tok, lengths):
    """(text, max_length) pairs: every text at lengths[0]; the longer ones and
    all texts joined (repeated to fill the longest) at each further length."""
    out = [(t, lengths[0]) for t in texts()]
    joined = " ".join(texts() * 4)
    for n in lengths[1:]:
        out += [(t, n) for t in texts() if len(tok(t)["input_ids"]) > lengths[0] and n == lengths[1]]
        out.append((joined, n))
    return out


def write_text_golden(d, tok, fwd, lengths, extra=()):
    pairs = text_rows(tok, lengths)
    with open(os.path.join(d, "golden.txt"), "w") as f:
        write_rows(f, [tok(t, truncation=True, max_length=n)["input_ids"] for t, n in pairs], fwd, pairs)
        write_rows(f, extra, fwd)


def random_rows(gen, vocab, bos, eos, lengths, avoid):
    """Token ids framed by bos .. eos, drawn from [3, vocab) without `avoid` ids."""
    rows = []
    for n in lengths:
        mid = torch.randint(3, vocab, (n - 2,), generator=gen).tolist()
        rows.append([bos] + [i if i not in avoid else 3 for i in mid] + [eos])
    return rows


def st_layout(d, hidden, mode, normalize):
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump(mods, f, indent=2)
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": hidden, "pooling_mode_cls_token": mode == "cls",
                   "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)


def mean_pool(h, normalize):
    e = h.mean(dim=1)
    return torch.nn.functional.normalize(e, p=2, dim=1) if normalize else e


LABELS3 = dict(id2label={0: "negative", 1: "neutral", 2: "positive"}, label2id={"negative": 0, "neutral": 1, "positive": 2})
SHORT, LONG = [16, 9, 16, 3], [128, 100]


def distilbert_goldens(out, vocab, gen):
    kw = dict(vocab_size=VOCAB_LINES, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=128,
              initializer_range=0.1, activation="gelu", sinusoidal_pos_embds=False)
    extra = random_rows(gen, VOCAB_LINES, 101, 102, LONG, {0, 101, 102})
    torch.manual_seed(3)
    d = os.path.join(out, "distilbert-seqcls")
    m = DistilBertForSequenceClassification(DistilBertConfig(num_labels=3, **LABELS3, **kw)).eval()
    randomise_biases(m, gen)
    save_common(d, m, vocab)
    from tokenizers import BertWordPieceTokenizer
    tok = save_tokenizer_json(d, BertWordPieceTokenizer(os.path.join(d, "vocab.txt"), lowercase=True)._tokenizer,
                              128)
    m = DistilBertForSequenceClassification.from_pretrained(d).double().eval()

    def seqcls(x):
        h = m.distilbert(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[:, 0]
        e = torch.relu(m.pre_classifier(h))
        return e, m.classifier(e)
    write_text_golden(d, tok, seqcls, [16, 128], extra)

    torch.manual_seed(4)
    d = os.path.join(out, "distilbert-st-mean")
    e = DistilBertModel(DistilBertConfig(**kw)).eval()
    randomise_biases(e, gen)
    tok = save_common(d, e, vocab, torch.bfloat16)
    st_layout(d, 32, "mean", False)
    e = DistilBertModel.from_pretrained(d, dtype=torch.float64).eval()
    write_golden(d, tok, lambda x: (mean_pool(e(input_ids=x).last_hidden_state, False), None), 16, extra)


def roberta_goldens(out, gen):
    bpe = make_tok_goldens.bytelevel_bpe(False, 1000, True)
    V = bpe.get_vocab_size()
    kw = dict(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=130, type_vocab_size=1, initializer_range=0.1, hidden_act="gelu",
              layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)

    def cls_head(m, base):
        def fwd(x):
            h = base(input_ids=x).last_hidden_state[:, 0]
            e = torch.tanh(m.classifier.dense(h))
            return e, m.classifier.out_proj(e)
        return fwd

    torch.manual_seed(5)
    d = os.path.join(out, "roberta-seqcls")
    m = RobertaForSequenceClassification(RobertaConfig(num_labels=2, **kw)).eval()
    randomise_biases(m, gen)
    os.makedirs(d, exist_ok=True)
    m.float().save_pretrained(d, safe_serialization=True, max_shard_size="100KB")
    tok = save_tokenizer_json(d, bpe, 128)
    m = RobertaForSequenceClassification.from_pretrained(d).double().eval()
    write_text_golden(d, tok, cls_head(m, m.roberta), [16, 128])

    torch.manual_seed(6)
    d = os.path.join(out, "roberta-st-mean")
    e = RobertaModel(RobertaConfig(**kw), add_pooling_layer=True).eval()
    randomise_biases(e, gen)
    os.makedirs(d, exist_ok=True)
    e.half().save_pretrained(d, safe_serialization=True)
    st_layout(d, 32, "mean", True)
    tok = save_tokenizer_json(d, bpe, 128)
    e = RobertaModel.from_pretrained(d, dtype=torch.float64).eval()
    write_text_golden(d, tok, lambda x: (mean_pool(e(input_ids=x).last_hidden_state, True), None), [16, 128])

    torch.manual_seed(7)
    d = os.path.join(out, "xlmr-seqcls")
    spm = make_tok_goldens.xlmr_spm(1000)
    kw.update(max_position_embeddings=514, vocab_size=spm.get_vocab_size())
    m = XLMRobertaForSequenceClassification(XLMRobertaConfig(num_labels=3, **LABELS3, **kw)).eval()
    randomise_biases(m, gen)
    os.makedirs(d, exist_ok=True)
    m.float().save_pretrained(d, safe_serialization=True)
    tok = save_tokenizer_json(d, spm, 512)
    m = XLMRobertaForSequenceClassification.from_pretrained(d).double().eval()
    write_text_golden(d, tok, cls_head(m, m.roberta), [16, 128, 512])


def pruned_golden(out, vocab):
    """bert-pruned: heads and FFN neurons removed by mpct.optimize's surgery;
    Hugging Face's BertModel forward computes the golden (transformers 5
    has no pruned-head loading, so prune.load_pruned rebuilds the model)."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from mpct.optimize import prune
    torch.manual_seed(31)
    gen = torch.Generator().manual_seed(31)
    d = os.path.join(out, "bert-pruned")
    e = BertModel(config(), add_pooling_layer=False).eval()
    randomise_biases(e, gen)
    tok = save_common(d, e, vocab)
    st_layout(d, 32, "mean", True)
    removed = {0: [1, 2], 1: [0, 3]}
    prune.prune_heads(e, removed)
    prune.prune_ffn(e, [torch.randperm(64, generator=gen)[:48].tolist() for _ in e.encoder.layer])
    prune.save_pruned(e, removed, d, d)
    e = prune.load_pruned(d, torch.float64)
    assert e.encoder.layer[0].attention.self.query.weight.shape == (16, 32), "heads were not pruned"

    def stmean(x):
        return mean_pool(e(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state, True), None
    write_golden(d, tok, stmean)


def subst_goldens(out, vocab):
    """bert-quad: Quad GeLU + 2Quad attention, bert-relu: ReLU (Hugging
    Face's own "relu"), both as python/mpct/optimize/subst.py patches a
    student and records it in config.json; mean pooling + Normalize. The
    golden of bert-quad comes from the patched PyTorch modules
    (prune.load_pruned applies the config keys), bert-relu's from plain
    transformers."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from mpct.optimize import prune, subst
    for name, seed, act, att in (("bert-quad", 41, "quad", "2quad"), ("bert-relu", 42, "relu", None)):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        d = os.path.join(out, name)
        e = BertModel(config(), add_pooling_layer=False).eval()
        randomise_biases(e, gen)
        tok = save_common(d, e, vocab)
        st_layout(d, 32, "mean", True)
        subst.apply(e, act, att)
        prune.save_pruned(e, {}, d, d)
        e = prune.load_pruned(d, torch.float64) if att else BertModel.from_pretrained(d, dtype=torch.float64).eval()

        def stmean(x, e=e):
            return mean_pool(e(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state, True), None
        write_golden(d, tok, stmean, extra=random_rows(gen, VOCAB_LINES, 101, 102, [60, 40], {0, 101, 102}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "hf"))
    ap.add_argument("--only", default=None, help="comma-separated directory names to write (default: all)")
    a = ap.parse_args()
    only = a.only.split(",") if a.only else None
    final = a.out
    if only:
        a.out = tempfile.mkdtemp()
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

    gen = torch.Generator().manual_seed(21)
    distilbert_goldens(a.out, vocab, gen)
    roberta_goldens(a.out, gen)
    pruned_golden(a.out, vocab)
    subst_goldens(a.out, vocab)
    for name in only or []:
        src, dst = os.path.join(a.out, name), os.path.join(final, name)
        if not os.path.isdir(src):
            sys.exit("make_hf_goldens.py: --only: no checkpoint named %s" % name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
    if only:
        shutil.rmtree(a.out)
    print("wrote", final if not only else ", ".join(os.path.join(final, n) for n in only))


if __name__ == "__main__":
    main()
