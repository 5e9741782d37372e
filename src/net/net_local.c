/*
 * net_local.c — in-process backend for unit tests: three parties run as three
 * threads of one process; each directed link is a FIFO of copied messages.
 * The receiver checks that the message size equals what it expects.
 */
#include "net-impl.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

typedef struct lmsg {
    struct lmsg *next;
    size_t bytes;
    unsigned char data[];
} lmsg;

typedef struct local_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lmsg *head[3][3], *tail[3][3]; /* [from][to] */
    int refs;
} local_group;

static mpct_status lsend(local_group *g, int from, int to, const void *buf, size_t bytes)
{
    lmsg *m = mpct_alloc(sizeof *m + bytes);
    if (!m)
        return mpct_error_set(MPCT_ERR_NOMEM, "local transport: cannot queue %zu bytes", bytes);
    m->next = NULL;
    m->bytes = bytes;
    memcpy(m->data, buf, bytes);
    pthread_mutex_lock(&g->mu);
    if (g->tail[from][to])
        g->tail[from][to]->next = m;
    else
        g->head[from][to] = m;
    g->tail[from][to] = m;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return MPCT_OK;
}

static mpct_status lrecv(local_group *g, int from, int to, void *buf, size_t bytes, double timeout_s)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)timeout_s;
    pthread_mutex_lock(&g->mu);
    while (!g->head[from][to]) {
        if (pthread_cond_timedwait(&g->cv, &g->mu, &dl) != 0 && !g->head[from][to]) {
            pthread_mutex_unlock(&g->mu);
            return mpct_error_set(MPCT_ERR_TIMEOUT, "party %d: party %d sent nothing within %.0f s",
                                  to, from, timeout_s);
        }
    }
    lmsg *m = g->head[from][to];
    g->head[from][to] = m->next;
    if (!m->next)
        g->tail[from][to] = NULL;
    pthread_mutex_unlock(&g->mu);
    mpct_status s = MPCT_OK;
    if (m->bytes != bytes)
        s = mpct_error_set(MPCT_ERR_PROTOCOL, "party %d expected %zu bytes from party %d, got %zu",
                           to, bytes, from, m->bytes);
    else
        memcpy(buf, m->data, bytes);
    mpct_free_secret(m);
    return s;
}

static mpct_status local_round(mpct_net_t *net, const mpct_net_msg *m)
{
    local_group *g = net->impl;
    int me = net->party, next = (me + 1) % 3, prev = (me + 2) % 3;
    if (m->to_next_bytes)
        MPCT_CALL(lsend(g, me, next, m->to_next, m->to_next_bytes));
    if (m->to_prev_bytes)
        MPCT_CALL(lsend(g, me, prev, m->to_prev, m->to_prev_bytes));
    if (m->from_next_bytes)
        MPCT_CALL(lrecv(g, next, me, m->from_next, m->from_next_bytes, net->timeout_s));
    if (m->from_prev_bytes)
        MPCT_CALL(lrecv(g, prev, me, m->from_prev, m->from_prev_bytes, net->timeout_s));
    return MPCT_OK;
}

static void local_free(mpct_net_t *net)
{
    local_group *g = net->impl;
    pthread_mutex_lock(&g->mu);
    int last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (!last)
        return;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (lmsg *m = g->head[a][b], *n; m; m = n) {
                n = m->next;
                mpct_free_secret(m);
            }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    mpct_free(g);
}

static const mpct_net_ops local_ops = {local_round, local_free, "local"};

mpct_status mpct_net_init_local(mpct_net_t *nets[3], double timeout_s)
{
    local_group *g = mpct_calloc(sizeof *g);
    if (!g)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the local transport");
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->refs = 3;
    for (int p = 0; p < 3; p++) {
        nets[p] = mpct_net_alloc(&local_ops, g, p, timeout_s);
        if (!nets[p])
            return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the local transport");
    }
    return MPCT_OK;
}
