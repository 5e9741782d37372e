/*
 * cache.c — memory tiers of the share cache (L1 plain words, L2 encoded
 * blobs), eviction policies, statistics. Disk tier: disk.c.
 *
 * Invariants:
 *  - Every in-memory entry sits in exactly one tier (L1 or L2), in the hash
 *    table under its canonical key string, and its bytes are charged to that
 *    tier's budget. L1 bytes <= l1 budget and L2 bytes <= l2 budget after every
 *    call (an entry larger than a whole budget skips that tier).
 *  - Victim selection scans the tier (O(entries)); entries are tensors
 *    (hundreds per model), not elements.
 *  - Share words, blobs and seeds are wiped before free.
 */
#include "cache-impl.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#define GHOSTS 128
#define ADAPT_WINDOW 32

mpct_cache_config mpct_cache_config_default(void)
{
    mpct_cache_config c;
    memset(&c, 0, sizeof c);
    c.l1_mb = 256;
    c.l2_mb = 256;
    c.policy = MPCT_CACHE_LRU;
    c.ttl_s = 3600;
    c.min_ratio = 1.1;
    return c;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

mpct_status cache_key_string(const mpct_cache_key *k, char *buf, size_t len, size_t *out_len)
{
    if (!k || !k->model_hash || !k->name)
        return mpct_error_set(MPCT_ERR_ARG, "cache key: model_hash and name are required");
    if (!k->model_hash[0] || strlen(k->model_hash) >= MPCT_CACHE_MAX_HASH || !printable(k->model_hash))
        return mpct_error_set(MPCT_ERR_ARG, "cache key: model_hash must be 1..%d printable characters",
                              MPCT_CACHE_MAX_HASH - 1);
    if (!k->name[0] || strlen(k->name) >= MPCT_CACHE_MAX_NAME || !printable(k->name))
        return mpct_error_set(MPCT_ERR_ARG, "cache key: tensor name must be 1..%d printable characters",
                              MPCT_CACHE_MAX_NAME - 1);
    if (k->party < 0 || k->party > 2)
        return mpct_error_set(MPCT_ERR_ARG, "cache key: party %d is not 0, 1 or 2", k->party);
    if (k->frac_bits < 0 || k->frac_bits > 62)
        return mpct_error_set(MPCT_ERR_ARG, "cache key: frac_bits %d is outside 0..62", k->frac_bits);
    int w = snprintf(buf, len, "mpct-cache-key 1\nmodel=%s\nparty=%d\nfrac=%d\nproto=%u\nname=%s\n", k->model_hash,
                     k->party, k->frac_bits, k->protocol_version, k->name);
    if (w < 0 || (size_t)w >= len)
        return mpct_error_set(MPCT_ERR_ARG, "cache key: too long");
    *out_len = (size_t)w;
    return MPCT_OK;
}

/* ---- latency reservoir ---- */
static void lat_add(cache_lat *l, double s, uint64_t *rng)
{
    uint64_t ns = (uint64_t)(s * 1e9);
    l->count++;
    if (l->fill < CACHE_RESERVOIR) {
        l->ns[l->fill++] = ns;
        return;
    }
    *rng += 0x9e3779b97f4a7c15ull;
    uint64_t z = *rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    uint64_t j = z % l->count;
    if (j < CACHE_RESERVOIR)
        l->ns[j] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void lat_pct(const cache_lat *l, double *p50, double *p90, double *p99)
{
    *p50 = *p90 = *p99 = 0;
    if (!l->fill)
        return;
    uint64_t tmp[CACHE_RESERVOIR];
    memcpy(tmp, l->ns, l->fill * sizeof *tmp);
    qsort(tmp, l->fill, sizeof *tmp, cmp_u64);
    *p50 = tmp[(l->fill - 1) * 50 / 100] * 1e-3;
    *p90 = tmp[(l->fill - 1) * 90 / 100] * 1e-3;
    *p99 = tmp[(l->fill - 1) * 99 / 100] * 1e-3;
}

void cache_record_get(mpct_cache_t *c, int tier, double seconds)
{
    lat_add(&c->lat[tier], seconds, &c->rng);
}

/* ---- kinds ---- */
int cache_kind(mpct_cache_t *c, const char *name)
{
    if (!name || !name[0])
        name = "share";
    for (size_t i = 0; i < c->nkinds; i++)
        if (!strncmp(c->kinds[i].name, name, sizeof c->kinds[i].name - 1))
            return (int)i;
    if (c->nkinds == CACHE_MAX_KINDS)
        return CACHE_MAX_KINDS - 1; /* last slot collects the overflow */
    mpct_cache_kind_stats *k = &c->kinds[c->nkinds];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", c->nkinds == CACHE_MAX_KINDS - 1 ? "other" : name);
    return (int)c->nkinds++;
}

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

/* ---- entries and tiers ---- */
static size_t words_bytes(const cache_entry *e)
{
    size_t r = 2 * e->n * sizeof(uint64_t);
    return r ? r : 1;
}

static void entry_drop_words(cache_entry *e)
{
    if (e->words)
        mpct_free_secret(e->words);
    e->words = NULL;
}

static void entry_drop_blob(cache_entry *e)
{
    if (e->blob)
        mpct_free_secret(e->blob);
    e->blob = NULL;
    e->blob_len = 0;
}

void cache_entry_free(cache_entry *e)
{
    if (!e)
        return;
    entry_drop_words(e);
    entry_drop_blob(e);
    mpct_wipe(e->seed, sizeof e->seed);
    free(e->key);
    mpct_wipe(e, sizeof *e);
    free(e);
}

static size_t entry_charge(const cache_entry *e, int tier)
{
    size_t over = sizeof *e + e->key_len;
    return over + (tier == MPCT_CACHE_L1 ? words_bytes(e) : e->blob_len);
}

static cache_entry **bucket(mpct_cache_t *c, uint64_t h)
{
    return &c->table[h % CACHE_BUCKETS];
}

static cache_entry *lookup(mpct_cache_t *c, const char *key, size_t key_len, uint64_t h)
{
    for (cache_entry *e = *bucket(c, h); e; e = e->hnext)
        if (e->h == h && e->key_len == key_len && !memcmp(e->key, key, key_len))
            return e;
    return NULL;
}

static void tier_link(mpct_cache_t *c, cache_entry *e, int tier)
{
    e->tier = tier;
    e->bytes = entry_charge(e, tier);
    e->lprev = NULL;
    e->lnext = c->head[tier];
    if (c->head[tier])
        c->head[tier]->lprev = e;
    c->head[tier] = e;
    c->tbytes[tier] += e->bytes;
    c->tentries[tier]++;
}

static void tier_unlink(mpct_cache_t *c, cache_entry *e)
{
    int t = e->tier;
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->head[t] = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    e->lprev = e->lnext = NULL;
    c->tbytes[t] -= e->bytes;
    c->tentries[t]--;
}

static void hash_unlink(mpct_cache_t *c, cache_entry *e)
{
    cache_entry **p = bucket(c, e->h);
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
    e->hnext = NULL;
}

static void destroy(mpct_cache_t *c, cache_entry *e)
{
    tier_unlink(c, e);
    hash_unlink(c, e);
    cache_entry_free(e);
}

static int expired(const mpct_cache_t *c, const cache_entry *e, double now)
{
    return c->cfg.policy == MPCT_CACHE_TTL && now - e->t_put > c->cfg.ttl_s;
}

/* Entry of the L1 tier to evict under the policy in force. */
static cache_entry *l1_victim(mpct_cache_t *c, double now)
{
    cache_entry *best = NULL;
    mpct_cache_policy p = c->cfg.policy == MPCT_CACHE_ADAPTIVE ? c->adapt_mode : c->cfg.policy;
    for (cache_entry *e = c->head[MPCT_CACHE_L1]; e; e = e->lnext) {
        if (!best) {
            best = e;
            continue;
        }
        int better = 0;
        switch (p) {
        case MPCT_CACHE_LFU:
            better = e->freq < best->freq || (e->freq == best->freq && e->tick < best->tick);
            break;
        case MPCT_CACHE_TTL: {
            int ee = expired(c, e, now), be = expired(c, best, now);
            better = (ee && !be) || (ee == be && e->t_put < best->t_put);
            break;
        }
        default:
            better = e->tick < best->tick;
        }
        if (better)
            best = e;
    }
    return best;
}

static cache_entry *l2_victim(mpct_cache_t *c)
{
    cache_entry *best = NULL;
    for (cache_entry *e = c->head[MPCT_CACHE_L2]; e; e = e->lnext)
        if (!best || e->tick < best->tick)
            best = e;
    return best;
}

static void ghost_add(mpct_cache_t *c, uint64_t h)
{
    c->ghost[c->ghost_next] = h;
    c->ghost_next = (c->ghost_next + 1) % GHOSTS;
}

/* Adaptive policy, called on every L1 lookup. Windows of ADAPT_WINDOW
 * lookups; at the end of each, the window's L1 hit rate is recorded for the
 * policy in force. A miss on a key L1 evicted recently (a ghost hit) is
 * regret. Switch LRU <-> LFU when the other policy's last measured hit rate
 * is better by more than 5 points, or, when the other is unmeasured (or its
 * measurement is older than ADAPT_STALE windows), to explore it when more
 * than half of this window's misses were regret. */
#define ADAPT_STALE 16
static void adapt_on_lookup(mpct_cache_t *c, uint64_t h, int l1_hit)
{
    if (c->cfg.policy != MPCT_CACHE_ADAPTIVE)
        return;
    c->adapt_lookups++;
    if (!l1_hit) {
        c->adapt_misses++;
        for (int i = 0; i < GHOSTS; i++)
            if (h && c->ghost[i] == h) {
                c->ghost[i] = 0;
                c->adapt_regret++;
                break;
            }
    }
    if (c->adapt_lookups < ADAPT_WINDOW)
        return;
    int cur = c->adapt_mode == MPCT_CACHE_LFU, oth = !cur;
    c->adapt_rate[cur] = 1.0 - (double)c->adapt_misses / (double)c->adapt_lookups;
    c->adapt_age[cur] = 0;
    c->adapt_age[oth]++;
    int known = c->adapt_rate[oth] >= 0 && c->adapt_age[oth] <= ADAPT_STALE;
    int sw = known ? c->adapt_rate[oth] > c->adapt_rate[cur] + 0.05 : 2 * c->adapt_regret > c->adapt_misses;
    if (sw) {
        c->adapt_mode = oth ? MPCT_CACHE_LFU : MPCT_CACHE_LRU;
        c->adapt_switches++;
        memset(c->ghost, 0, sizeof c->ghost);
    }
    c->adapt_lookups = c->adapt_misses = c->adapt_regret = 0;
}

static mpct_status l2_make_room(mpct_cache_t *c, size_t need)
{
    while (c->tbytes[MPCT_CACHE_L2] + need > c->l2_budget) {
        cache_entry *v = l2_victim(c);
        if (!v)
            break;
        c->evictions[MPCT_CACHE_L2]++;
        destroy(c, v); /* still on disk when there is a disk tier */
    }
    return MPCT_OK;
}

/* e is in the hash table but in no tier list and holds words: encode it
 * into L2, or drop it when L2 cannot hold it. */
static mpct_status to_l2(mpct_cache_t *c, cache_entry *e)
{
    if (c->l2_budget == 0) { /* no L2: dropping needs no encoding (LZ4 of a 300 MB table is not free) */
        c->evictions[MPCT_CACHE_L2]++;
        hash_unlink(c, e);
        cache_entry_free(e);
        return MPCT_OK;
    }
    uint8_t *blob = NULL;
    size_t bl = 0;
    int enc = 0;
    mpct_status st = cache_encode(c, e, &blob, &bl, &enc);
    if (st != MPCT_OK) {
        hash_unlink(c, e);
        cache_entry_free(e);
        return st;
    }
    entry_drop_words(e);
    e->blob = blob;
    e->blob_len = bl;
    e->enc = enc;
    size_t charge = entry_charge(e, MPCT_CACHE_L2);
    if (charge > c->l2_budget) {
        c->evictions[MPCT_CACHE_L2]++;
        hash_unlink(c, e);
        cache_entry_free(e);
        return MPCT_OK;
    }
    MPCT_CALL(l2_make_room(c, charge));
    tier_link(c, e, MPCT_CACHE_L2);
    return MPCT_OK;
}

/* Moves e from L1 to L2. */
static mpct_status demote(mpct_cache_t *c, cache_entry *e)
{
    tier_unlink(c, e);
    c->evictions[MPCT_CACHE_L1]++;
    if (c->cfg.policy == MPCT_CACHE_ADAPTIVE)
        ghost_add(c, e->h);
    return to_l2(c, e);
}

static mpct_status l1_make_room(mpct_cache_t *c, size_t need, double now)
{
    /* TTL: expired entries go first and are not kept in L2 */
    if (c->cfg.policy == MPCT_CACHE_TTL)
        for (cache_entry *e = c->head[MPCT_CACHE_L1], *nx; e; e = nx) {
            nx = e->lnext;
            if (expired(c, e, now)) {
                c->evictions[MPCT_CACHE_L1]++;
                destroy(c, e);
            }
        }
    while (c->tbytes[MPCT_CACHE_L1] + need > c->l1_budget) {
        cache_entry *v = l1_victim(c, now);
        if (!v)
            break;
        MPCT_CALL(demote(c, v));
    }
    return MPCT_OK;
}

/* Places e (words set, not linked) into L1, or into L2 when it is larger
 * than L1's whole budget. */
mpct_status cache_insert_l1(mpct_cache_t *c, cache_entry *e)
{
    double now = mpct_time_now();
    e->tick = ++c->clock;
    size_t charge = entry_charge(e, MPCT_CACHE_L1);
    cache_entry **b = bucket(c, e->h);
    e->hnext = *b;
    *b = e;
    if (charge > c->l1_budget)
        return to_l2(c, e);
    MPCT_CALL(l1_make_room(c, charge, now));
    tier_link(c, e, MPCT_CACHE_L1);
    return MPCT_OK;
}

cache_entry *cache_entry_new(const char *key, size_t key_len, uint64_t h, mpct_shape shape, int kind)
{
    cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->key = malloc(key_len + 1);
    if (!e->key) {
        free(e);
        return NULL;
    }
    memcpy(e->key, key, key_len + 1);
    e->key_len = key_len;
    e->h = h;
    e->shape = shape;
    e->n = mpct_shape_numel(shape);
    e->kind = kind;
    e->freq = 1;
    e->t_put = mpct_time_now();
    return e;
}

mpct_status mpct_cache_init(mpct_cache_t **out, const mpct_cache_config *cfg)
{
    *out = NULL;
    mpct_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    c->cfg = cfg ? *cfg : mpct_cache_config_default();
    if (c->cfg.min_ratio <= 0)
        c->cfg.min_ratio = 1.1;
    if (!c->cfg.regen)
        c->cfg.regen = mpct_cache_regen_prf;
    c->l1_budget = c->cfg.l1_bytes ? c->cfg.l1_bytes : c->cfg.l1_mb << 20;
    c->l2_budget = c->cfg.l2_bytes ? c->cfg.l2_bytes : c->cfg.l2_mb << 20;
    c->adapt_mode = MPCT_CACHE_LRU;
    c->adapt_rate[0] = c->adapt_rate[1] = -1;
    c->rng = 0x5eed;
    c->cfg.dir = NULL;
    if (cfg && cfg->dir) {
        c->dir = strdup(cfg->dir);
        if (!c->dir) {
            free(c);
            return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
        }
        c->cfg.dir = c->dir;
        mpct_status st = cache_disk_open(c);
        if (st != MPCT_OK) {
            mpct_cache_free(c);
            return st;
        }
    }
    *out = c;
    return MPCT_OK;
}

void mpct_cache_free(mpct_cache_t *c)
{
    if (!c)
        return;
    for (int t = 0; t < 2; t++)
        while (c->head[t])
            destroy(c, c->head[t]);
    free(c->dir);
    mpct_wipe(c, sizeof *c);
    free(c);
}

static void remove_mem(mpct_cache_t *c, const char *ks, size_t kl, uint64_t h)
{
    cache_entry *old = lookup(c, ks, kl, h);
    if (old)
        destroy(c, old);
}

/* The disk write of a put failed: an older file of this key must not
 * outlive the new memory copy (it could be served after eviction), so it is
 * removed (best effort); the memory copy is kept; the write error returns. */
static mpct_status put_disk_failed(mpct_cache_t *c, cache_entry *e, mpct_status st)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mpct_error_msg());
    if (cache_disk_remove(c, e->key, e->key_len) != MPCT_OK)
        mpct_error_clear();
    if (cache_insert_l1(c, e) != MPCT_OK)
        mpct_error_clear();
    return mpct_error_set(st, "%s", msg);
}

