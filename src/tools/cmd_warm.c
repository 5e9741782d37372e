/*
 * cmd_warm.c — `mpct warm`: pre-share a model's weights into every party's
 * share cache, so that later `mpct run` jobs with the same model, cache_dir,
 * frac_bits (and test_seed) start without the weight-sharing round.
 *
 * MPCT_COMMAND(warm, 1, "pre-share a model's weights into every party's share cache")
 *
 * Same job file and flags as `mpct run` (only [model], [cache], frac_bits,
 * owner, timeout_s, test_seed, quiet matter; inputs and output are not
 * needed). It runs the weight step of `mpct run` (mpct_sched_weights,
 * src/sched/weights.c): when the
 * three caches already hold one complete generation it only verifies it
 * (every file is read and checksummed), otherwise it shares afresh and
 * stores a new generation. World size 3 (a multiple of 3 works; replica 0
 * does the work).
 */
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_sched.h"
#include "tool_common.h"

#include <stdio.h>
#include <string.h>

static const mpct_opt_exit warm_exits_more[] = {
    {MPCT_SCHED_EXIT_ABORT, "a failure that may leave peers blocked: the job is taken down (MPI_Abort)"},
    {0, NULL},
};

static mpct_opt_cmd warm_cmd = {
    .name = "warm",
    .usage = "mpirun -np 3 mpct warm [JOB.ini] [options]",
    .about = "Shares the model's weights once and stores every party's shares in DIR/party<i>\n"
             "(or verifies a complete cached generation), so `mpct run` with the same cache_dir\n"
             "skips weight sharing. Takes the job file of `mpct run`; of its keys only the model,\n"
             "the cache, frac_bits, owner, timeout_s, test_seed and quiet matter. Flags:\n",
    .exit_ok = "the caches hold a complete generation (verified or stored)",
    .exit_fail = "a failure every rank saw alike: an unreadable model, the weights not\n"
                 "cached (the message says why)",
    .exit_usage = "bad usage or a bad job file, or no cache directory",
    .exits_more = warm_exits_more,
};

static int parse(int argc, char **argv, mpct_job *job, int rank)
{
    warm_cmd.opts = mpct_tool_job_opts(MPCT_TOOL_JOB_WARM, &warm_cmd.nopts);
    int rc = mpct_tool_job_parse(&warm_cmd, argc, argv, 0, job);
    if (rc >= 0)
        return rc;
    mpct_status st;
    /* inputs and output are not used: placeholders satisfy the validation */
    if (!job->inputs[0])
        snprintf(job->inputs, sizeof job->inputs, "(unused inputs)");
    if (!job->output[0])
        snprintf(job->output, sizeof job->output, "(unused output)");
    if (job->owner == job->client)
        job->client = (job->owner + 1) % 3;
    if ((st = mpct_job_validate(job)) != MPCT_OK) {
        if (rank == 0)
            mpct_sched_error("warm", st);
        return 2;
    }
    if (!job->cache_dir[0]) {
        if (rank == 0)
            fprintf(stderr, "mpct warm: error: no cache directory: set dir in [cache] (or --cache-dir)\n");
        return 2;
    }
    return -1;
}

/* What warm did: the cache line, then verified or stored; a warm that
 * could not store is a failure (the point was to fill the caches). */
static int warm_result(const mpct_job *job, const mpct_sched_cache_stats *cs, double secs, int wrank)
{
    int rcode = 0;
    if (wrank == 0 && !job->quiet) {
        mpct_sched_cache_print(cs, "warm", stderr);
        char where[64];
        if (job->party >= 0) /* a party launched alone stores only its own shares */
            snprintf(where, sizeof where, "party%d", job->party);
        else
            snprintf(where, sizeof where, "party{0,1,2}");
        fprintf(stderr, "mpct warm: %s: %s generation %016llx (%llu tensors per party) in %s/%s in %.2f s\n",
                job->party < 0 || job->party == job->owner ? job->model : "the owner's model",
                cs->used ? "verified" : "stored", (unsigned long long)cs->generation, (unsigned long long)cs->tensors,
                job->cache_dir, where, secs);
    }
    if (wrank == 0 && (!cs->enabled || (!cs->used && (cs->write_errors || !cs->generation)))) {
        fprintf(stderr, "mpct warm: error: the weights were not cached (%s)\n",
                cs->why[0] ? cs->why : "write error");
        rcode = 1;
    }
    MPI_Bcast(&rcode, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rcode;
}

int mpct_cmd_warm(int argc, char **argv)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    mpct_job job;
    int p = parse(argc, argv, &job, wrank);
    if (p >= 0)
        return p;
    const mpct_sched_config cfg = {"warm", &job, argc, argv, 1, 0};
    mpct_sched_t *s = NULL;
    mpct_smodel *m = NULL;
    mpct_sched_cache_stats cs;
    int code = mpct_sched_open(&s, &cfg);
    code = code ? code : mpct_sched_describe(s);
    double t0 = mpct_time_now();
    code = code ? code : mpct_sched_weights(s, &m, &cs);
    code = code ? code : warm_result(&job, &cs, mpct_time_now() - t0, wrank);
    mpct_sched_close(s, code);
    return code;
}
