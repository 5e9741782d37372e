/*
 * test_minilm_golden.c — the real all-MiniLM-L6-v2, packed at 32, 16 and 8
 * bits by datasets/fetch_minilm.sh, against sentence embeddings computed by
 * upstream PyTorch/transformers (datasets/make_embed_golden.py) for the
 * first 64 movie-review snippets of the VADER ground truth.
 *
 * Pass: mean cosine(ours, upstream) >= 0.9999 (32-bit), >= 0.999 (16-bit),
 * >= 0.99 (8-bit), over every sentence. Prints the measured values.
 * Skips (exit 77) when datasets/cache/minilm-*.h5 are missing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpct_model.h"
#include "../mpct_check.h"

#define MAXS 256
#define MAXT 512
#define H 384

static int read_lines(const char *path, int32_t ids[][MAXT], size_t *len, double emb[][H], size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (n < max && getline(&line, &cap, f) > 0) {
        char *p = line, *end;
        size_t k = 0;
        for (;;) {
            if (ids) {
                long v = strtol(p, &end, 10);
                if (end == p) break;
                if (k < MAXT) ids[n][k++] = (int32_t)v;
            } else {
                double v = strtod(p, &end);
                if (end == p) break;
                if (k < H) emb[n][k++] = v;
            }
            p = end;
        }
        if (len) len[n] = k;
        if (!ids && k != H) {
            fprintf(stderr, "%s:%zu: %zu values, expected %d\n", path, n + 1, k, H);
            free(line);
            fclose(f);
            return -1;
        }
        n++;
    }
    free(line);
    fclose(f);
    return (int)n;
}

int main(void)
{
    static int32_t ids[MAXS][MAXT];
    static size_t len[MAXS];
    static double gold[MAXS][H];
    static int32_t mask[MAXT];
    const char *src = MPCT_SOURCE_DIR;
    char path[1024];
    const int bits[3] = {32, 16, 8};
    const double need[3] = {0.9999, 0.999, 0.99};
    for (int b = 0; b < 3; b++) {
        snprintf(path, sizeof path, "%s/datasets/cache/minilm-%d.h5", src, bits[b]);
        if (access(path, R_OK) != 0) {
            printf("SKIP: %s missing (run datasets/fetch_minilm.sh to fetch and pack all-MiniLM-L6-v2)\n", path);
            return 77;
        }
    }
    snprintf(path, sizeof path, "%s/tests/data/minilm_golden_ids.txt", src);
    int ns = read_lines(path, ids, len, NULL, MAXS);
    snprintf(path, sizeof path, "%s/tests/data/minilm_golden_emb.txt", src);
    int ne = read_lines(path, NULL, NULL, gold, MAXS);
    REQUIRE(ns >= 50 && ns == ne, "%d id lines and %d embedding lines (need >= 50, equal)", ns, ne);
    for (int i = 0; i < MAXT; i++) mask[i] = 1;
    for (int b = 0; b < 3; b++) {
        snprintf(path, sizeof path, "%s/datasets/cache/minilm-%d.h5", src, bits[b]);
        mpct_ref_model *m = NULL;
        MUST(mpct_ref_load(path, &m));
        REQUIRE(mpct_ref_config(m)->hidden == H, "%s: hidden %lld, expected %d", path,
                (long long)mpct_ref_config(m)->hidden, H);
        double sum = 0, mn = 1, e[H];
        for (int s = 0; s < ns; s++) {
            REQUIRE(mpct_ref_forward(m, ids[s], mask, 1, len[s], e, NULL) == MPCT_OK, "sentence %d: %s", s + 1,
                    mpct_error_msg());
            double ab = 0, aa = 0, bb = 0;
            for (int j = 0; j < H; j++) ab += e[j] * gold[s][j], aa += e[j] * e[j], bb += gold[s][j] * gold[s][j];
            double c = ab / sqrt(aa * bb);
            sum += c;
            mn = c < mn ? c : mn;
        }
        double mean = sum / ns;
        printf("minilm-%d.h5: %d sentences, mean cosine vs upstream %.12f (1 - mean = %.3e, min %.12f), need >= %g: %s\n",
               bits[b], ns, mean, 1.0 - mean, mn, need[b], mean >= need[b] ? "ok" : "FAIL");
        CHECK(mean >= need[b], "minilm-%d.h5: mean cosine %.12f < %g", bits[b], mean, need[b]);
        mpct_ref_free(m);
    }
    return mpct_check_done("test_minilm_golden");
}
