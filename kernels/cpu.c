/*
 * cpu.c — the fast CPU backend ("cpu"): blocked, register-tiled ring GEMM over
 * Z_2^64 and elementwise entries, same results as "ref" bit for bit.
 *
 * GEMM (C = A B or C += A B, row-major, wrap-around mod 2^64), Goto/BLIS
 * style: for each NC-wide column block and KC-deep slice, B is packed into
 * NR-wide micro-panels (L1-resident), A into MR-high micro-panels (the MC x
 * KC block stays in L2), and a micro-kernel keeps an MR x NR tile of C in
 * registers across the KC loop. Packing pads with zeros, so edge tiles run
 * the same micro-kernel into a stack tile that is then copied/added.
 *
 * Micro-kernels (picked once at run time, see cpu-impl.h):
 *   scalar  MR=4  NR=8   plain C (gcc vectorises what it can); any CPU.
 *   avx2    MR=2  NR=12  a*b mod 2^64 = lo(a)lo(b) + ((lo(a)hi(b) + hi(a)lo(b)) << 32).
 *           Per k step and 4 lanes: one vpmuludq (full 64-bit lo*lo, added
 *           with vpaddq) and one vpmulld of B by a broadcast of a with its
 *           32-bit halves swapped, giving [lo(b)hi(a), hi(b)lo(a)] mod 2^32,
 *           added with vpaddd. Only the cross sum mod 2^32 survives the
 *           << 32, so the two 32-bit cross accumulators are summed and shifted
 *           once per tile: 2 multiplies + 2 adds per 4 multiply-adds. The
 *           packed A holds a and rot32(a) side by side. The k loop is inline
 *           asm (16 ymm registers exactly; gcc 12 adds a copy per accumulator).
 *   avx512  MR=8  NR=16  native 64-bit vpmullq (AVX-512DQ), zmm, broadcast a.
 * Invariants: k == 0 gives C = 0 (accumulate == 0) or leaves C unchanged;
 * m == 0 or n == 0 touches nothing. C must not alias A or B.
 *
 * Threads (OpenMP): GEMM splits the columns of C (in NR units) between
 * threads, or the rows when C is too narrow; each thread packs its own
 * panels. Elementwise entries split n above EW_PAR_MIN. Packed copies of
 * A and B (share data) are wiped before they are freed.
 */
#include "cpu-impl.h"
#include "cpu-local.h"
#include "mpct_kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CPU_X86 1
#include <immintrin.h>
#else
#define CPU_X86 0
#endif

#define GEMM_MC 128   /* rows of A per packed block (multiple of every MR) */
#define GEMM_NC 768   /* columns of B per packed block */
#define GEMM_MAX_MR 8
#define GEMM_MAX_NR 16
#define GEMM_PAR_MIN ((size_t)1 << 21) /* m*n*k below this: one thread */
#define EW_PAR_MIN ((size_t)1 << 16)   /* elements below this: one thread */

static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;
static void wipe(void *p, size_t len)
{
    if (p && len)
        wipe_memset(p, 0, len);
}

/* ------------------------------------------------------------------ ISA */

static int isa_current = -1;

const char *mpct_kernels_cpu_isa_str(mpct_cpu_isa isa)
{
    switch (isa) {
    case MPCT_CPU_ISA_SCALAR: return "scalar";
    case MPCT_CPU_ISA_AVX2: return "avx2";
    case MPCT_CPU_ISA_AVX512: return "avx512";
    default: return "?";
    }
}

int mpct_kernels_cpu_isa_supported(mpct_cpu_isa isa)
{
    switch (isa) {
    case MPCT_CPU_ISA_SCALAR: return 1;
#if CPU_X86
    case MPCT_CPU_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    case MPCT_CPU_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
#endif
    default: return 0;
    }
}

mpct_cpu_isa mpct_kernels_cpu_isa(void)
{
    int v = __atomic_load_n(&isa_current, __ATOMIC_RELAXED);
    if (v >= 0)
        return (mpct_cpu_isa)v;
    v = MPCT_CPU_ISA_SCALAR;
    for (int i = MPCT_CPU_ISA_COUNT - 1; i > 0; i--)
        if (mpct_kernels_cpu_isa_supported((mpct_cpu_isa)i)) {
            v = i;
            break;
        }
    const char *env = getenv("MPCT_CPU_ISA");
    if (env && *env)
        for (int i = 0; i < MPCT_CPU_ISA_COUNT; i++)
            if (!strcmp(env, mpct_kernels_cpu_isa_str((mpct_cpu_isa)i)) &&
                mpct_kernels_cpu_isa_supported((mpct_cpu_isa)i))
                v = i;
    __atomic_store_n(&isa_current, v, __ATOMIC_RELAXED);
    return (mpct_cpu_isa)v;
}

