/*
 * gguf_tok.c — writes a Hugging Face tokenizer.json (and its
 * tokenizer_config.json) from a GGUF file's tokenizer.ggml.* metadata: a
 * byte-level BPE ("gpt2" tokenizer model) with its vocabulary, merges,
 * added tokens, pre-tokenizer and padding token.
 *
 * Mapping (io/GGUF.md):
 *   tokenizer.ggml.model        "gpt2" only (others refused, named)
 *   tokenizer.ggml.tokens       model.vocab (token i has id i)
 *   tokenizer.ggml.merges       model.merges ("left right" -> [left, right])
 *   tokenizer.ggml.token_type   3 (control) -> added token, special;
 *                               4 (user defined) -> added token, not special
 *   tokenizer.ggml.pre          pre_tokenizer, by the table pre_map below;
 *                               an unknown value is refused, named
 *   tokenizer.ggml.*_token_id   tokenizer_config.json; padding.pad_id
 *   add_bos_token/add_eos_token post_processor (TemplateProcessing)
 *   add_space_prefix            must be false (byte-level BPE has none)
 * Every token must be valid UTF-8 without NUL; every merge two vocabulary
 * tokens separated by one space.
 *
 * Uses cJSON, utf8proc and the GGUF reader.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "mpct_gguf.h"

static const char LLAMA3_RE[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum pre_kind { PRE_BYTELEVEL, PRE_DIGITS_BYTELEVEL, PRE_LLAMA3 };

/* llama.cpp's tokenizer.ggml.pre values and the Hugging Face pre-tokenizer
 * each stands for (the model's own tokenizer.json). */
static const struct {
    const char *name;
    enum pre_kind kind;
} pre_map[] = {
    {"default", PRE_BYTELEVEL},   {"gpt-2", PRE_BYTELEVEL},     {"gpt2", PRE_BYTELEVEL},
    {"smollm", PRE_DIGITS_BYTELEVEL}, {"llama-bpe", PRE_LLAMA3}, {"llama3", PRE_LLAMA3},
    {"llama-v3", PRE_LLAMA3},
};

static cJSON *bytelevel(int use_regex)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "ByteLevel");
    cJSON_AddBoolToObject(b, "add_prefix_space", 0);
    cJSON_AddBoolToObject(b, "trim_offsets", 1);
    cJSON_AddBoolToObject(b, "use_regex", use_regex);
    return b;
}

static cJSON *pre_tokenizer(enum pre_kind k)
{
    if (k == PRE_BYTELEVEL) return bytelevel(1);
    cJSON *s = cJSON_CreateObject(), *a;
    cJSON_AddStringToObject(s, "type", "Sequence");
    a = cJSON_AddArrayToObject(s, "pretokenizers");
    cJSON *first = cJSON_CreateObject();
    if (k == PRE_DIGITS_BYTELEVEL) {
        cJSON_AddStringToObject(first, "type", "Digits");
        cJSON_AddBoolToObject(first, "individual_digits", 1);
    } else {
        cJSON_AddStringToObject(first, "type", "Split");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(first, "pattern"), "Regex", LLAMA3_RE);
        cJSON_AddStringToObject(first, "behavior", "Isolated");
        cJSON_AddBoolToObject(first, "invert", 0);
    }
    cJSON_AddItemToArray(a, first);
    cJSON_AddItemToArray(a, bytelevel(k == PRE_DIGITS_BYTELEVEL));
    return s;
}

static mpct_status mark(const mpct_gguf_file *f, unsigned char *used, const char *key)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    if (kv) used[kv - mpct_gguf_kv_at(f, 0)] = 1;
    return MPCT_OK;
}

static char *dup_n(const mpct_gguf_str *s)
{
    char *p = malloc((size_t)s->n + 1);
    if (p) {
        memcpy(p, s->s, (size_t)s->n);
        p[s->n] = 0;
    }
    return p;
}

