/*
 * report.c — the end of a job: the profiling report (job.report,
 * job.prometheus; perf/REPORT.md), gathered on world rank 0 from every
 * rank's op regions; the client's own report (REPORT.client.json, written
 * by the writer, the only file with figures of the client's inputs); and
 * the writer's closing summary on stderr.
 */
#include "sched-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The "batch_tuning" report section (perf/REPORT.md) from every replica's
 * record: public figures only (sizes, rows, times, peak RSS), which every
 * party of a replica sees; the client's token counts never reach it. */
mpct_status mpct_sched_tune_section(const mpct_job *job, const sched_tune_rec *recs, int nrep,
                                    mpct_perf_report_t *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return mpct_error_set(MPCT_ERR_NOMEM, "report: out of memory");
    mpct_json j;
    mpct_json_begin(&j, f, 0);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "mode", "auto");
    mpct_json_int(&j, "batch_min", job->batch_min);
    mpct_json_int(&j, "batch_max", job->batch_max);
    mpct_json_int(&j, "mem_limit_bytes", nrep ? (long long)recs[0].t.mem_limit : 0);
    mpct_json_arr_open(&j, "replicas");
    for (int q = 0; q < nrep; q++) {
        const sched_tune_rec *tr = &recs[q];
        mpct_json_obj_open(&j, NULL);
        mpct_json_int(&j, "replica", tr->replica);
        mpct_json_int(&j, "chosen", mpct_tune_best(&tr->t));
        mpct_json_int(&j, "settled", tr->t.settled);
        mpct_json_int(&j, "batches", tr->nseq);
        mpct_json_int(&j, "base_rss_bytes", (long long)tr->t.base_rss);
        mpct_json_int(&j, "rss_per_batch", tr->rss_window);
        mpct_json_int(&j, "over_limit_at_min", tr->t.over_limit_at_min != 0);
        mpct_json_int(&j, "warmup_rows", tr->warmup_rows);
        mpct_json_num(&j, "warmup_s", tr->warmup_s);
        mpct_json_arr_open(&j, "sizes");
        for (int k = 0; k < tr->t.nstat; k++) {
            const mpct_tune_stat *st = &tr->t.stat[k];
            if (!st->batches && !st->too_big)
                continue;
            mpct_json_obj_open(&j, NULL);
            mpct_json_int(&j, "size", st->size);
            mpct_json_int(&j, "candidate", st->candidate);
            mpct_json_int(&j, "batches", st->batches);
            mpct_json_num(&j, "rows", st->rows);
            mpct_json_num(&j, "seconds", st->seconds);
            mpct_json_num(&j, "rows_per_s", mpct_tune_rows_per_s(st));
            mpct_json_int(&j, "peak_rss_bytes", (long long)st->peak_rss);
            mpct_json_int(&j, "too_big", st->too_big);
            mpct_json_obj_close(&j);
        }
        mpct_json_arr_close(&j);
        mpct_json_arr_open(&j, "sequence");
        for (int k = 0; k < tr->nseq && k < SCHED_TUNE_SEQ; k++)
            mpct_json_int(&j, NULL, tr->seq[k]);
        mpct_json_arr_close(&j);
        mpct_json_obj_close(&j);
    }
    mpct_json_arr_close(&j);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
    fclose(f);
    mpct_status st = mpct_perf_report_set_section(rep, "batch_tuning", buf);
    free(buf);
    return st;
}


/* The transport's op counters as this rank's profile regions. */
static mpct_status add_regions(mpct_sched_t *s)
{
    mpct_net_t *net = s->rep.net;
    mpct_status st = MPCT_OK;
    for (int i = 0; st == MPCT_OK && i < mpct_net_op_count(net); i++) {
        mpct_net_counters c = mpct_net_op_counters(net, i);
        mpct_perf_net pn = {c.bytes_sent, c.bytes_recv, c.rounds, c.comm_s};
        const char *name = mpct_net_op_name(net, i);
        const char *phase = !strcmp(name, "setup") || !strcmp(name, "share_weights") ||
                                    !strcmp(name, "replicate_weights")
                                ? "setup"
                                : "inference";
        int layer = mpct_net_op_layer(net, i);
        int64_t hw[MPCT_NET_MAX_PROBE];
        int nhw = mpct_net_op_probe(net, i, hw);
        st = mpct_perf_region_add(s->perf, phase, layer, name, c.wall_s, c.cpu_s, &pn, c.calls);
        if (st == MPCT_OK && nhw)
            st = mpct_perf_region_add_counters(s->perf, phase, layer, name, hw, nhw);
    }
    mpct_net_set_probe(net, NULL, NULL, 0); /* the gathers below run no ops; be explicit */
    return st;
}

