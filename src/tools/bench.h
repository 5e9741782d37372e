/*
 * bench.h — benchmark cases for `mpct bench ops`. A case names its inputs'
 * shapes and range, a secure implementation and a float64 twin; the harness
 * shares the inputs, times the secure op (median over reps), counts bytes
 * and rounds, times the plaintext twin in the same process, and measures the
 * max abs error of the secure output against the twin.
 *
 * Extra case lists (e.g. the non-linear layers) are linked in by defining
 * mpct_bench_cases_extra / mpct_bench_cases_extra_count in another
 * bench_*.c file.
 */
#ifndef MPCT_BENCH_H
#define MPCT_BENCH_H

#include "mpct_mpc.h"
#include "mpct_perf.h"
#include "opt.h"

#include <stdio.h>

typedef struct mpct_bench_case {
    const char *name;   /* e.g. "matmul 128x768x768" */
    const char *kind;   /* operation type: matmul, mul, lt, softmax, ... */
    int nin;            /* 1 or 2 inputs */
    mpct_shape in[2];
    double lo, hi;      /* inputs drawn uniformly from [lo, hi] */
    mpct_shape out;
    /* Secure op: fixed-point inputs -> fixed-point output. */
    mpct_status (*secure)(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out);
    /* float64 twin. */
    void (*plain)(const struct mpct_bench_case *c, const double *const *in, double *out);
} mpct_bench_case;

/* `mpct bench model` (bench_model.c); argv[1] == "model". */
int mpct_bench_model(int argc, char **argv);
/* Its options and help (bench_model.c), and the exit codes of both modes
 * (cmd_bench.c), for `mpct bench --help`. */
extern const mpct_opt_cmd mpct_bench_model_cmd;
/* `mpct bench generate` (bench_generate.c); argv[1] == "generate". */
int mpct_bench_generate(int argc, char **argv);
extern const mpct_opt_cmd mpct_bench_generate_cmd;
extern const mpct_opt_exit mpct_bench_exits_more[];
#define MPCT_BENCH_EXIT_FAIL                                                                                  \
    "a set-up or report failure every rank saw alike (e.g. a world size that is\n"                            \
    "not a multiple of 3, an unreadable model, an unwritable report)"

/* --calibrate (bench_peak.c): the kernel backend's ring-GEMM peak. */
#define MPCT_PEAK_SHAPES 3
typedef struct mpct_peak {
    char kernels[32];
    int cores;            /* CPUs this rank may run on */
    int threads_per_rank; /* the backend's default threads per rank in this job */
    double gmacs_core, gmacs_all, gmacs_rank; /* G multiply-adds/s, best shape */
    double shape_gmacs[MPCT_PEAK_SHAPES][3];  /* per shape: 1 thread, all cores, per rank */
    double peak_gops;     /* 2 x gmacs_rank: the report's calibration_peak_gops */
} mpct_peak;
/* World rank 0 measures (the best of max(reps, 5) runs per shape), the others wait
 * without spinning; every rank gets *out. Collective over MPI_COMM_WORLD. */
mpct_status mpct_bench_peak(const char *kernels, int reps, mpct_peak *out) MPCT_WUR;
/* The "calibration" object of --json output; one line for tables; the
 * report settings calibration_* (perf/REPORT.md). */
void mpct_bench_peak_json(mpct_json *j, const mpct_peak *p);
void mpct_bench_peak_print(FILE *f, const mpct_peak *p);
mpct_status mpct_bench_peak_report(mpct_perf_report_t *rep, const mpct_peak *p) MPCT_WUR;

extern const mpct_bench_case mpct_bench_cases_extra[] __attribute__((weak));
extern const size_t mpct_bench_cases_extra_count __attribute__((weak));

#endif
