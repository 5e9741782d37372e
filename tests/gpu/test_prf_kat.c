/*
 * test_prf_kat.c — CPU known-answer test for the AES code the GPU PRF runs.
 * Always built and run (needs OpenSSL, not CUDA).
 *
 *  1. OpenSSL EVP aes-128-ctr reproduces NIST SP 800-38A F.5.1 (validates
 *     the EVP setup used as the oracle below).
 *  2. The table AES of kernels/cuda/mpct_aes.h reproduces FIPS-197 C.1 and
 *     SP 800-38A F.5.1 (counter blocks encrypted one by one).
 *  3. Te0 agrees with the S-box (both tables are literals in the header).
 *  4. mpct_aes128_ctr_words equals the mpct PRF stream computed with EVP at
 *     many (key, stream id, position, length), odd positions included.
 *  5. The committed vectors of prf_kat_vectors.h equal both.
 */
#include "mpct_aes.h"
#include "mpct_prf.h"
#include "prf_kat_vectors.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../mpct_check.h"



static void hex2bin(const char *h, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) abort();
        out[i] = (uint8_t)v;
    }
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* EVP aes-128-ctr over zeros with the given IV; returns 0 on success. */
static int evp_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, uint8_t *out,
                   size_t len) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0, ok = c != NULL;
    ok = ok && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1;
    for (size_t off = 0; ok && off < len;) {
        int chunk = (int)(len - off > (1u << 20) ? (1u << 20) : len - off);
        ok = EVP_EncryptUpdate(c, out + off, &l, in + off, chunk) == 1 && l == chunk;
        off += (size_t)chunk;
    }
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* The mpct stream words [pos, pos+n) via EVP, straight from the definition:
 * IV = sid big-endian || 0, keystream from block 0, skip 8*pos bytes. */
static int evp_stream(const uint8_t key[16], uint64_t sid, uint64_t pos, uint64_t *out, size_t n) {
    uint8_t iv[16] = {0};
    for (int i = 0; i < 8; i++) iv[i] = (uint8_t)(sid >> (56 - 8 * i));
    /* Seek by setting the low counter half to the first block (same thing
     * as running the stream from block 0; verified for small pos below). */
    uint64_t b0 = pos / 2;
    for (int i = 0; i < 8; i++) iv[8 + i] = (uint8_t)(b0 >> (56 - 8 * i));
    size_t skip = (size_t)(pos - 2 * b0);
    size_t bytes = 8 * (n + skip);
    uint8_t *zero = calloc(bytes + 16, 1), *ks = malloc(bytes + 16);
    if (!zero || !ks) abort();
    int rc = evp_ctr(key, iv, zero, ks, bytes);
    memcpy(out, ks + 8 * skip, 8 * n); /* little-endian host assumed (x86-64, arm64) */
    free(zero);
    free(ks);
    return rc;
}

static void test_evp_sp800_38a(void) {
    uint8_t key[16], ctr[16], pt[64], ct[64], out[64];
    hex2bin("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    hex2bin("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr, 16);
    hex2bin("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
            pt, 64);
    hex2bin("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
            "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
            ct, 64);
    CHECK(evp_ctr(key, ctr, pt, out, 64) == 0, "EVP failed");
    CHECK(memcmp(out, ct, 64) == 0, "EVP aes-128-ctr does not match SP 800-38A F.5.1");

    /* Same with the table AES: counter blocks f0..ff, +1, +2, +3. */
    mpct_aes128_ks ks;
    mpct_aes128_expand(key, &ks);
    for (int b = 0; b < 4; b++) {
        uint8_t c[16], o[16];
        memcpy(c, ctr, 16);
        c[15] = (uint8_t)(c[15] + b); /* 0xff + b wraps; carry into byte 14 */
        if (b > 0) c[14] = (uint8_t)(c[14] + 1);
        mpct_aes128_encrypt_block(&ks, c, o);
        for (int i = 0; i < 16; i++) o[i] ^= pt[16 * b + i];
        CHECK(memcmp(o, ct + 16 * b, 16) == 0, "table AES: SP 800-38A F.5.1 block %d", b + 1);
    }
    mpct_aes128_wipe(&ks);
    CHECK(ks.rk[0] == 0 && ks.rk[43] == 0, "key schedule not wiped");
}

static void test_fips197(void) {
    uint8_t key[16], pt[16], ct[16], out[16];
    hex2bin("000102030405060708090a0b0c0d0e0f", key, 16);
    hex2bin("00112233445566778899aabbccddeeff", pt, 16);
    hex2bin("69c4e0d86a7b0430d8cdb78070b4c55a", ct, 16);
    mpct_aes128_ks ks;
    mpct_aes128_expand(key, &ks);
    mpct_aes128_encrypt_block(&ks, pt, out);
    CHECK(memcmp(out, ct, 16) == 0, "table AES does not match FIPS-197 C.1");
    /* FIPS-197 A.1: last round key word of 2b7e1516... is b6630ca6. */
    hex2bin("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    mpct_aes128_expand(key, &ks);
    CHECK(ks.rk[43] == 0xb6630ca6u, "key expansion w[43] = %08x, want b6630ca6", ks.rk[43]);
    mpct_aes128_wipe(&ks);
}

static uint8_t gf_mul2(uint8_t a) { return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0)); }

