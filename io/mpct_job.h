/*
 * mpct_job.h — job files for `mpct run`: one INI file (parsed with inih)
 * naming the model, the inputs, the output and the run settings.
 *
 * Prefix: mpct_job_*.
 *
 * Layout (every key optional in the file; defaults in brackets):
 *   [job]     task (embed|classify) [embed], batch 1..1024 or auto [8],
 *             seq_len 2..4096 [128] (max tokens per input, longer ones are
 *             truncated), frac_bits 8..20 [16] (MPCT_FRAC_BITS_MIN..MAX),
 *             resume/overwrite/quiet/plaintext 0|1 [0] (resume continues
 *             OUTPUT.partial, overwrite discards it; not both),
 *             kernels [cpu], timeout_s > 0 [600], log_level error|warn|info|
 *             debug [info] (what is printed besides errors: mpct_log_level;
 *             below info also no progress, as quiet), network [none] (lan, wan,
 *             puma or RATE:RTT such as 1gbit:2ms: every link between two
 *             parties emulated at that rate and delay); test_seed [0 = fresh keys] is
 *             refused in a file (only the --test-seed flag sets it)
 *   [model]   path
 *   [inputs]  path, row_offset -1..2^31-1 [-1] (the row of a larger input
 *             that this file's first line is, declared in the output for
 *             `mpct merge`; -1 = not declared), hide_lengths 0|1 [0] (every
 *             batch padded to seq_len and the rows padded to a whole number
 *             of batches: only the number of batches is public; read by the
 *             client, which tells its peers), format auto|text|jsonl|csv|tsv|ids
 *             [auto: by the extension], text_field [text], id_field [""]
 *             (mpct_records.h), refuse_repeats 0|1 [0] (inputs
 *             whose token ids repeat an earlier line: 0 one warning, 1 the
 *             run stops before any work), dedup 0|1 [0] (rows whose token
 *             ids repeat an earlier row's are computed once and copied)
 *   [output]  path, report, prometheus, trace, papi 0|1 [1] (hardware counters per
 *             report region where PAPI and the machine allow),
 *             papi_events [""] (comma list of PAPI event names; "" = the
 *             profiler's default set), result_cache [""] (the client's
 *             directory of rows already computed, keyed by model hash,
 *             settings and token ids; implies dedup)
 *   [parties] owner 0..2 [0], client 0..2 [1], owner != client; party -1..2
 *             [-1 = the three parties are ranks of one mpirun] (0..2: this
 *             launch is that party alone, connected to the others as the
 *             peers file says), peers PATH (mpct_peers.h), key PATH (this
 *             party's private key), cert PATH [its entry in the peers file],
 *             encrypt auto|on|off [auto] (the links between the parties of
 *             a single mpirun: sealed with AES-128-GCM under keys agreed per
 *             run, mpct_net_encrypt; auto = on when any replica's three ranks
 *             are not all on one node; not with party, whose links are TLS).
 *             Flat names: party, peers, tls_key, tls_cert, encrypt.
 *   [cache]   dir [""] (share cache directory; "" = no cache; each party uses
 *             dir/party<i>), l1_mb 0..65536 [0], l2_mb 0..65536 [0] (memory
 *             tiers; a run is one process, so they only help within it),
 *             policy lru|lfu|ttl|adaptive [lru], disk_mb 0..2^30 [0] (disk
 *             budget per party in MiB, 0 = none: after storing, the least
 *             recently used entries are removed). Flat names: cache_dir,
 *             cache_l1_mb, cache_l2_mb, cache_policy, cache_disk_mb.
 *   [batch]   min 1..1024 [1], max 1..1024 [64] (bounds of batch = auto;
 *             min <= max), mem_limit_mb 0..2^24 [0 = from MemAvailable]
 *             (peak RSS per party the auto batch may reach). Flat names:
 *             batch_min, batch_max, mem_limit_mb.
 *   [generate] (`mpct generate`) max_new_tokens 1..65536 [32], stop [eos]
 *             (eos = the tokenizer's end-of-text tokens, none, or token
 *             ids "2,7"; checked by the command), temperature 0..100 [0 =
 *             greedy] and top_k 0..2^24 [0 = every token] (sampling),
 *             logits [""] (a file the client writes every step's logits to).
 *             Flat names: the same.
 *
 * Invariants:
 *  - Relative paths in a job file are resolved against the job file's
 *    directory; paths given with mpct_job_set() are taken as they are.
 *  - Every error names the file and line (or the flag), the key and what was
 *    expected; bad input is MPCT_ERR_ARG, an unreadable job file MPCT_ERR_IO.
 *  - mpct_job_load() changes *j only when the whole file is good.
 *  - A key given twice in one file is an error; booleans also accept
 *    true/false, yes/no, on/off. Lines may be up to 8190 characters.
 *
 * Uses inih and mpct_core.
 */
#ifndef MPCT_JOB_H
#define MPCT_JOB_H

#include <stdio.h>

#include "mpct_core.h"

#define MPCT_JOB_PATH_MAX 4096

