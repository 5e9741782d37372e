/*
 * test_mpc.c — the replicated-sharing protocols, three parties simulated in
 * one process. Every op is reconstructed and compared with a plaintext twin:
 * exactly for ring ops and comparison, within the stated bound for
 * truncation. Round counts are checked against the documented costs.
 * All parties derive the same plaintext test data from a common seed (test
 * only); only the designated owner feeds it into mpct_share_input.
 */
#include "../mpct_party3.h"

#include <math.h>
#include <string.h>

#define N 4096

static uint64_t edge(size_t i, mpct_rng *r)
{
    static const uint64_t e[] = {0, 1, ~0ULL, 1ULL << 63, (1ULL << 63) - 1, (1ULL << 63) + 1, 2, ~1ULL,
                                 1ULL << 40, 0 - (1ULL << 40), 65536, 0 - 65536ULL};
    return i < sizeof e / sizeof e[0] ? e[i] : mpct_rng_next(r);
}

static uint64_t rounds_of(mpct_ctx_t *ctx) { return mpct_net_total(mpct_ctx_net(ctx)).rounds; }

static int body_ring(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    mpct_rng r = {1234};
    static _Thread_local uint64_t a[N], b[N], got[N];
    for (size_t i = 0; i < N; i++) {
        a[i] = edge(i, &r);
        b[i] = edge(N - 1 - i, &r);
    }
    mpct_share A = {0}, B = {0}, C = {0};
    CHECK_OK(mpct_share_init(&A, mpct_shape_1d(N)));
    CHECK_OK(mpct_share_init(&B, mpct_shape_1d(N)));
    for (int owner = 0; owner < 3; owner++) {
        uint64_t r0 = rounds_of(ctx);
        CHECK_OK(mpct_share_input(ctx, owner, me == owner ? a : NULL, &A));
        CHECK(rounds_of(ctx) - r0 == 1, "input takes 1 round");
        memset(got, 0, sizeof got);
        for (int to = -1; to < 3; to++) {
            CHECK_OK(mpct_share_reveal(ctx, &A, to, got));
            if (to == -1 || to == me)
                CHECK(!memcmp(got, a, sizeof got), "input by %d, reveal to %d", owner, to);
        }
    }
    /* input from a dedicated pair stream: reconstructs, and the PRF
     * component is exactly words [pos, pos + n) of that stream */
    for (int owner = 0; owner < 3; owner++) {
        uint8_t key[MPCT_PRF_KEY_BYTES];
        int have = 0;
        mpct_prf_t *p = NULL;
        CHECK_OK(mpct_ctx_pair_key(ctx, owner, key, &have));
        CHECK(have == (me != (owner + 2) % 3), "pair key held by the owner and its next only");
        if (have)
            CHECK_OK(mpct_prf_init(&p, key, 99));
        CHECK_OK(mpct_share_input_stream(ctx, owner, me == owner ? a : NULL, p, 5, &A));
        CHECK_OK(mpct_share_reveal(ctx, &A, -1, got));
        CHECK(!memcmp(got, a, sizeof got), "stream input by %d reconstructs", owner);
        if (have) {
            static _Thread_local uint64_t w[N];
            CHECK_OK(mpct_prf_fill_at(p, 5, w, N));
            CHECK(!memcmp(me == owner ? A.s[1] : A.s[0], w, sizeof w), "stream input: PRF component from the stream");
            if (me != owner)
                for (size_t i = 0; i < N; i++)
                    CHECK(A.s[1][i] == 0, "stream input: owner's next holds a zero component");
        }
        if (me != owner && !have)
            CHECK(mpct_share_input_stream(ctx, (owner + 1) % 3, NULL, NULL, 0, &A) == MPCT_ERR_ARG,
                  "stream input without the stream is refused");
        mpct_error_clear();
        mpct_prf_free(p);
    }
    /* a party that is not the owner must not see the value in its shares */
    CHECK(memcmp(A.s[0], a, sizeof a) && memcmp(A.s[1], a, sizeof a), "shares differ from the secret");
    CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? b : NULL, &B));
    CHECK_OK(mpct_share_add(ctx, &A, &B, &C));
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] + b[i], "add %zu", i);
    CHECK_OK(mpct_share_sub(ctx, &A, &B, &C));
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] - b[i], "sub %zu", i);
    const uint64_t c7 = 0x123456789abcdefULL;
    CHECK_OK(mpct_share_add_const(ctx, &A, &c7, 1, &C));
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] + c7, "add_const %zu", i);
    CHECK_OK(mpct_share_mul_const(ctx, &A, c7, &C));
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] * c7, "mul_const %zu", i);
    uint64_t r0 = rounds_of(ctx);
    CHECK_OK(mpct_share_mul(ctx, &A, &B, &C));
    CHECK(rounds_of(ctx) - r0 == 1, "mul takes 1 round");
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] * b[i], "mul %zu: %llx", i, (unsigned long long)got[i]);
    /* two independent products in one round */
    mpct_share D = {0};
    const mpct_share *xa[2] = {&A, &B}, *xb[2] = {&B, &B};
    mpct_share *xo[2] = {&C, &D};
    r0 = rounds_of(ctx);
    CHECK_OK(mpct_share_mul_many(ctx, 2, xa, xb, xo));
    CHECK(rounds_of(ctx) - r0 == 1, "mul_many(2) takes 1 round");
    CHECK_OK(mpct_share_reveal(ctx, &D, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == b[i] * b[i], "mul_many second product %zu", i);
    mpct_share_free(&A);
    mpct_share_free(&B);
    mpct_share_free(&C);
    mpct_share_free(&D);
    return fails;
}

