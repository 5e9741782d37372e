/*
 * test_job.c — job files of `mpct run` (io/mpct_job.h).
 *
 *  1. defaults;
 *  2. a good file with every key, relative paths resolved against the job
 *     file's directory, absolute ones kept, untouched keys kept (overlay),
 *     a 3000-character path (beyond inih's default 200-character lines);
 *  3. each error: message text (file:line, key, what was expected) and
 *     status, and *j unchanged after a failed load;
 *  4. mpct_job_set with command-line style keys;
 *  5. mpct_job_validate;
 *  6. mpct_job_print output loads back to the same settings;
 *  7. the profiling keys papi and papi_events (mpct run --no-papi,
 *     --papi-events).
 * Files go to the working directory (the build tree), under rio_jobs/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpct_job.h"
#include "../mpct_check.h"


static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void test_defaults(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    CHECK(!strcmp(j.task, "embed") && j.batch == 8 && j.seq_len == 128 && j.frac_bits == 16, "defaults 1");
    CHECK(j.owner == 0 && j.client == 1 && !j.resume && !j.quiet && !j.plaintext, "defaults 2");
    CHECK(!strcmp(j.kernels, "cpu") && j.timeout_s == 600.0 && j.test_seed == 0, "defaults 3");
    CHECK(!j.model[0] && !j.inputs[0] && !j.output[0] && !j.report[0] && !j.prometheus[0] && !j.source[0],
          "defaults 4");
    /* Defaults lack the three paths. */
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "job: no model", "[model]");
}

static void test_good(void)
{
    write_file("rio_jobs/good.ini", "; a job\n"
                                    "[job]\n"
                                    "task = classify\n"
                                    "batch = 32\n"
                                    "seq_len = 256\n"
                                    "frac_bits = 20\n"
                                    "resume = 1\n"
                                    "quiet = true\n"
                                    "plaintext = off\n"
                                    "kernels = avx2\n"
                                    "timeout_s = 12.5\n"
                                    "\n"
                                    "[model]\npath = models/m.h5\n"
                                    "[inputs]\npath = /abs/in.txt\n"
                                    "[output]\npath = ../out.h5\nreport = r.json\n"
                                    "[parties]\nowner = 2\nclient = 0\n");
    mpct_job j;
    mpct_job_defaults(&j);
    MUST(mpct_job_load("rio_jobs/good.ini", &j));
    MUST(mpct_job_set(&j, "test-seed", "-42", "--test-seed")); /* a flag only */
    CHECK(!strcmp(j.task, "classify") && j.batch == 32 && j.seq_len == 256 && j.frac_bits == 20, "job 1");
    CHECK(j.resume == 1 && j.quiet == 1 && j.plaintext == 0 && !strcmp(j.kernels, "avx2"), "job 2");
    CHECK(j.timeout_s == 12.5 && j.test_seed == -42 && j.owner == 2 && j.client == 0, "job 3");
    CHECK(!strcmp(j.model, "rio_jobs/models/m.h5"), "model %s", j.model);
    CHECK(!strcmp(j.inputs, "/abs/in.txt"), "inputs %s", j.inputs);
    CHECK(!strcmp(j.output, "rio_jobs/../out.h5"), "output %s", j.output);
    CHECK(!strcmp(j.report, "rio_jobs/r.json"), "report %s", j.report);
    CHECK(!j.prometheus[0], "prometheus untouched: %s", j.prometheus);
    CHECK(!strcmp(j.source, "rio_jobs/good.ini"), "source %s", j.source);
    MUST(mpct_job_validate(&j));

    /* Overlay: a file with one key leaves the others as they were. */
    write_file("rio_jobs/one.ini", "[job]\nbatch = 3\n");
    MUST(mpct_job_load("rio_jobs/one.ini", &j));
    CHECK(j.batch == 3 && j.seq_len == 256 && !strcmp(j.model, "rio_jobs/models/m.h5"), "overlay");

    /* A job file in the working directory: relative paths stay as given. */
    write_file("rio_here.ini", "[model]\npath = m.h5\n");
    MUST(mpct_job_load("rio_here.ini", &j));
    CHECK(!strcmp(j.model, "m.h5"), "model in cwd %s", j.model);

    /* A 3000-character path: lines longer than inih's default 200. */
    char *text = malloc(4000), *want = malloc(4000);
    char longp[3001];
    memset(longp, 'p', 3000);
    longp[3000] = '\0';
    snprintf(text, 4000, "[inputs]\npath = /%s\n", longp);
    snprintf(want, 4000, "/%s", longp);
    write_file("rio_jobs/long.ini", text);
    MUST(mpct_job_load("rio_jobs/long.ini", &j));
    CHECK(!strcmp(j.inputs, want), "long path (%zu chars)", strlen(j.inputs));
    free(text);
    free(want);
}

