/*
 * mpct_kernels.h — local ring arithmetic over Z_2^64 behind a backend table.
 *
 * Every backend implements the same entries with the same semantics as the
 * plain C reference ("ref"); tests compare each backend with "ref" exactly
 * (tests/kernels/test_kernels_all.c runs every entry of mpct_kop on every
 * registered backend and fails on an entry it does not cover).
 * All pointers are host pointers; a device backend stages data itself.
 * Matrices are row-major and dense. Arithmetic wraps mod 2^64.
 *
 * Two groups of entries: ring arithmetic (GEMM and elementwise), and the
 * local steps of the share protocols (src/mpc) and the model passes
 * (src/model): the client's row gather, low-half extraction, the
 * comparison's bit packing, the truncations' shift and correction passes,
 * public constants added or multiplied in, RoPE's rotation by public
 * cos/sin, the layout steps (bias and position rows, blocks of columns,
 * row sums and broadcasts, attention heads split and merged, the KV
 * cache's rows) and ring words packed for the wire. src/mpc and src/model
 * call these through the table; the comparison's carry tree and the
 * non-linear functions' own loops stay in src/mpc. A backend may leave
 * the local-step entries NULL (a device backend whose data lives on the
 * host for them); the registry then fills them from "ref", so every table
 * it returns is complete except for the optional gemm_bsum and gemm32.
 *
 * Elementwise entries allow an output to alias an input element for
 * element (out == a); no other overlap.
 *
 * Kernels never include mpi.h and never allocate secrets they do not wipe.
 */
#ifndef MPCT_KERNELS_H
#define MPCT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The table's function entries, in order: X(OP, member, "name"). */
#define MPCT_KOP_LIST(X)                                                                                       \
    X(GEMM, gemm, "gemm") X(ADD, add, "add") X(SUB, sub, "sub") X(MUL, mul, "mul")                               \
    X(MUL_CROSS, mul_cross, "mul_cross") X(XOR, xor_, "xor") X(AND_CROSS, and_cross, "and_cross")                 \
    X(GEMM_BSUM, gemm_bsum, "gemm_bsum") X(GEMM32, gemm32, "gemm32") X(GATHER, gather, "gather")                  \
    X(LOW32, low32, "low32") X(BIT_PACK, bit_pack, "bit_pack") X(BIT_UNPACK, bit_unpack, "bit_unpack")            \
    X(SAR_SUM, sar_sum, "sar_sum") X(SAR_NEG, sar_neg, "sar_neg") X(ADD3, add3, "add3")                           \
    X(TRUNC_SPLIT, trunc_split, "trunc_split") X(TRUNC_BM, trunc_bm, "trunc_bm") X(SHL_ADD, shl_add, "shl_add")   \
    X(TRUNC_MB, trunc_mb, "trunc_mb") X(MUL_SCALAR, mul_scalar, "mul_scalar") X(ROPE, rope, "rope")            \
    X(ADD_ROWS, add_rows, "add_rows") X(COPY_ROWS, copy_rows, "copy_rows") X(SUM_ROWS, sum_rows, "sum_rows")     \
    X(BCAST_ROWS, bcast_rows, "bcast_rows") X(HEAD_SPLIT, head_split, "head_split")                             \
    X(HEAD_MERGE, head_merge, "head_merge") X(WIRE_PACK, wire_pack, "wire_pack")                                \
    X(WIRE_UNPACK, wire_unpack, "wire_unpack")

#define MPCT_KOP_ENUM_(op, member, name) MPCT_KOP_##op,
typedef enum mpct_kop {
    MPCT_KOP_LIST(MPCT_KOP_ENUM_)
    MPCT_KOP_COUNT /* one per function entry of mpct_kernels (registry.c checks) */
} mpct_kop;
#undef MPCT_KOP_ENUM_

