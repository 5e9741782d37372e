/*
 * test_view.c — what each party sees, for every protocol the model uses: a
 * statistical comparison of each party's whole view under two secrets far
 * apart, under fresh (OS-random) keys.
 *
 * A party's view is every byte it receives, message by message and in
 * order, plus its two output share components (appended as two messages).
 * The bytes are recorded by a wrapper transport built in this test around
 * the in-process one (net-impl.h's backend table): nothing in the library
 * knows it is recorded. Each protocol runs twice, on secret A (zeros, or
 * the least token ids) and on secret B (values near the protocol's bound,
 * or varied token ids), each time with fresh keys; inputs are shared
 * before the recording starts (the input step is its own case).
 *
 * The two views must have the same message sizes, and two-sample
 * chi-square tests on them must stay under a threshold of about 7 standard
 * deviations (Wilson-Hilferty, p ~ 1e-12 per test):
 *  - bytes: each byte position of the words (or each byte of a message
 *    that is not whole words), per message and pooled over the view;
 *  - neighbours: the same on the differences of neighbouring words
 *    (a mask reused on adjacent elements shows here);
 *  - pairs: the same on the differences of the words at one index in two
 *    messages, every pair of messages in short views, consecutive ones in
 *    long views and pooled (a mask or stream position used twice shows).
 * Controls, so that the test can fail: a planted input step (the owner
 * sends x + r and then 3x + 1 + r') with a correct mask must pass, and with
 * a 56-bit mask, a mask reused on neighbouring elements, or the stream
 * position of the first message reused for the second must fail.
 *
 * Cases: input; reveal to P1 (the views of P0 and P2); mul; the fused
 * product and truncation (element-wise and matmul); exact truncation;
 * probabilistic truncation; msb and ltz (64-bit); msb and ltz on 32-bit
 * shares; the windowed comparison; b2a; select; ReLU; the lifted 32-bit
 * embedding lookup; a whole forward pass of the tiny model on secret token
 * ids. Invariant: every case checks all three parties except where the
 * party legitimately learns the secret (the owner of the input, the
 * receiver of the reveal).
 */
#include "../mpct_party3.h"
#include "net-impl.h" /* the transport backend table: the recording wrapper */
#include "mpct_model.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define NE 8192     /* elements per protocol case */
#define MIN_N 2048  /* fewest samples per byte position for a test */
#define ALL_PAIRS 24 /* views with at most this many messages: every pair of messages */

/* ---- the recording transport ---- */
typedef struct view {
    uint8_t *buf;
    size_t len, cap;
    size_t *off; /* message k is buf[off[k], off[k + 1]) */
    size_t nmsg, capm;
    size_t nrecv; /* with has_out: messages received; the output's components follow */
    int has_out;
} view;

typedef struct rec_net {
    mpct_net_t *inner;
    view *v;
    int on;
} rec_net;

static int view_add(view *v, const void *p, size_t n)
{
    if (v->len + n > v->cap) {
        size_t c = v->cap ? v->cap : 1 << 16;
        while (c < v->len + n)
            c *= 2;
        uint8_t *b = realloc(v->buf, c);
        if (!b)
            return 0;
        v->buf = b, v->cap = c;
    }
    if (v->nmsg + 2 > v->capm) {
        size_t c = v->capm ? 2 * v->capm : 256;
        size_t *o = realloc(v->off, c * sizeof *o);
        if (!o)
            return 0;
        v->off = o, v->capm = c;
    }
    if (v->nmsg == 0)
        v->off[0] = 0;
    memcpy(v->buf + v->len, p, n);
    v->len += n;
    v->off[++v->nmsg] = v->len;
    return 1;
}

static void view_free(view *v)
{
    free(v->buf);
    free(v->off);
    memset(v, 0, sizeof *v);
}

