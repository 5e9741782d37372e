/*
 * perf_cupti.c — GPU activity through CUPTI (only with MPCT_HAVE_CUPTI, set
 * when mpct is configured with -DMPCT_CUDA=ON and CUPTI is found).
 *
 * Minimal by design: kernel (CONCURRENT_KERNEL) and memcpy activity records
 * are buffered by CUPTI; mpct_perf_cupti_collect flushes them at the end of
 * each timed region and charges every record completed since the previous
 * flush to that region (kernel count and time, memcpy bytes and time).
 * Regions therefore must not overlap in time. One profile per process may
 * own CUPTI; a second one reports it unavailable.
 */
#include "perf-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MPCT_HAVE_CUPTI
#include <cupti.h>

typedef struct cupti_totals {
    double kernel_s, memcpy_s;
    uint64_t kernels, memcpy_bytes;
} cupti_totals;

static cupti_totals g_acc;   /* records completed since the last collect */
static mpct_perf_t *g_owner; /* the profile that enabled CUPTI */

#define BUF_SIZE (1u << 20)

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = aligned_alloc(8, BUF_SIZE);
    *size = *buffer ? BUF_SIZE : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size, size_t valid)
{
    (void)ctx;
    (void)stream;
    (void)size;
    CUpti_Activity *rec = NULL;
    while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
        if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
            /* start/end sit at the same offsets in every kernel record version */
            const CUpti_ActivityKernel4 *k = (const CUpti_ActivityKernel4 *)rec;
            g_acc.kernel_s += 1e-9 * (double)(k->end - k->start);
            g_acc.kernels++;
        } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
            const CUpti_ActivityMemcpy *m = (const CUpti_ActivityMemcpy *)rec;
            g_acc.memcpy_s += 1e-9 * (double)(m->end - m->start);
            g_acc.memcpy_bytes += m->bytes;
        }
    }
    free(buffer);
}

static int fail(mpct_perf_t *p, const char *what, CUptiResult r)
{
    const char *s = NULL;
    cuptiGetResultString(r, &s);
    snprintf(p->cupti_reason, sizeof p->cupti_reason, "%s: %s", what, s ? s : "unknown CUPTI error");
    return 0;
}

void mpct_perf_cupti_setup(mpct_perf_t *p)
{
    p->cupti_avail = 0;
    if (g_owner) {
        snprintf(p->cupti_reason, sizeof p->cupti_reason, "CUPTI already owned by another profile");
        return;
    }
    CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (r != CUPTI_SUCCESS) {
        fail(p, "cuptiActivityRegisterCallbacks", r);
        return;
    }
    if ((r = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL)) != CUPTI_SUCCESS) {
        fail(p, "cuptiActivityEnable(CONCURRENT_KERNEL)", r);
        return;
    }
    if ((r = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY)) != CUPTI_SUCCESS) {
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        fail(p, "cuptiActivityEnable(MEMCPY)", r);
        return;
    }
    memset(&g_acc, 0, sizeof g_acc);
    g_owner = p;
    p->cupti_avail = 1;
    p->cupti_reason[0] = 0;
}

void mpct_perf_cupti_collect(mpct_perf_t *p, mpct_perf_region *reg)
{
    if (g_owner != p)
        return;
    cuptiActivityFlushAll(0);
    reg->gpu_kernel_s += g_acc.kernel_s;
    reg->gpu_kernels += g_acc.kernels;
    reg->gpu_memcpy_s += g_acc.memcpy_s;
    reg->gpu_memcpy_bytes += g_acc.memcpy_bytes;
    memset(&g_acc, 0, sizeof g_acc);
}

void mpct_perf_cupti_teardown(mpct_perf_t *p)
{
    if (g_owner != p)
        return;
    cuptiActivityFlushAll(0);
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMCPY);
    g_owner = NULL;
}

#else /* !MPCT_HAVE_CUPTI */

void mpct_perf_cupti_setup(mpct_perf_t *p)
{
    p->cupti_avail = 0;
    snprintf(p->cupti_reason, sizeof p->cupti_reason, "mpct was built without CUDA/CUPTI (-DMPCT_CUDA=OFF)");
}

void mpct_perf_cupti_collect(mpct_perf_t *p, mpct_perf_region *r)
{
    (void)p;
    (void)r;
}

void mpct_perf_cupti_teardown(mpct_perf_t *p) { (void)p; }

#endif
