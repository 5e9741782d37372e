/*
 * gemm.cu — ring GEMM over Z_2^64 on the GPU: C = A*B (+C), row-major.
 *
 * Variants (all exact, all checked against a CPU loop by test_cuda_kernels):
 *  NATIVE64   64x64 output tile per 256-thread block, 16-deep k tiles in
 *             shared memory, 4x4 outputs per thread in registers. Small m*n
 *             leaves SMs idle, so k is split across blocks (split-k) and the
 *             partial sums are combined with 64-bit atomicAdd, which wraps
 *             mod 2^64 and is order-independent, hence exact.
 *  LIMB8      x = sum_i d_i 256^i with balanced digits d_i in [-128, 127]
 *             (int8, as cuBLAS int8 is signed). Only pairs i + j < 8 matter
 *             mod 2^64. One int8 x int8 -> int32 tensor-core GEMM computes
 *             all diagonals S_s = sum_{i+j=s} A_i B_j at once: the A-limb
 *             matrix has 8 row blocks, block s = [0..0, A_0, ..., A_s]
 *             along k, and the B-limb matrix stacks [B_7; ...; B_0] along k.
 *             (28 of 64 limb blocks are zero: wasted tensor work, but one
 *             well-shaped launch instead of 36 small ones.) Exactness: |S_s|
 *             <= 8*kc*2^14 < 2^31 for a k-chunk kc <= 16383; longer k is
 *             split into chunks whose results are added mod 2^64.
 *             C = sum_s S_s * 2^(8s) mod 2^64 in a combine kernel.
 *  LIMB16_F64 same with 4 balanced 16-bit digits and FP64 GEMM (DMMA):
 *             |S_s| <= 4*kc*2^30 < 2^53 exactly representable for kc < 2^21.
 *
 * cuBLAS is column-major: we call it as C'(n x L*m) = X^T * Y with X the
 * B-limb matrix stored as n rows of length K (k-contiguous) and Y the A-limb
 * matrix stored as L*m rows of length K ("TN"). For int8, all dimensions
 * are padded to multiples of 16 so leading dimensions and pointers meet the
 * IMMA alignment rules; FP64 needs no padding.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>

#include "mpct_cuda-impl.h"

/* ------------------------------------------------------------------ */
/* NATIVE64                                                            */
/* ------------------------------------------------------------------ */

#define NT_BM 64
#define NT_BN 64
#define NT_BK 16

__global__ void __launch_bounds__(256)
    mpct_gemm_native_kernel(int m, int n, int k, const uint64_t *__restrict__ A,
                            const uint64_t *__restrict__ B, uint64_t *__restrict__ C, int klen,
                            int use_atomic, int accumulate) {
    __shared__ uint64_t As[NT_BK][NT_BM + 1];
    __shared__ uint64_t Bs[NT_BK][NT_BN];
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int row0 = blockIdx.y * NT_BM, col0 = blockIdx.x * NT_BN;
    const int kbeg = blockIdx.z * klen;
    const int kend = min(k, kbeg + klen);
    uint64_t acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0;

    for (int k0 = kbeg; k0 < kend; k0 += NT_BK) {
        /* A tile: 64 rows x 16 k, read along k (coalesced in 16-wide runs). */
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int r = tid / 16 + 16 * i, c = tid % 16;
            int gr = row0 + r, gk = k0 + c;
            As[c][r] = (gr < m && gk < kend) ? A[(size_t)gr * k + gk] : 0;
        }
        /* B tile: 16 k x 64 cols, read along n. */
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int r = tid / 64 + 4 * i, c = tid % 64;
            int gk = k0 + r, gc = col0 + c;
            Bs[r][c] = (gk < kend && gc < n) ? B[(size_t)gk * n + gc] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < NT_BK; kk++) {
            uint64_t a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int r = row0 + ty + 16 * i;
        if (r >= m) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int c = col0 + tx + 16 * j;
            if (c >= n) continue;
            uint64_t *p = &C[(size_t)r * n + c];
            if (use_atomic)
                atomicAdd((unsigned long long *)p, (unsigned long long)acc[i][j]);
            else
                *p = accumulate ? *p + acc[i][j] : acc[i][j];
        }
    }
}

