/*
 * test_perf.c — profiling layer: regions, pack/unpack, PAPI detection,
 * report JSON round trip, Prometheus format (own checker), SVG, and tuning
 * hints on synthetic profiles (each scenario checks that the right hint
 * fires with the predicted figures and the wrong ones do not), thresholds
 * overridden by settings (mpct report --set), calibration files for the
 * measured peak.
 *
 * With an argument DIR it also writes synthetic reports for the CLI test:
 * DIR/a.json (latency-bound, per-layer regions), DIR/b.json (same job,
 * fewer rounds) and DIR/c.json (a compute-bound matmul at 11 Gop/s, no peak).
 */
#include "mpct_perf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpct_check.h"

static mpct_perf_t *party(int rank, int replica, const char *host)
{
    mpct_perf_config c = mpct_perf_config_default();
    c.world_rank = rank;
    c.replica = replica;
    c.party = rank % 3;
    c.papi = 0;
    c.cupti = 0;
    mpct_perf_t *p = NULL;
    if (mpct_perf_init(&p, &c) != MPCT_OK)
        abort();
    mpct_perf_set_memory(p, 1000000, 500000, 0);
    (void)host;
    return p;
}

static void add(mpct_perf_t *p, const char *kind, int layer, double wall, double comm, double bytes, double rounds)
{
    mpct_perf_net n = {(uint64_t)bytes, (uint64_t)bytes, (uint64_t)rounds, comm};
    MUST(mpct_perf_region_add(p, "run", layer, kind, wall, wall - comm, &n, 1));
}

/* Report of nrep replicas; fill(p, rank) adds regions per party. */
static mpct_perf_report_t *make(int nrep, void (*fill)(mpct_perf_t *, int))
{
    mpct_perf_report_t *r = NULL;
    MUST(mpct_perf_report_init(&r, "synthetic"));
    for (int i = 0; i < 3 * nrep; i++) {
        mpct_perf_t *p = party(i, i / 3, "h");
        fill(p, i);
        MUST(mpct_perf_report_add_party(r, p));
    }
    mpct_perf_report_compute_hints(r);
    return r;
}

static const char *const all_ids[] = {"comm_bound",      "compute_bound",   "latency_bound",
                                      "below_peak",      "memory_pressure", "straggler_party",
                                      "straggler_replica", "nonlinear_bytes", NULL};

/* Exactly the hints in `want` (NULL-terminated) fire. */
static void expect_hints(const mpct_perf_report_t *r, const char *const *want, const char *scenario)
{
    for (int i = 0; all_ids[i]; i++) {
        int wanted = 0;
        for (int k = 0; want[k]; k++)
            wanted |= !strcmp(want[k], all_ids[i]);
        int fired = mpct_perf_report_find_hint(r, all_ids[i]) != NULL;
        CHECK(wanted == fired, "scenario %s: hint %s %s", scenario, all_ids[i],
              fired ? "fired but should not" : "did not fire");
    }
}

static double figure(const mpct_perf_hint *h, const char *name)
{
    for (int i = 0; h && i < h->nfigures; i++)
        if (!strcmp(h->figure_names[i], name))
            return h->figures[i];
    return NAN;
}

static void fill_compute(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "matmul", -1, 10, 1, 1e9, 10);
}
static void fill_latency(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "mul", -1, 1.0, 0.8, 4000 * 1000, 4000);
}
static void fill_comm(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "matmul", -1, 2, 1.5, 1e9, 10);
}
static void fill_mix(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "matmul", -1, 4, 1.5, 4e8 / 3, 10);
    add(p, "softmax", -1, 4, 1.5, 6e8 / 3, 10);
}
static void fill_mix_ok(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "matmul", -1, 4, 1.5, 8e8 / 3, 10);
    add(p, "softmax", -1, 4, 1.5, 2e8 / 3, 10);
}
static void fill_straggler(mpct_perf_t *p, int rank)
{
    /* party 2 computes 3 s, the others 1 s and wait for it */
    double comm = rank == 2 ? 1 : 3;
    add(p, "matmul", -1, 4, comm, 4e8, 10);
}
static void fill_replica(mpct_perf_t *p, int rank)
{
    double wall = rank < 3 ? 5 : 10; /* replica 1 is slow everywhere */
    add(p, "matmul", -1, wall, 0.45 * wall, 4e8, 10);
}
static double g_work;
static void fill_peak(mpct_perf_t *p, int rank)
{
    (void)rank;
    add(p, "matmul", -1, 10, 1, 1e9, 10);
    mpct_perf_region_add_work(p, "run", -1, "matmul", g_work);
}

