/*
 * bench_model.c — `mpct bench model`: the full secure forward pass of a
 * model shape (tiny, minilm, bert-base with random weights, or a model file),
 * timed over --reps repetitions after one warm-up, with bytes per party,
 * rounds, the breakdown by operation type, peak memory per party, and the
 * float64 reference forward pass of the same model and inputs in the same
 * run (on the owner rank) for the ratio. Replica 0 runs it; inputs are
 * random token ids, every position a real token. --calibrate adds the
 * machine's ring-GEMM peak (bench_peak.c), so a calibration file for
 * `mpct plan` also serves `mpct report --calibration`.
 *
 * For `mpct plan` (src/tools/PLAN.md) it also measures the round latency
 * directly: an 8-byte token passed around the three parties, one protocol
 * round per hop, LATENCY_CYCLES times; median and 90th percentile per hop.
 * Memory per party: RSS after the weight sharing and the peak of the secure
 * passes alone, per batch size (an RSS window opened after the scratch
 * restart, sampled before the float64 reference, which only the owner
 * runs; the process peak where the kernel cannot reset the high-water mark).
 * Set-up (replicas, model description, weight sharing) is the job layer's
 * (mpct_sched.h), as in `mpct run`.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "mpct_model_desc.h"
#include "bench.h"
#include "mpct_model.h"
#include "mpct_sched.h"
#include "tool_common.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mpct_opt bench_model_opts[] = {
    {"shape", 0, "tiny|minilm|bert-base", "a model of that shape with random weights (N(0, 0.05)) and the\n"
                                          "BERT vocabulary size (30522), in a temporary file (default tiny)"},
    {"model", 0, "FILE.h5", "a packed model instead (e.g. the real MiniLM)"},
    {"seq", 0, "N", "tokens per inference (default 64)"},
    {"batch", 0, "B[,B2...]", "batch sizes, each measured in turn on the same shared weights\n"
                              "(default 1); the throughput of each is reported against the first"},
    {"reps", 0, "N", "timed repetitions per batch size (default 3)"},
    {"json", 0, NULL, "machine-readable output (an array of per-batch objects for several sizes,\n"
                      "each with throughput_ratio_to_first_batch)"},
    {"bits", 0, "8|16|32", "weight quantization of the --shape model (default 16)"},
    {"frac-bits", 0, "F", "fixed-point fractional bits, 8..20 (default 16, as in mpct run)"},
    {"kernels", 0, "NAME", "kernel backend (default cpu)"},
    {"network", 0, "lan|wan|puma|RATE:RTT", "emulate the links between the parties (lan 3gbit:0.8ms,\n"
                                           "wan 200mbit:40ms, puma 5gbit:1ms; default none: this machine)"},
    {"encrypt", 0, NULL, "encrypt the links between the parties (as mpct run --encrypt; default:\n"
                         "on only when any replica spans nodes)"},
    {"seed", 0, "S", "seed of the random weights and inputs (default 1)"},
    {"calibrate", 0, NULL, "measure the machine's ring-GEMM peak first (as `mpct bench ops\n"
                           "--calibrate`: --json gets a \"calibration\" object), so the file serves\n"
                           "both `mpct plan --calibration` and `mpct report --calibration`"},
};

const mpct_opt_cmd mpct_bench_model_cmd = {
    .name = "bench model",
    .usage = "mpirun -np 3 mpct bench model [--shape tiny|minilm|bert-base | --model FILE.h5] [options]",
    .about = "Secure forward pass of a whole model: median latency per inference over --reps\n"
             "after a warm-up (timed: the client's one-hot encoding, input sharing and the forward\n"
             "pass; not the reveal), bytes sent per party and in total, rounds, the breakdown by operation\n"
             "type, peak memory per party, and the ratio to the float64 forward pass of the same model\n"
             "run in the same job.\n",
    MPCT_OPT_TABLE(bench_model_opts),
    .notes = "CPU figures are process CPU time, which includes a party's polling for messages (the MPI\n"
             "transport spins with sched_yield): per batch the median over --reps, per op the mean;\n"
             "the busy fraction is their sum over the parties / (wall x the cores the three ranks may use),\n"
             "printed only when the three parties share one node.\n"
             "With 6, 9, ... ranks, replica 0 (ranks 0-2) alone runs the benchmark and the other\n"
             "replicas wait: `mpct run` spreads work over every replica.\n",
    .exit_fail = MPCT_BENCH_EXIT_FAIL,
    .exits_more = mpct_bench_exits_more,
};

/* A temporary vocabulary of 30522 entries with the BERT special tokens. */
static int write_vocab(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fputs("[PAD]\n", f);
    for (int i = 1; i < 100; i++)
        fprintf(f, "[unused%d]\n", i);
    fputs("[UNK]\n[CLS]\n[SEP]\n[MASK]\n", f);
    for (int i = 104; i < 30522; i++)
        fprintf(f, "tok%d\n", i);
    return fclose(f) != 0;
}

