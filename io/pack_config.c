/*
 * pack_config.c — what `mpct pack` reads besides the weights: a Hugging
 * Face config.json of one of the families with a model description
 * (model_type "bert", "distilbert", "roberta", "xlm-roberta"; each family's
 * own field names), its "architectures" (the encoder or the family's
 * ForSequenceClassification head), and sentence-transformers' pooling
 * files (1_Pooling/config.json, modules.json).
 *
 * Decoders (model_type "gpt2", "llama"): GPT-2's n_* fields or LLaMA's,
 * with grouped-query heads, head_dim, RoPE base and tie_word_embeddings.
 *
 * Invariant: only what the reference forward pass computes is accepted:
 * exact-erf GeLU (or ReLU, or the optimizer's substitutions: Quad GeLU,
 * 2Quad attention), learned absolute positions, an encoder without
 * cross-attention, mean/CLS pooling alone, Transformer/Pooling/Normalize
 * modules; for decoders GeLU-tanh (GPT-2), SiLU without biases and
 * unscaled RoPE (LLaMA); anything else is MPCT_ERR_UNSUPPORTED naming the
 * file, the field and its value.
 *
 * Uses cJSON, the model descriptions and mpct_core.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

mpct_status io_pk_read_file(const char *path, size_t max, char **buf, size_t *len, int optional)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (optional && errno == ENOENT) return MPCT_OK;
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n < 0 || (size_t)n > max) {
        fclose(fp);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: size %ld bytes out of range (at most %zu)", path, n, max);
    }
    char *b = malloc((size_t)n + 1);
    size_t got = b ? fread(b, 1, (size_t)n, fp) : 0;
    fclose(fp);
    if (!b || got != (size_t)n) {
        free(b);
        return mpct_error_set(MPCT_ERR_IO, "%s: short read", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = (size_t)n;
    return MPCT_OK;
}

mpct_status io_pk_json(const char *path, int optional, cJSON **out)
{
    char *b;
    size_t n;
    *out = NULL;
    MPCT_CALL(io_pk_read_file(path, 16u << 20, &b, &n, optional));
    if (!b) return MPCT_OK;
    *out = cJSON_ParseWithLength(b, n);
    free(b);
    if (!*out) return mpct_error_set(MPCT_ERR_FORMAT, "%s: not valid JSON", path);
    return MPCT_OK;
}

static mpct_status pk_int(const cJSON *j, const char *key, const char *file, int64_t *v, int64_t dflt, int required)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e) {
        if (required) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing field \"%s\"", file, key);
        *v = dflt;
        return MPCT_OK;
    }
    if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int64_t)e->valuedouble)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"%s\" is not an integer", file, key);
    *v = (int64_t)e->valuedouble;
    return MPCT_OK;
}

void io_pk_path(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Heads whose output is not a sentence embedding or a sequence's logits
 * (suffixes after the family's class prefix, "Bert" + "ForTokenClassification"):
 * refused, since mpct would otherwise compute something else silently. */
static const char *const pk_refused_head[] = {
    "ForTokenClassification", "ForQuestionAnswering", "ForMultipleChoice", "ForNextSentencePrediction",
    "LMHeadModel",            "ForCausalLM",
};

/* 1 when a is cls followed by suffix. */
static int pk_is(const char *a, const char *cls, const char *suffix)
{
    const size_t n = strlen(cls);
    return strncmp(a, cls, n) == 0 && strcmp(a + n, suffix) == 0;
}

/* config.json "architectures", a list of one name: *a (also copied to
 * name), or NULL and "(none given)" when absent. */
static mpct_status pk_arch_name(const cJSON *j, const char *path, char *name, size_t size, const char **a)
{
    *a = NULL;
    snprintf(name, size, "%s", "(none given)");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j, "architectures");
    if (!arch || cJSON_IsNull(arch)) return MPCT_OK;
    if (!cJSON_IsArray(arch) || cJSON_GetArraySize(arch) != 1 || !cJSON_IsString(cJSON_GetArrayItem(arch, 0)))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"architectures\" must be a list of one name", path);
    *a = cJSON_GetArrayItem(arch, 0)->valuestring;
    snprintf(name, size, "%s", *a);
    return MPCT_OK;
}

