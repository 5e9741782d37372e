/*
 * job.c — job files for `mpct run` (see mpct_job.h for the layout).
 *
 * The file is read with inih through our own line reader, which counts
 * lines (the handler gets no line number from this inih build) and catches
 * over-long lines. Only the first error is kept: inih reports the line of
 * its first error, and a syntax error before our first handler error wins.
 * The file is parsed into a copy of the job that replaces *j only on success.
 *
 * inih's line-buffer settings are process-wide globals (Debian's libinih
 * exports them; the built-in default is 200-character lines); the loader
 * sets a heap buffer of JOB_MAX_LINE for its parse and restores them after.
 * Not thread-safe against other inih users running at the same time.
 *
 * Uses inih and mpct_core.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mpct_job.h"
#include "mpct_records.h"

#define JOB_MAX_LINE 8192 /* inih line buffer: lines up to 8190 characters */

typedef enum { K_TASK, K_STR, K_PATH, K_INT, K_BOOL, K_DBL, K_I64, K_POLICY, K_EVENTS, K_BATCH, K_AUTO, K_FIELD, K_TEMP } job_kind;

typedef struct job_key {
    const char *section, *name, *flat;
    job_kind kind;
    size_t off, size; /* field offset; buffer size for strings */
    long long lo, hi; /* range for K_INT */
} job_key;

