/*
 * cmd_run.c — `mpct run`: secure inference end to end.
 *
 * MPCT_COMMAND(run, 1, "secure inference: embeddings or labels for a file of texts")
 *
 * Roles (parties are indices within a replica; world rank = 3*replica + party):
 *   owner   (job [parties] owner, default P0): the owner of replica 0 alone
 *           opens the model file; it shares the weights inside replica 0, and
 *           every party of replica 0 copies its weight shares to the same
 *           party of the other replicas (a party's ranks are one trust domain).
 *   client  (default P1): the client ranks alone read the inputs file
 *           (text lines, JSON Lines, CSV/TSV: run_inputs.h, streamed),
 *           tokenize, share the token one-hot rows, padding mask and 1/n, and
 *           receive the outputs. The client of replica 0 writes the output.
 * Public: model shape, content hash, vocabulary, number of inputs, and per
 * batch the padded length t (the longest input of the batch). With
 * hide_lengths every batch is padded to seq_len and the rows to whole
 * batches (copies of the first input, computed and not written): only the
 * number of batches is public.
 *
 * The job itself (replicas, the weights and the share cache, the work
 * dispenser with its PRF stream per block or row, --batch auto, results to
 * the writer, --resume, the report) is the job layer's: src/sched,
 * mpct_sched.h. This file reads the flags, tokenizes the inputs and
 * computes a range of rows.
 *
 * Interruption (SIGINT, SIGTERM: Slurm's time limit, Ctrl-C): the handler
 * only records the signal; a batch in progress is finished, the writer keeps
 * OUTPUT.partial, says how many rows it holds and the command that resumes,
 * the report (if any) is written with what was measured, and the run exits
 * 128 + the signal.
 */
#include "mpct_model_desc.h"
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_out.h"
#include "mpct_sched.h"
#include "mpct_tok.h"
#include "run_dedup.h"
#include "run_inputs.h"
#include "tool_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mpct_opt_exit run_exits_more[] = {
    {MPCT_SCHED_EXIT_ABORT, "a failure that may leave peers blocked (a transport or protocol error\n"
                            "mid-run): the job is taken down with MPI_Abort"},
    {130, "interrupted by SIGINT (128 + 2): OUTPUT.partial keeps the rows done"},
    {143, "interrupted by SIGTERM (128 + 15), e.g. Slurm's time limit: OUTPUT.partial keeps the\n"
          "rows done and the message prints the command that resumes"},
    {0, NULL},
};

static mpct_opt_cmd run_cmd = {
    .name = "run",
    .usage = "mpirun -np 3 mpct run [JOB.ini] [options]",
    .about = "Secure inference: the model owner's weights and the client's texts are secret-shared\n"
             "among three parties; the client alone receives embeddings (task embed) or logits and\n"
             "labels (task classify), written to an HDF5 file (io/OUTPUT.md). Settings come from the\n"
             "job file (jobs/*.ini) and are overridden by these flags (each one a job key):\n",
    .notes = "Any world size that is a multiple of 3 runs that many replicas in parallel.\n"
             "The output, --report and --prometheus paths are checked before any work. On SIGTERM or\n"
             "SIGINT the batch in progress is finished, the rows done stay in OUTPUT.partial, the report\n"
             "is written with what was measured, the run prints the command that resumes it and exits\n"
             "128 + the signal (143 for SIGTERM). Open MPI's mpirun passes SIGTERM on to the ranks after\n"
             "odls_base_sigkill_timeout seconds (default 1) and sends SIGKILL about as long after: raise\n"
             "it (e.g. OMPI_MCA_odls_base_sigkill_timeout=30) to give a batch time to finish.\n",
    .exit_ok = "every row computed and written",
    .exit_fail = "a failure every rank saw alike: an unreadable model or inputs file, an\n"
                 "unwritable output, OUTPUT.partial holding rows without --resume or --overwrite,\n"
                 "a world size that is not a multiple of 3 (the message names the cause)",
    .exit_usage = "bad usage or a bad job file: an unknown option or key, a missing or malformed value",
    .exits_more = run_exits_more,
};

