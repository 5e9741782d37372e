/*
 * ref.c — the plain C reference backend ("ref"): the semantics every other
 * backend must reproduce exactly. Simple loops, one element at a time, the
 * formulas of mpct_kernels.h written out; gcc -O3 vectorises what it can.
 * The bit packing extracts and deposits one mask bit at a time (no BMI2).
 */
#include "mpct_kernels.h"

#include <string.h>

static void ref_gemm(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                     uint64_t *C, int accumulate)
{
    if (!accumulate)
        memset(C, 0, m * n * sizeof *C);
    for (size_t i = 0; i < m; i++) {
        uint64_t *c = C + i * n;
        for (size_t p = 0; p < k; p++) {
            const uint64_t a = A[i * k + p];
            const uint64_t *b = B + p * n;
            for (size_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}

static void ref_add(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static void ref_sub(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

static void ref_mul(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

static void ref_mul_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a0[i] * (b0[i] + b1[i]) + a1[i] * b0[i] + z[i];
}

static void ref_xor(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] ^ b[i];
}

static void ref_and_cross(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                          const uint64_t *b1, const uint64_t *z, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (a0[i] & (b0[i] ^ b1[i])) ^ (a1[i] & b0[i]) ^ z[i];
}

static int ref_gather(size_t m, size_t n, size_t k, const uint64_t *A0, const uint64_t *A1, const uint64_t *B,
                      uint64_t *C)
{
    enum { MAXNZ = 8 };
    if (!k)
        return 0;
    for (size_t r = 0; r < m; r++) {
        size_t idx[MAXNZ], nz = 0;
        uint64_t val[MAXNZ];
        for (size_t q = 0; q < k; q++) {
            const uint64_t v = A0[r * k + q] + A1[r * k + q];
            if (!v)
                continue;
            if (nz == MAXNZ)
                return 0;
            idx[nz] = q;
            val[nz++] = v;
        }
        if (!nz) { /* an empty row does the work of a one-hot row */
            idx[0] = 0;
            val[nz++] = 0;
        }
        for (size_t j = 0; j < n; j++) {
            uint64_t s = 0;
            for (size_t t = 0; t < nz; t++)
                s += val[t] * B[idx[t] * n + j];
            C[r * n + j] = s;
        }
    }
    return 1;
}

static void ref_low32(size_t n, const uint64_t *in, uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint32_t)(in[i] & 0xffffffffu);
}

/* The mask's set bits from the lowest up: bit j of the result is x's bit
 * at the j-th of them (pext), or the other way round (pdep). */
static uint64_t ref_pext(uint64_t x, uint64_t m)
{
    uint64_t r = 0;
    unsigned j = 0;
    for (unsigned b = 0; b < 64; b++)
        if (m >> b & 1)
            r |= (x >> b & 1) << j++;
    return r;
}

static uint64_t ref_pdep(uint64_t x, uint64_t m)
{
    uint64_t r = 0;
    unsigned j = 0;
    for (unsigned b = 0; b < 64; b++)
        if (m >> b & 1)
            r |= (x >> j++ & 1) << b;
    return r;
}

static void ref_bit_pack(size_t n, const uint64_t *x, unsigned lk, uint64_t m, uint64_t *out)
{
    const size_t per = (size_t)64 >> lk, words = (n + per - 1) / per;
    for (size_t w = 0; w < words; w++)
        out[w] = 0;
    for (size_t e = 0; e < n; e++)
        out[e / per] |= ref_pext(x[e], m) << ((e % per) << lk);
}

static void ref_bit_unpack(size_t n, const uint64_t *in, unsigned lk, uint64_t m, uint64_t *x)
{
    const size_t per = (size_t)64 >> lk;
    const unsigned bits = 1u << lk;
    for (size_t e = 0; e < n; e++) {
        const uint64_t field = in[e / per] >> ((e % per) * bits);
        x[e] = ref_pdep(bits == 64 ? field : field & (((uint64_t)1 << bits) - 1), m);
    }
}

static uint64_t ref_sar(uint64_t v, unsigned d)
{
    return (uint64_t)((int64_t)v >> d);
}

static void ref_sar_sum(size_t n, const uint64_t *a, const uint64_t *b, unsigned d, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ref_sar(b ? a[i] + b[i] : a[i], d);
}

static void ref_sar_neg(size_t n, const uint64_t *a, unsigned d, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0 - ref_sar(0 - a[i], d);
}

static void ref_add3(size_t n, const uint64_t *a, const uint64_t *b, const uint64_t *c, int c_neg, uint64_t k,
                     uint64_t mask, uint64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = a[i] + k;
        if (b)
            v += b[i];
        if (c)
            v = c_neg ? v - c[i] : v + c[i];
        out[i] = v & mask;
    }
}

/* 2^w - 1 for w in [1, 64]. */
static uint64_t ref_ones(unsigned w)
{
    return w == 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1;
}

static void ref_trunc_split(size_t n, const uint64_t *c, unsigned d, unsigned L, const uint64_t *a1,
                            const uint64_t *b1, uint64_t *a0, uint64_t *b0)
{
    for (size_t i = 0; i < n; i++) {
        a0[i] = (c[i] >> d) - ((uint64_t)1 << (L - 2 - d)) - a1[i];
        b0[i] = ((c[i] >> (L - 1)) - b1[i]) & ref_ones(64 - L + d);
    }
}

/* msb_L(r) 2^(L-d) - (r >> d) */
static uint64_t ref_mb(uint64_t r, unsigned L, unsigned d)
{
    const uint64_t msb = r >> (L - 1) & 1;
    return msb * ((uint64_t)1 << (L - d)) - (r >> d);
}

static void ref_trunc_bm(size_t n, unsigned L, unsigned d, const uint64_t *b, const uint64_t *r,
                         const uint64_t *plus, const uint64_t *minus, uint64_t *t_out, const uint64_t *a,
                         uint64_t *o)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t msb = r[i] >> (L - 1) & 1;
        uint64_t t = (msb ? b[i] : 0) + plus[i];
        if (minus)
            t -= minus[i];
        t &= ref_ones(64 - L + d);
        const uint64_t base = a ? a[i] : ref_mb(r[i], L, d);
        t_out[i] = t;
        o[i] = base - t * ((uint64_t)1 << (L - d));
    }
}