#define F(field) offsetof(mpct_job, field)
#define S(field) sizeof(((mpct_job *)0)->field)
static const job_key job_keys[] = {
    {"job", "task", "task", K_TASK, F(task), S(task), 0, 0},
    {"job", "batch", "batch", K_BATCH, F(batch), 0, 1, 1024},
    {"job", "seq_len", "seq_len", K_INT, F(seq_len), 0, 2, 4096},
    {"job", "frac_bits", "frac_bits", K_INT, F(frac_bits), 0, MPCT_FRAC_BITS_MIN, MPCT_FRAC_BITS_MAX},
    {"job", "resume", "resume", K_BOOL, F(resume), 0, 0, 1},
    {"job", "overwrite", "overwrite", K_BOOL, F(overwrite), 0, 0, 1},
    {"job", "quiet", "quiet", K_BOOL, F(quiet), 0, 0, 1},
    {"job", "plaintext", "plaintext", K_BOOL, F(plaintext), 0, 0, 1},
    {"job", "kernels", "kernels", K_STR, F(kernels), S(kernels), 0, 0},
    {"job", "timeout_s", "timeout_s", K_DBL, F(timeout_s), 0, 0, 0},
    {"job", "test_seed", "test_seed", K_I64, F(test_seed), 0, 0, 0},
    {"job", "log_level", "log_level", K_STR, F(log_level), S(log_level), 0, 0},
    {"model", "path", "model", K_PATH, F(model), S(model), 0, 0},
    {"inputs", "path", "inputs", K_PATH, F(inputs), S(inputs), 0, 0},
    {"inputs", "row_offset", "row_offset", K_INT, F(row_offset), 0, -1, 2147483647},
    {"inputs", "hide_lengths", "hide_lengths", K_BOOL, F(hide_lengths), 0, 0, 1},
    {"inputs", "refuse_repeats", "refuse_repeats", K_BOOL, F(refuse_repeats), 0, 0, 1},
    {"inputs", "dedup", "dedup", K_BOOL, F(dedup), 0, 0, 1},
    {"inputs", "format", "input_format", K_STR, F(input_format), S(input_format), 0, 0},
    {"inputs", "text_field", "text_field", K_STR, F(text_field), S(text_field), 0, 0},
    {"inputs", "id_field", "id_field", K_FIELD, F(id_field), S(id_field), 0, 0},
    {"output", "path", "output", K_PATH, F(output), S(output), 0, 0},
    {"output", "report", "report", K_PATH, F(report), S(report), 0, 0},
    {"output", "prometheus", "prometheus", K_PATH, F(prometheus), S(prometheus), 0, 0},
    {"output", "trace", "trace", K_PATH, F(trace), S(trace), 0, 0},
    {"output", "result_cache", "result_cache", K_PATH, F(result_cache), S(result_cache), 0, 0},
    {"output", "papi", "papi", K_BOOL, F(papi), 0, 0, 1},
    {"output", "papi_events", "papi_events", K_EVENTS, F(papi_events), S(papi_events), 0, 0},
    {"parties", "owner", "owner", K_INT, F(owner), 0, 0, 2},
    {"parties", "client", "client", K_INT, F(client), 0, 0, 2},
    {"parties", "party", "party", K_INT, F(party), 0, -1, 2},
    {"parties", "peers", "peers", K_PATH, F(peers), S(peers), 0, 0},
    {"parties", "key", "tls_key", K_PATH, F(tls_key), S(tls_key), 0, 0},
    {"parties", "cert", "tls_cert", K_PATH, F(tls_cert), S(tls_cert), 0, 0},
    {"parties", "encrypt", "encrypt", K_AUTO, F(encrypt), 0, -1, 1},
    {"job", "network", "network", K_STR, F(network), S(network), 0, 0},
    {"cache", "dir", "cache_dir", K_PATH, F(cache_dir), S(cache_dir), 0, 0},
    {"cache", "l1_mb", "cache_l1_mb", K_INT, F(cache_l1_mb), 0, 0, 65536},
    {"cache", "l2_mb", "cache_l2_mb", K_INT, F(cache_l2_mb), 0, 0, 65536},
    {"cache", "disk_mb", "cache_disk_mb", K_INT, F(cache_disk_mb), 0, 0, 1 << 30},
    {"cache", "policy", "cache_policy", K_POLICY, F(cache_policy), S(cache_policy), 0, 0},
    {"batch", "min", "batch_min", K_INT, F(batch_min), 0, 1, 1024},
    {"batch", "max", "batch_max", K_INT, F(batch_max), 0, 1, 1024},
    {"batch", "mem_limit_mb", "mem_limit_mb", K_INT, F(mem_limit_mb), 0, 0, 16777216},
    {"generate", "max_new_tokens", "max_new_tokens", K_INT, F(max_new_tokens), 0, 1, 65536},
    {"generate", "stop", "stop", K_STR, F(stop), S(stop), 0, 0},
    {"generate", "temperature", "temperature", K_TEMP, F(temperature), 0, 0, 0},
    {"generate", "top_k", "top_k", K_INT, F(top_k), 0, 0, 16777216},
    {"generate", "logits", "logits", K_PATH, F(logits), S(logits), 0, 0},
};
#undef F
#undef S
#define JOB_NKEYS (sizeof job_keys / sizeof job_keys[0])
static const char *const job_sections[] = {"job", "model", "inputs", "output", "parties", "cache", "batch",
                                           "generate"};
#define JOB_NSECTIONS (sizeof job_sections / sizeof job_sections[0])

void mpct_job_defaults(mpct_job *j)
{
    memset(j, 0, sizeof *j);
    snprintf(j->task, sizeof j->task, "embed");
    j->batch = 8;
    j->seq_len = 128;
    j->frac_bits = MPCT_FRAC_BITS_DEFAULT;
    j->owner = 0;
    j->client = 1;
    snprintf(j->kernels, sizeof j->kernels, "cpu");
    j->timeout_s = 600.0;
    j->test_seed = 0;
    j->papi = 1;
    snprintf(j->cache_policy, sizeof j->cache_policy, "lru");
    j->batch_auto = 0;
    j->batch_min = 1;
    j->batch_max = 64;
    j->mem_limit_mb = 0;
    j->row_offset = -1;
    snprintf(j->text_field, sizeof j->text_field, "text");
    snprintf(j->input_format, sizeof j->input_format, "auto");
    j->party = -1;
    snprintf(j->network, sizeof j->network, "none");
    j->encrypt = -1;
    j->max_new_tokens = 32;
    snprintf(j->stop, sizeof j->stop, "eos");
    snprintf(j->log_level, sizeof j->log_level, "info");
}

