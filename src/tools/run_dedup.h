/*
 * run_dedup.h — `mpct run --dedup` and `--result-cache DIR`: the client
 * computes each distinct input once, and none that its own result cache
 * already answers.
 *
 * Prefix: run_dd_.
 *
 * How (all on the client; the other parties see only the number of rows
 * computed, the rows' count that --dedup and the cache reduce):
 *  - Rows whose token ids equal an earlier row's (confirmed id by id, not
 *    by hash) are not computed: they copy that row's result.
 *  - With a cache, a distinct row whose entry is found and checked is not
 *    computed either. The rows left (ascending) are the run's row map
 *    (run_inputs.h): the job computes them into OUTPUT.unique.h5 (an
 *    ordinary output, so --resume works on it), then the writer builds
 *    OUTPUT: every row from its computed row, its earlier twin or its
 *    cache entry, with the /truncated and /id of the inputs; written under
 *    OUTPUT.partial and renamed, then the new rows go to the cache and
 *    OUTPUT.unique.h5 is removed.
 *  - A cache entry is DIR/<k0k1>/<key>.row, key = SHA-256 of the model's
 *    content hash, the settings that change a row's result (task,
 *    frac_bits, seq_len, mode, test keys, mpct version) and the row's
 *    token ids. The entry stores all of them again and is used only when
 *    every one matches (a stale, foreign or damaged entry is a miss with one
 *    warning, and is replaced); entries are written under a temporary name
 *    and renamed. Entries hold token ids and results: DIR is created 0700.
 *  - Every row of OUTPUT equals what computing it in this run would give
 *    up to the randomised rounding: a copied row is one sample of it.
 */
#ifndef MPCT_RUN_DEDUP_H
#define MPCT_RUN_DEDUP_H

#include "mpct_job.h"
#include "mpct_out.h"
#include "run_inputs.h"

#include <stddef.h>
#include <stdint.h>

typedef struct run_dedup {
    size_t n;          /* rows of the inputs */
    size_t *src;       /* per row: its computed row (< nmap), or SIZE_MAX when from the cache */
    size_t *rep;       /* per row: the earlier row with the same ids, or SIZE_MAX */
    uint8_t *hit;      /* per row: answered by the cache */
    size_t repeats, hits; /* rows copied from a twin, rows from the cache */
    size_t dim, nl;
    int speak;         /* this client prints the warnings (one client per job: the writer) */
    char settings[256], model_hash[80];
} run_dedup;

/* The computed rows' file for output OUTPUT: OUTPUT.unique.h5 (every rank
 * makes the same); MPCT_ERR_ARG when it does not fit cap. */
mpct_status run_dd_unique_path(const char *output, char *path, size_t cap) MPCT_WUR;

/* The client: finds repeats and cache hits, sets in->map / in->nmap. */
mpct_status run_dd_plan(const mpct_job *job, run_inputs *in, const char *model_hash, size_t dim, size_t nl,
                        int speak, run_dedup *dd) MPCT_WUR;

/* The writer, after the job completed the computed rows' file job->output:
 * builds output (meta as for a direct run; n_inputs = the inputs' rows),
 * stores the new rows in the cache, removes the computed rows' file. */
mpct_status run_dd_finish(const mpct_job *job, const char *output, run_inputs *in, run_dedup *dd,
                          const mpct_out_meta *meta,
                          mpct_status (*write_inputs)(const mpct_job *, run_inputs *, mpct_out_t *)) MPCT_WUR;

void run_dd_free(run_dedup *dd);

#endif