static void test_tables(void) {
    int bad = 0;
    for (int x = 0; x < 256; x++) {
        uint8_t s = mpct_aes_sbox[x], s2 = gf_mul2(s), s3 = (uint8_t)(s2 ^ s);
        uint32_t want = ((uint32_t)s2 << 24) | ((uint32_t)s << 16) | ((uint32_t)s << 8) | s3;
        bad += mpct_aes_te0[x] != want;
    }
    CHECK(bad == 0, "%d Te0 entries disagree with the S-box", bad);
    CHECK(mpct_aes_sbox[0x00] == 0x63 && mpct_aes_sbox[0x53] == 0xed, "S-box spot check");
}

static void test_stream_vs_evp(void) {
    uint64_t seed = 42;
    /* Seeking by IV equals running from block 0: compare pos 0..40 windows
     * inside one long EVP run. */
    {
        uint8_t key[16];
        for (int i = 0; i < 16; i++) key[i] = (uint8_t)splitmix(&seed);
        uint64_t whole[64], part[24];
        CHECK(evp_stream(key, 99, 0, whole, 64) == 0, "EVP");
        for (uint64_t pos = 0; pos <= 40; pos++) {
            CHECK(evp_stream(key, 99, pos, part, 24) == 0, "EVP");
            CHECK(memcmp(part, whole + pos, sizeof part) == 0, "EVP seek at pos %llu",
                  (unsigned long long)pos);
        }
    }
    const struct {
        uint64_t sid, pos;
        size_t n;
    } cases[] = {
        {0, 0, 1},       {0, 1, 1},          {1, 0, 2},        {1, 1, 2},
        {2, 5, 17},      {0xffffffffffffffffull, 0, 33},       {0x8000000000000000ull, 7, 64},
        {12345, (1ull << 32) - 1, 9},        {3, (1ull << 40) + 1, 1000},
        {0x0123456789abcdefull, 1000001, 100000},              {77, 0, 1 << 20},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t key[16];
        for (int i = 0; i < 16; i++) key[i] = (uint8_t)splitmix(&seed);
        size_t n = cases[c].n;
        uint64_t *want = malloc(8 * n), *got = malloc(8 * n);
        if (!want || !got) abort();
        CHECK(evp_stream(key, cases[c].sid, cases[c].pos, want, n) == 0, "EVP");
        memset(got, 0xa5, 8 * n);
        mpct_aes128_ctr_words(key, cases[c].sid, cases[c].pos, got, n);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
        CHECK(bad == 0, "table AES-CTR vs EVP: case %zu (sid %llx pos %llu n %zu): %zu words differ",
              c, (unsigned long long)cases[c].sid, (unsigned long long)cases[c].pos, n, bad);
        free(want);
        free(got);
    }
}

static void test_committed(void) {
    for (int v = 0; v < PRF_KAT_COUNT; v++) {
        const prf_kat *k = &prf_kats[v];
        uint64_t evp[8], tab[8];
        CHECK(evp_stream(k->key, k->stream_id, k->pos, evp, (size_t)k->n) == 0, "EVP");
        mpct_aes128_ctr_words(k->key, k->stream_id, k->pos, tab, (size_t)k->n);
        CHECK(memcmp(evp, k->words, 8 * (size_t)k->n) == 0, "committed vector %d vs EVP", v);
        CHECK(memcmp(tab, k->words, 8 * (size_t)k->n) == 0, "committed vector %d vs table AES",
              v);
    }
}

/* The GPU round code must reproduce the protocol's own PRF (src/core). */
static void test_vs_core_prf(void) {
    const uint64_t sids[] = {1, 0xfedcba9876543210ull};
    const uint64_t poss[] = {0, 1, 7, 123457};
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 4; b++) {
            uint8_t key[16];
            mpct_prf_derive_key(a, b, key);
            mpct_prf_t *p = NULL;
            CHECK(mpct_prf_init(&p, key, sids[a]) == MPCT_OK, "core prf init");
            uint64_t want[37], got[37];
            CHECK(mpct_prf_fill_at(p, poss[b], want, 37) == MPCT_OK, "core prf fill");
            mpct_aes128_ctr_words(key, sids[a], poss[b], got, 37);
            CHECK(memcmp(want, got, sizeof want) == 0, "table AES vs mpct_prf (sid %llx pos %llu)",
                  (unsigned long long)sids[a], (unsigned long long)poss[b]);
            mpct_prf_free(p);
        }
}

int main(void) {
    test_vs_core_prf();
    test_evp_sp800_38a();
    test_fips197();
    test_tables();
    test_stream_vs_evp();
    test_committed();
    printf("test_prf_kat: EVP = SP 800-38A; table AES = FIPS-197, SP 800-38A, EVP stream\n");
    return mpct_check_done("test_prf_kat");
}
