/* net-impl.h — private: the backend vtable and shared counter code. */
#ifndef MPCT_NET_IMPL_H
#define MPCT_NET_IMPL_H

#include "mpct_net.h"

typedef struct mpct_net_ops {
    mpct_status (*round)(mpct_net_t *net, const mpct_net_msg *m);
    void (*free)(mpct_net_t *net);
    const char *name; /* "mpi", "local" */
} mpct_net_ops;

typedef struct mpct_net_op_rec {
    char name[MPCT_NET_OP_NAME];
    int layer; /* -1 when outside any layer */
    mpct_net_counters c;
    int64_t probe[MPCT_NET_MAX_PROBE]; /* probe differences (mpct_net_set_probe) */
} mpct_net_op_rec;

struct mpct_net {
    const mpct_net_ops *ops;
    void *impl;
    int party;
    double timeout_s;
    int depth;
    int cur; /* index of the op being charged, -1 = "other" */
    int layer; /* current layer label for new op entries (-1 = none) */
    double op_t0, op_c0;
    mpct_net_probe_fn probe; /* NULL: no probe */
    void *probe_arg;
    int nprobe;
    int64_t probe0[MPCT_NET_MAX_PROBE]; /* values at the outermost op enter */
    mpct_net_trace_fn trace; /* NULL: no timeline (mpct_net_set_trace) */
    void *trace_arg;
    int nops;
    mpct_net_op_rec rec[MPCT_NET_MAX_OPS];
    mpct_net_counters total;
    mpct_net_link link;  /* rate_bps 0: no emulation */
    double link_free[2]; /* emulation: when the link to next / prev is free again */
    struct mpct_net_aead *aead; /* NULL: messages travel as they are (net_aead.c) */
};

/* A round over the emulated link (net_link.c). */
mpct_status mpct_net_link_round(mpct_net_t *net, const mpct_net_msg *m);

/* Link encryption (net_aead.c). Direction d: 0 = next, 1 = prev. A sealed
 * message is n bytes of ciphertext plus mpct_net_aead_overhead() bytes of tag. */
struct mpct_net_aead;
mpct_status mpct_net_aead_round(mpct_net_t *net, const mpct_net_msg *m);
mpct_status mpct_net_aead_new(const unsigned char send[2][16], const unsigned char recv[2][16],
                              struct mpct_net_aead **out);
void mpct_net_aead_free(struct mpct_net_aead *a);
size_t mpct_net_aead_overhead(void);
mpct_status mpct_net_aead_seal(struct mpct_net_aead *a, int d, const void *in, size_t n, unsigned char *out);
mpct_status mpct_net_aead_open(struct mpct_net_aead *a, int d, const unsigned char *in, size_t n, void *out,
                               int peer);

mpct_net_t *mpct_net_alloc(const mpct_net_ops *ops, void *impl, int party, double timeout_s);

#endif
