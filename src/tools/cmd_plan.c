/*
 * cmd_plan.c — `mpct plan`: predicts the run time and bytes of an `mpct run`
 * job from calibration files (`mpct bench model --json` on the target
 * machine) and recommends sbatch parameters for a deadline.
 *
 * MPCT_COMMAND(plan, 0, "predict run time and bytes of a job, recommend sbatch parameters")
 *
 * This file holds the options, the job's model shape and token counts, and
 * the output (table or --json); the cost model is plan_calib.c (reading
 * calibrations, fitting) and plan_predict.c (predictions, memory,
 * placement), documented in src/tools/PLAN.md.
 *
 * Invariants: plan reads files only (no MPI); every bad input names the file
 * and the field; exit status 0 ok, 1 bad input or a job that fits no node,
 * 2 bad usage.
 */
#include "mpct_model_desc.h"
#include "mpct_io.h"
#include "mpct_records.h"
#include "mpct_job.h"
#include "mpct_perf.h"
#include "mpct_tok.h"
#include "opt.h"
#include "mpct_net.h"
#include "plan.h"
#include "tool_common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Names of the op classes PLAN_K_* in --json output. */
static const char *const class_name[PLAN_K_N] = {"input", "embed", "matmul", "softmax", "gelu", "layernorm", "pool",
                                                 "other"};

static const char *CMD = "plan";

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

static void plan_machine(FILE *f)
{
    fprintf(f, "\nThis machine: %ld cores (the --cores-per-node default); the --startup default is %.1f s.\n",
            sysconf(_SC_NPROCESSORS_ONLN), PLAN_DEFAULT_STARTUP);
}

static const mpct_opt plan_opts_table[] = {
    {"calibration", 0, "CAL.json", "a calibration made on the target machine (repeatable; required)"},
    {"model", 0, "FILE.h5", "model (for its shape, vocabulary and the inputs' token counts)"},
    {"inputs", 0, "FILE.txt", "inputs (tokenized to get each block's padded length)"},
    {"inputs-count", 0, "N", "number of inputs instead (each counted at --seq-len tokens)"},
    {"seq-len", 0, "N", "as in mpct run (default: the job's)"},
    {"batch", 0, "N", "as in mpct run (default: the job's)"},
    {"replicas", 0, "R[,R...]", "replica counts to predict (default 1,2,4,8)"},
    {"nodes", 0, "N", "nodes for the predictions (N >= 3; default: per replica count, the fewest\n"
                      "nodes that put the parties P0, P1, P2 of every replica on 3 different nodes)"},
    {"single-node", 0, NULL, "all ranks on one node instead (no isolation between the parties; warns)"},
    {"cores-per-node", 0, "C", "cores per node (default: this machine's)"},
    {"slowdown", 0, "F", "per-replica slowdown of R > 1 replicas (default: calibration's\n"
                         "'replica_slowdown', else PLAN.md's formula)"},
    {"alpha", 0, "S", "seconds per round (default: fitted from the calibrations)"},
    {"network", 0, "lan|wan|puma|RATE:RTT", "predict over links of that rate and delay from a calibration\n"
                                           "made without one: each block adds its rounds x one-way delay\n"
                                           "and its busiest party's bytes / rate (default: the job's, none)"},
    {"startup", 0, "S", "fixed start-up seconds (default: calibration's 'startup_s', else below)"},
    {"deadline", 0, "D", "a duration with its unit: 90s, 30m, 2h, 1d, 1h30m or 1:30:00 (H:MM:SS);\n"
                         "recommends R, batch, nodes, time, memory and the mpirun line"},
    {"max-replicas", 0, "R", "largest R to consider for --deadline (default 64)"},
    {"node-mem", 0, "SIZE", "memory of a node, in GiB (256) or with a unit: 262144M, 256G, 1T (MiB,\n"
                            "GiB, TiB, as Slurm's --mem; default: this machine's MemTotal). A prediction\n"
                            "whose peak RSS per node exceeds it is flagged; --deadline recommends only\n"
                            "an #SBATCH --mem (1.2 x the peak) that fits in it, using more nodes if\n"
                            "needed, and fails (exit 1) when not even one rank per node fits"},
    {"json", 0, NULL, "machine-readable output"},
};

