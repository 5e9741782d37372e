/*
 * test_smollm2_ref.c MODEL.h5 GOLDEN — the float64 decoder reference on the
 * real SmolLM2-135M-Instruct (its GGUF Q4_1 file packed at 32 bits, so the
 * weights are exactly the dequantized ones) against transformers' float32
 * logits of the same GGUF (tests/data/gguf/smollm2_golden.txt, made by
 * datasets/make_gguf_goldens.py): for every position of both prompts the
 * argmax equals transformers', the five top ids' logits and the first 8
 * logits agree within 2e-3 relative to the row's largest magnitude (float32
 * accumulation over 30 layers against float64), and prefill with the KV
 * cache gives the same logits as one pass over each prefix. Prints the
 * largest difference seen.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "../mpct_check.h"

#define V 49152
#define MAXP 64

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_smollm2_ref MODEL.h5 GOLDEN\n");
        return 2;
    }
    mpct_ref_model *m = NULL;
    REQUIRE(mpct_ref_load(argv[1], &m) == MPCT_OK, "load %s: %s", argv[1], mpct_error_msg());
    FILE *f = fopen(argv[2], "r");
    REQUIRE(f != NULL, "open %s", argv[2]);
    mpct_ref_kv *kv = NULL;
    REQUIRE(mpct_ref_kv_new(m, MAXP, &kv) == MPCT_OK, "kv: %s", mpct_error_msg());
    double *logits = malloc(sizeof(double) * MAXP * V), *one = malloc(sizeof(double) * V);
    REQUIRE(logits && one);
    int32_t ids[MAXP];
    size_t n = 0, positions = 0;
    double worst = 0, worst_kv = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, "prompt ", 7)) {
            n = 0;
            for (char *p = line + 7, *e; n < MAXP; p = e) {
                long v = strtol(p, &e, 10);
                if (e == p) break;
                ids[n++] = (int32_t)v;
            }
            mpct_ref_kv_reset(kv);
            REQUIRE(mpct_ref_decode_all(m, kv, ids, n, logits) == MPCT_OK, "decode: %s", mpct_error_msg());
            /* the cache path: each prefix on its own must give the same last row */
            for (size_t t = 0; t < n; t++) {
                mpct_ref_kv_reset(kv);
                REQUIRE(mpct_ref_decode(m, kv, ids, t + 1, one) == MPCT_OK, "decode prefix: %s", mpct_error_msg());
                for (size_t j = 0; j < V; j++) {
                    double d = fabs(one[j] - logits[t * V + j]);
                    worst_kv = d > worst_kv ? d : worst_kv;
                }
            }
            continue;
        }
        if (strncmp(line, "logits ", 7))
            continue;
        int pos = atoi(line + 7);
        REQUIRE(pos >= 0 && (size_t)pos < n, "logits row %d of a %zu-token prompt", pos, n);
        const double *row = logits + (size_t)pos * V;
        double scale = 0;
        for (size_t j = 0; j < V; j++)
            scale = fmax(scale, fabs(row[j]));
        char *p = strstr(line, "top5 ");
        REQUIRE(p != NULL);
        p += 5;
        for (int k = 0; k < 5; k++) {
            char *e;
            long id = strtol(p, &e, 10);
            double want = strtod(e + 1, &e);
            p = e;
            if (k == 0)
                CHECK(mpct_ref_argmax(row, V) == id, "prompt of %zu, position %d: argmax %d, transformers %ld", n,
                      pos, (int)mpct_ref_argmax(row, V), id);
            double d = fabs(row[id] - want) / scale;
            worst = d > worst ? d : worst;
            CHECK(d <= 2e-3, "position %d, id %ld: %.6f vs %.6f", pos, id, row[id], want);
        }
        p = strstr(line, "first8 ");
        REQUIRE(p != NULL);
        p += 7;
        for (int j = 0; j < 8; j++) {
            double want = strtod(p, &p), d = fabs(row[j] - want) / scale;
            worst = d > worst ? d : worst;
            CHECK(d <= 2e-3, "position %d, logit %d: %.6f vs %.6f", pos, j, row[j], want);
        }
        positions++;
    }
    CHECK(positions >= 10, "only %zu positions compared", positions);
    CHECK(worst_kv <= 1e-9, "KV-cache prefill differs from a fresh pass by %.3g", worst_kv);
    printf("test_smollm2_ref: %zu positions; max |ours - transformers| / max|logit| = %.3g; cache vs fresh %.3g\n",
           positions, worst, worst_kv);
    free(line);
    fclose(f);
    free(logits);
    free(one);
    mpct_ref_kv_free(kv);
    mpct_ref_free(m);
    return mpct_check_done("test_smollm2_ref");
}
