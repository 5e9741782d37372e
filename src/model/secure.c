/*
 * secure.c — the BERT-family encoder (BERT, DistilBERT, RoBERTa, XLM-R)
 * over replicated secret shares (the same graph as ref.c, see mpct_model.h),
 * and the weight sharing of every model, decoders included (their pass is
 * secure_decoder.c).
 *
 * Weight sharing follows the architecture's description (mpct_model_desc.h):
 * its share table fixes the shares, their order (the share cache's and the
 * weight PRF stream's), shapes and transforms. The owner reads each tensor
 * once (dequantized), transposes it to [in x out], concatenates Q, K and V
 * with 1/sqrt(d_head) folded into Q, keeps token-type row 0, encodes it in
 * fixed point and inputs it (1 round per share; the owner sends 2 words per
 * weight). Absent tensors (no pooler, no classifier) keep zero placeholder
 * shares that take no round and no PRF words.
 *
 * Forward pass per batch (b rows, t tokens, h hidden, f ffn, V vocab, H heads
 * of width d_head; a = H d_head, the attention width, is h unless heads were
 * pruned: Wqkv is [h x 3a], Wo [a x h]):
 *   embeddings   onehot[bt x V] * word[V x h] (ring product, no truncation:
 *                the one-hot is an integer; computed mod 2^32 and lifted to
 *                Z_2^64, 2 rounds, when the owner found the table's entries
 *                below 2^29 in fixed point: info.word_lift),
 *                + position rows o..o+t-1 (o: the description's position
 *                offset, 2 for RoBERTa) and the token-type-0 row (zeros
 *                without token types) (local),
 *                LayerNorm
 *   per layer    X*Wqkv (1 matmul + trunc), scores = Q K^T per head (batched
 *                matmul + trunc), softmax with the client's secret padding
 *                mask, P V, *Wo, residual, LayerNorm, *Wup, GeLU, *Wdown,
 *                residual, LayerNorm
 *   pooling      "mean": mask * X summed over tokens (1 round), * inv_n (the
 *                client inputs 1/n); "cls": token 0's row (local); "pooler":
 *                tanh(token 0's row * Wp + bp) (1 matmul + trunc, then
 *                mpct_nl_tanh; ReLU with mpct_share_relu for DistilBERT's
 *                pre_classifier); then L2 normalisation with rsqrt when the
 *                model says so, then the classification head when present.
 * Every local step over the shares' words (bias and position rows, heads
 * split and merged, pooling's row sums and copies, broadcasts) is an entry
 * of the context's kernel table (mpct_kernels.h), never a loop here.
 * Rounds per layer ~ 2+2+122+2+2+29+2+18+2+29 (softmax and LayerNorm
 * dominate); bytes per layer are dominated by GeLU (64 words per ffn element)
 * and softmax (~50 words per score), see src/mpc/NONLINEAR.md.
 */
#include "mpct_nonlin.h"
#include "mpct_nonlin_sub.h"
#include "secure-impl.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

const mpct_smodel_info *mpct_smodel_get_info(const mpct_smodel *m) { return &m->info; }
size_t mpct_smodel_share_count(const mpct_smodel *m) { return m->nshares; }
const mpct_share *mpct_smodel_share_get(const mpct_smodel *m, size_t i) { return m->all[i]; }

mpct_share *mpct_smodel_share_write(mpct_smodel *m, size_t i) { return m->all[i]; }

mpct_status mpct_smodel_work_new(mpct_smodel_work **out)
{
    *out = mpct_calloc(sizeof **out);
    return *out ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "secure model: out of memory for the work space");
}

void mpct_smodel_work_free(mpct_smodel_work *w)
{
    if (!w)
        return;
    mpct_share_low32_free(&w->word32);
    mpct_free(w);
}

void mpct_smodel_hint_owner(mpct_smodel *m, int owner)
{
    for (size_t i = 0; m && owner >= 0 && owner <= 2 && i < m->nshares; i++)
        mpct_share_mark_input(m->all[i], owner);
}