static const mpct_opt_cmd plan_cmd = {
    .name = "plan",
    .usage = "mpct plan [JOB.ini] --calibration CAL.json [--calibration CAL2.json ...] [options]",
    .about = "Predicts the run time and bytes of `mpct run` for the job from calibrations made on the\n"
             "target machine (`mpirun -np 3 mpct bench model --model M.h5 --seq N --batch B --json > CAL.json`;\n"
             "two batch sizes give a measured round latency; `--batch 1,4 --json` writes both into one\n"
             "file, an array that counts as one calibration per size), and with --deadline recommends sbatch\n"
             "parameters. Cost model: src/tools/PLAN.md.\n",
    MPCT_OPT_TABLE(plan_opts_table),
    .exit_fail = "bad input (the message names the file and the field), or a job that fits\n"
                 "no node (--node-mem)",
    .exit_usage = "bad usage or a bad job file: an unknown option, a missing or malformed value, options\n"
                  "that cannot go together, no calibration, model or inputs",
    .more = plan_machine,
};

typedef struct plan_opts {
    mpct_job job;
    const char *calp[PLAN_MAX_CAL];
    int nfiles, json, nodes_flag, single_node, nrep, reps[32];
    long cores, count_flag, maxr;
    double sigma_flag, alpha_flag, startup_flag, deadline;
    double node_mem; /* bytes; 0 = unknown */
} plan_opts;

/* One option that takes a value v; 0 or 2 (with a message). */
static int plan_set_option(plan_opts *o, const char *a, const char *v)
{
    long lv = 0;
    mpct_status st = MPCT_OK;
    if (!strcmp(a, "--calibration")) {
        if (o->nfiles == PLAN_MAX_CAL) { /* a file holds one or more: mpct_plan_load_calib caps the entries */
            fprintf(stderr, "mpct plan: error: at most %d calibration files\n", PLAN_MAX_CAL);
            return 2;
        }
        o->calp[o->nfiles++] = v;
    } else if (!strcmp(a, "--model")) {
        st = mpct_job_set(&o->job, "model", v, a);
    } else if (!strcmp(a, "--inputs")) {
        st = mpct_job_set(&o->job, "inputs", v, a);
    } else if (!strcmp(a, "--seq-len")) {
        st = mpct_job_set(&o->job, "seq_len", v, a);
    } else if (!strcmp(a, "--network")) {
        mpct_net_link l;
        if ((st = mpct_net_link_parse(v, &l)) == MPCT_OK)
            st = mpct_job_set(&o->job, "network", v, a);
    } else if (!strcmp(a, "--batch")) {
        st = mpct_job_set(&o->job, "batch", v, a);
    } else if (!strcmp(a, "--inputs-count")) {
        if (mpct_tool_parse_long(CMD, a, v, 1, 1L << 40, &o->count_flag))
            return 2;
    } else if (!strcmp(a, "--nodes")) {
        if (mpct_tool_parse_long(CMD, a, v, 1, 100000, &lv))
            return 2;
        o->nodes_flag = (int)lv;
    } else if (!strcmp(a, "--cores-per-node")) {
        if (mpct_tool_parse_long(CMD, a, v, 1, 100000, &o->cores))
            return 2;
    } else if (!strcmp(a, "--max-replicas")) {
        if (mpct_tool_parse_long(CMD, a, v, 1, 4096, &o->maxr))
            return 2;
    } else if (!strcmp(a, "--replicas")) {
        long lr[32];
        if ((o->nrep = mpct_tool_parse_longs(CMD, a, v, "replica counts", 1, 4096, lr, 32)) < 0)
            return 2;
        for (int k = 0; k < o->nrep; k++)
            o->reps[k] = (int)lr[k];
    } else if (!strcmp(a, "--slowdown") || !strcmp(a, "--alpha") || !strcmp(a, "--startup")) {
        char *e;
        double d = strtod(v, &e);
        int is_sd = !strcmp(a, "--slowdown");
        if (e == v || *e || !isfinite(d) || d < (is_sd ? 1 : 0)) {
            fprintf(stderr, "mpct plan: error: %s expects a number >= %d, got '%s'\n", a, is_sd, v);
            return 2;
        }
        *(is_sd ? &o->sigma_flag : !strcmp(a, "--alpha") ? &o->alpha_flag : &o->startup_flag) = d;
    } else if (!strcmp(a, "--node-mem")) {
        o->node_mem = parse_mem(v);
        if (o->node_mem <= 0) {
            fprintf(stderr, "mpct plan: error: --node-mem expects the memory of a node in GiB (a number > 0, "
                            "e.g. 256) or with a binary unit as Slurm's --mem: 262144M, 262144MiB, 256G, "
                            "256GiB, 1T; got '%s'\n", v);
            return 2;
        }
    } else if (!strcmp(a, "--deadline")) {
        o->deadline = parse_duration(v);
        if (o->deadline == -2) {
            fprintf(stderr, "mpct plan: error: --deadline '%s' has no unit (seconds? minutes? hours?): write "
                            "it as 90s, 30m, 2h, 1d, 1h30m or 1:30:00 (H:MM:SS)\n", v);
            return 2;
        }
        if (o->deadline <= 0) {
            fprintf(stderr, "mpct plan: error: --deadline expects a duration such as 90s, 30m, 2h, 1d, 1h30m "
                            "or 1:30:00 (H:MM:SS), got '%s'\n", v);
            return 2;
        }
    }
    if (st != MPCT_OK) {
        mpct_sched_error(CMD, st);
        return 2;
    }
    return 0;
}

