/*
 * disk.c — disk tier of the share cache: the entry file format, writing
 * (atomic replace), reading (checksum, optional mapping of large plain
 * components) and removal (shred). The index and the directory tools
 * (scan, clear, reindex, prune): diskdir.c.
 *
 * Entry file "<sha256(key) hex>.mce", little-endian:
 *   0  magic "MPCTCSH\0"        8
 *   8  u32 format (3)           12 u32 encoding (0 raw, 1 shuffle+LZ4, 2 compact)
 *   16 u32 key length           20 u32 ndim
 *   24 u64 dim[4]               56 u64 n (elements per component)
 *   64 u64 payload length       72 u64 payload offset
 *   80 key string, zero padding up to the payload offset, payload,
 *   last 8 bytes: u64 mpct_cache_checksum() of everything before them.
 * The padding is empty unless the payload stores components as at least
 * MAP_MIN bytes of plain words: then the first of them starts on an ALIGN
 * boundary, so a reader can map it instead of copying it (map_files).
 * Format 3 replaced format 2's SHA-256 trailer by the 64-bit checksum of
 * checksum.c (~8x faster; reading a warm cache was bound by SHA-256). It
 * detects accidental corruption (truncation, bit rot, torn writes), not
 * tampering: a party's cache directory (0700, files 0600) is as trusted as
 * the party itself (semi-honest model). Files of formats 1 and 2 are stale:
 * warned about, removed, a miss (the caller recomputes them).
 * Invariants: files are written to ".tmp-XXXXXX" in the same directory
 * (mode 0600), fsync'ed and renamed over the target, so readers see a whole
 * old or a whole new file; the directory is 0700. A file that fails any
 * check is warned about, unlinked and counted as a miss. A reader holds
 * flock(LOCK_SH) on an entry file while it reads it and, through the
 * duplicated descriptor of mpct_map_file, while a share borrows its pages;
 * cache_shred() overwrites only files it can lock exclusively and just
 * unlinks the others.
 */
#include "cache-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT 3
#define SUM 8 /* trailer: the checksum */
#define ALIGN 4096 /* payload words that may be mapped start on this boundary */
#define MAP_MIN ((size_t)1 << 20) /* ... when a component has at least this many bytes */

static const char MAGIC[8] = {'M', 'P', 'C', 'T', 'C', 'S', 'H', 0};

static void p32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void warn(const mpct_cache_t *c, const char *path, const char *why)
{
    if (!c || !c->cfg.quiet)
        mpct_warnf("mpct cache: warning: %s: %s; removed, treated as a miss\n", path, why);
}

static mpct_status mkdirs(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return mpct_error_set(MPCT_ERR_ARG, "cache dir %s: path too long", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char save = *p;
            *p = 0;
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return mpct_error_set(MPCT_ERR_IO, "cache dir %s: cannot create %s: %s", dir, tmp, strerror(errno));
            *p = save;
            if (!save)
                break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: not a directory", dir);
    return MPCT_OK;
}

mpct_status cache_disk_open(mpct_cache_t *c)
{
    MPCT_CALL(mkdirs(c->dir));
    struct stat sb;
    if (stat(c->dir, &sb) == 0 && (sb.st_mode & 077) && sb.st_uid == geteuid())
        (void)chmod(c->dir, 0700); /* shares live here: owner only */
    if (access(c->dir, W_OK | X_OK) != 0)
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: not writable: %s", c->dir, strerror(errno));
    return MPCT_OK;
}

mpct_status cache_disk_path(const char *dir, const char *key, size_t key_len, char *buf, size_t len)
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, key_len, d);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    int w = snprintf(buf, len, "%s/%s" CACHE_FILE_SUFFIX, dir, hex);
    if (w < 0 || (size_t)w >= len)
        return mpct_error_set(MPCT_ERR_ARG, "cache dir %s: path too long", dir);
    return MPCT_OK;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void cache_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Atomically replaces path with data (tmp file in dir, fsync, rename). */
mpct_status cache_atomic_write(const char *dir, const char *path, const char *tmpl, const uint8_t *data, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/%sXXXXXX", dir, tmpl);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot create a temporary file in %s: %s", dir, strerror(errno));
    if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        cache_shred(tmp); /* a partly written entry: zeros before the unlink */
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot write %s: %s", path, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        cache_shred(tmp);
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot install %s: %s", path, strerror(e));
    }
    cache_fsync_dir(dir);
    return MPCT_OK;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Where the payload starts: right after the key, or padded so that the
 * first component stored as plain words starts on an ALIGN boundary when
 * the components are large enough to be worth mapping. */
