/*
 * nonlin.c — secure non-linear functions (exp, reciprocal, inverse square
 * root, GeLU, tanh), the layers built from them (row-wise softmax,
 * LayerNorm) and their shared building blocks. Public contracts, ranges and
 * costs: mpct_nonlin.h and NONLINEAR.md; float64 twins: nonlin_ref.c.
 *
 * Invariants:
 *  - Every product is below 2^44 in magnitude before truncation whenever the
 *    input is inside the documented range (well inside the exact
 *    truncation's |x| < 2^62; with the optional probabilistic truncation it
 *    would fail with probability <= 2^-19 per element); values computed for
 *    out-of-range inputs may be garbage but are always multiplied by an exact
 *    0/1 share that is 0 for them, so they never reach an output.
 *  - One stage = one fused mul_trunc_many (3 rounds with the exact
 *    truncation); all comparisons of a function go into one
 *    mpct_share_ltz_win call (8 rounds at width 16, 10 at 64).
 *
 * nl_trunc_many is the core's mpct_share_trunc_many_d (a shift per operand).
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define FI 20 /* internal fractional bits */

/* ---------------------------------------------------------------- helpers */

static uint64_t nl_enc(double v, int F) { return mpct_fxp_encode(v, F); }

static mpct_status nl_new(mpct_share *s, size_t n) { return mpct_share_init_scratch(s, mpct_shape_1d(n ? n : 1)); }
/* Without the zero fill, for shares the caller overwrites completely. */
static mpct_status nl_out(mpct_share *s, size_t n) { return mpc_out_like(s, mpct_shape_1d(n ? n : 1)); }

/* Adds the public ring value c to elements [off, off+len) (x0 slot). */
static void nl_add_pub(const mpct_ctx_t *ctx, mpct_share *s, size_t off, size_t len, uint64_t c)
{
    int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
    if (slot >= 0)
        for (size_t e = 0; e < len; e++)
            s->s[slot][off + e] += c;
}

/* out = c - a (c public). */
static void nl_rsub_pub(const mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out)
{
    const size_t n = a->n; /* a local bound: a->n may alias the stores */
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < n; e++)
            out->s[i][e] = 0 - a->s[i][e];
    nl_add_pub(ctx, out, 0, n, c);
}

static inline uint64_t shr_pos(uint64_t u, int d) { return (uint64_t)((int64_t)u >> d); }
static inline uint64_t shr_neg(uint64_t v, int d) { return 0 - (uint64_t)((int64_t)(0 - v) >> d); }

static mpct_status nl_trunc_many(mpct_ctx_t *ctx, size_t k, mpct_share *const *x, const int *d)
{
    return mpct_share_trunc_many_d(ctx, k, (const mpct_share *const *)x, d, x);
}

static mpct_status nl_fmul(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                    mpct_share *const *out, const int *d)
{
    return mpct_share_mul_trunc_many(ctx, k, a, b, d, out);
}

static mpct_status nl_fmul1(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out, int d)
{
    return nl_fmul(ctx, 1, &a, &b, &out, &d);
}

/* Comparison width for values known to satisfy |v| < 2^(range_bits) at
 * precision fx: 32-bit comparisons (mpct_share_ltz_w: 7 + 2 rounds, half
 * the bytes) when that bound fits in 31 bits, else the full ring. */
static unsigned nl_cmp_width(int range_bits, int fx)
{
    return range_bits + fx <= 31 ? 32 : 64;
}

static mpct_status nl_ltz_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, unsigned width, unsigned lo,
                               mpct_share *const *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += x[i]->n;
    mpct_share cat = {0}, res = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, nl_out(&cat, total));
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
static mpct_status rescale(mpct_ctx_t *ctx, mpct_share *x, int from, int to)
{
    if (to >= from) {
        const size_t n = x->n;
        for (int i = 0; i < 2; i++)
            for (size_t e = 0; e < n; e++)
                x->s[i][e] <<= (to - from);
        return MPCT_OK;
    }
    int d = from - to;
    return nl_trunc_many(ctx, 1, &x, &d);
}

/* A public function of the level k in {lo-1 .. hi} as a share, from
 * b[(j-lo)*n + e] = [x_e < 2^j] (arithmetic 0/1): with monotone bits,
 * A = a(hi) - sum_j b_j (a(j) - a(j-1)). a[] has hi-lo+2 values, a[0] is
 * level lo-1. Local. */
static void level_combo(const mpct_ctx_t *ctx, const mpct_share *b, size_t n, int lo, int hi, const double *a,
                        int F, mpct_share *out)
{
    const int L = hi - lo + 1;
    for (int i = 0; i < 2; i++)
        memset(out->s[i], 0, n * 8);
    for (int j = 0; j < L; j++) {
        uint64_t delta = nl_enc(a[j + 1], F) - nl_enc(a[j], F);
        if (!delta)
            continue;
        for (int i = 0; i < 2; i++) {
            const uint64_t *bj = b->s[i] + (size_t)j * n;
            for (size_t e = 0; e < n; e++)
                out->s[i][e] -= bj[e] * delta;
        }
    }
    nl_add_pub(ctx, out, 0, n, nl_enc(a[L], F));
}

