/*
 * net.c — backend-independent part of the transport: round dispatch (through
 * the emulated link when one is set, and sealed when the links are
 * encrypted) and the per-op counters.
 */
#include "net-impl.h"

#include <string.h>

mpct_net_t *mpct_net_alloc(const mpct_net_ops *ops, void *impl, int party, double timeout_s)
{
    mpct_net_t *n = mpct_calloc(sizeof *n);
    if (!n)
        return NULL;
    n->ops = ops;
    n->impl = impl;
    n->party = party;
    n->timeout_s = timeout_s > 0 ? timeout_s : 600.0;
    n->cur = -1;
    n->layer = -1;
    return n;
}

void mpct_net_free(mpct_net_t *net)
{
    if (!net)
        return;
    if (net->ops && net->ops->free)
        net->ops->free(net);
    mpct_net_aead_free(net->aead);
    mpct_free(net);
}

int mpct_net_party(const mpct_net_t *net) { return net->party; }

const char *mpct_net_backend(const mpct_net_t *net) { return net->ops->name; }

static mpct_net_counters *charge(mpct_net_t *net)
{
    return net->cur >= 0 ? &net->rec[net->cur].c : NULL;
}

mpct_status mpct_net_round(mpct_net_t *net, const mpct_net_msg *m)
{
    double t0 = mpct_time_now();
    mpct_status s = net->aead              ? mpct_net_aead_round(net, m)
                  : net->link.rate_bps > 0 ? mpct_net_link_round(net, m)
                                           : net->ops->round(net, m);
    double dt = mpct_time_now() - t0;
    const uint64_t sent_msgs = (uint64_t)(m->to_next_bytes > 0) + (m->to_prev_bytes > 0),
                   recv_msgs = (uint64_t)(m->from_next_bytes > 0) + (m->from_prev_bytes > 0),
                   tag = net->aead ? mpct_net_aead_overhead() : 0; /* wire bytes: the tags too */
    mpct_net_account(net, m->to_next_bytes + m->to_prev_bytes + tag * sent_msgs,
                     m->from_next_bytes + m->from_prev_bytes + tag * recv_msgs, sent_msgs, dt);
    if (net->trace)
        net->trace(net->trace_arg, MPCT_NET_TRACE_WAIT, net->cur >= 0 ? net->rec[net->cur].name : "", net->layer,
                   t0, t0 + dt);
    return s;
}

void mpct_net_account(mpct_net_t *net, uint64_t sent, uint64_t recv, uint64_t messages, double comm_s)
{
    mpct_net_counters *c[2] = {&net->total, charge(net)};
    for (int i = 0; i < 2; i++) {
        if (!c[i])
            continue;
        c[i]->bytes_sent += sent;
        c[i]->bytes_recv += recv;
        c[i]->rounds += 1;
        c[i]->messages += messages;
        c[i]->comm_s += comm_s;
    }
}

void mpct_net_op_enter(mpct_net_t *net, const char *name)
{
    if (net->depth++ > 0)
        return;
    int idx = -1;
    for (int i = 0; i < net->nops; i++)
        if (net->rec[i].layer == net->layer && !strncmp(net->rec[i].name, name, MPCT_NET_OP_NAME - 1)) {
            idx = i;
            break;
        }
    if (idx < 0 && net->nops < MPCT_NET_MAX_OPS) {
        idx = net->nops++;
        /* a record reused after mpct_net_reset_counters starts from zero */
        memset(&net->rec[idx], 0, sizeof net->rec[idx]);
        strncpy(net->rec[idx].name, name, MPCT_NET_OP_NAME - 1);
        net->rec[idx].layer = net->layer;
    }
    net->cur = idx;
    if (net->probe)
        net->probe(net->probe_arg, net->probe0);
    net->op_t0 = mpct_time_now();
    net->op_c0 = mpct_time_cpu();
    if (idx >= 0)
        net->rec[idx].c.calls++;
    net->total.calls++;
}

void mpct_net_op_leave(mpct_net_t *net)
{
    if (net->depth <= 0 || --net->depth > 0)
        return;
    double dt = mpct_time_now() - net->op_t0, dc = mpct_time_cpu() - net->op_c0;
    if (net->probe) {
        int64_t v[MPCT_NET_MAX_PROBE];
        net->probe(net->probe_arg, v);
        for (int i = 0; net->cur >= 0 && i < net->nprobe; i++)
            net->rec[net->cur].probe[i] += v[i] - net->probe0[i];
    }
    if (net->cur >= 0) {
        net->rec[net->cur].c.wall_s += dt;
        net->rec[net->cur].c.cpu_s += dc;
    }
    net->total.wall_s += dt;
    net->total.cpu_s += dc;
    if (net->trace)
        net->trace(net->trace_arg, MPCT_NET_TRACE_OP, net->cur >= 0 ? net->rec[net->cur].name : "other",
                   net->cur >= 0 ? net->rec[net->cur].layer : net->layer, net->op_t0, net->op_t0 + dt);
    net->cur = -1;
}

void mpct_net_set_trace(mpct_net_t *net, mpct_net_trace_fn fn, void *arg)
{
    net->trace = fn;
    net->trace_arg = arg;
}

mpct_net_counters mpct_net_total(const mpct_net_t *net) { return net->total; }
int mpct_net_op_count(const mpct_net_t *net) { return net->nops; }
int mpct_net_op_layer(const mpct_net_t *net, int idx) { return net->rec[idx].layer; }
void mpct_net_set_layer(mpct_net_t *net, int layer) { net->layer = layer; }
const char *mpct_net_op_name(const mpct_net_t *net, int idx) { return net->rec[idx].name; }
mpct_net_counters mpct_net_op_counters(const mpct_net_t *net, int idx) { return net->rec[idx].c; }

void mpct_net_set_probe(mpct_net_t *net, mpct_net_probe_fn fn, void *arg, int n)
{
    net->probe = n > 0 ? fn : NULL;
    net->probe_arg = arg;
    net->nprobe = !net->probe ? 0 : n > MPCT_NET_MAX_PROBE ? MPCT_NET_MAX_PROBE : n;
    memset(net->probe0, 0, sizeof net->probe0);
}

int mpct_net_op_probe(const mpct_net_t *net, int idx, int64_t *out)
{
    for (int i = 0; i < net->nprobe; i++)
        out[i] = net->rec[idx].probe[i];
    return net->nprobe;
}

void mpct_net_reset_counters(mpct_net_t *net)
{
    memset(&net->total, 0, sizeof net->total);
    net->nops = 0;
    net->cur = -1;
    net->depth = 0;
    net->layer = -1;
}