static mpct_status rec_round(mpct_net_t *net, const mpct_net_msg *m)
{
    rec_net *r = net->impl;
    MPCT_CALL(mpct_net_round(r->inner, m));
    if (r->on && ((m->from_next_bytes && !view_add(r->v, m->from_next, m->from_next_bytes)) ||
                  (m->from_prev_bytes && !view_add(r->v, m->from_prev, m->from_prev_bytes))))
        return mpct_error_set(MPCT_ERR_NOMEM, "view recorder: out of memory");
    return MPCT_OK;
}

static void rec_free(mpct_net_t *net)
{
    rec_net *r = net->impl;
    mpct_net_free(r->inner);
    free(r);
}

static const mpct_net_ops rec_ops = {rec_round, rec_free, "recorded local"};

static rec_net *rec_of(mpct_ctx_t *ctx) { return mpct_ctx_net(ctx)->impl; }
static void rec_on(mpct_ctx_t *ctx, int on) { rec_of(ctx)->on = on; }
static void rec_share(mpct_ctx_t *ctx, const mpct_share *x)
{
    view *v = rec_of(ctx)->v;
    v->nrecv = v->nmsg;
    v->has_out = 1;
    view_add(v, x->s[0], x->n * 8);
    view_add(v, x->s[1], x->n * 8);
}

/* ---- the two-sample statistics ---- */
typedef struct hist {
    double h[2][8][256];
    size_t n[2];
    int stride;
} hist;

static double worst; /* largest statistic / threshold seen by the current comparison */

static uint64_t elem(const uint8_t *p, size_t i, int stride)
{
    if (stride == 1)
        return p[i];
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    return w;
}

static void feed(hist *h, int side, uint64_t v)
{
    for (int k = 0; k < h->stride; k++)
        h->h[side][k][(v >> (8 * k)) & 255]++;
    h->n[side]++;
}

/* 1 when some byte position's two-sample chi-square exceeds ~7 sigma. */
static int hist_differs(const hist *h, const char *what, const char *name, int party)
{
    if (h->n[0] < MIN_N || h->n[0] != h->n[1])
        return 0;
    int bad = 0;
    for (int k = 0; k < h->stride; k++) {
        double s = 0;
        int bins = 0;
        for (int b = 0; b < 256; b++) {
            double x = h->h[0][k][b], y = h->h[1][k][b];
            if (x + y > 0)
                s += (x - y) * (x - y) / (x + y), bins++;
        }
        if (bins < 2)
            continue;
        const double df = bins - 1, a = 2.0 / (9.0 * df), z = 7.0;
        const double thresh = df * pow(1 - a + z * sqrt(a), 3);
        worst = s / thresh > worst ? s / thresh : worst;
        if (s > thresh) {
            if (!bad)
                fprintf(stderr, "  %s, party %d: %s differ: byte %d chi2 %.0f > %.0f (%d bins)\n", name, party, what,
                        k, s, thresh, bins);
            bad = 1;
        }
    }
    return bad;
}

static int stride_of(size_t len) { return len % 8 == 0 ? 8 : 1; }

/* Bytes and neighbours of message j of both views into hb, hn. */
static void feed_msg(hist *hb, hist *hn, const view *v[2], size_t j)
{
    for (int s = 0; s < 2; s++) {
        const uint8_t *p = v[s]->buf + v[s]->off[j];
        const size_t n = (v[s]->off[j + 1] - v[s]->off[j]) / (size_t)hb->stride;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = elem(p, i, hb->stride);
            feed(hb, s, e);
            if (i + 1 < n)
                feed(hn, s, elem(p, i + 1, hb->stride) - e);
        }
    }
}

/* Differences of messages j and k (same stride) at equal indices into hp. */
static void feed_pair(hist *hp, const view *v[2], size_t j, size_t k)
{
    for (int s = 0; s < 2; s++) {
        const uint8_t *a = v[s]->buf + v[s]->off[j], *b = v[s]->buf + v[s]->off[k];
        size_t na = (v[s]->off[j + 1] - v[s]->off[j]) / (size_t)hp->stride,
               nb = (v[s]->off[k + 1] - v[s]->off[k]) / (size_t)hp->stride;
        for (size_t i = 0; i < na && i < nb; i++)
            feed(hp, s, elem(b, i, hp->stride) - elem(a, i, hp->stride));
    }
}