static int parse_args(int argc, char **argv, mpct_job *job)
{
    run_cmd.opts = mpct_tool_job_opts(MPCT_TOOL_JOB_RUN, &run_cmd.nopts);
    return mpct_tool_job_parse(&run_cmd, argc, argv, 1, job);
}

/* One warning (or, with refuse_repeats, the error) naming repeated inputs. */
static mpct_status check_repeats(const mpct_job *job, run_inputs *in, int speak)
{
    size_t count = 0, first[MPCT_TOK_LINES_SHOWN], of[MPCT_TOK_LINES_SHOWN];
    MPCT_CALL(run_in_repeats(in, &count, first, of, NULL));
    if (!count)
        return MPCT_OK;
    char list[256] = "";
    for (size_t k = 0; k < count && k < MPCT_TOK_LINES_SHOWN; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%zu (= %zu)", k ? ", " : "", first[k], of[k]);
    const char *what = in->fmt == MPCT_REC_TEXT || in->fmt == MPCT_REC_IDS ? "line" : "row"; /* rows of JSONL/CSV */
    if (job->refuse_repeats)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %zu input%s repeat%s an earlier %s's tokens (%s%s %s%s) and "
                              "refuse_repeats is set: remove the repeats", job->inputs, count, count > 1 ? "s" : "",
                              count > 1 ? "" : "s", what, what, count > 1 ? "s" : "", list,
                              count > MPCT_TOK_LINES_SHOWN ? ", ..." : "");
    if (speak)
        mpct_warnf("mpct run: warning: %s: %zu input%s repeat%s an earlier %s's tokens (%s%s %s%s): each "
                        "repeat is another sample of the randomised rounding (README, threat model; "
                        "--refuse-repeats stops such a run)\n",
                job->inputs, count, count > 1 ? "s" : "", count > 1 ? "" : "s", what, what, count > 1 ? "s" : "",
                list, count > MPCT_TOK_LINES_SHOWN ? ", ..." : "");
    return MPCT_OK;
}

typedef struct run_ctx {
    mpct_job job;
    mpct_sched_t *s;
    const mpct_smodel_info *info;
    mpct_smodel *model;
    mpct_smodel_work *work; /* what the forward passes keep between ranges */
    mpct_tok_t *tok;
    run_inputs in;
    mpct_out_t *out; /* --plaintext */
    size_t nl;       /* logits per row: 0 for task embed */
    int is_client, is_writer;
    int dedup;       /* --dedup / --result-cache: job.output is the computed rows' file (run_dedup.h) */
    run_dedup dd;
    char final_output[MPCT_JOB_PATH_MAX]; /* with dedup: the output the user asked for */
    int argc;        /* the command line (argv[0] = "run"), for the command that resumes */
    char **argv;
} run_ctx;

/* The task and the sequence length fit the model (the same on every rank). */
static int check_model(run_ctx *rc)
{
    const mpct_job *job = &rc->job;
    const mpct_model_config *mc = &rc->info->cfg;
    const int speak = mpct_sched_replica_of(rc->s)->world_rank == 0;
    rc->nl = !strcmp(job->task, "classify") ? (size_t)mc->num_labels : 0;
    if (!strcmp(job->task, "classify") && mc->num_labels <= 0) {
        if (speak)
            fprintf(stderr, "mpct run: error: task 'classify' needs a model with a classification head; "
                            "'%s' has none (num_labels = 0)\n", job->model);
        return 1;
    }
    if (job->seq_len > mpct_md_max_tokens(mc)) {
        if (speak)
            fprintf(stderr, "mpct run: error: seq_len %d exceeds the model's %lld positions\n", job->seq_len,
                    (long long)mpct_md_max_tokens(mc));
        return 1;
    }
    return 0;
}

