#!/usr/bin/env python3
"""Embeds a file of texts under three-party MPC and with the float64
plaintext reference, then prints how close the secure embeddings are.

  MPCT_BIN=build/mpct python3 python/examples/embed_and_compare.py MODEL.h5 TEXTS.txt [RANKS]

e.g. with the tiny CI model: build/mpct pack --synthetic tiny -o tiny.h5,
then the script with tiny.h5 datasets/sample-reviews.txt. mpirun must be on
PATH; add MPIRUN_ARGS="--oversubscribe" on a machine with fewer cores than
ranks.
"""
import os
import sys

import numpy as np

import mpct


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    model, texts = sys.argv[1], sys.argv[2]
    ranks = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    job = mpct.Job(model=model, inputs=texts, output="secure.h5", task="embed", batch=8, seq_len=64, overwrite=1)
    secure = mpct.run(job, ranks=ranks, mpirun_args=os.environ.get("MPIRUN_ARGS", "").split())
    plain = mpct.run(job.set("output", "plain.h5").set("plaintext", 1))
    a, b = secure.embeddings, plain.embeddings
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print("model %s (%s), %d rows, dim %d" % (secure.meta["model_hash"][:12], secure.mode, len(secure),
                                              a.shape[1]))
    for i, c in zip(secure.ids, cos):
        print("row %3d  tokens %3d  cosine(secure, plaintext) %.6f" % (i, secure.token_counts[i], c))
    print("min cosine %.6f, mean %.6f" % (cos.min(), cos.mean()))


if __name__ == "__main__":
    main()
