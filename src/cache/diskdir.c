/*
 * diskdir.c — the share cache directory as a whole: its index ("index",
 * one line per entry: file, bytes, key fields) and the tools over every
 * entry file (mpct_cache_dir_scan, _clear, _reindex, _prune). The entry
 * file format: disk.c.
 *
 * Invariants: the index is rewritten atomically (cache_atomic_write) while
 * holding flock(LOCK_EX) on "index.lock"; it is advisory (for tools) and
 * the entry files stay authoritative. clear and prune take the same lock
 * (when the lock file exists) and remove files with cache_shred(), which
 * only unlinks files a reader holds. Only files whose names are the
 * cache's own (mpct_cache_file_name) are ever removed.
 */
#include "cache-impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
    if (out && cache_atomic_write(dir, idx, "index.tmp-", (const uint8_t *)out, len) != MPCT_OK && !quiet)
        mpct_warnf("mpct cache: warning: %s\n", mpct_error_msg());
    free(out);
}

static int drop_name(const char *name, size_t len, const void *arg)
{
    const char *fname = arg;
    return strlen(fname) == len && !strncmp(name, fname, len);
}

/* Rewrites the index under the lock: drops the line of fname, then appends
 * line when it is not NULL. */
void cache_index_update(const mpct_cache_t *c, const char *fname, const char *line)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/index.lock", c->dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        if (!c->cfg.quiet)
            mpct_warnf("mpct cache: warning: %s: cannot lock: %s\n", lock, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return;
    }
    index_rewrite_locked(c->dir, drop_name, fname, line, c->cfg.quiet);
    flock(lfd, LOCK_UN);
    close(lfd);
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
        if (!has_suffix(de->d_name, CACHE_FILE_SUFFIX))
            continue;
        cache_mapped m;
        const char *why = NULL;
        mpct_status st = cache_read_verified(path, &m, &why);
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
        uint32_t enc = cache_get32(m.b + 12);
        if (enc == CACHE_ENC_PRF)
            info->compact++;
        else if (enc == CACHE_ENC_LZ4)
            info->lz4++;
        else
            info->raw++;
        cache_unmap(&m);
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
    return has_suffix(nm, CACHE_FILE_SUFFIX) || !strncmp(nm, ".tmp-", 5) || !strncmp(nm, "index.tmp-", 10) ||
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
        if (cache_shred(path) == 0) {
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
    cache_fsync_dir(dir);
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
        if (!has_suffix(de->d_name, CACHE_FILE_SUFFIX))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        cache_mapped m;
        const char *why = NULL;
        if (cache_read_verified(path, &m, &why) != MPCT_OK || !m.n)
            continue; /* bad files are left to the reader that rejects them */
        const uint8_t *b = m.b;
        const size_t n = m.n;
        uint32_t kl = cache_get32(b + 16);
        if (len + strlen(de->d_name) + kl + 48 > cap) {
            cap = 2 * cap + kl + 256;
            char *o = realloc(out, cap);
            if (!o) {
                cache_unmap(&m);
                st = mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
                break;
            }
            out = o;
        }
        len += (size_t)sprintf(out + len, "%s %zu ", de->d_name, n);
        for (uint32_t i = 0; i < kl; i++)
            out[len++] = b[CACHE_FILE_HDR + i] == '\n' ? ' ' : (char)b[CACHE_FILE_HDR + i];
        while (len && out[len - 1] == ' ')
            len--;
        out[len++] = '\n';
        (*entries)++;
        cache_unmap(&m);
    }
    closedir(d);
    if (st == MPCT_OK)
        st = cache_atomic_write(dir, idx, "index.tmp-", (const uint8_t *)out, len);
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
        if (!has_suffix(de->d_name, CACHE_FILE_SUFFIX) || strlen(de->d_name) >= sizeof f->name)
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
            if (cache_shred(path) == 0) {
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
