/*
 * mpct_nonlin_sub.h — MPC-friendly substitutes for GeLU and softmax
 * (MPCFormer's Quad and 2Quad) over replicated shares, for models trained
 * or distilled with them (python/mpct/optimize/subst.py computes the same
 * functions in PyTorch). Unlike the approximations of mpct_nonlin.h these
 * are the model's own functions: the secure results differ from the
 * float64 twins by fixed-point rounding only.
 *
 * Conventions as mpct_nonlin.h: fixed point with the context's f
 * fractional bits in and out; rounds and words with the default exact
 * truncation (every product fused with its truncation).
 *
 * Function              valid range             rounds              bytes/elem (busiest)  max abs err
 * mpct_nl_quad          |x| < 2^13              2                   14                    1 ulp
 * mpct_nl_2quad (C)     |s + c| < 180, row      20 (secret mask:    38 (46 with a secret  5e-4 (recip's
 *                       sums in [2^-2, 2^24)    21)                 mask), C = 128        rel. error)
 * (Measured by test_nonlin_sub --markdown at C = 128; mpct_nl_softmax:
 * 67 rounds, ~126 bytes per element.)
 */
#ifndef MPCT_NONLIN_SUB_H
#define MPCT_NONLIN_SUB_H

#include "mpct_nonlin.h"

/* 2Quad's shift c: p_ij ~ (s_ij + c)^2 (MPCFormer's choice). */
#define MPCT_NL_2QUAD_C 5.0

/* Quad(x) = 0.125 x^2 + 0.25 x + 0.5, as trunc(x (x + 2), f + 3) + 0.5: one
 * fused product and truncation (2 rounds). |x| < 2^13 keeps the product
 * below 2^44. */
mpct_status mpct_nl_quad(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* 2Quad attention probabilities over the last axis of x (any leading
 * shape), mask as mpct_nl_softmax's (secret 0/1 share or public bytes,
 * NULL: nothing masked): q = m (x + c)^2, p = q / (sum of the row's q).
 * A secret mask costs one product round (m (x + c), exact on 0/1 integers);
 * a public one zeroes the masked entries locally. The square and the final
 * product are fused truncated products (2 rounds each), the division one
 * recip per row on [2^-2, 2^24) at 28 output bits (16 rounds). Masked
 * entries are exactly 0 (a public mask: always; a secret one: with the
 * exact truncation, the default). A row whose kept sum is below 2^-2
 * (every kept (score + c)^2 summing to less than 1/4) saturates: its
 * probabilities are multiplied by 4 instead of divided by the sum. */
mpct_status mpct_nl_2quad(mpct_ctx_t *ctx, const mpct_share *x, const mpct_nl_mask *mask,
                          mpct_share *out) MPCT_WUR;

/* ---- float64 twins (the exact functions) ---- */
double mpct_nl_ref_quad(double x);
/* rows x cols, mask (NULL or rows x cols, 1 keep / 0 masked); a row with
 * nothing kept, or a zero sum, gives zeros */
void mpct_nl_ref_2quad(const double *x, const uint8_t *mask, size_t rows, size_t cols, double *out);

#endif
