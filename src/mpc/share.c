/*
 * share.c — arithmetic replicated sharing: input, reveal, linear ops,
 * multiplication, matrix multiplication and probabilistic truncation.
 * Costs are listed in mpct_mpc.h; each function states its message pattern.
 */
#include "mpc-impl.h"

#include <string.h>

static mpct_status share_alloc(mpct_share *x, mpct_shape shape, void *(*alloc)(size_t))
{
    x->shape = shape;
    x->zero_comp = 0;
    x->n = mpct_shape_numel(shape);
    x->s[0] = alloc((x->n ? x->n : 1) * sizeof(uint64_t));
    x->s[1] = alloc((x->n ? x->n : 1) * sizeof(uint64_t));
    if (!x->s[0] || !x->s[1]) {
        mpct_share_free(x);
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate a share of %zu elements", mpct_shape_numel(shape));
    }
    return MPCT_OK;
}

mpct_status mpct_share_init(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_calloc);
}

mpct_status mpct_share_init_scratch(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_scratch_calloc);
}

mpct_status mpct_share_init_scratch_nofill(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_scratch_alloc);
}

void mpct_share_free(mpct_share *x)
{
    if (!x)
        return;
    for (int i = 0; i < 2; i++) {
        if (x->s[i])
            mpct_scratch_free(x->s[i]);
        x->s[i] = NULL;
    }
    x->n = 0;
}

mpct_status mpc_out_like(mpct_share *out, mpct_shape shape)
{
    if (out->s[0]) {
        if (out->n != mpct_shape_numel(shape))
            return mpct_error_set(MPCT_ERR_ARG, "output share has %zu elements, operation produces %zu",
                                  out->n, mpct_shape_numel(shape));
        out->shape = shape;
        out->zero_comp = 0;
        return MPCT_OK;
    }
    /* every caller writes all of both components: no zero fill (freed
     * memory was wiped, so nothing stale shows through either way) */
    return share_alloc(out, shape, mpct_scratch_alloc);
}

mpct_status mpct_share_copy(const mpct_share *x, mpct_share *out)
{
    MPCT_CALL(mpc_out_like(out, x->shape));
    memcpy(out->s[0], x->s[0], x->n * sizeof(uint64_t));
    memcpy(out->s[1], x->s[1], x->n * sizeof(uint64_t));
    out->zero_comp = x->zero_comp; /* the same values: the same zero component */
    return MPCT_OK;
}

mpct_share mpct_share_view(const mpct_share *x, size_t off, size_t len)
{
    mpct_share v = {mpct_shape_1d(len), len, {x->s[0] + off, x->s[1] + off}, 0};
    return v;
}

/* Rows by columns, no division per element (e / C with C not a constant
 * took ~45 % of softmax's own perf samples when these loops indexed so). */
void mpct_share_row_sums(const mpct_share *x, size_t C, mpct_share *out)
{
    const size_t R = out->n;
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *restrict xr = x->s[i] + row * C;
            uint64_t acc = 0;
            for (size_t j = 0; j < C; j++)
                acc += xr[j];
            out->s[i][row] = acc;
        }
}

void mpct_share_bcast_rows(const mpct_share *v, size_t C, mpct_share *out)
{
    const size_t R = v->n;
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t x = v->s[i][row];
            uint64_t *restrict o = out->s[i] + row * C;
            for (size_t j = 0; j < C; j++)
                o[j] = x;
        }
}

/* Input by `owner` o (1 round, the owner sends n words to P_{o-1}):
 *   x_{o+1} = F(k_{o+1})  drawn by its holders P_o and P_{o+1}
 *   x_{o-1} = 0           (held by P_{o-1} and P_{o+1}, who know nothing of v)
 *   x_o     = v - x_{o+1} computed by the owner, sent to P_{o-1}
 * P_{o+1} sees (random, 0); P_{o-1} sees (0, v - F(k_{o+1})), uniform to it
 * since it does not hold k_{o+1}. */