mpct_status mpct_cache_put(mpct_cache_t *c, const mpct_cache_key *key, const mpct_share *x, const char *kind)
{
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    MPCT_CALL(cache_key_string(key, ks, sizeof ks, &kl));
    if (!x || (x->n && (!x->s[0] || !x->s[1])) || x->n != mpct_shape_numel(x->shape))
        return mpct_error_set(MPCT_ERR_ARG, "cache put %s: share is not initialised", key->name);
    uint64_t h = fnv1a(ks, kl);
    remove_mem(c, ks, kl, h);
    cache_entry *e = cache_entry_new(ks, kl, h, x->shape, cache_kind(c, kind));
    if (!e)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    e->words = mpct_alloc(words_bytes(e));
    if (!e->words) {
        cache_entry_free(e);
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    }
    memcpy(e->words, x->s[0], x->n * sizeof(uint64_t));
    memcpy(e->words + x->n, x->s[1], x->n * sizeof(uint64_t));
    if (c->dir) {
        mpct_status st = cache_disk_write(c, e);
        if (st != MPCT_OK)
            return put_disk_failed(c, e, st);
    }
    MPCT_CALL(cache_insert_l1(c, e));
    return MPCT_OK;
}

mpct_status mpct_cache_put_compact(mpct_cache_t *c, const mpct_cache_key *key, const mpct_share *x,
                                   const mpct_cache_prf_desc *d, unsigned raw_mask, const char *kind)
{
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    MPCT_CALL(cache_key_string(key, ks, sizeof ks, &kl));
    if (!d || !d->seed || d->seed_len == 0 || d->seed_len > MPCT_CACHE_MAX_SEED)
        return mpct_error_set(MPCT_ERR_ARG, "cache put %s: PRF seed must be 1..%d bytes", key->name,
                              MPCT_CACHE_MAX_SEED);
    if (raw_mask > 3 || (raw_mask && (!x || x->n != mpct_shape_numel(d->shape) || (x->n && (!x->s[0] || !x->s[1])))))
        return mpct_error_set(MPCT_ERR_ARG, "cache put %s: stored components need a share of the descriptor's shape",
                              key->name);
    uint64_t h = fnv1a(ks, kl);
    remove_mem(c, ks, kl, h);
    cache_entry *e = cache_entry_new(ks, kl, h, d->shape, cache_kind(c, kind ? kind : "prf"));
    if (!e)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    e->prf = 1;
    e->raw_mask = raw_mask;
    memcpy(e->seed, d->seed, d->seed_len);
    e->seed_len = d->seed_len;
    e->stream_id = d->stream_id;
    e->pos = d->pos;
    e->fn = d->fn ? d->fn : c->cfg.regen;
    e->user = d->fn ? d->user : c->cfg.regen_user;
    e->words = mpct_calloc(words_bytes(e)); /* zero: what a regenerator may rely on */
    mpct_status st = e->words ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    for (int comp = 0; comp < 2 && st == MPCT_OK; comp++)
        if (raw_mask >> comp & 1)
            memcpy(e->words + (size_t)comp * e->n, x->s[comp], e->n * sizeof(uint64_t));
        else
            st = e->fn(e->user, e->seed, e->seed_len, e->stream_id, e->pos, comp, e->words + (size_t)comp * e->n,
                       e->n);
    if (st != MPCT_OK) {
        cache_entry_free(e);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    if (c->dir) {
        st = cache_disk_write(c, e);
        if (st != MPCT_OK)
            return put_disk_failed(c, e, st);
    }
    MPCT_CALL(cache_insert_l1(c, e));
    return MPCT_OK;
}

mpct_status mpct_cache_put_prf(mpct_cache_t *c, const mpct_cache_key *key, const mpct_cache_prf_desc *d,
                               const char *kind)
{
    return mpct_cache_put_compact(c, key, NULL, d, 0, kind);
}

static mpct_status copy_out(const cache_entry *e, mpct_share *out)
{
    if (!out->s[0] || out->n != e->n) {
        mpct_share_free(out);
        MPCT_CALL(mpct_share_init(out, e->shape));
    }
    out->shape = e->shape;
    memcpy(out->s[0], e->words, e->n * sizeof(uint64_t));
    memcpy(out->s[1], e->words + e->n, e->n * sizeof(uint64_t));
    return MPCT_OK;
}

static void set_view(const cache_entry *e, mpct_share *v)
{
    v->shape = e->shape;
    v->n = e->n;
    v->s[0] = e->words;
    v->s[1] = e->words + e->n;
}

/* After a promotion: the view must point at the L1-resident entry (an entry
 * larger than the L1 budget is not kept there). */
static mpct_status view_after_insert(mpct_cache_t *c, const char *ks, size_t kl, uint64_t h, mpct_share *v)
{
    cache_entry *e = lookup(c, ks, kl, h);
    if (!e || e->tier != MPCT_CACHE_L1)
        return mpct_error_set(MPCT_ERR_RANGE, "cache: entry is larger than the L1 budget; use mpct_cache_get");
    set_view(e, v);
    return MPCT_OK;
}

/* A hit in L2 or on disk: hand the entry out (copy or view) and promote it
 * into L1. Frees e when the copy fails. */
static mpct_status promote_hit(mpct_cache_t *c, cache_entry *e, const char *ks, size_t kl, uint64_t h,
                               mpct_share *out, int view, int tier, double t0, int *hit)
{
    mpct_status st = view ? MPCT_OK : copy_out(e, out);
    if (st != MPCT_OK) {
        cache_entry_free(e);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    MPCT_CALL(cache_insert_l1(c, e));
    if (view)
        MPCT_CALL(view_after_insert(c, ks, kl, h, out));
    *hit = 1;
    cache_record_get(c, tier, mpct_time_now() - t0);
    return MPCT_OK;
}

static mpct_status get_impl(mpct_cache_t *c, const mpct_cache_key *key, mpct_share *out, int view, int *hit)
{
    double t0 = mpct_time_now();
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    *hit = 0;
    MPCT_CALL(cache_key_string(key, ks, sizeof ks, &kl));
    uint64_t h = fnv1a(ks, kl);
    cache_entry *e = lookup(c, ks, kl, h);
    if (e && expired(c, e, t0)) {
        c->evictions[e->tier]++;
        destroy(c, e);
        e = NULL;
    }
    if (e && e->tier == MPCT_CACHE_L1) {
        e->tick = ++c->clock;
        e->freq++;
        if (view)
            set_view(e, out);
        else
            MPCT_CALL(copy_out(e, out));
        c->hits[MPCT_CACHE_L1]++;
        adapt_on_lookup(c, h, 1);
        *hit = 1;
        cache_record_get(c, MPCT_CACHE_L1, mpct_time_now() - t0);
        return MPCT_OK;
    }
    c->misses[MPCT_CACHE_L1]++;
    adapt_on_lookup(c, h, 0);
    if (e) { /* L2: decode and promote */
        tier_unlink(c, e);
        hash_unlink(c, e);
        mpct_status st = cache_decode(c, e, e->blob, e->blob_len, e->enc);
        if (st != MPCT_OK) {
            cache_entry_free(e);
            mpct_error_trace(__FILE__, __LINE__, __func__);
            return st;
        }
        entry_drop_blob(e);
        e->freq++;
        c->hits[MPCT_CACHE_L2]++;
        return promote_hit(c, e, ks, kl, h, out, view, MPCT_CACHE_L2, t0, hit);
    }
    c->misses[MPCT_CACHE_L2]++;
    if (!c->dir)
        return MPCT_OK;
    /* a copying get into an initialised share of the right size (or, with
     * map_files, an unallocated one) decodes straight into it; the entry is
     * kept in L1 only if it fits there */
    mpct_share *direct = !view && (out->s[0] || (c->cfg.map_files && !out->s[1])) ? out : NULL;
    MPCT_CALL(cache_disk_read(c, ks, kl, h, &e, direct));
    if (!e) {
        c->misses[MPCT_CACHE_DISK]++;
        return MPCT_OK;
    }
    c->hits[MPCT_CACHE_DISK]++;
    e->kind = cache_kind(c, e->prf ? "prf" : "share");
    if (!e->words) {
        out->shape = e->shape;
        /* borrowed file pages stay borrowed: copying them into L1 would
         * read the whole file and duplicate it */
        const int borrowed = mpct_is_file_mapped(out->s[0]) || mpct_is_file_mapped(out->s[1]);
        if (!borrowed && entry_charge(e, MPCT_CACHE_L1) <= c->l1_budget &&
            (e->words = mpct_alloc(words_bytes(e)))) {
            memcpy(e->words, out->s[0], e->n * sizeof(uint64_t));
            memcpy(e->words + e->n, out->s[1], e->n * sizeof(uint64_t));
            MPCT_CALL(cache_insert_l1(c, e));
        } else {
            cache_entry_free(e);
        }
        *hit = 1;
        cache_record_get(c, MPCT_CACHE_DISK, mpct_time_now() - t0);
        return MPCT_OK;
    }
    return promote_hit(c, e, ks, kl, h, out, view, MPCT_CACHE_DISK, t0, hit);
}

mpct_status mpct_cache_get(mpct_cache_t *c, const mpct_cache_key *key, mpct_share *out, int *hit)
{
    return get_impl(c, key, out, 0, hit);
}

mpct_status mpct_cache_get_view(mpct_cache_t *c, const mpct_cache_key *key, mpct_share *view, int *hit)
{
    return get_impl(c, key, view, 1, hit);
}

mpct_status mpct_cache_remove(mpct_cache_t *c, const mpct_cache_key *key)
{
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    MPCT_CALL(cache_key_string(key, ks, sizeof ks, &kl));
    remove_mem(c, ks, kl, fnv1a(ks, kl));
    if (c->dir)
        MPCT_CALL(cache_disk_remove(c, ks, kl));
    return MPCT_OK;
}

int mpct_cache_where(mpct_cache_t *c, const mpct_cache_key *key)
{
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    if (cache_key_string(key, ks, sizeof ks, &kl) != MPCT_OK)
        return -1;
    cache_entry *e = lookup(c, ks, kl, fnv1a(ks, kl));
    return e ? e->tier : -1;
}

mpct_status mpct_cache_entry_path(mpct_cache_t *c, const mpct_cache_key *key, char *buf, size_t len)
{
    char ks[CACHE_KEY_MAX];
    size_t kl = 0;
    if (!c->dir)
        return mpct_error_set(MPCT_ERR_ARG, "cache: no disk tier configured");
    MPCT_CALL(cache_key_string(key, ks, sizeof ks, &kl));
    return cache_disk_path(c->dir, ks, kl, buf, len);
}

mpct_cache_policy mpct_cache_policy_current(const mpct_cache_t *c, unsigned *switches)
{
    if (switches)
        *switches = c->adapt_switches;
    return c->cfg.policy == MPCT_CACHE_ADAPTIVE ? c->adapt_mode : c->cfg.policy;
}

void mpct_cache_stats(const mpct_cache_t *c, mpct_cache_tier tier, mpct_cache_tier_stats *s)
{
    memset(s, 0, sizeof *s);
    s->hits = c->hits[tier];
    s->misses = c->misses[tier];
    s->evictions = c->evictions[tier];
    if (tier == MPCT_CACHE_DISK) {
        s->entries = c->disk_files;
        s->bytes = c->disk_bytes;
        s->read_bytes = c->disk_read_bytes;
        s->corrupt = c->disk_corrupt;
        s->write_errors = c->disk_write_errors;
    } else {
        s->entries = c->tentries[tier];
        s->bytes = c->tbytes[tier];
    }
    s->hit_rate = s->hits + s->misses ? (double)s->hits / (double)(s->hits + s->misses) : 0;
    lat_pct(&c->lat[tier], &s->p50_us, &s->p90_us, &s->p99_us);
}

size_t mpct_cache_kinds(const mpct_cache_t *c, mpct_cache_kind_stats *out, size_t max)
{
    for (size_t i = 0; i < c->nkinds && i < max; i++) {
        out[i] = c->kinds[i];
        out[i].ratio = out[i].lz4_bytes ? (double)out[i].raw_bytes / (double)out[i].lz4_bytes : 0;
        out[i].stored_ratio = out[i].stored_bytes ? (double)out[i].raw_bytes / (double)out[i].stored_bytes : 0;
    }
    return c->nkinds;
}

static const char *policy_name(mpct_cache_policy p)
{
    static const char *n[] = {"lru", "lfu", "ttl", "adaptive"};
    return (unsigned)p < 4 ? n[p] : "?";
}

void mpct_cache_stats_json(const mpct_cache_t *c, mpct_json *j, const char *key)
{
    static const char *tn[] = {"l1", "l2", "disk"};
    mpct_json_obj_open(j, key);
    mpct_json_str(j, "policy", policy_name(c->cfg.policy));
    if (c->cfg.policy == MPCT_CACHE_ADAPTIVE) {
        mpct_json_str(j, "adaptive_mode", policy_name(c->adapt_mode));
        mpct_json_int(j, "adaptive_switches", c->adapt_switches);
    }
    mpct_json_int(j, "l1_budget_bytes", (long long)c->l1_budget);
    mpct_json_int(j, "l2_budget_bytes", (long long)c->l2_budget);
    for (int t = 0; t < MPCT_CACHE_TIERS; t++) {
        if (t == MPCT_CACHE_DISK && !c->dir)
            continue;
        mpct_cache_tier_stats s;
        mpct_cache_stats(c, (mpct_cache_tier)t, &s);
        mpct_json_obj_open(j, tn[t]);
        mpct_json_int(j, "hits", (long long)s.hits);
        mpct_json_int(j, "misses", (long long)s.misses);
        mpct_json_num(j, "hit_rate", s.hit_rate);
        mpct_json_int(j, "entries", (long long)s.entries);
        mpct_json_int(j, "bytes", (long long)s.bytes);
        mpct_json_int(j, "evictions", (long long)s.evictions);
        if (t == MPCT_CACHE_DISK) {
            mpct_json_int(j, "corrupt_removed", (long long)s.corrupt);
            mpct_json_int(j, "write_errors", (long long)s.write_errors);
        }
        mpct_json_num(j, "get_p50_us", s.p50_us);
        mpct_json_num(j, "get_p90_us", s.p90_us);
        mpct_json_num(j, "get_p99_us", s.p99_us);
        mpct_json_obj_close(j);
    }
    mpct_cache_kind_stats ks[CACHE_MAX_KINDS];
    size_t nk = mpct_cache_kinds(c, ks, CACHE_MAX_KINDS);
    mpct_json_arr_open(j, "kinds");
    for (size_t i = 0; i < nk; i++) {
        mpct_json_obj_open(j, NULL);
        mpct_json_str(j, "kind", ks[i].name);
        mpct_json_int(j, "encoded", (long long)ks[i].encoded);
        mpct_json_int(j, "stored_raw", (long long)ks[i].stored_raw);
        mpct_json_int(j, "stored_lz4", (long long)ks[i].stored_lz4);
        mpct_json_int(j, "stored_prf", (long long)ks[i].stored_prf);
        mpct_json_num(j, "lz4_ratio", ks[i].ratio);
        mpct_json_num(j, "stored_ratio", ks[i].stored_ratio);
        mpct_json_obj_close(j);
    }
    mpct_json_arr_close(j);
    mpct_json_obj_close(j);
}
