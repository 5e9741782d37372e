/*
 * run_cache.h — the weight step of `mpct run` (and `mpct warm`): replica 0
 * takes its weight shares from the share cache (src/cache, job [cache]) when
 * all three parties hold one complete, agreed sharing generation; otherwise
 * the owner shares the weights afresh and every party stores the new
 * generation. Then each party copies its shares to the other replicas.
 * Design: src/cache/CACHE.md, "The `mpct run` integration".
 *
 * Prefix: mpct_run_ (tool-internal, not part of the libraries).
 */
#ifndef MPCT_RUN_CACHE_H
#define MPCT_RUN_CACHE_H

#include "mpct_cache.h"
#include "mpct_job.h"
#include "mpct_model.h"
#include "tool_common.h"

/* Statistics of the weight step. Counts are summed over the three parties of
 * replica 0 and latencies / times are their maximum (valid on every rank of
 * replica 0; zero on other replicas). */
typedef struct run_cache_stats {
    int enabled;             /* every party of replica 0 had a usable cache */
    int used;                /* the weights came from the cache */
    uint64_t generation;     /* the sharing generation in use (0: none) */
    uint64_t tensors;        /* weight tensors per party */
    uint64_t hits, misses;   /* tensors served from the cache / shared afresh */
    double hit_rate;         /* hits / (hits + misses) */
    uint64_t bytes_read;     /* file bytes read from the disk tier (entries, index) */
    uint64_t bytes_written;  /* payload bytes of the components stored (words, not PRF seeds) */
    uint64_t share_bytes;    /* protocol bytes sent by the weight step */
    uint64_t corrupt, write_errors;
    uint64_t pruned_files, pruned_bytes; /* removed to keep cache_disk_mb */
    double lookup_s, store_s, total_s;
    mpct_cache_tier_stats tier[MPCT_CACHE_TIERS]; /* hits/misses/evictions summed, pXX max */
    char why[96];            /* why the cache was not used ("" when it was or is off) */
} run_cache_stats;

/* Collective over MPI_COMM_WORLD's replicas (every rank calls it). f is the
 * owner's open model file in replica 0 (NULL elsewhere; with a warm cache its
 * tensors are not read). progress (may be NULL) is called on the sharing
 * path. On success *out holds this party's weight shares. Errors here may
 * leave peers blocked: callers treat them as MPCT_EXIT_ABORT. */
mpct_status mpct_run_weights(mpct_replica *r, MPI_Comm party_comm, const mpct_job *job, const mpct_model_file *f,
                             const mpct_smodel_info *info, void (*progress)(size_t, size_t, void *),
                             mpct_smodel **out, run_cache_stats *stats) MPCT_WUR;

/* Adds the cache_* settings to a report (world rank 0). */
mpct_status mpct_run_cache_report(const run_cache_stats *s, mpct_perf_report_t *rep) MPCT_WUR;

/* One line for people: "share cache: hit, generation ..., 105 tensors ..." */
void mpct_run_cache_print(const run_cache_stats *s, const char *cmd, FILE *f);

#endif
