/*
 * model_desc.c — the model descriptions (see mpct_model_desc.h) and the
 * walks over them: canonical tensor order, secure share order, shapes,
 * Hugging Face names and graph options.
 *
 * Invariants: entry i of a table has id i; the `layer` entries of each
 * table are contiguous; a share's parts are all present or all absent (they
 * share one condition). The BERT tables fix the file format's canonical
 * order (FORMAT.md) and the secure pass's share order, which the content
 * hash, the share cache and the weight PRF stream positions depend on.
 *
 * Uses mpct_core.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

/* ---- BERT (Hugging Face BertModel, post-LayerNorm, exact-erf GeLU) ---- */

#define T_(id, path, hf, kind, r, c, when, layer, head) [id] = {id, path, hf, kind, r, c, when, layer, head}
#define M_ MPCT_IO_MATRIX
#define V_ MPCT_IO_VECTOR
#define H_ MPCT_MD_HIDDEN
#define F_ MPCT_MD_FFN
#define O_ MPCT_MD_ONE
#define A_ MPCT_MD_QDIM /* the attention width heads x d_head: hidden unless heads were pruned */

/* The encoder's tensors under BERT's names (BERT, RoBERTa, XLM-R). */
#define BERT_ENCODER_TENSORS_ \
    T_(MPCT_BERT_WORD, "/weights/embeddings/word", "embeddings.word_embeddings.weight", M_, MPCT_MD_VOCAB, H_, \
       MPCT_MD_ALWAYS, 0, 0), \
    T_(MPCT_BERT_POSITION, "/weights/embeddings/position", "embeddings.position_embeddings.weight", M_, \
       MPCT_MD_POSITIONS, H_, MPCT_MD_ALWAYS, 0, 0), \
    T_(MPCT_BERT_TOKEN_TYPE, "/weights/embeddings/token_type", "embeddings.token_type_embeddings.weight", M_, \
       MPCT_MD_TYPES, H_, MPCT_MD_ALWAYS, 0, 0), \
    T_(MPCT_BERT_EMB_LN_G, "/weights/embeddings/ln/gamma", "embeddings.LayerNorm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 0, 0), \
    T_(MPCT_BERT_EMB_LN_B, "/weights/embeddings/ln/beta", "embeddings.LayerNorm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 0, 0), \
    T_(MPCT_BERT_Q_W, "attention/q/weight", "attention.self.query.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_Q_B, "attention/q/bias", "attention.self.query.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_K_W, "attention/k/weight", "attention.self.key.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_K_B, "attention/k/bias", "attention.self.key.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_V_W, "attention/v/weight", "attention.self.value.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_V_B, "attention/v/bias", "attention.self.value.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_O_W, "attention/o/weight", "attention.output.dense.weight", M_, H_, A_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_O_B, "attention/o/bias", "attention.output.dense.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_ATT_LN_G, "attention/ln/gamma", "attention.output.LayerNorm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_ATT_LN_B, "attention/ln/beta", "attention.output.LayerNorm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_UP_W, "ffn/up/weight", "intermediate.dense.weight", M_, F_, H_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_UP_B, "ffn/up/bias", "intermediate.dense.bias", V_, F_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_DOWN_W, "ffn/down/weight", "output.dense.weight", M_, H_, F_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_DOWN_B, "ffn/down/bias", "output.dense.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_FFN_LN_G, "ffn/ln/gamma", "output.LayerNorm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0), \
    T_(MPCT_BERT_FFN_LN_B, "ffn/ln/beta", "output.LayerNorm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),

static const mpct_md_tensor bert_tensors[MPCT_BERT_NTENSORS] = {
    BERT_ENCODER_TENSORS_
    T_(MPCT_BERT_POOL_W, "/weights/pooler/weight", "pooler.dense.weight", M_, H_, H_, MPCT_MD_IF_POOLER, 0, 0),
    T_(MPCT_BERT_POOL_B, "/weights/pooler/bias", "pooler.dense.bias", V_, H_, O_, MPCT_MD_IF_POOLER, 0, 0),
    T_(MPCT_BERT_CLS_W, "/weights/classifier/weight", "classifier.weight", M_, MPCT_MD_LABELS, H_, MPCT_MD_IF_LABELS,
       0, 1),
    T_(MPCT_BERT_CLS_B, "/weights/classifier/bias", "classifier.bias", V_, MPCT_MD_LABELS, O_, MPCT_MD_IF_LABELS, 0, 1),
};