static mpct_cuda_status gemm_native(size_t m, size_t n, size_t k, const uint64_t *dA,
                                    const uint64_t *dB, uint64_t *dC, int accumulate,
                                    cudaStream_t st) {
    int tm = (int)((m + NT_BM - 1) / NT_BM), tn = (int)((n + NT_BN - 1) / NT_BN);
    long tiles = (long)tm * tn;
    long target = 4L * (g_mpct_cuda.sm_count > 0 ? g_mpct_cuda.sm_count : 100);
    long splits = (target + tiles - 1) / tiles;
    long maxsplit = (long)((k + 63) / 64); /* at least 64 k per split */
    if (splits > maxsplit) splits = maxsplit;
    if (splits > 65535) splits = 65535;
    if (splits < 1) splits = 1;
    long klen = (long)((k + splits - 1) / splits);
    klen = (klen + NT_BK - 1) / NT_BK * NT_BK;
    splits = (long)((k + klen - 1) / klen);
    int use_atomic = splits > 1;
    if (use_atomic && !accumulate) MPCT_CU(cudaMemsetAsync(dC, 0, m * n * sizeof(uint64_t), st));
    dim3 grid((unsigned)tn, (unsigned)tm, (unsigned)splits);
    mpct_gemm_native_kernel<<<grid, 256, 0, st>>>((int)m, (int)n, (int)k, dA, dB, dC, (int)klen,
                                                  use_atomic, accumulate);
    MPCT_CU_LAUNCHED();
    return MPCT_CUDA_OK;
}

/* ------------------------------------------------------------------ */
/* Limb variants                                                       */
/* ------------------------------------------------------------------ */

/* Balanced base-2^W digits of x: x = sum_i d_i 2^(W i) mod 2^64, each
 * d_i in [-2^(W-1), 2^(W-1)). */
template <int W, int L>
__device__ __forceinline__ void limb_digits(uint64_t x, int d[L]) {
#pragma unroll
    for (int i = 0; i < L; i++) {
        int v = (int)(x & ((1u << W) - 1));
        if (v >= (1 << (W - 1))) v -= (1 << W);
        d[i] = v;
        x = (x - (uint64_t)(int64_t)v) >> W;
    }
}

/* YA[(s*mp + r) * K + p*kp + kk] = (p >= L-1-s) ? d_{s-L+1+p}(A[r][k0+kk]) : 0
 * for r < mp, kk < kp (zero outside m x kc). K = L*kp. Grid: x over kk. */
template <typename T, int W, int L>
__global__ void limb_split_a(const uint64_t *__restrict__ A, size_t m, size_t k, size_t k0,
                             size_t kc, size_t mp, size_t kp, T *__restrict__ YA) {
    size_t kk = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (kk >= kp) return;
    const size_t K = (size_t)L * kp;
    for (size_t r = blockIdx.y; r < mp; r += gridDim.y) {
        int d[L];
        uint64_t x = (r < m && kk < kc) ? A[r * k + k0 + kk] : 0;
        limb_digits<W, L>(x, d);
#pragma unroll
        for (int s = 0; s < L; s++) {
            T *row = YA + ((size_t)s * mp + r) * K;
#pragma unroll
            for (int p = 0; p < L; p++)
                row[(size_t)p * kp + kk] = (p >= L - 1 - s) ? (T)d[s - L + 1 + p] : (T)0;
        }
    }
}

/* XB[c * K + p*kp + kk] = d_{L-1-p}(B[k0+kk][c]) for c < np, kk < kp.
 * 32x32 tiles transposed through shared memory; block (32, 8). */
