/*
 * ref.c — the plain C reference backend ("ref"): the semantics every other
 * backend must reproduce exactly. Simple loops; gcc -O3 vectorises them.
 */
#include "mpct_kernels.h"

#include <string.h>

static void ref_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                     uint64_t *C, int accumulate)
{
    if (!accumulate)
        memset(C, 0, m * n * sizeof *C);
    for (size_t i = 0; i < m; i++) {
        uint64_t *c = C + i * n;
        for (size_t p = 0; p < k; p++) {
            const uint64_t a = A[i * k + p];
            const uint64_t *b = B + p * n;
            for (size_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}

static void ref_add(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static void ref_sub(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

static void ref_mul(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

static void ref_mul_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a0[i] * (b0[i] + b1[i]) + a1[i] * b0[i] + z[i];
}

static void ref_xor(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] ^ b[i];
}

static void ref_and_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (a0[i] & (b0[i] ^ b1[i])) ^ (a1[i] & b0[i]) ^ z[i];
}

static int ref_supports(mpct_kop op) { return op >= 0 && op < MPCT_KOP_COUNT; }

static const mpct_kernels ref_backend = {
    .name = "ref",
    .gemm = ref_gemm,
    .add = ref_add,
    .sub = ref_sub,
    .mul = ref_mul,
    .mul_cross = ref_mul_cross,
    .xor_ = ref_xor,
    .and_cross = ref_and_cross,
    .supports_op = ref_supports,
};

const mpct_kernels *mpct_kernels_ref(void) { return &ref_backend; }
