/*
 * mpct_perf.h — profiling: resource usage, a streaming JSON writer, named
 * regions with timers and optional hardware counters (PAPI) and GPU activity
 * (CUPTI), a versioned report (perf/REPORT.md), tuning hints, a Prometheus
 * text file and an SVG plot.
 *
 * Layering: perf depends on core (allocation high-water mark, status codes)
 * and libc, never on MPI or the protocol. The tool layer reads the transport
 * counters (bytes, rounds, comm time) and passes the numbers in; it gathers
 * each party's region table to rank 0 as a flat buffer (mpct_perf_pack /
 * mpct_perf_unpack) with MPI itself.
 *
 * Objects:
 *   mpct_perf_t         one process's profile: identity (rank, replica,
 *                       party, host), regions, PAPI/CUPTI status, memory.
 *   mpct_perf_report_t  a whole job: settings plus every party's profile plus
 *                       hints; written to / read from report JSON.
 *
 * A region is keyed by (phase, layer, kind); adding to an existing key
 * accumulates. Region names are "phase/L<layer>/kind" (parts omitted when
 * empty / layer < 0).
 */
#ifndef MPCT_PERF_H
#define MPCT_PERF_H

#include "mpct_core.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Peak resident set size of this process in bytes (getrusage), including the
 * peaks of windows closed by mpct_perf_rss_window_start(). */
uint64_t mpct_perf_peak_rss(void);
/* MemTotal / MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
uint64_t mpct_perf_mem_total(void);
uint64_t mpct_perf_mem_available(void);
/* Current resident set size (VmRSS) in bytes; 0 when unknown. */
uint64_t mpct_perf_rss_now(void);
/* Peak RSS per window (e.g. one batch): window_start remembers the peak so
 * far (mpct_perf_peak_rss keeps the process-wide figure) and resets the
 * kernel's high-water mark (/proc/self/clear_refs); returns 0 on success, -1
 * when it cannot (window peaks then include everything before). window_peak
 * is the high-water mark since (VmHWM). */
int mpct_perf_rss_window_start(void);
uint64_t mpct_perf_rss_window_peak(void);

/* Median of n doubles (sorts a copy); 0 when n == 0. */
double mpct_perf_median(const double *v, size_t n);
/* Sorts v ascending, in place. */
void mpct_perf_sort(double *v, size_t n);

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
/* A value already in JSON form (not checked). */
void mpct_json_raw(mpct_json *j, const char *key, const char *json);
void mpct_json_end(mpct_json *j);

/* ---- regions ---- */

#define MPCT_PERF_NAME 48      /* phase / kind string capacity */
#define MPCT_PERF_MAX_EVENTS 8 /* hardware counters per region */
#define MPCT_PERF_REASON 256

typedef struct mpct_perf_region {
    char phase[MPCT_PERF_NAME]; /* e.g. "bench", "encoder", "embed" */
    char kind[MPCT_PERF_NAME];  /* op type: matmul, mul, softmax, ... */
    int layer;                  /* -1 when not per layer */
    uint64_t calls;
    double wall_s, cpu_s, comm_s;
    uint64_t bytes_sent, bytes_recv, rounds;
    double work_ops;            /* plaintext-equivalent ring ops (0 = unknown) */
    int64_t counters[MPCT_PERF_MAX_EVENTS]; /* PAPI, same order as events */
    double gpu_kernel_s, gpu_memcpy_s;      /* CUPTI */
    uint64_t gpu_kernels, gpu_memcpy_bytes;
} mpct_perf_region;

/* Figures the caller measured for one region visit (transport numbers). */
typedef struct mpct_perf_net {
    uint64_t bytes_sent, bytes_recv, rounds;
    double comm_s;
} mpct_perf_net;

typedef struct mpct_perf mpct_perf_t;

typedef struct mpct_perf_config {
    int world_rank, replica, party;
    int papi;                 /* 1: try PAPI (ignored without PAPI) */
    const char *papi_events;  /* comma list; NULL = default set */
    int cupti;                /* 1: try CUPTI (ignored without CUDA) */
} mpct_perf_config;

