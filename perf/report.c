/*
 * report.c — the job-wide report: settings, every party's profile, hints;
 * JSON writing and loading (schema "mpct-report" version 1, perf/REPORT.md);
 * aggregation helpers used by hints and views.
 *
 * Loading accepts any schema_version <= MPCT_PERF_SCHEMA_VERSION and ignores
 * unknown fields; hints are recomputed from the measurements on load (the
 * file's "hints" are for readers, not an input).
 */
#include "perf-impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

mpct_status mpct_perf_report_init(mpct_perf_report_t **out, const char *tool)
{
    mpct_perf_report_t *r = calloc(1, sizeof *r);
    if (!r)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
    copy_str(r->tool, sizeof r->tool, tool);
#ifdef MPCT_VERSION_STRING
    copy_str(r->version, sizeof r->version, MPCT_VERSION_STRING);
#endif
    r->created_unix = (double)time(NULL);
    *out = r;
    return MPCT_OK;
}

void mpct_perf_report_free(mpct_perf_report_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nparties; i++)
        mpct_perf_free(r->parties[i]);
    free(r->parties);
    for (int i = 0; i < r->nsections; i++)
        free(r->section_json[i]);
    free(r);
}

mpct_status mpct_perf_report_add_party(mpct_perf_report_t *r, mpct_perf_t *p)
{
    if (r->nparties == r->cap) {
        int cap = r->cap ? 2 * r->cap : 4;
        mpct_perf_t **n = realloc(r->parties, (size_t)cap * sizeof *n);
        if (!n) {
            mpct_perf_free(p);
            return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
        }
        r->parties = n;
        r->cap = cap;
    }
    r->parties[r->nparties++] = p;
    return MPCT_OK;
}

static mpct_perf_kv *setting(mpct_perf_report_t *r, const char *key, int create)
{
    for (int i = 0; i < r->nsettings; i++)
        if (!strcmp(r->settings[i].key, key))
            return &r->settings[i];
    if (!create || r->nsettings == MPCT_PERF_MAX_SETTINGS || strlen(key) >= MPCT_PERF_KEY)
        return NULL;
    mpct_perf_kv *kv = &r->settings[r->nsettings++];
    memset(kv, 0, sizeof *kv);
    copy_str(kv->key, sizeof kv->key, key);
    return kv;
}

mpct_status mpct_perf_report_set_num(mpct_perf_report_t *r, const char *key, double v)
{
    mpct_perf_kv *kv = setting(r, key, 1);
    if (!kv)
        return mpct_error_set(MPCT_ERR_RANGE, "perf: too many settings or key '%s' too long", key);
    kv->is_num = 1;
    kv->num = v;
    kv->str[0] = 0;
    return MPCT_OK;
}

mpct_status mpct_perf_report_set_str(mpct_perf_report_t *r, const char *key, const char *v)
{
    mpct_perf_kv *kv = setting(r, key, 1);
    if (!kv)
        return mpct_error_set(MPCT_ERR_RANGE, "perf: too many settings or key '%s' too long", key);
    kv->is_num = 0;
    copy_str(kv->str, sizeof kv->str, v);
    return MPCT_OK;
}

double mpct_perf_report_get_num(const mpct_perf_report_t *r, const char *key)
{
    for (int i = 0; i < r->nsettings; i++)
        if (!strcmp(r->settings[i].key, key) && r->settings[i].is_num)
            return r->settings[i].num;
    return NAN;
}

const char *mpct_perf_report_get_str(const mpct_perf_report_t *r, const char *key)
{
    for (int i = 0; i < r->nsettings; i++)
        if (!strcmp(r->settings[i].key, key) && !r->settings[i].is_num)
            return r->settings[i].str;
    return NULL;
}

/* Top-level fields of the schema; any other object or array is a section. */
static const char *const known_fields[] = {"schema", "schema_version", "tool", "mpct_version", "created_unix",
                                           "settings", "papi", "memory", "parties", "hints"};

