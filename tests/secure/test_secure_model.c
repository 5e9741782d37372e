/*
 * test_secure_model.c — the secure BERT forward pass against the float64
 * reference on the tiny synthetic model (with a classification head), three
 * parties as threads. Then the owner's range check on the word-embedding
 * table: an entry of 8191.5 lets the lookup run mod 2^32 (word_lift 1 on
 * every party), -8192 sends it to the 64-bit product (word_lift 0). The owner (P0) alone opens the model file; the client
 * (P1) alone builds the inputs and alone receives the outputs. Checks the
 * embeddings' cosine similarity and max abs error, and the logits; and
 * the shares' provenance recipes (check_recipes).
 */
#include "../mpct_party3.h"
#include "mpct_model.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define B 3
#define T 7
static const int lens[B] = {7, 4, 1};
static char path[256];

/* Share provenance: each share's recipe remakes every component it does
 * not store, word for word; the owner stores s[0], its prev s[1], its
 * next nothing (bar the placeholders' zeros); a seed that is not a
 * recipe's is refused; after forget_origin there are no recipes. */
static int check_recipes(int me, int owner, mpct_smodel *m)
{
    int fails = 0;
    const unsigned want = me == owner ? 1u : me == (owner + 1) % 3 ? 0u : 2u;
    size_t remade = 0, wrong = 0, stored_bad = 0;
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++) {
        const mpct_share *x = mpct_smodel_share_get(m, i);
        mpct_smodel_recipe r;
        CHECK(mpct_smodel_share_recipe(m, i, &r), "party %d: share %zu has a recipe", me, i);
        stored_bad += r.stored != want && r.stored != 0;
        uint64_t *buf = calloc(x->n + 1, sizeof *buf);
        for (int c = 0; c < 2 && buf; c++) {
            if (r.stored >> c & 1)
                continue;
            memset(buf, 0, x->n * sizeof *buf);
            CHECK_OK(mpct_smodel_regen(NULL, r.seed, sizeof r.seed, r.stream_id, r.pos, c, buf, x->n));
            wrong += memcmp(buf, x->s[c], x->n * sizeof *buf) != 0;
            remade++;
        }
        if (r.stored) { /* a stored component is not the regenerator's */
            const int c = r.stored & 1 ? 0 : 1;
            CHECK(mpct_smodel_regen(NULL, r.seed, sizeof r.seed, r.stream_id, r.pos, c, buf, x->n) ==
                      MPCT_ERR_FORMAT, "party %d: share %zu's stored component %d regenerated", me, i, c);
        }
        CHECK(mpct_smodel_regen(NULL, r.seed, 3, r.stream_id, r.pos, 0, buf, x->n) == MPCT_ERR_FORMAT,
              "party %d: a 3-byte seed accepted", me);
        free(buf);
    }
    CHECK(remade > 0 && wrong == 0 && stored_bad == 0,
          "party %d: %zu components remade from recipes, %zu differ from the shares, %zu with another stored set "
          "than %u", me, remade, wrong, stored_bad, want);
    mpct_smodel_recipe r;
    mpct_smodel_forget_origin(m);
    CHECK(!mpct_smodel_share_recipe(m, 0, &r), "party %d: a recipe after forget_origin", me);
    return fails;
}

