/*
 * mpct_model_desc.h — one declarative description per model architecture
 * (prefix mpct_md_): the single source of truth for a model's tensors and
 * its graph options. The model file (tensor table, reader, writer, content
 * hash), `mpct pack`, the float64 reference and the secure pass all read it.
 *
 * A description holds
 *  - the tensor table: per tensor its id, mpct path, kind (matrix/vector),
 *    shape expression in config fields, Hugging Face source name and the
 *    condition under which the model has it. Entries flagged `layer` form
 *    one contiguous block that repeats once per layer; canonical order (the
 *    order of the file and of the content hash) walks the table with that
 *    block repeated, skipping absent tensors.
 *  - the secure weight table: the shares the secure pass makes, in share
 *    order (the order of the share cache and of the weight PRF stream), each
 *    built from up to three tensors by a transform (rows as stored, row 0
 *    only, transpose to [in x out] with the parts side by side, vectors
 *    concatenated), part 0 optionally scaled by 1/sqrt(d_head), and the
 *    shape of the zero placeholder kept when its tensors are absent.
 *    Per-layer shares form one contiguous block as above; an absent share
 *    takes no PRF words.
 *  - the graph options: activation, normalisation type, pooling modes,
 *    positions (learned or rotary), causal attention and the LM head.
 *
 * Registered: "bert", "distilbert", "roberta", "xlm-roberta" (the
 * Hugging Face model_type), all over the BERT tensor and share ids; the
 * decoders "gpt2" and "llama" over the decoder tensor and share ids
 * (MPCT_DEC_*): one pre-norm causal graph whose description picks
 * LayerNorm or RMSNorm, GeLU-tanh or the SiLU-gated MLP, learned or rotary
 * positions, biases or none, and a tied or separate LM head.
 * Adding a BERT-like family: a tensor table with its Hugging Face names and
 * a registry entry in model_desc.c; another graph: a new tensor id enum,
 * a description and the operations its forward pass needs.
 *
 * Uses mpct_core (errors) and the config type of mpct_io.h.
 */
#ifndef MPCT_MODEL_DESC_H
#define MPCT_MODEL_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_io.h"

/* A dimension of a shape, in config fields. */
typedef enum mpct_md_dim {
    MPCT_MD_ONE = 0,   /* the literal 1 */
    MPCT_MD_HIDDEN,    /* cfg.hidden */
    MPCT_MD_FFN,       /* cfg.ffn */
    MPCT_MD_VOCAB,     /* cfg.vocab_size */
    MPCT_MD_POSITIONS, /* cfg.max_positions */
    MPCT_MD_TYPES,     /* cfg.type_vocab_size */
    MPCT_MD_LABELS,    /* cfg.num_labels */
    MPCT_MD_QDIM,      /* cfg.heads * mpct_md_head_dim(cfg): the attention width (hidden for an
                        * encoder without pruned heads) */
    MPCT_MD_KVDIM      /* cfg.kv_heads * cfg.head_dim (decoders) */
} mpct_md_dim;

/* When a tensor is in the model. */
typedef enum mpct_md_when {
    MPCT_MD_ALWAYS = 0,
    MPCT_MD_IF_POOLER, /* pooling is "pooler" */
    MPCT_MD_IF_LABELS, /* num_labels > 0 */
    MPCT_MD_NEVER,     /* the architecture has no such tensor (DistilBERT's token types) */
    MPCT_MD_IF_UNTIED  /* tie_word_embeddings is 0 (a decoder's own LM head) */
} mpct_md_when;

/* How the secure pass turns file tensors ([out x in] / [rows x cols]) into
 * one share. */
typedef enum mpct_md_transform {
    MPCT_MD_ROWS = 0,  /* an embedding table as stored: [rows x cols] */
    MPCT_MD_ROW0,      /* row 0 of a table only, as a vector [cols] */
    MPCT_MD_TRANSPOSE, /* [in x parts*out]: part p in columns p*out .. */
    MPCT_MD_VECTOR     /* [parts*n]: the parts one after another */
} mpct_md_transform;

