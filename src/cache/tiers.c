/*
 * tiers.c — memory tiers of the share cache (L1 plain words, L2 encoded
 * blobs): entries, the hash table, the tier lists, the eviction policies
 * (LRU, LFU, TTL and the adaptive LRU/LFU switch) and the L1 -> L2
 * demotion. The public API over them: cache.c.
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

#include <stdlib.h>
#include <string.h>

#define GHOSTS 128
#define ADAPT_WINDOW 32

/* ---- entries and tiers ---- */
size_t cache_words_bytes(const cache_entry *e)
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

void cache_entry_drop_blob(cache_entry *e)
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
    cache_entry_drop_blob(e);
    mpct_wipe(e->seed, sizeof e->seed);
    free(e->key);
    mpct_wipe(e, sizeof *e);
    free(e);
}

size_t cache_entry_charge(const cache_entry *e, int tier)
{
    size_t over = sizeof *e + e->key_len;
    return over + (tier == MPCT_CACHE_L1 ? cache_words_bytes(e) : e->blob_len);
}

static cache_entry **bucket(mpct_cache_t *c, uint64_t h)
{
    return &c->table[h % CACHE_BUCKETS];
}

cache_entry *cache_lookup(mpct_cache_t *c, const char *key, size_t key_len, uint64_t h)
{
    for (cache_entry *e = *bucket(c, h); e; e = e->hnext)
        if (e->h == h && e->key_len == key_len && !memcmp(e->key, key, key_len))
            return e;
    return NULL;
}

static void tier_link(mpct_cache_t *c, cache_entry *e, int tier)
{
    e->tier = tier;
    e->bytes = cache_entry_charge(e, tier);
    e->lprev = NULL;
    e->lnext = c->head[tier];
    if (c->head[tier])
        c->head[tier]->lprev = e;
    c->head[tier] = e;
    c->tbytes[tier] += e->bytes;
    c->tentries[tier]++;
}

void cache_tier_unlink(mpct_cache_t *c, cache_entry *e)
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

void cache_hash_unlink(mpct_cache_t *c, cache_entry *e)
{
    cache_entry **p = bucket(c, e->h);
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
    e->hnext = NULL;
}

void cache_destroy(mpct_cache_t *c, cache_entry *e)
{
    cache_tier_unlink(c, e);
    cache_hash_unlink(c, e);
    cache_entry_free(e);
}

int cache_expired(const mpct_cache_t *c, const cache_entry *e, double now)
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
            int ee = cache_expired(c, e, now), be = cache_expired(c, best, now);
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

/* Adaptive policy, called on every L1 cache_lookup. Windows of ADAPT_WINDOW
 * lookups; at the end of each, the window's L1 hit rate is recorded for the
 * policy in force. A miss on a key L1 evicted recently (a ghost hit) is
 * regret. Switch LRU <-> LFU when the other policy's last measured hit rate
 * is better by more than 5 points, or, when the other is unmeasured (or its
 * measurement is older than ADAPT_STALE windows), to explore it when more
 * than half of this window's misses were regret. */
#define ADAPT_STALE 16
void cache_adapt_on_lookup(mpct_cache_t *c, uint64_t h, int l1_hit)
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
        cache_destroy(c, v); /* still on disk when there is a disk tier */
    }
    return MPCT_OK;
}

/* e is in the hash table but in no tier list and holds words: encode it
 * into L2, or drop it when L2 cannot hold it. */
static mpct_status to_l2(mpct_cache_t *c, cache_entry *e)
{
    if (c->l2_budget == 0) { /* no L2: dropping needs no encoding (LZ4 of a 300 MB table is not free) */
        c->evictions[MPCT_CACHE_L2]++;
        cache_hash_unlink(c, e);
        cache_entry_free(e);
        return MPCT_OK;
    }
    uint8_t *blob = NULL;
    size_t bl = 0;
    int enc = 0;
    mpct_status st = cache_encode(c, e, &blob, &bl, &enc);
    if (st != MPCT_OK) {
        cache_hash_unlink(c, e);
        cache_entry_free(e);
        return st;
    }
    entry_drop_words(e);
    e->blob = blob;
    e->blob_len = bl;
    e->enc = enc;
    size_t charge = cache_entry_charge(e, MPCT_CACHE_L2);
    if (charge > c->l2_budget) {
        c->evictions[MPCT_CACHE_L2]++;
        cache_hash_unlink(c, e);
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
    cache_tier_unlink(c, e);
    c->evictions[MPCT_CACHE_L1]++;
    if (c->cfg.policy == MPCT_CACHE_ADAPTIVE)
        ghost_add(c, e->h);
    return to_l2(c, e);
}

static mpct_status l1_make_room(mpct_cache_t *c, size_t need, double now)
{
    /* TTL: cache_expired entries go first and are not kept in L2 */
    if (c->cfg.policy == MPCT_CACHE_TTL)
        for (cache_entry *e = c->head[MPCT_CACHE_L1], *nx; e; e = nx) {
            nx = e->lnext;
            if (cache_expired(c, e, now)) {
                c->evictions[MPCT_CACHE_L1]++;
                cache_destroy(c, e);
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
    size_t charge = cache_entry_charge(e, MPCT_CACHE_L1);
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
