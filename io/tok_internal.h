/*
 * tok_internal.h — the tokenizer handle and the helpers its source files share
 * (io/tok.c: vocabulary, vocab.txt loading, the encode driver; tok_norm.c:
 * character classes and normalizers; tok_wordpiece.c, tok_bpe.c,
 * tok_unigram.c: pre-tokenizers and models; tok_json.c: tokenizer.json).
 * Not installed; nothing outside io/tok*.c includes it.
 *
 * Invariants:
 *  - Ids 0 .. n-1 each have a token string in the arena (tok->off/len). The
 *    hash table holds the model's vocabulary only (ids < n_model); added
 *    tokens (tok->added) are matched in the raw text before normalisation.
 *  - A mpct_tok_t is never written after loading (encode is reentrant).
 *  - Every buffer of struct tok_work holds (a transform of) the secret text and
 *    is wiped before it is freed.
 */
#ifndef MPCT_TOK_INTERNAL_H
#define MPCT_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_tok.h"

#define TOK_MAX_VOCAB ((size_t)INT32_MAX - 1)
#define TOK_MAX_NORM 8    /* normalizers in a Sequence */
#define TOK_MAX_AFFIX 4   /* special tokens before / after the text */

enum tok_model { TOK_MODEL_WORDPIECE = 0, TOK_MODEL_BPE, TOK_MODEL_UNIGRAM };
enum tok_pre { TOK_PRE_BERT = 0, TOK_PRE_BYTELEVEL, TOK_PRE_METASPACE, TOK_PRE_NONE };
enum tok_norm_kind { TOK_NORM_BERT = 0, TOK_NORM_NFC, TOK_NORM_NFD, TOK_NORM_NFKC, TOK_NORM_NFKD,
                     TOK_NORM_LOWERCASE, TOK_NORM_PRECOMPILED, TOK_NORM_STRIP, TOK_NORM_REPLACE };
enum tok_regex { TOK_RE_NONE = 0, TOK_RE_GPT2, TOK_RE_LLAMA3 };
enum tok_prepend { TOK_PREPEND_ALWAYS = 0, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER };

struct tok_norm {
    enum tok_norm_kind kind;
    /* TOK_NORM_BERT options */
    int clean_text, chinese, strip_accents, lowercase;
    /* TOK_NORM_STRIP */
    int strip_left, strip_right;
    /* TOK_NORM_REPLACE: pat (literal) or, with spaces2, the regex " {2,}" */
    int32_t *pat, *rep;
    size_t npat, nrep;
    int spaces2;
};

/* SentencePiece's precompiled character map (Precompiled normalizer). */
struct tok_charsmap {
    uint32_t *trie; /* darts-clone double array */
    size_t ntrie;
    char *blob;     /* NUL-terminated replacement strings */
    size_t nblob;
};

struct tok_added {
    int32_t id;
    int32_t *cp; /* content as code points */
    size_t ncp;
    int lstrip, rstrip;
};

struct tok_pair_slot {
    uint64_t key; /* (left id + 1) << 32 | (right id + 1); 0 = empty */
    uint32_t rank;
    int32_t new_id;
};

struct mpct_tok {
    size_t n;        /* ids 0 .. n-1 */
    size_t n_model;  /* ids 0 .. n_model-1 belong to the model's vocabulary */
    char *arena;     /* tokens, each NUL-terminated */
    size_t *off;     /* [n] offset of token id in arena */
    uint32_t *len;   /* [n] byte length of token id */
    uint32_t *slots; /* [cap] id + 1, or 0 */
    size_t cap;      /* power of two */
    int32_t special[MPCT_TOK_SPECIAL_COUNT];

    /* pipeline */
    struct tok_norm norm[TOK_MAX_NORM];
    size_t nnorm;
    struct tok_charsmap charsmap;      /* the one Precompiled normalizer's map */
    enum tok_pre pre;
    int byte_prefix_space;             /* ByteLevel */
    enum tok_regex byte_regex;
    int byte_digits;                   /* Digits before ByteLevel: 0 none, 1 individual, 2 runs */
    int32_t meta_rep;                  /* Metaspace replacement code point */
    enum tok_prepend meta_prepend;
    int meta_split;
    enum tok_model model;
    int32_t unk;                       /* model's unk id, -1 if none */
    char wp_prefix[32];                /* WordPiece continuing_subword_prefix */
    size_t wp_prefix_len, wp_max_chars;
    struct tok_pair_slot *pairs;       /* BPE merges (open addressing) */
    size_t pairs_cap;
    int bpe_fuse_unk, bpe_ignore_merges;
    double *scores;                    /* Unigram: [n_model] log probabilities */
    double unk_score;
    size_t max_piece;                  /* Unigram: longest piece in bytes */
    struct tok_added *added;
    size_t nadded;
    int32_t prefix[TOK_MAX_AFFIX], suffix[TOK_MAX_AFFIX];
    size_t nprefix, nsuffix;
    const char *affix_names;           /* "[CLS] and [SEP]" etc., for messages */
    char affix_buf[96];
};

