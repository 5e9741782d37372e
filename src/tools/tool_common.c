/*
 * tool_common.c — option values shared by the subcommands, and the one
 * table of flags that set job keys (`mpct run`, `mpct warm`).
 *
 * Invariants: a flag's long name is its job key's flat name with '-' for
 * '_' (exceptions: --timeout for timeout_s, --no-papi for papi = 0);
 * messages are printed once (mpct_opt_speaks).
 */
#include "tool_common.h"

#include <string.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>


int mpct_tool_parse_long(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out)
{
    if (!v) {
        if (mpct_opt_speaks())
            fprintf(stderr, "mpct %s: error: %s needs a value\n", cmd, flag);
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || x < lo || x > hi) {
        if (mpct_opt_speaks())
            fprintf(stderr, "mpct %s: error: %s expects an integer in [%ld, %ld], got '%s'\n", cmd, flag, lo, hi, v);
        return 1;
    }
    *out = x;
    return 0;
}

int mpct_tool_parse_longs(const char *cmd, const char *flag, const char *v, const char *what, long lo, long hi,
                          long *out, int max)
{
    int n = 0;
    const char *p = v ? v : "";
    for (;;) {
        char *end = NULL;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || x < lo || x > hi || n == max || (*end && *end != ','))
            break;
        out[n++] = x;
        if (!*end)
            return n;
        p = end + 1;
    }
    if (mpct_opt_speaks())
        fprintf(stderr, "mpct %s: error: %s expects 1 to %d comma-separated %s in [%ld, %ld], e.g. 1,8; got '%s'\n",
                cmd, flag, max, what, lo, hi, v ? v : "");
    return -1;
}

/* Every flag that sets a job key (see tool_common.h). */
typedef struct job_flag {
    mpct_opt opt;
    const char *key; /* mpct_job_set's flat name */
    int cmds;        /* MPCT_TOOL_JOB_RUN | MPCT_TOOL_JOB_WARM */
} job_flag;

#define STR_(x) #x
#define STR(x) STR_(x)

enum { RUN = MPCT_TOOL_JOB_RUN, BOTH = MPCT_TOOL_JOB_RUN | MPCT_TOOL_JOB_WARM, GEN = MPCT_TOOL_JOB_GENERATE };

