/*
 * test_nonlin_dec.c — the secure operations decoder models need (RMSNorm,
 * GeLU-tanh, SiLU, SwiGLU, RoPE, causal softmax, argmax) against their
 * float64 twins, three parties simulated in one process, fixed seeds.
 * Checks the accuracy bounds of NONLINEAR.md over the ranges a real model
 * meets, the documented behaviour outside them, the round counts the
 * fusions promise (RoPE = a truncated product's, SwiGLU = SiLU's, causal
 * softmax = the unmasked one's with fewer bytes, RMSNorm <= LayerNorm),
 * argmax's tie rule, and misuse errors.
 *
 *   test_nonlin_dec             run the checks (non-zero exit on failure)
 *   test_nonlin_dec --markdown  also print the decoder rows of NONLINEAR.md
 *
 * All parties derive the same plaintext data from a common seed (test
 * only); the client (P1) feeds inputs, the model owner (P0) weights.
 */
#include "../mpct_party3.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct row_stats {
    const char *name, *range;
    double max_abs, mean_abs, max_rel;
    uint64_t rounds;
    double bytes; /* busiest party, per element (or per call: unit) */
    const char *unit;
} row_stats;

static row_stats g_rows[32];
static int g_nrows;
static uint64_t g_bytes[3][32];

static mpct_net_counters tot(mpct_ctx_t *ctx) { return mpct_net_total(mpct_ctx_net(ctx)); }
static double q16(double v) { return mpct_fxp_decode(mpct_fxp_encode(v, 16), 16); }

/* Counters of one op; errors over n outputs (got vs want); nel elements the
 * bytes are spread over (0: per call). Every party records its bytes. */
static void record(mpct_ctx_t *ctx, const char *name, const char *range, const double *got, const double *want,
                   size_t n, mpct_net_counters c0, mpct_net_counters c1, size_t nel)
{
    static int next[3];
    const int me = mpct_ctx_party(ctx), idx = next[me]++;
    g_bytes[me][idx] = c1.bytes_sent - c0.bytes_sent;
    if (me != 0)
        return;
    row_stats *r = &g_rows[idx];
    *r = (row_stats){name, range, 0, 0, 0, c1.rounds - c0.rounds, 0, nel ? "element" : "call"};
    r->bytes = (double)(nel ? nel : 1);
    for (size_t i = 0; i < n; i++) {
        const double e = fabs(got[i] - want[i]);
        r->max_abs = fmax(r->max_abs, e);
        r->mean_abs += e;
        if (fabs(want[i]) >= 1e-3)
            r->max_rel = fmax(r->max_rel, e / fabs(want[i]));
    }
    r->mean_abs /= (double)(n ? n : 1);
    g_nrows = idx + 1 > g_nrows ? idx + 1 : g_nrows;
}

static mpct_status input(mpct_ctx_t *ctx, int owner, const double *x, mpct_shape shape, mpct_share *out)
{
    MPCT_CALL(mpct_share_init(out, shape));
    return mpct_share_input_fxp(ctx, owner, mpct_ctx_party(ctx) == owner ? x : NULL, out);
}

/* ---- elementwise activations ---- */
#define NS 2048
typedef mpct_status (*fn_t)(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out);
static const struct {
    const char *name, *range;
    double lo, hi, tol;
    fn_t fn;
    double (*ref)(double);
    double px[6], py[6]; /* outside the fitted piece: documented outputs */
} acts[] = {
    {"gelu_tanh", "[-8, 8]", -8, 8, 3e-3, mpct_nl_gelu_tanh, mpct_nl_ref_gelu_tanh, {-9, -50, -400, 9, 50, 400},
     {0, 0, 0, 9, 50, 400}},
    {"silu", "[-20, 20]", -20, 20, 2e-3, mpct_nl_silu, mpct_nl_ref_silu, {-17, -100, -500, 17, 100, 500},
     {0, 0, 0, 17, 100, 500}},
};

