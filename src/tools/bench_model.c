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
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "bench.h"
#include "mpct_model.h"
#include "tool_common.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpirun -np 3 mpct bench model [--shape tiny|minilm|bert-base | --model FILE.h5]\n"
            "                                     [--seq N] [--batch B[,B2...]] [--reps N] [--json] [--bits 8|16|32]\n"
            "                                     [--frac-bits F] [--kernels NAME] [--seed S] [--calibrate]\n\n"
            "Secure forward pass of a whole model: median latency per inference over --reps (default 3)\n"
            "after a warm-up (timed: the client's one-hot encoding, input sharing and the forward\n"
            "pass; not the reveal), bytes sent per party and in total, rounds, the breakdown by operation\n"
            "type, peak memory per party, and the ratio to the float64 forward pass of the same model\n"
            "run in the same job. --shape builds a model with random weights (N(0, 0.05)) and the\n"
            "BERT vocabulary size (30522) in a temporary file; --model uses a packed model (e.g. the\n"
            "real MiniLM). Defaults: --shape tiny --seq 64 --batch 1 --frac-bits 16 (8..20, as in mpct run).\n"
            "--batch 1,8 measures each batch size in turn on the same shared weights and reports the\n"
            "throughput (inferences per second) of each against the first; --json then prints an array\n"
            "of the per-batch objects, each with throughput_ratio_to_first_batch.\n"
            "--calibrate also measures the machine's ring-GEMM peak first (as `mpct bench ops\n"
            "--calibrate`: --json gets a \"calibration\" object), so the file serves both `mpct plan\n"
            "--calibration` and `mpct report --calibration` (the below_peak hint).\n"
            "CPU figures are process CPU time, which includes a party's polling for messages (the MPI\n"
            "transport spins with sched_yield): per batch the median over --reps, per op the mean;\n"
            "the busy fraction is their sum over the parties / (wall x the cores the three ranks may use),\n"
            "printed only when the three parties share one node.\n"
            "With 6, 9, ... ranks, replica 0 (ranks 0-2) alone runs the benchmark and the other\n"
            "replicas wait: `mpct run` spreads work over every replica.\n");
}

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
static int replica_cores(const mpct_replica *r)
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

