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
#include "mpct_tok.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define TOK_MAX_VOCAB ((size_t)INT32_MAX - 1)

static const char *const special_names[MPCT_TOK_SPECIAL_COUNT] = {
    [MPCT_TOK_PAD] = "[PAD]", [MPCT_TOK_UNK] = "[UNK]", [MPCT_TOK_CLS] = "[CLS]",
    [MPCT_TOK_SEP] = "[SEP]", [MPCT_TOK_MASK] = "[MASK]",
};

struct mpct_tok {
    size_t n;        /* vocabulary size (lines) */
    char *arena;     /* tokens, each NUL-terminated */
    size_t *off;     /* [n] offset of token id in arena */
    uint32_t *len;   /* [n] byte length of token id */
    uint32_t *slots; /* [cap] id + 1, or 0 */
    size_t cap;      /* power of two */
    int32_t special[MPCT_TOK_SPECIAL_COUNT];
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
static int32_t tok_find(const mpct_tok_t *tok, const char *pre, size_t npre, const char *s,
                        size_t n)
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
static void tok_insert(mpct_tok_t *tok, uint32_t id)
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
static int32_t utf8_next(const unsigned char *s, size_t len, size_t *pos, char *why,
                         size_t why_len)
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

static size_t utf8_put(int32_t cp, char *out)
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

mpct_status mpct_tok_load_vocab_mem(const void *data, size_t len, const char *name,
                                    mpct_tok_t **out)
{
    assert(out != NULL && (data != NULL || len == 0));
    *out = NULL;
    if (name == NULL)
        name = "(vocabulary in memory)";
    const unsigned char *b = data;

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
    tok->n = n;
    tok->cap = 16;
    while (tok->cap < 2 * n)
        tok->cap *= 2;
    tok->arena = malloc(len + 1);
    tok->off = malloc(n * sizeof *tok->off);
    tok->len = malloc(n * sizeof *tok->len);
    tok->slots = calloc(tok->cap, sizeof *tok->slots);
    if (!tok->arena || !tok->off || !tok->len || !tok->slots) {
        mpct_tok_free(tok);
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate a vocabulary of %zu tokens",
                              name, n);
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
            if (utf8_next(b, end, &p, why, sizeof why) < 0) {
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

int32_t mpct_tok_special_id(const mpct_tok_t *tok, mpct_tok_special which)
{
    assert(tok != NULL && which >= 0 && which < MPCT_TOK_SPECIAL_COUNT);
    return tok->special[which];
}

/* ------------------------------------------------------------------ character classes */

/* Code points whose class in HF `tokenizers` (old Unicode tables of the Rust
 * crate unicode_categories) differs from utf8proc's; generated by
 * datasets/make_tok_hfcompat.py. Sorted, non-overlapping. */
enum tok_hf_class { TOK_HF_NONE = 0, TOK_HF_ORDINARY, TOK_HF_CONTROL, TOK_HF_MARK, TOK_HF_PUNCT };
static const struct tok_hf_range {
    int32_t lo, hi;
    enum tok_hf_class cls;
} hf_compat[] = {
#include "tok_hfcompat.inc"
};

static enum tok_hf_class hf_override(int32_t c)
{
    size_t lo = 0, hi = sizeof hf_compat / sizeof hf_compat[0];
    if (c < 0x80)
        return TOK_HF_NONE;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < hf_compat[mid].lo)
            hi = mid;
        else if (c > hf_compat[mid].hi)
            lo = mid + 1;
        else
            return hf_compat[mid].cls;
    }
    return TOK_HF_NONE;
}

/* HF's clean_text "control": category Cc Cf Cs Co except \t \n \r. Unassigned
 * code points (Cn) are kept, as `tokenizers` does (the slow Python
 * BertTokenizer drops them). */
static int is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    enum tok_hf_class o = hf_override(c);
    if (o != TOK_HF_NONE)
        return o == TOK_HF_CONTROL;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        return 1;
    default:
        return 0;
    }
}

/* Unicode White_Space (Rust's char::is_whitespace, used by `tokenizers`). */
static int is_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* HF's _is_punctuation: ASCII non-alphanumeric printables, or category P*. */
static int is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    enum tok_hf_class o = hf_override(c);
    if (o != TOK_HF_NONE)
        return o == TOK_HF_PUNCT;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

/* HF's _is_chinese_char (CJK Unified Ideographs blocks, not all of CJK), as
 * `tokenizers` spells it: its range 0x2B920..0x2CEAF (Python's is 0x2B820..)
 * leaves U+2B820..U+2B91F unsplit, and so do we. */
static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Non-spacing mark (category Mn), dropped after NFD by accent stripping. */
static int is_mark(int32_t c)
{
    enum tok_hf_class o = hf_override(c);
    if (o != TOK_HF_NONE)
        return o == TOK_HF_MARK;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_MN;
}

/* ------------------------------------------------------------------ encoder */

/* Working memory of one encode call; all of it derives from the secret text. */
struct tok_work {
    int32_t *cp;    /* decoded input, ncp code points */
    size_t ncp;
    int32_t *norm;  /* normalised segment */
    size_t nnorm, capnorm;
    char *word;     /* "##" + UTF-8 of the current word */
    size_t *woff;   /* byte offset of each code point of the word in word + 2 */
    /* output */
    int32_t *ids;
    size_t max_pieces, count;
};

