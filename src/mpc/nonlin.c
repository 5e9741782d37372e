/*
 * nonlin.c — secure exp (mpct_nl_exp_neg, mpct_nl_exp), GeLU and GeLU-tanh over
 * replicated shares, and the building blocks every non-linear function
 * shares (declared in mpc-impl.h): products fused with their truncation,
 * batched comparisons, rescaling, the exp chain and the masked exp that
 * softmax reuses. Reciprocal, inverse square root and tanh: nonlin_div.c;
 * softmax and LayerNorm: nonlin_norm.c. Public contracts and ranges:
 * mpct_nonlin.h and NONLINEAR.md; float64 twins: nonlin_ref.c. The fitted
 * constants (exp_fit4, gelu_q, gelu_tanh_q, GELU_T) live here: src/mpc/fit_nonlin.py
 * --check reads them from this file (test nonlin_fit).
 *
 * Costs (default exact truncation; rounds independent of the element
 * count; words = 8-byte ring elements per element sent by the busiest
 * party; measured by test_nonlin --markdown, see mpct_nonlin.h):
 *   mpct_nl_exp_neg   21 rounds, 17 words (135 bytes)
 *   mpct_nl_exp       33 rounds, 25 words (202 bytes)
 *   mpct_nl_gelu      17 rounds, 11 words (85 bytes)
 *   mpct_nl_gelu_tanh 17 rounds, 11 words (85 bytes)
 *
 * Invariants (of every nonlin*.c file):
 *  - Every product is below 2^44 in magnitude before truncation whenever the
 *    input is inside the documented range (well inside the exact
 *    truncation's |x| < 2^62; with the optional probabilistic truncation it
 *    would fail with probability <= 2^-19 per element); values computed for
 *    out-of-range inputs may be garbage but are always multiplied by an exact
 *    0/1 share that is 0 for them, so they never reach an output.
 *  - One stage = one fused mul_trunc_many (2 rounds with the exact
 *    truncation); all comparisons of a function go into one
 *    mpct_share_ltz_win call (8 rounds at width 16, 10 at 64).
 *
 * mpc_nl_trunc_many is the core's mpct_share_trunc_many_d (a shift per operand).
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define FI MPC_NL_FI

/* ---------------------------------------------------------------- helpers */

uint64_t mpc_nl_enc(double v, int F) { return mpct_fxp_encode(v, F); }

mpct_status mpc_nl_new(mpct_share *s, size_t n) { return mpct_share_init_scratch(s, mpct_shape_1d(n ? n : 1)); }
/* Without the zero fill, for shares the caller overwrites completely. */
mpct_status mpc_nl_out(mpct_share *s, size_t n) { return mpc_out_like(s, mpct_shape_1d(n ? n : 1)); }

/* Adds the public ring value c to elements [off, off+len) (x0 slot). */
void mpc_nl_add_pub(const mpct_ctx_t *ctx, mpct_share *s, size_t off, size_t len, uint64_t c)
{
    int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
    if (slot >= 0)
        for (size_t e = 0; e < len; e++)
            s->s[slot][off + e] += c;
}

/* out = c - a (c public). */
void mpc_nl_rsub_pub(const mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out)
{
    const size_t n = a->n; /* a local bound: a->n may alias the stores */
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            out->s[i][e] = 0 - a->s[i][e];
    mpc_nl_add_pub(ctx, out, 0, n, c);
}


mpct_status mpc_nl_trunc_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *x, const int *d)
{
    return mpct_share_trunc_many_d(ctx, k, (const mpct_share *const *)x, d, x);
}

mpct_status mpc_nl_fmul(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                        mpct_share *const *out, const int *d)
{
    return mpct_share_mul_trunc_many(ctx, k, a, b, d, out);
}

mpct_status mpc_nl_fmul1(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int d)
{
    return mpc_nl_fmul(ctx, 1, &a, &b, &out, &d);
}

/* Comparison width for values known to satisfy |v| < 2^(range_bits) at
 * precision fx: 32-bit comparisons (mpct_share_ltz_w: 7 + 2 rounds, half
 * the bytes) when that bound fits in 31 bits, else the full ring. */
unsigned mpc_nl_cmp_width(int range_bits, int fx)
{
    return range_bits + fx <= 31 ? 32 : 64;
}

