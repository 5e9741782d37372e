/*
 * bench_peak.c — `mpct bench ops|model --calibrate`: the machine's ring-GEMM
 * peak, the figure the below_peak hint compares each region's achieved rate
 * with (perf/REPORT.md).
 *
 * What is measured: the kernel backend's plain local GEMM over Z_2^64
 * (C = A B, no protocol, no communication) at the BERT-base shapes
 * 128x768x768, 128x768x3072 and 128x3072x768, the fastest of max(--reps, 5)
 * timed runs after one warm-up (a peak is what the kernel can reach; other
 * processes' load only slows runs down, so the best run is the steadiest
 * figure on a shared node), in multiply-adds per second; the peak is the
 * best shape.
 * Three thread counts: 1 (per core), every CPU this rank may run on (all
 * cores), and the count the backend gives each rank by default in this job
 * (OMP_NUM_THREADS, or the cores divided by the ranks on the node;
 * kernels/cpu-impl.h): the per-rank figure is the one a party's regions can
 * reach, so it becomes the report's calibration_peak_gops (2 ring ops per
 * multiply-add, the unit of work_ops).
 *
 * World rank 0 measures while the other ranks wait without spinning (a
 * polled MPI_Ibarrier with 1 ms sleeps), so the cores are its own; every
 * rank then gets the result. Collective over MPI_COMM_WORLD.
 */
#include "bench.h"
#include "cpu-impl.h"
#include "tool_common.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_REPS 5

static const size_t peak_shapes[MPCT_PEAK_SHAPES][3] = {{128, 768, 768}, {128, 768, 3072}, {128, 3072, 768}};

/* CPUs this process may run on (the launcher may bind ranks). */
static int usable_cpus(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Best G multiply-adds/s of reps GEMMs m x k x n with the given threads. */
static double gemm_rate(const mpct_kernels *k, size_t m, size_t kd, size_t n, const uint64_t *A, const uint64_t *B,
                        uint64_t *C, int threads, int reps, double *times)
{
    mpct_kernels_cpu_threads_set(threads);
    for (int r = -1; r < reps; r++) {
        double t0 = mpct_time_now();
        k->gemm(m, n, kd, A, B, C, 0);
        if (r >= 0)
            times[r] = mpct_time_now() - t0;
    }
    mpct_kernels_cpu_threads_set(0);
    double best = times[0];
    for (int r = 1; r < reps; r++)
        best = times[r] < best ? times[r] : best;
    return best > 0 ? (double)m * (double)kd * (double)n / best / 1e9 : 0;
}

static mpct_status measure(const char *kernels, int reps, mpct_peak *p)
{
    const mpct_kernels *k = mpct_kernels_get(kernels);
    if (!k)
        return mpct_error_set(MPCT_ERR_ARG, "calibration: no kernel backend '%s'", kernels);
    snprintf(p->kernels, sizeof p->kernels, "%s", kernels);
    p->cores = usable_cpus();
    mpct_kernels_cpu_threads_set(0);
    p->threads_per_rank = mpct_kernels_cpu_threads();
    size_t big = 128 * 3072; /* largest operand of the shapes */
    uint64_t *A = malloc(big * sizeof *A), *B = malloc(768 * 3072 * sizeof *B), *C = malloc(big * sizeof *C);
    double *times = calloc((size_t)reps, sizeof *times);
    mpct_status st = MPCT_OK;
    if (!A || !B || !C || !times) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "calibration: out of memory");
        goto done;
    }
    mpct_rng rng = {0xca1b};
    for (size_t i = 0; i < big; i++)
        A[i] = mpct_rng_next(&rng);
    for (size_t i = 0; i < 768 * 3072; i++)
        B[i] = mpct_rng_next(&rng);
    for (int s = 0; s < MPCT_PEAK_SHAPES; s++) {
        const size_t m = peak_shapes[s][0], kd = peak_shapes[s][1], n = peak_shapes[s][2];
        double *g = p->shape_gmacs[s];
        g[0] = gemm_rate(k, m, kd, n, A, B, C, 1, reps, times);
        g[1] = p->cores > 1 ? gemm_rate(k, m, kd, n, A, B, C, p->cores, reps, times) : g[0];
        g[2] = p->threads_per_rank == 1              ? g[0]
               : p->threads_per_rank == p->cores     ? g[1]
                                                     : gemm_rate(k, m, kd, n, A, B, C, p->threads_per_rank, reps,
                                                                 times);
        p->gmacs_core = g[0] > p->gmacs_core ? g[0] : p->gmacs_core;
        p->gmacs_all = g[1] > p->gmacs_all ? g[1] : p->gmacs_all;
        p->gmacs_rank = g[2] > p->gmacs_rank ? g[2] : p->gmacs_rank;
    }
    p->peak_gops = 2 * p->gmacs_rank;
