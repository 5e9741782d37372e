/*
 * mpct_io.h — model files: the mpct HDF5 model format (see io/FORMAT.md),
 * the safetensors importer and the Hugging Face config reader.
 *
 * Prefixes: mpct_model_file_* (reading an mpct model), mpct_model_writer_*
 * (writing one), mpct_io_* (format-wide helpers: tensor table, pack,
 * synthetic models), mpct_st_* (safetensors).
 *
 * Invariants:
 *  - Matrices are stored [out x in] (Hugging Face nn.Linear convention):
 *    y = x W^T + b. Embedding tables are [rows x hidden].
 *  - Quantized tensors use symmetric per-row ("per output channel")
 *    quantization: w[r][c] = q[r][c] * scale[r], |q| <= 2^(bits-1) - 1, the
 *    scales in a sibling float32 dataset "<name>.scale" of length rows.
 *  - Biases and LayerNorm parameters are always float32.
 *  - Every tensor is read on its own (memory holds one tensor at a time);
 *    every read checks the dataset's shape against the model config.
 *  - Errors name the file, the dataset or field and what was expected.
 *
 * Uses HDF5, cJSON, OpenSSL (SHA-256) and mpct_core.
 */
#ifndef MPCT_IO_H
#define MPCT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpct_core.h"

#define MPCT_MODEL_MAGIC "MPCT-MODEL"
#define MPCT_MODEL_FORMAT_VERSION 2
#define MPCT_IO_NAME_MAX 96
#define MPCT_IO_MAX_LABELS 64

/* ---- model configuration (root attributes of the model file) ---- */
typedef struct mpct_model_config {
    char architecture[16]; /* "bert", "distilbert", "roberta", "xlm-roberta", "gpt2" or "llama" (mpct_model_desc.h) */
    int64_t num_layers;
    int64_t hidden;
    int64_t heads;
    int64_t ffn;
    int64_t vocab_size;
    int64_t max_positions;
    int64_t type_vocab_size;
    double layer_norm_eps;
    /* "mean": mean over real tokens (sentence-transformers);
     * "cls": the first token's final hidden state;
     * "pooler": Hugging Face BertPooler, tanh(W_pool h_[CLS] + b_pool), with
     *           the tensors /weights/pooler/{weight,bias} (the input of
     *           BertForSequenceClassification's classifier) */
    char pooling[16];
    int normalize;    /* 1: L2-normalise the pooled vector */
    int64_t num_labels; /* 0: no classification head */
    /* Decoders only (0 for encoders, which neither store nor hash them):
     * key/value heads (grouped-query attention: heads % kv_heads == 0),
     * the RoPE base (0 for GPT-2's learned positions) and whether the LM
     * head is the word embedding (1) or its own tensor (0). */
    int64_t kv_heads;
    /* The width of one attention head; heads * head_dim need not equal
     * hidden (LLaMA; an encoder whose heads were pruned: heads counts the
     * heads kept, the same in every layer, head_dim = hidden / the original
     * heads). 0 for an encoder without pruned heads (width hidden / heads),
     * which neither stores nor hashes it. */
    int64_t head_dim;
    double rope_theta;
    int tie_word_embeddings;
    /* Encoders only: MPC-friendly substitutions a model was trained or
     * distilled with (python/mpct/optimize): activation "relu" or "quad"
     * (MPCFormer's 0.125 x^2 + 0.25 x + 0.5) in place of GeLU, attention
     * "2quad" ((s + 5)^2 normalised per row) in place of softmax. "" for
     * the architecture's own function: not stored, not hashed. */
    char activation[8];
    char attention[8];
} mpct_model_config;

/* Checks ranges and divisibility (hidden % heads == 0 ...). `what` names the
 * file or source in the error message. */
mpct_status mpct_io_config_check(const mpct_model_config *cfg, const char *what) MPCT_WUR;

/* ---- the canonical tensor table (the architecture's description,
 * mpct_model_desc.h, walked for a config) ---- */