#define S1_(id, t, tr, a0, a1) [id] = {id, {t, -1, -1}, 1, tr, 0, {a0, a1}}
#define S3_(id, q, k, v, tr) [id] = {id, {q, k, v}, 3, tr, 1, {O_, O_}}

static const mpct_md_share bert_shares[MPCT_BERT_NSHARES] = {
    S1_(MPCT_BERT_S_WORD, MPCT_BERT_WORD, MPCT_MD_ROWS, O_, O_),
    S1_(MPCT_BERT_S_POSITION, MPCT_BERT_POSITION, MPCT_MD_ROWS, O_, O_),
    S1_(MPCT_BERT_S_TYPE0, MPCT_BERT_TOKEN_TYPE, MPCT_MD_ROW0, H_, O_), /* inputs carry token type 0 only; zeros without */
    S1_(MPCT_BERT_S_EMB_LN_G, MPCT_BERT_EMB_LN_G, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_EMB_LN_B, MPCT_BERT_EMB_LN_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_CLS_W, MPCT_BERT_CLS_W, MPCT_MD_TRANSPOSE, H_, O_),
    S1_(MPCT_BERT_S_CLS_B, MPCT_BERT_CLS_B, MPCT_MD_VECTOR, O_, O_),
    S3_(MPCT_BERT_S_QKV_W, MPCT_BERT_Q_W, MPCT_BERT_K_W, MPCT_BERT_V_W, MPCT_MD_TRANSPOSE),
    S3_(MPCT_BERT_S_QKV_B, MPCT_BERT_Q_B, MPCT_BERT_K_B, MPCT_BERT_V_B, MPCT_MD_VECTOR),
    S1_(MPCT_BERT_S_O_W, MPCT_BERT_O_W, MPCT_MD_TRANSPOSE, O_, O_),
    S1_(MPCT_BERT_S_O_B, MPCT_BERT_O_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_ATT_LN_G, MPCT_BERT_ATT_LN_G, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_ATT_LN_B, MPCT_BERT_ATT_LN_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_UP_W, MPCT_BERT_UP_W, MPCT_MD_TRANSPOSE, O_, O_),
    S1_(MPCT_BERT_S_UP_B, MPCT_BERT_UP_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_DOWN_W, MPCT_BERT_DOWN_W, MPCT_MD_TRANSPOSE, O_, O_),
    S1_(MPCT_BERT_S_DOWN_B, MPCT_BERT_DOWN_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_FFN_LN_G, MPCT_BERT_FFN_LN_G, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_FFN_LN_B, MPCT_BERT_FFN_LN_B, MPCT_MD_VECTOR, O_, O_),
    S1_(MPCT_BERT_S_POOL_W, MPCT_BERT_POOL_W, MPCT_MD_TRANSPOSE, O_, O_),
    S1_(MPCT_BERT_S_POOL_B, MPCT_BERT_POOL_B, MPCT_MD_VECTOR, O_, O_),
};

/* ---- RoBERTa and XLM-RoBERTa (RobertaModel / XLMRobertaModel: BERT's
 * encoder under "roberta.", positions from padding_idx + 1; the
 * *ForSequenceClassification head is classifier.dense + tanh, then
 * classifier.out_proj, on h_[<s>]: the "pooler" slots) ---- */

#define TT_(id, path, hf, kind, r, c, when) [id] = {id, path, hf, kind, r, c, when, 0, 0, 1}

