/*
 * dispense.c — the loop of a job: which rows each replica computes next,
 * the size of the next range (batch = auto), and the results' way to the
 * writer.
 *
 * Batches are aligned blocks of `batch` rows; block j always uses PRF stream
 * 2 + j, so a block's result does not depend on which replica computed it or
 * on what ran before (with deterministic test keys, runs are bit-identical
 * across replica counts and resumes). Replicas take blocks from a shared
 * counter (MPI fetch-and-add on the client party's replica 0, in a window
 * over the party's own ranks), so a slower replica takes fewer; each
 * replica's client tells its two peers the range over the replica's
 * transport (mpct_sched_rbcast: encrypted when the links are). The writer flushes each block's rows as they arrive (done flags);
 * --resume recomputes only blocks not done.
 *
 * With batch = auto the shared counter is a row cursor instead: each
 * replica's client picks the size of its next range with the search of
 * batch_tune.h (from the throughput and peak RSS of its own earlier batches)
 * and claims that many of the rows not done (a claim that spans a done row
 * is computed as one range per contiguous run, see dispense). A range
 * starting at row i uses PRF stream 2 + i, so a range of one row is
 * bit-identical to block i of a batch-1 run; --resume computes exactly the
 * rows not done.
 *
 * Interruption: every replica checks the signal flag at each batch
 * boundary, its three parties agreeing on it (a replica is lock-step), and
 * one that stops raises a second counter in the dispenser's window so the
 * others stop at their next boundary too; a batch in progress is finished.
 *
 * Results: the writer (client of replica 0) writes its own ranges and
 * drains the other clients' messages (MPI, tag MPCT_SCHED_TAG_RESULT; no
 * protocol bytes) between its batches and after the last.
 *
 * The counter and the result messages stay within the client party, so
 * with encrypted links or parties launched on their own (MPI_COMM_WORLD is
 * then the party's ranks) no row range crosses between parties in the
 * clear.
 */
#include "sched-impl.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Flat message: [first, n, emb (n*dim), logits (n*nl), labels (n), tokens (n)] as doubles. */
static size_t msg_len(size_t n, size_t dim, size_t nl) { return 2 + n * (dim + nl + 2); }

static void msg_pack(const mpct_sched_batch *o, double *m)
{
    m[0] = (double)o->first;
    m[1] = (double)o->n;
    double *p = m + 2;
    memcpy(p, o->emb, o->n * o->dim * sizeof *p);
    p += o->n * o->dim;
    if (o->nl)
        memcpy(p, o->logits, o->n * o->nl * sizeof *p);
    p += o->n * o->nl;
    for (size_t i = 0; i < o->n; i++) {
        p[i] = o->nl ? o->labels[i] : 0;
        p[o->n + i] = o->tokens[i];
    }
}

/* Writes a message's rows below nreal (the rows past it pad the inputs to
 * whole batches: computed, never written); counts all of them. */
static mpct_status write_msg(mpct_out_t *out, const double *m, size_t dim, size_t nl, size_t nreal,
                             mpct_sched_progress *pg)
{
    size_t first = (size_t)m[0], n = (size_t)m[1], all = n;
    if (first + n > nreal)
        n = first < nreal ? nreal - first : 0;
    const double *emb = m + 2, *lg = emb + n * dim, *rest = lg + n * nl;
    int32_t *lab = malloc(n * sizeof *lab), *tok = malloc(n * sizeof *tok);
    if (!lab || !tok) {
        free(lab);
        free(tok);
        return mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)rest[i];
        tok[i] = (int32_t)rest[n + i];
    }
    mpct_status st = n ? mpct_out_write(out, first, n, emb, nl ? lg : NULL, nl ? lab : NULL, tok) : MPCT_OK;
    free(lab);
    free(tok);
    MPCT_CALL(st);
    pg->done += all;
    mpct_sched_progress_show(pg, 0);
    return MPCT_OK;
}

