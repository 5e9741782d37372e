/*
 * mpct_aes.c — plain-C AES-128 key expansion and the table-based CPU
 * AES-CTR PRF stream, using the round code of mpct_aes.h that the GPU runs.
 * Verified against OpenSSL EVP (aes-128-ctr, SP 800-38A F.5.1) by
 * tests/gpu/test_prf_kat.c.
 *
 * Not constant-time (table lookups): used as the test oracle for the GPU
 * PRF and on the GPU, where the mpct threat model (semi-honest parties, no
 * co-resident attacker) accepts it; the production CPU PRF is OpenSSL's.
 */
#include "mpct_aes.h"

#include <string.h>

const uint8_t mpct_aes_sbox[256] = MPCT_AES_SBOX_INIT;
const uint32_t mpct_aes_te0[256] = MPCT_AES_TE0_INIT;

static uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void mpct_aes128_expand(const uint8_t key[16], mpct_aes128_ks *ks) {
    static const uint32_t rcon[10] = {0x01000000u, 0x02000000u, 0x04000000u, 0x08000000u,
                                      0x10000000u, 0x20000000u, 0x40000000u, 0x80000000u,
                                      0x1b000000u, 0x36000000u};
    uint32_t *rk = ks->rk;
    for (int i = 0; i < 4; i++) rk[i] = load_be32(key + 4 * i);
    for (int i = 0; i < 10; i++, rk += 4) {
        uint32_t t = rk[3];
        rk[4] = rk[0] ^ ((uint32_t)mpct_aes_sbox[(t >> 16) & 0xff] << 24) ^
                ((uint32_t)mpct_aes_sbox[(t >> 8) & 0xff] << 16) ^
                ((uint32_t)mpct_aes_sbox[t & 0xff] << 8) ^ (uint32_t)mpct_aes_sbox[t >> 24] ^
                rcon[i];
        rk[5] = rk[1] ^ rk[4];
        rk[6] = rk[2] ^ rk[5];
        rk[7] = rk[3] ^ rk[6];
    }
}

void mpct_aes128_encrypt_block(const mpct_aes128_ks *ks, const uint8_t in[16], uint8_t out[16]) {
    uint32_t s[4];
    for (int i = 0; i < 4; i++) s[i] = load_be32(in + 4 * i);
    mpct_aes128_encrypt_words(ks->rk, mpct_aes_te0, s);
    for (int i = 0; i < 4; i++) store_be32(out + 4 * i, s[i]);
}

void mpct_aes128_ctr_words(const uint8_t key[16], uint64_t sid, uint64_t pos, uint64_t *out,
                           size_t n) {
    mpct_aes128_ks ks;
    mpct_aes128_expand(key, &ks);
    size_t i = 0;
    while (i < n) {
        uint64_t w = pos + i, w0, w1;
        mpct_aes128_ctr_block_words(ks.rk, mpct_aes_te0, sid, w >> 1, &w0, &w1);
        if ((w & 1) == 0) {
            out[i++] = w0;
            if (i < n) out[i++] = w1;
        } else {
            out[i++] = w1;
        }
    }
    mpct_aes128_wipe(&ks);
}

void mpct_aes128_wipe(mpct_aes128_ks *ks) {
    volatile uint32_t *p = ks->rk;
    for (size_t i = 0; i < sizeof ks->rk / sizeof ks->rk[0]; i++) p[i] = 0;
}