/* b = [x < 2^j] for j = lo..hi, one ltz call over n*(hi-lo+1) elements. */
static mpct_status level_bits(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, mpct_share *b)
{
    const size_t n = x->n, L = (size_t)(hi - lo + 1);
    mpct_share t = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, nl_out(&t, n * L));
    for (size_t j = 0; j < L; j++) {
        for (int i = 0; i < 2; i++)
            memcpy(t.s[i] + j * n, x->s[i], n * 8);
        nl_add_pub(ctx, &t, j * n, n, 0 - nl_enc(ldexp(1.0, lo + (int)j), fx));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_ltz(ctx, &t, b));
done:
    mpct_share_free(&t);
    return st;
}

static mpct_status check_range(const char *fn, int fx, int lo, int hi, int fo)
{
    if (lo < -fx || hi <= lo || hi - lo > 40 || hi > 43 - fx - 2)
        return mpct_error_set(MPCT_ERR_ARG, "%s: range [2^%d, 2^%d) unsupported at %d fractional bits", fn, lo,
                              hi, fx);
    if (fo < 4 || fo > 30)
        return mpct_error_set(MPCT_ERR_ARG, "%s: output fractional bits %d outside [4, 30]", fn, fo);
    return MPCT_OK;
}

/* Range normalisation shared by recip and rsqrt: b = [x < 2^j] for j in
 * [lo, hi] (level_bits), m = x 2^-(k+1) pinned to 0.5 / 1 out of range (at
 * FI bits) and mc = c m (at Fc bits), both from one fused stage. */
static mpct_status normalise(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, double c, int Fc,
                             mpct_share *b, mpct_share *m, mpct_share *mc)
{
    const size_t n = x->n;
    const int L = hi - lo + 1, Fs = 43 - fx;
    double aS[64], aSc[64], aB[64], aBc[64];
    for (int li = 0; li <= L; li++) {
        const int k = lo - 1 + li;
        aS[li] = k >= lo && k < hi ? ldexp(1.0, -(k + 1)) : 0;
        aSc[li] = aS[li] * c;
        aB[li] = k < lo ? 0.5 : k >= hi ? 1.0 : 0;
        aBc[li] = aB[li] * c;
    }
    mpct_status st = MPCT_OK;
    mpct_share S = {0}, Sc = {0}, B = {0};
    MPCT_CALL_GOTO(st, done, level_bits(ctx, x, fx, lo, hi, b));
    MPCT_CALL_GOTO(st, done, nl_new(&S, n));
    MPCT_CALL_GOTO(st, done, nl_new(&Sc, n));
    MPCT_CALL_GOTO(st, done, nl_new(&B, n));
    level_combo(ctx, b, n, lo, hi, aS, Fs, &S);
    level_combo(ctx, b, n, lo, hi, aSc, Fs, &Sc);
    {
        const mpct_share *A[2] = {x, x}, *Bv[2] = {&S, &Sc};
        mpct_share *O[2] = {m, mc};
        int d[2] = {fx + Fs - FI, fx + Fs - Fc};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, Bv, O, d));
    }
    level_combo(ctx, b, n, lo, hi, aB, FI, &B);
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, m, &B, m));
    level_combo(ctx, b, n, lo, hi, aBc, Fc, &B);
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, mc, &B, mc));
done:
    mpct_share_free(&S);
    mpct_share_free(&Sc);
    mpct_share_free(&B);
    return st;
}

/* ------------------------------------------------------------ reciprocal */

