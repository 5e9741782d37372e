/*
 * ctx.c — protocol context: handshake (protocol version, ring size,
 * fixed-point settings), pairwise key agreement, zero-sharings.
 *
 * Key agreement (1 round): Pi draws k_i (OS randomness, or derived from a
 * seed in deterministic test mode) and sends it to P_{i-1}; it receives
 * k_{i+1} from P_{i+1}. Pi never learns k_{i+2}.
 * Handshake (1 round): every party sends its settings to both neighbours and
 * compares what it gets with its own: protocol version, ring size, fixed
 * point, truncation and the key mode (fresh random keys, or keys derived
 * from a test seed: a mix is refused on every party, so that no party runs
 * with fresh keys against peers whose keys anyone can derive).
 */
#include "mpc-impl.h"

#include <stdio.h>
#include <string.h>

#define HS_MAGIC 0x6d7063742d687331ULL /* "mpct-hs1" */

typedef struct handshake {
    uint64_t magic;
    uint64_t protocol_version;
    uint64_t ring_bits;
    uint64_t frac_bits;
    uint64_t party;
    uint64_t trunc_prob;
    uint64_t test_keys; /* 1: keys derived from --test-seed; a party with fresh keys refuses such a peer */
} handshake;

mpct_ctx_config mpct_ctx_config_default(void)
{
    return (mpct_ctx_config){.frac_bits = MPCT_FRAC_BITS_DEFAULT, .kernels = "cpu"};
}

uint64_t *mpc_tmp(size_t n) { return mpct_scratch_alloc((n ? n : 1) * sizeof(uint64_t)); }
void mpc_tmp_free(uint64_t *p) { mpct_scratch_free(p); }

const uint64_t *mpc_zeros(mpct_ctx_t *ctx, size_t n)
{
    if (n > ctx->nzeros) {
        uint64_t *z = mpct_calloc((n ? n : 1) * sizeof *z);
        if (!z)
            return NULL;
        mpct_free(ctx->zeros);
        ctx->zeros = z;
        ctx->nzeros = n;
    }
    return ctx->zeros;
}

static mpct_status check_peer(const handshake *mine, const handshake *got, int from)
{
    if (got->magic != HS_MAGIC)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d is not an mpct party (bad handshake magic)", from);
    if (got->protocol_version != mine->protocol_version)
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "protocol version mismatch: party %d runs version %llu, party %d runs %llu",
                              from, (unsigned long long)got->protocol_version, (int)mine->party,
                              (unsigned long long)mine->protocol_version);
    if (got->ring_bits != mine->ring_bits)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "ring size mismatch: party %d uses 2^%llu, party %d 2^%llu",
                              from, (unsigned long long)got->ring_bits, (int)mine->party,
                              (unsigned long long)mine->ring_bits);
    if (got->frac_bits != mine->frac_bits)
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "fixed-point mismatch: party %d uses %llu fractional bits, party %d uses %llu",
                              from, (unsigned long long)got->frac_bits, (int)mine->party,
                              (unsigned long long)mine->frac_bits);
    if (got->trunc_prob != mine->trunc_prob)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "truncation mismatch: party %d uses %s truncation, party %d %s",
                              from, got->trunc_prob ? "probabilistic" : "exact", (int)mine->party,
                              mine->trunc_prob ? "probabilistic" : "exact");
    if (got->test_keys != mine->test_keys)
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "key mode mismatch: party %d uses %s keys, party %d %s keys (--test-seed must be given "
                              "to all three parties or to none)",
                              from, got->test_keys ? "insecure test (--test-seed)" : "fresh random", (int)mine->party,
                              mine->test_keys ? "insecure test (--test-seed)" : "fresh random");
    if (got->party != (uint64_t)from)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "party numbering mismatch: expected party %d, it says %llu",
                              from, (unsigned long long)got->party);
    return MPCT_OK;
}

