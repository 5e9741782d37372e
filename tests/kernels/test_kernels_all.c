/*
 * test_kernels_all.c — every entry of the kernel table (mpct_kop) on every
 * registered backend (mpct_kernels_list) against "ref", exactly.
 *
 * Backends and variants: each name the registry lists; "cpu" under every
 * ISA this machine supports (scalar, AVX2, AVX-512), with and without BMI2
 * bit packing where the CPU has it, at 1 and 2 threads. Each entry has a
 * checker in `checks` (indexed by mpct_kop): an op without one fails the
 * test, and so does a required entry a backend leaves NULL; at the end
 * every op must have run on some backend and every required op on every
 * backend. The optional GEMM variants have no "ref" twin of their own and
 * are compared with ref's gemm (after ref's add, or cut to 32 bits).
 *
 * Shapes reach the blocked and vectorised paths and their tails: 1, odd
 * sizes, sizes that are not multiples of the micro-tiles or of the
 * MC/KC/NC blocks, GEMMs and elementwise runs above the threading
 * thresholds, in place and not; every shift width the entries accept at
 * its ends. Fixed seed; exits 1 on any mismatch.
 */
#include "cpu-impl.h"
#include "mpct_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpct_check.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t next_word(void) /* xorshift64* */
{
    seed ^= seed >> 12, seed ^= seed << 25, seed ^= seed >> 27;
    return seed * 0x2545f4914f6cdd1dull;
}

/* A buffer of n words (at least one) of random bits. */
static uint64_t *words(size_t n)
{
    uint64_t *p = malloc((n ? n : 1) * sizeof *p);
    REQUIRE(p != NULL, "out of memory for %zu words", n);
    for (size_t i = 0; i < n; i++)
        p[i] = next_word();
    return p;
}

static uint64_t *copy_of(const uint64_t *src, size_t n)
{
    uint64_t *p = words(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static const char *where = ""; /* backend and variant, for the records */

static int same(const uint64_t *want, const uint64_t *got, size_t n, const char *op, const char *shape)
{
    for (size_t i = 0; i < n; i++)
        if (want[i] != got[i]) {
            CHECK(0, "%s %s %s: element %zu is %016llx, ref %016llx", where, op, shape, i,
                  (unsigned long long)got[i], (unsigned long long)want[i]);
            return 0;
        }
    mpct_check_passed++;
    return 1;
}

static const size_t ew_sizes[] = {1, 2, 7, 8, 9, 31, 33, 1000, 70001}; /* 70001 > the threading threshold */
#define NEW (sizeof ew_sizes / sizeof ew_sizes[0])

static const size_t gemm_shapes[][3] = {{1, 1, 1},    {3, 5, 7},  {13, 29, 33}, {129, 17, 300},
                                        {5, 769, 3}, {2, 12, 0}, {130, 140, 120}};
#define NGEMM (sizeof gemm_shapes / sizeof gemm_shapes[0])

/* ------------------------------------------------------------- GEMMs */

static void check_gemm(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NGEMM; s++)
        for (int acc = 0; acc < 2; acc++) {
            const size_t m = gemm_shapes[s][0], n = gemm_shapes[s][1], kd = gemm_shapes[s][2];
            uint64_t *A = words(m * kd), *B = words(kd * n), *C = words(m * n), *W = copy_of(C, m * n);
            char shape[64];
            snprintf(shape, sizeof shape, "%zux%zux%zu acc %d", m, n, kd, acc);
            ref->gemm(m, n, kd, A, B, W, acc);
            k->gemm(m, n, kd, A, B, C, acc);
            same(W, C, m * n, "gemm", shape);
            free(A), free(B), free(C), free(W);
        }
}

static void check_gemm_bsum(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NGEMM; s++)
        for (int acc = 0; acc < 2; acc++) {
            const size_t m = gemm_shapes[s][0], n = gemm_shapes[s][1], kd = gemm_shapes[s][2];
            uint64_t *A = words(m * kd), *B0 = words(kd * n), *B1 = words(kd * n), *S = words(kd * n);
            uint64_t *C = words(m * n), *W = copy_of(C, m * n);
            char shape[64];
            snprintf(shape, sizeof shape, "%zux%zux%zu acc %d", m, n, kd, acc);
            ref->add(kd * n, B0, B1, S);
            ref->gemm(m, n, kd, A, S, W, acc);
            k->gemm_bsum(m, n, kd, A, B0, B1, C, acc);
            same(W, C, m * n, "gemm_bsum", shape);
            free(A), free(B0), free(B1), free(S), free(C), free(W);
        }
}

