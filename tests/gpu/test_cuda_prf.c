/*
 * test_cuda_prf.c — GPU AES-128-CTR PRF against the CPU table AES
 * (mpct_aes128_ctr_words, itself checked against OpenSSL by test_prf_kat)
 * and the committed vectors, at several (stream id, pos, n), odd pos
 * included, into device and host memory. Needs no OpenSSL. Exits 77 when
 * no CUDA device is usable.
 */
#include "mpct_aes.h"
#include "mpct_cuda.h"
#include "prf_kat_vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../mpct_check.h"

int main(void) {
    if (!mpct_kernels_cuda()) {
        printf("test_cuda_prf: SKIP: no CUDA device (%s)\n", mpct_cuda_error_msg());
        return 77;
    }
    for (int v = 0; v < PRF_KAT_COUNT; v++) {
        uint64_t got[8] = {0};
        CUDA_OK(mpct_cuda_prf_fill_host(prf_kats[v].key, prf_kats[v].stream_id, prf_kats[v].pos,
                                        got, (size_t)prf_kats[v].n));
        CHECK(memcmp(got, prf_kats[v].words, 8 * (size_t)prf_kats[v].n) == 0,
              "committed vector %d", v);
    }
    const struct {
        uint64_t sid, pos;
        size_t n;
    } cases[] = {
        {0, 0, 1},  {0, 1, 1},   {1, 0, 2},    {1, 1, 2},   {2, 3, 3},
        {5, 7, 1000},  {0xffffffffffffffffull, 0, 4097},  {0x8000000000000000ull, 1, 4096},
        {42, (1ull << 33) + 1, 100001},  {9, (1ull << 62) + 2, 65536},
        {0x0123456789abcdefull, 12345, 3000001},
    };
    uint64_t seed = 7;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t key[16];
        for (int i = 0; i < 16; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            key[i] = (uint8_t)(seed >> 56);
        }
        size_t n = cases[c].n;
        uint64_t *want = malloc(n * 8), *got = malloc(n * 8), *d;
        if (!want || !got) abort();
        mpct_aes128_ctr_words(key, cases[c].sid, cases[c].pos, want, n);
        memset(got, 0xa5, n * 8);
        CUDA_OK(mpct_cuda_prf_fill_host(key, cases[c].sid, cases[c].pos, got, n));
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
        CHECK(bad == 0, "host-out case %zu (pos %llu n %zu): %zu differ", c,
              (unsigned long long)cases[c].pos, n, bad);
        /* device-out, with a guard word on each side */
        CUDA_OK(mpct_cuda_dev_alloc((void **)&d, (n + 2) * 8));
        uint64_t guard = 0xdeadbeefcafef00dull;
        CUDA_OK(mpct_cuda_h2d(d, &guard, 8));
        CUDA_OK(mpct_cuda_h2d(d + n + 1, &guard, 8));
        CUDA_OK(mpct_cuda_prf_fill_dev(key, cases[c].sid, cases[c].pos, d + 1, n, NULL));
        CUDA_OK(mpct_cuda_sync());
        uint64_t g0, g1;
        memset(got, 0xa5, n * 8);
        CUDA_OK(mpct_cuda_d2h(got, d + 1, n * 8));
        CUDA_OK(mpct_cuda_d2h(&g0, d, 8));
        CUDA_OK(mpct_cuda_d2h(&g1, d + n + 1, 8));
        bad = 0;
        for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
        CHECK(bad == 0, "device-out case %zu: %zu differ", c, bad);
        CHECK(g0 == guard && g1 == guard, "device-out case %zu wrote outside [0, n)", c);
        mpct_cuda_dev_free(d);
        free(want);
        free(got);
    }
    /* Windows of one stream agree with each other (pos arithmetic). */
    {
        uint8_t key[16] = {1, 2, 3};
        uint64_t whole[300], part[100];
        CUDA_OK(mpct_cuda_prf_fill_host(key, 3, 1000, whole, 300));
        for (uint64_t off = 0; off < 200; off += 37) {
            CUDA_OK(mpct_cuda_prf_fill_host(key, 3, 1000 + off, part, 100));
            CHECK(memcmp(part, whole + off, sizeof part) == 0, "window at +%llu",
                  (unsigned long long)off);
        }
    }
    mpct_cuda_shutdown();
    return mpct_check_done("test_cuda_prf");
}