static int valid_utf8(const mpct_gguf_str *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s->s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)s->n;
    while (left > 0) {
        utf8proc_int32_t c;
        const utf8proc_ssize_t k = utf8proc_iterate(p, left, &c);
        if (k <= 0 || c == 0) return 0;
        p += k;
        left -= k;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    const mpct_gguf_str *x = *(const mpct_gguf_str *const *)a, *y = *(const mpct_gguf_str *const *)b;
    const int c = memcmp(x->s, y->s, (size_t)(x->n < y->n ? x->n : y->n));
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Every token once (a JSON object cannot hold a name twice). */
static mpct_status check_unique(const mpct_gguf_file *f, const mpct_gguf_kv *tokens)
{
    const mpct_gguf_str **by = malloc((size_t)tokens->n * sizeof *by);
    if (!by) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", mpct_gguf_label(f));
    for (uint64_t i = 0; i < tokens->n; i++) by[i] = &tokens->strs[i];
    qsort(by, (size_t)tokens->n, sizeof *by, cmp_str);
    mpct_status st = MPCT_OK;
    for (uint64_t i = 1; i < tokens->n && st == MPCT_OK; i++)
        if (cmp_str(&by[i - 1], &by[i]) == 0)
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%llu] and [%llu] are the same token \"%.*s\"",
                                mpct_gguf_label(f), (unsigned long long)(by[i - 1] - tokens->strs),
                                (unsigned long long)(by[i] - tokens->strs), (int)(by[i]->n < 64 ? by[i]->n : 64), by[i]->s);
    free(by);
    return st;
}

/* model: vocab, merges; added_tokens from the token types. */
static mpct_status add_model(const mpct_gguf_file *f, const mpct_gguf_kv *tokens, const mpct_gguf_kv *types,
                             const mpct_gguf_kv *merges, cJSON *root)
{
    const char *lb = mpct_gguf_label(f);
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON_AddNullToObject(root, "normalizer");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddBoolToObject(m, "fuse_unk", 0);
    cJSON_AddBoolToObject(m, "byte_fallback", 0);
    cJSON_AddBoolToObject(m, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab"), *mg = cJSON_AddArrayToObject(m, "merges");
    cJSON_AddItemToObject(root, "model", m);
    for (uint64_t i = 0; i < tokens->n; i++) {
        const mpct_gguf_str *s = &tokens->strs[i];
        if (s->n == 0 || !valid_utf8(s))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%llu] is empty, not UTF-8 or holds "
                                  "a NUL", lb, (unsigned long long)i);
        char *t = dup_n(s);
        if (!t) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", lb);
        cJSON_AddNumberToObject(vocab, t, (double)i);
        int32_t ty = 1;
        if (types) memcpy(&ty, types->arr + 4 * i, 4); /* little-endian host, as the mapping itself */
        if (ty == 3 || ty == 4) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", (double)i);
            cJSON_AddStringToObject(a, "content", t);
            cJSON_AddBoolToObject(a, "single_word", 0);
            cJSON_AddBoolToObject(a, "lstrip", 0);
            cJSON_AddBoolToObject(a, "rstrip", 0);
            cJSON_AddBoolToObject(a, "normalized", 0);
            cJSON_AddBoolToObject(a, "special", ty == 3);
            cJSON_AddItemToArray(added, a);
        } else if (ty < 1 || ty > 6) {
            free(t);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.token_type[%llu] = %d is not a llama.cpp "
                                  "token type (1..6)", lb, (unsigned long long)i, (int)ty);
        }
        free(t);
    }
    for (uint64_t i = 0; merges && i < merges->n; i++) {
        const mpct_gguf_str *s = &merges->strs[i];
        const char *sp = s->n ? memchr(s->s, ' ', (size_t)s->n) : NULL;
        if (!sp || sp == s->s || sp == s->s + s->n - 1 || memchr(sp + 1, ' ', (size_t)(s->s + s->n - sp - 1)) ||
            !valid_utf8(s))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu] is not \"left right\" (two "
                                  "tokens and one space, UTF-8)", lb, (unsigned long long)i);
        mpct_gguf_str l = {s->s, (uint64_t)(sp - s->s)}, r = {sp + 1, s->n - l.n - 1};
        char *a = dup_n(&l), *b = dup_n(&r);
        cJSON *pair = cJSON_CreateArray();
        if (a && b) {
            cJSON_AddItemToArray(pair, cJSON_CreateString(a));
            cJSON_AddItemToArray(pair, cJSON_CreateString(b));
        }
        cJSON_AddItemToArray(mg, pair);
        free(a);
        free(b);
    }
    return MPCT_OK;
}

/* One *_token_id: < n; its token string (NULL when absent, not required). */
static mpct_status special_id(const mpct_gguf_file *f, unsigned char *used, const mpct_gguf_kv *tokens,
                              const char *key, int64_t *id)
{
    uint64_t v;
    *id = -1;
    if (!mpct_gguf_find_kv(f, key)) return MPCT_OK;
    MPCT_CALL(mpct_gguf_get_u64(f, key, 1, 0, &v));
    if (v >= tokens->n)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s = %llu is not a token id (the vocabulary has %llu)",
                              mpct_gguf_label(f), key, (unsigned long long)v, (unsigned long long)tokens->n);
    *id = (int64_t)v;
    return mark(f, used, key);
}

