/*
 * job.c — a job's set-up and end: replicas and profiler (open), the model's
 * public description and vocabulary (describe, vocab), the rows and the
 * output (rows), the weights (weights), and close.
 *
 * Every step is collective over MPI_COMM_WORLD and ends with the ranks'
 * agreement on success (one MPI_Allreduce), so a failure on one rank makes
 * every rank return the same status; the failing rank alone prints why.
 * Public moves (no protocol bytes): the model description and the
 * vocabulary from the owner of replica 0 to every rank (describe_bcast,
 * vocab), the row count and done flags from the writer.
 */
#include "sched-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int mpct_sched_fail(const mpct_sched_t *s, mpct_status st)
{
    mpct_sched_error(s->cfg.cmd, st);
    return 0;
}

mpct_sched_replica *mpct_sched_replica_of(mpct_sched_t *s) { return &s->rep; }
const mpct_smodel_info *mpct_sched_info(const mpct_sched_t *s) { return &s->info; }
size_t mpct_sched_nrows(const mpct_sched_t *s) { return s->n; }
mpct_out_t *mpct_sched_output(mpct_sched_t *s) { return s->out; }

/* Before any op: PAPI counts from here, read by the transport at each
 * outermost op enter/leave (one branch per op when unavailable). */
static int open_perf(mpct_sched_t *s)
{
    const mpct_job *job = &s->job;
    mpct_perf_config pc = mpct_perf_config_default();
    pc.world_rank = s->wrank;
    pc.replica = s->rep.replica;
    pc.party = s->rep.party;
    pc.papi = job->papi;
    pc.papi_events = job->papi_events[0] ? job->papi_events : NULL;
    mpct_status st = mpct_perf_init(&s->perf, &pc);
    if (!mpct_sched_agree(st == MPCT_OK ? 1 : mpct_sched_fail(s, st)))
        return 1;
    if (mpct_perf_papi_available(s->perf))
        mpct_net_set_probe(s->rep.net, mpct_perf_counters_read, s->perf, mpct_perf_papi_nevents(s->perf));
    return 0;
}

int mpct_sched_open(mpct_sched_t **out, const mpct_sched_config *cfg)
{
    mpct_sched_t *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) {
        mpct_sched_error(cfg->cmd, mpct_error_set(MPCT_ERR_NOMEM, "job: out of memory"));
        return MPCT_SCHED_EXIT_ABORT;
    }
    s->cfg = *cfg;
    s->job = *cfg->job;
    /* a party process holds keys, shares and (owner, client) plaintext: a
     * crash must not write them to a core file */
    const struct rlimit no_core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0)
        mpct_warnf("mpct %s: warning: cannot disable core dumps: %s\n", cfg->cmd, strerror(errno));
    s->rep.comm = s->party_comm = MPI_COMM_NULL;
    s->dp.win = MPI_WIN_NULL;
    s->prev_rows = -1;
    const mpct_job *job = &s->job;
    MPI_Comm_rank(MPI_COMM_WORLD, &s->wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &s->wsize);
    mpct_ctx_config cc = mpct_ctx_config_default();
    cc.frac_bits = job->frac_bits;
    cc.kernels = job->kernels;
    cc.deterministic = job->test_seed != 0;
    cc.seed = (uint64_t)job->test_seed;
    mpct_status st = mpct_sched_replica_open(&s->rep, &cc, job);
    if (job->party >= 0) { /* one party alone: its ranks agree, no peer waits on a party that gave up here */
        int ok = st == MPCT_OK, all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (st != MPCT_OK) /* its ranks may fail differently (a port, a name lookup): each says why */
            mpct_sched_error(cfg->cmd, st);
        if (!all)
            return 1;
    } else if (st != MPCT_OK) {
        if (s->wrank == 0 || st != MPCT_ERR_ARG)
            mpct_sched_error(cfg->cmd, st);
        return st == MPCT_ERR_ARG ? 1 : MPCT_SCHED_EXIT_ABORT;
    }
    if (s->rep.separate) /* this launch is the party */
        MPI_Comm_dup(MPI_COMM_WORLD, &s->party_comm);
    else
        MPI_Comm_split(MPI_COMM_WORLD, s->rep.party, s->rep.replica, &s->party_comm);
    if (cfg->writes && (job->report[0] || job->prometheus[0]) && open_perf(s))
        return 1;
    s->is_owner0 = s->rep.party == job->owner && s->rep.replica == 0;
    s->is_client = s->rep.party == job->client;
    s->is_writer = s->is_client && s->rep.replica == 0;
    s->quiet = job->quiet;
    s->t_start = mpct_time_now();
    if (job->trace[0] && cfg->writes && !mpct_sched_agree(mpct_sched_trace_open(s)))
        return 1;
    /* every output path, before any work (the report is written by world rank 0) */
    if (cfg->writes && !mpct_sched_agree(mpct_sched_outputs_ready(cfg->cmd, job, s->is_writer, s->wrank == 0)))
        return 1;
    return 0;
}

