/*
 * test_sched_job.c — the job layer (src/sched) end to end without the
 * model's forward pass: a synthetic tiny model is described, its weights
 * shared (and copied to every replica), and the rows of a job go through
 * the dispenser, a stand-in computation (row r's embedding is r + k/1000
 * in column k) and the writer.
 *
 * usage: mpirun -np 3|6 test_sched_job WORKDIR VOCAB fixed|auto
 * Checks: every step returns 0; every replica holds the weights; ranges are
 * aligned blocks with PRF stream 2 + block (fixed) or start at a row with
 * stream 2 + row (auto), never longer than the bound; every row is computed
 * exactly once over the replicas; the output is complete and holds each
 * row's values; the weight-sharing key is wiped once the weights are
 * stored. Exit 0 on every rank when all hold, 1 otherwise.
 */
#include "mpct_sched.h"

#include "mpct_io.h"
#include "mpct_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NROWS 10
#define BATCH 3

/* Every range of this replica: checked, filled on the client, submitted. */
static int compute_rows(mpct_sched_t *s, const mpct_job *job, int is_client, size_t *rows)
{
    mpct_sched_batch *b = NULL;
    mpct_sched_range rg;
    int code = mpct_sched_start(s, &b);
    CHECK(code == 0, "start: %d", code);
    while (!code && !(code = mpct_sched_next(s, &rg)) && rg.n) {
        const size_t bound = (size_t)(job->batch_auto ? job->batch_max : job->batch);
        CHECK(rg.n <= bound && rg.first + rg.n <= NROWS, "range [%zu, +%zu)", rg.first, rg.n);
        if (job->batch_auto)
            CHECK(rg.stream == 2 + rg.first, "auto: range at %zu has stream %llu", rg.first,
                  (unsigned long long)rg.stream);
        else
            CHECK(rg.first % BATCH == 0 && rg.stream == 2 + rg.first / BATCH, "fixed: range at %zu, stream %llu",
                  rg.first, (unsigned long long)rg.stream);
        if (is_client) {
            for (size_t i = 0; i < rg.n; i++) {
                for (size_t k = 0; k < b->dim; k++)
                    b->emb[i * b->dim + k] = (double)(rg.first + i) + (double)k / 1000;
                b->tokens[i] = 2;
            }
            *rows += rg.n;
        }
        code = mpct_sched_submit(s, b);
    }
    return mpct_sched_finish(s, code);
}

/* The writer reads the output back. */
static void check_output(const char *path, size_t dim)
{
    mpct_out_t *o = NULL;
    mpct_out_info info;
    memset(&info, 0, sizeof info);
    double *emb = calloc(NROWS * dim, sizeof *emb);
    int32_t tok[NROWS];
    CHECK(emb != NULL, "out of memory");
    if (!emb || mpct_out_open_read(path, &o, &info) != MPCT_OK) {
        CHECK(0, "cannot read %s: %s", path, mpct_error_msg());
        free(emb);
        return;
    }
    CHECK(info.complete && info.rows_done == NROWS, "complete %d, rows done %zu", info.complete, info.rows_done);
    CHECK(mpct_out_read(o, 0, NROWS, emb, NULL, NULL, tok) == MPCT_OK, "read: %s", mpct_error_msg());
    for (size_t r = 0; r < NROWS; r++) {
        CHECK(tok[r] == 2, "row %zu: %d tokens", r, tok[r]);
        for (size_t k = 0; k < dim; k++)
            CHECK(emb[r * dim + k] == (double)r + (double)k / 1000, "row %zu col %zu: %g", r, k, emb[r * dim + k]);
    }
    CHECK(mpct_out_close(o, 0) == MPCT_OK, "close");
    mpct_out_info_free(&info);
    free(emb);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int wrank = 0, wsize = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (argc != 4) {
        fprintf(stderr, "usage: test_sched_job WORKDIR VOCAB fixed|auto\n");
        MPI_Finalize();
        return 2;
    }
    mpct_job job;
    mpct_job_defaults(&job);
    snprintf(job.model, sizeof job.model, "%s/tiny-%s-%d.h5", argv[1], argv[3], wsize);
    snprintf(job.inputs, sizeof job.inputs, "(rows)");
    snprintf(job.output, sizeof job.output, "%s/out-%s-%d.h5", argv[1], argv[3], wsize);
    job.batch = BATCH;
    job.batch_auto = !strcmp(argv[3], "auto");
    job.batch_max = 4;
    job.test_seed = 7;
    job.quiet = 1;
    job.overwrite = 1;
    if (wrank == 0)
        CHECK(mpct_io_write_synthetic(job.model, "tiny", argv[2], 0, 16, 0, 1, NULL) == MPCT_OK, "model: %s",
              mpct_error_msg());
    MPI_Barrier(MPI_COMM_WORLD);

    const mpct_sched_config cfg = {"test", &job, 0, NULL, 1, 1};
    mpct_sched_t *s = NULL;
    mpct_smodel *m = NULL;
    uint8_t *vocab = NULL;
    size_t vlen = 0, rows = 0;
    int code = mpct_sched_open(&s, &cfg);
    CHECK(code == 0, "open: %d", code);
    const mpct_sched_replica *r = mpct_sched_replica_of(s);
    const int is_client = r->party == job.client;
    const mpct_smodel_info *info = mpct_sched_info(s);
    code = code ? code : mpct_sched_describe(s);
    code = code ? code : mpct_sched_vocab(s, &vocab, &vlen);
    CHECK(code == 0 && info->cfg.hidden > 0 && vlen > 0, "describe %d: hidden %lld, vocabulary %zu bytes", code,
          (long long)info->cfg.hidden, vlen);
    mpct_free(vocab);
    mpct_out_meta meta = {0, 0, 0, "embed", info->hash, "", 16, 128, NULL, 0, 0, NULL, "secure", "test", 1, 0};
    code = code ? code : mpct_sched_rows(s, is_client ? NROWS : 0, (size_t)info->cfg.hidden, 0, &meta);
    CHECK(code == 0 && mpct_sched_nrows(s) == NROWS, "rows %d: %zu", code, mpct_sched_nrows(s));
    code = code ? code : mpct_sched_weights(s, &m, NULL);
    CHECK(code == 0 && m && mpct_smodel_share_count(m) > 0, "weights %d on replica %d", code, r->replica);
    if (code == 0 && m) { /* the weight-sharing key is wiped once the shares are stored */
        mpct_smodel_recipe rc;
        CHECK(!mpct_smodel_share_recipe(m, 0, &rc), "replica %d, party %d: the weight key outlives the sharing",
              r->replica, r->party);
    }
    code = code ? code : compute_rows(s, &job, is_client, &rows);
    code = code ? code : mpct_sched_report(s, code);
    CHECK(code == 0, "the job's status %d", code);
    unsigned long long mine = rows, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK(all == NROWS, "%llu rows computed over the replicas' clients, want %d", all, NROWS);
    if (code == 0 && r->world_rank == job.client)
        check_output(job.output, (size_t)info->cfg.hidden);
    mpct_sched_close(s, code);
    if (wrank == 0)
        remove(job.model);
    int bad = failures > 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}
