"""prune.py — structured pruning of a Hugging Face BertModel, and the
checkpoint layout a pruned model is saved in and read back from.

Surgery (in place, on a BertModel as transformers builds it):
  drop_layers(model, keep)        keep the encoder layers listed (in order),
                                  renumbered 0..len(keep)-1
  prune_ffn(model, keep)          per layer, the intermediate neurons kept
                                  (rows of intermediate.dense, columns of
                                  output.dense)
  prune_heads(model, removed)     per layer, the attention heads removed:
                                  Q, K, V keep the other heads' rows, the
                                  output projection their columns, in the
                                  original head order; each head keeps its
                                  width hidden / num_attention_heads

Checkpoint: config.json is the original's with num_hidden_layers and
intermediate_size updated and, after head pruning, "pruned_heads"
({"layer": [removed head, ...]}, how transformers 4's BertModel.prune_heads
records it; num_attention_heads stays the original count, so the head width
is unchanged). mpct pack reads that layout (uniform pruning only: every
layer loses the same number of heads). transformers 5 dropped pruned-head
support from BertModel, so load_pruned() rebuilds such a model by the same
surgery before loading the weights.

MPC-friendly substitutions (subst.py) travel as config.json's
"mpct_activation" / "mpct_attention": save_pruned() writes them from the
model's config, load_pruned() patches the loaded model with them.

Invariant: a pruned model computes exactly what the original computes with
the removed heads' context, the removed neurons' activations and the removed
layers taken out.
"""
import json
import os

import torch
from torch import nn

from . import subst


def _select_linear(layer, index, dim):
    """A new nn.Linear keeping `index` along dim 0 (outputs) or 1 (inputs)."""
    w = layer.weight.detach().index_select(dim, index).clone()
    b = layer.bias.detach().clone() if layer.bias is not None else None
    if b is not None and dim == 0:
        b = b[index].clone()
    out = nn.Linear(w.shape[1], w.shape[0], bias=b is not None, dtype=w.dtype)
    with torch.no_grad():
        out.weight.copy_(w)
        if b is not None:
            out.bias.copy_(b)
    return out


def drop_layers(model, keep):
    keep = list(keep)
    model.encoder.layer = nn.ModuleList([model.encoder.layer[i] for i in keep])
    model.config.num_hidden_layers = len(keep)


def prune_ffn(model, keep):
    """keep: per layer, a sequence of intermediate neuron indices; the
    widths must be equal (mpct runs one ffn width per model)."""
    widths = {len(k) for k in keep}
    if len(widths) != 1:
        raise ValueError("prune_ffn: every layer must keep the same number of neurons, got %s" % sorted(widths))
    for layer, k in zip(model.encoder.layer, keep):
        idx = torch.as_tensor(sorted(k), dtype=torch.long)
        layer.intermediate.dense = _select_linear(layer.intermediate.dense, idx, 0)
        layer.output.dense = _select_linear(layer.output.dense, idx, 1)
    model.config.intermediate_size = widths.pop()


def prune_heads(model, removed):
    """removed: {layer index: [head, ...]} in the model's current numbering;
    heads of the original width (hidden / num_attention_heads)."""
    for l, heads in removed.items():
        att = model.encoder.layer[int(l)].attention
        sa = att.self
        dh = sa.attention_head_size
        keep = [h for h in range(sa.num_attention_heads) if h not in set(heads)]
        if not keep:
            raise ValueError("prune_heads: layer %s would lose every head" % l)
        idx = torch.cat([torch.arange(h * dh, (h + 1) * dh) for h in keep])
        sa.query = _select_linear(sa.query, idx, 0)
        sa.key = _select_linear(sa.key, idx, 0)
        sa.value = _select_linear(sa.value, idx, 0)
        att.output.dense = _select_linear(att.output.dense, idx, 1)
        sa.num_attention_heads = len(keep)
        sa.all_head_size = len(keep) * dh


def load_pruned(path, dtype=torch.float32):
    """A BertModel from a Hugging Face directory, pruned heads included."""
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    with open(os.path.join(path, "config.json")) as f:
        raw = json.load(f)
    pruned = {int(k): list(v) for k, v in (raw.pop("pruned_heads", None) or {}).items()}
    activation, attention = subst.read_keys(raw, os.path.join(path, "config.json"))
    cfg = BertConfig(**{k: v for k, v in raw.items() if k not in ("architectures", "transformers_version")})
    state = load_file(os.path.join(path, "model.safetensors"))
    model = BertModel(cfg, add_pooling_layer=any(k.startswith("pooler.") for k in state))
    prune_heads(model, pruned)
    state = {k: v for k, v in state.items() if not k.endswith("position_ids")}
    model.load_state_dict(state, strict=True)
    subst.apply(model, activation, attention)
    return model.to(dtype).eval()


def save_pruned(model, removed_heads, out, source_dir, dtype=torch.float32):
    """Writes config.json + model.safetensors of `model` and copies the
    tokenizer and sentence-transformers files of source_dir into out.
    removed_heads: {layer: [heads]} as given to prune_heads (after any
    layer dropping), recorded as config.json's pruned_heads."""
    from safetensors.torch import save_file
    import shutil

    os.makedirs(out, exist_ok=True)
    same = os.path.realpath(out) == os.path.realpath(source_dir)
    with open(os.path.join(source_dir, "config.json")) as f:
        raw = json.load(f)
    raw["num_hidden_layers"] = model.config.num_hidden_layers
    raw["intermediate_size"] = model.config.intermediate_size
    raw["architectures"] = ["BertModel"]
    raw.pop("pruned_heads", None)
    for k in ("mpct_activation", "mpct_attention"):
        raw.pop(k, None)
    raw.update(subst.config_keys(getattr(model.config, "mpct_activation", None),
                                 getattr(model.config, "mpct_attention", None)))
    removed = {str(l): sorted(int(h) for h in hs) for l, hs in sorted(removed_heads.items()) if hs}
    if removed:
        raw["pruned_heads"] = removed
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(raw, f, indent=2, sort_keys=True)
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()
             if not k.endswith("position_ids")}
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "modules.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json"):
        if not same and os.path.exists(os.path.join(source_dir, name)):
            shutil.copy(os.path.join(source_dir, name), os.path.join(out, name))
    pool = os.path.join(source_dir, "1_Pooling")
    if not same and os.path.isdir(pool):
        shutil.copytree(pool, os.path.join(out, "1_Pooling"), dirs_exist_ok=True)