static void check_gemm32(const mpct_kernels *ref, const mpct_kernels *k)
{
    /* beyond its 8 x 32 tile and 512-deep slice */
    static const size_t shapes[][3] = {{1, 1, 1}, {8, 32, 5}, {9, 65, 600}, {17, 100, 3}, {3, 4, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t m = shapes[s][0], n = shapes[s][1], kd = shapes[s][2];
        uint64_t *A = words(m * kd), *B = words(kd * n), *C = words(m * n), *W = words(m * n);
        uint32_t *B32 = malloc((kd * n + 1) * sizeof *B32);
        REQUIRE(B32 != NULL);
        ref->low32(kd * n, B, B32);
        for (size_t i = 0; i < kd * n; i++)
            B[i] = B32[i];
        ref->gemm(m, n, kd, A, B, W, 0);
        for (size_t i = 0; i < m * n; i++)
            W[i] &= 0xffffffffu;
        k->gemm32(m, n, kd, A, B32, C);
        char shape[64];
        snprintf(shape, sizeof shape, "%zux%zux%zu", m, n, kd);
        same(W, C, m * n, "gemm32", shape);
        free(A), free(B), free(C), free(W), free(B32);
    }
}

/* ------------------------------------------------------- elementwise */

typedef void (*ew2)(size_t, const uint64_t *, const uint64_t *, uint64_t *);
typedef void (*ew5)(size_t, const uint64_t *, const uint64_t *, const uint64_t *, const uint64_t *,
                    const uint64_t *, uint64_t *);

/* out = f(a, b) into a fresh buffer and in place over a. */
static void check_ew2(ew2 want, ew2 got, const char *op)
{
    for (size_t s = 0; s < NEW; s++) {
        const size_t n = ew_sizes[s];
        uint64_t *a = words(n), *b = words(n), *w = words(n), *o = words(n), *ip = copy_of(a, n);
        char shape[32];
        snprintf(shape, sizeof shape, "n %zu", n);
        want(n, a, b, w);
        got(n, a, b, o);
        same(w, o, n, op, shape);
        got(n, ip, b, ip);
        same(w, ip, n, op, "in place");
        free(a), free(b), free(w), free(o), free(ip);
    }
}

static void check_ew5(ew5 want, ew5 got, const char *op)
{
    for (size_t s = 0; s < NEW; s++) {
        const size_t n = ew_sizes[s];
        uint64_t *x[5], *w = words(n), *o = words(n);
        for (int i = 0; i < 5; i++)
            x[i] = words(n);
        uint64_t *ip = copy_of(x[4], n);
        char shape[32];
        snprintf(shape, sizeof shape, "n %zu", n);
        want(n, x[0], x[1], x[2], x[3], x[4], w);
        got(n, x[0], x[1], x[2], x[3], x[4], o);
        same(w, o, n, op, shape);
        got(n, x[0], x[1], x[2], x[3], ip, ip); /* the accumulating form: out == z */
        same(w, ip, n, op, "in place");
        for (int i = 0; i < 5; i++)
            free(x[i]);
        free(w), free(o), free(ip);
    }
}

static void check_add(const mpct_kernels *ref, const mpct_kernels *k) { check_ew2(ref->add, k->add, "add"); }
static void check_sub(const mpct_kernels *ref, const mpct_kernels *k) { check_ew2(ref->sub, k->sub, "sub"); }
static void check_mul(const mpct_kernels *ref, const mpct_kernels *k) { check_ew2(ref->mul, k->mul, "mul"); }
static void check_xor(const mpct_kernels *ref, const mpct_kernels *k) { check_ew2(ref->xor_, k->xor_, "xor"); }
static void check_mul_cross(const mpct_kernels *ref, const mpct_kernels *k)
{
    check_ew5(ref->mul_cross, k->mul_cross, "mul_cross");
}
static void check_and_cross(const mpct_kernels *ref, const mpct_kernels *k)
{
    check_ew5(ref->and_cross, k->and_cross, "and_cross");
}

/* ------------------------------------------------- local protocol steps */

static void check_gather(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const size_t shapes[][3] = {{1, 1, 1}, {5, 13, 30}, {7, 100, 64}, {3, 37, 9}, {2, 5, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int dense = 0; dense < 2; dense++) {
            const size_t m = shapes[s][0], n = shapes[s][1], kd = shapes[s][2];
            uint64_t *A0 = words(m * kd), *A1 = words(m * kd), *B = words(kd * n);
            uint64_t *W = words(m * n), *C = words(m * n);
            /* row r keeps r mod 10 non-zeros (0: the empty row; 9: too many,
             * the dense case only) in A0 + A1 */
            for (size_t r = 0; r < m; r++)
                for (size_t q = 0; q < kd; q++) {
                    const size_t keep = dense ? r % 10 : r % 9;
                    if (q >= keep || (q * 7 + r) % 3 == 1)
                        A1[r * kd + q] = 0 - A0[r * kd + q];
                }
            char shape[64];
            snprintf(shape, sizeof shape, "%zux%zux%zu %s", m, n, kd, dense ? "dense rows" : "sparse");
            const int rw = ref->gather(m, n, kd, A0, A1, B, W), rg = k->gather(m, n, kd, A0, A1, B, C);
            CHECK(rw == rg, "%s gather %s: returns %d, ref %d", where, shape, rg, rw);
            if (rw && rg)
                same(W, C, m * n, "gather", shape);
            free(A0), free(A1), free(B), free(W), free(C);
        }
}

static void check_low32(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NEW; s++) {
        const size_t n = ew_sizes[s];
        uint64_t *a = words(n), *w = words(n), *o = words(n);
        uint32_t *w32 = malloc(n * sizeof *w32), *o32 = malloc(n * sizeof *o32);
        REQUIRE(w32 && o32);
        ref->low32(n, a, w32);
        k->low32(n, a, o32);
        for (size_t i = 0; i < n; i++)
            w[i] = w32[i], o[i] = o32[i];
        same(w, o, n, "low32", "");
        free(a), free(w), free(o), free(w32), free(o32);
    }
}

/* A mask with exactly 2^lk bits set: the comparison tree's stride masks,
 * shifted, and random ones. */
static uint64_t pack_mask(unsigned lk, int kind)
{
    const unsigned want = 1u << lk;
    uint64_t m = 0;
    if (kind == 0) {
        for (unsigned i = 0; i < 64; i += 64 / want)
            m |= (uint64_t)1 << i;
        return lk < 6 ? m << (32 / want) : m;
    }
    for (unsigned got = 0; got < want;) {
        const uint64_t bit = (uint64_t)1 << (next_word() >> 58);
        if (!(m & bit))
            m |= bit, got++;
    }
    return m;
}

/* bit_pack (unpack 0) or bit_unpack (1) at every lk, both kinds of mask. */
static void check_bits(const mpct_kernels *ref, const mpct_kernels *k, int unpack)
{
    static const size_t sizes[] = {1, 2, 7, 64, 65, 1000, 1001};
    const char *name = unpack ? "bit_unpack" : "bit_pack";
    for (unsigned lk = 0; lk < 6; lk++)
        for (int kind = 0; kind < 2; kind++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                const size_t n = sizes[s], nw = (n + (64 >> lk) - 1) / (64 >> lk);
                const size_t nin = unpack ? nw : n, nout = unpack ? n : nw;
                const uint64_t m = pack_mask(lk, kind);
                uint64_t *in = words(nin), *w = words(nout), *o = words(nout);
                char shape[64];
                snprintf(shape, sizeof shape, "n %zu lk %u mask %016llx", n, lk, (unsigned long long)m);
                (unpack ? ref->bit_unpack : ref->bit_pack)(n, in, lk, m, w);
                (unpack ? k->bit_unpack : k->bit_pack)(n, in, lk, m, o);
                same(w, o, nout, name, shape);
                free(in), free(w), free(o);
            }
}

static void check_bit_pack(const mpct_kernels *ref, const mpct_kernels *k) { check_bits(ref, k, 0); }
static void check_bit_unpack(const mpct_kernels *ref, const mpct_kernels *k) { check_bits(ref, k, 1); }

static const unsigned shifts[] = {0, 1, 13, 16, 32, 37, 62, 63};
#define NSH (sizeof shifts / sizeof shifts[0])

static void check_sar_sum(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NEW; s++)
        for (size_t j = 0; j < NSH; j++)
            for (int with_b = 0; with_b < 2; with_b++) {
                const size_t n = ew_sizes[s];
                uint64_t *a = words(n), *b = with_b ? words(n) : NULL, *w = words(n), *o = words(n);
                uint64_t *ip = copy_of(a, n);
                char shape[48];
                snprintf(shape, sizeof shape, "n %zu d %u b %d", n, shifts[j], with_b);
                ref->sar_sum(n, a, b, shifts[j], w);
                k->sar_sum(n, a, b, shifts[j], o);
                same(w, o, n, "sar_sum", shape);
                k->sar_sum(n, ip, b, shifts[j], ip);
                same(w, ip, n, "sar_sum in place", shape);
                free(a), free(b), free(w), free(o), free(ip);
            }
}

