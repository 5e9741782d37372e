#!/usr/bin/env python3
"""torch_generate_baseline.py — PyTorch float32 greedy generation with the
KV cache at the shapes of `mpct bench generate` (GPT-2 base; SmolLM2-135M
as a LlamaForCausalLM: 30 layers, 576 wide, 9 heads, 3 key/value heads,
ffn 1536, vocabulary 49152, tied head), random weights, a 32-token prompt:
the prefill's seconds and the median seconds per generated token (a
single-token forward with past_key_values), on 2 threads (this VM's
cores), after one warm-up. Needs torch and transformers (not a CI
dependency); perf/RESULTS.md quotes it beside mpct's figures.

usage: python3 perf/torch_generate_baseline.py [new tokens, default 8]
"""
import sys, time, statistics, torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
torch.set_num_threads(2)
NEW = int(sys.argv[1]) if len(sys.argv) > 1 else 8

def bench(m, prompt=32):
    m = m.eval()
    ids = torch.randint(100, 1000, (1, prompt))
    with torch.no_grad():
        m(ids)  # warm-up
        t0 = time.perf_counter()
        out = m(ids, use_cache=True)
        pre = time.perf_counter() - t0
        past, nxt, ts = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True), []
        for _ in range(NEW - 1):
            t0 = time.perf_counter()
            out = m(nxt, past_key_values=past, use_cache=True)
            ts.append(time.perf_counter() - t0)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    return pre, statistics.median(ts)

gpt2 = GPT2LMHeadModel(GPT2Config())
smol = LlamaForCausalLM(LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                                    num_attention_heads=9, num_key_value_heads=3, head_dim=64, rope_theta=100000.0,
                                    max_position_embeddings=8192, tie_word_embeddings=True))
for name, m in (("GPT-2 base", gpt2), ("SmolLM2-135M", smol)):
    pre, tok = bench(m)
    print("torch %s float32, 2 threads, %s: prefill of 32 tokens %.4f s, per generated token %.4f s"
          % (torch.__version__, name, pre, tok))
