/*
 * gguf_hf.c — converts a LLaMA-family GGUF file into an ordinary Hugging
 * Face model directory (config.json, model.safetensors in float32,
 * tokenizer.json, tokenizer_config.json) that `mpct pack` reads like any
 * other checkpoint, and `mpct pack` of a .gguf file through a temporary
 * directory (mpct_gguf_pack).
 *
 * Invariants:
 *  - every metadata key is used, reported as "not used: KEY (why)" (the
 *    descriptive general.* keys and the chat template), or refused; every
 *    tensor maps to exactly one Hugging Face tensor with the shape the
 *    configuration implies, and every expected tensor is present;
 *  - llama.cpp stores the rows of attn_q and attn_k of each head
 *    interleaved for its rotary kernel (convert_hf_to_gguf.py's permute);
 *    the conversion puts them back as transformers' GGUF loader does:
 *    HF row h*2d + j*d + i = GGUF row h*2d + 2i + j (d = head_dim / 2);
 *  - tensors are converted one at a time: one dequantized tensor in memory;
 *  - the safetensors data section is contiguous, in the header's order.
 *
 * Uses cJSON, the GGUF reader and dequantization, the tokenizer writer
 * (gguf_tok.c) and, for mpct_gguf_pack, mpct_io_pack_hf.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpct_gguf.h"
#include "mpct_io.h"

struct hp {
    uint64_t L, h, f, H, KV, hd, P, V;
    double theta, eps;
    int tied;
};

/* One output tensor: its GGUF source and Hugging Face name and shape. */
struct out_t {
    const mpct_gguf_tensor *src;
    char hf[96];
    uint64_t rows, cols;   /* cols 0: a vector of rows elements */
    uint64_t perm_heads;   /* > 0: undo the rotary permutation over that many heads */
    uint64_t off;
};

static mpct_status mark(const mpct_gguf_file *f, unsigned char *used, const char *key)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    if (kv) used[kv - mpct_gguf_kv_at(f, 0)] = 1;
    return MPCT_OK;
}

static mpct_status hp_u64(const mpct_gguf_file *f, unsigned char *used, const char *key, int req, uint64_t dflt,
                          uint64_t *v)
{
    MPCT_CALL(mpct_gguf_get_u64(f, key, req, dflt, v));
    return mark(f, used, key);
}

/* String key: must be `want` when present (required: must be present);
 * got (or NULL) receives the value. */
static mpct_status expect_str(const mpct_gguf_file *f, unsigned char *used, const char *key, int required,
                              const char *want, const char *why, char *got, size_t got_size)
{
    char *v = NULL;
    MPCT_CALL(mpct_gguf_get_str(f, key, required, &v));
    if (got) snprintf(got, got_size, "%s", v ? v : "");
    mpct_status st = MPCT_OK;
    if (v && strcmp(v, want) != 0)
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s = \"%s\" is not supported by mpct%s (%s is)",
                            mpct_gguf_label(f), key, v, why, want);
    free(v);
    if (st == MPCT_OK) st = mark(f, used, key);
    return st;
}

