/*
 * pack.c — converts a Hugging Face checkpoint directory of a family with
 * a model description (BERT, DistilBERT, RoBERTa, XLM-R: config.json, the
 * weights as model.safetensors or sharded with model.safetensors.index.json,
 * vocab.txt; sentence-transformers pooling files when present) into an
 * mpct HDF5 model, reporting the quantization error of every tensor and the
 * size against the safetensors.
 *
 * Decoders (GPT-2, LLaMA) pack the same way: their description says which
 * HF tensor is transposed (GPT-2's Conv1D) or split (its fused c_attn); a
 * tied LM head is recorded in the config, not stored (a stored copy must
 * equal the word table); their tokenizer.json needs no padding token.
 *
 * Only what the reference forward pass computes is accepted (the config
 * rules are in pack_config.c); every tensor of the checkpoint is packed or
 * named as not used, any other is refused; weights must be F64, F32, F16 or
 * BF16. Tensors are converted one at a time (one tensor in memory as double).
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

/* reading config.json and the pooling files: io/pack_config.c */
#define pk_read_file io_pk_read_file
#define pk_json io_pk_json
#define pk_path io_pk_path

/* What the pooling of cfg computes, for pack's report. */
static const char *pk_pooling_text(const mpct_model_desc *md, const mpct_model_config *cfg)
{
    if (strcmp(cfg->pooling, "pooler") == 0)
        return md->pool_act == MPCT_MD_POOL_RELU
                   ? "pooler: ReLU(W_pre h_[CLS] + b_pre), DistilBertForSequenceClassification's pre_classifier"
               : strcmp(md->hf_class, "Bert") == 0
                   ? "pooler: tanh(W_pool h_[CLS] + b_pool), Hugging Face's BertPooler"
                   : "pooler: tanh(W_dense h_[<s>] + b_dense), the sequence classifier's classifier.dense";
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
        if (strncmp(name, md->hf_unused_prefix[i], strlen(md->hf_unused_prefix[i])) == 0 ||
            strncmp(n, md->hf_unused_prefix[i], strlen(md->hf_unused_prefix[i])) == 0)
            return 1;
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
    snprintf(full, size, "%s%s", e->head || e->top ? "" : prefix, hfn);
    *t = e->head ? (e->kind == MPCT_IO_MATRIX ? hw : hb) : mpct_st_find(sf, full);
}

/* Reads table entry e (file shape d) from src's tensor `name` into buf
 * (d's rows x cols, [out x in]): as stored, or out of a Conv1D tensor
 * ([in x out], transposed) and/or part e->split of e->nsplit equal parts
 * side by side along the out dimension (GPT-2's c_attn: q | k | v). */
static mpct_status pk_read_entry(const mpct_st_file *src, const char *name, const mpct_md_tensor *e,
                                 const mpct_io_tensor_desc *d, double *buf, const mpct_st_tensor **t)
{
    const size_t rows = d->dim[0], cols = d->dim[1], ns = e->nsplit > 1 ? (size_t)e->nsplit : 1;
    const int mat = d->kind == MPCT_IO_MATRIX;
    if (!e->conv1d && ns == 1) {
        uint64_t dims[2] = {rows, cols};
        MPCT_CALL(mpct_st_expect(src, name, d->ndim, dims, t));
        return mpct_st_read_f64(src, *t, buf, rows * cols);
    }
    uint64_t dims[2] = {mat && e->conv1d ? cols : rows * ns, mat && e->conv1d ? rows * ns : cols};
    MPCT_CALL(mpct_st_expect(src, name, d->ndim, dims, t));
    const size_t n = rows * ns * cols, off = (size_t)e->split * rows;
    double *all = mpct_alloc(n * sizeof *all + 1);
    if (!all) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory for tensor '%s'", name);
    mpct_status st = mpct_st_read_f64(src, *t, all, n);
    for (size_t r = 0; st == MPCT_OK && r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            buf[r * cols + c] = mat && e->conv1d ? all[c * rows * ns + off + r] : all[(off + r) * cols + c];
    mpct_free_secret(all);
    return st;
}

/* A decoder whose LM head is tied but whose checkpoint also stores
 * lm_head.weight: it must equal the word embedding (else the tie would
 * silently compute another model). */
static mpct_status pk_check_tied(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_st_file *sf,
                                 const char *prefix, const char *stpath)
{
    const mpct_md_tensor *h = &md->tensors[md->lm_head], *w = &md->tensors[md->tied_from];
    char wn[200];
    snprintf(wn, sizeof wn, "%s%s", prefix, w->hf);
    const mpct_st_tensor *ht = mpct_st_find(sf, h->hf), *wt = mpct_st_find(sf, wn);
    if (!ht || !wt) return MPCT_OK; /* no head stored; a missing word table is reported by the packing loop */
    const size_t n = (size_t)cfg->vocab_size * (size_t)cfg->hidden;
    if (ht->numel != n || wt->numel != n)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s' has %llu values, expected %zu (vocab_size x hidden)",
                              stpath, ht->numel != n ? ht->name : wt->name,
                              (unsigned long long)(ht->numel != n ? ht->numel : wt->numel), n);
    double *a = mpct_alloc(n * sizeof *a + 1), *b = mpct_alloc(n * sizeof *b + 1);
    mpct_status st = a && b ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    if (st == MPCT_OK) st = mpct_st_read_f64(sf, ht, a, n);
    if (st == MPCT_OK) st = mpct_st_read_f64(sf, wt, b, n);
    for (size_t i = 0; st == MPCT_OK && i < n; i++)
        if (a[i] != b[i])
            st = mpct_error_set(MPCT_ERR_FORMAT,
                                "%s: config.json says tie_word_embeddings = true but tensor '%s' differs from '%s' "
                                "(element %zu): set tie_word_embeddings to false to use the separate head",
                                stpath, ht->name, wt->name, i);
    mpct_free_secret(a);
    mpct_free_secret(b);
    return st;
}

