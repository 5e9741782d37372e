/*
 * perf-impl.h — private to perf/: the profile and report structs, backend
 * hooks (PAPI in perf_papi.c, CUPTI in perf_cupti.c) and aggregation helpers
 * shared by hints and views.
 */
#ifndef MPCT_PERF_IMPL_H
#define MPCT_PERF_IMPL_H

#include "mpct_perf.h"

#define MPCT_PERF_EVENT_NAME 32
#define MPCT_PERF_HOST 64

struct mpct_perf {
    int rank, replica, party;
    char host[MPCT_PERF_HOST];
    uint64_t rss_peak, alloc_peak, mem_total;
    int papi_avail, nevents;
    char papi_reason[MPCT_PERF_REASON];
    char events[MPCT_PERF_MAX_EVENTS][MPCT_PERF_EVENT_NAME];
    int cupti_avail;
    char cupti_reason[MPCT_PERF_REASON];
    int papi_set;       /* PAPI event set handle (-1 none) */
    void *cupti_state;  /* perf_cupti.c */
    mpct_perf_region *regions;
    int nregions, cap;
};

/* PAPI hooks (no-ops without PAPI): setup fills papi_avail/reason/events. */
void mpct_perf_papi_setup(mpct_perf_t *p, const char *events);
void mpct_perf_papi_read(mpct_perf_t *p, int64_t *vals);
void mpct_perf_papi_teardown(mpct_perf_t *p);
/* CUPTI hooks (no-ops without CUDA): collect flushes activity records and
 * adds them to region r (records since the previous collect). */
void mpct_perf_cupti_setup(mpct_perf_t *p);
void mpct_perf_cupti_collect(mpct_perf_t *p, mpct_perf_region *r);
void mpct_perf_cupti_teardown(mpct_perf_t *p);

mpct_perf_region *mpct_perf_region_find(mpct_perf_t *p, const char *phase, int layer, const char *kind,
                                        int create);

#define MPCT_PERF_KEY 48
#define MPCT_PERF_MAX_SETTINGS 64
#define MPCT_PERF_MAX_HINTS 32
#define MPCT_PERF_MAX_SECTIONS 8

typedef struct mpct_perf_kv {
    char key[MPCT_PERF_KEY];
    int is_num;
    double num;
    char str[128];
} mpct_perf_kv;

struct mpct_perf_report {
    char tool[64];
    char version[32];
    double created_unix;
    mpct_perf_kv settings[MPCT_PERF_MAX_SETTINGS];
    int nsettings;
    char section_key[MPCT_PERF_MAX_SECTIONS][MPCT_PERF_KEY];
    char *section_json[MPCT_PERF_MAX_SECTIONS]; /* malloc'd JSON text */
    int nsections;
    mpct_perf_t **parties;
    int nparties, cap;
    mpct_perf_hint hints[MPCT_PERF_MAX_HINTS];
    int nhints;
};

/* Region figures aggregated over parties: time = max over parties (the
 * parties of a replica run in lockstep; the slowest sets the pace), bytes =
 * sum over parties, rounds and calls = max. */
typedef struct mpct_perf_agg {
    char name[3 * MPCT_PERF_NAME];
    char phase[MPCT_PERF_NAME], kind[MPCT_PERF_NAME];
    int layer;
    double wall, comm, cpu, bytes_sent, bytes_recv, rounds, calls, work_ops;
} mpct_perf_agg;

enum { MPCT_AGG_REGION, MPCT_AGG_KIND, MPCT_AGG_LAYER };
/* Allocates *out (free()); returns the count (0 on empty or no memory). */
int mpct_perf_aggregate(const mpct_perf_report_t *r, int by, mpct_perf_agg **out);

/* Per-party totals over its regions. */
typedef struct mpct_perf_party_tot {
    double wall, comm, cpu;
    double bytes_sent, bytes_recv, rounds;
} mpct_perf_party_tot;
mpct_perf_party_tot mpct_perf_party_totals(const mpct_perf_t *p);
/* The party with the largest wall total (critical path); -1 when none. */
int mpct_perf_critical_party(const mpct_perf_report_t *r);
/* Latency per round in seconds: setting latency_us, else comm_s / rounds of
 * the critical party; 0 when unknown. *estimated set to 1 for the latter. */
double mpct_perf_latency_s(const mpct_perf_report_t *r, int *estimated);

#endif
