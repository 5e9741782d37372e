/*
 * coll.c — the job layer's collectives, the same calls whether the three
 * parties are ranks of one mpirun or each party was launched on its own.
 *
 *  - replica level (the three parties of one replica): one mpirun: MPI on
 *    the replica's communicator; parties launched separately: one round of
 *    the replica's transport (counted, op "control"), each party sending its
 *    values to both neighbours and every party combining them in party
 *    order, so all three hold the same result;
 *  - world level (every rank of every party): one mpirun: MPI on
 *    MPI_COMM_WORLD; separately: MPI within the party (MPI_COMM_WORLD is the
 *    party's ranks there), then the replica level.
 *  - one mpirun with encrypted links (r->encrypted): as separately, over the
 *    encrypted transport, with the party's own communicator (r->pcomm) in
 *    place of MPI_COMM_WORLD, so no collective passes between parties in
 *    the clear;
 *  - gathers to world rank 0 (the report's and the trace's records): one
 *    mpirun: MPI_Gatherv on MPI_COMM_WORLD; separately: the same, within the
 *    party; encrypted links: MPI within each party to its replica 0, whose
 *    parties 1 and 2 then send their party's records to party 0 (world
 *    rank 0) in one round of replica 0's encrypted transport.
 *
 * A transport failure in a separately launched job cannot be agreed on (the
 * peer is gone): the rank prints it and aborts its party; the other parties
 * see the links close and stop with the peer named.
 */
#include "sched-impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const mpct_sched_replica *world_rep; /* set by mpct_sched_replica_init: one job per process */

void mpct_sched_coll_bind(const mpct_sched_replica *r) { world_rep = r; }

static size_t type_size(MPI_Datatype dt)
{
    int n = 0;
    MPI_Type_size(dt, &n);
    return (size_t)n;
}

/* between parties over the transport (separate launch, or encrypted links) */
static int via_net(const mpct_sched_replica *r) { return r->separate || r->encrypted; }
/* a party's own ranks, one per replica, rank = replica */
static MPI_Comm party_world(const mpct_sched_replica *r) { return r->separate ? MPI_COMM_WORLD : r->pcomm; }

static void net_abort(mpct_status st)
{
    fprintf(stderr, "mpct: error: %s (%s)\n", mpct_error_msg(), mpct_status_str(st));
    MPI_Abort(MPI_COMM_WORLD, MPCT_SCHED_EXIT_ABORT);
}

/* a = a op b, n values of type dt */
static void combine(void *a, const void *b, int n, MPI_Datatype dt, MPI_Op op)
{
#define COMBINE(T)                                                                                                   \
    do {                                                                                                             \
        T *x = a;                                                                                                    \
        const T *y = b;                                                                                              \
        for (int i = 0; i < n; i++)                                                                                  \
            x[i] = op == MPI_SUM ? x[i] + y[i] : op == MPI_MAX ? (x[i] > y[i] ? x[i] : y[i])                         \
                 : op == MPI_MIN ? (x[i] < y[i] ? x[i] : y[i]) : (T)(x[i] && y[i]);                                   \
    } while (0)
    if (dt == MPI_INT)
        COMBINE(int);
    else if (dt == MPI_LONG)
        COMBINE(long);
    else if (dt == MPI_LONG_LONG)
        COMBINE(long long);
    else if (dt == MPI_UNSIGNED_LONG_LONG || dt == MPI_UINT64_T)
        COMBINE(uint64_t);
    else if (dt == MPI_DOUBLE)
        COMBINE(double);
    else
        abort(); /* a programming error: the job layer uses only the types above */
#undef COMBINE
}

void mpct_sched_rbcast(const mpct_sched_replica *r, void *buf, size_t bytes, int root)
{
    if (!via_net(r)) {
        for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
            size_t n = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
            MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, r->comm);
        }
        return;
    }
    const int me = r->party, next = (me + 1) % 3;
    mpct_net_msg m = {0};
    if (me == root)
        m = (mpct_net_msg){buf, bytes, buf, bytes, NULL, 0, NULL, 0};
    else if (root == next)
        m.from_next = buf, m.from_next_bytes = bytes;
    else
        m.from_prev = buf, m.from_prev_bytes = bytes;
    mpct_net_op_enter(r->net, "control");
    mpct_status st = mpct_net_round(r->net, &m);
    mpct_net_op_leave(r->net);
    if (st != MPCT_OK)
        net_abort(st);
}

void mpct_sched_rallreduce(const mpct_sched_replica *r, void *v, int n, MPI_Datatype dt, MPI_Op op)
{
    if (!via_net(r)) {
        MPI_Allreduce(MPI_IN_PLACE, v, n, dt, op, r->comm);
        return;
    }
    const size_t bytes = (size_t)n * type_size(dt);
    unsigned char *all = malloc(3 * bytes + 1);
    if (!all)
        net_abort(mpct_error_set(MPCT_ERR_NOMEM, "out of memory in a collective"));
    const int me = r->party, next = (me + 1) % 3, prev = (me + 2) % 3;
    memcpy(all + (size_t)me * bytes, v, bytes);
    mpct_net_msg m = {v, bytes, v, bytes, all + (size_t)next * bytes, bytes, all + (size_t)prev * bytes, bytes};
    mpct_net_op_enter(r->net, "control");
    mpct_status st = mpct_net_round(r->net, &m);
    mpct_net_op_leave(r->net);
    if (st != MPCT_OK)
        net_abort(st);
    combine(all, all + bytes, n, dt, op); /* party order, so every party gets the same bits */
    combine(all, all + 2 * bytes, n, dt, op);
    memcpy(v, all, bytes);
    free(all);
}

