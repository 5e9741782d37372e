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
 *    the clear.
 *
 * A transport failure in a separately launched job cannot be agreed on (the
 * peer is gone): the rank prints it and aborts its party; the other parties
 * see the links close and stop with the peer named.
 */
#include "sched-impl.h"

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
