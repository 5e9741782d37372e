/*
 * ref_decoder.c — plaintext float64 reference of the decoders (GPT-2,
 * LLaMA; mpct_model.h gives the graph): a forward pass over new tokens
 * that appends their keys and values to a KV cache, the logits of the last
 * (or every) new position over the whole vocabulary, and greedy generation.
 *
 * Invariants: the cache holds, per layer, the keys (after RoPE) and values
 * of positions 0 .. len-1; a pass over n new tokens computes each row
 * independently (linear layers, norms) and each query attends to cache
 * rows 0 .. its position in increasing order, so a prefill followed by
 * single-token steps gives bit-identical logits to one pass over the whole
 * sequence. Plaintext weights, activations and the cache are wiped when
 * freed.
 *
 * Uses mpct_io (the model through ref.c) and mpct_core.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref-impl.h"

struct mpct_ref_kv {
    size_t cap, len, layers, kvdim;
    double *k, *v; /* [layers x cap x kvdim] */
};

mpct_status mpct_ref_kv_new(const mpct_ref_model *m, size_t cap, mpct_ref_kv **out)
{
    *out = NULL;
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder: it has no KV cache",
                              m->cfg.architecture);
    if (cap == 0 || cap > (size_t)m->cfg.max_positions)
        return mpct_error_set(MPCT_ERR_RANGE, "KV cache of %zu positions, expected 1..%lld (max_positions)", cap,
                              (long long)m->cfg.max_positions);
    mpct_ref_kv *kv = calloc(1, sizeof *kv);
    if (!kv) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    kv->cap = cap;
    kv->layers = (size_t)m->cfg.num_layers;
    kv->kvdim = (size_t)(m->cfg.kv_heads * m->cfg.head_dim);
    const size_t n = kv->layers * cap * kv->kvdim;
    kv->k = mpct_alloc(n * sizeof(double) + 1);
    kv->v = mpct_alloc(n * sizeof(double) + 1);
    if (!kv->k || !kv->v) {
        mpct_ref_kv_free(kv);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a KV cache of %zu positions", cap);
    }
    *out = kv;
    return MPCT_OK;
}

void mpct_ref_kv_free(mpct_ref_kv *kv)
{
    if (!kv) return;
    mpct_free_secret(kv->k);
    mpct_free_secret(kv->v);
    free(kv);
}

size_t mpct_ref_kv_len(const mpct_ref_kv *kv) { return kv->len; }
void mpct_ref_kv_reset(mpct_ref_kv *kv) { kv->len = 0; }

double mpct_ref_gelu_tanh(double x)
{
    const double c = 0.7978845608028654; /* sqrt(2 / pi) */
    return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)));
}

double mpct_ref_silu(double x) { return x / (1.0 + exp(-x)); }

/* In place over t rows of h: x / sqrt(mean(x^2) + eps) * g (LLaMA's RMSNorm). */
static void dec_rmsnorm(double *x, size_t t, size_t h, const ref_tensor *g, double eps)
{
    for (size_t i = 0; i < t; i++) {
        double *r = x + i * h, ss = 0;
        for (size_t c = 0; c < h; c++) ss += r[c] * r[c];
        const double inv = 1.0 / sqrt(ss / (double)h + eps);
        for (size_t c = 0; c < h; c++) r[c] = r[c] * inv * g->v[c];
    }
}

static void dec_norm(const mpct_ref_model *m, double *x, size_t t, const ref_tensor *g, const ref_tensor *b)
{
    const size_t h = (size_t)m->cfg.hidden;
    if (m->g.norm == MPCT_MD_RMSNORM_PRE) dec_rmsnorm(x, t, h, g, m->g.eps);
    else ref_layernorm(x, t, h, g, b, m->g.eps);
}

/* RoPE in Hugging Face's rotate_half layout on t rows of nh heads of d:
 * dimension i pairs with i + d/2, angle pos * theta^(-2i/d). */
static void dec_rope(double *x, size_t t, size_t nh, size_t d, size_t pos0, double theta)
{
    const size_t half = d / 2;
    for (size_t i = 0; i < t; i++)
        for (size_t e = 0; e < half; e++) {
            const double a = (double)(pos0 + i) * (1.0 / pow(theta, (double)(2 * e) / (double)d));
            const double cs = cos(a), sn = sin(a);
            for (size_t hd = 0; hd < nh; hd++) {
                double *r = x + (i * nh + hd) * d;
                const double x0 = r[e], x1 = r[e + half];
                r[e] = x0 * cs - x1 * sn;
                r[e + half] = x1 * cs + x0 * sn;
            }
        }
}

/* Causal attention of t new queries (positions pos0 ..) over cache rows
 * 0 .. position, grouped-query: head hd reads key/value head hd / (nh / nkv). */
