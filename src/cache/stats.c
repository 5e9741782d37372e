/*
 * stats.c — the share cache's statistics: per-tier hits, misses,
 * evictions and get latencies (a reservoir of CACHE_RESERVOIR samples per
 * tier, percentiles on demand), per-kind encoding counts and ratios, the
 * policy in force, and their JSON form.
 *
 * Invariants: the reservoir is a uniform sample of every get of its tier
 * (Algorithm R with the cache's own deterministic generator); statistics
 * are read without changing the cache.
 */
#include "cache-impl.h"

#include <stdlib.h>
#include <string.h>

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
