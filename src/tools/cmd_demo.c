/*
 * cmd_demo.c — `mpct demo`: a short secure-computation job that exercises the
 * core end to end under mpirun. Party 0 (model owner) inputs a weight matrix
 * W, party 1 (client) inputs a batch X; the parties compute ReLU(X W) and
 * (X W > 0.5) under MPC; only the client sees the result, which it checks
 * against float64 and prints. Exits non-zero if any value misses its bound.
 *
 * MPCT_COMMAND(demo, 1, "secure-computation demo: ReLU(X W) between owner and client")
 */
#include "opt.h"
#include "tool_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mpct_opt demo_opts[] = {
    {"rows", 'm', "M", "rows of X (1..4096, default 4)"},
    {"dim", 'k', "K", "columns of X, rows of W (1..4096, default 16)"},
    {"cols", 'n', "N", "columns of W (1..4096, default 8)"},
    {"seed", 0, "S", "seed of the random X and W (default 7)"},
    {"quiet", 'q', NULL, "print only errors"},
};

static const mpct_opt_exit demo_exits_more[] = {
    {MPCT_SCHED_EXIT_ABORT, "a party failed during the computation: the job is taken down (MPI_Abort)"},
    {0, NULL},
};

static const mpct_opt_cmd demo_cmd = {
    .name = "demo",
    .usage = "mpirun -np 3 mpct demo [--rows M] [--dim K] [--cols N] [--seed S] [--quiet]",
    .about = "Owner (party 0) shares W[KxN], client (party 1) shares X[MxK]; the parties compute\n"
             "Y = ReLU(X W) and C = (X W > 0.5) in fixed point; the client alone receives and checks\n"
             "them against float64.\n",
    MPCT_OPT_TABLE(demo_opts),
    .exit_fail = "a value missed its bound against float64, or the world size is not a multiple of 3",
    .exits_more = demo_exits_more,
};

static mpct_status demo(mpct_sched_replica *r, size_t m, size_t k, size_t n, uint64_t seed, int quiet, int *ok)
{
    mpct_ctx_t *ctx = r->ctx;
    const int owner = 0, client = 1, me = r->party;
    const int f = mpct_ctx_frac_bits(ctx);
    mpct_status st = MPCT_OK;
    mpct_share W = {0}, X = {0}, Y = {0}, R = {0}, C = {0}, half = {0};
    double *w = NULL, *x = NULL, *y = NULL, *c = NULL;
    MPCT_CALL_GOTO(st, done, mpct_share_init(&W, mpct_shape_2d(k, n)));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&X, mpct_shape_2d(m, k)));
    mpct_rng rng = {seed};
    if (me == owner || me == client) {
        /* each role draws only its own data */
        size_t cnt = me == owner ? k * n : m * k;
        double *buf = malloc(cnt * sizeof *buf);
        if (!buf) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "demo: out of memory");
            goto done;
        }
        rng.s += (uint64_t)me * 7919;
        for (size_t i = 0; i < cnt; i++)
            buf[i] = mpct_rng_range(&rng, -1, 1);
        if (me == owner)
            w = buf;
        else
            x = buf;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_input_fxp(ctx, owner, w, &W));
    MPCT_CALL_GOTO(st, done, mpct_share_input_fxp(ctx, client, x, &X));
    MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &X, &W, &Y));
    MPCT_CALL_GOTO(st, done, mpct_share_relu(ctx, &Y, &R));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&half, Y.shape));
    const uint64_t h = mpct_fxp_encode(0.5, f);
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, &half, &h, 1, &half)); /* 0 + public 0.5 */
    MPCT_CALL_GOTO(st, done, mpct_share_lt(ctx, &half, &Y, &C));
    if (me == client) {
        y = malloc(m * n * sizeof *y);
        c = malloc(m * n * sizeof *c);
        if (!y || !c) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "demo: out of memory");
            goto done;
        }
    }
    MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &R, client, y));
    MPCT_CALL_GOTO(st, done, mpct_share_reveal(ctx, &C, client, (uint64_t *)c));
    /* Self-check: the demo's W comes from a public seed, so the client can
     * regenerate it for a float64 reference. (Real jobs have no such check:
     * the weights never leave the owner.) */
    if (me == client) {
        mpct_rng wr = {seed + (uint64_t)owner * 7919};
        double *wref = malloc(k * n * sizeof *wref);
        if (!wref) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "demo: out of memory");
            goto done;
        }
        for (size_t i = 0; i < k * n; i++)
            wref[i] = mpct_rng_range(&wr, -1, 1);
        double maxerr = 0, bound = (double)(k + 2) * ldexp(1.0, -f);
        int wrong_cmp = 0;
        const uint64_t *cbits = (const uint64_t *)c;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double ref = 0;
                for (size_t p = 0; p < k; p++)
                    ref += x[i * k + p] * wref[p * n + j];
                double relu = ref > 0 ? ref : 0;
                maxerr = fmax(maxerr, fabs(relu - y[i * n + j]));
                int want = ref > 0.5, got = (int)cbits[i * n + j];
                if (want != got && fabs(ref - 0.5) > bound)
                    wrong_cmp++;
            }
        free(wref);
        *ok = maxerr <= bound && wrong_cmp == 0;
        if (!quiet) {
            printf("mpct demo: client received Y = ReLU(X W), %zux%zu (first row):", m, n);
            for (size_t j = 0; j < n && j < 8; j++)
                printf(" %.4f", y[j]);
            printf("\nmpct demo: max abs error vs float64 %.3g (bound %.3g), comparisons wrong: %d\n", maxerr,
                   bound, wrong_cmp);
            mpct_net_counters t = mpct_net_total(r->net);
            printf("mpct demo: client party sent %llu bytes in %llu rounds; result %s\n",
                   (unsigned long long)t.bytes_sent, (unsigned long long)t.rounds, *ok ? "OK" : "WRONG");
        }
    }
