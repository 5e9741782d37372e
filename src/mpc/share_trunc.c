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
static inline uint64_t shr_pos(uint64_t u, int d) { return (uint64_t)((int64_t)u >> d); }
static inline uint64_t shr_neg(uint64_t v, int d) { return 0 - (uint64_t)((int64_t)(0 - v) >> d); }

static mpct_status trunc_prob(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                              mpct_share *const *out)
{
    mpct_status st = MPCT_OK;
    uint64_t *buf = mpc_tmp(total);
    if (!buf)
        return mpct_error_set(MPCT_ERR_NOMEM, "trunc: out of memory");
    const int me = ctx->party;
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        const size_t n = x[i]->n;
        if (!d[i])
            continue;
        if (me == 0) {
            for (size_t j = 0; j < n; j++)
                buf[off + j] = shr_pos(x[i]->s[0][j] + x[i]->s[1][j], d[i]);
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, out[i]->s[0], n));
            for (size_t j = 0; j < n; j++) {
                buf[off + j] -= out[i]->s[0][j];
                out[i]->s[1][j] = buf[off + j];
            }
        } else if (me == 1) {
            for (size_t j = 0; j < n; j++)
                out[i]->s[1][j] = shr_neg(x[i]->s[1][j], d[i]);
        } else {
            for (size_t j = 0; j < n; j++)
                out[i]->s[0][j] = shr_neg(x[i]->s[0][j], d[i]);
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, out[i]->s[1], n));
        }
        off += n;
    }
    mpct_net_msg m = {0};
    if (me == 0) {
        m.to_next = buf;
        m.to_next_bytes = total * 8;
    } else if (me == 1) {
        m.from_prev = buf;
        m.from_prev_bytes = total * 8;
    }
    MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m));
    if (me == 1) {
        off = 0;
        for (size_t i = 0; i < k; i++) {
            if (!d[i])
                continue;
            memcpy(out[i]->s[0], buf + off, x[i]->n * 8);
            off += x[i]->n;
        }
    }
done:
    mpc_tmp_free(buf);
    return st;
}

/* The exact truncation's M - B from its mask r < 2^L: msb(r) 2^(L-d) - (r >> d). */
static inline uint64_t m_minus_b(uint64_t r, unsigned d, unsigned L)
{
    return ((r >> (L - 1)) << (L - d)) - (r >> d);
}
/* mpc_trunc_exact's items: over Z_2^64 a shift of 0 means "not this one";
 * the lift from Z_2^32 (L = 32) shifts by 0. */
static inline int skip_item(unsigned L, int d) { return L == 64 && d == 0; }

