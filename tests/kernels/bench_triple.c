/*
 * bench_triple.c — the baseline of bench_gemm: the plain i-k-j triple loop
 * (the same loop as kernels/ref.c), compiled in its own file so CMake can
 * give it -O3 -march=native (the baseline) without touching the
 * library. bench_triple_avx2.c builds the same loop again with
 * -march=native -mno-avx512f (the baseline an AVX2-only machine would get).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef BENCH_TRIPLE_NAME
#define BENCH_TRIPLE_NAME bench_triple_gemm
#endif

void BENCH_TRIPLE_NAME(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                       uint64_t *C);

void BENCH_TRIPLE_NAME(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                       uint64_t *C)
{
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