static const mpct_md_tensor roberta_tensors[MPCT_BERT_NTENSORS] = {
    BERT_ENCODER_TENSORS_
    TT_(MPCT_BERT_POOL_W, "/weights/pooler/weight", "classifier.dense.weight", M_, H_, H_, MPCT_MD_IF_POOLER),
    TT_(MPCT_BERT_POOL_B, "/weights/pooler/bias", "classifier.dense.bias", V_, H_, O_, MPCT_MD_IF_POOLER),
    T_(MPCT_BERT_CLS_W, "/weights/classifier/weight", "classifier.out_proj.weight", M_, MPCT_MD_LABELS, H_,
       MPCT_MD_IF_LABELS, 0, 1),
    T_(MPCT_BERT_CLS_B, "/weights/classifier/bias", "classifier.out_proj.bias", V_, MPCT_MD_LABELS, O_,
       MPCT_MD_IF_LABELS, 0, 1),
};

/* ---- DistilBERT (DistilBertModel: no token types, its own names under
 * "distilbert."; DistilBertForSequenceClassification's head is
 * pre_classifier + ReLU, then classifier, on h_[CLS]: the "pooler" slots;
 * the LayerNorm epsilon is fixed at 1e-12 in Hugging Face's code) ---- */

static const mpct_md_tensor distilbert_tensors[MPCT_BERT_NTENSORS] = {
    T_(MPCT_BERT_WORD, "/weights/embeddings/word", "embeddings.word_embeddings.weight", M_, MPCT_MD_VOCAB, H_,
       MPCT_MD_ALWAYS, 0, 0),
    T_(MPCT_BERT_POSITION, "/weights/embeddings/position", "embeddings.position_embeddings.weight", M_,
       MPCT_MD_POSITIONS, H_, MPCT_MD_ALWAYS, 0, 0),
    T_(MPCT_BERT_TOKEN_TYPE, "/weights/embeddings/token_type", "", M_, MPCT_MD_TYPES, H_, MPCT_MD_NEVER, 0, 0),
    T_(MPCT_BERT_EMB_LN_G, "/weights/embeddings/ln/gamma", "embeddings.LayerNorm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 0, 0),
    T_(MPCT_BERT_EMB_LN_B, "/weights/embeddings/ln/beta", "embeddings.LayerNorm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 0, 0),
    T_(MPCT_BERT_Q_W, "attention/q/weight", "attention.q_lin.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_Q_B, "attention/q/bias", "attention.q_lin.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_K_W, "attention/k/weight", "attention.k_lin.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_K_B, "attention/k/bias", "attention.k_lin.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_V_W, "attention/v/weight", "attention.v_lin.weight", M_, A_, H_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_V_B, "attention/v/bias", "attention.v_lin.bias", V_, A_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_O_W, "attention/o/weight", "attention.out_lin.weight", M_, H_, A_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_O_B, "attention/o/bias", "attention.out_lin.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_ATT_LN_G, "attention/ln/gamma", "sa_layer_norm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_ATT_LN_B, "attention/ln/beta", "sa_layer_norm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_UP_W, "ffn/up/weight", "ffn.lin1.weight", M_, F_, H_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_UP_B, "ffn/up/bias", "ffn.lin1.bias", V_, F_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_DOWN_W, "ffn/down/weight", "ffn.lin2.weight", M_, H_, F_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_DOWN_B, "ffn/down/bias", "ffn.lin2.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_FFN_LN_G, "ffn/ln/gamma", "output_layer_norm.weight", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    T_(MPCT_BERT_FFN_LN_B, "ffn/ln/beta", "output_layer_norm.bias", V_, H_, O_, MPCT_MD_ALWAYS, 1, 0),
    TT_(MPCT_BERT_POOL_W, "/weights/pooler/weight", "pre_classifier.weight", M_, H_, H_, MPCT_MD_IF_POOLER),
    TT_(MPCT_BERT_POOL_B, "/weights/pooler/bias", "pre_classifier.bias", V_, H_, O_, MPCT_MD_IF_POOLER),
    T_(MPCT_BERT_CLS_W, "/weights/classifier/weight", "classifier.weight", M_, MPCT_MD_LABELS, H_, MPCT_MD_IF_LABELS,
       0, 1),
    T_(MPCT_BERT_CLS_B, "/weights/classifier/bias", "classifier.bias", V_, MPCT_MD_LABELS, O_, MPCT_MD_IF_LABELS, 0, 1),
};

/* RobertaForMaskedLM's lm_head; RobertaModel's pooler (unused by every
 * pooling: the sequence classifier reads classifier.dense instead) */
static const char *const roberta_unused_prefix[] = {"lm_head.", "pooler.", NULL};
/* DistilBertForMaskedLM's head */
static const char *const distilbert_unused_prefix[] = {"vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
                                                       NULL};

static const char *const bert_poolings[] = {[MPCT_MD_POOL_MEAN] = "mean", [MPCT_MD_POOL_CLS] = "cls",
                                            [MPCT_MD_POOL_POOLER] = "pooler"};

/* pretraining heads (BertForMaskedLM, BertForPreTraining) and buffers */
static const char *const bert_unused_prefix[] = {"cls.predictions.", "cls.seq_relationship.", NULL};
static const char *const bert_unused_suffix[] = {"position_ids", NULL};

#define DESC_(arch, cls, tab, layer, prefix, unused, pact, off, pad)                                              \
    {                                                                                                                  \
        .architecture = arch, .hf_class = cls, .layer_path = "/weights/layer.%lld/", .hf_layer = layer,              \
        .hf_prefix = prefix, .hf_unused_prefix = unused, .hf_unused_suffix = bert_unused_suffix, .tensors = tab,     \
        .ntensors = MPCT_BERT_NTENSORS, .shares = bert_shares, .nshares = MPCT_BERT_NSHARES,                         \
        .poolings = bert_poolings, .npoolings = sizeof bert_poolings / sizeof bert_poolings[0],                       \
        .activation = MPCT_MD_GELU_ERF, .norm = MPCT_MD_LAYERNORM_POST, .pool_act = pact, .position_offset = off,     \
        .pad_id = pad, .wordpiece = pad < 0,                                                                           \
    }

static const mpct_model_desc md_registry[] = {
    DESC_("bert", "Bert", bert_tensors, "encoder.layer.%lld.", "bert.", bert_unused_prefix, MPCT_MD_POOL_TANH, 0, -1),
    DESC_("distilbert", "DistilBert", distilbert_tensors, "transformer.layer.%lld.", "distilbert.",
          distilbert_unused_prefix, MPCT_MD_POOL_RELU, 0, -1),
    DESC_("roberta", "Roberta", roberta_tensors, "encoder.layer.%lld.", "roberta.", roberta_unused_prefix,
          MPCT_MD_POOL_TANH, 2, 1),
    DESC_("xlm-roberta", "XLMRoberta", roberta_tensors, "encoder.layer.%lld.", "roberta.", roberta_unused_prefix,
          MPCT_MD_POOL_TANH, 2, 1),
};

/* the decoders (model_desc_dec.c) after the encoders */
static const mpct_model_desc *const md_all[] = {&md_registry[0], &md_registry[1], &md_registry[2], &md_registry[3],
                                                &io_md_gpt2, &io_md_llama};
_Static_assert(sizeof md_registry / sizeof md_registry[0] == 4, "md_all lists every encoder description");

const mpct_model_desc *mpct_md_at(size_t i)
{
    return i < sizeof md_all / sizeof md_all[0] ? md_all[i] : NULL;
}

int mpct_md_is_decoder(const mpct_model_config *cfg)
{
    const mpct_model_desc *md = mpct_md_find(cfg->architecture);
    return md && md->decoder;
}

mpct_status mpct_md_require_encoder(const mpct_model_config *cfg, const char *what)
{
    if (!mpct_md_is_decoder(cfg)) return MPCT_OK;
    return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                          "%s: architecture '%s' is a decoder: this command computes encoder outputs (embeddings, "
                          "classes); a decoder generates text: mpct generate (mpct bench generate for its cost)",
                          what, cfg->architecture);
}

const mpct_model_desc *mpct_md_find(const char *architecture)
{
    for (size_t i = 0; mpct_md_at(i); i++)
        if (strcmp(mpct_md_at(i)->architecture, architecture) == 0) return mpct_md_at(i);
    return NULL;
}

/* "\"a\"", "\"a\" or \"b\"", "\"a\", \"b\" or \"c\"" into buf. */
void io_md_join(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t p = 0;
    buf[0] = '\0';
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < n; i++) total += names[i] != NULL;
    for (size_t i = 0; i < n && p < size; i++) {
        if (!names[i]) continue; /* a pooling slot the architecture does not have */
        p += (size_t)snprintf(buf + p, size - p, "%s\"%s\"", shown == 0 ? "" : shown + 1 == total ? " or " : ", ",
                              names[i]);
        shown++;
    }
}

mpct_status mpct_md_for(const mpct_model_config *cfg, const char *what, const mpct_model_desc **out)
{
    *out = mpct_md_find(cfg->architecture);
    if (*out) return MPCT_OK;
    const char *names[8];
    size_t n = 0;
    for (; n < 8 && mpct_md_at(n); n++) names[n] = mpct_md_at(n)->architecture;
    char known[128];
    io_md_join(known, sizeof known, names, n);
    return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: architecture \"%s\" is not supported (expected %s)", what,
                          cfg->architecture, known);
}