/* Input with the x_{o+1} component taken from words [pos, pos + n) of the
 * stream prf (NULL: the context's pairwise stream of the owner and its next,
 * at its current position). */
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
    OP_ENTER(ctx, "input");
    if (me == owner) {
        if (!src.plain && !src.cols) {
            st = mpct_error_set(MPCT_ERR_ARG, "input: owner party %d passed no data", owner);
            goto out;
        }
        const size_t width = src.cols && src.rows ? n / src.rows : 0;
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
        /* holds (x_o, x_{o+1}) */
        MPCT_CALL_GOTO(st, out, prf ? mpct_prf_fill_at(prf, pos, out->s[1], n) : mpct_ctx_rand_next(ctx, out->s[1], n));
        if (src.plain)
            for (size_t i = 0; i < n; i++)
                out->s[0][i] = src.plain[i] - out->s[1][i];
        else { /* no dense plaintext: x_o = -x_{o+1}, plus 1 at each row's column */
            for (size_t i = 0; i < n; i++)
                out->s[0][i] = 0 - out->s[1][i];
            for (size_t r = 0; r < src.rows; r++)
                if (src.cols[r] >= 0)
                    out->s[0][r * width + (size_t)src.cols[r]] += 1;
        }
        mpct_net_msg m = {.to_prev = out->s[0], .to_prev_bytes = n * 8};
        MPCT_CALL_GOTO(st, out, mpct_net_round(ctx->net, &m));
    } else if (me == NEXT(owner)) {
        /* holds (x_{o+1}, x_{o-1} = 0) */
        MPCT_CALL_GOTO(st, out, prf ? mpct_prf_fill_at(prf, pos, out->s[0], n) : mpct_ctx_rand_own(ctx, out->s[0], n));
        memset(out->s[1], 0, n * 8);
        mpct_net_msg m = {0};
        MPCT_CALL_GOTO(st, out, mpct_net_round(ctx->net, &m));
    } else {
        /* holds (x_{o-1} = 0, x_o) */
        memset(out->s[0], 0, n * 8);
        mpct_net_msg m = {.from_next = out->s[1], .from_next_bytes = n * 8};
        MPCT_CALL_GOTO(st, out, mpct_net_round(ctx->net, &m));
    }
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
        for (size_t i = 0; i < n; i++)
            out[i] += x->s[0][i] + x->s[1][i];
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

/* ---- local linear ops ---- */
static mpct_status same_n(const mpct_share *a, const mpct_share *b, const char *op)
{
    if (a->n != b->n)
        return mpct_error_set(MPCT_ERR_ARG, "%s: operands have %zu and %zu elements", op, a->n, b->n);
    return MPCT_OK;
}

mpct_status mpct_share_add(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    MPCT_CALL(same_n(a, b, "add"));
    MPCT_CALL(mpc_out_like(out, a->shape));
    for (int i = 0; i < 2; i++)
        ctx->k->add(a->n, a->s[i], b->s[i], out->s[i]);
    return MPCT_OK;
}

mpct_status mpct_share_sub(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    MPCT_CALL(same_n(a, b, "sub"));
    MPCT_CALL(mpc_out_like(out, a->shape));
    for (int i = 0; i < 2; i++)
        ctx->k->sub(a->n, a->s[i], b->s[i], out->s[i]);
    return MPCT_OK;
}

mpct_status mpct_share_neg(mpct_ctx_t *ctx, const mpct_share *a, mpct_share *out)
{
    (void)ctx;
    MPCT_CALL(mpc_out_like(out, a->shape));
    const size_t n = a->n; /* a local bound: a->n may alias the stores, which would keep the loop scalar */
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < n; j++)
            out->s[i][j] = 0 - a->s[i][j];
    return MPCT_OK;
}

/* The constant joins share x0, held by P0 (s[0]) and P2 (s[1]). */
mpct_status mpct_share_add_const(mpct_ctx_t *ctx, const mpct_share *a, const uint64_t *c, size_t c_len,
                                 mpct_share *out)
{
    if (c_len != 1 && c_len != a->n)
        return mpct_error_set(MPCT_ERR_ARG, "add_const: %zu constants for %zu elements", c_len, a->n);
    if (out != a)
        MPCT_CALL(mpct_share_copy(a, out));
    int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
    const size_t n = a->n;
    if (slot >= 0 && c_len == 1)
        for (size_t j = 0; j < n; j++)
            out->s[slot][j] += c[0];
    else if (slot >= 0)
        for (size_t j = 0; j < n; j++)
            out->s[slot][j] += c[j];
    return MPCT_OK;
}

mpct_status mpct_share_mul_const(mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out)
{
    (void)ctx;
    MPCT_CALL(mpc_out_like(out, a->shape));
    const size_t n = a->n;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < n; j++)
            out->s[i][j] = a->s[i][j] * c;
    return MPCT_OK;
}

/* ---- products ----
 * Every product ends the same way: Pi holds z_i (a 3-out-of-3 share, masked
 * with a zero-sharing), sends it to prev and receives z_{i+1} from next.
 * reshare_many batches k outputs into that one round. */
