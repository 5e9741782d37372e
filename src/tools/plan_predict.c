/*
 * plan_predict.c — predictions of `mpct plan` from a fitted cost model
 * (plan.h, src/tools/PLAN.md): the time and bytes of each block scaled by
 * the op classes' sizes, the list scheduling of the blocks over R replicas
 * with their slowdown, weight sharing, memory per party and node, the
 * placement of the ranks on nodes, and the search for a deadline's
 * recommendation.
 *
 * Invariants: pure computation (no I/O, no MPI); a prediction depends only
 * on the model, the setup and its arguments.
 */
#include "plan.h"

#include <math.h>
#include <stdlib.h>

/* Per-inference size of class k for a model shape at padded length T. */
static double class_size(int k, const mpct_plan_shape *s, double T)
{
    double macs = T * s->V * s->H + s->L * (T * (4 * s->H * s->H + 2 * s->H * s->F) + 2 * T * T * s->H);
    switch (k) {
    case PLAN_K_INPUT: return T * s->V;
    case PLAN_K_EMBED: return T * s->V * s->H;
    case PLAN_K_MATMUL: return s->L * (T * (4 * s->H * s->H + 2 * s->H * s->F) + 2 * T * T * s->H);
    case PLAN_K_SOFTMAX: return s->L * s->A * T * T;
    case PLAN_K_GELU: return s->L * T * s->F;
    case PLAN_K_LAYERNORM: return (2 * s->L + 1) * T * s->H;
    case PLAN_K_POOL: return T * s->H;
    default: return macs;
    }
}

/* Elements of the largest activation of a block of B rows at padded length
 * T: the one-hot input (T V), the FFN (T F), the attention scores (A T^2) or
 * the hidden states (T H); as shares 16 bytes each per party (PLAN.md). */
double mpct_plan_act_bytes(const mpct_plan_shape *s, double B, double T)
{
    double e = fmax(fmax(T * s->V, T * s->F), fmax(s->A * T * T, T * s->H));
    return 16 * B * e;
}

/* Weight elements (shared once per replica 0, copied to the others). */
double mpct_plan_param_count(const mpct_plan_shape *s)
{
    return s->V * s->H + 512 * s->H + s->L * (4 * s->H * s->H + 2 * s->H * s->F + 9 * s->H + s->F) + 2 * s->H;
}

/* Bytes (all parties) of one block: b0 scaled by rounds, B*b1 by the byte-weighted classes (input + other). */
static double block_bytes(const mpct_plan_model *m, double B, double T)
{
    const mpct_plan_shape *bs = &m->base->sh;
    double r = 0.5 * class_size(PLAN_K_INPUT, &m->sh, T) / class_size(PLAN_K_INPUT, bs, m->base->T) +
               0.5 * class_size(PLAN_K_OTHER, &m->sh, T) / class_size(PLAN_K_OTHER, bs, m->base->T);
    return m->b0 * m->rho / (m->base->rounds > 0 ? m->base->rounds : 1) + B * m->b1 * r;
}

/* Seconds of one block of B rows with padded length T (one replica, no
 * contention); over --network, plus its rounds' one-way delays and its
 * busiest party's bytes at the link's rate (PLAN.md, "Network"). */
double mpct_plan_block_time(const mpct_plan_model *m, double B, double T)
{
    double t = m->alpha * m->rho;
    for (int k = 0; k < PLAN_K_N; k++)
        if (m->c[k] > 0)
            t += B * m->c[k] * class_size(k, &m->sh, T) / class_size(k, &m->base->sh, m->base->T);
    if (m->net_rate > 0) {
        double pmax = 0;
        for (int i = 0; i < 3; i++)
            pmax = fmax(pmax, m->base->bytes_party[i]);
        const double share = m->base->bytes_total > 0 ? pmax / m->base->bytes_total : 1.0 / 3;
        t += m->rho * m->net_one_way + 8 * block_bytes(m, B, T) * share / m->net_rate;
    }
    return t;
}

