/*
 * pack.c — converts a Hugging Face BERT directory (config.json,
 * model.safetensors, vocab.txt; sentence-transformers pooling files when
 * present) into an mpct HDF5 model, reporting the quantization error of
 * every tensor and the size against the float32 safetensors.
 *
 * Only what the reference forward pass computes is accepted: model_type
 * "bert", hidden_act "gelu" (exact erf), absolute position embeddings, mean
 * pooling. Anything else is a clear MPCT_ERR_UNSUPPORTED naming the field.
 * Tensors are converted one at a time (one tensor in memory as double).
 *
 * Uses cJSON, the safetensors reader, the model writer and mpct_core.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io-impl.h"

static mpct_status pk_read_file(const char *path, size_t max, char **buf, size_t *len, int optional)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (optional && errno == ENOENT) return MPCT_OK;
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n < 0 || (size_t)n > max) {
        fclose(fp);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: size %ld bytes out of range (at most %zu)", path, n, max);
    }
    char *b = malloc((size_t)n + 1);
    size_t got = b ? fread(b, 1, (size_t)n, fp) : 0;
    fclose(fp);
    if (!b || got != (size_t)n) {
        free(b);
        return mpct_error_set(MPCT_ERR_IO, "%s: short read", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = (size_t)n;
    return MPCT_OK;
}

static mpct_status pk_json(const char *path, int optional, cJSON **out)
{
    char *b;
    size_t n;
    *out = NULL;
    MPCT_CALL(pk_read_file(path, 16u << 20, &b, &n, optional));
    if (!b) return MPCT_OK;
    *out = cJSON_ParseWithLength(b, n);
    free(b);
    if (!*out) return mpct_error_set(MPCT_ERR_FORMAT, "%s: not valid JSON", path);
    return MPCT_OK;
}

static mpct_status pk_int(const cJSON *j, const char *key, const char *file, int64_t *v, int64_t dflt, int required)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!e) {
        if (required) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing field \"%s\"", file, key);
        *v = dflt;
        return MPCT_OK;
    }
    if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int64_t)e->valuedouble)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"%s\" is not an integer", file, key);
    *v = (int64_t)e->valuedouble;
    return MPCT_OK;
}

static void pk_path(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

mpct_status mpct_io_read_hf_config(const char *dir, mpct_model_config *cfg)
{
    char path[4096];
    cJSON *j = NULL;
    mpct_status st = MPCT_OK;
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->architecture, "bert");
    strcpy(cfg->pooling, "mean");
    pk_path(path, sizeof path, dir, "config.json");
    MPCT_CALL(pk_json(path, 0, &j));
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (!cJSON_IsString(mt) || strcmp(mt->valuestring, "bert") != 0) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (expected \"bert\")", path,
                            cJSON_IsString(mt) ? mt->valuestring : "(missing)");
        goto out;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0)) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (expected \"gelu\", exact erf)",
                            path, cJSON_IsString(act) ? act->valuestring : "?");
        goto out;
    }
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type");
    if (pe && (!cJSON_IsString(pe) || strcmp(pe->valuestring, "absolute") != 0)) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: position_embedding_type is not \"absolute\"", path);
        goto out;
    }
    MPCT_CALL_GOTO(st, out, pk_int(j, "num_hidden_layers", path, &cfg->num_layers, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "hidden_size", path, &cfg->hidden, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "num_attention_heads", path, &cfg->heads, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "intermediate_size", path, &cfg->ffn, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "vocab_size", path, &cfg->vocab_size, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "max_position_embeddings", path, &cfg->max_positions, 0, 1));
    MPCT_CALL_GOTO(st, out, pk_int(j, "type_vocab_size", path, &cfg->type_vocab_size, 2, 0));
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    cfg->layer_norm_eps = cJSON_IsNumber(eps) ? eps->valuedouble : 1e-12;
    cJSON_Delete(j);
    j = NULL;
    /* sentence-transformers: pooling mode and Normalize module. */
    pk_path(path, sizeof path, dir, "1_Pooling/config.json");
    MPCT_CALL_GOTO(st, out, pk_json(path, 1, &j));
    if (j) {
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(j, "pooling_mode_mean_tokens");
        if (!cJSON_IsTrue(mean)) {
            st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                "%s: only mean pooling (pooling_mode_mean_tokens: true) is supported", path);
            goto out;
        }
        cJSON_Delete(j);
        j = NULL;
    }
    pk_path(path, sizeof path, dir, "modules.json");
    MPCT_CALL_GOTO(st, out, pk_json(path, 1, &j));
    cfg->normalize = 0;
    if (j && cJSON_IsArray(j)) {
        const cJSON *m;
        cJSON_ArrayForEach(m, j)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
            if (cJSON_IsString(t) && strstr(t->valuestring, "Normalize")) cfg->normalize = 1;
        }
    }
    pk_path(path, sizeof path, dir, "config.json");
    MPCT_CALL_GOTO(st, out, mpct_io_config_check(cfg, path));
out:
    cJSON_Delete(j);
    return st;
}

/* Finds the classifier tensors in st (names "classifier.weight"/"bias" or
 * "weight"/"bias"); *found = 0 when absent. */
