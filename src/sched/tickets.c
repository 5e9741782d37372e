/*
 * tickets.c — a shared counter that hands out work items (the prompts of
 * `mpct generate`) one at a time to whichever replica asks first: the work
 * dispenser's fetch-and-add on world rank 0 (as dispense.c's fixed-batch
 * mode), without run's batches and result buffers.
 *
 * Invariants: the counter is created and freed collectively by every rank
 * of MPI_COMM_WORLD; only the replicas' clients draw from it (fetch-and-add
 * under a passive-target lock held from open to close), and each item of
 * [first, n) is handed out exactly once, in increasing order over time.
 */
#include "sched-impl.h"

#include <stdlib.h>

struct mpct_sched_tickets {
    MPI_Win win;
    long *counter;
    long first, n;
};

int mpct_sched_tickets_open(long first, long n, mpct_sched_tickets **out)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    mpct_sched_tickets *t = calloc(1, sizeof *t);
    int ok = t != NULL;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!ok) {
        free(t);
        *out = NULL;
        return 1;
    }
    t->first = first, t->n = n;
    MPI_Win_allocate(wrank == 0 ? (MPI_Aint)sizeof(long) : 0, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
                     &t->counter, &t->win);
    if (wrank == 0)
        t->counter[0] = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, t->win);
    *out = t;
    return 0;
}

long mpct_sched_tickets_next(mpct_sched_tickets *t)
{
    long one = 1, j = 0;
    MPI_Fetch_and_op(&one, &j, MPI_LONG, 0, 0, MPI_SUM, t->win);
    MPI_Win_flush(0, t->win);
    return t->first + j < t->n ? t->first + j : -1;
}

void mpct_sched_tickets_close(mpct_sched_tickets *t)
{
    if (!t)
        return;
    MPI_Win_unlock_all(t->win);
    MPI_Win_free(&t->win);
    free(t);
}
