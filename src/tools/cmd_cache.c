/*
 * cmd_cache.c — `mpct cache`: inspect or clear share cache directories
 * (src/cache/CACHE.md).
 *
 * MPCT_COMMAND(cache, 0, "inspect or clear a share cache directory")
 *
 *   mpct cache stats --dir DIR [--json] [--reindex]
 *       verifies every entry file (checksum) and prints counts and bytes;
 *       --reindex rebuilds the index from the verified files first.
 *   mpct cache clear --dir DIR
 *       overwrites every cache file with zeros (best effort), then removes it.
 *   mpct cache prune --dir DIR --max-mb N
 *       removes the least recently used entries until at most N MiB remain.
 * DIR is either one party's cache (it holds cache files, or it is an empty
 * folder named party<i>) or the directory given to `mpct run --cache-dir`
 * / `mpct warm` (it holds party<i> folders): then the verb acts on every
 * party folder, names each and totals them (prune: N MiB per party, as
 * `cache_disk_mb`). A directory that is neither is refused: acting on it
 * would report success having done nothing.
 * Exit status (cache_exits): 0 success, 1 the directory is not a cache or could not be
 * read or cleared, 2 bad usage.
 */
#include "mpct_cache.h"
#include "opt.h"
#include "tool_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mpct_cmd_cache(int argc, char **argv);

static const mpct_opt cache_opts[] = {
    {"dir", 'd', "DIR", "the cache directory (required)"},
    {"json", 0, NULL, "stats: print JSON"},
    {"reindex", 0, NULL, "stats: rebuild the index from the valid files first"},
    {"max-mb", 0, "N", "prune: MiB per party to keep (required by prune)"},
};

static const mpct_opt_cmd cache_cmd = {
    .name = "cache",
    .usage = "mpct cache stats --dir DIR [--json] [--reindex]\n"
             "mpct cache clear --dir DIR\n"
             "mpct cache prune --dir DIR --max-mb N",
    .about = "DIR is the directory given to `mpct run --cache-dir` (or `mpct warm`): the command\n"
             "then acts on each party's folder in it (party0, party1, ...) and names them; or one\n"
             "party's folder (DIR/party<i>). A directory holding neither is refused.\n"
             "\n"
             "stats  verify every entry file of a share cache directory (checksum) and print\n"
             "       entries, bytes, encodings (raw / lz4 / compact PRF), corrupt and leftover\n"
             "       temporary files; --reindex rebuilds the index from the valid files first\n"
             "clear  overwrite every cache file with zeros (best effort) and remove it; the\n"
             "       directories themselves stay\n"
             "prune  remove the least recently used entries (by last write or disk hit) until the\n"
             "       entries total at most N MiB per party (a disk budget; also `cache_disk_mb` in\n"
             "       a job file)\n",
    MPCT_OPT_TABLE(cache_opts),
    .exit_fail = "DIR is not a cache or could not be read or cleared",
};

/* The folders a command acts on: DIR itself and/or its party<i> folders. */
typedef struct targets {
    char **path;
    size_t n;
    int run_dir; /* DIR holds party folders */
} targets;

static void targets_free(targets *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->path[i]);
    free(t->path);
    memset(t, 0, sizeof *t);
}

/* "party" followed by digits only: the party's number, else -1. */
static long party_number(const char *nm)
{
    if (strncmp(nm, "party", 5) || !nm[5])
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(nm + 5, &end, 10);
    return (*end || errno || v < 0 || nm[5] < '0' || nm[5] > '9') ? -1 : v;
}

static int by_party(const void *a, const void *b)
{
    const char *x = strrchr(*(char *const *)a, '/'), *y = strrchr(*(char *const *)b, '/');
    long p = party_number(x + 1), q = party_number(y + 1);
    return p < q ? -1 : p > q;
}

