/*
 * model_desc_dec.c — the decoder descriptions (mpct_model_desc.h): GPT-2
 * (GPT2LMHeadModel / GPT2Model) and LLaMA (LlamaForCausalLM / LlamaModel)
 * over the decoder tensor and share ids (MPCT_DEC_*).
 *
 * Invariants: entry i of a table has id i; the layer entries are
 * contiguous; the table fixes the canonical order of a decoder model file
 * (FORMAT.md, "Decoders") and the share order of the secure decoder pass.
 * GPT-2's Conv1D weights are stored [in x out] by Hugging Face and its
 * c_attn holds q, k and v side by side: the entries say so (conv1d, split)
 * and pack transposes and splits them into the file's [out x in] tensors.
 * A family's tensors that the graph has no use for are MPCT_MD_NEVER (no
 * dataset, a zero placeholder share).
 *
 * Uses mpct_core.
 */
#include <stddef.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

#define M_ MPCT_IO_MATRIX
#define V_ MPCT_IO_VECTOR
#define H_ MPCT_MD_HIDDEN
#define F_ MPCT_MD_FFN
#define O_ MPCT_MD_ONE
#define Q_ MPCT_MD_QDIM
#define KV_ MPCT_MD_KVDIM
#define A_ MPCT_MD_ALWAYS
#define N_ MPCT_MD_NEVER

/* id, mpct path, HF name, kind, rows, cols, presence, per layer, top-level name, Conv1D, part of nsplit */
#define D_(id, path, hf, kind, r, c, when, layer, top, conv, split, nsplit) \
    [id] = {id, path, hf, kind, r, c, when, layer, 0, top, conv, split, nsplit}

/* ---- GPT-2: learned positions, pre-LayerNorm, GeLU-tanh, biases, fused
 * Conv1D c_attn, the LM head tied to wte unless tie_word_embeddings is false ---- */
static const mpct_md_tensor gpt2_tensors[MPCT_DEC_NTENSORS] = {
    D_(MPCT_DEC_WORD, "/weights/embeddings/word", "wte.weight", M_, MPCT_MD_VOCAB, H_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_POSITION, "/weights/embeddings/position", "wpe.weight", M_, MPCT_MD_POSITIONS, H_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_LN1_G, "ln1/gamma", "ln_1.weight", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN1_B, "ln1/beta", "ln_1.bias", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_Q_W, "attention/q/weight", "attn.c_attn.weight", M_, Q_, H_, A_, 1, 0, 1, 0, 3),
    D_(MPCT_DEC_Q_B, "attention/q/bias", "attn.c_attn.bias", V_, Q_, O_, A_, 1, 0, 0, 0, 3),
    D_(MPCT_DEC_K_W, "attention/k/weight", "attn.c_attn.weight", M_, KV_, H_, A_, 1, 0, 1, 1, 3),
    D_(MPCT_DEC_K_B, "attention/k/bias", "attn.c_attn.bias", V_, KV_, O_, A_, 1, 0, 0, 1, 3),
    D_(MPCT_DEC_V_W, "attention/v/weight", "attn.c_attn.weight", M_, KV_, H_, A_, 1, 0, 1, 2, 3),
    D_(MPCT_DEC_V_B, "attention/v/bias", "attn.c_attn.bias", V_, KV_, O_, A_, 1, 0, 0, 2, 3),
    D_(MPCT_DEC_O_W, "attention/o/weight", "attn.c_proj.weight", M_, H_, Q_, A_, 1, 0, 1, 0, 0),
    D_(MPCT_DEC_O_B, "attention/o/bias", "attn.c_proj.bias", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN2_G, "ln2/gamma", "ln_2.weight", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN2_B, "ln2/beta", "ln_2.bias", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_GATE_W, "ffn/gate/weight", "", M_, F_, H_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_UP_W, "ffn/up/weight", "mlp.c_fc.weight", M_, F_, H_, A_, 1, 0, 1, 0, 0),
    D_(MPCT_DEC_UP_B, "ffn/up/bias", "mlp.c_fc.bias", V_, F_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_DOWN_W, "ffn/down/weight", "mlp.c_proj.weight", M_, H_, F_, A_, 1, 0, 1, 0, 0),
    D_(MPCT_DEC_DOWN_B, "ffn/down/bias", "mlp.c_proj.bias", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_NORM_G, "/weights/final_norm/gamma", "ln_f.weight", V_, H_, O_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_NORM_B, "/weights/final_norm/beta", "ln_f.bias", V_, H_, O_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_HEAD_W, "/weights/lm_head/weight", "lm_head.weight", M_, MPCT_MD_VOCAB, H_, MPCT_MD_IF_UNTIED, 0, 1,
       0, 0, 0),
};

