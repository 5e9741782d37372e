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
#include "mpct_model_desc.h"
#include "mpct_tok.h"

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

/* Heads whose output is not a sentence embedding or a sequence's logits:
 * refused, since mpct would otherwise compute something else silently. */
static const char *const pk_refused_arch[] = {
    "BertForTokenClassification", "BertForQuestionAnswering", "BertForMultipleChoice",
    "BertForNextSentencePrediction", "BertLMHeadModel",
};

/* config.json "architectures": 1 for BertForSequenceClassification, 0 for
 * an encoder whose heads (if any) are not used (BertModel, BertForMaskedLM,
 * BertForPreTraining), an error for the heads above and for anything else. */
static mpct_status pk_architecture(const cJSON *j, const char *path, int *seqcls, char *name, size_t size)
{
    *seqcls = 0;
    snprintf(name, size, "%s", "(none given)");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j, "architectures");
    if (!arch || cJSON_IsNull(arch)) return MPCT_OK;
    if (!cJSON_IsArray(arch) || cJSON_GetArraySize(arch) != 1 || !cJSON_IsString(cJSON_GetArrayItem(arch, 0)))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: field \"architectures\" must be a list of one name", path);
    const char *a = cJSON_GetArrayItem(arch, 0)->valuestring;
    snprintf(name, size, "%s", a);
    for (size_t i = 0; i < sizeof pk_refused_arch / sizeof pk_refused_arch[0]; i++)
        if (strcmp(a, pk_refused_arch[i]) == 0)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: architectures \"%s\" is not supported: mpct computes sentence embeddings "
                                  "(BertModel) and sequence classification (BertForSequenceClassification)",
                                  path, a);
    if (strcmp(a, "BertForSequenceClassification") == 0) *seqcls = 1;
    else if (strcmp(a, "BertModel") != 0 && strcmp(a, "BertForMaskedLM") != 0 && strcmp(a, "BertForPreTraining") != 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: architectures \"%s\" is not supported (expected BertModel, BertForMaskedLM, "
                              "BertForPreTraining or BertForSequenceClassification)",
                              path, a);
    return MPCT_OK;
}

/* sentence-transformers 1_Pooling/config.json: mean or CLS pooling, alone. */
static mpct_status pk_st_pooling(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    static const char *const modes[] = {"pooling_mode_cls_token", "pooling_mode_mean_tokens",
                                        "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                        "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
    int on = 0;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, modes[i]))) continue;
        if (i > 1)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: %s is true; mpct supports pooling_mode_mean_tokens or pooling_mode_cls_token",
                                  path, modes[i]);
        on++;
        snprintf(cfg->pooling, sizeof cfg->pooling, "%s", i == 0 ? "cls" : "mean");
    }
    if (on != 1)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: %s; mpct supports exactly one of pooling_mode_mean_tokens and pooling_mode_cls_token",
                              path, on ? "several pooling modes are true (their outputs would be concatenated)"
                                       : "no pooling mode is true");
    return MPCT_OK;
}

/* sentence-transformers modules.json: Transformer, Pooling and Normalize
 * only (a Dense or other module would be ignored otherwise). */
static mpct_status pk_st_modules(const cJSON *j, const char *path, mpct_model_config *cfg)
{
    if (!cJSON_IsArray(j)) return mpct_error_set(MPCT_ERR_FORMAT, "%s: expected a list of modules", path);
    const cJSON *m;
    cJSON_ArrayForEach(m, j)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
        const char *type = cJSON_IsString(t) ? t->valuestring : "";
        const char *dot = strrchr(type, '.');
        const char *base = dot ? dot + 1 : type;
        if (strcmp(base, "Normalize") == 0) cfg->normalize = 1;
        else if (strcmp(base, "Transformer") != 0 && strcmp(base, "Pooling") != 0)
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: module type \"%s\" is not supported (mpct runs Transformer, Pooling and "
                                  "Normalize modules)",
                                  path, type[0] ? type : "(missing)");
    }
    return MPCT_OK;
}

/* Reads the config and the pooling files; *seqcls = 1 for a
 * BertForSequenceClassification checkpoint (pooler + classifier). */