static int body(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), owner = 0, client = 1;
    mpct_model_file *f = NULL;
    if (me == owner)
        CHECK_OK(mpct_model_file_open(path, &f));
    mpct_smodel_info info;
    CHECK_OK(mpct_smodel_share_info(ctx, owner, f, &info));
    mpct_smodel *m = NULL;
    CHECK_OK(mpct_smodel_share(ctx, owner, f, &info, &m, NULL, NULL));
    const size_t V = (size_t)info.cfg.vocab_size, h = (size_t)info.cfg.hidden, L = (size_t)info.cfg.num_labels;
    int32_t ids[B * T] = {0}, msk[B * T] = {0}, cnt[B];
    if (me == client) {
        mpct_rng r = {11};
        for (int bi = 0; bi < B; bi++) {
            for (int ti = 0; ti < lens[bi]; ti++) {
                ids[bi * T + ti] = ti == 0 ? 101 % (int)V : (int)(mpct_rng_next(&r) % V);
                msk[bi * T + ti] = 1;
            }
            cnt[bi] = lens[bi];
        }
    }
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0}, LG = {0};
    CHECK_OK(mpct_smodel_input(ctx, client, &info, me == client ? ids : NULL, T, me == client ? cnt : NULL, B, T,
                               &OH, &MK, &IN));
    CHECK(info.word_lift == 1, "party %d: the tiny model's word table fits the 32-bit lookup", me);
    uint64_t r0 = mpct_net_total(mpct_ctx_net(ctx)).rounds;
    const unsigned long n32 = mpct_share_gemm32_count();
    mpct_smodel_work *w = NULL;
    CHECK_OK(mpct_smodel_work_new(&w));
    CHECK_OK(mpct_smodel_forward(ctx, m, w, &OH, &MK, &IN, B, T, &E, &LG));
    CHECK(mpct_share_gemm32_count() - n32 == (me != client), "party %d: %lu 32-bit products in the forward pass", me,
          mpct_share_gemm32_count() - n32);
    uint64_t rounds = mpct_net_total(mpct_ctx_net(ctx)).rounds - r0;
    double emb[B * 64], lg[B * 8];
    CHECK_OK(mpct_share_reveal_fxp(ctx, &E, client, emb));
    CHECK_OK(mpct_share_reveal_fxp(ctx, &LG, client, lg));
    /* without a work space the lookup multiplies 64-bit words (no 32-bit
     * product), on the same PRF stream the same result bit for bit; the work
     * space's low halves serve a second pass too */
    mpct_share E2 = {0}, E3 = {0};
    const unsigned long m32 = mpct_share_gemm32_count();
    mpct_ctx_set_stream(ctx, 77);
    CHECK_OK(mpct_smodel_forward(ctx, m, NULL, &OH, &MK, &IN, B, T, &E2, NULL));
    CHECK(mpct_share_gemm32_count() == m32, "party %d: a 32-bit product without a work space", me);
    mpct_ctx_set_stream(ctx, 77);
    CHECK_OK(mpct_smodel_forward(ctx, m, w, &OH, &MK, &IN, B, T, &E3, NULL));
    CHECK(mpct_share_gemm32_count() - m32 == (me != client), "party %d: the work space was not reused", me);
    CHECK(E2.n == E3.n && !memcmp(E2.s[0], E3.s[0], E2.n * 8) && !memcmp(E2.s[1], E3.s[1], E2.n * 8),
          "party %d: the forward pass differs with and without a work space", me);
    mpct_share_free(&E2);
    mpct_share_free(&E3);
    mpct_smodel_work_free(w);
    if (me == client) {
        mpct_ref_model *ref = NULL;
        /* the client may not read the model: the test opens it here only to
         * obtain the float64 oracle */
        CHECK_OK(mpct_ref_load(path, &ref));
        double remb[B * 64], rlg[B * 8];
        CHECK_OK(mpct_ref_forward(ref, ids, msk, B, T, remb, rlg));
        for (int bi = 0; bi < B; bi++) {
            double dot = 0, na = 0, nb = 0, maxe = 0;
            for (size_t j = 0; j < h; j++) {
                double a = emb[bi * h + j], bb = remb[bi * h + j];
                dot += a * bb;
                na += a * a;
                nb += bb * bb;
                maxe = fmax(maxe, fabs(a - bb));
            }
            double cosv = dot / sqrt(na * nb);
            printf("row %d (%d tokens): cosine %.6f, max abs err %.2e, norm %.4f\n", bi, lens[bi], cosv, maxe,
                   sqrt(na));
            CHECK(cosv >= 0.999, "row %d cosine %.6f < 0.999", bi, cosv);
            CHECK(maxe <= 2e-2, "row %d max abs err %.3g", bi, maxe);
            CHECK(fabs(sqrt(na) - 1.0) <= 5e-3, "row %d is L2-normalised (norm %.4f)", bi, sqrt(na));
            for (size_t j = 0; j < L; j++)
                CHECK(fabs(lg[bi * L + j] - rlg[bi * L + j]) <= 2e-2, "logit %d,%zu: %.4f vs %.4f", bi, j,
                      lg[bi * L + j], rlg[bi * L + j]);
        }
        printf("forward rounds: %llu\n", (unsigned long long)rounds);
        mpct_ref_free(ref);
    }
    /* mpct_smodel_hint_owner (shares from the cache or another replica
     * carry no marks): every weight share gets the owner's mark; an owner
     * outside 0..2 changes nothing */
    size_t unmarked = 0, wrong = 0;
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++)
        mpct_smodel_share_write(m, i)->zero_comp = 0;
    mpct_smodel_hint_owner(m, 3);
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++)
        unmarked += mpct_smodel_share_get(m, i)->zero_comp == 0;
    mpct_smodel_hint_owner(m, 2);
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++)
        wrong += mpct_share_input_owner(mpct_smodel_share_get(m, i)) != 2;
    CHECK(mpct_smodel_share_count(m) > 0 && unmarked == mpct_smodel_share_count(m) && wrong == 0,
          "hint_owner: %zu of %zu shares unmarked after owner 3, %zu not marked as input by party 2", unmarked,
          mpct_smodel_share_count(m), wrong);
    fails += check_recipes(me, owner, m);
    mpct_share *all[] = {&OH, &MK, &IN, &E, &LG};
    for (size_t i = 0; i < 5; i++)
        mpct_share_free(all[i]);
    mpct_smodel_free(m);
    mpct_model_file_close(f);
    return fails;
}

