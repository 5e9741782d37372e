/*
 * bool.c — boolean sharings, most-significant-bit extraction, bit-to-
 * arithmetic conversion, comparison, select and ReLU.
 *
 * msb(x): x = x0 + x1 + x2 where Pi holds (x_i, x_{i+1}). For each packed
 * word of elements one party, its owner (a third of the words each), holds
 * two of the components and adds them: x = a + e with a known to the owner
 * and e the third component, held by the other two. Viewed as boolean
 * sharings, [e]^B has e in its own slot and 0 elsewhere (free), and [a]^B
 * is the owner's input (one message of W bits per owned element to one
 * party, a = k ^ m with k and m known to the owner and one other party
 * each). Then msb(a + e) = p63 ^ carry-in(63) with a carry tree over
 * generate/propagate words: g = a & e = (k & e) ^ (m & e) is an XOR of
 * two values each known to one non-owner, reshared by a swap of their
 * halves (1 round, W bits from each non-owner), then 6 levels of a binary
 * tree that combines (G, P) of adjacent groups, its operands packed 2^L
 * elements per word at level L (only the carry into bit 63 is needed, not
 * every prefix). Rounds: 1 + 1 + 6 = 8. Bits sent per element and party:
 * 64/3 + 128/3 + 2 (32 + ... + 2) + 1 = 189 (23.6 bytes); the carry-save
 * form of three operands with a general AND for g would send 64 + 64
 * where this sends 64/3 + 128/3.
 *
 * b2a(b): b = b0 ^ b1 ^ b2 = b2 + t s with t = b0 ^ b1 (known to P0) and
 * s = 1 - 2 b2 (known to P1 and P2). P0 and P1 draw rho and a1 from k1, P0
 * and P2 draw a0 from k0. Round 1: P0 sends m = t - rho to P2; P1 sends
 * y1 - a1 to P2, y1 = rho s. Round 2: P2 sends y2 - a0 to P1, y2 = m s + b2.
 * Then a2 = (y1 - a1) + (y2 - a0) on P1 and P2, and a0 + a1 + a2 = b. P2
 * sees two values masked by k1 draws, P1 one masked by a k0 draw, P0
 * nothing. 2 rounds, one word per party per element (the earlier input +
 * product sent 2 words from P0 and one from each other party).
 */
#include "mpc-impl.h"

#include <string.h>

mpct_status mpct_share_and_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out)
{
    OP_ENTER(ctx, "and");
    mpct_status st = mpc_cross_many(ctx, k, a, b, out, 1);
    OP_LEAVE(ctx);
    return st;
}

/* Operand packing for the tree's ANDs. The operands are words (msb_width
 * keeps narrow elements lane-packed); at tree level L only the bits at the
 * positions of a mask m (k = 64 / 2^L of them) matter. Packing extracts
 * those bits of each word into k contiguous bits (pext) and places 64 / k
 * words' worth per packed word: word e at packed word e / (64/k), bit
 * (e mod 64/k) * k. Both AND operands are packed the same way, so the AND of
 * packed words is the AND of the words' bits. The kernel table packs
 * (bit_pack, bit_unpack); the layout is fixed, so parties whose backends
 * pack differently (BMI2 or not) agree. */
static size_t packed_words(size_t n, unsigned lk)
{
    const unsigned le = 6 - lk; /* log2 of words per packed word */
    return (n + ((size_t)1 << le) - 1) >> le;
}

/* Mask of the bit positions that are multiples of f within the low W bits. */
static uint64_t stride_mask(unsigned f, unsigned W)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < W; i += f)
        m |= (uint64_t)1 << i;
    return m;
}

/* o[q] = a[q] & b[q] (q < k, n elements each) in one round; operand q keeps
 * the bits of mask ma[q] (a) / mb[q] (b), 2^lk of them, and the result comes
 * back unpacked onto the positions of mo. lk = 6 (whole words, all masks
 * full) ANDs the arrays in place, without packing copies; o must not alias
 * a or b then. */
