/*
 * test_cache.c — share cache (src/cache): round trips through L1, L2 and
 * disk; key isolation; LRU / LFU / TTL / adaptive eviction order; L1 -> L2
 * demotion and promotion; compression ratios per kind; compact PRF entries;
 * corrupt, truncated and stale files (single bit flips anywhere, format-2
 * files); shares borrowing file pages (map_files); the 64-bit file checksum (pinned vectors, every single-bit flip,
 * throughput printed); unwritable directory; full disk;
 * two concurrent writers; clear; JSON statistics; an L1 get microbenchmark
 * (printed, not asserted). Fixed seeds; fails with a non-zero exit.
 */
#include "mpct_cache.h"
#include "mpct_prf.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../mpct_check.h"

static char tmproot[256];

static mpct_cache_key K(const char *name)
{
    mpct_cache_key k = {"sha256:9f2c0a11", 0, 16, MPCT_PROTOCOL_VERSION, name};
    return k;
}

static void fill_random(mpct_share *x, size_t n, uint64_t seed)
{
    MUST(mpct_share_init(x, mpct_shape_1d(n)));
    mpct_rng r = {seed};
    for (size_t i = 0; i < n; i++) {
        x->s[0][i] = mpct_rng_next(&r);
        x->s[1][i] = mpct_rng_next(&r);
    }
}

static int same(const mpct_share *a, const mpct_share *b)
{
    return a->n == b->n && mpct_shape_eq(a->shape, b->shape) &&
           !memcmp(a->s[0], b->s[0], a->n * 8) && !memcmp(a->s[1], b->s[1], a->n * 8);
}

static int get_hit(mpct_cache_t *c, mpct_cache_key k, const mpct_share *expect)
{
    mpct_share out = {0};
    int hit = 0;
    MUST(mpct_cache_get(c, &k, &out, &hit));
    int ok = hit && (!expect || same(&out, expect));
    if (hit && expect && !ok)
        fprintf(stderr, "  %s: hit with wrong contents\n", k.name);
    mpct_share_free(&out);
    return ok;
}

/* L1 budget that holds exactly `count` entries like x named like "X". */
static size_t budget_for(const mpct_share *x, int count)
{
    mpct_cache_config cfg = mpct_cache_config_default();
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_cache_key k = K("X");
    MUST(mpct_cache_put(c, &k, x, NULL));
    mpct_cache_tier_stats s;
    mpct_cache_stats(c, MPCT_CACHE_L1, &s);
    mpct_cache_free(c);
    return (size_t)s.bytes * count + s.bytes / 2;
}

static void test_roundtrip_and_isolation(void)
{
    mpct_cache_t *c;
    mpct_cache_config cfg = mpct_cache_config_default();
    MUST(mpct_cache_init(&c, &cfg));
    mpct_share x = {0};
    fill_random(&x, 1000, 1);
    x.shape = mpct_shape_2d(10, 100);
    mpct_cache_key k = K("layer0.q.w");
    MUST(mpct_cache_put(c, &k, &x, "weight"));
    CHECK(get_hit(c, k, &x), "L1 round trip");
    mpct_cache_key o = k;
    o.party = 1;
    CHECK(!get_hit(c, o, NULL), "other party must miss");
    o = k;
    o.model_hash = "sha256:9f2c0a12";
    CHECK(!get_hit(c, o, NULL), "other model hash must miss");
    o = k;
    o.frac_bits = 12;
    CHECK(!get_hit(c, o, NULL), "other frac bits must miss");
    o = k;
    o.protocol_version = MPCT_PROTOCOL_VERSION + 1;
    CHECK(!get_hit(c, o, NULL), "other protocol version must miss");
    o = k;
    o.name = "layer0.q.W";
    CHECK(!get_hit(c, o, NULL), "other tensor name must miss");
    o = k;
    o.name = "bad\nname";
    mpct_share out = {0};
    int hit;
    CHECK(mpct_cache_get(c, &o, &out, &hit) == MPCT_ERR_ARG, "newline in a name is rejected");
    mpct_cache_tier_stats s;
    mpct_cache_stats(c, MPCT_CACHE_L1, &s);
    CHECK(s.hits == 1 && s.misses == 5, "L1 hits %llu misses %llu", (unsigned long long)s.hits,
          (unsigned long long)s.misses);
    printf("isolation: L1 hit rate %.3f (1 hit, 5 foreign keys missed)\n", s.hit_rate);
    mpct_share_free(&x);
    mpct_cache_free(c);
}

