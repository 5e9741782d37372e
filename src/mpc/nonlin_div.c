/*
 * nonlin_div.c — secure reciprocal (mpct_nl_recip), inverse square root
 * (mpct_nl_rsqrt), tanh, SiLU and SwiGLU over replicated shares. recip and
 * rsqrt: ONE comparison call against a grid of thresholds 2^(lo + t/sub)
 * (every octave of [2^lo, 2^hi] cut into sub geometric sub-segments:
 * level_bits), whose monotone bits make any public function of the segment
 * local (level_combo): the normalisation m = x 2^-(k+1), the segment's
 * minimax linear guess y0 = alpha - beta m (one fused stage: dv_guess) and
 * the output scale; then ONE Newton/Goldschmidt step whose independent
 * products share rounds (recip: e = 1 - m r0 beside q = 2^-(k+1) r0, then
 * q + q e; rsqrt: g = T y0 beside u = m y0, e = 1 - u y0, then g + g e/2).
 * tanh: its Goldschmidt division on [1, 2]. The reciprocal and inverse
 * square root cores (declared in mpc-impl.h) also serve softmax and
 * LayerNorm (nonlin_norm.c). Shared building blocks: nonlin.c; contracts
 * and ranges: mpct_nonlin.h and NONLINEAR.md.
 *
 * Costs (default exact truncation; rounds independent of the element
 * count; words = 8-byte ring elements per element sent by the busiest
 * party; measured by test_nonlin --markdown, see mpct_nonlin.h):
 *   mpct_nl_recip     16 rounds (15 inside softmax: 32-bit comparisons of
 *                     the bounded row sums), words grow with hi - lo
 *   mpct_nl_rsqrt     18 rounds, words grow with hi - lo (NONLINEAR.md)
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

/* The guess grid: thresholds tau_t = 2^(lo + t/sub), t = 0 .. NT-1,
 * NT = (hi - lo) sub + 1 (sub sub-segments per octave: DV_SUB_RECIP,
 * DV_SUB_RSQRT). The index li = number of thresholds <= x: 0 below 2^lo,
 * NT at or above 2^hi, else segment li - 1 of level k = lo + (li - 1) / sub
 * (x in [2^k, 2^(k+1))), sub-segment s = (li - 1) % sub of the octave,
 * where m = x 2^-(k+1) lies in [2^(s/sub - 1), 2^((s+1)/sub - 1)).
 * The residual e of the one correction step stays below 2^-eb: the linear
 * guesses are within 3.5e-3 of 1/m (4 sub-segments: |e| < 2^-7) and 5.7e-3
 * of 1/sqrt(m) (2 sub-segments, fewer comparisons for LayerNorm's and
 * RMSNorm's wide ranges: |e| = |1 - m y0^2| < 2^-6), plus rounding. */
#define DV_SUB_RECIP 4
#define DV_EB_RECIP 7
#define DV_SUB_RSQRT 2
#define DV_EB_RSQRT 6
#define DV_MAXT (40 * DV_SUB_RECIP + 2)

static int dv_nt(int lo, int hi, int sub) { return (hi - lo) * sub + 1; }

/* A public function of the index as a share, from b[t*n + e] = [x_e < tau_t]
 * (arithmetic 0/1): with monotone bits, A = a(NT) - sum_t b_t (a(t+1) - a(t)).
 * a[] has NT + 1 values. Local. */
static void level_combo(const mpct_ctx_t *ctx, const mpct_share *b, size_t n, int NT, const double *a, int F,
                        mpct_share *out)
{
    for (int i = 0; i < 2; i++)
        memset(out->s[i], 0, n * 8);
    for (int j = 0; j < NT; j++) {
        uint64_t delta = mpc_nl_enc(a[j + 1], F) - mpc_nl_enc(a[j], F);
        if (!delta)
            continue;
        for (int i = 0; i < 2; i++) {
            const uint64_t *bj = b->s[i] + (size_t)j * n;
            for (size_t e = 0; e < n; e++)
                out->s[i][e] -= bj[e] * delta;
        }
    }
    mpc_nl_add_pub(ctx, out, 0, n, mpc_nl_enc(a[NT], F));
}

