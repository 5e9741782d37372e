/*
 * mpct_cache.h — per-party share cache: L1 (plain, in memory), L2 (in memory,
 * LZ4-compressed where that pays, compact PRF-seed form where the protocol
 * allows) and a disk tier (one checksummed file per entry plus an index).
 * Design and threat model: src/cache/CACHE.md.
 *
 * Invariants:
 *  - An entry is identified by its full key (model content hash, party, frac
 *    bits, protocol version, tensor name). The canonical key string is stored
 *    inside every entry and file and compared byte for byte on every get; a
 *    hash of it only picks the bucket / file name. Material made for another
 *    model, party or setting is never returned.
 *  - Every byte of share material the cache holds (L1 words, L2 blobs, PRF
 *    seeds, read/compress buffers) is wiped before it is freed or evicted.
 *  - Disk files are written to a temporary file in the same directory,
 *    fsync'ed and renamed: a reader sees either the old or the new complete
 *    file. A file whose magic, checksum, length or key does not verify is
 *    reported on stderr (naming it), removed and treated as a miss.
 *  - A handle is not thread-safe: one handle per party (per thread). Several
 *    processes may share one cache directory.
 */
#ifndef MPCT_CACHE_H
#define MPCT_CACHE_H

#include "mpct_core.h"
#include "mpct_mpc.h"
#include "mpct_perf.h"

#include <stdio.h>

#define MPCT_CACHE_MAX_HASH 128 /* model content hash: up to 127 chars */
#define MPCT_CACHE_MAX_NAME 256 /* tensor name: up to 255 chars */
#define MPCT_CACHE_MAX_SEED 64  /* PRF seed material of a compact entry */

/* Identity of one cached tensor. Strings must be printable ASCII (no
 * newline); the key is copied, the caller keeps ownership. */
typedef struct mpct_cache_key {
    const char *model_hash;    /* content hash of the model file (hex) */
    int party;                 /* 0, 1 or 2 */
    int frac_bits;             /* fixed-point fractional bits */
    unsigned protocol_version; /* MPCT_PROTOCOL_VERSION */
    const char *name;          /* tensor name, e.g. "layer0.attn.q.w" */
} mpct_cache_key;

typedef enum mpct_cache_policy {
    MPCT_CACHE_LRU = 0, /* evict least recently used */
    MPCT_CACHE_LFU,     /* evict least frequently used (ties: LRU) */
    MPCT_CACHE_TTL,     /* entries expire ttl_s after put; then oldest first */
    MPCT_CACHE_ADAPTIVE /* LRU or LFU, switched by observed regret (CACHE.md) */
} mpct_cache_policy;

typedef enum mpct_cache_tier { MPCT_CACHE_L1 = 0, MPCT_CACHE_L2, MPCT_CACHE_DISK, MPCT_CACHE_TIERS } mpct_cache_tier;

/* Regenerates component comp (0: s[0], 1: s[1]) of a compact entry: writes
 * words [pos, pos + n) of the stream described by (seed, stream_id) to out.
 * out is zero-filled on entry (the cache clears it first where it is not
 * fresh memory), so a component that is zero needs no writes. */
typedef mpct_status (*mpct_cache_regen_fn)(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id,
                                           uint64_t pos, int comp, uint64_t *out, size_t n);

/* Built-in regenerator: seed = two 16-byte AES keys (32 bytes); component c
 * is mpct_prf stream (key c, stream_id) read at [pos, pos + n). */
mpct_status mpct_cache_regen_prf(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id, uint64_t pos,
                                 int comp, uint64_t *out, size_t n) MPCT_WUR;

typedef struct mpct_cache_config {
    size_t l1_bytes;          /* L1 budget; 0: l1_mb MiB */
    size_t l2_bytes;          /* L2 budget; 0: l2_mb MiB */
    size_t l1_mb, l2_mb;      /* job-file settings cache_l1_mb, cache_l2_mb */
    const char *dir;          /* disk tier directory (cache_dir); NULL: none */
    mpct_cache_policy policy; /* L1 eviction policy (L2 is always LRU) */
    double ttl_s;             /* MPCT_CACHE_TTL: lifetime of an entry */
    double min_ratio;         /* store LZ4 only if raw/compressed >= this; default 1.1 */
    mpct_cache_regen_fn regen; /* for compact entries read from disk; default mpct_cache_regen_prf */
    void *regen_user;
    int quiet;                /* nonzero: no stderr warnings (still counted) */
    int map_files;            /* nonzero: a get into an unallocated share (below) may
                                 borrow large stored components from the disk file */
} mpct_cache_config;