mpct_status mpc_nl_ltz_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, unsigned width, unsigned lo,
                            mpct_share *const *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += x[i]->n;
    mpct_share cat = {0}, res = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&cat, total));
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        for (int s = 0; s < 2; s++)
            memcpy(cat.s[s] + off, x[i]->s[s], x[i]->n * 8);
        off += x[i]->n;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &cat, width, lo, &res));
    off = 0;
    for (size_t i = 0; i < k; i++) {
        MPCT_CALL_GOTO(st, done, mpc_out_like(out[i], x[i]->shape));
        for (int s = 0; s < 2; s++)
            memcpy(out[i]->s[s], res.s[s] + off, x[i]->n * 8);
        off += x[i]->n;
    }
done:
    mpct_share_free(&cat);
    mpct_share_free(&res);
    return st;
}

/* Rescales a share from precision `from` to `to` bits: local when to >= from,
 * else a truncation (1 round). In place. */
mpct_status mpc_nl_rescale(mpct_ctx_t *ctx, mpct_share *x, int from, int to)
{
    if (to >= from) {
        const size_t n = x->n;
        for (int i = 0; i < 2; i++)
            for (size_t e = 0; e < n; e++)
                x->s[i][e] <<= (to - from);
        return MPCT_OK;
    }
    int d = from - to;
    return mpc_nl_trunc_many(ctx, 1, &x, &d);
}

/* ------------------------------------------------------------------- exp */

/* Base polynomials p(y) = 1 + y + y^2 (c2 + c3 y + c4 y^2) of exp(y). */
const double mpc_nl_exp_taylor3[3] = {0.5, 1.0 / 6, 0};
/* Degree 4 on y in [-2, 0.07], fitted (Nelder-Mead on the maximum of
 * |p(y)^8 - e^(8y)|) for 3 squarings: max error 8.2e-6 in exact
 * arithmetic (the Taylor coefficients give 1.5e-4 here, the Taylor cubic
 * with 4 squarings 5.9e-5). src/mpc/fit_nonlin.py
 * refits it, and test nonlin_fit holds these digits to the refit. */
static const double exp_fit4[3] = {0.50002472, 0.16506409, 0.03397822};

/* Y at precision py holds y = x / 2^nsq; out = p(y)^(2^nsq) at precision
 * P[nsq]. p takes two fused products whatever c4 (y^2 at p2 bits, then
 * y^2 q with q = c2 + c3 y + c4 y^2 at pq bits, linear in y and y^2, so
 * c3 carries pq - py fractional bits and c4 pq - p2), so degree 4 buys one
 * squaring less; the base 1 + y + y^2 q is at P[0], the squarings go from
 * P[j-1] to P[j]. 3 (2 + nsq) rounds. */
static mpct_status exp_chain_prec(mpct_ctx_t *ctx, const mpct_share *Y, int py, int p2, int pq, const double *c,
                                  int nsq, const int *P, mpct_share *out)
{
    const size_t n = Y->n;
    mpct_status st = MPCT_OK;
    mpct_share y2 = {0}, q = {0}, t = {0}, base = {0}, yl = {0};
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, Y, Y, &y2, 2 * py - p2));
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, Y, mpc_nl_enc(c[1], pq - py), &q));
    if (c[2] != 0) {
        const uint64_t w2 = mpc_nl_enc(c[2], pq - p2);
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                q.s[i][j] += y2.s[i][j] * w2;
    }
    mpc_nl_add_pub(ctx, &q, 0, n, mpc_nl_enc(c[0], pq));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &y2, &q, &t, p2 + pq - P[0]));
    MPCT_CALL_GOTO(st, done, mpct_share_copy(Y, &yl));
    MPCT_CALL_GOTO(st, done, mpc_nl_rescale(ctx, &yl, py, P[0])); /* local: P[0] >= py */
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, &t, &yl, &base));
    mpc_nl_add_pub(ctx, &base, 0, n, mpc_nl_enc(1.0, P[0]));
    for (int j = 1; j <= nsq; j++) {
        mpct_share *dst = j == nsq ? out : &base;
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &base, &base, dst, 2 * P[j - 1] - P[j]));
    }
done:
    mpct_share_free(&y2);
    mpct_share_free(&q);
    mpct_share_free(&t);
    mpct_share_free(&base);
    mpct_share_free(&yl);
    return st;
}

/* Y, y and the base all at P[0]; q at 2 P[0] - 2 bits (y^2 q < 2^60). */
mpct_status mpc_nl_exp_chain(mpct_ctx_t *ctx, const mpct_share *Y, const double *c, int nsq, const int *P,
                             mpct_share *out)
{
    return exp_chain_prec(ctx, Y, P[0], P[0], 2 * P[0] - 2, c, nsq, P, out);
}