template <typename T, int W, int L>
__global__ void limb_split_b(const uint64_t *__restrict__ B, size_t n, size_t k0, size_t kc,
                             size_t np, size_t kp, T *__restrict__ XB) {
    __shared__ uint64_t t[32][33];
    size_t kk0 = (size_t)blockIdx.y * 32, c0 = (size_t)blockIdx.x * 32;
    for (int j = threadIdx.y; j < 32; j += 8) {
        size_t kk = kk0 + j, c = c0 + threadIdx.x;
        t[j][threadIdx.x] = (kk < kc && c < n) ? B[(k0 + kk) * n + c] : 0;
    }
    __syncthreads();
    const size_t K = (size_t)L * kp;
    for (int j = threadIdx.y; j < 32; j += 8) {
        size_t c = c0 + j, kk = kk0 + threadIdx.x;
        if (c >= np || kk >= kp) continue;
        int d[L];
        limb_digits<W, L>(t[threadIdx.x][j], d);
#pragma unroll
        for (int p = 0; p < L; p++) XB[c * K + (size_t)p * kp + kk] = (T)d[L - 1 - p];
    }
}

/* C[r][c] (+)= sum_s P[(s*mp + r)*np + c] * 2^(W s) mod 2^64. */
template <typename T, int W, int L>
__global__ void limb_combine(const T *__restrict__ P, size_t m, size_t n, size_t mp, size_t np,
                             uint64_t *__restrict__ C, int accumulate) {
    size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n) return;
    for (size_t r = blockIdx.y; r < m; r += gridDim.y) {
        uint64_t sum = 0;
#pragma unroll
        for (int s = 0; s < L; s++) {
            int64_t v = (int64_t)P[((size_t)s * mp + r) * np + c]; /* exact integer */
            sum += (uint64_t)v << (W * s);
        }
        uint64_t *p = &C[r * n + c];
        *p = accumulate ? *p + sum : sum;
    }
}

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Largest k-chunk allowed by an environment override (tests), else max. */
static size_t kchunk_limit(size_t exact_max) {
    const char *e = getenv("MPCT_CUDA_KCHUNK");
    if (e && *e) {
        long v = strtol(e, NULL, 10);
        if (v >= 16 && (size_t)v < exact_max) return (size_t)v / 16 * 16;
    }
    return exact_max;
}