static size_t msg_len(const view *v, size_t j) { return v->off[j + 1] - v->off[j]; }

/* Message j of both views equals an earlier message of the same view. */
static int repeats(const view *v[2], size_t j)
{
    for (size_t k = 0; k < j; k++) {
        int same = 1;
        for (int s = 0; s < 2 && same; s++)
            same = msg_len(v[s], k) == msg_len(v[s], j) &&
                   !memcmp(v[s]->buf + v[s]->off[k], v[s]->buf + v[s]->off[j], msg_len(v[s], j));
        if (same)
            return 1;
    }
    return 0;
}

/* Number of failed tests comparing party p's views under the two secrets. */
static int compare_views(const char *name, int p, const view *va, const view *vb)
{
    const view *v[2] = {va, vb};
    if (va->nmsg != vb->nmsg) {
        fprintf(stderr, "  %s, party %d: %zu messages under one secret, %zu under the other\n", name, p, va->nmsg,
                vb->nmsg);
        return 1;
    }
    for (size_t j = 0; j < va->nmsg; j++)
        if (msg_len(va, j) != msg_len(vb, j)) {
            fprintf(stderr, "  %s, party %d: message %zu has %zu bytes under one secret, %zu under the other\n",
                    name, p, j, msg_len(va, j), msg_len(vb, j));
            return 1;
        }
    const size_t nrecv = va->has_out ? va->nrecv : va->nmsg;
    static hist hb, hn, hp, pool[2][3]; /* pool[stride 8?][bytes, neighbours, consecutive pairs] */
    memset(pool, 0, sizeof pool);
    for (int w = 0; w < 2; w++)
        for (int t = 0; t < 3; t++)
            pool[w][t].stride = w ? 8 : 1;
    int bad = 0;
    for (size_t j = 0; j < va->nmsg; j++) {
        if (repeats(v, j)) /* an output component that is a message received: counted once */
            continue;
        const int st = stride_of(msg_len(va, j)), w = st == 8;
        memset(&hb, 0, sizeof hb), memset(&hn, 0, sizeof hn);
        hb.stride = hn.stride = st;
        feed_msg(&hb, &hn, v, j);
        if (j < nrecv) /* an output component may be a received word plus a local term: not pooled */
            feed_msg(&pool[w][0], &pool[w][1], v, j);
        char what[64];
        snprintf(what, sizeof what, "bytes of message %zu", j);
        bad += hist_differs(&hb, what, name, p);
        snprintf(what, sizeof what, "neighbours in message %zu", j);
        bad += hist_differs(&hn, what, name, p);
        for (size_t k = j + 1; k < va->nmsg && (va->nmsg <= ALL_PAIRS || k == j + 1); k++) {
            if (stride_of(msg_len(va, k)) != st)
                continue;
            if (k == j + 1 && k < nrecv)
                feed_pair(&pool[w][2], v, j, k);
            memset(&hp, 0, sizeof hp);
            hp.stride = st;
            feed_pair(&hp, v, j, k);
            snprintf(what, sizeof what, "messages %zu and %zu", j, k);
            bad += hist_differs(&hp, what, name, p);
        }
    }
    static const char *pooled[3] = {"pooled bytes", "pooled neighbours", "pooled consecutive pairs"};
    for (int w = 0; w < 2; w++)
        for (int t = 0; t < 3; t++)
            bad += hist_differs(&pool[w][t], pooled[t], name, p);
    return bad;
}

/* ---- the cases ---- */
enum {
    C_INPUT, C_REVEAL, C_MUL, C_MUL_FXP, C_MATMUL_FXP, C_TRUNC, C_TRUNC_PROB, C_MSB, C_LTZ, C_MSB32, C_LTZ32,
    C_LTZ_WIN, C_B2A, C_SELECT, C_RELU, C_LOOKUP, C_FORWARD, C_PLANT
};

