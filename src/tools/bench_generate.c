/*
 * bench_generate.c — `mpct bench generate`: secure greedy generation
 * (mpct_smodel_generate) of a decoder shape with random weights: a prefill
 * of --prompt random tokens, then --generate new tokens with the secret KV
 * cache. Reports the prefill's seconds, bytes (all parties) and rounds,
 * the median seconds per generated token and its bytes and rounds, and
 * where a generated token's time and bytes go (party 0's op records over
 * the steps). Three ranks (replica 0 of the world); owner party 0, client
 * party 1.
 *
 * The weights are a consistent replicated sharing of random values drawn
 * from --seed (each component uniform in +-0.02, so each weight in about
 * +-0.06) made locally on every party: no owner, no sharing round. The
 * protocols' messages, rounds and local work do not depend on the values,
 * so this measures the cost of a real model of the same shape; the
 * generated ids themselves mean nothing.
 *
 * Shapes (public configs): gpt2 (GPT-2 base: 12 layers, 768 wide, 12
 * heads, ffn 3072, vocabulary 50257, 1024 positions, tied head), smollm2
 * (SmolLM2-135M: 30 layers, 576 wide, 9 heads, 3 key/value heads, ffn
 * 1536, vocabulary 49152, RoPE base 100000, tied head), tiny-gpt2 and
 * tiny-llama (2 layers, 32 wide: a quick check of the command).
 *
 * MPCT_COMMAND markers live in cmd_*.c: this is a mode of `mpct bench`.
 */
#include "bench.h"
#include "mpct_model.h"
#include "mpct_sched.h"
#include "tool_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mpct_opt bench_gen_opts[] = {
    {"shape", 0, "gpt2|smollm2|tiny-gpt2|tiny-llama", "the decoder shape (random weights; default tiny-gpt2)"},
    {"prompt", 0, "N", "prompt tokens (default 32)"},
    {"generate", 0, "N", "new tokens (default 8; the first comes from the prefill)"},
    {"seed", 0, "S", "seed of the weights and the prompt (default 1)"},
};

const mpct_opt_cmd mpct_bench_generate_cmd = {
    .name = "bench generate",
    .usage = "mpirun -np 3 mpct bench generate [--shape S] [--prompt N] [--generate N] [--seed S]",
    .about = "Secure greedy generation of a decoder shape with random weights: prefill seconds, bytes\n"
             "(all parties) and rounds; per generated token the median seconds, bytes and rounds, and\n"
             "where the steps' time and bytes went per operation (party 0).\n",
    MPCT_OPT_TABLE(bench_gen_opts),
    .exit_fail = MPCT_BENCH_EXIT_FAIL,
    .exits_more = mpct_bench_exits_more,
};

static int gen_shape(const char *s, mpct_smodel_info *info)
{
    memset(info, 0, sizeof *info);
    mpct_model_config *c = &info->cfg;
    const int llama = !strcmp(s, "smollm2") || !strcmp(s, "tiny-llama");
    snprintf(c->architecture, sizeof c->architecture, "%s", llama ? "llama" : "gpt2");
    snprintf(c->pooling, sizeof c->pooling, "lm");
    snprintf(info->hash, sizeof info->hash, "bench-generate-%s", s);
    c->type_vocab_size = 1;
    c->layer_norm_eps = 1e-5;
    c->tie_word_embeddings = 1;
    c->rope_theta = llama ? 100000.0 : 0.0;
    info->word_lift = 1;
    if (!strcmp(s, "gpt2")) {
        c->num_layers = 12, c->hidden = 768, c->heads = 12, c->kv_heads = 12, c->head_dim = 64, c->ffn = 3072;
        c->vocab_size = 50257, c->max_positions = 1024;
    } else if (!strcmp(s, "smollm2")) {
        c->num_layers = 30, c->hidden = 576, c->heads = 9, c->kv_heads = 3, c->head_dim = 64, c->ffn = 1536;
        c->vocab_size = 49152, c->max_positions = 8192;
    } else if (!strcmp(s, "tiny-gpt2") || !strcmp(s, "tiny-llama")) {
        c->num_layers = 2, c->hidden = 32, c->heads = 4, c->kv_heads = llama ? 2 : 4, c->head_dim = 8, c->ffn = 64;
        c->vocab_size = 300, c->max_positions = 128;
    } else {
        return 0;
    }
    return 1;
}