/* ---- LLaMA: rotary positions, pre-RMSNorm (weights only), SiLU-gated MLP,
 * no biases, grouped-query attention, lm_head unless tied ---- */
static const mpct_md_tensor llama_tensors[MPCT_DEC_NTENSORS] = {
    D_(MPCT_DEC_WORD, "/weights/embeddings/word", "embed_tokens.weight", M_, MPCT_MD_VOCAB, H_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_POSITION, "/weights/embeddings/position", "", M_, MPCT_MD_POSITIONS, H_, N_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_LN1_G, "ln1/gamma", "input_layernorm.weight", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN1_B, "ln1/beta", "", V_, H_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_Q_W, "attention/q/weight", "self_attn.q_proj.weight", M_, Q_, H_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_Q_B, "attention/q/bias", "", V_, Q_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_K_W, "attention/k/weight", "self_attn.k_proj.weight", M_, KV_, H_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_K_B, "attention/k/bias", "", V_, KV_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_V_W, "attention/v/weight", "self_attn.v_proj.weight", M_, KV_, H_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_V_B, "attention/v/bias", "", V_, KV_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_O_W, "attention/o/weight", "self_attn.o_proj.weight", M_, H_, Q_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_O_B, "attention/o/bias", "", V_, H_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN2_G, "ln2/gamma", "post_attention_layernorm.weight", V_, H_, O_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_LN2_B, "ln2/beta", "", V_, H_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_GATE_W, "ffn/gate/weight", "mlp.gate_proj.weight", M_, F_, H_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_UP_W, "ffn/up/weight", "mlp.up_proj.weight", M_, F_, H_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_UP_B, "ffn/up/bias", "", V_, F_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_DOWN_W, "ffn/down/weight", "mlp.down_proj.weight", M_, H_, F_, A_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_DOWN_B, "ffn/down/bias", "", V_, H_, O_, N_, 1, 0, 0, 0, 0),
    D_(MPCT_DEC_NORM_G, "/weights/final_norm/gamma", "norm.weight", V_, H_, O_, A_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_NORM_B, "/weights/final_norm/beta", "", V_, H_, O_, N_, 0, 0, 0, 0, 0),
    D_(MPCT_DEC_HEAD_W, "/weights/lm_head/weight", "lm_head.weight", M_, MPCT_MD_VOCAB, H_, MPCT_MD_IF_UNTIED, 0, 1,
       0, 0, 0),
};

#define S1_(id, t, tr, a0, a1) [id] = {id, {t, -1, -1}, 1, tr, 0, {a0, a1}}
#define S2_(id, a, b, tr, a0, a1) [id] = {id, {a, b, -1}, 2, tr, 0, {a0, a1}}
#define S3_(id, q, k, v, tr, a0, a1) [id] = {id, {q, k, v}, 3, tr, 1, {a0, a1}}