/* exp of z <= 0 given the keep mask (arithmetic 0/1, 0 where the result must
 * be 0) and optional `one` mask (result exactly 1). z at precision fz.
 * Output at precision fo. y = z/8 is z itself read at fz + 3 bits; the
 * precisions are chosen for few OT bytes: y^2 at 22 bits (a shift by 16 at
 * fz = 16), q at 34 (c3 with 15 fractional bits, c4 with 12), the base and
 * its squares at 24 (shifts 32, 24, 24 and 48 - fo). The chain takes 15
 * rounds, the keep product 1. */
mpct_status mpc_nl_exp_neg_masked(mpct_ctx_t *ctx, const mpct_share *z, int fz, const mpct_share *keep,
                                  const mpct_share *one, int fo, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share e = {0};
    const int py = fz + 3, p2 = py + 3 < 22 ? py + 3 : 22, P[4] = {24, 24, 24, fo};
    MPCT_CALL_GOTO(st, done, exp_chain_prec(ctx, z, py, p2, p2 + 12, exp_fit4, 3, P, &e));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, keep, &e, out));
    if (one) {
        const uint64_t w1 = mpc_nl_enc(1.0, fo);
        const size_t n = out->n;
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                out->s[i][j] += one->s[i][j] * w1;
    }
done:
    mpct_share_free(&e);
    return st;
}

static mpct_status nl_exp_neg_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int upper, int fo, mpct_share *out)
{
    const size_t n = x->n;
    mpct_status st = MPCT_OK;
    mpct_share lo = {0}, hi = {0}, clo = {0}, chi = {0}, keep = {0};
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &lo));
    mpc_nl_add_pub(ctx, &lo, 0, n, mpc_nl_enc(16.0, fx)); /* x + 16 < 0 */
    if (upper) {
        MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &hi)); /* -x < 0 */
        const mpct_share *X[2] = {&lo, &hi};
        mpct_share *O[2] = {&clo, &chi};
        MPCT_CALL_GOTO(st, done, mpc_nl_ltz_many(ctx, 2, X, 64, 0, O));
    } else {
        MPCT_CALL_GOTO(st, done, mpct_share_ltz(ctx, &lo, &clo));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&keep, n));
    mpc_nl_rsub_pub(ctx, &clo, 1, &keep);
    if (upper)
        MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &chi, &keep));
    MPCT_CALL_GOTO(st, done, mpc_nl_exp_neg_masked(ctx, x, fx, &keep, upper ? &chi : NULL, fo, out));
done:
    mpct_share_free(&lo);
    mpct_share_free(&hi);
    mpct_share_free(&clo);
    mpct_share_free(&chi);
    mpct_share_free(&keep);
    return st;
}

mpct_status mpct_nl_exp_neg(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_exp_neg");
    st = nl_exp_neg_core(ctx, x, ctx->frac_bits, 1, ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

#define EXP_HI 10.0
mpct_status mpct_nl_exp(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    const size_t n = x->n;
    const int f = ctx->frac_bits;
    mpct_status st = MPCT_OK;
    mpct_share lo = {0}, hi = {0}, clo = {0}, chi = {0}, keep = {0}, Y = {0}, e = {0};
    /* 8 squarings; precision drops where the value may grow (|x| <= 10) */
    const int P[9] = {FI, FI, FI, FI, FI, FI, 18, 14, f};
    OP_ENTER(ctx, "nl_exp");
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &lo));
    mpc_nl_add_pub(ctx, &lo, 0, n, mpc_nl_enc(16.0, f));
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &hi));
    mpc_nl_add_pub(ctx, &hi, 0, n, mpc_nl_enc(EXP_HI, f)); /* 10 - x < 0 */
    {
        const mpct_share *X[2] = {&lo, &hi};
        mpct_share *O[2] = {&clo, &chi};
        MPCT_CALL_GOTO(st, done, mpc_nl_ltz_many(ctx, 2, X, 64, 0, O));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&keep, n));
    mpc_nl_rsub_pub(ctx, &clo, 1, &keep);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &chi, &keep));
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &Y));
    MPCT_CALL_GOTO(st, done, mpc_nl_rescale(ctx, &Y, f + 8, FI)); /* y = x / 256 */
    MPCT_CALL_GOTO(st, done, mpc_nl_exp_chain(ctx, &Y, mpc_nl_exp_taylor3, 8, P, &e));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &keep, &e, out));
    const uint64_t ehi = mpc_nl_enc(exp(EXP_HI), f);
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < n; j++)
            out->s[i][j] += chi.s[i][j] * ehi;
    out->shape = x->shape;
