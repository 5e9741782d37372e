/*
 * ref.c — plaintext float64 reference forward pass of a BERT encoder
 * (see mpct_model.h for the graph). Deliberately simple loops: this is the
 * oracle, not the fast path. Weights are held dequantized as double and
 * wiped when freed (plaintext weights are the model owner's secret).
 *
 * Uses mpct_io and mpct_core.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"

typedef struct ref_tensor {
    double *v;
    size_t n;
} ref_tensor;

enum { REF_POOL_MEAN, REF_POOL_CLS, REF_POOL_POOLER };

typedef struct ref_layer {
    ref_tensor qw, qb, kw, kb, vw, vb, ow, ob, ln1g, ln1b, upw, upb, downw, downb, ln2g, ln2b;
} ref_layer;

struct mpct_ref_model {
    mpct_model_config cfg;
    ref_tensor word, pos, type, ln0g, ln0b, poolw, poolb, clsw, clsb;
    int pooling; /* REF_POOL_* */
    ref_layer *layers;
};

static void ref_tensor_free(ref_tensor *t)
{
    mpct_free_secret(t->v);
    t->v = NULL;
    t->n = 0;
}

void mpct_ref_free(mpct_ref_model *m)
{
    if (!m) return;
    ref_tensor_free(&m->word);
    ref_tensor_free(&m->pos);
    ref_tensor_free(&m->type);
    ref_tensor_free(&m->ln0g);
    ref_tensor_free(&m->ln0b);
    ref_tensor_free(&m->poolw);
    ref_tensor_free(&m->poolb);
    ref_tensor_free(&m->clsw);
    ref_tensor_free(&m->clsb);
    if (m->layers) {
        for (int64_t l = 0; l < m->cfg.num_layers; l++) {
            ref_tensor *t = (ref_tensor *)&m->layers[l];
            for (size_t i = 0; i < sizeof(ref_layer) / sizeof(ref_tensor); i++) ref_tensor_free(&t[i]);
        }
        free(m->layers);
    }
    free(m);
}

const mpct_model_config *mpct_ref_config(const mpct_ref_model *m) { return &m->cfg; }

static mpct_status ref_read(const mpct_model_file *f, const char *name, ref_tensor *t)
{
    mpct_io_tensor_info in;
    MPCT_CALL(mpct_model_file_tensor_info(f, name, &in));
    t->n = in.desc.dim[0] * in.desc.dim[1];
    t->v = mpct_alloc(t->n * sizeof(double));
    if (!t->v) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for tensor '%s' (%zu values)", name, t->n);
    MPCT_CALL(mpct_model_file_read_f64(f, name, t->v, t->n));
    return MPCT_OK;
}

static mpct_status ref_load_all(mpct_ref_model *m, const mpct_model_file *f)
{
    MPCT_CALL(ref_read(f, "/weights/embeddings/word", &m->word));
    MPCT_CALL(ref_read(f, "/weights/embeddings/position", &m->pos));
    MPCT_CALL(ref_read(f, "/weights/embeddings/token_type", &m->type));
    MPCT_CALL(ref_read(f, "/weights/embeddings/ln/gamma", &m->ln0g));
    MPCT_CALL(ref_read(f, "/weights/embeddings/ln/beta", &m->ln0b));
    static const char *suffix[16] = {
        "attention/q/weight", "attention/q/bias", "attention/k/weight", "attention/k/bias",
        "attention/v/weight", "attention/v/bias", "attention/o/weight", "attention/o/bias",
        "attention/ln/gamma", "attention/ln/beta", "ffn/up/weight",    "ffn/up/bias",
        "ffn/down/weight",    "ffn/down/bias",    "ffn/ln/gamma",      "ffn/ln/beta",
    };
    for (int64_t l = 0; l < m->cfg.num_layers; l++) {
        ref_tensor *t = (ref_tensor *)&m->layers[l];
        for (int i = 0; i < 16; i++) {
            char name[MPCT_IO_NAME_MAX];
            mpct_io_name_layer(name, l, suffix[i]);
            MPCT_CALL(ref_read(f, name, &t[i]));
        }
    }
    m->pooling = !strcmp(m->cfg.pooling, "pooler") ? REF_POOL_POOLER
                 : !strcmp(m->cfg.pooling, "cls")  ? REF_POOL_CLS
                                                   : REF_POOL_MEAN;
    if (m->pooling == REF_POOL_POOLER) {
        MPCT_CALL(ref_read(f, "/weights/pooler/weight", &m->poolw));
        MPCT_CALL(ref_read(f, "/weights/pooler/bias", &m->poolb));
    }
    if (m->cfg.num_labels > 0) {
        MPCT_CALL(ref_read(f, "/weights/classifier/weight", &m->clsw));
        MPCT_CALL(ref_read(f, "/weights/classifier/bias", &m->clsb));
    }
    return MPCT_OK;
}