int mpct_bench_model(int argc, char **argv)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    const char *shape = "tiny", *model = NULL, *kernels = "cpu";
    long seq = 64, reps = 3, bits = 16, frac = MPCT_FRAC_BITS_DEFAULT, seed = 1;
    long batches[MAX_BATCHES] = {1};
    int nbatch = 1;
    int json = 0, calibrate = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *dst = !strcmp(a, "--seq") ? &seq : !strcmp(a, "--reps") ? &reps
                  : !strcmp(a, "--bits") ? &bits : !strcmp(a, "--frac-bits") ? &frac : !strcmp(a, "--seed") ? &seed
                  : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (wrank == 0)
                usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--calibrate")) {
            calibrate = 1;
        } else if (!strcmp(a, "--batch")) {
            if ((nbatch = mpct_tool_parse_longs("bench model", a, v, "sizes", 1, 4096, batches, MAX_BATCHES)) < 0)
                return 2;
            i++;
        } else if (!strcmp(a, "--shape") && v) {
            shape = v;
            i++;
        } else if (!strcmp(a, "--model") && v) {
            model = v;
            i++;
        } else if (!strcmp(a, "--kernels") && v) {
            kernels = v;
            i++;
        } else if (dst) {
            if (mpct_tool_parse_long("bench model", a, v, dst == &frac ? MPCT_FRAC_BITS_MIN : 1,
                                     dst == &seed ? (1L << 62) : dst == &frac ? MPCT_FRAC_BITS_MAX : 4096, dst))
                return 2;
            i++;
        } else {
            if (wrank == 0)
                fprintf(stderr, "mpct bench model: error: unknown option '%s' (see mpct bench model --help)\n", a);
            return 2;
        }
    }
    if (strcmp(shape, "tiny") && strcmp(shape, "minilm") && strcmp(shape, "bert-base")) {
        if (wrank == 0)
            fprintf(stderr, "mpct bench model: error: --shape must be tiny, minilm or bert-base, got '%s'\n", shape);
        return 2;
    }
    mpct_ctx_config cfg = mpct_ctx_config_default();
    cfg.frac_bits = (int)frac;
    cfg.kernels = kernels;
    mpct_replica r;
    mpct_status st = mpct_replica_init(&r, &cfg, 3600);
    if (st != MPCT_OK) {
        if (wrank == 0 || st != MPCT_ERR_ARG)
            mpct_tool_error("bench model", st);
        mpct_replica_free(&r);
        return 1;
    }
    if (r.nreplicas > 1 && wrank == 0)
        fprintf(stderr,
                "mpct bench model: note: %d ranks form %d replicas; replica 0 (ranks 0-2) alone runs the "
                "benchmark, the others wait (mpct run spreads work over every replica)\n",
                3 * r.nreplicas, r.nreplicas);
    mpct_peak peak;
    if (calibrate && (st = mpct_bench_peak(kernels, (int)reps, &peak)) != MPCT_OK) {
        if (wrank == 0)
            mpct_tool_error("bench model", st);
        mpct_replica_free(&r);
        return 1;
    }
    const int owner = 0, client = 1, me = r.party;
    char tmp_model[256] = "", tmp_vocab[256] = "";
    mpct_model_file *mf = NULL;
    int ok = 1;
    double t_gen = 0;
    if (wrank == owner) {
        if (!model) {
            snprintf(tmp_vocab, sizeof tmp_vocab, "/tmp/mpct-bench-vocab-%d.txt", (int)getpid());
            snprintf(tmp_model, sizeof tmp_model, "/tmp/mpct-bench-%s-%d.h5", shape, (int)getpid());
            double t0 = mpct_time_now();
            if (write_vocab(tmp_vocab))
                st = mpct_error_set(MPCT_ERR_IO, "cannot write a temporary vocabulary to %s", tmp_vocab);
            else
                st = mpct_io_write_synthetic(tmp_model, shape, tmp_vocab, 0, (int)bits, 0, (uint64_t)seed, NULL);
            t_gen = mpct_time_now() - t0;
            model = tmp_model;
        }
        if (st == MPCT_OK)
            st = mpct_model_file_open(model, &mf);
        if (st != MPCT_OK) {
            mpct_tool_error("bench model", st);
            ok = 0;
        }
    }
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    int rc = 0;
    if (!all_ok) {
        rc = 1;
        goto out;
    }
    if (r.replica == 0) {
        mpct_smodel_info info;
        mpct_smodel *m = NULL;
        double t_share = mpct_time_now();
        st = mpct_smodel_share_info(r.ctx, owner, mf, &info);
        if (st == MPCT_OK)
            st = mpct_smodel_share(r.ctx, owner, mf, &info, &m, NULL, NULL);
        t_share = mpct_time_now() - t_share;
        uint64_t rss_weights = mpct_perf_rss_now(); /* process + weight shares, before any inference */
        double lat_med = 0, lat_p90 = 0;
        if (st == MPCT_OK)
            st = round_latency(r.net, &lat_med, &lat_p90);
        const mpct_model_config *c = &info.cfg;
        double first_per_inf = 0;
        if (json && nbatch > 1 && me == 0)
            printf("[\n");
        /* cores of the node, when the whole replica runs on it */
        const int node_cores = replica_cores(&r);
        if (st == MPCT_OK && (size_t)seq > (size_t)c->max_positions)
            st = mpct_error_set(MPCT_ERR_ARG, "--seq %ld exceeds the model's %lld positions", seq,
                                (long long)c->max_positions);
        for (int bi = 0; bi < nbatch && rc == 0; bi++) {
            const size_t B = (size_t)batches[bi], T = (size_t)seq, V = (size_t)c->vocab_size;
            /* each batch size sizes the scratch cache by its own temporaries,
             * not by the weight sharing's or another size's */
            mpct_scratch_restart();
            /* and its own peak RSS: a window from here (else the process peak) */
            const int rss_window = mpct_perf_rss_window_start() == 0;
            int32_t *ids = NULL, *maski = NULL, *counts = NULL;
            double *times = calloc((size_t)reps, sizeof *times), *cpus = calloc((size_t)reps, sizeof *cpus);
            if (st == MPCT_OK && (!times || !cpus))
                st = mpct_error_set(MPCT_ERR_NOMEM, "bench model: out of memory");
            mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0};
            if (st == MPCT_OK && (me == client || me == owner)) {
                ids = malloc(B * T * sizeof *ids);
                maski = malloc(B * T * sizeof *maski);
                counts = malloc(B * sizeof *counts);
                mpct_rng rng = {(uint64_t)seed};
                for (size_t i = 0; i < B * T; i++) {
                    ids[i] = (int32_t)(104 + mpct_rng_next(&rng) % (V > 104 ? V - 104 : 1)) % (int32_t)V;
                    maski[i] = 1;
                }
                for (size_t i = 0; i < B; i++)
                    counts[i] = (int32_t)T;
            }
            mpct_net_counters before = {0}, after = {0};
            int nops = 0;
            opstat ops[MPCT_NET_MAX_OPS];
            for (long rep = -1; st == MPCT_OK && rep < reps; rep++) {
                /* one inference = input sharing + forward (+ the reveal, untimed) */
                MPI_Barrier(r.comm);
                if (rep == 0) {
                    mpct_net_reset_counters(r.net);
                    before = mpct_net_total(r.net);
                }
                double t0 = mpct_time_now(), c0 = mpct_time_cpu();
                mpct_share_free(&OH);
                mpct_share_free(&MK);
                mpct_share_free(&IN);
                st = mpct_smodel_input(r.ctx, client, &info, me == client ? ids : NULL, T, me == client ? counts : NULL,
                                       B, T, &OH, &MK, &IN);
                if (st == MPCT_OK)
                    st = mpct_smodel_forward(r.ctx, m, &OH, &MK, &IN, B, T, &E, NULL);
                if (rep >= 0) {
                    times[rep] = mpct_time_now() - t0;
                    cpus[rep] = mpct_time_cpu() - c0;
                }
            }
            after = mpct_net_total(r.net);
            /* before the float64 reference of the owner */
            uint64_t peak_secure = rss_window ? mpct_perf_rss_window_peak() : mpct_perf_peak_rss();
            nops = mpct_net_op_count(r.net);
            for (int i = 0; i < nops; i++) {
                mpct_net_counters oc = mpct_net_op_counters(r.net, i);
                snprintf(ops[i].name, sizeof ops[i].name, "%s", mpct_net_op_name(r.net, i));
                ops[i].layer = mpct_net_op_layer(r.net, i);
                ops[i].wall = oc.wall_s / (double)reps;
                ops[i].cpu = oc.cpu_s / (double)reps;
                ops[i].bytes = oc.bytes_sent / (uint64_t)reps;
                ops[i].rounds = oc.rounds / (uint64_t)reps;
            }
            /* float64 reference on the owner, same ids. Loaded per batch size
             * and freed before the next one's secure passes, whose peak RSS
             * window must not hold it (BERT-base: ~0.9 GB of float64). */
            double plain_med = 0;
            /* the secure passes are done: their shares go, and the owner's
             * scratch cache too, so that its process peak counts the
             * reference's own memory, not the cache's as well (up to twice
             * the secure peak) */
            mpct_share *sh[] = {&OH, &MK, &IN, &E};
            for (size_t i = 0; i < 4; i++)
                mpct_share_free(sh[i]);
            if (me == owner)
                mpct_scratch_release();
            if (st == MPCT_OK && me == owner) {
                mpct_ref_model *ref = NULL;
                st = mpct_ref_load(model, &ref);
                double *emb = malloc(B * (size_t)c->hidden * sizeof *emb), *pt = calloc((size_t)reps, sizeof *pt);
                for (long rep = 0; st == MPCT_OK && rep < reps; rep++) {
                    double t0 = mpct_time_now();
                    st = mpct_ref_forward(ref, ids, maski, B, T, emb, NULL);
                    pt[rep] = mpct_time_now() - t0;
                }
                plain_med = mpct_perf_median(pt, (size_t)reps);
                free(emb);
                free(pt);
                mpct_ref_free(ref);
            }
            int lok = st == MPCT_OK, rok = 0;
            MPI_Allreduce(&lok, &rok, 1, MPI_INT, MPI_MIN, r.comm);
            if (!rok) {
                if (st != MPCT_OK && (me == 0 || st != MPCT_ERR_ARG)) /* a bad argument: said once */
                    mpct_tool_error("bench model", st);
                rc = MPCT_EXIT_ABORT;
            } else {
                double med = mpct_perf_median(times, (size_t)reps), worst = 0;
                MPI_Reduce(&med, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, r.comm); /* latency: party 0's own figures */
                enum { M_BYTES, M_PEAK, M_PEAK_SECURE, M_RSS_WEIGHTS, M_CPU_NS, M_N };
                uint64_t mine[M_N] = {(after.bytes_sent - before.bytes_sent) / (uint64_t)reps, mpct_perf_peak_rss(),
                                      peak_secure, rss_weights,
                                      (uint64_t)(mpct_perf_median(cpus, (size_t)reps) * 1e9)};
                uint64_t all[3 * M_N] = {0};
                MPI_Gather(mine, M_N, MPI_UINT64_T, all, M_N, MPI_UINT64_T, 0, r.comm);
                uint64_t rounds = (after.rounds - before.rounds) / (uint64_t)reps;
                /* op bytes: sum over parties */
                uint64_t ob[MPCT_NET_MAX_OPS], obs[MPCT_NET_MAX_OPS];
                for (int i = 0; i < nops; i++)
                    ob[i] = ops[i].bytes;
                MPI_Reduce(ob, obs, nops, MPI_UINT64_T, MPI_SUM, 0, r.comm);
                /* CPU per op and party (polling included, see the usage text) */
                double oc[MPCT_NET_MAX_OPS], ocs[3 * MPCT_NET_MAX_OPS];
                for (int i = 0; i < nops; i++)
                    oc[i] = ops[i].cpu;
                MPI_Gather(oc, nops, MPI_DOUBLE, ocs, nops, MPI_DOUBLE, 0, r.comm);
                if (me == 0) {
                    uint64_t tot = all[M_BYTES] + all[M_N + M_BYTES] + all[2 * M_N + M_BYTES];
                    double per_inf = worst / (double)B;
                    if (bi == 0)
                        first_per_inf = per_inf;
                    /* inferences per second against the first batch size's */
                    const double tput = per_inf > 0 ? first_per_inf / per_inf : 0;
                    double cpu_p[3], cpu_sum = 0;
                    for (int p = 0; p < 3; p++)
                        cpu_sum += cpu_p[p] = all[M_N * p + M_CPU_NS] * 1e-9;
                    /* the share of the node's cores the parties kept busy (only
                     * meaningful when the replica shares one node) */
                    double busy = worst > 0 && node_cores > 0 ? cpu_sum / (worst * node_cores) : 0;
                    if (json) {
                        mpct_json j;
                        if (bi > 0)
                            printf(",\n");
                        mpct_json_begin(&j, stdout, 1);
                        mpct_json_obj_open(&j, NULL);
                        mpct_json_str(&j, "benchmark", "model");
                        mpct_json_str(&j, "shape", model == tmp_model ? shape : "file");
                        mpct_json_str(&j, "model", model == tmp_model ? "(random weights)" : model);
                        mpct_json_int(&j, "layers", c->num_layers);
                        mpct_json_int(&j, "hidden", c->hidden);
                        mpct_json_int(&j, "heads", c->heads);
                        mpct_json_int(&j, "ffn", c->ffn);
                        mpct_json_int(&j, "vocab", c->vocab_size);
                        mpct_json_int(&j, "seq", (long long)T);
                        mpct_json_int(&j, "batch", (long long)B);
                        mpct_json_int(&j, "reps", reps);
                        mpct_json_int(&j, "frac_bits", frac);
                        mpct_json_str(&j, "kernels", kernels);
                        if (calibrate)
                            mpct_bench_peak_json(&j, &peak);
                        mpct_json_num(&j, "setup_share_weights_s", t_share);
                        mpct_json_num(&j, "median_batch_s", worst);
                        mpct_json_num(&j, "median_latency_per_inference_s", per_inf);
                        if (nbatch > 1)
                            mpct_json_num(&j, "throughput_ratio_to_first_batch", tput);
                        mpct_json_num(&j, "plain_median_batch_s", plain_med);
                        mpct_json_num(&j, "ratio_secure_to_plain", plain_med > 0 ? worst / plain_med : 0);
                        mpct_json_arr_open(&j, "cpu_s_per_party_per_batch");
                        for (int p = 0; p < 3; p++)
                            mpct_json_num(&j, NULL, cpu_p[p]);
                        mpct_json_arr_close(&j);
                        if (node_cores > 0)
                            mpct_json_num(&j, "node_cpu_busy_fraction", busy);
                        mpct_json_str(&j, "transport", mpct_net_backend(r.net));
                        party_ints(&j, "bytes_sent_per_party_per_batch", all, M_N, M_BYTES);
                        mpct_json_int(&j, "bytes_total_per_batch", (long long)tot);
                        mpct_json_int(&j, "rounds_per_batch", (long long)rounds);
                        party_ints(&j, "peak_rss_bytes_per_party", all, M_N, M_PEAK);
                        party_ints(&j, "peak_rss_secure_bytes_per_party", all, M_N, M_PEAK_SECURE);
                        party_ints(&j, "rss_after_weights_bytes_per_party", all, M_N, M_RSS_WEIGHTS);
                        mpct_json_num(&j, "round_latency_s", lat_med);
                        mpct_json_num(&j, "round_latency_p90_s", lat_p90);
                        mpct_json_int(&j, "round_latency_samples", LATENCY_CYCLES);
                        mpct_json_arr_open(&j, "ops");
                        for (int i = 0; i < nops; i++) {
                            mpct_json_obj_open(&j, NULL);
                            mpct_json_str(&j, "op", ops[i].name);
                            mpct_json_int(&j, "layer", ops[i].layer);
                            mpct_json_num(&j, "wall_s_party0", ops[i].wall);
                            mpct_json_arr_open(&j, "cpu_s_per_party");
                            for (int p = 0; p < 3; p++)
                                mpct_json_num(&j, NULL, ocs[p * nops + i]);
                            mpct_json_arr_close(&j);
                            mpct_json_int(&j, "bytes_all_parties", (long long)obs[i]);
                            mpct_json_int(&j, "rounds", (long long)ops[i].rounds);
                            mpct_json_obj_close(&j);
                        }
                        mpct_json_arr_close(&j);
                        mpct_json_obj_close(&j);
                        mpct_json_end(&j);
                    } else {
                        printf("model %s: %lld layers, hidden %lld, vocab %lld; seq %zu, batch %zu, %ld reps%s\n",
                               model == tmp_model ? shape : model, (long long)c->num_layers, (long long)c->hidden,
                               (long long)c->vocab_size, T, B, reps, model == tmp_model ? " (random weights)" : "");
                        printf("weight sharing %.2f s (model generation %.2f s)\n", t_share, t_gen);
                        if (calibrate)
                            mpct_bench_peak_print(stdout, &peak);
                        printf("secure: %.3f s per batch, %.3f s per inference (median); plaintext float64 %.4f s "
                               "per batch; ratio %.1f\n",
                               worst, per_inf, plain_med, plain_med > 0 ? worst / plain_med : 0);
                        printf("CPU per batch (median, polling included): P0 %.3f s, P1 %.3f s, P2 %.3f s", cpu_p[0], cpu_p[1], cpu_p[2]);
                        if (node_cores > 0)
                            printf("; the parties kept %.0f%% of the node's %d cores busy", 100 * busy, node_cores);
                        printf(" (transport %s)\n", mpct_net_backend(r.net));
                        printf("bytes sent per batch: P0 %.1f MB, P1 %.1f MB, P2 %.1f MB, total %.1f MB; rounds %llu\n",
                               all[M_BYTES] / 1e6, all[M_N + M_BYTES] / 1e6, all[2 * M_N + M_BYTES] / 1e6, tot / 1e6,
                               (unsigned long long)rounds);
                        printf("peak RSS: P0 %.0f MiB, P1 %.0f MiB, P2 %.0f MiB (secure passes: %.0f, %.0f, %.0f MiB; after "
                               "weight sharing: %.0f, %.0f, %.0f MiB)\n",
                               all[M_PEAK] / 1048576.0, all[M_N + M_PEAK] / 1048576.0, all[2 * M_N + M_PEAK] / 1048576.0,
                               all[M_PEAK_SECURE] / 1048576.0, all[M_N + M_PEAK_SECURE] / 1048576.0,
                               all[2 * M_N + M_PEAK_SECURE] / 1048576.0, all[M_RSS_WEIGHTS] / 1048576.0,
                               all[M_N + M_RSS_WEIGHTS] / 1048576.0, all[2 * M_N + M_RSS_WEIGHTS] / 1048576.0);
                        printf("round latency (8-byte token P0 -> P1 -> P2 -> P0, %d cycles): median %.1f us per hop, "
                               "p90 %.1f us\n", LATENCY_CYCLES, lat_med * 1e6, lat_p90 * 1e6);
                        printf("%-16s %5s %10s %22s %12s %8s\n", "op", "layer", "wall_s", "cpu_s P0/P1/P2", "MB (all)",
                               "rounds");
                        for (int i = 0; i < nops; i++)
                            printf("%-16s %5d %10.3f %8.3f/%6.3f/%6.3f %12.1f %8llu\n", ops[i].name, ops[i].layer,
                                   ops[i].wall, ocs[i], ocs[nops + i], ocs[2 * nops + i], obs[i] / 1e6,
                                   (unsigned long long)ops[i].rounds);
                        if (bi > 0)
                            printf("throughput at batch %zu: %.2fx that of batch %ld (inferences per second, "
                                   "same run)\n", B, tput, batches[0]);
                        if (bi + 1 < nbatch)
                            printf("\n");
                    }
                }
            }
            free(counts);
            free(ids);
            free(maski);
            free(times);
            free(cpus);
        }
        if (json && nbatch > 1 && me == 0)
            printf("]\n");
        mpct_smodel_free(m);
    }
out:
    mpct_model_file_close(mf);
    if (tmp_model[0])
        unlink(tmp_model);
    if (tmp_vocab[0])
        unlink(tmp_vocab);
    mpct_replica_free(&r);
    return rc;
}