mpct_cache_config mpct_cache_config_default(void); /* 256 MiB L1, 256 MiB L2, LRU, no disk */

typedef struct mpct_cache mpct_cache_t;

/* Creates the cache; with cfg->dir, creates the directory (mode 0700) if
 * missing. An unusable directory fails with MPCT_ERR_IO naming it. */
mpct_status mpct_cache_init(mpct_cache_t **out, const mpct_cache_config *cfg) MPCT_WUR;
void mpct_cache_free(mpct_cache_t *c); /* wipes every entry */

/* Stores a copy of x under key (replacing any entry with that key) in L1, and
 * writes it through to the disk tier when there is one. kind is a short label
 * for compression statistics ("weight", "mask", ...; NULL: "share"). A disk
 * write failure returns MPCT_ERR_IO; the memory copy is kept. */
mpct_status mpct_cache_put(mpct_cache_t *c, const mpct_cache_key *key, const mpct_share *x, const char *kind) MPCT_WUR;

/* Compact entry: a share whose two components the party can regenerate from
 * PRF seed material. L2 and disk hold only the descriptor (seed, stream, pos);
 * L1 holds the regenerated words. fn NULL: the config's regenerator. */
typedef struct mpct_cache_prf_desc {
    const uint8_t *seed;
    size_t seed_len; /* <= MPCT_CACHE_MAX_SEED */
    uint64_t stream_id;
    uint64_t pos;
    mpct_shape shape; /* n = numel(shape) words per component */
    mpct_cache_regen_fn fn;
    void *user;
} mpct_cache_prf_desc;
mpct_status mpct_cache_put_prf(mpct_cache_t *c, const mpct_cache_key *key, const mpct_cache_prf_desc *d,
                               const char *kind) MPCT_WUR;
/* Compact entry with some components stored as words: bit c of raw_mask set
 * means s[c] is taken from x and stored; the other component comes from the
 * regenerator (comp = c). raw_mask 0 is mpct_cache_put_prf (x may be NULL). */
mpct_status mpct_cache_put_compact(mpct_cache_t *c, const mpct_cache_key *key, const mpct_share *x,
                                   const mpct_cache_prf_desc *d, unsigned raw_mask, const char *kind) MPCT_WUR;

/* Looks key up in L1, then L2, then disk. On a hit *hit = 1 and out holds a
 * copy (out must be {0} or an initialised share; it is re-initialised when
 * its size differs; free it with mpct_share_free). A miss is *hit = 0 and
 * MPCT_OK; an initialised out of the entry's size may then have been
 * partly overwritten (a disk file is copied into it while it is verified).
 * Hits from L2 / disk are promoted to L1.
 * With cfg.map_files, out may also be an unallocated share of known size
 * (shape and n set, s[0] = s[1] = NULL): a disk hit of that size then
 * allocates out's components itself, and components stored as at least
 * 1 MiB of page-aligned words borrow the file's pages (mpct_map_file: no
 * copy, no fresh memory; private copy-on-write; freed as usual). */
mpct_status mpct_cache_get(mpct_cache_t *c, const mpct_cache_key *key, mpct_share *out, int *hit) MPCT_WUR;

/* Zero-copy get: on a hit, view->s[0] / s[1] point into the cache's L1
 * copy. The view is read-only and valid only until the next call on c (any
 * put, get, remove or free may evict or move it); never free or write it.
 * An entry larger than the whole L1 budget gives MPCT_ERR_RANGE (use
 * mpct_cache_get). */
mpct_status mpct_cache_get_view(mpct_cache_t *c, const mpct_cache_key *key, mpct_share *view, int *hit) MPCT_WUR;

/* Drops key from every tier (memory wiped, file overwritten then unlinked). */
mpct_status mpct_cache_remove(mpct_cache_t *c, const mpct_cache_key *key) MPCT_WUR;

/* Which tier holds key in memory now: MPCT_CACHE_L1, MPCT_CACHE_L2, or -1. */
int mpct_cache_where(mpct_cache_t *c, const mpct_cache_key *key);
/* Path of key's disk file (for tools and tests); MPCT_ERR_ARG without a dir. */
mpct_status mpct_cache_entry_path(mpct_cache_t *c, const mpct_cache_key *key, char *buf, size_t len) MPCT_WUR;
/* Adaptive policy: the policy in force now (LRU or LFU), and switches made. */
mpct_cache_policy mpct_cache_policy_current(const mpct_cache_t *c, unsigned *switches);

