/*
 * disk.c — disk tier of the share cache: one file per entry plus an index.
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
 * old or a whole new file; the directory is 0700. The index ("index", one
 * line per entry: file, bytes, key fields) is rewritten the same way while
 * holding flock(LOCK_EX) on "index.lock"; it is advisory (for tools) and the
 * entry files stay authoritative. A file that fails any check is warned
 * about, unlinked and counted as a miss. A reader holds flock(LOCK_SH) on
 * an entry file while it reads it and, through the duplicated descriptor
 * of mpct_map_file, while a share borrows its pages; shred() overwrites
 * only files it can lock exclusively and just unlinks the others.
 */
#include "cache-impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 80
#define FORMAT 3
#define SUM 8 /* trailer: the checksum */
#define ALIGN 4096 /* payload words that may be mapped start on this boundary */
#define MAP_MIN ((size_t)1 << 20) /* ... when a component has at least this many bytes */
#define SUFFIX ".mce"

static const char MAGIC[8] = {'M', 'P', 'C', 'T', 'C', 'S', 'H', 0};

static void p32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t g32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void warn(const mpct_cache_t *c, const char *path, const char *why)
{
    if (!c || !c->cfg.quiet)
        fprintf(stderr, "mpct cache: warning: %s: %s; removed, treated as a miss\n", path, why);
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
    int w = snprintf(buf, len, "%s/%s" SUFFIX, dir, hex);
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

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Atomically replaces path with data (tmp file in dir, fsync, rename). */
static mpct_status atomic_write(const char *dir, const char *path, const char *tmpl, const uint8_t *data, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/%sXXXXXX", dir, tmpl);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot create a temporary file in %s: %s", dir, strerror(errno));
    if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot write %s: %s", path, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot install %s: %s", path, strerror(e));
    }
    fsync_dir(dir);
    return MPCT_OK;
}

/* Rewrites dir's index, the caller holding the index lock: drops the lines
 * whose file name (first field) drop() accepts, then appends line when it
 * is not NULL. Failure is a warning (the index is advisory). */
static void index_rewrite_locked(const char *dir, int (*drop)(const char *name, size_t len, const void *arg),
                                 const void *arg, const char *line, int quiet)
{
    char idx[4200];
    snprintf(idx, sizeof idx, "%s/index", dir);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    FILE *f = fopen(idx, "r");
    char buf[1024];
    while (out && f && fgets(buf, sizeof buf, f)) {
        const char *sp = strchr(buf, ' ');
        if (sp && drop(buf, (size_t)(sp - buf), arg))
            continue;
        size_t bl = strlen(buf);
        if (len + bl + 1 > cap) {
            char *o = realloc(out, cap *= 2);
            if (!o) {
                free(out);
                out = NULL;
                break;
            }
            out = o;
        }
        memcpy(out + len, buf, bl);
        len += bl;
    }
    if (f)
        fclose(f);
    if (out && line) {
        size_t ll = strlen(line);
        if (len + ll + 2 > cap) {
            char *o = realloc(out, len + ll + 2);
            if (!o) {
                free(out);
                out = NULL;
            } else
                out = o;
        }
        if (out) {
            memcpy(out + len, line, ll);
            len += ll;
            out[len++] = '\n';
        }
    }
    if (out && atomic_write(dir, idx, "index.tmp-", (const uint8_t *)out, len) != MPCT_OK && !quiet)
        fprintf(stderr, "mpct cache: warning: %s\n", mpct_error_msg());
    free(out);
}

static int drop_name(const char *name, size_t len, const void *arg)
{
    const char *fname = arg;
    return strlen(fname) == len && !strncmp(name, fname, len);
}

/* Rewrites the index under the lock: drops the line of fname, then appends
 * line when it is not NULL. */
static void index_update(const mpct_cache_t *c, const char *fname, const char *line)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/index.lock", c->dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        if (!c->cfg.quiet)
            fprintf(stderr, "mpct cache: warning: %s: cannot lock: %s\n", lock, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return;
    }
    index_rewrite_locked(c->dir, drop_name, fname, line, c->cfg.quiet);
    flock(lfd, LOCK_UN);
    close(lfd);
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
    const uint64_t po = HDR + key_len;
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
    memcpy(buf + HDR, e->key, e->key_len);
    memcpy(buf + po, blob, bl);
    mpct_free_secret(blob);
    cache_put64(buf + total - SUM, mpct_cache_checksum(buf, total - SUM));
    mpct_status st = atomic_write(c->dir, path, ".tmp-", buf, total);
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
    index_update(c, base(path), line);
    return MPCT_OK;
}