static const job_flag job_flags[] = {
    {{"model", 0, "FILE.h5", "model (read by the owner rank only)"}, "model", BOTH},
    {{"inputs", 0, "FILE", "the texts (read by client ranks only): one per line, or JSON Lines\n"
                           "(.jsonl), CSV (.csv) or TSV (.tsv) records"}, "inputs", RUN},
    {{"input-format", 0, "auto|text|jsonl|csv|tsv|ids", "how to read --inputs (default auto: by its extension;\n"
                                                      "ids: each line a row's token ids, \"101 7592 102\", as\n"
                                                      "mpct tokenize prints them, checked against the vocabulary)"},
     "input_format", RUN},
    {{"text-field", 0, "NAME", "the JSON member or CSV/TSV column holding the text (default text)"},
     "text_field", RUN},
    {{"id-field", 0, "NAME", "the JSON member or CSV/TSV column holding each row's id, kept in\n"
                             "the output as /id (default: none)"}, "id_field", RUN},
    {{"output", 'o', "FILE.h5", "results (written by the client of replica 0)"}, "output", RUN},
    {{"task", 0, "embed|classify", "embeddings or logits and labels (default embed)"}, "task", RUN},
    {{"batch", 0, "N|auto", "rows per batch (default 8); auto: chosen at run time from the measured\n"
                            "throughput and peak memory of each size, within --batch-min/--batch-max"},
     "batch", RUN},
    {{"batch-min", 0, "N", "lower bound of --batch auto (default 1)"}, "batch_min", RUN},
    {{"batch-max", 0, "N", "upper bound of --batch auto (default 64)"}, "batch_max", RUN},
    {{"mem-limit-mb", 0, "N", "--batch auto: peak RSS per party not to exceed (default: the party's RSS\n"
                              "before the first batch + MemAvailable / ranks on its node)"},
     "mem_limit_mb", RUN},
    {{"row-offset", 0, "N", "the inputs are rows N.. of a larger input: declared in the output\n"
                            "(/input_id = N + line) so that mpct merge places the shard there"},
     "row_offset", RUN},
    {{"seq-len", 0, "N", "max tokens per input; longer inputs are truncated (default 128)"}, "seq_len", RUN},
    {{"frac-bits", 0, "F", "fixed-point fractional bits, 8..20 (default 16; generate 20)"}, "frac_bits", BOTH},
    {{"owner", 0, "P", "party index of the model owner (default 0)"}, "owner", BOTH},
    {{"client", 0, "P", "party index of the client (default 1)"}, "client", RUN},
    {{"report", 0, "FILE.json", "profiling report (mpct report FILE.json)"}, "report", RUN},
    {{"trace", 0, "FILE.json", "per-rank timeline (phases, layers, ops, waits) as Chrome trace JSON\n"
                               "for ui.perfetto.dev; secure runs only"}, "trace", RUN},
    {{"prometheus", 0, "FILE", "Prometheus text file"}, "prometheus", RUN},
    {{"papi-events", 0, "LIST", "PAPI events counted per report region (comma list; default\n"
                                "PAPI_TOT_INS,PAPI_TOT_CYC,PAPI_L2_DCM,PAPI_L3_TCM,PAPI_VEC_INS;\n"
                                "events the machine lacks are skipped, the report says why)"},
     "papi_events", RUN},
    {{"no-papi", 0, NULL, "timers only in the report (no hardware counters)"}, "papi", RUN},
    {{"resume", 0, NULL, "continue an interrupted run: compute only the rows missing from\n"
                         "OUTPUT.partial"},
     "resume", RUN},
    {{"overwrite", 0, NULL, "discard an existing OUTPUT.partial and start again (without --resume\n"
                            "or --overwrite, a run stops when OUTPUT.partial holds rows)"},
     "overwrite", RUN},
    {{"plaintext", 0, NULL, "run the float64 reference on rank 0 instead (for comparison)"}, "plaintext", RUN},
    {{"hide-lengths", 0, NULL, "hide the inputs' lengths and count from the other parties: every batch\n"
                               "padded to --seq-len, the rows padded to whole batches (of --batch, or\n"
                               "--batch-max with --batch auto); only the number of batches is public"},
     "hide_lengths", RUN},
    {{"refuse-repeats", 0, NULL, "stop before any work when an input's token ids repeat an earlier line's\n"
                                 "(each repeat is a fresh sample of the randomised rounding: README,\n"
                                 "threat model); without it such lines get one warning"},
     "refuse_repeats", RUN},
    {{"dedup", 0, NULL, "compute inputs whose token ids repeat an earlier row's once and copy the\n"
                        "result (the other parties learn only the number of rows computed)"},
     "dedup", RUN},
    {{"result-cache", 0, "DIR", "the client's store of rows already computed: a row with the same model\n"
                                "hash, settings and token ids is answered from it, not computed\n"
                                "(implies --dedup; DIR holds token ids and results: keep it private)"},
     "result_cache", RUN},
    {{"kernels", 0, "NAME", "kernel backend (default cpu)"}, "kernels", RUN},
    {{"timeout", 0, "S", "seconds a party waits for a peer before giving up (default 600)"}, "timeout_s", BOTH},
    {{"party", 0, "P", "launch party P alone (0..2), connected to the others as --peers says; each\n"
                       "rank of this launch is one replica (docs/DEPLOY.md)"},
     "party", BOTH},
    {{"peers", 0, "FILE", "with --party: where the parties listen and their certificates"}, "peers", BOTH},
    {{"tls-key", 0, "FILE", "with --party: this party's private key (mpct keygen)"}, "tls_key", BOTH},
    {{"tls-cert", 0, "FILE", "with --party: this party's certificate (default: its entry in --peers)"},
     "tls_cert", BOTH},
    {{"encrypt", 0, NULL, "encrypt the links between the parties of this mpirun (AES-128-GCM, keys\n"
                          "agreed per run; default: on when any replica spans nodes)"},
     "encrypt", BOTH},
    {{"no-encrypt", 0, NULL, "never encrypt the links of this mpirun (a replica spanning nodes warns)"},
     "encrypt", BOTH},
    {{"network", 0, "lan|wan|puma|RATE:RTT", "emulate links between the parties: lan 3gbit:0.8ms,\n"
                                           "wan 200mbit:40ms, puma 5gbit:1ms, or e.g. 1gbit:2ms (default none)"},
     "network", BOTH},
    {{"test-seed", 0, "S", "deterministic keys: INSECURE, tests only (a flag, never a job-file key);\n"
                           "every rank warns, outputs and reports record insecure_test_keys = 1"},
     "test_seed", BOTH},
    {{"cache-dir", 0, "DIR", "share cache: reuse weight shares across runs (each party uses DIR/party<i>)"},
     "cache_dir", BOTH},
    {{"cache-l1-mb", 0, "N", "first memory tier of the cache in MiB (default 0: disk only)"}, "cache_l1_mb", BOTH},
    {{"cache-l2-mb", 0, "N", "second memory tier of the cache in MiB (default 0)"}, "cache_l2_mb", BOTH},
    {{"cache-policy", 0, "lru|lfu|ttl|adaptive", "L1 eviction policy (default lru)"}, "cache_policy", BOTH},
    {{"cache-disk-mb", 0, "N", "disk budget per party: least recently used entries go first\n"
                               "(default 0: none)"},
     "cache_disk_mb", BOTH},
    {{"quiet", 'q', NULL, "no progress output"}, "quiet", BOTH},
    {{"log-level", 0, "error|warn|info|debug", "what is printed besides errors (default info: warnings, progress\n"
                                              "lines and the summary; warn: no progress, as --quiet; error: no\n"
                                              "warnings either, security warnings excepted; debug: a line per range)"},
     "log_level", BOTH},
    {{"max-new-tokens", 0, "N", "tokens to generate per prompt, 1..65536 (default 32)"}, "max_new_tokens", GEN},
    {{"stop", 0, "IDS|eos|none", "token ids that end a generation, e.g. 2,7 (default eos: the\n"
                                 "tokenizer's end-of-text tokens; none: always max-new-tokens)"},
     "stop", GEN},
    {{"temperature", 0, "T", "sample each token from softmax(logits / T), 0..100 (default 0: greedy,\n"
                             "the argmax); the draw's randomness is no single party's"},
     "temperature", GEN},
    {{"top-k", 0, "K", "with --temperature, sample among the K largest logits only (default 0:\n"
                       "every token)"},
     "top_k", GEN},
    {{"logits", 0, "FILE", "diagnostic: the client writes every step's next-token logits to FILE\n"
                           "(revealed to the client only: one more round and V words per step;\n"
                           "tests/generate/logits_cosine.py compares two such files)"},
     "logits", GEN},
};
#define NJOB_FLAGS (sizeof job_flags / sizeof job_flags[0])

