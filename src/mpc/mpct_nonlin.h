/*
 * mpct_nonlin.h — secure non-linear layers over replicated shares:
 * exp, reciprocal, inverse square root, GeLU, tanh, row-wise softmax and
 * LayerNorm. Every function has a float64 twin (mpct_nl_ref_*) that computes
 * the exact function; tests compare against it (src/mpc/NONLINEAR.md has the
 * measured error table and how to regenerate it).
 *
 * Conventions: inputs and outputs are fixed point with the context's f
 * fractional bits (f = 16 by default and tested; designed for f <= 18) unless a function
 * takes an explicit out_frac (0 means f). Internal precision is fi = 20 bits;
 * every product is kept below 2^44 before truncation (the exact truncation
 * needs |x| < 2^62; the optional probabilistic one would fail with
 * probability <= 2^-19 per element there).
 * Comparisons of one stage are always ONE mpct_share_ltz_w/_win call over a
 * concatenated array (msb 8 rounds + b2a 2 rounds = 10 rounds, about 5
 * words per compared element for the busiest party). Where an answer may
 * be off near the threshold -- GeLU's piece boundaries, softmax's max and
 * clip -- they are windowed to 16 bits (8 rounds, about 2 words), and
 * independent products of one stage are one fused mul_trunc_many. Rounds below are therefore
 * independent of the number of elements / rows. "words" = 8-byte ring
 * elements sent per party (the busiest) per element, with the default
 * exact truncation (3 rounds each; 8 + ceil(d/8) bytes per truncated
 * element from each party).
 *
 * Range normalisation (recip, rsqrt): x is compared with 2^j for every j in
 * [lo, hi] in one ltz call; any public function of the level
 * k = floor(log2 x) is then a public linear combination of the 0/1 results
 * (local), which gives m = x * 2^-(k+1) in [0.5, 1) and the output scale.
 * Out-of-range inputs select a fixed level (documented saturation).
 *
 * Function                  valid range           out of range               rounds  words/elem (max)
 * mpct_nl_exp_neg           [-16, 0]              <-16: 0; >0: 1               26      18
 * mpct_nl_exp               [-16, 10]             <-16: 0; >10: e^10           44      26
 * mpct_nl_recip             [2^lo, 2^hi)          below: 2^-lo; above: 2^-hi   25      NONLINEAR.md (grows with hi-lo)
 * mpct_nl_rsqrt             [2^lo, 2^hi)          below: 2^(-lo/2); above:     31      NONLINEAR.md (grows with hi-lo)
 *                                                 2^(-hi/2)
 * mpct_nl_gelu              |x| < 500 (f >= 6)    <-3.2: 0; >3.2: x            23      11
 * mpct_nl_tanh              all                   |x|>8: sign(x)               43      36
 * mpct_nl_softmax (C cols)  |logits| < 256        masked: exactly 0            115 for C = 128 (grows
 *                                                                              with log2 C)  15 (C = 128)
 * mpct_nl_layernorm (H)     var in [2^-12, 2^11], var saturates                40      ~7 at H = 768 (incl.
 *                           |x - mean| < 256                                           one rsqrt per row)
 * (Measured by test_nonlin --markdown; rounds and words with the default
 * exact truncation, every product fused with its truncation.)
 * Measured errors: NONLINEAR.md (regenerate with test_nonlin --markdown).
 */
#ifndef MPCT_NONLIN_H
#define MPCT_NONLIN_H

#include "mpct_mpc.h"

/* exp(x) for x <= 0 (softmax's case): p(y)^8 with y = x/8 and
 * p(y) = 1 + y + y^2 (c2 + c3 y + c4 y^2) fitted on [-2, 0.07] (NONLINEAR.md),
 * at 20 fractional bits. x < -16 gives exactly 0; x > 0 gives exactly 1
 * (treated as 0). Measured max abs err 2.2e-5 on [-16, 0]. */