int64_t mpct_md_head_dim(const mpct_model_config *c)
{
    if (c->head_dim > 0) return c->head_dim;
    return c->heads > 0 ? c->hidden / c->heads : 0;
}

size_t mpct_md_dim_value(const mpct_model_config *c, mpct_md_dim d)
{
    switch (d) {
    case MPCT_MD_HIDDEN: return (size_t)c->hidden;
    case MPCT_MD_FFN: return (size_t)c->ffn;
    case MPCT_MD_VOCAB: return (size_t)c->vocab_size;
    case MPCT_MD_POSITIONS: return (size_t)c->max_positions;
    case MPCT_MD_TYPES: return (size_t)c->type_vocab_size;
    case MPCT_MD_LABELS: return (size_t)c->num_labels;
    case MPCT_MD_QDIM: return (size_t)(c->heads * mpct_md_head_dim(c));
    case MPCT_MD_KVDIM: return (size_t)(c->kv_heads * c->head_dim);
    case MPCT_MD_ONE: break;
    }
    return 1;
}

int mpct_md_present(const mpct_model_config *c, mpct_md_when w)
{
    switch (w) {
    case MPCT_MD_IF_POOLER: return strcmp(c->pooling, "pooler") == 0;
    case MPCT_MD_IF_LABELS: return c->num_labels > 0;
    case MPCT_MD_NEVER: return 0;
    case MPCT_MD_IF_UNTIED: return !c->tie_word_embeddings;
    case MPCT_MD_ALWAYS: break;
    }
    return 1;
}