typedef enum mpct_io_kind {
    MPCT_IO_MATRIX = 0, /* quantizable: linear weights and embedding tables */
    MPCT_IO_VECTOR = 1  /* always float32: biases, LayerNorm gamma/beta */
} mpct_io_kind;

typedef struct mpct_io_tensor_desc {
    char name[MPCT_IO_NAME_MAX]; /* HDF5 path, e.g. "/weights/layer.0/attention/q/weight" */
    mpct_io_kind kind;
    int ndim;        /* 1 or 2 */
    size_t dim[2];   /* rows, cols (cols = 1 for vectors) */
} mpct_io_tensor_desc;

/* Number of tensors of a model with this config (the pooler included when
 * pooling is "pooler", the classifier when num_labels > 0). */
size_t mpct_io_tensor_count(const mpct_model_config *cfg);
/* The i-th tensor in canonical order (the order of the content hash). */
mpct_status mpct_io_tensor_at(const mpct_model_config *cfg, size_t i,
                              mpct_io_tensor_desc *out) MPCT_WUR;
/* Looks a tensor up by its HDF5 path; MPCT_ERR_ARG if the model has none. */
mpct_status mpct_io_tensor_find(const mpct_model_config *cfg, const char *name,
                                mpct_io_tensor_desc *out) MPCT_WUR;

/* ---- reading ---- */
typedef struct mpct_model_file mpct_model_file; /* opaque */

typedef enum mpct_io_dtype {
    MPCT_IO_F32 = 0,
    MPCT_IO_I8 = 1,
    MPCT_IO_I16 = 2
} mpct_io_dtype;

typedef struct mpct_io_tensor_info {
    mpct_io_tensor_desc desc;
    mpct_io_dtype dtype;
    int bits;        /* 8, 16 or 32 */
    int quantized;   /* 1 when a "<name>.scale" dataset carries row scales */
} mpct_io_tensor_info;

/* Opens and validates: magic, format_version, every config attribute, and
 * the presence, type and shape of every dataset of the tensor table. */
mpct_status mpct_model_file_open(const char *path, mpct_model_file **out) MPCT_WUR;
void mpct_model_file_close(mpct_model_file *f);
const mpct_model_config *mpct_model_file_config(const mpct_model_file *f);
const char *mpct_model_file_path(const mpct_model_file *f);
/* The stored content hash (64 hex chars + NUL). */
const char *mpct_model_file_hash(const mpct_model_file *f);
/* Recomputes the content hash and compares it with the stored one. */
mpct_status mpct_model_file_verify(const mpct_model_file *f) MPCT_WUR;

mpct_status mpct_model_file_tensor_info(const mpct_model_file *f, const char *name,
                                        mpct_io_tensor_info *info) MPCT_WUR;
/* Reads one tensor dequantized to double; n must equal rows*cols. */
mpct_status mpct_model_file_read_f64(const mpct_model_file *f, const char *name,
                                     double *out, size_t n) MPCT_WUR;
/* An upper bound on |w| over one tensor, dequantized: 2^(bits-1) times the
 * largest row scale for a quantized tensor (reads only the scales; `pack`
 * puts the largest |q| of a row at 2^(bits-1) - 1, so the bound is within
 * 1/127 (int8) or 1/32767 (int16) of the maximum), the maximum |w| for a
 * float32 one. */
mpct_status mpct_model_file_abs_bound(const mpct_model_file *f, const char *name, double *bound) MPCT_WUR;
/* Reads one tensor as stored: int8_t, int16_t or float elements (n of them,
 * elem_size must match the stored type) and, for quantized tensors, the row
 * scales (nscales == rows; scales may be NULL for float32 tensors). */
mpct_status mpct_model_file_read_raw(const mpct_model_file *f, const char *name,
                                     void *out, size_t n, size_t elem_size,
                                     float *scales, size_t nscales) MPCT_WUR;
/* The tokenizer bytes (caller frees with mpct_free): tokenizer.json when the
 * file has /tokenizer/tokenizer_json (*do_lower_case = -1: its normalizer
 * decides), else vocab.txt and its do_lower_case. mpct_tok_load_vocab_mem
 * takes either. */
