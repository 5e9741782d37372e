/*
 * nonlin_norm.c — the secure row-wise layers over replicated shares:
 * softmax over the last axis (row max by a tournament of windowed
 * comparisons, 4-ary levels of one comparison call and two product rounds,
 * the clip folded into the last match; masked exp, row sums, reciprocal;
 * publicly masked entries,
 * from a byte mask or per-row causal lengths, packed out first) and
 * LayerNorm / RMSNorm (centred deviations or x itself, mean square, one
 * inverse square root per row, gain and bias).
 * Shared building blocks: nonlin.c; the reciprocal and inverse square root
 * cores: nonlin_div.c; contracts and ranges: mpct_nonlin.h and NONLINEAR.md.
 *
 * Costs (default exact truncation; rounds independent of the number of
 * rows; words = 8-byte ring elements per element sent by the busiest
 * party; measured by test_nonlin --markdown, see mpct_nonlin.h):
 *   mpct_nl_softmax   67 rounds for C = 128 columns (grows with log2 C),
 *                     23 words (C = 128)
 *   mpct_nl_layernorm 24 rounds, ~8 words at H = 768 (one rsqrt per row)
 *   mpct_nl_rmsnorm   24 rounds, ~6 words at H = 1024
 *   mpct_nl_softmax_causal  softmax's rounds for the longest kept row,
 *                     bytes for the kept entries only
 *
 * Invariants: those of nonlin.c (products below 2^44 before truncation for
 * in-range inputs; out-of-range values only ever multiplied by an exact 0;
 * one fused mul_trunc_many per stage, one comparison call per stage).
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FI MPC_NL_FI

/* --------------------------------------------------------------- softmax */

#define SM_BIG 1024.0 /* masked logits are shifted down by this much */

/* The public part of the mask as ragged rows: kept columns of each row
 * (col, concatenated), off[r] .. off[r + 1]. A row whose public mask keeps
 * nothing keeps everything (the unmasked softmax, as for a secret mask). */
static mpct_status sm_layout(const mpct_nl_mask *mask, const uint32_t *row_len, size_t per, size_t R, size_t C,
                             size_t rpm, size_t *off, size_t *col, size_t *lmax)
{
    size_t k = 0;
    *lmax = 0;
    for (size_t row = 0; row < R; row++) {
        size_t L = C;
        if (row_len) {
            L = row_len[row % (per ? per : R)];
            if (L > C)
                return mpct_error_set(MPCT_ERR_ARG, "softmax: row %zu allows %zu columns of %zu", row, L, C);
        }
        const uint8_t *pm = mask && mask->pub ? mask->pub + (row / rpm) * C : NULL;
        off[row] = k;
        for (size_t j = 0; j < L; j++)
            if (!pm || pm[j])
                col[k++] = j;
        if (k == off[row])
            for (size_t j = 0; j < C; j++)
                col[k++] = j;
        if (k - off[row] > *lmax)
            *lmax = k - off[row];
    }
    off[R] = k;
    return MPCT_OK;
}

/* The row max is a tournament: every match is a windowed comparison
 * c = [a < b] (errs only where |a - b| < 2^lo, and then still picks one of
 * the two), the winner a - c (a - b). 4-ary levels (mpc_nl_tour4,
 * nonlin_tour.c: one comparison call and two product rounds for two
 * binary levels, exactly one member winning each group, within 2 2^lo of
 * its max), binary levels down to two candidates, then the last match with
 * the clip folded in (sm_final). */

/* One binary level: pairs (2k, 2k+1) of every row, an odd last value
 * passing through; one windowed ltz and one product. */