/* "where: " or "" */
static const char *sep(const char *where) { return where && where[0] ? ": " : ""; }

static int parse_ll(const char *v, long long *out)
{
    if (!v[0] || isspace((unsigned char)v[0])) return 0;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *out = x;
    return 1;
}

/* Stores value into the field of k; name is what the message calls the key. */
static mpct_status job_store(mpct_job *j, const job_key *k, const char *name, const char *value, const char *where)
{
    char *base = (char *)j;
    const char *w = where ? where : "";
    switch (k->kind) {
    case K_TASK:
        if (strcmp(value, "embed") != 0 && strcmp(value, "classify") != 0)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected 'embed' or 'classify'", w, sep(w), name,
                                  value);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_POLICY:
        if (strcmp(value, "lru") && strcmp(value, "lfu") && strcmp(value, "ttl") && strcmp(value, "adaptive"))
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected 'lru', 'lfu', 'ttl' or 'adaptive'", w,
                                  sep(w), name, value);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_STR:
        if (!value[0] || strlen(value) >= k->size)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected a name of 1 to %zu characters", w, sep(w),
                                  name, value, k->size - 1);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_FIELD: /* a column or member name; "" = none */
        if (strlen(value) >= k->size)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s: longer than %zu characters", w, sep(w), name, k->size - 1);
        for (const char *c = value; *c; c++)
            if ((unsigned char)*c < 0x20)
                return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': a control character in a field name", w, sep(w),
                                      name, value);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_EVENTS: /* comma list of PAPI event names; "" = the default set */
        if (strlen(value) >= k->size)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s: longer than %zu characters", w, sep(w), name, k->size - 1);
        for (const char *c = value; *c; c++)
            if (!isgraph((unsigned char)*c) || *c == '"' || *c == '\\')
                return mpct_error_set(MPCT_ERR_ARG,
                                      "%s%s%s = '%s': expected PAPI event names separated by commas, without "
                                      "spaces (e.g. PAPI_TOT_INS,perf::TASK-CLOCK)",
                                      w, sep(w), name, value);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_PATH:
        if (strlen(value) >= k->size)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s: path longer than %zu bytes", w, sep(w), name, k->size - 1);
        snprintf(base + k->off, k->size, "%s", value);
        return MPCT_OK;
    case K_BATCH: /* "auto", or a number: a fixed batch size */
    case K_INT: {
        if (k->kind == K_BATCH && !strcmp(value, "auto")) {
            j->batch_auto = 1;
            return MPCT_OK;
        }
        long long x;
        if (!parse_ll(value, &x) || x < k->lo || x > k->hi) {
            if (k->kind == K_BATCH)
                return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected an integer from %lld to %lld or 'auto'",
                                      w, sep(w), name, value, k->lo, k->hi);
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected an integer from %lld to %lld", w, sep(w),
                                  name, value, k->lo, k->hi);
        }
        *(int *)(base + k->off) = (int)x;
        if (k->kind == K_BATCH)
            j->batch_auto = 0;
        return MPCT_OK;
    }
    case K_AUTO: /* "auto" (-1), or a boolean */
    case K_BOOL: {
        int b;
        if (k->kind == K_AUTO && !strcasecmp(value, "auto"))
            b = -1;
        else if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
            !strcasecmp(value, "on"))
            b = 1;
        else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
                 !strcasecmp(value, "off"))
            b = 0;
        else
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected %s0 or 1 (or true/false, on/off)", w,
                                  sep(w), name, value, k->kind == K_AUTO ? "auto, " : "");
        *(int *)(base + k->off) = b;
        return MPCT_OK;
    }
    case K_DBL: {
        char *end = NULL;
        errno = 0;
        double x = value[0] && !isspace((unsigned char)value[0]) ? strtod(value, &end) : NAN;
        if (!end || *end != '\0' || errno != 0 || !isfinite(x) || x <= 0.0)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected a number of seconds > 0", w, sep(w), name,
                                  value);
        *(double *)(base + k->off) = x;
        return MPCT_OK;
    }
    case K_TEMP: {
        char *end = NULL;
        errno = 0;
        double x = value[0] && !isspace((unsigned char)value[0]) ? strtod(value, &end) : NAN;
        if (!end || *end != '\0' || errno != 0 || !isfinite(x) || x < 0.0 || x > 100.0)
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected a temperature in [0, 100] (0 = greedy)", w,
                                  sep(w), name, value);
        *(double *)(base + k->off) = x;
        return MPCT_OK;
    }
    case K_I64: {
        long long x;
        if (!parse_ll(value, &x))
            return mpct_error_set(MPCT_ERR_ARG, "%s%s%s = '%s': expected a 64-bit integer (0 = fresh random keys)",
                                  w, sep(w), name, value);
        *(long long *)(base + k->off) = x;
        return MPCT_OK;
    }
    }
    return mpct_error_set(MPCT_ERR_ARG, "%s%s%s: internal error (key kind)", w, sep(w), name);
}

