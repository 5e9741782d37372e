/*
 * nonlin_norm.c — the secure row-wise layers over replicated shares:
 * softmax over the last axis (row max by a log-depth tree of windowed
 * comparisons, masked exp, row sums, reciprocal) and LayerNorm (centred
 * deviations, variance, one inverse square root per row, gain and bias).
 * Shared building blocks: nonlin.c; the reciprocal and inverse square root
 * cores: nonlin_div.c; contracts and ranges: mpct_nonlin.h and NONLINEAR.md.
 *
 * Costs (default exact truncation; rounds independent of the number of
 * rows; words = 8-byte ring elements per element sent by the busiest
 * party; measured by test_nonlin --markdown, see mpct_nonlin.h):
 *   mpct_nl_softmax   115 rounds for C = 128 columns (grows with log2 C),
 *                     15 words (C = 128)
 *   mpct_nl_layernorm 40 rounds, ~7 words at H = 768 (one rsqrt per row)
 *
 * Invariants: those of nonlin.c (products below 2^44 before truncation for
 * in-range inputs; out-of-range values only ever multiplied by an exact 0;
 * one fused mul_trunc_many per stage, one comparison call per stage).
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define FI MPC_NL_FI

/* --------------------------------------------------------------- softmax */

#define SM_BIG 1024.0 /* masked logits are shifted down by this much */

mpct_status mpct_nl_softmax(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask, mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = x->n;
    const size_t C = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!C || n % C)
        return mpct_error_set(MPCT_ERR_ARG, "softmax: %zu elements are not rows of %zu", n, C);
    const size_t R = n / C;
    const size_t rpm = mask && mask->rows_per_mask ? mask->rows_per_mask : 1;
    if (mask && mask->secret && mask->secret->n < ((R + rpm - 1) / rpm) * C)
        return mpct_error_set(MPCT_ERR_ARG, "softmax: secret mask has %zu elements, need %zu", mask->secret->n,
                              ((R + rpm - 1) / rpm) * C);
    mpct_status st = MPCT_OK;
    mpct_share xm = {0}, cur = {0}, a = {0}, b = {0}, c = {0}, cd = {0}, nxt = {0}, z = {0}, zc = {0}, clo = {0},
               keep = {0}, e = {0}, sum = {0}, r = {0}, rb = {0};
    OP_ENTER(ctx, "nl_softmax");
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &xm));
    if (mask && (mask->secret || mask->pub)) {
        const uint64_t big = mpc_nl_enc(SM_BIG, f);
        const int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
        for (size_t row = 0; row < R; row++) {
            const size_t mo = (row / rpm) * C;
            for (size_t j = 0; j < C; j++) {
                const size_t e = row * C + j;
                if (mask->secret) { /* x + (m - 1) BIG */
                    for (int i = 0; i < 2; i++)
                        xm.s[i][e] += mask->secret->s[i][mo + j] * big;
                    if (slot >= 0)
                        xm.s[slot][e] -= big;
                } else if (!mask->pub[mo + j] && slot >= 0) {
                    xm.s[slot][e] -= big;
                }
            }
        }
    }
    /* row max: log-depth tree, one ltz + one mul per stage. With |x| < 256
     * every compared value (differences of masked logits, z + 16) is below
     * SM_BIG + 512 = 1536 < 2^11: 32-bit comparisons while f <= 20.
     * The max need not be exact: softmax(x) = exp(x - c) / sum exp(x - c) for
     * any c, and c only has to keep x - c small. Windowed comparisons
     * (bits [lo, lo + cw)) err only where two candidates differ by less than
     * 2^lo, and then pick the smaller one, which is still an element of the
     * row: after D stages the result is within D 2^lo of the max, so
     * z = x - c <= D 2^(lo - f) <= 1/2 (exp(z) < 1.65). For D <= 8 (C <= 256)
     * that leaves 16 bits for |d| < 1536: half of msb's bytes, one round
     * less per stage. The clip [z < -16] takes the same window (2^-4 of
     * slack there changes nothing). */
    unsigned depth = 0, cw = mpc_nl_cmp_width(11, f), lo = 0;
    while (((size_t)1 << depth) < C)
        depth++;
    if (cw < 64) {
        unsigned ld = 0;
        while ((1u << ld) < depth)
            ld++;
        lo = (unsigned)f > ld + 1 ? (unsigned)f - ld - 1 : 0;
        /* |d| <= 1536 2^f must stay below 2^lo (2^(cw-1) - 2) */
        if (ldexp(1.0, (int)lo) * (32768.0 - 2) > 1536.0 * ldexp(1.0, f) + 1)
            cw = 16;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&xm, &cur));
    for (size_t w = C; w > 1;) {
        const size_t h = w / 2, odd = w & 1, w2 = h + odd;
        mpct_share_free(&a);
        mpct_share_free(&b);
        mpct_share_free(&c);
        mpct_share_free(&cd);
        mpct_share_free(&nxt);
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&a, R * h));
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&nxt, R * w2));
        for (int i = 0; i < 2; i++)
            for (size_t row = 0; row < R; row++)
                for (size_t k = 0; k < h; k++)
                    a.s[i][row * h + k] = cur.s[i][row * w + 2 * k] - cur.s[i][row * w + 2 * k + 1]; /* d = a - b */
        MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &a, cw, lo, &c)); /* c = [a < b] */
        MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &c, &a, &cd));
        for (int i = 0; i < 2; i++)
            for (size_t row = 0; row < R; row++) {
                for (size_t k = 0; k < h; k++)
                    nxt.s[i][row * w2 + k] = cur.s[i][row * w + 2 * k] - cd.s[i][row * h + k];
                if (odd)
                    nxt.s[i][row * w2 + h] = cur.s[i][row * w + w - 1];
            }
        mpct_share_free(&cur);
        cur = nxt;
        nxt = (mpct_share){0};
        w = w2;
    }
    /* z = x - max <= 0; keep = [z >= -16] */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&z, n));
    /* rows by columns here and in mpct_share_row_sums/bcast_rows: a division per element
     * (e / C, C not a constant) took ~45 % of softmax's own samples */
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t mx = cur.s[i][row], *restrict xr = xm.s[i] + row * C;
            uint64_t *restrict zr = z.s[i] + row * C;
            for (size_t j = 0; j < C; j++)
                zr[j] = xr[j] - mx;
        }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&z, &zc));
    mpc_nl_add_pub(ctx, &zc, 0, n, mpc_nl_enc(16.0, f));
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &zc, cw, lo, &clo));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&keep, n));
    mpc_nl_rsub_pub(ctx, &clo, 1, &keep);
    MPCT_CALL_GOTO(st, done, mpc_nl_exp_neg_masked(ctx, &z, f, &keep, NULL, FI, &e));
    /* row sums in [1, 1.65 C] (the element picked as the max contributes 1;
     * every term is below e^(1/2)) and their reciprocal */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&sum, R));
    mpct_share_row_sums(&e, C, &sum);
    int hi = 1;
    while (ldexp(1.0, hi) <= (lo ? 1.65 : 1.0) * (double)C)
        hi++;
    MPCT_CALL_GOTO(st, done, mpc_nl_recip_core(ctx, &sum, FI, 0, hi, 24, &r));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&rb, n));
    mpct_share_bcast_rows(&r, C, &rb);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &e, &rb, out, FI + 24 - f));
    out->shape = x->shape;
