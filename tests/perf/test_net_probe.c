/*
 * test_net_probe.c — the transport's per-op probe (mpct_net_set_probe), with
 * a fake counter source so the plumbing is checked on any machine (with or
 * without PAPI or a PMU):
 *  - each outermost op enter and leave reads the probe once; the op record
 *    accumulates leave - enter per value, nested ops are charged to the
 *    outermost (like wall and CPU time);
 *  - without a probe nothing is read and mpct_net_op_probe returns 0;
 *  - mpct_net_reset_counters zeroes reused op records (probe values and the
 *    byte/round/call counters alike).
 */
#include "mpct_net.h"

#include "../mpct_check.h"

#include <string.h>

/* A fake counter: value i grows by (i + 1) * step per read, so a region's
 * difference is (i + 1) * step * (reads between its enter and leave + 1). */
typedef struct fake {
    int reads;
    int64_t v[MPCT_NET_MAX_PROBE];
    int64_t step;
} fake;

static void fake_read(void *arg, int64_t *vals)
{
    fake *f = arg;
    f->reads++;
    for (int i = 0; i < MPCT_NET_MAX_PROBE; i++) {
        f->v[i] += (i + 1) * f->step;
        vals[i] = f->v[i];
    }
}

static int find(const mpct_net_t *net, const char *name, int layer)
{
    for (int i = 0; i < mpct_net_op_count(net); i++)
        if (!strcmp(mpct_net_op_name(net, i), name) && mpct_net_op_layer(net, i) == layer)
            return i;
    return -1;
}

int main(void)
{
    mpct_net_t *nets[3];
    MUST(mpct_net_init_local(nets, 10));
    mpct_net_t *net = nets[0];
    int64_t d[MPCT_NET_MAX_PROBE];

    /* no probe: ops work, nothing to read */
    mpct_net_op_enter(net, "plain");
    mpct_net_op_leave(net);
    CHECK(mpct_net_op_probe(net, find(net, "plain", -1), d) == 0, "op_probe without a probe returned values");

    fake f = {.step = 10};
    mpct_net_set_probe(net, fake_read, &f, 3);
    /* outermost op "a" with a nested op "b" that reads nothing itself */
    mpct_net_op_enter(net, "a");
    mpct_net_op_enter(net, "b");
    mpct_net_op_leave(net);
    mpct_net_op_leave(net);
    CHECK(f.reads == 2, "nested ops: %d probe reads, expected 2 (outermost enter and leave)", f.reads);
    int a = find(net, "a", -1);
    CHECK(a >= 0 && find(net, "b", -1) < 0, "a nested op has no record of its own (it counts in the outermost)");
    CHECK(mpct_net_op_probe(net, a, d) == 3, "op_probe count");
    for (int i = 0; i < 3; i++)
        CHECK(d[i] == (i + 1) * 10, "op a value %d: %lld, expected %d", i, (long long)d[i], (i + 1) * 10);

    /* the same op again, in a layer: a separate record; reads between ops
     * (someone else using the source) are not charged */
    int64_t tmp[MPCT_NET_MAX_PROBE];
    fake_read(&f, tmp);
    mpct_net_set_layer(net, 2);
    mpct_net_op_enter(net, "a");
    mpct_net_op_leave(net);
    mpct_net_op_enter(net, "a");
    mpct_net_op_leave(net);
    mpct_net_set_layer(net, -1);
    int a2 = find(net, "a", 2);
    CHECK(a2 >= 0 && a2 != a, "layer 2 record");
    mpct_net_op_probe(net, a2, d);
    CHECK(d[0] == 20 && d[2] == 60, "layer 2 op: %lld %lld, expected 20 60 (two visits)", (long long)d[0],
          (long long)d[2]);
    mpct_net_op_probe(net, a, d);
    CHECK(d[0] == 10, "layer -1 op changed by layer 2 visits: %lld", (long long)d[0]);

    /* reset: the reused record starts from zero (counters and probe) */
    mpct_net_msg m = {0};
    uint64_t x = 7;
    m.to_next = &x;
    m.to_next_bytes = sizeof x;
    mpct_net_reset_counters(net);
    mpct_net_op_enter(net, "first"); /* record 0 */
    MUST(mpct_net_round(net, &m));
    mpct_net_op_leave(net);
    mpct_net_reset_counters(net);
    CHECK(mpct_net_op_count(net) == 0, "records after reset");
    mpct_net_op_enter(net, "second"); /* record 0 again */
    mpct_net_op_leave(net);
    int s = find(net, "second", -1);
    mpct_net_counters c = mpct_net_op_counters(net, s);
    CHECK(c.calls == 1 && c.bytes_sent == 0 && c.rounds == 0,
          "reused record kept stale counters: calls %llu bytes %llu rounds %llu", (unsigned long long)c.calls,
          (unsigned long long)c.bytes_sent, (unsigned long long)c.rounds);
    mpct_net_op_probe(net, s, d);
    CHECK(d[0] == 10, "reused record kept a stale probe value: %lld", (long long)d[0]);

    /* removing the probe: no more reads */
    mpct_net_set_probe(net, NULL, NULL, 0);
    int before = f.reads;
    mpct_net_op_enter(net, "c");
    mpct_net_op_leave(net);
    CHECK(f.reads == before, "probe read after removal");
    CHECK(mpct_net_op_probe(net, find(net, "c", -1), d) == 0, "values after removal");

    /* n is clamped to MPCT_NET_MAX_PROBE */
    mpct_net_set_probe(net, fake_read, &f, 99);
    mpct_net_op_enter(net, "wide");
    mpct_net_op_leave(net);
    CHECK(mpct_net_op_probe(net, find(net, "wide", -1), d) == MPCT_NET_MAX_PROBE, "probe count not clamped");
    for (int i = 0; i < 3; i++)
        mpct_net_free(nets[i]);
    return mpct_check_done("test_net_probe");
}
