/*
 * test_safetensors.c — the safetensors reader on good and bad files.
 *
 * Builds small files in the test's working directory and checks: exact
 * decoding of F32/F16/BF16/I64 values; and for each damage (truncation, a
 * header length that lies, unknown dtype, size mismatch, overlap, bad JSON,
 * duplicate names, missing tensor, wrong shape, missing file) a non-OK status
 * and a message naming the file and the problem. Ends with 3000 random
 * corruptions of a valid file (fixed seed) that must fail cleanly or parse;
 * the ASan build of this test catches any out-of-bounds read.
 * Uses only the mpct_st_* API so it can be compiled with the parser alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_io.h"
#include "../mpct_check.h"


/* Writes an 8-byte length (hlen, or strlen(hdr) when hlen == 0), the header
 * and the data. */
static void write_st(const char *path, const char *hdr, uint64_t hlen, const void *data, size_t dlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint64_t n = hlen ? hlen : strlen(hdr);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(n >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, strlen(hdr), f);
    if (dlen) fwrite(data, 1, dlen, f);
    fclose(f);
}

/* Opens path and expects failure whose message contains a and b. */
static void expect_fail(const char *path, mpct_status want, const char *a, const char *b)
{
    mpct_st_file *f = NULL;
    mpct_status s = mpct_st_open(path, &f);
    const char *m = mpct_error_msg();
    CHECK(s != MPCT_OK, "%s: opened, expected an error containing '%s'", path, a);
    if (s == MPCT_OK) {
        mpct_st_close(f);
        return;
    }
    CHECK(want == MPCT_STATUS_COUNT || s == want, "%s: status %s, expected %s", path, mpct_status_str(s),
          mpct_status_str(want));
    CHECK(strstr(m, path) != NULL, "message does not name the file: %s", m);
    CHECK(strstr(m, a) != NULL, "message lacks '%s': %s", a, m);
    CHECK(!b || strstr(m, b) != NULL, "message lacks '%s': %s", b, m);
    printf("ok: %-28s -> %s\n", path, m);
}

static const char *GOOD_HDR =
    "{\"__metadata__\":{\"format\":\"pt\",\"labels\":\"neg,pos\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
    "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[36,44]}}  ";

static void good_data(unsigned char *d)
{
    float a[6] = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, -7.0f};
    memcpy(d, a, 24); /* the test machine is little-endian, as the format */
    uint16_t h[4] = {0x3C00, 0xC000, 0x3800, 0x0001};
    memcpy(d + 24, h, 8);
    uint16_t b[2] = {0x3F80, 0xC040};
    memcpy(d + 32, b, 4);
    int64_t i = -7;
    memcpy(d + 36, &i, 8);
}