void mpct_smodel_free(mpct_smodel *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nshares; i++)
        mpct_share_free(m->all[i]);
    mpct_free(m->all);
    mpct_free(m->dec);
    mpct_free(m->layers);
    mpct_free(m->wpos);
    mpct_free_secret(m); /* the weight key */
}

/* One share of the layout: allocated (zero), or shape and size only. */
static mpct_status layout_share(mpct_share *x, mpct_shape shape, int alloc)
{
    if (alloc)
        return mpct_share_init(x, shape);
    *x = (mpct_share){.shape = shape, .n = mpct_shape_numel(shape)};
    return MPCT_OK;
}

/* Where each share of the BERT description lives (the forward pass reads
 * the fields by name): offsets into struct mpct_smodel, or into slayer for
 * the per-layer shares. */
static const size_t smodel_field[MPCT_BERT_NSHARES] = {
    [MPCT_BERT_S_WORD] = offsetof(struct mpct_smodel, word),
    [MPCT_BERT_S_POSITION] = offsetof(struct mpct_smodel, pos),
    [MPCT_BERT_S_TYPE0] = offsetof(struct mpct_smodel, type0),
    [MPCT_BERT_S_EMB_LN_G] = offsetof(struct mpct_smodel, ln0g),
    [MPCT_BERT_S_EMB_LN_B] = offsetof(struct mpct_smodel, ln0b),
    [MPCT_BERT_S_CLS_W] = offsetof(struct mpct_smodel, clsw),
    [MPCT_BERT_S_CLS_B] = offsetof(struct mpct_smodel, clsb),
    [MPCT_BERT_S_QKV_W] = offsetof(slayer, wqkv),
    [MPCT_BERT_S_QKV_B] = offsetof(slayer, bqkv),
    [MPCT_BERT_S_O_W] = offsetof(slayer, wo),
    [MPCT_BERT_S_O_B] = offsetof(slayer, bo),
    [MPCT_BERT_S_ATT_LN_G] = offsetof(slayer, ln1g),
    [MPCT_BERT_S_ATT_LN_B] = offsetof(slayer, ln1b),
    [MPCT_BERT_S_UP_W] = offsetof(slayer, wup),
    [MPCT_BERT_S_UP_B] = offsetof(slayer, bup),
    [MPCT_BERT_S_DOWN_W] = offsetof(slayer, wdown),
    [MPCT_BERT_S_DOWN_B] = offsetof(slayer, bdown),
    [MPCT_BERT_S_FFN_LN_G] = offsetof(slayer, ln2g),
    [MPCT_BERT_S_FFN_LN_B] = offsetof(slayer, ln2b),
    [MPCT_BERT_S_POOL_W] = offsetof(struct mpct_smodel, poolw),
    [MPCT_BERT_S_POOL_B] = offsetof(struct mpct_smodel, poolb),
};

/* Every share of the description in share order: m->all, its shapes. */
static mpct_status smodel_layout(mpct_smodel *m, int alloc)
{
    const mpct_model_config *c = &m->info.cfg;
    const size_t n = mpct_md_share_count(m->md, c);
    m->layers = mpct_calloc((size_t)c->num_layers * sizeof *m->layers);
    m->all = mpct_calloc(n * sizeof *m->all);
    if (m->md->decoder)
        m->dec = mpct_calloc(((size_t)c->num_layers + 1) * MPCT_DEC_NSHARES * sizeof *m->dec);
    if (!m->layers || !m->all || (m->md->decoder && !m->dec))
        return mpct_error_set(MPCT_ERR_NOMEM, "secure model: out of memory");
    for (size_t i = 0; i < n; i++) {
        const mpct_md_share *d;
        int64_t layer;
        int ndim;
        size_t dim[2];
        MPCT_CALL(mpct_md_share_locate(m->md, c, i, &d, &layer));
        mpct_md_share_shape(m->md, c, d, &ndim, dim);
        char *base = layer >= 0 ? (char *)&m->layers[layer] : (char *)m;
        mpct_share *x = m->md->decoder ? (mpct_share *)sdec(m, layer, d->id)
                                       : (mpct_share *)(base + smodel_field[d->id]);
        MPCT_CALL(layout_share(x, ndim == 2 ? mpct_shape_2d(dim[0], dim[1]) : mpct_shape_1d(dim[0]), alloc));
        m->all[i] = x;
        m->nshares = i + 1; /* freed by mpct_smodel_free from here on */
    }
    return MPCT_OK;
}