mpct_status mpct_ctx_init(mpct_ctx_t **out, mpct_net_t *net, const mpct_ctx_config *cfg)
{
    mpct_ctx_config def = mpct_ctx_config_default();
    if (!cfg)
        cfg = &def;
    if (cfg->frac_bits < 0 || cfg->frac_bits > 40)
        return mpct_error_set(MPCT_ERR_ARG, "frac bits must be in [0, 40], got %d", cfg->frac_bits);
    const mpct_kernels *k = mpct_kernels_get(cfg->kernels ? cfg->kernels : "cpu");
    if (!k)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "kernel backend '%s' is not available in this build",
                              cfg->kernels);
    mpct_ctx_t *c = mpct_calloc(sizeof *c);
    if (!c)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate a protocol context");
    c->net = net;
    c->party = mpct_net_party(net);
    c->frac_bits = cfg->frac_bits;
    c->trunc_prob = cfg->trunc_probabilistic;
    c->k = k;

    mpct_status st = MPCT_OK;
    mpct_net_op_enter(net, "setup");
    handshake mine = {HS_MAGIC, MPCT_PROTOCOL_VERSION, 64, (uint64_t)cfg->frac_bits, (uint64_t)c->party,
                      (uint64_t)(cfg->trunc_probabilistic != 0), (uint64_t)(cfg->deterministic != 0)};
    handshake hn, hp;
    mpct_net_msg hm = {&mine, sizeof mine, &mine, sizeof mine, &hn, sizeof hn, &hp, sizeof hp};
    MPCT_CALL_GOTO(st, fail, mpct_net_round(net, &hm));
    MPCT_CALL_GOTO(st, fail, check_peer(&mine, &hn, NEXT(c->party)));
    MPCT_CALL_GOTO(st, fail, check_peer(&mine, &hp, PREV(c->party)));

    uint8_t kown[MPCT_PRF_KEY_BYTES], knext[MPCT_PRF_KEY_BYTES];
    if (cfg->deterministic)
        mpct_prf_derive_key(cfg->seed, (uint64_t)c->party, kown);
    else
        MPCT_CALL_GOTO(st, wipe, mpct_prf_random_key(kown));
    mpct_net_msg km = {.to_prev = kown, .to_prev_bytes = sizeof kown,
                       .from_next = knext, .from_next_bytes = sizeof knext};
    MPCT_CALL_GOTO(st, wipe, mpct_net_round(net, &km));
    MPCT_CALL_GOTO(st, wipe, mpct_prf_init(&c->prf_own, kown, 1));
    MPCT_CALL_GOTO(st, wipe, mpct_prf_init(&c->prf_next, knext, 1));
wipe:
    mpct_wipe(kown, sizeof kown);
    mpct_wipe(knext, sizeof knext);
    if (st != MPCT_OK)
        goto fail;
    mpct_net_op_leave(net);
    *out = c;
    return MPCT_OK;
fail:
    mpct_net_op_leave(net);
    mpct_ctx_free(c);
    return st;
}

void mpct_ctx_free(mpct_ctx_t *ctx)
{
    if (!ctx)
        return;
    mpct_prf_free(ctx->prf_own);
    mpct_prf_free(ctx->prf_next);
    mpct_free(ctx->zeros);
    mpct_free_secret(ctx);
    mpct_scratch_release();
}

int mpct_ctx_party(const mpct_ctx_t *ctx) { return ctx->party; }
int mpct_ctx_frac_bits(const mpct_ctx_t *ctx) { return ctx->frac_bits; }
mpct_net_t *mpct_ctx_net(mpct_ctx_t *ctx) { return ctx->net; }
const mpct_kernels *mpct_ctx_kernels(const mpct_ctx_t *ctx) { return ctx->k; }

void mpct_ctx_set_stream(mpct_ctx_t *ctx, uint64_t stream_id)
{
    mpct_prf_reset(ctx->prf_own, stream_id);
    mpct_prf_reset(ctx->prf_next, stream_id);
    ctx->trunc_role = 0; /* a unit's truncations do not depend on what ran before it either */
    ctx->cmp_role = 0;   /* nor its comparisons */
}

mpct_status mpct_ctx_rand_own(mpct_ctx_t *ctx, uint64_t *out, size_t n)
{
    return mpct_prf_fill(ctx->prf_own, out, n);
}

mpct_status mpct_ctx_rand_next(mpct_ctx_t *ctx, uint64_t *out, size_t n)
{
    return mpct_prf_fill(ctx->prf_next, out, n);
}

mpct_status mpct_ctx_zero_share(mpct_ctx_t *ctx, uint64_t *out, size_t n)
{
    uint64_t *t = mpc_tmp(n);
    if (!t)
        return mpct_error_set(MPCT_ERR_NOMEM, "zero-sharing: out of memory for %zu words", n);
    mpct_status st = mpct_prf_fill(ctx->prf_own, out, n);
    if (st == MPCT_OK)
        st = mpct_prf_fill(ctx->prf_next, t, n);
    if (st == MPCT_OK)
        ctx->k->sub(n, out, t, out);
    mpc_tmp_free(t);
    return st;
}

mpct_status mpct_ctx_zero_share_xor(mpct_ctx_t *ctx, uint64_t *out, size_t n)
{
    uint64_t *t = mpc_tmp(n);
    if (!t)
        return mpct_error_set(MPCT_ERR_NOMEM, "zero-sharing: out of memory for %zu words", n);
    mpct_status st = mpct_prf_fill(ctx->prf_own, out, n);
    if (st == MPCT_OK)
        st = mpct_prf_fill(ctx->prf_next, t, n);
    if (st == MPCT_OK)
        ctx->k->xor_(n, out, t, out);
    mpc_tmp_free(t);
    return st;
}