static void check_add3(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const uint64_t masks[] = {~0ull, 0xffffffffull, 0x3fffull};
    for (size_t s = 0; s < NEW; s++)
        for (int form = 0; form < 12; form++) { /* b present, c present, c_neg, mask */
            const int hb = form & 1, hc = form >> 1 & 1, neg = form >> 2 & 1;
            const uint64_t mask = masks[form % 3], kc = next_word();
            const size_t n = ew_sizes[s];
            uint64_t *a = words(n), *b = hb ? words(n) : NULL, *c = hc ? words(n) : NULL, *w = words(n),
                     *o = words(n), *ip = copy_of(a, n);
            char shape[64];
            snprintf(shape, sizeof shape, "n %zu b %d c %d neg %d mask %llx", n, hb, hc, neg,
                     (unsigned long long)mask);
            ref->add3(n, a, b, c, neg, kc, mask, w);
            k->add3(n, a, b, c, neg, kc, mask, o);
            same(w, o, n, "add3", shape);
            k->add3(n, ip, b, c, neg, kc, mask, ip);
            same(w, ip, n, "add3 in place", shape);
            free(a), free(b), free(c), free(w), free(o), free(ip);
        }
}

/* (L, d) pairs the exact truncation uses: over Z_2^64 d in [1, 62], the
 * lift L = 32 with d = 0; and the contract's other ends. */