static mpct_status and_packed(mpct_ctx_t *ctx, int k, uint64_t *const (*a)[2], const uint64_t *ma,
                              uint64_t *const (*b)[2], const uint64_t *mb, size_t n, unsigned lk, uint64_t mo,
                              uint64_t *const (*o)[2])
{
    mpct_share A[2], B[2], O[2];
    memset(A, 0, sizeof A);
    memset(B, 0, sizeof B);
    memset(O, 0, sizeof O);
    const mpct_share *pa[2] = {&A[0], &A[1]}, *pb[2] = {&B[0], &B[1]};
    mpct_share *po[2] = {&O[0], &O[1]};
    if (lk == 6) { /* views: nothing to allocate, copy or free */
        for (int q = 0; q < k; q++) {
            A[q] = (mpct_share){mpct_shape_1d(n), n, {a[q][0], a[q][1]}, 0};
            B[q] = (mpct_share){mpct_shape_1d(n), n, {b[q][0], b[q][1]}, 0};
            O[q] = (mpct_share){mpct_shape_1d(n), n, {o[q][0], o[q][1]}, 0};
        }
        return mpct_share_and_many(ctx, (size_t)k, pa, pb, po);
    }
    const size_t words = packed_words(n, lk);
    mpct_status st = MPCT_OK;
    for (int q = 0; q < k; q++) {
        MPCT_CALL_GOTO(st, done, mpc_out_like(&A[q], mpct_shape_1d(words))); /* fully packed below */
        MPCT_CALL_GOTO(st, done, mpc_out_like(&B[q], mpct_shape_1d(words)));
        for (int i = 0; i < 2; i++) {
            ctx->k->bit_pack(n, a[q][i], lk, ma[q], A[q].s[i]);
            ctx->k->bit_pack(n, b[q][i], lk, mb[q], B[q].s[i]);
        }
    }
    MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, (size_t)k, pa, pb, po));
    for (int q = 0; q < k; q++)
        for (int i = 0; i < 2; i++)
            ctx->k->bit_unpack(n, O[q].s[i], lk, mo, o[q][i]);
done:
    for (int q = 0; q < 2; q++) {
        mpct_share_free(&A[q]);
        mpct_share_free(&B[q]);
        mpct_share_free(&O[q]);
    }
    return st;
}

/* m repeated in every W-bit lane of a word. */
static uint64_t rep_lanes(uint64_t m, unsigned W)
{
    uint64_t r = 0;
    for (unsigned s = 0; s < 64; s += W)
        r |= m << s;
    return r;
}

/* msb of x mod 2^W, W = 2^lw: the sign of x whenever |x| < 2^(W-1).
 * Rounds 2 + lw; the input of the summed operand sends W/3 bits per
 * element and party, the generate step 2W/3, the tree about 2W. Narrow elements are worked on 64/W to a
 * word (element e in lane e mod (64/W) of word e / (64/W)), with every
 * mask repeated per lane: the local passes and buffers shrink by 64/W, and
 * the lanes never mix (a tree level's shift moves a lane's low bits to
 * positions its mask drops). */
