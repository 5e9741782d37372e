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
#include "tool_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpct report FILE.json [--top N] [--latency-us X] [--plot FILE.svg]\n"
            "                             [--prometheus FILE.prom] [--json OUT.json] [--quiet]\n"
            "                             [--calibration CAL.json] [--set KEY=VALUE]...\n"
            "       mpct report diff A.json B.json\n\n"
            "Summarises a profiling report (written by e.g. `mpct bench ops --report FILE.json`):\n"
            "top regions by time and by bytes, compute vs communication, rounds x latency (latency\n"
            "from --latency-us, the report's latency_us setting, or estimated as comm_s/rounds),\n"
            "per-party imbalance and tuning hints. --plot writes an SVG bar chart of time and bytes\n"
            "per op type (and per layer); --prometheus writes the Prometheus text format; --json\n"
            "re-writes the report with freshly computed hints (and the settings given here). `diff`\n"
            "prints per-region figures of A and B with ratios B/A.\n\n"
            "--calibration CAL.json takes the machine's measured ring-GEMM peak for the below_peak\n"
            "hint from the --json output (or --report) of `mpct bench ops --calibrate`, instead of\n"
            "the report's own calibration_peak_gops (if it has one).\n"
            "--set KEY=VALUE (repeatable) overrides a setting the hints use; KEY is one of:\n");
    for (int i = 0; i < mpct_perf_knob_count(); i++) {
        const mpct_perf_knob *k = mpct_perf_knob_get(i);
        char def[32] = "none";
        if (isfinite(k->def))
            snprintf(def, sizeof def, "%g", k->def);
        fprintf(f, "  %-22s %s\n  %-22s (%s; default %s)\n", k->key, k->help, "", k->unit, def);
    }
}

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

int mpct_cmd_report(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "diff")) {
        if (argc != 4) {
            fprintf(stderr, "mpct report diff: error: expected two reports (A.json B.json)\n");
            return 2;
        }
        mpct_perf_report_t *a = NULL, *b = NULL;
        if (load(argv[2], &a))
            return 1;
        if (load(argv[3], &b)) {
            mpct_perf_report_free(a);
            return 1;
        }
        printf("A = %s\nB = %s\n", argv[2], argv[3]);
        mpct_perf_report_diff(a, b, stdout);
        mpct_perf_report_free(a);
        mpct_perf_report_free(b);
        return 0;
    }
    const char *in = NULL, *plot = NULL, *prom = NULL, *json = NULL, *cal = NULL;
    const char *sets[MAX_SETS];
    int nsets = 0;
    long top = 10;
    double latency_us = 0;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--top")) {
            if (mpct_tool_parse_long("report", a, v, 1, 1000, &top))
                return 2;
            i++;
        } else if (!strcmp(a, "--latency-us")) {
            char *end = NULL;
            latency_us = v ? strtod(v, &end) : 0;
            if (!v || end == v || *end || !(latency_us > 0)) {
                fprintf(stderr, "mpct report: error: --latency-us expects a positive number, got '%s'\n",
                        v ? v : "(nothing)");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--plot") && v) {
            plot = argv[++i];
        } else if (!strcmp(a, "--prometheus") && v) {
            prom = argv[++i];
        } else if (!strcmp(a, "--json") && v) {
            json = argv[++i];
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--calibration") && v) {
            cal = argv[++i];
        } else if (!strcmp(a, "--set")) {
            if (!v || nsets == MAX_SETS) {
                fprintf(stderr, "mpct report: error: %s\n",
                        v ? "too many --set options" : "--set needs KEY=VALUE (see mpct report --help)");
                return 2;
            }
            sets[nsets++] = argv[++i];
        } else if (a[0] == '-' || in) {
            fprintf(stderr, "mpct report: error: unexpected argument '%s' (see mpct report --help)\n", a);
            return 2;
        } else {
            in = a;
        }
    }
    if (!in) {
        fprintf(stderr, "mpct report: error: no report file given\n");
        return 2;
    }
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
    int rc = 0;
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