/* splitmix64: the random components, the same on every party */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void fill_weights(mpct_smodel *m, int party, uint64_t seed, int f)
{
    const int64_t span = (int64_t)(0.04 * ldexp(1.0, f)) + 1;
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++) {
        mpct_share *x = mpct_smodel_share_write(m, i);
        for (int c = 0; c < 2; c++) {
            const uint64_t comp = (uint64_t)((party + c) % 3), base = mix(seed ^ (i << 20) ^ (comp << 56));
            for (size_t e = 0; e < x->n; e++)
                x->s[c][e] = (uint64_t)((int64_t)(mix(base + e) % (uint64_t)span) - span / 2);
        }
    }
}

typedef struct gen_clock {
    mpct_net_t *net;
    double t0, last, *step_s;
    uint64_t *step_bytes, *step_rounds;
    mpct_net_counters prev;
    size_t steps;
} gen_clock;

/* After each pass: its wall time and this party's bytes and rounds. */
static mpct_status on_pass(mpct_ctx_t *ctx, const mpct_share *logits, void *arg)
{
    (void)ctx, (void)logits;
    gen_clock *g = arg;
    const double now = mpct_time_now();
    const mpct_net_counters t = mpct_net_total(g->net);
    g->step_s[g->steps] = now - g->last;
    g->step_bytes[g->steps] = t.bytes_sent - g->prev.bytes_sent;
    g->step_rounds[g->steps] = t.rounds - g->prev.rounds;
    g->last = now;
    g->prev = t;
    if (g->steps++ == 0) { /* the op records below cover the generated tokens only */
        mpct_net_reset_counters(g->net);
        g->prev = (mpct_net_counters){0};
    }
    return MPCT_OK;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const mpct_sched_replica *r, const gen_clock *g, const char *shape, long prompt, size_t nout)
{
    uint64_t bytes_all[2] = {0, 0}, mine[2] = {g->step_bytes[0], 0};
    for (size_t s = 1; s < g->steps; s++)
        mine[1] += g->step_bytes[s];
    MPI_Reduce(mine, bytes_all, 2, MPI_UINT64_T, MPI_SUM, 0, r->comm);
    if (r->party != 0)
        return;
    const size_t k = g->steps > 1 ? g->steps - 1 : 0;
    double *t = malloc((k + 1) * sizeof *t);
    uint64_t rounds = 0;
    for (size_t s = 0; s < k; s++)
        t[s] = g->step_s[s + 1], rounds += g->step_rounds[s + 1];
    qsort(t, k, sizeof *t, cmp_d);
    printf("bench generate %s: prompt %ld tokens, %zu generated (random weights)\n", shape, prompt, nout);
    printf("  prefill: %.3f s, %.1f MB sent by all parties, %llu rounds\n", g->step_s[0], bytes_all[0] / 1e6,
           (unsigned long long)g->step_rounds[0]);
    if (k > 0)
        printf("  per generated token: median %.3f s (min %.3f, max %.3f), %.1f MB sent by all parties, %.0f "
               "rounds\n",
               t[k / 2], t[0], t[k - 1], bytes_all[1] / 1e6 / (double)k, (double)rounds / (double)k);
    printf("  steps by op (party 0, per token): op, seconds, MB sent, rounds%s\n",
           mpct_net_op_count(g->net) >= MPCT_NET_MAX_OPS ? " (the op records are full: the lines below miss the "
                                                           "later layers and ops)" : "");
    for (int i = 0; i < mpct_net_op_count(g->net) && k > 0; i++) {
        if (mpct_net_op_layer(g->net, i) > 0)
            continue; /* layer 0 stands for every layer: the sums below are over all layers */
        double w = 0, b = 0, rd = 0;
        for (int j = 0; j < mpct_net_op_count(g->net); j++)
            if (!strcmp(mpct_net_op_name(g->net, j), mpct_net_op_name(g->net, i)) &&
                (mpct_net_op_layer(g->net, j) >= 0) == (mpct_net_op_layer(g->net, i) >= 0)) {
                const mpct_net_counters d = mpct_net_op_counters(g->net, j);
                w += d.wall_s, b += (double)d.bytes_sent, rd += (double)d.rounds;
            }
        printf("    %-24s %s %8.4f %8.3f %6.0f\n", mpct_net_op_name(g->net, i),
               mpct_net_op_layer(g->net, i) >= 0 ? "layers" : "      ", w / (double)k, b / 1e6 / (double)k,
               rd / (double)k);
    }
    free(t);
}

