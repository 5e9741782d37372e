/*
 * cmd_plan.c — `mpct plan`: predicts the run time and bytes of an `mpct run`
 * job from calibration files (`mpct bench model --json` on the target
 * machine) and recommends sbatch parameters for a deadline.
 *
 * MPCT_COMMAND(plan, 0, "predict run time and bytes of a job, recommend sbatch parameters")
 *
 * The cost model is documented in src/tools/PLAN.md; the symbols there
 * (alpha, rho, c_k, s_k, sigma, beta, t0) are the ones used below. Shape
 * letters: L layers, H hidden, A heads, F ffn, V vocabulary, T padded
 * sequence length of a block, B rows per block, R replicas.
 *
 * Invariants: plan reads files only (no MPI); every bad input names the file
 * and the field; a calibration of another shape or sequence length is used
 * with a warning and scaled by the class sizes of PLAN.md.
 */
#include "mpct_io.h"
#include "mpct_job.h"
#include "mpct_perf.h"
#include "mpct_tok.h"
#include "tool_common.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLAN_MAX_CAL 16
#define PLAN_DEFAULT_ALPHA 1e-4    /* s per round when no calibration pair fits one (PLAN.md) */
#define PLAN_DEFAULT_STARTUP 0.5   /* s: mpirun launch, key exchange, reading and tokenizing */
#define PLAN_MEM_LIMIT (2.0 * 1073741824.0) /* without peak RSS calibrated: one-hot bytes per rank a batch may take */
#define PLAN_BASE_RSS (40.0 * 1048576.0) /* process without weights (MPI, HDF5, OpenSSL), measured (PLAN.md) */
#define PLAN_MEM_MARGIN 1.2            /* #SBATCH --mem = margin x predicted node peak */

/* Op classes of PLAN.md; each scales with its own size s_k(cfg, T). */
enum { K_INPUT, K_EMBED, K_MATMUL, K_SOFTMAX, K_GELU, K_LAYERNORM, K_POOL, K_OTHER, K_N };
static const char *const class_name[K_N] = {"input", "embed", "matmul", "softmax", "gelu", "layernorm", "pool", "other"};

typedef struct shape {
    double L, H, A, F, V;
} shape;

typedef struct calib {
    char path[512];
    shape sh;
    double T, B;
    double batch_s, setup_s, bytes_total, bytes_party[3], rounds;
    double wall[K_N]; /* op wall time per class (party 0), per batch */
    double slowdown[65]; /* optional "replica_slowdown": {"2": 1.9}; 0 = absent */
    double startup_s;    /* optional "startup_s"; <0 = absent */
    double latency_s;    /* optional "round_latency_s" (measured 8-byte rounds); <0 = absent */
    double peak_rss;     /* largest party peak RSS of the secure passes, bytes; 0 = absent */
    double rss_weights;  /* largest party RSS after weight sharing, bytes; 0 = absent */
} calib;

/* Per-inference size of class k for a model shape at padded length T. */
static double class_size(int k, const shape *s, double T)
{
    double macs = T * s->V * s->H + s->L * (T * (4 * s->H * s->H + 2 * s->H * s->F) + 2 * T * T * s->H);
    switch (k) {
    case K_INPUT: return T * s->V;
    case K_EMBED: return T * s->V * s->H;
    case K_MATMUL: return s->L * (T * (4 * s->H * s->H + 2 * s->H * s->F) + 2 * T * T * s->H);
    case K_SOFTMAX: return s->L * s->A * T * T;
    case K_GELU: return s->L * T * s->F;
    case K_LAYERNORM: return (2 * s->L + 1) * T * s->H;
    case K_POOL: return T * s->H;
    default: return macs;
    }
}

static int op_class(const char *op)
{
    if (!strncmp(op, "input", 5)) return K_INPUT;
    if (!strncmp(op, "embed", 5)) return K_EMBED;
    if (!strncmp(op, "matmul", 6)) return K_MATMUL;
    if (strstr(op, "softmax")) return K_SOFTMAX;
    if (strstr(op, "gelu")) return K_GELU;
    if (strstr(op, "layernorm")) return K_LAYERNORM;
    if (!strncmp(op, "pool", 4)) return K_POOL;
    return K_OTHER;
}

/* Elements of the largest activation of a block of B rows at padded length
 * T: the one-hot input (T V), the FFN (T F), the attention scores (A T^2) or
 * the hidden states (T H); as shares 16 bytes each per party (PLAN.md). */
static double act_bytes(const shape *s, double B, double T)
{
    double e = fmax(fmax(T * s->V, T * s->F), fmax(s->A * T * T, T * s->H));
    return 16 * B * e;
}

/* Weight elements (shared once per replica 0, copied to the others). */
static double param_count(const shape *s)
{
    return s->V * s->H + 512 * s->H + s->L * (4 * s->H * s->H + 2 * s->H * s->F + 9 * s->H + s->F) + 2 * s->H;
}

static const char *CMD = "plan";

static int cal_num(cJSON *o, const char *path, const char *key, int required, double lo, double *out)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (required)
            fprintf(stderr, "mpct plan: error: calibration '%s': missing field '%s' (expected the output of "
                            "`mpct bench model --json`)\n", path, key);
        return required;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo) || !isfinite(v->valuedouble)) {
        fprintf(stderr, "mpct plan: error: calibration '%s': field '%s' must be a number >= %g\n", path, key, lo);
        return 1;
    }
    *out = v->valuedouble;
    return 0;
}

/* One calibration object (`mpct bench model --json` for one batch size);
 * path names it in messages. */