/* The command line into *o: an optional job file first, then the options;
 * -1 to go on, else the exit status (0 after --help). */
static int plan_parse(int argc, char **argv, plan_opts *o)
{
    memset(o, 0, sizeof *o);
    mpct_job_defaults(&o->job);
    o->cores = sysconf(_SC_NPROCESSORS_ONLN), o->count_flag = -1, o->maxr = 64;
    o->alpha_flag = -1, o->startup_flag = -1, o->deadline = -1;
    o->node_mem = (double)mpct_perf_mem_total();
    /* the job file is loaded before the options override it */
    const char *file;
    mpct_opt_list l;
    int rc = mpct_opt_collect(&plan_cmd, argc, argv, &file, &l);
    if (rc >= 0)
        return rc;
    mpct_status st;
    if (file && (st = mpct_job_load(file, &o->job)) != MPCT_OK) {
        mpct_sched_error(CMD, st);
        rc = 2;
    }
    for (int k = 0; k < l.n && rc < 0; k++) {
        char a[64];
        snprintf(a, sizeof a, "--%s", l.opt[k]->name);
        if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--single-node"))
            o->single_node = 1;
        else if (plan_set_option(o, a, l.val[k]))
            rc = 2;
    }
    mpct_opt_list_free(&l);
    return rc;
}

/* The options that must go together; -1 to go on, else 2 (with a message). */
static int plan_validate(plan_opts *o)
{
    if (o->single_node && o->nodes_flag > 1) {
        fprintf(stderr, "mpct plan: error: --single-node puts every rank on one node, but --nodes asks for %d: "
                        "give one of them\n", o->nodes_flag);
        return 2;
    }
    if (!o->single_node && o->nodes_flag > 0 && o->nodes_flag < 3) {
        fprintf(stderr, "mpct plan: error: --nodes %d: the parties P0, P1, P2 of a replica run on 3 different "
                        "nodes, so a job needs at least 3 (or --single-node, with no isolation between them)\n",
                o->nodes_flag);
        return 2;
    }
    if (!o->nfiles) {
        fprintf(stderr, "mpct plan: error: no calibration: give --calibration CAL.json, made on the target machine "
                        "with `mpirun -np 3 mpct bench model --model M.h5 --seq N --batch B --json > CAL.json`\n");
        return 2;
    }
    if (!o->job.model[0]) {
        fprintf(stderr, "mpct plan: error: no model: give a job file or --model FILE.h5\n");
        return 2;
    }
    if (!o->job.inputs[0] && o->count_flag < 0) {
        fprintf(stderr, "mpct plan: error: no inputs: give a job file with [inputs] path, --inputs FILE.txt or "
                        "--inputs-count N\n");
        return 2;
    }
    if (!o->nrep) {
        int d[] = {1, 2, 4, 8};
        memcpy(o->reps, d, sizeof d);
        o->nrep = 4;
    }
    return -1;
}

/* The token count of every line of the inputs file, tokenized with the
 * model's vocabulary at seq_len: *count (n entries, malloc'd). */