int mpct_kernels_cpu_isa_set(mpct_cpu_isa isa)
{
    if (isa < 0 || isa >= MPCT_CPU_ISA_COUNT || !mpct_kernels_cpu_isa_supported(isa))
        return 0;
    __atomic_store_n(&isa_current, (int)isa, __ATOMIC_RELAXED);
    return 1;
}

/* -------------------------------------------------------------- threads */

static int threads_set = 0, threads_default = 0;

void mpct_kernels_cpu_threads_set(int nthreads)
{
    __atomic_store_n(&threads_set, nthreads > 0 ? nthreads : 0, __ATOMIC_RELAXED);
}

int mpct_kernels_cpu_threads(void)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
    int t = __atomic_load_n(&threads_set, __ATOMIC_RELAXED);
    if (t > 0)
        return t;
    t = __atomic_load_n(&threads_default, __ATOMIC_RELAXED);
    if (t > 0)
        return t;
    t = omp_get_max_threads();
    if (!getenv("OMP_NUM_THREADS")) {
        /* Several ranks on one node (3 parties on 2 cores): share the cores. */
        const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); /* Open MPI mpirun */
        if (!ls)
            ls = getenv("MPI_LOCALNRANKS"); /* MPICH hydra */
        if (!ls)
            ls = getenv("SLURM_STEP_TASKS_PER_NODE"); /* srun: "3" or "3(x2)" */
        long r = ls ? strtol(ls, NULL, 10) : 0;
        if (r > 1)
            t = omp_get_num_procs() / (int)r;
    }
    if (t < 1)
        t = 1;
    __atomic_store_n(&threads_default, t, __ATOMIC_RELAXED);
    return t;
#else
    return 1;
#endif
}

/* ---------------------------------------------------- GEMM micro-kernels */

/* C[MR x NR] (=|+=) Ap-panel * Bp-panel over kc steps; ldc in elements. */
typedef void (*ukernel_fn)(size_t kc, const uint64_t *Ap, const uint64_t *Bp, uint64_t *C,
                           size_t ldc, int overwrite);

typedef struct gemm_impl {
    size_t mr, nr, kc;
    int a_rot; /* packed A also holds rot32(a) after the MR plain values */
    ukernel_fn uk;
} gemm_impl;

#define S_MR 4
#define S_NR 8
static void uk_scalar(size_t kc, const uint64_t *Ap, const uint64_t *Bp, uint64_t *C,
                      size_t ldc, int overwrite)
{
    uint64_t acc[S_MR][S_NR] = {{0}};
    for (size_t p = 0; p < kc; p++)
        for (size_t i = 0; i < S_MR; i++) {
            const uint64_t a = Ap[p * S_MR + i];
            for (size_t j = 0; j < S_NR; j++)
                acc[i][j] += a * Bp[p * S_NR + j];
        }
    for (size_t i = 0; i < S_MR; i++)
        for (size_t j = 0; j < S_NR; j++)
            C[i * ldc + j] = overwrite ? acc[i][j] : C[i * ldc + j] + acc[i][j];
}

