/*
 * share_linear.c — local linear operations on replicated shares: add, sub,
 * neg, public constants added or multiplied in, and row sums / row
 * broadcasts of a share viewed as a matrix.
 *
 * Communication: none. A replicated sharing is linear: each party applies
 * the operation to both of its components; a public constant joins
 * component x0 (held by P0 as s[0] and by P2 as s[1]).
 */
#include "mpc-impl.h"

#include <string.h>

mpct_status mpc_same_n(const mpct_share *a, const mpct_share *b, const char *op)
{
    if (a->n != b->n)
        return mpct_error_set(MPCT_ERR_ARG, "%s: operands have %zu and %zu elements", op, a->n, b->n);
    return MPCT_OK;
}

mpct_status mpct_share_add(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    MPCT_CALL(mpc_same_n(a, b, "add"));
    MPCT_CALL(mpc_out_like(out, a->shape));
    for (int i = 0; i < 2; i++)
        ctx->k->add(a->n, a->s[i], b->s[i], out->s[i]);
    return MPCT_OK;
}

mpct_status mpct_share_sub(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    MPCT_CALL(mpc_same_n(a, b, "sub"));
    MPCT_CALL(mpc_out_like(out, a->shape));
    for (int i = 0; i < 2; i++)
        ctx->k->sub(a->n, a->s[i], b->s[i], out->s[i]);
    return MPCT_OK;
}

mpct_status mpct_share_neg(mpct_ctx_t *ctx, const mpct_share *a, mpct_share *out)
{
    return mpct_share_mul_const(ctx, a, ~(uint64_t)0, out); /* times 2^64 - 1 */
}

/* The constant joins share x0, held by P0 (s[0]) and P2 (s[1]). */
mpct_status mpct_share_add_const(mpct_ctx_t *ctx, const mpct_share *a, const uint64_t *c, size_t c_len,
                                 mpct_share *out)
{
    if (c_len != 1 && c_len != a->n)
        return mpct_error_set(MPCT_ERR_ARG, "add_const: %zu constants for %zu elements", c_len, a->n);
    if (out != a)
        MPCT_CALL(mpct_share_copy(a, out));
    int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
    if (slot >= 0 && c_len == 1)
        ctx->k->add3(a->n, out->s[slot], NULL, NULL, 0, c[0], ~(uint64_t)0, out->s[slot]);
    else if (slot >= 0)
        ctx->k->add(a->n, out->s[slot], c, out->s[slot]);
    return MPCT_OK;
}

mpct_status mpct_share_mul_const(mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out)
{
    MPCT_CALL(mpc_out_like(out, a->shape));
    for (int i = 0; i < 2; i++)
        ctx->k->mul_scalar(a->n, a->s[i], c, out->s[i]);
    return MPCT_OK;
}

void mpct_share_row_sums(mpct_ctx_t *ctx, const mpct_share *x, size_t C, mpct_share *out)
{
    for (int i = 0; i < 2; i++)
        ctx->k->sum_rows(out->n, C, 1, x->s[i], out->s[i]);
}

void mpct_share_bcast_rows(mpct_ctx_t *ctx, const mpct_share *v, size_t C, mpct_share *out)
{
    for (int i = 0; i < 2; i++)
        ctx->k->bcast_rows(v->n, C, v->s[i], out->s[i]);
}