static mpct_status nl_recip_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int fo, mpct_share *out)
{
    MPCT_CALL(check_range("recip", fx, lo, hi, fo));
    const size_t n = x->n;
    const int L = hi - lo + 1, R0 = 12, Fo = fo + 1;
    int fr = 43 + lo - Fo;
    if (fr > FI)
        fr = FI;
    if (fr < 8)
        return mpct_error_set(MPCT_ERR_ARG, "recip: output 2^%d at %d fractional bits does not fit", -lo, fo);
    const double c1 = 32.0 / 17, c0 = 48.0 / 17;
    double aO[64];
    for (int li = 0; li <= L; li++) {
        int k = lo - 1 + li;
        aO[li] = k < lo ? ldexp(1.0, -(lo + 1)) : k >= hi ? ldexp(1.0, -hi) : ldexp(1.0, -(k + 1));
    }
    mpct_status st = MPCT_OK;
    mpct_share b = {0}, SO = {0}, m = {0}, m1 = {0}, r0 = {0}, p = {0}, e = {0}, ope = {0}, r1 = {0}, e2 = {0},
               r2 = {0};
    mpct_share *all[] = {&b, &SO, &m, &m1, &r0, &p, &e, &ope, &r1, &e2, &r2};
    /* m = x 2^-(k+1) (FI), m1 = c1 m (R0 bits) */
    MPCT_CALL_GOTO(st, done, normalise(ctx, x, fx, lo, hi, c1, R0, &b, &m, &m1));
    mpct_share *fresh[] = {&SO, &r0, &e, &ope};
    for (size_t i = 0; i < sizeof fresh / sizeof *fresh; i++)
        MPCT_CALL_GOTO(st, done, nl_new(fresh[i], n));
    level_combo(ctx, &b, n, lo, hi, aO, Fo, &SO);
    nl_rsub_pub(ctx, &m1, nl_enc(c0, R0), &r0);
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &m, &r0, &p, R0)); /* p = m r0 (FI) */
    nl_rsub_pub(ctx, &p, nl_enc(1.0, FI), &e);                /* e = 1 - m r0 */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &ope));
    nl_add_pub(ctx, &ope, 0, n, nl_enc(1.0, FI));
    {
        const mpct_share *A[2] = {&r0, &e}, *Bv[2] = {&ope, &e};
        mpct_share *O[2] = {&r1, &e2};
        int d[2] = {R0, FI};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, Bv, O, d));
    }
    nl_add_pub(ctx, &e2, 0, n, nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &r1, &e2, &r2, 2 * FI - fr));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &SO, &r2, out, Fo + fr - fo));
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_recip(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_recip");
    st = nl_recip_core(ctx, x, ctx->frac_bits, lo, hi, out_frac ? out_frac : ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------ inverse sqrt */

static mpct_status nl_rsqrt_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, double scale, int fo,
                          mpct_share *out)
{
    MPCT_CALL(check_range("rsqrt", fx, lo, hi, fo));
    const size_t n = x->n;
    const int L = hi - lo + 1, Fg = fo + 2;
    const double cg = 0.8284, c0 = 1.8284 - 0.0245;
    double aT[64], maxT = 0;
    for (int li = 0; li <= L; li++) {
        int k = lo - 1 + li;
        aT[li] = scale * (k < lo ? pow(2.0, -(lo + 1) / 2.0) : k >= hi ? pow(2.0, -hi / 2.0)
                                                                         : pow(2.0, -(k + 1) / 2.0));
        if (aT[li] > maxT)
            maxT = aT[li];
    }
    const double outmax = maxT * 1.4143;
    int Ft = (int)floor(43 - FI - log2(outmax));
    int ft = (int)floor(43 - Fg - log2(outmax * 1.01));
    if (Ft > 30)
        Ft = 30;
    if (ft > FI)
        ft = FI;
    if (Ft < fo - 2 || ft < 10)
        return mpct_error_set(MPCT_ERR_ARG, "rsqrt: output up to %g at %d fractional bits does not fit", outmax,
                              fo);
    mpct_status st = MPCT_OK;
    mpct_share b = {0}, T = {0}, m = {0}, mg = {0}, y = {0}, h = {0}, t = {0}, g = {0};
    mpct_share *all[] = {&b, &T, &m, &mg, &y, &h, &t, &g};
    MPCT_CALL_GOTO(st, done, normalise(ctx, x, fx, lo, hi, cg, FI, &b, &m, &mg));
    MPCT_CALL_GOTO(st, done, nl_new(&T, n));
    MPCT_CALL_GOTO(st, done, nl_out(&y, n));
    level_combo(ctx, &b, n, lo, hi, aT, Ft, &T);
    nl_rsub_pub(ctx, &mg, nl_enc(c0, FI), &y); /* y0 = c0 - cg m */
    /* Newton 1: y <- y (3 - m y^2) / 2 */
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &y, &y, &h, FI));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &m, &h, &t, FI));
    nl_rsub_pub(ctx, &t, nl_enc(3.0, FI), &t);
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &y, &t, &y, FI + 1));
    /* Newton 2 with the output scale folded in: g = T y */
    {
        const mpct_share *A[2] = {&y, &T}, *Bv[2] = {&y, &y};
        mpct_share *O[2] = {&h, &g};
        int d[2] = {FI, Ft + FI - Fg};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, Bv, O, d));
    }
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &m, &h, &t, 2 * FI - ft));
    nl_rsub_pub(ctx, &t, nl_enc(3.0, ft), &t);
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &g, &t, out, Fg + ft + 1 - fo));
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_rsqrt(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_rsqrt");
    st = nl_rsqrt_core(ctx, x, ctx->frac_bits, lo, hi, 1.0, out_frac ? out_frac : ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------------- exp */

/* Base polynomials p(y) = 1 + y + y^2 (c2 + c3 y + c4 y^2) of exp(y). */
static const double exp_taylor3[3] = {0.5, 1.0 / 6, 0};
/* Degree 4 on y in [-2, 0.07], fitted (Nelder-Mead on the maximum of
 * |p(y)^8 - e^(8y)|) for 3 squarings: max error 8.2e-6 in exact
 * arithmetic (the Taylor coefficients give 1.5e-4 here, the Taylor cubic
 * with 4 squarings 5.9e-5). src/mpc/fit_nonlin.py
 * refits it, and test nonlin_fit holds these digits to the refit. */
static const double exp_fit4[3] = {0.50002472, 0.16506409, 0.03397822};

/* Y at precision P[0] holds y = x / 2^nsq; out = p(y)^(2^nsq) at precision
 * P[nsq]. p takes two fused products whatever c4 (y^2, then y^2 q with
 * q = c2 + c3 y + c4 y^2 linear in y and y^2), so degree 4 buys one
 * squaring less. 3 (2 + nsq) rounds. */
static mpct_status exp_chain(mpct_ctx_t *ctx, const mpct_share *Y, const double *c, int nsq, const int *P,
                             mpct_share *out)
{
    const size_t n = Y->n;
    const int p0 = P[0], pq = 2 * p0 - 2; /* q at 2 p0 - 2 bits: y^2 q < 2^60 */
    mpct_status st = MPCT_OK;
    mpct_share y2 = {0}, q = {0}, t = {0}, base = {0};
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, Y, Y, &y2, p0));
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, Y, nl_enc(c[1], p0 - 2), &q));
    if (c[2] != 0) {
        const uint64_t w2 = nl_enc(c[2], p0 - 2);
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                q.s[i][j] += y2.s[i][j] * w2;
    }
    nl_add_pub(ctx, &q, 0, n, nl_enc(c[0], pq));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &y2, &q, &t, pq));
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, &t, Y, &base));
    nl_add_pub(ctx, &base, 0, n, nl_enc(1.0, p0));
    for (int j = 1; j <= nsq; j++) {
        mpct_share *dst = j == nsq ? out : &base;
        MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &base, &base, dst, 2 * P[j - 1] - P[j]));
    }