/* The clients read and tokenize the inputs with the model's vocabulary. */
static int tokenize(run_ctx *rc)
{
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int code = mpct_sched_vocab(rc->s, &vocab, &vlen), ok = 1;
    if (code)
        return code;
    if (rc->is_client) {
        const mpct_job *job = &rc->job;
        mpct_status st = mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &rc->tok);
        if (st == MPCT_OK)
            st = run_in_open(job, rc->tok, rc->is_writer && (!job->quiet || !mpct_log_on(MPCT_LOG_INFO)), rc->is_writer,
                            &rc->in); /* --log-level warn asks for every warning; --quiet drops these */
        if (st == MPCT_OK && rc->dedup)
            st = run_dd_plan(job, &rc->in, rc->info->hash, (size_t)rc->info->cfg.hidden, rc->nl, rc->is_writer,
                             &rc->dd);
        else if (st == MPCT_OK)
            st = check_repeats(job, &rc->in, rc->is_writer);
        if (st != MPCT_OK && rc->is_writer)
            ok = mpct_sched_fail(rc->s, st);
        else if (st != MPCT_OK)
            ok = 0;
    }
    mpct_free(vocab);
    return mpct_sched_agree(ok) ? 0 : 1;
}

/* The writer records what it knows of every row besides the results: the
 * word pieces dropped, the user's ids (io/OUTPUT.md), block by block. */
static mpct_status write_inputs(const mpct_job *job, run_inputs *in, mpct_out_t *out)
{
    const char *how[3] = {mpct_rec_format_name(in->fmt),
                          in->fmt == MPCT_REC_TEXT || in->fmt == MPCT_REC_IDS ? "" : job->text_field,
                          job->id_field};
    enum { BLOCK = 4096 };
    const char *ids[BLOCK];
    for (size_t first = 0; first < in->n; first += BLOCK) {
        size_t n = in->n - first < BLOCK ? in->n - first : BLOCK;
        char *buf = NULL;
        if (in->has_ids)
            MPCT_CALL(run_in_ids(in, first, n, ids, &buf));
        mpct_status st = mpct_out_write_inputs(out, how, first, n, in->dropped + first, in->has_ids ? ids : NULL);
        free(buf);
        MPCT_CALL(st);
    }
    return MPCT_OK;
}

/* The output's description; names holds the label names. */
static mpct_out_meta rows_meta(const run_ctx *rc, const char **names)
{
    const mpct_job *job = &rc->job;
    for (size_t i = 0; i < rc->nl; i++)
        names[i] = rc->info->labels[i];
    mpct_out_meta meta = {0, (size_t)rc->info->cfg.hidden, rc->nl, job->task, rc->info->hash, rc->in.sha,
                          job->frac_bits, job->seq_len, rc->nl ? names : NULL, job->row_offset >= 0, job->row_offset,
                          NULL, "secure", MPCT_VERSION_STRING, job->test_seed != 0, job->hide_lengths};
    return meta;
}

/* The rows are the inputs (with dedup the rows to compute); the writer's
 * output records where they came from. */
static int open_rows(run_ctx *rc)
{
    const mpct_job *job = &rc->job;
    const char *names[MPCT_IO_MAX_LABELS];
    mpct_out_meta meta = rows_meta(rc, names);
    int code = mpct_sched_rows(rc->s, rc->dedup ? rc->in.nmap : rc->in.n, (size_t)rc->info->cfg.hidden, rc->nl,
                               &meta);
    if (code)
        return code;
    /* with dedup the computed rows' file holds no per-input record: the final output does */
    mpct_status st = rc->is_writer && !rc->dedup ? write_inputs(job, &rc->in, mpct_sched_output(rc->s)) : MPCT_OK;
    return mpct_sched_agree(st == MPCT_OK ? 1 : mpct_sched_fail(rc->s, st)) ? 0 : 1; /* every rank */
}

/* Computes rows [rg->first, rg->first + rg->n) in this replica with PRF
 * stream rg->stream; the client gets the rows in o. */
