/*
 * share_io.c — getting values into and out of the sharing: input (dense,
 * one-hot rows, or with its PRF component from a given stream), the pair
 * keys behind streamed inputs, public constants, and reveal.
 *
 * Costs per element, per party (ring words of 8 bytes):
 *   input          1 round; the owner sends 1 word to its prev, the others 0
 *   input_onehot   the same messages as input
 *   input_stream   the same messages as input
 *   pair_key       local (draws from a pairwise stream)
 *   public         local
 *   reveal(to one) 1 round; the target's prev sends 1 word
 *   reveal(all)    1 round; every party sends 1 word (to its next)
 *
 * Invariants: every party runs the same calls in the same order, so the
 * pairwise PRF streams stay in lock step; an input marks its output's zero
 * component (x_{o-1} = 0) on every party.
 */
#include "mpc-impl.h"

#include <string.h>

/* Input by `owner` o (1 round, the owner sends n words to P_{o-1}):
 *   x_{o+1} = F(k_{o+1})  drawn by its holders P_o and P_{o+1}
 *   x_{o-1} = 0           (held by P_{o-1} and P_{o+1}, who know nothing of v)
 *   x_o     = v - x_{o+1} computed by the owner, sent to P_{o-1}
 * P_{o+1} sees (random, 0); P_{o-1} sees (0, v - F(k_{o+1})), uniform to it
 * since it does not hold k_{o+1}. In two steps, so that other protocols
 * (the exact truncation) input values inside their own rounds:
 * mpc_input_draw sets x_{o+1} and x_{o-1} of words [off, off + n) (x_{o+1}
 * from words [pos, pos + n) of the stream prf, or, prf NULL, from the
 * context's pairwise stream of the owner and its next at its current
 * position); the owner then writes x_o into its s[0]; mpc_input_queue
 * queues x_o's message (wb-byte words) on a round. */
mpct_status mpc_input_draw(mpct_ctx_t *ctx, int owner, const mpct_prf_t *prf, uint64_t pos, mpct_share *out,
                           size_t off, size_t n)
{
    if (ctx->party == owner) /* holds (x_o, x_{o+1}) */
        return prf ? mpct_prf_fill_at(prf, pos, out->s[1] + off, n) : mpct_ctx_rand_next(ctx, out->s[1] + off, n);
    if (ctx->party == PREV(owner)) { /* holds (x_{o-1} = 0, x_o) */
        memset(out->s[0] + off, 0, n * 8);
        return MPCT_OK;
    }
    memset(out->s[1] + off, 0, n * 8); /* holds (x_{o+1}, x_{o-1} = 0) */
    return prf ? mpct_prf_fill_at(prf, pos, out->s[0] + off, n) : mpct_ctx_rand_own(ctx, out->s[0] + off, n);
}

void mpc_input_queue(mpc_round *r, int owner, mpct_share *out, size_t off, size_t n, unsigned wb)
{
    const int me = r->ctx->party;
    if (me == owner)
        mpc_round_send(r, MPC_PREV, out->s[0] + off, n, wb);
    else if (me == PREV(owner))
        mpc_round_recv(r, MPC_NEXT, out->s[1] + off, n, wb, 0);
}

/* The owner's input is either dense (plain) or one-hot rows (cols: row r
 * of out, viewed as rows x (n / rows), holds a 1 at column cols[r] and 0
 * elsewhere; cols[r] = -1 for a row of zeros). */
typedef struct input_src {
    const uint64_t *plain;
    const int32_t *cols;
    size_t rows;
} input_src;