static void test_hints(void)
{
    mpct_perf_report_t *r = make(1, fill_compute);
    expect_hints(r, (const char *const[]){"compute_bound", NULL}, "compute");
    CHECK_NEAR(figure(mpct_perf_report_find_hint(r, "compute_bound"), "compute_share"), 0.9, 1e-9);
    mpct_perf_report_free(r);

    r = make(1, fill_latency);
    expect_hints(r, (const char *const[]){"latency_bound", NULL}, "latency");
    const mpct_perf_hint *h = mpct_perf_report_find_hint(r, "latency_bound");
    /* latency estimate 0.8 s / 4000 = 200 us; rounds*lat = 0.8 s vs 0.2 s rest:
     * batch ceil(0.8 / (0.1 * 0.2)) = 40; gain 0.8 * (1 - 1/40) = 0.78 s */
    CHECK_NEAR(figure(h, "latency_us"), 200, 1e-6);
    CHECK_NEAR(figure(h, "suggested_batch"), 40, 0);
    CHECK(h && fabs(h->expected_gain_s - 0.78) < 1e-9);
    /* an explicit latency setting and a batch size change the suggestion */
    MUST(mpct_perf_report_set_num(r, "latency_us", 100));
    MUST(mpct_perf_report_set_num(r, "batch_size", 2));
    mpct_perf_report_compute_hints(r);
    h = mpct_perf_report_find_hint(r, "latency_bound");
    /* 4000 x 100 us = 0.4 s vs 0.6 s: ceil(0.4 / 0.06) = 7 -> batch 14 */
    CHECK_NEAR(figure(h, "suggested_batch"), 14, 0);
    mpct_perf_report_free(r);

    r = make(1, fill_comm);
    expect_hints(r, (const char *const[]){"comm_bound", NULL}, "comm");
    h = mpct_perf_report_find_hint(r, "comm_bound");
    CHECK(h && fabs(h->expected_gain_s - 0.5) < 1e-9); /* min(comm 1.5, compute 0.5) */
    mpct_perf_report_free(r);

    r = make(1, fill_mix);
    expect_hints(r, (const char *const[]){"nonlinear_bytes", NULL}, "nonlinear");
    h = mpct_perf_report_find_hint(r, "nonlinear_bytes");
    CHECK_NEAR(figure(h, "bytes_share"), 0.6, 1e-6);
    CHECK(h && strstr(h->message, "softmax"));
    mpct_perf_report_free(r);
    r = make(1, fill_mix_ok);
    expect_hints(r, (const char *const[]){NULL}, "linear-dominated");
    mpct_perf_report_free(r);

    r = make(1, fill_straggler);
    expect_hints(r, (const char *const[]){"straggler_party", "comm_bound", NULL}, "straggler");
    h = mpct_perf_report_find_hint(r, "straggler_party");
    CHECK_NEAR(figure(h, "rank"), 2, 0);
    CHECK(h && fabs(h->expected_gain_s - 2.0) < 1e-9);
    mpct_perf_report_free(r);

    r = make(2, fill_replica);
    expect_hints(r, (const char *const[]){"straggler_replica", NULL}, "replica");
    h = mpct_perf_report_find_hint(r, "straggler_replica");
    CHECK_NEAR(figure(h, "replica"), 1, 0);
    CHECK(h && fabs(h->expected_gain_s - 2.5) < 1e-9);
    mpct_perf_report_free(r);

    /* below peak: 1e11 ops in 9 s of compute = 11 Gop/s vs peak 100 */
    g_work = 1e11;
    r = make(1, fill_peak);
    expect_hints(r, (const char *const[]){"compute_bound", NULL}, "peak unknown");
    MUST(mpct_perf_report_set_num(r, "peak_gops", 100));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"compute_bound", "below_peak", NULL}, "below peak");
    h = mpct_perf_report_find_hint(r, "below_peak");
    CHECK_NEAR(figure(h, "achieved_gops"), 1e11 / 9 / 1e9, 1e-9);
    CHECK(h && fabs(h->expected_gain_s - (9 - 2)) < 1e-9); /* 1e11 / 50e9 = 2 s */
    mpct_perf_report_free(r);
    g_work = 8e11; /* 89 Gop/s: near peak */
    r = make(1, fill_peak);
    MUST(mpct_perf_report_set_num(r, "peak_gops", 100));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"compute_bound", NULL}, "near peak");
    mpct_perf_report_free(r);

    /* the measured peak (mpct bench --calibrate) fires it too and is cited as
     * such; an explicit peak_gops wins over it */
    g_work = 1e11;
    r = make(1, fill_peak);
    MUST(mpct_perf_report_set_num(r, "calibration_peak_gops", 100));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"compute_bound", "below_peak", NULL}, "below measured peak");
    h = mpct_perf_report_find_hint(r, "below_peak");
    CHECK_NEAR(figure(h, "peak_gops"), 100, 0);
    CHECK(h && strstr(h->message, "measured ring-GEMM peak"));
    MUST(mpct_perf_report_set_num(r, "peak_gops", 40)); /* 11 Gop/s is 28% of 40: not far below */
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"compute_bound", NULL}, "peak_gops overrides the calibration");
    mpct_perf_report_free(r);

    /* memory pressure: 3 ranks x 3 GB on a 10 GB host fires, 3 x 2 GB not */
    for (int big = 0; big < 2; big++) {
        r = make(1, fill_compute);
        for (int i = 0; i < 3; i++)
            mpct_perf_set_memory((mpct_perf_t *)mpct_perf_report_party(r, i), big ? 3000000000u : 2000000000u, 1,
                                 10000000000u);
        mpct_perf_report_compute_hints(r);
        if (big) {
            expect_hints(r, (const char *const[]){"compute_bound", "memory_pressure", NULL}, "memory");
            CHECK_NEAR(figure(mpct_perf_report_find_hint(r, "memory_pressure"), "rss_sum_bytes"), 9e9, 1);
        } else {
            expect_hints(r, (const char *const[]){"compute_bound", NULL}, "memory ok");
        }
        mpct_perf_report_free(r);
    }
}

