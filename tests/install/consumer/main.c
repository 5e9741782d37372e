/*
 * main.c — a program outside mpct built against an installed mpct
 * (find_package(mpct), mpct::mpct). It calls the public API of several
 * layers, so that linking pulls in their objects and the libraries they
 * need: core (status strings, fixed point), net + kernels + mpc (three
 * parties in one process multiply secret-shared vectors over the
 * in-process transport, 1 round), io (opening a model file that does not
 * exist fails with MPCT_ERR_IO and a message naming the path; HDF5) and
 * perf (an empty report; cJSON).
 *
 * Prints "consumer ok" and exits 0 when every result is the expected one,
 * else names the first mismatch and exits 1.
 */
#include "mpct_io.h"
#include "mpct_mpc.h"
#include "mpct_perf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define N 3

static const int64_t a_plain[N] = {6, -3, 1000};
static const int64_t b_plain[N] = {7, 5, -2};

typedef struct party {
    mpct_net_t *net;
    uint64_t out[N];
    mpct_status st;
} party;

static mpct_status multiply(mpct_ctx_t *ctx, uint64_t out[N])
{
    int me = mpct_ctx_party(ctx);
    uint64_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = (uint64_t)a_plain[i];
        b[i] = (uint64_t)b_plain[i];
    }
    mpct_share x = {0}, y = {0}, z = {0};
    mpct_status st;
    MPCT_CALL_GOTO(st, done, mpct_share_init(&x, mpct_shape_1d(N)));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&y, mpct_shape_1d(N)));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&z, mpct_shape_1d(N)));
    MPCT_CALL_GOTO(st, done, mpct_share_input(ctx, 0, me == 0 ? a : NULL, &x));
    MPCT_CALL_GOTO(st, done, mpct_share_input(ctx, 1, me == 1 ? b : NULL, &y));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &x, &y, &z));
    MPCT_CALL_GOTO(st, done, mpct_share_reveal(ctx, &z, MPCT_ALL_PARTIES, out));
done:
    mpct_share_free(&x);
    mpct_share_free(&y);
    mpct_share_free(&z);
    return st;
}

static void *party_main(void *arg)
{
    party *p = arg;
    mpct_ctx_config cfg = mpct_ctx_config_default();
    cfg.deterministic = 1;
    cfg.seed = 7;
    mpct_ctx_t *ctx = NULL;
    p->st = mpct_ctx_init(&ctx, p->net, &cfg);
    if (p->st == MPCT_OK)
        p->st = multiply(ctx, p->out);
    if (p->st != MPCT_OK)
        fprintf(stderr, "party %d: %s\n", mpct_net_party(p->net), mpct_error_msg());
    mpct_ctx_free(ctx);
    return NULL;
}

static int check_mpc(void)
{
    mpct_net_t *nets[3];
    if (mpct_net_init_local(nets, 60) != MPCT_OK) {
        fprintf(stderr, "mpct_net_init_local: %s\n", mpct_error_msg());
        return 1;
    }
    party parties[3] = {{0}};
    pthread_t tid[3];
    int started = 0, fails = 0;
    for (int p = 0; p < 3; p++) {
        parties[p].net = nets[p];
        if (pthread_create(&tid[p], NULL, party_main, &parties[p]) != 0)
            break;
        started++;
    }
    for (int p = 0; p < started; p++)
        pthread_join(tid[p], NULL);
    fails += started != 3;
    for (int p = 0; p < started; p++) {
        if (parties[p].st != MPCT_OK) {
            fails++;
            continue;
        }
        for (int i = 0; i < N; i++)
            if ((int64_t)parties[p].out[i] != a_plain[i] * b_plain[i]) {
                fprintf(stderr, "party %d: product %d is %lld, expected %lld\n", p, i,
                        (long long)(int64_t)parties[p].out[i], (long long)(a_plain[i] * b_plain[i]));
                fails++;
            }
    }
    for (int p = 0; p < 3; p++)
        mpct_net_free(nets[p]);
    return fails;
}

int main(void)
{
    if (strcmp(mpct_status_str(MPCT_OK), "ok") != 0) {
        fprintf(stderr, "mpct_status_str(MPCT_OK) is '%s'\n", mpct_status_str(MPCT_OK));
        return 1;
    }
    if (mpct_fxp_decode(mpct_fxp_encode(-2.5, 16), 16) != -2.5) {
        fprintf(stderr, "fixed point does not round-trip -2.5\n");
        return 1;
    }
    if (check_mpc() != 0)
        return 1;

    const char *missing = "no-such-model.h5";
    mpct_model_file *f = NULL;
    mpct_status st = mpct_model_file_open(missing, &f);
    if (st != MPCT_ERR_IO || !strstr(mpct_error_msg(), missing)) {
        fprintf(stderr, "opening %s: %s (%s), expected an I/O error naming it\n", missing,
                mpct_status_str(st), mpct_error_msg());
        mpct_model_file_close(f);
        return 1;
    }

    mpct_perf_report_t *r = NULL;
    if (mpct_perf_report_init(&r, "consumer") != MPCT_OK || mpct_perf_report_nparties(r) != 0) {
        fprintf(stderr, "mpct_perf_report_init: %s\n", mpct_error_msg());
        mpct_perf_report_free(r);
        return 1;
    }
    mpct_perf_report_free(r);

    printf("consumer ok\n");
    return 0;
}
