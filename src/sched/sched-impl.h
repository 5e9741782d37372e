/*
 * sched-impl.h — the job object shared by the files of src/sched (not
 * installed). job.c: open, describe, rows, weights, close; dispense.c: the
 * dispenser, results and batch tuning; report.c: the report; weights.c: the
 * weight step with the share cache; replica.c: replicas and MPI helpers;
 * outputs.c: output paths, signals, progress.
 */
#ifndef MPCT_SCHED_IMPL_H
#define MPCT_SCHED_IMPL_H

#include "batch_tune.h"
#include "mpct_sched.h"

#define MPCT_SCHED_TAG_RESULT 4242

/* The work dispenser: which rows a replica computes next. */
typedef struct sched_dispenser {
    MPI_Win win;
    long *counter;        /* on the client party's replica 0: [0] the next block (fixed) or pending-row
                           * position (auto); [1] nonzero once a replica stopped on a signal */
    int auto_mode;
    size_t n, B, nblocks; /* rows; fixed: rows per block and blocks */
    const uint8_t *todo;  /* fixed: blocks to compute */
    size_t *pend, npend;  /* auto: the rows not done, in order */
    size_t qa, qb;        /* auto: positions [qa, qb) of pend claimed by this replica, not yet computed */
} sched_dispenser;

/* batch = auto: the search state of one replica, gathered for the report. */
#define SCHED_TUNE_SEQ 256 /* sizes of the first batches kept for the report */
typedef struct sched_tune_rec {
    mpct_tune t;
    int replica, rss_window; /* rss_window: 1 = peak RSS measured per batch (else process peak) */
    int nseq;                /* batches computed */
    int warmup_rows;         /* the first batch (not a measurement: first touches of buffers and caches) */
    double warmup_s;
    int seq[SCHED_TUNE_SEQ]; /* their sizes, in order */
} sched_tune_rec;

/* The client's own figures per range size, with its real token counts: they
 * stay on the client (never sent to another rank) and go to its own file,
 * REPORT.client.json, written by the writer. */
typedef struct sched_client_stat {
    int size, batches;
    double rows, tokens, seconds;
} sched_client_stat;

struct mpct_sched {
    mpct_sched_config cfg;
    mpct_job job;
    mpct_sched_replica rep;
    MPI_Comm party_comm; /* the ranks of this party in every replica */
    mpct_perf_t *perf;   /* with --report / --prometheus: regions from the transport's op counters */
    int wrank, wsize, is_owner0, is_client, is_writer, quiet;
    double t_start;
    mpct_perf_trace_t *trace; /* with job.trace: this rank's timeline (trace.c) */
    /* the model */
    mpct_model_file *mf; /* the owner of replica 0, until the weights are shared */
    mpct_smodel_info info;
    mpct_smodel *model;
    mpct_sched_cache_stats cst;
    mpct_net_counters setup; /* the transport's counters after the weight step */
    double t_share;
    /* rows and output */
    size_t n, nblocks, dim, nl, pending_rows; /* n: the rows every party knows (with hide_lengths
                                               * rounded up to whole batches: the padding rows) */
    size_t n_real;  /* the client's real rows (n on the other parties, which do not know it) */
    int hide;       /* the client's hide_lengths, told to every rank */
    uint8_t *done, *todo;
    mpct_out_t *out;
    /* the loop */
    sched_dispenser dp;
    long slow_ms; /* tests only (MPCT_TEST_SLOW_REPLICA, read once at start): this replica's delay per range */
    int win_locked;
    sched_tune_rec tr;
    sched_client_stat cstat[MPCT_TUNE_MAX]; /* the client's (see above) */
    int ncstat;
    mpct_sched_progress pg;
    mpct_sched_batch batch;
    size_t B; /* largest range */
    double *msgs, *mnext; /* clients other than the writer: one message per range */
    MPI_Request *reqs;
    size_t nmsg;
    size_t my_blocks, my_rows; /* my_rows: rows this replica computed (counted by its client) */
    long prev_rows;            /* rows of the previous range (batch = auto restarts the scratch cache on a change) */
    double t_range, t_infer;
    /* the outcome */
    size_t rows_run;
    int interrupted, sig;
};

/* weights.c: the weight step (collective over MPI_COMM_WORLD). f is the
 * owner's open model file in replica 0 (NULL elsewhere). With replicate = 0
 * the other replicas get no weights (*out = NULL there). */
mpct_status mpct_sched_weights_load(mpct_sched_replica *r, MPI_Comm party_comm, const mpct_job *job,
                                    const mpct_model_file *f, const mpct_smodel_info *info, int replicate,
                                    void (*progress)(size_t, size_t, void *), mpct_smodel **out,
                                    mpct_sched_cache_stats *stats) MPCT_WUR;
/* Adds the cache_* settings to a report (world rank 0). */
mpct_status mpct_sched_cache_report(const mpct_sched_cache_stats *s, mpct_perf_report_t *rep) MPCT_WUR;

/* report.c: the "batch_tuning" report section from every replica's record. */
mpct_status mpct_sched_tune_section(const mpct_job *job, const sched_tune_rec *recs, int nrep,
                                    mpct_perf_report_t *rep) MPCT_WUR;

/* trace.c: job.trace. open: before any op, 1 or mpct_sched_fail's 0; write:
 * collective, world rank 0 writes the file. */
int mpct_sched_trace_open(mpct_sched_t *s);
mpct_status mpct_sched_trace_write(mpct_sched_t *s) MPCT_WUR;

/* outputs.c */
const char *mpct_sched_signal_name(int sig);
/* The client's own report next to job->report: "<report>.client.json". */
void mpct_sched_client_report_path(const mpct_job *job, char *buf, size_t len);

#endif
