/*
 * cmd_report.c — `mpct report`: reads profiling reports (schema
 * "mpct-report", perf/REPORT.md) and prints a summary, writes an SVG plot or
 * a Prometheus text file, re-exports JSON, or compares two reports.
 *
 *   mpct report FILE.json [--top N] [--latency-us X] [--plot FILE.svg]
 *                         [--prometheus FILE.prom] [--json FILE.json] [--quiet]
 *                         [--calibration CAL.json] [--set KEY=VALUE]...
 *   mpct report diff A.json B.json
 *
 * MPCT_COMMAND(report, 0, "summarise, plot, diff or export profiling reports")
 */
#include "mpct_perf.h"
#include "opt.h"
#include "tool_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 64

/* The --set keys with their help, unit and default (from the profiler). */
static void print_knobs(FILE *f)
{
    fprintf(f, "--set KEY=VALUE (repeatable) overrides a setting the hints use; KEY is one of:\n");
    for (int i = 0; i < mpct_perf_knob_count(); i++) {
        const mpct_perf_knob *k = mpct_perf_knob_get(i);
        char def[32] = "none";
        if (isfinite(k->def))
            snprintf(def, sizeof def, "%g", k->def);
        fprintf(f, "  %-22s %s\n  %-22s (%s; default %s)\n", k->key, k->help, "", k->unit, def);
    }
}

static const mpct_opt report_opts[] = {
    {"top", 'n', "N", "regions listed per table (1..1000, default 10)"},
    {"latency-us", 0, "X", "network latency for rounds x latency (default: the report's\n"
                           "latency_us setting, or comm_s/rounds)"},
    {"plot", 0, "FILE.svg", "write an SVG bar chart of time and bytes per op type (and layer)"},
    {"prometheus", 0, "FILE.prom", "write the Prometheus text format"},
    {"json", 0, "OUT.json", "re-write the report with fresh hints (and the --set settings)"},
    {"quiet", 'q', NULL, "no summary on stdout"},
    {"calibration", 0, "CAL.json", "the machine's measured ring-GEMM peak for the below_peak hint:\n"
                                   "the --json output (or --report) of `mpct bench ops --calibrate`,\n"
                                   "instead of the report's own calibration_peak_gops"},
    {"set", 0, "KEY=VALUE", "override a setting the hints use (repeatable; keys below)"},
};

static const mpct_opt_cmd report_cmd = {
    .name = "report",
    .usage = "mpct report [options] FILE.json\n"
             "mpct report diff A.json B.json",
    .about = "Summarises a profiling report (written by e.g. `mpct bench ops --report FILE.json`):\n"
             "top regions by time and by bytes, compute vs communication, rounds x latency, per-party\n"
             "imbalance and tuning hints. `diff` prints per-region figures of A and B with ratios B/A.\n",
    MPCT_OPT_TABLE(report_opts),
    .exit_fail = "a report or calibration file unreadable or malformed, or an output unwritable",
    .exit_usage = "bad usage, including a --set key or value out of range (checked before any file is read)",
    .more = print_knobs,
};

static const mpct_opt_cmd report_diff_cmd = {
    .name = "report diff",
    .usage = "mpct report diff A.json B.json",
    .about = "Prints per-region figures of the profiling reports A and B with ratios B/A.\n",
    .exit_fail = "a report or calibration file unreadable or malformed, or an output unwritable",
    .exit_usage = "bad usage, including a --set key or value out of range (checked before any file is read)",
};

static int load(const char *path, mpct_perf_report_t **r)
{
    if (mpct_perf_report_load(r, path) != MPCT_OK) {
        fprintf(stderr, "mpct report: error: %s\n", mpct_error_msg());
        return 1;
    }
    return 0;
}

static int write_with(const char *path, mpct_perf_report_t *r, int kind)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mpct report: error: cannot write '%s'\n", path);
        return 1;
    }
    mpct_status st = kind == 0 ? mpct_perf_report_svg(r, f)
                     : kind == 1 ? mpct_perf_report_prometheus(r, f)
                                 : mpct_perf_report_write_json(r, f);
    if (fclose(f) != 0 || st != MPCT_OK) {
        fprintf(stderr, "mpct report: error: cannot write '%s'\n", path);
        return 1;
    }
    return 0;
}