mpct_status mpc_reshare_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += out[i]->n;
    if (k == 1) { /* send s[0] as it is, receive straight into s[1] */
        mpct_net_msg m = {.to_prev = out[0]->s[0], .to_prev_bytes = total * 8, .from_next = out[0]->s[1],
                          .from_next_bytes = total * 8};
        return mpct_net_round(ctx->net, &m);
    }
    uint64_t *sbuf = mpc_tmp(total), *rbuf = mpc_tmp(total);
    mpct_status st = MPCT_OK;
    if (!sbuf || !rbuf) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "reshare: out of memory for %zu words", total);
        goto done;
    }
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        memcpy(sbuf + off, out[i]->s[0], out[i]->n * 8);
        off += out[i]->n;
    }
    mpct_net_msg m = {.to_prev = sbuf, .to_prev_bytes = total * 8, .from_next = rbuf,
                      .from_next_bytes = total * 8};
    MPCT_CALL_GOTO(st, done, mpct_net_round(ctx->net, &m));
    off = 0;
    for (size_t i = 0; i < k; i++) {
        memcpy(out[i]->s[1], rbuf + off, out[i]->n * 8);
        off += out[i]->n;
    }
done:
    if (sbuf)
        mpc_tmp_free(sbuf);
    if (rbuf)
        mpc_tmp_free(rbuf);
    return st;
}

mpct_status mpct_share_mul_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul");
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL_GOTO(st, done, same_n(a[i], b[i], "mul"));
        MPCT_CALL_GOTO(st, done, mpc_out_like(out[i], a[i]->shape));
        uint64_t *z = mpc_tmp(a[i]->n);
        if (!z) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "mul: out of memory");
            goto done;
        }
        st = mpct_ctx_zero_share(ctx, z, a[i]->n);
        if (st == MPCT_OK) /* out may alias a or b: s[0] is written last */
            ctx->k->mul_cross(a[i]->n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], z, out[i]->s[0]);
        mpc_tmp_free(z);
        if (st != MPCT_OK)
            goto done;
    }
    MPCT_CALL_GOTO(st, done, mpc_reshare_many(ctx, k, out));
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_mul(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    return mpct_share_mul_many(ctx, 1, &a, &b, &out);
}

/* 1 when all n words are zero; stops at the first non-zero block. */
static int words_zero(const uint64_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 512) {
        const size_t e = n - i < 512 ? n - i : 512;
        uint64_t acc = 0;
        for (size_t j = 0; j < e; j++)
            acc |= p[i + j];
        if (acc)
            return 0;
    }
    return 1;
}

/* C (=|+=) A (b + b1), b1 NULL for A b; b1 needs the backend's gemm_bsum. */
static void gemm_b(mpct_ctx_t *ctx, size_t m, size_t n, size_t kd, const uint64_t *A, const uint64_t *b,
                   const uint64_t *b1, uint64_t *c, int acc)
{
    if (b1)
        ctx->k->gemm_bsum(m, n, kd, A, b, b1, c, acc);
    else
        ctx->k->gemm(m, n, kd, A, b, c, acc);
}

/* (a0 + a1) b, or (a0 + a1)(b + b1), into c: a's sum formed in blocks of
 * at most min(m, n) rows (a scratch buffer, so it stays small); two GEMMs
 * when there is no memory for it. */
static void gemm_asum(mpct_ctx_t *ctx, size_t m, size_t n, size_t kd, const uint64_t *a0, const uint64_t *a1,
                      const uint64_t *b, const uint64_t *b1, uint64_t *c)
{
    const size_t rb = m < n ? m : n ? n : 1;
    uint64_t *asum = mpc_tmp(rb * kd);
    if (!asum) {
        gemm_b(ctx, m, n, kd, a0, b, b1, c, 0);
        gemm_b(ctx, m, n, kd, a1, b, b1, c, 1);
        return;
    }
    for (size_t r0 = 0; r0 < m; r0 += rb) {
        const size_t rows = m - r0 < rb ? m - r0 : rb;
        ctx->k->add(rows * kd, a0 + r0 * kd, a1 + r0 * kd, asum);
        gemm_b(ctx, rows, n, kd, asum, b, b1, c + r0 * n, 0);
    }
    mpc_tmp_free(asum);
}

/* The client's share of a product whose left operand it knows in the clear
 * (asum = a0 + a1, rows x kd): c = asum b0 by a gather of b0's rows at the
 * non-zeros of asum. Every row costs the same (an empty row, e.g. padding,
 * adds 0 times row 0), so the time shows no token count. Returns 0 when a
 * row has more than 8 non-zeros: the caller then runs the GEMM, which
 * overwrites c. */
