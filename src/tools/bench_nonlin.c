/*
 * bench_nonlin.c — `mpct bench ops` cases for the secure non-linear layers
 * at BERT-base shapes, linked into the harness through the weak
 * mpct_bench_cases_extra symbols of bench.h.
 *
 *   softmax 12x128x128   attention scores of one sequence, logits in [-10, 10]
 *   gelu 128x3072        FFN activations, inputs in [-6, 6]
 *   layernorm 128x768    hidden states in [-4, 4]; gain 1 + 0.25 sin(j),
 *                        bias 0.1 cos(j) (public constants entered as shares)
 *   tanh 1x768           pooler, inputs in [-3, 3]
 */
#include "bench.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <stdlib.h>

static mpct_status sec_softmax(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_softmax(ctx, &in[0], NULL, out);
}

static void plain_softmax(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t cols = c->in[0].dim[c->in[0].ndim - 1];
    mpct_nl_ref_softmax(in[0], NULL, mpct_shape_numel(c->in[0]) / cols, cols, out);
}

static mpct_status sec_gelu(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_gelu(ctx, &in[0], out);
}

static void plain_gelu(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = mpct_nl_ref_gelu(in[0][i]);
}

static mpct_status sec_tanh(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_tanh(ctx, &in[0], out);
}

static void plain_tanh(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = mpct_nl_ref_tanh(in[0][i]);
}

static double ln_gain(size_t j) { return 1.0 + 0.25 * sin((double)j); }
static double ln_bias(size_t j) { return 0.1 * cos((double)j); }

static mpct_status sec_layernorm(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    const size_t h = in[0].shape.dim[in[0].shape.ndim - 1];
    const int f = mpct_ctx_frac_bits(ctx);
    mpct_share g = {0}, b = {0};
    mpct_status st = MPCT_OK;
    uint64_t *gv = malloc(h * sizeof *gv), *bv = malloc(h * sizeof *bv);
    if (!gv || !bv) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "bench layernorm: out of memory");
        goto done;
    }
    for (size_t j = 0; j < h; j++) {
        gv[j] = mpct_fxp_encode(ln_gain(j), f);
        bv[j] = mpct_fxp_encode(ln_bias(j), f);
    }
    MPCT_CALL_GOTO(st, done, mpct_share_init(&g, mpct_shape_1d(h)));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&b, mpct_shape_1d(h)));
    MPCT_CALL_GOTO(st, done, mpct_share_public(ctx, gv, &g));
    MPCT_CALL_GOTO(st, done, mpct_share_public(ctx, bv, &b));
    MPCT_CALL_GOTO(st, done, mpct_nl_layernorm(ctx, &in[0], &g, &b, 1e-12, out));
done:
    free(gv);
    free(bv);
    mpct_share_free(&g);
    mpct_share_free(&b);
    return st;
}

static void plain_layernorm(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t h = c->in[0].dim[c->in[0].ndim - 1], rows = mpct_shape_numel(c->in[0]) / h;
    double *g = malloc(h * sizeof *g), *b = malloc(h * sizeof *b);
    if (!g || !b) {
        free(g);
        free(b);
        return;
    }
    for (size_t j = 0; j < h; j++) {
        g[j] = ln_gain(j);
        b[j] = ln_bias(j);
    }
    mpct_nl_ref_layernorm(in[0], g, b, 1e-12, rows, h, out);
    free(g);
    free(b);
}

#define S2(a, b) {.ndim = 2, .dim = {a, b, 1, 1}}
#define S3(a, b, c) {.ndim = 3, .dim = {a, b, c, 1}}
const mpct_bench_case mpct_bench_cases_extra[] = {
    {"softmax 12x128x128", "softmax", 1, {S3(12, 128, 128), {0, {0}}}, -10, 10, S3(12, 128, 128), sec_softmax,
     plain_softmax},
    {"gelu 128x3072", "gelu", 1, {S2(128, 3072), {0, {0}}}, -6, 6, S2(128, 3072), sec_gelu, plain_gelu},
    {"layernorm 128x768", "layernorm", 1, {S2(128, 768), {0, {0}}}, -4, 4, S2(128, 768), sec_layernorm,
     plain_layernorm},
    {"tanh 1x768", "tanh", 1, {S2(1, 768), {0, {0}}}, -3, 3, S2(1, 768), sec_tanh, plain_tanh},
};
const size_t mpct_bench_cases_extra_count = sizeof mpct_bench_cases_extra / sizeof mpct_bench_cases_extra[0];
