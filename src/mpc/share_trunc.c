/*
 * share_trunc.c — truncation of replicated shares by d bits (a
 * fixed-point rescale), exact by default, probabilistic on request, and
 * the exact protocol's generalisation used by fused products and by the
 * lift from Z_2^32 (mpc_trunc_exact).
 *
 * Costs per truncated element, per party, with w = ceil(d/8) bytes:
 *   exact (default)    2 rounds; P0 w bytes, P1 8 + w, P2 8 + 2w
 *                      (round 1: P1 8 + w, P0 w; round 2: P2 8 + 2w)
 *   exact, additive    2 rounds; P0 8 + w, P1 8 + w, P2 8 + 2w (round 1:
 *     input (fused)    P0 8 more)
 *   probabilistic      1 round; P0 8 bytes, the others 0
 *   lift (L = 32)      2 rounds; P0 4 bytes, P1 4 + 4, P2 8 + 4 + 4
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
 * Exact (default), 2 rounds, after Dalskov-Escudero-Keller's truncation with
 * a known MSB: P0 and P1 draw r = F(k_1); x' = x + 2^62 (so x' in [0, 2^63)
 * for |x| < 2^62) is opened to P2 masked as c = x' + r (round 1, P1 sends 1
 * word). As integers x' = c - r + w 2^64 with the wrap bit
 * w = msb(r) (1 - msb(c)), so
 *   floor(x/2^d) = (c >> d) - (r >> d) + msb(r) (1 - msb(c)) 2^(64-d)
 *                  - 2^(62-d) - e,   e in {0, 1}.
 * y = A - B + M - b M with A = (c >> d) - 2^(62-d) and b = msb(c) known to
 * P2 after round 1, B = r >> d and M = m 2^(64-d), m = msb(r), known to P0
 * and P1 from the start. b M = b m 2^(64-d) is the only term that needs
 * both sides; it goes into component 1 (held by P0 and P1) by a
 * three-party oblivious transfer with a helper (ABY3's): P2 is the sender,
 * each of P0 and P1 a receiver whose choice m the other one knows and
 * helps with. Masks alpha0 (P0-P2 stream) and alpha2 (P1-P2 stream) hide
 * component 1's value t = -m b - alpha0 - alpha2 (in units of 2^(64-d));
 * in round 1 P1 sends P0 h = alpha2 + m w and P0 sends P1 h' = alpha0 +
 * m w' (w from the P1-P2 stream, w' from the P0-P2 one); in round 2 P2
 * sends P0 G = w - b and P1 G' = w' - b, and P0 gets t = -alpha0 - h + m G,
 * P1 t = -alpha2 - h' + m G'. A travels to P1 as A - rho (rho from the
 * P0-P2 stream), in the same round 2: y0 = alpha0 + rho, y2 = A - rho +
 * alpha2. Only the low d bits of h, h', G, G' matter (they are multiplied
 * by 2^(64-d)): they travel as ceil(d/8) bytes. P0 sees h (alpha2 unknown
 * to it) and G (w unknown; when m = 1, G - h = -b - alpha2, still masked by
 * alpha2), uniform; P1 symmetrically (alpha0, w'); and A - rho (rho
 * unknown to P1).
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

/* The scratch words of one exact truncation, total words each (see
 * mpc_trunc_exact for the names): r, the P0-P1 mask; c (2 total words),
 * the opening and the additive form's rho; q[0..5] per party:
 *   P0: alpha0, rho, w', h' (sent), h (received), G (received)
 *   P1: alpha2, w, h (sent), h' (received), G' (received), A - rho (received)
 *   P2: alpha0, rho, w', alpha2, w, A - rho. */
typedef struct trunc_buf {
    uint64_t *r, *c, *q[6];
} trunc_buf;

/* Round 1: opens c = v + r + 2^(L-2) mod 2^L to P2, into c[0, total) (c
 * has 2 total words; r is the P0-P1 mask, < 2^L). Replicated (x): P1 sends
 * x1 + r + 2^(L-2) and P2 adds x2 + x0, a reveal of x + r to P2.
 * Additive (x NULL, the term z in out[i]->s[0]): P0 sends z0 + rho, P1
 * z1 - rho + r + 2^(L-2) (rho from the P0-P1 stream, after r), P2 adds
 * z2. Words travel as their low L/8 bytes. In the same round P0 and P1
 * swap the helper words of the OT (h' = q[3] from P0, h = q[2] from P1,
 * wb bytes each; received unshifted into q[4] / q[3]). */