/* Thresholds and figures overridden by settings (mpct report --set). */
static void test_overrides(void)
{
    mpct_perf_report_t *r = make(1, fill_comm); /* comm 1.5 s of 2 s: 75% */
    expect_hints(r, (const char *const[]){"comm_bound", NULL}, "comm default");
    MUST(mpct_perf_report_override(r, "comm_share_min=0.8"));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){NULL}, "comm_share_min 0.8");
    CHECK(mpct_perf_report_get_num(r, "comm_share_min") == 0.8);
    MUST(mpct_perf_report_override(r, "comm_share_min=0.75"));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"comm_bound", NULL}, "comm_share_min 0.75 (inclusive)");
    /* bandwidth is quoted in the message */
    MUST(mpct_perf_report_override(r, "bandwidth_bytes_per_s=2.5e8"));
    mpct_perf_report_compute_hints(r);
    const mpct_perf_hint *h = mpct_perf_report_find_hint(r, "comm_bound");
    CHECK(h && strstr(h->message, "at 0.25 GB/s the bytes alone need 4 s"));
    mpct_perf_report_free(r);

    /* the straggler ratio: party 2 computes 3 s vs median 1 s */
    r = make(1, fill_straggler);
    MUST(mpct_perf_report_override(r, "straggler_ratio=3.5"));
    mpct_perf_report_compute_hints(r);
    expect_hints(r, (const char *const[]){"comm_bound", NULL}, "straggler_ratio 3.5");
    mpct_perf_report_free(r);

    /* memory: 3 x 2 GB against a 5 GB limit given as a setting */
    r = make(1, fill_compute);
    MUST(mpct_perf_report_override(r, "mem_total_bytes=5e9"));
    mpct_perf_report_compute_hints(r);
    CHECK(mpct_perf_report_find_hint(r, "memory_pressure") == NULL); /* 3 MB RSS of party() */
    for (int i = 0; i < 3; i++)
        mpct_perf_set_memory((mpct_perf_t *)mpct_perf_report_party(r, i), 2000000000u, 1, 64000000000u);
    mpct_perf_report_compute_hints(r);
    CHECK_NEAR(figure(mpct_perf_report_find_hint(r, "memory_pressure"), "mem_total_bytes"), 5e9, 0);

    /* bad keys and values: MPCT_ERR_ARG, nothing set, the message helps */
    static const char *const bad[][2] = {
        {"nosuch=1", "valid keys: latency_us, "},    {"peak_gops", "expected KEY=VALUE"},
        {"=3", "unknown setting ''"},                {"peak_gops=", "expected a number"},
        {"peak_gops=0", "(0, 1e+09]"},               {"peak_gops=-5", "(0, 1e+09]"},
        {"peak_gops=12abc", "expected a number"},    {"comm_share_min=1.01", "(0, 1]"},
        {"batch_size=2.5", "expected an integer"},   {"straggler_ratio=0.9", "[1, "},
        {"latency_us=nan", "expected a number"},     {"latency_us=inf", "expected a number"},
        {"latency_us= 5", "expected a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpct_status st = mpct_perf_report_override(r, bad[i][0]);
        CHECK(st == MPCT_ERR_ARG);
        CHECK(strstr(mpct_error_msg(), bad[i][1]), "override '%s': message '%s' lacks '%s'", bad[i][0],
              mpct_error_msg(), bad[i][1]);
    }
    CHECK(isnan(mpct_perf_report_get_num(r, "peak_gops")) && isnan(mpct_perf_report_get_num(r, "batch_size")));
    /* every knob is listed, has a finite range and its default (if any) in it */
    CHECK(mpct_perf_knob_count() >= 10 && mpct_perf_knob_get(mpct_perf_knob_count()) == NULL);
    for (int i = 0; i < mpct_perf_knob_count(); i++) {
        const mpct_perf_knob *k = mpct_perf_knob_get(i);
        CHECK(k && mpct_perf_knob_find(k->key) == k && k->lo < k->hi);
        CHECK(k && (isnan(k->def) || ((k->lo_open ? k->def > k->lo : k->def >= k->lo) && k->def <= k->hi)));
    }
    mpct_perf_report_free(r);
}

