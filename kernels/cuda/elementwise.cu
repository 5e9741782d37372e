/*
 * elementwise.cu — elementwise ring ops on the GPU (add, sub, mul, xor,
 * mul_cross, and_cross) and the truncation helper, device-pointer form,
 * plus the host-pointer pipeline used by the backend table.
 *
 * Host pipeline: inputs are cut into chunks of MPCT_EW_CHUNK elements; for
 * chunk i (buffer set i%2) the CPU copies the inputs into pinned memory, the
 * h2d stream uploads them, the compute stream runs the kernel, the d2h
 * stream downloads the result, and the CPU copies it out once the chunk
 * two steps later needs the set. So the CPU copies, both DMA directions and
 * the kernels of neighbouring chunks overlap.
 */
#include <string.h>

#include "mpct_cuda-impl.h"

#define MPCT_EW_CHUNK ((size_t)1 << 20)

template <int OP>
__global__ void ew_kernel(size_t n, const uint64_t *__restrict__ a0, const uint64_t *__restrict__ a1,
                          const uint64_t *__restrict__ b0, const uint64_t *__restrict__ b1,
                          const uint64_t *__restrict__ z, uint64_t *out) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint64_t r;
        if (OP == MPCT_CUDA_EW_ADD) r = a0[i] + b0[i];
        else if (OP == MPCT_CUDA_EW_SUB) r = a0[i] - b0[i];
        else if (OP == MPCT_CUDA_EW_MUL) r = a0[i] * b0[i];
        else if (OP == MPCT_CUDA_EW_XOR) r = a0[i] ^ b0[i];
        else if (OP == MPCT_CUDA_EW_MUL_CROSS) {
            uint64_t x0 = a0[i], x1 = a1[i], y0 = b0[i], y1 = b1[i];
            r = x0 * y0 + x0 * y1 + x1 * y0 + z[i];
        } else {
            uint64_t x0 = a0[i], x1 = a1[i], y0 = b0[i], y1 = b1[i];
            r = (x0 & y0) ^ (x0 & y1) ^ (x1 & y0) ^ z[i];
        }
        out[i] = r;
    }
}

__global__ void trunc_kernel(size_t n, const uint64_t *__restrict__ a, unsigned d,
                             uint64_t *out) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = (uint64_t)((int64_t)a[i] >> d);
}

static unsigned ew_grid(size_t n) {
    size_t b = (n + 255) / 256;
    size_t cap = (size_t)(g_mpct_cuda.sm_count > 0 ? g_mpct_cuda.sm_count : 100) * 16;
    return (unsigned)(b < cap ? (b ? b : 1) : cap);
}

static int ew_is_cross(mpct_cuda_ew op) {
    return op == MPCT_CUDA_EW_MUL_CROSS || op == MPCT_CUDA_EW_AND_CROSS;
}

extern "C" mpct_cuda_status mpct_cuda_ew_dev_locked(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                                    const uint64_t *a1, const uint64_t *b0,
                                                    const uint64_t *b1, const uint64_t *z,
                                                    uint64_t *out, cudaStream_t st) {
    if (n == 0) return MPCT_CUDA_OK;
    unsigned g = ew_grid(n);
    switch (op) {
#define MPCT_EW_CASE(OPC)                                                                    \
    case OPC: ew_kernel<OPC><<<g, 256, 0, st>>>(n, a0, a1, b0, b1, z, out); break;
        MPCT_EW_CASE(MPCT_CUDA_EW_ADD)
        MPCT_EW_CASE(MPCT_CUDA_EW_SUB)
        MPCT_EW_CASE(MPCT_CUDA_EW_MUL)
        MPCT_EW_CASE(MPCT_CUDA_EW_XOR)
        MPCT_EW_CASE(MPCT_CUDA_EW_MUL_CROSS)
        MPCT_EW_CASE(MPCT_CUDA_EW_AND_CROSS)
#undef MPCT_EW_CASE
    default: return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "unknown elementwise op");
    }
    MPCT_CU_LAUNCHED();
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_ew_dev(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                             const uint64_t *a1, const uint64_t *b0,
                                             const uint64_t *b1, const uint64_t *z, uint64_t *out,
                                             void *stream) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, mpct_cuda_ew_dev_locked(op, n, a0, a1, b0, b1, z, out,
                                                 mpct_cuda_stream(stream)));
    return st;
}

static mpct_cuda_status trunc_locked(size_t n, const uint64_t *a, unsigned d, uint64_t *out,
                                     cudaStream_t st) {
    if (d >= 64)
        return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "shift d must be < 64");
    if (n == 0) return MPCT_CUDA_OK;
    trunc_kernel<<<ew_grid(n), 256, 0, st>>>(n, a, d, out);
    MPCT_CU_LAUNCHED();
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_trunc_dev(size_t n, const uint64_t *a, unsigned d,
                                                uint64_t *out, void *stream) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, trunc_locked(n, a, d, out, mpct_cuda_stream(stream)));
    return st;
}

