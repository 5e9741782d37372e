/*
 * share_trunc.c — truncation of replicated shares by d bits (a
 * fixed-point rescale), exact by default, probabilistic on request, and
 * the exact protocol's generalisation used by fused products and by the
 * lift from Z_2^32 (mpc_trunc_exact).
 *
 * Costs per truncated element, per party, with w = ceil(d/8) bytes:
 *   exact (default)    3 rounds; P0 w bytes, P1 8 + w, P2 8 + w
 *                      (round 1: P1 8; round 2: P2 8 + w; round 3: P0 w,
 *                      P1 w)
 *   exact, additive    3 rounds; 8 + w bytes from each party (round 1: P0 8
 *     input (fused)    and P1 8; rounds 2 and 3 as above)
 *   probabilistic      1 round; P0 8 bytes, the others 0
 *   lift (L = 32)      3 rounds; P0 4 + 4 bytes, P1 4 + 4, P2 12
 * trunc_many / trunc_many_d batch k truncations into the same rounds;
 * items with d = 0 are copied, without messages.
 *
 * Invariants: the result is floor(x / 2^d) + e, e in {0, 1} ulp, for every
 * |x| < 2^62 with the exact protocol; see the comment above trunc_prob for
 * the probabilistic one's rare large error.
 */
#include "mpc-impl.h"

#include <string.h>

/* Probabilistic (ABY3 trunc1 / SecureML), 1 round: u = x0 + x1 (P0),
 * v = x2 (P1 and P2); u' = u >>a d, v' = -((-v) >>a d); y2 = v' (P1, P2),
 * y0 = r = F(k_0) (P0, P2), y1 = u' - r (P0 -> P1). Wrong by ~2^(64-d) with
 * probability ~2^(l_x+1-64).
 *
 * Exact (default), 3 rounds, after Dalskov-Escudero-Keller's truncation with
 * a known MSB: P0 and P1 draw r = F(k_1); x' = x + 2^62 (so x' in [0, 2^63)
 * for |x| < 2^62) is opened to P2 masked as c = x' + r (1 round, P1 sends 1
 * word). As integers x' = c - r + w 2^64 with the wrap bit
 * w = msb(r) (1 - msb(c)), so
 *   floor(x/2^d) = (c >> d) - (r >> d) + msb(r) (1 - msb(c)) 2^(64-d)
 *                  - 2^(62-d) - e,   e in {0, 1}.
 * P2 inputs A = (c >> d) - 2^(62-d) and b = msb(c) (1 round: a word and
 * ceil(d/8) bytes); B = r >> d and M = msb(r) 2^(64-d) are known to P0 and
 * P1, i.e. a sharing with only component 1 set, free; y = A - B + M - b M,
 * where b M needs one resharing round in which only P0 and P1 send
 * (ceil(d/8) bytes each: see mpc_trunc_exact). Bytes sent per element, with
 * w = ceil(d/8): P0 w, P1 8 + w, P2 8 + w. The
 * result is floor(x/2^d) + {0, 1} ulp for every |x| < 2^62: no large error.
 * P2 sees c, uniform; P0/P1 see only shares. */
static mpct_status trunc_prob(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d,
                              mpct_share *const *out)
{
    const int me = ctx->party;
    mpct_status st = MPCT_OK;
    mpc_round rd;
    mpc_round_begin(&rd, ctx);
    for (size_t i = 0; i < k && st == MPCT_OK; i++) {
        const size_t n = x[i]->n;
        uint64_t *o0 = out[i]->s[0], *o1 = out[i]->s[1]; /* may alias x[i]: each x word is read first */
        const uint64_t *x0 = x[i]->s[0], *x1 = x[i]->s[1];
        if (!d[i])
            continue;
        if (me == 0) { /* y0 = r, y1 = u' - r: sent to P1 */
            ctx->k->sar_sum(n, x0, x1, (unsigned)d[i], o1);
            st = mpct_ctx_rand_own(ctx, o0, n);
            if (st == MPCT_OK)
                ctx->k->sub(n, o1, o0, o1);
            mpc_round_send(&rd, MPC_NEXT, o1, n, 8);
        } else if (me == 1) { /* y1 from P0, y2 = v' */
            ctx->k->sar_neg(n, x1, (unsigned)d[i], o1);
            mpc_round_recv(&rd, MPC_PREV, o0, n, 8, 0);
        } else { /* y2 = v', y0 = r */
            ctx->k->sar_neg(n, x0, (unsigned)d[i], o0);
            st = mpct_ctx_rand_next(ctx, o1, n);
        }
    }
    if (st != MPCT_OK) {
        mpc_round_free(&rd);
        return st;
    }
    return mpc_round_exchange(&rd);
}