/* b = [x < tau_t] for every threshold, one comparison call over n NT
 * elements: exact 64-bit, or 32-bit where the caller bounds
 * |x| < 2^xbits with xbits + fx <= 31 (xbits 0: no bound). */
static mpct_status level_bits(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int sub, int xbits,
                              mpct_share *b)
{
    const size_t n = x->n, NT = (size_t)dv_nt(lo, hi, sub);
    mpct_share t = {0};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&t, n * NT));
    for (size_t j = 0; j < NT; j++) {
        for (int i = 0; i < 2; i++)
            memcpy(t.s[i] + j * n, x->s[i], n * 8);
        mpc_nl_add_pub(ctx, &t, j * n, n, 0 - mpc_nl_enc(exp2(lo + (double)j / sub), fx));
    }
    if (xbits > 0 && mpc_nl_cmp_width(xbits, fx) == 32)
        MPCT_CALL_GOTO(st, done, mpct_share_ltz_w(ctx, &t, 32, b));
    else
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

/* The minimax line alpha - beta m to m^-1 (p = 1) or m^-1/2 (p = 0.5) on
 * [a, b]: the chord lowered by half its largest gap (both are convex). */
static void dv_fit(double p, double a, double b, double *alpha, double *beta)
{
    const double fa = pow(a, -p), fb = pow(b, -p), sl = (fb - fa) / (b - a);
    double gap = 0;
    for (int i = 1; i < 64; i++) {
        const double m = a + (b - a) * i / 64;
        gap = fmax(gap, fa + sl * (m - a) - pow(m, -p));
    }
    *alpha = fa - sl * a - gap / 2;
    *beta = -sl;
}

/* Stage 1 of recip (p = 1) and rsqrt (p = 0.5): the index bits b
 * (level_bits), then ONE fused stage for m = x 2^-(k+1) (pinned to 0.5
 * below the range, 1 above; FI bits) and the segment's linear guess
 * y0 = alpha - beta m = alpha - (beta 2^-(k+1)) x (Fc bits; 2 below,
 * 1 above for recip, sqrt 2 and 1 for rsqrt: the step leaves those
 * exact). */
static mpct_status dv_guess(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int sub, int xbits,
                            double p, int Fc, mpct_share *b, mpct_share *m, mpct_share *y0)
{
    const size_t n = x->n;
    /* beta 2^-(k+1) needs ~16 significant bits at every level for one
     * correction step to suffice; x has up to hi + fx bits, so the product
     * goes past 2^44 (to 2^61): exact under the default exact truncation
     * (|x| < 2^62). The probabilistic one keeps 2^44 and a coarser guess at
     * the top levels (k > 30 - fx: relative guess error up to 2^(k+fx-41)). */
    const int NT = dv_nt(lo, hi, sub), Fs = 43 - fx, Fb = (ctx->trunc_prob ? 42 : 60) - fx;
    double aS[DV_MAXT], aBS[DV_MAXT], aM[DV_MAXT], aA[DV_MAXT];
    for (int li = 0; li <= NT; li++) {
        if (li == 0 || li == NT) {
            aS[li] = aBS[li] = 0;
            aM[li] = li ? 1.0 : 0.5;
            aA[li] = pow(aM[li], -p);
            continue;
        }
        const int k = lo + (li - 1) / sub, s = (li - 1) % sub;
        double al, be;
        dv_fit(p, exp2((double)s / sub - 1), exp2((double)(s + 1) / sub - 1), &al, &be);
        aS[li] = ldexp(1.0, -(k + 1));
        aBS[li] = be * aS[li];
        aM[li] = 0;
        aA[li] = al;
    }
    mpct_status st = MPCT_OK;
    mpct_share S = {0}, BS = {0}, C = {0};
    MPCT_CALL_GOTO(st, done, level_bits(ctx, x, fx, lo, hi, sub, xbits, b));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&S, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&BS, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&C, n));
    level_combo(ctx, b, n, NT, aS, Fs, &S);
    level_combo(ctx, b, n, NT, aBS, Fb, &BS);
    {
        const mpct_share *A[2] = {x, x}, *Bv[2] = {&S, &BS};
        mpct_share *O[2] = {m, y0};
        int d[2] = {fx + Fs - FI, fx + Fb - Fc};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    level_combo(ctx, b, n, NT, aM, FI, &C);
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, m, &C, m));
    level_combo(ctx, b, n, NT, aA, Fc, &C);
    MPCT_CALL_GOTO(st, done, mpct_share_sub(ctx, &C, y0, y0));
