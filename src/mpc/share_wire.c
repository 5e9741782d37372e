/*
 * share_wire.c — rounds as an API, and ring words on the wire.
 *
 * A protocol step builds its round (mpc_round): it queues segments of
 * ring words to send to next or prev and segments to receive from them,
 * then exchanges once. Each direction's segments travel as one message,
 * concatenated in the order queued, each word as its low wb bytes (1..8,
 * back to back); received words are unpacked and shifted left by the
 * segment's sh (the kernel table's wire_pack and wire_unpack). A direction
 * with a single full-word segment is sent from (received into) the
 * caller's memory without a copy.
 *
 * Cost: one mpct_net_round per exchange, whatever was queued; the bytes
 * sent are the sum of n * wb over the queued send segments.
 * Invariants: every party queues, in the same order, the segments its
 * peers expect (the transport checks the sizes); a segment's memory stays
 * valid (and, when sent, unchanged) until the exchange; full words travel
 * in memory order, narrower ones little-endian on every machine.
 */
#include "mpc-impl.h"

#include <string.h>

void mpc_round_begin(mpc_round *r, mpct_ctx_t *ctx)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
}

/* Queues 0, 1: send to next, prev; 2, 3: receive from next, prev. */
static void round_queue(mpc_round *r, int q, uint64_t *w, size_t n, unsigned wb, unsigned sh)
{
    mpc_round_q *Q = &r->q[q];
    if (r->st != MPCT_OK || !n)
        return;
    if (wb < 1 || wb > 8 || sh > 63) {
        r->st = mpct_error_set(MPCT_ERR_ARG, "round: a segment of %u-byte words shifted by %u", wb, sh);
        return;
    }
    if (Q->n == Q->cap) { /* the inline segments first, then the heap, doubling */
        const size_t cap = Q->cap ? 2 * Q->cap : MPC_ROUND_INLINE;
        mpc_seg *g = cap > MPC_ROUND_INLINE ? mpct_alloc(cap * sizeof *g) : Q->inl;
        if (!g) {
            r->st = mpct_error_set(MPCT_ERR_NOMEM, "round: out of memory for %zu segments", cap);
            return;
        }
        if (Q->n)
            memcpy(g, Q->seg, Q->n * sizeof *g);
        if (Q->seg && Q->seg != Q->inl)
            mpct_free(Q->seg);
        Q->seg = g;
        Q->cap = cap;
    }
    Q->seg[Q->n++] = (mpc_seg){w, n, wb, sh};
    Q->bytes += n * wb;
}

void mpc_round_send(mpc_round *r, int peer, const uint64_t *w, size_t n, unsigned wb)
{
    /* never written through: only the receive queues are */
    round_queue(r, peer == MPC_PREV, (uint64_t *)(uintptr_t)w, n, wb, 0);
}

void mpc_round_recv(mpc_round *r, int peer, uint64_t *w, size_t n, unsigned wb, unsigned sh)
{
    round_queue(r, 2 + (peer == MPC_PREV), w, n, wb, sh);
}

void mpc_round_free(mpc_round *r)
{
    for (int q = 0; q < 4; q++) {
        if (r->q[q].seg && r->q[q].seg != r->q[q].inl)
            mpct_free(r->q[q].seg);
        r->q[q].seg = NULL;
        r->q[q].n = r->q[q].cap = r->q[q].bytes = 0;
    }
}

/* A queue's wire buffer: the caller's words for a single full-word
 * segment without a shift, else a scratch block (*tmp). NULL when empty
 * or out of memory. */
static void *round_buf(const mpc_round_q *Q, uint64_t **tmp)
{
    if (!Q->bytes)
        return NULL;
    if (Q->n == 1 && Q->seg[0].wb == 8 && !Q->seg[0].sh)
        return Q->seg[0].w;
    *tmp = mpc_tmp((Q->bytes + 7) / 8);
    return *tmp;
}

mpct_status mpc_round_exchange(mpc_round *r)
{
    mpct_status st = r->st;
    uint64_t *tmp[4] = {NULL, NULL, NULL, NULL};
    void *buf[4] = {NULL, NULL, NULL, NULL};
    for (int q = 0; q < 4 && st == MPCT_OK; q++)
        if (!(buf[q] = round_buf(&r->q[q], &tmp[q])) && r->q[q].bytes)
            st = mpct_error_set(MPCT_ERR_NOMEM, "round: out of memory for %zu bytes", r->q[q].bytes);
    for (int q = 0; q < 2 && st == MPCT_OK; q++) /* pack what is sent */
        for (size_t i = 0, off = 0; tmp[q] && i < r->q[q].n; off += r->q[q].seg[i].n * r->q[q].seg[i].wb, i++)
            r->ctx->k->wire_pack(r->q[q].seg[i].n, r->q[q].seg[i].w, r->q[q].seg[i].wb, (uint8_t *)buf[q] + off);
    if (st == MPCT_OK) {
        mpct_net_msg m = {buf[0], r->q[0].bytes, buf[1], r->q[1].bytes, buf[2], r->q[2].bytes, buf[3], r->q[3].bytes};
        st = mpct_net_round(r->ctx->net, &m);
    }
    for (int q = 2; q < 4 && st == MPCT_OK; q++) /* unpack what arrived */
        for (size_t i = 0, off = 0; tmp[q] && i < r->q[q].n; off += r->q[q].seg[i].n * r->q[q].seg[i].wb, i++)
            r->ctx->k->wire_unpack(r->q[q].seg[i].n, (const uint8_t *)buf[q] + off, r->q[q].seg[i].wb,
                                   r->q[q].seg[i].sh, r->q[q].seg[i].w);
    for (int q = 0; q < 4; q++)
        if (tmp[q])
            mpc_tmp_free(tmp[q]);
    mpc_round_free(r);
    return st;
}
