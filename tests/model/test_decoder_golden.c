/*
 * test_decoder_golden.c — the decoders (GPT-2, LLaMA with grouped-query
 * attention, tied and untied LM heads) packed from Hugging Face checkpoints
 * and run by the float64 reference, against transformers' own outputs
 * (tests/data/hf/{gpt2-tied,llama-gqa,llama-tied}, made by
 * datasets/make_hf_decoder_goldens.py).
 *
 * Per checkpoint: `pack` at --bits 32 (float32, as the checkpoint); the
 * model file records the decoder fields; the tokenizer.json stored in it
 * (no padding token) encodes every prompt to Hugging Face's ids (BOS from
 * the post-processor for LLaMA); the logits at every position are within
 * 1e-9 (max absolute difference over the vocabulary) of Hugging Face's
 * float64 logits; greedy generation gives Hugging Face's ids; a prefill
 * followed by single-token steps with the KV cache gives logits bit-identical
 * to a fresh pass over the whole sequence at every step; the encoder pass
 * refuses the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "mpct_model_desc.h"
#include "mpct_tok.h"
#include "../mpct_check.h"

#define MAXP 8
#define MAXT 64

typedef struct golden {
    size_t np, vocab;
    size_t n[MAXP];
    int32_t ids[MAXP][MAXT];
    double *logits[MAXP]; /* [n x vocab] */
    size_t ng[MAXP];
    int32_t greedy[MAXP][MAXT];
} golden;

static const char *const PROMPTS[] = {"The quick brown fox", "Secure computation of a decoder, one token at a time.",
                                      "hello hello hello"};

static void read_golden(const char *path, size_t vocab, golden *g)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL, "cannot open %s", path);
    memset(g, 0, sizeof *g);
    g->vocab = vocab;
    char word[16];
    while (fscanf(f, "%15s", word) == 1) {
        if (strcmp(word, "prompt") == 0) {
            size_t p = g->np++;
            REQUIRE(p < MAXP && fscanf(f, "%zu", &g->n[p]) == 1 && g->n[p] <= MAXT, "%s: bad prompt line", path);
            for (size_t i = 0; i < g->n[p]; i++) REQUIRE(fscanf(f, "%d", &g->ids[p][i]) == 1);
            g->logits[p] = calloc(g->n[p] * vocab, sizeof(double));
            REQUIRE(g->logits[p] != NULL);
        } else if (strcmp(word, "logits") == 0) {
            size_t p = g->np - 1, pos;
            REQUIRE(g->np > 0 && fscanf(f, "%zu", &pos) == 1 && pos < g->n[p], "%s: bad logits line", path);
            for (size_t v = 0; v < vocab; v++) REQUIRE(fscanf(f, "%lf", &g->logits[p][pos * vocab + v]) == 1);
        } else if (strcmp(word, "greedy") == 0) {
            size_t p = g->np - 1;
            REQUIRE(g->np > 0 && fscanf(f, "%zu", &g->ng[p]) == 1 && g->ng[p] <= MAXT);
            for (size_t i = 0; i < g->ng[p]; i++) REQUIRE(fscanf(f, "%d", &g->greedy[p][i]) == 1);
        } else {
            REQUIRE(0, "%s: unknown record '%s'", path, word);
        }
    }
    fclose(f);
}

/* The model file's own tokenizer encodes the prompts as Hugging Face did. */
static void check_tokenizer(const char *h5, const golden *g)
{
    mpct_model_file *mf = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int lower;
    MUST(mpct_model_file_open(h5, &mf));
    MUST(mpct_model_file_read_vocab(mf, &bytes, &len, &lower));
    mpct_tok_t *tok = NULL;
    MUST(mpct_tok_load_json_mem_pad(bytes, len, h5, 0, &tok));
    CHECK(mpct_tok_special_id(tok, MPCT_TOK_PAD) == -1, "%s: a decoder tokenizer without a padding token", h5);
    for (size_t p = 0; p < g->np; p++) {
        int32_t ids[MAXT];
        size_t n = 0;
        MUST(mpct_tok_encode(tok, PROMPTS[p], strlen(PROMPTS[p]), MAXT, ids, NULL, &n, NULL));
        CHECK(n == g->n[p] && memcmp(ids, g->ids[p], n * sizeof *ids) == 0, "%s: prompt %zu: %zu ids, HF %zu", h5,
              p, n, g->n[p]);
    }
    mpct_tok_free(tok);
    mpct_free(bytes);
    mpct_model_file_close(mf);
}

/* KV cache: prefill k tokens, then one token at a time; each step's logits
 * equal a fresh pass over the whole prefix, bit for bit. */