static const unsigned trunc_ld[][2] = {{64, 1}, {64, 16}, {64, 37}, {64, 62}, {32, 0}, {32, 5}, {48, 20}};
#define NTL (sizeof trunc_ld / sizeof trunc_ld[0])

static void below_2L(uint64_t *x, size_t n, unsigned L)
{
    for (size_t i = 0; L < 64 && i < n; i++)
        x[i] &= ((uint64_t)1 << L) - 1;
}

static void check_trunc_split(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NEW; s++)
        for (size_t j = 0; j < NTL; j++) {
            const size_t n = ew_sizes[s];
            const unsigned L = trunc_ld[j][0], d = trunc_ld[j][1];
            uint64_t *c = words(n), *a1 = words(n), *b1 = words(n);
            uint64_t *wa = words(n), *wb = words(n), *oa = words(n), *ob = words(n);
            below_2L(c, n, L);
            char shape[48];
            snprintf(shape, sizeof shape, "n %zu L %u d %u", n, L, d);
            ref->trunc_split(n, c, d, L, a1, b1, wa, wb);
            k->trunc_split(n, c, d, L, a1, b1, oa, ob);
            same(wa, oa, n, "trunc_split a0", shape);
            same(wb, ob, n, "trunc_split b0", shape);
            free(c), free(a1), free(b1), free(wa), free(wb), free(oa), free(ob);
        }
}

static void check_trunc_bm(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NEW; s++)
        for (size_t j = 0; j < NTL; j++)
            for (int form = 0; form < 4; form++) { /* minus present, a present; t_out aliases */
                const size_t n = ew_sizes[s];
                const unsigned L = trunc_ld[j][0], d = trunc_ld[j][1];
                const int hm = form & 1, ha = form >> 1;
                uint64_t *b = words(n), *r = words(n), *plus = words(n), *minus = hm ? words(n) : NULL;
                uint64_t *a = ha ? words(n) : NULL, *wt = words(n), *wo = words(n), *ot = words(n), *oo = words(n);
                below_2L(r, n, L);
                char shape[64];
                snprintf(shape, sizeof shape, "n %zu L %u d %u minus %d a %d", n, L, d, hm, ha);
                ref->trunc_bm(n, L, d, b, r, plus, minus, wt, a, wo);
                k->trunc_bm(n, L, d, b, r, plus, minus, ot, a, oo);
                same(wt, ot, n, "trunc_bm t", shape);
                same(wo, oo, n, "trunc_bm o", shape);
                uint64_t *al = copy_of(hm ? minus : plus, n); /* t written over the operand it reads */
                if (hm)
                    k->trunc_bm(n, L, d, b, r, plus, al, al, a, oo);
                else
                    k->trunc_bm(n, L, d, b, r, al, NULL, al, a, oo);
                same(wt, al, n, "trunc_bm t in place", shape);
                same(wo, oo, n, "trunc_bm o (t in place)", shape);
                free(b), free(r), free(plus), free(minus), free(a), free(wt), free(wo), free(ot), free(oo), free(al);
            }
}

/* The passes of one operand y and an optional second x, at parameter set
 * j (a shift, or an (L, d) pair), out written fresh and over y. */