/* Receives result messages from other replicas' clients; block = wait for one. */
static mpct_status drain(mpct_out_t *out, size_t dim, size_t nl, size_t nreal, mpct_sched_progress *pg, int block)
{
    for (;;) {
        int flag = 0;
        MPI_Status status;
        if (block)
            MPI_Probe(MPI_ANY_SOURCE, MPCT_SCHED_TAG_RESULT, MPI_COMM_WORLD, &status), flag = 1;
        else
            MPI_Iprobe(MPI_ANY_SOURCE, MPCT_SCHED_TAG_RESULT, MPI_COMM_WORLD, &flag, &status);
        if (!flag)
            return MPCT_OK;
        int cnt = 0;
        MPI_Get_count(&status, MPI_DOUBLE, &cnt);
        double *m = malloc((size_t)cnt * sizeof *m);
        if (!m)
            return mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory");
        MPI_Recv(m, cnt, MPI_DOUBLE, status.MPI_SOURCE, MPCT_SCHED_TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        mpct_status st = write_msg(out, m, dim, nl, nreal, pg);
        free(m);
        MPCT_CALL(st);
        if (block)
            return MPCT_OK;
    }
}

/* Client side: the next rows of this replica, [*first, *first + *count),
 * and their PRF stream; *count = 0 when no work is left. Both modes use
 * only fetch-and-add on the shared counter (Open MPI 4.1's compare-and-swap
 * over shared memory crashes). Fixed: the next block with rows to do. Auto:
 * `want` positions of the pending rows are claimed at a time; a claim that
 * spans a done row is computed as one range per contiguous run. */
static void dispense(sched_dispenser *d, size_t want, size_t *first, size_t *count, uint64_t *stream)
{
    *count = 0;
    long j = -1, step = d->auto_mode ? (long)want : 1;
    if (!d->auto_mode) {
        do {
            MPI_Fetch_and_op(&step, &j, MPI_LONG, 0, 0, MPI_SUM, d->win);
            MPI_Win_flush(0, d->win);
        } while (j < (long)d->nblocks && !d->todo[j]);
        if (j < (long)d->nblocks) {
            *first = (size_t)j * d->B;
            *count = *first + d->B <= d->n ? d->B : d->n - *first;
            *stream = 2 + (uint64_t)j;
        }
        return;
    }
    if (d->qa >= d->qb) {
        MPI_Fetch_and_op(&step, &j, MPI_LONG, 0, 0, MPI_SUM, d->win);
        MPI_Win_flush(0, d->win);
        d->qa = (size_t)j < d->npend ? (size_t)j : d->npend;
        d->qb = d->qa + want < d->npend ? d->qa + want : d->npend;
    }
    if (d->qa >= d->qb)
        return;
    size_t e = d->qa + 1;
    while (e < d->qb && d->pend[e] == d->pend[e - 1] + 1)
        e++;
    *first = d->pend[d->qa];
    *count = e - d->qa;
    *stream = 2 + (uint64_t)*first;
    d->qa = e;
}

/* Per-party memory limit and base RSS, agreed within the replica (min, max). */
static void tune_limits(const mpct_job *job, const mpct_sched_replica *r, uint64_t *limit, uint64_t *base)
{
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    unsigned long long rss = mpct_perf_rss_now(), lim = (unsigned long long)job->mem_limit_mb << 20;
    if (!lim) {
        unsigned long long avail = mpct_perf_mem_available();
        lim = avail ? rss + avail / (unsigned long long)local : ~0ULL; /* unknown: no limit */
    }
    unsigned long long l = lim, b = rss;
    mpct_sched_rallreduce(r, &l, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN);
    mpct_sched_rallreduce(r, &b, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX);
    *limit = l == ~0ULL ? 0 : (uint64_t)l;
    *base = (uint64_t)b;
}

static void tune_line(sched_tune_rec *tr, int nrep, int rows, int padded, double secs, uint64_t peak, int warmup)
{
    char who[32] = "";
    if (nrep > 1)
        snprintf(who, sizeof who, " (replica %d)", tr->replica);
    fprintf(stderr, "mpct run: batch auto%s: %d rows of %d tokens in %.2f s = %.2f rows/s, peak RSS %.0f MiB "
                    "per party%s; best %d, next %d\n",
            who, rows, padded, secs, secs > 0 ? rows / secs : 0, peak / 1048576.0,
            warmup ? " (warm-up, not counted)" : "", mpct_tune_best(&tr->t), mpct_tune_peek(&tr->t));
}


/* The client's buffers: results of the largest range and, on clients other
 * than the writer, one message per range (at most msg_len(1) doubles per row). */
static int start_buffers(mpct_sched_t *s)
{
    mpct_sched_batch *o = &s->batch;
    const size_t B = s->B;
    o->dim = s->dim;
    o->nl = s->nl;
    o->emb = calloc(B * s->dim, sizeof *o->emb);
    o->logits = calloc(B * (s->nl ? s->nl : 1), sizeof *o->logits);
    o->labels = calloc(B, sizeof *o->labels);
    o->tokens = calloc(B, sizeof *o->tokens);
    int ok = o->emb && o->logits && o->labels && o->tokens;
    if (s->is_client && !s->is_writer) {
        s->mnext = s->msgs = malloc(s->pending_rows * msg_len(1, s->dim, s->nl) * sizeof *s->msgs + 1);
        s->reqs = malloc((s->pending_rows + 1) * sizeof *s->reqs);
        ok = ok && s->msgs && s->reqs;
    }
    return ok;
}

/* Tests only: MPCT_TEST_SLOW_REPLICA="r:ms" delays replica r per range;
 * read once, when the loop starts, not per range. */
static long test_slow_ms(int replica)
{
    const char *slow = getenv("MPCT_TEST_SLOW_REPLICA");
    return slow && strchr(slow, ':') && atoi(slow) == replica ? atol(strchr(slow, ':') + 1) : 0;
}

int mpct_sched_start(mpct_sched_t *s, mpct_sched_batch **batch)
{
    const mpct_job *job = &s->job;
    sched_dispenser *dp = &s->dp;
    mpct_scratch_restart(); /* the cache sizes itself by the batches' temporaries, not the sharing's */
    s->slow_ms = test_slow_ms(s->rep.replica);
    *dp = (sched_dispenser){MPI_WIN_NULL, NULL, job->batch_auto, s->n, (size_t)job->batch, s->nblocks, s->todo,
                            NULL, 0, 0, 0};
    s->B = (size_t)(job->batch_auto ? job->batch_max : job->batch);
    if ((job->batch_auto && s->is_client && !(dp->pend = malloc((s->pending_rows + 1) * sizeof *dp->pend))) ||
        !start_buffers(s)) {
        mpct_sched_error(s->cfg.cmd, mpct_error_set(MPCT_ERR_NOMEM, "out of memory"));
        return MPCT_SCHED_EXIT_ABORT;
    }
    for (size_t i = 0; dp->pend && i < s->n; i++)
        if (!s->done[i])
            dp->pend[dp->npend++] = i;
    int prank = 0; /* the counter lies with the client party's replica 0; only that party makes the window */
    MPI_Comm_rank(s->party_comm, &prank);
    if (s->is_client)
        MPI_Win_allocate(prank == 0 ? (MPI_Aint)(2 * sizeof(long)) : 0, sizeof(long), MPI_INFO_NULL, s->party_comm,
                         &dp->counter, &dp->win);
    if (s->is_client && prank == 0)
        dp->counter[0] = dp->counter[1] = 0;
    s->tr.replica = s->rep.replica;
    if (job->batch_auto) {
        uint64_t limit = 0, base = 0;
        tune_limits(job, &s->rep, &limit, &base);
        mpct_tune_init(&s->tr.t, job->batch_min, job->batch_max, limit, base, 16);
        if (s->is_writer && !s->quiet)
            fprintf(stderr, "mpct run: batch auto: sizes %d..%d, peak RSS limit %.0f MiB per party (%s)\n",
                    job->batch_min, job->batch_max, limit / 1048576.0,
                    job->mem_limit_mb ? "--mem-limit-mb" : limit ? "RSS now + MemAvailable / ranks on the node"
                                                                 : "MemAvailable unknown: none");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (s->is_client) {
        MPI_Win_lock_all(0, dp->win);
        s->win_locked = 1;
    }
    s->pg = (mpct_sched_progress){s->is_writer && !s->quiet, isatty(2), s->pending_rows, 0, mpct_time_now(), 0, 0, 0};
    *batch = &s->batch;
    s->t_infer = mpct_time_now();
    return 0;
}

int mpct_sched_next(mpct_sched_t *s, mpct_sched_range *rg)
{
    const mpct_job *job = &s->job;
    long r3[3] = {0, 0, 0}; /* first row, rows, PRF stream */
    /* a batch boundary: the replica's parties agree whether one of them got a signal */
    int sig_here = mpct_sched_stop_signal(), sig_replica = 0;
    sig_replica = sig_here;
    mpct_sched_rallreduce(&s->rep, &sig_replica, 1, MPI_INT, MPI_MAX);
    if (s->is_client) {
        size_t first = 0, count = 0;
        uint64_t stream = 0;
        long one = sig_replica ? 1 : 0, stopped = 0; /* raise (or read) the stop counter */
        MPI_Fetch_and_op(&one, &stopped, MPI_LONG, 0, 1, MPI_SUM, s->dp.win);
        MPI_Win_flush(0, s->dp.win);
        if (!sig_replica && !stopped)
            dispense(&s->dp, job->batch_auto ? (size_t)mpct_tune_next(&s->tr.t) : s->B, &first, &count, &stream);
        r3[0] = (long)first, r3[1] = (long)count, r3[2] = (long)stream;
        s->my_rows += count;
    }
    mpct_sched_rbcast(&s->rep, r3, sizeof r3, job->client);
    *rg = (mpct_sched_range){(size_t)r3[0], (size_t)r3[1], (uint64_t)r3[2]};
    s->batch.first = rg->first;
    s->batch.n = rg->n;
    if (rg->n == 0)
        return 0;
    if (s->slow_ms > 0)
        nanosleep(&(struct timespec){s->slow_ms / 1000, s->slow_ms % 1000 * 1000000}, NULL);
    if (job->batch_auto && r3[1] != s->prev_rows) /* a new size: measure its own temporaries */
        mpct_scratch_restart();
    s->prev_rows = r3[1];
    if (job->batch_auto && s->my_blocks == 0)
        s->tr.rss_window = mpct_perf_rss_window_start() == 0;
    else if (job->batch_auto)
        mpct_perf_rss_window_start();
    s->t_range = mpct_time_now();
    return 0;
}

/* batch = auto: the replica's largest peak RSS of this range to its client,
 * which records the range's throughput and says what it chose. The search
 * gets public figures only: rows, the padded length every party was told
 * (o->padded), time and peak RSS; never the real token counts. */
static void tune_record(mpct_sched_t *s, const mpct_sched_batch *o, double t_range)
{
    const mpct_job *job = &s->job;
    sched_tune_rec *tr = &s->tr;
    unsigned long long mine = mpct_perf_rss_window_peak(), peak = 0;
    peak = mine;
    mpct_sched_rallreduce(&s->rep, &peak, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX);
    if (!s->is_client)
        return;
    const int padded = (int)o->padded, rows = (int)o->n;
    int was_settled = tr->t.settled, changed = 0, warmup = tr->nseq == 0;
    if (warmup) /* first touches of buffers and caches: not a measurement of its size */
        tr->warmup_s = t_range, tr->warmup_rows = rows;
    else
        changed = mpct_tune_record(&tr->t, rows, padded, t_range, peak);
    if (tr->nseq < SCHED_TUNE_SEQ)
        tr->seq[tr->nseq] = rows;
    tr->nseq++;
    if (!s->quiet && (warmup || !was_settled || rows != mpct_tune_best(&tr->t) || changed))
        tune_line(tr, s->rep.nreplicas, rows, padded, t_range, peak, warmup);
    if (!s->quiet && tr->t.over_limit_at_min == 1) {
        mpct_warnf("mpct run: warning: batch auto: even batch_min %d exceeded the peak RSS limit "
                        "(%.0f MiB > %.0f MiB per party)\n",
                job->batch_min, peak / 1048576.0, tr->t.mem_limit / 1048576.0);
        tr->t.over_limit_at_min = 2; /* warned */
    }
}

/* The client's own figures of a range (real tokens: they stay here). */
static void client_stat(mpct_sched_t *s, const mpct_sched_batch *o, double t_range)
{
    int k = 0;
    while (k < s->ncstat && s->cstat[k].size != (int)o->n)
        k++;
    if (k == MPCT_TUNE_MAX)
        return;
    if (k == s->ncstat)
        s->cstat[s->ncstat++] = (sched_client_stat){(int)o->n, 0, 0, 0, 0};
    sched_client_stat *c = &s->cstat[k];
    c->batches++;
    c->rows += (double)o->n;
    c->seconds += t_range;
    for (size_t i = 0; i < o->n; i++)
        c->tokens += o->first + i < s->n_real ? o->tokens[i] : 0; /* padding rows carry no input */
}

int mpct_sched_submit(mpct_sched_t *s, mpct_sched_batch *o)
{
    const double t_range = mpct_time_now() - s->t_range;
    s->my_blocks++;
    if (s->is_client)
        client_stat(s, o, t_range);
    if (s->job.batch_auto)
        tune_record(s, o, t_range);
    mpct_status st = MPCT_OK;
    const size_t len = msg_len(o->n, s->dim, s->nl);
    if (s->is_writer) {
        double *m = malloc(len * sizeof *m);
        if (!m) {
            mpct_sched_error(s->cfg.cmd, mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory"));
            return MPCT_SCHED_EXIT_ABORT;
        }
        msg_pack(o, m);
        st = write_msg(s->out, m, s->dim, s->nl, s->n_real, &s->pg);
        free(m);
        if (st == MPCT_OK)
            st = drain(s->out, s->dim, s->nl, s->n_real, &s->pg, 0);
    } else if (s->is_client) {
        msg_pack(o, s->mnext);
        MPI_Isend(s->mnext, (int)len, MPI_DOUBLE, s->rep.separate ? 0 : s->job.client, MPCT_SCHED_TAG_RESULT,
                  MPI_COMM_WORLD,
                  &s->reqs[s->nmsg++]);
        s->mnext += len;
    }
    if (st != MPCT_OK) {
        mpct_sched_error(s->cfg.cmd, st);
        return MPCT_SCHED_EXIT_ABORT;
    }
    return 0;
}

/* The writer closes the output: complete, or kept as OUTPUT.partial after
 * a signal with the command that resumes. */
static int close_output(mpct_sched_t *s, int code)
{
    mpct_status st;
    if (s->interrupted) {
        const size_t kept = mpct_out_count_done(s->out);
        if ((st = mpct_out_close(s->out, 0)) != MPCT_OK)
            mpct_sched_error(s->cfg.cmd, st);
        s->out = NULL;
        mpct_sched_stop_message(s->sig, kept, s->n_real, s->job.output, s->wsize, s->rep.separate, s->cfg.argc,
                                s->cfg.argv);
    } else if ((st = mpct_out_close(s->out, 1)) != MPCT_OK) {
        mpct_sched_error(s->cfg.cmd, st);
        code = 1;
    }
    s->out = NULL;
    return code;
}

int mpct_sched_finish(mpct_sched_t *s, int code)
{
    /* the rows every replica computed (all of them unless a signal stopped the run) and the signal */
    unsigned long long rows_mine = s->my_rows, rows_all = 0;
    int sig_mine = mpct_sched_stop_signal();
    if (code == 0) {
        rows_all = rows_mine;
        s->sig = sig_mine;
        mpct_sched_wallreduce(&s->rep, &rows_all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM);
        mpct_sched_wallreduce(&s->rep, &s->sig, 1, MPI_INT, MPI_MAX);
    }
    s->rows_run = (size_t)rows_all;
    s->interrupted = code == 0 && s->rows_run < s->pending_rows;
    mpct_status st;
    if (code == 0 && s->is_writer)
        while (s->pg.done < s->rows_run)
            if ((st = drain(s->out, s->dim, s->nl, s->n_real, &s->pg, 1)) != MPCT_OK) {
                mpct_sched_error(s->cfg.cmd, st);
                code = MPCT_SCHED_EXIT_ABORT;
                break;
            }
    if (s->nmsg)
        MPI_Waitall((int)s->nmsg, s->reqs, MPI_STATUSES_IGNORE);
    if (s->win_locked)
        MPI_Win_unlock_all(s->dp.win);
    s->win_locked = 0;
    if (code)
        return code;
    if (s->dp.win != MPI_WIN_NULL)
        MPI_Win_free(&s->dp.win);
    s->t_infer = mpct_time_now() - s->t_infer;
    mpct_sched_progress_show(&s->pg, 1);
    if (s->is_writer)
        code = close_output(s, code);
    if (s->interrupted)
        code = 128 + (s->sig ? s->sig : SIGTERM);
    return code;
}
