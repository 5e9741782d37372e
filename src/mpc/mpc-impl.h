/*
 * mpc-impl.h — private to src/mpc: the context layout and the helpers the
 * protocol files share (scratch words, output shapes, the resharing round,
 * the local matmul term, the exact truncation's protocol, wire packing).
 * Each helper's costs are stated in the file that defines it.
 */
#ifndef MPCT_MPC_IMPL_H
#define MPCT_MPC_IMPL_H

#include "mpct_mpc.h"
#include "mpct_prf.h"

struct mpct_ctx {
    mpct_net_t *net;
    int party;
    int frac_bits;
    int trunc_prob; /* 1: probabilistic truncation (1 round, rare large errors) */
    unsigned trunc_role; /* which party opens the next exact truncation (0..2; share_trunc.c) */
    unsigned cmp_role;   /* which party inputs the next comparison's summed operand (0..2; bool.c) */
    const mpct_kernels *k;
    mpct_prf_t *prf_own;  /* k_i, shared with prev */
    mpct_prf_t *prf_next; /* k_{i+1}, shared with next */
    uint64_t *zeros;      /* read-only zero words for kernels' addend (mpc_zeros) */
    size_t nzeros;
};

#define NEXT(p) (((p) + 1) % 3)
#define PREV(p) (((p) + 2) % 3)

/* Scoped op accounting: OP_ENTER(ctx, "name") ... OP_LEAVE(ctx) */
#define OP_ENTER(ctx, name) mpct_net_op_enter((ctx)->net, name)
#define OP_LEAVE(ctx) mpct_net_op_leave((ctx)->net)

uint64_t *mpc_tmp(size_t n); /* a scratch block of n words (mpct_core.h), NULL on failure */
/* At least n zero words owned by ctx (grown on demand, never written by
 * callers): the zero addend of mul_cross where there is no mask to add. */
const uint64_t *mpc_zeros(mpct_ctx_t *ctx, size_t n);
void mpc_tmp_free(uint64_t *p); /* back to the scratch cache (its size is in the block) */

/* Ensures out has x's shape (allocating when out->s[0] == NULL). */
mpct_status mpc_out_like(mpct_share *out, mpct_shape shape);

/* An error naming op when a and b differ in element count (share_linear.c). */
mpct_status mpc_same_n(const mpct_share *a, const mpct_share *b, const char *op);

/* ---- share_io.c: the input protocol in two steps (see share_io.c) ---- */
typedef struct mpc_round mpc_round;
/* x_{o+1} and x_{o-1} of words [off, off + n) of out; the owner then
 * writes x_o = v - x_{o+1} into its s[0]. */
mpct_status mpc_input_draw(mpct_ctx_t *ctx, int owner, const mpct_prf_t *prf, uint64_t pos, mpct_share *out,
                           size_t off, size_t n) MPCT_WUR;
/* x_o of those words from the owner to its prev, as wb-byte words. */
void mpc_input_queue(mpc_round *r, int owner, mpct_share *out, size_t off, size_t n, unsigned wb);

/* ---- share_matmul.c ---- */
/* Sends s[0] of each output to prev and receives s[1] from next (1 round). */
/* k products in one round, arithmetic (boolean 0) or AND (1): share_matmul.c. */
mpct_status mpc_cross_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                           mpct_share *const *out, int boolean) MPCT_WUR;
mpct_status mpc_reshare_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *out);
/* mpc_matmul_local's modes: the plain product (with the zero-component
 * split when b has the hint), or the sparse client's gather. */
enum { MPC_MM_CLASSIC, MPC_MM_SPARSE_CLIENT };
/* This party's additive term of a * b into out->s[0] (allocated with the
 * product's shape); no zero-sharing, no round. bl: 32-bit single products
 * (the lift), else NULL. */
mpct_status mpc_matmul_local(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int mode,
                             int client, mpct_share_low32 *bl);

/* ---- share_trunc.c ---- */
/* The exact truncation of k items by d[i] bits over Z_2^L (L 64, or 32 for
 * the lift with shifts 0), total = the elements of the items it does not
 * skip; x NULL: the input is the additive term in out[i]->s[0]. 2 rounds. */
mpct_status mpc_trunc_exact(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                            mpct_share *const *out, unsigned L);

