/*
 * batch_tune.c — the batch-size search of `mpct run --batch auto` (the
 * algorithm is described in batch_tune.h).
 */
#include "batch_tune.h"

#include <string.h>

static int find(const mpct_tune *t, int size)
{
    for (int i = 0; i < t->nstat; i++)
        if (t->stat[i].size == size)
            return i;
    return -1;
}

static int add(mpct_tune *t, int size, int candidate)
{
    int i = find(t, size);
    if (i >= 0 || t->nstat == MPCT_TUNE_MAX)
        return i;
    mpct_tune_stat *s = &t->stat[t->nstat];
    memset(s, 0, sizeof *s);
    s->size = size;
    s->candidate = candidate;
    return t->nstat++;
}

void mpct_tune_init(mpct_tune *t, int min, int max, uint64_t mem_limit, uint64_t base_rss, int reprobe_every)
{
    memset(t, 0, sizeof *t);
    t->min = min < 1 ? 1 : min;
    t->max = max < t->min ? t->min : max;
    t->mem_limit = mem_limit;
    t->base_rss = base_rss;
    t->reprobe_every = reprobe_every;
    t->best = -1;
    /* candidates in increasing order: min, 2 min, 4 min, ... < max, max */
    for (long s = t->min; s < t->max; s *= 2)
        add(t, (int)s, 1);
    add(t, t->max, 1);
}

double mpct_tune_rows_per_s(const mpct_tune_stat *s) { return s->seconds > 0 ? s->rows / s->seconds : 0; }

uint64_t mpct_tune_predict_rss(const mpct_tune *t, int size)
{
    if (t->per_token <= 0)
        return 0;
    return t->base_rss + (uint64_t)(t->per_token * size * t->max_len);
}

/* Candidate index after / before candidate i in size order (-1 when none);
 * candidates were added first, in increasing order. */
static int cand_next(const mpct_tune *t, int i)
{
    return i + 1 < t->nstat && t->stat[i + 1].candidate ? i + 1 : -1;
}
static int cand_prev(const mpct_tune *t, int i) { return i > 0 && t->stat[i - 1].candidate ? i - 1 : -1; }

/* Not known to be too big, and not predicted to be. */
static int fits(mpct_tune *t, int i)
{
    mpct_tune_stat *s = &t->stat[i];
    if (s->size == t->min)
        return 1;
    if (!s->too_big && t->mem_limit) {
        uint64_t p = mpct_tune_predict_rss(t, s->size);
        if (p && p > t->mem_limit)
            s->too_big = 1;
    }
    return !s->too_big;
}

int mpct_tune_best(const mpct_tune *t) { return t->best >= 0 ? t->stat[t->best].size : t->min; }

int mpct_tune_next(mpct_tune *t)
{
    if (!t->settled) {
        int last = -1; /* largest candidate measured */
        for (int i = 0; i < t->nstat && t->stat[i].candidate; i++)
            if (t->stat[i].batches)
                last = i;
        int nxt = last < 0 ? 0 : cand_next(t, last);
        if (last >= 0 && last != t->best)
            t->settled = 1; /* the last step up was no improvement */
        else if (nxt < 0 || !fits(t, nxt))
            t->settled = 1; /* nothing larger, or it would not fit in memory */
        else
            return t->stat[nxt].size;
    }
    int b = t->best >= 0 ? t->best : 0;
    if (t->reprobe_every > 0 && ++t->since_reprobe > t->reprobe_every) {
        t->since_reprobe = 0;
        t->reprobe_up = !t->reprobe_up;
        int up = cand_next(t, b), down = cand_prev(t, b);
        int first = t->reprobe_up ? up : down, second = t->reprobe_up ? down : up;
        if (first >= 0 && fits(t, first))
            return t->stat[first].size;
        if (second >= 0 && fits(t, second))
            return t->stat[second].size;
    }
    return t->stat[b].size;
}

int mpct_tune_record(mpct_tune *t, int rows, int padded_len, double seconds, uint64_t peak_rss)
{
    if (rows < 1)
        return 0;
    if (padded_len < 1)
        padded_len = 1;
    if (padded_len > t->max_len)
        t->max_len = padded_len;
    if (peak_rss > t->base_rss) {
        double pt = (double)(peak_rss - t->base_rss) / ((double)rows * padded_len);
        t->per_token = pt > t->per_token ? pt : t->per_token;
    }
    int i = add(t, rows, 0);
    if (i < 0)
        return 0; /* table full: an odd clipped size, not needed for the choice */
    mpct_tune_stat *s = &t->stat[i];
    s->batches++;
    s->rows += rows;
    s->seconds += seconds;
    if (peak_rss > s->peak_rss)
        s->peak_rss = peak_rss;
    if (t->mem_limit && peak_rss > t->mem_limit) {
        if (rows <= t->min)
            t->over_limit_at_min = 1;
        for (int k = 0; k < t->nstat; k++) /* this size and every larger one */
            if (t->stat[k].size >= rows && t->stat[k].size > t->min)
                t->stat[k].too_big = 1;
    }
    int old = t->best;
    t->best = -1;
    for (int k = 0; k < t->nstat; k++) {
        const mpct_tune_stat *c = &t->stat[k];
        if (c->candidate && c->batches && !c->too_big &&
            (t->best < 0 || mpct_tune_rows_per_s(c) > mpct_tune_rows_per_s(&t->stat[t->best])))
            t->best = k;
    }
    if (t->best < 0)
        t->best = 0; /* min: always allowed */
    return t->best != old;
}

int mpct_tune_peek(const mpct_tune *t)
{
    mpct_tune copy = *t;
    return mpct_tune_next(&copy);
}
