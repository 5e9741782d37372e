/*
 * bench_gemm.c — ring GEMM throughput over Z_2^64 on the BERT-base shapes
 * (m=128; 128x768x768, 128x768x3072, 128x3072x768), not a test.
 *
 * Methods, timed round-robin (one rep of each in turn, so machine load hits
 * all alike), median of --reps runs after one warm-up:
 *   triple      the plain i-k-j loop (= ref.c), built with -O3 -march=native
 *   triple-noavx512  the same, -march=native -mno-avx512f (an AVX2-only build)
 *   ref         the "ref" backend as the library builds it (generic x86-64)
 *   cpu-ISA-tT  the "cpu" backend forced to ISA with T OpenMP threads
 *   dgemm-tT    OpenBLAS cblas_dgemm (double, context only) when built with it
 *   add+gemm-t1 / bsum-t1  A (B0 + B1) with B = B0 + B1 split at random,
 *               the cpu backend (default ISA, 1 thread): add then gemm
 *               (matmul's owner split without gemm_bsum) against gemm_bsum,
 *               which sums while packing
 *   gemm32-ISA-t1  the cpu backend's 32-bit GEMM (mod 2^32, A's low halves,
 *               B as 32-bit words; what the embedding lookup runs before its
 *               lift to Z_2^64), checked against triple's low halves; for
 *               the embedding shape: --shape 128x30522x384
 * Every cpu result is checked against triple, exactly, before it counts.
 * Prints G multiply-adds/s (m*n*k / 1e9 / s) and ratios to triple;
 * --json FILE also writes a machine-readable report.
 *
 * usage: bench_gemm [--reps R] [--json FILE] [--shape MxKxN]...
 */
#include "cpu-impl.h"
#include "mpct_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef MPCT_BENCH_OPENBLAS
#include <cblas.h>
#endif

void bench_triple_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                       uint64_t *C);
void bench_triple_avx2_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                            uint64_t *C);

#define MAX_METHODS 16
#define MAX_SHAPES 8