#define LATENCY_CYCLES 300 /* timed token cycles of the latency probe (after 20 untimed) */

/* Round latency: a token of 8 bytes goes P0 -> P1 -> P2 -> P0 (three
 * protocol rounds, each waiting for the previous hop); party 0 times each
 * cycle. Median and 90th percentile of cycle / 3, in seconds, on party 0
 * (the other parties' figures are not cycles: they also wait for the start). */
static mpct_status round_latency(mpct_net_t *net, double *median, double *p90)
{
    double *t = calloc(LATENCY_CYCLES, sizeof *t);
    if (!t)
        return mpct_error_set(MPCT_ERR_NOMEM, "bench: out of memory");
    const int me = mpct_net_party(net);
    uint64_t token = 0;
    mpct_status st = MPCT_OK;
    mpct_net_op_enter(net, "latency_probe");
    for (int i = -20; st == MPCT_OK && i < LATENCY_CYCLES; i++) {
        double t0 = mpct_time_now();
        for (int hop = 0; st == MPCT_OK && hop < 3; hop++) { /* hop h: party h sends to party h+1 */
            mpct_net_msg m = {0};
            if (me == hop)
                m.to_next = &token, m.to_next_bytes = sizeof token;
            if (me == (hop + 1) % 3)
                m.from_prev = &token, m.from_prev_bytes = sizeof token;
            st = mpct_net_round(net, &m);
        }
        token++;
        if (i >= 0)
            t[i] = (mpct_time_now() - t0) / 3;
    }
    mpct_net_op_leave(net);
    mpct_perf_sort(t, LATENCY_CYCLES); /* LATENCY_CYCLES is even */
    *median = 0.5 * (t[LATENCY_CYCLES / 2 - 1] + t[LATENCY_CYCLES / 2]);
    *p90 = t[LATENCY_CYCLES * 9 / 10];
    free(t);
    return st;
}

typedef struct opstat {
    char name[MPCT_NET_OP_NAME];
    int layer;
    double wall, cpu;
    uint64_t bytes, rounds;
} opstat;

#define MAX_BATCHES 8

/* One figure per party from the gathered rows all[p * stride + field]. */
static void party_ints(mpct_json *j, const char *name, const uint64_t *all, int stride, int field)
{
    mpct_json_arr_open(j, name);
    for (int p = 0; p < 3; p++)
        mpct_json_int(j, NULL, (long long)all[stride * p + field]);
    mpct_json_arr_close(j);
}

/* The cores the replica's three ranks may run on together (the union of
 * their affinity masks) when they share a node, else 0 (then "how busy
 * were the cores" has no single answer). Collective. */
static int replica_cores(const mpct_sched_replica *r)
{
    MPI_Comm node;
    int nsize = 0, ok = 0, all = 0;
    if (MPI_Comm_split_type(r->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &nsize);
        MPI_Comm_free(&node);
    }
    ok = nsize == 3;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, r->comm);
    if (!all)
        return 0;
    cpu_set_t set, uni;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0)
        for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
            CPU_SET((int)c, &set);
    /* pinned ranks (one core each) must count as the cores of all three */
    MPI_Allreduce(&set, &uni, (int)sizeof set, MPI_BYTE, MPI_BOR, r->comm);
    return CPU_COUNT(&uni);
}

typedef struct bench_args {
    const char *shape, *model, *kernels, *network;
    long seq, reps, bits, frac, seed;
    long batches[MAX_BATCHES];
    int nbatch, json, calibrate, encrypt;
} bench_args;

