/*
 * tok_encode.c — mpct_tok_encode: the pipeline driver shared by every
 * tokenizer (mpct_tok.h): UTF-8 decoding, added-token matching in the raw
 * text, then per segment normalizer -> pre-tokenizer -> model, then the
 * post-processor's special tokens around the pieces, with truncation.
 *
 * Added tokens match leftmost-longest on the code points of the raw text (as
 * `tokenizers`' Aho-Corasick matcher with LeftmostLongest); lstrip extends the
 * match left over White_Space (not past the previous match), rstrip right.
 * Each stretch of text between matches is its own segment: the normalizer
 * and pre-tokenizer see it alone (so ByteLevel's prefix space and Metaspace's
 * "always" prepend apply to each).
 *
 * Invariants: every buffer of struct tok_work is wiped before it is freed
 * (work_free); on error the outputs are [PAD]/0 and *n_out is 0.
 */
#include "tok_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mpct_status tok_buf_reserve(struct tok_buf *b, size_t cap)
{
    if (cap <= b->cap)
        return MPCT_OK;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < cap) {
        if (nc > SIZE_MAX / 2 / sizeof *b->v)
            return mpct_error_set(MPCT_ERR_RANGE, "text too long to encode (%zu code points)", cap);
        nc *= 2;
    }
    int32_t *nv = malloc(nc * sizeof *nv);
    if (nv == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate %zu code points of work space", nc);
    if (b->v) {
        memcpy(nv, b->v, b->n * sizeof *nv);
        mpct_wipe(b->v, b->cap * sizeof *b->v);
        free(b->v);
    }
    b->v = nv;
    b->cap = nc;
    return MPCT_OK;
}

mpct_status tok_buf_push(struct tok_buf *b, int32_t c)
{
    if (b->n == b->cap)
        MPCT_CALL(tok_buf_reserve(b, b->n + 1));
    b->v[b->n++] = c;
    return MPCT_OK;
}

void tok_buf_free(struct tok_buf *b)
{
    if (b->v)
        mpct_wipe(b->v, b->cap * sizeof *b->v);
    free(b->v);
    *b = (struct tok_buf){0};
}

/* Makes *p hold at least need bytes (*size: its size); the old contents are
 * wiped, freed and not kept. */
static mpct_status ws_grow(void **p, size_t *size, size_t need)
{
    if (need <= *size)
        return MPCT_OK;
    size_t nc = need + need / 2 + 256;
    void *q = malloc(nc);
    if (q == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate %zu bytes of work space", nc);
    if (*p) {
        mpct_wipe(*p, *size);
        free(*p);
    }
    *p = q;
    *size = nc;
    return MPCT_OK;
}

mpct_status tok_word_bytes(struct tok_work *w, const int32_t *c, size_t n)
{
    if (n > SIZE_MAX / 16 - 1)
        return mpct_error_set(MPCT_ERR_RANGE, "word of %zu characters is too long", n);
    void *b = w->bytes, *o = w->boff;
    mpct_status st = ws_grow(&b, &w->capbytes, 4 * n + 1);
    w->bytes = b;
    if (st == MPCT_OK)
        st = ws_grow(&o, &w->capboff, (n + 1) * sizeof *w->boff);
    w->boff = o;
    if (st != MPCT_OK)
        return st;
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        w->boff[i] = nb;
        nb += tok_utf8_put(c[i], w->bytes + nb);
    }
    w->boff[n] = nb;
    w->nbytes = nb;
    return MPCT_OK;
}

mpct_status tok_model_ws(struct tok_work *w, size_t size)
{
    return ws_grow(&w->model_ws, &w->model_ws_size, size);
}

static void work_free(struct tok_work *w)
{
    if (w->cp)
        mpct_wipe(w->cp, w->ncp * sizeof *w->cp);
    free(w->cp);
    tok_buf_free(&w->norm);
    tok_buf_free(&w->tmp);
    tok_buf_free(&w->word);
    if (w->bytes)
        mpct_wipe(w->bytes, w->capbytes);
    free(w->bytes);
    if (w->boff)
        mpct_wipe(w->boff, w->capboff);
    free(w->boff);
    if (w->model_ws)
        mpct_wipe(w->model_ws, w->model_ws_size);
    free(w->model_ws);
}

void tok_emit(const mpct_tok_t *tok, struct tok_work *w, int32_t id)
{
    if (w->count < w->max_pieces)
        w->ids[tok->nprefix + w->count] = id;
    w->count++;
}

