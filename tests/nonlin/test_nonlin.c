/*
 * test_nonlin.c — the secure non-linear layers against their float64 twins,
 * three parties simulated in one process, fixed seeds. Checks the accuracy
 * bounds of NONLINEAR.md over the stated ranges, the documented out-of-range
 * behaviour, and that the batched layers take a number of rounds that does
 * not depend on the number of rows.
 *
 *   test_nonlin             run the checks (non-zero exit on failure)
 *   test_nonlin --markdown  also print the error table of NONLINEAR.md
 *
 * All parties derive the same plaintext data from a common seed (test only);
 * only the client (P1) feeds inputs, the model owner (P0) gain and bias.
 */
#include "../mpct_party3.h"
#include "mpct_nonlin.h"

#include <math.h>
#include <string.h>

#define NS 2048 /* samples per elementwise function */
#define MAXN 4096

typedef struct row_stats {
    const char *name, *range;
    double max_abs, mean_abs, max_rel;
    uint64_t rounds, bytes_max; /* bytes: max over parties */
    size_t n;                   /* elements the bytes are spread over */
} row_stats;

static row_stats g_rows[32];
static int g_nrows;
static uint64_t g_bytes[3][32];

static mpct_net_counters tot(mpct_ctx_t *ctx) { return mpct_net_total(mpct_ctx_net(ctx)); }

static void record(mpct_ctx_t *ctx, int idx, const char *name, const char *range, const double *got,
                   const double *want, size_t n, mpct_net_counters c0, size_t nel)
{
    mpct_net_counters c1 = tot(ctx);
    int me = mpct_ctx_party(ctx);
    g_bytes[me][idx] = c1.bytes_sent - c0.bytes_sent;
    if (me != 0)
        return;
    row_stats *r = &g_rows[idx];
    r->name = name;
    r->range = range;
    r->rounds = c1.rounds - c0.rounds;
    r->n = nel;
    r->max_abs = r->mean_abs = r->max_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        r->max_abs = fmax(r->max_abs, e);
        r->mean_abs += e;
        if (fabs(want[i]) >= 1e-3) /* relative error only where it means something */
            r->max_rel = fmax(r->max_rel, e / fabs(want[i]));
    }
    r->mean_abs /= (double)n;
    if (idx + 1 > g_nrows)
        g_nrows = idx + 1;
}

/* ---- elementwise functions ---- */
typedef mpct_status (*fn_t)(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out);
static mpct_status w_recip(mpct_ctx_t *c, const mpct_share *x, mpct_share *o)
{
    return mpct_nl_recip(c, x, 0, 10, 24, o);
}
static mpct_status w_recip16(mpct_ctx_t *c, const mpct_share *x, mpct_share *o)
{
    return mpct_nl_recip(c, x, 0, 10, 0, o);
}
static mpct_status w_rsqrt(mpct_ctx_t *c, const mpct_share *x, mpct_share *o)
{
    return mpct_nl_rsqrt(c, x, -7, 14, 0, o);
}

typedef struct ecase {
    const char *name, *range;
    double lo, hi;
    int logu;       /* log-uniform samples */
    fn_t fn;
    double (*ref)(double);
    int out_frac;   /* 0 = f */
    double tol_abs, tol_rel; /* 0 = not checked */
    /* out-of-range probes: inputs and the documented outputs */
    double probe_x[6], probe_y[6];
    int nprobe;
    double probe_tol;
} ecase;