#if CPU_X86
#define A2_MR 2
#define A2_NR 12
__attribute__((target("avx2"))) static void uk_avx2(size_t kc, const uint64_t *Ap,
                                                     const uint64_t *Bp, uint64_t *C, size_t ldc,
                                                     int overwrite)
{
    /* The k loop is written in asm: 12 accumulators + b0, b1 + broadcast +
     * product = 16 ymm registers, b2 as a memory operand. gcc spills or
     * inserts a register copy per accumulator here (~30% slower). */
    __m256i acc[12];
    const uint64_t *ap = Ap, *bp = Bp;
    size_t cnt = kc;
    __asm__ volatile(
        "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
        "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
        "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
        "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
        "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
        "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
        "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
        "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
        "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
        "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
        "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
        "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
        "test %[cnt], %[cnt]\n\t"
        "jz 2f\n\t"
        ".p2align 5\n"
        "1:\n\t"
        "vmovdqu (%[bp]), %%ymm12\n\t"
        "vmovdqu 32(%[bp]), %%ymm13\n\t"
        "vpbroadcastq (%[ap]), %%ymm14\n\t" /* a0: lo*lo */
        "vpmuludq %%ymm12, %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm0, %%ymm0\n\t"
        "vpmuludq %%ymm13, %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm1, %%ymm1\n\t"
        "vpmuludq 64(%[bp]), %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm2, %%ymm2\n\t"
        "vpbroadcastq 8(%[ap]), %%ymm14\n\t" /* a1: lo*lo */
        "vpmuludq %%ymm12, %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm3, %%ymm3\n\t"
        "vpmuludq %%ymm13, %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm4, %%ymm4\n\t"
        "vpmuludq 64(%[bp]), %%ymm14, %%ymm15\n\t"
        "vpaddq %%ymm15, %%ymm5, %%ymm5\n\t"
        "vpbroadcastq 16(%[ap]), %%ymm14\n\t" /* rot32(a0): cross, 32-bit */
        "vpmulld %%ymm12, %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm6, %%ymm6\n\t"
        "vpmulld %%ymm13, %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm7, %%ymm7\n\t"
        "vpmulld 64(%[bp]), %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm8, %%ymm8\n\t"
        "vpbroadcastq 24(%[ap]), %%ymm14\n\t" /* rot32(a1): cross, 32-bit */
        "vpmulld %%ymm12, %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm9, %%ymm9\n\t"
        "vpmulld %%ymm13, %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm10, %%ymm10\n\t"
        "vpmulld 64(%[bp]), %%ymm14, %%ymm15\n\t"
        "vpaddd %%ymm15, %%ymm11, %%ymm11\n\t"
        "add $32, %[ap]\n\t"
        "add $96, %[bp]\n\t"
        "dec %[cnt]\n\t"
        "jnz 1b\n"
        "2:\n\t"
        "vmovdqu %%ymm0, 0(%[acc])\n\t"
        "vmovdqu %%ymm1, 32(%[acc])\n\t"
        "vmovdqu %%ymm2, 64(%[acc])\n\t"
        "vmovdqu %%ymm3, 96(%[acc])\n\t"
        "vmovdqu %%ymm4, 128(%[acc])\n\t"
        "vmovdqu %%ymm5, 160(%[acc])\n\t"
        "vmovdqu %%ymm6, 192(%[acc])\n\t"
        "vmovdqu %%ymm7, 224(%[acc])\n\t"
        "vmovdqu %%ymm8, 256(%[acc])\n\t"
        "vmovdqu %%ymm9, 288(%[acc])\n\t"
        "vmovdqu %%ymm10, 320(%[acc])\n\t"
        "vmovdqu %%ymm11, 352(%[acc])\n\t"
        : [ap] "+r"(ap), [bp] "+r"(bp), [cnt] "+r"(cnt), "=m"(acc)
        : [acc] "r"(acc), "m"(*(const uint64_t(*)[])Ap), "m"(*(const uint64_t(*)[])Bp)
        : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    const __m256i l00 = acc[0], l01 = acc[1], l02 = acc[2], l10 = acc[3], l11 = acc[4], l12 = acc[5];
    const __m256i x00 = acc[6], x01 = acc[7], x02 = acc[8], x10 = acc[9], x11 = acc[10], x12 = acc[11];
    /* lolo + ((x_lo + x_hi) mod 2^32) << 32 */
#define A2_FIN(l, x) _mm256_add_epi64(l, _mm256_slli_epi64(_mm256_add_epi64(x, _mm256_srli_epi64(x, 32)), 32))
    const __m256i r[2][3] = {{A2_FIN(l00, x00), A2_FIN(l01, x01), A2_FIN(l02, x02)},
                             {A2_FIN(l10, x10), A2_FIN(l11, x11), A2_FIN(l12, x12)}};
#undef A2_FIN
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            __m256i *c = (__m256i *)(C + i * ldc + 4 * j);
            __m256i v = r[i][j];
            if (!overwrite)
                v = _mm256_add_epi64(v, _mm256_loadu_si256(c));
            _mm256_storeu_si256(c, v);
        }
}

