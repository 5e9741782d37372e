/*
 * mpct_gguf.h — GGUF files (llama.cpp's container, ggml-org/ggml
 * docs/gguf.md): a validating reader (io/gguf.c), dequantization to float32
 * (io/gguf_quant.c) and the conversion of a LLaMA-family GGUF into an
 * ordinary Hugging Face model directory (io/gguf_hf.c, io/gguf_tok.c) that
 * `mpct pack` then reads. io/GGUF.md documents what is read and the mapping.
 *
 * Invariants of an open file (checked by mpct_gguf_open, each failure naming
 * the file, the key or tensor and the problem): version 2 or 3; counts and
 * lengths fit the file; keys and tensor names are unique; arrays are not
 * nested; general.alignment (default 32) is a power of two; every tensor has
 * 1..4 dimensions, each >= 1, a product without overflow, a known ggml type
 * with the first dimension a multiple of its block size, an offset aligned
 * and inside the data section, and no two tensors overlap. The file is
 * mmap'ed read-only; nothing is copied whole.
 */
#ifndef MPCT_GGUF_H
#define MPCT_GGUF_H

#include <stdint.h>
#include <stdio.h>

#include "mpct_core.h"

/* Metadata value types (the numbering of the file format). */
typedef enum mpct_gguf_vtype {
    MPCT_GGUF_U8 = 0, MPCT_GGUF_I8 = 1, MPCT_GGUF_U16 = 2, MPCT_GGUF_I16 = 3,
    MPCT_GGUF_U32 = 4, MPCT_GGUF_I32 = 5, MPCT_GGUF_F32 = 6, MPCT_GGUF_BOOL = 7,
    MPCT_GGUF_STRING = 8, MPCT_GGUF_ARRAY = 9, MPCT_GGUF_U64 = 10, MPCT_GGUF_I64 = 11,
    MPCT_GGUF_F64 = 12, MPCT_GGUF_VTYPE_COUNT
} mpct_gguf_vtype;

/* ggml tensor types this reader names; the numbering of the file format. */
enum {
    MPCT_GGML_F32 = 0, MPCT_GGML_F16 = 1, MPCT_GGML_Q4_0 = 2, MPCT_GGML_Q4_1 = 3,
    MPCT_GGML_Q8_0 = 8, MPCT_GGML_BF16 = 30
};

/* A string inside the mapped file: not NUL-terminated. */
typedef struct mpct_gguf_str {
    const char *s;
    uint64_t n;
} mpct_gguf_str;

typedef struct mpct_gguf_kv {
    char *key;              /* NUL-terminated copy */
    mpct_gguf_vtype type;
    /* scalars: exactly one of these is meaningful, by type; BOOL is u */
    uint64_t u;
    int64_t i;
    double f;
    mpct_gguf_str str;      /* STRING */
    /* ARRAY: element type, count; numeric elements start at arr (little
     * endian, unaligned); STRING elements are strs[0..n) */
    mpct_gguf_vtype arr_type;
    uint64_t n;
    const uint8_t *arr;
    mpct_gguf_str *strs;
} mpct_gguf_kv;

typedef struct mpct_gguf_tensor {
    char *name;             /* NUL-terminated copy */
    uint32_t ndim;
    uint64_t dims[4];       /* dims[0] varies fastest (a row of a matrix) */
    uint32_t type;          /* ggml type */
    uint64_t offset;        /* from the start of the data section */
    uint64_t numel, nbytes;
} mpct_gguf_tensor;

typedef struct mpct_gguf_file mpct_gguf_file; /* opaque */

mpct_status mpct_gguf_open(const char *path, mpct_gguf_file **out) MPCT_WUR;
/* The same over a caller's buffer (kept, not copied, until close); label
 * names it in messages. */
mpct_status mpct_gguf_open_mem(const void *buf, size_t len, const char *label, mpct_gguf_file **out) MPCT_WUR;
void mpct_gguf_close(mpct_gguf_file *f);

const char *mpct_gguf_label(const mpct_gguf_file *f);
uint32_t mpct_gguf_version(const mpct_gguf_file *f);
uint64_t mpct_gguf_alignment(const mpct_gguf_file *f);
uint64_t mpct_gguf_data_offset(const mpct_gguf_file *f);
uint64_t mpct_gguf_file_bytes(const mpct_gguf_file *f);
size_t mpct_gguf_kv_count(const mpct_gguf_file *f);
const mpct_gguf_kv *mpct_gguf_kv_at(const mpct_gguf_file *f, size_t i);
const mpct_gguf_kv *mpct_gguf_find_kv(const mpct_gguf_file *f, const char *key);
size_t mpct_gguf_tensor_count(const mpct_gguf_file *f);
const mpct_gguf_tensor *mpct_gguf_tensor_at(const mpct_gguf_file *f, size_t i);
const mpct_gguf_tensor *mpct_gguf_find_tensor(const mpct_gguf_file *f, const char *name);
/* The tensor's bytes (nbytes of them) inside the mapping. */
const uint8_t *mpct_gguf_tensor_data(const mpct_gguf_file *f, const mpct_gguf_tensor *t);