/* Calibration files for the peak: bench --json output and reports. */
static void test_calibration_files(const char *dir)
{
    char path[512];
    g_work = 1e11; /* 11 Gop/s achieved */
    mpct_perf_report_t *r = make(1, fill_peak);
    static const struct {
        const char *name, *text;
        mpct_status want;
        double peak;
    } cases[] = {
        {"cal_bench.json", "{\"benchmark\": \"ops\", \"calibration\": {\"peak_gops\": 100}, \"ops\": []}", MPCT_OK, 100},
        {"cal_report.json",
         "{\"schema\": \"mpct-report\", \"schema_version\": 1, \"settings\": {\"calibration_peak_gops\": 30}, "
         "\"parties\": []}",
         MPCT_OK, 30},
        {"cal_none.json", "{\"benchmark\": \"ops\", \"ops\": []}", MPCT_ERR_FORMAT, 0},
        {"cal_zero.json", "{\"calibration\": {\"peak_gops\": 0}}", MPCT_ERR_FORMAT, 0},
        {"cal_text.json", "not json", MPCT_ERR_FORMAT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
            continue;
        fputs(cases[i].text, f);
        fclose(f);
        mpct_status st = mpct_perf_report_use_calibration(r, path);
        CHECK(st == cases[i].want);
        if (st != MPCT_OK) {
            CHECK(strstr(mpct_error_msg(), cases[i].name) != NULL);
            continue;
        }
        CHECK(mpct_perf_report_get_num(r, "calibration_peak_gops") == cases[i].peak);
        CHECK(!strcmp(mpct_perf_report_get_str(r, "calibration_source"), path));
        /* 11 Gop/s: far below 100 (11%), not far below 30 (37%) */
        const mpct_perf_hint *h = mpct_perf_report_find_hint(r, "below_peak");
        CHECK((h != NULL) == (cases[i].peak == 100));
        CHECK(!h || (strstr(h->message, path) && figure(h, "peak_gops") == 100));
    }
    snprintf(path, sizeof path, "%s/cal_missing.json", dir);
    CHECK(mpct_perf_report_use_calibration(r, path) == MPCT_ERR_IO);
    CHECK(mpct_perf_report_get_num(r, "calibration_peak_gops") == 30); /* failures change nothing */
    mpct_perf_report_free(r);
}

static void test_regions_and_pack(void)
{
    mpct_perf_t *p = party(4, 1, "h");
    add(p, "softmax", 3, 1.0, 0.25, 100, 2);
    add(p, "softmax", 3, 2.0, 0.5, 50, 1);
    add(p, "matmul", -1, 1.0, 0, 0, 0);
    CHECK(mpct_perf_region_count(p) == 2);
    const mpct_perf_region *g = mpct_perf_region_get(p, 0);
    CHECK(g->calls == 2 && g->bytes_sent == 150 && g->rounds == 3);
    CHECK_NEAR(g->wall_s, 3.0, 1e-12);
    CHECK_NEAR(g->comm_s, 0.75, 1e-12);
    char name[128];
    mpct_perf_region_name(g, name, sizeof name);
    CHECK(!strcmp(name, "run/L3/softmax"));
    mpct_perf_timer t;
    mpct_perf_timer_start(p, &t);
    mpct_perf_net n = {7, 8, 1, 0};
    MUST(mpct_perf_timer_stop(p, &t, "run", -1, "matmul", &n));
    CHECK(mpct_perf_region_get(p, 1)->calls == 2 && mpct_perf_region_get(p, 1)->bytes_recv == 8);

    void *buf = NULL;
    size_t len = 0;
    MUST(mpct_perf_pack(p, &buf, &len));
    mpct_perf_t *q = NULL;
    MUST(mpct_perf_unpack(buf, len, &q));
    CHECK(q && mpct_perf_rank(q) == 4 && mpct_perf_replica(q) == 1 && mpct_perf_party(q) == 1);
    CHECK(q && mpct_perf_region_count(q) == 2 && mpct_perf_region_get(q, 0)->bytes_sent == 150);
    CHECK(q && mpct_perf_rss_peak_bytes(q) == 1000000);
    mpct_perf_free(q);
    q = NULL;
    CHECK(mpct_perf_unpack(buf, len - 1, &q) == MPCT_ERR_FORMAT && q == NULL);
    ((unsigned char *)buf)[0] ^= 1;
    CHECK(mpct_perf_unpack(buf, len, &q) == MPCT_ERR_FORMAT);
    free(buf);
    mpct_perf_free(p);
}

static void test_papi_detection(void)
{
    mpct_perf_config c = mpct_perf_config_default();
    mpct_perf_t *p = NULL;
    MUST(mpct_perf_init(&p, &c));
    if (!p)
        return;
    printf("papi: available=%d events=%d reason=\"%s\"\n", mpct_perf_papi_available(p), mpct_perf_papi_nevents(p),
           mpct_perf_papi_reason(p));
    if (mpct_perf_papi_available(p)) {
        CHECK(mpct_perf_papi_nevents(p) > 0);
        /* counters must advance over a busy loop */
        mpct_perf_timer t;
        mpct_perf_timer_start(p, &t);
        volatile double x = 0;
        for (int i = 0; i < 1000000; i++)
            x += i;
        MUST(mpct_perf_timer_stop(p, &t, "t", -1, "loop", NULL));
        CHECK(mpct_perf_region_get(p, 0)->counters[0] > 0);
    } else {
        CHECK(mpct_perf_papi_nevents(p) == 0);
        CHECK(strlen(mpct_perf_papi_reason(p)) > 0);
    }
#ifdef EXPECT_NO_PAPI
    CHECK(!mpct_perf_papi_available(p) && strstr(mpct_perf_papi_reason(p), "without PAPI"));
#endif
    CHECK(!mpct_perf_cupti_available(p) || strlen(mpct_perf_cupti_reason(p)) == 0);
    CHECK(mpct_perf_cupti_available(p) || strlen(mpct_perf_cupti_reason(p)) > 0);
    /* an unknown event name alone: unavailable with the name in the reason */
    mpct_perf_t *q = NULL;
    c.papi_events = "NO_SUCH_EVENT";
    MUST(mpct_perf_init(&q, &c));
    CHECK(q && !mpct_perf_papi_available(q) && strlen(mpct_perf_papi_reason(q)) > 0);
    mpct_perf_free(q);
    mpct_perf_free(p);
}

/* Prometheus text format checker (exposition format 0.0.4). */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

static int check_prometheus(const char *text)
{
    char fam[128] = "", type[16] = "", seen[64][128];
    int nseen = 0, samples = 0, errors = 0;
    const char *line = text;
    if (!*text || text[strlen(text) - 1] != '\n')
        return -1;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = (size_t)(end - line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)n, line);
        line = end + 1;
        if (!strncmp(buf, "# HELP ", 7))
            continue;
        if (!strncmp(buf, "# TYPE ", 7)) {
            if (sscanf(buf + 7, "%127s %15s", fam, type) != 2)
                errors++;
            for (int i = 0; i < nseen; i++)
                errors += !strcmp(seen[i], fam); /* each family once */
            if (nseen < 64)
                snprintf(seen[nseen++], sizeof seen[0], "%s", fam);
            if (!strcmp(type, "counter") && (strlen(fam) < 6 || strcmp(fam + strlen(fam) - 6, "_total")))
                errors++;
            if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "summary"))
                errors++;
            continue;
        }
        if (buf[0] == '#' || !buf[0]) {
            errors++;
            continue;
        }
        size_t k = strcspn(buf, "{ ");
        const size_t fl = strlen(fam); /* a summary's samples are FAMILY_sum and FAMILY_count */
        const int part = !strcmp(type, "summary") && k > fl && !strncmp(buf, fam, fl) &&
                         ((k == fl + 4 && !strncmp(buf + fl, "_sum", 4)) || (k == fl + 6 && !strncmp(buf + fl, "_count", 6)));
        if (!valid_name(buf, k) || (!part && (strncmp(buf, fam, k) || fam[k]))) {
            fprintf(stderr, "prometheus: sample '%s' outside its family '%s'\n", buf, fam);
            errors++;
            continue;
        }
        const char *v = buf + k;
        if (*v == '{') {
            v++;
            while (*v != '}') {
                size_t ln = strcspn(v, "=");
                if (!valid_name(v, ln) || v[ln] != '=' || v[ln + 1] != '"') {
                    errors++;
                    break;
                }
                v += ln + 2;
                while (*v && *v != '"')
                    v += *v == '\\' ? 2 : 1;
                if (*v != '"') {
                    errors++;
                    break;
                }
                v++;
                if (*v == ',')
                    v++;
                else if (*v != '}') {
                    errors++;
                    break;
                }
            }
            if (*v == '}')
                v++;
        }
        char *e = NULL;
        if (*v != ' ' || (strtod(v + 1, &e), *e != 0)) {
            fprintf(stderr, "prometheus: bad value in '%s'\n", buf);
            errors++;
        }
        samples++;
    }
    return errors ? -1 : samples;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static void fill_layers(mpct_perf_t *p, int rank)
{
    for (int l = 0; l < 2; l++) {
        add(p, "matmul", l, 0.2, 0.15, 3e6, 40);
        add(p, "softmax", l, 0.5, 0.45, 2e6, 400);
        add(p, "layernorm", l, 0.2, 0.18, 5e5, 200);
    }
    add(p, "embed", -1, 0.05 + 0.01 * rank, 0.0, 0, 0);
}
static void fill_layers_b(mpct_perf_t *p, int rank)
{
    for (int l = 0; l < 2; l++) {
        add(p, "matmul", l, 0.2, 0.15, 3e6, 40);
        add(p, "softmax", l, 0.3, 0.25, 2.5e6, 200);
        add(p, "layernorm", l, 0.2, 0.18, 5e5, 200);
    }
    add(p, "embed", -1, 0.05 + 0.01 * rank, 0.0, 0, 0);
}

