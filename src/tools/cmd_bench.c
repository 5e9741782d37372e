/*
 * cmd_bench.c — `mpct bench ops`: secure operations at BERT-base shapes,
 * each timed (median over --reps), with bytes sent per party, rounds, the
 * float64 twin's time in the same process, their ratio, and the max abs
 * error of the secure result against the twin.
 *
 * --report FILE.json profiles every timed repetition as a region
 * ("bench", kind = op type) with wall, CPU, transport bytes/rounds/time and
 * PAPI counters where available, gathers every rank's table to rank 0 and
 * writes an mpct-report (perf/REPORT.md) with hints; --prometheus writes the
 * same figures in the Prometheus text format.
 *
 * --calibrate first measures the machine's ring-GEMM peak (bench_peak.c) and
 * puts it in the --json output ("calibration") and the report
 * (calibration_peak_gops), so the below_peak hint has a measured figure.
 *
 * MPCT_COMMAND(bench, 1, "benchmark secure operations (bench ops) or a whole model (bench model)")
 */
#include "bench.h"
#include "mpct_perf.h"
#include "tool_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- core cases ---- */
static mpct_status sec_matmul(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_share_matmul_fxp(ctx, &in[0], &in[1], out);
}

static void plain_matmul(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t m = c->in[0].dim[0], k = c->in[0].dim[1], n = c->in[1].dim[1];
    memset(out, 0, m * n * sizeof *out);
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) {
            double a = in[0][i * k + p];
            const double *b = in[1] + p * n;
            double *o = out + i * n;
            for (size_t j = 0; j < n; j++)
                o[j] += a * b[j];
        }
}

static mpct_status sec_mul(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_share_mul_fxp(ctx, &in[0], &in[1], out);
}

static void plain_mul(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = in[0][i] * in[1][i];
}

/* Comparison result scaled to fixed point so the harness can decode it. */
static mpct_status sec_lt(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    MPCT_CALL(mpct_share_lt(ctx, &in[0], &in[1], out));
    return mpct_share_mul_const(ctx, out, (uint64_t)1 << mpct_ctx_frac_bits(ctx), out);
}

static void plain_lt(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = in[0][i] < in[1][i] ? 1.0 : 0.0;
}

static mpct_status sec_relu(mpct_ctx_t *ctx, const mpct_share *in, mpct_share *out)
{
    return mpct_share_relu(ctx, &in[0], out);
}

static void plain_relu(const mpct_bench_case *c, const double *const *in, double *out)
{
    size_t n = mpct_shape_numel(c->out);
    for (size_t i = 0; i < n; i++)
        out[i] = in[0][i] > 0 ? in[0][i] : 0;
}

#define S2(a, b) {.ndim = 2, .dim = {a, b, 1, 1}}
static const mpct_bench_case core_cases[] = {
    {"matmul 128x768x768", "matmul", 2, {S2(128, 768), S2(768, 768)}, -1, 1, S2(128, 768), sec_matmul,
     plain_matmul},
    {"matmul 128x768x3072", "matmul", 2, {S2(128, 768), S2(768, 3072)}, -1, 1, S2(128, 3072), sec_matmul,
     plain_matmul},
    {"mul 128x3072", "mul", 2, {S2(128, 3072), S2(128, 3072)}, -8, 8, S2(128, 3072), sec_mul, plain_mul},
    {"lt 128x3072", "lt", 2, {S2(128, 3072), S2(128, 3072)}, -8, 8, S2(128, 3072), sec_lt, plain_lt},
    {"relu 128x3072", "relu", 1, {S2(128, 3072), {0, {0}}}, -8, 8, S2(128, 3072), sec_relu, plain_relu},
};

/* The cases in order: the core ones, then the optional extra table's. */
static size_t case_count(void)
{
    return sizeof core_cases / sizeof core_cases[0] + (&mpct_bench_cases_extra_count ? mpct_bench_cases_extra_count : 0);
}

