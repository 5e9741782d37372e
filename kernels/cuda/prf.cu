/*
 * prf.cu — GPU AES-128-CTR producing the mpct PRF stream (mpct_prf.h) bit
 * for bit, with the round code of mpct_aes.h (verified on the CPU against
 * OpenSSL by test_prf_kat, and GPU vs CPU by test_cuda_prf).
 *
 * One thread per 16-byte counter block (grid-stride); the block's two words
 * go to out[2b - pos] and out[2b + 1 - pos] when inside [0, n), so any
 * (pos, n), odd pos included, is handled. Te0 is copied from constant to
 * shared memory per CUDA block (1 KiB). The key schedule travels as a
 * kernel parameter; the host copy is wiped after the launch.
 */
#include <string.h>

#include "mpct_aes.h"
#include "mpct_cuda-impl.h"

__constant__ uint32_t c_mpct_te0[256] = MPCT_AES_TE0_INIT;

struct prf_ks {
    uint32_t rk[44];
};

__global__ void __launch_bounds__(256) prf_ctr_kernel(const prf_ks ks, uint64_t sid, uint64_t pos,
                                                      uint64_t *__restrict__ out, size_t n) {
    __shared__ uint32_t te0[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) te0[i] = c_mpct_te0[i];
    __syncthreads();
    const uint64_t b_first = pos >> 1;
    const uint64_t nblocks = ((pos + n - 1) >> 1) - b_first + 1;
    for (uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; t < nblocks;
         t += (uint64_t)gridDim.x * blockDim.x) {
        uint64_t b = b_first + t, w0, w1;
        mpct_aes128_ctr_block_words(ks.rk, te0, sid, b, &w0, &w1);
        uint64_t i0 = 2 * b - pos; /* wraps to 2^64-1 for the first block of odd pos */
        if (2 * b >= pos) out[i0] = w0;
        if (i0 + 1 < n) out[i0 + 1] = w1;
    }
}

static mpct_cuda_status prf_dev_locked(const uint8_t key[16], uint64_t sid, uint64_t pos,
                                       uint64_t *dout, size_t n, cudaStream_t st) {
    if (n == 0) return MPCT_CUDA_OK;
    mpct_aes128_ks ks;
    prf_ks pk;
    mpct_aes128_expand(key, &ks);
    memcpy(pk.rk, ks.rk, sizeof pk.rk);
    mpct_aes128_wipe(&ks);
    uint64_t nblocks = ((pos + n - 1) >> 1) - (pos >> 1) + 1;
    uint64_t grid = (nblocks + 255) / 256;
    uint64_t cap = (uint64_t)(g_mpct_cuda.sm_count > 0 ? g_mpct_cuda.sm_count : 100) * 8;
    if (grid > cap) grid = cap;
    prf_ctr_kernel<<<(unsigned)grid, 256, 0, st>>>(pk, sid, pos, dout, n);
    cudaError_t e = cudaGetLastError();
    volatile uint32_t *w = pk.rk;
    for (int i = 0; i < 44; i++) w[i] = 0;
    if (e != cudaSuccess) return mpct_cuda_fail_rt(e, "prf_ctr_kernel launch", __FILE__, __LINE__);
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_prf_fill_dev(const uint8_t key[16], uint64_t stream_id,
                                                   uint64_t pos, uint64_t *dout, size_t n,
                                                   void *stream) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, prf_dev_locked(key, stream_id, pos, dout, n, mpct_cuda_stream(stream)));
    return st;
}

static mpct_cuda_status prf_host_locked(const uint8_t key[16], uint64_t sid, uint64_t pos,
                                        uint64_t *out, size_t n) {
    if (n == 0) return MPCT_CUDA_OK;
    void *d;
    MPCT_CUDA_CALL(mpct_cuda_pool_dev(MPCT_DSLOT_PRF, n * 8, &d));
    MPCT_CUDA_CALL(prf_dev_locked(key, sid, pos, (uint64_t *)d, n, g_mpct_cuda.s_compute));
    MPCT_CU(cudaMemcpyAsync(out, d, n * 8, cudaMemcpyDeviceToHost, g_mpct_cuda.s_compute));
    MPCT_CU(cudaStreamSynchronize(g_mpct_cuda.s_compute));
    return MPCT_CUDA_OK;
}

extern "C" mpct_cuda_status mpct_cuda_prf_fill_host(const uint8_t key[16], uint64_t stream_id,
                                                    uint64_t pos, uint64_t *out, size_t n) {
    mpct_cuda_status st;
    MPCT_CUDA_LOCKED(st, prf_host_locked(key, stream_id, pos, out, n));
    return st;
}
