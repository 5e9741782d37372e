#!/usr/bin/env python3
"""torch_baseline.py — what a user would otherwise run: PyTorch float32
BertModel forwards at the MiniLM-L6 and BERT-base shapes, seq 128, batch 1,
on 2 threads (this VM's cores), median of 7 after one warm-up. Random
weights: the time does not depend on them. Needs torch and transformers
(not a CI dependency); perf/RESULTS.md quotes it beside mpct's figures.

usage: python3 perf/torch_baseline.py
"""
import sys, time, statistics, torch
from transformers import BertConfig, BertModel
torch.set_num_threads(2)
def bench(cfg, reps=7, seq=128):
    m = BertModel(cfg).eval()
    ids = torch.randint(1000, 2000, (1, seq))
    with torch.no_grad():
        m(ids)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); m(ids); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
minilm = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
base = BertConfig()
print("torch %s float32, 2 threads, seq 128, batch 1: MiniLM-L6 %.4f s, BERT-base %.4f s" % (torch.__version__, bench(minilm), bench(base)))
