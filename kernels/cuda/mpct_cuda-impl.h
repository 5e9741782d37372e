/*
 * mpct_cuda-impl.h — private to kernels/cuda: the backend context (device,
 * streams, cuBLAS handle, events), the grow-only memory pool, and the error
 * macros. Every public entry takes g_mpct_cuda_lock, makes sure the context
 * exists (mpct_cuda_ensure_locked) and then calls *_locked helpers.
 *
 * Pool invariant: each slot is one device (or pinned host) buffer that only
 * grows; nothing in a hot path calls cudaMalloc/cudaFree once the largest
 * shape has been seen. Buffers are zeroed before they are released.
 * Scratch slots used by device-pointer GEMMs are shared between calls; an
 * event (scratch_ev) orders a call on one stream after the previous user of
 * the scratch on another stream.
 */
#ifndef MPCT_CUDA_IMPL_H
#define MPCT_CUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <pthread.h>

#include "mpct_cuda.h"

enum mpct_cuda_dev_slot {
    MPCT_DSLOT_A = 0, /* host-staged operands */
    MPCT_DSLOT_B,
    MPCT_DSLOT_C,
    MPCT_DSLOT_LIMB_A, /* limb matrices of the limb GEMMs */
    MPCT_DSLOT_LIMB_B,
    MPCT_DSLOT_PROD, /* limb products (int32 or double) */
    MPCT_DSLOT_PRF,
    MPCT_DSLOT_EW0, /* 2 sets x 6 arrays for the elementwise pipeline */
    MPCT_DSLOT_COUNT = MPCT_DSLOT_EW0 + 12
};

enum mpct_cuda_pin_slot {
    MPCT_PSLOT_A = 0,
    MPCT_PSLOT_B,
    MPCT_PSLOT_C,
    MPCT_PSLOT_EW0,
    MPCT_PSLOT_COUNT = MPCT_PSLOT_EW0 + 12
};

typedef struct mpct_cuda_slot {
    void *p;
    size_t cap;
} mpct_cuda_slot;

typedef struct mpct_cuda_ctx {
    int ready;       /* context created */
    int no_device;   /* probed: no usable device */
    int device;
    int sm_count;
    char name[320];
    cudaStream_t s_compute, s_h2d, s_d2h; /* one stream per purpose */
    cublasHandle_t blas;
    cudaEvent_t scratch_ev;
    cudaEvent_t ev_in[2], ev_k[2], ev_out[2];
    mpct_cuda_slot dev[MPCT_DSLOT_COUNT];
    mpct_cuda_slot pin[MPCT_PSLOT_COUNT];
    mpct_cuda_pool_stats stats;
} mpct_cuda_ctx;

extern mpct_cuda_ctx g_mpct_cuda;
extern pthread_mutex_t g_mpct_cuda_lock;

#ifdef __cplusplus
extern "C" {
#endif
mpct_cuda_status mpct_cuda_fail_rt(cudaError_t e, const char *what, const char *file, int line);
mpct_cuda_status mpct_cuda_fail_blas(cublasStatus_t e, const char *what, const char *file,
                                     int line);
mpct_cuda_status mpct_cuda_fail(mpct_cuda_status s, const char *file, int line, const char *msg);
/* Creates the context if needed; caller holds the lock. */
mpct_cuda_status mpct_cuda_ensure_locked(void);
mpct_cuda_status mpct_cuda_pool_dev(int slot, size_t bytes, void **out);
mpct_cuda_status mpct_cuda_pool_pin(int slot, size_t bytes, void **out);

mpct_cuda_status mpct_cuda_gemm_dev_locked(mpct_cuda_gemm_algo algo, size_t m, size_t n,
                                           size_t k, const uint64_t *dA, const uint64_t *dB,
                                           uint64_t *dC, int accumulate, cudaStream_t st);
mpct_cuda_status mpct_cuda_ew_dev_locked(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                         const uint64_t *a1, const uint64_t *b0,
                                         const uint64_t *b1, const uint64_t *z, uint64_t *out,
                                         cudaStream_t st);
#ifdef __cplusplus
}
#endif

#define MPCT_CU(call)                                                                     \
    do {                                                                                  \
        cudaError_t mpct_cu_e_ = (call);                                                  \
        if (mpct_cu_e_ != cudaSuccess)                                                    \
            return mpct_cuda_fail_rt(mpct_cu_e_, #call, __FILE__, __LINE__);              \
    } while (0)

#define MPCT_CU_LAUNCHED() MPCT_CU(cudaGetLastError())

#define MPCT_BLAS(call)                                                                   \
    do {                                                                                  \
        cublasStatus_t mpct_blas_e_ = (call);                                             \
        if (mpct_blas_e_ != CUBLAS_STATUS_SUCCESS)                                        \
            return mpct_cuda_fail_blas(mpct_blas_e_, #call, __FILE__, __LINE__);          \
    } while (0)

#define MPCT_CUDA_CALL(expr)                                                              \
    do {                                                                                  \
        mpct_cuda_status mpct_cs_ = (expr);                                               \
        if (mpct_cs_ != MPCT_CUDA_OK) return mpct_cs_;                                    \
    } while (0)

/* Runs body with the lock held and the context ready; returns its status. */
#define MPCT_CUDA_LOCKED(stvar, body)                                                     \
    do {                                                                                  \
        pthread_mutex_lock(&g_mpct_cuda_lock);                                            \
        stvar = mpct_cuda_ensure_locked();                                                \
        if (stvar == MPCT_CUDA_OK) stvar = (body);                                        \
        pthread_mutex_unlock(&g_mpct_cuda_lock);                                          \
    } while (0)

static inline cudaStream_t mpct_cuda_stream(void *s) {
    return s ? (cudaStream_t)s : g_mpct_cuda.s_compute;
}

#endif
