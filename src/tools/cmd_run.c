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
 */
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_out.h"
#include "mpct_tok.h"
#include "run_cache.h"
#include "tool_common.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
            "  --batch N           rows per batch (default 8)\n"
            "  --seq-len N         max tokens per input; longer inputs are truncated (default 128)\n"
            "  --frac-bits F       fixed-point fractional bits (default 16)\n"
            "  --owner P --client P  party indices of the roles (default 0 and 1)\n"
            "  --report FILE.json  profiling report (mpct report FILE.json)\n"
            "  --prometheus FILE   Prometheus text file\n"
            "  --papi-events LIST  PAPI events counted per report region (comma list; default\n"
            "                      PAPI_TOT_INS,PAPI_TOT_CYC,PAPI_L2_DCM,PAPI_L3_TCM,PAPI_VEC_INS;\n"
            "                      events the machine lacks are skipped, the report says why)\n"
            "  --no-papi           timers only in the report (no hardware counters)\n"
            "  --resume            continue an interrupted run: compute only missing rows\n"
            "  --plaintext         run the float64 reference on rank 0 instead (for comparison)\n"
            "  --kernels NAME      kernel backend (default cpu)\n"
            "  --timeout S         seconds a party waits for a peer before giving up (default 600)\n"
            "  --test-seed S       deterministic keys (tests only; insecure)\n"
            "  --cache-dir DIR     share cache: reuse weight shares across runs (each party uses DIR/party<i>)\n"
            "  --cache-l1-mb N --cache-l2-mb N  memory tiers of the cache (default 0: disk only)\n"
            "  --cache-policy lru|lfu|ttl|adaptive  L1 eviction policy (default lru)\n"
            "  --cache-disk-mb N   disk budget per party: least recently used entries go first (default 0: none)\n"
            "  --quiet             no progress output\n"
            "Any world size that is a multiple of 3 runs that many replicas in parallel.\n");
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
    {"--resume", "resume", 0},       {"--plaintext", "plaintext", 0},
    {"--kernels", "kernels", 1},     {"--timeout", "timeout_s", 1}, {"--test-seed", "test_seed", 1},
    {"--quiet", "quiet", 0},
    {"--cache-dir", "cache_dir", 1}, {"--cache-l1-mb", "cache_l1_mb", 1}, {"--cache-l2-mb", "cache_l2_mb", 1},
    {"--cache-policy", "cache_policy", 1}, {"--cache-disk-mb", "cache_disk_mb", 1},
};

static int parse_args(int argc, char **argv, mpct_job *job, int rank)
{
    mpct_job_defaults(job);
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        mpct_status st = mpct_job_load(argv[i], job);
        if (st != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("run", st);
            return 2;
        }
        i++;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0)
                usage(stdout);
            return -1;
        }
        size_t k = 0;
        while (k < sizeof flags / sizeof flags[0] && strcmp(flags[k].flag, argv[i]))
            k++;
        if (k == sizeof flags / sizeof flags[0]) {
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
        if (st != MPCT_OK) {
            if (rank == 0)
                mpct_tool_error("run", st);
            return 2;
        }
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
        mpct_free_secret(in->ids, in->cap * in->seq * sizeof *in->ids);
    if (in->count)
        mpct_free_secret(in->count, in->cap * sizeof *in->count);
    memset(in, 0, sizeof *in);
}

static mpct_status read_inputs(const char *path, const mpct_tok_t *tok, size_t seq, int warn, inputs *in)
{
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
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
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
                mpct_free_secret(in->ids, cap * seq * sizeof *ids);
                mpct_free_secret(in->count, cap * sizeof *cnt);
            }
            in->ids = ids;
            in->count = cnt;
            cap = nc;
            in->cap = cap;
        }
        size_t got = 0, dropped = 0;
        st = mpct_tok_encode(tok, line, (size_t)len, seq, in->ids + n * seq, mask, &got, &dropped);
        if (st != MPCT_OK) {
            st = mpct_error_set(st, "%s:%zu: %s", path, n + 1, mpct_error_msg());
            break;
        }
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
} run_ctx;

static void share_progress(size_t done, size_t total, void *arg)
{
    (void)arg;
    if (done == total || done % 16 == 0)
        fprintf(stderr, "\rmpct run: sharing weights %zu/%zu tensors%s", done, total, done == total ? "\n" : "");
}

