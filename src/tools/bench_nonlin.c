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
 * and the decoders' operations:
 *   gelu_tanh 128x3072   GPT-2's FFN activation, inputs in [-6, 6]
 *   silu 128x2048        inputs in [-8, 8]
 *   swiglu 128x2048      silu(gate) up, both inputs in [-4, 4]
 *   rmsnorm 128x2048     hidden states in [-4, 4], gain as LayerNorm's
 *   rope 128x768         12 heads x 64 at positions 0..127, theta 10000,
 *                        Q at f bits (one truncation)
 *   softmax causal 12x128x128   causal attention scores in [-10, 10]
 *   argmax 1x50257       GPT-2's vocabulary, logits in [-20, 20]; the
 *                        index, as a fixed-point number for the comparison
 * and the MPC-friendly substitutes (mpct_nonlin_sub.h), at the shapes of
 * the ops they replace:
 *   quad 128x3072        Quad in place of GeLU, inputs in [-6, 6]
 *   2quad 12x128x128     2Quad in place of softmax, scores in [-10, 10]
 */
#include "bench.h"
#include "mpct_nonlin.h"
#include "mpct_nonlin_sub.h"

#include <math.h>
#include <stdlib.h>

static void plain_elementwise(const mpct_bench_case *c, const double *const *in, double *out, double (*fn)(double))
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = fn(in[0][i]);
}