/* Copies chunk `c` (set c%2) from pinned out to the user's out. */
static mpct_cuda_status ew_finish(size_t c, size_t n, uint64_t *out, uint64_t *pin_out[2]) {
    int set = (int)(c % 2);
    size_t off = c * MPCT_EW_CHUNK, len = n - off < MPCT_EW_CHUNK ? n - off : MPCT_EW_CHUNK;
    MPCT_CU(cudaEventSynchronize(g_mpct_cuda.ev_out[set]));
    memcpy(out + off, pin_out[set], len * 8);
    return MPCT_CUDA_OK;
}

static mpct_cuda_status ew_host_locked(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                       const uint64_t *a1, const uint64_t *b0, const uint64_t *b1,
                                       const uint64_t *z, uint64_t *out) {
    mpct_cuda_ctx *g = &g_mpct_cuda;
    if (n == 0) return MPCT_CUDA_OK;
    if ((int)op < 0 || op >= MPCT_CUDA_EW_COUNT)
        return mpct_cuda_fail(MPCT_CUDA_ERR_ARG, __FILE__, __LINE__, "unknown elementwise op");
    const uint64_t *in[5] = {a0, b0, a1, b1, z};
    const int nin = ew_is_cross(op) ? 5 : 2;
    size_t cap = n < MPCT_EW_CHUNK ? n : MPCT_EW_CHUNK;
    size_t nchunks = (n + MPCT_EW_CHUNK - 1) / MPCT_EW_CHUNK;
    uint64_t *pin[2][6], *dev[2][6];
    for (int s = 0; s < (nchunks > 1 ? 2 : 1); s++)
        for (int j = 0; j <= nin; j++) {
            int slot = s * 6 + (j == nin ? 5 : j);
            MPCT_CUDA_CALL(mpct_cuda_pool_pin(MPCT_PSLOT_EW0 + slot, cap * 8, (void **)&pin[s][j]));
            MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_EW0 + slot, cap * 8, (void **)&dev[s][j]));
        }
    uint64_t *pin_out[2] = {pin[0][nin], nchunks > 1 ? pin[1][nin] : NULL};
    for (size_t c = 0; c < nchunks; c++) {
        int s = (int)(c % 2);
        size_t off = c * MPCT_EW_CHUNK, len = n - off < MPCT_EW_CHUNK ? n - off : MPCT_EW_CHUNK;
        if (c >= 2) MPCT_CUDA_CALL(ew_finish(c - 2, n, out, pin_out)); /* frees set s */
        for (int j = 0; j < nin; j++) {
            memcpy(pin[s][j], in[j] + off, len * 8);
            MPCT_CU(cudaMemcpyAsync(dev[s][j], pin[s][j], len * 8, cudaMemcpyHostToDevice,
                                    g->s_h2d));
        }
        MPCT_CU(cudaEventRecord(g->ev_in[s], g->s_h2d));
        MPCT_CU(cudaStreamWaitEvent(g->s_compute, g->ev_in[s], 0));
        const uint64_t *x1 = nin == 5 ? dev[s][2] : NULL, *y1 = nin == 5 ? dev[s][3] : NULL,
                       *zz = nin == 5 ? dev[s][4] : NULL;
        MPCT_CUDA_CALL(mpct_cuda_ew_dev_locked(op, len, dev[s][0], x1, dev[s][1], y1, zz,
                                               dev[s][nin], g->s_compute));
        MPCT_CU(cudaEventRecord(g->ev_k[s], g->s_compute));
        MPCT_CU(cudaStreamWaitEvent(g->s_d2h, g->ev_k[s], 0));
        MPCT_CU(cudaMemcpyAsync(pin[s][nin], dev[s][nin], len * 8, cudaMemcpyDeviceToHost,
                                g->s_d2h));
        MPCT_CU(cudaEventRecord(g->ev_out[s], g->s_d2h));
    }
    for (size_t c = nchunks >= 2 ? nchunks - 2 : 0; c < nchunks; c++)
        MPCT_CUDA_CALL(ew_finish(c, n, out, pin_out));
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_ew_host(mpct_cuda_ew op, size_t n, const uint64_t *a0,
                                              const uint64_t *a1, const uint64_t *b0,
                                              const uint64_t *b1, const uint64_t *z,
                                              uint64_t *out) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, ew_host_locked(op, n, a0, a1, b0, b1, z, out));
    return st;
}