static mpct_status pk_read_config(const char *dir, mpct_model_config *cfg, int *seqcls, char *arch, size_t arch_size)
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
    MPCT_CALL_GOTO(st, out, pk_architecture(j, path, seqcls, arch, arch_size));
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
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(j, "problem_type");
    if (*seqcls && cJSON_IsString(pt) && strcmp(pt->valuestring, "single_label_classification") != 0) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                            "%s: problem_type \"%s\" is not supported (mpct reports the argmax label of "
                            "single_label_classification)",
                            path, pt->valuestring);
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
    char ppath[4096];
    pk_path(ppath, sizeof ppath, dir, "1_Pooling/config.json");
    MPCT_CALL_GOTO(st, out, pk_json(ppath, 1, &j));
    int st_layout = j != NULL;
    if (j) MPCT_CALL_GOTO(st, out, pk_st_pooling(j, ppath, cfg));
    cJSON_Delete(j);
    j = NULL;
    pk_path(ppath, sizeof ppath, dir, "modules.json");
    MPCT_CALL_GOTO(st, out, pk_json(ppath, 1, &j));
    cfg->normalize = 0;
    if (j) {
        st_layout = 1;
        MPCT_CALL_GOTO(st, out, pk_st_modules(j, ppath, cfg));
    }
    if (*seqcls) {
        if (st_layout) {
            st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                "%s: a BertForSequenceClassification checkpoint with sentence-transformers pooling "
                                "files (1_Pooling/config.json or modules.json): which output is meant is ambiguous",
                                path);
            goto out;
        }
        strcpy(cfg->pooling, "pooler");
    }
    MPCT_CALL_GOTO(st, out, mpct_io_config_check(cfg, path));
out:
    cJSON_Delete(j);
    return st;
}

/* What the pooling of cfg computes, for pack's report. */
static const char *pk_pooling_text(const mpct_model_config *cfg)
{
    if (strcmp(cfg->pooling, "pooler") == 0) return "pooler: tanh(W_pool h_[CLS] + b_pool), Hugging Face's BertPooler";
    if (strcmp(cfg->pooling, "cls") == 0) return "cls: the final hidden state of [CLS]";
    return "mean: mean of the final hidden states over real tokens";
}

/* Tensors a checkpoint may carry that mpct does not compute with: reported
 * by pack, not refused (pretraining heads, buffers, the description's
 * tensors this model leaves out, e.g. the pooler of an embedder that pools
 * otherwise). Anything else unused is refused. */
static int pk_known_unused(const mpct_model_desc *md, const mpct_model_config *cfg, const char *name,
                           const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *n = strncmp(name, prefix, pl) == 0 ? name + pl : name;
    const size_t len = strlen(n);
    for (size_t i = 0; md->hf_unused_prefix && md->hf_unused_prefix[i]; i++)
        if (strncmp(name, md->hf_unused_prefix[i], strlen(md->hf_unused_prefix[i])) == 0) return 1;
    for (size_t i = 0; md->hf_unused_suffix && md->hf_unused_suffix[i]; i++) {
        const size_t sl = strlen(md->hf_unused_suffix[i]);
        if (len >= sl && strcmp(n + len - sl, md->hf_unused_suffix[i]) == 0) return 1;
    }
    for (size_t i = 0; i < md->ntensors; i++)
        if (!md->tensors[i].layer && !mpct_md_present(cfg, md->tensors[i].when) && strcmp(n, md->tensors[i].hf) == 0)
            return 1;
    return 0;
}

/* The description's task head (the classifier): its weight matrix and its
 * bias vector. */
static void pk_head_entries(const mpct_model_desc *md, const mpct_md_tensor **w, const mpct_md_tensor **b)
{
    *w = *b = NULL;
    for (size_t i = 0; i < md->ntensors; i++)
        if (md->tensors[i].head) *(md->tensors[i].kind == MPCT_IO_MATRIX ? w : b) = &md->tensors[i];
}

/* Finds head entry e in st: under prefix, without it, or (bare, for a head
 * file) by the last component of its name; NULL when absent. */
static const mpct_st_tensor *pk_find_head(const mpct_st_file *st, const char *prefix, const mpct_md_tensor *e, int bare)
{
    char n[128];
    snprintf(n, sizeof n, "%s%s", prefix, e->hf);
    const mpct_st_tensor *t = mpct_st_find(st, n);
    if (!t) t = mpct_st_find(st, e->hf);
    if (!t && bare) t = mpct_st_find(st, strrchr(e->hf, '.') ? strrchr(e->hf, '.') + 1 : e->hf);
    return t;
}

/* The source of table entry e at layer: a head tensor (hw, hb from its
 * source file), or the checkpoint's tensor named prefix + its HF name
 * (*t NULL when absent; full receives the name). */