static int gather_rows(size_t m, size_t n, size_t kd, const uint64_t *a0, const uint64_t *a1, const uint64_t *b0,
                       uint64_t *c)
{
    enum { MAXNZ = 8 };
    if (!kd)
        return 0;
    for (size_t r = 0; r < m; r++) {
        size_t idx[MAXNZ], nz = 0;
        uint64_t val[MAXNZ];
        const uint64_t *x0 = a0 + r * kd, *x1 = a1 + r * kd;
        for (size_t q = 0; q < kd; q++) {
            const uint64_t v = x0[q] + x1[q];
            if (v) {
                if (nz == MAXNZ)
                    return 0;
                idx[nz] = q;
                val[nz++] = v;
            }
        }
        if (!nz) { /* the same work as a one-hot row */
            idx[0] = 0;
            val[nz++] = 0;
        }
        uint64_t *restrict o = c + r * n;
        memset(o, 0, n * sizeof *o);
        for (size_t t = 0; t < nz; t++) {
            const uint64_t *restrict row = b0 + idx[t] * n, v = val[t];
            for (size_t q = 0; q < n; q++)
                o[q] += v * row[q];
        }
    }
    return 1;
}

static _Thread_local unsigned long gemm32s;
unsigned long mpct_share_gemm32_count(void) { return gemm32s; }

void mpct_share_low32_free(mpct_share_low32 *l)
{
    for (int i = 0; i < 2; i++) {
        mpct_free_secret(l->s[i]);
        l->s[i] = NULL;
    }
    l->n = 0;
    l->b0_zero = 0;
}

/* The cache for b: emptied when it was made for a share of another size
 * (either slot), then b0's zero test (a scan of b0, once). */
static void low32_bind(mpct_share_low32 *bl, const mpct_share *b)
{
    if ((bl->s[0] || bl->s[1] || bl->b0_zero) && bl->n != b->n)
        mpct_share_low32_free(bl);
    bl->n = b->n;
    if (!bl->b0_zero)
        bl->b0_zero = words_zero(b->s[0], b->n) ? 1 : -1;
}

/* The low halves of b's slot, from the cache (made on first use). */
static const uint32_t *low32_of(mpct_share_low32 *bl, const mpct_share *b, int slot)
{
    if (!bl->s[slot]) {
        uint32_t *w = mpct_alloc((b->n ? b->n : 1) * sizeof *w);
        if (!w)
            return NULL;
        for (size_t i = 0; i < b->n; i++)
            w[i] = (uint32_t)b->s[slot][i];
        bl->s[slot] = w;
    }
    return bl->s[slot];
}

/* The classic split's single product (a1 b0 when a0 is zero, a0 b1 when
 * b0 is) into c: mod 2^32 from b's cached low halves when lifting (bl),
 * else over Z_2^64. 1 when out of memory. */
static int single_product(mpct_ctx_t *ctx, mpct_share_low32 *bl, const mpct_share *b, int slot, size_t m,
                          size_t n, size_t kd, const uint64_t *A, const uint64_t *B, uint64_t *c)
{
    if (!bl) {
        ctx->k->gemm(m, n, kd, A, B, c, 0);
        return 0;
    }
    const uint32_t *B32 = low32_of(bl, b, slot);
    if (!B32)
        return 1;
    ctx->k->gemm32(m, n, kd, A, B32, c);
    gemm32s++;
    return 0;
}

enum { MM_CLASSIC, MM_SPARSE_CLIENT };

/* Products this thread computed by the client's row gather (for tests). */
static _Thread_local unsigned long gathers, hinted;
unsigned long mpct_share_gather_count(void) { return gathers; }
unsigned long mpct_share_hinted_count(void) { return hinted; }

/* b0 + b1 as one GEMM operand: (b0, b1) for a backend with gemm_bsum, else
 * the sum in *buf (allocated on first use, kd x n words). 1 when out of
 * memory. */
static int bsum_operand(mpct_ctx_t *ctx, const uint64_t *b0, const uint64_t *b1, size_t len, uint64_t **buf,
                        const uint64_t **x, const uint64_t **x1)
{
    if (ctx->k->gemm_bsum) {
        *x = b0, *x1 = b1;
        return 0;
    }
    if (!*buf && !(*buf = mpc_tmp(len)))
        return 1;
    ctx->k->add(len, b0, b1, *buf);
    *x = *buf, *x1 = NULL;
    return 0;
}

