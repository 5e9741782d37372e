/*
 * trace.c — `mpct run --trace FILE.json`: every rank records its
 * transport's timeline (ops, waits; perf/trace.c) from the job's start, and
 * at the end world rank 0 gathers the ranks' records and writes one Chrome
 * trace JSON file (perf/REPORT.md). Without job.trace nothing is recorded:
 * the transport's trace hook stays NULL.
 *
 * A separately launched party (job.party >= 0) has only its own ranks in
 * MPI_COMM_WORLD, so its file holds that party's ranks.
 */
#include "sched-impl.h"

#include <stdlib.h>

#define SCHED_TRACE_EVENTS ((size_t)1 << 20) /* per rank: 56 MiB at most */

_Static_assert(MPCT_NET_TRACE_OP == MPCT_NET_TRACE_OP_EVENT && MPCT_NET_TRACE_WAIT == MPCT_NET_TRACE_WAIT_EVENT,
               "the transport's and the profiler's trace event kinds agree");

/* The ops run before the trace began (the contexts' handshake, op "setup")
 * are known only by their counters: they go back to back, with their
 * measured durations, just before the job's start, where the trace's
 * time 0 is. */
int mpct_sched_trace_open(mpct_sched_t *s)
{
    mpct_net_t *net = s->rep.net;
    double pre = 0;
    for (int i = 0; i < mpct_net_op_count(net); i++)
        pre += mpct_net_op_counters(net, i).wall_s;
    mpct_status st = mpct_perf_trace_init(&s->trace, s->wrank, s->rep.replica, s->rep.party, s->t_start - pre,
                                          SCHED_TRACE_EVENTS);
    if (st != MPCT_OK)
        return mpct_sched_fail(s, st);
    double t = s->t_start - pre;
    for (int i = 0; i < mpct_net_op_count(net); i++) {
        double w = mpct_net_op_counters(net, i).wall_s;
        mpct_perf_trace_event(s->trace, MPCT_NET_TRACE_OP, mpct_net_op_name(net, i), mpct_net_op_layer(net, i), t,
                              t + w);
        t += w;
    }
    mpct_net_set_trace(net, mpct_perf_trace_event, s->trace);
    return 1;
}

mpct_status mpct_sched_trace_write(mpct_sched_t *s)
{
    mpct_net_set_trace(s->rep.net, NULL, NULL); /* the record is final */
    void *buf = NULL;
    size_t len = 0;
    mpct_status st = mpct_perf_trace_pack(s->trace, &buf, &len);
    int mine = st == MPCT_OK && len < ((size_t)1 << 31) ? (int)len : 0;
    int *lens = NULL, *offs = NULL;
    char *all = NULL;
    mpct_sched_wgatherv(&s->rep, buf, mine, &all, &lens, &offs);
    size_t total = 0;
    for (int i = 0; lens && i < s->wsize; i++)
        total += (size_t)lens[i];
    free(buf);
    if (s->wrank == 0 && st == MPCT_OK) {
        const void **bufs = calloc((size_t)s->wsize, sizeof *bufs);
        size_t *sizes = calloc((size_t)s->wsize, sizeof *sizes);
        if (!lens || !offs || !all || !bufs || !sizes || total > (size_t)INT32_MAX)
            st = mpct_error_set(MPCT_ERR_NOMEM, "trace: out of memory gathering %zu bytes", total);
        for (int i = 0; st == MPCT_OK && i < s->wsize; i++) {
            bufs[i] = all + offs[i];
            sizes[i] = (size_t)lens[i];
        }
        if (st == MPCT_OK)
            st = mpct_perf_trace_write(s->job.trace, bufs, sizes, s->wsize);
        free(bufs);
        free(sizes);
    }
    free(all);
    free(lens);
    free(offs);
    return st;
}
