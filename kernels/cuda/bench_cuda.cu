/*
 * bench_cuda.cu — timings of the CUDA ring kernels; prints one JSON object
 * on stdout (a readable table on stderr).
 *
 *  gemm: shapes (m, k, n) = (128, 768, 768), (128, 768, 3072),
 *        (128, 3072, 768); for each variant the median of >= 25 device-
 *        pointer runs (CUDA events, no transfers) and of 10 host-to-host
 *        runs (wall clock, transfers + staging included); each variant's
 *        output is compared once with the CPU loop, which is timed once
 *        (cpu_ref_s) for the ratio.
 *  ew_mul: 128 x 3072 elements, device-pointer and host-to-host.
 *  prf: 2^26 words (512 MiB) into device memory, GB/s.
 * Inputs are random (never zeros). Exit status 1 if any variant is wrong.
 */
#include <algorithm>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vector>

#include <cuda_runtime.h>

#include "mpct_cuda.h"

#define CK(x)                                                                              \
    do {                                                                                   \
        cudaError_t e_ = (x);                                                              \
        if (e_ != cudaSuccess) {                                                           \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)
#define MK(x)                                                                              \
    do {                                                                                   \
        mpct_cuda_status s_ = (x);                                                         \
        if (s_ != MPCT_CUDA_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, mpct_cuda_error_msg()); \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint64_t rs = 0xfeedface;
static uint64_t rnd(void) {
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void gemm_cpu(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                     uint64_t *C) {
    memset(C, 0, m * n * 8);
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) {
            uint64_t a = A[i * k + p];
            const uint64_t *b = B + p * n;
            uint64_t *c = C + i * n;
            for (size_t j = 0; j < n; j++) c[j] += a * b[j];
        }
}

int main(void) {
    if (!mpct_kernels_cuda()) {
        fprintf(stderr, "bench_cuda: no CUDA device (%s)\n", mpct_cuda_error_msg());
        return 77;
    }
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    int wrong = 0;
    const int dev_runs = 25, host_runs = 10;
    printf("{\n  \"device\": \"%s\",\n  \"auto_gemm\": \"%s\",\n  \"gemm\": [\n",
           mpct_cuda_device_name(), mpct_cuda_gemm_algo_str(mpct_cuda_gemm_auto()));
    fprintf(stderr, "device: %s\n", mpct_cuda_device_name());
    fprintf(stderr, "%-18s %-11s %10s %10s %9s %8s %s\n", "gemm m,k,n", "variant", "dev_us",
            "h2h_us", "cpu_ms", "speedup", "exact");
    static const size_t shapes[][3] = {{128, 768, 768}, {128, 768, 3072}, {128, 3072, 768}};
    int first = 1;
    for (int s = 0; s < 3; s++) {
        size_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        std::vector<uint64_t> A(m * k), B(k * n), Cref(m * n), C(m * n);
        for (auto &x : A) x = rnd();
        for (auto &x : B) x = rnd();
        double t = now();
        gemm_cpu(m, n, k, A.data(), B.data(), Cref.data());
        double cpu_s = now() - t;
        uint64_t *dA, *dB, *dC;
        CK(cudaMalloc(&dA, m * k * 8));
        CK(cudaMalloc(&dB, k * n * 8));
        CK(cudaMalloc(&dC, m * n * 8));
        CK(cudaMemcpy(dA, A.data(), m * k * 8, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dB, B.data(), k * n * 8, cudaMemcpyHostToDevice));
        for (int a = MPCT_CUDA_GEMM_NATIVE64; a < MPCT_CUDA_GEMM_ALGO_COUNT; a++) {
            mpct_cuda_gemm_algo algo = (mpct_cuda_gemm_algo)a;
            CK(cudaMemset(dC, 0xa5, m * n * 8));
            MK(mpct_cuda_gemm_dev(algo, m, n, k, dA, dB, dC, 0, st));
            CK(cudaStreamSynchronize(st));
            CK(cudaMemcpy(C.data(), dC, m * n * 8, cudaMemcpyDeviceToHost));
            int exact = memcmp(C.data(), Cref.data(), m * n * 8) == 0;
            wrong += !exact;
            for (int w = 0; w < 3; w++) MK(mpct_cuda_gemm_dev(algo, m, n, k, dA, dB, dC, 0, st));
            std::vector<double> dev, h2h;
            for (int r = 0; r < dev_runs; r++) {
                CK(cudaEventRecord(e0, st));
                MK(mpct_cuda_gemm_dev(algo, m, n, k, dA, dB, dC, 0, st));
                CK(cudaEventRecord(e1, st));
                CK(cudaEventSynchronize(e1));
                float ms;
                CK(cudaEventElapsedTime(&ms, e0, e1));
                dev.push_back(ms * 1e3);
            }
            MK(mpct_cuda_gemm_host(algo, m, n, k, A.data(), B.data(), C.data(), 0));
            for (int r = 0; r < host_runs; r++) {
                t = now();
                MK(mpct_cuda_gemm_host(algo, m, n, k, A.data(), B.data(), C.data(), 0));
                h2h.push_back((now() - t) * 1e6);
            }
            int exact_h = memcmp(C.data(), Cref.data(), m * n * 8) == 0;
            wrong += !exact_h;
            double dmed = median(dev), hmed = median(h2h);
            double gmacs = (double)m * n * k / (dmed * 1e-6) / 1e9;
            printf("%s    {\"m\": %zu, \"k\": %zu, \"n\": %zu, \"variant\": \"%s\", "
                   "\"dev_median_us\": %.2f, \"dev_min_us\": %.2f, \"dev_runs\": %d, "
                   "\"h2h_median_us\": %.2f, \"h2h_runs\": %d, \"gmac_per_s\": %.1f, "
                   "\"cpu_ref_s\": %.4f, \"speedup_dev_vs_cpu\": %.1f, "
                   "\"speedup_h2h_vs_cpu\": %.1f, \"exact\": %s}",
                   first ? "" : ",\n", m, k, n, mpct_cuda_gemm_algo_str(algo), dmed,
                   *std::min_element(dev.begin(), dev.end()), dev_runs, hmed, host_runs, gmacs,
                   cpu_s, cpu_s / (dmed * 1e-6), cpu_s / (hmed * 1e-6),
                   exact && exact_h ? "true" : "false");
            first = 0;
            fprintf(stderr, "%4zu,%4zu,%4zu     %-11s %10.1f %10.1f %9.1f %8.0fx %s\n", m, k, n,
                    mpct_cuda_gemm_algo_str(algo), dmed, hmed, cpu_s * 1e3, cpu_s / (dmed * 1e-6),
                    exact && exact_h ? "yes" : "NO");
        }
        CK(cudaFree(dA));
        CK(cudaFree(dB));
        CK(cudaFree(dC));
    }
    printf("\n  ],\n");

    /* elementwise mul over 128 x 3072 */
    {
        size_t n = 128 * 3072;
        std::vector<uint64_t> a(n), b(n), c(n);
        for (size_t i = 0; i < n; i++) a[i] = rnd(), b[i] = rnd();
        uint64_t *da, *db, *dc;
        CK(cudaMalloc(&da, n * 8));
        CK(cudaMalloc(&db, n * 8));
        CK(cudaMalloc(&dc, n * 8));
        CK(cudaMemcpy(da, a.data(), n * 8, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(db, b.data(), n * 8, cudaMemcpyHostToDevice));
        std::vector<double> dev, h2h;
        for (int r = 0; r < 3 + dev_runs; r++) {
            CK(cudaEventRecord(e0, st));
            MK(mpct_cuda_ew_dev(MPCT_CUDA_EW_MUL, n, da, NULL, db, NULL, NULL, dc, st));
            CK(cudaEventRecord(e1, st));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (r >= 3) dev.push_back(ms * 1e3);
        }
        const mpct_kernels *t = mpct_kernels_cuda();
        t->mul(n, a.data(), b.data(), c.data());
        for (int r = 0; r < host_runs; r++) {
            double t0 = now();
            t->mul(n, a.data(), b.data(), c.data());
            h2h.push_back((now() - t0) * 1e6);
        }
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += c[i] != a[i] * b[i];
        wrong += bad != 0;
        double t0 = now();
        for (size_t i = 0; i < n; i++) c[i] = a[i] * b[i];
        double cpu_us = (now() - t0) * 1e6;
        double dmed = median(dev);
        printf("  \"ew_mul\": {\"n\": %zu, \"dev_median_us\": %.2f, \"dev_GBps\": %.1f, "
               "\"h2h_median_us\": %.2f, \"cpu_loop_us\": %.1f, \"exact\": %s},\n",
               n, dmed, 3.0 * n * 8 / (dmed * 1e-6) / 1e9, median(h2h), cpu_us,
               bad ? "false" : "true");
        fprintf(stderr, "ew_mul n=%zu: dev %.1f us, h2h %.1f us, cpu loop %.1f us%s\n", n, dmed,
                median(h2h), cpu_us, bad ? "  WRONG" : "");
        CK(cudaFree(da));
        CK(cudaFree(db));
        CK(cudaFree(dc));
    }

    /* PRF throughput */
    {
        size_t n = (size_t)1 << 26;
        uint64_t *d;
        CK(cudaMalloc(&d, n * 8));
        uint8_t key[16];
        for (int i = 0; i < 16; i++) key[i] = (uint8_t)rnd();
        std::vector<double> dev;
        for (int r = 0; r < 13; r++) {
            CK(cudaEventRecord(e0, st));
            MK(mpct_cuda_prf_fill_dev(key, 1, 12345, d, n, st));
            CK(cudaEventRecord(e1, st));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (r >= 3) dev.push_back(ms * 1e3);
        }
        double dmed = median(dev);
        printf("  \"prf\": {\"words\": %zu, \"dev_median_us\": %.1f, \"GBps\": %.1f, "
               "\"Gwords_per_s\": %.2f},\n",
               n, dmed, n * 8 / (dmed * 1e-6) / 1e9, n / (dmed * 1e-6) / 1e9);
        fprintf(stderr, "prf: %zu words in %.1f us = %.1f GB/s\n", n, dmed,
                n * 8 / (dmed * 1e-6) / 1e9);
        CK(cudaFree(d));
    }
    mpct_cuda_pool_stats ps = mpct_cuda_pool_stats_get();
    printf("  \"pool\": {\"dev_bytes\": %zu, \"pinned_bytes\": %zu, \"dev_grows\": %zu, "
           "\"pinned_grows\": %zu},\n",
           ps.dev_bytes, ps.pinned_bytes, ps.dev_grows, ps.pinned_grows);
    printf("  \"all_exact\": %s\n}\n", wrong ? "false" : "true");
    mpct_cuda_shutdown();
    return wrong ? 1 : 0;
}