mpct_perf_config mpct_perf_config_default(void);
mpct_status mpct_perf_init(mpct_perf_t **out, const mpct_perf_config *cfg) MPCT_WUR;
void mpct_perf_free(mpct_perf_t *p);

/* Adds one visit's figures to region (phase, layer, kind); creates it. */
mpct_status mpct_perf_region_add(mpct_perf_t *p, const char *phase, int layer, const char *kind, double wall_s,
                                 double cpu_s, const mpct_perf_net *net, uint64_t calls) MPCT_WUR;
/* Adds hardware-counter differences d[0..n-1] (event order) to a region;
 * creates it. For regions whose counters were read elsewhere (the
 * transport's per-op probe in mpct run). */
mpct_status mpct_perf_region_add_counters(mpct_perf_t *p, const char *phase, int layer, const char *kind,
                                          const int64_t *d, int n) MPCT_WUR;
/* Probe for the transport's per-op counters (mpct_net_set_probe with
 * arg = the profile, n = mpct_perf_papi_nevents): writes the current totals
 * of the profile's hardware counters, event order (zeros where a read
 * fails). Register it only when mpct_perf_papi_available(). */
void mpct_perf_counters_read(void *perf, int64_t *vals);
/* Adds plaintext-equivalent work (ops) to a region (for the peak hint). */
void mpct_perf_region_add_work(mpct_perf_t *p, const char *phase, int layer, const char *kind, double ops);

/* Timer around one region visit: start reads clocks (and PAPI, CUPTI);
 * stop adds wall, CPU and counter deltas plus the caller's net figures. */
typedef struct mpct_perf_timer {
    double wall0, cpu0;
    int64_t c0[MPCT_PERF_MAX_EVENTS];
} mpct_perf_timer;
void mpct_perf_timer_start(mpct_perf_t *p, mpct_perf_timer *t);
mpct_status mpct_perf_timer_stop(mpct_perf_t *p, mpct_perf_timer *t, const char *phase, int layer,
                                 const char *kind, const mpct_perf_net *net) MPCT_WUR;

int mpct_perf_region_count(const mpct_perf_t *p);
const mpct_perf_region *mpct_perf_region_get(const mpct_perf_t *p, int idx);
/* "phase/L3/kind" into buf. */
void mpct_perf_region_name(const mpct_perf_region *r, char *buf, size_t cap);

/* Identity and process figures. */
int mpct_perf_rank(const mpct_perf_t *p);
int mpct_perf_replica(const mpct_perf_t *p);
int mpct_perf_party(const mpct_perf_t *p);
const char *mpct_perf_host(const mpct_perf_t *p);
/* Samples peak RSS and the core allocator's high-water mark (call before
 * packing / writing). */
void mpct_perf_sample_memory(mpct_perf_t *p);
uint64_t mpct_perf_rss_peak_bytes(const mpct_perf_t *p);
uint64_t mpct_perf_alloc_peak_bytes(const mpct_perf_t *p);
void mpct_perf_set_memory(mpct_perf_t *p, uint64_t rss_peak, uint64_t alloc_peak, uint64_t mem_total);

/* Hardware counters: available (1/0), the reason when not, event names. */
int mpct_perf_papi_available(const mpct_perf_t *p);
const char *mpct_perf_papi_reason(const mpct_perf_t *p);
int mpct_perf_papi_nevents(const mpct_perf_t *p);
const char *mpct_perf_papi_event(const mpct_perf_t *p, int i);
/* GPU activity (CUPTI) status, same convention. */
int mpct_perf_cupti_available(const mpct_perf_t *p);
const char *mpct_perf_cupti_reason(const mpct_perf_t *p);

/* Flat buffer (little-endian host layout, versioned) of one profile, for
 * MPI_Gatherv in the tool layer. pack allocates *buf (free()). */
