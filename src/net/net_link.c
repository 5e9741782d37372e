/*
 * net_link.c — network emulation inside the transport (mpct_net_set_link):
 * every directed link between two parties becomes an ideal full-duplex link
 * of a given rate and one-way delay, for measuring LAN and WAN behaviour of
 * parties that really run on one machine.
 *
 * Model: a message of b bytes that party i hands to its link to j at time t
 * leaves when the link has finished the previous ones, dep = max(t, free),
 * occupies it for 8b / rate (free = dep + 8b / rate) and arrives one-way
 * delay later: arrival = free + delay. The sender does not wait. The
 * receiver's round returns no earlier than the latest arrival among the
 * messages it receives in that round. Arrival times travel in a second,
 * uncounted backend exchange of 8 bytes per non-empty message, over the
 * same links as the messages (so it adds no dependency the protocol does not
 * have); they are CLOCK_MONOTONIC times, so the parties must share one clock
 * (ranks of one node). TCP's own behaviour (slow start, windows,
 * retransmission) is not modelled.
 *
 * Invariants: with no link set (the default) rounds cost nothing extra;
 * payload bytes, rounds and messages are counted exactly as without
 * emulation; the time waited for arrivals is part of comm_s.
 */
#define _GNU_SOURCE
#include "net-impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name;
    double rate_bps, rtt_s;
} presets[] = {
    {"lan", 3e9, 0.8e-3},  /* 3 Gbit/s, 0.8 ms round trip */
    {"wan", 200e6, 40e-3}, /* 200 Mbit/s, 40 ms */
    {"puma", 5e9, 1e-3},   /* PUMA's LAN setting: 5 Gbit/s, 1 ms */
};

/* "3gbit", "200mbit", "750kbit", "1e9bit" -> bits/s; 0 on a malformed value. */
static double parse_rate(const char *s, size_t n)
{
    char buf[64], *end = NULL;
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || end == buf || !(v > 0) || !isfinite(v))
        return 0;
    double mult = !strcmp(end, "gbit") ? 1e9 : !strcmp(end, "mbit") ? 1e6 : !strcmp(end, "kbit") ? 1e3
                : !strcmp(end, "bit")  ? 1
                                       : 0;
    return v * mult;
}

/* "0.8ms", "40ms", "1s", "250us" -> seconds; -1 on a malformed value. */
static double parse_time(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || !isfinite(v))
        return -1;
    return !strcmp(end, "ms") ? v * 1e-3 : !strcmp(end, "us") ? v * 1e-6 : !strcmp(end, "s") ? v : -1;
}

mpct_status mpct_net_link_parse(const char *spec, mpct_net_link *out)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec || !strcmp(spec, "none")) {
        snprintf(out->name, sizeof out->name, "none");
        return MPCT_OK;
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(spec, presets[i].name)) {
            out->rate_bps = presets[i].rate_bps;
            out->one_way_s = presets[i].rtt_s / 2;
            snprintf(out->name, sizeof out->name, "%s", spec);
            return MPCT_OK;
        }
    const char *colon = strchr(spec, ':');
    double rate = colon ? parse_rate(spec, (size_t)(colon - spec)) : 0;
    double rtt = colon ? parse_time(colon + 1) : -1;
    if (!(rate > 0) || rtt < 0 || rtt > 10)
        return mpct_error_set(MPCT_ERR_ARG,
                              "network '%s': give lan (3gbit:0.8ms), wan (200mbit:40ms), puma (5gbit:1ms), none, "
                              "or RATE:RTT such as 1gbit:2ms (rate in bit/kbit/mbit/gbit per second and direction, "
                              "round-trip time in us/ms/s, at most 10 s)",
                              spec);
    out->rate_bps = rate;
    out->one_way_s = rtt / 2;
    snprintf(out->name, sizeof out->name, "%.*s", (int)(sizeof out->name - 1), spec);
    return MPCT_OK;
}

void mpct_net_set_link(mpct_net_t *net, const mpct_net_link *link)
{
    net->link = link && link->rate_bps > 0 ? *link : (mpct_net_link){.name = "none"};
    net->link_free[0] = net->link_free[1] = 0;
}