done:;
    mpct_share *all[] = {&xm, &cur, &a, &b, &c, &cd, &nxt, &z, &zc, &clo, &keep, &e, &sum, &r, &rb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------- LayerNorm */

#define LN_FC 20  /* fractional bits of the public 1/H */
#define LN_FV 12  /* precision of the deviations used for the variance */
#define LN_FR 18  /* precision of 1/sigma */
#define LN_VAR_LO (-12) /* embedding LayerNorms see variances near 3e-3 */
#define LN_VAR_HI 11

mpct_status mpct_nl_layernorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain,
                              const mpct_share *bias, double eps, mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = x->n;
    const size_t H = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!H || n % H || gain->n != H || bias->n != H)
        return mpct_error_set(MPCT_ERR_ARG, "layernorm: input of %zu elements, rows of %zu, gain %zu, bias %zu",
                              n, H, gain->n, bias->n);
    const size_t R = n / H;
    mpct_status st = MPCT_OK;
    mpct_share D = {0}, Dv = {0}, gb = {0}, sq = {0}, dg = {0}, S2 = {0}, r = {0}, rb = {0};
    OP_ENTER(ctx, "nl_layernorm");
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&D, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&gb, n));
    const uint64_t cH = mpc_nl_enc(1.0 / (double)H, LN_FC);
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *xr = x->s[i] + row * H;
            uint64_t s = 0;
            for (size_t j = 0; j < H; j++)
                s += xr[j];
            for (size_t j = 0; j < H; j++) {
                D.s[i][row * H + j] = ((uint64_t)H * xr[j] - s) * cH; /* H (x - mean) / H, scaled by (1+delta) */
                gb.s[i][row * H + j] = gain->s[i][j];
            }
        }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&D, &Dv));
    {
        mpct_share *O[2] = {&D, &Dv};
        int d[2] = {LN_FC, LN_FC + f - LN_FV};
        MPCT_CALL_GOTO(st, done, mpc_nl_trunc_many(ctx, 2, O, d));
    }
    {
        const mpct_share *A[2] = {&Dv, &D}, *B[2] = {&Dv, &gb};
        mpct_share *O[2] = {&sq, &dg};
        int d[2] = {LN_FV, f};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, B, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&S2, R));
    mpct_share_row_sums(&sq, H, &S2);
    mpc_nl_add_pub(ctx, &S2, 0, R, mpc_nl_enc(eps * (double)H, LN_FV));
    const int lo = (int)floor(log2((double)H) + LN_VAR_LO), hi = (int)ceil(log2((double)H) + LN_VAR_HI);
    MPCT_CALL_GOTO(st, done, mpc_nl_rsqrt_core(ctx, &S2, LN_FV, lo, hi, sqrt((double)H), LN_FR, &r));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&rb, n));
    mpct_share_bcast_rows(&r, H, &rb);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &dg, &rb, out, LN_FR));
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *restrict bb = bias->s[i];
            uint64_t *restrict orow = out->s[i] + row * H;
            for (size_t j = 0; j < H; j++)
                orow[j] += bb[j];
        }
    out->shape = x->shape;
done:
    mpct_share_free(&D);
    mpct_share_free(&Dv);
    mpct_share_free(&gb);
    mpct_share_free(&sq);
    mpct_share_free(&dg);
    mpct_share_free(&S2);
    mpct_share_free(&r);
    mpct_share_free(&rb);
    OP_LEAVE(ctx);
    return st;
}
