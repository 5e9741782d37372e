/*
 * test_batch_tune.c — the batch-size search of `mpct run --batch auto`
 * (src/sched/batch_tune.c) against synthetic cost models:
 *  1. a latency + per-row cost (throughput rises with size, then flattens)
 *     with a super-linear term: the search probes upwards, stops after the
 *     first size that is no improvement and settles on the best size;
 *  2. every size returned stays within [min, max], also for odd bounds;
 *  3. memory: a limit that fits size 4 but not 8 at 100 MB per row: 8 is
 *     never tried (predicted), and a size measured over the limit is dropped;
 *  4. re-probing: after the throughput of the best size degrades, the next
 *     re-probe finds the better neighbour and switches;
 *  5. clipped ranges are recorded but never chosen.
 */
#include "batch_tune.h"
#include "../mpct_check.h"

#include <math.h>
#include <string.h>

/* seconds of a batch of b rows */
static double cost(int b, double lat, double per_row, double quad) { return lat + per_row * b + quad * b * b; }

/* Runs the search for n batches on a cost model; returns the size settled on. */
static int drive(mpct_tune *t, int n, double lat, double per_row, double quad, uint64_t per_row_mem, int *maxseen,
                 int *minseen)
{
    for (int i = 0; i < n; i++) {
        int b = mpct_tune_next(t);
        *maxseen = b > *maxseen ? b : *maxseen;
        *minseen = b < *minseen ? b : *minseen;
        mpct_tune_record(t, b, 20, cost(b, lat, per_row, quad), t->base_rss + per_row_mem * (uint64_t)b);
    }
    return mpct_tune_best(t);
}

int main(void)
{
    mpct_tune t;
    int mx = 0, mn = 1 << 30;
    /* 1. 0.5 s latency, 0.1 s per row, 0.01 s * b^2: rows/s = b / (0.5 + 0.1 b + 0.01 b^2), best at b = 7; of
     * the powers of two 8 (4.12 rows/s) beats 4 (3.77) and 16 (3.43) */
    mpct_tune_init(&t, 1, 64, 0, 100u << 20, 16);
    int best = drive(&t, 40, 0.5, 0.1, 0.01, 1u << 20, &mx, &mn);
    CHECK(best == 8, "settled on %d, expected 8", best);
    CHECK(mx == 16, "largest size tried %d, expected 16 (the first one that is no improvement)", mx);
    CHECK(t.settled, "not settled after 40 batches");
    int probed = 0;
    for (int k = 0; k < t.nstat; k++)
        probed += t.stat[k].batches > 0;
    CHECK(probed == 5, "%d sizes measured, expected 1, 2, 4, 8, 16", probed);

    /* 2. bounds: odd min and max */
    mpct_tune_init(&t, 3, 20, 0, 0, 4);
    mx = 0, mn = 1 << 30;
    drive(&t, 60, 0.5, 0.01, 0, 0, &mx, &mn); /* latency-bound: the largest size wins */
    CHECK(mn >= 3 && mx <= 20, "sizes %d..%d outside 3..20", mn, mx);
    CHECK(mpct_tune_best(&t) == 20, "latency-bound cost: best %d, expected max 20", mpct_tune_best(&t));
    mpct_tune_init(&t, 5, 5, 0, 0, 4);
    CHECK(mpct_tune_next(&t) == 5, "min == max: size %d", mpct_tune_next(&t));

    /* 3. memory: base 100 MB, 100 MB per row (20 tokens each), limit 550 MB: 4 fits (500), 8 does not (900) */
    mpct_tune_init(&t, 1, 64, 550u << 20, 100u << 20, 16);
    mx = 0, mn = 1 << 30;
    drive(&t, 30, 0.5, 0.01, 0, 100u << 20, &mx, &mn);
    CHECK(mx == 4, "with a 550 MB limit the largest size tried is %d, expected 4", mx);
    CHECK(mpct_tune_best(&t) == 4, "memory-limited best %d, expected 4", mpct_tune_best(&t));
    CHECK(mpct_tune_predict_rss(&t, 8) == (100u << 20) + 8 * (uint64_t)(100u << 20), "prediction for 8: %llu",
          (unsigned long long)mpct_tune_predict_rss(&t, 8));
    /* a measurement over the limit drops that size and every larger one */
    mpct_tune_init(&t, 1, 8, 550u << 20, 100u << 20, 16);
    mpct_tune_record(&t, 1, 20, 1.0, 150u << 20);
    mpct_tune_record(&t, 2, 20, 1.0, 600u << 20); /* the fastest, but over the limit */
    CHECK(mpct_tune_best(&t) == 1, "a size over the limit was chosen (%d)", mpct_tune_best(&t));
    for (int i = 0; i < 20; i++)
        CHECK(mpct_tune_next(&t) == 1, "a size over the limit is used again");
    mpct_tune_record(&t, 1, 20, 1.0, 700u << 20);
    CHECK(t.over_limit_at_min, "min over the limit not flagged");

    /* 4. re-probing follows a change: 2 is best at first, later 4 becomes far better */
    mpct_tune_init(&t, 1, 4, 0, 0, 4);
    mpct_tune_record(&t, 1, 20, 1.0, 0);
    mpct_tune_record(&t, 2, 20, 1.0, 0);
    mpct_tune_record(&t, 4, 20, 4.0, 0);
    CHECK(mpct_tune_best(&t) == 2, "best %d, expected 2", mpct_tune_best(&t));
    int switched = 0;
    for (int i = 0; i < 40 && !switched; i++) {
        int b = mpct_tune_next(&t);
        mpct_tune_record(&t, b, 20, b == 4 ? 0.5 : 1.0, 0);
        switched = mpct_tune_best(&t) == 4;
    }
    CHECK(switched, "re-probing never moved to the faster size 4");

    /* 5. a clipped range of an odd size is recorded, not chosen */
    mpct_tune_init(&t, 2, 8, 0, 0, 4);
    mpct_tune_record(&t, 2, 20, 1.0, 0);
    mpct_tune_record(&t, 3, 20, 0.1, 0); /* absurdly fast, but not a candidate */
    CHECK(mpct_tune_best(&t) == 2, "a clipped size was chosen (%d)", mpct_tune_best(&t));
    { /* sequenced: next may change the tuner's state */
        const int pk = mpct_tune_peek(&t);
        CHECK(pk == mpct_tune_peek(&t), "peek changes the state");
        CHECK(pk == mpct_tune_next(&t), "peek differs from next");
    }

    return mpct_check_done("test_batch_tune");
}