#define A5_MR 8
#define A5_NR 16
__attribute__((target("avx512f,avx512dq"))) static void uk_avx512(size_t kc, const uint64_t *Ap,
                                                                  const uint64_t *Bp,
                                                                  uint64_t *C, size_t ldc,
                                                                  int overwrite)
{
    __m512i c0[A5_MR], c1[A5_MR];
    for (int i = 0; i < A5_MR; i++)
        c0[i] = c1[i] = _mm512_setzero_si512();
    for (size_t p = 0; p < kc; p++) {
        const __m512i b0 = _mm512_loadu_si512((const void *)(Bp + 16 * p));
        const __m512i b1 = _mm512_loadu_si512((const void *)(Bp + 16 * p + 8));
        for (int i = 0; i < A5_MR; i++) {
            const __m512i av = _mm512_set1_epi64((long long)Ap[A5_MR * p + i]);
            c0[i] = _mm512_add_epi64(c0[i], _mm512_mullo_epi64(av, b0));
            c1[i] = _mm512_add_epi64(c1[i], _mm512_mullo_epi64(av, b1));
        }
    }
    for (int i = 0; i < A5_MR; i++) {
        uint64_t *c = C + i * ldc;
        __m512i v0 = c0[i], v1 = c1[i];
        if (!overwrite) {
            v0 = _mm512_add_epi64(v0, _mm512_loadu_si512((const void *)c));
            v1 = _mm512_add_epi64(v1, _mm512_loadu_si512((const void *)(c + 8)));
        }
        _mm512_storeu_si512((void *)c, v0);
        _mm512_storeu_si512((void *)(c + 8), v1);
    }
}
#endif

static const gemm_impl gemm_impls[MPCT_CPU_ISA_COUNT] = {
    [MPCT_CPU_ISA_SCALAR] = {S_MR, S_NR, 256, 0, uk_scalar},
#if CPU_X86
    [MPCT_CPU_ISA_AVX2] = {A2_MR, A2_NR, 256, 1, uk_avx2},
    [MPCT_CPU_ISA_AVX512] = {A5_MR, A5_NR, 192, 0, uk_avx512},
#endif
};

/* ------------------------------------------------------------ GEMM driver */

static inline uint64_t rot32(uint64_t x) { return x << 32 | x >> 32; }

/* A[ic.., pc..] (mc x kc, row stride lda) into MR-high panels, zero-padded. */
static void pack_a(const gemm_impl *g, size_t mc, size_t kc, const uint64_t *A, size_t lda,
                   uint64_t *Ap)
{
    const size_t mr = g->mr, w = g->a_rot ? 2 * mr : mr;
    for (size_t ir = 0; ir < mc; ir += mr, Ap += w * kc) {
        const size_t me = mc - ir < mr ? mc - ir : mr;
        for (size_t p = 0; p < kc; p++) {
            uint64_t *dst = Ap + p * w;
            size_t i = 0;
            for (; i < me; i++)
                dst[i] = A[(ir + i) * lda + p];
            for (; i < mr; i++)
                dst[i] = 0;
            if (g->a_rot)
                for (i = 0; i < mr; i++)
                    dst[mr + i] = rot32(dst[i]);
        }
    }
}

/* B[pc.., jc..] (kc x nc, row stride ldb) into NR-wide panels, zero-padded;
 * with B1, B + B1 (the same block of B1). Row by row, so B is read
 * sequentially; full panels copy a fixed width. */
static void pack_b(const gemm_impl *g, size_t kc, size_t nc, const uint64_t *B, const uint64_t *B1, size_t ldb,
                   uint64_t *Bp)
{
    const size_t nr = g->nr, nfull = nc / nr, tail = nc - nfull * nr;
    for (size_t p = 0; p < kc; p++) {
        const uint64_t *src = B + p * ldb;
        uint64_t *dst = Bp + p * nr;
        const uint64_t *src1 = B1 ? B1 + p * ldb : NULL;
        size_t jp = 0;
        if (src1)
            for (; jp < nfull; jp++) {
                uint64_t *restrict d = dst + jp * nr * kc;
                const uint64_t *restrict x = src + jp * nr, *restrict y = src1 + jp * nr;
                for (size_t j = 0; j < nr; j++)
                    d[j] = x[j] + y[j];
            }
        else
            switch (nr) { /* constant widths let the compiler inline the copies */
            case 8:
                for (; jp < nfull; jp++)
                    memcpy(dst + jp * nr * kc, src + jp * nr, 8 * sizeof *src);
                break;
            case 12:
                for (; jp < nfull; jp++)
                    memcpy(dst + jp * nr * kc, src + jp * nr, 12 * sizeof *src);
                break;
            case 16:
                for (; jp < nfull; jp++)
                    memcpy(dst + jp * nr * kc, src + jp * nr, 16 * sizeof *src);
                break;
            default:
                for (; jp < nfull; jp++)
                    memcpy(dst + jp * nr * kc, src + jp * nr, nr * sizeof *src);
            }
        if (tail) {
            uint64_t *d = dst + nfull * nr * kc;
            size_t j = 0;
            for (; j < tail; j++)
                d[j] = src[nfull * nr + j] + (src1 ? src1[nfull * nr + j] : 0);
            for (; j < nr; j++)
                d[j] = 0;
        }
    }
}