static mpct_status msb_width(mpct_ctx_t *ctx, const mpct_share *x, unsigned lw, unsigned lo, mpct_share *bits)
{
    const size_t n = x->n;
    const unsigned W = 1u << lw, top = W - 1, per = 64 / W;
    const size_t nw = (n + per - 1) / per;
    const uint64_t wmask = W == 64 ? ~(uint64_t)0 : ((uint64_t)1 << W) - 1, lane1 = rep_lanes(1, W),
                   ltop = lane1 << top;
    const int me = ctx->party;
    mpct_status st = MPCT_OK;
    /* separate buffers: one 12nw-word block would exceed the heap's mmap
     * threshold and page-fault on every call */
    enum { NB = 12 };
    uint64_t *bf[NB] = {0};
    for (int i = 0; i < NB; i++)
        if (!(bf[i] = mpc_tmp(nw))) {
            for (int j = 0; j < i; j++)
                mpc_tmp_free(bf[j]);
            return mpct_error_set(MPCT_ERR_NOMEM, "msb: out of memory for %zu elements", n);
        }
    uint64_t *u[2] = {bf[0], bf[1]}, *v[2] = {bf[2], bf[3]}, *c2[2] = {bf[4], bf[5]}, *G[2] = {bf[6], bf[7]},
             *P[2] = {bf[8], bf[9]}, *t[2] = {bf[10], bf[11]};
    OP_ENTER(ctx, "msb");
    /* Two operands instead of three. Per packed word q, its owner
     * w = (o + q) mod 3 (o rotates call by call, so every party owns a third
     * of the words) holds components w and w+1 and adds them,
     * a = x_w + x_{w+1}; the other operand e = x_{w+2} is held by P_{w+1}
     * and P_{w+2}. Window: each operand is shifted right by lo after the
     * bias 2^lo is added to the one that holds component 0, cut to W bits,
     * packed into lanes. As boolean sharings (slot j = component j, P_j
     * holds slots j and j+1): e sits in slot w+2 alone (free); a is input by
     * its owner: slot w+1 = k (the stream of P_w and P_{w+1}), slot w =
     * a ^ k, sent to P_{w+2}. Round 1: each party sends the words it owns to
     * its previous party, W/3 bits per element. rel = (me - w) mod 3. */
    const unsigned o = ctx->cmp_role;
    ctx->cmp_role = (ctx->cmp_role + 1) % 3;
    MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, u[0], nw)); /* k of the words this party owns */
    MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, u[1], nw));  /* k of the words the previous one owns */
    size_t ns = 0, nr = 0;
    {
        const uint64_t *xs[2] = {x->s[0], x->s[1]}, bias0 = lo ? (uint64_t)1 << lo : 0;
        for (size_t q = 0; q < nw; q++) {
            const unsigned w = (o + (unsigned)(q % 3)) % 3, rel = ((unsigned)me + 3 - w) % 3;
            /* rel 0: a = s[0] + s[1]; rel 1: e = s[1]; rel 2: e = s[0] */
            const uint64_t *s0 = rel == 2 ? xs[0] : xs[1], *s1 = rel == 0 ? xs[0] : NULL;
            const uint64_t bias = (rel == 0) == (w != 1) ? bias0 : 0;
            uint64_t word = 0;
            const size_t e0 = q * per, lim = n - e0 < per ? n - e0 : per;
            for (size_t l = 0; l < lim; l++) {
                const uint64_t val = s0[e0 + l] + (s1 ? s1[e0 + l] : 0) + bias;
                word |= ((val >> lo) & wmask) << (l * W);
            }
            /* this party's slots (me, me+1) of A = [a] into P, of E = [e] into t */
            if (rel == 0) { /* slots w, w+1: a ^ k, k (a ^ k also to the previous party) */
                P[0][q] = v[0][ns++] = word ^ u[0][q];
                P[1][q] = u[0][q];
                t[0][q] = t[1][q] = 0;
            } else if (rel == 1) { /* slots w+1, w+2: k, 0; e: 0, e */
                P[0][q] = u[1][q];
                P[1][q] = 0;
                t[0][q] = 0;
                t[1][q] = word;
            } else { /* slots w+2, w: 0, a ^ k (received); e: e, 0 */
                P[0][q] = 0;
                nr++;
                t[0][q] = word;
                t[1][q] = 0;
            }
        }
    }
    {
        mpc_round rd;
        mpc_round_begin(&rd, ctx);
        mpc_round_send(&rd, MPC_PREV, v[0], ns, 8);
        mpc_round_recv(&rd, MPC_NEXT, v[1], nr, 8, 0);
        MPCT_CALL_GOTO(st, done, mpc_round_exchange(&rd));
        for (size_t q = 0, r = 0; q < nw; q++)
            if (((unsigned)me + 3 - (o + (unsigned)(q % 3)) % 3) % 3 == 2)
                P[1][q] = v[1][r++];
    }
    /* round 2: g = a & e (p = a ^ e is local). With a = k ^ m, g = (k & e)
     * ^ (m & e): P_{w+1} knows k and e, P_{w+2} knows m and e, so g is an
     * XOR of two values known to one party each. Its sharing: slot w+1 =
     * alpha (stream of P_w, P_{w+1}), slot w = beta (stream of P_{w+2},
     * P_w), slot w+2 = (k & e) ^ alpha ^ (m & e) ^ beta, for which P_{w+1}
     * and P_{w+2} swap their halves: W bits per element from the two
     * non-owners, 2W/3 per party, where an AND sends W from every party. */
    {
        size_t nn = 0, np = 0;
        uint64_t *to_next = v[0], *to_prev = v[1], *from_next = c2[0], *from_prev = c2[1];
        for (size_t q = 0; q < nw; q++) { /* g's halves before the masks are drawn over k */
            const unsigned rel = ((unsigned)me + 3 - (o + (unsigned)(q % 3)) % 3) % 3;
            if (rel == 1)
                to_next[nn++] = P[0][q] & t[1][q]; /* k & e */
            else if (rel == 2)
                to_prev[np++] = P[1][q] & t[0][q]; /* m & e */
        }
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, u[0], nw));
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, u[1], nw));
        nn = np = 0;
        for (size_t q = 0; q < nw; q++) {
            const unsigned rel = ((unsigned)me + 3 - (o + (unsigned)(q % 3)) % 3) % 3;
            if (rel == 0) { /* slots w, w+1: beta (with prev), alpha (with next) */
                G[0][q] = u[1][q];
                G[1][q] = u[0][q];
            } else if (rel == 1) { /* slot w+1: alpha (with prev) */
                G[0][q] = u[1][q];
                to_next[nn++] ^= u[1][q];
            } else { /* slot w: beta (with next) */
                G[1][q] = u[0][q];
                to_prev[np++] ^= u[0][q];
            }
        }
        mpc_round rd;
        mpc_round_begin(&rd, ctx);
        mpc_round_send(&rd, MPC_NEXT, to_next, nn, 8);
        mpc_round_send(&rd, MPC_PREV, to_prev, np, 8);
        mpc_round_recv(&rd, MPC_NEXT, from_next, nn, 8, 0);
        mpc_round_recv(&rd, MPC_PREV, from_prev, np, 8, 0);
        MPCT_CALL_GOTO(st, done, mpc_round_exchange(&rd));
        nn = np = 0;
        for (size_t q = 0; q < nw; q++) { /* slot w+2 */
            const unsigned rel = ((unsigned)me + 3 - (o + (unsigned)(q % 3)) % 3) % 3;
            if (rel == 1) {
                G[1][q] = to_next[nn] ^ from_next[nn];
                nn++;
            } else if (rel == 2) {
                G[0][q] = to_prev[np] ^ from_prev[np];
                np++;
            }
        }
    }
    /* msb = p_top ^ carry into bit top. Bit top is set to "propagate, no
     * generate" (g = 0, p = 1, a public constant: component 0 only) so that
     * the group generate over all W bits equals the carry out of bit top-1.
     * c2 keeps p_top. */
    for (int i = 0; i < 2; i++) {
        const uint64_t one = (me + i) % 3 == 0 ? ltop : 0;
        for (size_t q = 0; q < nw; q++) {
            const uint64_t p = P[i][q] ^ t[i][q];
            c2[i][q] = p & ltop;
            P[i][q] = (p & ~ltop) | one;
            G[i][q] &= ~ltop;
        }
    }
    /* rounds 3..2+lw: a binary tree of (G, P) pairs over W, W/2, ..., 2 bit
     * groups. Level L combines groups at k*2^L and k*2^L + 2^(L-1):
     * G' = G_hi ^ (P_hi & G_lo), P' = P_hi & P_lo (G_hi, P_hi disjoint). The
     * operands of level L are 64/2^L bits per word (packed); the last level
     * needs only G. */
    for (unsigned L = 1; L <= lw; L++) {
        const unsigned half = 1u << (L - 1);
        const uint64_t m = rep_lanes(stride_mask(1u << L, W), W), mh = m << half;
        const int last = L == lw;
        uint64_t *const a[2][2] = {{P[0], P[1]}, {P[0], P[1]}}, *const b[2][2] = {{G[0], G[1]}, {P[0], P[1]}},
                        *const o[2][2] = {{t[0], t[1]}, {u[0], u[1]}};
        const uint64_t ma[2] = {mh, mh}, mb[2] = {m, m};
        MPCT_CALL_GOTO(st, done, and_packed(ctx, last ? 1 : 2, a, ma, b, mb, nw, 6 - L, m, o));
        for (int i = 0; i < 2; i++) {
            for (size_t q = 0; q < nw; q++)
                G[i][q] = ((G[i][q] >> half) & m) ^ t[i][q];
            if (!last) { /* P' landed in u: swap instead of copying */
                uint64_t *sw = P[i];
                P[i] = u[i];
                u[i] = sw;
            }
        }
    }
    MPCT_CALL_GOTO(st, done, mpc_out_like(bits, x->shape));
    for (int i = 0; i < 2; i++) {
        for (size_t q = 0; q < nw; q++)
            G[i][q] = ((c2[i][q] >> top) ^ G[i][q]) & lane1;
        for (size_t e = 0; e < n; e++)
            bits->s[i][e] = (G[i][e >> (6 - lw)] >> ((e & (per - 1)) << lw)) & 1;
    }
