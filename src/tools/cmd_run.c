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
 *   client  (default P1): the client ranks alone read the inputs file,
 *           tokenize, share the token one-hot rows, padding mask and 1/n, and
 *           receive the outputs. The client of replica 0 writes the output.
 * Public: model shape, content hash, vocabulary, number of inputs, and per
 * batch the padded length t (the longest input of the batch).
 *
 * Batches are aligned blocks of `batch` rows; block j always uses PRF stream
 * 2 + j, so a block's result does not depend on which replica computed it or
 * on what ran before (with deterministic test keys, runs are bit-identical
 * across replica counts and resumes). Replicas take blocks from a shared
 * counter (MPI fetch-and-add on world rank 0), so a slower replica takes
 * fewer. The writer flushes each block's rows as they arrive (done flags);
 * --resume recomputes only blocks not done.
 *
 * With batch = auto the shared counter is a row cursor instead: each
 * replica's client picks the size of its next range with the search of
 * batch_tune.h (from the throughput and peak RSS of its own earlier batches)
 * and claims that many of the rows not done (MPI fetch-and-add on a cursor
 * over them; a claim that spans a done row is computed as one range per
 * contiguous run, see dispense). A range starting at row i uses PRF stream 2 + i, so
 * a range of one row is bit-identical to block i of a batch-1 run; --resume
 * computes exactly the rows not done.
 *
 * Interruption (SIGINT, SIGTERM: Slurm's time limit, Ctrl-C): the handler
 * only records the signal. Every replica checks at each batch boundary, its
 * three parties agreeing on the flag (a replica is lock-step), and one that
 * stops raises a second counter in the dispenser's window so the others stop
 * at their next boundary too; a batch in progress is finished. The writer then
 * receives the rows every replica computed, keeps OUTPUT.partial, says how
 * many rows it holds and the command that resumes, the report (if any) is
 * written with what was measured, and the run exits 128 + the signal.
 */
#include "batch_tune.h"
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_out.h"
#include "mpct_tok.h"
#include "run_cache.h"
#include "tool_common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG_RESULT 4242

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpirun -np 3 mpct run [JOB.ini] [options]\n\n"
            "Secure inference: the model owner's weights and the client's texts are secret-shared\n"
            "among three parties; the client alone receives embeddings (task embed) or logits and\n"
            "labels (task classify), written to an HDF5 file (io/OUTPUT.md). Settings come from the\n"
            "job file (jobs/*.ini) and are overridden by these flags:\n"
            "  --model FILE.h5     model (read by the owner rank only)\n"
            "  --inputs FILE.txt   one text per line (read by client ranks only)\n"
            "  --output FILE.h5    results (written by the client of replica 0)\n"
            "  --task embed|classify\n"
            "  --batch N|auto      rows per batch (default 8); auto: chosen at run time from the measured\n"
            "                      throughput and peak memory of each size, within the bounds below\n"
            "  --batch-min N --batch-max N  bounds of --batch auto (default 1 and 64)\n"
            "  --mem-limit-mb N    --batch auto: peak RSS per party not to exceed (default: the party's RSS\n"
            "                      before the first batch + MemAvailable / ranks on its node)\n"
            "  --row-offset N      the inputs are rows N.. of a larger input: declared in the output\n"
            "                      (/input_id = N + line) so that mpct merge places the shard there\n"

            "  --seq-len N         max tokens per input; longer inputs are truncated (default 128)\n"
            "  --frac-bits F       fixed-point fractional bits, 8..20 (default 16)\n"
            "  --owner P --client P  party indices of the roles (default 0 and 1)\n"
            "  --report FILE.json  profiling report (mpct report FILE.json)\n"
            "  --prometheus FILE   Prometheus text file\n"
            "  --papi-events LIST  PAPI events counted per report region (comma list; default\n"
            "                      PAPI_TOT_INS,PAPI_TOT_CYC,PAPI_L2_DCM,PAPI_L3_TCM,PAPI_VEC_INS;\n"
            "                      events the machine lacks are skipped, the report says why)\n"
            "  --no-papi           timers only in the report (no hardware counters)\n"
            "  --resume            continue an interrupted run: compute only the rows missing from\n"
            "                      OUTPUT.partial\n"
            "  --overwrite         discard an existing OUTPUT.partial and start again (without --resume or\n"
            "                      --overwrite, a run stops when OUTPUT.partial holds rows)\n"
            "  --plaintext         run the float64 reference on rank 0 instead (for comparison)\n"
            "  --kernels NAME      kernel backend (default cpu)\n"
            "  --timeout S         seconds a party waits for a peer before giving up (default 600)\n"
            "  --test-seed S       deterministic keys: INSECURE, tests only (a flag, never a job-file key);\n"
            "                      every rank warns, outputs and reports record insecure_test_keys = 1\n"
            "  --cache-dir DIR     share cache: reuse weight shares across runs (each party uses DIR/party<i>)\n"
            "  --cache-l1-mb N --cache-l2-mb N  memory tiers of the cache (default 0: disk only)\n"
            "  --cache-policy lru|lfu|ttl|adaptive  L1 eviction policy (default lru)\n"
            "  --cache-disk-mb N   disk budget per party: least recently used entries go first (default 0: none)\n"
            "  --quiet             no progress output\n"
            "Any world size that is a multiple of 3 runs that many replicas in parallel.\n"
            "The output, --report and --prometheus paths are checked before any work. On SIGTERM or\n"
            "SIGINT the batch in progress is finished, the rows done stay in OUTPUT.partial, the report\n"
            "is written with what was measured, the run prints the command that resumes it and exits\n"
            "128 + the signal (143 for SIGTERM). Open MPI's mpirun passes SIGTERM on to the ranks after\n"
            "odls_base_sigkill_timeout seconds (default 1) and sends SIGKILL about as long after: raise\n"
            "it (e.g. OMPI_MCA_odls_base_sigkill_timeout=30) to give a batch time to finish.\n");
}

/* Flag -> job key. Flags without a value are booleans: --no-X sets 0, others 1. */
static const struct {
    const char *flag, *key;
    int has_value;
} flags[] = {
    {"--model", "model", 1},         {"--inputs", "inputs", 1},   {"--output", "output", 1},
    {"--task", "task", 1},           {"--batch", "batch", 1},     {"--seq-len", "seq_len", 1},
    {"--frac-bits", "frac_bits", 1}, {"--owner", "owner", 1},     {"--client", "client", 1},
    {"--report", "report", 1},       {"--prometheus", "prometheus", 1},
    {"--papi-events", "papi_events", 1}, {"--no-papi", "papi", 0},
    {"--resume", "resume", 0},       {"--overwrite", "overwrite", 0}, {"--plaintext", "plaintext", 0},
    {"--kernels", "kernels", 1},     {"--timeout", "timeout_s", 1}, {"--test-seed", "test_seed", 1},
    {"--quiet", "quiet", 0},
    {"--cache-dir", "cache_dir", 1}, {"--cache-l1-mb", "cache_l1_mb", 1}, {"--cache-l2-mb", "cache_l2_mb", 1},
    {"--cache-policy", "cache_policy", 1}, {"--cache-disk-mb", "cache_disk_mb", 1},
    {"--batch-min", "batch_min", 1}, {"--batch-max", "batch_max", 1}, {"--mem-limit-mb", "mem_limit_mb", 1},
    {"--row-offset", "row_offset", 1},
};