static int body_matmul(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    enum { BT = 2, M = 9, K = 17, NN = 5 };
    mpct_rng r = {99};
    uint64_t a[BT * M * K], b[BT * K * NN], got[BT * M * NN];
    for (size_t i = 0; i < sizeof a / 8; i++)
        a[i] = mpct_rng_next(&r);
    for (size_t i = 0; i < sizeof b / 8; i++)
        b[i] = mpct_rng_next(&r);
    mpct_share A = {0}, B = {0}, C = {0};
    CHECK_OK(mpct_share_init(&A, mpct_shape_3d(BT, M, K)));
    CHECK_OK(mpct_share_init(&B, mpct_shape_3d(BT, K, NN)));
    CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? a : NULL, &A));
    CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? b : NULL, &B));
    uint64_t r0 = rounds_of(ctx);
    CHECK_OK(mpct_share_matmul(ctx, &A, &B, &C));
    CHECK(rounds_of(ctx) - r0 == 1, "matmul takes 1 round");
    CHECK(mpct_net_total(mpct_ctx_net(ctx)).bytes_sent >= BT * M * NN * 8, "sent output-sized traffic");
    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
    for (int t = 0; t < BT; t++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < NN; j++) {
                uint64_t s = 0;
                for (int p = 0; p < K; p++)
                    s += a[t * M * K + i * K + p] * b[t * K * NN + p * NN + j];
                CHECK(got[t * M * NN + i * NN + j] == s, "matmul [%d,%d,%d]", t, i, j);
            }
    /* 2-D with fixed point: |error| <= k ulps + 1 from truncation */
    mpct_share X = {0}, W = {0}, Y = {0};
    double x[M * K], w[K * NN], y[M * NN];
    for (int i = 0; i < M * K; i++)
        x[i] = mpct_rng_range(&r, -4, 4);
    for (int i = 0; i < K * NN; i++)
        w[i] = mpct_rng_range(&r, -1, 1);
    CHECK_OK(mpct_share_init(&X, mpct_shape_2d(M, K)));
    CHECK_OK(mpct_share_init(&W, mpct_shape_2d(K, NN)));
    CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
    CHECK_OK(mpct_share_input_fxp(ctx, 0, me == 0 ? w : NULL, &W));
    CHECK_OK(mpct_share_matmul_fxp(ctx, &X, &W, &Y));
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, y));
    const double ulp = ldexp(1.0, -mpct_ctx_frac_bits(ctx));
    for (int i = 0; i < M; i++)
        for (int j = 0; j < NN; j++) {
            double s = 0;
            for (int p = 0; p < K; p++)
                s += x[i * K + p] * w[p * NN + j];
            CHECK(fabs(y[i * NN + j] - s) <= (K * 3.0 + 2) * ulp, "matmul_fxp err %g", fabs(y[i * NN + j] - s));
        }
    /* the fused product + truncation: 2 rounds, 8 + ceil(d/8) bytes per
     * element from P0 and P1 and 8 + 2 ceil(d/8) from P2, the same value as a product then a truncation (the
     * truncation's {0, 1} ulp aside), for two shifts in one call */
    {
        mpct_share P1 = {0}, P2 = {0}, Q = {0};
        const mpct_share *aa[2] = {&X, &X}, *bb[2] = {&X, &X};
        mpct_share *oo[2] = {&P1, &P2};
        const int dd[2] = {mpct_ctx_frac_bits(ctx), mpct_ctx_frac_bits(ctx) + 3};
        /* one word (round 1 or the opener's A) plus the low d bits of the
         * OT words in whole bytes (h or h' from the other two, G and G' from
         * the opener): ceil((f + 3) / 8) bytes each. The opener's role
         * rotates call by call: a party sends 8 + wb or 8 + 2 wb per
         * element, and over three calls 3 (8 + wb) + wb. */
        const unsigned wb = (unsigned)(mpct_ctx_frac_bits(ctx) + 3 + 7) / 8;
        mpct_net_counters c0 = mpct_net_total(mpct_ctx_net(ctx)), c1 = c0;
        for (int rep = 0; rep < 3; rep++) {
            const mpct_net_counters cb = mpct_net_total(mpct_ctx_net(ctx));
            CHECK_OK(mpct_share_mul_trunc_many(ctx, 2, aa, bb, dd, oo));
            c1 = mpct_net_total(mpct_ctx_net(ctx));
            CHECK(c1.rounds - cb.rounds == 2, "fused mul+trunc takes 2 rounds (took %llu)",
                  (unsigned long long)(c1.rounds - cb.rounds));
            const unsigned long long sent = c1.bytes_sent - cb.bytes_sent;
            CHECK(sent == 2ull * M * K * (8 + wb) || sent == 2ull * M * K * (8 + 2 * wb),
                  "fused mul+trunc: party %d sent %llu bytes", me, sent);
        }
        CHECK(c1.bytes_sent - c0.bytes_sent == 2ull * M * K * (3 * (8 + wb) + wb),
              "fused mul+trunc: party %d sent %llu bytes in three calls (the roles rotate)", me,
              (unsigned long long)(c1.bytes_sent - c0.bytes_sent));
        static _Thread_local double p1[M * K], p2[M * K];
        static _Thread_local uint64_t g2[M * K];
        CHECK_OK(mpct_share_reveal_fxp(ctx, &P1, -1, p1));
        memset(g2, 0, sizeof g2);
        CHECK_OK(mpct_share_reveal(ctx, &P2, -1, g2));
        for (int i = 0; i < M * K; i++) {
            const int fb = mpct_ctx_frac_bits(ctx);
            const double xq = mpct_fxp_decode(mpct_fxp_encode(x[i], fb), fb), sq = xq * xq; /* the shared value */
            CHECK(fabs(p1[i] - sq) <= 2 * ulp, "mul_trunc err %g at %d", fabs(p1[i] - sq), i);
            p2[i] = (double)(int64_t)g2[i] * ulp * 8;
            CHECK(fabs(p2[i] - sq) <= 9 * ulp, "mul_trunc (d + 3) err %g at %d", fabs(p2[i] - sq), i);
        }
        /* dot_trunc: x*x + x*x truncated once, same cost as one fused product */
        {
            mpct_share D = {0};
            const mpct_share *da[2] = {&X, &X}, *db[2] = {&X, &X};
            c0 = mpct_net_total(mpct_ctx_net(ctx));
            CHECK_OK(mpct_share_dot_trunc(ctx, 2, da, db, mpct_ctx_frac_bits(ctx), &D));
            c1 = mpct_net_total(mpct_ctx_net(ctx));
            const unsigned wd = (unsigned)(mpct_ctx_frac_bits(ctx) + 7) / 8;
            const unsigned long long sent = c1.bytes_sent - c0.bytes_sent;
            CHECK(c1.rounds - c0.rounds == 2 && (sent == 1ull * M * K * (8 + wd) || sent == 1ull * M * K * (8 + 2 * wd)),
                  "dot_trunc: 2 rounds and 8 + f/8 bytes per element, the opener f/8 more (%llu rounds, %llu bytes)",
                  (unsigned long long)(c1.rounds - c0.rounds), (unsigned long long)(c1.bytes_sent - c0.bytes_sent));
            CHECK_OK(mpct_share_reveal_fxp(ctx, &D, -1, p2));
            for (int i = 0; i < M * K; i++)
                CHECK(fabs(p2[i] - 2 * p1[i]) <= 3 * ulp, "dot_trunc err at %d: %g vs %g", i, p2[i], 2 * p1[i]);
            CHECK(mpct_share_dot_trunc(ctx, 1, da, db, 16, &X) == MPCT_ERR_ARG, "dot_trunc refuses an aliased output");
            mpct_error_clear();
            mpct_share_free(&D);
        }
        CHECK_OK(mpct_share_mul_fxp(ctx, &X, &X, &Q));
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Q, -1, p2));
        for (int i = 0; i < M * K; i++)
            CHECK(fabs(p2[i] - p1[i]) <= ulp, "mul_fxp vs mul_trunc_many at %d", i);
        mpct_share_free(&P1);
        mpct_share_free(&P2);
        mpct_share_free(&Q);
    }
    CHECK(mpct_share_matmul(ctx, &X, &X, &Y) == MPCT_ERR_ARG, "shape mismatch is an argument error");
    mpct_share_free(&A);
    mpct_share_free(&B);
    mpct_share_free(&C);
    mpct_share_free(&X);
    mpct_share_free(&W);
    mpct_share_free(&Y);
    return fails;
}