done:
    mpct_share_free(&y2);
    mpct_share_free(&q);
    mpct_share_free(&t);
    mpct_share_free(&base);
    return st;
}

/* exp of z <= 0 given the keep mask (arithmetic 0/1, 0 where the result must
 * be 0) and optional `one` mask (result exactly 1). z at precision fz.
 * Output at precision fo. The chain takes 15 rounds (y = z/8 is local for
 * fz + 3 <= FI), the keep product 1. */
static mpct_status exp_neg_masked(mpct_ctx_t *ctx, const mpct_share *z, int fz, const mpct_share *keep,
                                  const mpct_share *one, int fo, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share Y = {0}, e = {0};
    const int P[4] = {FI, FI, FI, fo};
    MPCT_CALL_GOTO(st, done, mpct_share_copy(z, &Y));
    MPCT_CALL_GOTO(st, done, rescale(ctx, &Y, fz + 3, FI)); /* y = z / 8 */
    MPCT_CALL_GOTO(st, done, exp_chain(ctx, &Y, exp_fit4, 3, P, &e));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, keep, &e, out));
    if (one) {
        const uint64_t w1 = nl_enc(1.0, fo);
        const size_t n = out->n;
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                out->s[i][j] += one->s[i][j] * w1;
    }
done:
    mpct_share_free(&Y);
    mpct_share_free(&e);
    return st;
}

static mpct_status nl_exp_neg_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int upper, int fo, mpct_share *out)
{
    const size_t n = x->n;
    mpct_status st = MPCT_OK;
    mpct_share lo = {0}, hi = {0}, clo = {0}, chi = {0}, keep = {0};
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &lo));
    nl_add_pub(ctx, &lo, 0, n, nl_enc(16.0, fx)); /* x + 16 < 0 */
    if (upper) {
        MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &hi)); /* -x < 0 */
        const mpct_share *X[2] = {&lo, &hi};
        mpct_share *O[2] = {&clo, &chi};
        MPCT_CALL_GOTO(st, done, nl_ltz_many(ctx, 2, X, 64, 0, O));
    } else {
        MPCT_CALL_GOTO(st, done, mpct_share_ltz(ctx, &lo, &clo));
    }
    MPCT_CALL_GOTO(st, done, nl_out(&keep, n));
    nl_rsub_pub(ctx, &clo, 1, &keep);
    if (upper)
        MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &chi, &keep));
    MPCT_CALL_GOTO(st, done, exp_neg_masked(ctx, x, fx, &keep, upper ? &chi : NULL, fo, out));
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
    nl_add_pub(ctx, &lo, 0, n, nl_enc(16.0, f));
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &hi));
    nl_add_pub(ctx, &hi, 0, n, nl_enc(EXP_HI, f)); /* 10 - x < 0 */
    {
        const mpct_share *X[2] = {&lo, &hi};
        mpct_share *O[2] = {&clo, &chi};
        MPCT_CALL_GOTO(st, done, nl_ltz_many(ctx, 2, X, 64, 0, O));
    }
    MPCT_CALL_GOTO(st, done, nl_out(&keep, n));
    nl_rsub_pub(ctx, &clo, 1, &keep);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &chi, &keep));
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &Y));
    MPCT_CALL_GOTO(st, done, rescale(ctx, &Y, f + 8, FI)); /* y = x / 256 */
    MPCT_CALL_GOTO(st, done, exp_chain(ctx, &Y, exp_taylor3, 8, P, &e));
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &keep, &e, out));
    const uint64_t ehi = nl_enc(exp(EXP_HI), f);
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
#define GELU_FC 16 /* fractional bits of the coefficients */
#define GELU_FK 16 /* fractional bits of the public 1/T^2 */
/* The joints need not be exact: within 2^-6 of +-T both sides agree to
 * the fit's error. So the comparisons look at bits [f - 6, f + 10) only
 * (windowed, 16 bits). The compared values x + T and T - x must stay below
 * 511.97: inputs |x| < 500. */
