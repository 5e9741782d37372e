/*
 * tool_common.c — replica set-up and error printing for subcommands.
 */
#include "tool_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

mpct_status mpct_replica_init(mpct_replica *r, const mpct_ctx_config *cfg, double timeout_s)
{
    *r = (mpct_replica){0};
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
    MPI_Comm_split(MPI_COMM_WORLD, r->replica, r->party, &r->comm);
    MPCT_CALL(mpct_net_init_mpi(&r->net, &r->comm, timeout_s));
    MPCT_CALL(mpct_ctx_init(&r->ctx, r->net, cfg));
    return MPCT_OK;
}

void mpct_replica_free(mpct_replica *r)
{
    mpct_ctx_free(r->ctx);
    mpct_net_free(r->net);
    if (r->comm != MPI_COMM_NULL)
        MPI_Comm_free(&r->comm);
    r->ctx = NULL;
    r->net = NULL;
}

void mpct_tool_error(const char *cmd, mpct_status s)
{
    fprintf(stderr, "mpct %s: error: %s (%s)\n", cmd, mpct_error_msg(), mpct_status_str(s));
    const char *t = getenv("MPCT_TRACE");
    if (t && *t == '1')
        fputs(mpct_error_traceback(), stderr);
}

int mpct_tool_parse_long(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out)
{
    if (!v) {
        fprintf(stderr, "mpct %s: error: %s needs a value\n", cmd, flag);
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "mpct %s: error: %s expects an integer in [%ld, %ld], got '%s'\n", cmd, flag, lo, hi, v);
        return 1;
    }
    *out = x;
    return 0;
}
