/*
 * cache.c — the share cache's public API: configuration, canonical keys,
 * init/free, put (plain, compact, PRF), get (copy or view), remove and
 * lookups. Memory tiers and eviction policies: tiers.c; payload codec:
 * codec.c; statistics: stats.c; disk tier: disk.c and diskdir.c.
 *
 * Invariants:
 *  - Every in-memory entry sits in exactly one tier (L1 or L2), in the hash
 *    table under its canonical key string, and its bytes are charged to that
 *    tier's budget. L1 bytes <= l1 budget and L2 bytes <= l2 budget after every
 *    call (an entry larger than a whole budget skips that tier).
 *  - A put writes the disk file (when there is a disk tier) before the
 *    entry enters memory; when that write fails, any older file of the key
 *    is removed (best effort) and the entry is kept in memory only.
 *  - Share words, blobs and seeds are wiped before free.
 */
#include "cache-impl.h"

#include <stdlib.h>
#include <string.h>

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
            cache_destroy(c, c->head[t]);
    free(c->dir);
    mpct_wipe(c, sizeof *c);
    free(c);
}

static void remove_mem(mpct_cache_t *c, const char *ks, size_t kl, uint64_t h)
{
    cache_entry *old = cache_lookup(c, ks, kl, h);
    if (old)
        cache_destroy(c, old);
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
    e->words = mpct_alloc(cache_words_bytes(e));
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
    e->words = mpct_calloc(cache_words_bytes(e)); /* zero: what a regenerator may rely on */
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
    cache_entry *e = cache_lookup(c, ks, kl, h);
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
    cache_entry *e = cache_lookup(c, ks, kl, h);
    if (e && cache_expired(c, e, t0)) {
        c->evictions[e->tier]++;
        cache_destroy(c, e);
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
        cache_adapt_on_lookup(c, h, 1);
        *hit = 1;
        cache_record_get(c, MPCT_CACHE_L1, mpct_time_now() - t0);
        return MPCT_OK;
    }
    c->misses[MPCT_CACHE_L1]++;
    cache_adapt_on_lookup(c, h, 0);
    if (e) { /* L2: decode and promote */
        cache_tier_unlink(c, e);
        cache_hash_unlink(c, e);
        mpct_status st = cache_decode(c, e, e->blob, e->blob_len, e->enc);
        if (st != MPCT_OK) {
            cache_entry_free(e);
            mpct_error_trace(__FILE__, __LINE__, __func__);
            return st;
        }
        cache_entry_drop_blob(e);
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
        if (!borrowed && cache_entry_charge(e, MPCT_CACHE_L1) <= c->l1_budget &&
            (e->words = mpct_alloc(cache_words_bytes(e)))) {
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
    cache_entry *e = cache_lookup(c, ks, kl, fnv1a(ks, kl));
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
