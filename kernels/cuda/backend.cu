/*
 * backend.cu — the CUDA backend context, memory pool, error reporting and
 * the mpct_kernels table ("cuda").
 *
 * The context is created on first use: device 0, three streams (compute,
 * host-to-device, device-to-host), one cuBLAS handle, events for the
 * elementwise pipeline. mpct_kernels_cuda() returns NULL when
 * cudaGetDeviceCount fails or reports no device.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_cuda-impl.h"

mpct_cuda_ctx g_mpct_cuda; /* zero-initialised */
pthread_mutex_t g_mpct_cuda_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread char g_err[512];

extern "C" const char *mpct_cuda_status_str(mpct_cuda_status s) {
    switch (s) {
    case MPCT_CUDA_OK: return "ok";
    case MPCT_CUDA_ERR_NODEV: return "no usable CUDA device";
    case MPCT_CUDA_ERR_RUNTIME: return "CUDA runtime error";
    case MPCT_CUDA_ERR_CUBLAS: return "cuBLAS error";
    case MPCT_CUDA_ERR_NOMEM: return "out of device or pinned memory";
    case MPCT_CUDA_ERR_ARG: return "bad argument";
    default: return "unknown status";
    }
}

extern "C" const char *mpct_cuda_error_msg(void) { return g_err; }

extern "C" mpct_cuda_status mpct_cuda_fail(mpct_cuda_status s, const char *file, int line,
                                           const char *msg) {
    snprintf(g_err, sizeof g_err, "%s:%d: %s: %s", file, line, mpct_cuda_status_str(s), msg);
    return s;
}

extern "C" mpct_cuda_status mpct_cuda_fail_rt(cudaError_t e, const char *what, const char *file,
                                              int line) {
    snprintf(g_err, sizeof g_err, "%s:%d: %s: %s (%s)", file, line, what, cudaGetErrorString(e),
             cudaGetErrorName(e));
    return e == cudaErrorMemoryAllocation ? MPCT_CUDA_ERR_NOMEM : MPCT_CUDA_ERR_RUNTIME;
}

extern "C" mpct_cuda_status mpct_cuda_fail_blas(cublasStatus_t e, const char *what,
                                                const char *file, int line) {
    snprintf(g_err, sizeof g_err, "%s:%d: %s: cuBLAS status %d (%s)", file, line, what, (int)e,
             cublasGetStatusString(e));
    return e == CUBLAS_STATUS_ALLOC_FAILED ? MPCT_CUDA_ERR_NOMEM : MPCT_CUDA_ERR_CUBLAS;
}

extern "C" mpct_cuda_status mpct_cuda_ensure_locked(void) {
    mpct_cuda_ctx *g = &g_mpct_cuda;
    if (g->ready) return MPCT_CUDA_OK;
    if (g->no_device) return mpct_cuda_fail(MPCT_CUDA_ERR_NODEV, __FILE__, __LINE__, "no device");
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count <= 0) {
        g->no_device = 1;
        snprintf(g_err, sizeof g_err, "no usable CUDA device (cudaGetDeviceCount: %s, count %d)",
                 cudaGetErrorString(e), count);
        return MPCT_CUDA_ERR_NODEV;
    }
    g->device = 0;
    MPCT_CU(cudaSetDevice(g->device));
    cudaDeviceProp prop;
    MPCT_CU(cudaGetDeviceProperties(&prop, g->device));
    g->sm_count = prop.multiProcessorCount;
    snprintf(g->name, sizeof g->name, "%.255s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major,
             prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    MPCT_CU(cudaStreamCreateWithFlags(&g->s_compute, cudaStreamNonBlocking));
    MPCT_CU(cudaStreamCreateWithFlags(&g->s_h2d, cudaStreamNonBlocking));
    MPCT_CU(cudaStreamCreateWithFlags(&g->s_d2h, cudaStreamNonBlocking));
    MPCT_BLAS(cublasCreate(&g->blas));
    MPCT_BLAS(cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH)); /* no FP64 emulation */
    MPCT_CU(cudaEventCreateWithFlags(&g->scratch_ev, cudaEventDisableTiming));
    for (int i = 0; i < 2; i++) {
        MPCT_CU(cudaEventCreateWithFlags(&g->ev_in[i], cudaEventDisableTiming));
        MPCT_CU(cudaEventCreateWithFlags(&g->ev_k[i], cudaEventDisableTiming));
        MPCT_CU(cudaEventCreateWithFlags(&g->ev_out[i], cudaEventDisableTiming));
    }
    MPCT_CU(cudaEventRecord(g->scratch_ev, g->s_compute));
    g->ready = 1;
    return MPCT_CUDA_OK;
}

