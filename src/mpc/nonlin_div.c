/*
 * nonlin_div.c — secure reciprocal (mpct_nl_recip), inverse square root
 * (mpct_nl_rsqrt), tanh, SiLU and SwiGLU over replicated shares: the range normalisation
 * by comparisons with every power of two in [2^lo, 2^hi] (level_bits,
 * level_combo, normalise), Goldschmidt and Newton iterations, and tanh's
 * Goldschmidt division on [1, 2]. The reciprocal and inverse square root
 * cores (declared in mpc-impl.h) also serve softmax and LayerNorm
 * (nonlin_norm.c). Shared building blocks: nonlin.c; contracts and ranges:
 * mpct_nonlin.h and NONLINEAR.md.
 *
 * Costs (default exact truncation; rounds independent of the element
 * count; words = 8-byte ring elements per element sent by the busiest
 * party; measured by test_nonlin --markdown, see mpct_nonlin.h):
 *   mpct_nl_recip     20 rounds, words grow with hi - lo (NONLINEAR.md)
 *   mpct_nl_rsqrt     24 rounds, words grow with hi - lo (NONLINEAR.md)
 *   mpct_nl_tanh      33 rounds, 37 words
 *   mpct_nl_silu      35 rounds, 39 words (tanh on x/2, one product)
 *   mpct_nl_swiglu    35 rounds, 42 words (gate * up inside tanh's rounds)
 *
 * Invariants: those of nonlin.c (products below 2^44 before truncation for
 * in-range inputs; out-of-range values only ever multiplied by an exact 0;
 * one fused mul_trunc_many per stage, one comparison call per function).
 */
#include "mpc-impl.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define FI MPC_NL_FI

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
        uint64_t delta = mpc_nl_enc(a[j + 1], F) - mpc_nl_enc(a[j], F);
        if (!delta)
            continue;
        for (int i = 0; i < 2; i++) {
            const uint64_t *bj = b->s[i] + (size_t)j * n;
            for (size_t e = 0; e < n; e++)
                out->s[i][e] -= bj[e] * delta;
        }
    }
    mpc_nl_add_pub(ctx, out, 0, n, mpc_nl_enc(a[L], F));
}