static void ref_shl_add(size_t n, const uint64_t *a, const uint64_t *t, unsigned sh, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + t[i] * ((uint64_t)1 << sh);
}

static void ref_trunc_mb(size_t n, unsigned L, unsigned d, const uint64_t *r, const uint64_t *p, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ref_mb(r[i], L, d) - p[i];
}

/* everything but the optional gemm_bsum and gemm32 */
static void ref_mul_scalar(size_t n, const uint64_t *a, uint64_t c, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = c * a[i];
}

static void ref_rope(size_t rows, size_t heads, size_t hd, const uint64_t *x, const uint64_t *cs, uint64_t *out)
{
    const size_t h2 = hd / 2;
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *c = cs + r * hd, *s = c + h2;
        for (size_t h = 0; h < heads; h++) {
            const uint64_t *a = x + (r * heads + h) * hd;
            uint64_t *o = out + (r * heads + h) * hd;
            for (size_t i = 0; i < h2; i++) {
                o[i] = a[i] * c[i] - a[i + h2] * s[i];
                o[i + h2] = a[i + h2] * c[i] + a[i] * s[i];
            }
        }
    }
}

/* ---- layout steps and wire words ---- */

static void ref_add_rows(size_t rows, size_t n, const uint64_t *a, const uint64_t *b, size_t period, uint64_t *out)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            out[r * n + j] = a[r * n + j] + b[(r % period) * n + j];
}

static void ref_copy_rows(size_t rows, size_t n, const uint64_t *src, size_t src_stride, uint64_t *dst,
                          size_t dst_stride)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            dst[r * dst_stride + j] = src[r * src_stride + j];
}