/* Plain loop on C[m0..m1, n0..n1): the fallback when buffers cannot be had. */
static void gemm_plain(size_t m0, size_t m1, size_t n0, size_t n1, size_t n, size_t k,
                       const uint64_t *A, const uint64_t *B, const uint64_t *B1, uint64_t *C, int accumulate)
{
    for (size_t i = m0; i < m1; i++) {
        uint64_t *c = C + i * n;
        if (!accumulate)
            memset(c + n0, 0, (n1 - n0) * sizeof *c);
        for (size_t p = 0; p < k; p++) {
            const uint64_t a = A[i * k + p];
            const uint64_t *b = B + p * n, *b1 = B1 ? B1 + p * n : NULL;
            if (b1)
                for (size_t j = n0; j < n1; j++)
                    c[j] += a * (b[j] + b1[j]);
            else
                for (size_t j = n0; j < n1; j++)
                    c[j] += a * b[j];
        }
    }
}

/* C[m0..m1, n0..n1) (=|+=) A[m0..m1, :] B[:, n0..n1) (B + B1 with B1); k > 0. */
static void gemm_block(const gemm_impl *g, size_t m0, size_t m1, size_t n0, size_t n1, size_t n,
                       size_t k, const uint64_t *A, const uint64_t *B, const uint64_t *B1, uint64_t *C,
                       int accumulate)
{
    if (m0 >= m1 || n0 >= n1)
        return;
    const size_t mr = g->mr, nr = g->nr, KC = g->kc;
    const size_t mcap = m1 - m0 < GEMM_MC ? m1 - m0 : GEMM_MC;
    const size_t ncap = n1 - n0 < GEMM_NC ? n1 - n0 : GEMM_NC;
    const size_t kcap = k < KC ? k : KC;
    const size_t abytes = ((mcap + mr - 1) / mr) * mr * kcap * (g->a_rot ? 2 : 1) * sizeof(uint64_t);
    const size_t bbytes = ((ncap + nr - 1) / nr) * nr * kcap * sizeof(uint64_t);
    uint64_t *Ap = aligned_alloc(64, (abytes + 63) & ~(size_t)63);
    uint64_t *Bp = aligned_alloc(64, (bbytes + 63) & ~(size_t)63);
    if (!Ap || !Bp) {
        free(Ap);
        free(Bp);
        gemm_plain(m0, m1, n0, n1, n, k, A, B, B1, C, accumulate);
        return;
    }
    uint64_t tile[GEMM_MAX_MR * GEMM_MAX_NR];
    const size_t aw = g->a_rot ? 2 * mr : mr;
    for (size_t jc = n0; jc < n1; jc += GEMM_NC) {
        const size_t nc = n1 - jc < GEMM_NC ? n1 - jc : GEMM_NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            const int overwrite = !accumulate && pc == 0;
            pack_b(g, kc, nc, B + pc * n + jc, B1 ? B1 + pc * n + jc : NULL, n, Bp);
            for (size_t ic = m0; ic < m1; ic += GEMM_MC) {
                const size_t mc = m1 - ic < GEMM_MC ? m1 - ic : GEMM_MC;
                pack_a(g, mc, kc, A + ic * k + pc, k, Ap);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    const size_t ne = nc - jr < nr ? nc - jr : nr;
                    const uint64_t *bp = Bp + (jr / nr) * nr * kc;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        const size_t me = mc - ir < mr ? mc - ir : mr;
                        const uint64_t *ap = Ap + (ir / mr) * aw * kc;
                        uint64_t *c = C + (ic + ir) * n + jc + jr;
                        if (me == mr && ne == nr) {
                            g->uk(kc, ap, bp, c, n, overwrite);
                            continue;
                        }
                        g->uk(kc, ap, bp, tile, nr, 1);
                        for (size_t i = 0; i < me; i++)
                            for (size_t j = 0; j < ne; j++)
                                c[i * n + j] = overwrite ? tile[i * nr + j]
                                                         : c[i * n + j] + tile[i * nr + j];
                    }
                }
            }
        }
    }
    wipe(tile, sizeof tile);
    wipe(Ap, abytes);
    wipe(Bp, bbytes);
    free(Ap);
    free(Bp);
}

