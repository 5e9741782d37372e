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

/* The dataset that holds the model's tokenizer: "/tokenizer/tokenizer_json"
 * when the file has it, else "/tokenizer/vocab_txt". */
const char *io_tokenizer_dataset(hid_t file);

/* The model's identity (content_sha256, see FORMAT.md), hex: SHA-256 over
 * the configuration, the weights in canonical order, the tokenizer
 * (tokenizer.json, or the vocabulary with its casing) and the label names. */
mpct_status io_hash_model(hid_t file, const mpct_model_config *cfg,
                          const char *label, char hex[65]) MPCT_WUR;

/* Hugging Face name of a canonical tensor (for pack), "" when none. */
void io_hf_name(const char *mpct_name, char *buf, size_t size);

#endif