static mpct_status sm_level2(mpct_ctx_t *ctx, size_t R, size_t *w, unsigned cw, unsigned lo, mpct_share *cur)
{
    mpct_status st = MPCT_OK;
    mpct_share a = {0}, c = {0}, cd = {0}, nxt = {0};
    size_t np = 0, nn = 0;
    for (size_t r = 0; r < R; r++)
        np += w[r] / 2, nn += w[r] / 2 + (w[r] & 1);
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&a, np));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&nxt, nn));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, pa = 0, pc = 0; r < R; pc += w[r], r++)
            for (size_t k = 0; k < w[r] / 2; k++)
                a.s[i][pa++] = cur->s[i][pc + 2 * k] - cur->s[i][pc + 2 * k + 1]; /* d = a - b */
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &a, cw, lo, &c)); /* c = [a < b] */
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &c, &a, &cd));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, pa = 0, pc = 0, pn = 0; r < R; pc += w[r], r++) {
            for (size_t k = 0; k < w[r] / 2; k++)
                nxt.s[i][pn++] = cur->s[i][pc + 2 * k] - cd.s[i][pa++];
            if (w[r] & 1)
                nxt.s[i][pn++] = cur->s[i][pc + w[r] - 1];
        }
    for (size_t r = 0; r < R; r++)
        w[r] = w[r] / 2 + (w[r] & 1);
    mpct_share_free(cur);
    *cur = nxt;
    nxt = (mpct_share){0};
done:
    mpct_share_free(&a);
    mpct_share_free(&c);
    mpct_share_free(&cd);
    mpct_share_free(&nxt);
    return st;
}

/* The last match of each row (its one or two candidates a, b in cur) with
 * the clip folded in: the same comparison call also gives, for every
 * element x_j of the row (xm, packed as off), k_ij = [x_j - cand_i + clip < 0]
 * for both candidates; with c = [a < b] the max is a - c (a - b) and
 * [x_j - max + clip < 0] = k_aj + c (k_bj - k_aj), both in one product
 * round (c is exactly 0 or 1, so the selected bit is exact). keep = 1 - that.
 * Saves the separate clip comparison (8 rounds) for one more compared
 * element per kept entry. */
static mpct_status sm_final(mpct_ctx_t *ctx, const mpct_share *xm, size_t R, const size_t *off, const size_t *w,
                            unsigned cw, unsigned lo, uint64_t clip, const mpct_share *cur, mpct_share *mx,
                            mpct_share *keep)
{
    const size_t n = xm->n;
    mpct_status st = MPCT_OK;
    mpct_share T = {0}, c = {0}, Lm = {0}, Rm = {0}, U = {0};
    size_t np = 0, n2 = 0;
    for (size_t r = 0; r < R; r++)
        if (w[r] == 2)
            np++, n2 += off[r + 1] - off[r];
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&T, np + n + n2));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, pc = 0, p = 0, q = np + n; r < R; pc += w[r], r++) {
            const uint64_t a = cur->s[i][pc], b = w[r] == 2 ? cur->s[i][pc + 1] : 0;
            if (w[r] == 2)
                T.s[i][p++] = a - b;
            for (size_t j = off[r]; j < off[r + 1]; j++) {
                T.s[i][np + j] = xm->s[i][j] - a;
                if (w[r] == 2)
                    T.s[i][q++] = xm->s[i][j] - b;
            }
        }
    mpc_nl_add_pub(ctx, &T, np, n + n2, clip);
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &T, cw, lo, &c));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(mx, R));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(keep, n));
    if (np) {
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&Lm, np + n2));
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&Rm, np + n2));
        for (int i = 0; i < 2; i++)
            for (size_t r = 0, p = 0, q = np; r < R; r++)
                if (w[r] == 2) {
                    const uint64_t cr = c.s[i][p];
                    Lm.s[i][p] = cr, Rm.s[i][p] = T.s[i][p];
                    p++;
                    for (size_t j = off[r]; j < off[r + 1]; j++, q++)
                        Lm.s[i][q] = cr, Rm.s[i][q] = c.s[i][n + q] - c.s[i][j + np];
                }
        MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &Lm, &Rm, &U));
    }
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, pc = 0, p = 0, q = np; r < R; pc += w[r], r++) {
            mx->s[i][r] = cur->s[i][pc] - (w[r] == 2 ? U.s[i][p] : 0);
            for (size_t j = off[r]; j < off[r + 1]; j++)
                keep->s[i][j] = 0 - c.s[i][np + j] - (w[r] == 2 ? U.s[i][q++] : 0);
            p += w[r] == 2;
        }
    mpc_nl_add_pub(ctx, keep, 0, n, 1);
done:
    mpct_share_free(&T);
    mpct_share_free(&c);
    mpct_share_free(&Lm);
    mpct_share_free(&Rm);
    mpct_share_free(&U);
    return st;
}

/* Row max and clip: 4-ary levels while at least three binary levels
 * remain, binary levels down to two candidates, then sm_final. */
