#!/usr/bin/env python3
"""make_embed_golden.py — golden sentence embeddings from the upstream stack.

Computes all-MiniLM-L6-v2 sentence embeddings with Hugging Face transformers
(PyTorch, CPU, float32) from the same model.safetensors that `mpct pack`
reads, using the sentence-transformers recipe (BertModel -> mean pooling over
the attention mask -> L2 normalisation), for the first N movie-review
snippets of the VADER ground-truth set. Writes, into tests/data/:

  minilm_golden_text.txt  the sentences (one per line, UTF-8, as read)
  minilm_golden_ids.txt   the token ids from the HF tokenizer ([CLS] .. [SEP])
  minilm_golden_emb.txt   the embeddings, 384 values per line, %.9g

CI does not run this script (it needs torch + transformers); the C test
tests/model/test_minilm_golden.c compares `mpct` against its outputs.

usage: python3 datasets/make_embed_golden.py [--model DIR] [--reviews FILE] [-n 64] [--out tests/data]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(HERE, "cache", "minilm", "model"))
    ap.add_argument("--reviews", default=os.path.join(HERE, "cache", "reviews", "movieReviewSnippets_GroundTruth.txt"))
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data"))
    a = ap.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    sents = []
    with open(a.reviews, encoding="utf-8", newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3:
                sys.exit(f"{a.reviews}: line without 3 tab-separated fields: {line[:60]!r}")
            sents.append(parts[2].strip())
            if len(sents) == a.n:
                break
    if len(sents) < a.n:
        sys.exit(f"{a.reviews}: only {len(sents)} sentences, wanted {a.n}")

    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModel.from_pretrained(a.model, dtype=torch.float32).eval()
    torch.manual_seed(0)
    ids_out, emb_out = [], []
    with torch.no_grad():
        for s in sents:  # one at a time: no padding, exactly what `mpct embed` sees
            enc = tok(s, truncation=True, max_length=a.max_len, return_tensors="pt")
            out = model(**enc).last_hidden_state  # [1, t, 384]
            m = enc["attention_mask"].unsqueeze(-1).to(out.dtype)
            e = (out * m).sum(1) / m.sum(1).clamp(min=1e-9)
            e = torch.nn.functional.normalize(e, p=2, dim=1)
            ids_out.append(enc["input_ids"][0].tolist())
            emb_out.append(e[0].tolist())

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "minilm_golden_text.txt"), "w", encoding="utf-8") as f:
        f.writelines(s + "\n" for s in sents)
    with open(os.path.join(a.out, "minilm_golden_ids.txt"), "w") as f:
        f.writelines(" ".join(map(str, ids)) + "\n" for ids in ids_out)
    with open(os.path.join(a.out, "minilm_golden_emb.txt"), "w") as f:
        f.writelines(" ".join("%.9g" % v for v in e) + "\n" for e in emb_out)
    print(f"wrote {len(sents)} sentences to {a.out} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
