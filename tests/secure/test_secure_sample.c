/*
 * test_secure_sample.c — secure temperature / top-k sampling
 * (mpct_smodel_sample) against its float64 twin (mpct_ref_sample), three
 * parties in one process under test keys.
 *
 *  - draws: R = 4000 rows of one fixed logit vector (V = 8) sampled in one
 *    call, for (T, k) in {(0.8, all), (1.3, 3)}, at f = 16 and f = 20. u and
 *    the ids are revealed to all (test only). Asserts: every row whose u
 *    is away from a boundary of the reference's cumulative distribution
 *    (the reference gives the same id at u - 2e-3 and u + 2e-3) draws the
 *    reference's id for that u, and at least 95 % of the rows are such;
 *    tokens outside the top k are never drawn; u's mean is within 0.03 of
 *    1/2; the counts pass a chi-square test (p = 0.001) against
 *    softmax(l/T) restricted to the top k and FAIL it against a planted
 *    wrong temperature (1.5 T), so the test can tell them apart.
 *  - ties at the k-th value: every equal entry is kept (the reference and
 *    the secure draw alike, as transformers' TopKLogitsWarper).
 *  - generation on the tiny Hugging Face decoders (gpt2-tied, llama-gqa):
 *    mpct_smodel_generate with sampling; at every step the client's token
 *    equals mpct_ref_sample of the reference's logits for the same prefix
 *    given the step's u (away from ties as above), the other parties'
 *    output untouched.
 *  - cost over SmolLM2's 49152 entries at f = 20 (exact counters, printed):
 *    top-k adds exactly 18 (9 + f) + 9 rounds, the documented bound.
 *  - bad settings (T <= 0, a one-entry row) are refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "../mpct_party3.h"
#include "share_decoder.h"

#define V 8
#define R 4000
#define NEW 8
#define CLIENT 1
#define OWNER 0
#define EPS 2e-3

static const double LOGITS[V] = {2.0, 1.0, 0.5, 3.0, -1.0, 0.0, 1.5, 2.5};

typedef struct draw_case {
    mpct_sample_cfg c;
    const double *l;
    uint64_t id[3][R];
    double u[3][R];
} draw_case;

/* the reference's probabilities of each id (softmax(l/T) over the top k) */
static void ref_probs(const double *l, double T, size_t k, double *p)
{
    double s[V], thr = -INFINITY, mx = -INFINITY, sum = 0;
    memcpy(s, l, sizeof s);
    for (size_t i = 0; i < V; i++) /* sort descending */
        for (size_t j = i + 1; j < V; j++)
            if (s[j] > s[i]) {
                const double x = s[i];
                s[i] = s[j], s[j] = x;
            }
    if (k > 0 && k < V)
        thr = s[k - 1];
    for (size_t j = 0; j < V; j++)
        mx = l[j] >= thr ? fmax(mx, l[j] / T) : mx;
    for (size_t j = 0; j < V; j++)
        sum += p[j] = l[j] >= thr ? exp(l[j] / T - mx) : 0.0;
    for (size_t j = 0; j < V; j++)
        p[j] /= sum;
}

static double chi2(const size_t *count, const double *p)
{
    double x = 0;
    for (size_t j = 0; j < V; j++) {
        const double e = p[j] * R;
        if (e > 0)
            x += (count[j] - e) * (count[j] - e) / e;
        else if (count[j])
            x += 1e9; /* a draw of a probability-0 id */
    }
    return x;
}

static int draw_body(mpct_ctx_t *ctx, void *arg)
{
    int fails = 0;
    draw_case *d = arg;
    const int me = mpct_ctx_party(ctx);
    double *plain = me == OWNER ? malloc(R * V * sizeof *plain) : NULL;
    for (size_t r = 0; me == OWNER && r < R; r++)
        memcpy(plain + r * V, d->l, V * sizeof *plain);
    mpct_share x = {0}, idx = {0}, u = {0};
    CHECK_OK(mpct_share_init(&x, mpct_shape_2d(R, V)));
    CHECK_OK(mpct_share_input_fxp(ctx, OWNER, plain, &x));
    free(plain);
    CHECK_OK(mpct_smodel_sample(ctx, &x, &d->c, &idx, &u));
    CHECK(idx.n == R && u.n == R, "one draw per row: %zu ids, %zu u", idx.n, u.n);
    CHECK_OK(mpct_share_reveal(ctx, &idx, MPCT_ALL_PARTIES, d->id[me]));
    CHECK_OK(mpct_share_reveal_fxp(ctx, &u, MPCT_ALL_PARTIES, d->u[me]));
    mpct_share_free(&idx), mpct_share_free(&u);
    /* refusals */
    mpct_sample_cfg bad = {0.0, 0};
    EXPECT_ERR(mpct_smodel_sample(ctx, &x, &bad, &idx, NULL), MPCT_ERR_ARG, "temperature");
    x.shape = mpct_shape_2d(R * V, 1);
    EXPECT_ERR(mpct_smodel_sample(ctx, &x, &d->c, &idx, NULL), MPCT_ERR_ARG, "at least 2");
    mpct_share_free(&x);
    return fails;
}