/* Exact truncation of k items of out[i]->n elements by d[i] bits (items
 * with d[i] = 0 are skipped; total = sum of the others) into out[i], which
 * is allocated. The input is either replicated (x != NULL, shaped like
 * out) or, fused with a product, this party's additive term of a
 * 3-out-of-3 sharing, held in out[i]->s[0] on entry (x == NULL; read in
 * round 1, before any output is written). Round 1 opens c = v + r +
 * 2^62 to P2:
 *   replicated: P1 sends x1 + r + 2^62 (1 word);
 *   additive:   P0 sends z0 + rho, P1 sends z1 - rho + r + 2^62 (rho and r
 *               from the P0-P1 stream; each message is masked by a fresh
 *               value P2 does not know, their sum by r), so a product needs
 *               no resharing round of its own.
 * Rounds 2 and 3 are the same for both.
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
    /* loops run to a local ni = out[i]->n: n is a size_t and the stores are
     * uint64_t, which may alias it, so a bound read through out[i] would be
     * reloaded every iteration and keep the loop scalar */
    const int me = ctx->party;
    for (size_t i = 0; L != 64 && i < k; i++)
        if (L != 32 || d[i] != 0) /* the only other use: the lift (wider b M words would not fit buf) */
            return mpct_error_set(MPCT_ERR_ARG, "trunc: a %u-bit opening serves the lift only (shift 0), got %d",
                                  L, d[i]);
    const uint64_t offL = (uint64_t)1 << (L - 2), lmask = mpc_low_mask(L);
    const unsigned wb1 = L / 8; /* bytes of an opening word */
    mpct_status st = MPCT_OK;
    uint64_t *r = mpc_tmp(total), *buf = mpc_tmp(2 * total);
    /* round 1's wire bytes when an opening word is narrower than 8 bytes */
    uint8_t *m1b = L < 64 ? (uint8_t *)mpc_tmp(total) : NULL;
    mpct_share AB = {0};
    /* round 3: u holds beta, then t (P0, P1), or alpha (P2); bm the (b M)
     * component received (P0, P2) */
    uint64_t *u = NULL, *bm = NULL;
    if (!r || !buf || (L < 64 && !m1b)) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "trunc: out of memory");
        goto done;
    }
    /* round 1: open c = v + r + 2^(L-2) mod 2^L to P2 (into buf[0, total)) */
    if (me == 0)
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, r, total));
    else if (me == 1)
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, r, total));
    if (me != 2 && L < 64)
        for (size_t j = 0; j < total; j++)
            r[j] &= lmask;
    mpct_net_msg m1 = {0};
    size_t off = 0;
    if (x) {
        if (me == 1) {
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                for (size_t j = 0; j < ni; j++)
                    buf[off + j] = x[i]->s[0][j] + r[off + j] + offL;
                off += ni;
            }
            m1.to_next = mpc_wire(buf, total, wb1, m1b);
            m1.to_next_bytes = total * wb1;
        } else if (me == 2) {
            m1.from_prev = L < 64 ? (void *)m1b : (void *)buf;
            m1.from_prev_bytes = total * wb1;
        }
    } else {
        if (me != 2) { /* rho after r, in the same order on P0 and P1 */
            uint64_t *rho = buf + total;
            MPCT_CALL_GOTO(st, done, me == 0 ? mpct_ctx_rand_next(ctx, rho, total) : mpct_ctx_rand_own(ctx, rho, total));
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                for (size_t j = 0; j < ni; j++)
                    buf[off + j] = me == 0 ? out[i]->s[0][j] + rho[off + j] : out[i]->s[0][j] - rho[off + j] + r[off + j] + offL;
                off += ni;
            }
        }
        if (me == 0) {
            m1.to_prev = mpc_wire(buf, total, wb1, m1b);
            m1.to_prev_bytes = total * wb1;
        } else if (me == 1) {
            m1.to_next = mpc_wire(buf, total, wb1, m1b);
            m1.to_next_bytes = total * wb1;
        } else {
            m1.from_next = L < 64 ? (void *)m1b : (void *)buf;
            m1.from_next_bytes = total * wb1;
            m1.from_prev = L < 64 ? (void *)(m1b + total * wb1) : (void *)(buf + total);
            m1.from_prev_bytes = total * wb1;
        }
    }
    MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m1));
    if (me == 2 && L < 64) {
        mpc_unpack_low(m1b, total, wb1, 0, buf);
        if (!x)
            mpc_unpack_low(m1b + total * wb1, total, wb1, 0, buf + total);
    }
    off = 0;
    if (me == 2)
        for (size_t i = 0; i < k; i++) {
            if (skip_item(L, d[i]))
                continue;
            const size_t ni = out[i]->n;
            if (x)
                for (size_t j = 0; j < ni; j++)
                    buf[off + j] += x[i]->s[0][j] + x[i]->s[1][j];
            else
                for (size_t j = 0; j < ni; j++)
                    buf[off + j] += buf[total + off + j] + out[i]->s[0][j];
            off += ni;
        }
    if (me == 2 && L < 64)
        for (size_t j = 0; j < total; j++)
            buf[j] &= lmask;
    /* round 2: P2 inputs A (a full word) and b (only b mod 2^(64-L+d)
     * matters: it is used in b M alone, and M is a multiple of 2^(L-d)), both to
     * P1: components (x0, 0, v - x0) with x0 from the P2-P0 stream (A's
     * draws, then b's). b travels in wb bytes. */
    unsigned dmax = 0;
    for (size_t i = 0; i < k; i++)
        if ((unsigned)d[i] > dmax)
            dmax = (unsigned)d[i];
    const unsigned wb = (64 - L + dmax + 7) / 8; /* b M's significant bits, see round 3 */
    MPCT_CALL_GOTO(st, done, mpc_out_like(&AB, mpct_shape_1d(2 * total))); /* slots written where nonzero */
    {
        uint8_t *msg = (uint8_t *)buf; /* total (8 + wb) bytes <= 16 total */
        mpct_net_msg m2 = {0};
        if (me == 2) {
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, AB.s[1], 2 * total));
            off = 0;
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                const uint64_t dm = mpc_low_mask(64 - L + (unsigned)d[i]), bias = (uint64_t)1 << (L - 2 - d[i]);
                const unsigned di = (unsigned)d[i];
                const uint64_t *restrict cc = buf + off, *restrict a1 = AB.s[1] + off,
                                         *restrict b1 = AB.s[1] + total + off;
                uint64_t *restrict a0 = AB.s[0] + off, *restrict b0 = AB.s[0] + total + off;
                for (size_t j = 0; j < ni; j++) {
                    a0[j] = (cc[j] >> di) - bias - a1[j];
                    b0[j] = ((cc[j] >> (L - 1)) - b1[j]) & dm;
                }
                off += ni;
            }
            memcpy(msg, AB.s[0], total * 8);
            mpc_pack_low(AB.s[0] + total, total, wb, msg + total * 8);
            m2.to_prev = msg;
            m2.to_prev_bytes = total * (8 + wb);
        } else if (me == 0) {
            /* component 1 (slot 1 here, slot 0 on P1) is zero: never
             * written or read (see the output loop) */
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, AB.s[0], 2 * total));
        } else {
            m2.from_next = msg;
            m2.from_next_bytes = total * (8 + wb);
        }
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m2));
        if (me == 1) {
            memcpy(AB.s[1], msg, total * 8);
            mpc_unpack_low(msg + total * 8, total, wb, 0, AB.s[1] + total);
        }
    }
    /* round 3: b * M. B = r >> d and M = msb(r) 2^(L-d) are component-1
     * sharings known to P0 (slot 1) and P1 (slot 0), computed on the fly.
     * b is shared (b0, 0, b2) (P2's input), so b M = b0 M (local to P0) +
     * b2 M (local to P1). Reshared with masks beta (P0, P1) and alpha (P1,
     * P2) as (t0 + beta, t1 + alpha - beta, -alpha): P0 sends component 0
     * to P2, P1 sends component 1 to P0, P2 sends nothing. Every term is a
     * multiple of 2^(L-d) (the masks are drawn as such), so the messages
     * carry the top 64-L+d bits only: wb bytes per element instead of 8. */
    {
        const mpct_share bsh = mpct_share_view(&AB, total, total);
        u = mpc_tmp(total);
        bm = me == 1 ? NULL : mpc_tmp(total);
        uint8_t *pk = (uint8_t *)buf; /* P0: received; P1: sent; after beta/alpha are used */
        mpct_net_msg m3 = {0};
        if (!u || (me != 1 && !bm)) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "trunc: out of memory");
            goto done;
        }
        if (me == 0) {
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, u, total)); /* beta */
            off = 0;
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                const unsigned sh = L - (unsigned)d[i];
                const uint64_t dm = mpc_low_mask(64 - sh);
                const uint64_t *restrict bb = bsh.s[0] + off, *restrict rr = r + off, *restrict a0 = AB.s[0] + off;
                uint64_t *restrict uu = u + off, *restrict o0 = out[i]->s[0];
                for (size_t j = 0; j < ni; j++) {
                    const uint64_t t = ((bb[j] & (0 - (rr[j] >> (L - 1)))) + uu[j]) & dm; /* no branch on msb(r) */
                    uu[j] = t;
                    o0[j] = a0[j] - (t << sh); /* y's component 0: A0 - (b M)0 */
                }
                off += ni;
            }
            m3.to_prev = pk + total * wb; /* packed below */
            mpc_pack_low(u, total, wb, pk + total * wb);
            m3.to_prev_bytes = total * wb;
            m3.from_next = pk;
            m3.from_next_bytes = total * wb;
        } else if (me == 1) {
            uint64_t *alpha = buf + total; /* buf's first half carries the message */
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, u, total)); /* beta */
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, alpha, total));
            off = 0;
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                const unsigned sh = L - (unsigned)d[i];
                const uint64_t dm = mpc_low_mask(64 - sh);
                const unsigned di = (unsigned)d[i];
                const uint64_t *restrict bb = bsh.s[1] + off, *restrict rr = r + off, *restrict al = alpha + off,
                                         *restrict a1 = AB.s[1] + off;
                uint64_t *restrict uu = u + off, *restrict o0 = out[i]->s[0], *restrict o1 = out[i]->s[1];
                for (size_t j = 0; j < ni; j++) {
                    const uint64_t t = ((bb[j] & (0 - (rr[j] >> (L - 1)))) + al[j] - uu[j]) & dm;
                    uu[j] = t;
                    /* y's components: 1 = M - B - (b M)1 (A's is zero), 2 = A2 - (b M)2 */
                    o0[j] = m_minus_b(rr[j], di, L) - (t << sh);
                    o1[j] = a1[j] - ((0 - al[j]) << sh);
                }
                off += ni;
            }
            mpc_pack_low(u, total, wb, pk);
            m3.to_prev = pk;
            m3.to_prev_bytes = total * wb;
        } else {
            MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, u, total)); /* alpha */
            off = 0;
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                const size_t ni = out[i]->n;
                const uint64_t *restrict al = u + off, *restrict a0 = AB.s[0] + off;
                uint64_t *restrict o0 = out[i]->s[0];
                const unsigned sh = L - (unsigned)d[i];
                for (size_t j = 0; j < ni; j++) /* y's component 2: A2 - (b M)2, (b M)2 = -alpha */
                    o0[j] = a0[j] - ((0 - al[j]) << sh);
                off += ni;
            }
            m3.from_next = pk;
            m3.from_next_bytes = total * wb;
        }
        st = mpct_net_round(ctx->net, &m3);
        if (st == MPCT_OK && me != 1) { /* P0: component 1 from P1; P2: component 0 from P0 */
            off = 0;
            for (size_t i = 0; i < k; i++) {
                if (skip_item(L, d[i]))
                    continue;
                mpc_unpack_low(pk + off * wb, out[i]->n, wb, L - (unsigned)d[i], bm + off);
                off += out[i]->n;
            }
        }
        if (st != MPCT_OK)
            goto done;
    }
    /* y = A - B + M - b M; B and M live in slot 1 on P0, slot 0 on P1.
     * Slot 0 on every party and both on P1 were written in round 3 (the
     * input was read by then); here slot 1 on P0 and P2, from the (b M)
     * component just received. */
    off = 0;
    if (me != 1)
        for (size_t i = 0; i < k; i++) {
            if (skip_item(L, d[i]))
                continue;
            const size_t ni = out[i]->n;
            const unsigned di = (unsigned)d[i];
            uint64_t *restrict o = out[i]->s[1];
            const uint64_t *restrict a = AB.s[1] + off, *restrict p = bm + off, *restrict rr = r + off;
            if (me == 0) /* A's component 1 is zero */
                for (size_t j = 0; j < ni; j++)
                    o[j] = m_minus_b(rr[j], di, L) - p[j];
            else
                for (size_t j = 0; j < ni; j++)
                    o[j] = a[j] - p[j];
            off += ni;
        }
done:
    if (r)
        mpc_tmp_free(r);
    if (buf)
        mpc_tmp_free(buf);
    if (m1b)
        mpc_tmp_free((uint64_t *)m1b);
    if (u) /* also when a draw in round 3 failed */
        mpc_tmp_free(u);
    if (bm)
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
    mpct_status st = ctx->trunc_prob ? trunc_prob(ctx, k, x, d, total, out) : mpc_trunc_exact(ctx, k, x, d, total, out, 64);
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