#define NFLAGS (sizeof flags / sizeof flags[0])

/* Index of flag a in flags[], NFLAGS when it is none. */
static size_t find_flag(const char *a)
{
    size_t k = 0;
    while (k < NFLAGS && strcmp(flags[k].flag, a))
        k++;
    return k;
}

static int parse_args(int argc, char **argv, mpct_job *job, int rank)
{
    mpct_job_defaults(job);
    /* the job file may stand anywhere among the flags; it is loaded first,
     * so every flag overrides it whatever the order */
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const size_t k = find_flag(argv[i]);
        if (k < NFLAGS) {
            i += flags[k].has_value;
        } else if (argv[i][0] != '-') {
            if (pos) {
                if (rank == 0)
                    fprintf(stderr, "mpct run: error: two job files given ('%s' and '%s')\n", argv[pos], argv[i]);
                return 2;
            }
            pos = i;
        }
    }
    if (pos) {
        mpct_status st = mpct_job_load(argv[pos], job);
        if (st != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("run", st);
            return 2;
        }
    }
    int resume_flag = 0, overwrite_flag = 0;
    for (int i = 1; i < argc; i++) {
        if (i == pos)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0)
                usage(stdout);
            return -1;
        }
        const size_t k = find_flag(argv[i]);
        if (k == NFLAGS) {
            if (rank == 0)
                fprintf(stderr, "mpct run: error: unknown option '%s' (see mpct run --help)\n", argv[i]);
            return 2;
        }
        const char *v = strncmp(flags[k].flag, "--no-", 5) ? "1" : "0";
        if (flags[k].has_value) {
            if (i + 1 >= argc) {
                if (rank == 0)
                    fprintf(stderr, "mpct run: error: %s needs a value\n", argv[i]);
                return 2;
            }
            v = argv[++i];
        }
        mpct_status st = mpct_job_set(job, flags[k].key, v, "command line");
        /* --resume and --overwrite override the job file's choice between them */
        if (st == MPCT_OK && !strcmp(flags[k].key, "resume"))
            st = mpct_job_set(job, "overwrite", "0", "command line"), resume_flag = 1;
        else if (st == MPCT_OK && !strcmp(flags[k].key, "overwrite"))
            st = mpct_job_set(job, "resume", "0", "command line"), overwrite_flag = 1;
        if (st != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("run", st);
            return 2;
        }
    }
    if (resume_flag && overwrite_flag) {
        if (rank == 0)
            fprintf(stderr, "mpct run: error: --resume and --overwrite both given: --resume continues OUTPUT.partial, "
                            "--overwrite discards it; pick one\n");
        return 2;
    }
    mpct_status st = mpct_job_validate(job);
    if (st != MPCT_OK) {
        if (rank == 0)
            mpct_tool_error("run", st);
        return 2;
    }
    return 0;
}

/* ---- inputs (client) ---- */
typedef struct inputs {
    size_t n, cap, seq;
    int32_t *ids;   /* n x seq */
    int32_t *count; /* real tokens per row */
    char sha[65];
} inputs;

static void inputs_free(inputs *in)
{
    if (in->ids)
        mpct_free_secret(in->ids);
    if (in->count)
        mpct_free_secret(in->count);
    memset(in, 0, sizeof *in);
}

/* Reads and tokenizes the inputs file (rules: mpct_tok_encode_line). warn:
 * also print per-line truncation warnings; lines without text are one
 * summary warning whenever `summary` is set (not a progress message: --quiet
 * keeps it). */
static mpct_status read_inputs(const char *path, const mpct_tok_t *tok, size_t seq, int warn, int summary,
                               inputs *in)
{
    mpct_tok_lines ln = {.path = path};
    FILE *f = fopen(path, "rb");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot open the inputs file '%s'", path);
    size_t cap = 0, n = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    EVP_MD_CTX *sc = EVP_MD_CTX_new();
    if (!sc || EVP_DigestInit_ex(sc, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(sc);
        fclose(f);
        return mpct_error_set(MPCT_ERR_CRYPTO, "inputs: SHA-256 unavailable");
    }
    mpct_status st = MPCT_OK;
    uint8_t *mask = mpct_alloc(seq);
    if (!mask) {
        EVP_MD_CTX_free(sc);
        fclose(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    }
    while ((len = getline(&line, &lcap, f)) >= 0) {
        EVP_DigestUpdate(sc, line, (size_t)len);
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            int32_t *ids = mpct_alloc(nc * seq * sizeof *ids), *cnt = mpct_alloc(nc * sizeof *cnt);
            if (!ids || !cnt) {
                mpct_free(ids);
                mpct_free(cnt);
                st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory at line %zu", n + 1);
                break;
            }
            if (n) {
                memcpy(ids, in->ids, n * seq * sizeof *ids);
                memcpy(cnt, in->count, n * sizeof *cnt);
                mpct_free_secret(in->ids);
                mpct_free_secret(in->count);
            }
            in->ids = ids;
            in->count = cnt;
            cap = nc;
            in->cap = cap;
        }
        size_t got = 0, dropped = 0;
        st = mpct_tok_encode_line(tok, &ln, line, (size_t)len, seq, in->ids + n * seq, mask, &got, &dropped);
        if (st != MPCT_OK)
            break;
        if (dropped && warn)
            fprintf(stderr, "mpct run: warning: %s:%zu: input truncated to %zu tokens (%zu word pieces dropped)\n",
                    path, n + 1, seq, dropped);
        in->count[n++] = (int32_t)got;
    }
    if (line) {
        mpct_wipe(line, lcap);
        free(line);
    }
    mpct_free(mask);
    fclose(f);
    in->n = n;
    in->cap = cap;
    in->seq = seq;
    unsigned char h[32];
    unsigned int hl = 0;
    EVP_DigestFinal_ex(sc, h, &hl);
    EVP_MD_CTX_free(sc);
    for (int i = 0; i < 32; i++)
        snprintf(in->sha + 2 * i, 3, "%02x", h[i]);
    if (st == MPCT_OK && n == 0)
        st = mpct_error_set(MPCT_ERR_ARG, "the inputs file '%s' is empty: nothing to compute", path);
    if (st != MPCT_OK) {
        inputs_free(in);
        return st;
    }
    if (summary)
        mpct_tok_lines_warn(&ln, "mpct run");
    return MPCT_OK;
}

/* ---- progress ---- */
typedef struct progress {
    int on, tty;
    size_t total, done;
    double t0, last;
    size_t last_tenth; /* non-TTY: a line every 10 % of the work or every 5 s */
    size_t shown;      /* done count of the last line printed */
} progress;

static void progress_show(progress *p, int final)
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
    } else {
        fprintf(stderr, "mpct run: %zu/%zu inferences, %.2f inf/s, ETA %.0f s\n", p->done, p->total, rate, eta);
    }
    fflush(stderr);
}