typedef struct vcase {
    const char *name;
    int kind;
    int bits;        /* secret B's magnitude: below 2^(bits-1) */
    int skip;        /* a party whose view may depend on the secret (-1: none) */
    int variant;     /* C_PLANT: 0 correct, 1 56-bit mask, 2 mask reused on neighbours, 3 stream position reused */
} vcase;
/* skip: -1 for cases whose secret P0 and, in a second run, P2 input (the
 * owner's view is not compared: it knows the secret); a party otherwise.
 * The reveal's receiver P1 is never compared. */

typedef struct run_arg {
    const vcase *c;
    int secret, owner; /* owner: the party that inputs the secret operand */
    view *views; /* [3] */
} run_arg;

static char model_path[256];

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Secret A: zeros; secret B: |v| < 2^(bits-1), both signs, varied. */
static void secret_words(uint64_t *x, size_t n, int secret, int bits, uint64_t salt)
{
    for (size_t i = 0; i < n; i++) {
        if (!secret) {
            x[i] = 0;
            continue;
        }
        uint64_t r = mix(i * 2 + salt);
        uint64_t mag = bits >= 64 ? r : (r >> (65 - bits)) | (1ULL << (bits - 3));
        x[i] = bits >= 64 ? mag : (r & 1 ? mag : (uint64_t)0 - mag);
    }
}

/* The planted input step over this test's own mask stream. */
static mpct_status planted(mpct_ctx_t *ctx, const uint64_t *x, int variant)
{
    const int me = mpct_ctx_party(ctx);
    mpct_net_t *net = mpct_ctx_net(ctx);
    static uint64_t m[2][NE], got[2][NE];
    if (me == 0) {
        uint8_t key[MPCT_PRF_KEY_BYTES];
        mpct_prf_t *prf = NULL;
        MPCT_CALL(mpct_prf_random_key(key));
        MPCT_CALL(mpct_prf_init(&prf, key, 1));
        mpct_status st = mpct_prf_fill_at(prf, 0, m[0], NE);
        st = st ? st : mpct_prf_fill_at(prf, variant == 3 ? 0 : NE, m[1], NE);
        mpct_prf_free(prf);
        MPCT_CALL(st);
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < NE; i++) {
                uint64_t r = variant == 2 ? m[k][i & ~(size_t)1] : m[k][i];
                if (variant == 1)
                    r &= (1ULL << 56) - 1;
                m[k][i] = (k ? 3 * x[i] + 1 : x[i]) + r;
            }
    }
    for (int k = 0; k < 2; k++) {
        mpct_net_msg msg = {0};
        if (me == 0)
            msg.to_next = m[k], msg.to_next_bytes = sizeof m[k];
        if (me == 1)
            msg.from_prev = got[k], msg.from_prev_bytes = sizeof got[k];
        MPCT_CALL(mpct_net_round(net, &msg));
    }
    return MPCT_OK;
}

/* The tiny model's forward pass on secret token ids: the input of the
 * one-hot rows and the pass are recorded, then the output's shares. */
static int forward_case(mpct_ctx_t *ctx, int secret)
{
    int fails = 0;
    enum { B = 4, T = 16 };
    const int me = mpct_ctx_party(ctx), owner = 0, client = 1;
    mpct_model_file *f = NULL;
    if (me == owner)
        CHECK_OK(mpct_model_file_open(model_path, &f));
    mpct_smodel_info info;
    mpct_smodel *m = NULL;
    CHECK_OK(mpct_smodel_share_info(ctx, owner, f, &info));
    CHECK_OK(mpct_smodel_share(ctx, owner, f, &info, &m, NULL, NULL));
    mpct_model_file_close(f);
    if (fails)
        return fails;
    const int V = (int)info.cfg.vocab_size;
    int32_t ids[B * T], cnt[B];
    for (int i = 0; i < B * T; i++)
        ids[i] = secret ? (int)(mix((uint64_t)i + 99) % (uint64_t)(V - 1)) + 1 : 1;
    for (int b = 0; b < B; b++)
        cnt[b] = T;
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0};
    mpct_smodel_work *w = NULL;
    CHECK_OK(mpct_smodel_work_new(&w));
    mpct_ctx_set_stream(ctx, 2);
    rec_on(ctx, 1);
    CHECK_OK(mpct_smodel_input(ctx, client, &info, me == client ? ids : NULL, T, me == client ? cnt : NULL, B, T, &OH,
                               &MK, &IN));
    CHECK_OK(mpct_smodel_forward(ctx, m, w, &OH, &MK, &IN, B, T, &E, NULL));
    rec_on(ctx, 0);
    if (!fails)
        rec_share(ctx, &E);
    mpct_smodel_work_free(w);
    mpct_share_free(&OH);
    mpct_share_free(&MK);
    mpct_share_free(&IN);
    mpct_share_free(&E);
    mpct_smodel_free(m);
    return fails;
}

