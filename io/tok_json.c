/*
 * tok_json.c — builds a tokenizer from Hugging Face's tokenizer.json
 * (mpct_tok_load_json_mem). What is implemented (anything else is refused
 * with a message naming the JSON path and the value, never ignored):
 *   normalizer     null, BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase,
 *                  Sequence of these
 *   pre_tokenizer  null, BertPreTokenizer, ByteLevel (add_prefix_space,
 *                  use_regex; trim_offsets only moves offsets), Metaspace
 *                  (replacement, prepend_scheme or add_prefix_space, split),
 *                  Sequence [Split (GPT-2's or LLaMA-3's regex, Isolated),
 *                  ByteLevel (no prefix space, no regex)]
 *   model          WordPiece, BPE (no dropout, byte_fallback,
 *                  continuing_subword_prefix or end_of_word_suffix), Unigram
 *                  (unk_id set, no byte_fallback)
 *   post_processor null, BertProcessing, RobertaProcessing, TemplateProcessing
 *                  (its "single" template: special tokens, $A, special tokens),
 *                  ByteLevel (moves offsets only), a Sequence of these with
 *                  at most one that adds special tokens
 *   added_tokens   matched in the raw text (normalized false, or no
 *                  normalizer), lstrip / rstrip; single_word refused
 *   decoder        accepted whatever it is (it maps ids back to text only)
 *   truncation, padding  accepted: mpct's sequence length replaces them, as
 *                  transformers' truncation=True, max_length=N does;
 *                  padding.pad_id, when given, is the padding id.
 * Unknown keys in any object read here are refused too.
 *
 * Invariants: ids 0 .. n_model-1 are the model's vocabulary (dense: a missing
 * or repeated id is refused); added tokens with ids >= n_model extend it, with
 * no gap. The cJSON tree is freed on every path.
 */
#include "tok_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jctx {
    const char *name;
};

/* Refuses members of o not listed in keys (NULL-terminated). */
static mpct_status check_keys(const struct jctx *c, const cJSON *o, const char *path, const char *const *keys)
{
    for (const cJSON *m = o->child; m; m = m->next) {
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], m->string) != 0)
            k++;
        if (keys[k] == NULL)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s%s%s is not supported by mpct (unknown key)", c->name,
                                  path, *path ? "." : "", m->string);
    }
    return MPCT_OK;
}

/* Boolean member (def when absent or null). */
static mpct_status get_bool(const struct jctx *c, const cJSON *o, const char *path, const char *key, int def,
                            int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = def;
    if (v == NULL || cJSON_IsNull(v))
        return MPCT_OK;
    if (!cJSON_IsBool(v))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.%s must be true or false", c->name, path, key);
    *out = cJSON_IsTrue(v);
    return MPCT_OK;
}

/* Refuses a member that is present with a value other than null / false. */
static mpct_status refuse_set(const struct jctx *c, const cJSON *o, const char *path, const char *key,
                              const char *why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return MPCT_OK;
    char *s = cJSON_PrintUnformatted(v);
    mpct_status st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.%s = %s is not supported by mpct (%s)", c->name, path,
                                    key, s ? s : "?", why);
    free(s);
    return st;
}

static const char *type_of(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static mpct_status unsupported_type(const struct jctx *c, const char *path, const cJSON *o, const char *supported)
{
    const char *t = type_of(o);
    if (t == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s has no \"type\" string", c->name, path);
    return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.type = \"%s\" is not supported by mpct (supported: %s)", c->name,
                          path, t, supported);
}

