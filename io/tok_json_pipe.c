/*
 * tok_json_pipe.c — the pipeline parts of a tokenizer.json around the model:
 * normalizer, pre_tokenizer and post_processor (what is implemented: see
 * io/tok_json.c). Each writes its settings into the mpct_tok_t being built
 * or refuses the value with a message naming the JSON path.
 *
 * Invariants: only loading writes the handle; nothing here keeps a pointer
 * into the cJSON tree.
 */
#include "tok_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ normalizer */

/* Precompiled, Strip, Replace (the normalizers of converted SentencePiece models). */
static mpct_status parse_spm_norm(const struct tok_jctx *c, mpct_tok_t *tok, struct tok_norm *n, const cJSON *o,
                                  const char *path, const char *t)
{
    if (!strcmp(t, "Precompiled")) {
        static const char *const kp[] = {"type", "precompiled_charsmap", NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, kp));
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "precompiled_charsmap");
        if (!cJSON_IsString(m) || tok->charsmap.trie)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.precompiled_charsmap %s", c->name, path,
                                  tok->charsmap.trie ? "given twice is not supported by mpct" : "must be a string");
        n->kind = TOK_NORM_PRECOMPILED;
        char sub[160];
        snprintf(sub, sizeof sub, "%s.precompiled_charsmap", path);
        return tok_charsmap_load(tok, m->valuestring, c->name, sub);
    }
    if (!strcmp(t, "Strip")) {
        static const char *const ks[] = {"type", "strip_left", "strip_right", NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, ks));
        n->kind = TOK_NORM_STRIP;
        MPCT_CALL(tok_j_get_bool(c, o, path, "strip_left", 1, &n->strip_left));
        return tok_j_get_bool(c, o, path, "strip_right", 1, &n->strip_right);
    }
    static const char *const kr[] = {"type", "pattern", "content", NULL};
    MPCT_CALL(tok_j_check_keys(c, o, path, kr));
    n->kind = TOK_NORM_REPLACE;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pattern"), *ct = cJSON_GetObjectItemCaseSensitive(o, "content");
    const cJSON *lit = cJSON_GetObjectItemCaseSensitive(p, "String"), *re = cJSON_GetObjectItemCaseSensitive(p, "Regex");
    if (!cJSON_IsString(ct))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.content must be a string", c->name, path);
    if (cJSON_IsString(re) && !strcmp(re->valuestring, " {2,}"))
        n->spaces2 = 1;
    else if (cJSON_IsString(lit) && lit->valuestring[0])
        MPCT_CALL(tok_j_to_cp(c, lit->valuestring, path, &n->pat, &n->npat));
    else
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: %s.pattern = %s is not supported by mpct (a non-empty String, or the Regex \" {2,}\")",
                              c->name, path, cJSON_IsString(re) ? re->valuestring : "(not a String or Regex)");
    return tok_j_to_cp(c, ct->valuestring, path, &n->rep, &n->nrep);
}

mpct_status tok_j_parse_norm(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path)
{
    static const char *const supported =
        "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, Precompiled, Strip, Replace, Sequence";
    static const char *const kt[] = {"type", NULL};
    const char *t = cJSON_IsObject(o) ? tok_j_type_of(o) : NULL;
    if (t == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s must be an object with a \"type\"", c->name, path);
    if (strcmp(t, "Sequence") == 0) {
        static const char *const ks[] = {"type", "normalizers", NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, ks));
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "normalizers");
        if (!cJSON_IsArray(a))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.normalizers must be an array", c->name, path);
        int i = 0;
        for (const cJSON *e = a->child; e; e = e->next, i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", path, i);
            MPCT_CALL(tok_j_parse_norm(c, tok, e, sub));
        }
        return MPCT_OK;
    }
    if (tok->nnorm == TOK_MAX_NORM)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: more than %d normalizers", c->name, path, TOK_MAX_NORM);
    struct tok_norm *n = &tok->norm[tok->nnorm];
    if (strcmp(t, "BertNormalizer") == 0) {
        static const char *const kb[] = {"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase",
                                         NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, kb));
        n->kind = TOK_NORM_BERT;
        MPCT_CALL(tok_j_get_bool(c, o, path, "clean_text", 1, &n->clean_text));
        MPCT_CALL(tok_j_get_bool(c, o, path, "handle_chinese_chars", 1, &n->chinese));
        MPCT_CALL(tok_j_get_bool(c, o, path, "lowercase", 1, &n->lowercase));
        /* strip_accents null follows lowercase (HF's rule) */
        MPCT_CALL(tok_j_get_bool(c, o, path, "strip_accents", n->lowercase, &n->strip_accents));
    } else if (!strcmp(t, "NFC") || !strcmp(t, "NFD") || !strcmp(t, "NFKC") || !strcmp(t, "NFKD") ||
               !strcmp(t, "Lowercase")) {
        MPCT_CALL(tok_j_check_keys(c, o, path, kt));
        n->kind = !strcmp(t, "NFC")    ? TOK_NORM_NFC
                  : !strcmp(t, "NFD")  ? TOK_NORM_NFD
                  : !strcmp(t, "NFKC") ? TOK_NORM_NFKC
                  : !strcmp(t, "NFKD") ? TOK_NORM_NFKD
                                       : TOK_NORM_LOWERCASE;
    } else if (!strcmp(t, "Precompiled") || !strcmp(t, "Strip") || !strcmp(t, "Replace")) {
        MPCT_CALL(parse_spm_norm(c, tok, n, o, path, t));
    } else {
        return tok_j_unsupported(c, path, o, supported);
    }
    tok->nnorm++;
    return MPCT_OK;
}

