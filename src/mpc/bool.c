/*
 * bool.c — boolean sharings, most-significant-bit extraction, bit-to-
 * arithmetic conversion, comparison, select and ReLU.
 *
 * msb(x): x = x0 + x1 + x2 where Pi holds (x_i, x_{i+1}). Viewed as boolean
 * sharings, [x_j]^B has x_j in slot j and 0 elsewhere, so the XOR
 * s = x0 ^ x1 ^ x2 is shared as (x_i, x_{i+1}) itself — free. A carry-save
 * step gives the carry word c = maj(x0, x1, x2) << 1 with one AND
 * (maj(a,b,c) = ((a^c) & (b^c)) ^ c); then msb(s + c) = p63 ^ carry-in(63)
 * with a carry tree over generate/propagate words: g = s & c (1 AND round),
 * then 6 levels of a binary tree that combines (G, P) of adjacent groups, its
 * operands packed 2^L elements per word at level L (only the carry into bit
 * 63 is needed, not every prefix). Rounds: 1 + 1 + 6 = 8. Words sent per
 * element: 1 + 1 + 2(1/2 + ... + 1/32) + 1/64 ~ 3.95 (about 32 bytes).
 *
 * b2a(b): b = b0 ^ b1 ^ b2; P0 knows t = b0 ^ b1 and inputs it (1 round, P0
 * sends 2 words); b2 is held by P1 and P2 and forms an arithmetic sharing
 * locally; b = t + b2 - 2 t b2 (1 mul round). 2 rounds.
 */
#include "mpc-impl.h"

#include <string.h>

mpct_status mpct_share_and_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "and");
    for (size_t i = 0; i < k; i++) {
        if (a[i]->n != b[i]->n) {
            st = mpct_error_set(MPCT_ERR_ARG, "and: operands have %zu and %zu elements", a[i]->n, b[i]->n);
            goto done;
        }
        MPCT_CALL_GOTO(st, done, mpc_out_like(out[i], a[i]->shape));
        uint64_t *z = mpc_tmp(a[i]->n);
        if (!z) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "and: out of memory");
            goto done;
        }
        st = mpct_ctx_zero_share_xor(ctx, z, a[i]->n);
        if (st == MPCT_OK)
            ctx->k->and_cross(a[i]->n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], z, out[i]->s[0]);
        mpc_tmp_free(z, a[i]->n);
        if (st != MPCT_OK)
            goto done;
    }
    MPCT_CALL_GOTO(st, done, mpc_reshare_many(ctx, k, out));
done:
    OP_LEAVE(ctx);
    return st;
}

/* Boolean sharing of share x_j (held by P_j as s[0], P_{j-1} as s[1]). */
static void bool_of_component(const mpct_ctx_t *ctx, const mpct_share *x, int j, mpct_share *out)
{
    const int me = ctx->party;
    memset(out->s[0], 0, x->n * 8);
    memset(out->s[1], 0, x->n * 8);
    if (me == j)
        memcpy(out->s[0], x->s[0], x->n * 8);
    else if (NEXT(me) == j)
        memcpy(out->s[1], x->s[1], x->n * 8);
}

/* Packs the bits at positions that are multiples of f (= 2^L) of f
 * consecutive elements into one word by interleaving: element e's bit k*f
 * lands at k*f + (e mod f). Both AND operands are packed the same way, so
 * an AND of packed words is the AND of the elements' bits. */
static void pack_level(const uint64_t *x, size_t n, unsigned f, uint64_t mask, uint64_t *out)
{
    size_t words = (n + f - 1) / f;
    memset(out, 0, words * 8);
    for (size_t e = 0; e < n; e++)
        out[e / f] |= (x[e] & mask) << (e % f);
}

static void unpack_level(const uint64_t *in, size_t n, unsigned f, uint64_t mask, uint64_t *x)
{
    for (size_t e = 0; e < n; e++)
        x[e] = (in[e / f] >> (e % f)) & mask;
}

