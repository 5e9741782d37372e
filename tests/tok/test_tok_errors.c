/*
 * test_tok_errors.c — known answers on a tiny vocabulary (greedy longest
 * match, "##" pieces, whole-word [UNK], the 100-character limit, special
 * tokens in text, duplicates, CRLF) and every error path: invalid UTF-8 (status
 * and byte offset in the message), vocabularies without [PAD]/[UNK]/[CLS]/[SEP],
 * missing files, HDF5 files without or with a malformed vocabulary dataset,
 * max_len too small, and truncation (count, ids, mask, stderr warning).
 * Exits 1 on the first failed check (REQUIRE), printing what was expected.
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpct_core.h"
#include "mpct_tok.h"

#ifndef MPCT_TEST_WORK_DIR
#define MPCT_TEST_WORK_DIR "."
#endif

#include "../mpct_check.h"

static const char SMALL_VOCAB[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" /* 0-4 */
                                  "un\n##want\n##ed\nwant\nrunn\n"      /* 5-9 */
                                  "##ing\n,\na\n##a\ne\n"               /* 10-14 */
                                  "dup\n##b\ndup\n\xe4\xb8\xad\n";      /* 15-18 (中) */

static mpct_tok_t *small(void)
{
    mpct_tok_t *t = NULL;
    mpct_status s = mpct_tok_load_vocab_mem(SMALL_VOCAB, sizeof SMALL_VOCAB - 1, "small", &t);
    REQUIRE(s == MPCT_OK, "%s", mpct_error_msg());
    return t;
}

/* Encodes text and compares with want[0..nwant). */
static void expect_ids(const mpct_tok_t *t, const char *text, size_t len, size_t max_len,
                       const int32_t *want, size_t nwant, size_t want_dropped)
{
    int32_t ids[512];
    uint8_t mask[512];
    size_t n = 99, dropped = 99;
    mpct_status s = mpct_tok_encode(t, text, len, max_len, ids, mask, &n, &dropped);
    REQUIRE(s == MPCT_OK, "encode \"%.*s\": %s", (int)len, text, mpct_error_msg());
    int ok = n == nwant && dropped == want_dropped;
    for (size_t i = 0; ok && i < n; i++)
        ok = ids[i] == want[i] && mask[i] == 1;
    for (size_t i = n; ok && i < max_len; i++)
        ok = ids[i] == 0 && mask[i] == 0;
    if (!ok) {
        fprintf(stderr, "encode \"%.*s\" (max_len %zu): want", (int)len, text, max_len);
        for (size_t i = 0; i < nwant; i++)
            fprintf(stderr, " %d", (int)want[i]);
        fprintf(stderr, " dropped %zu; got", want_dropped);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", (int)ids[i]);
        fprintf(stderr, " dropped %zu\n", dropped);
    }
    REQUIRE(ok, "ids differ (see above)");
}

#define EXPECT(t, text, ...)                                                          \
    do {                                                                              \
        const int32_t w_[] = {__VA_ARGS__};                                           \
        expect_ids(t, text, strlen(text), 128, w_, sizeof w_ / sizeof w_[0], 0);     \
    } while (0)

static void test_known_answers(void)
{
    mpct_tok_t *t = small();
    REQUIRE(mpct_tok_vocab_size(t) == 19, "size %zu", mpct_tok_vocab_size(t));
    REQUIRE(mpct_tok_lookup(t, "dup", 3) == 17, "duplicate token must keep its last id, got %d",
            (int)mpct_tok_lookup(t, "dup", 3));
    REQUIRE(mpct_tok_lookup(t, "nope", 4) == -1, "absent token");
    REQUIRE(mpct_tok_token(t, 6) && strcmp(mpct_tok_token(t, 6), "##want") == 0, "token 6");
    REQUIRE(mpct_tok_token(t, -1) == NULL && mpct_tok_token(t, 19) == NULL, "out of range ids");

    EXPECT(t, "", 2, 3);
    EXPECT(t, "unwanted running", 2, 5, 6, 7, 9, 10, 3);
    EXPECT(t, "  UNwanted,RUNNING\t", 2, 5, 6, 7, 11, 9, 10, 3);
    EXPECT(t, "unwantedx", 2, 1, 3);                 /* one [UNK] for the whole word */
    EXPECT(t, "unwantedx want", 2, 1, 8, 3);
    EXPECT(t, "\xc3\xa9 E\xcc\x81", 2, 14, 14, 3);   /* é (NFC) and E + U+0301 -> e */
    EXPECT(t, "a\xe4\xb8\xad" "a", 2, 12, 18, 12, 3); /* CJK split: a 中 a */
    EXPECT(t, "want[SEP]want [CLS][MASK]", 2, 8, 3, 8, 2, 4, 3);
    EXPECT(t, "[sep] [SEP", 2, 1, 1, 1, 1, 1, 3);     /* lower case / unclosed: not special */
    EXPECT(t, "ab", 2, 12, 16, 3);
    {
        const char nul_text[] = "un\0wanted\x01\xef\xbf\xbd"; /* NUL, control, U+FFFD dropped */
        const int32_t w[] = {2, 5, 6, 7, 3};
        expect_ids(t, nul_text, sizeof nul_text - 1, 128, w, 5, 0);
    }
    /* exactly 100 code points: covered by a + 99 x ##a; 101: [UNK] */
    char word[102];
    memset(word, 'a', 101);
    word[101] = '\0';
    int32_t want[128];
    want[0] = 2;
    want[1] = 12;
    for (int i = 2; i <= 100; i++)
        want[i] = 13;
    want[101] = 3;
    expect_ids(t, word, 100, 128, want, 102, 0);
    const int32_t unk[] = {2, 1, 3};
    expect_ids(t, word, 101, 128, unk, 3, 0);

    /* CRLF vocabulary */
    const char crlf[] = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nx\r\n";
    mpct_tok_t *c = NULL;
    REQUIRE(mpct_tok_load_vocab_mem(crlf, sizeof crlf - 1, "crlf", &c) == MPCT_OK, "%s",
            mpct_error_msg());
    REQUIRE(mpct_tok_lookup(c, "x", 1) == 4 && mpct_tok_special_id(c, MPCT_TOK_SEP) == 3 &&
                mpct_tok_special_id(c, MPCT_TOK_MASK) == -1,
            "CRLF vocabulary ids");
    mpct_tok_free(c);
    mpct_tok_free(t);
}

