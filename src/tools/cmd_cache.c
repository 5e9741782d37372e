/*
 * cmd_cache.c — `mpct cache`: inspect or clear a share cache directory
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
 * Exit status: 0 success, 1 the directory could not be read or cleared,
 * 2 bad usage.
 */
#include "mpct_cache.h"
#include "tool_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mpct_cmd_cache(int argc, char **argv);

static void cache_usage(FILE *f)
{
    fprintf(f, "usage: mpct cache stats --dir DIR [--json] [--reindex]\n"
               "       mpct cache clear --dir DIR\n"
               "       mpct cache prune --dir DIR --max-mb N\n"
               "\n"
               "stats  verify every entry file of a share cache directory (checksum) and print\n"
               "       entries, bytes, encodings (raw / lz4 / compact PRF), corrupt and leftover\n"
               "       temporary files; --reindex rebuilds the index from the valid files first\n"
               "clear  overwrite every cache file with zeros (best effort) and remove it; the\n"
               "       directory itself stays\n"
               "prune  remove the least recently used entries (by last write or disk hit) until the\n"
               "       entries total at most N MiB (a disk budget; also `cache_disk_mb` in a job file)\n"
               "\n"
               "Exit status: 0 success, 1 the directory could not be read or cleared, 2 bad usage.\n");
}

int mpct_cmd_cache(int argc, char **argv)
{
    const char *verb = NULL, *dir = NULL;
    int json = 0, reindex = 0;
    double max_mb = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cache_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--dir")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpct cache: error: --dir needs a value\n");
                return 2;
            }
            dir = argv[++i];
        } else if (!strcmp(a, "--max-mb")) {
            char *end = NULL;
            max_mb = i + 1 < argc ? strtod(argv[++i], &end) : -1;
            if (!end || *end || !(max_mb >= 0) || max_mb > 1e9) {
                fprintf(stderr, "mpct cache: error: --max-mb needs a number of MiB >= 0\n");
                return 2;
            }
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--reindex")) {
            reindex = 1;
        } else if (!verb && (!strcmp(a, "stats") || !strcmp(a, "clear") || !strcmp(a, "prune"))) {
            verb = a;
        } else {
            fprintf(stderr, "mpct cache: error: unexpected argument '%s'\n", a);
            cache_usage(stderr);
            return 2;
        }
    }
    if (!verb || !dir) {
        fprintf(stderr, "mpct cache: error: %s\n",
                !verb ? "expected 'stats', 'clear' or 'prune'" : "--dir DIR is required");
        cache_usage(stderr);
        return 2;
    }
    if (!strcmp(verb, "clear")) {
        uint64_t removed = 0;
        mpct_status st = mpct_cache_dir_clear(dir, &removed);
        if (st != MPCT_OK) {
            mpct_tool_error("cache", st);
            return 1;
        }
        printf("mpct cache: cleared %s: %llu file(s) overwritten and removed\n", dir, (unsigned long long)removed);
        return 0;
    }
    if (!strcmp(verb, "prune")) {
        if (max_mb < 0) {
            fprintf(stderr, "mpct cache: error: prune needs --max-mb N\n");
            return 2;
        }
        mpct_cache_prune_info pi;
        mpct_status st = mpct_cache_dir_prune(dir, (uint64_t)(max_mb * 1048576.0), &pi);
        if (st != MPCT_OK) {
            mpct_tool_error("cache", st);
            return 1;
        }
        printf("mpct cache: pruned %s to %g MiB: removed %llu file(s) (%.1f MB), kept %llu (%.1f MB)\n", dir, max_mb,
               (unsigned long long)pi.removed, (double)pi.bytes_removed / 1e6, (unsigned long long)pi.kept,
               (double)pi.bytes_after / 1e6);
        return 0;
    }
    if (reindex) {
        uint64_t n = 0;
        mpct_status st = mpct_cache_dir_reindex(dir, &n);
        if (st != MPCT_OK) {
            mpct_tool_error("cache", st);
            return 1;
        }
    }
    mpct_cache_dir_info in;
    mpct_status st = mpct_cache_dir_scan(dir, &in);
    if (st != MPCT_OK) {
        mpct_tool_error("cache", st);
        return 1;
    }
    if (json) {
        mpct_json j;
        mpct_json_begin(&j, stdout, 1);
        mpct_json_obj_open(&j, NULL);
        mpct_json_str(&j, "dir", dir);
        mpct_json_int(&j, "files", (long long)in.files);
        mpct_json_int(&j, "bytes", (long long)in.bytes);
        mpct_json_int(&j, "valid", (long long)in.valid);
        mpct_json_int(&j, "corrupt", (long long)in.corrupt);
        mpct_json_int(&j, "raw", (long long)in.raw);
        mpct_json_int(&j, "lz4", (long long)in.lz4);
        mpct_json_int(&j, "compact_prf", (long long)in.compact);
        mpct_json_int(&j, "temp_files", (long long)in.temp_files);
        mpct_json_int(&j, "index_lines", (long long)in.index_lines);
        mpct_json_obj_close(&j);
        mpct_json_end(&j);
        printf("\n");
    } else {
        printf("cache dir   %s\n", dir);
        printf("entries     %llu (%llu valid, %llu corrupt)\n", (unsigned long long)in.files,
               (unsigned long long)in.valid, (unsigned long long)in.corrupt);
        printf("bytes       %llu\n", (unsigned long long)in.bytes);
        printf("encodings   raw %llu, lz4 %llu, compact PRF %llu\n", (unsigned long long)in.raw,
               (unsigned long long)in.lz4, (unsigned long long)in.compact);
        printf("temp files  %llu (left by interrupted writes)\n", (unsigned long long)in.temp_files);
        printf("index       %llu line(s)%s\n", (unsigned long long)in.index_lines,
               in.index_lines != in.valid ? " (differs from the valid entries; run with --reindex)" : "");
    }
    return 0;
}
