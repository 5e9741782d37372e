/*
 * test_secure_decoder.c — the secure decoder pass with its secret KV cache
 * and secure greedy generation, three parties in one process, on the tiny
 * random Hugging Face decoders of tests/data/hf (gpt2-tied, llama-gqa:
 * grouped-query attention and its own LM head, llama-tied), against the
 * float64 reference (itself checked against Hugging Face by
 * test_decoder_golden).
 *
 * Per model and prompt (the goldens' prompts):
 *  - generation: NEW tokens by mpct_smodel_generate (owner party 0, client
 *    party 1) equal mpct_ref_generate's ids; at every step the secure
 *    next-token logits (revealed to all, for the test only) have cosine
 *    >= 0.999 with the reference's for the same prefix (max abs error and
 *    cosine printed); the tokens reach the client only: the other parties'
 *    output buffers stay untouched while every party counts the steps;
 *    a stop token ends generation early on every party;
 *  - KV cache: a prefill followed by single-token steps against recomputing
 *    the whole prefix each step. Bit-identity of the two is impossible:
 *    the exact truncation's {0, 1}-ulp error depends on the random masks a
 *    call draws, and a step draws them for 1 row where the recompute draws
 *    them for t rows. The exact properties asserted instead: a step never
 *    changes the shares of the cache rows it finds (appends only); the two
 *    paths' logits agree (max abs difference <= 3e-2, a few times
 *    each path's error against float64, cosine >= 0.99999) with the same argmax; and a prefill
 *    repeated under the same PRF stream gives bit-identical cache shares
 *    and logits (the protocol is a deterministic function of the test keys).
 *  - an encoder pass, a full cache and a wrong one-hot are refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "../mpct_party3.h"
#include "share_decoder.h"

#define MAXP 4
#define MAXT 64
#define NEW 8
#define OWNER 0
#define CLIENT 1

typedef struct tcase {
    const char *name, *h5;
    mpct_ref_model *ref;
    size_t np, n[MAXP];
    int32_t ids[MAXP][MAXT];
    int32_t greedy[MAXP][NEW]; /* the reference's */
    /* per party */
    double *lg[3];       /* revealed logits of the current generation, [step x V] */
    size_t steps[3];
    double worst_err, worst_cos; /* over every step */
} tcase;

/* The prompts' ids from golden.txt (its other records are skipped). */
static void read_prompts(const char *path, tcase *t)
{
    int fails = 0; /* REQUIRE exits on a failure */
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL, "cannot open %s", path);
    char w[32];
    while (fscanf(f, "%31s", w) == 1) {
        if (strcmp(w, "prompt") != 0)
            continue;
        size_t p = t->np++;
        REQUIRE(p < MAXP && fscanf(f, "%zu", &t->n[p]) == 1 && t->n[p] <= MAXT - NEW, "%s: prompt line", path);
        for (size_t i = 0; i < t->n[p]; i++)
            REQUIRE(fscanf(f, "%d", &t->ids[p][i]) == 1);
    }
    fclose(f);
    (void)fails;
}

static mpct_status keep_logits(mpct_ctx_t *ctx, const mpct_share *logits, void *arg)
{
    tcase *t = arg;
    const int me = mpct_ctx_party(ctx);
    const size_t V = logits->n;
    if (t->steps[me] >= NEW)
        return mpct_error_set(MPCT_ERR_ARG, "more than %d steps", NEW);
    return mpct_share_reveal_fxp(ctx, logits, MPCT_ALL_PARTIES, t->lg[me] + t->steps[me]++ * V);
}

/* max |a - b| and cosine of two vectors */
static void compare(const double *a, const double *b, size_t n, double *err, double *cos)
{
    double ab = 0, aa = 0, bb = 0;
    *err = 0;
    for (size_t i = 0; i < n; i++) {
        *err = fmax(*err, fabs(a[i] - b[i]));
        ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    }
    *cos = ab / sqrt(aa * bb);
}