static void call_pass(const mpct_kernels *k, mpct_kop op, size_t j, size_t n, const uint64_t *x, const uint64_t *y,
                      uint64_t *out)
{
    if (op == MPCT_KOP_SAR_NEG)
        k->sar_neg(n, y, shifts[j], out);
    else if (op == MPCT_KOP_MUL_SCALAR) /* the scalar: 2^64 - 1 (negation), 0, 1, random */
        k->mul_scalar(n, y, j % 4 == 0 ? ~(uint64_t)0 : j % 4 == 3 ? x[0] : j % 4 - 1, out);
    else if (op == MPCT_KOP_SHL_ADD)
        k->shl_add(n, y, x, shifts[j], out);
    else /* trunc_mb: x is the mask r < 2^L */
        k->trunc_mb(n, trunc_ld[j][0], trunc_ld[j][1], x, y, out);
}

static void check_pass(const mpct_kernels *ref, const mpct_kernels *k, mpct_kop op)
{
    const char *name = mpct_kernels_op_name(op);
    const size_t nj = op == MPCT_KOP_TRUNC_MB ? NTL : NSH;
    for (size_t s = 0; s < NEW; s++)
        for (size_t j = 0; j < nj; j++) {
            const size_t n = ew_sizes[s];
            uint64_t *x = words(n), *y = words(n), *w = words(n), *o = words(n), *ip = copy_of(y, n);
            if (op == MPCT_KOP_TRUNC_MB)
                below_2L(x, n, trunc_ld[j][0]);
            char shape[48];
            snprintf(shape, sizeof shape, "n %zu parameters #%zu", n, j);
            call_pass(ref, op, j, n, x, y, w);
            call_pass(k, op, j, n, x, y, o);
            same(w, o, n, name, shape);
            call_pass(k, op, j, n, x, ip, ip);
            same(w, ip, n, name, "in place");
            free(x), free(y), free(w), free(o), free(ip);
        }
}

static void check_sar_neg(const mpct_kernels *ref, const mpct_kernels *k) { check_pass(ref, k, MPCT_KOP_SAR_NEG); }
static void check_shl_add(const mpct_kernels *ref, const mpct_kernels *k) { check_pass(ref, k, MPCT_KOP_SHL_ADD); }
static void check_trunc_mb(const mpct_kernels *ref, const mpct_kernels *k) { check_pass(ref, k, MPCT_KOP_TRUNC_MB); }
static void check_mul_scalar(const mpct_kernels *ref, const mpct_kernels *k)
{
    check_pass(ref, k, MPCT_KOP_MUL_SCALAR);
}

/* RoPE's rotation: head widths 2 (one pair), odd halves, LLaMA's 64 and
 * 128; one and several heads and rows; random words (the wrap included). */
static void check_rope(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const size_t dims[][3] = {{1, 1, 2}, {3, 2, 6}, {5, 3, 10}, {2, 4, 64}, {7, 2, 128}, {17, 12, 64}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        const size_t rows = dims[s][0], heads = dims[s][1], hd = dims[s][2], n = rows * heads * hd;
        uint64_t *x = words(n), *cs = words(rows * hd), *w = words(n), *o = words(n);
        char shape[48];
        snprintf(shape, sizeof shape, "rows %zu heads %zu hd %zu", rows, heads, hd);
        ref->rope(rows, heads, hd, x, cs, w);
        k->rope(rows, heads, hd, x, cs, o);
        same(w, o, n, "rope", shape);
        free(x), free(cs), free(w), free(o);
    }
}

/* ---------------------------------------------------------- layout steps */

/* Model shapes and their tails: one row, odd widths, MiniLM's and
 * BERT-base's heads (12 x 32, 12 x 64), rows and widths that are not
 * multiples of the transpose's 16 x 16 tiles, GQA's 3 key/value heads. */
static const size_t lay_shapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 17, 3, 9}, {3, 33, 12, 32},
                                       {2, 128, 12, 64}, {1, 1, 9, 64}, {1, 40, 3, 64}};
#define NLAY (sizeof lay_shapes / sizeof lay_shapes[0])

static void check_add_rows(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const size_t periods[] = {1, 3, 7};
    for (size_t s = 0; s < NLAY; s++)
        for (size_t p = 0; p < 3; p++) {
            const size_t rows = lay_shapes[s][0] * lay_shapes[s][1], n = lay_shapes[s][2] * lay_shapes[s][3];
            const size_t per = periods[p];
            uint64_t *a = words(rows * n), *b = words(per * n), *w = words(rows * n), *o = words(rows * n);
            uint64_t *ip = copy_of(a, rows * n);
            char shape[64];
            snprintf(shape, sizeof shape, "rows %zu n %zu period %zu", rows, n, per);
            ref->add_rows(rows, n, a, b, per, w);
            k->add_rows(rows, n, a, b, per, o);
            same(w, o, rows * n, "add_rows", shape);
            k->add_rows(rows, n, ip, b, per, ip);
            same(w, ip, rows * n, "add_rows in place", shape);
            free(a), free(b), free(w), free(o), free(ip);
        }
}