done:
    mpct_share_free(&S);
    mpct_share_free(&BS);
    mpct_share_free(&C);
    return st;
}

/* out = trunc(g, fg - fo) + trunc(g e, fg + fe + sh - fo): g + g e 2^-sh
 * at fo bits in one fused stage (the product g e is small: |e| < 2^-eb). */
static mpct_status dv_finish(mpct_ctx_t *ctx, const mpct_share *g, int fg, const mpct_share *e, int fe, int sh,
                             int fo, mpct_share *out)
{
    mpct_status st = MPCT_OK;
    mpct_share one = {0}, t = {0};
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&one, g->n));
    mpc_nl_add_pub(ctx, &one, 0, g->n, 1);
    {
        const mpct_share *A[2] = {g, g}, *Bv[2] = {e, &one};
        mpct_share *O[2] = {&t, out};
        int d[2] = {fg + fe + sh - fo, fg - fo};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_add(ctx, out, &t, out));
done:
    mpct_share_free(&one);
    mpct_share_free(&t);
    return st;
}

/* ------------------------------------------------------------ reciprocal */

/* 1/x = SO r0 (1 + e), e = 1 - m r0, SO = 2^-(k+1) the output scale:
 * stage 1 m and r0 (dv_guess), stage 2 e and q = SO r0, stage 3 q + q e
 * (one Newton/Goldschmidt step: relative error e^2 <= 1.3e-5). */
mpct_status mpc_nl_recip_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, int xbits, int fo,
                              mpct_share *out)
{
    MPCT_CALL(check_range("recip", fx, lo, hi, fo));
    const size_t n = x->n;
    const int NT = dv_nt(lo, hi, DV_SUB_RECIP), Fc = 16, Fso = 42 + lo - Fc < 30 ? 42 + lo - Fc : 30;
    const int fq = fo + 4 < Fso + Fc - 1 ? fo + 4 : Fso + Fc - 1;
    const int Fe = 43 + DV_EB_RECIP + lo - fq < FI ? 43 + DV_EB_RECIP + lo - fq : FI; /* q e < 2^44 */
    if (Fso < hi || Fe < 12)
        return mpct_error_set(MPCT_ERR_ARG, "recip: output 2^%d at %d fractional bits does not fit", -lo, fo);
    double aO[DV_MAXT];
    for (int li = 0; li <= NT; li++)
        aO[li] = li == 0 ? ldexp(1.0, -(lo + 1)) : li == NT ? ldexp(1.0, -hi)
                                                       : ldexp(1.0, -(lo + (li - 1) / DV_SUB_RECIP + 1));
    mpct_status st = MPCT_OK;
    mpct_share b = {0}, SO = {0}, m = {0}, r0 = {0}, e = {0}, q = {0};
    mpct_share *all[] = {&b, &SO, &m, &r0, &e, &q};
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&m, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&r0, n));
    MPCT_CALL_GOTO(st, done, dv_guess(ctx, x, fx, lo, hi, DV_SUB_RECIP, xbits, 1.0, Fc, &b, &m, &r0));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&SO, n));
    level_combo(ctx, &b, n, NT, aO, Fso, &SO);
    {
        const mpct_share *A[2] = {&m, &SO}, *Bv[2] = {&r0, &r0};
        mpct_share *O[2] = {&e, &q};
        int d[2] = {FI + Fc - Fe, Fso + Fc - fq};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    mpc_nl_rsub_pub(ctx, &e, mpc_nl_enc(1.0, Fe), &e); /* e = 1 - m r0 */
    MPCT_CALL_GOTO(st, done, dv_finish(ctx, &q, fq, &e, Fe, 0, fo, out));
done:
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mpct_share_free(all[i]);
    return st;
}