static const mpct_bench_case *case_at(size_t i)
{
    const size_t nc = sizeof core_cases / sizeof core_cases[0];
    return i < nc ? &core_cases[i] : &mpct_bench_cases_extra[i - nc];
}

typedef struct result {
    double sec_med, plain_med, max_err;
    uint64_t bytes[3], rounds;
} result;

/* Plaintext-equivalent ring ops of one case (for the below-peak hint). */
static double case_work(const mpct_bench_case *c)
{
    if (!strcmp(c->kind, "matmul"))
        return 2.0 * (double)c->in[0].dim[0] * (double)c->in[0].dim[1] * (double)c->in[1].dim[1];
    return 0;
}

static mpct_status run_case(mpct_sched_replica *r, const mpct_bench_case *c, int reps, uint64_t seed, mpct_perf_t *perf,
                            result *res)
{
    mpct_ctx_t *ctx = r->ctx;
    const int me = r->party;
    mpct_status st = MPCT_OK;
    mpct_share in[2], out = {0};
    memset(in, 0, sizeof in);
    double *pin[2] = {NULL, NULL}, *pout = NULL, *sout = NULL, *times = NULL;
    size_t nout = mpct_shape_numel(c->out);
    times = calloc((size_t)reps, sizeof *times);
    if (!times)
        return mpct_error_set(MPCT_ERR_NOMEM, "bench: out of memory");
    mpct_rng rng = {seed};
    for (int i = 0; i < c->nin; i++) {
        size_t n = mpct_shape_numel(c->in[i]);
        MPCT_CALL_GOTO(st, done, mpct_share_init(&in[i], c->in[i]));
        if (me == 0) {
            pin[i] = malloc(n * sizeof(double));
            if (!pin[i]) {
                st = mpct_error_set(MPCT_ERR_NOMEM, "bench: out of memory");
                goto done;
            }
            for (size_t j = 0; j < n; j++)
                pin[i][j] = mpct_rng_range(&rng, c->lo, c->hi);
        }
        MPCT_CALL_GOTO(st, done, mpct_share_input_fxp(ctx, 0, pin[i], &in[i]));
    }
    /* warm-up (also allocates out) */
    MPCT_CALL_GOTO(st, done, c->secure(ctx, in, &out));
    for (int rep = 0; rep < reps; rep++) {
        MPI_Barrier(r->comm);
        mpct_net_reset_counters(r->net);
        mpct_perf_timer pt;
        if (perf)
            mpct_perf_timer_start(perf, &pt);
        double t0 = mpct_time_now();
        MPCT_CALL_GOTO(st, done, c->secure(ctx, in, &out));
        times[rep] = mpct_time_now() - t0;
        if (perf) {
            mpct_net_counters nc = mpct_net_total(r->net);
            mpct_perf_net pn = {nc.bytes_sent, nc.bytes_recv, nc.rounds, nc.comm_s};
            MPCT_CALL_GOTO(st, done, mpct_perf_timer_stop(perf, &pt, "bench", -1, c->kind, &pn));
            mpct_perf_region_add_work(perf, "bench", -1, c->kind, case_work(c));
        }
    }
    mpct_net_counters tot = mpct_net_total(r->net);
    uint64_t mine = tot.bytes_sent, all[3] = {0};
    MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, r->comm);
    double sec_med = mpct_perf_median(times, (size_t)reps), worst = 0;
    MPI_Reduce(&sec_med, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, r->comm);
    if (me == 0) {
        sout = malloc(nout * sizeof(double));
        pout = malloc(nout * sizeof(double));
        if (!sout || !pout) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "bench: out of memory");
            goto done;
        }
    }
    MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &out, 0, sout));
    if (me == 0) {
        const double *cin[2] = {pin[0], pin[1]};
        for (int rep = 0; rep < reps; rep++) {
            double t0 = mpct_time_now();
            c->plain(c, cin, pout);
            times[rep] = mpct_time_now() - t0;
        }
        res->plain_med = mpct_perf_median(times, (size_t)reps);
        res->sec_med = worst;
        res->max_err = 0;
        for (size_t j = 0; j < nout; j++)
            res->max_err = fmax(res->max_err, fabs(sout[j] - pout[j]));
        memcpy(res->bytes, all, sizeof all);
        res->rounds = tot.rounds;
    }