static mpct_status run(mpct_sched_replica *r, const mpct_smodel_info *info, const char *shape, long prompt, long gen,
                       uint64_t seed)
{
    mpct_smodel *m = NULL;
    mpct_smodel_work *w = NULL;
    mpct_status st = MPCT_OK;
    int32_t *ids = malloc((size_t)prompt * sizeof *ids), *out = malloc((size_t)gen * sizeof *out);
    gen_clock g = {.net = r->net};
    g.step_s = calloc((size_t)gen, sizeof *g.step_s);
    g.step_bytes = calloc((size_t)gen, sizeof *g.step_bytes);
    g.step_rounds = calloc((size_t)gen, sizeof *g.step_rounds);
    if (!ids || !out || !g.step_s || !g.step_bytes || !g.step_rounds) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "bench generate: out of memory");
        goto done;
    }
    for (long i = 0; i < prompt; i++)
        ids[i] = (int32_t)(mix(seed * 7919 + (uint64_t)i) % (uint64_t)info->cfg.vocab_size);
    MPCT_CALL_GOTO(st, done, mpct_smodel_alloc(info, &m));
    fill_weights(m, r->party, seed, mpct_ctx_frac_bits(r->ctx));
    MPCT_CALL_GOTO(st, done, mpct_smodel_work_new(&w));
    MPI_Barrier(r->comm);
    mpct_net_reset_counters(r->net);
    g.t0 = g.last = mpct_time_now();
    mpct_smodel_gen_opts o = {.on_logits = on_pass, .arg = &g};
    size_t nout = 0;
    MPCT_CALL_GOTO(st, done, mpct_smodel_generate(r->ctx, m, w, 1, r->party == 1 ? ids : NULL, (size_t)prompt,
                                                  (size_t)gen, NULL, 0, &o, r->party == 1 ? out : NULL, &nout));
    report(r, &g, shape, prompt, nout);
done:
    mpct_smodel_work_free(w);
    mpct_smodel_free(m);
    free(ids);
    free(out);
    free(g.step_s);
    free(g.step_bytes);
    free(g.step_rounds);
    return st;
}

int mpct_bench_generate(int argc, char **argv)
{
    const char *shape = "tiny-gpt2";
    long prompt = 32, gen = 8, seed = 1;
    int rank = 0, rc;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mpct_opt_iter it = mpct_opt_start(&mpct_bench_generate_cmd, argc, argv, 2);
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt)
            return mpct_opt_usage_error(&mpct_bench_generate_cmd, "unexpected argument '%s'", it.value);
        if (mpct_opt_take(&it, "shape", &shape))
            continue;
        long *dst = mpct_opt_is(&it, "prompt") ? &prompt : mpct_opt_is(&it, "generate") ? &gen : &seed;
        if (mpct_tool_parse_long("bench generate", it.spelled, it.value, dst == &seed ? 0 : 1,
                                 dst == &seed ? (1L << 62) : 4096, dst))
            return 2;
    }
    if (rc >= 0)
        return rc;
    mpct_smodel_info info;
    if (!gen_shape(shape, &info))
        return mpct_opt_usage_error(&mpct_bench_generate_cmd,
                                    "--shape must be gpt2, smollm2, tiny-gpt2 or tiny-llama, got '%s'", shape);
    if (prompt + gen - 1 > info.cfg.max_positions)
        return mpct_opt_usage_error(&mpct_bench_generate_cmd, "--prompt %ld and --generate %ld exceed the %lld "
                                    "positions of %s", prompt, gen, (long long)info.cfg.max_positions, shape);
    mpct_sched_replica r;
    mpct_ctx_config cfg = mpct_ctx_config_default();
    mpct_status st = mpct_sched_replica_init(&r, &cfg, 600);
    if (st == MPCT_OK && r.replica == 0)
        st = run(&r, &info, shape, prompt, gen, (uint64_t)seed);
    if (st != MPCT_OK)
        mpct_sched_error("bench generate", st);
    mpct_sched_replica_free(&r);
    return st == MPCT_OK ? 0 : 1;
}