/* ---- results ---- */
typedef struct batch_out {
    size_t first, n, dim, nl;
    double *emb, *logits;
    int32_t *labels, *tokens;
} batch_out;

static void argmax_labels(batch_out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < o->nl; j++)
            if (o->logits[i * o->nl + j] > o->logits[i * o->nl + best])
                best = j;
        o->labels[i] = (int32_t)best;
    }
}

/* Flat message: [first, n, emb (n*dim), logits (n*nl), labels (n), tokens (n)] as doubles. */
static size_t msg_len(size_t n, size_t dim, size_t nl) { return 2 + n * (dim + nl + 2); }

static void msg_pack(const batch_out *o, double *m)
{
    m[0] = (double)o->first;
    m[1] = (double)o->n;
    double *p = m + 2;
    memcpy(p, o->emb, o->n * o->dim * sizeof *p);
    p += o->n * o->dim;
    if (o->nl)
        memcpy(p, o->logits, o->n * o->nl * sizeof *p);
    p += o->n * o->nl;
    for (size_t i = 0; i < o->n; i++) {
        p[i] = o->nl ? o->labels[i] : 0;
        p[o->n + i] = o->tokens[i];
    }
}

static mpct_status write_msg(mpct_out_t *out, const double *m, size_t dim, size_t nl, progress *pg)
{
    size_t first = (size_t)m[0], n = (size_t)m[1];
    const double *emb = m + 2, *lg = emb + n * dim, *rest = lg + n * nl;
    int32_t *lab = malloc(n * sizeof *lab), *tok = malloc(n * sizeof *tok);
    if (!lab || !tok) {
        free(lab);
        free(tok);
        return mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)rest[i];
        tok[i] = (int32_t)rest[n + i];
    }
    mpct_status st = mpct_out_write(out, first, n, emb, nl ? lg : NULL, nl ? lab : NULL, tok);
    free(lab);
    free(tok);
    MPCT_CALL(st);
    pg->done += n;
    progress_show(pg, 0);
    return MPCT_OK;
}

/* Receives result messages from other replicas' clients; block = wait for one. */
static mpct_status drain(mpct_out_t *out, size_t dim, size_t nl, progress *pg, int block)
{
    for (;;) {
        int flag = 0;
        MPI_Status status;
        if (block)
            MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &status), flag = 1;
        else
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &status);
        if (!flag)
            return MPCT_OK;
        int cnt = 0;
        MPI_Get_count(&status, MPI_DOUBLE, &cnt);
        double *m = malloc((size_t)cnt * sizeof *m);
        if (!m)
            return mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory");
        MPI_Recv(m, cnt, MPI_DOUBLE, status.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        mpct_status st = write_msg(out, m, dim, nl, pg);
        free(m);
        MPCT_CALL(st);
        if (block)
            return MPCT_OK;
    }
}

/* All ranks agree on success of a set-up step (collective). */
static int agree(int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

typedef struct run_ctx {
    mpct_job job;
    mpct_replica rep;
    MPI_Comm party_comm;
    mpct_smodel_info info;
    mpct_smodel *model;
    mpct_tok_t *tok;
    inputs in;
    mpct_out_t *out;
    mpct_perf_t *perf; /* with --report / --prometheus: regions from the transport's op counters */
    uint8_t *done;
    size_t n, nblocks, dim, nl;
    int is_owner0, is_client, is_writer;
    int argc;    /* the command line (argv[0] = "run"), for the command that resumes */
    char **argv;
} run_ctx;

static void share_progress(size_t done, size_t total, void *arg)
{
    (void)arg;
    if (done == total || done % 16 == 0)
        fprintf(stderr, "\rmpct run: sharing weights %zu/%zu tensors%s", done, total, done == total ? "\n" : "");
}

/* Compute rows [first, first+n) in this replica with PRF stream `stream`;
 * the client gets the rows. */
static mpct_status run_range(run_ctx *rc, size_t first, size_t n, uint64_t stream, batch_out *o)
{
    mpct_ctx_t *ctx = rc->rep.ctx;
    const mpct_job *job = &rc->job;
    const int client = job->client;
    mpct_status st = MPCT_OK;
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0}, LG = {0};
    /* the client tells its replica the padded length t of this block */
    long t = 0;
    if (rc->is_client)
        for (size_t i = 0; i < n; i++)
            t = rc->in.count[first + i] > t ? rc->in.count[first + i] : t;
    MPI_Bcast(&t, 1, MPI_LONG, client, rc->rep.comm);
    mpct_ctx_set_stream(ctx, stream);
    const size_t T = (size_t)t;
    MPCT_CALL_GOTO(st, done,
                   mpct_smodel_input(ctx, client, &rc->info, rc->is_client ? rc->in.ids + first * rc->in.seq : NULL,
                                     rc->in.seq, rc->is_client ? rc->in.count + first : NULL, n, T, &OH, &MK, &IN));
    MPCT_CALL_GOTO(st, done, mpct_smodel_forward(ctx, rc->model, &OH, &MK, &IN, n, T, &E, rc->nl ? &LG : NULL));
    o->first = first;
    o->n = n;
    MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &E, client, rc->is_client ? o->emb : NULL));
    if (rc->nl)
        MPCT_CALL_GOTO(st, done, mpct_share_reveal_fxp(ctx, &LG, client, rc->is_client ? o->logits : NULL));
    if (rc->is_client) {
        for (size_t i = 0; i < n; i++)
            o->tokens[i] = rc->in.count[first + i];
        if (rc->nl)
            argmax_labels(o);
    }
done:;
    mpct_share *all[] = {&OH, &MK, &IN, &E, &LG};
    for (size_t i = 0; i < 5; i++)
        mpct_share_free(all[i]);
    return st;
}

/* ---- the work dispenser: which rows a replica computes next ---- */
typedef struct dispenser {
    MPI_Win win;
    long *counter;       /* on world rank 0: [0] the next block (fixed) or pending-row position (auto);
                          * [1] nonzero once a replica stopped on a signal */
    int auto_mode;
    size_t n, B, nblocks; /* rows; fixed: rows per block and blocks */
    const uint8_t *todo; /* fixed: blocks to compute */
    size_t *pend, npend; /* auto: the rows not done, in order */
    size_t qa, qb;       /* auto: positions [qa, qb) of pend claimed by this replica, not yet computed */
} dispenser;

