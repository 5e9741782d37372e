/*
 * test_kernels_cpu.c — the CPU ring kernels against "ref", exactly.
 *
 * "ref" itself: known answers that exercise the wrap-around mod 2^64.
 * "cpu": under every ISA this machine supports (scalar fallback, AVX2,
 * AVX-512, forced through mpct_kernels_cpu_isa_set) and with 1 and 2 OpenMP
 * threads: GEMM at edge shapes (1x1x1, odd sizes, sizes that are not
 * multiples of the MR/NR tiles or the MC/NC/KC blocks, k = 0, m or n = 0,
 * narrow C that threads split by rows), accumulate off and on (C prefilled
 * with random values), inputs random / near 2^64 / edge values; the 32-bit
 * GEMM against ref's and against the 64-bit product's low halves; elementwise
 * entries at n = 0..9, 1000 and above the threading threshold, in place too.
 * Fixed seed; exits 1 on any mismatch.
 */
#include "cpu-impl.h"
#include "mpct_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpct_check.h"

static uint64_t rng_s = 0x1234567;
static uint64_t rnd(void)
{
    uint64_t z = (rng_s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum fill { FILL_RANDOM, FILL_HIGH, FILL_EDGE, FILL_COUNT };
static const char *fill_str[] = {"random", "near-2^64", "edge"};
static void fill(uint64_t *x, size_t n, enum fill f)
{
    static const uint64_t edge[] = {0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
                                    0xffffffff00000000ull, 0x00000000ffffffffull,
                                    0x0000000100000000ull, 0x80000000ull, 0xffffffff80000000ull};
    for (size_t i = 0; i < n; i++) {
        if (f == FILL_RANDOM)
            x[i] = rnd();
        else if (f == FILL_HIGH)
            x[i] = ~0ull - (rnd() & 0xffff);
        else
            x[i] = edge[rnd() % (sizeof edge / sizeof edge[0])];
    }
}

static uint64_t *alloc(size_t n)
{
    uint64_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void test_ref_known_answers(const mpct_kernels *ref)
{
    /* [2^63, 3] . [2, 2^63 + 1] = 2^64 + 3 * 2^63 + 3 = 2^63 + 3 (mod 2^64) */
    const uint64_t A[2] = {1ull << 63, 3}, B[2] = {2, (1ull << 63) + 1};
    uint64_t C[1] = {5};
    ref->gemm(1, 1, 2, A, B, C, 0);
    CHECK(C[0] == 0x8000000000000003ull, "ref gemm = %#llx", (unsigned long long)C[0]);
    ref->gemm(1, 1, 2, A, B, C, 1);
    CHECK(C[0] == 6, "ref gemm accumulate = %#llx", (unsigned long long)C[0]);
    const uint64_t a[1] = {~0ull}, b[1] = {~0ull};
    uint64_t o[1];
    ref->mul(1, a, b, o);
    CHECK(o[0] == 1, "ref mul (-1)(-1) = %#llx", (unsigned long long)o[0]);
    ref->add(1, a, b, o);
    CHECK(o[0] == ~0ull - 1, "ref add = %#llx", (unsigned long long)o[0]);
}

static const char *tag = "";

static void test_gemm_shape(const mpct_kernels *ref, const mpct_kernels *k, size_t m, size_t n,
                            size_t kd, enum fill f)
{
    uint64_t *A = alloc(m * kd), *B = alloc(kd * n), *B1 = alloc(kd * n), *Bs = alloc(kd * n), *C0 = alloc(m * n),
             *C1 = alloc(m * n);
    fill(A, m * kd, f);
    fill(B, kd * n, f);
    /* gemm_bsum gets B0 = B - B1 and B1 random: its sum is B, with B's fill */
    fill(B1, kd * n, FILL_RANDOM);
    ref->sub(kd * n, B, B1, Bs);
    for (int op = 0; op < 2; op++)
        for (int acc = 0; acc <= 1; acc++) {
            if (op == 1 && !k->gemm_bsum)
                break;
            fill(C0, m * n, FILL_RANDOM);
            memcpy(C1, C0, m * n * sizeof *C0);
            ref->gemm(m, n, kd, A, B, C0, acc);
            if (op)
                k->gemm_bsum(m, n, kd, A, Bs, B1, C1, acc);
            else
                k->gemm(m, n, kd, A, B, C1, acc);
            size_t bad = m * n;
            for (size_t i = 0; i < m * n; i++)
                if (C0[i] != C1[i]) {
                    bad = i;
                    break;
                }
            CHECK(bad == m * n, "%s %s %zux%zux%zu (m x k x n) acc=%d %s: first mismatch at %zu", tag,
                  op ? "gemm_bsum" : "gemm", m, kd, n, acc, fill_str[f], bad);
        }
    /* gemm32: the low halves of the 64-bit product (ref has no gemm32) */
    uint32_t *B32 = malloc((kd * n + 1) * sizeof *B32);
    uint64_t *D1 = alloc(m * n);
    if (!B32) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < kd * n; i++)
        B32[i] = (uint32_t)B[i];
    ref->gemm(m, n, kd, A, B, C0, 0);
    memset(D1, 0x5A, m * n * sizeof *D1);
    k->gemm32(m, n, kd, A, B32, D1);
    size_t bad1 = m * n;
    for (size_t i = m * n; i-- > 0;)
        if (D1[i] != (C0[i] & 0xffffffffu))
            bad1 = i;
    CHECK(bad1 == m * n, "%s gemm32 %zux%zux%zu (m x k x n) %s: first element unlike the 64-bit product's low half at %zu",
          tag, m, kd, n, fill_str[f], bad1);
    free(B32), free(D1);
    free(A), free(B), free(B1), free(Bs), free(C0), free(C1);
}

static void test_gemm(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const size_t shapes[][3] = {
        /* m, n, k */
        {1, 1, 1},     {1, 1, 0},     {3, 5, 0},     {0, 4, 4},    {4, 0, 4},     {2, 12, 1},
        {3, 5, 7},     {7, 13, 17},   {8, 16, 192},  {9, 17, 193}, {4, 8, 256},   {5, 9, 257},
        {17, 33, 513}, {1, 100, 300}, {100, 1, 300}, {33, 7, 64},  {129, 769, 40}, {130, 770, 260},
        {200, 4, 3000}, {64, 24, 1500}, {16, 64, 1100}, {24, 96, 513}, {40, 160, 700},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int f = 0; f < FILL_COUNT; f++)
            test_gemm_shape(ref, k, shapes[s][0], shapes[s][1], shapes[s][2], (enum fill)f);
}

static void test_elementwise(const mpct_kernels *ref, const mpct_kernels *k)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, (1u << 16) + 3, (1u << 17) + 5};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        uint64_t *in[5], *o0 = alloc(n), *o1 = alloc(n), *ip = alloc(n);
        for (int f = 0; f < FILL_COUNT; f++) {
            for (int i = 0; i < 5; i++) {
                in[i] = alloc(n);
                fill(in[i], n, (enum fill)f);
            }
            const size_t bytes = n * sizeof *o0;
#define EW2(op)                                                                                 \
    do {                                                                                        \
        ref->op(n, in[0], in[1], o0);                                                           \
        k->op(n, in[0], in[1], o1);                                                             \
        CHECK(!memcmp(o0, o1, bytes), "%s " #op " n=%zu %s", tag, n, fill_str[f]);              \
        memcpy(ip, in[0], bytes);                                                               \
        k->op(n, ip, in[1], ip);                                                                \
        CHECK(!memcmp(o0, ip, bytes), "%s " #op " in place (out=a) n=%zu %s", tag, n, fill_str[f]); \
    } while (0)
#define EW5(op)                                                                                 \
    do {                                                                                        \
        ref->op(n, in[0], in[1], in[2], in[3], in[4], o0);                                      \
        k->op(n, in[0], in[1], in[2], in[3], in[4], o1);                                        \
        CHECK(!memcmp(o0, o1, bytes), "%s " #op " n=%zu %s", tag, n, fill_str[f]);              \
        memcpy(ip, in[4], bytes);                                                               \
        k->op(n, in[0], in[1], in[2], in[3], ip, ip);                                           \
        CHECK(!memcmp(o0, ip, bytes), "%s " #op " in place (out=z) n=%zu %s", tag, n, fill_str[f]); \
    } while (0)
            EW2(add);
            EW2(sub);
            EW2(mul);
            EW2(xor_);
            EW5(mul_cross);
            EW5(and_cross);
#undef EW2
#undef EW5
            for (int i = 0; i < 5; i++)
                free(in[i]);
        }
        free(o0), free(o1), free(ip);
    }
}

int main(void)
{
    const mpct_kernels *ref = mpct_kernels_get("ref"), *cpu = mpct_kernels_get("cpu");
    CHECK(ref && ref == mpct_kernels_ref() && !strcmp(ref->name, "ref"), "ref backend lookup");
    CHECK(cpu && !strcmp(cpu->name, "cpu") && cpu != ref, "cpu backend lookup (not an alias of ref)");
    if (!ref || !cpu)
        return 1;
    for (int op = 0; op < MPCT_KOP_COUNT; op++)
        CHECK(cpu->supports_op((mpct_kop)op), "cpu supports op %d", op);
    test_ref_known_answers(ref);

    const mpct_cpu_isa dflt = mpct_kernels_cpu_isa();
    printf("default ISA %s, default threads %d\n", mpct_kernels_cpu_isa_str(dflt),
           mpct_kernels_cpu_threads());
    CHECK(mpct_kernels_cpu_isa_supported(MPCT_CPU_ISA_SCALAR), "scalar always supported");
    CHECK(!mpct_kernels_cpu_isa_set(MPCT_CPU_ISA_COUNT), "bad ISA refused");
    int tested = 0;
    for (int isa = 0; isa < MPCT_CPU_ISA_COUNT; isa++) {
        if (!mpct_kernels_cpu_isa_set((mpct_cpu_isa)isa)) {
            printf("ISA %s: not supported here, skipped\n", mpct_kernels_cpu_isa_str((mpct_cpu_isa)isa));
            continue;
        }
        CHECK(mpct_kernels_cpu_isa() == (mpct_cpu_isa)isa, "ISA set");
        for (int t = 1; t <= 2; t++) {
            char buf[64];
            snprintf(buf, sizeof buf, "cpu[%s,t%d]", mpct_kernels_cpu_isa_str((mpct_cpu_isa)isa), t);
            tag = buf;
            mpct_kernels_cpu_threads_set(t);
            CHECK(mpct_kernels_cpu_threads() >= 1, "threads");
            const int f0 = failures;
            test_gemm(ref, cpu);
            test_elementwise(ref, cpu);
            printf("%s: %s\n", buf, failures == f0 ? "ok" : "FAILED");
            tested++;
        }
    }
    mpct_kernels_cpu_threads_set(0);
    mpct_kernels_cpu_isa_set(dflt);
    CHECK(tested >= 2, "at least the scalar path ran (%d configs)", tested);
    CHECK(cpu->gemm_bsum != NULL, "the cpu backend has gemm_bsum (tested above against ref)");
    CHECK(cpu->gemm32 != NULL && ref->gemm32 == NULL, "cpu has gemm32 (tested above), ref does not");
    return mpct_check_done("test_kernels_cpu");
}