/* The defaults that differ by command from mpct_job_defaults', set before
 * the job file and the flags: the commands, the key, its value. */
static const struct {
    int cmds;
    const char *key, *value;
} cmd_defaults[] = {
    /* decoders default to 20 fractional bits: at 16, secure greedy SmolLM2 left the float64 reference's
     * tokens on 3 of 20 prompts within 32 tokens, at 20 on none of those three (perf/RESULTS.md) */
    {GEN, "frac_bits", STR(MPCT_GEN_FRAC_BITS_DEFAULT)},
};

/* The flags of `run` that `generate` takes too (no batches, no
 * profiling report yet). */
static const char *const gen_takes[] = {"model", "inputs", "output", "frac-bits", "owner", "client", "resume",
                                        "overwrite", "plaintext", "kernels", "timeout", "encrypt", "no-encrypt",
                                        "network", "test-seed", "cache-dir", "cache-l1-mb", "cache-l2-mb",
                                        "cache-policy", "cache-disk-mb", "quiet", "party", "peers", "tls-key",
                                        "tls-cert"};

static int takes(const job_flag *f, int which)
{
    if (which != MPCT_TOOL_JOB_GENERATE || (f->cmds & GEN))
        return (f->cmds & which) != 0;
    for (size_t i = 0; i < sizeof gen_takes / sizeof gen_takes[0]; i++)
        if (!strcmp(f->opt.name, gen_takes[i]))
            return 1;
    return 0;
}

/* built once per command from job_flags; the parser needs a plain array */
static const int cmd_bits[3] = {MPCT_TOOL_JOB_RUN, MPCT_TOOL_JOB_WARM, MPCT_TOOL_JOB_GENERATE};
static mpct_opt cmd_opts[3][NJOB_FLAGS];
static size_t cmd_count[3];

