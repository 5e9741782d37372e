/*
 * mpct_party3.h — test harness: runs one function as three MPC parties in
 * one process (three threads over the in-process transport), each with its
 * own protocol context. Also CHECK macros that count failures.
 *
 * Usage: static int body(mpct_ctx_t *ctx, void *arg) { ... return failures; }
 *        int fails = mpct_test_run3(body, arg, NULL);
 */
#ifndef MPCT_PARTY3_H
#define MPCT_PARTY3_H

#include "mpct_mpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            fails++;                                                            \
        }                                                                       \
    } while (0)

#define CHECK_OK(expr)                                                          \
    do {                                                                        \
        mpct_status s_ = (expr);                                                \
        if (s_ != MPCT_OK) {                                                    \
            fprintf(stderr, "FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__,   \
                    #expr, mpct_status_str(s_), mpct_error_msg());              \
            return fails + 1;                                                   \
        }                                                                       \
    } while (0)

typedef int (*mpct_test_body)(mpct_ctx_t *ctx, void *arg);

typedef struct mpct_test_thread {
    mpct_net_t *net;
    mpct_ctx_config cfg;
    mpct_test_body body;
    void *arg;
    int fails;
    mpct_status init_status;
} mpct_test_thread;

static void *mpct_test_thread_main(void *p)
{
    mpct_test_thread *t = p;
    mpct_ctx_t *ctx = NULL;
    t->init_status = mpct_ctx_init(&ctx, t->net, &t->cfg);
    if (t->init_status != MPCT_OK) {
        fprintf(stderr, "party %d: context init failed: %s\n", mpct_net_party(t->net), mpct_error_msg());
        t->fails = 1;
        return NULL;
    }
    t->fails = t->body(ctx, t->arg);
    mpct_ctx_free(ctx);
    return NULL;
}

/* cfgs: NULL for defaults (deterministic keys, seed 42), or three configs.
 * Returns the total number of failures over the three parties. init_status
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