mpct_status mpct_perf_report_set_section(mpct_perf_report_t *r, const char *key, const char *json)
{
    for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
        if (!strcmp(key, known_fields[i]))
            return mpct_error_set(MPCT_ERR_ARG, "perf: section name '%s' is a field of the report schema", key);
    cJSON *o = cJSON_Parse(json);
    int ok = o && (cJSON_IsObject(o) || cJSON_IsArray(o));
    cJSON_Delete(o);
    if (!ok)
        return mpct_error_set(MPCT_ERR_ARG, "perf: section '%s' is not a JSON object or array", key);
    int i = 0;
    while (i < r->nsections && strcmp(r->section_key[i], key))
        i++;
    if (i == MPCT_PERF_MAX_SECTIONS || strlen(key) >= MPCT_PERF_KEY)
        return mpct_error_set(MPCT_ERR_RANGE, "perf: too many sections or section name '%s' too long", key);
    char *copy = strdup(json);
    if (!copy)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
    if (i == r->nsections)
        r->nsections++;
    else
        free(r->section_json[i]);
    copy_str(r->section_key[i], sizeof r->section_key[i], key);
    r->section_json[i] = copy;
    return MPCT_OK;
}

const char *mpct_perf_report_get_section(const mpct_perf_report_t *r, const char *key)
{
    for (int i = 0; i < r->nsections; i++)
        if (!strcmp(r->section_key[i], key))
            return r->section_json[i];
    return NULL;
}

int mpct_perf_report_nparties(const mpct_perf_report_t *r) { return r->nparties; }
const mpct_perf_t *mpct_perf_report_party(const mpct_perf_report_t *r, int i)
{
    return i >= 0 && i < r->nparties ? r->parties[i] : NULL;
}
int mpct_perf_report_nhints(const mpct_perf_report_t *r) { return r->nhints; }
const mpct_perf_hint *mpct_perf_report_hint(const mpct_perf_report_t *r, int i)
{
    return i >= 0 && i < r->nhints ? &r->hints[i] : NULL;
}
const mpct_perf_hint *mpct_perf_report_find_hint(const mpct_perf_report_t *r, const char *id)
{
    for (int i = 0; i < r->nhints; i++)
        if (!strcmp(r->hints[i].id, id))
            return &r->hints[i];
    return NULL;
}

/* ---- aggregation ---- */

mpct_perf_party_tot mpct_perf_party_totals(const mpct_perf_t *p)
{
    mpct_perf_party_tot t = {0};
    for (int i = 0; i < p->nregions; i++) {
        const mpct_perf_region *g = &p->regions[i];
        t.wall += g->wall_s;
        t.comm += g->comm_s;
        t.cpu += g->cpu_s;
        t.bytes_sent += (double)g->bytes_sent;
        t.bytes_recv += (double)g->bytes_recv;
        t.rounds += (double)g->rounds;
    }
    return t;
}

int mpct_perf_critical_party(const mpct_perf_report_t *r)
{
    int best = -1;
    double w = -1;
    for (int i = 0; i < r->nparties; i++) {
        double x = mpct_perf_party_totals(r->parties[i]).wall;
        if (x > w) {
            w = x;
            best = i;
        }
    }
    return best;
}

double mpct_perf_latency_s(const mpct_perf_report_t *r, int *estimated)
{
    *estimated = 0;
    double us = mpct_perf_report_get_num(r, "latency_us");
    if (isfinite(us) && us > 0)
        return us * 1e-6;
    int c = mpct_perf_critical_party(r);
    if (c < 0)
        return 0;
    mpct_perf_party_tot t = mpct_perf_party_totals(r->parties[c]);
    if (t.rounds <= 0)
        return 0;
    *estimated = 1;
    return t.comm / t.rounds;
}

/* The aggregation key of region g (0 when g does not take part: a region
 * outside any layer when aggregating by layer). */
static int agg_key(const mpct_perf_region *g, int by, char *key, size_t cap)
{
    if (by == MPCT_AGG_LAYER && g->layer < 0)
        return 0;
    if (by == MPCT_AGG_REGION)
        mpct_perf_region_name(g, key, cap);
    else if (by == MPCT_AGG_KIND)
        copy_str(key, cap, g->kind);
    else
        snprintf(key, cap, "L%d", g->layer);
    return 1;
}

static int agg_find(const mpct_perf_agg *a, int n, const char *key)
{
    int k = 0;
    while (k < n && strcmp(a[k].name, key))
        k++;
    return k;
}

