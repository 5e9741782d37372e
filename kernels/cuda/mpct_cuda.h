/*
 * mpct_cuda.h — the CUDA backend of mpct_kernels.h and its CUDA-only extras:
 * device-pointer kernels (ring GEMM variants, elementwise ops, truncation),
 * the GPU PRF (same stream as src/core/mpct_prf.h), and the memory pool.
 *
 * Plain C API (callable from C; no CUDA headers needed). Streams are passed
 * as `void *` (a cudaStream_t; NULL = the backend's compute stream).
 * Device pointers ("_dev") must come from mpct_cuda_dev_alloc or cudaMalloc.
 *
 * Semantics equal the plain C reference exactly: uint64 arithmetic mod 2^64,
 * row-major dense matrices. Shape letters: C[m x n] = A[m x k] * B[k x n].
 *
 * The backend keeps one global context (device 0, streams, cuBLAS handle,
 * pool) created on first use; calls are serialised by a mutex, so the table
 * may be used from several threads but runs one op at a time.
 */
#ifndef MPCT_CUDA_H
#define MPCT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MPCT_CUDA_WUR __attribute__((warn_unused_result))

typedef enum mpct_cuda_status {
    MPCT_CUDA_OK = 0,
    MPCT_CUDA_ERR_NODEV,   /* no usable CUDA device */
    MPCT_CUDA_ERR_RUNTIME, /* a CUDA runtime call or kernel launch failed */
    MPCT_CUDA_ERR_CUBLAS,  /* a cuBLAS call failed */
    MPCT_CUDA_ERR_NOMEM,   /* device or pinned host allocation failed */
    MPCT_CUDA_ERR_ARG,     /* bad argument (size over int range, bad algo) */
    MPCT_CUDA_STATUS_COUNT
} mpct_cuda_status;

const char *mpct_cuda_status_str(mpct_cuda_status s);
/* Last error of the calling thread: "file:line: call: cuda message". */
const char *mpct_cuda_error_msg(void);

/* The backend table; NULL when no CUDA device is usable (cudaGetDeviceCount
 * fails or reports 0). Initialises the context on the first call. Table
 * entries cannot return errors (void in mpct_kernels.h): on a CUDA failure
 * they print mpct_cuda_error_msg() and abort(). */
const mpct_kernels *mpct_kernels_cuda(void);
/* Frees the pool (device buffers are zeroed first: they held shares),
 * streams and handles. mpct_kernels_cuda() re-creates them. */
void mpct_cuda_shutdown(void);
/* Short device description, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)". */
const char *mpct_cuda_device_name(void);

/* ---- ring GEMM ---- */
typedef enum mpct_cuda_gemm_algo {
    MPCT_CUDA_GEMM_AUTO = 0,   /* the fastest exact variant (LIMB8), or env MPCT_CUDA_GEMM */
    MPCT_CUDA_GEMM_NATIVE64,   /* tiled 64-bit integer kernel, split-k with 64-bit atomics */
    MPCT_CUDA_GEMM_LIMB8,      /* 8 signed 8-bit digits, int8 tensor-core GEMM (cuBLAS) */
    MPCT_CUDA_GEMM_LIMB16_F64, /* 4 signed 16-bit digits, FP64 GEMM (cuBLAS), exact */
    MPCT_CUDA_GEMM_ALGO_COUNT
} mpct_cuda_gemm_algo;

const char *mpct_cuda_gemm_algo_str(mpct_cuda_gemm_algo a);
/* The algo AUTO resolves to (reads MPCT_CUDA_GEMM=native|limb8|limb16 once). */
mpct_cuda_gemm_algo mpct_cuda_gemm_auto(void);

/* C = A*B (accumulate == 0) or C += A*B, device pointers, async on stream. */
mpct_cuda_status mpct_cuda_gemm_dev(mpct_cuda_gemm_algo algo, size_t m, size_t n, size_t k,
                                    const uint64_t *dA, const uint64_t *dB, uint64_t *dC,
                                    int accumulate, void *stream) MPCT_CUDA_WUR;