/* -1 to go on, else the exit status: 0 after --help, 2 a usage error (printed once). */
static int parse(int argc, char **argv, int wrank, bench_args *a)
{
    *a = (bench_args){"tiny", NULL, "cpu", "none", 64, 3, 16, MPCT_FRAC_BITS_DEFAULT, 1, {1}, 1, 0, 0, 0};
    mpct_opt_iter it = mpct_opt_start(&mpct_bench_model_cmd, argc, argv, 2);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        const char *v = it.value;
        if (!it.opt)
            return mpct_opt_usage_error(&mpct_bench_model_cmd, "unexpected argument '%s'", v);
        long *dst = mpct_opt_is(&it, "seq") ? &a->seq : mpct_opt_is(&it, "reps") ? &a->reps
                  : mpct_opt_is(&it, "bits") ? &a->bits : mpct_opt_is(&it, "frac-bits") ? &a->frac
                  : mpct_opt_is(&it, "seed") ? &a->seed : NULL;
        if (mpct_opt_is(&it, "json")) {
            a->json = 1;
        } else if (mpct_opt_is(&it, "calibrate")) {
            a->calibrate = 1;
        } else if (mpct_opt_is(&it, "encrypt")) {
            a->encrypt = 1;
        } else if (mpct_opt_is(&it, "batch")) {
            if ((a->nbatch = mpct_tool_parse_longs("bench model", it.spelled, v, "sizes", 1, 4096, a->batches,
                                                   MAX_BATCHES)) < 0)
                return 2;
        } else if (mpct_opt_take(&it, "shape", &a->shape) || mpct_opt_take(&it, "model", &a->model) ||
                   mpct_opt_take(&it, "kernels", &a->kernels)) {
            continue;
        } else if (mpct_opt_take(&it, "network", &a->network)) {
            mpct_net_link l;
            if (mpct_net_link_parse(a->network, &l) != MPCT_OK || strlen(a->network) >= sizeof l.name)
                return mpct_opt_usage_error(&mpct_bench_model_cmd, "%s: %s", it.spelled, mpct_error_msg());
        } else if (dst) {
            if (mpct_tool_parse_long("bench model", it.spelled, v, dst == &a->frac ? MPCT_FRAC_BITS_MIN : 1,
                                     dst == &a->seed ? (1L << 62) : dst == &a->frac ? MPCT_FRAC_BITS_MAX : 4096, dst))
                return 2;
        }
    }
    if (rc >= 0)
        return rc;
    if (strcmp(a->shape, "tiny") && strcmp(a->shape, "minilm") && strcmp(a->shape, "bert-base")) {
        if (wrank == 0)
            fprintf(stderr, "mpct bench model: error: --shape must be tiny, minilm or bert-base, got '%s'\n",
                    a->shape);
        return 2;
    }
    return -1;
}

/* What every batch size's measurement needs. */
typedef struct bench_ctx {
    const bench_args *a;
    mpct_sched_replica *r;
    const mpct_smodel_info *info;
    mpct_smodel *m;
    mpct_smodel_work *work; /* what the forward passes keep between batches */
    const char *model; /* the model file the owner read */
    int synthetic;     /* random weights in a temporary file */
    char tmp_model[256], tmp_vocab[256];
    double t_gen, t_share, lat_med, lat_p90, first_per_inf;
    double link_rtt, link_rate; /* measured before the batches (mpct_net_measure_link) */
    uint64_t rss_weights;
    int node_cores;
    mpct_peak peak;
} bench_ctx;

/* The owner writes the model of --shape with random weights (and the BERT
 * vocabulary size) to the temporary file bc->tmp_model. */
static mpct_status make_model(bench_ctx *bc)
{
    const bench_args *a = bc->a;
    double t0 = mpct_time_now();
    mpct_status st;
    if (write_vocab(bc->tmp_vocab))
        st = mpct_error_set(MPCT_ERR_IO, "cannot write a temporary vocabulary to %s", bc->tmp_vocab);
    else
        st = mpct_io_write_synthetic(bc->tmp_model, a->shape, bc->tmp_vocab, 0, (int)a->bits, 0, (uint64_t)a->seed,
                                     NULL);
    bc->t_gen = mpct_time_now() - t0;
    return st;
}

/* The figures of one batch size on this party. */
typedef struct batch_run {
    size_t B, T;
    double *times, *cpus; /* per rep */
    int32_t *ids, *maski, *counts;
    mpct_net_counters before, after;
    uint64_t peak_secure;
    int nops;
    opstat ops[MPCT_NET_MAX_OPS];
    double plain_med;
} batch_run;

static void batch_run_free(batch_run *b)
{
    free(b->counts);
    free(b->ids);
    free(b->maski);
    free(b->times);
    free(b->cpus);
}

/* Random token ids (every position a real token) on the client and owner. */
static mpct_status make_inputs(const bench_ctx *bc, batch_run *b)
{
    const size_t B = b->B, T = b->T, V = (size_t)bc->info->cfg.vocab_size;
    b->times = calloc((size_t)bc->a->reps, sizeof *b->times);
    b->cpus = calloc((size_t)bc->a->reps, sizeof *b->cpus);
    if (!b->times || !b->cpus)
        return mpct_error_set(MPCT_ERR_NOMEM, "bench model: out of memory");
    if (bc->r->party != 1 && bc->r->party != 0)
        return MPCT_OK;
    b->ids = malloc(B * T * sizeof *b->ids);
    b->maski = malloc(B * T * sizeof *b->maski);
    b->counts = malloc(B * sizeof *b->counts);
    if (!b->ids || !b->maski || !b->counts)
        return mpct_error_set(MPCT_ERR_NOMEM, "bench model: out of memory");
    mpct_rng rng = {(uint64_t)bc->a->seed};
    for (size_t i = 0; i < B * T; i++) {
        b->ids[i] = (int32_t)(104 + mpct_rng_next(&rng) % (V > 104 ? V - 104 : 1)) % (int32_t)V;
        b->maski[i] = 1;
    }
    for (size_t i = 0; i < B; i++)
        b->counts[i] = (int32_t)T;
    return MPCT_OK;
}

