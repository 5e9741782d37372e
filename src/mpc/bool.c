/*
 * bool.c — boolean sharings, most-significant-bit extraction, bit-to-
 * arithmetic conversion, comparison, select and ReLU.
 *
 * msb(x): x = x0 + x1 + x2 where Pi holds (x_i, x_{i+1}). Viewed as boolean
 * sharings, [x_j]^B has x_j in slot j and 0 elsewhere, so the XOR
 * s = x0 ^ x1 ^ x2 is shared as (x_i, x_{i+1}) itself — free. A carry-save
 * step gives the carry word c = maj(x0, x1, x2) << 1 with one AND
 * (maj(a,b,c) = ((a^c) & (b^c)) ^ c); then msb(s + c) = p63 ^ carry-in(63)
 * with a Kogge-Stone prefix over generate/propagate words: g = s & c (1 AND
 * round), then 6 levels G ^= P & (G << k), P &= P << k (k = 1..32; the last
 * level needs no P). Rounds: 1 + 1 + 6 = 8. Words sent per element:
 * 1 + 1 + 5*2 + 1 = 13 (104 bytes).
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

mpct_status mpct_share_msb(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *bits)
{
    const size_t n = x->n;
    mpct_status st = MPCT_OK;
    mpct_share c[3] = {0}, u = {0}, v = {0}, G = {0}, P = {0}, t1 = {0}, t2 = {0};
    OP_ENTER(ctx, "msb");
    for (int j = 0; j < 3; j++)
        MPCT_CALL_GOTO(st, done, mpct_share_init(&c[j], x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&u, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&v, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&G, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&P, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&t1, x->shape));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&t2, x->shape));
    for (int j = 0; j < 3; j++)
        bool_of_component(ctx, x, j, &c[j]);
    /* u = x0 ^ x2, v = x1 ^ x2; maj = (u & v) ^ x2 */
    for (int i = 0; i < 2; i++) {
        ctx->k->xor_(n, c[0].s[i], c[2].s[i], u.s[i]);
        ctx->k->xor_(n, c[1].s[i], c[2].s[i], v.s[i]);
    }
    {
        const mpct_share *a[1] = {&u}, *b[1] = {&v};
        mpct_share *o[1] = {&t1};
        MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 1, a, b, o));
    }
    /* carry word cw = maj << 1 (in t1); s = shares of x itself (in P) */
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++) {
            t1.s[i][e] = (t1.s[i][e] ^ c[2].s[i][e]) << 1;
            P.s[i][e] = x->s[i][e] ^ 0; /* s = x0 ^ x1 ^ x2 shared as (x_i, x_{i+1}) */
        }
    {
        const mpct_share *a[1] = {&P}, *b[1] = {&t1};
        mpct_share *o[1] = {&G};
        MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 1, a, b, o)); /* g = s & cw */
    }
    for (int i = 0; i < 2; i++)
        ctx->k->xor_(n, P.s[i], t1.s[i], P.s[i]); /* p = s ^ cw */
    /* keep p63 aside: the answer is p63 ^ G62 */
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            v.s[i][e] = P.s[i][e] >> 63;
    for (int sh = 1; sh < 64; sh <<= 1) {
        for (int i = 0; i < 2; i++)
            for (size_t e = 0; e < n; e++) {
                u.s[i][e] = G.s[i][e] << sh;  /* G shifted */
                c[0].s[i][e] = P.s[i][e] << sh; /* P shifted */
            }
        if (sh < 32) {
            const mpct_share *a[2] = {&P, &P}, *b[2] = {&u, &c[0]};
            mpct_share *o[2] = {&t1, &t2};
            MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 2, a, b, o));
            for (int i = 0; i < 2; i++) {
                ctx->k->xor_(n, G.s[i], t1.s[i], G.s[i]);
                memcpy(P.s[i], t2.s[i], n * 8);
            }
        } else {
            const mpct_share *a[1] = {&P}, *b[1] = {&u};
            mpct_share *o[1] = {&t1};
            MPCT_CALL_GOTO(st, done, mpct_share_and_many(ctx, 1, a, b, o));
            for (int i = 0; i < 2; i++)
                ctx->k->xor_(n, G.s[i], t1.s[i], G.s[i]);
        }
    }
    MPCT_CALL_GOTO(st, done, mpc_out_like(bits, x->shape));
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            bits->s[i][e] = (v.s[i][e] ^ (G.s[i][e] >> 62)) & 1;
done:
    for (int j = 0; j < 3; j++)
        mpct_share_free(&c[j]);
    mpct_share_free(&u);
    mpct_share_free(&v);
    mpct_share_free(&G);
    mpct_share_free(&P);
    mpct_share_free(&t1);
    mpct_share_free(&t2);
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