/* Decodes a JSON string to code points (malloc'd). */
static mpct_status to_cp(const struct jctx *c, const char *s, const char *path, int32_t **cp, size_t *n)
{
    size_t len = strlen(s), k = 0;
    *cp = malloc((len ? len : 1) * sizeof **cp);
    if (*cp == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", c->name);
    for (size_t p = 0; p < len;) {
        char why[160];
        int32_t v = tok_utf8_next((const unsigned char *)s, len, &p, why, sizeof why);
        if (v < 0) {
            free(*cp);
            *cp = NULL;
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s is not valid UTF-8: %s", c->name, path, why);
        }
        (*cp)[k++] = v;
    }
    *n = k;
    return MPCT_OK;
}

/* ------------------------------------------------------------------ normalizer */

static mpct_status parse_one_norm(const struct jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path)
{
    static const char *const supported = "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, Sequence";
    static const char *const kt[] = {"type", NULL};
    const char *t = cJSON_IsObject(o) ? type_of(o) : NULL;
    if (t == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s must be an object with a \"type\"", c->name, path);
    if (strcmp(t, "Sequence") == 0) {
        static const char *const ks[] = {"type", "normalizers", NULL};
        MPCT_CALL(check_keys(c, o, path, ks));
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "normalizers");
        if (!cJSON_IsArray(a))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.normalizers must be an array", c->name, path);
        int i = 0;
        for (const cJSON *e = a->child; e; e = e->next, i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", path, i);
            MPCT_CALL(parse_one_norm(c, tok, e, sub));
        }
        return MPCT_OK;
    }
    if (tok->nnorm == TOK_MAX_NORM)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: more than %d normalizers", c->name, path, TOK_MAX_NORM);
    struct tok_norm *n = &tok->norm[tok->nnorm];
    if (strcmp(t, "BertNormalizer") == 0) {
        static const char *const kb[] = {"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase",
                                         NULL};
        MPCT_CALL(check_keys(c, o, path, kb));
        n->kind = TOK_NORM_BERT;
        MPCT_CALL(get_bool(c, o, path, "clean_text", 1, &n->clean_text));
        MPCT_CALL(get_bool(c, o, path, "handle_chinese_chars", 1, &n->chinese));
        MPCT_CALL(get_bool(c, o, path, "lowercase", 1, &n->lowercase));
        /* strip_accents null follows lowercase (HF's rule) */
        MPCT_CALL(get_bool(c, o, path, "strip_accents", n->lowercase, &n->strip_accents));
    } else if (!strcmp(t, "NFC") || !strcmp(t, "NFD") || !strcmp(t, "NFKC") || !strcmp(t, "NFKD") ||
               !strcmp(t, "Lowercase")) {
        MPCT_CALL(check_keys(c, o, path, kt));
        n->kind = !strcmp(t, "NFC")    ? TOK_NORM_NFC
                  : !strcmp(t, "NFD")  ? TOK_NORM_NFD
                  : !strcmp(t, "NFKC") ? TOK_NORM_NFKC
                  : !strcmp(t, "NFKD") ? TOK_NORM_NFKD
                                       : TOK_NORM_LOWERCASE;
    } else {
        return unsupported_type(c, path, o, supported);
    }
    tok->nnorm++;
    return MPCT_OK;
}

/* ------------------------------------------------------------------ pre-tokenizer */

static mpct_status parse_metaspace(const struct jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path)
{
    static const char *const km[] = {"type", "replacement", "prepend_scheme", "add_prefix_space", "split",
                                     "str_rep", NULL};
    MPCT_CALL(check_keys(c, o, path, km));
    tok->pre = TOK_PRE_METASPACE;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "replacement");
    if (!cJSON_IsString(r))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.replacement must be a string", c->name, path);
    int32_t *cp = NULL;
    size_t n = 0;
    MPCT_CALL(to_cp(c, r->valuestring, path, &cp, &n));
    tok->meta_rep = n == 1 ? cp[0] : -1;
    free(cp);
    if (n != 1)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.replacement = \"%s\" must be one character", c->name, path,
                              r->valuestring);
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(o, "prepend_scheme");
    if (cJSON_IsString(ps)) {
        const char *v = ps->valuestring;
        if (!strcmp(v, "always"))
            tok->meta_prepend = TOK_PREPEND_ALWAYS;
        else if (!strcmp(v, "first"))
            tok->meta_prepend = TOK_PREPEND_FIRST;
        else if (!strcmp(v, "never"))
            tok->meta_prepend = TOK_PREPEND_NEVER;
        else
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.prepend_scheme = \"%s\" is not always, first or never",
                                  c->name, path, v);
    } else if (ps != NULL && !cJSON_IsNull(ps)) {
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.prepend_scheme must be a string", c->name, path);
    } else {
        int add = 1;
        MPCT_CALL(get_bool(c, o, path, "add_prefix_space", 1, &add));
        tok->meta_prepend = add ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
    }
    return get_bool(c, o, path, "split", 1, &tok->meta_split);
}