/* One warm-up and --reps timed secure passes (input sharing + forward),
 * then the per-op figures averaged over the reps. */
static mpct_status secure_passes(const bench_ctx *bc, batch_run *b)
{
    const int client = 1, me = bc->r->party;
    const long reps = bc->a->reps;
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0};
    mpct_status st = MPCT_OK;
    for (long rep = -1; st == MPCT_OK && rep < reps; rep++) {
        /* one inference = input sharing + forward (+ the reveal, untimed) */
        MPI_Barrier(bc->r->comm);
        if (rep == 0) {
            mpct_net_reset_counters(bc->r->net);
            b->before = mpct_net_total(bc->r->net);
        }
        double t0 = mpct_time_now(), c0 = mpct_time_cpu();
        mpct_share_free(&OH);
        mpct_share_free(&MK);
        mpct_share_free(&IN);
        st = mpct_smodel_input(bc->r->ctx, client, bc->info, me == client ? b->ids : NULL, b->T,
                               me == client ? b->counts : NULL, b->B, b->T, &OH, &MK, &IN);
        if (st == MPCT_OK)
            st = mpct_smodel_forward(bc->r->ctx, bc->m, bc->work, &OH, &MK, &IN, b->B, b->T, &E, NULL);
        if (rep >= 0) {
            b->times[rep] = mpct_time_now() - t0;
            b->cpus[rep] = mpct_time_cpu() - c0;
        }
    }
    b->after = mpct_net_total(bc->r->net);
    b->nops = mpct_net_op_count(bc->r->net);
    for (int i = 0; i < b->nops; i++) {
        mpct_net_counters oc = mpct_net_op_counters(bc->r->net, i);
        snprintf(b->ops[i].name, sizeof b->ops[i].name, "%s", mpct_net_op_name(bc->r->net, i));
        b->ops[i].layer = mpct_net_op_layer(bc->r->net, i);
        b->ops[i].wall = oc.wall_s / (double)reps;
        b->ops[i].cpu = oc.cpu_s / (double)reps;
        b->ops[i].bytes = oc.bytes_sent / (uint64_t)reps;
        b->ops[i].rounds = oc.rounds / (uint64_t)reps;
    }
    mpct_share *sh[] = {&OH, &MK, &IN, &E};
    for (size_t i = 0; i < 4; i++)
        mpct_share_free(sh[i]);
    return st;
}

/* The float64 reference on the owner, same ids. Loaded per batch size and
 * freed before the next one's secure passes, whose peak RSS window must not
 * hold it (BERT-base: ~0.9 GB of float64). */
static mpct_status plain_passes(const bench_ctx *bc, batch_run *b)
{
    const long reps = bc->a->reps;
    mpct_ref_model *ref = NULL;
    mpct_status st = mpct_ref_load(bc->model, &ref);
    double *emb = malloc(b->B * (size_t)bc->info->cfg.hidden * sizeof *emb), *pt = calloc((size_t)reps, sizeof *pt);
    if (st == MPCT_OK && (!emb || !pt))
        st = mpct_error_set(MPCT_ERR_NOMEM, "bench model: out of memory");
    for (long rep = 0; st == MPCT_OK && rep < reps; rep++) {
        double t0 = mpct_time_now();
        st = mpct_ref_forward(ref, b->ids, b->maski, b->B, b->T, emb, NULL);
        pt[rep] = mpct_time_now() - t0;
    }
    b->plain_med = st == MPCT_OK ? mpct_perf_median(pt, (size_t)reps) : 0;
    free(emb);
    free(pt);
    mpct_ref_free(ref);
    return st;
}

/* The three parties' figures, gathered on party 0. */
enum { M_BYTES, M_PEAK, M_PEAK_SECURE, M_RSS_WEIGHTS, M_CPU_NS, M_N };
typedef struct batch_figs {
    double worst, per_inf, tput, cpu_p[3], busy;
    double own, wait; /* party 0: its median batch time and, of it, the time blocked in the transport */
    uint64_t all[3 * M_N], rounds, tot;
    uint64_t obs[MPCT_NET_MAX_OPS];      /* op bytes summed over the parties */
    double ocs[3 * MPCT_NET_MAX_OPS];    /* CPU per op and party (polling included, see the usage text) */
} batch_figs;