/* GELU_TANH: GPT-2's "gelu_new", x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)));
 * SILU_GATED: LLaMA's MLP, down(silu(gate x) * up x). */
/* RELU, QUAD: an encoder's substituted activation (the config's "activation":
 * "relu", "quad" = 0.125 x^2 + 0.25 x + 0.5). */
typedef enum mpct_md_activation {
    MPCT_MD_GELU_ERF = 0, MPCT_MD_GELU_TANH, MPCT_MD_SILU_GATED, MPCT_MD_RELU, MPCT_MD_QUAD
} mpct_md_activation;
/* The attention probabilities: softmax, or (the config's "attention":
 * "2quad") (s + 5)^2 normalised over the row's real tokens. */
typedef enum mpct_md_attention { MPCT_MD_SOFTMAX = 0, MPCT_MD_2QUAD } mpct_md_attention;
/* LAYERNORM_POST: BERT, x = LN(x + f(x)); LAYERNORM_PRE: GPT-2, x = x + f(LN(x));
 * RMSNORM_PRE: LLaMA, x = x + f(RMSNorm(x)) (weights only). */
typedef enum mpct_md_norm { MPCT_MD_LAYERNORM_POST = 0, MPCT_MD_LAYERNORM_PRE, MPCT_MD_RMSNORM_PRE } mpct_md_norm;
/* LM: a decoder's logits over the vocabulary at the last position */
typedef enum mpct_md_pooling { MPCT_MD_POOL_MEAN = 0, MPCT_MD_POOL_CLS, MPCT_MD_POOL_POOLER, MPCT_MD_POOL_LM } mpct_md_pooling;
/* LEARNED: a position table; ROTARY: RoPE on Q and K (Hugging Face's
 * rotate_half layout: dimension i pairs with i + head_dim/2). */
typedef enum mpct_md_positions { MPCT_MD_POS_LEARNED = 0, MPCT_MD_POS_ROTARY } mpct_md_positions;
/* The activation of the "pooler" dense layer on h_[CLS]: BertPooler and
 * RoBERTa's classification head use tanh, DistilBERT's pre_classifier ReLU. */
typedef enum mpct_md_pool_act { MPCT_MD_POOL_TANH = 0, MPCT_MD_POOL_RELU } mpct_md_pool_act;

typedef struct mpct_md_tensor {
    int id;          /* the architecture's tensor id (its enum); equals the entry's index */
    const char *path; /* mpct path; for a layer tensor relative to the description's layer_path */
    const char *hf;   /* Hugging Face name (layer tensors relative to hf_layer); see `head` */
    mpct_io_kind kind;
    mpct_md_dim rows, cols; /* file shape [rows x cols]; vectors have cols MPCT_MD_ONE */
    mpct_md_when when;
    int layer; /* 1: one per layer */
    int head;  /* 1: a task head that pack may take from a separate head file, where it is
                * named hf or by hf's last component; never under the model prefix there */
    int top;   /* 1: the HF name is never under the model prefix (RoBERTa's classifier.dense,
                * DistilBERT's pre_classifier: parts of the task head, not of the encoder;
                * LLaMA's lm_head) */
    /* How the file tensor comes out of the HF one (0, 0, 0: as is):
     * conv1d 1: the HF tensor is stored [in x out] (GPT-2's Conv1D) and is
     * transposed to the file's [out x in]; nsplit > 1: the HF tensor holds
     * nsplit tensors of this shape side by side along its out dimension
     * (GPT-2's fused c_attn: q, k, v) and this one is part `split`. */
    int conv1d, split, nsplit;
} mpct_md_tensor;

#define MPCT_MD_MAX_PARTS 3