mpct_status mpct_model_file_read_vocab(const mpct_model_file *f, uint8_t **bytes,
                                       size_t *len, int *do_lower_case) MPCT_WUR;
/* Label names of the classification head ("" when absent); i < num_labels. */
const char *mpct_model_file_label(const mpct_model_file *f, size_t i);

/* ---- writing ---- */
typedef struct mpct_model_writer mpct_model_writer; /* opaque */

typedef struct mpct_io_qstats {
    double max_abs_err;  /* max |w - dequant(q)| over the tensor */
    double max_abs;      /* max |w| over the tensor */
    double max_rel_err;  /* max_abs_err / max_abs (0 when max_abs == 0) */
    double max_bound;    /* max over rows of scale/2 (0 for float32) */
    int bits;            /* what was stored: 8, 16 or 32 */
} mpct_io_qstats;

/* Creates (truncates) path. compress: 1 = chunked + shuffle + deflate(6). */
mpct_status mpct_model_writer_open(const char *path, const mpct_model_config *cfg,
                                   int bits, int compress,
                                   mpct_model_writer **out) MPCT_WUR;
/* Writes one tensor of the table: MATRIX kinds are quantized to the writer's
 * bits (8/16) or stored float32 (32); VECTOR kinds always float32. */
mpct_status mpct_model_writer_put(mpct_model_writer *w, const char *name,
                                  const double *data, size_t n,
                                  mpct_io_qstats *stats) MPCT_WUR;
mpct_status mpct_model_writer_put_vocab(mpct_model_writer *w, const uint8_t *bytes,
                                        size_t len, int do_lower_case) MPCT_WUR;
/* The tokenizer as Hugging Face's tokenizer.json bytes (instead of put_vocab). */
mpct_status mpct_model_writer_put_tokenizer_json(mpct_model_writer *w, const uint8_t *bytes,
                                                 size_t len) MPCT_WUR;
/* Label names of the classifier (num_labels of them; NULL entries allowed). */
mpct_status mpct_model_writer_set_labels(mpct_model_writer *w,
                                         const char *const *labels, size_t n) MPCT_WUR;
/* Checks every tensor was written, writes the content hash, closes. On
 * failure the partial file is removed. Frees w in every case. */
mpct_status mpct_model_writer_close(mpct_model_writer *w, char hash_hex[65]) MPCT_WUR;
/* Closes and removes the partial file (after an error). */
void mpct_model_writer_abort(mpct_model_writer *w);

/* Quantizes one row symmetrically to bits (8 or 16): returns the float32
 * scale and writes q (as int32). Exposed for tests of the error bound. */
float mpct_io_quantize_row(const double *w, size_t n, int bits, int32_t *q);

/* Bytes of storage used by the datasets (after filters) and of the raw
 * element data, summed over /weights and /tokenizer. */
mpct_status mpct_io_storage_bytes(const char *path, uint64_t *stored,
                                  uint64_t *raw) MPCT_WUR;

/* ---- synthetic test models ---- */
/* "tiny": 2 layers, hidden 32, 4 heads, ffn 64, max_positions 64,
 * type_vocab 2, weights ~ N(0, 0.05), LayerNorm gamma ~ 1 + N(0, 0.05),
 * beta ~ N(0, 0.02), biases ~ N(0, 0.02); vocabulary from vocab_path (a
 * vocab.txt) or, when NULL, a small generated one. num_labels > 0 adds a
 * classifier. Deterministic in seed. */
mpct_status mpct_io_synthetic_config(const char *kind, const char *vocab_path,
                                     mpct_model_config *cfg) MPCT_WUR;
/* The float64 values of one tensor of the synthetic model (out: rows*cols). */
void mpct_io_synthetic_tensor(const mpct_io_tensor_desc *d, uint64_t seed, double *out);
mpct_status mpct_io_write_synthetic(const char *path, const char *kind,
                                    const char *vocab_path, int num_labels,
                                    int bits, int compress, uint64_t seed,
                                    FILE *report) MPCT_WUR;