static void gather_figs(bench_ctx *bc, const batch_run *b, int bi, batch_figs *f)
{
    const long reps = bc->a->reps;
    MPI_Comm comm = bc->r->comm;
    memset(f, 0, sizeof *f);
    double med = mpct_perf_median(b->times, (size_t)reps);
    MPI_Reduce(&med, &f->worst, 1, MPI_DOUBLE, MPI_MAX, 0, comm); /* latency: party 0's own figures */
    uint64_t mine[M_N] = {(b->after.bytes_sent - b->before.bytes_sent) / (uint64_t)reps, mpct_perf_peak_rss(),
                          b->peak_secure, bc->rss_weights, (uint64_t)(mpct_perf_median(b->cpus, (size_t)reps) * 1e9)};
    MPI_Gather(mine, M_N, MPI_UINT64_T, f->all, M_N, MPI_UINT64_T, 0, comm);
    f->rounds = (b->after.rounds - b->before.rounds) / (uint64_t)reps;
    f->own = med;
    f->wait = (b->after.comm_s - b->before.comm_s) / (double)reps;
    uint64_t ob[MPCT_NET_MAX_OPS];
    double oc[MPCT_NET_MAX_OPS];
    for (int i = 0; i < b->nops; i++)
        ob[i] = b->ops[i].bytes, oc[i] = b->ops[i].cpu;
    MPI_Reduce(ob, f->obs, b->nops, MPI_UINT64_T, MPI_SUM, 0, comm);
    MPI_Gather(oc, b->nops, MPI_DOUBLE, f->ocs, b->nops, MPI_DOUBLE, 0, comm);
    if (bc->r->party != 0)
        return;
    f->tot = f->all[M_BYTES] + f->all[M_N + M_BYTES] + f->all[2 * M_N + M_BYTES];
    f->per_inf = f->worst / (double)b->B;
    if (bi == 0)
        bc->first_per_inf = f->per_inf;
    /* inferences per second against the first batch size's */
    f->tput = f->per_inf > 0 ? bc->first_per_inf / f->per_inf : 0;
    double cpu_sum = 0;
    for (int p = 0; p < 3; p++)
        cpu_sum += f->cpu_p[p] = f->all[M_N * p + M_CPU_NS] * 1e-9;
    /* the share of the node's cores the parties kept busy (only meaningful
     * when the replica shares one node) */
    f->busy = f->worst > 0 && bc->node_cores > 0 ? cpu_sum / (f->worst * bc->node_cores) : 0;
}