/* Range [lo, hi) of part t of T when splitting `units` units of size `u` over
 * `total` elements. */
static void split_range(size_t total, size_t u, int t, int T, size_t *lo, size_t *hi)
{
    const size_t units = (total + u - 1) / u;
    const size_t a = units * (size_t)t / (size_t)T, b = units * (size_t)(t + 1) / (size_t)T;
    *lo = a * u < total ? a * u : total;
    *hi = b * u < total ? b * u : total;
}

/* C (=|+=) A (B + B1); B1 NULL: A B. */
static void cpu_gemm_bsum(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B, const uint64_t *B1,
                          uint64_t *C, int accumulate)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (!accumulate)
            memset(C, 0, m * n * sizeof *C);
        return;
    }
    const gemm_impl *g = &gemm_impls[mpct_kernels_cpu_isa()];
    int T = m * n * k < GEMM_PAR_MIN ? 1 : mpct_kernels_cpu_threads();
    const size_t nunits = (n + g->nr - 1) / g->nr, munits = (m + g->mr - 1) / g->mr;
    const int by_cols = nunits >= (size_t)T || nunits >= munits;
    if (T > 1 && (by_cols ? nunits : munits) < (size_t)T)
        T = (int)(by_cols ? nunits : munits);
    if (T <= 1) {
        gemm_block(g, 0, m, 0, n, n, k, A, B, B1, C, accumulate);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t lo, hi;
        if (by_cols) {
            split_range(n, g->nr, t, nt, &lo, &hi);
            gemm_block(g, 0, m, lo, hi, n, k, A, B, B1, C, accumulate);
        } else {
            split_range(m, g->mr, t, nt, &lo, &hi);
            gemm_block(g, lo, hi, 0, n, n, k, A, B, B1, C, accumulate);
        }
    }
#endif
}

static void cpu_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B, uint64_t *C,
                     int accumulate)
{
    cpu_gemm_bsum(m, n, k, A, B, NULL, C, accumulate);
}

/* ------------------------------------------------------- GEMM mod 2^32 */

/* C = A B mod 2^32 (A's low halves). No packing: B's rows are 32-bit and a
 * micro-panel of G32_NR columns is one contiguous run per row, read at
 * stride n; A's MR rows are read at stride k. The KC slice keeps the
 * MR x KC words of A and the KC x NR words of B in L1/L2 while the tile's
 * MR x NR sums stay in registers (gcc vectorises the j loop: vpmulld on 16
 * lanes with AVX-512, 8 with AVX2). Measured on the embedding shape
 * (`bench_gemm --reps 5 --shape 128x30522x384`, Zen 4, 1 thread): 41-44 ms
 * with AVX-512 and 55-67 ms with AVX2, against 74-75 and 155-159 ms for the
 * 64-bit GEMM (34-36 against 20 G multiply-adds/s), two runs. C gets
 * 64-bit words, so callers need no widening pass. Edge tiles take a plain
 * loop. */
#define G32_MR 8
#define G32_NR 32
#define G32_KC 512

typedef void (*uk32_fn)(size_t kc, const uint64_t *A, size_t lda, const uint32_t *B, size_t ldb, uint64_t *C,
                        size_t ldc, int accumulate);

#define UK32_DEFINE(ATTR, SUF)                                                                          \
    ATTR static void uk32_##SUF(size_t kc, const uint64_t *A, size_t lda, const uint32_t *B, size_t ldb, \
                                uint64_t *C, size_t ldc, int accumulate)                                \
    {                                                                                                   \
        uint32_t acc[G32_MR][G32_NR];                                                                   \
        memset(acc, 0, sizeof acc);                                                                     \
        for (size_t p = 0; p < kc; p++) {                                                               \
            const uint32_t *b = B + p * ldb;                                                            \
            for (int i = 0; i < G32_MR; i++) {                                                          \
                const uint32_t a = (uint32_t)A[i * lda + p];                                            \
                for (int j = 0; j < G32_NR; j++)                                                        \
                    acc[i][j] += a * b[j];                                                          \
            }                                                                                           \
        }                                                                                               \
        for (int i = 0; i < G32_MR; i++)                                                                \
            for (int j = 0; j < G32_NR; j++)                                                            \
                C[i * ldc + j] = (uint32_t)(accumulate ? (uint32_t)C[i * ldc + j] + acc[i][j] : acc[i][j]); \
    }

