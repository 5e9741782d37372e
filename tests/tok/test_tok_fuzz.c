/*
 * test_tok_fuzz.c — a seeded random test of every tokenizer in
 * tests/data/tok (one per tokenizer.json model type and option set) and of
 * the vocab.txt tokenizer: random texts mixing ASCII, white space runs,
 * apostrophes, accents and combining marks, CJK, emoji, noncharacters,
 * private use, the tokenizers' own special-token strings and invalid UTF-8
 * (stray continuation bytes, truncated sequences, overlongs, surrogates).
 *
 * Invariants checked for every text: the status is MPCT_OK exactly when an
 * independent UTF-8 check (utf8proc_iterate) accepts the text, else
 * MPCT_ERR_FORMAT with the outputs left as padding; every id is < the vocabulary
 * size; the mask is 1^n 0^(max_len-n); encoding again gives the same ids
 * (determinism); and the encoding truncated to max_len is the untruncated one
 * cut there (same special tokens around the first max_len - specials pieces),
 * with n_dropped the number cut.
 *
 * Usage: test_tok_fuzz DATA_DIR [ITERATIONS [SEED]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "../mpct_check.h"
#include "tok_test_util.h"

#define BIG 4096
#define TEXT_MAX 600

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static size_t put_cp(uint8_t *o, int32_t c)
{
    return (size_t)utf8proc_encode_char(c, o);
}

/* A random text of up to TEXT_MAX bytes; returns its length. */
static size_t random_text(uint8_t *t)
{
    static const char *const frag[] = {"<s>", "</s>", "<mask>", " <mask>", "<pad>", "<unk>", "[CLS]", "[SEP]",
                                       "[MASK]", "[UNK]", "'s", "'ll", "  ", "\n\n", "\t", "\r\n", "▁", "Ġ",
                                       "##", "the ", "ing", "café", "naïve"};
    static const int32_t cps[] = {0x00e9, 0x0301, 0x0323, 0x4e2d, 0x6587, 0x3042, 0xac00, 0x0410, 0x05d0,
                                  0x0627, 0x0915, 0x1f600, 0x1f44d, 0x1f3fd, 0x200d, 0xfe0f, 0x200b, 0x00a0,
                                  0x3000, 0x2028, 0x0085, 0xff21, 0xfb01, 0x2460, 0x00ad, 0xfeff, 0xfffd,
                                  0xe000, 0xfdd0, 0x10ffff, 0x0130, 0x03a3, 0x2b820, 0xf900, 0x0000, 0x0007};
    size_t n = 0, parts = rnd() % 40;
    for (size_t p = 0; p < parts && n < TEXT_MAX - 16; p++) {
        uint32_t k = rnd() % 10;
        if (k < 3) {
            size_t l = 1 + rnd() % 8;
            for (size_t i = 0; i < l; i++)
                t[n++] = (uint8_t)(rnd() % 3 ? 'a' + rnd() % 26 : (k == 0 ? ' ' : 'A' + rnd() % 26));
        } else if (k < 5) {
            const char *f = frag[rnd() % (sizeof frag / sizeof *frag)];
            size_t l = strlen(f);
            if (n + l < TEXT_MAX) {
                memcpy(t + n, f, l);
                n += l;
            }
        } else if (k < 8) {
            n += put_cp(t + n, cps[rnd() % (sizeof cps / sizeof *cps)]);
        } else if (k < 9) {
            n += put_cp(t + n, (int32_t)(0x20 + rnd() % 0x2FFE0));
            if (t[n - 1] == 0)
                n--;
        } else {
            static const uint8_t bad[][4] = {{0x80}, {0xC0, 0xAF}, {0xE0, 0x80, 0x80}, {0xED, 0xA0, 0x80},
                                             {0xF5, 0x80}, {0xE4, 0xB8}, {0xFF}};
            size_t b = rnd() % 7, l = b == 0 || b == 6 ? 1 : b == 4 || b == 5 || b == 1 ? 2 : 3;
            memcpy(t + n, bad[b], l);
            n += l;
        }
    }
    return n;
}