static uint64_t payload_offset(size_t key_len, const uint8_t *blob, size_t bl, int enc, size_t n)
{
    size_t off[2];
    const unsigned mask = cache_blob_words(blob, bl, enc, n, off);
    const uint64_t po = CACHE_FILE_HDR + key_len;
    if (!mask || n * sizeof(uint64_t) < MAP_MIN)
        return po;
    const uint64_t first = off[mask & 1 ? 0 : 1];
    return (po + first + ALIGN - 1) / ALIGN * ALIGN - first;
}

mpct_status cache_disk_write(mpct_cache_t *c, const cache_entry *e)
{
    char path[4200];
    MPCT_CALL(cache_disk_path(c->dir, e->key, e->key_len, path, sizeof path));
    uint8_t *blob = NULL;
    size_t bl = 0;
    int enc = 0;
    MPCT_CALL(cache_encode(c, e, &blob, &bl, &enc));
    const uint64_t po = payload_offset(e->key_len, blob, bl, enc, e->n);
    size_t total = (size_t)po + bl + SUM;
    uint8_t *buf = mpct_alloc(total);
    if (!buf) {
        mpct_free_secret(blob);
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    }
    memset(buf, 0, (size_t)po); /* header, key and padding */
    memcpy(buf, MAGIC, 8);
    p32(buf + 8, FORMAT);
    p32(buf + 12, (uint32_t)enc);
    p32(buf + 16, (uint32_t)e->key_len);
    p32(buf + 20, (uint32_t)e->shape.ndim);
    for (int i = 0; i < MPCT_MAX_DIMS; i++)
        cache_put64(buf + 24 + 8 * i, i < e->shape.ndim ? e->shape.dim[i] : 0);
    cache_put64(buf + 56, e->n);
    cache_put64(buf + 64, bl);
    cache_put64(buf + 72, po);
    memcpy(buf + CACHE_FILE_HDR, e->key, e->key_len);
    memcpy(buf + po, blob, bl);
    mpct_free_secret(blob);
    cache_put64(buf + total - SUM, mpct_cache_checksum(buf, total - SUM));
    mpct_status st = cache_atomic_write(c->dir, path, ".tmp-", buf, total);
    mpct_free_secret(buf);
    if (st != MPCT_OK) {
        c->disk_write_errors++;
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    c->disk_files++;
    c->disk_bytes += total;
    char line[CACHE_KEY_MAX + 200];
    int w = snprintf(line, sizeof line, "%s %zu ", base(path), total);
    for (size_t i = 0; i < e->key_len && w + 1 < (int)sizeof line; i++)
        line[w++] = e->key[i] == '\n' ? ' ' : e->key[i];
    while (w > 0 && line[w - 1] == ' ')
        w--;
    line[w] = 0;
    cache_index_update(c, base(path), line);
    return MPCT_OK;
}

void cache_unmap(cache_mapped *m)
{
    if (m->b)
        munmap(m->b, m->n);
    if (m->fd >= 0)
        close(m->fd);
    m->b = NULL;
    m->n = 0;
    m->fd = -1;
}

/* Offset of the payload (checked by map_entry) */
static uint64_t payload_at(const cache_mapped *m) { return cache_get64(m->b + 72); }

/* Maps path and checks what the header alone can tell (magic, format,
 * lengths) — not the checksum. On a bad file returns MPCT_ERR_FORMAT with
 * *why set; ENOENT gives m->n = 0. get: a read by the cache: takes a shared
 * lock on the file (held while m is, and by blocks mapped from it: cache_shred()
 * then leaves the file's contents alone) and refreshes its mtime. */
static mpct_status map_entry(const char *path, cache_mapped *m, const char **why, int get)
{
    m->b = NULL;
    m->n = 0;
    m->fd = -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MPCT_OK;
        *why = "cannot be opened";
        return MPCT_ERR_FORMAT;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return MPCT_ERR_FORMAT;
    }
    size_t n = (size_t)sb.st_size;
    if (n < CACHE_FILE_HDR + SUM) {
        close(fd);
        *why = "truncated (shorter than a header)";
        return MPCT_ERR_FORMAT;
    }
    if (get)
        (void)flock(fd, LOCK_SH); /* best effort: waits for a cache_shred() in progress */
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (get && p != MAP_FAILED)
        (void)futimens(fd, NULL); /* last use, for `mpct cache prune` (best effort) */
    if (p == MAP_FAILED) {
        close(fd);
        *why = "cannot be mapped";
        return MPCT_ERR_FORMAT;
    }
    const uint8_t *b = p;
    const char *bad = NULL;
    if (memcmp(b, MAGIC, 8) != 0)
        bad = "not a cache entry (bad magic)";
    else if (cache_get32(b + 8) != FORMAT) {
        static _Thread_local char msg[80];
        snprintf(msg, sizeof msg, "stale (file format %u; this build reads format %d)", (unsigned)cache_get32(b + 8),
                 FORMAT);
        bad = msg;
    } else if (cache_get64(b + 72) < (uint64_t)CACHE_FILE_HDR + cache_get32(b + 16) || cache_get64(b + 72) > n - SUM ||
               cache_get64(b + 64) != n - SUM - cache_get64(b + 72))
        bad = "truncated or padded (length does not match its header)";
    if (bad) {
        munmap(p, n);
        close(fd);
        *why = bad;
        return MPCT_ERR_FORMAT;
    }
    m->b = p;
    m->n = n;
    m->fd = fd;
    return MPCT_OK;
}