static int calib_from_json(cJSON *o, const char *path, calib *c)
{
    memset(c, 0, sizeof *c);
    c->startup_s = -1;
    snprintf(c->path, sizeof c->path, "%s", path);
    cJSON *bm = cJSON_GetObjectItemCaseSensitive(o, "benchmark");
    int bad = 0;
    if (!cJSON_IsString(bm) || strcmp(bm->valuestring, "model")) {
        fprintf(stderr, "mpct plan: error: calibration '%s': field 'benchmark' must be \"model\" (the output of "
                        "`mpct bench model --json`)\n", path);
        bad = 1;
    }
    bad = bad || cal_num(o, path, "layers", 1, 1, &c->sh.L) || cal_num(o, path, "hidden", 1, 1, &c->sh.H) ||
          cal_num(o, path, "vocab", 1, 1, &c->sh.V) || cal_num(o, path, "seq", 1, 1, &c->T) ||
          cal_num(o, path, "batch", 1, 1, &c->B) || cal_num(o, path, "median_batch_s", 1, 1e-12, &c->batch_s) ||
          cal_num(o, path, "setup_share_weights_s", 1, 0, &c->setup_s) ||
          cal_num(o, path, "bytes_total_per_batch", 1, 0, &c->bytes_total) ||
          cal_num(o, path, "rounds_per_batch", 1, 0, &c->rounds);
    c->sh.A = c->sh.F = 0;
    if (!bad) {
        c->sh.A = c->sh.H >= 64 ? floor(c->sh.H / 64) : 4; /* BERT convention when "heads" is absent */
        c->sh.F = 4 * c->sh.H;
        bad = cal_num(o, path, "heads", 0, 1, &c->sh.A) || cal_num(o, path, "ffn", 0, 1, &c->sh.F) ||
              cal_num(o, path, "startup_s", 0, 0, &c->startup_s);
    }
    c->latency_s = -1;
    if (!bad)
        bad = cal_num(o, path, "round_latency_s", 0, 0, &c->latency_s);
    /* peak RSS of the secure passes; older files: the non-owner parties' process peak (the owner also ran
     * the float64 reference) */
    cJSON *pk = cJSON_GetObjectItemCaseSensitive(o, "peak_rss_secure_bytes_per_party"), *e0;
    int first_party = pk ? 0 : 1;
    if (!pk)
        pk = cJSON_GetObjectItemCaseSensitive(o, "peak_rss_bytes_per_party");
    for (int p = first_party; p < 3; p++)
        if (cJSON_IsNumber(e0 = cJSON_GetArrayItem(pk, p)))
            c->peak_rss = fmax(c->peak_rss, e0->valuedouble);
    cJSON *rw = cJSON_GetObjectItemCaseSensitive(o, "rss_after_weights_bytes_per_party");
    for (int p = 0; p < 3; p++)
        if (cJSON_IsNumber(e0 = cJSON_GetArrayItem(rw, p)))
            c->rss_weights = fmax(c->rss_weights, e0->valuedouble);
    cJSON *bp = cJSON_GetObjectItemCaseSensitive(o, "bytes_sent_per_party_per_batch");
    for (int p = 0; !bad && p < 3; p++) {
        cJSON *e = cJSON_GetArrayItem(bp, p);
        c->bytes_party[p] = cJSON_IsNumber(e) ? e->valuedouble : c->bytes_total / 3;
    }
    cJSON *ops = cJSON_GetObjectItemCaseSensitive(o, "ops"), *op;
    double sum = 0;
    cJSON_ArrayForEach(op, ops)
    {
        cJSON *nm = cJSON_GetObjectItemCaseSensitive(op, "op"), *w = cJSON_GetObjectItemCaseSensitive(op, "wall_s_party0");
        if (!bad && (!cJSON_IsString(nm) || !cJSON_IsNumber(w) || w->valuedouble < 0)) {
            fprintf(stderr, "mpct plan: error: calibration '%s': every entry of 'ops' needs a string 'op' and a "
                            "number 'wall_s_party0' >= 0\n", path);
            bad = 1;
        }
        if (!bad) {
            c->wall[op_class(nm->valuestring)] += w->valuedouble;
            sum += w->valuedouble;
        }
    }
    if (!bad && sum < c->batch_s) /* time outside the listed ops scales with the MACs */
        c->wall[K_OTHER] += c->batch_s - sum;
    cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "replica_slowdown"), *e;
    cJSON_ArrayForEach(e, sd)
    {
        long r = strtol(e->string ? e->string : "0", NULL, 10);
        if (!bad && (r < 1 || r > 64 || !cJSON_IsNumber(e) || e->valuedouble < 1)) {
            fprintf(stderr, "mpct plan: error: calibration '%s': 'replica_slowdown' maps a replica count 1..64 "
                            "to a factor >= 1 (e.g. {\"2\": 1.8})\n", path);
            bad = 1;
        }
        if (!bad)
            c->slowdown[r] = e->valuedouble;
    }
    return bad;
}

/* A calibration file: one object, or the array `bench model --batch 1,8
 * --json` prints (one object per batch size, each a calibration, named
 * FILE[i]). Appends to cal[*n] (at most max); 1 on error, with a message. */
static int load_calib(const char *path, calib *cal, int *n, int max)
{
    cJSON *o = NULL; /* not JSON (MPCT_ERR_FORMAT, o NULL): said below, with what is expected */
    const mpct_status rs = mpct_perf_json_read(path, "the calibration file", &o);
    if (rs != MPCT_OK && rs != MPCT_ERR_FORMAT) {
        fprintf(stderr, "mpct plan: error: %s (make one with "
                        "`mpirun -np 3 mpct bench model --model M.h5 --seq N --batch B --json > cal.json`)\n",
                mpct_error_msg());
        return 1;
    }
    const int is_array = cJSON_IsArray(o);
    if (!o || !(cJSON_IsObject(o) || (is_array && cJSON_GetArraySize(o) > 0))) {
        fprintf(stderr, "mpct plan: error: calibration '%s' is not a JSON object or a non-empty array of them "
                        "(expected the output of `mpct bench model --json`)\n", path);
        cJSON_Delete(o);
        return 1;
    }
    int bad = 0, i = 0;
    for (cJSON *e = is_array ? o->child : o; e && !bad; e = is_array ? e->next : NULL, i++) {
        char name[sizeof cal->path];
        if (is_array)
            snprintf(name, sizeof name, "%s[%d]", path, i);
        else
            snprintf(name, sizeof name, "%s", path);
        if (*n >= max) {
            fprintf(stderr, "mpct plan: error: at most %d calibrations in all ('%s' is one too many)\n", max, name);
            bad = 1;
        } else if (!cJSON_IsObject(e)) {
            fprintf(stderr, "mpct plan: error: calibration '%s' is not a JSON object (expected one batch size "
                            "of `mpct bench model --json`)\n", name);
            bad = 1;
        } else {
            bad = calib_from_json(e, name, &cal[(*n)++]);
        }
    }
    cJSON_Delete(o);
    return bad;
}

/* ---- the cost model (PLAN.md) ---- */
typedef struct model {
    shape sh;          /* target */
    const calib *base; /* the calibration the per-inference work is scaled from */
    double alpha;      /* s per round */
    const char *alpha_source; /* "flag", "fitted", "measured" (round_latency_s) or "default" */
    double latency;    /* measured s per round of the base calibration; <0 = none */
    double mem_c0;     /* bytes per party without activations at the target shape: process + 16 P */
    double mem_k;      /* factor on the largest activation's share bytes (fitted from peak RSS) */
    int mem_ok;        /* 1: a memory model (the calibrations have peak RSS) */
    double rho;        /* rounds per block, target */
    double c[K_N];     /* per-inference work of class k at the base calibration, s */
    double b0, b1;     /* bytes per block (all parties) = b0 + B*b1 at the base shape */
    double beta;       /* weight-sharing throughput, weight elements per s */
    double t0;         /* startup, s */
    double sigma_cal[65];
    double cal_batch[PLAN_MAX_CAL]; /* the batch sizes calibrated at the base's shape and seq, ascending */
    int ncal_batch;
} model;