static size_t pk_lines(const char *b, size_t n)
{
    size_t l = 0;
    for (size_t i = 0; i < n; i++) l += b[i] == '\n';
    return l + (n > 0 && b[n - 1] != '\n');
}

/* Opens the weights: model.safetensors, or a sharded checkpoint through
 * model.safetensors.index.json (both at once is ambiguous: refused);
 * PyTorch pickle weights get the command that converts them. stpath
 * receives the file that names the weights. */
static mpct_status pk_open_weights(const char *dir, char *stpath, size_t size, mpct_st_file **sf)
{
    struct stat sb;
    char idx[4096], p[4096];
    pk_path(stpath, size, dir, "model.safetensors");
    pk_path(idx, sizeof idx, dir, "model.safetensors.index.json");
    const int one = stat(stpath, &sb) == 0, e = errno, sharded = stat(idx, &sb) == 0;
    if (one && sharded)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: both model.safetensors and model.safetensors.index.json are present: which "
                              "weights are meant is ambiguous (remove one)",
                              dir);
    if (one) return mpct_st_open(stpath, sf);
    if (sharded) {
        snprintf(stpath, size, "%s", idx);
        return mpct_st_open_index(idx, sf);
    }
    pk_path(p, sizeof p, dir, "pytorch_model.bin");
    if (stat(p, &sb) == 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: PyTorch pickle weights: mpct pack reads safetensors only (loading a pickle can "
                              "run code); convert with: python3 -c \"import torch; from safetensors.torch import "
                              "save_file; s = torch.load('%s', weights_only=True); save_file({k: v.clone() for k, v "
                              "in s.items()}, '%s/model.safetensors')\"",
                              p, p, dir);
    return mpct_error_set(MPCT_ERR_IO,
                          "%s: cannot open: %s (expected the weights as model.safetensors or a sharded checkpoint "
                          "with model.safetensors.index.json)",
                          stpath, strerror(e));
}

/* Every tensor of the checkpoint is used or named: marks in used[] the
 * sources of the table (no data read), refuses a tensor that is neither
 * used nor known to be unused and a weight of a dtype other than F64, F32,
 * F16, BF16, and prints the choices to R (may be NULL). */