done:
    for (int i = 0; i < NB; i++)
        mpc_tmp_free(bf[i]);
    OP_LEAVE(ctx);
    return st;
}

static mpct_status check_width(unsigned width, unsigned *lw)
{
    for (unsigned l = 3; l <= 6; l++)
        if (width == 1u << l) {
            *lw = l;
            return MPCT_OK;
        }
    return mpct_error_set(MPCT_ERR_ARG, "comparison width must be 8, 16, 32 or 64 bits, got %u", width);
}

mpct_status mpct_share_msb(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *bits)
{
    return msb_width(ctx, x, 6, 0, bits);
}

mpct_status mpct_share_msb_w(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, mpct_share *bits)
{
    unsigned lw = 6;
    MPCT_CALL(check_width(width, &lw));
    return msb_width(ctx, x, lw, 0, bits);
}

mpct_status mpct_share_b2a(mpct_ctx_t *ctx, const mpct_share *bits, mpct_share *out)
{
    const size_t n = bits->n;
    const int me = ctx->party;
    mpct_status st = MPCT_OK;
    uint64_t *r = NULL, *w = NULL;
    OP_ENTER(ctx, "b2a");
    MPCT_CALL_GOTO(st, done, mpc_out_like(out, bits->shape));
    r = mpc_tmp(n);
    w = mpc_tmp(n);
    if (!r || !w) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "b2a: out of memory for %zu elements", n);
        goto done;
    }
    if (me == 0) {
        /* rho, a1 from k1 (with P1), a0 from k0 (with P2); m = t - rho to P2 */
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, r, n));
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, out->s[1], n));
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, out->s[0], n));
        for (size_t e = 0; e < n; e++)
            w[e] = ((bits->s[0][e] ^ bits->s[1][e]) & 1) - r[e];
        mpct_net_msg m1 = {.to_prev = w, .to_prev_bytes = n * 8};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m1));
        mpct_net_msg m2 = {0};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m2));
    } else if (me == 1) {
        /* y1 = rho (1 - 2 b2); sends y1 - a1 to P2, gets y2 - a0 back */
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, r, n));
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, out->s[0], n));
        for (size_t e = 0; e < n; e++)
            w[e] = r[e] * (1 - 2 * (bits->s[1][e] & 1)) - out->s[0][e];
        mpct_net_msg m1 = {.to_next = w, .to_next_bytes = n * 8};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m1));
        mpct_net_msg m2 = {.from_next = out->s[1], .from_next_bytes = n * 8};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m2));
        ctx->k->add(n, out->s[1], w, out->s[1]);
    } else {
        /* y2 = m (1 - 2 b2) + b2; sends y2 - a0 to P1 */
        MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, out->s[1], n));
        mpct_net_msg m1 = {.from_next = r, .from_next_bytes = n * 8, .from_prev = w, .from_prev_bytes = n * 8};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m1));
        for (size_t e = 0; e < n; e++) {
            const uint64_t b2 = bits->s[0][e] & 1;
            r[e] = r[e] * (1 - 2 * b2) + b2 - out->s[1][e];
        }
        mpct_net_msg m2 = {.to_prev = r, .to_prev_bytes = n * 8};
        MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m2));
        ctx->k->add(n, w, r, out->s[0]);
    }
