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
 * exact truncation (2 rounds each; 8 + ceil(d/8) bytes per truncated
 * element from two parties, ceil(d/8) more from the third, in turn).
 *
 * Range normalisation (recip, rsqrt): x is compared with 2^(j/s) for every
 * j/s in [lo, hi] (s = 4 sub-segments per octave for recip, 2 for rsqrt) in
 * one ltz call; any public function of the segment is then a public linear
 * combination of the 0/1 results (local), which gives m = x * 2^-(k+1) in
 * [0.5, 1), the segment's minimax linear guess of 1/m or 1/sqrt(m) (one
 * fused stage with m) and the output scale; one Newton step follows.
 * Out-of-range inputs select a fixed level (documented saturation).
 *
 * Function                  valid range           out of range               rounds  words/elem (max)
 * mpct_nl_exp_neg           [-16, 0]              <-16: 0; >0: 1               21      17 (135 bytes)
 * mpct_nl_exp               [-16, 10]             <-16: 0; >10: e^10           33      25 (202 bytes)
 * mpct_nl_recip             [2^lo, 2^hi)          below: 2^-lo; above: 2^-hi   16      NONLINEAR.md (grows with hi-lo)
 * mpct_nl_rsqrt             [2^lo, 2^hi)          below: 2^(-lo/2); above:     18      NONLINEAR.md (grows with hi-lo)
 *                                                 2^(-hi/2)
 * mpct_nl_gelu              |x| < 500 (f >= 6)    <-3.2: 0; >3.2: x            17      11 (85 bytes)
 * mpct_nl_tanh              all                   |x|>8: sign(x)               33      36
 * mpct_nl_softmax (C cols)  |logits| < 256        masked: exactly 0            67 for C = 128 (grows
 *                                                                              with log2 C)  22 (C = 128)
 * mpct_nl_layernorm (H)     var in [2^-12, 2^11], var saturates                24      ~8 at H = 768 (incl.
 *                           |x - mean| < 256                                           one rsqrt per row)
 * mpct_nl_rmsnorm (H)       mean sq in [2^-12,    saturates                    24      ~6 at H = 1024
 *                           2^21], |x| < 2^15
 * mpct_nl_gelu_tanh         |x| < 500             <-3.2: 0; >3.2: x            17      11 (85 bytes)
 * mpct_nl_silu              |x| < 512             |x|>16: x or 0 (1e-5 |x|)    35      37
 * mpct_nl_swiglu            |gate|, |gate up|     as silu                      35      39
 *                           < 512
 * mpct_nl_matmul_rope       |q| < 2^13            -                            2       matmul_trunc's
 * mpct_nl_rope              |x| < 2^(46-x_frac)   -                            2       1 + ceil(d/8)/8
 * mpct_nl_softmax_causal    as softmax            masked: exactly 0, skipped   softmax's for the longest row;
 *                                                                              bytes of the kept entries only
 * mpct_nl_argmax (V)        |x| < 2^range_bits    exact                        11 ceil(log4 V) (32-bit
 *                                                                              comparisons); ~85 bytes per element
 * (Measured by test_nonlin --markdown and test_nonlin_dec --markdown; rounds and words with the default
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

/* 1/x for x in [2^lo, 2^hi) (lo >= -f, hi - lo <= 40): comparisons with
 * 2^(j/4) give the octave and quarter-octave, a minimax linear guess of
 * 1/m per quarter (within 3.5e-3), one Goldschmidt step. x < 2^lo
 * (including x <= 0) gives 2^-lo; x >= 2^hi gives 2^-hi. out_frac: output
 * fractional bits (0 = f); out_frac - lo <= 34 and hi <= 41 - f, else
 * MPCT_ERR_ARG. Rel err ~1.3e-5 plus two output ulps (so at 16 output bits
 * 1/1024 is only good to 2 %: use out_frac 24). */
mpct_status mpct_nl_recip(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac,
                          mpct_share *out) MPCT_WUR;

/* 1/sqrt(x) for x in [2^lo, 2^hi): comparisons with 2^(j/2), a minimax
 * linear guess of 1/sqrt(m) per half-octave (within 5.7e-3), one Newton
 * step y (3 - m y^2) / 2. x < 2^lo gives 2^(-lo/2); x >= 2^hi gives
 * 2^(-hi/2). Rel err ~5e-5 plus two output ulps. */
mpct_status mpct_nl_rsqrt(mpct_ctx_t *ctx, const mpct_share *x, int lo, int hi, int out_frac,
                          mpct_share *out) MPCT_WUR;

/* GeLU (erf form) = x/2 + E(x), E(x) = x (Phi(x) - 1/2), in three pieces:
 * 0 below -3.2, x above 3.2, and between them x/2 + Q(v) with Q a degree-5
 * least-squares polynomial in v = (x/3.2)^2 (E is even: no sign, no |x|).
 * Two windowed comparisons pick the piece and clip x to [-3.2, 3.2]
 * (one ring product); v, v^2, v^3 of the clipped input, then one fused dot
 * product + truncation gives every piece. Valid for |x| < 500. Max abs err 2.2e-3, at the
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
 * max (a tournament: 4-ary levels of one comparison call and two product
 * rounds, the clip [x - max < -16] folded into the last match), exp_neg,
 * sum, recip on [1, cols], product. Masked positions get exactly 0 and do
 * not count. Needs |logits| < 256 (secretly masked ones are shifted by
 * -1024). Publicly masked entries (pub, or row_len below) are left out before any
 * protocol step: no comparison, exp or product runs on them, and the
 * stages are those of the longest kept row (a causal mask over T columns
 * costs what the unmasked softmax costs, with about half the bytes). A
 * row whose public mask keeps nothing, or a fully masked row, returns
 * the unmasked softmax of that row. */
mpct_status mpct_nl_softmax(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                            mpct_share *out) MPCT_WUR;
/* The same with public per-row lengths (causal attention, a KV-cache
 * step): row r of x also masks every column >= row_len[r % len_period]
 * (len_period 0 = one entry per row; lengths <= cols, else MPCT_ERR_ARG).
 * For scores [B, heads, T, L] of queries at positions P..P+T-1 over a
 * cache of L = P + T: row_len[t] = P + t + 1, len_period T; one query
 * against a cache of L: rows of L, no length needed. row_len NULL: the
 * plain mpct_nl_softmax. */
mpct_status mpct_nl_softmax_causal(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                                   const uint32_t *row_len, size_t len_period, mpct_share *out) MPCT_WUR;

/* LayerNorm over the last axis (width H): (x - mean)/sqrt(var + eps) * gain
 * + bias, gain and bias secret shares of H elements (fixed point, |gain| < 8).
 * Valid for row variance in [2^-12, 2^11] and |x - mean| < 256; a variance
 * outside saturates to the nearest bound. */
mpct_status mpct_nl_layernorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain,
                              const mpct_share *bias, double eps, mpct_share *out) MPCT_WUR;

