#!/usr/bin/env python3
"""logits_cosine.py A.jsonl A.logits B.jsonl B.logits [MIN] -- per-step next-token logits
cosine between two `mpct generate --logits` runs (e.g. secure and --plaintext) of the same
prompts, with the standard library only (CI has no numpy).

A logits file holds one record per generation step: int32 prompt index, int32 step, int32 V,
then V float32, native byte order. A step's logits depend on the tokens generated before it,
so a prompt's steps are compared up to and including the first step whose generated ids
differ between the two outputs (later steps would compare different prefixes). Prints per
step the minimum cosine over the prompts, the overall minimum and the prompts that diverged;
with MIN, exits 1 when a compared step's cosine is below it (or nothing was compared).
"""
import array
import json
import math
import struct
import sys


def records(path):
    out = {}
    with open(path, "rb") as f:
        while True:
            head = f.read(12)
            if not head:
                return out
            if len(head) != 12:
                sys.exit("%s: a truncated record header" % path)
            prompt, step, v = struct.unpack("=iii", head)
            vals = array.array("f")
            try:
                vals.fromfile(f, v)
            except EOFError:
                sys.exit("%s: prompt %d step %d: fewer than %d logits" % (path, prompt, step, v))
            out[(prompt, step)] = vals


def ids(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["generated_ids"] for line in f]


def cosine(a, b):
    ab = sum(x * y for x, y in zip(a, b))
    aa = sum(x * x for x in a)
    bb = sum(y * y for y in b)
    return ab / math.sqrt(aa * bb)


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    ia, la, ib, lb = ids(sys.argv[1]), records(sys.argv[2]), ids(sys.argv[3]), records(sys.argv[4])
    floor = float(sys.argv[5]) if len(sys.argv) == 6 else None
    per_step, worst, diverged = {}, 1.0, []
    for p, (x, y) in enumerate(zip(ia, ib)):
        last = min(len(x), len(y)) - 1
        for s in range(min(len(x), len(y))):
            if x[s] != y[s]:
                last = s
                diverged.append("prompt %d at new token %d (%d vs %d)" % (p, s + 1, x[s], y[s]))
                break
        for s in range(last + 1):
            if (p, s) not in la or (p, s) not in lb:
                sys.exit("prompt %d step %d: no logits record in both files" % (p, s))
            c = cosine(la[(p, s)], lb[(p, s)])
            per_step[s] = min(per_step.get(s, 1.0), c)
            worst = min(worst, c)
    for s in sorted(per_step):
        print("step %d: min cosine %.6f" % (s + 1, per_step[s]))
    print("min cosine over %d prompts, %d steps: %.6f" % (min(len(ia), len(ib)), len(per_step), worst))
    for d in diverged:
        print("ids diverge: " + d)
    if floor is not None and (not per_step or worst < floor):
        sys.exit("min cosine %.6f below %g" % (worst, floor))


if __name__ == "__main__":
    main()