/* dst keeps its words outside the copied block: filled alike first. */
static void check_copy_rows(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NLAY; s++)
        for (int form = 0; form < 3; form++) { /* dense, strided source, both strided */
            const size_t rows = lay_shapes[s][1], n = lay_shapes[s][3];
            const size_t ss = form ? n + lay_shapes[s][2] : n, ds = form == 2 ? n + 5 : n;
            uint64_t *src = words(rows * ss), *w = words(rows * ds), *o = copy_of(w, rows * ds);
            char shape[64];
            snprintf(shape, sizeof shape, "rows %zu n %zu strides %zu %zu", rows, n, ss, ds);
            ref->copy_rows(rows, n, src, ss, w, ds);
            k->copy_rows(rows, n, src, ss, o, ds);
            same(w, o, rows * ds, "copy_rows", shape);
            free(src), free(w), free(o);
        }
}

static void check_sum_rows(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NLAY; s++)
        for (int scalar = 0; scalar < 2; scalar++) { /* rows of n words, or of scalars (n = 1) */
            const size_t g = lay_shapes[s][0] * lay_shapes[s][2], t = lay_shapes[s][1];
            const size_t n = scalar ? 1 : lay_shapes[s][3];
            uint64_t *src = words(g * t * n), *w = words(g * n), *o = words(g * n);
            char shape[64];
            snprintf(shape, sizeof shape, "groups %zu t %zu n %zu", g, t, n);
            ref->sum_rows(g, t, n, src, w);
            k->sum_rows(g, t, n, src, o);
            same(w, o, g * n, "sum_rows", shape);
            free(src), free(w), free(o);
        }
}

static void check_bcast_rows(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NLAY; s++) {
        const size_t rows = lay_shapes[s][0] * lay_shapes[s][1], n = lay_shapes[s][2] * lay_shapes[s][3];
        uint64_t *v = words(rows), *w = words(rows * n), *o = words(rows * n);
        char shape[64];
        snprintf(shape, sizeof shape, "rows %zu n %zu", rows, n);
        ref->bcast_rows(rows, n, v, w);
        k->bcast_rows(rows, n, v, o);
        same(w, o, rows * n, "bcast_rows", shape);
        free(v), free(w), free(o);
    }
}

/* Split from rows of QKV (stride 3 heads dh, each of the three blocks) and
 * from a wider cache row; merge back, and merge of the split is the block. */
static void check_head_split(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NLAY; s++)
        for (int tr = 0; tr < 2; tr++)
            for (size_t off = 0; off < 3; off++) {
                const size_t b = lay_shapes[s][0], t = lay_shapes[s][1], H = lay_shapes[s][2],
                             dh = lay_shapes[s][3], stride = 3 * H * dh, n = b * t * H * dh;
                uint64_t *src = words(b * t * stride), *w = words(n), *o = words(n);
                char shape[80];
                snprintf(shape, sizeof shape, "b %zu t %zu heads %zu dh %zu block %zu transpose %d", b, t, H, dh,
                         off, tr);
                ref->head_split(b, t, H, dh, src + off * H * dh, stride, tr, w);
                k->head_split(b, t, H, dh, src + off * H * dh, stride, tr, o);
                same(w, o, n, "head_split", shape);
                free(src), free(w), free(o);
            }
}

static void check_head_merge(const mpct_kernels *ref, const mpct_kernels *k)
{
    for (size_t s = 0; s < NLAY; s++) {
        const size_t b = lay_shapes[s][0], t = lay_shapes[s][1], H = lay_shapes[s][2], dh = lay_shapes[s][3],
                     n = b * t * H * dh;
        uint64_t *src = words(n), *w = words(n), *o = words(n), *back = words(n);
        char shape[64];
        snprintf(shape, sizeof shape, "b %zu t %zu heads %zu dh %zu", b, t, H, dh);
        ref->head_merge(b, t, H, dh, src, w);
        k->head_merge(b, t, H, dh, src, o);
        same(w, o, n, "head_merge", shape);
        k->head_split(b, t, H, dh, o, H * dh, 0, back); /* the inverse of a dense split */
        same(src, back, n, "head_merge then head_split", shape);
        free(src), free(w), free(o), free(back);
    }
}

