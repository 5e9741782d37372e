/*
 * share_fxp.c — fixed-point products: a product (elementwise, a dot
 * product of k pairs, or a matrix product) whose additive terms feed the
 * exact truncation's opening round directly (no resharing round), and the
 * fixed-point wrappers mul_fxp, matmul_fxp and mul_const_fxp.
 *
 * Costs per output element, per party, with w = ceil(d/8) bytes:
 *   mul_trunc_many, dot_trunc, matmul_trunc, mul_fxp, matmul_fxp
 *                   2 rounds; 8 + w bytes from two parties, 8 + 2w from
 *                   the third, in turn (dot_trunc whatever k is); with
 *                   the probabilistic truncation (or
 *                   d = 0): the product (1 round, 8 bytes each) then the
 *                   truncation (1 round, P0 8 bytes), 2 rounds
 *   mul_const_fxp   the truncation's cost (the product by a public
 *                   constant is local)
 */
#include "mpc-impl.h"

#include <string.h>

/* Products fused with the exact truncation: each party's additive term of
 * the product goes straight into the truncation's opening round (see
 * mpc_trunc_exact), so a product costs 2 rounds and 8 + ceil(d/8) bytes
 * per element from two parties (ceil(d/8) more from the third) instead of
 * 1 + 2 rounds and a product's word plus the truncation's. out[i] holds the term in s[0] on entry. */
static mpct_status trunc_fused(mpct_ctx_t *ctx, size_t k, mpct_share *const *out, const int *d)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += out[i]->n;
    OP_ENTER(ctx, "trunc");
    mpct_status st = mpc_trunc_exact(ctx, k, NULL, d, total, out, 64);
    OP_LEAVE(ctx);
    return st;
}

static int fusable(const mpct_ctx_t *ctx, size_t k, const int *d)
{
    if (ctx->trunc_prob)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (d[i] <= 0 || d[i] > 62)
            return 0;
    return 1;
}

mpct_status mpct_share_mul_trunc_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                      const mpct_share *const *b, const int *d, mpct_share *const *out)
{
    if (!fusable(ctx, k, d)) {
        MPCT_CALL(mpct_share_mul_many(ctx, k, a, b, out));
        return mpct_share_trunc_many_d(ctx, k, (const mpct_share *const *)out, d, out);
    }
    size_t nmax = 0;
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL(mpc_same_n(a[i], b[i], "mul"));
        nmax = a[i]->n > nmax ? a[i]->n : nmax;
    }
    const uint64_t *zero = mpc_zeros(ctx, nmax);
    if (!zero)
        return mpct_error_set(MPCT_ERR_NOMEM, "mul: out of memory");
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul");
    for (size_t i = 0; i < k && st == MPCT_OK; i++) {
        st = mpc_out_like(out[i], a[i]->shape);
        if (st == MPCT_OK) /* out may alias a or b: element-wise, s[0] written last */
            ctx->k->mul_cross(a[i]->n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], zero, out[i]->s[0]);
    }
    OP_LEAVE(ctx);
    MPCT_CALL(st);
    return trunc_fused(ctx, k, out, d);
}

mpct_status mpct_share_dot_trunc(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                                 int d, mpct_share *out)
{
    if (!k)
        return mpct_error_set(MPCT_ERR_ARG, "dot_trunc: no products");
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL(mpc_same_n(a[i], b[i], "dot_trunc"));
        MPCT_CALL(mpc_same_n(a[0], a[i], "dot_trunc"));
        if (out == a[i] || out == b[i])
            return mpct_error_set(MPCT_ERR_ARG, "dot_trunc: output must not alias an operand");
    }
    if (!fusable(ctx, 1, &d)) { /* products, their sum, then the truncation */
        mpct_share t = {0};
        mpct_status st = MPCT_OK;
        for (size_t i = 0; i < k && st == MPCT_OK; i++) {
            st = mpct_share_mul(ctx, a[i], b[i], i ? &t : out);
            if (st == MPCT_OK && i)
                st = mpct_share_add(ctx, out, &t, out);
        }
        mpct_share_free(&t);
        MPCT_CALL(st);
        return mpct_share_trunc(ctx, out, d, out);
    }
    const size_t n = a[0]->n;
    MPCT_CALL(mpc_out_like(out, a[0]->shape));
    memset(out->s[0], 0, n * sizeof *out->s[0]);
    OP_ENTER(ctx, "mul");
    for (size_t i = 0; i < k; i++) /* the additive terms accumulate in s[0] */
        ctx->k->mul_cross(n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], out->s[0], out->s[0]);
    OP_LEAVE(ctx);
    return trunc_fused(ctx, 1, &out, &d);
}

mpct_status mpct_share_matmul_trunc(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, int d,
                                    mpct_share *out)
{
    if (!fusable(ctx, 1, &d)) {
        MPCT_CALL(mpct_share_matmul(ctx, a, b, out));
        return mpct_share_trunc(ctx, out, d, out);
    }
    mpct_status st;
    OP_ENTER(ctx, "matmul");
    st = mpc_matmul_local(ctx, a, b, out, MPC_MM_CLASSIC, -1, NULL);
    OP_LEAVE(ctx);
    MPCT_CALL(st);
    return trunc_fused(ctx, 1, &out, &d);
}


mpct_status mpct_share_mul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul_fxp");
    {
        const int d = ctx->frac_bits;
        MPCT_CALL_GOTO(st, done, mpct_share_mul_trunc_many(ctx, 1, &a, &b, &d, &out));
    }
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_matmul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "matmul_fxp");
    MPCT_CALL_GOTO(st, done, mpct_share_matmul_trunc(ctx, a, b, ctx->frac_bits, out));
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_mul_const_fxp(mpct_ctx_t *ctx, const mpct_share *a, double c, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul_const_fxp");
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, a, mpct_fxp_encode(c, ctx->frac_bits), out));
    MPCT_CALL_GOTO(st, done, mpct_share_trunc(ctx, out, ctx->frac_bits, out));
done:
    OP_LEAVE(ctx);
    return st;
}
