/*
 * secure-impl.h — what the secure passes share (secure.c: the model, its
 * weight sharing and the encoder pass; secure_decoder.c: the decoder pass
 * with its secret KV cache; provenance.c: how the shares were made, as
 * recipes for the share cache). Private to src/model.
 *
 * Invariants: m->all lists every weight share in the description's share
 * order (the share cache's and the weight PRF stream's); an encoder's
 * shares live in the named fields (BERT share ids), a decoder's in
 * m->dec, slot (layer + 1) * MPCT_DEC_NSHARES + share id (block 0: the
 * shares outside the layers). Absent tensors keep zero placeholders.
 */
#ifndef MPCT_SECURE_IMPL_H
#define MPCT_SECURE_IMPL_H

#include "mpct_model.h"
#include "mpct_model_desc.h"

/* How mpct_smodel_share made a party's shares, per component (s[0], s[1]):
 * data received or computed, a PRF stream (key, stream_id, words
 * [pos, pos + n)), or zero. With owner o: P_o holds (data, PRF), P_{o+1}
 * (PRF, zero), P_{o-1} (zero, data). The key is known to P_o and P_{o+1}
 * only. A recipe's seed is [comp[0], comp[1], key] (provenance.c). */
enum { MPCT_ORIGIN_DATA = 0, MPCT_ORIGIN_PRF = 1, MPCT_ORIGIN_ZERO = 2 };
#define MPCT_SMODEL_WEIGHT_STREAM 0x5745494748545331ull /* "WEIGHTS1" */
typedef struct smodel_origin {
    int known, has_key;
    int comp[2];
    uint8_t key[16];
    uint64_t stream_id;
} smodel_origin;

typedef struct slayer {
    mpct_share wqkv, bqkv, wo, bo, ln1g, ln1b, wup, bup, wdown, bdown, ln2g, ln2b;
} slayer;

struct mpct_smodel {
    mpct_smodel_info info;
    mpct_share word, pos, type0, ln0g, ln0b, clsw, clsb;
    mpct_share poolw, poolb; /* BertPooler (pooling "pooler"; 1 x 1 zeros otherwise) */
    mpct_share *dec;         /* decoders: (1 + layers) x MPCT_DEC_NSHARES slots; NULL for encoders */
    const mpct_model_desc *md;
    mpct_md_graph g; /* pooling, attention scale, ... of info.cfg */
    slayer *layers;
    size_t nshares;
    mpct_share **all; /* every share above, in a fixed order */
    /* how mpct_smodel_share made them (origin.known = 0 otherwise) */
    smodel_origin origin;
    uint64_t *wpos; /* per share: first word of its PRF component; UINT64_MAX: not shared (zeros) */
};

/* What forward passes derive from a model and keep between batches: the
 * word table's low halves for the lifted lookup (secret: wiped on free). */
struct mpct_smodel_work {
    mpct_share_low32 word32;
};

/* A decoder's share `id` outside the layers (layer -1) or in layer l. */
static inline const mpct_share *sdec(const mpct_smodel *m, int64_t layer, int id)
{
    return &m->dec[(size_t)(layer + 1) * MPCT_DEC_NSHARES + (size_t)id];
}

/* The embedding lookup of the client's one-hot rows (onehot [r x V]) into
 * X [r x h]: the lifted 32-bit product when info.word_lift, else the
 * one-round 64-bit one (see secure.c). */
mpct_status smodel_embed(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, const mpct_share *onehot,
                         mpct_share *X) MPCT_WUR;
/* out[r x n] = X[r x k] * W[k x n] + b (fixed point); b NULL: no bias. */
mpct_status smodel_linear(mpct_ctx_t *ctx, const mpct_share *X, const mpct_share *W, const mpct_share *b,
                          mpct_share *out) MPCT_WUR;
/* x += y (local). */
void smodel_add(mpct_ctx_t *ctx, mpct_share *x, const mpct_share *y);

#endif