static const ecase ecases[] = {
    {"exp_neg", "[-16, 0]", -16, 0, 0, mpct_nl_exp_neg, mpct_nl_ref_exp, 0, 2e-3, 0,
     {-16.5, -40, -1000, 0.5, 7, 300}, {0, 0, 0, 1, 1, 1}, 6, 0},
    {"exp", "[-16, 0]", -16, 0, 0, mpct_nl_exp, mpct_nl_ref_exp, 0, 2e-3, 0,
     {-17, -500, 10.5, 40, 0, 0}, {0, 0, 22026.465794806718, 22026.465794806718, 1, 1}, 4, 1e-3},
    {"exp", "[0, 10]", 0, 10, 0, mpct_nl_exp, mpct_nl_ref_exp, 0, 0, 1e-3, {0}, {0}, 0, 0},
    {"recip (out 24 bits)", "[1, 1024]", 1, 1024, 1, w_recip, mpct_nl_ref_recip, 24, 0, 1e-2,
     {0.5, 0, -3, 1500, 1e6, 0}, {1, 1, 1, 1.0 / 1024, 1.0 / 1024, 0}, 5, 1e-4},
    {"recip (out 16 bits)", "[1, 1024]", 1, 1024, 1, w_recip16, mpct_nl_ref_recip, 0, 0, 0,
     {0}, {0}, 0, 0},
    {"rsqrt", "[1e-2, 1e4]", 1e-2, 1e4, 1, w_rsqrt, mpct_nl_ref_rsqrt, 0, 0, 1e-2,
     {1e-3, 0, -5, 2e4, 1e5, 0}, {11.313708498984761, 11.313708498984761, 11.313708498984761, 1.0 / 128, 1.0 / 128, 0},
     5, 1e-4},
    {"gelu", "[-8, 8]", -8, 8, 0, mpct_nl_gelu, mpct_nl_ref_gelu, 0, 1e-2, 0,
     {-9, -50, -500, 9, 50, 500}, {0, 0, 0, 9, 50, 500}, 6, 0},
    {"tanh", "[-8, 8]", -8, 8, 0, mpct_nl_tanh, mpct_nl_ref_tanh, 0, 2e-3, 0,
     {-9, -300, 8.5, 1000, 0, 0}, {-1, -1, 1, 1, 0, 0}, 4, 1e-4},
};
#define NECASES (sizeof ecases / sizeof ecases[0])

/* Bytes per element each party may send (exact counters, NS elements):
 * the ops whose protocols are tuned for bytes; a regression fails. */
static double max_bytes(const char *name)
{
    static const struct {
        const char *name;
        double bytes;
    } bounds[] = {{"exp_neg", 135.25}, {"gelu", 85.25}};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        if (!strcmp(bounds[i].name, name))
            return bounds[i].bytes;
    return 0;
}