/* Least squares y = a + b*x; returns 0 when the x differ. */
static int fit_line(const double *x, const double *y, int n, double *a, double *b)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++)
        sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
    double d = n * sxx - sx * sx;
    if (n < 2 || fabs(d) < 1e-12)
        return 1;
    *b = (n * sxy - sx * sy) / d;
    *a = (sy - *b * sx) / n;
    return 0;
}

static int same_shape(const shape *a, const shape *b)
{
    return a->L == b->L && a->H == b->H && a->V == b->V && a->A == b->A && a->F == b->F;
}

static void model_build(model *m, const shape *target, double T_job, double seq_len, const calib *cal, int ncal,
                        double alpha_flag, double startup_flag, int quiet)
{
    memset(m, 0, sizeof *m);
    m->sh = *target;
    /* base: same shape, nearest seq (log distance), largest batch on ties; else nearest seq of any shape */
    int best = -1;
    double bd = 1e300;
    for (int i = 0; i < ncal; i++) {
        double d = fabs(log(cal[i].T / T_job)) + (same_shape(&cal[i].sh, target) ? 0 : 1e6) - 1e-6 * cal[i].B;
        if (d < bd)
            bd = d, best = i;
    }
    const calib *b = &cal[best];
    m->base = b;
    if (!quiet && !same_shape(&b->sh, target))
        fprintf(stderr,
                "mpct plan: warning: calibration '%s' is of another model shape (L=%g H=%g V=%g, the job's model "
                "L=%g H=%g V=%g): scaling it by the cost model; calibrate with --model for an accurate plan\n",
                b->path, b->sh.L, b->sh.H, b->sh.V, target->L, target->H, target->V);
    if (!quiet && (b->T > 2 * seq_len || 2 * b->T < seq_len))
        fprintf(stderr, "mpct plan: warning: calibration '%s' has seq %g, the job's seq_len %g: scaling by the cost "
                        "model\n", b->path, b->T, seq_len);
    /* alpha and bytes: fit over the calibrations of the base's shape and seq */
    double x[PLAN_MAX_CAL], y[PLAN_MAX_CAL], yb[PLAN_MAX_CAL], rr = b->rounds;
    int n = 0;
    for (int i = 0; i < ncal; i++)
        if (same_shape(&cal[i].sh, &b->sh) && cal[i].T == b->T) {
            x[n] = cal[i].B, y[n] = cal[i].batch_s, yb[n] = cal[i].bytes_total;
            n++;
        }
    for (int i = 0; i < n; i++) { /* the calibrated batch sizes, ascending, once each */
        int j = m->ncal_batch;
        while (j > 0 && m->cal_batch[j - 1] > x[i])
            j--;
        if (j > 0 && m->cal_batch[j - 1] == x[i])
            continue;
        memmove(m->cal_batch + j + 1, m->cal_batch + j, (size_t)(m->ncal_batch - j) * sizeof *m->cal_batch);
        m->cal_batch[j] = x[i];
        m->ncal_batch++;
    }
    double a = 0, slope = 0;
    m->latency = b->latency_s;
    if (alpha_flag >= 0) {
        m->alpha = alpha_flag;
        m->alpha_source = "flag";
    } else if (!fit_line(x, y, n, &a, &slope) && a >= 0 && slope > 0 && rr > 0) {
        /* latency plus synchronisation; never below the measured round trip */
        m->alpha = fmax(a / rr, m->latency);
        m->alpha_source = a / rr >= m->latency ? "fitted" : "measured";
    } else if (m->latency >= 0) {
        m->alpha = m->latency;
        m->alpha_source = "measured";
    } else {
        m->alpha = PLAN_DEFAULT_ALPHA;
        m->alpha_source = "default";
        if (!quiet)
            fprintf(stderr, "mpct plan: warning: %s; assuming %g s per round (PLAN.md); give two calibrations at "
                            "different --batch, or one made by this version of bench model (round_latency_s), "
                            "for a measured value\n",
                    n < 2 ? "one batch size calibrated" : "the calibrations do not fit t = alpha*rounds + B*c",
                    PLAN_DEFAULT_ALPHA);
    }
    if (m->alpha * rr > b->batch_s)
        m->alpha = b->batch_s / rr;
    /* per-inference work per class at the base: measured minus the round latency, split by op wall share */
    double work = (b->batch_s - m->alpha * rr) / b->B, wsum = 0;
    for (int k = 0; k < K_N; k++)
        wsum += b->wall[k];
    for (int k = 0; k < K_N; k++)
        m->c[k] = wsum > 0 ? work * b->wall[k] / wsum : (k == K_OTHER ? work : 0);
    if (fit_line(x, yb, n, &m->b0, &m->b1) || m->b0 < 0 || m->b1 <= 0)
        m->b0 = 0, m->b1 = b->bytes_total / b->B;
    m->rho = rr * (target->L + 1) / (b->sh.L + 1);
    m->beta = b->setup_s > 0 ? param_count(&b->sh) / b->setup_s : 0;
    m->t0 = startup_flag >= 0 ? startup_flag : b->startup_s >= 0 ? b->startup_s : PLAN_DEFAULT_STARTUP;
    /* memory: peak = c0 + k * act_bytes over the base shape's calibrations with peak RSS (PLAN.md): c0 the
     * measured RSS after weight sharing, k by least squares through it; without that RSS, c0 and k by a line
     * fit, or with one point c0 = the measured process baseline + 16 P */
    double xm[PLAN_MAX_CAL], ym[PLAN_MAX_CAL], cm[PLAN_MAX_CAL], c0 = 0, k = 0, sxy = 0, sxx = 0;
    int nm = 0, have_c0 = 1;
    for (int i = 0; i < ncal; i++)
        if (same_shape(&cal[i].sh, &b->sh) && cal[i].peak_rss > 0) {
            xm[nm] = act_bytes(&b->sh, cal[i].B, cal[i].T), ym[nm] = cal[i].peak_rss, cm[nm] = cal[i].rss_weights;
            have_c0 = have_c0 && cm[nm] > 0;
            nm++;
        }
    if (nm && !have_c0 && (fit_line(xm, ym, nm, &c0, &k) || c0 <= 0 || k <= 0)) {
        c0 = 0; /* the rejected fit's intercept must not seed the average below */
        for (int i = 0; i < nm; i++)
            cm[i] = PLAN_BASE_RSS + 16 * param_count(&b->sh), have_c0 = 1;
    }
    if (nm && have_c0) {
        for (int i = 0; i < nm; i++)
            sxy += xm[i] * (ym[i] - cm[i]), sxx += xm[i] * xm[i], c0 += cm[i] / nm;
        k = fmax(0, sxy / sxx);
    }
    m->mem_ok = nm > 0;
    m->mem_c0 = c0 + 16 * (param_count(target) - param_count(&b->sh));
    m->mem_k = k;
    for (int i = 0; i < ncal; i++)
        for (int r = 1; r <= 64; r++)
            if (cal[i].slowdown[r] > 0)
                m->sigma_cal[r] = cal[i].slowdown[r];
}

