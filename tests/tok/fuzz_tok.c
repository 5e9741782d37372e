/*
 * fuzz_tok.c — libFuzzer target for the tokenizers (built only with
 * clang and -DMPCT_FUZZ=ON; see tests/tok/CMakeLists.txt).
 *
 * Input layout: byte 0 selects the mode and max_len; the rest is the payload.
 *  - byte0 < 0xF0: payload is text, encoded with the real vocabulary
 *    (tests/data/vocab.txt) and max_len = 2 + byte0 % 160.
 *  - byte0 >= 0xF0: payload is a vocabulary file or (starting with '{') a
 *    tokenizer.json; if it loads, a fixed text and the payload itself are
 *    encoded with it.
 * MPCT_TOK_VOCAB may name a tokenizer.json instead of vocab.txt.
 * Checks (abort on violation): status is OK or FORMAT (ARG when max_len is
 * below the special tokens); FORMAT only when an independent UTF-8 check
 * (utf8proc_iterate) rejects the text; on OK, specials <= n <= max_len, the
 * first and last special tokens in place, every id in the vocabulary,
 * the mask is 1^n 0^(max_len-n) and the tail is [PAD]; encoding the same text
 * again gives the same ids (determinism).
 *
 * Run:  ./fuzz_tok -max_total_time=60 -max_len=4096 [corpus_dir]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "tok_test_util.h"

#ifndef MPCT_TEST_DATA_DIR
#define MPCT_TEST_DATA_DIR "tests/data"
#endif

#define FUZZ_MAX_LEN 161

static mpct_tok_t *g_tok;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_tok: invariant violated: %s (last error: %s)\n", what,
            mpct_error_msg());
    abort();
}

static void check_encode(const mpct_tok_t *tok, const uint8_t *text, size_t n, size_t max_len)
{
    int32_t ids[FUZZ_MAX_LEN], ids2[FUZZ_MAX_LEN];
    uint8_t mask[FUZZ_MAX_LEN];
    size_t nout = 0, dropped = 0, nout2 = 0, dropped2 = 0;
    mpct_status s = mpct_tok_encode(tok, (const char *)text, n, max_len, ids, mask, &nout, &dropped);
    int valid = tok_test_valid_utf8(text, n);
    size_t before = 0, after = 0;
    mpct_tok_affixes(tok, &before, &after);
    if (max_len < before + after || max_len < 1) {
        if (s != MPCT_ERR_ARG)
            die("max_len below the special tokens accepted");
        return;
    }
    if (s == MPCT_ERR_FORMAT) {
        if (valid)
            die("FORMAT error on valid UTF-8");
        if (strstr(mpct_error_msg(), "byte offset") == NULL)
            die("UTF-8 error message without byte offset");
        return;
    }
    if (s != MPCT_OK)
        die("unexpected status");
    if (!valid)
        die("invalid UTF-8 accepted");
    if (nout < before + after || nout > max_len)
        die("token count out of range");
    if ((before && ids[0] != mpct_tok_special_id(tok, MPCT_TOK_CLS)) ||
        (after && ids[nout - 1] != mpct_tok_special_id(tok, MPCT_TOK_SEP)))
        die("missing the first or last special token");
    if (dropped > 0 && nout != max_len)
        die("truncated but not full");
    int32_t pad = mpct_tok_special_id(tok, MPCT_TOK_PAD);
    for (size_t i = 0; i < max_len; i++) {
        if (mask[i] != (i < nout))
            die("bad attention mask");
        if (i >= nout && ids[i] != pad)
            die("tail not the padding id");
        if (ids[i] < 0 || (size_t)ids[i] >= mpct_tok_vocab_size(tok))
            die("id outside the vocabulary");
    }
    if (mpct_tok_encode(tok, (const char *)text, n, max_len, ids2, NULL, &nout2, &dropped2) !=
            MPCT_OK ||
        nout2 != nout || dropped2 != dropped || memcmp(ids, ids2, max_len * sizeof *ids) != 0)
        die("second encode differs");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("MPCT_TOK_VOCAB");
    if (path == NULL)
        path = MPCT_TEST_DATA_DIR "/vocab.txt";
    if (mpct_tok_load_vocab_file(path, &g_tok) != MPCT_OK) {
        fprintf(stderr, "fuzz_tok: %s\n", mpct_error_msg());
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode < 0xF0) {
        check_encode(g_tok, p, n, 2 + (size_t)(mode % (FUZZ_MAX_LEN - 1)));
        return 0;
    }
    mpct_tok_t *t = NULL;
    mpct_status s = mpct_tok_load_vocab_mem(p, n, "fuzz-vocab", &t);
    if (s != MPCT_OK) {
        if (s != MPCT_ERR_FORMAT || t != NULL)
            die("vocabulary load: unexpected status");
        return 0;
    }
    static const char text[] = "Hello [SEP] w\xc3\xb6rld, unwanted ##ing \xe4\xb8\xad!";
    check_encode(t, (const uint8_t *)text, sizeof text - 1, 2 + (size_t)(mode % 16));
    check_encode(t, p, n, FUZZ_MAX_LEN);
    mpct_tok_free(t);
    return 0;
}