/* config.json "architectures": 1 for the family's ForSequenceClassification,
 * 0 for an encoder whose heads (if any) are not used (XModel, XForMaskedLM,
 * BertForPreTraining), an error for the heads above and for anything else. */
static mpct_status pk_architecture(const cJSON *j, const char *path, const mpct_model_desc *md, int *seqcls,
                                   char *name, size_t size)
{
    const char *c = md->hf_class, *a;
    *seqcls = 0;
    MPCT_CALL(pk_arch_name(j, path, name, size, &a));
    if (!a) return MPCT_OK;
    for (size_t i = 0; i < sizeof pk_refused_head / sizeof pk_refused_head[0]; i++)
        if (pk_is(a, c, pk_refused_head[i]))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: architectures \"%s\" is not supported: mpct computes sentence embeddings "
                                  "(%sModel) and sequence classification (%sForSequenceClassification)",
                                  path, a, c, c);
    if (pk_is(a, c, "ForSequenceClassification")) *seqcls = 1;
    else if (!pk_is(a, c, "Model") && !pk_is(a, c, "ForMaskedLM") && strcmp(a, "BertForPreTraining") != 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: architectures \"%s\" is not supported for model_type \"%s\" (expected %sModel, "
                              "%sForMaskedLM%s or %sForSequenceClassification)",
                              path, a, md->architecture, c, c, strcmp(c, "Bert") == 0 ? ", BertForPreTraining" : "",
                              c);
    return MPCT_OK;
}

/* sentence-transformers 1_Pooling/config.json: mean or CLS pooling, alone. */
static mpct_status pk_st_pooling(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    static const char *const modes[] = {"pooling_mode_cls_token", "pooling_mode_mean_tokens",
                                        "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                        "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
    int on = 0;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, modes[i]))) continue;
        if (i > 1)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: %s is true; mpct supports pooling_mode_mean_tokens or pooling_mode_cls_token",
                                  path, modes[i]);
        on++;
        snprintf(cfg->pooling, sizeof cfg->pooling, "%s", i == 0 ? "cls" : "mean");
    }
    if (on != 1)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: %s; mpct supports exactly one of pooling_mode_mean_tokens and pooling_mode_cls_token",
                              path, on ? "several pooling modes are true (their outputs would be concatenated)"
                                       : "no pooling mode is true");
    return MPCT_OK;
}

/* sentence-transformers modules.json: Transformer, Pooling and Normalize
 * only (a Dense or other module would be ignored otherwise). */
static mpct_status pk_st_modules(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    if (!cJSON_IsArray(j)) return mpct_error_set(MPCT_ERR_FORMAT, "%s: expected a list of modules", path);
    const cJSON *m;
    cJSON_ArrayForEach(m, j)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
        const char *type = cJSON_IsString(t) ? t->valuestring : "";
        const char *dot = strrchr(type, '.');
        const char *base = dot ? dot + 1 : type;
        if (strcmp(base, "Normalize") == 0) cfg->normalize = 1;
        else if (strcmp(base, "Transformer") != 0 && strcmp(base, "Pooling") != 0)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: module type \"%s\" is not supported (mpct runs Transformer, Pooling and "
                                  "Normalize modules)",
                                  path, type[0] ? type : "(missing)");
    }
    return MPCT_OK;
}

/* A string field that must be absent or equal one accepted value. */
static mpct_status pk_str_is(const cJSON *j, const char *key, const char *want, const char *path, const char *why)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e || (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0)) return MPCT_OK;
    return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported (expected \"%s\"%s)", path, key,
                          cJSON_IsString(e) ? e->valuestring : "(not a string)", want, why);
}

/* A boolean field that must be absent or false. */
static mpct_status pk_false(const cJSON *j, const char *key, const char *path, const char *why)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e || cJSON_IsFalse(e)) return MPCT_OK;
    return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s = %s is not supported (%s)", path, key,
                          cJSON_IsTrue(e) ? "true" : "(not a boolean)", why);
}