/* Generation of prompt p: ids, logits at every step against the reference. */
static int check_generate(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, tcase *t, size_t p)
{
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    const size_t V = (size_t)mpct_smodel_get_info(m)->cfg.vocab_size, n = t->n[p];
    int32_t out[NEW];
    for (size_t i = 0; i < NEW; i++)
        out[i] = -7;
    size_t nout = 0;
    t->steps[me] = 0;
    mpct_smodel_gen_opts o = {.on_logits = keep_logits, .arg = t};
    CHECK_OK(mpct_smodel_generate(ctx, m, w, CLIENT, me == CLIENT ? t->ids[p] : NULL, n, NEW, NULL, 0, &o,
                                  me == CLIENT ? out : NULL, &nout));
    CHECK(nout == NEW && t->steps[me] == NEW, "%s prompt %zu: %zu tokens, %zu steps", t->name, p, nout, t->steps[me]);
    if (me != CLIENT) { /* nothing reached this party's output */
        for (size_t i = 0; i < NEW; i++)
            CHECK(out[i] == -7, "%s: party %d's output was written", t->name, me);
        return fails;
    }
    CHECK(memcmp(out, t->greedy[p], sizeof out) == 0, "%s prompt %zu: secure greedy ids differ from the reference's",
          t->name, p);
    /* each step's logits against the reference's for the prefix the secure run fed */
    mpct_ref_kv *kv = NULL;
    double *ref = malloc(V * sizeof *ref);
    CHECK_OK(mpct_ref_kv_new(t->ref, n + NEW, &kv));
    for (size_t s = 0; s < NEW; s++) {
        CHECK_OK(s == 0 ? mpct_ref_decode(t->ref, kv, t->ids[p], n, ref) : mpct_ref_decode(t->ref, kv, &out[s - 1], 1, ref));
        double err, cos;
        compare(t->lg[me] + s * V, ref, V, &err, &cos);
        t->worst_err = fmax(t->worst_err, err);
        t->worst_cos = fmin(t->worst_cos, cos);
        CHECK(cos >= 0.999, "%s prompt %zu step %zu: cosine %.6f with the reference (max abs err %.3e)", t->name, p,
              s, cos, err);
    }
    mpct_ref_kv_free(kv);
    free(ref);
    return fails;
}

/* A stop token ends generation early on every party. */
static int check_stop(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, tcase *t)
{
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    int32_t out[NEW], stop[1] = {t->greedy[0][2]};
    size_t nout = 0, want = 0;
    while (t->greedy[0][want] != stop[0])
        want++;
    t->steps[me] = 0;
    mpct_smodel_gen_opts o = {.on_logits = keep_logits, .arg = t};
    CHECK_OK(mpct_smodel_generate(ctx, m, w, CLIENT, me == CLIENT ? t->ids[0] : NULL, t->n[0], NEW,
                                  me == CLIENT ? stop : NULL, me == CLIENT ? 1 : 0, &o, me == CLIENT ? out : NULL,
                                  &nout));
    CHECK(nout == want + 1, "%s: stop token %d after %zu tokens on party %d (want %zu)", t->name, stop[0], nout, me,
          want + 1);
    return fails;
}

static mpct_status reveal_all(mpct_ctx_t *ctx, const mpct_share *x, double *out)
{
    return mpct_share_reveal_fxp(ctx, x, MPCT_ALL_PARTIES, out);
}

