/*
 * trace.c — a per-rank timeline of a secure run, written as Chrome trace
 * event JSON (the "JSON object format" that ui.perfetto.dev and
 * chrome://tracing open; perf/REPORT.md).
 *
 * Each rank records the transport's events (mpct_net_set_trace: outermost
 * ops and the time every round blocked) into a fixed-capacity array; the
 * tool layer gathers the packed arrays to one rank, which writes the file.
 * Phases (setup, inference) and layers are derived there from the ops'
 * names and layer labels, as the report derives its regions.
 *
 * Invariants:
 *  - Recording never allocates after init and never fails: events beyond
 *    the capacity are counted as dropped (the file says how many).
 *  - Every event written is a complete event (ph "X") with ts and dur in
 *    microseconds from the rank's own start; on one rank (tid) the spans
 *    nest: phase > layer > op > wait, because ops never overlap and a phase
 *    or layer span is a run of consecutive ops.
 *  - pid = replica, tid = world rank; metadata events name them
 *    ("replica R", "P<party> rank <rank>").
 */
#include <stdlib.h>
#include <string.h>

#include "mpct_perf.h"

#define TR_NAME 32
#define TR_MAGIC 0x5254504du /* "MPTR" */

typedef struct tr_event {
    double t0, t1;
    int32_t kind, layer;
    char name[TR_NAME];
} tr_event;

typedef struct tr_head {
    uint32_t magic, version;
    int32_t rank, replica, party, pad;
    uint64_t n, dropped;
} tr_head;

struct mpct_perf_trace {
    tr_head h;
    double start;
    size_t cap;
    tr_event *ev;
};

mpct_status mpct_perf_trace_init(mpct_perf_trace_t **out, int rank, int replica, int party, double start,
                                 size_t max_events)
{
    *out = NULL;
    mpct_perf_trace_t *t = calloc(1, sizeof *t);
    if (!t || !(t->ev = malloc((max_events ? max_events : 1) * sizeof *t->ev))) {
        free(t);
        return mpct_error_set(MPCT_ERR_NOMEM, "trace: out of memory for %zu events", max_events);
    }
    t->h = (tr_head){TR_MAGIC, 1, rank, replica, party, 0, 0, 0};
    t->start = start;
    t->cap = max_events;
    *out = t;
    return MPCT_OK;
}

void mpct_perf_trace_free(mpct_perf_trace_t *t)
{
    if (t)
        free(t->ev);
    free(t);
}

void mpct_perf_trace_event(void *arg, int kind, const char *name, int layer, double t0, double t1)
{
    mpct_perf_trace_t *t = arg;
    if (t->h.n >= t->cap) {
        t->h.dropped++;
        return;
    }
    tr_event *e = &t->ev[t->h.n++];
    e->t0 = t0 - t->start;
    e->t1 = t1 - t->start;
    e->kind = kind;
    e->layer = layer;
    strncpy(e->name, name ? name : "", TR_NAME - 1);
    e->name[TR_NAME - 1] = '\0';
}

size_t mpct_perf_trace_count(const mpct_perf_trace_t *t) { return (size_t)t->h.n; }

mpct_status mpct_perf_trace_pack(const mpct_perf_trace_t *t, void **buf, size_t *len)
{
    *len = sizeof t->h + (size_t)t->h.n * sizeof *t->ev;
    if (!(*buf = malloc(*len)))
        return mpct_error_set(MPCT_ERR_NOMEM, "trace: out of memory packing %llu events",
                              (unsigned long long)t->h.n);
    memcpy(*buf, &t->h, sizeof t->h);
    memcpy((char *)*buf + sizeof t->h, t->ev, (size_t)t->h.n * sizeof *t->ev);
    return MPCT_OK;
}

/* One complete event; layer >= 0 and wait ops go to args. */
static void x_event(mpct_json *j, const tr_head *h, const char *name, const char *cat, double t0, double t1,
                    int layer, const char *op)
{
    mpct_json_obj_open(j, NULL);
    mpct_json_str(j, "name", name);
    mpct_json_str(j, "cat", cat);
    mpct_json_str(j, "ph", "X");
    mpct_json_num(j, "ts", t0 * 1e6);
    mpct_json_num(j, "dur", (t1 > t0 ? t1 - t0 : 0) * 1e6);
    mpct_json_int(j, "pid", h->replica);
    mpct_json_int(j, "tid", h->rank);
    if (layer >= 0 || op) {
        mpct_json_obj_open(j, "args");
        if (layer >= 0)
            mpct_json_int(j, "layer", layer);
        if (op)
            mpct_json_str(j, "op", op[0] ? op : "(between ops)");
        mpct_json_obj_close(j);
    }
    mpct_json_obj_close(j);
}

