/*
 * test_hf_golden.c — Hugging Face checkpoints against Hugging Face's own
 * outputs (tests/data/hf, made by datasets/make_hf_goldens.py with
 * `transformers`; this test needs no torch):
 *   bert-seqcls  BertForSequenceClassification: embedding = BertPooler's
 *                tanh(W h_[CLS] + b), logits = the classifier on it
 *   bert-st-cls  sentence-transformers layout, CLS pooling + Normalize
 *   distilbert-seqcls   DistilBertForSequenceClassification (ReLU pre_classifier)
 *   distilbert-st-mean  DistilBERT, mean pooling, BF16 weights
 *   roberta-seqcls      RobertaForSequenceClassification, sharded weights
 *   roberta-st-mean     RoBERTa, mean pooling + Normalize, F16 weights
 *   xlmr-seqcls         XLMRobertaForSequenceClassification, rows to 512 tokens
 *   bert-pruned         heads pruned (config.json pruned_heads, 2 of 4 per
 *                       layer: attention width 16 of hidden 32) and FFN
 *                       neurons, mean pooling + Normalize; its reference
 *                       must equal HF to <= 1e-9
 *   bert-quad           mpct.optimize's substitutions: Quad GeLU and 2Quad
 *                       attention (config.json mpct_activation,
 *                       mpct_attention), golden from the patched PyTorch
 *                       modules; reference <= 1e-9
 *   bert-relu           ReLU (hidden_act and mpct_activation "relu"),
 *                       golden from plain transformers; reference <= 1e-9
 * For each: `pack` (float32 and 16-bit), the packed model's own tokenizer
 * gives HF's ids on the texts: where the checkpoint has a tokenizer.json
 * (distilbert-seqcls: WordPiece; RoBERTa: byte-level BPE; XLM-R: Unigram
 * with the Precompiled normalizer) each golden row made from a text carries
 * it and its truncation length (16, 128 or 512), so the whole path from text
 * to HF's outputs is checked; the vocab.txt checkpoints' first rows are the
 * lines of texts.txt truncated to the golden's tokseq (24 by default). The
 * float64 reference equals HF to <= 1e-6 (float32 pack, each row padded to
 * its length class), and the secure pass (three parties as threads, 16-bit
 * pack; rows batched by length class 16, 128 or 512 tokens, padded)
 * reaches cosine >= 0.9999 on every embedding, max abs logit error <= 1e-2
 * and the same argmax label as HF on every row.
 */
#include "../mpct_party3.h"
#include "mpct_model.h"
#include "mpct_model_desc.h"
#include "mpct_tok.h"

#include <math.h>
#include <string.h>

#define SEQ 512 /* the longest row */
#define MAXROWS 24
#define MAXTEXT 4096
#define MAXH 64
#define MAXL 8

typedef struct golden {
    size_t rows, h, L, tokseq;
    size_t cap; /* the model's longest input: max_positions less the position offset */
    int32_t ids[MAXROWS][SEQ];
    int32_t n[MAXROWS];
    size_t maxlen[MAXROWS];   /* the row's truncation length; 0: a row without text */
    char text[MAXROWS][MAXTEXT];
    double emb[MAXROWS][MAXH], logits[MAXROWS][MAXL];
} golden;

typedef struct secure_arg {
    const char *model;
    const golden *g;
    size_t t;             /* the padded length of this batch */
    size_t row[MAXROWS];  /* its golden rows */
    size_t b;
    double emb[MAXROWS * MAXH], logits[MAXROWS * MAXL];
} secure_arg;

/* The padded length of a row of n tokens: 16, 128 or 512, at most cap. */
static size_t length_class(size_t n, size_t cap)
{
    const size_t c = n <= 16 ? 16 : n <= 128 ? 128 : 512;
    return c < cap ? c : cap;
}

/* failures outside the parties (each party counts into its body's own) */
static int fails;

static size_t read_doubles(char *line, const char *tag, double *out, size_t max)
{
    size_t k = 0, tl = strlen(tag);
    if (strncmp(line, tag, tl) != 0 || line[tl] != ' ') return 0;
    char *p = line + tl, *e;
    for (;;) {
        double v = strtod(p, &e);
        if (e == p || k == max) break;
        out[k++] = v;
        p = e;
    }
    return k;
}

/* "text <max_length> <hex>": the next row's text, decoded into g. */
static int read_text(const char *line, golden *g)
{
    if (g->rows == MAXROWS) return 0;
    char *e;
    const size_t r = g->rows;
    g->maxlen[r] = (size_t)strtoul(line + 5, &e, 10);
    size_t k = 0;
    unsigned v;
    for (e += *e == ' '; k + 1 < MAXTEXT && sscanf(e, "%2x", &v) == 1; e += 2) g->text[r][k++] = (char)v;
    g->text[r][k] = '\0';
    return g->maxlen[r] > 0 && (*e == '\n' || *e == '\0');
}