static mpct_status sm_max_clip(mpct_ctx_t *ctx, const mpct_share *xm, size_t R, const size_t *off, unsigned cw,
                               unsigned lo, uint64_t clip, mpct_share *mx, mpct_share *keep)
{
    mpct_status st = MPCT_OK;
    mpct_share cur = {0};
    size_t *w = malloc(R * sizeof *w), wmax = 0;
    if (!w)
        return mpct_error_set(MPCT_ERR_NOMEM, "softmax: out of memory");
    for (size_t r = 0; r < R; r++) {
        w[r] = off[r + 1] - off[r];
        wmax = w[r] > wmax ? w[r] : wmax;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(xm, &cur));
    mpct_share *ch = &cur;
    for (; wmax > 4; wmax = (wmax + 3) / 4)
        MPCT_CALL_GOTO(st, done, mpc_nl_tour4(ctx, R, w, cw, lo, 1, &ch, NULL));
    for (; wmax > 2; wmax = wmax / 2 + (wmax & 1))
        MPCT_CALL_GOTO(st, done, sm_level2(ctx, R, w, cw, lo, &cur));
    MPCT_CALL_GOTO(st, done, sm_final(ctx, xm, R, off, w, cw, lo, clip, &cur, mx, keep));
done:
    free(w);
    mpct_share_free(&cur);
    return st;
}

/* Softmax of ragged rows xm (packed, masked logits already shifted): the
 * max tournament with the clip folded into its last match (sm_max_clip),
 * z = x - max, exp, row sums, reciprocal, product. */
static mpct_status sm_rows(mpct_ctx_t *ctx, const mpct_share *xm, size_t R, const size_t *off, size_t lmax,
                           mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = xm->n;
    mpct_status st = MPCT_OK;
    mpct_share cur = {0}, z = {0}, keep = {0}, e = {0}, sum = {0}, r = {0}, rb = {0};
    /* row max: a tournament of D = ceil(log2 lmax) matches per path. With |x| < 256
     * every compared value (differences of masked logits, z + 16) is below
     * SM_BIG + 512 = 1536 < 2^11: 32-bit comparisons while f <= 20.
     * The max need not be exact: softmax(x) = exp(x - c) / sum exp(x - c) for
     * any c, and c only has to keep x - c small. Windowed comparisons
     * (bits [lo, lo + cw)) err only where two candidates differ by less than
     * 2^lo, and then pick the smaller one, which is still an element of the
     * row: after D matches the result is within D 2^lo of the max, so
     * z = x - c <= D 2^(lo - f) <= 1/2 (exp(z) < 1.65). For D <= 8 (C <= 256)
     * that leaves 16 bits for |d| < 1536: half of msb's bytes, one round
     * less per comparison. The clip [z < -16] takes the same window (2^-4 of
     * slack there changes nothing). */
    unsigned depth = 0, cw = mpc_nl_cmp_width(11, f), lo = 0;
    while (((size_t)1 << depth) < lmax)
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
    MPCT_CALL_GOTO(st, done, sm_max_clip(ctx, xm, R, off, cw, lo, mpc_nl_enc(16.0, f), &cur, &keep));
    /* z = x - max <= 1/2; keep = [z >= -16] */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&z, n));
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t mx = cur.s[i][row], *restrict xr = xm->s[i] + off[row];
            uint64_t *restrict zr = z.s[i] + off[row];
            for (size_t j = 0; j < off[row + 1] - off[row]; j++)
                zr[j] = xr[j] - mx;
        }
    MPCT_CALL_GOTO(st, done, mpc_nl_exp_neg_masked(ctx, &z, f, &keep, NULL, FI, &e));
    /* row sums in [1, 1.65 L] (the element picked as the max contributes 1;
     * every term is below e^(1/2)) and their reciprocal */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&sum, R));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&rb, n));
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            uint64_t sr = 0;
            for (size_t j = off[row]; j < off[row + 1]; j++)
                sr += e.s[i][j];
            sum.s[i][row] = sr;
        }
    int hi = 1;
    while (ldexp(1.0, hi) <= (lo ? 1.65 : 1.0) * (double)lmax)
        hi++;
    MPCT_CALL_GOTO(st, done, mpc_nl_recip_core(ctx, &sum, FI, 0, hi, hi, 24, &r));
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++)
            for (size_t j = off[row]; j < off[row + 1]; j++)
                rb.s[i][j] = r.s[i][row];
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &e, &rb, out, FI + 24 - f));
done:;
    mpct_share *all[] = {&cur, &z, &keep, &e, &sum, &r, &rb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

static mpct_status softmax_core(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                                const uint32_t *row_len, size_t per, mpct_share *out)
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
    mpct_share xm = {0}, y = {0};
    size_t *off = malloc((R + 1) * sizeof *off), *col = malloc(n * sizeof *col), lmax = 0;
    if (!off || !col) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "softmax: out of memory");
        goto done;
    }
    MPCT_CALL_GOTO(st, done, sm_layout(mask, row_len, per, R, C, rpm, off, col, &lmax));
    /* the kept entries, packed; the secret mask shifts its masked ones by
     * -SM_BIG: x + (m - 1) BIG, local */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&xm, off[R]));
    {
        const uint64_t big = mpc_nl_enc(SM_BIG, f);
        const int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
        const mpct_share *sm = mask ? mask->secret : NULL;
        for (size_t row = 0; row < R; row++)
            for (size_t k = off[row]; k < off[row + 1]; k++) {
                const size_t e = row * C + col[k], mo = (row / rpm) * C + col[k];
                for (int i = 0; i < 2; i++)
                    xm.s[i][k] = x->s[i][e] + (sm ? sm->s[i][mo] * big : 0);
                if (sm && slot >= 0)
                    xm.s[slot][k] -= big;
            }
    }
    MPCT_CALL_GOTO(st, done, sm_rows(ctx, &xm, R, off, lmax, &y));
    /* scatter: the publicly masked entries are 0 on every party (a valid
     * sharing of 0) */
    MPCT_CALL_GOTO(st, done, mpc_out_like(out, x->shape));
    for (int i = 0; i < 2; i++) {
        if (off[R] != n)
            memset(out->s[i], 0, n * 8);
        for (size_t row = 0; row < R; row++)
            for (size_t k = off[row]; k < off[row + 1]; k++)
                out->s[i][row * C + col[k]] = y.s[i][k];
    }
