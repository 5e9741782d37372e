/* mpc-impl.h — private to src/mpc: the context layout and small helpers. */
#ifndef MPCT_MPC_IMPL_H
#define MPCT_MPC_IMPL_H

#include "mpct_mpc.h"
#include "mpct_prf.h"

struct mpct_ctx {
    mpct_net_t *net;
    int party;
    int frac_bits;
    int trunc_prob; /* 1: probabilistic truncation (1 round, rare large errors) */
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

/* Sends s[0] of each output to prev and receives s[1] from next (1 round). */
mpct_status mpc_reshare_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *out);

#endif