/* The config's substitutions (activation, attention: "" = the
 * description's own) into g; encoders only, known names only. */
static mpct_status io_md_subst(const mpct_model_desc *md, const mpct_model_config *c, const char *what,
                               mpct_md_graph *g)
{
    g->activation = md->activation;
    g->attention = MPCT_MD_SOFTMAX;
    if (md->decoder && (c->activation[0] || c->attention[0]))
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s \"%s\" is supported for encoders only, not %s", what,
                              c->activation[0] ? "activation" : "attention",
                              c->activation[0] ? c->activation : c->attention, c->architecture);
    if (strcmp(c->activation, "relu") == 0)
        g->activation = MPCT_MD_RELU;
    else if (strcmp(c->activation, "quad") == 0)
        g->activation = MPCT_MD_QUAD;
    else if (c->activation[0])
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: activation \"%.*s\" is not supported (expected \"relu\" "
                              "or \"quad\", or none for the architecture's own)", what,
                              (int)sizeof c->activation, c->activation);
    if (strcmp(c->attention, "2quad") == 0)
        g->attention = MPCT_MD_2QUAD;
    else if (c->attention[0])
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: attention \"%.*s\" is not supported (expected \"2quad\", "
                              "or none for softmax)", what, (int)sizeof c->attention, c->attention);
    return MPCT_OK;
}