static const char GPT2_RE[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char LLAMA3_RE[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Sequence [Split(GPT-2 or LLaMA-3 pattern, Isolated), ByteLevel(use_regex false)]. */
static mpct_status parse_split_bytelevel(const struct jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kq[] = {"type", "pretokenizers", NULL}, *const ks[] = {"type", "pattern", "behavior",
                                                                                       "invert", NULL};
    static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    MPCT_CALL(check_keys(c, o, "pre_tokenizer", kq));
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "pretokenizers");
    const cJSON *sp = cJSON_GetArrayItem(a, 0), *bl = cJSON_GetArrayItem(a, 1);
    const char *t0 = cJSON_IsObject(sp) ? type_of(sp) : NULL, *t1 = cJSON_IsObject(bl) ? type_of(bl) : NULL;
    if (cJSON_GetArraySize(a) != 2 || !t0 || !t1 || strcmp(t0, "Split") || strcmp(t1, "ByteLevel"))
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers is not supported by mpct (it implements a Sequence "
                              "of Split then ByteLevel only)", c->name);
    MPCT_CALL(check_keys(c, sp, "pre_tokenizer.pretokenizers[0]", ks));
    MPCT_CALL(check_keys(c, bl, "pre_tokenizer.pretokenizers[1]", kb));
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sp, "pattern"), "Regex"),
                *beh = cJSON_GetObjectItemCaseSensitive(sp, "behavior");
    int invert = 0, use_regex = 1;
    MPCT_CALL(get_bool(c, sp, "pre_tokenizer.pretokenizers[0]", "invert", 0, &invert));
    if (!cJSON_IsString(re) || (strcmp(re->valuestring, GPT2_RE) && strcmp(re->valuestring, LLAMA3_RE)))
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers[0].pattern = %s is not supported by mpct (it "
                              "implements GPT-2's and LLaMA-3's regex)", c->name,
                              cJSON_IsString(re) ? re->valuestring : "(not a Regex)");
    if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") || invert)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers[0]: behavior \"%s\"%s is not supported by mpct "
                              "(Isolated, invert false)", c->name, cJSON_IsString(beh) ? beh->valuestring : "?",
                              invert ? " with invert" : "");
    MPCT_CALL(get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "add_prefix_space", 1, &tok->byte_prefix_space));
    MPCT_CALL(get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "use_regex", 1, &use_regex));
    if (tok->byte_prefix_space || use_regex)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers[1]: ByteLevel after Split with add_prefix_space or "
                              "use_regex true is not supported by mpct", c->name);
    tok->pre = TOK_PRE_BYTELEVEL;
    tok->byte_regex = strcmp(re->valuestring, GPT2_RE) ? TOK_RE_LLAMA3 : TOK_RE_GPT2;
    return MPCT_OK;
}

static mpct_status parse_pre(const struct jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    const char *path = "pre_tokenizer";
    if (o == NULL || cJSON_IsNull(o)) {
        tok->pre = TOK_PRE_NONE;
        return MPCT_OK;
    }
    const char *t = cJSON_IsObject(o) ? type_of(o) : NULL;
    if (t && strcmp(t, "BertPreTokenizer") == 0) {
        static const char *const kt[] = {"type", NULL};
        MPCT_CALL(check_keys(c, o, path, kt));
        tok->pre = TOK_PRE_BERT;
        return MPCT_OK;
    }
    if (t && strcmp(t, "ByteLevel") == 0) {
        static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
        MPCT_CALL(check_keys(c, o, path, kb));
        tok->pre = TOK_PRE_BYTELEVEL;
        MPCT_CALL(get_bool(c, o, path, "add_prefix_space", 1, &tok->byte_prefix_space));
        int re = 1;
        MPCT_CALL(get_bool(c, o, path, "use_regex", 1, &re));
        tok->byte_regex = re ? TOK_RE_GPT2 : TOK_RE_NONE;
        return MPCT_OK;
    }
    if (t && strcmp(t, "Metaspace") == 0)
        return parse_metaspace(c, tok, o, path);
    if (t && strcmp(t, "Sequence") == 0)
        return parse_split_bytelevel(c, tok, o);
    return unsupported_type(c, path, o, "null, BertPreTokenizer, ByteLevel, Metaspace, Sequence [Split, ByteLevel]");
}

/* ------------------------------------------------------------------ vocabulary */

/* The double `tokenizers` holds for a JSON number whose correctly rounded
 * value is d. serde_json (without its float_roundtrip feature) parses
 * "DIGITS[.DIGITS][eEXP]" as (double)significand, then one multiplication or
 * division by the correctly rounded 10^|exp| (by 1e308 first while |exp| >
 * 308): for 16-17 significant digits that is off by one unit in the last
 * place about one time in thirty, and Unigram's Viterbi ties follow it. The
 * text `tokenizers` wrote is the shortest one that reads back as d, found
 * here by trying 1..17 digits. */