static void print_json(const bench_ctx *bc, const batch_run *b, const batch_figs *f, int bi)
{
    const bench_args *a = bc->a;
    const mpct_model_config *c = &bc->info->cfg;
    mpct_json j;
    if (bi > 0)
        printf(",\n");
    mpct_json_begin(&j, stdout, 1);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "benchmark", "model");
    mpct_json_str(&j, "shape", bc->synthetic ? a->shape : "file");
    mpct_json_str(&j, "model", bc->synthetic ? "(random weights)" : bc->model);
    mpct_json_int(&j, "layers", c->num_layers);
    mpct_json_int(&j, "hidden", c->hidden);
    mpct_json_int(&j, "heads", c->heads);
    mpct_json_int(&j, "ffn", c->ffn);
    mpct_json_int(&j, "vocab", c->vocab_size);
    mpct_json_int(&j, "seq", (long long)b->T);
    mpct_json_int(&j, "batch", (long long)b->B);
    mpct_json_int(&j, "reps", a->reps);
    mpct_json_int(&j, "frac_bits", a->frac);
    mpct_json_str(&j, "kernels", a->kernels);
    if (a->calibrate)
        mpct_bench_peak_json(&j, &bc->peak);
    mpct_json_num(&j, "setup_share_weights_s", bc->t_share);
    mpct_json_num(&j, "median_batch_s", f->worst);
    mpct_json_num(&j, "median_latency_per_inference_s", f->per_inf);
    if (a->nbatch > 1)
        mpct_json_num(&j, "throughput_ratio_to_first_batch", f->tput);
    mpct_json_num(&j, "plain_median_batch_s", b->plain_med);
    mpct_json_num(&j, "ratio_secure_to_plain", b->plain_med > 0 ? f->worst / b->plain_med : 0);
    mpct_json_arr_open(&j, "cpu_s_per_party_per_batch");
    for (int p = 0; p < 3; p++)
        mpct_json_num(&j, NULL, f->cpu_p[p]);
    mpct_json_arr_close(&j);
    if (bc->node_cores > 0)
        mpct_json_num(&j, "node_cpu_busy_fraction", f->busy);
    mpct_json_str(&j, "transport", mpct_net_backend(bc->r->net));
    mpct_json_str(&j, "link_encryption", mpct_net_encrypted(bc->r->net) ? "aes-128-gcm" : "none");
    const mpct_net_link *link = mpct_net_get_link(bc->r->net);
    mpct_json_str(&j, "network", a->network);
    if (link) {
        mpct_json_num(&j, "network_rate_bps", link->rate_bps);
        mpct_json_num(&j, "network_rtt_s", 2 * link->one_way_s);
        mpct_json_num(&j, "latency_floor_s", (double)f->rounds * link->one_way_s);
    }
    /* where party 0's batch time went: local work, and waiting in the transport, of which the
     * emulated link accounts for at least its latency and bandwidth floors */
    mpct_json_obj_open(&j, "time_split_party0_s");
    mpct_json_num(&j, "batch", f->own);
    mpct_json_num(&j, "local", f->own - f->wait);
    mpct_json_num(&j, "waiting", f->wait);
    if (link) {
        uint64_t busiest = 0;
        for (int p = 0; p < 3; p++)
            busiest = f->all[M_N * p + M_BYTES] > busiest ? f->all[M_N * p + M_BYTES] : busiest;
        mpct_json_num(&j, "latency_floor", (double)f->rounds * link->one_way_s);
        mpct_json_num(&j, "bandwidth_floor", 8.0 * (double)busiest / link->rate_bps);
    }
    mpct_json_obj_close(&j);
    mpct_json_num(&j, "link_measured_rtt_s", bc->link_rtt);
    mpct_json_num(&j, "link_measured_rate_bps", bc->link_rate);
    party_ints(&j, "bytes_sent_per_party_per_batch", f->all, M_N, M_BYTES);
    mpct_json_int(&j, "bytes_total_per_batch", (long long)f->tot);
    mpct_json_int(&j, "rounds_per_batch", (long long)f->rounds);
    party_ints(&j, "peak_rss_bytes_per_party", f->all, M_N, M_PEAK);
    party_ints(&j, "peak_rss_secure_bytes_per_party", f->all, M_N, M_PEAK_SECURE);
    party_ints(&j, "rss_after_weights_bytes_per_party", f->all, M_N, M_RSS_WEIGHTS);
    mpct_json_num(&j, "round_latency_s", bc->lat_med);
    mpct_json_num(&j, "round_latency_p90_s", bc->lat_p90);
    mpct_json_int(&j, "round_latency_samples", LATENCY_CYCLES);
    mpct_json_arr_open(&j, "ops");
    for (int i = 0; i < b->nops; i++) {
        mpct_json_obj_open(&j, NULL);
        mpct_json_str(&j, "op", b->ops[i].name);
        mpct_json_int(&j, "layer", b->ops[i].layer);
        mpct_json_num(&j, "wall_s_party0", b->ops[i].wall);
        mpct_json_arr_open(&j, "cpu_s_per_party");
        for (int p = 0; p < 3; p++)
            mpct_json_num(&j, NULL, f->ocs[p * b->nops + i]);
        mpct_json_arr_close(&j);
        mpct_json_int(&j, "bytes_all_parties", (long long)f->obs[i]);
        mpct_json_int(&j, "rounds", (long long)b->ops[i].rounds);
        mpct_json_obj_close(&j);
    }
    mpct_json_arr_close(&j);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
}