/* ---- share_wire.c: rounds as an API ----
 * mpc_round_begin; queue what this party sends (mpc_round_send) and
 * receives (mpc_round_recv) this round; mpc_round_exchange: one
 * mpct_net_round, received words written (shifted left by sh) where
 * queued, the builder released. Errors while queueing (bad width, no
 * memory) are kept and returned by the exchange, which then sends nothing.
 * mpc_round_free releases a builder that will not be exchanged. */
static inline uint64_t mpc_low_mask(unsigned d) { return d >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << d) - 1; }
enum { MPC_NEXT, MPC_PREV };
#define MPC_ROUND_INLINE 4
typedef struct mpc_seg {
    uint64_t *w;
    size_t n;
    unsigned wb, sh; /* bytes per word on the wire (1..8); left shift on receipt */
} mpc_seg;
typedef struct mpc_round_q {
    mpc_seg *seg; /* inl, or the heap beyond MPC_ROUND_INLINE segments */
    size_t n, cap, bytes;
    mpc_seg inl[MPC_ROUND_INLINE];
} mpc_round_q;
struct mpc_round {
    mpct_ctx_t *ctx;
    mpct_status st;
    mpc_round_q q[4]; /* send to next, to prev; receive from next, from prev */
};
void mpc_round_begin(mpc_round *r, mpct_ctx_t *ctx);
/* n words of w, each as its low wb bytes, to peer MPC_NEXT or MPC_PREV. */
void mpc_round_send(mpc_round *r, int peer, const uint64_t *w, size_t n, unsigned wb);
/* n words of wb bytes from peer into w, each shifted left by sh. */
void mpc_round_recv(mpc_round *r, int peer, uint64_t *w, size_t n, unsigned wb, unsigned sh);
mpct_status mpc_round_exchange(mpc_round *r) MPCT_WUR;
void mpc_round_free(mpc_round *r);

/* ---- nonlin.c, nonlin_div.c: building blocks of the non-linear functions
 * (nonlin*.c); costs and ranges stated where they are defined. ---- */
#define MPC_NL_FI 20 /* internal fractional bits */
uint64_t mpc_nl_enc(double v, int F);
mpct_status mpc_nl_new(mpct_share *s, size_t n); /* zero-filled scratch share of n (>= 1) elements */
mpct_status mpc_nl_out(mpct_share *s, size_t n); /* ... without the zero fill */
void mpc_nl_add_pub(const mpct_ctx_t *ctx, mpct_share *s, size_t off, size_t len, uint64_t c);
void mpc_nl_rsub_pub(const mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out);
mpct_status mpc_nl_trunc_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *x, const int *d);
mpct_status mpc_nl_fmul(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                        mpct_share *const *out, const int *d);
mpct_status mpc_nl_fmul1(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int d);
unsigned mpc_nl_cmp_width(int range_bits, int fx);
mpct_status mpc_nl_ltz_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, unsigned width, unsigned lo,
                            mpct_share *const *out);
mpct_status mpc_nl_rescale(mpct_ctx_t *ctx, mpct_share *x, int from, int to);
extern const double mpc_nl_exp_taylor3[3];
mpct_status mpc_nl_exp_chain(mpct_ctx_t *ctx, const mpct_share *Y, const double *c, int nsq, const int *P,
                             mpct_share *out);
/* nonlin_tour.c: one 4-ary tournament level over ragged rows (w[r] values
 * each, packed; afterwards ceil(w[r] / 4)): ch[0] compared by ltz_win(width,
 * lo), the nch (<= 4) channels replaced by each group's winner; wt (NULL
 * to skip) gets the members' 0/1 weights, 4G, member t of group g at t G + g. */
mpct_status mpc_nl_tour4(mpct_ctx_t *ctx, size_t R, size_t *w, unsigned width, unsigned lo, size_t nch,
                         mpct_share *const *ch, mpct_share *wt);
mpct_status mpc_nl_exp_neg_masked(mpct_ctx_t *ctx, const mpct_share *z, int fz, const mpct_share *keep,
                                  const mpct_share *one, int fo, mpct_share *out);
/* nonlin_div.c */
/* xbits: the caller's bound |x| < 2^xbits (0: none), which lets the
 * range comparisons run on 32 bits when xbits + fx <= 31 */
mpct_status mpc_nl_recip_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int xbits, int fo,
                              mpct_share *out);
mpct_status mpc_nl_tanh_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int fo, const mpct_share *up,
                             mpct_share *gu, mpct_share *out);
mpct_status mpc_nl_rsqrt_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, double scale, int fo,
                              mpct_share *out);

#endif
