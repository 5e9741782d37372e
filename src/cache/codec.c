/*
 * codec.c — the share cache's payload encodings, shared by the L2 tier
 * (tiers.c) and the disk tier (disk.c): byte-plane shuffle + LZ4 when it
 * compresses by at least min_ratio, else the raw words; compact PRF
 * entries store their seed descriptor (and any components kept as words)
 * and regenerate the rest on decode. Also the built-in PRF regenerator.
 *
 * Invariants:
 *  - Decoding checks every length against the entry's element count and
 *    reports MPCT_ERR_FORMAT on a bad blob; it never reads past blob_len.
 *  - Scratch buffers that held share words are wiped before free.
 */
#include "cache-impl.h"

#include <lz4.h>
#include <string.h>

/* ---- codec: shuffle + LZ4, raw, or PRF descriptor ---- */
/* Byte-plane transpose: byte b of word i goes to b * nw + i. Fixed-point
 * values have near-constant high bytes, which this turns into long runs. */
static void shuffle(const uint64_t *w, size_t nw, uint8_t *out)
{
    for (size_t i = 0; i < nw; i++) {
        uint64_t v = w[i];
        for (int b = 0; b < 8; b++)
            out[(size_t)b * nw + i] = (uint8_t)(v >> (8 * b));
    }
}

/* Words [0, n) of the 2n shuffled words go to w0, [n, 2n) to w1. */
static void unshuffle(const uint8_t *in, size_t n, uint64_t *w0, uint64_t *w1)
{
    const size_t nw = 2 * n;
    for (size_t i = 0; i < nw; i++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v |= (uint64_t)in[(size_t)b * nw + i] << (8 * b);
        if (i < n)
            w0[i] = v;
        else
            w1[i - n] = v;
    }
}

/* Compact blob: stream_id, pos, seed_len, raw_mask (u64 each), the seed,
 * then the words of each component whose bit is set in raw_mask. */
static size_t compact_blob_len(size_t seed_len, unsigned raw_mask, size_t n)
{
    return 32 + seed_len + (size_t)__builtin_popcount(raw_mask & 3u) * n * sizeof(uint64_t);
}


mpct_status cache_encode(mpct_cache_t *c, const cache_entry *e, uint8_t **blob, size_t *blob_len, int *enc)
{
    mpct_cache_kind_stats *ks = &c->kinds[e->kind];
    size_t raw = 2 * e->n * sizeof(uint64_t);
    ks->encoded++;
    ks->raw_bytes += raw;
    if (e->prf) {
        size_t bl = compact_blob_len(e->seed_len, e->raw_mask, e->n);
        uint8_t *b = mpct_alloc(bl);
        if (!b)
            return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
        cache_put64(b, e->stream_id);
        cache_put64(b + 8, e->pos);
        cache_put64(b + 16, e->seed_len);
        cache_put64(b + 24, e->raw_mask);
        memcpy(b + 32, e->seed, e->seed_len);
        uint8_t *p = b + 32 + e->seed_len;
        for (int comp = 0; comp < 2; comp++)
            if (e->raw_mask >> comp & 1) {
                memcpy(p, e->words + (size_t)comp * e->n, e->n * sizeof(uint64_t));
                p += e->n * sizeof(uint64_t);
            }
        ks->stored_prf++;
        ks->lz4_bytes += bl; /* the compact form is the "compressed" size */
        ks->stored_bytes += bl;
        *blob = b;
        *blob_len = bl;
        *enc = CACHE_ENC_PRF;
        return MPCT_OK;
    }
    if (raw > (size_t)LZ4_MAX_INPUT_SIZE)
        goto store_raw;
    uint8_t *sh = mpct_alloc(raw);
    int bound = LZ4_compressBound((int)raw);
    uint8_t *z = mpct_alloc((size_t)bound);
    if (!sh || !z) {
        mpct_free_secret(sh);
        mpct_free_secret(z);
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    }
    shuffle(e->words, 2 * e->n, sh);
    int zl = LZ4_compress_default((const char *)sh, (char *)z, (int)raw, bound);
    mpct_free_secret(sh);
    ks->lz4_bytes += zl > 0 ? (uint64_t)zl : raw;
    if (zl > 0 && (double)raw >= c->cfg.min_ratio * (double)zl) {
        uint8_t *b = mpct_alloc((size_t)zl);
        if (!b) {
            mpct_free_secret(z);
            return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
        }
        memcpy(b, z, (size_t)zl);
        mpct_free_secret(z);
        ks->stored_lz4++;
        ks->stored_bytes += (uint64_t)zl;
        *blob = b;
        *blob_len = (size_t)zl;
        *enc = CACHE_ENC_LZ4;
        return MPCT_OK;
    }
    mpct_free_secret(z);
store_raw:;
    uint8_t *b = mpct_alloc(raw ? raw : 1);
    if (!b)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    memcpy(b, e->words, raw);
    ks->stored_raw++;
    ks->stored_bytes += raw;
    *blob = b;
    *blob_len = raw;
    *enc = CACHE_ENC_RAW;
    return MPCT_OK;
}

static int compact_blob_ok(const uint8_t *blob, size_t blob_len, size_t n)
{
    return blob_len >= 32 && cache_get64(blob + 16) <= MPCT_CACHE_MAX_SEED && cache_get64(blob + 24) <= 3 &&
           blob_len == compact_blob_len(cache_get64(blob + 16), (unsigned)cache_get64(blob + 24), n);
}