/* Loads text as rio_jobs/bad.ini and checks the error. */
static void bad(int line, const char *text, mpct_status want, const char *a, const char *b, const char *c)
{
    write_file("rio_jobs/bad.ini", text);
    mpct_job j, before;
    mpct_job_defaults(&j);
    before = j;
    EXPECT_ERR_AT(line, mpct_job_load("rio_jobs/bad.ini", &j), want, a, b, c);
    CHECK_AT(line, memcmp(&j, &before, sizeof j) == 0, "job changed by a failed load");
}

static void test_errors(void)
{
    bad(__LINE__, "[job]\nbatch = 4\nbatchsize = 8\n", MPCT_ERR_ARG, "rio_jobs/bad.ini:3: unknown key 'batchsize' in [job]",
        "(known: task, batch, seq_len, frac_bits, resume, overwrite, quiet, plaintext, kernels, timeout_s, log_level, "
        "network)", NULL);
    bad(__LINE__, "[output]\nfile = x\n", MPCT_ERR_ARG, "bad.ini:2: unknown key 'file' in [output]",
        "(known: path, report, prometheus, trace, result_cache, papi, papi_events)", NULL);
    bad(__LINE__, "[job]\nbatch = 4\n[jobs]\nbatch = 8\n", MPCT_ERR_ARG, "bad.ini:4: unknown section [jobs]",
        "known: job, model, inputs, output, parties", NULL);
    bad(__LINE__, "\n\n[job]\n\nbatch = abc\n", MPCT_ERR_ARG, "bad.ini:5: batch = 'abc'", "expected an integer from 1 to 1024",
        NULL);
    bad(__LINE__, "[job]\nbatch = 2000\n", MPCT_ERR_ARG, "bad.ini:2: batch = '2000'", "from 1 to 1024", NULL);
    bad(__LINE__, "[job]\nbatch = 8x\n", MPCT_ERR_ARG, "bad.ini:2: batch = '8x'", "integer", NULL);
    bad(__LINE__, "[job]\nbatch =\n", MPCT_ERR_ARG, "bad.ini:2: batch = ''", "integer", NULL);
    bad(__LINE__, "[job]\nseq_len = 1\n", MPCT_ERR_ARG, "bad.ini:2: seq_len = '1'", "from 2 to 4096", NULL);
    bad(__LINE__, "[job]\nfrac_bits = 30\n", MPCT_ERR_ARG, "bad.ini:2: frac_bits = '30'", "from 8 to 20", NULL);
    /* 21..24 pass no model's L2 normalisation (rsqrt); refused when read, not mid-run */
    bad(__LINE__, "[job]\nfrac_bits = 21\n", MPCT_ERR_ARG, "bad.ini:2: frac_bits = '21'", "from 8 to 20", NULL);
    bad(__LINE__, "[job]\noverwrite = perhaps\n", MPCT_ERR_ARG, "bad.ini:2: overwrite = 'perhaps'", "expected 0 or 1",
        NULL);
    bad(__LINE__, "[parties]\nowner = 3\n", MPCT_ERR_ARG, "bad.ini:2: owner = '3'", "from 0 to 2", NULL);
    bad(__LINE__, "[job]\nresume = maybe\n", MPCT_ERR_ARG, "bad.ini:2: resume = 'maybe'", "expected 0 or 1", NULL);
    bad(__LINE__, "[job]\ntask = summarize\n", MPCT_ERR_ARG, "bad.ini:2: task = 'summarize'",
        "expected 'embed' or 'classify'", NULL);
    bad(__LINE__, "[job]\ntimeout_s = -1\n", MPCT_ERR_ARG, "bad.ini:2: timeout_s = '-1'", "seconds > 0", NULL);
    bad(__LINE__, "[job]\ntimeout_s = nan\n", MPCT_ERR_ARG, "bad.ini:2: timeout_s = 'nan'", "seconds > 0", NULL);
    bad(__LINE__, "[job]\ntest_seed = 1e3\n", MPCT_ERR_ARG, "bad.ini:2: 'test_seed' cannot be set in a job file",
        "only the --test-seed flag", NULL);
    bad(__LINE__, "[job]\ntest_seed = 7\n", MPCT_ERR_ARG, "bad.ini:2: 'test_seed' cannot be set in a job file",
        "insecure", NULL);
    {
        mpct_job j;
        mpct_job_defaults(&j);
        EXPECT_ERR(mpct_job_set(&j, "test-seed", "1e3", "--test-seed"), MPCT_ERR_ARG, "test-seed = '1e3'",
                   "64-bit integer");
    }
    bad(__LINE__, "[job]\nkernels = a_very_long_kernel_backend_name_x\n", MPCT_ERR_ARG, "bad.ini:2: kernels =",
        "1 to 31 characters", NULL);
    bad(__LINE__, "batch = 4\n", MPCT_ERR_ARG, "bad.ini:1: key 'batch' outside any section", NULL, NULL);
    bad(__LINE__, "[job]\nbatch = 4\nseq_len = 8\nbatch = 5\n", MPCT_ERR_ARG, "bad.ini:4: 'batch' given twice in [job]",
        "first on line 2", NULL);
    /* A syntax error before a bad key wins; a bad key before a syntax error wins. */
    bad(__LINE__, "[job]\nthis is not ini\nbatchsize = 8\n", MPCT_ERR_ARG, "bad.ini:2: expected 'key = value'", NULL,
        NULL);
    bad(__LINE__, "[job]\nbatchsize = 8\nthis is not ini\n", MPCT_ERR_ARG, "bad.ini:2: unknown key 'batchsize'", NULL,
        NULL);
    bad(__LINE__, "[job\nbatch = 4\n", MPCT_ERR_ARG, "bad.ini:1: expected 'key = value' or a [section]", NULL, NULL);
    /* A line over the 8190-character limit. */
    char *huge = malloc(9000);
    snprintf(huge, 9000, "[job]\nkernels = cpu\n[model]\npath = %8500d\n[job]\nbatch = 4\n", 7);
    bad(__LINE__, huge, MPCT_ERR_ARG, "bad.ini:4: line longer than 8190 characters", NULL, NULL);
    free(huge);
    /* The job file itself missing. */
    mpct_job j;
    mpct_job_defaults(&j);
    EXPECT_ERR(mpct_job_load("rio_jobs/no_such.ini", &j), MPCT_ERR_IO, "rio_jobs/no_such.ini: cannot open job file",
               "No such file");
    EXPECT_ERR(mpct_job_load("rio_jobs", &j), MPCT_ERR_IO, "rio_jobs: is a directory: expected a job file");
}

