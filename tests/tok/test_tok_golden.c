/*
 * test_tok_golden.c — every line of tests/data/tok_golden_input.txt must give
 * exactly the ids of the same line of tok_golden_ids.txt (made by Hugging Face
 * `tokenizers` with the all-MiniLM-L6-v2 tokenizer, max_length 128, see
 * datasets/make_tokenizer_golden.py). Runs three times: with the vocabulary
 * loaded from vocab.txt, from an HDF5 file holding it as /tokenizer/vocab_txt
 * (written here with the HDF5 C API), and from the model's tokenizer.json
 * (its pipeline as shipped around the same vocabulary, built here). Also
 * checks the attention mask and the padding, and that a second encode of the
 * same text gives the same ids.
 *
 * Usage: test_tok_golden [DATA_DIR [WORK_DIR]]; exits non-zero on any mismatch,
 * printing line number, input, expected and got.
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "../mpct_check.h"
#include "tok_test_util.h"

#ifndef MPCT_TEST_DATA_DIR
#define MPCT_TEST_DATA_DIR "tests/data"
#endif
#ifndef MPCT_TEST_WORK_DIR
#define MPCT_TEST_WORK_DIR "."
#endif

#define MAX_LEN 128

/* Splits buf at '\n' in place; returns the number of lines (a final line
 * without '\n' counts). lines[i] / lens[i]. */
static size_t split_lines(char *buf, size_t len, char ***lines, size_t **lens)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    if (len && buf[len - 1] != '\n')
        n++;
    *lines = malloc((n + 1) * sizeof **lines);
    *lens = malloc((n + 1) * sizeof **lens);
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < n; i++) {
        if (i == len || buf[i] == '\n') {
            (*lines)[k] = buf + start;
            (*lens)[k] = i - start;
            if (i < len)
                buf[i] = '\0';
            k++;
            start = i + 1;
        }
    }
    return n;
}

static void print_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
}

static void run_golden(const mpct_tok_t *tok, const char *what, char **in, size_t *in_len,
                       char **exp, size_t n)
{
    const int f0 = failures;
    int32_t ids[MAX_LEN], ids2[MAX_LEN];
    uint8_t mask[MAX_LEN];
    size_t total = 0, truncated = 0;
    for (size_t i = 0; i < n; i++) {
        size_t got_n = 0, dropped = 0;
        mpct_status s = mpct_tok_encode(tok, in[i], in_len[i], MAX_LEN, ids, mask, &got_n, &dropped);
        char got[MAX_LEN * 8 + 1];
        size_t p = 0;
        got[0] = '\0';
        if (s == MPCT_OK)
            for (size_t k = 0; k < got_n; k++)
                p += (size_t)snprintf(got + p, sizeof got - p, k ? " %d" : "%d", (int)ids[k]);
        else
            snprintf(got, sizeof got, "error %s: %s", mpct_status_str(s), mpct_error_msg());
        int bad = strcmp(got, exp[i]) != 0;
        /* mask and padding */
        for (size_t k = 0; s == MPCT_OK && k < MAX_LEN && !bad; k++) {
            if (mask[k] != (k < got_n) ||
                (k >= got_n && ids[k] != mpct_tok_special_id(tok, MPCT_TOK_PAD))) {
                snprintf(got + strlen(got), sizeof got - strlen(got), " (bad mask/pad at %zu)", k);
                bad = 1;
            }
        }
        /* determinism, and the NULL-mask form */
        size_t n2 = 0, d2 = 0;
        if (!bad && (mpct_tok_encode(tok, in[i], in_len[i], MAX_LEN, ids2, NULL, &n2, &d2) != MPCT_OK ||
                     n2 != got_n || d2 != dropped || memcmp(ids, ids2, sizeof ids) != 0)) {
            snprintf(got + strlen(got), sizeof got - strlen(got), " (second encode differs)");
            bad = 1;
        }
        CHECK(!bad, "[%s] line %zu", what, i + 1);
        if (bad) {
            fprintf(stderr, "  input:    \"");
            print_escaped(in[i], in_len[i]);
            fprintf(stderr, "\"\n  expected: %s\n  got:      %s\n", exp[i], got);
        }
        total += got_n;
        truncated += dropped > 0;
    }
    printf("[%s] %zu lines, %zu tokens, %zu truncated, %d mismatches\n", what, n, total, truncated,
           failures - f0);
    CHECK(truncated > 0, "[%s]: the golden set should contain truncated lines", what);
}