int mpct_perf_aggregate(const mpct_perf_report_t *r, int by, mpct_perf_agg **out)
{
    int n = 0, cap = 0;
    mpct_perf_agg *a = NULL;
    for (int pi = 0; pi < r->nparties; pi++) {
        const mpct_perf_t *p = r->parties[pi];
        for (int i = 0; i < p->nregions; i++) {
            const mpct_perf_region *g = &p->regions[i];
            char key[sizeof a->name];
            if (!agg_key(g, by, key, sizeof key))
                continue;
            int k = agg_find(a, n, key);
            if (k == n) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    mpct_perf_agg *na = realloc(a, (size_t)cap * sizeof *na);
                    if (!na) {
                        free(a);
                        *out = NULL;
                        return 0;
                    }
                    a = na;
                }
                memset(&a[n], 0, sizeof a[n]);
                copy_str(a[n].name, sizeof a[n].name, key);
                copy_str(a[n].phase, sizeof a[n].phase, by == MPCT_AGG_REGION ? g->phase : "");
                copy_str(a[n].kind, sizeof a[n].kind, by != MPCT_AGG_LAYER ? g->kind : "");
                a[n].layer = by == MPCT_AGG_KIND ? -1 : g->layer;
                n++;
            }
        }
    }
    /* Second pass: several regions of one party may fold into one key, so
     * sum per party first, then take the max over parties (time, rounds). */
    double *pw = calloc((size_t)(n ? n : 1) * 4, sizeof *pw);
    if (!pw) {
        free(a);
        *out = NULL;
        return 0;
    }
    for (int pi = 0; pi < r->nparties; pi++) {
        const mpct_perf_t *p = r->parties[pi];
        memset(pw, 0, (size_t)(n ? n : 1) * 4 * sizeof *pw);
        for (int i = 0; i < p->nregions; i++) {
            const mpct_perf_region *g = &p->regions[i];
            char key[sizeof a->name];
            if (!agg_key(g, by, key, sizeof key))
                continue;
            int k = agg_find(a, n, key);
            if (k == n)
                continue;
            pw[4 * k] += g->wall_s;
            pw[4 * k + 1] += g->comm_s;
            pw[4 * k + 2] += g->cpu_s;
            pw[4 * k + 3] += (double)g->rounds;
            a[k].bytes_sent += (double)g->bytes_sent;
            a[k].bytes_recv += (double)g->bytes_recv;
            a[k].calls = fmax(a[k].calls, (double)g->calls);
            a[k].work_ops = fmax(a[k].work_ops, g->work_ops);
        }
        for (int k = 0; k < n; k++) {
            if (pw[4 * k] > a[k].wall) {
                a[k].wall = pw[4 * k];
                a[k].comm = pw[4 * k + 1];
                a[k].cpu = pw[4 * k + 2];
            }
            a[k].rounds = fmax(a[k].rounds, pw[4 * k + 3]);
        }
    }
    free(pw);
    *out = a;
    return n;
}

/* ---- JSON writing ---- */

static void write_party(mpct_json *j, const mpct_perf_t *p)
{
    mpct_perf_party_tot t = mpct_perf_party_totals(p);
    mpct_json_obj_open(j, NULL);
    mpct_json_int(j, "world_rank", p->rank);
    mpct_json_int(j, "replica", p->replica);
    mpct_json_int(j, "party", p->party);
    mpct_json_str(j, "host", p->host);
    mpct_json_int(j, "peak_rss_bytes", (long long)p->rss_peak);
    mpct_json_int(j, "alloc_peak_bytes", (long long)p->alloc_peak);
    mpct_json_int(j, "mem_total_bytes", (long long)p->mem_total);
    mpct_json_obj_open(j, "papi");
    mpct_json_int(j, "available", p->papi_avail);
    mpct_json_str(j, "reason", p->papi_reason);
    mpct_json_arr_open(j, "events");
    for (int i = 0; i < p->nevents; i++)
        mpct_json_str(j, NULL, p->events[i]);
    mpct_json_arr_close(j);
    mpct_json_obj_close(j);
    mpct_json_obj_open(j, "cupti");
    mpct_json_int(j, "available", p->cupti_avail);
    mpct_json_str(j, "reason", p->cupti_reason);
    mpct_json_obj_close(j);
    mpct_json_obj_open(j, "totals");
    mpct_json_num(j, "wall_s", t.wall);
    mpct_json_num(j, "cpu_s", t.cpu);
    mpct_json_num(j, "comm_s", t.comm);
    mpct_json_int(j, "bytes_sent", (long long)t.bytes_sent);
    mpct_json_int(j, "bytes_recv", (long long)t.bytes_recv);
    mpct_json_int(j, "rounds", (long long)t.rounds);
    mpct_json_obj_close(j);
    mpct_json_arr_open(j, "regions");
    for (int i = 0; i < p->nregions; i++) {
        const mpct_perf_region *g = &p->regions[i];
        char name[3 * MPCT_PERF_NAME];
        mpct_perf_region_name(g, name, sizeof name);
        mpct_json_obj_open(j, NULL);
        mpct_json_str(j, "name", name);
        mpct_json_str(j, "phase", g->phase);
        mpct_json_int(j, "layer", g->layer);
        mpct_json_str(j, "kind", g->kind);
        mpct_json_int(j, "calls", (long long)g->calls);
        mpct_json_num(j, "wall_s", g->wall_s);
        mpct_json_num(j, "cpu_s", g->cpu_s);
        mpct_json_num(j, "comm_s", g->comm_s);
        mpct_json_int(j, "bytes_sent", (long long)g->bytes_sent);
        mpct_json_int(j, "bytes_recv", (long long)g->bytes_recv);
        mpct_json_int(j, "rounds", (long long)g->rounds);
        mpct_json_num(j, "work_ops", g->work_ops);
        if (p->nevents) {
            mpct_json_obj_open(j, "counters");
            for (int e = 0; e < p->nevents; e++)
                mpct_json_int(j, p->events[e], (long long)g->counters[e]);
            mpct_json_obj_close(j);
        }
        if (p->cupti_avail || g->gpu_kernels || g->gpu_memcpy_bytes) {
            mpct_json_obj_open(j, "gpu");
            mpct_json_int(j, "kernels", (long long)g->gpu_kernels);
            mpct_json_num(j, "kernel_s", g->gpu_kernel_s);
            mpct_json_int(j, "memcpy_bytes", (long long)g->gpu_memcpy_bytes);
            mpct_json_num(j, "memcpy_s", g->gpu_memcpy_s);
            mpct_json_obj_close(j);
        }
        mpct_json_obj_close(j);
    }
    mpct_json_arr_close(j);
    mpct_json_obj_close(j);
}