static void check_kv(const mpct_ref_model *m, const int32_t *ids, size_t n, size_t k)
{
    const size_t V = (size_t)mpct_ref_config(m)->vocab_size;
    double *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b);
    mpct_ref_kv *kv = NULL, *fresh = NULL;
    MUST(mpct_ref_kv_new(m, n, &kv));
    MUST(mpct_ref_kv_new(m, n, &fresh));
    MUST(mpct_ref_decode(m, kv, ids, k, a));
    for (size_t t = k; t <= n; t++) {
        if (t > k) MUST(mpct_ref_decode(m, kv, ids + t - 1, 1, a));
        mpct_ref_kv_reset(fresh);
        MUST(mpct_ref_decode(m, fresh, ids, t, b));
        CHECK(mpct_ref_kv_len(kv) == t);
        CHECK(memcmp(a, b, V * sizeof *a) == 0, "KV-cache step %zu differs from recomputing the sequence", t);
    }
    EXPECT_ERR(mpct_ref_decode(m, kv, ids, 1, a), MPCT_ERR_RANGE, "overflow the KV cache");
    mpct_ref_kv_free(kv);
    mpct_ref_kv_free(fresh);
    free(a);
    free(b);
}

static void check_model(const char *name, const char *arch, int tied, int64_t kv_heads, int64_t head_dim)
{
    char dir[1024], h5[1024], gpath[1100];
    snprintf(dir, sizeof dir, "%s/tests/data/hf/%s", MPCT_SOURCE_DIR, name);
    snprintf(h5, sizeof h5, "decoder_golden_%s.h5", name);
    snprintf(gpath, sizeof gpath, "%s/golden.txt", dir);
    mpct_io_pack_opts o = {.bits = 32};
    MUST(mpct_io_pack_hf(dir, h5, &o));
    mpct_ref_model *m = NULL;
    MUST(mpct_ref_load(h5, &m));
    const mpct_model_config *c = mpct_ref_config(m);
    CHECK(strcmp(c->architecture, arch) == 0 && c->tie_word_embeddings == tied && c->kv_heads == kv_heads &&
              c->head_dim == head_dim && strcmp(c->pooling, "lm") == 0,
          "%s: config %s tied %d kv_heads %lld head_dim %lld pooling %s", name, c->architecture,
          c->tie_word_embeddings, (long long)c->kv_heads, (long long)c->head_dim, c->pooling);
    const size_t V = (size_t)c->vocab_size;
    golden g;
    read_golden(gpath, V, &g);
    REQUIRE(g.np == sizeof PROMPTS / sizeof PROMPTS[0], "%s: %zu prompts", gpath, g.np);
    check_tokenizer(h5, &g);
    double worst = 0;
    for (size_t p = 0; p < g.np; p++) {
        const size_t n = g.n[p];
        double *lg = malloc(n * V * sizeof *lg);
        mpct_ref_kv *kv = NULL;
        MUST(mpct_ref_kv_new(m, n, &kv));
        MUST(mpct_ref_decode_all(m, kv, g.ids[p], n, lg));
        for (size_t i = 0; i < n * V; i++) worst = fmax(worst, fabs(lg[i] - g.logits[p][i]));
        int32_t out[MAXT];
        size_t nout = 0;
        MUST(mpct_ref_generate(m, g.ids[p], n, g.ng[p], NULL, 0, out, &nout));
        CHECK(nout == g.ng[p] && memcmp(out, g.greedy[p], nout * sizeof *out) == 0,
              "%s: prompt %zu: greedy ids differ from Hugging Face's", name, p);
        check_kv(m, g.ids[p], n, n / 2 > 0 ? n / 2 : 1);
        mpct_ref_kv_free(kv);
        free(lg);
        free(g.logits[p]);
    }
    printf("%s: max |logit - HF| = %.3e over %zu prompts, every position\n", name, worst, g.np);
    CHECK(worst <= 1e-9, "%s: logits differ from Hugging Face's by %.3e", name, worst);
    int32_t ids[2] = {1, 2}, mask[2] = {1, 1};
    double emb[64];
    EXPECT_ERR(mpct_ref_forward(m, ids, mask, 1, 2, emb, NULL), MPCT_ERR_UNSUPPORTED, "is a decoder");
    mpct_ref_free(m);
    remove(h5);
}

int main(void)
{
    check_model("gpt2-tied", "gpt2", 1, 4, 8);
    check_model("llama-gqa", "llama", 0, 2, 8);
    check_model("llama-tied", "llama", 1, 1, 16);
    return mpct_check_done("test_decoder_golden");
}