UK32_DEFINE(, scalar)
#if CPU_X86
UK32_DEFINE(__attribute__((target("avx2"))), avx2)
UK32_DEFINE(__attribute__((target("avx512f,avx512vl"))), avx512)
static const uk32_fn uk32_impls[MPCT_CPU_ISA_COUNT] = {uk32_scalar, uk32_avx2, uk32_avx512};
#else
static const uk32_fn uk32_impls[MPCT_CPU_ISA_COUNT] = {uk32_scalar};
#endif

/* Columns [n0, n1) of C = A B mod 2^32. */
static void gemm32_cols(uk32_fn uk, size_t m, size_t n, size_t k, size_t n0, size_t n1, const uint64_t *A,
                        const uint32_t *B, uint64_t *C)
{
    const size_t mfull = m - m % G32_MR;
    for (size_t pc = 0; pc < k; pc += G32_KC) {
        const size_t kc = k - pc < G32_KC ? k - pc : G32_KC;
        const int acc = pc > 0;
        size_t jr = n0;
        for (; jr + G32_NR <= n1; jr += G32_NR)
            for (size_t ir = 0; ir < mfull; ir += G32_MR)
                uk(kc, A + ir * k + pc, k, B + pc * n + jr, n, C + ir * n + jr, n, acc);
        /* edges: the last rows (all columns of the range), the last columns */
        for (size_t i = 0; i < m; i++) {
            const size_t j0 = i < mfull ? jr : n0;
            uint64_t *c = C + i * n;
            if (!acc)
                for (size_t j = j0; j < n1; j++)
                    c[j] = 0;
            for (size_t p = pc; p < pc + kc; p++) {
                const uint32_t a = (uint32_t)A[i * k + p];
                const uint32_t *b = B + p * n;
                for (size_t j = j0; j < n1; j++)
                    c[j] = (uint32_t)(c[j] + a * b[j]);
            }
        }
    }
}

static void cpu_gemm32(size_t m, size_t n, size_t k, const uint64_t *A, const uint32_t *B, uint64_t *C)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        memset(C, 0, m * n * sizeof *C);
        return;
    }
    const uk32_fn uk = uk32_impls[mpct_kernels_cpu_isa()];
    int T = m * n * k < GEMM_PAR_MIN ? 1 : mpct_kernels_cpu_threads();
    const size_t nunits = (n + G32_NR - 1) / G32_NR;
    if (T > 1 && nunits < (size_t)T)
        T = (int)nunits;
    if (T <= 1) {
        gemm32_cols(uk, m, n, k, 0, n, A, B, C);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
    {
        size_t lo, hi;
        split_range(n, G32_NR, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        if (lo < hi)
            gemm32_cols(uk, m, n, k, lo, hi, A, B, C);
    }
#endif
}

/* ----------------------------------------------------------- elementwise */

typedef void (*ew2_fn)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
typedef void (*ew5_fn)(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                       const uint64_t *b1, const uint64_t *z, uint64_t *out);

/* One set of loops per ISA; gcc vectorises each for its target. Outputs may
 * alias inputs element for element (out == a), so no restrict. */
#define EW_DEFINE(ATTR, SUF)                                                                     \
    ATTR static void add_##SUF(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)   \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = a[i] + b[i];                                                                \
    }                                                                                            \
    ATTR static void sub_##SUF(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)   \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = a[i] - b[i];                                                                \
    }                                                                                            \
    ATTR static void mul_##SUF(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)   \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = a[i] * b[i];                                                                \
    }                                                                                            \
    ATTR static void xor_##SUF(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)   \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = a[i] ^ b[i];                                                                \
    }                                                                                            \
    ATTR static void mul_cross_##SUF(size_t n, const uint64_t *a0, const uint64_t *a1,          \
                                     const uint64_t *b0, const uint64_t *b1, const uint64_t *z, \
                                     uint64_t *out)                                              \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = a0[i] * (b0[i] + b1[i]) + a1[i] * b0[i] + z[i];                             \
    }                                                                                            \
    ATTR static void and_cross_##SUF(size_t n, const uint64_t *a0, const uint64_t *a1,          \
                                     const uint64_t *b0, const uint64_t *b1, const uint64_t *z, \
                                     uint64_t *out)                                              \
    {                                                                                            \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = (a0[i] & (b0[i] ^ b1[i])) ^ (a1[i] & b0[i]) ^ z[i];                         \
    }

