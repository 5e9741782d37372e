/*
 * mpct_perf.h — profiling helpers: resource usage and a small streaming JSON
 * writer used by reports and benchmarks. (Issue 7 extends this layer with
 * PAPI/CUPTI counters, report schemas and hints.)
 */
#ifndef MPCT_PERF_H
#define MPCT_PERF_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* Peak resident set size of this process in bytes (getrusage). */
uint64_t mpct_perf_peak_rss(void);

/* Median of n doubles (sorts a copy); 0 when n == 0. */
double mpct_perf_median(const double *v, size_t n);

/* Streaming JSON writer: tracks commas and nesting; strings are escaped. */
typedef struct mpct_json {
    FILE *f;
    int depth;
    int first[32];
    int pretty;
} mpct_json;

void mpct_json_begin(mpct_json *j, FILE *f, int pretty);
void mpct_json_obj_open(mpct_json *j, const char *key);  /* key NULL inside arrays / at top */
void mpct_json_obj_close(mpct_json *j);
void mpct_json_arr_open(mpct_json *j, const char *key);
void mpct_json_arr_close(mpct_json *j);
void mpct_json_str(mpct_json *j, const char *key, const char *v);
void mpct_json_num(mpct_json *j, const char *key, double v);
void mpct_json_int(mpct_json *j, const char *key, long long v);
void mpct_json_end(mpct_json *j);

#endif