static void print_text(const bench_ctx *bc, const batch_run *b, const batch_figs *f, int bi)
{
    const bench_args *a = bc->a;
    const mpct_model_config *c = &bc->info->cfg;
    const uint64_t *all = f->all;
    const int nops = b->nops;
    printf("model %s: %lld layers, hidden %lld, vocab %lld; seq %zu, batch %zu, %ld reps%s\n",
           bc->synthetic ? a->shape : bc->model, (long long)c->num_layers, (long long)c->hidden,
           (long long)c->vocab_size, b->T, b->B, a->reps, bc->synthetic ? " (random weights)" : "");
    printf("weight sharing %.2f s (model generation %.2f s)\n", bc->t_share, bc->t_gen);
    if (a->calibrate)
        mpct_bench_peak_print(stdout, &bc->peak);
    printf("secure: %.3f s per batch, %.3f s per inference (median); plaintext float64 %.4f s "
           "per batch; ratio %.1f\n",
           f->worst, f->per_inf, b->plain_med, b->plain_med > 0 ? f->worst / b->plain_med : 0);
    printf("CPU per batch (median, polling included): P0 %.3f s, P1 %.3f s, P2 %.3f s", f->cpu_p[0], f->cpu_p[1],
           f->cpu_p[2]);
    if (bc->node_cores > 0)
        printf("; the parties kept %.0f%% of the node's %d cores busy", 100 * f->busy, bc->node_cores);
    printf(" (transport %s%s)\n", mpct_net_backend(bc->r->net),
           mpct_net_encrypted(bc->r->net) ? ", links encrypted with AES-128-GCM" : "");
    const mpct_net_link *link = mpct_net_get_link(bc->r->net);
    if (link)
        printf("network: %s emulated, %.3g Gbit/s and %.3g ms round trip per link (measured %.3g Gbit/s, %.3g ms); "
               "rounds x one-way delay = %.2f s of the batch\n",
               a->network, link->rate_bps / 1e9, 2e3 * link->one_way_s, bc->link_rate / 1e9, 1e3 * bc->link_rtt,
               (double)f->rounds * link->one_way_s);
    else
        printf("network: none emulated (this machine's transport: measured %.3g Gbit/s, %.3g ms round trip)\n",
               bc->link_rate / 1e9, 1e3 * bc->link_rtt);
    printf("time split (party 0, per batch): %.3f s local work, %.3f s waiting for the other parties\n",
           f->own - f->wait, f->wait);
    printf("bytes sent per batch: P0 %.1f MB, P1 %.1f MB, P2 %.1f MB, total %.1f MB; rounds %llu\n",
           all[M_BYTES] / 1e6, all[M_N + M_BYTES] / 1e6, all[2 * M_N + M_BYTES] / 1e6, f->tot / 1e6,
           (unsigned long long)f->rounds);
    printf("peak RSS: P0 %.0f MiB, P1 %.0f MiB, P2 %.0f MiB (secure passes: %.0f, %.0f, %.0f MiB; after "
           "weight sharing: %.0f, %.0f, %.0f MiB)\n",
           all[M_PEAK] / 1048576.0, all[M_N + M_PEAK] / 1048576.0, all[2 * M_N + M_PEAK] / 1048576.0,
           all[M_PEAK_SECURE] / 1048576.0, all[M_N + M_PEAK_SECURE] / 1048576.0,
           all[2 * M_N + M_PEAK_SECURE] / 1048576.0, all[M_RSS_WEIGHTS] / 1048576.0,
           all[M_N + M_RSS_WEIGHTS] / 1048576.0, all[2 * M_N + M_RSS_WEIGHTS] / 1048576.0);
    printf("round latency (8-byte token P0 -> P1 -> P2 -> P0, %d cycles): median %.1f us per hop, "
           "p90 %.1f us\n", LATENCY_CYCLES, bc->lat_med * 1e6, bc->lat_p90 * 1e6);
    printf("%-16s %5s %10s %22s %12s %8s\n", "op", "layer", "wall_s", "cpu_s P0/P1/P2", "MB (all)", "rounds");
    for (int i = 0; i < nops; i++)
        printf("%-16s %5d %10.3f %8.3f/%6.3f/%6.3f %12.1f %8llu\n", b->ops[i].name, b->ops[i].layer, b->ops[i].wall,
               f->ocs[i], f->ocs[nops + i], f->ocs[2 * nops + i], f->obs[i] / 1e6,
               (unsigned long long)b->ops[i].rounds);
    if (bi > 0)
        printf("throughput at batch %zu: %.2fx that of batch %ld (inferences per second, "
               "same run)\n", b->B, f->tput, a->batches[0]);
    if (bi + 1 < a->nbatch)
        printf("\n");
}

/* One batch size: secure passes in their own scratch and RSS window, the
 * float64 reference on the owner, the figures on party 0. Returns the
 * command's status (MPCT_SCHED_EXIT_ABORT when a party failed). */
static int bench_batch(bench_ctx *bc, int bi, mpct_status st)
{
    batch_run b = {.B = (size_t)bc->a->batches[bi], .T = (size_t)bc->a->seq};
    const int me = bc->r->party, owner = 0;
    /* each batch size sizes the scratch cache by its own temporaries, not
     * by the weight sharing's or another size's */
    mpct_scratch_restart();
    /* and its own peak RSS: a window from here (else the process peak) */
    const int rss_window = mpct_perf_rss_window_start() == 0;
    if (st == MPCT_OK)
        st = make_inputs(bc, &b);
    if (st == MPCT_OK)
        st = secure_passes(bc, &b);
    /* before the float64 reference of the owner */
    b.peak_secure = rss_window ? mpct_perf_rss_window_peak() : mpct_perf_peak_rss();
    /* the secure passes are done: the owner's scratch cache goes too, so that
     * its process peak counts the reference's own memory, not the cache's as
     * well (up to twice the secure peak) */
    if (me == owner)
        mpct_scratch_release();
    if (st == MPCT_OK && me == owner)
        st = plain_passes(bc, &b);
    int code = 0, lok = st == MPCT_OK, rok = 0;
    MPI_Allreduce(&lok, &rok, 1, MPI_INT, MPI_MIN, bc->r->comm);
    if (!rok) {
        if (st != MPCT_OK && (me == 0 || st != MPCT_ERR_ARG)) /* a bad argument: said once */
            mpct_sched_error("bench model", st);
        code = MPCT_SCHED_EXIT_ABORT;
    } else {
        batch_figs f;
        gather_figs(bc, &b, bi, &f);
        if (me == 0 && bc->a->json)
            print_json(bc, &b, &f, bi);
        else if (me == 0)
            print_text(bc, &b, &f, bi);
    }
    batch_run_free(&b);
    return code;
}

