/*
 * tok_unigram.c — the Metaspace pre-tokenizer and the Unigram model
 * (SentencePiece; XLM-R), as Hugging Face `tokenizers` does them.
 *
 * Metaspace: every ' ' becomes the replacement character (U+2581 "▁"); with
 * prepend_scheme "always" a segment that does not start with it gets one, with
 * "first" only the segment at the start of the text does, with "never" none
 * (an empty segment stays empty); with split the segment is cut before every
 * replacement character (each piece starts with it).
 *
 * Unigram: Viterbi over the word's characters: a piece of the vocabulary from
 * character i to j scores its log probability; the best total wins, the first
 * found on ties (pieces are tried by start, then by increasing length). A
 * position no one-character piece covers also gets the unk token with score
 * min(scores) - 10. Consecutive unk tokens of the best path fuse into one.
 *
 * Invariants: scores[id] exists for every model id; the lattice lives in
 * w->model_ws (wiped by the encode driver).
 */
#include "tok_internal.h"

#include <string.h>

mpct_status tok_metaspace_split(const mpct_tok_t *tok, struct tok_work *w)
{
    if (w->norm.n == 0)
        return MPCT_OK;
    int32_t rep = tok->meta_rep;
    for (size_t i = 0; i < w->norm.n; i++)
        if (w->norm.v[i] == ' ')
            w->norm.v[i] = rep;
    int prepend = tok->meta_prepend == TOK_PREPEND_ALWAYS ||
                  (tok->meta_prepend == TOK_PREPEND_FIRST && w->seg_at_start);
    if (prepend && w->norm.v[0] != rep) {
        MPCT_CALL(tok_buf_reserve(&w->norm, w->norm.n + 1));
        memmove(w->norm.v + 1, w->norm.v, w->norm.n * sizeof *w->norm.v);
        w->norm.v[0] = rep;
        w->norm.n++;
    }
    const int32_t *v = w->norm.v;
    size_t m = w->norm.n;
    if (!tok->meta_split)
        return tok_model_word(tok, w, v, m);
    size_t start = 0;
    for (size_t i = 1; i <= m; i++) {
        if (i == m || v[i] == rep) {
            MPCT_CALL(tok_model_word(tok, w, v + start, i - start));
            start = i;
        }
    }
    return MPCT_OK;
}

struct uni_node {
    double score;
    int32_t start; /* character index the best piece ending here starts at, -1 none */
    int32_t id;
};

mpct_status tok_unigram_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    if (n > (size_t)INT32_MAX / 2)
        return mpct_error_set(MPCT_ERR_RANGE, "word of %zu characters is too long", n);
    MPCT_CALL(tok_word_bytes(w, c, n));
    MPCT_CALL(tok_model_ws(w, (n + 1) * sizeof(struct uni_node) + n * sizeof(int32_t)));
    struct uni_node *lat = w->model_ws;
    int32_t *path = (int32_t *)(lat + n + 1);
    for (size_t i = 0; i <= n; i++)
        lat[i] = (struct uni_node){0.0, -1, -1};
    for (size_t i = 0; i < n; i++) {
        double here = lat[i].score;
        int single = 0;
        for (size_t j = i + 1; j <= n && w->boff[j] - w->boff[i] <= tok->max_piece; j++) {
            int32_t id = tok_find(tok, "", 0, w->bytes + w->boff[i], w->boff[j] - w->boff[i]);
            if (id < 0)
                continue;
            double cand = tok->scores[id] + here;
            if (lat[j].start < 0 || cand > lat[j].score)
                lat[j] = (struct uni_node){cand, (int32_t)i, id};
            single |= j == i + 1;
        }
        if (!single) {
            double cand = tok->unk_score + here;
            if (lat[i + 1].start < 0 || cand > lat[i + 1].score)
                lat[i + 1] = (struct uni_node){cand, (int32_t)i, tok->unk};
        }
    }
    size_t np = 0;
    for (size_t j = n; j > 0; j = (size_t)lat[j].start)
        path[np++] = lat[j].id;
    for (size_t k = np; k > 0; k--) {
        int32_t id = path[k - 1];
        if (id == tok->unk && k < np && path[k] == tok->unk)
            continue; /* fuse with the unk before it */
        tok_emit(tok, w, id);
    }
    return MPCT_OK;
}