/* Settings a job file may not make: deterministic (insecure) test keys are
 * turned on by the --test-seed flag alone, never silently by a file. */
static int job_flag_only(const job_key *k) { return !strcmp(k->flat, "test_seed"); }

static void known_list(char *buf, size_t size, const char *section)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < JOB_NKEYS; i++) {
        const char *n = section ? job_keys[i].name : job_keys[i].flat;
        if (section && strcmp(job_keys[i].section, section) != 0) continue;
        if (section && job_flag_only(&job_keys[i])) continue;
        int r = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", n);
        if (r < 0 || (size_t)r >= size - used) break;
        used += (size_t)r;
    }
}

mpct_status mpct_job_set(mpct_job *j, const char *key, const char *value, const char *where)
{
    char norm[64];
    const char *w = where ? where : "";
    if (strlen(key) >= sizeof norm) return mpct_error_set(MPCT_ERR_ARG, "%s%sunknown setting '%s'", w, sep(w), key);
    size_t n = 0;
    for (; key[n]; n++) norm[n] = key[n] == '-' ? '_' : key[n];
    norm[n] = '\0';
    const char *dot = strchr(norm, '.');
    for (size_t i = 0; i < JOB_NKEYS; i++) {
        const job_key *k = &job_keys[i];
        int match;
        if (dot) {
            size_t sl = (size_t)(dot - norm);
            match = strlen(k->section) == sl && !strncmp(norm, k->section, sl) && !strcmp(dot + 1, k->name);
        } else {
            match = !strcmp(norm, k->flat);
        }
        if (match) return job_store(j, k, key, value ? value : "", where);
    }
    char known[512];
    known_list(known, sizeof known, NULL);
    return mpct_error_set(MPCT_ERR_ARG, "%s%sunknown setting '%s' (known: %s)", w, sep(w), key, known);
}

/* ---- the loader ---- */

typedef struct job_parse {
    const char *path;
    char dir[MPCT_JOB_PATH_MAX]; /* job file's directory with a trailing '/', or "" */
    mpct_job *job;
    FILE *fp;
    int line;           /* lines read so far = the line the handler sees */
    int err_line;       /* line of our first error, 0 when none */
    mpct_status err;
    char msg[1024];     /* our first error, without the "file:line: " prefix */
    int seen[JOB_NKEYS]; /* line where each key was set, 0 = not yet */
} job_parse;

static void job_fail(job_parse *p, mpct_status s)
{
    if (p->err_line) return;
    p->err_line = p->line;
    p->err = s;
    snprintf(p->msg, sizeof p->msg, "%s", mpct_error_msg());
}