/* The local part of a matmul: out->s[0] = this party's additive term of
 * the product (no zero sharing, no round). Allocates out with the
 * product's shape.
 *
 * Classic split: party i computes a_i b_i + a_i b_{i+1} + a_{i+1} b_i, as
 * a_i (b_i + b_{i+1}) + a_{i+1} b_i: two GEMMs. Components that are zero on
 * this party (an input's x_{o-1}) save one of them.
 *
 * When b's zero component j is public (b->zero_comp, e.g. the weights the
 * owner input), the nine terms a_r b_s are split so that each party runs
 * one GEMM: the party that does not hold b_j (i = j + 1) computes
 * (a_i + a_{i+1})(b_i + b_{i+1}), four terms; the party whose slot 0 is b_j
 * computes a_j b_{j+1} (its a0 b1) and a_{j+1} b_j (a1 b0, zero); the party
 * whose slot 1 is b_j computes a_j b_{j-1} (a1 b0) and a_{j-1} b_j + a_j b_j
 * ((a0 + a1) b1, zero). The terms with b_j are skipped only when this party
 * sees its b_j slot zero, so the split is right for any b: zero_comp is a
 * hint, never trusted for correctness, as long as all three parties pass
 * the same value (every setter runs on all parties: input, mpc_out_like,
 * mpct_smodel_hint_owner); parties that disagreed would count terms twice
 * or not at all.
 *
 * MM_SPARSE_CLIENT: see mpct_share_matmul_sparse_input (classic split, the
 * client's a0 + a1 is its input in the clear).
 *
 * bl (2-D, a backend with gemm32; else ignored): the term is only needed
 * mod 2^32 (mpct_share_matmul_sparse_lift), and the classic split's single
 * products run as 32-bit GEMMs on b's cached low halves. */
static mpct_status matmul_local(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out,
                                int mode, int client, mpct_share_low32 *bl)
{
    size_t batch, m, kd, n;
    if (a->shape.ndim == 2 && b->shape.ndim == 2) {
        batch = 1, m = a->shape.dim[0], kd = a->shape.dim[1], n = b->shape.dim[1];
        if (b->shape.dim[0] != kd)
            return mpct_error_set(MPCT_ERR_ARG, "matmul: inner dimensions differ (%zu vs %zu)", kd,
                                  b->shape.dim[0]);
    } else if (a->shape.ndim == 3 && b->shape.ndim == 3) {
        batch = a->shape.dim[0], m = a->shape.dim[1], kd = a->shape.dim[2], n = b->shape.dim[2];
        if (b->shape.dim[0] != batch || b->shape.dim[1] != kd)
            return mpct_error_set(MPCT_ERR_ARG, "matmul: batched shapes do not match");
    } else {
        return mpct_error_set(MPCT_ERR_ARG, "matmul: operands must both be 2-D or both 3-D");
    }
    mpct_shape oshape = batch == 1 && a->shape.ndim == 2 ? mpct_shape_2d(m, n) : mpct_shape_3d(batch, m, n);
    if (out == a || out == b)
        return mpct_error_set(MPCT_ERR_ARG, "matmul: output must not alias an operand");
    const int me = ctx->party;
    const int zj = mode == MM_CLASSIC && b->zero_comp >= 1 && b->zero_comp <= 3 ? b->zero_comp - 1 : -1;
    MPCT_CALL(mpc_out_like(out, oshape));
    if (bl && (!ctx->k->gemm32 || batch > 1)) /* the 32-bit single products: 2-D, backends that have them */
        bl = NULL;
    if (bl)
        low32_bind(bl, b);
    /* b0 + b1 on first use, where the backend cannot sum while packing:
     * most splits need none (the embedding's b is 30522 x 384) */
    uint64_t *bsum = NULL;
    mpct_status st = MPCT_OK;
    for (size_t t = 0; st == MPCT_OK && t < batch; t++) {
        const uint64_t *a0 = a->s[0] + t * m * kd, *a1 = a->s[1] + t * m * kd;
        const uint64_t *b0 = b->s[0] + t * kd * n, *b1 = b->s[1] + t * kd * n, *x = NULL, *x1 = NULL;
        uint64_t *c = out->s[0] + t * m * n;
        if (zj >= 0) {
            hinted++;
            if (zj == NEXT(me)) { /* slot 1 is b_j: a_j b_{j-1} = a1 b0, + (a0 + a1) b1 */
                const int b1_zero = words_zero(b1, kd * n);
                if (!b1_zero)
                    gemm_asum(ctx, m, n, kd, a0, a1, b1, NULL, c);
                ctx->k->gemm(m, n, kd, a1, b0, c, !b1_zero);
            } else if (zj == me) { /* slot 0 is b_j: a_j b_{j+1} = a0 b1, + a1 b0 */
                ctx->k->gemm(m, n, kd, a0, b1, c, 0);
                if (!words_zero(b0, kd * n))
                    ctx->k->gemm(m, n, kd, a1, b0, c, 1);
            } else if (bsum_operand(ctx, b0, b1, kd * n, &bsum, &x, &x1)) {
                st = mpct_error_set(MPCT_ERR_NOMEM, "matmul: out of memory");
            } else { /* (a0 + a1)(b0 + b1) */
                gemm_asum(ctx, m, n, kd, a0, a1, x, x1, c);
            }
            continue;
        }
        const int za0 = words_zero(a0, m * kd), zb0 = bl ? bl->b0_zero > 0 : words_zero(b0, kd * n);
        if (za0 || zb0) {
            if (za0 && zb0)
                memset(c, 0, m * n * sizeof *c);
            else if (single_product(ctx, bl, b, za0 ? 0 : 1, m, n, kd, za0 ? a1 : a0, za0 ? b0 : b1, c))
                st = mpct_error_set(MPCT_ERR_NOMEM, "matmul: out of memory for the table's low halves");
            continue;
        }
        const int zb1 = words_zero(b1, kd * n);
        if (mode == MM_SPARSE_CLIENT && me == client && zb1 && gather_rows(m, n, kd, a0, a1, b0, c)) {
            gathers++;
            continue; /* (a0 + a1) b0 with a0 + a1 sparse */
        }
        if (zb1) {
            gemm_asum(ctx, m, n, kd, a0, a1, b0, NULL, c); /* (a0 + a1) b0: one GEMM */
        } else if (bsum_operand(ctx, b0, b1, kd * n, &bsum, &x, &x1)) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "matmul: out of memory");
        } else { /* a0 (b0 + b1) + a1 b0 */
            gemm_b(ctx, m, n, kd, a0, x, x1, c, 0);
            if (!words_zero(a1, m * kd))
                ctx->k->gemm(m, n, kd, a1, b0, c, 1);
        }
    }
    mpc_tmp_free(bsum);
    return st;
}