/* b = [x < 2^j] for j = lo..hi, one ltz call over n*(hi-lo+1) elements. */
static mpct_status level_bits(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, mpct_share *b)
{
    const size_t n = x->n, L = (size_t)(hi - lo + 1);
    mpct_share t = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&t, n * L));
    for (size_t j = 0; j < L; j++) {
        for (int i = 0; i < 2; i++)
            memcpy(t.s[i] + j * n, x->s[i], n * 8);
        mpc_nl_add_pub(ctx, &t, j * n, n, 0 - mpc_nl_enc(ldexp(1.0, lo + (int)j), fx));
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
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&S, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&Sc, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&B, n));
    level_combo(ctx, b, n, lo, hi, aS, Fs, &S);
    level_combo(ctx, b, n, lo, hi, aSc, Fs, &Sc);
    {
        const mpct_share *A[2] = {x, x}, *Bv[2] = {&S, &Sc};
        mpct_share *O[2] = {m, mc};
        int d[2] = {fx + Fs - FI, fx + Fs - Fc};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
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

mpct_status mpc_nl_recip_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int fo, mpct_share *out)
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
        MPCT_CALL_GOTO(st, done, mpc_nl_new(fresh[i], n));
    level_combo(ctx, &b, n, lo, hi, aO, Fo, &SO);
    mpc_nl_rsub_pub(ctx, &m1, mpc_nl_enc(c0, R0), &r0);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &m, &r0, &p, R0)); /* p = m r0 (FI) */
    mpc_nl_rsub_pub(ctx, &p, mpc_nl_enc(1.0, FI), &e);                /* e = 1 - m r0 */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &ope));
    mpc_nl_add_pub(ctx, &ope, 0, n, mpc_nl_enc(1.0, FI));
    {
        const mpct_share *A[2] = {&r0, &e}, *Bv[2] = {&ope, &e};
        mpct_share *O[2] = {&r1, &e2};
        int d[2] = {R0, FI};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    mpc_nl_add_pub(ctx, &e2, 0, n, mpc_nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &r1, &e2, &r2, 2 * FI - fr));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &SO, &r2, out, Fo + fr - fo));
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_recip(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_recip");
    st = mpc_nl_recip_core(ctx, x, ctx->frac_bits, lo, hi, out_frac ? out_frac : ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------ inverse sqrt */

mpct_status mpc_nl_rsqrt_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, double scale, int fo,
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
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&T, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&y, n));
    level_combo(ctx, &b, n, lo, hi, aT, Ft, &T);
    mpc_nl_rsub_pub(ctx, &mg, mpc_nl_enc(c0, FI), &y); /* y0 = c0 - cg m */
    /* Newton 1: y <- y (3 - m y^2) / 2 */
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &y, &y, &h, FI));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &m, &h, &t, FI));
    mpc_nl_rsub_pub(ctx, &t, mpc_nl_enc(3.0, FI), &t);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &y, &t, &y, FI + 1));
    /* Newton 2 with the output scale folded in: g = T y */
    {
        const mpct_share *A[2] = {&y, &T}, *Bv[2] = {&y, &y};
        mpct_share *O[2] = {&h, &g};
        int d[2] = {FI, Ft + FI - Fg};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &m, &h, &t, 2 * FI - ft));
    mpc_nl_rsub_pub(ctx, &t, mpc_nl_enc(3.0, ft), &t);
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &g, &t, out, Fg + ft + 1 - fo));
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_rsqrt(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_rsqrt");
    st = mpc_nl_rsqrt_core(ctx, x, ctx->frac_bits, lo, hi, 1.0, out_frac ? out_frac : ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
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
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, B, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&e, n));
    mpc_nl_rsub_pub(ctx, &p, mpc_nl_enc(1.0, FI), &e);
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &ope));
    mpc_nl_add_pub(ctx, &ope, 0, n, mpc_nl_enc(1.0, FI));
    {
        const mpct_share *A[2] = {&q, &e}, *B[2] = {&ope, &e};
        mpct_share *O[2] = {&g, &e2};
        int d[2] = {FI, FI};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, B, O, d));
    }
    mpc_nl_add_pub(ctx, &e2, 0, n, mpc_nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &g, &e2, out, 2 * FI - fo));
done:
    mpct_share_free(&p);
    mpct_share_free(&q);
    mpct_share_free(&e);
    mpct_share_free(&ope);
    mpct_share_free(&g);
    mpct_share_free(&e2);
    return st;
}

/* tanh of x at fx fractional bits, out at fo bits (tanh's stages). With
 * `up` (SwiGLU): also gu = x up truncated by f, its product in the round
 * of the sign product and its truncation in that of the initial guess,
 * so it costs no round of its own. */