/* A verified entry file, mapped read-only (the bytes are the file's own, so
 * there is nothing to wipe: unmapping is enough). */
typedef struct mapped {
    uint8_t *b;
    size_t n;
    int fd; /* open (with a shared lock for a get) until unmap */
} mapped;

static void unmap(mapped *m)
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
static uint64_t payload_at(const mapped *m) { return cache_get64(m->b + 72); }

/* Maps path and checks what the header alone can tell (magic, format,
 * lengths) — not the checksum. On a bad file returns MPCT_ERR_FORMAT with
 * *why set; ENOENT gives m->n = 0. get: a read by the cache: takes a shared
 * lock on the file (held while m is, and by blocks mapped from it: shred()
 * then leaves the file's contents alone) and refreshes its mtime. */
static mpct_status map_entry(const char *path, mapped *m, const char **why, int get)
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
    if (n < HDR + SUM) {
        close(fd);
        *why = "truncated (shorter than a header)";
        return MPCT_ERR_FORMAT;
    }
    if (get)
        (void)flock(fd, LOCK_SH); /* best effort: waits for a shred() in progress */
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
    else if (g32(b + 8) != FORMAT) {
        static _Thread_local char msg[80];
        snprintf(msg, sizeof msg, "stale (file format %u; this build reads format %d)", (unsigned)g32(b + 8), FORMAT);
        bad = msg;
    } else if (cache_get64(b + 72) < (uint64_t)HDR + g32(b + 16) || cache_get64(b + 72) > n - SUM || cache_get64(b + 64) != n - SUM - cache_get64(b + 72))
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
static mpct_status read_verified(const char *path, mapped *m, const char **why)
{
    MPCT_CALL(map_entry(path, m, why, 0));
    if (m->n && mpct_cache_checksum(m->b, m->n - SUM) != cache_get64(m->b + m->n - SUM)) {
        unmap(m);
        *why = CORRUPT;
        return MPCT_ERR_FORMAT;
    }
    return MPCT_OK;
}

static void reject(mpct_cache_t *c, const char *path, const char *why)
{
    warn(c, path, why);
    unlink(path);
    c->disk_corrupt++;
    index_update(c, base(path), NULL);
}

/* Checksums the mapped file and copies, in the same pass, the stored
 * components in copy (bit c; the n words at payload offset off[c]) to w[c]. */
static int checksum_ok(const mapped *m, uint64_t *const w[2], unsigned copy, const size_t off[2], size_t n)
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
static unsigned mappable(const mapped *m, unsigned mask, const size_t off[2], size_t n)
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

