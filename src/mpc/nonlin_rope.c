/*
 * nonlin_rope.c — rotary position embeddings (RoPE, HF LLaMA's rotate_half
 * convention) on secret Q/K with public positions.
 *
 * The rotation by the public cos/sin of a row's position is a local linear
 * map (kernels' rope entry, both components of a replicated share, or a
 * party's additive term of a product). It is applied at the precision the
 * values already have, with cos/sin at ROPE_FC bits, and the truncation
 * that follows takes ROPE_FC more bits: the rotation adds no round.
 *   mpct_nl_matmul_rope  the projection x W, rotated, one fused truncation:
 *                        2 rounds, 8 + ceil((f + 16)/8) bytes per output
 *                        element from two parties, ceil((f + 16)/8) more
 *                        from the third: matmul_trunc's cost
 *   mpct_nl_rope         a share at x_frac bits, rotated and truncated to
 *                        f: one truncation (2 rounds)
 * With the probabilistic truncation the fused form would open values near
 * 2^(2f + ROPE_FC + log2|q|); it takes the product, its truncation by f,
 * then the rotation and a truncation by ROPE_FC instead.
 *
 * Invariants: the angle of pair i at position p is p theta^(-2i/hd) in
 * float64 (HF's inv_freq), encoded once per call on every party alike; a
 * value rotated before the truncation is below 2^(x_frac + ROPE_FC) |x|,
 * so |x| < 2^(46 - x_frac) keeps the exact truncation's |v| < 2^62.
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define ROPE_FC 16 /* fractional bits of the public cos/sin */

static mpct_status rope_check(const char *fn, const mpct_nl_rope_cfg *rp, size_t n, size_t *rows)
{
    if (!rp || !rp->pos || !rp->heads || !rp->head_dim || rp->head_dim % 2 || !(rp->theta > 1))
        return mpct_error_set(MPCT_ERR_ARG, "%s: needs positions, heads >= 1, an even head_dim and theta > 1 "
                                            "(heads %zu, head_dim %zu, theta %g)",
                              fn, rp ? rp->heads : 0, rp ? rp->head_dim : 0, rp ? rp->theta : 0.0);
    const size_t w = rp->heads * rp->head_dim;
    if (n % w)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %zu elements are not rows of %zu heads x %zu", fn, n, rp->heads,
                              rp->head_dim);
    *rows = n / w;
    for (size_t r = 0; r < *rows; r++)
        if (rp->pos[r] < 0)
            return mpct_error_set(MPCT_ERR_ARG, "%s: row %zu has position %lld", fn, r, (long long)rp->pos[r]);
    return MPCT_OK;
}

/* rows x hd public words: cos then sin of each pair's angle, ROPE_FC bits */
static uint64_t *rope_table(const mpct_nl_rope_cfg *rp, size_t rows)
{
    const size_t hd = rp->head_dim, h2 = hd / 2;
    uint64_t *cs = mpc_tmp(rows * hd);
    if (!cs)
        return NULL;
    for (size_t i = 0; i < h2; i++) {
        const double inv = pow(rp->theta, -(double)(2 * i) / (double)hd);
        for (size_t r = 0; r < rows; r++) {
            const double a = (double)rp->pos[r] * inv;
            cs[r * hd + i] = mpc_nl_enc(cos(a), ROPE_FC);
            cs[r * hd + h2 + i] = mpc_nl_enc(sin(a), ROPE_FC);
        }
    }
    return cs;
}

/* The rotation of the words s (rows x heads hd) in place. */
static mpct_status rope_words(mpct_ctx_t *ctx, const mpct_nl_rope_cfg *rp, size_t rows, const uint64_t *cs, uint64_t *s)
{
    const size_t n = rows * rp->heads * rp->head_dim;
    uint64_t *t = mpc_tmp(n);
    if (!t)
        return mpct_error_set(MPCT_ERR_NOMEM, "rope: out of memory");
    ctx->k->rope(rows, rp->heads, rp->head_dim, s, cs, t);
    memcpy(s, t, n * 8);
    mpc_tmp_free(t);
    return MPCT_OK;
}

static mpct_status rope_share(mpct_ctx_t *ctx, const mpct_share *x, int x_frac, const mpct_nl_rope_cfg *rp,
                              mpct_share *out)
{
    size_t rows = 0;
    const int d = x_frac + ROPE_FC - ctx->frac_bits;
    MPCT_CALL(rope_check("rope", rp, x->n, &rows));
    if (x_frac < 0 || d < 1 || d > 62)
        return mpct_error_set(MPCT_ERR_ARG, "rope: input at %d fractional bits (at least %d - %d)", x_frac,
                              ctx->frac_bits, ROPE_FC - 1);
    uint64_t *cs = rope_table(rp, rows);
    if (!cs)
        return mpct_error_set(MPCT_ERR_NOMEM, "rope: out of memory");
    mpct_status st = MPCT_OK;
    if (out != x)
        MPCT_CALL_GOTO(st, done, mpct_share_copy(x, out));
    for (int i = 0; i < 2 && st == MPCT_OK; i++)
        st = rope_words(ctx, rp, rows, cs, out->s[i]);
    if (st == MPCT_OK)
        st = mpct_share_trunc(ctx, out, d, out);
done:
    mpc_tmp_free(cs);
    return st;
}

mpct_status mpct_nl_rope(mpct_ctx_t *ctx, const mpct_share *x, int x_frac, const mpct_nl_rope_cfg *rp, mpct_share *out)
{
    OP_ENTER(ctx, "nl_rope");
    mpct_status st = rope_share(ctx, x, x_frac, rp, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

static mpct_status matmul_rope(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *w, const mpct_nl_rope_cfg *rp,
                               mpct_share *out)
{
    const int f = ctx->frac_bits;
    if (a->shape.ndim != 2 || w->shape.ndim != 2)
        return mpct_error_set(MPCT_ERR_ARG, "matmul_rope: 2-D operands only (got %dD x %dD)", a->shape.ndim,
                              w->shape.ndim);
    size_t rows = 0;
    MPCT_CALL(rope_check("matmul_rope", rp, a->shape.dim[0] * w->shape.dim[1], &rows));
    if (ctx->trunc_prob || 2 * f + ROPE_FC - f > 62) {
        MPCT_CALL(mpct_share_matmul_trunc(ctx, a, w, f, out));
        return rope_share(ctx, out, f, rp, out);
    }
    uint64_t *cs = rope_table(rp, rows);
    if (!cs)
        return mpct_error_set(MPCT_ERR_NOMEM, "matmul_rope: out of memory");
    mpct_status st = mpc_matmul_local(ctx, a, w, out, MPC_MM_CLASSIC, -1, NULL);
    if (st == MPCT_OK)
        st = rope_words(ctx, rp, rows, cs, out->s[0]); /* the additive term: linear, so rotate it */
    mpc_tmp_free(cs);
    MPCT_CALL(st);
    const int d = f + ROPE_FC;
    OP_ENTER(ctx, "trunc");
    st = mpc_trunc_exact(ctx, 1, NULL, &d, out->n, &out, 64);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_nl_matmul_rope(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *w, const mpct_nl_rope_cfg *rp,
                                mpct_share *out)
{
    OP_ENTER(ctx, "nl_matmul_rope");
    mpct_status st = matmul_rope(ctx, a, w, rp, out);
    OP_LEAVE(ctx);
    return st;
}