static mpct_status plan_count_tokens(mpct_model_file *mf, const mpct_job *job, int32_t **count, size_t *n)
{
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 1;
    mpct_tok_t *tok = NULL;
    FILE *f = NULL;
    mpct_rec_format fmt = MPCT_REC_TEXT;
    mpct_status st = mpct_rec_format_parse(job->input_format, job->inputs, &fmt);
    if (st == MPCT_OK)
        st = mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower);
    if (st == MPCT_OK)
        st = mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &tok);
    mpct_free(vocab);
    if (st == MPCT_OK && !(f = fopen(job->inputs, "rb")))
        st = mpct_error_set(MPCT_ERR_IO, "cannot open the inputs file '%s'", job->inputs);
    size_t cap = 0, lcap = 0, seq = (size_t)job->seq_len;
    char *line = NULL;
    ssize_t len;
    int32_t *ids = malloc(seq * sizeof *ids);
    uint8_t *mask = malloc(seq);
    mpct_tok_lines ln = {.path = job->inputs};
    while (st == MPCT_OK && (len = getline(&line, &lcap, f)) >= 0) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            int32_t *c2 = realloc(*count, cap * sizeof **count);
            if (!c2) {
                st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
                break;
            }
            *count = c2;
        }
        size_t got = 0, dropped = 0;
        if (fmt == MPCT_REC_IDS) /* pre-tokenised lines: their ids, cut to seq_len as run cuts them */
            st = mpct_rec_parse_ids(job->inputs, *n + 1, line, (size_t)len, mpct_tok_vocab_size(tok), ids, seq, &got,
                                    &dropped);
        else
            st = mpct_tok_encode_line(tok, &ln, line, (size_t)len, seq, ids, mask, &got, &dropped);
        (*count)[(*n)++] = (int32_t)got;
    }
    if (st == MPCT_OK)
        mpct_tok_lines_warn(&ln, "mpct plan");
    free(line);
    free(ids);
    free(mask);
    if (f)
        fclose(f);
    mpct_tok_free(tok);
    if (st == MPCT_OK && *n == 0)
        st = mpct_error_set(MPCT_ERR_ARG, "the inputs file '%s' is empty: nothing to compute", job->inputs);
    return st;
}

/* The job's model shape (*sh) and inputs: *count and *n (count NULL with
 * --inputs-count) and their mean token count; 0, or 1 with a message. */
static int plan_read_job(const plan_opts *o, mpct_plan_shape *sh, int32_t **count, size_t *n, double *mean_tokens)
{
    const mpct_job *job = &o->job;
    if (job->encrypt == 1 || job->hide_lengths) /* said, not silently left out of the prediction */
        fprintf(stderr, "mpct plan: warning: not in the cost model: %s%s%s\n",
                job->encrypt == 1 ? "encrypt = on (perf/RESULTS.md row 18: 1.13-1.19x on BERT-base here)" : "",
                job->encrypt == 1 && job->hide_lengths ? "; " : "",
                job->hide_lengths ? "hide_lengths = 1 (every batch is computed at seq_len: plan with --inputs-count "
                                    "and the mean length = seq_len)" : "");
    mpct_model_file *mf = NULL;
    mpct_status st = mpct_model_file_open(job->model, &mf);
    if (st == MPCT_OK && (st = mpct_md_require_encoder(mpct_model_file_config(mf), job->model)) != MPCT_OK)
        mpct_model_file_close(mf); /* the cost model is the encoder's */
    if (st != MPCT_OK) {
        mpct_sched_error(CMD, st);
        return 1;
    }
    const mpct_model_config *mc = mpct_model_file_config(mf);
    if (mc->activation[0] || mc->attention[0]) /* its GeLU and softmax terms would stand for them */
        fprintf(stderr, "mpct plan: warning: not in the cost model: the model's substitutions (activation %s, "
                        "attention %s; the cost model's terms are GeLU's and softmax's)\n",
                mc->activation[0] ? mc->activation : "gelu", mc->attention[0] ? mc->attention : "softmax");
    *sh = (mpct_plan_shape){(double)mc->num_layers, (double)mc->hidden, (double)mc->heads, (double)mc->ffn,
                            (double)mc->vocab_size};
    if (job->seq_len > mpct_md_max_tokens(mc)) {
        fprintf(stderr, "mpct plan: error: seq_len %d exceeds the model's %lld positions\n", job->seq_len,
                (long long)mpct_md_max_tokens(mc));
        mpct_model_file_close(mf);
        return 1;
    }
    *count = NULL;
    *n = o->count_flag > 0 ? (size_t)o->count_flag : 0;
    *mean_tokens = job->seq_len;
    if (o->count_flag < 0) {
        st = plan_count_tokens(mf, job, count, n);
        if (st != MPCT_OK) {
            mpct_sched_error(CMD, st);
            free(*count);
            *count = NULL;
            mpct_model_file_close(mf);
            return 1;
        }
        *mean_tokens = 0;
        for (size_t k = 0; k < *n; k++)
            *mean_tokens += (*count)[k];
        *mean_tokens /= (double)*n;
    }
    mpct_model_file_close(mf);
    return 0;
}