/* RMSNorm (LLaMA) over the last axis (width H): x / sqrt(mean(x^2) + eps)
 * * gain, gain a secret share of H elements (|gain| < 4). LayerNorm's
 * machinery without the centring: the same rounds, fewer bytes. Valid for
 * a row mean square in [2^-12, 2^21] and |x| < 2^15 (decoders' massive
 * activations: SmolLM2 reaches 2.5e4 and mean squares of 1.1e6); a mean square
 * outside saturates to the nearest bound. */
mpct_status mpct_nl_rmsnorm(mpct_ctx_t *ctx, const mpct_share *x, const mpct_share *gain, double eps,
                            mpct_share *out) MPCT_WUR;

/* GPT-2's GeLU ("gelu_new", the tanh form): GeLU's three pieces with its
 * own fitted Q (NONLINEAR.md). Valid for |x| < 500; <-3.2: 0, >3.2: x.
 * Max abs err 1.9e-3 (at the joints). */
mpct_status mpct_nl_gelu_tanh(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* SiLU x sigmoid(x) = x (1 + tanh(x/2)) / 2: tanh on x/2 (free: the same
 * ring value read at f + 1 bits) and one fused product. Valid for
 * |x| < 512 (products below 2^44; with the default exact truncation the
 * result stays right up to 2^27). Abs err <= 6e-5 |x| + 2 ulp (tanh's);
 * for |x| > 16 the output is x or 0 within 1e-5 |x| + 2 ulp. */
mpct_status mpct_nl_silu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;
/* SwiGLU's gated product silu(gate) * up, fused: gate * up runs inside
 * tanh's rounds, so it costs SiLU's rounds (one product stage fewer than
 * silu then a product). |gate| < 512 and |gate up| < 512. */
mpct_status mpct_nl_swiglu(mpct_ctx_t *ctx, const mpct_share *gate, const mpct_share *up,
                           mpct_share *out) MPCT_WUR;

/* RoPE (HF LLaMA's rotate_half pairing: element i of a head pairs with
 * i + head_dim/2) on rows of heads x head_dim, one public position per
 * row (a KV-cache step's row: the cache length). Angle of pair i:
 * pos theta^(-2i/head_dim); cos/sin are public constants at 16 bits. */
typedef struct mpct_nl_rope_cfg {
    size_t heads, head_dim; /* head_dim even */
    double theta;           /* rope_theta: 10000 (LLaMA 1/2), 500000 (LLaMA 3) */
    const int64_t *pos;     /* one position >= 0 per row */
} mpct_nl_rope_cfg;
/* x (rows x heads head_dim, at x_frac fractional bits: 2f for an untruncated
 * product, f for a truncated one) rotated, out at f: one truncation by
 * x_frac + 16 - f (2 rounds), the rotation itself local. */
mpct_status mpct_nl_rope(mpct_ctx_t *ctx, const mpct_share *x, int x_frac, const mpct_nl_rope_cfg *rope,
                         mpct_share *out) MPCT_WUR;
/* The projection a[rows x k] w[k x heads head_dim] rotated, out at f: the
 * rotation is applied to each party's additive term of the product and
 * the one truncation takes 16 bits more, so it costs what matmul_trunc
 * costs (2 rounds). |q| < 2^13 (the exact truncation's bound). */
mpct_status mpct_nl_matmul_rope(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *w,
                                const mpct_nl_rope_cfg *rope, mpct_share *out) MPCT_WUR;
/* Argmax over the last axis (rows x V): idx (R integers, not fixed point)
 * gets each row's index of its largest value, the LOWEST index among equal
 * values (as torch.argmax); onehot (optional, NULL to skip) its 0/1
 * one-hot, rows x V. Exact on the fixed-point values (near-ties within an
 * ulp are decided on the encoded values). range_bits: the caller
 * guarantees |x| < 2^range_bits (then range_bits + f <= 29 takes 32-bit
 * comparisons); 0 = no bound (64-bit comparisons, exact for every input).
 * A 4-ary tournament: ceil(log4 V) levels of one comparison call (all
 * six pairs of every group of four) and two product rounds; the one-hot
 * ceil(log4 V) - 1 rounds more. */
mpct_status mpct_nl_argmax(mpct_ctx_t *ctx, const mpct_share *x, int range_bits, mpct_share *idx,
                           mpct_share *onehot) MPCT_WUR;
/* rows x V, the lowest index of each row's maximum into idx[rows] */
void mpct_nl_ref_argmax(const double *x, size_t rows, size_t V, size_t *idx);
void mpct_nl_ref_rope(const double *x, const mpct_nl_rope_cfg *rope, size_t rows, double *out);

/* ---- float64 twins (the exact functions) ---- */
double mpct_nl_ref_exp(double x);
double mpct_nl_ref_recip(double x);
double mpct_nl_ref_rsqrt(double x);
double mpct_nl_ref_gelu(double x);
double mpct_nl_ref_tanh(double x);
double mpct_nl_ref_gelu_tanh(double x);
double mpct_nl_ref_silu(double x);
void mpct_nl_ref_rmsnorm(const double *x, const double *gain, double eps, size_t rows, size_t h, double *out);
/* rows x cols, mask (NULL or rows x cols, 1 keep / 0 masked) */
void mpct_nl_ref_softmax(const double *x, const uint8_t *mask, size_t rows, size_t cols, double *out);
void mpct_nl_ref_layernorm(const double *x, const double *gain, const double *bias, double eps, size_t rows,
                           size_t h, double *out);

#endif