/* Truncation, 10^5 samples per magnitude. Exact (default): every result
 * within {0,+1} ulp of floor(x / 2^d) for |x| < 2^40, 2^60 and 2^61.9.
 * Probabilistic: the same at |x| < 2^40, and at |x| < 2^60 rare large
 * failures at a rate within the stated bound 2^(l_x + 1 - 64) = 1/8. */
#define NT 100000
/* c[m x n] = a[m x k] b[k x n] in the ring: the plaintext reference. */
static void ring_matmul(const uint64_t *a, const uint64_t *b, int m, int k, int n, uint64_t *c)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            uint64_t s = 0;
            for (int p = 0; p < k; p++)
                s += a[i * k + p] * b[p * n + j];
            c[i * n + j] = s;
        }
}

/* The matmul term splits: a right operand input by each owner (zero_comp
 * set by the input: one GEMM per party), the same with a wrong hint (must
 * stay exact), and left operands with and without a zero component; then
 * the client's sparse gather, with one-hot rows, empty rows, and a row too
 * dense to gather (GEMM fallback). All exact against plaintext. */
static int body_matmul_split(mpct_ctx_t *ctx, void *arg)
{
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    /* arg NULL: the default backend, whose owner split uses gemm_bsum; else
     * one without it (add then gemm) */
    /* arg 2: P0 on "ref", the others on the default */
    const int want_bsum = !arg || ((intptr_t)arg == 2 && me != 0);
    CHECK(want_bsum == (mpct_ctx_kernels(ctx)->gemm_bsum != NULL), "backend %s %s gemm_bsum",
          mpct_ctx_kernels(ctx)->name, want_bsum ? "has" : "lacks");
    enum { M = 7, K = 600, NN = 6 }; /* operands above the scratch cache's 4 KiB floor */
    mpct_rng r = {1234};
    static _Thread_local uint64_t a[M * K], a2[M * K], b[K * NN], got[M * NN], want[M * NN];
    for (size_t i = 0; i < M * K; i++) {
        a[i] = mpct_rng_next(&r);
        a2[i] = mpct_rng_next(&r);
    }
    for (size_t i = 0; i < K * NN; i++)
        b[i] = mpct_rng_next(&r);
    for (int ob = 0; ob < 3; ob++)
        for (int oa = 0; oa < 4; oa++)
            for (int hint = 0; hint < 2; hint++) {
                mpct_share A = {0}, A2 = {0}, B = {0}, C = {0};
                CHECK_OK(mpct_share_init(&A, mpct_shape_2d(M, K)));
                CHECK_OK(mpct_share_init(&B, mpct_shape_2d(K, NN)));
                /* oa == 3: a = a (by P0) + a2 (by P2), no zero component */
                CHECK_OK(mpct_share_input(ctx, oa % 3, me == oa % 3 ? a : NULL, &A));
                if (oa == 3) {
                    CHECK_OK(mpct_share_init(&A2, mpct_shape_2d(M, K)));
                    CHECK_OK(mpct_share_input(ctx, 2, me == 2 ? a2 : NULL, &A2));
                    CHECK_OK(mpct_share_add(ctx, &A, &A2, &A));
                }
                CHECK_OK(mpct_share_input(ctx, ob, me == ob ? b : NULL, &B));
                CHECK(B.zero_comp == 1 + (ob + 2) % 3, "input by %d marks component %d zero", ob, (ob + 2) % 3);
                if (hint) /* a wrong hint: slower, still right */
                    B.zero_comp = 1 + ob;
                const unsigned long h0 = mpct_share_hinted_count();
                CHECK_OK(mpct_share_matmul(ctx, &A, &B, &C));
                CHECK(mpct_share_hinted_count() - h0 == 1, "matmul with a zero_comp hint takes the split");
                CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
                static _Thread_local uint64_t asum[M * K];
                for (int i = 0; i < M * K; i++)
                    asum[i] = a[i] + (oa == 3 ? a2[i] : 0);
                ring_matmul(asum, b, M, K, NN, want);
                CHECK(!memcmp(got, want, sizeof got), "matmul split: a by %d, b by %d, %s hint", oa, ob,
                      hint ? "wrong" : "right");
                mpct_share_free(&A);
                mpct_share_free(&A2);
                mpct_share_free(&B);
                mpct_share_free(&C);
            }
    /* 3-D (batched) with the hint, and an empty product (no columns) */
    {
        mpct_share A = {0}, B = {0}, C = {0}, E = {0}, Z = {0};
        CHECK_OK(mpct_share_init(&A, mpct_shape_3d(2, M, K / 2)));
        CHECK_OK(mpct_share_init(&B, mpct_shape_3d(2, K / 2, NN / 2)));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? a : NULL, &A));
        CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? b : NULL, &B));
        CHECK_OK(mpct_share_matmul(ctx, &A, &B, &C));
        CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
        for (int t = 0; t < 2; t++)
            ring_matmul(a + t * M * (K / 2), b + t * (K / 2) * (NN / 2), M, K / 2, NN / 2, want + t * M * (NN / 2));
        CHECK(!memcmp(got, want, 2 * M * (NN / 2) * sizeof *got), "batched matmul with the hint");
        CHECK_OK(mpct_share_init(&Z, mpct_shape_2d(K, 0)));
        CHECK_OK(mpct_share_init(&E, mpct_shape_2d(M, K)));
        CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? b : NULL, &Z));
        CHECK_OK(mpct_share_input(ctx, 2, me == 2 ? a : NULL, &E));
        mpct_share_free(&C);
        CHECK_OK(mpct_share_matmul(ctx, &E, &Z, &C)); /* must return, not loop */
        CHECK(C.n == 0, "an empty product has no elements");
        mpct_share *all[] = {&A, &B, &C, &E, &Z};
        for (int i = 0; i < 5; i++)
            mpct_share_free(all[i]);
    }
    /* sparse client input: one-hot rows (row 2 empty), input dense and by
     * mpct_share_input_onehot (api 1: columns, -1 for row 2), then a dense
     * row; table input by the client's prev (the client gathers) or by P0 */
    mpct_share_low32 bl = {0};
    for (int dense = 0; dense < 2; dense++)
        for (int api = 0; api < 2 - dense; api++)
        for (int c = 0; c < 6; c++) {
            static _Thread_local uint64_t oh[M * K];
            const int owner = c < 3 ? (c % 3 + 2) % 3 : 0;
            memset(oh, 0, sizeof oh);
            for (int i = 0; i < M; i++)
                if (i != 2)
                    oh[i * K + (i * 7 + 3) % K] = 1;
            if (dense)
                for (int p = 0; p < 9; p++)
                    oh[4 * K + p] = (uint64_t)p + 2;
            mpct_share OH = {0}, B = {0}, C = {0};
            if (!api)
                CHECK_OK(mpct_share_init(&OH, mpct_shape_2d(M, K)));
            CHECK_OK(mpct_share_init(&B, mpct_shape_2d(K, NN)));
            int32_t cols[M];
            for (int i = 0; i < M; i++)
                cols[i] = i == 2 ? -1 : (i * 7 + 3) % K;
            if (api) {
                /* scratch garbage must not show through: a block filled with 0xA5 */
                CHECK_OK(mpct_share_init_scratch_nofill(&OH, mpct_shape_2d(M, K)));
                memset(OH.s[0], 0xA5, M * K * 8);
                memset(OH.s[1], 0xA5, M * K * 8);
                uint64_t r1 = rounds_of(ctx);
                CHECK_OK(mpct_share_input_onehot(ctx, c % 3, me == c % 3 ? cols : NULL, M, &OH));
                CHECK(rounds_of(ctx) - r1 == 1, "one-hot input takes 1 round");
                uint64_t og[M * K];
                CHECK_OK(mpct_share_reveal(ctx, &OH, -1, og));
                CHECK(!memcmp(og, oh, sizeof og), "one-hot input by %d reveals the one-hot rows", c % 3);
            } else {
                CHECK_OK(mpct_share_input(ctx, c % 3, me == c % 3 ? oh : NULL, &OH));
            }
            CHECK_OK(mpct_share_input(ctx, owner, me == owner ? b : NULL, &B));
            uint64_t r0 = rounds_of(ctx);
            const unsigned long g0 = mpct_share_gather_count();
            CHECK(mpct_share_input_owner(&OH) == c % 3, "the one-hot's owner is known");
            CHECK_OK(mpct_share_matmul_sparse_input(ctx, c % 3, &OH, &B, &C));
            CHECK(rounds_of(ctx) - r0 == 1, "sparse-input matmul takes 1 round");
            /* the client gathers exactly when its table slot 1 is zero and the rows are sparse */
            const unsigned long want_g = me == c % 3 && owner == (c % 3 + 2) % 3 && !dense;
            CHECK(mpct_share_gather_count() - g0 == want_g, "party %d, client %d, table by %d, %s: %lu gathers, want %lu",
                  me, c % 3, owner, dense ? "dense row" : "one-hot", mpct_share_gather_count() - g0, want_g);
            CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
            ring_matmul(oh, b, M, K, NN, want);
            CHECK(!memcmp(got, want, sizeof got), "sparse-input matmul, client %d, table by %d, %s", c % 3, owner,
                  dense ? "a dense row (GEMM fallback)" : api ? "one-hot rows by columns" : "one-hot rows");
            /* the same product lifted from Z_2^32, with table entries in
             * (-2^20, 2^20): every result is below 2^30 (the dense row: 9
             * terms of at most 10 * 2^20). For the true client and for
             * client -1 (nobody gathers), twice each: the table's low halves
             * are made, then reused. One cache (bl, kept across the loop)
             * sees tables of two widths and both slots: it must follow. */
            static _Thread_local uint64_t bs[K * NN];
            const size_t nb = NN - (size_t)(c & 1);
            mpct_rng rs = {77 + (uint64_t)c};
            for (size_t i = 0; i < K * nb; i++)
                bs[i] = (uint64_t)((int64_t)(mpct_rng_next(&rs) % (2u << 20)) - (1 << 20) + 1);
            bs[5] = (uint64_t)-((1 << 20) - 1); /* both extremes */
            bs[6] = (1 << 20) - 1;
            mpct_share BS = {0};
            CHECK_OK(mpct_share_init(&BS, mpct_shape_2d(K, nb)));
            CHECK_OK(mpct_share_input(ctx, owner, me == owner ? bs : NULL, &BS));
            ring_matmul(oh, bs, M, K, (int)nb, want);
            const int cl = c % 3, has32 = mpct_ctx_kernels(ctx)->gemm32 != NULL;
            for (int who = 0; who < 2; who++) {
                const int client = who ? -1 : cl;
                /* a single product where a0 (on the input owner's prev) or
                 * b0 (on the table owner's prev) is zero, the client too;
                 * none where both are (the term is zero) */
                const unsigned long want32 = has32 && ((me == (cl + 2) % 3) != (me == (owner + 2) % 3));
                for (int rep = 0; rep < 2; rep++) {
                    mpct_share_free(&C);
                    r0 = rounds_of(ctx);
                    const unsigned long n32 = mpct_share_gemm32_count();
                    CHECK_OK(mpct_share_matmul_sparse_lift(ctx, client, &OH, &BS, &bl, &C));
                    CHECK(rounds_of(ctx) - r0 == 2, "lifted matmul takes 2 rounds");
                    CHECK(mpct_share_gemm32_count() - n32 == want32,
                          "party %d (%s), client %d, table by %d: %lu gemm32, want %lu", me,
                          mpct_ctx_kernels(ctx)->name, client, owner, mpct_share_gemm32_count() - n32, want32);
                    CHECK_OK(mpct_share_reveal(ctx, &C, -1, got));
                    CHECK(!memcmp(got, want, M * nb * sizeof *got), "lifted matmul, client %d, table by %d, %s, call %d",
                          client, owner, dense ? "a dense row" : api ? "one-hot rows by columns" : "one-hot rows", rep + 1);
                    CHECK(!want32 || bl.n == K * nb, "party %d: the cache follows the table (%zu words)", me, bl.n);
                }
            }
            mpct_share_free(&BS);
            mpct_share_free(&OH);
            mpct_share_free(&B);
            mpct_share_free(&C);
        }
    {   /* outside the bound the lift is wrong: an entry 2^32 + 5 selected by
         * one-hot rows comes back as 5 (values in [2^30, 2^32) fail for some
         * masks only) */
        uint64_t big[K * NN] = {0}, oh1[M * K] = {0}, g1[M * NN];
        big[0] = ((uint64_t)1 << 32) + 5;
        for (int i = 0; i < M; i++)
            oh1[i * K] = 1;
        mpct_share O1 = {0}, BB = {0}, C1 = {0};
        mpct_share_low32 bl = {0};
        CHECK_OK(mpct_share_init(&O1, mpct_shape_2d(M, K)));
        CHECK_OK(mpct_share_init(&BB, mpct_shape_2d(K, NN)));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? oh1 : NULL, &O1));
        CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? big : NULL, &BB));
        CHECK_OK(mpct_share_matmul_sparse_lift(ctx, 1, &O1, &BB, &bl, &C1));
        CHECK_OK(mpct_share_reveal(ctx, &C1, -1, g1));
        CHECK(g1[0] == 5 && g1[NN] == 5, "2^32 + 5 lifts to 5 (got %#llx)", (unsigned long long)g1[0]);
        mpct_share_low32_free(&bl);
        mpct_share_free(&O1);
        mpct_share_free(&BB);
        mpct_share_free(&C1);
    }
    mpct_share_low32_free(&bl);
    CHECK(!bl.s[0] && !bl.s[1] && bl.n == 0 && bl.b0_zero == 0, "low32_free clears");
    CHECK(mpct_share_matmul_sparse_input(ctx, 3, &(mpct_share){0}, &(mpct_share){0}, &(mpct_share){0}) ==
              MPCT_ERR_ARG,
          "sparse-input matmul refuses client 3");
    return fails;
}

