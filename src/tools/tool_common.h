/*
 * tool_common.h — shared by the mpct subcommands: MPI replica set-up (every
 * three world ranks form one replica), error reporting, option parsing.
 */
#ifndef MPCT_TOOL_COMMON_H
#define MPCT_TOOL_COMMON_H

#include "mpct_mpc.h"
#include "mpct_perf.h"

#include <mpi.h>

/* Exit status of a subcommand whose failure may leave peers blocked (a
 * transport or protocol error mid-run): main() then calls MPI_Abort. Failures
 * that every rank detects alike (bad flags, world size) return 1 or 2. */
#define MPCT_EXIT_ABORT 3

typedef struct mpct_replica {
    int world_rank, world_size;
    int replica, nreplicas;
    int party;
    MPI_Comm comm; /* the 3 ranks of this replica */
    mpct_net_t *net;
    mpct_ctx_t *ctx;
} mpct_replica;

/* Splits MPI_COMM_WORLD into replicas and sets up transport and protocol
 * context. A world size that is not a multiple of 3 is a user error: rank 0
 * prints one line and every rank returns MPCT_ERR_ARG (no hang). With
 * cfg->deterministic (--test-seed), every rank prints a warning that its
 * keys are insecure. */
mpct_status mpct_replica_init(mpct_replica *r, const mpct_ctx_config *cfg, double timeout_s) MPCT_WUR;
void mpct_replica_free(mpct_replica *r);

/* Prints "mpct <cmd>: error: <message>" (and the trace with MPCT_TRACE=1). */
void mpct_tool_error(const char *cmd, mpct_status s);
/* Completes a non-blocking MPI request sleeping between tests (every
 * nap_us), so a rank that waits for slow peers leaves its core to them:
 * with more ranks than cores a blocking MPI wait would spin. */
void mpct_mpi_wait_sleeping(MPI_Request *rq, long nap_us);

/* Parses an integer option value in [lo, hi]; on bad input returns nonzero
 * and prints the error once (outside MPI, or on world rank 0 only). */
int mpct_tool_parse_long(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out);
/* A comma list of 1..max integers in [lo, hi] ("1,8") into out: the count,
 * or -1 on a malformed, empty or too long list (printed once, as above;
 * `what` names the values in the message). */
int mpct_tool_parse_longs(const char *cmd, const char *flag, const char *v, const char *what, long lo, long hi,
                          long *out, int max);

/* Gathers every rank's profile to world rank 0 (collective over
 * MPI_COMM_WORLD). On world rank 0 *out receives a report with one party per
 * rank (caller frees); elsewhere *out is NULL. */
mpct_status mpct_tool_gather_report(const mpct_replica *r, mpct_perf_t *perf, const char *tool,
                                    mpct_perf_report_t **out) MPCT_WUR;
/* Writes the report as JSON and/or Prometheus text (NULL paths skipped). */
mpct_status mpct_tool_save_report(mpct_perf_report_t *rep, const char *json_path, const char *prom_path) MPCT_WUR;

#endif