static int write_h5(const char *h5path, const char *vocab, size_t len)
{
    hid_t f = H5Fcreate(h5path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return -1;
    hid_t g = H5Gcreate2(f, "/tokenizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dim = len;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(f, MPCT_TOK_H5_DATASET, H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    herr_t w = H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, vocab);
    H5Dclose(d);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
    return (g < 0 || d < 0 || w < 0) ? -1 : 0;
}

/* The tokenizer.json of all-MiniLM-L6-v2 (its pipeline as shipped, the
 * vocabulary from vocab.txt, every token escaped for JSON). */
static char *minilm_json(const char *vocab, size_t len, size_t *out_len)
{
    static const char head[] =
        "{\"version\":\"1.0\",\"truncation\":{\"max_length\":128,\"strategy\":\"LongestFirst\",\"stride\":0},"
        "\"padding\":{\"strategy\":{\"Fixed\":128},\"direction\":\"Right\",\"pad_to_multiple_of\":null,"
        "\"pad_id\":0,\"pad_type_id\":0,\"pad_token\":\"[PAD]\"},\"added_tokens\":["
        "{\"id\":0,\"special\":true,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false},"
        "{\"id\":100,\"special\":true,\"content\":\"[UNK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false},"
        "{\"id\":101,\"special\":true,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false},"
        "{\"id\":102,\"special\":true,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false},"
        "{\"id\":103,\"special\":true,\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false}],"
        "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
        "\"strip_accents\":null,\"lowercase\":true},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
        "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},"
        "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],\"pair\":[],"
        "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[101],\"tokens\":[\"[CLS]\"]},"
        "\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[102],\"tokens\":[\"[SEP]\"]}}},"
        "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
        "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
        "\"max_input_chars_per_word\":100,\"vocab\":{";
    char *j = malloc(sizeof head + 8 * len + 64);
    REQUIRE(j, "out of memory");
    size_t k = sizeof head - 1, id = 0;
    memcpy(j, head, k);
    for (size_t i = 0; i < len; id++) {
        size_t e = i;
        while (e < len && vocab[e] != '\n')
            e++;
        j[k++] = id ? ',' : '"';
        if (id)
            j[k++] = '"';
        for (size_t c = i; c < e; c++) {
            unsigned char b = (unsigned char)vocab[c];
            if (b == '"' || b == '\\')
                j[k++] = '\\';
            if (b < 0x20)
                k += (size_t)sprintf(j + k, "\\u%04x", b);
            else
                j[k++] = (char)b;
        }
        k += (size_t)sprintf(j + k, "\":%zu", id);
        i = e + 1;
    }
    k += (size_t)sprintf(j + k, "}}}");
    *out_len = k;
    return j;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : MPCT_TEST_DATA_DIR;
    const char *work = argc > 2 ? argv[2] : MPCT_TEST_WORK_DIR;
    char path[4096];
    size_t in_size, exp_size, voc_size;

    snprintf(path, sizeof path, "%s/tok_golden_input.txt", dir);
    char *in_buf = tok_test_read_all(path, &in_size);
    snprintf(path, sizeof path, "%s/tok_golden_ids.txt", dir);
    char *exp_buf = tok_test_read_all(path, &exp_size);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    char *voc_buf = tok_test_read_all(path, &voc_size);

    char **in, **exp;
    size_t *in_len, *exp_len;
    size_t n_in = split_lines(in_buf, in_size, &in, &in_len);
    size_t n_exp = split_lines(exp_buf, exp_size, &exp, &exp_len);
    REQUIRE(n_in == n_exp && n_in >= 200, "%zu input lines vs %zu expected lines (need equal and >= 200)",
            n_in, n_exp);

    mpct_tok_t *tok = NULL;
    MUST(mpct_tok_load_vocab_file(path, &tok));
    CHECK(mpct_tok_vocab_size(tok) == 30522 && mpct_tok_special_id(tok, MPCT_TOK_CLS) == 101 &&
              mpct_tok_special_id(tok, MPCT_TOK_SEP) == 102 &&
              mpct_tok_special_id(tok, MPCT_TOK_UNK) == 100 &&
              mpct_tok_special_id(tok, MPCT_TOK_PAD) == 0 && mpct_tok_special_id(tok, MPCT_TOK_MASK) == 103 &&
              mpct_tok_lookup(tok, "##ing", 5) == 2075 && strcmp(mpct_tok_token(tok, 7592), "hello") == 0,
          "vocab.txt sizes/ids are not those of bert-base-uncased");
    double t0 = mpct_time_now();
    run_golden(tok, "vocab.txt", in, in_len, exp, n_in);
    double t1 = mpct_time_now();
    printf("encode: %.1f us per line (x2 encodes)\n", (t1 - t0) * 1e6 / (double)n_in);

    snprintf(path, sizeof path, "%s/tok_golden_vocab.h5", work);
    REQUIRE(write_h5(path, voc_buf, voc_size) == 0, "cannot write %s", path);
    mpct_tok_t *tok2 = NULL;
    MUST(mpct_tok_load_h5(path, &tok2));
    CHECK(mpct_tok_vocab_size(tok2) == mpct_tok_vocab_size(tok), "h5 vocabulary has %zu tokens, vocab.txt %zu",
          mpct_tok_vocab_size(tok2), mpct_tok_vocab_size(tok));
    run_golden(tok2, "hdf5", in, in_len, exp, n_in);

    size_t jlen = 0;
    char *json = minilm_json(voc_buf, voc_size, &jlen);
    mpct_tok_t *tok3 = NULL;
    MUST(mpct_tok_load_vocab_mem(json, jlen, "minilm tokenizer.json", &tok3));
    CHECK(mpct_tok_vocab_size(tok3) == 30522 && mpct_tok_special_id(tok3, MPCT_TOK_PAD) == 0 &&
              mpct_tok_special_id(tok3, MPCT_TOK_MASK) == 103,
          "tokenizer.json vocabulary: %zu tokens", mpct_tok_vocab_size(tok3));
    run_golden(tok3, "tokenizer.json", in, in_len, exp, n_in);
    mpct_tok_free(tok3);
    free(json);

    mpct_tok_free(tok);
    mpct_tok_free(tok2);
    free(in);
    free(in_len);
    free(exp);
    free(exp_len);
    free(in_buf);
    free(exp_buf);
    free(voc_buf);
    return mpct_check_done("test_tok_golden");
}
