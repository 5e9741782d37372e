/*
 * batch_tune.h — the batch-size search of `mpct run --batch auto`: picks the
 * rows per batch from measured throughput and memory, within user bounds.
 * Pure bookkeeping (no MPI, no clocks): the caller measures each batch and
 * records it; unit-tested in tests/run/test_batch_tune.c.
 *
 * Prefix: mpct_tune_*.
 *
 * The search (also in README.md, "Adaptive batch size"):
 *  - candidates are min, 2 min, 4 min, ... below max, and max;
 *  - probing: each candidate in increasing order is measured once, while the
 *    last one probed is the best so far and its predicted peak RSS fits the
 *    limit; the first candidate that is not an improvement (or would not
 *    fit) ends the probing;
 *  - then the best candidate is used, and every `reprobe_every` batches one
 *    neighbour (alternately the next larger and the next smaller candidate)
 *    is measured again, so the choice follows the aggregate figures;
 *  - throughput is rows per second over all batches of a size: the search
 *    reads only what every party of the replica knows (rows, padded length,
 *    time, peak RSS), never the client's real token counts, so the sizes it
 *    picks, which every party sees, carry nothing about the inputs beyond
 *    the padded lengths; the padding a larger batch wastes counts against it
 *    through its time;
 *  - memory: peak RSS per party ~ base + size * T * per_token, T the padded
 *    length of a batch (its longest input) and per_token the largest
 *    (peak - base) / (rows * T) measured; a candidate predicted (at the
 *    longest T seen) over the limit is not tried, and one measured over it
 *    is dropped with all larger ones (min is always allowed: it is the
 *    user's bound).
 * Invariants: every size returned by mpct_tune_next is in [min, max].
 */
#ifndef MPCT_BATCH_TUNE_H
#define MPCT_BATCH_TUNE_H

#include <stdint.h>

#define MPCT_TUNE_MAX 48 /* sizes tracked: candidates plus the odd sizes of clipped ranges */

typedef struct mpct_tune_stat {
    int size;            /* rows per batch */
    int candidate;       /* 1: a step of the search; 0: a clipped range (recorded, not chosen) */
    int batches;         /* batches measured at this size */
    double rows, seconds;
    uint64_t peak_rss;   /* largest per-party peak RSS of a batch of this size, bytes */
    int too_big;         /* 1: predicted or measured over the memory limit */
} mpct_tune_stat;

typedef struct mpct_tune {
    int min, max;
    uint64_t mem_limit;  /* bytes of peak RSS per party */
    uint64_t base_rss;   /* RSS per party before the first batch, bytes */
    int reprobe_every;   /* batches at the best size between two re-probes (0 = never) */
    int nstat;
    mpct_tune_stat stat[MPCT_TUNE_MAX];
    int settled;         /* 1: probing is over */
    int best;            /* index into stat of the best candidate, -1 before any */
    int since_reprobe, reprobe_up;
    int over_limit_at_min; /* nonzero: even min exceeded the limit (it is used anyway) */
    double per_token;    /* largest (peak - base) / (rows * padded length) measured, bytes; 0 = none */
    int max_len;         /* longest padded length seen */
} mpct_tune;

void mpct_tune_init(mpct_tune *t, int min, int max, uint64_t mem_limit, uint64_t base_rss, int reprobe_every);

/* The size of the next batch, in [min, max]. */
int mpct_tune_next(mpct_tune *t);
/* What mpct_tune_next would return now, without advancing the search. */
int mpct_tune_peek(const mpct_tune *t);

/* One measured batch: `rows` rows (fewer than asked when the range was
 * clipped), padded to `padded_len` tokens each, in `seconds`, peak RSS
 * `peak_rss` (the largest of the parties). Public figures only. Returns 1
 * when the best size changed. */
int mpct_tune_record(mpct_tune *t, int rows, int padded_len, double seconds, uint64_t peak_rss);

/* The best size so far (min before any measurement). */
int mpct_tune_best(const mpct_tune *t);

/* Throughput of a stat: rows/s (0 when unmeasured). */
double mpct_tune_rows_per_s(const mpct_tune_stat *s);

/* Predicted peak RSS per party of a batch of `size` rows at the longest
 * padded length seen; 0 when unknown. */
uint64_t mpct_tune_predict_rss(const mpct_tune *t, int size);

#endif