static int report_diff(int argc, char **argv)
{
    const char *ab[2] = {NULL, NULL};
    mpct_opt_iter it = mpct_opt_start(&report_diff_cmd, argc, argv, 2);
    int rc, n = 0;
    while (mpct_opt_more(&it, &rc)) {
        if (n == 2)
            return mpct_opt_usage_error(&report_diff_cmd, "expected two reports, got a third ('%s')", it.value);
        ab[n++] = it.value;
    }
    if (rc >= 0)
        return rc;
    if (n != 2)
        return mpct_opt_usage_error(&report_diff_cmd, "expected two reports (A.json B.json), got %d", n);
    mpct_perf_report_t *a = NULL, *b = NULL;
    if (load(ab[0], &a))
        return 1;
    if (load(ab[1], &b)) {
        mpct_perf_report_free(a);
        return 1;
    }
    printf("A = %s\nB = %s\n", ab[0], ab[1]);
    mpct_perf_report_diff(a, b, stdout);
    mpct_perf_report_free(a);
    mpct_perf_report_free(b);
    return 0;
}

int mpct_cmd_report(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "diff"))
        return report_diff(argc, argv);
    const char *in = NULL, *plot = NULL, *prom = NULL, *json = NULL, *cal = NULL;
    const char *sets[MAX_SETS];
    int nsets = 0;
    long top = 10;
    double latency_us = 0;
    int quiet = 0;
    mpct_opt_iter it = mpct_opt_start(&report_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        const char *v = it.value;
        if (!it.opt) {
            if (mpct_opt_positional(&it, &in))
                return 2;
        } else if (mpct_opt_is(&it, "top")) {
            if (mpct_tool_parse_long("report", it.spelled, v, 1, 1000, &top))
                return 2;
        } else if (mpct_opt_is(&it, "latency-us")) {
            char *end = NULL;
            latency_us = strtod(v, &end);
            if (end == v || *end || !(latency_us > 0)) {
                fprintf(stderr, "mpct report: error: %s expects a positive number, got '%s'\n", it.spelled, v);
                return 2;
            }
        } else if (mpct_opt_take(&it, "plot", &plot) || mpct_opt_take(&it, "prometheus", &prom) ||
                   mpct_opt_take(&it, "json", &json) || mpct_opt_take(&it, "calibration", &cal)) {
            continue;
        } else if (mpct_opt_is(&it, "quiet")) {
            quiet = 1;
        } else if (mpct_opt_is(&it, "set")) {
            if (nsets == MAX_SETS)
                return mpct_opt_usage_error(&report_cmd, "more than %d --set options", MAX_SETS);
            sets[nsets++] = v;
        }
    }
    if (rc >= 0)
        return rc;
    if (!in)
        return mpct_opt_usage_error(&report_cmd, "no report file given");
    /* --set values are checked before any file is read: usage errors first */
    mpct_perf_report_t *r = NULL;
    if (mpct_perf_report_init(&r, "mpct report --set check") != MPCT_OK) {
        fprintf(stderr, "mpct report: error: %s\n", mpct_error_msg());
        return 1;
    }
    for (int k = 0; k < nsets; k++)
        if (mpct_perf_report_override(r, sets[k]) != MPCT_OK) {
            fprintf(stderr, "mpct report: error: --set: %s\n", mpct_error_msg());
            mpct_perf_report_free(r);
            return 2;
        }
    mpct_perf_report_free(r);
    r = NULL;
    if (load(in, &r))
        return 1;
    if (cal && mpct_perf_report_use_calibration(r, cal) != MPCT_OK) {
        fprintf(stderr, "mpct report: error: %s\n", mpct_error_msg());
        mpct_perf_report_free(r);
        return 1;
    }
    for (int k = 0; k < nsets; k++)
        if (mpct_perf_report_override(r, sets[k]) != MPCT_OK) { /* checked above: only out of room */
            fprintf(stderr, "mpct report: error: --set: %s\n", mpct_error_msg());
            mpct_perf_report_free(r);
            return 1;
        }
    if (nsets)
        mpct_perf_report_compute_hints(r);
    rc = 0;
    if (latency_us > 0 && mpct_perf_report_set_num(r, "latency_us", latency_us) == MPCT_OK)
        mpct_perf_report_compute_hints(r);
    if (!quiet)
        mpct_perf_report_summary(r, stdout, (int)top, latency_us);
    if (plot)
        rc |= write_with(plot, r, 0);
    if (prom)
        rc |= write_with(prom, r, 1);
    if (json)
        rc |= write_with(json, r, 2);
    mpct_perf_report_free(r);
    return rc;
}