/* mpc_trunc_exact's items: over Z_2^64 a shift of 0 means "not this one";
 * the lift from Z_2^32 (L = 32) shifts by 0. */
static inline int skip_item(unsigned L, int d) { return L == 64 && d == 0; }

/* Round 1: opens c = v + r + 2^(L-2) mod 2^L to P2, into c[0, total) (c
 * has 2 total words; r is the P0-P1 mask, < 2^L). Replicated (x): P1 sends
 * x1 + r + 2^(L-2) and P2 adds x2 + x0, a reveal of x + r to P2.
 * Additive (x NULL, the term z in out[i]->s[0]): P0 sends z0 + rho, P1
 * z1 - rho + r + 2^(L-2) (rho from the P0-P1 stream, after r), P2 adds
 * z2. Words travel as their low L/8 bytes. */
static mpct_status open_to_p2(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                              mpct_share *const *out, unsigned L, const uint64_t *r, uint64_t *c)
{
    const int me = ctx->party;
    const uint64_t offL = (uint64_t)1 << (L - 2);
    uint64_t *rho = c + total;
    mpc_round rd;
    if (me != 2 && !x)
        MPCT_CALL(me == 0 ? mpct_ctx_rand_next(ctx, rho, total) : mpct_ctx_rand_own(ctx, rho, total));
    mpc_round_begin(&rd, ctx);
    if (me == 2) {
        mpc_round_recv(&rd, MPC_PREV, c, total, L / 8, 0); /* P1's term */
        if (!x)
            mpc_round_recv(&rd, MPC_NEXT, rho, total, L / 8, 0); /* P0's */
    } else if (me == 1 || !x) {
        for (size_t i = 0, off = 0; i < k; i++) {
            if (skip_item(L, d[i]))
                continue;
            const size_t ni = out[i]->n;
            const uint64_t *v = x ? x[i]->s[0] : out[i]->s[0];
            if (me == 0) /* z0 + rho */
                ctx->k->add3(ni, v, rho + off, NULL, 0, 0, ~(uint64_t)0, c + off);
            else /* x1 + r + 2^(L-2), or z1 - rho + r + 2^(L-2) */
                ctx->k->add3(ni, v, r + off, x ? NULL : rho + off, 1, offL, ~(uint64_t)0, c + off);
            off += ni;
        }
        mpc_round_send(&rd, me == 0 ? MPC_PREV : MPC_NEXT, c, total, L / 8);
    }
    MPCT_CALL(mpc_round_exchange(&rd));
    for (size_t i = 0, off = 0; me == 2 && i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        if (x) /* + x2 + x0 */
            ctx->k->add3(ni, c + off, x[i]->s[0], x[i]->s[1], 0, 0, mpc_low_mask(L), c + off);
        else /* + z0 + z2 */
            ctx->k->add3(ni, c + off, rho + off, out[i]->s[0], 0, 0, mpc_low_mask(L), c + off);
        off += ni;
    }
    return MPCT_OK;
}

/* Round 2: P2 inputs (mpc_input_draw / mpc_input_queue) A = (c >> d) -
 * 2^(L-2-d) into AB[0, total) and b = msb_L(c) into AB[total, 2 total).
 * Only b mod 2^(64-L+d) matters (it is used in b M alone, and M is a
 * multiple of 2^(L-d)): P2 sends it reduced so, as wb-byte words. */
static mpct_status input_ab(mpct_ctx_t *ctx, size_t k, const int *d, size_t total, mpct_share *const *out,
                            unsigned L, const uint64_t *c, unsigned wb, mpct_share *AB)
{
    mpc_round rd;
    MPCT_CALL(mpc_out_like(AB, mpct_shape_1d(2 * total)));
    MPCT_CALL(mpc_input_draw(ctx, 2, NULL, 0, AB, 0, 2 * total));
    for (size_t i = 0, off = 0; ctx->party == 2 && i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        ctx->k->trunc_split(ni, c + off, (unsigned)d[i], L, AB->s[1] + off, AB->s[1] + total + off, AB->s[0] + off,
                            AB->s[0] + total + off);
        off += ni;
    }
    mpc_round_begin(&rd, ctx);
    mpc_input_queue(&rd, 2, AB, 0, total, 8);
    mpc_input_queue(&rd, 2, AB, total, total, wb);
    return mpc_round_exchange(&rd);
}