static mpct_status targets_add(targets *t, const char *dir, const char *name)
{
    char **p = realloc(t->path, (t->n + 1) * sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    t->path = p;
    size_t len = strlen(dir) + (name ? strlen(name) + 2 : 1);
    if (!(p[t->n] = malloc(len)))
        return mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory");
    snprintf(p[t->n], len, name ? "%s/%s" : "%s", dir, name ? name : "");
    t->n++;
    return MPCT_OK;
}

/* Finds what DIR is (see the top of this file). MPCT_ERR_ARG: neither a
 * party's cache nor a run's cache directory. */
static mpct_status find_targets(const char *dir, targets *t)
{
    memset(t, 0, sizeof *t);
    DIR *d = opendir(dir);
    if (!d)
        return mpct_error_set(MPCT_ERR_IO, "cache dir %s: cannot open: %s", dir, strerror(errno));
    targets parties = {0};
    int own = 0;
    mpct_status st = MPCT_OK;
    struct dirent *de;
    while (st == MPCT_OK && (de = readdir(d))) {
        if (mpct_cache_file_name(de->d_name)) {
            own = 1;
            continue;
        }
        if (party_number(de->d_name) < 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            st = targets_add(&parties, dir, de->d_name);
    }
    closedir(d);
    if (st != MPCT_OK) {
        targets_free(&parties);
        return st;
    }
    qsort(parties.path, parties.n, sizeof *parties.path, by_party);
    /* an empty party folder (e.g. after clear) is still that party's cache */
    const char *base;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    char last[256] = "";
    for (base = dir + dl; base > dir && base[-1] != '/'; base--)
        ;
    snprintf(last, sizeof last, "%.*s", (int)(dir + dl - base), base);
    if (!own && !parties.n && party_number(last) >= 0)
        own = 1;
    if (!own && !parties.n)
        return mpct_error_set(MPCT_ERR_ARG,
                              "%s holds no share cache: give the directory of `mpct run --cache-dir DIR` "
                              "(the one with party0, party1, ... in it) or one party's folder DIR/party<i>",
                              dir);
    if (own)
        st = targets_add(t, dir, NULL);
    for (size_t i = 0; st == MPCT_OK && i < parties.n; i++)
        st = targets_add(t, parties.path[i], NULL);
    t->run_dir = parties.n > 0;
    targets_free(&parties);
    if (st != MPCT_OK)
        targets_free(t);
    return st;
}

/* "party0, party1, party2" (the last path component of each target) */
static void target_names(const targets *t, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n && k < cap; i++) {
        const char *b = strrchr(t->path[i], '/');
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? ", " : "", b ? b + 1 : t->path[i]);
    }
}

static int fail(mpct_status st)
{
    mpct_sched_error("cache", st);
    return 1;
}

static int cache_clear(const char *dir, const targets *t)
{
    mpct_cache_clear_info sum = {0};
    for (size_t i = 0; i < t->n; i++) {
        mpct_cache_clear_info ci;
        mpct_status st = mpct_cache_dir_clear(t->path[i], &ci);
        if (st != MPCT_OK)
            return fail(st);
        printf("mpct cache: cleared %s: %llu file(s), %llu bytes overwritten and removed\n", t->path[i],
               (unsigned long long)ci.removed, (unsigned long long)ci.bytes);
        sum.removed += ci.removed;
        sum.bytes += ci.bytes;
    }
    if (t->run_dir) {
        char names[1024];
        target_names(t, names, sizeof names);
        printf("mpct cache: cleared %s: %zu folder(s) (%s): %llu file(s), %llu bytes in all\n", dir, t->n, names,
               (unsigned long long)sum.removed, (unsigned long long)sum.bytes);
    }
    return 0;
}

static int cache_prune(const char *dir, const targets *t, double max_mb)
{
    mpct_cache_prune_info sum = {0};
    for (size_t i = 0; i < t->n; i++) {
        mpct_cache_prune_info pi;
        mpct_status st = mpct_cache_dir_prune(t->path[i], (uint64_t)(max_mb * 1048576.0), &pi);
        if (st != MPCT_OK)
            return fail(st);
        printf("mpct cache: pruned %s to %g MiB: removed %llu file(s) (%.1f MB), kept %llu (%.1f MB)\n",
               t->path[i], max_mb, (unsigned long long)pi.removed, (double)pi.bytes_removed / 1e6,
               (unsigned long long)pi.kept, (double)pi.bytes_after / 1e6);
        sum.removed += pi.removed;
        sum.bytes_removed += pi.bytes_removed;
        sum.kept += pi.kept;
        sum.bytes_after += pi.bytes_after;
    }
    if (t->run_dir) {
        char names[1024];
        target_names(t, names, sizeof names);
        printf("mpct cache: pruned %s: %zu folder(s) (%s), %g MiB each: removed %llu file(s) (%.1f MB), "
               "kept %llu (%.1f MB) in all\n",
               dir, t->n, names, max_mb, (unsigned long long)sum.removed, (double)sum.bytes_removed / 1e6,
               (unsigned long long)sum.kept, (double)sum.bytes_after / 1e6);
    }
    return 0;
}

/* The fields of one folder (or of the totals) into the open object. */
static void info_json(mpct_json *j, const char *dir, const mpct_cache_dir_info *in)
{
    mpct_json_str(j, "dir", dir);
    mpct_json_int(j, "files", (long long)in->files);
    mpct_json_int(j, "bytes", (long long)in->bytes);
    mpct_json_int(j, "valid", (long long)in->valid);
    mpct_json_int(j, "corrupt", (long long)in->corrupt);
    mpct_json_int(j, "raw", (long long)in->raw);
    mpct_json_int(j, "lz4", (long long)in->lz4);
    mpct_json_int(j, "compact_prf", (long long)in->compact);
    mpct_json_int(j, "temp_files", (long long)in->temp_files);
    mpct_json_int(j, "index_lines", (long long)in->index_lines);
}

