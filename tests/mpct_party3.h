/*
 * mpct_party3.h — test harness: runs one function as three MPC parties in
 * one process (three threads over the in-process transport), each with its
 * own protocol context. The checks are mpct_check.h's, counting into `fails`:
 * a body's local, main's local, or a file-level `static int fails` the test
 * declares for helpers outside the parties. FAIL records name the party.
 *
 * Usage: static int body(mpct_ctx_t *ctx, void *arg)
 *        { int fails = 0; CHECK(...); CHECK_OK(...); return fails; }
 *        int main(void) { int fails = mpct_test_run3(body, arg, NULL); ...
 *                         return mpct_check_done("test_x"); }
 */
#ifndef MPCT_PARTY3_H
#define MPCT_PARTY3_H

#ifdef MPCT_CHECK_H
#error "mpct_party3.h sets the failure counter of mpct_check.h: include it first"
#endif
#include "mpct_mpc.h"
#define MPCT_CHECK_COUNTER fails
#include "mpct_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*mpct_test_body)(mpct_ctx_t *ctx, void *arg);

typedef struct mpct_test_thread {
    mpct_net_t *net;
    mpct_ctx_config cfg;
    mpct_test_body body;
    void *arg;
    int fails;
    long passed;
    mpct_status init_status;
} mpct_test_thread;

static void *mpct_test_thread_main(void *p)
{
    mpct_test_thread *t = p;
    mpct_ctx_t *ctx = NULL;
    mpct_check_context("party %d", mpct_net_party(t->net));
    t->init_status = mpct_ctx_init(&ctx, t->net, &t->cfg);
    if (t->init_status != MPCT_OK) {
        fprintf(stderr, "party %d: context init failed: %s\n", mpct_net_party(t->net), mpct_error_msg());
        t->fails = 1;
        return NULL;
    }
    t->fails = t->body(ctx, t->arg);
    t->passed = mpct_check_passed;
    mpct_ctx_free(ctx);
    return NULL;
}

/* cfgs: NULL for defaults (deterministic keys, seed 42), or three configs.
 * Returns the total number of failures over the three parties and adds
 * their passed checks to the caller's. init_status
 * (optional) receives each party's context-init status. */
static inline int mpct_test_run3_ex(mpct_test_body body, void *arg, const mpct_ctx_config *cfgs,
                                    mpct_status init_status[3])
{
    mpct_net_t *nets[3];
    if (mpct_net_init_local(nets, 60) != MPCT_OK) {
        fprintf(stderr, "cannot create the local transport\n");
        return 1;
    }
    mpct_test_thread th[3];
    pthread_t tid[3];
    for (int p = 0; p < 3; p++) {
        th[p] = (mpct_test_thread){.net = nets[p], .body = body, .arg = arg};
        if (cfgs) {
            th[p].cfg = cfgs[p];
        } else {
            th[p].cfg = mpct_ctx_config_default();
            th[p].cfg.deterministic = 1;
            th[p].cfg.seed = 42;
        }
        pthread_create(&tid[p], NULL, mpct_test_thread_main, &th[p]);
    }
    int fails = 0;
    for (int p = 0; p < 3; p++) {
        pthread_join(tid[p], NULL);
        fails += th[p].fails;
        mpct_check_passed += th[p].passed;
        if (init_status)
            init_status[p] = th[p].init_status;
    }
    for (int p = 0; p < 3; p++)
        mpct_net_free(nets[p]);
    return fails;
}

static inline int mpct_test_run3(mpct_test_body body, void *arg, const mpct_ctx_config *cfgs)
{
    return mpct_test_run3_ex(body, arg, cfgs, NULL);
}

#endif
