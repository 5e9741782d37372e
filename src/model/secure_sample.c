/*
 * secure_sample.c — secure temperature / top-k sampling of the next token
 * from secret logits, with randomness no single party knows or chooses,
 * and its float64 twin (mpct_ref_sample).
 *
 * Given logits l [R x V] (fixed point, f = the context's fractional bits;
 * each of the R rows is one independent draw, all in the same rounds):
 *   z = l / T                      one product by a public constant (2 rounds)
 *   top-k (1 <= k < V): t = the k-th largest z, found bit by bit: t starts
 *       at -2^(8+f); for s = 8+f .. 0, c = t + 2^s is kept when
 *       #{j : z_j >= c} >= k (one comparison of the V entries, local count,
 *       one comparison of the count with k); then mask m_j = [z_j >= t].
 *       Every entry equal to the k-th largest is kept (as transformers'
 *       TopKLogitsWarper). 9 + 9 rounds per bit, 29 bits at f = 20: the
 *       cost is bounded by f, not by k.
 *   p = softmax(z) over the kept entries (mpct_nl_softmax, a secret mask)
 *   c_j = p_0 + .. + p_j           prefix sums (local)
 *   u = sum_{i<f} 2^i b_i / 2^f    b_i random bits: each party draws its two
 *       components of a boolean sharing from the PRF streams it shares
 *       with its neighbours (no communication), so b_i = x_0 ^ x_1 ^ x_2
 *       with one component unknown to each party: uniform and known to
 *       nobody; b2a (2 rounds) makes them arithmetic
 *   idx = #{j < V-1 : c_j <= u}    one batched comparison (9 rounds), the
 *       count local: the token whose interval [c_{j-1}, c_j) holds u
 *
 * Precision: probabilities are fixed point with f bits, so a token whose
 * probability is below 2^-f is never drawn (its interval rounds to empty),
 * and the rounding of the others moves their mass by a few 2^-f; the
 * softmax's own error (NONLINEAR.md) adds to that. Valid while |l| / T <
 * 256 (softmax's range; outside it the draw is wrong); with a mask, every
 * kept entry counts whatever its value.
 *
 * Invariants: the PRF streams advance alike on every party (the same
 * words drawn in the same order); nothing is revealed here: idx and u stay
 * shared, the caller reveals idx to the client only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "mpct_nonlin.h"

#define SAMPLE_RANGE_BITS 8 /* |l / T| < 2^8: softmax's range */

/* n fresh secret 0/1 values (arithmetic), from the pairwise PRF streams. */
static mpct_status sample_bits(mpct_ctx_t *ctx, size_t n, mpct_share *out)
{
    mpct_share b = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch(&b, mpct_shape_1d(n)));
    MPCT_CALL_GOTO(st, done, mpct_ctx_rand_own(ctx, b.s[0], n));  /* x_i, shared with prev */
    MPCT_CALL_GOTO(st, done, mpct_ctx_rand_next(ctx, b.s[1], n)); /* x_{i+1}, shared with next */
    for (size_t i = 0; i < n; i++)
        b.s[0][i] &= 1, b.s[1][i] &= 1;
    st = mpct_share_b2a(ctx, &b, out);
done:
    mpct_share_free(&b);
    return st;
}

/* R values u in [0, 1) with f fractional bits: sum 2^i b_i (local after
 * the bits). */
static mpct_status sample_u(mpct_ctx_t *ctx, size_t R, mpct_share *u)
{
    const size_t f = (size_t)mpct_ctx_frac_bits(ctx);
    mpct_share b = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, sample_bits(ctx, R * f, &b));
    MPCT_CALL_GOTO(st, done, mpct_share_init(u, mpct_shape_1d(R)));
    for (int s = 0; s < 2; s++)
        for (size_t r = 0; r < R; r++)
            for (size_t i = 0; i < f; i++)
                u->s[s][r] += b.s[s][r * f + i] << i;
done:
    mpct_share_free(&b);
    return st;
}

/* ge[j] = [x_j >= c] as arithmetic 0/1 (c public), and *cnt (NULL: skip)
 * the sums of its R rows. |x - c| < 2^(width-1). */
static mpct_status sample_ge(mpct_ctx_t *ctx, const mpct_share *x, uint64_t c, unsigned width, size_t R,
                             mpct_share *ge, mpct_share *cnt)
{
    mpct_share d = {0}, lt = {0};
    mpct_status st = MPCT_OK;
    const uint64_t neg = 0 - c, one = 1;
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, x, &neg, 1, &d));
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_w(ctx, &d, width, &lt));
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, &lt, ge));
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, ge, &one, 1, ge));
    if (cnt) {
        MPCT_CALL_GOTO(st, done, mpct_share_init(cnt, mpct_shape_1d(R)));
        const size_t w = ge->n / R;
        for (int s = 0; s < 2; s++)
            for (size_t j = 0; j < ge->n; j++)
                cnt->s[s][j / w] += ge->s[s][j];
    }
done:
    mpct_share_free(&d);
    mpct_share_free(&lt);
    return st;
}

/* zt = z - t, row r of z less t_r */
static mpct_status sample_shift(const mpct_share *z, const mpct_share *t, mpct_share *zt)
{
    MPCT_CALL(mpct_share_init_scratch_nofill(zt, z->shape));
    const size_t w = z->n / t->n;
    for (int c = 0; c < 2; c++)
        for (size_t j = 0; j < z->n; j++)
            zt->s[c][j] = z->s[c][j] - t->s[c][j / w];
    return MPCT_OK;
}