static mpct_status run_range(run_ctx *rc, const mpct_sched_range *rg, mpct_sched_batch *o)
{
    mpct_ctx_t *ctx = mpct_sched_replica_of(rc->s)->ctx;
    const int client = rc->job.client;
    const size_t first = rg->first, n = rg->n;
    mpct_status st = MPCT_OK;
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0}, LG = {0};
    /* the client tells its replica the padded length t of this block */
    long t = 0;
    if (rc->is_client)
        st = run_in_block(&rc->in, first, n);
    if (st != MPCT_OK)
        return st;
    if (rc->is_client && rc->job.hide_lengths)
        t = rc->job.seq_len;
    else if (rc->is_client)
        for (size_t i = 0; i < n; i++)
            t = rc->in.count[i] > t ? rc->in.count[i] : t;
    mpct_sched_rbcast(mpct_sched_replica_of(rc->s), &t, sizeof t, client);
    mpct_ctx_set_stream(ctx, rg->stream);
    const size_t T = (size_t)t;
    o->padded = T;
    MPCT_CALL_GOTO(st, done,
                   mpct_smodel_input(ctx, client, rc->info, rc->is_client ? rc->in.ids : NULL,
                                     rc->in.seq, rc->is_client ? rc->in.count : NULL, n, T, &OH, &MK, &IN));
    MPCT_CALL_GOTO(st, done, mpct_smodel_forward(ctx, rc->model, rc->work, &OH, &MK, &IN, n, T, &E, rc->nl ? &LG : NULL));
    MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &E, client, rc->is_client ? o->emb : NULL));
    if (rc->nl)
        MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &LG, client, rc->is_client ? o->logits : NULL));
    if (rc->is_client) {
        for (size_t i = 0; i < n; i++)
            o->tokens[i] = rc->in.count[i];
        if (rc->nl)
            mpct_sched_argmax(o);
    }
done:;
    mpct_share *all[] = {&OH, &MK, &IN, &E, &LG};
    for (size_t i = 0; i < 5; i++)
        mpct_share_free(all[i]);
    return st;
}

/* Every range this replica gets, computed and submitted; then every result
 * gathered. */
static int compute(run_ctx *rc)
{
    mpct_sched_batch *b = NULL;
    mpct_sched_range rg;
    int code = mpct_sched_start(rc->s, &b);
    mpct_status ws = code ? MPCT_OK : mpct_smodel_work_new(&rc->work);
    if (ws != MPCT_OK) { /* every party fails alike here, before any round of the loop */
        mpct_sched_error("run", ws);
        code = MPCT_SCHED_EXIT_ABORT;
    }
    while (!code && !(code = mpct_sched_next(rc->s, &rg)) && rg.n) {
        const double t0 = mpct_time_now();
        mpct_status st = run_range(rc, &rg, b);
        if (st == MPCT_OK && rc->is_client && mpct_log_on(MPCT_LOG_DEBUG))
            fprintf(stderr, "mpct run: debug: replica %d: rows %zu..%zu (PRF stream %llu), padded length %zu, %.3f s\n",
                    mpct_sched_replica_of(rc->s)->replica, rg.first, rg.first + rg.n - 1,
                    (unsigned long long)rg.stream, b->padded, mpct_time_now() - t0);
        if (st != MPCT_OK) {
            mpct_sched_error("run", st);
            code = MPCT_SCHED_EXIT_ABORT;
            break;
        }
        code = mpct_sched_submit(rc->s, b);
    }
    mpct_smodel_work_free(rc->work);
    rc->work = NULL;
    return mpct_sched_finish(rc->s, code);
}

static int run_secure(run_ctx *rc)
{
    const mpct_sched_config cfg = {"run", &rc->job, rc->argc, rc->argv, 1, 1};
    int code = mpct_sched_open(&rc->s, &cfg);
    if (code)
        return code;
    const mpct_sched_replica *r = mpct_sched_replica_of(rc->s);
    rc->is_client = r->party == rc->job.client;
    rc->is_writer = rc->is_client && r->replica == 0; /* also for a party launched alone */
    rc->info = mpct_sched_info(rc->s);
    code = mpct_sched_describe(rc->s);
    code = code ? code : check_model(rc);
    code = code ? code : tokenize(rc);
    code = code ? code : open_rows(rc);
    code = code ? code : mpct_sched_weights(rc->s, &rc->model, NULL);
    code = code ? code : mpct_sched_report(rc->s, compute(rc));
    if (!code && rc->dedup && rc->is_writer) { /* every row of the final output from the computed ones */
        const char *names[MPCT_IO_MAX_LABELS];
        mpct_out_meta meta = rows_meta(rc, names);
        mpct_status st = run_dd_finish(&rc->job, rc->final_output, &rc->in, &rc->dd, &meta, write_inputs);
        if (st != MPCT_OK) {
            mpct_sched_error("run", st);
            code = 1;
        } else if (!rc->job.quiet) {
            fprintf(stderr, "mpct run: %s: %zu rows (%zu computed, %zu repeats copied, %zu from the result cache)\n",
                    rc->final_output, rc->dd.n, rc->in.nmap, rc->dd.repeats, rc->dd.hits);
        }
    }
    return code;
}