#define GELU_WIN_FRAC 6

mpct_status mpct_nl_gelu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    const size_t n = x->n;
    const int f = ctx->frac_bits, fv = f + 2, fq = fv + GELU_FC;
    mpct_status st = MPCT_OK;
    mpct_share a = {0}, c = {0}, blo = {0}, bhi = {0}, xk = {0}, v = {0}, v2 = {0}, v3 = {0}, B = {0}, Q = {0},
               sm = {0}, xl = {0};
    OP_ENTER(ctx, "nl_gelu");
    /* blo = [x < -T], bhi = [x > T] in one windowed ltz */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &a));
    nl_add_pub(ctx, &a, 0, n, nl_enc(GELU_T, f));
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &c));
    nl_add_pub(ctx, &c, 0, n, nl_enc(GELU_T, f));
    {
        const mpct_share *X[2] = {&a, &c};
        mpct_share *O[2] = {&blo, &bhi};
        const unsigned lo = f > GELU_WIN_FRAC ? (unsigned)(f - GELU_WIN_FRAC) : 0;
        MPCT_CALL_GOTO(st, done, nl_ltz_many(ctx, 2, X, 16, lo, O));
    }
    /* v = x (x / T^2) at fv bits, then v^2 and v^3 (v <= 1.01 where used;
     * outside the middle piece the powers may wrap: they are multiplied by
     * an exact 0 below) */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, x, nl_enc(1.0 / (GELU_T * GELU_T), GELU_FK), &xk));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, x, &xk, &v, 2 * f + GELU_FK - fv));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &v, &v, &v2, fv));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &v, &v2, &v3, fv));
    /* Q = (q0 + q1 v + q2 v^2) + v^3 (q3 + q4 v + q5 v^2), all at fq bits;
     * |q3 + q4 v + q5 v^2| < 15, so v^3 B < 2^56 before its truncation */
    MPCT_CALL_GOTO(st, done, nl_new(&Q, n));
    MPCT_CALL_GOTO(st, done, nl_new(&B, n));
    {
        const mpct_share *pw[2] = {&v, &v2};
        for (int k = 0; k < 2; k++) {
            const uint64_t wa = nl_enc(gelu_q[k + 1], GELU_FC), wb = nl_enc(gelu_q[k + 4], GELU_FC);
            for (int i = 0; i < 2; i++)
                for (size_t j = 0; j < n; j++) {
                    Q.s[i][j] += pw[k]->s[i][j] * wa;
                    B.s[i][j] += pw[k]->s[i][j] * wb;
                }
        }
    }
    nl_add_pub(ctx, &Q, 0, n, nl_enc(gelu_q[0], fq));
    nl_add_pub(ctx, &B, 0, n, nl_enc(gelu_q[3], fq));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &v3, &B, &v, fv)); /* v^3 B at fq (v reused) */
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, &Q, &v, &Q));
    /* middle piece M = x/2 + Q, x lifted to fq bits (|x| < 2^9: below 2^44) */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, x, (uint64_t)1 << (fq - f), &xl));
    {
        const uint64_t half = (uint64_t)1 << (fq - f - 1); /* x/2 at fq bits */
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                Q.s[i][j] += x->s[i][j] * half;
    }
    /* select, one fused truncation: (1 - blo - bhi) M + bhi x */
    MPCT_CALL_GOTO(st, done, nl_out(&sm, n));
    nl_rsub_pub(ctx, &blo, 1, &sm);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &sm, &bhi, &sm));
    {
        const mpct_share *A[2] = {&sm, &bhi}, *Bs[2] = {&Q, &xl};
        MPCT_CALL_GOTO(st, done, mpct_share_dot_trunc(ctx, 2, A, Bs, fq - f, out));
    }
    out->shape = x->shape;
done:;
    mpct_share *all[] = {&a, &c, &blo, &bhi, &xk, &v, &v2, &v3, &B, &Q, &sm, &xl};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------------ tanh */

/* Goldschmidt division num / den for den in [1, 2] (FI bits), given
 * r0 = 24/17 - 8/17 den at 12 bits; out at precision fo. 6 rounds. */