/* Everything the output shows. */
typedef struct plan_result {
    mpct_plan_shape sh;
    mpct_plan_model m;
    size_t n;
    double mean_tokens, per_inf;
    mpct_plan_prediction pr[32], rec;
    int have_rec;
    char mpirun_line[MPCT_JOB_PATH_MAX + 128];
} plan_result;

/* A warning when predictions the output uses are of batch sizes no calibration measured. */
static void plan_warn_uncalibrated(const plan_opts *o, const plan_result *r)
{
    const mpct_plan_model *m = &r->m;
    int used_b[33], nused = 0;
    for (int k = 0; k <= o->nrep; k++) {
        int b = k < o->nrep ? r->pr[k].B : r->have_rec ? r->rec.B : 0;
        int seen = b <= 0 || mpct_plan_batch_calibrated(m, b);
        for (int q = 0; q < nused && !seen; q++)
            seen = used_b[q] == b;
        if (!seen)
            used_b[nused++] = b;
    }
    if (!nused)
        return;
    char calb[256] = "", useb[256] = "";
    for (int q = 0; q < m->ncal_batch; q++)
        snprintf(calb + strlen(calb), sizeof calb - strlen(calb), "%s%g", q ? ", " : "", m->cal_batch[q]);
    for (int q = 0; q < nused; q++)
        snprintf(useb + strlen(useb), sizeof useb - strlen(useb), "%s%d", q ? ", " : "", used_b[q]);
    fprintf(stderr, "mpct plan: warning: batch%s %s %s not calibrated: extrapolated from the calibrated batch "
                    "size%s %s (seq %g, base calibration %s); calibrate %s (mpct bench model --batch %s) for "
                    "measured values\n",
            nused > 1 ? "es" : "", useb, nused > 1 ? "are" : "is", m->ncal_batch > 1 ? "s" : "", calb, m->base->T,
            m->base->path, nused > 1 ? "them" : "it", useb);
}

/* One entry of the "predictions" array of --json. */
static void plan_json_prediction(mpct_json *j, const mpct_plan_model *m, const mpct_plan_prediction *p,
                                 double node_mem)
{
    mpct_json_obj_open(j, NULL);
    mpct_json_int(j, "replicas", p->R);
    mpct_json_int(j, "batch", p->B);
    mpct_json_int(j, "nodes", p->nodes);
    mpct_json_int(j, "ntasks_per_node", (long long)ceil(3.0 * p->R / p->nodes));
    mpct_json_int(j, "batch_calibrated", mpct_plan_batch_calibrated(m, p->B));
    mpct_json_num(j, "slowdown", p->sigma);
    mpct_json_num(j, "setup_s", p->setup_s);
    mpct_json_num(j, "inference_s", p->infer_s);
    mpct_json_num(j, "wall_s", p->wall_s);
    mpct_json_num(j, "bytes_total", p->bytes_total);
    mpct_json_num(j, "bytes_max_party", p->bytes_party_max);
    mpct_json_num(j, "setup_bytes_total", p->setup_bytes);
    if (m->mem_ok) {
        mpct_json_num(j, "mem_party_bytes", p->mem_party);
        mpct_json_num(j, "mem_node_bytes", p->mem_node);
        mpct_json_int(j, "fits_node_mem", !node_mem || p->mem_node <= node_mem);
    }
    mpct_json_obj_close(j);
}

/* The "recommendation" object of --json (with --deadline). */
static void plan_json_recommendation(mpct_json *j, const plan_opts *o, const plan_result *r)
{
    const mpct_plan_prediction *rec = &r->rec;
    mpct_json_obj_open(j, "recommendation");
    mpct_json_num(j, "deadline_s", o->deadline);
    mpct_json_int(j, "feasible", r->have_rec);
    if (r->have_rec) {
        mpct_json_int(j, "replicas", rec->R);
        mpct_json_int(j, "ntasks", 3 * rec->R);
        mpct_json_int(j, "nodes", rec->nodes);
        mpct_json_int(j, "ntasks_per_node", (long long)ceil(3.0 * rec->R / rec->nodes));
        mpct_json_int(j, "batch", rec->B);
        mpct_json_int(j, "batch_calibrated", mpct_plan_batch_calibrated(&r->m, rec->B));
        mpct_json_str(j, "mpirun", r->mpirun_line);
        mpct_json_num(j, "wall_s", rec->wall_s);
        mpct_json_num(j, "time_limit_s", ceil(fmin(o->deadline, 1.5 * rec->wall_s + 60)));
        if (r->m.mem_ok) {
            mpct_json_num(j, "mem_node_bytes", rec->mem_node);
            mpct_json_num(j, "sbatch_mem_mib", ceil(PLAN_MEM_MARGIN * rec->mem_node / 1048576.0));
        }
    }
    mpct_json_obj_close(j);
}

