/*
 * secure_decoder.c — the decoders (GPT-2, LLaMA; the graph of
 * mpct_model.h) over replicated secret shares, with a secret KV cache, and
 * secure greedy generation.
 *
 * A pass over n new tokens at positions p .. p+n-1 (a prefill: the prompt;
 * a step: n = 1 at p = the cache length) runs, per layer:
 *   U = norm1(X)             LayerNorm (GPT-2) or RMSNorm (LLaMA)
 *   QKV = U Wqkv (+ b)       one product and truncation (2 rounds); with
 *                            rotary positions mpct_nl_matmul_rope rotates
 *                            the Q and K heads inside that truncation (rows
 *                            of one head each; V's heads take position 0,
 *                            the identity rotation), so RoPE adds no round
 *   K, V rows appended to the cache
 *   S = Q K^T per key/value head, the query heads of a group stacked as
 *       rows (grouped-query attention: head hd reads kv head hd / (H/KVH)),
 *       the 1/sqrt(head_dim) scale folded into Wq
 *   P = mpct_nl_softmax_causal(S): query i sees cache rows 0 .. p+i (public
 *       lengths: the masked entries are left out, not computed)
 *   X += (P V) Wo (+ b);  U = norm2(X)
 *   X += down(gelu_tanh(U Wup + b)) (GPT-2) or down(swiglu(U Wgate, U Wup))
 * then, for the last new position only, norm_f and the LM head over the
 * vocabulary (tied: the word share times x^T, [V x h] [h x 1], so the table
 * is never transposed), and mpct_nl_argmax of the logits.
 *
 * Invariants: the cache holds shares of every layer's K (after RoPE) and V
 * rows for positions 0 .. len-1, in the order they were appended; a pass
 * only writes rows len .. len+n-1. Its shares are secret: wiped on free.
 * Everything public is the shape: the model's config, n, the positions and
 * so the cache length.
 *
 * Generation (mpct_smodel_generate): the client inputs the prompt's
 * one-hot rows; after each pass the argmax (or, sampling, the draw of
 * mpct_smodel_sample, secure_sample.c) is revealed to the client only,
 * which then sends one public bit to both other parties (continue or stop)
 * and, to continue, inputs the token's one-hot row for the next step.
 */

#include "mpct_nonlin.h"
#include "secure-impl.h"

struct mpct_smodel_kv {
    size_t cap, len, layers, kvdim;
    mpct_share *k, *v; /* per layer [cap x kvdim] */
};

mpct_status mpct_smodel_kv_new(const mpct_smodel *m, size_t cap, mpct_smodel_kv **out)
{
    *out = NULL;
    const mpct_model_config *c = &m->info.cfg;
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder: it has no KV cache",
                              c->architecture);
    if (cap == 0 || cap > (size_t)c->max_positions)
        return mpct_error_set(MPCT_ERR_RANGE, "KV cache of %zu positions, expected 1..%lld (max_positions)", cap,
                              (long long)c->max_positions);
    mpct_smodel_kv *kv = mpct_calloc(sizeof *kv);
    if (!kv)
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a KV cache");
    kv->cap = cap;
    kv->layers = (size_t)c->num_layers;
    kv->kvdim = m->g.kv_heads * m->g.d_head;
    kv->k = mpct_calloc(kv->layers * sizeof *kv->k);
    kv->v = mpct_calloc(kv->layers * sizeof *kv->v);
    mpct_status st = kv->k && kv->v ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "out of memory for a KV cache");
    for (size_t l = 0; l < kv->layers && st == MPCT_OK; l++) {
        st = mpct_share_init(&kv->k[l], mpct_shape_2d(cap, kv->kvdim));
        if (st == MPCT_OK)
            st = mpct_share_init(&kv->v[l], mpct_shape_2d(cap, kv->kvdim));
    }
    if (st != MPCT_OK) {
        mpct_smodel_kv_free(kv);
        return st;
    }
    *out = kv;
    return MPCT_OK;
}