mpct_status mpc_nl_tanh_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int fo, const mpct_share *up,
                             mpct_share *gu, mpct_share *out)
{
    const size_t n = x->n;
    const int f = fx;
    mpct_status st = MPCT_OK;
    mpct_share a = {0}, bb = {0}, cneg = {0}, cl = {0}, ch = {0}, keep = {0}, t = {0}, ax = {0}, Y = {0}, e = {0},
               E = {0}, R = {0}, den = {0}, num = {0}, y = {0};
    const int P[5] = {FI, FI, FI, FI, FI};
    if (up && up->n != n)
        return mpct_error_set(MPCT_ERR_ARG, "swiglu: gate has %zu elements, up %zu", n, up->n);
    MPCT_CALL_GOTO(st, done, mpct_share_copy(x, &a));
    mpc_nl_add_pub(ctx, &a, 0, n, mpc_nl_enc(8.0, f)); /* x < -8 */
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, x, &bb));
    mpc_nl_add_pub(ctx, &bb, 0, n, mpc_nl_enc(8.0, f)); /* x > 8 */
    {
        const mpct_share *X[3] = {x, &a, &bb};
        mpct_share *O[3] = {&cneg, &cl, &ch};
        MPCT_CALL_GOTO(st, done, mpc_nl_ltz_many(ctx, 3, X, 64, 0, O)); /* valid for all x: full-width comparisons */
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&keep, n));
    mpc_nl_rsub_pub(ctx, &cl, 1, &keep);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &keep, &ch, &keep));
    /* |x| = x - 2 cneg x */
    if (up) {
        const mpct_share *A[2] = {&cneg, x}, *B[2] = {x, up};
        mpct_share *O[2] = {&t, gu};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_many(ctx, 2, A, B, O));
    } else {
        MPCT_CALL_GOTO(st, done, mpct_share_mul(ctx, &cneg, x, &t));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &t, 2, &t));
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, x, &t, &ax));
    /* e = exp(-2|x|): y = -|x| / 8 */
    MPCT_CALL_GOTO(st, done, mpct_share_neg(ctx, &ax, &Y));
    MPCT_CALL_GOTO(st, done, mpc_nl_rescale(ctx, &Y, f + 3, FI));
    MPCT_CALL_GOTO(st, done, mpc_nl_exp_chain(ctx, &Y, mpc_nl_exp_taylor3, 4, P, &e));
    /* mask, and (8/17) e for the initial guess, in one round + one trunc */
    MPCT_CALL_GOTO(st, done, mpct_share_mul_const(ctx, &e, mpc_nl_enc(8.0 / 17, FI), &E));
    {
        const mpct_share *A[2] = {&keep, &keep}, *B[2] = {&e, &E};
        mpct_share *O[2] = {&e, &R};
        MPCT_CALL_GOTO(st, done, mpct_share_mul_many(ctx, 2, A, B, O));
        int d[2] = {FI + FI - 12, ctx->frac_bits};
        mpct_share *T[2] = {&R, gu};
        MPCT_CALL_GOTO(st, done, mpc_nl_trunc_many(ctx, up ? 2 : 1, T, d));
    }
    mpc_nl_rsub_pub(ctx, &R, mpc_nl_enc(16.0 / 17, 12), &R); /* r0 = 24/17 - 8/17 (1 + e) */
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&e, &den));
    mpc_nl_add_pub(ctx, &den, 0, n, mpc_nl_enc(1.0, FI));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&num, n));
    mpc_nl_rsub_pub(ctx, &e, mpc_nl_enc(1.0, FI), &num);
    MPCT_CALL_GOTO(st, done, nl_div12(ctx, &num, &den, &R, fo, &y));
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
    return st;
}

mpct_status mpct_nl_tanh(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out)
{
    OP_ENTER(ctx, "nl_tanh");
    mpct_status st = mpc_nl_tanh_core(ctx, x, ctx->frac_bits, ctx->frac_bits, NULL, NULL, out);
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------------ SiLU, SwiGLU */

/* silu(x) = x sigmoid(x) = x (1 + tanh(x/2)) / 2. x/2 costs nothing: x's
 * ring value at f bits is x/2 at f + 1 bits, so tanh runs on it at fx =
 * f + 1 (its clip |x/2| > 8 becomes |x| > 16). Then one fused stage
 * x (1 + t) truncated by fo + 1, t at fo = SILU_FT bits: where tanh
 * saturates, t is +-1 within an ulp, so the output is x or 0 within
 * |x| 2^-(fo+1); x (1 + t) stays below 2^44 for |x| < 512. With `up` (SwiGLU) the last stage takes
 * gu = gate up (made inside tanh's rounds) in place of x. */
#define SILU_FT 18
static mpct_status silu_core(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *up, mpct_share *out)
{
    const int f = ctx->frac_bits, fo = SILU_FT;
    mpct_status st = MPCT_OK;
    mpct_share t = {0}, gu = {0};
    OP_ENTER(ctx, up ? "nl_swiglu" : "nl_silu");
    MPCT_CALL_GOTO(st, done, mpc_nl_tanh_core(ctx, x, f + 1, fo, up, up ? &gu : NULL, &t));
    mpc_nl_add_pub(ctx, &t, 0, t.n, mpc_nl_enc(1.0, fo));
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, up ? &gu : x, &t, out, fo + 1));
    out->shape = x->shape;
done:
    mpct_share_free(&t);
    mpct_share_free(&gu);
    OP_LEAVE(ctx);
    return st;
}

mpct_status mpct_nl_silu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) { return silu_core(ctx, x, NULL, out); }

mpct_status mpct_nl_swiglu(mpct_ctx_t *ctx, const mpct_share *gate, const mpct_share *up, mpct_share *out)
{
    if (gate->n != up->n)
        return mpct_error_set(MPCT_ERR_ARG, "swiglu: gate has %zu elements, up %zu", gate->n, up->n);
    return silu_core(ctx, gate, up, out);
}
