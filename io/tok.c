/*
 * tok.c — WordPiece vocabulary (hash table) and the BERT uncased encoder.
 * The pipeline and its HF-compatibility rules are described in mpct_tok.h.
 *
 * Invariants:
 *  - tok->arena holds every token NUL-terminated; tok->off[id] / tok->len[id]
 *    locate token id. The hash table (open addressing, linear probing, FNV-1a,
 *    power-of-two size >= 2 * vocab size) stores id + 1, 0 = empty slot.
 *  - The handle is never written after loading (encode is reentrant).
 *  - Every buffer of mpct_tok_encode that held (a transform of) the input text
 *    is wiped before it is freed (struct tok_work, work_free).
 */
#include "tok_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const special_names[MPCT_TOK_SPECIAL_COUNT] = {
    [MPCT_TOK_PAD] = "[PAD]", [MPCT_TOK_UNK] = "[UNK]", [MPCT_TOK_CLS] = "[CLS]",
    [MPCT_TOK_SEP] = "[SEP]", [MPCT_TOK_MASK] = "[MASK]",
};

/* ------------------------------------------------------------------ hash */

static uint64_t fnv_add(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull

/* Id of the string pre (npre bytes) followed by s (n bytes), or -1. */
int32_t tok_find(const mpct_tok_t *tok, const char *pre, size_t npre, const char *s, size_t n)
{
    uint64_t h = fnv_add(fnv_add(FNV_OFFSET, pre, npre), s, n);
    size_t mask = tok->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = tok->slots[i];
        if (v == 0)
            return -1;
        uint32_t id = v - 1;
        const char *t = tok->arena + tok->off[id];
        if (tok->len[id] == npre + n && memcmp(t, pre, npre) == 0 &&
            memcmp(t + npre, s, n) == 0)
            return (int32_t)id;
    }
}

/* Inserts token id; a repeated token string takes the later id (as HF does). */
void tok_insert(mpct_tok_t *tok, uint32_t id)
{
    const char *s = tok->arena + tok->off[id];
    size_t n = tok->len[id];
    uint64_t h = fnv_add(FNV_OFFSET, s, n);
    size_t mask = tok->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = tok->slots[i];
        if (v == 0 || (tok->len[v - 1] == n && memcmp(tok->arena + tok->off[v - 1], s, n) == 0)) {
            tok->slots[i] = id + 1;
            return;
        }
    }
}

/* ------------------------------------------------------------------ UTF-8 */

/* Strict UTF-8 decoder (no overlongs, surrogates or > U+10FFFF). Decodes the
 * code point at s[*pos] and advances *pos; on failure returns -1 and writes a
 * description of the problem to why. */
int32_t tok_utf8_next(const unsigned char *s, size_t len, size_t *pos, char *why, size_t why_len)
{
    size_t i = *pos;
    unsigned c = s[i];
    if (c < 0x80) {
        *pos = i + 1;
        return (int32_t)c;
    }
    size_t need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        snprintf(why, why_len, "byte 0x%02X cannot start a UTF-8 sequence%s", c,
                 (c >= 0x80 && c <= 0xBF) ? " (stray continuation byte)"
                 : (c == 0xC0 || c == 0xC1) ? " (overlong encoding)"
                                             : "");
        return -1;
    }
    if (len - i - 1 < need) {
        snprintf(why, why_len, "truncated %zu-byte UTF-8 sequence (lead byte 0x%02X)", need + 1,
                 c);
        return -1;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned d = s[i + k];
        if ((d & 0xC0) != 0x80) {
            snprintf(why, why_len,
                     "byte 0x%02X at offset +%zu is not a continuation byte of the %zu-byte "
                     "UTF-8 sequence starting 0x%02X",
                     d, k, need + 1, c);
            return -1;
        }
        cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min) {
        snprintf(why, why_len, "overlong UTF-8 encoding of U+%04X", (unsigned)cp);
        return -1;
    }
    if (cp > 0x10FFFF) {
        snprintf(why, why_len, "code point 0x%X is above U+10FFFF", (unsigned)cp);
        return -1;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
        snprintf(why, why_len, "UTF-16 surrogate U+%04X is not allowed in UTF-8", (unsigned)cp);
        return -1;
    }
    *pos = i + need + 1;
    return (int32_t)cp;
}