/* Round 3 and the output y = A - B + M - b M. B = r >> d and M = msb(r)
 * 2^(L-d) are component-1 sharings known to P0 (slot 1) and P1 (slot 0),
 * computed on the fly. b is shared (b0, 0, b2) (P2's input), so b M = b0 M
 * (local to P0) + b2 M (local to P1), reshared with masks beta (P0, P1)
 * and alpha (P1, P2) as (t0 + beta, t1 + alpha - beta, -alpha): P0 sends
 * component 0 to P2, P1 sends component 1 to P0, P2 sends nothing. Every
 * term is a multiple of 2^(L-d) (the masks are drawn as such), so the
 * messages carry the top 64-L+d bits only, as wb-byte words, shifted back
 * on receipt into bm. u (total words) holds beta then t (P0, P1) or alpha
 * (P2); alpha is P1's c. */
static mpct_status reshare_bm(mpct_ctx_t *ctx, size_t k, const int *d, size_t total, mpct_share *const *out,
                              unsigned L, const uint64_t *r, const mpct_share *AB, unsigned wb, uint64_t *u,
                              uint64_t *c, uint64_t *bm)
{
    const int me = ctx->party;
    mpc_round rd;
    MPCT_CALL(me == 2 ? mpct_ctx_rand_own(ctx, u, total) : me == 0 ? mpct_ctx_rand_next(ctx, u, total)
                                                                    : mpct_ctx_rand_own(ctx, u, total));
    if (me == 1)
        MPCT_CALL(mpct_ctx_rand_next(ctx, c, total)); /* alpha */
    mpc_round_begin(&rd, ctx);
    for (size_t i = 0, off = 0; i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        const unsigned di = (unsigned)d[i], sh = L - di;
        const uint64_t *bb = AB->s[me == 1] + total + off, *rr = r + off, *a = AB->s[me == 1] + off;
        uint64_t *uu = u + off, *o0 = out[i]->s[0];
        if (me == 0) /* t = b0 M + beta; y's component 0: A0 - (b M)0 */
            ctx->k->trunc_bm(ni, L, di, bb, rr, uu, NULL, uu, a, o0);
        else if (me == 1) { /* t = b2 M + alpha - beta; components 1 = M - B - (b M)1 (A's is zero) and 2 */
            ctx->k->trunc_bm(ni, L, di, bb, rr, c + off, uu, uu, NULL, o0);
            ctx->k->shl_add(ni, a, c + off, sh, out[i]->s[1]); /* A2 - (b M)2, (b M)2 = -alpha */
        } else /* y's component 2: A2 - (b M)2, (b M)2 = -alpha */
            ctx->k->shl_add(ni, a, uu, sh, o0);
        if (me != 1) /* P0: component 1 from P1; P2: component 0 from P0 */
            mpc_round_recv(&rd, MPC_NEXT, bm + off, ni, wb, sh);
        off += ni;
    }
    if (me != 2)
        mpc_round_send(&rd, MPC_PREV, u, total, wb);
    MPCT_CALL(mpc_round_exchange(&rd));
    /* slot 1 on P0 and P2, from the (b M) component just received */
    for (size_t i = 0, off = 0; me != 1 && i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        if (me == 0) /* A's component 1 is zero */
            ctx->k->trunc_mb(ni, L, (unsigned)d[i], r + off, bm + off, out[i]->s[1]);
        else
            ctx->k->sub(ni, AB->s[1] + off, bm + off, out[i]->s[1]);
        off += ni;
    }
    return MPCT_OK;
}