static void info_text(const char *dir, const mpct_cache_dir_info *in)
{
    printf("cache dir   %s\n", dir);
    printf("entries     %llu (%llu valid, %llu corrupt)\n", (unsigned long long)in->files,
           (unsigned long long)in->valid, (unsigned long long)in->corrupt);
    printf("bytes       %llu\n", (unsigned long long)in->bytes);
    printf("encodings   raw %llu, lz4 %llu, compact PRF %llu\n", (unsigned long long)in->raw,
           (unsigned long long)in->lz4, (unsigned long long)in->compact);
    printf("temp files  %llu (left by interrupted writes)\n", (unsigned long long)in->temp_files);
    printf("index       %llu line(s)%s\n", (unsigned long long)in->index_lines,
           in->index_lines != in->valid ? " (differs from the valid entries; run with --reindex)" : "");
}

static int cache_stats(const char *dir, const targets *t, int json, int reindex)
{
    mpct_cache_dir_info *in = calloc(t->n, sizeof *in), sum = {0};
    if (!in)
        return fail(mpct_error_set(MPCT_ERR_NOMEM, "cache: out of memory"));
    for (size_t i = 0; i < t->n; i++) {
        mpct_status st = MPCT_OK;
        if (reindex) {
            uint64_t n = 0;
            st = mpct_cache_dir_reindex(t->path[i], &n);
        }
        if (st == MPCT_OK)
            st = mpct_cache_dir_scan(t->path[i], &in[i]);
        if (st != MPCT_OK) {
            free(in);
            return fail(st);
        }
        sum.files += in[i].files;
        sum.bytes += in[i].bytes;
        sum.valid += in[i].valid;
        sum.corrupt += in[i].corrupt;
        sum.raw += in[i].raw;
        sum.lz4 += in[i].lz4;
        sum.compact += in[i].compact;
        sum.temp_files += in[i].temp_files;
        sum.index_lines += in[i].index_lines;
    }
    if (json) {
        mpct_json j;
        mpct_json_begin(&j, stdout, 1);
        mpct_json_obj_open(&j, NULL);
        info_json(&j, dir, t->run_dir ? &sum : &in[0]);
        if (t->run_dir) { /* the totals above, then one object per folder */
            mpct_json_arr_open(&j, "parties");
            for (size_t i = 0; i < t->n; i++) {
                mpct_json_obj_open(&j, NULL);
                info_json(&j, t->path[i], &in[i]);
                mpct_json_obj_close(&j);
            }
            mpct_json_arr_close(&j);
        }
        mpct_json_obj_close(&j);
        mpct_json_end(&j);
        printf("\n");
    } else {
        for (size_t i = 0; i < t->n; i++) {
            info_text(t->path[i], &in[i]);
            if (t->run_dir)
                printf("\n");
        }
        if (t->run_dir) {
            char names[1024];
            target_names(t, names, sizeof names);
            printf("total       %s: %zu folder(s) (%s): %llu entries (%llu valid, %llu corrupt), %llu bytes\n", dir,
                   t->n, names, (unsigned long long)sum.files, (unsigned long long)sum.valid,
                   (unsigned long long)sum.corrupt, (unsigned long long)sum.bytes);
        }
    }
    free(in);
    return 0;
}

int mpct_cmd_cache(int argc, char **argv)
{
    const char *verb = NULL, *dir = NULL;
    int json = 0, reindex = 0;
    double max_mb = -1;
    mpct_opt_iter it = mpct_opt_start(&cache_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        const char *a = it.value;
        if (!it.opt) {
            if (verb || (strcmp(a, "stats") && strcmp(a, "clear") && strcmp(a, "prune")))
                return mpct_opt_usage_error(&cache_cmd, "unexpected argument '%s'", a);
            verb = a;
        } else if (mpct_opt_is(&it, "dir")) {
            dir = a;
        } else if (mpct_opt_is(&it, "max-mb")) {
            char *end = NULL;
            max_mb = strtod(a, &end);
            if (!a[0] || !end || *end || !(max_mb >= 0) || max_mb > 1e9) {
                fprintf(stderr, "mpct cache: error: %s needs a number of MiB >= 0, got '%s'\n", it.spelled, a);
                return 2;
            }
        } else if (mpct_opt_is(&it, "json")) {
            json = 1;
        } else if (mpct_opt_is(&it, "reindex")) {
            reindex = 1;
        }
    }
    if (rc >= 0)
        return rc;
    if (!verb || !dir) {
        return mpct_opt_usage_error(&cache_cmd, "%s",
                                    !verb ? "expected 'stats', 'clear' or 'prune'" : "--dir DIR is required");
    }
    if (!strcmp(verb, "prune") && max_mb < 0) {
        fprintf(stderr, "mpct cache: error: prune needs --max-mb N\n");
        return 2;
    }
    targets t;
    mpct_status st = find_targets(dir, &t);
    if (st != MPCT_OK)
        return fail(st);
    rc = !strcmp(verb, "clear")   ? cache_clear(dir, &t)
             : !strcmp(verb, "prune") ? cache_prune(dir, &t, max_mb)
                                      : cache_stats(dir, &t, json, reindex);
    targets_free(&t);
    return rc;
}
