/*
 * perf_papi.c — hardware counters through PAPI (only with MPCT_HAVE_PAPI).
 *
 * Default events: PAPI_TOT_INS, PAPI_TOT_CYC, PAPI_L2_DCM, PAPI_L3_TCM,
 * PAPI_VEC_INS (whichever the machine offers). Each event that cannot be
 * added is skipped; when none can be added (no counters: VMs, containers,
 * perf_event_paranoid) the profile records available = 0 and the reason
 * (the perf_event component's disabled reason or PAPI's error string) and
 * timers carry on alone. Counters run for the profile's lifetime; timers
 * read them at start and stop.
 */
#include "perf-impl.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_EVENTS "PAPI_TOT_INS,PAPI_TOT_CYC,PAPI_L2_DCM,PAPI_L3_TCM,PAPI_VEC_INS"

#ifdef MPCT_HAVE_PAPI
#include <papi.h>

static void append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    if (n + 1 < cap)
        snprintf(dst + n, cap - n, "%s", s);
}

void mpct_perf_papi_setup(mpct_perf_t *p, const char *events)
{
    p->papi_avail = 0;
    p->nevents = 0;
    p->papi_set = -1;
    if (!events || !events[0])
        events = DEFAULT_EVENTS;
    if (!PAPI_is_initialized()) {
        /* Only CPU counters are used; the GPU-management components print
         * noise on machines without their drivers. */
        PAPI_disable_component_by_name("rocm_smi");
        PAPI_disable_component_by_name("rocm");
    }
    int ret = PAPI_is_initialized() ? (int)PAPI_VER_CURRENT : PAPI_library_init(PAPI_VER_CURRENT);
    if (ret != (int)PAPI_VER_CURRENT) {
        snprintf(p->papi_reason, sizeof p->papi_reason, "PAPI_library_init failed: %s",
                 ret > 0 ? "version mismatch" : PAPI_strerror(ret));
        return;
    }
    int set = PAPI_NULL;
    if ((ret = PAPI_create_eventset(&set)) != PAPI_OK) {
        snprintf(p->papi_reason, sizeof p->papi_reason, "PAPI_create_eventset: %s", PAPI_strerror(ret));
        return;
    }
    char reason[MPCT_PERF_REASON] = "";
    char list[512];
    snprintf(list, sizeof list, "%s", events);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (p->nevents == MPCT_PERF_MAX_EVENTS) {
            append(reason, sizeof reason, "too many events; ");
            break;
        }
        int code = 0;
        ret = PAPI_event_name_to_code(tok, &code);
        if (ret == PAPI_OK)
            ret = PAPI_add_event(set, code);
        if (ret != PAPI_OK) {
            char buf[96];
            snprintf(buf, sizeof buf, "%s: %s; ", tok, PAPI_strerror(ret));
            append(reason, sizeof reason, buf);
            continue;
        }
        snprintf(p->events[p->nevents++], MPCT_PERF_EVENT_NAME, "%s", tok);
    }
    if (p->nevents > 0 && (ret = PAPI_start(set)) != PAPI_OK) {
        char buf[96];
        snprintf(buf, sizeof buf, "PAPI_start: %s; ", PAPI_strerror(ret));
        append(reason, sizeof reason, buf);
        p->nevents = 0;
    }
    if (p->nevents == 0) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(0);
        char why[MPCT_PERF_REASON] = "no hardware counter event could be added (a VM without PMU passthrough, "
                                     "or perf_event_paranoid)";
        if (ci && ci->disabled && ci->disabled_reason[0])
            snprintf(why, sizeof why, "component %.24s disabled: %.80s", ci->name, ci->disabled_reason);
        snprintf(p->papi_reason, sizeof p->papi_reason, "%.110s: %.130s", why, reason[0] ? reason : "no events");
        PAPI_cleanup_eventset(set);
        PAPI_destroy_eventset(&set);
        return;
    }
    p->papi_set = set;
    p->papi_avail = 1;
    /* Partial success: keep the note about skipped events. */
    snprintf(p->papi_reason, sizeof p->papi_reason, "%s", reason);
}

void mpct_perf_papi_read(mpct_perf_t *p, int64_t *vals)
{
    long long v[MPCT_PERF_MAX_EVENTS] = {0};
    if (p->papi_set >= 0 && PAPI_read(p->papi_set, v) == PAPI_OK)
        for (int i = 0; i < p->nevents; i++)
            vals[i] = (int64_t)v[i];
}

void mpct_perf_papi_teardown(mpct_perf_t *p)
{
    if (p->papi_set < 0)
        return;
    long long v[MPCT_PERF_MAX_EVENTS];
    PAPI_stop(p->papi_set, v);
    PAPI_cleanup_eventset(p->papi_set);
    PAPI_destroy_eventset(&p->papi_set);
    p->papi_set = -1;
}

#else /* !MPCT_HAVE_PAPI */

void mpct_perf_papi_setup(mpct_perf_t *p, const char *events)
{
    (void)events;
    p->papi_avail = 0;
    p->nevents = 0;
#ifdef MPCT_PAPI_OFF
    snprintf(p->papi_reason, sizeof p->papi_reason, "mpct was built without PAPI (-DMPCT_PAPI=OFF)");
#else
    snprintf(p->papi_reason, sizeof p->papi_reason, "mpct was built without PAPI (libpapi-dev not found)");
#endif
}

void mpct_perf_papi_read(mpct_perf_t *p, int64_t *vals)
{
    (void)p;
    (void)vals;
}

void mpct_perf_papi_teardown(mpct_perf_t *p) { (void)p; }

#endif
