/*
 * mpct_gen_out.h — the output file of `mpct generate` (layout in
 * io/OUTPUT.md, "Generation output"): per prompt the prompt, its token
 * count, the generated ids, their text and what stopped the generation.
 * HDF5 (like `mpct run`'s output: magic, format_version, mode, model hash,
 * mpct_version, insecure_test_keys, self-describing datasets,
 * variable-length UTF-8 strings) or JSON Lines when the path ends in
 * ".jsonl" (one object per prompt).
 *
 * Prefix: mpct_gout_.
 *
 * Invariants:
 *  - Rows are written in prompt order, one at a time, to PATH.partial;
 *    mpct_gout_close(o, 1) renames it to PATH when every prompt is done, so
 *    PATH exists only complete.
 *  - A row reaches the file before it counts as done: HDF5 writes the row,
 *    flushes, sets /done[i] and flushes again; JSONL writes the whole line
 *    with its newline and fsyncs. A line without its newline (a process
 *    killed mid-write) is cut off on resume.
 *  - Resuming checks the settings (mode, model hash, test keys, prompts,
 *    max_new_tokens, stop ids) against the stored ones and names the first
 *    that differs: HDF5 through the root attributes, JSONL through every
 *    line's leading fields and prompt.
 */
#ifndef MPCT_GEN_OUT_H
#define MPCT_GEN_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_core.h"

#define MPCT_GOUT_MAGIC "MPCT-GENERATE"
#define MPCT_GOUT_FORMAT_VERSION 1
#define MPCT_GOUT_MAX_STOP 16

typedef struct mpct_gout mpct_gout_t;

typedef struct mpct_gout_meta {
    size_t n_prompts;
    const char *const *prompts; /* n_prompts UTF-8 strings (the prompts file's lines, no line ending) */
    const size_t *prompt_lens;  /* their byte lengths */
    const char *mode;           /* "secure" or "plaintext" */
    const char *model_hash, *prompts_sha256, *mpct_version;
    int insecure_test_keys, frac_bits;
    size_t max_new_tokens;
    const int32_t *stop;        /* nstop ids that end a generation */
    size_t nstop;
    double temperature;         /* 0: greedy; else sampled with it */
    size_t top_k;               /* sampling over the top k (0: every token) */
} mpct_gout_meta;

typedef struct mpct_gout_row {
    size_t prompt_tokens;
    const int32_t *ids;  /* generated ids, n_ids <= max_new_tokens (a stop id included) */
    size_t n_ids;
    const char *text;    /* their text, valid UTF-8 */
    size_t text_len;
    int32_t stopped_by;  /* the stop id that ended it, or -1: max_new_tokens reached */
} mpct_gout_row;

/* 1 when path names a JSON Lines output (ends in ".jsonl"), else 0 (HDF5). */
int mpct_gout_is_jsonl(const char *path);

/* Before any work: PATH is not a directory, PATH.partial can be written,
 * and without resume or overwrite an existing PATH.partial holding rows
 * stops with the choices (MPCT_ERR_ARG naming it). */
mpct_status mpct_gout_ready(const char *path, int resume, int overwrite) MPCT_WUR;

/* resume 0: starts PATH.partial afresh. resume 1: continues PATH.partial
 * (or starts afresh when it does not exist) after checking it (see above). */
mpct_status mpct_gout_open(const char *path, const mpct_gout_meta *meta, int resume, mpct_gout_t **out) MPCT_WUR;
/* Prompts done: rows 0 .. done-1 are in the file. */
size_t mpct_gout_done(const mpct_gout_t *o);
/* Writes the next row (row mpct_gout_done(o)) and marks it done. */
mpct_status mpct_gout_write(mpct_gout_t *o, const mpct_gout_row *row) MPCT_WUR;
/* complete 1: every row must be done; marks the file complete, renames
 * PATH.partial to PATH. complete 0: leaves PATH.partial for --resume.
 * Always frees o; NULL is a no-op. */
mpct_status mpct_gout_close(mpct_gout_t *o, int complete) MPCT_WUR;

#endif