typedef struct mpct_cache_tier_stats {
    uint64_t hits, misses, evictions;
    uint64_t entries, bytes; /* now (disk: written by this handle) */
    uint64_t read_bytes;     /* disk: bytes of the files read and verified by this handle */
    uint64_t corrupt;        /* disk: files rejected and removed */
    uint64_t write_errors;   /* disk */
    double hit_rate;         /* hits / (hits + misses), 0 when none */
    double p50_us, p90_us, p99_us; /* latency of gets served by this tier */
} mpct_cache_tier_stats;
void mpct_cache_stats(const mpct_cache_t *c, mpct_cache_tier tier, mpct_cache_tier_stats *out);

/* Compression measured per kind, whenever an entry is encoded (L1 -> L2
 * demotion, disk write). ratio = raw bytes / LZ4 bytes (as measured, even
 * when the entry was then stored raw); stored_ratio = raw / stored. */
typedef struct mpct_cache_kind_stats {
    char name[32];
    uint64_t encoded, stored_raw, stored_lz4, stored_prf;
    uint64_t raw_bytes, lz4_bytes, stored_bytes;
    double ratio, stored_ratio;
} mpct_cache_kind_stats;
/* Fills out[0 .. min(count, max)) and returns the number of kinds. */
size_t mpct_cache_kinds(const mpct_cache_t *c, mpct_cache_kind_stats *out, size_t max);

/* Writes {"l1": {...}, "l2": {...}, "disk": {...}, "kinds": [...], ...} as a
 * member named key (NULL inside an array / at top level). */
void mpct_cache_stats_json(const mpct_cache_t *c, mpct_json *j, const char *key);

/* The disk tier's file checksum: 64 bits over n bytes, read as little-endian
 * words (same value on every host). Any change confined to one aligned 8-byte
 * word (e.g. one flipped bit) always changes it; it detects accidental
 * damage, not tampering. Exposed for tests and tools. */
uint64_t mpct_cache_checksum(const void *p, size_t n);

/* ---- directory tools (no handle; `mpct cache stats|clear|prune`) ---- */
typedef struct mpct_cache_dir_info {
    uint64_t files, bytes;    /* entry files */
    uint64_t valid, corrupt;  /* checksum verified or not */
    uint64_t temp_files;      /* leftovers of interrupted writes */
    uint64_t index_lines;     /* lines in the index */
    uint64_t compact, lz4, raw; /* valid entries by encoding */
} mpct_cache_dir_info;
/* Scans and verifies every entry file (read-only). */
mpct_status mpct_cache_dir_scan(const char *dir, mpct_cache_dir_info *info) MPCT_WUR;
/* Rebuilds the index from the verified entry files (under the index lock). */
mpct_status mpct_cache_dir_reindex(const char *dir, uint64_t *entries) MPCT_WUR;
/* Disk budget: removes the least recently used entry files (by mtime; a
 * disk hit refreshes it) until the directory's entries total at most
 * max_bytes, and drops their index lines under the same lock. Files of one sharing are written and
 * read together, so whole generations tend to go together; a generation
 * that loses a file is detected as incomplete and re-shared. */
typedef struct mpct_cache_prune_info {
    uint64_t bytes_before, bytes_after, bytes_removed, removed, kept;
} mpct_cache_prune_info;
mpct_status mpct_cache_dir_prune(const char *dir, uint64_t max_bytes, mpct_cache_prune_info *info) MPCT_WUR;
/* 1 for the name of a file a cache directory holds (an entry, a temporary
 * file of an interrupted write, the index, its lock), else 0. */
int mpct_cache_file_name(const char *name);
/* Overwrites (best effort) and removes every cache file in dir (entries,
 * temporary files, index, lock); leaves the directory. Counts the files and
 * bytes removed; a cache file that could not be removed is MPCT_ERR_IO
 * naming it (the others are still removed). */
typedef struct mpct_cache_clear_info {
    uint64_t removed, bytes;
} mpct_cache_clear_info;
mpct_status mpct_cache_dir_clear(const char *dir, mpct_cache_clear_info *info) MPCT_WUR;

#endif
