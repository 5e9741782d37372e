/*
 * views.c — human and machine views of a report: text summary, before/after
 * diff, Prometheus text exposition, SVG bar charts.
 *
 * Figures per region are aggregated over parties (time: slowest party;
 * bytes: sum over parties), see mpct_perf_aggregate.
 */
#include "perf-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_wall(const void *x, const void *y)
{
    const mpct_perf_agg *a = x, *b = y;
    return (a->wall < b->wall) - (a->wall > b->wall);
}

static int by_bytes(const void *x, const void *y)
{
    const mpct_perf_agg *a = x, *b = y;
    return (a->bytes_sent < b->bytes_sent) - (a->bytes_sent > b->bytes_sent);
}

static const char *human_bytes(double b, char *buf, size_t cap)
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (fabs(b) >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(buf, cap, i ? "%.3g %s" : "%.0f %s", b, u[i]);
    return buf;
}

/* The settings as a block: one "key  value" line each, in the report's
 * order; the cache_* figures (many, mostly 0 when no cache is used)
 * follow as "key=value" words wrapped at 100 columns. */
static void summary_settings(const mpct_perf_report_t *r, FILE *f)
{
    if (!r->nsettings)
        return;
    fprintf(f, "settings:\n");
    int ncache = 0;
    for (int i = 0; i < r->nsettings; i++) {
        const mpct_perf_kv *kv = &r->settings[i];
        if (!strncmp(kv->key, "cache_", 6)) {
            ncache++;
            continue;
        }
        if (kv->is_num)
            fprintf(f, "  %-22s %g\n", kv->key, kv->num);
        else
            fprintf(f, "  %-22s %s\n", kv->key, kv->str[0] ? kv->str : "(none)");
    }
    if (!ncache)
        return;
    int col = fprintf(f, "  %-22s", "share cache");
    for (int i = 0; i < r->nsettings; i++) {
        const mpct_perf_kv *kv = &r->settings[i];
        if (strncmp(kv->key, "cache_", 6))
            continue;
        char w[160];
        if (kv->is_num)
            snprintf(w, sizeof w, " %s=%g", kv->key + 6, kv->num);
        else
            snprintf(w, sizeof w, " %s=%s", kv->key + 6, kv->str);
        if (col + (int)strlen(w) > 100)
            col = fprintf(f, "\n  %-22s", "");
        col += fprintf(f, "%s", w);
    }
    fputc('\n', f);
}