static mpct_status pk_account(const mpct_model_desc *md, const mpct_model_config *cfg, const mpct_st_file *sf,
                              const char *prefix, const mpct_st_tensor *hw, const mpct_st_tensor *hb,
                              const mpct_st_file *hsrc, int seqcls, const char *arch, const char *stpath,
                              const mpct_io_pack_opts *o, unsigned char *used)
{
    FILE *R = o->report;
    const size_t nt = mpct_io_tensor_count(cfg), nsrc = mpct_st_count(sf);
    for (size_t i = 0; i < nt; i++) {
        const mpct_md_tensor *e;
        int64_t layer;
        char full[200];
        const mpct_st_tensor *t;
        MPCT_CALL(mpct_md_tensor_locate(md, cfg, i, &e, &layer));
        pk_source(md, e, layer, sf, prefix, hw, hb, full, sizeof full, &t);
        for (size_t k = 0; t && k < nsrc; k++)
            if (mpct_st_at(sf, k) == t) used[k] = 1;
    }
    for (size_t k = 0; k < nsrc; k++) {
        const mpct_st_tensor *t = mpct_st_at(sf, k);
        if (used[k] && t->dtype != MPCT_ST_F64 && t->dtype != MPCT_ST_F32 && t->dtype != MPCT_ST_F16 &&
            t->dtype != MPCT_ST_BF16) {
            return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                                  "%s: tensor '%s' has dtype %s; mpct packs F64, F32, F16 or BF16 weights "
                                  "(quantized checkpoints are not supported)",
                                  stpath, t->name, mpct_st_dtype_name(t->dtype));
        }
        if (used[k] || pk_known_unused(md, cfg, t->name, prefix)) continue;
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: tensor '%s' is not used by a %s %s with %s pooling%s; mpct refuses "
                              "checkpoints with weights it would ignore",
                              stpath, t->name, md->architecture, md->decoder ? "decoder" : "encoder", cfg->pooling,
                              cfg->num_labels > 0 ? " and a classifier" : "");
    }
    if (R) {
        fprintf(R, "architecture: %s, model_type %s (config.json)\n", arch, md->architecture);
        if (mpct_st_part_count(sf) > 1)
            fprintf(R, "weights: %zu shards (%s)\n", mpct_st_part_count(sf), stpath);
        if (md->decoder) {
            fprintf(R, "decoder: %lld heads, %lld key/value heads, head_dim %lld, %s, LM head %s\n",
                    (long long)cfg->heads, (long long)cfg->kv_heads, (long long)cfg->head_dim,
                    md->positions == MPCT_MD_POS_ROTARY ? "rotary positions" : "learned positions",
                    cfg->tie_word_embeddings ? "tied to the word embedding" : "its own tensor");
        } else {
            fprintf(R, "pooling: %s\n", pk_pooling_text(md, cfg));
            fprintf(R, "normalize: %s\n", cfg->normalize ? "yes, L2 (modules.json has a Normalize module)" : "no");
            if (cfg->activation[0] || cfg->attention[0])
                fprintf(R, "substitutions: activation %s, attention %s (config.json)\n",
                        cfg->activation[0] ? cfg->activation : "gelu", cfg->attention[0] ? cfg->attention : "softmax");
        }
        if (hw)
            fprintf(R, "classifier: %lld labels, applied to the %s (%s)\n", (long long)hw->shape[0],
                    seqcls ? "pooler output" : "pooled embedding", hsrc == sf ? "from the checkpoint" : o->head_path);
        for (size_t k = 0; k < nsrc; k++)
            if (!used[k])
                fprintf(R, "not used: %s (%s)\n", mpct_st_at(sf, k)->name,
                        strstr(mpct_st_at(sf, k)->name, "pooler.") ? "the pooler: this model pools otherwise"
                        : strstr(mpct_st_at(sf, k)->name, "position_ids") || strstr(mpct_st_at(sf, k)->name, "attn.bias") ||
                                  strstr(mpct_st_at(sf, k)->name, "masked_bias") ||
                                  strstr(mpct_st_at(sf, k)->name, "inv_freq")
                            ? "a buffer, not a weight"
                        : md->decoder && md->lm_head >= 0 && strcmp(mpct_st_at(sf, k)->name, md->tensors[md->lm_head].hf) == 0
                            ? "tied: the LM head is the word embedding, checked equal"
                        : pk_known_unused(md, cfg, mpct_st_at(sf, k)->name, prefix) ? "a pretraining head"
                                                                                    : "?");
    }
    return MPCT_OK;
}

/* One pack's state, from the checkpoint to the written file; the steps
 * below fill it in order and pk_free releases what they took. */
typedef struct pk_job {
    const char *dir, *out_path;
    const mpct_io_pack_opts *o;
    FILE *R;
    char stpath[4096], arch[64];
    mpct_model_config cfg;
    int seqcls;
    const mpct_model_desc *md;
    mpct_st_file *sf, *hf;    /* the checkpoint; the --head file */
    const char *prefix;       /* of the checkpoint's tensor names: "" or the description's */
    unsigned char *used;      /* per checkpoint tensor: packed */
    const mpct_st_tensor *hw, *hb; /* the classifier, when there is one */
    const mpct_st_file *hsrc; /* where it comes from: sf or hf */
    char *vocab;              /* vocab.txt or tokenizer.json, vlen bytes (NULL: none) */
    size_t vlen;
    int tok_json, lower;
    mpct_model_writer *w;
    uint64_t f32_bytes;
    double worst_abs, worst_rel;
} pk_job;