done:
    free(off);
    free(col);
    mpct_share_free(&xm);
    mpct_share_free(&y);
    return st;
}

mpct_status mpct_nl_softmax(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask, mpct_share *out)
{
    OP_ENTER(ctx, "nl_softmax");
    mpct_status st = softmax_core(ctx, x, mask, NULL, 0, out);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_nl_softmax_causal(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                                   const uint32_t *row_len, size_t len_period, mpct_share *out)
{
    OP_ENTER(ctx, "nl_softmax");
    mpct_status st = softmax_core(ctx, x, mask, row_len, len_period, out);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------- LayerNorm */

#define LN_FC 20  /* fractional bits of the public 1/H */
#define LN_FV 12  /* precision of the deviations used for the variance */
#define LN_FR 19  /* precision of 1/sigma: one correction step sums two truncations (2 ulp) */
#define LN_VAR_LO (-12) /* embedding LayerNorms see variances near 3e-3 */
#define LN_VAR_HI 11
/* RMSNorm: decoders' residual streams carry "massive activations" (SmolLM2:
 * entries near 2.5e4, row mean squares up to 1.1e6 = 2^20.1 from its 12th
 * layer on), so the mean square may reach 2^21; the sum of squares then
 * takes fewer fractional bits (rsqrt_core needs hi <= 41 - fv). */
#define RMS_MS_HI 21

/* LayerNorm (center 1) and RMSNorm (center 0, bias NULL): D = the centred
 * deviations (LayerNorm) or x itself (RMSNorm) at f bits; Dv = D at LN_FV
 * bits for the sum of squares; one fused stage gives sum(Dv^2) and D gain;
 * rsqrt of the row sum (+ eps H) with sqrt(H) folded into its scale; the
 * final product. RMSNorm has no centring, so its first truncation stage
 * carries one operand instead of two: same rounds, fewer bytes. */
static mpct_status norm_core(mpct_ctx_t *ctx, const char *fn, const mpct_share *x, const mpct_share *gain,
                             const mpct_share *bias, double eps, int center, mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = x->n;
    const size_t H = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!H || n % H || gain->n != H || (bias && bias->n != H))
        return mpct_error_set(MPCT_ERR_ARG, "%s: input of %zu elements, rows of %zu, gain %zu, bias %zu", fn, n, H,
                              gain->n, bias ? bias->n : H);
    const size_t R = n / H;
    mpct_status st = MPCT_OK;
    mpct_share D = {0}, Dv = {0}, gb = {0}, sq = {0}, dg = {0}, S2 = {0}, r = {0}, rb = {0};
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&D, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&gb, n));
    const uint64_t cH = mpc_nl_enc(1.0 / (double)H, LN_FC);
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *xr = x->s[i] + row * H;
            uint64_t s = 0;
            if (center)
                for (size_t j = 0; j < H; j++)
                    s += xr[j];
            for (size_t j = 0; j < H; j++) {
                /* H (x - mean) / H, scaled by (1+delta); RMSNorm: x */
                D.s[i][row * H + j] = center ? ((uint64_t)H * xr[j] - s) * cH : xr[j];
                gb.s[i][row * H + j] = gain->s[i][j];
            }
        }
    /* the sum of squares' range [2^lo, 2^hi) and its fractional bits fv */
    const int lo = (int)floor(log2((double)H) + LN_VAR_LO),
              hi = (int)ceil(log2((double)H) + (center ? LN_VAR_HI : RMS_MS_HI));
    int fv = LN_FV;
    if (!center) { /* RMSNorm: below LN_FV where the wide range needs it, and never above x's own f bits */
        fv = 41 - hi < fv ? 41 - hi : fv;
        fv = f < fv ? f : fv;
        if (fv < 6)
            MPCT_CALL_GOTO(st, done, mpct_error_set(MPCT_ERR_ARG, "%s: rows of %zu elements: the sum of squares "
                                                    "does not fit its fixed point (%d fractional bits)", fn, H, fv));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&D, &Dv));
    if (center) {
        mpct_share *O[2] = {&D, &Dv};
        int d[2] = {LN_FC, LN_FC + f - fv};
        MPCT_CALL_GOTO(st, done, mpc_nl_trunc_many(ctx, 2, O, d));
    } else if (f > fv) {
        mpct_share *O[1] = {&Dv};
        int d[1] = {f - fv};
        MPCT_CALL_GOTO(st, done, mpc_nl_trunc_many(ctx, 1, O, d));
    }
    {
        const mpct_share *A[2] = {&Dv, &D}, *B[2] = {&Dv, &gb};
        mpct_share *O[2] = {&sq, &dg};
        int d[2] = {fv, f};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, B, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&S2, R));
    mpct_share_row_sums(ctx, &sq, H, &S2);
    mpc_nl_add_pub(ctx, &S2, 0, R, mpc_nl_enc(eps * (double)H, fv));
    MPCT_CALL_GOTO(st, done, mpc_nl_rsqrt_core(ctx, &S2, fv, lo, hi, sqrt((double)H), LN_FR, &r));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&rb, n));
    mpct_share_bcast_rows(ctx, &r, H, &rb);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &dg, &rb, out, LN_FR));
    if (bias)
        for (int i = 0; i < 2; i++)
            for (size_t row = 0; row < R; row++) {
                const uint64_t *restrict bb = bias->s[i];
                uint64_t *restrict orow = out->s[i] + row * H;
                for (size_t j = 0; j < H; j++)
                    orow[j] += bb[j];
            }
    out->shape = x->shape;
done:;
    mpct_share *all[] = {&D, &Dv, &gb, &sq, &dg, &S2, &r, &rb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_layernorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain,
                              const mpct_share *bias, double eps, mpct_share *out)
{
    if (!bias)
        return mpct_error_set(MPCT_ERR_ARG, "layernorm: no bias (RMSNorm is mpct_nl_rmsnorm)");
    OP_ENTER(ctx, "nl_layernorm");
    mpct_status st = norm_core(ctx, "layernorm", x, gain, bias, eps, 1, out);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_nl_rmsnorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain, double eps,
                            mpct_share *out)
{
    OP_ENTER(ctx, "nl_rmsnorm");
    mpct_status st = norm_core(ctx, "rmsnorm", x, gain, NULL, eps, 0, out);
    OP_LEAVE(ctx);
    return st;
}