/* config.json "pruned_heads" ({"layer": [head, ...]}, how transformers 4
 * records BertModel.prune_heads; its checkpoint then holds Q, K, V with
 * the kept heads' rows only and O with their columns, in the original head
 * order). mpct's attention width is one per model, so every layer must have
 * lost the same number of heads (layers not listed lost none): then heads
 * becomes the count kept and head_dim the original width hidden / heads.
 * Absent, null or empty: nothing pruned, head_dim stays 0. */
static mpct_status pk_pruned_heads(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(j, "pruned_heads");
    if (!ph || cJSON_IsNull(ph) || (cJSON_IsObject(ph) && !ph->child)) return MPCT_OK;
    if (!cJSON_IsObject(ph))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"pruned_heads\" must map layer indices to lists of heads",
                              path);
    if (cfg->heads < 1 || cfg->hidden % cfg->heads != 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: hidden size %lld is not a multiple of %lld attention heads", path,
                              (long long)cfg->hidden, (long long)cfg->heads);
    int64_t per_layer = -1, first = 0;
    for (int64_t l = 0; l < cfg->num_layers; l++) {
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)l);
        const cJSON *heads = cJSON_GetObjectItemCaseSensitive(ph, key);
        uint8_t seen[1024] = {0};
        int64_t n = 0;
        if (heads && !cJSON_IsArray(heads))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: pruned_heads[\"%s\"] is not a list of head indices", path, key);
        const cJSON *h;
        cJSON_ArrayForEach(h, heads)
        {
            const double v = cJSON_IsNumber(h) ? h->valuedouble : -1.0;
            if (v != (double)(int64_t)v || v < 0 || v >= (double)cfg->heads || v >= (double)sizeof seen ||
                seen[(size_t)v]++)
                return mpct_error_set(MPCT_ERR_FORMAT,
                                      "%s: pruned_heads[\"%s\"] has an entry that is not a distinct head index "
                                      "0..%lld",
                                      path, key, (long long)cfg->heads - 1);
            n++;
        }
        if (per_layer < 0) per_layer = n, first = l;
        else if (n != per_layer)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: pruned_heads removes %lld heads from layer %lld but %lld from layer %lld; mpct "
                                  "runs one attention width per model (prune the same number of heads in every "
                                  "layer)",
                                  path, (long long)per_layer, (long long)first, (long long)n, (long long)l);
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, ph)
    {
        char *end;
        const long long l = strtoll(k->string, &end, 10);
        if (*end || end == k->string || l < 0 || l >= cfg->num_layers)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: pruned_heads has key \"%s\", expected a layer index 0..%lld",
                                  path, k->string, (long long)cfg->num_layers - 1);
    }
    if (per_layer <= 0) return MPCT_OK;
    if (per_layer == cfg->heads)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: pruned_heads removes all %lld heads of every layer", path,
                              (long long)cfg->heads);
    cfg->head_dim = cfg->hidden / cfg->heads;
    cfg->heads -= per_layer;
    return MPCT_OK;
}

/* The FFN activation (field `act`: absent or "gelu", exact erf; "relu",
 * Hugging Face's own ReLU) and the optimizer's substitution keys
 * (python/mpct/optimize/subst.py): "mpct_activation" "gelu", "relu" or
 * "quad", "mpct_attention" "softmax" or "2quad". "mpct_activation" "relu"
 * comes with act "relu" (plain transformers then computes the same
 * model); every other combination of the two fields is refused, naming
 * both. The families whose field is "hidden_act" only (BERT, RoBERTa,
 * XLM-R; the optimizer makes BERT students). Sets cfg->activation and cfg->attention ("" for GeLU, softmax). */
