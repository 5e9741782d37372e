/*
 * nonlin_tour.c — one 4-ary level of a secure tournament over ragged rows
 * (mpc_nl_tour4): softmax's row max (nonlin_norm.c, windowed comparisons)
 * and argmax (nonlin_argmax.c, exact comparisons, the index carried along).
 *
 * A group of four (a, b, c, d) plays its two semi-finals and its final in
 * ONE comparison call over all six pairs (c_xy = [x < y]) and two product
 * rounds: round 1 the semi-final selections (1 - c_ab) x_a, c_ab x_b,
 * (1 - c_cd) x_c, c_cd x_d of every carried channel and the muxes
 * c_cd (c_ad - c_ac), c_cd (c_bd - c_bc), c_ab (c_bc - c_ac), c_ab (c_bd - c_ad)
 * that give each member's "beats the other pair's winner" bit M; round 2
 * the dot products sum_t sel_t M_t (and, on request, the weights
 * sel_t M_t / x_t themselves). 2 + comparison rounds for two binary levels.
 *
 * Invariants: the weights are those of the two-level tree whatever the
 * bits say, so exactly one member wins even where windowed comparisons
 * contradict each other (each match then errs by less than 2^lo); with
 * exact comparisons ties keep the left (lower) member, as a binary tree
 * with c = [a < b] does. A row's last group may have 1..3 members: the
 * missing ones carry 0 and their comparisons are the public 0, so they
 * never win and their weights are exactly 0. Bits are integer 0/1 shares:
 * every product is exact (no truncation).
 */
#include "mpc-impl.h"

#include <string.h>

static const int T_PA[6] = {0, 2, 0, 0, 1, 1}, T_PB[6] = {1, 3, 2, 3, 2, 3};
enum { T_AB, T_CD, T_AC, T_AD, T_BC, T_BD };

static size_t t_members(size_t w, size_t g) { return w - 4 * g < 4 ? w - 4 * g : 4; }

/* The six comparison bits of every group, Bt[q G + gi] (0 for pairs with a
 * missing member), from one comparison call on channel 0. */
static mpct_status t_bits(mpct_ctx_t *ctx, size_t R, const size_t *w, size_t G, unsigned width, unsigned lo,
                          const mpct_share *x, mpct_share *Bt)
{
    mpct_status st = MPCT_OK;
    mpct_share d = {0}, c = {0};
    size_t P = 0;
    for (size_t r = 0; r < R; r++)
        for (size_t g = 0; g < (w[r] + 3) / 4; g++)
            for (int q = 0; q < 6; q++)
                P += (size_t)T_PB[q] < t_members(w[r], g);
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&d, P));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, pc = 0, p = 0; r < R; pc += w[r], r++)
            for (size_t g = 0; g < (w[r] + 3) / 4; g++)
                for (int q = 0; q < 6; q++)
                    if ((size_t)T_PB[q] < t_members(w[r], g))
                        d.s[i][p++] = x->s[i][pc + 4 * g + T_PA[q]] - x->s[i][pc + 4 * g + T_PB[q]];
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &d, width, lo, &c));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(Bt, 6 * G));
    for (int i = 0; i < 2; i++)
        for (size_t r = 0, gi = 0, p = 0; r < R; r++)
            for (size_t g = 0; g < (w[r] + 3) / 4; g++, gi++)
                for (int q = 0; q < 6; q++)
                    if ((size_t)T_PB[q] < t_members(w[r], g))
                        Bt->s[i][q * G + gi] = c.s[i][p++];
done:
    mpct_share_free(&d);
    mpct_share_free(&c);
    return st;
}

/* Round 2: out[j][g] = sum_t U[j 4G + t G + g] M[t G + g] for every channel
 * (cross terms summed locally) and wt = L4 M elementwise, one resharing. */
static mpct_status t_round2(mpct_ctx_t *ctx, size_t nch, size_t G, const mpct_share *U, const mpct_share *L,
                            const mpct_share *M, mpct_share *const *out, mpct_share *wt)
{
    mpct_share *all[8];
    size_t k = 0;
    uint64_t *t = mpc_tmp(4 * G);
    if (!t)
        return mpct_error_set(MPCT_ERR_NOMEM, "tournament: out of memory");
    mpct_status st = MPCT_OK;
    for (size_t j = 0; j < nch && st == MPCT_OK; j++) {
        st = mpc_nl_out(out[j], G);
        if (st == MPCT_OK)
            st = mpct_ctx_zero_share(ctx, out[j]->s[0], G);
        for (size_t q = 0; q < 4 && st == MPCT_OK; q++) {
            const size_t o = 4 * G * j + q * G;
            ctx->k->mul_cross(G, U->s[0] + o, U->s[1] + o, M->s[0] + q * G, M->s[1] + q * G, out[j]->s[0], t);
            memcpy(out[j]->s[0], t, G * 8);
        }
        all[k++] = out[j];
    }
    if (wt && st == MPCT_OK) {
        st = mpc_nl_out(wt, 4 * G);
        if (st == MPCT_OK)
            st = mpct_ctx_zero_share(ctx, t, 4 * G);
        if (st == MPCT_OK)
            ctx->k->mul_cross(4 * G, L->s[0], L->s[1], M->s[0], M->s[1], t, wt->s[0]);
        all[k++] = wt;
    }
    mpc_tmp_free(t);
    MPCT_CALL(st);
    return mpc_reshare_many(ctx, k, all);
}