static void meta_event(mpct_json *j, const tr_head *h, const char *what, const char *name)
{
    mpct_json_obj_open(j, NULL);
    mpct_json_str(j, "name", what);
    mpct_json_str(j, "ph", "M");
    mpct_json_int(j, "pid", h->replica);
    mpct_json_int(j, "tid", h->rank);
    mpct_json_obj_open(j, "args");
    mpct_json_str(j, "name", name);
    mpct_json_obj_close(j);
    mpct_json_obj_close(j);
}

static const char *phase_of(const char *op)
{
    return !strcmp(op, "setup") || !strcmp(op, "share_weights") || !strcmp(op, "replicate_weights") ? "setup"
                                                                                                      : "inference";
}

/* Phase and layer spans: runs of consecutive ops of one phase (one layer). */
static void spans(mpct_json *j, const tr_head *h, const tr_event *ev, int layers)
{
    size_t i = 0, n = (size_t)h->n;
    while (i < n) {
        if (ev[i].kind != MPCT_NET_TRACE_OP_EVENT) {
            i++;
            continue;
        }
        const char *ph = phase_of(ev[i].name);
        size_t last = i, k = i + 1;
        for (; k < n; k++) {
            if (ev[k].kind != MPCT_NET_TRACE_OP_EVENT)
                continue;
            if (strcmp(phase_of(ev[k].name), ph) || (layers && ev[k].layer != ev[i].layer))
                break;
            last = k;
        }
        if (!layers)
            x_event(j, h, ph, "phase", ev[i].t0, ev[last].t1, -1, NULL);
        else if (ev[i].layer >= 0) {
            char nm[32];
            snprintf(nm, sizeof nm, "layer %d", ev[i].layer);
            x_event(j, h, nm, "layer", ev[i].t0, ev[last].t1, ev[i].layer, NULL);
        }
        i = k;
    }
}

mpct_status mpct_perf_trace_write(const char *path, const void *const *bufs, const size_t *lens, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot write the trace file '%s'", path);
    mpct_json j;
    mpct_json_begin(&j, f, 0);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "displayTimeUnit", "ms");
    mpct_json_arr_open(&j, "traceEvents");
    unsigned long long dropped = 0;
    for (int r = 0; r < n; r++) {
        tr_head h;
        if (lens[r] < sizeof h)
            continue;
        memcpy(&h, bufs[r], sizeof h);
        if (h.magic != TR_MAGIC || lens[r] != sizeof h + (size_t)h.n * sizeof(tr_event))
            continue;
        const tr_event *ev = (const tr_event *)((const char *)bufs[r] + sizeof h);
        char nm[64];
        snprintf(nm, sizeof nm, "replica %d", h.replica);
        meta_event(&j, &h, "process_name", nm);
        snprintf(nm, sizeof nm, "P%d rank %d", h.party, h.rank);
        meta_event(&j, &h, "thread_name", nm);
        spans(&j, &h, ev, 0);
        spans(&j, &h, ev, 1);
        for (uint64_t i = 0; i < h.n; i++) {
            if (ev[i].kind == MPCT_NET_TRACE_OP_EVENT)
                x_event(&j, &h, ev[i].name, "op", ev[i].t0, ev[i].t1, ev[i].layer, NULL);
            else
                x_event(&j, &h, "wait", "comm", ev[i].t0, ev[i].t1, ev[i].layer, ev[i].name);
        }
        dropped += h.dropped;
    }
    mpct_json_arr_close(&j);
    mpct_json_obj_open(&j, "otherData");
    mpct_json_str(&j, "producer", "mpct run --trace");
    mpct_json_int(&j, "ranks", n);
    mpct_json_int(&j, "dropped_events", (long long)dropped);
    mpct_json_obj_close(&j);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return mpct_error_set(MPCT_ERR_IO, "cannot write the trace file '%s' (disk full?)", path);
    if (dropped)
        mpct_warnf("mpct run: warning: trace %s: %llu events beyond the per-rank capacity were dropped\n",
                path, dropped);
    return MPCT_OK;
}