static int body_elementwise(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    static _Thread_local double x[NS + 8], want[NS + 8], got[NS + 8];
    for (size_t ci = 0; ci < NECASES; ci++) {
        const ecase *c = &ecases[ci];
        mpct_rng r = {1000 + ci};
        for (size_t i = 0; i < NS; i++) {
            double u = (double)i / (NS - 1) * 0.5 + 0.5 * mpct_rng_uniform(&r); /* covers the ends */
            x[i] = c->logu ? exp(log(c->lo) + u * (log(c->hi) - log(c->lo))) : c->lo + u * (c->hi - c->lo);
            if (i == 0)
                x[i] = c->lo;
            if (i == NS - 1)
                x[i] = c->hi;
        }
        for (int p = 0; p < c->nprobe; p++)
            x[NS + p] = c->probe_x[p];
        mpct_share X = {0}, Y = {0};
        CHECK_OK(mpct_share_init(&X, mpct_shape_1d(NS)));
        CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
        mpct_net_counters c0 = tot(ctx);
        CHECK_OK(c->fn(ctx, &X, &Y));
        mpct_net_counters c1 = tot(ctx);
        const int fo = c->out_frac ? c->out_frac : mpct_ctx_frac_bits(ctx);
        {
            uint64_t raw[NS];
            memset(raw, 0, sizeof raw);
            CHECK_OK(mpct_share_reveal(ctx, &Y, -1, raw));
            mpct_fxp_decode_array(raw, got, NS, fo);
        }
        /* the twin sees the quantised input the parties saw */
        for (size_t i = 0; i < NS; i++)
            want[i] = c->ref(mpct_fxp_decode(mpct_fxp_encode(x[i], mpct_ctx_frac_bits(ctx)), mpct_ctx_frac_bits(ctx)));
        record(ctx, (int)ci, c->name, c->range, got, want, NS, c0, NS);
        g_bytes[me][ci] = c1.bytes_sent - c0.bytes_sent; /* without the reveal */
        if (max_bytes(c->name) > 0)
            CHECK((double)g_bytes[me][ci] / NS <= max_bytes(c->name), "%s: party %d sends %.2f bytes per element > %g",
                  c->name, me, (double)g_bytes[me][ci] / NS, max_bytes(c->name));
        if (me == 0) {
            row_stats *rs = &g_rows[ci];
            rs->rounds = c1.rounds - c0.rounds;
            if (c->tol_abs > 0)
                CHECK(rs->max_abs <= c->tol_abs, "%s: max abs err %.3g > %.3g", c->name, rs->max_abs, c->tol_abs);
            if (c->tol_rel > 0)
                CHECK(rs->max_rel <= c->tol_rel, "%s: max rel err %.3g > %.3g", c->name, rs->max_rel, c->tol_rel);
        }
        /* out-of-range probes */
        if (c->nprobe) {
            mpct_share PX = {0}, PY = {0};
            double pg[8];
            uint64_t raw[8] = {0};
            CHECK_OK(mpct_share_init(&PX, mpct_shape_1d((size_t)c->nprobe)));
            CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x + NS : NULL, &PX));
            CHECK_OK(c->fn(ctx, &PX, &PY));
            CHECK_OK(mpct_share_reveal(ctx, &PY, -1, raw));
            mpct_fxp_decode_array(raw, pg, (size_t)c->nprobe, fo);
            double tol = 2 * ldexp(1.0, -fo);
            if (me == 0)
                for (int p = 0; p < c->nprobe; p++)
                    CHECK(fabs(pg[p] - c->probe_y[p]) <= c->probe_tol * fabs(c->probe_y[p]) + tol,
                          "%s(%g) = %g, documented %g", c->name, c->probe_x[p], pg[p], c->probe_y[p]);
            mpct_share_free(&PX);
            mpct_share_free(&PY);
        }
        mpct_share_free(&X);
        mpct_share_free(&Y);
    }
    return fails;
}

