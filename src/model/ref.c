/*
 * ref.c — plaintext float64 reference forward pass of a BERT encoder
 * (see mpct_model.h for the graph). Deliberately simple loops: this is the
 * oracle, not the fast path. Weights are held dequantized as double and
 * wiped when freed (plaintext weights are the model owner's secret).
 *
 * Decoders (GPT-2, LLaMA) load here too; their forward pass is
 * ref_decoder.c, and mpct_ref_forward refuses them.
 *
 * The tensors come from the architecture's description
 * (mpct_model_desc.h): every tensor of the canonical table is loaded into
 * the slot of its table entry and layer, and the graph options (pooling,
 * normalisation, attention scale) are the description's; the config's
 * substitutions (ReLU or Quad for GeLU, 2Quad for softmax) replace the
 * functions, computed exactly as mpct_nonlin_sub.h's twins.
 *
 * Uses mpct_io and mpct_core.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_nonlin_sub.h"
#include "ref-impl.h"

void mpct_ref_free(mpct_ref_model *m)
{
    if (!m) return;
    for (size_t i = 0; m->t && i < m->nslots; i++) mpct_free_secret(m->t[i].v);
    free(m->t);
    free(m);
}

const mpct_model_config *mpct_ref_config(const mpct_ref_model *m) { return &m->cfg; }

size_t mpct_ref_tensor_count(const mpct_ref_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nslots; i++) n += m->t[i].v != NULL;
    return n;
}

mpct_status mpct_ref_tensor_at(const mpct_ref_model *m, size_t i, mpct_io_tensor_desc *d, size_t *n)
{
    for (size_t k = 0; k < m->nslots; k++) {
        if (!m->t[k].v || i-- > 0) continue;
        const size_t nt = m->md->ntensors;
        mpct_md_tensor_desc(m->md, &m->cfg, &m->md->tensors[k % nt], (int64_t)(k / nt) - 1, d);
        *n = m->t[k].n;
        return MPCT_OK;
    }
    return mpct_error_set(MPCT_ERR_ARG, "reference tensor index out of range (it holds %zu)", mpct_ref_tensor_count(m));
}

/* Reads every tensor of the canonical table into its slot. */
static mpct_status ref_load_all(mpct_ref_model *m, const mpct_model_file *f)
{
    const size_t nt = mpct_io_tensor_count(&m->cfg);
    for (size_t i = 0; i < nt; i++) {
        const mpct_md_tensor *e;
        int64_t layer;
        mpct_io_tensor_desc d;
        MPCT_CALL(mpct_md_tensor_locate(m->md, &m->cfg, i, &e, &layer));
        mpct_md_tensor_desc(m->md, &m->cfg, e, layer, &d);
        ref_tensor *t = &m->t[(size_t)(layer + 1) * m->md->ntensors + (size_t)e->id];
        t->n = d.dim[0] * d.dim[1];
        t->v = mpct_alloc(t->n * sizeof(double));
        if (!t->v) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for tensor '%s' (%zu values)", d.name, t->n);
        MPCT_CALL(mpct_model_file_read_f64(f, d.name, t->v, t->n));
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
    mpct_status st = mpct_md_for(&m->cfg, path, &m->md);
    if (st == MPCT_OK) st = mpct_md_graph_of(m->md, &m->cfg, path, &m->g);
    if (st == MPCT_OK) {
        m->nslots = ((size_t)m->cfg.num_layers + 1) * m->md->ntensors;
        m->t = calloc(m->nslots, sizeof *m->t);
        st = m->t ? ref_load_all(m, f) : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
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

void ref_linear(const double *x, size_t t, size_t k, const ref_tensor *w, const ref_tensor *b, size_t n,
                       double *y)
{
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < n; j++) {
            double s = b && b->v ? b->v[j] : 0.0; /* an absent bias adds nothing */
            const double *wr = w->v + j * k, *xr = x + i * k;
            for (size_t c = 0; c < k; c++) s += xr[c] * wr[c];
            y[i * n + j] = s;
        }
}

void ref_layernorm(double *x, size_t t, size_t h, const ref_tensor *g, const ref_tensor *b, double eps)
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

/* An encoder's FFN activation: GeLU (erf), or a substitution. */
static double ref_activation(mpct_md_activation a, double x)
{
    if (a == MPCT_MD_RELU) return x > 0 ? x : 0.0;
    if (a == MPCT_MD_QUAD) return mpct_nl_ref_quad(x);
    return mpct_ref_gelu(x);
}

/* One sequence of t tokens; x [t x h] holds the embeddings on entry and
 * the encoder output on exit. ws: workspace of t*(4a + h + ffn + 1)
 * doubles, a = heads * d_head the attention width (h unless heads were
 * pruned). */
static void ref_encoder(const mpct_ref_model *m, const int32_t *mask, size_t t, double *x, double *ws)
{
    const mpct_model_config *c = &m->cfg;
    size_t h = (size_t)c->hidden, f = (size_t)c->ffn, nh = m->g.heads, dh = m->g.d_head, a = nh * dh;
    double *q = ws, *k = q + t * a, *v = k + t * a, *ctx = v + t * a, *y = ctx + t * a, *u = y + t * h,
           *p = u + t * f;
    const double scale = m->g.attn_scale;
    for (int64_t l = 0; l < c->num_layers; l++) {
#define L_(id) ref_lt(m, l, MPCT_BERT_##id)
        ref_linear(x, t, h, L_(Q_W), L_(Q_B), a, q);
        ref_linear(x, t, h, L_(K_W), L_(K_B), a, k);
        ref_linear(x, t, h, L_(V_W), L_(V_B), a, v);
        for (size_t hd = 0; hd < nh; hd++) {
            size_t o = hd * dh;
            for (size_t i = 0; i < t; i++) {
                double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < t; j++) {
                    if (!mask[j]) continue; /* padding key: excluded */
                    double s = 0;
                    for (size_t e = 0; e < dh; e++) s += q[i * a + o + e] * k[j * a + o + e];
                    p[j] = s * scale;
                    if (p[j] > mx) mx = p[j];
                }
                for (size_t j = 0; j < t; j++) {
                    const double y = p[j] + MPCT_NL_2QUAD_C; /* 2Quad: (s + c)^2 over the kept keys */
                    p[j] = !mask[j] ? 0.0 : m->g.attention == MPCT_MD_2QUAD ? y * y : exp(p[j] - mx);
                    sum += p[j];
                }
                for (size_t e = 0; e < dh; e++) {
                    double s = 0;
                    for (size_t j = 0; j < t; j++) s += p[j] * v[j * a + o + e];
                    ctx[i * a + o + e] = s / sum;
                }
            }
        }
        ref_linear(ctx, t, a, L_(O_W), L_(O_B), h, y);
        for (size_t i = 0; i < t * h; i++) x[i] += y[i];
        ref_layernorm(x, t, h, L_(ATT_LN_G), L_(ATT_LN_B), c->layer_norm_eps);
        ref_linear(x, t, h, L_(UP_W), L_(UP_B), f, u);
        for (size_t i = 0; i < t * f; i++) u[i] = ref_activation(m->g.activation, u[i]);
        ref_linear(u, t, f, L_(DOWN_W), L_(DOWN_B), h, y);
        for (size_t i = 0; i < t * h; i++) x[i] += y[i];
        ref_layernorm(x, t, h, L_(FFN_LN_G), L_(FFN_LN_B), c->layer_norm_eps);
#undef L_
    }
}

mpct_status mpct_ref_forward(const mpct_ref_model *m, const int32_t *ids, const int32_t *mask, size_t b, size_t t,
                             double *emb, double *logits)
{
    const mpct_model_config *c = &m->cfg;
    size_t h = (size_t)c->hidden, f = (size_t)c->ffn;
    MPCT_CALL(mpct_md_require_encoder(c, "the encoder forward pass"));
    if (t == 0 || t > m->g.max_tokens)
        return mpct_error_set(MPCT_ERR_RANGE, "sequence length %zu out of range 1..%zu (max_positions %lld%s)", t,
                              m->g.max_tokens, (long long)c->max_positions,
                              m->g.pos_offset ? " less the position offset" : "");
    for (size_t r = 0; r < b; r++) {
        size_t real = 0;
        for (size_t i = 0; i < t; i++) {
            int32_t id = ids[r * t + i], mk = mask[r * t + i];
            if (mk != 0 && mk != 1)
                return mpct_error_set(MPCT_ERR_ARG, "row %zu, token %zu: attention mask %d is not 0 or 1", r, i, mk);
            if (mk && (id < 0 || id >= c->vocab_size))
                return mpct_error_set(MPCT_ERR_RANGE, "row %zu, token %zu: token id %d out of range 0..%lld", r, i, id,
                                      (long long)c->vocab_size - 1);
            if (mk && id == m->g.pad_id)
                return mpct_error_set(MPCT_ERR_ARG,
                                      "row %zu, token %zu: token id %d is the padding token, whose position the "
                                      "%s position ids would skip",
                                      r, i, id, c->architecture);
            real += (size_t)mk;
        }
        if (real == 0) return mpct_error_set(MPCT_ERR_ARG, "row %zu: attention mask has no real token", r);
    }
    double *x = mpct_alloc(t * h * sizeof(double));
    size_t wsn = t * (4 * m->g.heads * m->g.d_head + h + f + 1);
    double *ws = mpct_alloc(wsn * sizeof(double));
    if (!x || !ws) {
        mpct_free(x);
        mpct_free(ws);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a %zu-token forward pass", t);
    }
    /* positions from the description's offset; no token-type table
     * (DistilBERT): adds nothing */
    const double *word = ref_t(m, MPCT_BERT_WORD)->v,
                 *pos = ref_t(m, MPCT_BERT_POSITION)->v + m->g.pos_offset * h,
                 *type = ref_t(m, MPCT_BERT_TOKEN_TYPE)->v;
    for (size_t r = 0; r < b; r++) {
        const int32_t *id = ids + r * t, *mk = mask + r * t;
        for (size_t i = 0; i < t; i++) {
            size_t w = mk[i] ? (size_t)id[i] : 0; /* padding rows: any valid id */
            for (size_t e = 0; e < h; e++)
                x[i * h + e] = word[w * h + e] + pos[i * h + e] + (type ? type[e] : 0.0);
        }
        ref_layernorm(x, t, h, ref_t(m, MPCT_BERT_EMB_LN_G), ref_t(m, MPCT_BERT_EMB_LN_B), c->layer_norm_eps);
        ref_encoder(m, mk, t, x, ws);
        double *e = emb + r * h, cnt = 0, nrm = 0;
        if (m->g.pooling == MPCT_MD_POOL_MEAN) {
            for (size_t j = 0; j < h; j++) e[j] = 0;
            for (size_t i = 0; i < t; i++) {
                if (!mk[i]) continue;
                cnt += 1;
                for (size_t j = 0; j < h; j++) e[j] += x[i * h + j];
            }
            for (size_t j = 0; j < h; j++) e[j] /= cnt;
        } else if (m->g.pooling == MPCT_MD_POOL_CLS) {
            memcpy(e, x, h * sizeof *e); /* token 0: [CLS] */
        } else {
            ref_linear(x, 1, h, ref_t(m, MPCT_BERT_POOL_W), ref_t(m, MPCT_BERT_POOL_B), h, e);
            for (size_t j = 0; j < h; j++)
                e[j] = m->g.pool_act == MPCT_MD_POOL_RELU ? fmax(e[j], 0.0) : tanh(e[j]);
        }
        if (m->g.normalize) {
            for (size_t j = 0; j < h; j++) nrm += e[j] * e[j];
            nrm = sqrt(nrm);
            if (nrm < 1e-12) nrm = 1e-12; /* as torch.nn.functional.normalize */
            for (size_t j = 0; j < h; j++) e[j] /= nrm;
        }
        if (logits && m->g.classifier)
            ref_linear(e, 1, h, ref_t(m, MPCT_BERT_CLS_W), ref_t(m, MPCT_BERT_CLS_B), (size_t)c->num_labels,
                       logits + r * (size_t)c->num_labels);
    }
    mpct_free_secret(x);
    mpct_free_secret(ws);
    return MPCT_OK;
}