void mpct_smodel_kv_free(mpct_smodel_kv *kv)
{
    if (!kv)
        return;
    for (size_t l = 0; l < kv->layers; l++) {
        if (kv->k)
            mpct_share_free(&kv->k[l]);
        if (kv->v)
            mpct_share_free(&kv->v[l]);
    }
    mpct_free(kv->k);
    mpct_free(kv->v);
    mpct_free(kv);
}

size_t mpct_smodel_kv_len(const mpct_smodel_kv *kv) { return kv->len; }
void mpct_smodel_kv_reset(mpct_smodel_kv *kv) { kv->len = 0; }

mpct_status mpct_smodel_kv_rows(const mpct_smodel_kv *kv, size_t layer, int value, mpct_share *view)
{
    if (layer >= kv->layers)
        return mpct_error_set(MPCT_ERR_ARG, "KV cache: layer %zu of %zu", layer, kv->layers);
    *view = mpct_share_view(value ? &kv->v[layer] : &kv->k[layer], 0, kv->len * kv->kvdim);
    return MPCT_OK;
}

mpct_status mpct_smodel_input_tokens(mpct_ctx_t *ctx, int client, const mpct_smodel_info *info, const int32_t *ids,
                                     size_t n, mpct_share *onehot)
{
    const size_t V = (size_t)info->cfg.vocab_size;
    if (mpct_ctx_party(ctx) == client) {
        if (!ids)
            return mpct_error_set(MPCT_ERR_ARG, "the client (party %d) passed no token ids", client);
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= V)
                return mpct_error_set(MPCT_ERR_ARG, "token %zu: id %d outside the vocabulary of %zu", i, (int)ids[i],
                                      V);
    }
    MPCT_CALL(mpct_share_init_scratch_nofill(onehot, mpct_shape_2d(n, V)));
    return mpct_share_input_onehot(ctx, client, mpct_ctx_party(ctx) == client ? ids : NULL, n, onehot);
}

/* ---- the pass ---- */

/* A decoder's bias share, or NULL when the family has none (zero placeholder). */
static const mpct_share *dec_bias(const mpct_smodel *m, int64_t l, int id)
{
    return mpct_md_share_present(m->md, &m->info.cfg, &m->md->shares[id]) ? sdec(m, l, id) : NULL;
}

static mpct_status dec_norm(mpct_ctx_t *ctx, const mpct_smodel *m, int64_t l, int g, int b, const mpct_share *x,
                            mpct_share *out)
{
    if (m->g.norm == MPCT_MD_RMSNORM_PRE)
        return mpct_nl_rmsnorm(ctx, x, sdec(m, l, g), m->g.eps, out);
    return mpct_nl_layernorm(ctx, x, sdec(m, l, g), sdec(m, l, b), m->g.eps, out);
}

/* The pass's public geometry. */
typedef struct dec_geo {
    size_t n, p0, L;               /* new tokens, first new position, cache rows after the pass */
    size_t h, f, H, KVH, G, dh, qd, kd;
} dec_geo;

/* QKV [n x (qd + 2kd)] of U, RoPE'd when the model says so. */
static mpct_status dec_qkv(mpct_ctx_t *ctx, const mpct_smodel *m, int64_t l, const dec_geo *d, const mpct_share *U,
                           mpct_share *QKV)
{
    const mpct_share *b = dec_bias(m, l, MPCT_DEC_S_QKV_B);
    if (m->g.positions != MPCT_MD_POS_ROTARY)
        return smodel_linear(ctx, U, sdec(m, l, MPCT_DEC_S_QKV_W), b, QKV);
    if (b)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "secure decoder: rotary positions with Q/K/V biases");
    const size_t per = d->H + 2 * d->KVH; /* heads of one row: Q's, K's, V's */
    int64_t *pos = mpct_alloc(d->n * per * sizeof *pos);
    if (!pos)
        return mpct_error_set(MPCT_ERR_NOMEM, "secure decoder: out of memory");
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < per; j++)
            pos[i * per + j] = j < d->H + d->KVH ? (int64_t)(d->p0 + i) : 0; /* V: the identity */
    const mpct_nl_rope_cfg rc = {.heads = 1, .head_dim = d->dh, .theta = m->g.rope_theta, .pos = pos};
    mpct_status st = mpct_nl_matmul_rope(ctx, U, sdec(m, l, MPCT_DEC_S_QKV_W), &rc, QKV);
    mpct_free(pos);
    return st;
}

