/*
 * test_tok_model_json.c — a model file that carries tokenizer.json (written by
 * `mpct pack` in tok_cmd_pack_json, fixture tok_json_model): it verifies, its
 * tokenizer bytes are the JSON (do_lower_case -1) and load as the 3000-token
 * WordPiece, mpct_tok_load_h5 reads the same; and content_sha256 covers the
 * JSON: one byte changed in /tokenizer/tokenizer_json fails verification.
 *
 * Usage: test_tok_model_json WORK_DIR
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "mpct_io.h"
#include "mpct_tok.h"
#include "../mpct_check.h"
#include "tok_test_util.h"

int main(int argc, char **argv)
{
    REQUIRE(argc == 2, "usage: test_tok_model_json WORK_DIR");
    char path[4096], mod[4096];
    snprintf(path, sizeof path, "%s/tok_json.h5", argv[1]);
    snprintf(mod, sizeof mod, "%s/tok_json_modified.h5", argv[1]);

    mpct_model_file *f = NULL;
    MUST(mpct_model_file_open(path, &f));
    MUST(mpct_model_file_verify(f));
    uint8_t *bytes = NULL;
    size_t len = 0;
    int lower = 7;
    MUST(mpct_model_file_read_vocab(f, &bytes, &len, &lower));
    CHECK(len > 1000 && bytes[0] == '{' && lower == -1, "tokenizer bytes: %zu, first '%c', lower %d", len,
          len ? bytes[0] : '?', lower);
    mpct_tok_t *a = NULL, *b = NULL;
    MUST(mpct_tok_load_vocab_mem(bytes, len, "model", &a));
    MUST(mpct_tok_load_h5(path, &b));
    CHECK(mpct_tok_vocab_size(a) == 3000 && mpct_tok_vocab_size(b) == 3000 &&
          !strcmp(mpct_tok_model_name(b), "WordPiece"));
    mpct_tok_free(a);
    mpct_tok_free(b);
    mpct_free(bytes);
    mpct_model_file_close(f);

    /* the copy with one byte of the JSON changed ("lowercase": true -> trUe) */
    size_t n = 0;
    char *file = tok_test_read_all(path, &n);
    FILE *o = fopen(mod, "wb");
    REQUIRE(o && fwrite(file, 1, n, o) == n && fclose(o) == 0, "cannot write %s", mod);
    free(file);
    hid_t h = H5Fopen(mod, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, MPCT_TOK_H5_JSON, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hssize_t m = H5Sget_simple_extent_npoints(sp);
    char *j = calloc((size_t)m + 1, 1);
    REQUIRE(j && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, j) >= 0, "read %s", MPCT_TOK_H5_JSON);
    char *lc = strstr(j, "\"lowercase\": true");
    REQUIRE(lc, "no \"lowercase\": true in the stored tokenizer.json");
    lc[15] = 'U';
    REQUIRE(H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, j) >= 0, "write");
    free(j);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(h);
    MUST(mpct_model_file_open(mod, &f));
    EXPECT_ERR(mpct_model_file_verify(f), MPCT_ERR_FORMAT, "content hash mismatch");
    mpct_model_file_close(f);
    return mpct_check_done("test_tok_model_json");
}