/* --dedup / --result-cache: the job computes into OUTPUT.unique.h5 (every
 * rank makes the same path); 0 or the exit status (printed once). */
static int dedup_setup(run_ctx *rc, int wrank)
{
    mpct_job *job = &rc->job;
    if (job->result_cache[0])
        job->dedup = 1;
    if (!job->dedup || job->plaintext)
        return 0;
    rc->dedup = 1;
    snprintf(rc->final_output, sizeof rc->final_output, "%s", job->output);
    if (run_dd_unique_path(rc->final_output, job->output, sizeof job->output) == MPCT_OK)
        return 0;
    if (wrank == 0)
        fprintf(stderr, "mpct run: error: %s\n", mpct_error_msg());
    return 2;
}

/* --plaintext: the float64 reference on world rank 0 (which then needs both
 * the model and the inputs: a comparison mode for someone who owns both). */
static int run_plaintext(run_ctx *rc)
{
    mpct_job *job = &rc->job;
    if (job->report[0] || job->prometheus[0])
        mpct_warnf("mpct run: warning: --plaintext writes no profiling report: %s%s%s not written\n", job->report,
                job->report[0] && job->prometheus[0] ? " and " : "", job->prometheus);
    if (job->dedup || job->result_cache[0])
        mpct_warnf("mpct run: warning: --plaintext computes every row: --dedup and --result-cache have no "
                        "effect\n");
    if (job->hide_lengths || job->refuse_repeats) /* one process, exact outputs: nothing to hide, no rounding */
        mpct_warnf("mpct run: warning: --plaintext computes in one process with exact rounding: %s%s%s %s no "
                        "effect\n",
                job->hide_lengths ? "--hide-lengths" : "", job->hide_lengths && job->refuse_repeats ? " and " : "",
                job->refuse_repeats ? "--refuse-repeats" : "", job->hide_lengths && job->refuse_repeats ? "have" : "has");
    mpct_ref_model *ref = NULL;
    mpct_model_file *mf = NULL;
    mpct_status st;
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 1, rcode = 1;
    double *emb = NULL, *lg = NULL;
    int32_t *mask = NULL, *lab = NULL;
    if (!mpct_sched_outputs_ready("run", job, 1, 0))
        return 1;
    MPCT_CALL_GOTO(st, done, mpct_model_file_open(job->model, &mf));
    MPCT_CALL_GOTO(st, done, mpct_md_require_encoder(mpct_model_file_config(mf), job->model));
    MPCT_CALL_GOTO(st, done, mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower));
    MPCT_CALL_GOTO(st, done, mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &rc->tok));
    MPCT_CALL_GOTO(st, done, run_in_open(job, rc->tok, !job->quiet, 1, &rc->in));
    MPCT_CALL_GOTO(st, done, mpct_ref_load(job->model, &ref));
    const mpct_model_config *mc = mpct_ref_config(ref);
    size_t dim = (size_t)mc->hidden, nl = !strcmp(job->task, "classify") ? (size_t)mc->num_labels : 0;
    if (!strcmp(job->task, "classify") && nl == 0) {
        st = mpct_error_set(MPCT_ERR_ARG, "task 'classify' needs a model with a classification head");
        goto done;
    }
    const char *names[MPCT_IO_MAX_LABELS];
    for (size_t i = 0; i < nl; i++)
        names[i] = mpct_model_file_label(mf, i);
    mpct_out_meta meta = {rc->in.n, dim, nl, job->task, mpct_model_file_hash(mf), rc->in.sha, job->frac_bits,
                          job->seq_len, nl ? names : NULL, job->row_offset >= 0, job->row_offset, NULL,
                          "plaintext", MPCT_VERSION_STRING, 0, 0};
    MPCT_CALL_GOTO(st, done, mpct_out_open(job->output, &meta, job->resume, &rc->out));
    MPCT_CALL_GOTO(st, done, write_inputs(job, &rc->in, rc->out));
    const size_t B = (size_t)job->batch, S = rc->in.seq;
    emb = malloc(B * dim * sizeof *emb);
    lg = malloc(B * (nl ? nl : 1) * sizeof *lg);
    mask = malloc(B * S * sizeof *mask);
    lab = malloc(B * sizeof *lab);
    if (!emb || !lg || !mask || !lab) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "plaintext run: out of memory");
        goto done;
    }
    mpct_sched_progress pg = {!job->quiet, isatty(2), rc->in.n, 0, mpct_time_now(), 0, 0, 0};
    for (size_t first = 0; first < rc->in.n; first += B) {
        if (mpct_sched_stop_signal()) { /* keeps PATH.partial */
            const size_t kept = mpct_out_count_done(rc->out);
            st = mpct_out_close(rc->out, 0);
            rc->out = NULL;
            mpct_sched_progress_show(&pg, 1);
            mpct_sched_stop_message(mpct_sched_stop_signal(), kept, rc->in.n, job->output, 1, 0, rc->argc, rc->argv);
            rcode = 128 + mpct_sched_stop_signal();
            goto done;
        }
        size_t n = first + B <= rc->in.n ? B : rc->in.n - first, T = 0;
        MPCT_CALL_GOTO(st, done, run_in_block(&rc->in, first, n));
        for (size_t i = 0; i < n; i++)
            T = (size_t)rc->in.count[i] > T ? (size_t)rc->in.count[i] : T;
        int32_t *ids = malloc(n * T * sizeof *ids);
        if (!ids) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "plaintext run: out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < T; k++) {
                ids[i * T + k] = rc->in.ids[i * S + k];
                mask[i * T + k] = k < (size_t)rc->in.count[i];
            }
        st = mpct_ref_forward(ref, ids, mask, n, T, emb, nl ? lg : NULL);
        free(ids);
        if (st != MPCT_OK)
            goto done;
        mpct_sched_batch o = {first, n, dim, nl, T, emb, lg, lab, rc->in.count};
        if (nl)
            mpct_sched_argmax(&o);
        MPCT_CALL_GOTO(st, done, mpct_out_write(rc->out, first, n, emb, nl ? lg : NULL, nl ? lab : NULL,
                                                rc->in.count));
        pg.done += n;
        mpct_sched_progress_show(&pg, 0);
    }
    mpct_sched_progress_show(&pg, 1);
    st = mpct_out_close(rc->out, 1);
    rc->out = NULL;
    if (st != MPCT_OK)
        goto done;
    rcode = 0;