/* Attention of the n new rows: appends K, V to the cache, A [n x qd]. */
static mpct_status dec_attend(mpct_ctx_t *ctx, mpct_smodel_kv *kv, size_t l, const dec_geo *d, const mpct_share *QKV,
                              mpct_share *A)
{
    const size_t n = d->n, L = d->L, G = d->G, dh = d->dh, qd = d->qd, kd = d->kd, row = qd + 2 * kd;
    mpct_status st = MPCT_OK;
    mpct_share Q = {0}, KT = {0}, Vg = {0}, S = {0}, P = {0}, C = {0};
    uint32_t *len = mpct_alloc(n * sizeof *len);
    if (!len)
        return mpct_error_set(MPCT_ERR_NOMEM, "secure decoder: out of memory");
    const mpct_kernels *kt = mpct_ctx_kernels(ctx);
    for (int s = 0; s < 2; s++) { /* the new rows' K and V onto the cache */
        kt->copy_rows(n, kd, QKV->s[s] + qd, row, kv->k[l].s[s] + d->p0 * kd, kd);
        kt->copy_rows(n, kd, QKV->s[s] + qd + kd, row, kv->v[l].s[s] + d->p0 * kd, kd);
    }
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Q, mpct_shape_3d(d->KVH, G * n, dh)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&KT, mpct_shape_3d(d->KVH, dh, L)));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Vg, mpct_shape_3d(d->KVH, L, dh)));
    for (int s = 0; s < 2; s++) { /* query head g G + j, row i -> group g, row j n + i */
        kt->head_split(1, n, d->H, dh, QKV->s[s], row, 0, Q.s[s]);
        kt->head_split(1, L, d->KVH, dh, kv->k[l].s[s], kd, 1, KT.s[s]);
        kt->head_split(1, L, d->KVH, dh, kv->v[l].s[s], kd, 0, Vg.s[s]);
    }
    MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &Q, &KT, &S));
    for (size_t i = 0; i < n; i++)
        len[i] = (uint32_t)(d->p0 + i + 1); /* query i sees rows 0 .. p0 + i */
    MPCT_CALL_GOTO(st, done, mpct_nl_softmax_causal(ctx, &S, NULL, n > 1 ? len : NULL, n, &P));
    MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &P, &Vg, &C));
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(A, mpct_shape_2d(n, qd)));
    for (int s = 0; s < 2; s++)
        kt->head_merge(1, n, d->H, dh, C.s[s], A->s[s]);
done:
    mpct_free(len);
    mpct_share *t[] = {&Q, &KT, &Vg, &S, &P, &C};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        mpct_share_free(t[i]);
    return st;
}

/* The MLP of U [n x h] into Z [n x h]. */
static mpct_status dec_mlp(mpct_ctx_t *ctx, const mpct_smodel *m, int64_t l, const dec_geo *d, const mpct_share *U,
                           mpct_share *Z)
{
    mpct_status st = MPCT_OK;
    mpct_share F = {0}, Ga = {0}, Up = {0}, Gt = {0};
    const mpct_share *wgu = sdec(m, l, MPCT_DEC_S_GATE_UP_W);
    if (m->g.activation == MPCT_MD_SILU_GATED) { /* [n x 2f]: gate | up */
        MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, U, wgu, &F));
        MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Ga, mpct_shape_2d(d->n, d->f)));
        MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&Up, mpct_shape_2d(d->n, d->f)));
        for (int s = 0; s < 2; s++) {
            mpct_ctx_kernels(ctx)->copy_rows(d->n, d->f, F.s[s], 2 * d->f, Ga.s[s], d->f);
            mpct_ctx_kernels(ctx)->copy_rows(d->n, d->f, F.s[s] + d->f, 2 * d->f, Up.s[s], d->f);
        }
        MPCT_CALL_GOTO(st, done, mpct_nl_swiglu(ctx, &Ga, &Up, &Gt));
    } else {
        MPCT_CALL_GOTO(st, done, smodel_linear(ctx, U, wgu, dec_bias(m, l, MPCT_DEC_S_UP_B), &F));
        MPCT_CALL_GOTO(st, done, mpct_nl_gelu_tanh(ctx, &F, &Gt));
    }
    st = smodel_linear(ctx, &Gt, sdec(m, l, MPCT_DEC_S_DOWN_W), dec_bias(m, l, MPCT_DEC_S_DOWN_B), Z);
