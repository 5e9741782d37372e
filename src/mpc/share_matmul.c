/*
 * share_matmul.c — products of replicated shares: the elementwise product
 * (mul, mul_many), the matrix product (2-D, or batched 3-D) with its
 * variants for a sparse client input (the embedding's one-hot rows) and a
 * result lifted from Z_2^32, and the resharing round that ends a product.
 *
 * Costs per OUTPUT element, per party:
 *   mul, mul_many          1 round; every party sends 1 word (8 bytes)
 *   matmul, sparse_input   1 round; every party sends 1 word
 *   sparse_lift            2 rounds; 4 and 8 bytes from two parties,
 *                          16 from the third, in turn: the local product
 *                          mod 2^32, lifted by the exact truncation's
 *                          protocol with a 32-bit opening and no shift
 *                          (mpc_trunc_exact, share_trunc.c)
 * mul_many batches k products into one round.
 *
 * Invariants: the local part (mpc_matmul_local) gives this party's additive
 * term of the product, identical whatever split of the nine a_r b_s terms
 * it takes; the zero-component hint only picks the split, never decides
 * correctness (see mpc_matmul_local), as long as all parties hold the same
 * hint.
 */
#include "mpc-impl.h"

#include <string.h>

/* Every product ends the same way: Pi holds z_i (a 3-out-of-3 share, masked
 * with a zero-sharing), sends it to prev and receives z_{i+1} from next.
 * reshare_many batches k outputs into that one round. */
mpct_status mpc_reshare_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *out)
{
    mpc_round rd;
    mpc_round_begin(&rd, ctx);
    for (size_t i = 0; i < k; i++) {
        mpc_round_send(&rd, MPC_PREV, out[i]->s[0], out[i]->n, 8);
        mpc_round_recv(&rd, MPC_NEXT, out[i]->s[1], out[i]->n, 8, 0);
    }
    return mpc_round_exchange(&rd);
}

/* k elementwise products (arithmetic, or AND of XOR-shared bits) in one
 * round: per product the kernel's cross terms masked by a zero-sharing of
 * the same kind, then one resharing of all k. The caller enters the op. */
mpct_status mpc_cross_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                           mpct_share *const *out, int boolean)
{
    const char *what = boolean ? "and" : "mul";
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL(mpc_same_n(a[i], b[i], what));
        MPCT_CALL(mpc_out_like(out[i], a[i]->shape));
        uint64_t *z = mpc_tmp(a[i]->n);
        if (!z)
            return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", what);
        mpct_status st = boolean ? mpct_ctx_zero_share_xor(ctx, z, a[i]->n) : mpct_ctx_zero_share(ctx, z, a[i]->n);
        if (st == MPCT_OK) /* out may alias a or b: s[0] is written last */
            (boolean ? ctx->k->and_cross : ctx->k->mul_cross)(a[i]->n, a[i]->s[0], a[i]->s[1], b[i]->s[0],
                                                              b[i]->s[1], z, out[i]->s[0]);
        mpc_tmp_free(z);
        MPCT_CALL(st);
    }
    return mpc_reshare_many(ctx, k, out);
}

mpct_status mpct_share_mul_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out)
{
    OP_ENTER(ctx, "mul");
    mpct_status st = mpc_cross_many(ctx, k, a, b, out, 0);
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
static const uint32_t *low32_of(const mpct_ctx_t *ctx, mpct_share_low32 *bl, const mpct_share *b, int slot)
{
    if (!bl->s[slot]) {
        uint32_t *w = mpct_alloc((b->n ? b->n : 1) * sizeof *w);
        if (!w)
            return NULL;
        ctx->k->low32(b->n, b->s[slot], w);
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
    const uint32_t *B32 = low32_of(ctx, bl, b, slot);
    if (!B32)
        return 1;
    ctx->k->gemm32(m, n, kd, A, B32, c);
    gemm32s++;
    return 0;
}


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
 * MPC_MM_SPARSE_CLIENT: see mpct_share_matmul_sparse_input (classic split, the
 * client's a0 + a1 is its input in the clear).
 *
 * bl (2-D, a backend with gemm32; else ignored): the term is only needed
 * mod 2^32 (mpct_share_matmul_sparse_lift), and the classic split's single
 * products run as 32-bit GEMMs on b's cached low halves. */
mpct_status mpc_matmul_local(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out,
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
    const int zj = mode == MPC_MM_CLASSIC && b->zero_comp >= 1 && b->zero_comp <= 3 ? b->zero_comp - 1 : -1;
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
        /* (a0 + a1) b0 with a0 + a1 sparse: the client's row gather (the
         * kernel gives up, and the GEMM below overwrites c, beyond 8
         * non-zeros in a row) */
        if (mode == MPC_MM_SPARSE_CLIENT && me == client && zb1 && ctx->k->gather(m, n, kd, a0, a1, b0, c)) {
            gathers++;
            continue;
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

/* The product's terms (mpc_matmul_local), then a resharing; or, lifted
 * (mpct_share_matmul_sparse_lift), terms mod 2^32 (from bl's low halves
 * where it can) turned into a sharing over Z_2^64 by the exact
 * truncation's protocol with a 32-bit opening and no shift. */
static mpct_status matmul_mode(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int mode,
                               int client, int lift, mpct_share_low32 *bl)
{
    mpct_status st = MPCT_OK;
    OP_ENTER(ctx, "matmul");
    MPCT_CALL_GOTO(st, done, mpc_matmul_local(ctx, a, b, out, mode, client, lift ? bl : NULL));
    if (lift) {
        const int d0 = 0;
        mpct_share *o = out;
        st = mpc_trunc_exact(ctx, 1, NULL, &d0, out->n, &o, 32);
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
    return matmul_mode(ctx, a, b, out, client < 0 ? MPC_MM_CLASSIC : MPC_MM_SPARSE_CLIENT, client, 0, NULL);
}

mpct_status mpct_share_matmul_sparse_lift(mpct_ctx_t *ctx, int client, const mpct_share *a, const mpct_share *b,
                                          mpct_share_low32 *bl, mpct_share *out)
{
    MPCT_CALL(check_client(client));
    /* the classic split on every party (no owner hint: its single
     * products are the ones the 32-bit path computes; client -1: nobody
     * gathers) */
    return matmul_mode(ctx, a, b, out, MPC_MM_SPARSE_CLIENT, client, 1, bl);
}

mpct_status mpct_share_matmul(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out)
{
    return matmul_mode(ctx, a, b, out, MPC_MM_CLASSIC, -1, 0, NULL);
}