static void test_policies(void)
{
    mpct_share x[5];
    for (int i = 0; i < 5; i++)
        fill_random(&x[i], 512, 100 + i);
    size_t b3 = budget_for(&x[0], 3);
    const char *nm[] = {"A", "B", "C", "D", "E"};
    /* LRU: A B C, touch A, add D -> B leaves L1 */
    for (int pol = 0; pol < 3; pol++) {
        mpct_cache_config cfg = mpct_cache_config_default();
        cfg.l1_bytes = b3;
        cfg.l2_bytes = 64 << 20;
        cfg.policy = (mpct_cache_policy)pol;
        mpct_cache_t *c;
        MUST(mpct_cache_init(&c, &cfg));
        for (int i = 0; i < 3; i++) {
            mpct_cache_key k = K(nm[i]);
            MUST(mpct_cache_put(c, &k, &x[i], NULL));
        }
        /* frequencies A 4, B 3, C 2; recency C > B > A */
        for (int r = 0; r < 3; r++)
            CHECK(get_hit(c, K("A"), &x[0]), "A");
        for (int r = 0; r < 2; r++)
            CHECK(get_hit(c, K("B"), &x[1]), "B");
        CHECK(get_hit(c, K("C"), &x[2]), "C");
        mpct_cache_key kd = K("D");
        MUST(mpct_cache_put(c, &kd, &x[3], NULL));
        /* LRU evicts A (least recent), LFU evicts C (least frequent),
         * TTL (nothing expired) evicts A (oldest put) */
        const char *expect = pol == MPCT_CACHE_LFU ? "C" : "A";
        int where[3];
        for (int i = 0; i < 3; i++)
            where[i] = mpct_cache_where(c, &(mpct_cache_key){"sha256:9f2c0a11", 0, 16, MPCT_PROTOCOL_VERSION, nm[i]});
        for (int i = 0; i < 3; i++) {
            int want = !strcmp(nm[i], expect) ? MPCT_CACHE_L2 : MPCT_CACHE_L1;
            CHECK(where[i] == want, "policy %d: %s in tier %d, want %d", pol, nm[i], where[i], want);
        }
        printf("policy %s: evicted %s first\n", pol == 0 ? "lru" : pol == 1 ? "lfu" : "ttl", expect);
        mpct_cache_free(c);
    }
    /* TTL expiry: an entry older than ttl_s is a miss in every memory tier */
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.policy = MPCT_CACHE_TTL;
    cfg.ttl_s = 0.05;
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_cache_key ka = K("A");
    MUST(mpct_cache_put(c, &ka, &x[0], NULL));
    CHECK(get_hit(c, ka, &x[0]), "fresh TTL entry hits");
    nanosleep(&(struct timespec){0, 80 * 1000 * 1000}, NULL);
    CHECK(!get_hit(c, ka, NULL), "expired TTL entry misses");
    CHECK(mpct_cache_where(c, &ka) == -1, "expired entry is gone");
    mpct_cache_free(c);

    /* hot set + scan: H1 H2 Sa Sb H1 H2 Sc Sd ... with room for 3. LRU
     * thrashes (stack distance 4 > 3); LFU keeps H1, H2. The adaptive policy
     * starts as LRU, sees regret, explores LFU, measures it better and stays. */
    double rate[3];
    const mpct_cache_policy pols[3] = {MPCT_CACHE_LRU, MPCT_CACHE_LFU, MPCT_CACHE_ADAPTIVE};
    const char *hs[] = {"H1", "H2", "S1", "S2", "S3", "S4"};
    mpct_share y[6];
    for (int i = 0; i < 6; i++)
        fill_random(&y[i], 512, 200 + i);
    for (int pi = 0; pi < 3; pi++) {
        cfg = mpct_cache_config_default();
        cfg.l1_bytes = b3;
        cfg.l2_bytes = 64 << 20;
        cfg.policy = pols[pi];
        MUST(mpct_cache_init(&c, &cfg));
        for (int i = 0; i < 6; i++) {
            mpct_cache_key k = K(hs[i]);
            MUST(mpct_cache_put(c, &k, &y[i], NULL));
        }
        int all_ok = 1;
        for (int it = 0; it < 200; it++) {
            int seq[4] = {0, 1, 2 + (2 * it) % 4, 2 + (2 * it + 1) % 4};
            for (int q = 0; q < 4; q++)
                all_ok &= get_hit(c, K(hs[seq[q]]), &y[seq[q]]);
        }
        CHECK(all_ok, "policy %d: every get hits (L1 or L2) with the right data", pi);
        mpct_cache_tier_stats s;
        mpct_cache_stats(c, MPCT_CACHE_L1, &s);
        rate[pi] = s.hit_rate;
        if (pi == 2) {
            unsigned sw = 0;
            mpct_cache_policy now = mpct_cache_policy_current(c, &sw);
            CHECK(now == MPCT_CACHE_LFU && sw >= 1, "adaptive should settle on LFU (now %d, %u switches)", now, sw);
            printf("adaptive: %u switch(es), settled on %s\n", sw, now == MPCT_CACHE_LFU ? "lfu" : "lru");
        }
        mpct_cache_free(c);
    }
    printf("hot set + scan, L1 hit rate: lru %.3f  lfu %.3f  adaptive %.3f\n", rate[0], rate[1], rate[2]);
    CHECK(rate[0] < 0.05 && rate[1] > 0.45 && rate[2] > 0.4, "LRU thrashes, LFU and adaptive keep the hot set");
    for (int i = 0; i < 6; i++)
        mpct_share_free(&y[i]);
    for (int i = 0; i < 5; i++)
        mpct_share_free(&x[i]);
}

static void test_l2_and_compression(void)
{
    mpct_share rnd = {0}, st = {0};
    size_t n = 1 << 15;
    fill_random(&rnd, n, 7);
    MUST(mpct_share_init(&st, mpct_shape_1d(n)));
    /* structured: public small integers in fixed point (x0 = c, x1 = 0), as
     * mpct_share_public lays them out (party 0's view) */
    mpct_rng r = {9};
    for (size_t i = 0; i < n; i++)
        st.s[0][i] = mpct_fxp_encode((double)(int)(mpct_rng_next(&r) % 21) - 10, 16);
    size_t b1 = budget_for(&rnd, 1);
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.l1_bytes = b1;
    cfg.l2_bytes = 64 << 20;
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_cache_key kr = K("random"), ks = K("structured");
    MUST(mpct_cache_put(c, &kr, &rnd, "random-share"));
    MUST(mpct_cache_put(c, &ks, &st, "small-int"));
    CHECK(mpct_cache_where(c, &kr) == MPCT_CACHE_L2, "random demoted to L2");
    CHECK(mpct_cache_where(c, &ks) == MPCT_CACHE_L1, "structured in L1");
    CHECK(get_hit(c, kr, &rnd), "L2 get (raw) returns the data");
    CHECK(mpct_cache_where(c, &kr) == MPCT_CACHE_L1, "promoted to L1");
    CHECK(mpct_cache_where(c, &ks) == MPCT_CACHE_L2, "structured demoted");
    CHECK(get_hit(c, ks, &st), "L2 get (LZ4) returns the data");
    {
        mpct_share v = {0};
        int hit = 0;
        CHECK(mpct_cache_where(c, &kr) == MPCT_CACHE_L2, "random back in L2");
        MUST(mpct_cache_get_view(c, &kr, &v, &hit));
        CHECK(hit && same(&v, &rnd) && mpct_cache_where(c, &kr) == MPCT_CACHE_L1, "view promotes from L2");
    }
    mpct_cache_tier_stats s1, s2;
    mpct_cache_stats(c, MPCT_CACHE_L1, &s1);
    mpct_cache_stats(c, MPCT_CACHE_L2, &s2);
    CHECK(s2.hits == 3 && s1.evictions == 4, "L2 hits %llu, L1 evictions %llu", (unsigned long long)s2.hits,
          (unsigned long long)s1.evictions);
    mpct_cache_kind_stats k[8];
    size_t nk = mpct_cache_kinds(c, k, 8);
    for (size_t i = 0; i < nk; i++) {
        printf("compression kind %-13s encoded %llu  LZ4 ratio %.3f  stored ratio %.3f  (raw %llu, lz4 %llu)\n",
               k[i].name, (unsigned long long)k[i].encoded, k[i].ratio, k[i].stored_ratio,
               (unsigned long long)k[i].stored_raw, (unsigned long long)k[i].stored_lz4);
        if (!strcmp(k[i].name, "random-share"))
            CHECK(k[i].ratio < 1.02 && k[i].stored_raw == k[i].encoded && k[i].stored_lz4 == 0,
                  "random shares must be measured ~1.0 and stored raw (ratio %.3f)", k[i].ratio);
        if (!strcmp(k[i].name, "small-int"))
            CHECK(k[i].ratio > 3 && k[i].stored_lz4 == k[i].encoded, "small ints must compress (ratio %.3f)",
                  k[i].ratio);
    }
    CHECK(nk == 2, "two kinds, got %zu", nk);
    printf("L1->L2: L1 hit rate %.3f, L2 hit rate %.3f\n", s1.hit_rate, s2.hit_rate);
    mpct_cache_free(c);
    mpct_share_free(&rnd);
    mpct_share_free(&st);
}