/* fgets that counts lines and turns an over-long line into an error. */
static char *job_reader(char *str, int num, void *stream)
{
    job_parse *p = stream;
    if (!fgets(str, num, p->fp)) return NULL;
    p->line++;
    size_t len = strlen(str);
    if (len + 1 == (size_t)num && str[len - 1] != '\n' && !feof(p->fp)) {
        int c;
        while ((c = fgetc(p->fp)) != EOF && c != '\n') {
        }
        (void)mpct_error_set(MPCT_ERR_ARG, "line longer than %d characters", num - 2);
        job_fail(p, MPCT_ERR_ARG);
        str[0] = '\0'; /* an empty line: nothing for inih to parse */
    }
    return str;
}

static int job_handler(void *user, const char *section, const char *name, const char *value)
{
    job_parse *p = user;
    if (p->err_line) return 1; /* keep only the first error */
    if (!section[0]) {
        (void)mpct_error_set(MPCT_ERR_ARG, "key '%s' outside any section (sections: [job], [model], [inputs], "
                                           "[output], [parties], [cache])", name);
        job_fail(p, MPCT_ERR_ARG);
        return 0;
    }
    int sec_ok = 0;
    for (size_t i = 0; i < JOB_NSECTIONS; i++) sec_ok |= !strcmp(section, job_sections[i]);
    if (!sec_ok) {
        (void)mpct_error_set(MPCT_ERR_ARG, "unknown section [%s] (known: job, model, inputs, output, parties, cache, "
                                           "batch, generate)",
                             section);
        job_fail(p, MPCT_ERR_ARG);
        return 0;
    }
    for (size_t i = 0; i < JOB_NKEYS; i++) {
        const job_key *k = &job_keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0) continue;
        if (job_flag_only(k)) {
            (void)mpct_error_set(MPCT_ERR_ARG, "'%s' cannot be set in a job file: deterministic test keys are insecure "
                                               "and only the --test-seed flag turns them on", name);
            job_fail(p, MPCT_ERR_ARG);
            return 0;
        }
        if (p->seen[i]) {
            (void)mpct_error_set(MPCT_ERR_ARG, "'%s' given twice in [%s] (first on line %d)", name, section,
                                 p->seen[i]);
            job_fail(p, MPCT_ERR_ARG);
            return 0;
        }
        p->seen[i] = p->line;
        char resolved[MPCT_JOB_PATH_MAX + 8];
        const char *v = value;
        if (k->kind == K_PATH && value[0] && value[0] != '/' && p->dir[0]) {
            if ((size_t)snprintf(resolved, sizeof resolved, "%s%s", p->dir, value) >= MPCT_JOB_PATH_MAX) {
                (void)mpct_error_set(MPCT_ERR_ARG, "%s: path longer than %d bytes after adding the job file's "
                                                   "directory '%s'", name, MPCT_JOB_PATH_MAX - 1, p->dir);
                job_fail(p, MPCT_ERR_ARG);
                return 0;
            }
            v = resolved;
        }
        if (job_store(p->job, k, name, v, NULL) != MPCT_OK) {
            job_fail(p, MPCT_ERR_ARG);
            return 0;
        }
        return 1;
    }
    char known[512];
    known_list(known, sizeof known, section);
    (void)mpct_error_set(MPCT_ERR_ARG, "unknown key '%s' in [%s] (known: %s)", name, section, known);
    job_fail(p, MPCT_ERR_ARG);
    return 0;
}