done:
    for (int i = 0; i < 2; i++) {
        mpct_share_free(&in[i]);
        free(pin[i]);
    }
    mpct_share_free(&out);
    free(pout);
    free(sout);
    free(times);
    return st;
}

static const mpct_opt bench_ops_opts[] = {
    {"json", 0, NULL, "machine-readable output"},
    {"reps", 0, "N", "timed repetitions per case, the median reported (1..1000, default 5)"},
    {"filter", 0, "SUBSTR", "only the cases whose name contains SUBSTR"},
    {"frac-bits", 0, "F", "fixed-point fractional bits, 8..20 (default 16; the range every model's\n"
                          "layers support, as in mpct run)"},
    {"seed", 0, "S", "seed of the random inputs (default 1)"},
    {"kernels", 0, "NAME", "kernel backend (default cpu)"},
    {"report", 0, "FILE.json", "profile each timed repetition (wall, CPU, bytes, rounds, comm time,\n"
                               "PAPI counters where the machine has them) on every rank, gather them\n"
                               "to rank 0 and write an mpct-report with tuning hints (`mpct report`)"},
    {"prometheus", 0, "FILE.prom", "the same figures as a Prometheus text file"},
    {"papi-events", 0, "LIST", "comma list of PAPI event names (default PAPI_TOT_INS,PAPI_TOT_CYC,\n"
                               "PAPI_L2_DCM,PAPI_L3_TCM,PAPI_VEC_INS)"},
    {"no-papi", 0, NULL, "timers only in the report"},
    {"calibrate", 0, NULL, "measure the machine's peak first (see below)"},
};

const mpct_opt_exit mpct_bench_exits_more[] = {
    {MPCT_SCHED_EXIT_ABORT, "a case or a batch failed mid-run (peers may be blocked): the job is taken\n"
                            "down with MPI_Abort"},
    {0, NULL},
};

static const mpct_opt_cmd bench_ops_cmd = {
    .name = "bench ops",
    .usage = "mpirun -np 3 mpct bench ops [options]",
    .about = "Times secure operations at BERT-base shapes (median of --reps) and reports bytes sent per\n"
             "party, rounds, the float64 twin's time in the same process, the ratio secure/plain and the\n"
             "max abs error against float64. Replica 0 reports.\n",
    MPCT_OPT_TABLE(bench_ops_opts),
    .notes = "--calibrate first measures the machine's peak: the kernel backend's plain ring GEMM\n"
             "(Z_2^64, no protocol) at the BERT-base shapes, the best of max(--reps, 5) runs, in\n"
             "multiply-adds/s on 1 thread, on all cores and on the threads each rank gets by default\n"
             "(world rank 0 measures while the others sleep). The --json output gets a \"calibration\"\n"
             "object, the report the setting calibration_peak_gops (2 ops per multiply-add, per rank),\n"
             "which the below_peak hint compares each region's achieved rate with. Such a --json file\n"
             "is also a calibration for `mpct report --calibration FILE`.\n",
    .exit_fail = MPCT_BENCH_EXIT_FAIL,
    .exits_more = mpct_bench_exits_more,
};

/* `mpct bench --help`: every mode's options. */
static void bench_both(FILE *f)
{
    fprintf(f, "\nbench ops options (mpct bench ops --help for the details):\n");
    mpct_opt_help_options(&bench_ops_cmd, f);
    fprintf(f, "\nbench model options (mpct bench model --help for the details):\n");
    mpct_opt_help_options(&mpct_bench_model_cmd, f);
    fprintf(f, "\nbench generate options (mpct bench generate --help for the details):\n");
    mpct_opt_help_options(&mpct_bench_generate_cmd, f);
}