/* One (T, k) at frac bits f: the checks of the header's first item. */
static int check_draws(double T, size_t k, int f)
{
    int fails = 0;
    draw_case *d = calloc(1, sizeof *d);
    d->c = (mpct_sample_cfg){T, k};
    d->l = LOGITS;
    mpct_ctx_config cfg[3];
    for (int p = 0; p < 3; p++) {
        cfg[p] = mpct_ctx_config_default();
        cfg[p].deterministic = 1, cfg[p].seed = 42, cfg[p].frac_bits = f;
    }
    fails += mpct_test_run3(draw_body, d, cfg);
    size_t count[V] = {0}, clear = 0, agree = 0, outside = 0;
    double p[V], pw[V], mean = 0;
    ref_probs(LOGITS, T, k, p);
    ref_probs(LOGITS, 1.5 * T, k, pw);
    for (size_t r = 0; r < R; r++) {
        const uint64_t id = d->id[0][r];
        const double u = d->u[0][r];
        mean += u / R;
        if (id >= V) {
            outside++;
            continue;
        }
        count[id]++;
        outside += p[id] == 0;
        int32_t a = -1, b = -2, c = -3;
        CHECK_OK(mpct_ref_sample(LOGITS, V, &d->c, u, &a));
        CHECK_OK(mpct_ref_sample(LOGITS, V, &d->c, fmax(u - EPS, 0), &b));
        CHECK_OK(mpct_ref_sample(LOGITS, V, &d->c, fmin(u + EPS, 1 - 1e-12), &c));
        if (b == c) {
            clear++;
            agree += (int64_t)id == a;
        }
    }
    const double x2 = chi2(count, p), x2w = chi2(count, pw), crit = 24.32; /* df <= 7, p = 0.001 */
    printf("T %.2f top-k %zu f %d: %zu of %d rows away from ties, %zu equal the reference's; u mean %.4f; "
           "chi-square %.2f (planted 1.5 T: %.2f; critical %.2f)\n",
           T, k, f, clear, R, agree, mean, x2, x2w, crit);
    CHECK(agree == clear, "T %.2f k %zu: %zu of %zu draws away from ties differ from the reference's", T, k,
          clear - agree, clear);
    CHECK(clear >= R * 95 / 100, "only %zu rows away from ties", clear);
    CHECK(outside == 0, "%zu draws outside the top-k / vocabulary", outside);
    CHECK(fabs(mean - 0.5) < 0.03, "u's mean %.4f", mean);
    CHECK(x2 < crit, "chi-square %.2f >= %.2f against softmax(l/T)", x2, crit);
    CHECK(x2w > crit, "the planted wrong temperature passes: chi-square %.2f", x2w);
    for (size_t r = 0; r < R; r++)
        CHECK(d->id[1][r] == d->id[0][r] && d->id[2][r] == d->id[0][r], "row %zu revealed differently", r);
    free(d);
    return fails;
}

/* Ties at the k-th value: all of them kept. */
static int check_ties(void)
{
    int fails = 0;
    static const double tl[V] = {1.0, 3.0, 3.0, 0.0, 3.0, -2.0, 0.5, 0.0};
    draw_case *d = calloc(1, sizeof *d);
    d->c = (mpct_sample_cfg){1.0, 2};
    d->l = tl;
    fails += mpct_test_run3(draw_body, d, NULL);
    size_t count[V] = {0};
    for (size_t r = 0; r < R; r++)
        count[d->id[0][r] < V ? d->id[0][r] : 0]++;
    printf("ties at the 2nd value: counts of ids 1, 2, 4: %zu %zu %zu, others %zu\n", count[1], count[2], count[4],
           R - count[1] - count[2] - count[4]);
    CHECK(count[1] > R / 4 && count[2] > R / 4 && count[4] > R / 4 && count[1] + count[2] + count[4] == R,
          "top-2 with three equal maxima keeps all three and nothing else");
    free(d);
    return fails;
}

