/*
 * mpct_sched.h — the job layer: what `mpct run`, `mpct warm` and `mpct bench
 * model` share between parsing their flags and computing a batch.
 *
 * Every three world ranks form one replica (world rank = 3 * replica +
 * party). A job is a short list of collective steps, each called by every
 * rank of MPI_COMM_WORLD in the same order:
 *
 *   mpct_sched_open       replicas, transport, protocol context, profiler,
 *                         every output path checked before any work
 *   mpct_sched_describe   the owner opens the model file; every rank gets the
 *                         public description (mpct_smodel_info)
 *   mpct_sched_vocab      the public vocabulary, owner to every rank
 *   mpct_sched_rows       how many rows the job has, the output opened by the
 *                         writer, the rows already done (--resume)
 *   mpct_sched_weights    this party's weight shares: share cache or fresh
 *                         sharing in replica 0, then copied to every replica
 *   mpct_sched_start      the work dispenser and result buffers
 *   mpct_sched_next       the next range of rows of this replica (n = 0: none)
 *   mpct_sched_submit     a computed range's results to the writer
 *   mpct_sched_finish     every result gathered, the output closed (or kept
 *                         as OUTPUT.partial after a signal)
 *   mpct_sched_report     the profiling report and the closing summary
 *   mpct_sched_close      frees everything the job took
 *
 * Steps return an exit status for the command: 0 to go on, 1 for a failure
 * every rank saw alike (already printed once), MPCT_SCHED_EXIT_ABORT for one
 * that may leave peers blocked (main then calls MPI_Abort). Messages start
 * with "mpct <cmd>:" where cmd is mpct_sched_config.cmd.
 *
 * Roles: the owner (job.owner, a party index) of replica 0 alone opens the
 * model file; the client (job.client) of every replica holds the rows' data
 * and receives results; the client of replica 0 is the writer of the output.
 *
 * Prefix: mpct_sched_.
 */
#ifndef MPCT_SCHED_H
#define MPCT_SCHED_H

#include "mpct_cache.h"
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_mpc.h"
#include "mpct_out.h"
#include "mpct_perf.h"

#include <mpi.h>
#include <stdio.h>

/* Exit status of a step whose failure may leave peers blocked (a transport
 * or protocol error mid-run): main() then calls MPI_Abort. */
#define MPCT_SCHED_EXIT_ABORT 3

/* ---- replicas ---- */
typedef struct mpct_sched_replica {
    int world_rank, world_size;
    int replica, nreplicas;
    int party;
    int separate;  /* 1: this launch is one party alone (MPI_COMM_WORLD = its ranks, one per replica) */
    MPI_Comm comm; /* the 3 ranks of this replica (MPI_COMM_NULL when separate) */
    int encrypted; /* 1: the links of this mpirun are encrypted (mpct_net_encrypt); control rounds use them too */
    MPI_Comm pcomm; /* encrypted: this party's ranks, one per replica, in replica order; else MPI_COMM_NULL */
    mpct_net_t *net;
    mpct_ctx_t *ctx;
} mpct_sched_replica;

/* Splits MPI_COMM_WORLD into replicas and sets up transport and protocol
 * context. A world size that is not a multiple of 3 is a user error: every
 * rank returns MPCT_ERR_ARG (no hang). With cfg->deterministic (--test-seed)
 * every rank prints a warning that its keys are insecure. */
mpct_status mpct_sched_replica_init(mpct_sched_replica *r, const mpct_ctx_config *cfg, double timeout_s) MPCT_WUR;
/* As mpct_sched_replica_init, from a job: with job->party >= 0 this launch
 * is that party alone: MPI_COMM_WORLD holds its ranks (rank r = replica r)
 * and each rank connects to rank r of the other two parties over TCP with
 * mutual TLS as job->peers says (mpct_net_tls.h), then checks that the
 * three launches agree on replicas, owner and client. job->network sets an
 * emulated link (mpct_net_set_link) before the first round. With
 * job->party < 0, job->encrypt (or, when auto, a replica whose ranks span
 * nodes) encrypts the replica's links before the first protocol round; the
 * collectives below then carry everything that passes between parties over
 * those links, and MPI only within a party. */
mpct_status mpct_sched_replica_open(mpct_sched_replica *r, const mpct_ctx_config *cfg, const mpct_job *job) MPCT_WUR;
void mpct_sched_replica_free(mpct_sched_replica *r);

/* Collectives that work both ways (coll.c). Replica level, over the three
 * parties of r's replica: bcast from party root; allreduce of n values of
 * dt (MPI_INT, MPI_LONG, MPI_LONG_LONG, MPI_UNSIGNED_LONG_LONG,
 * MPI_UINT64_T, MPI_DOUBLE) with MPI_SUM, MPI_MIN, MPI_MAX or MPI_LAND,
 * in place. World level, over every rank of every party: bcast from party
 * root_party of replica 0; allreduce in place. */