/* A growable code point buffer, wiped when it grows or is freed. */
struct tok_buf {
    int32_t *v;
    size_t n, cap;
};
mpct_status tok_buf_push(struct tok_buf *b, int32_t c) MPCT_WUR;
mpct_status tok_buf_reserve(struct tok_buf *b, size_t cap) MPCT_WUR;
void tok_buf_free(struct tok_buf *b);

/* Working memory of one encode call; all of it derives from the secret text. */
struct tok_work {
    int32_t *cp; /* decoded input, ncp code points */
    size_t ncp;
    struct tok_buf norm, tmp, word;
    char *bytes;             /* UTF-8 of the current word */
    size_t nbytes, capbytes;
    size_t *boff;            /* [ncp of word + 1] byte offset of each code point */
    size_t capboff;          /* bytes allocated at boff */
    void *model_ws;          /* model scratch (BPE symbols, Unigram lattice) */
    size_t model_ws_size;
    int seg_at_start;        /* the segment begins at offset 0 of the text */
    int32_t *ids;            /* output: ids[nprefix + k] is piece k */
    size_t max_pieces, count;
};

void tok_emit(const mpct_tok_t *tok, struct tok_work *w, int32_t id);
/* Id of pre (npre bytes) followed by s (n bytes) in the model vocabulary, or -1. */
int32_t tok_find(const mpct_tok_t *tok, const char *pre, size_t npre, const char *s, size_t n);
size_t tok_utf8_put(int32_t cp, char *out);
int32_t tok_utf8_next(const unsigned char *s, size_t len, size_t *pos, char *why, size_t why_len);
/* Writes the UTF-8 of c[0..n) to w->bytes and the offsets to w->boff. */
mpct_status tok_word_bytes(struct tok_work *w, const int32_t *c, size_t n) MPCT_WUR;
/* Grows w->model_ws to at least size bytes (contents not kept). */
mpct_status tok_model_ws(struct tok_work *w, size_t size) MPCT_WUR;

/* Vocabulary table: allocates n ids with arena_len bytes of token text. */
mpct_status tok_alloc(mpct_tok_t *tok, size_t n, size_t arena_len, const char *name) MPCT_WUR;
void tok_insert(mpct_tok_t *tok, uint32_t id);

/* Character classes (tok_norm.c). */
int tok_is_space(int32_t c);
int tok_is_punct(int32_t c);
/* Normalises cp[0..n) through tok->norm into w->norm. */
mpct_status tok_normalize(const mpct_tok_t *tok, struct tok_work *w, const int32_t *cp, size_t n) MPCT_WUR;

/* SentencePiece normalizers on w->norm (tok_spm_norm.c). */
mpct_status tok_precompiled(const mpct_tok_t *tok, struct tok_work *w) MPCT_WUR;
mpct_status tok_strip(const struct tok_norm *o, struct tok_work *w) MPCT_WUR;
mpct_status tok_replace(const struct tok_norm *o, struct tok_work *w) MPCT_WUR;
/* Decodes the base64 precompiled_charsmap into tok->charsmap; name/path for messages. */
mpct_status tok_charsmap_load(mpct_tok_t *tok, const char *b64, const char *name, const char *path) MPCT_WUR;

/* Pre-tokenizers + models: w->norm -> tok_emit (tok_wordpiece.c, tok_bpe.c, tok_unigram.c). */
mpct_status tok_pretokenize(const mpct_tok_t *tok, struct tok_work *w) MPCT_WUR;
/* Runs the model on one pre-token c[0..n). */
mpct_status tok_model_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n) MPCT_WUR;
mpct_status tok_wordpiece_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n) MPCT_WUR;
mpct_status tok_bpe_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n) MPCT_WUR;
mpct_status tok_unigram_word(const mpct_tok_t *tok, struct tok_work *w, const int32_t *c, size_t n) MPCT_WUR;
mpct_status tok_bytelevel_split(const mpct_tok_t *tok, struct tok_work *w) MPCT_WUR;
mpct_status tok_metaspace_split(const mpct_tok_t *tok, struct tok_work *w) MPCT_WUR;
/* BPE merges table (tok_bpe.c). */
mpct_status tok_pairs_init(mpct_tok_t *tok, size_t nmerges) MPCT_WUR;
void tok_pairs_put(mpct_tok_t *tok, int32_t a, int32_t b, uint32_t rank, int32_t new_id);

void tok_free_pipeline(mpct_tok_t *tok);

#endif