static int body_act(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    static _Thread_local double x[NS], u[NS], got[NS], want[NS];
    uint64_t r_silu = 0;
    for (size_t ci = 0; ci < sizeof acts / sizeof acts[0]; ci++) {
        mpct_rng r = {300 + ci};
        for (size_t i = 0; i < NS; i++)
            x[i] = q16(acts[ci].lo + (acts[ci].hi - acts[ci].lo) * (i == NS - 1 ? 1.0 : mpct_rng_uniform(&r)));
        x[0] = acts[ci].lo;
        mpct_share X = {0}, Y = {0};
        CHECK_OK(input(ctx, 1, x, mpct_shape_1d(NS), &X));
        mpct_net_counters c0 = tot(ctx);
        CHECK_OK(acts[ci].fn(ctx, &X, &Y));
        mpct_net_counters c1 = tot(ctx);
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
        for (size_t i = 0; i < NS; i++)
            want[i] = acts[ci].ref(x[i]);
        record(ctx, acts[ci].name, acts[ci].range, got, want, NS, c0, c1, NS);
        double maxe = 0;
        for (size_t i = 0; i < NS; i++)
            maxe = fmax(maxe, fabs(got[i] - want[i]));
        CHECK(maxe <= acts[ci].tol, "%s: max abs err %.3g > %.3g", acts[ci].name, maxe, acts[ci].tol);
        if (ci == 0) /* gelu_tanh: GeLU's bytes (exact counters) */
            CHECK((double)(c1.bytes_sent - c0.bytes_sent) / NS <= 85.25, "gelu_tanh: party %d sends %.2f bytes per element",
                  me, (double)(c1.bytes_sent - c0.bytes_sent) / NS);
        if (ci == 1)
            r_silu = c1.rounds - c0.rounds;
        mpct_share_free(&X);
        mpct_share_free(&Y);
        CHECK_OK(input(ctx, 1, acts[ci].px, mpct_shape_1d(6), &X));
        CHECK_OK(acts[ci].fn(ctx, &X, &Y));
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
        for (int p = 0; p < 6; p++)
            CHECK(fabs(got[p] - acts[ci].py[p]) <= 3e-5 + fabs(acts[ci].px[p]) * 1e-5, "%s(%g) = %g, documented %g", acts[ci].name, acts[ci].px[p],
                  got[p], acts[ci].py[p]);
        mpct_share_free(&X);
        mpct_share_free(&Y);
    }
    /* SwiGLU: silu(gate) up, fused: SiLU's rounds */
    {
        mpct_rng r = {333};
        for (size_t i = 0; i < NS; i++) {
            x[i] = q16(mpct_rng_range(&r, -12, 12));
            u[i] = q16(mpct_rng_range(&r, -4, 4));
            want[i] = mpct_nl_ref_silu(x[i]) * u[i];
        }
        mpct_share G = {0}, U = {0}, Y = {0};
        CHECK_OK(input(ctx, 1, x, mpct_shape_1d(NS), &G));
        CHECK_OK(input(ctx, 1, u, mpct_shape_1d(NS), &U));
        mpct_net_counters c0 = tot(ctx);
        CHECK_OK(mpct_nl_swiglu(ctx, &G, &U, &Y));
        mpct_net_counters c1 = tot(ctx);
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
        record(ctx, "swiglu silu(g) u", "g in [-12, 12], u in [-4, 4]", got, want, NS, c0, c1, NS);
        double maxe = 0;
        for (size_t i = 0; i < NS; i++)
            maxe = fmax(maxe, fabs(got[i] - want[i]));
        CHECK(maxe <= 5e-3, "swiglu: max abs err %.3g > 5e-3", maxe);
        CHECK(c1.rounds - c0.rounds == r_silu, "swiglu takes %llu rounds, silu %llu",
              (unsigned long long)(c1.rounds - c0.rounds), (unsigned long long)r_silu);
        mpct_share_free(&Y);
        mpct_share U5 = mpct_share_view(&U, 0, 5);
        CHECK(mpct_nl_swiglu(ctx, &G, &U5, &Y) == MPCT_ERR_ARG, "swiglu with mismatched sizes is refused");
        mpct_share_free(&G);
        mpct_share_free(&U);
        mpct_share_free(&Y);
    }
    (void)me;
    return fails;
}