static void test_set(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    MUST(mpct_job_set(&j, "batch", "16", "--batch"));
    MUST(mpct_job_set(&j, "seq-len", "64", "--seq-len"));
    MUST(mpct_job_set(&j, "model.path", "rel/m.h5", "--model"));
    MUST(mpct_job_set(&j, "output", "o.h5", "--output"));
    MUST(mpct_job_set(&j, "job.resume", "1", NULL));
    CHECK(j.batch == 16 && j.seq_len == 64 && j.resume == 1, "set values");
    CHECK(!strcmp(j.model, "rel/m.h5") && !strcmp(j.output, "o.h5"), "set paths are not resolved: %s", j.model);
    EXPECT_ERR(mpct_job_set(&j, "batchsize", "8", "--batchsize"), MPCT_ERR_ARG, "--batchsize: unknown setting 'batchsize'",
           "known: task, batch, seq_len", "owner, client");
    EXPECT_ERR(mpct_job_set(&j, "batch", "0", "--batch"), MPCT_ERR_ARG, "--batch: batch = '0'", "from 1 to 1024");
    EXPECT_ERR(mpct_job_set(&j, "frac_bits", "7", NULL), MPCT_ERR_ARG, "frac_bits = '7'", "from 8 to 20");
    EXPECT_ERR(mpct_job_set(&j, "frac-bits", "24", "--frac-bits"), MPCT_ERR_ARG, "--frac-bits: frac-bits = '24'",
           "from 8 to 20");
    MUST(mpct_job_set(&j, "frac_bits", "20", NULL));
    MUST(mpct_job_set(&j, "frac_bits", "8", NULL));
    MUST(mpct_job_set(&j, "frac_bits", "16", NULL));
    EXPECT_ERR(mpct_job_set(&j, "model.batch", "7", NULL), MPCT_ERR_ARG, "unknown setting 'model.batch'");
    CHECK(j.batch == 16 && j.frac_bits == 16, "failed set leaves the value");
}