mpct_status mpct_perf_report_write_json(mpct_perf_report_t *r, FILE *f)
{
    mpct_perf_report_compute_hints(r);
    mpct_json j;
    mpct_json_begin(&j, f, 1);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "schema", MPCT_PERF_SCHEMA);
    mpct_json_int(&j, "schema_version", MPCT_PERF_SCHEMA_VERSION);
    mpct_json_str(&j, "tool", r->tool);
    mpct_json_str(&j, "mpct_version", r->version);
    mpct_json_int(&j, "created_unix", (long long)r->created_unix);
    mpct_json_obj_open(&j, "settings");
    for (int i = 0; i < r->nsettings; i++) {
        if (r->settings[i].is_num)
            mpct_json_num(&j, r->settings[i].key, r->settings[i].num);
        else
            mpct_json_str(&j, r->settings[i].key, r->settings[i].str);
    }
    mpct_json_obj_close(&j);
    for (int i = 0; i < r->nsections; i++)
        mpct_json_raw(&j, r->section_key[i], r->section_json[i]);
    /* Job-level summaries (derived; readers may recompute). */
    const mpct_perf_t *p0 = r->nparties ? r->parties[0] : NULL;
    mpct_json_obj_open(&j, "papi");
    mpct_json_int(&j, "available", p0 ? p0->papi_avail : 0);
    mpct_json_str(&j, "reason", p0 ? p0->papi_reason : "no parties");
    mpct_json_obj_close(&j);
    uint64_t rss = 0, alloc = 0;
    for (int i = 0; i < r->nparties; i++) {
        rss = r->parties[i]->rss_peak > rss ? r->parties[i]->rss_peak : rss;
        alloc = r->parties[i]->alloc_peak > alloc ? r->parties[i]->alloc_peak : alloc;
    }
    mpct_json_obj_open(&j, "memory");
    mpct_json_int(&j, "peak_rss_bytes_max", (long long)rss);
    mpct_json_int(&j, "alloc_peak_bytes_max", (long long)alloc);
    mpct_json_obj_close(&j);
    mpct_json_arr_open(&j, "parties");
    for (int i = 0; i < r->nparties; i++)
        write_party(&j, r->parties[i]);
    mpct_json_arr_close(&j);
    mpct_json_arr_open(&j, "hints");
    for (int i = 0; i < r->nhints; i++) {
        const mpct_perf_hint *h = &r->hints[i];
        mpct_json_obj_open(&j, NULL);
        mpct_json_str(&j, "id", h->id);
        mpct_json_str(&j, "message", h->message);
        mpct_json_num(&j, "expected_gain_s", h->expected_gain_s); /* null when unknown */
        mpct_json_obj_open(&j, "figures");
        for (int k = 0; k < h->nfigures; k++)
            mpct_json_num(&j, h->figure_names[k], h->figures[k]);
        mpct_json_obj_close(&j);
        mpct_json_obj_close(&j);
    }
    mpct_json_arr_close(&j);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
    return ferror(f) ? mpct_error_set(MPCT_ERR_IO, "perf: write error on report") : MPCT_OK;
}