static mpct_status share_input_impl(mpct_ctx_t *ctx, int owner, input_src src, const mpct_prf_t *prf,
                                    uint64_t pos, mpct_share *out)
{
    if (owner < 0 || owner > 2)
        return mpct_error_set(MPCT_ERR_ARG, "input owner must be party 0, 1 or 2, got %d", owner);
    if (!out->s[0])
        return mpct_error_set(MPCT_ERR_ARG, "input: output share must be initialised with its public shape");
    const size_t n = out->n;
    const int me = ctx->party;
    mpct_status st = MPCT_OK;
    mpc_round rd;
    OP_ENTER(ctx, "input");
    const size_t width = me == owner && src.cols && src.rows ? n / src.rows : 0;
    if (me == owner) {
        if (!src.plain && !src.cols) {
            st = mpct_error_set(MPCT_ERR_ARG, "input: owner party %d passed no data", owner);
            goto out;
        }
        if (src.cols && (!src.rows || width * src.rows != n)) {
            st = mpct_error_set(MPCT_ERR_ARG, "input: %zu one-hot rows do not divide %zu elements", src.rows, n);
            goto out;
        }
        for (size_t r = 0; src.cols && r < src.rows; r++)
            if (src.cols[r] < -1 || (src.cols[r] >= 0 && (size_t)src.cols[r] >= width)) {
                st = mpct_error_set(MPCT_ERR_ARG, "input: one-hot row %zu has column %d: want -1 or 0..%zu - 1",
                                    r, (int)src.cols[r], width);
                goto out;
            }
    }
    MPCT_CALL_GOTO(st, out, mpc_input_draw(ctx, owner, prf, pos, out, 0, n));
    if (me == owner && src.plain)
        ctx->k->sub(n, src.plain, out->s[1], out->s[0]);
    else if (me == owner) { /* no dense plaintext: x_o = -x_{o+1}, plus 1 at each row's column */
        ctx->k->mul_scalar(n, out->s[1], ~(uint64_t)0, out->s[0]);
        for (size_t r = 0; r < src.rows; r++)
            if (src.cols[r] >= 0)
                out->s[0][r * width + (size_t)src.cols[r]] += 1;
    }
    mpc_round_begin(&rd, ctx);
    mpc_input_queue(&rd, owner, out, 0, n, 8);
    MPCT_CALL_GOTO(st, out, mpc_round_exchange(&rd));
    mpct_share_mark_input(out, owner);
out:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_input(mpct_ctx_t *ctx, int owner, const uint64_t *plain, mpct_share *out)
{
    return share_input_impl(ctx, owner, (input_src){plain, NULL, 0}, NULL, 0, out);
}

mpct_status mpct_share_input_onehot(mpct_ctx_t *ctx, int owner, const int32_t *cols, size_t rows, mpct_share *out)
{
    return share_input_impl(ctx, owner, (input_src){NULL, cols, rows}, NULL, 0, out);
}

mpct_status mpct_share_input_stream(mpct_ctx_t *ctx, int owner, const uint64_t *plain, const mpct_prf_t *prf,
                                    uint64_t pos, mpct_share *out)
{
    if (!prf && ctx->party != PREV(owner))
        return mpct_error_set(MPCT_ERR_ARG, "input: party %d needs the owner pair's stream", ctx->party);
    return share_input_impl(ctx, owner, (input_src){plain, NULL, 0}, prf, pos, out);
}

mpct_status mpct_ctx_pair_key(mpct_ctx_t *ctx, int owner, uint8_t key[MPCT_PRF_KEY_BYTES], int *have)
{
    uint64_t w[2] = {0, 0};
    mpct_status st = MPCT_OK;
    *have = 0;
    if (owner < 0 || owner > 2)
        return mpct_error_set(MPCT_ERR_ARG, "pair key: owner must be party 0, 1 or 2, got %d", owner);
    if (ctx->party == owner)
        st = mpct_ctx_rand_next(ctx, w, 2);
    else if (ctx->party == NEXT(owner))
        st = mpct_ctx_rand_own(ctx, w, 2);
    else
        return MPCT_OK;
    if (st == MPCT_OK) {
        memcpy(key, w, MPCT_PRF_KEY_BYTES);
        *have = 1;
    }
    mpct_wipe(w, sizeof w);
    return st;
}

mpct_status mpct_share_input_fxp(mpct_ctx_t *ctx, int owner, const double *plain, mpct_share *out)
{
    uint64_t *enc = NULL;
    if (ctx->party == owner && plain) {
        enc = mpc_tmp(out->n);
        if (!enc)
            return mpct_error_set(MPCT_ERR_NOMEM, "input: out of memory");
        mpct_fxp_encode_array(plain, enc, out->n, ctx->frac_bits);
    }
    mpct_status st = mpct_share_input(ctx, owner, enc, out);
    if (enc)
        mpc_tmp_free(enc);
    if (st != MPCT_OK)
        mpct_error_trace(__FILE__, __LINE__, __func__);
    return st;
}

mpct_status mpct_share_public(mpct_ctx_t *ctx, const uint64_t *c, mpct_share *out)
{
    if (!out->s[0])
        return mpct_error_set(MPCT_ERR_ARG, "public: output share must be initialised with its shape");
    memset(out->s[0], 0, out->n * 8);
    memset(out->s[1], 0, out->n * 8);
    if (ctx->party == 0)
        memcpy(out->s[0], c, out->n * 8);
    else if (ctx->party == 2)
        memcpy(out->s[1], c, out->n * 8);
    return MPCT_OK;
}

/* Reveal: Pj misses x_{j-1}, which P_{j-1} holds as s[0] and sends to its next. */
mpct_status mpct_share_reveal(mpct_ctx_t *ctx, const mpct_share *x, int to, uint64_t *out)
{
    if (to < MPCT_ALL_PARTIES || to > 2)
        return mpct_error_set(MPCT_ERR_ARG, "reveal target must be a party 0..2 or all, got %d", to);
    const int me = ctx->party;
    const size_t n = x->n;
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "reveal");
    mpct_net_msg m = {0};
    if (to == MPCT_ALL_PARTIES || NEXT(me) == to) {
        m.to_next = x->s[0];
        m.to_next_bytes = n * 8;
    }
    if (to == MPCT_ALL_PARTIES || me == to) {
        m.from_prev = out;
        m.from_prev_bytes = n * 8;
    }
    MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m));
    if (to == MPCT_ALL_PARTIES || me == to)
        ctx->k->add3(n, out, x->s[0], x->s[1], 0, 0, ~(uint64_t)0, out);
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_reveal_fxp(mpct_ctx_t *ctx, const mpct_share *x, int to, double *out)
{
    int receives = to == MPCT_ALL_PARTIES || to == ctx->party;
    uint64_t *raw = receives ? mpc_tmp(x->n) : NULL;
    if (receives && !raw)
        return mpct_error_set(MPCT_ERR_NOMEM, "reveal: out of memory");
    mpct_status st = mpct_share_reveal(ctx, x, to, raw);
    if (st == MPCT_OK && receives)
        mpct_fxp_decode_array(raw, out, x->n, ctx->frac_bits);
    if (raw)
        mpc_tmp_free(raw);
    return st;
}