/* Client side: the next rows of this replica, [*first, *first + *count),
 * and their PRF stream; *count = 0 when no work is left. Both modes use
 * only fetch-and-add on the shared counter (Open MPI 4.1's compare-and-swap
 * over shared memory crashes). Fixed: the next block with rows to do. Auto:
 * `want` positions of the pending rows are claimed at a time; a claim that
 * spans a done row is computed as one range per contiguous run. */
static void dispense(dispenser *d, size_t want, size_t *first, size_t *count, uint64_t *stream)
{
    *count = 0;
    long j = -1, step = d->auto_mode ? (long)want : 1;
    if (!d->auto_mode) {
        do {
            MPI_Fetch_and_op(&step, &j, MPI_LONG, 0, 0, MPI_SUM, d->win);
            MPI_Win_flush(0, d->win);
        } while (j < (long)d->nblocks && !d->todo[j]);
        if (j < (long)d->nblocks) {
            *first = (size_t)j * d->B;
            *count = *first + d->B <= d->n ? d->B : d->n - *first;
            *stream = 2 + (uint64_t)j;
        }
        return;
    }
    if (d->qa >= d->qb) {
        MPI_Fetch_and_op(&step, &j, MPI_LONG, 0, 0, MPI_SUM, d->win);
        MPI_Win_flush(0, d->win);
        d->qa = (size_t)j < d->npend ? (size_t)j : d->npend;
        d->qb = d->qa + want < d->npend ? d->qa + want : d->npend;
    }
    if (d->qa >= d->qb)
        return;
    size_t e = d->qa + 1;
    while (e < d->qb && d->pend[e] == d->pend[e - 1] + 1)
        e++;
    *first = d->pend[d->qa];
    *count = e - d->qa;
    *stream = 2 + (uint64_t)*first;
    d->qa = e;
}

/* ---- batch = auto: the search state of one replica, gathered for the report ---- */
#define TUNE_SEQ 256 /* sizes of the first batches kept for the report */
typedef struct tune_rec {
    mpct_tune t;
    int replica, rss_window; /* rss_window: 1 = peak RSS measured per batch (else process peak) */
    int nseq;                /* batches computed */
    int warmup_rows;         /* the first batch (not a measurement: first touches of buffers and caches) */
    double warmup_s;
    int seq[TUNE_SEQ];       /* their sizes, in order */
} tune_rec;

/* Per-party memory limit and base RSS, agreed within the replica (min, max). */
static void tune_limits(const mpct_job *job, const mpct_replica *r, uint64_t *limit, uint64_t *base)
{
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    unsigned long long rss = mpct_perf_rss_now(), lim = (unsigned long long)job->mem_limit_mb << 20;
    if (!lim) {
        unsigned long long avail = mpct_perf_mem_available();
        lim = avail ? rss + avail / (unsigned long long)local : ~0ULL; /* unknown: no limit */
    }
    unsigned long long l = 0, b = 0;
    MPI_Allreduce(&lim, &l, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, r->comm);
    MPI_Allreduce(&rss, &b, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, r->comm);
    *limit = l == ~0ULL ? 0 : (uint64_t)l;
    *base = (uint64_t)b;
}

static void tune_line(tune_rec *tr, int nrep, int rows, double secs, double tokens, uint64_t peak, int warmup)
{
    char who[32] = "";
    if (nrep > 1)
        snprintf(who, sizeof who, " (replica %d)", tr->replica);
    fprintf(stderr, "mpct run: batch auto%s: %d rows in %.2f s = %.2f rows/s, %.0f tokens/s, peak RSS %.0f MiB "
                    "per party%s; best %d, next %d\n",
            who, rows, secs, secs > 0 ? rows / secs : 0, secs > 0 ? tokens / secs : 0, peak / 1048576.0,
            warmup ? " (warm-up, not counted)" : "", mpct_tune_best(&tr->t), mpct_tune_peek(&tr->t));
}

/* The "batch_tuning" report section (perf/REPORT.md) from every replica's record. */
static mpct_status tune_section(const mpct_job *job, const tune_rec *recs, int nrep, mpct_perf_report_t *rep)
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
        const tune_rec *tr = &recs[q];
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
            mpct_json_num(&j, "tokens_per_s", mpct_tune_tokens_per_s(st));
            mpct_json_int(&j, "peak_rss_bytes", (long long)st->peak_rss);
            mpct_json_int(&j, "too_big", st->too_big);
            mpct_json_obj_close(&j);
        }
        mpct_json_arr_close(&j);
        mpct_json_arr_open(&j, "sequence");
        for (int k = 0; k < tr->nseq && k < TUNE_SEQ; k++)
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

/* Reports a set-up failure on this rank; returns the "not ok" flag for agree(). */
static int fail_rank(mpct_status st)
{
    mpct_tool_error("run", st);
    return 0;
}

/* ---- interruption: SIGINT / SIGTERM ---- */
static volatile sig_atomic_t stop_signal; /* the first signal received; 0 = none */

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

/* From here on SIGINT and SIGTERM only set stop_signal (async-signal-safe);
 * the run checks it between batches. SA_RESTART: an interrupted read or
 * write (HDF5, the inputs) resumes instead of failing. */
static void stop_signals_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static const char *signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

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
static void stop_message(int sig, size_t kept, size_t n, const char *output, int nranks, int argc, char **argv)
{
    char link[4096], exe[4096] = "mpct";
    ssize_t len = readlink("/proc/self/exe", link, sizeof link - 1);
    if (len > 0)
        memcpy(exe, link, (size_t)len), exe[len] = '\0';
    char *cmd = NULL;
    size_t clen = 0;
    FILE *b = open_memstream(&cmd, &clen);
    if (b) {
        if (nranks > 1)
            fprintf(b, " mpirun -np %d", nranks);
        cmd_append(b, exe);
        for (int i = 0; i < argc; i++)
            if (strcmp(argv[i], "--overwrite") && strcmp(argv[i], "--resume"))
                cmd_append(b, argv[i]);
        fputs(" --resume", b);
        fclose(b);
    }
    fprintf(stderr, "mpct run: error: interrupted by %s: %zu of %zu rows are kept in %s.partial\n", signal_name(sig),
            kept, n, output);
    fprintf(stderr, "mpct run: to compute the other %zu, resume with:%s\n", n - kept, cmd ? cmd : " (out of memory)");
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

/* Before any work: every file this rank writes can be written (the output
 * on the writer, the report files on world rank 0), and an OUTPUT.partial
 * holding rows is neither resumed nor discarded without being asked to.
 * Prints the reason on failure. */
static int outputs_ready(const mpct_job *job, int writes_output, int writes_report)
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
    if (st == MPCT_OK && writes_report && job->prometheus[0])
        st = probe_writable("Prometheus", job->prometheus);
    if (st != MPCT_OK)
        mpct_tool_error("run", st);
    return st == MPCT_OK;
}