/* The file name of path without its directory and its last extension. */
static void file_stem(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    snprintf(out, cap, "%.*s", (int)(dot && dot != b ? (size_t)(dot - b) : strlen(b)), b);
}

/* The job's settings and figures (world rank 0). */
static mpct_status set_fields(mpct_sched_t *s, mpct_perf_report_t *rep, const sched_tune_rec *trs,
                              const long *blocks)
{
    const mpct_job *job = &s->job;
    mpct_status s2 = MPCT_OK;
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "mode", "secure");
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "insecure_test_keys", job->test_seed != 0);
    const char *links = s->rep.encrypted                                  ? "aes-128-gcm"
                      : !strcmp(mpct_net_backend(s->rep.net), "tls") ? "tls-1.3"
                                                                      : "none";
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "link_encryption", links);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "task", job->task);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "model_hash", s->info.hash);
    char job_name[256], model_name[256]; /* the run's labels in Prometheus (perf/REPORT.md) */
    file_stem(job->source[0] ? job->source : job->output, job_name, sizeof job_name);
    file_stem(job->model, model_name, sizeof model_name);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "job", job_name);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "model", model_name);
    char started[32]; /* when the job began, for the report's plot title */
    time_t t0 = time(NULL) - (time_t)(mpct_time_now() - s->t_start);
    struct tm tm;
    strftime(started, sizeof started, "%Y-%m-%d %H:%M UTC", gmtime_r(&t0, &tm));
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "started_at", started);
    const char *slurm = getenv("SLURM_JOB_ID");
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "slurm_job_id", slurm ? slurm : "");
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "frac_bits", job->frac_bits);
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "batch_size", trs ? mpct_tune_best(&trs[0].t) : job->batch);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "batch_mode", job->batch_auto ? "auto" : "fixed");
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "hide_lengths", s->hide); /* the client's choice, told to all */
    if (trs)
        s2 = s2 ? s2 : mpct_sched_tune_section(job, trs, s->rep.nreplicas, rep);
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "seq_len", job->seq_len);
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "inferences", (double)s->rows_run);
    if (s->interrupted) /* what was measured up to the signal */
        s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "interrupted_by", mpct_sched_signal_name(s->sig));
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "wall_s", mpct_time_now() - s->t_start);
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "setup_s", s->t_share);
    s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "inference_s", s->t_infer);
    s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "kernels", job->kernels);
    for (int q = 0; q < s->rep.nreplicas && blocks; q++) {
        char key[32];
        snprintf(key, sizeof key, "blocks_replica_%d", q);
        s2 = s2 ? s2 : mpct_perf_report_set_num(rep, key, (double)blocks[3 * q]);
    }
    s2 = s2 ? s2 : mpct_sched_cache_report(&s->cst, rep);
    return s2;
}

/* Gathers and writes the report (collective). */
static mpct_status write_report(mpct_sched_t *s)
{
    const mpct_job *job = &s->job;
    mpct_perf_report_t *rep = NULL;
    mpct_status st = add_regions(s);
    long mine = (long)s->my_blocks, *blocks = NULL; /* ranges per replica */
    sched_tune_rec *trs = NULL;                      /* batch = auto: every rank's search state; the clients' count */
    int *lens = NULL, *offs = NULL; /* equal sizes: the records lie in world-rank order */
    char *all = NULL;
    mpct_sched_wgatherv(&s->rep, &mine, (int)sizeof mine, &all, &lens, &offs);
    blocks = (long *)(void *)all;
    free(lens);
    free(offs);
    if (job->batch_auto) {
        mpct_sched_wgatherv(&s->rep, &s->tr, (int)sizeof s->tr, &all, &lens, &offs);
        trs = (sched_tune_rec *)(void *)all;
        free(lens);
        free(offs);
        for (int q = 0; trs && q < s->rep.nreplicas; q++)
            trs[q] = trs[3 * q + job->client];
    }
    if (st == MPCT_OK)
        st = mpct_sched_gather_report(&s->rep, s->perf, "mpct run", &rep);
    if (st == MPCT_OK && rep) {
        st = set_fields(s, rep, trs, blocks);
        st = st ? st : mpct_sched_save_report(rep, job->report, job->prometheus);
    }
    free(blocks);
    free(trs);
    mpct_perf_report_free(rep);
    return st;
}