mpct_status mpct_nl_exp_neg(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* exp(x) for x in [-16, 10]: the Taylor cubic 1 + y + y^2/2 + y^3/6 on
 * y = x/256 raised to 2^8 by 8 squarings whose precision drops as the value
 * grows. x < -16 gives 0, x > 10 gives e^10 (saturates). Measured: abs err
 * 2e-4 on [-16, 0], rel err 5e-4 on [0, 10]. */
mpct_status mpct_nl_exp(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* 1/x for x in [2^lo, 2^hi) (lo >= -f, hi - lo <= 40): normalisation by
 * comparisons, linear initial guess 48/17 - 32/17 m, two Goldschmidt steps.
 * x < 2^lo (including x <= 0) gives 2^-lo; x >= 2^hi gives 2^-hi.
 * out_frac: output fractional bits (0 = f); out_frac - lo <= 34 and
 * hi <= 41 - f, else MPCT_ERR_ARG. Rel err ~4e-5 plus one output ulp
 * (so at 16 output bits 1/1024 is only good to 1.6 %: use out_frac 24). */
mpct_status mpct_nl_recip(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac,
                          mpct_share *out) MPCT_WUR;

/* 1/sqrt(x) for x in [2^lo, 2^hi): normalisation as recip, linear initial
 * guess, two Newton steps y <- y (3 - m y^2) / 2. x < 2^lo gives
 * 2^(-lo/2); x >= 2^hi gives 2^(-hi/2). Rel err ~2e-5 plus one output ulp. */
mpct_status mpct_nl_rsqrt(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac,
                          mpct_share *out) MPCT_WUR;

/* GeLU (erf form) = x/2 + E(x), E(x) = x (Phi(x) - 1/2), in three pieces:
 * 0 below -3.2, x above 3.2, and between them x/2 + Q(v) with Q a degree-5
 * least-squares polynomial in v = (x/3.2)^2 (E is even: no sign, no |x|).
 * Two windowed comparisons pick the piece; one fused dot product +
 * truncation selects it. Valid for |x| < 500. Max abs err 2.2e-3, at the
 * joints +-3.2 (3.2 Phi(-3.2)); Q alone is within 1.5e-3 of E. */
mpct_status mpct_nl_gelu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* tanh(x) = sign(x) (1 - e)/(1 + e), e = exp(-2|x|), the division by a
 * Goldschmidt reciprocal on [1, 2]. |x| > 8 gives sign(x). Abs err 1.2e-4. */
mpct_status mpct_nl_tanh(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* Padding mask for softmax: 1 = keep, 0 = masked. Either a secret arithmetic
 * 0/1 share (integers 0/1, not fixed point; e.g. known to the client only)
 * or a public 0/1 byte array, each [mask_rows x cols]. Row r of x uses mask
 * row r / rows_per_mask (e.g. heads*T for scores [B, heads, T, T] and a
 * [B, T] mask); rows_per_mask 0 means 1. */
typedef struct mpct_nl_mask {
    const mpct_share *secret;
    const uint8_t *pub;
    size_t rows_per_mask;
} mpct_nl_mask;

/* Softmax over the last axis of x (any leading shape). Subtracts the row
 * max (log-depth tree of comparisons, ceil(log2 cols) stages), exp_neg,
 * sum, recip on [1, cols], product. Masked positions get exactly 0 and do
 * not count. Needs |logits| < 256 (masked ones are shifted by -1024).
 * A fully masked row returns the unmasked softmax of that row. */
mpct_status mpct_nl_softmax(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                            mpct_share *out) MPCT_WUR;

/* LayerNorm over the last axis (width H): (x - mean)/sqrt(var + eps) * gain
 * + bias, gain and bias secret shares of H elements (fixed point, |gain| < 8).
 * Valid for row variance in [2^-12, 2^11] and |x - mean| < 256; a variance
 * outside saturates to the nearest bound. */
mpct_status mpct_nl_layernorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain,
                              const mpct_share *bias, double eps, mpct_share *out) MPCT_WUR;

/* ---- float64 twins (the exact functions) ---- */
double mpct_nl_ref_exp(double x);
double mpct_nl_ref_recip(double x);
double mpct_nl_ref_rsqrt(double x);
double mpct_nl_ref_gelu(double x);
double mpct_nl_ref_tanh(double x);
/* rows x cols, mask (NULL or rows x cols, 1 keep / 0 masked) */
void mpct_nl_ref_softmax(const double *x, const uint8_t *mask, size_t rows, size_t cols, double *out);
void mpct_nl_ref_layernorm(const double *x, const double *gain, const double *bias, double eps, size_t rows,
                           size_t h, double *out);

#endif