static double serde_f64(double d)
{
    if (d == 0 || !isfinite(d))
        return d;
    char s[48];
    int n = 1;
    snprintf(s, sizeof s, "%.*e", 14, d);
    if (strtod(s, NULL) != d)
        n = 16;
    for (; n < 17; n++) {
        snprintf(s, sizeof s, "%.*e", n - 1, d);
        if (strtod(s, NULL) == d)
            break;
    }
    snprintf(s, sizeof s, "%.*e", n - 1, d);
    uint64_t sig = 0;
    const char *p = s;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            sig = sig * 10 + (uint64_t)(*p - '0');
    int exp = (*p == 'e' ? atoi(p + 1) : 0) - (n - 1);
    double f = (double)sig;
    char pw[16];
    while (exp < -308) {
        f /= 1e308;
        exp += 308;
    }
    snprintf(pw, sizeof pw, "1e%d", exp < 0 ? -exp : exp);
    f = exp < 0 ? f / strtod(pw, NULL) : f * strtod(pw, NULL);
    return d < 0 ? -f : f;
}

/* Token strings by id: the model's (str[0 .. n_model)) then added tokens. */
struct jvocab {
    const char **str;
    size_t n_model, n;
};

static mpct_status model_vocab(const struct jctx *c, const cJSON *vocab, int unigram, struct jvocab *v,
                               double **scores)
{
    size_t n = (size_t)cJSON_GetArraySize(vocab);
    if (unigram ? !cJSON_IsArray(vocab) : !cJSON_IsObject(vocab))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.vocab must be %s", c->name,
                              unigram ? "an array of [piece, score]" : "an object token -> id");
    if (n == 0 || n > TOK_MAX_VOCAB)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.vocab has %zu entries", c->name, n);
    v->str = calloc(n, sizeof *v->str);
    if (unigram)
        *scores = malloc(n * sizeof **scores);
    if (v->str == NULL || (unigram && *scores == NULL))
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory for %zu tokens", c->name, n);
    v->n_model = v->n = n;
    size_t i = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, i++) {
        if (unigram) {
            const cJSON *p = cJSON_GetArrayItem(e, 0), *sc = cJSON_GetArrayItem(e, 1);
            if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(p) || !cJSON_IsNumber(sc))
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.vocab[%zu] must be [piece, score]", c->name, i);
            v->str[i] = p->valuestring;
            (*scores)[i] = serde_f64(sc->valuedouble);
            continue;
        }
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (d < 0 || d >= (double)n || d != floor(d))
            return mpct_error_set(MPCT_ERR_FORMAT,
                                  "%s: model.vocab[\"%s\"] must be an id in 0..%zu (ids must be dense)", c->name,
                                  e->string, n - 1);
        size_t id = (size_t)d;
        if (v->str[id])
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.vocab: id %zu is given to \"%s\" and \"%s\"",
                                  c->name, id, v->str[id], e->string);
        v->str[id] = e->string;
    }
    return MPCT_OK;
}

static mpct_status parse_added(const struct jctx *c, mpct_tok_t *tok, const cJSON *a, int has_norm,
                               struct jvocab *v)
{
    if (a == NULL || cJSON_IsNull(a))
        return MPCT_OK;
    if (!cJSON_IsArray(a))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: added_tokens must be an array", c->name);
    size_t na = (size_t)cJSON_GetArraySize(a);
    tok->added = calloc(na ? na : 1, sizeof *tok->added);
    if (tok->added == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", c->name);
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        char path[64];
        snprintf(path, sizeof path, "added_tokens[%d]", i);
        static const char *const ka[] = {"id", "content", "single_word", "lstrip", "rstrip", "normalized",
                                         "special", NULL};
        if (!cJSON_IsObject(e))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s must be an object", c->name, path);
        MPCT_CALL(check_keys(c, e, path, ka));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id"),
                    *ct = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (double)TOK_MAX_VOCAB ||
            !cJSON_IsString(ct) || ct->valuestring[0] == '\0')
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s needs an \"id\" >= 0 and a non-empty \"content\"",
                                  c->name, path);
        int single = 0, norm = 0;
        MPCT_CALL(get_bool(c, e, path, "single_word", 0, &single));
        MPCT_CALL(get_bool(c, e, path, "normalized", 0, &norm));
        if (single)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.single_word = true (\"%s\") is not supported by mpct",
                                  c->name, path, ct->valuestring);
        if (norm && has_norm)
            return mpct_error_set(MPCT_ERR_FORMAT,
                                  "%s: %s.normalized = true (\"%s\") is not supported by mpct with a normalizer "
                                  "(mpct matches added tokens in the raw text)",
                                  c->name, path, ct->valuestring);
        struct tok_added *t = &tok->added[tok->nadded++];
        t->id = (int32_t)id->valuedouble;
        MPCT_CALL(get_bool(c, e, path, "lstrip", 0, &t->lstrip));
        MPCT_CALL(get_bool(c, e, path, "rstrip", 0, &t->rstrip));
        MPCT_CALL(to_cp(c, ct->valuestring, path, &t->cp, &t->ncp));
        if ((size_t)t->id >= v->n)
            v->n = (size_t)t->id + 1;
    }
    if (v->n > v->n_model) {
        const char **ns = realloc(v->str, v->n * sizeof *ns);
        if (ns == NULL)
            return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", c->name);
        v->str = ns;
        memset(ns + v->n_model, 0, (v->n - v->n_model) * sizeof *ns);
    }
    i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        const char *ct = cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring;
        size_t id = (size_t)tok->added[i].id;
        if (v->str[id] && strcmp(v->str[id], ct) != 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: added_tokens[%d] gives id %zu to \"%s\", but it is \"%s\"",
                                  c->name, i, id, ct, v->str[id]);
        v->str[id] = ct;
    }
    for (size_t id = v->n_model; id < v->n; id++)
        if (v->str[id] == NULL)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: no token has id %zu (ids must be dense)", c->name, id);
    return MPCT_OK;
}

