/*
 * test_cuda_kernels.c — every CUDA ring kernel against a plain CPU loop,
 * exactly. Exits 77 (CTest skip) when no CUDA device is usable.
 *
 * GEMM: each variant (native64, limb8, limb16_f64) and the table entry, at
 * edge shapes (1x1x1, non-multiples of the 64/16 tiles, k > tile, k > the
 * limb8 exact chunk 16368, a forced small chunk for limb16), accumulate on
 * and off, inputs random / near 2^64 / edge digits (0x80.., 0x7f.., ~0).
 * Elementwise: table entries at n = 1, 7, 1000 and a multi-chunk n, plus
 * device-pointer truncation for every shift 0..63.
 */
#include "mpct_cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../mpct_check.h"

static uint64_t rng_s = 0x1234567;
static uint64_t rnd(void) {
    uint64_t z = (rng_s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum fill { FILL_RANDOM, FILL_HIGH, FILL_EDGE };
static void fill(uint64_t *x, size_t n, enum fill f) {
    static const uint64_t edge[] = {0,
                                    1,
                                    ~0ull,
                                    0x8000000000000000ull,
                                    0x7fffffffffffffffull,
                                    0x8080808080808080ull,
                                    0x7f7f7f7f7f7f7f7full,
                                    0x8000800080008000ull,
                                    0xff00ff00ff00ff00ull,
                                    0x0000000100000000ull};
    for (size_t i = 0; i < n; i++) {
        if (f == FILL_RANDOM) x[i] = rnd();
        else if (f == FILL_HIGH) x[i] = ~0ull - (rnd() & 0xffff); /* near 2^64 */
        else x[i] = edge[rnd() % (sizeof edge / sizeof edge[0])];
    }
}

static void *xmalloc(size_t b) {
    void *p = malloc(b ? b : 8);
    if (!p) abort();
    return p;
}

/* CPU oracle: C = A*B (+C) mod 2^64, ikj order. */
static void gemm_ref(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                     uint64_t *C, int acc) {
    for (size_t i = 0; i < m; i++) {
        uint64_t *c = C + i * n;
        if (!acc) memset(c, 0, n * 8);
        for (size_t p = 0; p < k; p++) {
            uint64_t a = A[i * k + p];
            const uint64_t *b = B + p * n;
            for (size_t j = 0; j < n; j++) c[j] += a * b[j];
        }
    }
}

static size_t count_diff(const uint64_t *a, const uint64_t *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

static void test_gemm_case(size_t m, size_t n, size_t k, enum fill f, int acc) {
    uint64_t *A = xmalloc(m * k * 8), *B = xmalloc(k * n * 8), *C0 = xmalloc(m * n * 8),
             *want = xmalloc(m * n * 8), *got = xmalloc(m * n * 8);
    fill(A, m * k, f);
    fill(B, k * n, f);
    fill(C0, m * n, FILL_RANDOM);
    memcpy(want, C0, m * n * 8);
    gemm_ref(m, n, k, A, B, want, acc);
    for (int algo = MPCT_CUDA_GEMM_NATIVE64; algo < MPCT_CUDA_GEMM_ALGO_COUNT; algo++) {
        /* host path */
        memcpy(got, C0, m * n * 8);
        CUDA_OK(mpct_cuda_gemm_host((mpct_cuda_gemm_algo)algo, m, n, k, A, B, got, acc));
        size_t d = count_diff(got, want, m * n);
        CHECK(d == 0, "gemm %s host %zux%zux%zu fill %d acc %d: %zu of %zu differ",
              mpct_cuda_gemm_algo_str((mpct_cuda_gemm_algo)algo), m, n, k, (int)f, acc, d, m * n);
        /* device path */
        uint64_t *dA, *dB, *dC;
        CUDA_OK(mpct_cuda_dev_alloc((void **)&dA, m * k * 8));
        CUDA_OK(mpct_cuda_dev_alloc((void **)&dB, k * n * 8));
        CUDA_OK(mpct_cuda_dev_alloc((void **)&dC, m * n * 8));
        CUDA_OK(mpct_cuda_h2d(dA, A, m * k * 8));
        CUDA_OK(mpct_cuda_h2d(dB, B, k * n * 8));
        CUDA_OK(mpct_cuda_h2d(dC, C0, m * n * 8));
        CUDA_OK(mpct_cuda_gemm_dev((mpct_cuda_gemm_algo)algo, m, n, k, dA, dB, dC, acc, NULL));
        CUDA_OK(mpct_cuda_sync());
        memset(got, 0xa5, m * n * 8);
        CUDA_OK(mpct_cuda_d2h(got, dC, m * n * 8));
        d = count_diff(got, want, m * n);
        CHECK(d == 0, "gemm %s dev %zux%zux%zu fill %d acc %d: %zu of %zu differ",
              mpct_cuda_gemm_algo_str((mpct_cuda_gemm_algo)algo), m, n, k, (int)f, acc, d, m * n);
        mpct_cuda_dev_free(dA);
        mpct_cuda_dev_free(dB);
        mpct_cuda_dev_free(dC);
    }
    /* table entry */
    const mpct_kernels *t = mpct_kernels_cuda();
    memcpy(got, C0, m * n * 8);
    t->gemm(m, n, k, A, B, got, acc);
    CHECK(count_diff(got, want, m * n) == 0, "table gemm %zux%zux%zu acc %d", m, n, k, acc);
    free(A);
    free(B);
    free(C0);
    free(want);
    free(got);
}

static void test_gemm(void) {
    static const size_t shapes[][3] = {
        {1, 1, 1},     {1, 1, 2},     {2, 3, 1},     {1, 1, 17},   {3, 5, 7},
        {16, 16, 16},  {17, 33, 65},  {64, 64, 64},  {65, 63, 129}, {100, 1, 300},
        {1, 200, 300}, {128, 96, 1000}, {3, 5, 20000}, {128, 768, 768},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int f = 0; f < 3; f++)
            test_gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], (enum fill)f, (int)(s % 2));
    test_gemm_case(7, 9, 33, FILL_RANDOM, 1);
    test_gemm_case(7, 9, 33, FILL_RANDOM, 0);
    /* k = 0: C = 0 or unchanged */
    test_gemm_case(4, 5, 0, FILL_RANDOM, 0);
    test_gemm_case(4, 5, 0, FILL_RANDOM, 1);
    /* Force small k-chunks so both limb variants run their multi-chunk path
     * (limb16's exact chunk is 2^20, too large to test directly). */
    setenv("MPCT_CUDA_KCHUNK", "48", 1);
    test_gemm_case(5, 7, 200, FILL_RANDOM, 0);
    test_gemm_case(5, 7, 200, FILL_EDGE, 1);
    test_gemm_case(33, 17, 97, FILL_HIGH, 0);
    unsetenv("MPCT_CUDA_KCHUNK");
}

static void ew_ref(mpct_kop op, size_t n, const uint64_t *a0, const uint64_t *a1,
                   const uint64_t *b0, const uint64_t *b1, const uint64_t *z, uint64_t *out) {
    for (size_t i = 0; i < n; i++) {
        switch (op) {
        case MPCT_KOP_ADD: out[i] = a0[i] + b0[i]; break;
        case MPCT_KOP_SUB: out[i] = a0[i] - b0[i]; break;
        case MPCT_KOP_MUL: out[i] = a0[i] * b0[i]; break;
        case MPCT_KOP_XOR: out[i] = a0[i] ^ b0[i]; break;
        case MPCT_KOP_MUL_CROSS: out[i] = a0[i] * b0[i] + a0[i] * b1[i] + a1[i] * b0[i] + z[i]; break;
        case MPCT_KOP_AND_CROSS:
            out[i] = (a0[i] & b0[i]) ^ (a0[i] & b1[i]) ^ (a1[i] & b0[i]) ^ z[i];
            break;
        default: abort();
        }
    }
}

static void test_elementwise(void) {
    const mpct_kernels *t = mpct_kernels_cuda();
    static const size_t sizes[] = {1, 7, 1000, 128 * 3072, 3 * (1u << 20) + 17};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint64_t *x[5], *want = xmalloc(n * 8), *got = xmalloc(n * 8);
        for (int j = 0; j < 5; j++) {
            x[j] = xmalloc(n * 8);
            fill(x[j], n, si % 2 ? FILL_EDGE : FILL_RANDOM);
        }
        for (int op = MPCT_KOP_ADD; op <= MPCT_KOP_AND_CROSS; op++) { /* the elementwise ring entries */
            CHECK(t->supports_op((mpct_kop)op), "supports_op(%d)", op);
            ew_ref((mpct_kop)op, n, x[0], x[1], x[2], x[3], x[4], want);
            memset(got, 0xa5, n * 8);
            switch (op) {
            case MPCT_KOP_ADD: t->add(n, x[0], x[2], got); break;
            case MPCT_KOP_SUB: t->sub(n, x[0], x[2], got); break;
            case MPCT_KOP_MUL: t->mul(n, x[0], x[2], got); break;
            case MPCT_KOP_XOR: t->xor_(n, x[0], x[2], got); break;
            case MPCT_KOP_MUL_CROSS: t->mul_cross(n, x[0], x[1], x[2], x[3], x[4], got); break;
            case MPCT_KOP_AND_CROSS: t->and_cross(n, x[0], x[1], x[2], x[3], x[4], got); break;
            default: continue;
            }
            size_t d = count_diff(got, want, n);
            CHECK(d == 0, "elementwise op %d n %zu: %zu differ", op, n, d);
        }
        /* in place: out aliases a */
        ew_ref(MPCT_KOP_ADD, n, x[0], NULL, x[2], NULL, NULL, want);
        memcpy(got, x[0], n * 8);
        t->add(n, got, x[2], got);
        CHECK(count_diff(got, want, n) == 0, "in-place add n %zu", n);
        for (int j = 0; j < 5; j++) free(x[j]);
        free(want);
        free(got);
    }
    /* n = 0 must not touch anything */
    uint64_t one = 5;
    t->add(0, &one, &one, &one);
    CHECK(one == 5, "n = 0 wrote");
}