/* The directory, config.json, its description and the weights. */
static mpct_status pk_open(pk_job *j)
{
    struct stat sb;
    if (stat(j->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "%s: not a model directory (expected config.json, model.safetensors, vocab.txt)",
                              j->dir);
    MPCT_CALL(io_pk_read_config(j->dir, &j->cfg, &j->seqcls, j->arch, sizeof j->arch));
    MPCT_CALL(mpct_md_for(&j->cfg, j->dir, &j->md));
    MPCT_CALL(pk_open_weights(j->dir, j->stpath, sizeof j->stpath, &j->sf));
    j->hsrc = j->sf;
    j->prefix = mpct_st_find(j->sf, j->md->tensors[0].hf) ? "" : j->md->hf_prefix;
    j->used = calloc(mpct_st_count(j->sf) + 1, 1);
    return j->used ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
}

/* A decoder's LM head (no classifier, no --head; a tied head checked equal
 * to the word table). */
static mpct_status pk_lm_head(pk_job *j)
{
    if (j->o->head_path)
        return mpct_error_set(MPCT_ERR_ARG, "--head %s: %s is a %s decoder, which has no classifier",
                              j->o->head_path, j->dir, j->md->architecture);
    return j->cfg.tie_word_embeddings ? pk_check_tied(j->md, &j->cfg, j->sf, j->prefix, j->stpath) : MPCT_OK;
}

/* Classification head: inside the checkpoint (BertForSequenceClassification,
 * applied to the pooler's output), or from --head FILE (applied to the
 * pooled embedding); sets num_labels. */
static mpct_status pk_classifier(pk_job *j)
{
    const mpct_md_tensor *hwe, *hbe;
    const mpct_io_pack_opts *o = j->o;
    pk_head_entries(j->md, &hwe, &hbe);
    j->hw = pk_find_head(j->sf, j->prefix, hwe, 0);
    j->hb = pk_find_head(j->sf, j->prefix, hbe, 0);
    if (j->seqcls && (!j->hw || !j->hb))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: architectures is %s but tensor '%s' is missing", j->stpath,
                              j->arch, !j->hw ? hwe->hf : hbe->hf);
    if (j->seqcls && o->head_path)
        return mpct_error_set(MPCT_ERR_ARG, "--head %s: the checkpoint %s is a %s with its own classifier",
                              o->head_path, j->stpath, j->arch);
    if (!j->seqcls && (j->hw || j->hb))
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: has tensor '%s' but config.json architectures is %s, not "
                              "%sForSequenceClassification: mpct cannot tell what the classifier is applied to "
                              "(set architectures, or give a head for the pooled embedding with --head)",
                              j->stpath, (j->hw ? j->hw : j->hb)->name, j->arch, j->md->hf_class);
    if (!j->hw && o->head_path) {
        MPCT_CALL(mpct_st_open(o->head_path, &j->hf));
        j->hsrc = j->hf;
        j->hw = pk_find_head(j->hf, "", hwe, 1);
        j->hb = pk_find_head(j->hf, "", hbe, 1);
        if (!j->hw || !j->hb)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing tensor '%s'/'%s' or its bias", o->head_path,
                                  hwe->hf, strrchr(hwe->hf, '.') ? strrchr(hwe->hf, '.') + 1 : hwe->hf);
    }
    if (!j->hw)
        return MPCT_OK;
    if (j->hw->ndim != 2 || j->hw->shape[1] != (uint64_t)j->cfg.hidden || j->hw->shape[0] < 1 ||
        j->hw->shape[0] > MPCT_IO_MAX_LABELS)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: classifier weight must be [num_labels x %lld], num_labels <= %d",
                              j->hsrc == j->sf ? j->stpath : o->head_path, (long long)j->cfg.hidden,
                              MPCT_IO_MAX_LABELS);
    j->cfg.num_labels = (int64_t)j->hw->shape[0];
    return MPCT_OK;
}

/* Tokenizer: tokenizer.json when the checkpoint has one, else vocab.txt and casing. Families
 * without WordPiece (RoBERTa's byte-level BPE, XLM-R's Unigram) that ship neither are packed
 * without a tokenizer and then take token ids only. */