/* Replica 0: the weights, the round latency, every batch size. */
static int bench_replica0(bench_ctx *bc, mpct_sched_t *s)
{
    const bench_args *a = bc->a;
    double t0 = mpct_time_now();
    int code = mpct_sched_weights(s, &bc->m, NULL);
    bc->t_share = mpct_time_now() - t0;
    if (code || bc->r->replica != 0)
        return code;
    bc->rss_weights = mpct_perf_rss_now(); /* process + weight shares, before any inference */
    mpct_status st = round_latency(bc->r->net, &bc->lat_med, &bc->lat_p90); /* collective: first */
    if (st == MPCT_OK)
        st = mpct_smodel_work_new(&bc->work);
    const mpct_model_config *c = &bc->info->cfg;
    if (a->json && a->nbatch > 1 && bc->r->party == 0)
        printf("[\n");
    /* cores of the node, when the whole replica runs on it */
    bc->node_cores = replica_cores(bc->r);
    if (st == MPCT_OK && (int64_t)a->seq > mpct_md_max_tokens(c))
        st = mpct_error_set(MPCT_ERR_ARG, "--seq %ld exceeds the model's %lld positions", a->seq,
                            (long long)mpct_md_max_tokens(c));
    for (int bi = 0; bi < a->nbatch && code == 0; bi++)
        code = bench_batch(bc, bi, st);
    if (a->json && a->nbatch > 1 && bc->r->party == 0)
        printf("]\n");
    return code;
}

/* Replicas, the optional GEMM peak, the model (generated or opened by the
 * owner) and its description on every rank. */
static int bench_setup(bench_ctx *bc, mpct_sched_t **s, mpct_job *job, int argc, char **argv)
{
    const bench_args *a = bc->a;
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    mpct_job_defaults(job);
    job->frac_bits = (int)a->frac;
    job->timeout_s = 3600;
    job->owner = 0;
    job->client = 1;
    snprintf(job->kernels, sizeof job->kernels, "%s", a->kernels);
    snprintf(job->network, sizeof job->network, "%s", a->network);
    if (a->encrypt)
        job->encrypt = 1;
    bc->synthetic = !a->model;
    if (a->model) {
        snprintf(job->model, sizeof job->model, "%s", a->model);
    } else if (wrank == 0) { /* the owner's temporary files */
        snprintf(bc->tmp_vocab, sizeof bc->tmp_vocab, "/tmp/mpct-bench-vocab-%d.txt", (int)getpid());
        snprintf(bc->tmp_model, sizeof bc->tmp_model, "/tmp/mpct-bench-%s-%d.h5", a->shape, (int)getpid());
        snprintf(job->model, sizeof job->model, "%s", bc->tmp_model);
    }
    bc->model = job->model;
    const mpct_sched_config cfg = {"bench model", job, argc, argv, 0, 0};
    if (mpct_sched_open(s, &cfg))
        return 1;
    bc->r = mpct_sched_replica_of(*s);
    bc->info = mpct_sched_info(*s);
    if (bc->r->nreplicas > 1 && wrank == 0)
        fprintf(stderr,
                "mpct bench model: note: %d ranks form %d replicas; replica 0 (ranks 0-2) alone runs the "
                "benchmark, the others wait (mpct run spreads work over every replica)\n",
                3 * bc->r->nreplicas, bc->r->nreplicas);
    mpct_status st = MPCT_OK;
    if (a->calibrate && (st = mpct_bench_peak(a->kernels, (int)a->reps, &bc->peak)) != MPCT_OK) {
        if (wrank == 0)
            mpct_sched_error("bench model", st);
        return 1;
    }
    int ok = 1;
    if (wrank == 0 && bc->synthetic && (st = make_model(bc)) != MPCT_OK)
        ok = mpct_sched_fail(*s, st);
    if (!mpct_sched_agree(ok))
        return 1;
    if ((st = mpct_net_measure_link(bc->r->net, &bc->link_rtt, &bc->link_rate)) != MPCT_OK) {
        mpct_sched_error("bench model", st);
        return MPCT_SCHED_EXIT_ABORT;
    }
    return mpct_sched_describe(*s);
}

int mpct_bench_model(int argc, char **argv)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    bench_args a;
    int p = parse(argc, argv, wrank, &a);
    if (p >= 0)
        return p;
    bench_ctx bc;
    memset(&bc, 0, sizeof bc);
    bc.a = &a;
    mpct_job job;
    mpct_sched_t *s = NULL;
    int code = bench_setup(&bc, &s, &job, argc, argv);
    code = code ? code : bench_replica0(&bc, s);
    mpct_smodel_work_free(bc.work);
    if (bc.tmp_model[0])
        unlink(bc.tmp_model);
    if (bc.tmp_vocab[0])
        unlink(bc.tmp_vocab);
    mpct_sched_close(s, code);
    return code;
}