done:
    mpct_share_free(&F);
    mpct_share_free(&Ga);
    mpct_share_free(&Up);
    mpct_share_free(&Gt);
    return st;
}

/* One layer over X [n x h] in place. */
static mpct_status dec_layer(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_kv *kv, int64_t l, const dec_geo *d,
                             mpct_share *X)
{
    mpct_status st = MPCT_OK;
    mpct_share U = {0}, QKV = {0}, A = {0}, Z = {0};
    MPCT_CALL_GOTO(st, done, dec_norm(ctx, m, l, MPCT_DEC_S_LN1_G, MPCT_DEC_S_LN1_B, X, &U));
    MPCT_CALL_GOTO(st, done, dec_qkv(ctx, m, l, d, &U, &QKV));
    MPCT_CALL_GOTO(st, done, dec_attend(ctx, kv, (size_t)l, d, &QKV, &A));
    MPCT_CALL_GOTO(st, done, smodel_linear(ctx, &A, sdec(m, l, MPCT_DEC_S_O_W), dec_bias(m, l, MPCT_DEC_S_O_B), &Z));
    smodel_add(ctx, X, &Z);
    mpct_share_free(&U);
    MPCT_CALL_GOTO(st, done, dec_norm(ctx, m, l, MPCT_DEC_S_LN2_G, MPCT_DEC_S_LN2_B, X, &U));
    mpct_share_free(&Z);
    MPCT_CALL_GOTO(st, done, dec_mlp(ctx, m, l, d, &U, &Z));
    smodel_add(ctx, X, &Z);
done:
    mpct_share_free(&U);
    mpct_share_free(&QKV);
    mpct_share_free(&A);
    mpct_share_free(&Z);
    return st;
}

/* norm_f and the LM head on X's last row: logits [1 x V]. */
static mpct_status dec_head(mpct_ctx_t *ctx, const mpct_smodel *m, const dec_geo *d, const mpct_share *X,
                            mpct_share *logits)
{
    mpct_status st = MPCT_OK;
    mpct_share xl = {0}, xn = {0};
    const size_t V = (size_t)m->info.cfg.vocab_size;
    MPCT_CALL_GOTO(st, done, mpct_share_init_scratch_nofill(&xl, mpct_shape_2d(1, d->h)));
    for (int s = 0; s < 2; s++)
        mpct_ctx_kernels(ctx)->copy_rows(1, d->h, X->s[s] + (d->n - 1) * d->h, d->h, xl.s[s], d->h);
    MPCT_CALL_GOTO(st, done, dec_norm(ctx, m, -1, MPCT_DEC_S_NORM_G, MPCT_DEC_S_NORM_B, &xl, &xn));
    if (m->g.tied) { /* word [V x h] times x^T [h x 1]: the column of logits */
        xn.shape = mpct_shape_2d(d->h, 1);
        MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, sdec(m, -1, MPCT_DEC_S_WORD), &xn, logits));
        logits->shape = mpct_shape_2d(1, V);
    } else {
        MPCT_CALL_GOTO(st, done, mpct_share_matmul_fxp(ctx, &xn, sdec(m, -1, MPCT_DEC_S_HEAD_W), logits));
    }
done:
    mpct_share_free(&xl);
    mpct_share_free(&xn);
    return st;
}