/* Two AES keys (a built-in regenerator's seed) derived from s. */
static void seed_keys(uint64_t s, uint8_t seed[32])
{
    mpct_prf_derive_key(s, 0, seed);
    mpct_prf_derive_key(s, 1, seed + 16);
}

/* A cache whose every get reads the disk file (no memory copy survives). */
static mpct_cache_config disk_only(const char *dir)
{
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.dir = dir;
    cfg.l1_bytes = 1;
    cfg.l2_bytes = 1;
    return cfg;
}

static void prf_expected(const uint8_t *seed, uint64_t sid, uint64_t pos, mpct_share *x, size_t n)
{
    MUST(mpct_share_init(x, mpct_shape_1d(n)));
    for (int c = 0; c < 2; c++) {
        mpct_prf_t *p;
        MUST(mpct_prf_init(&p, seed + 16 * c, sid));
        MUST(mpct_prf_fill_at(p, pos, x->s[c], n));
        mpct_prf_free(p);
    }
}

static void test_prf_compact(const char *dir)
{
    uint8_t seed[32];
    seed_keys(42, seed);
    size_t n = 4096;
    mpct_share want = {0};
    prf_expected(seed, 7, 1000, &want, n);
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.dir = dir;
    cfg.l1_bytes = 1; /* everything goes straight to L2 */
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_cache_key k = K("mask.layer3");
    mpct_cache_prf_desc d = {seed, 32, 7, 1000, mpct_shape_1d(n), NULL, NULL};
    MUST(mpct_cache_put_prf(c, &k, &d, NULL));
    CHECK(mpct_cache_where(c, &k) == MPCT_CACHE_L2, "compact entry in L2");
    mpct_cache_tier_stats s;
    mpct_cache_stats(c, MPCT_CACHE_L2, &s);
    CHECK(s.bytes < 2048, "compact entry charges %llu bytes of L2", (unsigned long long)s.bytes);
    CHECK(get_hit(c, k, &want), "compact entry regenerates exactly (L2)");
    {
        mpct_share v = {0};
        int hit = 0;
        CHECK(mpct_cache_get_view(c, &k, &v, &hit) == MPCT_ERR_RANGE, "view of an entry larger than L1 is refused");
    }
    mpct_cache_kind_stats ks[4];
    size_t nk = mpct_cache_kinds(c, ks, 4);
    CHECK(nk >= 1 && !strcmp(ks[0].name, "prf") && ks[0].stored_prf >= 1, "prf kind recorded");
    printf("compression kind %-13s LZ4-equivalent ratio %.1f (%zu-element share as a %llu-byte descriptor)\n",
           "prf", ks[0].ratio, n, (unsigned long long)(ks[0].stored_bytes / (ks[0].encoded ? ks[0].encoded : 1)));
    mpct_cache_free(c);
    cfg.l1_bytes = 0;
    MUST(mpct_cache_init(&c, &cfg));
    CHECK(get_hit(c, k, &want), "compact entry regenerates exactly (from disk)");
    mpct_cache_free(c);
    mpct_share_free(&want);
}

/* Compact entries with one component stored as words (the weight-cache
 * form): the stored component comes back verbatim, the other regenerates;
 * both from L2 and from disk; descriptor-only size for the PRF part. */
static void test_compact_mixed(const char *dir)
{
    uint8_t seed[32];
    seed_keys(43, seed);
    const size_t n = 3000;
    for (unsigned mask = 1; mask <= 2; mask++) {
        mpct_share want = {0};
        prf_expected(seed, 9, 77, &want, n);
        const int data = mask == 1 ? 0 : 1;
        for (size_t i = 0; i < n; i++)
            want.s[data][i] = 0x9e3779b97f4a7c15ull * (i + 1) ^ mask;
        mpct_cache_config cfg = mpct_cache_config_default();
        cfg.dir = dir;
        cfg.l1_bytes = 1; /* straight to L2 */
        mpct_cache_t *c;
        MUST(mpct_cache_init(&c, &cfg));
        mpct_cache_key k = K(mask == 1 ? "mixed.s0" : "mixed.s1");
        mpct_cache_prf_desc d = {seed, 32, 9, 77, mpct_shape_1d(n), NULL, NULL};
        MUST(mpct_cache_put_compact(c, &k, &want, &d, mask, "weight"));
        mpct_cache_tier_stats s;
        mpct_cache_stats(c, MPCT_CACHE_L2, &s);
        CHECK(s.bytes >= n * 8 && s.bytes < n * 8 + 2048, "mixed entry (mask %u) charges %llu bytes of L2, want one "
              "component", mask, (unsigned long long)s.bytes);
        CHECK(get_hit(c, k, &want), "mixed entry (mask %u) comes back exactly from L2", mask);
        mpct_cache_free(c);
        cfg.l1_bytes = 0;
        MUST(mpct_cache_init(&c, &cfg));
        CHECK(get_hit(c, k, &want), "mixed entry (mask %u) comes back exactly from disk", mask);
        mpct_cache_free(c);
        mpct_share_free(&want);
    }
    /* a stored component needs a share of the descriptor's shape */
    mpct_cache_config cfg = mpct_cache_config_default();
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_cache_key k = K("mixed.bad");
    mpct_cache_prf_desc d = {seed, 32, 9, 77, mpct_shape_1d(n), NULL, NULL};
    CHECK(mpct_cache_put_compact(c, &k, NULL, &d, 1, NULL) == MPCT_ERR_ARG, "stored component without a share refused");
    CHECK(mpct_cache_put_compact(c, &k, NULL, &d, 4, NULL) == MPCT_ERR_ARG, "bad component mask refused");
    mpct_error_clear();
    { /* the mask alone must be refused, with a valid share too */
        mpct_share ok = {0};
        MUST(mpct_share_init(&ok, mpct_shape_1d(n)));
        CHECK(mpct_cache_put_compact(c, &k, &ok, &d, 4, NULL) == MPCT_ERR_ARG,
              "bad component mask refused with a valid share");
        mpct_error_clear();
        mpct_share_free(&ok);
    }
    mpct_cache_free(c);
}