static mpct_status pk_tokenizer(pk_job *j)
{
    char path[4096];
    cJSON *tc = NULL;
    MPCT_CALL(mpct_tok_pack_read_pad(j->dir, j->cfg.vocab_size, !j->md->decoder, &j->vocab, &j->vlen, &j->tok_json,
                                     j->R));
    pk_path(path, sizeof path, j->dir, "vocab.txt");
    if (!j->tok_json) MPCT_CALL(pk_read_file(path, 64u << 20, &j->vocab, &j->vlen, !j->md->wordpiece));
    if (!j->vocab && j->R)
        fprintf(j->R, "tokenizer: none (no tokenizer.json or vocab.txt): the model takes token ids only (mpct embed "
                      "--input IDS_FILE)\n");
    if (!j->tok_json && j->vocab && pk_lines(j->vocab, j->vlen) != (size_t)j->cfg.vocab_size)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu lines, but config.json says vocab_size = %lld", path,
                              pk_lines(j->vocab, j->vlen), (long long)j->cfg.vocab_size);
    j->lower = 1;
    pk_path(path, sizeof path, j->dir, "tokenizer_config.json");
    MPCT_CALL(pk_json(path, 1, &tc));
    if (tc) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(tc, "do_lower_case");
        if (cJSON_IsBool(l)) j->lower = cJSON_IsTrue(l);
    }
    cJSON_Delete(tc);
    return MPCT_OK;
}

/* The writer, then every tensor of the description, one at a time in the
 * clear (wiped before every free), with its quantization error. */
static mpct_status pk_tensors(pk_job *j)
{
    const mpct_model_config *cfg = &j->cfg;
    MPCT_CALL(mpct_model_writer_open(j->out_path, cfg, j->o->bits, j->o->compress, &j->w));
    if (j->R)
        fprintf(j->R, "packing %s -> %s: %lld layers, hidden %lld, heads %lld, ffn %lld, vocab %lld, %d-bit%s\n",
                j->dir, j->out_path, (long long)cfg->num_layers, (long long)cfg->hidden, (long long)cfg->heads,
                (long long)cfg->ffn, (long long)cfg->vocab_size, j->o->bits, j->o->compress ? ", shuffle+deflate" : "");
    mpct_status st = MPCT_OK;
    double *buf = NULL;
    const size_t nt = mpct_io_tensor_count(cfg);
    for (size_t i = 0; i < nt; i++) {
        const mpct_md_tensor *e;
        int64_t layer;
        mpct_io_tensor_desc d;
        mpct_io_qstats qs;
        char full[200];
        const mpct_st_tensor *t;
        MPCT_CALL_GOTO(st, out, mpct_md_tensor_locate(j->md, cfg, i, &e, &layer));
        mpct_md_tensor_desc(j->md, cfg, e, layer, &d);
        pk_source(j->md, e, layer, j->sf, j->prefix, j->hw, j->hb, full, sizeof full, &t);
        const mpct_st_file *src = e->head ? j->hsrc : j->sf;
        const char *sname = e->head ? t->name : full;
        size_t n = d.dim[0] * d.dim[1];
        if (buf) mpct_free_secret(buf);
        buf = mpct_alloc(n * sizeof *buf + 1);
        if (!buf) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
            goto out;
        }
        MPCT_CALL_GOTO(st, out, pk_read_entry(src, sname, e, &d, buf, &t));
        MPCT_CALL_GOTO(st, out, mpct_model_writer_put(j->w, d.name, buf, n, &qs));
        j->f32_bytes += (uint64_t)n * 4;
        if (qs.bits < 32) {
            j->worst_abs = qs.max_abs_err > j->worst_abs ? qs.max_abs_err : j->worst_abs;
            j->worst_rel = qs.max_rel_err > j->worst_rel ? qs.max_rel_err : j->worst_rel;
        }
        if (j->R)
            fprintf(j->R, "  %-40s %-5s %6zu x %-6zu -> %-7s max_abs_err %.3e max_rel_err %.3e%s\n", d.name,
                    mpct_st_dtype_name(t->dtype), d.dim[0], d.dim[1],
                    qs.bits == 8 ? "int8" : qs.bits == 16 ? "int16" : "float32", qs.max_abs_err, qs.max_rel_err,
                    qs.bits < 32 && qs.max_abs_err > qs.max_bound ? "  (ABOVE scale/2 BOUND)" : "");
    }
out:
    if (buf) mpct_free_secret(buf);
    return st;
}

/* Label names: config.json id2label, or the head file's metadata "labels"
 * (comma-separated); label_I otherwise. */