mpct_status mpct_md_graph_of(const mpct_model_desc *md, const mpct_model_config *c, const char *what,
                             mpct_md_graph *g)
{
    memset(g, 0, sizeof *g);
    size_t p = 0;
    while (p < md->npoolings && (!md->poolings[p] || strcmp(c->pooling, md->poolings[p]) != 0)) p++;
    if (p == md->npoolings) {
        char known[128];
        io_md_join(known, sizeof known, md->poolings, md->npoolings);
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: pooling \"%s\" is not supported (expected %s)", what,
                              c->pooling, known);
    }
    g->pooling = (mpct_md_pooling)p;
    g->normalize = c->normalize != 0;
    g->classifier = c->num_labels > 0;
    g->heads = (size_t)c->heads;
    g->d_head = (size_t)mpct_md_head_dim(c);
    g->attn_scale = g->d_head ? 1.0 / sqrt((double)g->d_head) : 0.0;
    g->eps = c->layer_norm_eps;
    MPCT_CALL(io_md_subst(md, c, what, g));
    g->norm = md->norm;
    g->pool_act = md->pool_act;
    g->pos_offset = (size_t)md->position_offset;
    g->pad_id = md->pad_id;
    g->decoder = md->decoder;
    g->positions = md->positions;
    if (md->decoder) {
        g->d_head = (size_t)c->head_dim;
        g->attn_scale = g->d_head ? 1.0 / sqrt((double)g->d_head) : 0.0;
        g->kv_heads = (size_t)c->kv_heads;
        g->rope_theta = c->rope_theta;
        g->tied = c->tie_word_embeddings != 0;
    }
    if (c->max_positions <= md->position_offset)
        return mpct_error_set(MPCT_ERR_RANGE,
                              "%s: max_positions = %lld leaves no position for a token (architecture \"%s\" starts "
                              "at position %d)",
                              what, (long long)c->max_positions, md->architecture, md->position_offset);
    g->max_tokens = (size_t)c->max_positions - g->pos_offset;
    return MPCT_OK;
}

int64_t mpct_md_max_tokens(const mpct_model_config *cfg)
{
    const mpct_model_desc *md = mpct_md_find(cfg->architecture);
    return cfg->max_positions - (md ? md->position_offset : 0);
}

/* ---- walks ---- */

static int md_tensor_in_layer(const mpct_model_desc *md, size_t i) { return md->tensors[i].layer; }
static int md_share_in_layer(const mpct_model_desc *md, size_t i) { return md->tensors[md->shares[i].part[0]].layer; }

/* Where the contiguous per-layer block of a table of n entries starts and
 * how long it is (0, 0 for none). */
static void md_block(const mpct_model_desc *md, size_t n, int (*in_layer)(const mpct_model_desc *, size_t),
                     size_t *start, size_t *len)
{
    *start = *len = 0;
    for (size_t i = 0; i < n; i++) {
        const int f = in_layer(md, i);
        if (f && *len == 0) *start = i;
        *len += f != 0;
    }
}

/* Entry and layer of slot k of the expanded walk (every entry, the layer
 * block repeated L times): -1 past the end. */
static long md_expand(size_t n, size_t start, size_t len, int64_t L, size_t k, int64_t *layer)
{
    *layer = -1;
    if (k < start) return (long)k;
    k -= start;
    if (k < len * (size_t)L) {
        *layer = (int64_t)(k / len);
        return (long)(start + k % len);
    }
    k -= len * (size_t)L;
    return start + len + k < n ? (long)(start + len + k) : -1;
}

size_t mpct_md_tensor_count(const mpct_model_desc *md, const mpct_model_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < md->ntensors; i++) {
        const mpct_md_tensor *t = &md->tensors[i];
        if (mpct_md_present(cfg, t->when)) n += t->layer ? (size_t)cfg->num_layers : 1;
    }
    return n;
}