static mpct_status smodel_new(const mpct_smodel_info *info, int alloc, mpct_smodel **out)
{
    const mpct_model_desc *md;
    MPCT_CALL(mpct_md_for(&info->cfg, "secure model", &md));
    mpct_smodel *m = mpct_calloc(sizeof *m);
    if (!m)
        return mpct_error_set(MPCT_ERR_NOMEM, "secure model: out of memory");
    m->info = *info;
    m->md = md;
    mpct_status st = mpct_md_graph_of(md, &info->cfg, "secure model", &m->g);
    if (st == MPCT_OK)
        st = smodel_layout(m, alloc);
    if (st != MPCT_OK) {
        mpct_smodel_free(m);
        return st;
    }
    *out = m;
    return MPCT_OK;
}

mpct_status mpct_smodel_alloc(const mpct_smodel_info *info, mpct_smodel **out)
{
    return smodel_new(info, 1, out);
}

mpct_status mpct_smodel_layout(const mpct_smodel_info *info, mpct_smodel **out)
{
    return smodel_new(info, 0, out);
}

/* The embedding lookup can run mod 2^32 and be lifted (see
 * mpct_share_matmul_sparse_lift), exactly, when the fixed-point entries
 * are below 2^30: 1 when the word table's bound (mpct_model_file_abs_bound)
 * is below 2^(29-f) (8192 at f = 16; real tables stay below 10, and
 * LayerNorm's input range, |x - mean| < 256, is far narrower), else 0 (also
 * when it cannot be read here: sharing the table reports that). */
static int32_t word_fits_lift(const mpct_model_file *f, int fbits)
{
    double bound = 0; /* from the row scales alone when the table is quantized */
    return fbits <= 29 && mpct_model_file_abs_bound(f, "/weights/embeddings/word", &bound) == MPCT_OK &&
           bound < ldexp(1.0, 29 - fbits);
}

void mpct_smodel_info_read(const mpct_model_file *f, int frac_bits, mpct_smodel_info *info)
{
    memset(info, 0, sizeof *info);
    info->cfg = *mpct_model_file_config(f);
    snprintf(info->hash, sizeof info->hash, "%s", mpct_model_file_hash(f));
    for (int64_t i = 0; i < info->cfg.num_labels && i < MPCT_IO_MAX_LABELS; i++)
        snprintf(info->labels[i], sizeof info->labels[i], "%s", mpct_model_file_label(f, (size_t)i));
    info->word_lift = word_fits_lift(f, frac_bits);
}

mpct_status mpct_smodel_info_accept(mpct_smodel_info *info)
{
    info->hash[64] = '\0';
    if (info->word_lift != 0 && info->word_lift != 1)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "the model description received from the owner has word_lift %d",
                              (int)info->word_lift);
    const mpct_model_config *c = &info->cfg;
    if (!mpct_md_is_decoder(c) && (c->kv_heads || c->rope_theta != 0.0 || c->tie_word_embeddings))
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "the model description received from the owner has decoder fields (kv_heads %lld, "
                              "rope_theta %g, tie_word_embeddings %d) for the encoder '%s'",
                              (long long)c->kv_heads, c->rope_theta, c->tie_word_embeddings, c->architecture);
    return mpct_io_config_check(c, "the model description received from the owner");
}