template <typename T, int W, int L>
static mpct_cuda_status gemm_limb(size_t m, size_t n, size_t k, const uint64_t *dA,
                                  const uint64_t *dB, uint64_t *dC, int accumulate,
                                  cudaStream_t st) {
    const int is_int8 = sizeof(T) == 1;
    const size_t pad = is_int8 ? 16 : 1;
    /* Exactness bound on the k-chunk (see the file comment), then a memory
     * budget of ~512 MiB for the limb matrices. */
    /* (2^20 keeps the split grid under 65535 blocks in y.) */
    size_t kc_max = is_int8 ? 16368 : ((size_t)1 << 20);
    kc_max = kchunk_limit(kc_max);
    const size_t mp = round_up(m, pad), np = round_up(n, pad);
    size_t budget = (size_t)512 << 20;
    size_t per_k = (size_t)L * L * (mp + np) * sizeof(T);
    if (budget / per_k < kc_max) kc_max = budget / per_k > 16 ? budget / per_k / 16 * 16 : 16;
    size_t kc_run = k < kc_max ? k : kc_max;
    size_t kp = round_up(kc_run, pad);
    size_t K = (size_t)L * kp;
    if (np > INT_MAX || (size_t)L * mp > INT_MAX || K > INT_MAX)
        return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "gemm shape over int range");

    void *ya, *xb, *pr;
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_LIMB_A, (size_t)L * mp * K * sizeof(T), &ya));
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_LIMB_B, np * K * sizeof(T), &xb));
    typedef typename std::conditional<sizeof(T) == 1, int32_t, double>::type P;
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_PROD, (size_t)L * mp * np * sizeof(P), &pr));
    /* Scratch is shared: run after its previous user. */
    MPCT_CU(cudaStreamWaitEvent(st, g_mpct_cuda.scratch_ev, 0));
    MPCT_BLAS(cublasSetStream(g_mpct_cuda.blas, st));

    for (size_t k0 = 0; k0 < k; k0 += kc_run) {
        size_t kc = k - k0 < kc_run ? k - k0 : kc_run;
        /* kp stays fixed (padding with zeros) so the buffers keep their shape. */
        dim3 ga((unsigned)((kp + 255) / 256), (unsigned)(mp < 65535 ? mp : 65535));
        limb_split_a<T, W, L><<<ga, 256, 0, st>>>(dA, m, k, k0, kc, mp, kp, (T *)ya);
        MPCT_CU_LAUNCHED();
        dim3 gb((unsigned)((np + 31) / 32), (unsigned)((kp + 31) / 32)); /* kp <= 2^21 */
        limb_split_b<T, W, L><<<gb, dim3(32, 8), 0, st>>>(dB, n, k0, kc, np, kp, (T *)xb);
        MPCT_CU_LAUNCHED();
        if (is_int8) {
            const int32_t one = 1, zero = 0;
            MPCT_BLAS(cublasGemmEx(g_mpct_cuda.blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)np,
                                   (int)(L * mp), (int)K, &one, xb, CUDA_R_8I, (int)K, ya,
                                   CUDA_R_8I, (int)K, &zero, pr, CUDA_R_32I, (int)np,
                                   CUBLAS_COMPUTE_32I, CUBLAS_GEMM_DEFAULT));
        } else {
            const double one = 1.0, zero = 0.0;
            MPCT_BLAS(cublasDgemm(g_mpct_cuda.blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)np,
                                  (int)(L * mp), (int)K, &one, (const double *)xb, (int)K,
                                  (const double *)ya, (int)K, &zero, (double *)pr, (int)np));
        }
        dim3 gc((unsigned)((n + 255) / 256), (unsigned)(m < 65535 ? m : 65535));
        limb_combine<P, W, L><<<gc, 256, 0, st>>>((const P *)pr, m, n, mp, np, dC,
                                                  (k0 == 0) ? accumulate : 1);
        MPCT_CU_LAUNCHED();
    }
    MPCT_CU(cudaEventRecord(g_mpct_cuda.scratch_ev, st));
    return MPCT_CUDA_OK;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static const char *const algo_names[MPCT_CUDA_GEMM_ALGO_COUNT] = {"auto", "native64", "limb8",
                                                                  "limb16_f64"};

extern "C" const char *mpct_cuda_gemm_algo_str(mpct_cuda_gemm_algo a) {
    return (a >= 0 && a < MPCT_CUDA_GEMM_ALGO_COUNT) ? algo_names[a] : "?";
}

extern "C" mpct_cuda_gemm_algo mpct_cuda_gemm_auto(void) {
    const char *e = getenv("MPCT_CUDA_GEMM");
    if (e) {
        if (!strcmp(e, "native") || !strcmp(e, "native64")) return MPCT_CUDA_GEMM_NATIVE64;
        if (!strcmp(e, "limb16") || !strcmp(e, "limb16_f64")) return MPCT_CUDA_GEMM_LIMB16_F64;
        if (!strcmp(e, "limb8")) return MPCT_CUDA_GEMM_LIMB8;
    }
    return MPCT_CUDA_GEMM_LIMB8;
}