/* Fills the arena and the hash table (model ids only). */
static mpct_status fill_vocab(const struct jctx *c, mpct_tok_t *tok, const struct jvocab *v)
{
    size_t bytes = 0;
    for (size_t i = 0; i < v->n; i++)
        bytes += strlen(v->str[i]) + 1;
    MPCT_CALL(tok_alloc(tok, v->n, bytes, c->name));
    size_t a = 0;
    for (size_t i = 0; i < v->n; i++) {
        size_t l = strlen(v->str[i]);
        if (l > UINT32_MAX)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: token %zu is too long", c->name, i);
        tok->off[i] = a;
        tok->len[i] = (uint32_t)l;
        memcpy(tok->arena + a, v->str[i], l + 1);
        a += l + 1;
    }
    tok->n_model = v->n_model;
    for (size_t i = 0; i < v->n_model; i++)
        tok_insert(tok, (uint32_t)i);
    return MPCT_OK;
}

/* ------------------------------------------------------------------ model */

/* Id of the model token named by member key of m (a string), or -1 if null/absent. */
static mpct_status token_member(const struct jctx *c, const mpct_tok_t *tok, const cJSON *m, const char *key,
                                int32_t *id)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, key);
    *id = -1;
    if (u == NULL || cJSON_IsNull(u))
        return MPCT_OK;
    if (!cJSON_IsString(u))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.%s must be a string", c->name, key);
    *id = tok_find(tok, "", 0, u->valuestring, strlen(u->valuestring));
    if (*id < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.%s = \"%s\" is not in model.vocab", c->name, key,
                              u->valuestring);
    return MPCT_OK;
}

static mpct_status parse_wordpiece(const struct jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const kw[] = {"type", "vocab", "unk_token", "continuing_subword_prefix",
                                     "max_input_chars_per_word", NULL};
    MPCT_CALL(check_keys(c, m, "model", kw));
    MPCT_CALL(token_member(c, tok, m, "unk_token", &tok->unk));
    if (tok->unk < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.unk_token is missing (WordPiece needs one)", c->name);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "continuing_subword_prefix");
    const char *pre = cJSON_IsString(p) ? p->valuestring : "##";
    if (p && !cJSON_IsNull(p) && !cJSON_IsString(p))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.continuing_subword_prefix must be a string", c->name);
    if (strlen(pre) >= sizeof tok->wp_prefix)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.continuing_subword_prefix = \"%s\" is too long", c->name,
                              pre);
    memcpy(tok->wp_prefix, pre, strlen(pre) + 1);
    tok->wp_prefix_len = strlen(pre);
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(m, "max_input_chars_per_word");
    tok->wp_max_chars = MPCT_TOK_MAX_WORD_CHARS;
    if (mx && !cJSON_IsNull(mx)) {
        if (!cJSON_IsNumber(mx) || mx->valuedouble < 1 || mx->valuedouble > 1e9)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.max_input_chars_per_word must be a positive integer",
                                  c->name);
        tok->wp_max_chars = (size_t)mx->valuedouble;
    }
    return MPCT_OK;
}

/* One merge: "a b" or ["a", "b"]. */
static mpct_status merge_parts(const struct jctx *c, const cJSON *e, size_t i, char *buf, size_t cap,
                               const char **a, const char **b)
{
    if (cJSON_IsString(e)) {
        const char *sp = strchr(e->valuestring, ' ');
        size_t l = strlen(e->valuestring);
        if (sp == NULL || strchr(sp + 1, ' ') || l + 1 > cap)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.merges[%zu] = \"%s\" is not \"left right\"", c->name,
                                  i, e->valuestring);
        memcpy(buf, e->valuestring, l + 1);
        buf[sp - e->valuestring] = '\0';
        *a = buf;
        *b = buf + (sp - e->valuestring) + 1;
        return MPCT_OK;
    }
    const cJSON *x = cJSON_GetArrayItem(e, 0), *y = cJSON_GetArrayItem(e, 1);
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.merges[%zu] must be \"left right\" or [left, right]",
                              c->name, i);
    *a = x->valuestring;
    *b = y->valuestring;
    return MPCT_OK;
}