/* Mask of the bit positions that are multiples of f within a word. */
static uint64_t stride_mask(unsigned f)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < 64; i += f)
        m |= (uint64_t)1 << i;
    return m;
}

mpct_status mpct_share_msb(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *bits)
{
    const size_t n = x->n;
    mpct_status st = MPCT_OK;
    mpct_share c[3], u = {0}, v = {0}, G = {0}, P = {0}, t1 = {0}, A[2], Bq[2], O[2];
    memset(c, 0, sizeof c);
    memset(A, 0, sizeof A);
    memset(Bq, 0, sizeof Bq);
    memset(O, 0, sizeof O);
    uint64_t *p63v[2] = {NULL, NULL};
    OP_ENTER(ctx, "msb");
    for (int j = 0; j < 3; j++)
        MPCT_CALL_GOTO(st, done, mpct_share_init(&c[j], x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&u, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&v, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&G, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&P, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&t1, x->shape));
    for (int j = 0; j < 3; j++)
        bool_of_component(ctx, x, j, &c[j]);
    /* round 1: carry word cw = maj(x0, x1, x2) << 1, maj = ((x0^x2) & (x1^x2)) ^ x2 */
    for (int i = 0; i < 2; i++) {
        ctx->k->xor_(n, c[0].s[i], c[2].s[i], u.s[i]);
        ctx->k->xor_(n, c[1].s[i], c[2].s[i], v.s[i]);
    }
    {
        const mpct_share *a[1] = {&u}, *b[1] = {&v};
        mpct_share *o[1] = {&t1};
        MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 1, a, b, o));
    }
    /* s = x0 ^ x1 ^ x2 is shared as (x_i, x_{i+1}) itself */
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++) {
            t1.s[i][e] = (t1.s[i][e] ^ c[2].s[i][e]) << 1;
            P.s[i][e] = x->s[i][e];
        }
    /* round 2: g = s & cw; p = s ^ cw */
    {
        const mpct_share *a[1] = {&P}, *b[1] = {&t1};
        mpct_share *o[1] = {&G};
        MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 1, a, b, o));
    }
    for (int i = 0; i < 2; i++)
        ctx->k->xor_(n, P.s[i], t1.s[i], P.s[i]);
    /* msb = p63 ^ carry into bit 63. Set bit 63 to "propagate, no generate"
     * (g63 = 0, p63 = 1, a public constant: component 0 only) so that the
     * group generate over all 64 bits equals the carry out of bit 62. */
    const int me = ctx->party;
    for (int i = 0; i < 2; i++) {
        p63v[i] = mpc_tmp(n);
        if (!p63v[i]) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "msb: out of memory");
            goto done;
        }
        const int holds_c0 = (me == 0 && i == 0) || (me == 2 && i == 1);
        for (size_t e = 0; e < n; e++) {
            p63v[i][e] = P.s[i][e] >> 63;
            P.s[i][e] = (P.s[i][e] & ~((uint64_t)1 << 63)) | (holds_c0 ? (uint64_t)1 << 63 : 0);
            G.s[i][e] &= ~((uint64_t)1 << 63);
        }
    }
    /* rounds 3..8: a binary tree of (G, P) pairs over 64, 32, ..., 2 bit
     * groups. Level L combines groups at positions k*2^L and k*2^L + 2^(L-1):
     * G' = G_hi ^ (P_hi & G_lo), P' = P_hi & P_lo (G_hi, P_hi disjoint). The
     * operands of level L occupy one bit in 2^L, so 2^L elements are packed
     * per word: the ANDs send 2/2^L words per element (the last level 1/64),
     * about 2 words in all instead of 11 for a full prefix adder. */
    for (unsigned L = 1; L <= 6; L++) {
        const unsigned f = 1u << L, half = f >> 1;
        const uint64_t m = stride_mask(f);
        const size_t words = (n + f - 1) / f;
        const int last = L == 6;
        const int nand = last ? 1 : 2;
        for (int q = 0; q < nand; q++) {
            MPCT_CALL_GOTO(st, done, mpct_share_init(&A[q], mpct_shape_1d(words)));
            MPCT_CALL_GOTO(st, done, mpct_share_init(&Bq[q], mpct_shape_1d(words)));
        }
        for (int i = 0; i < 2; i++) {
            /* hi parts moved down onto the stride positions */
            for (size_t e = 0; e < n; e++) {
                u.s[i][e] = (P.s[i][e] >> half) & m; /* P_hi */
                v.s[i][e] = (G.s[i][e] >> half) & m; /* G_hi */
            }
            pack_level(u.s[i], n, f, m, A[0].s[i]); /* P_hi */
            pack_level(G.s[i], n, f, m, Bq[0].s[i]); /* G_lo */
            if (!last) {
                pack_level(u.s[i], n, f, m, A[1].s[i]); /* P_hi */
                pack_level(P.s[i], n, f, m, Bq[1].s[i]); /* P_lo */
            }
        }
        {
            const mpct_share *a[2] = {&A[0], &A[1]}, *b[2] = {&Bq[0], &Bq[1]};
            mpct_share *o[2] = {&O[0], &O[1]};
            MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, (size_t)nand, a, b, o));
        }
        for (int i = 0; i < 2; i++) {
            unpack_level(O[0].s[i], n, f, m, t1.s[i]);
            for (size_t e = 0; e < n; e++)
                G.s[i][e] = v.s[i][e] ^ t1.s[i][e];
            if (!last)
                unpack_level(O[1].s[i], n, f, m, P.s[i]);
        }
        for (int q = 0; q < 2; q++) {
            mpct_share_free(&A[q]);
            mpct_share_free(&Bq[q]);
            mpct_share_free(&O[q]);
        }
    }
    MPCT_CALL_GOTO(st, done, mpc_out_like(bits, x->shape));
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            bits->s[i][e] = (p63v[i][e] ^ G.s[i][e]) & 1;
done:
    for (int j = 0; j < 3; j++)
        mpct_share_free(&c[j]);
    for (int q = 0; q < 2; q++) {
        mpct_share_free(&A[q]);
        mpct_share_free(&Bq[q]);
        mpct_share_free(&O[q]);
        if (p63v[q])
            mpc_tmp_free(p63v[q], n);
    }
    mpct_share_free(&u);
    mpct_share_free(&v);
    mpct_share_free(&G);
    mpct_share_free(&P);
    mpct_share_free(&t1);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_b2a(mpct_ctx_t *ctx, const mpct_share *bits, mpct_share *out)
{
    const size_t n = bits->n;
    const int me = ctx->party;
    mpct_status st = MPCT_OK;
    mpct_share t = {0}, b2 = {0}, prod = {0};
    uint64_t *tv = NULL;
    OP_ENTER(ctx, "b2a");
    MPCT_CALL_GOTO(st, done, mpct_share_init(&t, bits->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&b2, bits->shape));
    if (me == 0) {
        tv = mpc_tmp(n);
        if (!tv) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "b2a: out of memory");
            goto done;
        }
        for (size_t e = 0; e < n; e++)
            tv[e] = (bits->s[0][e] ^ bits->s[1][e]) & 1;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_input(ctx, 0, tv, &t));
    /* b2: component 2 is s[0] on P2 and s[1] on P1 */
    if (me == 2)
        for (size_t e = 0; e < n; e++)
            b2.s[0][e] = bits->s[0][e] & 1;
    else if (me == 1)
        for (size_t e = 0; e < n; e++)
            b2.s[1][e] = bits->s[1][e] & 1;
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &t, &b2, &prod));
    MPCT_CALL_GOTO(st, done, mpc_out_like(out, bits->shape));
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            out->s[i][e] = t.s[i][e] + b2.s[i][e] - 2 * prod.s[i][e];
done:
    if (tv)
        mpc_tmp_free(tv, n);
    mpct_share_free(&t);
    mpct_share_free(&b2);
    mpct_share_free(&prod);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_ltz(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share bits = {0};
    OP_ENTER(ctx, "ltz");
    MPCT_CALL_GOTO(st, done, mpct_share_msb(ctx, x, &bits));
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
