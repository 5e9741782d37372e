/*
 * test_cuda_forward.c — the secure forward pass with the CUDA kernel backend
 * equals the CPU backend bit for bit (three parties as threads in one
 * process, deterministic keys, same inputs), then times both backends on a
 * larger shape. Exits 77 (skipped) when no CUDA device is usable.
 *   usage: test_cuda_forward [tiny|minilm|bert-base] [seq]   (default tiny 16)
 * With a larger shape it prints per-backend forward times (no assertion on
 * speed, only on equality).
 */
#include "../mpct_party3.h"
#include "mpct_model.h"

#include <string.h>
#include <unistd.h>

#define B 2
static char path[256];
static size_t T = 16;
static int H_dim;

typedef struct result {
    double emb[B * 1024];
    double seconds;
} result;

static result res[2]; /* [0] cpu, [1] cuda, as revealed to the client */

typedef struct arg {
    int which;
} arg;

static int body(mpct_ctx_t *ctx, void *a_)
{
    const arg *a = a_;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), owner = 0, client = 1;
    mpct_model_file *f = NULL;
    if (me == owner)
        CHECK_OK(mpct_model_file_open(path, &f));
    mpct_smodel_info info;
    CHECK_OK(mpct_smodel_share_info(ctx, owner, f, &info));
    mpct_smodel *m = NULL;
    CHECK_OK(mpct_smodel_share(ctx, owner, f, &info, &m, NULL, NULL));
    const size_t V = (size_t)info.cfg.vocab_size;
    H_dim = (int)info.cfg.hidden;
    int32_t *ids = NULL, cnt[B];
    if (me == client) {
        mpct_rng r = {3};
        ids = calloc(B * T, sizeof *ids);
        for (size_t i = 0; i < B * T; i++)
            ids[i] = (int32_t)(104 + mpct_rng_next(&r) % (V - 104));
        for (int b = 0; b < B; b++)
            cnt[b] = (int32_t)T;
    }
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0};
    mpct_ctx_set_stream(ctx, 7);
    double t0 = mpct_time_now();
    CHECK_OK(mpct_smodel_input(ctx, client, &info, ids, T, me == client ? cnt : NULL, B, T, &OH, &MK, &IN));
    CHECK_OK(mpct_smodel_forward(ctx, m, NULL, &OH, &MK, &IN, B, T, &E, NULL));
    double dt = mpct_time_now() - t0;
    CHECK_OK(mpct_share_reveal_fxp(ctx, &E, client, me == client ? res[a->which].emb : NULL));
    if (me == client)
        res[a->which].seconds = dt;
    free(ids);
    mpct_share_free(&OH);
    mpct_share_free(&MK);
    mpct_share_free(&IN);
    mpct_share_free(&E);
    mpct_smodel_free(m);
    mpct_model_file_close(f);
    return fails;
}

int main(int argc, char **argv)
{
    const char *shape = argc > 1 ? argv[1] : "tiny";
    if (argc > 2)
        T = (size_t)atoi(argv[2]);
    if (!mpct_kernels_get("cuda")) {
        printf("test_cuda_forward: no CUDA backend or device: skipped\n");
        return 77;
    }
    snprintf(path, sizeof path, "/tmp/mpct_cuda_fwd_%d.h5", (int)getpid());
    if (mpct_io_write_synthetic(path, shape, NULL, 0, 16, 0, 5, NULL) != MPCT_OK) {
        fprintf(stderr, "cannot write the %s model: %s\n", shape, mpct_error_msg());
        return 1;
    }
    int fails = 0;
    const char *names[2] = {"cpu", "cuda"};
    for (int w = 0; w < 2; w++) {
        mpct_ctx_config cfg[3];
        for (int p = 0; p < 3; p++) {
            cfg[p] = mpct_ctx_config_default();
            cfg[p].deterministic = 1;
            cfg[p].seed = 11;
            cfg[p].kernels = names[w];
        }
        arg a = {w};
        fails += mpct_test_run3(body, &a, cfg);
        printf("%s shape %s seq %zu batch %d: secure forward %.3f s\n", names[w], shape, T, B, res[w].seconds);
    }
    size_t n = (size_t)B * (size_t)H_dim, diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += memcmp(&res[0].emb[i], &res[1].emb[i], sizeof(double)) != 0;
    printf("embeddings: %zu of %zu values differ between the cpu and cuda backends\n", diff, n);
    CHECK(diff == 0, "cuda != cpu: %zu embedding values differ", diff);
    unlink(path);
    return mpct_check_done("test_cuda_forward");
}