void mpct_perf_report_summary(const mpct_perf_report_t *r, FILE *f, int top, double latency_us)
{
    char b1[32], b2[32];
    if (top <= 0)
        top = 10;
    fprintf(f, "mpct report (%s, mpct %s): %d parties\n", r->tool[0] ? r->tool : "?",
            r->version[0] ? r->version : "?", r->nparties);
    summary_settings(r, f);
    int c = mpct_perf_critical_party(r);
    if (c < 0) {
        fprintf(f, "no parties in report\n");
        return;
    }
    mpct_perf_party_tot t = mpct_perf_party_totals(r->parties[c]);
    double comm = fmin(t.comm, t.wall), compute = t.wall - comm;
    fprintf(f, "\nslowest party: rank %d (replica %d, party %d): wall %.4g s = compute %.4g s (%.0f%%) + "
               "communication %.4g s (%.0f%%)\n",
            r->parties[c]->rank, r->parties[c]->replica, r->parties[c]->party, t.wall, compute,
            t.wall > 0 ? 100 * compute / t.wall : 0, comm, t.wall > 0 ? 100 * comm / t.wall : 0);
    int est = 0;
    double lat = latency_us > 0 ? latency_us * 1e-6 : mpct_perf_latency_s(r, &est);
    if (t.rounds > 0 && lat > 0)
        fprintf(f, "rounds x latency: %.0f rounds x %.1f us%s = %.4g s, %.0f%% of wall\n", t.rounds, lat * 1e6,
                latency_us > 0 ? " (--latency-us)" : est ? " (estimated as comm_s/rounds)" : " (setting)",
                t.rounds * lat, t.wall > 0 ? 100 * t.rounds * lat / t.wall : 0);

    mpct_perf_agg *a = NULL;
    int n = mpct_perf_aggregate(r, MPCT_AGG_REGION, &a);
    double tw = 0, tb = 0;
    for (int i = 0; i < n; i++) {
        tw += a[i].wall;
        tb += a[i].bytes_sent;
    }
    qsort(a, (size_t)n, sizeof *a, by_wall);
    fprintf(f, "\ntop regions by time (slowest party):\n  %-36s %10s %6s %10s %10s %8s %8s\n", "region", "wall_s",
            "share", "compute_s", "comm_s", "calls", "rounds");
    for (int i = 0; i < n && i < top; i++)
        fprintf(f, "  %-36s %10.4g %5.1f%% %10.4g %10.4g %8.0f %8.0f\n", a[i].name, a[i].wall,
                tw > 0 ? 100 * a[i].wall / tw : 0, fmax(a[i].wall - a[i].comm, 0), a[i].comm, a[i].calls,
                a[i].rounds);
    qsort(a, (size_t)n, sizeof *a, by_bytes);
    fprintf(f, "\ntop regions by bytes (sent, all parties):\n  %-36s %12s %6s %14s\n", "region", "bytes", "share",
            "bytes/round");
    for (int i = 0; i < n && i < top; i++) {
        if (a[i].bytes_sent <= 0)
            break;
        double pr = a[i].rounds > 0 ? a[i].bytes_sent / a[i].rounds / fmax(1, r->nparties) : 0;
        fprintf(f, "  %-36s %12s %5.1f%% %14s\n", a[i].name, human_bytes(a[i].bytes_sent, b1, sizeof b1),
                tb > 0 ? 100 * a[i].bytes_sent / tb : 0, human_bytes(pr, b2, sizeof b2));
    }
    free(a);

    fprintf(f, "\nper party:\n  %5s %7s %5s %-16s %10s %10s %10s %12s %12s %12s\n", "rank", "replica", "party",
            "host", "wall_s", "compute_s", "comm_s", "bytes_sent", "peak_rss", "alloc_peak");
    double cmin = INFINITY, cmax = 0;
    for (int i = 0; i < r->nparties; i++) {
        const mpct_perf_t *p = r->parties[i];
        mpct_perf_party_tot pt = mpct_perf_party_totals(p);
        double pc = fmax(pt.wall - pt.comm, 0);
        if (pt.wall > 0) {
            cmin = fmin(cmin, pc);
            cmax = fmax(cmax, pc);
        }
        char b3[32];
        fprintf(f, "  %5d %7d %5d %-16.16s %10.4g %10.4g %10.4g %12s %12s %12s\n", p->rank, p->replica, p->party,
                p->host, pt.wall, pc, pt.comm, human_bytes(pt.bytes_sent, b1, sizeof b1),
                human_bytes((double)p->rss_peak, b2, sizeof b2), human_bytes((double)p->alloc_peak, b3, sizeof b3));
    }
    if (cmax > 0 && isfinite(cmin))
        fprintf(f, "imbalance: compute max/min over parties = %.2f\n", cmin > 0 ? cmax / cmin : INFINITY);
    const mpct_perf_t *p0 = r->parties[0];
    fprintf(f, "\nhardware counters (PAPI): %s%s%s\n", p0->papi_avail ? "available" : "unavailable",
            p0->papi_reason[0] ? " — " : "", p0->papi_reason);
    if (r->nhints == 0) {
        fprintf(f, "\nhints: none fired\n");
        return;
    }
    fprintf(f, "\nhints:\n");
    for (int i = 0; i < r->nhints; i++) {
        fprintf(f, "  [%s] %s", r->hints[i].id, r->hints[i].message);
        if (isfinite(r->hints[i].expected_gain_s))
            fprintf(f, " (expected gain %.4g s)", r->hints[i].expected_gain_s);
        fputc('\n', f);
    }
}