static mpct_status encode_segment(const mpct_tok_t *tok, struct tok_work *w, size_t a, size_t b)
{
    if (b <= a)
        return MPCT_OK;
    w->seg_at_start = a == 0;
    MPCT_CALL(tok_normalize(tok, w, w->cp + a, b - a));
    return tok_pretokenize(tok, w);
}

/* The longest added token at cp[i] (NULL if none). */
static const struct tok_added *match_added(const mpct_tok_t *tok, const struct tok_work *w, size_t i)
{
    const struct tok_added *best = NULL;
    for (size_t k = 0; k < tok->nadded; k++) {
        const struct tok_added *a = &tok->added[k];
        if (a->ncp == 0 || w->ncp - i < a->ncp || (best && a->ncp <= best->ncp) || a->cp[0] != w->cp[i])
            continue;
        if (memcmp(a->cp, w->cp + i, a->ncp * sizeof *a->cp) == 0)
            best = a;
    }
    return best;
}

static mpct_status encode_text(const mpct_tok_t *tok, struct tok_work *w)
{
    size_t seg = 0;
    for (size_t i = 0; i < w->ncp;) {
        const struct tok_added *a = match_added(tok, w, i);
        if (a == NULL) {
            i++;
            continue;
        }
        size_t start = i, stop = i + a->ncp;
        if (a->lstrip)
            while (start > seg && tok_is_space(w->cp[start - 1]))
                start--;
        if (a->rstrip)
            while (stop < w->ncp && tok_is_space(w->cp[stop]))
                stop++;
        MPCT_CALL(encode_segment(tok, w, seg, start));
        tok_emit(tok, w, a->id);
        i = seg = stop;
    }
    return encode_segment(tok, w, seg, w->ncp);
}

mpct_status mpct_tok_encode(const mpct_tok_t *tok, const char *text, size_t len,
                            size_t max_len, int32_t *ids_out, uint8_t *mask_out,
                            size_t *n_out, size_t *n_dropped)
{
    assert(tok != NULL && (text != NULL || len == 0) && ids_out != NULL && n_out != NULL);
    *n_out = 0;
    if (n_dropped)
        *n_dropped = 0;
    size_t nspecial = tok->nprefix + tok->nsuffix;
    if (max_len < nspecial || max_len < 1)
        return mpct_error_set(MPCT_ERR_ARG, "max_len %zu is too small: %s need %zu", max_len,
                              tok->affix_names, nspecial ? nspecial : 1);
    int32_t pad = tok->special[MPCT_TOK_PAD];
    for (size_t i = 0; i < max_len; i++)
        ids_out[i] = pad;
    if (mask_out)
        memset(mask_out, 0, max_len);

    mpct_status st = MPCT_OK;
    struct tok_work w = {0};
    w.ids = ids_out;
    w.max_pieces = max_len - nspecial;
    if (len > SIZE_MAX / sizeof *w.cp) {
        st = mpct_error_set(MPCT_ERR_RANGE, "text of %zu bytes is too long to encode", len);
        goto done;
    }
    w.cp = malloc((len ? len : 1) * sizeof *w.cp);
    if (!w.cp) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate work space for %zu bytes of text", len);
        goto done;
    }
    const unsigned char *s = (const unsigned char *)text;
    for (size_t pos = 0; pos < len;) {
        char why[160];
        size_t at = pos;
        int32_t c = tok_utf8_next(s, len, &pos, why, sizeof why);
        if (c < 0) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "input is not valid UTF-8 at byte offset %zu: %s",
                                at, why);
            goto done;
        }
        w.cp[w.ncp++] = c;
    }
    MPCT_CALL_GOTO(st, done, encode_text(tok, &w));

    size_t kept = w.count < w.max_pieces ? w.count : w.max_pieces;
    for (size_t i = 0; i < tok->nprefix; i++)
        ids_out[i] = tok->prefix[i];
    for (size_t i = 0; i < tok->nsuffix; i++)
        ids_out[tok->nprefix + kept + i] = tok->suffix[i];
    *n_out = kept + nspecial;
    if (mask_out)
        memset(mask_out, 1, *n_out);
    if (n_dropped)
        *n_dropped = w.count - kept;
    else if (w.count > kept)
        mpct_warnf(
                "mpct: warning: text has %zu word pieces, truncated to the first %zu "
                "(max length %zu with %s)\n",
                w.count, kept, max_len, tok->affix_names);

done:
    if (st != MPCT_OK) {
        for (size_t i = 0; i < max_len; i++)
            ids_out[i] = pad;
        if (mask_out)
            memset(mask_out, 0, max_len);
        *n_out = 0;
    }
    work_free(&w);
    return st;
}