static void test_good(void)
{
    unsigned char d[44];
    good_data(d);
    write_st("st_good.safetensors", GOOD_HDR, 0, d, sizeof d);
    mpct_st_file *f = NULL;
    mpct_status s = mpct_st_open("st_good.safetensors", &f);
    CHECK(s == MPCT_OK, "good file: %s", mpct_error_msg());
    if (s != MPCT_OK) return;
    CHECK(mpct_st_count(f) == 4, "count %zu, expected 4", mpct_st_count(f));
    CHECK(mpct_st_metadata(f, "labels") && !strcmp(mpct_st_metadata(f, "labels"), "neg,pos"), "metadata labels");
    double v[6];
    uint64_t dims[2] = {2, 3};
    const mpct_st_tensor *t = NULL;
    CHECK(mpct_st_expect(f, "a", 2, dims, &t) == MPCT_OK, "expect a: %s", mpct_error_msg());
    if (t) {
        CHECK(mpct_st_read_f64(f, t, v, 6) == MPCT_OK, "read a");
        CHECK(v[0] == 1.5 && v[1] == -2.25 && v[5] == -7.0 && v[4] == (double)1e-3f, "F32 values %g %g %g", v[0], v[1],
              v[5]);
        CHECK(mpct_st_read_f64(f, t, v, 5) == MPCT_ERR_ARG, "read a with wrong count must fail");
    }
    t = mpct_st_find(f, "h");
    CHECK(t && t->dtype == MPCT_ST_F16, "h is F16");
    if (t && mpct_st_read_f64(f, t, v, 4) == MPCT_OK)
        CHECK(v[0] == 1.0 && v[1] == -2.0 && v[2] == 0.5 && v[3] == 0x1p-24, "F16 values %g %g %g %g", v[0], v[1],
              v[2], v[3]);
    t = mpct_st_find(f, "b");
    if (t && mpct_st_read_f64(f, t, v, 2) == MPCT_OK) CHECK(v[0] == 1.0 && v[1] == -3.0, "BF16 %g %g", v[0], v[1]);
    t = mpct_st_find(f, "i");
    if (t && mpct_st_read_f64(f, t, v, 1) == MPCT_OK) CHECK(v[0] == -7.0, "I64 %g", v[0]);
    /* Missing tensor and wrong shape, with clear messages. */
    s = mpct_st_expect(f, "encoder.layer.9.output.dense.bias", 1, dims, NULL);
    CHECK(s == MPCT_ERR_FORMAT && strstr(mpct_error_msg(), "missing tensor 'encoder.layer.9.output.dense.bias'") &&
              strstr(mpct_error_msg(), "st_good.safetensors"),
          "missing tensor message: %s", mpct_error_msg());
    printf("ok: missing tensor -> %s\n", mpct_error_msg());
    uint64_t wrong[2] = {3, 2};
    s = mpct_st_expect(f, "a", 2, wrong, NULL);
    CHECK(s == MPCT_ERR_FORMAT && strstr(mpct_error_msg(), "has shape [2, 3], expected [3, 2]"),
          "wrong shape message: %s", mpct_error_msg());
    printf("ok: wrong shape -> %s\n", mpct_error_msg());
    mpct_st_close(f);
    /* Half-precision corner cases. */
    CHECK(mpct_st_f16_to_f32(0x7BFF) == 65504.0f, "f16 max");
    CHECK(mpct_st_f16_to_f32(0x0400) == 0x1p-14f, "f16 min normal");
    CHECK(mpct_st_f16_to_f32(0x03FF) == 0x1.ff8p-15f, "f16 max subnormal %a", (double)mpct_st_f16_to_f32(0x03FF));
    CHECK(mpct_st_f16_to_f32(0x8000) == 0.0f, "f16 -0");
}