static int body_trunc(mpct_ctx_t *ctx, void *arg)
{
    const int prob = arg != NULL;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), d = 16;
    static _Thread_local uint64_t x[NT], got[NT];
    for (int lx = 40; lx <= 62; lx += lx == 60 ? 2 : 20) {
        if (prob && lx == 62)
            break;
        mpct_rng r = {(uint64_t)lx};
        for (size_t i = 0; i < NT; i++) {
            int64_t v = (int64_t)(mpct_rng_next(&r) >> (64 - lx)) - (i % 2 ? (int64_t)1 << (lx - 1) : 0);
            if (i < 6) /* near the limits and zero */
                v = (int64_t[]){0, 1, -1, ((int64_t)1 << (lx - 1)) - 1, -((int64_t)1 << (lx - 1)), -65536}[i];
            x[i] = (uint64_t)v;
        }
        mpct_share X = {0}, Y = {0};
        CHECK_OK(mpct_share_init(&X, mpct_shape_1d(NT)));
        CHECK_OK(mpct_share_input(ctx, 2, me == 2 ? x : NULL, &X));
        uint64_t r0 = rounds_of(ctx);
        const unsigned long long b0 = mpct_net_total(mpct_ctx_net(ctx)).bytes_sent;
        CHECK_OK(mpct_share_trunc(ctx, &X, d, &Y));
        CHECK(rounds_of(ctx) - r0 == (prob ? 1u : 2u), "trunc takes %d rounds", prob ? 1 : 2);
        /* exact, per element: one party the helper word h' (d/8 bytes),
         * one the opening and h (8 + d/8), the opener A - rho and the OT
         * words G, G' (8 + 2 d/8); the roles rotate call by call, so three
         * calls cost every party 24 bytes per element */
        if (prob)
            CHECK(mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - b0 == (me == 0 ? 8u : 0u) * NT,
                  "probabilistic trunc: party %d sent %llu bytes", me, mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - b0);
        else {
            mpct_share Y2 = {0}, Y3 = {0};
            CHECK_OK(mpct_share_trunc(ctx, &X, d, &Y2));
            CHECK_OK(mpct_share_trunc(ctx, &X, d, &Y3));
            CHECK(rounds_of(ctx) - r0 == 6, "three exact truncations take 6 rounds");
            CHECK(mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - b0 == 24ull * NT,
                  "three exact truncations: party %d sent %llu bytes", me,
                  mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - b0);
            mpct_share_free(&Y2);
            mpct_share_free(&Y3);
        }
        CHECK_OK(mpct_share_reveal(ctx, &Y, -1, got));
        size_t small = 0, big = 0;
        for (size_t i = 0; i < NT; i++) {
            int64_t want = (int64_t)x[i] >> d, e = (int64_t)(got[i] - (uint64_t)want);
            if (e == 0 || e == 1)
                small++;
            else
                big++;
        }
        double rate = (double)big / NT, bound = ldexp(1.0, lx + 1 - 64);
        if (me == 0)
            printf("%s trunc |x|<2^%d: %zu within {0,1} ulp, %zu large failures (rate %.2e, bound %.2e)\n",
                   prob ? "probabilistic" : "exact", lx, small, big, rate, prob ? bound : 0.0);
        if (lx == 40 || !prob)
            CHECK(big == 0, "no large truncation failure at |x| < 2^%d (got %zu)", lx, big);
        else
            CHECK(rate <= bound && big > 0, "failure rate %.3g must be positive and within bound %.3g", rate,
                  bound);
        mpct_share_free(&X);
        mpct_share_free(&Y);
    }
    /* exact: other shifts (the top d bits travel in ceil(d/8) bytes), and
     * two shifts of different byte widths in one call */
    if (!prob) {
        /* byte widths 1, 2, 3, 4, 5, 8 and mixed (pack_low's paths) */
        const int ds[7][2] = {{1, 1}, {9, 9}, {19, 19}, {28, 28}, {40, 40}, {60, 60}, {5, 33}};
        mpct_rng r = {7};
        for (size_t i = 0; i < NT; i++)
            x[i] = (uint64_t)((int64_t)(mpct_rng_next(&r) >> 4) - ((int64_t)1 << 59));
        for (int t = 0; t < 7; t++) {
            mpct_share X = {0}, Y1 = {0}, Y2 = {0};
            CHECK_OK(mpct_share_init(&X, mpct_shape_1d(NT / 2)));
            CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? x : NULL, &X));
            const mpct_share *xx[2] = {&X, &X};
            mpct_share *yy[2] = {&Y1, &Y2};
            CHECK_OK(mpct_share_trunc_many_d(ctx, 2, xx, ds[t], yy));
            for (int q = 0; q < 2; q++) {
                CHECK_OK(mpct_share_reveal(ctx, q ? &Y2 : &Y1, -1, got));
                size_t bad = 0;
                for (size_t i = 0; i < NT / 2; i++) {
                    const int64_t e = (int64_t)(got[i] - (uint64_t)((int64_t)x[i] >> ds[t][q]));
                    bad += e != 0 && e != 1;
                }
                CHECK(bad == 0, "exact trunc by %d: %zu results off by more than 1 ulp", ds[t][q], bad);
            }
            mpct_share_free(&X);
            mpct_share_free(&Y1);
            mpct_share_free(&Y2);
        }
    }
    return fails;
}