done:
    mpct_share_free(&lo);
    mpct_share_free(&hi);
    mpct_share_free(&clo);
    mpct_share_free(&chi);
    mpct_share_free(&keep);
    mpct_share_free(&Y);
    mpct_share_free(&e);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------------ GeLU */

/* GeLU(x) = x/2 + E(x) with E(x) = x (Phi(x) - 1/2) = (x/2) erf(x/sqrt 2):
 * E is even and analytic, so on |x| <= T it is a polynomial in
 * v = (x/T)^2 -- no |x|, no sign -- and outside GeLU is 0 (x < -T) or x
 * (x > T), off by T Phi(-T) = 2.2e-3 at the joints. Two comparisons and Q
 * of degree 5 in v (degree 10 in x): least-squares fit of E(T sqrt v) on
 * v in [0, 1]. Max error 2.2e-3 (at the joints), mean 3.4e-4 for
 * x ~ N(0, 2^2). The
 * fit is at x = linspace(0, T, 4001); src/mpc/fit_nonlin.py refits it, and
 * test nonlin_fit holds these digits to the refit. */
#define GELU_T 3.2
static const double gelu_q[6] = {0.0004919667289968438, 4.044081403327245,   -6.40599389399919,
                                 7.732144373771468,     -5.295613684581169,  1.5242027057231529};
/* Fractional bits of the pieces: v, v^2 and v^3 at GELU_FV (each product
 * shifts by 16 or less, so its truncation sends 2 bytes of OT words), B's
 * coefficients at GELU_FC, the final sum at GELU_FP; 1/T^2 = 25/256 is exact
 * at GELU_FK bits (T = 3.2). */
#define GELU_FV 16
#define GELU_FC 16
#define GELU_FP (2 * GELU_FV + GELU_FC)
#define GELU_FK 8
/* The joints need not be exact: within 2^-6 of +-T both sides agree to
 * the fit's error. So the comparisons look at bits [f - 6, f + 10) only
 * (windowed, 16 bits). The compared values x + T and T - x must stay below
 * 511.97: inputs |x| < 500. */
#define GELU_WIN_FRAC 6

/* GPT-2's "gelu_new" 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) has
 * the same form: x/2 + E_t(x) with E_t(x) = (x/2) tanh(...) even, 0 below
 * -T and x above T (off by 1.9e-3 at the joints); its Q is fitted the same
 * way (fit_nonlin.py, the same points). */
static const double gelu_tanh_q[6] = {0.0005237881815044483, 4.041234879605793,  -6.398172942837702,
                                      7.739815555269811,     -5.322569653958256, 1.5388705626315924};

/* x/2 + Q((x/T)^2) on |x| <= T, 0 below -T, x above T: GeLU's pieces with
 * the coefficients q (GeLU's or gelu_new's). The input is clipped to
 * [-T, T] first, x_c = sm x + dh T with sm = 1 - blo - bhi (1 in the
 * middle) and dh = bhi - blo (the side), one ring product by the exact 0/1
 * share sm; so every power of v = (x_c/T)^2 stays in [0, 1.01] and no
 * garbage needs masking. Q(v_c) is Q(1) outside, which the local term
 * -(blo + bhi) Q(1) cancels, and x/2 + dh x/2 is x above T and 0 below:
 *   out = x/2 + dh x/2 + Q(v_c) - (blo + bhi) Q(1)
 * in ONE fused dot product (v^3 B, (1 + dh) x/2 and the linear terms) with
 * one truncation, B = q3 + q4 v + q5 v^2. Stages: the clip (a product, no
 * truncation), v, v^2, v^3, the dot: 1 + 4 x 2 rounds after the
 * comparisons. */