static int case_body(mpct_ctx_t *ctx, void *arg)
{
    const run_arg *ra = arg;
    const vcase *c = ra->c;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    rec_of(ctx)->v = &ra->views[me];
    if (c->kind == C_FORWARD)
        return forward_case(ctx, ra->secret);
    static uint64_t xs[3][NE], ys[3][NE]; /* per party: only the owners' rows are read */
    uint64_t *x = xs[me], *y = ys[me];
    secret_words(x, NE, ra->secret, c->bits, 1);
    secret_words(y, NE, 1, c->bits, 2); /* the second operand (P1's) is the same under both secrets */
    if (c->kind == C_PLANT) {
        rec_on(ctx, 1);
        CHECK_OK(planted(ctx, x, c->variant)); /* P0 sends to P1 */
        rec_on(ctx, 0);
        return fails;
    }
    mpct_share X = {0}, Y = {0}, Z = {0}, O = {0};
    mpct_shape sh = mpct_shape_1d(NE);
    if (c->kind == C_MATMUL_FXP)
        sh = mpct_shape_2d(64, 128);
    CHECK_OK(mpct_share_init(&X, sh));
    mpct_ctx_set_stream(ctx, 2);
    if (c->kind == C_INPUT) {
        rec_on(ctx, 1);
        CHECK_OK(mpct_share_input(ctx, ra->owner, me == ra->owner ? x : NULL, &X));
        rec_on(ctx, 0);
        rec_share(ctx, &X);
        goto done;
    }
    if (c->kind == C_LOOKUP) { /* one-hot rows of secret ids (client P1) x a table (owner P0) */
        enum { R = 64, V = 128, H = 64 };
        int32_t cols[R];
        for (int r = 0; r < R; r++)
            cols[r] = ra->secret ? (int)(mix((uint64_t)r) % V) : 0;
        mpct_share_free(&X);
        CHECK_OK(mpct_share_init(&X, mpct_shape_2d(R, V)));
        CHECK_OK(mpct_share_init(&Y, mpct_shape_2d(V, H)));
        static uint64_t table[V * H];
        for (size_t i = 0; i < V * H; i++)
            table[i] = (uint64_t)((int64_t)(mix(i + 7) % (1u << 24)) - (1 << 23));
        CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? table : NULL, &Y));
        CHECK_OK(mpct_share_input_onehot(ctx, 1, me == 1 ? cols : NULL, R, &X));
        mpct_share_low32 bl = {0};
        rec_on(ctx, 1);
        CHECK_OK(mpct_share_matmul_sparse_lift(ctx, 1, &X, &Y, &bl, &Z));
        rec_on(ctx, 0);
        mpct_share_low32_free(&bl);
        rec_share(ctx, &Z);
        goto done;
    }
    CHECK_OK(mpct_share_input(ctx, ra->owner, me == ra->owner ? x : NULL, &X));
    if (c->kind == C_MUL || c->kind == C_MUL_FXP || c->kind == C_SELECT || c->kind == C_MATMUL_FXP) {
        CHECK_OK(mpct_share_init(&Y, c->kind == C_MATMUL_FXP ? mpct_shape_2d(128, 64) : sh));
        CHECK_OK(mpct_share_input(ctx, 1, me == 1 ? y : NULL, &Y));
    }
    if (c->kind == C_B2A || c->kind == C_SELECT) { /* a secret bit first, not recorded */
        CHECK_OK(c->kind == C_B2A ? mpct_share_msb(ctx, &X, &Z) : mpct_share_ltz(ctx, &X, &Z));
    }
    if (fails)
        goto done;
    rec_on(ctx, 1);
    switch (c->kind) {
    case C_REVEAL: {
        static uint64_t out[3][NE];
        CHECK_OK(mpct_share_reveal(ctx, &X, 1, me == 1 ? out[me] : NULL));
        break;
    }
    case C_MUL: CHECK_OK(mpct_share_mul(ctx, &X, &Y, &O)); break;
    case C_MUL_FXP: CHECK_OK(mpct_share_mul_fxp(ctx, &X, &Y, &O)); break;
    case C_MATMUL_FXP: CHECK_OK(mpct_share_matmul_fxp(ctx, &X, &Y, &O)); break;
    case C_TRUNC:
    case C_TRUNC_PROB: CHECK_OK(mpct_share_trunc(ctx, &X, 16, &O)); break;
    case C_MSB: CHECK_OK(mpct_share_msb(ctx, &X, &O)); break;
    case C_LTZ: CHECK_OK(mpct_share_ltz(ctx, &X, &O)); break;
    case C_MSB32: CHECK_OK(mpct_share_msb_w(ctx, &X, 32, &O)); break;
    case C_LTZ32: CHECK_OK(mpct_share_ltz_w(ctx, &X, 32, &O)); break;
    case C_LTZ_WIN: CHECK_OK(mpct_share_ltz_win(ctx, &X, 16, 12, &O)); break;
    case C_B2A: CHECK_OK(mpct_share_b2a(ctx, &Z, &O)); break;
    case C_SELECT: CHECK_OK(mpct_share_select(ctx, &Z, &X, &Y, &O)); break;
    case C_RELU: CHECK_OK(mpct_share_relu(ctx, &X, &O)); break;
    default: CHECK(0, "unknown case %d", c->kind);
    }
    rec_on(ctx, 0);
    if (c->kind != C_REVEAL)
        rec_share(ctx, &O);
