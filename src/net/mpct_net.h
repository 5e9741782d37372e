/*
 * mpct_net.h — transport between the three parties of one replica.
 *
 * Party i's neighbours are next = (i+1) mod 3 and prev = (i+2) mod 3.
 * Communication happens in explicit rounds: every party of the replica calls
 * mpct_net_round() the same number of times, each call sending at most one
 * message to each neighbour and receiving at most one from each. The round
 * counter therefore counts protocol rounds (the latency-relevant quantity),
 * identically on all parties.
 *
 * Counters (bytes sent/received, rounds, messages, time blocked in the
 * transport) are kept per named "op" (outermost protocol operation, e.g.
 * "matmul", "trunc", "msb") and model layer label, and in total. A caller
 * may also register a probe (mpct_net_set_probe): up to MPCT_NET_MAX_PROBE
 * monotonic values (the profiler's hardware counters) read at the outermost
 * op enter and leave, their differences kept per op. The transport does not
 * know what they count.
 *
 * Backends: MPI (one communicator of exactly 3 ranks per replica), TCP
 * with mutual TLS 1.3 between separately launched parties (mpct_net_tls.h),
 * and an in-process backend (three threads, mailboxes) used by unit tests.
 * All enforce a deadline: a peer that does not answer within timeout_s
 * yields MPCT_ERR_TIMEOUT instead of a hang.
 */
#ifndef MPCT_NET_H
#define MPCT_NET_H

#include "mpct_core.h"

typedef struct mpct_net mpct_net_t;

/* One round's messages, seen from this party. NULL/0 means nothing. The
 * receiving size must equal what the peer sends (checked). */
typedef struct mpct_net_msg {
    const void *to_next;
    size_t to_next_bytes;
    const void *to_prev;
    size_t to_prev_bytes;
    void *from_next;
    size_t from_next_bytes;
    void *from_prev;
    size_t from_prev_bytes;
} mpct_net_msg;

typedef struct mpct_net_counters {
    uint64_t bytes_sent;
    uint64_t bytes_recv;
    uint64_t rounds;
    uint64_t messages;
    uint64_t calls;  /* op entries (depth 0) */
    double comm_s;   /* time spent inside mpct_net_round */
    double wall_s;   /* time between op enter and leave (depth 0) */
    double cpu_s;    /* process CPU time between op enter and leave (depth 0) */
} mpct_net_counters;

#define MPCT_NET_MAX_OPS 64
#define MPCT_NET_OP_NAME 32

/* MPI backend: comm points to an MPI_Comm of size 3 (rank = party). */
mpct_status mpct_net_init_mpi(mpct_net_t **out, const void *mpi_comm, double timeout_s) MPCT_WUR;
/* In-process backend: fills nets[0..2], one per party, for use by 3 threads. */
mpct_status mpct_net_init_local(mpct_net_t *nets[3], double timeout_s) MPCT_WUR;
void mpct_net_free(mpct_net_t *net);

/* Encrypts the links from the next round on (net_aead.c): one key-agreement
 * round (op "link_keys": fresh X25519 keys, 32 bytes to each neighbour),
 * then AES-128-GCM with one key per direction and counter nonces; a
 * message that does not authenticate fails its round with MPCT_ERR_NET
 * naming the peer. The exchange is unauthenticated: it stops a passive
 * observer of the links, not one who can alter them. All three parties
 * call it at the same point of their rounds. The counters then count wire
 * bytes: 16 more per message. */
mpct_status mpct_net_encrypt(mpct_net_t *net) MPCT_WUR;
int mpct_net_encrypted(const mpct_net_t *net);
/* "mpi" or "local". */
const char *mpct_net_backend(const mpct_net_t *net);

int mpct_net_party(const mpct_net_t *net);
mpct_status mpct_net_round(mpct_net_t *net, const mpct_net_msg *m) MPCT_WUR;
/* Counts one round of traffic that moved outside this transport on this
 * party's behalf (the copy of weight shares from replica 0 to the other
 * replicas over the party's own MPI communicator): sent/recv bytes and
 * messages as this rank's share of it, comm_s the time it blocked. Charged
 * like mpct_net_round's, to the total and the current op. */
void mpct_net_account(mpct_net_t *net, uint64_t sent, uint64_t recv, uint64_t messages, double comm_s);