typedef struct method {
    char name[32];
    int kind; /* 0 triple, 1 ref, 2 cpu, 3 dgemm, 4 triple without AVX-512, 5 add+gemm, 6 gemm_bsum */
    mpct_cpu_isa isa;
    int threads;
} method;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_s = 0x5eed;
static uint64_t rnd(void)
{
    uint64_t z = (rng_s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "bench_gemm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    int reps = 7;
    const char *json = NULL;
    size_t shapes[MAX_SHAPES][3] = {{128, 768, 768}, {128, 768, 3072}, {128, 3072, 768}};
    int nshapes = 3, user_shapes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json = argv[++i];
        } else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            size_t m, k, n;
            if (sscanf(argv[++i], "%zux%zux%zu", &m, &k, &n) != 3 || nshapes >= MAX_SHAPES) {
                fprintf(stderr, "bench_gemm: --shape wants MxKxN, got '%s'\n", argv[i]);
                return 2;
            }
            if (!user_shapes)
                nshapes = 0, user_shapes = 1;
            shapes[nshapes][0] = m, shapes[nshapes][1] = k, shapes[nshapes][2] = n;
            nshapes++;
        } else {
            fprintf(stderr, "usage: bench_gemm [--reps R] [--json FILE] [--shape MxKxN]...\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;

    method ms[MAX_METHODS];
    int nm = 0;
    ms[nm++] = (method){"triple", 0, 0, 1};
    ms[nm++] = (method){"triple-noavx512", 4, 0, 1};
    ms[nm++] = (method){"ref", 1, 0, 1};
    const mpct_cpu_isa best = mpct_kernels_cpu_isa();
    for (int isa = MPCT_CPU_ISA_AVX2; isa < MPCT_CPU_ISA_COUNT; isa++) {
        if (!mpct_kernels_cpu_isa_supported((mpct_cpu_isa)isa))
            continue;
        for (int t = 1; t <= 2; t++) {
            method *m = &ms[nm++];
            snprintf(m->name, sizeof m->name, "cpu-%s-t%d", mpct_kernels_cpu_isa_str((mpct_cpu_isa)isa), t);
            m->kind = 2, m->isa = (mpct_cpu_isa)isa, m->threads = t;
        }
    }
#ifdef MPCT_BENCH_OPENBLAS
    ms[nm++] = (method){"dgemm-t1", 3, 0, 1};
    ms[nm++] = (method){"dgemm-t2", 3, 0, 2};
#endif
    ms[nm++] = (method){"add+gemm-t1", 5, best, 1};
    ms[nm++] = (method){"bsum-t1", 6, best, 1};
    for (int isa = MPCT_CPU_ISA_AVX2; isa < MPCT_CPU_ISA_COUNT; isa++)
        if (mpct_kernels_cpu_isa_supported((mpct_cpu_isa)isa)) {
            method *m = &ms[nm++];
            snprintf(m->name, sizeof m->name, "gemm32-%s-t1", mpct_kernels_cpu_isa_str((mpct_cpu_isa)isa));
            m->kind = 7, m->isa = (mpct_cpu_isa)isa, m->threads = 1;
        }
    const mpct_kernels *ref = mpct_kernels_get("ref"), *cpu = mpct_kernels_get("cpu");

    FILE *jf = NULL;
    if (json) {
        jf = fopen(json, "w");
        if (!jf) {
            fprintf(stderr, "bench_gemm: cannot write '%s'\n", json);
            return 2;
        }
        fprintf(jf, "{\"bench\":\"gemm_z2_64\",\"reps\":%d,\"default_isa\":\"%s\",\"shapes\":[", reps,
                mpct_kernels_cpu_isa_str(best));
    }
    printf("ring GEMM over Z_2^64, G multiply-adds/s (median of %d), default cpu ISA: %s\n", reps,
           mpct_kernels_cpu_isa_str(best));
    int bad = 0;
    for (int s = 0; s < nshapes; s++) {
        const size_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        uint64_t *A = xmalloc(m * k * sizeof *A), *B = xmalloc(k * n * sizeof *B);
        uint64_t *C0 = xmalloc(m * n * sizeof *C0), *C = xmalloc(m * n * sizeof *C);
        double *Ad = xmalloc(m * k * sizeof *Ad), *Bd = xmalloc(k * n * sizeof *Bd),
               *Cd = xmalloc(m * n * sizeof *Cd);
        for (size_t i = 0; i < m * k; i++)
            A[i] = rnd(), Ad[i] = (double)(A[i] >> 40);
        for (size_t i = 0; i < k * n; i++)
            B[i] = rnd(), Bd[i] = (double)(B[i] >> 40);
        uint64_t *B0 = xmalloc(k * n * sizeof *B0), *B1 = xmalloc(k * n * sizeof *B1),
                 *Bs = xmalloc(k * n * sizeof *Bs);
        uint32_t *B32 = xmalloc(k * n * sizeof *B32);
        for (size_t i = 0; i < k * n; i++)
            B32[i] = (uint32_t)B[i];
        for (size_t i = 0; i < k * n; i++)
            B1[i] = rnd(), B0[i] = B[i] - B1[i];
        bench_triple_gemm(m, n, k, A, B, C0);
        double t[MAX_METHODS][64];
        const int R = reps > 64 ? 64 : reps;
        for (int r = -1; r < R; r++) /* r = -1: warm-up, checked */
            for (int q = 0; q < nm; q++) {
                const method *me = &ms[q];
                if (me->kind == 2 || me->kind >= 5) { /* 5, 6, 7 */
                    mpct_kernels_cpu_isa_set(me->isa);
                    mpct_kernels_cpu_threads_set(me->threads);
                }
                memset(C, 0xa5, m * n * sizeof *C);
                const double t0 = now();
                switch (me->kind) {
                case 0: bench_triple_gemm(m, n, k, A, B, C); break;
                case 4: bench_triple_avx2_gemm(m, n, k, A, B, C); break;
                case 1: ref->gemm(m, n, k, A, B, C, 0); break;
                case 2: cpu->gemm(m, n, k, A, B, C, 0); break;
                case 5:
                    cpu->add(k * n, B0, B1, Bs);
                    cpu->gemm(m, n, k, A, Bs, C, 0);
                    break;
                case 6: cpu->gemm_bsum(m, n, k, A, B0, B1, C, 0); break;
                case 7: cpu->gemm32(m, n, k, A, B32, C); break;
#ifdef MPCT_BENCH_OPENBLAS
                case 3:
                    openblas_set_num_threads(me->threads);
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k,
                                1.0, Ad, (int)k, Bd, (int)n, 0.0, Cd, (int)n);
                    break;
#endif
                default: break;
                }
                const double dt = now() - t0;
                int differs = 0; /* gemm32: C0's low halves */
                for (size_t i = 0; r < 0 && me->kind == 7 && i < m * n; i++)
                    differs |= C[i] != (C0[i] & 0xffffffffu);
                if (r < 0 && me->kind != 3 && me->kind != 7)
                    differs = memcmp(C, C0, m * n * sizeof *C) != 0;
                if (differs) {
                    fprintf(stderr, "bench_gemm: %s differs from triple at %zux%zux%zu\n",
                            me->name, m, k, n);
                    bad = 1;
                }
                if (r >= 0)
                    t[q][r] = dt;
            }
        mpct_kernels_cpu_isa_set(best);
        mpct_kernels_cpu_threads_set(0);
        const double madds = (double)m * (double)n * (double)k;
        double base = 0;
        printf("\nshape m x k x n = %zu x %zu x %zu\n", m, k, n);
        printf("  %-16s %10s %10s %8s\n", "method", "ms", "GMAC/s", "x triple");
        if (jf)
            fprintf(jf, "%s{\"m\":%zu,\"k\":%zu,\"n\":%zu,\"methods\":[", s ? "," : "", m, k, n);
        for (int q = 0; q < nm; q++) {
            qsort(t[q], (size_t)R, sizeof(double), cmp_double);
            const double med = R % 2 ? t[q][R / 2] : 0.5 * (t[q][R / 2 - 1] + t[q][R / 2]);
            const double g = madds / med / 1e9;
            if (q == 0)
                base = g;
            printf("  %-16s %10.3f %10.2f %8.2f\n", ms[q].name, med * 1e3, g, g / base);
            if (jf)
                fprintf(jf, "%s{\"name\":\"%s\",\"median_s\":%.6e,\"min_s\":%.6e,\"gmacs\":%.4f,\"ratio\":%.4f}",
                        q ? "," : "", ms[q].name, med, t[q][0], g, g / base);
        }
        if (jf)
            fprintf(jf, "]}");
        free(A), free(B), free(B0), free(B1), free(Bs), free(C0), free(C), free(Ad), free(Bd), free(Cd), free(B32);
    }
    if (jf) {
        fprintf(jf, "],\"ok\":%s}\n", bad ? "false" : "true");
        fclose(jf);
    }
    return bad;
}