unsigned cache_blob_words(const uint8_t *blob, size_t blob_len, int enc, size_t n, size_t off[2])
{
    const size_t cw = n * sizeof(uint64_t);
    if (enc == CACHE_ENC_RAW && blob_len == 2 * cw) {
        off[0] = 0;
        off[1] = cw;
        return 3;
    }
    if (enc != CACHE_ENC_PRF || !compact_blob_ok(blob, blob_len, n))
        return 0;
    const unsigned mask = (unsigned)cache_get64(blob + 24);
    size_t p = 32 + (size_t)cache_get64(blob + 16);
    for (int comp = 0; comp < 2; comp++)
        if (mask >> comp & 1) {
            off[comp] = p;
            p += cw;
        }
    return mask;
}

/* Decodes blob into the two components w0, w1 (n words each); components
 * whose bit is set in have are there already; zeroed: w0, w1 are known to be
 * zero-filled (else a component to regenerate is cleared first: the
 * regenerator's contract). For compact blobs fills the entry's seed fields
 * too (e->prf set). Returns MPCT_ERR_FORMAT on a bad blob. */
mpct_status cache_decode_into(mpct_cache_t *c, cache_entry *e, const uint8_t *blob, size_t blob_len, int enc,
                              uint64_t *w0, uint64_t *w1, unsigned have, int zeroed)
{
    const size_t n = e->n, raw = 2 * n * sizeof(uint64_t);
    uint64_t *w[2] = {w0, w1};
    if (enc == CACHE_ENC_RAW) {
        if (blob_len != raw)
            return mpct_error_set(MPCT_ERR_FORMAT, "raw payload is %zu bytes, expected %zu", blob_len, raw);
        for (int comp = 0; comp < 2; comp++)
            if (!(have >> comp & 1))
                memcpy(w[comp], blob + comp * n * sizeof(uint64_t), n * sizeof(uint64_t));
    } else if (enc == CACHE_ENC_LZ4) {
        uint8_t *sh = mpct_alloc(raw ? raw : 1);
        mpct_status st = MPCT_OK;
        if (!sh)
            st = mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
        int got = st == MPCT_OK && blob_len <= (size_t)LZ4_MAX_INPUT_SIZE
                      ? LZ4_decompress_safe((const char *)blob, (char *)sh, (int)blob_len, (int)raw)
                      : -1;
        if (st == MPCT_OK && (got < 0 || (size_t)got != raw))
            st = mpct_error_set(MPCT_ERR_FORMAT, "LZ4 payload does not decompress to %zu bytes", raw);
        if (st == MPCT_OK)
            unshuffle(sh, n, w0, w1);
        mpct_free_secret(sh);
        return st;
    } else if (enc == CACHE_ENC_PRF) {
        if (!compact_blob_ok(blob, blob_len, n))
            return mpct_error_set(MPCT_ERR_FORMAT, "compact PRF descriptor has a bad length");
        e->prf = 1;
        e->stream_id = cache_get64(blob);
        e->pos = cache_get64(blob + 8);
        e->seed_len = (size_t)cache_get64(blob + 16);
        e->raw_mask = (unsigned)cache_get64(blob + 24);
        memcpy(e->seed, blob + 32, e->seed_len);
        if (!e->fn) {
            e->fn = c->cfg.regen;
            e->user = c->cfg.regen_user;
        }
        const uint8_t *p = blob + 32 + e->seed_len;
        for (int comp = 0; comp < 2; comp++)
            if (e->raw_mask >> comp & 1) {
                if (!(have >> comp & 1))
                    memcpy(w[comp], p, n * sizeof(uint64_t));
                p += n * sizeof(uint64_t);
            } else {
                if (!zeroed)
                    memset(w[comp], 0, n * sizeof(uint64_t));
                MPCT_CALL(e->fn(e->user, e->seed, e->seed_len, e->stream_id, e->pos, comp, w[comp], n));
            }
    } else {
        return mpct_error_set(MPCT_ERR_FORMAT, "unknown payload encoding %d", enc);
    }
    return MPCT_OK;
}

/* Decodes blob into e->words (2n, allocated here). */
mpct_status cache_decode(mpct_cache_t *c, cache_entry *e, const uint8_t *blob, size_t blob_len, int enc)
{
    size_t raw = 2 * e->n * sizeof(uint64_t);
    uint64_t *w = mpct_alloc(raw ? raw : 1); /* decode_into clears what it regenerates */
    if (!w)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    mpct_status st = cache_decode_into(c, e, blob, blob_len, enc, w, w + e->n, 0, 0);
    if (st != MPCT_OK) {
        mpct_free_secret(w);
        return st;
    }
    e->words = w;
    return MPCT_OK;
}

mpct_status mpct_cache_regen_prf(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id, uint64_t pos,
                                 int comp, uint64_t *out, size_t n)
{
    (void)user;
    if (seed_len != 2 * MPCT_PRF_KEY_BYTES || comp < 0 || comp > 1)
        return mpct_error_set(MPCT_ERR_ARG, "cache: built-in PRF regenerator needs a 32-byte seed (two AES keys)");
    mpct_prf_t *p = NULL;
    MPCT_CALL(mpct_prf_init(&p, seed + comp * MPCT_PRF_KEY_BYTES, stream_id));
    mpct_status st = mpct_prf_xor_at(p, pos, out, n); /* out arrives zeroed (the regenerator contract) */
    mpct_prf_free(p);
    return st;
}