/* Cached steps against recomputing the prefix; appends only; determinism. */
static int check_kv(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, tcase *t)
{
    int fails = 0;
    const mpct_smodel_info *info = mpct_smodel_get_info(m);
    const size_t V = (size_t)info->cfg.vocab_size, n = t->n[0], L = n + 4, layers = (size_t)info->cfg.num_layers;
    const int me = mpct_ctx_party(ctx);
    int32_t seq[MAXT];
    memcpy(seq, t->ids[0], n * sizeof *seq);
    memcpy(seq + n, t->greedy[0], 4 * sizeof *seq);
    mpct_smodel_kv *kv = NULL, *fresh = NULL;
    CHECK_OK(mpct_smodel_kv_new(m, L, &kv));
    CHECK_OK(mpct_smodel_kv_new(m, L, &fresh));
    double *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b), worst = 0, wcos = 1;
    mpct_share oh = {0}, lg = {0}, idx = {0}, lg2 = {0}, idx2 = {0}, rows = {0}, keep = {0};
    uint64_t ia = 0, ib = 0;
    for (size_t s = n; s <= L; s++) {
        const size_t k = s == n ? n : 1;
        CHECK_OK(mpct_smodel_input_tokens(ctx, CLIENT, info, me == CLIENT ? seq + s - k : NULL, k, &oh));
        if (s > n) { /* the rows the step finds, to check it leaves them alone */
            CHECK_OK(mpct_smodel_kv_rows(kv, layers - 1, 1, &rows));
            CHECK_OK(mpct_share_copy(&rows, &keep));
        }
        CHECK_OK(mpct_smodel_decode(ctx, m, w, kv, &oh, k, &lg, &idx));
        if (s > n) {
            CHECK_OK(mpct_smodel_kv_rows(kv, layers - 1, 1, &rows));
            CHECK(rows.n == keep.n + info->cfg.kv_heads * info->cfg.head_dim &&
                      memcmp(rows.s[0], keep.s[0], keep.n * 8) == 0 && memcmp(rows.s[1], keep.s[1], keep.n * 8) == 0,
                  "%s: step %zu changed the cache rows it found", t->name, s);
            mpct_share_free(&keep);
        }
        mpct_share_free(&oh);
        mpct_smodel_kv_reset(fresh);
        CHECK_OK(mpct_smodel_input_tokens(ctx, CLIENT, info, me == CLIENT ? seq : NULL, s, &oh));
        CHECK_OK(mpct_smodel_decode(ctx, m, w, fresh, &oh, s, &lg2, &idx2));
        mpct_share_free(&oh);
        CHECK_OK(reveal_all(ctx, &lg, a));
        CHECK_OK(reveal_all(ctx, &lg2, b));
        CHECK_OK(mpct_share_reveal(ctx, &idx, MPCT_ALL_PARTIES, &ia));
        CHECK_OK(mpct_share_reveal(ctx, &idx2, MPCT_ALL_PARTIES, &ib));
        double err, cos;
        compare(a, b, V, &err, &cos);
        worst = fmax(worst, err);
        wcos = fmin(wcos, cos);
        CHECK(err <= 3e-2 && cos >= 0.99999 && ia == ib,
              "%s: cached step %zu: logits %.3e (cosine %.7f) from the recompute, argmax %llu vs %llu", t->name, s,
              err, cos, (unsigned long long)ia, (unsigned long long)ib);
        CHECK(mpct_smodel_kv_len(kv) == s && mpct_smodel_kv_len(fresh) == s);
        mpct_share *fr[] = {&lg, &idx, &lg2, &idx2};
        for (size_t i = 0; i < 4; i++)
            mpct_share_free(fr[i]);
    }
    if (me == 0)
        printf("%s: KV-cache steps vs recomputing the prefix: max |logit diff| %.3e, min cosine %.7f\n", t->name,
               worst, wcos);
    /* a full cache refuses another token; a wrong one-hot is refused */
    CHECK_OK(mpct_share_init(&oh, mpct_shape_2d(1, V)));
    EXPECT_ERR(mpct_smodel_decode(ctx, m, w, kv, &oh, 1, &lg, NULL), MPCT_ERR_RANGE, "overflow the KV cache");
    mpct_smodel_kv_reset(kv);
    EXPECT_ERR(mpct_smodel_decode(ctx, m, w, kv, &oh, 2, &lg, NULL), MPCT_ERR_ARG, "one-hot elements");
    mpct_share_free(&oh);
    /* the same prefill under the same stream: bit-identical */
    for (int r = 0; r < 2; r++) {
        mpct_smodel_kv *c = r ? fresh : kv;
        mpct_smodel_kv_reset(c);
        mpct_ctx_set_stream(ctx, 0x5eed);
        CHECK_OK(mpct_smodel_input_tokens(ctx, CLIENT, info, me == CLIENT ? seq : NULL, n, &oh));
        CHECK_OK(mpct_smodel_decode(ctx, m, w, c, &oh, n, r ? &lg2 : &lg, NULL));
        mpct_share_free(&oh);
    }
    for (size_t l = 0; l < layers; l++)
        for (int v = 0; v < 2; v++) {
            mpct_share x, y;
            CHECK_OK(mpct_smodel_kv_rows(kv, l, v, &x));
            CHECK_OK(mpct_smodel_kv_rows(fresh, l, v, &y));
            CHECK(x.n == y.n && !memcmp(x.s[0], y.s[0], x.n * 8) && !memcmp(x.s[1], y.s[1], x.n * 8),
                  "%s: layer %zu %s rows differ between two identical prefills", t->name, l, v ? "V" : "K");
        }
    CHECK(!memcmp(lg.s[0], lg2.s[0], V * 8) && !memcmp(lg.s[1], lg2.s[1], V * 8),
          "%s: logits differ between two identical prefills", t->name);
    mpct_share *fr[] = {&lg, &lg2};
    for (size_t i = 0; i < 2; i++)
        mpct_share_free(fr[i]);
    mpct_smodel_kv_free(kv);
    mpct_smodel_kv_free(fresh);
    free(a);
    free(b);
    return fails;
}

