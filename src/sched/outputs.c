/*
 * outputs.c — what a job checks and says around its outputs: every output
 * path writable before any work, SIGINT/SIGTERM recorded for the batch
 * boundary, the writer's message after a signal with the command that
 * resumes, the progress lines, the labels of a batch's logits.
 */
#include "sched-impl.h"

#include <time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "42 s", "3 min 05 s", "2 h 07 min", "3.2 days" */
static void human_secs(double s, char *out, size_t cap)
{
    if (!(s >= 0) || s > 1e9)
        snprintf(out, cap, "unknown");
    else if (s < 60)
        snprintf(out, cap, "%.0f s", s);
    else if (s < 3600)
        snprintf(out, cap, "%d min %02d s", (int)s / 60, (int)s % 60);
    else if (s < 172800)
        snprintf(out, cap, "%d h %02d min", (int)(s / 3600), (int)s % 3600 / 60);
    else
        snprintf(out, cap, "%.1f days", s / 86400);
}

void mpct_sched_progress_show(mpct_sched_progress *p, int final)
{
    if (!p->on)
        return;
    double now = mpct_time_now(), el = now - p->t0;
    size_t tenth = p->total ? 10 * p->done / p->total : 10;
    int step = !p->tty && tenth > p->last_tenth;
    if (!final && !step && now - p->last < (p->tty ? 0.2 : 5.0))
        return;
    if (final && !p->tty && p->shown == p->done && p->done)
        return;
    p->last_tenth = tenth;
    p->shown = p->done;
    p->last = now;
    double rate = el > 0 ? (double)p->done / el : 0;
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    if (p->tty) {
        int w = 30, fill = p->total ? (int)(w * (double)p->done / (double)p->total) : w;
        fprintf(stderr, "\rmpct run: [%.*s%*s] %zu/%zu  %.2f inf/s  ETA %.0fs ", fill,
                "##############################", w - fill, "", p->done, p->total, rate, eta);
        if (final)
            fputc('\n', stderr);
    } else { /* a log line: when, how far, how fast, how long still and until when (UTC) */
        char at[32], end[32], left[32];
        time_t t = time(NULL), te = t + (time_t)(eta + 0.5);
        struct tm tm;
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        strftime(end, sizeof end, te - t < 86400 ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", gmtime_r(&te, &tm));
        human_secs(rate > 0 || p->done == p->total ? eta : -1, left, sizeof left);
        fprintf(stderr, "mpct run: %zu/%zu inferences [%s], %.2f inf/s, ETA %s%s%s%s\n", p->done, p->total, at, rate,
                left, rate > 0 && p->done < p->total ? " (about " : "", rate > 0 && p->done < p->total ? end : "",
                rate > 0 && p->done < p->total ? " UTC)" : "");
    }
    fflush(stderr);
}

void mpct_sched_argmax(mpct_sched_batch *o)
{
    for (size_t i = 0; i < o->n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < o->nl; j++)
            if (o->logits[i * o->nl + j] > o->logits[i * o->nl + best])
                best = j;
        o->labels[i] = (int32_t)best;
    }
}

/* ---- interruption: SIGINT / SIGTERM ---- */
static volatile sig_atomic_t stop_signal; /* the first signal received; 0 = none */

int mpct_sched_stop_signal(void) { return stop_signal; }

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

/* From here on SIGINT and SIGTERM only set stop_signal (async-signal-safe);
 * the run checks it between batches. SA_RESTART: an interrupted read or
 * write (HDF5, the inputs) resumes instead of failing. */
void mpct_sched_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const char *mpct_sched_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

/* Appends a to the command line in *b, single-quoted when the shell would
 * otherwise split or expand it. */