/* Network emulation (net_link.c): every directed link between two parties
 * behaves as an ideal link of rate_bps bits/s and one_way_s delay; a round
 * returns no earlier than its messages would arrive over such links. The
 * parties must share one clock (ranks of one node). Bytes and rounds are
 * counted as without it; the waiting is part of comm_s. */
typedef struct mpct_net_link {
    double rate_bps;  /* per direction; 0: no emulation */
    double one_way_s; /* half the round-trip time */
    char name[32];    /* the spec it was parsed from ("lan", "1gbit:2ms", "none") */
} mpct_net_link;
/* Parses "lan" (3 Gbit/s, 0.8 ms RTT), "wan" (200 Mbit/s, 40 ms), "puma"
 * (5 Gbit/s, 1 ms), "none", or RATE:RTT such as "1gbit:2ms". */
mpct_status mpct_net_link_parse(const char *spec, mpct_net_link *out) MPCT_WUR;
/* Sets (rate_bps > 0) or clears the emulated link on this party; every
 * party of the replica sets the same one before the same round. */
void mpct_net_set_link(mpct_net_t *net, const mpct_net_link *link);
/* The emulated link, or NULL when there is none. */
const mpct_net_link *mpct_net_get_link(const mpct_net_t *net);
/* Measures the links as a protocol sees them (collective over the replica,
 * charged as op "link_probe"): the round-trip time is twice the median time
 * of a round of one byte to and from both neighbours; the rate is 4 MiB
 * over the median time of a round sending it to next, less one one-way
 * delay. Over an emulated link it checks the emulation; without one it
 * measures the real transport. */
mpct_status mpct_net_measure_link(mpct_net_t *net, double *rtt_s, double *rate_bps) MPCT_WUR;

/* Op accounting: enter/leave nest; only the outermost op is charged. */
void mpct_net_op_enter(mpct_net_t *net, const char *name);
void mpct_net_op_leave(mpct_net_t *net);
/* Totals over all ops. */
mpct_net_counters mpct_net_total(const mpct_net_t *net);
/* Number of ops recorded; name and counters of op idx. */
int mpct_net_op_count(const mpct_net_t *net);
/* Layer label of op record idx (-1 outside layers). Ops entered after
 * mpct_net_set_layer(net, l) are recorded separately per layer l. */
int mpct_net_op_layer(const mpct_net_t *net, int idx);
void mpct_net_set_layer(mpct_net_t *net, int layer);
const char *mpct_net_op_name(const mpct_net_t *net, int idx);
mpct_net_counters mpct_net_op_counters(const mpct_net_t *net, int idx);
/* Zeroes every counter and forgets the op records (the probe stays). */
void mpct_net_reset_counters(mpct_net_t *net);

/* Probe: fn(arg, vals) writes n monotonic totals (e.g. hardware counters).
 * With a probe set, the outermost op enter and leave each call it once and
 * the op record accumulates leave - enter per value: like wall and CPU time,
 * inclusive of nested ops and charged to the outermost op only. fn NULL (the
 * default) removes it; the op path then costs one branch. n is clamped to
 * 0..MPCT_NET_MAX_PROBE. Set it between ops (depth 0), not inside one. */
#define MPCT_NET_MAX_PROBE 8
typedef void (*mpct_net_probe_fn)(void *arg, int64_t *vals);
void mpct_net_set_probe(mpct_net_t *net, mpct_net_probe_fn fn, void *arg, int n);
/* Copies op idx's accumulated probe differences to out[0..n-1]; returns n
 * (0 without a probe). */
int mpct_net_op_probe(const mpct_net_t *net, int idx, int64_t *out);

/* Timeline: fn(arg, kind, name, layer, t0, t1) for every outermost op when
 * it leaves (kind MPCT_NET_TRACE_OP, name = the op, t0/t1 = enter/leave)
 * and every round when it returns (MPCT_NET_TRACE_WAIT, name = the op it
 * is charged to or "", t0/t1 = the time blocked in the transport), times
 * of mpct_time_now(). fn NULL (the default) removes it; the paths then
 * cost one branch. */
enum { MPCT_NET_TRACE_OP = 0, MPCT_NET_TRACE_WAIT = 1 };
typedef void (*mpct_net_trace_fn)(void *arg, int kind, const char *name, int layer, double t0, double t1);
void mpct_net_set_trace(mpct_net_t *net, mpct_net_trace_fn fn, void *arg);

#endif
