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

extern const mpct_bench_case mpct_bench_cases_extra[] __attribute__((weak));
extern const size_t mpct_bench_cases_extra_count __attribute__((weak));

#endif