done:
    mpct_share_free(&W);
    mpct_share_free(&X);
    mpct_share_free(&Y);
    mpct_share_free(&R);
    mpct_share_free(&C);
    mpct_share_free(&half);
    free(w);
    free(x);
    free(y);
    free(c);
    return st;
}

int mpct_cmd_demo(int argc, char **argv)
{
    long m = 4, k = 16, n = 8, seed = 7;
    int quiet = 0, rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mpct_opt_iter it = mpct_opt_start(&demo_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt)
            return mpct_opt_usage_error(&demo_cmd, "unexpected argument '%s'", it.value);
        if (mpct_opt_is(&it, "quiet")) {
            quiet = 1;
            continue;
        }
        long *dst = mpct_opt_is(&it, "rows") ? &m : mpct_opt_is(&it, "dim") ? &k : mpct_opt_is(&it, "cols") ? &n
                                                                                                           : &seed;
        if (mpct_tool_parse_long("demo", it.spelled, it.value, dst == &seed ? 0 : 1,
                                 dst == &seed ? (1L << 62) : 4096, dst))
            return 2;
    }
    if (rc >= 0)
        return rc;
    mpct_sched_replica r;
    mpct_ctx_config cfg = mpct_ctx_config_default();
    mpct_status st = mpct_sched_replica_init(&r, &cfg, 600);
    if (st != MPCT_OK) {
        if (rank == 0 || st != MPCT_ERR_ARG)
            mpct_sched_error("demo", st);
        mpct_sched_replica_free(&r);
        return st == MPCT_ERR_ARG ? 1 : MPCT_SCHED_EXIT_ABORT;
    }
    int ok = 1;
    st = demo(&r, (size_t)m, (size_t)k, (size_t)n, (uint64_t)seed + (uint64_t)r.replica, quiet, &ok);
    mpct_sched_replica_free(&r);
    if (st != MPCT_OK) {
        mpct_sched_error("demo", st);
        return MPCT_SCHED_EXIT_ABORT;
    }
    /* the client's verdict decides every rank's exit status */
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all_ok ? 0 : 1;
}