static int load_golden(const char *path, golden *g)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char line[1 << 16];
    memset(g, 0, sizeof *g);
    g->tokseq = 24;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "text ", 5)) {
            if (!read_text(line, g)) break;
        } else if (!strncmp(line, "tokseq ", 7)) {
            g->tokseq = (size_t)strtoul(line + 7, NULL, 10);
        } else if (!strncmp(line, "ids ", 4)) {
            if (g->rows == MAXROWS) break;
            size_t r = g->rows++;
            char *p = line + 4, *e;
            g->n[r] = (int32_t)strtol(p, &e, 10);
            if (g->n[r] < 1 || g->n[r] > SEQ) break;
            for (int32_t i = 0; i < g->n[r] && i < SEQ; i++) g->ids[r][i] = (int32_t)strtol(e, &e, 10);
        } else if (g->rows > 0 && !strncmp(line, "emb ", 4)) {
            g->h = read_doubles(line, "emb", g->emb[g->rows - 1], MAXH);
        } else if (g->rows > 0 && !strncmp(line, "logits ", 7)) {
            g->L = read_doubles(line, "logits", g->logits[g->rows - 1], MAXL);
        }
    }
    fclose(f);
    return g->rows > 0 && g->h > 0;
}

static size_t argmax(const double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[k]) k = i;
    return k;
}

static int same_ids(const int32_t *a, size_t n, const golden *g, size_t r)
{
    int same = n == (size_t)g->n[r];
    for (size_t i = 0; same && i < n; i++) same = a[i] == g->ids[r][i];
    return same;
}

/* The rows made from a text: the packed model's tokenizer (its
 * tokenizer.json) gives HF's ids at the row's truncation length. */
static size_t check_text_rows(const char *model, const golden *g)
{
    size_t checked = 0;
    mpct_tok_t *tok = NULL;
    for (size_t r = 0; r < g->rows; r++) {
        if (!g->maxlen[r]) continue;
        if (!tok && mpct_tok_load_h5(model, &tok) != MPCT_OK) {
            CHECK(0, "%s: tokenizer: %s", model, mpct_error_msg());
            return 1;
        }
        static int32_t ids[SEQ];
        size_t n = 0, dropped = 0;
        CHECK(mpct_tok_encode(tok, g->text[r], strlen(g->text[r]), g->maxlen[r], ids, NULL, &n, &dropped) == MPCT_OK,
              "%s row %zu: encode: %s", model, r, mpct_error_msg());
        CHECK(same_ids(ids, n, g, r), "%s row %zu (max_length %zu): mpct's %zu token ids differ from Hugging Face's %d",
              model, r, g->maxlen[r], n, g->n[r]);
        checked++;
    }
    if (checked) printf("%s: %zu texts tokenised, ids equal Hugging Face's\n", model, checked);
    mpct_tok_free(tok);
    return checked;
}

/* The mpct tokenizer of the packed model gives HF's ids on every text. */
static void check_tokens(const char *model, const char *texts, const golden *g)
{
    mpct_tok_t *tok = NULL;
    CHECK(mpct_tok_load_h5(model, &tok) == MPCT_OK, "%s: tokenizer: %s", model, mpct_error_msg());
    FILE *f = fopen(texts, "r");
    CHECK(f != NULL, "cannot open %s", texts);
    char line[4096];
    size_t r = 0;
    while (tok && f && fgets(line, sizeof line, f) && r < g->rows) {
        line[strcspn(line, "\n")] = '\0';
        int32_t ids[SEQ];
        size_t n = 0, dropped = 0;
        CHECK(mpct_tok_encode(tok, line, strlen(line), g->tokseq, ids, NULL, &n, &dropped) == MPCT_OK,
              "encode row %zu", r);
        CHECK(same_ids(ids, n, g, r), "%s row %zu: mpct's %zu token ids differ from Hugging Face's %d", model, r, n, g->n[r]);
        r++;
    }
    CHECK(r > 0, "%s: no texts", texts);
    if (f) fclose(f);
    mpct_tok_free(tok);
}