static const mpct_opt_cmd bench_cmd = {
    .name = "bench",
    .usage = "mpirun -np 3 mpct bench ops [options]\n"
             "mpirun -np 3 mpct bench model [options]\n"
             "mpirun -np 3 mpct bench generate [options]",
    .about = "Three benchmarks: `bench ops` times single secure operations at BERT-base shapes against\n"
             "their float64 twins; `bench model` times a whole model's secure forward pass (latency,\n"
             "throughput per batch size, bytes, rounds, per-op breakdown) and writes the calibrations\n"
             "that `mpct plan` reads; `bench generate` times secure greedy generation of a decoder\n"
             "shape (prefill, then per generated token).\n",
    .exit_fail = MPCT_BENCH_EXIT_FAIL,
    .exits_more = mpct_bench_exits_more,
    .more = bench_both,
};

/* Gathers every rank's profile to world rank 0 and writes the report files
 * there. Collective over MPI_COMM_WORLD. Returns nonzero on failure. */
static int write_report(const mpct_sched_replica *r, mpct_perf_t *perf, const char *json_path, const char *prom_path,
                        long reps, long frac, const char *kernels, const char *filter, const mpct_peak *peak)
{
    mpct_perf_report_t *rep = NULL;
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, done, mpct_sched_gather_report(r, perf, "mpct bench ops", &rep));
    if (!rep)
        return 0;
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "frac_bits", (double)frac));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "reps", (double)reps));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_str(rep, "kernels", kernels));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_str(rep, "filter", filter ? filter : ""));
    if (peak)
        MPCT_CALL_GOTO(st, done, mpct_bench_peak_report(rep, peak));
    MPCT_CALL_GOTO(st, done, mpct_sched_save_report(rep, json_path, prom_path));
done:
    mpct_perf_report_free(rep);
    if (st != MPCT_OK) {
        mpct_sched_error("bench", st);
        return 1;
    }
    return 0;
}

typedef struct bench_opts {
    int json, papi, calibrate;
    long reps, frac, seed;
    const char *filter, *kernels, *report_path, *prom_path, *papi_events;
} bench_opts;

/* `mpct bench ops` options (argv[1] is the benchmark name) into *o; messages
 * on rank 0 only. -1 to go on, else the exit status (0 after --help). */
static int bench_parse(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.papi = 1, .reps = 5, .frac = MPCT_FRAC_BITS_DEFAULT, .seed = 1, .kernels = "cpu"};
    int rc;
    mpct_opt_iter it;
    if (argc < 2 || strcmp(argv[1], "ops")) { /* no mode: only --help */
        mpct_opt_begin(&it, &bench_cmd, argc, argv, 1);
        if (mpct_opt_more(&it, &rc) || rc < 0)
            return mpct_opt_usage_error(&bench_cmd, "expected a benchmark name ('ops', 'model' or 'generate'), got '%s'",
                                        argc >= 2 ? argv[1] : "(nothing)");
        return rc;
    }
    mpct_opt_begin(&it, &bench_ops_cmd, argc, argv, 2);
    while (mpct_opt_more(&it, &rc)) {
        const char *v = it.value;
        if (!it.opt)
            return mpct_opt_usage_error(&bench_ops_cmd, "unexpected argument '%s'", v);
        if (mpct_opt_is(&it, "json")) {
            o->json = 1;
        } else if (mpct_opt_is(&it, "reps")) {
            if (mpct_tool_parse_long("bench ops", it.spelled, v, 1, 1000, &o->reps))
                return 2;
        } else if (mpct_opt_is(&it, "frac-bits")) {
            if (mpct_tool_parse_long("bench ops", it.spelled, v, MPCT_FRAC_BITS_MIN, MPCT_FRAC_BITS_MAX, &o->frac))
                return 2;
        } else if (mpct_opt_is(&it, "seed")) {
            if (mpct_tool_parse_long("bench ops", it.spelled, v, 0, 1L << 62, &o->seed))
                return 2;
        } else if (mpct_opt_take(&it, "filter", &o->filter) || mpct_opt_take(&it, "kernels", &o->kernels) ||
                   mpct_opt_take(&it, "report", &o->report_path) || mpct_opt_take(&it, "prometheus", &o->prom_path) ||
                   mpct_opt_take(&it, "papi-events", &o->papi_events)) {
            continue;
        } else if (mpct_opt_is(&it, "no-papi")) {
            o->papi = 0;
        } else if (mpct_opt_is(&it, "calibrate")) {
            o->calibrate = 1;
        }
    }
    return rc;
}