static mpct_status pk_labels(pk_job *j)
{
    char lab[MPCT_IO_MAX_LABELS][48], path[4096];
    const char *labels[MPCT_IO_MAX_LABELS] = {0};
    cJSON *cj = NULL;
    for (int64_t i = 0; i < j->cfg.num_labels; i++) {
        snprintf(lab[i], sizeof lab[i], "label_%lld", (long long)i);
        labels[i] = lab[i];
    }
    pk_path(path, sizeof path, j->dir, "config.json");
    MPCT_CALL(pk_json(path, 0, &cj));
    const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(cj, "id2label");
    if (j->hsrc == j->sf && cJSON_IsObject(id2)) {
        for (int64_t i = 0; i < j->cfg.num_labels; i++) {
            char key[24];
            snprintf(key, sizeof key, "%lld", (long long)i);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(id2, key);
            if (cJSON_IsString(v)) snprintf(lab[i], sizeof lab[i], "%s", v->valuestring);
        }
    } else if (j->hf && mpct_st_metadata(j->hf, "labels")) {
        const char *s = mpct_st_metadata(j->hf, "labels");
        for (int64_t i = 0; i < j->cfg.num_labels && s && *s; i++) {
            size_t k = strcspn(s, ",");
            snprintf(lab[i], sizeof lab[i], "%.*s", (int)(k < 47 ? k : 47), s);
            s = s[k] ? s + k + 1 : NULL;
        }
    }
    cJSON_Delete(cj);
    return mpct_model_writer_set_labels(j->w, labels, (size_t)j->cfg.num_labels);
}

/* Closes the writer (the content hash) and reports the sizes. */
static mpct_status pk_finish(pk_job *j)
{
    char hex[65];
    mpct_status st = mpct_model_writer_close(j->w, hex);
    j->w = NULL;
    if (st != MPCT_OK || !j->R)
        return st;
    uint64_t stored = 0, raw = 0;
    struct stat ob;
    const long long ib = (long long)mpct_st_file_bytes(j->sf);
    MPCT_CALL(mpct_io_storage_bytes(j->out_path, &stored, &raw));
    stat(j->out_path, &ob);
    FILE *R = j->R;
    fprintf(R, "worst quantized tensor: max_abs_err %.3e, max_rel_err %.3e\n", j->worst_abs, j->worst_rel);
    fprintf(R, "safetensors: %lld bytes (%llu bytes of packed tensors as float32)\n", ib,
            (unsigned long long)j->f32_bytes);
    fprintf(R, "output file: %lld bytes; compression ratio vs safetensors %.3f\n", (long long)ob.st_size,
            (double)ib / (double)ob.st_size);
    fprintf(R, "datasets: %llu bytes raw, %llu bytes stored (filters %s %.1f%%)\n", (unsigned long long)raw,
            (unsigned long long)stored, j->o->compress ? "saved" : "off,",
            raw ? 100.0 * (1.0 - (double)stored / (double)raw) : 0.0);
    fprintf(R, "content_sha256 %s\n", hex);
    return MPCT_OK;
}

mpct_status mpct_io_pack_hf(const char *dir, const char *out_path, const mpct_io_pack_opts *o)
{
    pk_job j = {.dir = dir, .out_path = out_path, .o = o, .R = o->report};
    mpct_status st = MPCT_OK;
    MPCT_CALL_GOTO(st, out, pk_open(&j));
    MPCT_CALL_GOTO(st, out, j.md->decoder ? pk_lm_head(&j) : pk_classifier(&j));
    MPCT_CALL_GOTO(st, out, pk_account(j.md, &j.cfg, j.sf, j.prefix, j.hw, j.hb, j.hsrc, j.seqcls, j.arch, j.stpath,
                                       o, j.used));
    MPCT_CALL_GOTO(st, out, pk_tokenizer(&j));
    MPCT_CALL_GOTO(st, out, pk_tensors(&j));
    if (j.vocab)
        MPCT_CALL_GOTO(st, out, j.tok_json ? mpct_model_writer_put_tokenizer_json(j.w, (const uint8_t *)j.vocab, j.vlen)
                                           : mpct_model_writer_put_vocab(j.w, (const uint8_t *)j.vocab, j.vlen, j.lower));
    if (j.cfg.num_labels > 0)
        MPCT_CALL_GOTO(st, out, pk_labels(&j));
    st = pk_finish(&j);
out:
    if (j.w) mpct_model_writer_abort(j.w);
    free(j.used);
    free(j.vocab);
    mpct_st_close(j.hf);
    mpct_st_close(j.sf);
    return st;
}
