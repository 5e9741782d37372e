/*
 * prf_kat_vectors.h — committed known answers for the mpct PRF stream
 * (src/core/mpct_prf.h: AES-128-CTR, IV = big-endian stream id || 0^64,
 * words = keystream as little-endian uint64), generated once with OpenSSL
 * EVP aes-128-ctr. Checked against EVP and the table AES on the CPU
 * (test_prf_kat.c) and against the GPU PRF (test_cuda_prf.c), which needs
 * no OpenSSL.
 */
#ifndef MPCT_PRF_KAT_VECTORS_H
#define MPCT_PRF_KAT_VECTORS_H

#include <stdint.h>

typedef struct prf_kat {
    uint8_t key[16];
    uint64_t stream_id;
    uint64_t pos;
    int n;
    uint64_t words[8];
} prf_kat;

static const prf_kat prf_kats[] = {
    {{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
      0x0f},
     0x0123456789abcdefull,
     0,
     8,
     {0x00447a0e1212c8e2ull, 0x5e7d559316c20ce7ull, 0xc52a582733e8e3f0ull, 0x3ebef7fbcf2d2cb1ull,
      0xdaf9aef9d912346cull, 0x56d743502f08cdedull, 0x28e66abe8eb688e9ull, 0x768744059c11338bull}},
    {{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
      0x3c},
     7,
     (1ull << 32) + 3,
     5,
     {0x2625e8115db03a7eull, 0x13a1cbadc6fe846aull, 0xce87c83049fc53c6ull, 0x398dc4e2f5ac77caull,
      0x6ad1f3d328aa61d5ull, 0, 0, 0}},
};
#define PRF_KAT_COUNT ((int)(sizeof prf_kats / sizeof prf_kats[0]))

#endif
