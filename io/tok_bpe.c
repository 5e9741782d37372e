/*
 * tok_bpe.c — byte-level BPE as Hugging Face `tokenizers` does it (RoBERTa,
 * GPT-2, LLaMA-3 style): the ByteLevel pre-tokenizer and the BPE model.
 *
 * ByteLevel: with add_prefix_space a segment that does not start with ' '
 * gets one (an empty segment stays empty); with use_regex the segment is cut
 * by GPT-2's pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * matched by hand (gpt2_match): alternatives in order, first that matches
 * wins, as a backtracking regex engine does. \p{L} is general category L*,
 * \p{N} is N* (utf8proc's tables: code points whose category changed between
 * utf8proc's Unicode version and Oniguruma's, the engine `tokenizers` uses,
 * may split differently), \s is White_Space. Each piece's UTF-8 bytes are
 * then mapped to GPT-2's printable byte characters (bytes_to_unicode).
 *
 * LLaMA-3 style checkpoints put a Split pre-tokenizer with LLaMA-3's pattern
 *     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *      ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (behavior Isolated) before a ByteLevel without regex: llama3_match, with
 * the same classes ((?i) folds the ASCII letters, and U+017F to s).
 *
 * SmolLM-style checkpoints put a Digits pre-tokenizer before ByteLevel
 * (Sequence [Digits, ByteLevel]): every \p{N} character (Rust's
 * char::is_numeric, the same N* categories) becomes a segment of its own
 * (individual_digits true) or each run of them does (false), the text
 * between them another; ByteLevel then cuts each segment on its own.
 *
 * BPE: a word starts as one symbol per character (a character missing from the
 * vocabulary becomes unk when the model has one, fused with a preceding unk
 * when fuse_unk, else it is dropped, as `tokenizers` does); then the adjacent
 * pair of lowest merge rank (leftmost on ties) is merged until none is left
 * (a min-heap with lazily dropped stale entries, the algorithm of
 * `tokenizers`' Word::merge_all). With ignore_merges a word that is itself in
 * the vocabulary is one token.
 *
 * Invariants: the merges table maps (left id, right id) to (rank, merged id);
 * it is written only while loading. Scratch memory is w->model_ws / w->word.
 */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------------------ merges table */

static uint64_t pair_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1);
}

static size_t pair_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k;
}

mpct_status tok_pairs_init(mpct_tok_t *tok, size_t nmerges)
{
    size_t cap = 16;
    while (cap < 2 * nmerges + 2)
        cap *= 2;
    tok->pairs = calloc(cap, sizeof *tok->pairs);
    if (tok->pairs == NULL)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate a table of %zu merges", nmerges);
    tok->pairs_cap = cap;
    return MPCT_OK;
}

/* A pair listed twice keeps its later rank (as `tokenizers` does). */
void tok_pairs_put(mpct_tok_t *tok, int32_t a, int32_t b, uint32_t rank, int32_t new_id)
{
    uint64_t k = pair_key(a, b);
    size_t mask = tok->pairs_cap - 1;
    for (size_t i = pair_hash(k) & mask;; i = (i + 1) & mask) {
        struct tok_pair_slot *s = &tok->pairs[i];
        if (s->key == 0 || s->key == k) {
            *s = (struct tok_pair_slot){k, rank, new_id};
            return;
        }
    }
}

static const struct tok_pair_slot *pair_get(const mpct_tok_t *tok, int32_t a, int32_t b)
{
    uint64_t k = pair_key(a, b);
    size_t mask = tok->pairs_cap - 1;
    for (size_t i = pair_hash(k) & mask;; i = (i + 1) & mask) {
        const struct tok_pair_slot *s = &tok->pairs[i];
        if (s->key == k)
            return s;
        if (s->key == 0)
            return NULL;
    }
}

/* ------------------------------------------------------------------ ByteLevel */

