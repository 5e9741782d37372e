/*
 * tok_json.c — builds a tokenizer from Hugging Face's tokenizer.json
 * (mpct_tok_load_json_mem). What is implemented (anything else is refused
 * with a message naming the JSON path and the value, never ignored):
 *   normalizer     null, BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase,
 *                  Precompiled (SentencePiece's charsmap), Strip, Replace
 *                  (a literal, or the Regex " {2,}"), Sequence of these
 *   pre_tokenizer  null, BertPreTokenizer, ByteLevel (add_prefix_space,
 *                  use_regex; trim_offsets only moves offsets), Metaspace
 *                  (replacement, prepend_scheme or add_prefix_space, split),
 *                  Sequence [Digits, ByteLevel (no prefix space)],
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
#include "tok_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuses members of o not listed in keys (NULL-terminated). */
mpct_status tok_j_check_keys(const struct tok_jctx *c, const cJSON *o, const char *path, const char *const *keys)
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
mpct_status tok_j_get_bool(const struct tok_jctx *c, const cJSON *o, const char *path, const char *key, int def,
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
static mpct_status refuse_set(const struct tok_jctx *c, const cJSON *o, const char *path, const char *key,
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

const char *tok_j_type_of(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

mpct_status tok_j_unsupported(const struct tok_jctx *c, const char *path, const cJSON *o, const char *supported)
{
    const char *t = tok_j_type_of(o);
    if (t == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s has no \"type\" string", c->name, path);
    return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s.type = \"%s\" is not supported by mpct (supported: %s)", c->name,
                          path, t, supported);
}

/* Decodes a JSON string to code points (malloc'd). */
mpct_status tok_j_to_cp(const struct tok_jctx *c, const char *s, const char *path, int32_t **cp, size_t *n)
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

static mpct_status model_vocab(const struct tok_jctx *c, const cJSON *vocab, int unigram, struct jvocab *v,
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

static mpct_status parse_added(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *a, int has_norm,
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
        MPCT_CALL(tok_j_check_keys(c, e, path, ka));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id"),
                    *ct = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (double)TOK_MAX_VOCAB ||
            !cJSON_IsString(ct) || ct->valuestring[0] == '\0')
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s needs an \"id\" >= 0 and a non-empty \"content\"",
                                  c->name, path);
        int single = 0, norm = 0;
        MPCT_CALL(tok_j_get_bool(c, e, path, "single_word", 0, &single));
        MPCT_CALL(tok_j_get_bool(c, e, path, "normalized", 0, &norm));
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
        MPCT_CALL(tok_j_get_bool(c, e, path, "lstrip", 0, &t->lstrip));
        MPCT_CALL(tok_j_get_bool(c, e, path, "rstrip", 0, &t->rstrip));
        MPCT_CALL(tok_j_to_cp(c, ct->valuestring, path, &t->cp, &t->ncp));
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
static mpct_status fill_vocab(const struct tok_jctx *c, mpct_tok_t *tok, const struct jvocab *v)
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
static mpct_status token_member(const struct tok_jctx *c, const mpct_tok_t *tok, const cJSON *m, const char *key,
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

static mpct_status parse_wordpiece(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const kw[] = {"type", "vocab", "unk_token", "continuing_subword_prefix",
                                     "max_input_chars_per_word", NULL};
    MPCT_CALL(tok_j_check_keys(c, m, "model", kw));
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
static mpct_status merge_parts(const struct tok_jctx *c, const cJSON *e, size_t i, char *buf, size_t cap,
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

static mpct_status parse_bpe(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const kb[] = {"type", "vocab", "merges", "dropout", "unk_token", "continuing_subword_prefix",
                                     "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges", NULL};
    MPCT_CALL(tok_j_check_keys(c, m, "model", kb));
    MPCT_CALL(refuse_set(c, m, "model", "dropout", "it makes ids random"));
    MPCT_CALL(refuse_set(c, m, "model", "byte_fallback", "byte fallback is not implemented"));
    MPCT_CALL(refuse_set(c, m, "model", "continuing_subword_prefix", "BPE subword prefixes are not implemented"));
    MPCT_CALL(refuse_set(c, m, "model", "end_of_word_suffix", "BPE word suffixes are not implemented"));
    MPCT_CALL(token_member(c, tok, m, "unk_token", &tok->unk));
    MPCT_CALL(tok_j_get_bool(c, m, "model", "fuse_unk", 0, &tok->bpe_fuse_unk));
    MPCT_CALL(tok_j_get_bool(c, m, "model", "ignore_merges", 0, &tok->bpe_ignore_merges));
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

static mpct_status parse_unigram(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *m)
{
    static const char *const ku[] = {"type", "vocab", "unk_id", "byte_fallback", NULL};
    MPCT_CALL(tok_j_check_keys(c, m, "model", ku));
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

static mpct_status set_specials(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *padding)
{
    static const char *const pads[] = {"[PAD]", "<pad>", NULL}, *const masks[] = {"[MASK]", "<mask>", NULL};
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(padding, "pad_id");
    if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 && pid->valuedouble < (double)tok->n)
        tok->special[MPCT_TOK_PAD] = (int32_t)pid->valuedouble;
    else if (padding && !cJSON_IsNull(padding))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: padding.pad_id must be a token id", c->name);
    else
        tok->special[MPCT_TOK_PAD] = named_id(tok, pads);
    if (tok->special[MPCT_TOK_PAD] < 0 && !c->pad_optional)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: no padding token (padding.pad_id is not set and there is no [PAD] or <pad> token)",
                              c->name);
    tok->special[MPCT_TOK_UNK] = tok->unk;
    tok->special[MPCT_TOK_CLS] = tok->nprefix ? tok->prefix[0] : -1;
    tok->special[MPCT_TOK_SEP] = tok->nsuffix ? tok->suffix[tok->nsuffix - 1] : -1;
    tok->special[MPCT_TOK_MASK] = named_id(tok, masks);
    return MPCT_OK;
}

static mpct_status build(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *root)
{
    static const char *const top[] = {"version", "truncation", "padding", "added_tokens", "normalizer",
                                      "pre_tokenizer", "model", "post_processor", "decoder", NULL};
    if (!cJSON_IsObject(root))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not a JSON object", c->name);
    MPCT_CALL(tok_j_check_keys(c, root, "", top));
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *mt = cJSON_IsObject(model) ? tok_j_type_of(model) : NULL;
    if (mt == NULL)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: model must be an object with a \"type\"", c->name);
    if (!strcmp(mt, "WordPiece"))
        tok->model = TOK_MODEL_WORDPIECE;
    else if (!strcmp(mt, "BPE"))
        tok->model = TOK_MODEL_BPE;
    else if (!strcmp(mt, "Unigram"))
        tok->model = TOK_MODEL_UNIGRAM;
    else
        return tok_j_unsupported(c, "model", model, "WordPiece, BPE, Unigram");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm))
        MPCT_CALL(tok_j_parse_norm(c, tok, norm, "normalizer"));

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
    MPCT_CALL(tok_j_parse_pre(c, tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer")));
    MPCT_CALL(tok_j_parse_post(c, tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor")));
    return set_specials(c, tok, cJSON_GetObjectItemCaseSensitive(root, "padding"));
}

mpct_status mpct_tok_load_json_mem(const void *data, size_t len, const char *name, mpct_tok_t **out)
{
    return mpct_tok_load_json_mem_pad(data, len, name, 1, out);
}

mpct_status mpct_tok_load_json_mem_pad(const void *data, size_t len, const char *name, int need_pad,
                                       mpct_tok_t **out)
{
    *out = NULL;
    struct tok_jctx c = {name ? name : "(tokenizer.json in memory)", !need_pad};
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