static void pk_find_head(const mpct_st_file *st, const char *prefix, const mpct_st_tensor **w, const mpct_st_tensor **b)
{
    char n[128];
    snprintf(n, sizeof n, "%sclassifier.weight", prefix);
    *w = mpct_st_find(st, n);
    snprintf(n, sizeof n, "%sclassifier.bias", prefix);
    *b = mpct_st_find(st, n);
    if (!*w) *w = mpct_st_find(st, "classifier.weight");
    if (!*b) *b = mpct_st_find(st, "classifier.bias");
}

static size_t pk_lines(const char *b, size_t n)
{
    size_t l = 0;
    for (size_t i = 0; i < n; i++) l += b[i] == '\n';
    return l + (n > 0 && b[n - 1] != '\n');
}

mpct_status mpct_io_pack_hf(const char *dir, const char *out_path, const mpct_io_pack_opts *o)
{
    char path[4096], stpath[4096];
    mpct_model_config cfg;
    mpct_status st = MPCT_OK;
    mpct_st_file *sf = NULL, *hf = NULL;
    mpct_model_writer *w = NULL;
    char *vocab = NULL, *labels_buf = NULL;
    size_t vlen = 0;
    double *buf = NULL; /* one tensor in the clear: wiped before every free */
    cJSON *tc = NULL, *cj = NULL;
    const char *labels[MPCT_IO_MAX_LABELS] = {0};
    FILE *R = o->report;
    struct stat sb;

    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "%s: not a model directory (expected config.json, model.safetensors, vocab.txt)",
                              dir);
    MPCT_CALL(mpct_io_read_hf_config(dir, &cfg));
    pk_path(stpath, sizeof stpath, dir, "model.safetensors");
    MPCT_CALL(mpct_st_open(stpath, &sf));
    const char *prefix = mpct_st_find(sf, "embeddings.word_embeddings.weight") ? "" : "bert.";

    /* Classification head: inside the checkpoint, or from --head FILE. */
    const mpct_st_tensor *hw = NULL, *hb = NULL;
    const mpct_st_file *hsrc = sf;
    pk_find_head(sf, prefix, &hw, &hb);
    if (!hw && o->head_path) {
        MPCT_CALL_GOTO(st, out, mpct_st_open(o->head_path, &hf));
        hsrc = hf;
        pk_find_head(hf, "", &hw, &hb);
        if (!hw) hw = mpct_st_find(hf, "weight");
        if (!hb) hb = mpct_st_find(hf, "bias");
        if (!hw || !hb) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: missing tensor 'classifier.weight'/'weight' or its bias",
                                o->head_path);
            goto out;
        }
    }
    if (hw) {
        if (hw->ndim != 2 || hw->shape[1] != (uint64_t)cfg.hidden || hw->shape[0] < 1 ||
            hw->shape[0] > MPCT_IO_MAX_LABELS) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: classifier weight must be [num_labels x %lld], num_labels <= %d",
                                hsrc == sf ? stpath : o->head_path, (long long)cfg.hidden, MPCT_IO_MAX_LABELS);
            goto out;
        }
        cfg.num_labels = (int64_t)hw->shape[0];
    }

    /* Vocabulary and casing. */
    pk_path(path, sizeof path, dir, "vocab.txt");
    MPCT_CALL_GOTO(st, out, pk_read_file(path, 64u << 20, &vocab, &vlen, 0));
    if (pk_lines(vocab, vlen) != (size_t)cfg.vocab_size) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu lines, but config.json says vocab_size = %lld", path,
                            pk_lines(vocab, vlen), (long long)cfg.vocab_size);
        goto out;
    }
    int lower = 1;
    pk_path(path, sizeof path, dir, "tokenizer_config.json");
    MPCT_CALL_GOTO(st, out, pk_json(path, 1, &tc));
    if (tc) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(tc, "do_lower_case");
        if (cJSON_IsBool(l)) lower = cJSON_IsTrue(l);
    }

    MPCT_CALL_GOTO(st, out, mpct_model_writer_open(out_path, &cfg, o->bits, o->compress, &w));
    if (R)
        fprintf(R, "packing %s -> %s: %lld layers, hidden %lld, heads %lld, ffn %lld, vocab %lld, %d-bit%s\n", dir,
                out_path, (long long)cfg.num_layers, (long long)cfg.hidden, (long long)cfg.heads, (long long)cfg.ffn,
                (long long)cfg.vocab_size, o->bits, o->compress ? ", shuffle+deflate" : "");
    uint64_t f32_bytes = 0;
    double worst_abs = 0, worst_rel = 0;
    size_t nt = mpct_io_tensor_count(&cfg);
    for (size_t i = 0; i < nt; i++) {
        mpct_io_tensor_desc d;
        mpct_io_qstats qs;
        char hfn[160], full[200];
        MPCT_CALL_GOTO(st, out, mpct_io_tensor_at(&cfg, i, &d));
        const mpct_st_tensor *t = NULL;
        const mpct_st_file *src = sf;
        if (strncmp(d.name, "/weights/classifier/", 20) == 0) {
            t = strcmp(d.name, "/weights/classifier/weight") == 0 ? hw : hb;
            src = hsrc;
            uint64_t dims[2] = {d.dim[0], d.dim[1]};
            MPCT_CALL_GOTO(st, out, mpct_st_expect(src, t->name, d.ndim, dims, &t));
        } else {
            io_hf_name(d.name, hfn, sizeof hfn);
            snprintf(full, sizeof full, "%s%s", prefix, hfn);
            uint64_t dims[2] = {d.dim[0], d.dim[1]};
            MPCT_CALL_GOTO(st, out, mpct_st_expect(sf, full, d.ndim, dims, &t));
        }
        size_t n = d.dim[0] * d.dim[1];
        if (buf) mpct_free_secret(buf);
        buf = mpct_alloc(n * sizeof *buf + 1);
        if (!buf) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
            goto out;
        }
        MPCT_CALL_GOTO(st, out, mpct_st_read_f64(src, t, buf, n));
        MPCT_CALL_GOTO(st, out, mpct_model_writer_put(w, d.name, buf, n, &qs));
        f32_bytes += (uint64_t)n * 4;
        if (qs.bits < 32) {
            worst_abs = qs.max_abs_err > worst_abs ? qs.max_abs_err : worst_abs;
            worst_rel = qs.max_rel_err > worst_rel ? qs.max_rel_err : worst_rel;
        }
        if (R)
            fprintf(R, "  %-40s %-5s %6zu x %-6zu -> %-7s max_abs_err %.3e max_rel_err %.3e%s\n", d.name,
                    mpct_st_dtype_name(t->dtype), d.dim[0], d.dim[1],
                    qs.bits == 8 ? "int8" : qs.bits == 16 ? "int16" : "float32", qs.max_abs_err, qs.max_rel_err,
                    qs.bits < 32 && qs.max_abs_err > qs.max_bound ? "  (ABOVE scale/2 BOUND)" : "");
    }
    MPCT_CALL_GOTO(st, out, mpct_model_writer_put_vocab(w, (const uint8_t *)vocab, vlen, lower));
    if (cfg.num_labels > 0) {
        /* Label names: config.json id2label, or the head file's metadata "labels" (comma-separated). */
        char lab[MPCT_IO_MAX_LABELS][48];
        for (int64_t i = 0; i < cfg.num_labels; i++) {
            snprintf(lab[i], sizeof lab[i], "label_%lld", (long long)i);
            labels[i] = lab[i];
        }
        pk_path(path, sizeof path, dir, "config.json");
        MPCT_CALL_GOTO(st, out, pk_json(path, 0, &cj));
        const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(cj, "id2label");
        if (hsrc == sf && cJSON_IsObject(id2)) {
            for (int64_t i = 0; i < cfg.num_labels; i++) {
                char key[24];
                snprintf(key, sizeof key, "%lld", (long long)i);
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(id2, key);
                if (cJSON_IsString(v)) snprintf(lab[i], sizeof lab[i], "%s", v->valuestring);
            }
        } else if (hf && mpct_st_metadata(hf, "labels")) {
            const char *s = mpct_st_metadata(hf, "labels");
            for (int64_t i = 0; i < cfg.num_labels && s && *s; i++) {
                size_t k = strcspn(s, ",");
                snprintf(lab[i], sizeof lab[i], "%.*s", (int)(k < 47 ? k : 47), s);
                s = s[k] ? s + k + 1 : NULL;
            }
        }
        MPCT_CALL_GOTO(st, out, mpct_model_writer_set_labels(w, labels, (size_t)cfg.num_labels));
    }
    char hex[65];
    st = mpct_model_writer_close(w, hex);
    w = NULL;
    if (st != MPCT_OK) goto out;
    if (R) {
        uint64_t stored = 0, raw = 0;
        struct stat ob, ib;
        MPCT_CALL_GOTO(st, out, mpct_io_storage_bytes(out_path, &stored, &raw));
        stat(out_path, &ob);
        stat(stpath, &ib);
        fprintf(R, "worst quantized tensor: max_abs_err %.3e, max_rel_err %.3e\n", worst_abs, worst_rel);
        fprintf(R, "float32 safetensors: %lld bytes (%llu bytes of packed tensors as float32)\n", (long long)ib.st_size,
                (unsigned long long)f32_bytes);
        fprintf(R, "output file: %lld bytes; compression ratio vs safetensors %.3f\n", (long long)ob.st_size,
                (double)ib.st_size / (double)ob.st_size);
        fprintf(R, "datasets: %llu bytes raw, %llu bytes stored (filters %s %.1f%%)\n", (unsigned long long)raw,
                (unsigned long long)stored, o->compress ? "saved" : "off,", raw ? 100.0 * (1.0 - (double)stored / (double)raw) : 0.0);
        fprintf(R, "content_sha256 %s\n", hex);
    }
out:
    if (w) mpct_model_writer_abort(w);
    if (buf) mpct_free_secret(buf);
    free(vocab);
    free(labels_buf);
    cJSON_Delete(tc);
    cJSON_Delete(cj);
    mpct_st_close(hf);
    mpct_st_close(sf);
    return st;
}