/* Seconds of one block of B rows with padded length T (one replica, no contention). */
static double block_time(const model *m, double B, double T)
{
    double t = m->alpha * m->rho;
    for (int k = 0; k < K_N; k++)
        if (m->c[k] > 0)
            t += B * m->c[k] * class_size(k, &m->sh, T) / class_size(k, &m->base->sh, m->base->T);
    return t;
}

/* Bytes (all parties) of one block: b0 scaled by rounds, B*b1 by the byte-weighted classes (input + other). */
static double block_bytes(const model *m, double B, double T)
{
    const shape *bs = &m->base->sh;
    double r = 0.5 * class_size(K_INPUT, &m->sh, T) / class_size(K_INPUT, bs, m->base->T) +
               0.5 * class_size(K_OTHER, &m->sh, T) / class_size(K_OTHER, bs, m->base->T);
    return m->b0 * m->rho / (m->base->rounds > 0 ? m->base->rounds : 1) + B * m->b1 * r;
}

/* Per-replica slowdown sigma(R) (PLAN.md). */
static double slowdown(const model *m, int R, int nodes, int cores, double flag)
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

typedef struct prediction {
    int R, B, nodes;
    double sigma, setup_s, infer_s, wall_s, bytes_total, bytes_party_max, setup_bytes, mem_onehot;
    double mem_party, mem_node; /* predicted peak RSS per party and per node (0 = no memory model) */
} prediction;

/* Predicted peak RSS of one party for blocks of B rows at padded length T. */
static double mem_party(const model *m, double B, double T)
{
    return m->mem_ok ? m->mem_c0 + m->mem_k * act_bytes(&m->sh, B, T) : 0;
}

/* Blocks in input order go to whichever replica is free first (the
 * fetch-and-add counter). Replicas that share a node's cores slow each
 * other down only while they run at the same time: the simulation advances
 * from one block completion to the next at the slowdown sigma(k) of the k
 * replicas still busy, so a replica that finishes last runs its tail at
 * full speed (processor sharing). */
static prediction predict(const model *m, int R, int B, int nodes, int cores, double sigma_flag,
                          const int32_t *count, size_t n, double T_job)
{
    prediction p = {R, B, nodes, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
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
                left[r] = block_time(m, (double)nb, T);
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
    double P = param_count(&m->sh);
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

static int batch_calibrated(const model *m, int B)
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

/* Durations: "90s", "30m", "2h", "1d", combinations such as "1h30m" (every number with its unit), or
 * "H:MM:SS" -> seconds. -2: a bare number (no unit); -1: anything else that is not a duration. */
static double parse_duration(const char *s)
{
    int h = 0, mi = 0, se = 0, used = 0;
    if (strchr(s, ':')) {
        if (sscanf(s, "%d:%d:%d%n", &h, &mi, &se, &used) == 3 && !s[used] && h >= 0 && mi >= 0 && mi < 60 &&
            se >= 0 && se < 60 && isdigit((unsigned char)s[0]))
            return h * 3600.0 + mi * 60.0 + se;
        return -1;
    }
    double tot = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        char *e;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        double v = strtod(p, &e);
        if (e == p || !isfinite(v))
            return -1;
        double u;
        if (*e == 'd') u = 86400;
        else if (*e == 'h') u = 3600;
        else if (*e == 'm') u = 60;
        else if (*e == 's') u = 1;
        else return *e || p != s ? -1 : -2; /* "2": no unit at all; "2h30": a number without one */
        tot += v * u;
        p = e + 1;
    }
    return tot;
}

/* --node-mem: a number of GiB, or a number with the unit M/MiB, G/GiB or T/TiB (binary, as Slurm's
 * --mem). Bytes; <0 when not such a value. */
static double parse_mem(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || !isfinite(v) || v <= 0 || !isdigit((unsigned char)s[0]))
        return -1;
    static const struct {
        const char *unit;
        double bytes;
    } units[] = {{"", 1073741824.0},      {"G", 1073741824.0},    {"GiB", 1073741824.0},
                 {"M", 1048576.0},        {"MiB", 1048576.0},     {"T", 1099511627776.0},
                 {"TiB", 1099511627776.0}};
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (!strcmp(e, units[k].unit))
            return v * units[k].bytes;
    return -1;
}

static void fmt_time(double s, char *buf, size_t n)
{
    long t = (long)ceil(s);
    snprintf(buf, n, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpct plan [JOB.ini] --calibration CAL.json [--calibration CAL2.json ...] [options]\n\n"
            "Predicts the run time and bytes of `mpct run` for the job from calibrations made on the\n"
            "target machine (`mpirun -np 3 mpct bench model --model M.h5 --seq N --batch B --json > CAL.json`;\n"
            "two batch sizes give a measured round latency; `--batch 1,4 --json` writes both into one\n"
            "file, an array that counts as one calibration per size), and with --deadline recommends sbatch\n"
            "parameters. Cost model: src/tools/PLAN.md.\n"
            "  --model FILE.h5       model (for its shape, vocabulary and the inputs' token counts)\n"
            "  --inputs FILE.txt     inputs (tokenized to get each block's padded length)\n"
            "  --inputs-count N      number of inputs instead (each counted at --seq-len tokens)\n"
            "  --seq-len N, --batch N  as in mpct run (default: the job's)\n"
            "  --replicas R[,R...]   replica counts to predict (default 1,2,4,8)\n"
            "  --nodes N             nodes for the predictions (N >= 3; default: per replica count, the fewest\n"
            "                        nodes that put the parties P0, P1, P2 of every replica on 3 different nodes)\n"
            "  --single-node         all ranks on one node instead (no isolation between the parties; warns)\n"
            "  --cores-per-node C    cores per node (default: this machine's, %ld)\n"
            "  --slowdown F          per-replica slowdown of R > 1 replicas (default: calibration's\n"
            "                        'replica_slowdown', else PLAN.md's formula)\n"
            "  --alpha S             seconds per round (default: fitted from the calibrations)\n"
            "  --startup S           fixed start-up seconds (default: calibration's 'startup_s', else %.1f)\n"
            "  --deadline D          a duration with its unit: 90s, 30m, 2h, 1d, 1h30m or 1:30:00 (H:MM:SS);\n"
            "                        recommends R, batch, nodes, time, memory and the mpirun line\n"
            "  --max-replicas R      largest R to consider for --deadline (default 64)\n"
            "  --node-mem SIZE       memory of a node, in GiB (256) or with a unit: 262144M, 256G, 1T (MiB,\n"
            "                        GiB, TiB, as Slurm's --mem; default: this machine's MemTotal). A prediction\n"
            "                        whose peak RSS per node exceeds it is flagged; --deadline recommends only\n"
            "                        an #SBATCH --mem (1.2 x the peak) that fits in it, using more nodes if\n"
            "                        needed, and fails (exit 1) when not even one rank per node fits\n"
            "  --json                machine-readable output\n",
            sysconf(_SC_NPROCESSORS_ONLN), PLAN_DEFAULT_STARTUP);
}