static mpct_status dest_init(const mapped *m, mpct_share *direct, size_t n, dest *d)
{
    memset(d, 0, sizeof *d);
    if (!direct || direct->n != n || !n)
        return MPCT_OK;
    d->active = 1;
    const uint8_t *b = m->b;
    d->stored = cache_blob_words(b + payload_at(m), (size_t)cache_get64(b + 64), (int)g32(b + 12), n, d->off);
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
static mpct_status dest_map(const mapped *m, dest *d, size_t n)
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
    mapped m;
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
    uint32_t enc = g32(b + 12), kl = g32(b + 16), ndim = g32(b + 20);
    uint64_t cnt = cache_get64(b + 56), bl = cache_get64(b + 64);
    const uint8_t *blob = b + payload_at(&m);
    dest d;
    st = dest_init(&m, direct, (size_t)cnt, &d);
    if (st != MPCT_OK) {
        unmap(&m);
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
    else if (kl != key_len || memcmp(b + HDR, key, key_len) != 0)
        bad = "holds another key (stale: other model, party, frac bits or protocol version)";
    if (bad) {
        dest_drop(&d);
        unmap(&m);
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
    unmap(&m);
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
static int shred(const char *path)
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
    if (shred(path) == 0)
        index_update(c, base(path), NULL);
    return MPCT_OK;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

mpct_status mpct_cache_dir_scan(const char *dir, mpct_cache_dir_info *info)
{
    memset(info, 0, sizeof *info);
    DIR *d = opendir(dir);
    if (!d)
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: cannot open: %s", dir, strerror(errno));
    struct dirent *de;
    char path[4200];
    while ((de = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!strncmp(de->d_name, ".tmp-", 5) || !strncmp(de->d_name, "index.tmp-", 10)) {
            info->temp_files++;
            continue;
        }
        if (!has_suffix(de->d_name, SUFFIX))
            continue;
        mapped m;
        const char *why = NULL;
        mpct_status st = read_verified(path, &m, &why);
        if (st == MPCT_ERR_NOMEM) {
            closedir(d);
            return st;
        }
        info->files++;
        struct stat sb;
        if (stat(path, &sb) == 0)
            info->bytes += (uint64_t)sb.st_size;
        if (st != MPCT_OK || !m.n) {
            info->corrupt++;
            continue;
        }
        info->valid++;
        uint32_t enc = g32(m.b + 12);
        if (enc == CACHE_ENC_PRF)
            info->compact++;
        else if (enc == CACHE_ENC_LZ4)
            info->lz4++;
        else
            info->raw++;
        unmap(&m);
    }
    closedir(d);
    snprintf(path, sizeof path, "%s/index", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        int ch;
        while ((ch = fgetc(f)) != EOF)
            if (ch == '\n')
                info->index_lines++;
        fclose(f);
    }
    return MPCT_OK;
}

/* Takes the index lock (when the lock file exists) and opens dir. */
static mpct_status open_locked(const char *dir, int *lfd, DIR **d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.lock", dir);
    *lfd = open(path, O_RDWR | O_CLOEXEC);
    if (*lfd >= 0)
        (void)flock(*lfd, LOCK_EX);
    *d = opendir(dir);
    if (!*d) {
        if (*lfd >= 0)
            close(*lfd);
        *lfd = -1;
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: cannot open: %s", dir, strerror(errno));
    }
    return MPCT_OK;
}

int mpct_cache_file_name(const char *nm)
{
    return has_suffix(nm, SUFFIX) || !strncmp(nm, ".tmp-", 5) || !strncmp(nm, "index.tmp-", 10) ||
           !strcmp(nm, "index") || !strcmp(nm, "index.lock");
}

mpct_status mpct_cache_dir_clear(const char *dir, mpct_cache_clear_info *info)
{
    memset(info, 0, sizeof *info);
    char path[4200], failed[4200] = "";
    int lfd = -1, nfailed = 0, err = 0;
    DIR *d = NULL;
    MPCT_CALL(open_locked(dir, &lfd, &d));
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (!mpct_cache_file_name(nm) || !strcmp(nm, "index.lock"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        struct stat sb;
        uint64_t size = lstat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        errno = 0;
        if (shred(path) == 0) {
            info->removed++;
            info->bytes += size;
        } else if (errno != ENOENT && nfailed++ == 0) {
            err = errno;
            snprintf(failed, sizeof failed, "%s", path);
        }
    }
    closedir(d);
    snprintf(path, sizeof path, "%s/index.lock", dir);
    if (unlink(path) == 0)
        info->removed++;
    else if (errno != ENOENT && nfailed++ == 0) {
        err = errno;
        snprintf(failed, sizeof failed, "%s", path);
    }
    if (lfd >= 0)
        close(lfd);
    fsync_dir(dir);
    if (nfailed)
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: %d file(s) could not be removed, e.g. %s: %s", dir,
                              nfailed, failed, err ? strerror(err) : "not a regular file");
    return MPCT_OK;
}

mpct_status mpct_cache_dir_reindex(const char *dir, uint64_t *entries)
{
    *entries = 0;
    char lock[4200], idx[4200], path[4200];
    snprintf(lock, sizeof lock, "%s/index.lock", dir);
    snprintf(idx, sizeof idx, "%s/index", dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return mpct_error_set(MPCT_ERR_IO, "cache: cannot open %s: %s", lock, strerror(errno));
    (void)flock(lfd, LOCK_EX);
    DIR *d = opendir(dir);
    if (!d) {
        close(lfd);
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: cannot open: %s", dir, strerror(errno));
    }
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    mpct_status st = out ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    struct dirent *de;
    while (st == MPCT_OK && (de = readdir(d))) {
        if (!has_suffix(de->d_name, SUFFIX))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        mapped m;
        const char *why = NULL;
        if (read_verified(path, &m, &why) != MPCT_OK || !m.n)
            continue; /* bad files are left to the reader that rejects them */
        const uint8_t *b = m.b;
        const size_t n = m.n;
        uint32_t kl = g32(b + 16);
        if (len + strlen(de->d_name) + kl + 48 > cap) {
            cap = 2 * cap + kl + 256;
            char *o = realloc(out, cap);
            if (!o) {
                unmap(&m);
                st = mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
                break;
            }
            out = o;
        }
        len += (size_t)sprintf(out + len, "%s %zu ", de->d_name, n);
        for (uint32_t i = 0; i < kl; i++)
            out[len++] = b[HDR + i] == '\n' ? ' ' : (char)b[HDR + i];
        while (len && out[len - 1] == ' ')
            len--;
        out[len++] = '\n';
        (*entries)++;
        unmap(&m);
    }
    closedir(d);
    if (st == MPCT_OK)
        st = atomic_write(dir, idx, "index.tmp-", (const uint8_t *)out, len);
    free(out);
    flock(lfd, LOCK_UN);
    close(lfd);
    return st;
}

typedef struct prune_file {
    char name[256];
    uint64_t bytes;
    struct timespec mtime;
    int removed;
} prune_file;

typedef struct prune_set {
    const prune_file *f;
    size_t n;
} prune_set;

static int drop_removed(const char *name, size_t len, const void *arg)
{
    const prune_set *ps = arg;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->f[i].removed && strlen(ps->f[i].name) == len && !strncmp(ps->f[i].name, name, len))
            return 1;
    return 0;
}

static int older_first(const void *a, const void *b)
{
    const prune_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

mpct_status mpct_cache_dir_prune(const char *dir, uint64_t max_bytes, mpct_cache_prune_info *info)
{
    memset(info, 0, sizeof *info);
    char path[4200];
    int lfd = -1;
    DIR *d = NULL;
    MPCT_CALL(open_locked(dir, &lfd, &d));
    prune_file *f = NULL;
    size_t nf = 0, cap = 0;
    mpct_status st = MPCT_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!has_suffix(de->d_name, SUFFIX) || strlen(de->d_name) >= sizeof f->name)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (nf == cap) {
            cap = cap ? 2 * cap : 64;
            prune_file *g = realloc(f, cap * sizeof *f);
            if (!g) {
                st = mpct_error_set(MPCT_ERR_NOMEM, "cache prune: out of memory");
                break;
            }
            f = g;
        }
        snprintf(f[nf].name, sizeof f[nf].name, "%s", de->d_name);
        f[nf].bytes = (uint64_t)sb.st_size;
        f[nf].mtime = sb.st_mtim;
        f[nf].removed = 0;
        info->bytes_before += f[nf].bytes;
        nf++;
    }
    closedir(d);
    if (st == MPCT_OK) {
        qsort(f, nf, sizeof *f, older_first);
        uint64_t total = info->bytes_before;
        for (size_t i = 0; i < nf && total > max_bytes; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, f[i].name);
            if (shred(path) == 0) {
                total -= f[i].bytes;
                f[i].removed = 1;
                info->removed++;
                info->bytes_removed += f[i].bytes;
            }
        }
        info->bytes_after = total;
        info->kept = nf - info->removed;
    }
    /* drop the removed files' index lines while still holding the lock (the
     * kept files were verified when written: no need to read them again) */
    const prune_set ps = {f, nf};
    if (st == MPCT_OK && info->removed && lfd >= 0)
        index_rewrite_locked(dir, drop_removed, &ps, NULL, 0);
    free(f);
    if (lfd >= 0)
        close(lfd);
    else if (st == MPCT_OK && info->removed) { /* no lock file: no index to edit, rebuild one */
        uint64_t n = 0;
        st = mpct_cache_dir_reindex(dir, &n);
    }
    return st;
}