/* The plan as one JSON object on stdout (--json). */
static void plan_print_json(const plan_opts *o, const plan_result *r)
{
    const mpct_plan_model *m = &r->m;
    const mpct_plan_shape *sh = &r->sh;
    mpct_json j;
    mpct_json_begin(&j, stdout, 1);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "plan", "mpct");
    mpct_json_str(&j, "model", o->job.model);
    mpct_json_int(&j, "layers", (long long)sh->L);
    mpct_json_int(&j, "hidden", (long long)sh->H);
    mpct_json_int(&j, "vocab", (long long)sh->V);
    mpct_json_int(&j, "inputs", (long long)r->n);
    mpct_json_num(&j, "mean_tokens", r->mean_tokens);
    mpct_json_int(&j, "seq_len", o->job.seq_len);
    mpct_json_int(&j, "batch", o->job.batch);
    mpct_json_str(&j, "base_calibration", m->base->path);
    mpct_json_num(&j, "alpha_s_per_round", m->alpha);
    mpct_json_int(&j, "alpha_fitted", strcmp(m->alpha_source, "default") != 0);
    mpct_json_str(&j, "alpha_source", m->alpha_source);
    if (m->latency >= 0)
        mpct_json_num(&j, "round_latency_s", m->latency);
    mpct_json_num(&j, "node_mem_bytes", o->node_mem);
    mpct_json_str(&j, "placement", o->single_node ? "single-node" : "spread");
    mpct_json_arr_open(&j, "calibrated_batches");
    for (int q = 0; q < m->ncal_batch; q++)
        mpct_json_num(&j, NULL, m->cal_batch[q]);
    mpct_json_arr_close(&j);
    if (m->mem_ok) {
        mpct_json_obj_open(&j, "memory_model");
        mpct_json_num(&j, "base_bytes_per_party", m->mem_c0);
        mpct_json_num(&j, "weight_share_bytes_per_party", 16 * mpct_plan_param_count(sh));
        mpct_json_num(&j, "activation_factor", m->mem_k);
        mpct_json_obj_close(&j);
    }
    mpct_json_num(&j, "rounds_per_block", m->rho);
    mpct_json_str(&j, "network", o->job.network);
    if (m->net_rate > 0) {
        mpct_json_num(&j, "network_rate_bps", m->net_rate);
        mpct_json_num(&j, "network_rtt_s", 2 * m->net_one_way);
    }
    mpct_json_num(&j, "seconds_per_inference", r->per_inf);
    mpct_json_num(&j, "startup_s", m->t0);
    mpct_json_obj_open(&j, "work_s_per_inference_at_calibration");
    for (int k = 0; k < PLAN_K_N; k++)
        mpct_json_num(&j, class_name[k], m->c[k]);
    mpct_json_obj_close(&j);
    mpct_json_arr_open(&j, "predictions");
    for (int k = 0; k < o->nrep; k++)
        plan_json_prediction(&j, m, &r->pr[k], o->node_mem);
    mpct_json_arr_close(&j);
    if (o->deadline > 0)
        plan_json_recommendation(&j, o, r);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
}

/* The recommendation of the table output: the #SBATCH lines and the mpirun line. */
static void plan_print_recommendation(const plan_opts *o, const plan_result *r)
{
    const mpct_plan_prediction *rec = &r->rec;
    if (!r->have_rec) {
        printf("\ndeadline %.0f s: not met with up to %ld replicas at %ld cores per node%s; split the inputs "
               "(slurm/mpct-array.sbatch) or raise --max-replicas\n", o->deadline, o->maxr, o->cores,
               r->m.mem_ok ? " and the node memory (--node-mem)" : "");
        return;
    }
    char tl[32];
    fmt_time(fmin(o->deadline, 1.5 * rec->wall_s + 60), tl, sizeof tl);
    printf("\nrecommended for a deadline of %.0f s: %d replica%s, batch %d, predicted %.0f s\n", o->deadline,
           rec->R, rec->R > 1 ? "s" : "", rec->B, rec->wall_s);
    printf("#SBATCH --nodes=%d\n#SBATCH --ntasks=%d\n#SBATCH --ntasks-per-node=%d\n#SBATCH --cpus-per-task=1\n"
           "#SBATCH --time=%s\n",
           rec->nodes, 3 * rec->R, (int)ceil(3.0 * rec->R / rec->nodes), tl);
    if (r->m.mem_ok)
        printf("#SBATCH --mem=%.0fM\n", ceil(PLAN_MEM_MARGIN * rec->mem_node / 1048576.0));
    if (3 * rec->R > rec->nodes * o->cores)
        printf("#SBATCH --overcommit\n");
    printf("%s\n", r->mpirun_line);
    if (o->single_node)
        printf("(all %d ranks on one node: no isolation between the parties of a replica)\n", 3 * rec->R);
    else
        printf("(rank i on node i mod %d: the parties P0, P1, P2 of every replica on 3 different nodes; "
               "slurm/mpct-multinode.sbatch launches it so, with MPCT_CMD=\"run %s --batch %d\", and "
               "checks the placement first)\n",
               rec->nodes, o->job.source[0] ? o->job.source : "JOB.ini", rec->B);
}