/* The float64 reference on HF's ids equals HF's float64 outputs to tol. */
static void check_reference(const char *model, const golden *g, double tol)
{
    mpct_ref_model *m = NULL;
    if (mpct_ref_load(model, &m) != MPCT_OK) {
        CHECK(0, "%s: %s", model, mpct_error_msg());
        return;
    }
    double worst_e = 0, worst_l = 0;
    for (size_t r = 0; r < g->rows; r++) {
        const size_t t = length_class((size_t)g->n[r], g->cap);
        int32_t mask[SEQ];
        for (size_t i = 0; i < SEQ; i++) mask[i] = i < (size_t)g->n[r];
        double e[MAXH], l[MAXL];
        CHECK(mpct_ref_forward(m, g->ids[r], mask, 1, t, e, g->L ? l : NULL) == MPCT_OK, "%s row %zu: forward: %s",
              model, r, mpct_error_msg());
        for (size_t j = 0; j < g->h; j++) worst_e = fmax(worst_e, fabs(e[j] - g->emb[r][j]));
        for (size_t j = 0; j < g->L; j++) worst_l = fmax(worst_l, fabs(l[j] - g->logits[r][j]));
    }
    printf("%s: float64 reference vs Hugging Face: max abs error embeddings %.3e, logits %.3e\n", model, worst_e,
          worst_l);
    CHECK(worst_e <= tol && worst_l <= tol, "%s: reference differs from Hugging Face (%.3e, %.3e)", model, worst_e,
          worst_l);
    mpct_ref_free(m);
}

/* The reference refuses a row longer than the model's positions (RoBERTa:
 * max_positions less the offset 2) and, where positions count from the
 * padding token, a padding id among the real tokens. */
static void check_limits(const char *model, const golden *g)
{
    mpct_ref_model *m = NULL;
    if (mpct_ref_load(model, &m) != MPCT_OK) return;
    const mpct_model_desc *md = mpct_md_find(mpct_ref_config(m)->architecture);
    static int32_t ids[SEQ + 8], mask[SEQ + 8];
    for (size_t i = 0; i < SEQ + 8; i++) ids[i] = 3, mask[i] = 1;
    double e[MAXH], l[MAXL];
    CHECK(g->cap + 1 <= SEQ + 8 && mpct_ref_forward(m, ids, mask, 1, g->cap + 1, e, l) == MPCT_ERR_RANGE,
          "%s: a row of %zu tokens is accepted", model, g->cap + 1);
    CHECK(mpct_ref_forward(m, ids, mask, 1, g->cap, e, l) == MPCT_OK, "%s: a row of %zu tokens: %s", model, g->cap,
          mpct_error_msg());
    if (md->pad_id >= 0) {
        ids[1] = md->pad_id;
        CHECK(mpct_ref_forward(m, ids, mask, 1, 4, e, l) == MPCT_ERR_ARG, "%s: a padding id inside a row is accepted",
              model);
    }
    mpct_ref_free(m);
}

static int secure_body(mpct_ctx_t *ctx, void *arg)
{
    secure_arg *a = arg;
    const golden *g = a->g;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), owner = 0, client = 1;
    mpct_model_file *f = NULL;
    if (me == owner) CHECK_OK(mpct_model_file_open(a->model, &f));
    mpct_smodel_info info;
    CHECK_OK(mpct_smodel_share_info(ctx, owner, f, &info));
    mpct_smodel *m = NULL;
    CHECK_OK(mpct_smodel_share(ctx, owner, f, &info, &m, NULL, NULL));
    const size_t t = a->t, b = a->b;
    static int32_t ids[MAXROWS * SEQ];
    int32_t cnt[MAXROWS];
    for (size_t k = 0; me == client && k < b; k++) {
        cnt[k] = g->n[a->row[k]];
        memcpy(ids + k * SEQ, g->ids[a->row[k]], (size_t)cnt[k] * sizeof *ids);
    }
    mpct_share OH = {0}, MK = {0}, IN = {0}, E = {0}, LG = {0};
    CHECK_OK(mpct_smodel_input(ctx, client, &info, me == client ? ids : NULL, SEQ, me == client ? cnt : NULL, b, t,
                               &OH, &MK, &IN));
    mpct_smodel_work *w = NULL;
    CHECK_OK(mpct_smodel_work_new(&w));
    CHECK_OK(mpct_smodel_forward(ctx, m, w, &OH, &MK, &IN, b, t, &E, g->L ? &LG : NULL));
    mpct_smodel_work_free(w);
    CHECK_OK(mpct_share_reveal_fxp(ctx, &E, client, a->emb));
    if (g->L) CHECK_OK(mpct_share_reveal_fxp(ctx, &LG, client, a->logits));
    mpct_share *all[] = {&OH, &MK, &IN, &E, &LG};
    for (size_t i = 0; i < 5; i++) mpct_share_free(all[i]);
    mpct_smodel_free(m);
    mpct_model_file_close(f);
    return fails;
}

