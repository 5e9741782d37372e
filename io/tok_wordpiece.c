/*
 * tok_wordpiece.c — the pre-tokenizer dispatch, HF's BertPreTokenizer and the
 * WordPiece model (greedy longest match first; pieces after the first carry
 * continuing_subword_prefix; a word longer than max_input_chars_per_word code
 * points, or one the vocabulary cannot cover, becomes one unk token).
 *
 * Invariants: words are code point ranges of w->norm (or of a transform of it
 * held in w->word); every scratch buffer is one of struct tok_work's, wiped by
 * the encode driver.
 */
#include "tok_internal.h"

#include <string.h>

mpct_status tok_model_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    if (n == 0)
        return MPCT_OK;
    switch (tok->model) {
    case TOK_MODEL_WORDPIECE:
        return tok_wordpiece_word(tok, w, c, n);
    case TOK_MODEL_BPE:
        return tok_bpe_word(tok, w, c, n);
    default:
        return tok_unigram_word(tok, w, c, n);
    }
}

/* BertPreTokenizer: split on White_Space (dropped) and punctuation (each a word). */
static mpct_status bert_split(const mpct_tok_t *tok, struct tok_work *w)
{
    size_t m = w->norm.n, ws = 0;
    const int32_t *v = w->norm.v;
    for (size_t i = 0; i <= m; i++) {
        int32_t c = i < m ? v[i] : ' ';
        int sp = tok_is_space(c), pu = !sp && tok_is_punct(c);
        if (sp || pu) {
            if (i > ws)
                MPCT_CALL(tok_model_word(tok, w, v + ws, i - ws));
            if (pu)
                MPCT_CALL(tok_model_word(tok, w, v + i, 1));
            ws = i + 1;
        }
    }
    return MPCT_OK;
}

mpct_status tok_pretokenize(const mpct_tok_t *tok, struct tok_work *w)
{
    switch (tok->pre) {
    case TOK_PRE_BERT:
        return bert_split(tok, w);
    case TOK_PRE_BYTELEVEL:
        return tok_bytelevel_split(tok, w);
    case TOK_PRE_METASPACE:
        return tok_metaspace_split(tok, w);
    default:
        return tok_model_word(tok, w, w->norm.v, w->norm.n);
    }
}

mpct_status tok_wordpiece_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    if (n > tok->wp_max_chars) {
        tok_emit(tok, w, tok->unk);
        return MPCT_OK;
    }
    MPCT_CALL(tok_word_bytes(w, c, n));
    MPCT_CALL(tok_model_ws(w, n * sizeof(int32_t)));
    int32_t *pieces = w->model_ws;
    const char *bytes = w->bytes;
    /* First pass only checks that the word is coverable; HF emits one unk
     * for the whole word otherwise, so pieces are emitted in a second pass. */
    size_t np = 0, start = 0;
    while (start < n) {
        int32_t id = -1;
        size_t end = n;
        for (; end > start; end--) {
            id = tok_find(tok, tok->wp_prefix, start > 0 ? tok->wp_prefix_len : 0, bytes + w->boff[start],
                          w->boff[end] - w->boff[start]);
            if (id >= 0)
                break;
        }
        if (id < 0) {
            tok_emit(tok, w, tok->unk);
            return MPCT_OK;
        }
        pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np; i++)
        tok_emit(tok, w, pieces[i]);
    return MPCT_OK;
}