static mpct_status open_to_p2(mpct_ctx_t *ctx, int me, size_t k, const mpct_share *const *x, const int *d,
                              size_t total, mpct_share *const *out, unsigned L, unsigned wb, trunc_buf *tb)
{
    const uint64_t offL = (uint64_t)1 << (L - 2);
    uint64_t *c = tb->c, *rho = c + total;
    const uint64_t *r = tb->r;
    mpc_round rd;
    if (me != 2 && !x)
        MPCT_CALL(me == 0 ? mpct_ctx_rand_next(ctx, rho, total) : mpct_ctx_rand_own(ctx, rho, total));
    mpc_round_begin(&rd, ctx);
    if (me == 0) {
        mpc_round_send(&rd, MPC_NEXT, tb->q[3], total, wb);
        mpc_round_recv(&rd, MPC_NEXT, tb->q[4], total, wb, 0);
    } else if (me == 1) {
        mpc_round_send(&rd, MPC_PREV, tb->q[2], total, wb);
        mpc_round_recv(&rd, MPC_PREV, tb->q[3], total, wb, 0);
    }
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

/* Before round 1: the masks (r from the P0-P1 stream; alpha0, rho, w' from
 * the P0-P2 stream; alpha2, w from the P1-P2 stream, in that order) and the
 * helper words h' = alpha0 + m w' (P0), h = alpha2 + m w (P1), m = msb_L(r). */
static mpct_status draw_masks(mpct_ctx_t *ctx, int me, size_t total, unsigned L, trunc_buf *tb)
{
    uint64_t **q = tb->q;
    if (me != 2) /* the mask r < 2^L, known to P0 and P1 */
        MPCT_CALL(me == 0 ? mpct_ctx_rand_next(ctx, tb->r, total) : mpct_ctx_rand_own(ctx, tb->r, total));
    if (me != 2 && L < 64)
        ctx->k->add3(total, tb->r, NULL, NULL, 0, 0, mpc_low_mask(L), tb->r);
    for (int j = 0; j < 3 && me != 1; j++) /* alpha0, rho, w' */
        MPCT_CALL(me == 0 ? mpct_ctx_rand_own(ctx, q[j], total) : mpct_ctx_rand_next(ctx, q[j], total));
    for (int j = 0; j < 2 && me != 0; j++) /* alpha2, w */
        MPCT_CALL(me == 1 ? mpct_ctx_rand_next(ctx, q[j], total) : mpct_ctx_rand_own(ctx, q[3 + j], total));
    if (me != 2) { /* P0: h' = alpha0 + m w' into q[3]; P1: h = alpha2 + m w into q[2] */
        const uint64_t *a = q[0], *w = me == 0 ? q[2] : q[1], *r = tb->r;
        uint64_t *h = me == 0 ? q[3] : q[2];
        for (size_t e = 0; e < total; e++)
            h[e] = a[e] + ((r[e] >> (L - 1)) & 1) * w[e];
    }
    return MPCT_OK;
}

/* Round 2: P2 splits the opened c into A - rho (A = (c >> d) -
 * 2^(L-2-d)) and b = msb_L(c), then sends A - rho (8 bytes) and
 * G' = w' - b to P1 and G = w - b to P0 (wb bytes each: only their low
 * 64 - L + d bits matter, they are multiplied by 2^(L-d)). */
static mpct_status send_ab(mpct_ctx_t *ctx, int me, size_t k, const int *d, size_t total, mpct_share *const *out,
                           unsigned L, unsigned wb, trunc_buf *tb)
{
    uint64_t **q = tb->q, *b = tb->c + total;
    mpc_round rd;
    for (size_t i = 0, off = 0; me == 2 && i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        ctx->k->trunc_split(ni, tb->c + off, (unsigned)d[i], L, q[1] + off, mpc_zeros(ctx, ni), q[5] + off, b + off);
        off += ni;
    }
    if (me == 2) {
        ctx->k->sub(total, q[4], b, q[4]); /* G = w - b */
        ctx->k->sub(total, q[2], b, q[2]); /* G' = w' - b */
    }
    mpc_round_begin(&rd, ctx);
    if (me == 2) {
        mpc_round_send(&rd, MPC_NEXT, q[4], total, wb);
        mpc_round_send(&rd, MPC_PREV, q[5], total, 8);
        mpc_round_send(&rd, MPC_PREV, q[2], total, wb);
    } else if (me == 0)
        mpc_round_recv(&rd, MPC_PREV, q[5], total, wb, 0);
    else {
        mpc_round_recv(&rd, MPC_NEXT, q[5], total, 8, 0);
        mpc_round_recv(&rd, MPC_NEXT, q[4], total, wb, 0);
    }
    return mpc_round_exchange(&rd);
}

/* The output y = A - B + M - b M, B = r >> d, M = m 2^(L-d), in units of
 * 2^(L-d) for the OT part: y0 = alpha0 2^(L-d) + rho (P0, P2),
 * y2 = (A - rho) + alpha2 2^(L-d) (P1, P2), and
 * y1 = M - B + t 2^(L-d) (P0, P1) with t = -m b - alpha0 - alpha2:
 * P0 computes t = -alpha0 - h + m G, P1 t = -alpha2 - h' + m G'. */
static void trunc_output(mpct_ctx_t *ctx, int me, size_t k, const int *d, mpct_share *const *out, unsigned L,
                         trunc_buf *tb)
{
    uint64_t **q = tb->q;
    /* P0: alpha0, h, G; P1: alpha2, h', G' */
    const uint64_t *al = q[0], *h = me == 0 ? q[4] : q[3], *g = me == 0 ? q[5] : q[4];
    for (size_t i = 0, off = 0; i < k; i++) {
        if (skip_item(L, d[i]))
            continue;
        const size_t ni = out[i]->n;
        const unsigned di = (unsigned)d[i], sh = L - di;
        if (me != 2) {
            const uint64_t *r = tb->r + off;
            uint64_t *y1 = out[i]->s[me == 0];
            for (size_t e = 0; e < ni; e++) {
                const uint64_t m = (r[e] >> (L - 1)) & 1;
                y1[e] = ((m + m * g[off + e] - al[off + e] - h[off + e]) << sh) - (r[e] >> di);
            }
        }
        if (me == 0) /* y0 */
            ctx->k->shl_add(ni, q[1] + off, q[0] + off, sh, out[i]->s[0]);
        else if (me == 1) /* y2 */
            ctx->k->shl_add(ni, q[5] + off, q[0] + off, sh, out[i]->s[1]);
        else { /* y2, y0 */
            ctx->k->shl_add(ni, q[5] + off, q[3] + off, sh, out[i]->s[0]);
            ctx->k->shl_add(ni, q[1] + off, q[0] + off, sh, out[i]->s[1]);
        }
        off += ni;
    }
}

/* Exact truncation of k items of out[i]->n elements by d[i] bits (items
 * with d[i] = 0 are skipped; total = sum of the others) into out[i], which
 * is allocated. The input is either replicated (x != NULL, shaped like
 * out) or, fused with a product, this party's additive term of a
 * 3-out-of-3 sharing, held in out[i]->s[0] on entry (x == NULL; read in
 * round 1, before any output is written). Two rounds: open c = v + r +
 * 2^62 to P2 (open_to_p2; the additive form needs no resharing round of
 * its own), then P2 sends A - rho and the OT messages (send_ab); the
 * output is local (trunc_output).
 *
 * L = 64 above. L = 32, with shift 0 only, lifts a sharing of v mod 2^32
 * (|v| < 2^30; a product computed with 32-bit GEMMs) to Z_2^64, exactly:
 * the same identities with 2^32 for 2^64 (round 1 opens c = v + r + 2^30
 * mod 2^32 in 4-byte words; v = c - r + msb_32(r) (1 - msb_32(c)) 2^32 -
 * 2^30; M = msb_32(r) 2^32, and b M's 32 significant bits travel in the
 * OT words). Its items (shift 0) are not skipped. */
mpct_status mpc_trunc_exact(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                            mpct_share *const *out, unsigned L)
{
    unsigned dmax = 0;
    for (size_t i = 0; i < k; i++) {
        if (L != 64 && (L != 32 || d[i] != 0)) /* the lift only: wider b M words would not fit */
            return mpct_error_set(MPCT_ERR_ARG, "trunc: a %u-bit opening serves the lift only (shift 0), got %d",
                                  L, d[i]);
        dmax = (unsigned)d[i] > dmax ? (unsigned)d[i] : dmax;
    }
    const unsigned wb = (64 - L + dmax + 7) / 8; /* b M's significant bytes */
    /* roles rotate call by call (every party counts the same calls), so
     * P2's extra bytes and work fall on each party in turn */
    const int me = (ctx->party + 3 - (int)ctx->trunc_role) % 3;
    ctx->trunc_role = (ctx->trunc_role + 1) % 3;
    mpct_status st = MPCT_OK;
    trunc_buf tb = {mpc_tmp(total), mpc_tmp(2 * total), {0}};
    int ok = tb.r && tb.c;
    for (int j = 0; j < 6; j++)
        ok = ok && (tb.q[j] = mpc_tmp(total)) != NULL;
    if (!ok) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "trunc: out of memory for %zu elements", total);
        goto done;
    }
    MPCT_CALL_GOTO(st, done, draw_masks(ctx, me, total, L, &tb));
    MPCT_CALL_GOTO(st, done, open_to_p2(ctx, me, k, x, d, total, out, L, wb, &tb));
    MPCT_CALL_GOTO(st, done, send_ab(ctx, me, k, d, total, out, L, wb, &tb));
    trunc_output(ctx, me, k, d, out, L, &tb);
done:
    mpc_tmp_free(tb.r);
    mpc_tmp_free(tb.c);
    for (int j = 0; j < 6; j++)
        mpc_tmp_free(tb.q[j]);
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