/* ---- RMSNorm ---- */
#define RH 1024
#define RR 7
static int body_rms(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    static _Thread_local double x[RR * RH], g[RH], got[RR * RH], want[RR * RH];
    static const double scale[RR] = {0.05, 1.0, 8.0, 1.0, 1.0, 300.0, 0.0159}; /* last: mean square 2^-12 */
    mpct_rng r = {4141};
    for (size_t j = 0; j < RH; j++)
        g[j] = q16(mpct_rng_range(&r, 0.2, 2.5));
    for (size_t row = 0; row < RR; row++)
        for (size_t j = 0; j < RH; j++)
            x[row * RH + j] = q16(scale[row] * mpct_rng_range(&r, -1.7, 1.7));
    x[3 * RH + 7] = 600; /* a LLaMA-style massive activation */
    x[3 * RH + 99] = -300;
    x[4 * RH + 3] = 24886; /* SmolLM2's residual stream from its 12th layer on: mean square 6e5 here */
    x[4 * RH + 500] = -12000;
    mpct_share X = {0}, G = {0}, B = {0}, Y = {0};
    CHECK_OK(input(ctx, 1, x, mpct_shape_2d(RR, RH), &X));
    CHECK_OK(input(ctx, 0, g, mpct_shape_1d(RH), &G));
    CHECK_OK(input(ctx, 0, g, mpct_shape_1d(RH), &B));
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_rmsnorm(ctx, &X, &G, 1e-6, &Y));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    mpct_nl_ref_rmsnorm(x, g, 1e-6, RR, RH, want);
    record(ctx, "rmsnorm", "1024 wide, mean square in [2.4e-4, 7.5e5]", got, want, RR * RH, c0, c1, RR * RH);
    double maxe = 0;
    for (size_t i = 0; i < RR * RH; i++)
        maxe = fmax(maxe, fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i])));
    CHECK(maxe <= 2e-2, "rmsnorm: max err %.3g > 2e-2 (abs, relative above 1)", maxe);
    /* the row at the range's low end (mean square 2^-12): the squares at fewer fractional bits must not
     * cost its precision (measured 2.1e-3 of the row's largest output) */
    double e6 = 0, m6 = 0;
    for (size_t j = 0; j < RH; j++)
        e6 = fmax(e6, fabs(got[6 * RH + j] - want[6 * RH + j])), m6 = fmax(m6, fabs(want[6 * RH + j]));
    CHECK(e6 <= 5e-3 * m6, "rmsnorm: a row of mean square 2^-12 is off by %.3g of its largest output", e6 / m6);
    /* the massive-activation row (mean square 7.5e5, the inverse square root's top levels): its scale within
     * about an output ulp of 1/rms (measured 1.2e-3 of its largest output) */
    double e4 = 0, m4 = 0;
    for (size_t j = 0; j < RH; j++)
        e4 = fmax(e4, fabs(got[4 * RH + j] - want[4 * RH + j])), m4 = fmax(m4, fabs(want[4 * RH + j]));
    CHECK(e4 <= 3e-3 * m4, "rmsnorm: the massive-activation row is off by %.3g of its largest output", e4 / m4);
    /* at most LayerNorm's rounds and bytes on the same rows */
    mpct_share_free(&Y);
    mpct_net_counters l0 = tot(ctx);
    CHECK_OK(mpct_nl_layernorm(ctx, &X, &G, &B, 1e-6, &Y));
    mpct_net_counters l1 = tot(ctx);
    CHECK(c1.rounds - c0.rounds <= l1.rounds - l0.rounds, "rmsnorm %llu rounds > layernorm %llu",
          (unsigned long long)(c1.rounds - c0.rounds), (unsigned long long)(l1.rounds - l0.rounds));
    CHECK(c1.bytes_sent - c0.bytes_sent <= l1.bytes_sent - l0.bytes_sent, "rmsnorm %llu bytes > layernorm %llu",
          (unsigned long long)(c1.bytes_sent - c0.bytes_sent), (unsigned long long)(l1.bytes_sent - l0.bytes_sent));
    mpct_share_free(&Y);
    CHECK(mpct_nl_rmsnorm(ctx, &X, &X, 1e-6, &Y) == MPCT_ERR_ARG, "rmsnorm with a gain of the wrong width is refused");
    mpct_share_free(&X);
    mpct_share_free(&G);
    mpct_share_free(&B);
    mpct_share_free(&Y);
    return fails;
}