mpct_status mpct_job_load(const char *path, mpct_job *j)
{
    if (strlen(path) >= MPCT_JOB_PATH_MAX)
        return mpct_error_set(MPCT_ERR_ARG, "job file path longer than %d bytes", MPCT_JOB_PATH_MAX - 1);
    job_parse *p = mpct_calloc(sizeof *p);
    mpct_job *tmp = mpct_alloc(sizeof *tmp);
    if (!p || !tmp) {
        mpct_free(p);
        mpct_free(tmp);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory reading job file %s", path);
    }
    *tmp = *j;
    snprintf(tmp->source, sizeof tmp->source, "%s", path);
    p->path = path;
    p->job = tmp;
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(p->dir, sizeof p->dir, "%.*s/", (int)(slash - path), path);
    if (slash == path) snprintf(p->dir, sizeof p->dir, "/");

    mpct_status st = MPCT_OK;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: is a directory: expected a job file (INI)", path);
        goto done;
    }
    p->fp = fopen(path, "r");
    if (!p->fp) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot open job file: %s", path, strerror(errno));
        goto done;
    }
    /* inih settings: heap line buffer of JOB_MAX_LINE, no continuation lines. */
    bool old_stack = ini_use_stack, old_multi = ini_allow_multiline;
    int old_max = ini_max_line, old_init = ini_initial_alloc;
    ini_use_stack = false;
    ini_max_line = JOB_MAX_LINE;
    ini_initial_alloc = JOB_MAX_LINE;
    ini_allow_multiline = false;
    int r = ini_parse_stream(job_reader, p, job_handler, p);
    ini_use_stack = old_stack;
    ini_max_line = old_max;
    ini_initial_alloc = old_init;
    ini_allow_multiline = old_multi;
    int read_err = ferror(p->fp);
    fclose(p->fp);
    if (read_err) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: read error", path);
    } else if (r == -2) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory parsing job file", path);
    } else if (p->err_line && (r <= 0 || r >= p->err_line)) {
        st = mpct_error_set(p->err, "%s:%d: %s", path, p->err_line, p->msg);
    } else if (r != 0) {
        st = mpct_error_set(MPCT_ERR_ARG, "%s:%d: expected 'key = value' or a [section] header", path, r);
    }
done:
    if (st == MPCT_OK) *j = *tmp;
    mpct_free(tmp);
    mpct_free(p);
    return st;
}