static void test_trunc(void) {
    size_t n = 100003;
    uint64_t *a = xmalloc(n * 8), *got = xmalloc(n * 8), *da, *dout;
    fill(a, n, FILL_RANDOM);
    for (size_t i = 0; i < 16; i++) a[i] = (i % 2) ? (uint64_t)-(int64_t)i : i; /* small +- */
    CUDA_OK(mpct_cuda_dev_alloc((void **)&da, n * 8));
    CUDA_OK(mpct_cuda_dev_alloc((void **)&dout, n * 8));
    CUDA_OK(mpct_cuda_h2d(da, a, n * 8));
    for (unsigned d = 0; d < 64; d++) {
        CUDA_OK(mpct_cuda_trunc_dev(n, da, d, dout, NULL));
        CUDA_OK(mpct_cuda_sync());
        CUDA_OK(mpct_cuda_d2h(got, dout, n * 8));
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += got[i] != (uint64_t)((int64_t)a[i] >> d);
        CHECK(bad == 0, "trunc d %u: %zu differ", d, bad);
    }
    CHECK(mpct_cuda_trunc_dev(n, da, 64, dout, NULL) == MPCT_CUDA_ERR_ARG, "trunc d 64 accepted");
    mpct_cuda_dev_free(da);
    mpct_cuda_dev_free(dout);
    free(a);
    free(got);
}

