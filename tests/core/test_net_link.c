/*
 * test_net_link.c — network emulation in the transport (mpct_net_set_link),
 * three parties as threads on the in-process backend:
 *  - link specs: presets (lan, wan, puma), RATE:RTT forms, "none", and
 *    malformed specs refused with the accepted forms named;
 *  - latency: ten rounds of one byte each way take at least ten one-way
 *    delays (a round waits for its messages' arrival), and not much more;
 *  - bandwidth: one round of 1.25 MB to next takes the serialisation time
 *    (10 Mbit at 100 Mbit/s = 100 ms) plus one delay; a party that only
 *    sends does not wait, and its two messages queue on the link;
 *  - counters: payload bytes and rounds as without emulation; clearing the
 *    link makes rounds fast again;
 *  - mpct_net_measure_link sees the emulated round trip and rate.
 */
#include "mpct_net.h"
#include "../mpct_check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static mpct_net_t *nets[3];
static double elapsed[3][4];
static mpct_net_counters tot[3];
static double probe[3][2]; /* measured round trip (s), rate (bit/s) */

static void *party(void *arg)
{
    const int me = (int)(intptr_t)arg;
    mpct_net_t *net = nets[me];
    mpct_net_link l;
    if (mpct_net_link_parse("100mbit:20ms", &l) != MPCT_OK) /* one way 10 ms */
        return NULL;
    mpct_net_set_link(net, &l);
    static unsigned char big[3][1250000], in[3][2][1250000];
    unsigned char one = 1, got[2];
    /* phase 0: 10 ping rounds, one byte to each neighbour */
    double t0 = mpct_time_now();
    for (int r = 0; r < 10; r++) {
        mpct_net_msg m = {&one, 1, &one, 1, &got[0], 1, &got[1], 1};
        if (mpct_net_round(net, &m) != MPCT_OK)
            return NULL;
    }
    elapsed[me][0] = mpct_time_now() - t0;
    /* phase 1: 1.25 MB to next (so from prev) */
    t0 = mpct_time_now();
    mpct_net_msg m = {big[me], sizeof big[me], NULL, 0, NULL, 0, in[me][1], sizeof in[me][1]};
    if (mpct_net_round(net, &m) != MPCT_OK)
        return NULL;
    elapsed[me][1] = mpct_time_now() - t0;
    /* phase 2: party 0 alone sends 1.25 MB to party 1 in two rounds: it does
     * not wait, and the second message queues behind the first on the link */
    t0 = mpct_time_now();
    for (int r = 0; r < 2; r++) {
        mpct_net_msg m2 = {me == 0 ? big[me] : NULL, me == 0 ? sizeof big[me] : 0, NULL, 0, NULL, 0,
                           me == 1 ? in[me][1] : NULL, me == 1 ? sizeof in[me][1] : 0};
        if (mpct_net_round(net, &m2) != MPCT_OK)
            return NULL;
    }
    elapsed[me][2] = mpct_time_now() - t0;
    /* phase 3: no link: fast again */
    mpct_net_set_link(net, NULL);
    {
        mpct_net_msg sync = {&one, 1, &one, 1, &got[0], 1, &got[1], 1}; /* party 1 is still receiving */
        if (mpct_net_round(net, &sync) != MPCT_OK)
            return NULL;
    }
    t0 = mpct_time_now();
    for (int r = 0; r < 10; r++) {
        mpct_net_msg m3 = {&one, 1, &one, 1, &got[0], 1, &got[1], 1};
        if (mpct_net_round(net, &m3) != MPCT_OK)
            return NULL;
    }
    elapsed[me][3] = mpct_time_now() - t0;
    tot[me] = mpct_net_total(net);
    /* the probe sees the emulated link: 20 ms round trip, 100 Mbit/s */
    mpct_net_set_link(net, &l);
    if (mpct_net_measure_link(net, &probe[me][0], &probe[me][1]) != MPCT_OK)
        probe[me][0] = -1;
    return NULL;
}

