/*
 * net_mpi.c — MPI backend: non-blocking sends/receives to the two
 * neighbours, completed by polling with a deadline (no hang when a peer is
 * gone). Messages above 1 GiB travel in chunks. Tags carry the round number
 * modulo 2^15 so a message can never be matched to the wrong round.
 */
#include "net-impl.h"

#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#define CHUNK (1u << 30)

/* Polls (with sched_yield) before sleeping between polls; MPCT_NET_SPINS sets
 * it. Default: never sleep (measured: sleeping did not help reliably on the
 * oversubscribed 2-core VM). */
static unsigned poll_spins = 0xffffffffu;

typedef struct mpi_impl {
    MPI_Comm comm;
    uint64_t round_no;
} mpi_impl;

static mpct_status mpi_round(mpct_net_t *net, const mpct_net_msg *m)
{
    mpi_impl *im = net->impl;
    int next = (net->party + 1) % 3, prev = (net->party + 2) % 3;
    const unsigned char *sbuf[2] = {m->to_next, m->to_prev};
    size_t sbytes[2] = {m->to_next_bytes, m->to_prev_bytes};
    unsigned char *rbuf[2] = {m->from_next, m->from_prev};
    size_t rbytes[2] = {m->from_next_bytes, m->from_prev_bytes};
    int speer[2] = {next, prev}, rpeer[2] = {next, prev};
    /* tag: direction-specific so next/prev streams never cross */
    int tag_base = (int)((im->round_no++ % 8192) * 4);

    size_t maxb = 0;
    for (int d = 0; d < 2; d++) {
        if (sbytes[d] > maxb) maxb = sbytes[d];
        if (rbytes[d] > maxb) maxb = rbytes[d];
    }
    size_t nchunks = maxb ? (maxb + CHUNK - 1) / CHUNK : 0;
    double deadline = mpct_time_now() + net->timeout_s;
    for (size_t ch = 0; ch < nchunks; ch++) {
        MPI_Request req[4];
        size_t rlen[2];
        int nreq = 0, nrecv = 0;
        size_t off = ch * (size_t)CHUNK;
        for (int d = 0; d < 2; d++) {
            /* a message to next is tagged "from prev" at the receiver */
            if (rbytes[d] > off) {
                size_t len = rbytes[d] - off < CHUNK ? rbytes[d] - off : CHUNK;
                int tag = tag_base + (d == 0 ? 1 : 0);
                rlen[nrecv++] = len;
                if (MPI_Irecv(rbuf[d] + off, (int)len, MPI_BYTE, rpeer[d], tag, im->comm,
                              &req[nreq++]) != MPI_SUCCESS)
                    return mpct_error_set(MPCT_ERR_NET, "MPI_Irecv from party %d failed", rpeer[d]);
            }
        }
        for (int d = 0; d < 2; d++) {
            if (sbytes[d] > off) {
                size_t len = sbytes[d] - off < CHUNK ? sbytes[d] - off : CHUNK;
                int tag = tag_base + (d == 0 ? 0 : 1);
                if (MPI_Isend(sbuf[d] + off, (int)len, MPI_BYTE, speer[d], tag, im->comm,
                              &req[nreq++]) != MPI_SUCCESS)
                    return mpct_error_set(MPCT_ERR_NET, "MPI_Isend to party %d failed", speer[d]);
            }
        }
        MPI_Status st[4];
        unsigned spins = 0;
        for (;;) {
            int done = 0;
            if (MPI_Testall(nreq, req, &done, st) != MPI_SUCCESS)
                return mpct_error_set(MPCT_ERR_NET, "MPI_Testall failed in round %llu",
                                      (unsigned long long)im->round_no);
            if (done)
                break;
            if (mpct_time_now() > deadline) {
                for (int r = 0; r < nreq; r++) {
                    MPI_Cancel(&req[r]);
                }
                return mpct_error_set(MPCT_ERR_TIMEOUT,
                                      "party %d: a peer did not answer within %.0f s (round %llu); "
                                      "it has probably died",
                                      net->party, net->timeout_s, (unsigned long long)im->round_no);
            }
            /* Spin briefly, then back off: with more ranks than cores
             * (three parties on a workstation) a spinning party steals
             * the CPU from the peer it is waiting for. */
            if (++spins < poll_spins)
                sched_yield();
            else
                nanosleep(&(struct timespec){0, spins < poll_spins + 64 ? 2000 : 20000}, NULL);
        }
        for (int r = 0; r < nrecv; r++) {
            int got = 0;
            MPI_Get_count(&st[r], MPI_BYTE, &got);
            if ((size_t)got != rlen[r])
                return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d expected %zu bytes, received %d",
                                      net->party, rlen[r], got);
        }
    }
    return MPCT_OK;
}

static void mpi_free(mpct_net_t *net)
{
    mpi_impl *im = net->impl;
    if (!im)
        return;
    MPI_Comm_free(&im->comm);
    mpct_free(im);
}

static const mpct_net_ops mpi_ops = {mpi_round, mpi_free, "mpi"};

mpct_status mpct_net_init_mpi(mpct_net_t **out, const void *mpi_comm, double timeout_s)
{
    MPI_Comm comm = *(const MPI_Comm *)mpi_comm;
    int size = 0, rank = 0;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    if (size != 3)
        return mpct_error_set(MPCT_ERR_ARG, "a replica needs exactly 3 ranks, its communicator has %d", size);
    const char *sp = getenv("MPCT_NET_SPINS");
    if (sp && *sp)
        poll_spins = (unsigned)strtoul(sp, NULL, 10);
    mpi_impl *im = mpct_calloc(sizeof *im);
    if (!im)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the MPI transport");
    MPI_Comm_dup(comm, &im->comm);
    *out = mpct_net_alloc(&mpi_ops, im, rank, timeout_s);
    if (!*out) {
        MPI_Comm_free(&im->comm);
        mpct_free(im);
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the MPI transport");
    }
    return MPCT_OK;
}