typedef struct mpct_md_share {
    int id;                     /* the architecture's share id; equals the entry's index */
    int part[MPCT_MD_MAX_PARTS]; /* tensor ids; nparts of them */
    int nparts;
    mpct_md_transform transform;
    int scale_part0;        /* 1: part 0 times 1/sqrt(d_head) (attention scale folded into Q; RoPE,
                             * a rotation, commutes with it) */
    mpct_md_dim absent[2];  /* the zero placeholder's shape when the parts are absent (ndim from the transform) */
} mpct_md_share;

typedef struct mpct_model_desc {
    const char *architecture; /* the config's "architecture" (= Hugging Face model_type) */
    const char *hf_class;     /* Hugging Face class prefix: "Bert" of BertModel, BertForMaskedLM, ... */
    const char *layer_path;   /* printf format with one long long: "/weights/layer.%lld/" */
    const char *hf_layer;     /* printf format with one long long: "encoder.layer.%lld." */
    const char *hf_prefix;    /* optional prefix of every non-head HF name ("bert.") */
    /* checkpoint tensors pack reports as "not used" instead of refusing:
     * full names starting with a prefix, names (without hf_prefix) ending
     * in a suffix; NULL-terminated lists. The description's own tensors
     * that a model leaves out (a pooler with other pooling) are too. */
    const char *const *hf_unused_prefix;
    const char *const *hf_unused_suffix;
    const mpct_md_tensor *tensors;
    size_t ntensors;
    const mpct_md_share *shares;
    size_t nshares;
    const char *const *poolings; /* accepted pooling names, index = mpct_md_pooling */
    size_t npoolings;
    mpct_md_activation activation;
    mpct_md_norm norm;
    mpct_md_pool_act pool_act;
    /* the position row of token 0: 0 for BERT; RoBERTa counts positions
     * from padding_idx + 1 = 2 (Hugging Face's create_position_ids_from_input_ids
     * with the padding token id 1), so a row of t tokens uses rows 2..t+1 */
    int position_offset;
    int pad_id; /* the padding token id that position_offset assumes; -1: none */
    /* 1: the model file must hold the WordPiece vocabulary (vocab.txt);
     * 0: the checkpoint ships another tokenizer, and a model file without
     * one takes token ids only */
    int wordpiece;
    /* decoders: 1 (causal attention, pre-norm, an LM head over the
     * vocabulary; the encoder passes refuse them) */
    int decoder;
    mpct_md_positions positions;
    /* the word-embedding entry that a tied LM head reads (-1: none) and the
     * LM head's own entry (present when untied; -1: none) */
    int tied_from, lm_head;
} mpct_model_desc;

/* The graph options of one model: the description's plus the config's. */
typedef struct mpct_md_graph {
    mpct_md_pooling pooling;
    int normalize;     /* L2-normalise the pooled vector */
    int classifier;    /* num_labels > 0 */
    size_t heads, d_head;
    double attn_scale; /* 1/sqrt(d_head), folded into Q's weight and bias */
    double eps;
    mpct_md_activation activation; /* the description's, or the config's substitution */
    mpct_md_attention attention;
    mpct_md_norm norm;
    mpct_md_pool_act pool_act;
    size_t pos_offset;  /* the description's position_offset */
    size_t max_tokens;  /* max_positions - pos_offset: the longest input */
    int pad_id;         /* the description's pad_id */
    int decoder;        /* the description's decoder flag: causal, pre-norm, LM head */
    mpct_md_positions positions;
    size_t kv_heads;    /* decoders: key/value heads (heads for GPT-2) */
    double rope_theta;  /* rotary positions: the base */
    int tied;           /* decoders: the LM head is the word embedding */
} mpct_md_graph;