int main(void)
{
    mpct_net_link l;
    CHECK(mpct_net_link_parse("lan", &l) == MPCT_OK && l.rate_bps == 3e9 && l.one_way_s == 0.4e-3);
    CHECK(mpct_net_link_parse("wan", &l) == MPCT_OK && l.rate_bps == 200e6 && l.one_way_s == 20e-3);
    CHECK(mpct_net_link_parse("puma", &l) == MPCT_OK && l.rate_bps == 5e9 && l.one_way_s == 0.5e-3);
    CHECK(mpct_net_link_parse("1.5Gbit:250us", &l) == MPCT_OK && l.rate_bps == 1.5e9 && l.one_way_s == 125e-6);
    CHECK(mpct_net_link_parse("none", &l) == MPCT_OK && l.rate_bps == 0);
    const char *bad[] = {"fast", "3gbit", "3gbit:", "3:1ms", "3gbit:1", "-1mbit:1ms", "1mbit:11s", "0mbit:1ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(mpct_net_link_parse(bad[i], &l) == MPCT_ERR_ARG, "%s accepted", bad[i]);
        CHECK(strstr(mpct_error_msg(), "RATE:RTT") != NULL);
    }

    MUST(mpct_net_init_local(nets, 30));
    pthread_t t[3];
    for (int p = 0; p < 3; p++)
        pthread_create(&t[p], NULL, party, (void *)(intptr_t)p);
    for (int p = 0; p < 3; p++)
        pthread_join(t[p], NULL);
    for (int p = 0; p < 3; p++) {
        fprintf(stderr, "party %d: 10 pings %.1f ms, 1.25 MB %.1f ms, 2 x 1.25 MB %.1f ms, no link %.2f ms\n", p,
                1e3 * elapsed[p][0], 1e3 * elapsed[p][1], 1e3 * elapsed[p][2], 1e3 * elapsed[p][3]);
        CHECK(elapsed[p][0] >= 0.100 && elapsed[p][0] < 0.200, "10 rounds, 10 ms each way: %.3f s", elapsed[p][0]);
        /* >= 100 ms of serialisation (the receiver may start a little after its sender) */
        CHECK(elapsed[p][1] >= 0.100 && elapsed[p][1] < 0.200, "1.25 MB at 100 Mbit/s + 10 ms: %.3f s", elapsed[p][1]);
        if (p == 0) /* a sender does not wait */
            CHECK(elapsed[p][2] < 0.050, "sending took %.3f s", elapsed[p][2]);
        if (p == 1) /* the second message queues behind the first: 2 x 100 ms + 10 ms (>= 200 ms after
                     * the sender started; unqueued it would arrive after 110 ms) */
            CHECK(elapsed[p][2] >= 0.195 && elapsed[p][2] < 0.300, "two queued: %.3f s", elapsed[p][2]);
        CHECK(elapsed[p][3] < 0.050, "no link: %.3f s", elapsed[p][3]);
        const uint64_t extra = p == 0 ? 2 * 1250000 : 0, extra_in = p == 1 ? 2 * 1250000 : 0;
        CHECK(tot[p].rounds == 24 && tot[p].bytes_sent == 20 + 1250000 + extra + 22);
        CHECK(tot[p].bytes_recv == 20 + 1250000 + extra_in + 22);
        fprintf(stderr, "party %d: probe: round trip %.2f ms, %.1f Mbit/s\n", p, 1e3 * probe[p][0], probe[p][1] / 1e6);
        CHECK(probe[p][0] >= 0.0195 && probe[p][0] < 0.030, "probe round trip %.4f s", probe[p][0]);
        CHECK(probe[p][1] > 80e6 && probe[p][1] < 105e6, "probe rate %.3g bit/s", probe[p][1]);
    }
    for (int p = 0; p < 3; p++)
        mpct_net_free(nets[p]);
    return mpct_check_done("test_net_link");
}