/* Same with host pointers: staged through pinned buffers and the pool;
 * returns when C is back in host memory. */
mpct_cuda_status mpct_cuda_gemm_host(mpct_cuda_gemm_algo algo, size_t m, size_t n, size_t k,
                                     const uint64_t *A, const uint64_t *B, uint64_t *C,
                                     int accumulate) MPCT_CUDA_WUR;

/* ---- elementwise, device pointers (out may alias an input) ---- */
typedef enum mpct_cuda_ew {
    MPCT_CUDA_EW_ADD = 0, /* out = a + b */
    MPCT_CUDA_EW_SUB,     /* out = a - b */
    MPCT_CUDA_EW_MUL,     /* out = a * b */
    MPCT_CUDA_EW_XOR,     /* out = a ^ b */
    MPCT_CUDA_EW_MUL_CROSS, /* out = a0*b0 + a0*b1 + a1*b0 + z */
    MPCT_CUDA_EW_AND_CROSS, /* out = (a0&b0) ^ (a0&b1) ^ (a1&b0) ^ z */
    MPCT_CUDA_EW_COUNT
} mpct_cuda_ew;

/* Binary ops (ADD..XOR) read a0, b0; cross ops read a0, a1, b0, b1, z. */
mpct_cuda_status mpct_cuda_ew_dev(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                  const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                                  const uint64_t *z, uint64_t *out, void *stream) MPCT_CUDA_WUR;
/* Host-pointer form: chunked pipeline (copy in / compute / copy out overlap
 * on three streams with double-buffered pinned staging). */
mpct_cuda_status mpct_cuda_ew_host(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                   const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                                   const uint64_t *z, uint64_t *out) MPCT_CUDA_WUR;
/* Truncation: out[i] = (uint64)((int64)a[i] >> d), arithmetic shift, 0 <= d < 64. */
mpct_cuda_status mpct_cuda_trunc_dev(size_t n, const uint64_t *a, unsigned d, uint64_t *out,
                                     void *stream) MPCT_CUDA_WUR;

/* ---- PRF (AES-128-CTR, stream of mpct_prf.h) ---- */
/* Words [pos, pos + n) of stream (key, stream_id) into device memory. */
mpct_cuda_status mpct_cuda_prf_fill_dev(const uint8_t key[16], uint64_t stream_id, uint64_t pos,
                                        uint64_t *dout, size_t n, void *stream) MPCT_CUDA_WUR;
/* Same into host memory (generated on the GPU, copied back). */
mpct_cuda_status mpct_cuda_prf_fill_host(const uint8_t key[16], uint64_t stream_id,
                                         uint64_t pos, uint64_t *out, size_t n) MPCT_CUDA_WUR;

/* ---- memory ---- */
/* Plain device allocation for callers' own buffers (not pooled). */
mpct_cuda_status mpct_cuda_dev_alloc(void **p, size_t bytes) MPCT_CUDA_WUR;
void mpct_cuda_dev_free(void *p);
mpct_cuda_status mpct_cuda_h2d(void *dst, const void *src, size_t bytes) MPCT_CUDA_WUR;
mpct_cuda_status mpct_cuda_d2h(void *dst, const void *src, size_t bytes) MPCT_CUDA_WUR;
/* Waits for all backend streams. */
mpct_cuda_status mpct_cuda_sync(void) MPCT_CUDA_WUR;
/* Pool statistics: device and pinned bytes held, and the number of
 * cudaMalloc/cudaMallocHost calls so far (grow events). */
typedef struct mpct_cuda_pool_stats {
    size_t dev_bytes, pinned_bytes;
    size_t dev_grows, pinned_grows;
} mpct_cuda_pool_stats;
mpct_cuda_pool_stats mpct_cuda_pool_stats_get(void);

#ifdef __cplusplus
}
#endif

#endif
