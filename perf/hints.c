/*
 * hints.c — tuning hints computed from a report's measurements and settings.
 * Each rule cites the figures that fired it and, where a cost model can
 * predict it, the expected saving (seconds per run, or per inference where
 * stated). Thresholds are the knobs below: defaults that a report setting
 * overrides (documented in REPORT.md).
 *
 * Cost model: time of the critical party = compute + comm, with
 * comm = rounds * latency + bytes / bandwidth. Latency comes from the
 * setting latency_us or is estimated as comm_s / rounds; bandwidth from the
 * setting bandwidth_bytes_per_s (default 1.25e9, 10 Gbit/s).
 */
#include "perf-impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings with a meaning to the hints: the thresholds (their defaults are the
 * rules' constants) and the machine figures. A report's settings override
 * the defaults (mpct report --set KEY=VALUE); NaN default = none (measured,
 * estimated or the rule does not fire). Documented in REPORT.md. */
static const mpct_perf_knob knobs[] = {
    {"latency_us", "us per round", 0, 1, 1e9, 0, NAN,
     "round latency (else estimated as comm_s / rounds)"},
    {"bandwidth_bytes_per_s", "B/s", 0, 1, 1e15, 0, 1.25e9, "link bandwidth quoted by comm_bound"},
    {"peak_gops", "1e9 ring ops/s", 0, 1, 1e9, 0, NAN,
     "kernel peak for below_peak; overrides a measured calibration_peak_gops"},
    {"mem_total_bytes", "bytes", 0, 1, 1e18, 0, NAN, "memory per host for memory_pressure (else its MemTotal)"},
    {"batch_size", "inputs", 1, 0, 1e6, 1, NAN, "latency_bound suggests a multiple of it"},
    {"inferences", "count", 1, 0, 1e15, 1, NAN, "inferences in the run (Prometheus latency per inference)"},
    {"comm_share_min", "fraction", 0, 1, 1, 0, 0.5, "comm / wall from which a run is communication-bound"},
    {"compute_share_min", "fraction", 0, 1, 1, 0, 0.7, "compute / wall from which a run is compute-bound"},
    {"small_round_bytes", "bytes", 0, 1, 1e15, 0, 65536,
     "bytes per round and party below which comm is latency"},
    {"latency_target", "fraction", 0, 1, 1, 0, 0.1, "latency_bound batches until rounds x latency <= this x rest"},
    {"peak_fraction_min", "fraction", 0, 1, 1, 0, 0.25, "below_peak fires under this fraction of the peak"},
    {"peak_reachable", "fraction", 0, 1, 1, 0, 0.5, "fraction of the peak below_peak's gain assumes"},
    {"region_share_min", "fraction", 0, 0, 1, 0, 0.05, "below_peak looks at regions with this share of compute"},
    {"mem_pressure", "fraction", 0, 1, 1, 0, 0.8, "memory_pressure fires at this share of a host's memory"},
    {"straggler_ratio", "ratio", 1, 0, 1e6, 0, 1.25, "straggler_party: party compute / its replica's median"},
    {"replica_ratio", "ratio", 1, 0, 1e6, 0, 1.2, "straggler_replica: replica wall / median over replicas"},
    {"straggler_min_s", "s", 0, 0, 1e9, 0, 1e-3, "stragglers must be this many seconds slower"},
    {"nonlinear_share_min", "fraction", 0, 1, 1, 0, 0.4, "nonlinear_bytes: one non-linear op's share of bytes"},
};
#define NKNOBS ((int)(sizeof knobs / sizeof knobs[0]))
#define MAX_BATCH_FACTOR 64

int mpct_perf_knob_count(void) { return NKNOBS; }
const mpct_perf_knob *mpct_perf_knob_get(int i) { return i >= 0 && i < NKNOBS ? &knobs[i] : NULL; }

const mpct_perf_knob *mpct_perf_knob_find(const char *key)
{
    for (int i = 0; i < NKNOBS; i++)
        if (!strcmp(knobs[i].key, key))
            return &knobs[i];
    return NULL;
}