static int run_secure(run_ctx *rc)
{
    mpct_job *job = &rc->job;
    mpct_replica *r = &rc->rep;
    int wrank = 0, wsize = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    mpct_ctx_config cfg = mpct_ctx_config_default();
    cfg.frac_bits = job->frac_bits;
    cfg.kernels = job->kernels;
    cfg.deterministic = job->test_seed != 0;
    cfg.seed = (uint64_t)job->test_seed;
    mpct_status st = mpct_replica_init(r, &cfg, job->timeout_s);
    if (st != MPCT_OK) {
        if (wrank == 0 || st != MPCT_ERR_ARG)
            mpct_tool_error("run", st);
        return st == MPCT_ERR_ARG ? 1 : MPCT_EXIT_ABORT;
    }
    MPI_Comm_split(MPI_COMM_WORLD, r->party, r->replica, &rc->party_comm);
    if (job->report[0] || job->prometheus[0]) {
        /* Before any op: PAPI counts from here, read by the transport at each
         * outermost op enter/leave (one branch per op when unavailable). */
        mpct_perf_config pc = mpct_perf_config_default();
        pc.world_rank = wrank;
        pc.replica = r->replica;
        pc.party = r->party;
        pc.papi = job->papi;
        pc.papi_events = job->papi_events[0] ? job->papi_events : NULL;
        st = mpct_perf_init(&rc->perf, &pc);
        if (!agree(st == MPCT_OK ? 1 : fail_rank(st)))
            return 1;
        if (mpct_perf_papi_available(rc->perf))
            mpct_net_set_probe(r->net, mpct_perf_counters_read, rc->perf, mpct_perf_papi_nevents(rc->perf));
    }
    rc->is_owner0 = wrank == job->owner;
    rc->is_client = r->party == job->client;
    rc->is_writer = wrank == job->client;
    const int quiet = job->quiet;
    double t_start = mpct_time_now();

    /* 0. every output path, before any work (the report is written by world rank 0) */
    if (!agree(outputs_ready(job, rc->is_writer, wrank == 0)))
        return 1;

    /* 1. the owner opens the model; everyone learns the public description */
    mpct_model_file *mf = NULL;
    int ok = 1;
    if (rc->is_owner0 && (st = mpct_model_file_open(job->model, &mf)) != MPCT_OK)
        ok = fail_rank(st);
    if (!agree(ok))
        return 1;
    if (rc->is_owner0)
        mpct_smodel_info_read(mf, job->frac_bits, &rc->info);
    MPI_Bcast(&rc->info, (int)sizeof rc->info, MPI_BYTE, job->owner, MPI_COMM_WORLD);
    if ((st = mpct_smodel_info_accept(&rc->info)) != MPCT_OK) { /* the same on every rank */
        if (wrank == 0)
            mpct_tool_error("run", st);
        mpct_model_file_close(mf);
        return 1;
    }
    const mpct_model_config *mc = &rc->info.cfg;
    rc->dim = (size_t)mc->hidden;
    rc->nl = !strcmp(job->task, "classify") ? (size_t)mc->num_labels : 0;
    if (!strcmp(job->task, "classify") && mc->num_labels <= 0) {
        if (wrank == 0)
            fprintf(stderr, "mpct run: error: task 'classify' needs a model with a classification head; "
                            "'%s' has none (num_labels = 0)\n", job->model);
        return 1;
    }
    if (job->seq_len > mc->max_positions) {
        if (wrank == 0)
            fprintf(stderr, "mpct run: error: seq_len %d exceeds the model's %lld positions\n", job->seq_len,
                    (long long)mc->max_positions);
        return 1;
    }
    /* vocabulary (public) from the owner */
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 1;
    long long vl = 0;
    if (rc->is_owner0) {
        if ((st = mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower)) != MPCT_OK)
            ok = fail_rank(st);
        vl = ok ? (long long)vlen : -1;
    }
    MPI_Bcast(&vl, 1, MPI_LONG_LONG, job->owner, MPI_COMM_WORLD);
    if (vl < 0)
        return 1;
    if (!rc->is_owner0) {
        vlen = (size_t)vl;
        vocab = mpct_alloc(vlen ? vlen : 1);
    }
    MPI_Bcast(vocab, (int)vlen, MPI_BYTE, job->owner, MPI_COMM_WORLD);

    /* 2. clients read and tokenize the inputs */
    ok = 1;
    if (rc->is_client) {
        st = mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &rc->tok);
        if (st == MPCT_OK)
            st = read_inputs(job->inputs, rc->tok, (size_t)job->seq_len, rc->is_writer && !quiet,
                             rc->is_writer, &rc->in);
        if (st != MPCT_OK && rc->is_writer)
            ok = fail_rank(st);
        else if (st != MPCT_OK)
            ok = 0;
    }
    mpct_free(vocab);
    if (!agree(ok))
        return 1;
    unsigned long long nin = rc->in.n;
    MPI_Bcast(&nin, 1, MPI_UNSIGNED_LONG_LONG, job->client, MPI_COMM_WORLD);
    rc->n = (size_t)nin;
    rc->nblocks = (rc->n + (size_t)job->batch - 1) / (size_t)job->batch;

    /* 3. the writer opens the output (fails early if it cannot be written) */
    rc->done = calloc(rc->n, 1);
    ok = rc->done != NULL;
    if (rc->is_writer && ok) {
        const char *names[MPCT_IO_MAX_LABELS];
        for (size_t i = 0; i < rc->nl; i++)
            names[i] = rc->info.labels[i];
        mpct_out_meta meta = {rc->n, rc->dim, rc->nl, job->task, rc->info.hash, rc->in.sha, job->frac_bits,
                              job->seq_len, rc->nl ? names : NULL, job->row_offset >= 0, job->row_offset, NULL,
                              "secure", MPCT_VERSION_STRING, job->test_seed != 0};
        st = mpct_out_open(job->output, &meta, job->resume, &rc->out);
        if (st == MPCT_OK)
            st = mpct_out_done(rc->out, rc->done);
        if (st != MPCT_OK)
            ok = fail_rank(st);
    }
    if (!agree(ok))
        return 1;
    MPI_Bcast(rc->done, (int)rc->n, MPI_BYTE, job->client, MPI_COMM_WORLD);
    size_t pending_rows = 0;
    uint8_t *todo = calloc(rc->nblocks ? rc->nblocks : 1, 1);
    if (job->batch_auto) { /* exactly the rows not done */
        for (size_t i = 0; i < rc->n; i++)
            pending_rows += !rc->done[i];
    } else { /* whole blocks with a row not done */
        for (size_t j = 0; j < rc->nblocks; j++) {
            size_t first = j * (size_t)job->batch, last = first + (size_t)job->batch;
            for (size_t i = first; i < last && i < rc->n; i++)
                if (!rc->done[i])
                    todo[j] = 1;
            for (size_t i = first; todo[j] && i < last && i < rc->n; i++)
                pending_rows++;
        }
    }
    if (rc->is_writer && !quiet && job->resume)
        fprintf(stderr, "mpct run: resuming: %zu of %zu inputs already done, %zu to compute\n",
                rc->n - pending_rows, rc->n, pending_rows);

    /* 4. weights: replica 0 shares them, the other replicas copy their party's shares */
    double t_share = mpct_time_now();
    run_cache_stats cst;
    st = mpct_run_weights(r, rc->party_comm, job, mf, &rc->info,
                          rc->is_owner0 && !quiet && isatty(2) ? share_progress : NULL, &rc->model, &cst);
    mpct_model_file_close(mf);
    if (st != MPCT_OK) {
        mpct_tool_error("run", st);
        return MPCT_EXIT_ABORT;
    }
    if (rc->is_writer && !quiet)
        mpct_run_cache_print(&cst, "run", stderr);
    mpct_net_counters setup = mpct_net_total(r->net);
    t_share = mpct_time_now() - t_share;
    mpct_scratch_restart(); /* the cache sizes itself by the batches' temporaries, not the sharing's */

    /* 5. ranges from a shared counter */
    dispenser dp = {MPI_WIN_NULL, NULL, job->batch_auto, rc->n, (size_t)job->batch, rc->nblocks, todo, NULL, 0, 0, 0};
    if (job->batch_auto && rc->is_client && !(dp.pend = malloc((pending_rows + 1) * sizeof *dp.pend))) {
        mpct_tool_error("run", mpct_error_set(MPCT_ERR_NOMEM, "out of memory"));
        return MPCT_EXIT_ABORT;
    }
    for (size_t i = 0; dp.pend && i < rc->n; i++)
        if (!rc->done[i])
            dp.pend[dp.npend++] = i;
    MPI_Win_allocate(wrank == 0 ? (MPI_Aint)(2 * sizeof(long)) : 0, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
                     &dp.counter, &dp.win);
    if (wrank == 0)
        dp.counter[0] = dp.counter[1] = 0;
    tune_rec tr;
    memset(&tr, 0, sizeof tr);
    tr.replica = r->replica;
    if (job->batch_auto) {
        uint64_t limit = 0, base = 0;
        tune_limits(job, r, &limit, &base);
        mpct_tune_init(&tr.t, job->batch_min, job->batch_max, limit, base, 16);
        if (rc->is_writer && !quiet)
            fprintf(stderr, "mpct run: batch auto: sizes %d..%d, peak RSS limit %.0f MiB per party (%s)\n",
                    job->batch_min, job->batch_max, limit / 1048576.0,
                    job->mem_limit_mb ? "--mem-limit-mb" : limit ? "RSS now + MemAvailable / ranks on the node"
                                                                 : "MemAvailable unknown: none");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, dp.win);
    progress pg = {rc->is_writer && !quiet, isatty(2), pending_rows, 0, mpct_time_now(), 0, 0, 0};
    batch_out o = {0, 0, rc->dim, rc->nl, NULL, NULL, NULL, NULL};
    const size_t B = (size_t)(job->batch_auto ? job->batch_max : job->batch); /* largest range */
    o.emb = calloc(B * rc->dim, sizeof *o.emb);
    o.logits = calloc(B * (rc->nl ? rc->nl : 1), sizeof *o.logits);
    o.labels = calloc(B, sizeof *o.labels);
    o.tokens = calloc(B, sizeof *o.tokens);
    double *msgs = NULL, *mnext = NULL;
    MPI_Request *reqs = NULL;
    size_t nmsg = 0;
    if (rc->is_client && !rc->is_writer) { /* one message per range: at most msg_len(1) doubles per row */
        mnext = msgs = malloc(pending_rows * msg_len(1, rc->dim, rc->nl) * sizeof *msgs + 1);
        reqs = malloc((pending_rows + 1) * sizeof *reqs);
    }
    size_t my_blocks = 0, my_rows = 0; /* my_rows: rows this replica computed (counted by its client) */
    long prev_rows = -1; /* rows of the previous batch (--batch auto restarts the scratch cache on a change) */
    double t_infer = mpct_time_now();
    int rcode = 0;
    for (;;) {
        long rg[3] = {0, 0, 0}; /* first row, rows, PRF stream */
        /* a batch boundary: the replica's parties agree whether one of them got a signal */
        int sig_here = stop_signal, sig_replica = 0;
        MPI_Allreduce(&sig_here, &sig_replica, 1, MPI_INT, MPI_MAX, r->comm);
        if (rc->is_client) {
            size_t first = 0, count = 0;
            uint64_t stream = 0;
            long one = sig_replica ? 1 : 0, stopped = 0; /* raise (or read) the stop counter */
            MPI_Fetch_and_op(&one, &stopped, MPI_LONG, 0, 1, MPI_SUM, dp.win);
            MPI_Win_flush(0, dp.win);
            if (!sig_replica && !stopped)
                dispense(&dp, job->batch_auto ? (size_t)mpct_tune_next(&tr.t) : B, &first, &count, &stream);
            rg[0] = (long)first, rg[1] = (long)count, rg[2] = (long)stream;
            my_rows += count;
        }
        MPI_Bcast(rg, 3, MPI_LONG, job->client, r->comm);
        if (rg[1] == 0)
            break;
        const char *slow = getenv("MPCT_TEST_SLOW_REPLICA"); /* tests only: "r:ms" delays replica r per block */
        if (slow && strchr(slow, ':') && atoi(slow) == r->replica) {
            long ms = atol(strchr(slow, ':') + 1);
            nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL);
        }
        if (job->batch_auto && rg[1] != prev_rows) /* a new size: measure its own temporaries */
            mpct_scratch_restart();
        prev_rows = rg[1];
        if (job->batch_auto && my_blocks == 0)
            tr.rss_window = mpct_perf_rss_window_start() == 0;
        else if (job->batch_auto)
            mpct_perf_rss_window_start();
        double t_range = mpct_time_now();
        st = run_range(rc, (size_t)rg[0], (size_t)rg[1], (uint64_t)rg[2], &o);
        if (st != MPCT_OK) {
            mpct_tool_error("run", st);
            rcode = MPCT_EXIT_ABORT;
            break;
        }
        t_range = mpct_time_now() - t_range;
        my_blocks++;
        if (job->batch_auto) { /* the replica's largest peak RSS of this batch, to its client */
            unsigned long long mine = mpct_perf_rss_window_peak(), peak = 0;
            MPI_Reduce(&mine, &peak, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, job->client, r->comm);
            if (rc->is_client) {
                double tokens = 0;
                int padded = 0;
                for (long i = 0; i < rg[1]; i++) {
                    tokens += rc->in.count[rg[0] + i];
                    padded = rc->in.count[rg[0] + i] > padded ? rc->in.count[rg[0] + i] : padded;
                }
                int was_settled = tr.t.settled, changed = 0, warmup = tr.nseq == 0;
                if (warmup) /* first touches of buffers and caches: not a measurement of its size */
                    tr.warmup_s = t_range, tr.warmup_rows = (int)rg[1];
                else
                    changed = mpct_tune_record(&tr.t, (int)rg[1], tokens, padded, t_range, peak);
                if (tr.nseq < TUNE_SEQ)
                    tr.seq[tr.nseq] = (int)rg[1];
                tr.nseq++;
                if (!quiet && (warmup || !was_settled || rg[1] != mpct_tune_best(&tr.t) || changed))
                    tune_line(&tr, r->nreplicas, (int)rg[1], t_range, tokens, peak, warmup);
                if (!quiet && tr.t.over_limit_at_min == 1) {
                    fprintf(stderr, "mpct run: warning: batch auto: even batch_min %d exceeded the peak RSS limit "
                                    "(%.0f MiB > %.0f MiB per party)\n",
                            job->batch_min, peak / 1048576.0, tr.t.mem_limit / 1048576.0);
                    tr.t.over_limit_at_min = 2; /* warned */
                }
            }
        }
        if (rc->is_writer) {
            double *m = malloc(msg_len(o.n, rc->dim, rc->nl) * sizeof *m);
            if (!m) {
                mpct_tool_error("run", mpct_error_set(MPCT_ERR_NOMEM, "writer: out of memory"));
                rcode = MPCT_EXIT_ABORT;
                break;
            }
            msg_pack(&o, m);
            st = write_msg(rc->out, m, rc->dim, rc->nl, &pg);
            free(m);
            if (st == MPCT_OK)
                st = drain(rc->out, rc->dim, rc->nl, &pg, 0);
        } else if (rc->is_client) {
            msg_pack(&o, mnext);
            MPI_Isend(mnext, (int)msg_len(o.n, rc->dim, rc->nl), MPI_DOUBLE, job->client, TAG_RESULT, MPI_COMM_WORLD,
                      &reqs[nmsg++]);
            mnext += msg_len(o.n, rc->dim, rc->nl);
        }
        if (st != MPCT_OK) {
            mpct_tool_error("run", st);
            rcode = MPCT_EXIT_ABORT;
            break;
        }
    }
    /* the rows every replica computed (all of them unless a signal stopped the run) and the signal */
    unsigned long long rows_mine = my_rows, rows_all = 0;
    int sig_mine = stop_signal, sig = 0;
    if (rcode == 0) {
        MPI_Allreduce(&rows_mine, &rows_all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(&sig_mine, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    }
    const size_t rows_run = (size_t)rows_all;
    const int interrupted = rcode == 0 && rows_run < pending_rows;
    if (rcode == 0 && rc->is_writer)
        while (pg.done < rows_run)
            if ((st = drain(rc->out, rc->dim, rc->nl, &pg, 1)) != MPCT_OK) {
                mpct_tool_error("run", st);
                rcode = MPCT_EXIT_ABORT;
                break;
            }
    if (nmsg)
        MPI_Waitall((int)nmsg, reqs, MPI_STATUSES_IGNORE);
    MPI_Win_unlock_all(dp.win);
    if (rcode)
        return rcode;
    MPI_Win_free(&dp.win);
    t_infer = mpct_time_now() - t_infer;
    progress_show(&pg, 1);
    if (rc->is_writer && interrupted) { /* keeps PATH.partial */
        const size_t kept = mpct_out_count_done(rc->out);
        if ((st = mpct_out_close(rc->out, 0)) != MPCT_OK)
            mpct_tool_error("run", st);
        rc->out = NULL;
        stop_message(sig, kept, rc->n, job->output, wsize, rc->argc, rc->argv);
    } else if (rc->is_writer) {
        if ((st = mpct_out_close(rc->out, 1)) != MPCT_OK) {
            mpct_tool_error("run", st);
            rc->out = NULL;
            rcode = 1;
        }
        rc->out = NULL;
    }
    if (interrupted)
        rcode = 128 + (sig ? sig : SIGTERM);

    /* 6. report */
    mpct_net_counters tot = mpct_net_total(r->net);
    if (rc->perf) {
        mpct_perf_t *perf = rc->perf;
        mpct_perf_report_t *rep = NULL;
        st = MPCT_OK;
        for (int i = 0; st == MPCT_OK && i < mpct_net_op_count(r->net); i++) {
            mpct_net_counters c = mpct_net_op_counters(r->net, i);
            mpct_perf_net pn = {c.bytes_sent, c.bytes_recv, c.rounds, c.comm_s};
            const char *name = mpct_net_op_name(r->net, i);
            const char *phase = !strcmp(name, "setup") || !strcmp(name, "share_weights") ? "setup" : "inference";
            int layer = mpct_net_op_layer(r->net, i);
            int64_t hw[MPCT_NET_MAX_PROBE];
            int nhw = mpct_net_op_probe(r->net, i, hw);
            st = mpct_perf_region_add(perf, phase, layer, name, c.wall_s, c.cpu_s, &pn, c.calls);
            if (st == MPCT_OK && nhw)
                st = mpct_perf_region_add_counters(perf, phase, layer, name, hw, nhw);
        }
        mpct_net_set_probe(r->net, NULL, NULL, 0); /* the gather below runs no ops; be explicit */
        long mine = (long)my_blocks, *blocks = calloc((size_t)wsize, sizeof *blocks); /* blocks per replica */
        MPI_Gather(&mine, 1, MPI_LONG, blocks, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        tune_rec *trs = NULL; /* batch = auto: every rank's search state; the clients' count */
        if (job->batch_auto) {
            trs = wrank == 0 ? calloc((size_t)wsize, sizeof *trs) : NULL;
            MPI_Gather(&tr, (int)sizeof tr, MPI_BYTE, trs, (int)sizeof tr, MPI_BYTE, 0, MPI_COMM_WORLD);
            for (int q = 0; trs && q < r->nreplicas; q++)
                trs[q] = trs[3 * q + job->client];
        }
        if (st == MPCT_OK)
            st = mpct_tool_gather_report(r, perf, "mpct run", &rep);
        if (st == MPCT_OK && rep) {
            mpct_status s2 = MPCT_OK;
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "mode", "secure");
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "insecure_test_keys", job->test_seed != 0);
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "task", job->task);
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "model_hash", rc->info.hash);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "frac_bits", job->frac_bits);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "batch_size", trs ? mpct_tune_best(&trs[0].t) : job->batch);
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "batch_mode", job->batch_auto ? "auto" : "fixed");
            if (trs)
                s2 = s2 ? s2 : tune_section(job, trs, r->nreplicas, rep);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "seq_len", job->seq_len);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "inferences", (double)rows_run);
            if (interrupted) /* what was measured up to the signal */
                s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "interrupted_by", signal_name(sig));
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "wall_s", mpct_time_now() - t_start);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "setup_s", t_share);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "inference_s", t_infer);
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "kernels", job->kernels);
            for (int q = 0; q < r->nreplicas && blocks; q++) {
                char key[32];
                snprintf(key, sizeof key, "blocks_replica_%d", q);
                s2 = s2 ? s2 : mpct_perf_report_set_num(rep, key, (double)blocks[3 * q]);
            }
            s2 = s2 ? s2 : mpct_run_cache_report(&cst, rep);
            st = s2 ? s2 : mpct_tool_save_report(rep, job->report, job->prometheus);
        }
        if (st != MPCT_OK) {
            mpct_tool_error("run", st);
            rcode = rcode ? rcode : 1;
        }
        free(blocks);
        free(trs);
        mpct_perf_report_free(rep);
    }
    if (rc->is_writer && !quiet && !interrupted)
        fprintf(stderr,
                "mpct run: %zu inferences in %.2f s (%.2f inf/s, %d replica%s; weight sharing %.2f s), "
                "this party sent %.1f MB (setup %.1f MB) in %llu rounds; wrote %s\n",
                rows_run, t_infer, t_infer > 0 ? (double)rows_run / t_infer : 0, r->nreplicas,
                r->nreplicas > 1 ? "s" : "", t_share, (double)tot.bytes_sent / 1e6, (double)setup.bytes_sent / 1e6,
                (unsigned long long)tot.rounds, job->output);
    if (rc->is_writer && !quiet && job->batch_auto) {
        fprintf(stderr, "mpct run: batch auto: chose %d rows per batch (replica 0, %d batches); per size:",
                mpct_tune_best(&tr.t), tr.nseq);
        for (int k = 0; k < tr.t.nstat; k++)
            if (tr.t.stat[k].batches)
                fprintf(stderr, " %d: %d x %.2f rows/s%s", tr.t.stat[k].size, tr.t.stat[k].batches,
                        mpct_tune_rows_per_s(&tr.t.stat[k]), tr.t.stat[k].too_big ? " (over the memory limit)" : "");
        fputc('\n', stderr);
    }
    free(msgs);
    free(reqs);
    free(o.emb);
    free(o.logits);
    free(o.labels);
    free(o.tokens);
    free(todo);
    free(dp.pend);
    return rcode;
}