/* ---- diff ---- */

static double ratio(double b, double a) { return a > 0 ? b / a : (b > 0 ? INFINITY : 1.0); }

void mpct_perf_report_diff(const mpct_perf_report_t *ra, const mpct_perf_report_t *rb, FILE *f)
{
    mpct_perf_agg *a = NULL, *b = NULL;
    int na = mpct_perf_aggregate(ra, MPCT_AGG_REGION, &a);
    int nb = mpct_perf_aggregate(rb, MPCT_AGG_REGION, &b);
    fprintf(f, "%-36s %10s %10s %7s %12s %12s %7s %8s %8s %7s\n", "region", "wall_A", "wall_B", "B/A", "bytes_A",
            "bytes_B", "B/A", "rounds_A", "rounds_B", "B/A");
    double ta[3] = {0}, tb[3] = {0};
    char x1[32], x2[32];
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? nb : na;
        for (int i = 0; i < n; i++) {
            const mpct_perf_agg *u = pass ? NULL : &a[i], *v = NULL;
            if (pass) {
                /* regions only in B */
                int found = 0;
                for (int k = 0; k < na; k++)
                    found |= !strcmp(a[k].name, b[i].name);
                if (found)
                    continue;
                v = &b[i];
            } else {
                for (int k = 0; k < nb; k++)
                    if (!strcmp(b[k].name, u->name))
                        v = &b[k];
            }
            const char *name = u ? u->name : v->name;
            double wa = u ? u->wall : 0, wb = v ? v->wall : 0;
            double ba = u ? u->bytes_sent : 0, bb = v ? v->bytes_sent : 0;
            double qa = u ? u->rounds : 0, qb = v ? v->rounds : 0;
            ta[0] += wa, ta[1] += ba, ta[2] += qa;
            tb[0] += wb, tb[1] += bb, tb[2] += qb;
            fprintf(f, "%-36s %10.4g %10.4g %7.3f %12s %12s %7.3f %8.0f %8.0f %7.3f%s\n", name, wa, wb, ratio(wb, wa),
                    human_bytes(ba, x1, sizeof x1), human_bytes(bb, x2, sizeof x2), ratio(bb, ba), qa, qb,
                    ratio(qb, qa), !u ? "  (only in B)" : !v ? "  (only in A)" : "");
        }
    }
    fprintf(f, "%-36s %10.4g %10.4g %7.3f %12s %12s %7.3f %8.0f %8.0f %7.3f\n", "TOTAL", ta[0], tb[0],
            ratio(tb[0], ta[0]), human_bytes(ta[1], x1, sizeof x1), human_bytes(tb[1], x2, sizeof x2),
            ratio(tb[1], ta[1]), ta[2], tb[2], ratio(tb[2], ta[2]));
    free(a);
    free(b);
}

/* ---- Prometheus text format ---- */

