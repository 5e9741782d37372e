/*
 * tok_spm_norm.c — the normalizers of converted SentencePiece tokenizers
 * (XLM-R): Precompiled, Strip and Replace, as Hugging Face `tokenizers`
 * applies them.
 *
 * Precompiled: SentencePiece's precompiled_charsmap (base64): a little-endian
 * uint32 byte size of the trie, the trie (darts-clone double array of uint32
 * units), then NUL-terminated replacement strings. The text is cut into
 * extended grapheme clusters (utf8proc's rules; `tokenizers` uses the Rust
 * crate unicode-segmentation, whose Unicode version may differ); a cluster
 * shorter than 6 bytes that has a match is replaced whole, else each code
 * point with a match is replaced; "a match" is the SHORTEST key of the trie
 * that prefixes the bytes (the first common-prefix result, as `tokenizers`'
 * spm_precompiled takes it), and its replacement stands for all the bytes.
 * Strip: drops White_Space at the left and/or right end. Replace: every
 * non-overlapping occurrence of a literal pattern, left to right, or (the one
 * regex implemented) every run of two or more U+0020 for " {2,}".
 *
 * Invariants: the charsmap is read-only after loading and every trie index is
 * bounds-checked (a corrupt map gives no match, never a read outside it);
 * results go to w->tmp and are swapped into w->norm.
 */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------------------ loading */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

mpct_status tok_charsmap_load(mpct_tok_t *tok, const char *b64, const char *name, const char *path)
{
    size_t n = strlen(b64), nb = 0;
    unsigned char *bytes = malloc(n / 4 * 3 + 3);
    if (bytes == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory for %s", name, path);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && b64[i] != '='; i++) {
        int v = b64_value((unsigned char)b64[i]);
        if (v < 0) {
            free(bytes);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s is not base64 (character %zu)", name, path, i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[nb++] = (unsigned char)(acc >> bits);
        }
    }
    uint32_t tsize = nb >= 4 ? (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
                                   (uint32_t)bytes[3] << 24
                             : 0;
    if (nb < 4 || tsize % 4 || tsize == 0 || tsize > nb - 4) {
        free(bytes);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: trie size %u does not fit the %zu bytes of the map", name,
                              path, (unsigned)tsize, nb);
    }
    struct tok_charsmap *m = &tok->charsmap;
    m->ntrie = tsize / 4;
    m->nblob = nb - 4 - tsize;
    m->trie = malloc(m->ntrie * sizeof *m->trie);
    m->blob = malloc(m->nblob + 1);
    if (m->trie == NULL || m->blob == NULL) {
        free(bytes);
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory for %s", name, path);
    }
    for (size_t i = 0; i < m->ntrie; i++) {
        const unsigned char *u = bytes + 4 + 4 * i;
        m->trie[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    }
    memcpy(m->blob, bytes + 4 + tsize, m->nblob);
    m->blob[m->nblob] = '\0';
    free(bytes);
    return MPCT_OK;
}

/* ------------------------------------------------------------------ Precompiled */

/* Replacement of the shortest trie key prefixing s[0..n), or NULL. */
static const char *charsmap_match(const struct tok_charsmap *m, const char *s, size_t n)
{
    const uint32_t *a = m->trie;
    size_t pos = 0;
    uint32_t unit = a[0];
    pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            return NULL;
        pos ^= c;
        if (pos >= m->ntrie)
            return NULL;
        unit = a[pos];
        if ((unit & ((1u << 31) | 0xFFu)) != c)
            return NULL;
        pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
        if ((unit >> 8) & 1) {
            if (pos >= m->ntrie)
                return NULL;
            size_t v = a[pos] & ((1u << 31) - 1);
            return v < m->nblob ? m->blob + v : NULL;
        }
    }
    return NULL;
}

/* Appends the code points of the UTF-8 string r to w->tmp. */
static mpct_status push_utf8(struct tok_work *w, const char *r)
{
    size_t len = strlen(r);
    for (size_t p = 0; p < len;) {
        char why[160];
        int32_t c = tok_utf8_next((const unsigned char *)r, len, &p, why, sizeof why);
        if (c < 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "the precompiled character map holds invalid UTF-8: %s", why);
        MPCT_CALL(tok_buf_push(&w->tmp, c));
    }
    return MPCT_OK;
}

mpct_status tok_precompiled(const mpct_tok_t *tok, struct tok_work *w)
{
    const struct tok_charsmap *m = &tok->charsmap;
    size_t n = w->norm.n;
    MPCT_CALL(tok_word_bytes(w, w->norm.v, n));
    w->tmp.n = 0;
    MPCT_CALL(tok_buf_reserve(&w->tmp, n + 1)); /* never NULL, even for no text */
    utf8proc_int32_t state = 0;
    for (size_t g = 0; g < n;) {
        size_t e = g + 1;
        while (e < n && !utf8proc_grapheme_break_stateful(w->norm.v[e - 1], w->norm.v[e], &state))
            e++;
        const char *r = NULL;
        size_t gb = w->boff[e] - w->boff[g];
        if (gb < 6)
            r = charsmap_match(m, w->bytes + w->boff[g], gb);
        if (r) {
            MPCT_CALL(push_utf8(w, r));
        } else {
            for (size_t i = g; i < e; i++) {
                r = charsmap_match(m, w->bytes + w->boff[i], w->boff[i + 1] - w->boff[i]);
                if (r)
                    MPCT_CALL(push_utf8(w, r));
                else
                    MPCT_CALL(tok_buf_push(&w->tmp, w->norm.v[i]));
            }
        }
        g = e;
    }
    struct tok_buf t = w->norm;
    w->norm = w->tmp;
    w->tmp = t;
    return MPCT_OK;
}

/* ------------------------------------------------------------------ Strip, Replace */

mpct_status tok_strip(const struct tok_norm *o, struct tok_work *w)
{
    size_t a = 0, b = w->norm.n;
    while (o->strip_left && a < b && tok_is_space(w->norm.v[a]))
        a++;
    while (o->strip_right && b > a && tok_is_space(w->norm.v[b - 1]))
        b--;
    if (a > 0 && b > a)
        memmove(w->norm.v, w->norm.v + a, (b - a) * sizeof *w->norm.v);
    w->norm.n = b - a;
    return MPCT_OK;
}

mpct_status tok_replace(const struct tok_norm *o, struct tok_work *w)
{
    const int32_t *v = w->norm.v;
    size_t n = w->norm.n;
    w->tmp.n = 0;
    MPCT_CALL(tok_buf_reserve(&w->tmp, n + 1));
    for (size_t i = 0; i < n;) {
        size_t len = 0;
        if (o->spaces2) {
            while (i + len < n && v[i + len] == ' ')
                len++;
            len = len >= 2 ? len : 0;
        } else if (o->npat && n - i >= o->npat && memcmp(v + i, o->pat, o->npat * sizeof *v) == 0) {
            len = o->npat;
        }
        if (len == 0) {
            MPCT_CALL(tok_buf_push(&w->tmp, v[i++]));
            continue;
        }
        for (size_t k = 0; k < o->nrep; k++)
            MPCT_CALL(tok_buf_push(&w->tmp, o->rep[k]));
        i += len;
    }
    struct tok_buf t = w->norm;
    w->norm = w->tmp;
    w->tmp = t;
    return MPCT_OK;
}
