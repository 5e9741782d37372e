/*
 * test_nonlin_sub.c — the MPC-friendly substitutes (mpct_nonlin_sub.h:
 * Quad, 2Quad) against their float64 twins, three parties simulated in one
 * process, fixed seeds. Checks the accuracy (fixed-point rounding only: the
 * functions are the models' own), masked entries exactly 0 with a secret
 * and a public mask, the round counts the header states (independent of
 * the number of rows), the bytes per element, the twins' definitions
 * against hand-computed values, and misuse errors.
 *
 *   test_nonlin_sub             run the checks (non-zero exit on failure)
 *   test_nonlin_sub --markdown  also print the rows of NONLINEAR.md
 */
#include "../mpct_party3.h"
#include "mpct_nonlin_sub.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mpct_net_counters tot(mpct_ctx_t *ctx) { return mpct_net_total(mpct_ctx_net(ctx)); }
static double q16(double v) { return mpct_fxp_decode(mpct_fxp_encode(v, 16), 16); }

/* one markdown row per case: party 0's rounds, the busiest party's bytes */
typedef struct sub_row {
    const char *name, *range;
    double max_abs;
    uint64_t rounds;
    size_t nel;
} sub_row;
static sub_row g_rows[8]; /* written by party 0 */
static uint64_t g_bytes[3][8]; /* each party its own */

#define QN 4096 /* Quad's inputs */
#define SC 128
#define SR 6
static int body_quad(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    static _Thread_local double x[QN], got[QN];
    mpct_rng r = {901};
    for (size_t i = 0; i < QN; i++)
        x[i] = q16(mpct_rng_range(&r, -40, 40));
    x[0] = -8000; /* the edge of the valid range */
    x[1] = 8000;
    mpct_share X = {0}, Y = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_1d(QN)));
    CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_quad(ctx, &X, &Y));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &Y, -1, got));
    double maxe = 0, maxrel = 0;
    for (size_t i = 0; i < QN; i++) {
        const double e = fabs(got[i] - mpct_nl_ref_quad(x[i]));
        if (i >= 2) maxe = fmax(maxe, e);
        maxrel = fmax(maxrel, e / mpct_nl_ref_quad(x[i]));
    }
    /* one truncation: within 1 ulp of the exact value at 16 bits */
    CHECK(maxe <= 1.6e-5, "quad: max abs err %.3g > 1 ulp on [-40, 40]", maxe);
    CHECK(maxrel <= 1e-9 + 1.6e-5 / 0.375, "quad: max rel err %.3g (|x| up to 8000)", maxrel);
    CHECK(c1.rounds - c0.rounds == 2, "quad: %llu rounds, expected 2 (one fused truncated product)",
          (unsigned long long)(c1.rounds - c0.rounds));
    if (me == 0) g_rows[0] = (sub_row){"quad", "[-40, 40]", maxe, c1.rounds - c0.rounds, QN};
    g_bytes[me][0] = c1.bytes_sent - c0.bytes_sent;
    mpct_share_free(&X);
    mpct_share_free(&Y);
    return fails;
}

/* ---- 2Quad (rows of SC, at most SR) ---- */
static uint64_t run_2quad(mpct_ctx_t *ctx, size_t rows, int mode, int row_idx, int *fails_out)
{
    /* mode 0: no mask, 1: secret mask (client, one mask row per 2 score rows), 2: public mask */
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    static _Thread_local double x[SR * SC], want[SR * SC], got[SR * SC];
    static _Thread_local uint8_t mk[SR * SC];
    static _Thread_local uint64_t mk64[SR * SC], raw[SR * SC];
    mpct_rng r = {77 + (uint64_t)mode};
    const size_t n = rows * SC, per = mode == 1 ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        x[i] = q16(mpct_rng_range(&r, -12, 12));
        /* mask row 0 keeps everything, row 1 three positions, the others ~75 % */
        const size_t row = i / SC, j = i % SC;
        mk[i] = mode == 0 || row == 0 ? 1 : row == 1 ? (j == 5 || j == 6 || j == 100) : mpct_rng_uniform(&r) < 0.75;
        mk64[i] = mk[i];
    }
    static _Thread_local uint8_t full[SR * SC]; /* the mask of every score row */
    for (size_t i = 0; i < n; i++)
        full[i] = mk[(i / SC / per) * SC + i % SC];
    mpct_share X = {0}, Y = {0}, M = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_2d(rows, SC)));
    CHECK_OK(mpct_share_input_fxp(ctx, 1, me == 1 ? x : NULL, &X));
    mpct_nl_mask mask = {0};
    if (mode == 1) {
        CHECK_OK(mpct_share_init(&M, mpct_shape_2d(rows / per, SC)));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? mk64 : NULL, &M));
        mask.secret = &M;
        mask.rows_per_mask = per;
    } else if (mode == 2) {
        mask.pub = mk;
    }
    mpct_net_counters c0 = tot(ctx);
    CHECK_OK(mpct_nl_2quad(ctx, &X, mode ? &mask : NULL, &Y));
    mpct_net_counters c1 = tot(ctx);
    CHECK_OK(mpct_share_reveal(ctx, &Y, -1, raw));
    for (size_t i = 0; i < n; i++)
        got[i] = mpct_fxp_decode(raw[i], mpct_ctx_frac_bits(ctx));
    mpct_nl_ref_2quad(x, mode ? full : NULL, rows, SC, want);
    double maxe = 0, worst_sum = 0;
    for (size_t row = 0; row < rows; row++) {
        double s = 0;
        for (size_t j = 0; j < SC; j++) {
            const size_t i = row * SC + j;
            maxe = fmax(maxe, fabs(got[i] - want[i]));
            s += got[i];
            if (!full[i] && mode)
                CHECK(raw[i] == 0, "2quad mode %d: masked entry %zu is %g, not exactly 0", mode, i, got[i]);
        }
        worst_sum = fmax(worst_sum, fabs(s - 1));
    }
    CHECK(maxe <= 1e-3, "2quad mode %d: max abs err %.3g > 1e-3", mode, maxe);
    CHECK(worst_sum <= 3e-3, "2quad mode %d: a row sums to 1 +- %.3g", mode, worst_sum);
    if (row_idx >= 0) {
        static const char *names[3] = {"2quad (no mask)", "2quad (secret mask)", "2quad (public mask)"};
        if (me == 0)
            g_rows[row_idx] =
                (sub_row){names[mode], "rows of 128, scores in [-12, 12]", maxe, c1.rounds - c0.rounds, n};
        g_bytes[me][row_idx] = c1.bytes_sent - c0.bytes_sent;
    }
    mpct_share_free(&X);
    mpct_share_free(&Y);
    mpct_share_free(&M);
    *fails_out += fails;
    return c1.rounds - c0.rounds;
}