static mpct_status parse_bpe(const struct jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const kb[] = {"type", "vocab", "merges", "dropout", "unk_token", "continuing_subword_prefix",
                                     "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges", NULL};
    MPCT_CALL(check_keys(c, m, "model", kb));
    MPCT_CALL(refuse_set(c, m, "model", "dropout", "it makes ids random"));
    MPCT_CALL(refuse_set(c, m, "model", "byte_fallback", "byte fallback is not implemented"));
    MPCT_CALL(refuse_set(c, m, "model", "continuing_subword_prefix", "BPE subword prefixes are not implemented"));
    MPCT_CALL(refuse_set(c, m, "model", "end_of_word_suffix", "BPE word suffixes are not implemented"));
    MPCT_CALL(token_member(c, tok, m, "unk_token", &tok->unk));
    MPCT_CALL(get_bool(c, m, "model", "fuse_unk", 0, &tok->bpe_fuse_unk));
    MPCT_CALL(get_bool(c, m, "model", "ignore_merges", 0, &tok->bpe_ignore_merges));
    const cJSON *mg = cJSON_GetObjectItemCaseSensitive(m, "merges");
    if (!cJSON_IsArray(mg))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.merges must be an array", c->name);
    size_t nm = (size_t)cJSON_GetArraySize(mg);
    if (nm > UINT32_MAX)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.merges has %zu entries", c->name, nm);
    MPCT_CALL(tok_pairs_init(tok, nm));
    size_t i = 0;
    char buf[1024];
    for (const cJSON *e = mg->child; e; e = e->next, i++) {
        const char *a = "", *b = "";
        MPCT_CALL(merge_parts(c, e, i, buf, sizeof buf, &a, &b));
        size_t la = strlen(a), lb = strlen(b);
        int32_t ia = tok_find(tok, "", 0, a, la), ib = tok_find(tok, "", 0, b, lb), in = tok_find(tok, a, la, b, lb);
        if (ia < 0 || ib < 0 || in < 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.merges[%zu] (\"%s\" \"%s\"): \"%s\" is not in model.vocab",
                                  c->name, i, a, b, ia < 0 ? a : ib < 0 ? b : "their concatenation");
        tok_pairs_put(tok, ia, ib, (uint32_t)i, in);
    }
    return MPCT_OK;
}

static mpct_status parse_unigram(const struct jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const ku[] = {"type", "vocab", "unk_id", "byte_fallback", NULL};
    MPCT_CALL(check_keys(c, m, "model", ku));
    MPCT_CALL(refuse_set(c, m, "model", "byte_fallback", "byte fallback is not implemented"));
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unk_id");
    if (!cJSON_IsNumber(u) || u->valuedouble < 0 || u->valuedouble >= (double)tok->n_model)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.unk_id must be an id in 0..%zu (mpct needs an unk token)",
                              c->name, tok->n_model - 1);
    tok->unk = (int32_t)u->valuedouble;
    double lo = INFINITY;
    for (size_t i = 0; i < tok->n_model; i++) {
        if (!isfinite(tok->scores[i]))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: model.vocab[%zu] has a score that is not finite", c->name, i);
        lo = tok->scores[i] < lo ? tok->scores[i] : lo;
        tok->max_piece = tok->len[i] > tok->max_piece ? tok->len[i] : tok->max_piece;
    }
    tok->unk_score = lo - 10.0; /* `tokenizers`' K_UNK_PENALTY */
    return MPCT_OK;
}

/* ------------------------------------------------------------------ post-processor */

static mpct_status add_affix(const struct jctx *c, mpct_tok_t *tok, int after, double id, const char *path)
{
    int32_t *dst = after ? tok->suffix : tok->prefix;
    size_t *n = after ? &tok->nsuffix : &tok->nprefix;
    if (id < 0 || id >= (double)tok->n || id != floor(id))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: id %g is not a token id", c->name, path, id);
    if (*n == TOK_MAX_AFFIX)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: more than %d special tokens on one side", c->name, path,
                              TOK_MAX_AFFIX);
    dst[(*n)++] = (int32_t)id;
    return MPCT_OK;
}