/* The disk tier's file checksum: values pinned (they define format 3, so a
 * change here must bump the format), every single-bit flip of a buffer
 * changes it, and its throughput (printed, not asserted). */
static void test_checksum(void)
{
    uint8_t b[1000];
    for (int i = 0; i < 1000; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    const struct {
        size_t n;
        uint64_t want;
    } vec[] = {{0, 0xde0cfe52fbaa6d85ull},
               {3, 0x1605696acd54179dull}, /* "abc" */
               {32, 0x5fa62503bc54b006ull},
               {999, 0x1db78f76c707d69aull},
               {1000, 0x108a136e3b244374ull}};
    for (size_t v = 0; v < sizeof vec / sizeof vec[0]; v++) {
        uint64_t got = mpct_cache_checksum(v == 1 ? (const void *)"abc" : b, vec[v].n);
        CHECK(got == vec[v].want, "checksum vector %zu (%zu bytes): %016llx, pinned %016llx", v, vec[v].n,
              (unsigned long long)got, (unsigned long long)vec[v].want);
    }
    const uint64_t h = mpct_cache_checksum(b, sizeof b);
    int missed = 0;
    for (size_t bit = 0; bit < 8 * sizeof b; bit++) {
        b[bit / 8] ^= (uint8_t)(1u << bit % 8);
        missed += mpct_cache_checksum(b, sizeof b) == h;
        b[bit / 8] ^= (uint8_t)(1u << bit % 8);
    }
    CHECK(missed == 0, "%d of %zu single-bit flips leave the checksum unchanged", missed, 8 * sizeof b);
    CHECK(mpct_cache_checksum(b, 999) != mpct_cache_checksum(b, 1000), "length is part of the checksum");
    /* throughput on 64 MiB (hot in the CPU's caches as far as they reach):
     * best of 5, against SHA-256 (format 2) on the same buffer */
    const size_t big = (size_t)64 << 20;
    uint8_t *m = malloc(big);
    CHECK(m != NULL, "malloc");
    if (!m)
        return;
    mpct_rng r = {11};
    for (size_t i = 0; i < big; i += 8) {
        uint64_t w = mpct_rng_next(&r);
        memcpy(m + i, &w, 8);
    }
    double best = 1e9, best_sha = 1e9;
    volatile uint64_t sink = 0;
    uint8_t d[SHA256_DIGEST_LENGTH];
    for (int rep = 0; rep < 5; rep++) {
        double t0 = mpct_time_now();
        sink ^= mpct_cache_checksum(m, big);
        double t1 = mpct_time_now();
        SHA256(m, big, d);
        double t2 = mpct_time_now();
        best = t1 - t0 < best ? t1 - t0 : best;
        best_sha = t2 - t1 < best_sha ? t2 - t1 : best_sha;
    }
    printf("bench: file checksum %.2f GB/s, SHA-256 %.2f GB/s (64 MiB, one core, best of 5)\n", big / best / 1e9,
           big / best_sha / 1e9);
    free(m);
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f, "open %s", path);
    if (!f)
        return;
    fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
    int ch = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(ch ^ 0x20, f);
    fclose(f);
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int k = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        k += !strncmp(de->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return k;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    *n = 0;
    struct stat sb;
    FILE *f = stat(path, &sb) == 0 && sb.st_size > 0 ? fopen(path, "rb") : NULL;
    uint8_t *b = f ? malloc((size_t)sb.st_size) : NULL;
    if (b && fread(b, 1, (size_t)sb.st_size, f) == (size_t)sb.st_size)
        *n = (size_t)sb.st_size;
    if (f)
        fclose(f);
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "write %s", path);
    if (f)
        fclose(f);
    chmod(path, 0600);
}

/* get into a share initialised with x's shape (the cache then decodes
 * straight into it, the path `mpct run` uses) or into {0} */
static int get_into(mpct_cache_t *c, mpct_cache_key k, const mpct_share *expect, int direct)
{
    if (!direct)
        return get_hit(c, k, expect);
    mpct_share out = {0};
    MUST(mpct_share_init(&out, expect->shape));
    memset(out.s[0], 0xa5, out.n * 8); /* stale contents must be overwritten */
    memset(out.s[1], 0x5a, out.n * 8);
    int hit = 0;
    MUST(mpct_cache_get(c, &k, &out, &hit));
    int ok = hit && same(&out, expect);
    if (hit && !ok)
        fprintf(stderr, "  %s: direct hit with wrong contents\n", k.name);
    mpct_share_free(&out);
    return ok;
}

/* A regenerator that relies on the contract that out is zero on entry:
 * component 1 is zero (it writes nothing), component 0 the built-in PRF. */
static mpct_status regen_zero1(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id, uint64_t pos,
                               int comp, uint64_t *out, size_t n)
{
    if (comp == 1)
        return MPCT_OK;
    return mpct_cache_regen_prf(user, seed, seed_len, stream_id, pos, comp, out, n);
}

/* Disk reads that decode straight into the caller's share (checksum and copy
 * in one pass) give exactly the stored words, for every encoding, for sizes
 * and key lengths that put the payload at every alignment, and for
 * components of fewer words than one checksum block. */