static mpct_status dec_geometry(const mpct_smodel *m, const mpct_smodel_kv *kv, const mpct_share *onehot, size_t n,
                                dec_geo *d)
{
    const mpct_model_config *c = &m->info.cfg;
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder, not a decoder",
                              c->architecture);
    if (n == 0)
        return mpct_error_set(MPCT_ERR_ARG, "a decoder pass needs at least one token");
    if (kv->layers != (size_t)c->num_layers || kv->kvdim != m->g.kv_heads * m->g.d_head)
        return mpct_error_set(MPCT_ERR_ARG, "the KV cache was made for another model");
    if (n > kv->cap - kv->len)
        return mpct_error_set(MPCT_ERR_RANGE, "%zu new tokens after %zu overflow the KV cache of %zu positions", n,
                              kv->len, kv->cap);
    if (onehot->n != n * (size_t)c->vocab_size)
        return mpct_error_set(MPCT_ERR_ARG, "decoder pass: %zu one-hot elements for %zu tokens of a vocabulary of %lld",
                              onehot->n, n, (long long)c->vocab_size);
    *d = (dec_geo){.n = n, .p0 = kv->len, .L = kv->len + n, .h = (size_t)c->hidden, .f = (size_t)c->ffn,
                   .H = m->g.heads, .KVH = m->g.kv_heads, .dh = m->g.d_head};
    d->G = d->H / d->KVH;
    d->qd = d->H * d->dh;
    d->kd = d->KVH * d->dh;
    return MPCT_OK;
}

mpct_status mpct_smodel_decode(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, mpct_smodel_kv *kv,
                               const mpct_share *onehot, size_t n, mpct_share *logits, mpct_share *idx)
{
    dec_geo d = {0};
    MPCT_CALL(dec_geometry(m, kv, onehot, n, &d));
    mpct_status st = MPCT_OK;
    mpct_net_t *net = mpct_ctx_net(ctx);
    mpct_share X = {0};
    MPCT_CALL_GOTO(st, done, smodel_embed(ctx, m, w, onehot, &X));
    if (m->g.positions == MPCT_MD_POS_LEARNED) { /* + the rows of the public positions (local) */
        const mpct_share *pos = sdec(m, -1, MPCT_DEC_S_POSITION);
        for (int s = 0; s < 2; s++)
            mpct_ctx_kernels(ctx)->add_rows(n, d.h, X.s[s], pos->s[s] + d.p0 * d.h, n, X.s[s]);
    }
    for (int64_t l = 0; l < (int64_t)m->info.cfg.num_layers; l++) {
        mpct_net_set_layer(net, (int)l);
        MPCT_CALL_GOTO(st, done, dec_layer(ctx, m, kv, l, &d, &X));
    }
    mpct_net_set_layer(net, -1);
    kv->len += n;
    mpct_net_op_enter(net, "lm_head");
    st = dec_head(ctx, m, &d, &X, logits);
    mpct_net_op_leave(net);
    if (st == MPCT_OK && idx)
        st = mpct_nl_argmax(ctx, logits, 0, idx, NULL);
done:
    mpct_net_set_layer(net, -1);
    mpct_share_free(&X);
    return st;
}

/* ---- generation ---- */

/* The client's verdict after a step, one public byte to both others. */
static mpct_status gen_bit(mpct_ctx_t *ctx, int client, uint8_t *bit)
{
    const int me = mpct_ctx_party(ctx);
    mpct_net_msg msg = {0};
    if (me == client) {
        msg.to_next = bit;
        msg.to_next_bytes = 1;
        msg.to_prev = bit;
        msg.to_prev_bytes = 1;
    } else if ((me + 1) % 3 == client) {
        msg.from_next = bit;
        msg.from_next_bytes = 1;
    } else {
        msg.from_prev = bit;
        msg.from_prev_bytes = 1;
    }
    mpct_net_t *net = mpct_ctx_net(ctx);
    mpct_net_op_enter(net, "gen_stop_bit");
    mpct_status st = mpct_net_round(net, &msg);
    mpct_net_op_leave(net);
    MPCT_CALL(st);
    if (*bit > 1)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "generation: the client sent %u for continue (1) or stop (0)", *bit);
    return MPCT_OK;
}

/* One pass over the client's tokens (n of them, read on the client), the
 * argmax revealed to the client into *next. */