static void dec_attend(const mpct_ref_model *m, const double *q, const double *K, const double *V, size_t t,
                       size_t pos0, double *ctx, double *p)
{
    const size_t nh = m->g.heads, nkv = m->g.kv_heads, d = m->g.d_head, qd = nh * d, kd = nkv * d;
    for (size_t hd = 0; hd < nh; hd++) {
        const size_t g = hd / (nh / nkv);
        for (size_t i = 0; i < t; i++) {
            const size_t last = pos0 + i;
            double mx = -INFINITY, sum = 0;
            for (size_t j = 0; j <= last; j++) {
                double s = 0;
                for (size_t e = 0; e < d; e++) s += q[i * qd + hd * d + e] * K[j * kd + g * d + e];
                p[j] = s * m->g.attn_scale;
                if (p[j] > mx) mx = p[j];
            }
            for (size_t j = 0; j <= last; j++) {
                p[j] = exp(p[j] - mx);
                sum += p[j];
            }
            for (size_t e = 0; e < d; e++) {
                double s = 0;
                for (size_t j = 0; j <= last; j++) s += p[j] * V[j * kd + g * d + e];
                ctx[i * qd + hd * d + e] = s / sum;
            }
        }
    }
}

/* The work space of a pass over t tokens with a cache of cap positions. */
typedef struct dec_ws {
    double *x, *u, *q, *k, *v, *ctx, *a, *f1, *f2, *p;
} dec_ws;

static mpct_status dec_ws_new(const mpct_ref_model *m, size_t t, size_t cap, dec_ws *w, double **block)
{
    const size_t h = (size_t)m->cfg.hidden, f = (size_t)m->cfg.ffn, qd = m->g.heads * m->g.d_head,
                 kd = m->g.kv_heads * m->g.d_head;
    const size_t n = 3 * t * h + 2 * t * qd + 2 * t * kd + 2 * t * f + cap;
    double *b = mpct_alloc(n * sizeof(double) + 1);
    if (!b) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a %zu-token decoder pass", t);
    w->x = b, w->u = w->x + t * h, w->a = w->u + t * h, w->q = w->a + t * h, w->ctx = w->q + t * qd;
    w->k = w->ctx + t * qd, w->v = w->k + t * kd, w->f1 = w->v + t * kd, w->f2 = w->f1 + t * f;
    w->p = w->f2 + t * f;
    *block = b;
    return MPCT_OK;
}

/* One layer over t new tokens at positions pos0 ..; appends to the cache. */
static void dec_layer(const mpct_ref_model *m, mpct_ref_kv *kv, int64_t l, size_t t, size_t pos0, dec_ws *w)
{
    const size_t h = (size_t)m->cfg.hidden, f = (size_t)m->cfg.ffn, d = m->g.d_head, qd = m->g.heads * d,
                 kd = m->g.kv_heads * d;
#define L_(id) ref_lt(m, l, MPCT_DEC_##id)
    memcpy(w->u, w->x, t * h * sizeof(double));
    dec_norm(m, w->u, t, L_(LN1_G), L_(LN1_B));
    ref_linear(w->u, t, h, L_(Q_W), L_(Q_B), qd, w->q);
    ref_linear(w->u, t, h, L_(K_W), L_(K_B), kd, w->k);
    ref_linear(w->u, t, h, L_(V_W), L_(V_B), kd, w->v);
    if (m->g.positions == MPCT_MD_POS_ROTARY) {
        dec_rope(w->q, t, m->g.heads, d, pos0, m->g.rope_theta);
        dec_rope(w->k, t, m->g.kv_heads, d, pos0, m->g.rope_theta);
    }
    double *K = kv->k + (size_t)l * kv->cap * kd, *V = kv->v + (size_t)l * kv->cap * kd;
    memcpy(K + pos0 * kd, w->k, t * kd * sizeof(double));
    memcpy(V + pos0 * kd, w->v, t * kd * sizeof(double));
    dec_attend(m, w->q, K, V, t, pos0, w->ctx, w->p);
    ref_linear(w->ctx, t, qd, L_(O_W), L_(O_B), h, w->a);
    for (size_t i = 0; i < t * h; i++) w->x[i] += w->a[i];
    memcpy(w->u, w->x, t * h * sizeof(double));
    dec_norm(m, w->u, t, L_(LN2_G), L_(LN2_B));
    ref_linear(w->u, t, h, L_(UP_W), L_(UP_B), f, w->f1);
    if (m->g.activation == MPCT_MD_SILU_GATED) {
        ref_linear(w->u, t, h, L_(GATE_W), NULL, f, w->f2);
        for (size_t i = 0; i < t * f; i++) w->f1[i] *= mpct_ref_silu(w->f2[i]);
    } else {
        for (size_t i = 0; i < t * f; i++) w->f1[i] = mpct_ref_gelu_tanh(w->f1[i]);
    }
    ref_linear(w->f1, t, f, L_(DOWN_W), L_(DOWN_B), h, w->a);
    for (size_t i = 0; i < t * h; i++) w->x[i] += w->a[i];
#undef L_
}