/* ---- pool ---- */

static size_t grow_size(size_t cap, size_t want) {
    size_t n = cap + cap / 2;
    if (n < want) n = want;
    if (n < 4096) n = 4096;
    return (n + 4095) & ~(size_t)4095;
}

extern "C" mpct_cuda_status mpct_cuda_pool_dev(int slot, size_t bytes, void **out) {
    mpct_cuda_slot *s = &g_mpct_cuda.dev[slot];
    if (s->cap < bytes || !s->p) {
        size_t cap = grow_size(s->cap, bytes);
        if (s->p) {
            /* Shares may live here: zero before release (stream-ordered on
             * the device; cudaFree waits for outstanding work). */
            MPCT_CU(cudaDeviceSynchronize());
            MPCT_CU(cudaMemset(s->p, 0, s->cap));
            MPCT_CU(cudaFree(s->p));
            g_mpct_cuda.stats.dev_bytes -= s->cap;
            s->p = NULL;
            s->cap = 0;
        }
        MPCT_CU(cudaMalloc(&s->p, cap));
        s->cap = cap;
        g_mpct_cuda.stats.dev_bytes += cap;
        g_mpct_cuda.stats.dev_grows++;
    }
    *out = s->p;
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_pool_pin(int slot, size_t bytes, void **out) {
    mpct_cuda_slot *s = &g_mpct_cuda.pin[slot];
    if (s->cap < bytes || !s->p) {
        size_t cap = grow_size(s->cap, bytes);
        if (s->p) {
            MPCT_CU(cudaDeviceSynchronize());
            memset(s->p, 0, s->cap); /* cudaFreeHost is opaque: not elided */
            MPCT_CU(cudaFreeHost(s->p));
            g_mpct_cuda.stats.pinned_bytes -= s->cap;
            s->p = NULL;
            s->cap = 0;
        }
        MPCT_CU(cudaMallocHost(&s->p, cap));
        s->cap = cap;
        g_mpct_cuda.stats.pinned_bytes += cap;
        g_mpct_cuda.stats.pinned_grows++;
    }
    *out = s->p;
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_pool_stats mpct_cuda_pool_stats_get(void) {
    pthread_mutex_lock(&g_mpct_cuda_lock);
    mpct_cuda_pool_stats s = g_mpct_cuda.stats;
    pthread_mutex_unlock(&g_mpct_cuda_lock);
    return s;
}

extern "C" void mpct_cuda_shutdown(void) {
    mpct_cuda_ctx *g = &g_mpct_cuda;
    pthread_mutex_lock(&g_mpct_cuda_lock);
    if (g->ready) {
        cudaDeviceSynchronize();
        for (int i = 0; i < MPCT_DSLOT_COUNT; i++) {
            if (g->dev[i].p) {
                cudaMemset(g->dev[i].p, 0, g->dev[i].cap);
                cudaFree(g->dev[i].p);
            }
            g->dev[i].p = NULL;
            g->dev[i].cap = 0;
        }
        for (int i = 0; i < MPCT_PSLOT_COUNT; i++) {
            if (g->pin[i].p) {
                memset(g->pin[i].p, 0, g->pin[i].cap);
                cudaFreeHost(g->pin[i].p);
            }
            g->pin[i].p = NULL;
            g->pin[i].cap = 0;
        }
        cublasDestroy(g->blas);
        cudaEventDestroy(g->scratch_ev);
        for (int i = 0; i < 2; i++) {
            cudaEventDestroy(g->ev_in[i]);
            cudaEventDestroy(g->ev_k[i]);
            cudaEventDestroy(g->ev_out[i]);
        }
        cudaStreamDestroy(g->s_compute);
        cudaStreamDestroy(g->s_h2d);
        cudaStreamDestroy(g->s_d2h);
        memset(&g->stats, 0, sizeof g->stats);
        g->ready = 0;
    }
    pthread_mutex_unlock(&g_mpct_cuda_lock);
}

extern "C" const char *mpct_cuda_device_name(void) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, MPCT_CUDA_OK);
    return st == MPCT_CUDA_OK ? g_mpct_cuda.name : "none";
}