static void expect_bad_utf8(const mpct_tok_t *t, const char *text, size_t len, size_t offset,
                            const char *why)
{
    int32_t ids[16];
    uint8_t mask[16];
    size_t n = 99, dropped = 99;
    mpct_status s = mpct_tok_encode(t, text, len, 16, ids, mask, &n, &dropped);
    REQUIRE(s == MPCT_ERR_FORMAT, "invalid UTF-8 must give MPCT_ERR_FORMAT, got %s",
            mpct_status_str(s));
    char want[64];
    snprintf(want, sizeof want, "at byte offset %zu:", offset);
    REQUIRE(strstr(mpct_error_msg(), want) != NULL, "message \"%s\" lacks \"%s\"", mpct_error_msg(),
            want);
    REQUIRE(strstr(mpct_error_msg(), why) != NULL, "message \"%s\" lacks \"%s\"", mpct_error_msg(),
            why);
    REQUIRE(n == 0 && ids[0] == 0 && mask[0] == 0, "outputs must be cleared on error");
}

static void test_bad_utf8(void)
{
    mpct_tok_t *t = small();
    expect_bad_utf8(t, "\xff", 1, 0, "cannot start");
    expect_bad_utf8(t, "ok \x80", 4, 3, "stray continuation");
    expect_bad_utf8(t, "abc\xc3", 4, 3, "truncated");
    expect_bad_utf8(t, "\xc0\xaf", 2, 0, "overlong");
    expect_bad_utf8(t, "ab\xe0\x80\xaf", 5, 2, "overlong");
    expect_bad_utf8(t, "\xed\xa0\x80", 3, 0, "surrogate");
    expect_bad_utf8(t, "x\xf4\x90\x80\x80", 5, 1, "above U+10FFFF");
    expect_bad_utf8(t, "\xe2\x28\xa1", 3, 0, "not a continuation");
    expect_bad_utf8(t, "caf\xc3\xa9 \xe9t\xe9", 9, 6, "not a continuation"); /* Latin-1 */
    /* valid edge cases decode */
    const char ok[] = "\xf4\x8f\xbf\xbf \xef\xbf\xbf \xc2\x80";
    int32_t ids[16];
    size_t n = 0;
    REQUIRE(mpct_tok_encode(t, ok, sizeof ok - 1, 16, ids, NULL, &n, NULL) == MPCT_OK, "%s",
            mpct_error_msg());
    mpct_tok_free(t);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

static void test_bad_vocab(void)
{
    static const char *const names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
    char path[4096];
    for (int k = 0; k < 4; k++) {
        char v[256] = "";
        for (int j = 0; j < 4; j++)
            if (j != k)
                strcat(strcat(v, names[j]), "\n");
        strcat(v, "hello\n");
        snprintf(path, sizeof path, "%s/tok_bad_vocab_%d.txt", MPCT_TEST_WORK_DIR, k);
        write_file(path, v, strlen(v));
        mpct_tok_t *t = (mpct_tok_t *)1;
        mpct_status s = mpct_tok_load_vocab_file(path, &t);
        REQUIRE(s == MPCT_ERR_FORMAT && t == NULL, "vocab without %s: status %s", names[k],
                mpct_status_str(s));
        REQUIRE(strstr(mpct_error_msg(), path) && strstr(mpct_error_msg(), names[k]),
                "message \"%s\" must name %s and %s", mpct_error_msg(), path, names[k]);
    }
    mpct_tok_t *t = NULL;
    REQUIRE(mpct_tok_load_vocab_mem("", 0, "empty.txt", &t) == MPCT_ERR_FORMAT &&
                strstr(mpct_error_msg(), "empty.txt") && strstr(mpct_error_msg(), "empty"),
            "empty vocabulary: %s", mpct_error_msg());
    const char badline[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nok\nbad\xff\n";
    REQUIRE(mpct_tok_load_vocab_mem(badline, sizeof badline - 1, "v.txt", &t) == MPCT_ERR_FORMAT &&
                strstr(mpct_error_msg(), "line 6"),
            "vocab with invalid UTF-8 on line 6: %s", mpct_error_msg());

    const char *missing = "/nonexistent-mpct-dir/vocab.txt";
    REQUIRE(mpct_tok_load_vocab_file(missing, &t) == MPCT_ERR_IO && t == NULL &&
                strstr(mpct_error_msg(), missing),
            "missing vocab file: %s", mpct_error_msg());
    REQUIRE(mpct_tok_load_h5("/nonexistent-mpct-dir/model.h5", &t) == MPCT_ERR_IO &&
                strstr(mpct_error_msg(), "/nonexistent-mpct-dir/model.h5"),
            "missing model file: %s", mpct_error_msg());
    /* a text file is not HDF5 */
    snprintf(path, sizeof path, "%s/tok_bad_vocab_0.txt", MPCT_TEST_WORK_DIR);
    REQUIRE(mpct_tok_load_h5(path, &t) == MPCT_ERR_FORMAT && strstr(mpct_error_msg(), "HDF5"),
            "text file as model: %s", mpct_error_msg());

    /* HDF5 without /tokenizer, then with a float dataset */
    snprintf(path, sizeof path, "%s/tok_no_vocab.h5", MPCT_TEST_WORK_DIR);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(f >= 0, "H5Fcreate %s", path);
    H5Fclose(f);
    REQUIRE(mpct_tok_load_h5(path, &t) == MPCT_ERR_FORMAT &&
                strstr(mpct_error_msg(), "/tokenizer/vocab_txt") && strstr(mpct_error_msg(), path),
            "model without vocabulary: %s", mpct_error_msg());
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "/tokenizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dim = 4;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(f, MPCT_TOK_H5_DATASET, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    float zeros[4] = {0};
    REQUIRE(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) >= 0, "H5Dwrite");
    H5Dclose(d);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
    REQUIRE(mpct_tok_load_h5(path, &t) == MPCT_ERR_FORMAT && strstr(mpct_error_msg(), "uint8"),
            "float vocabulary dataset: %s", mpct_error_msg());
}

static void test_truncation(void)
{
    mpct_tok_t *t = small();
    const char *text = "want want want want want want want want want want";
    const int32_t w6[] = {2, 8, 8, 8, 8, 3};
    expect_ids(t, text, strlen(text), 6, w6, 6, 6);
    const int32_t w2[] = {2, 3};
    expect_ids(t, text, strlen(text), 2, w2, 2, 10);
    const int32_t w12[] = {2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 3};
    expect_ids(t, text, strlen(text), 12, w12, 12, 0);
    expect_ids(t, text, strlen(text), 200, w12, 12, 0);

    int32_t ids[4];
    size_t n = 0;
    REQUIRE(mpct_tok_encode(t, "want", 4, 1, ids, NULL, &n, NULL) == MPCT_ERR_ARG &&
                strstr(mpct_error_msg(), "max_len"),
            "max_len 1: %s", mpct_error_msg());

    /* without n_dropped the library warns on stderr */
    char path[4096];
    snprintf(path, sizeof path, "%s/tok_stderr.txt", MPCT_TEST_WORK_DIR);
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(path, "w+");
    REQUIRE(saved >= 0 && cap != NULL, "cannot capture stderr");
    dup2(fileno(cap), 2);
    int32_t ids6[6];
    mpct_status s = mpct_tok_encode(t, text, strlen(text), 6, ids6, NULL, &n, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char msg[512] = "";
    rewind(cap);
    size_t got = fread(msg, 1, sizeof msg - 1, cap);
    msg[got] = '\0';
    fclose(cap);
    REQUIRE(s == MPCT_OK && n == 6 && ids6[5] == 3, "truncated encode");
    REQUIRE(strstr(msg, "warning") && strstr(msg, "truncated") && strstr(msg, "10 word pieces"),
            "stderr warning \"%s\"", msg);
    mpct_tok_free(t);
}

int main(void)
{
    test_known_answers();
    test_bad_utf8();
    test_bad_vocab();
    test_truncation();
    return mpct_check_done("test_tok_errors");
}
