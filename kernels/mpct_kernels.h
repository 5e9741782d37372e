/*
 * mpct_kernels.h — local ring arithmetic over Z_2^64 behind a backend table.
 *
 * Every backend implements the same entries with the same semantics as the
 * plain C reference ("ref"); tests compare each backend with "ref" exactly.
 * All pointers are host pointers; a device backend stages data itself.
 * Matrices are row-major and dense. Arithmetic wraps mod 2^64.
 *
 * Kernels never include mpi.h and never allocate secrets they do not wipe.
 */
#ifndef MPCT_KERNELS_H
#define MPCT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum mpct_kop {
    MPCT_KOP_GEMM = 0,
    MPCT_KOP_ADD,
    MPCT_KOP_SUB,
    MPCT_KOP_MUL,
    MPCT_KOP_MUL_CROSS,
    MPCT_KOP_XOR,
    MPCT_KOP_AND_CROSS,
    MPCT_KOP_COUNT
} mpct_kop;

typedef struct mpct_kernels {
    const char *name;
    /* C[m x n] = A[m x k] * B[k x n]            (accumulate == 0)
     * C[m x n] += A[m x k] * B[k x n]           (accumulate != 0) */
    void (*gemm)(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                 uint64_t *C, int accumulate);
    /* C (=|+=) A (B0 + B1), the sum formed while B is packed: no B0 + B1
     * buffer and no pass of its own. Optional: NULL where a backend lacks
     * it (callers then add and gemm). */
    void (*gemm_bsum)(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B0, const uint64_t *B1,
                      uint64_t *C, int accumulate);
    /* C[m x n] = A[m x k] * B[k x n] mod 2^32: A's words are read through
     * their low 32 bits, B is 32-bit words, C gets 64-bit words holding the
     * result zero-extended (the low halves of gemm's C). For products whose
     * value is known to fit 32 bits (the caller lifts them back to Z_2^64),
     * at twice the 64-bit GEMM's lanes. Optional: NULL where a backend
     * lacks it (callers then use gemm). */
    void (*gemm32)(size_t m, size_t n, size_t k, const uint64_t *A, const uint32_t *B, uint64_t *C);
    void (*add)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    void (*sub)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    void (*mul)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    /* Replicated-share cross term: out = a0*b0 + a0*b1 + a1*b0 + z. */
    void (*mul_cross)(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                      const uint64_t *b1, const uint64_t *z, uint64_t *out);
    void (*xor_)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    /* Boolean cross term: out = (a0&b0) ^ (a0&b1) ^ (a1&b0) ^ z. */
    void (*and_cross)(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                      const uint64_t *b1, const uint64_t *z, uint64_t *out);
    /* Nonzero when the backend implements op itself (else callers use ref). */
    int (*supports_op)(mpct_kop op);
} mpct_kernels;

/* "ref" (plain C, always present), "cpu" (fastest CPU backend built),
 * "cuda" (when built with MPCT_CUDA and a GPU is present). NULL if absent. */
const mpct_kernels *mpct_kernels_get(const char *name);
const mpct_kernels *mpct_kernels_ref(void);
/* Names of the registered backends, NULL-terminated. */
const char *const *mpct_kernels_list(void);

#endif