static void test_validate(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    MUST(mpct_job_set(&j, "model", "m.h5", NULL));
    MUST(mpct_job_set(&j, "inputs", "in.txt", NULL));
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "job: no output: set path in [output]");
    MUST(mpct_job_set(&j, "output", "o.h5", NULL));
    MUST(mpct_job_validate(&j));
    snprintf(j.source, sizeof j.source, "x.ini");
    j.client = 0;
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: owner and client are both party 0");
    j.client = 1;
    j.batch = 0; /* set directly: validate re-checks ranges */
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: batch = '0'", "from 1 to 1024");
    j.batch = 8;
    snprintf(j.output, sizeof j.output, "m.h5");
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "output 'm.h5' is also the model");
    snprintf(j.output, sizeof j.output, "o.h5");
    j.resume = j.overwrite = 1;
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: resume and overwrite are both set", "expected one");
    j.resume = 0;
    MUST(mpct_job_validate(&j));
    /* a report path that is another file of the run would overwrite it at the end */
    snprintf(j.report, sizeof j.report, "o.h5");
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: report 'o.h5' is also the output");
    snprintf(j.report, sizeof j.report, "r.json");
    snprintf(j.prometheus, sizeof j.prometheus, "r.json");
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: prometheus 'r.json' is also the report");
    snprintf(j.prometheus, sizeof j.prometheus, "in.txt");
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "x.ini: prometheus 'in.txt' is also the inputs");
    snprintf(j.prometheus, sizeof j.prometheus, "r.prom");
    MUST(mpct_job_validate(&j));
}

/* Prints job a to path and loads it into b (from defaults). */
static void print_load(const mpct_job *a, const char *path, mpct_job *b)
{
    FILE *f = fopen(path, "w");
    mpct_job_print(a, f);
    fclose(f);
    mpct_job_defaults(b);
    MUST(mpct_job_load(path, b));
}

/* [cache] section: defaults, a file, flags, errors, round trip. */
static void test_cache(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    CHECK(!j.cache_dir[0] && j.cache_l1_mb == 0 && j.cache_l2_mb == 0 && !strcmp(j.cache_policy, "lru"),
          "cache defaults");
    write_file("rio_jobs/cache.ini", "[cache]\ndir = sc\nl1_mb = 64\nl2_mb = 128\npolicy = adaptive\n");
    MUST(mpct_job_load("rio_jobs/cache.ini", &j));
    CHECK(!strcmp(j.cache_dir, "rio_jobs/sc"), "cache dir resolved against the job file: %s", j.cache_dir);
    CHECK(j.cache_l1_mb == 64 && j.cache_l2_mb == 128 && !strcmp(j.cache_policy, "adaptive"), "cache values");
    MUST(mpct_job_set(&j, "cache-dir", "/tmp/c", "--cache-dir"));
    MUST(mpct_job_set(&j, "cache.policy", "lfu", "--cache-policy"));
    MUST(mpct_job_set(&j, "cache_l1_mb", "0", "--cache-l1-mb"));
    CHECK(!strcmp(j.cache_dir, "/tmp/c") && !strcmp(j.cache_policy, "lfu") && j.cache_l1_mb == 0, "cache flags");
    EXPECT_ERR(mpct_job_set(&j, "cache_policy", "mru", "--cache-policy"), MPCT_ERR_ARG, "--cache-policy: cache_policy = 'mru'",
               "'lru', 'lfu', 'ttl' or 'adaptive'");
    EXPECT_ERR(mpct_job_set(&j, "cache_l2_mb", "-1", NULL), MPCT_ERR_ARG, "cache_l2_mb = '-1'", "from 0 to 65536");
    write_file("rio_jobs/cache_bad.ini", "[cache]\nsize = 3\n");
    EXPECT_ERR(mpct_job_load("rio_jobs/cache_bad.ini", &j), MPCT_ERR_ARG, "cache_bad.ini:2: unknown key 'size' in [cache]",
               "known: dir, l1_mb, l2_mb, disk_mb, policy");
    MUST(mpct_job_set(&j, "model", "m.h5", NULL));
    MUST(mpct_job_set(&j, "inputs", "in.txt", NULL));
    MUST(mpct_job_set(&j, "output", "o.h5", NULL));
    MUST(mpct_job_validate(&j));
    snprintf(j.cache_policy, sizeof j.cache_policy, "fifo"); /* set directly: validate re-checks */
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "cache_policy = 'fifo'");
    snprintf(j.cache_policy, sizeof j.cache_policy, "ttl");
    j.overwrite = 1;
    mpct_job b;
    print_load(&j, "rio_cache_print.ini", &b);
    CHECK(!strcmp(b.cache_dir, "/tmp/c") && !strcmp(b.cache_policy, "ttl") && b.cache_l2_mb == 128,
          "cache print round trip");
    CHECK(b.overwrite == 1 && b.resume == 0, "overwrite print round trip");
}