/* ---- RoPE ---- */
static int rope_case(mpct_ctx_t *ctx, size_t T, size_t K, size_t heads, size_t hd, double theta, const int64_t *pos,
                     int rec, int *fails_out)
{
    int fails = 0;
    const size_t W = heads * hd;
    double *x = malloc(T * K * sizeof *x), *w = malloc(K * W * sizeof *w), *q = calloc(T * W, sizeof *q),
           *want = malloc(T * W * sizeof *want), *got = malloc(T * W * sizeof *got);
    REQUIRE(x && w && q && want && got, "out of memory");
    mpct_rng r = {T * 7 + hd};
    for (size_t i = 0; i < T * K; i++)
        x[i] = q16(mpct_rng_range(&r, -2, 2));
    for (size_t i = 0; i < K * W; i++)
        w[i] = q16(mpct_rng_range(&r, -0.3, 0.3));
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < W; j++)
                q[t * W + j] += x[t * K + k] * w[k * W + j];
    const mpct_nl_rope_cfg rp = {heads, hd, theta, pos};
    mpct_nl_ref_rope(q, &rp, T, want);
    mpct_share X = {0}, Wt = {0}, Y = {0}, Q = {0}, Y2 = {0};
    CHECK_OK(input(ctx, 1, x, mpct_shape_2d(T, K), &X));
    CHECK_OK(input(ctx, 0, w, mpct_shape_2d(K, W), &Wt));
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_matmul_rope(ctx, &X, &Wt, &rp, &Y));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_matmul_trunc(ctx, &X, &Wt, mpct_ctx_frac_bits(ctx), &Q));
    mpct_net_counters c2 = tot(ctx);
    CHECK(!rec || rec == 1 ? c1.rounds - c0.rounds == c2.rounds - c1.rounds
                           : c1.rounds - c0.rounds == c2.rounds - c1.rounds + 1, "matmul_rope takes %llu rounds, matmul_trunc %llu",
          (unsigned long long)(c1.rounds - c0.rounds), (unsigned long long)(c2.rounds - c1.rounds));
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    double maxe = 0;
    for (size_t i = 0; i < T * W; i++)
        maxe = fmax(maxe, fabs(got[i] - want[i]));
    CHECK(maxe <= 1e-3, "matmul_rope (hd %zu, theta %g): max abs err %.3g > 1e-3", hd, theta, maxe);
    if (rec == 1)
        record(ctx, "matmul_rope (fused)", "q in about [-5, 5], positions 0..4095", got, want, T * W, c0, c1, T * W);
    /* the unfused form on a truncated Q: one truncation */
    mpct_net_counters c3 = tot(ctx);
    CHECK_OK(mpct_nl_rope(ctx, &Q, mpct_ctx_frac_bits(ctx), &rp, &Y2));
    mpct_net_counters c4 = tot(ctx);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y2, -1, got));
    maxe = 0;
    for (size_t i = 0; i < T * W; i++)
        maxe = fmax(maxe, fabs(got[i] - want[i]));
    CHECK(maxe <= 1e-3, "rope on Q at f bits: max abs err %.3g > 1e-3", maxe);
    if (rec == 1)
        record(ctx, "rope (Q at f bits)", "q in about [-5, 5], positions 0..4095", got, want, T * W, c3, c4, T * W);
    mpct_share_free(&X);
    mpct_share_free(&Wt);
    mpct_share_free(&Y);
    mpct_share_free(&Q);
    mpct_share_free(&Y2);
    free(x), free(w), free(q), free(want), free(got);
    *fails_out += fails;
    return 0;
}

static int body_rope(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    static const int64_t pos[6] = {0, 1, 2, 37, 1000, 4095}; /* 4095: a KV-cache step at cache length 4095 */
    rope_case(ctx, 6, 48, 2, 64, 10000, pos, 1, &fails);
    rope_case(ctx, 3, 32, 1, 128, 500000, pos + 3, 0, &fails); /* LLaMA 3 */
    rope_case(ctx, 1, 16, 3, 2, 10000, pos + 5, 0, &fails);    /* one pair per head */
    /* misuse */
    mpct_share A = {0}, Y = {0};
    CHECK_OK(mpct_share_init(&A, mpct_shape_2d(2, 12)));
    const int64_t bad[2] = {3, -1};
    const mpct_nl_rope_cfg odd = {2, 6 - 1, 10000, pos}, neg = {2, 6, 10000, bad}, ok = {2, 6, 10000, pos};
    CHECK(mpct_nl_rope(ctx, &A, 16, &odd, &Y) == MPCT_ERR_ARG, "odd head_dim is refused");
    CHECK(mpct_nl_rope(ctx, &A, 16, &neg, &Y) == MPCT_ERR_ARG, "a negative position is refused");
    CHECK(mpct_nl_rope(ctx, &A, 0, &ok, &Y) == MPCT_ERR_ARG, "x_frac below f - 15 is refused");
    mpct_share_free(&A);
    mpct_share_free(&Y);
    return fails;
}