/* The one place where the model description travels: from the owner of
 * replica 0 (which filled it from the model file) to every rank. */
/* The owner's description to every rank in its wire encoding (explicit
 * fields, checked on decode: never a struct's bytes). An encoding failure
 * on the owner sends zeros, which every rank then refuses alike. */
static mpct_status describe_bcast(const mpct_sched_replica *r, mpct_smodel_info *info, int owner, int is_owner)
{
    uint8_t buf[MPCT_SMODEL_INFO_WIRE_BYTES] = {0};
    size_t len = 0;
    if (is_owner && mpct_smodel_info_encode(info, buf, sizeof buf, &len) != MPCT_OK)
        memset(buf, 0, sizeof buf);
    mpct_sched_wbcast(r, buf, sizeof buf, owner);
    return mpct_smodel_info_decode(buf, sizeof buf, info); /* runs mpct_smodel_info_accept */
}

int mpct_sched_describe(mpct_sched_t *s)
{
    const mpct_job *job = &s->job;
    mpct_status st;
    int ok = 1;
    if (s->is_owner0 && (st = mpct_model_file_open(job->model, &s->mf)) != MPCT_OK)
        ok = mpct_sched_fail(s, st);
    if (!mpct_sched_agree(ok))
        return 1;
    if (s->is_owner0)
        mpct_smodel_info_read(s->mf, job->frac_bits, &s->info);
    if ((st = describe_bcast(&s->rep, &s->info, job->owner, s->is_owner0)) != MPCT_OK) { /* the same on every rank */
        if (s->wrank == 0)
            mpct_sched_error(s->cfg.cmd, st);
        return 1;
    }
    return 0;
}

int mpct_sched_vocab(mpct_sched_t *s, uint8_t **vocab, size_t *len)
{
    const int owner = s->job.owner;
    int lower = 1, ok = 1;
    long long vl = 0;
    mpct_status st;
    *vocab = NULL;
    *len = 0;
    if (s->is_owner0) {
        if ((st = mpct_model_file_read_vocab(s->mf, vocab, len, &lower)) != MPCT_OK)
            ok = mpct_sched_fail(s, st);
        vl = ok ? (long long)*len : -1;
    }
    mpct_sched_wbcast(&s->rep, &vl, sizeof vl, owner);
    if (vl < 0)
        return 1;
    if (!s->is_owner0) {
        *len = (size_t)vl;
        *vocab = mpct_alloc(*len ? *len : 1);
    }
    ok = *vocab != NULL;
    if (!mpct_sched_agree(ok ? 1 : mpct_sched_fail(s, mpct_error_set(MPCT_ERR_NOMEM, "vocabulary: out of memory")))) {
        mpct_free(*vocab);
        *vocab = NULL;
        return 1;
    }
    mpct_sched_wbcast(&s->rep, *vocab, *len, owner);
    return 0;
}

/* The pending rows: exactly the rows not done (batch = auto), or whole
 * blocks with a row not done (fixed batch). */
static void count_pending(mpct_sched_t *s)
{
    const size_t B = (size_t)s->job.batch;
    s->pending_rows = 0;
    if (s->job.batch_auto) {
        for (size_t i = 0; i < s->n; i++)
            s->pending_rows += !s->done[i];
        return;
    }
    for (size_t j = 0; j < s->nblocks; j++) {
        size_t first = j * B, last = first + B;
        for (size_t i = first; i < last && i < s->n; i++)
            if (!s->done[i])
                s->todo[j] = 1;
        for (size_t i = first; s->todo[j] && i < last && i < s->n; i++)
            s->pending_rows++;
    }
}

/* The rows every party is told: n, or with hide_lengths n rounded up to
 * whole batches (of batch, or batch_max with batch = auto). */
static size_t public_rows(const mpct_job *job, size_t n)
{
    const size_t unit = (size_t)(job->batch_auto ? job->batch_max : job->batch);
    return job->hide_lengths ? (n + unit - 1) / unit * unit : n;
}