done:
    free(A);
    free(B);
    free(C);
    free(times);
    return st;
}

mpct_status mpct_bench_peak(const char *kernels, int reps, mpct_peak *out)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    memset(out, 0, sizeof *out);
    mpct_status st = MPCT_OK;
    char msg[256] = "";
    if (rank == 0) {
        st = measure(kernels, reps < MIN_REPS ? MIN_REPS : reps, out);
        if (st != MPCT_OK)
            snprintf(msg, sizeof msg, "%s", mpct_error_msg());
    }
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    mpct_sched_wait_sleeping(&req, 1000);
    int code = (int)st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(out, (int)sizeof *out, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (code != MPCT_OK)
        return mpct_error_set((mpct_status)code, "%s", msg);
    return MPCT_OK;
}

void mpct_bench_peak_json(mpct_json *j, const mpct_peak *p)
{
    mpct_json_obj_open(j, "calibration");
    mpct_json_str(j, "what", "ring GEMM over Z_2^64 at BERT-base shapes, G multiply-adds/s, best of max(reps, 5) runs");
    mpct_json_str(j, "kernels", p->kernels);
    mpct_json_int(j, "cores", p->cores);
    mpct_json_int(j, "threads_per_rank", p->threads_per_rank);
    mpct_json_num(j, "gemm_gmacs_per_core", p->gmacs_core);
    mpct_json_num(j, "gemm_gmacs_all_cores", p->gmacs_all);
    mpct_json_num(j, "gemm_gmacs_per_rank", p->gmacs_rank);
    mpct_json_num(j, "peak_gops", p->peak_gops);
    mpct_json_arr_open(j, "shapes");
    for (int s = 0; s < MPCT_PEAK_SHAPES; s++) {
        mpct_json_obj_open(j, NULL);
        mpct_json_int(j, "m", (long long)peak_shapes[s][0]);
        mpct_json_int(j, "k", (long long)peak_shapes[s][1]);
        mpct_json_int(j, "n", (long long)peak_shapes[s][2]);
        mpct_json_num(j, "gmacs_per_core", p->shape_gmacs[s][0]);
        mpct_json_num(j, "gmacs_all_cores", p->shape_gmacs[s][1]);
        mpct_json_num(j, "gmacs_per_rank", p->shape_gmacs[s][2]);
        mpct_json_obj_close(j);
    }
    mpct_json_arr_close(j);
    mpct_json_obj_close(j);
}

void mpct_bench_peak_print(FILE *f, const mpct_peak *p)
{
    fprintf(f,
            "calibration (%s kernels, ring GEMM at BERT-base shapes): %.3f G multiply-adds/s per core, %.3f on "
            "all %d cores, %.3f per rank (%d thread%s) -> peak %.3f Gop/s\n",
            p->kernels, p->gmacs_core, p->gmacs_all, p->cores, p->gmacs_rank, p->threads_per_rank,
            p->threads_per_rank == 1 ? "" : "s", p->peak_gops);
}

mpct_status mpct_bench_peak_report(mpct_perf_report_t *rep, const mpct_peak *p)
{
    MPCT_CALL(mpct_perf_report_set_num(rep, "calibration_peak_gops", p->peak_gops));
    MPCT_CALL(mpct_perf_report_set_num(rep, "calibration_gemm_gmacs_per_core", p->gmacs_core));
    MPCT_CALL(mpct_perf_report_set_num(rep, "calibration_gemm_gmacs_all_cores", p->gmacs_all));
    MPCT_CALL(mpct_perf_report_set_num(rep, "calibration_cores", p->cores));
    MPCT_CALL(mpct_perf_report_set_num(rep, "calibration_threads_per_rank", p->threads_per_rank));
    return mpct_perf_report_set_str(rep, "calibration_kernels", p->kernels);
}
