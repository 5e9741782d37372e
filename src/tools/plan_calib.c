/*
 * plan_calib.c — the calibrations of `mpct plan` and the cost model fitted
 * to them (plan.h, src/tools/PLAN.md): reads `mpct bench model --json`
 * files (one object, or an array of one per batch size), checks every
 * field, and fits the seconds per round, the per-inference work of each op
 * class, the bytes per block, the weight-sharing throughput and the memory
 * model over the calibrations of the base's shape and sequence length.
 *
 * Invariants: reads files only (no MPI); every bad input names the file and
 * the field; a calibration of another shape or sequence length is used with
 * a warning and scaled by the class sizes of PLAN.md.
 */
#include "mpct_perf.h"
#include "plan.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int op_class(const char *op)
{
    if (!strncmp(op, "input", 5)) return PLAN_K_INPUT;
    if (!strncmp(op, "embed", 5)) return PLAN_K_EMBED;
    if (!strncmp(op, "matmul", 6)) return PLAN_K_MATMUL;
    if (strstr(op, "softmax")) return PLAN_K_SOFTMAX;
    if (strstr(op, "gelu")) return PLAN_K_GELU;
    if (strstr(op, "layernorm")) return PLAN_K_LAYERNORM;
    if (!strncmp(op, "pool", 4)) return PLAN_K_POOL;
    return PLAN_K_OTHER;
}

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
static int calib_from_json(cJSON *o, const char *path, mpct_plan_calib *c)
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
        c->wall[PLAN_K_OTHER] += c->batch_s - sum;
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
int mpct_plan_load_calib(const char *path, mpct_plan_calib *cal, int *n, int max)
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

static int same_shape(const mpct_plan_shape *a, const mpct_plan_shape *b)
{
    return a->L == b->L && a->H == b->H && a->V == b->V && a->A == b->A && a->F == b->F;
}

void mpct_plan_model_build(mpct_plan_model *m, const mpct_plan_shape *target, double T_job, double seq_len,
                           const mpct_plan_calib *cal, int ncal, double alpha_flag, double startup_flag, int quiet)
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
    const mpct_plan_calib *b = &cal[best];
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
    for (int k = 0; k < PLAN_K_N; k++)
        wsum += b->wall[k];
    for (int k = 0; k < PLAN_K_N; k++)
        m->c[k] = wsum > 0 ? work * b->wall[k] / wsum : (k == PLAN_K_OTHER ? work : 0);
    if (fit_line(x, yb, n, &m->b0, &m->b1) || m->b0 < 0 || m->b1 <= 0)
        m->b0 = 0, m->b1 = b->bytes_total / b->B;
    m->rho = rr * (target->L + 1) / (b->sh.L + 1);
    m->beta = b->setup_s > 0 ? mpct_plan_param_count(&b->sh) / b->setup_s : 0;
    m->t0 = startup_flag >= 0 ? startup_flag : b->startup_s >= 0 ? b->startup_s : PLAN_DEFAULT_STARTUP;
    /* memory: peak = c0 + k * mpct_plan_act_bytes over the base shape's calibrations with peak RSS (PLAN.md): c0 the
     * measured RSS after weight sharing, k by least squares through it; without that RSS, c0 and k by a line
     * fit, or with one point c0 = the measured process baseline + 16 P */
    double xm[PLAN_MAX_CAL], ym[PLAN_MAX_CAL], cm[PLAN_MAX_CAL], c0 = 0, k = 0, sxy = 0, sxx = 0;
    int nm = 0, have_c0 = 1;
    for (int i = 0; i < ncal; i++)
        if (same_shape(&cal[i].sh, &b->sh) && cal[i].peak_rss > 0) {
            xm[nm] = mpct_plan_act_bytes(&b->sh, cal[i].B, cal[i].T), ym[nm] = cal[i].peak_rss;
            cm[nm] = cal[i].rss_weights;
            have_c0 = have_c0 && cm[nm] > 0;
            nm++;
        }
    if (nm && !have_c0 && (fit_line(xm, ym, nm, &c0, &k) || c0 <= 0 || k <= 0)) {
        c0 = 0; /* the rejected fit's intercept must not seed the average below */
        for (int i = 0; i < nm; i++)
            cm[i] = PLAN_BASE_RSS + 16 * mpct_plan_param_count(&b->sh), have_c0 = 1;
    }
    if (nm && have_c0) {
        for (int i = 0; i < nm; i++)
            sxy += xm[i] * (ym[i] - cm[i]), sxx += xm[i] * xm[i], c0 += cm[i] / nm;
        k = fmax(0, sxy / sxx);
    }
    m->mem_ok = nm > 0;
    m->mem_c0 = c0 + 16 * (mpct_plan_param_count(target) - mpct_plan_param_count(&b->sh));
    m->mem_k = k;
    for (int i = 0; i < ncal; i++)
        for (int r = 1; r <= 64; r++)
            if (cal[i].slowdown[r] > 0)
                m->sigma_cal[r] = cal[i].slowdown[r];
}
