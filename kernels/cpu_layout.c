/*
 * cpu_layout.c — the "cpu" backend's layout entries (mpct_kernels.h): bias
 * and position rows, blocks of columns, row sums and broadcasts, attention
 * heads split and merged, and ring words packed for the wire. Same results
 * as "ref" bit for bit.
 *
 * The moves go a row (or a head's row) at a time with memcpy; the one
 * strided move, the transposed head split (K^T), goes through square tiles
 * so that reads and writes both stay within a few cache lines. Sums keep
 * four independent accumulators for a row of scalars and add whole rows
 * otherwise (gcc vectorises both). Wire words: on little-endian machines
 * whole words are stored at a stride of wb bytes (each store's excess
 * bytes are overwritten by the next one) and the common widths use 2- and
 * 4-byte stores, which vectorise; the last words and other machines go
 * byte by byte, as "ref" does.
 *
 * Invariants: one thread (short passes inside a protocol step or a model
 * pass); add_rows' out may alias a, no other overlap (mpct_kernels.h).
 */
#include "cpu-local.h"

#include <string.h>

void mpct_cpu_add_rows(size_t rows, size_t n, const uint64_t *a, const uint64_t *b, size_t period, uint64_t *out)
{
    for (size_t r = 0, p = 0; r < rows; r++, p = p + 1 == period ? 0 : p + 1) {
        const uint64_t *x = a + r * n, *y = b + p * n;
        uint64_t *o = out + r * n;
        for (size_t j = 0; j < n; j++)
            o[j] = x[j] + y[j];
    }
}

void mpct_cpu_copy_rows(size_t rows, size_t n, const uint64_t *src, size_t src_stride, uint64_t *dst,
                        size_t dst_stride)
{
    if (src_stride == n && dst_stride == n) {
        memcpy(dst, src, rows * n * sizeof *dst);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * dst_stride, src + r * src_stride, n * sizeof *dst);
}

void mpct_cpu_sum_rows(size_t groups, size_t t, size_t n, const uint64_t *src, uint64_t *out)
{
    if (n == 1) { /* the sum of each row of t words */
        for (size_t g = 0; g < groups; g++) {
            const uint64_t *x = src + g * t;
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            size_t i = 0;
            for (; i + 4 <= t; i += 4)
                s0 += x[i], s1 += x[i + 1], s2 += x[i + 2], s3 += x[i + 3];
            for (; i < t; i++)
                s0 += x[i];
            out[g] = s0 + s1 + s2 + s3;
        }
        return;
    }
    for (size_t g = 0; g < groups; g++) {
        uint64_t *o = out + g * n;
        memset(o, 0, n * sizeof *o);
        for (size_t i = 0; i < t; i++) {
            const uint64_t *x = src + (g * t + i) * n;
            for (size_t j = 0; j < n; j++)
                o[j] += x[j];
        }
    }
}

void mpct_cpu_bcast_rows(size_t rows, size_t n, const uint64_t *v, uint64_t *out)
{
    for (size_t r = 0; r < rows; r++) {
        const uint64_t x = v[r];
        uint64_t *o = out + r * n;
        for (size_t j = 0; j < n; j++)
            o[j] = x;
    }
}

/* dst (cols x rows, leading dimension ldd) = src (rows x cols, leading
 * dimension lds) transposed, in TILE x TILE tiles. */
enum { TILE = 16 };
static void transpose_tiles(size_t rows, size_t cols, const uint64_t *src, size_t lds, uint64_t *dst, size_t ldd)
{
    for (size_t i0 = 0; i0 < rows; i0 += TILE)
        for (size_t j0 = 0; j0 < cols; j0 += TILE) {
            const size_t i1 = i0 + TILE < rows ? i0 + TILE : rows, j1 = j0 + TILE < cols ? j0 + TILE : cols;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0; i < i1; i++)
                    dst[j * ldd + i] = src[i * lds + j];
        }
}

void mpct_cpu_head_split(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, size_t stride,
                         int transpose, uint64_t *dst)
{
    for (size_t bi = 0; bi < b; bi++)
        for (size_t hh = 0; hh < heads; hh++) {
            const uint64_t *s = src + bi * t * stride + hh * dh; /* t rows of dh, stride apart */
            uint64_t *d = dst + (bi * heads + hh) * t * dh;
            if (transpose)
                transpose_tiles(t, dh, s, stride, d, t);
            else
                for (size_t ti = 0; ti < t; ti++)
                    memcpy(d + ti * dh, s + ti * stride, dh * sizeof *d);
        }
}

void mpct_cpu_head_merge(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, uint64_t *dst)
{
    const size_t a = heads * dh;
    for (size_t bi = 0; bi < b; bi++)
        for (size_t hh = 0; hh < heads; hh++) {
            const uint64_t *s = src + (bi * heads + hh) * t * dh;
            uint64_t *d = dst + bi * t * a + hh * dh;
            for (size_t ti = 0; ti < t; ti++)
                memcpy(d + ti * a, s + ti * dh, dh * sizeof *d);
        }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CPU_LE 1
#else
#define CPU_LE 0
#endif

void mpct_cpu_wire_pack(size_t n, const uint64_t *v, unsigned wb, uint8_t *out)
{
    size_t j = 0;
    if (wb == 8) { /* memory order, as a message of whole words travels */
        memcpy(out, v, n * 8);
        return;
    }
    if (CPU_LE && wb == 2)
        for (; j < n; j++) {
            const uint16_t h = (uint16_t)v[j];
            memcpy(out + 2 * j, &h, 2);
        }
    else if (CPU_LE && wb == 4)
        for (; j < n; j++) {
            const uint32_t h = (uint32_t)v[j];
            memcpy(out + 4 * j, &h, 4);
        }
    else if (CPU_LE)
        for (; j * wb + 8 <= n * wb; j++)
            memcpy(out + j * wb, &v[j], 8);
    for (; j < n; j++)
        for (unsigned b = 0; b < wb; b++)
            out[j * wb + b] = (uint8_t)(v[j] >> (8 * b));
}

void mpct_cpu_wire_unpack(size_t n, const uint8_t *in, unsigned wb, unsigned sh, uint64_t *v)
{
    size_t j = 0;
    if (wb == 8)
        for (; j < n; j++) {
            uint64_t w;
            memcpy(&w, in + 8 * j, 8);
            v[j] = w << sh;
        }
    else if (CPU_LE && wb == 2)
        for (; j < n; j++) {
            uint16_t h;
            memcpy(&h, in + 2 * j, 2);
            v[j] = (uint64_t)h << sh;
        }
    else if (CPU_LE && wb == 4)
        for (; j < n; j++) {
            uint32_t h;
            memcpy(&h, in + 4 * j, 4);
            v[j] = (uint64_t)h << sh;
        }
    else if (CPU_LE) {
        const uint64_t mask = wb >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * wb)) - 1;
        for (; j * wb + 8 <= n * wb; j++) {
            uint64_t w;
            memcpy(&w, in + j * wb, 8);
            v[j] = (w & mask) << sh;
        }
    }
    for (; j < n; j++) {
        uint64_t w = 0;
        for (unsigned b = 0; b < wb; b++)
            w |= (uint64_t)in[j * wb + b] << (8 * b);
        v[j] = w << sh;
    }
}