const char *mpct_gguf_vtype_name(mpct_gguf_vtype t);
/* "Q4_1"; "unknown" for a type number ggml does not define. */
const char *mpct_gguf_type_name(uint32_t type);
/* Elements per block and bytes per block of a ggml type; 0 when unknown. */
uint32_t mpct_gguf_block_elems(uint32_t type);
uint32_t mpct_gguf_block_bytes(uint32_t type);

/* Typed metadata access; each fails naming the file and the key when it is
 * missing (required) or has another type. An unsigned or signed integer of
 * any width that fits is accepted by get_u64; F32 and F64 by get_f64. */
mpct_status mpct_gguf_get_u64(const mpct_gguf_file *f, const char *key, int required, uint64_t dflt,
                              uint64_t *v) MPCT_WUR;
mpct_status mpct_gguf_get_f64(const mpct_gguf_file *f, const char *key, int required, double dflt,
                              double *v) MPCT_WUR;
mpct_status mpct_gguf_get_bool(const mpct_gguf_file *f, const char *key, int required, int dflt,
                               int *v) MPCT_WUR;
/* *v NULL when absent and not required; the string is NUL-free (refused
 * otherwise) and copied into a malloc'ed NUL-terminated buffer. */
mpct_status mpct_gguf_get_str(const mpct_gguf_file *f, const char *key, int required, char **v) MPCT_WUR;
/* An array of the given element type (n checked against want_n unless 0). */
mpct_status mpct_gguf_get_arr(const mpct_gguf_file *f, const char *key, mpct_gguf_vtype elem, uint64_t want_n,
                              const mpct_gguf_kv **kv) MPCT_WUR;

/* ---- dequantization (io/gguf_quant.c) ---- */
/* Is the type one mpct dequantizes (F32, F16, BF16, Q8_0, Q4_0, Q4_1)? */
int mpct_gguf_type_supported(uint32_t type);
/* Dequantizes the whole tensor into out[numel] float32, bit-exactly as
 * ggml's reference dequantization; another type is refused naming the file,
 * the tensor and the type. */
mpct_status mpct_gguf_dequant(const mpct_gguf_file *f, const mpct_gguf_tensor *t, float *out, size_t n) MPCT_WUR;

/* ---- conversion to a Hugging Face directory (io/gguf_hf.c) ---- */
typedef struct mpct_gguf_convert_info {
    char arch[32];
    uint64_t tensors, bytes_in, bytes_out;
    uint64_t type_count[64];  /* tensors met per ggml type (types < 64) */
} mpct_gguf_convert_info;

/* Writes out_dir/config.json, out_dir/model.safetensors (float32, Hugging
 * Face names, llama.cpp's rotary row permutation of Q and K undone) and
 * out_dir/tokenizer.json from a "llama" GGUF; out_dir is created when
 * missing (its parent must exist). report (or NULL) receives one line per
 * key and tensor not used, and the summary. Another architecture, a key or
 * tensor the conversion does not understand, or an unsupported type is
 * refused naming it. info (or NULL) receives what was converted. */
mpct_status mpct_gguf_to_hf(const char *gguf_path, const char *out_dir, FILE *report,
                            mpct_gguf_convert_info *info) MPCT_WUR;

/* `mpct pack MODEL.gguf -o OUT`: converts into a temporary directory next
 * to out_path (removed afterwards, also on failure), then packs it with
 * mpct_io_pack_hf; opts->report receives the conversion's lines too. */
struct mpct_io_pack_opts;
mpct_status mpct_gguf_pack(const char *gguf_path, const char *out_path,
                           const struct mpct_io_pack_opts *opts) MPCT_WUR;

/* io/gguf_tok.c: path (a tokenizer.json; tokenizer_config.json is written
 * beside it) as a byte-level BPE from the tokenizer.ggml.* keys; marks the
 * keys it used in used[] (indexed as mpct_gguf_kv_at). */
mpct_status mpct_gguf_write_tokenizer(const mpct_gguf_file *f, const char *path, unsigned char *used) MPCT_WUR;

#endif