static void label_value(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels every sample carries: which run it is (job, model, Slurm job),
 * so that the files of several runs in one textfile directory never give
 * two samples of the same series. */
typedef struct prom_run {
    const char *job, *model, *slurm;
    char model_short[16];
} prom_run;

static prom_run prom_run_of(const mpct_perf_report_t *r)
{
    prom_run u = {mpct_perf_report_get_str(r, "job"), mpct_perf_report_get_str(r, "model"),
                  mpct_perf_report_get_str(r, "slurm_job_id"), ""};
    const char *hash = mpct_perf_report_get_str(r, "model_hash");
    if (!u.model || !u.model[0]) { /* the content hash names the model when no name was recorded */
        snprintf(u.model_short, sizeof u.model_short, "%.12s", hash ? hash : "");
        u.model = u.model_short;
    }
    u.job = u.job ? u.job : "";
    u.slurm = u.slurm ? u.slurm : "";
    return u;
}

/* name{job=..,model=..,slurm_job_id=..[,more]} — more is "" or ",key=\"v\"..." already escaped */
static void sample_start(FILE *f, const char *name, const prom_run *u)
{
    fprintf(f, "%s{job=", name);
    label_value(f, u->job);
    fputs(",model=", f);
    label_value(f, u->model);
    fputs(",slurm_job_id=", f);
    label_value(f, u->slurm);
}

static void sample(FILE *f, const char *name, const prom_run *u, double v)
{
    sample_start(f, name, u);
    fprintf(f, "} %.17g\n", v);
}

static void party_labels(FILE *f, const mpct_perf_t *p)
{
    fprintf(f, ",rank=\"%d\",replica=\"%d\",party=\"%d\",host=", p->rank, p->replica, p->party);
    label_value(f, p->host);
    fputc('}', f);
}

static void metric_name(char *dst, size_t cap, const char *prefix, const char *key, const char *suffix)
{
    size_t n = (size_t)snprintf(dst, cap, "%s", prefix);
    for (const char *s = key; *s && n + 1 < cap; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        dst[n++] = ok ? ch : '_';
    }
    dst[n] = 0;
    snprintf(dst + n, cap - n, "%s", suffix);
}

/* The run as a whole: inferences, duration, latency, an info series. */
static void prom_run_metrics(const mpct_perf_report_t *r, const prom_run *u, FILE *f)
{
    int c = mpct_perf_critical_party(r);
    double wall = c >= 0 ? mpct_perf_party_totals(r->parties[c]).wall : 0;
    double inf = mpct_perf_report_get_num(r, "inferences");
    inf = isfinite(inf) ? inf : 0;
    family(f, "mpct_inferences_total", "counter", "Inferences (rows) computed in this run.");
    sample(f, "mpct_inferences_total", u, inf);
    family(f, "mpct_run_seconds", "gauge", "Wall time of the run's slowest party over all profiled regions.");
    sample(f, "mpct_run_seconds", u, wall);
    family(f, "mpct_inference_latency_seconds", "summary",
           "Wall time of the slowest party per inference: _sum over the run, _count inferences.");
    sample(f, "mpct_inference_latency_seconds_sum", u, wall);
    sample(f, "mpct_inference_latency_seconds_count", u, inf);
    const char *info[] = {"mode", "task", "kernels", "link_encryption", "batch_mode"};
    family(f, "mpct_run_info", "gauge", "1, with the run's settings as labels.");
    sample_start(f, "mpct_run_info", u);
    for (size_t k = 0; k < sizeof info / sizeof info[0]; k++) {
        const char *v = mpct_perf_report_get_str(r, info[k]);
        fprintf(f, ",%s=", info[k]);
        label_value(f, v ? v : "");
    }
    fputs("} 1\n", f);
}

/* A cache_* setting as a metric: its name in base units (_us and _s ->
 * _seconds, bytes_X -> X_bytes), counters (counts, bytes and times that add
 * up) ending in _total, the others gauges. */
static void prom_cache_name(const char *key, double num, char *name, size_t cap, const char **type, double *v)
{
    static const char *const counts[] = {"hits", "misses", "evictions", "corrupt", "errors", "pruned", "bytes",
                                         "lookup_s", "store_s"};
    char k[96];
    size_t n = strlen(key);
    int us = n > 3 && !strcmp(key + n - 3, "_us"), s = n > 2 && !strcmp(key + n - 2, "_s");
    snprintf(k, sizeof k, "%.*s", (int)(n - (us ? 3 : s ? 2 : 0)), key);
    const char *b = strstr(k, "bytes_");
    if (b) { /* cache_bytes_read -> cache_read_bytes; cache_share_bytes_sent -> cache_share_sent_bytes */
        char t[96];
        snprintf(t, sizeof t, "%.*s%s_bytes", (int)(b - k), k, b + 6);
        snprintf(k, sizeof k, "%s", t);
    }
    int counter = 0;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        counter |= strstr(key, counts[i]) != NULL;
    *type = counter ? "counter" : "gauge";
    *v = us ? num * 1e-6 : num;
    metric_name(name, cap, "mpct_", k, us || s ? (counter ? "_seconds_total" : "_seconds") : counter ? "_total" : "");
}

mpct_status mpct_perf_report_prometheus(const mpct_perf_report_t *r, FILE *f)
{
    const prom_run u = prom_run_of(r);
    prom_run_metrics(r, &u, f);
    static const struct {
        const char *name, *type, *help;
        int what;
    } pf[] = {
        {"mpct_party_wall_seconds_total", "counter", "Wall time per party over all profiled regions.", 0},
        {"mpct_party_comm_seconds_total", "counter", "Time per party blocked in the transport.", 1},
        {"mpct_party_sent_bytes_total", "counter", "Bytes sent per party.", 2},
        {"mpct_party_received_bytes_total", "counter", "Bytes received per party.", 3},
        {"mpct_party_rounds_total", "counter", "Communication rounds per party.", 4},
        {"mpct_party_peak_rss_bytes", "gauge", "Peak resident set size per party.", 5},
        {"mpct_party_alloc_peak_bytes", "gauge", "High-water mark of mpct's own allocations per party.", 6},
    };
    for (size_t k = 0; k < sizeof pf / sizeof pf[0]; k++) {
        family(f, pf[k].name, pf[k].type, pf[k].help);
        for (int i = 0; i < r->nparties; i++) {
            const mpct_perf_t *p = r->parties[i];
            mpct_perf_party_tot t = mpct_perf_party_totals(p);
            double v[] = {t.wall, t.comm, t.bytes_sent, t.bytes_recv, t.rounds, (double)p->rss_peak,
                          (double)p->alloc_peak};
            sample_start(f, pf[k].name, &u);
            party_labels(f, p);
            fprintf(f, " %.17g\n", v[pf[k].what]);
        }
    }
    mpct_perf_agg *a = NULL;
    int n = mpct_perf_aggregate(r, MPCT_AGG_REGION, &a);
    static const struct {
        const char *name, *type, *help;
    } rf[] = {
        {"mpct_region_seconds", "summary", "Wall time per region (slowest party): _sum, and _count visits."},
        {"mpct_region_comm_seconds_total", "counter", "Transport time per region (slowest party)."},
        {"mpct_region_sent_bytes_total", "counter", "Bytes sent per region, all parties."},
        {"mpct_region_rounds_total", "counter", "Rounds per region."},
    };
    for (size_t k = 0; k < sizeof rf / sizeof rf[0]; k++) {
        family(f, rf[k].name, rf[k].type, rf[k].help);
        for (int i = 0; i < n; i++)
            for (int part = 0; part < (k == 0 ? 2 : 1); part++) {
                double v[] = {part ? a[i].calls : a[i].wall, a[i].comm, a[i].bytes_sent, a[i].rounds};
                char name[64];
                snprintf(name, sizeof name, "%s%s", rf[k].name, k ? "" : part ? "_count" : "_sum");
                sample_start(f, name, &u);
                fputs(",region=", f);
                label_value(f, a[i].name);
                fputs(",kind=", f);
                label_value(f, a[i].kind);
                fprintf(f, "} %.17g\n", v[k]);
            }
    }
    free(a);
    /* Cache statistics: numeric settings named cache_*, in base units, counters named _total. */
    for (int i = 0; i < r->nsettings; i++) {
        const mpct_perf_kv *kv = &r->settings[i];
        if (!kv->is_num || strncmp(kv->key, "cache_", 6))
            continue;
        char name[128];
        const char *type;
        double v;
        prom_cache_name(kv->key, kv->num, name, sizeof name, &type, &v);
        family(f, name, type, "Share cache statistic of the weight step (the report's settings).");
        sample(f, name, &u, v);
    }
    family(f, "mpct_hint_active", "gauge", "1 for each tuning hint that fired (see the JSON report).");
    for (int i = 0; i < r->nhints; i++) {
        sample_start(f, "mpct_hint_active", &u);
        fputs(",id=", f);
        label_value(f, r->hints[i].id);
        fputs("} 1\n", f);
    }
    return ferror(f) ? mpct_error_set(MPCT_ERR_IO, "perf: write error on Prometheus file") : MPCT_OK;
}

/* ---- SVG ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

/* The title's run: " — model M, N inputs (seq S), DATE" from the settings
 * it finds (model or model_hash, inferences, seq_len, started_at). */
static void plot_title_run(const mpct_perf_report_t *r, FILE *f)
{
    const char *model = mpct_perf_report_get_str(r, "model"), *hash = mpct_perf_report_get_str(r, "model_hash");
    const char *at = mpct_perf_report_get_str(r, "started_at");
    double inf = mpct_perf_report_get_num(r, "inferences"), seq = mpct_perf_report_get_num(r, "seq_len");
    char buf[320] = "";
    size_t n = 0;
    if ((model && model[0]) || (hash && hash[0]))
        n += (size_t)snprintf(buf + n, sizeof buf - n, ", model %s", model && model[0] ? model : hash);
    if (isfinite(inf) && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ", %.0f input%s", inf, inf == 1 ? "" : "s");
    if (isfinite(seq) && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " (seq %.0f)", seq);
    if (at && at[0] && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ", %s", at);
    if (buf[0]) {
        fputs(" \xe2\x80\x94 ", f); /* an em dash, then the run */
        xml_text(f, buf + 2);
    }
}

/* A "nice" axis maximum: 1, 2 or 5 times a power of ten at or above v. */
static double nice_max(double v)
{
    if (v <= 0)
        return 1;
    double e = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        double m = (i == 0 ? 1 : i == 1 ? 2 : 5) * e;
        if (m >= v)
            return m;
    }
    return 10 * e;
}