/* sec_NAME and plain_NAME of an elementwise mpct_nl_NAME */
#define ELEMENTWISE_CASE(NAME)                                                                                 \
    static mpct_status sec_##NAME(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)                    \
    {                                                                                                          \
        return mpct_nl_##NAME(ctx, &in[0], out);                                                               \
    }                                                                                                          \
    static void plain_##NAME(const mpct_bench_case *c, const double *const *in, double *out)                 \
    {                                                                                                          \
        plain_elementwise(c, in, out, mpct_nl_ref_##NAME);                                                     \
    }

static mpct_status sec_softmax(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_softmax(ctx, &in[0], NULL, out);
}

static void plain_softmax(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t cols = c->in[0].dim[c->in[0].ndim - 1];
    mpct_nl_ref_softmax(in[0], NULL, mpct_shape_numel(c->in[0]) / cols, cols, out);
}

ELEMENTWISE_CASE(gelu)

ELEMENTWISE_CASE(tanh)

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

ELEMENTWISE_CASE(gelu_tanh)
ELEMENTWISE_CASE(silu)
static mpct_status sec_swiglu(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_swiglu(ctx, &in[0], &in[1], out);
}
static void plain_swiglu(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = mpct_nl_ref_silu(in[0][i]) * in[1][i];
}

static mpct_status sec_rmsnorm(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    const size_t h = in[0].shape.dim[in[0].shape.ndim - 1];
    mpct_share g = {0};
    mpct_status st = MPCT_OK;
    uint64_t *gv = malloc(h * sizeof *gv);
    if (!gv)
        return mpct_error_set(MPCT_ERR_NOMEM, "bench rmsnorm: out of memory");
    for (size_t j = 0; j < h; j++)
        gv[j] = mpct_fxp_encode(ln_gain(j), mpct_ctx_frac_bits(ctx));
    MPCT_CALL_GOTO(st, done, mpct_share_init(&g, mpct_shape_1d(h)));
    MPCT_CALL_GOTO(st, done, mpct_share_public(ctx, gv, &g));
    MPCT_CALL_GOTO(st, done, mpct_nl_rmsnorm(ctx, &in[0], &g, 1e-6, out));
done:
    free(gv);
    mpct_share_free(&g);
    return st;
}
static void plain_rmsnorm(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t h = c->in[0].dim[c->in[0].ndim - 1], rows = mpct_shape_numel(c->in[0]) / h;
    double *g = malloc(h * sizeof *g);
    if (!g)
        return;
    for (size_t j = 0; j < h; j++)
        g[j] = ln_gain(j);
    mpct_nl_ref_rmsnorm(in[0], g, 1e-6, rows, h, out);
    free(g);
}

/* rope: rows of 12 heads x 64, row r at position r */
static const int64_t *rope_pos(size_t rows)
{
    static int64_t pos[128];
    for (size_t r = 0; r < rows && r < 128; r++)
        pos[r] = (int64_t)r;
    return pos;
}
static mpct_status sec_rope(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    const mpct_nl_rope_cfg rp = {12, 64, 10000, rope_pos(in[0].shape.dim[0])};
    return mpct_nl_rope(ctx, &in[0], mpct_ctx_frac_bits(ctx), &rp, out);
}
static void plain_rope(const mpct_bench_case *c, const double *const *in, double *out)
{
    const mpct_nl_rope_cfg rp = {12, 64, 10000, rope_pos(c->in[0].dim[0])};
    mpct_nl_ref_rope(in[0], &rp, c->in[0].dim[0], out);
}

/* causal: row t of each head's T x T block keeps t + 1 columns */
static mpct_status sec_softmax_causal(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    uint32_t len[128];
    const size_t T = in[0].shape.dim[in[0].shape.ndim - 1];
    if (T > 128)
        return mpct_error_set(MPCT_ERR_ARG, "bench softmax causal: %zu columns (at most 128)", T);
    for (size_t t = 0; t < T; t++)
        len[t] = (uint32_t)t + 1;
    return mpct_nl_softmax_causal(ctx, &in[0], NULL, len, T, out);
}
static void plain_softmax_causal(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t T = c->in[0].dim[c->in[0].ndim - 1], rows = mpct_shape_numel(c->in[0]) / T;
    uint8_t *m = malloc(rows * T);
    if (!m)
        return;
    for (size_t i = 0; i < rows * T; i++)
        m[i] = i % T <= (i / T) % T;
    mpct_nl_ref_softmax(in[0], m, rows, T, out);
    free(m);
}

static mpct_status sec_argmax(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    mpct_share idx = {0};
    mpct_status st = mpct_nl_argmax(ctx, &in[0], 8, &idx, NULL);
    if (st == MPCT_OK) /* the index as a fixed-point number, for the harness's comparison */
        st = mpct_share_mul_const(ctx, &idx, (uint64_t)1 << mpct_ctx_frac_bits(ctx), out);
    mpct_share_free(&idx);
    return st;
}
static void plain_argmax(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t V = c->in[0].dim[c->in[0].ndim - 1], rows = mpct_shape_numel(c->in[0]) / V, idx[1];
    for (size_t r = 0; r < rows && r < 1; r++) {
        mpct_nl_ref_argmax(in[0] + r * V, 1, V, idx);
        out[r] = (double)idx[0];
    }
}

ELEMENTWISE_CASE(quad)
static mpct_status sec_2quad(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_nl_2quad(ctx, &in[0], NULL, out);
}
static void plain_2quad(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t cols = c->in[0].dim[c->in[0].ndim - 1];
    mpct_nl_ref_2quad(in[0], NULL, mpct_shape_numel(c->in[0]) / cols, cols, out);
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
    {"gelu_tanh 128x3072", "gelu_tanh", 1, {S2(128, 3072), {0, {0}}}, -6, 6, S2(128, 3072), sec_gelu_tanh,
     plain_gelu_tanh},
    {"silu 128x2048", "silu", 1, {S2(128, 2048), {0, {0}}}, -8, 8, S2(128, 2048), sec_silu, plain_silu},
    {"swiglu 128x2048", "swiglu", 2, {S2(128, 2048), S2(128, 2048)}, -4, 4, S2(128, 2048), sec_swiglu,
     plain_swiglu},
    {"rmsnorm 128x2048", "rmsnorm", 1, {S2(128, 2048), {0, {0}}}, -4, 4, S2(128, 2048), sec_rmsnorm, plain_rmsnorm},
    {"rope 128x768", "rope", 1, {S2(128, 768), {0, {0}}}, -4, 4, S2(128, 768), sec_rope, plain_rope},
    {"softmax causal 12x128x128", "softmax_causal", 1, {S3(12, 128, 128), {0, {0}}}, -10, 10, S3(12, 128, 128),
     sec_softmax_causal, plain_softmax_causal},
    {"argmax 1x50257", "argmax", 1, {S2(1, 50257), {0, {0}}}, -20, 20, {.ndim = 1, .dim = {1, 1, 1, 1}}, sec_argmax,
     plain_argmax},
    {"quad 128x3072", "quad", 1, {S2(128, 3072), {0, {0}}}, -6, 6, S2(128, 3072), sec_quad, plain_quad},
    {"2quad 12x128x128", "2quad", 1, {S3(12, 128, 128), {0, {0}}}, -10, 10, S3(12, 128, 128), sec_2quad,
     plain_2quad},
};
const size_t mpct_bench_cases_extra_count = sizeof mpct_bench_cases_extra / sizeof mpct_bench_cases_extra[0];