/* ---- BERT ---- */
enum mpct_bert_tensor {
    MPCT_BERT_WORD, MPCT_BERT_POSITION, MPCT_BERT_TOKEN_TYPE, MPCT_BERT_EMB_LN_G, MPCT_BERT_EMB_LN_B,
    MPCT_BERT_Q_W, MPCT_BERT_Q_B, MPCT_BERT_K_W, MPCT_BERT_K_B, MPCT_BERT_V_W, MPCT_BERT_V_B,
    MPCT_BERT_O_W, MPCT_BERT_O_B, MPCT_BERT_ATT_LN_G, MPCT_BERT_ATT_LN_B,
    MPCT_BERT_UP_W, MPCT_BERT_UP_B, MPCT_BERT_DOWN_W, MPCT_BERT_DOWN_B, MPCT_BERT_FFN_LN_G, MPCT_BERT_FFN_LN_B,
    MPCT_BERT_POOL_W, MPCT_BERT_POOL_B, MPCT_BERT_CLS_W, MPCT_BERT_CLS_B,
    MPCT_BERT_NTENSORS
};
enum mpct_bert_share {
    MPCT_BERT_S_WORD, MPCT_BERT_S_POSITION, MPCT_BERT_S_TYPE0, MPCT_BERT_S_EMB_LN_G, MPCT_BERT_S_EMB_LN_B,
    MPCT_BERT_S_CLS_W, MPCT_BERT_S_CLS_B,
    MPCT_BERT_S_QKV_W, MPCT_BERT_S_QKV_B, MPCT_BERT_S_O_W, MPCT_BERT_S_O_B, MPCT_BERT_S_ATT_LN_G,
    MPCT_BERT_S_ATT_LN_B, MPCT_BERT_S_UP_W, MPCT_BERT_S_UP_B, MPCT_BERT_S_DOWN_W, MPCT_BERT_S_DOWN_B,
    MPCT_BERT_S_FFN_LN_G, MPCT_BERT_S_FFN_LN_B,
    MPCT_BERT_S_POOL_W, MPCT_BERT_S_POOL_B,
    MPCT_BERT_NSHARES
};

/* ---- decoders (GPT-2, LLaMA) ----
 * One pre-norm causal graph: per layer x += o(attn(norm1(x))), x += mlp(norm2(x));
 * then norm_f and the LM head (the word table when tied). Tensors a family
 * lacks are MPCT_MD_NEVER (GPT-2: gate; LLaMA: position table, every bias,
 * the norms' betas). */
enum mpct_dec_tensor {
    MPCT_DEC_WORD, MPCT_DEC_POSITION,
    MPCT_DEC_LN1_G, MPCT_DEC_LN1_B,
    MPCT_DEC_Q_W, MPCT_DEC_Q_B, MPCT_DEC_K_W, MPCT_DEC_K_B, MPCT_DEC_V_W, MPCT_DEC_V_B, MPCT_DEC_O_W, MPCT_DEC_O_B,
    MPCT_DEC_LN2_G, MPCT_DEC_LN2_B,
    MPCT_DEC_GATE_W, MPCT_DEC_UP_W, MPCT_DEC_UP_B, MPCT_DEC_DOWN_W, MPCT_DEC_DOWN_B,
    MPCT_DEC_NORM_G, MPCT_DEC_NORM_B, MPCT_DEC_HEAD_W,
    MPCT_DEC_NTENSORS
};
/* Share order of the secure decoder pass: the word table (rows, for the
 * one-hot lookup), positions, then per layer norm1, QKV (Q scaled by
 * 1/sqrt(d_head); [h x (q + 2 kv)] for grouped-query attention), O,
 * norm2, the gate and up projections side by side ([h x 2f]; up alone for
 * GPT-2), down; then norm_f and the LM head [h x V] (a zero placeholder
 * when tied: the pass multiplies by the word share's transpose). */
enum mpct_dec_share {
    MPCT_DEC_S_WORD, MPCT_DEC_S_POSITION,
    MPCT_DEC_S_LN1_G, MPCT_DEC_S_LN1_B, MPCT_DEC_S_QKV_W, MPCT_DEC_S_QKV_B, MPCT_DEC_S_O_W, MPCT_DEC_S_O_B,
    MPCT_DEC_S_LN2_G, MPCT_DEC_S_LN2_B, MPCT_DEC_S_GATE_UP_W, MPCT_DEC_S_UP_B, MPCT_DEC_S_DOWN_W, MPCT_DEC_S_DOWN_B,
    MPCT_DEC_S_NORM_G, MPCT_DEC_S_NORM_B, MPCT_DEC_S_HEAD_W,
    MPCT_DEC_NSHARES
};