/* With the probabilistic truncation: the product's truncation, then the
 * rotation and a truncation by 16 (one product round more). rec 2. */
static int body_rope_prob(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    static const int64_t pos[6] = {0, 1, 2, 37, 1000, 4095};
    rope_case(ctx, 6, 48, 2, 64, 10000, pos, 2, &fails);
    return fails;
}

/* ---- causal softmax ---- */
static int body_causal(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    enum { T = 128, B = 2 };
    static _Thread_local double x[B * T * T], got[B * T * T], want[B * T * T];
    static _Thread_local uint8_t pad[B * T], full[B * T * T];
    static _Thread_local uint32_t len[T];
    mpct_rng r = {515};
    for (size_t i = 0; i < B * T * T; i++)
        x[i] = q16(mpct_rng_range(&r, -20, 20));
    for (size_t t = 0; t < T; t++)
        len[t] = (uint32_t)t + 1;
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < T; j++)
            pad[b * T + j] = b == 1 && (j < 3 || j >= T - 5) ? 0 : 1; /* batch 1: left and right padding */
    for (size_t row = 0; row < B * T; row++)
        for (size_t j = 0; j < T; j++)
            full[row * T + j] = j <= row % T && pad[(row / T) * T + j];
    mpct_share X = {0}, Y = {0};
    CHECK_OK(input(ctx, 1, x, mpct_shape_2d(B * T, T), &X));
    /* unmasked, then causal + public padding */
    mpct_net_counters u0 = tot(ctx);
    CHECK_OK(mpct_nl_softmax(ctx, &X, NULL, &Y));
    mpct_net_counters u1 = tot(ctx);
    mpct_share_free(&Y);
    const mpct_nl_mask pm = {NULL, pad, T};
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_softmax_causal(ctx, &X, &pm, len, T, &Y));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    mpct_nl_ref_softmax(x, full, B * T, T, want);
    record(ctx, "softmax causal + padding (public)", "128 x 128 in [-20, 20], 2 sequences", got, want, B * T * T, c0,
           c1, B * T * T);
    double maxe = 0;
    for (size_t i = 0; i < B * T * T; i++) {
        maxe = fmax(maxe, fabs(got[i] - want[i]));
        if (!full[i] && (i / T) % T >= 5) /* rows 0..4 of batch 1 keep nothing public: unmasked */
            CHECK(got[i] == 0, "causal softmax: masked entry %zu is %g", i, got[i]);
    }
    CHECK(maxe <= 2e-3, "causal softmax: max abs err %.3g > 2e-3", maxe);
    CHECK(c1.rounds - c0.rounds == u1.rounds - u0.rounds, "causal softmax takes %llu rounds, unmasked %llu",
          (unsigned long long)(c1.rounds - c0.rounds), (unsigned long long)(u1.rounds - u0.rounds));
    CHECK(2 * (c1.bytes_sent - c0.bytes_sent) < 1.2 * (double)(u1.bytes_sent - u0.bytes_sent),
          "causal softmax sends %llu bytes, unmasked %llu: masked entries cost", (unsigned long long)(c1.bytes_sent - c0.bytes_sent),
          (unsigned long long)(u1.bytes_sent - u0.bytes_sent));
    mpct_share_free(&X);
    mpct_share_free(&Y);
    /* a KV-cache step: 3 heads, one query each over a cache of 37, and a
     * two-token step (positions 37, 38) over a cache of 39 */
    {
        double xs[6 * 39], gs[6 * 39], ws[6 * 39];
        uint8_t ms[6 * 39];
        const uint32_t l2[2] = {38, 39};
        for (size_t i = 0; i < 6 * 39; i++) {
            xs[i] = q16(mpct_rng_range(&r, -10, 10));
            ms[i] = i % 39 < l2[(i / 39) % 2];
        }
        CHECK_OK(input(ctx, 1, xs, mpct_shape_2d(6, 39), &X));
        CHECK_OK(mpct_nl_softmax_causal(ctx, &X, NULL, l2, 2, &Y));
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, gs));
        mpct_nl_ref_softmax(xs, ms, 6, 39, ws);
        for (size_t i = 0; i < 6 * 39; i++)
            CHECK(fabs(gs[i] - ws[i]) <= 2e-3 && (ms[i] || gs[i] == 0), "kv step softmax [%zu]: %g vs %g", i, gs[i],
                  ws[i]);
        const uint32_t too_long[1] = {40};
        mpct_share_free(&Y);
        CHECK(mpct_nl_softmax_causal(ctx, &X, NULL, too_long, 1, &Y) == MPCT_ERR_ARG,
              "a row length above the columns is refused");
        mpct_share_free(&X);
        mpct_share_free(&Y);
    }
    return fails;
}

