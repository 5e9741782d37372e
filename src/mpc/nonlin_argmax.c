/*
 * nonlin_argmax.c — secure argmax over the last axis (the LM head's
 * vocabulary): a tournament tree carrying (value, index) shares, and
 * optionally the winner's one-hot.
 *
 * Stage s pairs neighbours (2k, 2k+1) of every row, an odd last element
 * passing through: c = [a < b] by one exact comparison call over all rows
 * and pairs (mpct_share_ltz_w), then one round of products c (a - b) and
 * c (ia - ib) select the larger value and its index (the first stage's
 * indices are public, so its index is local). The candidates of a stage are
 * always in increasing index order and a tie keeps the left one, so ties go
 * to the lowest index, as torch.argmax. The one-hot walks the tree back
 * down: the root's weight is 1; a pair's children get w (1 - c) and w c,
 * one round of products per stage (the top one local).
 *
 * Costs per row of V (D = ceil(log2 V) stages; width 32 when
 * |x| < 2^(range_bits) with range_bits + f <= 29, else 64):
 *   index     D (ltz_w + 1) rounds: 10 D at width 32 (11 D at 64); per
 *             pair compared about 2 words (width 32) for the comparison and
 *             2 words for the two products: ~4 V words in all
 *   one-hot   D - 1 more rounds, 1 word per pair
 * (measured in NONLINEAR.md for V = 49152 and 50257).
 *
 * Invariants: comparisons are exact (no window) on the ring values, so the
 * result is the argmax of the fixed-point inputs themselves; values stay
 * what they were (selected, never truncated); the comparison bits of every
 * stage are kept until the one-hot is built, then wiped with the shares.
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <string.h>

#define AM_MAX_DEPTH 40

static mpct_status am_stage(mpct_ctx_t *ctx, size_t R, size_t w, unsigned width, int first, mpct_share *val,
                            mpct_share *idx, mpct_share *c)
{
    const size_t h = w / 2, odd = w & 1, w2 = h + odd;
    mpct_status st = MPCT_OK;
    mpct_share d = {0}, di = {0}, cd = {0}, cdi = {0}, nv = {0}, ni = {0};
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&d, R * h));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&di, R * h));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0; r < R; r++)
            for (size_t k = 0; k < h; k++) {
                d.s[i][r * h + k] = val->s[i][r * w + 2 * k] - val->s[i][r * w + 2 * k + 1];
                if (!first)
                    di.s[i][r * h + k] = idx->s[i][r * w + 2 * k] - idx->s[i][r * w + 2 * k + 1];
            }
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_w(ctx, &d, width, c)); /* c = [a < b] */
    if (first) {
        MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, c, &d, &cd));
    } else {
        const mpct_share *A[2] = {c, c}, *B[2] = {&d, &di};
        mpct_share *O[2] = {&cd, &cdi};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_many(ctx, 2, A, B, O));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&nv, R * w2));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&ni, R * w2));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0; r < R; r++) {
            for (size_t k = 0; k < h; k++) {
                nv.s[i][r * w2 + k] = val->s[i][r * w + 2 * k] - cd.s[i][r * h + k];
                ni.s[i][r * w2 + k] = first ? c->s[i][r * h + k] /* 2k + c below */
                                            : idx->s[i][r * w + 2 * k] - cdi.s[i][r * h + k];
            }
            if (odd) {
                nv.s[i][r * w2 + h] = val->s[i][r * w + w - 1];
                ni.s[i][r * w2 + h] = first ? 0 : idx->s[i][r * w + w - 1];
            }
        }
    if (first)
        for (size_t r = 0; r < R; r++) {
            for (size_t k = 0; k < h; k++)
                mpc_nl_add_pub(ctx, &ni, r * w2 + k, 1, 2 * k);
            if (odd)
                mpc_nl_add_pub(ctx, &ni, r * w2 + h, 1, w - 1);
        }
    mpct_share_free(val);
    mpct_share_free(idx);
    *val = nv;
    *idx = ni;
    nv = ni = (mpct_share){0};
done:;
    mpct_share *all[] = {&d, &di, &cd, &cdi, &nv, &ni};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