/* Checks the new tokens against the vocabulary and the cache's room. */
static mpct_status dec_check(const mpct_ref_model *m, const mpct_ref_kv *kv, const int32_t *ids, size_t n)
{
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder, not a decoder",
                              m->cfg.architecture);
    if (n == 0) return mpct_error_set(MPCT_ERR_ARG, "a decoder pass needs at least one token");
    if (kv->layers != (size_t)m->cfg.num_layers || kv->kvdim != m->g.kv_heads * m->g.d_head)
        return mpct_error_set(MPCT_ERR_ARG, "the KV cache was made for another model");
    if (n > kv->cap - kv->len)
        return mpct_error_set(MPCT_ERR_RANGE, "%zu new tokens after %zu overflow the KV cache of %zu positions", n,
                              kv->len, kv->cap);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return mpct_error_set(MPCT_ERR_RANGE, "token %zu: id %d out of range 0..%lld", i, ids[i],
                                  (long long)m->cfg.vocab_size - 1);
    return MPCT_OK;
}

static mpct_status dec_pass(const mpct_ref_model *m, mpct_ref_kv *kv, const int32_t *ids, size_t n, int all,
                            double *logits)
{
    MPCT_CALL(dec_check(m, kv, ids, n));
    const size_t h = (size_t)m->cfg.hidden, pos0 = kv->len, V = (size_t)m->cfg.vocab_size;
    dec_ws w;
    double *block;
    MPCT_CALL(dec_ws_new(m, n, kv->cap, &w, &block));
    const ref_tensor *word = ref_t(m, MPCT_DEC_WORD), *pos = ref_t(m, MPCT_DEC_POSITION);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < h; e++)
            w.x[i * h + e] = word->v[(size_t)ids[i] * h + e] + (pos->v ? pos->v[(pos0 + i) * h + e] : 0.0);
    for (int64_t l = 0; l < m->cfg.num_layers; l++) dec_layer(m, kv, l, n, pos0, &w);
    kv->len += n;
    const size_t first = all ? 0 : n - 1, rows = n - first;
    double *xf = w.x + first * h;
    dec_norm(m, xf, rows, ref_t(m, MPCT_DEC_NORM_G), ref_t(m, MPCT_DEC_NORM_B));
    ref_linear(xf, rows, h, m->g.tied ? word : ref_t(m, MPCT_DEC_HEAD_W), NULL, V, logits);
    mpct_free_secret(block);
    return MPCT_OK;
}

mpct_status mpct_ref_decode(const mpct_ref_model *m, mpct_ref_kv *kv, const int32_t *ids, size_t n, double *logits)
{
    return dec_pass(m, kv, ids, n, 0, logits);
}

mpct_status mpct_ref_decode_all(const mpct_ref_model *m, mpct_ref_kv *kv, const int32_t *ids, size_t n,
                                double *logits)
{
    return dec_pass(m, kv, ids, n, 1, logits);
}

int32_t mpct_ref_argmax(const double *logits, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i; /* the first of equal maxima, as torch.argmax */
    return (int32_t)best;
}

mpct_status mpct_ref_generate(const mpct_ref_model *m, const int32_t *prompt, size_t n, size_t max_new,
                              const int32_t *stop, size_t nstop, int32_t *out, size_t *nout)
{
    return mpct_ref_generate_opts(m, prompt, n, max_new, stop, nstop, NULL, out, nout);
}

mpct_status mpct_ref_generate_opts(const mpct_ref_model *m, const int32_t *prompt, size_t n, size_t max_new,
                                   const int32_t *stop, size_t nstop, const mpct_ref_gen_opts *o, int32_t *out,
                                   size_t *nout)
{
    *nout = 0;
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder: it does not generate",
                              m->cfg.architecture);
    if (n == 0) return mpct_error_set(MPCT_ERR_ARG, "an empty prompt (a decoder needs at least one token)");
    if (max_new == 0) return MPCT_OK;
    if (n + max_new - 1 > (size_t)m->cfg.max_positions)
        return mpct_error_set(MPCT_ERR_RANGE, "a prompt of %zu tokens and %zu new ones exceed max_positions %lld", n,
                              max_new, (long long)m->cfg.max_positions);
    const mpct_sample_cfg *sc = o ? o->sample : NULL;
    const int sampled = sc && sc->temperature > 0;
    if (sampled && !o->u) return mpct_error_set(MPCT_ERR_ARG, "sampled generation without its draws u");
    mpct_ref_kv *kv = NULL;
    MPCT_CALL(mpct_ref_kv_new(m, n + max_new - 1, &kv));
    const size_t V = (size_t)m->cfg.vocab_size;
    double *lg = mpct_alloc(V * sizeof(double));
    mpct_status st = lg ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "out of memory for the logits");
    if (st == MPCT_OK) st = mpct_ref_decode(m, kv, prompt, n, lg);
    while (st == MPCT_OK) {
        int32_t id = 0;
        if (o && o->on_logits && (st = o->on_logits(lg, V, o->arg)) != MPCT_OK) break;
        if (sampled) {
            st = mpct_ref_sample(lg, V, sc, o->u[*nout], &id);
            if (st != MPCT_OK) break;
        } else {
            id = mpct_ref_argmax(lg, V);
        }
        out[(*nout)++] = id;
        int end = *nout == max_new;
        for (size_t s = 0; s < nstop; s++) end |= id == stop[s];
        if (end) break;
        st = mpct_ref_decode(m, kv, &id, 1, lg);
    }
    mpct_free_secret(lg);
    mpct_ref_kv_free(kv);
    return st;
}