done:
    if (r)
        mpc_tmp_free(r);
    if (w)
        mpc_tmp_free(w);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_ltz(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    return mpct_share_ltz_w(ctx, x, 64, out);
}

mpct_status mpct_share_ltz_w(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, mpct_share *out)
{
    return mpct_share_ltz_win(ctx, x, width, 0, out);
}

mpct_status mpct_share_ltz_win(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, unsigned lo, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share bits = {0};
    unsigned lw = 6;
    MPCT_CALL(check_width(width, &lw));
    if (lo + width > 64)
        return mpct_error_set(MPCT_ERR_ARG, "comparison window [%u, %u) exceeds 64 bits", lo, lo + width);
    OP_ENTER(ctx, "ltz");
    MPCT_CALL_GOTO(st, done, msb_width(ctx, x, lw, lo, &bits));
    MPCT_CALL_GOTO(st, done, mpct_share_b2a(ctx, &bits, out));
done:
    mpct_share_free(&bits);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_lt(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share d = {0};
    OP_ENTER(ctx, "lt");
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, a, b, &d));
    MPCT_CALL_GOTO(st, done, mpct_share_ltz(ctx, &d, out));
done:
    mpct_share_free(&d);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_select(mpct_ctx_t *ctx, const mpct_share *cond, const mpct_share *a,
                              const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share d = {0}, p = {0};
    OP_ENTER(ctx, "select");
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, a, b, &d));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, cond, &d, &p));
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, b, &p, out));
done:
    mpct_share_free(&d);
    mpct_share_free(&p);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_relu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share neg = {0}, pos = {0};
    OP_ENTER(ctx, "relu");
    MPCT_CALL_GOTO(st, done, mpct_share_ltz(ctx, x, &neg));
    /* pos = 1 - neg */
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, &neg, &pos));
    const uint64_t one = 1;
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, &pos, &one, 1, &pos));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &pos, x, out));
done:
    mpct_share_free(&neg);
    mpct_share_free(&pos);
    OP_LEAVE(ctx);
    return st;
}