/* The plan as a table on stdout. */
static void plan_print_text(const plan_opts *o, const plan_result *r)
{
    const mpct_plan_model *m = &r->m;
    const mpct_plan_shape *sh = &r->sh;
    const double node_mem = o->node_mem;
    printf("model %s: %g layers, hidden %g, vocab %g; %zu inputs (mean %.1f tokens), seq_len %d, batch %d\n",
           o->job.model, sh->L, sh->H, sh->V, r->n, r->mean_tokens, o->job.seq_len, o->job.batch);
    printf("cost model (PLAN.md): %.1f rounds per block x %.3g s per round (%s) + %.4g s per inference; "
           "start-up %.2f s; calibration %s\n",
           m->rho, m->alpha, m->alpha_source, r->per_inf - m->alpha * m->rho / o->job.batch, m->t0,
           m->base->path);
    if (m->latency >= 0)
        printf("round latency measured by bench model: %.3g s; seconds per round used: %s\n", m->latency,
               m->alpha_source);
    if (m->net_rate > 0)
        printf("network %s: each block adds %.1f rounds x %.3g ms one-way delay and its busiest party's bytes at "
               "%.3g Gbit/s\n", o->job.network, m->rho, 1e3 * m->net_one_way, m->net_rate / 1e9);
    if (m->mem_ok)
        printf("memory model (PLAN.md): %.0f MiB per party (process + %.0f MiB weight shares) + %.2f x the largest "
               "activation's shares; node memory %.1f GiB\n",
               m->mem_c0 / 1048576.0, 16 * mpct_plan_param_count(sh) / 1048576.0, m->mem_k, node_mem / 1073741824.0);
    else
        printf("memory: not predicted (no calibration has peak_rss_secure_bytes_per_party; calibrate with this "
               "version of mpct bench model)\n");
    printf("%8s %6s %6s %9s %9s %11s %10s %12s %12s %9s %9s\n", "replicas", "batch", "nodes", "slowdown",
           "setup_s", "inference_s", "wall_s", "MiB total", "MiB setup", "GiB/party", "GiB/node");
    for (int k = 0; k < o->nrep; k++) {
        const mpct_plan_prediction *p = &r->pr[k];
        printf("%8d %6d %6d %9.2f %9.2f %11.2f %10.2f %12.1f %12.1f %9.2f %9.2f%s\n", p->R, p->B, p->nodes,
               p->sigma, p->setup_s, p->infer_s, p->wall_s, p->bytes_total / 1048576.0, p->setup_bytes / 1048576.0,
               p->mem_party / 1073741824.0, p->mem_node / 1073741824.0,
               node_mem > 0 && p->mem_node > node_mem ? "  exceeds --node-mem" : "");
    }
    if (o->job.batch_auto)
        printf("(batch = auto: each row uses the fastest candidate of %d..%d that fits, as the run's search would "
               "settle on if the model is right)\n", o->job.batch_min, o->job.batch_max);
    if (o->deadline > 0)
        plan_print_recommendation(o, r);
}

/* The predictions of the rows and of the deadline into *r; 0, or 1 when
 * the job fits no node (with a message). */