static int body_2quad(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    for (int mode = 0; mode < 3; mode++) {
        const uint64_t small = run_2quad(ctx, 2, mode, -1, &fails), big = run_2quad(ctx, SR, mode, 1 + mode, &fails);
        const uint64_t want = mode == 1 ? 21 : 20; /* a secret mask: one product round more */
        CHECK(small == big, "2quad mode %d: %llu rounds for 2 rows, %llu for %d", mode, (unsigned long long)small,
              (unsigned long long)big, SR);
        CHECK(big == want, "2quad mode %d: %llu rounds, expected %llu", mode, (unsigned long long)big,
              (unsigned long long)want);
    }
    mpct_share X = {0}, Y = {0};
    CHECK_OK(mpct_share_init(&X, mpct_shape_2d(4, 8)));
    mpct_nl_mask bad = {&X, NULL, 3};
    CHECK(mpct_nl_2quad(ctx, &X, &bad, &Y) == MPCT_ERR_ARG, "a secret mask of the wrong size is refused");
    mpct_share_free(&X);
    mpct_share_free(&Y);
    return fails;
}

int main(int argc, char **argv)
{
    int fails = 0;
    const int markdown = argc == 2 && !strcmp(argv[1], "--markdown");
    if (argc > 1 && !markdown) {
        fprintf(stderr, "usage: test_nonlin_sub [--markdown]\n");
        return 2;
    }
    /* the twins are the formulas of python/mpct/optimize/subst.py */
    CHECK(mpct_nl_ref_quad(0) == 0.5 && mpct_nl_ref_quad(2) == 1.5 && mpct_nl_ref_quad(-2) == 0.5,
          "quad twin: 0.125 x^2 + 0.25 x + 0.5");
    {
        const double s[4] = {-5, -4, 0, 1};
        const uint8_t m[4] = {1, 1, 1, 0};
        double p[4];
        mpct_nl_ref_2quad(s, m, 1, 4, p);
        CHECK(p[0] == 0 && p[1] == 1.0 / 26 && p[2] == 25.0 / 26 && p[3] == 0, "2quad twin: (s + 5)^2 over kept");
    }
    const size_t mem0 = mpct_alloc_current();
    fails += mpct_test_run3(body_quad, NULL, NULL);
    fails += mpct_test_run3(body_2quad, NULL, NULL);
    CHECK(mpct_alloc_current() == mem0, "%zu bytes still allocated after the tests", mpct_alloc_current() - mem0);
    if (markdown) {
        printf("| function | input range | max abs err | rounds | bytes per element (max party) |\n"
               "| --- | --- | --- | --- | --- |\n");
        for (int i = 0; i < 4; i++) {
            const sub_row *r = &g_rows[i];
            uint64_t b = g_bytes[0][i];
            for (int p = 1; p < 3; p++)
                b = g_bytes[p][i] > b ? g_bytes[p][i] : b;
            printf("| %s | %s | %.2e | %llu | %.1f |\n", r->name, r->range, r->max_abs, (unsigned long long)r->rounds,
                   (double)b / (double)r->nel);
        }
    }
    return mpct_check_done("test_nonlin_sub");
}