/* A filter that keeps nothing is a mistake, not an empty benchmark: -1 to
 * go on, else 2 (the cases listed on rank 0). */
static int bench_check_filter(const char *filter, int rank)
{
    size_t kept = 0;
    for (size_t i = 0; i < case_count(); i++)
        kept += !filter || strstr(case_at(i)->name, filter);
    if (kept)
        return -1;
    if (rank == 0) {
        fprintf(stderr, "mpct bench: error: no case name contains '%s' (--filter); the cases:", filter);
        for (size_t i = 0; i < case_count(); i++)
            fprintf(stderr, "%s '%s'", i ? "," : "", case_at(i)->name);
        fputc('\n', stderr);
    }
    return 2;
}

/* The replica, the profiler (with --report/--prometheus) and the peak (with
 * --calibrate); 0, or 1 with a message and everything freed. */
static int bench_setup(const bench_opts *o, int rank, mpct_sched_replica *r, mpct_perf_t **perf, mpct_peak *peak)
{
    mpct_ctx_config cfg = mpct_ctx_config_default();
    cfg.frac_bits = (int)o->frac;
    cfg.kernels = o->kernels;
    mpct_status st = mpct_sched_replica_init(r, &cfg, 600);
    if (st != MPCT_OK) {
        if (rank == 0 || st != MPCT_ERR_ARG)
            mpct_sched_error("bench", st);
        mpct_sched_replica_free(r);
        return 1;
    }
    *perf = NULL;
    if (o->report_path || o->prom_path) {
        mpct_perf_config pc = mpct_perf_config_default();
        pc.world_rank = r->world_rank;
        pc.replica = r->replica;
        pc.party = r->party;
        pc.papi = o->papi;
        pc.papi_events = o->papi_events;
        if (mpct_perf_init(perf, &pc) != MPCT_OK) {
            mpct_sched_error("bench", MPCT_ERR_NOMEM);
            mpct_sched_replica_free(r);
            return 1;
        }
    }
    if (o->calibrate && (st = mpct_bench_peak(o->kernels, (int)o->reps, peak)) != MPCT_OK) {
        if (rank == 0)
            mpct_sched_error("bench", st);
        mpct_perf_free(*perf);
        mpct_sched_replica_free(r);
        return 1;
    }
    return 0;
}

/* The head of the output: the --json object up to its "ops" array, or the
 * table's header line. */
static void bench_print_head(mpct_json *j, const bench_opts *o, const mpct_sched_replica *r, const mpct_peak *peak)
{
    if (o->json) {
        mpct_json_begin(j, stdout, 1);
        mpct_json_obj_open(j, NULL);
        mpct_json_str(j, "benchmark", "ops");
        mpct_json_str(j, "mpct_version", MPCT_VERSION_STRING);
        mpct_json_int(j, "protocol_version", MPCT_PROTOCOL_VERSION);
        mpct_json_int(j, "frac_bits", o->frac);
        mpct_json_int(j, "reps", o->reps);
        mpct_json_int(j, "replicas", r->nreplicas);
        mpct_json_str(j, "kernels", o->kernels);
        if (o->calibrate)
            mpct_bench_peak_json(j, peak);
        mpct_json_arr_open(j, "ops");
    } else {
        if (o->calibrate)
            mpct_bench_peak_print(stdout, peak);
        printf("%-22s %12s %12s %9s %12s %7s %10s\n", "op", "secure_s", "plain_s", "ratio", "bytes/party",
               "rounds", "max_err");
    }
}