size_t tok_utf8_put(int32_t cp, char *out)
{
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------ loading */

mpct_status tok_alloc(mpct_tok_t *tok, size_t n, size_t arena_len, const char *name)
{
    tok->n = tok->n_model = n;
    tok->cap = 16;
    while (tok->cap < 2 * n)
        tok->cap *= 2;
    tok->arena = malloc(arena_len ? arena_len : 1);
    tok->off = malloc(n * sizeof *tok->off);
    tok->len = malloc(n * sizeof *tok->len);
    tok->slots = calloc(tok->cap, sizeof *tok->slots);
    if (!tok->arena || !tok->off || !tok->len || !tok->slots)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate a vocabulary of %zu tokens", name, n);
    return MPCT_OK;
}

/* The pipeline of HF's BERT uncased tokenizer around a vocab.txt: the special
 * tokens of the vocabulary match in the text, [CLS] X [SEP]. */
static mpct_status vocab_txt_pipeline(mpct_tok_t *tok, const char *name)
{
    tok->norm[0] = (struct tok_norm){.kind = TOK_NORM_BERT, .clean_text = 1, .chinese = 1, .strip_accents = 1, .lowercase = 1};
    tok->nnorm = 1;
    tok->pre = TOK_PRE_BERT;
    tok->model = TOK_MODEL_WORDPIECE;
    tok->unk = tok->special[MPCT_TOK_UNK];
    memcpy(tok->wp_prefix, "##", 3);
    tok->wp_prefix_len = 2;
    tok->wp_max_chars = MPCT_TOK_MAX_WORD_CHARS;
    tok->added = calloc(MPCT_TOK_SPECIAL_COUNT, sizeof *tok->added);
    if (tok->added == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate the special tokens", name);
    for (int k = 0; k < MPCT_TOK_SPECIAL_COUNT; k++) {
        if (tok->special[k] < 0)
            continue;
        size_t len = strlen(special_names[k]);
        struct tok_added *a = &tok->added[tok->nadded++];
        a->id = tok->special[k];
        a->cp = malloc(len * sizeof *a->cp);
        if (a->cp == NULL)
            return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate the special tokens", name);
        for (size_t i = 0; i < len; i++)
            a->cp[i] = (unsigned char)special_names[k][i];
        a->ncp = len;
    }
    tok->prefix[0] = tok->special[MPCT_TOK_CLS];
    tok->suffix[0] = tok->special[MPCT_TOK_SEP];
    tok->nprefix = tok->nsuffix = 1;
    tok->affix_names = "[CLS] and [SEP]";
    return MPCT_OK;
}

mpct_status mpct_tok_load_vocab_mem(const void *data, size_t len, const char *name,
                                    mpct_tok_t **out)
{
    assert(out != NULL && (data != NULL || len == 0));
    *out = NULL;
    if (name == NULL)
        name = "(vocabulary in memory)";
    const unsigned char *b = data;
    size_t lead = 0;
    while (lead < len && (b[lead] == ' ' || b[lead] == '\t' || b[lead] == '\r' || b[lead] == '\n'))
        lead++;
    if (lead < len && b[lead] == '{')
        return mpct_tok_load_json_mem(data, len, name, out);

    /* Count lines: a final line without "\n" counts; an empty tail does not. */
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += b[i] == '\n';
    if (len > 0 && b[len - 1] != '\n')
        n++;
    if (n == 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: vocabulary is empty", name);
    if (n > TOK_MAX_VOCAB)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu lines, more than the %zu ids an int32 holds",
                              name, n, TOK_MAX_VOCAB);

    mpct_tok_t *tok = calloc(1, sizeof *tok);
    if (tok == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate the tokenizer", name);
    mpct_status st = tok_alloc(tok, n, len + 1, name);
    if (st != MPCT_OK) {
        mpct_tok_free(tok);
        return st;
    }

    size_t pos = 0, a = 0;
    for (size_t id = 0; id < n; id++) {
        size_t start = pos;
        while (pos < len && b[pos] != '\n')
            pos++;
        size_t end = pos;
        if (end > start && b[end - 1] == '\r')
            end--;
        if (pos < len)
            pos++; /* skip "\n" */
        for (size_t p = start; p < end;) {
            char why[160];
            if (tok_utf8_next(b, end, &p, why, sizeof why) < 0) {
                mpct_tok_free(tok);
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: line %zu is not valid UTF-8: %s",
                                      name, id + 1, why);
            }
        }
        if (end - start > UINT32_MAX) {
            mpct_tok_free(tok);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: line %zu is too long", name, id + 1);
        }
        tok->off[id] = a;
        tok->len[id] = (uint32_t)(end - start);
        memcpy(tok->arena + a, b + start, end - start);
        a += end - start;
        tok->arena[a++] = '\0';
        tok_insert(tok, (uint32_t)id);
    }

    for (int k = 0; k < MPCT_TOK_SPECIAL_COUNT; k++)
        tok->special[k] = tok_find(tok, "", 0, special_names[k], strlen(special_names[k]));
    for (int k = 0; k < MPCT_TOK_SPECIAL_COUNT; k++) {
        if (k != MPCT_TOK_MASK && tok->special[k] < 0) {
            mpct_status s = mpct_error_set(
                MPCT_ERR_FORMAT,
                "%s: vocabulary has no %s token (a BERT vocabulary needs [PAD], [UNK], [CLS] "
                "and [SEP], one per line)",
                name, special_names[k]);
            mpct_tok_free(tok);
            return s;
        }
    }
    st = vocab_txt_pipeline(tok, name);
    if (st != MPCT_OK) {
        mpct_tok_free(tok);
        return st;
    }
    *out = tok;
    return MPCT_OK;
}

mpct_status mpct_tok_load_vocab_file(const char *path, mpct_tok_t **out)
{
    assert(path != NULL && out != NULL);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mpct_error_set(MPCT_ERR_IO, "cannot open vocabulary file %s: %s", path,
                              strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate a read buffer", path);
    }
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate %zu bytes", path,
                                      cap * 2);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    int saved = errno;
    fclose(f);
    if (err) {
        free(buf);
        return mpct_error_set(MPCT_ERR_IO, "cannot read vocabulary file %s: %s", path,
                              strerror(saved));
    }
    mpct_status s = mpct_tok_load_vocab_mem(buf, len, path, out);
    free(buf);
    if (s != MPCT_OK)
        mpct_error_trace(__FILE__, __LINE__, __func__);
    return s;
}

void mpct_tok_free(mpct_tok_t *tok)
{
    if (tok == NULL)
        return;
    for (size_t i = 0; i < tok->nadded; i++)
        free(tok->added[i].cp);
    for (size_t i = 0; i < tok->nnorm; i++) {
        free(tok->norm[i].pat);
        free(tok->norm[i].rep);
    }
    free(tok->charsmap.trie);
    free(tok->charsmap.blob);
    free(tok->added);
    free(tok->pairs);
    free(tok->scores);
    free(tok->arena);
    free(tok->off);
    free(tok->len);
    free(tok->slots);
    free(tok);
}

size_t mpct_tok_vocab_size(const mpct_tok_t *tok)
{
    assert(tok != NULL);
    return tok->n;
}

int32_t mpct_tok_lookup(const mpct_tok_t *tok, const char *token, size_t len)
{
    assert(tok != NULL && (token != NULL || len == 0));
    return tok_find(tok, "", 0, token, len);
}

const char *mpct_tok_token(const mpct_tok_t *tok, int32_t id)
{
    assert(tok != NULL);
    if (id < 0 || (size_t)id >= tok->n)
        return NULL;
    return tok->arena + tok->off[id];
}

const char *mpct_tok_model_name(const mpct_tok_t *tok)
{
    return tok->model == TOK_MODEL_WORDPIECE ? "WordPiece" : tok->model == TOK_MODEL_BPE ? "BPE" : "Unigram";
}

void mpct_tok_affixes(const mpct_tok_t *tok, size_t *n_before, size_t *n_after)
{
    assert(tok != NULL);
    *n_before = tok->nprefix;
    *n_after = tok->nsuffix;
}

int32_t mpct_tok_special_id(const mpct_tok_t *tok, mpct_tok_special which)
{
    assert(tok != NULL && which >= 0 && which < MPCT_TOK_SPECIAL_COUNT);
    return tok->special[which];
}

/* ------------------------------------------------------------------ inputs files */

mpct_status mpct_tok_encode_line(const mpct_tok_t *tok, mpct_tok_lines *ln, const char *text, size_t len,
                                 size_t max_len, int32_t *ids_out, uint8_t *mask_out, size_t *n_out,
                                 size_t *n_dropped)
{
    ln->line++;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    size_t dropped = 0;
    if (n_dropped)
        *n_dropped = 0;
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul) {
        *n_out = 0;
        for (size_t i = 0; i < max_len; i++)
            ids_out[i] = tok->special[MPCT_TOK_PAD];
        if (mask_out)
            memset(mask_out, 0, max_len);
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s:%zu: NUL byte at byte offset %zu of the line: an inputs file must be "
                              "UTF-8 text, one text per line (is it UTF-16 or binary?)",
                              ln->path, ln->line, (size_t)(nul - text));
    }
    mpct_status st = mpct_tok_encode(tok, text, len, max_len, ids_out, mask_out, n_out, &dropped);
    if (st != MPCT_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", mpct_error_msg());
        return mpct_error_set(st, "%s:%zu: %s", ln->path, ln->line, msg);
    }
    if (n_dropped)
        *n_dropped = dropped;
    else if (dropped)
        mpct_warnf("mpct: warning: %s:%zu: %zu word pieces dropped (max length %zu with %s)\n",
                ln->path, ln->line, dropped, max_len, tok->affix_names);
    if (*n_out == tok->nprefix + tok->nsuffix && !dropped) { /* no text (not: all of it truncated away) */
        if (ln->empty < MPCT_TOK_LINES_SHOWN)
            ln->empty_at[ln->empty] = ln->line;
        ln->empty++;
    }
    return MPCT_OK;
}

void mpct_tok_lines_warn(const mpct_tok_lines *ln, const char *prog)
{
    if (!ln->empty)
        return;
    char at[MPCT_TOK_LINES_SHOWN * 24 + 8];
    size_t k = 0, shown = ln->empty < MPCT_TOK_LINES_SHOWN ? ln->empty : MPCT_TOK_LINES_SHOWN;
    at[0] = '\0';
    for (size_t i = 0; i < shown; i++)
        k += (size_t)snprintf(at + k, sizeof at - k, "%s%zu", i ? ", " : "", ln->empty_at[i]);
    if (ln->empty > shown)
        snprintf(at + k, sizeof at - k, ", ...");
    const char *s = ln->empty == 1 ? "" : "s";
    mpct_warnf(
            "%s: warning: %s: %zu line%s without text (empty, or only white space and control "
            "characters): line%s %s; each is still computed, as its special tokens alone, so that result i "
            "stays line i\n",
            prog, ln->path, ln->empty, s, s, at);
}