mpct_status mpct_smodel_share_info(mpct_ctx_t *ctx, int owner, const mpct_model_file *f, mpct_smodel_info *info)
{
    const int me = mpct_ctx_party(ctx);
    if (me == owner) {
        if (!f)
            return mpct_error_set(MPCT_ERR_ARG, "the model owner (party %d) has no model file open", owner);
        mpct_smodel_info_read(f, mpct_ctx_frac_bits(ctx), info);
    }
    uint8_t wire[MPCT_SMODEL_INFO_WIRE_BYTES];
    size_t len = sizeof wire;
    if (me == owner)
        MPCT_CALL(mpct_smodel_info_encode(info, wire, sizeof wire, &len));
    mpct_net_t *net = mpct_ctx_net(ctx);
    mpct_net_msg m = {0};
    if (me == owner) {
        m.to_next = wire;
        m.to_next_bytes = len;
        m.to_prev = wire;
        m.to_prev_bytes = len;
    } else if ((me + 1) % 3 == owner) {
        m.from_next = wire;
        m.from_next_bytes = len;
    } else {
        m.from_prev = wire;
        m.from_prev_bytes = len;
    }
    mpct_net_op_enter(net, "model_info");
    mpct_status st = mpct_net_round(net, &m);
    mpct_net_op_leave(net);
    MPCT_CALL(st);
    return mpct_smodel_info_decode(wire, len, info);
}

/* Owner side: reads part p of share d (tensor entry d->part[p] at layer)
 * and writes it into dst, laid out by d's transform (see mpct_md_transform);
 * part 0 times `scale` when d->scale_part0. */
static mpct_status read_part(const mpct_model_file *f, const mpct_smodel *m, const mpct_md_share *d, int64_t layer,
                             int p, double *dst)
{
    mpct_io_tensor_desc t;
    mpct_md_tensor_desc(m->md, &m->info.cfg, &m->md->tensors[d->part[p]], layer, &t);
    const size_t rows = t.dim[0], cols = t.dim[1];
    const double sc = p == 0 && d->scale_part0 ? m->g.attn_scale : 1.0;
    /* the parts' widths differ under grouped-query attention (q, then the
     * narrower k and v): part p starts after the rows of the parts before it */
    size_t off = 0, width = 0;
    for (int q = 0; q < d->nparts; q++) {
        const size_t r = mpct_md_dim_value(&m->info.cfg, m->md->tensors[d->part[q]].rows);
        off += q < p ? r : 0;
        width += r;
    }
    double *buf = mpct_alloc(rows * cols * sizeof *buf);
    if (!buf)
        return mpct_error_set(MPCT_ERR_NOMEM, "reading %s: out of memory", t.name);
    mpct_status st = mpct_model_file_read_f64(f, t.name, buf, rows * cols);
    if (st == MPCT_OK) {
        switch (d->transform) {
        case MPCT_MD_ROWS:
            memcpy(dst, buf, rows * cols * sizeof *buf);
            break;
        case MPCT_MD_ROW0:
            memcpy(dst, buf, cols * sizeof *buf);
            break;
        case MPCT_MD_VECTOR:
            for (size_t i = 0; i < rows; i++)
                dst[off + i] = buf[i] * sc;
            break;
        case MPCT_MD_TRANSPOSE: /* [out x in] -> [in x width], part p in columns off .. off+out */
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++)
                    dst[c * width + off + r] = buf[r * cols + c] * sc;
            break;
        }
    }
    mpct_free_secret(buf);
    if (st != MPCT_OK)
        mpct_error_trace(__FILE__, __LINE__, __func__);
    return st;
}

