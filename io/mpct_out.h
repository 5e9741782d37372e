/*
 * mpct_out.h — the output file of `mpct run` (HDF5, layout in io/OUTPUT.md):
 * one row per input with its embedding, logits, label, token count and a
 * done flag, written batch by batch so an interrupted run can be resumed.
 *
 * Prefix: mpct_out_*. Shape letters: N = n_inputs, dim = embedding width,
 * L = num_labels.
 *
 * Invariants:
 *  - While a run is in progress the file is PATH.partial; mpct_out_close()
 *    with complete = 1 renames it to PATH (atomic), so PATH exists only
 *    when every row is written.
 *  - A row's done flag reaches the file only after the row's data: write()
 *    flushes the data, then sets /done and flushes again, so a killed process
 *    never leaves a row marked done without its values.
 *  - Opening with resume = 0 starts PATH.partial afresh; an earlier complete
 *    PATH stays until the new run completes and its rename replaces it.
 *  - Resuming checks every field of the meta (mode, test keys and model
 *    identity included; mpct_version is recorded, not compared) against the
 *    stored one and names the first that differs, so rows of a plaintext
 *    run never join a secure one.
 *
 * Uses HDF5 and mpct_core.
 */
#ifndef MPCT_OUT_H
#define MPCT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_core.h"

#define MPCT_OUT_MAGIC "MPCT-OUTPUT"
#define MPCT_OUT_FORMAT_VERSION 3
/* The oldest format the readers (mpct_out_open_read: merge, and the
 * scheduler's look at a .partial) accept; resuming needs the current one. */
#define MPCT_OUT_FORMAT_VERSION_READ 2

typedef struct mpct_out mpct_out_t;

typedef struct mpct_out_meta {
    size_t n_inputs, dim, num_labels;               /* dim = embedding width (>= 1) */
    const char *task, *model_hash, *inputs_sha256;  /* strings stored as attributes (NULL = "") */
    int frac_bits, seq_len;
    const char *const *label_names;                 /* num_labels entries (NULL entries = "") or NULL */
    int has_row_offset;  /* 1: the rows are rows row_offset.. of a larger input (attribute row_offset,
                          * /input_id = row_offset + i); 0: not declared (/input_id = i) */
    int64_t row_offset;
    const char *shards;  /* mpct merge: the merged shards, one line each (attribute shards); NULL = none */
    const char *mode;    /* "secure" (MPC) or "plaintext" (the float64 reference); required */
    const char *mpct_version; /* the program that wrote the rows (NULL = "") */
    int insecure_test_keys;   /* 1: computed with deterministic test keys (--test-seed): not secure */
    int hide_lengths;         /* 1: batches padded to seq_len, rows to whole batches (run --hide-lengths) */
} mpct_out_meta;

/* What a reader learns from an output file's attributes and /done. */
typedef struct mpct_out_info {
    size_t n_inputs, dim, num_labels;
    char task[16], model_hash[80], inputs_sha256[80];
    char mode[16], mpct_version[32];
    int insecure_test_keys;
    int hide_lengths;    /* the hide_lengths attribute (0 when the file has none) */
    int frac_bits, seq_len;
    char *label_names;   /* joined with '\n' (malloc'd, freed by mpct_out_info_free); NULL when absent */
    int complete;        /* the complete attribute */
    size_t rows_done;    /* rows whose /done is 1 */
    int has_row_offset;
    int64_t row_offset;
} mpct_out_info;

/* resume == 0: creates (truncates) PATH.partial; fails early with a clear
 * error if it cannot be written or PATH is a directory.
 * resume == 1: opens an existing PATH.partial (or PATH if only the complete
 * file exists) and checks every meta field against the stored values; a
 * mismatch is MPCT_ERR_ARG naming the field. When neither file exists it
 * starts a fresh file as with resume == 0 (nothing was done yet). */
mpct_status mpct_out_open(const char *path, const mpct_out_meta *meta, int resume, mpct_out_t **out) MPCT_WUR;

/* Copies the n_inputs done flags (1 = row written) into done. */
mpct_status mpct_out_done(const mpct_out_t *o, uint8_t *done);

/* Number of rows done. */
size_t mpct_out_count_done(const mpct_out_t *o);

/* Rows [first, first+n): emb n*dim doubles, logits n*L doubles (NULL when
 * L == 0), labels n (NULL when L == 0), token_counts n. Marks the rows done
 * and flushes the file. Rows may be written in any order, and again. */
mpct_status mpct_out_write(mpct_out_t *o, size_t first, size_t n, const double *emb, const double *logits,
                           const int32_t *labels, const int32_t *token_counts) MPCT_WUR;

/* What the client knows of rows [first, first+n) besides their results
 * (io/OUTPUT.md, io/out_inputs.c): truncated[i] word pieces dropped, ids[i]
 * the user's id (ids NULL: none). how = {input_format, text_field,
 * id_field} is recorded on the first call and must match on later ones (a
 * resumed run): MPCT_ERR_ARG naming the setting. n = 0 only checks how. */
mpct_status mpct_out_write_inputs(mpct_out_t *o, const char *const how[3], size_t first, size_t n,
                                  const int32_t *truncated, const char *const *ids) MPCT_WUR;

/* Reads back what mpct_out_write_inputs wrote for rows [first, first+n):
 * *present 0 when the file has no /truncated (written before it existed;
 * nothing else is read then), how[3] (malloc'd, free each), truncated (n),
 * and with *has_ids the ids (n malloc'd strings in ids, free each). */
mpct_status mpct_out_read_inputs(mpct_out_t *o, size_t first, size_t n, char *how[3], int32_t *truncated,
                                 char **ids, int *present, int *has_ids) MPCT_WUR;

/* Opens a finished or partial output read-only (PATH as given, no
 * .partial), checks magic, format_version and the datasets' shapes, and
 * fills *info. A file that is not HDF5 (garbage, truncated) or not an mpct
 * output is MPCT_ERR_FORMAT naming the path. Close with mpct_out_close(o, 0). */
mpct_status mpct_out_open_read(const char *path, mpct_out_t **out, mpct_out_info *info) MPCT_WUR;
void mpct_out_info_free(mpct_out_info *info);

/* Reads rows [first, first+n) into emb (n*dim), logits and labels (n*L, n;
 * NULL when L == 0) and token_counts (n). */
mpct_status mpct_out_read(mpct_out_t *o, size_t first, size_t n, double *emb, double *logits, int32_t *labels,
                          int32_t *token_counts) MPCT_WUR;

/* complete = 1: only when every row is done; sets complete = 1, closes,
 * fsyncs and renames PATH.partial to PATH. complete = 0: closes and leaves
 * PATH.partial for a resume. Always frees o (also on error; then the file
 * stays PATH.partial). complete = 2: as 1, but all or nothing: on an error
 * PATH.partial is deleted (a merge, which can simply be rerun). NULL is a
 * no-op. */
mpct_status mpct_out_close(mpct_out_t *o, int complete) MPCT_WUR;
/* Closes and deletes the file being written (PATH.partial): for a writer
 * whose result is of no use (e.g. a failed merge). Frees o; NULL is a no-op;
 * a file opened for reading is only closed. */
void mpct_out_discard(mpct_out_t *o);

#endif