static void add_tok_name(cJSON *o, const char *name, const mpct_gguf_kv *tokens, int64_t id)
{
    if (id < 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    char *s = dup_n(&tokens->strs[id]);
    if (s) cJSON_AddStringToObject(o, name, s);
    free(s);
}

/* One item of the template: sequence A or B (id < 0) or a special token,
 * into single (part 0 only) and pair; special_tokens gets its entry. */
static void tpl_push(cJSON *single, cJSON *pair, int part, const mpct_gguf_kv *tokens, int64_t id, cJSON *sp)
{
    cJSON *e = cJSON_CreateObject(), *in = cJSON_AddObjectToObject(e, id < 0 ? "Sequence" : "SpecialToken");
    char *s = id >= 0 ? dup_n(&tokens->strs[id]) : NULL;
    cJSON_AddStringToObject(in, "id", id < 0 ? (part ? "B" : "A") : s ? s : "");
    cJSON_AddNumberToObject(in, "type_id", part);
    if (part == 0) cJSON_AddItemToArray(single, cJSON_Duplicate(e, 1));
    cJSON_AddItemToArray(pair, e);
    if (s && !cJSON_GetObjectItemCaseSensitive(sp, s)) {
        cJSON *d = cJSON_AddObjectToObject(sp, s);
        cJSON_AddStringToObject(d, "id", s);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "ids"), cJSON_CreateNumber((double)id));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "tokens"), cJSON_CreateString(s));
    }
    free(s);
}

/* post_processor, padding, decoder; tokenizer_config.json's content. */
static mpct_status add_specials(const mpct_gguf_file *f, unsigned char *used, const mpct_gguf_kv *tokens,
                                cJSON *root, cJSON *cfg)
{
    int64_t bos, eos, unk, pad;
    int add_bos, add_eos, space;
    MPCT_CALL(special_id(f, used, tokens, "tokenizer.ggml.bos_token_id", &bos));
    MPCT_CALL(special_id(f, used, tokens, "tokenizer.ggml.eos_token_id", &eos));
    MPCT_CALL(special_id(f, used, tokens, "tokenizer.ggml.unknown_token_id", &unk));
    MPCT_CALL(special_id(f, used, tokens, "tokenizer.ggml.padding_token_id", &pad));
    MPCT_CALL(mpct_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", 0, 0, &add_bos));
    MPCT_CALL(mpct_gguf_get_bool(f, "tokenizer.ggml.add_eos_token", 0, 0, &add_eos));
    MPCT_CALL(mpct_gguf_get_bool(f, "tokenizer.ggml.add_space_prefix", 0, 0, &space));
    if ((add_bos && bos < 0) || (add_eos && eos < 0) || space)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.add_%s is true but %s", mpct_gguf_label(f),
                              space ? "space_prefix" : add_bos && bos < 0 ? "bos_token" : "eos_token",
                              space ? "a byte-level BPE adds no space prefix (not supported by mpct)"
                                    : "the file names no such token id");
    MPCT_CALL(mark(f, used, "tokenizer.ggml.add_bos_token"));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.add_eos_token"));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.add_space_prefix"));
    cJSON *pp = cJSON_AddObjectToObject(root, "post_processor");
    cJSON_AddStringToObject(pp, "type", "TemplateProcessing");
    cJSON *single = cJSON_AddArrayToObject(pp, "single"), *pair = cJSON_AddArrayToObject(pp, "pair"),
          *sp = cJSON_AddObjectToObject(pp, "special_tokens");
    for (int part = 0; part < 2; part++) {
        if (add_bos) tpl_push(single, pair, part, tokens, bos, sp);
        tpl_push(single, pair, part, tokens, -1, sp);
        if (add_eos) tpl_push(single, pair, part, tokens, eos, sp);
    }
    if (pad >= 0) {
        cJSON *pd = cJSON_CreateObject();
        cJSON_AddStringToObject(pd, "strategy", "BatchLongest");
        cJSON_AddStringToObject(pd, "direction", "Right");
        cJSON_AddNullToObject(pd, "pad_to_multiple_of");
        cJSON_AddNumberToObject(pd, "pad_id", (double)pad);
        cJSON_AddNumberToObject(pd, "pad_type_id", 0);
        add_tok_name(pd, "pad_token", tokens, pad);
        cJSON_ReplaceItemInObjectCaseSensitive(root, "padding", pd);
    }
    cJSON *dec = bytelevel(1);
    cJSON_AddItemToObject(root, "decoder", dec);
    cJSON_AddStringToObject(cfg, "tokenizer_class", "PreTrainedTokenizerFast");
    add_tok_name(cfg, "bos_token", tokens, bos);
    add_tok_name(cfg, "eos_token", tokens, eos);
    add_tok_name(cfg, "unk_token", tokens, unk);
    add_tok_name(cfg, "pad_token", tokens, pad);
    cJSON_AddBoolToObject(cfg, "add_bos_token", add_bos);
    cJSON_AddBoolToObject(cfg, "add_eos_token", add_eos);
    return MPCT_OK;
}