/* ---- the owner's range check on the word-embedding table ---- */

/* The tiny model of `from` with word[3][7] = v (float32, so 8191.5 and
 * -8192 are stored exactly). */
static int write_with_word_entry(const char *from, const char *to, double v)
{
    mpct_model_file *src = NULL;
    mpct_model_writer *w = NULL;
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 0;
    double *buf = NULL;
    if (mpct_model_file_open(from, &src) != MPCT_OK || mpct_model_file_read_vocab(src, &vocab, &vlen, &lower) != MPCT_OK)
        goto fail;
    mpct_model_config c = *mpct_model_file_config(src);
    if (mpct_model_writer_open(to, &c, 32, 0, &w) != MPCT_OK)
        goto fail;
    for (size_t i = 0; i < mpct_io_tensor_count(&c); i++) {
        mpct_io_tensor_desc d;
        if (mpct_io_tensor_at(&c, i, &d) != MPCT_OK)
            goto fail;
        const size_t n = d.dim[0] * d.dim[1];
        free(buf);
        if (!(buf = malloc(n * sizeof *buf)) || mpct_model_file_read_f64(src, d.name, buf, n) != MPCT_OK)
            goto fail;
        if (!strcmp(d.name, "/weights/embeddings/word"))
            buf[3 * (size_t)c.hidden + 7] = v;
        if (mpct_model_writer_put(w, d.name, buf, n, NULL) != MPCT_OK)
            goto fail;
    }
    if (mpct_model_writer_put_vocab(w, vocab, vlen, lower) != MPCT_OK)
        goto fail;
    const char *labels[MPCT_IO_MAX_LABELS] = {NULL};
    if (c.num_labels > 0 && mpct_model_writer_set_labels(w, labels, (size_t)c.num_labels) != MPCT_OK)
        goto fail;
    char hex[65];
    mpct_status st = mpct_model_writer_close(w, hex);
    w = NULL;
    free(buf);
    mpct_free(vocab);
    mpct_model_file_close(src);
    return st == MPCT_OK ? 0 : 1;
fail:
    fprintf(stderr, "cannot write %s: %s\n", to, mpct_error_msg());
    if (w)
        mpct_model_writer_abort(w);
    free(buf);
    mpct_free(vocab);
    mpct_model_file_close(src);
    return 1;
}