static void work_free(struct tok_work *w)
{
    if (w->cp)
        mpct_wipe(w->cp, w->ncp * sizeof *w->cp);
    if (w->norm)
        mpct_wipe(w->norm, w->capnorm * sizeof *w->norm);
    if (w->word)
        mpct_wipe(w->word, 2 + 4 * MPCT_TOK_MAX_WORD_CHARS);
    if (w->woff)
        mpct_wipe(w->woff, (MPCT_TOK_MAX_WORD_CHARS + 1) * sizeof *w->woff);
    free(w->cp);
    free(w->norm);
    free(w->word);
    free(w->woff);
}

static void emit(struct tok_work *w, int32_t id)
{
    if (w->count < w->max_pieces)
        w->ids[1 + w->count] = id;
    w->count++;
}

static mpct_status norm_push(struct tok_work *w, int32_t c)
{
    if (w->nnorm == w->capnorm) {
        size_t nc = w->capnorm ? 2 * w->capnorm : 256;
        int32_t *nb = malloc(nc * sizeof *nb);
        if (nb == NULL)
            return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate %zu code points for the "
                                                  "normalised text", nc);
        if (w->norm) {
            memcpy(nb, w->norm, w->nnorm * sizeof *nb);
            mpct_wipe(w->norm, w->capnorm * sizeof *w->norm);
            free(w->norm);
        }
        w->norm = nb;
        w->capnorm = nc;
    }
    w->norm[w->nnorm++] = c;
    return MPCT_OK;
}

/* WordPiece of one pre-token (n code points). */
static void wordpiece(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    if (n > MPCT_TOK_MAX_WORD_CHARS) {
        emit(w, tok->special[MPCT_TOK_UNK]);
        return;
    }
    char *bytes = w->word + 2;
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        w->woff[i] = nb;
        nb += utf8_put(c[i], bytes + nb);
    }
    w->woff[n] = nb;

    /* First pass only checks that the word is coverable; HF emits one [UNK]
     * for the whole word otherwise, so pieces are emitted in a second pass. */
    int32_t pieces[MPCT_TOK_MAX_WORD_CHARS];
    size_t np = 0, start = 0;
    while (start < n) {
        int32_t id = -1;
        size_t end = n;
        for (; end > start; end--) {
            id = tok_find(tok, "##", start > 0 ? 2 : 0, bytes + w->woff[start],
                          w->woff[end] - w->woff[start]);
            if (id >= 0)
                break;
        }
        if (id < 0) {
            emit(w, tok->special[MPCT_TOK_UNK]);
            mpct_wipe(pieces, sizeof pieces);
            return;
        }
        pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np; i++)
        emit(w, pieces[i]);
    mpct_wipe(pieces, sizeof pieces);
}

/* Normalises, pre-tokenises and WordPieces cp[a, b). */
static mpct_status encode_segment(const mpct_tok_t *tok, struct tok_work *w, size_t a, size_t b)
{
    w->nnorm = 0;
    for (size_t i = a; i < b; i++) {
        int32_t c = w->cp[i];
        /* 1. clean_text */
        if (c == 0 || c == 0xFFFD || is_control(c))
            continue;
        if (is_space(c)) {
            MPCT_CALL(norm_push(w, ' '));
            continue;
        }
        /* 2. CJK padding (the ideograph itself is still decomposed: the
         * compatibility ideographs U+F900.. have singleton decompositions) */
        int cjk = is_cjk(c);
        if (cjk)
            MPCT_CALL(norm_push(w, ' '));
        /* 3. NFD (canonical ordering below), kept in norm for now */
        int32_t d[32];
        int bound = 0;
        utf8proc_ssize_t nd = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, &bound);
        if (nd < 0 || nd > 32) {
            d[0] = c;
            nd = 1;
        }
        for (utf8proc_ssize_t k = 0; k < nd; k++)
            MPCT_CALL(norm_push(w, d[k]));
        if (cjk)
            MPCT_CALL(norm_push(w, ' '));
    }
    /* Canonical ordering: stable sort of each run of non-starters by class. */
    for (size_t i = 1; i < w->nnorm; i++) {
        int32_t c = w->norm[i];
        int cc = utf8proc_get_property(c)->combining_class;
        if (cc == 0)
            continue;
        size_t j = i;
        while (j > 0) {
            int pc = utf8proc_get_property(w->norm[j - 1])->combining_class;
            if (pc <= cc) /* a starter (0) or an equal/lower class stops the move */
                break;
            w->norm[j] = w->norm[j - 1];
            j--;
        }
        w->norm[j] = c;
    }
    /* 4. drop Mn, lower-case (in place) */
    size_t m = 0;
    for (size_t i = 0; i < w->nnorm; i++) {
        int32_t c = w->norm[i];
        if (is_mark(c))
            continue;
        w->norm[m++] = utf8proc_tolower(c);
    }
    w->nnorm = m;

    /* 5. split on whitespace and punctuation, 6. WordPiece */
    size_t ws = 0;
    for (size_t i = 0; i <= m; i++) {
        int32_t c = i < m ? w->norm[i] : ' ';
        int sp = is_space(c), pu = !sp && is_punct(c);
        if (sp || pu) {
            if (i > ws)
                wordpiece(tok, w, w->norm + ws, i - ws);
            if (pu)
                wordpiece(tok, w, w->norm + i, 1);
            ws = i + 1;
        }
    }
    return MPCT_OK;
}