/* ------------------------------------------------------------------ pre-tokenizer */

static mpct_status parse_metaspace(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path)
{
    static const char *const km[] = {"type", "replacement", "prepend_scheme", "add_prefix_space", "split",
                                     "str_rep", NULL};
    MPCT_CALL(tok_j_check_keys(c, o, path, km));
    tok->pre = TOK_PRE_METASPACE;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "replacement");
    if (!cJSON_IsString(r))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.replacement must be a string", c->name, path);
    int32_t *cp = NULL;
    size_t n = 0;
    MPCT_CALL(tok_j_to_cp(c, r->valuestring, path, &cp, &n));
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
        MPCT_CALL(tok_j_get_bool(c, o, path, "add_prefix_space", 1, &add));
        tok->meta_prepend = add ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
    }
    return tok_j_get_bool(c, o, path, "split", 1, &tok->meta_split);
}

static const char GPT2_RE[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char LLAMA3_RE[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Sequence [Digits(individual_digits), ByteLevel(no prefix space)] (SmolLM). */
static mpct_status parse_digits_bytelevel(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *dg,
                                          const cJSON *bl)
{
    static const char *const kd[] = {"type", "individual_digits", NULL};
    static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    MPCT_CALL(tok_j_check_keys(c, dg, "pre_tokenizer.pretokenizers[0]", kd));
    MPCT_CALL(tok_j_check_keys(c, bl, "pre_tokenizer.pretokenizers[1]", kb));
    int individual = 0, use_regex = 1;
    MPCT_CALL(tok_j_get_bool(c, dg, "pre_tokenizer.pretokenizers[0]", "individual_digits", 0, &individual));
    MPCT_CALL(tok_j_get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "add_prefix_space", 1, &tok->byte_prefix_space));
    MPCT_CALL(tok_j_get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "use_regex", 1, &use_regex));
    if (tok->byte_prefix_space)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers[1]: ByteLevel after Digits with add_prefix_space "
                              "true is not supported by mpct", c->name);
    tok->pre = TOK_PRE_BYTELEVEL;
    tok->byte_regex = use_regex ? TOK_RE_GPT2 : TOK_RE_NONE;
    tok->byte_digits = individual ? 1 : 2;
    return MPCT_OK;
}

/* Sequence [Split(GPT-2 or LLaMA-3 pattern, Isolated), ByteLevel(use_regex false)],
 * or [Digits, ByteLevel] (parse_digits_bytelevel). */
