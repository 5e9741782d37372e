/*
 * synth.c — deterministic synthetic models for tests and CI ("tiny").
 *
 * Every tensor is generated on its own from (seed, tensor name), so a test
 * can regenerate any one tensor to compare against what was stored.
 * Distributions: matrices ~ N(0, 0.05); biases ~ N(0, 0.02);
 * LayerNorm gamma ~ 1 + N(0, 0.05), beta ~ N(0, 0.02).
 *
 * Uses mpct_core (splitmix64 test RNG; not for secrets).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_io.h"

static const char *synth_words[] = {
    "the", "a", "an", "and", "or", "but", "is", "was", "are", "be", "it", "this", "that", "of", "to", "in", "on",
    "for", "with", "as", "at", "by", "not", "no", "so", "very", "too", "more", "most", "good", "great", "bad",
    "best", "worst", "fun", "funny", "boring", "dull", "love", "hate", "like", "movie", "film", "story", "plot",
    "actor", "acting", "director", "script", "scene", "music", "one", "two", "time", "life", "man", "woman",
    "never", "ever", "well", "just", "can", "has", "have", "its", "his", "her", "they", "you", "i", "we", "what",
    "who", "how", "all", "some", "much", "little", "big", "new", "old", "long", "short", "rock", "century",
    "##s", "##ed", "##ing", "##ly", "##er", "##est", "##n", "##t", ".", ",", "!", "?", "'", "-", "\"", "(", ")",
};

static size_t synth_vocab_lines(const uint8_t *b, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += b[i] == '\n';
    if (n > 0 && b[n - 1] != '\n') lines++;
    return lines;
}

/* Generated vocabulary: special tokens, letters, digits, a few words. */
static mpct_status synth_gen_vocab(uint8_t **bytes, size_t *len)
{
    size_t cap = 8192, p = 0;
    char *s = malloc(cap);
    if (!s) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    p += (size_t)snprintf(s + p, cap - p, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (char c = 'a'; c <= 'z'; c++) p += (size_t)snprintf(s + p, cap - p, "%c\n", c);
    for (char c = '0'; c <= '9'; c++) p += (size_t)snprintf(s + p, cap - p, "%c\n", c);
    for (size_t i = 0; i < sizeof synth_words / sizeof synth_words[0]; i++)
        p += (size_t)snprintf(s + p, cap - p, "%s\n", synth_words[i]);
    for (char c = 'a'; c <= 'z'; c++) p += (size_t)snprintf(s + p, cap - p, "##%c\n", c);
    *bytes = (uint8_t *)s;
    *len = p;
    return MPCT_OK;
}

static mpct_status synth_load_vocab(const char *vocab_path, uint8_t **bytes, size_t *len)
{
    if (!vocab_path) return synth_gen_vocab(bytes, len);
    FILE *fp = fopen(vocab_path, "rb");
    if (!fp) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open vocabulary file", vocab_path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n <= 0 || n > (64L << 20)) {
        fclose(fp);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: vocabulary file size %ld out of range 1 .. 64 MiB", vocab_path, n);
    }
    uint8_t *b = malloc((size_t)n);
    size_t got = b ? fread(b, 1, (size_t)n, fp) : 0;
    fclose(fp);
    if (!b || got != (size_t)n) {
        free(b);
        return mpct_error_set(MPCT_ERR_IO, "%s: short read of the vocabulary file", vocab_path);
    }
    *bytes = b;
    *len = (size_t)n;
    return MPCT_OK;
}

mpct_status mpct_io_synthetic_config(const char *kind, const char *vocab_path, mpct_model_config *cfg)
{
    /* shapes: tiny (CI), minilm (all-MiniLM-L6-v2's), bert-base (BERT-base's) */
    static const struct {
        const char *name;
        int64_t layers, hidden, heads, ffn, positions;
    } shapes[] = {{"tiny", 2, 32, 4, 64, 64}, {"minilm", 6, 384, 12, 1536, 512}, {"bert-base", 12, 768, 12, 3072, 512}};
    size_t k = 0;
    while (k < sizeof shapes / sizeof shapes[0] && strcmp(kind, shapes[k].name) != 0)
        k++;
    if (k == sizeof shapes / sizeof shapes[0])
        return mpct_error_set(MPCT_ERR_ARG, "--synthetic %s: unknown synthetic model (known: tiny, minilm, bert-base)",
                              kind);
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->architecture, "bert");
    strcpy(cfg->pooling, "mean");
    cfg->num_layers = shapes[k].layers;
    cfg->hidden = shapes[k].hidden;
    cfg->heads = shapes[k].heads;
    cfg->ffn = shapes[k].ffn;
    cfg->max_positions = shapes[k].positions;
    cfg->type_vocab_size = 2;
    cfg->layer_norm_eps = 1e-12;
    cfg->normalize = 1;
    uint8_t *b = NULL;
    size_t n = 0;
    MPCT_CALL(synth_load_vocab(vocab_path, &b, &n));
    cfg->vocab_size = (int64_t)synth_vocab_lines(b, n);
    free(b);
    return MPCT_OK;
}