/* --plaintext: the float64 reference on world rank 0 (which then needs both
 * the model and the inputs: a comparison mode for someone who owns both). */
static int run_plaintext(run_ctx *rc)
{
    mpct_job *job = &rc->job;
    if (job->report[0] || job->prometheus[0])
        fprintf(stderr, "mpct run: warning: --plaintext writes no profiling report: %s%s%s not written\n", job->report,
                job->report[0] && job->prometheus[0] ? " and " : "", job->prometheus);
    mpct_ref_model *ref = NULL;
    mpct_model_file *mf = NULL;
    mpct_status st;
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 1, rcode = 1;
    double *emb = NULL, *lg = NULL;
    int32_t *mask = NULL, *lab = NULL;
    if (!outputs_ready(job, 1, 0))
        return 1;
    MPCT_CALL_GOTO(st, done, mpct_model_file_open(job->model, &mf));
    MPCT_CALL_GOTO(st, done, mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower));
    MPCT_CALL_GOTO(st, done, mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &rc->tok));
    MPCT_CALL_GOTO(st, done, read_inputs(job->inputs, rc->tok, (size_t)job->seq_len, !job->quiet, 1, &rc->in));
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
                          "plaintext", MPCT_VERSION_STRING, 0};
    MPCT_CALL_GOTO(st, done, mpct_out_open(job->output, &meta, job->resume, &rc->out));
    const size_t B = (size_t)job->batch, S = rc->in.seq;
    emb = malloc(B * dim * sizeof *emb);
    lg = malloc(B * (nl ? nl : 1) * sizeof *lg);
    mask = malloc(B * S * sizeof *mask);
    lab = malloc(B * sizeof *lab);
    if (!emb || !lg || !mask || !lab) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "plaintext run: out of memory");
        goto done;
    }
    progress pg = {!job->quiet, isatty(2), rc->in.n, 0, mpct_time_now(), 0, 0, 0};
    for (size_t first = 0; first < rc->in.n; first += B) {
        if (stop_signal) { /* keeps PATH.partial */
            const size_t kept = mpct_out_count_done(rc->out);
            st = mpct_out_close(rc->out, 0);
            rc->out = NULL;
            progress_show(&pg, 1);
            stop_message(stop_signal, kept, rc->in.n, job->output, 1, rc->argc, rc->argv);
            rcode = 128 + stop_signal;
            goto done;
        }
        size_t n = first + B <= rc->in.n ? B : rc->in.n - first, T = 0;
        for (size_t i = 0; i < n; i++)
            T = (size_t)rc->in.count[first + i] > T ? (size_t)rc->in.count[first + i] : T;
        int32_t *ids = malloc(n * T * sizeof *ids);
        if (!ids) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "plaintext run: out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < T; k++) {
                ids[i * T + k] = rc->in.ids[(first + i) * S + k];
                mask[i * T + k] = k < (size_t)rc->in.count[first + i];
            }
        st = mpct_ref_forward(ref, ids, mask, n, T, emb, nl ? lg : NULL);
        free(ids);
        if (st != MPCT_OK)
            goto done;
        batch_out o = {first, n, dim, nl, emb, lg, lab, rc->in.count + first};
        if (nl)
            argmax_labels(&o);
        MPCT_CALL_GOTO(st, done, mpct_out_write(rc->out, first, n, emb, nl ? lg : NULL, nl ? lab : NULL,
                                                rc->in.count + first));
        pg.done += n;
        progress_show(&pg, 0);
    }
    progress_show(&pg, 1);
    st = mpct_out_close(rc->out, 1);
    rc->out = NULL;
    if (st != MPCT_OK)
        goto done;
    rcode = 0;