/* Compute block j in this replica; the client gets its rows. */
static mpct_status run_block(run_ctx *rc, size_t j, batch_out *o)
{
    mpct_ctx_t *ctx = rc->rep.ctx;
    const mpct_job *job = &rc->job;
    const size_t B = (size_t)job->batch, first = j * B, n = first + B <= rc->n ? B : rc->n - first;
    const int client = job->client;
    mpct_status st = MPCT_OK;
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0}, LG = {0};
    /* the client tells its replica the padded length t of this block */
    long t = 0;
    if (rc->is_client)
        for (size_t i = 0; i < n; i++)
            t = rc->in.count[first + i] > t ? rc->in.count[first + i] : t;
    MPI_Bcast(&t, 1, MPI_LONG, client, rc->rep.comm);
    mpct_ctx_set_stream(ctx, 2 + j);
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

/* Reports a set-up failure on this rank; returns the "not ok" flag for agree(). */
static int fail_rank(mpct_status st)
{
    mpct_tool_error("run", st);
    return 0;
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

    /* 1. the owner opens the model; everyone learns the public description */
    mpct_model_file *mf = NULL;
    int ok = 1;
    if (rc->is_owner0 && (st = mpct_model_file_open(job->model, &mf)) != MPCT_OK)
        ok = fail_rank(st);
    if (!agree(ok))
        return 1;
    if (rc->is_owner0) {
        memset(&rc->info, 0, sizeof rc->info);
        rc->info.cfg = *mpct_model_file_config(mf);
        snprintf(rc->info.hash, sizeof rc->info.hash, "%s", mpct_model_file_hash(mf));
        for (int64_t i = 0; i < rc->info.cfg.num_labels && i < MPCT_IO_MAX_LABELS; i++)
            snprintf(rc->info.labels[i], sizeof rc->info.labels[i], "%s", mpct_model_file_label(mf, (size_t)i));
    }
    MPI_Bcast(&rc->info, (int)sizeof rc->info, MPI_BYTE, job->owner, MPI_COMM_WORLD);
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
            st = read_inputs(job->inputs, rc->tok, (size_t)job->seq_len, rc->is_writer && !quiet, &rc->in);
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
                              job->seq_len, rc->nl ? names : NULL};
        st = mpct_out_open(job->output, &meta, job->resume, &rc->out);
        if (st == MPCT_OK)
            st = mpct_out_done(rc->out, rc->done);
        if (st != MPCT_OK)
            ok = fail_rank(st);
    }
    if (!agree(ok))
        return 1;
    MPI_Bcast(rc->done, (int)rc->n, MPI_BYTE, job->client, MPI_COMM_WORLD);
    size_t pending_rows = 0, pending_blocks = 0;
    uint8_t *todo = calloc(rc->nblocks ? rc->nblocks : 1, 1);
    for (size_t j = 0; j < rc->nblocks; j++) {
        size_t first = j * (size_t)job->batch, last = first + (size_t)job->batch;
        for (size_t i = first; i < last && i < rc->n; i++)
            if (!rc->done[i])
                todo[j] = 1;
        if (todo[j]) {
            pending_blocks++;
            for (size_t i = first; i < last && i < rc->n; i++)
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

    /* 5. blocks from a shared counter */
    MPI_Win win;
    long *counter = NULL;
    MPI_Win_allocate(wrank == 0 ? (MPI_Aint)sizeof(long) : 0, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
                     &counter, &win);
    if (wrank == 0)
        *counter = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, win);
    progress pg = {rc->is_writer && !quiet, isatty(2), pending_rows, 0, mpct_time_now(), 0, 0, 0};
    batch_out o = {0, 0, rc->dim, rc->nl, NULL, NULL, NULL, NULL};
    const size_t B = (size_t)job->batch;
    o.emb = calloc(B * rc->dim, sizeof *o.emb);
    o.logits = calloc(B * (rc->nl ? rc->nl : 1), sizeof *o.logits);
    o.labels = calloc(B, sizeof *o.labels);
    o.tokens = calloc(B, sizeof *o.tokens);
    double *msgs = NULL;
    MPI_Request *reqs = NULL;
    size_t nmsg = 0, mlen = msg_len(B, rc->dim, rc->nl);
    if (rc->is_client && !rc->is_writer) {
        msgs = malloc(pending_blocks * mlen * sizeof *msgs + 1);
        reqs = malloc((pending_blocks + 1) * sizeof *reqs);
    }
    size_t my_blocks = 0;
    double t_infer = mpct_time_now();
    int rcode = 0;
    for (;;) {
        long j = -1;
        if (rc->is_client) {
            /* skip blocks that are already done */
            do {
                long one = 1;
                MPI_Fetch_and_op(&one, &j, MPI_LONG, 0, 0, MPI_SUM, win);
                MPI_Win_flush(0, win);
            } while (j < (long)rc->nblocks && !todo[j]);
        }
        MPI_Bcast(&j, 1, MPI_LONG, job->client, r->comm);
        if (j >= (long)rc->nblocks)
            break;
        const char *slow = getenv("MPCT_TEST_SLOW_REPLICA"); /* tests only: "r:ms" delays replica r per block */
        if (slow && strchr(slow, ':') && atoi(slow) == r->replica) {
            long ms = atol(strchr(slow, ':') + 1);
            nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL);
        }
        st = run_block(rc, (size_t)j, &o);
        if (st != MPCT_OK) {
            mpct_tool_error("run", st);
            rcode = MPCT_EXIT_ABORT;
            break;
        }
        my_blocks++;
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
            double *m = msgs + nmsg * mlen;
            msg_pack(&o, m);
            MPI_Isend(m, (int)msg_len(o.n, rc->dim, rc->nl), MPI_DOUBLE, job->client, TAG_RESULT, MPI_COMM_WORLD,
                      &reqs[nmsg++]);
        }
        if (st != MPCT_OK) {
            mpct_tool_error("run", st);
            rcode = MPCT_EXIT_ABORT;
            break;
        }
    }
    if (rcode == 0 && rc->is_writer)
        while (pg.done < pending_rows)
            if ((st = drain(rc->out, rc->dim, rc->nl, &pg, 1)) != MPCT_OK) {
                mpct_tool_error("run", st);
                rcode = MPCT_EXIT_ABORT;
                break;
            }
    if (nmsg)
        MPI_Waitall((int)nmsg, reqs, MPI_STATUSES_IGNORE);
    MPI_Win_unlock_all(win);
    if (rcode)
        return rcode;
    MPI_Win_free(&win);
    t_infer = mpct_time_now() - t_infer;
    progress_show(&pg, 1);
    if (rc->is_writer) {
        if ((st = mpct_out_close(rc->out, 1)) != MPCT_OK) {
            mpct_tool_error("run", st);
            rc->out = NULL;
            rcode = 1;
        }
        rc->out = NULL;
    }

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
        if (st == MPCT_OK)
            st = mpct_tool_gather_report(r, perf, "mpct run", &rep);
        if (st == MPCT_OK && rep) {
            mpct_status s2 = MPCT_OK;
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "task", job->task);
            s2 = s2 ? s2 : mpct_perf_report_set_str(rep, "model_hash", rc->info.hash);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "frac_bits", job->frac_bits);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "batch_size", job->batch);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "seq_len", job->seq_len);
            s2 = s2 ? s2 : mpct_perf_report_set_num(rep, "inferences", (double)pending_rows);
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
            rcode = 1;
        }
        free(blocks);
        mpct_perf_report_free(rep);
    }
    if (rc->is_writer && !quiet)
        fprintf(stderr,
                "mpct run: %zu inferences in %.2f s (%.2f inf/s, %d replica%s; weight sharing %.2f s), "
                "this party sent %.1f MB (setup %.1f MB) in %llu rounds; wrote %s\n",
                pending_rows, t_infer, t_infer > 0 ? (double)pending_rows / t_infer : 0, r->nreplicas,
                r->nreplicas > 1 ? "s" : "", t_share, (double)tot.bytes_sent / 1e6, (double)setup.bytes_sent / 1e6,
                (unsigned long long)tot.rounds, job->output);
    (void)my_blocks;
    free(msgs);
    free(reqs);
    free(o.emb);
    free(o.logits);
    free(o.labels);
    free(o.tokens);
    free(todo);
    return rcode;
}

/* --plaintext: the float64 reference on world rank 0 (which then needs both
 * the model and the inputs: a comparison mode for someone who owns both). */
static int run_plaintext(run_ctx *rc)
{
    mpct_job *job = &rc->job;
    mpct_ref_model *ref = NULL;
    mpct_model_file *mf = NULL;
    mpct_status st;
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    int lower = 1, rcode = 1;
    double *emb = NULL, *lg = NULL;
    int32_t *mask = NULL, *lab = NULL;
    MPCT_CALL_GOTO(st, done, mpct_model_file_open(job->model, &mf));
    MPCT_CALL_GOTO(st, done, mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower));
    MPCT_CALL_GOTO(st, done, mpct_tok_load_vocab_mem(vocab, vlen, "the model's vocabulary", &rc->tok));
    MPCT_CALL_GOTO(st, done, read_inputs(job->inputs, rc->tok, (size_t)job->seq_len, !job->quiet, &rc->in));
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
                          job->seq_len, nl ? names : NULL};
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
