/*
 * bench_probe.c — cost of the profiling hooks, not a test (perf/REPORT.md,
 * "Overhead"). Times in a tight loop, median of 7 batches of N calls:
 *   op             mpct_net_op_enter + leave, no probe (the default path)
 *   op+probe       the same with mpct_perf_counters_read registered as the
 *                  probe, PAPI events EVENTS (skipped when none can be added)
 *   timer          mpct_perf_timer_start + stop on one region (what bench
 *                  ops does per timed repetition), PAPI as above
 *   timer-nopapi   the same with PAPI disabled
 *
 * usage: bench_probe [N] [EVENTS]   (default 200000, perf::TASK-CLOCK)
 */
#include "mpct_net.h"
#include "mpct_perf.h"

#include <stdio.h>
#include <stdlib.h>

static double batch(int kind, mpct_net_t *net, mpct_perf_t *p, long n)
{
    double t0 = mpct_time_now();
    for (long i = 0; i < n; i++) {
        if (kind == 0) {
            mpct_net_op_enter(net, "op");
            mpct_net_op_leave(net);
        } else {
            mpct_perf_timer t;
            mpct_perf_timer_start(p, &t);
            if (mpct_perf_timer_stop(p, &t, "bench", -1, "op", NULL) != MPCT_OK)
                return -1;
        }
    }
    return (mpct_time_now() - t0) / (double)n * 1e9;
}

static void row(const char *name, int kind, mpct_net_t *net, mpct_perf_t *p, long n)
{
    double v[7];
    for (int r = 0; r < 7; r++)
        v[r] = batch(kind, net, p, n);
    printf("%-14s %10.1f ns per call (median of 7 x %ld)\n", name, mpct_perf_median(v, 7), n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    const char *events = argc > 2 ? argv[2] : "perf::TASK-CLOCK";
    if (n < 1) {
        fprintf(stderr, "usage: bench_probe [N] [EVENTS]\n");
        return 2;
    }
    mpct_net_t *nets[3];
    mpct_perf_t *p = NULL, *q = NULL;
    mpct_perf_config c = mpct_perf_config_default();
    c.cupti = 0;
    c.papi_events = events;
    if (mpct_net_init_local(nets, 10) != MPCT_OK || mpct_perf_init(&p, &c) != MPCT_OK)
        return 1;
    c.papi = 0;
    if (mpct_perf_init(&q, &c) != MPCT_OK)
        return 1;
    printf("PAPI with %s: %s%s\n", events, mpct_perf_papi_available(p) ? "available" : "unavailable: ",
           mpct_perf_papi_available(p) ? "" : mpct_perf_papi_reason(p));
    row("op", 0, nets[0], NULL, n);
    if (mpct_perf_papi_available(p)) {
        mpct_net_set_probe(nets[0], mpct_perf_counters_read, p, mpct_perf_papi_nevents(p));
        row("op+probe", 0, nets[0], NULL, n);
        mpct_net_set_probe(nets[0], NULL, NULL, 0);
        row("timer", 1, NULL, p, n);
    }
    row("timer-nopapi", 1, NULL, q, n);
    mpct_perf_free(p);
    mpct_perf_free(q);
    for (int i = 0; i < 3; i++)
        mpct_net_free(nets[i]);
    return 0;
}