static void test_pool(void) {
    /* Repeating a shape must not allocate again. */
    size_t m = 64, n = 64, k = 64;
    uint64_t *A = xmalloc(m * k * 8), *B = xmalloc(k * n * 8), *C = xmalloc(m * n * 8);
    fill(A, m * k, FILL_RANDOM);
    fill(B, k * n, FILL_RANDOM);
    const mpct_kernels *t = mpct_kernels_cuda();
    t->gemm(m, n, k, A, B, C, 0);
    mpct_cuda_pool_stats s0 = mpct_cuda_pool_stats_get();
    for (int i = 0; i < 5; i++) t->gemm(m, n, k, A, B, C, 0);
    mpct_cuda_pool_stats s1 = mpct_cuda_pool_stats_get();
    CHECK(s1.dev_grows == s0.dev_grows && s1.pinned_grows == s0.pinned_grows,
          "pool grew on a repeated shape (%zu -> %zu device grows)", s0.dev_grows, s1.dev_grows);
    free(A);
    free(B);
    free(C);
}

int main(void) {
    const mpct_kernels *t = mpct_kernels_cuda();
    if (!t) {
        printf("test_cuda_kernels: SKIP: no CUDA device (%s)\n", mpct_cuda_error_msg());
        return 77;
    }
    printf("device: %s\n", mpct_cuda_device_name());
    CHECK(strcmp(t->name, "cuda") == 0, "table name %s", t->name);
    test_gemm();
    test_elementwise();
    test_trunc();
    test_pool();
    mpct_cuda_shutdown();
    printf("test_cuda_kernels: auto gemm = %s\n", mpct_cuda_gemm_algo_str(mpct_cuda_gemm_auto()));
    return mpct_check_done("test_cuda_kernels");
}