mpct_status mpct_perf_report_save(mpct_perf_report_t *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "perf: cannot write report '%s'", path);
    mpct_status st = mpct_perf_report_write_json(r, f);
    if (fclose(f) != 0 && st == MPCT_OK)
        st = mpct_error_set(MPCT_ERR_IO, "perf: cannot write report '%s'", path);
    return st;
}

/* ---- JSON loading ---- */

static double jnum(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static mpct_status load_party(const cJSON *jp, const char *path, int idx, mpct_perf_t **out)
{
    mpct_perf_t *p = calloc(1, sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
    p->papi_set = -1;
    p->rank = (int)jnum(jp, "world_rank", idx);
    p->replica = (int)jnum(jp, "replica", 0);
    p->party = (int)jnum(jp, "party", idx % 3);
    copy_str(p->host, sizeof p->host, jstr(jp, "host"));
    p->rss_peak = (uint64_t)jnum(jp, "peak_rss_bytes", 0);
    p->alloc_peak = (uint64_t)jnum(jp, "alloc_peak_bytes", 0);
    p->mem_total = (uint64_t)jnum(jp, "mem_total_bytes", 0);
    const cJSON *papi = cJSON_GetObjectItemCaseSensitive(jp, "papi");
    p->papi_avail = (int)jnum(papi, "available", 0);
    copy_str(p->papi_reason, sizeof p->papi_reason, jstr(papi, "reason"));
    const cJSON *ev, *evs = cJSON_GetObjectItemCaseSensitive(papi, "events");
    cJSON_ArrayForEach(ev, evs)
    {
        if (cJSON_IsString(ev) && p->nevents < MPCT_PERF_MAX_EVENTS)
            copy_str(p->events[p->nevents++], MPCT_PERF_EVENT_NAME, ev->valuestring);
    }
    const cJSON *cupti = cJSON_GetObjectItemCaseSensitive(jp, "cupti");
    p->cupti_avail = (int)jnum(cupti, "available", 0);
    copy_str(p->cupti_reason, sizeof p->cupti_reason, jstr(cupti, "reason"));
    const cJSON *jr, *regs = cJSON_GetObjectItemCaseSensitive(jp, "regions");
    if (regs && !cJSON_IsArray(regs)) {
        mpct_perf_free(p);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: parties[%d].regions: expected an array", path, idx);
    }
    cJSON_ArrayForEach(jr, regs)
    {
        if (!cJSON_IsObject(jr) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(jr, "kind"))) {
            mpct_perf_free(p);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: parties[%d].regions: each region needs a string 'kind'",
                                  path, idx);
        }
        mpct_perf_region *g =
            mpct_perf_region_find(p, jstr(jr, "phase"), (int)jnum(jr, "layer", -1), jstr(jr, "kind"), 1);
        if (!g) {
            mpct_perf_free(p);
            return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
        }
        g->calls += (uint64_t)jnum(jr, "calls", 0);
        g->wall_s += jnum(jr, "wall_s", 0);
        g->cpu_s += jnum(jr, "cpu_s", 0);
        g->comm_s += jnum(jr, "comm_s", 0);
        g->bytes_sent += (uint64_t)jnum(jr, "bytes_sent", 0);
        g->bytes_recv += (uint64_t)jnum(jr, "bytes_recv", 0);
        g->rounds += (uint64_t)jnum(jr, "rounds", 0);
        g->work_ops += jnum(jr, "work_ops", 0);
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(jr, "counters");
        for (int e = 0; e < p->nevents; e++)
            g->counters[e] += (int64_t)jnum(cs, p->events[e], 0);
        const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(jr, "gpu");
        g->gpu_kernels += (uint64_t)jnum(gpu, "kernels", 0);
        g->gpu_kernel_s += jnum(gpu, "kernel_s", 0);
        g->gpu_memcpy_bytes += (uint64_t)jnum(gpu, "memcpy_bytes", 0);
        g->gpu_memcpy_s += jnum(gpu, "memcpy_s", 0);
    }
    *out = p;
    return MPCT_OK;
}