/* batch = auto and its [batch] bounds; row_offset: defaults, file, flags, errors, round trip. */
static void test_batch_auto(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    CHECK(!j.batch_auto && j.batch_min == 1 && j.batch_max == 64 && j.mem_limit_mb == 0 && j.row_offset == -1,
          "batch auto defaults");
    write_file("rio_jobs/auto.ini", "[job]\nbatch = auto\n[batch]\nmin = 2\nmax = 16\nmem_limit_mb = 512\n"
                                    "[inputs]\npath = in.txt\nrow_offset = 100\n");
    MUST(mpct_job_load("rio_jobs/auto.ini", &j));
    CHECK(j.batch_auto && j.batch == 8 && j.batch_min == 2 && j.batch_max == 16 && j.mem_limit_mb == 512 &&
              j.row_offset == 100, "batch auto file");
    MUST(mpct_job_set(&j, "batch", "4", "--batch"));
    CHECK(!j.batch_auto && j.batch == 4, "a number after auto makes the batch fixed again");
    MUST(mpct_job_set(&j, "batch", "auto", "--batch"));
    MUST(mpct_job_set(&j, "batch-max", "32", "--batch-max"));
    CHECK(j.batch_auto && j.batch_max == 32, "batch auto flags");
    EXPECT_ERR(mpct_job_set(&j, "batch", "Auto", "--batch"), MPCT_ERR_ARG, "--batch: batch = 'Auto'",
               "expected an integer from 1 to 1024 or 'auto'");
    EXPECT_ERR(mpct_job_set(&j, "batch_min", "0", "--batch-min"), MPCT_ERR_ARG, "--batch-min: batch_min = '0'",
               "from 1 to 1024");
    EXPECT_ERR(mpct_job_set(&j, "row_offset", "-2", "--row-offset"), MPCT_ERR_ARG, "row_offset = '-2'",
               "from -1 to 2147483647");
    MUST(mpct_job_set(&j, "output", "o.h5", NULL));
    MUST(mpct_job_set(&j, "model", "m.h5", NULL));
    MUST(mpct_job_validate(&j));
    j.batch_min = 40;
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "rio_jobs/auto.ini: batch_min 40 > batch_max 32",
               "expected batch_min <= batch_max");
    j.batch_min = 2;
    mpct_job b;
    print_load(&j, "rio_auto_print.ini", &b);
    CHECK(b.batch_auto && b.batch_min == 2 && b.batch_max == 32 && b.mem_limit_mb == 512 && b.row_offset == 100,
          "batch auto print round trip");
}

static void test_print_roundtrip(void)
{
    mpct_job a, b;
    mpct_job_defaults(&a);
    MUST(mpct_job_load("rio_jobs/good.ini", &a));
    MUST(mpct_job_set(&a, "timeout_s", "0.1", NULL));
    MUST(mpct_job_set(&a, "prometheus", "/tmp/p.prom", NULL));
    FILE *f = fopen("rio_print.ini", "w");
    mpct_job_print(&a, f);
    fclose(f);
    mpct_job_defaults(&b);
    MUST(mpct_job_load("rio_print.ini", &b));
    snprintf(b.source, sizeof b.source, "%s", a.source);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "print -> load round trip differs");
    CHECK(b.timeout_s == 0.1 && !strcmp(b.model, "rio_jobs/models/m.h5") && b.owner == 2, "round trip values");
    mpct_job_print(&b, stdout);
}