mpct_status mpct_smodel_share(mpct_ctx_t *ctx, int owner, const mpct_model_file *f, const mpct_smodel_info *info,
                              mpct_smodel **out, void (*progress)(size_t, size_t, void *), void *arg)
{
    const int me = mpct_ctx_party(ctx);
    if (me == owner && !f)
        return mpct_error_set(MPCT_ERR_ARG, "the model owner (party %d) has no model file open", owner);
    mpct_smodel *m = NULL;
    MPCT_CALL(mpct_smodel_alloc(info, &m));
    const mpct_model_config *c = &info->cfg;
    mpct_status st = MPCT_OK;
    mpct_net_t *net = mpct_ctx_net(ctx);
    mpct_net_op_enter(net, "share_weights");
    double *plain = NULL;
    uint64_t *enc = NULL;
    size_t plain_n = 0;
    mpct_prf_t *wprf = NULL;
    uint64_t wnext = 0;
    /* The PRF components of all weights come from one stream under a fresh
     * key of the owner and its next, so a party can cache them as (key,
     * position) rather than as words (src/sched/weights.c). */
    int have = 0;
    m->wpos = mpct_alloc(m->nshares * sizeof *m->wpos);
    if (!m->wpos) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "sharing weights: out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->nshares; i++)
        m->wpos[i] = UINT64_MAX;
    MPCT_CALL_GOTO(st, done, mpct_ctx_pair_key(ctx, owner, m->origin.key, &have));
    if (have)
        MPCT_CALL_GOTO(st, done, mpct_prf_init(&wprf, m->origin.key, MPCT_SMODEL_WEIGHT_STREAM));
    m->origin.known = 1;
    m->origin.has_key = have;
    m->origin.stream_id = MPCT_SMODEL_WEIGHT_STREAM;
    m->origin.comp[0] = me == owner ? MPCT_ORIGIN_DATA : have ? MPCT_ORIGIN_PRF : MPCT_ORIGIN_ZERO;
    m->origin.comp[1] = me == owner ? MPCT_ORIGIN_PRF : have ? MPCT_ORIGIN_ZERO : MPCT_ORIGIN_DATA;
    for (size_t i = 0; i < m->nshares; i++) {
        mpct_share *s = m->all[i];
        const mpct_md_share *d;
        int64_t layer;
        MPCT_CALL_GOTO(st, done, mpct_md_share_locate(m->md, c, i, &d, &layer));
        if (!mpct_md_share_present(m->md, c, d))
            continue; /* zero placeholder: no input, no PRF words */
        if (me == owner) {
            if (plain_n < s->n) {
                mpct_free_secret(plain);
                mpct_free_secret(enc);
                plain_n = s->n;
                plain = mpct_alloc(plain_n * sizeof *plain);
                enc = mpct_alloc(plain_n * sizeof *enc);
                if (!plain || !enc) {
                    st = mpct_error_set(MPCT_ERR_NOMEM, "sharing weights: out of memory");
                    goto done;
                }
            }
            for (int p = 0; p < d->nparts; p++)
                MPCT_CALL_GOTO(st, done, read_part(f, m, d, layer, p, plain));
        }
        if (me == owner)
            mpct_fxp_encode_array(plain, enc, s->n, mpct_ctx_frac_bits(ctx));
        MPCT_CALL_GOTO(st, done, mpct_share_input_stream(ctx, owner, me == owner ? enc : NULL, wprf, wnext, s));
        m->wpos[i] = wnext;
        wnext += s->n;
        if (progress)
            progress(i + 1, m->nshares, arg);
    }
done:
    mpct_net_op_leave(net);
    mpct_prf_free(wprf);
    mpct_free_secret(plain);
    mpct_free_secret(enc);
    if (st != MPCT_OK) {
        mpct_smodel_free(m);
        return st;
    }
    *out = m;
    return MPCT_OK;
}

/* ---- the client's inputs ---- */