int mpct_sched_rows(mpct_sched_t *s, size_t n, size_t dim, size_t nl, mpct_out_meta *meta)
{
    const mpct_job *job = &s->job;
    unsigned long long nin[2] = {public_rows(job, n), (unsigned long long)job->hide_lengths};
    mpct_sched_wbcast(&s->rep, nin, sizeof nin, job->client);
    s->n = (size_t)nin[0];
    s->hide = nin[1] != 0;
    s->n_real = s->is_client ? n : s->n;
    s->dim = dim;
    s->nl = nl;
    s->nblocks = (s->n + (size_t)job->batch - 1) / (size_t)job->batch;
    /* the writer opens the output (fails early if it cannot be written) */
    s->done = calloc(s->n ? s->n : 1, 1);
    s->todo = calloc(s->nblocks ? s->nblocks : 1, 1);
    int ok = s->done && s->todo ? 1 : mpct_sched_fail(s, mpct_error_set(MPCT_ERR_NOMEM, "rows: out of memory"));
    if (s->is_writer && ok) {
        meta->n_inputs = s->n_real;
        meta->dim = dim;
        meta->num_labels = nl;
        mpct_status st = mpct_out_open(job->output, meta, job->resume, &s->out);
        if (st == MPCT_OK)
            st = mpct_out_done(s->out, s->done);
        for (size_t i = s->n_real; i < s->n; i++) /* padding rows: done with the last real row */
            s->done[i] = s->done[s->n_real - 1];
        if (st != MPCT_OK)
            ok = mpct_sched_fail(s, st);
    }
    if (!mpct_sched_agree(ok))
        return 1;
    mpct_sched_wbcast(&s->rep, s->done, s->n, job->client);
    count_pending(s);
    size_t done_real = 0; /* the writer's inputs (padding rows not counted) */
    for (size_t i = 0; s->is_writer && i < s->n_real; i++)
        done_real += s->done[i] != 0;
    if (s->is_writer && !s->quiet && job->resume)
        fprintf(stderr, "mpct %s: resuming: %zu of %zu inputs already done, %zu to compute\n", s->cfg.cmd,
                done_real, s->n_real, s->n_real - done_real);
    return 0;
}

static void share_progress(size_t done, size_t total, void *arg)
{
    (void)arg;
    if (done == total || done % 16 == 0)
        fprintf(stderr, "\rmpct run: sharing weights %zu/%zu tensors%s", done, total, done == total ? "\n" : "");
}

int mpct_sched_weights(mpct_sched_t *s, mpct_smodel **m, mpct_sched_cache_stats *stats)
{
    const mpct_job *job = &s->job;
    double t0 = mpct_time_now();
    /* progress and cache lines are run's: warm and bench say their own */
    const int progress = s->cfg.writes && s->is_owner0 && !s->quiet && isatty(2);
    mpct_status st = mpct_sched_weights_load(&s->rep, s->party_comm, job, s->mf, &s->info, s->cfg.replicate,
                                             progress ? share_progress : NULL, &s->model, &s->cst);
    mpct_model_file_close(s->mf);
    s->mf = NULL;
    if (st != MPCT_OK) {
        mpct_sched_error(s->cfg.cmd, st);
        return MPCT_SCHED_EXIT_ABORT;
    }
    if (s->cfg.writes && s->is_writer && !s->quiet)
        mpct_sched_cache_print(&s->cst, s->cfg.cmd, stderr);
    *m = s->model;
    if (stats)
        *stats = s->cst;
    s->setup = mpct_net_total(s->rep.net);
    s->t_share = mpct_time_now() - t0;
    return 0;
}

void mpct_sched_close(mpct_sched_t *s, int code)
{
    if (!s)
        return;
    if (s->out && mpct_out_close(s->out, 0) != MPCT_OK) /* keeps PATH.partial for --resume */
        mpct_sched_error(s->cfg.cmd, MPCT_ERR_IO);
    mpct_model_file_close(s->mf);
    mpct_smodel_free(s->model);
    free(s->done);
    free(s->todo);
    free(s->dp.pend);
    free(s->msgs);
    free(s->reqs);
    free(s->batch.emb);
    free(s->batch.logits);
    free(s->batch.labels);
    free(s->batch.tokens);
    if (code != MPCT_SCHED_EXIT_ABORT) { /* else MPI_Abort follows: peers may still block on these */
        if (s->win_locked)
            MPI_Win_unlock_all(s->dp.win);
        if (s->dp.win != MPI_WIN_NULL)
            MPI_Win_free(&s->dp.win);
        mpct_sched_replica_free(&s->rep);
        mpct_perf_free(s->perf); /* after the transport that read its counters */
        mpct_perf_trace_free(s->trace);
        if (s->party_comm != MPI_COMM_NULL)
            MPI_Comm_free(&s->party_comm);
    }
    free(s);
}