const mpct_opt *mpct_tool_job_opts(int which, size_t *n)
{
    const int w = which == MPCT_TOOL_JOB_WARM ? 1 : which == MPCT_TOOL_JOB_GENERATE ? 2 : 0;
    if (!cmd_count[w])
        for (size_t k = 0; k < NJOB_FLAGS; k++)
            if (takes(&job_flags[k], which))
                cmd_opts[w][cmd_count[w]++] = job_flags[k].opt;
    *n = cmd_count[w];
    return cmd_opts[w];
}

/* cmd_defaults of the command whose options cmd has (one of
 * mpct_tool_job_opts' arrays) over mpct_job_defaults'. */
static mpct_status job_defaults(const mpct_opt_cmd *cmd, mpct_job *job)
{
    int which = 0;
    for (int w = 0; w < 3; w++)
        if (cmd->opts == cmd_opts[w])
            which = cmd_bits[w];
    if (!which)
        return mpct_error_set(MPCT_ERR_ARG, "mpct %s: its options do not come from the job flag table", cmd->name);
    for (size_t k = 0; k < sizeof cmd_defaults / sizeof cmd_defaults[0]; k++)
        if (cmd_defaults[k].cmds & which)
            MPCT_CALL(mpct_job_set(job, cmd_defaults[k].key, cmd_defaults[k].value, "the command's default"));
    return MPCT_OK;
}

/* The job key of option o (an entry of mpct_tool_job_opts' arrays). */
static const job_flag *flag_of(const mpct_opt *o)
{
    for (size_t k = 0; k < NJOB_FLAGS; k++)
        if (!strcmp(job_flags[k].opt.name, o->name))
            return &job_flags[k];
    return NULL;
}

/* Applies one flag to *job; 0 or 2 (printed). */
static int job_apply(const mpct_opt_cmd *cmd, mpct_job *job, const mpct_opt *o, const char *value, int *seen)
{
    const job_flag *f = flag_of(o);
    const char *v = value ? value : strncmp(o->name, "no-", 3) ? "1" : "0";
    char where[80];
    snprintf(where, sizeof where, "--%s", o->name);
    mpct_status st = mpct_job_set(job, f->key, v, where);
    /* --resume and --overwrite override the job file's choice between them */
    if (st == MPCT_OK && !strcmp(f->key, "resume"))
        st = mpct_job_set(job, "overwrite", "0", where), *seen |= 1;
    else if (st == MPCT_OK && !strcmp(f->key, "overwrite"))
        st = mpct_job_set(job, "resume", "0", where), *seen |= 2;
    if (st != MPCT_OK) {
        if (mpct_opt_speaks())
            mpct_sched_error(cmd->name, st);
        return 2;
    }
    return 0;
}

int mpct_tool_job_parse(const mpct_opt_cmd *cmd, int argc, char **argv, int validate, mpct_job *job)
{
    mpct_job_defaults(job);
    /* the job file is loaded before any flag overrides it */
    const char *file;
    mpct_opt_list l;
    int rc = mpct_opt_collect(cmd, argc, argv, &file, &l), seen = 0;
    if (rc >= 0)
        return rc;
    mpct_status st = job_defaults(cmd, job);
    if (st != MPCT_OK || (file && (st = mpct_job_load(file, job)) != MPCT_OK)) {
        if (mpct_opt_speaks())
            mpct_sched_error(cmd->name, st);
        rc = 2;
    }
    for (int k = 0; k < l.n && rc < 0; k++)
        if (job_apply(cmd, job, l.opt[k], l.val[k], &seen))
            rc = 2;
    if (rc < 0 && seen == 3)
        rc = mpct_opt_usage_error(cmd, "--resume and --overwrite both given: --resume continues OUTPUT.partial, "
                                       "--overwrite discards it; pick one");
    if (rc < 0 && validate && (st = mpct_job_validate(job)) != MPCT_OK) {
        if (mpct_opt_speaks())
            mpct_sched_error(cmd->name, st);
        rc = 2;
    }
    mpct_log_level lv = MPCT_LOG_INFO;
    if (rc < 0 && mpct_log_parse(job->log_level, &lv) != MPCT_OK) {
        if (mpct_opt_speaks())
            mpct_sched_error(cmd->name, MPCT_ERR_ARG);
        rc = 2;
    }
    if (rc < 0) { /* below info nothing but warnings and errors: no progress either */
        mpct_log_set(lv);
        job->quiet |= lv < MPCT_LOG_INFO;
    }
    mpct_opt_list_free(&l);
    return rc;
}