static mpct_status write_file(const char *path, cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    if (!s) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", path);
    FILE *fp = fopen(path, "wb");
    mpct_status st = MPCT_OK;
    if (!fp) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    } else {
        const size_t n = strlen(s);
        const int bad = fwrite(s, 1, n, fp) != n;
        if (fclose(fp) != 0 || bad) st = mpct_error_set(MPCT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    cJSON_free(s);
    return st;
}

static mpct_status tokenizer_kind(const mpct_gguf_file *f, unsigned char *used, enum pre_kind *kind)
{
    char *model = NULL, *pre = NULL;
    MPCT_CALL(mpct_gguf_get_str(f, "tokenizer.ggml.model", 1, &model));
    const int gpt2 = strcmp(model, "gpt2") == 0;
    mpct_status st = gpt2 ? mpct_gguf_get_str(f, "tokenizer.ggml.pre", 0, &pre)
                          : mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model = \"%s\" is not supported "
                                           "by mpct's GGUF conversion (gpt2, byte-level BPE, is)",
                                           mpct_gguf_label(f), model);
    free(model);
    if (st != MPCT_OK) return st;
    size_t k = 0;
    const size_t n = sizeof pre_map / sizeof pre_map[0];
    while (k < n && strcmp(pre_map[k].name, pre ? pre : "default") != 0) k++;
    if (k == n)
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre = \"%s\" is not supported by mpct "
                            "(default, gpt-2, gpt2, smollm, llama-bpe, llama3, llama-v3 are)", mpct_gguf_label(f),
                            pre);
    else
        *kind = pre_map[k].kind;
    free(pre);
    MPCT_CALL(mark(f, used, "tokenizer.ggml.model"));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.pre"));
    return st;
}

mpct_status mpct_gguf_write_tokenizer(const mpct_gguf_file *f, const char *path, unsigned char *used)
{
    enum pre_kind kind = PRE_BYTELEVEL;
    const mpct_gguf_kv *tokens, *types = NULL, *merges = NULL;
    MPCT_CALL(tokenizer_kind(f, used, &kind));
    MPCT_CALL(mpct_gguf_get_arr(f, "tokenizer.ggml.tokens", MPCT_GGUF_STRING, 0, &tokens));
    if (tokens->n == 0 || tokens->n > INT32_MAX)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", mpct_gguf_label(f),
                              (unsigned long long)tokens->n);
    if (mpct_gguf_find_kv(f, "tokenizer.ggml.token_type"))
        MPCT_CALL(mpct_gguf_get_arr(f, "tokenizer.ggml.token_type", MPCT_GGUF_I32, tokens->n, &types));
    MPCT_CALL(mpct_gguf_get_arr(f, "tokenizer.ggml.merges", MPCT_GGUF_STRING, 0, &merges));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.tokens"));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.token_type"));
    MPCT_CALL(mark(f, used, "tokenizer.ggml.merges"));
    cJSON *root = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    mpct_status st = check_unique(f, tokens);
    if (st == MPCT_OK) st = add_model(f, tokens, types, merges, root);
    if (st == MPCT_OK) {
        cJSON *model = cJSON_DetachItemFromObjectCaseSensitive(root, "model");
        cJSON_AddItemToObject(root, "pre_tokenizer", pre_tokenizer(kind));
        st = add_specials(f, used, tokens, root, cfg);
        cJSON_AddItemToObject(root, "model", model);
    }
    if (st == MPCT_OK) st = write_file(path, root);
    if (st == MPCT_OK) {
        char cpath[4096];
        const char *slash = strrchr(path, '/');
        snprintf(cpath, sizeof cpath, "%.*stokenizer_config.json", slash ? (int)(slash - path + 1) : 0, path);
        st = write_file(cpath, cfg);
    }
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return st;
}
