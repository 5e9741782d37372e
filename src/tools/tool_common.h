/*
 * tool_common.h — shared by the mpct subcommands: option values (integers,
 * integer lists) and the flags that set job keys (`mpct run`, `mpct warm`).
 * Replicas, error printing and reports are the job layer's (mpct_sched.h,
 * prefix mpct_sched_), used under their own names; the parser is opt.h.
 */
#ifndef MPCT_TOOL_COMMON_H
#define MPCT_TOOL_COMMON_H

#include "mpct_job.h"
#include "mpct_mpc.h"
#include "mpct_perf.h"
#include "mpct_sched.h"

#include "opt.h"

#include <mpi.h>

/* Parses an integer option value in [lo, hi]; on bad input returns nonzero
 * and prints the error once (outside MPI, or on world rank 0 only). */
int mpct_tool_parse_long(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out);
/* A comma list of 1..max integers in [lo, hi] ("1,8") into out: the count,
 * or -1 on a malformed, empty or too long list (printed once, as above;
 * `what` names the values in the message). */
int mpct_tool_parse_longs(const char *cmd, const char *flag, const char *v, const char *what, long lo, long hi,
                          long *out, int max);

/* ---- job flags: `mpct run` and `mpct warm` ----
 * One table (tool_common.c) lists every flag that sets a job key: its long
 * name (the job key's flat name with '-' for '_', except --timeout for
 * timeout_s and --no-papi for papi = 0), short letter, placeholder, help
 * line and which commands take it. A switch sets its key to 1 ("--no-X": 0).
 * --test-seed is a flag only: mpct_job_load refuses the key in a file. */
enum { MPCT_TOOL_JOB_RUN = 1, MPCT_TOOL_JOB_WARM = 2, MPCT_TOOL_JOB_GENERATE = 4 };

/* The options of command `which` (MPCT_TOOL_JOB_RUN, _WARM or _GENERATE),
 * in help order, for an mpct_opt_cmd; *n gets their count. */
const mpct_opt *mpct_tool_job_opts(int which, size_t *n);

/* Reads argv[1..] into *job: defaults, then the job file (the one
 * positional, wherever it stands), then every flag in order (flags override
 * the file whatever their place). --resume and --overwrite each clear the
 * other's key (both as flags: refused). cmd's options must come from
 * mpct_tool_job_opts. The job is validated unless `validate` is 0.
 * Returns -1 to go on, else the exit status (0 after --help, 2 bad usage or
 * a bad job; the message printed once). */
int mpct_tool_job_parse(const mpct_opt_cmd *cmd, int argc, char **argv, int validate, mpct_job *job);

#endif