done:
    if (st != MPCT_OK)
        mpct_tool_error("run", st);
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
    rc.party_comm = MPI_COMM_NULL;
    rc.rep.comm = MPI_COMM_NULL;
    int p = parse_args(argc, argv, &rc.job, wrank);
    if (p)
        return p < 0 ? 0 : p;
    rc.argc = argc;
    rc.argv = argv;
    stop_signals_catch();
    int rcode;
    if (rc.job.plaintext)
        rcode = wrank == 0 ? run_plaintext(&rc) : 0;
    else
        rcode = run_secure(&rc);
    if (rc.out)
        if (mpct_out_close(rc.out, 0) != MPCT_OK) /* keeps PATH.partial for --resume */
            mpct_tool_error("run", MPCT_ERR_IO);
    if (rcode == MPCT_EXIT_ABORT)
        return rcode;
    mpct_smodel_free(rc.model);
    mpct_tok_free(rc.tok);
    inputs_free(&rc.in);
    free(rc.done);
    mpct_replica_free(&rc.rep);
    mpct_perf_free(rc.perf); /* after the transport that read its counters */
    if (rc.party_comm != MPI_COMM_NULL)
        MPI_Comm_free(&rc.party_comm);
    if (rc.job.plaintext) {
        MPI_Bcast(&rcode, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    return rcode;
}