static mpct_status nl_div12(mpct_ctx_t *ctx, const mpct_share *num, const mpct_share *den, const mpct_share *r0, int fo,
                     mpct_share *out)
{
    const size_t n = num->n;
    mpct_status st = MPCT_OK;
    mpct_share p = {0}, q = {0}, e = {0}, ope = {0}, g = {0}, e2 = {0};
    {
        const mpct_share *A[2] = {den, num}, *B[2] = {r0, r0};
        mpct_share *O[2] = {&p, &q};
        int d[2] = {12, 12};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, B, O, d));
    }
    MPCT_CALL_GOTO(st, done, nl_out(&e, n));
    nl_rsub_pub(ctx, &p, nl_enc(1.0, FI), &e);
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &ope));
    nl_add_pub(ctx, &ope, 0, n, nl_enc(1.0, FI));
    {
        const mpct_share *A[2] = {&q, &e}, *B[2] = {&ope, &e};
        mpct_share *O[2] = {&g, &e2};
        int d[2] = {FI, FI};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, B, O, d));
    }
    nl_add_pub(ctx, &e2, 0, n, nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &g, &e2, out, 2 * FI - fo));
done:
    mpct_share_free(&p);
    mpct_share_free(&q);
    mpct_share_free(&e);
    mpct_share_free(&ope);
    mpct_share_free(&g);
    mpct_share_free(&e2);
    return st;
}

mpct_status mpct_nl_tanh(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    const size_t n = x->n;
    const int f = ctx->frac_bits;
    mpct_status st = MPCT_OK;
    mpct_share a = {0}, bb = {0}, cneg = {0}, cl = {0}, ch = {0}, keep = {0}, t = {0}, ax = {0}, Y = {0}, e = {0},
               E = {0}, R = {0}, den = {0}, num = {0}, y = {0};
    const int P[5] = {FI, FI, FI, FI, FI};
    OP_ENTER(ctx, "nl_tanh");
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &a));
    nl_add_pub(ctx, &a, 0, n, nl_enc(8.0, f)); /* x < -8 */
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &bb));
    nl_add_pub(ctx, &bb, 0, n, nl_enc(8.0, f)); /* x > 8 */
    {
        const mpct_share *X[3] = {x, &a, &bb};
        mpct_share *O[3] = {&cneg, &cl, &ch};
        MPCT_CALL_GOTO(st, done, nl_ltz_many(ctx, 3, X, 64, 0, O)); /* valid for all x: full-width comparisons */
    }
    MPCT_CALL_GOTO(st, done, nl_out(&keep, n));
    nl_rsub_pub(ctx, &cl, 1, &keep);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &ch, &keep));
    /* |x| = x - 2 cneg x */
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &cneg, x, &t));
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &t, 2, &t));
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, x, &t, &ax));
    /* e = exp(-2|x|): y = -|x| / 8 */
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, &ax, &Y));
    MPCT_CALL_GOTO(st, done, rescale(ctx, &Y, f + 3, FI));
    MPCT_CALL_GOTO(st, done, exp_chain(ctx, &Y, exp_taylor3, 4, P, &e));
    /* mask, and (8/17) e for the initial guess, in one round + one trunc */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &e, nl_enc(8.0 / 17, FI), &E));
    {
        const mpct_share *A[2] = {&keep, &keep}, *B[2] = {&e, &E};
        mpct_share *O[2] = {&e, &R};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_many(ctx, 2, A, B, O));
        int d = FI + FI - 12;
        mpct_share *T[1] = {&R};
        MPCT_CALL_GOTO(st, done, nl_trunc_many(ctx, 1, T, &d));
    }
    nl_rsub_pub(ctx, &R, nl_enc(16.0 / 17, 12), &R); /* r0 = 24/17 - 8/17 (1 + e) */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &den));
    nl_add_pub(ctx, &den, 0, n, nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, nl_out(&num, n));
    nl_rsub_pub(ctx, &e, nl_enc(1.0, FI), &num);
    MPCT_CALL_GOTO(st, done, nl_div12(ctx, &num, &den, &R, f, &y));
    /* sign */
    MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &cneg, &y, &t));
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &t, 2, &t));
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &y, &t, out));
    out->shape = x->shape;
done:
    mpct_share_free(&a);
    mpct_share_free(&bb);
    mpct_share_free(&cneg);
    mpct_share_free(&cl);
    mpct_share_free(&ch);
    mpct_share_free(&keep);
    mpct_share_free(&t);
    mpct_share_free(&ax);
    mpct_share_free(&Y);
    mpct_share_free(&e);
    mpct_share_free(&E);
    mpct_share_free(&R);
    mpct_share_free(&den);
    mpct_share_free(&num);
    mpct_share_free(&y);
    OP_LEAVE(ctx);
    return st;
}


/* --------------------------------------------------------------- softmax */

#define SM_BIG 1024.0 /* masked logits are shifted down by this much */