EW_DEFINE(, scalar)
#if CPU_X86
EW_DEFINE(__attribute__((target("avx2"))), avx2)
EW_DEFINE(__attribute__((target("avx512f,avx512dq,avx512vl"))), avx512)
#define EW_TABLE(name) {name##_scalar, name##_avx2, name##_avx512}
#else
#define EW_TABLE(name) {name##_scalar}
#endif

static const ew2_fn ew_add[MPCT_CPU_ISA_COUNT] = EW_TABLE(add);
static const ew2_fn ew_sub[MPCT_CPU_ISA_COUNT] = EW_TABLE(sub);
static const ew2_fn ew_mul[MPCT_CPU_ISA_COUNT] = EW_TABLE(mul);
static const ew2_fn ew_xor[MPCT_CPU_ISA_COUNT] = EW_TABLE(xor);
static const ew5_fn ew_mul_cross[MPCT_CPU_ISA_COUNT] = EW_TABLE(mul_cross);
static const ew5_fn ew_and_cross[MPCT_CPU_ISA_COUNT] = EW_TABLE(and_cross);

static int ew_threads(size_t n) { return n < EW_PAR_MIN ? 1 : mpct_kernels_cpu_threads(); }

static void run2(const ew2_fn *tab, size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    const ew2_fn f = tab[mpct_kernels_cpu_isa()];
    const int T = ew_threads(n);
    if (T <= 1) {
        f(n, a, b, out);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
    {
        size_t lo, hi;
        split_range(n, 8, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        f(hi - lo, a + lo, b + lo, out + lo);
    }
#endif
}

static void run5(const ew5_fn *tab, size_t n, const uint64_t *a0, const uint64_t *a1,
                 const uint64_t *b0, const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    const ew5_fn f = tab[mpct_kernels_cpu_isa()];
    const int T = ew_threads(n);
    if (T <= 1) {
        f(n, a0, a1, b0, b1, z, out);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(T)
    {
        size_t lo, hi;
        split_range(n, 8, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        f(hi - lo, a0 + lo, a1 + lo, b0 + lo, b1 + lo, z + lo, out + lo);
    }
#endif
}

static void cpu_add(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    run2(ew_add, n, a, b, out);
}
static void cpu_sub(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    run2(ew_sub, n, a, b, out);
}
static void cpu_mul(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    run2(ew_mul, n, a, b, out);
}
static void cpu_xor(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    run2(ew_xor, n, a, b, out);
}
static void cpu_mul_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    run5(ew_mul_cross, n, a0, a1, b0, b1, z, out);
}
static void cpu_and_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    run5(ew_and_cross, n, a0, a1, b0, b1, z, out);
}

static int cpu_supports(mpct_kop op) { return op >= 0 && op < MPCT_KOP_COUNT; }

static const mpct_kernels cpu_backend = {
    .name = "cpu",
    .gemm = cpu_gemm,
    .gemm_bsum = cpu_gemm_bsum,
    .gemm32 = cpu_gemm32,
    .add = cpu_add,
    .sub = cpu_sub,
    .mul = cpu_mul,
    .mul_cross = cpu_mul_cross,
    .xor_ = cpu_xor,
    .and_cross = cpu_and_cross,
    .gather = mpct_cpu_gather, /* the local steps: cpu_local.c */
    .low32 = mpct_cpu_low32,
    .bit_pack = mpct_cpu_bit_pack,
    .bit_unpack = mpct_cpu_bit_unpack,
    .sar_sum = mpct_cpu_sar_sum,
    .sar_neg = mpct_cpu_sar_neg,
    .add3 = mpct_cpu_add3,
    .trunc_split = mpct_cpu_trunc_split,
    .trunc_bm = mpct_cpu_trunc_bm,
    .shl_add = mpct_cpu_shl_add,
    .trunc_mb = mpct_cpu_trunc_mb,
    .mul_scalar = mpct_cpu_mul_scalar,
    .rope = mpct_cpu_rope,
    /* the layout steps: cpu_layout.c */
    .add_rows = mpct_cpu_add_rows, .copy_rows = mpct_cpu_copy_rows, .sum_rows = mpct_cpu_sum_rows,
    .bcast_rows = mpct_cpu_bcast_rows, .head_split = mpct_cpu_head_split, .head_merge = mpct_cpu_head_merge,
    .wire_pack = mpct_cpu_wire_pack, .wire_unpack = mpct_cpu_wire_unpack,
    .supports_op = cpu_supports,
};

const mpct_kernels *mpct_kernels_cpu(void) { return &cpu_backend; }