static void test_bad(void)
{
    unsigned char d[44];
    good_data(d);
    /* Data section shorter than the offsets say. */
    write_st("st_truncated.safetensors", GOOD_HDR, 0, d, 40);
    expect_fail("st_truncated.safetensors", MPCT_ERR_FORMAT, "out of range", "truncated");
    /* Fewer than 8 bytes. */
    FILE *f = fopen("st_short.safetensors", "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    expect_fail("st_short.safetensors", MPCT_ERR_FORMAT, "too short", NULL);
    /* Header length larger than the file. */
    write_st("st_hdrlen.safetensors", GOOD_HDR, 1ull << 40, d, sizeof d);
    expect_fail("st_hdrlen.safetensors", MPCT_ERR_FORMAT, "header length 1099511627776 exceeds", NULL);
    /* Header length that cuts the JSON. */
    write_st("st_hdrcut.safetensors", GOOD_HDR, 40, d, sizeof d);
    expect_fail("st_hdrcut.safetensors", MPCT_ERR_FORMAT, "not valid JSON", NULL);
    /* Unknown dtype. */
    write_st("st_dtype.safetensors", "{\"a\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0, d, 2);
    expect_fail("st_dtype.safetensors", MPCT_ERR_UNSUPPORTED, "unknown dtype \"F8_E9\"", "tensor 'a'");
    /* shape x dtype size does not match the offsets. */
    write_st("st_size.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 0, d, 24);
    expect_fail("st_size.safetensors", MPCT_ERR_FORMAT, "20 bytes in data_offsets", "needs 6 elements x 4 bytes");
    /* Overlap. */
    write_st("st_overlap.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
             0, d, 32);
    expect_fail("st_overlap.safetensors", MPCT_ERR_FORMAT, "overlap", "'b'");
    /* begin > end. */
    write_st("st_order.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", 0, d, 8);
    expect_fail("st_order.safetensors", MPCT_ERR_FORMAT, "begin 4 > end 2", NULL);
    /* Negative and fractional shapes. */
    write_st("st_negshape.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, d, 8);
    expect_fail("st_negshape.safetensors", MPCT_ERR_FORMAT, "shape[0] is not a non-negative integer", NULL);
    /* Duplicate names. */
    write_st("st_dup.safetensors",
             "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
             0, d, 2);
    expect_fail("st_dup.safetensors", MPCT_ERR_FORMAT, "'a' appears twice", NULL);
    /* Two __metadata__ objects (a heap overflow found by fuzz_safetensors). */
    write_st("st_dupmeta.safetensors",
             "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\",\"c\":\"3\"}}", 0, d, 0);
    expect_fail("st_dupmeta.safetensors", MPCT_ERR_FORMAT, "\"__metadata__\" appears twice", NULL);
    /* Not an object / missing fields. */
    write_st("st_array.safetensors", "[1,2,3]", 0, d, 0);
    expect_fail("st_array.safetensors", MPCT_ERR_FORMAT, "JSON object", NULL);
    write_st("st_nooff.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 0, d, 1);
    expect_fail("st_nooff.safetensors", MPCT_ERR_FORMAT, "data_offsets", NULL);
    /* Missing file. */
    expect_fail("st_does_not_exist.safetensors", MPCT_ERR_IO, "cannot open", "No such file");
}

/* Random byte flips and truncations of the good file (fixed seed). */
static void test_corruptions(void)
{
    unsigned char d[44];
    good_data(d);
    size_t hl = strlen(GOOD_HDR), n = 8 + hl + sizeof d;
    unsigned char *good = malloc(n), *buf = malloc(n);
    for (int i = 0; i < 8; i++) good[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(good + 8, GOOD_HDR, hl);
    memcpy(good + 8 + hl, d, sizeof d);
    mpct_rng r = {12345};
    int ok = 0, bad = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, good, n);
        size_t len = n;
        int flips = 1 + (int)(mpct_rng_next(&r) % 4);
        for (int k = 0; k < flips; k++) buf[mpct_rng_next(&r) % n] = (unsigned char)mpct_rng_next(&r);
        if (mpct_rng_next(&r) % 4 == 0) len = (size_t)(mpct_rng_next(&r) % n);
        /* Exact-size heap copy so ASan sees reads past the end. */
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        mpct_st_file *f = NULL;
        if (mpct_st_open_mem(exact, len, "fuzz", &f) == MPCT_OK) {
            ok++;
            for (size_t i = 0; i < mpct_st_count(f); i++) {
                const mpct_st_tensor *t = mpct_st_at(f, i);
                if (t->numel > 64) continue;
                double v[64];
                CHECK(mpct_st_read_f64(f, t, v, (size_t)t->numel) == MPCT_OK, "read after good open");
            }
            mpct_st_close(f);
        } else {
            bad++;
            CHECK(strlen(mpct_error_msg()) > 10, "empty error message");
        }
        free(exact);
    }
    printf("corruptions: %d parsed, %d rejected\n", ok, bad);
    CHECK(bad > 1000, "only %d of 3000 corruptions rejected", bad);
    free(good);
    free(buf);
}

int main(void)
{
    test_good();
    test_bad();
    test_corruptions();
    return mpct_check_done("test_safetensors");
}