static int plan_compute(const plan_opts *o, const mpct_plan_setup *s, plan_result *r)
{
    for (int k = 0; k < o->nrep; k++)
        r->pr[k] = mpct_plan_row(&r->m, s, o->reps[k], o->job.batch, o->job.batch_auto, o->job.batch_min,
                                 o->job.batch_max);
    const double node_mem = o->node_mem;
    for (int k = 0; k < o->nrep; k++) {
        const mpct_plan_prediction *p = &r->pr[k];
        if (node_mem > 0 && p->mem_node > node_mem)
            fprintf(stderr, "mpct plan: warning: %d replica%s on %d node%s, batch %d: predicted peak %.2f GiB per "
                            "node (%.0f ranks x %.2f GiB) exceeds the node memory %.2f GiB (--node-mem): use more "
                            "nodes or a smaller batch\n",
                    p->R, p->R > 1 ? "s" : "", p->nodes, p->nodes > 1 ? "s" : "", p->B, p->mem_node / 1073741824.0,
                    ceil(3.0 * p->R / p->nodes), p->mem_party / 1073741824.0, node_mem / 1073741824.0);
    }
    /* deadline: smallest R, then the fewest nodes, whose fastest batch predicted x1.25 fits; its #SBATCH --mem
     * (the margin over the predicted node peak, in MiB) must fit in --node-mem */
    r->have_rec = 0;
    if (o->deadline > 0) {
        double min_party = 0; /* the smallest per-party peak tried (batch 1), for the message when nothing fits */
        int any_fits = mpct_plan_recommend(&r->m, s, &r->rec, &r->have_rec, &min_party);
        if (!any_fits && r->m.mem_ok && node_mem > 0) {
            fprintf(stderr, "mpct plan: error: the job does not fit in the node memory: one party needs %.2f GiB at "
                            "batch 1 (predicted peak), %.2f GiB with the 1.2 margin of #SBATCH --mem, but a node has "
                            "%.2f GiB (--node-mem)%s\n",
                    min_party / 1073741824.0, PLAN_MEM_MARGIN * min_party / 1073741824.0, node_mem / 1073741824.0,
                    o->single_node || o->nodes_flag
                        ? "; more nodes (without --single-node/--nodes) put fewer ranks on each"
                        : ", even with one rank per node");
            return 1;
        }
    }
    plan_warn_uncalibrated(o, r);
    /* the launch line of the recommendation: rank i on node i mod nodes (spread) */
    r->mpirun_line[0] = 0;
    if (r->have_rec) {
        const int over = 3 * r->rec.R > r->rec.nodes * o->cores;
        snprintf(r->mpirun_line, sizeof r->mpirun_line, "mpirun -np %d%s%s mpct run %s --batch %d", 3 * r->rec.R,
                 o->single_node ? "" : " --map-by node", o->single_node && over ? " --oversubscribe" : "",
                 o->job.source[0] ? o->job.source : "JOB.ini", r->rec.B);
    }
    r->per_inf = mpct_plan_block_time(&r->m, o->job.batch, r->mean_tokens) / o->job.batch;
    return 0;
}

int mpct_cmd_plan(int argc, char **argv)
{
    plan_opts o;
    int rc = plan_parse(argc, argv, &o);
    if (rc < 0)
        rc = plan_validate(&o);
    if (rc >= 0)
        return rc;
    mpct_plan_calib *cal = calloc(PLAN_MAX_CAL, sizeof *cal);
    int ncal = 0; /* calibrations: one per object, a file may hold several */
    for (int k = 0; k < o.nfiles; k++)
        if (!cal || mpct_plan_load_calib(o.calp[k], cal, &ncal, PLAN_MAX_CAL)) {
            free(cal);
            return 1;
        }
    plan_result *r = calloc(1, sizeof *r);
    int32_t *count = NULL;
    if (!r || plan_read_job(&o, &r->sh, &count, &r->n, &r->mean_tokens)) {
        free(r);
        free(cal);
        return 1;
    }
    if (o.single_node)
        fprintf(stderr, "mpct plan: warning: --single-node: the three parties of each replica share one node, "
                        "which gives no isolation between them (the threat model puts each party on its own "
                        "node)\n");
    mpct_plan_model_build(&r->m, &r->sh, r->mean_tokens, o.job.seq_len, cal, ncal, o.alpha_flag, o.startup_flag, 0);
    mpct_net_link link;
    if (mpct_net_link_parse(o.job.network, &link) == MPCT_OK) /* checked when set */
        r->m.net_rate = link.rate_bps, r->m.net_one_way = link.one_way_s;
    const mpct_plan_setup s = {o.cores,     o.maxr,     o.single_node, o.nodes_flag, o.sigma_flag, o.node_mem,
                               o.deadline, count,      r->n,          o.job.seq_len};
    rc = plan_compute(&o, &s, r);
    if (!rc && o.json)
        plan_print_json(&o, r);
    else if (!rc)
        plan_print_text(&o, r);
    free(count);
    free(r);
    free(cal);
    return rc;
}
