/*
 * test_mpi_ops.c — the protocols over real MPI ranks: every replica (3 ranks)
 * runs input / add / mul / matmul / truncation / comparison / ReLU on random
 * data from a replica-specific seed and checks the revealed results against
 * plaintext (exact for ring ops and comparison; {0,1} ulp for truncation).
 * Run with mpiexec -n 3 and -n 6. Every rank exits non-zero on failure.
 */
#include "mpct_mpc.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 6000
/* a fatal check stops every rank */
#define MPCT_CHECK_EXIT(code) MPI_Abort(MPI_COMM_WORLD, code)
#include "../mpct_check.h"

static int wrank;
static uint64_t a[N], b[N], got[N];

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    mpct_check_context("rank %d", wrank);
    /* the mixed BMI2 test compares nothing on a CPU without BMI2: skip */
    const char *need = getenv("MPCT_TEST_NEED_BMI2");
    if (need && *need == '1') {
#if defined(__x86_64__) || defined(__i386__)
        const int have = __builtin_cpu_supports("bmi2");
#else
        const int have = 0;
#endif
        if (!have) {
            if (wrank == 0)
                fprintf(stderr, "test_mpi_ops: no BMI2 on this CPU: the mixed-path test is skipped\n");
            MPI_Finalize();
            return 77;
        }
    }
    if (wsize % 3) {
        if (wrank == 0)
            fprintf(stderr, "test_mpi_ops needs a multiple of 3 ranks\n");
        MPI_Finalize();
        return 1;
    }
    int replica = wrank / 3;
    MPI_Comm comm;
    MPI_Comm_split(MPI_COMM_WORLD, replica, wrank % 3, &comm);
    mpct_net_t *net = NULL;
    mpct_ctx_t *ctx = NULL;
    MUST(mpct_net_init_mpi(&net, &comm, 120));
    mpct_ctx_config cfg = mpct_ctx_config_default();
    MUST(mpct_ctx_init(&ctx, net, &cfg));
    const int me = mpct_ctx_party(ctx);
    mpct_rng r = {1000 + (uint64_t)replica};
    for (size_t i = 0; i < N; i++) {
        a[i] = i % 5 == 0 ? mpct_rng_next(&r) : (uint64_t)((int64_t)(mpct_rng_next(&r) >> 30) - (1LL << 33));
        b[i] = i % 7 == 0 ? 0 : (uint64_t)((int64_t)(mpct_rng_next(&r) >> 34) - (1LL << 29));
    }
    mpct_share A = {0}, B = {0}, C = {0};
    MUST(mpct_share_init(&A, mpct_shape_1d(N)));
    MUST(mpct_share_init(&B, mpct_shape_1d(N)));
    MUST(mpct_share_input(ctx, 0, me == 0 ? a : NULL, &A));
    MUST(mpct_share_input(ctx, 1, me == 1 ? b : NULL, &B));
    MUST(mpct_share_mul(ctx, &A, &B, &C));
    MUST(mpct_share_add(ctx, &C, &A, &C));
    MUST(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == a[i] * b[i] + a[i], "mul+add at %zu", i);
    /* truncation of b*b (|b| < 2^29 -> |b^2| < 2^58; use b >> 10 to keep < 2^40) */
    for (size_t i = 0; i < N; i++)
        b[i] = (uint64_t)((int64_t)b[i] >> 10);
    MUST(mpct_share_input(ctx, 2, me == 2 ? b : NULL, &B));
    MUST(mpct_share_mul(ctx, &B, &B, &C));
    MUST(mpct_share_trunc(ctx, &C, 16, &C));
    MUST(mpct_share_reveal(ctx, &C, 0, got));
    if (me == 0)
        for (size_t i = 0; i < N; i++) {
            int64_t want = (int64_t)(b[i] * b[i]) >> 16, e = (int64_t)(got[i] - (uint64_t)want);
            CHECK(e == 0 || e == 1, "trunc at %zu: error %lld", i, (long long)e);
        }
    /* matmul 24x40 by 40x16 */
    enum { M = 24, K = 40, NN = 16 };
    mpct_share X = {0}, W = {0}, Y = {0};
    MUST(mpct_share_init(&X, mpct_shape_2d(M, K)));
    MUST(mpct_share_init(&W, mpct_shape_2d(K, NN)));
    MUST(mpct_share_input(ctx, 1, me == 1 ? a : NULL, &X));
    MUST(mpct_share_input(ctx, 0, me == 0 ? b : NULL, &W));
    MUST(mpct_share_matmul(ctx, &X, &W, &Y));
    MUST(mpct_share_reveal(ctx, &Y, 1, got));
    if (me == 1)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < NN; j++) {
                uint64_t s = 0;
                for (int p = 0; p < K; p++)
                    s += a[i * K + p] * b[p * NN + j];
                CHECK(got[i * NN + j] == s, "matmul [%d,%d]", i, j);
            }
    /* comparison and relu over a */
    MUST(mpct_share_ltz(ctx, &A, &C));
    MUST(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == (uint64_t)((int64_t)a[i] < 0), "ltz at %zu", i);
    /* 32-bit comparison of small values (the packed carry tree) */
    {
        static uint64_t sm[N];
        for (size_t i = 0; i < N; i++)
            sm[i] = (uint64_t)((int64_t)a[i] >> 40);
        mpct_share S = {0};
        MUST(mpct_share_init(&S, mpct_shape_1d(N)));
        MUST(mpct_share_input(ctx, 1, me == 1 ? sm : NULL, &S));
        MUST(mpct_share_ltz_w(ctx, &S, 32, &C));
        MUST(mpct_share_reveal(ctx, &C, -1, got));
        for (size_t i = 0; i < N; i++)
            CHECK(got[i] == (uint64_t)((int64_t)sm[i] < 0), "ltz_w(32) at %zu", i);
        mpct_share_free(&S);
    }
    MUST(mpct_share_relu(ctx, &A, &C));
    MUST(mpct_share_reveal(ctx, &C, -1, got));
    for (size_t i = 0; i < N; i++)
        CHECK(got[i] == ((int64_t)a[i] > 0 ? a[i] : 0), "relu at %zu", i);
    mpct_net_counters t = mpct_net_total(net);
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(all == failures, "%d check(s) failed on other ranks", all - failures); /* every rank exits non-zero */
    if (wrank == 0)
        printf("test_mpi_ops: %d ranks, %d replicas, %llu rounds, %llu bytes sent by rank 0: %s\n", wsize,
               wsize / 3, (unsigned long long)t.rounds, (unsigned long long)t.bytes_sent,
               all ? "FAILED" : "all checks passed");
    const int rc = mpct_check_done("test_mpi_ops");
    mpct_share_free(&A);
    mpct_share_free(&B);
    mpct_share_free(&C);
    mpct_share_free(&X);
    mpct_share_free(&W);
    mpct_share_free(&Y);
    mpct_ctx_free(ctx);
    mpct_net_free(net);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return rc;
}
