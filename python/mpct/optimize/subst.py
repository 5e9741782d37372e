"""subst.py — MPC-friendly substitutions in a Hugging Face BertModel, the
PyTorch twins of what mpct's float64 reference and secure pass compute for
a model whose config.json carries the keys below.

  "mpct_activation": "quad"   the FFN activation is MPCFormer's Quad,
                              0.125 x^2 + 0.25 x + 0.5 (one product under MPC)
  "mpct_activation": "relu"   the FFN activation is ReLU (also written as
                              "hidden_act": "relu", Hugging Face's own, so
                              plain transformers computes the same model)
  "mpct_attention": "2quad"   attention probabilities are MPCFormer's 2Quad:
                              with s = Q K^T / sqrt(head width) and m_j = 1 on
                              the row's real tokens, 0 on padding,
                              p_ij = m_j (s_ij + c)^2 / sum_k m_k (s_ik + c)^2,
                              c = TWOQUAD_C; masked entries are exactly 0

apply(model, activation, attention) patches every layer in place (the
substitution is per model: mpct runs one graph for all layers);
config_keys(activation, attention) is what save_pruned() adds to
config.json and read_keys(raw) what load_pruned() reads back (unknown
values refused naming the key, as `mpct pack` refuses them).

Invariant: the formulas above are the ones in src/model/ref.c and
src/mpc/nonlin_sub.c, constant for constant.
"""
import torch
from torch import nn

TWOQUAD_C = 5.0
ACTIVATIONS = ("quad", "relu")
ATTENTIONS = ("2quad",)


class Quad(nn.Module):
    def forward(self, x):
        return 0.125 * x * x + 0.25 * x + 0.5


def twoquad_probs(scores, keep):
    """scores (..., rows, cols), keep broadcastable 0/1 float mask over cols."""
    q = (scores + TWOQUAD_C) ** 2 * keep
    return q / q.sum(dim=-1, keepdim=True)


def _twoquad_forward(self, hidden_states, attention_mask=None, *args, **kwargs):
    shape = hidden_states.shape[:-1]
    hs = (*shape, -1, self.attention_head_size)
    q = self.query(hidden_states).view(*hs).transpose(1, 2)
    k = self.key(hidden_states).view(*hs).transpose(1, 2)
    v = self.value(hidden_states).view(*hs).transpose(1, 2)
    s = torch.matmul(q, k.transpose(2, 3)) * self.attention_head_size ** -0.5
    if attention_mask is None:
        keep = torch.ones_like(s[..., :1, :])
    elif attention_mask.dtype == torch.bool:
        keep = attention_mask.to(s.dtype)
    else:  # additive: 0 on kept entries, a large negative number on masked ones
        keep = (attention_mask > -1.0).to(s.dtype)
    p = twoquad_probs(s, keep)
    out = torch.matmul(p, v).transpose(1, 2).reshape(*shape, -1).contiguous()
    return out, p


def apply(model, activation=None, attention=None):
    """Patches every layer of a BertModel in place."""
    if activation not in (None,) + ACTIVATIONS:
        raise ValueError("subst: activation %r is not one of %s" % (activation, ACTIVATIONS))
    if attention not in (None,) + ATTENTIONS:
        raise ValueError("subst: attention %r is not one of %s" % (attention, ATTENTIONS))
    for layer in model.encoder.layer:
        if activation == "quad":
            layer.intermediate.intermediate_act_fn = Quad()
        elif activation == "relu":
            layer.intermediate.intermediate_act_fn = nn.ReLU()
        if attention == "2quad":
            sa = layer.attention.self
            sa.forward = _twoquad_forward.__get__(sa, type(sa))
    if activation:
        model.config.mpct_activation = activation
    if attention:
        model.config.mpct_attention = attention
    return model


def config_keys(activation=None, attention=None):
    keys = {}
    if activation:
        keys["mpct_activation"] = activation
        if activation == "relu":
            keys["hidden_act"] = "relu"
    if attention:
        keys["mpct_attention"] = attention
    return keys


def read_keys(raw, path="config.json"):
    """(activation, attention) from a config.json dict, popping the keys."""
    act, att = raw.pop("mpct_activation", None), raw.pop("mpct_attention", None)
    if act is not None and act not in ACTIVATIONS + ("gelu",):
        raise ValueError("%s: mpct_activation %r is not one of gelu, %s" % (path, act, ", ".join(ACTIVATIONS)))
    if att is not None and att not in ATTENTIONS + ("softmax",):
        raise ValueError("%s: mpct_attention %r is not one of softmax, %s" % (path, att, ", ".join(ATTENTIONS)))
    return (None if act == "gelu" else act), (None if att == "softmax" else att)