mpct_status mpct_perf_pack(const mpct_perf_t *p, void **buf, size_t *len) MPCT_WUR;
mpct_status mpct_perf_unpack(const void *buf, size_t len, mpct_perf_t **out) MPCT_WUR;

/* ---- timeline (Chrome trace event JSON, perf/REPORT.md) ---- */
/* Kinds of mpct_perf_trace_event, the transport's (mpct_net.h MPCT_NET_TRACE_OP / _WAIT). */
#define MPCT_NET_TRACE_OP_EVENT 0
#define MPCT_NET_TRACE_WAIT_EVENT 1
typedef struct mpct_perf_trace mpct_perf_trace_t;
/* Room for max_events events; times are kept relative to start
 * (mpct_time_now() seconds). */
mpct_status mpct_perf_trace_init(mpct_perf_trace_t **out, int rank, int replica, int party, double start,
                                 size_t max_events) MPCT_WUR;
void mpct_perf_trace_free(mpct_perf_trace_t *t);
/* Records one event (arg = the trace): the transport's trace callback
 * (mpct_net_set_trace). Past the capacity it only counts a dropped event. */
void mpct_perf_trace_event(void *arg, int kind, const char *name, int layer, double t0, double t1);
size_t mpct_perf_trace_count(const mpct_perf_trace_t *t);
/* Flat buffer of one rank's events (host layout) for MPI_Gatherv; free(). */
mpct_status mpct_perf_trace_pack(const mpct_perf_trace_t *t, void **buf, size_t *len) MPCT_WUR;
/* Writes the n gathered buffers as one Chrome trace JSON file: per rank
 * (pid = replica, tid = world rank) its phases, layers, ops and waits as
 * complete ("X") events; warns on stderr when events were dropped. */
mpct_status mpct_perf_trace_write(const char *path, const void *const *bufs, const size_t *lens, int n) MPCT_WUR;

/* ---- reports ---- */

typedef struct mpct_perf_report mpct_perf_report_t;

#define MPCT_PERF_SCHEMA "mpct-report"
#define MPCT_PERF_SCHEMA_VERSION 2

mpct_status mpct_perf_report_init(mpct_perf_report_t **out, const char *tool) MPCT_WUR;
void mpct_perf_report_free(mpct_perf_report_t *r);
/* Takes ownership of p (also on error). */
mpct_status mpct_perf_report_add_party(mpct_perf_report_t *r, mpct_perf_t *p) MPCT_WUR;
/* Settings: free-form; well-known keys are listed in perf/REPORT.md
 * (latency_us, bandwidth_bytes_per_s, peak_gops, inferences, batch_size...). */
mpct_status mpct_perf_report_set_num(mpct_perf_report_t *r, const char *key, double v) MPCT_WUR;
mpct_status mpct_perf_report_set_str(mpct_perf_report_t *r, const char *key, const char *v) MPCT_WUR;
/* NaN / NULL when absent. */
double mpct_perf_report_get_num(const mpct_perf_report_t *r, const char *key);
const char *mpct_perf_report_get_str(const mpct_perf_report_t *r, const char *key);
/* Sections: producer-specific top-level fields (an object or array in JSON
 * text, e.g. mpct run's "batch_tuning"); checked to parse, written after
 * "settings", kept by load. NULL when absent. */
mpct_status mpct_perf_report_set_section(mpct_perf_report_t *r, const char *key, const char *json) MPCT_WUR;
const char *mpct_perf_report_get_section(const mpct_perf_report_t *r, const char *key);
int mpct_perf_report_nparties(const mpct_perf_report_t *r);
const mpct_perf_t *mpct_perf_report_party(const mpct_perf_report_t *r, int i);

/* Takes the measured peak from a calibration file: the --json output of
 * `mpct bench ops|model --calibrate` (calibration.peak_gops; from bench
 * model --batch 1,8, an array of such objects: the first) or a report
 * with the setting calibration_peak_gops. Sets calibration_peak_gops and
 * calibration_source = path, recomputes the hints. MPCT_ERR_IO when
 * unreadable, MPCT_ERR_FORMAT when it holds no positive peak. */