static uint64_t synth_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static double synth_normal(mpct_rng *r)
{
    double u1 = mpct_rng_uniform(r), u2 = mpct_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void mpct_io_synthetic_tensor(const mpct_io_tensor_desc *d, uint64_t seed, double *out)
{
    mpct_rng r = {seed ^ synth_fnv(d->name)};
    size_t n = d->dim[0] * d->dim[1];
    const char *tail = strrchr(d->name, '/');
    tail = tail ? tail + 1 : d->name;
    double mean = 0.0, sd = 0.05;
    if (d->kind == MPCT_IO_VECTOR) {
        if (strcmp(tail, "gamma") == 0) mean = 1.0, sd = 0.05;
        else sd = 0.02;
    }
    for (size_t i = 0; i < n; i++) out[i] = mean + sd * synth_normal(&r);
}

mpct_status mpct_io_write_synthetic(const char *path, const char *kind, const char *vocab_path, int num_labels,
                                    int bits, int compress, uint64_t seed, FILE *report)
{
    mpct_model_config cfg;
    MPCT_CALL(mpct_io_synthetic_config(kind, vocab_path, &cfg));
    if (num_labels < 0 || num_labels > MPCT_IO_MAX_LABELS)
        return mpct_error_set(MPCT_ERR_ARG, "--labels %d: expected 0..%d", num_labels, MPCT_IO_MAX_LABELS);
    cfg.num_labels = num_labels;
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    MPCT_CALL(synth_load_vocab(vocab_path, &vocab, &vlen));
    mpct_model_writer *w = NULL;
    mpct_status st = mpct_model_writer_open(path, &cfg, bits, compress, &w);
    if (st != MPCT_OK) {
        free(vocab);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    if (report)
        fprintf(report, "synthetic %s: %lld layers, hidden %lld, heads %lld, ffn %lld, vocab_size %lld (%s), seed %llu\n",
                kind, (long long)cfg.num_layers, (long long)cfg.hidden, (long long)cfg.heads, (long long)cfg.ffn,
                (long long)cfg.vocab_size, vocab_path ? vocab_path : "generated vocabulary", (unsigned long long)seed);
    size_t nt = mpct_io_tensor_count(&cfg);
    double *buf = NULL;
    for (size_t i = 0; i < nt; i++) {
        mpct_io_tensor_desc d;
        mpct_io_qstats qs;
        MPCT_CALL_GOTO(st, fail, mpct_io_tensor_at(&cfg, i, &d));
        size_t n = d.dim[0] * d.dim[1];
        free(buf);
        buf = malloc(n * sizeof *buf + 1);
        if (!buf) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
            goto fail;
        }
        mpct_io_synthetic_tensor(&d, seed, buf);
        MPCT_CALL_GOTO(st, fail, mpct_model_writer_put(w, d.name, buf, n, &qs));
        if (report)
            fprintf(report, "%-40s %6zu x %-6zu int%-2d max_abs_err %.3e max_rel_err %.3e\n", d.name, d.dim[0],
                    d.dim[1], qs.bits, qs.max_abs_err, qs.max_rel_err);
    }
    MPCT_CALL_GOTO(st, fail, mpct_model_writer_put_vocab(w, vocab, vlen, 1));
    if (num_labels > 0) {
        const char *names[MPCT_IO_MAX_LABELS];
        char store[MPCT_IO_MAX_LABELS][16];
        for (int i = 0; i < num_labels; i++) {
            snprintf(store[i], sizeof store[i], "label_%d", i);
            names[i] = store[i];
        }
        MPCT_CALL_GOTO(st, fail, mpct_model_writer_set_labels(w, names, (size_t)num_labels));
    }
    free(buf);
    free(vocab);
    char hex[65];
    st = mpct_model_writer_close(w, hex);
    if (st != MPCT_OK) {
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    if (report) fprintf(report, "content_sha256 %s\n", hex);
    return MPCT_OK;
fail:
    free(buf);
    free(vocab);
    mpct_model_writer_abort(w);
    return st;
}