static void test_disk_direct(const char *dir)
{
    uint8_t seed[32];
    seed_keys(44, seed);
    const size_t sizes[] = {1, 3, 4, 5, 37, 1000, 4099};
    const char *names[] = {"d", "dd.x", "ddd.xyz", "dddd.x.yzw"}; /* payload offsets mod 8 / 32 differ */
    mpct_cache_config cfg = disk_only(dir);
    int bad = 0, total = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (unsigned mask = 0; mask <= 3; mask++) { /* 3: a plain (raw) entry; 0: seed only; 1, 2: mixed */
            const size_t n = sizes[si];
            mpct_share want = {0};
            prf_expected(seed, 5, 11 + n, &want, n);
            if (mask == 3)
                for (size_t i = 0; i < n; i++)
                    want.s[1][i] ^= 0x5bd1e995u * (i + 3);
            for (int c = 0; c < 2 && mask != 3; c++)
                if (mask >> c & 1)
                    for (size_t i = 0; i < n; i++)
                        want.s[c][i] = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)c;
            const char *nm = names[(si + mask) % 4];
            mpct_cache_key k = K(nm);
            mpct_cache_t *c;
            MUST(mpct_cache_init(&c, &cfg));
            if (mask == 3) {
                MUST(mpct_cache_put(c, &k, &want, NULL));
            } else {
                mpct_cache_prf_desc d = {seed, 32, 5, 11 + n, mpct_shape_1d(n), NULL, NULL};
                MUST(mpct_cache_put_compact(c, &k, mask ? &want : NULL, &d, mask, "weight"));
            }
            for (int direct = 0; direct <= 1; direct++, total++)
                if (!get_into(c, k, &want, direct)) {
                    fprintf(stderr, "  n %zu mask %u key %s direct %d\n", n, mask, nm, direct);
                    bad++;
                }
            MUST(mpct_cache_remove(c, &k));
            mpct_cache_free(c);
            mpct_share_free(&want);
        }
    CHECK(bad == 0, "%d of %d disk reads differ from the stored shares", bad, total);
    /* a zero component regenerated by writing nothing: zero on every path
     * (disk into a fresh, a dirty and an unallocated share) */
    const size_t n = (size_t)1 << 17;
    mpct_share want = {0};
    prf_expected(seed, 6, 0, &want, n);
    memset(want.s[1], 0, n * 8);
    mpct_cache_key k = K("zero.comp");
    mpct_cache_prf_desc d = {seed, 32, 6, 0, mpct_shape_1d(n), regen_zero1, NULL};
    cfg.regen = regen_zero1;
    cfg.map_files = 1;
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    MUST(mpct_cache_put_compact(c, &k, NULL, &d, 0, "weight"));
    mpct_share un = {.shape = want.shape, .n = n};
    int hit = 0;
    MUST(mpct_cache_get(c, &k, &un, &hit));
    CHECK(get_into(c, k, &want, 0) && get_into(c, k, &want, 1) && hit && same(&un, &want),
          "zero component comes back zero (fresh, dirty and unallocated destinations)");
    mpct_share_free(&un);
    MUST(mpct_cache_remove(c, &k));
    mpct_cache_free(c);
    mpct_share_free(&want);
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* map_files: a get into an unallocated share borrows large stored
 * components from the file (no copy), allocates the rest; the words equal
 * the stored ones; writes to a borrowed component stay private; removing
 * the entry while its pages are borrowed leaves them intact (the file is
 * unlinked, not overwritten); a bit flip in the alignment padding is
 * detected; without map_files nothing is borrowed. */
static void test_disk_map(const char *dir)
{
    uint8_t seed[32];
    seed_keys(46, seed);
    const size_t big = (size_t)1 << 17; /* 1 MiB per component */
    const struct {
        size_t n;
        unsigned mask; /* 3: raw entry (both stored), else compact with these stored */
        unsigned mapped;
    } cases[] = {{big, 3, 3}, {big + 3, 3, 1}, {big + 5, 1, 1}, {big, 2, 2}, {big, 0, 0}, {1000, 3, 0}};
    mpct_cache_config cfg = disk_only(dir);
    cfg.map_files = 1;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const size_t n = cases[ci].n;
        const unsigned mask = cases[ci].mask;
        mpct_share want = {0};
        prf_expected(seed, 8, 3 * ci, &want, n);
        mpct_rng r = {ci + 1};
        for (int c = 0; c < 2; c++)
            if (mask >> c & 1)
                for (size_t i = 0; i < n; i++)
                    want.s[c][i] = mpct_rng_next(&r);
        mpct_cache_key k = K("map.w");
        mpct_cache_t *c;
        MUST(mpct_cache_init(&c, &cfg));
        if (mask == 3) {
            MUST(mpct_cache_put(c, &k, &want, NULL));
        } else {
            mpct_cache_prf_desc d = {seed, 32, 8, 3 * ci, mpct_shape_1d(n), NULL, NULL};
            MUST(mpct_cache_put_compact(c, &k, mask ? &want : NULL, &d, mask, "weight"));
        }
        for (int round = 0; round < 2; round++) {
            mpct_share out = {.shape = want.shape, .n = n};
            int hit = 0;
            MUST(mpct_cache_get(c, &k, &out, &hit));
            CHECK(hit && same(&out, &want), "case %zu: borrowed get returns the stored shares", ci);
            unsigned got = (unsigned)mpct_is_file_mapped(out.s[0]) | (unsigned)mpct_is_file_mapped(out.s[1]) << 1;
            CHECK(got == cases[ci].mapped, "case %zu: components mapped %u, want %u", ci, got, cases[ci].mapped);
            if (hit && out.n == n) {
                out.s[0][0] ^= 1; /* copy on write: never reaches the file */
                out.s[1][n - 1] ^= 1;
            }
            mpct_share_free(&out);
        }
        /* remove while borrowed: unlinked, not overwritten */
        mpct_share held = {.shape = want.shape, .n = n};
        int hit = 0;
        MUST(mpct_cache_get(c, &k, &held, &hit));
        char path[4200];
        MUST(mpct_cache_entry_path(c, &k, path, sizeof path));
        MUST(mpct_cache_remove(c, &k));
        CHECK(!exists(path), "case %zu: removed", ci);
        CHECK(hit && same(&held, &want), "case %zu: borrowed pages intact after the entry was removed", ci);
        mpct_share_free(&held);
        mpct_cache_free(c);
        mpct_share_free(&want);
    }
    /* the padding is checksummed too; without map_files nothing is mapped */
    mpct_share want = {0};
    fill_random(&want, big, 47);
    mpct_cache_key k = K("map.pad");
    mpct_cache_t *c;
    cfg.quiet = 1;
    MUST(mpct_cache_init(&c, &cfg));
    MUST(mpct_cache_put(c, &k, &want, NULL));
    char path[4200];
    MUST(mpct_cache_entry_path(c, &k, path, sizeof path));
    size_t len = 0;
    uint8_t *orig = slurp(path, &len);
    const uint64_t po = orig && len > 80 ? le64_at(orig + 72) : 0;
    const uint32_t kl = orig ? (uint32_t)le64_at(orig + 16) : 0;
    CHECK(po % 4096 == 0 && po > 80u + kl, "large raw entry: payload page aligned after padding (offset %llu)",
          (unsigned long long)po);
    if (orig && po > 80u + kl) {
        orig[80 + kl + (po - 80 - kl) / 2] ^= 0x10;
        spit(path, orig, len);
        mpct_share out = {.shape = want.shape, .n = big};
        int hit = 1;
        MUST(mpct_cache_get(c, &k, &out, &hit));
        CHECK(!hit && !exists(path), "bit flip in the padding detected");
        mpct_share_free(&out);
    }
    free(orig);
    MUST(mpct_cache_put(c, &k, &want, NULL));
    mpct_cache_free(c);
    cfg.map_files = 0;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_share out = {.shape = want.shape, .n = big};
    int hit = 0;
    MUST(mpct_cache_get(c, &k, &out, &hit));
    CHECK(hit && same(&out, &want) && !mpct_is_file_mapped(out.s[0]) && !mpct_is_file_mapped(out.s[1]),
          "without map_files: a copy");
    mpct_share_free(&out);
    MUST(mpct_cache_remove(c, &k));
    mpct_cache_free(c);
    mpct_share_free(&want);
}