/* One batch's rows against HF. */
static void check_secure_rows(const char *model, const golden *g, const secure_arg *a)
{
    double worst_cos = 1, worst_l = 0;
    size_t agree = 0;
    for (size_t k = 0; k < a->b; k++) {
        const size_t r = a->row[k];
        const double *e = a->emb + k * g->h;
        double dot = 0, na = 0, nb = 0;
        for (size_t j = 0; j < g->h; j++) {
            dot += e[j] * g->emb[r][j];
            na += e[j] * e[j];
            nb += g->emb[r][j] * g->emb[r][j];
        }
        worst_cos = fmin(worst_cos, dot / sqrt(na * nb));
        if (g->L) {
            const double *l = a->logits + k * g->L;
            for (size_t j = 0; j < g->L; j++) worst_l = fmax(worst_l, fabs(l[j] - g->logits[r][j]));
            agree += argmax(l, g->L) == argmax(g->logits[r], g->L);
        }
    }
    printf("%s: secure vs Hugging Face, %zu rows at %zu tokens: min cosine %.7f, max abs logit error %.3e, labels "
           "%zu/%zu\n",
           model, a->b, a->t, worst_cos, worst_l, agree, g->L ? a->b : 0);
    CHECK(worst_cos >= 0.9999, "%s: min cosine %.7f < 0.9999", model, worst_cos);
    CHECK(worst_l <= 1e-2, "%s: max abs logit error %.3e > 1e-2", model, worst_l);
    CHECK(!g->L || agree == a->b, "%s: %zu of %zu labels agree", model, agree, a->b);
}

/* One batch per length class; every row compared with HF. */
static void check_secure(const char *model, const golden *g)
{
    const size_t classes[] = {length_class(16, g->cap), length_class(128, g->cap), length_class(512, g->cap)};
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        if (c > 0 && classes[c] == classes[c - 1]) continue;
        static secure_arg a;
        memset(&a, 0, sizeof a);
        a.model = model, a.g = g, a.t = classes[c];
        for (size_t r = 0; r < g->rows; r++)
            if (length_class((size_t)g->n[r], g->cap) == a.t) a.row[a.b++] = r;
        if (a.b == 0) continue;
        CHECK(mpct_test_run3(secure_body, &a, NULL) == 0, "%s: secure pass at %zu tokens failed", model, a.t);
        check_secure_rows(model, g, &a);
    }
}
int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : "tests/data/hf";
    static const char *names[] = {"bert-seqcls",     "bert-st-cls",    "distilbert-seqcls", "distilbert-st-mean",
                                  "roberta-seqcls",  "roberta-st-mean", "xlmr-seqcls",       "bert-pruned",
                                  "bert-quad",       "bert-relu"};
    char texts[512];
    snprintf(texts, sizeof texts, "%s/texts.txt", data);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char dir[512], gpath[600], m32[128], m16[128];
        snprintf(dir, sizeof dir, "%s/%s", data, names[i]);
        snprintf(gpath, sizeof gpath, "%s/golden.txt", dir);
        snprintf(m32, sizeof m32, "hf-%s-32.h5", names[i]);
        snprintf(m16, sizeof m16, "hf-%s-16.h5", names[i]);
        static golden g;
        if (!load_golden(gpath, &g)) {
            CHECK(0, "%s: cannot read the golden file", gpath);
            continue;
        }
        mpct_io_pack_opts o32 = {32, 0, NULL, NULL}, o16 = {16, 0, NULL, NULL};
        if (mpct_io_pack_hf(dir, m32, &o32) != MPCT_OK || mpct_io_pack_hf(dir, m16, &o16) != MPCT_OK) {
            CHECK(0, "pack %s: %s", dir, mpct_error_msg());
            continue;
        }
        mpct_model_file *mf = NULL;
        if (mpct_model_file_open(m32, &mf) != MPCT_OK) {
            CHECK(0, "%s: %s", m32, mpct_error_msg());
            continue;
        }
        const mpct_model_config *cfg = mpct_model_file_config(mf);
        g.cap = (size_t)cfg->max_positions - (size_t)mpct_md_find(cfg->architecture)->position_offset;
        mpct_model_file_close(mf);
        char vocab[600], json[600];
        snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
        snprintf(json, sizeof json, "%s/tokenizer.json", dir);
        FILE *vf = fopen(vocab, "r"), *jf = fopen(json, "r");
        if (jf) /* a tokenizer.json checkpoint: its rows carry their texts */
            CHECK(check_text_rows(m32, &g) > 0, "%s: a checkpoint with a tokenizer.json has no text rows", gpath);
        else if (vf) /* a vocab.txt checkpoint: its first rows are the texts */
            check_tokens(m32, texts, &g);
        if (vf) fclose(vf);
        if (jf) fclose(jf);
        check_reference(m32, &g, i >= 7 ? 1e-9 : 1e-6); /* bert-pruned and the substitutions: float64 goldens */
        check_limits(m32, &g);
        check_secure(m16, &g);
    }
    return mpct_check_done("test_hf_golden");
}