typedef struct mpct_kernels {
    const char *name;
    /* C[m x n] = A[m x k] * B[k x n]            (accumulate == 0)
     * C[m x n] += A[m x k] * B[k x n]           (accumulate != 0) */
    void (*gemm)(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B,
                 uint64_t *C, int accumulate);
    /* C (=|+=) A (B0 + B1), the sum formed while B is packed: no B0 + B1
     * buffer and no pass of its own. Optional: NULL where a backend lacks
     * it (callers then add and gemm). */
    void (*gemm_bsum)(size_t m, size_t n, size_t k, const uint64_t *A, const uint64_t *B0, const uint64_t *B1,
                      uint64_t *C, int accumulate);
    /* C[m x n] = A[m x k] * B[k x n] mod 2^32: A's words are read through
     * their low 32 bits, B is 32-bit words, C gets 64-bit words holding the
     * result zero-extended (the low halves of gemm's C). For products whose
     * value is known to fit 32 bits (the caller lifts them back to Z_2^64),
     * at twice the 64-bit GEMM's lanes. Optional: NULL where a backend
     * lacks it (callers then use gemm). */
    void (*gemm32)(size_t m, size_t n, size_t k, const uint64_t *A, const uint32_t *B, uint64_t *C);
    void (*add)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    void (*sub)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    void (*mul)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    /* Replicated-share cross term: out = a0*b0 + a0*b1 + a1*b0 + z. */
    void (*mul_cross)(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                      const uint64_t *b1, const uint64_t *z, uint64_t *out);
    void (*xor_)(size_t n, const uint64_t *a, const uint64_t *b, uint64_t *out);
    /* Boolean cross term: out = (a0&b0) ^ (a0&b1) ^ (a1&b0) ^ z. */
    void (*and_cross)(size_t n, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                      const uint64_t *b1, const uint64_t *z, uint64_t *out);

    /* ---- local steps of the share protocols ---- */
    /* Row gather, C[m x n] = (A0 + A1)[m x k] * B[k x n] for a sparse
     * A0 + A1: per row, the sum of its non-zeros times B's rows. Every row
     * costs the same (an all-zero row adds 0 times row 0). Returns 0, with
     * C partly written, when a row has more than 8 non-zeros (the caller
     * then runs a GEMM); 0 for k == 0. */
    int (*gather)(size_t m, size_t n, size_t k, const uint64_t *A0, const uint64_t *A1, const uint64_t *B,
                  uint64_t *C);
    /* out[i] = the low 32 bits of in[i]. */
    void (*low32)(size_t n, const uint64_t *in, uint32_t *out);
    /* Bit packing, lk < 6, mask m with 2^lk bits set: the bits of x[e] at
     * m's positions, in order (pext), land at bits [(e mod 2^(6-lk)) 2^lk,
     * + 2^lk) of out[e >> (6 - lk)]; the last word's unused bits are 0.
     * bit_unpack is its inverse onto m's positions (pdep), other bits 0. */
    void (*bit_pack)(size_t n, const uint64_t *x, unsigned lk, uint64_t m, uint64_t *out);
    void (*bit_unpack)(size_t n, const uint64_t *in, unsigned lk, uint64_t m, uint64_t *x);
    /* out = (a + b) >> d, arithmetic (b NULL: a >> d); d < 64. */
    void (*sar_sum)(size_t n, const uint64_t *a, const uint64_t *b, unsigned d, uint64_t *out);
    /* out = -((-a) >> d), arithmetic; d < 64. */
    void (*sar_neg)(size_t n, const uint64_t *a, unsigned d, uint64_t *out);
    /* out = (a + b + c + k) & mask, c subtracted instead when c_neg; b or
     * c NULL: left out. */
    void (*add3)(size_t n, const uint64_t *a, const uint64_t *b, const uint64_t *c, int c_neg, uint64_t k,
                 uint64_t mask, uint64_t *out);
    /* The exact truncation's split of an opened c < 2^L (32 <= L <= 64,
     * d <= L - 2): a0 = (c >> d) - 2^(L-2-d) - a1 and
     * b0 = ((c >> (L-1)) - b1) mod 2^(64-L+d). */
    void (*trunc_split)(size_t n, const uint64_t *c, unsigned d, unsigned L, const uint64_t *a1,
                        const uint64_t *b1, uint64_t *a0, uint64_t *b0);
    /* The exact truncation's b M term, M = msb_L(r) 2^(L-d) (r < 2^L):
     * t = ((b if msb_L(r) else 0) + plus - minus) mod 2^(64-L+d), minus NULL
     * for 0; t_out = t, o = a - (t << (L-d)) with a NULL for
     * msb_L(r) 2^(L-d) - (r >> d). t_out may alias plus or minus.
     * 1 <= L-d <= 63. */
    void (*trunc_bm)(size_t n, unsigned L, unsigned d, const uint64_t *b, const uint64_t *r, const uint64_t *plus,
                     const uint64_t *minus, uint64_t *t_out, const uint64_t *a, uint64_t *o);
    /* out = a + (t << sh); sh < 64. */
    void (*shl_add)(size_t n, const uint64_t *a, const uint64_t *t, unsigned sh, uint64_t *out);
    /* out = msb_L(r) 2^(L-d) - (r >> d) - p (r < 2^L; 1 <= L-d <= 63). */
    void (*trunc_mb)(size_t n, unsigned L, unsigned d, const uint64_t *r, const uint64_t *p, uint64_t *out);
    /* out = a * c (c = 2^64 - 1 negates). */
    void (*mul_scalar)(size_t n, const uint64_t *a, uint64_t c, uint64_t *out);
    /* RoPE's rotation by public ring constants, HF's rotate_half pairing:
     * x is rows x (heads hd), hd even, h2 = hd/2; cs is rows x hd, row r
     * holding cos in [0, h2) and sin in [h2, hd); for every row and head,
     * out[i] = x[i] c[i] - x[i + h2] s[i] and
     * out[i + h2] = x[i + h2] c[i] + x[i] s[i], i < h2. out must not
     * overlap x (the exception to the aliasing rule above). */
    void (*rope)(size_t rows, size_t heads, size_t hd, const uint64_t *x, const uint64_t *cs, uint64_t *out);

    /* ---- layout steps of the model passes (src/model) and of src/mpc ---- */
    /* out[r][j] = a[r][j] + b[r mod period][j], rows of n words, period >= 1
     * (a bias row: period 1; position rows: period = tokens per input). */
    void (*add_rows)(size_t rows, size_t n, const uint64_t *a, const uint64_t *b, size_t period, uint64_t *out);
    /* dst[r dst_stride + j] = src[r src_stride + j], j < n: a block of
     * columns of a matrix into another (strides in words, >= n). dst must
     * not overlap src. */
    void (*copy_rows)(size_t rows, size_t n, const uint64_t *src, size_t src_stride, uint64_t *dst,
                      size_t dst_stride);
    /* out[g][j] = sum over i < t of src[g t + i][j]: the sums of each group
     * of t consecutive rows of n words (n = 1: the sum of every row of t
     * words). out must not overlap src. */
    void (*sum_rows)(size_t groups, size_t t, size_t n, const uint64_t *src, uint64_t *out);
    /* out[r][j] = v[r], rows of n words. out must not overlap v. */
    void (*bcast_rows)(size_t rows, size_t n, const uint64_t *v, uint64_t *out);
    /* Attention heads out of b t rows (stride words apart, heads of dh
     * words side by side from src): for input bi, token ti, head hh and
     * g = bi heads + hh, src[(bi t + ti) stride + hh dh + d] goes to
     * dst[(g t + ti) dh + d] (transpose 0: per head t x dh), or to
     * dst[(g dh + d) t + ti] (transpose 1: dh x t). dst must not overlap
     * src. */
    void (*head_split)(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, size_t stride,
                       int transpose, uint64_t *dst);
    /* The heads back side by side: src is (b heads) x t x dh, dst is
     * (b t) x (heads dh) with dst[(bi t + ti) heads dh + hh dh + d] =
     * src[((bi heads + hh) t + ti) dh + d]. dst must not overlap src. */
    void (*head_merge)(size_t b, size_t t, size_t heads, size_t dh, const uint64_t *src, uint64_t *dst);
    /* Ring words on the wire: the low wb bytes (1 <= wb <= 8) of each of v's
     * n words, little-endian, back to back (n wb bytes; wb 8: the words in
     * memory order, as a message of whole words travels unpacked).
     * wire_unpack is its inverse, each word shifted left by sh < 64. */
    void (*wire_pack)(size_t n, const uint64_t *v, unsigned wb, uint8_t *out);
    void (*wire_unpack)(size_t n, const uint8_t *in, unsigned wb, unsigned sh, uint64_t *v);

    /* Nonzero when the backend implements op itself (else callers use ref). */
    int (*supports_op)(mpct_kop op);
} mpct_kernels;

/* "ref" (plain C, always present), "cpu" (fastest CPU backend built),
 * "cuda" (when built with MPCT_CUDA and a GPU is present). NULL if absent. */
const mpct_kernels *mpct_kernels_get(const char *name);
const mpct_kernels *mpct_kernels_ref(void);
/* Names of the registered backends, NULL-terminated. */
const char *const *mpct_kernels_list(void);
/* The entry's name ("gemm", "bit_pack", ...), NULL outside [0, COUNT). */
const char *mpct_kernels_op_name(mpct_kop op);

#endif