mpct_status mpct_smodel_input(mpct_ctx_t *ctx, int client, const mpct_smodel_info *info, const int32_t *ids,
                              size_t ld, const int32_t *counts, size_t b, size_t t, mpct_share *onehot,
                              mpct_share *mask, mpct_share *inv_n)
{
    const size_t V = (size_t)info->cfg.vocab_size;
    const int me = mpct_ctx_party(ctx);
    const mpct_model_desc *md;
    MPCT_CALL(mpct_md_for(&info->cfg, "secure model", &md));
    mpct_status st = MPCT_OK;
    uint64_t *mk = NULL;
    int32_t *cols = NULL; /* the one-hot rows' columns (-1: padding) */
    double *invn = NULL;
    if (me == client) {
        if (!ids || !counts)
            return mpct_error_set(MPCT_ERR_ARG, "the client (party %d) passed no token ids", client);
        cols = mpct_alloc(b * t * sizeof *cols);
        mk = mpct_calloc(b * t * sizeof *mk);
        invn = mpct_calloc(b * sizeof *invn);
        if (cols)
            for (size_t i = 0; i < b * t; i++)
                cols[i] = -1;
        if (!cols || !mk || !invn) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory for the one-hot rows of %zu x %zu tokens", b, t);
            goto done;
        }
        for (size_t r = 0; r < b; r++) {
            const size_t c = (size_t)counts[r];
            if (c < 1 || c > t) {
                st = mpct_error_set(MPCT_ERR_ARG, "row %zu has %zu tokens, expected 1..%zu", r, c, t);
                goto done;
            }
            for (size_t k = 0; k < c; k++) {
                const int32_t id = ids[r * ld + k];
                if (id < 0 || (size_t)id >= V) {
                    st = mpct_error_set(MPCT_ERR_ARG, "row %zu token %zu: id %d outside the vocabulary of %zu", r,
                                        k, (int)id, V);
                    goto done;
                }
                if (id == md->pad_id) { /* the client knows its ids: refuse before anything is shared */
                    st = mpct_error_set(MPCT_ERR_ARG,
                                        "row %zu token %zu: id %d is the padding token, whose position the %s "
                                        "position ids would skip",
                                        r, k, (int)id, md->architecture);
                    goto done;
                }
                cols[r * t + k] = id;
                mk[r * t + k] = 1;
            }
            invn[r] = 1.0 / (double)c;
        }
    }
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(onehot, mpct_shape_2d(b * t, V)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch(mask, mpct_shape_2d(b, t)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch(inv_n, mpct_shape_1d(b)));
    MPCT_CALL_GOTO(st, done, mpct_share_input_onehot(ctx, client, cols, b * t, onehot));
    MPCT_CALL_GOTO(st, done, mpct_share_input(ctx, client, mk, mask));
    MPCT_CALL_GOTO(st, done, mpct_share_input_fxp(ctx, client, invn, inv_n));
done:
    mpct_free_secret(cols);
    mpct_free_secret(mk);
    mpct_free_secret(invn);
    return st;
}

/* ---- forward ---- */

mpct_status smodel_embed(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, const mpct_share *onehot,
                         mpct_share *X)
{
    mpct_net_t *net = mpct_ctx_net(ctx);
    const mpct_share *word = m->dec ? sdec(m, -1, MPCT_DEC_S_WORD) : &m->word;
    mpct_net_op_enter(net, "embed");
    /* the client input the one-hot rows (x_{client-1} = 0): its share of
     * the product is a row gather */
    const int client = mpct_share_input_owner(onehot);
    mpct_status st = m->info.word_lift
                         ? mpct_share_matmul_sparse_lift(ctx, client, onehot, word, w ? &w->word32 : NULL, X)
                         : mpct_share_matmul_sparse_input(ctx, client, onehot, word, X);
    mpct_net_op_leave(net);
    return st;
}

mpct_status smodel_linear(mpct_ctx_t *ctx, const mpct_share *X, const mpct_share *W, const mpct_share *b,
                          mpct_share *out)
{
    MPCT_CALL(mpct_share_matmul_fxp(ctx, X, W, out));
    if (!b)
        return MPCT_OK;
    const size_t n = W->shape.dim[1];
    for (int s = 0; s < 2; s++) /* + the bias row (local) */
        mpct_ctx_kernels(ctx)->add_rows(out->n / n, n, out->s[s], b->s[s], 1, out->s[s]);
    return MPCT_OK;
}

void smodel_add(mpct_ctx_t *ctx, mpct_share *x, const mpct_share *y)
{
    for (int s = 0; s < 2; s++)
        mpct_ctx_kernels(ctx)->add(x->n, x->s[s], y->s[s], x->s[s]);
}

/* The attention probabilities and the FFN activation of the graph:
 * softmax and GeLU, or the config's substitutions (mpct_nonlin_sub.h;
 * ReLU is mpct_share_relu). */
static mpct_status smodel_probs(mpct_ctx_t *ctx, const mpct_md_graph *g, const mpct_share *s, const mpct_nl_mask *nm,
                                mpct_share *out)
{
    return g->attention == MPCT_MD_2QUAD ? mpct_nl_2quad(ctx, s, nm, out) : mpct_nl_softmax(ctx, s, nm, out);
}

static mpct_status smodel_activation(mpct_ctx_t *ctx, const mpct_md_graph *g, const mpct_share *u, mpct_share *out)
{
    if (g->activation == MPCT_MD_RELU) return mpct_share_relu(ctx, u, out);
    if (g->activation == MPCT_MD_QUAD) return mpct_nl_quad(ctx, u, out);
    return mpct_nl_gelu(ctx, u, out);
}