mpct_status mpct_nl_softmax(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask, mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = x->n;
    const size_t C = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!C || n % C)
        return mpct_error_set(MPCT_ERR_ARG, "softmax: %zu elements are not rows of %zu", n, C);
    const size_t R = n / C;
    const size_t rpm = mask && mask->rows_per_mask ? mask->rows_per_mask : 1;
    if (mask && mask->secret && mask->secret->n < ((R + rpm - 1) / rpm) * C)
        return mpct_error_set(MPCT_ERR_ARG, "softmax: secret mask has %zu elements, need %zu", mask->secret->n,
                              ((R + rpm - 1) / rpm) * C);
    mpct_status st = MPCT_OK;
    mpct_share xm = {0}, cur = {0}, a = {0}, b = {0}, c = {0}, cd = {0}, nxt = {0}, z = {0}, zc = {0}, clo = {0},
               keep = {0}, e = {0}, sum = {0}, r = {0}, rb = {0};
    OP_ENTER(ctx, "nl_softmax");
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &xm));
    if (mask && (mask->secret || mask->pub)) {
        const uint64_t big = nl_enc(SM_BIG, f);
        const int slot = ctx->party == 0 ? 0 : ctx->party == 2 ? 1 : -1;
        for (size_t row = 0; row < R; row++) {
            const size_t mo = (row / rpm) * C;
            for (size_t j = 0; j < C; j++) {
                const size_t e = row * C + j;
                if (mask->secret) { /* x + (m - 1) BIG */
                    for (int i = 0; i < 2; i++)
                        xm.s[i][e] += mask->secret->s[i][mo + j] * big;
                    if (slot >= 0)
                        xm.s[slot][e] -= big;
                } else if (!mask->pub[mo + j] && slot >= 0) {
                    xm.s[slot][e] -= big;
                }
            }
        }
    }
    /* row max: log-depth tree, one ltz + one mul per stage. With |x| < 256
     * every compared value (differences of masked logits, z + 16) is below
     * SM_BIG + 512 = 1536 < 2^11: 32-bit comparisons while f <= 20.
     * The max need not be exact: softmax(x) = exp(x - c) / sum exp(x - c) for
     * any c, and c only has to keep x - c small. Windowed comparisons
     * (bits [lo, lo + cw)) err only where two candidates differ by less than
     * 2^lo, and then pick the smaller one, which is still an element of the
     * row: after D stages the result is within D 2^lo of the max, so
     * z = x - c <= D 2^(lo - f) <= 1/2 (exp(z) < 1.65). For D <= 8 (C <= 256)
     * that leaves 16 bits for |d| < 1536: half of msb's bytes, one round
     * less per stage. The clip [z < -16] takes the same window (2^-4 of
     * slack there changes nothing). */
    unsigned depth = 0, cw = nl_cmp_width(11, f), lo = 0;
    while (((size_t)1 << depth) < C)
        depth++;
    if (cw < 64) {
        unsigned ld = 0;
        while ((1u << ld) < depth)
            ld++;
        lo = (unsigned)f > ld + 1 ? (unsigned)f - ld - 1 : 0;
        /* |d| <= 1536 2^f must stay below 2^lo (2^(cw-1) - 2) */
        if (ldexp(1.0, (int)lo) * (32768.0 - 2) > 1536.0 * ldexp(1.0, f) + 1)
            cw = 16;
    }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&xm, &cur));
    for (size_t w = C; w > 1;) {
        const size_t h = w / 2, odd = w & 1, w2 = h + odd;
        mpct_share_free(&a);
        mpct_share_free(&b);
        mpct_share_free(&c);
        mpct_share_free(&cd);
        mpct_share_free(&nxt);
        MPCT_CALL_GOTO(st, done, nl_out(&a, R * h));
        MPCT_CALL_GOTO(st, done, nl_out(&nxt, R * w2));
        for (int i = 0; i < 2; i++)
            for (size_t row = 0; row < R; row++)
                for (size_t k = 0; k < h; k++)
                    a.s[i][row * h + k] = cur.s[i][row * w + 2 * k] - cur.s[i][row * w + 2 * k + 1]; /* d = a - b */
        MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &a, cw, lo, &c)); /* c = [a < b] */
        MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &c, &a, &cd));
        for (int i = 0; i < 2; i++)
            for (size_t row = 0; row < R; row++) {
                for (size_t k = 0; k < h; k++)
                    nxt.s[i][row * w2 + k] = cur.s[i][row * w + 2 * k] - cd.s[i][row * h + k];
                if (odd)
                    nxt.s[i][row * w2 + h] = cur.s[i][row * w + w - 1];
            }
        mpct_share_free(&cur);
        cur = nxt;
        nxt = (mpct_share){0};
        w = w2;
    }
    /* z = x - max <= 0; keep = [z >= -16] */
    MPCT_CALL_GOTO(st, done, nl_out(&z, n));
    /* rows by columns here and in mpct_share_row_sums/bcast_rows: a division per element
     * (e / C, C not a constant) took ~45 % of softmax's own samples */
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t mx = cur.s[i][row], *restrict xr = xm.s[i] + row * C;
            uint64_t *restrict zr = z.s[i] + row * C;
            for (size_t j = 0; j < C; j++)
                zr[j] = xr[j] - mx;
        }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&z, &zc));
    nl_add_pub(ctx, &zc, 0, n, nl_enc(16.0, f));
    MPCT_CALL_GOTO(st, done, mpct_share_ltz_win(ctx, &zc, cw, lo, &clo));
    MPCT_CALL_GOTO(st, done, nl_out(&keep, n));
    nl_rsub_pub(ctx, &clo, 1, &keep);
    MPCT_CALL_GOTO(st, done, exp_neg_masked(ctx, &z, f, &keep, NULL, FI, &e));
    /* row sums in [1, 1.65 C] (the element picked as the max contributes 1;
     * every term is below e^(1/2)) and their reciprocal */
    MPCT_CALL_GOTO(st, done, nl_out(&sum, R));
    mpct_share_row_sums(&e, C, &sum);
    int hi = 1;
    while (ldexp(1.0, hi) <= (lo ? 1.65 : 1.0) * (double)C)
        hi++;
    MPCT_CALL_GOTO(st, done, nl_recip_core(ctx, &sum, FI, 0, hi, 24, &r));
    MPCT_CALL_GOTO(st, done, nl_out(&rb, n));
    mpct_share_bcast_rows(&r, C, &rb);
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &e, &rb, out, FI + 24 - f));
    out->shape = x->shape;