/* BertProcessing / RobertaProcessing: cls X sep, each ["token", id]. */
static mpct_status parse_cls_sep(const struct jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kr[] = {"type", "sep", "cls", "trim_offsets", "add_prefix_space", NULL};
    MPCT_CALL(check_keys(c, o, "post_processor", kr));
    static const char *const which[2] = {"cls", "sep"};
    for (int k = 0; k < 2; k++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, which[k]), *id = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(id))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: post_processor.%s must be [\"token\", id]", c->name,
                                  which[k]);
        MPCT_CALL(add_affix(c, tok, k, id->valuedouble, which[k]));
    }
    return MPCT_OK;
}

static mpct_status parse_template(const struct jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kt[] = {"type", "single", "pair", "special_tokens", NULL};
    MPCT_CALL(check_keys(c, o, "post_processor", kt));
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(o, "single"),
                *sp = cJSON_GetObjectItemCaseSensitive(o, "special_tokens");
    if (!cJSON_IsArray(single) || !cJSON_IsObject(sp))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: post_processor needs a \"single\" array and a \"special_tokens\" "
                              "object", c->name);
    int after = 0, i = 0;
    for (const cJSON *e = single->child; e; e = e->next, i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken"),
                    *q = cJSON_GetObjectItemCaseSensitive(e, "Sequence");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(s ? s : q, "id");
        if ((s == NULL) == (q == NULL) || !cJSON_IsString(nm))
            return mpct_error_set(MPCT_ERR_FORMAT,
                                  "%s: post_processor.single[%d] must be {\"SpecialToken\": {\"id\": ...}} or "
                                  "{\"Sequence\": {\"id\": \"A\"}}", c->name, i);
        if (q) {
            if (strcmp(nm->valuestring, "A") != 0 || after)
                return mpct_error_set(MPCT_ERR_FORMAT,
                                      "%s: post_processor.single[%d]: Sequence \"%s\" is not supported by mpct (one "
                                      "sequence, \"A\")", c->name, i, nm->valuestring);
            after = 1;
            continue;
        }
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sp, nm->valuestring),
                                                            "ids");
        if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: post_processor.special_tokens[\"%s\"].ids is missing", c->name,
                                  nm->valuestring);
        char path[96];
        snprintf(path, sizeof path, "post_processor.special_tokens[\"%.40s\"]", nm->valuestring);
        for (const cJSON *id = ids->child; id; id = id->next)
            MPCT_CALL(add_affix(c, tok, after, cJSON_IsNumber(id) ? id->valuedouble : -1, path));
    }
    if (!after)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: post_processor.single has no {\"Sequence\": {\"id\": \"A\"}}",
                              c->name);
    return MPCT_OK;
}

/* One post-processor; *adds is set when it adds special tokens. */
static mpct_status parse_one_post(const struct jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path, int *adds)
{
    static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    const char *t = cJSON_IsObject(o) ? type_of(o) : NULL;
    *adds = 1;
    if (t && (!strcmp(t, "BertProcessing") || !strcmp(t, "RobertaProcessing")))
        return parse_cls_sep(c, tok, o);
    if (t && !strcmp(t, "TemplateProcessing"))
        return parse_template(c, tok, o);
    *adds = 0;
    if (t && !strcmp(t, "ByteLevel")) /* moves offsets only */
        return check_keys(c, o, path, kb);
    return unsupported_type(c, path, o,
                            "null, BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, Sequence");
}

static mpct_status parse_post(const struct jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    if (o != NULL && !cJSON_IsNull(o)) {
        const char *t = cJSON_IsObject(o) ? type_of(o) : NULL;
        int adds = 0, total = 0, i = 0;
        if (t && !strcmp(t, "Sequence")) {
            static const char *const kq[] = {"type", "processors", NULL};
            MPCT_CALL(check_keys(c, o, "post_processor", kq));
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "processors");
            for (const cJSON *e = cJSON_IsArray(a) ? a->child : NULL; e; e = e->next, i++) {
                char path[64];
                snprintf(path, sizeof path, "post_processor.processors[%d]", i);
                MPCT_CALL(parse_one_post(c, tok, e, path, &adds));
                if ((total += adds) > 1)
                    return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: a second processor adding special tokens is not "
                                          "supported by mpct", c->name, path);
            }
        } else {
            MPCT_CALL(parse_one_post(c, tok, o, "post_processor", &adds));
        }
    }
    /* "[CLS] and [SEP]" for messages */
    size_t k = 0, total = tok->nprefix + tok->nsuffix;
    tok->affix_buf[0] = '\0';
    for (size_t i = 0; i < total; i++) {
        int32_t id = i < tok->nprefix ? tok->prefix[i] : tok->suffix[i - tok->nprefix];
        k += (size_t)snprintf(tok->affix_buf + k, sizeof tok->affix_buf - k, "%s%.20s",
                              i == 0 ? "" : i + 1 == total ? " and " : ", ", mpct_tok_token(tok, id));
        if (k >= sizeof tok->affix_buf)
            break;
    }
    tok->affix_names = total ? tok->affix_buf : "the text";
    return MPCT_OK;
}