int mpct_cmd_plan(int argc, char **argv)
{
    mpct_job job;
    mpct_job_defaults(&job);
    const char *calp[PLAN_MAX_CAL];
    int nfiles = 0, json = 0, nodes_flag = 0, single_node = 0, nrep = 0, reps[32];
    long cores = sysconf(_SC_NPROCESSORS_ONLN), count_flag = -1, maxr = 64;
    double sigma_flag = 0, alpha_flag = -1, startup_flag = -1, deadline = -1;
    double node_mem = (double)mpct_perf_mem_total(); /* bytes; 0 = unknown */
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        mpct_status st = mpct_job_load(argv[i], &job);
        if (st != MPCT_OK) {
            mpct_tool_error(CMD, st);
            return 2;
        }
        i++;
    }
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long lv = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--single-node")) {
            single_node = 1;
            continue;
        }
        static const char *const valued[] = {"--calibration", "--model", "--inputs", "--seq-len", "--batch",
                                             "--inputs-count", "--nodes", "--cores-per-node", "--max-replicas",
                                             "--replicas", "--slowdown", "--alpha", "--startup", "--deadline",
                                             "--node-mem"};
        size_t q = 0;
        while (q < sizeof valued / sizeof valued[0] && strcmp(valued[q], a))
            q++;
        if (q == sizeof valued / sizeof valued[0]) {
            fprintf(stderr, "mpct plan: error: unknown option '%s' (see mpct plan --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "mpct plan: error: %s needs a value (see mpct plan --help)\n", a);
            return 2;
        }
        i++;
        mpct_status st = MPCT_OK;
        if (!strcmp(a, "--calibration")) {
            if (nfiles == PLAN_MAX_CAL) { /* a file holds one or more: load_calib caps the entries */
                fprintf(stderr, "mpct plan: error: at most %d calibration files\n", PLAN_MAX_CAL);
                return 2;
            }
            calp[nfiles++] = v;
        } else if (!strcmp(a, "--model")) {
            st = mpct_job_set(&job, "model", v, a);
        } else if (!strcmp(a, "--inputs")) {
            st = mpct_job_set(&job, "inputs", v, a);
        } else if (!strcmp(a, "--seq-len")) {
            st = mpct_job_set(&job, "seq_len", v, a);
        } else if (!strcmp(a, "--batch")) {
            st = mpct_job_set(&job, "batch", v, a);
        } else if (!strcmp(a, "--inputs-count")) {
            if (mpct_tool_parse_long(CMD, a, v, 1, 1L << 40, &count_flag))
                return 2;
        } else if (!strcmp(a, "--nodes")) {
            if (mpct_tool_parse_long(CMD, a, v, 1, 100000, &lv))
                return 2;
            nodes_flag = (int)lv;
        } else if (!strcmp(a, "--cores-per-node")) {
            if (mpct_tool_parse_long(CMD, a, v, 1, 100000, &cores))
                return 2;
        } else if (!strcmp(a, "--max-replicas")) {
            if (mpct_tool_parse_long(CMD, a, v, 1, 4096, &maxr))
                return 2;
        } else if (!strcmp(a, "--replicas")) {
            long lr[32];
            if ((nrep = mpct_tool_parse_longs(CMD, a, v, "replica counts", 1, 4096, lr, 32)) < 0)
                return 2;
            for (int k = 0; k < nrep; k++)
                reps[k] = (int)lr[k];
        } else if (!strcmp(a, "--slowdown") || !strcmp(a, "--alpha") || !strcmp(a, "--startup")) {
            char *e;
            double d = strtod(v, &e);
            int is_sd = !strcmp(a, "--slowdown");
            if (e == v || *e || !isfinite(d) || d < (is_sd ? 1 : 0)) {
                fprintf(stderr, "mpct plan: error: %s expects a number >= %d, got '%s'\n", a, is_sd, v);
                return 2;
            }
            *(is_sd ? &sigma_flag : !strcmp(a, "--alpha") ? &alpha_flag : &startup_flag) = d;
        } else if (!strcmp(a, "--node-mem")) {
            node_mem = parse_mem(v);
            if (node_mem <= 0) {
                fprintf(stderr, "mpct plan: error: --node-mem expects the memory of a node in GiB (a number > 0, "
                                "e.g. 256) or with a binary unit as Slurm's --mem: 262144M, 262144MiB, 256G, "
                                "256GiB, 1T; got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--deadline")) {
            deadline = parse_duration(v);
            if (deadline == -2) {
                fprintf(stderr, "mpct plan: error: --deadline '%s' has no unit (seconds? minutes? hours?): write "
                                "it as 90s, 30m, 2h, 1d, 1h30m or 1:30:00 (H:MM:SS)\n", v);
                return 2;
            }
            if (deadline <= 0) {
                fprintf(stderr, "mpct plan: error: --deadline expects a duration such as 90s, 30m, 2h, 1d, 1h30m "
                                "or 1:30:00 (H:MM:SS), got '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "mpct plan: error: unknown option '%s' (see mpct plan --help)\n", a);
            return 2;
        }
        if (st != MPCT_OK) {
            mpct_tool_error(CMD, st);
            return 2;
        }
    }
    if (single_node && nodes_flag > 1) {
        fprintf(stderr, "mpct plan: error: --single-node puts every rank on one node, but --nodes asks for %d: "
                        "give one of them\n", nodes_flag);
        return 2;
    }
    if (!single_node && nodes_flag > 0 && nodes_flag < 3) {
        fprintf(stderr, "mpct plan: error: --nodes %d: the parties P0, P1, P2 of a replica run on 3 different "
                        "nodes, so a job needs at least 3 (or --single-node, with no isolation between them)\n",
                nodes_flag);
        return 2;
    }
    if (!nfiles) {
        fprintf(stderr, "mpct plan: error: no calibration: give --calibration CAL.json, made on the target machine "
                        "with `mpirun -np 3 mpct bench model --model M.h5 --seq N --batch B --json > CAL.json`\n");
        return 2;
    }
    if (!job.model[0]) {
        fprintf(stderr, "mpct plan: error: no model: give a job file or --model FILE.h5\n");
        return 2;
    }
    if (!job.inputs[0] && count_flag < 0) {
        fprintf(stderr, "mpct plan: error: no inputs: give a job file with [inputs] path, --inputs FILE.txt or "
                        "--inputs-count N\n");
        return 2;
    }
    if (!nrep) {
        int d[] = {1, 2, 4, 8};
        memcpy(reps, d, sizeof d);
        nrep = 4;
    }
    calib *cal = calloc(PLAN_MAX_CAL, sizeof *cal);
    int ncal = 0; /* calibrations: one per object, a file may hold several */
    for (int k = 0; k < nfiles; k++)
        if (!cal || load_calib(calp[k], cal, &ncal, PLAN_MAX_CAL)) {
            free(cal);
            return 1;
        }

    /* the model's shape; the inputs' token counts */
    mpct_model_file *mf = NULL;
    mpct_status st = mpct_model_file_open(job.model, &mf);
    if (st != MPCT_OK) {
        mpct_tool_error(CMD, st);
        free(cal);
        return 1;
    }
    const mpct_model_config *mc = mpct_model_file_config(mf);
    shape sh = {(double)mc->num_layers, (double)mc->hidden, (double)mc->heads, (double)mc->ffn, (double)mc->vocab_size};
    if (job.seq_len > mc->max_positions) {
        fprintf(stderr, "mpct plan: error: seq_len %d exceeds the model's %lld positions\n", job.seq_len,
                (long long)mc->max_positions);
        mpct_model_file_close(mf);
        free(cal);
        return 1;
    }
    int32_t *count = NULL;
    size_t n = count_flag > 0 ? (size_t)count_flag : 0;
    double mean_tokens = job.seq_len;
    if (count_flag < 0) {
        uint8_t *vocab = NULL;
        size_t vlen = 0;
        int lower = 1;
        mpct_tok_t *tok = NULL;
        FILE *f = NULL;
        st = mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower);
        if (st == MPCT_OK)
            st = mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &tok);
        mpct_free(vocab);
        if (st == MPCT_OK && !(f = fopen(job.inputs, "rb")))
            st = mpct_error_set(MPCT_ERR_IO, "cannot open the inputs file '%s'", job.inputs);
        size_t cap = 0, lcap = 0, seq = (size_t)job.seq_len;
        char *line = NULL;
        ssize_t len;
        int32_t *ids = malloc(seq * sizeof *ids);
        uint8_t *mask = malloc(seq);
        mpct_tok_lines ln = {.path = job.inputs};
        while (st == MPCT_OK && (len = getline(&line, &lcap, f)) >= 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                int32_t *c2 = realloc(count, cap * sizeof *count);
                if (!c2) {
                    st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
                    break;
                }
                count = c2;
            }
            size_t got = 0, dropped = 0;
            st = mpct_tok_encode_line(tok, &ln, line, (size_t)len, seq, ids, mask, &got, &dropped);
            count[n++] = (int32_t)got;
        }
        if (st == MPCT_OK)
            mpct_tok_lines_warn(&ln, "mpct plan");
        free(line);
        free(ids);
        free(mask);
        if (f)
            fclose(f);
        mpct_tok_free(tok);
        if (st == MPCT_OK && n == 0)
            st = mpct_error_set(MPCT_ERR_ARG, "the inputs file '%s' is empty: nothing to compute", job.inputs);
        if (st != MPCT_OK) {
            mpct_tool_error(CMD, st);
            free(count);
            mpct_model_file_close(mf);
            free(cal);
            return 1;
        }
        mean_tokens = 0;
        for (size_t k = 0; k < n; k++)
            mean_tokens += count[k];
        mean_tokens /= (double)n;
    }
    char model_path[MPCT_JOB_PATH_MAX];
    snprintf(model_path, sizeof model_path, "%s", job.model);
    mpct_model_file_close(mf);

    if (single_node)
        fprintf(stderr, "mpct plan: warning: --single-node: the three parties of each replica share one node, "
                        "which gives no isolation between them (the threat model puts each party on its own "
                        "node)\n");
    model m;
    model_build(&m, &sh, mean_tokens, job.seq_len, cal, ncal, alpha_flag, startup_flag, 0);
    prediction pr[32];
    for (int k = 0; k < nrep; k++) {
        const int nodes = plan_nodes(reps[k], cores, single_node, nodes_flag);
        pr[k] = predict(&m, reps[k], job.batch, nodes, (int)cores, sigma_flag, count, n, job.seq_len);
        /* batch = auto: the size the run would settle on if the model is right, the fastest candidate that fits */
        for (long b = job.batch_min; job.batch_auto && b <= job.batch_max; b = b == job.batch_max ? b + 1 : 2 * b > job.batch_max ? job.batch_max : 2 * b) {
            /* the run's candidates: min, 2 min, 4 min, ..., max */
            prediction p = predict(&m, reps[k], (int)b, nodes, (int)cores, sigma_flag, count, n, job.seq_len);
            int fits = !node_mem || p.mem_node <= node_mem;
            if (b == job.batch_min || (fits && p.wall_s < pr[k].wall_s))
                pr[k] = p;
        }
    }
    for (int k = 0; k < nrep; k++)
        if (node_mem > 0 && pr[k].mem_node > node_mem)
            fprintf(stderr, "mpct plan: warning: %d replica%s on %d node%s, batch %d: predicted peak %.2f GiB per node "
                            "(%.0f ranks x %.2f GiB) exceeds the node memory %.2f GiB (--node-mem): use more nodes or a "
                            "smaller batch\n",
                    pr[k].R, pr[k].R > 1 ? "s" : "", pr[k].nodes, pr[k].nodes > 1 ? "s" : "", pr[k].B,
                    pr[k].mem_node / 1073741824.0, ceil(3.0 * pr[k].R / pr[k].nodes), pr[k].mem_party / 1073741824.0,
                    node_mem / 1073741824.0);

    /* deadline: smallest R, then the fewest nodes, whose fastest batch predicted x1.25 fits; its #SBATCH --mem
     * (the margin over the predicted node peak, in MiB) must fit in --node-mem */
    prediction rec = {0};
    int have_rec = 0, any_fits = 0;
    double min_party = 0; /* the smallest per-party peak tried (batch 1), for the message when nothing fits */
    if (deadline > 0) {
        static const int batches[] = {1, 2, 4, 8, 16, 32, 64};
        for (int R = 1; R <= maxr && !have_rec; R = R < 4 ? R + 1 : R * 2) {
            /* placements from the fewest nodes: one node; --nodes; spread with k = 3R/nodes ranks per node */
            for (int k = single_node ? 3 * R : spread_per_node(R, cores, 3L * R); k > 0 && !have_rec;
                 k = single_node || nodes_flag ? 0 : spread_per_node(R, cores, k - 1L)) {
                const int rn = single_node ? 1 : nodes_flag ? nodes_flag : 3 * R / k;
                if (nodes_flag && (3 * R) % nodes_flag)
                    continue; /* --nodes N: only R whose 3R ranks fill the N nodes evenly (rank i on node i mod N) */
                for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                    if (batches[bi] > 1 && (size_t)batches[bi] > (n + (size_t)R - 1) / (size_t)R * 2)
                        break;
                    prediction p = predict(&m, R, batches[bi], rn, (int)cores, sigma_flag, count, n, job.seq_len);
                    if (m.mem_ok && (min_party == 0 || p.mem_party < min_party))
                        min_party = p.mem_party;
                    if (m.mem_ok ? node_mem > 0 && ceil(PLAN_MEM_MARGIN * p.mem_node / 1048576.0) >
                                                       floor(node_mem / 1048576.0)
                                 : p.mem_onehot > PLAN_MEM_LIMIT)
                        break; /* larger batches need more */
                    any_fits = 1;
                    if (!have_rec || p.wall_s < rec.wall_s)
                        rec = p, have_rec = 1;
                }
                if (have_rec && 1.25 * rec.wall_s > deadline)
                    have_rec = 0;
            }
        }
        if (!any_fits && m.mem_ok && node_mem > 0) {
            fprintf(stderr, "mpct plan: error: the job does not fit in the node memory: one party needs %.2f GiB at "
                            "batch 1 (predicted peak), %.2f GiB with the 1.2 margin of #SBATCH --mem, but a node has "
                            "%.2f GiB (--node-mem)%s\n",
                    min_party / 1073741824.0, PLAN_MEM_MARGIN * min_party / 1073741824.0, node_mem / 1073741824.0,
                    single_node || nodes_flag ? "; more nodes (without --single-node/--nodes) put fewer ranks on each"
                                              : ", even with one rank per node");
            free(count);
            free(cal);
            return 1;
        }
    }

    /* batch sizes the output uses that no calibration measured: say which calibrated sizes they come from */
    int used_b[33], nused = 0;
    for (int k = 0; k <= nrep; k++) {
        int b = k < nrep ? pr[k].B : have_rec ? rec.B : 0, seen = b <= 0 || batch_calibrated(&m, b);
        for (int q = 0; q < nused && !seen; q++)
            seen = used_b[q] == b;
        if (!seen)
            used_b[nused++] = b;
    }
    if (nused) {
        char calb[256] = "", useb[256] = "";
        for (int q = 0; q < m.ncal_batch; q++)
            snprintf(calb + strlen(calb), sizeof calb - strlen(calb), "%s%g", q ? ", " : "", m.cal_batch[q]);
        for (int q = 0; q < nused; q++)
            snprintf(useb + strlen(useb), sizeof useb - strlen(useb), "%s%d", q ? ", " : "", used_b[q]);
        fprintf(stderr, "mpct plan: warning: batch%s %s %s not calibrated: extrapolated from the calibrated batch "
                        "size%s %s (seq %g, base calibration %s); calibrate %s (mpct bench model --batch %s) for "
                        "measured values\n",
                nused > 1 ? "es" : "", useb, nused > 1 ? "are" : "is", m.ncal_batch > 1 ? "s" : "", calb, m.base->T,
                m.base->path, nused > 1 ? "them" : "it", useb);
    }
    /* the launch line of the recommendation: rank i on node i mod nodes (spread) */
    char mpirun_line[sizeof job.source + 128] = "";
    if (have_rec) {
        const int over = 3 * rec.R > rec.nodes * cores;
        snprintf(mpirun_line, sizeof mpirun_line, "mpirun -np %d%s%s mpct run %s --batch %d", 3 * rec.R,
                 single_node ? "" : " --map-by node", single_node && over ? " --oversubscribe" : "",
                 job.source[0] ? job.source : "JOB.ini", rec.B);
    }

    double per_inf = block_time(&m, job.batch, mean_tokens) / job.batch;
    if (json) {
        mpct_json j;
        mpct_json_begin(&j, stdout, 1);
        mpct_json_obj_open(&j, NULL);
        mpct_json_str(&j, "plan", "mpct");
        mpct_json_str(&j, "model", model_path);
        mpct_json_int(&j, "layers", (long long)sh.L);
        mpct_json_int(&j, "hidden", (long long)sh.H);
        mpct_json_int(&j, "vocab", (long long)sh.V);
        mpct_json_int(&j, "inputs", (long long)n);
        mpct_json_num(&j, "mean_tokens", mean_tokens);
        mpct_json_int(&j, "seq_len", job.seq_len);
        mpct_json_int(&j, "batch", job.batch);
        mpct_json_str(&j, "base_calibration", m.base->path);
        mpct_json_num(&j, "alpha_s_per_round", m.alpha);
        mpct_json_int(&j, "alpha_fitted", strcmp(m.alpha_source, "default") != 0);
        mpct_json_str(&j, "alpha_source", m.alpha_source);
        if (m.latency >= 0)
            mpct_json_num(&j, "round_latency_s", m.latency);
        mpct_json_num(&j, "node_mem_bytes", node_mem);
        mpct_json_str(&j, "placement", single_node ? "single-node" : "spread");
        mpct_json_arr_open(&j, "calibrated_batches");
        for (int q = 0; q < m.ncal_batch; q++)
            mpct_json_num(&j, NULL, m.cal_batch[q]);
        mpct_json_arr_close(&j);
        if (m.mem_ok) {
            mpct_json_obj_open(&j, "memory_model");
            mpct_json_num(&j, "base_bytes_per_party", m.mem_c0);
            mpct_json_num(&j, "weight_share_bytes_per_party", 16 * param_count(&sh));
            mpct_json_num(&j, "activation_factor", m.mem_k);
            mpct_json_obj_close(&j);
        }
        mpct_json_num(&j, "rounds_per_block", m.rho);
        mpct_json_num(&j, "seconds_per_inference", per_inf);
        mpct_json_num(&j, "startup_s", m.t0);
        mpct_json_obj_open(&j, "work_s_per_inference_at_calibration");
        for (int k = 0; k < K_N; k++)
            mpct_json_num(&j, class_name[k], m.c[k]);
        mpct_json_obj_close(&j);
        mpct_json_arr_open(&j, "predictions");
        for (int k = 0; k < nrep; k++) {
            mpct_json_obj_open(&j, NULL);
            mpct_json_int(&j, "replicas", pr[k].R);
            mpct_json_int(&j, "batch", pr[k].B);
            mpct_json_int(&j, "nodes", pr[k].nodes);
            mpct_json_int(&j, "ntasks_per_node", (long long)ceil(3.0 * pr[k].R / pr[k].nodes));
            mpct_json_int(&j, "batch_calibrated", batch_calibrated(&m, pr[k].B));
            mpct_json_num(&j, "slowdown", pr[k].sigma);
            mpct_json_num(&j, "setup_s", pr[k].setup_s);
            mpct_json_num(&j, "inference_s", pr[k].infer_s);
            mpct_json_num(&j, "wall_s", pr[k].wall_s);
            mpct_json_num(&j, "bytes_total", pr[k].bytes_total);
            mpct_json_num(&j, "bytes_max_party", pr[k].bytes_party_max);
            mpct_json_num(&j, "setup_bytes_total", pr[k].setup_bytes);
            if (m.mem_ok) {
                mpct_json_num(&j, "mem_party_bytes", pr[k].mem_party);
                mpct_json_num(&j, "mem_node_bytes", pr[k].mem_node);
                mpct_json_int(&j, "fits_node_mem", !node_mem || pr[k].mem_node <= node_mem);
            }
            mpct_json_obj_close(&j);
        }
        mpct_json_arr_close(&j);
        if (deadline > 0) {
            mpct_json_obj_open(&j, "recommendation");
            mpct_json_num(&j, "deadline_s", deadline);
            mpct_json_int(&j, "feasible", have_rec);
            if (have_rec) {
                mpct_json_int(&j, "replicas", rec.R);
                mpct_json_int(&j, "ntasks", 3 * rec.R);
                mpct_json_int(&j, "nodes", rec.nodes);
                mpct_json_int(&j, "ntasks_per_node", (long long)ceil(3.0 * rec.R / rec.nodes));
                mpct_json_int(&j, "batch", rec.B);
                mpct_json_int(&j, "batch_calibrated", batch_calibrated(&m, rec.B));
                mpct_json_str(&j, "mpirun", mpirun_line);
                mpct_json_num(&j, "wall_s", rec.wall_s);
                mpct_json_num(&j, "time_limit_s", ceil(fmin(deadline, 1.5 * rec.wall_s + 60)));
                if (m.mem_ok) {
                    mpct_json_num(&j, "mem_node_bytes", rec.mem_node);
                    mpct_json_num(&j, "sbatch_mem_mib", ceil(PLAN_MEM_MARGIN * rec.mem_node / 1048576.0));
                }
            }
            mpct_json_obj_close(&j);
        }
        mpct_json_obj_close(&j);
        mpct_json_end(&j);
    } else {
        printf("model %s: %g layers, hidden %g, vocab %g; %zu inputs (mean %.1f tokens), seq_len %d, batch %d\n",
               model_path, sh.L, sh.H, sh.V, n, mean_tokens, job.seq_len, job.batch);
        printf("cost model (PLAN.md): %.1f rounds per block x %.3g s per round (%s) + %.4g s per inference; "
               "start-up %.2f s; calibration %s\n",
               m.rho, m.alpha, m.alpha_source, per_inf - m.alpha * m.rho / job.batch, m.t0,
               m.base->path);
        if (m.latency >= 0)
            printf("round latency measured by bench model: %.3g s; seconds per round used: %s\n", m.latency,
                   m.alpha_source);
        if (m.mem_ok)
            printf("memory model (PLAN.md): %.0f MiB per party (process + %.0f MiB weight shares) + %.2f x the largest "
                   "activation's shares; node memory %.1f GiB\n",
                   m.mem_c0 / 1048576.0, 16 * param_count(&sh) / 1048576.0, m.mem_k, node_mem / 1073741824.0);
        else
            printf("memory: not predicted (no calibration has peak_rss_secure_bytes_per_party; calibrate with this "
                   "version of mpct bench model)\n");
        printf("%8s %6s %6s %9s %9s %11s %10s %12s %12s %9s %9s\n", "replicas", "batch", "nodes", "slowdown",
               "setup_s", "inference_s", "wall_s", "MiB total", "MiB setup", "GiB/party", "GiB/node");
        for (int k = 0; k < nrep; k++)
            printf("%8d %6d %6d %9.2f %9.2f %11.2f %10.2f %12.1f %12.1f %9.2f %9.2f%s\n", pr[k].R, pr[k].B,
                   pr[k].nodes, pr[k].sigma, pr[k].setup_s, pr[k].infer_s, pr[k].wall_s, pr[k].bytes_total / 1048576.0,
                   pr[k].setup_bytes / 1048576.0, pr[k].mem_party / 1073741824.0, pr[k].mem_node / 1073741824.0,
                   node_mem > 0 && pr[k].mem_node > node_mem ? "  exceeds --node-mem" : "");
        if (job.batch_auto)
            printf("(batch = auto: each row uses the fastest candidate of %d..%d that fits, as the run's search would "
                   "settle on if the model is right)\n", job.batch_min, job.batch_max);
        if (deadline > 0 && !have_rec) {
            printf("\ndeadline %.0f s: not met with up to %ld replicas at %ld cores per node%s; split the inputs "
                   "(slurm/mpct-array.sbatch) or raise --max-replicas\n", deadline, maxr, cores,
                   m.mem_ok ? " and the node memory (--node-mem)" : "");
        } else if (deadline > 0) {
            char tl[32];
            fmt_time(fmin(deadline, 1.5 * rec.wall_s + 60), tl, sizeof tl);
            printf("\nrecommended for a deadline of %.0f s: %d replica%s, batch %d, predicted %.0f s\n", deadline,
                   rec.R, rec.R > 1 ? "s" : "", rec.B, rec.wall_s);
            printf("#SBATCH --nodes=%d\n#SBATCH --ntasks=%d\n#SBATCH --ntasks-per-node=%d\n#SBATCH --cpus-per-task=1\n"
                   "#SBATCH --time=%s\n",
                   rec.nodes, 3 * rec.R, (int)ceil(3.0 * rec.R / rec.nodes), tl);
            if (m.mem_ok)
                printf("#SBATCH --mem=%.0fM\n", ceil(PLAN_MEM_MARGIN * rec.mem_node / 1048576.0));
            if (3 * rec.R > rec.nodes * cores)
                printf("#SBATCH --overcommit\n");
            printf("%s\n", mpirun_line);
            if (single_node)
                printf("(all %d ranks on one node: no isolation between the parties of a replica)\n", 3 * rec.R);
            else
                printf("(rank i on node i mod %d: the parties P0, P1, P2 of every replica on 3 different nodes; "
                       "slurm/mpct-multinode.sbatch launches it so, with MPCT_CMD=\"run %s --batch %d\", and "
                       "checks the placement first)\n",
                       rec.nodes, job.source[0] ? job.source : "JOB.ini", rec.B);
        }
    }
    free(count);
    free(cal);
    return 0;
}