static mpct_status read_hparams(const mpct_gguf_file *f, unsigned char *used, struct hp *p)
{
    const char *lb = mpct_gguf_label(f);
    MPCT_CALL(hp_u64(f, used, "llama.block_count", 1, 0, &p->L));
    MPCT_CALL(hp_u64(f, used, "llama.embedding_length", 1, 0, &p->h));
    MPCT_CALL(hp_u64(f, used, "llama.feed_forward_length", 1, 0, &p->f));
    MPCT_CALL(hp_u64(f, used, "llama.attention.head_count", 1, 0, &p->H));
    MPCT_CALL(hp_u64(f, used, "llama.attention.head_count_kv", 0, p->H, &p->KV));
    MPCT_CALL(hp_u64(f, used, "llama.context_length", 1, 0, &p->P));
    MPCT_CALL(mpct_gguf_get_f64(f, "llama.rope.freq_base", 0, 10000.0, &p->theta));
    MPCT_CALL(mark(f, used, "llama.rope.freq_base"));
    MPCT_CALL(mpct_gguf_get_f64(f, "llama.attention.layer_norm_rms_epsilon", 1, 0, &p->eps));
    MPCT_CALL(mark(f, used, "llama.attention.layer_norm_rms_epsilon"));
    const uint64_t lim = 1u << 20;
    if (!p->L || !p->h || !p->f || !p->H || !p->KV || !p->P || p->L > 4096 || p->h > lim || p->f > lim ||
        p->H > p->h || p->h % p->H || p->H % p->KV || (p->h / p->H) % 2)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: llama.* shape: %llu layers, width %llu, ffn %llu, %llu heads, "
                              "%llu KV heads: the width must be a multiple of the heads, the heads of the KV "
                              "heads, the head width even, none zero", lb, (unsigned long long)p->L,
                              (unsigned long long)p->h, (unsigned long long)p->f, (unsigned long long)p->H,
                              (unsigned long long)p->KV);
    if (!(p->eps > 0) || !(p->theta > 0))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: llama.attention.layer_norm_rms_epsilon = %g and "
                              "llama.rope.freq_base = %g must be positive", lb, p->eps, p->theta);
    p->hd = p->h / p->H;
    static const char *const hd_keys[] = {"llama.rope.dimension_count", "llama.attention.key_length",
                                          "llama.attention.value_length"};
    for (int k = 0; k < 3; k++) {
        uint64_t v;
        MPCT_CALL(hp_u64(f, used, hd_keys[k], 0, p->hd, &v));
        if (v != p->hd)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: %s = %llu differs from the head width %llu (partial "
                                  "rotary or separate key widths are not supported by mpct)", lb, hd_keys[k],
                                  (unsigned long long)v, (unsigned long long)p->hd);
    }
    MPCT_CALL(expect_str(f, used, "llama.rope.scaling.type", 0, "none", "", NULL, 0));
    const mpct_gguf_tensor *emb = mpct_gguf_find_tensor(f, "token_embd.weight");
    if (!emb) return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor token_embd.weight is missing", lb);
    p->V = emb->dims[1];
    uint64_t v;
    MPCT_CALL(hp_u64(f, used, "llama.vocab_size", 0, p->V, &v));
    if (v != p->V)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: llama.vocab_size = %llu but token_embd.weight has %llu rows", lb,
                              (unsigned long long)v, (unsigned long long)p->V);
    p->tied = mpct_gguf_find_tensor(f, "output.weight") == NULL;
    return MPCT_OK;
}