static mpct_status pk_substitutions(const cJSON *j, const char *act, const char *path, mpct_model_config *cfg)
{
    if (strcmp(act, "hidden_act") != 0) { /* DistilBERT's "activation": GeLU only, no substitutions */
        for (const char *const *k = (const char *const[]){"mpct_activation", "mpct_attention", NULL}; *k; k++)
            if (cJSON_GetObjectItemCaseSensitive(j, *k))
                return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s is not supported for this model_type (BERT, "
                                      "RoBERTa and XLM-R only)", path, *k);
        return pk_str_is(j, act, "gelu", path, ", exact erf");
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, act),
                *ma = cJSON_GetObjectItemCaseSensitive(j, "mpct_activation"),
                *mt = cJSON_GetObjectItemCaseSensitive(j, "mpct_attention");
    const int relu = a && cJSON_IsString(a) && strcmp(a->valuestring, "relu") == 0;
    if (!relu) MPCT_CALL(pk_str_is(j, act, "gelu", path, ", exact erf, or \"relu\""));
    const char *sub = relu ? "relu" : "gelu";
    if (ma) {
        if (!cJSON_IsString(ma) || (strcmp(ma->valuestring, "gelu") && strcmp(ma->valuestring, "relu") &&
                                    strcmp(ma->valuestring, "quad")))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: mpct_activation \"%s\" is not supported (expected \"gelu\", \"relu\" or "
                                  "\"quad\")", path, cJSON_IsString(ma) ? ma->valuestring : "(not a string)");
        if ((strcmp(ma->valuestring, "relu") == 0) != relu)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: mpct_activation \"%s\" contradicts %s \"%s\" (\"relu\" must be in both or "
                                  "in neither)", path, ma->valuestring, act, relu ? "relu" : "gelu");
        sub = ma->valuestring;
    }
    snprintf(cfg->activation, sizeof cfg->activation, "%s", strcmp(sub, "gelu") == 0 ? "" : sub);
    if (mt && (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "softmax") && strcmp(mt->valuestring, "2quad"))))
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: mpct_attention \"%s\" is not supported (expected \"softmax\" or \"2quad\")",
                              path, cJSON_IsString(mt) ? mt->valuestring : "(not a string)");
    snprintf(cfg->attention, sizeof cfg->attention, "%s", mt && strcmp(mt->valuestring, "2quad") == 0 ? "2quad" : "");
    return MPCT_OK;
}

/* The shape and options of config.json, by family: DistilBERT names its
 * fields differently and has no token types; RoBERTa and XLM-R count
 * positions from the padding token 1. */
static mpct_status pk_family_config(const cJSON *j, const char *path, const mpct_model_desc *md,
                                    mpct_model_config *cfg)
{
    const int distil = strcmp(md->architecture, "distilbert") == 0;
    const char *const *k = distil ? (const char *const[]){"n_layers", "dim", "n_heads", "hidden_dim", "activation"}
                                  : (const char *const[]){"num_hidden_layers", "hidden_size", "num_attention_heads",
                                                          "intermediate_size", "hidden_act"};
    MPCT_CALL(pk_substitutions(j, k[4], path, cfg));
    MPCT_CALL(pk_int(j, k[0], path, &cfg->num_layers, 0, 1));
    MPCT_CALL(pk_int(j, k[1], path, &cfg->hidden, 0, 1));
    MPCT_CALL(pk_int(j, k[2], path, &cfg->heads, 0, 1));
    MPCT_CALL(pk_int(j, k[3], path, &cfg->ffn, 0, 1));
    MPCT_CALL(pk_int(j, "vocab_size", path, &cfg->vocab_size, 0, 1));
    MPCT_CALL(pk_int(j, "max_position_embeddings", path, &cfg->max_positions, 0, 1));
    MPCT_CALL(pk_pruned_heads(j, path, cfg));
    cfg->layer_norm_eps = 1e-12; /* DistilBERT's nn.LayerNorm(eps=1e-12); BERT's default */
    if (distil) {
        cfg->type_vocab_size = 1; /* no token-type table: nothing is added */
        return pk_false(j, "sinusoidal_pos_embds", path,
                        "mpct reads learned position embeddings; sinusoidal ones are not in the checkpoint");
    }
    MPCT_CALL(pk_str_is(j, "position_embedding_type", "absolute", path, ": relative position embeddings"));
    MPCT_CALL(pk_false(j, "is_decoder", path, "mpct runs encoders with bidirectional attention"));
    MPCT_CALL(pk_false(j, "add_cross_attention", path, "mpct runs encoders without cross-attention"));
    MPCT_CALL(pk_int(j, "type_vocab_size", path, &cfg->type_vocab_size, 2, 0));
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    if (eps && !cJSON_IsNumber(eps))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"layer_norm_eps\" is not a number", path);
    if (eps) cfg->layer_norm_eps = eps->valuedouble;
    if (md->pad_id >= 0) {
        int64_t pad = md->pad_id;
        MPCT_CALL(pk_int(j, "pad_token_id", path, &pad, md->pad_id, 0));
        if (pad != md->pad_id)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: pad_token_id %lld is not supported (expected %d: %s position ids start at "
                                  "pad_token_id + 1 = %d)",
                                  path, (long long)pad, md->pad_id, md->architecture, md->position_offset);
    }
    return MPCT_OK;
}

