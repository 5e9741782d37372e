/*
 * checksum.c — the disk tier's 64-bit file checksum (format 3).
 *
 * Purpose: detect *accidental* damage of a cache file — truncation, bit rot,
 * a torn or partial write, a block of another file — at memory speed. It is
 * not a MAC and not collision resistant: anyone who can write the cache
 * directory can forge it. That is acceptable because a party's cache
 * directory (0700, files 0600) is exactly as trusted as the party itself
 * (semi-honest model; see CACHE.md, "Threat model"). SHA-256 stays in use for
 * the file *names* (key hashing), which are off the hot path.
 *
 * Construction (code written for this project; the lane round and the odd
 * constants are xxHash64's, the block layout, padding and fold are not, so
 * the values differ from xxHash64):
 *   - the input is read as little-endian 64-bit words, 4 words per 32-byte
 *     block; word j of a block goes to lane j (4 independent lanes, so the
 *     multiplies of different lanes overlap in the pipeline);
 *   - lane step: v = rotl(v + w * P2, 31) * P1, with P1, P2 odd. For a fixed
 *     v it is a bijection of w (odd multiply, add, rotate, odd multiply),
 *     and for a fixed w a bijection of v. So changing any one word (hence
 *     any single bit, or any burst inside one aligned word) always changes
 *     that lane's final value: detection is guaranteed, not probable;
 *   - a last partial block is zero padded; the byte length is folded in;
 *   - fold: h = len ^ P5, then for each lane h = rotl(h + v * P2, 31) * P1
 *     (again a bijection of each lane given the others), then an avalanche
 *     of xor-shifts and odd multiplies (bijective).
 * Other damage (several words, reordered blocks) is missed with probability
 * about 2^-64. Measured: see CACHE.md ("Disk tier").
 */
#include "cache-impl.h"

#include <string.h>

/* Incremental state: init, blocks (n a multiple of CACHE_SUM_BLOCK, any
 * number of calls), final (any n: the rest of the input). */
#define CACHE_SUM_BLOCK 32
typedef struct cache_sum {
    uint64_t v[4];
    uint64_t len;
} cache_sum;

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

static inline uint64_t lane_step(uint64_t v, uint64_t w) { return rotl64(v + w * P2, 31) * P1; }

static void cache_sum_init(cache_sum *s)
{
    s->v[0] = P1 + P2;
    s->v[1] = P2;
    s->v[2] = 0;
    s->v[3] = 0 - P1;
    s->len = 0;
}

/* The lane loop over the whole blocks of p[0, n). With dst it also stores
 * each block to dst as it goes: the copy costs no second read of p (the
 * loop is bound by the multiplies, not by memory). Inlined into both
 * callers, so the dst test folds away. */
static inline __attribute__((always_inline)) void sum_run(cache_sum *s, const uint8_t *p, uint8_t *dst, size_t n)
{
    uint64_t a = s->v[0], b = s->v[1], c = s->v[2], d = s->v[3];
    size_t i = 0;
    for (; i + CACHE_SUM_BLOCK <= n; i += CACHE_SUM_BLOCK) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        if (dst)
            memcpy(dst + i, w, sizeof w);
        a = lane_step(a, cache_get64((const uint8_t *)&w[0]));
        b = lane_step(b, cache_get64((const uint8_t *)&w[1]));
        c = lane_step(c, cache_get64((const uint8_t *)&w[2]));
        d = lane_step(d, cache_get64((const uint8_t *)&w[3]));
    }
    s->v[0] = a, s->v[1] = b, s->v[2] = c, s->v[3] = d;
    s->len += i;
}

static void cache_sum_blocks(cache_sum *s, const uint8_t *p, size_t n) { sum_run(s, p, NULL, n); }

static void cache_sum_copy_blocks(cache_sum *s, const uint8_t *p, uint8_t *dst, size_t n) { sum_run(s, p, dst, n); }

static uint64_t cache_sum_final(cache_sum *s, const uint8_t *p, size_t n)
{
    size_t whole = n - n % CACHE_SUM_BLOCK;
    cache_sum_blocks(s, p, whole);
    if (n > whole) {
        uint8_t last[CACHE_SUM_BLOCK] = {0};
        memcpy(last, p + whole, n - whole);
        cache_sum_blocks(s, last, CACHE_SUM_BLOCK);
        s->len -= CACHE_SUM_BLOCK - (n - whole); /* count real bytes only */
    }
    uint64_t h = s->len ^ P5;
    for (int j = 0; j < 4; j++)
        h = lane_step(h, s->v[j]);
    h ^= h >> 33;
    h *= P3;
    h ^= h >> 29;
    h *= P4;
    h ^= h >> 32;
    return h;
}

uint64_t mpct_cache_checksum(const void *p, size_t n)
{
    cache_sum s;
    cache_sum_init(&s);
    return cache_sum_final(&s, p, n);
}

uint64_t cache_sum_spans(const uint8_t *b, size_t n, const cache_span *sp, int nsp)
{
    cache_sum s;
    cache_sum_init(&s);
    size_t at = 0; /* summed so far: b[0, at), a multiple of the block */
    for (int k = 0; k < nsp; k++) {
        const size_t lo = sp[k].lo, hi = sp[k].hi;
        const size_t first = (lo + CACHE_SUM_BLOCK - 1) / CACHE_SUM_BLOCK * CACHE_SUM_BLOCK;
        const size_t last = hi / CACHE_SUM_BLOCK * CACHE_SUM_BLOCK;
        if (first >= last) { /* no whole block inside: plain copy, summed with the rest */
            memcpy(sp[k].dst, b + lo, hi - lo);
            continue;
        }
        cache_sum_blocks(&s, b + at, first - at);
        memcpy(sp[k].dst, b + lo, first - lo);
        cache_sum_copy_blocks(&s, b + first, sp[k].dst + (first - lo), last - first);
        memcpy(sp[k].dst + (last - lo), b + last, hi - last);
        at = last;
    }
    return cache_sum_final(&s, b + at, n - at);
}