void mpct_sched_wbcast(const mpct_sched_replica *r, void *buf, size_t bytes, int root_party)
{
    for (size_t off = 0; !via_net(r) && off < bytes; off += (size_t)1 << 30) {
        size_t n = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root_party, MPI_COMM_WORLD); /* world rank of replica 0 */
    }
    if (!via_net(r))
        return;
    if (r->party == root_party) /* from the party's replica 0 to its other replicas */
        for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
            size_t n = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
            MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, party_world(r));
        }
    mpct_sched_rbcast(r, buf, bytes, root_party);
}

void mpct_sched_wallreduce(const mpct_sched_replica *r, void *v, int n, MPI_Datatype dt, MPI_Op op)
{
    MPI_Allreduce(MPI_IN_PLACE, v, n, dt, op, via_net(r) ? party_world(r) : MPI_COMM_WORLD);
    if (via_net(r))
        mpct_sched_rallreduce(r, v, n, dt, op);
}

int mpct_sched_agree(int ok)
{
    int all = ok;
    if (world_rep)
        mpct_sched_wallreduce(world_rep, &all, 1, MPI_INT, MPI_MIN);
    else
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

/* MPI_Gatherv of len bytes per rank of comm to its rank 0: there *all holds
 * them in rank order at (*offs)[i], (*lens)[i] bytes; NULL elsewhere. */
static void gather_mpi(MPI_Comm comm, const void *mine, int len, char **all, int **lens, int **offs)
{
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *all = NULL;
    *lens = *offs = NULL;
    if (rank == 0 && (!(*lens = calloc((size_t)size, sizeof **lens)) || !(*offs = calloc((size_t)size, sizeof **offs))))
        net_abort(mpct_error_set(MPCT_ERR_NOMEM, "out of memory in a gather"));
    MPI_Gather(&len, 1, MPI_INT, *lens, 1, MPI_INT, 0, comm);
    size_t total = 0;
    for (int i = 0; rank == 0 && i < size; i++) {
        (*offs)[i] = total <= INT_MAX ? (int)total : 0;
        total += (size_t)(*lens)[i];
    }
    if (rank == 0 && (total > INT_MAX || !(*all = malloc(total ? total : 1))))
        net_abort(mpct_error_set(MPCT_ERR_NOMEM, "out of memory gathering %zu bytes", total));
    MPI_Gatherv(mine, len, MPI_BYTE, *all, *lens, *offs, MPI_BYTE, 0, comm);
}

void mpct_sched_wgatherv(const mpct_sched_replica *r, const void *mine, int len, char **all, int **lens, int **offs)
{
    if (!r->encrypted) {
        gather_mpi(MPI_COMM_WORLD, mine, len, all, lens, offs);
        return;
    }
    char *pall = NULL;
    int *plens = NULL, *poffs = NULL;
    gather_mpi(r->pcomm, mine, len, &pall, &plens, &poffs);
    *all = NULL;
    *lens = *offs = NULL;
    if (r->replica != 0)
        return;
    /* replica 0: each party's records as one block, [lens of its nrep ranks, their bytes] */
    const int nrep = r->nreplicas, me = r->party;
    const size_t head = (size_t)nrep * sizeof(int), ptotal = (size_t)poffs[nrep - 1] + (size_t)plens[nrep - 1];
    long sz[3] = {0, 0, 0};
    sz[me] = (long)(head + ptotal);
    mpct_sched_rallreduce(r, sz, 3, MPI_LONG, MPI_MAX);
    char *blk[3] = {NULL, NULL, NULL};
    for (int p = 0; p < 3; p++)
        if ((p == me || me == 0) && !(blk[p] = malloc((size_t)sz[p])))
            net_abort(mpct_error_set(MPCT_ERR_NOMEM, "out of memory in a gather"));
    memcpy(blk[me], plens, head);
    memcpy(blk[me] + head, pall, ptotal);
    free(pall);
    free(plens);
    free(poffs);
    mpct_net_msg m = {0};
    if (me == 0)
        m.from_next = blk[1], m.from_next_bytes = (size_t)sz[1], m.from_prev = blk[2], m.from_prev_bytes = (size_t)sz[2];
    else if (me == 1)
        m.to_prev = blk[1], m.to_prev_bytes = (size_t)sz[1];
    else
        m.to_next = blk[2], m.to_next_bytes = (size_t)sz[2];
    mpct_net_op_enter(r->net, "control");
    mpct_status st = mpct_net_round(r->net, &m);
    mpct_net_op_leave(r->net);
    if (st != MPCT_OK)
        net_abort(st);
    if (me == 0) { /* world rank 3 q + p: replica q of party p */
        const int n = 3 * nrep;
        size_t total = 0;
        if (!(*lens = calloc((size_t)n, sizeof **lens)) || !(*offs = calloc((size_t)n, sizeof **offs)) ||
            !(*all = malloc((size_t)(sz[0] + sz[1] + sz[2]))))
            net_abort(mpct_error_set(MPCT_ERR_NOMEM, "out of memory in a gather"));
        for (int q = 0; q < nrep; q++)
            for (int p = 0; p < 3; p++) {
                const int *pl = (const int *)(const void *)blk[p];
                size_t at = head;
                for (int k = 0; k < q; k++)
                    at += (size_t)pl[k];
                memcpy(*all + total, blk[p] + at, (size_t)pl[q]);
                (*lens)[3 * q + p] = pl[q];
                (*offs)[3 * q + p] = (int)total;
                total += (size_t)pl[q];
            }
    }
    for (int p = 0; p < 3; p++)
        free(blk[p]);
}