/* A number field (default dflt when absent); *v. */
static mpct_status pk_num(const cJSON *j, const char *key, const char *file, double *v, double dflt)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e || cJSON_IsNull(e)) {
        *v = dflt;
        return MPCT_OK;
    }
    if (!cJSON_IsNumber(e)) return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"%s\" is not a number", file, key);
    *v = e->valuedouble;
    return MPCT_OK;
}

/* A boolean field (default dflt when absent). */
static mpct_status pk_bool(const cJSON *j, const char *key, const char *file, int *v, int dflt)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e) {
        *v = dflt;
        return MPCT_OK;
    }
    if (!cJSON_IsBool(e)) return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"%s\" is not a boolean", file, key);
    *v = cJSON_IsTrue(e);
    return MPCT_OK;
}

/* A decoder's "architectures": the family's LM head model (GPT2LMHeadModel,
 * LlamaForCausalLM) or its bare model (GPT2Model, LlamaModel, whose LM head
 * is the word embedding or lm_head.weight as tie_word_embeddings says). */
static mpct_status pk_dec_architecture(const cJSON *j, const char *path, const mpct_model_desc *md, char *name,
                                       size_t size)
{
    const char *c = md->hf_class, *lm = strcmp(c, "GPT2") == 0 ? "LMHeadModel" : "ForCausalLM", *a;
    MPCT_CALL(pk_arch_name(j, path, name, size, &a));
    if (!a) return MPCT_OK;
    if (pk_is(a, c, lm) || pk_is(a, c, "Model")) return MPCT_OK;
    return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                          "%s: architectures \"%s\" is not supported for model_type \"%s\" (expected %s%s or %sModel: "
                          "mpct runs decoders as language models)",
                          path, a, md->architecture, c, lm, c);
}

/* RoPE settings: rope_theta (top level, or rope_parameters.rope_theta as
 * transformers 5 writes it); any scaling (rope_scaling, a rope_type other
 * than "default") is refused, naming the field. */
static mpct_status pk_rope(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
        if (!t) t = cJSON_GetObjectItemCaseSensitive(rs, "type");
        if (!(cJSON_IsString(t) && strcmp(t->valuestring, "default") == 0))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: rope_scaling (type \"%s\") is not supported: mpct implements unscaled RoPE "
                                  "(rope_scaling null)",
                                  path, cJSON_IsString(t) ? t->valuestring : "(not given)");
    }
    MPCT_CALL(pk_num(j, "rope_theta", path, &cfg->rope_theta, 10000.0));
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");
    if (rp && !cJSON_IsNull(rp)) {
        if (!cJSON_IsObject(rp))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"rope_parameters\" is not an object", path);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
        if (t && !(cJSON_IsString(t) && strcmp(t->valuestring, "default") == 0))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: rope_parameters.rope_type \"%s\" is not supported: mpct implements unscaled "
                                  "RoPE (rope_type \"default\")",
                                  path, cJSON_IsString(t) ? t->valuestring : "(not a string)");
        MPCT_CALL(pk_num(rp, "rope_theta", path, &cfg->rope_theta, cfg->rope_theta));
    }
    return MPCT_OK;
}

