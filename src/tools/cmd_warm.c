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

static const struct {
    const char *flag, *key;
    int has_value;
} warm_flags[] = {
    {"--model", "model", 1},          {"--frac-bits", "frac_bits", 1},   {"--owner", "owner", 1},
    {"--timeout", "timeout_s", 1},    {"--test-seed", "test_seed", 1},   {"--quiet", "quiet", 0},
    {"--cache-dir", "cache_dir", 1},  {"--cache-l1-mb", "cache_l1_mb", 1}, {"--cache-l2-mb", "cache_l2_mb", 1},
    {"--cache-policy", "cache_policy", 1}, {"--cache-disk-mb", "cache_disk_mb", 1},
};
#define NWARM (sizeof warm_flags / sizeof warm_flags[0])

static int parse(int argc, char **argv, mpct_job *job, int rank)
{
    mpct_job_defaults(job);
    int i = 1;
    mpct_status st;
    if (i < argc && argv[i][0] != '-') {
        if ((st = mpct_job_load(argv[i], job)) != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("warm", st);
            return 2;
        }
        i++;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0)
                printf("usage: mpirun -np 3 mpct warm [JOB.ini] [--model M.h5] [--cache-dir DIR] [--frac-bits F]\n"
                       "       [--owner P] [--test-seed S] [--timeout S] [--cache-l1-mb N] [--cache-l2-mb N]\n"
                       "       [--cache-policy P] [--cache-disk-mb N] [--quiet]\n"
                       "Shares the model's weights once and stores every party's shares in DIR/party<i>\n"
                       "(or verifies a complete cached generation), so `mpct run` with the same cache_dir\n"
                       "skips weight sharing.\n");
            return -1;
        }
        size_t k = 0;
        while (k < NWARM && strcmp(warm_flags[k].flag, argv[i]))
            k++;
        if (k == NWARM) {
            if (rank == 0)
                fprintf(stderr, "mpct warm: error: unknown option '%s' (see mpct warm --help)\n", argv[i]);
            return 2;
        }
        const char *v = "1";
        if (warm_flags[k].has_value) {
            if (i + 1 >= argc) {
                if (rank == 0)
                    fprintf(stderr, "mpct warm: error: %s needs a value\n", argv[i]);
                return 2;
            }
            v = argv[++i];
        }
        if ((st = mpct_job_set(job, warm_flags[k].key, v, "command line")) != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("warm", st);
            return 2;
        }
    }
    /* inputs and output are not used: placeholders satisfy the validation */
    if (!job->inputs[0])
        snprintf(job->inputs, sizeof job->inputs, "(unused inputs)");
    if (!job->output[0])
        snprintf(job->output, sizeof job->output, "(unused output)");
    if (job->owner == job->client)
        job->client = (job->owner + 1) % 3;
    if ((st = mpct_job_validate(job)) != MPCT_OK) {
        if (rank == 0)
            mpct_tool_error("warm", st);
        return 2;
    }
    if (!job->cache_dir[0]) {
        if (rank == 0)
            fprintf(stderr, "mpct warm: error: no cache directory: set dir in [cache] (or --cache-dir)\n");
        return 2;
    }
    return 0;
}

/* What warm did: the cache line, then verified or stored; a warm that
 * could not store is a failure (the point was to fill the caches). */
static int warm_result(const mpct_job *job, const mpct_sched_cache_stats *cs, double secs, int wrank)
{
    int rcode = 0;
    if (wrank == 0 && !job->quiet) {
        mpct_sched_cache_print(cs, "warm", stderr);
        fprintf(stderr, "mpct warm: %s: %s generation %016llx (%llu tensors per party) in %s/party{0,1,2} "
                        "in %.2f s\n", job->model, cs->used ? "verified" : "stored", (unsigned long long)cs->generation,
                (unsigned long long)cs->tensors, job->cache_dir, secs);
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
    if (p)
        return p < 0 ? 0 : p;
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
