/*
 * cpu_local.c — the "cpu" backend's local-step entries (mpct_kernels.h):
 * the client's row gather, low halves, the comparison's bit packing, the
 * truncations' shift and correction passes, the product by a public
 * scalar and RoPE's rotation. Same results as "ref" bit for bit.
 *
 * ISA: the passes are compiled once per instruction set of the backend
 * (scalar, AVX2, AVX-512; gcc vectorises each loop for its target) and
 * picked with the GEMM's (mpct_kernels_cpu_isa, cpu-impl.h). Bit packing
 * has its own switch: BMI2 pext/pdep where the CPU has them, else loops
 * over the mask's set bits; MPCT_NO_BMI2=1 or mpct_kernels_cpu_bmi2_set(0)
 * forces the loops. The packed layout is the same either way, so parties
 * on different paths agree.
 *
 * Invariants: one thread (the calls are short passes inside a protocol
 * step); outputs may alias inputs element for element, so no restrict.
 */
#include "cpu-impl.h"
#include "cpu-local.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LOC_X86 1
#include <immintrin.h>
#else
#define LOC_X86 0
#endif

static inline uint64_t ones(unsigned w) { return w >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1; }
static inline uint64_t sar(uint64_t v, unsigned d) { return (uint64_t)((int64_t)v >> d); }
/* msb_L(r) 2^(L-d) - (r >> d), without a branch on msb */
static inline uint64_t mb(uint64_t r, unsigned L, unsigned d) { return ((r >> (L - 1)) << (L - d)) - (r >> d); }

/* One set of passes per ISA. NULL-operand cases get loops of their own so
 * that each loop body is branch-free. */