done:;
    mpct_share *all[] = {&xm, &cur, &a, &b, &c, &cd, &nxt, &z, &zc, &clo, &keep, &e, &sum, &r, &rb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------- LayerNorm */

#define LN_FC 20  /* fractional bits of the public 1/H */
#define LN_FV 12  /* precision of the deviations used for the variance */
#define LN_FR 18  /* precision of 1/sigma */
#define LN_VAR_LO (-12) /* embedding LayerNorms see variances near 3e-3 */
#define LN_VAR_HI 11

mpct_status mpct_nl_layernorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain,
                              const mpct_share *bias, double eps, mpct_share *out)
{
    const int f = ctx->frac_bits;
    const size_t n = x->n;
    const size_t H = x->shape.ndim ? x->shape.dim[x->shape.ndim - 1] : n;
    if (!H || n % H || gain->n != H || bias->n != H)
        return mpct_error_set(MPCT_ERR_ARG, "layernorm: input of %zu elements, rows of %zu, gain %zu, bias %zu",
                              n, H, gain->n, bias->n);
    const size_t R = n / H;
    mpct_status st = MPCT_OK;
    mpct_share D = {0}, Dv = {0}, gb = {0}, sq = {0}, dg = {0}, S2 = {0}, r = {0}, rb = {0};
    OP_ENTER(ctx, "nl_layernorm");
    MPCT_CALL_GOTO(st, done, nl_new(&D, n));
    MPCT_CALL_GOTO(st, done, nl_new(&gb, n));
    const uint64_t cH = nl_enc(1.0 / (double)H, LN_FC);
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *xr = x->s[i] + row * H;
            uint64_t s = 0;
            for (size_t j = 0; j < H; j++)
                s += xr[j];
            for (size_t j = 0; j < H; j++) {
                D.s[i][row * H + j] = ((uint64_t)H * xr[j] - s) * cH; /* H (x - mean) / H, scaled by (1+delta) */
                gb.s[i][row * H + j] = gain->s[i][j];
            }
        }
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&D, &Dv));
    {
        mpct_share *O[2] = {&D, &Dv};
        int d[2] = {LN_FC, LN_FC + f - LN_FV};
        MPCT_CALL_GOTO(st, done, nl_trunc_many(ctx, 2, O, d));
    }
    {
        const mpct_share *A[2] = {&Dv, &D}, *B[2] = {&Dv, &gb};
        mpct_share *O[2] = {&sq, &dg};
        int d[2] = {LN_FV, f};
        MPCT_CALL_GOTO(st, done, nl_fmul(ctx, 2, A, B, O, d));
    }
    MPCT_CALL_GOTO(st, done, nl_out(&S2, R));
    mpct_share_row_sums(&sq, H, &S2);
    nl_add_pub(ctx, &S2, 0, R, nl_enc(eps * (double)H, LN_FV));
    const int lo = (int)floor(log2((double)H) + LN_VAR_LO), hi = (int)ceil(log2((double)H) + LN_VAR_HI);
    MPCT_CALL_GOTO(st, done, nl_rsqrt_core(ctx, &S2, LN_FV, lo, hi, sqrt((double)H), LN_FR, &r));
    MPCT_CALL_GOTO(st, done, nl_out(&rb, n));
    mpct_share_bcast_rows(&r, H, &rb);
    MPCT_CALL_GOTO(st, done, nl_fmul1(ctx, &dg, &rb, out, LN_FR));
    for (int i = 0; i < 2; i++)
        for (size_t row = 0; row < R; row++) {
            const uint64_t *restrict bb = bias->s[i];
            uint64_t *restrict orow = out->s[i] + row * H;
            for (size_t j = 0; j < H; j++)
                orow[j] += bb[j];
        }
    out->shape = x->shape;
done:
    mpct_share_free(&D);
    mpct_share_free(&Dv);
    mpct_share_free(&gb);
    mpct_share_free(&sq);
    mpct_share_free(&dg);
    mpct_share_free(&S2);
    mpct_share_free(&r);
    mpct_share_free(&rb);
    OP_LEAVE(ctx);
    return st;
}