/* ---- Hugging Face directory -> mpct model ---- */
typedef struct mpct_io_pack_opts {
    int bits;              /* 8, 16 or 32 */
    int compress;          /* HDF5 shuffle + deflate */
    const char *head_path; /* optional classifier safetensors (or NULL) */
    FILE *report;          /* per-tensor report (or NULL) */
} mpct_io_pack_opts;

/* Reads DIR/config.json, the weights (DIR/model.safetensors, or a sharded
 * DIR/model.safetensors.index.json with its shards), DIR/vocab.txt (optional
 * for the RoBERTa family, whose model then takes token ids only) and, when
 * present, tokenizer_config.json, modules.json, 1_Pooling/config.json. */
mpct_status mpct_io_pack_hf(const char *dir, const char *out_path,
                            const mpct_io_pack_opts *opts) MPCT_WUR;

/* ---- safetensors ---- */
typedef enum mpct_st_dtype {
    MPCT_ST_F64, MPCT_ST_F32, MPCT_ST_F16, MPCT_ST_BF16,
    MPCT_ST_I64, MPCT_ST_I32, MPCT_ST_I16, MPCT_ST_I8, MPCT_ST_U8, MPCT_ST_BOOL,
    MPCT_ST_DTYPE_COUNT
} mpct_st_dtype;

#define MPCT_ST_MAX_DIMS 8
#define MPCT_ST_MAX_HEADER (100u << 20) /* 100 MiB, as the reference parser */

typedef struct mpct_st_tensor {
    const char *name;
    mpct_st_dtype dtype;
    int ndim;
    uint64_t shape[MPCT_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end; /* byte offsets inside the data section */
} mpct_st_tensor;

typedef struct mpct_st_file mpct_st_file; /* opaque */

/* Maps path read-only and validates the whole header. */
mpct_status mpct_st_open(const char *path, mpct_st_file **out) MPCT_WUR;
/* Same over a caller-owned buffer that must outlive the handle; `label`
 * names it in errors. */
mpct_status mpct_st_open_mem(const void *buf, size_t len, const char *label,
                             mpct_st_file **out) MPCT_WUR;
/* A sharded checkpoint: index_path is its model.safetensors.index.json;
 * every shard its weight_map names (files of the same directory) is opened
 * and validated, and the handle reads their tensors as one file. Refused,
 * naming the file and the tensor: a missing shard, a tensor weight_map maps
 * to a shard that lacks it, a shard's tensor in no weight_map entry or
 * mapped to another shard. */
mpct_status mpct_st_open_index(const char *index_path, mpct_st_file **out) MPCT_WUR;
/* Bytes of the file, or of every shard together; how many files. */
uint64_t mpct_st_file_bytes(const mpct_st_file *f);
size_t mpct_st_part_count(const mpct_st_file *f);
void mpct_st_close(mpct_st_file *f);
size_t mpct_st_count(const mpct_st_file *f);
const mpct_st_tensor *mpct_st_at(const mpct_st_file *f, size_t i);
const mpct_st_tensor *mpct_st_find(const mpct_st_file *f, const char *name);
/* __metadata__ value for key, or NULL. */
const char *mpct_st_metadata(const mpct_st_file *f, const char *key);
const char *mpct_st_dtype_name(mpct_st_dtype d);
size_t mpct_st_dtype_size(mpct_st_dtype d);
/* Finds name and checks its shape (ndim dims); clear errors for a missing
 * tensor or a wrong shape. */
mpct_status mpct_st_expect(const mpct_st_file *f, const char *name, int ndim,
                           const uint64_t *dims, const mpct_st_tensor **out) MPCT_WUR;
/* Converts one tensor to double (n == numel). */
mpct_status mpct_st_read_f64(const mpct_st_file *f, const mpct_st_tensor *t,
                             double *out, size_t n) MPCT_WUR;

/* IEEE half / bfloat16 to float (exact). */
float mpct_st_f16_to_f32(uint16_t h);
float mpct_st_bf16_to_f32(uint16_t h);

#endif