/* [output] papi, papi_events: defaults, a file, flags, bad lists, round trip. */
static void test_papi(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    CHECK(j.papi == 1 && !j.papi_events[0], "papi defaults");
    write_file("rio_jobs/papi.ini", "[output]\npapi = off\npapi_events = perf::TASK-CLOCK,PAPI_TOT_INS\n");
    MUST(mpct_job_load("rio_jobs/papi.ini", &j));
    CHECK(j.papi == 0 && !strcmp(j.papi_events, "perf::TASK-CLOCK,PAPI_TOT_INS"), "papi from a file");
    MUST(mpct_job_set(&j, "papi", "1", "--papi"));
    MUST(mpct_job_set(&j, "papi-events", "PAPI_L2_DCM", "--papi-events"));
    CHECK(j.papi == 1 && !strcmp(j.papi_events, "PAPI_L2_DCM"), "papi flags");
    EXPECT_ERR(mpct_job_set(&j, "papi_events", "PAPI_TOT_INS, PAPI_TOT_CYC", "--papi-events"), MPCT_ERR_ARG,
               "--papi-events: papi_events = 'PAPI_TOT_INS, PAPI_TOT_CYC'", "separated by commas, without spaces");
    CHECK(!strcmp(j.papi_events, "PAPI_L2_DCM"), "a refused event list leaves the old one ('%s')", j.papi_events);
    char big[400];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = 0;
    EXPECT_ERR(mpct_job_set(&j, "papi_events", big, NULL), MPCT_ERR_ARG, "papi_events: longer than 255 characters");
    MUST(mpct_job_set(&j, "papi_events", "perf::TASK-CLOCK,PAPI_TOT_INS", NULL));
    MUST(mpct_job_set(&j, "papi", "0", NULL));
    MUST(mpct_job_set(&j, "model", "m.h5", NULL));
    MUST(mpct_job_set(&j, "inputs", "in.txt", NULL));
    MUST(mpct_job_set(&j, "output", "o.h5", NULL));
    FILE *f = fopen("rio_papi_print.ini", "w");
    mpct_job_print(&j, f);
    fclose(f);
    mpct_job b;
    mpct_job_defaults(&b);
    MUST(mpct_job_load("rio_papi_print.ini", &b));
    CHECK(b.papi == 0 && !strcmp(b.papi_events, "perf::TASK-CLOCK,PAPI_TOT_INS"),
          "papi print round trip: papi %d events '%s'", b.papi, b.papi_events);
    MUST(mpct_job_set(&b, "papi_events", "", NULL)); /* back to the default set */
    CHECK(!b.papi_events[0], "papi_events '' restores the default set ('%s')", b.papi_events);
}

/* [parties] encrypt: auto (default), on/off, bad values, not with party, round trip. */
static void test_encrypt(void)
{
    mpct_job j;
    mpct_job_defaults(&j);
    CHECK(j.encrypt == -1, "default encrypt %d", j.encrypt);
    write_file("rio_jobs/enc.ini", "[parties]\nencrypt = on\n");
    MUST(mpct_job_load("rio_jobs/enc.ini", &j));
    CHECK(j.encrypt == 1, "encrypt = on: %d", j.encrypt);
    MUST(mpct_job_set(&j, "encrypt", "0", "--no-encrypt"));
    CHECK(j.encrypt == 0, "--no-encrypt: %d", j.encrypt);
    MUST(mpct_job_set(&j, "encrypt", "auto", NULL));
    CHECK(j.encrypt == -1, "encrypt = auto: %d", j.encrypt);
    bad(__LINE__, "[parties]\nencrypt = maybe\n", MPCT_ERR_ARG, "bad.ini:2: encrypt = 'maybe'",
        "expected auto, 0 or 1", NULL);
    MUST(mpct_job_set(&j, "model", "m.h5", NULL));
    MUST(mpct_job_set(&j, "inputs", "in.txt", NULL));
    MUST(mpct_job_set(&j, "output", "o.h5", NULL));
    MUST(mpct_job_set(&j, "party", "1", NULL));
    MUST(mpct_job_set(&j, "peers", "peers.ini", NULL));
    MUST(mpct_job_validate(&j)); /* auto with party: TLS decides */
    MUST(mpct_job_set(&j, "encrypt", "on", NULL));
    EXPECT_ERR(mpct_job_validate(&j), MPCT_ERR_ARG, "encrypt = on is for the links of a single mpirun",
               "tls in the peers file");
    mpct_job a, b;
    mpct_job_defaults(&a);
    MUST(mpct_job_set(&a, "encrypt", "off", NULL));
    print_load(&a, "rio_enc_print.ini", &b);
    CHECK(b.encrypt == 0, "encrypt = off round trip: %d", b.encrypt);
}

int main(void)
{
    mkdir("rio_jobs", 0755);
    test_encrypt();
    test_defaults();
    test_good();
    test_errors();
    test_set();
    test_validate();
    test_cache();
    test_papi();
    test_batch_auto();
    test_print_roundtrip();
    return mpct_check_done("test_job");
}