/* ---- softmax ---- */
#define SC 128
#define SR 4
static int run_softmax(mpct_ctx_t *ctx, size_t rows, int mode, int idx, int *fails_out)
{
    /* mode 0: no mask, 1: secret mask (client), 2: public mask */
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    static _Thread_local double x[SR * SC], want[SR * SC], got[SR * SC], xq[SR * SC];
    static _Thread_local uint8_t mk[SR * SC];
    static _Thread_local uint64_t mk64[SR * SC];
    mpct_rng r = {77 + (uint64_t)mode};
    const size_t n = rows * SC;
    for (size_t i = 0; i < n; i++) {
        x[i] = mpct_rng_range(&r, -20, 20);
        xq[i] = mpct_fxp_decode(mpct_fxp_encode(x[i], mpct_ctx_frac_bits(ctx)), mpct_ctx_frac_bits(ctx));
        /* row 0 keeps everything, row 1 only 3 positions, others ~75 % */
        size_t row = i / SC, j = i % SC;
        mk[i] = mode == 0 ? 1 : row == 0 ? 1 : row == 1 ? (j == 5 || j == 6 || j == 100) : (mpct_rng_uniform(&r) < 0.75);
        mk64[i] = mk[i];
    }
    mpct_share X = {0}, Y = {0}, M = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_2d(rows, SC)));
    CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
    mpct_nl_mask mask = {0};
    if (mode == 1) {
        CHECK_OK(mpct_share_init(&M, mpct_shape_2d(rows, SC)));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? mk64 : NULL, &M));
        mask.secret = &M;
    } else if (mode == 2) {
        mask.pub = mk;
    }
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_softmax(ctx, &X, mode ? &mask : NULL, &Y));
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    mpct_nl_ref_softmax(xq, mode ? mk : NULL, rows, SC, want);
    if (idx >= 0) {
        static const char *names[3] = {"softmax (no mask)", "softmax (secret mask)", "softmax (public mask)"};
        record(ctx, idx, names[mode], "rows of 128 in [-20, 20]", got, want, n, c0, n);
        /* the reveal is not part of the op: subtract its round and bytes */
        if (me == 0) {
            g_rows[idx].rounds -= 1;
        }
        g_bytes[me][idx] -= n * 8;
    }
    if (me == 0) {
        double maxe = 0, worst_sum = 0;
        for (size_t row = 0; row < rows; row++) {
            double s = 0;
            for (size_t j = 0; j < SC; j++) {
                size_t i = row * SC + j;
                maxe = fmax(maxe, fabs(got[i] - want[i]));
                s += got[i];
                if (mode && !mk[i])
                    CHECK(got[i] == 0, "softmax mode %d: masked position %zu not 0 (%g)", mode, i, got[i]);
            }
            worst_sum = fmax(worst_sum, fabs(s - 1));
        }
        CHECK(maxe <= 2e-3, "softmax mode %d: max abs err %.3g > 2e-3", mode, maxe);
        CHECK(worst_sum <= 1e-2, "softmax mode %d: a row sums to 1 +- %.3g", mode, worst_sum);
    }
    int rounds = (int)(tot(ctx).rounds - c0.rounds);
    mpct_share_free(&X);
    mpct_share_free(&Y);
    mpct_share_free(&M);
    *fails_out += fails;
    return rounds;
}

/* ---- LayerNorm ---- */
#define LH 768
#define LR 5
static int run_layernorm(mpct_ctx_t *ctx, size_t rows, int idx, int *fails_out)
{
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    const int f = mpct_ctx_frac_bits(ctx);
    static _Thread_local double x[LR * LH], xq[LR * LH], want[LR * LH], got[LR * LH], g[LH], b[LH], gq[LH], bq[LH];
    static const double var[LR] = {1e-2, 1.0, 1e2, 1e3, 2e-3}, mean[LR] = {0.5, -3, 20, -10, 0.01};
    mpct_rng r = {4242};
    for (size_t j = 0; j < LH; j++) {
        g[j] = mpct_rng_range(&r, 0.5, 1.5);
        b[j] = mpct_rng_range(&r, -0.5, 0.5);
        gq[j] = mpct_fxp_decode(mpct_fxp_encode(g[j], f), f);
        bq[j] = mpct_fxp_decode(mpct_fxp_encode(b[j], f), f);
    }
    for (size_t row = 0; row < rows; row++)
        for (size_t j = 0; j < LH; j++) {
            /* uniform with the row's variance: half-width sqrt(3 var) */
            double w = sqrt(3 * var[row % LR]);
            size_t i = row * LH + j;
            x[i] = mean[row % LR] + mpct_rng_range(&r, -w, w);
            xq[i] = mpct_fxp_decode(mpct_fxp_encode(x[i], f), f);
        }
    mpct_share X = {0}, G = {0}, B = {0}, Y = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_2d(rows, LH)));
    CHECK_OK(mpct_share_init(&G, mpct_shape_1d(LH)));
    CHECK_OK(mpct_share_init(&B, mpct_shape_1d(LH)));
    CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
    CHECK_OK(mpct_share_input_fxp(ctx, 0, me == 0 ? g : NULL, &G));
    CHECK_OK(mpct_share_input_fxp(ctx, 0, me == 0 ? b : NULL, &B));
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_layernorm(ctx, &X, &G, &B, 1e-12, &Y));
    int rounds = (int)(tot(ctx).rounds - c0.rounds);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    mpct_nl_ref_layernorm(xq, gq, bq, 1e-12, rows, LH, want);
    if (idx >= 0) {
        record(ctx, idx, "layernorm", "768 wide, var in [2e-3, 1e3]", got, want, rows * LH, c0, rows * LH);
        if (me == 0)
            g_rows[idx].rounds -= 1;
        g_bytes[me][idx] -= rows * LH * 8;
    }
    if (me == 0) {
        double maxe = 0;
        for (size_t i = 0; i < rows * LH; i++)
            maxe = fmax(maxe, fabs(got[i] - want[i]));
        CHECK(maxe <= 2e-2, "layernorm: max abs err %.3g > 2e-2", maxe);
    }
    mpct_share_free(&X);
    mpct_share_free(&G);
    mpct_share_free(&B);
    mpct_share_free(&Y);
    *fails_out += fails;
    return rounds;
}

