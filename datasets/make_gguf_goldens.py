#!/usr/bin/env python3
"""Goldens of mpct's GGUF import (io/gguf*.c), made with gguf-py and transformers.

  /work/venv/bin/python datasets/make_gguf_goldens.py [--mpct build/mpct] [--smollm2 FILE.gguf]

writes under tests/data/gguf/:
  quant.gguf, quant_expected.txt   one tensor per type (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
                                   and Q5_0, which mpct refuses), quantized by gguf.quants; the
                                   expected float32 bits are gguf.quants.dequantize's
  tiny_llama.gguf                  a 2-layer LLaMA (width 32, 4 heads, 2 KV heads) with a byte-level
                                   BPE of 300 tokens (tokenizer.ggml.pre "smollm"), Q/K rows in
                                   llama.cpp's rotary order, tensors of every supported type
  tiny_llama_expected.txt          per Hugging Face tensor the SHA-256 of its float32 bytes as
                                   transformers' GGUF loader produces them; token ids of the strings
                                   in tok_strings.txt by Hugging Face `tokenizers`
  smollm2_golden.txt (--smollm2)   the same for SmolLM2-135M-Instruct.Q4_1.gguf (a few tensors),
                                   plus transformers' float32 logits on two prompts
The tokenizers of "smollm" files are SmolLM2's own: Sequence[Digits(individual_digits),
ByteLevel]; transformers' GGUF loader gives them a plain ByteLevel, so its tokenizer is
rebuilt with that pre-tokenizer here. With --mpct, the directory `mpct pack --gguf-to-hf`
writes is loaded by transformers and must give identical tensors and token ids.
Not needed by the tests (CI has no torch); rerun when the goldens change.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "gguf")

STRINGS = [
    "Hello world", "The year 2024 had 366 days.", "3.14159 and 1,000,000", "  two spaces  ",
    "tabs\tand\nnewlines\n\n", "héllo wörld, ça va?", "日本語のテキスト", "emoji 🙂👍🏽",
    "<|im_start|>user\nhi<|im_end|>", "x<|endoftext|>y", "don't stop, it's fine", "UPPER lower MiXeD",
    "a    b     c", "123abc456", "١٢٣ arabic digits", "\u00a0nbsp\u2003em space", "!!!???...",
    "<think>plan</think>", "", " leading", "trailing ",
]


def f32_hex(a):
    return " ".join("%08x" % v for v in np.asarray(a, dtype=np.float32).view(np.uint32).ravel())


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def make_quant():
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(os.path.join(OUT, "quant.gguf"), "quanttest")
    expected = []
    for name, qt in [("f32", Q.F32), ("f16", Q.F16), ("bf16", Q.BF16), ("q8_0", Q.Q8_0), ("q4_0", Q.Q4_0),
                     ("q4_1", Q.Q4_1), ("q5_0", Q.Q5_0)]:
        x = (rng.standard_normal((2, 64)) * 3).astype(np.float32)
        x[0, :4] = [0.0, -0.0, 1e-7, 65504.0]
        x[1, 32:64] = 0.25  # a constant block: Q4_1's zero span
        if qt in (Q.F32,):
            data, dq = x, x
        else:
            data = gguf.quants.quantize(x, qt)
            dq = gguf.quants.dequantize(data, qt).reshape(x.shape)
        w.add_tensor(name, data, raw_dtype=qt)
        if qt != Q.Q5_0:
            expected.append("%s %s" % (name, f32_hex(dq)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(OUT, "quant_expected.txt"), "w") as f:
        f.write("# tensor name, then the float32 bits of gguf.quants.dequantize, row-major\n")
        f.write("\n".join(expected) + "\n")


def permute(w, n_head):
    # convert_hf_to_gguf.py's LlamaModel.permute: HF rotary halves -> llama.cpp's interleaved rows
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def train_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    text = [s * 3 for s in STRINGS] + ["the quick brown fox jumps over the lazy dog " * 5,
                                       "hello hello world world tokens merge here"]
    tr = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(text, tr)
    import json
    j = json.loads(tok.to_str())
    vocab = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in vocab] + ["<think>", "</think>"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    types = [3 if i < 3 else 4 if t in ("<think>", "</think>") else 1 for i, t in enumerate(tokens)]
    return tokens, merges, types


def make_tiny():
    rng = np.random.default_rng(11)
    L, h, H, KV, f, P = 2, 32, 4, 2, 64, 128
    hd = h // H
    tokens, merges, types = train_tokenizer()
    V = len(tokens)
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_llama.gguf"), "llama")
    w.add_name("tiny llama for mpct tests")
    w.add_quantization_version(2)
    w.add_block_count(L)
    w.add_context_length(P)
    w.add_embedding_length(h)
    w.add_feed_forward_length(f)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(V)
    w.add_rope_dimension_count(hd)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template("{{ messages }}")

    def put(name, x, qt):
        x = x.astype(np.float32)
        w.add_tensor(name, x if qt == Q.F32 else gguf.quants.quantize(x, qt), raw_dtype=qt)

    put("token_embd.weight", rng.standard_normal((V, h)), Q.Q8_0)
    for l in range(L):
        b = "blk.%d." % l
        put(b + "attn_norm.weight", 1 + 0.1 * rng.standard_normal(h), Q.F32)
        put(b + "attn_q.weight", permute(rng.standard_normal((H * hd, h)) / 4, H), Q.Q4_1)
        put(b + "attn_k.weight", permute(rng.standard_normal((KV * hd, h)) / 4, KV), Q.Q4_0)
        put(b + "attn_v.weight", rng.standard_normal((KV * hd, h)) / 4, Q.F16)
        put(b + "attn_output.weight", rng.standard_normal((h, H * hd)) / 4, Q.BF16)
        put(b + "ffn_norm.weight", 1 + 0.1 * rng.standard_normal(h), Q.F32)
        put(b + "ffn_gate.weight", rng.standard_normal((f, h)) / 4, Q.Q4_1)
        put(b + "ffn_up.weight", rng.standard_normal((f, h)) / 4, Q.Q8_0)
        put(b + "ffn_down.weight", rng.standard_normal((h, f)) / 4, Q.Q4_1)
    put("output_norm.weight", 1 + 0.1 * rng.standard_normal(h), Q.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hf_reference(gguf_path):
    """transformers' own view of the file: state dict (float32) and tokenizer with
    the pre-tokenizer tokenizer.ggml.pre stands for."""
    import torch
    from tokenizers import pre_tokenizers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    d, g = os.path.split(os.path.abspath(gguf_path))
    cfg = AutoConfig.from_pretrained(d, gguf_file=g)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    sd = load_gguf_checkpoint(gguf_path, return_tensors=True, model_to_load=model)["tensors"]
    model.load_state_dict(sd, strict=False)
    model.tie_weights()
    model.eval()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=g)
    r = gguf.GGUFReader(gguf_path)
    pre = r.fields["tokenizer.ggml.pre"].contents() if "tokenizer.ggml.pre" in r.fields else "default"
    if pre == "smollm":
        tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    return model, tok


def check_against_mpct(mpct, gguf_path, model, tok):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([mpct, "pack", "--gguf-to-hf", d, gguf_path], check=True, stdout=subprocess.DEVNULL)
        ours = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
        ot = AutoTokenizer.from_pretrained(d)
        a, b = model.state_dict(), ours.state_dict()
        assert set(a) == set(b), set(a) ^ set(b)
        for k in a:
            assert torch.equal(a[k], b[k]), k
        for s in STRINGS:
            assert tok(s)["input_ids"] == ot(s)["input_ids"], s
    print("converted directory matches transformers:", gguf_path)


def write_expected(path, model, tok, names=None, prompts=()):
    import torch
    sd = model.state_dict()
    with open(path, "w") as f:
        f.write("# made by datasets/make_gguf_goldens.py from transformers %s\n" % __import__("transformers").__version__)
        for k in sorted(sd) if names is None else names:
            if k == "lm_head.weight" and model.config.tie_word_embeddings:
                continue
            f.write("tensor %s %s\n" % (k, sha(sd[k].numpy())))
        for i, s in enumerate(STRINGS):
            f.write("ids %d %s\n" % (i, " ".join(map(str, tok(s)["input_ids"]))))
        for p in prompts:
            ids = tok(p, return_tensors="pt")["input_ids"]
            with torch.no_grad():
                lg = model(input_ids=ids).logits[0].float().numpy()
            f.write("prompt %s\n" % " ".join(map(str, ids[0].tolist())))
            for t in range(lg.shape[0]):
                top = np.argsort(-lg[t], kind="stable")[:5]
                f.write("logits %d sha256 %s top5 %s first8 %s\n" % (
                    t, sha(lg[t]), " ".join("%d:%s" % (j, repr(float(lg[t][j]))) for j in top),
                    " ".join(repr(float(v)) for v in lg[t][:8])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpct")
    ap.add_argument("--smollm2")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tok_strings.txt"), "w") as f:
        f.write("".join(s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") + "\n" for s in STRINGS))
    make_quant()
    make_tiny()
    tiny = os.path.join(OUT, "tiny_llama.gguf")
    model, tok = hf_reference(tiny)
    write_expected(os.path.join(OUT, "tiny_llama_expected.txt"), model, tok)
    if a.mpct:
        check_against_mpct(a.mpct, tiny, model, tok)
    if a.smollm2:
        model, tok = hf_reference(a.smollm2)
        names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                 "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                 "model.layers.0.input_layernorm.weight", "model.layers.29.mlp.down_proj.weight", "model.norm.weight"]
        write_expected(os.path.join(OUT, "smollm2_golden.txt"), model, tok, names,
                       ["The capital of France is", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"])
        if a.mpct:
            check_against_mpct(a.mpct, a.smollm2, model, tok)


if __name__ == "__main__":
    sys.exit(main())