extern "C" mpct_cuda_status mpct_cuda_gemm_dev_locked(mpct_cuda_gemm_algo algo, size_t m,
                                                      size_t n, size_t k, const uint64_t *dA,
                                                      const uint64_t *dB, uint64_t *dC,
                                                      int accumulate, cudaStream_t st) {
    if (m == 0 || n == 0) return MPCT_CUDA_OK;
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || m * n > ((size_t)1 << 40))
        return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "gemm shape over int range");
    if (k == 0) {
        if (!accumulate) MPCT_CU(cudaMemsetAsync(dC, 0, m * n * sizeof(uint64_t), st));
        return MPCT_CUDA_OK;
    }
    if (algo == MPCT_CUDA_GEMM_AUTO) algo = mpct_cuda_gemm_auto();
    switch (algo) {
    case MPCT_CUDA_GEMM_NATIVE64: return gemm_native(m, n, k, dA, dB, dC, accumulate, st);
    case MPCT_CUDA_GEMM_LIMB8: return gemm_limb<int8_t, 8, 8>(m, n, k, dA, dB, dC, accumulate, st);
    case MPCT_CUDA_GEMM_LIMB16_F64:
        return gemm_limb<double, 16, 4>(m, n, k, dA, dB, dC, accumulate, st);
    default: return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "unknown gemm algo");
    }
}

extern "C" mpct_cuda_status mpct_cuda_gemm_dev(mpct_cuda_gemm_algo algo, size_t m, size_t n,
                                               size_t k, const uint64_t *dA, const uint64_t *dB,
                                               uint64_t *dC, int accumulate, void *stream) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, mpct_cuda_gemm_dev_locked(algo, m, n, k, dA, dB, dC, accumulate,
                                                   mpct_cuda_stream(stream)));
    return st;
}

static mpct_cuda_status gemm_host_locked(mpct_cuda_gemm_algo algo, size_t m, size_t n, size_t k,
                                         const uint64_t *A, const uint64_t *B, uint64_t *C,
                                         int accumulate) {
    mpct_cuda_ctx *g = &g_mpct_cuda;
    if (m == 0 || n == 0) return MPCT_CUDA_OK;
    size_t ba = m * k * 8, bb = k * n * 8, bc = m * n * 8;
    void *dA, *dB, *dC, *hA, *hB, *hC;
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_A, ba, &dA));
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_B, bb, &dB));
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_C, bc, &dC));
    MPCT_CUDA_CALL(mpct_cuda_pool_pin(MPCT_PSLOT_A, ba, &hA));
    MPCT_CUDA_CALL(mpct_cuda_pool_pin(MPCT_PSLOT_B, bb, &hB));
    MPCT_CUDA_CALL(mpct_cuda_pool_pin(MPCT_PSLOT_C, bc, &hC));
    /* Stage: copy A to pinned, start its DMA, copy B while A moves, ... */
    if (ba) memcpy(hA, A, ba);
    MPCT_CU(cudaMemcpyAsync(dA, hA, ba, cudaMemcpyHostToDevice, g->s_h2d));
    if (bb) memcpy(hB, B, bb);
    MPCT_CU(cudaMemcpyAsync(dB, hB, bb, cudaMemcpyHostToDevice, g->s_h2d));
    if (accumulate) {
        memcpy(hC, C, bc);
        MPCT_CU(cudaMemcpyAsync(dC, hC, bc, cudaMemcpyHostToDevice, g->s_h2d));
    }
    MPCT_CU(cudaEventRecord(g->ev_in[0], g->s_h2d));
    MPCT_CU(cudaStreamWaitEvent(g->s_compute, g->ev_in[0], 0));
    MPCT_CUDA_CALL(mpct_cuda_gemm_dev_locked(algo, m, n, k, (const uint64_t *)dA,
                                             (const uint64_t *)dB, (uint64_t *)dC, accumulate,
                                             g->s_compute));
    MPCT_CU(cudaMemcpyAsync(hC, dC, bc, cudaMemcpyDeviceToHost, g->s_compute));
    MPCT_CU(cudaStreamSynchronize(g->s_compute));
    memcpy(C, hC, bc);
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_gemm_host(mpct_cuda_gemm_algo algo, size_t m, size_t n,
                                                size_t k, const uint64_t *A, const uint64_t *B,
                                                uint64_t *C, int accumulate) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, gemm_host_locked(algo, m, n, k, A, B, C, accumulate));
    return st;
}