static mpct_status trunc_exact_gen(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
                                   mpct_share *const *out, unsigned L);

/* The product's terms (matmul_local), then a resharing; or, lifted
 * (mpct_share_matmul_sparse_lift), terms mod 2^32 (from bl's low halves
 * where it can) turned into a sharing over Z_2^64 by the exact
 * truncation's protocol with a 32-bit opening and no shift. */
static mpct_status matmul_mode(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int mode,
                               int client, int lift, mpct_share_low32 *bl)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "matmul");
    MPCT_CALL_GOTO(st, done, matmul_local(ctx, a, b, out, mode, client, lift ? bl : NULL));
    if (lift) {
        const int d0 = 0;
        mpct_share *o = out;
        st = trunc_exact_gen(ctx, 1, NULL, &d0, out->n, &o, 32);
        goto done;
    }
    uint64_t *z = mpc_tmp(out->n);
    if (!z) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "matmul: out of memory");
        goto done;
    }
    st = mpct_ctx_zero_share(ctx, z, out->n);
    if (st == MPCT_OK)
        ctx->k->add(out->n, out->s[0], z, out->s[0]);
    mpc_tmp_free(z);
    if (st != MPCT_OK)
        goto done;
    MPCT_CALL_GOTO(st, done, mpc_reshare_many(ctx, 1, &out));
done:
    OP_LEAVE(ctx);
    return st;
}

static mpct_status check_client(int client)
{
    if (client < -1 || client > 2)
        return mpct_error_set(MPCT_ERR_ARG, "matmul: client must be party 0, 1 or 2 (or -1), got %d", client);
    return MPCT_OK;
}

mpct_status mpct_share_matmul_sparse_input(mpct_ctx_t *ctx, int client, const mpct_share *a, const mpct_share *b,
                                           mpct_share *out)
{
    MPCT_CALL(check_client(client));
    return matmul_mode(ctx, a, b, out, client < 0 ? MM_CLASSIC : MM_SPARSE_CLIENT, client, 0, NULL);
}

mpct_status mpct_share_matmul_sparse_lift(mpct_ctx_t *ctx, int client, const mpct_share *a, const mpct_share *b,
                                          mpct_share_low32 *bl, mpct_share *out)
{
    MPCT_CALL(check_client(client));
    /* the classic split on every party (no owner hint: its single
     * products are the ones the 32-bit path computes; client -1: nobody
     * gathers) */
    return matmul_mode(ctx, a, b, out, MM_SPARSE_CLIENT, client, 1, bl);
}

mpct_status mpct_share_matmul(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    return matmul_mode(ctx, a, b, out, MM_CLASSIC, -1, 0, NULL);
}

/* ---- truncation ----
 * Probabilistic (ABY3 trunc1 / SecureML), 1 round: u = x0 + x1 (P0),
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
 * (ceil(d/8) bytes each: see trunc_exact_gen). Bytes sent per element, with
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

static inline uint64_t low_mask(unsigned d) { return d >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << d) - 1; }
/* The exact truncation's M - B from its mask r < 2^L: msb(r) 2^(L-d) - (r >> d). */
static inline uint64_t m_minus_b(uint64_t r, unsigned d, unsigned L)
{
    return ((r >> (L - 1)) << (L - d)) - (r >> d);
}
/* trunc_exact_gen's items: over Z_2^64 a shift of 0 means "not this one";
 * the lift from Z_2^32 (L = 32) shifts by 0. */