static int body_layers(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    const int base = (int)NECASES;
    int r4[3], r1[3];
    for (int mode = 0; mode < 3; mode++)
        r4[mode] = run_softmax(ctx, SR, mode, base + mode, &fails);
    for (int mode = 0; mode < 3; mode++)
        r1[mode] = run_softmax(ctx, 1, mode, -1, &fails);
    for (int mode = 0; mode < 3; mode++)
        CHECK(r1[mode] == r4[mode], "softmax rounds depend on rows: %d (1 row) vs %d (4 rows)", r1[mode], r4[mode]);
    int l4 = run_layernorm(ctx, LR, base + 3, &fails);
    int l1 = run_layernorm(ctx, 1, -1, &fails);
    CHECK(l1 == l4, "layernorm rounds depend on rows: %d vs %d", l1, l4);
    /* GeLU rounds: 64 vs 2048 elements */
    {
        mpct_share A = {0}, B = {0}, Y = {0};
        double z[NS];
        for (int i = 0; i < NS; i++)
            z[i] = -8 + 16.0 * i / NS;
        CHECK_OK(mpct_share_init(&A, mpct_shape_1d(64)));
        CHECK_OK(mpct_share_init(&B, mpct_shape_2d(2, NS / 2)));
        CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? z : NULL, &A));
        CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? z : NULL, &B));
        uint64_t a0 = tot(ctx).rounds;
        CHECK_OK(mpct_nl_gelu(ctx, &A, &Y));
        uint64_t a1 = tot(ctx).rounds;
        mpct_share_free(&Y);
        CHECK_OK(mpct_nl_gelu(ctx, &B, &Y));
        uint64_t a2 = tot(ctx).rounds;
        CHECK(a1 - a0 == a2 - a1, "gelu rounds depend on size: %llu vs %llu", (unsigned long long)(a1 - a0),
              (unsigned long long)(a2 - a1));
        mpct_share_free(&A);
        mpct_share_free(&B);
        mpct_share_free(&Y);
    }
    /* odd widths (the tournament's partial groups of 1, 2 and 3, a carried
     * last column) and width 1; row 1 all equal, row 2 near-ties 2^-7 apart
     * (the windowed comparisons may contradict each other there: exactly
     * one candidate still wins every group) */
    static const size_t widths[] = {1, 4, 5, 6, 7, 13, 34};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const size_t C = widths[wi];
        double x[3 * 34], got[3 * 34], want[3 * 34];
        mpct_rng r = {C};
        for (size_t i = 0; i < 3 * C; i++) {
            double v = i < C ? mpct_rng_range(&r, -5, 5) : i < 2 * C ? 2.5 : 3 + ldexp((double)(i % 3), -7);
            x[i] = mpct_fxp_decode(mpct_fxp_encode(v, 16), 16);
        }
        mpct_share X = {0}, Y = {0};
        CHECK_OK(mpct_share_init(&X, mpct_shape_2d(3, C)));
        CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
        CHECK_OK(mpct_nl_softmax(ctx, &X, NULL, &Y));
        CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
        mpct_nl_ref_softmax(x, NULL, 3, C, want);
        for (size_t i = 0; i < 3 * C; i++)
            CHECK(fabs(got[i] - want[i]) <= 2e-3, "softmax width %zu: [%zu] %g vs %g", C, i, got[i], want[i]);
        mpct_share_free(&X);
        mpct_share_free(&Y);
    }
    /* misuse: a range that does not fit is an argument error, not garbage */
    {
        mpct_share A = {0}, Y = {0};
        CHECK_OK(mpct_share_init(&A, mpct_shape_1d(4)));
        CHECK(mpct_nl_recip(ctx, &A, -30, 10, 0, &Y) == MPCT_ERR_ARG, "recip range below 2^-f is rejected");
        CHECK(mpct_nl_rsqrt(ctx, &A, 3, 2, 0, &Y) == MPCT_ERR_ARG, "empty rsqrt range is rejected");
        mpct_share_free(&A);
        mpct_share_free(&Y);
    }
    return fails;
}