void mpct_sched_rbcast(const mpct_sched_replica *r, void *buf, size_t bytes, int root);
void mpct_sched_rallreduce(const mpct_sched_replica *r, void *v, int n, MPI_Datatype dt, MPI_Op op);
void mpct_sched_wbcast(const mpct_sched_replica *r, void *buf, size_t bytes, int root_party);
void mpct_sched_wallreduce(const mpct_sched_replica *r, void *v, int n, MPI_Datatype dt, MPI_Op op);
/* World level gather (collective over every rank of this launch): len bytes
 * from every rank to world rank 0, where *all holds them in world-rank
 * order, rank i's at *all + (*offs)[i], (*lens)[i] bytes (caller frees the
 * three); NULL elsewhere. With encrypted links the records of parties 1 and
 * 2 reach world rank 0 over the encrypted transport of replica 0; parties
 * launched separately gather within their own launch. Out of memory aborts. */
void mpct_sched_wgatherv(const mpct_sched_replica *r, const void *mine, int len, char **all, int **lens, int **offs);
/* The replica mpct_sched_agree reduces over (set by replica init and open). */
void mpct_sched_coll_bind(const mpct_sched_replica *r);

/* Prints "mpct <cmd>: error: <message>" (and the trace with MPCT_TRACE=1). */
void mpct_sched_error(const char *cmd, mpct_status s);
/* Completes a non-blocking MPI request sleeping nap_us between tests, so a
 * rank that waits for slow peers leaves its core to them. */
void mpct_sched_wait_sleeping(MPI_Request *rq, long nap_us);
/* Gathers every rank's profile to world rank 0 (mpct_sched_wgatherv); on
 * world rank 0 *out is the report (caller frees), elsewhere NULL. */
mpct_status mpct_sched_gather_report(const mpct_sched_replica *r, mpct_perf_t *perf, const char *tool,
                                     mpct_perf_report_t **out) MPCT_WUR;
/* Writes the report as JSON and/or Prometheus text (NULL or "" paths skipped). */
mpct_status mpct_sched_save_report(mpct_perf_report_t *rep, const char *json_path, const char *prom_path) MPCT_WUR;

/* ---- the weight step's share cache (src/cache/CACHE.md) ---- */
/* Counts are summed over the three parties of replica 0, latencies and times
 * are their maximum (valid on every rank of replica 0; zero elsewhere). */
typedef struct mpct_sched_cache_stats {
    int enabled;             /* every party of replica 0 had a usable cache */
    int used;                /* the weights came from the cache */
    uint64_t generation;     /* the sharing generation in use (0: none) */
    uint64_t tensors;        /* weight tensors per party */
    uint64_t hits, misses;   /* tensors served from the cache / shared afresh */
    double hit_rate;         /* hits / (hits + misses) */
    uint64_t bytes_read;     /* file bytes read from the disk tier (entries, index) */
    uint64_t bytes_written;  /* payload bytes of the components stored (words, not PRF seeds) */
    uint64_t share_bytes;    /* protocol bytes sent by the weight step */
    uint64_t corrupt, write_errors;
    uint64_t pruned_files, pruned_bytes; /* removed to keep cache_disk_mb */
    double lookup_s, store_s, total_s;
    mpct_cache_tier_stats tier[MPCT_CACHE_TIERS]; /* hits/misses/evictions summed, pXX max */
    char why[96];            /* why the cache was not used ("" when it was or is off) */
} mpct_sched_cache_stats;

/* One line for people: "mpct <cmd>: share cache: hit, generation ..." */
void mpct_sched_cache_print(const mpct_sched_cache_stats *s, const char *cmd, FILE *f);

/* ---- a job ---- */
typedef struct mpct_sched mpct_sched_t;

typedef struct mpct_sched_config {
    const char *cmd;     /* "run", "warm", "bench model": starts every message */
    const mpct_job *job; /* copied by mpct_sched_open */
    int argc;            /* the command line (argv[0] = the command), for the */
    char **argv;         /* command that resumes an interrupted run */
    int replicate;       /* 1: every replica gets the weights; 0: replica 0 only */
    int writes;          /* 1: the job writes job.output and the report (`run`): their paths are
                          * checked by open, the profiler runs, the weight step shows progress */
} mpct_sched_config;

/* A range of rows [first, first + n) computed with PRF stream `stream`. */
typedef struct mpct_sched_range {
    size_t first, n;
    uint64_t stream;
} mpct_sched_range;

/* A range's results, on the client (buffers sized by mpct_sched_start for
 * the largest range: emb n x dim, logits n x nl, labels and tokens n). */
typedef struct mpct_sched_batch {
    size_t first, n, dim, nl;
    size_t padded; /* tokens every row of the range was padded to: public, set on every rank by the caller */
    double *emb, *logits;
    int32_t *labels, *tokens;
} mpct_sched_batch;

/* Everything up to the first use of the model: replica; with cfg.writes
 * the profiler (with job.report or job.prometheus) and the output and
 * report paths. *out is set whenever the call returns
 * (free it with mpct_sched_close, whatever the status). */