mpct_status mpct_smodel_forward(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, const mpct_share *onehot,
                                const mpct_share *mask, const mpct_share *inv_n, size_t b, size_t t,
                                mpct_share *emb, mpct_share *logits)
{
    const mpct_model_config *c = &m->info.cfg;
    const size_t h = (size_t)c->hidden, V = (size_t)c->vocab_size, H = (size_t)c->heads,
                 dh = m->g.d_head, a = H * dh, bt = b * t, L = (size_t)c->num_labels;
    MPCT_CALL(mpct_md_require_encoder(c, "the encoder forward pass"));
    if (t == 0 || b == 0 || t > m->g.max_tokens)
        return mpct_error_set(MPCT_ERR_ARG, "forward: %zu tokens per row (model allows 1..%zu)", t, m->g.max_tokens);
    if (onehot->n != bt * V || mask->n != bt || inv_n->n != b)
        return mpct_error_set(MPCT_ERR_ARG, "forward: input shares do not match b=%zu t=%zu V=%zu", b, t, V);
    mpct_status st = MPCT_OK;
    mpct_net_t *net = mpct_ctx_net(ctx);
    mpct_share X = {0}, Y = {0}, Z = {0}, QKV = {0}, Q = {0}, KT = {0}, Vh = {0}, S = {0}, Pr = {0}, Cx = {0},
               A = {0}, U = {0}, G = {0}, M = {0}, Mx = {0}, Pool = {0}, Ex = {0}, Sq = {0}, Nrm = {0}, R = {0},
               Mean = {0};
    mpct_nl_mask nm = {mask, NULL, H * t};

    /* embeddings */
    MPCT_CALL_GOTO(st, done, smodel_embed(ctx, m, w, onehot, &X));
    const mpct_kernels *kt = mpct_ctx_kernels(ctx);
    for (int s = 0; s < 2; s++) { /* + the position's row and the token-type-0 row (local) */
        kt->add_rows(bt, h, X.s[s], m->pos.s[s] + m->g.pos_offset * h, t, X.s[s]);
        kt->add_rows(bt, h, X.s[s], m->type0.s[s], 1, X.s[s]);
    }
    MPCT_CALL_GOTO(st, done, mpct_nl_layernorm(ctx, &X, &m->ln0g, &m->ln0b, c->layer_norm_eps, &Y));
    MPCT_CALL_GOTO(st, done, mpct_share_copy(&Y, &X));

    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Q, mpct_shape_3d(b * H, t, dh)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&KT, mpct_shape_3d(b * H, dh, t)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Vh, mpct_shape_3d(b * H, t, dh)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&A, mpct_shape_2d(bt, a)));
    for (size_t l = 0; l < (size_t)c->num_layers; l++) {
        const slayer *y = &m->layers[l];
        mpct_net_set_layer(net, (int)l);
        /* attention */
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, &X, &y->wqkv, &y->bqkv, &QKV));
        for (int s = 0; s < 2; s++) { /* Q, K^T and V per head */
            kt->head_split(b, t, H, dh, QKV.s[s], 3 * a, 0, Q.s[s]);
            kt->head_split(b, t, H, dh, QKV.s[s] + a, 3 * a, 1, KT.s[s]);
            kt->head_split(b, t, H, dh, QKV.s[s] + 2 * a, 3 * a, 0, Vh.s[s]);
        }
        MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &Q, &KT, &S));
        MPCT_CALL_GOTO(st, done, smodel_probs(ctx, &m->g, &S, &nm, &Pr));
        MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &Pr, &Vh, &Cx));
        for (int s = 0; s < 2; s++)
            kt->head_merge(b, t, H, dh, Cx.s[s], A.s[s]);
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, &A, &y->wo, &y->bo, &Z));
        smodel_add(ctx, &Z, &X);
        MPCT_CALL_GOTO(st, done, mpct_nl_layernorm(ctx, &Z, &y->ln1g, &y->ln1b, c->layer_norm_eps, &X));
        /* feed-forward */
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, &X, &y->wup, &y->bup, &U));
        MPCT_CALL_GOTO(st, done, smodel_activation(ctx, &m->g, &U, &G));
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, &G, &y->wdown, &y->bdown, &Z));
        smodel_add(ctx, &Z, &X);
        MPCT_CALL_GOTO(st, done, mpct_nl_layernorm(ctx, &Z, &y->ln2g, &y->ln2b, c->layer_norm_eps, &X));
    }

    mpct_net_set_layer(net, -1);
    mpct_net_op_enter(net, "pool");
    if (m->g.pooling == MPCT_MD_POOL_MEAN) { /* mean over real tokens */
        MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&M, mpct_shape_2d(bt, h)));
        mpct_share_bcast_rows(ctx, mask, h, &M);
        MPCT_CALL_GOTO(st, pool_done, mpct_share_mul(ctx, &M, &X, &Mx)); /* 0/1 integer x fxp: no trunc */
        MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&Pool, mpct_shape_2d(b, h)));
        for (int s = 0; s < 2; s++) /* each input's t rows summed */
            kt->sum_rows(b, t, h, Mx.s[s], Pool.s[s]);
        MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&Ex, mpct_shape_2d(b, h)));
        mpct_share_bcast_rows(ctx, inv_n, h, &Ex);
        MPCT_CALL_GOTO(st, pool_done, mpct_share_mul_fxp(ctx, &Pool, &Ex, &Mean));
    } else { /* token 0 of each row ([CLS], a public position): local */
        MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&Pool, mpct_shape_2d(b, h)));
        for (int s = 0; s < 2; s++)
            kt->copy_rows(b, h, X.s[s], t * h, Pool.s[s], h);
        if (m->g.pooling == MPCT_MD_POOL_CLS) {
            MPCT_CALL_GOTO(st, pool_done, mpct_share_copy(&Pool, &Mean));
        } else { /* BertPooler, RoBERTa's classifier.dense: tanh(Wp x_[CLS] + bp); DistilBERT's
                  * pre_classifier: ReLU(Wp x_[CLS] + bp) */
            MPCT_CALL_GOTO(st, pool_done, smodel_linear(ctx, &Pool, &m->poolw, &m->poolb, &Mx));
            if (m->g.pool_act == MPCT_MD_POOL_RELU)
                MPCT_CALL_GOTO(st, pool_done, mpct_share_relu(ctx, &Mx, &Mean));
            else
                MPCT_CALL_GOTO(st, pool_done, mpct_nl_tanh(ctx, &Mx, &Mean));
        }
    }
    if (!c->normalize) {
        MPCT_CALL_GOTO(st, pool_done, mpct_share_copy(&Mean, emb));
        goto pool_done;
    }
    MPCT_CALL_GOTO(st, pool_done, mpct_share_mul_fxp(ctx, &Mean, &Mean, &Sq));
    MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&Nrm, mpct_shape_1d(b)));
    mpct_share_row_sums(ctx, &Sq, h, &Nrm);
    /* squared norms of pooled LayerNorm (or tanh) outputs: valid in [2^-8, 2^20) */
    MPCT_CALL_GOTO(st, pool_done, mpct_nl_rsqrt(ctx, &Nrm, -8, 20, 0, &R));
    if (!Ex.s[0]) /* mean pooling allocated it already */
        MPCT_CALL_GOTO(st, pool_done, mpct_share_init(&Ex, mpct_shape_2d(b, h)));
    mpct_share_bcast_rows(ctx, &R, h, &Ex);
    MPCT_CALL_GOTO(st, pool_done, mpct_share_mul_fxp(ctx, &Mean, &Ex, emb));
pool_done:
    mpct_net_op_leave(net);
    if (st != MPCT_OK)
        goto done;
    if (L > 0 && logits)
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, emb, &m->clsw, &m->clsb, logits));
done:;
    mpct_net_set_layer(net, -1);
    mpct_share *all[] = {&X, &Y, &Z, &QKV, &Q, &KT, &Vh, &S, &Pr, &Cx, &A, &U, &G, &M, &Mx, &Pool, &Ex, &Sq,
                         &Nrm, &R, &Mean};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mpct_share_free(all[i]);
    return st;
}