static mpct_status gen_pass(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, mpct_smodel_kv *kv,
                            int client, const int32_t *ids, size_t n, const mpct_smodel_gen_opts *o, int32_t *next)
{
    mpct_status st = MPCT_OK;
    mpct_share oh = {0}, logits = {0}, idx = {0}, u = {0};
    uint64_t id = 0;
    MPCT_CALL_GOTO(st, done, mpct_smodel_input_tokens(ctx, client, &m->info, ids, n, &oh));
    const int sampled = o && o->sample && o->sample->temperature > 0;
    MPCT_CALL_GOTO(st, done, mpct_smodel_decode(ctx, m, w, kv, &oh, n, &logits, sampled ? NULL : &idx));
    if (o && o->on_logits)
        MPCT_CALL_GOTO(st, done, o->on_logits(ctx, &logits, o->arg));
    if (sampled) {
        mpct_net_op_enter(mpct_ctx_net(ctx), "sample");
        st = mpct_smodel_sample(ctx, &logits, o->sample, &idx, o->on_sample ? &u : NULL);
        mpct_net_op_leave(mpct_ctx_net(ctx));
        MPCT_CALL_GOTO(st, done, st);
        if (o->on_sample)
            MPCT_CALL_GOTO(st, done, o->on_sample(ctx, &u, o->arg));
    }
    MPCT_CALL_GOTO(st, done, mpct_share_reveal(ctx, &idx, client, mpct_ctx_party(ctx) == client ? &id : NULL));
    if (mpct_ctx_party(ctx) == client) /* -1: outside the vocabulary (the client stops, then reports) */
        *next = id < (uint64_t)m->info.cfg.vocab_size ? (int32_t)id : -1;
done:
    mpct_share_free(&oh);
    mpct_share_free(&logits);
    mpct_share_free(&idx);
    mpct_share_free(&u);
    return st;
}

mpct_status mpct_smodel_generate(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, int client,
                                 const int32_t *prompt, size_t n, size_t max_new, const int32_t *stop, size_t nstop,
                                 const mpct_smodel_gen_opts *o, int32_t *out, size_t *nout)
{
    *nout = 0;
    const int me = mpct_ctx_party(ctx);
    if (!m->g.decoder)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "architecture '%s' is an encoder: it does not generate",
                              m->info.cfg.architecture);
    if (n == 0)
        return mpct_error_set(MPCT_ERR_ARG, "an empty prompt (a decoder needs at least one token)");
    if (max_new == 0)
        return MPCT_OK;
    if (n + max_new - 1 > (size_t)m->info.cfg.max_positions)
        return mpct_error_set(MPCT_ERR_RANGE, "a prompt of %zu tokens and %zu new ones exceed max_positions %lld", n,
                              max_new, (long long)m->info.cfg.max_positions);
    if (me == client && (!prompt || !out))
        return mpct_error_set(MPCT_ERR_ARG, "the client (party %d) passed no prompt or output buffer", client);
    mpct_smodel_kv *kv = NULL;
    MPCT_CALL(mpct_smodel_kv_new(m, n + max_new - 1, &kv));
    int32_t next = -1;
    mpct_status st = gen_pass(ctx, m, w, kv, client, prompt, n, o, &next);
    for (;;) {
        if (st != MPCT_OK)
            break;
        uint8_t go = 0;
        if (me == client && next < 0)
            st = mpct_error_set(MPCT_ERR_PROTOCOL, "generation: step %zu's argmax is outside the vocabulary", *nout);
        else if (me == client) {
            out[*nout] = next;
            go = *nout + 1 < max_new;
            for (size_t s = 0; s < nstop; s++)
                go &= next != stop[s];
        }
        *nout += 1; /* public: every party counts the steps alike (on an error the caller ignores it) */
        const mpct_status sb = gen_bit(ctx, client, &go);
        st = st != MPCT_OK ? st : sb;
        if (st != MPCT_OK || !go)
            break;
        st = gen_pass(ctx, m, w, kv, client, me == client ? &next : NULL, 1, o, &next);
    }
    mpct_smodel_kv_free(kv);
    return st;
}