/* Exact truncation of k items of out[i]->n elements by d[i] bits (items
 * with d[i] = 0 are skipped; total = sum of the others) into out[i], which
 * is allocated. The input is either replicated (x != NULL, shaped like
 * out) or, fused with a product, this party's additive term of a
 * 3-out-of-3 sharing, held in out[i]->s[0] on entry (x == NULL; read in
 * round 1, before any output is written). Three steps: open c = v + r +
 * 2^62 to P2 (open_to_p2; the additive form needs no resharing round of
 * its own), P2 inputs A and b (input_ab), the resharing of b M and the
 * output (reshare_bm).
 *
 * L = 64 above. L = 32, with shift 0 only, lifts a sharing of v mod 2^32
 * (|v| < 2^30; a product computed with 32-bit GEMMs) to Z_2^64, exactly:
 * the same identities with 2^32 for 2^64 (round 1 opens c = v + r + 2^30
 * mod 2^32 in 4-byte words; v = c - r + msb_32(r) (1 - msb_32(c)) 2^32 -
 * 2^30; M = msb_32(r) 2^32, and b M's 32 significant bits travel in round
 * 3). Its items (shift 0) are not skipped. */
mpct_status mpc_trunc_exact(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                            mpct_share *const *out, unsigned L)
{
    const int me = ctx->party;
    unsigned dmax = 0;
    for (size_t i = 0; i < k; i++) {
        if (L != 64 && (L != 32 || d[i] != 0)) /* the lift only: wider b M words would not fit */
            return mpct_error_set(MPCT_ERR_ARG, "trunc: a %u-bit opening serves the lift only (shift 0), got %d",
                                  L, d[i]);
        dmax = (unsigned)d[i] > dmax ? (unsigned)d[i] : dmax;
    }
    const unsigned wb = (64 - L + dmax + 7) / 8; /* b M's significant bytes */
    mpct_status st = MPCT_OK;
    uint64_t *r = mpc_tmp(total), *c = mpc_tmp(2 * total), *u = mpc_tmp(total);
    uint64_t *bm = me == 1 ? NULL : mpc_tmp(total);
    mpct_share AB = {0};
    if (!r || !c || !u || (me != 1 && !bm)) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "trunc: out of memory");
        goto done;
    }
    if (me != 2) /* the mask r < 2^L, known to P0 and P1 */
        MPCT_CALL_GOTO(st, done, me == 0 ? mpct_ctx_rand_next(ctx, r, total) : mpct_ctx_rand_own(ctx, r, total));
    if (me != 2 && L < 64)
        ctx->k->add3(total, r, NULL, NULL, 0, 0, mpc_low_mask(L), r);
    MPCT_CALL_GOTO(st, done, open_to_p2(ctx, k, x, d, total, out, L, r, c));
    MPCT_CALL_GOTO(st, done, input_ab(ctx, k, d, total, out, L, c, wb, &AB));
    MPCT_CALL_GOTO(st, done, reshare_bm(ctx, k, d, total, out, L, r, &AB, wb, u, c, bm));
done:
    mpc_tmp_free(r);
    mpc_tmp_free(c);
    mpc_tmp_free(u);
    mpc_tmp_free(bm);
    mpct_share_free(&AB);
    return st;
}

mpct_status mpct_share_trunc_many_d(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d,
                                    mpct_share *const *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++) {
        if (d[i] < 0 || d[i] > 62)
            return mpct_error_set(MPCT_ERR_ARG, "trunc: shift %d outside [0, 62]", d[i]);
        MPCT_CALL(mpc_out_like(out[i], x[i]->shape));
        if (out[i] != x[i] && !d[i])
            MPCT_CALL(mpct_share_copy(x[i], out[i]));
        if (d[i])
            total += x[i]->n;
    }
    if (!total)
        return MPCT_OK;
    OP_ENTER(ctx, "trunc");
    mpct_status st = ctx->trunc_prob ? trunc_prob(ctx, k, x, d, out) : mpc_trunc_exact(ctx, k, x, d, total, out, 64);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_trunc_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, int d,
                                  mpct_share *const *out)
{
    if (d < 0 || d > 62)
        return mpct_error_set(MPCT_ERR_ARG, "trunc: shift %d outside [0, 62]", d);
    int dd[64];
    for (size_t i = 0; i < k; i += 64) {
        size_t c = k - i < 64 ? k - i : 64;
        for (size_t j = 0; j < c; j++)
            dd[j] = d;
        MPCT_CALL(mpct_share_trunc_many_d(ctx, c, x + i, dd, out + i));
    }
    return MPCT_OK;
}

mpct_status mpct_share_trunc(mpct_ctx_t *ctx, const mpct_share *x, int d, mpct_share *out)
{
    return mpct_share_trunc_many(ctx, 1, &x, d, &out);
}