static int body_cmp(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    enum { NC = 20000 };
    static _Thread_local uint64_t x[NC], y[NC], got[NC];
    mpct_rng r = {77};
    for (size_t i = 0; i < NC; i++) {
        x[i] = edge(i, &r);
        /* mix of full-range and small values */
        if (i % 3 == 1)
            x[i] = (uint64_t)((int64_t)(mpct_rng_next(&r) >> 40) - (1 << 23));
        y[i] = i % 2 ? x[i] + 1 : (uint64_t)(int64_t)(mpct_rng_next(&r) >> 44);
    }
    mpct_share X = {0}, Y = {0}, B = {0}, L = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_1d(NC)));
    CHECK_OK(mpct_share_init(&Y, mpct_shape_1d(NC)));
    CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? x : NULL, &X));
    CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? y : NULL, &Y));
    uint64_t r0 = rounds_of(ctx);
    const uint64_t bm = mpct_net_total(mpct_ctx_net(ctx)).bytes_sent;
    CHECK_OK(mpct_share_msb(ctx, &X, &B));
    CHECK(rounds_of(ctx) - r0 == 8, "msb takes 8 rounds (took %llu)", (unsigned long long)(rounds_of(ctx) - r0));
    /* per element and party: 64/3 bits of the summed operand's input, 128/3
     * of the generate step (two of three parties send 64), the carry tree
     * (125 bits): 23.6 bytes */
    CHECK(mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - bm <= (uint64_t)NC * 237 / 10,
          "msb: party %d sent %.2f bytes per element", me,
          (double)(mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - bm) / NC);
    /* boolean reveal: XOR of the three components */
    memset(got, 0, sizeof got);
    {
        mpct_net_t *net = mpct_ctx_net(ctx);
        static _Thread_local uint64_t from_prev[NC];
        mpct_net_msg m = {.to_next = B.s[0], .to_next_bytes = NC * 8, .from_prev = from_prev,
                          .from_prev_bytes = NC * 8};
        CHECK_OK(mpct_net_round(net, &m));
        for (size_t i = 0; i < NC; i++)
            got[i] = (B.s[0][i] ^ B.s[1][i] ^ from_prev[i]) & 1;
    }
    size_t bad = 0;
    for (size_t i = 0; i < NC; i++)
        bad += got[i] != x[i] >> 63;
    CHECK(bad == 0, "msb wrong on %zu of %d", bad, NC);
    r0 = rounds_of(ctx);
    CHECK_OK(mpct_share_ltz(ctx, &X, &L));
    CHECK(rounds_of(ctx) - r0 == 10, "ltz takes 10 rounds");
    CHECK_OK(mpct_share_reveal(ctx, &L, -1, got));
    bad = 0;
    for (size_t i = 0; i < NC; i++)
        bad += got[i] != (uint64_t)((int64_t)x[i] < 0);
    CHECK(bad == 0, "ltz wrong on %zu", bad);
    /* narrow comparisons: exact on |x| < 2^(w-1), edges included, with
     * shares that are random over the whole ring; 2 + log2(w) + 2 rounds */
    for (unsigned lw = 3; lw <= 5; lw++) {
        const unsigned w = 1u << lw;
        static _Thread_local uint64_t xn[NC];
        const int64_t lim = (int64_t)1 << (w - 1);
        for (size_t i = 0; i < NC; i++) {
            int64_t v = (int64_t)(mpct_rng_next(&r) % (uint64_t)(2 * lim)) - lim;
            if (i < 6) {
                const int64_t ed[6] = {0, -1, 1, lim - 1, -lim, -lim + 1};
                v = ed[i];
            }
            xn[i] = (uint64_t)v;
        }
        mpct_share XN = {0};
        CHECK_OK(mpct_share_init(&XN, mpct_shape_1d(NC)));
        CHECK_OK(mpct_share_input(ctx, 2, me == 2 ? xn : NULL, &XN));
        r0 = rounds_of(ctx);
        CHECK_OK(mpct_share_ltz_w(ctx, &XN, w, &L));
        CHECK(rounds_of(ctx) - r0 == 4 + lw, "ltz_w(%u) takes %u rounds (took %llu)", w, 4 + lw,
              (unsigned long long)(rounds_of(ctx) - r0));
        CHECK_OK(mpct_share_reveal(ctx, &L, -1, got));
        bad = 0;
        for (size_t i = 0; i < NC; i++)
            bad += got[i] != (uint64_t)((int64_t)xn[i] < 0);
        CHECK(bad == 0, "ltz_w(%u) wrong on %zu of %d", w, bad, NC);
        mpct_share_free(&XN);
    }
    /* windowed comparisons: exact outside the band [-2^lo, 2^lo) up to |x| < 2^lo (2^(w-1) - 2),
     * 0 or 1 inside it; one round fewer at width 16 */
    for (int cfg = 0; cfg < 3; cfg++) {
        const unsigned w = cfg ? 16 : 32, lo = cfg == 2 ? 4 : 12;
        static _Thread_local uint64_t xn[NC];
        const int64_t lim = ((int64_t)1 << lo) * (((int64_t)1 << (w - 1)) - 2), band = (int64_t)1 << lo;
        for (size_t i = 0; i < NC; i++) {
            int64_t v = i % 2 ? (int64_t)(mpct_rng_next(&r) % (uint64_t)(2 * lim)) - lim + 1
                              : (int64_t)(mpct_rng_next(&r) % (uint64_t)(8 * band)) - 4 * band;
            if (i < 8) {
                const int64_t ed[8] = {band, -band - 1, lim - 1, -lim + 1, band - 1, -band, 0, -1};
                v = ed[i];
            }
            xn[i] = (uint64_t)v;
        }
        mpct_share XN = {0};
        CHECK_OK(mpct_share_init(&XN, mpct_shape_1d(NC)));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? xn : NULL, &XN));
        r0 = rounds_of(ctx);
        const uint64_t b0 = mpct_net_total(mpct_ctx_net(ctx)).bytes_sent;
        CHECK_OK(mpct_share_ltz_win(ctx, &XN, w, lo, &L));
        CHECK(rounds_of(ctx) - r0 == (w == 16 ? 8u : 9u), "ltz_win(%u) takes %u rounds", w, w == 16 ? 8u : 9u);
        const uint64_t sent = mpct_net_total(mpct_ctx_net(ctx)).bytes_sent - b0;
        /* msb (input W/3 bits, generate 2W/3, tree) + b2a 8 bytes: 13.6 (W = 16), 19.6 (32) */
        CHECK(sent <= (uint64_t)NC * (w == 16 ? 137 : 197) / 10, "ltz_win(%u) sent %llu bytes for %d elements", w,
              (unsigned long long)sent, NC);
        CHECK_OK(mpct_share_reveal(ctx, &L, -1, got));
        size_t wrong = 0, in_band = 0, odd = 0;
        for (size_t i = 0; i < NC; i++) {
            const int64_t v = (int64_t)xn[i];
            if (got[i] > 1)
                odd++;
            else if (v >= -band && v < band)
                in_band++;
            else
                wrong += got[i] != (uint64_t)(v < 0);
        }
        CHECK(wrong == 0 && odd == 0, "ltz_win(%u, lo %u): %zu wrong, %zu not 0/1 (%zu in the band)", w, lo, wrong,
              odd, in_band);
        CHECK(in_band > NC / 16, "ltz_win test exercises the band (%zu)", in_band);
        mpct_share_free(&XN);
    }
    CHECK(mpct_share_ltz_win(ctx, &X, 16, 50, &L) == MPCT_ERR_ARG, "ltz_win refuses a window past bit 64");
    mpct_error_clear();
    CHECK(mpct_share_ltz_w(ctx, &X, 12, &L) == MPCT_ERR_ARG, "ltz_w refuses width 12");
    mpct_error_clear();
    CHECK_OK(mpct_share_lt(ctx, &X, &Y, &L));
    CHECK_OK(mpct_share_reveal(ctx, &L, -1, got));
    bad = 0;
    size_t checked = 0;
    for (size_t i = 0; i < NC; i++) {
        int64_t diff = (int64_t)(x[i] - y[i]);
        /* documented range: |a - b| < 2^63 as integers */
        __int128 true_diff = (__int128)(int64_t)x[i] - (__int128)(int64_t)y[i];
        if (true_diff >= -((__int128)1 << 63) && true_diff < ((__int128)1 << 63)) {
            checked++;
            bad += got[i] != (uint64_t)((int64_t)x[i] < (int64_t)y[i]);
        }
        (void)diff;
    }
    CHECK(bad == 0 && checked > NC / 2, "lt wrong on %zu of %zu in range", bad, checked);
    /* select and relu */
    mpct_share S = {0};
    CHECK_OK(mpct_share_select(ctx, &L, &X, &Y, &S));
    CHECK_OK(mpct_share_reveal(ctx, &S, -1, got));
    bad = 0;
    for (size_t i = 0; i < checked && i < NC; i++) {
        __int128 td = (__int128)(int64_t)x[i] - (__int128)(int64_t)y[i];
        if (td >= -((__int128)1 << 63) && td < ((__int128)1 << 63))
            bad += got[i] != ((int64_t)x[i] < (int64_t)y[i] ? x[i] : y[i]);
    }
    CHECK(bad == 0, "select (min) wrong on %zu", bad);
    r0 = rounds_of(ctx);
    CHECK_OK(mpct_share_relu(ctx, &X, &S));
    CHECK(rounds_of(ctx) - r0 == 11, "relu takes 11 rounds");
    CHECK_OK(mpct_share_reveal(ctx, &S, -1, got));
    bad = 0;
    for (size_t i = 0; i < NC; i++)
        bad += got[i] != ((int64_t)x[i] > 0 ? x[i] : 0);
    CHECK(bad == 0, "relu wrong on %zu", bad);
    mpct_share_free(&X);
    mpct_share_free(&Y);
    mpct_share_free(&B);
    mpct_share_free(&L);
    mpct_share_free(&S);
    return fails;
}