/* 1 when cfg's architecture is a decoder. */
int mpct_md_is_decoder(const mpct_model_config *cfg);
/* MPCT_ERR_UNSUPPORTED "WHAT: architecture \"gpt2\" is a decoder: ..." for a
 * decoder, for the encoder paths (run, warm, bench model, embed). */
mpct_status mpct_md_require_encoder(const mpct_model_config *cfg, const char *what) MPCT_WUR;

/* DistilBERT, RoBERTa and XLM-RoBERTa use the BERT tensor and share ids
 * (the forward pass is one): their descriptions differ in Hugging Face
 * names, presence rules, the position offset and the pooler activation. */

/* ---- lookup ---- */
/* The description of an architecture, or NULL. */
const mpct_model_desc *mpct_md_find(const char *architecture);
/* The i-th registered description (NULL past the end). */
const mpct_model_desc *mpct_md_at(size_t i);
/* The description of cfg's architecture; MPCT_ERR_UNSUPPORTED naming the
 * architecture and the known ones otherwise. `what` names the source. */
mpct_status mpct_md_for(const mpct_model_config *cfg, const char *what, const mpct_model_desc **out) MPCT_WUR;

/* ---- the config through the description ---- */
size_t mpct_md_dim_value(const mpct_model_config *cfg, mpct_md_dim d);
/* The width of one attention head: cfg.head_dim when set (decoders, and
 * encoders with pruned heads), else hidden / heads. */
int64_t mpct_md_head_dim(const mpct_model_config *cfg);
int mpct_md_present(const mpct_model_config *cfg, mpct_md_when w);
/* The graph options; MPCT_ERR_UNSUPPORTED for a pooling the architecture
 * does not have. */
mpct_status mpct_md_graph_of(const mpct_model_desc *md, const mpct_model_config *cfg, const char *what,
                             mpct_md_graph *out) MPCT_WUR;

/* The longest input of cfg's model: max_positions less the position offset
 * of its architecture (512 for RoBERTa's 514); max_positions without a
 * description. */
int64_t mpct_md_max_tokens(const mpct_model_config *cfg);

/* ---- tensors in canonical order ---- */
size_t mpct_md_tensor_count(const mpct_model_desc *md, const mpct_model_config *cfg);
/* The i-th tensor in canonical order: its table entry and layer (-1 for a
 * tensor outside the layers). MPCT_ERR_ARG past the end. */
mpct_status mpct_md_tensor_locate(const mpct_model_desc *md, const mpct_model_config *cfg, size_t i,
                                  const mpct_md_tensor **t, int64_t *layer) MPCT_WUR;
/* mpct path and shape of table entry t at layer (ignored outside layers). */
void mpct_md_tensor_desc(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_tensor *t,
                         int64_t layer, mpct_io_tensor_desc *out);
/* Hugging Face name of table entry t at layer, without the model prefix. */
void mpct_md_hf_name(const mpct_model_desc *md, const mpct_md_tensor *t, int64_t layer, char *buf, size_t size);

/* ---- secure weights in share order ---- */
size_t mpct_md_share_count(const mpct_model_desc *md, const mpct_model_config *cfg);
/* The i-th share in share order: its entry and layer (-1 outside layers). */
mpct_status mpct_md_share_locate(const mpct_model_desc *md, const mpct_model_config *cfg, size_t i,
                                 const mpct_md_share **s, int64_t *layer) MPCT_WUR;
/* 1 when the model has the share's tensors (else it is a zero placeholder). */
int mpct_md_share_present(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_share *s);
/* The share's shape: ndim 1 or 2, dim[1] = 1 for 1-D. */
void mpct_md_share_shape(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_share *s,
                         int *ndim, size_t dim[2]);

#endif
