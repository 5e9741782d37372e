#!/usr/bin/env python3
"""Train a logistic-regression sentiment head on plaintext MiniLM embeddings
of the real movie-review snippets, and pack it into an mpct model file.

Owner-side, in the clear (the model owner trains on public data it holds):
  1. split the snippets (datasets/fetch_reviews.sh) by id: id % 5 == 0 is the
     held-out split, the rest is training; label = sign of the mean rating
     (ratings of exactly 0 are dropped); the first --train N training rows
     are used.
  2. embeddings of the training texts with `mpct run --plaintext` (the float64
     reference, mean pooled and L2-normalised).
  3. logistic regression (2 classes written as 2 logits: w1 = -w0 = w/2),
     L2-regularised, fitted with Newton's method in numpy.
  4. writes the head as safetensors (classifier.weight [2 x h],
     classifier.bias [2], labels "negative,positive") and runs
     `mpct pack MODEL_DIR --head head.safetensors` to make minilm-cls-{bits}.h5.
Also writes the held-out texts and labels for the secure evaluation.

usage: datasets/train_sentiment_head.py build/mpct [--train 2000] [--heldout 200] [--bits 16]
Needs numpy and h5py (pip install numpy h5py); CI does not run it.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
cache = os.path.join(here, "cache")


def read_reviews():
    path = os.path.join(cache, "reviews", "movieReviewSnippets_GroundTruth.txt")
    if not os.path.exists(path):
        sys.exit("run datasets/fetch_reviews.sh first (%s missing)" % path)
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 3:
                continue
            rid, rating, text = int(parts[0]), float(parts[1]), parts[2].replace("\r", " ")
            if rating == 0 or not text.strip():
                continue
            rows.append((rid, 1 if rating > 0 else 0, text))
    return rows


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mpct")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--bits", type=int, default=16)
    ap.add_argument("--l2", type=float, default=1e-3)
    a = ap.parse_args()
    import h5py

    model_dir = os.path.join(cache, "minilm", "model")
    base = os.path.join(cache, "minilm-%d.h5" % a.bits)
    if not os.path.exists(base):
        sys.exit("run datasets/fetch_minilm.sh first (%s missing)" % base)
    rows = read_reviews()
    train = [r for r in rows if r[0] % 5 != 0][: a.train]
    held = [r for r in rows if r[0] % 5 == 0][: a.heldout]
    out = os.path.join(cache, "sentiment")
    os.makedirs(out, exist_ok=True)
    for name, part in (("train", train), ("heldout", held)):
        with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for _, _, t in part)
        with open(os.path.join(out, name + ".labels"), "w") as f:
            f.writelines("%d\n" % y for _, y, _ in part)
    emb_path = os.path.join(out, "train-emb.h5")
    subprocess.run([a.mpct, "run", "--plaintext", "--model", base, "--inputs", os.path.join(out, "train.txt"),
                    "--output", emb_path, "--batch", "16", "--quiet"], check=True)
    with h5py.File(emb_path, "r") as f:
        X = np.array(f["embedding"])
    y = np.array([lab for _, lab, _ in train], dtype=np.float64)
    n, h = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    w = np.zeros(h + 1)
    for it in range(50):  # Newton's method on the L2-regularised logistic loss
        p = 1 / (1 + np.exp(-Xb @ w))
        g = Xb.T @ (p - y) / n + a.l2 * np.r_[w[:-1], 0]
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb / n + a.l2 * np.diag(np.r_[np.ones(h), 0])
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    acc = ((Xb @ w > 0) == (y > 0.5)).mean()
    print("train: %d rows, accuracy %.4f (Newton iterations %d)" % (n, acc, it + 1))
    W = np.stack([-w[:-1] / 2, w[:-1] / 2])
    b = np.array([-w[-1] / 2, w[-1] / 2])
    head = os.path.join(out, "head.safetensors")
    write_safetensors(head, {"classifier.weight": W, "classifier.bias": b}, {"labels": "negative,positive"})
    dst = os.path.join(cache, "minilm-cls-%d.h5" % a.bits)
    subprocess.run([a.mpct, "pack", model_dir, "-o", dst, "--bits", str(a.bits), "--head", head], check=True,
                   stdout=subprocess.DEVNULL)
    print("wrote %s (head from %s) and %s/heldout.{txt,labels}" % (dst, head, out))


if __name__ == "__main__":
    main()
