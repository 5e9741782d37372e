/*
 * nonlin_argmax.c — secure argmax over the last axis (the LM head's
 * vocabulary): a 4-ary tournament carrying (value, index) shares, and
 * optionally the winner's one-hot.
 *
 * Level s groups neighbours (4k .. 4k+3) of every row, a row's last group
 * having 1..3 members: mpc_nl_tour4 (nonlin_tour.c) compares all six pairs
 * of every group in one exact comparison call (mpct_share_ltz_win with
 * lo = 0: ltz_w) and selects the winner's value and index in two product
 * rounds. The members of a group are in increasing index order and every
 * match keeps the left one on a tie, so ties go to the lowest index, as
 * torch.argmax. The one-hot walks the tree back down: the root's weight is
 * 1; a group's members get the parent's weight times their 0/1 weight
 * from the level, one round of products per level (the top one local).
 *
 * Costs per row of V (D = ceil(log4 V) levels; width 32 when
 * |x| < 2^(range_bits) with range_bits + f <= 29, else 64):
 *   index     D (ltz_w + 2) rounds: 11 D at width 32 (12 D at 64); per
 *             group of four six comparisons (about 2 words each at width
 *             32) and 13 product words: ~6.5 V words in all
 *   one-hot   D - 1 more rounds, 1 word per element, plus the weights' 4
 *             words per group on every level
 * (measured in NONLINEAR.md for V = 49152 and 50257).
 *
 * Invariants: comparisons are exact (no window) on the ring values, so the
 * result is the argmax of the fixed-point inputs themselves; values stay
 * what they were (selected, never truncated); the levels' weights are kept
 * until the one-hot is built, then wiped with the shares.
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <stdlib.h>
#include <string.h>

#define AM_MAX_DEPTH 32

/* The one-hot from the levels' weights wt[0..D) (level s had rows of
 * wid[s] elements): weights down the tree. */
static mpct_status am_onehot(mpct_ctx_t *ctx, size_t R, const size_t *wid, int D, const mpct_share *wt,
                             mpct_share *oh)
{
    mpct_status st = MPCT_OK;
    mpct_share W = {0}, Wp = {0}, C = {0}, nw = {0};
    for (int s = D - 1; s >= 0; s--) {
        const size_t w = wid[s], gr = (w + 3) / 4, G = R * gr;
        if (s == D - 1) { /* the root's weight is 1: the children's are the level's */
            MPCT_CALL_GOTO(st, done, mpct_share_copy(&wt[s], &C));
        } else { /* group gi's parent is element gi of the level above */
            MPCT_CALL_GOTO(st, done, mpc_nl_out(&Wp, 4 * G));
            for (int i = 0; i < 2; i++)
                for (size_t t = 0; t < 4; t++)
                    memcpy(Wp.s[i] + t * G, W.s[i], G * 8);
            MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &Wp, &wt[s], &C));
            mpct_share_free(&Wp);
        }
        MPCT_CALL_GOTO(st, done, mpc_nl_out(&nw, R * w));
        for (int i = 0; i < 2; i++)
            for (size_t r = 0; r < R; r++)
                for (size_t e = 0; e < w; e++)
                    nw.s[i][r * w + e] = C.s[i][(e % 4) * G + r * gr + e / 4];
        mpct_share_free(&C);
        mpct_share_free(&W);
        W = nw;
        nw = (mpct_share){0};
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&W, oh));
done:
    mpct_share *all[] = {&W, &Wp, &C, &nw};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
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
    size_t wid[AM_MAX_DEPTH], *w = malloc(R * sizeof *w);
    mpct_share wt[AM_MAX_DEPTH], val = {0}, ix = {0};
    memset(wt, 0, sizeof wt);
    int D = 0;
    mpct_status st = MPCT_OK;
    if (!w)
        return mpct_error_set(MPCT_ERR_NOMEM, "argmax: out of memory");
    for (size_t r = 0; r < R; r++)
        w[r] = V;
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &val));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&ix, n)); /* the column of every element: public */
    for (size_t r = 0; r < R; r++)
        for (size_t j = 1; j < V; j++)
            mpc_nl_add_pub(ctx, &ix, r * V + j, 1, j);
    for (size_t v = V; v > 1; v = (v + 3) / 4, D++) {
        mpct_share *ch[2] = {&val, &ix};
        wid[D] = v;
        MPCT_CALL_GOTO(st, done, mpc_nl_tour4(ctx, R, w, width, 0, 2, ch, onehot ? &wt[D] : NULL));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&ix, idx));
    idx->shape = mpct_shape_1d(R);
    if (onehot) {
        if (D == 0) {
            MPCT_CALL_GOTO(st, done, mpc_nl_new(onehot, n));
            mpc_nl_add_pub(ctx, onehot, 0, n, 1);
        } else {
            MPCT_CALL_GOTO(st, done, am_onehot(ctx, R, wid, D, wt, onehot));
        }
        onehot->shape = x->shape;
    }
done:
    free(w);
    for (int s = 0; s < AM_MAX_DEPTH; s++)
        mpct_share_free(&wt[s]);
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