static void pk_source(const mpct_model_desc *md, const mpct_md_tensor *e, int64_t layer, const mpct_st_file *sf,
                      const char *prefix, const mpct_st_tensor *hw, const mpct_st_tensor *hb, char *full, size_t size,
                      const mpct_st_tensor **t)
{
    char hfn[160];
    mpct_md_hf_name(md, e, layer, hfn, sizeof hfn);
    snprintf(full, size, "%s%s", e->head ? "" : prefix, hfn);
    *t = e->head ? (e->kind == MPCT_IO_MATRIX ? hw : hb) : mpct_st_find(sf, full);
}

static size_t pk_lines(const char *b, size_t n)
{
    size_t l = 0;
    for (size_t i = 0; i < n; i++) l += b[i] == '\n';
    return l + (n > 0 && b[n - 1] != '\n');
}

/* The weights must be one model.safetensors: other layouts get a message
 * that says what to do instead of "cannot open". */
static mpct_status pk_weights_file(const char *dir, const char *stpath)
{
    struct stat sb;
    char p[4096];
    if (stat(stpath, &sb) == 0)
        return MPCT_OK;
    const int e = errno;
    pk_path(p, sizeof p, dir, "model.safetensors.index.json");
    if (stat(p, &sb) == 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: a sharded checkpoint: mpct pack reads one model.safetensors; join the shards "
                              "(every tensor, heads included) with: python3 -c \"import json, os; from "
                              "safetensors.torch import load_file, save_file; d = '%s'; m = json.load(open(os.path.join("
                              "d, 'model.safetensors.index.json')))['weight_map']; t = {}; [t.update(load_file("
                              "os.path.join(d, f))) for f in sorted(set(m.values()))]; save_file(t, os.path.join(d, "
                              "'model.safetensors'))\"",
                              p, dir);
    pk_path(p, sizeof p, dir, "pytorch_model.bin");
    if (stat(p, &sb) == 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: PyTorch pickle weights: mpct pack reads safetensors only (loading a pickle can "
                              "run code); convert with: python3 -c \"import torch; from safetensors.torch import "
                              "save_file; s = torch.load('%s', weights_only=True); save_file({k: v.clone() for k, v "
                              "in s.items()}, '%s/model.safetensors')\"",
                              p, p, dir);
    return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s (expected the weights as model.safetensors)", stpath,
                          strerror(e));
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
    int seqcls = 0;
    char arch[64];
    MPCT_CALL(pk_read_config(dir, &cfg, &seqcls, arch, sizeof arch));
    const mpct_model_desc *md;
    MPCT_CALL(mpct_md_for(&cfg, dir, &md));
    pk_path(stpath, sizeof stpath, dir, "model.safetensors");
    MPCT_CALL(pk_weights_file(dir, stpath));
    MPCT_CALL(mpct_st_open(stpath, &sf));
    const char *prefix = mpct_st_find(sf, md->tensors[0].hf) ? "" : md->hf_prefix;
    const mpct_md_tensor *hwe, *hbe;
    pk_head_entries(md, &hwe, &hbe);
    const size_t nsrc = mpct_st_count(sf);
    unsigned char *used = calloc(nsrc + 1, 1);
    if (!used) {
        mpct_st_close(sf);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }

    /* Classification head: inside the checkpoint (BertForSequenceClassification,
     * applied to the pooler's output), or from --head FILE (applied to the
     * pooled embedding). */
    const mpct_st_tensor *hw = NULL, *hb = NULL;
    const mpct_st_file *hsrc = sf;
    hw = pk_find_head(sf, prefix, hwe, 0);
    hb = pk_find_head(sf, prefix, hbe, 0);
    if (seqcls && (!hw || !hb)) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: architectures is BertForSequenceClassification but tensor '%s' is missing",
                            stpath, !hw ? hwe->hf : hbe->hf);
        goto out;
    }
    if (seqcls && o->head_path) {
        st = mpct_error_set(MPCT_ERR_ARG,
                            "--head %s: the checkpoint %s is a BertForSequenceClassification with its own classifier",
                            o->head_path, stpath);
        goto out;
    }
    if (!seqcls && (hw || hb)) {
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                            "%s: has tensor '%s' but config.json architectures is %s, not "
                            "BertForSequenceClassification: mpct cannot tell what the classifier is applied to "
                            "(set architectures, or give a head for the pooled embedding with --head)",
                            stpath, (hw ? hw : hb)->name, arch);
        goto out;
    }
    if (!hw && o->head_path) {
        MPCT_CALL_GOTO(st, out, mpct_st_open(o->head_path, &hf));
        hsrc = hf;
        hw = pk_find_head(hf, "", hwe, 1);
        hb = pk_find_head(hf, "", hbe, 1);
        if (!hw || !hb) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: missing tensor '%s'/'%s' or its bias", o->head_path, hwe->hf,
                                strrchr(hwe->hf, '.') ? strrchr(hwe->hf, '.') + 1 : hwe->hf);
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

    /* Every tensor of the checkpoint is used or named: find the sources of
     * the table first (no data read), then look at what is left. */
    size_t nt = mpct_io_tensor_count(&cfg);
    for (size_t i = 0; i < nt; i++) {
        const mpct_md_tensor *e;
        int64_t layer;
        char full[200];
        const mpct_st_tensor *t;
        MPCT_CALL_GOTO(st, out, mpct_md_tensor_locate(md, &cfg, i, &e, &layer));
        pk_source(md, e, layer, sf, prefix, hw, hb, full, sizeof full, &t);
        for (size_t k = 0; t && k < nsrc; k++)
            if (mpct_st_at(sf, k) == t) used[k] = 1;
    }
    for (size_t k = 0; k < nsrc; k++) {
        const char *n = mpct_st_at(sf, k)->name;
        if (used[k] || pk_known_unused(md, &cfg, n, prefix)) continue;
        st = mpct_error_set(MPCT_ERR_UNSUPPORTED,
                            "%s: tensor '%s' is not used by a BERT encoder with %s pooling%s; mpct refuses "
                            "checkpoints with weights it would ignore",
                            stpath, n, cfg.pooling, cfg.num_labels > 0 ? " and a classifier" : "");
        goto out;
    }
    if (R) {
        fprintf(R, "architecture: %s (config.json architectures)\n", arch);
        fprintf(R, "pooling: %s\n", pk_pooling_text(&cfg));
        fprintf(R, "normalize: %s\n", cfg.normalize ? "yes, L2 (modules.json has a Normalize module)" : "no");
        if (hw)
            fprintf(R, "classifier: %lld labels, applied to the %s (%s)\n", (long long)hw->shape[0],
                    seqcls ? "pooler output" : "pooled embedding", hsrc == sf ? "from the checkpoint" : o->head_path);
        for (size_t k = 0; k < nsrc; k++)
            if (!used[k])
                fprintf(R, "not used: %s (%s)\n", mpct_st_at(sf, k)->name,
                        strstr(mpct_st_at(sf, k)->name, "pooler.") ? "the pooler: this model pools otherwise"
                        : strstr(mpct_st_at(sf, k)->name, "position_ids") ? "a buffer, not a weight"
                                                                          : "a pretraining head");
    }

    /* Tokenizer: tokenizer.json when the checkpoint has one, else vocab.txt and casing. */
    int tok_json = 0;
    MPCT_CALL_GOTO(st, out, mpct_tok_pack_read(dir, cfg.vocab_size, &vocab, &vlen, &tok_json, R));
    pk_path(path, sizeof path, dir, "vocab.txt");
    if (!tok_json) MPCT_CALL_GOTO(st, out, pk_read_file(path, 64u << 20, &vocab, &vlen, 0));
    if (!tok_json && pk_lines(vocab, vlen) != (size_t)cfg.vocab_size) {
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
    for (size_t i = 0; i < nt; i++) {
        const mpct_md_tensor *e;
        int64_t layer;
        mpct_io_tensor_desc d;
        mpct_io_qstats qs;
        char full[200];
        const mpct_st_tensor *t;
        MPCT_CALL_GOTO(st, out, mpct_md_tensor_locate(md, &cfg, i, &e, &layer));
        mpct_md_tensor_desc(md, &cfg, e, layer, &d);
        pk_source(md, e, layer, sf, prefix, hw, hb, full, sizeof full, &t);
        const mpct_st_file *src = e->head ? hsrc : sf;
        uint64_t dims[2] = {d.dim[0], d.dim[1]};
        MPCT_CALL_GOTO(st, out, mpct_st_expect(src, e->head ? t->name : full, d.ndim, dims, &t));
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
    MPCT_CALL_GOTO(st, out, tok_json ? mpct_model_writer_put_tokenizer_json(w, (const uint8_t *)vocab, vlen)
                                     : mpct_model_writer_put_vocab(w, (const uint8_t *)vocab, vlen, lower));
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
    free(used);
    free(vocab);
    free(labels_buf);
    cJSON_Delete(tc);
    cJSON_Delete(cj);
    mpct_st_close(hf);
    mpct_st_close(sf);
    return st;
}