static int body_nothing(mpct_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

int main(void)
{
    int fails = 0;
    fails += mpct_test_run3(body_ring, NULL, NULL);
    fails += mpct_test_run3(body_matmul, NULL, NULL);
    fails += mpct_test_run3(body_matmul_split, NULL, NULL);
    {   /* again on "ref", which has no gemm_bsum: the owner's add-then-gemm split */
        mpct_ctx_config rc[3];
        for (int p = 0; p < 3; p++) {
            rc[p] = mpct_ctx_config_default();
            rc[p].kernels = "ref";
        }
        fails += mpct_test_run3(body_matmul_split, (void *)1, rc);
    }
    {   /* mixed backends: P0 on "ref" (no gemm32: the 64-bit term), the others
         * on "cpu"; the lift's messages do not depend on the backend */
        mpct_ctx_config rc[3];
        for (int p = 0; p < 3; p++)
            rc[p] = mpct_ctx_config_default();
        rc[0].kernels = "ref";
        fails += mpct_test_run3(body_matmul_split, (void *)2, rc);
    }
    fails += mpct_test_run3(body_trunc, NULL, NULL);
    mpct_ctx_config pc[3];
    for (int p = 0; p < 3; p++) {
        pc[p] = mpct_ctx_config_default();
        pc[p].deterministic = 1;
        pc[p].seed = 42;
        pc[p].trunc_probabilistic = 1;
    }
    fails += mpct_test_run3(body_trunc, (void *)1, pc);
    fails += mpct_test_run3(body_cmp, NULL, NULL);
    /* OS-random keys work too */
    mpct_ctx_config rnd[3];
    for (int p = 0; p < 3; p++)
        rnd[p] = mpct_ctx_config_default();
    fails += mpct_test_run3(body_ring, NULL, rnd);
    /* handshake: one party with other fixed-point settings -> all fail */
    mpct_ctx_config bad[3];
    for (int p = 0; p < 3; p++)
        bad[p] = mpct_ctx_config_default();
    bad[2].frac_bits = 12;
    mpct_status init[3];
    int f = mpct_test_run3_ex(body_nothing, NULL, bad, init);
    for (int p = 0; p < 3; p++)
        CHECK(init[p] == MPCT_ERR_PROTOCOL, "party %d accepted mismatched frac bits (status %s)", p,
              mpct_status_str(init[p]));
    CHECK(f == 3, "expected 3 init failures, got %d", f);
    /* handshake: test keys on one party, fresh keys on the others -> all fail, naming the key mode */
    for (int p = 0; p < 3; p++)
        bad[p] = mpct_ctx_config_default();
    bad[1].deterministic = 1;
    bad[1].seed = 7;
    f = mpct_test_run3_ex(body_nothing, NULL, bad, init);
    for (int p = 0; p < 3; p++)
        CHECK(init[p] == MPCT_ERR_PROTOCOL, "party %d accepted a peer with another key mode (status %s)", p,
              mpct_status_str(init[p]));
    CHECK(f == 3, "key mode mix: expected 3 init failures, got %d", f);
    return mpct_check_done("test_mpc");
}
