/*
 * nonlin_sub.c — MPCFormer's Quad (for GeLU) and 2Quad (for softmax) over
 * replicated shares, and their float64 twins (mpct_nonlin_sub.h).
 *
 * Quad: 0.125 x^2 + 0.25 x + 0.5 = x (x + 2) / 8 + 0.5, so one fused
 * product of x and the local x + 2, truncated by f + 3 bits, and a public
 * addition: 2 rounds.
 *
 * 2Quad over rows of C: y = x + c (local); secret mask: z = m y (one
 * product without truncation: m is a 0/1 integer), public mask: z = y with
 * the masked entries' components zeroed (every party zeroes the same
 * entries, so the value is 0); q = trunc(z z, f); row sums (local);
 * r = recip(sum) on [2^-2, 2^24) at 28 bits (the widest span recip takes at 28
 * output bits; a row whose sum is below 1/4 saturates there); p = trunc(q r, 28). Both
 * truncated products keep their untruncated value below 2^44: z z < 180^2
 * 2^32, and q r = p 2^44 with p <= 1.
 *
 * Invariants: no secret-dependent branch; a masked entry's q is the exact
 * ring zero, so its probability is 0 after the exact truncation; the
 * scratch shares are wiped when freed (mpct_share_free).
 */
#include "mpc-impl.h"
#include "mpct_nonlin_sub.h"

#include <string.h>

#define Q2_LO (-2)
#define Q2_HI 24
#define Q2_OUT 28

mpct_status mpct_nl_quad(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    const int f = mpct_ctx_frac_bits(ctx);
    mpct_share y = {0};
    mpct_status st = MPCT_OK;
    const uint64_t two = mpct_fxp_encode(2.0, f), half = mpct_fxp_encode(0.5, f);
    OP_ENTER(ctx, "quad");
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, x, &two, 1, &y));
    MPCT_CALL_GOTO(st, done, mpc_out_like(out, x->shape));
    const mpct_share *a[1] = {x}, *b[1] = {&y};
    mpct_share *o[1] = {out};
    const int d[1] = {f + 3};
    MPCT_CALL_GOTO(st, done, mpct_share_mul_trunc_many(ctx, 1, a, b, d, o));
    mpc_nl_add_pub(ctx, out, 0, out->n, half);
done:
    OP_LEAVE(ctx);
    mpct_share_free(&y);
    return st;
}

/* z = m (x + c) for the mask (secret: one product; public: local zeroing). */
static mpct_status q2_masked_shift(mpct_ctx_t *ctx, const mpct_share *x, size_t C, const mpct_nl_mask *mask,
                                   mpct_share *z)
{
    const int f = mpct_ctx_frac_bits(ctx);
    const uint64_t c = mpct_fxp_encode(MPCT_NL_2QUAD_C, f);
    const size_t rows = x->n / C, per = mask && mask->rows_per_mask ? mask->rows_per_mask : 1;
    if (!mask || (!mask->secret && !mask->pub)) return mpct_share_add_const(ctx, x, &c, 1, z);
    mpct_share y = {0}, m = {0};
    mpct_status st = MPCT_OK;
    if (mask->secret && mask->secret->n * per != x->n)
        return mpct_error_set(MPCT_ERR_ARG,
                              "2quad: secret mask of %zu elements for %zu rows of %zu (%zu rows per mask row)",
                              mask->secret->n, rows, C, per);
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, x, &c, 1, mask->pub ? z : &y));
    if (mask->pub) {
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < C; j++)
                if (!mask->pub[(r / per) * C + j]) z->s[0][r * C + j] = z->s[1][r * C + j] = 0;
        goto done;
    }
    MPCT_CALL_GOTO(st, done, mpc_out_like(&m, x->shape));
    for (int s = 0; s < 2; s++)
        for (size_t r = 0; r < rows; r++)
            memcpy(m.s[s] + r * C, mask->secret->s[s] + (r / per) * C, C * sizeof *m.s[s]);
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &m, &y, z));
done:
    mpct_share_free(&y);
    mpct_share_free(&m);
    return st;
}

mpct_status mpct_nl_2quad(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask, mpct_share *out)
{
    const int f = mpct_ctx_frac_bits(ctx);
    if (x->shape.ndim < 1 || x->n == 0) return mpct_error_set(MPCT_ERR_ARG, "2quad: empty input");
    const size_t C = x->shape.dim[x->shape.ndim - 1], rows = x->n / C;
    mpct_share z = {0}, q = {0}, sum = {0}, r = {0}, rb = {0};
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "2quad");
    MPCT_CALL_GOTO(st, done, q2_masked_shift(ctx, x, C, mask, &z));
    MPCT_CALL_GOTO(st, done, mpc_out_like(&q, x->shape));
    {
        const mpct_share *a[1] = {&z}, *b[1] = {&z};
        mpct_share *o[1] = {&q};
        const int d[1] = {f};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_trunc_many(ctx, 1, a, b, d, o));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch(&sum, mpct_shape_1d(rows)));
    mpct_share_row_sums(ctx, &q, C, &sum);
    MPCT_CALL_GOTO(st, done, mpct_nl_recip(ctx, &sum, Q2_LO, Q2_HI, Q2_OUT, &r));
    MPCT_CALL_GOTO(st, done, mpc_out_like(&rb, x->shape));
    mpct_share_bcast_rows(ctx, &r, C, &rb);
    MPCT_CALL_GOTO(st, done, mpc_out_like(out, x->shape));
    {
        const mpct_share *a[1] = {&q}, *b[1] = {&rb};
        mpct_share *o[1] = {out};
        const int d[1] = {Q2_OUT};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_trunc_many(ctx, 1, a, b, d, o));
    }
done:
    OP_LEAVE(ctx);
    mpct_share *all[] = {&z, &q, &sum, &r, &rb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mpct_share_free(all[i]);
    return st;
}

double mpct_nl_ref_quad(double x) { return 0.125 * x * x + 0.25 * x + 0.5; }

void mpct_nl_ref_2quad(const double *x, const uint8_t *mask, size_t rows, size_t cols, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * cols;
        double *o = out + r * cols, sum = 0;
        for (size_t j = 0; j < cols; j++) {
            const double y = xr[j] + MPCT_NL_2QUAD_C;
            o[j] = !mask || mask[r * cols + j] ? y * y : 0.0;
            sum += o[j];
        }
        for (size_t j = 0; j < cols; j++)
            o[j] = sum > 0 ? o[j] / sum : 0.0;
    }
}