static inline int skip_item(unsigned L, int d) { return L == 64 && d == 0; }

/* The low wb bytes (1..8) of each word, little-endian, back to back. On
 * little-endian machines whole words are stored at a stride of wb bytes
 * (each store's excess bytes are overwritten by the next one) and the
 * common widths use 2- and 4-byte stores, which vectorise; the last words
 * and other machines go byte by byte. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MPCT_LE 1
#else
#define MPCT_LE 0
#endif
static void pack_low(const uint64_t *restrict v, size_t n, unsigned wb, uint8_t *restrict out)
{
    size_t j = 0;
    if (MPCT_LE && wb == 8) {
        memcpy(out, v, n * 8);
        return;
    }
    if (MPCT_LE && wb == 2)
        for (; j < n; j++) {
            const uint16_t h = (uint16_t)v[j];
            memcpy(out + 2 * j, &h, 2);
        }
    else if (MPCT_LE && wb == 4)
        for (; j < n; j++) {
            const uint32_t h = (uint32_t)v[j];
            memcpy(out + 4 * j, &h, 4);
        }
    else if (MPCT_LE)
        for (; j * wb + 8 <= n * wb; j++)
            memcpy(out + j * wb, &v[j], 8);
    for (; j < n; j++)
        for (unsigned b = 0; b < wb; b++)
            out[j * wb + b] = (uint8_t)(v[j] >> (8 * b));
}

/* v's words as wb-byte wire words: v itself when wb is 8, else packed into
 * tmp (n * wb bytes). */
static const void *wire(const uint64_t *v, size_t n, unsigned wb, uint8_t *tmp)
{
    if (wb == 8)
        return v;
    pack_low(v, n, wb, tmp);
    return tmp;
}

/* The inverse of pack_low, each word shifted left by sh on the way. */
static void unpack_low(const uint8_t *restrict in, size_t n, unsigned wb, unsigned sh, uint64_t *restrict v)
{
    size_t j = 0;
    if (MPCT_LE && wb == 2)
        for (; j < n; j++) {
            uint16_t h;
            memcpy(&h, in + 2 * j, 2);
            v[j] = (uint64_t)h << sh;
        }
    else if (MPCT_LE && wb == 4)
        for (; j < n; j++) {
            uint32_t h;
            memcpy(&h, in + 4 * j, 4);
            v[j] = (uint64_t)h << sh;
        }
    else if (MPCT_LE) {
        const uint64_t mask = low_mask(8 * wb);
        for (; j * wb + 8 <= n * wb; j++) {
            uint64_t w;
            memcpy(&w, in + j * wb, 8);
            v[j] = (w & mask) << sh;
        }
    }
    for (; j < n; j++) {
        uint64_t w = 0;
        for (unsigned b = 0; b < wb; b++)
            w |= (uint64_t)in[j * wb + b] << (8 * b);
        v[j] = w << sh;
    }
}

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
static mpct_status trunc_exact_gen(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d, size_t total,
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
    const uint64_t offL = (uint64_t)1 << (L - 2), lmask = low_mask(L);
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
            m1.to_next = wire(buf, total, wb1, m1b);
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
            m1.to_prev = wire(buf, total, wb1, m1b);
            m1.to_prev_bytes = total * wb1;
        } else if (me == 1) {
            m1.to_next = wire(buf, total, wb1, m1b);
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
        unpack_low(m1b, total, wb1, 0, buf);
        if (!x)
            unpack_low(m1b + total * wb1, total, wb1, 0, buf + total);
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
                const uint64_t dm = low_mask(64 - L + (unsigned)d[i]), bias = (uint64_t)1 << (L - 2 - d[i]);
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
            pack_low(AB.s[0] + total, total, wb, msg + total * 8);
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
            unpack_low(msg + total * 8, total, wb, 0, AB.s[1] + total);
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
                const uint64_t dm = low_mask(64 - sh);
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
            pack_low(u, total, wb, pk + total * wb);
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
                const uint64_t dm = low_mask(64 - sh);
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
            pack_low(u, total, wb, pk);
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
                unpack_low(pk + off * wb, out[i]->n, wb, L - (unsigned)d[i], bm + off);
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

/* Products fused with the exact truncation: each party's additive term of
 * the product goes straight into the truncation's opening round (see
 * trunc_exact_gen), so a product costs 3 rounds and 8 + ceil(d/8) bytes
 * per element from each party instead of 1 + 3 rounds and a product's word
 * plus the truncation's. out[i] holds the term in s[0] on entry. */
static mpct_status trunc_fused(mpct_ctx_t *ctx, size_t k, mpct_share *const *out, const int *d)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += out[i]->n;
    OP_ENTER(ctx, "trunc");
    mpct_status st = trunc_exact_gen(ctx, k, NULL, d, total, out, 64);
    OP_LEAVE(ctx);
    return st;
}