/* One flipped bit anywhere in an entry file (header, key, payload words,
 * descriptor, checksum) makes it a miss: removed and counted as corrupt
 * (the warning itself is quiet here); the
 * caller then stores it again (what `mpct run` does by re-sharing) and it
 * hits. A format-2 file of the same entry (SHA-256 trailer) is stale. */
static void test_disk_integrity(const char *dir)
{
    uint8_t seed[32];
    seed_keys(45, seed);
    const size_t n = 1500;
    mpct_cache_config cfg = disk_only(dir);
    mpct_rng r = {99};
    for (int kind = 0; kind < 2; kind++) { /* 0: raw entry, 1: mixed compact entry (weights) */
        mpct_share want = {0};
        prf_expected(seed, 3, 0, &want, n);
        for (size_t i = 0; i < n; i++)
            want.s[0][i] = mpct_rng_next(&r);
        mpct_cache_key k = K(kind ? "flip.mixed" : "flip.raw");
        mpct_cache_prf_desc d = {seed, 32, 3, 0, mpct_shape_1d(n), NULL, NULL};
        mpct_cache_t *c;
        cfg.quiet = kind; /* the warnings of the raw entry are shown: see the log */
        MUST(mpct_cache_init(&c, &cfg));
        if (kind)
            MUST(mpct_cache_put_compact(c, &k, &want, &d, 1, "weight"));
        else
            MUST(mpct_cache_put(c, &k, &want, NULL));
        char path[4200];
        MUST(mpct_cache_entry_path(c, &k, path, sizeof path));
        size_t len = 0;
        uint8_t *orig = slurp(path, &len);
        CHECK(orig && len > n * 8, "read back %s", path);
        if (!orig) {
            mpct_cache_free(c);
            mpct_share_free(&want);
            return;
        }
        uint8_t *bad = malloc(len);
        const int flips = 96;
        int missed = 0;
        if (!kind)
            fprintf(stderr, "(one checksum warning expected next; %d more silenced)\n", 2 * flips - 1);
        for (int t = 0; t < flips; t++) {
            /* one position in each 1/flips of the file, a random bit of it */
            size_t pos = (size_t)t * len / flips + mpct_rng_next(&r) % (len / flips);
            memcpy(bad, orig, len);
            bad[pos] ^= (uint8_t)(1u << mpct_rng_next(&r) % 8);
            spit(path, bad, len);
            if (get_into(c, k, &want, t & 1) || exists(path)) {
                fprintf(stderr, "  bit flip at byte %zu of %zu not detected\n", pos, len);
                missed++;
            }
            if (t == 0) { /* the rest quietly */
                mpct_cache_free(c);
                cfg.quiet = 1;
                MUST(mpct_cache_init(&c, &cfg));
            }
        }
        CHECK(missed == 0, "%d of %d single-bit flips were not detected", missed, flips);
        mpct_cache_tier_stats sd;
        mpct_cache_stats(c, MPCT_CACHE_DISK, &sd);
        CHECK(sd.corrupt == flips - 1, "corrupt count %llu, want %d", (unsigned long long)sd.corrupt, flips - 1);
        /* recompute: store again, then it hits (both read paths) */
        if (kind)
            MUST(mpct_cache_put_compact(c, &k, &want, &d, 1, "weight"));
        else
            MUST(mpct_cache_put(c, &k, &want, NULL));
        CHECK(get_into(c, k, &want, 0) && get_into(c, k, &want, 1), "stored again after corruption: hits");
        /* the same entry as a format-2 file: 32-byte SHA-256 trailer */
        /* format 2: 72-byte header (no payload offset field), no padding,
         * SHA-256 of everything before it */
        uint64_t po = 0;
        uint32_t kl = 0;
        memcpy(&po, orig + 72, 8);
        memcpy(&kl, orig + 16, 4);
        CHECK(po == 80u + kl, "small entry: payload right after the key (no padding)");
        const size_t l2 = 72 + (len - 80 - 8);
        uint8_t *v2 = malloc(l2 + 32);
        memcpy(v2, orig, 72);
        memcpy(v2 + 72, orig + 80, len - 88);
        v2[8] = 2; /* format field */
        SHA256(v2, l2, v2 + l2);
        spit(path, v2, l2 + 32);
        uint64_t before = sd.corrupt;
        if (!kind)
            fprintf(stderr, "(one stale-format warning expected next)\n");
        mpct_cache_free(c);
        cfg.quiet = kind;
        MUST(mpct_cache_init(&c, &cfg));
        CHECK(!get_into(c, k, &want, kind), "format-2 file must miss");
        CHECK(!exists(path), "format-2 file is removed");
        mpct_cache_stats(c, MPCT_CACHE_DISK, &sd);
        CHECK(sd.corrupt == 1, "format-2 file counted (%llu, before %llu)", (unsigned long long)sd.corrupt,
              (unsigned long long)before);
        spit(path, orig, len);
        CHECK(get_into(c, k, &want, 1), "the intact format-3 file hits");
        MUST(mpct_cache_remove(c, &k));
        mpct_cache_free(c);
        free(v2);
        free(bad);
        free(orig);
        mpct_share_free(&want);
    }
}

