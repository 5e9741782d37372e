#!/usr/bin/env python3
"""The split and the figures of datasets/train_sentiment_head.py (standard library only).

The movie-review snippets file is sorted by rating, positive first; a split that takes
the first rows of it trains and scores on one class. Checks, on a synthetic file of the
same layout and order: both sets balanced, disjoint, shuffled, deterministic with the
seed; bad sizes refused; and the figures (accuracy, majority baseline, balanced
accuracy, per-class recall, macro-F1) on known confusion matrices.
usage: test_sentiment_split.py SOURCE_DIR
"""
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(src, "datasets"))
import train_sentiment_head as tsh  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: %s" % what)


def close(a, b):
    return abs(a - b) < 1e-12


# A file like movieReviewSnippets_GroundTruth.txt: id, mean rating, text; CRLF; sorted by
# rating, positive first (1300 positive, 20 zero, 1200 negative), one text twice.
lines = []
for i in range(1300):
    lines.append("%d\t%.3f\tgood film number %d\r\n" % (i + 1, 3.5 - i * 0.002, i))
for i in range(20):
    lines.append("%d\t0\tneutral %d\r\n" % (2000 + i, i))
for i in range(1200):
    lines.append("%d\t%.3f\tbad film number %d\r\n" % (3000 + i, -0.01 - i * 0.002, i))
lines.append("9000\t1.5\tgood film number 7\r\n")  # a duplicate text (positive 7): both dropped
lines.append("9001\t2.0\r\n")  # no text: skipped
rows = tsh.parse_reviews(lines)
check(len(rows) == 2499, "parse_reviews: %d rows, expected 2499 (no zero ratings, no duplicate text)" % len(rows))
check(all(r[1] in (0, 1) for r in rows), "labels are 0/1")
check(sum(r[1] for r in rows) == 1299, "1299 positive rows")
check(not any(t == "good film number 7" for _, _, t in rows), "a text that occurs twice is dropped")

train, held = tsh.split_balanced(rows, 2000, 200, seed=1)
for name, part, n in (("train", train, 2000), ("held-out", held, 200)):
    pos = sum(r[1] for r in part)
    check(len(part) == n, "%s has %d rows, expected %d" % (name, len(part), n))
    check(pos == n // 2, "%s has %d positive of %d, expected half" % (name, pos, len(part)))
    # shuffled: the classes are interleaved, not one block after the other
    first_half = part[: n // 2]
    check(0 < sum(r[1] for r in first_half) < n // 2, "%s is in shuffled order" % name)
    check(len({r[0] for r in part}) == n, "%s has no repeated row" % name)
check(not ({r[0] for r in train} & {r[0] for r in held}), "train and held-out share no id")
check(not ({r[2] for r in train} & {r[2] for r in held}), "train and held-out share no text")
# the held-out set is drawn from the whole range of each class, not its first rows
held_pos_ids = sorted(r[0] for r in held if r[1] == 1)
check(held_pos_ids[-1] > 650, "held-out positives come from the whole class (largest id %d)" % held_pos_ids[-1])

train2, held2 = tsh.split_balanced(list(reversed(rows)), 2000, 200, seed=1)
check(train2 == train and held2 == held, "the split depends on the seed only, not on the row order")
train3, held3 = tsh.split_balanced(rows, 2000, 200, seed=2)
check(held3 != held, "another seed gives another split")

for args, msg in (((2001, 200), "--train 2001: expected a positive even number"),
                  ((2000, 0), "--heldout 0: expected a positive even number"),
                  ((2400, 200), "class negative has 1200 rows, fewer than the 1300")):
    try:
        tsh.split_balanced(rows, args[0], args[1], seed=1)
        check(False, "split_balanced%r: no error" % (args,))
    except ValueError as e:
        check(msg in str(e), "split_balanced%r: message %r lacks %r" % (args, str(e), msg))

# Figures. Always "positive" on a balanced set: 50 % whatever the measure.
m = tsh.metrics([0] * 100 + [1] * 100, [1] * 200)
check(close(m["accuracy"], 0.5) and close(m["majority"], 0.5) and close(m["balanced_accuracy"], 0.5),
      "always positive, balanced truth: accuracy/majority/balanced 0.5 (%r)" % m)
check(close(m["recall"]["negative"], 0.0) and close(m["recall"]["positive"], 1.0), "recall 0 / 1")
check(m["majority_class"] == "either class", "equal classes: no majority class (%r)" % m["majority_class"])
check(close(m["macro_f1"], (0 + 2 / 3) / 2), "macro-F1 of always positive: %r" % m["macro_f1"])
# The same answer on a 97 % positive set: accuracy equals the majority baseline.
m = tsh.metrics([0] * 6 + [1] * 194, [1] * 200)
check(close(m["accuracy"], 0.97) and close(m["majority"], 0.97) and m["majority_class"] == "positive",
      "always positive, 97 %% positive truth: accuracy = majority = 0.97 (%r)" % m)
check(close(m["balanced_accuracy"], 0.5), "... balanced accuracy 0.5")
# A known confusion matrix: negatives 80 right / 20 wrong, positives 90 right / 10 wrong.
m = tsh.metrics([0] * 100 + [1] * 100, [0] * 80 + [1] * 20 + [1] * 90 + [0] * 10)
check(close(m["accuracy"], 0.85) and close(m["balanced_accuracy"], 0.85), "accuracy 0.85 (%r)" % m)
check(close(m["recall"]["negative"], 0.8) and close(m["recall"]["positive"], 0.9), "recall 0.8 / 0.9")
f1n = 2 * (80 / 90) * 0.8 / (80 / 90 + 0.8)
f1p = 2 * (90 / 110) * 0.9 / (90 / 110 + 0.9)
check(close(m["macro_f1"], (f1n + f1p) / 2), "macro-F1 %r, expected %r" % (m["macro_f1"], (f1n + f1p) / 2))
line = tsh.format_metrics("x", m)
for part in ("accuracy 0.8500", "majority-class baseline 0.5000: always either class", "balanced accuracy 0.8500",
             "recall negative 0.8000 positive 0.9000", "macro-F1"):
    check(part in line, "format_metrics prints %r: %s" % (part, line))

print("%s: %d failure(s)" % ("FAIL" if failures else "PASS", failures))
sys.exit(1 if failures else 0)