mpct_status mpct_ref_load(const char *path, mpct_ref_model **out)
{
    *out = NULL;
    mpct_model_file *f = NULL;
    MPCT_CALL(mpct_model_file_open(path, &f));
    mpct_ref_model *m = calloc(1, sizeof *m);
    if (!m) {
        mpct_model_file_close(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    m->cfg = *mpct_model_file_config(f);
    m->layers = calloc((size_t)m->cfg.num_layers, sizeof *m->layers);
    mpct_status st = m->layers ? ref_load_all(m, f) : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    mpct_model_file_close(f);
    if (st != MPCT_OK) {
        mpct_ref_free(m);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    *out = m;
    return MPCT_OK;
}

double mpct_ref_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

/* y[t x n] = x[t x k] W^T + b, with W stored [n x k] (out x in). */
static void ref_linear(const double *x, size_t t, size_t k, const ref_tensor *w, const ref_tensor *b, size_t n,
                       double *y)
{
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < n; j++) {
            double s = b->v[j];
            const double *wr = w->v + j * k, *xr = x + i * k;
            for (size_t c = 0; c < k; c++) s += xr[c] * wr[c];
            y[i * n + j] = s;
        }
}

/* In place over t rows of h: (x - mean) / sqrt(var + eps) * g + b. */
static void ref_layernorm(double *x, size_t t, size_t h, const ref_tensor *g, const ref_tensor *b, double eps)
{
    for (size_t i = 0; i < t; i++) {
        double *r = x + i * h, mu = 0, var = 0;
        for (size_t c = 0; c < h; c++) mu += r[c];
        mu /= (double)h;
        for (size_t c = 0; c < h; c++) var += (r[c] - mu) * (r[c] - mu);
        var /= (double)h;
        double inv = 1.0 / sqrt(var + eps);
        for (size_t c = 0; c < h; c++) r[c] = (r[c] - mu) * inv * g->v[c] + b->v[c];
    }
}

/* One sequence of t tokens; x [t x h] holds the embeddings on entry and
 * the encoder output on exit. ws: workspace of 4*t*h + t*ffn + t doubles. */
static void ref_encoder(const mpct_ref_model *m, const int32_t *mask, size_t t, double *x, double *ws)
{
    const mpct_model_config *c = &m->cfg;
    size_t h = (size_t)c->hidden, f = (size_t)c->ffn, nh = (size_t)c->heads, dh = h / nh;
    double *q = ws, *k = q + t * h, *v = k + t * h, *ctx = v + t * h, *u = ctx + t * h, *p = u + t * f;
    double scale = 1.0 / sqrt((double)dh);
    for (int64_t l = 0; l < c->num_layers; l++) {
        const ref_layer *L = &m->layers[l];
        ref_linear(x, t, h, &L->qw, &L->qb, h, q);
        ref_linear(x, t, h, &L->kw, &L->kb, h, k);
        ref_linear(x, t, h, &L->vw, &L->vb, h, v);
        for (size_t hd = 0; hd < nh; hd++) {
            size_t o = hd * dh;
            for (size_t i = 0; i < t; i++) {
                double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < t; j++) {
                    if (!mask[j]) continue; /* padding key: excluded */
                    double s = 0;
                    for (size_t e = 0; e < dh; e++) s += q[i * h + o + e] * k[j * h + o + e];
                    p[j] = s * scale;
                    if (p[j] > mx) mx = p[j];
                }
                for (size_t j = 0; j < t; j++) {
                    p[j] = mask[j] ? exp(p[j] - mx) : 0.0;
                    sum += p[j];
                }
                for (size_t e = 0; e < dh; e++) {
                    double s = 0;
                    for (size_t j = 0; j < t; j++) s += p[j] * v[j * h + o + e];
                    ctx[i * h + o + e] = s / sum;
                }
            }
        }
        ref_linear(ctx, t, h, &L->ow, &L->ob, h, q); /* q reused as attention output */
        for (size_t i = 0; i < t * h; i++) x[i] += q[i];
        ref_layernorm(x, t, h, &L->ln1g, &L->ln1b, c->layer_norm_eps);
        ref_linear(x, t, h, &L->upw, &L->upb, f, u);
        for (size_t i = 0; i < t * f; i++) u[i] = mpct_ref_gelu(u[i]);
        ref_linear(u, t, f, &L->downw, &L->downb, h, q);
        for (size_t i = 0; i < t * h; i++) x[i] += q[i];
        ref_layernorm(x, t, h, &L->ln2g, &L->ln2b, c->layer_norm_eps);
    }
}

mpct_status mpct_ref_forward(const mpct_ref_model *m, const int32_t *ids, const int32_t *mask, size_t b, size_t t,
                             double *emb, double *logits)
{
    const mpct_model_config *c = &m->cfg;
    size_t h = (size_t)c->hidden, f = (size_t)c->ffn;
    if (t == 0 || t > (size_t)c->max_positions)
        return mpct_error_set(MPCT_ERR_RANGE, "sequence length %zu out of range 1..%lld (max_positions)", t,
                              (long long)c->max_positions);
    for (size_t r = 0; r < b; r++) {
        size_t real = 0;
        for (size_t i = 0; i < t; i++) {
            int32_t id = ids[r * t + i], mk = mask[r * t + i];
            if (mk != 0 && mk != 1)
                return mpct_error_set(MPCT_ERR_ARG, "row %zu, token %zu: attention mask %d is not 0 or 1", r, i, mk);
            if (mk && (id < 0 || id >= c->vocab_size))
                return mpct_error_set(MPCT_ERR_RANGE, "row %zu, token %zu: token id %d out of range 0..%lld", r, i, id,
                                      (long long)c->vocab_size - 1);
            real += (size_t)mk;
        }
        if (real == 0) return mpct_error_set(MPCT_ERR_ARG, "row %zu: attention mask has no real token", r);
    }
    double *x = mpct_alloc(t * h * sizeof(double));
    size_t wsn = 4 * t * h + t * f + t;
    double *ws = mpct_alloc(wsn * sizeof(double));
    if (!x || !ws) {
        mpct_free(x);
        mpct_free(ws);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a %zu-token forward pass", t);
    }
    for (size_t r = 0; r < b; r++) {
        const int32_t *id = ids + r * t, *mk = mask + r * t;
        for (size_t i = 0; i < t; i++) {
            size_t w = mk[i] ? (size_t)id[i] : 0; /* padding rows: any valid id */
            for (size_t e = 0; e < h; e++)
                x[i * h + e] = m->word.v[w * h + e] + m->pos.v[i * h + e] + m->type.v[e];
        }
        ref_layernorm(x, t, h, &m->ln0g, &m->ln0b, c->layer_norm_eps);
        ref_encoder(m, mk, t, x, ws);
        double *e = emb + r * h, cnt = 0, nrm = 0;
        if (m->pooling == REF_POOL_MEAN) {
            for (size_t j = 0; j < h; j++) e[j] = 0;
            for (size_t i = 0; i < t; i++) {
                if (!mk[i]) continue;
                cnt += 1;
                for (size_t j = 0; j < h; j++) e[j] += x[i * h + j];
            }
            for (size_t j = 0; j < h; j++) e[j] /= cnt;
        } else if (m->pooling == REF_POOL_CLS) {
            memcpy(e, x, h * sizeof *e); /* token 0: [CLS] */
        } else {
            ref_linear(x, 1, h, &m->poolw, &m->poolb, h, e);
            for (size_t j = 0; j < h; j++) e[j] = tanh(e[j]);
        }
        if (c->normalize) {
            for (size_t j = 0; j < h; j++) nrm += e[j] * e[j];
            nrm = sqrt(nrm);
            if (nrm < 1e-12) nrm = 1e-12; /* as torch.nn.functional.normalize */
            for (size_t j = 0; j < h; j++) e[j] /= nrm;
        }
        if (logits && c->num_labels > 0) {
            ref_linear(e, 1, h, &m->clsw, &m->clsb, (size_t)c->num_labels, logits + r * (size_t)c->num_labels);
        }
    }
    mpct_free_secret(x);
    mpct_free_secret(ws);
    return MPCT_OK;
}