/* ---- cost at a real vocabulary (exact counters) ---- */
#define VBIG 49152 /* SmolLM2's */
typedef struct cost_case {
    size_t k;
    uint64_t rounds[3], bytes[3];
} cost_case;

static int cost_body(mpct_ctx_t *ctx, void *arg)
{
    int fails = 0;
    cost_case *c = arg;
    const int me = mpct_ctx_party(ctx);
    double *plain = me == OWNER ? malloc(VBIG * sizeof *plain) : NULL;
    for (size_t j = 0; plain && j < VBIG; j++)
        plain[j] = 10.0 * sin(0.37 * (double)j); /* spread over [-10, 10] */
    mpct_share x = {0}, idx = {0};
    CHECK_OK(mpct_share_init(&x, mpct_shape_2d(1, VBIG)));
    CHECK_OK(mpct_share_input_fxp(ctx, OWNER, plain, &x));
    free(plain);
    const mpct_net_counters a = mpct_net_total(mpct_ctx_net(ctx));
    const mpct_sample_cfg sc = {0.8, c->k};
    CHECK_OK(mpct_smodel_sample(ctx, &x, &sc, &idx, NULL));
    const mpct_net_counters b = mpct_net_total(mpct_ctx_net(ctx));
    c->rounds[me] = b.rounds - a.rounds;
    c->bytes[me] = b.bytes_sent - a.bytes_sent;
    mpct_share_free(&x), mpct_share_free(&idx);
    return fails;
}

/* Rounds and bytes of one draw over 49152 entries at f = 20, without and
 * with top-k: top-k adds exactly 18 (9 + f) + 9 rounds (secure_sample.c). */
static int check_cost(void)
{
    int fails = 0;
    cost_case c[2] = {{.k = 0}, {.k = 50}};
    mpct_ctx_config cfg[3];
    for (int p = 0; p < 3; p++) {
        cfg[p] = mpct_ctx_config_default();
        cfg[p].deterministic = 1, cfg[p].seed = 42, cfg[p].frac_bits = 20;
    }
    for (int i = 0; i < 2; i++) {
        fails += mpct_test_run3(cost_body, &c[i], cfg);
        const uint64_t all = c[i].bytes[0] + c[i].bytes[1] + c[i].bytes[2];
        printf("one draw over %d entries, f 20, top-k %zu: %llu rounds, %.2f MB sent by all parties\n", VBIG, c[i].k,
               (unsigned long long)c[i].rounds[0], all / 1e6);
        CHECK(c[i].rounds[0] == c[i].rounds[1] && c[i].rounds[1] == c[i].rounds[2], "parties ran other rounds");
    }
    CHECK(c[1].rounds[0] - c[0].rounds[0] == 18 * (9 + 20) + 9, "top-k added %llu rounds, not 18 (9 + f) + 9",
          (unsigned long long)(c[1].rounds[0] - c[0].rounds[0]));
    return fails;
}

/* ---- generation on the tiny decoders ---- */
typedef struct gen_case {
    const char *h5;
    mpct_ref_model *ref;
    mpct_sample_cfg c;
    size_t n;
    int32_t ids[64];
    double u[3][NEW];
    size_t steps[3];
    int32_t out[NEW];
    size_t nout;
} gen_case;

static mpct_status keep_u(mpct_ctx_t *ctx, const mpct_share *u, void *arg)
{
    gen_case *g = arg;
    const int me = mpct_ctx_party(ctx);
    if (g->steps[me] >= NEW || u->n != 1)
        return mpct_error_set(MPCT_ERR_ARG, "a draw after %zu steps, %zu values", g->steps[me], u->n);
    return mpct_share_reveal_fxp(ctx, u, MPCT_ALL_PARTIES, &g->u[me][g->steps[me]++]);
}

