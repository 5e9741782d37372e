/*
 * cpu-local.h — private to kernels/: the "cpu" backend's local-step entries
 * (cpu_local.c) and layout entries (cpu_layout.c), for the backend's table
 * in cpu.c. Semantics: the entries of the same names in mpct_kernels.h.
 */
#ifndef MPCT_KERNELS_CPU_LOCAL_H
#define MPCT_KERNELS_CPU_LOCAL_H

#include "mpct_kernels.h"

int mpct_cpu_gather(size_t m, size_t n, size_t k, const uint64_t *A0, const uint64_t *A1, const uint64_t *B,
                    uint64_t *C);
void mpct_cpu_low32(size_t n, const uint64_t *in, uint32_t *out);
void mpct_cpu_bit_pack(size_t n, const uint64_t *x, unsigned lk, uint64_t m, uint64_t *out);
void mpct_cpu_bit_unpack(size_t n, const uint64_t *in, unsigned lk, uint64_t m, uint64_t *x);
void mpct_cpu_sar_sum(size_t n, const uint64_t *a, const uint64_t *b, unsigned d, uint64_t *out);
void mpct_cpu_sar_neg(size_t n, const uint64_t *a, unsigned d, uint64_t *out);
void mpct_cpu_add3(size_t n, const uint64_t *a, const uint64_t *b, const uint64_t *c, int c_neg, uint64_t k,
                   uint64_t mask, uint64_t *out);
void mpct_cpu_trunc_split(size_t n, const uint64_t *c, unsigned d, unsigned L, const uint64_t *a1,
                          const uint64_t *b1, uint64_t *a0, uint64_t *b0);
void mpct_cpu_trunc_bm(size_t n, unsigned L, unsigned d, const uint64_t *b, const uint64_t *r, const uint64_t *plus,
                       const uint64_t *minus, uint64_t *t_out, const uint64_t *a, uint64_t *o);
void mpct_cpu_shl_add(size_t n, const uint64_t *a, const uint64_t *t, unsigned sh, uint64_t *out);
void mpct_cpu_mul_scalar(size_t n, const uint64_t *a, uint64_t c, uint64_t *out);
void mpct_cpu_rope(size_t rows, size_t heads, size_t hd, const uint64_t *x, const uint64_t *cs, uint64_t *out);
void mpct_cpu_add_rows(size_t rows, size_t n, const uint64_t *a, const uint64_t *b, size_t period, uint64_t *out);
void mpct_cpu_copy_rows(size_t rows, size_t n, const uint64_t *src, size_t src_stride, uint64_t *dst,
                        size_t dst_stride);
void mpct_cpu_sum_rows(size_t groups, size_t t, size_t n, const uint64_t *src, uint64_t *out);
void mpct_cpu_bcast_rows(size_t rows, size_t n, const uint64_t *v, uint64_t *out);
void mpct_cpu_head_split(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, size_t stride,
                         int transpose, uint64_t *dst);
void mpct_cpu_head_merge(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, uint64_t *dst);
void mpct_cpu_wire_pack(size_t n, const uint64_t *v, unsigned wb, uint8_t *out);
void mpct_cpu_wire_unpack(size_t n, const uint8_t *in, unsigned wb, unsigned sh, uint64_t *v);
void mpct_cpu_trunc_mb(size_t n, unsigned L, unsigned d, const uint64_t *r, const uint64_t *p, uint64_t *out);

#endif