/* One case's result: an entry of the "ops" array, or a table line. */
static void bench_print_case(mpct_json *j, int json, const mpct_bench_case *c, const result *res)
{
    uint64_t maxb = res->bytes[0] > res->bytes[1] ? res->bytes[0] : res->bytes[1];
    maxb = maxb > res->bytes[2] ? maxb : res->bytes[2];
    if (json) {
        mpct_json_obj_open(j, NULL);
        mpct_json_str(j, "name", c->name);
        mpct_json_str(j, "kind", c->kind);
        mpct_json_num(j, "secure_median_s", res->sec_med);
        mpct_json_num(j, "plain_median_s", res->plain_med);
        mpct_json_num(j, "ratio_secure_to_plain", res->plain_med > 0 ? res->sec_med / res->plain_med : 0);
        mpct_json_arr_open(j, "bytes_sent_per_party");
        for (int p = 0; p < 3; p++)
            mpct_json_int(j, NULL, (long long)res->bytes[p]);
        mpct_json_arr_close(j);
        mpct_json_int(j, "bytes_total", (long long)(res->bytes[0] + res->bytes[1] + res->bytes[2]));
        mpct_json_int(j, "rounds", (long long)res->rounds);
        mpct_json_num(j, "max_abs_err", res->max_err);
        mpct_json_obj_close(j);
    } else {
        printf("%-22s %12.4f %12.5f %9.1f %12llu %7llu %10.3g\n", c->name, res->sec_med, res->plain_med,
               res->plain_med > 0 ? res->sec_med / res->plain_med : 0, (unsigned long long)maxb,
               (unsigned long long)res->rounds, res->max_err);
        fflush(stdout);
    }
}

int mpct_cmd_bench(int argc, char **argv)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc >= 2 && !strcmp(argv[1], "model"))
        return mpct_bench_model(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "generate"))
        return mpct_bench_generate(argc, argv);
    bench_opts o;
    int rc = bench_parse(argc, argv, &o);
    if (rc < 0)
        rc = bench_check_filter(o.filter, rank);
    if (rc >= 0)
        return rc;
    mpct_sched_replica r;
    mpct_perf_t *perf = NULL;
    mpct_peak peak;
    if (bench_setup(&o, rank, &r, &perf, &peak))
        return 1;
    mpct_json j;
    int report = r.world_rank == 0;
    if (report)
        bench_print_head(&j, &o, &r, &peak);
    rc = 0;
    for (size_t i = 0; i < case_count(); i++) {
        const mpct_bench_case *c = case_at(i);
        if (o.filter && !strstr(c->name, o.filter))
            continue;
        result res = {0};
        if (r.replica == 0) {
            mpct_status st = run_case(&r, c, (int)o.reps, (uint64_t)o.seed + i, perf, &res);
            if (st != MPCT_OK) {
                mpct_sched_error("bench", st);
                rc = 3;
                break;
            }
        }
        if (report)
            bench_print_case(&j, o.json, c, &res);
    }
    if (report && o.json) {
        mpct_json_arr_close(&j);
        mpct_json_int(&j, "peak_rss_bytes_rank0", (long long)mpct_perf_peak_rss());
        mpct_json_obj_close(&j);
        mpct_json_end(&j);
    }
    if (perf && rc == 0)
        rc = write_report(&r, perf, o.report_path, o.prom_path, o.reps, o.frac, o.kernels, o.filter,
                          o.calibrate ? &peak : NULL);
    mpct_perf_free(perf);
    mpct_sched_replica_free(&r);
    return rc;
}
