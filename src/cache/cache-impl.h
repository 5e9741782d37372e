/*
 * cache-impl.h — private to src/cache: the handle, entries, codec, tiers,
 * statistics and the disk-tier entry points shared by the files of
 * src/cache (cache.c, tiers.c, codec.c, stats.c, disk.c, diskdir.c).
 */
#ifndef MPCT_CACHE_IMPL_H
#define MPCT_CACHE_IMPL_H

#include "mpct_cache.h"
#include "mpct_prf.h"

#include <string.h>

/* A little-endian 64-bit word of the cache's formats (headers, blobs,
 * checksummed payloads): one load on little-endian hosts. */
static inline uint64_t cache_get64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* A little-endian 32-bit word (the disk tier's file header). */
static inline uint32_t cache_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ... and cache_get64's writer. */
static inline void cache_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#define CACHE_BUCKETS 1024
#define CACHE_MAX_KINDS 16
#define CACHE_RESERVOIR 1024
#define CACHE_KEY_MAX 512

enum { CACHE_ENC_RAW = 0, CACHE_ENC_LZ4 = 1, CACHE_ENC_PRF = 2 };

typedef struct cache_entry {
    char *key; /* canonical key string (identity, compared on every lookup) */
    size_t key_len;
    uint64_t h;
    struct cache_entry *hnext;         /* hash chain */
    struct cache_entry *lprev, *lnext; /* tier list */
    int tier;
    int kind;
    mpct_shape shape;
    size_t n;
    uint64_t *words; /* L1: s[0] then s[1], 2n words */
    uint8_t *blob;   /* L2: encoded payload */
    size_t blob_len;
    int enc;
    size_t bytes; /* charged to its tier */
    uint64_t tick, freq;
    double t_put;
    /* compact PRF entries */
    int prf;
    unsigned raw_mask; /* compact entries: components stored as words (bit c: s[c]) */
    uint8_t seed[MPCT_CACHE_MAX_SEED];
    size_t seed_len;
    uint64_t stream_id, pos;
    mpct_cache_regen_fn fn;
    void *user;
} cache_entry;

typedef struct cache_lat {
    uint64_t ns[CACHE_RESERVOIR];
    size_t fill;
    uint64_t count;
} cache_lat;

struct mpct_cache {
    mpct_cache_config cfg;
    char *dir;
    size_t l1_budget, l2_budget;
    cache_entry *table[CACHE_BUCKETS];
    cache_entry *head[2];
    size_t tbytes[2], tentries[2];
    uint64_t clock;
    uint64_t hits[MPCT_CACHE_TIERS], misses[MPCT_CACHE_TIERS], evictions[MPCT_CACHE_TIERS];
    uint64_t disk_files, disk_bytes, disk_read_bytes, disk_corrupt, disk_write_errors;
    cache_lat lat[MPCT_CACHE_TIERS];
    uint64_t rng;
    mpct_cache_kind_stats kinds[CACHE_MAX_KINDS];
    size_t nkinds;
    /* adaptive policy */
    mpct_cache_policy adapt_mode;
    uint64_t ghost[128];
    int ghost_next;
    unsigned adapt_lookups, adapt_misses, adapt_regret, adapt_switches;
    double adapt_rate[2]; /* last window hit rate under LRU, LFU; -1 unknown */
    unsigned adapt_age[2]; /* windows since measured */
};

mpct_status cache_key_string(const mpct_cache_key *k, char *buf, size_t len, size_t *out_len) MPCT_WUR;
int cache_kind(mpct_cache_t *c, const char *name);
mpct_status cache_encode(mpct_cache_t *c, const cache_entry *e, uint8_t **blob, size_t *blob_len, int *enc) MPCT_WUR;
mpct_status cache_decode(mpct_cache_t *c, cache_entry *e, const uint8_t *blob, size_t blob_len, int enc) MPCT_WUR;
/* have: bit c set when w[c] already holds component c's stored words (copied
 * by the caller; see cache_blob_words), so only the rest is decoded.
 * zeroed: w0 and w1 are zero-filled (fresh), so components to regenerate
 * need no clearing first. */
mpct_status cache_decode_into(mpct_cache_t *c, cache_entry *e, const uint8_t *blob, size_t blob_len, int enc,
                              uint64_t *w0, uint64_t *w1, unsigned have, int zeroed) MPCT_WUR;
/* Components of a payload stored as plain words: bit c of the result set
 * when component c is the n words at blob + off[c]. 0 for LZ4 payloads and
 * for payloads whose lengths do not fit (the decode then reports those). */
unsigned cache_blob_words(const uint8_t *blob, size_t blob_len, int enc, size_t n, size_t off[2]);
cache_entry *cache_entry_new(const char *key, size_t key_len, uint64_t h, mpct_shape shape, int kind);
void cache_entry_free(cache_entry *e);

/* tiers.c: entries, the hash table, tier lists and eviction. */
size_t cache_words_bytes(const cache_entry *e);            /* bytes of e's 2n words (at least 1) */
void cache_entry_drop_blob(cache_entry *e);                /* wipes and frees e's encoded payload */
size_t cache_entry_charge(const cache_entry *e, int tier); /* bytes e is charged in tier */
cache_entry *cache_lookup(mpct_cache_t *c, const char *key, size_t key_len, uint64_t h);
void cache_tier_unlink(mpct_cache_t *c, cache_entry *e);
void cache_hash_unlink(mpct_cache_t *c, cache_entry *e);
void cache_destroy(mpct_cache_t *c, cache_entry *e); /* unlinks e from its tier and the table, frees it */
int cache_expired(const mpct_cache_t *c, const cache_entry *e, double now);
/* The adaptive policy's bookkeeping, called on every L1 lookup. */
void cache_adapt_on_lookup(mpct_cache_t *c, uint64_t h, int l1_hit);
/* Places e (words set, not linked) into L1, or into L2 when it is larger
 * than L1's whole budget. */
mpct_status cache_insert_l1(mpct_cache_t *c, cache_entry *e) MPCT_WUR;

/* stats.c: records a get served by tier in the latency reservoir. */
void cache_record_get(mpct_cache_t *c, int tier, double seconds);

/* checksum.c: the disk tier's file checksum (see mpct_cache_checksum).
 * Checksum of b[0, n) (the value of mpct_cache_checksum) that copies
 * b[lo, hi) to dst for each span on the way: one pass over b. Spans sorted,
 * disjoint, inside [0, n). */
typedef struct cache_span {
    size_t lo, hi;
    uint8_t *dst;
} cache_span;
uint64_t cache_sum_spans(const uint8_t *b, size_t n, const cache_span *sp, int nsp);

/* disk.c */
mpct_status cache_disk_open(mpct_cache_t *c) MPCT_WUR;
mpct_status cache_disk_path(const char *dir, const char *key, size_t key_len, char *buf, size_t len) MPCT_WUR;
mpct_status cache_disk_write(mpct_cache_t *c, const cache_entry *e) MPCT_WUR;
/* *out = NULL on a miss (absent, or corrupt/stale: warned and removed).
 * With direct != NULL and an entry of direct's element count, the words are
 * decoded straight into direct->s[0], s[1] and (*out)->words stays NULL:
 * stored components are copied while the file is checksummed (one pass), so
 * on a miss for a corrupt file direct's words are unspecified. */
mpct_status cache_disk_read(mpct_cache_t *c, const char *key, size_t key_len, uint64_t h, cache_entry **out,
                            mpct_share *direct) MPCT_WUR;
mpct_status cache_disk_remove(mpct_cache_t *c, const char *key, size_t key_len) MPCT_WUR;

/* disk.c: the entry file format (see disk.c) as diskdir.c also reads it. */
#define CACHE_FILE_HDR 80         /* header bytes; the key string follows */
#define CACHE_FILE_SUFFIX ".mce" /* entry file names: <sha256(key) hex>.mce */
/* A verified entry file, mapped read-only (the bytes are the file's own, so
 * there is nothing to wipe: unmapping is enough). */
typedef struct cache_mapped {
    uint8_t *b;
    size_t n;
    int fd; /* open (with a shared lock for a get) until unmap */
} cache_mapped;
void cache_unmap(cache_mapped *m);
/* Maps path and checks its header and checksum: on success m holds a
 * verified file (m->n = 0: there is no file); a bad file gives
 * MPCT_ERR_FORMAT with *why set. */
mpct_status cache_read_verified(const char *path, cache_mapped *m, const char **why) MPCT_WUR;
/* Atomically replaces path with data (tmp file named tmpl + XXXXXX in dir,
 * fsync, rename). */
mpct_status cache_atomic_write(const char *dir, const char *path, const char *tmpl, const uint8_t *data,
                               size_t n) MPCT_WUR;
void cache_fsync_dir(const char *dir);
/* Overwrites a regular file with zeros (best effort) and unlinks it; a file
 * a reader holds is only unlinked. 0, or -1 with errno set (left alone
 * when path is not a regular file). */
int cache_shred(const char *path);

/* diskdir.c: drops the index line of file fname, then appends line when it
 * is not NULL, under the index lock. Failure is a warning (the index is
 * advisory). */
void cache_index_update(const mpct_cache_t *c, const char *fname, const char *line);

#endif