/* ------------------------------------------------------------------ loading */

/* Id of the first of names[] that is a token (added or model), or -1. */
static int32_t named_id(const mpct_tok_t *tok, const char *const *names)
{
    for (; *names; names++)
        for (size_t i = 0; i < tok->n; i++)
            if (strcmp(tok->arena + tok->off[i], *names) == 0)
                return (int32_t)i;
    return -1;
}

static mpct_status set_specials(const struct jctx *c, mpct_tok_t *tok, const cJSON *padding)
{
    static const char *const pads[] = {"[PAD]", "<pad>", NULL}, *const masks[] = {"[MASK]", "<mask>", NULL};
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(padding, "pad_id");
    if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 && pid->valuedouble < (double)tok->n)
        tok->special[MPCT_TOK_PAD] = (int32_t)pid->valuedouble;
    else if (padding && !cJSON_IsNull(padding))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: padding.pad_id must be a token id", c->name);
    else
        tok->special[MPCT_TOK_PAD] = named_id(tok, pads);
    if (tok->special[MPCT_TOK_PAD] < 0)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: no padding token (padding.pad_id is not set and there is no [PAD] or <pad> token)",
                              c->name);
    tok->special[MPCT_TOK_UNK] = tok->unk;
    tok->special[MPCT_TOK_CLS] = tok->nprefix ? tok->prefix[0] : -1;
    tok->special[MPCT_TOK_SEP] = tok->nsuffix ? tok->suffix[tok->nsuffix - 1] : -1;
    tok->special[MPCT_TOK_MASK] = named_id(tok, masks);
    return MPCT_OK;
}

static mpct_status build(const struct jctx *c, mpct_tok_t *tok, const cJSON *root)
{
    static const char *const top[] = {"version", "truncation", "padding", "added_tokens", "normalizer",
                                      "pre_tokenizer", "model", "post_processor", "decoder", NULL};
    if (!cJSON_IsObject(root))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not a JSON object", c->name);
    MPCT_CALL(check_keys(c, root, "", top));
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *mt = cJSON_IsObject(model) ? type_of(model) : NULL;
    if (mt == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model must be an object with a \"type\"", c->name);
    if (!strcmp(mt, "WordPiece"))
        tok->model = TOK_MODEL_WORDPIECE;
    else if (!strcmp(mt, "BPE"))
        tok->model = TOK_MODEL_BPE;
    else if (!strcmp(mt, "Unigram"))
        tok->model = TOK_MODEL_UNIGRAM;
    else
        return unsupported_type(c, "model", model, "WordPiece, BPE, Unigram");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm))
        MPCT_CALL(parse_one_norm(c, tok, norm, "normalizer"));

    struct jvocab v = {0};
    mpct_status st = model_vocab(c, cJSON_GetObjectItemCaseSensitive(model, "vocab"), tok->model == TOK_MODEL_UNIGRAM,
                                 &v, &tok->scores);
    if (st == MPCT_OK)
        st = parse_added(c, tok, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), tok->nnorm > 0, &v);
    if (st == MPCT_OK)
        st = fill_vocab(c, tok, &v);
    free(v.str);
    if (st != MPCT_OK)
        return st;
    if (tok->model == TOK_MODEL_WORDPIECE)
        MPCT_CALL(parse_wordpiece(c, tok, model));
    else if (tok->model == TOK_MODEL_BPE)
        MPCT_CALL(parse_bpe(c, tok, model));
    else
        MPCT_CALL(parse_unigram(c, tok, model));
    MPCT_CALL(parse_pre(c, tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer")));
    MPCT_CALL(parse_post(c, tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor")));
    return set_specials(c, tok, cJSON_GetObjectItemCaseSensitive(root, "padding"));
}

mpct_status mpct_tok_load_json_mem(const void *data, size_t len, const char *name, mpct_tok_t **out)
{
    *out = NULL;
    struct jctx c = {name ? name : "(tokenizer.json in memory)"};
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (root == NULL) {
        size_t at = end ? (size_t)(end - (const char *)data) : 0;
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not valid JSON (parse error near byte %zu)", c.name, at);
    }
    mpct_tok_t *tok = calloc(1, sizeof *tok);
    mpct_status st = tok ? build(&c, tok, root) : mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", c.name);
    cJSON_Delete(root);
    if (st != MPCT_OK) {
        mpct_tok_free(tok);
        return st;
    }
    *out = tok;
    return MPCT_OK;
}