mpct_status mpct_perf_report_use_calibration(mpct_perf_report_t *r, const char *path) MPCT_WUR;
/* Reads and parses the JSON file at path into *out (cJSON_Delete it); what
 * names the file in the error ("cannot open WHAT 'path'", "not valid JSON").
 * Shared by the report, its calibration and mpct plan's calibrations. */
struct cJSON;
mpct_status mpct_perf_json_read(const char *path, const char *what, struct cJSON **out) MPCT_WUR;

/* JSON (schema in perf/REPORT.md). write computes hints first. */
mpct_status mpct_perf_report_write_json(mpct_perf_report_t *r, FILE *f) MPCT_WUR;
mpct_status mpct_perf_report_save(mpct_perf_report_t *r, const char *path) MPCT_WUR;
mpct_status mpct_perf_report_load(mpct_perf_report_t **out, const char *path) MPCT_WUR;

/* ---- hints ---- */

typedef struct mpct_perf_hint {
    char id[32];          /* comm_bound, compute_bound, latency_bound, below_peak,
                             memory_pressure, straggler_party, straggler_replica,
                             nonlinear_bytes */
    char message[512];    /* human sentence citing the triggering figures */
    double expected_gain_s; /* predicted saving per run; NaN when no model */
    double figures[4];    /* the triggering numbers (meaning per id, REPORT.md) */
    char figure_names[4][24];
    int nfigures;
} mpct_perf_hint;

/* Settings with a meaning to the hints (thresholds and machine figures):
 * defaults that a report's numeric setting of the same key overrides. */
typedef struct mpct_perf_knob {
    const char *key;  /* settings key, e.g. "peak_fraction_min" */
    const char *unit; /* for messages */
    double lo;        /* valid values: lo < v (lo_open) or lo <= v, and v <= hi */
    int lo_open;
    double hi;
    int integer;      /* whole numbers only */
    double def;       /* default; NaN: none (measured, estimated, or no hint) */
    const char *help; /* one line */
} mpct_perf_knob;
int mpct_perf_knob_count(void);
const mpct_perf_knob *mpct_perf_knob_get(int i);
const mpct_perf_knob *mpct_perf_knob_find(const char *key); /* NULL when unknown */
/* Parses "KEY=VALUE" (mpct report --set): KEY must be a knob and VALUE a
 * number in its range; sets it as a numeric setting (recompute the hints
 * after). MPCT_ERR_ARG with a message naming the valid keys or range. */
mpct_status mpct_perf_report_override(mpct_perf_report_t *r, const char *assignment) MPCT_WUR;

/* Recomputes the hints from measurements and settings. */
void mpct_perf_report_compute_hints(mpct_perf_report_t *r);
int mpct_perf_report_nhints(const mpct_perf_report_t *r);
const mpct_perf_hint *mpct_perf_report_hint(const mpct_perf_report_t *r, int i);
/* Returns the hint with that id or NULL. */
const mpct_perf_hint *mpct_perf_report_find_hint(const mpct_perf_report_t *r, const char *id);

/* ---- views ---- */

/* Readable summary: top regions by time and bytes, compute/comm split,
 * rounds x latency share, per-party imbalance, hints. latency_us <= 0:
 * setting or estimate (comm_s / rounds). */
void mpct_perf_report_summary(const mpct_perf_report_t *r, FILE *f, int top, double latency_us);
/* Per-region before/after with ratios. */
void mpct_perf_report_diff(const mpct_perf_report_t *a, const mpct_perf_report_t *b, FILE *f);
/* Prometheus text exposition format. */
mpct_status mpct_perf_report_prometheus(const mpct_perf_report_t *r, FILE *f) MPCT_WUR;
/* SVG bar charts: time (compute/comm) and bytes per op type; per layer when
 * layers are present. */
mpct_status mpct_perf_report_svg(const mpct_perf_report_t *r, FILE *f) MPCT_WUR;

#endif