static void ref_sum_rows(size_t groups, size_t t, size_t n, const uint64_t *src, uint64_t *out)
{
    for (size_t g = 0; g < groups; g++)
        for (size_t j = 0; j < n; j++) {
            uint64_t acc = 0;
            for (size_t i = 0; i < t; i++)
                acc += src[(g * t + i) * n + j];
            out[g * n + j] = acc;
        }
}

static void ref_bcast_rows(size_t rows, size_t n, const uint64_t *v, uint64_t *out)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            out[r * n + j] = v[r];
}

static void ref_head_split(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, size_t stride,
                           int transpose, uint64_t *dst)
{
    for (size_t bi = 0; bi < b; bi++)
        for (size_t ti = 0; ti < t; ti++)
            for (size_t hh = 0; hh < heads; hh++)
                for (size_t d = 0; d < dh; d++) {
                    const size_t g = bi * heads + hh;
                    const uint64_t v = src[(bi * t + ti) * stride + hh * dh + d];
                    if (transpose)
                        dst[(g * dh + d) * t + ti] = v;
                    else
                        dst[(g * t + ti) * dh + d] = v;
                }
}

static void ref_head_merge(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, uint64_t *dst)
{
    for (size_t bi = 0; bi < b; bi++)
        for (size_t hh = 0; hh < heads; hh++)
            for (size_t ti = 0; ti < t; ti++)
                for (size_t d = 0; d < dh; d++)
                    dst[(bi * t + ti) * heads * dh + hh * dh + d] = src[((bi * heads + hh) * t + ti) * dh + d];
}

static void ref_wire_pack(size_t n, const uint64_t *v, unsigned wb, uint8_t *out)
{
    if (wb == 8) { /* memory order */
        memcpy(out, v, n * 8);
        return;
    }
    for (size_t j = 0; j < n; j++)
        for (unsigned b = 0; b < wb; b++)
            out[j * wb + b] = (uint8_t)(v[j] >> (8 * b));
}

static void ref_wire_unpack(size_t n, const uint8_t *in, unsigned wb, unsigned sh, uint64_t *v)
{
    for (size_t j = 0; j < n; j++) {
        uint64_t w = 0;
        if (wb == 8)
            memcpy(&w, in + 8 * j, 8);
        else
            for (unsigned b = 0; b < wb; b++)
                w |= (uint64_t)in[j * wb + b] << (8 * b);
        v[j] = w << sh;
    }
}

static int ref_supports(mpct_kop op)
{
    return op >= 0 && op < MPCT_KOP_COUNT && op != MPCT_KOP_GEMM_BSUM && op != MPCT_KOP_GEMM32;
}

static const mpct_kernels ref_backend = {
    .name = "ref",
    .gemm = ref_gemm,
    .add = ref_add,
    .sub = ref_sub,
    .mul = ref_mul,
    .mul_cross = ref_mul_cross,
    .xor_ = ref_xor,
    .and_cross = ref_and_cross,
    .gather = ref_gather,
    .low32 = ref_low32,
    .bit_pack = ref_bit_pack,
    .bit_unpack = ref_bit_unpack,
    .sar_sum = ref_sar_sum,
    .sar_neg = ref_sar_neg,
    .add3 = ref_add3,
    .trunc_split = ref_trunc_split,
    .trunc_bm = ref_trunc_bm,
    .shl_add = ref_shl_add,
    .trunc_mb = ref_trunc_mb,
    .mul_scalar = ref_mul_scalar,
    .rope = ref_rope,
    .add_rows = ref_add_rows,
    .copy_rows = ref_copy_rows,
    .sum_rows = ref_sum_rows,
    .bcast_rows = ref_bcast_rows,
    .head_split = ref_head_split,
    .head_merge = ref_head_merge,
    .wire_pack = ref_wire_pack,
    .wire_unpack = ref_wire_unpack,
    .supports_op = ref_supports,
};

const mpct_kernels *mpct_kernels_ref(void) { return &ref_backend; }