#define LOCAL_DEFINE(ATTR, SUF)                                                                                  \
    ATTR static void sar_sum_##SUF(size_t n, const uint64_t *a, const uint64_t *b, unsigned d, uint64_t *out)    \
    {                                                                                                            \
        if (b)                                                                                                   \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = sar(a[i] + b[i], d);                                                                    \
        else                                                                                                     \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = sar(a[i], d);                                                                           \
    }                                                                                                            \
    ATTR static void sar_neg_##SUF(size_t n, const uint64_t *a, unsigned d, uint64_t *out)                       \
    {                                                                                                            \
        for (size_t i = 0; i < n; i++)                                                                           \
            out[i] = 0 - sar(0 - a[i], d);                                                                       \
    }                                                                                                            \
    ATTR static void add3_##SUF(size_t n, const uint64_t *a, const uint64_t *b, const uint64_t *c, int c_neg,    \
                                uint64_t k, uint64_t mask, uint64_t *out)                                        \
    {                                                                                                            \
        if (b && c && c_neg)                                                                                     \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = (a[i] - c[i] + b[i] + k) & mask;                                                        \
        else if (b && c)                                                                                         \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = (a[i] + c[i] + b[i] + k) & mask;                                                        \
        else if (c && c_neg)                                                                                     \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = (a[i] - c[i] + k) & mask;                                                               \
        else if (b || c) {                                                                                       \
            const uint64_t *bc = b ? b : c;                                                                      \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = (a[i] + bc[i] + k) & mask;                                                              \
        } else                                                                                                   \
            for (size_t i = 0; i < n; i++)                                                                       \
                out[i] = (a[i] + k) & mask;                                                                      \
    }                                                                                                            \
    ATTR static void trunc_split_##SUF(size_t n, const uint64_t *c, unsigned d, unsigned L, const uint64_t *a1,  \
                                       const uint64_t *b1, uint64_t *a0, uint64_t *b0)                           \
    {                                                                                                            \
        const uint64_t dm = ones(64 - L + d), bias = (uint64_t)1 << (L - 2 - d);                                 \
        for (size_t i = 0; i < n; i++) {                                                                         \
            a0[i] = (c[i] >> d) - bias - a1[i];                                                                  \
            b0[i] = ((c[i] >> (L - 1)) - b1[i]) & dm;                                                            \
        }                                                                                                        \
    }                                                                                                            \
    ATTR static void trunc_bm_##SUF(size_t n, unsigned L, unsigned d, const uint64_t *b, const uint64_t *r,      \
                                    const uint64_t *plus, const uint64_t *minus, uint64_t *t_out,                \
                                    const uint64_t *a, uint64_t *o)                                              \
    {                                                                                                            \
        const unsigned sh = L - d;                                                                               \
        const uint64_t dm = ones(64 - sh);                                                                       \
        if (!minus && a)                                                                                         \
            for (size_t i = 0; i < n; i++) {                                                                     \
                const uint64_t t = ((b[i] & (0 - (r[i] >> (L - 1)))) + plus[i]) & dm;                            \
                t_out[i] = t;                                                                                    \
                o[i] = a[i] - (t << sh);                                                                         \
            }                                                                                                    \
        else                                                                                                     \
            for (size_t i = 0; i < n; i++) {                                                                     \
                const uint64_t t = ((b[i] & (0 - (r[i] >> (L - 1)))) + plus[i] - (minus ? minus[i] : 0)) & dm;   \
                const uint64_t base = a ? a[i] : mb(r[i], L, d);                                                 \
                t_out[i] = t;                                                                                    \
                o[i] = base - (t << sh);                                                                         \
            }                                                                                                    \
    }                                                                                                            \
    ATTR static void shl_add_##SUF(size_t n, const uint64_t *a, const uint64_t *t, unsigned sh, uint64_t *out)   \
    {                                                                                                            \
        for (size_t i = 0; i < n; i++)                                                                           \
            out[i] = a[i] + (t[i] << sh);                                                                        \
    }                                                                                                            \
    ATTR static void trunc_mb_##SUF(size_t n, unsigned L, unsigned d, const uint64_t *r, const uint64_t *p,      \
                                    uint64_t *out)                                                               \
    {                                                                                                            \
        for (size_t i = 0; i < n; i++)                                                                           \
            out[i] = mb(r[i], L, d) - p[i];                                                                      \
    }                                                                                                            \
    ATTR static void low32_##SUF(size_t n, const uint64_t *in, uint32_t *out)                                    \
    {                                                                                                            \
        for (size_t i = 0; i < n; i++)                                                                           \
            out[i] = (uint32_t)in[i];                                                                            \
    }                                                                                                            \
    ATTR static void mul_scalar_##SUF(size_t n, const uint64_t *a, uint64_t c, uint64_t *out)                    \
    {                                                                                                            \
        for (size_t i = 0; i < n; i++)                                                                           \
            out[i] = a[i] * c;                                                                                   \
    }                                                                                                            \
    ATTR static void axpy_##SUF(size_t n, uint64_t v, const uint64_t *row, uint64_t *o)                          \
    {                                                                                                            \
        for (size_t q = 0; q < n; q++)                                                                           \
            o[q] += v * row[q];                                                                                  \
    }                                                                                                            \
    ATTR static void rope_##SUF(size_t rows, size_t heads, size_t hd, const uint64_t *x, const uint64_t *cs,     \
                                uint64_t *out)                                                                   \
    {                                                                                                            \
        const size_t h2 = hd / 2;                                                                                \
        for (size_t r = 0; r < rows; r++)                                                                        \
            for (size_t h = 0; h < heads; h++) {                                                                 \
                const uint64_t *c = cs + r * hd, *s = c + h2, *a = x + (r * heads + h) * hd, *b = a + h2;        \
                uint64_t *o = out + (r * heads + h) * hd, *p = o + h2;                                           \
                for (size_t i = 0; i < h2; i++)                                                                  \
                    o[i] = a[i] * c[i] - b[i] * s[i];                                                            \
                for (size_t i = 0; i < h2; i++)                                                                  \
                    p[i] = b[i] * c[i] + a[i] * s[i];                                                            \
            }                                                                                                    \
    }