static void cmd_append(FILE *b, const char *a)
{
    int plain = a[0] != '\0';
    for (const char *c = a; *c && plain; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,@%+-", *c) != NULL;
    fputc(' ', b);
    if (plain) {
        fputs(a, b);
        return;
    }
    fputc('\'', b);
    for (const char *c = a; *c; c++)
        if (*c == '\'')
            fputs("'\\''", b);
        else
            fputc(*c, b);
    fputc('\'', b);
}

/* Prints the interruption message of the writer: the rows that
 * OUTPUT.partial keeps and the command line (this one, with --resume instead
 * of --overwrite) that computes the others. */
void mpct_sched_stop_message(int sig, size_t kept, size_t n, const char *output, int nranks, int separate, int argc,
                             char **argv)
{
    char link[4096], exe[4096] = "mpct";
    ssize_t len = readlink("/proc/self/exe", link, sizeof link - 1);
    if (len > 0)
        memcpy(exe, link, (size_t)len), exe[len] = '\0';
    char *cmd = NULL;
    size_t clen = 0;
    FILE *b = open_memstream(&cmd, &clen);
    if (b) {
        int placed = 0; /* --resume goes before a "--" (after it, it would be a positional) */
        if (nranks > 1)
            fprintf(b, " mpirun -np %d", nranks);
        cmd_append(b, exe);
        for (int i = 0; i < argc; i++) {
            if (!placed && !strcmp(argv[i], "--") && i > 0)
                fputs(" --resume", b), placed = 1;
            if (placed || (strcmp(argv[i], "--overwrite") && strcmp(argv[i], "--resume")))
                cmd_append(b, argv[i]);
        }
        if (!placed)
            fputs(" --resume", b);
        fclose(b);
    }
    const char *name = argc > 0 ? argv[0] : "run"; /* the command: argv[0] */
    fprintf(stderr, "mpct %s: error: interrupted by %s: %zu of %zu rows are kept in %s.partial\n", name,
            mpct_sched_signal_name(sig), kept, n, output);
    fprintf(stderr, "mpct %s: to compute the other %zu, resume with:%s\n", name, n - kept, cmd ? cmd : " (out of memory)");
    if (separate)
        fprintf(stderr, "mpct %s: and the other two parties relaunch their own commands with --resume\n", name);
    free(cmd);
}

/* Whether this rank can write path: opened for writing without truncating
 * it, and removed again when it did not exist. */
static mpct_status probe_writable(const char *what, const char *path)
{
    struct stat sb;
    const int existed = stat(path, &sb) == 0;
    if (existed && S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot write the %s file: it is a directory", path, what);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot %s file: %s", path,
                              !strcmp(what, "output") ? "create output" : what[0] == 'r' ? "write the report"
                                                                                          : "write the Prometheus",
                              strerror(errno));
    close(fd);
    if (!existed)
        unlink(path);
    return MPCT_OK;
}

void mpct_sched_client_report_path(const mpct_job *job, char *buf, size_t len)
{
    snprintf(buf, len, "%s.client.json", job->report);
}

/* Before any work: every file this rank writes can be written (the output
 * on the writer, the report files on world rank 0), and an OUTPUT.partial
 * holding rows is neither resumed nor discarded without being asked to.
 * Prints the reason on failure. */
int mpct_sched_outputs_ready(const char *cmd, const mpct_job *job, int writes_output, int writes_report)
{
    mpct_status st = MPCT_OK;
    if (writes_output) {
        char partial[MPCT_JOB_PATH_MAX + 16];
        snprintf(partial, sizeof partial, "%s.partial", job->output);
        struct stat sb;
        if (stat(job->output, &sb) == 0 && S_ISDIR(sb.st_mode))
            st = mpct_error_set(MPCT_ERR_IO, "%s: cannot write the output file: it is a directory", job->output);
        else if (!job->resume && !job->overwrite && stat(partial, &sb) == 0) {
            mpct_out_t *o = NULL;
            mpct_out_info info;
            memset(&info, 0, sizeof info);
            if (mpct_out_open_read(partial, &o, &info) != MPCT_OK)
                st = mpct_error_set(MPCT_ERR_IO, "%s exists but is not a readable mpct output (%s): add --overwrite to "
                                                 "discard it and start again",
                                    partial, mpct_error_msg());
            else if (info.rows_done > 0)
                st = mpct_error_set(MPCT_ERR_ARG, "%s holds %zu of %zu rows of an earlier run: add --resume to continue "
                                                 "it, or --overwrite to discard them and start again",
                                    partial, info.rows_done, info.n_inputs);
            const mpct_status cs = o ? mpct_out_close(o, 0) : MPCT_OK; /* opened read-only: nothing to lose */
            (void)cs;
            mpct_out_info_free(&info);
        }
        if (st == MPCT_OK)
            st = probe_writable("output", partial);
    }
    if (st == MPCT_OK && writes_report && job->report[0])
        st = probe_writable("report", job->report);
    if (st == MPCT_OK && writes_report && job->trace[0])
        st = probe_writable("trace", job->trace);
    if (st == MPCT_OK && writes_output && job->report[0] && !job->plaintext) { /* the client's own report */
        char cpath[MPCT_JOB_PATH_MAX + 16];
        mpct_sched_client_report_path(job, cpath, sizeof cpath);
        st = probe_writable("client report", cpath);
    }
    if (st == MPCT_OK && writes_report && job->prometheus[0])
        st = probe_writable("Prometheus", job->prometheus);
    if (st != MPCT_OK)
        mpct_sched_error(cmd, st);
    return st == MPCT_OK;
}