static const char *const CORRUPT = "checksum mismatch (corrupt)";

/* map_entry, then the checksum: on success m holds a verified file. */
mpct_status cache_read_verified(const char *path, cache_mapped *m, const char **why)
{
    MPCT_CALL(map_entry(path, m, why, 0));
    if (m->n && mpct_cache_checksum(m->b, m->n - SUM) != cache_get64(m->b + m->n - SUM)) {
        cache_unmap(m);
        *why = CORRUPT;
        return MPCT_ERR_FORMAT;
    }
    return MPCT_OK;
}

static void reject(mpct_cache_t *c, const char *path, const char *why)
{
    warn(c, path, why);
    cache_shred(path); /* zeros first: a damaged entry still holds share words */
    c->disk_corrupt++;
    cache_index_update(c, base(path), NULL);
}

/* Checksums the mapped file and copies, in the same pass, the stored
 * components in copy (bit c; the n words at payload offset off[c]) to w[c]. */
static int checksum_ok(const cache_mapped *m, uint64_t *const w[2], unsigned copy, const size_t off[2], size_t n)
{
    cache_span sp[2];
    int nsp = 0;
    const size_t po = (size_t)payload_at(m), bytes = n * sizeof(uint64_t);
    for (int comp = 0; comp < 2; comp++)
        if (copy >> comp & 1)
            sp[nsp++] = (cache_span){po + off[comp], po + off[comp] + bytes, (uint8_t *)w[comp]};
    return cache_sum_spans(m->b, m->n - SUM, sp, nsp) == cache_get64(m->b + m->n - SUM);
}

/* Stored components of a direct read that can borrow the file's pages:
 * large enough, and page aligned in the file on this system. */
static unsigned mappable(const cache_mapped *m, unsigned mask, const size_t off[2], size_t n)
{
    const long page = sysconf(_SC_PAGESIZE);
    unsigned can = 0;
    for (int comp = 0; comp < 2; comp++)
        if ((mask >> comp & 1) && n * sizeof(uint64_t) >= MAP_MIN && page > 0 &&
            (payload_at(m) + off[comp]) % (uint64_t)page == 0)
            can |= 1u << comp;
    return can;
}

/* The words of a direct read: into the caller's arrays, or (alloc) into
 * arrays allocated here, some of them borrowed from the file. */
typedef struct dest {
    uint64_t *w[2];
    int active; /* the read goes straight into a share */
    int alloc;
    unsigned stored, borrow; /* components stored as words; those to map */
    size_t off[2];
} dest;

static mpct_status dest_init(const cache_mapped *m, mpct_share *direct, size_t n, dest *d)
{
    memset(d, 0, sizeof *d);
    if (!direct || direct->n != n || !n)
        return MPCT_OK;
    d->active = 1;
    const uint8_t *b = m->b;
    d->stored = cache_blob_words(b + payload_at(m), (size_t)cache_get64(b + 64), (int)cache_get32(b + 12), n, d->off);
    d->alloc = !direct->s[0];
    if (!d->alloc) {
        d->w[0] = direct->s[0];
        d->w[1] = direct->s[1];
        return MPCT_OK;
    }
    /* an unallocated share only arrives with map_files (cache.c get_impl) */
    d->borrow = mappable(m, d->stored, d->off, n);
    for (int comp = 0; comp < 2; comp++) {
        if (d->borrow >> comp & 1)
            continue;
        if (!(d->w[comp] = mpct_calloc(n * sizeof(uint64_t)))) {
            mpct_free(d->w[0]); /* nothing written yet */
            d->w[0] = NULL;
            return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory for a %zu-element share", n);
        }
        if (d->stored >> comp & 1) /* about to be written whole: one call, not a fault per page */
            mpct_prefault(d->w[comp], n * sizeof(uint64_t), 1);
    }
    return MPCT_OK;
}

static void dest_drop(dest *d)
{
    if (d->alloc)
        for (int comp = 0; comp < 2; comp++)
            mpct_free_secret(d->w[comp]);
    d->w[0] = d->w[1] = NULL;
}

/* After the checksum matched: borrows the components to map (or, if the
 * system refuses, allocates and copies them). */