/* The report's setting of key, else the knob's default. */
static double knob(const mpct_perf_report_t *r, const char *key)
{
    double v = mpct_perf_report_get_num(r, key);
    const mpct_perf_knob *k = mpct_perf_knob_find(key);
    return isfinite(v) ? v : k ? k->def : NAN;
}

mpct_status mpct_perf_report_override(mpct_perf_report_t *r, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char key[MPCT_PERF_KEY];
    size_t n = eq ? (size_t)(eq - assignment) : 0;
    snprintf(key, sizeof key, "%.*s", (int)(n < sizeof key ? n : sizeof key - 1), assignment);
    const mpct_perf_knob *k = eq && n < sizeof key ? mpct_perf_knob_find(key) : NULL;
    if (!k) {
        char list[1024] = "";
        for (int i = 0; i < NKNOBS; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", knobs[i].key);
        }
        if (!eq)
            return mpct_error_set(MPCT_ERR_ARG, "'%s': expected KEY=VALUE with KEY one of: %s", assignment, list);
        return mpct_error_set(MPCT_ERR_ARG, "unknown setting '%.*s'; valid keys: %s", (int)n, assignment, list);
    }
    char *end = NULL;
    errno = 0;
    double v = eq[1] && !isspace((unsigned char)eq[1]) ? strtod(eq + 1, &end) : NAN;
    int ok = end && !*end && !errno && isfinite(v) && (k->lo_open ? v > k->lo : v >= k->lo) && v <= k->hi &&
             (!k->integer || v == floor(v));
    if (!ok)
        return mpct_error_set(MPCT_ERR_ARG, "%s = '%s': expected %s in %c%g, %g] (%s)", k->key, eq + 1,
                              k->integer ? "an integer" : "a number", k->lo_open ? '(' : '[', k->lo, k->hi,
                              k->unit);
    return mpct_perf_report_set_num(r, k->key, v);
}

static mpct_perf_hint *add(mpct_perf_report_t *r, const char *id, double gain)
{
    if (r->nhints == MPCT_PERF_MAX_HINTS)
        return NULL;
    mpct_perf_hint *h = &r->hints[r->nhints++];
    memset(h, 0, sizeof *h);
    snprintf(h->id, sizeof h->id, "%s", id);
    h->expected_gain_s = gain;
    return h;
}