/* ---- argmax ---- */
static int argmax_case(mpct_ctx_t *ctx, const double *x, size_t rows, size_t V, int range_bits, int onehot,
                        const char *what, int *fails_out)
{
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    size_t *want = malloc(rows * sizeof *want);
    uint64_t *gi = calloc(rows, 8), *go = calloc(rows * V, 8);
    REQUIRE(want && gi && go, "out of memory");
    mpct_share X = {0}, I = {0}, O = {0};
    CHECK_OK(input(ctx, 1, x, mpct_shape_2d(rows, V), &X));
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_argmax(ctx, &X, range_bits, &I, onehot ? &O : NULL));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_reveal(ctx, &I, -1, gi));
    if (onehot)
        CHECK_OK(mpct_share_reveal(ctx, &O, -1, go));
    mpct_nl_ref_argmax(x, rows, V, want);
    for (size_t r = 0; r < rows; r++) {
        CHECK(gi[r] == want[r], "argmax %s row %zu: index %llu, want %zu", what, r, (unsigned long long)gi[r], want[r]);
        for (size_t j = 0; onehot && j < V; j++)
            CHECK(go[r * V + j] == (j == want[r]), "argmax %s row %zu: one-hot[%zu] = %llu", what, r, j,
                  (unsigned long long)go[r * V + j]);
    }
    if (V >= 49152) {
        double z = 0;
        record(ctx, what, range_bits ? "\\|x\\| < 2^12, 32-bit comparisons" : "any x, 64-bit comparisons", &z, &z, 1, c0,
               c1, 0);
    }
    (void)me;
    mpct_share_free(&X);
    mpct_share_free(&I);
    mpct_share_free(&O);
    free(want), free(gi), free(go);
    *fails_out += fails;
    return 0;
}

static int body_argmax(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const double ulp = ldexp(1.0, -16);
    enum { V = 1000 };
    static _Thread_local double x[8 * V];
    mpct_rng r = {99};
    for (size_t i = 0; i < 8 * V; i++)
        x[i] = q16(mpct_rng_range(&r, -50, 50));
    for (size_t j = 0; j < V; j++)
        x[1 * V + j] = 3.25; /* all equal: 0 */
    x[2 * V + 500] = x[2 * V + 17] = 80; /* repeated max: the first */
    x[3 * V + 3] = 60, x[3 * V + 900] = 60 + ulp; /* near tie: one ulp decides */
    x[4 * V + 900] = 60, x[4 * V + 3] = 60 + ulp;
    for (size_t j = 0; j < V; j++)
        x[5 * V + j] = -100 - (double)(j % 7); /* all negative, max repeated every 7 */
    x[6 * V + V - 1] = 99;                     /* the odd carry wins */
    x[7 * V + 999] = x[7 * V + 998] = 70;      /* a tie in the last pair */
    argmax_case(ctx, x, 8, V, 12, 1, "V 1000", &fails);
    argmax_case(ctx, x, 8, V, 0, 0, "V 1000 (64-bit)", &fails);
    static const size_t small[] = {1, 2, 3, 7, 33};
    for (size_t s = 0; s < sizeof small / sizeof small[0]; s++)
        argmax_case(ctx, x + 3 * V + 900 - small[s] / 2, 1, small[s], 12, 1, "V small", &fails);
    /* the LM head's sizes: GPT-2's 50257, a 49152 vocabulary */
    static _Thread_local double big[50257];
    for (size_t j = 0; j < 50257; j++)
        big[j] = q16(mpct_rng_range(&r, -30, 30));
    big[40000] = big[40001] = 31;
    argmax_case(ctx, big, 1, 49152, 12, 1, "argmax V = 49152 (index + one-hot)", &fails);
    argmax_case(ctx, big, 1, 49152, 12, 0, "argmax V = 49152 (index)", &fails);
    argmax_case(ctx, big, 1, 50257, 12, 0, "argmax V = 50257 (index)", &fails);
    argmax_case(ctx, big, 1, 50257, 12, 1, "argmax V = 50257 (index + one-hot)", &fails);
    argmax_case(ctx, big, 1, 50257, 0, 0, "argmax V = 50257 (index)", &fails);
    mpct_share Y = {0}, I = {0};
    CHECK_OK(mpct_share_init(&Y, mpct_shape_1d(4)));
    CHECK(mpct_nl_argmax(ctx, &Y, 70, &I, NULL) == MPCT_ERR_ARG, "range_bits 70 is refused");
    mpct_share_free(&Y);
    return fails;
}