/* The expected tensors, in the order they are written. */
static mpct_status plan_tensors(const mpct_gguf_file *f, const struct hp *p, struct out_t **outp, size_t *np)
{
    const size_t n = 2 + 9 * (size_t)p->L + !p->tied;
    struct out_t *o = calloc(n, sizeof *o);
    if (!o) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", mpct_gguf_label(f));
    static const struct {
        const char *gguf, *hf;
        int rows, cols, perm; /* 0 none, 1 h, 2 f, 3 H*hd, 4 KV*hd; perm 1 over H, 2 over KV */
    } lay[9] = {
        {"attn_norm", "input_layernorm", 1, 0, 0},   {"attn_q", "self_attn.q_proj", 3, 1, 1},
        {"attn_k", "self_attn.k_proj", 4, 1, 2},     {"attn_v", "self_attn.v_proj", 4, 1, 0},
        {"attn_output", "self_attn.o_proj", 1, 3, 0}, {"ffn_norm", "post_attention_layernorm", 1, 0, 0},
        {"ffn_gate", "mlp.gate_proj", 2, 1, 0},      {"ffn_up", "mlp.up_proj", 2, 1, 0},
        {"ffn_down", "mlp.down_proj", 1, 2, 0},
    };
    const uint64_t dim[5] = {0, p->h, p->f, p->H * p->hd, p->KV * p->hd};
    size_t k = 0;
    char g[96];
    o[k] = (struct out_t){mpct_gguf_find_tensor(f, "token_embd.weight"), "model.embed_tokens.weight", p->V, p->h, 0, 0};
    k++;
    for (uint64_t l = 0; l < p->L; l++)
        for (int j = 0; j < 9; j++, k++) {
            snprintf(g, sizeof g, "blk.%llu.%s.weight", (unsigned long long)l, lay[j].gguf);
            o[k].src = mpct_gguf_find_tensor(f, g);
            snprintf(o[k].hf, sizeof o[k].hf, "model.layers.%llu.%s.weight", (unsigned long long)l, lay[j].hf);
            o[k].rows = dim[lay[j].rows];
            o[k].cols = dim[lay[j].cols];
            o[k].perm_heads = lay[j].perm == 1 ? p->H : lay[j].perm == 2 ? p->KV : 0;
            if (!o[k].src) {
                free(o);
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor %s is missing", mpct_gguf_label(f), g);
            }
        }
    o[k++] = (struct out_t){mpct_gguf_find_tensor(f, "output_norm.weight"), "model.norm.weight", p->h, 0, 0, 0};
    if (!o[k - 1].src) {
        free(o);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor output_norm.weight is missing", mpct_gguf_label(f));
    }
    if (!p->tied) o[k++] = (struct out_t){mpct_gguf_find_tensor(f, "output.weight"), "lm_head.weight", p->V, p->h, 0, 0};
    *outp = o;
    *np = n;
    return MPCT_OK;
}

/* Shapes and types of the plan; every GGUF tensor in it. */
static mpct_status check_tensors(const mpct_gguf_file *f, const struct out_t *o, size_t n)
{
    const char *lb = mpct_gguf_label(f);
    unsigned char *seen = calloc(mpct_gguf_tensor_count(f) + 1, 1);
    if (!seen) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", lb);
    mpct_status st = MPCT_OK;
    for (size_t k = 0; k < n && st == MPCT_OK; k++) {
        const mpct_gguf_tensor *t = o[k].src;
        seen[t - mpct_gguf_tensor_at(f, 0)] = 1;
        const uint32_t want_nd = o[k].cols ? 2 : 1;
        if (t->ndim != want_nd || t->dims[0] != (o[k].cols ? o[k].cols : o[k].rows) ||
            (o[k].cols && t->dims[1] != o[k].rows))
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor %s has shape [%llu, %llu] (GGUF order), [%llu, %llu] "
                                "expected from the llama.* metadata", lb, t->name, (unsigned long long)t->dims[0],
                                (unsigned long long)t->dims[1],
                                (unsigned long long)(o[k].cols ? o[k].cols : o[k].rows),
                                (unsigned long long)(o[k].cols ? o[k].rows : 1));
        else if (!mpct_gguf_type_supported(t->type))
            st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tensor %s: type %s (ggml type %u) is not supported by "
                                "mpct (F32, F16, BF16, Q8_0, Q4_0, Q4_1 are)", lb, t->name,
                                mpct_gguf_type_name(t->type), t->type);
    }
    for (size_t k = 0; k < mpct_gguf_tensor_count(f) && st == MPCT_OK; k++)
        if (!seen[k])
            st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tensor %s is not part of a LLaMA model mpct converts "
                                "(refused rather than dropped)", lb, mpct_gguf_tensor_at(f, k)->name);
    free(seen);
    return st;
}

/* Keys not used by the conversion: descriptive ones are reported, any
 * other is refused. */