/* The shares both families have in the same form. */
#define DEC_SHARES_COMMON_                                                                                            \
    S1_(MPCT_DEC_S_WORD, MPCT_DEC_WORD, MPCT_MD_ROWS, O_, O_),                                                        \
    S1_(MPCT_DEC_S_POSITION, MPCT_DEC_POSITION, MPCT_MD_ROWS, O_, H_),                                                \
    S1_(MPCT_DEC_S_LN1_G, MPCT_DEC_LN1_G, MPCT_MD_VECTOR, O_, O_),                                                    \
    S1_(MPCT_DEC_S_LN1_B, MPCT_DEC_LN1_B, MPCT_MD_VECTOR, H_, O_),                                                    \
    S3_(MPCT_DEC_S_QKV_W, MPCT_DEC_Q_W, MPCT_DEC_K_W, MPCT_DEC_V_W, MPCT_MD_TRANSPOSE, O_, O_),                       \
    S3_(MPCT_DEC_S_QKV_B, MPCT_DEC_Q_B, MPCT_DEC_K_B, MPCT_DEC_V_B, MPCT_MD_VECTOR, O_, O_),                          \
    S1_(MPCT_DEC_S_O_W, MPCT_DEC_O_W, MPCT_MD_TRANSPOSE, O_, O_),                                                     \
    S1_(MPCT_DEC_S_O_B, MPCT_DEC_O_B, MPCT_MD_VECTOR, H_, O_),                                                        \
    S1_(MPCT_DEC_S_LN2_G, MPCT_DEC_LN2_G, MPCT_MD_VECTOR, O_, O_),                                                    \
    S1_(MPCT_DEC_S_LN2_B, MPCT_DEC_LN2_B, MPCT_MD_VECTOR, H_, O_),                                                    \
    S1_(MPCT_DEC_S_UP_B, MPCT_DEC_UP_B, MPCT_MD_VECTOR, F_, O_),                                                      \
    S1_(MPCT_DEC_S_DOWN_W, MPCT_DEC_DOWN_W, MPCT_MD_TRANSPOSE, O_, O_),                                               \
    S1_(MPCT_DEC_S_DOWN_B, MPCT_DEC_DOWN_B, MPCT_MD_VECTOR, H_, O_),                                                  \
    S1_(MPCT_DEC_S_NORM_G, MPCT_DEC_NORM_G, MPCT_MD_VECTOR, O_, O_),                                                  \
    S1_(MPCT_DEC_S_NORM_B, MPCT_DEC_NORM_B, MPCT_MD_VECTOR, H_, O_),                                                  \
    S1_(MPCT_DEC_S_HEAD_W, MPCT_DEC_HEAD_W, MPCT_MD_TRANSPOSE, O_, O_),

static const mpct_md_share gpt2_shares[MPCT_DEC_NSHARES] = {
    DEC_SHARES_COMMON_
    S1_(MPCT_DEC_S_GATE_UP_W, MPCT_DEC_UP_W, MPCT_MD_TRANSPOSE, O_, O_), /* up alone: GPT-2 has no gate */
};

static const mpct_md_share llama_shares[MPCT_DEC_NSHARES] = {
    DEC_SHARES_COMMON_
    S2_(MPCT_DEC_S_GATE_UP_W, MPCT_DEC_GATE_W, MPCT_DEC_UP_W, MPCT_MD_TRANSPOSE, O_, O_), /* [h x 2f]: gate | up */
};

static const char *const dec_poolings[] = {[MPCT_MD_POOL_MEAN] = NULL, [MPCT_MD_POOL_CLS] = NULL,
                                           [MPCT_MD_POOL_POOLER] = NULL, [MPCT_MD_POOL_LM] = "lm"};

/* GPT-2's causal-mask buffers (older checkpoints save them) */
static const char *const gpt2_unused_suffix[] = {".attn.bias", ".attn.masked_bias", NULL};
/* LLaMA's rotary inverse frequencies (older checkpoints save them) */
static const char *const llama_unused_suffix[] = {"rotary_emb.inv_freq", NULL};

#define DEC_DESC_(arch, cls, tab, sh, layer, prefix, unused, act, nrm, pos)                                          \
    {                                                                                                                 \
        .architecture = arch, .hf_class = cls, .layer_path = "/weights/layer.%lld/", .hf_layer = layer,             \
        .hf_prefix = prefix, .hf_unused_prefix = NULL, .hf_unused_suffix = unused, .tensors = tab,                  \
        .ntensors = MPCT_DEC_NTENSORS, .shares = sh, .nshares = MPCT_DEC_NSHARES, .poolings = dec_poolings,         \
        .npoolings = sizeof dec_poolings / sizeof dec_poolings[0], .activation = act, .norm = nrm,                  \
        .pool_act = MPCT_MD_POOL_TANH, .position_offset = 0, .pad_id = -1, .wordpiece = 0, .decoder = 1,            \
        .positions = pos, .tied_from = MPCT_DEC_WORD, .lm_head = MPCT_DEC_HEAD_W,                                   \
    }

const mpct_model_desc io_md_gpt2 = DEC_DESC_("gpt2", "GPT2", gpt2_tensors, gpt2_shares, "h.%lld.", "transformer.",
                                             gpt2_unused_suffix, MPCT_MD_GELU_TANH, MPCT_MD_LAYERNORM_PRE,
                                             MPCT_MD_POS_LEARNED);
const mpct_model_desc io_md_llama = DEC_DESC_("llama", "Llama", llama_tensors, llama_shares, "layers.%lld.", "model.",
                                              llama_unused_suffix, MPCT_MD_SILU_GATED, MPCT_MD_RMSNORM_PRE,
                                              MPCT_MD_POS_ROTARY);