mpct_status mpc_nl_tour4(mpct_ctx_t *ctx, size_t R, size_t *w, unsigned width, unsigned lo, size_t nch,
                         mpct_share *const *ch, mpct_share *wt)
{
    if (nch < 1 || nch > 4)
        return mpct_error_set(MPCT_ERR_ARG, "tournament: %zu channels", nch);
    mpct_status st = MPCT_OK;
    mpct_share Bt = {0}, L = {0}, Rt = {0}, U = {0}, M = {0}, nxt[4];
    memset(nxt, 0, sizeof nxt);
    mpct_share *onx[4] = {&nxt[0], &nxt[1], &nxt[2], &nxt[3]};
    size_t G = 0;
    for (size_t r = 0; r < R; r++)
        G += (w[r] + 3) / 4;
    const size_t NL = 4 * nch + 4; /* blocks of G in round 1 */
    MPCT_CALL_GOTO(st, done, t_bits(ctx, R, w, G, width, lo, ch[0], &Bt));
    /* round 1: L = [1-ab, ab, 1-cd, cd] per channel, then [cd, cd, ab, ab];
     * Rt = the channels' members, then [ad-ac, bd-bc, bc-ac, bd-ad] */
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&L, NL * G));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&Rt, NL * G));
    for (int i = 0; i < 2; i++) {
        const uint64_t *b = Bt.s[i];
        uint64_t *l = L.s[i], *rt = Rt.s[i];
        for (size_t j = 0; j <= nch; j++)
            for (size_t g = 0; g < G; g++) {
                uint64_t *lj = l + 4 * G * j;
                if (j < nch) {
                    lj[g] = 0 - b[T_AB * G + g], lj[G + g] = b[T_AB * G + g];
                    lj[2 * G + g] = 0 - b[T_CD * G + g], lj[3 * G + g] = b[T_CD * G + g];
                } else {
                    lj[g] = lj[G + g] = b[T_CD * G + g];
                    lj[2 * G + g] = lj[3 * G + g] = b[T_AB * G + g];
                }
            }
        uint64_t *mx = rt + 4 * G * nch;
        for (size_t g = 0; g < G; g++) {
            mx[g] = b[T_AD * G + g] - b[T_AC * G + g];
            mx[G + g] = b[T_BD * G + g] - b[T_BC * G + g];
            mx[2 * G + g] = b[T_BC * G + g] - b[T_AC * G + g];
            mx[3 * G + g] = b[T_BD * G + g] - b[T_AD * G + g];
        }
        for (size_t j = 0; j < nch; j++)
            for (size_t r = 0, pc = 0, gi = 0; r < R; pc += w[r], r++)
                for (size_t g = 0; g < (w[r] + 3) / 4; g++, gi++)
                    for (size_t t = 0; t < t_members(w[r], g); t++)
                        rt[4 * G * j + t * G + gi] = ch[j]->s[i][pc + 4 * g + t];
    }
    for (size_t j = 0; j < nch; j++) {
        mpc_nl_add_pub(ctx, &L, 4 * G * j, G, 1);
        mpc_nl_add_pub(ctx, &L, 4 * G * j + 2 * G, G, 1);
    }
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &L, &Rt, &U));
    /* M = [1 - ac - u_a, 1 - bc - u_b, ac + u_c, ad + u_d] */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&M, 4 * G));
    for (int i = 0; i < 2; i++) {
        const uint64_t *b = Bt.s[i], *u = U.s[i] + 4 * G * nch;
        uint64_t *m = M.s[i];
        for (size_t g = 0; g < G; g++) {
            m[g] = 0 - b[T_AC * G + g] - u[g];
            m[G + g] = 0 - b[T_BC * G + g] - u[G + g];
            m[2 * G + g] = b[T_AC * G + g] + u[2 * G + g];
            m[3 * G + g] = b[T_AD * G + g] + u[3 * G + g];
        }
    }
    mpc_nl_add_pub(ctx, &M, 0, 2 * G, 1);
    MPCT_CALL_GOTO(st, done, t_round2(ctx, nch, G, &U, &L, &M, onx, wt));
    for (size_t j = 0; j < nch; j++) {
        mpct_share_free(ch[j]);
        *ch[j] = nxt[j];
        nxt[j] = (mpct_share){0};
    }
    for (size_t r = 0; r < R; r++)
        w[r] = (w[r] + 3) / 4;
done:
    mpct_share_free(&Bt);
    mpct_share_free(&L);
    mpct_share_free(&Rt);
    mpct_share_free(&U);
    mpct_share_free(&M);
    for (int j = 0; j < 4; j++)
        mpct_share_free(&nxt[j]);
    return st;
}