typedef struct range_case {
    const char *path;
    int lift; /* the word_lift every party must see */
} range_case;

/* The description's word_lift on every party, then a forward pass: the
 * non-clients run the 32-bit product exactly when it is set. */
static int body_range(mpct_ctx_t *ctx, void *arg)
{
    const range_case *rc = arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), client = 1;
    mpct_model_file *f = NULL;
    if (me == 0)
        CHECK_OK(mpct_model_file_open(rc->path, &f));
    mpct_smodel_info info;
    CHECK_OK(mpct_smodel_share_info(ctx, 0, f, &info));
    CHECK(info.word_lift == rc->lift, "party %d: word_lift %d, want %d (%s)", me, (int)info.word_lift, rc->lift,
          rc->lift ? "entry 8191.5" : "entry -8192");
    mpct_smodel *m = NULL;
    CHECK_OK(mpct_smodel_share(ctx, 0, f, &info, &m, NULL, NULL));
    const int32_t V = (int32_t)info.cfg.vocab_size;
    int32_t ids[T] = {101 % V, 3 % V, 5 % V, 7 % V}, cnt[1] = {4};
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0};
    CHECK_OK(mpct_smodel_input(ctx, client, &info, me == client ? ids : NULL, T, me == client ? cnt : NULL, 1, T,
                               &OH, &MK, &IN));
    const unsigned long n32 = mpct_share_gemm32_count();
    mpct_smodel_work *w = NULL;
    CHECK_OK(mpct_smodel_work_new(&w));
    CHECK_OK(mpct_smodel_forward(ctx, m, w, &OH, &MK, &IN, 1, T, &E, NULL));
    mpct_smodel_work_free(w);
    const unsigned long want = rc->lift && me != client;
    CHECK(mpct_share_gemm32_count() - n32 == want, "party %d: %lu 32-bit products in the forward pass, want %lu", me,
          mpct_share_gemm32_count() - n32, want);
    mpct_share *all[] = {&OH, &MK, &IN, &E};
    for (size_t i = 0; i < 4; i++)
        mpct_share_free(all[i]);
    mpct_smodel_free(m);
    mpct_model_file_close(f);
    return fails;
}

int main(int argc, char **argv)
{
    snprintf(path, sizeof path, "/tmp/mpct_test_secure_%d.h5", (int)getpid());
    if (argc == 3 && !strcmp(argv[1], "--write-bigword")) { /* a fixture for the tools' test */
        const int bad = mpct_io_write_synthetic(path, "tiny", NULL, 2, 16, 0, 5, NULL) != MPCT_OK ||
                        write_with_word_entry(path, argv[2], -8192.0);
        unlink(path);
        return bad;
    }
    if (mpct_io_write_synthetic(path, "tiny", NULL, 2, 16, 0, 5, NULL) != MPCT_OK) {
        fprintf(stderr, "cannot write the tiny model: %s\n", mpct_error_msg());
        return 1;
    }
    int fails = mpct_test_run3(body, NULL, NULL);
    char pin[300], pout[300];
    snprintf(pin, sizeof pin, "%s.in.h5", path);
    snprintf(pout, sizeof pout, "%s.out.h5", path);
    const int wrote = !write_with_word_entry(path, pin, 8191.5) && !write_with_word_entry(path, pout, -8192.0);
    CHECK(wrote, "cannot write the models with a word entry out of range");
    if (wrote) {
        range_case in = {pin, 1}, out = {pout, 0};
        fails += mpct_test_run3(body_range, &in, NULL);
        fails += mpct_test_run3(body_range, &out, NULL);
    }
    unlink(pin);
    unlink(pout);
    unlink(path);
    return mpct_check_done("test_secure_model");
}
