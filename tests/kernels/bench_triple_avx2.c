/*
 * bench_triple_avx2.c — bench_triple.c's loop as bench_triple_avx2_gemm, built
 * with -march=native -mno-avx512f: the triple-loop baseline without AVX-512.
 */
#define BENCH_TRIPLE_NAME bench_triple_avx2_gemm
#include "bench_triple.c"