mpct_status mpct_perf_json_read(const char *path, const char *what, cJSON **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot open %s '%s'", what, path);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? 2 * cap : 131072;
            char *n = realloc(text, cap + 1);
            if (!n) {
                free(text);
                fclose(f);
                return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory reading '%s'", path);
            }
            text = n;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    text[len] = 0;
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not valid JSON", path);
    return MPCT_OK;
}

mpct_status mpct_perf_report_load(mpct_perf_report_t **out, const char *path)
{
    cJSON *root = NULL;
    MPCT_CALL(mpct_perf_json_read(path, "report", &root));
    mpct_status st = MPCT_OK;
    mpct_perf_report_t *r = NULL;
    if (strcmp(jstr(root, "schema"), MPCT_PERF_SCHEMA)) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: field 'schema' is '%s', expected '%s'", path, jstr(root, "schema"),
                            MPCT_PERF_SCHEMA);
        goto done;
    }
    double ver = jnum(root, "schema_version", -1);
    if (ver < 1 || ver > MPCT_PERF_SCHEMA_VERSION) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: field 'schema_version' is %g, expected 1..%d", path, ver,
                            MPCT_PERF_SCHEMA_VERSION);
        goto done;
    }
    MPCT_CALL_GOTO(st, done, mpct_perf_report_init(&r, jstr(root, "tool")));
    copy_str(r->version, sizeof r->version, jstr(root, "mpct_version"));
    r->created_unix = jnum(root, "created_unix", 0);
    const cJSON *kv, *settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
    cJSON_ArrayForEach(kv, settings)
    {
        if (!kv->string)
            continue;
        if (cJSON_IsNumber(kv))
            MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(r, kv->string, kv->valuedouble));
        else if (cJSON_IsString(kv))
            MPCT_CALL_GOTO(st, done, mpct_perf_report_set_str(r, kv->string, kv->valuestring));
    }
    const cJSON *sec;
    cJSON_ArrayForEach(sec, root)
    {
        size_t k = 0;
        while (k < sizeof known_fields / sizeof known_fields[0] && strcmp(sec->string, known_fields[k]))
            k++;
        if (k < sizeof known_fields / sizeof known_fields[0] || !(cJSON_IsObject(sec) || cJSON_IsArray(sec)))
            continue;
        char *text = cJSON_PrintUnformatted(sec);
        st = text ? mpct_perf_report_set_section(r, sec->string, text)
                  : mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
        cJSON_free(text);
        if (st != MPCT_OK)
            goto done;
    }
    const cJSON *jp, *parties = cJSON_GetObjectItemCaseSensitive(root, "parties");
    if (!cJSON_IsArray(parties)) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: field 'parties' missing or not an array", path);
        goto done;
    }
    int idx = 0;
    cJSON_ArrayForEach(jp, parties)
    {
        mpct_perf_t *p = NULL;
        MPCT_CALL_GOTO(st, done, load_party(jp, path, idx++, &p));
        MPCT_CALL_GOTO(st, done, mpct_perf_report_add_party(r, p));
    }
    mpct_perf_report_compute_hints(r);
done:
    cJSON_Delete(root);
    if (st != MPCT_OK) {
        mpct_perf_report_free(r);
        return st;
    }
    *out = r;
    return MPCT_OK;
}

/* ---- calibration files ---- */

mpct_status mpct_perf_report_use_calibration(mpct_perf_report_t *r, const char *path)
{
    cJSON *root = NULL;
    MPCT_CALL(mpct_perf_json_read(path, "the calibration file", &root));
    /* the --json output of mpct bench ops/model --calibrate (bench model
     * --batch 1,8 prints an array, one object per size, each with the same
     * calibration: the first is read), or a report */
    const cJSON *o = cJSON_IsArray(root) ? root->child : root;
    double peak = jnum(cJSON_GetObjectItemCaseSensitive(o, "calibration"), "peak_gops", NAN);
    if (!isfinite(peak) && !strcmp(jstr(o, "schema"), MPCT_PERF_SCHEMA))
        peak = jnum(cJSON_GetObjectItemCaseSensitive(o, "settings"), "calibration_peak_gops", NAN);
    cJSON_Delete(root);
    if (!(isfinite(peak) && peak > 0))
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: no measured peak: expected the --json output of `mpct bench ops --calibrate` "
                              "(field calibration.peak_gops > 0) or its --report (setting calibration_peak_gops)",
                              path);
    MPCT_CALL(mpct_perf_report_set_num(r, "calibration_peak_gops", peak));
    MPCT_CALL(mpct_perf_report_set_str(r, "calibration_source", path));
    mpct_perf_report_compute_hints(r);
    return MPCT_OK;
}