/* The one-hot from the stages' bits c[0..D): weights down the tree. */
static mpct_status am_onehot(mpct_ctx_t *ctx, size_t R, const size_t *wid, int D, mpct_share *c, mpct_share *oh)
{
    mpct_status st = MPCT_OK;
    mpct_share W = {0}, wc = {0}, nw = {0};
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&W, R));
    mpc_nl_add_pub(ctx, &W, 0, R, 1); /* the root: weight 1 */
    for (int s = D - 1; s >= 0; s--) {
        const size_t w = wid[s], h = w / 2, odd = w & 1, w2 = h + odd;
        mpct_share Wp = {0}; /* the pairs' parent weights */
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&Wp, R * h));
        for (int i = 0; i < 2; i++)
            for (size_t r = 0; r < R; r++)
                memcpy(Wp.s[i] + r * h, W.s[i] + r * w2, h * 8);
        if (s == D - 1) /* W = 1 public: w c = c */
            st = mpct_share_copy(&c[s], &wc);
        else
            st = mpct_share_mul(ctx, &Wp, &c[s], &wc);
        mpct_share_free(&Wp);
        MPCT_CALL_GOTO(st, done, st);
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&nw, R * w));
        for (int i = 0; i < 2; i++)
            for (size_t r = 0; r < R; r++) {
                for (size_t k = 0; k < h; k++) {
                    const uint64_t p = W.s[i][r * w2 + k], q = wc.s[i][r * h + k];
                    nw.s[i][r * w + 2 * k] = p - q;
                    nw.s[i][r * w + 2 * k + 1] = q;
                }
                if (odd)
                    nw.s[i][r * w + w - 1] = W.s[i][r * w2 + h];
            }
        mpct_share_free(&W);
        mpct_share_free(&wc);
        W = nw;
        nw = (mpct_share){0};
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&W, oh));
done:
    mpct_share_free(&W);
    mpct_share_free(&wc);
    mpct_share_free(&nw);
    return st;
}

static mpct_status argmax_core(mpct_ctx_t *ctx, const mpct_share *x, int range_bits, mpct_share *idx,
                               mpct_share *onehot)
{
    const size_t n = x->n;
    const size_t V = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!V || n % V)
        return mpct_error_set(MPCT_ERR_ARG, "argmax: %zu elements are not rows of %zu", n, V);
    if (range_bits < 0 || range_bits > 62)
        return mpct_error_set(MPCT_ERR_ARG, "argmax: range_bits %d outside [0, 62]", range_bits);
    const size_t R = n / V;
    const unsigned width = range_bits && range_bits + ctx->frac_bits <= 29 ? 32 : 64;
    size_t wid[AM_MAX_DEPTH];
    mpct_share c[AM_MAX_DEPTH], val = {0}, ix = {0};
    memset(c, 0, sizeof c);
    int D = 0;
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &val));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&ix, n)); /* V = 1: index 0 */
    for (size_t w = V; w > 1; w = w / 2 + (w & 1), D++) {
        wid[D] = w;
        MPCT_CALL_GOTO(st, done, am_stage(ctx, R, w, width, D == 0, &val, &ix, &c[D]));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&ix, idx));
    idx->shape = mpct_shape_1d(R);
    if (onehot) {
        if (D == 0) {
            MPCT_CALL_GOTO(st, done, mpc_nl_new(onehot, n));
            mpc_nl_add_pub(ctx, onehot, 0, n, 1);
        } else {
            MPCT_CALL_GOTO(st, done, am_onehot(ctx, R, wid, D, c, onehot));
        }
        onehot->shape = x->shape;
    }
done:
    for (int s = 0; s < AM_MAX_DEPTH; s++)
        mpct_share_free(&c[s]);
    mpct_share_free(&val);
    mpct_share_free(&ix);
    return st;
}

mpct_status mpct_nl_argmax(mpct_ctx_t *ctx, const mpct_share *x, int range_bits, mpct_share *idx, mpct_share *onehot)
{
    OP_ENTER(ctx, "nl_argmax");
    mpct_status st = argmax_core(ctx, x, range_bits, idx, onehot);
    OP_LEAVE(ctx);
    return st;
}