static void test_disk(const char *dir)
{
    mpct_share x = {0};
    fill_random(&x, 2000, 5);
    x.shape = mpct_shape_3d(4, 10, 50); /* the shape must survive the disk round trip */
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.dir = dir;
    cfg.quiet = 0; /* the warnings are part of what is tested: see the log */
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "dir mode %o", sb.st_mode & 0777);
    const char *names[] = {"w.corrupt", "w.trunc", "w.stale", "w.ok"};
    char path[4][4200];
    for (int i = 0; i < 4; i++) {
        mpct_cache_key k = K(names[i]);
        MUST(mpct_cache_put(c, &k, &x, NULL));
        MUST(mpct_cache_entry_path(c, &k, path[i], sizeof path[i]));
        CHECK(stat(path[i], &sb) == 0 && (sb.st_mode & 0777) == 0600, "file mode %o", sb.st_mode & 0777);
    }
    mpct_cache_free(c);
    /* corrupt one byte in the payload */
    flip_byte(path[0], 500);
    /* truncate */
    CHECK(truncate(path[1], 300) == 0, "truncate");
    /* stale: move the v1 file to where the v(next) key's file lives */
    mpct_cache_key kv = K("w.stale");
    kv.protocol_version = MPCT_PROTOCOL_VERSION + 1;
    MUST(mpct_cache_init(&c, &cfg));
    char vpath[4200];
    MUST(mpct_cache_entry_path(c, &kv, vpath, sizeof vpath));
    CHECK(rename(path[2], vpath) == 0, "rename");
    fprintf(stderr, "(three warnings expected next: corrupt, truncated, stale)\n");
    CHECK(!get_hit(c, K("w.corrupt"), NULL), "corrupt file must miss");
    CHECK(!get_hit(c, K("w.trunc"), NULL), "truncated file must miss");
    CHECK(!get_hit(c, kv, NULL), "stale file (other version) must miss");
    CHECK(!exists(path[0]) && !exists(path[1]) && !exists(vpath), "bad files are removed");
    CHECK(get_hit(c, K("w.ok"), &x), "intact file hits from disk");
    CHECK(get_hit(c, K("w.ok"), &x), "then from L1");
    mpct_cache_tier_stats sd;
    mpct_cache_stats(c, MPCT_CACHE_DISK, &sd);
    CHECK(sd.corrupt == 3 && sd.hits == 1 && sd.misses == 3, "disk corrupt %llu hits %llu misses %llu",
          (unsigned long long)sd.corrupt, (unsigned long long)sd.hits, (unsigned long long)sd.misses);
    printf("disk: hit rate %.3f, %llu bad files removed, get p50 %.1f us\n", sd.hit_rate,
           (unsigned long long)sd.corrupt, sd.p50_us);
    mpct_cache_free(c);

    /* unwritable directory: a path under a regular file */
    char fpath[4200], bad[4300];
    snprintf(fpath, sizeof fpath, "%s/plainfile", tmproot);
    FILE *f = fopen(fpath, "w");
    fputs("x", f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", fpath);
    mpct_cache_config cb = cfg;
    cb.dir = bad;
    mpct_status st = mpct_cache_init(&c, &cb);
    CHECK(st == MPCT_ERR_IO && c == NULL, "unusable dir -> MPCT_ERR_IO");
    printf("unwritable dir: %s\n", mpct_error_msg());

    /* full disk mid-write: RLIMIT_FSIZE in a child, SIGXFSZ ignored */
    pid_t pid = fork();
    if (pid == 0) {
        mpct_cache_t *cc;
        if (mpct_cache_init(&cc, &cfg) != MPCT_OK)
            _exit(10);
        mpct_cache_key k = K("w.full");
        mpct_share old = {0};
        fill_random(&old, 100, 77);
        if (mpct_cache_put(cc, &k, &old, NULL) != MPCT_OK) /* small: fits */
            _exit(12);
        mpct_share_free(&old);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &rl);
        /* 32 KB > 4 KB limit: fails mid-write; the old file must go too */
        mpct_status s2 = mpct_cache_put(cc, &k, &x, NULL);
        fprintf(stderr, "full disk: put -> %s: %s\n", mpct_status_str(s2), mpct_error_msg());
        int stay = mpct_cache_where(cc, &k) == MPCT_CACHE_L1;
        mpct_cache_free(cc);
        _exit(s2 == MPCT_ERR_IO && stay ? 0 : 11);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "full-disk child status %d", wst);
    CHECK(count_prefix(dir, ".tmp-") == 0, "no temp file left after a failed write");
    MUST(mpct_cache_init(&c, &cfg));
    CHECK(!get_hit(c, K("w.full"), NULL), "failed write leaves no entry (old file of the key removed too)");
    mpct_cache_free(c);

    /* two concurrent writers of the same entry (different contents) */
    mpct_share y = {0};
    fill_random(&y, 2000, 6);
    pid_t kids[2];
    for (int w = 0; w < 2; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            mpct_cache_config cw = cfg;
            cw.quiet = 1;
            mpct_cache_t *cc;
            if (mpct_cache_init(&cc, &cw) != MPCT_OK)
                _exit(20);
            mpct_cache_key k = K("w.race");
            for (int r = 0; r < 40; r++)
                if (mpct_cache_put(cc, &k, w ? &y : &x, NULL) != MPCT_OK)
                    _exit(21);
            mpct_cache_free(cc);
            _exit(0);
        }
    }
    for (int w = 0; w < 2; w++) {
        waitpid(kids[w], &wst, 0);
        CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "writer %d status %d", w, wst);
    }
    MUST(mpct_cache_init(&c, &cfg));
    mpct_share out = {0};
    int hit = 0;
    mpct_cache_key kr = K("w.race");
    MUST(mpct_cache_get(c, &kr, &out, &hit));
    CHECK(hit && (same(&out, &x) || same(&out, &y)), "race leaves one whole, valid entry");
    mpct_share_free(&out);
    mpct_cache_free(c);
    mpct_cache_dir_info info;
    MUST(mpct_cache_dir_scan(dir, &info));
    printf("dir after race: %llu files, %llu valid, %llu corrupt, %llu temp, %llu index lines\n",
           (unsigned long long)info.files, (unsigned long long)info.valid, (unsigned long long)info.corrupt,
           (unsigned long long)info.temp_files, (unsigned long long)info.index_lines);
    CHECK(info.corrupt == 0 && info.temp_files == 0 && info.valid == info.files, "dir is clean");
    /* the index is advisory: the stale test moved a file behind the cache's
     * back, leaving one line too many; reindex rebuilds it from the files */
    uint64_t nidx = 0;
    MUST(mpct_cache_dir_reindex(dir, &nidx));
    MUST(mpct_cache_dir_scan(dir, &info));
    CHECK(nidx == info.files && info.index_lines == info.files, "index has one line per entry file (%llu vs %llu)",
          (unsigned long long)info.index_lines, (unsigned long long)info.files);

    /* clear */
    mpct_cache_clear_info ci;
    uint64_t bytes_before = info.bytes;
    MUST(mpct_cache_dir_clear(dir, &ci));
    MUST(mpct_cache_dir_scan(dir, &info));
    CHECK(ci.removed >= 3 && info.files == 0 && info.index_lines == 0, "clear removed %llu, %llu left",
          (unsigned long long)ci.removed, (unsigned long long)info.files);
    CHECK(ci.bytes >= bytes_before, "clear counted %llu bytes, the entries alone had %llu",
          (unsigned long long)ci.bytes, (unsigned long long)bytes_before);
    mpct_share_free(&x);
    mpct_share_free(&y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_json_and_bench(void)
{
    mpct_cache_config cfg = mpct_cache_config_default();
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    size_t sizes[] = {256, 4096};
    for (int si = 0; si < 2; si++) {
        mpct_share x = {0}, out = {0};
        fill_random(&x, sizes[si], 11);
        mpct_cache_key k = K(si ? "bench.4096" : "bench.256");
        MUST(mpct_cache_put(c, &k, &x, NULL));
        int hit;
        enum { R = 20001 };
        static double t[R];
        for (int r = 0; r < R; r++) {
            double t0 = mpct_time_now();
            MUST(mpct_cache_get(c, &k, &out, &hit));
            t[r] = mpct_time_now() - t0;
        }
        qsort(t, R, sizeof t[0], cmp_dbl);
        double hi = t[R / 2];
        mpct_share v = {0};
        for (int r = 0; r < R; r++) {
            double t0 = mpct_time_now();
            MUST(mpct_cache_get_view(c, &k, &v, &hit));
            t[r] = mpct_time_now() - t0;
        }
        CHECK(hit && same(&v, &x), "view equals the put data");
        qsort(t, R, sizeof t[0], cmp_dbl);
        printf("bench: L1 get of a %zu-element share (%zu KiB): median %.3f us copy, %.3f us zero-copy view "
               "(target < 1 us)\n",
               sizes[si], 16 * sizes[si] / 1024, hi * 1e6, t[R / 2] * 1e6);
        mpct_share_free(&x);
        mpct_share_free(&out);
    }
    mpct_json j;
    mpct_json_begin(&j, stdout, 1);
    mpct_cache_stats_json(c, &j, NULL);
    mpct_json_end(&j);
    printf("\n");
    mpct_cache_tier_stats s;
    mpct_cache_stats(c, MPCT_CACHE_L1, &s);
    CHECK(s.hits == 80004 && s.p50_us > 0 && s.p99_us >= s.p50_us, "L1 stats after bench");
    mpct_cache_free(c);
}

/* `test_cache --populate DIR`: writes three entries (raw, LZ4, compact PRF)
 * for the `mpct cache` CLI test. */
static int populate(const char *dir)
{
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.dir = dir;
    mpct_cache_t *c;
    MUST(mpct_cache_init(&c, &cfg));
    mpct_share r = {0}, z = {0};
    fill_random(&r, 1000, 3);
    MUST(mpct_share_init(&z, mpct_shape_1d(1000)));
    mpct_cache_key k1 = K("random"), k2 = K("zeros"), k3 = K("mask");
    MUST(mpct_cache_put(c, &k1, &r, NULL));
    MUST(mpct_cache_put(c, &k2, &z, NULL));
    uint8_t seed[32] = {1, 2, 3};
    mpct_cache_prf_desc d = {seed, 32, 1, 0, mpct_shape_1d(100), NULL, NULL};
    MUST(mpct_cache_put_prf(c, &k3, &d, NULL));
    mpct_cache_free(c);
    mpct_share_free(&r);
    mpct_share_free(&z);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--populate"))
        return populate(argv[2]);
    snprintf(tmproot, sizeof tmproot, "/tmp/mpct-cache-test-XXXXXX");
    if (!mkdtemp(tmproot)) {
        perror("mkdtemp");
        return 1;
    }
    char dir[300], dir2[300];
    snprintf(dir, sizeof dir, "%s/cache/sub", tmproot);
    snprintf(dir2, sizeof dir2, "%s/prf", tmproot);
    test_checksum();
    test_roundtrip_and_isolation();
    test_policies();
    test_l2_and_compression();
    test_prf_compact(dir2);
    test_compact_mixed(dir2);
    test_disk(dir);
    test_disk_direct(dir2);
    test_disk_integrity(dir2);
    test_disk_map(dir2);
    test_json_and_bench();
    mpct_cache_clear_info rm;
    CHECK(mpct_cache_dir_clear(dir2, &rm) == MPCT_OK, "clear %s: %s", dir2, mpct_error_msg());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmproot);
    CHECK(system(cmd) == 0, "%s", cmd);
    return mpct_check_done("test_cache");
}