done:
    mpct_share_free(&X);
    mpct_share_free(&Y);
    mpct_share_free(&Z);
    mpct_share_free(&O);
    return fails;
}

typedef struct thr {
    mpct_net_t *net;
    mpct_ctx_config cfg;
    run_arg *ra;
    int fails;
} thr;

static void *thr_main(void *p)
{
    thr *t = p;
    mpct_ctx_t *ctx = NULL;
    if (mpct_ctx_init(&ctx, t->net, &t->cfg) != MPCT_OK) {
        fprintf(stderr, "party %d: context init failed: %s\n", mpct_net_party(t->net), mpct_error_msg());
        t->fails = 1;
        return NULL;
    }
    t->fails = case_body(ctx, t->ra);
    mpct_ctx_free(ctx);
    return NULL;
}

/* One case under one secret, fresh keys, every party's view into views[3]. */
static int run_case(const vcase *c, int secret, int owner, view views[3])
{
    mpct_net_t *inner[3], *nets[3];
    if (mpct_net_init_local(inner, 60) != MPCT_OK)
        return 1;
    for (int p = 0; p < 3; p++) {
        rec_net *r = calloc(1, sizeof *r);
        r->inner = inner[p];
        nets[p] = mpct_net_alloc(&rec_ops, r, p, 60);
    }
    run_arg ra = {c, secret, owner, views};
    thr t[3];
    pthread_t tid[3];
    for (int p = 0; p < 3; p++) {
        t[p] = (thr){nets[p], mpct_ctx_config_default(), &ra, 0};
        t[p].cfg.trunc_probabilistic = c->kind == C_TRUNC_PROB;
        pthread_create(&tid[p], NULL, thr_main, &t[p]);
    }
    int fails = 0;
    for (int p = 0; p < 3; p++) {
        pthread_join(tid[p], NULL);
        fails += t[p].fails;
    }
    for (int p = 0; p < 3; p++)
        mpct_net_free(nets[p]);
    return fails;
}