static void fuzz_one(const char *label, const mpct_tok_t *tok, size_t iters)
{
    static uint8_t text[TEXT_MAX + 16];
    static int32_t full[BIG], ids[BIG], again[BIG];
    static uint8_t mask[BIG];
    int32_t pad = mpct_tok_special_id(tok, MPCT_TOK_PAD);
    size_t vocab = mpct_tok_vocab_size(tok), fails = 0;
    size_t before = 0, after = 0;
    mpct_tok_affixes(tok, &before, &after);
    size_t nspec = before + after;
    for (size_t it = 0; it < iters && fails < 5; it++) {
        size_t len = random_text(text), nf = 0, df = 0, n = 0, d = 0, n2 = 0;
        size_t max_len = nspec + rnd() % 12 + (nspec == 0);
        mpct_status sf = mpct_tok_encode(tok, (const char *)text, len, BIG, full, NULL, &nf, &df);
        mpct_status s = mpct_tok_encode(tok, (const char *)text, len, max_len, ids, mask, &n, &d);
        int ok = 1;
        if (!tok_test_valid_utf8(text, len)) {
            ok = sf == MPCT_ERR_FORMAT && s == MPCT_ERR_FORMAT && n == 0 && ids[0] == pad && mask[0] == 0;
        } else {
            ok = sf == MPCT_OK && s == MPCT_OK && df == 0 && nf >= nspec && n <= max_len;
            for (size_t i = 0; ok && i < nf; i++)
                ok = full[i] >= 0 && (size_t)full[i] < vocab;
            for (size_t i = 0; ok && i < max_len; i++)
                ok = mask[i] == (i < n) && (i < n || ids[i] == pad);
            /* truncation: the opening specials and first pieces, then the closing specials */
            ok = ok && n >= nspec && d == nf - n;
            for (size_t i = 0; ok && i < n - after; i++)
                ok = ids[i] == full[i];
            for (size_t i = n - after; ok && i < n; i++)
                ok = ids[i] == full[nf - (n - i)];
            size_t d2 = 0;
            ok = ok && mpct_tok_encode(tok, (const char *)text, len, max_len, again, NULL, &n2, &d2) == MPCT_OK &&
                 n2 == n && memcmp(again, ids, n * sizeof *ids) == 0;
        }
        if (!ok) {
            fails++;
            fprintf(stderr, "%s: iteration %zu (max_len %zu): invariant violated; text (hex):", label, it, max_len);
            for (size_t i = 0; i < len; i++)
                fprintf(stderr, "%02x", text[i]);
            fprintf(stderr, "\n");
        }
    }
    CHECK(fails == 0, "%s: %zu random texts broke an invariant (above)", label, fails);

    /* one very long word and one long run of spaces: linear-ish work, no crash */
    size_t big = 200000, n = 0, d = 0;
    char *word = malloc(big);
    REQUIRE(word, "out of memory");
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < big; i++)
            word[i] = k ? ' ' : (char)('a' + (i * 7 / 3) % 5);
        CHECK(mpct_tok_encode(tok, word, big, 64, ids, NULL, &n, &d) == MPCT_OK && n <= 64, "%s: long %s: %s",
              label, k ? "space run" : "word", mpct_error_msg());
    }
    free(word);
}

static mpct_tok_t *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f, "cannot open %s", path);
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    mpct_tok_t *tok = NULL;
    REQUIRE(mpct_tok_load_vocab_mem(buf, n, path, &tok) == MPCT_OK, "%s", mpct_error_msg());
    return tok;
}

int main(int argc, char **argv)
{
    REQUIRE(argc >= 2, "usage: test_tok_fuzz DATA_DIR [ITERATIONS [SEED]]");
    size_t iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 3000;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 0x9E3779B97F4A7C15ull;
    static const char *const names[] = {"wordpiece_cased", "wordpiece_uncased", "bpe_roberta", "bpe_prefix",
                                        "bpe_llama3", "unigram", "unigram_first", "unigram_xlmr"};
    char path[4096];
    for (size_t i = 0; i <= sizeof names / sizeof *names; i++) {
        if (i < sizeof names / sizeof *names)
            snprintf(path, sizeof path, "%s/tok/%s/tokenizer.json", argv[1], names[i]);
        else
            snprintf(path, sizeof path, "%s/vocab.txt", argv[1]);
        mpct_tok_t *tok = load(path);
        fuzz_one(path, tok, iters);
        mpct_tok_free(tok);
    }
    return mpct_check_done("test_tok_fuzz");
}