static int is_letter(int32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

static int is_number(int32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

/* Length (code points) of the run of class cls (0 letter, 1 number, 2 other
 * non-space) starting at v[i], after an optional ' '; 0 if none. */
static size_t class_run(const int32_t *v, size_t m, size_t i, int cls)
{
    size_t j = i + (v[i] == ' ');
    size_t k = j;
    while (k < m) {
        int32_t c = v[k];
        int ok = cls == 0 ? is_letter(c)
                 : cls == 1 ? is_number(c)
                            : !tok_is_space(c) && !is_letter(c) && !is_number(c);
        if (!ok)
            break;
        k++;
    }
    return k > j ? k - i : 0;
}

/* Length of the maximal White_Space run at v[i]. */
static size_t space_run(const int32_t *v, size_t m, size_t i)
{
    size_t k = i;
    while (k < m && tok_is_space(v[k]))
        k++;
    return k - i;
}

/* Length of GPT-2's regex match at v[i] (code points, >= 1). */
static size_t gpt2_match(const int32_t *v, size_t m, size_t i)
{
    if (v[i] == '\'' && i + 1 < m) {
        int32_t a = v[i + 1], b = i + 2 < m ? v[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    for (int cls = 0; cls < 3; cls++) {
        size_t n = class_run(v, m, i, cls);
        if (n)
            return n;
    }
    size_t run = space_run(v, m, i);
    if (run == 0)
        return 1; /* not reached: every code point is a letter, number, space or other */
    if (i + run < m && run >= 2)
        return run - 1; /* \s+(?!\S): leave the last space to the next word */
    return run;
}

/* Case-insensitive (Unicode simple case folding) ASCII letter test. */
static int ci_is(int32_t c, char lower)
{
    if (lower == 's' && c == 0x17F) /* LATIN SMALL LETTER LONG S folds to s */
        return 1;
    return c == lower || c == lower - 32;
}

/* Length of LLaMA-3's regex match at v[i] (code points, >= 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t llama3_match(const int32_t *v, size_t m, size_t i)
{
    if (v[i] == '\'' && i + 1 < m) {
        int32_t a = v[i + 1], b = i + 2 < m ? v[i + 2] : 0;
        if (ci_is(a, 's') || ci_is(a, 't') || ci_is(a, 'm') || ci_is(a, 'd'))
            return 2;
        if ((ci_is(a, 'r') && ci_is(b, 'e')) || (ci_is(a, 'v') && ci_is(b, 'e')) || (ci_is(a, 'l') && ci_is(b, 'l')))
            return 3;
    }
    size_t j = i;
    if (v[j] != '\r' && v[j] != '\n' && !is_letter(v[j]) && !is_number(v[j]) && j + 1 < m && is_letter(v[j + 1]))
        j++;
    if (is_letter(v[j])) {
        while (j < m && is_letter(v[j]))
            j++;
        return j - i;
    }
    if (is_number(v[i])) {
        size_t k = i;
        while (k < m && k - i < 3 && is_number(v[k]))
            k++;
        return k - i;
    }
    size_t k = class_run(v, m, i, 2);
    if (k) {
        while (i + k < m && (v[i + k] == '\r' || v[i + k] == '\n'))
            k++;
        return k;
    }
    size_t run = space_run(v, m, i);
    for (size_t p = run; p > 0; p--) /* \s*[\r\n]+: up to the run's last CR or LF */
        if (v[i + p - 1] == '\r' || v[i + p - 1] == '\n')
            return p;
    if (run == 0)
        return 1; /* not reached: every code point is a letter, number, space or other */
    return i + run < m && run >= 2 ? run - 1 : run;
}

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to
 * U+0100 onwards in byte order. */
static int32_t byte_char(unsigned b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return (int32_t)b;
    if (b <= 32)
        return 256 + (int32_t)b;
    if (b <= 160)
        return 256 + 33 + (int32_t)(b - 127);
    return 256 + 33 + 34; /* 173 */
}

static mpct_status byte_piece(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    MPCT_CALL(tok_word_bytes(w, c, n));
    w->word.n = 0;
    MPCT_CALL(tok_buf_reserve(&w->word, w->nbytes + 1));
    for (size_t i = 0; i < w->nbytes; i++)
        w->word.v[w->word.n++] = byte_char((unsigned char)w->bytes[i]);
    return tok_model_word(tok, w, w->word.v, w->word.n);
}

/* The ByteLevel regex (or none) over one segment v[0..m). */
static mpct_status bytelevel_segment(const mpct_tok_t *tok, struct tok_work *w, const int32_t *v, size_t m)
{
    if (tok->byte_regex == TOK_RE_NONE)
        return byte_piece(tok, w, v, m);
    for (size_t i = 0; i < m;) {
        size_t n = tok->byte_regex == TOK_RE_GPT2 ? gpt2_match(v, m, i) : llama3_match(v, m, i);
        MPCT_CALL(byte_piece(tok, w, v + i, n));
        i += n;
    }
    return MPCT_OK;
}

mpct_status tok_bytelevel_split(const mpct_tok_t *tok, struct tok_work *w)
{
    if (w->norm.n == 0)
        return MPCT_OK;
    if (tok->byte_prefix_space && w->norm.v[0] != ' ') {
        MPCT_CALL(tok_buf_reserve(&w->norm, w->norm.n + 1));
        memmove(w->norm.v + 1, w->norm.v, w->norm.n * sizeof *w->norm.v);
        w->norm.v[0] = ' ';
        w->norm.n++;
    }
    const int32_t *v = w->norm.v;
    size_t m = w->norm.n;
    if (!tok->byte_digits)
        return bytelevel_segment(tok, w, v, m);
    /* Digits first: every number character alone (individual_digits) or
     * each run of them, and the text between them, are separate segments */
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        if (is_number(v[i]))
            while (tok->byte_digits == 2 && j < m && is_number(v[j]))
                j++;
        else
            while (j < m && !is_number(v[j]))
                j++;
        MPCT_CALL(bytelevel_segment(tok, w, v + i, j - i));
        i = j;
    }
    return MPCT_OK;
}

/* ------------------------------------------------------------------ BPE */

struct bpe_sym {
    int32_t id, prev, next; /* prev/next: symbol index, -1 none */
    int alive;
};
struct bpe_merge {
    uint32_t rank, pos;
    int32_t new_id;
};

static int merge_less(const struct bpe_merge *a, const struct bpe_merge *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(struct bpe_merge *h, size_t *n, struct bpe_merge m)
{
    size_t i = (*n)++;
    while (i > 0 && merge_less(&m, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = m;
}

static struct bpe_merge heap_pop(struct bpe_merge *h, size_t *n)
{
    struct bpe_merge top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && merge_less(&h[c + 1], &h[c]))
            c++;
        if (!merge_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

static void push_pair(const mpct_tok_t *tok, const struct bpe_sym *s, int32_t pos, struct bpe_merge *h,
                      size_t *nh)
{
    if (pos < 0 || s[pos].next < 0)
        return;
    const struct tok_pair_slot *p = pair_get(tok, s[pos].id, s[s[pos].next].id);
    if (p)
        heap_push(h, nh, (struct bpe_merge){p->rank, (uint32_t)pos, p->new_id});
}

mpct_status tok_bpe_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n)
{
    MPCT_CALL(tok_word_bytes(w, c, n));
    if (tok->bpe_ignore_merges) {
        int32_t id = tok_find(tok, "", 0, w->bytes, w->nbytes);
        if (id >= 0) {
            tok_emit(tok, w, id);
            return MPCT_OK;
        }
    }
    if (n > (SIZE_MAX / 4) / (sizeof(struct bpe_sym) + 3 * sizeof(struct bpe_merge)))
        return mpct_error_set(MPCT_ERR_RANGE, "word of %zu characters is too long", n);
    MPCT_CALL(tok_model_ws(w, n * (sizeof(struct bpe_sym) + 3 * sizeof(struct bpe_merge))));
    struct bpe_sym *s = w->model_ws;
    struct bpe_merge *h = (struct bpe_merge *)(s + n);
    size_t ns = 0, nh = 0;
    int pending_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = tok_find(tok, "", 0, w->bytes + w->boff[i], w->boff[i + 1] - w->boff[i]);
        if (id < 0) {
            if (tok->unk < 0)
                continue; /* no unk token: the character is dropped */
            if (pending_unk && tok->bpe_fuse_unk)
                continue;
            pending_unk = 1;
            id = tok->unk;
        } else {
            pending_unk = 0;
        }
        s[ns] = (struct bpe_sym){id, (int32_t)ns - 1, (int32_t)ns + 1, 1};
        ns++;
    }
    if (ns == 0)
        return MPCT_OK;
    s[ns - 1].next = -1;
    for (size_t i = 0; i + 1 < ns; i++)
        push_pair(tok, s, (int32_t)i, h, &nh);
    while (nh > 0) {
        struct bpe_merge top = heap_pop(h, &nh);
        struct bpe_sym *a = &s[top.pos];
        if (!a->alive || a->next < 0)
            continue;
        struct bpe_sym *b = &s[a->next];
        const struct tok_pair_slot *p = pair_get(tok, a->id, b->id);
        if (p == NULL || p->new_id != top.new_id)
            continue; /* stale entry */
        a->id = top.new_id;
        b->alive = 0;
        a->next = b->next;
        if (b->next >= 0)
            s[b->next].prev = (int32_t)top.pos;
        push_pair(tok, s, a->prev, h, &nh);
        push_pair(tok, s, (int32_t)top.pos, h, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next)
        tok_emit(tok, w, s[i].id);
    return MPCT_OK;
}