#define COL_COMPUTE "#4C72B0"
#define COL_COMM "#DD8452"
#define COL_BYTES "#55A868"

/* One panel pair (time | bytes) for n rows at vertical offset y; returns
 * the height used. */
static double svg_panel(FILE *f, const char *title, mpct_perf_agg *a, int n, double y)
{
    const double label_w = 150, bar_w = 300, gap = 70, row = 22, top = 48;
    double tmax = 0, bmax = 0;
    for (int i = 0; i < n; i++) {
        tmax = fmax(tmax, a[i].wall);
        bmax = fmax(bmax, a[i].bytes_sent);
    }
    tmax = nice_max(tmax);
    bmax = nice_max(bmax);
    double x0 = 20 + label_w, x1 = x0 + bar_w + gap + label_w * 0;
    fprintf(f, "<text x=\"20\" y=\"%.1f\" class=\"h\">", y + 18);
    xml_text(f, title);
    fputs("</text>\n", f);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">total time, s (slowest party)</text>\n", x0,
            y + 38);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">bytes sent, all parties</text>\n", x1, y + 38);
    double yb = y + top;
    /* grid + ticks */
    char b1[32];
    for (int t = 0; t <= 4; t++) {
        double gx0 = x0 + bar_w * t / 4, gx1 = x1 + bar_w * t / 4;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"g\"/>\n", gx0, yb - 4, gx0,
                yb + n * row);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"g\"/>\n", gx1, yb - 4, gx1,
                yb + n * row);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"t\">%.3g</text>\n", gx0, yb + n * row + 14, tmax * t / 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"t\">%s</text>\n", gx1, yb + n * row + 14,
                human_bytes(bmax * t / 4, b1, sizeof b1));
    }
    for (int i = 0; i < n; i++) {
        double yy = yb + i * row;
        double comm = fmin(a[i].comm, a[i].wall), comp = a[i].wall - comm;
        double wc = bar_w * comp / tmax, wm = bar_w * comm / tmax, wb = bar_w * a[i].bytes_sent / bmax;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"l\">", x0 - 6, yy + 14);
        xml_text(f, a[i].name);
        fputs("</text>\n", f);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"16\" fill=\"" COL_COMPUTE "\"/>\n", x0, yy + 2,
                wc);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"16\" fill=\"" COL_COMM "\"/>\n", x0 + wc,
                yy + 2, wm);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"v\">%.3g s</text>\n", x0 + wc + wm + 4, yy + 14, a[i].wall);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"16\" fill=\"" COL_BYTES "\"/>\n", x1, yy + 2,
                wb);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"v\">%s</text>\n", x1 + wb + 4, yy + 14,
                human_bytes(a[i].bytes_sent, b1, sizeof b1));
    }
    return top + n * row + 30;
}