int main(int argc, char **argv)
{
    int markdown = argc == 2 && !strcmp(argv[1], "--markdown");
    if (argc > 1 && !markdown) {
        fprintf(stderr, "usage: test_nonlin_dec [--markdown]\n");
        return 2;
    }
    size_t mem0 = mpct_alloc_current();
    int fails = mpct_test_run3(body_act, NULL, NULL);
    fails += mpct_test_run3(body_rms, NULL, NULL);
    fails += mpct_test_run3(body_rope, NULL, NULL);
    {
        mpct_ctx_config prob[3];
        for (int p = 0; p < 3; p++) {
            prob[p] = mpct_ctx_config_default();
            prob[p].deterministic = 1;
            prob[p].seed = 42;
            prob[p].trunc_probabilistic = 1;
        }
        fails += mpct_test_run3(body_rope_prob, NULL, prob);
    }
    fails += mpct_test_run3(body_causal, NULL, NULL);
    fails += mpct_test_run3(body_argmax, NULL, NULL);
    CHECK(mpct_alloc_current() == mem0, "%zu bytes still allocated after the tests", mpct_alloc_current() - mem0);
    /* every op's round count (exact truncation), so that a regression fails */
    static const struct {
        const char *name;
        uint64_t rounds[2]; /* the row's first and second occurrence */
    } want_rounds[] = {{"gelu_tanh", {17, 17}},
                       {"silu", {35, 35}},
                       {"swiglu silu(g) u", {35, 35}},
                       {"rmsnorm", {24, 24}},
                       {"matmul_rope (fused)", {2, 2}},
                       {"rope (Q at f bits)", {2, 2}},
                       {"softmax causal + padding (public)", {67, 67}},
                       {"argmax V = 49152 (index + one-hot)", {95, 95}},
                       {"argmax V = 49152 (index)", {88, 88}},
                       {"argmax V = 50257 (index)", {88, 96}},
                       {"argmax V = 50257 (index + one-hot)", {95, 95}}};
    int seen[sizeof want_rounds / sizeof *want_rounds] = {0};
    for (int i = 0; i < g_nrows; i++) {
        const row_stats *r = &g_rows[i];
        int known = 0;
        for (size_t k = 0; k < sizeof want_rounds / sizeof *want_rounds; k++)
            if (!strcmp(r->name, want_rounds[k].name) && seen[k] < 2) {
                const uint64_t w = want_rounds[k].rounds[seen[k]++];
                known = 1;
                CHECK(r->rounds == w, "%s takes %llu rounds, expected %llu", r->name, (unsigned long long)r->rounds,
                      (unsigned long long)w);
            }
        CHECK(known, "%s: no expected round count", r->name);
    }
    if (markdown) {
        printf("| function | input range | max abs err | mean abs err | max rel err (outputs >= 1e-3) | rounds "
               "| bytes (max party) |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for (int i = 0; i < g_nrows; i++) {
            const row_stats *r = &g_rows[i];
            uint64_t b = 0;
            for (int p = 0; p < 3; p++)
                b = g_bytes[p][i] > b ? g_bytes[p][i] : b;
            if (!strcmp(r->unit, "call"))
                printf("| %s | %s | exact | exact | exact | %llu | %llu per call |\n", r->name, r->range,
                       (unsigned long long)r->rounds, (unsigned long long)b);
            else
                printf("| %s | %s | %.2e | %.2e | %.2e | %llu | %.0f per element |\n", r->name, r->range, r->max_abs,
                       r->mean_abs, r->max_rel, (unsigned long long)r->rounds, (double)b / r->bytes);
        }
    }
    return mpct_check_done("test_nonlin_dec");
}