mpct_status mpct_md_tensor_locate(const mpct_model_desc *md, const mpct_model_config *cfg, size_t i,
                                  const mpct_md_tensor **t, int64_t *layer)
{
    size_t start, len, k = 0, seen = 0;
    md_block(md, md->ntensors, md_tensor_in_layer, &start, &len);
    for (long e; (e = md_expand(md->ntensors, start, len, cfg->num_layers, k, layer)) >= 0; k++) {
        if (!mpct_md_present(cfg, md->tensors[e].when)) continue;
        if (seen++ == i) {
            *t = &md->tensors[e];
            return MPCT_OK;
        }
    }
    *t = NULL;
    return mpct_error_set(MPCT_ERR_ARG, "tensor index %zu out of range (model has %zu)", i, seen);
}

void mpct_md_tensor_desc(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_tensor *t,
                         int64_t layer, mpct_io_tensor_desc *d)
{
    memset(d, 0, sizeof *d);
    if (t->layer) {
        char pre[MPCT_IO_NAME_MAX];
        snprintf(pre, sizeof pre, md->layer_path, (long long)layer);
        snprintf(d->name, sizeof d->name, "%s%s", pre, t->path);
    } else {
        snprintf(d->name, sizeof d->name, "%s", t->path);
    }
    d->kind = t->kind;
    d->ndim = t->kind == MPCT_IO_MATRIX ? 2 : 1;
    d->dim[0] = mpct_md_dim_value(cfg, t->rows);
    d->dim[1] = t->kind == MPCT_IO_MATRIX ? mpct_md_dim_value(cfg, t->cols) : 1;
}

void mpct_md_hf_name(const mpct_model_desc *md, const mpct_md_tensor *t, int64_t layer, char *buf, size_t size)
{
    if (t->layer) {
        char pre[96];
        snprintf(pre, sizeof pre, md->hf_layer, (long long)layer);
        snprintf(buf, size, "%s%s", pre, t->hf);
    } else {
        snprintf(buf, size, "%s", t->hf);
    }
}

size_t mpct_md_share_count(const mpct_model_desc *md, const mpct_model_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < md->nshares; i++) n += md_share_in_layer(md, i) ? (size_t)cfg->num_layers : 1;
    return n;
}

mpct_status mpct_md_share_locate(const mpct_model_desc *md, const mpct_model_config *cfg, size_t i,
                                 const mpct_md_share **s, int64_t *layer)
{
    size_t start, len;
    md_block(md, md->nshares, md_share_in_layer, &start, &len);
    const long e = md_expand(md->nshares, start, len, cfg->num_layers, i, layer);
    if (e < 0) {
        *s = NULL;
        return mpct_error_set(MPCT_ERR_ARG, "share index %zu out of range (model has %zu)", i,
                              mpct_md_share_count(md, cfg));
    }
    *s = &md->shares[e];
    return MPCT_OK;
}

int mpct_md_share_present(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_share *s)
{
    return mpct_md_present(cfg, md->tensors[s->part[0]].when);
}

void mpct_md_share_shape(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_md_share *s, int *ndim,
                         size_t dim[2])
{
    const mpct_md_tensor *t = &md->tensors[s->part[0]];
    const int two = s->transform == MPCT_MD_ROWS || s->transform == MPCT_MD_TRANSPOSE;
    const size_t np = (size_t)s->nparts;
    *ndim = two ? 2 : 1;
    dim[1] = 1;
    if (!mpct_md_share_present(md, cfg, s)) {
        dim[0] = mpct_md_dim_value(cfg, s->absent[0]);
        if (two) dim[1] = mpct_md_dim_value(cfg, s->absent[1]);
        return;
    }
    const size_t r = mpct_md_dim_value(cfg, t->rows), c = mpct_md_dim_value(cfg, t->cols);
    size_t sum = 0; /* the parts' rows: q, k, v differ under grouped-query attention */
    for (size_t p = 0; p < np; p++) sum += mpct_md_dim_value(cfg, md->tensors[s->part[p]].rows);
    switch (s->transform) {
    case MPCT_MD_ROWS: dim[0] = r, dim[1] = c; break;
    case MPCT_MD_ROW0: dim[0] = c; break;
    case MPCT_MD_TRANSPOSE: dim[0] = c, dim[1] = sum; break;
    case MPCT_MD_VECTOR: dim[0] = sum; break;
    }
}