mpct_status mpct_job_validate(const mpct_job *j)
{
    const char *src = j->source[0] ? j->source : "job";
    static const struct { size_t off; const char *what; } need[] = {
        {offsetof(mpct_job, model), "no model: set path in [model] (or --model)"},
        {offsetof(mpct_job, inputs), "no inputs: set path in [inputs] (or --inputs)"},
        {offsetof(mpct_job, output), "no output: set path in [output] (or --output)"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!((const char *)j)[need[i].off]) return mpct_error_set(MPCT_ERR_ARG, "%s: %s", src, need[i].what);
    mpct_log_level lv;
    if (mpct_log_parse(j->log_level, &lv) != MPCT_OK)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %s", src, mpct_error_msg());
    /* Re-check every value (the struct may have been filled directly). */
    char v[64];
    for (size_t i = 0; i < JOB_NKEYS; i++) {
        const job_key *k = &job_keys[i];
        const char *base = (const char *)j + k->off;
        if (k->kind == K_INT || k->kind == K_BOOL || k->kind == K_BATCH) snprintf(v, sizeof v, "%d", *(const int *)base);
        else if (k->kind == K_DBL || k->kind == K_TEMP) snprintf(v, sizeof v, "%.17g", *(const double *)base);
        else if (k->kind == K_TASK || k->kind == K_STR || k->kind == K_POLICY || k->kind == K_EVENTS ||
                 k->kind == K_FIELD) {
            if (!memchr(base, '\0', k->size))
                return mpct_error_set(MPCT_ERR_ARG, "%s: %s is not terminated", src, k->flat);
            snprintf(v, sizeof v, "%s", base);
        } else continue;
        mpct_job scratch;
        mpct_status s = job_store(&scratch, k, k->flat, v, src);
        if (s != MPCT_OK) return s;
    }
    if (j->batch_min > j->batch_max)
        return mpct_error_set(MPCT_ERR_ARG, "%s: batch_min %d > batch_max %d: expected batch_min <= batch_max "
                                            "(the bounds of batch = auto)", src, j->batch_min, j->batch_max);
    if (j->resume && j->overwrite)
        return mpct_error_set(MPCT_ERR_ARG, "%s: resume and overwrite are both set: expected one (resume continues "
                                            "OUTPUT.partial, overwrite discards it)", src);
    if (j->owner == j->client)
        return mpct_error_set(MPCT_ERR_ARG, "%s: owner and client are both party %d: expected two different parties "
                                            "in [parties]", src, j->owner);
    mpct_rec_format fmt;
    if (mpct_rec_format_parse(j->input_format, j->inputs, &fmt) != MPCT_OK)
        return mpct_error_set(MPCT_ERR_ARG, "%s: [inputs] format = '%s': expected auto, text, jsonl, csv, tsv or ids", src,
                              j->input_format);
    if (!j->text_field[0])
        return mpct_error_set(MPCT_ERR_ARG, "%s: [inputs] text_field is empty: expected a JSON member or column name",
                              src);
    if ((fmt == MPCT_REC_TEXT || fmt == MPCT_REC_IDS) && j->id_field[0])
        return mpct_error_set(MPCT_ERR_ARG, "%s: id_field '%s' needs JSON Lines, CSV or TSV inputs; '%s' is read as "
                              "%s (set [inputs] format or use a .jsonl, .csv or .tsv name)", src, j->id_field,
                              j->inputs, fmt == MPCT_REC_IDS ? "token ids" : "text");
    if (j->party >= 0 && !j->peers[0])
        return mpct_error_set(MPCT_ERR_ARG, "%s: party = %d launches one party on its own: it needs the peers file "
                                            "(peers in [parties], or --peers)", src, j->party);
    if (j->party >= 0 && strcmp(j->network, "none"))
        return mpct_error_set(MPCT_ERR_ARG, "%s: network = %s emulates links between parties that share one clock "
                                            "(ranks of one mpirun): not with party, whose links are real", src,
                              j->network);
    if (j->party >= 0 && j->encrypt >= 0)
        return mpct_error_set(MPCT_ERR_ARG, "%s: encrypt = %s is for the links of a single mpirun: separately "
                                            "launched parties talk over TLS (tls in the peers file)",
                              src, j->encrypt ? "on" : "off");
    if (j->party >= 0 && j->plaintext)
        return mpct_error_set(MPCT_ERR_ARG, "%s: plaintext runs the float64 reference in one process, which needs "
                                            "the model and the inputs together: not with party", src);
    if (j->party < 0 && (j->peers[0] || j->tls_key[0] || j->tls_cert[0]))
        return mpct_error_set(MPCT_ERR_ARG, "%s: %s is set but party is not: a peers file, key or certificate is "
                                            "for one party launched on its own (party in [parties], or --party)",
                              src, j->peers[0] ? "peers" : j->tls_key[0] ? "tls_key" : "tls_cert");
    if (!strcmp(j->output, j->model) || !strcmp(j->output, j->inputs))
        return mpct_error_set(MPCT_ERR_ARG, "%s: output '%s' is also the %s: expected a new file", src, j->output,
                              !strcmp(j->output, j->model) ? "model" : "inputs");
    /* the report files are written after the output: one that is also another file of the run would overwrite it */
    if (j->trace[0] && j->plaintext)
        return mpct_error_set(MPCT_ERR_ARG, "%s: trace = %s: a plaintext run executes no protocol to trace; drop "
                                            "trace or plaintext", src, j->trace);
    const struct { const char *key, *path; } rep[] = {
        {"report", j->report}, {"prometheus", j->prometheus}, {"trace", j->trace}};
    const struct { const char *key, *path; } other[] = {
        {"model", j->model}, {"inputs", j->inputs}, {"output", j->output}, {"report", j->report}};
    if (j->trace[0] && !strcmp(j->trace, j->prometheus))
        return mpct_error_set(MPCT_ERR_ARG, "%s: trace '%s' is also the prometheus: expected a file of its own", src,
                              j->trace);
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; rep[a].path[0] && b < sizeof other / sizeof other[0]; b++)
            if (strcmp(rep[a].key, other[b].key) && !strcmp(rep[a].path, other[b].path))
                return mpct_error_set(MPCT_ERR_ARG, "%s: %s '%s' is also the %s: expected a file of its own", src,
                                      rep[a].key, rep[a].path, other[b].key);
    return MPCT_OK;
}