/* Every width and shift, sizes around the 8-byte overlapping stores; the
 * packed bytes compared too (they are what the peers read). */
static void check_wire(const mpct_kernels *ref, const mpct_kernels *k, int unpack)
{
    static const size_t sizes[] = {1, 2, 3, 7, 9, 64, 1001};
    static const unsigned shs[] = {0, 1, 32, 63};
    for (unsigned wb = 1; wb <= 8; wb++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t j = 0; j < (unpack ? 4 : 1); j++) {
                const size_t n = sizes[s], nb = n * wb, nw = (nb + 7) / 8;
                uint64_t *v = words(n), *bw = words(nw), *bo = copy_of(bw, nw), *w = words(n), *o = words(n);
                char shape[48];
                snprintf(shape, sizeof shape, "n %zu wb %u sh %u", n, wb, shs[j]);
                if (!unpack) {
                    ref->wire_pack(n, v, wb, (uint8_t *)bw);
                    k->wire_pack(n, v, wb, (uint8_t *)bo);
                    same(bw, bo, nw, "wire_pack", shape);
                } else {
                    ref->wire_unpack(n, (const uint8_t *)bw, wb, shs[j], w);
                    k->wire_unpack(n, (const uint8_t *)bw, wb, shs[j], o);
                    same(w, o, n, "wire_unpack", shape);
                    k->wire_pack(n, v, wb, (uint8_t *)bo); /* round trip: v's low wb bytes, shifted */
                    k->wire_unpack(n, (const uint8_t *)bo, wb, shs[j], o);
                    for (size_t i = 0; i < n; i++)
                        w[i] = (wb == 8 ? v[i] : v[i] & (((uint64_t)1 << (8 * wb)) - 1)) << shs[j];
                    same(w, o, n, "wire_pack then wire_unpack", shape);
                }
                free(v), free(bw), free(bo), free(w), free(o);
            }
}

static void check_wire_pack(const mpct_kernels *ref, const mpct_kernels *k) { check_wire(ref, k, 0); }
static void check_wire_unpack(const mpct_kernels *ref, const mpct_kernels *k) { check_wire(ref, k, 1); }

/* ------------------------------------------------------------ the table */

typedef void (*checker)(const mpct_kernels *ref, const mpct_kernels *k);
static const checker checks[MPCT_KOP_COUNT] = {
    [MPCT_KOP_GEMM] = check_gemm,
    [MPCT_KOP_ADD] = check_add,
    [MPCT_KOP_SUB] = check_sub,
    [MPCT_KOP_MUL] = check_mul,
    [MPCT_KOP_MUL_CROSS] = check_mul_cross,
    [MPCT_KOP_XOR] = check_xor,
    [MPCT_KOP_AND_CROSS] = check_and_cross,
    [MPCT_KOP_GEMM_BSUM] = check_gemm_bsum,
    [MPCT_KOP_GEMM32] = check_gemm32,
    [MPCT_KOP_GATHER] = check_gather,
    [MPCT_KOP_LOW32] = check_low32,
    [MPCT_KOP_BIT_PACK] = check_bit_pack,
    [MPCT_KOP_BIT_UNPACK] = check_bit_unpack,
    [MPCT_KOP_SAR_SUM] = check_sar_sum,
    [MPCT_KOP_SAR_NEG] = check_sar_neg,
    [MPCT_KOP_ADD3] = check_add3,
    [MPCT_KOP_TRUNC_SPLIT] = check_trunc_split,
    [MPCT_KOP_TRUNC_BM] = check_trunc_bm,
    [MPCT_KOP_SHL_ADD] = check_shl_add,
    [MPCT_KOP_TRUNC_MB] = check_trunc_mb,
    [MPCT_KOP_MUL_SCALAR] = check_mul_scalar,
    [MPCT_KOP_ROPE] = check_rope,
    [MPCT_KOP_ADD_ROWS] = check_add_rows,
    [MPCT_KOP_COPY_ROWS] = check_copy_rows,
    [MPCT_KOP_SUM_ROWS] = check_sum_rows,
    [MPCT_KOP_BCAST_ROWS] = check_bcast_rows,
    [MPCT_KOP_HEAD_SPLIT] = check_head_split,
    [MPCT_KOP_HEAD_MERGE] = check_head_merge,
    [MPCT_KOP_WIRE_PACK] = check_wire_pack,
    [MPCT_KOP_WIRE_UNPACK] = check_wire_unpack,
};