const mpct_net_link *mpct_net_get_link(const mpct_net_t *net)
{
    return net->link.rate_bps > 0 ? &net->link : NULL;
}

static void sleep_until(double t)
{
    double left = t - mpct_time_now();
    if (left <= 0)
        return;
    if (left > 200e-6) { /* sleep to ~100 us before, then spin: nanosleep overshoots on a busy VM */
        double wake = t - 100e-6;
        struct timespec ts = {(time_t)wake, (long)((wake - (double)(time_t)wake) * 1e9)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    while (mpct_time_now() < t)
        ;
}

mpct_status mpct_net_link_round(mpct_net_t *net, const mpct_net_msg *m)
{
    const double now = mpct_time_now();
    const mpct_net_link *L = &net->link;
    double stamp_out[2] = {0, 0}, stamp_in[2] = {0, 0};
    const size_t out_b[2] = {m->to_next_bytes, m->to_prev_bytes}, in_b[2] = {m->from_next_bytes, m->from_prev_bytes};
    for (int d = 0; d < 2; d++)
        if (out_b[d]) {
            double dep = now > net->link_free[d] ? now : net->link_free[d];
            net->link_free[d] = dep + 8.0 * (double)out_b[d] / L->rate_bps;
            stamp_out[d] = net->link_free[d] + L->one_way_s;
        }
    MPCT_CALL(net->ops->round(net, m));
    const mpct_net_msg ts = {&stamp_out[0], out_b[0] ? 8 : 0, &stamp_out[1], out_b[1] ? 8 : 0,
                             &stamp_in[0],  in_b[0] ? 8 : 0,  &stamp_in[1],  in_b[1] ? 8 : 0};
    MPCT_CALL(net->ops->round(net, &ts));
    const double until = stamp_in[0] > stamp_in[1] ? stamp_in[0] : stamp_in[1];
    if (!isfinite(until) || until - mpct_time_now() > net->timeout_s)
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "party %d: an emulated message would arrive %.3g s from now, beyond the %.0f s "
                              "timeout: the parties do not share one clock (link emulation needs ranks of one node)",
                              net->party, until - mpct_time_now(), net->timeout_s);
    sleep_until(until);
    return MPCT_OK;
}

/* Median of n values (sorts them). */
static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

mpct_status mpct_net_measure_link(mpct_net_t *net, double *rtt_s, double *rate_bps)
{
    enum { PINGS = 7, BULK = 3 };
    const size_t big = (size_t)4 << 20;
    unsigned char one[2] = {1, 1}, got[2];
    unsigned char *buf = mpct_alloc(2 * big);
    double t[PINGS > BULK ? PINGS : BULK];
    mpct_status st = MPCT_OK;
    if (!buf)
        return mpct_error_set(MPCT_ERR_NOMEM, "link probe: out of memory");
    memset(buf, 0x5a, big);
    mpct_net_op_enter(net, "link_probe");
    /* each round: one byte to and from both neighbours, one one-way delay */
    for (int i = 0; i < PINGS && st == MPCT_OK; i++) {
        mpct_net_msg m = {&one[0], 1, &one[1], 1, &got[0], 1, &got[1], 1};
        double t0 = mpct_time_now();
        st = mpct_net_round(net, &m);
        t[i] = mpct_time_now() - t0;
    }
    const double one_way = st == MPCT_OK ? median(t, PINGS) : 0;
    /* 4 MiB to next (from prev): serialisation plus one delay */
    for (int i = 0; i < BULK && st == MPCT_OK; i++) {
        mpct_net_msg m = {buf, big, NULL, 0, NULL, 0, buf + big, big};
        double t0 = mpct_time_now();
        st = mpct_net_round(net, &m);
        t[i] = mpct_time_now() - t0;
    }
    mpct_net_op_leave(net);
    mpct_free(buf);
    MPCT_CALL(st);
    const double bulk = median(t, BULK) - one_way;
    *rtt_s = 2 * one_way;
    *rate_bps = bulk > 0 ? 8.0 * (double)big / bulk : 0;
    return MPCT_OK;
}