static mpct_status check_keys(const mpct_gguf_file *f, const unsigned char *used, FILE *report)
{
    for (size_t k = 0; k < mpct_gguf_kv_count(f); k++) {
        const char *key = mpct_gguf_kv_at(f, k)->key;
        if (used[k]) continue;
        if (strncmp(key, "general.", 8) == 0) {
            if (report) fprintf(report, "not used: %s (descriptive metadata)\n", key);
        } else if (strcmp(key, "tokenizer.chat_template") == 0) {
            if (report) fprintf(report, "not used: %s (mpct encodes plain texts; it does not format chats)\n", key);
        } else {
            return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: metadata %s is not understood by mpct's LLaMA "
                                  "conversion (refused rather than ignored)", mpct_gguf_label(f), key);
        }
    }
    return MPCT_OK;
}

static void path_join(char *buf, size_t size, const char *dir, const char *name)
{
    const int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) buf[0] = 0; /* out_dir's length is checked first: not reached */
}

static mpct_status write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return mpct_error_set(MPCT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const size_t n = strlen(text);
    const int bad = fwrite(text, 1, n, fp) != n || fputc('\n', fp) == EOF;
    if (fclose(fp) != 0 || bad) return mpct_error_set(MPCT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return MPCT_OK;
}

static mpct_status write_json(const char *path, cJSON *root)
{
    char *s = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!s) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", path);
    mpct_status st = write_text(path, s);
    cJSON_free(s);
    return st;
}

/* config.json: the fields of transformers' LlamaConfig. */
static mpct_status write_config(const mpct_gguf_file *f, unsigned char *used, const struct hp *p, const char *dir)
{
    char path[4096];
    path_join(path, sizeof path, dir, "config.json");
    uint64_t bos, eos;
    MPCT_CALL(hp_u64(f, used, "tokenizer.ggml.bos_token_id", 1, 0, &bos));
    MPCT_CALL(hp_u64(f, used, "tokenizer.ggml.eos_token_id", 1, 0, &eos));
    cJSON *c = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(a, cJSON_CreateString("LlamaForCausalLM"));
    cJSON_AddStringToObject(c, "model_type", "llama");
    cJSON_AddNumberToObject(c, "hidden_size", (double)p->h);
    cJSON_AddNumberToObject(c, "intermediate_size", (double)p->f);
    cJSON_AddNumberToObject(c, "num_hidden_layers", (double)p->L);
    cJSON_AddNumberToObject(c, "num_attention_heads", (double)p->H);
    cJSON_AddNumberToObject(c, "num_key_value_heads", (double)p->KV);
    cJSON_AddNumberToObject(c, "head_dim", (double)p->hd);
    cJSON_AddNumberToObject(c, "rms_norm_eps", p->eps);
    cJSON_AddNumberToObject(c, "rope_theta", p->theta);
    cJSON_AddNumberToObject(c, "max_position_embeddings", (double)p->P);
    cJSON_AddNumberToObject(c, "vocab_size", (double)p->V);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", p->tied);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "bos_token_id", (double)bos);
    cJSON_AddNumberToObject(c, "eos_token_id", (double)eos);
    cJSON_AddBoolToObject(c, "attention_bias", 0);
    cJSON_AddBoolToObject(c, "mlp_bias", 0);
    return write_json(path, c);
}

static mpct_status st_header(const mpct_gguf_file *f, struct out_t *o, size_t n, char **hdr, size_t *hlen)
{
    cJSON *root = cJSON_CreateObject();
    uint64_t off = 0;
    for (size_t k = 0; k < n; k++) {
        cJSON *e = cJSON_AddObjectToObject(root, o[k].hf), *sh = cJSON_AddArrayToObject(e, "shape"),
              *d = NULL;
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)o[k].rows));
        if (o[k].cols) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)o[k].cols));
        d = cJSON_AddArrayToObject(e, "data_offsets");
        o[k].off = off;
        off += o[k].src->numel * 4;
        cJSON_AddItemToArray(d, cJSON_CreateNumber((double)o[k].off));
        cJSON_AddItemToArray(d, cJSON_CreateNumber((double)off));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", mpct_gguf_label(f));
    const size_t l = strlen(s), pad = (8 - l % 8) % 8;
    *hdr = malloc(l + pad + 1);
    if (*hdr) {
        memcpy(*hdr, s, l);
        memset(*hdr + l, ' ', pad);
        (*hdr)[l + pad] = 0;
    }
    cJSON_free(s);
    *hlen = l + pad;
    return *hdr ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", mpct_gguf_label(f));
}