done:
    if (st != MPCT_OK)
        mpct_sched_error("run", st);
    free(emb);
    free(lg);
    free(mask);
    free(lab);
    mpct_free(vocab);
    mpct_ref_free(ref);
    mpct_model_file_close(mf);
    return rcode;
}

int mpct_cmd_run(int argc, char **argv)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    run_ctx rc;
    memset(&rc, 0, sizeof rc);
    int p = parse_args(argc, argv, &rc.job);
    if (p >= 0)
        return p;
    rc.argc = argc;
    rc.argv = argv;
    if ((p = dedup_setup(&rc, wrank)) != 0)
        return p;
    mpct_sched_catch_signals();
    int rcode;
    if (rc.job.plaintext)
        rcode = wrank == 0 ? run_plaintext(&rc) : 0;
    else
        rcode = run_secure(&rc);
    if (rc.out)
        if (mpct_out_close(rc.out, 0) != MPCT_OK) /* keeps PATH.partial for --resume */
            mpct_sched_error("run", MPCT_ERR_IO);
    mpct_sched_close(rc.s, rcode);
    mpct_tok_free(rc.tok);
    run_in_free(&rc.in);
    run_dd_free(&rc.dd);
    if (rc.job.plaintext)
        MPI_Bcast(&rcode, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rcode;
}
