#!/usr/bin/env python3
"""Train a logistic-regression sentiment head on plaintext MiniLM embeddings
of the real movie-review snippets, pack it into an mpct model file, and score
classify outputs against the held-out labels.

Owner-side, in the clear (the model owner trains on public data it holds):
  1. label = sign of the mean human rating (ratings of exactly 0 and texts
     that occur more than once are dropped); the snippets file is sorted by
     rating, positive first, so it is split by class: each class is shuffled
     with random.Random(--seed) and gives --heldout/2 held-out rows, then
     --train/2 training rows. Both sets are balanced (50 % per class, so the
     majority-class baseline is 50 %), disjoint, and in shuffled order.
  2. embeddings of the training texts with `mpct run --plaintext` (the float64
     reference, mean pooled and L2-normalised).
  3. logistic regression (2 classes written as 2 logits: w1 = -w0 = w/2),
     L2-regularised, fitted with Newton's method in numpy.
  4. writes the head as safetensors (classifier.weight [2 x h],
     classifier.bias [2], labels "negative,positive") and runs
     `mpct pack MODEL_DIR --head head.safetensors` to make minilm-cls-{bits}.h5.
  5. writes the held-out texts and labels (cache/sentiment/heldout.{txt,labels})
     and scores the packed model on them with `mpct run --plaintext --task
     classify`: accuracy, the majority-class baseline, balanced accuracy,
     per-class recall and macro-F1.

usage: datasets/train_sentiment_head.py build/mpct [--train 2000] [--heldout 200] [--bits 16] [--seed 1]
       datasets/train_sentiment_head.py --score OUT.h5... [--labels FILE]
  --score prints the same figures for outputs of `mpct run --task classify` on
  cache/sentiment/heldout.txt (secure or --plaintext); with two or more files,
  also how many labels each shares with the first.
Training needs numpy and h5py (pip install numpy h5py), --score needs h5py;
CI does not train. The split and the metrics use the standard library only
(tests/datasets/test_sentiment_split.py checks them).
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
cache = os.path.join(here, "cache")
LABELS = ("negative", "positive")


def parse_reviews(lines):
    """(id, label, text) rows of `id <TAB> rating <TAB> text` lines: label 1 when the
    rating is > 0, 0 when < 0; ratings of 0, empty texts and texts that occur more than
    once (a text could otherwise land in both splits) are dropped."""
    rows = []
    for line in lines:
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) < 3:
            continue
        rid, rating, text = int(parts[0]), float(parts[1]), parts[2].replace("\r", " ").strip()
        if rating == 0 or not text:
            continue
        rows.append((rid, 1 if rating > 0 else 0, text))
    count = {}
    for _, _, t in rows:
        count[t] = count.get(t, 0) + 1
    return [r for r in rows if count[r[2]] == 1]


def read_reviews():
    path = os.path.join(cache, "reviews", "movieReviewSnippets_GroundTruth.txt")
    if not os.path.exists(path):
        sys.exit("error: %s missing: run datasets/fetch_reviews.sh first" % path)
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_reviews(f)


def split_balanced(rows, n_train, n_heldout, seed):
    """Stratified split of (id, label, text) rows with labels 0/1, whatever their order.

    Each class is shuffled with random.Random(seed); its first n_heldout/2 rows go to
    the held-out set and its next n_train/2 rows to the training set. Both sets are then
    shuffled with the same generator. Returns (train, heldout); the same rows and seed
    always give the same split. Raises ValueError when a size is odd or not positive, or
    a class has fewer than (n_train + n_heldout)/2 rows."""
    for name, n in (("train", n_train), ("heldout", n_heldout)):
        if n <= 0 or n % 2:
            raise ValueError("--%s %d: expected a positive even number (half of it per class)" % (name, n))
    rng = random.Random(seed)
    train, held = [], []
    for label in (0, 1):
        cls = sorted((r for r in rows if r[1] == label), key=lambda r: r[0])
        need = (n_train + n_heldout) // 2
        if len(cls) < need:
            raise ValueError("class %s has %d rows, fewer than the %d that --train %d --heldout %d take from each class"
                             % (LABELS[label], len(cls), need, n_train, n_heldout))
        rng.shuffle(cls)
        held += cls[: n_heldout // 2]
        train += cls[n_heldout // 2: need]
    rng.shuffle(train)
    rng.shuffle(held)
    return train, held


def metrics(truth, pred):
    """Figures of predicted labels against true labels (both sequences of 0/1):
    accuracy, majority (the accuracy of always answering the most frequent true class),
    recall (per class), balanced_accuracy (mean recall), macro_f1."""
    if len(truth) != len(pred) or not truth:
        raise ValueError("%d labels vs %d predictions" % (len(truth), len(pred)))
    n = len(truth)
    m = {"n": n, "accuracy": sum(t == p for t, p in zip(truth, pred)) / n}
    counts = [sum(1 for t in truth if t == c) for c in (0, 1)]
    m["majority"] = max(counts) / n
    m["majority_class"] = "either class" if counts[0] == counts[1] else LABELS[counts.index(max(counts))]
    recall, f1 = {}, []
    for c in (0, 1):
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        npred = sum(1 for p in pred if p == c)
        rec = tp / counts[c] if counts[c] else 0.0
        prec = tp / npred if npred else 0.0
        recall[LABELS[c]] = rec
        f1.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    present = [c for c in (0, 1) if counts[c]]
    m["recall"] = recall
    m["balanced_accuracy"] = sum(recall[LABELS[c]] for c in present) / len(present)
    m["macro_f1"] = sum(f1[c] for c in present) / len(present)
    return m


def format_metrics(name, m):
    return ("%s: %d rows, accuracy %.4f (majority-class baseline %.4f: always %s), balanced accuracy %.4f, "
            "recall negative %.4f positive %.4f, macro-F1 %.4f"
            % (name, m["n"], m["accuracy"], m["majority"], m["majority_class"], m["balanced_accuracy"],
               m["recall"]["negative"], m["recall"]["positive"], m["macro_f1"]))


def read_labels(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def read_output_labels(path):
    """Predicted labels of an `mpct run --task classify` output (io/OUTPUT.md)."""
    import h5py
    with h5py.File(path, "r") as f:
        if "label" not in f:
            sys.exit("error: %s has no /label dataset: not an output of --task classify" % path)
        names = f.attrs.get("label_names", b"")
        names = (names.decode() if isinstance(names, bytes) else str(names)).split("\n")
        if names != list(LABELS):
            sys.exit("error: %s: label_names %r, expected %r" % (path, names, list(LABELS)))
        if not all(f["done"][:]):
            sys.exit("error: %s: not every row is done (an interrupted run: --resume it)" % path)
        return [int(v) for v in f["label"][:]]


def score(paths, labels_path):
    truth = read_labels(labels_path)
    first = None
    for p in paths:
        pred = read_output_labels(p)
        if len(pred) != len(truth):
            sys.exit("error: %s has %d rows, %s has %d labels" % (p, len(pred), labels_path, len(truth)))
        print(format_metrics(p, metrics(truth, pred)))
        if first is None:
            first = pred
        else:
            same = sum(a == b for a, b in zip(first, pred))
            print("%s: same label as %s on %d of %d rows" % (p, paths[0], same, len(pred)))


def write_safetensors(path, tensors, metadata):
    import numpy as np
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


def train(a):
    import h5py
    import numpy as np

    model_dir = os.path.join(cache, "minilm", "model")
    base = os.path.join(cache, "minilm-%d.h5" % a.bits)
    if not os.path.exists(base):
        sys.exit("error: %s missing: run datasets/fetch_minilm.sh first" % base)
    try:
        tr, held = split_balanced(read_reviews(), a.train, a.heldout, a.seed)
    except ValueError as e:
        sys.exit("error: %s" % e)
    out = os.path.join(cache, "sentiment")
    os.makedirs(out, exist_ok=True)
    for name, part in (("train", tr), ("heldout", held)):
        with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for _, _, t in part)
        with open(os.path.join(out, name + ".labels"), "w") as f:
            f.writelines("%d\n" % y for _, y, _ in part)
    print("split (seed %d): train %d (%d negative, %d positive), held-out %d (%d negative, %d positive)"
          % (a.seed, len(tr), sum(1 for r in tr if r[1] == 0), sum(r[1] for r in tr),
             len(held), sum(1 for r in held if r[1] == 0), sum(r[1] for r in held)))
    emb_path = os.path.join(out, "train-emb.h5")
    for p in (emb_path, emb_path + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run([a.mpct, "run", "--plaintext", "--model", base, "--inputs", os.path.join(out, "train.txt"),
                    "--output", emb_path, "--batch", "1", "--quiet"], check=True)
    with h5py.File(emb_path, "r") as f:
        X = np.array(f["embedding"])
    y = np.array([lab for _, lab, _ in tr], dtype=np.float64)
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
    pred = [int(v) for v in (Xb @ w > 0)]
    print(format_metrics("train (Newton iterations %d)" % (it + 1), metrics([int(v) for v in y], pred)))
    print("bias (logit positive - logit negative at a zero embedding): %+.4f" % w[-1])
    W = np.stack([-w[:-1] / 2, w[:-1] / 2])
    b = np.array([-w[-1] / 2, w[-1] / 2])
    head = os.path.join(out, "head.safetensors")
    write_safetensors(head, {"classifier.weight": W, "classifier.bias": b}, {"labels": ",".join(LABELS)})
    dst = os.path.join(cache, "minilm-cls-%d.h5" % a.bits)
    subprocess.run([a.mpct, "pack", model_dir, "-o", dst, "--bits", str(a.bits), "--head", head], check=True,
                   stdout=subprocess.DEVNULL)
    print("wrote %s (head from %s) and %s/heldout.{txt,labels}" % (dst, head, out))
    held_out = os.path.join(out, "heldout-plain.h5")
    for p in (held_out, held_out + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run([a.mpct, "run", "--plaintext", "--model", dst, "--inputs", os.path.join(out, "heldout.txt"),
                    "--output", held_out, "--task", "classify", "--batch", "1", "--quiet"], check=True)
    print("held-out, float64 reference of the packed model (%s):" % held_out)
    score([held_out], os.path.join(out, "heldout.labels"))


def main():
    ap = argparse.ArgumentParser(
        usage="%(prog)s MPCT [--train 2000] [--heldout 200] [--bits 16] [--seed 1] [--l2 1e-3]\n"
              "       %(prog)s --score OUT.h5... [--labels FILE]",
        description=__doc__.split("\n")[0] + " (see the top of this file).")
    ap.add_argument("mpct", nargs="?")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--bits", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--score", nargs="+", metavar="OUT.h5")
    ap.add_argument("--labels", default=os.path.join(cache, "sentiment", "heldout.labels"))
    a = ap.parse_args()
    if a.score:
        if a.mpct:
            ap.error("--score takes output files only, not MPCT")
        if not os.path.exists(a.labels):
            sys.exit("error: %s missing: run datasets/train_sentiment_head.py build/mpct first" % a.labels)
        score(a.score, a.labels)
    elif a.mpct:
        train(a)
    else:
        ap.error("give the mpct binary (to train) or --score OUT.h5")


if __name__ == "__main__":
    main()