static mpct_status dest_map(const cache_mapped *m, dest *d, size_t n)
{
    const size_t bytes = n * sizeof(uint64_t), po = (size_t)payload_at(m);
    for (int comp = 0; comp < 2; comp++) {
        if (!(d->borrow >> comp & 1))
            continue;
        d->w[comp] = mpct_map_file(m->fd, po + d->off[comp], bytes);
        if (d->w[comp]) {
            mpct_prefault(d->w[comp], bytes, 0); /* map the page cache now, not during the first matmul */
            continue;
        }
        if (!(d->w[comp] = mpct_alloc(bytes)))
            return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory for a %zu-element share", n);
        memcpy(d->w[comp], m->b + po + d->off[comp], bytes);
    }
    return MPCT_OK;
}

mpct_status cache_disk_read(mpct_cache_t *c, const char *key, size_t key_len, uint64_t h, cache_entry **out,
                            mpct_share *direct)
{
    *out = NULL;
    char path[4200];
    MPCT_CALL(cache_disk_path(c->dir, key, key_len, path, sizeof path));
    cache_mapped m;
    const char *why = NULL;
    mpct_status st = map_entry(path, &m, &why, 1);
    if (st == MPCT_ERR_FORMAT) {
        reject(c, path, why);
        return MPCT_OK;
    }
    MPCT_CALL(st);
    if (!m.n)
        return MPCT_OK;
    c->disk_read_bytes += m.n;
    const uint8_t *b = m.b;
    uint32_t enc = cache_get32(b + 12), kl = cache_get32(b + 16), ndim = cache_get32(b + 20);
    uint64_t cnt = cache_get64(b + 56), bl = cache_get64(b + 64);
    const uint8_t *blob = b + payload_at(&m);
    dest d;
    st = dest_init(&m, direct, (size_t)cnt, &d);
    if (st != MPCT_OK) {
        cache_unmap(&m);
        return st;
    }
    const char *bad = NULL;
    mpct_shape shape = {0};
    shape.ndim = (int)ndim;
    int ok = ndim >= 1 && ndim <= MPCT_MAX_DIMS;
    for (uint32_t i = 0; ok && i < ndim; i++)
        shape.dim[i] = cache_get64(b + 24 + 8 * i);
    if (!checksum_ok(&m, d.w, d.active ? d.stored & ~d.borrow : 0, d.off, (size_t)cnt))
        bad = CORRUPT;
    else if (!ok || mpct_shape_numel(shape) != cnt || cnt > ((uint64_t)1 << 40))
        bad = "bad shape in header";
    else if (kl != key_len || memcmp(b + CACHE_FILE_HDR, key, key_len) != 0)
        bad = "holds another key (stale: other model, party, frac bits or protocol version)";
    if (bad) {
        dest_drop(&d);
        cache_unmap(&m);
        reject(c, path, bad);
        return MPCT_OK;
    }
    cache_entry *e = cache_entry_new(key, key_len, h, shape, 0);
    if (!e)
        st = mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    else if (!d.active)
        st = cache_decode(c, e, blob, (size_t)bl, (int)enc);
    else if ((st = dest_map(&m, &d, (size_t)cnt)) == MPCT_OK)
        st = cache_decode_into(c, e, blob, (size_t)bl, (int)enc, d.w[0], d.w[1], d.stored, d.alloc);
    cache_unmap(&m);
    if (st == MPCT_OK && d.alloc) { /* the caller's unallocated share takes the arrays */
        direct->s[0] = d.w[0];
        direct->s[1] = d.w[1];
        direct->shape = shape;
    } else if (st != MPCT_OK) {
        dest_drop(&d);
        cache_entry_free(e);
        if (st == MPCT_ERR_FORMAT) {
            reject(c, path, mpct_error_msg());
            return MPCT_OK;
        }
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    *out = e;
    return MPCT_OK;
}

/* Overwrites a regular file with zeros (best effort), then unlinks it. A
 * file that a reader holds (shared lock: being read, or mapped into a
 * share by map_files) is only unlinked: overwriting it would change the
 * reader's pages under it. Its blocks are freed when the reader is done. */
int cache_shred(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        static const uint8_t zero[65536];
        off_t left = sb.st_size;
        while (left > 0) {
            size_t k = left > (off_t)sizeof zero ? sizeof zero : (size_t)left;
            if (write_all(fd, zero, k) != 0)
                break;
            left -= (off_t)k;
        }
        (void)fsync(fd);
        int r = unlink(path); /* still locked: no reader maps the zeros */
        close(fd);
        return r;
    }
    return unlink(path);
}

mpct_status cache_disk_remove(mpct_cache_t *c, const char *key, size_t key_len)
{
    char path[4200];
    MPCT_CALL(cache_disk_path(c->dir, key, key_len, path, sizeof path));
    if (cache_shred(path) == 0)
        cache_index_update(c, base(path), NULL);
    return MPCT_OK;
}