static mpct_status gelu_pieces(mpct_ctx_t *ctx, const mpct_share *x, const double *q, mpct_share *out)
{
    const size_t n = x->n;
    const int f = ctx->frac_bits;
    mpct_status st = MPCT_OK;
    mpct_share a = {0}, c = {0}, blo = {0}, bhi = {0}, sm = {0}, dh = {0}, xc = {0}, xk = {0}, v = {0}, v2 = {0},
               v3 = {0}, B = {0}, L = {0}, one = {0}, xs = {0};
    /* blo = [x < -T], bhi = [x > T] in one windowed ltz */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &a));
    mpc_nl_add_pub(ctx, &a, 0, n, mpc_nl_enc(GELU_T, f));
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &c));
    mpc_nl_add_pub(ctx, &c, 0, n, mpc_nl_enc(GELU_T, f));
    {
        const mpct_share *X[2] = {&a, &c};
        mpct_share *O[2] = {&blo, &bhi};
        const unsigned lo = f > GELU_WIN_FRAC ? (unsigned)(f - GELU_WIN_FRAC) : 0;
        MPCT_CALL_GOTO(st, done, mpc_nl_ltz_many(ctx, 2, X, 16, lo, O));
    }
    /* sm = 1 - blo - bhi, dh = bhi - blo; x_c = sm x + dh T (|x_c| <= T) */
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&sm, n));
    mpc_nl_rsub_pub(ctx, &blo, 1, &sm);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &sm, &bhi, &sm));
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &bhi, &blo, &dh));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &sm, x, &xc));
    {
        const uint64_t tq = mpc_nl_enc(GELU_T, f);
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                xc.s[i][j] += dh.s[i][j] * tq;
    }
    /* v = x_c (x_c / T^2), v^2, v^3 at GELU_FV bits, all in [0, 1.01] */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &xc, mpc_nl_enc(1.0 / (GELU_T * GELU_T), GELU_FK), &xk));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &xc, &xk, &v, 2 * f + GELU_FK - GELU_FV));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &v, &v, &v2, GELU_FV));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &v, &v2, &v3, GELU_FV));
    /* B = q3 + q4 v + q5 v^2 at GELU_FV + GELU_FC bits (|B| < 8); the linear
     * part L = q0 + q1 v + q2 v^2 - (blo + bhi) Q(1) at GELU_FP bits */
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&B, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&L, n));
    {
        const mpct_share *pw[2] = {&v, &v2};
        double qs = 0; /* Q(1) */
        for (int k = 0; k < 6; k++)
            qs += q[k];
        const uint64_t wout = mpc_nl_enc(qs, GELU_FP);
        for (int k = 0; k < 2; k++) {
            const uint64_t wb = mpc_nl_enc(q[k + 4], GELU_FC), wl = mpc_nl_enc(q[k + 1], GELU_FP - GELU_FV);
            for (int i = 0; i < 2; i++)
                for (size_t j = 0; j < n; j++) {
                    B.s[i][j] += pw[k]->s[i][j] * wb;
                    L.s[i][j] += pw[k]->s[i][j] * wl;
                }
        }
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                L.s[i][j] -= (blo.s[i][j] + bhi.s[i][j]) * wout;
    }
    mpc_nl_add_pub(ctx, &B, 0, n, mpc_nl_enc(q[3], GELU_FV + GELU_FC));
    mpc_nl_add_pub(ctx, &L, 0, n, mpc_nl_enc(q[0], GELU_FP));
    /* (1 + dh) x/2 at GELU_FP bits: |x| < 2^9 keeps every term below 2^58 */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, x, (uint64_t)1 << (GELU_FP - f - 1), &xs));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&one, n));
    mpc_nl_add_pub(ctx, &one, 0, n, 1);
    mpc_nl_add_pub(ctx, &dh, 0, n, 1);
    {
        const mpct_share *A[3] = {&v3, &dh, &one}, *Bs[3] = {&B, &xs, &L};
        MPCT_CALL_GOTO(st, done, mpct_share_dot_trunc(ctx, 3, A, Bs, GELU_FP - f, out));
    }
    out->shape = x->shape;
done:;
    mpct_share *all[] = {&a, &c, &blo, &bhi, &sm, &dh, &xc, &xk, &v, &v2, &v3, &B, &L, &one, &xs};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

static mpct_status gelu_op(mpct_ctx_t *ctx, const char *name, const mpct_share *x, const double *q, mpct_share *out)
{
    OP_ENTER(ctx, name);
    mpct_status st = gelu_pieces(ctx, x, q, out);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_nl_gelu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    return gelu_op(ctx, "nl_gelu", x, gelu_q, out);
}

mpct_status mpct_nl_gelu_tanh(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    return gelu_op(ctx, "nl_gelu_tanh", x, gelu_tanh_q, out);
}