static mpct_status parse_split_bytelevel(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kq[] = {"type", "pretokenizers", NULL}, *const ks[] = {"type", "pattern", "behavior",
                                                                                       "invert", NULL};
    static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    MPCT_CALL(tok_j_check_keys(c, o, "pre_tokenizer", kq));
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "pretokenizers");
    const cJSON *sp = cJSON_GetArrayItem(a, 0), *bl = cJSON_GetArrayItem(a, 1);
    const char *t0 = cJSON_IsObject(sp) ? tok_j_type_of(sp) : NULL, *t1 = cJSON_IsObject(bl) ? tok_j_type_of(bl) : NULL;
    if (cJSON_GetArraySize(a) != 2 || !t0 || !t1 || (strcmp(t0, "Split") && strcmp(t0, "Digits")) ||
        strcmp(t1, "ByteLevel"))
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers is not supported by mpct (it implements a Sequence "
                              "of Split or Digits then ByteLevel only)", c->name);
    if (strcmp(t0, "Digits") == 0) {
        MPCT_CALL(tok_j_check_keys(c, o, "pre_tokenizer", kq));
        return parse_digits_bytelevel(c, tok, sp, bl);
    }
    MPCT_CALL(tok_j_check_keys(c, sp, "pre_tokenizer.pretokenizers[0]", ks));
    MPCT_CALL(tok_j_check_keys(c, bl, "pre_tokenizer.pretokenizers[1]", kb));
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sp, "pattern"), "Regex"),
                *beh = cJSON_GetObjectItemCaseSensitive(sp, "behavior");
    int invert = 0, use_regex = 1;
    MPCT_CALL(tok_j_get_bool(c, sp, "pre_tokenizer.pretokenizers[0]", "invert", 0, &invert));
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
    MPCT_CALL(tok_j_get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "add_prefix_space", 1, &tok->byte_prefix_space));
    MPCT_CALL(tok_j_get_bool(c, bl, "pre_tokenizer.pretokenizers[1]", "use_regex", 1, &use_regex));
    if (tok->byte_prefix_space || use_regex)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: pre_tokenizer.pretokenizers[1]: ByteLevel after Split with add_prefix_space or "
                              "use_regex true is not supported by mpct", c->name);
    tok->pre = TOK_PRE_BYTELEVEL;
    tok->byte_regex = strcmp(re->valuestring, GPT2_RE) ? TOK_RE_LLAMA3 : TOK_RE_GPT2;
    return MPCT_OK;
}

mpct_status tok_j_parse_pre(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    const char *path = "pre_tokenizer";
    if (o == NULL || cJSON_IsNull(o)) {
        tok->pre = TOK_PRE_NONE;
        return MPCT_OK;
    }
    const char *t = cJSON_IsObject(o) ? tok_j_type_of(o) : NULL;
    if (t && strcmp(t, "BertPreTokenizer") == 0) {
        static const char *const kt[] = {"type", NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, kt));
        tok->pre = TOK_PRE_BERT;
        return MPCT_OK;
    }
    if (t && strcmp(t, "ByteLevel") == 0) {
        static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
        MPCT_CALL(tok_j_check_keys(c, o, path, kb));
        tok->pre = TOK_PRE_BYTELEVEL;
        MPCT_CALL(tok_j_get_bool(c, o, path, "add_prefix_space", 1, &tok->byte_prefix_space));
        int re = 1;
        MPCT_CALL(tok_j_get_bool(c, o, path, "use_regex", 1, &re));
        tok->byte_regex = re ? TOK_RE_GPT2 : TOK_RE_NONE;
        return MPCT_OK;
    }
    if (t && strcmp(t, "Metaspace") == 0)
        return parse_metaspace(c, tok, o, path);
    if (t && strcmp(t, "Sequence") == 0)
        return parse_split_bytelevel(c, tok, o);
    return tok_j_unsupported(c, path, o, "null, BertPreTokenizer, ByteLevel, Metaspace, Sequence [Split or Digits, ByteLevel]");
}

/* ------------------------------------------------------------------ post-processor */

static mpct_status add_affix(const struct tok_jctx *c, mpct_tok_t *tok, int after, double id, const char *path)
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
static mpct_status parse_cls_sep(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kr[] = {"type", "sep", "cls", "trim_offsets", "add_prefix_space", NULL};
    MPCT_CALL(tok_j_check_keys(c, o, "post_processor", kr));
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

static mpct_status parse_template(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    static const char *const kt[] = {"type", "single", "pair", "special_tokens", NULL};
    MPCT_CALL(tok_j_check_keys(c, o, "post_processor", kt));
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
static mpct_status parse_one_post(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path, int *adds)
{
    static const char *const kb[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    const char *t = cJSON_IsObject(o) ? tok_j_type_of(o) : NULL;
    *adds = 1;
    if (t && (!strcmp(t, "BertProcessing") || !strcmp(t, "RobertaProcessing")))
        return parse_cls_sep(c, tok, o);
    if (t && !strcmp(t, "TemplateProcessing"))
        return parse_template(c, tok, o);
    *adds = 0;
    if (t && !strcmp(t, "ByteLevel")) /* moves offsets only */
        return tok_j_check_keys(c, o, path, kb);
    return tok_j_unsupported(c, path, o,
                            "null, BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, Sequence");
}

mpct_status tok_j_parse_post(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o)
{
    if (o != NULL && !cJSON_IsNull(o)) {
        const char *t = cJSON_IsObject(o) ? tok_j_type_of(o) : NULL;
        int adds = 0, total = 0, i = 0;
        if (t && !strcmp(t, "Sequence")) {
            static const char *const kq[] = {"type", "processors", NULL};
            MPCT_CALL(tok_j_check_keys(c, o, "post_processor", kq));
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