/* Length of the special token starting at cp[i], or 0; its id in *id. */
static size_t match_special(const mpct_tok_t *tok, const struct tok_work *w, size_t i,
                            int32_t *id)
{
    if (w->cp[i] != '[')
        return 0;
    for (int k = 0; k < MPCT_TOK_SPECIAL_COUNT; k++) {
        if (tok->special[k] < 0)
            continue;
        const char *s = special_names[k];
        size_t n = strlen(s);
        if (w->ncp - i < n)
            continue;
        size_t j = 0;
        while (j < n && w->cp[i + j] == (unsigned char)s[j])
            j++;
        if (j == n) {
            *id = tok->special[k];
            return n;
        }
    }
    return 0;
}

mpct_status mpct_tok_encode(const mpct_tok_t *tok, const char *text, size_t len,
                            size_t max_len, int32_t *ids_out, uint8_t *mask_out,
                            size_t *n_out, size_t *n_dropped)
{
    assert(tok != NULL && (text != NULL || len == 0) && ids_out != NULL && n_out != NULL);
    *n_out = 0;
    if (n_dropped)
        *n_dropped = 0;
    if (max_len < 2)
        return mpct_error_set(MPCT_ERR_ARG, "max_len %zu is too small: [CLS] and [SEP] need 2",
                              max_len);
    int32_t pad = tok->special[MPCT_TOK_PAD];
    for (size_t i = 0; i < max_len; i++)
        ids_out[i] = pad;
    if (mask_out)
        memset(mask_out, 0, max_len);

    mpct_status st = MPCT_OK;
    struct tok_work w = {0};
    w.ids = ids_out;
    w.max_pieces = max_len - 2;
    if (len > SIZE_MAX / sizeof *w.cp) {
        st = mpct_error_set(MPCT_ERR_RANGE, "text of %zu bytes is too long to encode", len);
        goto done;
    }
    w.cp = malloc((len ? len : 1) * sizeof *w.cp);
    w.word = malloc(2 + 4 * MPCT_TOK_MAX_WORD_CHARS);
    w.woff = malloc((MPCT_TOK_MAX_WORD_CHARS + 1) * sizeof *w.woff);
    if (!w.cp || !w.word || !w.woff) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate work space for %zu bytes of text",
                            len);
        goto done;
    }
    w.word[0] = w.word[1] = '#';

    const unsigned char *s = (const unsigned char *)text;
    for (size_t pos = 0; pos < len;) {
        char why[160];
        size_t at = pos;
        int32_t c = utf8_next(s, len, &pos, why, sizeof why);
        if (c < 0) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "input is not valid UTF-8 at byte offset %zu: %s",
                                at, why);
            goto done;
        }
        w.cp[w.ncp++] = c;
    }

    size_t seg = 0;
    for (size_t i = 0; i < w.ncp;) {
        int32_t id;
        size_t n = match_special(tok, &w, i, &id);
        if (n == 0) {
            i++;
            continue;
        }
        MPCT_CALL_GOTO(st, done, encode_segment(tok, &w, seg, i));
        emit(&w, id);
        i += n;
        seg = i;
    }
    MPCT_CALL_GOTO(st, done, encode_segment(tok, &w, seg, w.ncp));

    size_t kept = w.count < w.max_pieces ? w.count : w.max_pieces;
    ids_out[0] = tok->special[MPCT_TOK_CLS];
    ids_out[1 + kept] = tok->special[MPCT_TOK_SEP];
    *n_out = kept + 2;
    if (mask_out)
        memset(mask_out, 1, kept + 2);
    if (n_dropped)
        *n_dropped = w.count - kept;
    else if (w.count > kept)
        fprintf(stderr,
                "mpct: warning: text has %zu word pieces, truncated to the first %zu "
                "(max length %zu with [CLS] and [SEP])\n",
                w.count, kept, max_len);

done:
    if (st != MPCT_OK) {
        for (size_t i = 0; i < max_len; i++)
            ids_out[i] = pad;
    }
    work_free(&w);
    return st;
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
        fprintf(stderr, "mpct: warning: %s:%zu: %zu word pieces dropped (max length %zu with [CLS] and [SEP])\n",
                ln->path, ln->line, dropped, max_len);
    if (*n_out == 2 && !dropped) { /* [CLS] [SEP]: no text (not: all of it truncated away) */
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
    fprintf(stderr,
            "%s: warning: %s: %zu line%s without text (empty, or only white space and control "
            "characters): line%s %s; each is still computed, as [CLS] [SEP] alone, so that result i "
            "stays line i\n",
            prog, ln->path, ln->empty, s, s, at);
}