/* llama.cpp's rotary row order back to Hugging Face's, per head. */
static void unpermute(const float *in, float *out, uint64_t rows, uint64_t cols, uint64_t heads)
{
    const uint64_t d = rows / heads / 2;
    for (uint64_t h = 0; h < heads; h++)
        for (uint64_t i = 0; i < d; i++)
            for (uint64_t j = 0; j < 2; j++)
                memcpy(out + (h * 2 * d + j * d + i) * cols, in + (h * 2 * d + 2 * i + j) * cols, cols * sizeof *in);
}

static mpct_status write_weights(const mpct_gguf_file *f, struct out_t *o, size_t n, const char *dir,
                                 mpct_gguf_convert_info *info)
{
    char path[4096], *hdr = NULL;
    size_t hlen = 0, maxn = 0;
    path_join(path, sizeof path, dir, "model.safetensors");
    MPCT_CALL(st_header(f, o, n, &hdr, &hlen));
    for (size_t k = 0; k < n; k++) maxn = o[k].src->numel > maxn ? (size_t)o[k].src->numel : maxn;
    float *a = malloc(maxn * sizeof *a), *b = malloc(maxn * sizeof *b);
    uint8_t *bytes = malloc(maxn * 4);
    FILE *fp = fopen(path, "wb");
    mpct_status st = MPCT_OK;
    if (!a || !b || !bytes) st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", mpct_gguf_label(f));
    else if (!fp) st = mpct_error_set(MPCT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    if (st == MPCT_OK && (fwrite(len8, 1, 8, fp) != 8 || fwrite(hdr, 1, hlen, fp) != hlen))
        st = mpct_error_set(MPCT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    for (size_t k = 0; k < n && st == MPCT_OK; k++) {
        const mpct_gguf_tensor *t = o[k].src;
        st = mpct_gguf_dequant(f, t, a, (size_t)t->numel);
        if (st != MPCT_OK) break;
        const float *src = a;
        if (o[k].perm_heads) {
            unpermute(a, b, o[k].rows, o[k].cols, o[k].perm_heads);
            src = b;
        }
        for (size_t i = 0; i < t->numel; i++) {
            uint32_t u;
            memcpy(&u, &src[i], 4);
            for (int j = 0; j < 4; j++) bytes[4 * i + (size_t)j] = (uint8_t)(u >> (8 * j));
        }
        if (fwrite(bytes, 4, (size_t)t->numel, fp) != t->numel)
            st = mpct_error_set(MPCT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        if (info) {
            info->tensors++;
            info->bytes_in += t->nbytes;
            info->bytes_out += t->numel * 4;
            if (t->type < 64) info->type_count[t->type]++;
        }
    }
    if (fp && fclose(fp) != 0 && st == MPCT_OK)
        st = mpct_error_set(MPCT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    free(a);
    free(b);
    free(bytes);
    free(hdr);
    return st;
}

static mpct_status convert(const mpct_gguf_file *f, unsigned char *used, const char *out_dir, FILE *report,
                           mpct_gguf_convert_info *info)
{
    const char *lb = mpct_gguf_label(f);
    MPCT_CALL(expect_str(f, used, "general.architecture", 1, "llama", "'s GGUF conversion", info->arch,
                         sizeof info->arch));
    MPCT_CALL(mark(f, used, "general.alignment"));
    uint64_t qv;
    MPCT_CALL(hp_u64(f, used, "general.quantization_version", 0, 2, &qv));
    if (qv != 2)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: general.quantization_version = %llu: mpct reads ggml's "
                              "block layouts of version 2", lb, (unsigned long long)qv);
    struct hp p;
    MPCT_CALL(read_hparams(f, used, &p));
    struct out_t *o = NULL;
    size_t n = 0;
    MPCT_CALL(plan_tensors(f, &p, &o, &n));
    char path[4096];
    path_join(path, sizeof path, out_dir, "tokenizer.json");
    mpct_status st = check_tensors(f, o, n);
    if (st == MPCT_OK) st = mpct_gguf_write_tokenizer(f, path, used);
    if (st == MPCT_OK) st = write_config(f, used, &p, out_dir);
    if (st == MPCT_OK) st = check_keys(f, used, report);
    if (st == MPCT_OK) st = write_weights(f, o, n, out_dir, info);
    if (st == MPCT_OK && report)
        fprintf(report, "gguf: %s: GGUF v%u, architecture llama: %llu layers, width %llu, %llu heads (%llu KV), "
                "ffn %llu, vocabulary %llu, %s embeddings\n", lb, mpct_gguf_version(f), (unsigned long long)p.L,
                (unsigned long long)p.h, (unsigned long long)p.H, (unsigned long long)p.KV, (unsigned long long)p.f,
                (unsigned long long)p.V, p.tied ? "tied" : "separate output");
    free(o);
    return st;
}

mpct_status mpct_gguf_to_hf(const char *gguf_path, const char *out_dir, FILE *report, mpct_gguf_convert_info *info)
{
    mpct_gguf_convert_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (strlen(out_dir) > 4000) return mpct_error_set(MPCT_ERR_ARG, "%.64s...: directory name too long", out_dir);
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot create the directory: %s", out_dir, strerror(errno));
    mpct_gguf_file *f = NULL;
    MPCT_CALL(mpct_gguf_open(gguf_path, &f));
    unsigned char *used = calloc(mpct_gguf_kv_count(f) + 1, 1);
    mpct_status st = used ? convert(f, used, out_dir, report, info)
                          : mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", gguf_path);
    if (st == MPCT_OK && report) {
        fprintf(report, "gguf: converted %llu tensors (", (unsigned long long)info->tensors);
        const char *sep = "";
        for (uint32_t t = 0; t < 64; t++)
            if (info->type_count[t]) {
                fprintf(report, "%s%llu %s", sep, (unsigned long long)info->type_count[t], mpct_gguf_type_name(t));
                sep = ", ";
            }
        fprintf(report, "): %llu bytes read, %llu bytes of float32 written to %s\n",
                (unsigned long long)info->bytes_in, (unsigned long long)info->bytes_out, out_dir);
    }
    free(used);
    mpct_gguf_close(f);
    return st;
}

/* The files mpct_gguf_to_hf writes. */
static const char *const hf_files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};

static void remove_dir(const char *dir)
{
    char path[4096];
    for (size_t k = 0; k < sizeof hf_files / sizeof hf_files[0]; k++) {
        path_join(path, sizeof path, dir, hf_files[k]);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

mpct_status mpct_gguf_pack(const char *gguf_path, const char *out_path, const mpct_io_pack_opts *opts)
{
    /* the temporary directory lies next to the output: same file system,
     * and the user chose that place to have room */
    char dir[4096];
    const char *slash = strrchr(out_path, '/');
    const int dl = slash ? (int)(slash - out_path) : 1;
    if (snprintf(dir, sizeof dir, "%.*s/.mpct-gguf-XXXXXX", dl, slash ? out_path : ".") >= (int)sizeof dir)
        return mpct_error_set(MPCT_ERR_ARG, "%s: path too long", out_path);
    if (!mkdtemp(dir))
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot create a temporary directory next to the output: %s", dir,
                              strerror(errno));
    mpct_gguf_convert_info info;
    mpct_status st = mpct_gguf_to_hf(gguf_path, dir, opts->report, &info);
    if (st == MPCT_OK) st = mpct_io_pack_hf(dir, out_path, opts);
    remove_dir(dir);
    return st;
}