LOCAL_DEFINE(, scalar)
#if LOC_X86
LOCAL_DEFINE(__attribute__((target("avx2"))), avx2)
LOCAL_DEFINE(__attribute__((target("avx512f,avx512dq,avx512vl"))), avx512)
#define LOC_PICK(name) \
    (mpct_kernels_cpu_isa() == MPCT_CPU_ISA_AVX512 ? name##_avx512 \
     : mpct_kernels_cpu_isa() == MPCT_CPU_ISA_AVX2 ? name##_avx2 : name##_scalar)
#else
#define LOC_PICK(name) name##_scalar
#endif

void mpct_cpu_sar_sum(size_t n, const uint64_t *a, const uint64_t *b, unsigned d, uint64_t *out)
{
    LOC_PICK(sar_sum)(n, a, b, d, out);
}
void mpct_cpu_sar_neg(size_t n, const uint64_t *a, unsigned d, uint64_t *out) { LOC_PICK(sar_neg)(n, a, d, out); }
void mpct_cpu_add3(size_t n, const uint64_t *a, const uint64_t *b, const uint64_t *c, int c_neg, uint64_t k,
                   uint64_t mask, uint64_t *out)
{
    LOC_PICK(add3)(n, a, b, c, c_neg, k, mask, out);
}
void mpct_cpu_trunc_split(size_t n, const uint64_t *c, unsigned d, unsigned L, const uint64_t *a1,
                          const uint64_t *b1, uint64_t *a0, uint64_t *b0)
{
    LOC_PICK(trunc_split)(n, c, d, L, a1, b1, a0, b0);
}
void mpct_cpu_trunc_bm(size_t n, unsigned L, unsigned d, const uint64_t *b, const uint64_t *r, const uint64_t *plus,
                       const uint64_t *minus, uint64_t *t_out, const uint64_t *a, uint64_t *o)
{
    LOC_PICK(trunc_bm)(n, L, d, b, r, plus, minus, t_out, a, o);
}
void mpct_cpu_shl_add(size_t n, const uint64_t *a, const uint64_t *t, unsigned sh, uint64_t *out)
{
    LOC_PICK(shl_add)(n, a, t, sh, out);
}
void mpct_cpu_trunc_mb(size_t n, unsigned L, unsigned d, const uint64_t *r, const uint64_t *p, uint64_t *out)
{
    LOC_PICK(trunc_mb)(n, L, d, r, p, out);
}
void mpct_cpu_low32(size_t n, const uint64_t *in, uint32_t *out) { LOC_PICK(low32)(n, in, out); }
void mpct_cpu_mul_scalar(size_t n, const uint64_t *a, uint64_t c, uint64_t *out)
{
    LOC_PICK(mul_scalar)(n, a, c, out);
}

void mpct_cpu_rope(size_t rows, size_t heads, size_t hd, const uint64_t *x, const uint64_t *cs, uint64_t *out)
{
    LOC_PICK(rope)(rows, heads, hd, x, cs, out);
}

/* Per row: its non-zeros (at most 8), then C's row as their sum of B's
 * rows times the values, one vectorised pass per non-zero. */
int mpct_cpu_gather(size_t m, size_t n, size_t k, const uint64_t *A0, const uint64_t *A1, const uint64_t *B,
                    uint64_t *C)
{
    enum { MAXNZ = 8 };
    if (!k)
        return 0;
    void (*const axpy)(size_t, uint64_t, const uint64_t *, uint64_t *) = LOC_PICK(axpy);
    for (size_t r = 0; r < m; r++) {
        size_t idx[MAXNZ], nz = 0;
        uint64_t val[MAXNZ];
        const uint64_t *x0 = A0 + r * k, *x1 = A1 + r * k;
        for (size_t q = 0; q < k; q++) {
            const uint64_t v = x0[q] + x1[q];
            if (v) {
                if (nz == MAXNZ)
                    return 0;
                idx[nz] = q;
                val[nz++] = v;
            }
        }
        if (!nz) { /* the same work as a one-hot row: no timing by token count */
            idx[0] = 0;
            val[nz++] = 0;
        }
        uint64_t *o = C + r * n;
        memset(o, 0, n * sizeof *o);
        for (size_t t = 0; t < nz; t++)
            axpy(n, val[t], B + idx[t] * n, o);
    }
    return 1;
}

/* ------------------------------------------------------------ bit packing */

static uint64_t pext_loop(uint64_t x, uint64_t m)
{
    uint64_t r = 0;
    for (uint64_t bit = 1; m; bit <<= 1, m &= m - 1)
        if (x & m & (0 - m))
            r |= bit;
    return r;
}

static uint64_t pdep_loop(uint64_t x, uint64_t m)
{
    uint64_t r = 0;
    for (uint64_t bit = 1; m; bit <<= 1, m &= m - 1)
        if (x & bit)
            r |= m & (0 - m);
    return r;
}

/* 2^(6-lk) elements per packed word, each 2^lk bits wide. */
#define PACK_LOOPS(SUFFIX, PEXT, PDEP, ATTR)                                                                 \
    ATTR static void pack_##SUFFIX(size_t n, const uint64_t *x, unsigned lk, uint64_t m, uint64_t *out)      \
    {                                                                                                        \
        const unsigned le = 6 - lk;                                                                          \
        const size_t em = ((size_t)1 << le) - 1, words = (n + em) >> le;                                     \
        for (size_t w = 0; w < words; w++) {                                                                 \
            const size_t e0 = w << le, e1 = e0 + em + 1 < n ? e0 + em + 1 : n;                               \
            uint64_t acc = 0;                                                                                \
            for (size_t e = e0; e < e1; e++)                                                                 \
                acc |= PEXT(x[e], m) << ((e & em) << lk);                                                    \
            out[w] = acc;                                                                                    \
        }                                                                                                    \
    }                                                                                                        \
    ATTR static void unpack_##SUFFIX(size_t n, const uint64_t *in, unsigned lk, uint64_t m, uint64_t *x)     \
    {                                                                                                        \
        const unsigned le = 6 - lk;                                                                          \
        const size_t em = ((size_t)1 << le) - 1;                                                             \
        const uint64_t km = ones(1u << lk);                                                                  \
        for (size_t e = 0; e < n; e++)                                                                       \
            x[e] = PDEP((in[e >> le] >> ((e & em) << lk)) & km, m);                                          \
    }

PACK_LOOPS(loop, pext_loop, pdep_loop, )

static int bmi2_on = -1; /* -1: not decided yet */

int mpct_kernels_cpu_bmi2_supported(void)
{
#if LOC_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("bmi2") != 0;
#else
    return 0;
#endif
}

int mpct_kernels_cpu_bmi2(void)
{
    int v = __atomic_load_n(&bmi2_on, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("MPCT_NO_BMI2");
        v = mpct_kernels_cpu_bmi2_supported() && !(e && !strcmp(e, "1"));
        __atomic_store_n(&bmi2_on, v, __ATOMIC_RELAXED);
    }
    return v;
}

int mpct_kernels_cpu_bmi2_set(int on)
{
    if (on && !mpct_kernels_cpu_bmi2_supported())
        return 0;
    __atomic_store_n(&bmi2_on, on ? 1 : 0, __ATOMIC_RELAXED);
    return 1;
}

#if LOC_X86
#define BMI2_TARGET __attribute__((target("bmi2")))
BMI2_TARGET static inline uint64_t pext_hw(uint64_t x, uint64_t m) { return _pext_u64(x, m); }
BMI2_TARGET static inline uint64_t pdep_hw(uint64_t x, uint64_t m) { return _pdep_u64(x, m); }
PACK_LOOPS(bmi2, pext_hw, pdep_hw, BMI2_TARGET)
#else
#define pack_bmi2 pack_loop
#define unpack_bmi2 unpack_loop
#endif

void mpct_cpu_bit_pack(size_t n, const uint64_t *x, unsigned lk, uint64_t m, uint64_t *out)
{
    (mpct_kernels_cpu_bmi2() ? pack_bmi2 : pack_loop)(n, x, lk, m, out);
}

void mpct_cpu_bit_unpack(size_t n, const uint64_t *in, unsigned lk, uint64_t m, uint64_t *x)
{
    (mpct_kernels_cpu_bmi2() ? unpack_bmi2 : unpack_loop)(n, in, lk, m, x);
}