/* A decoder's config.json: GPT-2's n_* fields or LLaMA's; every option
 * that changes the graph from what the reference computes is refused,
 * naming the field. Decoders have no pooling: "lm", the LM head. */
static mpct_status pk_decoder_config(const cJSON *j, const char *path, const mpct_model_desc *md,
                                     mpct_model_config *cfg)
{
    const int gpt2 = md->positions == MPCT_MD_POS_LEARNED;
    for (const char *const *k = (const char *const[]){"mpct_activation", "mpct_attention", NULL}; *k; k++)
        if (cJSON_GetObjectItemCaseSensitive(j, *k))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s is supported for encoders only", path, *k);
    strcpy(cfg->pooling, "lm");
    cfg->type_vocab_size = 1;
    MPCT_CALL(pk_int(j, "vocab_size", path, &cfg->vocab_size, 0, 1));
    if (gpt2) {
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "activation_function");
        if (act && !(cJSON_IsString(act) && (strcmp(act->valuestring, "gelu_new") == 0 ||
                                             strcmp(act->valuestring, "gelu_pytorch_tanh") == 0)))
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: activation_function \"%s\" is not supported (expected \"gelu_new\" or "
                                  "\"gelu_pytorch_tanh\": GeLU with the tanh approximation)",
                                  path, cJSON_IsString(act) ? act->valuestring : "(not a string)");
        MPCT_CALL(pk_int(j, "n_layer", path, &cfg->num_layers, 0, 1));
        MPCT_CALL(pk_int(j, "n_embd", path, &cfg->hidden, 0, 1));
        MPCT_CALL(pk_int(j, "n_head", path, &cfg->heads, 0, 1));
        MPCT_CALL(pk_int(j, "n_positions", path, &cfg->max_positions, 0, 1));
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(j, "n_inner");
        if (inner && !cJSON_IsNull(inner)) MPCT_CALL(pk_int(j, "n_inner", path, &cfg->ffn, 0, 1));
        else cfg->ffn = 4 * cfg->hidden; /* GPT2MLP's default */
        MPCT_CALL(pk_num(j, "layer_norm_epsilon", path, &cfg->layer_norm_eps, 1e-5));
        int scale = 1;
        MPCT_CALL(pk_bool(j, "scale_attn_weights", path, &scale, 1));
        if (!scale)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: scale_attn_weights = false is not supported (mpct scales scores by "
                                  "1/sqrt(head_dim))",
                                  path);
        MPCT_CALL(pk_false(j, "scale_attn_by_inverse_layer_idx", path, "mpct scales scores by 1/sqrt(head_dim) only"));
        MPCT_CALL(pk_false(j, "add_cross_attention", path, "mpct runs decoders without cross-attention"));
        cfg->kv_heads = cfg->heads;
        cfg->head_dim = cfg->heads > 0 ? cfg->hidden / cfg->heads : 0;
        cfg->rope_theta = 0.0;
        return pk_bool(j, "tie_word_embeddings", path, &cfg->tie_word_embeddings, 1);
    }
    MPCT_CALL(pk_str_is(j, "hidden_act", "silu", path, ", the SiLU-gated MLP"));
    MPCT_CALL(pk_false(j, "attention_bias", path, "mpct's LLaMA projections have no biases"));
    MPCT_CALL(pk_false(j, "mlp_bias", path, "mpct's LLaMA projections have no biases"));
    MPCT_CALL(pk_int(j, "num_hidden_layers", path, &cfg->num_layers, 0, 1));
    MPCT_CALL(pk_int(j, "hidden_size", path, &cfg->hidden, 0, 1));
    MPCT_CALL(pk_int(j, "num_attention_heads", path, &cfg->heads, 0, 1));
    MPCT_CALL(pk_int(j, "intermediate_size", path, &cfg->ffn, 0, 1));
    MPCT_CALL(pk_int(j, "max_position_embeddings", path, &cfg->max_positions, 0, 1));
    MPCT_CALL(pk_int(j, "num_key_value_heads", path, &cfg->kv_heads, cfg->heads, 0));
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(j, "head_dim");
    if (hd && !cJSON_IsNull(hd)) MPCT_CALL(pk_int(j, "head_dim", path, &cfg->head_dim, 0, 1));
    else cfg->head_dim = cfg->heads > 0 ? cfg->hidden / cfg->heads : 0;
    MPCT_CALL(pk_num(j, "rms_norm_eps", path, &cfg->layer_norm_eps, 1e-6));
    MPCT_CALL(pk_rope(j, path, cfg));
    return pk_bool(j, "tie_word_embeddings", path, &cfg->tie_word_embeddings, 0);
}