static void test_report_io(const char *dir)
{
    char pa[512], pb[512], pp[512], ps[512];
    snprintf(pa, sizeof pa, "%s/a.json", dir);
    snprintf(pb, sizeof pb, "%s/b.json", dir);
    snprintf(pp, sizeof pp, "%s/a.prom", dir);
    snprintf(ps, sizeof ps, "%s/a.svg", dir);
    mpct_perf_report_t *r = make(1, fill_layers);
    MUST(mpct_perf_report_set_num(r, "inferences", 8));
    MUST(mpct_perf_report_set_num(r, "cache_hits", 5));
    MUST(mpct_perf_report_set_str(r, "model", "tiny \"bert\""));
    MUST(mpct_perf_report_save(r, pa));
    mpct_perf_report_t *b = make(1, fill_layers_b);
    MUST(mpct_perf_report_save(b, pb));
    mpct_perf_report_free(b);
    g_work = 1e11;
    b = make(1, fill_peak);
    char pc[512];
    snprintf(pc, sizeof pc, "%s/c.json", dir);
    MUST(mpct_perf_report_save(b, pc));
    mpct_perf_report_free(b);

    mpct_perf_report_t *l = NULL;
    MUST(mpct_perf_report_load(&l, pa));
    CHECK(l && mpct_perf_report_nparties(l) == 3);
    if (l) {
        CHECK(mpct_perf_report_get_num(l, "inferences") == 8);
        CHECK(isnan(mpct_perf_report_get_num(l, "absent")));
        CHECK(!strcmp(mpct_perf_report_get_str(l, "model"), "tiny \"bert\""));
        const mpct_perf_t *p1 = mpct_perf_report_party(l, 1), *o1 = mpct_perf_report_party(r, 1);
        CHECK(mpct_perf_region_count(p1) == mpct_perf_region_count(o1));
        for (int i = 0; i < mpct_perf_region_count(p1); i++) {
            const mpct_perf_region *x = mpct_perf_region_get(p1, i), *y = mpct_perf_region_get(o1, i);
            CHECK(x->bytes_sent == y->bytes_sent && x->rounds == y->rounds && x->layer == y->layer);
            CHECK_NEAR(x->wall_s, y->wall_s, 1e-8 * y->wall_s);
        }
        CHECK(mpct_perf_report_nhints(l) == mpct_perf_report_nhints(r));
        CHECK(mpct_perf_report_find_hint(l, "latency_bound") != NULL);
    }
    /* Prometheus */
    FILE *f = fopen(pp, "w");
    CHECK(f != NULL);
    if (f) {
        MUST(mpct_perf_report_prometheus(r, f));
        fclose(f);
        char *s = slurp(pp);
        int n = s ? check_prometheus(s) : -1;
        CHECK(n > 20);
        /* every sample names its run: job, model and Slurm job (two runs' files never collide) */
#define RUN_LABELS "{job=\"\",model=\"tiny \\\"bert\\\"\",slurm_job_id=\"\""
        CHECK(s && strstr(s, "mpct_inferences_total" RUN_LABELS "} 8\n"));
        CHECK(s && strstr(s, "# TYPE mpct_inference_latency_seconds summary\n"));
        CHECK(s && strstr(s, "mpct_inference_latency_seconds_sum" RUN_LABELS "} "));
        CHECK(s && strstr(s, "mpct_inference_latency_seconds_count" RUN_LABELS "} 8\n"));
        CHECK(s && strstr(s, "mpct_cache_hits_total" RUN_LABELS "} 5\n"));
        CHECK(s && strstr(s, "mpct_region_sent_bytes_total" RUN_LABELS ",region=\"run/L1/softmax\",kind=\"softmax\"} 6000000\n"));
        CHECK(s && strstr(s, "mpct_hint_active" RUN_LABELS ",id=\"latency_bound\"} 1\n"));
        CHECK(s && strstr(s, "# TYPE mpct_party_wall_seconds_total counter\n")); /* time that adds up: a counter */
        CHECK(s && !strstr(s, "_us") && !strstr(s, "# TYPE mpct_cache_bytes_read")); /* base units, unit last */
        int lines = 0, helps = 0, types = 0;
        for (const char *q = s; q && *q; q = strchr(q, '\n'), q = q ? q + 1 : q) {
            lines++;
            helps += !strncmp(q, "# HELP ", 7);
            types += !strncmp(q, "# TYPE ", 7);
            if (*q != '#') /* every sample has the run labels first */
                CHECK(strstr(q, "{job=\"") == q + strcspn(q, "{"));
        }
        CHECK(helps == types && types > 10);
#undef RUN_LABELS
        free(s);
    }
    CHECK(check_prometheus("# TYPE x counter\nx 1\n") < 0);       /* counter without _total */
    CHECK(check_prometheus("# TYPE x_total counter\ny 1\n") < 0); /* sample outside family */
    CHECK(check_prometheus("# TYPE x gauge\nx{a=\"b} 1\n") < 0);  /* unterminated label */
    CHECK(check_prometheus("# TYPE x gauge\nx{a=\"b\"} 1\n") == 1);
    /* SVG */
    f = fopen(ps, "w");
    CHECK(f != NULL);
    if (f) {
        MUST(mpct_perf_report_svg(r, f));
        fclose(f);
        char *s = slurp(ps);
        CHECK(s && !strncmp(s, "<svg ", 5) && strstr(s, "</svg>\n"));
        CHECK(s && strstr(s, "per op type") && strstr(s, "per layer") && strstr(s, ">softmax<") &&
              strstr(s, ">L1<"));
        free(s);
    }
    mpct_perf_report_free(l);
    mpct_perf_report_free(r);
    /* load errors name the file and field */
    snprintf(pp, sizeof pp, "%s/bad.json", dir);
    f = fopen(pp, "w");
    if (f) {
        fputs("{\"schema\": \"mpct-report\", \"schema_version\": 99, \"parties\": []}", f);
        fclose(f);
    }
    l = NULL;
    CHECK(mpct_perf_report_load(&l, pp) == MPCT_ERR_FORMAT && l == NULL);
    CHECK(strstr(mpct_error_msg(), "schema_version") != NULL);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    test_regions_and_pack();
    test_papi_detection();
    test_hints();
    test_overrides();
    test_calibration_files(dir);
    test_report_io(dir);
    return mpct_check_done("test_perf");
}