mpct_status mpct_nl_recip(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac, mpct_share *out)
{
    mpct_status st;
    OP_ENTER(ctx, "nl_recip");
    st = mpc_nl_recip_core(ctx, x, ctx->frac_bits, lo, hi, 0, out_frac ? out_frac : ctx->frac_bits, out);
    if (st == MPCT_OK)
        out->shape = x->shape;
    OP_LEAVE(ctx);
    return st;
}

/* ------------------------------------------------------ inverse sqrt */

/* scale/sqrt(x) = g (1 + e/2), g = T y0, e = 1 - m y0^2, T = scale
 * 2^-(k+1)/2: stage 1 m and y0 (dv_guess), stage 2 g and u = m y0,
 * stage 3 e = 1 - u y0, stage 4 g + g e/2 (one Newton step: relative
 * error (3/8) e^2 <= 5e-5). */
mpct_status mpc_nl_rsqrt_core(mpct_ctx_t *ctx, const mpct_share *x, int fx, int lo, int hi, double scale, int fo,
                              mpct_share *out)
{
    MPCT_CALL(check_range("rsqrt", fx, lo, hi, fo));
    const size_t n = x->n;
    const int NT = dv_nt(lo, hi, DV_SUB_RSQRT), Fc = 12;
    double aT[DV_MAXT], maxT = 0;
    for (int li = 0; li <= NT; li++) {
        const int k = li == 0 ? lo : li == NT ? hi - 1 : lo + (li - 1) / DV_SUB_RSQRT; /* y0 = sqrt 2 below, 1 above */
        aT[li] = scale * pow(2.0, -(k + 1) / 2.0);
        maxT = fmax(maxT, aT[li]);
    }
    const double lmax = log2(maxT * 1.4143 * 1.01);
    /* g at fq = fo + 4 bits; e at Fe bits so that g e < 2^44 */
    const int fq = fo + 4, Fe = (int)fmin(FI, floor(44 + DV_EB_RSQRT - lmax - fq));
    int Ft = (int)floor(43 - Fc - lmax);
    Ft = Ft > 30 ? 30 : Ft;
    if (Ft < fo - 2 || Ft + Fc <= fq || Fe < 12)
        return mpct_error_set(MPCT_ERR_ARG, "rsqrt: output up to %g at %d fractional bits does not fit",
                              maxT * 1.4143, fo);
    mpct_status st = MPCT_OK;
    mpct_share b = {0}, T = {0}, m = {0}, y0 = {0}, g = {0}, u = {0}, e = {0};
    mpct_share *all[] = {&b, &T, &m, &y0, &g, &u, &e};
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&m, n));
    MPCT_CALL_GOTO(st, done, mpc_nl_out(&y0, n));
    MPCT_CALL_GOTO(st, done, dv_guess(ctx, x, fx, lo, hi, DV_SUB_RSQRT, 0, 0.5, Fc, &b, &m, &y0));
    MPCT_CALL_GOTO(st, done, mpc_nl_new(&T, n));
    level_combo(ctx, &b, n, NT, aT, Ft, &T);
    {
        const mpct_share *A[2] = {&T, &m}, *Bv[2] = {&y0, &y0};
        mpct_share *O[2] = {&g, &u};
        int d[2] = {Ft + Fc - fq, Fc};
        MPCT_CALL_GOTO(st, done, mpc_nl_fmul(ctx, 2, A, Bv, O, d));
    }
    MPCT_CALL_GOTO(st, done, mpc_nl_fmul1(ctx, &u, &y0, &e, FI + Fc - Fe));
    mpc_nl_rsub_pub(ctx, &e, mpc_nl_enc(1.0, Fe), &e); /* e = 1 - m y0^2 */
    MPCT_CALL_GOTO(st, done, dv_finish(ctx, &g, fq, &e, Fe, 1, fo, out));
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