/* Reads the config and the pooling files; *seqcls = 1 for the family's
 * ForSequenceClassification checkpoint (pooler + classifier). */
mpct_status io_pk_read_config(const char *dir, mpct_model_config *cfg, int *seqcls, char *arch, size_t arch_size)
{
    char path[4096];
    cJSON *j = NULL;
    mpct_status st = MPCT_OK;
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->pooling, "mean");
    io_pk_path(path, sizeof path, dir, "config.json");
    MPCT_CALL(io_pk_json(path, 0, &j));
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    const mpct_model_desc *md = cJSON_IsString(mt) ? mpct_md_find(mt->valuestring) : NULL;
    if (!md) {
        const char *names[8];
        size_t n = 0;
        for (; n < 8 && mpct_md_at(n); n++) names[n] = mpct_md_at(n)->architecture;
        char known[128];
        io_md_join(known, sizeof known, names, n);
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (expected %s)", path,
                            cJSON_IsString(mt) ? mt->valuestring : "(missing)", known);
        goto out;
    }
    snprintf(cfg->architecture, sizeof cfg->architecture, "%s", md->architecture);
    if (md->decoder) { /* no pooling files, no classifier: the LM head */
        MPCT_CALL_GOTO(st, out, pk_dec_architecture(j, path, md, arch, arch_size));
        MPCT_CALL_GOTO(st, out, pk_decoder_config(j, path, md, cfg));
        MPCT_CALL_GOTO(st, out, mpct_io_config_check(cfg, path));
        goto out;
    }
    MPCT_CALL_GOTO(st, out, pk_architecture(j, path, md, seqcls, arch, arch_size));
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(j, "problem_type");
    if (*seqcls && cJSON_IsString(pt) && strcmp(pt->valuestring, "single_label_classification") != 0) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                            "%s: problem_type \"%s\" is not supported (mpct reports the argmax label of "
                            "single_label_classification)",
                            path, pt->valuestring);
        goto out;
    }
    MPCT_CALL_GOTO(st, out, pk_family_config(j, path, md, cfg));
    cJSON_Delete(j);
    j = NULL;
    /* sentence-transformers: pooling mode and Normalize module. */
    char ppath[4096];
    io_pk_path(ppath, sizeof ppath, dir, "1_Pooling/config.json");
    MPCT_CALL_GOTO(st, out, io_pk_json(ppath, 1, &j));
    int st_layout = j != NULL;
    if (j) MPCT_CALL_GOTO(st, out, pk_st_pooling(j, ppath, cfg));
    cJSON_Delete(j);
    j = NULL;
    io_pk_path(ppath, sizeof ppath, dir, "modules.json");
    MPCT_CALL_GOTO(st, out, io_pk_json(ppath, 1, &j));
    cfg->normalize = 0;
    if (j) {
        st_layout = 1;
        MPCT_CALL_GOTO(st, out, pk_st_modules(j, ppath, cfg));
    }
    if (*seqcls) {
        if (st_layout) {
            st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                "%s: a %sForSequenceClassification checkpoint with sentence-transformers pooling "
                                "files (1_Pooling/config.json or modules.json): which output is meant is ambiguous",
                                path, md->hf_class);
            goto out;
        }
        strcpy(cfg->pooling, "pooler");
    }
    MPCT_CALL_GOTO(st, out, mpct_io_config_check(cfg, path));
out:
    cJSON_Delete(j);
    return st;
}