/* Per-replica slowdown sigma(R) (PLAN.md). */
static double slowdown(const mpct_plan_model *m, int R, int nodes, int cores, double flag)
{
    if (R == 1) /* the calibration's own condition */
        return 1;
    if (flag > 0)
        return flag;
    if (R <= 64 && m->sigma_cal[R] > 0)
        return m->sigma_cal[R];
    double per_node = ceil(3.0 * R / nodes);
    double s = fmax(1.0, per_node / cores) / fmax(1.0, 3.0 / cores);
    return s;
}

/* Predicted peak RSS of one party for blocks of B rows at padded length T. */
static double mem_party(const mpct_plan_model *m, double B, double T)
{
    return m->mem_ok ? m->mem_c0 + m->mem_k * mpct_plan_act_bytes(&m->sh, B, T) : 0;
}

/* Blocks in input order go to whichever replica is free first (the
 * fetch-and-add counter). Replicas that share a node's cores slow each
 * other down only while they run at the same time: the simulation advances
 * from one block completion to the next at the slowdown sigma(k) of the k
 * replicas still busy, so a replica that finishes last runs its tail at
 * full speed (processor sharing). */
static mpct_plan_prediction predict(const mpct_plan_model *m, int R, int B, int nodes, int cores, double sigma_flag,
                          const int32_t *count, size_t n, double T_job)
{
    mpct_plan_prediction p = {R, B, nodes, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    p.sigma = slowdown(m, R, nodes, cores, sigma_flag);
    double *left = calloc((size_t)R, sizeof *left); /* unslowed seconds left of each replica's block */
    double pmax = 0, bt = 0, Tmax = 0, now = 0;
    for (int i = 0; i < 3; i++)
        pmax = fmax(pmax, m->base->bytes_party[i]);
    size_t first = 0;
    int busy = 0;
    for (;;) {
        for (int r = 0; r < R && first < n; r++) /* idle replicas take the next blocks */
            if (left[r] <= 0) {
                size_t nb = first + (size_t)B <= n ? (size_t)B : n - first;
                double T = 0;
                for (size_t i = 0; i < nb; i++)
                    T = fmax(T, count ? count[first + i] : T_job);
                Tmax = fmax(Tmax, T);
                left[r] = mpct_plan_block_time(m, (double)nb, T);
                if (left[r] <= 0)
                    left[r] = 1e-12;
                bt += block_bytes(m, (double)nb, T);
                first += nb;
            }
        busy = 0;
        double wmin = 0;
        for (int r = 0; r < R; r++)
            if (left[r] > 0) {
                wmin = busy ? fmin(wmin, left[r]) : left[r];
                busy++;
            }
        if (!busy)
            break;
        now += wmin * slowdown(m, busy, nodes, cores, sigma_flag);
        for (int r = 0; r < R; r++)
            if (left[r] > 0)
                left[r] = left[r] - wmin > 1e-15 ? left[r] - wmin : 0;
    }
    p.infer_s = now;
    free(left);
    double P = mpct_plan_param_count(&m->sh);
    double share = m->beta > 0 ? P / m->beta : 0;
    double copy = R > 1 && m->beta > 0 ? P / m->beta * ceil(log2((double)R)) : 0;
    p.setup_s = share + copy;
    p.wall_s = m->t0 + p.setup_s + p.infer_s;
    p.bytes_total = bt;
    p.bytes_party_max = m->base->bytes_total > 0 ? bt * pmax / m->base->bytes_total : bt / 3;
    p.setup_bytes = 8 * P + (double)(R - 1) * 3 * 16 * P;
    p.mem_onehot = (double)B * T_job * m->sh.V * 8 * 3;
    p.mem_party = mem_party(m, fmin((double)B, (double)n), Tmax); /* the largest block's padded length */
    p.mem_node = ceil(3.0 * R / nodes) * p.mem_party;             /* ranks per node x per party */
    return p;
}

int mpct_plan_batch_calibrated(const mpct_plan_model *m, int B)
{
    for (int q = 0; q < m->ncal_batch; q++)
        if (m->cal_batch[q] == B)
            return 1;
    return 0;
}

/* Ranks per node of the spread placement of R replicas (PLAN.md, "Placement"): the largest divisor k
 * of 3R with k <= min(cores, R, below), so that nodes = 3R / k >= 3 hold k ranks each and rank i on
 * node i mod nodes (mpirun --map-by node) puts the parties of every replica on three different
 * nodes; 0 when no k <= below is left. */
static int spread_per_node(int R, long cores, long below)
{
    long k = R < cores ? R : cores;
    if (k > below)
        k = below;
    while (k >= 1 && (3L * R) % k)
        k--;
    return (int)(k > 0 ? k : 0);
}

/* Nodes of the predictions for R replicas: one with --single-node, --nodes N when given, else the
 * spread placement with the fewest nodes. */
static int plan_nodes(int R, long cores, int single_node, int nodes_flag)
{
    return single_node ? 1 : nodes_flag > 0 ? nodes_flag : 3 * R / spread_per_node(R, cores, 3L * R);
}

mpct_plan_prediction mpct_plan_row(const mpct_plan_model *m, const mpct_plan_setup *s, int R, int B, int batch_auto,
                                   int batch_min, int batch_max)
{
    const int nodes = plan_nodes(R, s->cores, s->single_node, s->nodes_flag);
    mpct_plan_prediction best = predict(m, R, B, nodes, (int)s->cores, s->sigma_flag, s->count, s->n, s->seq_len);
    /* batch = auto: the size the run would settle on if the model is right, the fastest candidate that fits,
     * of the run's candidates min, 2 min, 4 min, ..., max */
    for (long b = batch_min; batch_auto && b <= batch_max;
         b = b == batch_max ? b + 1 : 2 * b > batch_max ? batch_max : 2 * b) {
        mpct_plan_prediction p = predict(m, R, (int)b, nodes, (int)s->cores, s->sigma_flag, s->count, s->n, s->seq_len);
        int fits = !s->node_mem || p.mem_node <= s->node_mem;
        if (b == batch_min || (fits && p.wall_s < best.wall_s))
            best = p;
    }
    return best;
}

int mpct_plan_recommend(const mpct_plan_model *m, const mpct_plan_setup *s, mpct_plan_prediction *rec, int *have_rec,
                        double *min_party)
{
    static const int batches[] = {1, 2, 4, 8, 16, 32, 64};
    const int single_node = s->single_node, nodes_flag = s->nodes_flag;
    const long cores = s->cores;
    const size_t n = s->n;
    int any_fits = 0;
    *have_rec = 0;
    *min_party = 0;
    for (int R = 1; R <= s->maxr && !*have_rec; R = R < 4 ? R + 1 : R * 2) {
        /* placements from the fewest nodes: one node; --nodes; spread with k = 3R/nodes ranks per node */
        for (int k = single_node ? 3 * R : spread_per_node(R, cores, 3L * R); k > 0 && !*have_rec;
             k = single_node || nodes_flag ? 0 : spread_per_node(R, cores, k - 1L)) {
            const int rn = single_node ? 1 : nodes_flag ? nodes_flag : 3 * R / k;
            if (nodes_flag && (3 * R) % nodes_flag)
                continue; /* --nodes N: only R whose 3R ranks fill the N nodes evenly (rank i on node i mod N) */
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                if (batches[bi] > 1 && (size_t)batches[bi] > (n + (size_t)R - 1) / (size_t)R * 2)
                    break;
                mpct_plan_prediction p = predict(m, R, batches[bi], rn, (int)cores, s->sigma_flag, s->count, n,
                                                 s->seq_len);
                if (m->mem_ok && (*min_party == 0 || p.mem_party < *min_party))
                    *min_party = p.mem_party;
                if (m->mem_ok ? s->node_mem > 0 && ceil(PLAN_MEM_MARGIN * p.mem_node / 1048576.0) >
                                                       floor(s->node_mem / 1048576.0)
                              : p.mem_onehot > PLAN_MEM_LIMIT)
                    break; /* larger batches need more */
                any_fits = 1;
                if (!*have_rec || p.wall_s < rec->wall_s)
                    *rec = p, *have_rec = 1;
            }
            if (*have_rec && 1.25 * rec->wall_s > s->deadline)
                *have_rec = 0;
        }
    }
    return any_fits;
}