/* mask = [z_j >= the k-th largest z] (bitwise search of the threshold). */
static mpct_status sample_topk_mask(mpct_ctx_t *ctx, const mpct_share *z, size_t R, size_t k, mpct_share *mask)
{
    const int top = SAMPLE_RANGE_BITS + mpct_ctx_frac_bits(ctx);
    const unsigned width = top + 3 <= 32 ? 32 : 64; /* |z - t - 2^s| < 3 2^top */
    mpct_share t = {0}, zt = {0}, ge = {0}, cnt = {0}, ok = {0}, step = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpct_share_init(&t, mpct_shape_1d(R)));
    const uint64_t lo = 0 - ((uint64_t)1 << top);
    MPCT_CALL_GOTO(st, done, mpct_share_add_const(ctx, &t, &lo, 1, &t));
    for (int s = top; s >= 0; s--) { /* keep t + 2^s when #{z_j >= t + 2^s} >= k */
        const uint64_t bit = (uint64_t)1 << s;
        MPCT_CALL_GOTO(st, done, sample_shift(z, &t, &zt));
        MPCT_CALL_GOTO(st, done, sample_ge(ctx, &zt, bit, width, R, &ge, &cnt));
        MPCT_CALL_GOTO(st, done, sample_ge(ctx, &cnt, (uint64_t)k, 32, R, &ok, NULL));
        MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &ok, bit, &step));
        MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, &t, &step, &t));
        mpct_share_free(&zt), mpct_share_free(&ge), mpct_share_free(&cnt), mpct_share_free(&ok);
        mpct_share_free(&step);
    }
    MPCT_CALL_GOTO(st, done, sample_shift(z, &t, &zt));
    st = sample_ge(ctx, &zt, 0, width, R, mask, NULL);
done:
    mpct_share_free(&t), mpct_share_free(&zt), mpct_share_free(&ge), mpct_share_free(&cnt);
    mpct_share_free(&ok), mpct_share_free(&step);
    return st;
}

mpct_status mpct_smodel_sample(mpct_ctx_t *ctx, const mpct_share *logits, const mpct_sample_cfg *c, mpct_share *idx,
                               mpct_share *u_out)
{
    const size_t V = logits->shape.ndim ? logits->shape.dim[logits->shape.ndim - 1] : 0, R = V ? logits->n / V : 0;
    if (!(c->temperature > 0) || !isfinite(c->temperature))
        return mpct_error_set(MPCT_ERR_ARG, "sampling: temperature %g, expected a number > 0", c->temperature);
    if (V < 2 || R == 0)
        return mpct_error_set(MPCT_ERR_ARG, "sampling: rows of %zu entries, expected at least 2", V);
    mpct_share z = {0}, mask = {0}, p = {0}, u = {0}, d = {0}, ge = {0}, cnt = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const_fxp(ctx, logits, 1.0 / c->temperature, &z));
    z.shape = mpct_shape_2d(R, V);
    const int masked = c->top_k > 0 && c->top_k < V;
    if (masked)
        MPCT_CALL_GOTO(st, done, sample_topk_mask(ctx, &z, R, c->top_k, &mask));
    mask.shape = mpct_shape_2d(R, V);
    const mpct_nl_mask nm = {.secret = &mask};
    MPCT_CALL_GOTO(st, done, mpct_nl_softmax(ctx, &z, masked ? &nm : NULL, &p));
    MPCT_CALL_GOTO(st, done, sample_u(ctx, R, &u));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&d, mpct_shape_2d(R, V - 1))); /* u - c_j, j < V-1 */
    for (int s = 0; s < 2; s++)
        for (size_t r = 0; r < R; r++) {
            uint64_t run = 0;
            for (size_t j = 0; j + 1 < V; j++) {
                run += p.s[s][r * V + j];
                d.s[s][r * (V - 1) + j] = u.s[s][r] - run;
            }
        }
    MPCT_CALL_GOTO(st, done, sample_ge(ctx, &d, 0, 32, R, &ge, &cnt)); /* [c_j <= u] counted per row */
    *idx = cnt;
    cnt = (mpct_share){0};
    if (u_out) {
        *u_out = u;
        u = (mpct_share){0};
    }
done:
    mpct_share_free(&z), mpct_share_free(&mask), mpct_share_free(&p), mpct_share_free(&u);
    mpct_share_free(&d), mpct_share_free(&ge), mpct_share_free(&cnt);
    return st;
}

static int cmp_desc(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

mpct_status mpct_ref_sample(const double *logits, size_t V, const mpct_sample_cfg *c, double u, int32_t *out)
{
    if (!(c->temperature > 0) || !isfinite(c->temperature) || V < 2 || !(u >= 0 && u < 1))
        return mpct_error_set(MPCT_ERR_ARG, "sampling: temperature %g, %zu entries, u %g: expected T > 0, V >= 2, "
                                            "0 <= u < 1", c->temperature, V, u);
    double *z = malloc(2 * V * sizeof *z);
    if (!z)
        return mpct_error_set(MPCT_ERR_NOMEM, "sampling: out of memory");
    double *sorted = z + V, thr = -INFINITY, mx = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < V; j++)
        z[j] = logits[j] / c->temperature;
    if (c->top_k > 0 && c->top_k < V) {
        memcpy(sorted, z, V * sizeof *z);
        qsort(sorted, V, sizeof *sorted, cmp_desc);
        thr = sorted[c->top_k - 1];
    }
    for (size_t j = 0; j < V; j++)
        mx = z[j] >= thr && z[j] > mx ? z[j] : mx;
    for (size_t j = 0; j < V; j++)
        sum += z[j] >= thr ? exp(z[j] - mx) : 0.0;
    double run = 0.0;
    int32_t n = 0;
    for (size_t j = 0; j + 1 < V; j++) {
        run += z[j] >= thr ? exp(z[j] - mx) / sum : 0.0;
        n += run <= u;
    }
    *out = n;
    free(z);
    return MPCT_OK;
}