typedef struct mpct_job {
    char model[MPCT_JOB_PATH_MAX], inputs[MPCT_JOB_PATH_MAX], output[MPCT_JOB_PATH_MAX];
    char report[MPCT_JOB_PATH_MAX], prometheus[MPCT_JOB_PATH_MAX];
    char trace[MPCT_JOB_PATH_MAX]; /* default "": no timeline; else Chrome trace JSON (perf/REPORT.md) */
    int papi;             /* default 1: PAPI counters in the report's regions */
    char papi_events[256]; /* default "": the profiler's default event set */
    char task[16];       /* "embed" (default) or "classify" */
    int batch;           /* default 8, 1..1024 (the fixed size; ignored when batch_auto) */
    int batch_auto;      /* 1: batch = auto, sizes chosen at run time within [batch_min, batch_max] */
    int batch_min, batch_max; /* default 1 and 64, 1..1024 */
    int mem_limit_mb;    /* default 0 = derived from MemAvailable; peak RSS per party for batch = auto */
    int row_offset;      /* default -1 = not declared; else the first row's index in a larger input */
    int seq_len;         /* default 128, 2..4096: max tokens per input (longer inputs are truncated) */
    int frac_bits;       /* default 16, MPCT_FRAC_BITS_MIN..MPCT_FRAC_BITS_MAX (8..20) */
    int owner, client;   /* parties 0..2, default 0 and 1, must differ */
    int party;           /* -1 (default): all parties in one mpirun; 0..2: this launch is that party alone */
    char peers[MPCT_JOB_PATH_MAX];    /* with party >= 0: the peers file (mpct_peers.h) */
    char tls_key[MPCT_JOB_PATH_MAX];  /* with party >= 0 and TLS: this party's private key */
    char tls_cert[MPCT_JOB_PATH_MAX]; /* its certificate; default: its entry in the peers file */
    char network[32];    /* default "none"; lan, wan, puma or RATE:RTT: emulated links (mpct_net_set_link) */
    int encrypt;         /* links of a single mpirun: -1 auto (default: on when any replica spans nodes), 0 off, 1 on */
    int resume, overwrite, quiet, plaintext; /* 0/1; resume and overwrite not both */
    int hide_lengths;    /* 0/1: batches padded to seq_len, rows to whole batches (README, threat model) */
    int refuse_repeats;  /* 0/1: repeated inputs are warned about (0) or refused (1) */
    int dedup;           /* 0/1: inputs with equal token ids computed once (src/tools/run_dedup.h) */
    char result_cache[MPCT_JOB_PATH_MAX]; /* "" = none; else the client's result cache (implies dedup) */
    char input_format[8];  /* "auto" (default: by the extension), text, jsonl, csv or tsv (mpct_records.h) */
    char text_field[64];   /* jsonl member / csv column of the text; default "text" */
    char id_field[64];     /* jsonl member / csv column of the row's id; "" = none */
    char kernels[32];    /* default "cpu" */
    double timeout_s;    /* default 600 */
    long long test_seed; /* default 0 = fresh random keys; nonzero = deterministic keys (tests only) */
    char cache_dir[MPCT_JOB_PATH_MAX]; /* default "" = no share cache */
    int cache_l1_mb, cache_l2_mb;      /* default 0, 0..65536 */
    int cache_disk_mb;                 /* disk budget per party, MiB; default 0 = unlimited */
    char cache_policy[16];             /* "lru" (default), "lfu", "ttl", "adaptive" */
    int max_new_tokens;  /* `mpct generate`: default 32, 1..65536 new tokens per prompt */
    char stop[256];      /* `mpct generate`: "eos" (default) = the tokenizer's end-of-text tokens, "none", or ids "2,7" */
    double temperature;  /* `mpct generate`: default 0 = greedy; > 0 samples */
    int top_k;           /* `mpct generate`: default 0 = every token; else sampling over the k largest */
    char logits[MPCT_JOB_PATH_MAX]; /* `mpct generate`: "" or a file of every step's logits (the client's) */
    char log_level[8];   /* "info" (default), "error", "warn" or "debug" (mpct_log_level) */
    char source[MPCT_JOB_PATH_MAX]; /* path of the job file, for messages; "" when none */
} mpct_job;

void mpct_job_defaults(mpct_job *j);

/* Reads the INI file at path and overlays its keys on *j (call
 * mpct_job_defaults first); sets j->source = path. */
mpct_status mpct_job_load(const char *path, mpct_job *j) MPCT_WUR;

/* Sets one key, used by the loader and by command-line flags. key is a flat
 * name (task, batch, seq_len, frac_bits, resume, overwrite, quiet, plaintext, kernels,
 * timeout_s, test_seed, model, inputs, output, report, prometheus, trace, papi,
 * papi_events, owner, client, party, peers, tls_key, tls_cert, network, cache_dir, cache_l1_mb, cache_l2_mb,
 * cache_policy, cache_disk_mb, batch_min, batch_max, mem_limit_mb,
 * row_offset, dedup, result_cache, log_level, max_new_tokens, stop) or "section.key" ("model.path", "job.batch"); '-' counts as '_'.
 * where (e.g. "--batch" or "x.ini:7", may be NULL) starts the error message. */
mpct_status mpct_job_set(mpct_job *j, const char *key, const char *value, const char *where) MPCT_WUR;

/* model/inputs/output non-empty, every range, batch_min <= batch_max, not both resume and overwrite,
 * owner != client, output different from model and inputs, report, prometheus and trace different from
 * the model, the inputs, the output and each other, no trace with plaintext. */
mpct_status mpct_job_validate(const mpct_job *j) MPCT_WUR;

/* The effective settings in INI format (loadable by mpct_job_load). */
void mpct_job_print(const mpct_job *j, FILE *f);

#endif