static int fusable(const mpct_ctx_t *ctx, size_t k, const int *d)
{
    if (ctx->trunc_prob)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (d[i] <= 0 || d[i] > 62)
            return 0;
    return 1;
}

mpct_status mpct_share_mul_trunc_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                      const mpct_share *const *b, const int *d, mpct_share *const *out)
{
    if (!fusable(ctx, k, d)) {
        MPCT_CALL(mpct_share_mul_many(ctx, k, a, b, out));
        return mpct_share_trunc_many_d(ctx, k, (const mpct_share *const *)out, d, out);
    }
    size_t nmax = 0;
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL(same_n(a[i], b[i], "mul"));
        nmax = a[i]->n > nmax ? a[i]->n : nmax;
    }
    const uint64_t *zero = mpc_zeros(ctx, nmax);
    if (!zero)
        return mpct_error_set(MPCT_ERR_NOMEM, "mul: out of memory");
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul");
    for (size_t i = 0; i < k && st == MPCT_OK; i++) {
        st = mpc_out_like(out[i], a[i]->shape);
        if (st == MPCT_OK) /* out may alias a or b: element-wise, s[0] written last */
            ctx->k->mul_cross(a[i]->n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], zero, out[i]->s[0]);
    }
    OP_LEAVE(ctx);
    MPCT_CALL(st);
    return trunc_fused(ctx, k, out, d);
}

mpct_status mpct_share_dot_trunc(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                                 int d, mpct_share *out)
{
    if (!k)
        return mpct_error_set(MPCT_ERR_ARG, "dot_trunc: no products");
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL(same_n(a[i], b[i], "dot_trunc"));
        MPCT_CALL(same_n(a[0], a[i], "dot_trunc"));
        if (out == a[i] || out == b[i])
            return mpct_error_set(MPCT_ERR_ARG, "dot_trunc: output must not alias an operand");
    }
    if (!fusable(ctx, 1, &d)) { /* products, their sum, then the truncation */
        mpct_share t = {0};
        mpct_status st = MPCT_OK;
        for (size_t i = 0; i < k && st == MPCT_OK; i++) {
            st = mpct_share_mul(ctx, a[i], b[i], i ? &t : out);
            if (st == MPCT_OK && i)
                st = mpct_share_add(ctx, out, &t, out);
        }
        mpct_share_free(&t);
        MPCT_CALL(st);
        return mpct_share_trunc(ctx, out, d, out);
    }
    const size_t n = a[0]->n;
    MPCT_CALL(mpc_out_like(out, a[0]->shape));
    memset(out->s[0], 0, n * sizeof *out->s[0]);
    OP_ENTER(ctx, "mul");
    for (size_t i = 0; i < k; i++) /* the additive terms accumulate in s[0] */
        ctx->k->mul_cross(n, a[i]->s[0], a[i]->s[1], b[i]->s[0], b[i]->s[1], out->s[0], out->s[0]);
    OP_LEAVE(ctx);
    return trunc_fused(ctx, 1, &out, &d);
}

mpct_status mpct_share_matmul_trunc(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, int d,
                                    mpct_share *out)
{
    if (!fusable(ctx, 1, &d)) {
        MPCT_CALL(mpct_share_matmul(ctx, a, b, out));
        return mpct_share_trunc(ctx, out, d, out);
    }
    mpct_status st;
    OP_ENTER(ctx, "matmul");
    st = matmul_local(ctx, a, b, out, MM_CLASSIC, -1, NULL);
    OP_LEAVE(ctx);
    MPCT_CALL(st);
    return trunc_fused(ctx, 1, &out, &d);
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
    mpct_status st = ctx->trunc_prob ? trunc_prob(ctx, k, x, d, total, out) : trunc_exact_gen(ctx, k, x, d, total, out, 64);
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

mpct_status mpct_share_mul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul_fxp");
    {
        const int d = ctx->frac_bits;
        MPCT_CALL_GOTO(st, done, mpct_share_mul_trunc_many(ctx, 1, &a, &b, &d, &out));
    }
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_matmul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "matmul_fxp");
    MPCT_CALL_GOTO(st, done, mpct_share_matmul_trunc(ctx, a, b, ctx->frac_bits, out));
done:
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_share_mul_const_fxp(mpct_ctx_t *ctx, const mpct_share *a, double c, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "mul_const_fxp");
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, a, mpct_fxp_encode(c, ctx->frac_bits), out));
    MPCT_CALL_GOTO(st, done, mpct_share_trunc(ctx, out, ctx->frac_bits, out));
done:
    OP_LEAVE(ctx);
    return st;
}