mpct_status mpct_perf_report_svg(const mpct_perf_report_t *r, FILE *f)
{
    mpct_perf_agg *kinds = NULL, *layers = NULL;
    int nk = mpct_perf_aggregate(r, MPCT_AGG_KIND, &kinds);
    int nl = mpct_perf_aggregate(r, MPCT_AGG_LAYER, &layers);
    qsort(kinds, (size_t)nk, sizeof *kinds, by_wall);
    const double width = 20 + 150 + 300 + 70 + 300 + 90;
    double height = 70 + (48 + nk * 22 + 30) + (nl ? 48 + nl * 22 + 30 : 0) + 20;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<style>.h{font-size:15px;font-weight:bold}.s{font-size:11px;fill:#555}.l{font-size:12px;"
            "text-anchor:end}.v{font-size:11px;fill:#333}.t{font-size:10px;fill:#777;text-anchor:middle}"
            ".g{stroke:#ddd;stroke-width:1}</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    int c = mpct_perf_critical_party(r);
    mpct_perf_party_tot t = c >= 0 ? mpct_perf_party_totals(r->parties[c]) : (mpct_perf_party_tot){0};
    fputs("<text x=\"20\" y=\"26\" style=\"font-size:18px;font-weight:bold\">mpct profile: ", f);
    xml_text(f, r->tool[0] ? r->tool : "report");
    plot_title_run(r, f);
    fprintf(f, "</text>\n<text x=\"20\" y=\"46\" class=\"s\">%d parties; slowest party %.4g s wall, %.0f%% "
               "communication, %.0f rounds</text>\n",
            r->nparties, t.wall, t.wall > 0 ? 100 * fmin(t.comm, t.wall) / t.wall : 0, t.rounds);
    /* legend */
    double lx = width - 330;
    fprintf(f,
            "<rect x=\"%.0f\" y=\"34\" width=\"12\" height=\"12\" fill=\"" COL_COMPUTE "\"/>"
            "<text x=\"%.0f\" y=\"45\" class=\"v\">compute</text>\n"
            "<rect x=\"%.0f\" y=\"34\" width=\"12\" height=\"12\" fill=\"" COL_COMM "\"/>"
            "<text x=\"%.0f\" y=\"45\" class=\"v\">communication</text>\n"
            "<rect x=\"%.0f\" y=\"34\" width=\"12\" height=\"12\" fill=\"" COL_BYTES "\"/>"
            "<text x=\"%.0f\" y=\"45\" class=\"v\">bytes</text>\n",
            lx, lx + 16, lx + 90, lx + 106, lx + 220, lx + 236);
    double y = 60;
    y += svg_panel(f, "per op type", kinds, nk, y);
    if (nl)
        svg_panel(f, "per layer", layers, nl, y);
    fputs("</svg>\n", f);
    free(kinds);
    free(layers);
    return ferror(f) ? mpct_error_set(MPCT_ERR_IO, "perf: write error on SVG") : MPCT_OK;
}