static void fig(mpct_perf_hint *h, const char *name, double v)
{
    if (!h || h->nfigures == 4)
        return;
    snprintf(h->figure_names[h->nfigures], sizeof h->figure_names[0], "%s", name);
    h->figures[h->nfigures++] = v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *const nonlinear_kinds[] = {"lt",  "msb",  "relu", "gelu", "softmax", "exp",       "recip",
                                              "rsqrt", "sqrt", "layernorm", "max", "cmp", "select", "tanh",
                                              "div", "sigmoid", NULL};

static int is_nonlinear(const char *kind)
{
    for (int i = 0; nonlinear_kinds[i]; i++) {
        size_t n = strlen(nonlinear_kinds[i]);
        if (!strncmp(kind, nonlinear_kinds[i], n) && (kind[n] == 0 || kind[n] == '_' || kind[n] == ' '))
            return 1;
    }
    return 0;
}

static void rule_bound(mpct_perf_report_t *r)
{
    int c = mpct_perf_critical_party(r);
    if (c < 0)
        return;
    mpct_perf_party_tot t = mpct_perf_party_totals(r->parties[c]);
    if (t.wall <= 0)
        return;
    double comm = fmin(t.comm, t.wall), compute = t.wall - comm;
    double share = comm / t.wall;
    double per_round = t.rounds > 0 ? t.bytes_sent / t.rounds : INFINITY;
    int est = 0;
    double lat = mpct_perf_latency_s(r, &est);
    if (share >= knob(r, "comm_share_min") && per_round < knob(r, "small_round_bytes") && t.rounds > 0 && lat > 0) {
        /* Latency-bound: batching N inputs keeps rounds fixed per batch. */
        double lat_total = fmin(t.rounds * lat, t.wall);
        double rest = fmax(t.wall - lat_total, 1e-9);
        int n = (int)ceil(lat_total / (knob(r, "latency_target") * rest) - 1e-9);
        n = n < 2 ? 2 : n > MAX_BATCH_FACTOR ? MAX_BATCH_FACTOR : n;
        double b = mpct_perf_report_get_num(r, "batch_size");
        int suggest = isfinite(b) && b >= 1 ? (int)b * n : n;
        double gain = lat_total * (1.0 - 1.0 / n); /* per inference */
        mpct_perf_hint *h = add(r, "latency_bound", gain);
        if (!h)
            return;
        snprintf(h->message, sizeof h->message,
                 "latency-bound: %.0f rounds x %.1f us%s = %.0f%% of %.4g s wall, only %.0f bytes per round "
                 "per party; batch %d inputs per run (batch size %d) to amortise rounds: expected %.4g s less "
                 "per inference",
                 t.rounds, lat * 1e6, est ? " (estimated comm_s/rounds)" : "", 100 * lat_total / t.wall, t.wall,
                 per_round, n, suggest, gain);
        fig(h, "rounds", t.rounds);
        fig(h, "latency_us", lat * 1e6);
        fig(h, "bytes_per_round", per_round);
        fig(h, "suggested_batch", suggest);
    } else if (share >= knob(r, "comm_share_min")) {
        double bw = knob(r, "bandwidth_bytes_per_s");
        double gain = fmin(comm, compute); /* overlap comm with compute */
        mpct_perf_hint *h = add(r, "comm_bound", gain);
        if (!h)
            return;
        snprintf(h->message, sizeof h->message,
                 "communication-bound: %.4g s of %.4g s wall (%.0f%%) waits on the network, %.4g MB sent by "
                 "the slowest party (%.0f bytes per round); overlap communication with compute (pipeline "
                 "layers or batches) to save up to %.4g s, or raise bandwidth (at %.3g GB/s the bytes alone "
                 "need %.4g s)",
                 comm, t.wall, 100 * share, t.bytes_sent / 1e6, per_round, gain, bw / 1e9, t.bytes_sent / bw);
        fig(h, "comm_s", comm);
        fig(h, "wall_s", t.wall);
        fig(h, "comm_share", share);
        fig(h, "bytes_sent", t.bytes_sent);
    } else if (compute / t.wall >= knob(r, "compute_share_min")) {
        mpct_perf_hint *h = add(r, "compute_bound", NAN);
        if (!h)
            return;
        snprintf(h->message, sizeof h->message,
                 "compute-bound: %.4g s of %.4g s wall (%.0f%%) is local computation; faster kernels "
                 "(--kernels, GPU) or more replicas pay off directly, the network does not",
                 compute, t.wall, 100 * compute / t.wall);
        fig(h, "compute_s", compute);
        fig(h, "wall_s", t.wall);
        fig(h, "compute_share", compute / t.wall);
    }
}

static void rule_peak(mpct_perf_report_t *r)
{
    double peak = knob(r, "peak_gops");
    char src[160] = "setting peak_gops";
    if (!(peak > 0)) {
        const char *from = mpct_perf_report_get_str(r, "calibration_source");
        peak = mpct_perf_report_get_num(r, "calibration_peak_gops");
        snprintf(src, sizeof src, "measured ring-GEMM peak, %.120s", from ? from : "this report's calibration");
    }
    if (!(peak > 0))
        return;
    mpct_perf_agg *a = NULL;
    int n = mpct_perf_aggregate(r, MPCT_AGG_REGION, &a);
    double total = 0;
    for (int i = 0; i < n; i++)
        total += fmax(a[i].wall - a[i].comm, 0);
    int worst = -1;
    double worst_gain = 0;
    for (int i = 0; i < n; i++) {
        double comp = fmax(a[i].wall - a[i].comm, 0);
        if (a[i].work_ops <= 0 || comp <= 0 || comp < knob(r, "region_share_min") * total)
            continue;
        double gops = a[i].work_ops / comp / 1e9;
        double ideal = a[i].work_ops / (knob(r, "peak_reachable") * peak * 1e9);
        if (gops < knob(r, "peak_fraction_min") * peak && comp - ideal > worst_gain) {
            worst = i;
            worst_gain = comp - ideal;
        }
    }
    if (worst >= 0) {
        double comp = fmax(a[worst].wall - a[worst].comm, 0), gops = a[worst].work_ops / comp / 1e9;
        mpct_perf_hint *h = add(r, "below_peak", worst_gain);
        if (h) {
            snprintf(h->message, sizeof h->message,
                     "kernel far below peak: %s reaches %.3g Gop/s, %.1f%% of the %.4g Gop/s peak (%s); at "
                     "%.0f%% of peak its %.4g s of compute would take %.4g s (tune the kernel, block sizes, "
                     "SIMD or GPU backend)",
                     a[worst].name, gops, 100 * gops / peak, peak, src, 100 * knob(r, "peak_reachable"), comp,
                     comp - worst_gain);
            fig(h, "achieved_gops", gops);
            fig(h, "peak_gops", peak);
            fig(h, "compute_s", comp);
        }
    }
    free(a);
}

static void rule_memory(mpct_perf_report_t *r)
{
    double set_total = mpct_perf_report_get_num(r, "mem_total_bytes");
    for (int i = 0; i < r->nparties; i++) {
        const mpct_perf_t *p = r->parties[i];
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= !strcmp(r->parties[k]->host, p->host);
        if (seen)
            continue;
        double sum = 0;
        int ranks = 0;
        for (int k = i; k < r->nparties; k++)
            if (!strcmp(r->parties[k]->host, p->host)) {
                sum += (double)r->parties[k]->rss_peak;
                ranks++;
            }
        double total = set_total > 0 ? set_total : (double)p->mem_total;
        if (total <= 0 || sum < knob(r, "mem_pressure") * total)
            continue;
        mpct_perf_hint *h = add(r, "memory_pressure", NAN);
        if (!h)
            return;
        snprintf(h->message, sizeof h->message,
                 "memory pressure on host %s: %d ranks peak at %.3g GB RSS together, %.0f%% of its %.3g GB "
                 "MemTotal; run fewer ranks per node, lower the batch size, or move the share cache to its "
                 "compressed/disk tier",
                 p->host[0] ? p->host : "?", ranks, sum / 1e9, 100 * sum / total, total / 1e9);
        fig(h, "rss_sum_bytes", sum);
        fig(h, "mem_total_bytes", total);
        fig(h, "ranks", ranks);
    }
}

static void rule_straggler(mpct_perf_report_t *r)
{
    int maxrep = -1;
    for (int i = 0; i < r->nparties; i++)
        maxrep = r->parties[i]->replica > maxrep ? r->parties[i]->replica : maxrep;
    double *rep_wall = calloc((size_t)maxrep + 2, sizeof *rep_wall);
    double *v = calloc((size_t)r->nparties + 1, sizeof *v);
    if (!rep_wall || !v) {
        free(rep_wall);
        free(v);
        return;
    }
    int nrep_active = 0;
    for (int rep = 0; rep <= maxrep; rep++) {
        int n = 0, worst = -1;
        double wmax = 0;
        for (int i = 0; i < r->nparties; i++) {
            if (r->parties[i]->replica != rep)
                continue;
            mpct_perf_party_tot t = mpct_perf_party_totals(r->parties[i]);
            double comp = fmax(t.wall - t.comm, 0);
            v[n++] = comp;
            if (worst < 0 || comp > mpct_perf_party_totals(r->parties[worst]).wall -
                                        mpct_perf_party_totals(r->parties[worst]).comm)
                worst = i;
            wmax = fmax(wmax, t.wall);
        }
        rep_wall[rep] = wmax;
        if (wmax > 0)
            nrep_active++;
        if (n < 2)
            continue;
        mpct_perf_party_tot wt = mpct_perf_party_totals(r->parties[worst]);
        double wc = fmax(wt.wall - wt.comm, 0), med = median(v, n);
        if (wc - med < knob(r, "straggler_min_s") || wc < knob(r, "straggler_ratio") * med)
            continue;
        mpct_perf_hint *h = add(r, "straggler_party", wc - med);
        if (!h)
            break;
        snprintf(h->message, sizeof h->message,
                 "straggling party: party %d of replica %d (rank %d, host %s) computes %.4g s vs the "
                 "replica's median %.4g s (x%.2f); the other parties wait for it: expected %.4g s less "
                 "if it matched (check its node's load, CPU frequency, kernels)",
                 r->parties[worst]->party, rep, r->parties[worst]->rank, r->parties[worst]->host, wc, med,
                 med > 0 ? wc / med : 0, wc - med);
        fig(h, "party_compute_s", wc);
        fig(h, "median_compute_s", med);
        fig(h, "replica", rep);
        fig(h, "rank", r->parties[worst]->rank);
    }
    if (nrep_active >= 2) {
        int n = 0, worst = 0;
        for (int rep = 0; rep <= maxrep; rep++) {
            if (rep_wall[rep] <= 0)
                continue;
            v[n++] = rep_wall[rep];
            if (rep_wall[rep] > rep_wall[worst])
                worst = rep;
        }
        double mean = 0;
        for (int k = 0; k < n; k++)
            mean += v[k] / n;
        double med = median(v, n);
        if (rep_wall[worst] - med >= knob(r, "straggler_min_s") && rep_wall[worst] >= knob(r, "replica_ratio") * med) {
            mpct_perf_hint *h = add(r, "straggler_replica", rep_wall[worst] - mean);
            if (h) {
                snprintf(h->message, sizeof h->message,
                         "straggling replica: replica %d takes %.4g s vs the median %.4g s (x%.2f); give "
                         "replicas work dynamically (smaller batches from a shared queue) to finish near the "
                         "mean, %.4g s sooner",
                         worst, rep_wall[worst], med, rep_wall[worst] / med, rep_wall[worst] - mean);
                fig(h, "replica_wall_s", rep_wall[worst]);
                fig(h, "median_wall_s", med);
                fig(h, "replica", worst);
            }
        }
    }
    free(rep_wall);
    free(v);
}

static void rule_nonlinear(mpct_perf_report_t *r)
{
    mpct_perf_agg *a = NULL;
    int n = mpct_perf_aggregate(r, MPCT_AGG_KIND, &a);
    double total = 0;
    for (int i = 0; i < n; i++)
        total += a[i].bytes_sent;
    int c = mpct_perf_critical_party(r);
    double comm = c >= 0 ? mpct_perf_party_totals(r->parties[c]).comm : 0;
    for (int i = 0; total > 0 && i < n; i++) {
        double share = a[i].bytes_sent / total;
        if (!is_nonlinear(a[i].kind) || share < knob(r, "nonlinear_share_min"))
            continue;
        /* Bytes-proportional part of comm, if this op's bytes halved. */
        mpct_perf_hint *h = add(r, "nonlinear_bytes", 0.5 * share * comm);
        if (!h)
            break;
        snprintf(h->message, sizeof h->message,
                 "non-linear op dominates traffic: %s sends %.4g MB, %.0f%% of all bytes (%.0f rounds); a "
                 "cheaper approximation (lower-degree polynomial, fewer Newton iterations, smaller "
                 "comparison bit width) that halves its bytes saves up to %.4g s of communication",
                 a[i].kind, a[i].bytes_sent / 1e6, 100 * share, a[i].rounds, 0.5 * share * comm);
        fig(h, "bytes_sent", a[i].bytes_sent);
        fig(h, "bytes_share", share);
        fig(h, "rounds", a[i].rounds);
    }
    free(a);
}

void mpct_perf_report_compute_hints(mpct_perf_report_t *r)
{
    r->nhints = 0;
    rule_bound(r);
    rule_peak(r);
    rule_memory(r);
    rule_straggler(r);
    rule_nonlinear(r);
}