/* The client's own report (the writer, next to job->report): its replica's
 * figures per range size with the real token counts, which no other rank
 * receives. */
static mpct_status client_report(const mpct_sched_t *s)
{
    char path[MPCT_JOB_PATH_MAX + 16];
    mpct_sched_client_report_path(&s->job, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot write the client report '%s': %s", path, strerror(errno));
    mpct_json j;
    mpct_json_begin(&j, f, 1);
    mpct_json_obj_open(&j, NULL);
    mpct_json_str(&j, "tool", "mpct run");
    mpct_json_str(&j, "role", "client");
    const long long head[3] = {s->rep.replica, (long long)s->n_real, s->hide};
    static const char *const head_keys[3] = {"replica", "inputs", "hide_lengths"};
    for (int k = 0; k < 3; k++)
        mpct_json_int(&j, head_keys[k], head[k]);
    mpct_json_arr_open(&j, "sizes");
    for (int k = 0; k < s->ncstat; k++) { /* per range size: two counts, then four figures */
        const sched_client_stat *c = &s->cstat[k];
        const double fig[4] = {c->rows, c->tokens, c->seconds, c->seconds > 0 ? c->tokens / c->seconds : 0};
        static const char *const fig_keys[4] = {"rows", "real_tokens", "seconds", "real_tokens_per_s"};
        mpct_json_obj_open(&j, NULL);
        mpct_json_int(&j, "size", c->size);
        mpct_json_int(&j, "batches", c->batches);
        for (int q = 0; q < 4; q++)
            mpct_json_num(&j, fig_keys[q], fig[q]);
        mpct_json_obj_close(&j);
    }
    mpct_json_arr_close(&j);
    mpct_json_obj_close(&j);
    mpct_json_end(&j);
    fputc('\n', f);
    if (fclose(f) != 0)
        return mpct_error_set(MPCT_ERR_IO, "cannot write the client report '%s': %s", path, strerror(errno));
    return MPCT_OK;
}

/* The writer's closing lines. */
static void summary(const mpct_sched_t *s)
{
    const mpct_job *job = &s->job;
    const mpct_sched_replica *r = &s->rep;
    mpct_net_counters tot = mpct_net_total(r->net);
    if (!s->is_writer || s->quiet)
        return;
    if (!s->interrupted)
        fprintf(stderr,
                "mpct run: %zu inferences in %.2f s (%.2f inf/s, %d replica%s; weight sharing %.2f s), "
                "P%d (the client, world rank %d) sent %.1f MB (setup %.1f MB) in %llu rounds; wrote %s\n",
                s->rows_run, s->t_infer, s->t_infer > 0 ? (double)s->rows_run / s->t_infer : 0, r->nreplicas,
                r->nreplicas > 1 ? "s" : "", s->t_share, r->party, r->world_rank, (double)tot.bytes_sent / 1e6,
                (double)s->setup.bytes_sent / 1e6, (unsigned long long)tot.rounds, job->output);
    if (!s->interrupted && s->hide)
        fprintf(stderr, "mpct run: lengths hidden: every batch padded to %d tokens, %zu of the %zu rows computed "
                        "pad the inputs to whole batches\n",
                job->seq_len, s->n - s->n_real, s->n);
    if (job->batch_auto) {
        const mpct_tune *t = &s->tr.t;
        fprintf(stderr, "mpct run: batch auto: chose %d rows per batch (replica 0, %d batches); per size:",
                mpct_tune_best(t), s->tr.nseq);
        for (int k = 0; k < t->nstat; k++)
            if (t->stat[k].batches)
                fprintf(stderr, " %d: %d x %.2f rows/s%s", t->stat[k].size, t->stat[k].batches,
                        mpct_tune_rows_per_s(&t->stat[k]), t->stat[k].too_big ? " (over the memory limit)" : "");
        fputc('\n', stderr);
    }
}

int mpct_sched_report(mpct_sched_t *s, int code)
{
    if (code == MPCT_SCHED_EXIT_ABORT)
        return code;
    if (s->trace) {
        mpct_status st = mpct_sched_trace_write(s);
        if (st != MPCT_OK) {
            mpct_sched_error(s->cfg.cmd, st);
            code = code ? code : 1;
        }
    }
    if (s->perf) {
        mpct_status st = write_report(s);
        if (st == MPCT_OK && s->is_writer && s->job.report[0])
            st = client_report(s);
        if (st != MPCT_OK) {
            mpct_sched_error(s->cfg.cmd, st);
            code = code ? code : 1;
        }
    }
    summary(s);
    return code;
}
