/*
 * replica.c — replicas (three world ranks each: world rank = 3 * replica +
 * party), error printing, a sleeping MPI wait, and the profiling report
 * gathered from every rank. No protocol bytes: MPI collectives only.
 */
#include "sched-impl.h"

#include <stdlib.h>
#include <time.h>

mpct_status mpct_sched_replica_init(mpct_sched_replica *r, const mpct_ctx_config *cfg, double timeout_s)
{
    *r = (mpct_sched_replica){0};
    r->comm = MPI_COMM_NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &r->world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r->world_size);
    if (r->world_size % 3 != 0)
        return mpct_error_set(MPCT_ERR_ARG,
                              "world size %d is not a multiple of 3: mpct needs three ranks (parties) per "
                              "replica; run with mpirun -np 3, 6, 9, ...",
                              r->world_size);
    r->replica = r->world_rank / 3;
    r->nreplicas = r->world_size / 3;
    r->party = r->world_rank % 3;
    if (cfg->deterministic) /* every rank says it: each party's operator must see it */
        fprintf(stderr,
                "mpct: WARNING: rank %d (party %d of replica %d): deterministic test keys (--test-seed): INSECURE, "
                "for tests only; outputs and reports are marked insecure_test_keys = 1\n",
                r->world_rank, r->party, r->replica);
    MPI_Comm_split(MPI_COMM_WORLD, r->replica, r->party, &r->comm);
    MPCT_CALL(mpct_net_init_mpi(&r->net, &r->comm, timeout_s));
    MPCT_CALL(mpct_ctx_init(&r->ctx, r->net, cfg));
    return MPCT_OK;
}

void mpct_sched_replica_free(mpct_sched_replica *r)
{
    mpct_ctx_free(r->ctx);
    mpct_net_free(r->net);
    if (r->comm != MPI_COMM_NULL)
        MPI_Comm_free(&r->comm);
    r->ctx = NULL;
    r->net = NULL;
}

void mpct_sched_wait_sleeping(MPI_Request *rq, long nap_us)
{
    const struct timespec nap = {nap_us / 1000000, (nap_us % 1000000) * 1000};
    for (int done = 0;;) {
        MPI_Test(rq, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        nanosleep(&nap, NULL);
    }
}

void mpct_sched_error(const char *cmd, mpct_status s)
{
    fprintf(stderr, "mpct %s: error: %s (%s)\n", cmd, mpct_error_msg(), mpct_status_str(s));
    const char *t = getenv("MPCT_TRACE");
    if (t && *t == '1')
        fputs(mpct_error_traceback(), stderr);
}

int mpct_sched_agree(int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

mpct_status mpct_sched_gather_report(const mpct_sched_replica *r, mpct_perf_t *perf, const char *tool,
                                     mpct_perf_report_t **out)
{
    void *buf = NULL;
    size_t len = 0;
    *out = NULL;
    mpct_perf_sample_memory(perf);
    int mine = mpct_perf_pack(perf, &buf, &len) == MPCT_OK && len < (size_t)1 << 30 ? (int)len : 0;
    int *lens = NULL, *offs = NULL;
    char *all = NULL;
    if (r->world_rank == 0) {
        lens = calloc((size_t)r->world_size, sizeof *lens);
        offs = calloc((size_t)r->world_size, sizeof *offs);
    }
    MPI_Gather(&mine, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t total = 0;
    if (r->world_rank == 0 && lens && offs) {
        for (int i = 0; i < r->world_size; i++) {
            offs[i] = (int)total;
            total += (size_t)lens[i];
        }
        all = malloc(total ? total : 1);
    }
    MPI_Gatherv(buf, mine, MPI_BYTE, all, lens, offs, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(buf);
    if (r->world_rank != 0)
        return MPCT_OK;
    mpct_perf_report_t *rep = NULL;
    mpct_status st = MPCT_OK;
    if (!lens || !offs || !all) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory gathering profiles");
        goto done;
    }
    MPCT_CALL_GOTO(st, done, mpct_perf_report_init(&rep, tool));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_str(rep, "mpct_version", MPCT_VERSION_STRING));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "protocol_version", MPCT_PROTOCOL_VERSION));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "world_size", r->world_size));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "replicas", r->nreplicas));
    for (int i = 0; i < r->world_size; i++) {
        mpct_perf_t *p = NULL;
        if (lens[i] == 0) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "rank %d could not pack its profile", i);
            goto done;
        }
        MPCT_CALL_GOTO(st, done, mpct_perf_unpack(all + offs[i], (size_t)lens[i], &p));
        MPCT_CALL_GOTO(st, done, mpct_perf_report_add_party(rep, p));
    }
done:
    free(all);
    free(lens);
    free(offs);
    if (st != MPCT_OK) {
        mpct_perf_report_free(rep);
        return st;
    }
    *out = rep;
    return MPCT_OK;
}

mpct_status mpct_sched_save_report(mpct_perf_report_t *rep, const char *json_path, const char *prom_path)
{
    if (json_path && *json_path)
        MPCT_CALL(mpct_perf_report_save(rep, json_path));
    if (prom_path && *prom_path) {
        FILE *f = fopen(prom_path, "w");
        if (!f)
            return mpct_error_set(MPCT_ERR_IO, "cannot write the Prometheus file '%s'", prom_path);
        mpct_perf_report_compute_hints(rep);
        mpct_status st = mpct_perf_report_prometheus(rep, f);
        if (fclose(f) != 0 && st == MPCT_OK)
            st = mpct_error_set(MPCT_ERR_IO, "cannot write the Prometheus file '%s'", prom_path);
        MPCT_CALL(st);
    }
    return MPCT_OK;
}