int mpct_sched_open(mpct_sched_t **out, const mpct_sched_config *cfg);
/* This rank's replica (transport and protocol context). */
mpct_sched_replica *mpct_sched_replica_of(mpct_sched_t *s);
/* 1 when ok is nonzero on every rank (collective). */
int mpct_sched_agree(int ok);
/* Prints st on this rank and returns 0, the "not ok" of mpct_sched_agree. */
int mpct_sched_fail(const mpct_sched_t *s, mpct_status st);

/* The owner opens job.model; every rank gets the public description. */
int mpct_sched_describe(mpct_sched_t *s);
const mpct_smodel_info *mpct_sched_info(const mpct_sched_t *s);
/* The public vocabulary from the owner to every rank (*vocab: mpct_free). */
int mpct_sched_vocab(mpct_sched_t *s, uint8_t **vocab, size_t *len);

/* The job has n rows (known on the clients; broadcast from job.client) of
 * dim outputs and nl logits. The writer opens the output with meta (n, dim
 * and nl filled in here) and reads which rows are done (--resume). */
int mpct_sched_rows(mpct_sched_t *s, size_t n, size_t dim, size_t nl, mpct_out_meta *meta);
/* Rows that the job has: every rank (after mpct_sched_rows). */
size_t mpct_sched_nrows(const mpct_sched_t *s);
/* The output the writer opened in mpct_sched_rows (NULL on other ranks). */
mpct_out_t *mpct_sched_output(mpct_sched_t *s);

/* This party's weight shares in *m (owned by the job, freed by close); with
 * stats (may be NULL) the weight step's cache figures. */
int mpct_sched_weights(mpct_sched_t *s, mpct_smodel **m, mpct_sched_cache_stats *stats);

/* The dispenser and the result buffers; *batch receives them. */
int mpct_sched_start(mpct_sched_t *s, mpct_sched_batch **batch);
/* The next range of this replica (every rank of the replica gets it); n = 0
 * when no work is left or a signal stopped the run. */
int mpct_sched_next(mpct_sched_t *s, mpct_sched_range *rg);
/* The results of the range just computed (batch filled on the client). */
int mpct_sched_submit(mpct_sched_t *s, mpct_sched_batch *batch);
/* After the last range (code: the loop's status so far): gathers every
 * result, closes the output, says how to resume after a signal. */
int mpct_sched_finish(mpct_sched_t *s, int code);
/* The report (job.report / job.prometheus) and the closing summary. */
int mpct_sched_report(mpct_sched_t *s, int code);
/* Frees the job. After MPCT_SCHED_EXIT_ABORT (code) only memory is freed:
 * MPI_Abort follows, and peers may still block on the communicators. */
void mpct_sched_close(mpct_sched_t *s, int code);

/* ---- work items one at a time (`mpct generate`'s prompts; tickets.c) ----
 * A counter on world rank 0 handing out the items of [first, n) in order
 * to whichever replica's client asks next. open and close: every rank of
 * MPI_COMM_WORLD (open returns 1, on every rank, when out of memory);
 * next: clients only, -1 when every item is handed out. */
typedef struct mpct_sched_tickets mpct_sched_tickets;
int mpct_sched_tickets_open(long first, long n, mpct_sched_tickets **out);
long mpct_sched_tickets_next(mpct_sched_tickets *t);
void mpct_sched_tickets_close(mpct_sched_tickets *t); /* NULL is a no-op */

/* ---- shared with the plaintext path of `mpct run` ---- */
/* From here on SIGINT and SIGTERM only record the signal; a run checks it
 * at each batch boundary. */
void mpct_sched_catch_signals(void);
/* The first signal received (0: none). */
int mpct_sched_stop_signal(void);
/* Before any work: the output (writes_output) and the report files
 * (writes_report) can be written, and an OUTPUT.partial holding rows is
 * neither resumed nor discarded unasked. Prints the reason; 1 when ready. */
int mpct_sched_outputs_ready(const char *cmd, const mpct_job *job, int writes_output, int writes_report);
/* The writer's message after a signal: the rows OUTPUT.partial keeps and
 * the command line that resumes; it starts "mpct <argv[0]>:". */
void mpct_sched_stop_message(int sig, size_t kept, size_t n, const char *output, int nranks, int separate, int argc,
                             char **argv);
/* labels[i] = argmax of logits row i. */
void mpct_sched_argmax(mpct_sched_batch *b);

/* Progress lines on stderr ("mpct run: 12/100 inferences, ..."). */
typedef struct mpct_sched_progress {
    int on, tty;
    size_t total, done;
    double t0, last;
    size_t last_tenth; /* non-TTY: a line every 10 % of the work or every 5 s */
    size_t shown;      /* done count of the last line printed */
} mpct_sched_progress;
void mpct_sched_progress_show(mpct_sched_progress *p, int final);

#endif