/* Failed tests over the parties' views of case c with the secret input by
 * owner (-1: the case did not run). */
static int view_test(const vcase *c, int owner)
{
    view v[2][3];
    memset(v, 0, sizeof v);
    int bad = 0;
    worst = 0;
    if (run_case(c, 0, owner, v[0]) || run_case(c, 1, owner, v[1]))
        bad = -1;
    size_t bytes = 0;
    for (int p = 0; p < 3 && bad >= 0; p++) {
        bytes += v[0][p].len;
        if (p != owner && p != c->skip && !(c->kind == C_REVEAL && p == 1))
            bad += compare_views(c->name, p, &v[0][p], &v[1][p]);
    }
    if (bad >= 0)
        printf("%-36s secret of P%d: %9zu bytes viewed, largest statistic %.2f of its threshold%s\n", c->name,
               owner, bytes, worst, bad ? ": DIFFERENT" : "");
    for (int s = 0; s < 2; s++)
        for (int p = 0; p < 3; p++)
            view_free(&v[s][p]);
    return bad;
}

int main(void)
{
    int fails = 0;
    snprintf(model_path, sizeof model_path, "/tmp/mpct_test_view_%d.h5", (int)getpid());
    if (mpct_io_write_synthetic(model_path, "tiny", NULL, 2, 16, 0, 5, NULL) != MPCT_OK) {
        fprintf(stderr, "cannot write the tiny model: %s\n", mpct_error_msg());
        return 1;
    }
    static const vcase cases[] = {
        {"input", C_INPUT, 64, -1, 0},
        {"reveal to P1", C_REVEAL, 64, -1, 0},
        {"mul", C_MUL, 30, -1, 0},
        {"mul + truncation (fused)", C_MUL_FXP, 30, -1, 0},
        {"matmul + truncation (fused)", C_MATMUL_FXP, 24, -1, 0},
        {"truncation (exact)", C_TRUNC, 61, -1, 0},
        {"truncation (probabilistic)", C_TRUNC_PROB, 40, -1, 0},
        {"msb", C_MSB, 64, -1, 0},
        {"ltz", C_LTZ, 64, -1, 0},
        {"msb on 32-bit shares", C_MSB32, 31, -1, 0},
        {"ltz on 32-bit shares", C_LTZ32, 31, -1, 0},
        {"windowed ltz (16 bits from bit 12)", C_LTZ_WIN, 27, -1, 0},
        {"b2a", C_B2A, 64, -1, 0},
        {"select", C_SELECT, 40, -1, 0},
        {"relu", C_RELU, 40, -1, 0},
        {"embedding lookup (32-bit lift)", C_LOOKUP, 64, 1, 0},
        {"tiny model forward pass", C_FORWARD, 64, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int owner = 0; owner <= 2; owner += 2) {
            if (cases[i].skip >= 0 && owner)
                break;
            int bad = view_test(&cases[i], cases[i].skip >= 0 ? cases[i].skip : owner);
            CHECK(bad == 0, "%s, secret of P%d: %s", cases[i].name, owner,
                  bad < 0 ? "did not run" : "a party's view depends on the secret");
        }
    }
    /* the controls: the same tests see each planted bug */
    static const vcase plants[] = {
        {"planted input, correct mask", C_PLANT, 64, -1, 0},
        {"planted input, 56-bit mask", C_PLANT, 64, -1, 1},
        {"planted input, mask on neighbours", C_PLANT, 64, -1, 2},
        {"planted input, stream position reused", C_PLANT, 64, -1, 3},
    };
    for (size_t i = 0; i < sizeof plants / sizeof *plants; i++) {
        int bad = view_test(&plants[i], 0);
        if (plants[i].variant == 0)
            CHECK(bad == 0, "control '%s': %s", plants[i].name, bad < 0 ? "did not run" : "flagged");
        else
            CHECK(bad > 0, "control '%s': %s", plants[i].name, bad < 0 ? "did not run" : "not detected");
    }
    unlink(model_path);
    return mpct_check_done("test_view");
}
