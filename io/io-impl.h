/*
 * io-impl.h — helpers private to io/: HDF5 attribute access and the content
 * hash shared by the model reader and writer. Not installed, not public.
 */
#ifndef MPCT_IO_IMPL_H
#define MPCT_IO_IMPL_H

#include <hdf5.h>

#include "mpct_io.h"

/* Turns off HDF5's automatic error stack printing (errors are reported
 * through mpct_error_set instead). */
void io_h5_quiet(void);

mpct_status io_attr_write_str(hid_t obj, const char *name, const char *value) MPCT_WUR;
mpct_status io_attr_write_i64(hid_t obj, const char *name, int64_t value) MPCT_WUR;
mpct_status io_attr_write_f64(hid_t obj, const char *name, double value) MPCT_WUR;
/* Readers: `file` and `where` name the object in error messages. */
mpct_status io_attr_read_str(hid_t obj, const char *name, char *buf, size_t size,
                             const char *file, const char *where) MPCT_WUR;
mpct_status io_attr_read_i64(hid_t obj, const char *name, int64_t *v,
                             const char *file, const char *where) MPCT_WUR;
mpct_status io_attr_read_f64(hid_t obj, const char *name, double *v,
                             const char *file, const char *where) MPCT_WUR;

/* Variable-length UTF-8 strings (out.c): the type (close it), a scalar
 * attribute, and a string attribute of any kind read back (malloc'd; NULL
 * when absent or unreadable). */
hid_t io_vstr_type(void);
mpct_status io_attr_write_vstr(hid_t obj, const char *name, const char *value) MPCT_WUR;
char *io_attr_read_str_alloc(hid_t obj, const char *name);
/* The open output's HDF5 file, its rows and its file name (out.c). */
struct mpct_out;
hid_t io_out_h5(const struct mpct_out *o, size_t *n, const char **file);

/* The dataset that holds the model's tokenizer: "/tokenizer/tokenizer_json"
 * when the file has it, else "/tokenizer/vocab_txt". */
const char *io_tokenizer_dataset(hid_t file);

/* The model's identity (content_sha256, see FORMAT.md), hex: SHA-256 over
 * the configuration, the weights in canonical order, the tokenizer
 * (tokenizer.json, or the vocabulary with its casing) and the label names. */
mpct_status io_hash_model(hid_t file, const mpct_model_config *cfg,
                          const char *label, char hex[65]) MPCT_WUR;

/* The decoder descriptions (model_desc_dec.c), registered in model_desc.c. */
struct mpct_model_desc;
extern const struct mpct_model_desc io_md_gpt2, io_md_llama;

/* "\"a\"", "\"a\" or \"b\"", "\"a\", \"b\" or \"c\"" into buf (model_desc.c). */
void io_md_join(char *buf, size_t size, const char *const *names, size_t n);

/* pack_config.c: files of a Hugging Face directory. io_pk_read_file reads
 * at most max bytes (optional: a missing file gives *buf NULL); io_pk_json
 * parses one; io_pk_read_config reads config.json and the
 * sentence-transformers pooling files into cfg (*seqcls = 1 for the
 * family's ForSequenceClassification; arch receives the architectures
 * name). */
mpct_status io_pk_read_file(const char *path, size_t max, char **buf, size_t *len, int optional) MPCT_WUR;
struct cJSON;
mpct_status io_pk_json(const char *path, int optional, struct cJSON **out) MPCT_WUR;
void io_pk_path(char *buf, size_t size, const char *dir, const char *name);
mpct_status io_pk_read_config(const char *dir, mpct_model_config *cfg, int *seqcls, char *arch,
                              size_t arch_size) MPCT_WUR;

/* Hugging Face name of a canonical tensor (for pack), "" when none. */
void io_hf_name(const char *mpct_name, char *buf, size_t size);

#endif
