#!/usr/bin/env python3
"""make_hf_decoder_goldens.py — small random-initialised Hugging Face decoders
(GPT-2, LLaMA) and their outputs from `transformers` itself, as committed goldens.

For each variant it writes tests/data/hf/NAME/ with the checkpoint as
save_pretrained writes it (config.json, model.safetensors in float32, a
byte-level BPE tokenizer.json) plus golden.txt:

  gpt2-tied     GPT2LMHeadModel, hidden 32, 2 layers, 4 heads, LM head tied
                to wte (so the safetensors have no lm_head.weight); Conv1D
                weights, fused c_attn; tokenizer as GPT-2's (ByteLevel
                pre-tokenizer and post-processor, no special tokens added)
  llama-gqa     LlamaForCausalLM, hidden 32, 2 layers, 4 heads, 2 key/value
                heads, rope_theta 500000, untied lm_head; tokenizer as
                LLaMA-3's (byte-level BPE, TemplateProcessing that puts
                <|begin_of_text|> before the text)
  llama-tied    LlamaForCausalLM, 4 heads of head_dim 16 over hidden 32 (so
                heads * head_dim != hidden), 1 key/value head,
                tie_word_embeddings true

golden.txt, per prompt of PROMPTS (ids from the checkpoint's own tokenizer
via AutoTokenizer):
  prompt <n> <id_0> ... <id_{n-1}>
  logits <position> <vocab_size values, %.17g>   (one line per position)
  greedy <k> <ids>   (generate(do_sample=False, max_new_tokens=GREEDY))
The logits are those of the float64 model (the float32 weights cast to
float64). Hugging Face's LlamaRMSNorm and rotary embedding compute in
float32 even inside a float64 model; this script runs those two in float64
(the same formulas), so that the comparison measures the graph and not
float32 rounding (and LLaMA runs with attn_implementation "sdpa": the eager
attention takes its softmax in float32). Weights are initialised N(0, 0.2) (std 0.02 would make
every logit nearly equal and greedy ties likely).

CI does not run this script (it needs torch + transformers);
tests/model/test_decoder_golden.c compares mpct against its outputs.

usage: python3 datasets/make_hf_decoder_goldens.py [--out tests/data/hf]
"""
import argparse
import json
import os
import shutil

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (AutoTokenizer, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          PreTrainedTokenizerFast)
from transformers.models.llama import modeling_llama

PROMPTS = ["The quick brown fox", "Secure computation of a decoder, one token at a time.",
           "hello hello hello"]
GREEDY = 8
TRAIN = ["The quick brown fox jumps over the lazy dog.", "Secure multi-party computation of transformer models.",
         "A decoder generates one token at a time from its key and value cache.",
         "hello world, hello there, hello again"] * 20


def rms_forward(self, x):
    v = x.pow(2).mean(-1, keepdim=True)
    return self.weight * (x * torch.rsqrt(v + self.variance_epsilon))


def rope_forward(self, x, position_ids):
    cfg = self.config
    d = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    theta = cfg.rope_parameters["rope_theta"]
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = position_ids[..., None].to(torch.float64) * inv
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


modeling_llama.LlamaRMSNorm.forward = rms_forward
modeling_llama.LlamaRotaryEmbedding.forward = rope_forward


def make_tokenizer(bos):
    """A byte-level BPE as GPT-2's (bos None) or LLaMA-3's (bos: prepended)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>"] if bos is None else [bos, "<|end_of_text|>"]
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TRAIN, trainer)
    if bos is None:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        tok.post_processor = processors.TemplateProcessing(single=bos + " $A", special_tokens=[(bos, 0)])
    return tok, special


def write_golden(model, tok_dir, out):
    tk = AutoTokenizer.from_pretrained(tok_dir)
    model = model.double().eval()
    with open(out, "w") as f:
        for p in PROMPTS:
            ids = tk(p)["input_ids"]
            f.write("prompt %d %s\n" % (len(ids), " ".join(map(str, ids))))
            with torch.no_grad():
                lg = model(torch.tensor([ids])).logits[0]
                for i in range(len(ids)):
                    f.write("logits %d %s\n" % (i, " ".join("%.17g" % v for v in lg[i].tolist())))
                g = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                   do_sample=False, max_new_tokens=GREEDY, eos_token_id=None, pad_token_id=0)
            new = g[0, len(ids):].tolist()
            f.write("greedy %d %s\n" % (len(new), " ".join(map(str, new))))


def build(out, name, make_model, bos):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tok, special = make_tokenizer(bos)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=special[0], eos_token=special[-1])
    model = make_model(tok.get_vocab_size())
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
            elif "bias" in n:
                p.normal_(0.0, 0.05)
            else:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    model.save_pretrained(d, safe_serialization=True)
    fast.save_pretrained(d)
    for extra in ("generation_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if os.path.exists(os.path.join(d, extra)):
            os.remove(os.path.join(d, extra))
    write_golden(model, d, os.path.join(d, "golden.txt"))
    print(name, "vocab", tok.get_vocab_size(), sorted(os.listdir(d)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "hf"))
    a = ap.parse_args()
    torch.manual_seed(20240611)
    build(a.out, "gpt2-tied", lambda v: GPT2LMHeadModel(GPT2Config(
        vocab_size=v, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=0, eos_token_id=0,
        attn_implementation="eager")), None)
    build(a.out, "llama-gqa", lambda v: LlamaForCausalLM(LlamaConfig(
        vocab_size=v, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=48, max_position_embeddings=64, rope_theta=500000.0, rms_norm_eps=1e-5,
        tie_word_embeddings=False, bos_token_id=0, eos_token_id=1, attn_implementation="sdpa")), "<|begin_of_text|>")
    build(a.out, "llama-tied", lambda v: LlamaForCausalLM(LlamaConfig(
        vocab_size=v, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
        head_dim=16, intermediate_size=40, max_position_embeddings=64, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=1, attn_implementation="sdpa")), "<|begin_of_text|>")


if __name__ == "__main__":
    main()