static int gen_body(mpct_ctx_t *ctx, void *arg)
{
    int fails = 0;
    gen_case *g = arg;
    const int me = mpct_ctx_party(ctx);
    test_decoder d;
    fails += test_decoder_share(ctx, OWNER, g->h5, &d);
    if (fails) {
        test_decoder_free(&d);
        return fails;
    }
    int32_t out[NEW];
    for (size_t i = 0; i < NEW; i++)
        out[i] = -7;
    size_t nout = 0;
    mpct_smodel_gen_opts o = {.arg = g, .sample = &g->c, .on_sample = keep_u};
    CHECK_OK(mpct_smodel_generate(ctx, d.m, d.w, CLIENT, me == CLIENT ? g->ids : NULL, g->n, NEW, NULL, 0, &o,
                                  me == CLIENT ? out : NULL, &nout));
    CHECK(nout == NEW && g->steps[me] == NEW, "%zu tokens, %zu draws", nout, g->steps[me]);
    if (me == CLIENT) {
        memcpy(g->out, out, sizeof out);
        g->nout = nout;
    } else {
        for (size_t i = 0; i < NEW; i++)
            CHECK(out[i] == -7, "party %d's output was written", me);
    }
    test_decoder_free(&d);
    return fails;
}

static int check_generate(const char *name, double T, size_t k)
{
    int fails = 0;
    char ckpt[1024], h5[1100], golden[1100];
    snprintf(ckpt, sizeof ckpt, "%s/tests/data/hf/%s", MPCT_SOURCE_DIR, name);
    snprintf(golden, sizeof golden, "%s/golden.txt", ckpt);
    snprintf(h5, sizeof h5, "secure_sample_%s.h5", name);
    gen_case *g = calloc(1, sizeof *g);
    g->h5 = h5;
    g->c = (mpct_sample_cfg){T, k};
    CHECK_OK(mpct_io_pack_hf(ckpt, h5, &(mpct_io_pack_opts){.bits = 32}));
    CHECK_OK(mpct_ref_load(h5, &g->ref));
    FILE *fp = fopen(golden, "r");
    REQUIRE(fp != NULL, "cannot open %s", golden);
    char word[32];
    while (!g->n && fscanf(fp, "%31s", word) == 1)
        if (!strcmp(word, "prompt")) {
            REQUIRE(fscanf(fp, "%zu", &g->n) == 1 && g->n <= 64 - NEW);
            for (size_t i = 0; i < g->n; i++)
                REQUIRE(fscanf(fp, "%d", &g->ids[i]) == 1);
        }
    fclose(fp);
    fails += mpct_test_run3(gen_body, g, NULL);
    const size_t Vm = (size_t)mpct_ref_config(g->ref)->vocab_size;
    double *lg = malloc(Vm * sizeof *lg);
    mpct_ref_kv *kv = NULL;
    CHECK_OK(mpct_ref_kv_new(g->ref, g->n + NEW, &kv));
    size_t clear = 0;
    for (size_t s = 0; s < g->nout && !fails; s++) {
        CHECK_OK(s ? mpct_ref_decode(g->ref, kv, &g->out[s - 1], 1, lg) : mpct_ref_decode(g->ref, kv, g->ids, g->n, lg));
        const double u = g->u[0][s];
        int32_t a = -1, b = -2, c = -3;
        CHECK_OK(mpct_ref_sample(lg, Vm, &g->c, u, &a));
        CHECK_OK(mpct_ref_sample(lg, Vm, &g->c, fmax(u - EPS, 0), &b));
        CHECK_OK(mpct_ref_sample(lg, Vm, &g->c, fmin(u + EPS, 1 - 1e-12), &c));
        CHECK(g->u[1][s] == u && g->u[2][s] == u);
        if (b != c)
            continue;
        clear++;
        CHECK(g->out[s] == a, "%s T %.2f k %zu step %zu: secure draw %d, the reference's %d for u = %.6f", name, T,
              k, s, g->out[s], a, u);
    }
    printf("%s T %.2f top-k %zu: %zu of %zu steps away from ties, ids:", name, T, k, clear, g->nout);
    for (size_t s = 0; s < g->nout; s++)
        printf(" %d", g->out[s]);
    printf("\n");
    CHECK(clear >= NEW / 2, "%s: only %zu steps away from ties", name, clear);
    mpct_ref_kv_free(kv);
    free(lg);
    mpct_ref_free(g->ref);
    remove(h5);
    free(g);
    return fails;
}

int main(void)
{
    int fails = 0;
    fails += check_draws(0.8, 0, 16);
    fails += check_draws(1.3, 3, 16);
    fails += check_draws(0.8, 0, 20);
    fails += check_draws(1.3, 3, 20);
    fails += check_ties();
    fails += check_cost();
    fails += check_generate("gpt2-tied", 0.9, 4);
    fails += check_generate("llama-gqa", 0.3, 0);
    (void)fails;
    return mpct_check_done("test_secure_sample");
}
