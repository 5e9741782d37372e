/*
 * perf.c — resource usage, medians, the streaming JSON writer, and the
 * per-process region table (timers, PAPI/CUPTI hooks, flat pack/unpack).
 *
 * Invariants: regions are unique by (phase, layer, kind); the order of
 * regions is first-seen order. The packed layout is a fixed header followed
 * by raw mpct_perf_region records: all ranks must run the same build (one
 * binary on a homogeneous cluster), which the magic + version + record size
 * check.
 */
#include "perf-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Peak RSS of the windows before the last reset of the kernel's mark. */
static uint64_t rss_peak_before_window;

/* "Key: N kB" from a /proc file, in bytes; 0 when absent. */
static uint64_t proc_kib(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    size_t kl = strlen(key);
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, " %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib * 1024u;
}

uint64_t mpct_perf_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return rss_peak_before_window;
    uint64_t now = (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
    return now > rss_peak_before_window ? now : rss_peak_before_window;
}

uint64_t mpct_perf_mem_total(void) { return proc_kib("/proc/meminfo", "MemTotal"); }
uint64_t mpct_perf_mem_available(void) { return proc_kib("/proc/meminfo", "MemAvailable"); }
uint64_t mpct_perf_rss_now(void) { return proc_kib("/proc/self/status", "VmRSS"); }

int mpct_perf_rss_window_start(void)
{
    uint64_t p = mpct_perf_peak_rss();
    if (p > rss_peak_before_window)
        rss_peak_before_window = p;
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0; /* 5: reset the peak RSS (Linux >= 4.0) */
    return fclose(f) == 0 && ok ? 0 : -1;
}