static int body(mpct_ctx_t *ctx, void *arg)
{
    int fails = 0;
    tcase *t = arg;
    const int me = mpct_ctx_party(ctx);
    test_decoder d;
    fails += test_decoder_share(ctx, OWNER, t->h5, &d);
    const mpct_smodel_info info = d.info;
    mpct_smodel *m = d.m;
    mpct_smodel_work *w = d.w;
    CHECK(info.cfg.kv_heads == mpct_ref_config(t->ref)->kv_heads &&
              info.cfg.rope_theta == mpct_ref_config(t->ref)->rope_theta &&
              info.cfg.tie_word_embeddings == mpct_ref_config(t->ref)->tie_word_embeddings,
          "%s: the decoder fields travel in the model description", t->name);
    if (fails) { /* nothing below can run */
        test_decoder_free(&d);
        return fails;
    }
    t->lg[me] = malloc(NEW * (size_t)info.cfg.vocab_size * sizeof(double));
    for (size_t p = 0; p < t->np; p++)
        fails += check_generate(ctx, m, w, t, p);
    fails += check_stop(ctx, m, w, t);
    fails += check_kv(ctx, m, w, t);
    /* the encoder pass refuses a decoder */
    mpct_share z = {0}, e = {0};
    CHECK_OK(mpct_share_init(&z, mpct_shape_1d(1)));
    EXPECT_ERR(mpct_smodel_forward(ctx, m, w, &z, &z, &z, 1, 1, &e, NULL), MPCT_ERR_UNSUPPORTED, "is a decoder");
    mpct_share_free(&z);
    free(t->lg[me]);
    test_decoder_free(&d);
    return fails;
}

static int run_model(const char *name)
{
    int fails = 0;
    char ckpt[1024], h5[1024], golden[1100];
    snprintf(ckpt, sizeof ckpt, "%s/tests/data/hf/%s", MPCT_SOURCE_DIR, name);
    snprintf(golden, sizeof golden, "%s/golden.txt", ckpt);
    snprintf(h5, sizeof h5, "secure_decoder_%s.h5", name);
    tcase t = {.name = name, .h5 = h5, .worst_cos = 1};
    CHECK_OK(mpct_io_pack_hf(ckpt, h5, &(mpct_io_pack_opts){.bits = 32})); /* float32, as the checkpoint */
    CHECK_OK(mpct_ref_load(h5, &t.ref));
    if (fails)
        return fails;
    read_prompts(golden, &t);
    REQUIRE(t.np >= 1, "%s: no prompts", golden);
    for (size_t p = 0; p < t.np; p++) {
        size_t nout = 0;
        CHECK_OK(mpct_ref_generate(t.ref, t.ids[p], t.n[p], NEW, NULL, 0, t.greedy[p], &nout));
    }
    fails += mpct_test_run3(body, &t, NULL);
    printf("%s: %zu prompts x %d new tokens: secure next-token logits vs float64: max abs err %.3e, min cosine "
           "%.6f\n",
           name, t.np, NEW, t.worst_err, t.worst_cos);
    mpct_ref_free(t.ref);
    remove(h5);
    return fails;
}

int main(void)
{
    int fails = 0;
    fails += run_model("gpt2-tied");
    fails += run_model("llama-gqa");
    fails += run_model("llama-tied");
    return mpct_check_done("test_secure_decoder");
}