/* The table's entry for op, as an untyped pointer (NULL when absent). */
static const void *entry(const mpct_kernels *k, mpct_kop op)
{
#define ENTRY(o, member, name) \
    case MPCT_KOP_##o: return (const void *)k->member;
    switch (op) {
        MPCT_KOP_LIST(ENTRY)
    default: return NULL;
    }
#undef ENTRY
}

static int optional(mpct_kop op) { return op == MPCT_KOP_GEMM_BSUM || op == MPCT_KOP_GEMM32; }

/* Every op on one backend as it is configured now; ran[op] counts runs. */
static void run_all(const mpct_kernels *ref, const mpct_kernels *k, int *ran)
{
    for (int op = 0; op < MPCT_KOP_COUNT; op++) {
        const char *name = mpct_kernels_op_name((mpct_kop)op);
        CHECK(name != NULL, "op %d has a name", op);
        if (!checks[op]) {
            CHECK(0, "entry %s (op %d) has no checker in test_kernels_all.c", name ? name : "?", op);
            continue;
        }
        if (!entry(k, (mpct_kop)op)) {
            CHECK(optional((mpct_kop)op), "%s: required entry %s is NULL", where, name);
            continue;
        }
        checks[op](ref, k);
        ran[op]++;
    }
}

int main(void)
{
    const mpct_kernels *ref = mpct_kernels_ref();
    REQUIRE(ref && mpct_kernels_get("ref") == ref);
    int ran_any[MPCT_KOP_COUNT] = {0}, backends = 0;
    for (const char *const *nm = mpct_kernels_list(); *nm; nm++) {
        const mpct_kernels *k = mpct_kernels_get(*nm);
        if (!k) { /* a device backend without its device */
            printf("%s: not usable here, skipped\n", *nm);
            continue;
        }
        CHECK(!strcmp(k->name, *nm), "backend %s names itself %s", *nm, k->name);
        const int is_cpu = !strcmp(*nm, "cpu");
        const mpct_cpu_isa isa0 = mpct_kernels_cpu_isa();
        const int bmi0 = mpct_kernels_cpu_bmi2();
        int variants = 0, with_bmi2 = 0;
        for (int isa = 0; isa < (is_cpu ? MPCT_CPU_ISA_COUNT : 1); isa++)
            for (int bmi = 0; bmi < (is_cpu ? 2 : 1); bmi++)
                for (int t = 1; t <= (is_cpu ? 2 : 1); t++) {
                    if (is_cpu && (!mpct_kernels_cpu_isa_set((mpct_cpu_isa)isa) || !mpct_kernels_cpu_bmi2_set(bmi)))
                        continue; /* not on this machine */
                    if (is_cpu)
                        mpct_kernels_cpu_threads_set(t);
                    char buf[64];
                    if (is_cpu)
                        snprintf(buf, sizeof buf, "cpu[%s,%s,t%d]", mpct_kernels_cpu_isa_str((mpct_cpu_isa)isa),
                                 bmi ? "bmi2" : "no-bmi2", t);
                    else
                        snprintf(buf, sizeof buf, "%s", *nm);
                    where = buf;
                    int ran[MPCT_KOP_COUNT] = {0};
                    const int f0 = failures;
                    run_all(ref, k, ran);
                    for (int op = 0; op < MPCT_KOP_COUNT; op++) {
                        ran_any[op] += ran[op];
                        CHECK(ran[op] || optional((mpct_kop)op), "%s: %s did not run", buf,
                              mpct_kernels_op_name((mpct_kop)op));
                    }
                    printf("%s: %s\n", buf, failures == f0 ? "ok" : "FAILED");
                    variants++;
                    with_bmi2 += is_cpu && bmi;
                }
        if (is_cpu) {
            mpct_kernels_cpu_isa_set(isa0);
            mpct_kernels_cpu_bmi2_set(bmi0);
            mpct_kernels_cpu_threads_set(0);
            CHECK(variants >= 2, "cpu: the scalar ISA at 1 and 2 threads at least (%d variants)", variants);
            CHECK(!mpct_kernels_cpu_bmi2_supported() || (with_bmi2 > 0 && with_bmi2 < variants),
                  "cpu: with and without BMI2 wherever the CPU has it (%d of %d with)", with_bmi2, variants);
        }
        backends++;
    }
    CHECK(backends >= 2, "ref and cpu at least (%d backends)", backends);
    for (int op = 0; op < MPCT_KOP_COUNT; op++)
        CHECK(ran_any[op] > 0, "%s ran on no backend", mpct_kernels_op_name((mpct_kop)op));
    return mpct_check_done("test_kernels_all");
}