/* ---- plain memory helpers ---- */

extern "C" mpct_cuda_status mpct_cuda_dev_alloc(void **p, size_t bytes) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, MPCT_CUDA_OK);
    if (st != MPCT_CUDA_OK) return st;
    MPCT_CU(cudaMalloc(p, bytes ? bytes : 1));
    return MPCT_CUDA_OK;
}

extern "C" void mpct_cuda_dev_free(void *p) {
    if (p) cudaFree(p);
}

extern "C" mpct_cuda_status mpct_cuda_h2d(void *dst, const void *src, size_t bytes) {
    if (bytes) MPCT_CU(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_d2h(void *dst, const void *src, size_t bytes) {
    if (bytes) MPCT_CU(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_sync(void) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, MPCT_CUDA_OK);
    if (st != MPCT_CUDA_OK) return st;
    MPCT_CU(cudaDeviceSynchronize());
    return MPCT_CUDA_OK;
}

/* ---- the backend table ---- */

static void die_on(mpct_cuda_status st, const char *op) {
    if (st == MPCT_CUDA_OK) return;
    /* The table's entries return void (mpct_kernels.h): a failed device
     * call cannot be reported, and a silently wrong share would corrupt
     * the protocol, so stop here loudly. */
    fprintf(stderr, "mpct cuda backend: %s failed: %s: %s\n", op, mpct_cuda_status_str(st),
            mpct_cuda_error_msg());
    abort();
}

static void t_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                   uint64_t *C, int accumulate) {
    die_on(mpct_cuda_gemm_host(MPCT_CUDA_GEMM_AUTO, m, n, k, A, B, C, accumulate), "gemm");
}

#define MPCT_T_BIN(fname, OP)                                                                \
    static void fname(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out) {       \
        die_on(mpct_cuda_ew_host(OP, n, a, NULL, b, NULL, NULL, out), #fname);               \
    }
MPCT_T_BIN(t_add, MPCT_CUDA_EW_ADD)
MPCT_T_BIN(t_sub, MPCT_CUDA_EW_SUB)
MPCT_T_BIN(t_mul, MPCT_CUDA_EW_MUL)
MPCT_T_BIN(t_xor, MPCT_CUDA_EW_XOR)
#undef MPCT_T_BIN

static void t_mul_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                        const uint64_t *b1, const uint64_t *z, uint64_t *out) {
    die_on(mpct_cuda_ew_host(MPCT_CUDA_EW_MUL_CROSS, n, a0, a1, b0, b1, z, out), "mul_cross");
}

static void t_and_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                        const uint64_t *b1, const uint64_t *z, uint64_t *out) {
    die_on(mpct_cuda_ew_host(MPCT_CUDA_EW_AND_CROSS, n, a0, a1, b0, b1, z, out), "and_cross");
}

/* the ring arithmetic; the local steps come from ref through the registry */
static int t_supports(mpct_kop op) { return op >= 0 && op <= MPCT_KOP_AND_CROSS; }

static mpct_kernels g_table;

extern "C" const mpct_kernels *mpct_kernels_cuda(void) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, MPCT_CUDA_OK);
    if (st != MPCT_CUDA_OK) return NULL;
    g_table.name = "cuda";
    g_table.gemm = t_gemm;
    g_table.add = t_add;
    g_table.sub = t_sub;
    g_table.mul = t_mul;
    g_table.mul_cross = t_mul_cross;
    g_table.xor_ = t_xor;
    g_table.and_cross = t_and_cross;
    g_table.supports_op = t_supports;
    return &g_table;
}