uint64_t mpct_perf_rss_window_peak(void)
{
    uint64_t hwm = proc_kib("/proc/self/status", "VmHWM");
    return hwm ? hwm : mpct_perf_peak_rss();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void mpct_perf_sort(double *v, size_t n) { qsort(v, n, sizeof *v, cmp_double); }

double mpct_perf_median(const double *v, size_t n)
{
    if (n == 0)
        return 0;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return v[0];
    memcpy(c, v, n * sizeof *c);
    mpct_perf_sort(c, n);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static void sep(mpct_json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    if (j->pretty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    if (key) {
        fputc('"', j->f);
        fputs(key, j->f);
        fputs(j->pretty ? "\": " : "\":", j->f);
    }
}

static void put_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void mpct_json_begin(mpct_json *j, FILE *f, int pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
    j->first[0] = 1;
}

static void open_(mpct_json *j, const char *key, char c)
{
    if (j->depth == 0 && j->first[0]) {
        j->first[0] = 0;
    } else {
        sep(j, key);
    }
    fputc(c, j->f);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(mpct_json *j, char c)
{
    int empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (j->pretty && !empty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void mpct_json_obj_open(mpct_json *j, const char *key) { open_(j, key, '{'); }
void mpct_json_obj_close(mpct_json *j) { close_(j, '}'); }
void mpct_json_arr_open(mpct_json *j, const char *key) { open_(j, key, '['); }
void mpct_json_arr_close(mpct_json *j) { close_(j, ']'); }

void mpct_json_str(mpct_json *j, const char *key, const char *v)
{
    sep(j, key);
    put_escaped(j->f, v ? v : "");
}

void mpct_json_num(mpct_json *j, const char *key, double v)
{
    sep(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

void mpct_json_raw(mpct_json *j, const char *key, const char *json)
{
    sep(j, key);
    fputs(json, j->f);
}

void mpct_json_int(mpct_json *j, const char *key, long long v)
{
    sep(j, key);
    fprintf(j->f, "%lld", v);
}

void mpct_json_end(mpct_json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}

/* ---- regions ---- */

static void copy_str(char *dst, size_t cap, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

mpct_perf_config mpct_perf_config_default(void)
{
    mpct_perf_config c = {0};
    c.papi = 1;
    c.cupti = 1;
    return c;
}

mpct_status mpct_perf_init(mpct_perf_t **out, const mpct_perf_config *cfg)
{
    mpct_perf_config def = mpct_perf_config_default();
    if (!cfg)
        cfg = &def;
    mpct_perf_t *p = calloc(1, sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
    p->rank = cfg->world_rank;
    p->replica = cfg->replica;
    p->party = cfg->party;
    p->papi_set = -1;
    if (gethostname(p->host, sizeof p->host - 1) != 0)
        copy_str(p->host, sizeof p->host, "unknown");
    p->mem_total = mpct_perf_mem_total();
    if (cfg->papi)
        mpct_perf_papi_setup(p, cfg->papi_events);
    else
        copy_str(p->papi_reason, sizeof p->papi_reason, "disabled by the caller");
    if (cfg->cupti)
        mpct_perf_cupti_setup(p);
    else
        copy_str(p->cupti_reason, sizeof p->cupti_reason, "disabled by the caller");
    *out = p;
    return MPCT_OK;
}

void mpct_perf_free(mpct_perf_t *p)
{
    if (!p)
        return;
    mpct_perf_papi_teardown(p);
    mpct_perf_cupti_teardown(p);
    free(p->regions);
    free(p);
}

mpct_perf_region *mpct_perf_region_find(mpct_perf_t *p, const char *phase, int layer, const char *kind,
                                        int create)
{
    phase = phase ? phase : "";
    kind = kind ? kind : "";
    if (layer < 0)
        layer = -1;
    for (int i = 0; i < p->nregions; i++) {
        mpct_perf_region *r = &p->regions[i];
        if (r->layer == layer && !strncmp(r->phase, phase, MPCT_PERF_NAME - 1) &&
            !strncmp(r->kind, kind, MPCT_PERF_NAME - 1))
            return r;
    }
    if (!create)
        return NULL;
    if (p->nregions == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        mpct_perf_region *n = realloc(p->regions, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        p->regions = n;
        p->cap = cap;
    }
    mpct_perf_region *r = &p->regions[p->nregions++];
    memset(r, 0, sizeof *r);
    copy_str(r->phase, sizeof r->phase, phase);
    copy_str(r->kind, sizeof r->kind, kind);
    r->layer = layer;
    return r;
}

mpct_status mpct_perf_region_add(mpct_perf_t *p, const char *phase, int layer, const char *kind, double wall_s,
                                 double cpu_s, const mpct_perf_net *net, uint64_t calls)
{
    mpct_perf_region *r = mpct_perf_region_find(p, phase, layer, kind, 1);
    if (!r)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory adding region '%s'", kind ? kind : "");
    r->calls += calls;
    r->wall_s += wall_s;
    r->cpu_s += cpu_s;
    if (net) {
        r->bytes_sent += net->bytes_sent;
        r->bytes_recv += net->bytes_recv;
        r->rounds += net->rounds;
        r->comm_s += net->comm_s;
    }
    return MPCT_OK;
}

mpct_status mpct_perf_region_add_counters(mpct_perf_t *p, const char *phase, int layer, const char *kind,
                                          const int64_t *d, int n)
{
    mpct_perf_region *r = mpct_perf_region_find(p, phase, layer, kind, 1);
    if (!r)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory adding region '%s'", kind ? kind : "");
    for (int i = 0; i < n && i < p->nevents; i++)
        r->counters[i] += d[i];
    return MPCT_OK;
}

void mpct_perf_counters_read(void *perf, int64_t *vals)
{
    mpct_perf_t *p = perf;
    memset(vals, 0, (size_t)p->nevents * sizeof *vals);
    if (p->papi_avail)
        mpct_perf_papi_read(p, vals);
}

void mpct_perf_region_add_work(mpct_perf_t *p, const char *phase, int layer, const char *kind, double ops)
{
    mpct_perf_region *r = mpct_perf_region_find(p, phase, layer, kind, 1);
    if (r)
        r->work_ops += ops;
}

void mpct_perf_timer_start(mpct_perf_t *p, mpct_perf_timer *t)
{
    memset(t, 0, sizeof *t);
    if (p->papi_avail)
        mpct_perf_papi_read(p, t->c0);
    t->cpu0 = mpct_time_cpu();
    t->wall0 = mpct_time_now();
}

mpct_status mpct_perf_timer_stop(mpct_perf_t *p, mpct_perf_timer *t, const char *phase, int layer,
                                 const char *kind, const mpct_perf_net *net)
{
    double wall = mpct_time_now() - t->wall0;
    double cpu = mpct_time_cpu() - t->cpu0;
    int64_t c1[MPCT_PERF_MAX_EVENTS] = {0};
    if (p->papi_avail)
        mpct_perf_papi_read(p, c1);
    MPCT_CALL(mpct_perf_region_add(p, phase, layer, kind, wall, cpu, net, 1));
    mpct_perf_region *r = mpct_perf_region_find(p, phase, layer, kind, 0);
    for (int i = 0; i < p->nevents; i++)
        r->counters[i] += c1[i] - t->c0[i];
    if (p->cupti_avail)
        mpct_perf_cupti_collect(p, r);
    return MPCT_OK;
}

int mpct_perf_region_count(const mpct_perf_t *p) { return p->nregions; }

const mpct_perf_region *mpct_perf_region_get(const mpct_perf_t *p, int idx)
{
    return idx >= 0 && idx < p->nregions ? &p->regions[idx] : NULL;
}

void mpct_perf_region_name(const mpct_perf_region *r, char *buf, size_t cap)
{
    char layer[24] = "";
    if (r->layer >= 0)
        snprintf(layer, sizeof layer, "L%d", r->layer);
    const char *parts[3] = {r->phase, layer, r->kind};
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i][0])
            continue;
        int w = snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "/" : "", parts[i]);
        if (w > 0)
            n += (size_t)w;
        if (n >= cap)
            break;
    }
}

int mpct_perf_rank(const mpct_perf_t *p) { return p->rank; }
int mpct_perf_replica(const mpct_perf_t *p) { return p->replica; }
int mpct_perf_party(const mpct_perf_t *p) { return p->party; }
const char *mpct_perf_host(const mpct_perf_t *p) { return p->host; }

void mpct_perf_sample_memory(mpct_perf_t *p)
{
    p->rss_peak = mpct_perf_peak_rss();
    p->alloc_peak = mpct_alloc_peak();
    if (!p->mem_total)
        p->mem_total = mpct_perf_mem_total();
}

uint64_t mpct_perf_rss_peak_bytes(const mpct_perf_t *p) { return p->rss_peak; }
uint64_t mpct_perf_alloc_peak_bytes(const mpct_perf_t *p) { return p->alloc_peak; }

void mpct_perf_set_memory(mpct_perf_t *p, uint64_t rss_peak, uint64_t alloc_peak, uint64_t mem_total)
{
    p->rss_peak = rss_peak;
    p->alloc_peak = alloc_peak;
    p->mem_total = mem_total;
}

int mpct_perf_papi_available(const mpct_perf_t *p) { return p->papi_avail; }
const char *mpct_perf_papi_reason(const mpct_perf_t *p) { return p->papi_reason; }
int mpct_perf_papi_nevents(const mpct_perf_t *p) { return p->nevents; }
const char *mpct_perf_papi_event(const mpct_perf_t *p, int i)
{
    return i >= 0 && i < p->nevents ? p->events[i] : NULL;
}
int mpct_perf_cupti_available(const mpct_perf_t *p) { return p->cupti_avail; }
const char *mpct_perf_cupti_reason(const mpct_perf_t *p) { return p->cupti_reason; }

/* ---- flat buffer ---- */

#define PACK_MAGIC 0x3146525054435050ull /* "PPCTPRF1" */
#define PACK_VERSION 1u

typedef struct pack_hdr {
    uint64_t magic;
    uint32_t version, region_size;
    int32_t rank, replica, party, nregions;
    char host[MPCT_PERF_HOST];
    uint64_t rss_peak, alloc_peak, mem_total;
    int32_t papi_avail, nevents, cupti_avail, pad;
    char papi_reason[MPCT_PERF_REASON];
    char events[MPCT_PERF_MAX_EVENTS][MPCT_PERF_EVENT_NAME];
    char cupti_reason[MPCT_PERF_REASON];
} pack_hdr;

mpct_status mpct_perf_pack(const mpct_perf_t *p, void **buf, size_t *len)
{
    size_t n = sizeof(pack_hdr) + (size_t)p->nregions * sizeof(mpct_perf_region);
    unsigned char *b = calloc(1, n);
    if (!b)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory packing %d regions", p->nregions);
    pack_hdr h;
    memset(&h, 0, sizeof h);
    h.magic = PACK_MAGIC;
    h.version = PACK_VERSION;
    h.region_size = (uint32_t)sizeof(mpct_perf_region);
    h.rank = p->rank;
    h.replica = p->replica;
    h.party = p->party;
    h.nregions = p->nregions;
    memcpy(h.host, p->host, sizeof h.host);
    h.rss_peak = p->rss_peak;
    h.alloc_peak = p->alloc_peak;
    h.mem_total = p->mem_total;
    h.papi_avail = p->papi_avail;
    h.nevents = p->nevents;
    h.cupti_avail = p->cupti_avail;
    memcpy(h.papi_reason, p->papi_reason, sizeof h.papi_reason);
    memcpy(h.events, p->events, sizeof h.events);
    memcpy(h.cupti_reason, p->cupti_reason, sizeof h.cupti_reason);
    memcpy(b, &h, sizeof h);
    if (p->nregions)
        memcpy(b + sizeof h, p->regions, (size_t)p->nregions * sizeof(mpct_perf_region));
    *buf = b;
    *len = n;
    return MPCT_OK;
}

mpct_status mpct_perf_unpack(const void *buf, size_t len, mpct_perf_t **out)
{
    pack_hdr h;
    if (len < sizeof h)
        return mpct_error_set(MPCT_ERR_FORMAT, "perf: packed profile of %zu bytes is shorter than its header", len);
    memcpy(&h, buf, sizeof h);
    if (h.magic != PACK_MAGIC || h.version != PACK_VERSION || h.region_size != sizeof(mpct_perf_region))
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "perf: packed profile has magic/version/record size %llx/%u/%u, expected %llx/%u/%zu "
                              "(all ranks must run the same mpct build)",
                              (unsigned long long)h.magic, h.version, h.region_size,
                              (unsigned long long)PACK_MAGIC, PACK_VERSION, sizeof(mpct_perf_region));
    if (h.nregions < 0 || h.nevents < 0 || h.nevents > MPCT_PERF_MAX_EVENTS ||
        len != sizeof h + (size_t)h.nregions * sizeof(mpct_perf_region))
        return mpct_error_set(MPCT_ERR_FORMAT, "perf: packed profile length %zu does not match %d regions", len,
                              h.nregions);
    mpct_perf_t *p = calloc(1, sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
    p->papi_set = -1;
    p->rank = h.rank;
    p->replica = h.replica;
    p->party = h.party;
    memcpy(p->host, h.host, sizeof p->host);
    p->host[sizeof p->host - 1] = 0;
    p->rss_peak = h.rss_peak;
    p->alloc_peak = h.alloc_peak;
    p->mem_total = h.mem_total;
    /* Counters were read by the sender; this copy holds data only. */
    p->papi_avail = h.papi_avail;
    p->nevents = h.nevents;
    p->cupti_avail = h.cupti_avail;
    memcpy(p->papi_reason, h.papi_reason, sizeof p->papi_reason);
    p->papi_reason[sizeof p->papi_reason - 1] = 0;
    memcpy(p->events, h.events, sizeof p->events);
    for (int i = 0; i < MPCT_PERF_MAX_EVENTS; i++)
        p->events[i][MPCT_PERF_EVENT_NAME - 1] = 0;
    memcpy(p->cupti_reason, h.cupti_reason, sizeof p->cupti_reason);
    p->cupti_reason[sizeof p->cupti_reason - 1] = 0;
    if (h.nregions) {
        p->regions = malloc((size_t)h.nregions * sizeof *p->regions);
        if (!p->regions) {
            free(p);
            return mpct_error_set(MPCT_ERR_NOMEM, "perf: out of memory");
        }
        memcpy(p->regions, (const unsigned char *)buf + sizeof h, (size_t)h.nregions * sizeof *p->regions);
        for (int i = 0; i < h.nregions; i++) {
            p->regions[i].phase[MPCT_PERF_NAME - 1] = 0;
            p->regions[i].kind[MPCT_PERF_NAME - 1] = 0;
        }
    }
    p->nregions = p->cap = h.nregions;
    *out = p;
    return MPCT_OK;
}