void mpct_job_print(const mpct_job *j, FILE *f)
{
    if (j->source[0]) fprintf(f, "; effective settings (job file %s)\n", j->source);
    else fprintf(f, "; effective settings\n");
    char b[16];
    if (j->batch_auto) snprintf(b, sizeof b, "auto");
    else snprintf(b, sizeof b, "%d", j->batch);
    fprintf(f, "[job]\ntask = %s\nbatch = %s\nseq_len = %d\nfrac_bits = %d\n", j->task, b, j->seq_len, j->frac_bits);
    char t[40];
    snprintf(t, sizeof t, "%.15g", j->timeout_s);
    if (strtod(t, NULL) != j->timeout_s) snprintf(t, sizeof t, "%.17g", j->timeout_s); /* exact round trip */
    fprintf(f, "resume = %d\noverwrite = %d\nquiet = %d\nplaintext = %d\nkernels = %s\ntimeout_s = %s\nnetwork = %s\n",
            j->resume, j->overwrite, j->quiet, j->plaintext, j->kernels, t, j->network);
    if (strcmp(j->log_level, "info"))
        fprintf(f, "log_level = %s\n", j->log_level);
    if (j->test_seed)
        fprintf(f, "; INSECURE deterministic test keys: --test-seed %lld (a flag only, not a job-file key)\n",
                j->test_seed);
    fprintf(f, "\n[model]\npath = %s\n\n[inputs]\npath = %s\nrow_offset = %d\n", j->model, j->inputs, j->row_offset);
    if (j->hide_lengths)
        fprintf(f, "hide_lengths = 1\n");
    if (j->refuse_repeats)
        fprintf(f, "refuse_repeats = 1\n");
    if (j->dedup)
        fprintf(f, "dedup = 1\n");
    if (strcmp(j->input_format, "auto"))
        fprintf(f, "format = %s\n", j->input_format);
    fprintf(f, "text_field = %s\n", j->text_field);
    if (j->id_field[0])
        fprintf(f, "id_field = %s\n", j->id_field);
    fprintf(f, "\n[output]\npath = %s\nreport = %s\nprometheus = %s\ntrace = %s\npapi = %d\npapi_events = %s\n",
            j->output, j->report, j->prometheus, j->trace, j->papi, j->papi_events);
    if (j->result_cache[0])
        fprintf(f, "result_cache = %s\n", j->result_cache);
    fprintf(f, "\n[parties]\nowner = %d\nclient = %d\nparty = %d\npeers = %s\nkey = %s\ncert = %s\nencrypt = %s\n",
            j->owner, j->client, j->party, j->peers, j->tls_key, j->tls_cert,
            j->encrypt < 0 ? "auto" : j->encrypt ? "on" : "off");
    fprintf(f, "\n[cache]\ndir = %s\nl1_mb = %d\nl2_mb = %d\ndisk_mb = %d\npolicy = %s\n", j->cache_dir,
            j->cache_l1_mb, j->cache_l2_mb, j->cache_disk_mb, j->cache_policy);
    fprintf(f, "\n[batch]\nmin = %d\nmax = %d\nmem_limit_mb = %d\n", j->batch_min, j->batch_max, j->mem_limit_mb);
    fprintf(f, "\n[generate]\nmax_new_tokens = %d\nstop = %s\ntemperature = %.17g\ntop_k = %d\nlogits = %s\n",
            j->max_new_tokens, j->stop, j->temperature, j->top_k, j->logits);
}