int main(int argc, char **argv)
{
    int markdown = 0;
    mpct_ctx_config cfg[3], *pcfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--markdown")) {
            markdown = 1;
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) { /* PRF seed of the parties (default 42) */
            for (int p = 0; p < 3; p++) {
                cfg[p] = mpct_ctx_config_default();
                cfg[p].deterministic = 1;
                cfg[p].seed = strtoull(argv[++i], NULL, 10);
                if (p < 2)
                    i--;
            }
            pcfg = cfg;
        } else {
            fprintf(stderr, "usage: test_nonlin [--markdown] [--seed N]\n");
            return 2;
        }
    }
    size_t mem0 = mpct_alloc_current();
    int fails = mpct_test_run3(body_elementwise, NULL, pcfg);
    fails += mpct_test_run3(body_layers, NULL, pcfg);
    CHECK(mpct_alloc_current() == mem0, "%zu bytes still allocated after the tests", mpct_alloc_current() - mem0);
    /* every op's round count (exact truncation), so that a regression fails */
    static const struct {
        const char *name;
        uint64_t rounds;
    } want_rounds[] = {{"exp_neg", 21},   {"exp", 33},
                       {"recip (out 24 bits)", 16}, {"recip (out 16 bits)", 16},
                       {"rsqrt", 18},     {"gelu", 17},
                       {"tanh", 33},      {"softmax (no mask)", 67},
                       {"softmax (secret mask)", 67}, {"softmax (public mask)", 67},
                       {"layernorm", 24}};
    for (int i = 0; i < g_nrows; i++) {
        const row_stats *r = &g_rows[i];
        int known = 0;
        for (size_t k = 0; r->name && k < sizeof want_rounds / sizeof *want_rounds; k++)
            if (!strcmp(r->name, want_rounds[k].name)) {
                known = 1;
                CHECK(r->rounds == want_rounds[k].rounds, "%s takes %llu rounds, expected %llu", r->name,
                      (unsigned long long)r->rounds, (unsigned long long)want_rounds[k].rounds);
            }
        CHECK(!r->name || known, "%s: no expected round count", r->name);
    }
    if (markdown) {
        printf("| function | input range | max abs err | mean abs err | max rel err (outputs >= 1e-3) | rounds "
               "| bytes/element (max party) |\n");
        printf("| --- | --- | --- | --- | --- | --- | --- |\n");
        for (int i = 0; i < g_nrows; i++) {
            row_stats *r = &g_rows[i];
            if (!r->name)
                continue;
            uint64_t b = 0;
            for (int p = 0; p < 3; p++)
                b = g_bytes[p][i] > b ? g_bytes[p][i] : b;
            printf("| %s | %s | %.2e | %.2e | %.2e | %llu | %.0f |\n", r->name, r->range, r->max_abs, r->mean_abs,
                   r->max_rel, (unsigned long long)r->rounds, (double)b / (double)r->n);
        }
        fflush(stdout);
    }
    return mpct_check_done("test_nonlin");
}
